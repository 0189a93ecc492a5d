# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""Publish managed rrsets with RFC 2136 dynamic updates: one atomic, TSIG-signed UPDATE per zone.

The current state of a zone is read with one AXFR (or, when transfers are refused, with one query per managed
rrset over a single TCP connection). The UPDATE carries a prerequisite per changed rrset (its exact current
content, or "does not exist"), so an edit made between our read and our write makes the whole UPDATE fail
instead of being overwritten.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import importlib
import socket
import typing as t

try:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.rcode
    import dns.rdata
    import dns.rdataclass
    import dns.rdatatype
    import dns.tsig
    import dns.tsigkeyring
    import dns.update
    import dns.xfr
    import dns.zone
except ImportError:
    HAS_DNSPYTHON = False
else:
    HAS_DNSPYTHON = True

from ansible_collections.openova.stalwart.plugins.module_utils._dns_records import OWN_SPF, RRset


def _query() -> t.Any:
    """dns.query, imported on first use: it loads dnspython's HTTP stack (for DNS over HTTPS), a third of a second
    that every dns_records call computing records without a server would pay."""
    return importlib.import_module("dns.query")


TSIG_ALGORITHMS = ("hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1", "hmac-md5")
STATES = ("present", "exact", "absent")


class DNSError(Exception):
    """A failure talking to the DNS server, with a message fit for the user."""


@dataclasses.dataclass
class Server:
    host: str
    port: int = 53
    key_name: str | None = None
    key_secret: str | None = None
    key_algorithm: str = "hmac-sha256"
    timeout: float = 10.0

    def tsig(self) -> dict[str, t.Any]:
        if not self.key_name:
            return {}
        try:
            keyring = dns.tsigkeyring.from_text({self.key_name: (self.key_algorithm, self.key_secret)})
        except Exception as exc:  # pylint: disable=broad-exception-caught
            raise DNSError(f"key_secret: not a base64 TSIG secret ({exc})") from None
        name = dns.name.from_text(self.key_name)
        return {"keyring": keyring, "keyname": name, "keyalgorithm": dns.name.from_text(self.key_algorithm)}

    def where(self) -> str:
        return f"{self.host}:{self.port}"


Current = dict[tuple[str, str], tuple[int, frozenset[t.Any]]]


@dataclasses.dataclass
class RRChange:
    """The content of one rrset before and after (rdata sets, parsed by dnspython)."""

    name: str
    rtype: str
    before_ttl: int | None
    before: frozenset[t.Any]
    after_ttl: int
    after: frozenset[t.Any]

    def lines(self, which: str) -> list[str]:
        data, ttl = (self.before, self.before_ttl) if which == "before" else (self.after, self.after_ttl)
        return sorted(f"{self.name}. {ttl} IN {self.rtype} {rd.to_text()}" for rd in data)


@dataclasses.dataclass
class ZoneResult:
    zone: str
    changes: list[RRChange]
    read_by: str = "axfr"
    sent: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def as_dict(self) -> dict[str, t.Any]:
        return {"zone": self.zone, "changed": self.changed, "update_sent": self.sent, "read_by": self.read_by,
                "changes": [{"name": c.name, "type": c.rtype, "before": c.lines("before"), "after": c.lines("after")}
                            for c in self.changes]}


# -- reading -----------------------------------------------------------------------------------------------
def _rdata(rrset: RRset, value: str) -> t.Any:
    rdtype = dns.rdatatype.from_text(rrset.rtype)
    return dns.rdata.from_text(dns.rdataclass.IN, rdtype, value, dns.name.root, relativize=False)


def _rcode_error(server: Server, zone: str, rcode: dns.rcode.Rcode, what: str) -> DNSError:
    text = dns.rcode.to_text(rcode)
    hint = {
        "REFUSED": "the server refused: it does not serve this zone, or the key may not do this",
        "NOTAUTH": "the server is not authoritative for this zone or rejected the TSIG key",
        "NOTZONE": "a name is outside the zone",
        "NXRRSET": "the zone changed since it was read (prerequisite failed); nothing was changed, run again",
        "YXRRSET": "the zone changed since it was read (prerequisite failed); nothing was changed, run again",
        "YXDOMAIN": "the zone changed since it was read (prerequisite failed); nothing was changed, run again",
        "NXDOMAIN": "the zone changed since it was read (prerequisite failed); nothing was changed, run again",
    }.get(text, "")
    return DNSError(f"{what} for zone {zone} on {server.where()} failed: {text}" + (f" ({hint})" if hint else ""))


def _transport_error(server: Server, zone: str, what: str, exc: BaseException) -> DNSError:
    if isinstance(exc, (dns.tsig.PeerBadKey, dns.tsig.PeerBadSignature, dns.tsig.BadSignature,
                        dns.tsig.PeerError, dns.tsig.BadTime)):
        return DNSError(f"{what} for zone {zone} on {server.where()} failed: TSIG key {server.key_name!r} was"
                        f" rejected ({type(exc).__name__}: check key_name, key_secret and key_algorithm)")
    if isinstance(exc, dns.exception.Timeout):
        return DNSError(f"{what} for zone {zone}: no answer from {server.where()} within {server.timeout}s")
    if isinstance(exc, (ConnectionError, OSError)):
        return DNSError(f"{what} for zone {zone}: cannot reach DNS server {server.where()} ({exc})")
    return DNSError(f"{what} for zone {zone} on {server.where()} failed: {type(exc).__name__}: {exc}")


