# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: role_options
short_description: The variables an entry point of one of the collection's roles declares
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Takes a role name of the collection (C(stalwart), C(cnpg), C(minio), C(dns), C(_k8s)) and returns the names of
    the options its entry point declares in C(meta/argument_specs.yml), sorted.
  - Each role's preflight feeds them to C(query('ansible.builtin.vars', ...)) and the values to P(openova.stalwart.input_problems#filter).
    Parsed with libyaml when PyYAML has it, a fraction of what C(lookup('ansible.builtin.file', ...) | from_yaml) costs.
options:
  _input:
    description: The role's name.
    type: str
    required: true
  entry_point:
    description: The entry point.
    type: str
    default: main
"""

EXAMPLES = r"""
- name: Every variable of the dns role, by name
  ansible.builtin.debug:
    msg: "{{ dict(__names | zip(query('ansible.builtin.vars', *__names))) }}"
  vars:
    __names: "{{ 'dns' | openova.stalwart.role_options }}"
"""

RETURN = r"""
_value:
  description: The option names, sorted.
  type: list
  elements: str
"""

import os

from ansible.errors import AnsibleFilterError

from ansible_collections.openova.stalwart.plugins.module_utils import _inputs

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def role_options(role, entry_point="main"):
    """Jinja entry point."""
    try:
        return _inputs.option_names(_ROOT, role, entry_point)
    except ValueError as err:
        raise AnsibleFilterError(f"role_options: {err}") from None


class FilterModule:
    """The options of a role's entry point."""

    def filters(self):
        return {"role_options": role_options}
