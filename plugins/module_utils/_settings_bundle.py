# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""The settings Job's inputs (render mode) as immutable objects that each fit Kubernetes' 1 MiB limit.

- The accounts' password hashes (``STALWART_HASH_<id>`` to a hash) go into Secrets ``<name>-<hash>``, split by a hash
  trie: every key starts in one shard; a shard above ``max_bytes`` (measured as the API server stores it,
  ``_secret_shards.stored_size``) splits in two on the next bit of SHA-256(key), and so on. A shard is named after its
  content (the first 10 hex digits of SHA-256 over its data as sorted JSON), like the ConfigMap: an immutable object
  must get a new name whenever its data changes. Which shard holds a key is a function of the current keys alone, so
  a render needs no state and a re-render gives the same Secrets; a changed password renames one shard only, and a new
  account changes the one shard its hash falls into (or splits it in two).
- The ConfigMap ``<name>-<hash>`` holds the applier's sources and, when it all fits, ``plan.ndjson`` as before. A plan
  too large for it goes into ConfigMaps ``<name>-plan-<hash>`` as pieces ``plan-<n>.ndjson``, each measured as the
  API server serves it back (a JSON string: the plan's quotes escaped), cut at a line end when one
  falls in the second half of a piece (the account upsert is one long line), otherwise at a character boundary; the
  Job reads them in order (``--plan`` once per piece) and joins them into the same text. A change rewrites the piece it
  falls in and, when it moves a cut, the pieces after it.

The applier reads every mounted key as a file (``--secrets-dir``), never from the environment: ten thousand hashes would
take about 1.5 MB of environment, against the kernel's 2 MiB for arguments and environment together.
"""

from __future__ import annotations

import hashlib
import json
import re
import typing as t

from ansible_collections.openova.stalwart.plugins.module_utils import _secret_shards

OBJECT_LIMIT = _secret_shards.OBJECT_LIMIT
DEFAULT_MAX_BYTES = 900 * 1024  # leaves 124 KiB of the 1 MiB for the metadata the API server adds
PLAN_FILE = "plan.ndjson"
_MAX_DEPTH = 256  # bits of SHA-256
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


def content_name(prefix: str, data: t.Mapping[str, str]) -> str:
    """``<prefix>-<10 hex digits>`` of SHA-256 over ``data`` as sorted JSON (what Jinja's ``to_json(sort_keys=true) |
    hash('sha256')`` gives, so the name of a single Secret or ConfigMap is the one earlier releases rendered)."""
    return f"{prefix}-{hashlib.sha256(json.dumps(data, sort_keys=True).encode('utf-8')).hexdigest()[:10]}"


def json_size(value: str) -> int:
    """Bytes of ``value`` as a JSON string (UTF-8, quotes and escapes included): what the API server serves back,
    and never less than the raw bytes it counts against the 1 MiB."""
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8"))


def data_size(data: t.Mapping[str, str]) -> int:
    """Bytes of a ConfigMap's data, keys and values, each measured as a JSON string (:func:`json_size`)."""
    return sum(json_size(key) + json_size(value) for key, value in data.items())


def _bits(key: str) -> str:
    return format(int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest(), "big"), "0256b")


def _check(name: t.Any, metadata: t.Any, max_bytes: t.Any) -> dict[str, t.Any]:
    if not isinstance(name, str) or not _NAME.match(name) or len(name) > 230:
        raise ValueError(f"name: {name!r} is not a valid object name prefix")
    metadata = {} if metadata is None else metadata
    if not isinstance(metadata, t.Mapping):
        raise ValueError("metadata: expected a mapping (namespace, labels, annotations)")
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or not 4096 <= max_bytes <= OBJECT_LIMIT:
        raise ValueError(f"max_bytes: expected a whole number of bytes from 4096 to {OBJECT_LIMIT}, got {max_bytes!r}")
    return {k: v for k, v in metadata.items() if k != "name"}


def hash_secrets(hashes: t.Any, name: t.Any, metadata: t.Any = None, max_bytes: t.Any = DEFAULT_MAX_BYTES) -> list[dict[str, t.Any]]:
    """Immutable Secret manifests that hold every entry of ``hashes`` exactly once, each at most ``max_bytes`` by
    ``_secret_shards.stored_size``, sorted by name; none for no entries."""
    if not isinstance(hashes, t.Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in hashes.items()):
        raise ValueError("hashes: expected a mapping of reference names to hashes")
    metadata = _check(name, metadata, max_bytes)
    if not hashes:
        return []

    def manifest(data: dict[str, str]) -> dict[str, t.Any]:
        return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": content_name(name, data), **metadata},
                "type": "Opaque", "immutable": True, "stringData": data}

    capacity = max_bytes - _secret_shards.stored_size(manifest({}))
    sizes = {key: _secret_shards.entry_size(key, value) for key, value in hashes.items()}
    leaves: list[list[str]] = []
    stack: list[tuple[int, list[tuple[str, str]]]] = [(0, sorted((_bits(key), key) for key in hashes))]
    while stack:
        depth, members = stack.pop()
        if sum(sizes[key] for _bits_, key in members) <= capacity:
            if members:
                leaves.append(sorted(key for _bits_, key in members))
            continue
        if depth >= _MAX_DEPTH or len(members) == 1:
            raise ValueError(f"{members[0][1]}: its {sizes[members[0][1]]} bytes do not fit in one Secret of {max_bytes} bytes")
        stack.append((depth + 1, [m for m in members if m[0][depth] == "1"]))
        stack.append((depth + 1, [m for m in members if m[0][depth] == "0"]))
    out = sorted((manifest({key: hashes[key] for key in keys}) for keys in leaves), key=lambda m: m["metadata"]["name"])
    for secret in out:
        size = _secret_shards.stored_size(secret)
        if size > max_bytes:  # the entry sizes add up to at least stored_size; this cannot happen
            raise RuntimeError(f"{secret['metadata']['name']}: {size} bytes exceed {max_bytes}")
    return out


