# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

import copy
import pathlib
import time

import pytest

from ansible_collections.openova.stalwart.plugins.module_utils import _stalwart_plan as plan_lib
from ansible_collections.openova.stalwart.plugins.module_utils import _stalwart_schema

# ../shared beside the collection root (tests/unit/plugins/module_utils/ -> 4 levels up is the collection).
SCHEMA = pathlib.Path(__file__).resolve().parents[4].parent / "shared" / "stalwart" / "schema-0.16.18.json.gz"

BASE = dict(
    hostname="mail.example.org",
    domains=[{"name": "example.org"}],
    data_store={"host": "stalwart-db-rw"},
    blob_store={"bucket": "stalwart", "region": "us-east-1", "endpoint": "http://minio.minio:80"},
)

FULL = dict(
    hostname="Mail.Example.org.",
    domains=[
        {"name": "example.org", "aliases": ["example.com"], "catch_all": "postmaster@example.org", "description": "main",
         "mx": "ignored-by-this-module"},
        {"name": "example.net", "dkim_selectors": {"rsa": "mail2026", "ed25519": False}},
    ],
    default_domain="example.net",
    data_store={"host": "db-rw", "port": 5433, "database": "mail", "username": "mail", "password_file": "/run/pg/password",
                "use_tls": False, "allow_invalid_certs": True, "pool_max_connections": 20, "timeout": 5, "options": "sslmode=prefer"},
    blob_store={"bucket": "mail", "region": "eu-west-1", "key_prefix": "blobs/", "allow_invalid_certs": True, "timeout": 10,
                "max_retries": 5},
    in_memory_store={"type": "redis", "url": "redis://valkey:6379"},
    listeners=["submission", "imap", "pop3s", "managesieve"],
    listener_ports={"http": 8081},
    proxy_trusted_networks=["10.0.0.0/8", "192.168.1.7"],
    http_forwarded=True,
    metrics={"enabled": True, "username": "prom", "password_env": "PROM_PASSWORD"},
    tracer={"level": "debug", "ansi": True},
    spam={"enabled": True, "rules_url": "https://mirror.internal/spam-filter-rules.json.gz", "greylist": 300,
          "dnsbl_servers": [{"name": "spamhaus-zen", "zone": "ip_reverse + '.zen.spamhaus.org'", "tag": "'RBL_ZEN'"},
                            {"name": "dbl", "type": "domain", "zone": "sender_domain + '.dbl.spamhaus.org'"}],
          "rate_limits": [{"name": "per-ip", "key": ["remoteIp"], "count": 100, "period": 60},
                          {"name": "per-sender", "key": "sender", "count": 25, "period": 3600}]},
    replicas=3,
    coordinator={"type": "redis"},
    application_resource_url="https://mirror.internal/webui.zip",
    mta_sts={"mode": "enforce", "max_age": 86400},
    accounts=[{"name": "smoke", "domain": "example.org", "password_env": "STALWART_SMOKE_PASSWORD", "description": "smoke test"}],
    tls={"cert_file": "/etc/stalwart/tls/tls.crt", "key_file": "/etc/stalwart/tls/tls.key"},
    relay={"host": "smtp.relay.example.net", "port": 587, "username": "mailer", "password_env": "RELAY_PASSWORD"},
    dns_resolver=["10.96.0.10", "tcp://10.96.0.11:5353", "tls://[2620:fe::fe]:853", "tls://9.9.9.9"],
)


def build(**overrides):
    params = copy.deepcopy(BASE)
    params.update(overrides)
    return plan_lib.build(params)


def ops(rendered, obj):
    return [op for op in rendered.plan if op["object"] == obj]


@pytest.fixture(scope="module")
def schema():
    if not SCHEMA.is_file():
        pytest.skip("../shared/stalwart/schema-0.16.18.json.gz is not present")
    return _stalwart_schema.Schema.load(str(SCHEMA))


# ------------------------------------------------------------------ golden


