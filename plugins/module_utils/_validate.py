# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""Input checks shared by every module. Each raises ``ValueError`` naming the option at fault."""

from __future__ import annotations

import ipaddress
import json
import re
import typing as t

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# DKIM selectors are dot-separated sub-domains (RFC 6376 3.1); allow underscores as real-world selectors do.
_SELECTOR_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


def domain(value: t.Any, option: str, min_labels: int = 2) -> str:
    """Return the lower-case, dot-less-tail form of a DNS host/domain name, or raise ``ValueError``."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{option}: expected a domain name, got {value!r}")
    name = value.strip().lower().rstrip(".")
    try:
        ascii_name = name.encode("idna").decode("ascii") if not name.isascii() else name
    except UnicodeError as exc:
        raise ValueError(f"{option}: {value!r} is not a valid domain name ({exc})") from None
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or len(labels) < min_labels:
        raise ValueError(f"{option}: {value!r} is not a fully qualified domain name")
    for label in labels:
        if not _LABEL.fullmatch(label):
            raise ValueError(f"{option}: {value!r} has an invalid label {label!r}")
    if labels[-1].isdigit():
        raise ValueError(f"{option}: {value!r} is not a domain name (numeric top-level label)")
    return ascii_name


def selector(value: t.Any, option: str) -> str:
    """Return a DKIM selector, or raise ``ValueError``."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{option}: expected a DKIM selector, got {value!r}")
    labels = value.lower().split(".")
    for label in labels:
        if not _SELECTOR_LABEL.fullmatch(label):
            raise ValueError(f"{option}: {value!r} is not a valid DKIM selector (label {label!r})")
    return value.lower()


def port(value: t.Any, option: str) -> int:
    """Return a TCP/UDP port number, or raise ``ValueError``."""
    if isinstance(value, bool):
        raise ValueError(f"{option}: expected a port number, got {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{option}: expected a port number, got {value!r}") from None
    if not 1 <= number <= 65535:
        raise ValueError(f"{option}: port {number} is out of range 1-65535")
    return number


def ip_address(value: t.Any, option: str, version: int | None = None) -> str:
    """Return the canonical text of an IP address, or raise ``ValueError``."""
    try:
        address = ipaddress.ip_address(str(value))
    except ValueError:
        raise ValueError(f"{option}: {value!r} is not an IP address") from None
    if version and address.version != version:
        raise ValueError(f"{option}: {value!r} is not an IPv{version} address")
    return str(address)


def ip_network(value: t.Any, option: str) -> str:
    """Return the canonical text of an IP network (CIDR), or raise ``ValueError``."""
    try:
        return str(ipaddress.ip_network(str(value), strict=False))
    except ValueError:
        raise ValueError(f"{option}: {value!r} is not an IP network in CIDR form") from None


def email(value: t.Any, option: str) -> str:
    """Return an e-mail address (local@domain with a valid domain), or raise ``ValueError``."""
    if not isinstance(value, str) or value.count("@") != 1:
        raise ValueError(f"{option}: {value!r} is not an e-mail address")
    local, dom = value.split("@")
    if not local or any(c.isspace() for c in local):
        raise ValueError(f"{option}: {value!r} is not an e-mail address")
    return f"{local}@{domain(dom, option)}"


# The host names Kubernetes takes (Certificate dnsNames, Ingress hosts): A-labels, a letter first in the last label.
_HOST_NAME = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")


def domain_list_problems(value: t.Any, option: str) -> list[str]:
    """What is wrong with a list of mail domains (``[{name: <domain>, ...}]``): one message per problem, naming
    ``option``; empty when there is none. Names are compared in lower case."""
    if not isinstance(value, (list, tuple)) or not value:
        return [f"{option} must list at least one {{name: <domain>}}, got {value!r}"]
    invalid, seen, dups = [], set(), []
    for item in value:
        if not isinstance(item, t.Mapping):
            invalid.append(item)
            continue
        name = str(item.get("name", "")).lower()
        if not _HOST_NAME.fullmatch(name):
            invalid.append(name)
        elif name in seen:
            if name not in dups:
                dups.append(name)
        else:
            seen.add(name)
    problems = []
    if invalid:
        problems.append(f"{option} must list at least one {{name: <domain>}}; invalid: {json.dumps(invalid, default=str)}")
    if dups:
        problems.append(f"{option} lists a domain more than once: {json.dumps(dups)}")
    return problems


