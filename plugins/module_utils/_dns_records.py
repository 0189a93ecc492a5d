# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""The DNS records a mail domain needs, computed from the deployment (pure functions, no I/O).

Every record is an :class:`RRset` in presentation format with absolute names, so the same list feeds the
RFC 2136 publisher, the zone-file writer, the external-dns manifests and the verifier.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import re
import typing as t

from ansible_collections.openova.stalwart.plugins.module_utils import _validate
from ansible_collections.openova.stalwart.plugins.module_utils._txt import split_txt

if t.TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

# RFC 8461 3.2: mode and max_age (at most one year) of the policy served over HTTPS.
MTA_STS_MODES = ("enforce", "testing", "none")
MTA_STS_MAX_AGE_LIMIT = 31557600
SPF_LOOKUP_LIMIT = 10  # RFC 7208 4.6.4
DMARC_POLICIES = ("none", "quarantine", "reject")

# Web names published per domain, served over HTTPS by Stalwart behind the Ingress/HTTPRoute: the MTA-STS policy
# (RFC 8461) and mail client autoconfiguration (Thunderbird autoconfig, Outlook autodiscover). One definition for
# the records, the certificates (_tls_shards) and the routes.
MTA_STS_LABEL = "mta-sts"
AUTOCONFIG_LABELS = ("autoconfig", "autodiscover")
WEB_LABELS = (MTA_STS_LABEL,) + AUTOCONFIG_LABELS
# The SRV records of HTTPS services (JMAP, Outlook autodiscover) point at autodiscover.<domain>, a web name: an SRV
# target must resolve to the address serving the service (the Ingress/Gateway), and may not be an alias (RFC 2782).
WEB_SRV_TARGET_LABEL = "autodiscover"

# (name, rtype) -> presentation-format values: resolves the host names load balancers report (AWS NLB/ELB).
Lookup = t.Callable[[str, str], list[str]]

# Record kinds, each with its own TTL override key.
KINDS = ("mx", "spf", "dkim", "dmarc", "tlsrpt", "mta_sts", "srv", "autoconfig", "caa", "tlsa", "host")

# rrsets that hold one value by protocol: `present` replaces them; the others only gain values.
_SINGLE_VALUED = ("TXT", "CNAME")

# ownership of an rrset: the whole rrset, or only the TXT values starting with a tag (SPF shares the apex TXT).
OWN_RRSET = "rrset"
OWN_SPF = "v=spf1"


@dataclasses.dataclass(frozen=True)
class RRset:
    """One managed rrset: ``name`` is absolute without the trailing dot, ``values`` are presentation format."""

    zone: str
    domain: str
    kind: str
    name: str
    rtype: str
    ttl: int
    values: tuple[str, ...]
    owner: str = OWN_RRSET

    @property
    def single_valued(self) -> bool:
        return self.rtype in _SINGLE_VALUED

    def as_dict(self) -> dict[str, t.Any]:
        data: dict[str, t.Any] = {
            "zone": self.zone, "domain": self.domain, "kind": self.kind, "name": self.name,
            "type": self.rtype, "ttl": self.ttl, "rdata": list(self.values), "owner": self.owner,
        }
        if self.rtype == "TXT":
            data["txt"] = [txt_join(v) for v in self.values]
        return data

    @classmethod
    def from_dict(cls, data: t.Mapping[str, t.Any]) -> RRset:
        return cls(zone=data["zone"], domain=data["domain"], kind=data["kind"], name=data["name"],
                   rtype=data["type"], ttl=int(data["ttl"]), values=tuple(data["rdata"]),
                   owner=data.get("owner", OWN_RRSET))


# -- MTA-STS (RFC 8461) ----------------------------------------------------------------------------------
def mta_sts_policy(mx: str | t.Sequence[str], mode: str = "enforce", max_age: int = 604800) -> str:
    """Return the policy file served at ``https://mta-sts.<domain>/.well-known/mta-sts.txt`` (CRLF lines)."""
    hosts = [mx] if isinstance(mx, str) else list(mx)
    if not hosts:
        raise ValueError("mta_sts.mx: at least one MX host is needed")
    if mode not in MTA_STS_MODES:
        raise ValueError(f"mta_sts.mode: expected one of {', '.join(MTA_STS_MODES)}, got {mode!r}")
    if isinstance(max_age, bool) or not isinstance(max_age, int) or not 0 <= max_age <= MTA_STS_MAX_AGE_LIMIT:
        raise ValueError(f"mta_sts.max_age: expected seconds from 0 to {MTA_STS_MAX_AGE_LIMIT}, got {max_age!r}")
    lines = ["version: STSv1", f"mode: {mode}"]
    for host in hosts:
        # A pattern may start with a wildcard label (RFC 8461 3.2), the rest is a host name.
        wildcard = host.startswith("*.")
        name = _validate.domain(host[2:] if wildcard else host, "mta_sts.mx")
        lines.append(f"mx: {'*.' if wildcard else ''}{name}")
    lines.append(f"max_age: {max_age}")
    return "\r\n".join(lines) + "\r\n"


