# -*- coding: utf-8 -*-
"""No variable can inject objects: newline, `---`, `#`, quote and brace payloads in every string variable that
reaches a manifest leave the rendered bundle's set of objects and keys unchanged, or are refused. Nothing the
collection does not write (a Pod, an object in kube-system, a ClusterRoleBinding) ever reaches the render
directory. One site.yml render of the example per variable (about two seconds each)."""

from __future__ import annotations

import pathlib
import re

import pytest
import yaml

from fakes.ansible import REPO, run_playbook

SITE = REPO / "site.yml"
INVENTORY = REPO / "examples" / "inventory.yml"
# What used to add whole objects when a template wrote the value as text. Single braces only: Ansible itself
# templates `{{` in extra vars (its behaviour, not the collection's).
PAYLOAD = ("\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: pwn, namespace: kube-system}\n"
           "spec: {hostNetwork: true}\n# \"q\" 'q' {b} [c]: d")
# Variables of the example's roles (stalwart, cnpg) that reach a manifest as a string: value + PAYLOAD.
VARIABLES = {
    "stalwart_name": "stalwart", "stalwart_namespace": "mail", "stalwart_hostname": "mail.example.org",
    "stalwart_image": "stalwartlabs/stalwart:v0.16.18", "stalwart_image_pull_policy": "IfNotPresent",
    "stalwart_postgres_cluster": "stalwart-db", "stalwart_mail_service_type": "LoadBalancer",
    "stalwart_load_balancer_ip": "192.0.2.10", "stalwart_ingress_class_name": "nginx",
    "stalwart_tls_issuer_kind": "ClusterIssuer", "stalwart_tls_issuer_name": "letsencrypt",
    "stalwart_metrics_username": "metrics", "stalwart_admin_username": "admin",
    "stalwart_storage_class": "fast", "stalwart_s3_bucket": "stalwart", "stalwart_s3_region": "us-east-1",
    "stalwart_settings_job_image": "python:3.13-slim",
    "cnpg_cluster_name": "stalwart-db", "cnpg_image_name": "ghcr.io/cloudnative-pg/postgresql:17.5",
    "cnpg_storage_class": "fast", "cnpg_database": "stalwart", "cnpg_owner": "stalwart",
}


def _shape(render: pathlib.Path) -> tuple[set, set]:
    """(every object's apiVersion, kind, namespace, name; every object's key paths) of the bundle."""
    objects, keys = set(), set()

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                keys.add(f"{path}.{key}")
                walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for value in node:
                walk(value, f"{path}[]")

    for path in sorted(render.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc:
                continue
            meta = doc.get("metadata") or {}
            # The settings Job and its ConfigMap are named after their content, which a value may change.
            name = re.sub(r"-settings-[0-9a-f]{10}$", "-settings-(hash)", str(meta.get("name")))
            objects.add((doc.get("apiVersion"), doc.get("kind"), meta.get("namespace"), name))
            # Key paths by kind: the dashboard JSON and config.json are data, their keys are not the manifest's.
            walk({k: v for k, v in doc.items() if k not in ("data", "stringData")}, doc.get("kind"))
            for field in ("data", "stringData"):
                for key in doc.get(field) or {}:
                    keys.add(f"{doc.get('kind')}.{field}.{key}")
    return objects, keys


def _render(work: pathlib.Path, extra: dict):
    return run_playbook(SITE, work, inventory=INVENTORY,
                        extra_vars={"openova_stalwart_render_dir": str(work / "render"), **extra})


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    work = tmp_path_factory.mktemp("baseline")
    # The optional values set, so each string reaches its manifest field in the baseline too.
    run = _render(work, dict(VARIABLES))
    assert run.rc == 0, run.stdout[-3000:]
    objects, keys = _shape(work / "render")
    assert ("apps/v1", "StatefulSet", "mail", "stalwart") in objects and len(objects) > 10
    return objects, keys


@pytest.mark.parametrize("variable", sorted(VARIABLES))
def test_payload_cannot_add_objects_or_keys(baseline, tmp_path, variable):
    extra = dict(VARIABLES, **{variable: VARIABLES[variable] + PAYLOAD})
    run = _render(tmp_path, extra)
    render = tmp_path / "render"
    objects, keys = _shape(render) if render.exists() else (set(), set())
    # Never: an object the collection does not write, whether the run failed or not.
    assert not {o for o in objects if o[1] == "Pod" or o[2] == "kube-system" or o[3] == "pwn"}, objects
    if run.rc == 0:
        assert objects == baseline[0]
        assert keys == baseline[1], sorted(keys ^ baseline[1])
    else:
        assert objects <= baseline[0]
