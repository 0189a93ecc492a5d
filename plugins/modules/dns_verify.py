#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# Apache-2.0 is compatible with the GNU General Public License version 3, the license of ansible-core.

from __future__ import annotations

DOCUMENTATION = r"""
module: dns_verify
short_description: Verify mail DNS records on the authoritative servers
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Asks the authoritative servers of each zone directly (found through NS, or O(server)) for every record
    computed by M(openova.stalwart.dns_records) and compares them; each value must be on every server.
  - Checks that each published DKIM key is the key in use (the C(p=) of O(dkim_records)), that each domain has
    exactly one syntactically valid SPF record needing at most 10 DNS lookups (following C(include:) and
    C(redirect=) through the resolver), and exactly one valid DMARC record.
  - Can wait for propagation, and fails with a readable list of what is missing or wrong.
  - All domains are checked in one task.
extends_documentation_fragment:
  - openova.stalwart.attributes
  - openova.stalwart.attributes.ACTIONGROUP_DNS
  - openova.stalwart.attributes.INFO_MODULE
  - openova.stalwart.dns
  - openova.stalwart.resolvers
options:
  records:
    description: The RV(openova.stalwart.dns_records#module:records) of M(openova.stalwart.dns_records).
    type: list
    elements: dict
    required: true
  dkim_records:
    description: The public DKIM records in use, as returned per key by M(openova.stalwart.dkim_key).
    type: list
    elements: dict
    default: []
  exact:
    description: Treat values others added to a managed rrset (a backup MX, say) as wrong.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to keep checking until every record is right (propagation); V(0) checks once.
    type: int
    default: 0
  interval:
    description: Seconds between two checks while waiting.
    type: float
    default: 2
notes:
  - O(resolvers) find the name servers of each zone (when O(server) is not set) and follow SPF includes.
seealso:
  - module: openova.stalwart.dns_records
requirements:
  - dnspython >= 2.4
"""

EXAMPLES = r"""
- name: Publish the records
  openova.stalwart.dns_records:
    domains: "{{ stalwart_domains }}"
    mail_host: mail.example.org
    provider: rfc2136
    server: ns1.example.org
    key_name: mail-update
    key_secret: "{{ vault_tsig_secret }}"
  register: published

- name: Wait until every authoritative server has them
  openova.stalwart.dns_verify:
    records: "{{ published.records }}"
    dkim_records: "{{ stalwart_dkim_records }}"
    wait_timeout: 300
"""

RETURN = r"""
ok:
  description: Whether every check passed.
  returned: always
  type: bool
checks:
  description: One entry per check.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: Owner name., type: str, returned: always}
    rtype: {description: Record type., type: str, returned: always}
    kind: {description: "Record kind (mx, spf, dkim, ...), or spf_check / dmarc_check for the syntax checks.", type: str, returned: always}
    status: {description: "ok, missing or wrong.", type: str, returned: always}
    expected: {description: Expected values., type: list, elements: str, returned: always}
    found: {description: Values found on the servers., type: list, elements: str, returned: always}
    problem: {description: "What is wrong, empty when ok.", type: str, returned: always}
problems:
  description: One readable line per failed check.
  returned: always
  type: list
  elements: str
attempts:
  description: How many times the records were checked.
  returned: always
  type: int
"""

import time
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.openova.stalwart.plugins.module_utils import _dns_records, _dns_verify, _rfc2136, _validate


def main() -> None:
    spec = dict(
        records=dict(type="list", elements="dict", required=True),
        dkim_records=dict(type="list", elements="dict", default=[]),
        resolvers=dict(type="list", elements="str", default=[]),
        resolver_port=dict(type="int", default=53),
        exact=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=0),
        interval=dict(type="float", default=2.0),
    )
    spec.update(_rfc2136.SERVER_ARGS)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    if not _dns_verify.HAS_DNSPYTHON:
        module.fail_json(msg=missing_required_lib("dnspython"), exception=traceback.format_exc())
    params = module.params
    try:
        rrsets = []
        for index, record in enumerate(params["records"]):
            try:
                rrsets.append(_dns_records.RRset.from_dict(record))
            except (KeyError, TypeError, ValueError):
                raise ValueError(f"records[{index}]: not a record returned by dns_records ({record!r})") from None
        for index, address in enumerate(params["resolvers"]):
            _validate.ip_address(address, f"resolvers[{index}]")
        _validate.port(params["resolver_port"], "resolver_port")
        if params["wait_timeout"] < 0 or params["interval"] <= 0:
            raise ValueError("wait_timeout, interval: expected wait_timeout >= 0 and interval > 0")
        servers = None
        tsig = None
        if params["server"]:
            server = _rfc2136.server_from_params(params)
            servers = [(server.host, server.port)]
            tsig = server.tsig()
        resolver = _dns_verify.make_resolver(params["resolvers"], params["resolver_port"], params["timeout"])
    except (ValueError, _rfc2136.DNSError) as exc:
        module.fail_json(msg=str(exc))

    resolve = _dns_verify.resolver_lookup(resolver)
    deadline = time.monotonic() + params["wait_timeout"]
    attempts = 0
    while True:
        attempts += 1
        lookup = _dns_verify.AuthoritativeLookup({r.name: r.zone for r in rrsets}, servers, params["timeout"],
                                                 tsig, resolver)
        try:
            statuses = _dns_verify.verify(rrsets, params["dkim_records"], lookup, resolve, params["exact"])
            problems = _dns_verify.problems(statuses)
        except ValueError as exc:
            statuses, problems = [], [str(exc)]
        if not problems or time.monotonic() + params["interval"] > deadline:
            break
        time.sleep(params["interval"])
    result = {"changed": False, "ok": not problems, "checks": [s.as_dict() for s in statuses],
              "problems": problems, "attempts": attempts}
    if problems:
        module.fail_json(msg=f"{len(problems)} DNS check(s) failed:\n- " + "\n- ".join(problems), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
