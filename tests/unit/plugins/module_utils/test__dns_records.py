# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

import pytest

from ansible_collections.openova.stalwart.plugins.module_utils import _dns_records as r

HOST = "mail.example.org"
RSA_TXT = "v=DKIM1; k=rsa; h=sha256; p=" + "M" * 392


def settings(**kwargs):
    base = {"domains": [{"name": "example.org"}, {"name": "example.net"}], "mail_host": HOST}
    base.update(kwargs)
    return r.Settings(**base)


def by_key(rrsets):
    return {(x.name, x.rtype): x for x in rrsets}


class FakeResolver:
    """A resolver over a dict ((name, rtype) -> values) that records what it was asked."""

    def __init__(self, answers):
        self.answers = answers
        self.asked = []

    def __call__(self, name, rtype):
        self.asked.append((name, rtype))
        return list(self.answers.get((name, rtype), []))


# -- MTA-STS ---------------------------------------------------------------------------------------------
def test_mta_sts_policy_is_rfc8461_text_with_crlf():
    policy = r.mta_sts_policy(HOST, "enforce", 86400)
    assert policy == "version: STSv1\r\nmode: enforce\r\nmx: mail.example.org\r\nmax_age: 86400\r\n"
    assert r.mta_sts_policy(["MX1.Example.org.", "*.example.net"], "testing") == (
        "version: STSv1\r\nmode: testing\r\nmx: mx1.example.org\r\nmx: *.example.net\r\nmax_age: 604800\r\n")


def test_mta_sts_id_changes_exactly_when_the_policy_changes():
    one = r.mta_sts_id(r.mta_sts_policy(HOST))
    assert one == r.mta_sts_id(r.mta_sts_policy(HOST))
    assert one.isalnum() and 1 <= len(one) <= 32
    assert one != r.mta_sts_id(r.mta_sts_policy(HOST, "testing"))
    assert one != r.mta_sts_id(r.mta_sts_policy(HOST, max_age=86400))
    assert one != r.mta_sts_id(r.mta_sts_policy("mx2.example.org"))


@pytest.mark.parametrize("args,option", [
    (([], "enforce", 1), "mta_sts.mx"),
    ((HOST, "strict", 1), "mta_sts.mode"),
    ((HOST, "enforce", 31557601), "mta_sts.max_age"),
    ((HOST, "enforce", -1), "mta_sts.max_age"),
    (("bad host", "enforce", 1), "mta_sts.mx"),
])
def test_mta_sts_policy_rejects_bad_input(args, option):
    with pytest.raises(ValueError, match=option.replace(".", r"\.")):
        r.mta_sts_policy(*args)


# -- TXT -------------------------------------------------------------------------------------------------------
def test_txt_quote_splits_at_255_bytes_and_escapes():
    value = r.txt_quote(RSA_TXT)
    strings = value.split('" "')
    assert len(strings) == 2 and len(strings[0].lstrip('"')) == 255
    assert r.txt_join(value) == RSA_TXT
    assert r.txt_quote('a "quoted" \\ back') == '"a \\"quoted\\" \\\\ back"'
    assert r.txt_join(r.txt_quote('a "quoted" \\ back')) == 'a "quoted" \\ back'
    assert r.txt_quote("caf\u00e9") == '"caf\\195\\169"'
    assert r.txt_join('"caf\\195\\169"') == "caf\u00e9"


# -- SPF ---------------------------------------------------------------------------------------------------------
def test_spf_terms_and_lookup_count():
    terms = ["mx", "a:relay.example.org", "ip4:192.0.2.0/24", "ip6:2001:db8::/32", "include:_spf.example.net",
             "~exists:%{i}.x.example", "redirect=_spf.example.com"]
    assert r.spf_terms(terms, "spf_mechanisms") == terms
    assert r.spf_lookups(terms) == 5
    assert r.spf_record(["mx"], "-all") == "v=spf1 mx -all"


@pytest.mark.parametrize("term,problem", [
    ("all", "spf_all"),
    ("ip4:300.0.0.1", "not an IPv4"),
    ("ip4:2001:db8::1", "not an IPv4"),
    ("ip6:192.0.2.1", "not an IPv6"),
    ("include", "needs a domain"),
    ("foo:bar", "not an SPF mechanism"),
    ("mx -all", "not an SPF term"),
])
def test_spf_terms_refuse_bad_mechanisms(term, problem):
    with pytest.raises(ValueError, match=r"spf_mechanisms\[1\]: .*" + problem):
        r.spf_terms(["mx", term], "spf_mechanisms")


