# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: dkim_public_records
short_description: The public part of every key of a dkim_key result
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Takes RV(openova.stalwart.dkim_key#module:dkim_keys) of M(openova.stalwart.dkim_key) and keeps, for each key,
    C(domain), C(selector), C(algorithm), C(record_name) and C(txt_value) (what the DNS records are made of),
    never the private key.
  - The same as the module's own RV(openova.stalwart.dkim_key#module:records).
options:
  _input:
    description: The C(dkim_keys) list of a M(openova.stalwart.dkim_key) result.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: DKIM records for the dns role
  ansible.builtin.set_fact:
    stalwart_dkim_records: "{{ made.dkim_keys | openova.stalwart.dkim_public_records }}"
"""

RETURN = r"""
_value:
  description: One record per key, in input order.
  type: list
  elements: dict
"""

from ansible_collections.openova.stalwart.plugins.module_utils import _dkim


def dkim_public_records(results):
    """Jinja entry point."""
    return _dkim.public_records(results)


class FilterModule:
    """DKIM key results of openova.stalwart.dkim_key."""

    def filters(self):
        return {"dkim_public_records": dkim_public_records}
