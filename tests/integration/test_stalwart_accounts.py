# -*- coding: utf-8 -*-
"""Accounts, groups and mailing lists from variables, through ansible-playbook: apply mode against the Kubernetes
API and Stalwart JMAP test servers (create, re-run writes nothing, change a quota, add an alias, rotate a password,
remove with state absent, report what the variables do not list) and render mode (the plan names the hashes, a
Secret under secrets/ holds them); bad
input is refused in preflight before anything is written. No password ever appears in the output or the render."""

from __future__ import annotations

import base64
import importlib.util
import json
import pathlib

import yaml

from fakes.ansible import run_playbook
from test_stalwart_role_apply import BASE_VARS, converge, converged_servers, ok

_ACCOUNTS_MODULE = pathlib.Path(__file__).resolve().parents[2] / "plugins" / "module_utils" / "_stalwart_accounts.py"
_SPEC = importlib.util.spec_from_file_location("_stalwart_accounts_for_tests", _ACCOUNTS_MODULE)
accounts_lib = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(accounts_lib)

ALICE = "Alice-pass-7Qw2-zX9"
ALICE_NEW = "Alice-rotated-8Rt3-yY0"
BOB = "Bob-secret-4Kp9-vN1"
ACCOUNTS = [
    {"name": "alice", "password": ALICE, "quota": "5GiB", "aliases": ["al"], "description": "Alice"},
    {"name": "bob", "domain": "example.net", "password_secret": {"name": "mail-passwords", "key": "bob"}},
]
GROUPS = [{"name": "team", "members": ["alice", "bob@example.net"]}]
LISTS = [{"name": "news", "recipients": ["alice@example.org", "friend@elsewhere.example"]}]


def variables(accounts=None, **extra):
    return {"stalwart_accounts": ACCOUNTS if accounts is None else accounts, "stalwart_groups": GROUPS,
            "stalwart_mailing_lists": LISTS, **extra}


def seed_bob(kube):
    kube.seed({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "mail-passwords", "namespace": "mail"},
               "stringData": {"bob": BOB}})


def account_key(kube) -> str:
    data = kube.get("Secret", "stalwart-credentials", "mail")["data"]
    return base64.b64decode(data["STALWART_ACCOUNT_KEY"]).decode()


def stored(jmap) -> dict[str, dict]:
    """Accounts and lists by address, with their secrets as stored (the test server keeps them unmasked)."""
    domains = {d["id"]: d["name"] for d in jmap.objects("Domain")}
    found = {}
    for obj in ("Account", "MailingList"):
        for value in jmap.objects(obj):
            found[f"{value['name']}@{domains[value['domainId']]}"] = value
    return found


def account_writes(jmap, since: int) -> list[tuple[str, dict]]:
    return [(obj, args) for obj, args in jmap.set_log[since:] if obj in ("x:Account", "x:MailingList", "x:MemoryLookupKeyValue")]