def test_golden_minimal():
    rendered = build()
    assert rendered.config == {
        "@type": "PostgreSql", "host": "stalwart-db-rw", "port": 5432, "database": "stalwart", "authUsername": "stalwart",
        "authSecret": {"@type": "EnvironmentVariable", "variableName": "STALWART_DB_PASSWORD"},
        "useTls": True, "allowInvalidCerts": False, "poolMaxConnections": 10, "timeout": 15000,
    }
    assert [(op["@type"], op["object"]) for op in rendered.plan] == [
        ("upsert", "Domain"), ("upsert", "DkimSignature"), ("upsert", "NetworkListener"), ("update", "SystemSettings"),
        ("update", "Http"), ("update", "BlobStore"), ("update", "SearchStore"), ("update", "InMemoryStore"), ("update", "Coordinator"),
        ("update", "Metrics"), ("upsert", "Tracer"), ("update", "SpamSettings"), ("update", "MtaOutboundStrategy"),
        ("update", "DnsResolver"), ("update", "MtaSts"),
    ]
    assert rendered.plan[0] == {"@type": "upsert", "object": "Domain", "matchOn": ["name"], "value": {"domain_example_org": {
        "name": "example.org", "isEnabled": True, "dkimManagement": {"@type": "Manual"}, "dnsManagement": {"@type": "Manual"}}}}
    assert rendered.plan[1]["matchOn"] == ["domainId", "selector"]
    assert rendered.plan[1]["value"] == {
        "dkim_0": {"@type": "Dkim1Ed25519Sha256", "domainId": "#domain_example_org", "selector": "s1-ed25519",
                   "privateKey": {"@type": "File", "filePath": "/etc/stalwart/dkim/s1-ed25519._domainkey.example.org.pem"},
                   "stage": "active"},
        "dkim_1": {"@type": "Dkim1RsaSha256", "domainId": "#domain_example_org", "selector": "s1-rsa",
                   "privateKey": {"@type": "File", "filePath": "/etc/stalwart/dkim/s1-rsa._domainkey.example.org.pem"},
                   "stage": "active"},
    }
    listeners = rendered.plan[2]["value"]
    assert {v["name"]: list(v["bind"]) for v in listeners.values()} == {
        "smtp": ["[::]:25"], "submissions": ["[::]:465"], "imaps": ["[::]:993"], "https": ["[::]:443"], "http": ["[::]:8080"]}
    assert listeners["listener_submissions"]["tlsImplicit"] is True and listeners["listener_smtp"]["tlsImplicit"] is False
    assert listeners["listener_http"]["useTls"] is False
    assert rendered.plan[4]["value"] == {"useXForwarded": False}
    assert rendered.plan[3]["value"] == {"defaultHostname": "mail.example.org", "defaultDomainId": "#domain_example_org",
                                         "proxyTrustedNetworks": {}}
    assert rendered.plan[5]["value"] == {
        "@type": "S3", "bucket": "stalwart",
        "region": {"@type": "Custom", "customEndpoint": "http://minio.minio:80", "customRegion": "us-east-1"},
        "accessKey": {"@type": "EnvironmentVariable", "variableName": "STALWART_S3_ACCESS_KEY"},
        "secretKey": {"@type": "EnvironmentVariable", "variableName": "STALWART_S3_SECRET_KEY"},
        "allowInvalidCerts": False, "timeout": 30000, "maxRetries": 3,
    }
    assert rendered.plan[8]["value"] == {"@type": "Disabled"}
    assert rendered.plan[9]["value"]["prometheus"] == {
        "@type": "Enabled", "authUsername": "metrics",
        "authSecret": {"@type": "EnvironmentVariable", "variableName": "STALWART_METRICS_PASSWORD"}}
    # No tls option: no Certificate, Stalwart keeps its own. Direct delivery and the system resolver, as Stalwart's defaults.
    assert "Certificate" not in rendered.summary and "defaultCertificateId" not in rendered.plan[3]["value"]
    local = {"if": "is_local_domain(rcpt_domain)", "then": "'local'"}
    assert rendered.plan[12]["value"] == {"route": {"else": "'mx'", "match": {"0": local}}}
    assert rendered.plan[13]["value"] == {"@type": "System"}
    assert rendered.plan[14]["value"] == {"mode": "testing", "maxAge": 604800000, "mxHosts": {"mail.example.org": True}}
    assert rendered.summary["DkimSignature"] == 2 and rendered.summary["NetworkListener"] == 5