def test_spf_over_ten_lookups_is_refused_naming_the_option():
    many = ["mx"] + [f"include:_spf{i}.example.net" for i in range(10)]
    with pytest.raises(ValueError, match=r"^spf_mechanisms: .* needs 11 DNS lookups"):
        r.compute(settings(spf_mechanisms=many))
    domains = [{"name": "example.org", "spf_mechanisms": many}]
    with pytest.raises(ValueError, match=r"^domains\[0\]\.spf_mechanisms: .* 11 DNS lookups"):
        r.compute(settings(domains=domains))
    assert by_key(r.compute(settings(spf_mechanisms=many[:10])))  # exactly 10 is fine


# -- DMARC / TLS-RPT ---------------------------------------------------------------------------------------
def test_dmarc_record_tags_and_domain_substitution():
    text = r.dmarc_record({"policy": "quarantine", "subdomain_policy": "reject", "adkim": "s", "aspf": "r",
                           "pct": 50, "fo": "1", "rua": ["dmarc@{domain}", "mailto:x@reports.example.com!10m"],
                           "ruf": ["mailto:f@{domain}"]}, "example.org", "dmarc")
    assert text == ("v=DMARC1; p=quarantine; sp=reject; adkim=s; aspf=r; pct=50; fo=1;"
                    " rua=mailto:dmarc@example.org,mailto:x@reports.example.com!10m; ruf=mailto:f@example.org")
    assert r.dmarc_record({"pct": 100}, "example.org", "dmarc") == "v=DMARC1; p=reject"


@pytest.mark.parametrize("settings_,option", [
    ({"policy": "block"}, "dmarc.policy"),
    ({"subdomain_policy": "x"}, "dmarc.subdomain_policy"),
    ({"pct": 101}, "dmarc.pct"),
    ({"adkim": "x"}, "dmarc.adkim"),
    ({"fo": "2"}, "dmarc.fo"),
    ({"rua": ["not an address"]}, r"dmarc.rua\[0\]"),
    ({"rua": ["a@b.example!xx"]}, r"dmarc.rua\[0\]"),
])
def test_dmarc_record_refuses_bad_settings(settings_, option):
    with pytest.raises(ValueError, match=option):
        r.dmarc_record(settings_, "example.org", "dmarc")


def test_tlsrpt_record():
    assert r.tlsrpt_record(["mailto:tls@{domain}", "https://report.example.net/tls"], "example.org", "tlsrpt_rua") \
        == "v=TLSRPTv1; rua=mailto:tls@example.org,https://report.example.net/tls"
    with pytest.raises(ValueError, match="tlsrpt_rua"):
        r.tlsrpt_record([], "example.org", "tlsrpt_rua")


