# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations


class ModuleDocFragment:
    """The name servers a module looks names up on, instead of the system resolver."""

    DOCUMENTATION = r"""
options:
  resolvers:
    description:
      - Name servers (IP addresses) that answer the module's DNS lookups instead of the system resolver (what each
        module looks up with them is in its notes). For example the authoritative servers of a zone published by this
        same run, which a caching resolver may still answer with the negative reply it cached before the records
        existed.
      - Empty (the default) uses the system resolver.
    type: list
    elements: str
    default: []
  resolver_port:
    description: Port of O(resolvers).
    type: int
    default: 53
"""
