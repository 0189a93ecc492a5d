# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""Which ACME solver of a cert-manager Issuer proves a name, as cert-manager picks it.

The mail host resolves to the mail LoadBalancer, which has no port 80: an HTTP-01 challenge for it cannot succeed,
and the Certificate would stay not Ready with nothing in the run saying why. The rules are cert-manager's
(pkg/util/solverpicker and pkg/controller/acmeorders/selectors): a selector's dnsNames, dnsZones and matchLabels
must all match; a dnsNames match outranks any other; then the longest dnsZones match (in labels); then the most
matchLabels; on a tie the earlier solver; a solver without a selector is the default, taken only when none other
matched. The ACME server offers both challenge types for a name (wildcards only DNS-01), so every solver qualifies.
"""

from __future__ import annotations

import typing as t


def _labels(name: str) -> list[str]:
    return [label for label in name.lower().rstrip(".").split(".") if label]


def _zone_labels(zone: str, name: str) -> int:
    """How many labels of ``zone`` end ``name`` when all of them do (0 otherwise), as dns.CompareDomainName counts."""
    zone_labels, name_labels = _labels(zone), _labels(name)
    if not zone_labels or len(zone_labels) > len(name_labels) or name_labels[-len(zone_labels):] != zone_labels:
        return 0
    return len(zone_labels)


def _match(selector: t.Mapping[str, t.Any], name: str, labels: t.Mapping[str, str]) -> tuple[int, int, int] | None:
    """(dnsNames matched 0/1, dnsZones labels matched, matchLabels matched), or None when the selector rules it out."""
    names = selector.get("dnsNames") or []
    zones = selector.get("dnsZones") or []
    wanted = selector.get("matchLabels") or {}
    if wanted and any(labels.get(key) != value for key, value in wanted.items()):
        return None
    by_name = 0
    if names:
        if name not in names:
            return None
        by_name = 1
    by_zone = 0
    if zones:
        by_zone = max(_zone_labels(zone, name) for zone in zones)
        if not by_zone:
            return None
    return by_name, by_zone, len(wanted)


def pick_solver(solvers: t.Sequence[t.Mapping[str, t.Any]], name: str, labels: t.Mapping[str, str] | None = None) -> int | None:
    """The index in ``solvers`` of the solver cert-manager uses for ``name`` (a Certificate's dnsName), or None."""
    labels = labels or {}
    chosen: int | None = None
    rank = (0, 0, 0)
    for index, solver in enumerate(solvers):
        if name.startswith("*.") and solver.get("dns01") is None:
            continue  # an ACME server proves a wildcard over DNS-01 only
        if solver.get("http01") is None and solver.get("dns01") is None:
            continue
        selector = solver.get("selector")
        if selector is None:
            if chosen is None:
                chosen = index
            continue
        found = _match(selector, name, labels)
        if found is None:
            continue
        if chosen is None or _outranks(found, rank):
            chosen, rank = index, found
    return chosen


def _outranks(found: tuple[int, int, int], rank: tuple[int, int, int]) -> bool:
    by_name, by_zone, by_labels = found
    if by_name != rank[0]:
        return by_name > rank[0]
    if by_zone != rank[1]:
        return by_zone > rank[1]
    return by_labels > rank[2]


def http01_names(issuer: t.Mapping[str, t.Any] | None, names: t.Iterable[str],
                 labels: t.Mapping[str, str] | None = None) -> list[dict[str, t.Any]]:
    """The ``names`` an ACME ``issuer`` (an Issuer or ClusterIssuer object) would prove over HTTP-01, each as
    ``{"name", "solver"}`` (the solver's index). Empty for an issuer that is not ACME, or that is absent."""
    acme = ((issuer or {}).get("spec") or {}).get("acme") or {}
    solvers = acme.get("solvers") or []
    found = []
    for name in names:
        index = pick_solver(solvers, name, labels)
        if index is not None and solvers[index].get("http01") is not None:
            found.append({"name": name, "solver": index})
    return found
