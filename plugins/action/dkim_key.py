# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""openova.stalwart.dkim_key: generates and keeps DKIM keys on the controller (the module file carries the
documentation and the argument spec)."""

from __future__ import annotations

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.openova.stalwart.plugins.module_utils import _dkim
from ansible_collections.openova.stalwart.plugins.modules import dkim_key
from ansible_collections.openova.stalwart.plugins.plugin_utils._action import ActionFailure, ControllerAction


class ActionModule(ControllerAction):

    def module_kwargs(self):
        return dkim_key.module_kwargs()

    def work(self, params):
        if not _dkim.HAS_CRYPTOGRAPHY:
            raise ActionFailure(missing_required_lib("cryptography"), exception=_dkim.CRYPTOGRAPHY_IMPORT_ERROR)
        try:
            if params["keys"] is not None:
                specs = _dkim.key_specs(params["keys"], params["key_dir"], params["algorithm"], params["size"])
            else:
                specs = [_dkim.key_spec(params, "", params["path"], params["key_dir"], params["algorithm"],
                                        params["size"])]
            result = _dkim.ensure_keys(specs, key_dir=params["key_dir"], workers=params["workers"],
                                       check_mode=self.check_mode, replace_invalid=params["replace_invalid"],
                                       return_private_keys=params["return_private_keys"],
                                       return_key_files=params["return_key_files"], diff=self.diff)
        except ValueError as exc:
            raise ActionFailure(str(exc)) from None
        if params["keys"] is None:
            result.pop("records")
            result.pop("key_files", None)
            single = result.pop("dkim_keys")[0]
            single.pop("changed")
            result.update(single)
        return result
