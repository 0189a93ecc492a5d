# -*- coding: utf-8 -*-
"""stalwart_settings against the schema-enforcing JMAP test server, driven through ansible-playbook."""

from __future__ import annotations

import base64
import json
import time
import urllib.request

from fakes.common import free_port

SMOKE_PASSWORD = "smoke-Pa55-word-7f3a"


def render_vars(**overrides) -> dict:
    config = dict(
        hostname="mail.example.org",
        domains=[{"name": "example.org"}, {"name": "example.net"}, {"name": "example.com"}],
        data_store={"host": "stalwart-db-rw"},
        blob_store={"bucket": "stalwart", "region": "us-east-1", "endpoint": "http://minio.minio:80"},
        listeners=["submission"],
        proxy_trusted_networks=["10.0.0.0/8"],
        spam={"greylist": 300, "dnsbl_servers": [{"name": "zen", "zone": "ip_reverse + '.zen.spamhaus.org'"}],
              "rate_limits": [{"name": "per-ip", "count": 100, "period": 60}]},
        application_resource_url="https://mirror.internal/webui.zip",
        accounts=[{"name": "smoke", "domain": "example.org", "password_env": "STALWART_SMOKE_PASSWORD"}],
    )
    config.update(overrides)
    return config


def plays(server, config: dict, **settings) -> list:
    apply_args = dict(url=server.url, username="admin", password="Adm1n-pass", plan="{{ render.plan }}",
                      secrets={"STALWART_SMOKE_PASSWORD": SMOKE_PASSWORD})
    apply_args.update(settings)
    apply_args = {k: v for k, v in apply_args.items() if v is not None}
    return [{
        "hosts": "localhost", "gather_facts": False,
        "tasks": [
            {"name": "render", "openova.stalwart.stalwart_config": config, "register": "render", "check_mode": False},
            {"name": "apply", "openova.stalwart.stalwart_settings": apply_args, "register": "applied"},
        ],
    }]


def test_first_apply_creates_second_is_silent_and_one_change_is_one_write(jmap_server, playbook):
    first = playbook(plays(jmap_server, render_vars()))
    assert first.rc == 0, first.stdout[-3000:]
    applied = first.task("apply")
    assert applied["changed"] is True
    assert applied["changes"]["Domain"]["create"] == 3 and applied["changes"]["DkimSignature"]["create"] == 6
    assert {d["name"] for d in jmap_server.objects("Domain")} == {"example.org", "example.net", "example.com"}
    assert len(jmap_server.objects("DkimSignature")) == 6
    assert {x["name"] for x in jmap_server.objects("NetworkListener")} == {"smtp", "submissions", "imaps", "https", "http", "submission"}
    system = jmap_server.objects("SystemSettings")[0]
    org = next(d for d in jmap_server.objects("Domain") if d["name"] == "example.org")
    assert system["defaultHostname"] == "mail.example.org" and system["defaultDomainId"] == org["id"]
    assert jmap_server.objects("BlobStore")[0]["@type"] == "S3"
    account = jmap_server.objects("Account")[0]
    assert account["domainId"] == org["id"]
    # The plan carried only a reference; the module resolved it, and it appears nowhere in Ansible's output.
    assert account["credentials"]["0"]["secret"] == SMOKE_PASSWORD
    assert SMOKE_PASSWORD not in first.stdout + first.stderr
    writes_after_first = jmap_server.set_calls
    assert writes_after_first == applied["set_calls"]
    # One x:<Type>/set per type: no per-object requests.
    assert writes_after_first == len({entry[0] for entry in jmap_server.set_log})
    assert applied["requests"] <= 5

    second = playbook(plays(jmap_server, render_vars()))
    assert second.rc == 0, second.stdout[-3000:]
    assert second.task("apply")["changed"] is False
    assert second.task("apply")["set_calls"] == 0
    assert jmap_server.set_calls == writes_after_first

    third = playbook(plays(jmap_server, render_vars(tracer={"level": "debug"})))
    assert third.rc == 0, third.stdout[-3000:]
    assert third.task("apply")["changed"] is True
    new_writes = jmap_server.set_log[writes_after_first:]
    tracer_id = jmap_server.objects("Tracer")[0]["id"]
    assert new_writes == [("x:Tracer", {"update": {tracer_id: {"level": "debug"}}})]


