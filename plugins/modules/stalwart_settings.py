#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# Apache-2.0 is compatible with the GNU General Public License version 3, the license of ansible-core.

from __future__ import annotations

DOCUMENTATION = r"""
module: stalwart_settings
short_description: Apply a Stalwart settings plan over JMAP, changing only what differs
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Converges a running Stalwart 0.16 server to a settings plan, the NDJSON operations of C(stalwart-cli apply) as
    rendered by M(openova.stalwart.stalwart_config) (C(upsert) with C(matchOn), singleton C(update), C(#id) references).
  - Unlike C(stalwart-cli apply) it diffs first. It reads every object type the plan touches in a few batched requests,
    matches plan objects to live ones on their C(matchOn) properties, creates what is missing and updates only the
    properties that differ. Objects the plan does not mention are left alone, unless O(reconcile) asks to delete them.
  - Writes are batched, one C(x:<Type>/set) per type, split only by the server's C(maxObjectsInSet) and
    C(maxCallsInRequest). A second run against a converged server sends no C(set) at all and reports no change.
  - Secret values read back masked, so properties holding a secret (for example an account password) are written when
    the object is created and not compared afterwards.
  - 'Plan-level secret references C({"@env": "NAME"}) (used by M(openova.stalwart.stalwart_config) for account passwords)
    are replaced by the value of C(NAME) in O(secrets), or else by the environment variable C(NAME) of the host running
    the module.'
requirements:
  - dnspython >= 2.4 (only with O(resolvers))
extends_documentation_fragment:
  - openova.stalwart.stalwart_api
  - openova.stalwart.resolvers
  - openova.stalwart.attributes
  - openova.stalwart.attributes.ACTIONGROUP_STALWART
attributes:
  check_mode:
    support: full
    details:
      - Reads the live objects and reports what would change; sends no C(set).
  diff_mode:
    support: full
    details:
      - Before and after of every object that changes, by type and C(matchOn) label, with secrets masked.
  idempotent:
    support: full
options:
  plan:
    description:
      - The plan, as a list of operations (the C(plan) returned by M(openova.stalwart.stalwart_config)) or as NDJSON text.
      - Mutually exclusive with O(plan_file).
    type: raw
  plan_file:
    description:
      - Path of a C(plan.ndjson) file on the host running the module. Lines starting with C(#) are comments.
    type: path
  secrets:
    description:
      - Values for the secret references in the plan, by reference name (for example C(STALWART_SMOKE_PASSWORD)).
        Names not given here are read from the environment of the module.
      - A plan rendered with password hashes apart (render mode) names them C(STALWART_HASH_<id>) (their values are in
        the settings Secret of C(secrets/)). An account password from a Kubernetes Secret (an C(@hash) reference to NAME
        in the plan) is hashed here from the value of NAME with the key C(STALWART_ACCOUNT_KEY), both given here or in the environment.
    type: dict
    default: {}
  schema_check:
    description:
      - Fetch the server's registry schema (C(/api/schema)) and check every object type, property, value type, enum
        value and update kind of the changes against it before writing anything, so a bad plan fails whole instead of
        half-applied. A server that does not serve the schema gets a warning and the server-side checks only.
    type: bool
    default: true
  reconcile:
    description:
      - Object types whose objects the plan does not match are deleted (children are deleted before parents when
        several types are listed in parent-first order).
      - Each item has C(object), the type (for example C(DkimSignature)), and optional C(scope), a dictionary of property
        values an object must have to be considered, for example the C(domainId) of one domain; a C(#<creation id>) in
        it names an object of the plan (an entry whose plan object the server does not have matches nothing).
      - With C(report=true) the objects are only listed in RV(unmanaged), never deleted.
    type: list
    elements: dict
    default: []
seealso:
  - module: openova.stalwart.stalwart_config
  - name: stalwart-cli apply
    description: The plan format.
    link: https://stalw.art/docs/management/cli/apply/
"""

EXAMPLES = r"""
- name: Render the settings
  openova.stalwart.stalwart_config:
    hostname: mail.example.org
    domains: "{{ stalwart_domains }}"
    data_store: {host: stalwart-db-rw}
    blob_store: {bucket: stalwart, region: us-east-1, endpoint: "http://minio.minio:80"}
    accounts:
      - {name: smoke, domain: example.org, password_env: STALWART_SMOKE_PASSWORD}
  register: stalwart_render

- name: Apply them
  openova.stalwart.stalwart_settings:
    url: http://127.0.0.1:8080
    username: admin
    password: "{{ stalwart_admin_password }}"
    plan: "{{ stalwart_render.plan }}"
    secrets:
      STALWART_SMOKE_PASSWORD: "{{ stalwart_smoke_password }}"

- name: Apply a plan file and delete DKIM signatures the plan no longer lists
  openova.stalwart.stalwart_settings:
    url: https://mail.example.org
    username: admin
    password: "{{ stalwart_admin_password }}"
    plan_file: /srv/render/stalwart/plan.ndjson
    reconcile:
      - object: DkimSignature
"""

