#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# Apache-2.0 is compatible with the GNU General Public License version 3, the license of ansible-core.

from __future__ import annotations

DOCUMENTATION = r"""
module: stalwart_config
short_description: Render Stalwart 0.16 config.json and the settings plan
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Builds, from structured options, the two artefacts a Stalwart 0.16 deployment needs.
  - C(config.json), the only file Stalwart reads at start, holding one C(PostgreSql) DataStore object. Passwords are never
    inlined, only C(EnvironmentVariable) or C(File) references, so the file can live in a ConfigMap.
  - The settings plan, an ordered list of operations in the NDJSON format C(stalwart-cli apply) reads (C(upsert) with
    C(matchOn), singleton C(update), C(#id) references between objects) covering system settings, blob/search/in-memory
    stores, network listeners, domains, DKIM signatures, metrics, tracing, spam filter essentials, the cluster coordinator,
    the offline application bundle, MTA-STS and optional accounts. Apply it with M(openova.stalwart.stalwart_settings).
  - Pure and local, no network. Identical input gives byte-identical output, so a re-run reports no change.
  - Bad input fails before anything is written, with an error naming the option.
extends_documentation_fragment:
  - openova.stalwart.attributes
  - openova.stalwart.attributes.CONTROLLER_ACTION
attributes:
  check_mode:
    support: full
    details:
      - In check mode nothing is written; O(dest) files that would change are reported as changed.
  diff_mode:
    support: full
    details:
      - Shows the old and new content of C(config.json) and C(plan.ndjson) under O(dest).
  idempotent:
    support: full
options:
  hostname:
    description:
      - Fully qualified name of the mail host (C(stalwart_hostname)); the server's default hostname, the MX host of every
        domain and the MTA-STS C(mx) host.
    type: str
    required: true
  domains:
    description:
      - Mail domains (C(stalwart_domains)). Each item is a dictionary; keys other than those below are ignored, so the same
        list can be shared with the DNS role.
      - C(name) (required), the domain.
      - C(dkim_selectors), optional dictionary with keys C(rsa) and C(ed25519) whose values override the default selectors;
        set C(ed25519) to C(false) to sign that domain with RSA only.
      - C(aliases), optional list of alias domain names.
      - C(description), optional free text.
      - C(catch_all), optional catch-all e-mail address.
    type: list
    elements: dict
    required: true
  default_domain:
    description:
      - Domain used as the server's default domain. Defaults to the first item of O(domains).
    type: str
  dkim_records:
    description:
      - DKIM keys as returned by M(openova.stalwart.dkim_key) (C(stalwart_dkim_records)); items need C(domain), C(selector)
        and C(algorithm) (C(rsa) or C(ed25519)). When given, exactly these signatures are planned and every domain must
        have an RSA key. When omitted, the selectors come from O(dkim_selector_prefix) and C(domains[].dkim_selectors).
    type: list
    elements: dict
  dkim_selector_prefix:
    description:
      - Default selectors are C(<prefix>-rsa) and C(<prefix>-ed25519).
    type: str
    default: s1
  dkim_stages:
    description:
      - Other selector generations Stalwart should know without signing with them, as prefix to stage (Stalwart's
        C(DkimRotationStage)) - C(pending) for a new generation published in DNS but not yet verified, C(retiring) for
        one superseded but still published. Each gets the same signatures as O(dkim_selector_prefix) gives (RSA, and
        Ed25519 with O(dkim_ed25519)) for the domains without their own C(dkim_selectors); only the O(dkim_selector_prefix)
        signatures are C(active) and sign. Set by C(playbooks/dkim_rotate.yml); not with O(dkim_records).
    type: dict
    default: {}
  dkim_ed25519:
    description:
      - Sign with an Ed25519 key alongside the RSA-2048 key (RSA is always kept, as some receivers reject Ed25519-only mail).
    type: bool
    default: true
  dkim_key_dir:
    description:
      - Directory in the pod where the DKIM private keys are mounted; each signature's private key is the file reference
        C(<dkim_key_dir>/<selector>._domainkey.<domain>.pem).
    type: str
    default: /etc/stalwart/dkim
  data_store:
    description:
      - PostgreSQL data store written to C(config.json).
    type: dict
    required: true
    suboptions:
      host:
        description: Host name of the PostgreSQL read-write service (for CloudNativePG, C(<cluster>-rw)).
        type: str
        required: true
      port:
        description: TCP port.
        type: int
        default: 5432
      database:
        description: Database name.
        type: str
        default: stalwart
      username:
        description: Role name.
        type: str
        default: stalwart
      password_env:
        description: Environment variable holding the password. Ignored when O(data_store.password_file) is set.
        type: str
        default: STALWART_DB_PASSWORD
      password_file:
        description: File in the pod holding the password, instead of an environment variable.
        type: str
      use_tls:
        description: Connect with TLS.
        type: bool
        default: true
      allow_invalid_certs:
        description: Accept a server certificate that does not verify (for example a private CA not mounted in the pod).
        type: bool
        default: false
      pool_max_connections:
        description: Connection pool size.
        type: int
        default: 10
      timeout:
        description: Connection timeout in seconds.
        type: int
        default: 15
      options:
        description: Extra libpq connection options.
        type: str
  blob_store:
    description:
      - Where message bodies and files are kept.
    type: dict
    default: {}
    suboptions:
      type:
        description: C(s3) for any S3 service (MinIO included), C(data_store) to keep blobs in PostgreSQL.
        type: str
        choices: [s3, data_store]
        default: s3
      bucket:
        description: Bucket name; required with O(blob_store.type=s3).
        type: str
      region:
        description: Region name, for example C(us-east-1); required with O(blob_store.type=s3).
        type: str
      endpoint:
        description: Custom endpoint URL (MinIO, Ceph, ...). Without it the region must be one Stalwart knows by name.
        type: str
      key_prefix:
        description: Prefix for every object key.
        type: str
      access_key_env:
        description: Environment variable holding the access key.
        type: str
        default: STALWART_S3_ACCESS_KEY
      secret_key_env:
        description: Environment variable holding the secret key.
        type: str
        default: STALWART_S3_SECRET_KEY
      allow_invalid_certs:
        description: Accept an endpoint certificate that does not verify.
        type: bool
        default: false
      timeout:
        description: Request timeout in seconds.
        type: int
        default: 30
      max_retries:
        description: Retries of a failed request.
        type: int
        default: 3
  search_store:
    description:
      - Full-text search backend. C(data_store) keeps the index in the data store.
    type: str
    choices: [data_store]
    default: data_store
  in_memory_store:
    description:
      - Cache and lookup store. C(data_store) uses the data store; C(redis) a Redis/Valkey server at O(in_memory_store.url).
    type: dict
    default: {}
    suboptions:
      type:
        description: Backend.
        type: str
        choices: [data_store, redis]
        default: data_store
      url:
        description: Redis URL, required with O(in_memory_store.type=redis).
        type: str
  listeners:
    description:
      - Network listeners. C(smtp) (25), C(submissions) (465), C(imaps) (993), C(https) (443) and C(http) (8080) are always
        planned; list C(submission) (587), C(imap) (143), C(pop3s) (995) or C(managesieve) (4190) to add them.
    type: list
    elements: str
    choices: [smtp, submissions, imaps, https, http, submission, imap, pop3s, managesieve]
    default: []
  listener_ports:
    description:
      - Ports by listener name, to move a listener off its default port (for example C(http) to 8081).
    type: dict
    default: {}
  proxy_trusted_networks:
    description:
      - Networks (CIDR) whose connections may carry a PROXY protocol header (the load balancer's addresses).
      - Set on the mail listeners only (C(overrideProxyTrustedNetworks)); the HTTP listeners never expect the header,
        so an ingress controller inside these networks still reaches them.
    type: list
    elements: str
    default: []
  http_forwarded:
    description:
      - Take the HTTP client's address from C(Forwarded)/C(X-Forwarded-For) (C(x:Http) C(useXForwarded)), for
        Stalwart behind an Ingress or Gateway. Stalwart trusts the header from any peer, so let only the proxy reach
        the HTTP listener.
    type: bool
    default: false
  metrics:
    description:
      - Prometheus metrics at C(/metrics/prometheus).
    type: dict
    default: {}
    suboptions:
      enabled:
        description: Expose the metrics endpoint.
        type: bool
        default: true
      username:
        description: Basic auth user name.
        type: str
        default: metrics
      password_env:
        description: Environment variable holding the Basic auth password.
        type: str
        default: STALWART_METRICS_PASSWORD
  tracer:
    description:
      - Logging to standard output.
    type: dict
    default: {}
    suboptions:
      level:
        description: Log level.
        type: str
        choices: [error, warn, info, debug, trace]
        default: info
      ansi:
        description: Colour the output.
        type: bool
        default: false
  spam:
    description:
      - Spam filter essentials.
    type: dict
    default: {}
    suboptions:
      enabled:
        description: Run the spam filter.
        type: bool
        default: true
      rules_url:
        description:
          - Where the spam filter rules are downloaded from. Point it at an in-cluster mirror when the cluster has no
            GitHub egress. Omit to keep Stalwart's default.
        type: str
      greylist:
        description: Greylist unknown senders for this many seconds; C(0) disables greylisting.
        type: int
        default: 0
      dnsbl_servers:
        description:
          - DNS block lists. Each item has C(name), C(zone) (the lookup expression, for example
            C(ip_reverse + '.zen.spamhaus.org')), C(tag) (expression naming the tag to set) and C(type) (C(ip), C(domain),
            C(url), C(email); default C(ip)).
        type: list
        elements: dict
        default: []
      rate_limits:
        description:
          - Inbound SMTP rate limits. Each item has C(name), C(key) (list of C(remoteIp), C(sender), C(rcpt), ...),
            C(count) and C(period) (seconds).
        type: list
        elements: dict
        default: []
  replicas:
    description:
      - Number of Stalwart replicas. More than one needs O(coordinator).
    type: int
    default: 1
  coordinator:
    description:
      - Cluster coordinator, required when O(replicas) is more than one.
    type: dict
    suboptions:
      type:
        description: C(redis) uses the Redis in-memory store (set O(in_memory_store)); C(nats) a NATS server.
        type: str
        choices: [redis, nats]
        required: true
      addresses:
        description: NATS server addresses (C(host:port)); required with C(nats).
        type: list
        elements: str
      username:
        description: NATS user name.
        type: str
      password_env:
        description: Environment variable holding the NATS password.
        type: str
        default: STALWART_COORDINATOR_PASSWORD
  application_resource_url:
    description:
      - URL of the WebUI bundle, so a cluster without GitHub egress still boots its WebUI. Omit to keep Stalwart's default.
      - Planned as an C(Application) with description C(WebUI) served at URL prefix C(/), matched on its description.
    type: str
  mta_sts:
    description:
      - MTA-STS policy served by Stalwart. The DNS side computes the C(_mta-sts) id from the same values.
    type: dict
    default: {}
    suboptions:
      mode:
        description: Policy mode.
        type: str
        choices: [enforce, testing, none]
        default: testing
      max_age:
        description: Policy lifetime in seconds.
        type: int
        default: 604800
  accounts:
    description:
      - User accounts (C(x:Account) User). Each item has C(name) (local part), C(domain) (default the first of O(domains)),
        and one of C(password_hash) (a crypt(3) hash such as C($6$...); the M(openova.stalwart.stalwart_settings) side
        sends it only when it changed, see the revision record in the docs), C(password_env) (a secret reference the
        applier resolves; the plan carries only the name) or C(password_secret) (C({name, key}) of a Kubernetes Secret,
        planned as an C(@hash) reference to C(STALWART_SECRET_<NAME>_<KEY>); the applier hashes the value it reads under
        that name with the per-install key, and sends it only when it changed). A plain C(password) is refused (hash it first;
        the stalwart role does, with a per-install key).
      - Optional C(description), C(aliases) (local parts or addresses of a domain in O(domains)), C(quota) (a size such
        as C(5GiB), or C(unlimited)), C(roles) (C(user) or C(admin)), C(enabled) (false keeps the mail but refuses
        logins) and C(state) (C(absent) removes the account through the RV(reconcile) entries).
    type: list
    elements: dict
    default: []
  groups:
    description:
      - Group accounts (C(x:Account) Group) with C(name), C(domain), C(description), C(aliases), C(quota), C(state) and
        C(members), names or addresses of O(accounts) (planned as the members' C(memberGroupIds)).
    type: list
    elements: dict
    default: []
  mailing_lists:
    description:
      - Mailing lists (C(x:MailingList)) with C(name), C(domain), C(description), C(aliases), C(state) and C(recipients),
        a non-empty list of addresses (local or not).
    type: list
    elements: dict
    default: []
  tls:
    description:
      - The TLS certificate Stalwart serves, as files in the pod (for example the cert-manager Secret mounted by the stalwart
        role). Without it no certificate is planned and Stalwart keeps its self-signed default.
      - Planned as a C(Certificate) whose C(certificate) and C(privateKey) are C(File) references (the PEM never enters
        the plan), matched on its certificate file reference, and made the server's C(defaultCertificateId).
    type: dict
    suboptions:
      cert_file:
        description: Absolute path of the PEM certificate chain (C(tls.crt) of a cert-manager Secret).
        type: str
        required: true
      key_file:
        description: Absolute path of the PEM private key (C(tls.key) of a cert-manager Secret).
        type: str
        required: true
  relay:
    description:
      - Outbound relay (smarthost). Without it mail to remote domains is delivered directly to their MX hosts.
      - Planned as an C(MtaRoute) of variant C(Relay) named C(relay), and the C(MtaOutboundStrategy) C(route) expression
        sends every non-local recipient to it (local domains stay on the C(local) route). Without O(relay) the route
        expression is Stalwart's default (C(mx)); a C(relay) route left from an earlier run is then no longer used.
      - The password is never part of the plan, only an C(EnvironmentVariable) or C(File) reference resolved in the pod.
    type: dict
    suboptions:
      host:
        description: Host name or IP address of the relay (a single-label in-cluster Service name is accepted).
        type: str
        required: true
      port:
        description: TCP port (C(587) for submission with STARTTLS, C(465) for implicit TLS).
        type: int
        default: 25
      protocol:
        description: Delivery protocol.
        type: str
        choices: [smtp, lmtp]
        default: smtp
      implicit_tls:
        description: Connect with implicit TLS (SMTPS). Defaults to C(true) on port 465, else C(false) (STARTTLS as offered).
        type: bool
      allow_invalid_certs:
        description: Accept a relay certificate that does not verify.
        type: bool
        default: false
      username:
        description: User name to authenticate with; omit for a relay that trusts the cluster's addresses.
        type: str
      password_env:
        description: Environment variable in the pod holding the relay password (used with O(relay.username)).
        type: str
        default: STALWART_RELAY_PASSWORD
      password_file:
        description: File in the pod holding the relay password, instead of O(relay.password_env).
        type: str
  dns_resolver:
    description:
      - Name servers Stalwart resolves with (MX, SPF, DKIM, DMARC, DNSBL lookups), each C([udp|tcp|tls://]<IP address>[:port])
        (IPv6 in brackets when a port is given; port 53, or 853 for C(tls), by default). Planned as the C(DnsResolver)
        variant C(Custom). Empty means the pod's system resolver (variant C(System)).
      - DNS block lists refuse queries from large public resolvers, so point this at a resolver of your own when the
        cluster DNS forwards to one (see docs/kubernetes-mail-traps.md).
    type: list
    elements: str
    default: []
  dest:
    description:
      - Directory to write C(config.json) and C(plan.ndjson) into (created when missing). Without it the module only
        returns the data.
    type: path
  return_plan:
    description:
      - Return RV(plan). Turn off when O(dest) keeps it anyway and nothing else reads it.
    type: bool
    default: true
  return_ndjson:
    description:
      - Return RV(ndjson), the plan as the text of C(plan.ndjson). The settings Job of render mode carries it in a
        ConfigMap, so the cluster applies byte for byte what O(dest) holds and apply mode sends.
    type: bool
    default: false
  split_hashes:
    description:
      - Keep the accounts' password hashes out of the plan (RV(plan), RV(ndjson) and C(plan.ndjson)); each becomes the
        secret reference C(STALWART_HASH_<creation id>) and RV(hashes) returns the values, for a Secret beside the plan.
        Render mode sets it, so that no ConfigMap and no file outside C(secrets/) holds a hash.
    type: bool
    default: false
seealso:
  - module: openova.stalwart.stalwart_settings
  - module: openova.stalwart.dkim_key
  - name: stalwart-cli plan format
    description: The NDJSON operations written to plan.ndjson.
    link: https://stalw.art/docs/management/cli/plan-format/
"""

