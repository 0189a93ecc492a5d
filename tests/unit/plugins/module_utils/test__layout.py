# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

import fnmatch
import os
import pathlib
import re

import pytest

from ansible_collections.openova.stalwart.plugins.filter.render_paths import render_paths as render_paths_filter
from ansible_collections.openova.stalwart.plugins.module_utils import _k8s_render, _layout

ROOT = pathlib.Path(__file__).resolve().parents[4]
NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mail"}}
STS = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "stalwart", "namespace": "mail"}}
SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "stalwart-dkim-0", "namespace": "mail"},
          "stringData": {"k": "v"}}


def test_relative_paths():
    assert _layout.namespace_file("mail") == "kubernetes/00-namespaces/mail.yaml"
    assert _layout.component_dir("cnpg", 5) == "kubernetes/05-cnpg"
    assert _layout.manifest_file("stalwart", 50, 14, "StatefulSet", "stalwart") == "kubernetes/50-stalwart/014-statefulset-stalwart.yaml"
    assert _layout.secret_file("stalwart", "mail", "stalwart-dkim-0") == "secrets/stalwart/mail-stalwart-dkim-0.yaml"
    assert _layout.kustomization("kubernetes") == "kubernetes/kustomization.yaml"
    assert _layout.kustomization("secrets") == "secrets/kustomization.yaml"
    with pytest.raises(ValueError, match="holds no manifests"):
        _layout.kustomization("dns")
    assert _layout.owned("stalwart", 50).match("secrets/stalwart/mail-x.yaml")
    assert _layout.owned("stalwart", 50).match("kubernetes/50-stalwart/000-service-x.yaml")
    assert not _layout.owned("stalwart", 50).match("kubernetes/40-stalwart/000-service-x.yaml")
    assert not _layout.owned("stalwart", 50).match("secrets/stalwart-backup/mail-x.yaml")
    assert _layout.component_dir_pattern("minio").match("45-minio")
    assert not _layout.component_dir_pattern("minio").match("45-minio-backup")


def test_render_paths_without_component():
    paths = _layout.render_paths("/srv/render")
    assert paths == {"root": "/srv/render", "kubernetes": "/srv/render/kubernetes", "secrets": "/srv/render/secrets",
                     "stalwart": "/srv/render/stalwart", "dns": "/srv/render/dns",
                     "legacy_dkim_keys": "/srv/render/secrets/dkim", "legacy_dkim_key_glob": "/srv/render/secrets/dkim/*.pem",
                     "legacy_dkim_rotation": "/srv/render/secrets/dkim-rotation.json"}
    # Apply mode has no render directory: the paths stay relative, nothing absolute is made up.
    assert _layout.render_paths("")["dns"] == "dns"


def test_render_paths_of_a_component(tmp_path):
    root = str(tmp_path / "re.nder")
    paths = _layout.render_paths(root, "stalwart", "mail", 50, ["stalwart-credentials", {"name": "other", "namespace": "db"}],
                                 [{"kind": "StatefulSet", "name": "stalwart"}])
    assert paths["component_secrets"] == f"{root}/secrets/stalwart"
    assert paths["secret_files"] == {"stalwart-credentials": f"{root}/secrets/stalwart/mail-stalwart-credentials.yaml",
                                     "other": f"{root}/secrets/stalwart/db-other.yaml"}
    assert paths["component_manifests"] == f"{root}/kubernetes/50-stalwart"
    # The paths point at what k8s_render writes.
    result = _k8s_render.sync(root, "stalwart", 50, [NS, STS, SECRET])
    written = [os.path.join(root, p) for p in result["files"]]
    assert [p for p in written if fnmatch.fnmatch(p, paths["manifest_globs"][0])] == [f"{root}/kubernetes/50-stalwart/001-statefulset-stalwart.yaml"]
    assert [p for p in written if fnmatch.fnmatch(p, paths["secret_glob"])] == [f"{root}/secrets/stalwart/mail-stalwart-dkim-0.yaml"]
    # The name comes back from the file name (the directory's dot is no wildcard), only for this namespace's files.
    assert re.sub(paths["secret_name_re"], r"\1", f"{root}/secrets/stalwart/mail-stalwart-dkim-0.yaml") == "stalwart-dkim-0"
    assert not re.match(paths["secret_name_re"], f"{root}/secrets/stalwart/db-other.yaml")
    assert not re.match(paths["secret_name_re"], f"{root.replace('.', 'x')}/secrets/stalwart/mail-a.yaml")


def test_filter():
    assert render_paths_filter("/r", component="dns")["secret_files"] == {}
    assert render_paths_filter("/r", "stalwart", "mail", "50", None, None)["component_manifests"] == "/r/kubernetes/50-stalwart"
    with pytest.raises(Exception, match="render_paths: expected the render directory as a string"):
        render_paths_filter(None)


# Path fragments of the layout: a role or plugin spelling one out derives a path the layout already gives.
_DERIVED = re.compile(r"""(['"]/?(kubernetes|secrets|stalwart|dns)/|/(kubernetes|secrets|stalwart|dns)['"]|\}\}/(kubernetes|secrets|stalwart|dns)\b"""
                      r"""|\[['"](kubernetes|secrets|stalwart|dns)['"],|[0-9]{2}-stalwart/|dkim-rotation\.json)""")


def test_no_role_derives_a_render_path():
    found = []
    # Code only: the modules' and filters' documentation may name the layout.
    for path in sorted((ROOT / "roles").glob("*/*/*.yml")) + sorted((ROOT / "plugins").glob("[ap][cl]*/*.py")) + sorted(
            (ROOT / "plugins" / "module_utils").glob("*.py")):
        if path.name in ("_layout.py", "render_paths.py"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0] if path.suffix == ".yml" else line
            # In-pod paths (/var/run/secrets/...) and documentation are not the render directory.
            if _DERIVED.search(code) and "/var/run/secrets" not in code and not code.lstrip().startswith(("description", "-", "C(")):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)
