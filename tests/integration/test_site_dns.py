# -*- coding: utf-8 -*-
"""The site playbook's DNS against what Stalwart is told to do: every selector Stalwart signs with is published
with its public key (whatever dkim_selectors say), the MTA-STS record matches the policy Stalwart serves, and
--check --diff shows the records of keys not made yet instead of failing."""

from __future__ import annotations

import base64
import hashlib
import json
import pathlib
import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from fakes import bundle
from fakes.ansible import REPO, run_playbook
from fakes.manifests import dkim_keys

SITE = REPO / "site.yml"
INVENTORY = REPO / "examples" / "inventory.yml"
_ZONE_LINE = re.compile(r"^(?P<name>\S+)\. (?P<ttl>\d+) IN (?P<type>\S+) (?P<value>.*)$")


def site(tmp: pathlib.Path, render: pathlib.Path, extra: dict | None = None, **kwargs):
    return run_playbook(SITE, tmp, inventory=INVENTORY,
                        extra_vars={"openova_stalwart_render_dir": str(render), **(extra or {})}, **kwargs)


def zone_records(render: pathlib.Path) -> dict[tuple[str, str], list[str]]:
    """(name, type) -> values of every zone file snippet; TXT values joined into their text."""
    records: dict[tuple[str, str], list[str]] = {}
    for path in sorted((render / "dns").glob("*.zone")):
        for line in path.read_text().splitlines():
            match = _ZONE_LINE.match(line)
            if not match:
                continue
            value = match["value"]
            if match["type"] == "TXT":
                value = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', value))
            records.setdefault((match["name"], match["type"]), []).append(value)
    return records


def plan_objects(render: pathlib.Path, obj: str) -> list[dict]:
    ops = [json.loads(line) for line in (render / "stalwart" / "plan.ndjson").read_text().splitlines() if line]
    return [op for op in ops if op.get("object") == obj]


def signing_keys(render: pathlib.Path) -> dict[str, str]:
    """<selector>._domainkey.<domain> -> the p= value of the key each DkimSignature of the plan signs with."""
    domains = {}
    for op in plan_objects(render, "Domain"):
        domains.update({"#" + ref: value["name"] for ref, value in op["value"].items()})
    keys = {}
    pems = dkim_keys(render)
    for op in plan_objects(render, "DkimSignature"):
        for value in op["value"].values():
            pem = pems[pathlib.PurePosixPath(value["privateKey"]["filePath"]).name].encode()
            private = serialization.load_pem_private_key(pem, password=None)
            if isinstance(private, ed25519.Ed25519PrivateKey):
                public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            else:
                public = private.public_key().public_bytes(serialization.Encoding.DER,
                                                           serialization.PublicFormat.SubjectPublicKeyInfo)
            keys[f"{value['selector']}._domainkey.{domains[value['domainId']]}"] = base64.b64encode(public).decode()
    return keys


def published_keys(render: pathlib.Path) -> dict[str, str]:
    return {name: re.search(r"(?:^|;)\s*p=([^;\s]*)", values[0]).group(1)
            for (name, rtype), values in zone_records(render).items() if rtype == "TXT" and "._domainkey." in name}


def test_every_signing_selector_is_published_with_its_key(tmp_path):
    domains = [{"name": "example.org"},
               {"name": "example.net", "dkim_selectors": {"rsa": "mail2026", "ed25519": False}},
               {"name": "example.com", "dkim_selectors": {"ed25519": "ed2026"}},
               {"name": "mail.example.net", "zone": "example.net", "dkim_selectors": {"rsa": "k2", "ed25519": True}}]
    render = tmp_path / "render"
    result = site(tmp_path / "run", render, {"stalwart_domains": domains})
    assert result.rc == 0, result.stdout[-4000:] + result.stderr[-2000:]
    signing = signing_keys(render)
    assert sorted(signing) == [
        "ed2026._domainkey.example.com", "k2._domainkey.mail.example.net", "mail2026._domainkey.example.net",
        "s1-ed25519._domainkey.example.org", "s1-ed25519._domainkey.mail.example.net",
        "s1-rsa._domainkey.example.com", "s1-rsa._domainkey.example.org"]
    assert published_keys(render) == signing