def mta_sts_id(policy: str) -> str:
    """Return the ``id`` of the ``_mta-sts`` TXT record: changes exactly when the policy text changes."""
    # RFC 8461 3.1: 1-32 alphanumeric characters; 128 bits of SHA-256 in hex.
    return hashlib.sha256(policy.encode("utf-8")).hexdigest()[:32]


# -- TXT presentation format -------------------------------------------------------------------------------
def txt_quote(value: str) -> str:
    """Return one TXT record in presentation format: <=255-byte character-strings, each quoted."""
    return " ".join(_quote_string(s) for s in split_txt(value))


# Printable ASCII but '"' and '\\': quoted as it is (DKIM keys, SPF and DMARC values), without the byte loop below.
_PLAIN_STRING = re.compile(r'[\x20\x21\x23-\x5b\x5d-\x7e]*')


def _quote_string(value: str) -> str:
    if _PLAIN_STRING.fullmatch(value):
        return '"' + value + '"'
    out = []
    for byte in value.encode("utf-8"):
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


_TXT_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


def txt_join(presentation: str) -> str:
    """Return the text of a TXT record given in presentation format (its character-strings concatenated)."""
    data = bytearray()
    for match in _TXT_STRING.finditer(presentation):
        raw = match.group(1)
        i = 0
        while i < len(raw):
            if raw[i] == "\\":
                if raw[i + 1:i + 4].isdigit() and len(raw[i + 1:i + 4]) == 3:
                    data.append(int(raw[i + 1:i + 4]))
                    i += 4
                    continue
                i += 1
            data.extend(raw[i].encode("utf-8"))
            i += 1
    return data.decode("utf-8", errors="replace")


# -- SPF (RFC 7208) ---------------------------------------------------------------------------------------
_SPF_TERM = re.compile(
    r"^(?P<q>[+\-~?]?)(?P<mech>all|include|a|mx|ptr|ip4|ip6|exists)(?P<arg>[:/].*)?$|^(?P<mod>redirect|exp)=(?P<marg>.+)$",
    re.IGNORECASE,
)
_SPF_LOOKUP_TERMS = ("include", "a", "mx", "ptr", "exists", "redirect")


def spf_terms(terms: t.Sequence[str], option: str) -> list[str]:
    """Check SPF mechanisms/modifiers (``mx``, ``include:_spf.example.net``, ``ip4:192.0.2.0/24`` ...)."""
    checked = []
    for index, term in enumerate(terms):
        where = f"{option}[{index}]"
        if not isinstance(term, str) or not term or any(c.isspace() for c in term):
            raise ValueError(f"{where}: {term!r} is not an SPF term")
        match = _SPF_TERM.fullmatch(term)
        if not match:
            raise ValueError(f"{where}: {term!r} is not an SPF mechanism or modifier (RFC 7208 5, 6)")
        mech = (match.group("mech") or "").lower()
        arg = match.group("arg") or ""
        if mech == "all":
            raise ValueError(f"{where}: 'all' is set with spf_all, not among the mechanisms")
        if mech in ("ip4", "ip6"):
            if not arg.startswith(":"):
                raise ValueError(f"{where}: {term!r} needs an address ({mech}:<address>[/<prefix>])")
            network = arg[1:]
            try:
                net = ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"{where}: {network!r} is not an IPv{mech[-1]} address or network") from None
            if net.version != int(mech[-1]):
                raise ValueError(f"{where}: {network!r} is not an IPv{mech[-1]} address or network")
        elif mech in ("include", "exists") and (not arg.startswith(":") or len(arg) < 2):
            raise ValueError(f"{where}: {term!r} needs a domain ({mech}:<domain>)")
        checked.append(term)
    return checked


def spf_lookups(terms: t.Sequence[str]) -> int:
    """Count the terms of one SPF record that cost a DNS lookup (RFC 7208 4.6.4), not following includes."""
    count = 0
    for term in terms:
        match = _SPF_TERM.match(term)
        if match and ((match.group("mech") or match.group("mod") or "").lower() in _SPF_LOOKUP_TERMS):
            count += 1
    return count


def spf_record(terms: t.Sequence[str], all_qualifier: str) -> str:
    return " ".join(["v=spf1", *terms, all_qualifier])


# -- DMARC (RFC 7489) / TLS-RPT (RFC 8460) -------------------------------------------------------------
def _report_uris(values: t.Sequence[str], option: str, domain: str, schemes: tuple[str, ...]) -> list[str]:
    uris = []
    for index, raw in enumerate(values or []):
        where = f"{option}[{index}]"
        if not isinstance(raw, str) or not raw.strip():
            raise ValueError(f"{where}: expected a report address, got {raw!r}")
        value = raw.strip().replace("{domain}", domain)
        if value.startswith("https:") and "https" in schemes:
            if any(c in value for c in ",; "):
                raise ValueError(f"{where}: {raw!r} may not contain ',', ';' or spaces")
            uris.append(value)
            continue
        address = value[len("mailto:"):] if value.lower().startswith("mailto:") else value
        # DMARC allows a size limit suffix (mailto:a@b!10m); keep it.
        address, bang, limit = address.partition("!")
        if bang and not re.fullmatch(r"\d+[kmgt]?", limit):
            raise ValueError(f"{where}: {raw!r} has an invalid size limit {limit!r}")
        if any(c in address for c in ",; "):
            raise ValueError(f"{where}: {raw!r} may not contain ',', ';' or spaces")
        uris.append("mailto:" + _validate.email(address, where) + (bang + limit if bang else ""))
    return uris


