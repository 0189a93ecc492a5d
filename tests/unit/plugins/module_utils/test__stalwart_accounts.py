# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

import pathlib
import shutil
import subprocess

import pytest

from ansible_collections.openova.stalwart.plugins.module_utils import _jmap, _stalwart_schema
from ansible_collections.openova.stalwart.plugins.module_utils import _stalwart_accounts as accounts_lib
from ansible_collections.openova.stalwart.plugins.module_utils import _stalwart_plan as plan_lib

SCHEMA = pathlib.Path(__file__).resolve().parents[4].parent / "shared" / "stalwart" / "schema-0.16.18.json.gz"
DOMAINS = [{"name": "example.org"}, {"name": "example.net"}]
KEY = "install-key-0123456789"
PASSWORD = "correct horse battery staple"
SHA512_HASH = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"


@pytest.fixture(scope="module")
def schema():
    if not SCHEMA.exists():
        pytest.skip(f"{SCHEMA} not present")
    return _stalwart_schema.Schema.load(str(SCHEMA))


# ---------------------------------------------------------------- SHA-512-crypt


@pytest.mark.parametrize("password, salt, rounds, expected", [
    # Vectors of Drepper's "Unix crypt using SHA-256 and SHA-512" (the first three) and of glibc's crypt(3).
    ("Hello world!", "saltstring", 5000,
     "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"),
    ("Hello world!", "saltstringsaltstring", 10000,
     "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."),
    ("This is just a test", "toolongsaltstring", 5000,
     "$6$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0"),
    ("we have a short salt string but not a short password", "short", 5000,
     "$6$short$qmfj2meTBr5G2EAGIJ4vjX7RpefsD4JzpEyTAeEUJdzdxlBS6pe8gdMHm5zFftaFSj/2p2bjBwyVS9ZhWpLZt."),
    ("a short string", "asaltof16chars..", 5000,
     "$6$asaltof16chars..$7wIk/EteoJQGBfqJAOUMMifjJMKtc0g/q26LZ1LzIFeDWeRqAWXowoRgGvReDapVsNtCUqmTLhtUyVznQej6P0"),
])
def test_sha512_crypt_known_vectors(password, salt, rounds, expected):
    assert accounts_lib.sha512_crypt(password, salt, rounds) == expected
    assert accounts_lib.sha512_crypt_pure(password, salt, rounds) == expected


@pytest.mark.skipif(not accounts_lib._load_crypt_rn(), reason="no libxcrypt crypt_rn here")
@pytest.mark.parametrize("password", ["", "p", "correct horse battery staple", "ünïcödé-€", "x" * 130, "tab\tand\nnewline"])
@pytest.mark.parametrize("salt", ["saltstring", "s", "./AZaz09abcdefgh", "toolongsaltstring-cut", "Zz9"])
@pytest.mark.parametrize("rounds", [1000, 5000, 7777])
def test_libcrypt_gives_the_pure_implementation_s_hash(password, salt, rounds):
    fast = accounts_lib._libcrypt_sha512(password, salt, rounds)
    assert fast is not None and fast == accounts_lib.sha512_crypt_pure(password, salt, rounds)


def test_libcrypt_left_to_the_pure_implementation_where_it_would_differ(monkeypatch):
    assert accounts_lib._libcrypt_sha512("nul\0inside", "saltstring", 5000) is None
    assert accounts_lib._libcrypt_sha512("p", "bad*salt", 5000) is None
    assert accounts_lib.sha512_crypt("nul\0inside", "saltstring") == accounts_lib.sha512_crypt_pure("nul\0inside", "saltstring")
    monkeypatch.setattr(accounts_lib, "_crypt_rn", False)                       # no libxcrypt: the pure one
    assert accounts_lib.sha512_crypt("Hello world!", "saltstring") == SHA512_HASH


@pytest.mark.skipif(not shutil.which("openssl"), reason="openssl not installed")
@pytest.mark.parametrize("password", ["p", "correct horse battery staple", "ünïcödé-€", "x" * 130])
def test_sha512_crypt_matches_openssl(password):
    salt = accounts_lib.derive_salt(KEY, "alice@example.org")
    expected = subprocess.run(["openssl", "passwd", "-6", "-salt", salt, "-stdin"], input=password.encode(), capture_output=True,
                              check=True).stdout.decode().strip()
    assert accounts_lib.sha512_crypt(password, salt) == expected


def test_salt_is_deterministic_per_key_and_address():
    salt = accounts_lib.derive_salt(KEY, "alice@example.org")
    assert len(salt) == 16 and set(salt) <= set(accounts_lib._CRYPT64)
    assert salt == accounts_lib.derive_salt(KEY, "Alice@Example.org")
    assert salt != accounts_lib.derive_salt(KEY, "bob@example.org")
    assert salt != accounts_lib.derive_salt("another-key", "alice@example.org")


