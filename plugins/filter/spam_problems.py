# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: spam_problems
short_description: What is wrong with the spam filter options
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Checks the spam filter options the way M(openova.stalwart.stalwart_config) reads its O(openova.stalwart.stalwart_config#module:spam)
    option (C(greylist), C(rules_url), C(dnsbl_servers), C(rate_limits)) and returns the first problem, naming the
    variable the option came from (O(variables)) and the item at fault.
  - Returns an empty list when there is no problem.
options:
  _input:
    description: The spam options, as the module's O(openova.stalwart.stalwart_config#module:spam) takes them.
    type: dict
    required: true
  variables:
    description: Maps each option (C(dnsbl_servers), C(rate_limits), ...) to the variable name the message gives.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Check the spam options
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems | join('; ') }}"
  vars:
    _problems: >-
      {{ {'dnsbl_servers': stalwart_spam_dnsbl_servers}
         | openova.stalwart.spam_problems({'dnsbl_servers': 'stalwart_spam_dnsbl_servers'}) }}
"""

RETURN = r"""
_value:
  description: The problem found, if any, naming the variable and item.
  type: list
  elements: str
"""

from ansible_collections.openova.stalwart.plugins.module_utils import _stalwart_plan


def spam_problems(spam, variables):
    """Jinja entry point."""
    return _stalwart_plan.spam_problems(spam, variables)


class FilterModule:
    """Checks of the spam filter options."""

    def filters(self):
        return {"spam_problems": spam_problems}
