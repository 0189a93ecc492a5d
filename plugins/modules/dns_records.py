#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# Apache-2.0 is compatible with the GNU General Public License version 3, the license of ansible-core.

from __future__ import annotations

DOCUMENTATION = r"""
module: dns_records
short_description: Compute and publish the DNS records of self-hosted mail domains
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Computes, for every mail domain, the records receivers and clients look up - MX, SPF, DKIM, DMARC, TLS-RPT,
    MTA-STS, SRV (RFC 6186, RFC 8314, JMAP), autoconfig/autodiscover, and optionally CAA and DANE TLSA - plus the
    mail host's own A/AAAA and HELO SPF records.
  - Publishes them with one of several providers. V(rfc2136) reads each zone once (AXFR, or queries when
    transfers are refused) and sends at most ONE atomic, TSIG-signed UPDATE per zone, with prerequisites so an
    edit made meanwhile by someone else makes the UPDATE fail instead of being overwritten. No UPDATE is sent
    when a zone already matches.
  - Only the rrsets it computes are touched; at the zone apex only the TXT value starting with C(v=spf1) is
    managed, other TXT records there stay.
  - Every domain is handled in one call, so a playbook needs one task for all of them.
extends_documentation_fragment:
  - openova.stalwart.attributes
  - openova.stalwart.attributes.CONTROLLER_ACTION
  - openova.stalwart.attributes.ACTIONGROUP_DNS
  - openova.stalwart.dns
  - openova.stalwart.resolvers
attributes:
  check_mode:
    support: full
    details: Zones are read and the changes computed; no UPDATE is sent and no file is written.
  diff_mode:
    support: full
    details: Shows the rrsets of each zone before and after, and zone file contents.
  idempotent:
    support: full
options:
  domains:
    description:
      - The mail domains, usually C(stalwart_domains). Keys other than those below are ignored, so the same
        list can carry settings of other roles.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The mail domain.
        type: str
        required: true
      zone:
        description: The DNS zone the domain's records are written to. Defaults to the domain itself.
        type: str
      dkim_selectors:
        description:
          - A list publishes only the DKIM records of these selectors (default all given in O(dkim_records)).
          - A dictionary (C({rsa, ed25519}), the form C(stalwart_domains[].dkim_selectors) takes) names the keys
            O(dkim_records) holds for the domain already, so all of them are published.
        type: raw
      spf_mechanisms:
        description: SPF mechanisms of this domain, replacing O(spf_mechanisms).
        type: list
        elements: str
      spf_all:
        description: Final SPF qualifier of this domain, replacing O(spf_all).
        type: str
      dmarc:
        description: DMARC settings of this domain, merged over O(dmarc).
        type: dict
      tlsrpt_rua:
        description: TLS-RPT report addresses of this domain, replacing O(tlsrpt_rua).
        type: list
        elements: str
      mta_sts_mode:
        description: MTA-STS mode of this domain, replacing O(mta_sts.mode).
        type: str
  mail_host:
    description:
      - The FQDN of the mail host (C(stalwart_hostname)); the MX and the SMTP/IMAP SRV records point at it.
    type: str
    required: true
  mail_host_ipv4:
    description: IPv4 addresses of the mail host (the mail load balancer), published as its A rrset.
    type: list
    elements: str
    default: []
  mail_host_ipv6:
    description: IPv6 addresses of the mail host, published as its AAAA rrset.
    type: list
    elements: str
    default: []
  mail_host_hostname:
    description:
      - A host name the mail load balancer reports instead of an address (AWS NLB/ELB). The mail host is an MX
        and SRV target, which may not be an alias (RFC 2181 10.3, RFC 2782), so the name is resolved (O(resolvers))
        and its addresses are published as the mail host's A/AAAA, next to O(mail_host_ipv4)/O(mail_host_ipv6).
      - A name that does not resolve fails the task, naming this option.
    type: str
  web_ipv4:
    description:
      - IPv4 addresses of what serves HTTPS for the web names (the Ingress or Gateway), which are C(mta-sts.),
        C(autoconfig.) and C(autodiscover.<domain>), the last also the target of the JMAP and autodiscover SRV
        records.
      - With no web address (O(web_ipv4), O(web_ipv6), O(web_hostname)) the web names get no record.
    type: list
    elements: str
    default: []
  web_ipv6:
    description: IPv6 addresses of what serves HTTPS for the web names (see O(web_ipv4)).
    type: list
    elements: str
    default: []
  web_hostname:
    description:
      - A host name the Ingress or Gateway load balancer reports (AWS NLB/ELB). The web names become CNAMEs to
        it, except SRV targets (C(autodiscover.<domain>) while the JMAP or autodiscover SRV record is published),
        which may not be aliases and get the addresses it resolves to (O(resolvers)).
      - A name that does not resolve, where it must, fails the task naming this option.
    type: str
  mail_host_zone:
    description:
      - The zone holding the mail host's own records (A, AAAA, HELO SPF, TLSA).
      - Defaults to the longest zone of O(domains) the host is in; when it is in none, those records are not
        published (and addresses or a TLSA key then fail, naming this option).
    type: str
  dkim_records:
    description:
      - The public DKIM records, as returned per key by M(openova.stalwart.dkim_key) (C(domain), C(selector),
        C(txt_value) or C(txt_strings)). A record that carries C(private_key) is refused.
      - Records of domains not in O(domains) are ignored.
      - In check mode a record without C(txt_value) (a key a check run of M(openova.stalwart.dkim_key) has not
        generated) is shown as to be created, with C(p=(generated on the real run)) in place of the key; outside
        check mode it is refused.
    type: list
    elements: dict
    default: []
  ttl:
    description: TTL of every record, unless O(ttls) says otherwise.
    type: int
    default: 3600
  ttls:
    description:
      - TTL per record kind, overriding O(ttl). Kinds are C(mx), C(spf), C(dkim), C(dmarc), C(tlsrpt),
        C(mta_sts), C(srv), C(autoconfig), C(caa), C(tlsa), C(host).
    type: dict
    default: {}
  mx_preference:
    description: Preference of the MX record.
    type: int
    default: 10
  spf_mechanisms:
    description:
      - SPF mechanisms and modifiers before the final C(all), for example C(include:_spf.example.net) or
        C(ip4:192.0.2.0/24).
      - A record needing more than 10 DNS lookups (RFC 7208 4.6.4) is refused.
    type: list
    elements: str
    default: [mx]
  spf_all:
    description: The final SPF mechanism.
    type: str
    default: -all
    choices: ["-all", "~all", "?all"]
  helo_spf:
    description: Publish C(v=spf1 a -all) for the mail host itself, which receivers check for the HELO name.
    type: bool
    default: true
  dmarc:
    description: The DMARC record (RFC 7489) of every domain.
    type: dict
    default: {}
    suboptions:
      policy:
        description: Policy C(p).
        type: str
        default: reject
        choices: [none, quarantine, reject]
      subdomain_policy:
        description: Policy for subdomains C(sp).
        type: str
        choices: [none, quarantine, reject]
      rua:
        description:
          - Aggregate report addresses (C(mailto:) optional). C({domain}) is replaced by the domain name.
          - An address in another zone of O(domains) also gets the authorization record of RFC 7489 7.1.
        type: list
        elements: str
        default: ['mailto:postmaster@{domain}']
      ruf:
        description: Failure report addresses.
        type: list
        elements: str
        default: []
      pct:
        description: Percentage of failing mail the policy applies to.
        type: int
      adkim:
        description: DKIM alignment, relaxed or strict.
        type: str
        choices: [r, s]
      aspf:
        description: SPF alignment, relaxed or strict.
        type: str
        choices: [r, s]
      fo:
        description: Failure reporting options, for example C(1).
        type: str
  tlsrpt_rua:
    description:
      - TLS-RPT (RFC 8460) report addresses, C(mailto:) or C(https:). C({domain}) is replaced by the domain.
      - An empty list publishes no TLS-RPT record.
    type: list
    elements: str
    default: ['mailto:postmaster@{domain}']
  mta_sts:
    description: MTA-STS (RFC 8461). The C(_mta-sts) id is derived from the policy, so it changes exactly when it does.
    type: dict
    default: {}
    suboptions:
      enabled:
        description: Publish C(_mta-sts) and C(mta-sts.<domain>) (a CNAME to the mail host, which serves the policy).
        type: bool
        default: true
      mode:
        description: Policy mode.
        type: str
        default: enforce
        choices: [enforce, testing, none]
      max_age:
        description: Policy lifetime in seconds.
        type: int
        default: 604800
  srv:
    description: Which SRV records to publish (RFC 6186, RFC 8314, RFC 8620, Microsoft autodiscover).
    type: dict
    default: {}
    suboptions:
      submissions:
        description: C(_submissions._tcp) on port 465.
        type: bool
        default: true
      imaps:
        description: C(_imaps._tcp) on port 993.
        type: bool
        default: true
      jmap:
        description: C(_jmap._tcp) on port 443.
        type: bool
        default: true
      autodiscover:
        description: C(_autodiscover._tcp) on port 443.
        type: bool
        default: true
      submission:
        description: C(_submission._tcp) on port 587; only when that listener is on.
        type: bool
        default: false
      imap:
        description: C(_imap._tcp) on port 143; only when that listener is on.
        type: bool
        default: false
  autoconfig:
    description: Publish C(autoconfig.<domain>) and C(autodiscover.<domain>) as CNAMEs to the mail host.
    type: bool
    default: true
  caa_issuers:
    description: Certificate authorities allowed to issue for each domain (CAA C(issue)); empty publishes no CAA.
    type: list
    elements: str
    default: []
  caa_iodef:
    description: Where CAs report refused requests (CAA C(iodef)), C(mailto:) or C(https:).
    type: str
  tlsa_public_key:
    description:
      - PEM certificate (or public key) of the mail host; publishes DANE C(3 1 1) TLSA records for O(tlsa_ports).
      - "The record pins the key, so the key must survive certificate renewals. With cert-manager set
        C(privateKey.rotationPolicy: Never) on the Certificate."
    type: str
  tlsa_ports:
    description: Ports that get a TLSA record (DANE for SMTP, RFC 7672, is port 25).
    type: list
    elements: int
    default: [25]
  provider:
    description:
      - V(rfc2136) publishes with dynamic updates to O(server).
      - V(zonefile) only writes zone file snippets to O(zonefile_dir).
      - V(external_dns) returns DNSEndpoint objects in RV(manifests) for external-dns (apply them with
        kubernetes.core). MX, TXT and SRV support depends on the external-dns provider, and external-dns needs
        its C(crd) source enabled.
      - V(none) only computes; RV(table) lists the records to publish by hand.
    type: str
    default: none
    choices: [rfc2136, zonefile, external_dns, none]
  state:
    description:
      - V(present) adds missing records and updates single-valued ones (TXT, CNAME); values others added to
        multi-valued rrsets (a backup MX, say) stay.
      - V(exact) makes every managed rrset exactly the computed one.
      - V(absent) removes the computed values, and nothing else.
    type: str
    default: present
    choices: [present, exact, absent]
  zonefile_dir:
    description:
      - Directory for one zone file snippet per domain (C(<domain>.zone)) and one for the mail host's records
        (C(<mail_host>.zone)), with absolute names, to C($INCLUDE) in the zone. Written with any provider when set.
    type: path
  read_method:
    description: How the current zone is read for V(rfc2136). V(auto) uses AXFR and falls back to queries when refused.
    type: str
    default: auto
    choices: [auto, axfr, query]
  workers:
    description: Zones read and updated in parallel.
    type: int
    default: 8
  external_dns_namespace:
    description: Namespace of the DNSEndpoint objects.
    type: str
    default: default
  kinds:
    description:
      - Manage only the records of these kinds (see O(ttls) for the kinds); all when not set. The other records
        are still computed, so bad input fails the same way, but they are neither published nor removed.
      - With O(state=absent) and V(dkim) this retires DKIM selectors, one UPDATE per zone (the C(dkim_rotate)
        playbook does so).
      - Zone file snippets (O(zonefile_dir)) and DNSEndpoint objects (O(provider=external_dns)) hold every record of
        a domain, so they are refused with a part of the kinds.
    type: list
    elements: str
    choices: [mx, spf, dkim, dmarc, tlsrpt, mta_sts, srv, autoconfig, caa, tlsa, host]
  return_records:
    description:
      - Return RV(records) and RV(table). Turn off to only check the input (for example in a preflight step).
    type: bool
    default: true
notes:
  - Options O(server), O(key_name) and O(key_secret) are needed for O(provider=rfc2136).
  - O(resolvers) resolve O(mail_host_hostname) and O(web_hostname).
seealso:
  - module: openova.stalwart.dns_verify
  - module: openova.stalwart.dkim_key
requirements:
  - dnspython >= 2.4 (for O(provider=rfc2136))
  - cryptography (for O(tlsa_public_key))
"""

