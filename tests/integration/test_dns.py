# -*- coding: utf-8 -*-
"""The dns role and the dns_records / dns_verify modules against a real BIND 9 on loopback."""

from __future__ import annotations

import shutil
import subprocess

import checkdmarc
import dkim
import dns.message
import dns.name
import dns.nameserver
import dns.query
import dns.rdatatype
import dns.update
import pytest

MAIL_HOST = "mail.example.org"
DOMAINS = ["example.com", "example.net", "example.org"]


def role_play(bind, domains, tmp_path, dkim_keys=None, **role_vars):
    """A play that (optionally) makes DKIM keys with dkim_key, then runs the dns role against ``bind``."""
    tasks = []
    if dkim_keys:
        tasks.append({
            "name": "DKIM keys",
            "openova.stalwart.dkim_key": {"keys": dkim_keys, "key_dir": str(tmp_path / "dkim")},
            "register": "dkim_out",
        })
        tasks.append({"name": "Public DKIM records", "ansible.builtin.set_fact": {
            "stalwart_dkim_records": "{{ dkim_out.dkim_keys }}"}})
    tasks.append({"name": "DNS role", "ansible.builtin.include_role": {"name": "openova.stalwart.dns"}})
    variables = {
        "openova_stalwart_mode": "render",
        "openova_stalwart_render_dir": str(tmp_path / "render"),
        "stalwart_hostname": MAIL_HOST,
        "stalwart_domains": [{"name": d} for d in domains],
        **bind.role_vars(),
        "dns_mail_host_ipv4": ["192.0.2.25"],
        "dns_mail_host_ipv6": ["2001:db8::25"],
        "dns_web_ipv4": ["192.0.2.80"],
        "dns_verify_resolvers": [bind.host],
        "dns_verify_resolver_port": bind.port,
        "dns_verify_wait_timeout": 5,
    }
    variables.update(role_vars)
    return [{"name": "dns", "hosts": "localhost", "gather_facts": False, "vars": variables, "tasks": tasks}]


def failures(result):
    """The messages of failed tasks, for assertion output."""
    found = []
    for play in result.data.get("plays", []):
        for task in play.get("tasks", []):
            for host in task["hosts"].values():
                if host.get("failed"):
                    found.append(f"{task['task']['name']}: {host.get('msg')}")
    return "\n".join(found) or result.stdout[-3000:] + result.stderr[-3000:]


PUBLISH = "Publish the records of every domain (one call, at most one UPDATE per zone)"
VERIFY = "Verify every record on the authoritative servers"


def role_task(result, name, required=True):
    """The last result of the role task called ``name`` (the callback prefixes the role name)."""
    found = []
    for play in result.data.get("plays", []):
        for task in play.get("tasks", []):
            if task["task"]["name"].split(" : ")[-1] == name:
                found.extend(task["hosts"].values())
    assert found or not required, f"{name!r} did not run:\n{failures(result)}"
    return found[-1] if found else None


def records_of(result):
    return role_task(result, PUBLISH)


def serial(bind, zone):
    return bind.query(zone, "SOA")[0].serial


def zone_dump(bind, zone):
    """Every rrset of a zone, as text (one AXFR), to prove a zone was left unchanged."""
    import dns.zone  # pylint: disable=import-outside-toplevel
    xfr = dns.zone.from_xfr(dns.query.xfr(bind.host, zone, port=bind.port))
    return sorted(xfr.to_text().splitlines())


def dkim_keys(domains):
    return [{"domain": d, "selector": f"s1-{alg}", "algorithm": alg} for d in domains for alg in ("rsa", "ed25519")]


@pytest.fixture
def published(bind, playbook, tmp_path):
    result = playbook(role_play(bind, DOMAINS, tmp_path, dkim_keys=dkim_keys(DOMAINS)))
    assert result.rc == 0, failures(result)
    return result


