#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# Apache-2.0 is compatible with the GNU General Public License version 3, the license of ansible-core.

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_manifests
short_description: Server-side apply one component's Kubernetes manifests, only what would change, then wait
version_added: 0.2.0
author: OpenOva (@openova)
description:
  - The apply side of the internal role C(openova.stalwart._k8s) (its render side is M(openova.stalwart.k8s_render)).
  - Reads the live object of every manifest and decides from its C(metadata.managedFields) whether a server-side
    apply by O(field_manager) would change it - a field the manifest sends with another value or not owned yet, or a
    field our manager owns and the manifest no longer sends (the apply removes it, so an annotation, a CPU limit or
    an environment variable dropped from a template is dropped from the cluster). An object that would not change
    gets one read and no write, so a converged cluster receives no request but reads.
  - Server-side applies the others in order (field manager O(field_manager), conflicts forced), and counts an object
    as changed only when the object the server returns differs from the live one.
  - Then waits for O(waits) and for every manifest of a kind in O(wait_kinds), per kind as
    C(plugins/module_utils/_k8s_wait.py) declares it (Deployment and StatefulSet rolled out, CloudNativePG Cluster and
    cert-manager Certificate Ready, Job complete, CustomResourceDefinition Established, others a Ready condition).
  - In check mode nothing is written - each object that would change is applied with C(dryRun=All) and compared with
    the live object; one whose Namespace or kind (CRD) does not exist yet is reported in RV(would_create) without
    asking the server. With C(--diff) each change shows as the live object against the dry-run result (Secret values
    hidden).
  - A plain module, as M(kubernetes.core.k8s) is - it runs on the task's host (usually C(localhost)), where
    O(kubeconfig) is read and the Python C(kubernetes) client must be installed.
extends_documentation_fragment:
  - openova.stalwart.attributes
  - openova.stalwart.attributes.ACTIONGROUP_K8S
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: A Secret's values are replaced by markers that only tell which keys changed.
  idempotent:
    support: full
options:
  component:
    description:
      - The component the manifests belong to. Each may write only the API versions and kinds listed for it in
        C(plugins/module_utils/_k8s_render.py) (C(ALLOWED_KINDS)); any other object fails the task before anything
        is read or written.
    type: str
    required: true
  namespaces:
    description:
      - The namespaces the component owns. When given, every namespaced object must be in one of them and every
        Namespace must be one of them.
    type: list
    elements: str
  manifests:
    description:
      - The objects, in apply order, each with C(apiVersion), C(kind) and C(metadata.name). An item may also be YAML
        text of one or more objects, taken in its place in document order.
      - A Secret's C(stringData) is sent as base64 C(data), the fields the API server stores.
      - Not logged, since Secrets carry their values.
      - An empty list, with no O(waits), only checks that the API server answers (C(GET /version)), as the first step
        of an apply-mode run, so that an unreachable cluster fails at once naming its URL.
    type: list
    elements: raw
    required: true
  field_manager:
    description: The field manager of the server-side applies.
    type: str
    default: openova.stalwart
  waits:
    description:
      - What to wait for after applying. Each item has C(api_version), C(kind), C(name), optional C(namespace) and
        C(timeout) (seconds), and optionally either C(condition) (a condition type that must be C(True)) or C(field)
        (a dotted path into the object) with the C(value) it must reach. Without either, the kind's own rule.
    type: list
    elements: dict
    default: []
  wait_kinds:
    description: Also wait, by the kind's own rule, for every manifest of these kinds (for example C(Deployment)).
    type: list
    elements: str
    default: []
  wait:
    description: Whether to wait at all (never in check mode).
    type: bool
    default: true
  wait_timeout:
    description: Timeout of a wait that gives none, in seconds; the longest timeout bounds the wait for all.
    type: int
    default: 600
  kubeconfig:
    description:
      - Path of the kubeconfig file. Empty uses E(K8S_AUTH_KUBECONFIG), else the kubernetes client's defaults
        (E(KUBECONFIG), C(~/.kube/config), the in-cluster service account).
    type: path
  context:
    description: The kubeconfig context; empty uses E(K8S_AUTH_CONTEXT), else the current one.
    type: str
requirements:
  - kubernetes (the Python client)
  - PyYAML
seealso:
  - module: openova.stalwart.k8s_render
  - name: Server-Side Apply
    description: How the API server merges an applied configuration and removes the fields a manager stops applying.
    link: https://kubernetes.io/docs/reference/using-api/server-side-apply/
