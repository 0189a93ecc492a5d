# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: unknown_variables
short_description: Role variables no role of the collection knows (misspellings)
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Takes variable names and returns a message for each C(stalwart_*), C(cnpg_*), C(minio_*) or C(dns_*) name that
    no role's C(meta/argument_specs.yml) declares (nor a fact a role publishes), naming the closest known name
    (difflib). Ansible ignores such a variable silently, so a misspelled setting would keep its default.
  - With O(warn=true) (the default) each message is also shown as a warning.
options:
  _input:
    description: Variable names, for example C(query('ansible.builtin.varnames', '^(stalwart|cnpg|minio|dns)_')).
    type: list
    elements: str
    required: true
  warn:
    description: Show each message as a warning too.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Warn about misspelled role variables
  ansible.builtin.debug:
    msg: "{{ query('ansible.builtin.varnames', '^(stalwart|cnpg|minio|dns)_') | openova.stalwart.unknown_variables }}"
"""

RETURN = r"""
_value:
  description: One message per unknown name, empty when every name is known.
  type: list
  elements: str
"""

import os

from ansible.utils.display import Display

from ansible_collections.openova.stalwart.plugins.module_utils import _inputs

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def unknown_variables(names, warn=True):
    """Jinja entry point."""
    messages = _inputs.unknown_variables(names, _inputs.known_variables(_ROOT))
    if warn:
        for message in messages:
            Display().warning(message)
    return messages


class FilterModule:
    """Spelling check of role variables."""

    def filters(self):
        return {"unknown_variables": unknown_variables}
