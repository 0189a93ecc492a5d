# -*- coding: utf-8 -*-
"""playbooks/dkim_rotate.yml in render mode against a real BIND 9: one phase per run (start, switch, overlap,
retire), each run repeated with no change, a check run changing nothing, and at every step a message signed
with the signing key verifying with dkimpy against the live zone."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import pathlib
import re

import dkim
import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from fakes.ansible import REPO, run_playbook
from fakes.manifests import dkim_keys

PLAYBOOK = REPO / "playbooks" / "dkim_rotate.yml"
INVENTORY = REPO / "examples" / "inventory.yml"
DOMAIN = "rotate.test"
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
PHASE = "openova.stalwart.stalwart : Decide the rotation phase"
RETIRE_DNS = "openova.stalwart.stalwart : Remove the retired DKIM records (one UPDATE per zone)"
MESSAGE = (b"From: alice@rotate.test\r\nTo: bob@example.com\r\nSubject: rotation\r\n"
           b"Date: Thu, 01 Jan 2026 00:00:00 +0000\r\nMessage-ID: <1@rotate.test>\r\n\r\nHello.\r\n")


def at(days: float) -> str:
    return (T0 + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def rotate(bind, tmp_path):
    render = tmp_path / "render"
    runs = iter(range(1000))

    def _run(now: str, check: bool = False, **extra):
        extra_vars = {
            "openova_stalwart_render_dir": str(render),
            "stalwart_hostname": f"mail.{DOMAIN}",
            "stalwart_domains": [{"name": DOMAIN}],
            "cnpg_operator_install": False,
            **bind.role_vars(),
            "dns_mail_host_ipv4": ["192.0.2.25"],
            "dns_verify_resolvers": [bind.host],
            "dns_verify_resolver_port": bind.port,
            "dns_verify_wait_timeout": 5,
            "stalwart_dkim_rotate_now": now,
            **extra,
        }
        result = run_playbook(PLAYBOOK, tmp_path / f"run{next(runs)}", inventory=INVENTORY, extra_vars=extra_vars,
                              check=check, diff=check)
        assert result.rc == 0, result.stdout[-4000:] + result.stderr[-3000:]
        return result

    _run.render = render
    return _run


def snapshot(root: pathlib.Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def stages(render: pathlib.Path) -> dict[str, str]:
    """Selector -> Stalwart's stage of every DKIM signature of the domain in the settings plan."""
    ops = [json.loads(line) for line in (render / "stalwart" / "plan.ndjson").read_text().splitlines() if line]
    (op,) = [op for op in ops if op.get("object") == "DkimSignature"]
    return {v["selector"]: v["stage"] for v in op["value"].values()
            if v["privateKey"]["filePath"] == f"/etc/stalwart/dkim/{v['selector']}._domainkey.{DOMAIN}.pem"}


def signing_selectors(render: pathlib.Path) -> set[str]:
    return {selector for selector, stage in stages(render).items() if stage == "active"}


def published(bind, selector: str) -> bool:
    return bool(bind.query(f"{selector}._domainkey.{DOMAIN}", "TXT"))


def assert_signed_mail_verifies(bind, render: pathlib.Path, selector: str):
    """A message signed with ``selector``'s key verifies through the live zone (dkimpy)."""
    def dnsfunc(name, timeout=5):
        return b"".join(bind.query(name.decode().rstrip("."), "TXT")[0].strings)
    pem = dkim_keys(render)[f"{selector}._domainkey.{DOMAIN}.pem"].encode()
    headers = [b"from", b"to", b"subject", b"date"]
    if selector.endswith("-ed25519"):
        seed = serialization.load_pem_private_key(pem, None).private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
        signed = dkim.sign(MESSAGE, selector.encode(), DOMAIN.encode(), base64.b64encode(seed),
                           signature_algorithm=b"ed25519-sha256", include_headers=headers) + MESSAGE
    else:
        signed = dkim.sign(MESSAGE, selector.encode(), DOMAIN.encode(), pem, include_headers=headers) + MESSAGE
    assert dkim.verify(signed, dnsfunc=dnsfunc), selector


def assert_every_signing_key_verifies(bind, render):
    selectors = signing_selectors(render)
    assert selectors
    # Every key Stalwart knows, whatever its stage, is published and in the key store (the DKIM Secrets, only).
    keys = dkim_keys(render)
    assert not (render / "secrets" / "dkim").exists()
    for selector in stages(render):
        assert published(bind, selector), selector
        assert f"{selector}._domainkey.{DOMAIN}.pem" in keys, selector
    for selector in selectors:
        assert published(bind, selector), selector
        assert_signed_mail_verifies(bind, render, selector)
    return selectors


