# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Action plugins that run a module of this collection inside the worker process when the module would run on
this controller with this Python anyway.

A module call costs a process, the AnsiballZ payload (built again in every ansible-playbook run) and a JSON round
trip of its arguments and result: about half a second each, and seconds with the thousands of records and keys of a
thousand domains. When the task's connection is ``local`` (no become, not async, no task environment) and the
interpreter is ``ansible_playbook_python``, the action imports the module and runs its ``run(module)`` with a
stand-in for ``AnsibleModule``: the same argument spec, checks, check and diff modes, and masking of ``no_log``
values. Any other target gets the module itself, exactly as without the action plugin.
"""

from __future__ import annotations

import datetime
import os
import shutil
import sys
import typing as t
from collections.abc import Mapping

from ansible import constants as C
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

# AnsibleModule keywords that ArgumentSpecValidator takes as well.
_VALIDATOR_KEYWORDS = ("mutually_exclusive", "required_together", "required_one_of", "required_if", "required_by")


class ModuleExit(Exception):
    """Raised by the stand-in's exit_json and fail_json: carries the module result."""

    def __init__(self, result: dict[str, t.Any]):
        super().__init__(result.get("msg", ""))
        self.result = result


class LocalModule:
    """The parts of AnsibleModule this collection's modules use, for a run inside the action plugin."""

    def __init__(self, params: dict[str, t.Any], check_mode: bool, diff: bool, no_log_values: t.Iterable[str]):
        self.params = params
        self.check_mode = check_mode
        self._diff = diff
        self.no_log_values = set(no_log_values)
        self._warnings: list[str] = []

    @staticmethod
    def add_path_info(kwargs: dict[str, t.Any]) -> dict[str, t.Any]:
        """AnsibleModule adds a file's stat fields to a result with ``path``; no module here relies on them."""
        return kwargs

    def warn(self, warning: str) -> None:
        self._warnings.append(warning)

    def exit_json(self, **kwargs: t.Any) -> t.NoReturn:
        raise ModuleExit(self._finish(kwargs))

    def fail_json(self, msg: str, **kwargs: t.Any) -> t.NoReturn:
        kwargs.update(failed=True, msg=msg)
        raise ModuleExit(self._finish(kwargs))

    def _finish(self, kwargs: dict[str, t.Any]) -> dict[str, t.Any]:
        kwargs.setdefault("invocation", {"module_args": self.params})
        if self._warnings:
            kwargs["warnings"] = list(self._warnings)
        # remove_values copies the whole result even with nothing to mask: 2000 DKIM keys' results took 0.15 s.
        return remove_values(kwargs, self.no_log_values) if self.no_log_values else kwargs


def plain(value: t.Any) -> t.Any:
    """Task arguments as a module receives them after JSON: plain dict, list, str, int, float, bool, None."""
    if isinstance(value, str):
        return str.__str__(value)  # an exact str even from a subclass whose __str__ returns itself
    if isinstance(value, Mapping):
        return {plain(key) if isinstance(key, str) else str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return value


def run_in_process(module: t.Any, name: str, args: Mapping[str, t.Any], check_mode: bool, diff: bool) -> dict[str, t.Any]:
    """Validate ``args`` against ``module.module_kwargs()`` and run ``module.run`` with a LocalModule; ``name`` is the
    module's name in messages."""
    kwargs = module.module_kwargs()
    validator = ArgumentSpecValidator(kwargs["argument_spec"],
                                      **{key: kwargs[key] for key in _VALIDATOR_KEYWORDS if key in kwargs})
    validated = validator.validate(plain(args))
    no_log_values = validated._no_log_values  # pylint: disable=protected-access
    if validated.error_messages:
        msg = validated.errors.msg
        if isinstance(validated.errors[0], UnsupportedError):  # worded as AnsibleModule words it
            msg = f"Unsupported parameters for ({name}) module: {msg}"
        return remove_values({"failed": True, "msg": msg}, no_log_values)
    stand_in = LocalModule(validated.validated_parameters, check_mode, diff, no_log_values)
    try:
        module.run(stand_in)
    except ModuleExit as done:
        return done.result
    raise RuntimeError(f"{module.__name__}.run returned without exit_json or fail_json")


class LocalModuleAction(ActionBase):
    """Base of this collection's action plugins named like their module; subclasses set MODULE."""

    MODULE: t.Any = None
    _supports_check_mode = True
    _supports_async = True

    def _runs_here(self, task_vars: Mapping[str, t.Any]) -> bool:
        """Whether the module would run on this controller, as this user, with this Python, in this environment."""
        if getattr(self._connection, "transport", None) != "local" or self._play_context.become:
            return False
        if self._task.async_val or any(self._task.environment or []):
            return False
        host_vars = task_vars
        if self._task.delegate_to:
            host_vars = task_vars.get("ansible_delegated_vars", {}).get(self._task.delegate_to, task_vars)
        # The interpreter the module would get: the host variable, else the configured one, else the one discovered.
        interpreter = host_vars.get("ansible_python_interpreter") or C.config.get_config_value(
            "INTERPRETER_PYTHON", variables=host_vars)
        if str(interpreter).startswith("auto"):
            interpreter = (host_vars.get("ansible_facts") or {}).get("discovered_interpreter_python")
        if not interpreter:
            return False
        found = shutil.which(str(self._templar.template(interpreter)))
        return bool(found) and os.path.realpath(found) == os.path.realpath(sys.executable)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        if self._runs_here(task_vars):
            return merge_hash(result, run_in_process(self.MODULE, self._task.resolved_action, self._task.args,
                                                     bool(self._task.check_mode), bool(self._task.diff)))
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result = merge_hash(result, self._execute_module(module_name=self._task.resolved_action, task_vars=task_vars,
                                                         wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)  # pylint: disable=protected-access
        return result
