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
        if not _LABEL.match(label):
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
        if not _SELECTOR_LABEL.match(label):
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
