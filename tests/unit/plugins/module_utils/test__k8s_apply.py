# -*- coding: utf-8 -*-
from __future__ import annotations

import copy

from ansible_collections.openova.stalwart.plugins.module_utils import _k8s_apply

M = "openova.stalwart"

# A Deployment as a real API server stores it after an apply by M: defaults added, containers and env as
# associative lists (k:{"name":...}), fieldsV1 as the server writes it.
DESIRED = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "mail", "labels": {"app": "web"}, "annotations": {"note": "x"}},
    "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "web", "image": "nginx:1",
                                                   "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                                                   "resources": {"limits": {"cpu": "1000m", "memory": "1Gi"}},
                                                   "ports": [{"containerPort": 80}]}],
                                   "volumes": [{"name": "tmp", "emptyDir": {}}]}}},
}
FIELDS = {
    "f:metadata": {"f:labels": {"f:app": {}}, "f:annotations": {"f:note": {}}},
    "f:spec": {
        "f:replicas": {}, "f:selector": {"f:matchLabels": {"f:app": {}}},
        "f:template": {"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {
            "f:containers": {'k:{"name":"web"}': {
                ".": {}, "f:name": {}, "f:image": {},
                "f:env": {'k:{"name":"A"}': {".": {}, "f:name": {}, "f:value": {}},
                          'k:{"name":"B"}': {".": {}, "f:name": {}, "f:value": {}}},
                "f:resources": {"f:limits": {"f:cpu": {}, "f:memory": {}}},
                "f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}}}},
            "f:volumes": {'k:{"name":"tmp"}': {".": {}, "f:name": {}, "f:emptyDir": {}}}}}},
}


def live_of(desired, fields, manager=M, **changes):
    live = copy.deepcopy(desired)
    live["metadata"].update(uid="u1", resourceVersion="9", generation=1, managedFields=[
        {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "apps/v1", "subresource": "status",
         "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {"f:replicas": {}}}, "time": "2026-01-01T00:00:00Z"},
        {"manager": manager, "operation": "Apply", "apiVersion": "apps/v1", "fieldsType": "FieldsV1",
         "fieldsV1": fields, "time": "2026-01-01T00:00:00Z"}])
    container = live["spec"]["template"]["spec"]["containers"][0]
    container.update(imagePullPolicy="IfNotPresent", terminationMessagePath="/dev/termination-log")
    container["resources"]["limits"]["cpu"] = "1"  # the server's canonical quantity
    container["ports"][0]["protocol"] = "TCP"
    live["spec"].update(strategy={"type": "RollingUpdate"}, revisionHistoryLimit=10)
    live["status"] = {"replicas": 2}
    for path, value in changes.items():
        node = live
        *parents, last = path.split(".")
        for step in parents:
            node = node[int(step)] if isinstance(node, list) else node[step]
        node[last] = value
    return live


def test_a_converged_object_needs_no_request():
    assert _k8s_apply.unchanged(DESIRED, live_of(DESIRED, FIELDS), M)


def test_missing_unowned_or_other_version_means_ask_the_server():
    assert not _k8s_apply.unchanged(DESIRED, None, M)
    assert not _k8s_apply.unchanged(DESIRED, live_of(DESIRED, FIELDS, manager="kubectl"), M)
    assert not _k8s_apply.unchanged(dict(DESIRED, apiVersion="apps/v1beta2"), live_of(DESIRED, FIELDS), M)


def test_a_changed_value_is_a_change():
    live = live_of(DESIRED, FIELDS, **{"spec.replicas": 0})  # scaled by someone else
    assert not _k8s_apply.unchanged(DESIRED, live, M)
    live = live_of(DESIRED, FIELDS)
    live["spec"]["template"]["spec"]["containers"][0]["env"][1]["value"] = "edited"
    assert not _k8s_apply.unchanged(DESIRED, live, M)


def test_removed_fields_are_changes():
    """A field our manager owns and the manifest no longer sends: the apply removes it, so it is a change."""
    live = live_of(DESIRED, FIELDS)
    no_annotation = copy.deepcopy(DESIRED)
    del no_annotation["metadata"]["annotations"]
    assert not _k8s_apply.unchanged(no_annotation, live, M)
    no_limit = copy.deepcopy(DESIRED)
    del no_limit["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"]
    assert not _k8s_apply.unchanged(no_limit, live, M)
    no_env = copy.deepcopy(DESIRED)
    no_env["spec"]["template"]["spec"]["containers"][0]["env"].pop()
    assert not _k8s_apply.unchanged(no_env, live, M)


def test_added_fields_are_changes():
    more = copy.deepcopy(DESIRED)
    more["metadata"]["labels"]["tier"] = "front"
    assert not _k8s_apply.unchanged(more, live_of(DESIRED, FIELDS), M)


def test_atomic_lists_and_maps_as_the_test_server_owns_them():
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"},
          "data": {"a": "1"}, "immutable": False}
    fields = {"f:data": {"f:a": {}}, "f:immutable": {}}
    live = live_of_plain(cm, fields)
    assert _k8s_apply.unchanged(cm, live, M)
    assert not _k8s_apply.unchanged(dict(cm, data={"a": "1", "b": "2"}), live, M)
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "n"},
           "spec": {"ports": [{"port": 25, "name": "smtp"}]}}
    live = live_of_plain(svc, {"f:spec": {"f:ports": {}}})
    assert _k8s_apply.unchanged(svc, live, M)
    # Atomic: a field the server defaulted inside an item is no change; a value we send that differs is one.
    live["spec"]["ports"][0]["nodePort"] = 30001
    assert _k8s_apply.unchanged(svc, live, M)
    live["spec"]["ports"][0]["port"] = 26
    assert not _k8s_apply.unchanged(svc, live, M)