def test_golden_full():
    rendered = plan_lib.build(copy.deepcopy(FULL))
    config = rendered.config
    assert config["authSecret"] == {"@type": "File", "filePath": "/run/pg/password"}
    assert (config["port"], config["database"], config["authUsername"], config["useTls"], config["timeout"]) == (5433, "mail", "mail", False, 5000)
    assert config["options"] == "sslmode=prefer"
    domains = ops(rendered, "Domain")[0]["value"]
    assert list(domains) == ["domain_example_net", "domain_example_org"]
    assert domains["domain_example_org"]["aliases"] == {"example.com": True}
    assert domains["domain_example_org"]["catchAllAddress"] == "postmaster@example.org"
    assert "mx" not in domains["domain_example_org"]
    dkim = ops(rendered, "DkimSignature")[0]["value"].values()
    assert sorted((d["domainId"], d["selector"], d["@type"]) for d in dkim) == [
        ("#domain_example_net", "mail2026", "Dkim1RsaSha256"),
        ("#domain_example_org", "s1-ed25519", "Dkim1Ed25519Sha256"),
        ("#domain_example_org", "s1-rsa", "Dkim1RsaSha256"),
    ]
    listeners = {v["name"]: v for v in ops(rendered, "NetworkListener")[0]["value"].values()}
    assert set(listeners) == {"smtp", "submissions", "imaps", "https", "http", "submission", "imap", "pop3s", "managesieve"}
    assert listeners["http"]["bind"] == {"[::]:8081": True}
    assert listeners["submission"]["bind"] == {"[::]:587": True} and listeners["imap"]["bind"] == {"[::]:143": True}
    assert listeners["managesieve"]["protocol"] == "manageSieve"
    # PROXY protocol on the mail listeners only: the HTTP ones are reached by the ingress controller, which sends
    # plain HTTP with X-Forwarded-For.
    proxies = {"10.0.0.0/8": True, "192.168.1.7/32": True}
    assert {n: v.get("overrideProxyTrustedNetworks") for n, v in listeners.items()} == {
        "smtp": proxies, "submissions": proxies, "imaps": proxies, "submission": proxies, "imap": proxies,
        "pop3s": proxies, "managesieve": proxies, "https": None, "http": None}
    system = ops(rendered, "SystemSettings")[0]["value"]
    assert system == {"defaultHostname": "mail.example.org", "defaultDomainId": "#domain_example_net",
                      "proxyTrustedNetworks": {}, "defaultCertificateId": "#certificate_default"}
    assert ops(rendered, "Http")[0]["value"] == {"useXForwarded": True}
    blob = ops(rendered, "BlobStore")[0]["value"]
    assert blob["region"] == {"@type": "EuWest1"} and blob["keyPrefix"] == "blobs/" and blob["maxRetries"] == 5
    assert ops(rendered, "InMemoryStore")[0]["value"] == {"@type": "Redis", "url": "redis://valkey:6379"}
    assert ops(rendered, "Coordinator")[0]["value"] == {"@type": "Default"}
    assert ops(rendered, "Metrics")[0]["value"]["prometheus"]["authSecret"]["variableName"] == "PROM_PASSWORD"
    assert ops(rendered, "Tracer")[0]["value"]["tracer_stdout"]["level"] == "debug"
    assert ops(rendered, "SpamSettings")[0]["value"] == {
        "enable": True, "greylistFor": 300000, "spamFilterRulesUrl": "https://mirror.internal/spam-filter-rules.json.gz"}
    dnsbl = list(ops(rendered, "SpamDnsblServer")[0]["value"].values())
    assert dnsbl[0] == {"@type": "Ip", "name": "spamhaus-zen", "enable": True,
                        "zone": {"else": "ip_reverse + '.zen.spamhaus.org'", "match": {}}, "tag": {"else": "'RBL_ZEN'", "match": {}}}
    assert dnsbl[1]["@type"] == "Domain"
    throttles = list(ops(rendered, "MtaInboundThrottle")[0]["value"].values())
    assert throttles[1] == {"description": "per-sender", "enable": True, "key": {"sender": True}, "rate": {"count": 25, "period": 3600000}}
    assert ops(rendered, "MtaSts")[0]["value"] == {"mode": "enforce", "maxAge": 86400000, "mxHosts": {"mail.example.org": True}}
    relay = ops(rendered, "MtaRoute")[0]["value"]["route_relay"]
    assert relay["authSecret"] == {"@type": "EnvironmentVariable", "variableName": "RELAY_PASSWORD"}
    assert ops(rendered, "MtaOutboundStrategy")[0]["value"]["route"]["else"] == "'relay'"
    assert [s["protocol"] for s in ops(rendered, "DnsResolver")[0]["value"]["servers"].values()] == ["udp", "tcp", "tls", "tls"]
    app = ops(rendered, "Application")[0]
    assert app["matchOn"] == ["description"] and app["value"]["application_webui"]["resourceUrl"] == "https://mirror.internal/webui.zip"
    account = ops(rendered, "Account")[0]
    assert account["matchOn"] == ["name", "domainId"]
    assert account["value"]["account_smoke_40_example_2e_org"] == {
        "@type": "User", "name": "smoke", "domainId": "#domain_example_org", "description": "smoke test", "aliases": {},
        "credentials": {"0": {"@type": "Password", "secret": {"@env": "STALWART_SMOKE_PASSWORD"}}},
        "memberGroupIds": {}, "permissions": {"@type": "Inherit"}}


def test_dkim_records_drive_the_signatures():
    records = [
        {"domain": "example.org", "selector": "k2026-rsa", "algorithm": "rsa", "record_name": "k2026-rsa._domainkey.example.org"},
        {"domain": "example.org", "selector": "k2026-ed", "algorithm": "ed25519"},
    ]
    rendered = build(dkim_records=records, dkim_key_dir="/keys/")
    files = sorted(v["privateKey"]["filePath"] for v in ops(rendered, "DkimSignature")[0]["value"].values())
    assert files == ["/keys/k2026-ed._domainkey.example.org.pem", "/keys/k2026-rsa._domainkey.example.org.pem"]


