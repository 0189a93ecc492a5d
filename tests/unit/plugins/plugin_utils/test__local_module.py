# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

import datetime
import types
from collections import OrderedDict

import pytest

from ansible_collections.openova.stalwart.plugins.modules import k8s_render
from ansible_collections.openova.stalwart.plugins.plugin_utils import _local_module


class _Str(str):
    """A str subclass, as Ansible's tagged strings are."""


def _module(run, **kwargs):
    spec = dict(argument_spec=dict(name=dict(type="str", required=True), token=dict(type="str", no_log=True),
                                   count=dict(type="int", default=1)), supports_check_mode=True, **kwargs)
    return types.SimpleNamespace(__name__="fake", module_kwargs=lambda: spec, run=run)


def test_plain_turns_subclasses_into_builtin_types():
    value = _local_module.plain(OrderedDict(a=_Str("x"), b=(1, 2.5, True, None), c={_Str("k"): [datetime.date(2026, 1, 2)]}))
    assert value == {"a": "x", "b": [1, 2.5, True, None], "c": {"k": ["2026-01-02"]}}
    assert value["a"].__class__ is str and next(iter(value["c"])).__class__ is str  # not a subclass


def test_run_in_process_validates_runs_and_masks_no_log_values():
    def run(module):
        module.warn("careful")
        module.exit_json(changed=module.check_mode, echo=f"{module.params['name']} {module.params['token']}",
                         count=module.params["count"], diff_mode=module._diff)  # pylint: disable=protected-access

    result = _local_module.run_in_process(_module(run), "x.y.fake", {"name": _Str("n"), "token": "s3cret", "count": "3"},
                                          check_mode=True, diff=False)
    assert result["changed"] is True and result["count"] == 3 and result["diff_mode"] is False
    assert result["echo"] == "n ********"
    assert result["warnings"] == ["careful"]
    # remove_values, as AnsibleModule: a whole value is named, a value inside a string is starred
    assert result["invocation"] == {"module_args": {"name": "n", "token": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER", "count": 3}}


def test_run_in_process_reports_argument_errors_as_the_module_would():
    def run(_module):  # never reached
        raise AssertionError

    missing = _local_module.run_in_process(_module(run), "x.y.fake", {"token": "s3cret"}, False, False)
    assert missing == {"failed": True, "msg": "missing required arguments: name"}
    unknown = _local_module.run_in_process(_module(run), "x.y.fake", {"name": "n", "bogus": 1}, False, False)
    assert unknown["failed"] and unknown["msg"].startswith("Unsupported parameters for (x.y.fake) module: bogus")
    exclusive = _local_module.run_in_process(_module(run, mutually_exclusive=[("name", "token")]), "x.y.fake",
                                             {"name": "n", "token": "s3cret"}, False, False)
    assert exclusive["failed"] and "mutually exclusive" in exclusive["msg"]


def test_run_in_process_fail_json_keeps_fields_and_masks():
    def run(module):
        module.fail_json(msg=f"cannot use {module.params['token']}", where="here")

    result = _local_module.run_in_process(_module(run), "x.y.fake", {"name": "n", "token": "s3cret"}, False, False)
    assert result["failed"] is True and result["msg"] == "cannot use ********" and result["where"] == "here"


def test_run_in_process_refuses_a_run_that_never_exits():
    with pytest.raises(RuntimeError, match="without exit_json"):
        _local_module.run_in_process(_module(lambda module: None), "x.y.fake", {"name": "n"}, False, False)


def test_k8s_render_in_process_writes_and_masks_only_secret_values(tmp_path):
    manifests = [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ns"},
                  "stringData": {"password": "pa55word-value"}},
                 {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns"},
                  "data": {"greeting": "hello"}}]
    args = {"path": str(tmp_path), "component": "stalwart", "order": 10, "manifests": manifests}
    first = _local_module.run_in_process(k8s_render, "openova.stalwart.k8s_render", args, False, True)
    assert first["changed"] is True and not first.get("failed")
    assert "pa55word-value" not in repr(first) and "hello" in repr(first["diff"])
    assert (tmp_path / "secrets").is_dir()
    again = _local_module.run_in_process(k8s_render, "openova.stalwart.k8s_render", args, False, True)
    assert again["changed"] is False
