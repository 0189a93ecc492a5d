# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: domain_problems
short_description: What is wrong with a list of mail domains
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Checks a list of mail domains (dictionaries with a C(name)) and returns one message per problem, each naming
    O(variable). The list is empty or not a list, an item is not a dictionary, a C(name) is not a host name
    Kubernetes takes (lower-case A-labels, the last label starting with a letter), a domain is listed twice.
  - Returns an empty list when there is no problem. Names are compared in lower case.
  - Preflights run it before anything is written; the Jinja checks it replaces took seconds at a thousand domains.
options:
  _input:
    description: The list to check.
    type: raw
    required: true
  variable:
    description: The variable name the messages give.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Check the mail domains
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems | join('; ') }}"
  vars:
    _problems: "{{ stalwart_domains | openova.stalwart.domain_problems('stalwart_domains') }}"
"""

RETURN = r"""
_value:
  description: One message per problem.
  type: list
  elements: str
"""

from ansible_collections.openova.stalwart.plugins.module_utils import _validate


def domain_problems(domains, variable):
    """Jinja entry point."""
    return _validate.domain_list_problems(domains, variable)


class FilterModule:
    """Checks of mail domain lists."""

    def filters(self):
        return {"domain_problems": domain_problems}
