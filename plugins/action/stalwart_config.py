# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""openova.stalwart.stalwart_config: computes Stalwart's config.json and settings plan on the controller and writes
them under ``dest`` there (the module file carries the documentation and the argument spec)."""

from __future__ import annotations

import os

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.openova.stalwart.plugins.module_utils import _stalwart_accounts
from ansible_collections.openova.stalwart.plugins.module_utils import _stalwart_plan as plan_lib
from ansible_collections.openova.stalwart.plugins.module_utils._files import read_text, write_atomic
from ansible_collections.openova.stalwart.plugins.modules import stalwart_config
from ansible_collections.openova.stalwart.plugins.plugin_utils._action import ActionFailure, ControllerAction


class ActionModule(ControllerAction):

    def module_kwargs(self):
        return stalwart_config.module_kwargs()

    def work(self, params):
        try:
            rendered = plan_lib.build(params)
        except ValueError as exc:
            raise ActionFailure(to_native(exc)) from None
        config_json = plan_lib.config_json(rendered.config)
        result = dict(changed=False, config=rendered.config, config_json=config_json, summary=rendered.summary,
                      reconcile=rendered.reconcile)
        if params["split_hashes"]:
            rendered.plan, result["hashes"] = _stalwart_accounts.split_hashes(rendered.plan)
        if params["return_plan"]:
            result["plan"] = rendered.plan
        ndjson = plan_lib.plan_ndjson(rendered.plan)
        if params["return_ndjson"]:
            result["ndjson"] = ndjson
        dest = params["dest"]
        if dest:
            files = {
                os.path.join(dest, "config.json"): config_json,
                os.path.join(dest, "plan.ndjson"): ndjson,
            }
            result["files"] = sorted(files)
            diffs = []
            for path, content in sorted(files.items()):
                old = read_text(path)
                if old == content:
                    continue
                result["changed"] = True
                diffs.append(dict(before_header=path, before=old or "", after_header=path, after=content))
                if not self.check_mode:
                    write_atomic(path, content)
            if self.diff and diffs:
                result["diff"] = diffs
        return result