def test_rotation_stages_keep_other_generations_from_signing():
    domains = [{"name": "example.org"}, {"name": "example.net", "dkim_selectors": {"rsa": "mail2026", "ed25519": False}}]
    rendered = build(domains=domains, dkim_selector_prefix="s2", dkim_stages={"s1": "retiring", "s3": "pending"})
    signatures = ops(rendered, "DkimSignature")[0]["value"].values()
    stages = sorted((v["domainId"], v["selector"], v["stage"]) for v in signatures)
    # Only the signing prefix (and a domain's own selectors) are active; example.net is not rotated.
    assert stages == [
        ("#domain_example_net", "mail2026", "active"),
        ("#domain_example_org", "s1-ed25519", "retiring"), ("#domain_example_org", "s1-rsa", "retiring"),
        ("#domain_example_org", "s2-ed25519", "active"), ("#domain_example_org", "s2-rsa", "active"),
        ("#domain_example_org", "s3-ed25519", "pending"), ("#domain_example_org", "s3-rsa", "pending")]
    files = {v["selector"]: v["privateKey"]["filePath"] for v in signatures}
    assert files["s3-rsa"] == "/etc/stalwart/dkim/s3-rsa._domainkey.example.org.pem"
    without_ed25519 = build(dkim_ed25519=False, dkim_stages={"s0": "retiring"})
    assert sorted((v["selector"], v["stage"]) for v in ops(without_ed25519, "DkimSignature")[0]["value"].values()) == [
        ("s0-rsa", "retiring"), ("s1-rsa", "active")]


def test_ed25519_can_be_turned_off():
    rendered = build(dkim_ed25519=False)
    assert [v["@type"] for v in ops(rendered, "DkimSignature")[0]["value"].values()] == ["Dkim1RsaSha256"]


def test_blob_store_in_data_store_and_metrics_off():
    rendered = build(blob_store={"type": "data_store"}, metrics={"enabled": False}, mta_sts={"mode": "none"})
    assert ops(rendered, "BlobStore")[0]["value"] == {"@type": "Default"}
    assert ops(rendered, "Metrics")[0]["value"] == {"prometheus": {"@type": "Disabled"}}
    assert ops(rendered, "MtaSts")[0]["value"]["mode"] == "disable"


def test_nats_coordinator():
    rendered = build(replicas=2, coordinator={"type": "nats", "addresses": ["nats-1:4222", "nats-0:4222"], "username": "stalwart"})
    assert ops(rendered, "Coordinator")[0]["value"] == {
        "@type": "Nats", "addresses": {"nats-0:4222": True, "nats-1:4222": True}, "authUsername": "stalwart",
        "authSecret": {"@type": "EnvironmentVariable", "variableName": "STALWART_COORDINATOR_PASSWORD"}}


TLS = {"cert_file": "/etc/stalwart/tls/tls.crt", "key_file": "/etc/stalwart/tls/tls.key"}


def test_tls_plans_the_mounted_certificate_as_the_default():
    rendered = build(tls=TLS)
    names = [op["object"] for op in rendered.plan]
    # Created before SystemSettings refers to it by creation id.
    assert names.index("Certificate") == names.index("SystemSettings") - 1
    assert ops(rendered, "Certificate") == [{"@type": "upsert", "object": "Certificate", "matchOn": ["certificate"], "value": {
        "certificate_default": {"certificate": {"@type": "File", "filePath": "/etc/stalwart/tls/tls.crt"},
                                "privateKey": {"@type": "File", "filePath": "/etc/stalwart/tls/tls.key"}}}}]
    assert ops(rendered, "SystemSettings")[0]["value"]["defaultCertificateId"] == "#certificate_default"
    assert rendered.summary["Certificate"] == 1
    # The PEM itself never enters the plan: only the two file references.
    assert "BEGIN" not in plan_lib.plan_ndjson(rendered.plan)


def test_relay_routes_remote_mail_through_the_smarthost():
    rendered = build(relay={"host": "SMTP.Relay.Example.net.", "port": 587, "username": "mailer"})
    assert ops(rendered, "MtaRoute") == [{"@type": "upsert", "object": "MtaRoute", "matchOn": ["name"], "value": {"route_relay": {
        "@type": "Relay", "name": "relay", "description": "Outbound relay (smarthost) managed by openova.stalwart",
        "address": "smtp.relay.example.net", "port": 587, "protocol": "smtp", "implicitTls": False, "allowInvalidCerts": False,
        "authUsername": "mailer", "authSecret": {"@type": "EnvironmentVariable", "variableName": "STALWART_RELAY_PASSWORD"}}}}]
    assert ops(rendered, "MtaOutboundStrategy")[0]["value"] == {"route": {
        "else": "'relay'", "match": {"0": {"if": "is_local_domain(rcpt_domain)", "then": "'local'"}}}}
    names = [op["object"] for op in rendered.plan]
    assert names.index("MtaRoute") < names.index("MtaOutboundStrategy")


