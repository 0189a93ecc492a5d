# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

import pytest

from ansible_collections.openova.stalwart.plugins.module_utils import _dns_records as r
from ansible_collections.openova.stalwart.plugins.module_utils import _dns_verify as v

HOST = "mail.example.org"
DKIM = {"domain": "example.org", "selector": "s1", "txt_value": "v=DKIM1; k=ed25519; p=KEYKEY"}


def published():
    return r.compute(r.Settings(domains=[{"name": "example.org"}], mail_host=HOST, dkim_records=[DKIM],
                                mail_host_ipv4=["192.0.2.25"]))


def fake(records):
    """A lookup over a dict {(name, type): [values]}."""
    return lambda name, rtype: list(records.get((name, rtype), []))


def zone_of(rrsets, **changes):
    records = {(x.name, x.rtype): list(x.values) for x in rrsets}
    records.update(changes)
    return records


def test_everything_published_is_ok():
    rrsets = published()
    statuses = v.verify(rrsets, [DKIM], fake(zone_of(rrsets)))
    assert v.problems(statuses) == []
    kinds = {s.kind for s in statuses}
    assert {"mx", "spf", "dkim", "dmarc", "spf_check", "dmarc_check", "host"} <= kinds


def test_missing_wrong_and_extra_values_are_reported():
    rrsets = published()
    records = zone_of(rrsets)
    del records[("_smtp._tls.example.org", "TXT")]
    records[("example.org", "MX")] = ["20 other.example.net."]
    records[("_dmarc.example.org", "TXT")] = ['"v=DMARC1; p=reject; rua=mailto:postmaster@example.org"', '"v=DMARC1; p=none"']
    records[(HOST, "A")] = ["192.0.2.25", "192.0.2.26"]
    problems = "\n".join(v.problems(v.verify(rrsets, [DKIM], fake(records))))
    assert "_smtp._tls.example.org TXT (tlsrpt): missing" in problems
    assert "example.org MX (mx): wrong: missing ['10 mail.example.org.'], found instead ['20 other.example.net.']" in problems
    assert "_dmarc.example.org TXT (dmarc_check): wrong: 2 DMARC records" in problems
    assert "mail.example.org A" not in problems  # an extra address is allowed unless exact
    exact = "\n".join(v.problems(v.verify(rrsets, [DKIM], fake(records), exact=True)))
    assert "mail.example.org A (host): wrong: unexpected extra values ['192.0.2.26']" in exact


def test_dkim_key_must_be_the_key_in_use():
    rrsets = published()
    records = zone_of(rrsets)
    records[("s1._domainkey.example.org", "TXT")] = ['"v=DKIM1; k=ed25519; p=OTHER"']
    statuses = v.verify(rrsets, [DKIM], fake(records))
    dkim = [s for s in statuses if s.kind == "dkim" and s.problem.startswith("published public key")]
    assert dkim and dkim[0].status == v.WRONG
    assert v.check_dkim(DKIM, ['"v=DKIM1; k=ed25519; " "p=KEY" "KEY"']).status == v.OK
    assert v.check_dkim(DKIM, []).status == v.MISSING
    assert v.check_dkim(DKIM, ['"v=DKIM2; p=KEYKEY"']).status == v.WRONG
    assert v.dkim_public_key({"txt_strings": ["v=DKIM1; p=AB", "CD"]}) == "ABCD"


