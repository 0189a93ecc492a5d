# -*- coding: utf-8 -*-
"""The settings Job at 7,500 accounts (render mode, the Job on): more than one Secret and one ConfigMap hold.

The password hashes come out in several immutable Secrets (each under 256 KiB) and the plan in several immutable
ConfigMaps, each under Kubernetes' 1 MiB (as the API server counts it, and as the stored JSON measures it), all valid against the Kubernetes
schema; every hash the plan names is in exactly one Secret; the Job mounts every one of them and reads the plan's
pieces in order, which join to plan.ndjson; a re-render changes nothing. The Job's applier then runs from those files
against the JMAP test server: every account arrives with its own hash, and a second run writes nothing.

The accounts carry password_hash (SHA-512-crypt at 1,000 rounds, made here) to keep the render fast; three carry a
plain password, hashed by the role through the hash cache."""

from __future__ import annotations

import base64
import json
import re

import pytest

from fakes.ansible import run_playbook
from fakes.jmap import JmapServer
from fakes.manifests import validate
from test_settings_job_render import (
    APPLY_VARS,
    _accounts_lib,
    admin_password,
    objects,
    restricted_problems,
    run_job,
    settings_objects,
    stored_accounts,
    verifies,
)

N = 7_500
LIMIT = 1024 * 1024
PASSWORDS = {i: f"Scale-pass-{i:05d}-Qz" for i in range(N)}
PLAIN = (0, 1, 2)  # hashed by the role; the others come with password_hash


def address(i: int) -> str:
    return f"u{i:05d}@{'example.org' if i % 2 else 'example.net'}"


@pytest.fixture(scope="module")
def scale(tmp_path_factory):
    lib = _accounts_lib()
    accounts = []
    for i in range(N):
        name, domain = address(i).split("@")
        item = {"name": name, "domain": domain, "quota": "1GiB", "aliases": [f"a{i:05d}"], "description": f"User {i}"}
        if i in PLAIN:
            item["password"] = PASSWORDS[i]
        else:
            item["password_hash"] = lib.sha512_crypt(PASSWORDS[i], f"s{i:07d}", 1000)
        accounts.append(item)
    base = tmp_path_factory.mktemp("settings-job-scale")
    out = base / "render"
    # The accounts as extra variables (JSON), not in the play: a playbook of megabytes is slow to write and read as YAML.
    play = [{"hosts": "localhost", "gather_facts": False, "vars": APPLY_VARS, "roles": ["openova.stalwart.stalwart"]}]
    extra = {"openova_stalwart_mode": "render", "openova_stalwart_render_dir": str(out), "stalwart_accounts": accounts,
             "stalwart_groups": [], "stalwart_mailing_lists": []}
    first, again = (run_playbook(play, base / run, extra_vars=extra) for run in ("run1", "run2"))
    for result in (first, again):
        assert result.rc == 0, result.stdout[-6000:] + result.stderr[-3000:]
    return {"out": out, "accounts": accounts, "first": first, "again": again, "docs": objects(out)}


