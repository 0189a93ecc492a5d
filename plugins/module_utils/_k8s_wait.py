# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""When an object is ready, per kind: the waits of openova.stalwart.k8s_manifests.

A wait names an object and, optionally, what to wait for: a ``condition`` type that must be ``True``, or a dotted
``field`` that must equal ``value``. Without either, the kind says what ready means (``KIND_RULES``): a Deployment or
StatefulSet rolled out, a CloudNativePG Cluster or a cert-manager Certificate Ready, a Job complete (a failed Job
fails the wait at once), a CustomResourceDefinition Established; any other kind waits for a ``Ready`` condition.
"""

from __future__ import annotations

import typing as t


class WaitFailed(Exception):
    """The object can no longer reach the state waited for (a failed Job, a rollout past its deadline)."""


def field_value(obj: t.Any, path: str) -> t.Any:
    """The value at a dotted ``path`` (``status.readyReplicas``) of ``obj``; None when any step is missing."""
    value = obj
    for step in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


def condition(obj: t.Any, ctype: str) -> dict[str, t.Any] | None:
    for cond in field_value(obj, "status.conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == ctype:
            return cond
    return None


def _is_true(obj: t.Any, ctype: str) -> bool:
    cond = condition(obj, ctype)
    return cond is not None and str(cond.get("status")) == "True"


def _observed(obj: dict[str, t.Any]) -> bool:
    """The controller has seen the latest spec (objects without a generation count as seen)."""
    generation = field_value(obj, "metadata.generation")
    observed = field_value(obj, "status.observedGeneration")
    return generation is None or (observed is not None and int(observed) >= int(generation))


def _replicas(obj: dict[str, t.Any]) -> int:
    value = field_value(obj, "spec.replicas")
    return 1 if value is None else int(value)


def deployment_rolled_out(obj: dict[str, t.Any]) -> bool:
    """As ``kubectl rollout status``: the new ReplicaSet has every replica, all available, no old ones left."""
    progressing = condition(obj, "Progressing")
    if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        raise WaitFailed("rollout exceeded its progress deadline")
    status = obj.get("status") or {}
    replicas = _replicas(obj)
    return (_observed(obj) and int(status.get("updatedReplicas") or 0) == replicas
            and int(status.get("replicas") or 0) == replicas and int(status.get("availableReplicas") or 0) == replicas)


def statefulset_rolled_out(obj: dict[str, t.Any]) -> bool:
    """As ``kubectl rollout status``: every replica ready and of the current revision."""
    status = obj.get("status") or {}
    replicas = _replicas(obj)
    if not _observed(obj) or int(status.get("readyReplicas") or 0) != replicas:
        return False
    if (field_value(obj, "spec.updateStrategy.type") or "RollingUpdate") != "RollingUpdate":
        return True
    if int(status.get("updatedReplicas") or 0) != replicas:
        return False
    return not status.get("updateRevision") or status.get("currentRevision") == status.get("updateRevision")


def job_complete(obj: dict[str, t.Any]) -> bool:
    if _is_true(obj, "Failed"):
        cond = condition(obj, "Failed") or {}
        raise WaitFailed(f"the Job failed: {cond.get('reason') or ''} {cond.get('message') or ''}".strip())
    return _is_true(obj, "Complete")


def _condition_rule(ctype: str) -> t.Callable[[dict[str, t.Any]], bool]:
    return lambda obj: _is_true(obj, ctype)


# What ready means, per (API group, kind); the group is "" for the core API.
KIND_RULES: dict[tuple[str, str], t.Callable[[dict[str, t.Any]], bool]] = {
    ("apps", "Deployment"): deployment_rolled_out,
    ("apps", "StatefulSet"): statefulset_rolled_out,
    ("batch", "Job"): job_complete,
    ("postgresql.cnpg.io", "Cluster"): _condition_rule("Ready"),
    ("cert-manager.io", "Certificate"): _condition_rule("Ready"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _condition_rule("Established"),
}


def group_of(api_version: str) -> str:
    return api_version.split("/")[0] if "/" in api_version else ""


def describe(wait: dict[str, t.Any]) -> str:
    """``Kind namespace/name what``, for messages."""
    if wait.get("field"):
        what = f"{wait['field']}={wait.get('value')}"
    elif wait.get("condition"):
        what = wait["condition"]
    elif (group_of(wait.get("api_version") or ""), wait.get("kind")) in KIND_RULES:
        what = "ready"
    else:
        what = "Ready"
    return f"{wait.get('kind')} {wait.get('namespace') or ''}/{wait.get('name')} {what}"


# The condition whose state says why a kind is not ready yet, where its rule reads more than one condition.
_WHY_CONDITION = {("batch", "Job"): "Complete", ("apps", "Deployment"): "Progressing",
                  ("apiextensions.k8s.io", "CustomResourceDefinition"): "Established"}
# Kinds whose readiness is their replica counts, not a condition.
_ROLLOUT_KINDS = {("apps", "Deployment"), ("apps", "StatefulSet")}


def _clip(value: t.Any, limit: int = 300) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def why(wait: dict[str, t.Any], obj: dict[str, t.Any] | None) -> str:
    """What the live object says about why it is not there yet, for the timeout message: missing, no status, or
    its phase (with the reason CloudNativePG and others give, ``status.phaseReason``), the condition waited for
    and the replica counts it reports."""
    if obj is None:
        return "not found"
    status = obj.get("status")
    if not isinstance(status, dict) or not status:
        return "no status yet: is its controller running?"
    parts = []
    if wait.get("field"):
        parts.append(f"{wait['field']} is {field_value(obj, wait['field'])!r}")
    if status.get("phase"):
        reason = status.get("phaseReason") or status.get("reason") or status.get("message")
        parts.append(f"phase {_clip(status['phase'])!r}" + (f": {_clip(reason)}" if reason else ""))
    key = (group_of(wait.get("api_version") or ""), str(wait.get("kind")))
    ctype = wait.get("condition") or _WHY_CONDITION.get(key, "Ready")
    cond = condition(obj, ctype)
    if cond is not None:
        text = f"{ctype}={cond.get('status')}"
        detail = ", ".join(_clip(cond[k]) for k in ("reason", "message") if cond.get(k))
        parts.append(f"{text} ({detail})" if detail else text)
    elif wait.get("condition") or not (wait.get("field") or key in _ROLLOUT_KINDS):
        parts.append(f"no {ctype} condition")
    counts = [f"{key} {status[key]}" for key in ("readyReplicas", "updatedReplicas", "availableReplicas", "readyInstances")
              if key in status]
    if counts:
        parts.append(", ".join(counts))
    return "; ".join(parts)


def check(wait: t.Any) -> None:
    """Raise ValueError when a wait is malformed."""
    if not isinstance(wait, dict) or not wait.get("kind") or not wait.get("name") or not wait.get("api_version"):
        raise ValueError(f"waits: each wait needs api_version, kind and name, got {wait!r}")
    if wait.get("field") and wait.get("condition"):
        raise ValueError(f"waits: {describe(wait)}: give either condition or field, not both")


def reached(wait: dict[str, t.Any], obj: dict[str, t.Any] | None) -> bool:
    """Whether ``obj`` (the live object, None when missing) has reached what ``wait`` waits for; raises
    WaitFailed when it never will."""
    if obj is None:
        return False
    if wait.get("field"):
        value = field_value(obj, wait["field"])
        return value is not None and str(value) == str(wait.get("value"))
    if wait.get("condition"):
        return _is_true(obj, wait["condition"])
    rule = KIND_RULES.get((group_of(wait["api_version"]), wait["kind"]), _condition_rule("Ready"))
    return rule(obj)
