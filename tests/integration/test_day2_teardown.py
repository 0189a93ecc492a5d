# -*- coding: utf-8 -*-
"""playbooks/teardown.yml against the Kubernetes API test server and on a render directory: refuses without
the namespace as confirmation, check mode writes nothing, by default removes the workload (the blob backup CronJob
first) and its config but keeps PVCs, Secrets, the database Cluster and the namespace, a second run writes nothing,
and openova_stalwart_teardown_delete_data=true removes the rest."""

from __future__ import annotations

from fakes.ansible import REPO, run_playbook

TEARDOWN = REPO / "playbooks" / "teardown.yml"
INVENTORY = REPO / "examples" / "inventory.yml"
OURS = {"app.kubernetes.io/managed-by": "openova.stalwart"}
SELECTOR = {"app.kubernetes.io/name": "stalwart", "app.kubernetes.io/instance": "stalwart"}


def ok(result):
    assert result.rc == 0, result.stdout[-6000:] + result.stderr[-2000:]
    return result


def meta(name, labels=None, **extra):
    return {"name": name, "namespace": "mail", "labels": labels or {}, **extra}


def scene(kube):
    kube.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mail"}})
    kube.seed({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("stalwart-config", OURS), "data": {"a": "b"}})
    kube.seed({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("someone-elses"), "data": {"a": "b"}})
    kube.seed({"apiVersion": "v1", "kind": "Secret", "metadata": meta("stalwart-dkim", OURS), "stringData": {"k": "v"}})
    kube.seed({"apiVersion": "v1", "kind": "Service", "metadata": meta("stalwart", OURS),
               "spec": {"selector": SELECTOR, "ports": [{"name": "smtp", "port": 25}]}})
    kube.seed({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta("stalwart", {**OURS, **SELECTOR}), "spec": {
        "replicas": 1, "serviceName": "stalwart", "selector": {"matchLabels": SELECTOR},
        "template": {"metadata": {"labels": SELECTOR},
                     "spec": {"containers": [{"name": "stalwart", "image": "stalwartlabs/stalwart:v0.16.18"}]}},
        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}})
    pod = {"restartPolicy": "Never", "containers": [{"name": "rclone", "image": "docker.io/rclone/rclone:1.68.2"}]}
    kube.seed({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta("stalwart-s3-blob-backup", OURS), "spec": {
        "schedule": "30 3 * * *", "jobTemplate": {"spec": {"template": {"spec": pod}}}}})
    kube.seed({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": meta("stalwart-db", OURS),
               "spec": {"instances": 1, "storage": {"size": "1Gi"}}})
    kube.reconcile()


def test_teardown_keeps_state_unless_told(kube, tmp_path):
    scene(kube)
    owned = [s["metadata"]["name"] for s in kube.list("Service", "mail") if s["metadata"].get("ownerReferences")]
    pvcs = [p["metadata"]["name"] for p in kube.list("PersistentVolumeClaim", "mail")]
    assert pvcs and owned
    base = {"openova_stalwart_mode": "apply", "openova_stalwart_kubeconfig": str(kube.kubeconfig)}
    kube.reset_counters()

    refused = run_playbook(TEARDOWN, tmp_path / "refused", inventory=INVENTORY,
                           extra_vars={**base, "openova_stalwart_teardown_confirm": "default"})
    assert refused.rc != 0 and "openova_stalwart_teardown_confirm" in refused.stdout
    confirmed = {**base, "openova_stalwart_teardown_confirm": "mail"}
    check = ok(run_playbook(TEARDOWN, tmp_path / "check", inventory=INVENTORY, extra_vars=confirmed, check=True))
    assert check.changed > 0 and kube.counters()["mutating_requests"] == 0

    ok(run_playbook(TEARDOWN, tmp_path / "run1", inventory=INVENTORY, extra_vars=confirmed))
    deleted = [(w.verb, w.kind, w.name) for w in kube.changes() if w.verb == "delete"]
    assert deleted == [("delete", "CronJob", "stalwart-s3-blob-backup"), ("delete", "StatefulSet", "stalwart"), ("delete", "Service", "stalwart"),
                       ("delete", "ConfigMap", "stalwart-config")]
    assert kube.get("Secret", "stalwart-dkim", "mail") is not None
    assert kube.get("Cluster.postgresql.cnpg.io", "stalwart-db", "mail") is not None
    assert sorted(p["metadata"]["name"] for p in kube.list("PersistentVolumeClaim", "mail")) == sorted(pvcs)
    assert kube.get("ConfigMap", "someone-elses", "mail") is not None
    assert {s["metadata"]["name"] for s in kube.list("Service", "mail")} >= set(owned)  # the operator's

    kube.reset_counters()
    assert ok(run_playbook(TEARDOWN, tmp_path / "run2", inventory=INVENTORY, extra_vars=confirmed)).changed == 0
    assert kube.counters()["mutating_requests"] == 0

    ok(run_playbook(TEARDOWN, tmp_path / "all", inventory=INVENTORY,
                    extra_vars={**confirmed, "openova_stalwart_teardown_delete_data": True}))
    assert kube.get("Namespace", "mail") is None
    assert kube.get("Cluster.postgresql.cnpg.io", "stalwart-db", "mail") is None


def test_teardown_render_keeps_secrets_unless_told(tmp_path):
    render = tmp_path / "render"
    for path in ("kubernetes/50-stalwart/000-statefulset-stalwart.yaml", "stalwart/config.json",
                 "dns/example.org.zone", "secrets/stalwart/mail-stalwart-dkim-0.yaml"):
        (render / path).parent.mkdir(parents=True, exist_ok=True)
        (render / path).write_text("x\n")
    confirmed = {"openova_stalwart_mode": "render", "openova_stalwart_render_dir": str(render),
                 "openova_stalwart_teardown_confirm": "mail"}
    refused = run_playbook(TEARDOWN, tmp_path / "refused", inventory=INVENTORY,
                           extra_vars={**confirmed, "openova_stalwart_teardown_confirm": ""})
    assert refused.rc != 0 and (render / "kubernetes").is_dir()
    ok(run_playbook(TEARDOWN, tmp_path / "run1", inventory=INVENTORY, extra_vars=confirmed))
    assert sorted(p.name for p in render.iterdir()) == ["secrets"]
    assert ok(run_playbook(TEARDOWN, tmp_path / "run2", inventory=INVENTORY, extra_vars=confirmed)).changed == 0
    ok(run_playbook(TEARDOWN, tmp_path / "all", inventory=INVENTORY,
                    extra_vars={**confirmed, "openova_stalwart_teardown_delete_data": True}))
    assert list(render.iterdir()) == []
