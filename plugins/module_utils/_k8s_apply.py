# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""Decide, without asking the API server, whether a server-side apply of a manifest by our field manager would
change the live object.

A server-side apply sets the fields the manifest sends and removes the fields our manager owned and no longer
sends (unless another manager owns them too). The live object records what each manager owns in
``metadata.managedFields`` (``fieldsV1``). So an apply is a no-op exactly when

* the fields the manifest sends are the fields our ``Apply`` entry owns (nothing added, nothing dropped), and
* every value the manifest sends is the live value.

One more field makes the second point decidable inside atomic lists (owned whole, e.g. a StatefulSet's
volumeClaimTemplates), where the server adds defaults we cannot tell from a field we dropped: the annotation
``APPLIED`` carries a digest of the configuration we apply. Any change of the manifest, a field removed deep in an
atomic list included, changes the digest, a value compared exactly; with the digest unchanged, an atomic list
only has to hold what we send.

Anything else (no entry of ours, another API version, a list this walk cannot pair up) is answered "may change":
the caller then applies (or, in check mode, dry-runs) and compares the object the server returns with the live
one (``same_object``). A no-op therefore costs no request, a change one.
"""

from __future__ import annotations

import base64
import decimal
import hashlib
import json
import re
import typing as t

# The annotation that carries the digest of the configuration last applied (see the module's docstring).
APPLIED = "openova.stalwart/applied-sha256"
# Fields of the object that are not the manifest's to set (or that SSA does not track in fieldsV1).
_TOP_SKIPPED = ("apiVersion", "kind", "status")
_META_SKIPPED = ("name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
                 "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds", "generateName")
_QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eE][+-]?[0-9]+|[KMGTPE]i?|[munkMGTPE]|)$")
_SUFFIX: dict[str, int | decimal.Decimal] = {
    "": 1, "m": decimal.Decimal("0.001"), "u": decimal.Decimal("1e-6"), "n": decimal.Decimal("1e-9"),
    "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18,
    "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60}


def label(obj: dict[str, t.Any]) -> str:
    """``Kind namespace/name`` (``Kind /name`` for cluster-scoped objects), for messages and results."""
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind')} {meta.get('namespace') or ''}/{meta.get('name')}"


def digest(manifest: dict[str, t.Any]) -> str:
    """SHA-256 of a configuration (JSON, keys sorted), the value of the ``APPLIED`` annotation."""
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def prepare(manifest: dict[str, t.Any]) -> dict[str, t.Any]:
    """The configuration to apply: a Secret's ``stringData`` folded into base64 ``data``, and the ``APPLIED``
    annotation set to the digest of the result.

    The API server stores ``stringData`` as ``data`` and never returns it; sending ``data`` makes what we own and
    what we read the same fields, so a key dropped from the manifest is a field we stop applying (and the server
    removes it)."""
    result = manifest
    if manifest.get("kind") == "Secret" and "stringData" in manifest:
        result = {k: v for k, v in manifest.items() if k != "stringData"}
        data = dict(result.get("data") or {})
        for key, value in (manifest.get("stringData") or {}).items():
            data[key] = base64.b64encode(str(value).encode("utf-8")).decode("ascii")
        result["data"] = data
    meta = dict(result.get("metadata") or {})
    meta["annotations"] = dict(meta.get("annotations") or {}, **{APPLIED: digest(result)})
    return dict(result, metadata=meta)


def owned_fields(live: dict[str, t.Any] | None, manager: str, api_version: str) -> dict[str, t.Any] | None:
    """The ``fieldsV1`` of ``manager``'s ``Apply`` entry on the main resource, or None when there is none for this
    API version (then nothing can be told from it)."""
    if not live:
        return None
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if (isinstance(entry, dict) and entry.get("manager") == manager and entry.get("operation") == "Apply"
                and not entry.get("subresource") and entry.get("apiVersion") == api_version):
            fields = entry.get("fieldsV1")
            return fields if isinstance(fields, dict) else {}
    return None


def quantity(value: t.Any) -> decimal.Decimal | None:
    """A Kubernetes resource quantity (``500m``, ``1Gi``, ``1e3``) as a number, or None when it is not one."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    match = _QUANTITY.match(str(value))
    if not match:
        return None
    try:
        number = decimal.Decimal(match.group(1))
        suffix = match.group(2)
        if suffix[:1] in ("e", "E"):
            return number * (decimal.Decimal(10) ** int(suffix[1:]))
        return number * decimal.Decimal(_SUFFIX[suffix])
    except (decimal.InvalidOperation, KeyError, ValueError):
        return None


