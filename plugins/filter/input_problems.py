# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: input_problems
short_description: What is wrong with a role's variables
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Checks the variables of one role of the collection (C(stalwart), C(cnpg), C(minio) or C(dns)) and returns one
    message per problem, each starting with the variable (and the item index) at fault. Names, namespaces, host
    names, IP addresses, CIDR networks, URLs (https where the controller or Stalwart downloads them), cron schedules,
    Kubernetes quantities, image references, labels and annotations, counts and ports are matched whole.
  - Values of secret variables are never quoted in a message.
  - Each role's preflight runs it before anything is written or applied; it is Python, linear in the number of items.
options:
  _input:
    description: The variables, name to value (with C(openova_stalwart_mode) and C(openova_stalwart_render_dir)).
    type: dict
    required: true
  role:
    description: The role whose variables these are.
    type: str
    required: true
    choices: [stalwart, cnpg, minio, dns]
"""

EXAMPLES = r"""
- name: Check the cnpg variables
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems | join('; ') }}"
  vars:
    _problems: "{{ {'cnpg_instances': cnpg_instances, 'cnpg_storage_size': cnpg_storage_size} | openova.stalwart.input_problems('cnpg') }}"
"""

RETURN = r"""
_value:
  description: One message per problem, empty when there is none.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.openova.stalwart.plugins.module_utils import _inputs


def input_problems(values, role):
    """Jinja entry point."""
    if not isinstance(values, dict):
        raise AnsibleFilterError(f"input_problems: expected a dictionary of variables, got {type(values).__name__}")
    try:
        return _inputs.problems(role, values)
    except ValueError as err:
        raise AnsibleFilterError(f"input_problems: {err}") from None


class FilterModule:
    """Checks of the roles' variables."""

    def filters(self):
        return {"input_problems": input_problems}
