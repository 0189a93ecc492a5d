# -*- coding: utf-8 -*-
"""Patch semantics of the Kubernetes API test server: JSON merge patch (RFC 7386), strategic merge patch
(maps merged, lists replaced), JSON patch (RFC 6902, via jsonpatch) and server-side apply."""

from __future__ import annotations

import json
import typing as t

import jsonpatch


def clone(value: t.Any) -> t.Any:
    """A deep copy of JSON data (several times faster than copy.deepcopy)."""
    return json.loads(json.dumps(value))


def merge_patch(target: t.Any, patch: t.Any) -> t.Any:
    """RFC 7386: maps merge recursively, null removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return clone(patch)
    result = clone(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target: t.Any, patch: t.Any) -> t.Any:
    """Strategic merge as far as this server goes: like a merge patch, plus the ``$patch: replace`` and
    ``$patch: delete`` directives on maps. Lists are replaced whole (the real server merges some lists by
    their patchMergeKey, e.g. containers by name)."""
    if not isinstance(patch, dict):
        return clone(patch)
    directive = patch.get("$patch")
    body = {k: v for k, v in patch.items() if k != "$patch" and not k.startswith("$setElementOrder/")}
    if directive == "replace":
        return clone(body)
    result = clone(target) if isinstance(target, dict) else {}
    for key, value in body.items():
        if key.startswith("$"):
            continue
        if value is None or (isinstance(value, dict) and value.get("$patch") == "delete"):
            result.pop(key, None)
        else:
            result[key] = strategic_merge_patch(result.get(key), value)
    return result


def json_patch(target: dict, operations: list) -> dict:
    """RFC 6902; raises ValueError with the library's reason when an operation cannot apply."""
    try:
        return jsonpatch.apply_patch(target, operations, in_place=False)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, KeyError) as exc:
        raise ValueError(str(exc)) from exc


# -- server-side apply ------------------------------------------------------------------------------
Path = tuple[str, ...]


def leaf_paths(obj: t.Any, prefix: Path = ()) -> dict[Path, t.Any]:
    """The fields an applied configuration sets: map keys down to scalars and lists (lists are atomic)."""
    if isinstance(obj, dict) and obj:
        out: dict[Path, t.Any] = {}
        for key, value in obj.items():
            out.update(leaf_paths(value, prefix + (key,)))
        return out
    return {prefix: obj} if prefix else {}


def _remove(obj: dict, path: Path) -> None:
    node = obj
    parents = []
    for key in path[:-1]:
        if not isinstance(node, dict) or key not in node:
            return
        parents.append((node, key))
        node = node[key]
    if isinstance(node, dict):
        node.pop(path[-1], None)
    # A map the manager emptied goes away with its last field.
    for parent, key in reversed(parents):
        if parent[key] == {}:
            del parent[key]
        else:
            break


def remove_path(obj: dict, path: Path) -> None:
    """Remove the field at ``path`` (and the maps it leaves empty)."""
    _remove(obj, path)


def _merge_applied(target: t.Any, applied: t.Any) -> t.Any:
    if isinstance(target, dict) and isinstance(applied, dict):
        result = dict(target)
        for key, value in applied.items():
            result[key] = _merge_applied(target.get(key), value)
        return result
    return clone(applied)


def server_side_apply(current: dict, previous: dict | None, applied: dict, others: t.Iterable[dict] = ()) -> dict:
    """Merge a field manager's applied configuration into the live object: the fields it set before and
    no longer sets are removed (unless another applier's configuration sets them too: they own them still),
    the fields it sets take its values, every other field stays."""
    result = clone(current)
    if previous:
        dropped = set(leaf_paths(previous)) - set(leaf_paths(applied))
        for config in others:
            dropped -= set(leaf_paths(config))
        for path in sorted(dropped, key=len, reverse=True):
            if not path[:1] == ("metadata",) or path[:2] in (("metadata", "labels"), ("metadata", "annotations")):
                _remove(result, path)
    return _merge_applied(result, applied)


def apply_conflicts(applied: dict, live: dict, others: dict[str, dict]) -> list[tuple[str, str]]:
    """(manager, field) pairs where this configuration would change a value another applier owns."""
    mine = leaf_paths(applied)
    live_leaves = leaf_paths(live)
    conflicts = []
    for manager, config in sorted(others.items()):
        for path, value in leaf_paths(config).items():
            if path in mine and mine[path] != value and live_leaves.get(path) == value and path[0] != "metadata":
                conflicts.append((manager, "." + ".".join(path)))
    return conflicts


def fields_v1(applied: t.Any, top: bool = True) -> dict:
    """The managedFields ``fieldsV1`` set of an applied configuration. Only the object's own apiVersion and kind
    are left out, and of its metadata only what an applier sets (labels, annotations) is tracked: an embedded
    ``kind`` (a CRD's spec.names.kind) or a pod template's metadata are fields like any other."""
    if not isinstance(applied, dict):
        return {}
    out: dict = {}
    for key, value in applied.items():
        if top and (key in ("apiVersion", "kind") or (key == "metadata" and not isinstance(value, dict))):
            continue
        if top and key == "metadata":
            value = {k: v for k, v in value.items() if k in ("labels", "annotations")}
            if not value:
                continue
        # Lists are atomic here, so a list is owned as one field.
        out[f"f:{key}"] = fields_v1(value, top=False) if isinstance(value, dict) else {}
    return out
