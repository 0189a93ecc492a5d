# -*- coding: utf-8 -*-
"""Faults in apply mode against real servers and the stand-ins: each run fails naming what failed, without the
secrets and without a traceback, keeps every key, and once the fault is gone the next run converges and the
one after changes nothing."""

from __future__ import annotations

import pathlib
import uuid

import pytest

from fakes.bind import BindServer
from test_dns import failures, records_of, role_play, zone_dump


def _keys(directory: pathlib.Path) -> dict[str, bytes]:
    """Every file under ``directory`` with its bytes, to prove no key was rewritten or lost."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def _clean(result, *secrets: str) -> str:
    """The whole output, checked for the secrets and for a Python traceback."""
    output = result.stdout + result.stderr
    for secret in secrets:
        assert secret not in output
    assert "Traceback (most recent call last)" not in output, output[-3000:]
    return output


@pytest.fixture
def own_bind(tmp_path):
    """A BIND of this test's own, so a fault set on it touches no other test."""
    server = BindServer(tmp_path / "bind", ["ok.test", "refused.test", "tsig.test"])
    yield server
    server.stop()


def _dns_play(server, zones, tmp_path, **overrides):
    return role_play(server, zones, tmp_path, dkim_keys=[{"domain": z, "selector": "s1", "algorithm": "ed25519"} for z in zones],
                     **dict({"stalwart_hostname": f"mail.{zones[0]}", "dns_mail_host_ipv6": []}, **overrides))


def _converges(playbook, play, label):
    """The fault is gone: this run publishes, the next one changes nothing."""
    fixed = playbook(play)
    assert fixed.rc == 0, f"{label}: {failures(fixed)}"
    assert records_of(fixed)["updates_sent"] >= 1
    again = playbook(play)
    assert again.rc == 0, f"{label}: {failures(again)}"
    assert records_of(again)["updates_sent"] == 0 and again.changed == 0, label


def test_bad_tsig_secret_changes_nothing_then_converges(own_bind, playbook, tmp_path):
    own_bind.start()
    wrong = "d3JvbmctYnV0LXdlbGwtZm9ybWVkLXRzaWctc2VjcmV0LTAx"
    before = zone_dump(own_bind, "tsig.test")
    failed = playbook(_dns_play(own_bind, ["tsig.test"], tmp_path, dns_rfc2136_key_secret=wrong))
    assert failed.rc != 0
    _clean(failed, wrong, own_bind.key_secret)
    msg = records_of(failed)["msg"]
    assert "zone tsig.test" in msg and f"127.0.0.1:{own_bind.port}" in msg and "TSIG key 'openova-test.' was rejected" in msg, msg
    assert zone_dump(own_bind, "tsig.test") == before  # nothing was sent
    keys = _keys(tmp_path / "dkim")
    assert keys
    _converges(playbook, _dns_play(own_bind, ["tsig.test"], tmp_path), "right secret")
    assert _keys(tmp_path / "dkim") == keys  # the DKIM keys of the failed run are the ones published
    assert own_bind.query("tsig.test", "MX")[0].to_text() == "10 mail.tsig.test."


def test_refused_update_names_the_zone_then_converges(own_bind, playbook, tmp_path):
    own_bind.refuse_updates = {"refused.test"}
    own_bind.start()
    zones = ["ok.test", "refused.test"]
    before = zone_dump(own_bind, "refused.test")
    failed = playbook(_dns_play(own_bind, zones, tmp_path))
    assert failed.rc != 0
    _clean(failed, own_bind.key_secret)
    msg = records_of(failed)["msg"]
    assert "UPDATE for zone refused.test" in msg and "REFUSED" in msg, msg
    assert zone_dump(own_bind, "refused.test") == before
    keys = _keys(tmp_path / "dkim")
    # The server now takes updates for the zone: the next run publishes what is missing, whatever the first sent.
    own_bind.refuse_updates = set()
    own_bind.restart()
    _converges(playbook, _dns_play(own_bind, zones, tmp_path), "updates allowed")
    assert _keys(tmp_path / "dkim") == keys
    assert own_bind.txt("s1._domainkey.refused.test")[0].startswith("v=DKIM1; k=ed25519; p=")


S3_PLAY = [{"hosts": "localhost", "gather_facts": False, "roles": [{"role": "openova.stalwart.minio"}]}]