def test_publish_three_domains(bind, published, tmp_path, playbook):
    assert bind.key_secret not in published.stdout + published.stderr  # the TSIG secret is no_log
    out = records_of(published)
    records = out["records"]
    # Every record reads back from BIND as published.
    for record in records:
        found = bind.query(record["name"], record["type"])
        assert found, f"{record['name']} {record['type']} not in BIND"
        texts = sorted(rd.to_text() for rd in found)
        if record["owner"] == "rrset":
            assert texts == sorted(record["rdata"]), record
        else:
            assert all(v in texts for v in record["rdata"]), record
    kinds = {(r["domain"], r["kind"]) for r in records}
    for domain in DOMAINS:
        for kind in ("mx", "spf", "dkim", "dmarc", "tlsrpt", "mta_sts", "srv", "autoconfig"):
            assert (domain, kind) in kinds, (domain, kind)
    assert bind.query(MAIL_HOST, "A")[0].to_text() == "192.0.2.25"
    assert bind.query("example.com", "MX")[0].to_text() == f"10 {MAIL_HOST}."
    # The web names point at the Ingress, the HTTPS SRV records at one of them.
    assert bind.query("mta-sts.example.com", "A")[0].to_text() == "192.0.2.80"
    assert bind.query("_jmap._tcp.example.com", "SRV")[0].to_text() == "0 1 443 autodiscover.example.com."
    assert "v=spf1 mx -all" in bind.txt("example.net")
    # RSA-2048 keys are several character-strings in one record.
    rsa = bind.query("s1-rsa._domainkey.example.com", "TXT")
    assert len(rsa) == 1 and len(rsa[0].strings) > 1 and all(len(s) <= 255 for s in rsa[0].strings)
    verify = role_task(published, VERIFY)
    assert verify["ok"] and not verify["problems"]
    assert {c["kind"] for c in verify["checks"]} >= {"dkim", "spf_check", "dmarc_check", "mx"}

    # A message signed with each DKIM key verifies through the live zone.
    def dnsfunc(name, timeout=5):
        return b"".join(bind.query(name.decode().rstrip("."), "TXT")[0].strings)
    message = (b"From: alice@example.net\r\nTo: bob@example.com\r\nSubject: dns test\r\n"
               b"Date: Wed, 25 Nov 2026 20:00:00 +0000\r\nMessage-ID: <1@example.net>\r\n\r\nHello.\r\n")
    rsa_key = (tmp_path / "dkim" / "s1-rsa._domainkey.example.net.pem").read_bytes()
    signed = dkim.sign(message, b"s1-rsa", b"example.net", rsa_key,
                       include_headers=[b"from", b"to", b"subject", b"date"]) + message
    assert dkim.verify(signed, dnsfunc=dnsfunc)
    assert not dkim.verify(signed.replace(b"Hello.", b"Hullo."), dnsfunc=dnsfunc)
    import base64  # pylint: disable=import-outside-toplevel

    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel
    ed_pem = (tmp_path / "dkim" / "s1-ed25519._domainkey.example.org.pem").read_bytes()
    seed = serialization.load_pem_private_key(ed_pem, None).private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    signed = dkim.sign(message, b"s1-ed25519", b"example.org", base64.b64encode(seed), signature_algorithm=b"ed25519-sha256",
                       include_headers=[b"from", b"to", b"subject", b"date"]) + message
    assert dkim.verify(signed, dnsfunc=dnsfunc)

    # checkdmarc, asking only the test server, finds SPF and DMARC valid.
    nameservers = [dns.nameserver.Do53Nameserver(bind.host, bind.port)]
    for domain in DOMAINS:
        spf = checkdmarc.spf.check_spf(domain, nameservers=nameservers, timeout=5)
        assert spf["valid"], spf
        assert spf["record"] == "v=spf1 mx -all"
        dmarc = checkdmarc.dmarc.check_dmarc(domain, nameservers=nameservers, timeout=5)
        assert dmarc["valid"], dmarc
        assert dmarc["tags"]["p"]["value"] == "reject"

    # The zone file snippets load in BIND: named-checkzone on a zone that $INCLUDEs them.
    render = tmp_path / "render" / "dns"
    for domain in DOMAINS:
        snippet = render / f"{domain}.zone"
        assert snippet.is_file()
        includes = [snippet] + ([render / f"{MAIL_HOST}.zone"] if domain == "example.org" else [])
        wrapper = tmp_path / f"{domain}.db"
        wrapper.write_text(f"$TTL 300\n@ IN SOA ns1.{domain}. hostmaster.{domain}. 1 3600 600 86400 300\n"
                           f"@ IN NS ns1.{domain}.\nns1 IN A 127.0.0.1\n"
                           + "".join(f"$INCLUDE {p}\n" for p in includes))
        check = subprocess.run([shutil.which("named-checkzone") or "named-checkzone", "-i", "local", domain,
                                str(wrapper)], capture_output=True, text=True, check=False)
        assert check.returncode == 0, check.stdout + check.stderr

    # Re-run: nothing differs, so no UPDATE is sent and nothing changes.
    serials = {d: serial(bind, d) for d in DOMAINS}
    again = playbook(role_play(bind, DOMAINS, tmp_path, dkim_keys=dkim_keys(DOMAINS)))
    assert again.rc == 0, failures(again)
    second = records_of(again)
    assert second["changed"] is False and second["updates_sent"] == 0
    assert again.changed == 0
    assert {d: serial(bind, d) for d in DOMAINS} == serials


