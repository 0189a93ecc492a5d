# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""Decide which desired manifests differ from the live objects, so an unchanged cluster gets no write at all."""

from __future__ import annotations

import base64
import typing as t


def normalise(manifest: dict[str, t.Any]) -> dict[str, t.Any]:
    """Return ``manifest`` as the API server stores it: a Secret's ``stringData`` folded into base64 ``data``."""
    if manifest.get("kind") != "Secret" or not manifest.get("stringData"):
        return manifest
    result = {k: v for k, v in manifest.items() if k != "stringData"}
    data = dict(result.get("data") or {})
    for key, value in manifest["stringData"].items():
        data[key] = base64.b64encode(str(value).encode("utf-8")).decode("ascii")
    result["data"] = data
    return result


def is_subset(want: t.Any, have: t.Any) -> bool:
    """True when every field set in ``want`` has the same value in ``have`` (server defaults may add more)."""
    if isinstance(want, dict):
        if not isinstance(have, dict):
            return not want
        return all(is_subset(value, have.get(key)) for key, value in want.items() if value is not None)
    if isinstance(want, list):
        if not isinstance(have, list) or len(want) != len(have):
            return False
        return all(is_subset(w, h) for w, h in zip(want, have))
    if isinstance(want, bool) or isinstance(have, bool):
        return want is have
    if isinstance(want, (int, float)) and isinstance(have, (int, float)):
        return want == have
    return want == have


# The maps of these kinds are ours whole: a key no longer wanted must go too (an apply removes it), which a
# subset comparison alone would never notice.
_WHOLE_MAPS = {"Secret": ("data",), "ConfigMap": ("data", "binaryData")}


def needs_apply(desired: dict[str, t.Any], live: dict[str, t.Any] | None) -> bool:
    """True when the object is missing, one of the desired fields differs from the live object, or a Secret or
    ConfigMap holds a key that is no longer desired."""
    if not live:
        return True
    want = normalise(desired)
    for field in _WHOLE_MAPS.get(want.get("kind"), ()):
        if set(want.get(field) or {}) != set(live.get(field) or {}):
            return True
    return not is_subset(want, live)


def pending(lookups: t.Iterable[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
    """From registered ``k8s_info`` loop results (``item`` = desired manifest), the manifests to apply, in order."""
    out = []
    for result in lookups:
        if not isinstance(result, dict) or "item" not in result:
            raise ValueError("k8s_pending: expected the results of a kubernetes.core.k8s_info loop over manifests")
        resources = result.get("resources") or []
        live = resources[0] if resources and not result.get("failed") else None
        if needs_apply(result["item"], live):
            out.append(result["item"])
    return out


def field_value(obj: dict[str, t.Any] | None, path: str) -> t.Any:
    """The value at a dotted ``path`` (``status.readyReplicas``) of ``obj``; None when any step is missing."""
    value: t.Any = obj
    for step in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


def wait_label(wait: dict[str, t.Any]) -> str:
    """``Kind namespace/name condition`` or ``Kind namespace/name field=value``, for messages."""
    what = f"{wait['field']}={wait.get('value')}" if wait.get("field") else wait.get("condition") or "Ready"
    return f"{wait['kind']} {wait.get('namespace') or ''}/{wait['name']} {what}"


def unmet(waits: t.Iterable[dict[str, t.Any]], lives: t.Sequence[dict[str, t.Any] | None]) -> list[str]:
    """The waits not reached yet by the live objects (``lives[i]`` is the object of ``waits[i]``, None if missing).

    A wait names either a ``condition`` (default ``Ready``) whose status must be ``"True"``, or a dotted
    ``field`` that must equal ``value`` (compared as text, so 2 and "2" agree)."""
    waits = list(waits)
    if len(waits) != len(lives):
        raise ValueError(f"k8s_unmet: {len(waits)} waits but {len(lives)} live objects")
    out = []
    for wait, obj in zip(waits, lives):
        if not isinstance(wait, dict) or not wait.get("kind") or not wait.get("name"):
            raise ValueError(f"k8s_unmet: each wait needs kind and name, got {wait!r}")
        if wait.get("field"):
            value = field_value(obj, wait["field"])
            reached = value is not None and str(value) == str(wait.get("value"))
        else:
            conditions = field_value(obj, "status.conditions") or []
            reached = any(isinstance(c, dict) and c.get("type") == (wait.get("condition") or "Ready")
                          and str(c.get("status")) == "True" for c in conditions)
        if not reached:
            out.append(wait_label(wait))
    return out