def test_check_mode_sends_no_set_and_diff_masks_secrets(jmap_server, playbook):
    checked = playbook(plays(jmap_server, render_vars()), check=True, diff=True)
    assert checked.rc == 0, checked.stdout[-3000:]
    applied = checked.task("apply")
    assert applied["changed"] is True
    assert jmap_server.set_calls == 0 and jmap_server.objects("Domain") == []
    after = applied["diff"]["after"]
    assert after["Domain name=example.org"]["name"] == "example.org"
    assert after["Account name=smoke, domainId=#domain_example_org"]["credentials"]["0"]["secret"] == {"@env": "STALWART_SMOKE_PASSWORD"}
    assert SMOKE_PASSWORD not in checked.stdout + checked.stderr

    playbook(plays(jmap_server, render_vars()))
    writes = jmap_server.set_calls
    drift = playbook(plays(jmap_server, render_vars(hostname="mx.example.org")), check=True, diff=True)
    diff = drift.task("apply")["diff"]
    assert diff["before"]["SystemSettings"] == {"defaultHostname": "mail.example.org"}
    assert diff["after"]["SystemSettings"] == {"defaultHostname": "mx.example.org"}
    assert jmap_server.set_calls == writes


def test_plan_file_and_reconcile_delete_only_unowned_objects(jmap_server, playbook, tmp_path):
    two_keys = render_vars(dest=str(tmp_path / "render"),
                           dkim_records=[{"domain": "example.org", "selector": "old-rsa", "algorithm": "rsa"},
                                         {"domain": "example.org", "selector": "new-rsa", "algorithm": "rsa"},
                                         {"domain": "example.net", "selector": "new-rsa", "algorithm": "rsa"},
                                         {"domain": "example.com", "selector": "new-rsa", "algorithm": "rsa"}])
    first = playbook(plays(jmap_server, two_keys, plan=None, plan_file=str(tmp_path / "render" / "plan.ndjson")))
    assert first.rc == 0, first.stdout[-3000:]
    assert len(jmap_server.objects("DkimSignature")) == 4
    rotated = dict(two_keys, dkim_records=[r for r in two_keys["dkim_records"] if r["selector"] != "old-rsa"])
    kept = playbook(plays(jmap_server, rotated, plan=None, plan_file=str(tmp_path / "render" / "plan.ndjson")))
    assert kept.task("apply")["changed"] is False, "without reconcile, unowned objects stay"
    assert len(jmap_server.objects("DkimSignature")) == 4
    pruned = playbook(plays(jmap_server, rotated, plan=None, plan_file=str(tmp_path / "render" / "plan.ndjson"),
                            reconcile=[{"object": "DkimSignature"}]))
    assert pruned.rc == 0, pruned.stdout[-3000:]
    assert pruned.task("apply")["changes"] == {"DkimSignature": {"create": 0, "update": 0, "destroy": 1}}
    assert sorted(k["selector"] for k in jmap_server.objects("DkimSignature")) == ["new-rsa"] * 3
    assert len(jmap_server.objects("Domain")) == 3


def _apply_raw(playbook, server, plan, **settings):
    args = dict(url=server.url, username="admin", password="Adm1n-pass", plan=plan)
    args.update(settings)
    return playbook([{"hosts": "localhost", "gather_facts": False,
                      "tasks": [{"name": "apply", "openova.stalwart.stalwart_settings": args, "ignore_errors": True}]}])


DOMAIN = {"@type": "upsert", "object": "Domain", "matchOn": ["name"], "value": {"d1": {"name": "example.org"}}}