def test_s3_unreachable_fails_naming_the_endpoint_then_converges(s3_server, playbook, tmp_path):
    from fakes.common import free_port  # pylint: disable=import-outside-toplevel

    bucket = f"faults-{uuid.uuid4().hex[:12]}"
    closed = f"http://127.0.0.1:{free_port()}"
    values = {"openova_stalwart_mode": "render", "openova_stalwart_render_dir": str(tmp_path / "render"),
              "minio_s3_endpoint": closed, "minio_s3_access_key": s3_server.access_key,
              "minio_s3_secret_key": s3_server.secret_key, "minio_s3_bucket": bucket,
              "minio_s3_create_bucket": True, "minio_verify": True}
    failed = playbook(S3_PLAY, extra_vars=values)
    assert failed.rc != 0
    output = _clean(failed, s3_server.secret_key)
    assert f"cannot create the bucket s3://{bucket} at {closed} with minio_s3_access_key/minio_s3_secret_key" in output, output[-3000:]
    assert "Could not connect to the endpoint URL" in output
    assert bucket not in s3_server.buckets()
    values["minio_s3_endpoint"] = s3_server.url
    fixed = playbook(S3_PLAY, extra_vars=values)
    assert fixed.rc == 0, fixed.stdout[-3000:]
    assert bucket in s3_server.buckets() and s3_server.keys(bucket) == []
    again = playbook(S3_PLAY, extra_vars=values)
    assert again.rc == 0 and again.changed == 0


@pytest.fixture
def small_jmap(shared_dir):
    """A Stalwart API of this test's own taking two method calls a request, so the writes span several requests."""
    from fakes.jmap import JmapServer  # pylint: disable=import-outside-toplevel

    server = JmapServer(shared_dir / "stalwart" / "schema-0.16.18.json.gz", max_calls_in_request=2).start()
    yield server
    server.stop()


def test_jmap_down_mid_apply_names_the_url_keeps_keys_then_converges(small_jmap, playbook, tmp_path):
    from test_stalwart_settings import SMOKE_PASSWORD, plays, render_vars  # pylint: disable=import-outside-toplevel

    play = plays(small_jmap, render_vars(dest=str(tmp_path / "render")))
    # Stalwart restarts between two writes: the first POSTs are answered, then every POST is cut unanswered.
    small_jmap.writes_before_down = 2
    failed = playbook(play)
    assert failed.rc != 0
    _clean(failed, "Adm1n-pass", SMOKE_PASSWORD)
    msg = failed.task("apply")["msg"]
    assert f"cannot reach {small_jmap.url}" in msg and "gave up after 3 attempts" in msg, msg
    assert len({c[0] for c in small_jmap.set_log}) >= 2, small_jmap.set_log
    partial = small_jmap.set_calls
    keys = _keys(tmp_path / "render")
    assert keys

    small_jmap.writes_before_down = None
    fixed = playbook(play)
    assert fixed.rc == 0, fixed.stdout[-3000:]
    assert fixed.task("apply")["changed"] is True
    assert {d["name"] for d in small_jmap.objects("Domain")} == {"example.org", "example.net", "example.com"}
    assert len(small_jmap.objects("DkimSignature")) == 6
    assert small_jmap.objects("SystemSettings")[0]["defaultHostname"] == "mail.example.org"
    assert small_jmap.objects("Account")[0]["credentials"]["0"]["secret"] == SMOKE_PASSWORD
    assert _keys(tmp_path / "render") == keys
    sets = small_jmap.set_calls
    assert sets > partial
    again = playbook(play)
    assert again.rc == 0 and again.changed == 0, again.stdout[-3000:]
    assert again.task("apply")["set_calls"] == 0 and small_jmap.set_calls == sets


def test_a_write_whose_reply_is_lost_is_not_sent_twice(small_jmap, playbook, tmp_path):
    """Stalwart carries out a /set but the answer never arrives (the connection drops on the way back). Sending the
    same creates again would create each object twice: the client reads the server again instead and writes only
    what is still missing, so the run succeeds with exactly the declared objects, and the next run changes nothing."""
    from test_stalwart_settings import SMOKE_PASSWORD, plays, render_vars  # pylint: disable=import-outside-toplevel

    play = plays(small_jmap, render_vars(dest=str(tmp_path / "render")))
    small_jmap.lose_reply_after_writes = 0  # the first write: the domains' creates
    first = playbook(play)
    assert first.rc == 0, first.stdout[-3000:]
    assert small_jmap.lose_reply_after_writes is None  # the reply was lost
    _clean(first, "Adm1n-pass", SMOKE_PASSWORD)
    assert first.task("apply")["changed"] is True
    domains = [d["name"] for d in small_jmap.objects("Domain")]
    assert sorted(domains) == ["example.com", "example.net", "example.org"]
    signatures = [(s.get("domainId"), s.get("selector")) for s in small_jmap.objects("DkimSignature")]
    assert len(signatures) == 6 and len(set(signatures)) == 6, signatures
    assert len(small_jmap.objects("Account")) == 1
    # Every create reached the server once.
    creates: dict[str, int] = {}
    for obj, args in small_jmap.set_log:
        creates[obj] = creates.get(obj, 0) + len(args.get("create") or {})
    assert creates.get("x:Domain") == 3 and creates.get("x:DkimSignature") == 6, creates
    sets = small_jmap.set_calls
    again = playbook(play)
    assert again.rc == 0 and again.changed == 0, again.stdout[-3000:]
    assert again.task("apply")["set_calls"] == 0 and small_jmap.set_calls == sets