def dmarc_record(settings: t.Mapping[str, t.Any], domain: str, option: str) -> str:
    policy = settings.get("policy") or "reject"
    if policy not in DMARC_POLICIES:
        raise ValueError(f"{option}.policy: expected one of {', '.join(DMARC_POLICIES)}, got {policy!r}")
    tags = ["v=DMARC1", f"p={policy}"]
    sub = settings.get("subdomain_policy")
    if sub is not None:
        if sub not in DMARC_POLICIES:
            raise ValueError(f"{option}.subdomain_policy: expected one of {', '.join(DMARC_POLICIES)}, got {sub!r}")
        tags.append(f"sp={sub}")
    for key in ("adkim", "aspf"):
        value = settings.get(key)
        if value is not None:
            if value not in ("r", "s"):
                raise ValueError(f"{option}.{key}: expected 'r' (relaxed) or 's' (strict), got {value!r}")
            tags.append(f"{key}={value}")
    pct = settings.get("pct")
    if pct is not None:
        if isinstance(pct, bool) or not isinstance(pct, int) or not 0 <= pct <= 100:
            raise ValueError(f"{option}.pct: expected a percentage 0-100, got {pct!r}")
        if pct != 100:
            tags.append(f"pct={pct}")
    fo = settings.get("fo")
    if fo is not None:
        if not re.fullmatch(r"[01ds](:[01ds])*", str(fo)):
            raise ValueError(f"{option}.fo: expected failure options like '1' or '0:d', got {fo!r}")
        tags.append(f"fo={fo}")
    for key in ("rua", "ruf"):
        uris = _report_uris(settings.get(key) or [], f"{option}.{key}", domain, ("mailto",))
        if uris:
            tags.append(f"{key}={','.join(uris)}")
    return "; ".join(tags)


def tlsrpt_record(rua: t.Sequence[str], domain: str, option: str) -> str:
    uris = _report_uris(rua, option, domain, ("mailto", "https"))
    if not uris:
        raise ValueError(f"{option}: TLS-RPT needs at least one report address")
    return f"v=TLSRPTv1; rua={','.join(uris)}"


# -- DANE (RFC 7671, 7672) --------------------------------------------------------------------------------
def tlsa_311(pem: str, option: str) -> str:
    """Return ``3 1 1 <sha256(SubjectPublicKeyInfo)>`` from a PEM certificate, public key or private key."""
    try:
        from cryptography import x509  # pylint: disable=import-outside-toplevel
        from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise ValueError(f"{option}: the Python library cryptography is needed for TLSA records") from None
    data = pem.encode() if isinstance(pem, str) else pem
    key: PublicKeyTypes
    try:
        if b"CERTIFICATE" in data:
            key = x509.load_pem_x509_certificate(data).public_key()
        elif b"PRIVATE KEY" in data:
            key = serialization.load_pem_private_key(data, password=None).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{option}: not a PEM certificate, public key or private key ({exc})") from None
    spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"3 1 1 {hashlib.sha256(spki).hexdigest()}"


# -- load balancer addresses (Kubernetes status) -----------------------------------------------------------
def load_balancer_address(objects: t.Iterable[t.Mapping[str, t.Any]]) -> dict[str, t.Any]:
    """The address a Service or Ingress (``status.loadBalancer.ingress``) or a Gateway (``status.addresses``) reports.

    Returns ``{"ipv4": [...], "ipv6": [...], "hostname": "..."}`` (``hostname`` the first one reported, AWS NLB/ELB
    report one instead of addresses), or ``{}`` while there is none yet.
    """
    ips: set[str] = set()
    hostnames: list[str] = []
    for obj in objects or []:
        status = (obj or {}).get("status") or {}
        for entry in (status.get("loadBalancer") or {}).get("ingress") or []:
            if entry.get("ip"):
                ips.add(str(entry["ip"]))
            elif entry.get("hostname"):
                hostnames.append(str(entry["hostname"]))
        for entry in status.get("addresses") or []:
            kind, value = entry.get("type") or "IPAddress", entry.get("value")
            if value and kind == "IPAddress":
                ips.add(str(value))
            elif value and kind == "Hostname":
                hostnames.append(str(value))
    if not ips and not hostnames:
        return {}
    return {"ipv4": sorted(ip for ip in ips if ":" not in ip), "ipv6": sorted(ip for ip in ips if ":" in ip),
            "hostname": hostnames[0].rstrip(".").lower() if hostnames else ""}