def test_authentication_and_permission_errors(jmap_server, playbook):
    wrong = _apply_raw(playbook, jmap_server, [DOMAIN], password="wrong")
    assert wrong.task("apply")["failed"] is True
    assert "authentication failed for user 'admin'" in wrong.task("apply")["msg"] and "HTTP 401" in wrong.task("apply")["msg"]
    assert "wrong" not in wrong.task("apply")["msg"]
    viewer = _apply_raw(playbook, jmap_server, [DOMAIN], username="viewer", password="View3r-pass")
    assert "is not allowed to manage the server" in viewer.task("apply")["msg"] and "HTTP 403" in viewer.task("apply")["msg"]
    assert jmap_server.set_calls == 0


def test_connection_refused_timeout_and_bounded_retry(jmap_server, playbook):
    port = free_port()
    refused = _apply_raw(playbook, jmap_server, [DOMAIN], url=f"http://127.0.0.1:{port}")
    msg = refused.task("apply")["msg"]
    assert f"cannot reach http://127.0.0.1:{port}/" in msg and "Connection refused" in msg and "gave up after 3 attempts" in msg

    jmap_server.delay = 1.5
    started = time.monotonic()
    slow = _apply_raw(playbook, jmap_server, [DOMAIN], timeout=1)
    assert "timed out" in slow.task("apply")["msg"] and "gave up after 3 attempts" in slow.task("apply")["msg"]
    assert time.monotonic() - started < 30
    jmap_server.delay = 0

    jmap_server.fail_statuses = [503, 503]
    flaky = _apply_raw(playbook, jmap_server, [DOMAIN])
    assert flaky.task("apply").get("failed") is not True, flaky.task("apply")
    assert [d["name"] for d in jmap_server.objects("Domain")] == ["example.org"]


def test_the_server_schema_rejects_a_bad_plan_before_any_write(jmap_server, playbook):
    plan = [DOMAIN, {"@type": "upsert", "object": "NetworkListener", "matchOn": ["name"],
                     "value": {"l": {"name": "smtp", "protocol": "smtps", "bind": {"[::]:25": True}, "colour": "red"}}}]
    result = _apply_raw(playbook, jmap_server, plan).task("apply")
    assert result["failed"] is True
    assert "nothing was written" in result["msg"]
    assert "NetworkListener name=smtp: protocol: 'smtps' is not a value of enum NetworkListenerProtocol" in result["msg"]
    assert "NetworkListener name=smtp: colour: unknown property" in result["msg"]
    assert jmap_server.set_calls == 0 and jmap_server.objects("Domain") == []
    unknown = _apply_raw(playbook, jmap_server, [{"@type": "upsert", "object": "Mailboxes", "matchOn": ["name"],
                                                  "value": {"m": {"name": "x"}}}])
    assert "plan operation #1: unknown object type 'Mailboxes'" in unknown.task("apply")["msg"]

    jmap_server.serve_schema = False
    warned = _apply_raw(playbook, jmap_server, [DOMAIN]).task("apply")
    assert warned["changed"] is True and any("does not serve /api/schema" in w for w in warned["warnings"])