@pytest.fixture
def site_rig(tmp_path, shared_dir):
    """What site.yml in apply mode talks to (test_site_order's scene): a BIND for the zone, the JMAP test server
    behind the published name, and a Kubernetes API test server whose CNPG stays "Setting up primary" until the
    test lets it finish."""
    from test_site_order import scene  # pylint: disable=import-outside-toplevel

    with scene(tmp_path, shared_dir, retry_seconds=0.2, never_ready={"Cluster.postgresql.cnpg.io"}) as (kube, jmap, bind):
        yield kube, jmap, bind
    assert not kube.controller_errors, kube.controller_errors


def _failed_msg(result) -> str:
    """The message of the one task that failed."""
    found = [host["msg"] for play in result.data["plays"] for task in play["tasks"]
             for host in task["hosts"].values() if host.get("failed") and not host.get("ignore_errors")]
    assert len(found) == 1, found
    return found[0]


def _secrets(kube) -> dict[str, dict]:
    return {s["metadata"]["name"]: s.get("data") or {} for s in kube.list("Secret", "mail")}


def test_cnpg_not_ready_stops_before_stalwart_keeps_credentials_then_converges(site_rig, tmp_path):
    import base64  # pylint: disable=import-outside-toplevel
    import time  # pylint: disable=import-outside-toplevel

    from test_site_order import ADMIN_PASSWORD, ZONE, _changed_tasks, _site  # pylint: disable=import-outside-toplevel

    kube, jmap, bind = site_rig
    zone = zone_dump(bind, ZONE)
    failed = _site(tmp_path / "run1", kube, jmap, bind, cnpg_wait_timeout=2)
    assert failed.rc != 0
    secrets = _secrets(kube)
    app_password = base64.b64decode(secrets["stalwart-db-app"]["password"]).decode()
    _clean(failed, ADMIN_PASSWORD, "s3-secret-Pw71Za", app_password)
    msg = _failed_msg(failed)
    assert msg == ("Not reached within 2 s: Cluster mail/stalwart-db Ready (phase 'Setting up primary': Creating primary "
                   "instance stalwart-db-1-initdb; Ready=False (ClusterIsNotReady, Cluster Is Not Ready); "
                   "readyInstances 0)"), msg
    # Nothing after the PostgreSQL stage: no Stalwart, no S3 wiring, no record, no setting.
    assert kube.get("StatefulSet", "stalwart", "mail") is None
    assert set(secrets) == {"stalwart-credentials", "stalwart-db-app"}, sorted(secrets)
    assert zone_dump(bind, ZONE) == zone and jmap.set_calls == 0

    # The volume binds: CNPG finishes on its own, the next run goes all the way, the one after changes nothing.
    kube.never_ready.clear()
    deadline = time.monotonic() + 10
    while kube.get("Cluster", "stalwart-db", "mail")["status"]["phase"] != "Cluster in healthy state":
        assert time.monotonic() < deadline, kube.get("Cluster", "stalwart-db", "mail")["status"]
        time.sleep(0.05)
    fixed = _site(tmp_path / "run2", kube, jmap, bind, cnpg_wait_timeout=2)
    assert fixed.rc == 0, failures(fixed)
    assert kube.get("StatefulSet", "stalwart", "mail") is not None
    assert [d["name"] for d in jmap.objects("Domain")] == [ZONE]
    after = _secrets(kube)
    for name, data in secrets.items():
        # The operator's database password and the admin's are the ones of the failed run (the role adds its keys).
        assert after[name] == {**after[name], **data}, name
    set_calls = jmap.set_calls
    kube.reset_counters()
    again = _site(tmp_path / "run3", kube, jmap, bind, cnpg_wait_timeout=2)
    assert again.rc == 0, failures(again)
    assert again.changed == 0, _changed_tasks(again)
    assert kube.counters()["mutating_requests"] == 0 and jmap.set_calls == set_calls


def test_api_server_unavailable_names_the_url_and_writes_nothing(site_rig, tmp_path):
    """The API server answers 503 (restarting, or its load balancer has no healthy backend): the run stops at its
    first request naming the server, no traceback, and nothing anywhere was written, so the next run is a first run
    (test_site_order)."""
    import time  # pylint: disable=import-outside-toplevel

    from test_site_order import ADMIN_PASSWORD, ZONE, _site  # pylint: disable=import-outside-toplevel

    kube, jmap, bind = site_rig
    zone = zone_dump(bind, ZONE)
    kube.reset_counters()
    kube.unavailable_until = time.monotonic() + 600
    failed = _site(tmp_path / "run1", kube, jmap, bind)
    assert failed.rc != 0
    _clean(failed, ADMIN_PASSWORD, "s3-secret-Pw71Za")
    msg = _failed_msg(failed)
    # Discovery, or GET /version when the client has the discovery documents cached.
    assert msg.startswith(f"cannot reach the Kubernetes API at {kube.url} (") and msg.endswith(
        "): HTTP 503 Service Unavailable: the server is currently unable to handle the request"), msg
    assert failed.task("Check that the Kubernetes API answers")["failed"]
    assert kube.counters()["requests"] >= 1 and kube.counters()["mutating_requests"] == 0
    assert zone_dump(bind, ZONE) == zone and jmap.set_calls == 0
