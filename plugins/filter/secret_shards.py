# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: secret_shards
short_description: Split Secret data over several Secrets that each fit Kubernetes' object size limit
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Takes the entries of one logical Secret (key name to string value) and returns Secret manifests
    C(<name>-0), C(<name>-1), ... (C(stringData), keys sorted) that together hold every entry exactly once.
  - Each is at most O(max_bytes) as the API server stores it (compact JSON, values base64-encoded in C(data),
    plus the server-side apply C(managedFields) entry of every key); Kubernetes refuses an object above 1 MiB.
  - Sticky assignment. An entry stays in the shard that held it in O(previous), so adding or removing entries
    rewrites only the shards concerned. New entries go, largest first, into the lowest-numbered shard with room,
    or into a new shard. An emptied shard is left out. With no entries the result is one empty shard C(<name>-0).
  - The role C(openova.stalwart.stalwart) keeps its DKIM private keys in such shards, mounted together with
    one C(projected) volume.
options:
  _input:
    description: The entries, key name to value (for example C(<selector>._domainkey.<domain>.pem) to a PEM key).
    type: dict
    required: true
  name:
    description: Name prefix of the shard Secrets; shard C(n) is C(<name>-<n>).
    type: str
    required: true
  metadata:
    description: Metadata for every shard (C(namespace), C(labels), C(annotations)); C(name) is set per shard.
    type: dict
    default: {}
  previous:
    description:
      - The Secrets of the last run, Secret name to its data (for example C(_k8s_secret_values) of
        C(openova.stalwart._k8s) C(read_secrets)). Only Secrets named C(<name>-<n>) are looked at.
    type: dict
    default: {}
  max_bytes:
    description: Largest stored size of one shard, in bytes (at most 1048576).
    type: int
    default: 921600
"""

EXAMPLES = r"""
- name: Split the DKIM keys into Secrets stalwart-dkim-0, -1, ...
  ansible.builtin.set_fact:
    dkim_secrets: >-
      {{ keys | openova.stalwart.secret_shards('stalwart-dkim', metadata={'namespace': 'mail'},
                                               previous=_k8s_secret_values) }}
  no_log: true
"""

RETURN = r"""
_value:
  description: Secret manifests (C(apiVersion), C(kind), C(metadata), C(type) C(Opaque), C(stringData)), in shard order.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.openova.stalwart.plugins.module_utils import _secret_shards


def secret_shards(data, name, metadata=None, previous=None, max_bytes=_secret_shards.DEFAULT_MAX_BYTES):
    """Jinja entry point."""
    try:
        return _secret_shards.shard(data, name, metadata, previous, max_bytes)
    except ValueError as exc:
        raise AnsibleFilterError(f"secret_shards: {exc}") from None


class FilterModule:
    """Splitting large Secrets for openova.stalwart."""

    def filters(self):
        return {"secret_shards": secret_shards}