"""

EXAMPLES = r"""
- name: Apply the PostgreSQL cluster and wait until it is Ready
  openova.stalwart.k8s_manifests:
    component: cnpg
    namespaces: [mail]
    manifests:
      - apiVersion: postgresql.cnpg.io/v1
        kind: Cluster
        metadata: {name: stalwart-db, namespace: mail}
        spec: {instances: 2, storage: {size: 10Gi}}
    waits:
      - {api_version: postgresql.cnpg.io/v1, kind: Cluster, name: stalwart-db, namespace: mail}
    kubeconfig: ~/.kube/config
"""

RETURN = r"""
applied:
  description: The objects server-side applied because they changed (created or updated), as C(Kind namespace/name).
  type: list
  elements: str
  returned: always
  sample: ["ConfigMap mail/stalwart-config"]
created:
  description: The objects among RV(applied) that did not exist before.
  type: list
  elements: str
  returned: always
would_create:
  description: In check mode, the objects that do not exist and whose Namespace or kind is not there yet either.
  type: list
  elements: str
  returned: always
unchanged:
  description: How many objects an apply would not change.
  type: int
  returned: always
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.openova.stalwart.plugins.module_utils import _k8s_apply, _k8s_client, _k8s_render, _k8s_wait

try:
    import yaml  # noqa: F401  pylint: disable=unused-import
    HAS_YAML = True
    YAML_ERROR = None
except ImportError:
    HAS_YAML = False
    YAML_ERROR = traceback.format_exc()


def module_kwargs() -> dict:
    """AnsibleModule's arguments."""
    return dict(
        argument_spec=dict(
            component=dict(type="str", required=True),
            namespaces=dict(type="list", elements="str"),
            manifests=dict(type="list", elements="raw", required=True, no_log=True),
            field_manager=dict(type="str", default="openova.stalwart"),
            waits=dict(type="list", elements="dict", default=[]),
            wait_kinds=dict(type="list", elements="str", default=[]),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=600),
            kubeconfig=dict(type="path"),
            context=dict(type="str"),
        ),
        supports_check_mode=True,
    )


def _objects(module) -> list:
    """The manifests parsed and checked (the allow-list included), each prepared for the apply."""
    try:
        manifests = _k8s_render.objects(module.params["manifests"])  # a parse error names no content
        for index, manifest in enumerate(manifests):
            meta = manifest.get("metadata") if isinstance(manifest, dict) else None
            if not isinstance(meta, dict) or not manifest.get("apiVersion") or not manifest.get("kind") or not meta.get("name"):
                raise ValueError(f"manifests[{index}]: expected a Kubernetes object with apiVersion, kind and metadata.name")
        _k8s_render.allowed(module.params["component"], manifests, module.params["namespaces"])
        for item in module.params["waits"]:
            _k8s_wait.check(item)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    desired = [_k8s_apply.prepare(m) for m in manifests]
    module.no_log_values = _k8s_render.secret_values(manifests) | _k8s_render.secret_values(desired)
    return desired


def main() -> None:
    module = AnsibleModule(**module_kwargs())
    # no_log on the option masks everything should the arguments be refused; past that point only the Secrets'
    # values are secret (masking every word of every manifest would garble the result).
    module.no_log_values = _k8s_render.secret_values(module.params["manifests"])
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_ERROR)
    if not _k8s_client.HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"))
    desired = _objects(module)
    params = module.params
    waits = list(params["waits"]) + [
        {"api_version": m["apiVersion"], "kind": m["kind"], "name": m["metadata"]["name"],
         "namespace": m["metadata"].get("namespace")} for m in desired if m["kind"] in params["wait_kinds"]]
    try:
        cluster = _k8s_client.Cluster(params["kubeconfig"], params["context"])
        if not desired and not waits:
            cluster.answers()
        outcome = _k8s_client.converge(cluster, desired, params["field_manager"], module.check_mode,
                                       diff=module._diff)  # pylint: disable=protected-access
        if params["wait"] and not module.check_mode:
            _k8s_client.wait(cluster, waits, params["wait_timeout"])
    except _k8s_client.ClusterError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # pylint: disable=broad-except
        # Configuration errors of the kubernetes client (no kubeconfig, no such context), in one line.
        module.fail_json(msg=f"Kubernetes: {_k8s_client.error_text(exc)}")
    result = {"changed": outcome.changed, "applied": outcome.applied, "created": outcome.created,
              "would_create": outcome.would_create, "unchanged": outcome.unchanged,
              # The manifests are in the cluster already; echoing them back would only cost time.
              "invocation": {"module_args": dict(params, manifests=f"({len(desired)} objects)")}}
    if module._diff and outcome.diffs:  # pylint: disable=protected-access
        result["diff"] = outcome.diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