def read_axfr(server: Server, zone: str) -> Current:
    """Every rrset of ``zone`` from one TSIG-signed AXFR."""
    try:
        xfr = _query().xfr(server.host, zone, port=server.port, timeout=server.timeout,
                           lifetime=server.timeout * 3, relativize=False, **server.tsig())
        data = dns.zone.from_xfr(xfr, relativize=False)
    except dns.xfr.TransferError as exc:
        raise _rcode_error(server, zone, exc.rcode, "zone transfer") from None
    except DNSError:
        raise
    except Exception as exc:  # pylint: disable=broad-exception-caught
        raise _transport_error(server, zone, "zone transfer", exc) from None
    current: Current = {}
    for name, rdataset in data.iterate_rdatasets():
        key = (name.to_text(omit_final_dot=True).lower(), dns.rdatatype.to_text(rdataset.rdtype))
        current[key] = (rdataset.ttl, frozenset(rdataset))
    return current


def read_queries(server: Server, zone: str, rrsets: t.Sequence[RRset]) -> Current:
    """The managed rrsets of ``zone`` by direct queries, all over one TCP connection."""
    current: Current = {}
    tsig = server.tsig()
    try:
        sock = socket.create_connection((server.host, server.port), timeout=server.timeout)
    except OSError as exc:
        raise _transport_error(server, zone, "reading", exc) from None
    with sock:
        soa = _ask(sock, server, zone, zone, "SOA", tsig)
        if soa.rcode() != dns.rcode.NOERROR or not soa.flags & dns.flags.AA:
            raise _rcode_error(server, zone, soa.rcode() if soa.rcode() else dns.rcode.NOTAUTH, "reading")
        for key in sorted({(r.name, r.rtype) for r in rrsets}):
            response = _ask(sock, server, zone, key[0], key[1], tsig)
            for found in response.answer:
                if found.rdtype == dns.rdatatype.from_text(key[1]) and \
                        found.name.to_text(omit_final_dot=True).lower() == key[0]:
                    current[key] = (found.ttl, frozenset(found))
    return current


def _ask(sock: socket.socket, server: Server, zone: str, name: str, rtype: str, tsig: dict[str, t.Any]) -> t.Any:
    query = dns.message.make_query(name, rtype)
    query.flags &= ~dns.flags.RD
    if tsig:
        query.use_tsig(tsig["keyring"], keyname=tsig["keyname"], algorithm=tsig["keyalgorithm"])
    try:
        return _query().tcp(query, server.host, port=server.port, timeout=server.timeout, sock=sock)
    except Exception as exc:  # pylint: disable=broad-exception-caught
        raise _transport_error(server, zone, "reading", exc) from None


def read_zone(server: Server, zone: str, rrsets: t.Sequence[RRset], method: str = "auto") -> tuple[Current, str]:
    """Read ``zone`` by AXFR; with ``auto`` fall back to queries when the transfer is refused."""
    if method == "query":
        return read_queries(server, zone, rrsets), "query"
    try:
        return read_axfr(server, zone), "axfr"
    except DNSError as exc:
        if method == "auto" and ("REFUSED" in str(exc) or "NOTAUTH" in str(exc)) and "TSIG" not in str(exc):
            return read_queries(server, zone, rrsets), "query"
        raise


# -- planning ----------------------------------------------------------------------------------------------
def plan(rrsets: t.Sequence[RRset], current: Current, state: str) -> list[RRChange]:
    """The rrset changes that bring ``current`` to ``state`` for the managed ``rrsets`` of one zone (pure)."""
    changes = []
    for rrset in rrsets:
        key = (rrset.name, rrset.rtype)
        before_ttl, before = current.get(key, (None, frozenset()))
        desired = frozenset(_rdata(rrset, v) for v in rrset.values)
        if state == "absent":
            after = before - desired
        elif rrset.owner == OWN_SPF:
            # Only the TXT values of this protocol are ours; other TXT records at the name stay.
            mine = frozenset(rd for rd in before if b"".join(rd.strings).lower().startswith(rrset.owner.encode()))
            after = (before - mine) | desired
        elif state == "present" and not rrset.single_valued:
            after = before | desired
        else:
            after = desired
        if after and state != "absent":
            _check_cname(rrset, current)
        ttl = rrset.ttl
        if after == before and (not after or before_ttl == ttl):
            continue
        changes.append(RRChange(rrset.name, rrset.rtype, before_ttl, before, ttl if after else 0, after))
    return changes


def _text(rdata: t.Any) -> str:
    return str(rdata.to_text())


# Types that may sit beside a CNAME (DNSSEC bookkeeping, RFC 4035 2.5).
_BESIDE_CNAME = {"CNAME", "RRSIG", "NSEC", "NSEC3"}