def test_accounts_converge_and_rerun_writes_nothing(tmp_path, session_cache, shared_dir, kube_factory, jmap_server):
    kube, jmap, _first = converged_servers(session_cache, shared_dir, kube_factory, jmap_server)
    seed_bob(kube)
    first = ok(converge(tmp_path / "run1", kube, jmap, variables()))
    key = account_key(kube)
    objects = stored(jmap)
    alice, bob, team, news = (objects[a] for a in ("alice@example.org", "bob@example.net", "team@example.org", "news@example.org"))
    assert alice["@type"] == "User" and alice["quotas"] == {"maxDiskQuota": 5 * 1024 ** 3} and alice["description"] == "Alice"
    assert [a["name"] for a in alice["aliases"].values()] == ["al"]
    # Stored only as the SHA-512-crypt hash, the same one the filter computes from the kept key.
    assert alice["credentials"]["0"]["secret"] == accounts_lib.password_hash(ALICE, key, "alice@example.org")
    assert bob["credentials"]["0"]["secret"] == accounts_lib.password_hash(BOB, key, "bob@example.net")
    assert team["@type"] == "Group" and set(alice["memberGroupIds"]) == set(bob["memberGroupIds"]) == {team["id"]}
    assert set(news["recipients"]) == {"alice@example.org", "friend@elsewhere.example"}
    for secret in (ALICE, BOB):
        assert secret not in first.stdout and secret not in first.stderr

    since = len(jmap.set_log)
    again = ok(converge(tmp_path / "run2", kube, jmap, variables()))
    assert account_writes(jmap, since) == [] and again.changed == 0, account_writes(jmap, since)
    # The hashes came from the hash cache Secret (the password from a Secret too).
    assert "2 account passwords hashed" in first.stdout and "0 account passwords hashed" in again.stdout
    assert len(base64.b64decode(kube.get("Secret", "stalwart-account-cache", "mail")["data"]["cache"]).splitlines()) == 3

    # A new quota and a new alias: one Account update, and no password in it.
    since = len(jmap.set_log)
    changed = [dict(ACCOUNTS[0], quota="6GiB", aliases=["al", "alice@example.net"]), ACCOUNTS[1]]
    ok(converge(tmp_path / "run3", kube, jmap, variables(changed)))
    writes = account_writes(jmap, since)
    assert [obj for obj, _args in writes] == ["x:Account"], writes
    patch = writes[0][1]["update"][alice["id"]]
    assert set(patch) == {"quotas", "aliases"} and patch["quotas"] == {"maxDiskQuota": 6 * 1024 ** 3}
    assert sorted(a["name"] for a in stored(jmap)["alice@example.org"]["aliases"].values()) == ["al", "alice"]

    # A rotated password: its revision record and the credential, nothing else.
    since = len(jmap.set_log)
    rotated = [dict(changed[0], password=ALICE_NEW), ACCOUNTS[1]]
    result = ok(converge(tmp_path / "run4", kube, jmap, variables(rotated)))
    writes = account_writes(jmap, since)
    assert [obj for obj, _args in writes] == ["x:MemoryLookupKeyValue", "x:Account"], writes
    assert set(writes[1][1]["update"][alice["id"]]) == {"credentials"}
    assert stored(jmap)["alice@example.org"]["credentials"]["0"]["secret"] == accounts_lib.password_hash(ALICE_NEW, key, "alice@example.org")
    assert ALICE_NEW not in result.stdout and "1 account passwords hashed" in result.stdout
    since = len(jmap.set_log)
    ok(converge(tmp_path / "run5", kube, jmap, variables(rotated)))
    assert account_writes(jmap, since) == []

    # Dropped from the list: reported, kept. State absent: removed (its group membership goes with it).
    since = len(jmap.set_log)
    dropped = ok(converge(tmp_path / "run6", kube, jmap, {"stalwart_accounts": [rotated[0]], "stalwart_groups": [], "stalwart_mailing_lists": LISTS}))
    assert "bob@example.net" in stored(jmap) and "team@example.org" in stored(jmap)
    # Reported by address (the test server sets no emailAddress, so by name here).
    assert "left alone" in dropped.stdout and "Account name=bob" in dropped.stdout and "Account name=team" in dropped.stdout
    assert not [args for obj, args in account_writes(jmap, since) if "destroy" in args and obj == "x:Account"]
    absent = [rotated[0], {"name": "bob", "domain": "example.net", "state": "absent"}]
    gone = {"stalwart_accounts": absent, "stalwart_groups": [{"name": "team", "state": "absent"}], "stalwart_mailing_lists": LISTS}
    ok(converge(tmp_path / "run7", kube, jmap, gone))
    assert set(stored(jmap)) == {"alice@example.org", "news@example.org", "smoke@example.org"}
    again = ok(converge(tmp_path / "run8", kube, jmap, gone))
    assert again.changed == 0


def test_bad_accounts_refused_before_any_write(tmp_path, jmap_server, kube_factory):
    kube = kube_factory()
    bad = [{"name": "alice", "password": ALICE}, {"name": "bob", "password": "short", "aliases": ["alice"], "quota": "lots"},
           {"name": "carol", "domain": "example.com", "password": ALICE}, {"name": "dave", "password_hash": "Plain-text-not-hash1"},
           {"name": "erin", "password_hash": "$1$saltsalt$ZSxeo3HzRyXCAgo2j9UBP/"}]
    result = converge(tmp_path / "run", kube, jmap_server, variables(bad))
    assert result.rc != 0
    for message in ("stalwart_accounts[1].password: too weak", "stalwart_accounts[1].aliases[0]: alice@example.org is already used",
                    "stalwart_accounts[1].quota: 'lots' is not a size", "stalwart_accounts[2].domain: 'example.com' is not in stalwart_domains",
                    "stalwart_accounts[3].password_hash: not a password hash", "stalwart_accounts[4].password_hash: MD5-crypt is too weak"):
        assert message in result.stdout, result.stdout[-4000:]
    assert kube.counters()["writes"] == 0 and jmap_server.set_calls == 0
    assert ALICE not in result.stdout and "Plain-text-not-hash1" not in result.stdout