# -- the record set ---------------------------------------------------------------------------------------
@dataclasses.dataclass
class Settings:
    """Everything the record set depends on, already defaulted (module options of ``dns_records``)."""

    domains: list[str | dict[str, t.Any]]
    mail_host: str
    mail_host_ipv4: list[str] = dataclasses.field(default_factory=list)
    mail_host_ipv6: list[str] = dataclasses.field(default_factory=list)
    # A host name the mail load balancer is known by: resolved (the mail host is an MX target, never an alias).
    mail_host_hostname: str | None = None
    # The address serving HTTPS for the web names (the Ingress/Gateway): IPs, and/or a host name (CNAME target).
    web_ipv4: list[str] = dataclasses.field(default_factory=list)
    web_ipv6: list[str] = dataclasses.field(default_factory=list)
    web_hostname: str | None = None
    mail_host_zone: str | None = None
    dkim_records: list[dict[str, t.Any]] = dataclasses.field(default_factory=list)
    ttl: int = 3600
    ttls: dict[str, int] = dataclasses.field(default_factory=dict)
    mx_preference: int = 10
    spf_mechanisms: list[str] = dataclasses.field(default_factory=lambda: ["mx"])
    spf_all: str = "-all"
    helo_spf: bool = True
    dmarc: dict[str, t.Any] = dataclasses.field(
        default_factory=lambda: {"policy": "reject", "rua": ["mailto:postmaster@{domain}"]})
    tlsrpt_rua: list[str] = dataclasses.field(default_factory=lambda: ["mailto:postmaster@{domain}"])
    mta_sts: dict[str, t.Any] = dataclasses.field(
        default_factory=lambda: {"enabled": True, "mode": "enforce", "max_age": 604800})
    srv: dict[str, bool] = dataclasses.field(default_factory=lambda: dict(SRV_DEFAULTS))
    autoconfig: bool = True
    caa_issuers: list[str] = dataclasses.field(default_factory=list)
    caa_iodef: str | None = None
    tlsa_public_key: str | None = None
    tlsa_ports: list[int] = dataclasses.field(default_factory=lambda: [25])
    # Record kinds managed (None: all); the others are computed and checked but not returned.
    kinds: list[str] | None = None
    # Check mode only: a DKIM record whose key dkim_key has not generated yet is shown as to be created, its p= value
    # marked "(generated on the real run)"; outside check mode a missing key stays an error.
    dkim_pending: bool = False
    # Resolves mail_host_hostname and web_hostname where an address is needed (None: such a host name is refused).
    resolve: Lookup | None = None


# service label, port, published by default (RFC 6186, RFC 8314, RFC 8620 2.2, Microsoft autodiscover)
SRV_SERVICES = {
    "submissions": ("_submissions._tcp", 465, True),
    "imaps": ("_imaps._tcp", 993, True),
    "jmap": ("_jmap._tcp", 443, True),
    "autodiscover": ("_autodiscover._tcp", 443, True),
    "submission": ("_submission._tcp", 587, False),
    "imap": ("_imap._tcp", 143, False),
}
SRV_DEFAULTS: dict[str, bool] = {key: spec[2] for key, spec in SRV_SERVICES.items()}
# Served over HTTPS (behind the Ingress/Gateway): their target is a web name; the others point at the mail host.
WEB_SRV_SERVICES = ("jmap", "autodiscover")


def in_zone(name: str, zone: str) -> bool:
    return name == zone or name.endswith("." + zone)


def _ttl(settings: Settings, kind: str) -> int:
    value = settings.ttls.get(kind, settings.ttl)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2147483647:
        raise ValueError(f"ttls.{kind}: expected seconds from 0 to 2147483647, got {value!r}")
    return value


def _check_settings(settings: Settings) -> None:
    if isinstance(settings.ttl, bool) or not isinstance(settings.ttl, int) or not 0 <= settings.ttl <= 2147483647:
        raise ValueError(f"ttl: expected seconds from 0 to 2147483647, got {settings.ttl!r}")
    if settings.kinds is not None:
        if not settings.kinds:
            raise ValueError(f"kinds: expected at least one of {', '.join(KINDS)}")
        for index, kind in enumerate(settings.kinds):
            if kind not in KINDS:
                raise ValueError(f"kinds[{index}]: unknown record kind {kind!r} (known: {', '.join(KINDS)})")
    for key in settings.ttls:
        if key not in KINDS:
            raise ValueError(f"ttls: unknown record kind {key!r} (known: {', '.join(KINDS)})")
        _ttl(settings, key)
    if not 0 <= settings.mx_preference <= 65535:
        raise ValueError(f"mx_preference: expected 0-65535, got {settings.mx_preference!r}")
    if settings.spf_all not in ("-all", "~all", "?all", "+all"):
        raise ValueError(f"spf_all: expected -all, ~all or ?all, got {settings.spf_all!r}")
    for key in settings.srv:
        if key not in SRV_SERVICES:
            raise ValueError(f"srv: unknown service {key!r} (known: {', '.join(SRV_SERVICES)})")
    for index, port in enumerate(settings.tlsa_ports):
        _validate.port(port, f"tlsa_ports[{index}]")


