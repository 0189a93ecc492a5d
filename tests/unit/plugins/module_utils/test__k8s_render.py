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
    result = _k8s_render.sync(root, "stalwart", 20, [NS, SECRET, CM])
    assert result["changed"]
    assert result["files"] == ["kubernetes/00-namespaces/mail.yaml", "kubernetes/20-stalwart/002-configmap-cfg.yaml",
                               "secrets/stalwart/mail-creds.yaml"]
    assert "s3cr3t-value" in read(root, "secrets/stalwart/mail-creds.yaml")
    assert oct(os.stat(tmp_path / "secrets/stalwart/mail-creds.yaml").st_mode & 0o777) == "0o600"
    assert oct(os.stat(tmp_path / "secrets").st_mode & 0o777) == "0o700"
    kustomization = read(root, "kubernetes/kustomization.yaml")
    assert "\n- 00-namespaces/mail.yaml\n- 20-stalwart/002-configmap-cfg.yaml\n" in kustomization
    assert "\n- stalwart/mail-creds.yaml\n" in read(root, "secrets/kustomization.yaml")
    assert "config.json: |-\n    {\n      \"a\": 1\n    }\n" in read(root, "kubernetes/20-stalwart/002-configmap-cfg.yaml")
    # the secret diff hides values
    assert all("s3cr3t" not in d["after"] for d in result["diff"])


def test_second_run_changes_nothing(tmp_path):
    _k8s_render.sync(str(tmp_path), "stalwart", 20, [NS, CM])
    again = _k8s_render.sync(str(tmp_path), "stalwart", 20, [NS, CM])
    assert not again["changed"] and again["written"] == [] and again["removed"] == []


def test_other_components_are_kept_and_listed(tmp_path):
    _k8s_render.sync(str(tmp_path), "cnpg", 10, [dict(CM, metadata={"name": "db", "namespace": "mail"})])
    _k8s_render.sync(str(tmp_path), "stalwart", 20, [CM])
    listed = read(str(tmp_path), "kubernetes/kustomization.yaml")
    assert listed.index("10-cnpg/000-configmap-db.yaml") < listed.index("20-stalwart/000-configmap-cfg.yaml")


def test_stale_files_and_old_order_are_pruned(tmp_path):
    root = str(tmp_path)
    _k8s_render.sync(root, "stalwart", 20, [CM, SECRET, dict(CM, metadata={"name": "old", "namespace": "mail"})])
    result = _k8s_render.sync(root, "stalwart", 30, [CM])
    assert "kubernetes/20-stalwart" in result["removed"] and "secrets/stalwart/mail-creds.yaml" in result["removed"]
    assert not (tmp_path / "kubernetes/20-stalwart").exists()
    assert (tmp_path / "kubernetes/30-stalwart/000-configmap-cfg.yaml").exists()
    assert "20-stalwart" not in read(root, "kubernetes/kustomization.yaml")


def test_check_mode_writes_nothing(tmp_path):
    result = _k8s_render.sync(str(tmp_path), "stalwart", 20, [CM], check_mode=True)
    assert result["changed"] and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("args", "message"), [
    (("Bad_Name", 20, []), "component"),
    (("stalwart", 0, []), "order"),
    (("stalwart", 20, [{"kind": "ConfigMap", "metadata": {"name": "x"}}]), r"manifests\[0\]: apiVersion"),
    (("stalwart", 20, [dict(CM, metadata={"name": "Upper"})]), r"manifests\[0\]: metadata.name"),
    (("stalwart", 20, [NS, dict(NS, metadata={"name": "mail", "labels": {"a": "b"}})]), "given twice"),
])
def test_bad_input_names_the_option(tmp_path, args, message):
    with pytest.raises(ValueError, match=message):
        _k8s_render.sync(str(tmp_path), *args)
    assert list(tmp_path.iterdir()) == []


def test_relative_path_is_refused():
    with pytest.raises(ValueError, match="path"):
        _k8s_render.sync("render", "stalwart", 20, [])


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
    as_objects = _k8s_render.sync(str(tmp_path / "a"), "stalwart", 20, [NS, SECRET, CM])
    as_text = _k8s_render.sync(str(tmp_path / "b"), "stalwart", 20, [NS, SECRET, text])
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
        _k8s_render.check("stalwart", 20, [NS, ["a list"]])


# The objects an injected newline used to add to a template's text: each is refused before a file is written.
@pytest.mark.parametrize(("component", "manifest", "message"), [
    ("stalwart", {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                  "metadata": {"name": "pwn"}}, r"ClusterRoleBinding is not an object stalwart writes"),
    ("stalwart", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", "namespace": "mail"}},
     r"^manifests\[2\]: Pod mail/x: v1 Pod is not an object stalwart writes"),
    ("cnpg", {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "x", "namespace": "mail"}},
     "not an object cnpg writes"),
    ("dns", dict(CM), "not an object dns writes"),
    ("stalwart", dict(SECRET, metadata={"name": "planted", "namespace": "kube-system"}),
     r"namespace 'kube-system' is not one stalwart owns \(mail\)"),
    ("stalwart", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}},
     "namespace 'kube-system' is not one"),
    ("stalwart", dict(CM, metadata={"name": "no-namespace"}), "namespace None is not one"),
    ("app", dict(CM), "'app' is not a component of the collection"),
])
def test_objects_outside_the_allow_list_are_refused(tmp_path, component, manifest, message):
    with pytest.raises(ValueError, match=message):
        _k8s_render.sync(str(tmp_path), component, 20, [NS, CM, manifest], namespaces=["mail"])
    assert list(tmp_path.iterdir()) == []


def test_allow_list_without_namespaces_checks_kinds_only_and_operators_any_namespace(tmp_path):
    other = dict(CM, metadata={"name": "cfg", "namespace": "elsewhere"})
    assert _k8s_render.sync(str(tmp_path / "a"), "stalwart", 20, [NS, other])["changed"]
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "op"}}
    assert _k8s_render.sync(str(tmp_path / "b"), "cnpg-operator", 10, [role, other], namespaces=["mail"])["changed"]


def test_every_component_of_the_roles_has_an_allow_list():
    # The components roles/*/tasks hand to _k8s: a new one must be added to ALLOWED_KINDS.
    import glob
    import re
    root = os.path.join(os.path.dirname(_k8s_render.__file__), "..", "..")
    used = set()
    for path in glob.glob(os.path.join(root, "roles", "*", "tasks", "*.yml")):
        with open(path, encoding="utf-8") as handle:
            used.update(re.findall(r"_k8s_component: ([a-z0-9-]+)", handle.read()))
    assert used and used <= set(_k8s_render.ALLOWED_KINDS)