def test_a_field_dropped_inside_an_atomic_list_changes_the_digest():
    """What the server defaulted and what we dropped look alike inside an atomic list: the digest tells them apart."""
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s", "namespace": "n"},
           "spec": {"volumeClaimTemplates": [{"metadata": {"name": "data"},
                                              "spec": {"storageClassName": "fast", "accessModes": ["ReadWriteOnce"]}}]}}
    prepared = _k8s_apply.prepare(sts)
    fields = {"f:metadata": {"f:annotations": {f"f:{_k8s_apply.APPLIED}": {}}}, "f:spec": {"f:volumeClaimTemplates": {}}}
    live = live_of_plain(prepared, fields)
    live["spec"]["volumeClaimTemplates"][0]["spec"]["volumeMode"] = "Filesystem"  # a server default
    assert _k8s_apply.unchanged(prepared, live, M)
    dropped = copy.deepcopy(sts)
    del dropped["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"]
    assert not _k8s_apply.unchanged(_k8s_apply.prepare(dropped), live, M)
    assert _k8s_apply.prepare(sts) == prepared  # the digest is stable
    assert prepared["metadata"]["annotations"][_k8s_apply.APPLIED] == _k8s_apply.digest(sts)
    assert "annotations" not in sts["metadata"]  # the manifest itself is left alone


def live_of_plain(obj, fields):
    live = copy.deepcopy(obj)
    live["metadata"]["managedFields"] = [{"manager": M, "operation": "Apply", "apiVersion": obj["apiVersion"],
                                          "fieldsType": "FieldsV1", "fieldsV1": fields}]
    return live


def test_sets_and_empty_maps():
    obj = {"apiVersion": "v1", "kind": "X", "metadata": {"name": "x"}, "spec": {"finalizers": ["a", "b"], "e": {}}}
    live = live_of_plain(obj, {"f:spec": {"f:finalizers": {'v:"a"': {}, 'v:"b"': {}}, "f:e": {}}})
    assert _k8s_apply.unchanged(obj, live, M)
    assert not _k8s_apply.unchanged({**obj, "spec": {"finalizers": ["a"], "e": {}}}, live, M)


def test_secret_string_data_is_applied_as_data():
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "n"},
              "stringData": {"k": "v"}, "data": {"b": "Yg=="}}
    prepared = _k8s_apply.prepare(secret)
    assert prepared["data"] == {"b": "Yg==", "k": "dg=="} and "stringData" not in prepared
    live = live_of_plain(prepared, {"f:data": {"f:b": {}, "f:k": {}},
                                    "f:metadata": {"f:annotations": {f"f:{_k8s_apply.APPLIED}": {}}}})
    assert _k8s_apply.unchanged(prepared, live, M)
    fewer = _k8s_apply.prepare({**secret, "data": {}})
    assert not _k8s_apply.unchanged(fewer, live, M)  # key b dropped: the apply removes it


def test_quantities_compare_as_numbers():
    assert _k8s_apply.same_value("1000m", "1") and _k8s_apply.same_value("1Gi", "1024Mi")
    assert _k8s_apply.same_value("0.5", "500m") and not _k8s_apply.same_value("1", "2")
    assert not _k8s_apply.same_value("web", "Web") and not _k8s_apply.same_value(True, 1)
    assert _k8s_apply.same_value(1, 1.0)


def test_same_object_ignores_resource_version_and_timestamps_only():
    live = live_of(DESIRED, FIELDS)
    after = copy.deepcopy(live)
    after["metadata"]["resourceVersion"] = "10"
    for entry in after["metadata"]["managedFields"]:
        entry["time"] = "2026-02-02T00:00:00Z"
    assert _k8s_apply.same_object(live, after)
    after["metadata"]["managedFields"][1]["fieldsV1"] = {}  # ownership changed
    assert not _k8s_apply.same_object(live, after)
    assert not _k8s_apply.same_object(None, after)


def test_diff_hides_secret_values():
    before = {"kind": "Secret", "metadata": {"name": "s", "managedFields": [1]}, "data": {"a": "MQ==", "b": "Mg=="}}
    after = {"kind": "Secret", "metadata": {"name": "s"}, "data": {"a": "MQ==", "b": "Mw==", "c": "NA=="}}
    old, new = _k8s_apply.diff_pair(before, after)
    assert old == {"kind": "Secret", "metadata": {"name": "s"}, "data": {"a": "<hidden>", "b": "<hidden, before>"}}
    assert new["data"] == {"a": "<hidden>", "b": "<hidden, changed>", "c": "<hidden, changed>"}
    assert _k8s_apply.diff_pair(None, DESIRED)[0] == {}


def test_label():
    assert _k8s_apply.label(DESIRED) == "Deployment mail/web"
    assert _k8s_apply.label({"kind": "Namespace", "metadata": {"name": "mail"}}) == "Namespace /mail"
