# -*- coding: utf-8 -*-
"""The stalwart role in apply mode, through ansible-playbook, against the Kubernetes API test server and the
Stalwart JMAP test server: converge creates everything and applies the settings; a second converge and a check
run write nothing; an image change stops every pod before the new version starts; one changed variable patches
only the objects it affects. The first converge runs once per test run (session_cache) and each test gets servers
of its own restored from its result."""

from __future__ import annotations

import base64
import dataclasses
import re
import threading
import time

import pytest

from fakes.ansible import PlaybookResult, run_playbook
from fakes.jmap import JmapServer
from fakes.kube import KubeServer

ADMIN_PASSWORD = "Adm1n-pass"  # what the JMAP test server accepts for user admin
S3_SECRET = "s3-secret-Pw71Za"

BASE_VARS = {
    "stalwart_hostname": "mail.example.org",
    "stalwart_domains": [{"name": "example.org"}, {"name": "example.net"}],
    "stalwart_s3_endpoint": "http://minio.minio-tenant.svc:9000",
    "stalwart_s3_access_key": "s3-access-Qk2",
    "stalwart_s3_secret_key": S3_SECRET,
    "stalwart_wait_timeout": 30,
}


def converge(tmp, kube, jmap, extra: dict | None = None, **kwargs):
    play = [{"hosts": "localhost", "gather_facts": False, "vars": {**BASE_VARS, **(extra or {})},
             "roles": ["openova.stalwart.stalwart"]}]
    extra_vars = {"openova_stalwart_mode": "apply", "openova_stalwart_kubeconfig": str(kube.kubeconfig),
                  "stalwart_management_url": jmap.url}
    return run_playbook(play, tmp, extra_vars=extra_vars, **kwargs)


def seed_admin(kube):
    """The recovery admin Secret of an earlier run: the role must read the password back, not make a new one."""
    kube.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mail"}})
    kube.seed({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "stalwart-credentials", "namespace": "mail"},
               "stringData": {"STALWART_RECOVERY_ADMIN": f"admin:{ADMIN_PASSWORD}"}})


def ok(result):
    assert result.rc == 0, result.stdout[-8000:] + result.stderr[-3000:]
    return result


def writes(kube):
    return [(w.verb, w.kind, w.name) for w in kube.changes() if not w.dry_run]


def dkim_data(kube) -> dict[str, str]:
    """The DKIM key files over all the Secrets stalwart-dkim-<n> they are split into."""
    data: dict[str, str] = {}
    for secret in kube.list("Secret", "mail"):
        if re.fullmatch(r"stalwart-dkim-\d+", secret["metadata"]["name"]):
            data.update(secret["data"])
    return data


def _first_converge(shared_dir, workdir) -> dict:
    """Converge an empty cluster (the recovery admin Secret seeded): the result and both servers' state."""
    jmap = JmapServer(shared_dir / "stalwart" / "schema-0.16.18.json.gz", users={"admin": ADMIN_PASSWORD})
    jmap.start()
    try:
        with KubeServer(workdir / "kube", crd_dir=shared_dir / "crds") as kube:
            seed_admin(kube)
            first = ok(converge(workdir / "run1", kube, jmap))
            assert not kube.controller_errors, kube.controller_errors
            return {"first": dataclasses.asdict(first), "kube": kube.snapshot(), "jmap": jmap.snapshot()}
    finally:
        jmap.stop()


def converged_servers(session_cache, shared_dir, kube_factory, jmap_server) -> tuple[KubeServer, JmapServer, PlaybookResult]:
    """Servers of the caller's own in the state the first converge of BASE_VARS left, and that converge's result."""
    state = session_cache("stalwart-apply-converged", lambda workdir: _first_converge(shared_dir, workdir))
    return (kube_factory(state=state["kube"]), jmap_server.restore(state["jmap"]),
            PlaybookResult(**state["first"]))


@pytest.fixture
def converged(tmp_path, session_cache, shared_dir, kube_factory, jmap_server):
    kube, jmap, first = converged_servers(session_cache, shared_dir, kube_factory, jmap_server)
    return {"first": first, "kube": kube, "jmap": jmap, "tmp": tmp_path}


def test_converge_creates_everything(converged):
    kube, jmap = converged["kube"], converged["jmap"]
    for kind, name in [("StatefulSet", "stalwart"), ("ConfigMap", "stalwart-config"), ("Service", "stalwart"),
                       ("Service", "stalwart-headless"), ("Service", "stalwart-mail"), ("Certificate", "stalwart"),
                       ("PodDisruptionBudget", "stalwart"), ("NetworkPolicy", "stalwart"), ("Ingress", "stalwart"),
                       ("ServiceMonitor", "stalwart"), ("PrometheusRule", "stalwart"), ("Secret", "stalwart-dkim-0"),
                       ("Secret", "stalwart-metrics"), ("ConfigMap", "stalwart-dashboard")]:
        assert kube.get(kind, name, "mail") is not None, (kind, name)
    creds = kube.get("Secret", "stalwart-credentials", "mail")["data"]
    decoded = {k: base64.b64decode(v).decode() for k, v in creds.items()}
    assert decoded["STALWART_RECOVERY_ADMIN"] == f"admin:{ADMIN_PASSWORD}"  # read back, not regenerated
    assert decoded["STALWART_S3_SECRET_KEY"] == S3_SECRET and len(decoded["STALWART_SMOKE_PASSWORD"]) == 24
    dkim = dkim_data(kube)
    assert sorted(dkim) == sorted(f"s1-{a}._domainkey.{d}.pem" for d in ("example.org", "example.net")
                                  for a in ("rsa", "ed25519"))
    # The settings plan reached Stalwart: the domains and a signature per key exist.
    assert sorted(d["name"] for d in jmap.objects("Domain")) == ["example.net", "example.org"]
    assert len(jmap.objects("DkimSignature")) == 4
    for secret in (ADMIN_PASSWORD, S3_SECRET, "PRIVATE KEY"):
        assert secret not in converged["first"].stdout


