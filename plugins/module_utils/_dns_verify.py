# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""Verify published mail records on the authoritative servers of their zones.

The checks are pure functions over a ``lookup(name, rtype) -> list of presentation-format values`` callable,
so they are unit-tested with a dict; :func:`authoritative_lookup` builds the real one with dnspython.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import typing as t

try:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdata
    import dns.rdataclass
    import dns.rdatatype
    import dns.resolver
except ImportError:
    HAS_DNSPYTHON = False
else:
    HAS_DNSPYTHON = True

from ansible_collections.openova.stalwart.plugins.module_utils import _dns_records
from ansible_collections.openova.stalwart.plugins.module_utils._dns_records import OWN_SPF, RRset, txt_join

Lookup = t.Callable[[str, str], list[str]]

OK = "ok"
MISSING = "missing"
WRONG = "wrong"


@dataclasses.dataclass
class Status:
    name: str
    rtype: str
    kind: str
    status: str
    expected: list[str]
    found: list[str]
    problem: str = ""

    def as_dict(self) -> dict[str, t.Any]:
        return dataclasses.asdict(self)


# -- record comparison ------------------------------------------------------------------------------------
def _canonical(rtype: str, value: str) -> str:
    """Presentation text in one spelling (dnspython when present), so equal rdatas compare equal."""
    if HAS_DNSPYTHON:
        try:
            return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rtype), value,
                                       dns.name.root, relativize=False).to_text().lower() \
                if rtype != "TXT" else _txt_canonical(value)
        except dns.exception.DNSException:
            return value
    return value.lower() if rtype != "TXT" else _txt_canonical(value)


def _txt_canonical(value: str) -> str:
    return txt_join(value)


def check_rrset(rrset: RRset, found: list[str], exact: bool = False) -> Status:
    """Compare one managed rrset with the values found on a server."""
    expected = [_canonical(rrset.rtype, v) for v in rrset.values]
    have = [_canonical(rrset.rtype, v) for v in found]
    status = Status(rrset.name, rrset.rtype, rrset.kind, OK, expected, have)
    if rrset.owner == OWN_SPF:
        mine = [v for v in have if v.lower().startswith(OWN_SPF)]
        if not mine:
            status.status, status.problem = MISSING, "no SPF record"
        elif len(mine) > 1:
            status.status, status.problem = WRONG, f"{len(mine)} SPF records (RFC 7208 allows one): {mine}"
        elif mine != expected:
            status.status, status.problem = WRONG, f"SPF is {mine[0]!r}, expected {expected[0]!r}"
        return status
    missing = [v for v in expected if v not in have]
    extra = [v for v in have if v not in expected]
    if not have:
        status.status, status.problem = MISSING, "not published"
    elif missing:
        status.status, status.problem = WRONG, f"missing {missing}" + (f", found instead {extra}" if extra else "")
    elif extra and (exact or rrset.single_valued):
        status.status, status.problem = WRONG, f"unexpected extra values {extra}"
    return status


# -- DKIM ---------------------------------------------------------------------------------------------------
def tags(text: str) -> dict[str, str]:
    """Tag=value pairs of a DKIM/DMARC style record (RFC 6376 3.2); later duplicates are kept as ``!dup``."""
    result: dict[str, str] = {}
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep:
            result.setdefault("!invalid", part)
            continue
        if key in result:
            result["!dup"] = key
        result[key] = re.sub(r"\s+", "", value) if key == "p" else value.strip()
    return result


def dkim_public_key(record: t.Mapping[str, t.Any]) -> str:
    """The ``p=`` value of the key in use, from a dkim_key result."""
    value = record.get("txt_value") or "".join(record.get("txt_strings") or [])
    return tags(value).get("p", "")


def check_dkim(record: t.Mapping[str, t.Any], found: list[str]) -> Status:
    name = f"{record['selector']}._domainkey.{record['domain']}"
    want = dkim_public_key(record)
    texts = [txt_join(v) for v in found]
    status = Status(name, "TXT", "dkim", OK, [want], texts)
    keys = [tags(text) for text in texts if "p=" in text]
    if not keys:
        status.status, status.problem = MISSING, "no DKIM key published"
    elif len(keys) > 1:
        status.status, status.problem = WRONG, "more than one DKIM record at the selector"
    elif keys[0].get("v", "DKIM1") != "DKIM1":
        status.status, status.problem = WRONG, f"v={keys[0].get('v')!r}, expected DKIM1"
    elif keys[0].get("p") != want:
        status.status, status.problem = WRONG, "published public key differs from the key in use (p= mismatch)"
    return status


