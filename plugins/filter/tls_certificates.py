# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: tls_certificates
short_description: Spread a deployment's HTTPS names over Certificates of at most max_names names each
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Takes the mail host name and returns the Certificates that cover it and every web name of the domains
    (C(mta-sts.), C(autoconfig.), C(autodiscover.) per domain) and the extra hosts.
  - The mail host has a Certificate of its own (C(name), Secret C(secret_name)). The web names are placed in
    shards C(<name>-web), C(<name>-web-1), C(<name>-web-01), ... by a hash trie over the domains, each with
    at most O(max_names) names (Let's Encrypt refuses more than 100). The result depends on the names alone and
    is stable; adding a domain changes one shard (which may split in two), removing one changes one shard (or
    merges two).
options:
  _input:
    description: The mail host name.
    type: str
    required: true
  domains:
    description: The mail domains.
    type: list
    elements: str
    required: true
  extra_hosts:
    description: Further host names served over HTTPS.
    type: list
    elements: str
    default: []
  name:
    description: Name of the mail host Certificate, and prefix of the web shard Certificates.
    type: str
    required: true
  secret_name:
    description: Secret of the mail host Certificate, and prefix of the web shard Secrets.
    type: str
    required: true
  max_names:
    description: Most names in one Certificate.
    type: int
    default: 100
"""

EXAMPLES = r"""
- name: Certificates of stalwart
  ansible.builtin.set_fact:
    tls: >-
      {{ 'mail.example.com' | openova.stalwart.tls_certificates(['example.com', 'example.org'],
                                                                name='stalwart', secret_name='stalwart-tls') }}
"""

RETURN = r"""
_value:
  description:
    - C(mail) and each item of C(web) have C(name), C(secret) and C(hosts). C(hosts) lists every name, mail host
      first. C(tls) is the Ingress C(spec.tls) list (C(hosts), C(secretName)) wiring each name to its Secret.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.openova.stalwart.plugins.module_utils import _tls_shards


def tls_certificates(hostname, domains, extra_hosts=None, name=None, secret_name=None,
                     max_names=_tls_shards.DEFAULT_MAX_NAMES):
    """Jinja entry point."""
    try:
        return _tls_shards.certificates(hostname, domains, extra_hosts or [], name=name, secret_name=secret_name,
                                        max_names=max_names)
    except ValueError as exc:
        raise AnsibleFilterError(f"tls_certificates: {exc}") from None


class FilterModule:
    """TLS certificate planning for openova.stalwart."""

    def filters(self):
        return {"tls_certificates": tls_certificates}
