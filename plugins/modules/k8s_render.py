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
  - openova.stalwart.attributes.ACTION_IN_PROCESS
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
        document order. Ansible passes a string between tasks at no cost, while it copies an object container by
        container (an Ingress for a thousand domains has some twenty thousand).
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

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.openova.stalwart.plugins.module_utils import _k8s_render

try:
    import yaml  # noqa: F401  pylint: disable=unused-import
    HAS_YAML = True
    YAML_ERROR = None
except ImportError:
    HAS_YAML = False
    YAML_ERROR = traceback.format_exc()


def module_kwargs() -> dict:
    """AnsibleModule's arguments (the action plugin validates with the same spec)."""
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


def run(module) -> None:
    """The module's work; ``module`` is AnsibleModule, or its stand-in when the action plugin runs it in-process."""
    # no_log on the option masks everything should the arguments be refused; past that point only the Secrets'
    # values are secret (masking every word of every manifest would garble the diff, and scanning the result
    # for each of them takes seconds at a thousand domains).
    module.no_log_values = _k8s_render.secret_values(module.params["manifests"])
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_ERROR)
    try:
        manifests = _k8s_render.objects(module.params["manifests"])  # a parse error names no content
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    module.no_log_values = _k8s_render.secret_values(manifests)
    try:
        result = _k8s_render.sync(module.params["path"], module.params["component"], module.params["order"],
                                  manifests, check_mode=module.check_mode, namespaces=module.params["namespaces"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg=f"path: cannot write {module.params['path']}: {exc}")
    diff = result.pop("diff")
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = diff
    # The manifests are written to files already; echoing them back in the result would only cost time.
    result["invocation"] = {"module_args": dict(module.params, manifests=f"({len(manifests)} objects)")}
    module.exit_json(**result)


def main() -> None:
    run(AnsibleModule(**module_kwargs()))


if __name__ == "__main__":
    main()
