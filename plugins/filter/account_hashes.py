# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: account_hashes
short_description: Replace the accounts' plain passwords by stable SHA-512-crypt hashes
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Returns the accounts with each plain C(password) replaced by C(password_hash), a SHA-512-crypt hash (C($6$), 5000
    rounds) whose salt is an HMAC of the account's address under O(key). The same password always gives the same
    hash, so a re-run plans nothing new and a changed password changes the hash.
  - With O(secrets), an item with C(password_secret) whose Secret value is known is hashed the same way.
  - Items with C(state=absent), C(password_hash), C(password_env) or an unknown C(password_secret) are returned as they are.
options:
  _input:
    description: The accounts (C(stalwart_accounts)).
    type: list
    elements: dict
    required: true
  domains:
    description: The domains; an item without C(domain) belongs to the first.
    type: list
    elements: dict
    required: true
  key:
    description: The per-install key the salts derive from (kept in the credentials Secret by the stalwart role).
    type: str
    required: true
  secrets:
    description: Secret values by Secret name and key (a dictionary of dictionaries), for C(password_secret).
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Hash the passwords for the plan
  ansible.builtin.set_fact:
    _accounts: "{{ stalwart_accounts | openova.stalwart.account_hashes(stalwart_domains, _stalwart_secrets.account_key) }}"
  no_log: true
"""

RETURN = r"""
_value:
  description: The accounts, with C(password_hash) in place of C(password).
  type: list
  elements: dict
"""

from ansible_collections.openova.stalwart.plugins.module_utils import _stalwart_accounts


def account_hashes(accounts, domains, key, secrets=None):
    """Jinja entry point."""
    return _stalwart_accounts.hashed(_stalwart_accounts.with_secrets(accounts, secrets), domains, str(key))


class FilterModule:
    """Password hashing of the accounts."""

    def filters(self):
        return {"account_hashes": account_hashes}
