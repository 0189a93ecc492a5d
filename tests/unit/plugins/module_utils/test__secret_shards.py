# -*- coding: utf-8 -*-
from __future__ import annotations

import base64
import json
import random

import pytest

from ansible_collections.openova.stalwart.plugins.module_utils import _secret_shards as S

META = {"namespace": "mail", "labels": {"app.kubernetes.io/name": "stalwart"}}
# Sizes of real PEM files: RSA-2048 (PKCS#8) and Ed25519.
RSA = "-----BEGIN PRIVATE KEY-----\n" + "A" * 1624 + "\n-----END PRIVATE KEY-----\n"
ED = "-----BEGIN PRIVATE KEY-----\n" + "B" * 64 + "\n-----END PRIVATE KEY-----\n"


def keys(domains, start=0):
    out = {}
    for i in range(start, start + domains):
        out[f"s1-rsa._domainkey.d{i:04d}.test.pem"] = RSA
        out[f"s1-ed25519._domainkey.d{i:04d}.test.pem"] = ED
    return out


def as_previous(manifests):
    return {m["metadata"]["name"]: dict(m["stringData"]) for m in manifests}


def api_json(manifest):
    """The Secret as the API server serves it, without server metadata."""
    doc = {k: v for k, v in manifest.items() if k != "stringData"}
    doc["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in manifest["stringData"].items()}
    return json.dumps(doc, separators=(",", ":"))


def test_stored_size_counts_base64_data_and_managed_fields():
    manifest = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x-0"}, "stringData": {"k.pem": RSA}}
    managed = len(json.dumps({"f:k.pem": {}}, separators=(",", ":"))) - 2 + 1
    assert S.stored_size(manifest) == len(api_json(manifest)) + managed
    assert S.stored_size(manifest) > len(base64.b64encode(RSA.encode()))
    # data and stringData together: both counted, base64 once.
    both = dict(manifest, data={"a": base64.b64encode(b"xyz").decode()})
    assert S.stored_size(both) > S.stored_size(manifest)


def test_small_data_is_one_shard_with_every_key():
    out = S.shard(keys(3), "stalwart-dkim", META)
    assert [m["metadata"]["name"] for m in out] == ["stalwart-dkim-0"]
    assert out[0]["metadata"]["namespace"] == "mail" and out[0]["metadata"]["labels"] == META["labels"]
    assert out[0]["type"] == "Opaque" and out[0]["stringData"] == keys(3)
    assert list(out[0]["stringData"]) == sorted(keys(3))


def test_empty_data_gives_one_empty_shard():
    assert S.shard({}, "x", META) == [{"apiVersion": "v1", "kind": "Secret",
                                       "metadata": {"name": "x-0", **META}, "type": "Opaque", "stringData": {}}]


def test_thousand_domains_fit_in_shards_under_the_limit():
    data = keys(1000)
    out = S.shard(data, "stalwart-dkim", META)
    assert len(out) == 3
    seen = {}
    for manifest in out:
        size = S.stored_size(manifest)
        assert size <= S.DEFAULT_MAX_BYTES
        assert len(api_json(manifest)) < size < S.OBJECT_LIMIT
        for key in manifest["stringData"]:
            assert key not in seen
            seen[key] = manifest["stringData"][key]
    assert seen == data
    # First fit fills the lower shards: all but the last are nearly full.
    assert all(S.stored_size(m) > S.DEFAULT_MAX_BYTES - 3000 for m in out[:-1])


def test_same_input_same_output_in_any_order():
    data = keys(400)
    shuffled = list(data.items())
    random.Random(7).shuffle(shuffled)
    assert S.shard(dict(shuffled), "d", META) == S.shard(data, "d", META)
    first = S.shard(data, "d", META)
    assert S.shard(data, "d", META, as_previous(first)) == first


def test_adding_a_domain_changes_at_most_two_shards():
    before = S.shard(keys(1000), "d", META)
    after = S.shard(keys(1001), "d", META, as_previous(before))
    changed = [m["metadata"]["name"] for m in after if m not in before]
    assert 1 <= len(changed) <= 2
    assert {m["metadata"]["name"] for m in before} <= {m["metadata"]["name"] for m in after}


def test_removing_domains_changes_only_their_shards():
    before = S.shard(keys(1000), "d", META)
    data = keys(1000)
    gone = ["s1-rsa._domainkey.d0003.test.pem", "s1-ed25519._domainkey.d0003.test.pem",
            "s1-rsa._domainkey.d0999.test.pem"]
    for key in gone:
        del data[key]
    holders = {m["metadata"]["name"] for m in before for key in gone if key in m["stringData"]}
    after = S.shard(data, "d", META, as_previous(before))
    assert len(after) == len(before)
    assert {m["metadata"]["name"] for m in after if m not in before} == holders


def test_new_keys_fill_freed_room_first():
    before = S.shard(keys(1000), "d", META)
    data = keys(1000)
    del data["s1-rsa._domainkey.d0003.test.pem"], data["s1-ed25519._domainkey.d0003.test.pem"]
    data.update(keys(1, start=5000))
    after = S.shard(data, "d", META, as_previous(before))
    assert "s1-rsa._domainkey.d5000.test.pem" in after[0]["stringData"]
    assert after[1:] == before[1:]


def test_emptied_shard_disappears_and_its_number_is_reused():
    before = S.shard(keys(1000), "d", META)
    data = {k: v for k, v in keys(1000).items() if k not in before[1]["stringData"]}
    after = S.shard(data, "d", META, as_previous(before))
    assert [m["metadata"]["name"] for m in after] == ["d-0", "d-2"]
    assert after == [before[0], before[2]]
    data.update(keys(10, start=5000))
    again = S.shard(data, "d", META, as_previous(after))
    assert [m["metadata"]["name"] for m in again] == ["d-0", "d-1", "d-2"]
    assert again[1]["stringData"] == keys(10, start=5000) and again[0] == before[0]


def test_smaller_limit_moves_the_overflow_only():
    before = S.shard(keys(100), "d", META)
    limit = 150 * 1024
    after = S.shard(keys(100), "d", META, as_previous(before), max_bytes=limit)
    assert len(after) == 2 and all(S.stored_size(m) <= limit for m in after)
    kept = after[0]["stringData"]
    assert list(kept) == sorted(keys(100))[:len(kept)]  # the first keys stay, the rest move


def test_previous_reads_only_numbered_shards_lowest_first():
    previous = {"d": {"a": "1"}, "d-1": {"a": "1", "b": "2"}, "d-0": {"a": "1"}, "d-x": {"c": "3"},
                "d-01": {"c": "3"}, "other-2": {"c": "3"}, "d-3": "not a mapping"}
    assert S.previous_assignment("d", previous) == {"a": 0, "b": 1}
    out = S.shard({"a": "1", "b": "2", "c": "3"}, "d", META, previous)
    assert [sorted(m["stringData"]) for m in out] == [["a", "c"], ["b"]]


def test_entry_larger_than_a_shard_is_refused():
    with pytest.raises(ValueError, match="huge.pem"):
        S.shard({"huge.pem": "x" * 10000}, "d", META, max_bytes=5000)


@pytest.mark.parametrize("kwargs,word", [
    ({"data": {"a": 1}}, "data"),
    ({"data": ["a"]}, "data"),
    ({"name": "Bad_Name"}, "name"),
    ({"name": ""}, "name"),
    ({"metadata": ["x"]}, "metadata"),
    ({"previous": ["x"]}, "previous"),
    ({"max_bytes": 0}, "max_bytes"),
    ({"max_bytes": S.OBJECT_LIMIT + 1}, "max_bytes"),
    ({"max_bytes": "900"}, "max_bytes"),
    ({"max_bytes": True}, "max_bytes"),
])
def test_bad_arguments_name_the_argument(kwargs, word):
    args = {"data": {"a": "1"}, "name": "d", "metadata": META, "previous": {}, "max_bytes": 1000, **kwargs}
    with pytest.raises(ValueError, match=f"^{word}:"):
        S.shard(**args)


@pytest.mark.parametrize("value", ["", "plain", "s1-rsa._domainkey.example.org.pem", "MIIB+/0a==", 'a"quote', "back\\slash",
                                   "tab\there", "\x7f", "caf\u00e9", "\u2028", {"a": [1, "b"]}])
def test_json_len_matches_the_encoder(value):
    assert S._json_len(value) == len(json.dumps(value, separators=(",", ":"), sort_keys=True))
