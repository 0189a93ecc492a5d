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