def test_check_diff_on_a_fresh_run_and_after_adding_a_domain(tmp_path):
    render = tmp_path / "render"
    fresh = site(tmp_path / "fresh", render, check=True, diff=True, json_output=False)
    assert fresh.rc == 0, fresh.stdout[-4000:] + fresh.stderr[-2000:]
    assert not render.exists()
    for name in ("s1-rsa._domainkey.example.org", "s1-ed25519._domainkey.example.net"):
        assert re.search(rf"^\+{re.escape(name)}\. 3600 IN TXT \"v=DKIM1; k=\w+; p=\(generated on the real run\)\"$",
                         fresh.stdout, re.M), name

    assert site(tmp_path / "real", render).rc == 0
    before = bundle.tree_digest(render)
    domains = [{"name": "example.org"}, {"name": "example.net"}, {"name": "example.com"}]
    added = site(tmp_path / "added", render, {"stalwart_domains": domains}, check=True, diff=True, json_output=False)
    assert added.rc == 0, added.stdout[-4000:] + added.stderr[-2000:]
    assert bundle.tree_digest(render) == before
    assert re.search(r'^\+s1-rsa\._domainkey\.example\.com\. 3600 IN TXT "v=DKIM1; k=rsa; p=\(generated on the real run\)"$',
                     added.stdout, re.M)
    assert re.search(r"^\+example\.com\. 3600 IN MX 10 mail\.example\.org\.$", added.stdout, re.M)
    # The keys of the domains already there are read back: only the new domain's zone file changes.
    publish = added.stdout.split("Publish the records of every domain")[1].split("\nTASK ")[0]
    assert re.findall(r"^\+\+\+ after: (\S+)$", publish, re.M) == [str(render / "dns" / "example.com.zone")]


def _mta_sts_id(mode: str, max_age: int) -> str:
    # RFC 8461 policy text of Stalwart's MtaSts settings, as _dns_records.mta_sts_policy writes it; id = 128 bits.
    policy = f"version: STSv1\r\nmode: {mode}\r\nmx: mail.example.org\r\nmax_age: {max_age}\r\n"
    return hashlib.sha256(policy.encode()).hexdigest()[:32]


@pytest.mark.parametrize("extra", [{}, {"stalwart_mta_sts_mode": "enforce", "stalwart_mta_sts_max_age": 86400}])
def test_mta_sts_record_announces_the_policy_stalwart_serves(tmp_path, extra):
    render = tmp_path / "render"
    result = site(tmp_path / "run", render, extra)
    assert result.rc == 0, result.stdout[-4000:] + result.stderr[-2000:]
    served = [op["value"] for op in plan_objects(render, "MtaSts")]
    assert len(served) == 1
    mode, max_age = served[0]["mode"], served[0]["maxAge"] // 1000
    assert (mode, max_age) == (extra.get("stalwart_mta_sts_mode", "testing"), extra.get("stalwart_mta_sts_max_age", 604800))
    assert served[0]["mxHosts"] == {"mail.example.org": True}
    records = zone_records(render)
    for domain in ("example.org", "example.net"):
        assert records[(f"_mta-sts.{domain}", "TXT")] == [f"v=STSv1; id={_mta_sts_id(mode, max_age)}"]


@pytest.mark.parametrize("extra", [
    {"dns_mta_sts": {"enabled": True, "mode": "enforce", "max_age": 604800}},
    {"stalwart_domains": [{"name": "example.org", "mta_sts_mode": "enforce"}]},
])
def test_an_mta_sts_record_for_another_policy_is_refused_before_writing(tmp_path, extra):
    render = tmp_path / "render"
    result = site(tmp_path / "run", render, extra)
    assert result.rc != 0
    assert "must equal the policy Stalwart serves: stalwart_mta_sts_mode \\\"testing\\\"" in json.dumps(result.data)
    assert not render.exists()
