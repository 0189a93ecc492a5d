# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Base of this collection's controller-side action plugins (dkim_key, dns_records, k8s_render, stalwart_config).

Each does its work on the controller, as ansible.builtin.template renders there: it validates the task's arguments
with the argument spec of the module of the same name (whose file carries the documentation), calls the pure logic
in ``plugins/module_utils``, and returns the result with the values of ``no_log`` options masked. Check mode and
diff mode are the task's. There is no module process and no ``async``.
"""

from __future__ import annotations

import abc
import datetime
import typing as t
from collections.abc import Mapping

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action import ActionBase

# Keywords of a module's argument spec that ArgumentSpecValidator takes as well.
_VALIDATOR_KEYWORDS = ("mutually_exclusive", "required_together", "required_one_of", "required_if", "required_by")


class ActionFailure(Exception):
    """Fails the task with ``msg``; ``result`` is returned along (what was done before the failure)."""

    def __init__(self, msg: str, **result: t.Any):
        super().__init__(msg)
        self.msg = msg
        self.result = result


def plain(value: t.Any) -> t.Any:
    """Task arguments as plain dict, list, str, int, float, bool and None (the types a module gets after JSON):
    the logic compares and serializes them (YAML, JSON) without knowing Ansible's tagged subclasses."""
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


def validate(module_kwargs: Mapping[str, t.Any], name: str, args: Mapping[str, t.Any]) -> tuple[dict[str, t.Any] | None, str | None, set[str]]:
    """Validate ``args`` with a module's ``module_kwargs`` (argument_spec and the constraint keywords).

    Returns (parameters, None, no_log values) or (None, error message, no_log values); the message is worded as
    AnsibleModule words it and names the option, never a ``no_log`` value."""
    validator = ArgumentSpecValidator(module_kwargs["argument_spec"],
                                      **{key: module_kwargs[key] for key in _VALIDATOR_KEYWORDS if key in module_kwargs})
    validated = validator.validate(plain(args))
    no_log_values = set(validated._no_log_values)  # pylint: disable=protected-access
    if validated.error_messages:
        msg = validated.errors.msg
        if isinstance(validated.errors[0], UnsupportedError):
            msg = f"Unsupported parameters for ({name}) module: {msg}"
        return None, remove_values(msg, no_log_values), no_log_values
    return validated.validated_parameters, None, no_log_values


class ControllerAction(ActionBase):
    """Validates the task's arguments with ``module_kwargs()`` of the module, then runs ``work`` on the controller.

    ``work(params)`` returns the result (``changed`` and the return values) or raises :class:`ActionFailure`; it
    may add values to ``self.no_log_values`` (secrets found inside the arguments) and warnings to
    ``self.warnings``. ``self.check_mode`` and ``self.diff`` are the task's."""

    _supports_check_mode = True
    _supports_async = False

    no_log_values: set[str]
    warnings: list[str]
    check_mode: bool
    diff: bool
    params: dict[str, t.Any]

    @abc.abstractmethod
    def module_kwargs(self) -> dict[str, t.Any]:
        """The module's AnsibleModule keywords (argument_spec and constraints), from its module file."""

    @abc.abstractmethod
    def work(self, params: dict[str, t.Any]) -> dict[str, t.Any]:
        """The action itself, on validated ``params``."""

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        self.check_mode = bool(self._task.check_mode)
        self.diff = bool(self._task.diff)
        self.warnings = []
        params, error, self.no_log_values = validate(self.module_kwargs(), self._task.resolved_action or self._task.action,
                                                     self._task.args)
        if params is None:
            result.update(failed=True, msg=error)
            return result
        self.params = params
        try:
            outcome = self.work(params)
        except ActionFailure as exc:
            outcome = dict(exc.result, failed=True, msg=exc.msg)
        # What the task was given, as a module reports it (a plugin may shorten a large option).
        outcome.setdefault("invocation", {"module_args": params})
        if self.warnings:
            outcome["warnings"] = list(self.warnings)
        # remove_values copies the whole result even with nothing to mask: 2000 DKIM keys' results take 0.15 s.
        result.update(remove_values(outcome, self.no_log_values) if self.no_log_values else outcome)
        return result
