# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

import datetime
from collections import OrderedDict
from unittest.mock import MagicMock

from ansible_collections.openova.stalwart.plugins.plugin_utils import _action

SPEC = dict(argument_spec=dict(name=dict(type="str", required=True), token=dict(type="str", no_log=True),
                               count=dict(type="int", default=1)),
            supports_check_mode=True, mutually_exclusive=[("name", "token")])


class _Str(str):
    """A str subclass, as Ansible's tagged strings are."""


class _Echo(_action.ControllerAction):
    def module_kwargs(self):
        return dict(SPEC, mutually_exclusive=[])

    def work(self, params):
        self.warnings.append("careful")
        if params["name"] == "fail":
            raise _action.ActionFailure(f"name: refused with {params['token']}", partial=True)
        return {"changed": not self.check_mode, "echo": f"{params['name']} {params['token']}", "count": params["count"],
                "diff_mode": self.diff}


def _run(args, check_mode=False, diff=False):
    task = MagicMock(args=args, check_mode=check_mode, diff=diff, async_val=0, resolved_action="x.y.echo")
    return _Echo(task, MagicMock(), MagicMock(), loader=None, templar=None, shared_loader_obj=None).run(task_vars={})


def test_plain_turns_subclasses_into_builtin_types():
    value = _action.plain(OrderedDict(a=_Str("x"), b=(1, 2.5, True, None), c={_Str("k"): [datetime.date(2026, 1, 2)]}))
    assert value == {"a": "x", "b": [1, 2.5, True, None], "c": {"k": ["2026-01-02"]}}
    assert value["a"].__class__ is str and next(iter(value["c"])).__class__ is str  # not a subclass


def test_validate_converts_and_collects_no_log_values():
    params, error, no_log = _action.validate(SPEC, "x.y.echo", {"name": _Str("n"), "count": "3"})
    assert error is None and params == {"name": "n", "token": None, "count": 3} and params["name"].__class__ is str
    assert no_log == set()


def test_validate_errors_name_the_option_and_never_a_no_log_value():
    assert _action.validate(SPEC, "x.y.echo", {"token": "s3cret"})[1] == "missing required arguments: name"
    assert _action.validate(SPEC, "x.y.echo", {"name": "n", "bogus": 1})[1] == \
        "Unsupported parameters for (x.y.echo) module: bogus. Supported parameters include: count, name, token."
    assert _action.validate(SPEC, "x.y.echo", {"name": "n", "token": "s3cret"})[1] == \
        "parameters are mutually exclusive: name|token"
    # A refused no_log value that the message would quote is masked.
    spec = dict(argument_spec=dict(pin=dict(type="int", no_log=True)))
    params, error, no_log = _action.validate(spec, "x.y.echo", {"pin": "s3cret-pin"})
    assert params is None and "pin" in error and "s3cret-pin" not in error and no_log == {"s3cret-pin"}


def test_run_validates_works_and_masks():
    result = _run({"name": "n", "token": "s3cret", "count": "3"}, check_mode=True)
    assert result["changed"] is False and result["count"] == 3 and result["diff_mode"] is False
    assert result["echo"] == "n ********" and result["warnings"] == ["careful"]
    assert result["invocation"] == {"module_args": {"name": "n", "token": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER", "count": 3}}
    assert _run({"name": "n"}, diff=True)["diff_mode"] is True


def test_run_failures():
    refused = _run({"count": "x", "token": "s3cret"})
    assert refused["failed"] and "name" in refused["msg"] and "s3cret" not in repr(refused)
    failed = _run({"name": "fail", "token": "s3cret"})
    assert failed["failed"] and failed["msg"] == "name: refused with ********" and failed["partial"] is True