# -- SPF ----------------------------------------------------------------------------------------------------
def spf_lookup_count(domain: str, lookup: Lookup, depth: int = 0, seen: set[str] | None = None) -> int:
    """DNS lookups SPF evaluation of ``domain`` costs (RFC 7208 4.6.4), following include and redirect."""
    seen = set() if seen is None else seen
    if depth > 10 or domain in seen:
        raise ValueError(f"SPF of {domain}: include loop or nesting deeper than 10")
    seen.add(domain)
    records = [txt_join(v) for v in lookup(domain, "TXT")]
    spf = [r for r in records if r.lower().startswith("v=spf1 ") or r.lower() == "v=spf1"]
    if len(spf) != 1:
        raise ValueError(f"SPF of {domain}: {'no' if not spf else len(spf)} v=spf1 records")
    terms = spf[0].split()[1:]
    _dns_records.spf_terms([term for term in terms if term.lower().lstrip("+-~?") != "all"], f"SPF of {domain}")
    count = 0
    for term in terms:
        low = term.lower().lstrip("+-~?")
        if low.startswith(("include:", "redirect=")):
            count += 1 + spf_lookup_count(re.split("[:=]", term, maxsplit=1)[1].rstrip("."), lookup, depth + 1, seen)
        elif low.split(":")[0].split("/")[0] in ("a", "mx", "ptr", "exists"):
            count += 1
    return count


def check_spf(domain: str, lookup: Lookup, resolve: Lookup) -> Status:
    """Syntax and total lookup count of the SPF record of ``domain``."""
    found = [txt_join(v) for v in lookup(domain, "TXT") if txt_join(v).lower().startswith("v=spf1")]
    status = Status(domain, "TXT", "spf_check", OK, [], found)

    def mixed(name: str, rtype: str) -> list[str]:
        # The domain's own record from its authoritative server, includes from the resolver.
        return lookup(name, rtype) if name == domain else resolve(name, rtype)
    try:
        count = spf_lookup_count(domain, mixed)
    except ValueError as exc:
        status.status, status.problem = WRONG, str(exc)
        return status
    if count > _dns_records.SPF_LOOKUP_LIMIT:
        status.status, status.problem = WRONG, f"SPF needs {count} DNS lookups, more than 10 (RFC 7208 4.6.4)"
    status.expected = [f"lookups={count}"]
    return status


# -- DMARC --------------------------------------------------------------------------------------------------
def dmarc_problems(text: str) -> list[str]:
    """Syntax problems of one DMARC record (RFC 7489 6.3); empty when valid."""
    if not re.match(r"^v\s*=\s*DMARC1\s*(;|$)", text):
        return ["does not start with v=DMARC1"]
    found = tags(text)
    problems = []
    if "!invalid" in found:
        problems.append(f"malformed tag {found['!invalid']!r}")
    if "!dup" in found:
        problems.append(f"tag {found['!dup']!r} repeated")
    if found.get("p") not in _dns_records.DMARC_POLICIES:
        problems.append(f"p={found.get('p')!r} is not none, quarantine or reject")
    if "sp" in found and found["sp"] not in _dns_records.DMARC_POLICIES:
        problems.append(f"sp={found['sp']!r} is not none, quarantine or reject")
    for key in ("adkim", "aspf"):
        if key in found and found[key] not in ("r", "s"):
            problems.append(f"{key}={found[key]!r} is not r or s")
    if "pct" in found and not (found["pct"].isdigit() and 0 <= int(found["pct"]) <= 100):
        problems.append(f"pct={found['pct']!r} is not 0-100")
    for key in ("rua", "ruf"):
        for uri in filter(None, (u.strip() for u in found.get(key, "").split(","))):
            if not re.match(r"^mailto:[^@\s]+@[^@\s!]+(![0-9]+[kmgt]?)?$", uri, re.IGNORECASE):
                problems.append(f"{key} address {uri!r} is not mailto:local@domain")
    return problems


def check_dmarc(rrset: RRset, found: list[str]) -> Status:
    texts = [txt_join(v) for v in found if txt_join(v).startswith("v=DMARC1")]
    status = Status(rrset.name, "TXT", "dmarc_check", OK, [], texts)
    if len(texts) != 1:
        status.status, status.problem = (MISSING, "no DMARC record") if not texts else \
            (WRONG, f"{len(texts)} DMARC records (receivers then ignore DMARC)")
        return status
    problems = dmarc_problems(texts[0])
    if problems:
        status.status, status.problem = WRONG, "; ".join(problems)
    return status


# -- the whole check ----------------------------------------------------------------------------------------
def verify(rrsets: t.Sequence[RRset], dkim_records: t.Sequence[t.Mapping[str, t.Any]], lookup: Lookup,
           resolve: Lookup | None = None, exact: bool = False) -> list[Status]:
    """Every check, in record order: each rrset, each DKIM key in use, SPF and DMARC of each domain."""
    statuses = []
    names = {r.name for r in rrsets}
    for rrset in rrsets:
        found = lookup(rrset.name, rrset.rtype)
        statuses.append(check_rrset(rrset, found, exact))
        if rrset.kind == "spf" and rrset.domain == rrset.name:
            statuses.append(check_spf(rrset.name, lookup, resolve or lookup))
        if rrset.kind == "dmarc" and rrset.name.startswith("_dmarc."):
            statuses.append(check_dmarc(rrset, found))
    for record in dkim_records:
        name = f"{record['selector']}._domainkey.{record['domain']}".lower()
        if name in names:
            statuses.append(check_dkim(record, lookup(name, "TXT")))
    return statuses