def same_value(want: t.Any, have: t.Any) -> bool:
    """Whether the server stores ``want`` as ``have``: equal JSON values, numbers compared as numbers, and
    quantities in the server's canonical spelling (``1000m`` is stored as ``1``)."""
    if isinstance(want, bool) or isinstance(have, bool):
        return want is have
    if want == have:
        return True
    if isinstance(want, str) and isinstance(have, str):
        a, b = quantity(want), quantity(have)
        return a is not None and a == b
    return False


def _children(node: t.Any) -> dict[str, t.Any]:
    return {k: v for k, v in node.items() if k != "."} if isinstance(node, dict) else {}


def _key_of(element: str) -> dict[str, t.Any] | None:
    try:
        key = json.loads(element[2:])
    except ValueError:
        return None
    return key if isinstance(key, dict) else None


def _matches(item: t.Any, key: dict[str, t.Any]) -> bool:
    """Whether a list item is the one a ``k:`` element names (key fields the item leaves out were defaulted)."""
    if not isinstance(item, dict):
        return False
    return all(same_value(item[k], v) for k, v in key.items() if k in item) and any(k in item for k in key)


def _same_list(want: list[t.Any], owned: dict[str, t.Any], live: t.Any) -> bool:
    """A list we apply: atomic (owned whole), associative (``k:`` elements) or a set (``v:`` elements)."""
    elements = _children(owned)
    if not isinstance(live, list):
        return False
    if not elements:  # atomic: the list is one value
        return len(want) == len(live) and all(_same_atomic(w, h) for w, h in zip(want, live, strict=True))
    if all(e.startswith("v:") for e in elements):
        try:
            values = [json.loads(e[2:]) for e in elements]
        except ValueError:
            return False
        return (len(values) == len(want) and all(any(same_value(w, v) for v in values) for w in want)
                and all(any(same_value(w, h) for h in live) for w in want))
    if not all(e.startswith("k:") for e in elements) or len(elements) != len(want):
        return False  # positional (i:) elements, or an element we own and no longer send
    keys: dict[str, dict[str, t.Any]] = {}
    for element in elements:
        element_key = _key_of(element)
        if element_key is None:
            return False
        keys[element] = element_key
    used: set[str] = set()
    for item in want:
        found = [e for e, key in keys.items() if e not in used and _matches(item, key)]
        if len(found) != 1:
            return False
        used.add(found[0])
        key = keys[found[0]]
        live_items = [h for h in live if _matches(h, key) and all(k in h for k in key)]
        if len(live_items) != 1 or not _same(item, elements[found[0]], live_items[0]):
            return False
    return True


def _same_atomic(want: t.Any, have: t.Any) -> bool:
    """Inside an atomic list: what we send is there (the server may have added defaults; what we sent last is
    vouched for by the ``APPLIED`` digest)."""
    if isinstance(want, dict):
        if not isinstance(have, dict):
            return False
        return all(k in have and _same_atomic(v, have[k]) for k, v in want.items() if v is not None)
    if isinstance(want, list):
        return isinstance(have, list) and len(want) == len(have) and all(_same_atomic(w, h) for w, h in zip(want, have, strict=True))
    return same_value(want, have)


