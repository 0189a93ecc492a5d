# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: account_problems
short_description: What is wrong with the accounts, groups and mailing lists
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Checks C(stalwart_accounts), C(stalwart_groups) and C(stalwart_mailing_lists) of the stalwart role and returns every
    problem, each naming the variable and the item at fault (for example C(stalwart_accounts[3].quota)).
  - Duplicate addresses (an account, alias, group or list address used twice), a domain not in O(domains), a quota
    that is not a size, a missing, empty or weak password (shorter than 12 characters or fewer than 4 different
    characters), more than one password source, unknown keys, a group member that is not a declared account, a list
    recipient that is not an address.
  - Returns an empty list when there is no problem.
options:
  _input:
    description: The accounts (C(stalwart_accounts)).
    type: list
    elements: dict
    required: true
  groups:
    description: The groups (C(stalwart_groups)).
    type: list
    elements: dict
    required: true
  mailing_lists:
    description: The mailing lists (C(stalwart_mailing_lists)).
    type: list
    elements: dict
    required: true
  domains:
    description: The domains (C(stalwart_domains)); an item without C(domain) belongs to the first.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Check the accounts before anything is written
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems | join('; ') }}"
  vars:
    _problems: "{{ stalwart_accounts | openova.stalwart.account_problems(stalwart_groups, stalwart_mailing_lists, stalwart_domains) }}"
"""

RETURN = r"""
_value:
  description: The problems found, each naming the variable and item.
  type: list
  elements: str
"""

from ansible_collections.openova.stalwart.plugins.module_utils import _stalwart_accounts


def account_problems(accounts, groups, mailing_lists, domains):
    """Jinja entry point."""
    return _stalwart_accounts.problems(accounts, groups, mailing_lists, domains)


class FilterModule:
    """Checks of the accounts, groups and mailing lists."""

    def filters(self):
        return {"account_problems": account_problems}