def stored_json(doc: dict) -> int:
    """Bytes of the object as the API server serves it back (compact JSON, a Secret's values base64 in data)."""
    doc = dict(doc)
    if doc["kind"] == "Secret":
        doc["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in doc.pop("stringData").items()}
    return len(json.dumps(doc, separators=(",", ":")))


def test_hashes_and_plan_split_under_the_limit_and_the_job_mounts_them_all(scale, shared_dir):
    out, docs = scale["out"], scale["docs"]
    job = settings_objects(docs)["Job"]
    secrets = [d for (kind, name), d in docs.items() if kind == "Secret" and name.startswith("stalwart-settings-")]
    configmaps = [d for (kind, name), d in docs.items() if kind == "ConfigMap" and name.startswith("stalwart-settings-")]
    assert len(secrets) >= 2 and len(configmaps) >= 3, (len(secrets), len(configmaps))
    for doc in secrets + configmaps:
        data = doc.get("stringData") or doc.get("data")
        assert sum(len(v.encode()) for v in data.values()) < LIMIT  # the API server's limit on data
        assert stored_json(doc) < 950 * 1024, doc["metadata"]["name"]  # and whole, with room for server metadata
        assert doc["immutable"] is True
        validate(doc, shared_dir)
    for doc in secrets:  # small enough for client-side apply's 256 KiB annotation, and to seal one by one
        assert stored_json(doc) < 256 * 1024

    # Every hash the plan names is in exactly one Secret, and nothing else is.
    plan = (out / "stalwart" / "plan.ndjson").read_text()
    refs = set(re.findall(r'\{"@env":"(STALWART_HASH_[A-Za-z0-9_]+)"\}', plan))
    assert len(refs) == N
    keys = [key for doc in secrets for key in doc["stringData"]]
    assert len(keys) == len(set(keys)) and set(keys) == refs
    held = {key: value for doc in secrets for key, value in doc["stringData"].items()}
    for i, item in enumerate(scale["accounts"]):
        if "password_hash" in item:
            ref = "STALWART_HASH_account_" + address(i).replace("@", "_40_").replace(".", "_2e_")
            assert held[ref] == item["password_hash"]

    # The Job: every hash Secret in its credentials volume, every piece of the plan in its applier volume, in order.
    spec = job["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounted = [s["secret"]["name"] for s in volumes["credentials"]["projected"]["sources"]]
    assert set(mounted) >= {d["metadata"]["name"] for d in secrets}
    sources = volumes["applier"]["projected"]["sources"]
    assert {s["configMap"]["name"] for s in sources} == {d["metadata"]["name"] for d in configmaps}
    args = spec["containers"][0]["args"]
    files = [args[i + 1].rsplit("/", 1)[1] for i, a in enumerate(args) if a == "--plan"]
    assert len(files) == len(configmaps) - 1 and files == [f"plan-{i}.ndjson" for i in range(len(files))]
    by_key = {item["key"]: docs[("ConfigMap", s["configMap"]["name"])]["data"][item["key"]]
              for s in sources for item in s["configMap"]["items"]}
    # Booleans first: pytest would diff megabytes of text to explain a failed comparison.
    joined = "".join(by_key[f] for f in files) == plan
    assert joined, "the plan's pieces, read in --plan order, are not plan.ndjson"
    leaked = "$6$" in plan or "$6$" in json.dumps(job)
    assert not leaked, "a hash outside the Secrets"
    assert restricted_problems(job) == []
    validate(job, shared_dir)


def test_rerender_changes_nothing(scale):
    assert scale["again"].changed == 0
    assert "0 account passwords hashed" in scale["again"].stdout


def test_job_sets_every_password_and_a_second_run_writes_nothing(scale, shared_dir, tmp_path):
    docs = scale["docs"]
    server = JmapServer(shared_dir / "stalwart" / "schema-0.16.18.json.gz", users={"admin": admin_password(docs)})
    server.start()
    try:
        first = run_job(docs, tmp_path / "pod1", server.url)
        assert first.returncode == 0, first.stderr[-3000:]
        accounts = stored_accounts(server)
        key = docs[("Secret", "stalwart-credentials")]["stringData"]["STALWART_ACCOUNT_KEY"]
        lib = _accounts_lib()
        for i, item in enumerate(scale["accounts"]):
            secret = accounts[address(i)]["credentials"]["0"]["secret"]
            assert secret == item.get("password_hash") or secret == lib.password_hash(PASSWORDS[i], key, address(i))
        for i in PLAIN:  # hashed by the role: each accepts its own password, as Stalwart checks a login
            assert verifies(accounts[address(i)]["credentials"]["0"]["secret"], PASSWORDS[i])
        writes = server.set_calls
        second = run_job(docs, tmp_path / "pod2", server.url)
        assert second.returncode == 0, second.stderr[-3000:]
        assert server.set_calls == writes and "nothing to change" in second.stderr
    finally:
        server.stop()
