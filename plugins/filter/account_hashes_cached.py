# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: account_hashes_cached
short_description: Hash the accounts' plain passwords, reusing the hashes of the last run
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Returns the accounts with each plain C(password) replaced by C(password_hash), a SHA-512-crypt hash (C($6$), 5000
    rounds) whose salt is an HMAC of the account's address under O(key). The same password always gives the same
    hash, so a re-run plans nothing new and a changed password changes the hash.
  - With O(secrets), an item with C(password_secret) whose Secret value is known is hashed the same way.
  - Items with C(state=absent), C(password_hash), C(password_env) or an unknown C(password_secret) are returned as they are.
  - Keeps a hash cache so that a password hashed before is not hashed again.
  - The cache maps a fingerprint of each account's address and password (HMAC-SHA256 under O(cache_key), a key of its
    own) to the hash made last time. Because the salt derives from O(key) and the address, a hash from the cache is
    the hash a fresh computation would give; a missing or damaged cache only means hashing again.
  - The result holds secrets (the cache and the hashes); use it with C(no_log).
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
  cache_key:
    description: The key of the fingerprints. Empty turns the cache off (every password is hashed, the cache returned is empty).
    type: str
    default: ''
  cache:
    description: The cache text of the last run (C(cache) of its result); anything unreadable in it is ignored.
    type: str
    default: ''
  secrets:
    description: Secret values by Secret name and key (a dictionary of dictionaries), for C(password_secret).
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Hash the passwords, reusing last run's hashes
  ansible.builtin.set_fact:
    _hashes: >-
      {{ stalwart_accounts | openova.stalwart.account_hashes_cached(stalwart_domains, account_key,
           cache_key=cache_key, cache=previous_cache) }}
  no_log: true
"""

RETURN = r"""
_value:
  description: The result.
  type: dict
  contains:
    accounts:
      description: The accounts, with C(password_hash) in place of C(password).
      type: list
      elements: dict
    cache:
      description: The new cache text, with entries for this run's accounts only.
      type: str
    hashed:
      description: How many passwords were hashed (the others came from the cache).
      type: int
"""

from ansible_collections.openova.stalwart.plugins.module_utils import _stalwart_accounts


def account_hashes_cached(accounts, domains, key, cache_key="", cache="", secrets=None):
    """Jinja entry point."""
    resolved = _stalwart_accounts.with_secrets(accounts, secrets)
    result, text, count = _stalwart_accounts.hashed_cached(resolved, domains, str(key), str(cache_key or ""), cache or "")
    return {"accounts": result, "cache": text, "hashed": count}


class FilterModule:
    """Password hashing of the accounts with the hash cache."""

    def filters(self):
        return {"account_hashes_cached": account_hashes_cached}
