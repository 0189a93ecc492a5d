# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations


class ModuleDocFragment:
    """Attribute documentation shared by every module of the collection."""

    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
      - This assumes that the system controlled/queried by the module has not changed in a relevant way.
"""

    # Modules whose action plugin does all the work on the controller (the module file documents it).
    CONTROLLER_ACTION = r"""
options: {}
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
    details:
      - The action plugin does all the work on the Ansible controller, whichever host the task runs for (paths are
        the controller's); the module is never sent to a target.
  async:
    description: Supports being used with the C(async) keyword.
    support: none
"""

    # Modules that talk to Stalwart's management API.
    ACTIONGROUP_STALWART = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/openova.stalwart.stalwart) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - openova.stalwart.stalwart
"""

    # Modules that talk to the Kubernetes API.
    ACTIONGROUP_K8S = r"""
options: {}
attributes:
  action_group:
    description:
      - Use C(group/openova.stalwart.k8s) in C(module_defaults) to set defaults for this module. The group also
        holds the modules of C(kubernetes.core)'s C(k8s) group (M(kubernetes.core.k8s), M(kubernetes.core.k8s_info),
        ...), so O(kubeconfig) and O(context) are set once for all of them.
    support: full
    membership:
      - openova.stalwart.k8s
"""

    # Modules that talk to authoritative DNS servers.
    ACTIONGROUP_DNS = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/openova.stalwart.dns) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - openova.stalwart.dns
"""

    # Modules that only read state.
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
  idempotent:
    support: full
"""