def test_relay_variants():
    implicit = ops(build(relay={"host": "192.0.2.25", "port": 465}), "MtaRoute")[0]["value"]["route_relay"]
    assert (implicit["address"], implicit["implicitTls"]) == ("192.0.2.25", True)
    # No user name: no credentials at all, explicitly (so removing the user name clears them on the server).
    assert implicit["authUsername"] is None and implicit["authSecret"] == {"@type": "None"}
    relay = ops(build(relay={"host": "relay", "username": "u", "password_file": "/run/relay/password", "implicit_tls": True,
                             "allow_invalid_certs": True, "protocol": "lmtp"}), "MtaRoute")[0]["value"]["route_relay"]
    assert relay["authSecret"] == {"@type": "File", "filePath": "/run/relay/password"}
    assert (relay["address"], relay["port"], relay["implicitTls"], relay["allowInvalidCerts"], relay["protocol"]) == (
        "relay", 25, True, True, "lmtp")


def test_dns_resolver_servers():
    rendered = build(dns_resolver=["10.96.0.10", "10.96.0.11:5353", "tcp://10.96.0.12", "tls://9.9.9.9", "2001:DB8::53",
                                   "udp://[2001:db8::54]:5300", "tls://[2620:fe::fe]:8853"])
    assert ops(rendered, "DnsResolver")[0]["value"] == {"@type": "Custom", "servers": {
        "0": {"address": "10.96.0.10", "port": 53, "protocol": "udp"},
        "1": {"address": "10.96.0.11", "port": 5353, "protocol": "udp"},
        "2": {"address": "10.96.0.12", "port": 53, "protocol": "tcp"},
        "3": {"address": "9.9.9.9", "port": 853, "protocol": "tls"},
        "4": {"address": "2001:db8::53", "port": 53, "protocol": "udp"},
        "5": {"address": "2001:db8::54", "port": 5300, "protocol": "udp"},
        "6": {"address": "2620:fe::fe", "port": 8853, "protocol": "tls"},
    }}


def test_new_objects_use_only_schema_properties_and_variants(schema):
    """Certificate, MtaRoute Relay, MtaOutboundStrategy and DnsResolver Custom, property by property and enum by enum."""
    rendered = plan_lib.build(copy.deepcopy(FULL))
    certificate = ops(rendered, "Certificate")[0]["value"]["certificate_default"]
    props = schema.properties(schema.property_schema("x:Certificate", None))
    assert props["certificate"]["type"]["objectName"] == "x:PublicText" and props["privateKey"]["type"]["objectName"] == "x:SecretText"
    assert {"File"} <= set(schema.variants("x:PublicText")) and {"File"} <= set(schema.variants("x:SecretText"))
    for key, variant_of in (("certificate", "x:PublicText"), ("privateKey", "x:SecretText")):
        file_props = schema.properties(schema.property_schema(variant_of, certificate[key]["@type"]))
        assert set(certificate[key]) - {"@type"} <= set(file_props) == {"filePath"}
    # The matchOn property is settable (not serverSet), so it is sent on create and read back to match.
    assert props["certificate"]["update"] == "mutable"
    system = schema.properties(schema.property_schema("x:SystemSettings", None))["defaultCertificateId"]["type"]
    assert (system["type"], system["objectName"]) == ("objectId", "x:Certificate")

    relay = ops(rendered, "MtaRoute")[0]["value"]["route_relay"]
    relay_props = schema.properties(schema.property_schema("x:MtaRoute", "Relay"))
    assert set(relay) - {"@type"} <= set(relay_props)
    assert relay["protocol"] in schema.enums[relay_props["protocol"]["type"]["enumName"]]
    assert relay["authSecret"]["@type"] in schema.variants(relay_props["authSecret"]["type"]["objectName"])
    assert "None" in schema.variants(relay_props["authSecret"]["type"]["objectName"])
    assert relay_props["name"]["update"] == "immutable"  # matched on, never patched
    strategy = schema.properties(schema.property_schema("x:MtaOutboundStrategy", None))
    assert strategy["route"]["type"]["objectName"] == "x:Expression"
    # Without a relay the route is Stalwart's own default, in the plan's object-list encoding.
    default_route = schema.defaults(schema.property_schema("x:MtaOutboundStrategy", None))["route"]
    planned = ops(build(), "MtaOutboundStrategy")[0]["value"]["route"]
    assert planned["else"] == default_route["else"] and list(planned["match"].values()) == default_route["match"]

    resolver = ops(rendered, "DnsResolver")[0]["value"]
    assert {"System", "Custom"} <= set(schema.variants("x:DnsResolver"))
    custom = schema.properties(schema.property_schema("x:DnsResolver", "Custom"))
    assert custom["servers"]["type"]["objectName"] == "x:DnsCustomResolver"
    server_props = schema.properties(schema.property_schema("x:DnsCustomResolver", None))
    protocols = schema.enums[server_props["protocol"]["type"]["enumName"]]
    for server in resolver["servers"].values():
        assert set(server) == set(server_props) and server["protocol"] in protocols
    assert set(plan_lib.DNS_PROTOCOLS) == protocols