# -- the record set --------------------------------------------------------------------------------------
def test_default_record_set_of_one_domain():
    dkim = [{"domain": "example.org", "selector": "s1-rsa", "txt_value": RSA_TXT, "public_key": "x"},
            {"domain": "example.org", "selector": "s1-ed25519", "txt_strings": ["v=DKIM1; k=ed25519; p=AAAA"]},
            {"domain": "other.test", "selector": "s1-rsa", "txt_value": RSA_TXT}]
    rrsets = by_key(r.compute(settings(domains=[{"name": "Example.ORG."}], dkim_records=dkim,
                                       mail_host_ipv4=["192.0.2.25"], mail_host_ipv6=["2001:DB8::25"],
                                       web_ipv4=["192.0.2.80"], web_ipv6=["2001:db8::80"])))
    assert rrsets[("example.org", "MX")].values == ("10 mail.example.org.",)
    spf = rrsets[("example.org", "TXT")]
    assert spf.values == ('"v=spf1 mx -all"',) and spf.owner == r.OWN_SPF
    assert rrsets[("_dmarc.example.org", "TXT")].values == ('"v=DMARC1; p=reject; rua=mailto:postmaster@example.org"',)
    assert rrsets[("_smtp._tls.example.org", "TXT")].values == ('"v=TLSRPTv1; rua=mailto:postmaster@example.org"',)
    policy_id = r.mta_sts_id(r.mta_sts_policy(HOST))
    assert rrsets[("_mta-sts.example.org", "TXT")].values == (f'"v=STSv1; id={policy_id}"',)
    # Mail names point at the mail load balancer, web names (and the HTTPS SRV targets) at the Ingress.
    assert rrsets[("_submissions._tcp.example.org", "SRV")].values == ("0 1 465 mail.example.org.",)
    assert rrsets[("_imaps._tcp.example.org", "SRV")].values == ("0 1 993 mail.example.org.",)
    assert rrsets[("_jmap._tcp.example.org", "SRV")].values == ("0 1 443 autodiscover.example.org.",)
    assert rrsets[("_autodiscover._tcp.example.org", "SRV")].values == ("0 1 443 autodiscover.example.org.",)
    assert ("_submission._tcp.example.org", "SRV") not in rrsets and ("_imap._tcp.example.org", "SRV") not in rrsets
    for name in ("mta-sts.example.org", "autoconfig.example.org", "autodiscover.example.org"):
        assert rrsets[(name, "A")].values == ("192.0.2.80",) and rrsets[(name, "AAAA")].values == ("2001:db8::80",)
        assert (name, "CNAME") not in rrsets
    rsa = rrsets[("s1-rsa._domainkey.example.org", "TXT")].values[0]
    assert rsa.count('" "') == 1 and r.txt_join(rsa) == RSA_TXT
    assert rrsets[("s1-ed25519._domainkey.example.org", "TXT")].values == ('"v=DKIM1; k=ed25519; p=AAAA"',)
    assert not any("other.test" in key[0] for key in rrsets)
    assert rrsets[(HOST, "A")].values == ("192.0.2.25",)
    assert rrsets[(HOST, "AAAA")].values == ("2001:db8::25",)
    assert rrsets[(HOST, "TXT")].values == ('"v=spf1 a -all"',)
    assert {x.ttl for x in rrsets.values()} == {3600}


def test_options_change_the_records():
    rrsets = by_key(r.compute(settings(
        domains=[{"name": "example.org", "dkim_selectors": ["s2"], "dmarc": {"policy": "none"},
                  "mta_sts_mode": "testing", "spf_all": "~all"},
                 {"name": "sub.example.net", "zone": "example.net", "tlsrpt_rua": []}],
        dkim_records=[{"domain": "example.org", "selector": "s1", "txt_value": "v=DKIM1; p=A"},
                      {"domain": "example.org", "selector": "s2", "txt_value": "v=DKIM1; p=B"}],
        ttl=600, ttls={"mx": 7200}, mx_preference=5, helo_spf=False, autoconfig=False,
        srv={"submission": True, "imap": True, "jmap": False}, caa_issuers=["letsencrypt.org"],
        caa_iodef="mailto:security@example.org", mta_sts={"enabled": True, "mode": "enforce", "max_age": 86400})))
    assert rrsets[("example.org", "MX")].values == ("5 mail.example.org.",) and rrsets[("example.org", "MX")].ttl == 7200
    assert rrsets[("_dmarc.example.org", "TXT")].ttl == 600
    assert ("s1._domainkey.example.org", "TXT") not in rrsets and ("s2._domainkey.example.org", "TXT") in rrsets
    assert rrsets[("_dmarc.example.org", "TXT")].values[0].startswith('"v=DMARC1; p=none')
    assert rrsets[("example.org", "TXT")].values == ('"v=spf1 mx ~all"',)
    testing = r.mta_sts_id(r.mta_sts_policy(HOST, "testing", 86400))
    assert rrsets[("_mta-sts.example.org", "TXT")].values == (f'"v=STSv1; id={testing}"',)
    assert rrsets[("sub.example.net", "MX")].zone == "example.net"
    assert ("_smtp._tls.sub.example.net", "TXT") not in rrsets
    assert (HOST, "TXT") not in rrsets and ("autoconfig.example.org", "CNAME") not in rrsets
    assert rrsets[("_submission._tcp.example.org", "SRV")].values == ("0 1 587 mail.example.org.",)
    assert rrsets[("_imap._tcp.example.org", "SRV")].values == ("0 1 143 mail.example.org.",)
    assert ("_jmap._tcp.example.org", "SRV") not in rrsets
    assert rrsets[("example.org", "CAA")].values == ('0 iodef "mailto:security@example.org"', '0 issue "letsencrypt.org"')