# Control characters but the line end: JSON escapes each in at most six bytes (a \u escape; tab and CR take two).
_CONTROL = re.compile(rb"[\x00-\x09\x0b-\x1f]")


def _json_bytes(data: bytes, start: int, end: int, controls: bool = True) -> int:
    """JSON string size of ``data[start:end]`` less its two quotes: every byte, one more for each quote, backslash and
    line end (escaped with a backslash), five more for any other control character (at most six bytes escaped)."""
    return ((end - start) + data.count(b'"', start, end) + data.count(b"\\", start, end) + data.count(b"\n", start, end)
            + (5 * len(_CONTROL.findall(data, start, end)) if controls else 0))


def split_text(text: str, max_bytes: int) -> list[str]:
    """``text`` in pieces of at most ``max_bytes`` bytes each as a JSON string (:func:`json_size`, quotes included)
    that join to it again (see the module doc)."""
    data = text.encode("utf-8")
    budget = max_bytes - 2
    controls = _CONTROL.search(data) is not None  # a plan has none but its line ends
    pieces = []
    start = 0
    while _json_bytes(data, start, len(data), controls) > budget:
        end = min(start + budget, len(data))
        while (size := _json_bytes(data, start, end, controls)) > budget:
            # Shrink in proportion (escapes spread evenly, one step does), by one byte at least.
            end = start + min(end - start - 1, (end - start) * budget // size)
        cut = data.rfind(b"\n", start + (end - start) // 2, end) + 1
        if not cut:
            cut = end
            while data[cut] & 0xC0 == 0x80:  # not inside a character
                cut -= 1
        pieces.append(data[start:cut].decode("utf-8"))
        start = cut
    pieces.append(data[start:].decode("utf-8"))
    return pieces


def plan_file(index: int) -> str:
    return f"plan-{index}.ndjson"


def bundle(plan: t.Any, sources: t.Any, hashes: t.Any, name: t.Any, metadata: t.Any = None,
           max_bytes: t.Any = DEFAULT_MAX_BYTES, secret_max_bytes: t.Any = None) -> dict[str, t.Any]:
    """The settings Job's objects and how it finds them.

    Returns ``{"configmap": name of the applier's ConfigMap, "configmaps": [ConfigMap manifests, the applier's first],
    "secrets": [hash Secret manifests], "plan_files": [file names in --plan order],
    "plan_sources": [{"name": ConfigMap, "key": file}] of the pieces (empty when plan.ndjson is in the applier's)}``.
    ``max_bytes`` bounds each ConfigMap, ``secret_max_bytes`` (default ``max_bytes``) each Secret."""
    metadata = _check(name, metadata, max_bytes)
    if not isinstance(plan, str):
        raise ValueError("plan: expected the text of plan.ndjson")
    if not isinstance(sources, t.Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in sources.items()):
        raise ValueError("sources: expected a mapping of file names to their text")
    if PLAN_FILE in sources or any(re.fullmatch(r"plan-[0-9]+\.ndjson", key) for key in sources):
        raise ValueError(f"sources: {PLAN_FILE} and plan-<n>.ndjson are the plan's keys")

    def configmap(data: dict[str, str], prefix: str) -> dict[str, t.Any]:
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": content_name(prefix, data), **metadata},
                "immutable": True, "data": data}

    applier = dict(sources)
    pieces: list[str] = []
    if data_size(applier) + data_size({PLAN_FILE: plan}) <= max_bytes:
        applier[PLAN_FILE] = plan
    elif data_size(applier) > max_bytes:
        raise ValueError(f"sources: {data_size(applier)} bytes do not fit in one ConfigMap of {max_bytes} bytes")
    else:
        pieces = split_text(plan, max_bytes - json_size(plan_file(0)) - 16)
    configmaps = [configmap(applier, name)]
    plan_sources = []
    for index, piece in enumerate(pieces):
        configmaps.append(configmap({plan_file(index): piece}, f"{name}-plan"))
        plan_sources.append({"name": configmaps[-1]["metadata"]["name"], "key": plan_file(index)})
    for manifest in configmaps:
        if data_size(manifest["data"]) > max_bytes:  # split_text keeps every piece within its budget
            raise RuntimeError(f"{manifest['metadata']['name']}: {data_size(manifest['data'])} bytes exceed {max_bytes}")
    return {"configmap": configmaps[0]["metadata"]["name"], "configmaps": configmaps,
            "secrets": hash_secrets(hashes, name, metadata, max_bytes if secret_max_bytes is None else secret_max_bytes),
            "plan_files": [item["key"] for item in plan_sources] or [PLAN_FILE], "plan_sources": plan_sources}