RETURN = r"""
changes:
  description: Number of objects created, updated and destroyed, by object type (only types with changes).
  returned: always
  type: dict
  sample: {"Domain": {"create": 2, "update": 0, "destroy": 0}, "SystemSettings": {"create": 0, "update": 1, "destroy": 0}}
requests:
  description: HTTP requests sent to the server (session, reads and writes).
  returned: always
  type: int
  sample: 3
unmanaged:
  description: Objects that O(reconcile) entries with C(report=true) found and the plan does not manage (left alone).
  returned: always
  type: list
  elements: str
  sample: ["Account emailAddress=old@example.org"]
set_calls:
  description: C(x:<Type>/set) method calls sent (0 in check mode and when nothing differs).
  returned: always
  type: int
  sample: 12
"""

import collections
import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.openova.stalwart.plugins.module_utils import _dns_verify, _jmap, _stalwart_accounts, _stalwart_plan, _stalwart_schema


def load_plan(module: AnsibleModule) -> list:
    plan = module.params["plan"]
    if module.params["plan_file"]:
        try:
            with open(module.params["plan_file"], encoding="utf-8") as handle:
                return _stalwart_plan.parse_ndjson(handle.read(), module.params["plan_file"])
        except OSError as exc:
            raise ValueError(f"plan_file: cannot read {module.params['plan_file']}: {exc}") from None
    if isinstance(plan, str):
        return _stalwart_plan.parse_ndjson(plan, "plan")
    if not isinstance(plan, list):
        raise ValueError(f"plan: expected a list of operations or NDJSON text, got {type(plan).__name__}")
    return plan


def transport(module: AnsibleModule) -> _jmap.Transport:
    """Over open_url, or (O(resolvers)) to the addresses those name servers give for the URL's host."""
    params = module.params
    if params["resolvers"] and not _dns_verify.HAS_DNSPYTHON:
        module.fail_json(msg=missing_required_lib("dnspython"))
    resolve = _dns_verify.host_resolver(params["resolvers"], params["resolver_port"], params["timeout"])
    return _jmap.transport(resolve, params["validate_certs"], params["ca_path"])


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            username=dict(type="str", required=True),
            password=dict(type="str", required=True, no_log=True),
            validate_certs=dict(type="bool", default=True),
            ca_path=dict(type="path"),
            timeout=dict(type="int", default=30),
            resolvers=dict(type="list", elements="str", default=[]),
            resolver_port=dict(type="int", default=53),
            plan=dict(type="raw"),
            plan_file=dict(type="path"),
            secrets=dict(type="dict", default={}, no_log=True),
            reconcile=dict(type="list", elements="dict", default=[]),
            schema_check=dict(type="bool", default=True),
        ),
        mutually_exclusive=[("plan", "plan_file")],
        required_one_of=[("plan", "plan_file")],
        supports_check_mode=True,
    )
    params = module.params
    try:
        ops = load_plan(module)
        for index, item in enumerate(params["reconcile"]):
            if not isinstance(item.get("object"), str) or not item["object"]:
                raise ValueError(f"reconcile[{index}].object is required")
            if not isinstance(item.get("scope") or {}, dict):
                raise ValueError(f"reconcile[{index}].scope must be a dictionary")
        client = _jmap.Client(params["url"], params["username"], params["password"], transport(module), timeout=params["timeout"])
        secrets = collections.ChainMap({k: to_native(v) for k, v in params["secrets"].items()}, os.environ)
        schema = None
        if params["schema_check"]:
            data = client.schema()
            if data is None:
                module.warn(f"{params['url']} does not serve /api/schema: the plan is checked by the server only")
            else:
                schema = _stalwart_schema.Schema(data)
        # Passwords from Secrets (password_secret) left for the applier: hashed with the account key given in secrets.
        ops = _stalwart_accounts.resolve_hash_refs(ops, secrets, secrets.get(_stalwart_accounts.ACCOUNT_KEY_ENV))
        result = _jmap.apply(client, ops, secrets=secrets, reconcile=params["reconcile"], check_mode=module.check_mode,
                             schema=schema)
    except (ValueError, _jmap.JmapError) as exc:
        module.fail_json(msg=to_native(exc))
    diff = result.pop("diff")
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
