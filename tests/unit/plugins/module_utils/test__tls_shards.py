# -*- coding: utf-8 -*-
from __future__ import annotations

import pytest

from ansible_collections.openova.stalwart.plugins.module_utils import _tls_shards as T
from ansible_collections.openova.stalwart.plugins.module_utils._dns_records import WEB_LABELS


def doms(n, start=0):
    return [f"d{i:04d}.test" for i in range(start, start + n)]


def by_name(plan):
    return {cert["name"]: cert["hosts"] for cert in [plan["mail"]] + plan["web"]}


def test_few_domains_one_web_shard():
    plan = T.certificates("Mail.Example.com", ["example.com"], ["extra.example.net"], name="s", secret_name="s-tls")
    assert plan["mail"] == {"name": "s", "secret": "s-tls", "hosts": ["mail.example.com"]}
    assert plan["web"] == [{"name": "s-web", "secret": "s-tls-web", "hosts": sorted(
        ["mta-sts.example.com", "autoconfig.example.com", "autodiscover.example.com", "extra.example.net"])}]
    assert plan["tls"][0] == {"hosts": ["mail.example.com"], "secretName": "s-tls"}
    assert plan["tls"][1]["secretName"] == "s-tls-web"


@pytest.mark.parametrize("count", [1, 33, 34, 300, 1000])
def test_every_name_once_and_at_most_max(count):
    domains = doms(count)
    plan = T.certificates("mail.test", domains, ["www.test", "autoconfig.d0000.test"], name="s", secret_name="t")
    wanted = {"mail.test", "www.test"} | {f"{label}.{d}" for d in domains for label in WEB_LABELS}
    names = [h for cert in [plan["mail"]] + plan["web"] for h in cert["hosts"]]
    assert sorted(names) == sorted(wanted)  # each exactly once
    assert sorted(plan["hosts"]) == sorted(wanted)
    assert all(len(cert["hosts"]) <= 100 for cert in plan["web"])
    assert len({cert["name"] for cert in plan["web"]}) == len(plan["web"])
    # all three names of a domain share one certificate
    where = {h: cert["name"] for cert in plan["web"] for h in cert["hosts"]}
    assert all(len({where[f"{label}.{d}"] for label in WEB_LABELS}) == 1 for d in domains)


def test_300_domains_need_several_certificates():
    plan = T.certificates("mail.test", doms(300), name="s", secret_name="t")
    assert len(plan["web"]) >= 9  # 900 names, 99 per certificate at most (three per domain)


@pytest.mark.parametrize("count", [30, 299, 300, 1000])
def test_adding_a_domain_changes_at_most_one_existing_certificate(count):
    for extra in range(20):
        before = by_name(T.certificates("mail.test", doms(count), name="s", secret_name="t"))
        after = by_name(T.certificates("mail.test", doms(count) + [f"new{extra}.test"], name="s", secret_name="t"))
        changed = [n for n in before if before[n] != after.get(n)]
        created = [n for n in after if n not in before]
        assert len(changed) <= 1, (changed, created)
        assert len(created) <= 1
        assert not created or changed  # a new shard only comes from splitting a changed one


@pytest.mark.parametrize("count", [34, 300])
def test_removing_a_domain_changes_at_most_one_remaining_certificate(count):
    domains = doms(count)
    for index in range(0, count, max(1, count // 15)):
        before = by_name(T.certificates("mail.test", domains, name="s", secret_name="t"))
        after = by_name(T.certificates("mail.test", domains[:index] + domains[index + 1:], name="s", secret_name="t"))
        changed = [n for n in after if before.get(n) != after[n]]
        gone = [n for n in before if n not in after]
        assert len(changed) <= 1 and len(gone) <= 1


def test_order_of_input_does_not_matter():
    domains = doms(200)
    assert T.certificates("m.test", domains, name="s", secret_name="t") == \
        T.certificates("m.test", list(reversed(domains)), name="s", secret_name="t")


def test_shard_id_names_are_prefix_free():
    assert T.shard_id("") == T.shard_id("000") == "web"
    assert T.shard_id("01") == "web-01" and T.shard_id("010") == "web-01"
    assert T.shard_id("1") == "web-1"


def test_max_names_smaller():
    plan = T.certificates("m.test", doms(50), name="s", secret_name="t", max_names=10)
    assert all(len(c["hosts"]) <= 10 for c in plan["web"])
    with pytest.raises(ValueError, match="max_names"):
        T.web_shards(doms(2), max_names=2)
    with pytest.raises(ValueError, match="max_names"):
        T.web_shards(doms(2), max_names=True)


def test_mail_host_is_not_in_a_web_shard():
    plan = T.certificates("autoconfig.example.com", ["example.com"], name="s", secret_name="t")
    assert plan["web"][0]["hosts"] == ["autodiscover.example.com", "mta-sts.example.com"]


def test_bad_input():
    with pytest.raises(ValueError, match="domains"):
        T.web_shards("example.com")
    with pytest.raises(ValueError, match="hostname"):
        T.certificates("", [], name="s", secret_name="t")
    assert T.web_shards([]) == []