STATE_FILE = pathlib.Path("kubernetes") / "51-stalwart-dkim-rotation" / "000-configmap-stalwart-dkim-rotation.yaml"


def state(render):
    """The rotation state: the ConfigMap stalwart-dkim-rotation of the bundle, the object apply mode keeps live."""
    doc = yaml.safe_load((render / STATE_FILE).read_text())
    assert (doc["kind"], doc["metadata"]["name"], doc["metadata"]["namespace"]) == ("ConfigMap", "stalwart-dkim-rotation", "mail")
    assert "- 51-stalwart-dkim-rotation/000-configmap-stalwart-dkim-rotation.yaml" in (render / "kubernetes" / "kustomization.yaml").read_text()
    return json.loads(doc["data"]["state"])


def zone_file_selectors(render) -> set[str]:
    """DKIM selectors in the zone file snippet the dns role renders (what the zonefile provider publishes)."""
    text = (render / "dns" / f"{DOMAIN}.zone").read_text()
    return set(re.findall(rf"^([a-z0-9-]+)\._domainkey\.{re.escape(DOMAIN)}\. ", text, re.MULTILINE))


def test_rotation_never_leaves_mail_without_a_valid_key(bind, rotate):
    """Six playbook runs: start, check, switch, overlap (the re-run after the switch), retire, repeat.
    The re-run while waiting to switch is in test_dkim_rotate_apply.py."""
    render = rotate.render
    # Start on a fresh deployment: s1 (the first generation) signs, s2 is generated and published beside it.
    start = rotate(at(0), stalwart_dkim_rotate_force=True)
    assert start.task(PHASE)["phase"] == "start" and start.changed > 0
    assert published(bind, "s2-rsa") and published(bind, "s2-ed25519")
    assert f"s2-rsa._domainkey.{DOMAIN}.pem" in dkim_keys(render)
    assert assert_every_signing_key_verifies(bind, render) == {"s1-rsa", "s1-ed25519"}
    # Stalwart gets the new keys as pending: they sign only after the switch verified them.
    assert stages(render) == {"s1-rsa": "active", "s1-ed25519": "active", "s2-rsa": "pending", "s2-ed25519": "pending"}
    assert [g["prefix"] for g in state(render)["generations"]] == ["s1", "s2"]
    assert zone_file_selectors(render) == {"s1-rsa", "s1-ed25519", "s2-rsa", "s2-ed25519"}
    before = snapshot(render)

    # A check run reports the switch and changes nothing.
    checked = rotate(at(0.1), check=True)
    assert checked.task(PHASE)["phase"] == "switch"
    assert snapshot(render) == before and assert_every_signing_key_verifies(bind, render) == {"s1-rsa", "s1-ed25519"}

    # Switch (after the settle time, verified on BIND): s2 signs, s1 stays published.
    switch = rotate(at(0.1))
    assert switch.task(PHASE)["phase"] == "switch" and switch.changed > 0
    assert assert_every_signing_key_verifies(bind, render) == {"s2-rsa", "s2-ed25519"}
    assert stages(render) == {"s2-rsa": "active", "s2-ed25519": "active", "s1-rsa": "retiring", "s1-ed25519": "retiring"}
    assert published(bind, "s1-rsa") and published(bind, "s1-ed25519")
    assert_signed_mail_verifies(bind, render, "s1-rsa")  # mail signed before the switch still verifies
    assert_signed_mail_verifies(bind, render, "s1-ed25519")

    # Later inside the overlap (the next run after the switch) nothing changes; s1 is still published.
    before = snapshot(render)
    overlap = rotate(at(7.09))
    assert overlap.task(PHASE)["phase"] == "overlap" and overlap.changed == 0 and snapshot(render) == before
    assert published(bind, "s1-rsa") and published(bind, "s1-ed25519")
    assert set(stages(render).values()) == {"active", "retiring"}

    # After the overlap s1 leaves DNS (one UPDATE for the zone), the zone file and the key store; s2 keeps signing.
    retire = rotate(at(7.2))
    assert retire.task(PHASE)["phase"] == "retire" and retire.changed > 0
    removal = retire.task(RETIRE_DNS)
    assert removal["updates_sent"] == 1 and [z["zone"] for z in removal["zones"]] == [DOMAIN]
    assert sorted(c["name"] for c in removal["zones"][0]["changes"]) == [
        f"s1-ed25519._domainkey.{DOMAIN}", f"s1-rsa._domainkey.{DOMAIN}"]
    assert not published(bind, "s1-rsa") and not published(bind, "s1-ed25519")
    assert zone_file_selectors(render) == {"s2-rsa", "s2-ed25519"}
    assert sorted(dkim_keys(render)) == [f"s2-ed25519._domainkey.{DOMAIN}.pem", f"s2-rsa._domainkey.{DOMAIN}.pem"]
    assert not any("s1-" in p.read_text() for p in (render / "secrets").rglob("*dkim*.yaml"))
    assert assert_every_signing_key_verifies(bind, render) == {"s2-rsa", "s2-ed25519"}
    assert [g["prefix"] for g in state(render)["generations"]] == ["s2"]
    assert stages(render) == {"s2-rsa": "active", "s2-ed25519": "active"}
    before = snapshot(render)
    final = rotate(at(7.2))
    assert final.task(PHASE)["phase"] == "steady" and final.changed == 0 and snapshot(render) == before
    assert all(r.get("skipped") for r in final.task_results(RETIRE_DNS))


