# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Runs openova.stalwart.k8s_manifests in-process when its target is this controller's own Python (see _local_module)."""

from __future__ import annotations

from ansible_collections.openova.stalwart.plugins.modules import k8s_manifests
from ansible_collections.openova.stalwart.plugins.plugin_utils._local_module import LocalModuleAction


class ActionModule(LocalModuleAction):
    MODULE = k8s_manifests