def test_check_mode_and_diff_send_nothing(bind, playbook, tmp_path):
    before = zone_dump(bind, "faults.test")
    result = playbook(role_play(bind, ["faults.test"], tmp_path, stalwart_hostname="mail.faults.test"),
                      check=True, diff=True)
    assert result.rc == 0, failures(result)
    out = records_of(result)
    assert out["changed"] is True and out["updates_sent"] == 0
    assert any("faults.test. 3600 IN MX 10 mail.faults.test." in d.get("after", "") for d in out["diff"])
    assert zone_dump(bind, "faults.test") == before


def _update(bind, zone, actions):
    update = dns.update.UpdateMessage(zone, keyring=bind.keyring, keyname=bind.key_name)
    for action in actions:
        # Names are absolute: a name without the final dot would be relative to the zone.
        getattr(update, action[0])(dns.name.from_text(action[1]), *action[2:])
    response = dns.query.tcp(update, bind.host, port=bind.port, timeout=5)
    assert response.rcode() == 0


def test_drift_exact_repairs_and_absent_removes_only_owned(bind, playbook, tmp_path):
    zone = "drift.test"
    kwargs = {"stalwart_hostname": "mail.drift.test", "dns_mail_host_ipv6": []}
    first = playbook(role_play(bind, [zone], tmp_path, **kwargs))
    assert first.rc == 0, failures(first)
    # Out of band: a changed MX and DMARC, plus records the role does not own.
    _update(bind, zone, [
        ("replace", zone, 300, "MX", "10 evil.example."),
        ("replace", f"_dmarc.{zone}", 300, "TXT", '"v=DMARC1; p=none"'),
        ("add", zone, 300, "TXT", '"google-site-verification=abc"'),
        ("add", f"www.{zone}", 300, "A", "192.0.2.80"),
    ])
    # present: TXT is single-valued (repaired), the MX rrset only gains ours.
    present = playbook(role_play(bind, [zone], tmp_path, dns_verify=False, **kwargs))
    assert present.rc == 0, failures(present)
    assert sorted(r.to_text() for r in bind.query(zone, "MX")) == ["10 evil.example.", "10 mail.drift.test."]
    assert bind.txt(f"_dmarc.{zone}") == ["v=DMARC1; p=reject; rua=mailto:postmaster@drift.test"]
    # exact: the managed rrsets become exactly ours, the rest stays.
    exact = playbook(role_play(bind, [zone], tmp_path, dns_state="exact", **kwargs))
    assert exact.rc == 0, failures(exact)
    assert [r.to_text() for r in bind.query(zone, "MX")] == ["10 mail.drift.test."]
    assert sorted(bind.txt(zone)) == ["google-site-verification=abc", "v=spf1 mx -all"]
    assert bind.query(f"www.{zone}", "A")[0].to_text() == "192.0.2.80"
    assert records_of(exact)["updates_sent"] == 1
    # absent: only what the role owns goes.
    absent = playbook(role_play(bind, [zone], tmp_path, dns_state="absent", **kwargs))
    assert absent.rc == 0, failures(absent)
    assert bind.query(zone, "MX") == []
    assert bind.txt(zone) == ["google-site-verification=abc"]
    assert bind.query(f"www.{zone}", "A")[0].to_text() == "192.0.2.80"
    assert bind.query(f"_dmarc.{zone}", "TXT") == [] and bind.query("mail.drift.test", "A") == []
    assert bind.query(zone, "SOA") and bind.query(zone, "NS")
    again = playbook(role_play(bind, [zone], tmp_path, dns_state="absent", **kwargs))
    assert again.rc == 0 and records_of(again)["updates_sent"] == 0 and again.changed == 0