def test_hashed_replaces_the_password_and_is_stable():
    items = [{"name": "alice", "password": PASSWORD, "quota": "5GiB"}, {"name": "gone", "password": PASSWORD, "state": "absent"}]
    first = accounts_lib.hashed(items, DOMAINS, KEY)
    assert "password" not in first[0] and first[0]["password_hash"].startswith("$6$")
    assert first[0]["password_hash"] == accounts_lib.password_hash(PASSWORD, KEY, "alice@example.org")
    assert first == accounts_lib.hashed(items, DOMAINS, KEY)                      # no re-hash, same value
    assert PASSWORD not in repr(first[0])
    assert first[1] == items[1]                                                   # absent: left alone
    changed = accounts_lib.hashed([dict(items[0], password=PASSWORD + "!")], DOMAINS, KEY)
    assert changed[0]["password_hash"] != first[0]["password_hash"]
    with pytest.raises(ValueError):
        accounts_lib.hashed(items, DOMAINS, "")


# ---------------------------------------------------------------- hash cache

CACHE_KEY = "cache-key-9876543210"
ALICE_BOB = [{"name": "alice", "password": PASSWORD}, {"name": "bob", "domain": "example.net", "password": PASSWORD + " 2"}]


def hashes(accounts):
    return {item["name"]: item["password_hash"] for item in accounts}


def test_cache_miss_then_hit_gives_the_same_hashes():
    first, cache, count = accounts_lib.hashed_cached(ALICE_BOB, DOMAINS, KEY, CACHE_KEY, "")
    assert count == 2 and first == accounts_lib.hashed(ALICE_BOB, DOMAINS, KEY)
    assert PASSWORD not in cache and len(cache.splitlines()) == 3                 # the MAC line and an entry each
    again, cache_again, count = accounts_lib.hashed_cached(ALICE_BOB, DOMAINS, KEY, CACHE_KEY, cache)
    assert count == 0 and again == first and cache_again == cache
    # Read back without its last newline (Ansible's file lookup strips it): still whole.
    assert accounts_lib.hashed_cached(ALICE_BOB, DOMAINS, KEY, CACHE_KEY, cache.rstrip("\n"))[2] == 0


def test_a_changed_password_is_hashed_again_alone(monkeypatch):
    _first, cache, _count = accounts_lib.hashed_cached(ALICE_BOB, DOMAINS, KEY, CACHE_KEY, "")
    calls = []
    real = accounts_lib.sha512_crypt
    monkeypatch.setattr(accounts_lib, "sha512_crypt", lambda password, salt: calls.append(salt) or real(password, salt))
    rotated = [dict(ALICE_BOB[0], password="another one, long enough"), ALICE_BOB[1]]
    result, new_cache, count = accounts_lib.hashed_cached(rotated, DOMAINS, KEY, CACHE_KEY, cache)
    assert count == 1 and calls == [accounts_lib.derive_salt(KEY, "alice@example.org")]
    assert hashes(result) == hashes(accounts_lib.hashed(rotated, DOMAINS, KEY))
    assert hashes(result)["bob"] == hashes(_first)["bob"] and new_cache != cache


def test_a_removed_account_leaves_the_cache():
    _first, cache, _count = accounts_lib.hashed_cached(ALICE_BOB, DOMAINS, KEY, CACHE_KEY, "")
    _result, smaller, count = accounts_lib.hashed_cached(ALICE_BOB[:1], DOMAINS, KEY, CACHE_KEY, cache)
    assert count == 0 and len(smaller.splitlines()) == 2
    absent = [ALICE_BOB[0], dict(ALICE_BOB[1], state="absent")]
    assert accounts_lib.hashed_cached(absent, DOMAINS, KEY, CACHE_KEY, cache)[1] == smaller
    # Back with the same password: hashed again, to the same hash.
    back, _cache, count = accounts_lib.hashed_cached(ALICE_BOB, DOMAINS, KEY, CACHE_KEY, smaller)
    assert count == 1 and back == _first


@pytest.mark.parametrize("damage", [
    lambda text: "",
    lambda text: "not a cache at all",
    lambda text: text[:-5],                                                        # cut short
    lambda text: text.rpartition("\n")[0].rpartition("\n")[0],                  # an entry cut off
    lambda text: text.replace(text.splitlines()[1][30], "A" if text.splitlines()[1][30] != "A" else "B", 1),  # a flipped character
    lambda text: text + "AAAAAAAAAAAAAAAA " + "." * 86 + "\n",             # an entry added without the key
    lambda text: "v1 " + "0" * 64 + "\n" + text.partition("\n")[2],               # a wrong MAC
    lambda text: None,
    lambda text: {"not": "text"},
])
def test_a_damaged_cache_means_hashing_again_to_the_same_hashes(damage):
    first, cache, _count = accounts_lib.hashed_cached(ALICE_BOB, DOMAINS, KEY, CACHE_KEY, "")
    result, repaired, count = accounts_lib.hashed_cached(ALICE_BOB, DOMAINS, KEY, CACHE_KEY, damage(cache))
    assert count == 2 and result == first and repaired == cache