# ------------------------------------------------------------------ determinism and scale


def test_identical_input_identical_output_whatever_the_domain_order():
    first = build(domains=[{"name": "b.example"}, {"name": "a.example"}], default_domain="b.example")
    second = build(domains=[{"name": "a.example"}, {"name": "b.example"}], default_domain="b.example")
    assert plan_lib.plan_ndjson(first.plan) == plan_lib.plan_ndjson(second.plan)
    assert plan_lib.config_json(first.config) == plan_lib.config_json(build().config)


def test_ndjson_round_trip():
    rendered = plan_lib.build(copy.deepcopy(FULL))
    text = plan_lib.plan_ndjson(rendered.plan)
    assert text.count("\n") == len(rendered.plan)
    assert plan_lib.parse_ndjson("# comment\n\n" + text) == rendered.plan
    with pytest.raises(ValueError, match="line 2 is not JSON"):
        plan_lib.parse_ndjson('{"a": 1}\n{broken\n')


def test_a_thousand_domains_render_fast():
    domains = [{"name": f"d{n:04d}.example"} for n in range(1000)]
    started = time.perf_counter()
    rendered = build(domains=domains)
    text = plan_lib.plan_ndjson(rendered.plan)
    elapsed = time.perf_counter() - started
    assert rendered.summary["Domain"] == 1000 and rendered.summary["DkimSignature"] == 2000
    assert len(text) > 500_000
    assert elapsed < 2.0, elapsed


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("overrides, message", [
    ({"hostname": "not a host"}, "hostname"),
    ({"hostname": "localhost"}, "hostname: 'localhost' is not a fully qualified"),
    ({"domains": []}, "domains: at least one domain"),
    ({"domains": [{"name": "exa_mple.org"}]}, r"domains\[0\].name"),
    ({"domains": [{"name": "example.org"}, {"name": "EXAMPLE.org."}]}, r"domains\[1\].name: example.org is listed twice"),
    ({"domains": [{"name": "example.org", "dkim_selectors": {"rsa2": "x"}}]}, r"domains\[0\].dkim_selectors"),
    ({"default_domain": "other.org"}, "default_domain: other.org is not in domains"),
    ({"listeners": ["smtps"]}, "listeners: unknown listener 'smtps'"),
    ({"listener_ports": {"smtp": 70000}}, "listener_ports.smtp: port 70000 is out of range"),
    ({"listener_ports": {"http": 443}}, "listener_ports.http: port 443 is already used by listener https"),
    ({"listener_ports": {"imap": 1143}}, "listener_ports.imap: listener imap is not enabled"),
    ({"proxy_trusted_networks": ["10.0.0.0/33"]}, "proxy_trusted_networks"),
    ({"replicas": 2}, "coordinator: replicas is 2 but no coordinator"),
    ({"replicas": 2, "coordinator": {"type": "redis"}}, "in_memory_store.type=redis"),
    ({"replicas": 2, "coordinator": {"type": "nats"}}, "coordinator.addresses"),
    ({"replicas": 0}, "replicas"),
    ({"blob_store": {"region": "us-east-1"}}, "blob_store.bucket is required"),
    ({"blob_store": {"bucket": "b"}}, "blob_store.region is required"),
    ({"blob_store": {"bucket": "b", "region": "moon-1"}}, "blob_store.region: 'moon-1' is not a region Stalwart knows"),
    ({"blob_store": {"bucket": "b", "region": "x", "endpoint": "minio:9000"}}, "blob_store.endpoint"),
    ({"data_store": {}}, "data_store.host is required"),
    ({"data_store": {"host": "db", "port": 0}}, "data_store.port"),
    ({"data_store": {"host": "db", "password_env": "BAD-NAME"}}, "data_store.password_env"),
    ({"in_memory_store": {"type": "redis"}}, "in_memory_store.url is required"),
    ({"dkim_records": [{"domain": "example.org", "selector": "a", "algorithm": "ed25519"}]}, "dkim_records: no RSA key for example.org"),
    ({"dkim_records": [{"domain": "other.org", "selector": "a", "algorithm": "rsa"}]}, r"dkim_records\[0\].domain"),
    ({"dkim_records": [{"domain": "example.org", "selector": "a", "algorithm": "dsa"}]}, r"dkim_records\[0\].algorithm"),
    ({"dkim_key_dir": "relative/dir"}, "dkim_key_dir"),
    ({"dkim_stages": {"s2": "active"}}, "dkim_stages.s2: 'active' is not one of pending, retiring"),
    ({"dkim_stages": {"s1": "pending"}}, "dkim_stages.s1: 's1' is the signing prefix"),
    ({"dkim_stages": {"bad prefix": "pending"}}, "dkim_stages.bad prefix"),
    ({"dkim_stages": ["s2"]}, "dkim_stages: expected a dictionary"),
    ({"dkim_stages": {"s2": "pending"}, "dkim_records": [{"domain": "example.org", "selector": "a", "algorithm": "rsa"}]},
     "dkim_stages: only with selectors from dkim_selector_prefix"),
    ({"domains": [{"name": "example.org", "dkim_selectors": {"rsa": "k1", "ed25519": "k1"}}]},
     "domains: example.org uses selector 'k1' for both"),
    ({"dkim_records": [{"domain": "example.org", "selector": "k", "algorithm": "rsa"},
                       {"domain": "example.org", "selector": "k", "algorithm": "ed25519"}]}, "dkim_records: example.org uses selector 'k'"),
    ({"accounts": [{"name": "smoke", "domain": "other.org", "password_env": "P"}]}, r"accounts\[0\].domain"),
    ({"accounts": [{"name": "smoke@example.org", "domain": "example.org", "password_env": "P"}]}, r"accounts\[0\].name"),
    ({"accounts": [{"name": "smoke", "domain": "example.org"}]}, r"accounts\[0\].password: required"),
    ({"spam": {"rate_limits": [{"name": "x", "key": ["ip"], "count": 1, "period": 1}]}}, r"spam.rate_limits\[0\].key"),
    ({"spam": {"rate_limits": [{"name": "x", "count": 0, "period": 1}]}}, r"spam.rate_limits\[0\].count"),
    ({"spam": {"dnsbl_servers": [{"name": "x"}]}}, r"spam.dnsbl_servers\[0\].zone is required"),
    ({"spam": {"dnsbl_servers": [{"name": "x", "zone": "z", "type": "asn"}]}}, r"spam.dnsbl_servers\[0\].type"),
    ({"spam": {"dnsbl_servers": [{"name": "x", "zone": "z", "score": 3}]}}, r"spam.dnsbl_servers\[0\]: unknown key\(s\) score"),
    ({"spam": {"rate_limits": [{"name": "x", "key": {"remoteIp": 1}, "count": 1, "period": 1}]}}, r"spam.rate_limits\[0\].key: expected a list"),
    ({"spam": {"rate_limits": ["60/min"]}}, r"spam.rate_limits\[0\]: expected a dictionary"),
    ({"mta_sts": {"mode": "strict"}}, "mta_sts.mode"),
    ({"mta_sts": {"max_age": 0}}, "mta_sts.max_age"),
    ({"tracer": {"level": "loud"}}, "tracer.level"),
    ({"application_resource_url": "webui.zip"}, "application_resource_url"),
    ({"tls": {"cert_file": "/etc/tls/tls.crt"}}, "tls.key_file is required"),
    ({"tls": {"cert_file": "tls.crt", "key_file": "/etc/tls/tls.key"}}, "tls.cert_file: 'tls.crt' must be an absolute path"),
    ({"tls": {"cert_file": "/etc/tls/both.pem", "key_file": "/etc/tls/both.pem"}}, "tls.key_file"),
    ({"relay": {"port": 587}}, "relay.host is required"),
    ({"relay": {"host": "smtp://relay.example.net"}}, "relay.host"),
    ({"relay": {"host": "relay.example.net:587"}}, "relay.host"),
    ({"relay": {"host": "relay", "port": 0}}, "relay.port"),
    ({"relay": {"host": "relay", "protocol": "esmtp"}}, "relay.protocol"),
    ({"relay": {"host": "relay", "username": "u", "password_env": "BAD-NAME"}}, "relay.password_env"),
    ({"relay": {"host": "relay", "password_file": "/run/p"}}, "relay.password_file: set relay.username"),
    ({"relay": "relay.example.net"}, "relay: expected a dictionary"),
    ({"dns_resolver": "10.0.0.1"}, "dns_resolver: expected a list"),
    ({"dns_resolver": ["dns.example.net"]}, r"dns_resolver\[0\]: 'dns.example.net' is not an IP address"),
    ({"dns_resolver": ["10.0.0.1", "https://10.0.0.2"]}, r"dns_resolver\[1\]: protocol 'https'"),
    ({"dns_resolver": ["10.0.0.1:99999"]}, r"dns_resolver\[0\]: port 99999"),
    ({"dns_resolver": ["[2001:db8::1]x"]}, r"dns_resolver\[0\]"),
    ({"dns_resolver": ["10.0.0.1", "udp://10.0.0.1:53"]}, r"dns_resolver\[1\]: 'udp://10.0.0.1:53' is listed twice"),
    ({"dns_resolver": [53]}, r"dns_resolver\[0\]: expected a name server"),
])
def test_bad_input_names_the_option(overrides, message):
    with pytest.raises(ValueError, match=message):
        build(**overrides)