def test_dmarc_reports_to_another_managed_zone_get_an_authorization_record():
    rrsets = by_key(r.compute(settings(dmarc={"policy": "reject", "rua": ["mailto:dmarc@example.org"]})))
    auth = rrsets[("example.net._report._dmarc.example.org", "TXT")]
    assert auth.zone == "example.org" and auth.values == ('"v=DMARC1"',)
    assert ("example.org._report._dmarc.example.org", "TXT") not in rrsets


def test_tlsa_311_from_a_certificate_matches_the_spki_digest():
    import datetime  # pylint: disable=import-outside-toplevel
    import hashlib  # pylint: disable=import-outside-toplevel

    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import hashes, serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import ec  # pylint: disable=import-outside-toplevel
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    cert = x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()) \
        .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256())
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    expected = f"3 1 1 {hashlib.sha256(spki).hexdigest()}"
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    assert r.tlsa_311(pem, "tlsa_public_key") == expected
    rrsets = by_key(r.compute(settings(tlsa_public_key=pem, tlsa_ports=[25, 465])))
    assert rrsets[("_25._tcp.mail.example.org", "TLSA")].values == (expected,)
    assert rrsets[("_465._tcp.mail.example.org", "TLSA")].zone == "example.org"
    with pytest.raises(ValueError, match="tlsa_public_key"):
        r.tlsa_311("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n", "tlsa_public_key")


@pytest.mark.parametrize("kwargs,message", [
    ({"domains": []}, r"^domains: expected a non-empty list"),
    ({"domains": [{"name": "bad_domain!.org"}]}, r"^domains\[0\]\.name"),
    ({"domains": [{"name": "example.org"}, {"name": "EXAMPLE.org."}]}, r"^domains\[1\]\.name: example\.org is listed twice"),
    ({"domains": [{"name": "example.org", "zone": "example.net"}]}, r"^domains\[0\]\.zone: example\.org is not inside"),
    ({"mail_host": "not a host"}, r"^mail_host"),
    ({"mail_host_ipv4": ["2001:db8::1"]}, r"^mail_host_ipv4\[0\]"),
    ({"mail_host_ipv6": ["nope"]}, r"^mail_host_ipv6\[0\]"),
    ({"mail_host": "mail.elsewhere.test", "mail_host_ipv4": ["192.0.2.1"]}, r"^mail_host_zone: "),
    ({"mail_host_zone": "example.net"}, r"^mail_host_zone: mail\.example\.org is not inside"),
    ({"ttl": -1}, r"^ttl: "),
    ({"ttls": {"bogus": 1}}, r"^ttls: unknown record kind 'bogus'"),
    ({"ttls": {"mx": "x"}}, r"^ttls\.mx: "),
    ({"spf_all": "all"}, r"^spf_all: "),
    ({"srv": {"pop3": True}}, r"^srv: unknown service 'pop3'"),
    ({"tlsa_ports": [0]}, r"^tlsa_ports\[0\]"),
    ({"dkim_records": [{"domain": "example.org", "selector": "s1"}]}, r"^dkim_records\[0\]: txt_value"),
    ({"dkim_records": [{"domain": "example.org", "selector": "s1", "txt_value": "v=DKIM1; p=A",
                        "private_key": "-----BEGIN"}]}, r"^dkim_records\[0\]: carries private_key"),
    ({"dkim_records": [{"domain": "example.org", "selector": "bad sel", "txt_value": "x"}]},
     r"^dkim_records\[0\]\.selector"),
    ({"dkim_records": [{"domain": "example.org", "selector": "s1", "txt_strings": ["x" * 256]}]},
     r"^dkim_records: s1\._domainkey\.example\.org has a character-string over 255 bytes"),
    ({"domains": [{"name": "example.org"}, {"name": "mta-sts.example.org"}], "web_hostname": "lb.example.net",
      "srv": {"jmap": False, "autodiscover": False}}, r"^domains: mta-sts\.example\.org would be a CNAME"),
])
def test_bad_input_names_the_option(kwargs, message):
    with pytest.raises(ValueError, match=message):
        r.compute(settings(**kwargs))


def test_output_is_stable_and_sorted():
    one = r.compute(settings())
    two = r.compute(settings(domains=list(reversed(settings().domains))))
    assert one == two
    assert [(x.zone, x.name, x.rtype) for x in one] == sorted((x.zone, x.name, x.rtype) for x in one)


def test_as_dict_round_trip():
    for rrset in r.compute(settings()):
        data = rrset.as_dict()
        assert r.RRset.from_dict(data) == rrset
        if rrset.rtype == "TXT":
            assert data["txt"] == [r.txt_join(v) for v in rrset.values]