def test_another_key_means_hashing_again():
    first, cache, _count = accounts_lib.hashed_cached(ALICE_BOB, DOMAINS, KEY, CACHE_KEY, "")
    # The cache key lost and made anew: nothing in the cache is trusted.
    result, _new, count = accounts_lib.hashed_cached(ALICE_BOB, DOMAINS, KEY, "a new cache key", cache)
    assert count == 2 and result == first
    # Another salt key: other salts, so other hashes, never an old digest under a new salt.
    other, _new, count = accounts_lib.hashed_cached(ALICE_BOB, DOMAINS, "another salt key", CACHE_KEY, cache)
    assert count == 2 and other == accounts_lib.hashed(ALICE_BOB, DOMAINS, "another salt key")


def test_cache_off_hashes_every_time_and_keeps_nothing():
    first, cache, count = accounts_lib.hashed_cached(ALICE_BOB, DOMAINS, KEY, "", "")
    assert count == 2 and cache == "" and first == accounts_lib.hashed(ALICE_BOB, DOMAINS, KEY)
    _on, kept, _count = accounts_lib.hashed_cached(ALICE_BOB, DOMAINS, KEY, CACHE_KEY, "")
    assert accounts_lib.hashed_cached(ALICE_BOB, DOMAINS, KEY, "", kept)[2] == 2


def test_fingerprints_are_keyed_and_separate_accounts():
    salt = accounts_lib.derive_salt(KEY, "alice@example.org")
    fingerprint = accounts_lib.cache_fingerprint(CACHE_KEY, "alice@example.org", salt, PASSWORD)
    assert len(fingerprint) == 16
    assert fingerprint != accounts_lib.cache_fingerprint("other", "alice@example.org", salt, PASSWORD)
    assert fingerprint != accounts_lib.cache_fingerprint(CACHE_KEY, "bob@example.org", salt, PASSWORD)
    assert fingerprint != accounts_lib.cache_fingerprint(CACHE_KEY, "alice@example.org", salt, PASSWORD + "x")


def test_cache_stops_at_its_size(monkeypatch):
    monkeypatch.setattr(accounts_lib, "CACHE_MAX_BYTES", 250)                   # two entries of 104 bytes
    many = [{"name": f"user{n}", "password": f"{PASSWORD} {n}"} for n in range(4)]
    first, cache, count = accounts_lib.hashed_cached(many, DOMAINS, KEY, CACHE_KEY, "")
    assert count == 4 and len(cache.splitlines()) == 3
    again, _cache, count = accounts_lib.hashed_cached(many, DOMAINS, KEY, CACHE_KEY, cache)
    assert count == 2 and again == first


# ---------------------------------------------------------------- sizes