# ------------------------------------------------------------------ upstream schema


def _plan_objects(rendered):
    for op in rendered.plan:
        if op["@type"] == "upsert":
            for key, value in op["value"].items():
                yield op, key, value
        else:
            yield op, "singleton", op["value"]


VARIANTS = dict(BASE, blob_store={"type": "data_store"}, metrics={"enabled": False}, replicas=2, dkim_stages={"s0": "retiring", "s2": "pending"},
                coordinator={"type": "nats", "addresses": ["n:4222"]},
                relay={"host": "relay", "port": 465, "password_file": None}, dns_resolver=["2001:db8::53"])


@pytest.mark.parametrize("params", [BASE, FULL, VARIANTS], ids=["minimal", "full", "variants"])
def test_every_object_fits_the_upstream_schema(schema, params):
    rendered = plan_lib.build(copy.deepcopy(params))
    assert schema.check("DataStore", rendered.config) == []
    assert schema.is_singleton(schema.canonical("DataStore"))
    checked = 0
    for op, key, value in _plan_objects(rendered):
        canonical = schema.canonical(op["object"])
        if op["@type"] == "update":
            assert schema.is_singleton(canonical), op["object"]
            assert schema.check(op["object"], value, update=True) == [], (op["object"], value)
        else:
            assert not schema.is_singleton(canonical), op["object"]
            assert op["matchOn"], op
            for prop in op["matchOn"]:
                assert prop in value, (op["object"], key, prop)
            # Created as is ...
            assert schema.check(op["object"], value) == [], (op["object"], key)
            # ... and, when it already exists, only non-matchOn properties are sent: they must all be mutable.
            patch = {k: v for k, v in value.items() if k not in op["matchOn"] or k == "@type"}
            assert schema.check(op["object"], patch, update=True, current_variant=value.get("@type")) == [], (op["object"], key)
        checked += 1
    assert checked == sum(rendered.summary.values())