def test_method_and_set_errors_name_object_and_property(jmap_server, playbook):
    unknown = _apply_raw(playbook, jmap_server, [{"@type": "upsert", "object": "Mailboxes", "matchOn": ["name"],
                                                  "value": {"m": {"name": "x"}}}], schema_check=False)
    assert "x:Mailboxes/query failed: unknownMethod" in unknown.task("apply")["msg"]

    bad_property = _apply_raw(playbook, jmap_server, [{"@type": "upsert", "object": "Domain", "matchOn": ["name"],
                                                       "value": {"d1": {"name": "example.org", "colour": "red"}}}],
                              schema_check=False)
    msg = bad_property.task("apply")["msg"]
    assert "Domain name=example.org: create rejected: invalidProperties (properties: colour)" in msg

    server_set = _apply_raw(playbook, jmap_server, [{"@type": "upsert", "object": "Domain", "matchOn": ["name"],
                                                     "value": {"d1": {"name": "example.org", "dnsZoneFile": "x"}}}],
                            schema_check=False)
    assert "invalidProperties (properties: dnsZoneFile)" in server_set.task("apply")["msg"]

    dangling = _apply_raw(playbook, jmap_server, [{"@type": "upsert", "object": "DkimSignature", "matchOn": ["domainId", "selector"],
                                                   "value": {"k": {"@type": "Dkim1RsaSha256", "domainId": "i99999", "selector": "s",
                                                                   "privateKey": {"@type": "File", "filePath": "/k.pem"}}}}])
    msg = dangling.task("apply")["msg"]
    assert "DkimSignature domainId=i99999, selector=s: create rejected: validationFailed [Invalid: domainId]" in msg

    unresolved = _apply_raw(playbook, jmap_server, [{"@type": "update", "object": "SystemSettings", "value": {"defaultDomainId": "#nowhere"}}])
    assert "plan operation #1 (update SystemSettings) refers to #nowhere" in unresolved.task("apply")["msg"]

    missing_secret = _apply_raw(playbook, jmap_server, [DOMAIN, {"@type": "upsert", "object": "Account", "matchOn": ["name", "domainId"],
                                                                 "value": {"a": {"@type": "User", "name": "u", "domainId": "#d1",
                                                                                 "credentials": {"0": {"@type": "Password",
                                                                                                       "secret": {"@env": "NOT_SET_ANYWHERE_X"}}}}}}])
    assert "secret 'NOT_SET_ANYWHERE_X' is not set" in missing_secret.task("apply")["msg"]
    assert jmap_server.objects("Account") == []


def test_destroying_a_linked_object_is_reported(jmap_server, playbook):
    setup = _apply_raw(playbook, jmap_server, [
        {"@type": "upsert", "object": "Domain", "matchOn": ["name"], "value": {"a": {"name": "a.example"}, "b": {"name": "b.example"}}},
        {"@type": "upsert", "object": "DkimSignature", "matchOn": ["domainId", "selector"],
         "value": {"k": {"@type": "Dkim1RsaSha256", "domainId": "#b", "selector": "s", "privateKey": {"@type": "File", "filePath": "/k"}}}},
    ])
    assert setup.task("apply").get("failed") is not True, setup.task("apply")
    linked = _apply_raw(playbook, jmap_server, [DOMAIN | {"value": {"a": {"name": "a.example"}}}], reconcile=[{"object": "Domain"}])
    msg = linked.task("apply")["msg"]
    assert "Domain name=b.example: destroy rejected: objectIsLinked" in msg and "x:DkimSignature" in msg
    assert len(jmap_server.objects("Domain")) == 2


def test_a_thousand_domains_converge_in_few_requests(jmap_server, playbook):
    config = render_vars(domains=[{"name": f"d{n:04d}.example"} for n in range(1000)], accounts=[])
    started = time.monotonic()
    first = playbook(plays(jmap_server, config))
    first_seconds = time.monotonic() - started
    assert first.rc == 0, first.stdout[-3000:]
    applied = first.task("apply")
    assert applied["changes"]["Domain"]["create"] == 1000 and applied["changes"]["DkimSignature"]["create"] == 2000
    assert applied["requests"] <= 8, applied["requests"]
    started = time.monotonic()
    second = playbook(plays(jmap_server, config))
    second_seconds = time.monotonic() - started
    assert second.task("apply")["changed"] is False and second.task("apply")["set_calls"] == 0
    assert second.task("apply")["requests"] <= 5  # schema, session, reads
    print(f"1000 domains: first apply {first_seconds:.1f}s ({applied['requests']} requests, {applied['set_calls']} set calls), "
          f"converged re-run {second_seconds:.1f}s ({second.task('apply')['requests']} requests)")


