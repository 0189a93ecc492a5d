# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""Split the entries of one logical Secret over several Secrets ``<name>-0``, ``<name>-1``, ... so that each
stays under Kubernetes' object size limit.

The API server keeps every object in etcd, which refuses one above 1 MiB (and the API server refuses Secret
data above 1 MiB). Each shard is measured as the API server serves it back (``stored_size``): compact JSON with
the values base64-encoded in ``data``, plus the ``managedFields`` entry server-side apply records for every key.
A shard is filled up to ``max_bytes`` (default 900 KiB), which leaves room for the metadata the server adds.

The assignment is sticky: an entry stays in the shard that held it on the last run (``previous``), so a
re-apply only rewrites the shards whose entries changed. New entries go, largest first, into the lowest-numbered
shard with room (first fit), or into a new shard with the lowest unused number. An emptied shard disappears.
A deterministic function of the entry names alone (hash buckets, or filling in sorted order) would move entries
between shards whenever the shard count or an earlier entry changes, rewriting many shards at once.
"""

from __future__ import annotations

import base64
import json
import re
import typing as t

OBJECT_LIMIT = 1024 * 1024
DEFAULT_MAX_BYTES = 900 * 1024


# Printable ASCII but '"' and '\\': what json.dumps writes as it is, between two quotes.
_JSON_PLAIN = re.compile(r'[\x20\x21\x23-\x5b\x5d-\x7e]*\Z')


def _json_len(value: t.Any) -> int:
    if isinstance(value, str) and _JSON_PLAIN.match(value):  # keys and base64 values: no encoder needed
        return len(value) + 2
    return len(json.dumps(value, separators=(",", ":"), sort_keys=True))


def _b64(value: str) -> str:
    return base64.b64encode(value.encode("utf-8")).decode("ascii")


def _field_entry_size(key: str) -> int:
    """Bytes of the server-side apply ``managedFields`` entry for one data key: ``"f:<key>":{},``."""
    return _json_len("f:" + key) + 4


def entry_size(key: str, value: str) -> int:
    """Bytes one entry adds to a stored Secret: ``"<key>":"<base64>",`` in ``data`` and its managedFields entry."""
    return _json_len(key) + 1 + _json_len(_b64(value)) + 1 + _field_entry_size(key)


def stored_size(manifest: t.Mapping[str, t.Any]) -> int:
    """Size in bytes of a Secret as the API server stores and serves it: compact JSON with ``stringData`` folded
    into base64 ``data``, plus one ``managedFields`` entry per key."""
    doc = {k: v for k, v in manifest.items() if k not in ("data", "stringData")}
    data = dict(manifest.get("data") or {})
    data.update({k: _b64(str(v)) for k, v in (manifest.get("stringData") or {}).items()})
    doc["data"] = data
    return _json_len(doc) + sum(_field_entry_size(k) for k in data)


def shard_name(name: str, index: int) -> str:
    return f"{name}-{index}"


def _skeleton(name: str, index: int, metadata: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": shard_name(name, index), **{k: v for k, v in metadata.items() if k != "name"}},
            "type": "Opaque", "stringData": {}}


def previous_assignment(name: str, previous: t.Mapping[str, t.Any]) -> dict[str, int]:
    """``{key: shard index}`` from the Secrets of the last run (``{secret name: {key: value}}``); only Secrets
    named ``<name>-<n>`` count, and a key found in two shards belongs to the lower-numbered one."""
    pattern = re.compile(re.escape(name) + r"-(0|[1-9][0-9]*)$")
    shards = []
    for secret, data in previous.items():
        match = pattern.match(str(secret))
        if match and isinstance(data, t.Mapping):
            shards.append((int(match.group(1)), data))
    out: dict[str, int] = {}
    for index, data in sorted(shards, key=lambda pair: pair[0]):
        for key in data:
            out.setdefault(str(key), index)
    return out


def assign(sizes: t.Mapping[str, int], previous: t.Mapping[str, int], capacity: t.Callable[[int], int]) -> dict[str, int]:
    """Give every key a shard index.

    ``sizes``: bytes each key adds to a shard; ``previous``: the key's shard on the last run; ``capacity(i)``:
    bytes available for keys in shard ``i``. Kept keys stay where they were while their shard has room (in key
    order, so a shard over its capacity gives up its last keys); the rest go largest first into the
    lowest-numbered shard with room."""
    used: dict[int, int] = {}
    out: dict[str, int] = {}
    for key in sorted(sizes):
        index = previous.get(key)
        if index is None or index < 0:
            continue
        if used.get(index, 0) + sizes[key] <= capacity(index):
            out[key] = index
            used[index] = used.get(index, 0) + sizes[key]
    for key in sorted((k for k in sizes if k not in out), key=lambda k: (-sizes[k], k)):
        index = 0
        while used.get(index, 0) + sizes[key] > capacity(index):
            if index not in used:
                raise ValueError(f"{key}: its {sizes[key]} bytes do not fit even in an empty shard ({capacity(index)} bytes)")
            index += 1
        out[key] = index
        used[index] = used.get(index, 0) + sizes[key]
    return out


def shard(data: t.Any, name: t.Any, metadata: t.Any = None, previous: t.Any = None,
          max_bytes: t.Any = DEFAULT_MAX_BYTES) -> list[dict[str, t.Any]]:
    """Secret manifests ``<name>-<n>`` (``stringData``, keys sorted; in shard order) that hold every entry of
    ``data`` exactly once, each at most ``max_bytes`` by ``stored_size``. ``metadata`` (namespace, labels, ...)
    goes on every shard; ``previous`` is ``{secret name: {key: value}}`` of the last run (see module doc).
    With no entries at all there is one empty shard, so whatever mounts the shards always has one."""
    if not isinstance(data, t.Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ValueError("data: expected a mapping of key names to string values")
    if not isinstance(name, str) or not re.match(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", name) or len(name) > 240:
        raise ValueError(f"name: {name!r} is not a valid Secret name prefix")
    metadata = {} if metadata is None else metadata
    if not isinstance(metadata, t.Mapping):
        raise ValueError("metadata: expected a mapping (namespace, labels, annotations)")
    previous = {} if previous is None else previous
    if not isinstance(previous, t.Mapping):
        raise ValueError("previous: expected a mapping of Secret names to their data")
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or not 0 < max_bytes <= OBJECT_LIMIT:
        raise ValueError(f"max_bytes: expected a whole number of bytes from 1 to {OBJECT_LIMIT}, got {max_bytes!r}")

    capacities: dict[int, int] = {}

    def capacity(index: int) -> int:
        if index not in capacities:
            capacities[index] = max_bytes - stored_size(_skeleton(name, index, metadata))
        return capacities[index]

    sizes = {key: entry_size(key, value) for key, value in data.items()}
    placed = assign(sizes, previous_assignment(name, previous), capacity)
    manifests: dict[int, dict[str, t.Any]] = {}
    for key in sorted(placed):
        index = placed[key]
        manifests.setdefault(index, _skeleton(name, index, metadata))["stringData"][key] = data[key]
    out = [manifests[i] for i in sorted(manifests)] or [_skeleton(name, 0, metadata)]
    for manifest in out:
        size = stored_size(manifest)
        if size > max_bytes:  # the per-entry sizes add up to at least stored_size; this cannot happen
            raise RuntimeError(f"{manifest['metadata']['name']}: {size} bytes exceed {max_bytes}")
    return out