def test_zonefiles_table_and_external_dns():
    rrsets = r.compute(settings(mail_host_ipv4=["192.0.2.25"], web_hostname="lb.example.net",
                                resolve=FakeResolver({("lb.example.net", "A"): ["198.51.100.7"]})))
    files = r.zonefiles(rrsets)
    assert sorted(files) == ["example.net.zone", "example.org.zone", "mail.example.org.zone"]
    assert "example.org. 3600 IN MX 10 mail.example.org.\n" in files["example.org.zone"]
    assert "mail.example.org. 3600 IN A 192.0.2.25\n" in files["mail.example.org.zone"]
    table = r.table(rrsets)
    assert table.splitlines()[0].split() == ["NAME", "TTL", "TYPE", "VALUE"]
    assert any(line.split()[:3] == ["example.net.", "3600", "TXT"] and line.endswith("v=spf1 mx -all")
               for line in table.splitlines())
    objects = r.external_dns_endpoints(rrsets, "mail")
    names = ["mail-dns-example-net", "mail-dns-example-org", "mail-dns-mail-example-org"]
    assert [o["metadata"]["name"] for o in objects] == names
    endpoint = {(e["dnsName"], e["recordType"]): e for o in objects for e in o["spec"]["endpoints"]}
    assert endpoint[("example.org", "MX")]["targets"] == ["10 mail.example.org."]
    assert endpoint[("example.org", "TXT")]["targets"] == ["v=spf1 mx -all"]
    assert endpoint[("mta-sts.example.org", "CNAME")]["targets"] == ["lb.example.net"]
    assert endpoint[("autodiscover.example.org", "A")]["targets"] == ["198.51.100.7"]
    assert all(o["apiVersion"] == "externaldns.k8s.io/v1alpha1" and o["kind"] == "DNSEndpoint" for o in objects)


@pytest.mark.parametrize(("name", "value", "message"), [
    ("example.org", "10 mail.example.org.\nevil.example.org. 60 IN A 192.0.2.66", "line break"),
    ("example.org", "10 mail.example.org.\r", "line break"),
    ("evil.example.org. 60 IN A 192.0.2.66\nexample.org", "10 mail.example.org.", "record name"),
    ("example.org ; comment", "10 mail.example.org.", "record name"),
])
def test_zonefile_refuses_what_could_add_a_record(name, value, message):
    rrset = r.RRset(zone="example.org", domain="example.org", kind="mx", name=name, rtype="MX", ttl=3600,
                    values=(value,))
    with pytest.raises(ValueError, match=message):
        r.zonefiles([rrset])
    assert r.zonefile([r.RRset(zone="example.org", domain="example.org", kind="mx", name="example.org",
                               rtype="MX", ttl=3600, values=("10 mail.example.org.",))], "t").count("\n") == 3


# -- kinds: manage a part of the record set ---------------------------------------------------------------
def test_kinds_keeps_only_the_selected_records_and_still_checks_the_rest():
    dkim = [{"domain": "example.org", "selector": "s1-rsa", "txt_value": RSA_TXT},
            {"domain": "example.net", "selector": "s1-rsa", "txt_value": RSA_TXT}]
    full = r.compute(settings(dkim_records=dkim))
    only = r.compute(settings(dkim_records=dkim, kinds=["dkim"]))
    assert only == [x for x in full if x.kind == "dkim"]
    assert [x.name for x in only] == ["s1-rsa._domainkey.example.net", "s1-rsa._domainkey.example.org"]
    assert {x.kind for x in r.compute(settings(kinds=["mx", "spf"]))} == {"mx", "spf"}
    assert r.compute(settings(kinds=list(r.KINDS))) == r.compute(settings())
    # The other kinds are still computed: their bad input fails as without kinds.
    with pytest.raises(ValueError, match=r"^spf_mechanisms\[0\]"):
        r.compute(settings(kinds=["dkim"], spf_mechanisms=["bogus:x"]))


@pytest.mark.parametrize("kinds,message", [
    ([], r"^kinds: expected at least one"),
    (["dkim", "txt"], r"^kinds\[1\]: unknown record kind 'txt'"),
])
def test_kinds_bad_input_names_the_option(kinds, message):
    with pytest.raises(ValueError, match=message):
        r.compute(settings(kinds=kinds))


