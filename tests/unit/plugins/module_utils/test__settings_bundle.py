# -*- coding: utf-8 -*-
from __future__ import annotations

import base64
import hashlib
import json

import pytest

from ansible_collections.openova.stalwart.plugins.module_utils import _secret_shards
from ansible_collections.openova.stalwart.plugins.module_utils import _settings_bundle as B

META = {"namespace": "mail", "labels": {"app.kubernetes.io/name": "stalwart-settings", "app.kubernetes.io/instance": "stalwart"}}
LIMIT = 1024 * 1024


def hashes(n, start=0, tag="x"):
    """SHA-512-crypt-shaped values under the plan's reference names, as many as accounts."""
    out = {}
    for i in range(start, start + n):
        digest = base64.b64encode(hashlib.sha512(f"{tag}{i}".encode()).digest()).decode().rstrip("=").replace("+", ".")
        out[f"STALWART_HASH_account_u{i:05d}_40_d{i % 1000:04d}_2e_bench_2e_test"] = f"$6${digest[:16]}${digest}"[:106]
    return out


def api_bytes(secret):
    """The Secret as the API server serves it back: compact JSON, base64 data (without server metadata)."""
    doc = {k: v for k, v in secret.items() if k != "stringData"}
    doc["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in secret["stringData"].items()}
    return len(json.dumps(doc, separators=(",", ":")))


def test_ten_thousand_hashes_split_into_secrets_under_the_limit_each_key_once():
    data = hashes(10_000)
    out = B.hash_secrets(data, "stalwart-settings", META)
    assert len(out) >= 3
    seen = {}
    for secret in out:
        assert secret["kind"] == "Secret" and secret["immutable"] is True and secret["type"] == "Opaque"
        assert secret["metadata"]["namespace"] == "mail" and secret["metadata"]["labels"] == META["labels"]
        assert _secret_shards.stored_size(secret) <= B.DEFAULT_MAX_BYTES
        assert api_bytes(secret) < B.DEFAULT_MAX_BYTES < LIMIT
        assert sum(len(v) for v in secret["stringData"].values()) < LIMIT  # what the API server validates
        for key in secret["stringData"]:
            assert key not in seen
            seen[key] = secret["stringData"][key]
    assert seen == data
    names = [s["metadata"]["name"] for s in out]
    assert names == sorted(names) and len(set(names)) == len(names)
    # Named after their content, like the ConfigMap: the same 10 hex digits Jinja's to_json(sort_keys=true) | hash gives.
    for secret in out:
        digest = hashlib.sha256(json.dumps(secret["stringData"], sort_keys=True).encode()).hexdigest()[:10]
        assert secret["metadata"]["name"] == f"stalwart-settings-{digest}"


def test_same_input_same_secrets_whatever_the_order():
    data = hashes(8_000)
    reordered = dict(reversed(list(data.items())))
    assert B.hash_secrets(data, "stalwart-settings", META) == B.hash_secrets(reordered, "stalwart-settings", META)


def test_one_changed_password_renames_one_secret_and_a_new_account_touches_one():
    data = hashes(8_000)
    before = {s["metadata"]["name"]: s["stringData"] for s in B.hash_secrets(data, "stalwart-settings", META)}
    key = sorted(data)[1234]
    changed = dict(data, **{key: data[key][:-4] + "ABCD"})
    after = {s["metadata"]["name"]: s["stringData"] for s in B.hash_secrets(changed, "stalwart-settings", META)}
    assert len(set(after) - set(before)) == 1 and len(set(before) - set(after)) == 1
    [new] = set(after) - set(before)
    assert key in after[new]
    grown = dict(data, **hashes(1, start=99_999))
    after = {s["metadata"]["name"] for s in B.hash_secrets(grown, "stalwart-settings", META)}
    assert len(after - set(before)) <= 2 and len(set(before) - after) == 1  # one changed, or split in two


def test_small_or_no_hashes():
    assert not B.hash_secrets({}, "stalwart-settings", META)
    data = hashes(3)
    [one] = B.hash_secrets(data, "stalwart-settings", META)
    assert one["stringData"] == data


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="hashes"):
        B.hash_secrets({"a": 1}, "x", META)
    with pytest.raises(ValueError, match="name"):
        B.hash_secrets({}, "Bad_Name", META)
    with pytest.raises(ValueError, match="max_bytes"):
        B.hash_secrets({}, "x", META, max_bytes=LIMIT + 1)
    with pytest.raises(ValueError, match="do not fit"):
        B.hash_secrets({"k": "v" * 10_000}, "x", META, max_bytes=4096)


