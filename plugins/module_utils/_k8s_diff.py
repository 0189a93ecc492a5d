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


def needs_apply(desired: dict[str, t.Any], live: dict[str, t.Any] | None) -> bool:
    """True when the object is missing or one of the desired fields differs from the live object."""
    if not live:
        return True
    return not is_subset(normalise(desired), live)


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