FAULTS = [
    ("wrong TSIG secret", {"dns_rfc2136_key_secret": "c2VjcmV0LXRoYXQtaXMtd3JvbmctYnV0LWxvbmctZW5vdWdo"},
     "TSIG key 'openova-test.' was rejected"),
    ("zone not served", {"stalwart_domains": [{"name": "faults.test", "zone": "not-served.test"}]},
     "zone not-served.test"),
]


@pytest.mark.parametrize("label,overrides,message", FAULTS, ids=[f[0] for f in FAULTS])
def test_faults_fail_clearly_and_leave_the_zone(bind, playbook, tmp_path, label, overrides, message):
    before = zone_dump(bind, "faults.test")
    if "stalwart_domains" in overrides:
        overrides = dict(overrides, stalwart_domains=[{"name": "x.not-served.test", "zone": "not-served.test"}],
                         stalwart_hostname="mail.faults.test", dns_mail_host_zone="faults.test")
    result = playbook(role_play(bind, ["faults.test"], tmp_path, **dict({"stalwart_hostname": "mail.faults.test"},
                                                                        **overrides)))
    assert result.rc != 0, label
    assert "c2VjcmV0LXRoYXQtaXMtd3JvbmctYnV0LWxvbmctZW5vdWdo" not in result.stdout
    assert bind.key_secret not in result.stdout
    out = records_of(result)
    assert out["failed"] and message in out["msg"], out["msg"]
    assert "NOTAUTH" in out["msg"] or "REFUSED" in out["msg"] or "TSIG" in out["msg"]
    assert zone_dump(bind, "faults.test") == before


def test_server_down_fails_clearly(playbook, tmp_path):
    from fakes.bind import BindServer  # pylint: disable=import-outside-toplevel
    from fakes.common import free_port  # pylint: disable=import-outside-toplevel

    class Down:  # a server nobody listens on: only its connection details exist
        host, port, key_name, key_secret = "127.0.0.1", free_port(), "k.", "c2VjcmV0c2VjcmV0c2VjcmV0"
        role_vars = BindServer.role_vars

    down = Down()
    result = playbook(role_play(down, ["faults.test"], tmp_path, stalwart_hostname="mail.faults.test"))
    assert result.rc != 0
    msg = records_of(result)["msg"]
    assert f"cannot reach DNS server 127.0.0.1:{down.port}" in msg and "refused" in msg.lower(), msg


BAD_INPUT = [
    ({"stalwart_domains": [{"name": "bad_domain!.test"}]}, "dns_domains[0].name"),
    ({"dns_spf_mechanisms": ["mx"] + [f"include:_spf{i}.example.net" for i in range(10)]}, "dns_spf_mechanisms"),
    ({"dns_spf_mechanisms": ["ip4:300.1.1.1"]}, "dns_spf_mechanisms[0]"),
    ({"dns_dmarc": {"policy": "reject", "rua": ["not an address"]}}, "dns_dmarc.rua[0]"),
    ({"dns_mail_host_ipv4": ["192.0.2.300"]}, "dns_mail_host_ipv4[0]"),
    ({"dns_ttls": {"mx": -5}}, "dns_ttls.mx"),
    ({"dns_rfc2136_server": ""}, "dns_rfc2136_server"),
    ({"dns_rfc2136_key_secret": ""}, "dns_rfc2136_key_name and dns_rfc2136_key_secret"),
    ({"dns_provider": "route53"}, "dns_provider"),
    ({"stalwart_domains": [{"name": "faults.test"}, {"name": "faults.test"}]}, "dns_domains[1].name"),
]


