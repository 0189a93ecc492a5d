# -*- coding: utf-8 -*-
"""openova.stalwart.k8s_manifests against the Kubernetes API test server: a field dropped from a manifest is
dropped from the cluster, a converged cluster gets no write (no PATCH at all), check mode writes nothing and
tells what would change, and the waits of each kind."""

from __future__ import annotations

import copy

LABELS = {"app.kubernetes.io/name": "web"}
NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mail"}}
DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "mail", "labels": LABELS, "annotations": {"example.org/note": "keep me?"}},
    "spec": {"replicas": 1, "selector": {"matchLabels": LABELS},
             "template": {"metadata": {"labels": LABELS}, "spec": {"containers": [{
                 "name": "web", "image": "nginx:1.27",
                 "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                 "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "1", "memory": "256Mi"}}}]}}},
}
SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "web", "namespace": "mail"},
          "stringData": {"password": "s3cret-Value-77", "old": "gone-soon-91"}}


def task(manifests, **options):
    return {"name": "Apply", "openova.stalwart.k8s_manifests": {
        "component": "stalwart", "namespaces": ["mail"], "manifests": manifests, **options}}


def run(playbook, kube, manifests, check=False, diff=False, **options):
    plays = [{"hosts": "localhost", "gather_facts": False,
              "module_defaults": {"openova.stalwart.k8s_manifests": {"kubeconfig": str(kube.kubeconfig)}},
              "tasks": [task(manifests, **options)]}]
    result = playbook(plays, check=check, diff=diff)
    assert result.rc == 0, result.stdout[-4000:]
    return result, result.task("Apply")


def writes(kube):
    return [(w.verb, w.kind, w.name) for w in kube.log if not w.dry_run and w.verb != "get"]


def test_removed_fields_are_removed_from_the_cluster(kube, playbook):
    first, result = run(playbook, kube, [NAMESPACE, DEPLOYMENT, SECRET], waits=[
        {"api_version": "apps/v1", "kind": "Deployment", "name": "web", "namespace": "mail", "timeout": 20}])
    assert result["changed"] and result["created"] == ["Namespace /mail", "Deployment mail/web", "Secret mail/web"]
    assert "s3cret-Value-77" not in first.stdout

    trimmed = copy.deepcopy(DEPLOYMENT)
    del trimmed["metadata"]["annotations"]
    container = trimmed["spec"]["template"]["spec"]["containers"][0]
    del container["resources"]["limits"]["cpu"]
    container["env"] = [{"name": "A", "value": "1"}]
    secret = dict(SECRET, stringData={"password": "s3cret-Value-77"})
    kube.reset_counters()
    result = run(playbook, kube, [NAMESPACE, trimmed, secret])[1]
    assert result["changed"] and result["applied"] == ["Deployment mail/web", "Secret mail/web"]
    assert [(w.verb, w.kind) for w in kube.changes()
            if w.kind not in ("Pod", "ReplicaSet")] == [("apply", "Deployment"), ("apply", "Secret")]
    live = kube.get("Deployment", "web", "mail")
    assert "annotations" not in live["metadata"] or "example.org/note" not in live["metadata"]["annotations"]
    live_container = live["spec"]["template"]["spec"]["containers"][0]
    assert live_container["resources"] == {"requests": {"cpu": "100m"}, "limits": {"memory": "256Mi"}}
    assert live_container["env"] == [{"name": "A", "value": "1"}]
    assert sorted(kube.get("Secret", "web", "mail")["data"]) == ["password"]

    # Converged: reads only, not one PATCH (not even a dry run).
    kube.reset_counters()
    again, result = run(playbook, kube, [NAMESPACE, trimmed, secret])
    assert not result["changed"] and result["unchanged"] == 3 and again.changed == 0
    assert kube.counters()["mutating_requests"] == 0 and kube.counters()["dry_run_requests"] == 0


def test_a_field_changed_by_someone_else_is_taken_back(kube, playbook):
    run(playbook, kube, [NAMESPACE, DEPLOYMENT])
    # kubectl scale / edit: a merge patch by another manager.
    kube.handle("PATCH", f"{kube.prefix}/apis/apps/v1/namespaces/mail/deployments/web?fieldManager=kubectl-edit",
                {"Authorization": f"Bearer {kube.token}", "Content-Type": "application/merge-patch+json"},
                b'{"spec": {"replicas": 3}, "metadata": {"labels": {"team": "ops"}}}')
    kube.reset_counters()
    result = run(playbook, kube, [NAMESPACE, DEPLOYMENT])[1]
    assert result["applied"] == ["Deployment mail/web"]
    live = kube.get("Deployment", "web", "mail")
    assert live["spec"]["replicas"] == 1 and live["metadata"]["labels"]["team"] == "ops"  # theirs stays