def _domain_list(settings: Settings) -> list[tuple[str, str, dict[str, t.Any]]]:
    """Validate ``domains`` and return (name, zone, entry) with unique names."""
    if not isinstance(settings.domains, list) or not settings.domains:
        raise ValueError("domains: expected a non-empty list of {name: ...}")
    seen: set[str] = set()
    result = []
    for index, entry in enumerate(settings.domains):
        if isinstance(entry, str):
            entry = {"name": entry}
        if not isinstance(entry, dict) or "name" not in entry:
            raise ValueError(f"domains[{index}]: expected a dict with a name, got {entry!r}")
        name = _validate.domain(entry["name"], f"domains[{index}].name")
        if name in seen:
            raise ValueError(f"domains[{index}].name: {name} is listed twice")
        seen.add(name)
        zone = _validate.domain(entry.get("zone") or name, f"domains[{index}].zone", min_labels=1)
        if not in_zone(name, zone):
            raise ValueError(f"domains[{index}].zone: {name} is not inside the zone {zone}")
        result.append((name, zone, entry))
    return result


def _host_zone(settings: Settings, host: str, zones: t.Iterable[str]) -> str | None:
    if settings.mail_host_zone:
        zone = _validate.domain(settings.mail_host_zone, "mail_host_zone", min_labels=1)
        if not in_zone(host, zone):
            raise ValueError(f"mail_host_zone: {host} is not inside the zone {zone}")
        return zone
    inside = [z for z in set(zones) if in_zone(host, z)]
    return max(inside, key=len) if inside else None


def _dkim_by_domain(settings: Settings, domains: set[str]) -> dict[str, list[dict[str, t.Any]]]:
    result: dict[str, list[dict[str, t.Any]]] = {}
    seen: set[str] = set()
    for index, record in enumerate(settings.dkim_records or []):
        where = f"dkim_records[{index}]"
        if not isinstance(record, dict):
            raise ValueError(f"{where}: expected a dkim_key result (domain, selector, txt_value), got {record!r}")
        for key in ("domain", "selector"):
            if not record.get(key):
                raise ValueError(f"{where}: {key} is missing")
        if not record.get("txt_value") and not record.get("txt_strings"):
            if not settings.dkim_pending:
                raise ValueError(f"{where}: txt_value (or txt_strings) is missing")
            # A key that a check run of dkim_key would generate: shown as to be created, never published.
            record = dict(record, txt_value=pending_dkim_value(record.get("algorithm")))
        if "private_key" in record:
            raise ValueError(f"{where}: carries private_key; pass only the public parts of dkim_key results")
        dom = _validate.domain(record["domain"], f"{where}.domain")
        sel = _validate.selector(record["selector"], f"{where}.selector")
        name = f"{sel}._domainkey.{dom}"
        if name in seen:
            raise ValueError(f"{where}: {name} is listed twice")
        seen.add(name)
        if dom not in domains:
            continue
        result.setdefault(dom, []).append(dict(record, domain=dom, selector=sel))
    return result


def _wanted_selectors(selectors: t.Any, where: str) -> set[str] | None:
    """The selectors whose DKIM records a domain publishes: ``None`` for every one in ``dkim_records``.

    A list names them. A dictionary is the stalwart role's ``dkim_selectors`` (``{rsa: ..., ed25519: ...}``): it
    names the keys ``dkim_records`` already holds for the domain (made with the same setting), so every record of
    the domain is published: the selectors Stalwart signs with, whatever the dictionary says.
    """
    if selectors is None or isinstance(selectors, dict):
        return None
    if isinstance(selectors, str) or not isinstance(selectors, (list, tuple)):
        raise ValueError(f"{where}.dkim_selectors: expected a list of selectors or a dictionary {{rsa, ed25519}},"
                         f" got {selectors!r}")
    return {_validate.selector(s, f"{where}.dkim_selectors[{i}]") for i, s in enumerate(selectors)}


PENDING_DKIM_KEY = "(generated on the real run)"


def pending_dkim_value(algorithm: t.Any) -> str:
    """The TXT text shown in check mode for a DKIM key that does not exist yet: says so in place of the key."""
    kind = "ed25519" if str(algorithm or "").lower() == "ed25519" else "rsa"
    return f"v=DKIM1; k={kind}; p={PENDING_DKIM_KEY}"


def _txt_value(record: t.Mapping[str, t.Any]) -> str:
    strings = record.get("txt_strings")
    if strings:
        for s in strings:
            if len(s.encode("utf-8")) > 255:
                raise ValueError(f"dkim_records: {record['selector']}._domainkey.{record['domain']} has a"
                                 " character-string over 255 bytes")
        return " ".join(_quote_string(s) for s in strings)
    return txt_quote(record["txt_value"])


def resolve_hostname(settings: Settings, hostname: str, option: str, why: str) -> tuple[list[str], list[str]]:
    """The A and AAAA addresses of a load balancer's host name; a name that has none is an error naming ``option``."""
    if settings.resolve is None:
        raise ValueError(f"{option}: {hostname} is {why}, which may not be an alias (RFC 2181 10.3, RFC 2782): its"
                         " addresses are published, and resolving it needs the Python library dnspython")
    found: dict[str, list[str]] = {}
    for rtype, version in (("A", 4), ("AAAA", 6)):
        try:
            values = settings.resolve(hostname, rtype)
        except ValueError as exc:
            raise ValueError(f"{option}: {exc}") from None
        found[rtype] = [_validate.ip_address(v, f"{option} ({hostname} {rtype})", version) for v in values]
    if not found["A"] and not found["AAAA"]:
        raise ValueError(f"{option}: {hostname} does not resolve to an address (no A or AAAA record); it is {why},"
                         " which may not be an alias (RFC 2181 10.3, RFC 2782), so its addresses are published")
    return found["A"], found["AAAA"]