EXAMPLES = r"""
- name: Render config.json and the plan
  openova.stalwart.stalwart_config:
    hostname: mail.example.org
    domains:
      - name: example.org
      - name: example.net
        dkim_selectors: {rsa: mail2026, ed25519: false}
    dkim_records: "{{ stalwart_dkim_records }}"
    data_store:
      host: stalwart-db-rw
    blob_store:
      bucket: stalwart
      region: us-east-1
      endpoint: http://minio.minio-tenant.svc:80
    listeners: [submission]
    proxy_trusted_networks: [10.0.0.0/8]
    tls:
      cert_file: /etc/stalwart/tls/tls.crt
      key_file: /etc/stalwart/tls/tls.key
    relay:
      host: smtp.relay.example.net
      port: 587
      username: mailer
      password_env: STALWART_RELAY_PASSWORD
    dns_resolver: [10.96.0.10, "tls://[2620:fe::fe]:853"]
    accounts:
      - name: smoke
        domain: example.org
        password_env: STALWART_SMOKE_PASSWORD
    dest: "{{ openova_stalwart_render_dir }}/stalwart"
  register: stalwart_render

- name: Apply it
  openova.stalwart.stalwart_settings:
    url: https://mail.example.org
    username: admin
    password: "{{ stalwart_admin_password }}"
    plan: "{{ stalwart_render.plan }}"
"""

