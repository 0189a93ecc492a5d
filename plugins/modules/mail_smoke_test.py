#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# Apache-2.0 is compatible with the GNU General Public License version 3, the license of ansible-core.

from __future__ import annotations

DOCUMENTATION = r"""
module: mail_smoke_test
short_description: End-to-end mail test - submit, read back over IMAP and JMAP, check DKIM, delete
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Submits one probe message over SMTP submission (port 465 with implicit TLS, or 587 with STARTTLS) with
    SMTP AUTH, finds it again over IMAPS by its Message-ID and over JMAP with C(Email/query), checks that it
    carries a C(DKIM-Signature) aligned with the sender's domain, then deletes it.
  - Each step (connect, TLS, authentication, submission, fetch, JMAP, DKIM, cleanup) is timed. When one fails
    the task fails and the result names the step in RV(failed_step) with the reason in RV(msg), so an operator
    knows whether the network, TLS, credentials, delivery or signing broke.
  - The test account (O(username)/O(password)) must exist; the stalwart role creates it from the settings plan
    when C(STALWART_SMOKE_PASSWORD) is set.
  - The message is always sent to an address delivered into the O(username) mailbox (by default the
    account's own address).
requirements:
  - dnspython >= 2.4 (only with O(resolvers))
extends_documentation_fragment:
  - openova.stalwart.attributes
  - openova.stalwart.resolvers
  - openova.stalwart.attributes.ACTIONGROUP_STALWART
attributes:
  check_mode:
    support: full
    details:
      - In check mode the module connects and authenticates over SMTP, IMAP and JMAP, and sends nothing.
  diff_mode:
    support: N/A
    details:
      - A smoke test leaves nothing behind, so there is no difference to show.
  idempotent:
    support: full
    details:
      - The probe message is deleted again, so the module always reports RV(ignore:changed=false).
options:
  url:
    description:
      - Base URL of the Stalwart HTTPS listener, for example V(https://mail.example.org). The JMAP session is
        read from C(<url>/jmap/session); only the path of its C(apiUrl) is used.
      - Defaults to C(https://<host>). When O(host) is omitted it is taken from this URL.
    type: str
  host:
    description:
      - Host name (or IP address) of the mail server for SMTP and IMAP. TLS certificates are checked against it.
      - Required unless O(url) is given.
    type: str
  smtp_security:
    description:
      - V(tls) connects with implicit TLS (submissions, RFC 8314), V(starttls) upgrades a plain connection
        with STARTTLS (submission).
    type: str
    choices: [tls, starttls]
    default: tls
  smtp_port:
    description:
      - SMTP submission port. Defaults to V(465) with O(smtp_security=tls) and V(587) with
        O(smtp_security=starttls).
    type: int
  imap_port:
    description: IMAP port with implicit TLS.
    type: int
    default: 993
  username:
    description: Login of the smoke-test account, for SMTP AUTH, IMAP and JMAP.
    type: str
    required: true
  password:
    description: Password of the smoke-test account.
    type: str
    required: true
  from_address:
    description:
      - Envelope and header sender. Defaults to O(username) when it is an e-mail address.
      - Its domain is the one whose DKIM signature is checked.
    type: str
    aliases: [from]
  to_address:
    description: Recipient; it must be delivered into the O(username) mailbox. Defaults to O(from_address).
    type: str
    aliases: [to]
  validate_certs:
    description: Verify the servers' TLS certificates and host names.
    type: bool
    default: true
  ca_path:
    description: PEM file of the CA certificates to trust instead of the system store.
    type: path
  timeout:
    description: Seconds each network operation may take.
    type: float
    default: 10
  delivery_timeout:
    description: Seconds to wait for the submitted message to show up over IMAP (and then over JMAP).
    type: float
    default: 60
  jmap:
    description: Also find the message over JMAP (C(Email/query)) and delete it with C(Email/set).
    type: bool
    default: true
  require_dkim:
    description:
      - Fail unless the delivered message has a C(DKIM-Signature) whose C(d=) domain aligns (relaxed, as in
        DMARC) with the sender's domain. With V(false) the signatures are still reported.
    type: bool
    default: true
  dkim_selectors:
    description:
      - Selectors that must each have signed the message (aligned with the sender's domain), for example
        V([s1-rsa, s1-ed25519]) for the collection's default keys. Checked whatever O(require_dkim) says.
    type: list
    elements: str
    default: []
  cleanup:
    description: Delete the probe message after the checks (over JMAP when O(jmap=true), else over IMAP).
    type: bool
    default: true
notes:
  - Run it last, after DNS is published; the collection's C(site.yml) does so unless the C(smoke_test) tag
    is skipped.
  - When the message does not arrive within O(delivery_timeout) it may still arrive later and stay in the
    mailbox; the next run does not depend on it.
  - With O(resolvers), the mail host (SMTP, IMAP) and the host of O(url) (JMAP) are looked up on those name servers;
    TLS still checks the host name.
seealso:
  - module: openova.stalwart.stalwart_settings
"""

