# -*- coding: utf-8 -*-
"""The cnpg and minio roles in apply mode against the Kubernetes API test server: the operator is server-side
applied and its CRDs/Deployment waited for, then the Cluster (Ready) and the Tenant (Initialized); a second
converge and a check run write nothing; one changed variable patches only the object it affects.
The first converge runs once per test run (session_cache); each test gets a server restored from its result."""

from __future__ import annotations

import base64
import dataclasses

import pytest

from fakes import bundle
from fakes.ansible import PlaybookResult, run_playbook
from fakes.kube import KubeServer

ROLES = ["openova.stalwart.cnpg", "openova.stalwart.minio"]


@pytest.fixture
def operators(shared_dir, tmp_path):
    return {"cnpg_operator_manifest_url": str(bundle.cnpg_operator(shared_dir, tmp_path / "cnpg.yaml")),
            "minio_operator_manifest_url": str(bundle.minio_operator(shared_dir, tmp_path / "minio.yaml"))}


def converge(tmp, kube, operators, extra=None, **kwargs):
    play = [{"hosts": "localhost", "gather_facts": False, "roles": ROLES,
             "post_tasks": [{"name": "Facts for Stalwart", "ansible.builtin.debug": {"msg": {
                 "secret": "{{ cnpg_app_secret_name }}", "host": "{{ cnpg_rw_host }}",
                 "database": "{{ cnpg_app_database }}", "endpoint": "{{ minio_blob_store.endpoint }}"}}}]}]
    extra_vars = {"openova_stalwart_mode": "apply", "openova_stalwart_kubeconfig": str(kube.kubeconfig),
                  "minio_deploy": True, "minio_verify": False, "cnpg_wait_timeout": 60, "minio_wait_timeout": 60,
                  **operators, **(extra or {})}
    return run_playbook(play, tmp, extra_vars=extra_vars, **kwargs)


def ok(result):
    assert result.rc == 0, result.stdout[-8000:] + result.stderr[-3000:]
    return result


def writes(kube):
    return [(w.verb, w.kind, w.name) for w in kube.changes() if not w.dry_run]


def _first_converge(shared_dir, workdir) -> dict:
    """Converge an empty cluster (with -vvv, for the secrets test): the result, the writes and the stored state."""
    operators = {"cnpg_operator_manifest_url": str(bundle.cnpg_operator(shared_dir, workdir / "cnpg.yaml")),
                 "minio_operator_manifest_url": str(bundle.minio_operator(shared_dir, workdir / "minio.yaml"))}
    with KubeServer(workdir / "kube", crd_dir=shared_dir / "crds") as kube:
        first = ok(converge(workdir / "run1", kube, operators, args=["-vvv"]))
        assert not kube.controller_errors, kube.controller_errors
        return {"first": dataclasses.asdict(first), "writes": writes(kube), "kube": kube.snapshot()}


@pytest.fixture
def converged(session_cache, shared_dir, kube_factory):
    """A server of this test's own holding the state after the first converge, that converge's result and writes."""
    state = session_cache("cnpg-minio-converged", lambda workdir: _first_converge(shared_dir, workdir))
    return {"first": PlaybookResult(**state["first"]), "writes": [tuple(w) for w in state["writes"]],
            "kube": kube_factory(state=state["kube"])}


def test_converge_in_order_then_nothing_to_do(converged, operators, tmp_path):
    first, done, kube = converged["first"], converged["writes"], converged["kube"]
    kinds = [write[1] for write in done]
    assert kinds.index("Deployment") < kinds.index("Cluster") < kinds.index("Tenant")
    assert all(write[0] == "apply" for write in done)
    cluster = kube.get("Cluster.postgresql.cnpg.io", "stalwart-db", "mail")
    assert cluster["spec"]["instances"] == 2
    assert cluster["metadata"]["managedFields"][0]["manager"] == "openova.stalwart"
    assert any(c["type"] == "Ready" and c["status"] == "True" for c in cluster["status"]["conditions"])
    assert kube.get("Secret", "stalwart-db-app", "mail") is not None  # made by the operator, not by us
    tenant = kube.get("Tenant.minio.min.io", "stalwart-s3", "mail")
    assert tenant["spec"]["buckets"][0]["name"] == "stalwart"
    user = kube.get("Secret", "stalwart-s3-stalwart-user", "mail")
    assert set(user["data"]) == {"CONSOLE_ACCESS_KEY", "CONSOLE_SECRET_KEY"}
    assert first.task("Facts for Stalwart")["msg"] == {
        "secret": "stalwart-db-app", "host": "stalwart-db-rw.mail.svc", "database": "stalwart",
        "endpoint": "http://minio.mail.svc"}

    second = ok(converge(tmp_path / "run2", kube, operators))
    assert second.changed == 0
    assert kube.counters()["mutating_requests"] == 0 and kube.counters()["dry_run_requests"] == 0
    assert kube.get("Secret", "stalwart-s3-stalwart-user", "mail")["data"] == user["data"]  # credentials kept


def test_check_mode_and_a_changed_variable(converged, operators, tmp_path):
    kube = converged["kube"]
    check = ok(converge(tmp_path / "check", kube, operators, extra={"cnpg_instances": 3}, check=True, diff=True))
    assert check.changed > 0
    assert kube.counters()["writes"] == 0
    assert kube.get("Cluster.postgresql.cnpg.io", "stalwart-db", "mail")["spec"]["instances"] == 2

    kube.reset_counters()
    ok(converge(tmp_path / "run2", kube, operators, extra={"cnpg_instances": 3}))
    assert writes(kube) == [("apply", "Cluster", "stalwart-db")]
    assert kube.get("Cluster.postgresql.cnpg.io", "stalwart-db", "mail")["spec"]["instances"] == 3


def test_secrets_never_show(converged):
    result, kube = converged["first"], converged["kube"]  # the first converge ran with -vvv
    # -vvv output, with every module invocation (k8s_manifests names its manifests' count, never their content).
    assert '"invocation"' in result.stdout and '"manifests": "(' in result.stdout
    user = kube.get("Secret", "stalwart-s3-stalwart-user", "mail")
    secret = base64.b64decode(user["data"]["CONSOLE_SECRET_KEY"]).decode()
    config = base64.b64decode(kube.get("Secret", "stalwart-s3-env-configuration", "mail")["data"]["config.env"]).decode()
    assert secret and secret not in result.stdout + result.stderr
    root_password = config.split('MINIO_ROOT_PASSWORD="')[1].split('"')[0]
    assert root_password not in result.stdout + result.stderr