def test_render_plans_hashes_only(tmp_path):
    render_dir = tmp_path / "render"
    accounts = {"stalwart_accounts": [ACCOUNTS[0]], "stalwart_groups": [{"name": "team", "members": ["alice"]}],
                "stalwart_mailing_lists": LISTS}
    play = [{"hosts": "localhost", "gather_facts": False, "vars": {**BASE_VARS, **accounts},
             "roles": ["openova.stalwart.stalwart"]}]
    extra_vars = {"openova_stalwart_mode": "render", "openova_stalwart_render_dir": str(render_dir)}
    first = ok(run_playbook(play, tmp_path / "run1", extra_vars=extra_vars))
    plan = [json.loads(line) for line in (render_dir / "stalwart" / "plan.ndjson").read_text().splitlines()]
    accounts = next(op for op in plan if op["object"] == "Account")["value"]
    # The plan names the hash; the settings Secret under secrets/ holds it.
    ref = accounts["account_alice_40_example_2e_org"]["credentials"]["0"]["secret"]
    assert ref == {"@env": "STALWART_HASH_account_alice_40_example_2e_org"}
    [holding] = [p for p in (render_dir / "secrets").rglob("*.yaml") if "STALWART_HASH_account_alice" in p.read_text()]
    secret = yaml.safe_load(holding.read_text())["stringData"]["STALWART_HASH_account_alice_40_example_2e_org"]
    assert secret.startswith("$6$")
    assert [p for p in render_dir.rglob("*") if p.is_file() and secret in p.read_text(errors="replace")] == [holding]
    assert ALICE not in first.stdout
    for path in render_dir.rglob("*"):
        if path.is_file():
            assert ALICE not in path.read_text(errors="replace"), path
    again = ok(run_playbook(play, tmp_path / "run2", extra_vars=extra_vars))
    assert again.changed == 0
    assert holding.read_text().count(secret) == 1


def test_hash_cache_hashes_only_what_changed(tmp_path):
    render_dir = tmp_path / "render"
    carol = {"name": "carol", "password": "Carol-pass-3Jk8-wQ5"}
    extra_vars = {"openova_stalwart_mode": "render", "openova_stalwart_render_dir": str(render_dir)}

    def run(name, accounts, check=False, **more):
        play = [{"hosts": "localhost", "gather_facts": False,
                 "vars": {**BASE_VARS, "stalwart_accounts": accounts, "stalwart_groups": [], "stalwart_mailing_lists": [], **more},
                 "roles": ["openova.stalwart.stalwart"]}]
        return ok(run_playbook(play, tmp_path / name, extra_vars=extra_vars, check=check))

    def hashes():
        [doc] = [yaml.safe_load(p.read_text()) for p in (render_dir / "secrets").rglob("*.yaml") if "STALWART_HASH_account" in p.read_text()]
        return doc["stringData"]

    cache_file = render_dir / "secrets" / "stalwart" / "mail-stalwart-account-cache.yaml"

    def cache():
        return yaml.safe_load(cache_file.read_text())["stringData"]["cache"]

    # Check mode hashes and writes nothing, the cache included.
    checked = run("check", [ACCOUNTS[0], carol], check=True)
    assert "2 account passwords hashed" in checked.stdout and not cache_file.exists()
    first = run("run1", [ACCOUNTS[0], carol])
    assert "2 account passwords hashed" in first.stdout
    assert oct(cache_file.stat().st_mode & 0o777) == "0o600"
    entries = cache().splitlines()[1:]
    assert len(entries) == 2 and ALICE not in cache_file.read_text() and carol["password"] not in cache_file.read_text()
    before = hashes()

    # A re-run takes every hash from the cache: nothing hashed, nothing changed.
    again = run("run2", [ACCOUNTS[0], carol])
    assert "0 account passwords hashed" in again.stdout and again.changed == 0 and hashes() == before

    # One password changed: that one hashed, and only its hash differs.
    rotated = run("run3", [ACCOUNTS[0], dict(carol, password="Carol-rotated-6Hn2-pL4")])
    assert "1 account passwords hashed" in rotated.stdout
    after = hashes()
    assert {k for k in after if after[k] != before.get(k)} == {"STALWART_HASH_account_carol_40_example_2e_org"}
    assert set(after) == set(before)

    # Off: every password hashed again, to the same hashes, and the cache emptied.
    off = run("run4", [ACCOUNTS[0], dict(carol, password="Carol-rotated-6Hn2-pL4")], stalwart_accounts_hash_cache=False)
    assert "2 account passwords hashed (hash cache off)" in off.stdout and hashes() == after and cache() == ""

    # A damaged cache: hashed again, the same hashes, the cache made anew. A dropped account leaves it.
    doc = yaml.safe_load(cache_file.read_text())
    doc["stringData"]["cache"] = doc["stringData"]["cache"].replace("\n", "\ndamaged", 1)
    cache_file.write_text(yaml.safe_dump(doc))
    run("run5", [ACCOUNTS[0], dict(carol, password="Carol-rotated-6Hn2-pL4")])
    assert hashes() == after and len(cache().splitlines()) == 3
    dropped = run("run6", [ACCOUNTS[0]])
    assert "0 account passwords hashed" in dropped.stdout and len(cache().splitlines()) == 2