def _jmap_post(server, calls, user="admin", password="Adm1n-pass"):
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    body = json.dumps({"using": ["urn:ietf:params:jmap:core", "urn:stalwart:jmap"], "methodCalls": calls}).encode()
    request = urllib.request.Request(f"{server.url}/jmap/", data=body, method="POST",
                                     headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["methodResponses"]


def test_the_test_server_enforces_the_upstream_schema(jmap_server):
    """The server the module is tested against rejects what Stalwart rejects (so green tests mean schema-valid writes)."""
    listener = {"name": "smtp", "protocol": "smtp", "bind": {"[::]:25": True}}
    created = _jmap_post(jmap_server, [["x:NetworkListener/set", {"create": {"l": listener}}, "0"]])[0][1]["created"]["l"]["id"]
    stored = jmap_server.objects("NetworkListener")[0]
    assert stored["socketBacklog"] == 1024, "defaults of the schema are filled in"

    cases = [
        ({"create": {"x": {"name": "x", "protocol": "smtp", "bind": {"[::]:26": True}, "useTls": "yes"}}}, "notCreated", "useTls"),
        ({"create": {"x": {"name": "x", "protocol": "smtps", "bind": {"[::]:26": True}}}}, "notCreated", "protocol"),
        ({"create": {"x": {"name": "x", "protocol": "smtp", "bind": {"[::]:26": True}, "port": 26}}}, "notCreated", "port"),
        ({"update": {created: {"name": "renamed"}}}, "notUpdated", "name"),  # immutable
    ]
    for args, field, prop in cases:
        result = _jmap_post(jmap_server, [["x:NetworkListener/set", args, "0"]])[0][1]
        error = next(iter(result[field].values()))
        assert error["type"] == "invalidProperties" and error["properties"] == [prop], (args, error)

    missing = _jmap_post(jmap_server, [["x:Domain/set", {"create": {"d": {"isEnabled": True}}}, "0"]])[0][1]["notCreated"]["d"]
    assert missing["type"] == "validationFailed" and {"type": "Required", "property": "name"} in missing["validationErrors"]
    singleton = _jmap_post(jmap_server, [["x:SystemSettings/get", {"ids": ["singleton"]}, "0"],
                                         ["x:Nope/get", {"ids": None}, "1"]])
    assert singleton[0][1]["list"][0]["maxConnections"] == 8192
    assert singleton[1][0] == "error" and singleton[1][1]["type"] == "unknownMethod"
    account = {"@type": "User", "name": "u", "domainId": "#d",
               "credentials": {"0": {"@type": "Password", "secret": "plain-text-pass"}}}
    responses = _jmap_post(jmap_server, [["x:Domain/set", {"create": {"d": {"name": "example.org"}}}, "0"],
                                         ["x:Account/set", {"create": {"a": account}}, "1"],
                                         ["x:Account/get", {"ids": None}, "2"]])
    assert responses[1][1]["created"]["a"]["id"]
    assert responses[2][1]["list"][0]["credentials"]["0"]["secret"] == "****"
    assert jmap_server.set_calls == len(cases) + 4


TLS = {"cert_file": "/etc/stalwart/tls/tls.crt", "key_file": "/etc/stalwart/tls/tls.key"}
RELAY = {"host": "smtp.relay.example.net", "port": 587, "username": "mailer", "password_env": "STALWART_RELAY_PASSWORD"}
RESOLVERS = ["10.96.0.10", "tls://[2620:fe::fe]:853"]


def test_certificate_relay_and_resolver_apply_and_converge(jmap_server, playbook):
    config = render_vars(tls=TLS, relay=RELAY, dns_resolver=RESOLVERS)
    first = playbook(plays(jmap_server, config))
    assert first.rc == 0, first.stdout[-3000:]
    changes = first.task("apply")["changes"]
    assert changes["Certificate"]["create"] == 1 and changes["MtaRoute"]["create"] == 1

    # The mounted cert-manager Secret is the server's default certificate, by file reference only.
    [certificate] = jmap_server.objects("Certificate")
    assert certificate["certificate"] == {"@type": "File", "filePath": "/etc/stalwart/tls/tls.crt"}
    assert certificate["privateKey"] == {"@type": "File", "filePath": "/etc/stalwart/tls/tls.key"}
    assert jmap_server.objects("SystemSettings")[0]["defaultCertificateId"] == certificate["id"]
    # Remote mail goes through the relay, whose password stays an environment reference.
    [route] = jmap_server.objects("MtaRoute")
    assert (route["@type"], route["name"], route["address"], route["port"], route["implicitTls"]) == (
        "Relay", "relay", "smtp.relay.example.net", 587, False)
    assert route["authUsername"] == "mailer"
    assert route["authSecret"] == {"@type": "EnvironmentVariable", "variableName": "STALWART_RELAY_PASSWORD"}
    strategy = jmap_server.objects("MtaOutboundStrategy")[0]
    assert strategy["route"]["else"] == "'relay'"
    assert list(strategy["route"]["match"].values()) == [{"if": "is_local_domain(rcpt_domain)", "then": "'local'"}]
    resolver = jmap_server.objects("DnsResolver")[0]
    assert resolver["@type"] == "Custom"
    assert list(resolver["servers"].values()) == [{"address": "10.96.0.10", "port": 53, "protocol": "udp"},
                                                  {"address": "2620:fe::fe", "port": 853, "protocol": "tls"}]

    # A second apply finds the same Certificate (matched on its certificate reference) and writes nothing.
    writes = jmap_server.set_calls
    second = playbook(plays(jmap_server, config))
    assert second.rc == 0, second.stdout[-3000:]
    assert second.task("apply")["changed"] is False and second.task("apply")["set_calls"] == 0
    assert jmap_server.set_calls == writes and len(jmap_server.objects("Certificate")) == 1

    # Back to direct delivery and the system resolver: the route and resolver change, the certificate does not.
    direct = playbook(plays(jmap_server, render_vars(tls=TLS)))
    assert direct.rc == 0, direct.stdout[-3000:]
    assert {obj for obj, _args in jmap_server.set_log[writes:]} == {"x:MtaOutboundStrategy", "x:DnsResolver"}
    assert jmap_server.objects("MtaOutboundStrategy")[0]["route"]["else"] == "'mx'"
    assert jmap_server.objects("DnsResolver")[0]["@type"] == "System"
    assert jmap_server.objects("SystemSettings")[0]["defaultCertificateId"] == certificate["id"]
    writes = jmap_server.set_calls
    assert playbook(plays(jmap_server, render_vars(tls=TLS))).task("apply")["changed"] is False
    assert jmap_server.set_calls == writes


def test_a_renamed_relay_host_is_one_update_of_the_route(jmap_server, playbook):
    config = render_vars(tls=TLS, relay=dict(RELAY, username=None))
    assert playbook(plays(jmap_server, config)).rc == 0
    [route] = jmap_server.objects("MtaRoute")
    assert route["authSecret"] == {"@type": "None"} and route["authUsername"] is None
    writes = jmap_server.set_calls
    moved = playbook(plays(jmap_server, render_vars(tls=TLS, relay=dict(RELAY, host="relay2.example.net"))))
    assert moved.rc == 0, moved.stdout[-3000:]
    assert [obj for obj, _args in jmap_server.set_log[writes:]] == ["x:MtaRoute"]
    update = jmap_server.set_log[writes][1]["update"][route["id"]]
    assert update == {"address": "relay2.example.net", "authUsername": "mailer",
                      "authSecret": {"@type": "EnvironmentVariable", "variableName": "STALWART_RELAY_PASSWORD"}}
    assert len(jmap_server.objects("MtaRoute")) == 1