def problems(statuses: t.Iterable[Status]) -> list[str]:
    return [f"{s.name} {s.rtype} ({s.kind}): {s.status}: {s.problem}" for s in statuses if s.status != OK]


# -- dnspython lookups ----------------------------------------------------------------------------------------
class AuthoritativeLookup:
    """Ask every authoritative server of a zone directly (no recursion); a record must be right on all of them."""

    def __init__(self, zones: dict[str, str], servers: list[tuple[str, int]] | None = None, timeout: float = 5.0,
                 tsig: dict[str, t.Any] | None = None, resolver: t.Any = None):
        self.zones = zones  # owner name -> zone
        self.fixed = servers
        self.timeout = timeout
        self.tsig = tsig or {}
        self.resolver = resolver
        self._servers: dict[str, list[tuple[str, int]]] = {}

    def servers(self, zone: str) -> list[tuple[str, int]]:
        if self.fixed:
            return self.fixed
        if zone not in self._servers:
            resolver = self.resolver or dns.resolver.Resolver()
            found: list[tuple[str, int]] = []
            try:
                for ns in resolver.resolve(zone, "NS"):
                    for rtype in ("A", "AAAA"):
                        try:
                            found.extend((a.to_text(), 53) for a in resolver.resolve(ns.target, rtype))
                        except dns.exception.DNSException:
                            continue
            except dns.exception.DNSException as exc:
                raise ValueError(f"cannot find the name servers of {zone}: {exc}") from None
            if not found:
                raise ValueError(f"cannot find the name servers of {zone}: no NS addresses")
            self._servers[zone] = sorted(set(found))
        return self._servers[zone]

    def __call__(self, name: str, rtype: str) -> list[str]:
        zone = self.zones.get(name) or next((z for n, z in self.zones.items() if name.endswith("." + n)), name)
        common: list[str] | None = None
        for host, port in self.servers(zone):
            values = self.ask(host, port, name, rtype)
            # A value counts only when every authoritative server has it (propagation done).
            common = values if common is None else [v for v in common if v in values]
        return common or []

    def ask(self, host: str, port: int, name: str, rtype: str) -> list[str]:
        query = dns.message.make_query(name, rtype)
        query.flags &= ~dns.flags.RD
        if self.tsig:
            query.use_tsig(self.tsig["keyring"], keyname=self.tsig["keyname"], algorithm=self.tsig["keyalgorithm"])
        try:
            response = dns.query.udp_with_fallback(query, host, port=port, timeout=self.timeout)[0]
        except dns.exception.Timeout:
            raise ValueError(f"no answer from {host}:{port} within {self.timeout}s for {name} {rtype}") from None
        except OSError as exc:
            raise ValueError(f"cannot reach {host}:{port} for {name} {rtype}: {exc}") from None
        if response.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            raise ValueError(f"{host}:{port} answered {dns.rcode.to_text(response.rcode())} for {name} {rtype}")
        wanted = dns.rdatatype.from_text(rtype)
        target = dns.name.from_text(name)
        return [rd.to_text() for rrset in response.answer if rrset.rdtype == wanted and rrset.name == target
                for rd in rrset]


def make_resolver(nameservers: list[str] | None, port: int, timeout: float) -> t.Any:
    """The system resolver, or one asking only ``nameservers`` on ``port``."""
    try:
        resolver = dns.resolver.Resolver(configure=not nameservers)
    except dns.exception.DNSException as exc:
        raise ValueError(f"resolvers: no system resolver configured, give resolvers ({exc})") from None
    if nameservers:
        resolver.nameservers = list(nameservers)
        resolver.port = port
    resolver.lifetime = timeout
    return resolver


def resolver_lookup(resolver: t.Any) -> Lookup:
    """A recursive lookup (for SPF includes outside our zones)."""

    def lookup(name: str, rtype: str) -> list[str]:
        try:
            return [rd.to_text() for rd in resolver.resolve(name, rtype)]
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as exc:
            raise ValueError(f"cannot resolve {name} {rtype}: {exc}") from None
    return lookup


def host_resolver(nameservers: list[str] | None, port: int, timeout: float) -> t.Callable[[str], list[str]] | None:
    """:func:`host_addresses` asking only ``nameservers``; None (the system resolver) when there are none."""
    if not nameservers:
        return None
    resolver = make_resolver(nameservers, port, timeout)
    return lambda host: host_addresses(resolver, host)


def host_addresses(resolver: t.Any, host: str) -> list[str]:
    """The IPv4 then IPv6 addresses of ``host`` (itself when it is an address); empty when the name does not exist
    or has none. Raises OSError when the resolver cannot answer, so HTTP clients treat it as a connection failure."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    found: list[str] = []
    for rtype in ("A", "AAAA"):
        try:
            found.extend(rd.to_text() for rd in resolver.resolve(host, rtype))
        except dns.resolver.NXDOMAIN:
            return []
        except dns.resolver.NoAnswer:
            continue
        except dns.exception.DNSException as exc:
            raise OSError(f"cannot resolve {host}: {exc}") from None
    return found
