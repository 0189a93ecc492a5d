# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: k8s_unmet
short_description: The waits that live Kubernetes objects have not reached yet
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Takes a list of waits and the live object of each (in the same order, C(none) when missing) and returns a
    label for every wait not reached yet; an empty list means everything is ready.
  - A wait names either a C(condition) (default C(Ready)) whose status must be C(True), or a dotted C(field)
    (for example C(status.readyReplicas)) that must equal C(value).
  - The role C(openova.stalwart._k8s) polls all its waits in one task with it.
options:
  _input:
    description: The waits; each has C(kind), C(name), optional C(namespace), and C(condition) or C(field) + C(value).
    type: list
    elements: dict
    required: true
  lives:
    description: The live object of each wait, or C(none).
    type: list
    elements: raw
    required: true
"""

EXAMPLES = r"""
- name: Wait until the Cluster is Ready and the StatefulSet has 2 ready replicas
  ansible.builtin.assert:
    that: unmet | length == 0
    fail_msg: "not ready: {{ unmet | join('; ') }}"
  vars:
    waits:
      - {kind: Cluster, name: db, namespace: mail, api_version: postgresql.cnpg.io/v1}
      - {kind: StatefulSet, name: stalwart, namespace: mail, api_version: apps/v1, field: status.readyReplicas, value: 2}
    unmet: >-
      {%- set lives = [] -%}
      {%- for w in waits -%}
      {%-   set _ = lives.append(query('kubernetes.core.k8s', api_version=w.api_version, kind=w.kind,
                resource_name=w.name, namespace=w.namespace) | first | default(none)) -%}
      {%- endfor -%}
      {{ waits | openova.stalwart.k8s_unmet(lives) }}
  register: poll
  until: poll is success
  retries: 60
  delay: 2
"""

RETURN = r"""
_value:
  description: One C(Kind namespace/name condition) or C(Kind namespace/name field=value) label per unmet wait.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.openova.stalwart.plugins.module_utils import _k8s_diff


def k8s_unmet(waits, lives):
    """Jinja entry point."""
    try:
        return _k8s_diff.unmet(waits, lives)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    """The wait check of openova.stalwart's Kubernetes helpers."""

    def filters(self):
        return {"k8s_unmet": k8s_unmet}
