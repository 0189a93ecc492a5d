# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: acme_http01_names
short_description: The names a cert-manager ACME issuer would prove over HTTP-01
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Takes a cert-manager C(Issuer) or C(ClusterIssuer) object (as C(kubernetes.core.k8s_info) returns it) and the
    C(dnsNames) of a Certificate, picks for each name the ACME solver cert-manager would use (a C(dnsNames) selector
    match first, then the longest C(dnsZones) match, then the most C(matchLabels), then the earlier solver; a solver
    without a selector only when no other matches), and returns the names whose solver is HTTP-01.
  - An issuer that is not ACME, or none at all, gives an empty list.
options:
  _input:
    description: The issuer object, or an empty value.
    type: raw
    required: true
  names:
    description: The Certificate's C(dnsNames).
    type: list
    elements: str
    required: true
  labels:
    description: The Certificate's labels, which cert-manager copies to the ACME order that C(matchLabels) selects on.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Refuse an issuer that would prove the mail host over HTTP-01
  ansible.builtin.assert:
    that: issuer.resources | first | default({}) | openova.stalwart.acme_http01_names(['mail.example.org']) | length == 0
"""

RETURN = r"""
_value:
  description: One C({name, solver}) per name proved over HTTP-01; C(solver) is the index in C(spec.acme.solvers).
  type: list
  elements: dict
"""

from ansible_collections.openova.stalwart.plugins.module_utils import _acme


def acme_http01_names(issuer, names, labels=None):
    """Jinja entry point."""
    return _acme.http01_names(issuer or None, names, labels or {})


class FilterModule:
    """ACME solver selection."""

    def filters(self):
        return {"acme_http01_names": acme_http01_names}
