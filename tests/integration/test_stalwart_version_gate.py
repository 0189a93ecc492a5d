# -*- coding: utf-8 -*-
"""The stop-all upgrade of a rendered bundle: every Stalwart pod starts with the version-gate init container, which
deletes this instance's Stalwart pods of another version and waits until none is left. The script the StatefulSet
carries runs here as the kubelet would run it (sh, curl, the init container's environment) against the Kubernetes
API test server, with the permissions the rendered Role grants."""

from __future__ import annotations

import os
import pathlib
import subprocess
import urllib.parse

import pytest

from fakes.ansible import render_stalwart
from fakes.bundle import check_bundle

NAMESPACE = "mail"


def render(tmp: pathlib.Path, out: pathlib.Path, extra: dict | None = None):
    result = render_stalwart(tmp, out, extra)
    assert result.rc == 0, result.stdout[-5000:] + result.stderr[-2000:]
    return result


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, shared_dir):
    base = tmp_path_factory.mktemp("version-gate")
    render(base / "run", base / "render")
    docs = check_bundle(base / "render", shared_dir)["kubernetes"]
    return {(d["kind"], d["metadata"]["name"]): d for d in docs if d.get("kind") != "Kustomization"}


def gate(bundle) -> dict:
    return bundle[("StatefulSet", "stalwart")]["spec"]["template"]["spec"]["initContainers"][0]


def pod(name: str, instance: str = "stalwart", version: str = "v0.16.17", app: str = "stalwart") -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": NAMESPACE,
                         "labels": {"app.kubernetes.io/name": app, "app.kubernetes.io/instance": instance,
                                    "app.kubernetes.io/version": version}},
            "spec": {"containers": [{"name": "main", "image": f"example/{app}:{version}"}]}}


def seed(kube, *pods: dict) -> None:
    kube.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    for obj in pods:
        kube.seed(obj)


def run_gate(bundle, kube, tmp_path: pathlib.Path, token: str) -> subprocess.CompletedProcess:
    container = gate(bundle)
    assert container["command"][:2] == ["/bin/sh", "-c"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["KUBE_API"] == "https://kubernetes.default.svc"
    mount = container["volumeMounts"][0]["mountPath"]
    assert env["KUBE_TOKEN"] == f"{mount}/token" and env["KUBE_CA"] == f"{mount}/ca.crt"
    (tmp_path / "token").write_text(token)
    (tmp_path / "ca.crt").write_text("")
    env.update(KUBE_API=kube.url, KUBE_TOKEN=str(tmp_path / "token"), KUBE_CA=str(tmp_path / "ca.crt"),
               NAMESPACE=NAMESPACE, INTERVAL="0.1", PATH=os.environ["PATH"])
    return subprocess.run(container["command"], env=env, capture_output=True, text=True, timeout=60, check=False)


def names(kube) -> list[str]:
    return sorted(p["metadata"]["name"] for p in kube.list("Pod", NAMESPACE))


def test_the_pods_carry_the_gate_and_its_permissions(bundle):
    spec = bundle[("StatefulSet", "stalwart")]["spec"]["template"]["spec"]
    container = gate(bundle)
    assert container["image"] == spec["containers"][0]["image"]
    assert spec["serviceAccountName"] == "stalwart-version-gate" and spec["automountServiceAccountToken"] is False
    # Only the gate mounts the token; the Stalwart container does not.
    (volume,) = [v for v in spec["volumes"] if v["name"] == container["volumeMounts"][0]["name"]]
    assert volume["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"] == 600
    assert all(m["name"] != volume["name"] for c in spec["containers"] for m in c["volumeMounts"])
    selector = urllib.parse.unquote({e["name"]: e.get("value") for e in container["env"]}["OTHERS"])
    assert selector == "app.kubernetes.io/name=stalwart,app.kubernetes.io/instance=stalwart,app.kubernetes.io/version!=v0.16.18"
    assert bundle[("ServiceAccount", "stalwart-version-gate")]["automountServiceAccountToken"] is False
    assert bundle[("Role", "stalwart-version-gate")]["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "deletecollection"]}]
    binding = bundle[("RoleBinding", "stalwart-version-gate")]
    assert binding["roleRef"]["name"] == "stalwart-version-gate"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "stalwart-version-gate", "namespace": NAMESPACE}]
    egress = bundle[("NetworkPolicy", "stalwart")]["spec"]["egress"]
    assert {"port": 6443, "protocol": "TCP"} in [port for rule in egress for port in rule.get("ports", [])]


def test_the_gate_stops_every_pod_of_another_version(bundle, kube, tmp_path):
    seed(kube, pod("stalwart-0"), pod("stalwart-1"), pod("stalwart-2", version="v0.16.18"),
         pod("other-0", instance="other"), pod("stalwart-db-1", app="postgres"))
    kube.reset_counters()
    result = run_gate(bundle, kube, tmp_path, kube.token)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "stopping the Stalwart pods of another version" in result.stdout
    # The old Stalwart pods are gone; the new one, the other instance and other applications stay.
    assert names(kube) == ["other-0", "stalwart-2", "stalwart-db-1"]
    # It used nothing the Role does not grant.
    verbs = {w.verb for w in kube.changes()}
    assert verbs == {"deletecollection"}
    # Once no old pod runs, a pod starts at once and writes nothing.
    kube.reset_counters()
    again = run_gate(bundle, kube, tmp_path, kube.token)
    assert again.returncode == 0 and "no Stalwart pod of another version runs" in again.stdout
    assert kube.counters()["writes"] == 0


def test_the_gate_fails_without_valid_credentials(bundle, kube, tmp_path):
    seed(kube, pod("stalwart-0"))
    result = run_gate(bundle, kube, tmp_path, "not-the-token")
    assert result.returncode != 0
    assert names(kube) == ["stalwart-0"]


def test_apply_mode_and_turned_off_render_have_no_gate(tmp_path, shared_dir):
    out = tmp_path / "render"
    render(tmp_path / "run", out, {"stalwart_version_gate": False})
    docs = check_bundle(out, shared_dir)["kubernetes"]
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs if d.get("kind") != "Kustomization"}
    assert not {k for k in kinds if k[1] == "stalwart-version-gate"}
    sts = next(d for d in docs if d.get("kind") == "StatefulSet")
    assert "initContainers" not in sts["spec"]["template"]["spec"]
    assert "serviceAccountName" not in sts["spec"]["template"]["spec"]


def test_an_image_pinned_by_digest_keeps_a_valid_version_label(tmp_path, shared_dir):
    digest = "sha256:" + "0123456789abcdef" * 4
    out = tmp_path / "render"
    render(tmp_path / "run", out, {"stalwart_image": f"stalwartlabs/stalwart:v0.16.18@{digest}", "stalwart_replicas": 2,
                                   "stalwart_coordinator_image": f"nats@{digest}"})
    docs = {(d["kind"], d["metadata"]["name"]): d for d in check_bundle(out, shared_dir)["kubernetes"]
            if d.get("kind") != "Kustomization"}
    labels = docs[("StatefulSet", "stalwart")]["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/version"] == "v0.16.18"
    env = {e["name"]: e.get("value") for e in docs[("StatefulSet", "stalwart")]["spec"]["template"]["spec"]["initContainers"][0]["env"]}
    assert urllib.parse.unquote(env["OTHERS"]).endswith(",app.kubernetes.io/version!=v0.16.18")
    # A label value holds at most 63 characters: the digest alone gives its first 63.
    nats = docs[("Deployment", "stalwart-coordinator")]["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"]
    assert nats == ("0123456789abcdef" * 4)[:63]