def _same(want: t.Any, owned: t.Any, live: t.Any) -> bool:
    """Whether applying ``want`` (a field of the manifest) over ``live`` changes nothing, given ``owned`` (our
    fieldsV1 node for the field)."""
    if isinstance(want, dict) and want:
        children = _children(owned)
        if not isinstance(live, dict):
            return False
        sent = {k for k, v in want.items() if v is not None}
        if {f"f:{k}" for k in sent} != set(children):
            return False  # a field added, or one we own and no longer send
        return all(_same(want[k], children[f"f:{k}"], live.get(k)) for k in sent)
    if isinstance(want, dict):  # an empty map (emptyDir: {}): owned as one field
        return isinstance(live, dict) and not _children(owned)
    if isinstance(want, list):
        return _same_list(want, owned, live)
    if _children(owned):
        return False
    return same_value(want, live)


def unchanged(desired: dict[str, t.Any], live: dict[str, t.Any] | None, manager: str) -> bool:
    """True when a server-side apply of ``desired`` (prepared) by ``manager`` would leave ``live`` as it is, as far as
    ``live``'s managed fields tell; False means "missing, changed, or cannot tell without asking the server"."""
    owned = owned_fields(live, manager, desired.get("apiVersion", ""))
    if owned is None or live is None:
        return False
    want = {k: v for k, v in desired.items() if k not in _TOP_SKIPPED and k != "metadata" and v is not None}
    meta = {k: v for k, v in (desired.get("metadata") or {}).items() if k not in _META_SKIPPED and v is not None}
    if meta:
        want["metadata"] = meta
    if not want:
        return not _children(owned)
    return _same(want, owned, {k: v for k, v in live.items() if k not in _TOP_SKIPPED})


def comparable(obj: dict[str, t.Any] | None) -> dict[str, t.Any] | None:
    """``obj`` without what changes on every write without changing the object: resourceVersion, the managed
    fields' timestamps (the managers and their fields stay: a change of ownership is a change)."""
    if obj is None:
        return None
    meta = dict(obj.get("metadata") or {})
    meta.pop("resourceVersion", None)
    meta["managedFields"] = sorted(
        json.dumps({k: v for k, v in entry.items() if k != "time"}, sort_keys=True)
        for entry in meta.get("managedFields") or [] if isinstance(entry, dict))
    return dict(obj, metadata=meta)


def same_object(before: dict[str, t.Any] | None, after: dict[str, t.Any] | None) -> bool:
    """Whether the object the server returned for an apply (or its dry run) is the live object unchanged."""
    return before is not None and after is not None and comparable(before) == comparable(after)


def _hidden(value: t.Any, other: t.Any, other_has: bool) -> str:
    return "<hidden>" if other_has and value == other else "<hidden, changed>"


def diff_pair(before: dict[str, t.Any] | None, after: dict[str, t.Any] | None) -> tuple[dict[str, t.Any], dict[str, t.Any]]:
    """``before`` and ``after`` as shown in a diff: without managed fields and resourceVersion; a Secret's values
    replaced by markers that only tell which keys changed."""
    def strip(obj: dict[str, t.Any] | None) -> dict[str, t.Any]:
        if not obj:
            return {}
        meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in ("managedFields", "resourceVersion")}
        return dict(obj, metadata=meta)

    old, new = strip(before), strip(after)
    if "Secret" in (old.get("kind"), new.get("kind")):
        old_data, new_data = old.get("data") or {}, new.get("data") or {}
        if isinstance(old_data, dict) and isinstance(new_data, dict):
            old["data"] = {k: _hidden(v, new_data.get(k), k in new_data) for k, v in old_data.items()}
            new["data"] = {k: _hidden(v, old_data.get(k), k in old_data) for k, v in new_data.items()}
            for key in set(old["data"]) & set(new["data"]):
                if old["data"][key] != "<hidden>":
                    old["data"][key] = "<hidden, before>"
        old.pop("stringData", None)
        new.pop("stringData", None)
    return old, new