def _addresses(settings: Settings, prefix: str, ipv4: t.Sequence[str], ipv6: t.Sequence[str], hostname: str | None,
               why: str) -> tuple[list[str], list[str]]:
    """The given addresses plus those ``hostname`` resolves to, validated, sorted (``prefix``: option name stem)."""
    v4 = {_validate.ip_address(a, f"{prefix}_ipv4[{i}]", 4) for i, a in enumerate(ipv4 or [])}
    v6 = {_validate.ip_address(a, f"{prefix}_ipv6[{i}]", 6) for i, a in enumerate(ipv6 or [])}
    if hostname:
        name = _validate.domain(hostname, f"{prefix}_hostname", min_labels=1)
        more4, more6 = resolve_hostname(settings, name, f"{prefix}_hostname", why)
        v4.update(more4)
        v6.update(more6)
    return sorted(v4), sorted(v6)


class _WebAddress:
    """Records of the web names: a CNAME to ``web_hostname`` where an alias is legal, else its addresses (resolved
    once, when first needed) and the given ``web_ipv4``/``web_ipv6``. No address known: no record."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.hostname = _validate.domain(settings.web_hostname, "web_hostname", min_labels=1) \
            if settings.web_hostname else None
        self.given = _addresses(settings, "web", settings.web_ipv4, settings.web_ipv6, None, "")
        self._resolved: tuple[list[str], list[str]] | None = None

    def addresses(self) -> tuple[list[str], list[str]]:
        if self.hostname is None:
            return self.given
        if self._resolved is None:
            self._resolved = _addresses(self.settings, "web", self.settings.web_ipv4, self.settings.web_ipv6,
                                        self.hostname, "the target of an SRV record (JMAP, autodiscover)")
        return self._resolved

    def records(self, name: str, alias_ok: bool) -> list[tuple[str, list[str]]]:
        if alias_ok and self.hostname and self.hostname != name:
            return [("CNAME", [f"{self.hostname}."])]
        v4, v6 = self.addresses()
        return [(rtype, values) for rtype, values in (("A", v4), ("AAAA", v6)) if values]


def compute(settings: Settings) -> list[RRset]:
    """Return every managed rrset, sorted by zone and name; raises ``ValueError`` naming the option at fault."""
    _check_settings(settings)
    host = _validate.domain(settings.mail_host, "mail_host")
    domains = _domain_list(settings)
    spf_global = spf_terms(settings.spf_mechanisms, "spf_mechanisms")
    dkim = _dkim_by_domain(settings, {d[0] for d in domains})
    mta = settings.mta_sts or {}
    mail_v4, mail_v6 = _addresses(settings, "mail_host", settings.mail_host_ipv4, settings.mail_host_ipv6,
                                  settings.mail_host_hostname, "an MX and SRV target")
    web = _WebAddress(settings)
    rrsets: list[RRset] = []

    def add(zone: str, dom: str, kind: str, name: str, rtype: str, values: t.Iterable[str],
            owner: str = OWN_RRSET) -> None:
        rrsets.append(RRset(zone, dom, kind, name, rtype, _ttl(settings, kind), tuple(sorted(set(values))), owner))

    for index, (dom, zone, entry) in enumerate(domains):
        where = f"domains[{index}]"
        add(zone, dom, "mx", dom, "MX", [f"{settings.mx_preference} {host}."])

        terms = spf_global if entry.get("spf_mechanisms") is None else \
            spf_terms(entry["spf_mechanisms"], f"{where}.spf_mechanisms")
        lookups = spf_lookups(terms)
        if lookups > SPF_LOOKUP_LIMIT:
            option = "spf_mechanisms" if entry.get("spf_mechanisms") is None else f"{where}.spf_mechanisms"
            raise ValueError(f"{option}: the SPF record of {dom} needs {lookups} DNS lookups, more than the"
                             f" {SPF_LOOKUP_LIMIT} RFC 7208 allows")
        spf_all = entry.get("spf_all") or settings.spf_all
        if spf_all not in ("-all", "~all", "?all", "+all"):
            raise ValueError(f"{where}.spf_all: expected -all, ~all or ?all, got {spf_all!r}")
        add(zone, dom, "spf", dom, "TXT", [txt_quote(spf_record(terms, spf_all))], owner=OWN_SPF)

        wanted = _wanted_selectors(entry.get("dkim_selectors"), where)
        for record in dkim.get(dom, []):
            if wanted is None or record["selector"] in wanted:
                add(zone, dom, "dkim", f"{record['selector']}._domainkey.{dom}", "TXT", [_txt_value(record)])

        dmarc = dict(settings.dmarc or {})
        dmarc.update(entry.get("dmarc") or {})
        option = f"{where}.dmarc" if entry.get("dmarc") else "dmarc"
        add(zone, dom, "dmarc", f"_dmarc.{dom}", "TXT", [txt_quote(dmarc_record(dmarc, dom, option))])

        rua = entry.get("tlsrpt_rua") if entry.get("tlsrpt_rua") is not None else settings.tlsrpt_rua
        if rua:
            add(zone, dom, "tlsrpt", f"_smtp._tls.{dom}", "TXT", [txt_quote(tlsrpt_record(rua, dom, "tlsrpt_rua"))])

        # Web names (served over HTTPS behind the Ingress/Gateway): name -> record kind; SRV targets need addresses.
        web_names: dict[str, str] = {}
        srv_targets: set[str] = set()
        if mta.get("enabled", True):
            policy = mta_sts_policy([host], entry.get("mta_sts_mode") or mta.get("mode", "enforce"),
                                    mta.get("max_age", 604800))
            add(zone, dom, "mta_sts", f"_mta-sts.{dom}", "TXT", [txt_quote(f"v=STSv1; id={mta_sts_id(policy)}")])
            web_names[f"{MTA_STS_LABEL}.{dom}"] = "mta_sts"

        if settings.autoconfig:
            for label in AUTOCONFIG_LABELS:
                web_names[f"{label}.{dom}"] = "autoconfig"

        web_target = f"{WEB_SRV_TARGET_LABEL}.{dom}"
        for key, (label, port, default) in SRV_SERVICES.items():
            if settings.srv.get(key, default):
                target = web_target if key in WEB_SRV_SERVICES and web_target != host else host
                if target != host:
                    srv_targets.add(target)
                    web_names.setdefault(target, "srv")
                add(zone, dom, "srv", f"{label}.{dom}", "SRV", [f"0 1 {port} {target}."])

        for name, kind in sorted(web_names.items()):
            if name == host:
                continue  # the mail host's own records (below) hold it
            rtype_values = web.records(name, alias_ok=name not in srv_targets and name != zone)
            for rtype, values in rtype_values:
                add(zone, dom, kind, name, rtype, values)

        if settings.caa_issuers:
            values = [f'0 issue "{_validate.domain(ca, "caa_issuers", min_labels=1)}"' for ca in settings.caa_issuers]
            if settings.caa_iodef:
                values.append(f'0 iodef "{_report_uris([settings.caa_iodef], "caa_iodef", dom, ("mailto", "https"))[0]}"')
            add(zone, dom, "caa", dom, "CAA", values)

    rrsets.extend(_dmarc_authorizations(settings, domains, rrsets))
    rrsets.extend(_host_rrsets(settings, host, [d[1] for d in domains], {d[0] for d in domains}, mail_v4, mail_v6))
    _check_conflicts(rrsets)
    if settings.kinds is not None:
        rrsets = [r for r in rrsets if r.kind in settings.kinds]
    return sorted(rrsets, key=lambda r: (r.zone, r.name, r.rtype))


def check_kinds_output(kinds: t.Sequence[str] | None, zonefile_dir: str | None, provider: str) -> None:
    """Zone file snippets and DNSEndpoint objects hold every record of a domain: refuse them for a part of the kinds.

    Written from some kinds only, they would lose the records of the others (or, for ``absent``, the whole file).
    """
    if kinds is None or set(kinds) >= set(KINDS):
        return
    if zonefile_dir:
        raise ValueError("zonefile_dir: zone file snippets hold every record of a domain; leave zonefile_dir out"
                         f" when kinds selects only {', '.join(kinds)}")
    if provider == "external_dns":
        raise ValueError("provider: the DNSEndpoint objects of external_dns hold every record of a domain; use"
                         f" rfc2136 or none when kinds selects only {', '.join(kinds)}")


def _dmarc_authorizations(settings: Settings, domains: list[t.Any], rrsets: list[RRset]) -> list[RRset]:
    """RFC 7489 7.1: a report address in another managed zone needs ``<domain>._report._dmarc.<there>``."""
    zones = {entry[1] for entry in domains}
    found: dict[str, RRset] = {}
    for rrset in rrsets:
        if rrset.kind != "dmarc":
            continue
        text = txt_join(rrset.values[0])
        for uri in re.findall(r"mailto:[^,;!\s]+", text):
            target = uri.split("@", 1)[1]
            if in_zone(target, rrset.domain):
                continue
            inside = [z for z in zones if in_zone(target, z)]
            if not inside:
                continue
            name = f"{rrset.domain}._report._dmarc.{target}"
            found[name] = RRset(max(inside, key=len), rrset.domain, "dmarc", name, "TXT",
                                _ttl(settings, "dmarc"), (txt_quote("v=DMARC1"),))
    return list(found.values())


def _host_rrsets(settings: Settings, host: str, zones: list[str], domains: set[str], v4: list[str],
                 v6: list[str]) -> list[RRset]:
    zone = _host_zone(settings, host, zones)
    if zone is None:
        if v4 or v6 or settings.tlsa_public_key:
            raise ValueError(f"mail_host_zone: {host} is in none of the zones of domains; name the zone it is in"
                             " (or leave its addresses and TLSA key out)")
        return []
    ttl = _ttl(settings, "host")
    result = []
    if v4:
        result.append(RRset(zone, host, "host", host, "A", ttl, tuple(v4)))
    if v6:
        result.append(RRset(zone, host, "host", host, "AAAA", ttl, tuple(v6)))
    if settings.helo_spf and host not in domains:
        # Receivers check SPF of the HELO name too (RFC 7208 2.3): only this host sends as itself.
        result.append(RRset(zone, host, "host", host, "TXT", _ttl(settings, "spf"),
                            (txt_quote(spf_record(["a"], "-all")),), OWN_SPF))
    if settings.tlsa_public_key:
        value = tlsa_311(settings.tlsa_public_key, "tlsa_public_key")
        for port in sorted(set(settings.tlsa_ports)):
            name = f"_{port}._tcp.{host}"
            result.append(RRset(zone, host, "tlsa", name, "TLSA", _ttl(settings, "tlsa"), (value,)))
    return result


def _check_conflicts(rrsets: list[RRset]) -> None:
    by_name: dict[str, set[str]] = {}
    for rrset in rrsets:
        types = by_name.setdefault(rrset.name, set())
        if rrset.rtype in types:
            raise ValueError(f"domains: two records of type {rrset.rtype} for {rrset.name} (overlapping domains?)")
        types.add(rrset.rtype)
    for name, types in by_name.items():
        if "CNAME" in types and len(types) > 1:
            raise ValueError(f"domains: {name} would be a CNAME and also hold {', '.join(sorted(types - {'CNAME'}))}")


# -- presentations ----------------------------------------------------------------------------------------
# What would end a zone-file line or field early: a record's name or value holding one could add a record.
_ZONE_LINE_BREAK = re.compile(r"[\x00-\x1f\x7f]")
_ZONE_NAME_UNSAFE = re.compile(r"[\x00-\x20\x7f;()\"\\$]")


def zonefile(rrsets: t.Sequence[RRset], title: str) -> str:
    """An RFC 1035 zone-file snippet with absolute names: ``$INCLUDE`` it in the zone (or paste it).

    One line per record, always: a name or value that could break a line (or a name that could end its field)
    is refused, so no input can add a record to the file.
    """
    if _ZONE_LINE_BREAK.search(title):
        raise ValueError("zonefile: the title holds a control character")
    lines = [f"; {title}", "; generated by openova.stalwart dns_records: absolute names, $INCLUDE it in the zone"]
    for rrset in rrsets:
        if _ZONE_NAME_UNSAFE.search(rrset.name):
            raise ValueError(f"domains: record name {rrset.name!r} holds a character a zone file cannot take")
        if any(_ZONE_LINE_BREAK.search(value) for value in rrset.values):
            raise ValueError(f"domains: a {rrset.rtype} value of {rrset.name} holds a line break or control character")
        for value in rrset.values:
            lines.append(f"{rrset.name}. {rrset.ttl} IN {rrset.rtype} {value}")
    return "\n".join(lines) + "\n"


def zonefiles(rrsets: t.Sequence[RRset]) -> dict[str, str]:
    """One snippet per mail domain (``<domain>.zone``); the mail host's own records go in ``<host>.zone``."""
    groups: dict[str, list[RRset]] = {}
    for rrset in rrsets:
        groups.setdefault(rrset.domain, []).append(rrset)
    return {f"{dom}.zone": zonefile(group, f"mail records of {dom} (zone {group[0].zone})")
            for dom, group in sorted(groups.items())}


