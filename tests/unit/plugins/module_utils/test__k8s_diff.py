# -*- coding: utf-8 -*-
from __future__ import annotations

import base64

import pytest

from ansible_collections.openova.stalwart.plugins.module_utils import _k8s_diff

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}, "data": {"a": "1"}}


def live(obj, **extra):
    out = dict(obj)
    out["metadata"] = dict(obj["metadata"], uid="u", resourceVersion="7", managedFields=[{"manager": "x"}])
    out.update(extra)
    return out


def test_missing_object_needs_apply():
    assert _k8s_diff.needs_apply(CM, None)


def test_server_added_fields_do_not_count():
    assert not _k8s_diff.needs_apply(CM, live(CM, status={"phase": "x"}))


def test_changed_value_counts():
    assert _k8s_diff.needs_apply(dict(CM, data={"a": "2"}), live(CM))


def test_list_length_and_items_count():
    want = {"spec": {"ports": [{"port": 25}, {"port": 465}]}}
    assert _k8s_diff.is_subset(want, {"spec": {"ports": [{"port": 25, "protocol": "TCP"}, {"port": 465}]}})
    assert not _k8s_diff.is_subset(want, {"spec": {"ports": [{"port": 25}]}})
    assert not _k8s_diff.is_subset(want, {"spec": {"ports": [{"port": 25}, {"port": 587}]}})


def test_bool_is_not_int():
    assert not _k8s_diff.is_subset({"a": True}, {"a": 1})
    assert _k8s_diff.is_subset({"a": 1}, {"a": 1.0})


def test_none_and_empty_dict_are_absent():
    assert _k8s_diff.is_subset({"a": None, "b": {}}, {})


def test_secret_string_data_compares_as_data():
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"k": "välue"}}
    stored = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque",
              "data": {"k": base64.b64encode("välue".encode()).decode()}}
    assert not _k8s_diff.needs_apply(secret, stored)
    assert _k8s_diff.needs_apply(dict(secret, stringData={"k": "other"}), stored)


def test_pending_keeps_order_and_treats_failed_lookup_as_missing():
    other = dict(CM, metadata={"name": "d", "namespace": "n"})
    results = [
        {"item": CM, "resources": [live(CM)]},
        {"item": other, "failed": True, "msg": "no kind"},
        {"item": dict(CM, data={"a": "9"}), "resources": [live(CM)]},
    ]
    assert _k8s_diff.pending(results) == [other, dict(CM, data={"a": "9"})]


def test_pending_rejects_other_input():
    with pytest.raises(ValueError, match="k8s_pending"):
        _k8s_diff.pending([{"resources": []}])


READY = {"kind": "Cluster", "name": "db", "namespace": "mail", "api_version": "postgresql.cnpg.io/v1"}
STS = {"kind": "StatefulSet", "name": "s", "namespace": "mail", "api_version": "apps/v1",
       "field": "status.readyReplicas", "value": 2}


def test_unmet_conditions_and_fields():
    ready = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    not_ready = {"status": {"conditions": [{"type": "Ready", "status": "False"}]}}
    assert _k8s_diff.unmet([READY, STS], [ready, {"status": {"readyReplicas": 2}}]) == []
    assert _k8s_diff.unmet([READY, STS], [not_ready, {"status": {"readyReplicas": "2"}}]) == ["Cluster mail/db Ready"]
    assert _k8s_diff.unmet([READY, STS], [None, {"status": {}}]) == [
        "Cluster mail/db Ready", "StatefulSet mail/s status.readyReplicas=2"]
    established = dict(READY, kind="CustomResourceDefinition", namespace=None, condition="Established")
    assert _k8s_diff.unmet([established], [ready]) == ["CustomResourceDefinition /db Established"]
    assert _k8s_diff.unmet([established], [{"status": {"conditions": [
        {"type": "Established", "status": "True"}]}}]) == []


def test_unmet_rejects_bad_input():
    with pytest.raises(ValueError, match="2 waits but 1"):
        _k8s_diff.unmet([READY, STS], [None])
    with pytest.raises(ValueError, match="kind and name"):
        _k8s_diff.unmet([{"kind": "X"}], [None])


def test_field_value_walks_dotted_paths():
    assert _k8s_diff.field_value({"a": {"b": 3}}, "a.b") == 3
    assert _k8s_diff.field_value({"a": 1}, "a.b") is None
    assert _k8s_diff.field_value(None, "a") is None


def test_a_key_no_longer_desired_counts_for_secrets_and_configmaps():
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "n"},
              "stringData": {"a": "1"}}
    stored = live({**{k: v for k, v in secret.items() if k != "stringData"}, "data": {"a": "MQ=="}})
    assert not _k8s_diff.needs_apply(secret, stored)
    assert _k8s_diff.needs_apply(secret, dict(stored, data={"a": "MQ==", "old": "Mg=="}))
    assert _k8s_diff.needs_apply(CM, live(CM, data={"a": "1", "old": "2"}))
    assert not _k8s_diff.needs_apply(CM, live(CM))
    # Other kinds keep the subset rule: fields the server or others add do not count.
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"ports": [{"port": 25}]}}
    assert not _k8s_diff.needs_apply(svc, live(svc, spec={"ports": [{"port": 25}], "clusterIP": "10.0.0.1"}))
