# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Runs openova.stalwart.dkim_key in-process when its target is this controller's own Python (see _local_module)."""

from __future__ import annotations

from ansible_collections.openova.stalwart.plugins.modules import dkim_key
from ansible_collections.openova.stalwart.plugins.plugin_utils._local_module import LocalModuleAction


class ActionModule(LocalModuleAction):
    MODULE = dkim_key