def test_a_run_between_rotation_runs_keeps_where_the_rotation_stands(tmp_path):
    """The stalwart role outside playbooks/dkim_rotate.yml (site.yml) reads the stored state and keeps it: after a
    switch it signs with s2 and keeps s1 published and retiring, though its own prefix is still s1."""
    render = tmp_path / "render"
    (render / "secrets").mkdir(parents=True)
    stored = {"generations": [
        {"prefix": "s1", "published": at(0), "verified": at(0), "signing": at(0), "superseded": at(1)},
        {"prefix": "s2", "published": at(0.9), "verified": at(1), "signing": at(1)}]}
    (render / "secrets" / "dkim-rotation.json").write_text(json.dumps(stored))
    play = [{"hosts": "localhost", "gather_facts": False, "roles": ["openova.stalwart.stalwart"], "vars": {
        "stalwart_hostname": f"mail.{DOMAIN}", "stalwart_domains": [{"name": DOMAIN}], "stalwart_dkim_selector_prefix": "s1",
        "stalwart_s3_endpoint": "http://minio.minio-tenant.svc:9000", "stalwart_s3_access_key": "s3-access-Jq2",
        "stalwart_s3_secret_key": "s3-secret-Lm4"}}]
    for run in ("run1", "run2"):
        result = run_playbook(play, tmp_path / run, extra_vars={"openova_stalwart_mode": "render",
                                                                "openova_stalwart_render_dir": str(render)})
        assert result.rc == 0, result.stdout[-4000:] + result.stderr[-2000:]
        assert stages(render) == {"s2-rsa": "active", "s2-ed25519": "active", "s1-rsa": "retiring", "s1-ed25519": "retiring"}
        assert set(dkim_keys(render)) == {
            f"{s}._domainkey.{DOMAIN}.pem" for s in ("s1-rsa", "s1-ed25519", "s2-rsa", "s2-ed25519")}
    assert result.changed == 0
    assert json.loads((render / "secrets" / "dkim-rotation.json").read_text()) == stored


def test_the_state_file_of_earlier_releases_becomes_the_configmap(bind, rotate):
    """Earlier releases kept the state in secrets/dkim-rotation.json in render mode: the next rotation run reads it,
    stores the same state as the ConfigMap (as apply mode keeps it) and removes the file; the run after changes nothing."""
    render = rotate.render
    rotate(at(0), stalwart_dkim_rotate_force=True)
    stored = state(render)
    (render / "secrets" / "dkim-rotation.json").write_text(json.dumps(stored, indent=2, sort_keys=True) + "\n")
    for path in (render / STATE_FILE).parent.iterdir():
        path.unlink()
    (render / STATE_FILE).parent.rmdir()
    migrated = rotate(at(0.01))
    assert migrated.task(PHASE)["phase"] == "wait" and migrated.changed > 0
    assert state(render) == stored and not (render / "secrets" / "dkim-rotation.json").exists()
    before = snapshot(render)
    again = rotate(at(0.01))
    assert again.changed == 0 and snapshot(render) == before
