# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: dkim_rotation_standing
short_description: Where a stored DKIM rotation stands, without moving it
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Takes the state M(openova.stalwart.dkim_rotation) keeps and returns the prefix that signs, the prefixes whose keys
    are published, and Stalwart's stage (V(pending) or V(retiring)) of those that do not sign - what the last run of
    C(playbooks/dkim_rotate.yml) set up, with no phase change.
  - The role C(openova.stalwart.stalwart) uses it in every run but the rotation's own, so that C(site.yml) between
    two rotation runs neither signs with another generation nor drops a published one.
options:
  _input:
    description: The stored rotation state (C({generations:[...]})); empty when no rotation ever ran.
    type: dict
    required: true
  base_prefix:
    description: The selector prefix that signs when there is no state (C(stalwart_dkim_selector_prefix)).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Sign with the generation the last rotation run switched to
  ansible.builtin.set_fact:
    stalwart_dkim_selector_prefix: "{{ (rotation_state | openova.stalwart.dkim_rotation_standing('s1')).sign }}"
"""

RETURN = r"""
_value:
  description: C(sign) (a prefix), C(publish) (prefixes), C(stages) (prefix to V(pending) or V(retiring)).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.openova.stalwart.plugins.module_utils import _dkim_rotation


def dkim_rotation_standing(state, base_prefix):
    """Jinja entry point."""
    try:
        return _dkim_rotation.standing(state, base_prefix)
    except ValueError as exc:
        raise AnsibleFilterError(f"DKIM rotation state ({exc}): fix or remove it") from exc


class FilterModule:
    """Where a DKIM rotation stands."""

    def filters(self):
        return {"dkim_rotation_standing": dkim_rotation_standing}