def test_check_mode_writes_nothing_and_tells_what_would_change(kube_factory, playbook):
    kube = kube_factory(crd_dir=None)
    cert = {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "web", "namespace": "mail"},
            "spec": {"secretName": "web-tls", "dnsNames": ["mail.example.org"], "issuerRef": {"name": "ca"}}}
    # Nothing there yet: the Namespace and the Certificate kind do not exist, so nothing can be dry-run but the
    # Namespace itself.
    result = run(playbook, kube, [NAMESPACE, DEPLOYMENT, cert], check=True, diff=True)[1]
    assert result["changed"] and result["would_create"] == ["Deployment mail/web", "Certificate mail/web"]
    assert result["applied"] == ["Namespace /mail"]
    assert kube.counters()["writes"] == 0 and kube.counters()["mutating_requests"] == 0
    assert kube.get("Namespace", "mail") is None

    run(playbook, kube, [NAMESPACE, DEPLOYMENT])
    trimmed = copy.deepcopy(DEPLOYMENT)
    del trimmed["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"]
    kube.reset_counters()
    check, result = run(playbook, kube, [NAMESPACE, trimmed, SECRET], check=True, diff=True)
    assert result["changed"] and result["applied"] == ["Deployment mail/web", "Secret mail/web"]
    assert kube.counters()["writes"] == 0 and kube.counters()["dry_run_requests"] == 2
    assert kube.get("Deployment", "web", "mail")["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] == "1"
    before, after = result["diff"][0]["before"], result["diff"][0]["after"]
    assert before["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] == {"cpu": "1", "memory": "256Mi"}
    assert after["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] == {"memory": "256Mi"}
    assert "s3cret-Value-77" not in check.stdout and result["diff"][1]["after"]["data"]["password"].startswith("<hidden")


def test_waits_per_kind_and_their_timeout(kube_factory, playbook):
    kube = kube_factory(controllers={"Job.batch": False})
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once", "namespace": "mail"},
           "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}
    plays = [{"hosts": "localhost", "gather_facts": False, "tasks": [dict(task(
        [NAMESPACE, DEPLOYMENT, job], kubeconfig=str(kube.kubeconfig), wait_kinds=["Deployment", "Job"],
        wait_timeout=2), ignore_errors=True)]}]
    result = playbook(plays).task("Apply")
    assert result["failed"] and result["msg"] == "Not reached within 2 s: Job mail/once ready (no status yet: is its controller running?)", result["msg"]


def test_objects_not_the_components_are_refused_before_any_request(kube, playbook):
    text = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: mail}\n"
    cases = {"pod": [text + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: mail}\n"],
             "namespace": [text.replace("mail", "kube-system")], "text": ["plain text"], "list": [["a list"]]}
    tasks = [dict(task(manifests, kubeconfig=str(kube.kubeconfig)), name=name, ignore_errors=True)
             for name, manifests in cases.items()]
    result = playbook([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}])
    messages = {name: result.task(name)["msg"] for name in cases}
    assert messages["pod"].startswith("manifests[1]: Pod mail/p: v1 Pod is not an object stalwart writes"), messages
    assert "namespace 'kube-system' is not one stalwart owns" in messages["namespace"]
    assert messages["text"] == "manifests[0]: document 1 is a str, not a mapping"
    assert messages["list"].startswith("manifests[0]: expected a Kubernetes object")
    assert kube.counters()["requests"] == 0


def test_the_stalwart_role_at_100_domains_removes_a_dropped_limit_then_writes_nothing(tmp_path, kube, jmap_server):
    """Through the role: a memory limit dropped from stalwart_resources leaves the cluster (the subset check of
    earlier releases never applied it), and a second converge of 100 domains sends no PATCH at all."""
    from test_stalwart_role_apply import converge, ok, seed_admin  # pylint: disable=import-outside-toplevel

    seed_admin(kube)
    domains = {"stalwart_domains": [{"name": f"d{i}.example.org"} for i in range(100)]}
    ok(converge(tmp_path / "run1", kube, jmap_server, domains))
    container = kube.get("StatefulSet", "stalwart", "mail")["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"] == {"memory": "2Gi"}

    no_limit = {**domains, "stalwart_resources": {"requests": {"cpu": "250m", "memory": "512Mi"}}}
    kube.reset_counters()
    ok(converge(tmp_path / "run2", kube, jmap_server, no_limit))
    assert [(w.verb, w.kind, w.name) for w in kube.changes() if w.kind != "Pod"] == [("apply", "StatefulSet", "stalwart")]
    container = kube.get("StatefulSet", "stalwart", "mail")["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {"requests": {"cpu": "250m", "memory": "512Mi"}}

    kube.reset_counters()
    again = ok(converge(tmp_path / "run3", kube, jmap_server, no_limit))
    assert again.changed == 0
    counters = kube.counters()
    assert counters["writes"] == 0 and counters["mutating_requests"] == 0 and counters["dry_run_requests"] == 0, counters
    applies = again.task_results("openova.stalwart._k8s : Server-side apply what would change, then wait")
    assert applies and all(not r["applied"] for r in applies) and sum(r["unchanged"] for r in applies) >= 20


def test_module_defaults_group_sets_the_kubeconfig_once(kube, playbook, tmp_path):
    """group/openova.stalwart.k8s covers k8s_manifests and kubernetes.core's k8s modules: no task names the
    kubeconfig, and the client's own default points nowhere."""
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web", "namespace": "mail"},
                  "data": {"greeting": "hello"}}
    plays = [{"hosts": "localhost", "gather_facts": False,
              "module_defaults": {"group/openova.stalwart.k8s": {"kubeconfig": str(kube.kubeconfig)}},
              "tasks": [task([NAMESPACE, config_map], wait=False),
                        {"name": "Read", "kubernetes.core.k8s_info": {"kind": "ConfigMap", "name": "web",
                                                                      "namespace": "mail"}, "register": "read"}]}]
    result = playbook(plays, env={"KUBECONFIG": str(tmp_path / "absent"), "K8S_AUTH_KUBECONFIG": ""})
    assert result.rc == 0, result.stdout[-4000:]
    assert result.task("Apply")["created"] == ["Namespace /mail", "ConfigMap mail/web"]
    assert [r["data"] for r in result.task("Read")["resources"]] == [{"greeting": "hello"}]
    # Without the group default, the same play finds no cluster.
    plays[0].pop("module_defaults")
    failed = playbook(plays, env={"KUBECONFIG": str(tmp_path / "absent"), "K8S_AUTH_KUBECONFIG": ""})
    assert failed.rc != 0 and failed.task("Apply")["failed"]
