# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Verify the bundle the converge rendered, through testinfra's host (molecule runs this with the Ansible backend:
the scenario's inventory puts localhost on the local connection, so nothing leaves the machine)."""

from __future__ import annotations

import base64
import binascii
import json
import os
import pathlib
import sys
import typing as t

import pytest
import yaml

# Shorter Secret values may appear elsewhere by chance: the example's S3 access key id is "stalwart", the name of
# most objects. Generated passwords and keys are longer.
MIN_SECRET_LENGTH = 12
# Keys of a Secret that name an account rather than hold a secret (basic-auth username, the metrics user).
NOT_SECRET_KEYS = ("username", "user")


@pytest.fixture(scope="module")
def render_dir(host: t.Any) -> str:
    """openova_stalwart_render_dir as Ansible templates it for the scenario's host."""
    result = host.ansible("ansible.builtin.debug", "var=openova_stalwart_render_dir", check=False)
    path = result["openova_stalwart_render_dir"]
    assert host.file(path).is_directory, f"{path}: no bundle rendered"
    return str(path)


@pytest.fixture(scope="module")
def entries(host: t.Any, render_dir: str) -> dict[str, tuple[str, int]]:
    """Every path under the render directory (relative) -> (type d/f/l, permission bits)."""
    out = host.check_output("find %s -mindepth 1 -printf '%%y %%m %%P\\n'", render_dir)
    listing = {}
    for line in out.splitlines():
        kind, mode, path = line.split(" ", 2)
        listing[path] = (kind, int(mode, 8))
    return listing


@pytest.fixture(scope="module")
def documents(host: t.Any, render_dir: str, entries: dict[str, tuple[str, int]]) -> dict[str, list[dict[str, t.Any]]]:
    """Each YAML file of kubernetes/ and secrets/ -> its documents."""
    docs = {}
    for path, (kind, _mode) in sorted(entries.items()):
        if kind == "f" and path.endswith(".yaml") and path.split("/")[0] in ("kubernetes", "secrets"):
            docs[path] = [d for d in yaml.safe_load_all(host.file(f"{render_dir}/{path}").content_string) if d]
    return docs


def _secret_values(documents: dict[str, list[dict[str, t.Any]]]) -> set[str]:
    values = set()
    for docs in documents.values():
        for doc in docs:
            if doc.get("kind") != "Secret":
                continue
            values.update(str(v) for k, v in (doc.get("stringData") or {}).items() if k.lower() not in NOT_SECRET_KEYS)
            for key, value in (doc.get("data") or {}).items():
                if key.lower() in NOT_SECRET_KEYS:
                    continue
                try:
                    values.add(base64.b64decode(value, validate=True).decode())
                except (binascii.Error, UnicodeDecodeError):
                    values.add(str(value))
    return {v for v in values if len(v) >= MIN_SECRET_LENGTH}


def test_the_bundle_has_its_four_parts(entries):
    for top in ("kubernetes", "secrets", "stalwart", "dns"):
        assert entries.get(top, ("",))[0] == "d", f"{top}/ is missing"
    assert entries.get("stalwart/config.json", ("",))[0] == "f"
    assert entries.get("stalwart/plan.ndjson", ("",))[0] == "f"
    assert {p for p in entries if p.startswith("dns/") and p.endswith(".zone")} >= {"dns/example.org.zone", "dns/example.net.zone"}


def test_modes(host, render_dir, entries):
    """secrets/ and below 0700 / 0600, everything else 0755 / 0644, as docs/development.md says."""
    wrong = []
    for path, (kind, mode) in entries.items():
        secret = path == "secrets" or path.startswith("secrets/")
        want = {("d", True): 0o700, ("f", True): 0o600, ("d", False): 0o755, ("f", False): 0o644}.get((kind, secret))
        if mode != want:
            wrong.append(f"{path}: {kind} {mode:04o}, want {want if want is None else format(want, '04o')}")
    assert not wrong, wrong
    assert host.file(render_dir).mode == 0o755


def test_secrets_only_under_secrets_with_mode_0600(host, render_dir, documents):
    secrets = [path for path, docs in documents.items() for doc in docs if doc.get("kind") == "Secret"]
    assert secrets, "the example renders Secrets"
    for path in secrets:
        assert path.startswith("secrets/"), f"{path}: a Secret outside secrets/"
        assert host.file(f"{render_dir}/{path}").mode == 0o600, path
    for path, docs in documents.items():
        if path.startswith("secrets/"):
            assert all(doc.get("kind") in ("Secret", "Kustomization") for doc in docs), f"{path}: not a Secret"


def test_no_secret_value_in_a_configmap_or_any_other_file(host, render_dir, entries, documents):
    values = _secret_values(documents)
    assert values, "the example's Secrets hold values"
    for path, docs in documents.items():
        for doc in docs:
            if doc.get("kind") == "ConfigMap":
                data = json.dumps([doc.get("data"), doc.get("binaryData")])
                assert not [v for v in values if v in data or json.dumps(v)[1:-1] in data], f"{path}: a secret value"
    leaks = []
    for path, (kind, _mode) in entries.items():
        if kind == "f" and not path.startswith("secrets/"):
            text = host.file(f"{render_dir}/{path}").content_string
            leaks += [path for v in values if v in text or json.dumps(v)[1:-1] in text]
    assert not leaks, f"secret values outside secrets/: {sorted(set(leaks))}"


def test_each_kustomization_lists_every_manifest_in_order(documents):
    for top in ("kubernetes", "secrets"):
        kustomization = documents[f"{top}/kustomization.yaml"][0]
        assert kustomization["kind"] == "Kustomization"
        present = sorted(p.removeprefix(f"{top}/") for p in documents if p.startswith(f"{top}/") and p != f"{top}/kustomization.yaml")
        assert kustomization["resources"] == present, top


def test_every_object_is_named_and_placed(documents):
    namespaces = {d["metadata"]["name"] for docs in documents.values() for d in docs if d.get("kind") == "Namespace"}
    assert "mail" in namespaces
    for path, docs in documents.items():
        if path.endswith("/kustomization.yaml"):
            continue
        assert len(docs) == 1, f"{path}: one object per file"
        doc = docs[0]
        assert doc.get("apiVersion") and doc.get("kind") and doc.get("metadata", {}).get("name"), path
        namespace = doc["metadata"].get("namespace")
        assert namespace is None or namespace in namespaces, f"{path}: namespace {namespace} is not in the bundle"


def test_stalwart_files_parse(host, render_dir):
    config = json.loads(host.file(f"{render_dir}/stalwart/config.json").content_string)
    assert isinstance(config, dict) and config
    lines = host.file(f"{render_dir}/stalwart/plan.ndjson").content_string.splitlines()
    assert lines and all(isinstance(json.loads(line), dict) for line in lines)


def test_manifests_against_the_upstream_schemas_and_restricted_pss(render_dir):
    """The schema and Pod Security checks the integration tests use (tests/fakes/bundle.py)."""
    project = pathlib.Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
    shared = project.parent / "shared"
    if not shared.is_dir():
        pytest.skip("../shared is not present")
    sys.path.insert(0, str(project / "tests"))
    from fakes import bundle  # pylint: disable=import-outside-toplevel

    docs = bundle.check_bundle(render_dir, shared)
    assert docs["kubernetes"] and docs["secrets"]