def test_kinds_refuse_zone_files_and_dnsendpoints_holding_a_part_of_a_domain():
    r.check_kinds_output(None, "/srv/render/dns", "external_dns")
    r.check_kinds_output(list(r.KINDS), "/srv/render/dns", "external_dns")
    r.check_kinds_output(["dkim"], None, "rfc2136")
    r.check_kinds_output(["dkim"], "", "none")
    with pytest.raises(ValueError, match=r"^zonefile_dir: .* kinds selects only dkim"):
        r.check_kinds_output(["dkim"], "/srv/render/dns", "rfc2136")
    with pytest.raises(ValueError, match=r"^provider: .*external_dns.* kinds selects only dkim, mx"):
        r.check_kinds_output(["dkim", "mx"], None, "external_dns")


@pytest.mark.parametrize("value, quoted", [
    ("v=DKIM1; k=rsa; p=MIIB+/=", '"v=DKIM1; k=rsa; p=MIIB+/="'),
    ("", '""'),
    ('say "hi"\\', '"say \\"hi\\"\\\\"'),
    ("tab\there é", '"tab\\009here \\195\\169"'),
])
def test_quote_string_plain_and_escaped(value, quoted):
    assert r._quote_string(value) == quoted  # pylint: disable=protected-access


def test_dkim_selectors_of_the_stalwart_role_publish_every_key_of_the_domain():
    # stalwart_domains[].dkim_selectors is a dictionary {rsa, ed25519}: its keys are not selectors.
    rrsets = by_key(r.compute(settings(
        domains=[{"name": "example.org", "dkim_selectors": {"rsa": "mail2026", "ed25519": False}},
                 {"name": "example.net", "dkim_selectors": {"ed25519": "ed"}}],
        dkim_records=[{"domain": "example.org", "selector": "mail2026", "txt_value": "v=DKIM1; p=A"},
                      {"domain": "example.net", "selector": "s1-rsa", "txt_value": "v=DKIM1; p=B"},
                      {"domain": "example.net", "selector": "ed", "txt_value": "v=DKIM1; k=ed25519; p=C"}])))
    assert sorted(k[0] for k in rrsets if "._domainkey." in k[0]) == [
        "ed._domainkey.example.net", "mail2026._domainkey.example.org", "s1-rsa._domainkey.example.net"]
    with pytest.raises(ValueError, match=r"^domains\[0\]\.dkim_selectors: expected a list"):
        r.compute(settings(domains=[{"name": "example.org", "dkim_selectors": "s1"}]))


def test_dkim_keys_not_generated_yet_are_pending_only_in_check_mode():
    records = [{"domain": "example.org", "selector": "s1-rsa", "algorithm": "rsa", "txt_value": None},
               {"domain": "example.org", "selector": "s1-ed25519", "algorithm": "ed25519", "txt_value": None}]
    with pytest.raises(ValueError, match=r"^dkim_records\[0\]: txt_value \(or txt_strings\) is missing"):
        r.compute(settings(dkim_records=records))
    rrsets = by_key(r.compute(settings(dkim_records=records, dkim_pending=True)))
    assert rrsets[("s1-rsa._domainkey.example.org", "TXT")].values == ('"v=DKIM1; k=rsa; p=(generated on the real run)"',)
    assert rrsets[("s1-ed25519._domainkey.example.org", "TXT")].values == (
        '"v=DKIM1; k=ed25519; p=(generated on the real run)"',)


