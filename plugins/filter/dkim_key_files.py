# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: dkim_key_files
short_description: Key file name to private key for every key of a dkim_key result
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Takes RV(openova.stalwart.dkim_key#module:dkim_keys) of M(openova.stalwart.dkim_key) run with
    O(openova.stalwart.dkim_key#module:return_private_keys=true) and returns C(<selector>._domainkey.<domain>.pem)
    to PEM for every key in it.
  - Also takes RV(openova.stalwart.dkim_key#module:records), with the module's
    RV(openova.stalwart.dkim_key#module:key_files) in O(returned)
    (O(openova.stalwart.dkim_key#module:return_key_files=true)), a smaller result than the per-key one.
  - A key passed in to the module comes back without its private key (Ansible would mask it); its PEM is taken
    from O(stored), the same keys as they were read. A key found in none of them is left out.
  - The role C(openova.stalwart.stalwart) builds its DKIM key Secrets from it.
options:
  _input:
    description: The C(dkim_keys) list of a M(openova.stalwart.dkim_key) result.
    type: list
    elements: dict
    required: true
  stored:
    description: Key file name to PEM of the keys kept elsewhere (for example read from Kubernetes Secrets).
    type: dict
    default: {}
  returned:
    description: The RV(openova.stalwart.dkim_key#module:key_files) of the same module result.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Every DKIM private key by file name
  ansible.builtin.set_fact:
    dkim_files: "{{ made.dkim_keys | openova.stalwart.dkim_key_files(stored_keys) }}"
  no_log: true

- name: The same from a module run with return_key_files=true
  ansible.builtin.set_fact:
    dkim_files: "{{ made.records | openova.stalwart.dkim_key_files(stored_keys, made.key_files) }}"
  no_log: true
"""

RETURN = r"""
_value:
  description: Key file name to PEM.
  type: dict
"""

from ansible_collections.openova.stalwart.plugins.module_utils import _dkim


def dkim_key_files(results, stored=None, returned=None):
    """Jinja entry point."""
    return _dkim.key_files(results, stored or {}, returned or {})


class FilterModule:
    """DKIM key results of openova.stalwart.dkim_key."""

    def filters(self):
        return {"dkim_key_files": dkim_key_files}