def test_split_text_joins_again_cuts_at_line_ends_and_never_inside_a_character():
    lines = [json.dumps({"object": "Domain", "value": {f"d{i}": {"name": f"dømain-{i}.test"}}}, ensure_ascii=False) for i in range(3000)]
    accounts = {f"a{i}": {"description": "Ünïcode ✓ " * 3} for i in range(20_000)}
    text = "\n".join(lines) + "\n" + json.dumps({"object": "Account", "value": accounts}, ensure_ascii=False) + "\n"
    pieces = B.split_text(text, 100_000)
    assert "".join(pieces) == text and len(pieces) > 10
    assert all(len(p.encode()) <= B.json_size(p) <= 100_000 for p in pieces)
    assert max(B.json_size(p) for p in pieces) > 95_000  # filled, not cut short
    controls = "\t\x01\"\\" * 50_000
    assert "".join(B.split_text(controls, 10_000)) == controls
    assert all(B.json_size(p) <= 10_000 for p in B.split_text(controls, 10_000))
    assert pieces[0].endswith("\n")  # among the short lines: cut at a line end
    assert B.split_text("short\n", 100) == ["short\n"]
    assert B.split_text(text, 100_000) == pieces


def test_bundle_keeps_a_small_plan_with_the_applier():
    sources = {"_settings_job.py": "print()\n", "_jmap.py": "x = 1\n"}
    out = B.bundle('{"@type":"update"}\n', sources, hashes(2), "stalwart-settings", META)
    [configmap] = out["configmaps"]
    assert configmap["data"] == dict(sources, **{"plan.ndjson": '{"@type":"update"}\n'}) and configmap["immutable"] is True
    assert out["configmap"] == configmap["metadata"]["name"] == B.content_name("stalwart-settings", configmap["data"])
    assert out["plan_files"] == ["plan.ndjson"] and out["plan_sources"] == []
    assert len(out["secrets"]) == 1


def test_bundle_splits_a_large_plan_over_configmaps_under_the_limit():
    sources = {"_settings_job.py": "s" * 150_000}
    plan = "".join(json.dumps({"object": "Account", "value": {f"account_u{i}": {"name": f"u{i}", "quotas": {"maxDiskQuota": 5}}
                                                              for i in range(j, j + 1000)}}) + "\n" for j in range(0, 60_000, 1000))
    out = B.bundle(plan, sources, {}, "stalwart-settings", META)
    applier, *pieces = out["configmaps"]
    assert applier["data"] == sources and out["configmap"] == applier["metadata"]["name"]
    assert len(pieces) >= 3 and out["plan_files"] == [f"plan-{i}.ndjson" for i in range(len(pieces))]
    assert out["plan_sources"] == [{"name": p["metadata"]["name"], "key": f"plan-{i}.ndjson"} for i, p in enumerate(pieces)]
    assert "".join(p["data"][f"plan-{i}.ndjson"] for i, p in enumerate(pieces)) == plan
    for configmap in out["configmaps"]:
        assert B.data_size(configmap["data"]) <= B.DEFAULT_MAX_BYTES and configmap["immutable"] is True
        assert configmap["metadata"]["name"].startswith("stalwart-settings-") and configmap["metadata"]["namespace"] == "mail"
    assert all(p["metadata"]["name"].startswith("stalwart-settings-plan-") for p in pieces)
    assert out["secrets"] == [] and B.bundle(plan, sources, {}, "stalwart-settings", META) == out
    small = B.bundle(plan, sources, hashes(5_000), "stalwart-settings", META, secret_max_bytes=200 * 1024)
    assert small["configmaps"] == out["configmaps"] and len(small["secrets"]) >= 7
    assert all(_secret_shards.stored_size(s) <= 200 * 1024 for s in small["secrets"])
    with pytest.raises(ValueError, match="plan's keys"):
        B.bundle(plan, {"plan.ndjson": ""}, {}, "stalwart-settings", META)
    with pytest.raises(ValueError, match="sources"):
        B.bundle(plan, {"big.py": "x" * LIMIT}, {}, "stalwart-settings", META)
