# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""openova.stalwart.k8s_render: writes one component's manifests into the render directory on the controller (the
module file carries the documentation and the argument spec)."""

from __future__ import annotations

from ansible_collections.openova.stalwart.plugins.module_utils import _k8s_render
from ansible_collections.openova.stalwart.plugins.modules import k8s_render
from ansible_collections.openova.stalwart.plugins.plugin_utils._action import ActionFailure, ControllerAction


class ActionModule(ControllerAction):

    def module_kwargs(self):
        return k8s_render.module_kwargs()

    def work(self, params):
        # no_log on the option masks everything should the arguments be refused; past that point only the Secrets'
        # values are secret (masking every word of every manifest would garble the diff, and scanning the result
        # for each of them takes seconds at a thousand domains).
        self.no_log_values = _k8s_render.secret_values(params["manifests"])
        try:
            manifests = _k8s_render.objects(params["manifests"])  # a parse error names no content
        except ValueError as exc:
            raise ActionFailure(str(exc)) from None
        self.no_log_values = _k8s_render.secret_values(manifests)
        try:
            result = _k8s_render.sync(params["path"], params["component"], params["order"], manifests,
                                      check_mode=self.check_mode, namespaces=params["namespaces"])
        except ValueError as exc:
            raise ActionFailure(str(exc)) from None
        except OSError as exc:
            raise ActionFailure(f"path: cannot write {params['path']}: {exc}") from None
        diff = result.pop("diff")
        if self.diff:
            result["diff"] = diff
        # The manifests are written to files already; echoing them back in the result would only cost time.
        result["invocation"] = {"module_args": dict(params, manifests=f"({len(manifests)} objects)")}
        return result
