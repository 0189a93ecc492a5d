# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

import pytest

pytest.importorskip("dns")

import dns.rdata  # noqa: E402  pylint: disable=wrong-import-position
import dns.rdataclass  # noqa: E402  pylint: disable=wrong-import-position
import dns.rdatatype  # noqa: E402  pylint: disable=wrong-import-position
import dns.update  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.openova.stalwart.plugins.module_utils import _dns_records  # noqa: E402
from ansible_collections.openova.stalwart.plugins.module_utils import _rfc2136 as u  # noqa: E402

ZONE = "example.org"
SECRET = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI="


def rd(rtype, text):
    return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rtype), text, dns.name.root, relativize=False)


def rrset(name, rtype, *values, owner=_dns_records.OWN_RRSET, ttl=3600):
    return _dns_records.RRset(ZONE, ZONE, "x", name, rtype, ttl, tuple(values), owner)


MX = rrset(ZONE, "MX", "10 mail.example.org.")
SPF = rrset(ZONE, "TXT", '"v=spf1 mx -all"', owner=_dns_records.OWN_SPF)
DMARC = rrset("_dmarc.example.org", "TXT", '"v=DMARC1; p=reject"')


def current(*entries):
    return {(name, rtype): (ttl, frozenset(rd(rtype, v) for v in values)) for name, rtype, ttl, values in entries}


def test_no_change_when_the_zone_matches():
    now = current((ZONE, "MX", 3600, ["10 mail.example.org."]), (ZONE, "TXT", 3600, ['"v=spf1 mx -all"', '"other"']))
    assert u.plan([MX, SPF], now, "present") == []
    assert u.plan([MX, SPF], now, "exact") == []


def test_missing_rrsets_are_added():
    changes = u.plan([MX, DMARC], {}, "present")
    assert [(c.name, c.rtype, c.before, c.after_ttl) for c in changes] == [
        (ZONE, "MX", frozenset(), 3600), ("_dmarc.example.org", "TXT", frozenset(), 3600)]


def test_present_keeps_extra_values_of_multi_valued_rrsets_but_replaces_single_valued():
    now = current((ZONE, "MX", 3600, ["20 backup.example.net."]), ("_dmarc.example.org", "TXT", 3600, ['"v=DMARC1; p=none"']))
    changes = {c.rtype: c for c in u.plan([MX, DMARC], now, "present")}
    assert changes["MX"].after == frozenset({rd("MX", "20 backup.example.net."), rd("MX", "10 mail.example.org.")})
    assert changes["TXT"].after == frozenset({rd("TXT", '"v=DMARC1; p=reject"')})
    exact = {c.rtype: c for c in u.plan([MX, DMARC], now, "exact")}
    assert exact["MX"].after == frozenset({rd("MX", "10 mail.example.org.")})


def test_spf_owns_only_its_txt_value():
    now = current((ZONE, "TXT", 300, ['"v=spf1 a -all"', '"google-site-verification=x"']))
    (change,) = u.plan([SPF], now, "exact")
    assert change.after == frozenset({rd("TXT", '"v=spf1 mx -all"'), rd("TXT", '"google-site-verification=x"')})
    (gone,) = u.plan([SPF], current((ZONE, "TXT", 300, ['"v=spf1 mx -all"', '"keep"'])), "absent")
    assert gone.after == frozenset({rd("TXT", '"keep"')})


def test_absent_removes_only_the_computed_values():
    now = current((ZONE, "MX", 3600, ["10 mail.example.org.", "20 backup.example.net."]))
    (change,) = u.plan([MX, DMARC], now, "absent")
    assert change.after == frozenset({rd("MX", "20 backup.example.net.")})
    assert u.plan([MX], current((ZONE, "MX", 3600, ["20 backup.example.net."])), "absent") == []


