# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""Spread the HTTPS names of a deployment over cert-manager Certificates that an ACME CA will issue.

Let's Encrypt refuses an order with more than 100 names. The mail host name gets a Certificate of its own
(Stalwart serves it on the mail ports; its issuer may differ, see docs/kubernetes-mail-traps.md). The web names
(``mta-sts.``, ``autoconfig.``, ``autodiscover.`` per domain, and the extra hosts) are grouped per domain and
placed by a hash trie: all groups start in one shard; a shard over ``max_names`` splits in two on the next bit
of SHA-256(group key), and so on. The result is a function of the current names alone (a render needs no state)
and it is stable: adding a domain changes only the shard its hash falls into. When that shard overflows it
splits; the half on the ``0`` side keeps the shard's name (a shard is named by its bit prefix with the trailing
zeros stripped), so one existing Certificate changes and one new one appears. Removing a domain is the mirror
image: one shard changes, or two merge into the one on the ``0`` side.
"""

from __future__ import annotations

import hashlib
import typing as t

from ansible_collections.openova.stalwart.plugins.module_utils._dns_records import WEB_LABELS

DEFAULT_MAX_NAMES = 100  # Let's Encrypt's limit of names per certificate
_MAX_DEPTH = 256  # bits of SHA-256


def _bits(key: str) -> str:
    return format(int.from_bytes(hashlib.sha256(key.encode()).digest(), "big"), "0256b")


def shard_id(prefix: str) -> str:
    """Name suffix of the shard at a bit prefix: ``web``, ``web-1``, ``web-01``, ... (trailing zeros dropped).

    Leaves of a trie are prefix-free, so no two leaves have the same name: two leaves that differ only by trailing
    zeros would be prefixes of each other.
    """
    stripped = prefix.rstrip("0")
    return "web-" + stripped if stripped else "web"


def _lower_list(value: t.Any, option: str) -> list[str]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) and item for item in value):
        raise ValueError(f"{option}: expected a list of host names, got {value!r}")
    return [item.lower().rstrip(".") for item in value]


def web_shards(domains: t.Sequence[str], extra_hosts: t.Sequence[str] = (), *, exclude: t.Sequence[str] = (),
               max_names: int = DEFAULT_MAX_NAMES, labels: t.Sequence[str] = WEB_LABELS) -> list[dict[str, t.Any]]:
    """The web names in shards: ``[{"id": "web-01", "hosts": [...]}, ...]``, ids sorted, hosts sorted.

    ``exclude`` names (the mail host) are left out: they have their own Certificate.
    """
    if isinstance(max_names, bool) or not isinstance(max_names, int) or max_names < len(labels):
        raise ValueError(f"max_names: expected an integer of at least {len(labels)} (the names of one domain), "
                         f"got {max_names!r}")
    skip = set(_lower_list(exclude, "exclude"))
    groups: dict[str, list[str]] = {}
    seen: set[str] = set(skip)
    for domain in _lower_list(domains, "domains"):
        names = [f"{label}.{domain}" for label in labels if f"{label}.{domain}" not in seen]
        seen.update(names)
        if names:
            groups.setdefault(domain, []).extend(names)
    for host in _lower_list(extra_hosts, "extra_hosts"):
        if host not in seen:
            seen.add(host)
            groups["host:" + host] = [host]
    if not groups:
        return []
    items = sorted((_bits(key), names) for key, names in groups.items())
    leaves: list[tuple[str, list[str]]] = []
    stack: list[tuple[str, list[tuple[str, list[str]]]]] = [("", items)]
    while stack:
        prefix, members = stack.pop()
        count = sum(len(m[1]) for m in members)
        depth = len(prefix)
        if count <= max_names or depth >= _MAX_DEPTH:
            if members:
                leaves.append((prefix, sorted(name for m in members for name in m[1])))
            continue
        stack.append((prefix + "1", [m for m in members if m[0][depth] == "1"]))
        stack.append((prefix + "0", [m for m in members if m[0][depth] == "0"]))
    return sorted(({"id": shard_id(prefix), "hosts": hosts} for prefix, hosts in leaves), key=lambda s: s["id"])


def certificates(hostname: str, domains: t.Sequence[str], extra_hosts: t.Sequence[str] = (), *, name: str,
                 secret_name: str, max_names: int = DEFAULT_MAX_NAMES) -> dict[str, t.Any]:
    """The Certificates of a deployment and the Ingress ``tls`` list that wires every host to its Secret.

    Returns ``{"mail": {"name", "secret", "hosts"}, "web": [{"name", "secret", "hosts"}, ...],
    "hosts": [mail host, web hosts...], "tls": [{"hosts", "secretName"}, ...]}``.
    """
    if not isinstance(hostname, str) or not hostname:
        raise ValueError(f"hostname: expected a host name, got {hostname!r}")
    host = hostname.lower().rstrip(".")
    mail = {"name": name, "secret": secret_name, "hosts": [host]}
    web = [{"name": f"{name}-{shard['id']}", "secret": f"{secret_name}-{shard['id']}", "hosts": shard["hosts"]}
           for shard in web_shards(domains, extra_hosts, exclude=[host], max_names=max_names)]
    hosts = [host] + [h for cert in web for h in cert["hosts"]]
    tls = [{"hosts": cert["hosts"], "secretName": cert["secret"]} for cert in [mail] + web]
    return {"mail": mail, "web": web, "hosts": hosts, "tls": tls}
