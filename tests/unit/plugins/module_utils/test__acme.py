# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

import pytest

from ansible_collections.openova.stalwart.plugins.module_utils import _acme

HTTP = {"http01": {"ingress": {"ingressClassName": "nginx"}}}
DNS = {"dns01": {"rfc2136": {"nameserver": "192.0.2.53"}}}


def solver(kind, **selector):
    """A solver of ``kind`` with a selector (empty when no field is given)."""
    return {**kind, "selector": selector}


@pytest.mark.parametrize("solvers, name, labels, expected", [
    # No selector: the default, the first one wins.
    ([HTTP, DNS], "mail.example.org", {}, 0),
    ([DNS, HTTP], "mail.example.org", {}, 0),
    # A matching selector outranks the default, wherever it stands.
    ([HTTP, solver(DNS, dnsZones=["example.org"])], "mail.example.org", {}, 1),
    ([solver(DNS, dnsZones=["example.org"]), HTTP], "mail.example.org", {}, 0),
    # A selector that does not match is never used, not even as a default.
    ([solver(DNS, dnsZones=["example.net"]), HTTP], "mail.example.org", {}, 1),
    ([solver(DNS, dnsZones=["example.net"])], "mail.example.org", {}, None),
    # dnsZones match whole labels, case-insensitively: "ample.org" is not a zone of mail.example.org.
    ([HTTP, solver(DNS, dnsZones=["ample.org"])], "mail.example.org", {}, 0),
    ([HTTP, solver(DNS, dnsZones=["Example.ORG."])], "mail.example.org", {}, 1),
    # The zone itself matches.
    ([HTTP, solver(DNS, dnsZones=["example.org"])], "example.org", {}, 1),
    # The most specific zone wins (cert-manager's sys.example.com over example.com).
    ([solver(DNS, dnsZones=["example.org"]), solver(HTTP, dnsZones=["mail.example.org"])], "mail.example.org", {}, 1),
    ([solver(HTTP, dnsZones=["mail.example.org"]), solver(DNS, dnsZones=["example.org"])], "mail.example.org", {}, 0),
    # dnsNames outrank any zone, however specific.
    ([solver(HTTP, dnsZones=["mail.example.org"]), solver(DNS, dnsNames=["mail.example.org"])], "mail.example.org", {}, 1),
    # dnsNames compare exactly.
    ([HTTP, solver(DNS, dnsNames=["MAIL.example.org"])], "mail.example.org", {}, 0),
    # Both with dnsNames: the zone, then the labels decide; then the earlier.
    ([solver(HTTP, dnsNames=["mail.example.org"]), solver(DNS, dnsNames=["mail.example.org"], dnsZones=["example.org"])],
     "mail.example.org", {}, 1),
    ([solver(HTTP, dnsNames=["mail.example.org"]), solver(DNS, dnsNames=["mail.example.org"])], "mail.example.org", {}, 0),
    # matchLabels must all match the Certificate's labels; more matching labels win a tie.
    ([HTTP, solver(DNS, matchLabels={"app": "stalwart"})], "mail.example.org", {"app": "stalwart"}, 1),
    ([HTTP, solver(DNS, matchLabels={"app": "stalwart"})], "mail.example.org", {"app": "other"}, 0),
    ([solver(HTTP, dnsZones=["example.org"]), solver(DNS, dnsZones=["example.org"], matchLabels={"app": "stalwart"})],
     "mail.example.org", {"app": "stalwart"}, 1),
    # A zone match outranks labels alone.
    ([solver(DNS, matchLabels={"app": "stalwart"}), solver(HTTP, dnsZones=["example.org"])], "mail.example.org",
     {"app": "stalwart"}, 1),
    # An empty selector matches everything but adds nothing: first come, as the default.
    ([solver(HTTP), DNS], "mail.example.org", {}, 0),
    ([DNS, solver(HTTP)], "mail.example.org", {}, 0),
    # A wildcard is proved over DNS-01 only.
    ([HTTP, DNS], "*.example.org", {}, 1),
    ([HTTP], "*.example.org", {}, None),
    # A solver of neither type is skipped.
    ([{"selector": {}}, DNS], "mail.example.org", {}, 1),
    ([], "mail.example.org", {}, None),
])
def test_pick_solver_follows_cert_manager(solvers, name, labels, expected):
    assert _acme.pick_solver(solvers, name, labels) == expected


def test_http01_names():
    issuer = {"kind": "ClusterIssuer", "spec": {"acme": {"solvers": [HTTP, solver(DNS, dnsZones=["example.net"])]}}}
    assert _acme.http01_names(issuer, ["mail.example.org", "mail.example.net"]) == [{"name": "mail.example.org", "solver": 0}]
    assert _acme.http01_names({"spec": {"ca": {"secretName": "ca"}}}, ["mail.example.org"]) == []
    assert _acme.http01_names(None, ["mail.example.org"]) == []
    assert _acme.http01_names({"spec": {"selfSigned": {}}}, ["mail.example.org"]) == []
