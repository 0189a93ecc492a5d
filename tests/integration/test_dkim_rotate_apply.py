# -*- coding: utf-8 -*-
"""playbooks/dkim_rotate.yml in apply mode: the Kubernetes API test server holds the key Secrets and the state
ConfigMap, the Stalwart JMAP test server the signatures, a real BIND 9 the records. Phase 1 publishes the new
selectors and records the state; after the settle time the switch moves signing, and after the overlap the old
records leave BIND (one UPDATE for the zone) and the old keys the Secrets. A re-run in each phase and a check run
write nothing (kube and JMAP counters, BIND serial)."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from fakes.ansible import REPO, run_playbook
from test_stalwart_role_apply import ok, seed_admin

PLAYBOOK = REPO / "playbooks" / "dkim_rotate.yml"
INVENTORY = REPO / "examples" / "inventory.yml"
ZONE = "rotate.test"
DOMAINS = ["apply.rotate.test", "second.rotate.test"]  # both in the zone rotate.test
T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
PHASE = "openova.stalwart.stalwart : Decide the rotation phase"
RETIRE_DNS = "openova.stalwart.stalwart : Remove the retired DKIM records (one UPDATE per zone)"


def at(days: float) -> str:
    return (T0 + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def selectors(prefix: str) -> set[str]:
    return {f"{prefix}-{alg}._domainkey.{d}" for d in DOMAINS for alg in ("rsa", "ed25519")}


@pytest.fixture
def rotate(tmp_path, kube, jmap_server, bind):
    seed_admin(kube)
    runs = iter(range(100))

    def _run(now: str, check: bool = False, **extra):
        extra_vars = {
            "openova_stalwart_mode": "apply",
            "openova_stalwart_kubeconfig": str(kube.kubeconfig),
            "stalwart_management_url": jmap_server.url,
            "stalwart_hostname": "mail.apply.rotate.test",
            "stalwart_domains": [{"name": d, "zone": ZONE} for d in DOMAINS],
            "stalwart_wait_timeout": 30,
            "cnpg_operator_install": False,
            "minio_s3_endpoint": "http://s3.example.net:9000",
            "minio_s3_access_key": "s3-access-Qk2",
            "minio_s3_secret_key": "s3-secret-Pw71Za",
            **bind.role_vars(),
            "dns_mail_host_ipv4": ["192.0.2.25"],
            "dns_verify_resolvers": [bind.host],
            "dns_verify_resolver_port": bind.port,
            "dns_verify_wait_timeout": 5,
            "stalwart_dkim_rotate_now": now,
            **extra,
        }
        return ok(run_playbook(PLAYBOOK, tmp_path / f"run{next(runs)}", inventory=INVENTORY, extra_vars=extra_vars,
                               check=check, diff=check))

    return _run


def live_state(kube) -> dict:
    configmap = kube.get("ConfigMap", "stalwart-dkim-rotation", "mail")
    return json.loads(configmap["data"]["state"]) if configmap else {}


def stored_keys(kube) -> set[str]:
    """Key names (``<selector>._domainkey.<domain>``) in every DKIM Secret of the namespace."""
    names = set()
    for secret in kube.list("Secret", "mail"):
        if secret["metadata"]["name"].startswith("stalwart-dkim"):
            names |= {key[:-len(".pem")] for key in secret.get("data", {})}
    return names


def published(bind) -> set[str]:
    return {f"{p}-{alg}._domainkey.{d}" for p in ("s1", "s2") for d in DOMAINS for alg in ("rsa", "ed25519")
            if bind.query(f"{p}-{alg}._domainkey.{d}", "TXT")}


def stages(jmap) -> dict[str, str]:
    """Key name -> Stalwart's stage of every DKIM signature the server holds (only "active" ones sign)."""
    domains = {d["id"]: d["name"] for d in jmap.objects("Domain")}
    return {f"{s['selector']}._domainkey.{domains[s['domainId']]}": s["stage"] for s in jmap.objects("DkimSignature")}


def signing(jmap) -> set[str]:
    return {name for name, stage in stages(jmap).items() if stage == "active"}


def known(jmap, stage: str) -> set[str]:
    return {name for name, value in stages(jmap).items() if value == stage}


def serial(bind) -> int:
    return bind.query(ZONE, "SOA")[0].serial


def assert_no_writes(kube, jmap, bind, mark):
    counters, set_calls, soa = mark
    assert kube.counters()["writes"] == counters["writes"], [w for w in kube.changes() if not w.dry_run]
    assert jmap.set_calls == set_calls and serial(bind) == soa