EXAMPLES = r"""
- name: Smoke-test the mail service
  openova.stalwart.mail_smoke_test:
    url: https://mail.example.org
    username: smoke@example.org
    password: "{{ lookup('ansible.builtin.env', 'STALWART_SMOKE_PASSWORD') }}"

- name: Through submission on 587 with STARTTLS, private CA, no JMAP
  openova.stalwart.mail_smoke_test:
    host: mail.example.org
    smtp_security: starttls
    username: smoke@example.org
    password: "{{ smoke_password }}"
    to: postmaster@example.org
    ca_path: /etc/ssl/private-ca.pem
    jmap: false
  register: smoke
  ignore_errors: true

- name: Say which step broke
  ansible.builtin.debug:
    msg: "{{ smoke.failed_step }}: {{ smoke.msg }}"
  when: smoke is failed
"""

RETURN = r"""
msg:
  description: "What happened; on failure C(smoke test failed at step <step>: <reason>)."
  returned: always
  type: str
failed_step:
  description: Name of the step that failed (see RV(steps)), or V(null).
  returned: always
  type: str
  sample: smtp_auth
steps:
  description: Every step run, in order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: >-
        One of V(smtp_connect), V(smtp_tls), V(smtp_auth), V(smtp_submit), V(imap_connect), V(imap_tls),
        V(imap_auth), V(jmap_session), V(imap_fetch), V(jmap_query), V(dkim), V(cleanup).
      type: str
    ok:
      description: Whether the step succeeded.
      type: bool
    seconds:
      description: How long the step took.
      type: float
    detail:
      description: What the step did, or why it failed.
      type: str
timings:
  description: Seconds per step name.
  returned: always
  type: dict
  sample: {"smtp_connect": 0.002, "smtp_tls": 0.011, "smtp_auth": 0.004, "imap_fetch": 0.52}
total_seconds:
  description: Seconds for the whole test.
  returned: always
  type: float
delivery_seconds:
  description: Seconds from the end of the submission until IMAP saw the message.
  returned: when the message was found
  type: float
message_id:
  description: Message-ID of the probe message, V(null) in check mode.
  returned: always
  type: str
  sample: <smoke-3f1c0e9b6a0d4f2c9d7e8a1b2c3d4e5f@example.org>
jmap_email_id:
  description: JMAP id of the probe message when it was found over JMAP.
  returned: always
  type: str
dkim_signatures:
  description: The DKIM-Signature headers of the delivered message.
  returned: always
  type: list
  elements: dict
  contains:
    domain:
      description: Signing domain (C(d=)).
      type: str
    selector:
      description: Selector (C(s=)).
      type: str
    algorithm:
      description: Algorithm (C(a=)), e.g. V(rsa-sha256) or V(ed25519-sha256).
      type: str
deleted:
  description: Whether the probe message was deleted again.
  returned: always
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.openova.stalwart.plugins.module_utils import _dns_verify, _jmap, _smoke


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "url": {"type": "str"},
            "host": {"type": "str"},
            "smtp_security": {"type": "str", "choices": ["tls", "starttls"], "default": "tls"},
            "smtp_port": {"type": "int"},
            "imap_port": {"type": "int", "default": 993},
            "username": {"type": "str", "required": True},
            "password": {"type": "str", "required": True, "no_log": True},
            "from_address": {"type": "str", "aliases": ["from"]},
            "to_address": {"type": "str", "aliases": ["to"]},
            "validate_certs": {"type": "bool", "default": True},
            "ca_path": {"type": "path"},
            "timeout": {"type": "float", "default": 10},
            "delivery_timeout": {"type": "float", "default": 60},
            "jmap": {"type": "bool", "default": True},
            "require_dkim": {"type": "bool", "default": True},
            "dkim_selectors": {"type": "list", "elements": "str", "default": []},
            "cleanup": {"type": "bool", "default": True},
            "resolvers": {"type": "list", "elements": "str", "default": []},
            "resolver_port": {"type": "int", "default": 53},
        },
        required_one_of=[("host", "url")],
        supports_check_mode=True,
    )
    try:
        params = _smoke.build_params(module.params)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if module.params["resolvers"] and not _dns_verify.HAS_DNSPYTHON:
        module.fail_json(msg=missing_required_lib("dnspython"))
    resolve = _dns_verify.host_resolver(module.params["resolvers"], module.params["resolver_port"], params.timeout)
    transport = _jmap.transport(resolve, params.validate_certs, params.ca_path)
    result = _smoke.SmokeTest(params, module.check_mode, jmap=_smoke.jmap_client(params, transport), resolve=resolve).run()
    if result["failed_step"]:
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