def test_the_schema_checker_catches_mistakes(schema):
    def messages(*args, **kwargs):
        return [problem[1] for problem in schema.check(*args, **kwargs)]

    assert messages("Nope", {}) == ["unknown object type 'Nope'"]
    assert "unknown property" in messages("Domain", {"name": "a.org", "colour": "red"})[0]
    assert "expected a boolean" in messages("Domain", {"name": "a.org", "isEnabled": "yes"})[0]
    assert "is set by the server" in messages("Domain", {"name": "a.org", "createdAt": "2026-01-01T00:00:00Z"})[0]
    assert "immutable" in messages("NetworkListener", {"name": "smtp"}, update=True)[0]
    assert "not a value of enum" in messages("NetworkListener", {"name": "x", "protocol": "smtps", "bind": {"[::]:1": True}})[0]
    assert "not a variant" in messages("DkimSignature", {"@type": "Dkim1Dsa"})[0]
    assert "required: one of" in messages("DkimSignature", {"selector": "x"})[0]
    assert "above the maximum" in messages("DataStore", {"@type": "PostgreSql", "port": 70000})[0]
    assert "must not be negative" in messages("MtaSts", {"maxAge": -5}, update=True)[0]
    assert "map of index" in messages("Account", {"@type": "User", "name": "a", "credentials": [{"@type": "Password"}]})[0]
    assert "set members map to true" in messages("SystemSettings", {"proxyTrustedNetworks": {"10.0.0.0/8": 1}}, update=True)[0]
    assert schema.secret_paths("x:Account", {"@type": "User", "credentials": {"0": {"@type": "Password", "secret": "x"}}}) == [
        "credentials/0/secret"]


SPAM_VARIABLES = {"dnsbl_servers": "stalwart_spam_dnsbl_servers", "rate_limits": "stalwart_spam_inbound_throttles",
                  "greylist": "stalwart_spam_greylist"}


def test_spam_problems_name_the_variable_and_item():
    good = {"greylist": 300, "dnsbl_servers": [{"name": "zen", "zone": "ip_reverse + '.zen.spamhaus.org'"}],
            "rate_limits": [{"name": "conn", "key": ["remoteIp"], "count": 60, "period": 60}]}
    assert plan_lib.spam_problems(good, SPAM_VARIABLES) == []
    bad_throttle = good | {"rate_limits": good["rate_limits"] + [{"name": "msg", "key": ["ip"], "count": 1, "period": 1}]}
    assert plan_lib.spam_problems(bad_throttle, SPAM_VARIABLES) == [
        "stalwart_spam_inbound_throttles[1].key: 'ip' is not one of " + ", ".join(plan_lib.THROTTLE_KEYS)]
    assert plan_lib.spam_problems(good | {"dnsbl_servers": [{"zone": "z"}]}, SPAM_VARIABLES) == [
        "stalwart_spam_dnsbl_servers[0].name is required"]
    assert plan_lib.spam_problems(good | {"greylist": -1}, SPAM_VARIABLES) == [
        "stalwart_spam_greylist: expected an integer >= 0, got -1"]
    # An option without a variable keeps the module's name.
    assert plan_lib.spam_problems({"rules_url": "mirror"}, SPAM_VARIABLES) == ["spam.rules_url: 'mirror' is not an absolute URL"]