def _check_cname(rrset: RRset, current: Current) -> None:
    """A CNAME cannot share its name with other data (RFC 1034 3.6.2); servers silently drop such an add."""
    others = sorted(rtype for name, rtype in current if name == rrset.name and rtype not in _BESIDE_CNAME)
    if rrset.rtype == "CNAME" and others:
        raise DNSError(f"{rrset.name} already holds {', '.join(others)} records, so it cannot become a CNAME to"
                       f" {rrset.values[0]}: remove them, or turn off this record ({rrset.kind})")
    if rrset.rtype != "CNAME" and (rrset.name, "CNAME") in current:
        raise DNSError(f"{rrset.name} is a CNAME, so it cannot also hold the {rrset.rtype} record ({rrset.kind}):"
                       " remove the CNAME")


def update_message(zone: str, changes: t.Sequence[RRChange], server: Server) -> t.Any:
    """One UPDATE for the zone: a prerequisite per rrset (as read), then its replacement."""
    update = dns.update.UpdateMessage(zone, **server.tsig())
    for change in changes:
        name = dns.name.from_text(change.name)
        rdtype = dns.rdatatype.from_text(change.rtype)
        if change.before:
            update.present(name, *sorted(change.before, key=_text))
        else:
            update.absent(name, rdtype)
        update.delete(name, rdtype)
        if change.after:
            update.add(name, change.after_ttl, *sorted(change.after, key=_text))
    return update


def send_update(server: Server, zone: str, changes: t.Sequence[RRChange]) -> None:
    message = update_message(zone, changes, server)
    try:
        response = _query().tcp(message, server.host, port=server.port, timeout=server.timeout)
    except Exception as exc:  # pylint: disable=broad-exception-caught
        raise _transport_error(server, zone, "UPDATE", exc) from None
    if response.rcode() != dns.rcode.NOERROR:
        raise _rcode_error(server, zone, response.rcode(), "UPDATE")


# -- the whole run -----------------------------------------------------------------------------------------
def by_zone(rrsets: t.Iterable[RRset]) -> dict[str, list[RRset]]:
    zones: dict[str, list[RRset]] = {}
    for rrset in rrsets:
        zones.setdefault(rrset.zone, []).append(rrset)
    return zones


def publish(server: Server, rrsets: t.Sequence[RRset], state: str, check_mode: bool = False,
            workers: int = 8, read_method: str = "auto") -> list[ZoneResult]:
    """Read every zone, plan, and (unless ``check_mode``) send one UPDATE per zone that differs.

    All zones are read and planned before any UPDATE is sent, so an unreachable or refusing server for one
    zone fails the run with nothing changed.
    """
    if state not in STATES:
        raise DNSError(f"state: expected one of {', '.join(STATES)}, got {state!r}")
    zones = by_zone(rrsets)
    server.tsig()  # a malformed secret fails here, before any traffic

    def prepare(zone: str) -> ZoneResult:
        current, method = read_zone(server, zone, zones[zone], read_method)
        return ZoneResult(zone, plan(zones[zone], current, state), method)

    results = _parallel(prepare, sorted(zones), workers)
    if not check_mode:
        def send(result: ZoneResult) -> ZoneResult:
            send_update(server, result.zone, result.changes)
            result.sent = True
            return result
        _parallel(send, [r for r in results if r.changes], workers)
    return results


def _parallel(func: t.Callable[[t.Any], t.Any], items: list[t.Any], workers: int) -> list[t.Any]:
    if workers <= 1 or len(items) <= 1:
        return [func(item) for item in items]
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(func, items))


# Argument spec of the server options documented in doc_fragments/dns.py (shared by dns_records, dns_verify).
SERVER_ARGS: dict[str, dict[str, t.Any]] = {
    "server": {"type": "str"},
    "port": {"type": "int", "default": 53},
    "key_name": {"type": "str", "no_log": False},
    "key_secret": {"type": "str", "no_log": True},
    "key_algorithm": {"type": "str", "default": "hmac-sha256", "choices": list(TSIG_ALGORITHMS)},
    "timeout": {"type": "float", "default": 10.0},
}


def server_from_params(params: t.Mapping[str, t.Any]) -> Server:
    """A :class:`Server` from the module parameters of SERVER_ARGS, checked (``ValueError`` names the option)."""
    from ansible_collections.openova.stalwart.plugins.module_utils import _validate  # pylint: disable=import-outside-toplevel
    if not params.get("server"):
        raise ValueError("server: the address of the DNS server is required")
    port = _validate.port(params.get("port", 53), "port")
    if bool(params.get("key_name")) != bool(params.get("key_secret")):
        raise ValueError("key_name, key_secret: give both (TSIG) or neither")
    timeout = float(10.0 if params.get("timeout") is None else params["timeout"])
    if timeout <= 0:
        raise ValueError(f"timeout: expected a positive number of seconds, got {timeout}")
    server = Server(params["server"], port, params.get("key_name"), params.get("key_secret"),
                    params.get("key_algorithm") or "hmac-sha256", timeout)
    if HAS_DNSPYTHON:
        try:
            server.tsig()
        except DNSError as exc:
            raise ValueError(str(exc)) from None
    return server