def test_second_converge_and_check_mode_write_nothing(converged):
    kube, jmap, tmp = converged["kube"], converged["jmap"], converged["tmp"]
    dkim_before = dkim_data(kube)
    set_calls = jmap.set_calls
    kube.reset_counters()
    second = ok(converge(tmp / "run2", kube, jmap))
    assert writes(kube) == [] and kube.counters()["mutating_requests"] == 0, writes(kube)
    assert jmap.set_calls == set_calls
    assert second.changed == 0, [t["task"]["name"] for p in second.data["plays"] for t in p["tasks"]
                                 if any(h.get("changed") for h in t["hosts"].values())]
    assert dkim_data(kube) == dkim_before  # keys kept, never regenerated
    kube.reset_counters()
    ok(converge(tmp / "run3", kube, jmap, check=True, diff=True))
    assert kube.counters()["writes"] == 0 and jmap.set_calls == set_calls


def test_one_variable_patches_only_affected_objects(converged):
    kube, jmap, tmp = converged["kube"], converged["jmap"], converged["tmp"]
    kube.reset_counters()
    ok(converge(tmp / "run2", kube, jmap, {"stalwart_alert_queue_size": 5000}))
    assert {(v, k, n) for v, k, n in writes(kube) if k != "Pod"} == {("apply", "PrometheusRule", "stalwart")}
    kube.reset_counters()
    ok(converge(tmp / "run3", kube, jmap, {"stalwart_alert_queue_size": 5000, "stalwart_load_balancer_ip": "192.0.2.25",
                                           "stalwart_resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}))
    changed = {(k, n) for verb, k, n in writes(kube) if k != "Pod" and verb}
    assert ("Service", "stalwart-mail") in changed and ("StatefulSet", "stalwart") in changed
    assert not changed & {("ConfigMap", "stalwart-config"), ("Ingress", "stalwart")}
    assert not [name for kind, name in changed if kind == "Secret" and name.startswith("stalwart-dkim")]
    # volumeClaimTemplates cannot change: refused before any write, naming the variable.
    kube.reset_counters()
    refused = converge(tmp / "run4", kube, jmap, {"stalwart_storage_class": "fast"})
    assert refused.rc != 0 and "stalwart_storage_class" in refused.stdout
    assert kube.counters()["writes"] == 0


def test_image_change_stops_every_pod_first(converged):
    kube, jmap, tmp = converged["kube"], converged["jmap"], converged["tmp"]
    new_image = "stalwartlabs/stalwart:v0.16.19"
    stop = threading.Event()
    seen: list[list[str]] = []

    def watch():
        """Record the pods that exist the moment the StatefulSet first carries the new image."""
        while not stop.is_set() and not seen:
            sts = kube.get("StatefulSet", "stalwart", "mail")
            if sts and sts["spec"]["template"]["spec"]["containers"][0]["image"] == new_image:
                seen.append(sorted(f"{p['metadata']['name']} {p['spec']['containers'][0]['image']}"
                                   for p in kube.list("Pod", "mail")
                                   if p["metadata"]["name"].startswith("stalwart-")
                                   and not p["metadata"].get("deletionTimestamp")))
            time.sleep(0.02)

    assert [p["metadata"]["name"] for p in kube.list("Pod", "mail")] == ["stalwart-0"]
    worker = threading.Thread(target=watch, daemon=True)
    worker.start()
    kube.reset_counters()
    try:
        ok(converge(tmp / "run2", kube, jmap, {"stalwart_image": new_image}))
    finally:
        stop.set()
        worker.join()
    log = [w.verb for w in kube.changes() if not w.dry_run and w.kind == "StatefulSet"]
    # First the scale to zero, then (every old pod gone) the apply that brings the new image.
    assert log == ["patch", "apply"], log
    # No pod of the old version was left when the new image landed (new ones may already be starting).
    assert len(seen) == 1 and not [p for p in seen[0] if "v0.16.18" in p], seen
    sts = kube.get("StatefulSet", "stalwart", "mail")
    assert sts["spec"]["replicas"] == 1
    assert sts["spec"]["template"]["spec"]["containers"][0]["image"] == new_image
    # Without an image change there is no stop.
    kube.reset_counters()
    ok(converge(tmp / "run3", kube, jmap, {"stalwart_image": new_image, "stalwart_log_level": "debug"}))
    assert not [w for w in kube.changes() if w.verb == "patch" and w.kind == "StatefulSet"]