@pytest.mark.parametrize("value, expected", [
    ("5GiB", 5 * 1024 ** 3), ("500 MB", 500 * 1000 ** 2), ("1.5GiB", 3 * 1024 ** 3 // 2), ("2T", 2 * 1000 ** 4),
    (1073741824, 1073741824), ("1024", 1024), ("unlimited", None), (0, None), ("10kib", 10240),
])
def test_parse_size(value, expected):
    assert accounts_lib.parse_size(value) == expected


@pytest.mark.parametrize("value", ["5 gigs", "-1", -1, True, "GiB", [], "1.5"])
def test_parse_size_refuses(value):
    with pytest.raises(ValueError):
        accounts_lib.parse_size(value)


# ---------------------------------------------------------------- problems


@pytest.mark.parametrize("accounts, groups, lists, expected", [
    ([{"name": "alice", "password": PASSWORD}, {"name": "alice", "domain": "example.org", "password": PASSWORD}], [], [],
     r"stalwart_accounts\[1\]: alice@example.org is already used by stalwart_accounts\[0\]"),
    ([{"name": "alice", "password": PASSWORD}, {"name": "bob", "password": PASSWORD, "aliases": ["alice"]}], [], [],
     r"stalwart_accounts\[1\].aliases\[0\]: alice@example.org is already used by stalwart_accounts\[0\]"),
    ([{"name": "alice", "password": PASSWORD, "domain": "example.com"}], [], [],
     r"stalwart_accounts\[0\].domain: 'example.com' is not in stalwart_domains"),
    ([{"name": "alice", "password": PASSWORD, "aliases": ["a@example.com"]}], [], [],
     r"stalwart_accounts\[0\].aliases\[0\]: domain example.com of 'a@example.com' is not in stalwart_domains"),
    ([{"name": "alice", "password": PASSWORD, "quota": "lots"}], [], [], r"stalwart_accounts\[0\].quota: 'lots' is not a size"),
    ([{"name": "alice", "password": ""}], [], [], r"stalwart_accounts\[0\].password: required"),
    ([{"name": "alice", "password": "short"}], [], [], r"stalwart_accounts\[0\].password: too weak"),
    ([{"name": "alice", "password": "aaaaaaaaaaaaaaaa"}], [], [], r"stalwart_accounts\[0\].password: too weak"),
    ([{"name": "alice", "password": PASSWORD, "password_secret": {"name": "s", "key": "k"}}], [], [],
     r"stalwart_accounts\[0\]: set only one of password, password_secret"),
    ([{"name": "alice@example.org", "password": PASSWORD}], [], [], r"stalwart_accounts\[0\].name: 'alice@example.org' is not a local part"),
    ([{"name": "alice", "password": PASSWORD, "colour": "red"}], [], [], r"stalwart_accounts\[0\]: unknown key\(s\) colour"),
    ([{"name": "alice", "password": PASSWORD, "roles": ["root"]}], [], [], r"stalwart_accounts\[0\].roles"),
    ([{"name": "alice", "password": PASSWORD, "state": "gone"}], [], [], r"stalwart_accounts\[0\].state"),
    ([{"name": "alice", "password": PASSWORD}], [{"name": "alice"}], [], r"stalwart_groups\[0\]: alice@example.org is already used"),
    ([{"name": "alice", "password": PASSWORD}], [{"name": "team", "members": ["bob"]}], [],
     r"stalwart_groups\[0\].members\[0\]: bob@example.org is not an account of stalwart_accounts"),
    ([], [], [{"name": "list", "recipients": []}], r"stalwart_mailing_lists\[0\].recipients: expected a non-empty list"),
    ([], [], [{"name": "list", "recipients": ["nobody"]}], r"stalwart_mailing_lists\[0\].recipients\[0\]: 'nobody' is not an address"),
    ([{"name": "alice", "password": PASSWORD}, {"name": "alice", "state": "absent"}], [], [],
     r"stalwart_accounts\[1\]: alice@example.org is both absent here and present in stalwart_accounts\[0\]"),
    ([{"name": "alice", "password": PASSWORD, "password_hash": SHA512_HASH}], [], [],
     r"stalwart_accounts\[0\]: set only one of password, password_hash"),
    ([{"name": "alice", "password_hash": "Not-a-hash-at-all-1"}], [], [],
     r"stalwart_accounts\[0\].password_hash: not a password hash \(Stalwart would compare it as a plain password\)"),
])
def test_problems_name_the_variable_and_item(accounts, groups, lists, expected):
    found = accounts_lib.problems(accounts, groups, lists, DOMAINS)
    assert found and any(__import__("re").search(expected, p) for p in found), found


def test_no_problems_for_a_full_example():
    accounts = [{"name": "alice", "password": PASSWORD, "aliases": ["al", "alice@example.net"], "quota": "5GiB", "roles": ["admin"]},
                {"name": "bob", "domain": "example.net", "password_secret": {"name": "mail-passwords", "key": "bob"}},
                {"name": "carol", "password_hash": SHA512_HASH, "enabled": False},
                {"name": "old", "state": "absent"}]
    groups = [{"name": "team", "members": ["alice", "bob@example.net"], "quota": "unlimited"}]
    lists = [{"name": "news", "recipients": ["alice@example.org", "someone@elsewhere.example"], "aliases": ["info"]}]
    assert accounts_lib.problems(accounts, groups, lists, DOMAINS) == []


# ---------------------------------------------------------------- plan


def _full():
    accounts = accounts_lib.hashed([
        {"name": "alice", "password": PASSWORD, "aliases": ["al", "alice@example.net"], "quota": "5GiB", "roles": ["admin"],
         "description": "Alice"},
        {"name": "bob", "domain": "example.net", "password_secret": {"name": "mail-passwords", "key": "bob"}, "quota": "unlimited"},
        {"name": "carol", "password_env": "CAROL_PASSWORD", "enabled": False},
        {"name": "old", "state": "absent"}], DOMAINS, KEY)
    groups = [{"name": "team", "members": ["alice", "bob@example.net"]}, {"name": "former", "state": "absent"}]
    lists = [{"name": "news", "recipients": ["someone@elsewhere.example", "alice@example.org"], "aliases": ["info"]}]
    return accounts, groups, lists


def test_plan_maps_accounts_groups_and_lists():
    accounts, groups, lists = _full()
    ops, removals = accounts_lib.plan_ops(accounts, groups, lists, DOMAINS)
    assert [op["object"] for op in ops] == ["MemoryLookupKeyValue", "Account", "MailingList"]
    records, users, mailing = (op["value"] for op in ops)
    alice = users["account_alice_40_example_2e_org"]
    secret = accounts[0]["password_hash"]
    assert alice == {
        "@type": "User", "name": "alice", "domainId": "#domain_example_org", "description": "Alice",
        "aliases": {"0": {"name": "al", "domainId": "#domain_example_org", "enabled": True},
                    "1": {"name": "alice", "domainId": "#domain_example_net", "enabled": True}},
        "quotas": {"maxDiskQuota": 5 * 1024 ** 3},
        "credentials": {"0": {"@type": "Password", "secret": secret}},
        "@revision": "#revision_alice_40_example_2e_org",
        "memberGroupIds": {"#group_team_40_example_2e_org": True},
        "roles": {"@type": "Admin"},
        "permissions": {"@type": "Inherit"},
    }
    assert records["revision_alice_40_example_2e_org"] == {"namespace": accounts_lib.REVISION_NAMESPACE, "key": "alice@example.org",
                                                           "value": accounts_lib.revision(secret), "isGlobPattern": False}
    # A password from a Secret: hashed by the applier, which holds its value and the key (resolve_hash_refs).
    bob = users["account_bob_40_example_2e_net"]
    assert bob["credentials"]["0"]["secret"] == {"@hash": "STALWART_SECRET_MAIL_PASSWORDS_BOB"} and bob["quotas"] == {}
    assert bob["@revision"] == "#revision_bob_40_example_2e_net"
    assert records["revision_bob_40_example_2e_net"]["value"] == {"@hash": "STALWART_SECRET_MAIL_PASSWORDS_BOB"}
    carol = users["account_carol_40_example_2e_org"]
    assert carol["permissions"] == {"@type": "Merge", "enabledPermissions": {}, "disabledPermissions": {"authenticate": True}}
    assert "quotas" not in carol and "roles" not in carol
    # Groups come first in the one Account operation: the members refer to them.
    assert list(users)[0] == "group_team_40_example_2e_org"
    assert users["group_team_40_example_2e_org"]["@type"] == "Group"
    assert mailing == {"list_news_40_example_2e_org": {
        "name": "news", "domainId": "#domain_example_org", "description": None,
        "aliases": {"0": {"name": "info", "domainId": "#domain_example_org", "enabled": True}},
        "recipients": {"alice@example.org": True, "someone@elsewhere.example": True}}}
    assert removals == [
        {"object": "Account", "scope": {"name": "former", "domainId": "#domain_example_org"}},
        {"object": "Account", "scope": {"name": "old", "domainId": "#domain_example_org"}},
        {"object": "MemoryLookupKeyValue", "scope": {"namespace": accounts_lib.REVISION_NAMESPACE, "key": "old@example.org"}},
    ]


def test_plan_refuses_plain_passwords_and_bad_input():
    with pytest.raises(ValueError, match=r"accounts\[0\].password: plain passwords must be hashed first"):
        accounts_lib.plan_ops([{"name": "alice", "password": PASSWORD}], [], [], DOMAINS)
    with pytest.raises(ValueError, match=r"accounts\[0\].domain: 'other.org' is not in stalwart_domains"):
        accounts_lib.plan_ops([{"name": "alice", "domain": "other.org", "password_env": "X"}], [], [], DOMAINS)


def test_plan_objects_fit_the_schema(schema):
    accounts, groups, lists = _full()
    ops, _removals = accounts_lib.plan_ops(accounts, groups, lists, DOMAINS)
    # As the applier sends them: the passwords from Secrets hashed.
    ops = accounts_lib.resolve_hash_refs(ops, {"STALWART_SECRET_MAIL_PASSWORDS_BOB": PASSWORD}, KEY)
    for op in ops:
        for key, value in op["value"].items():
            value = {k: v for k, v in value.items() if k != accounts_lib.REVISION}
            assert schema.check(op["object"], value) == [], (key, schema.check(op["object"], value))
            patch = {k: v for k, v in value.items() if k not in op["matchOn"] or k == "@type"}
            assert schema.check(op["object"], patch, update=True, current_variant=value.get("@type")) == [], key


def test_build_puts_them_in_the_settings_plan():
    accounts, groups, lists = _full()
    rendered = plan_lib.build(dict(hostname="mail.example.org", domains=DOMAINS, data_store={"host": "db"},
                                   blob_store={"type": "data_store"}, accounts=accounts, groups=groups, mailing_lists=lists))
    objects = [op["object"] for op in rendered.plan]
    assert objects[-3:] == ["MemoryLookupKeyValue", "Account", "MailingList"]
    assert rendered.summary["Account"] == 4 and rendered.summary["MailingList"] == 1
    assert rendered.reconcile[1] == {"object": "Account", "scope": {"name": "old", "domainId": "#domain_example_org"}}
    text = plan_lib.plan_ndjson(rendered.plan)
    assert PASSWORD not in text and accounts[0]["password_hash"] in text


# ---------------------------------------------------------------- the reconciler and the revision record


class _Masking:
    """Wrap the unit tests' fake server so that secrets read back as ``****``, as Stalwart answers."""

    def __init__(self):
        from test__jmap import FakeStalwart  # pylint: disable=import-outside-toplevel
        self.fake = FakeStalwart()

    def __call__(self, method, url, body, headers, timeout):
        status, data, extra = self.fake(method, url, body, headers, timeout)
        text = data.decode()
        for value in self.fake.store.get("x:Account", {}).values():
            for credential in (value.get("credentials") or {}).values():
                if isinstance(credential.get("secret"), str) and credential["secret"] != "****":
                    text = text.replace(f'"secret": "{credential["secret"]}"', '"secret": "****"')
        return status, text.encode(), extra


def test_password_is_sent_only_when_it_changes(monkeypatch):
    monkeypatch.syspath_prepend(str(pathlib.Path(__file__).parent))
    server = _Masking()

    def run(password, quota="5GiB"):
        items = accounts_lib.hashed([{"name": "alice", "password": password, "quota": quota}], DOMAINS, KEY)
        ops, _removals = accounts_lib.plan_ops(items, [], [], DOMAINS)
        plan = [{"@type": "upsert", "object": "Domain", "matchOn": ["name"],
                 "value": {"domain_example_org": {"name": "example.org"}, "domain_example_net": {"name": "example.net"}}}] + ops
        server.fake.set_calls.clear()
        result = _jmap.apply(_jmap.Client("http://stalwart:8080", "admin", "pw", server, backoff=0), plan)
        return result, list(server.fake.set_calls)

    first, _calls = run(PASSWORD)
    assert first["changes"]["Account"]["create"] == 1
    stored = next(iter(server.fake.store["x:Account"].values()))
    assert stored["credentials"]["0"]["secret"] == accounts_lib.password_hash(PASSWORD, KEY, "alice@example.org")
    again, calls = run(PASSWORD)
    assert again["changed"] is False and calls == []
    quota, calls = run(PASSWORD, "6GiB")
    assert [c[0] for c in calls] == ["x:Account"] and "credentials" not in next(iter(calls[0][1]["update"].values()))
    rotated, calls = run(PASSWORD + " v2", "6GiB")
    assert rotated["changes"] == {"MemoryLookupKeyValue": {"create": 0, "update": 1, "destroy": 0},
                                  "Account": {"create": 0, "update": 1, "destroy": 0}}
    patch = next(iter(calls[1][1]["update"].values()))
    assert set(patch) == {"credentials"}
    assert stored["credentials"]["0"]["secret"] == accounts_lib.password_hash(PASSWORD + " v2", KEY, "alice@example.org")
    assert rotated["diff"]["after"]["Account name=alice, domainId=" + next(iter(server.fake.store["x:Domain"]))]["credentials"]["0"]["secret"] == "********"
    settled, calls = run(PASSWORD + " v2", "6GiB")
    assert settled["changed"] is False and calls == []


def test_reconcile_report_lists_without_deleting(monkeypatch):
    monkeypatch.syspath_prepend(str(pathlib.Path(__file__).parent))
    from test__jmap import FakeStalwart  # pylint: disable=import-outside-toplevel
    fake = FakeStalwart()
    fake.store["x:Account"] = {"a1": {"@type": "User", "name": "stray", "emailAddress": "stray@example.org", "domainId": "d"}}
    client = _jmap.Client("http://stalwart:8080", "admin", "pw", fake, backoff=0)
    result = _jmap.apply(client, [], reconcile=[{"object": "Account", "report": True}])
    assert result["unmanaged"] == ["Account emailAddress=stray@example.org"] and result["changed"] is False
    assert "a1" in fake.store["x:Account"]
    # A scope naming a plan object the server lacks matches nothing (and deletes nothing).
    result = _jmap.apply(client, [], reconcile=[{"object": "Account", "scope": {"domainId": "#domain_none"}}])
    assert result["changed"] is False and "a1" in fake.store["x:Account"]


def _plan(items):
    ops, _removals = accounts_lib.plan_ops(items, [], [], DOMAINS)
    return [{"@type": "upsert", "object": "Domain", "matchOn": ["name"],
             "value": {"domain_example_org": {"name": "example.org"}, "domain_example_net": {"name": "example.net"}}}] + ops


def test_split_hashes_keeps_them_out_of_the_plan():
    items = accounts_lib.hashed([{"name": "alice", "password": PASSWORD}, {"name": "dave", "password_env": "DAVE"}], DOMAINS, KEY)
    ops = _plan(items)
    split, secrets = accounts_lib.split_hashes(ops)
    secret = items[0]["password_hash"]
    assert secrets == {"STALWART_HASH_account_alice_40_example_2e_org": secret}
    text = plan_lib.plan_ndjson(split)
    assert secret not in text and "$6$" not in text
    users = split[-1]["value"]
    assert users["account_alice_40_example_2e_org"]["credentials"]["0"]["secret"] == {"@env": "STALWART_HASH_account_alice_40_example_2e_org"}
    assert users["account_dave_40_example_2e_org"]["credentials"]["0"]["secret"] == {"@env": "DAVE"}
    # The revision record stays in the plan (a digest, no hash), and the input is left as it was.
    assert split[1] == ops[1] and ops[-1]["value"]["account_alice_40_example_2e_org"]["credentials"]["0"]["secret"] == secret


def test_resolve_hash_refs_hashes_as_apply_mode_does():
    ops = _plan([{"name": "bob", "domain": "example.net", "password_secret": {"name": "mail-passwords", "key": "bob"}}])
    assert accounts_lib.hash_refs(ops) == {"STALWART_SECRET_MAIL_PASSWORDS_BOB"}
    resolved = accounts_lib.resolve_hash_refs(ops, {"STALWART_SECRET_MAIL_PASSWORDS_BOB": PASSWORD}, KEY)
    # The same hash and revision as a plain password of the same value hashed by account_hashes_cached in apply mode.
    expected = _plan(accounts_lib.hashed([{"name": "bob", "domain": "example.net", "password": PASSWORD}], DOMAINS, KEY))
    assert resolved == expected
    assert accounts_lib.hash_refs(resolved) == set() and accounts_lib.resolve_hash_refs(resolved, {}, None) == resolved
    with pytest.raises(ValueError, match="STALWART_ACCOUNT_KEY is not set"):
        accounts_lib.resolve_hash_refs(ops, {"STALWART_SECRET_MAIL_PASSWORDS_BOB": PASSWORD}, "")
    with pytest.raises(ValueError, match="STALWART_SECRET_MAIL_PASSWORDS_BOB not found"):
        accounts_lib.resolve_hash_refs(ops, {}, KEY)


def test_password_secret_refs_may_not_collide():
    found = accounts_lib.problems([{"name": "a", "password_secret": {"name": "x-y", "key": "z"}},
                                   {"name": "b", "password_secret": {"name": "x", "key": "y.z"}},
                                   {"name": "c", "password_secret": {"name": "x-y", "key": "z"}}], [], [], DOMAINS)
    assert found == ["stalwart_accounts[1].password_secret: x/y.z and x-y/z of stalwart_accounts[0] both map to STALWART_SECRET_X_Y_Z;"
                     " rename the Secret or its key"]


def test_split_hash_refs_are_sent_only_when_the_password_changes(monkeypatch):
    """The render-mode plan (hashes as secret references) converges as the inline plan does: re-run writes nothing."""
    monkeypatch.syspath_prepend(str(pathlib.Path(__file__).parent))
    server = _Masking()

    def run(password):
        split, secrets = accounts_lib.split_hashes(_plan(accounts_lib.hashed([{"name": "alice", "password": password}], DOMAINS, KEY)))
        server.fake.set_calls.clear()
        result = _jmap.apply(_jmap.Client("http://stalwart:8080", "admin", "pw", server, backoff=0), split, secrets=secrets)
        return result, list(server.fake.set_calls)

    run(PASSWORD)
    stored = next(iter(server.fake.store["x:Account"].values()))
    assert stored["credentials"]["0"]["secret"] == accounts_lib.password_hash(PASSWORD, KEY, "alice@example.org")
    again, calls = run(PASSWORD)
    assert again["changed"] is False and calls == []
    _rotated, calls = run(PASSWORD + " v2")
    assert [c[0] for c in calls] == ["x:MemoryLookupKeyValue", "x:Account"]
    assert stored["credentials"]["0"]["secret"] == accounts_lib.password_hash(PASSWORD + " v2", KEY, "alice@example.org")
    settled, calls = run(PASSWORD + " v2")
    assert settled["changed"] is False and calls == []


@pytest.mark.parametrize("value", [
    # openssl passwd -6 / -5 and the rounds= form (Drepper's vector)
    "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
    "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.",
    "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZF7b4aEj/",
    # bcrypt (OpenBSD's test vector form) and the Argon2 reference implementation's PHC strings
    "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
    "$2y$10$abcdefghijklmnopqrstuu5Pnm2R0hs4t8DSsB1v0S3WrbVqVaXGm",
    "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
    "$pbkdf2-sha256$i=600000,l=32$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
    "$scrypt$ln=17,r=8,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
])
def test_hash_problem_accepts_strong_hashes(value):
    assert accounts_lib.hash_problem(value) is None


@pytest.mark.parametrize("value, expected", [
    ("$1$saltsalt$ZSxeo3HzRyXCAgo2j9UBP/", "MD5-crypt is too weak"),
    ("{SSHA}c29tZXNhbHQ=", "unsalted or prefixed digest"),
    ("_J9..CCCCXBrJUJV154M", "DES-crypt is too weak"),
    ("$6$saltstring$tooshort", "not a well-formed password hash"),
    ("$2b$03$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", "not a well-formed"),  # cost below 4
    ("$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1\n", "not a well-formed"),
    ("correct horse battery staple", "Stalwart would compare it as a plain password"),
    ("", "expected a password hash"),
    (42, "expected a password hash"),
])
def test_hash_problem_refuses(value, expected):
    problem = accounts_lib.hash_problem(value)
    assert problem and expected in problem
    assert str(value)[:12] not in problem or not str(value)  # the message never repeats the value


def test_a_given_hash_is_planned_as_it_is():
    given = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"
    items = accounts_lib.hashed([{"name": "alice", "password_hash": given}], DOMAINS, KEY)
    assert items == [{"name": "alice", "password_hash": given}]
    ops = _plan(items)
    assert ops[-1]["value"]["account_alice_40_example_2e_org"]["credentials"]["0"]["secret"] == given
    assert ops[1]["value"]["revision_alice_40_example_2e_org"]["value"] == accounts_lib.revision(given)


def test_disabled_account_loses_the_authenticate_permission(schema):
    """Stalwart 0.16 has no enabled flag on x:Account: a login passes only with the effective ``authenticate``
    permission (Server::authenticate asserts it), and a permission in ``disabledPermissions`` overrides any role."""
    import gzip  # pylint: disable=import-outside-toplevel
    import json  # pylint: disable=import-outside-toplevel

    with gzip.open(SCHEMA, "rt", encoding="utf-8") as handle:
        raw = json.load(handle)
    user = raw["fields"]["x:UserAccount"]["properties"]
    assert not {"enabled", "disabled", "active", "locked"} & set(user) and "permissions" in user
    assert "precedence" in raw["fields"]["x:PermissionsList"]["properties"]["disabledPermissions"]["description"]
    permissions = {v["name"]: v["label"] for v in raw["enums"]["Permission"]}
    assert permissions["authenticate"] == "Sign in to the server"
    ops, _removals = accounts_lib.plan_ops([{"name": "on", "password_hash": SHA512_HASH},
                                            {"name": "off", "password_hash": SHA512_HASH, "enabled": False}], [], [], DOMAINS)
    users = ops[-1]["value"]
    off = users["account_off_40_example_2e_org"]["permissions"]
    assert off == {"@type": "Merge", "enabledPermissions": {}, "disabledPermissions": {"authenticate": True}}
    assert users["account_on_40_example_2e_org"]["permissions"] == {"@type": "Inherit"}
    assert schema.check("Account", {"@type": "User", "permissions": off}, update=True, current_variant="User") == []
    # Enabled again: the variant switch back to Inherit is a valid update too.
    assert schema.check("Account", {"permissions": {"@type": "Inherit"}}, update=True, current_variant="User") == []


def test_smoke_login_names_a_present_account_with_a_password():
    accounts = [{"name": "alice", "password": PASSWORD}, {"name": "bob", "domain": "example.net",
                                                          "password_secret": {"name": "s", "key": "bob"}},
                {"name": "carol", "password_hash": SHA512_HASH}, {"name": "old", "state": "absent"}]
    assert accounts_lib.smoke_login("alice", accounts, DOMAINS) == (0, None)
    assert accounts_lib.smoke_login("Alice@Example.org", accounts, DOMAINS) == (0, None)
    assert accounts_lib.smoke_login("bob@example.net", accounts, DOMAINS) == (1, None)
    assert accounts_lib.smoke_login("bob", accounts, DOMAINS)[1] == \
        "stalwart_smoke_login: bob@example.org is not an account of stalwart_accounts (state present)"
    assert "has no password the smoke test could log in with" in accounts_lib.smoke_login("carol", accounts, DOMAINS)[1]
    assert "is not an account" in accounts_lib.smoke_login("old", accounts, DOMAINS)[1]
