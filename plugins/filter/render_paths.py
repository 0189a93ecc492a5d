# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: render_paths
short_description: The paths of the render directory's layout
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Takes a render directory (C(openova_stalwart_render_dir)) and returns the paths of the bundle under it, as
    M(openova.stalwart.k8s_render) and the roles write it. The layout is defined once, in the collection's
    C(module_utils/_layout.py); roles and plugins take every path from there.
  - Nothing is read or written; an empty render directory (apply mode) gives relative paths.
options:
  _input:
    description: The render directory.
    type: str
    required: true
  component:
    description: A component (C(_k8s_component)), for the paths of its Secrets and manifests.
    type: str
  namespace:
    description: The namespace of the Secrets in O(secrets) given by name, and of RV(_value.secret_glob).
    type: str
    default: default
  order:
    description: The component's apply order (C(_k8s_order)), for RV(_value.component_manifests) and RV(_value.manifest_globs).
    type: int
  secrets:
    description: Secrets of O(component) to name the files of, each a name (in O(namespace)) or C({name, namespace}).
    type: list
    elements: raw
    default: []
  objects:
    description: Non-secret objects of O(component) (C({kind, name})) to give a file glob for.
    type: list
    elements: dict
    default: []
"""

EXAMPLES = r"""
- name: Where the Stalwart role writes config.json and plan.ndjson
  ansible.builtin.debug:
    msg: "{{ (openova_stalwart_render_dir | openova.stalwart.render_paths).stalwart }}"

- name: The file of a rendered Secret
  ansible.builtin.debug:
    msg: >-
      {{ (openova_stalwart_render_dir | openova.stalwart.render_paths(component='stalwart', namespace='mail',
          secrets=['stalwart-credentials'])).secret_files['stalwart-credentials'] }}
"""

RETURN = r"""
_value:
  description: Absolute paths (relative when the render directory is empty).
  type: dict
  contains:
    root:
      description: The render directory.
      type: str
    kubernetes:
      description: Every non-secret manifest and their kustomization.
      type: str
    secrets:
      description: Every Secret manifest, the DKIM private keys among them (mode 0700).
      type: str
    stalwart:
      description: C(config.json) and C(plan.ndjson).
      type: str
    dns:
      description: The zone file snippets.
      type: str
    legacy_dkim_keys:
      description: The directory where earlier releases kept a second copy of every DKIM key, as a file.
      type: str
    legacy_dkim_key_glob:
      description: A glob matching the key files in RV(_value.legacy_dkim_keys).
      type: str
    legacy_dkim_rotation:
      description: The file where earlier releases kept the DKIM rotation state (now the ConfigMap C(<name>-dkim-rotation)).
      type: str
    component_secrets:
      description: The directory of the Secrets of O(component).
      type: str
      returned: with O(component)
    secret_files:
      description: Secret name to file, for O(secrets).
      type: dict
      returned: with O(component)
    secret_glob:
      description: A glob matching every Secret file of O(component) in O(namespace).
      type: str
      returned: with O(component)
    secret_name_re:
      description: A regular expression whose group 1 is the Secret name in a file RV(_value.secret_glob) matches.
      type: str
      returned: with O(component)
    component_manifests:
      description: The directory of the non-secret manifests of O(component).
      type: str
      returned: with O(component) and O(order)
    manifest_globs:
      description: For each of O(objects), a glob matching its manifest file.
      type: list
      elements: str
      returned: with O(component) and O(order)
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.openova.stalwart.plugins.module_utils import _layout


def render_paths(render_dir, component=None, namespace="default", order=None, secrets=(), objects=()):
    """Jinja entry point."""
    try:
        return _layout.render_paths(render_dir, component, namespace, order, secrets or (), objects or ())
    except (TypeError, ValueError, KeyError) as exc:
        raise AnsibleFilterError(f"render_paths: {exc}") from exc


class FilterModule:
    """The render directory's layout."""

    def filters(self):
        return {"render_paths": render_paths}