@pytest.mark.parametrize("overrides,variable", BAD_INPUT, ids=[b[1] for b in BAD_INPUT])
def test_bad_input_fails_before_any_update(bind, playbook, tmp_path, overrides, variable):
    before = zone_dump(bind, "faults.test")
    result = playbook(role_play(bind, ["faults.test"], tmp_path,
                                **dict({"stalwart_hostname": "mail.faults.test"}, **overrides)))
    assert result.rc != 0
    assert variable in result.stdout, result.stdout[-3000:]
    # Caught while computing the records (the publish task fails and its rescue names the variable): no UPDATE sent.
    publish = role_task(result, PUBLISH, required=False)
    assert publish is None or publish.get("failed"), publish
    assert zone_dump(bind, "faults.test") == before


def test_verify_reports_wrong_dkim_key_and_missing_records(bind, playbook, tmp_path):
    zone = "faults.test"
    records = [
        {"zone": zone, "domain": zone, "kind": "mx", "name": f"nothing.{zone}", "type": "MX", "ttl": 300,
         "rdata": ["10 mail.faults.test."], "owner": "rrset"},
        {"zone": zone, "domain": zone, "kind": "dkim", "name": f"old._domainkey.{zone}", "type": "TXT", "ttl": 300,
         "rdata": ['"v=DKIM1; k=ed25519; p=AAAA"'], "owner": "rrset"},
    ]
    _update(bind, zone, [("replace", f"old._domainkey.{zone}", 300, "TXT", '"v=DKIM1; k=ed25519; p=AAAA"')])
    try:
        result = playbook([{"hosts": "localhost", "gather_facts": False, "tasks": [{
            "name": "verify",
            "openova.stalwart.dns_verify": {
                "records": records, "server": bind.host, "port": bind.port,
                "dkim_records": [{"domain": zone, "selector": "old", "txt_value": "v=DKIM1; k=ed25519; p=BBBB"}],
            }}]}])
        out = result.task("verify")
        assert result.rc != 0 and out["failed"]
        assert f"nothing.{zone} MX (mx): missing" in out["msg"]
        assert "published public key differs from the key in use" in out["msg"]
        assert out["attempts"] == 1
    finally:
        _update(bind, zone, [("delete", f"old._domainkey.{zone}")])


def test_concurrent_edit_makes_the_update_fail_without_clobbering(bind):
    """The prerequisites of the UPDATE: an edit between our read and our write wins, nothing of ours lands."""
    import sys  # pylint: disable=import-outside-toplevel

    from fakes.ansible import ensure_collection_link  # pylint: disable=import-outside-toplevel
    sys.path.insert(0, str(ensure_collection_link()))
    # pylint: disable-next=import-outside-toplevel
    from ansible_collections.openova.stalwart.plugins.module_utils import _dns_records, _rfc2136  # noqa: E402
    zone = "faults.test"
    rrsets = _dns_records.compute(_dns_records.Settings(domains=[{"name": zone}], mail_host=f"mail.{zone}"))
    server = _rfc2136.Server(bind.host, bind.port, bind.key_name, bind.key_secret)
    current, _method = _rfc2136.read_zone(server, zone, rrsets)
    changes = _rfc2136.plan(rrsets, current, "exact")
    assert changes
    _update(bind, zone, [("replace", zone, 300, "MX", "5 someone-else.example.")])
    try:
        before = zone_dump(bind, zone)
        with pytest.raises(_rfc2136.DNSError, match="changed since it was read"):
            _rfc2136.send_update(server, zone, changes)
        assert zone_dump(bind, zone) == before
        # The query reader sees the same state as the zone transfer.
        assert _rfc2136.read_queries(server, zone, rrsets) == {
            key: value for key, value in _rfc2136.read_axfr(server, zone).items() if key in {(r.name, r.rtype) for r in rrsets}}
    finally:
        _update(bind, zone, [("delete", zone, "MX")])


