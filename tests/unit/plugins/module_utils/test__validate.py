# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

import pytest

from ansible_collections.openova.stalwart.plugins.module_utils import _validate


def test_domain_list_problems_accepts_distinct_host_names():
    assert _validate.domain_list_problems([{"name": "Example.org"}, {"name": "mail.example.net"}], "v") == []


@pytest.mark.parametrize("value", [[], None, "example.org", {"name": "example.org"}])
def test_domain_list_problems_wants_a_non_empty_list(value):
    (problem,) = _validate.domain_list_problems(value, "stalwart_domains")
    assert problem.startswith("stalwart_domains must list at least one {name: <domain>}")


def test_domain_list_problems_names_invalid_items_and_duplicates():
    domains = [{"name": "a.test"}, "b.test", {"name": "A.test"}, {"name": "x"}, {"name": "a.test"},
               {"name": "bad_.test"}, {"name": "c.test\n"}, {"name": "1.2.3.4"}, {}, {"name": "c.test"}]
    assert _validate.domain_list_problems(domains, "v") == [
        'v must list at least one {name: <domain>}; invalid: ["b.test", "x", "bad_.test", "c.test\\n", "1.2.3.4", ""]',
        'v lists a domain more than once: ["a.test"]',
    ]


@pytest.mark.parametrize(("check", "good", "bad"), [
    (_validate.is_dns_label, ["mail", "a-1"], ["Mail", "-a", "a-", "mail\n", "a.b", "a" * 64, 5]),
    (_validate.is_dns_subdomain, ["stalwart-tls", "a.b-c"], ["TLS", "a..b", "a b", "x\n", ""]),
    (_validate.is_host_name, ["mail.example.org"], ["localhost", "mail.example.org\n", "1.2.3.4", "a_b.example.org"]),
    (_validate.is_quantity, ["10Gi", "250m", "1.5", 2, "1e3", "0.5Gi"], ["0", "10 Gi", "10GB", "-1Gi", True, "10Gi\n"]),
    (_validate.is_image, ["stalwartlabs/stalwart:v0.16.18", "localhost:5000/a/b@sha256:" + "a" * 64],
     ["stalwartlabs/stalwart", "Stalwart/x:1", "a/b:1\n", "a/b:-x"]),
    (_validate.is_url, ["https://example.org/x", "https://[::1]:8443/"], ["http://example.org", "https://", "https://a b", "https://x:0"]),
    (_validate.is_cidr, ["10.0.0.0/8", "2001:db8::/32", "10.1.2.3/24"], ["10.0.0.0", "10.0.0.0/33", "10.0.0.0/8\n", "x/8"]),
    (_validate.is_cron6, ["0 0 3 * * *", "*/30 * * * * MON-FRI", "@daily", "@every 1h30m", "0 0 0 1 JAN ?"],
     ["0 3 * * *", "0 0 24 * * *", "0 0 3 * * *\n", "@every soon", "0 0 3 * * 7", "0 0 5-1 * * *"]),
    (_validate.is_cron5, ["30 3 * * *", "*/15 * * * MON-FRI", "@daily", "0 0 1 JAN ?"],
     ["0 30 3 * * *", "0 24 * * *", "30 3 * * *\n", "@every 1h", "0 3 * * 7", "60 3 * * *"]),
    (_validate.is_email, ["postmaster@example.org"], ["postmaster", "a b@example.org", "a@b@example.org", "a@localhost"]),
    (_validate.is_rfc3339, ["2026-11-25T08:00:00Z", "2026-11-25T08:00:00.5+01:00"], ["2026-11-25", "2026-11-25T08:00:00"]),
    (_validate.is_label_key, ["app.kubernetes.io/name", "release"], ["a b", "/x", "a/b/c", "x" * 64]),
    (_validate.is_label_value, ["", "v1.2", "kube-prometheus"], ["a b", "-x", "x" * 64, 1]),
])
def test_format_checks_match_the_whole_value(check, good, bad):
    assert [value for value in good if not check(value)] == []
    assert [value for value in bad if check(value)] == []


def test_as_int_takes_integers_and_their_text_only():
    assert [_validate.as_int(x) for x in (3, "3", " 4 ", "-2", True, 1.5, "3x", None)] == [3, 3, 4, -2, None, None, None, None]


def test_a_trailing_newline_is_not_part_of_a_valid_selector():
    with pytest.raises(ValueError, match="selector"):
        _validate.selector("s1-rsa\n", "selector")
