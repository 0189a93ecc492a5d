# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: k8s_pending
short_description: The manifests that differ from the live Kubernetes objects
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Takes the registered results of a C(kubernetes.core.k8s_info) loop whose C(item) is each desired manifest
    and returns, in order, the manifests whose object is missing or has a desired field with another value.
  - Fields the API server adds (defaults, status, metadata) do not count; a Secret's C(stringData) is compared
    as base64 C(data). The role C(openova.stalwart._k8s) uses it so a converged cluster receives no write at all.
options:
  _input:
    description: The C(results) list registered from a C(kubernetes.core.k8s_info) loop over manifests.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Look up the live objects
  kubernetes.core.k8s_info:
    api_version: "{{ item.apiVersion }}"
    kind: "{{ item.kind }}"
    name: "{{ item.metadata.name }}"
    namespace: "{{ item.metadata.namespace | default(omit) }}"
  loop: "{{ manifests }}"
  register: live

- name: Apply only what differs
  kubernetes.core.k8s:
    definition: "{{ item }}"
    apply: true
    server_side_apply:
      field_manager: openova.stalwart
  loop: "{{ live.results | openova.stalwart.k8s_pending }}"
"""

RETURN = r"""
_value:
  description: The desired manifests to apply, in their original order.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.openova.stalwart.plugins.module_utils import _k8s_diff


def k8s_pending(lookups):
    """Jinja entry point."""
    try:
        return _k8s_diff.pending(lookups)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    """The filters of openova.stalwart's Kubernetes helpers."""

    def filters(self):
        return {"k8s_pending": k8s_pending}
