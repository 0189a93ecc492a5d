# -*- coding: utf-8 -*-
from __future__ import annotations

import os

import pytest

from ansible_collections.openova.stalwart.plugins.module_utils import _k8s_render

NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mail"}}
CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "mail"},
      "data": {"config.json": "{\n  \"a\": 1\n}"}}
SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": "mail"},
          "stringData": {"password": "s3cr3t-value"}}


def read(root, path):
    with open(os.path.join(root, path), encoding="utf-8") as handle:
        return handle.read()


def test_layout_modes_and_kustomizations(tmp_path):
    root = str(tmp_path)
    result = _k8s_render.sync(root, "app", 20, [NS, SECRET, CM])
    assert result["changed"]
    assert result["files"] == ["kubernetes/00-namespaces/mail.yaml", "kubernetes/20-app/002-configmap-cfg.yaml",
                               "secrets/app/mail-creds.yaml"]
    assert "s3cr3t-value" in read(root, "secrets/app/mail-creds.yaml")
    assert oct(os.stat(tmp_path / "secrets/app/mail-creds.yaml").st_mode & 0o777) == "0o600"
    assert oct(os.stat(tmp_path / "secrets").st_mode & 0o777) == "0o700"
    kustomization = read(root, "kubernetes/kustomization.yaml")
    assert "\n- 00-namespaces/mail.yaml\n- 20-app/002-configmap-cfg.yaml\n" in kustomization
    assert "\n- app/mail-creds.yaml\n" in read(root, "secrets/kustomization.yaml")
    assert "config.json: |-\n    {\n      \"a\": 1\n    }\n" in read(root, "kubernetes/20-app/002-configmap-cfg.yaml")
    # the secret diff hides values
    assert all("s3cr3t" not in d["after"] for d in result["diff"])


def test_second_run_changes_nothing(tmp_path):
    _k8s_render.sync(str(tmp_path), "app", 20, [NS, CM])
    again = _k8s_render.sync(str(tmp_path), "app", 20, [NS, CM])
    assert not again["changed"] and again["written"] == [] and again["removed"] == []


def test_other_components_are_kept_and_listed(tmp_path):
    _k8s_render.sync(str(tmp_path), "db", 10, [dict(CM, metadata={"name": "db", "namespace": "mail"})])
    _k8s_render.sync(str(tmp_path), "app", 20, [CM])
    listed = read(str(tmp_path), "kubernetes/kustomization.yaml")
    assert listed.index("10-db/000-configmap-db.yaml") < listed.index("20-app/000-configmap-cfg.yaml")


def test_stale_files_and_old_order_are_pruned(tmp_path):
    root = str(tmp_path)
    _k8s_render.sync(root, "app", 20, [CM, SECRET, dict(CM, metadata={"name": "old", "namespace": "mail"})])
    result = _k8s_render.sync(root, "app", 30, [CM])
    assert "kubernetes/20-app" in result["removed"] and "secrets/app/mail-creds.yaml" in result["removed"]
    assert not (tmp_path / "kubernetes/20-app").exists()
    assert (tmp_path / "kubernetes/30-app/000-configmap-cfg.yaml").exists()
    assert "20-app" not in read(root, "kubernetes/kustomization.yaml")


def test_check_mode_writes_nothing(tmp_path):
    result = _k8s_render.sync(str(tmp_path), "app", 20, [CM], check_mode=True)
    assert result["changed"] and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("args", "message"), [
    (("Bad_Name", 20, []), "component"),
    (("app", 0, []), "order"),
    (("app", 20, [{"kind": "ConfigMap", "metadata": {"name": "x"}}]), r"manifests\[0\]: apiVersion"),
    (("app", 20, [dict(CM, metadata={"name": "Upper"})]), r"manifests\[0\]: metadata.name"),
    (("app", 20, [NS, dict(NS, metadata={"name": "mail", "labels": {"a": "b"}})]), "given twice"),
])
def test_bad_input_names_the_option(tmp_path, args, message):
    with pytest.raises(ValueError, match=message):
        _k8s_render.sync(str(tmp_path), *args)
    assert list(tmp_path.iterdir()) == []


def test_relative_path_is_refused():
    with pytest.raises(ValueError, match="path"):
        _k8s_render.sync("render", "app", 20, [])


def test_secret_values_are_the_only_no_log_values():
    data_secret = {"kind": "Secret", "metadata": {"name": "b"}, "data": {"k": "czNjcjN0", "empty": ""}}
    assert _k8s_render.secret_values([NS, CM, SECRET, data_secret]) == {"s3cr3t-value", "czNjcjN0"}
    assert _k8s_render.secret_values("not a list") == set()


def test_multi_line_strings_are_literal_blocks():
    text = _k8s_render.dump(CM)
    assert "data:\n  config.json: |-\n    {\n      \"a\": 1\n    }\n" in text


def test_dump_writes_a_shared_object_twice_never_as_an_alias():
    http = {"paths": [{"path": "/", "pathType": "Prefix"}]}
    text = _k8s_render.dump({"rules": [{"host": "a.test", "http": http}, {"host": "b.test", "http": http}]})
    assert "&" not in text and "*" not in text
    assert text.count("pathType: Prefix") == 2


def test_yaml_text_items_render_as_their_objects(tmp_path):
    text = "# rendered template\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: &m\n  name: cfg\n  namespace: mail\n" \
           "data:\n  config.json: |-\n    {\n      \"a\": 1\n    }\n---\n"
    as_objects = _k8s_render.sync(str(tmp_path / "a"), "app", 20, [NS, SECRET, CM])
    as_text = _k8s_render.sync(str(tmp_path / "b"), "app", 20, [NS, SECRET, text])
    assert as_text["files"] == as_objects["files"]
    for path in as_objects["files"]:
        assert read(tmp_path / "b", path) == read(tmp_path / "a", path)
    assert _k8s_render.objects([text + "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n", NS]) == [
        dict(CM), {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}, NS]
    objects = [NS, CM]
    assert _k8s_render.objects(objects) is objects  # nothing to parse: the same list


@pytest.mark.parametrize("text, message", [
    ("kind: Secret\nstringData:\n  password: s3cr3t-value\n bad: [", r"^manifests\[1\] does not render to valid YAML at line 4, column"),
    ("# nothing\n", r"^manifests\[1\]: YAML text with no document$"),
])
def test_bad_yaml_text_names_the_item_not_its_content(text, message):
    with pytest.raises(ValueError, match=message) as caught:
        _k8s_render.objects([NS, text])
    assert "s3cr3t" not in str(caught.value)
    with pytest.raises(ValueError, match=r"^manifests\[1\]: expected a Kubernetes object"):
        _k8s_render.check("app", 20, [NS, ["a list"]])
