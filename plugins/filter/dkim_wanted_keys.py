# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: dkim_wanted_keys
short_description: The DKIM keys a list of mail domains signs and publishes with
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Takes a list of mail domains (C(stalwart_domains)) and returns the keys to keep or generate, in the form of
    O(openova.stalwart.dkim_key#module:keys) of M(openova.stalwart.dkim_key).
  - For every domain, in order, an RSA-2048 key with selector C(<prefix>-rsa) and, unless O(ed25519=false), an
    Ed25519 key C(<prefix>-ed25519). A domain's C(dkim_selectors) (C({rsa, ed25519})) name its own selectors; an
    C(ed25519) selector of V(true) is the default one, V(false) or empty drops that key.
  - Then, for every prefix in O(published) (the other generations a DKIM rotation keeps in DNS), the same keys under
    that prefix, for the domains without their own selectors.
  - The role C(openova.stalwart.stalwart) computes its key list with it once per run.
options:
  _input:
    description: The mail domains, each a dictionary with C(name) and optional C(dkim_selectors).
    type: list
    elements: dict
    required: true
  prefix:
    description: Selector prefix of the signing generation.
    type: str
    required: true
  ed25519:
    description: Add an Ed25519 key next to each RSA key.
    type: bool
    default: true
  published:
    description: Prefixes of other generations kept in DNS.
    type: list
    elements: str
    default: []
  stored:
    description:
      - Key file name (C(<selector>._domainkey.<domain>.pem)) to PEM of keys kept elsewhere (for example in
        Kubernetes Secrets); a key found there gets it as C(private_key).
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Keep or generate the DKIM keys of every domain
  openova.stalwart.dkim_key:
    keys: "{{ stalwart_domains | openova.stalwart.dkim_wanted_keys('s1') }}"
    key_dir: /srv/dkim
"""

RETURN = r"""
_value:
  description: One entry per key (C(domain), C(selector), C(algorithm), C(size) for RSA, C(private_key) if stored).
  type: list
  elements: dict
"""

from ansible_collections.openova.stalwart.plugins.module_utils import _dkim


def dkim_wanted_keys(domains, prefix, ed25519=True, published=(), stored=None):
    """Jinja entry point."""
    return _dkim.wanted_keys(domains, prefix, ed25519=ed25519, published=published or (), stored=stored)


class FilterModule:
    """DKIM keys of the mail domains."""

    def filters(self):
        return {"dkim_wanted_keys": dkim_wanted_keys}
