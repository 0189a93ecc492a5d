# -*- coding: utf-8 -*-
from __future__ import annotations

import pytest

from ansible_collections.openova.stalwart.plugins.module_utils import _k8s_wait


def wait(api_version, kind, **extra):
    return {"api_version": api_version, "kind": kind, "name": "x", "namespace": "mail", **extra}


def cond(ctype, status="True", **extra):
    return {"status": {"conditions": [{"type": ctype, "status": status, **extra}]}}


def test_deployment_rollout():
    rule = wait("apps/v1", "Deployment")
    done = {"metadata": {"generation": 2}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}}
    assert _k8s_wait.reached(rule, done)
    assert not _k8s_wait.reached(rule, {**done, "status": {**done["status"], "observedGeneration": 1}})
    assert not _k8s_wait.reached(rule, {**done, "status": {**done["status"], "replicas": 3}})  # old pods left
    stuck = {**done, "status": {"conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]}}
    with pytest.raises(_k8s_wait.WaitFailed):
        _k8s_wait.reached(rule, stuck)


def test_statefulset_rollout():
    rule = wait("apps/v1", "StatefulSet")
    done = {"metadata": {"generation": 1}, "spec": {"replicas": 1},
            "status": {"observedGeneration": 1, "readyReplicas": 1, "updatedReplicas": 1,
                       "currentRevision": "a", "updateRevision": "a"}}
    assert _k8s_wait.reached(rule, done)
    assert not _k8s_wait.reached(rule, {**done, "status": {**done["status"], "updateRevision": "b"}})
    assert not _k8s_wait.reached(rule, {**done, "status": {**done["status"], "readyReplicas": 0}})
    on_delete = {**done, "spec": {"replicas": 1, "updateStrategy": {"type": "OnDelete"}},
                 "status": {**done["status"], "updateRevision": "b"}}
    assert _k8s_wait.reached(rule, on_delete)


def test_ready_kinds_job_and_crd():
    assert _k8s_wait.reached(wait("postgresql.cnpg.io/v1", "Cluster"), cond("Ready"))
    assert not _k8s_wait.reached(wait("postgresql.cnpg.io/v1", "Cluster"), cond("Ready", "False"))
    assert _k8s_wait.reached(wait("cert-manager.io/v1", "Certificate"), cond("Ready"))
    assert _k8s_wait.reached(wait("apiextensions.k8s.io/v1", "CustomResourceDefinition"), cond("Established"))
    assert _k8s_wait.reached(wait("batch/v1", "Job"), cond("Complete"))
    assert not _k8s_wait.reached(wait("batch/v1", "Job"), {"status": {}})
    with pytest.raises(_k8s_wait.WaitFailed, match="BackoffLimitExceeded"):
        _k8s_wait.reached(wait("batch/v1", "Job"), cond("Failed", reason="BackoffLimitExceeded"))
    assert _k8s_wait.reached(wait("example.org/v1", "Other"), cond("Ready"))  # the default rule
    assert not _k8s_wait.reached(wait("batch/v1", "Job"), None)


def test_explicit_condition_and_field():
    assert _k8s_wait.reached(wait("minio.min.io/v2", "Tenant", field="status.currentState", value="Initialized"),
                             {"status": {"currentState": "Initialized"}})
    assert _k8s_wait.reached(wait("apps/v1", "StatefulSet", field="status.readyReplicas", value="2"),
                             {"status": {"readyReplicas": 2}})
    assert not _k8s_wait.reached(wait("apps/v1", "Deployment", condition="Available"), cond("Progressing"))


def test_check_and_describe():
    with pytest.raises(ValueError, match="api_version, kind and name"):
        _k8s_wait.check({"kind": "Job", "name": "x"})
    with pytest.raises(ValueError, match="either condition or field"):
        _k8s_wait.check(wait("batch/v1", "Job", condition="Complete", field="status.x"))
    assert _k8s_wait.describe(wait("batch/v1", "Job")) == "Job mail/x ready"
    assert _k8s_wait.describe(wait("a/v1", "B", field="status.p", value=1)) == "B mail/x status.p=1"
    assert _k8s_wait.field_value({"a": 1}, "a.b") is None


def test_why_not_reached():
    assert _k8s_wait.why(wait("batch/v1", "Job"), None) == "not found"
    assert _k8s_wait.why(wait("batch/v1", "Job"), {"status": {}}) == "no status yet: is its controller running?"
    failing = cond("Complete", "False", reason="Pending")
    assert _k8s_wait.why(wait("batch/v1", "Job"), failing) == "Complete=False (Pending)"
    rollout = {"status": {"readyReplicas": 0, "updatedReplicas": 1}}
    assert _k8s_wait.why(wait("apps/v1", "StatefulSet"), rollout) == "readyReplicas 0, updatedReplicas 1"
    field = wait("v1", "Service", field="status.loadBalancer.ingress", value="x")
    assert _k8s_wait.why(field, {"status": {"loadBalancer": {}}}) == "status.loadBalancer.ingress is None"
    pod = {"status": {"phase": "Pending", "message": "0/3 nodes are available " + "x" * 400}}
    text = _k8s_wait.why(wait("v1", "Pod"), pod)
    assert text.startswith("phase 'Pending': 0/3 nodes are available x") and text.endswith("...; no Ready condition")