def test_spf_lookup_count_follows_includes_and_detects_loops():
    records = {
        ("example.org", "TXT"): ['"v=spf1 mx include:_spf.example.net -all"'],
        ("_spf.example.net", "TXT"): ['"v=spf1 a include:_more.example.net ip4:192.0.2.0/24 ~all"'],
        ("_more.example.net", "TXT"): ['"v=spf1 exists:x.example.net redirect=_last.example.net"'],
        ("_last.example.net", "TXT"): ['"v=spf1 mx a -all"'],
    }
    assert v.spf_lookup_count("example.org", fake(records)) == 8
    status = v.check_spf("example.org", fake(records), fake(records))
    assert status.status == v.OK and status.expected == ["lookups=8"]
    many = {("example.org", "TXT"): ['"v=spf1 ' + " ".join(f"include:i{i}.example.net" for i in range(6)) + ' -all"']}
    many.update({(f"i{i}.example.net", "TXT"): ['"v=spf1 mx a -all"'] for i in range(6)})
    assert "18 DNS lookups" in v.check_spf("example.org", fake(many), fake(many)).problem
    loop = {("a.example", "TXT"): ['"v=spf1 include:b.example -all"'], ("b.example", "TXT"): ['"v=spf1 include:a.example -all"']}
    assert "loop" in v.check_spf("a.example", fake(loop), fake(loop)).problem
    bad = {("a.example", "TXT"): ['"v=spf1 ip4:999.1.1.1 -all"']}
    assert "not an IPv4" in v.check_spf("a.example", fake(bad), fake(bad)).problem
    two = {("a.example", "TXT"): ['"v=spf1 -all"', '"v=spf1 mx -all"']}
    assert "2 v=spf1 records" in v.check_spf("a.example", fake(two), fake(two)).problem


@pytest.mark.parametrize("text,problem", [
    ("v=DMARC1; p=reject; rua=mailto:a@example.org", None),
    ("v=DMARC1; p=reject; sp=none; adkim=s; aspf=r; pct=20; rua=mailto:a@example.org!10m,mailto:b@example.net", None),
    ("p=reject; v=DMARC1", "does not start with v=DMARC1"),
    ("v=DMARC1; p=block", "p='block'"),
    ("v=DMARC1; p=reject; sp=x", "sp='x'"),
    ("v=DMARC1; p=reject; pct=200", "pct='200'"),
    ("v=DMARC1; p=reject; adkim=x", "adkim='x'"),
    ("v=DMARC1; p=reject; rua=a@example.org", "rua address 'a@example.org'"),
    ("v=DMARC1; p=reject; p=none", "tag 'p' repeated"),
    ("v=DMARC1; p=reject; garbage", "malformed tag 'garbage'"),
])
def test_dmarc_syntax(text, problem):
    problems = v.dmarc_problems(text)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


def test_spf_with_other_txt_at_the_apex_is_ok():
    rrsets = published()
    records = zone_of(rrsets)
    records[("example.org", "TXT")] = records[("example.org", "TXT")] + ['"google-site-verification=x"']
    assert v.problems(v.verify(rrsets, [DKIM], fake(records))) == []
    records[("example.org", "TXT")] = ['"v=spf1 a -all"']
    assert any("SPF is 'v=spf1 a -all'" in p for p in v.problems(v.verify(rrsets, [DKIM], fake(records))))


class _Answers:
    def __init__(self, answers):
        self.answers = answers  # (name, rtype) -> list of texts, or an exception to raise

    def resolve(self, name, rtype):
        found = self.answers.get((name, rtype), [])
        if isinstance(found, Exception):
            raise found
        if not found:
            raise v.dns.resolver.NoAnswer()
        return [type("Rdata", (), {"to_text": lambda self, text=text: text})() for text in found]


def test_host_addresses():
    pytest.importorskip("dns.resolver")
    resolver = _Answers({("web.example.org", "A"): ["192.0.2.80"], ("web.example.org", "AAAA"): ["2001:db8::80"],
                         ("v4.example.org", "A"): ["192.0.2.81"],
                         ("gone.example.org", "A"): v.dns.resolver.NXDOMAIN(),
                         ("broken.example.org", "A"): v.dns.exception.Timeout()})
    assert v.host_addresses(resolver, "web.example.org") == ["192.0.2.80", "2001:db8::80"]
    assert v.host_addresses(resolver, "v4.example.org") == ["192.0.2.81"]
    assert v.host_addresses(resolver, "gone.example.org") == []
    assert v.host_addresses(resolver, "192.0.2.1") == ["192.0.2.1"]
    with pytest.raises(OSError, match="cannot resolve broken.example.org"):
        v.host_addresses(resolver, "broken.example.org")
