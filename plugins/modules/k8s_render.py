#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# Apache-2.0 is compatible with the GNU General Public License version 3, the license of ansible-core.

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_render
short_description: Write one component's Kubernetes manifests into a GitOps render directory
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Writes every manifest of one component into O(path) in one pass, the render side of the internal role
    C(openova.stalwart._k8s). Non-secret objects go to C(kubernetes/<order>-<component>/<index>-<kind>-<name>.yaml),
    Namespaces to C(kubernetes/00-namespaces/<name>.yaml), and every Secret to
    C(secrets/<component>/<namespace>-<name>.yaml) (mode 0600) - nothing else ever goes under C(secrets/).
  - Regenerates C(kubernetes/kustomization.yaml) and C(secrets/kustomization.yaml), which list every file of every
    component sorted in apply order, and deletes this component's files that are no longer produced.
  - Output is byte-stable, so a second run with the same manifests reports no change.
extends_documentation_fragment:
  - openova.stalwart.attributes
  - openova.stalwart.attributes.CONTROLLER_ACTION
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Secret files show as changed without their content.
  idempotent:
    support: full
options:
  path:
    description: The render directory (absolute path).
    type: path
    required: true
  component:
    description:
      - Name of the component; names its sub-directories and limits pruning to its files.
      - One of the collection's components (C(stalwart), C(cnpg), C(cnpg-objectstore), C(cnpg-backup), C(cnpg-backup-now), C(minio),
        C(dns), C(cnpg-operator), C(minio-operator)). Each may write only the API versions and kinds listed for
        it in C(plugins/module_utils/_k8s_render.py) (C(ALLOWED_KINDS)); any other object fails the task before
        a file is written.
    type: str
    required: true
  namespaces:
    description:
      - The namespaces the component owns. When given, every namespaced object must be in one of them and every
        Namespace must be one of them (not checked for the operator components, whose pinned release manifest
        names its own).
    type: list
    elements: str
  order:
    description: Apply order of the component (1-99), the prefix of its directory under C(kubernetes/).
    type: int
    required: true
  manifests:
    description:
      - The component's Kubernetes objects in apply order, each with C(apiVersion), C(kind) and C(metadata.name).
      - An item may also be YAML text of one or more such objects (a rendered template), taken in its place in
        document order.
      - Not logged, since Secrets carry their values.
    type: list
    elements: raw
    required: true
requirements:
  - PyYAML
"""

EXAMPLES = r"""
- name: Render the PostgreSQL manifests
  openova.stalwart.k8s_render:
    path: /srv/gitops/mail
    component: cnpg
    order: 20
    manifests:
      - apiVersion: postgresql.cnpg.io/v1
        kind: Cluster
        metadata: {name: stalwart-db, namespace: mail}
        spec: {instances: 2, storage: {size: 10Gi}}
"""

RETURN = r"""
written:
  description: Files written (created or updated), relative to O(path), including the kustomizations.
  type: list
  elements: str
  returned: always
  sample: [kubernetes/20-cnpg/000-cluster-stalwart-db.yaml, kubernetes/kustomization.yaml]
removed:
  description: Files and directories of this component that were deleted because no manifest produces them.
  type: list
  elements: str
  returned: always
  sample: [kubernetes/20-cnpg/001-podmonitor-stalwart-db.yaml]
tightened:
  description:
    - Secret files and directories of this component (and C(secrets/)) that existed with a looser mode and were set
      to C(0600) (files) or C(0700) (directories); reported as a change.
  type: list
  elements: str
  returned: always
  sample: [secrets/stalwart/mail-stalwart-credentials.yaml]
files:
  description: Every file of this component, relative to O(path).
  type: list
  elements: str
  returned: always
  sample: [kubernetes/20-cnpg/000-cluster-stalwart-db.yaml]
"""

from ansible.module_utils.basic import AnsibleModule


def module_kwargs() -> dict:
    """The argument spec, with which the action plugin validates the task's arguments."""
    return dict(
        argument_spec=dict(
            path=dict(type="path", required=True),
            component=dict(type="str", required=True),
            order=dict(type="int", required=True),
            manifests=dict(type="list", elements="raw", required=True, no_log=True),
            namespaces=dict(type="list", elements="str"),
        ),
        supports_check_mode=True,
    )


def main() -> None:
    module = AnsibleModule(**module_kwargs())
    module.fail_json(msg="openova.stalwart.k8s_render runs on the controller, in its action plugin")


if __name__ == "__main__":
    main()