EXAMPLES = r"""
- name: Publish the mail records of every domain with one UPDATE per zone
  openova.stalwart.dns_records:
    domains: "{{ stalwart_domains }}"
    mail_host: mail.example.org
    mail_host_ipv4: [192.0.2.25]
    dkim_records: "{{ stalwart_dkim_records }}"
    provider: rfc2136
    server: ns1.example.org
    key_name: mail-update
    key_secret: "{{ vault_tsig_secret }}"
    state: exact
  delegate_to: localhost

- name: Only write zone file snippets
  openova.stalwart.dns_records:
    domains: [{name: example.org}, {name: example.net, zone: example.net}]
    mail_host: mail.example.org
    provider: zonefile
    zonefile_dir: /srv/render/dns
"""

RETURN = r"""
records:
  description: Every managed rrset.
  returned: when O(return_records)
  type: list
  elements: dict
  sample:
    - {zone: example.org, domain: example.org, kind: mx, name: example.org, type: MX, ttl: 3600,
       rdata: ["10 mail.example.org."], owner: rrset}
  contains:
    zone: {description: Zone the rrset is written to., type: str, returned: always}
    domain: {description: Mail domain (or the mail host) it belongs to., type: str, returned: always}
    kind: {description: "Record kind: mx, spf, dkim, dmarc, tlsrpt, mta_sts, srv, autoconfig, caa, tlsa, host.", type: str, returned: always}
    name: {description: "Owner name, absolute, without the final dot.", type: str, returned: always}
    type: {description: Record type., type: str, returned: always}
    ttl: {description: TTL., type: int, returned: always}
    rdata: {description: Values in presentation format (TXT as quoted character-strings of at most 255 bytes)., type: list, elements: str, returned: always}
    txt: {description: TXT values with their character-strings joined., type: list, elements: str, returned: for TXT}
    owner: {description: "C(rrset) when the whole rrset is managed, C(v=spf1) when only that TXT value is.", type: str, returned: always}
zones:
  description: Per zone, what changed (for O(provider=rfc2136)).
  returned: always
  type: list
  elements: dict
  contains:
    zone: {description: Zone name., type: str, returned: always}
    changed: {description: Whether the zone differed., type: bool, returned: always}
    update_sent: {description: Whether an UPDATE was sent (never in check mode)., type: bool, returned: always}
    read_by: {description: "How the zone was read: axfr or query.", type: str, returned: always}
    changes: {description: "Changed rrsets with C(name), C(type), C(before) and C(after) lines.", type: list, elements: dict, returned: always}
updates_sent:
  description: Number of UPDATE messages sent.
  returned: always
  type: int
  sample: 1
zonefiles:
  description: Paths of the zone file snippets written (or that would be).
  returned: when O(zonefile_dir) is set
  type: list
  elements: str
manifests:
  description: DNSEndpoint objects, one per domain.
  returned: when O(provider=external_dns)
  type: list
  elements: dict
table:
  description: The records as a plain-text table, to publish by hand.
  returned: when O(return_records)
  type: str
mta_sts_policy:
  description: The MTA-STS policy text served at C(https://mta-sts.<domain>/.well-known/mta-sts.txt).
  returned: when O(mta_sts.enabled)
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.openova.stalwart.plugins.module_utils import _dns_records, _rfc2136

DMARC = {
    "policy": {"type": "str", "default": "reject", "choices": ["none", "quarantine", "reject"]},
    "subdomain_policy": {"type": "str", "choices": ["none", "quarantine", "reject"]},
    "rua": {"type": "list", "elements": "str", "default": ["mailto:postmaster@{domain}"]},
    "ruf": {"type": "list", "elements": "str", "default": []},
    "pct": {"type": "int"},
    "adkim": {"type": "str", "choices": ["r", "s"]},
    "aspf": {"type": "str", "choices": ["r", "s"]},
    "fo": {"type": "str"},
}
MTA_STS = {
    "enabled": {"type": "bool", "default": True},
    "mode": {"type": "str", "default": "enforce", "choices": ["enforce", "testing", "none"]},
    "max_age": {"type": "int", "default": 604800},
}
SRV = {key: {"type": "bool", "default": spec[2]} for key, spec in _dns_records.SRV_SERVICES.items()}


def argument_spec() -> dict:
    spec = dict(
        domains=dict(type="list", elements="dict", required=True),
        mail_host=dict(type="str", required=True),
        mail_host_ipv4=dict(type="list", elements="str", default=[]),
        mail_host_ipv6=dict(type="list", elements="str", default=[]),
        mail_host_hostname=dict(type="str"),
        web_ipv4=dict(type="list", elements="str", default=[]),
        web_ipv6=dict(type="list", elements="str", default=[]),
        web_hostname=dict(type="str"),
        resolvers=dict(type="list", elements="str", default=[]),
        resolver_port=dict(type="int", default=53),
        mail_host_zone=dict(type="str"),
        dkim_records=dict(type="list", elements="dict", default=[]),
        ttl=dict(type="int", default=3600),
        ttls=dict(type="dict", default={}),
        mx_preference=dict(type="int", default=10),
        spf_mechanisms=dict(type="list", elements="str", default=["mx"]),
        spf_all=dict(type="str", default="-all", choices=["-all", "~all", "?all"]),
        helo_spf=dict(type="bool", default=True),
        dmarc=dict(type="dict", default={}, options=DMARC),
        tlsrpt_rua=dict(type="list", elements="str", default=["mailto:postmaster@{domain}"]),
        mta_sts=dict(type="dict", default={}, options=MTA_STS),
        srv=dict(type="dict", default={}, options=SRV),
        autoconfig=dict(type="bool", default=True),
        caa_issuers=dict(type="list", elements="str", default=[]),
        caa_iodef=dict(type="str"),
        tlsa_public_key=dict(type="str"),
        tlsa_ports=dict(type="list", elements="int", default=[25]),
        provider=dict(type="str", default="none", choices=["rfc2136", "zonefile", "external_dns", "none"]),
        state=dict(type="str", default="present", choices=["present", "exact", "absent"]),
        zonefile_dir=dict(type="path"),
        read_method=dict(type="str", default="auto", choices=["auto", "axfr", "query"]),
        workers=dict(type="int", default=8),
        external_dns_namespace=dict(type="str", default="default"),
        kinds=dict(type="list", elements="str", choices=list(_dns_records.KINDS)),
        return_records=dict(type="bool", default=True),
    )
    spec.update(_rfc2136.SERVER_ARGS)
    return spec


def module_kwargs() -> dict:
    """The argument spec, with which the action plugin validates the task's arguments."""
    return dict(argument_spec=argument_spec(), supports_check_mode=True,
                required_if=[("provider", "rfc2136", ("server",)), ("provider", "zonefile", ("zonefile_dir",))])


def main() -> None:
    module = AnsibleModule(**module_kwargs())
    module.fail_json(msg="openova.stalwart.dns_records runs on the controller, in its action plugin")


if __name__ == "__main__":
    main()