RETURN = r"""
config:
  description: The DataStore object written to C(config.json).
  returned: always
  type: dict
  sample: {"@type": "PostgreSql", "host": "stalwart-db-rw", "port": 5432, "database": "stalwart"}
config_json:
  description:
    - The text of C(config.json) (RV(config), sorted keys, indented by two, a final newline), as written under O(dest).
    - The one serialization of it; the role's ConfigMap carries it too.
  returned: always
  type: str
plan:
  description: The plan operations in order, as written to C(plan.ndjson) (one JSON object per line).
  returned: when O(return_plan)
  type: list
  elements: dict
  sample: [{"@type": "upsert", "object": "Domain", "matchOn": ["name"], "value": {"domain-0": {"name": "example.org"}}}]
ndjson:
  description: The plan as the NDJSON text written to C(plan.ndjson), one operation per line.
  returned: when O(return_ndjson)
  type: str
summary:
  description: Number of planned objects per object type.
  returned: always
  type: dict
  sample: {"Domain": 2, "DkimSignature": 4, "NetworkListener": 6, "Certificate": 1, "MtaRoute": 1}
reconcile:
  description:
    - The deletions of items with C(state=absent) in O(accounts), O(groups) and O(mailing_lists), as
      M(openova.stalwart.stalwart_settings) takes them in its O(openova.stalwart.stalwart_settings#module:reconcile) option.
  returned: always
  type: list
  elements: dict
  sample: [{"object": "Account", "scope": {"name": "old", "domainId": "#domain_example_org"}}]
hashes:
  description: The accounts' password hashes by secret reference name (the plan holds the names only).
  returned: when O(split_hashes)
  type: dict
  sample: {"STALWART_HASH_account_jane_40_example_2e_org": "$6$..."}
files:
  description: Paths written (or that would be written in check mode) under O(dest).
  returned: when O(dest) is set
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.openova.stalwart.plugins.module_utils import _stalwart_plan as plan_lib

_SECRET_ENV = {"type": "str", "no_log": False}


def argument_spec() -> dict:
    return dict(
        hostname=dict(type="str", required=True),
        domains=dict(type="list", elements="dict", required=True),
        default_domain=dict(type="str"),
        dkim_records=dict(type="list", elements="dict"),
        dkim_selector_prefix=dict(type="str", default="s1"),
        dkim_stages=dict(type="dict", default={}),
        dkim_ed25519=dict(type="bool", default=True),
        dkim_key_dir=dict(type="str", default="/etc/stalwart/dkim", no_log=False),
        data_store=dict(type="dict", required=True, options=dict(
            host=dict(type="str", required=True),
            port=dict(type="int", default=5432),
            database=dict(type="str", default="stalwart"),
            username=dict(type="str", default="stalwart"),
            password_env=dict(_SECRET_ENV, default="STALWART_DB_PASSWORD"),
            password_file=dict(_SECRET_ENV),
            use_tls=dict(type="bool", default=True),
            allow_invalid_certs=dict(type="bool", default=False),
            pool_max_connections=dict(type="int", default=10),
            timeout=dict(type="int", default=15),
            options=dict(type="str"),
        )),
        blob_store=dict(type="dict", default={}, options=dict(
            type=dict(type="str", choices=["s3", "data_store"], default="s3"),
            bucket=dict(type="str"),
            region=dict(type="str"),
            endpoint=dict(type="str"),
            key_prefix=dict(type="str", no_log=False),
            access_key_env=dict(_SECRET_ENV, default="STALWART_S3_ACCESS_KEY"),
            secret_key_env=dict(_SECRET_ENV, default="STALWART_S3_SECRET_KEY"),
            allow_invalid_certs=dict(type="bool", default=False),
            timeout=dict(type="int", default=30),
            max_retries=dict(type="int", default=3),
        )),
        search_store=dict(type="str", choices=["data_store"], default="data_store"),
        in_memory_store=dict(type="dict", default={}, options=dict(
            type=dict(type="str", choices=["data_store", "redis"], default="data_store"),
            url=dict(type="str"),
        )),
        listeners=dict(type="list", elements="str", default=[], choices=list(plan_lib.LISTENERS)),
        listener_ports=dict(type="dict", default={}),
        proxy_trusted_networks=dict(type="list", elements="str", default=[]),
        http_forwarded=dict(type="bool", default=False),
        metrics=dict(type="dict", default={}, options=dict(
            enabled=dict(type="bool", default=True),
            username=dict(type="str", default="metrics"),
            password_env=dict(_SECRET_ENV, default="STALWART_METRICS_PASSWORD"),
        )),
        tracer=dict(type="dict", default={}, options=dict(
            level=dict(type="str", choices=["error", "warn", "info", "debug", "trace"], default="info"),
            ansi=dict(type="bool", default=False),
        )),
        spam=dict(type="dict", default={}, options=dict(
            enabled=dict(type="bool", default=True),
            rules_url=dict(type="str"),
            greylist=dict(type="int", default=0),
            dnsbl_servers=dict(type="list", elements="dict", default=[]),
            rate_limits=dict(type="list", elements="dict", default=[]),
        )),
        replicas=dict(type="int", default=1),
        coordinator=dict(type="dict", options=dict(
            type=dict(type="str", choices=["redis", "nats"], required=True),
            addresses=dict(type="list", elements="str"),
            username=dict(type="str"),
            password_env=dict(_SECRET_ENV, default="STALWART_COORDINATOR_PASSWORD"),
        )),
        application_resource_url=dict(type="str"),
        mta_sts=dict(type="dict", default={}, options=dict(
            mode=dict(type="str", choices=["enforce", "testing", "none"], default="testing"),
            max_age=dict(type="int", default=604800),
        )),
        accounts=dict(type="list", elements="dict", default=[]),
        groups=dict(type="list", elements="dict", default=[]),
        mailing_lists=dict(type="list", elements="dict", default=[]),
        tls=dict(type="dict", options=dict(
            cert_file=dict(type="str", required=True),
            key_file=dict(type="str", required=True, no_log=False),
        )),
        relay=dict(type="dict", options=dict(
            host=dict(type="str", required=True),
            port=dict(type="int", default=25),
            protocol=dict(type="str", choices=["smtp", "lmtp"], default="smtp"),
            implicit_tls=dict(type="bool"),
            allow_invalid_certs=dict(type="bool", default=False),
            username=dict(type="str"),
            password_env=dict(_SECRET_ENV, default="STALWART_RELAY_PASSWORD"),
            password_file=dict(_SECRET_ENV),
        )),
        dns_resolver=dict(type="list", elements="str", default=[]),
        dest=dict(type="path"),
        return_plan=dict(type="bool", default=True),
        return_ndjson=dict(type="bool", default=False),
        split_hashes=dict(type="bool", default=False),
    )


def module_kwargs() -> dict:
    """The argument spec, with which the action plugin validates the task's arguments."""
    return dict(argument_spec=argument_spec(), supports_check_mode=True)


def main() -> None:
    module = AnsibleModule(**module_kwargs())
    module.fail_json(msg="openova.stalwart.stalwart_config runs on the controller, in its action plugin")


if __name__ == "__main__":
    main()