def test_render_mode_writes_zone_files_and_dnsendpoints_without_a_server(playbook, tmp_path):
    play = [{"hosts": "localhost", "gather_facts": False, "vars": {
        "openova_stalwart_mode": "render",
        "openova_stalwart_render_dir": str(tmp_path / "render"),
        "stalwart_hostname": MAIL_HOST,
        "stalwart_domains": [{"name": "example.org"}, {"name": "example.net"}],
        "dns_provider": "external_dns",
        "dns_mail_host_ipv4": ["192.0.2.25"],
    }, "tasks": [{"name": "DNS role", "ansible.builtin.include_role": {"name": "openova.stalwart.dns"}}]}]
    result = playbook(play)
    assert result.rc == 0, failures(result)
    out = records_of(result)
    assert out["changed"] and len(out["manifests"]) == 3
    assert sorted(p.name for p in (tmp_path / "render" / "dns").iterdir()) == [
        "example.net.zone", "example.org.zone", f"{MAIL_HOST}.zone"]
    rendered = "".join(p.read_text() for p in (tmp_path / "render" / "kubernetes").rglob("*.yaml"))
    assert "kind: DNSEndpoint" in rendered and "mail-dns-example-net" in rendered
    assert any("crd" in w and "external-dns" in w for w in out.get("warnings", []))
    again = playbook(play)
    assert again.rc == 0 and again.changed == 0, failures(again)


def test_apply_mode_takes_the_mail_host_address_from_the_load_balancer(kube, playbook, tmp_path):
    kube.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mail"}})
    # The ingress controller of the test server gives the Ingress an address of its own.
    kube.seed({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "stalwart", "namespace": "mail"},
               "spec": {"rules": [{"host": "mta-sts.example.org"}]}})
    kube.seed({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "stalwart-mail", "namespace": "mail"},
               "spec": {"type": "LoadBalancer", "ports": [{"name": "smtp", "port": 25}]},
               "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.25"}, {"ip": "2001:db8::25"}]}}})
    play = [{"hosts": "localhost", "gather_facts": False, "vars": {
        "openova_stalwart_mode": "apply",
        "openova_stalwart_kubeconfig": str(kube.kubeconfig),
        "stalwart_hostname": MAIL_HOST,
        "stalwart_domains": [{"name": "example.org"}],
        "dns_provider": "none",
        "dns_verify": False,
    }, "tasks": [{"name": "DNS role", "ansible.builtin.include_role": {"name": "openova.stalwart.dns"}}]}]
    result = playbook(play)
    assert result.rc == 0, failures(result)
    # The test server's LoadBalancer controller may assign its own address: take what the API reports.
    ingress = [i["ip"] for i in kube.get("Service", "stalwart-mail", "mail")["status"]["loadBalancer"]["ingress"]]
    v4 = sorted(ip for ip in ingress if ":" not in ip)
    assert v4
    records = {(r["name"], r["type"]): r["rdata"] for r in records_of(result)["records"]}
    assert records[(MAIL_HOST, "A")] == v4
    assert records.get((MAIL_HOST, "AAAA"), []) == sorted(ip for ip in ingress if ":" in ip)
    table = role_task(result, "Records to publish by hand")["msg"]
    assert any(line.startswith(f"{MAIL_HOST}.") and line.endswith(v4[0]) for line in table)
    # The web names point at the Ingress (which serves HTTPS), not at the mail Service (which has no port 443).
    web = [i["ip"] for i in kube.get("Ingress", "stalwart", "mail")["status"]["loadBalancer"]["ingress"]]
    assert web and not set(web) & set(ingress)
    for name in ("mta-sts.example.org", "autoconfig.example.org", "autodiscover.example.org"):
        assert records[(name, "A")] == web, name
    assert records[("_jmap._tcp.example.org", "SRV")] == ["0 1 443 autodiscover.example.org."]


