# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: load_balancer_address
short_description: The address a LoadBalancer Service, an Ingress or a Gateway reports
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Takes Kubernetes objects (as C(kubernetes.core.k8s_info) returns them) and returns the address their status
    reports - C(status.loadBalancer.ingress) of a Service or Ingress, C(status.addresses) of a Gateway - as
    C({ipv4, ipv6, hostname}), or an empty dictionary while there is none yet.
  - C(hostname) is set when a load balancer reports a name instead of addresses (AWS NLB/ELB); the role
    C(openova.stalwart.dns) publishes it as a CNAME target where an alias is legal and resolves it elsewhere.
options:
  _input:
    description: The objects.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Wait for the Ingress address
  kubernetes.core.k8s_info:
    api_version: networking.k8s.io/v1
    kind: Ingress
    name: stalwart
    namespace: mail
  register: ingress
  until: ingress.resources | openova.stalwart.load_balancer_address | length > 0
  retries: 60
  delay: 5
"""

RETURN = r"""
_value:
  description: C(ipv4) and C(ipv6) (lists of addresses) and C(hostname) (a string, empty when none), or C({}).
  type: dict
"""

from ansible_collections.openova.stalwart.plugins.module_utils import _dns_records


def load_balancer_address(objects):
    """Jinja entry point."""
    return _dns_records.load_balancer_address(objects)


class FilterModule:
    """Addresses of load balancers."""

    def filters(self):
        return {"load_balancer_address": load_balancer_address}
