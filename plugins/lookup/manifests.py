# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# Apache-2.0 is compatible with the GNU General Public License version 3, the license of ansible-core.

from __future__ import annotations

DOCUMENTATION = r"""
name: manifests
short_description: Kubernetes objects from a role's Jinja templates
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Renders each template (found like M(ansible.builtin.template) finds them, in the role's C(templates/)) with
    the task's variables and returns every YAML document of every template, in order, as one flat list of objects.
    A template may render no document (a feature turned off), one, or several (separated by C(---)).
  - The same output as C(query('ansible.builtin.template', ...) | map('from_yaml_all') | flatten(levels=1)), but
    each template sees a shallow copy of the variables, like M(ansible.builtin.template), where that lookup
    deep-copies every variable of the play for each template.
  - Documents are parsed with PyYAML's safe loader (the C one when libyaml is there); the strings returned are
    data, never templated again.
options:
  _terms:
    description: Template file names.
    type: list
    elements: str
    required: true
  text:
    description:
      - Return the rendered text of each template (once checked to be YAML mappings) instead of its objects, one
        string per template that renders a document.
      - For M(openova.stalwart.k8s_render), which takes either form. Ansible copies an object container by
        container whenever a task passes it on, a string not at all.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Template the manifests
  ansible.builtin.set_fact:
    _stalwart_manifests: "{{ query('openova.stalwart.manifests', 'namespace.yaml.j2', 'statefulset.yaml.j2') }}"

- name: The same as YAML text, one string per template
  ansible.builtin.set_fact:
    _stalwart_manifests: "{{ query('openova.stalwart.manifests', 'namespace.yaml.j2', 'statefulset.yaml.j2', text=true) }}"
"""

RETURN = r"""
_raw:
  description:
    - The objects of every document of every template, empty documents left out.
    - With O(text=true), the rendered text of every template that renders a document.
  type: list
  elements: raw
"""

import os

from ansible.errors import AnsibleError, AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.template import trust_as_template

from ansible_collections.openova.stalwart.plugins.module_utils._manifests import parse_documents


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        variables = variables or {}
        searchpath = []
        for path in variables.get("ansible_search_path", []):
            searchpath += [os.path.join(path, "templates"), path]
        objects = []
        for term in terms:
            found = self.find_file_in_search_path(variables, "templates", term)
            if not found:
                raise AnsibleLookupError(f"manifests: template {term!r} not found")
            text = trust_as_template(self._loader.get_text_file_contents(found))
            # A shallow copy, as the template action makes: templates only read the variables.
            templar = self._templar.copy_with_new_env(searchpath=[os.path.dirname(found)] + searchpath,
                                                      available_variables=dict(variables))
            # None when every line is a false {% if %} block, as the template action reads it.
            rendered = templar.template(text, escape_backslashes=False)
            try:
                documents = parse_documents("" if rendered is None else rendered, term)
            except ValueError as exc:
                raise AnsibleError(f"manifests: {exc}") from exc
            if not self.get_option("text"):
                objects += documents
            elif documents:
                objects.append(str.__str__(rendered))  # a plain str: data, not a template
        return objects