def _add_records(bind, zone, *records):
    update = dns.update.UpdateMessage(zone, keyring=bind.keyring, keyname=bind.key_name)
    for name, rtype, value in records:
        update.replace(name + ".", 300, rtype, value)
    assert dns.query.tcp(update, bind.host, port=bind.port, timeout=5).rcode() == 0


def test_load_balancers_that_report_host_names(bind, kube_factory, playbook, tmp_path):
    """AWS NLB/ELB report a host name: a CNAME where an alias is legal, its addresses (resolved) where it is not."""
    kube = kube_factory(load_balancer_domain="lb.example.com")
    for obj in ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mail"}},
                {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "stalwart-mail", "namespace": "mail"},
                 "spec": {"type": "LoadBalancer", "ports": [{"name": "smtp", "port": 25}]}},
                {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "stalwart", "namespace": "mail"},
                 "spec": {"rules": [{"host": "mta-sts.lb.test"}]}}):
        kube.seed(obj)
    mail_lb = kube.get("Service", "stalwart-mail", "mail")["status"]["loadBalancer"]["ingress"][0]["hostname"]
    web_lb = kube.get("Ingress", "stalwart", "mail")["status"]["loadBalancer"]["ingress"][0]["hostname"]
    assert (mail_lb, web_lb) == ("service-stalwart-mail-mail.lb.example.com", "ingress-stalwart-mail.lb.example.com")
    _add_records(bind, "example.com", (mail_lb, "A", "198.51.100.25"), (mail_lb, "AAAA", "2001:db8::1:25"),
                 (web_lb, "A", "198.51.100.80"))
    variables = {"openova_stalwart_mode": "apply", "openova_stalwart_kubeconfig": str(kube.kubeconfig),
                 "dns_verify": False, "dns_mail_host_service_wait_timeout": 5, "dns_web_wait_timeout": 5}
    # A zone of its own (the other tests publish addresses for example.org, which a CNAME could not replace).
    variables["stalwart_hostname"] = "mail.lb.test"
    play = role_play(bind, ["lb.test"], tmp_path, **variables)
    for name in ("dns_mail_host_ipv4", "dns_mail_host_ipv6", "dns_web_ipv4"):
        del play[0]["vars"][name]
    result = playbook(play)
    assert result.rc == 0, failures(result)
    # The mail host is the MX target: its addresses, never an alias (RFC 2181 10.3).
    assert [r.to_text() for r in bind.query("mail.lb.test", "A")] == ["198.51.100.25"]
    assert [r.to_text() for r in bind.query("mail.lb.test", "AAAA")] == ["2001:db8::1:25"]
    assert not bind.query("mail.lb.test", "CNAME")
    # Web names: a CNAME to the Ingress load balancer; the SRV target its resolved addresses.
    assert bind.query("mta-sts.lb.test", "CNAME")[0].to_text() == web_lb + "."
    assert bind.query("autoconfig.lb.test", "CNAME")[0].to_text() == web_lb + "."
    assert [r.to_text() for r in bind.query("autodiscover.lb.test", "A")] == ["198.51.100.80"]
    assert not bind.query("autodiscover.lb.test", "CNAME")
    assert bind.query("_jmap._tcp.lb.test", "SRV")[0].to_text() == "0 1 443 autodiscover.lb.test."

    # A name that does not resolve: a clear error naming it, and nothing published.
    update = dns.update.UpdateMessage("example.com", keyring=bind.keyring, keyname=bind.key_name)
    update.delete(web_lb + ".")
    assert dns.query.tcp(update, bind.host, port=bind.port, timeout=5).rcode() == 0
    before = zone_dump(bind, "lb.test")
    again = dict(variables, dns_mail_host_ipv4=["192.0.2.25"], dns_web_ipv4=[], dns_ttl=60)
    failed = playbook(role_play(bind, ["lb.test"], tmp_path, **again))
    assert failed.rc != 0
    assert f"web_hostname: {web_lb} does not resolve to an address (no A or AAAA record)" in failures(failed)
    assert zone_dump(bind, "lb.test") == before