# --- Format checks for role variables. Each returns True when the whole value has the format (re.fullmatch: ``$``
# in Python accepts a trailing newline, fullmatch does not); plugins/module_utils/_inputs.py builds the messages.

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"(?=.{1,253}\Z)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
# Kubernetes resource.Quantity: a decimal number and a binary (Ki..Ei), decimal (n..E) or exponent suffix.
_QUANTITY = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?")
# Image references (distribution/reference): [domain[:port]/]path[:tag][@digest], path components lower case.
_IMAGE_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
# A registry: has a dot or a port, or is localhost (else the first component is part of the path, lower case).
_IMAGE_DOMAIN = rf"(?:(?:{_IMAGE_LABEL}(?:\.{_IMAGE_LABEL})+|localhost)(?::[0-9]{{1,5}})?/|{_IMAGE_LABEL}:[0-9]{{1,5}}/)"
_IMAGE_PATH = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
_IMAGE = re.compile(rf"({_IMAGE_DOMAIN}?{_IMAGE_PATH})(:[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?(@sha256:[a-f0-9]{{64}})?")
# Label and annotation keys: [prefix/]name; label values up to 63 characters.
_QUALIFIED_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
_GO_DURATION = re.compile(r"([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+")
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:?[0-9]{2})")
_CRON_FIELDS = (  # (low, high, names) of the six fields robfig/cron parses with seconds (CloudNativePG ScheduledBackup)
    (0, 59, ()), (0, 59, ()), (0, 23, ()), (1, 31, ()),
    (1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")),
    (0, 6, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)
_CRON_DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


def as_int(value: t.Any) -> int | None:
    """An integer given as int or decimal text (Ansible hands over either); None for anything else, booleans too."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
        return int(value)
    return None


def is_dns_label(value: t.Any, max_length: int = 63) -> bool:
    """An RFC 1123 label (namespace, Service, StatefulSet names)."""
    return isinstance(value, str) and len(value) <= max_length and bool(_DNS_LABEL.fullmatch(value))


def is_dns_subdomain(value: t.Any) -> bool:
    """An RFC 1123 subdomain (Secret, ConfigMap, storage class, issuer names)."""
    return isinstance(value, str) and bool(_DNS_SUBDOMAIN.fullmatch(value))


def is_host_name(value: t.Any) -> bool:
    """A fully qualified host name Kubernetes takes (lower-case A-labels, a letter first in the last label)."""
    return isinstance(value, str) and bool(_HOST_NAME.fullmatch(value))


def is_quantity(value: t.Any, positive: bool = True) -> bool:
    """A Kubernetes quantity (10Gi, 500m, 1.5); ``positive``: not zero."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return False
    text = str(value)
    if not _QUANTITY.fullmatch(text):
        return False
    return not positive or any(c in "123456789" for c in re.split(r"[eE]", text)[0])


def is_image(value: t.Any, pinned: bool = True) -> bool:
    """An image reference; ``pinned``: with a tag or a digest."""
    if not isinstance(value, str):
        return False
    match = _IMAGE.fullmatch(value)
    return match is not None and (not pinned or bool(match.group(2) or match.group(3)))


def is_url(value: t.Any, schemes: t.Sequence[str] = ("https",)) -> bool:
    """An absolute URL with one of ``schemes``, a host (name, single label or IP address) and a valid port."""
    if not isinstance(value, str) or not value or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        return False
    scheme, sep, rest = value.partition("://")
    if not sep or scheme.lower() not in schemes:
        return False
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    hostport = authority.rpartition("@")[2]
    if hostport.startswith("["):
        host, bracket, tail = hostport[1:].partition("]")
        if not bracket or (tail and not re.fullmatch(r":[0-9]{1,5}", tail)):
            return False
        port_text = tail[1:]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return False
    else:
        host, colon, port_text = hostport.partition(":")
        if colon and not port_text:
            return False
        if not (is_ip_address(host) or _LABEL.fullmatch(host.lower())
                or all(_LABEL.fullmatch(label) for label in host.lower().rstrip(".").split("."))):
            return False
    return not port_text or (port_text.isdigit() and 1 <= int(port_text) <= 65535)


def is_ip_address(value: t.Any, version: int | None = None) -> bool:
    """An IPv4 or IPv6 address (``version`` 4 or 6 to insist)."""
    try:
        address = ipaddress.ip_address(value.strip() if isinstance(value, str) and value == value.strip() else value)
    except (ValueError, TypeError):
        return False
    return isinstance(value, str) and (version is None or address.version == version)


def is_cidr(value: t.Any) -> bool:
    """An IP network in CIDR form (host bits may be set, as Kubernetes ipBlock takes them)."""
    if not isinstance(value, str) or "/" not in value or value != value.strip():
        return False
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


def is_cron6(value: t.Any) -> bool:
    """A robfig/cron schedule with seconds first (six fields), a descriptor (@daily) or @every <Go duration>."""
    if not isinstance(value, str) or value != value.strip() or "\n" in value:
        return False
    if value in _CRON_DESCRIPTORS:
        return True
    if value.startswith("@every "):
        return is_duration(value[len("@every "):])
    fields = value.split(" ")
    if len(fields) != 6:
        return False
    return all(_cron_field(field, *spec) for field, spec in zip(fields, _CRON_FIELDS, strict=True))


def is_cron5(value: t.Any) -> bool:
    """A Kubernetes CronJob schedule: five fields (minute hour day-of-month month day-of-week) or a descriptor (@daily)."""
    if not isinstance(value, str) or value != value.strip() or "\n" in value:
        return False
    if value in _CRON_DESCRIPTORS:
        return True
    fields = value.split(" ")
    if len(fields) != 5:
        return False
    return all(_cron_field(field, *spec) for field, spec in zip(fields, _CRON_FIELDS[1:], strict=True))


def _cron_field(field: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    if field == "?" and high in (31, 6):
        return True
    for part in field.split(","):
        base, slash, step = part.partition("/")
        if slash and not (step.isdigit() and int(step) >= 1):
            return False
        if base == "*":
            continue
        bounds = base.split("-")
        if len(bounds) > 2:
            return False
        numbers = []
        for bound in bounds:
            if bound.isdigit():
                numbers.append(int(bound))
            elif bound.lower() in names:
                numbers.append(names.index(bound.lower()) + low)
            else:
                return False
        if not all(low <= n <= high for n in numbers) or numbers[0] > numbers[-1]:
            return False
    return True


def is_duration(value: t.Any) -> bool:
    """A Go duration (90s, 1h30m)."""
    return isinstance(value, str) and bool(_GO_DURATION.fullmatch(value))


def is_email(value: t.Any) -> bool:
    """local@domain: a dot-atom local part and a fully qualified domain."""
    if not isinstance(value, str) or value.count("@") != 1:
        return False
    local, dom = value.split("@")
    try:
        domain(dom, "email")
    except ValueError:
        return False
    return bool(_EMAIL_LOCAL.fullmatch(local)) and dom == dom.strip()


def is_rfc3339(value: t.Any) -> bool:
    """A time with a zone: 2026-11-25T08:00:00Z."""
    return isinstance(value, str) and bool(_RFC3339.fullmatch(value))


def is_label_key(value: t.Any) -> bool:
    """A label or annotation key: [DNS subdomain prefix/]name of at most 63 characters."""
    if not isinstance(value, str):
        return False
    prefix, slash, name = value.rpartition("/")
    return (not slash or is_dns_subdomain(prefix)) and bool(_QUALIFIED_NAME.fullmatch(name))


def is_label_value(value: t.Any) -> bool:
    """A label value: empty or up to 63 of [-A-Za-z0-9_.], alphanumeric at both ends."""
    return isinstance(value, str) and bool(_LABEL_VALUE.fullmatch(value))


def is_pg_identifier(value: t.Any) -> bool:
    """A lower-case PostgreSQL identifier that needs no quoting."""
    return isinstance(value, str) and bool(re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", value))


def is_bucket(value: t.Any) -> bool:
    """An S3 bucket name (3-63 of a-z 0-9 . -, alphanumeric at both ends, no '..', not an IP address)."""
    return (isinstance(value, str) and bool(re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", value))
            and ".." not in value and not is_ip_address(value))