def mark(kube, jmap, bind):
    return kube.counters(), jmap.set_calls, serial(bind)


def test_rotation_in_apply_mode(rotate, kube, jmap_server, bind):
    jmap = jmap_server
    # Phase 1 (start, forced on a fresh deployment): s2 is generated, stored and published; s1 signs.
    start = rotate(at(0), stalwart_dkim_rotate_force=True)
    assert start.task(PHASE)["phase"] == "start" and start.changed > 0
    state = live_state(kube)
    assert [(g["prefix"], "signing" in g) for g in state["generations"]] == [("s1", True), ("s2", False)]
    assert stored_keys(kube) == selectors("s1") | selectors("s2")
    assert published(bind) == selectors("s1") | selectors("s2")
    assert signing(jmap) == selectors("s1")
    # Stalwart knows the new keys already, as pending: published, not signing until verified.
    assert known(jmap, "pending") == selectors("s2") and set(stages(jmap)) == selectors("s1") | selectors("s2")
    secret_values = {s["metadata"]["name"]: s["data"] for s in kube.list("Secret", "mail")
                     if s["metadata"]["name"].startswith("stalwart-dkim")}
    for value in ("PRIVATE KEY", "Adm1n-pass"):
        assert value not in start.stdout

    # A re-run in phase 1 (forcing again) changes nothing anywhere.
    before = mark(kube, jmap, bind)
    again = rotate(at(0), stalwart_dkim_rotate_force=True)
    assert again.task(PHASE)["phase"] == "wait" and again.changed == 0
    assert_no_writes(kube, jmap, bind, before)

    # Phase 2, after the settle time: verified on BIND, s2 signs; s1 stays published and stored.
    switch = rotate(at(0.1))
    assert switch.task(PHASE)["phase"] == "switch" and switch.changed > 0
    assert signing(jmap) == selectors("s2")
    # The old keys stay known to Stalwart as retiring (still published, no longer signing); none is pending.
    assert known(jmap, "retiring") == selectors("s1") and not known(jmap, "pending")
    assert published(bind) == selectors("s1") | selectors("s2")
    assert stored_keys(kube) == selectors("s1") | selectors("s2")
    assert [g["prefix"] for g in live_state(kube)["generations"] if "superseded" in g] == ["s1"]
    # The keys were kept, not regenerated.
    assert {s["metadata"]["name"]: s["data"] for s in kube.list("Secret", "mail")
            if s["metadata"]["name"].startswith("stalwart-dkim")} == secret_values

    # The next run, inside the overlap, changes nothing.
    before = mark(kube, jmap, bind)
    overlap = rotate(at(3))
    assert overlap.task(PHASE)["phase"] == "overlap" and overlap.changed == 0
    assert_no_writes(kube, jmap, bind, before)

    # A check run after the overlap reports the retirement and writes nothing (dry runs only).
    checked = rotate(at(7.2), check=True)
    assert checked.task(PHASE)["phase"] == "retire" and checked.changed > 0
    assert checked.task(RETIRE_DNS)["updates_sent"] == 0 and checked.task(RETIRE_DNS)["changed"]
    assert_no_writes(kube, jmap, bind, before)
    assert published(bind) == selectors("s1") | selectors("s2") and stored_keys(kube) >= selectors("s1")

    # Retire: both domains' s1 records leave BIND in one UPDATE, s1 keys leave the Secrets, s2 keeps signing.
    retire = rotate(at(7.2))
    assert retire.task(PHASE)["phase"] == "retire" and retire.changed > 0
    removal = retire.task(RETIRE_DNS)
    assert removal["updates_sent"] == 1 and [z["zone"] for z in removal["zones"]] == [ZONE]
    assert {c["name"] for c in removal["zones"][0]["changes"]} == selectors("s1")
    assert published(bind) == selectors("s2")
    assert bind.txt("apply.rotate.test")  # the other records of the domains stay (SPF at the apex)
    assert stored_keys(kube) == selectors("s2")
    assert stages(jmap) == dict.fromkeys(selectors("s2"), "active")
    assert [g["prefix"] for g in live_state(kube)["generations"]] == ["s2"]
    assert base64.b64decode(kube.get("Secret", "stalwart-credentials", "mail")["data"]["STALWART_RECOVERY_ADMIN"]) \
        == b"admin:Adm1n-pass"

    # A re-run after the retirement changes nothing.
    before = mark(kube, jmap, bind)
    final = rotate(at(7.2))
    assert final.task(PHASE)["phase"] == "steady" and final.changed == 0
    assert_no_writes(kube, jmap, bind, before)