def test_role_argument_specs_mirror_the_defaults():
    import pathlib  # pylint: disable=import-outside-toplevel

    import yaml  # pylint: disable=import-outside-toplevel
    role = pathlib.Path(__file__).resolve().parents[2] / "roles" / "dns"
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text())
    entry_points = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    specs = entry_points["main"]["options"]
    assert entry_points["preflight"]["options"] == specs
    assert set(specs) == set(defaults)
    # Templated list defaults cannot be typed as lists in the docs: their description names the source instead.
    templated_lists = {"dns_domains": "stalwart_domains"}
    for name, spec in specs.items():
        assert name.startswith("dns_") and spec.get("description") and spec.get("type"), name
        if name in templated_lists:
            assert "default" not in spec and f"C({templated_lists[name]})" in " ".join(spec["description"])
            assert templated_lists[name] in defaults[name]
            continue
        assert spec["default"] == defaults[name], name
        if "choices" in spec and "{{" not in str(defaults[name]):
            assert defaults[name] in spec["choices"], name


@pytest.mark.parametrize("overrides,variable", [
    ({"dns_provider": "route53"}, "dns_provider"),
    ({"dns_spf_mechanisms": ["ip6:192.0.2.1"]}, "dns_spf_mechanisms[0]"),
    ({}, None),
])
def test_preflight_entry_point_alone(playbook, tmp_path, overrides, variable):
    """site.yml runs every role's preflight before anything is applied: it must check on its own."""
    play = [{"hosts": "localhost", "gather_facts": False, "vars": dict({
        "stalwart_hostname": MAIL_HOST, "stalwart_domains": [{"name": "example.org"}], "dns_provider": "none",
    }, **overrides), "tasks": [{"name": "DNS preflight", "ansible.builtin.include_role": {
        "name": "openova.stalwart.dns", "tasks_from": "preflight"}}]}]
    result = playbook(play)
    if variable is None:
        assert result.rc == 0, failures(result)
        assert result.changed == 0
        check = role_task(result, "Compute every record without publishing")
        assert "records" not in check and "table" not in check  # kept small at a thousand domains
    else:
        assert result.rc != 0 and variable in failures(result), failures(result)


def test_verify_waits_for_propagation_and_times_out(bind, playbook):
    import threading  # pylint: disable=import-outside-toplevel
    zone = "faults.test"
    name = f"late.{zone}"
    records = [{"zone": zone, "domain": zone, "kind": "tlsrpt", "name": name, "type": "TXT", "ttl": 300,
                "rdata": ['"v=TLSRPTv1; rua=mailto:tls@faults.test"'], "owner": "rrset"}]

    def verify(wait):
        return playbook([{"hosts": "localhost", "gather_facts": False, "tasks": [{
            "name": "verify", "openova.stalwart.dns_verify": {
                "records": records, "server": bind.host, "port": bind.port, "wait_timeout": wait, "interval": 1}}]}])

    def publish_once_verify_runs():
        # Publish only after the module has started checking, so its first attempt must miss the record.
        import pathlib  # pylint: disable=import-outside-toplevel
        import time  # pylint: disable=import-outside-toplevel
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not stop.is_set():
            for cmdline in pathlib.Path("/proc").glob("[0-9]*/cmdline"):
                try:
                    if b"AnsiballZ_dns_verify" in cmdline.read_bytes():
                        time.sleep(8)
                        _update(bind, zone, [("replace", name, 300, "TXT", records[0]["rdata"][0])])
                        return
                except OSError:
                    continue
            time.sleep(0.1)
    stop = threading.Event()
    timer = threading.Thread(target=publish_once_verify_runs, daemon=True)
    timer.start()
    try:
        result = verify(60)
        out = result.task("verify")
        assert result.rc == 0 and out["ok"], out.get("msg")
        assert out["attempts"] > 1
        _update(bind, zone, [("delete", name)])
        result = verify(2)
        out = result.task("verify")
        assert result.rc != 0 and out["attempts"] >= 2
        assert f"{name} TXT (tlsrpt): missing: not published" in out["msg"]
    finally:
        stop.set()
        timer.join(5)
        _update(bind, zone, [("delete", name)])