def table(rrsets: t.Sequence[RRset]) -> str:
    """A plain-text table of the records to publish by hand."""
    rows = [("NAME", "TTL", "TYPE", "VALUE")]
    for rrset in rrsets:
        for value in rrset.values:
            rows.append((rrset.name + ".", str(rrset.ttl), rrset.rtype,
                         txt_join(value) if rrset.rtype == "TXT" else value))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}" for r in rows)


def external_dns_endpoints(rrsets: t.Sequence[RRset], namespace: str, prefix: str = "mail-dns") -> list[dict[str, t.Any]]:
    """DNSEndpoint objects (externaldns.k8s.io/v1alpha1), one per mail domain (needs external-dns' crd source)."""
    groups: dict[str, list[RRset]] = {}
    for rrset in rrsets:
        groups.setdefault(rrset.domain, []).append(rrset)
    objects = []
    for dom, group in sorted(groups.items()):
        endpoints = []
        for rrset in group:
            targets = [txt_join(v) if rrset.rtype == "TXT" else v.rstrip(".") if rrset.rtype == "CNAME" else v
                       for v in rrset.values]
            endpoints.append({"dnsName": rrset.name, "recordType": rrset.rtype, "recordTTL": rrset.ttl,
                              "targets": targets})
        objects.append({
            "apiVersion": "externaldns.k8s.io/v1alpha1",
            "kind": "DNSEndpoint",
            "metadata": {"name": f"{prefix}-{dom.replace('.', '-')}"[:253], "namespace": namespace,
                         "labels": {"app.kubernetes.io/managed-by": "openova.stalwart",
                                    "app.kubernetes.io/component": "dns"}},
            "spec": {"endpoints": endpoints},
        })
    return objects
