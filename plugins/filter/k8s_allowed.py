# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: k8s_allowed
short_description: Check that every manifest is an object the component writes
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Returns C(true) when every manifest (an object, or YAML text of objects) has an API version and kind listed
    for the component in C(ALLOWED_KINDS) (C(plugins/module_utils/_k8s_render.py)) and, when C(namespaces) is
    given, sits in one of those namespaces; fails naming the first object otherwise.
  - The same check C(openova.stalwart.k8s_render) makes before it writes; the role C(openova.stalwart._k8s)
    runs it before it applies anything.
options:
  _input:
    description: The component's manifests (objects or YAML text).
    type: list
    elements: raw
    required: true
  component:
    description: The component (for example C(stalwart) or C(cnpg)).
    type: str
    required: true
  namespaces:
    description: The namespaces the component owns; not checked when omitted or null.
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Refuse any object the component does not write
  ansible.builtin.assert:
    that: manifests | openova.stalwart.k8s_allowed('stalwart', ['mail'])
"""

RETURN = r"""
_value:
  description: C(true) (the filter fails otherwise).
  type: bool
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.openova.stalwart.plugins.module_utils import _k8s_render


def k8s_allowed(manifests, component, namespaces=None):
    """Jinja entry point."""
    try:
        objects = _k8s_render.objects(list(manifests))
        bad = [i for i, m in enumerate(objects) if not isinstance(m, dict)]
        if bad:
            raise ValueError(f"manifests[{bad[0]}]: expected a Kubernetes object (a mapping)")
        _k8s_render.allowed(component, objects, namespaces)
    except ValueError as exc:
        raise AnsibleFilterError(f"_k8s: {exc}") from None
    return True


class FilterModule:
    """The allow-list check of openova.stalwart's Kubernetes helpers."""

    def filters(self):
        return {"k8s_allowed": k8s_allowed}
