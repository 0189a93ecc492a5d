# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: settings_bundle
short_description: The settings Job's plan, applier and password hashes as objects under Kubernetes' size limit
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Takes the text of C(plan.ndjson), the applier's source files and the plan's password hashes and returns the
    immutable ConfigMaps and Secrets the settings Job of the role C(openova.stalwart.stalwart) mounts (render mode),
    each named after its content and each at most O(max_bytes); Kubernetes refuses an object above 1 MiB.
  - The ConfigMap C(<name>-<hash>) holds the sources and, when it all fits, C(plan.ndjson). A larger plan goes, cut
    into pieces that join to the same text, into ConfigMaps C(<name>-plan-<hash>) with the keys C(plan-<n>.ndjson).
  - The hashes go into Secrets C(<name>-<hash>), split by a hash trie on SHA-256 of each key (a function of the
    current keys alone, so the same input gives the same Secrets and one changed password renames one Secret).
options:
  _input:
    description: The text of C(plan.ndjson).
    type: str
    required: true
  sources:
    description: The applier's files, file name to text.
    type: dict
    required: true
  hashes:
    description: The plan's secret references to their values (C(STALWART_HASH_<id>) to a password hash).
    type: dict
    default: {}
  name:
    description: Name prefix of every object.
    type: str
    required: true
  metadata:
    description: Metadata for every object (C(namespace), C(labels), C(annotations)); C(name) is set per object.
    type: dict
    default: {}
  max_bytes:
    description: Largest size of one ConfigMap's data (each value measured as a JSON string), in bytes (from 4096 to 1048576).
    type: int
    default: 921600
  secret_max_bytes:
    description:
      - Largest size of one Secret as the API server stores it (base64 values and their C(managedFields)), in bytes
        (from 4096 to 1048576). Default O(max_bytes).
    type: int
"""

EXAMPLES = r"""
- name: The settings Job's ConfigMaps and Secrets
  ansible.builtin.set_fact:
    settings: >-
      {{ plan_text | openova.stalwart.settings_bundle(sources, hashes=hashes, name='stalwart-settings',
                                                      metadata={'namespace': 'mail'}) }}
  no_log: true
"""

RETURN = r"""
_value:
  description:
    - C(configmap) the name of the applier's ConfigMap; C(configmaps) ConfigMap manifests, that one first;
      C(secrets) Secret manifests of the hashes, sorted by name (none without hashes); C(plan_files) the plan's
      file names in the order the Job reads them; C(plan_sources) C({name, key}) of each piece's ConfigMap (empty
      when C(plan.ndjson) is in the applier's ConfigMap).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.openova.stalwart.plugins.module_utils import _settings_bundle


def settings_bundle(plan, sources, hashes=None, name=None, metadata=None, max_bytes=_settings_bundle.DEFAULT_MAX_BYTES,
                    secret_max_bytes=None):
    """Jinja entry point."""
    try:
        return _settings_bundle.bundle(plan, sources, hashes or {}, name, metadata, max_bytes, secret_max_bytes)
    except ValueError as exc:
        raise AnsibleFilterError(f"settings_bundle: {exc}") from None


class FilterModule:
    """The settings Job's objects for openova.stalwart."""

    def filters(self):
        return {"settings_bundle": settings_bundle}