def test_ttl_drift_is_a_change_and_txt_split_is_compared_exactly():
    (ttl,) = u.plan([MX], current((ZONE, "MX", 60, ["10 mail.example.org."])), "present")
    assert ttl.before == ttl.after and ttl.before_ttl == 60 and ttl.after_ttl == 3600
    split = rrset("k._domainkey.example.org", "TXT", '"abc" "def"')
    assert u.plan([split], current(("k._domainkey.example.org", "TXT", 3600, ['"abcdef"'])), "present")


def test_update_message_has_prerequisites_then_replacements():
    now = current((ZONE, "MX", 3600, ["20 old.example.net."]))
    changes = u.plan([MX, DMARC], now, "exact")
    server = u.Server("127.0.0.1", 53, "k.", SECRET)
    message = u.update_message(ZONE, changes, server)
    assert message.had_tsig and message.keyname.to_text() == "k."

    def klass(r):
        return dns.rdataclass.to_text(r.deleting if r.deleting is not None else r.rdclass)
    prereq = {(r.name.to_text(), dns.rdatatype.to_text(r.rdtype), klass(r)): r for r in message.prerequisite}
    # Value-dependent: the MX rrset must still be exactly what was read (TTL 0, class IN).
    assert prereq[("example.org.", "MX", "IN")].ttl == 0
    assert [x.to_text() for x in prereq[("example.org.", "MX", "IN")]] == ["20 old.example.net."]
    # The DMARC rrset must still not exist (class NONE).
    assert ("_dmarc.example.org.", "TXT", "NONE") in prereq
    updates = [(r.name.to_text(), dns.rdatatype.to_text(r.rdtype), klass(r)) for r in message.update]
    assert updates == [("example.org.", "MX", "ANY"), ("example.org.", "MX", "IN"),
                       ("_dmarc.example.org.", "TXT", "ANY"), ("_dmarc.example.org.", "TXT", "IN")]


def test_by_zone_groups_rrsets():
    other = _dns_records.RRset("example.net", "example.net", "mx", "example.net", "MX", 1, ("10 m.example.org.",))
    assert u.by_zone([MX, other, DMARC]) == {ZONE: [MX, DMARC], "example.net": [other]}


@pytest.mark.parametrize("params,message", [
    ({}, "^server: "),
    ({"server": "ns1", "port": 0}, "^port: "),
    ({"server": "ns1", "key_name": "k"}, "^key_name, key_secret: give both"),
    ({"server": "ns1", "key_name": "k", "key_secret": "not base64!"}, "^key_secret: "),
    ({"server": "ns1", "timeout": 0}, "^timeout: "),
])
def test_server_from_params_checks_options(params, message):
    with pytest.raises(ValueError, match=message):
        u.server_from_params(params)


def test_server_from_params():
    server = u.server_from_params({"server": "ns1", "port": 5353, "key_name": "k.", "key_secret": SECRET,
                                   "key_algorithm": "hmac-sha512", "timeout": 3})
    assert (server.host, server.port, server.key_algorithm, server.timeout) == ("ns1", 5353, "hmac-sha512", 3.0)
    assert server.tsig()["keyalgorithm"].to_text() == "hmac-sha512."


def test_unknown_state_is_refused_before_any_traffic():
    with pytest.raises(u.DNSError, match="^state: "):
        u.publish(u.Server("192.0.2.1", 53), [MX], "latest")


def test_cname_conflicts_are_refused_before_sending():
    cname = rrset("autoconfig.example.org", "CNAME", "mail.example.org.")
    with pytest.raises(u.DNSError, match="already holds A records, so it cannot become a CNAME"):
        u.plan([cname], current(("autoconfig.example.org", "A", 300, ["192.0.2.1"])), "present")
    with pytest.raises(u.DNSError, match="is a CNAME, so it cannot also hold the MX record"):
        u.plan([MX], current((ZONE, "CNAME", 300, ["elsewhere.example.net."])), "exact")
    assert u.plan([cname], current(("autoconfig.example.org", "A", 300, ["192.0.2.1"])), "absent") == []