# -- addresses: web names at the Ingress, mail names at the mail load balancer ----------------------------
def test_load_balancer_host_names_are_aliases_only_where_an_alias_is_legal():
    resolver = FakeResolver({("mail-lb.elb.example.net", "A"): ["198.51.100.25"],
                             ("mail-lb.elb.example.net", "AAAA"): ["2001:db8::1:25"],
                             ("web-lb.elb.example.net", "A"): ["198.51.100.80", "198.51.100.81"]})
    rrsets = by_key(r.compute(settings(domains=[{"name": "example.org"}], mail_host_hostname="Mail-LB.elb.example.net.",
                                       web_hostname="web-lb.elb.example.net", resolve=resolver)))
    # The mail host is an MX and SRV target: never an alias (RFC 2181 10.3, RFC 2782), its addresses instead.
    assert rrsets[(HOST, "A")].values == ("198.51.100.25",) and rrsets[(HOST, "AAAA")].values == ("2001:db8::1:25",)
    assert (HOST, "CNAME") not in rrsets
    assert rrsets[("example.org", "MX")].values == ("10 mail.example.org.",)
    # Web names that are nobody's target: a CNAME to the load balancer's name.
    assert rrsets[("mta-sts.example.org", "CNAME")].values == ("web-lb.elb.example.net.",)
    assert rrsets[("autoconfig.example.org", "CNAME")].values == ("web-lb.elb.example.net.",)
    # The JMAP and autodiscover SRV target: the addresses the name resolves to.
    assert rrsets[("autodiscover.example.org", "A")].values == ("198.51.100.80", "198.51.100.81")
    assert ("autodiscover.example.org", "CNAME") not in rrsets and ("autodiscover.example.org", "AAAA") not in rrsets
    assert rrsets[("_jmap._tcp.example.org", "SRV")].values == ("0 1 443 autodiscover.example.org.",)
    # Each name is resolved once, for every domain.
    assert sorted(resolver.asked) == [("mail-lb.elb.example.net", "A"), ("mail-lb.elb.example.net", "AAAA"),
                                      ("web-lb.elb.example.net", "A"), ("web-lb.elb.example.net", "AAAA")]


def test_a_web_host_name_is_not_resolved_when_every_web_name_may_be_an_alias():
    resolver = FakeResolver({})
    rrsets = by_key(r.compute(settings(web_hostname="web-lb.elb.example.net", srv={"jmap": False, "autodiscover": False},
                                       resolve=resolver)))
    assert rrsets[("autodiscover.example.org", "CNAME")].values == ("web-lb.elb.example.net.",)
    assert not resolver.asked


def test_without_a_web_address_the_web_names_get_no_record():
    rrsets = by_key(r.compute(settings(mail_host_ipv4=["192.0.2.25"])))
    assert not [key for key in rrsets if key[0].split(".")[0] in r.WEB_LABELS]
    assert rrsets[("_jmap._tcp.example.org", "SRV")].values == ("0 1 443 autodiscover.example.org.",)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"mail_host_hostname": "lb.example.net"}, r"^mail_host_hostname: lb\.example\.net is an MX and SRV target, which"
                                               r" may not be an alias .* needs the Python library dnspython"),
    ({"mail_host_hostname": "lb.example.net", "resolve": FakeResolver({})},
     r"^mail_host_hostname: lb\.example\.net does not resolve to an address \(no A or AAAA record\)"),
    ({"web_hostname": "lb.example.net", "resolve": FakeResolver({})},
     r"^web_hostname: lb\.example\.net does not resolve to an address .* the target of an SRV record"),
    ({"web_hostname": "not a host"}, r"^web_hostname: "),
    ({"web_ipv4": ["2001:db8::1"]}, r"^web_ipv4\[0\]"),
    ({"mail_host_hostname": "lb.example.net", "resolve": FakeResolver({("lb.example.net", "A"): ["bogus"]})},
     r"^mail_host_hostname \(lb\.example\.net A\)"),
])
def test_load_balancer_addresses_fail_naming_the_option(kwargs, message):
    with pytest.raises(ValueError, match=message):
        r.compute(settings(**kwargs))


def test_load_balancer_address_of_services_ingresses_and_gateways():
    assert r.load_balancer_address([]) == {}
    assert r.load_balancer_address([{"status": {"loadBalancer": {}}}, None]) == {}
    service = {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10", "ipMode": "VIP"}, {"ip": "2001:db8::10"}]}}}
    assert r.load_balancer_address([service]) == {"ipv4": ["192.0.2.10"], "ipv6": ["2001:db8::10"], "hostname": ""}
    nlb = {"status": {"loadBalancer": {"ingress": [{"hostname": "K8s-Mail-1.elb.us-east-1.amazonaws.com."}]}}}
    assert r.load_balancer_address([nlb]) == {"ipv4": [], "ipv6": [], "hostname": "k8s-mail-1.elb.us-east-1.amazonaws.com"}
    gateway = {"status": {"addresses": [{"type": "IPAddress", "value": "198.51.100.80"}, {"value": "198.51.100.81"},
                                        {"type": "Hostname", "value": "gw.example.net"}]}}
    assert r.load_balancer_address([gateway]) == {"ipv4": ["198.51.100.80", "198.51.100.81"], "ipv6": [],
                                                  "hostname": "gw.example.net"}
