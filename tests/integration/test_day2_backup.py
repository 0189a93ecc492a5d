# -*- coding: utf-8 -*-
"""playbooks/backup.yml and playbooks/restore.yml: CloudNativePG backups through the Barman Cloud plugin; site.yml
(the cnpg role) setting up the scheduled backups itself when cnpg_backup_enabled.
Render mode: every manifest valid against the upstream CRDs, a second run changes nothing, bad input is named
before anything is written. Apply mode against the Kubernetes API test server: ObjectStore, Cluster with the
plugin as WAL archiver, ScheduledBackup and an on-demand Backup (waited for); check mode and a second run write
nothing; restore refuses a Cluster that was created empty."""

from __future__ import annotations

import pytest
import yaml

from fakes import bundle, manifests
from fakes.ansible import REPO, run_playbook

SITE = REPO / "site.yml"
BACKUP = REPO / "playbooks" / "backup.yml"
RESTORE = REPO / "playbooks" / "restore.yml"
INVENTORY = REPO / "examples" / "inventory.yml"
PLUGIN = "barman-cloud.cloudnative-pg.io"

SETTINGS = {
    "cnpg_operator_install": False,
    "cnpg_backup_enabled": True,
    "cnpg_backup_destination_path": "s3://backups/stalwart",
    "cnpg_backup_endpoint_url": "http://minio.mail.svc",
    "cnpg_backup_s3_secret": "stalwart-s3-stalwart-user",
    "cnpg_backup_s3_access_key_id_key": "CONSOLE_ACCESS_KEY",
    "cnpg_backup_s3_secret_access_key_key": "CONSOLE_SECRET_KEY",
    "cnpg_backup_name": "stalwart-db-before-upgrade",
}


def ok(result):
    assert result.rc == 0, result.stdout[-6000:] + result.stderr[-2000:]
    return result


def render(tmp_path, playbook, render_dir, **extra):
    extra_vars = {"openova_stalwart_mode": "render", "openova_stalwart_render_dir": str(render_dir), **SETTINGS, **extra}
    return run_playbook(playbook, tmp_path, inventory=INVENTORY, extra_vars=extra_vars)


def rendered(render_dir) -> dict[str, dict]:
    docs = manifests.load_documents(render_dir / "kubernetes")
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in docs if d["kind"] != "Kustomization"}


def test_backup_and_restore_render_valid_idempotent(tmp_path, shared_dir):
    out = tmp_path / "backup"
    ok(render(tmp_path / "b1", BACKUP, out))
    digest = bundle.tree_digest(out)
    assert ok(render(tmp_path / "b2", BACKUP, out)).changed == 0
    assert bundle.tree_digest(out) == digest
    bundle.check_bundle(out, shared_dir)
    objs = rendered(out)
    store = objs["ObjectStore/stalwart-db-backup"]["spec"]
    assert store["retentionPolicy"] == "30d"
    assert store["configuration"]["destinationPath"] == "s3://backups/stalwart"
    assert store["configuration"]["s3Credentials"]["secretAccessKey"] == {
        "name": "stalwart-s3-stalwart-user", "key": "CONSOLE_SECRET_KEY"}
    cluster = objs["Cluster/stalwart-db"]["spec"]
    assert cluster["plugins"] == [{"name": PLUGIN, "isWALArchiver": True,
                                   "parameters": {"barmanObjectName": "stalwart-db-backup"}}]
    assert "backup" not in cluster  # the deprecated in-tree barmanObjectStore is not used
    assert cluster["bootstrap"] == {"initdb": {"database": "stalwart", "owner": "stalwart"}}
    scheduled = objs["ScheduledBackup/stalwart-db-daily"]["spec"]
    assert scheduled["method"] == "plugin" and scheduled["pluginConfiguration"] == {"name": PLUGIN}
    assert scheduled["schedule"] == "0 0 3 * * *"
    assert objs["Backup/stalwart-db-before-upgrade"]["spec"] == {
        "cluster": {"name": "stalwart-db"}, "method": "plugin", "pluginConfiguration": {"name": PLUGIN}}
    listed = yaml.safe_load((out / "kubernetes" / "kustomization.yaml").read_text())["resources"]
    order = [entry.split("/")[0] for entry in listed]
    assert order.index("15-cnpg-objectstore") < order.index("20-cnpg") < order.index("25-cnpg-backup") < order.index("26-cnpg-backup-now")

    # site.yml renders the same ObjectStore, Cluster and ScheduledBackup files and keeps backup.yml's Backup
    before = bundle.tree_digest(out)
    ok(render(tmp_path / "s1", SITE, out))
    after = bundle.tree_digest(out)
    assert {path: digest for path, digest in after.items() if "-cnpg" in path} == {
        path: digest for path, digest in before.items() if "-cnpg" in path}
    bundle.check_bundle(out, shared_dir)

    out = tmp_path / "restore"
    restore = {"cnpg_restore_enabled": True, "cnpg_backup_server_name": "stalwart-db-r1",
               "cnpg_restore_target_time": "2026-11-25T08:00:00Z"}
    ok(render(tmp_path / "r1", RESTORE, out, **restore))
    assert ok(render(tmp_path / "r2", RESTORE, out, **restore)).changed == 0
    bundle.check_bundle(out, shared_dir)
    cluster = rendered(out)["Cluster/stalwart-db"]["spec"]
    assert cluster["bootstrap"] == {"recovery": {
        "source": "origin", "database": "stalwart", "owner": "stalwart",
        "recoveryTarget": {"targetTime": "2026-11-25T08:00:00Z"}}}
    assert cluster["externalClusters"] == [{"name": "origin", "plugin": {
        "name": PLUGIN, "parameters": {"barmanObjectName": "stalwart-db-backup", "serverName": "stalwart-db"}}}]
    assert cluster["plugins"][0]["parameters"] == {"barmanObjectName": "stalwart-db-backup", "serverName": "stalwart-db-r1"}


def test_site_sets_up_scheduled_backups_in_the_bundle(tmp_path, shared_dir):
    """cnpg_backup_enabled: site.yml alone writes the ObjectStore and the ScheduledBackup (a synced bundle backs up)."""
    out = tmp_path / "site"
    ok(render(tmp_path / "s1", SITE, out))
    bundle.check_bundle(out, shared_dir)  # every file listed in the kustomization, every object valid against its CRD
    listed = yaml.safe_load((out / "kubernetes" / "kustomization.yaml").read_text())["resources"]
    folders = [entry.split("/")[0] for entry in listed]
    assert folders.index("15-cnpg-objectstore") < folders.index("20-cnpg") < folders.index("25-cnpg-backup")
    objs = rendered(out)
    assert objs["ObjectStore/stalwart-db-backup"]["spec"]["configuration"]["destinationPath"] == "s3://backups/stalwart"
    assert objs["ScheduledBackup/stalwart-db-daily"]["spec"]["cluster"] == {"name": "stalwart-db"}
    assert objs["Cluster/stalwart-db"]["spec"]["plugins"][0]["parameters"] == {"barmanObjectName": "stalwart-db-backup"}
    assert not any(key.startswith("Backup/") for key in objs)  # on-demand backups stay playbooks/backup.yml's

    # without backups: neither object, and bad backup settings are not looked at
    plain = tmp_path / "plain"
    ok(render(tmp_path / "s2", SITE, plain, cnpg_backup_enabled=False, cnpg_backup_destination_path=""))
    assert not {"ObjectStore/stalwart-db-backup", "ScheduledBackup/stalwart-db-daily"} & set(rendered(plain))

    # with backups on, site.yml checks their settings before writing anything
    bad = tmp_path / "bad"
    result = render(tmp_path / "s3", SITE, bad, cnpg_backup_schedule="0 3 * * *")
    assert result.rc != 0 and "cnpg_backup_schedule" in result.stdout
    assert not bad.exists()


def test_cnpg_role_applies_the_scheduled_backups(kube, tmp_path):
    """The cnpg role's main flow (what site.yml runs) in apply mode: ObjectStore, Cluster, ScheduledBackup, no Backup."""
    play = [{"hosts": "localhost", "gather_facts": False, "roles": ["openova.stalwart.cnpg"]}]
    extra = {"openova_stalwart_mode": "apply", "openova_stalwart_kubeconfig": str(kube.kubeconfig),
             "cnpg_wait_timeout": 60, **SETTINGS}
    ok(run_playbook(play, tmp_path / "run1", extra_vars=extra))
    done = [(w.kind, w.name) for w in kube.changes() if not w.dry_run and w.kind != "Namespace"]
    assert done == [("ObjectStore", "stalwart-db-backup"), ("Cluster", "stalwart-db"), ("ScheduledBackup", "stalwart-db-daily")]
    scheduled = kube.get("ScheduledBackup.postgresql.cnpg.io", "stalwart-db-daily", "mail")
    assert scheduled["spec"]["method"] == "plugin" and scheduled["spec"]["schedule"] == "0 0 3 * * *"
    kube.reset_counters()
    assert ok(run_playbook(play, tmp_path / "run2", extra_vars=extra)).changed == 0
    assert kube.counters()["mutating_requests"] == 0


@pytest.mark.parametrize(("extra", "named"), [
    ({"cnpg_backup_destination_path": "backups/stalwart"}, "cnpg_backup_destination_path"),
    ({"cnpg_backup_s3_secret": ""}, "cnpg_backup_s3_secret"),
    ({"cnpg_backup_schedule": "0 3 * * *"}, "cnpg_backup_schedule"),
    ({"cnpg_backup_enabled": False}, "cnpg_backup_enabled"),
    # restoring and archiving into the same folder would mix two timelines
    ({"cnpg_restore_enabled": True}, "cnpg_backup_server_name"),
])
def test_bad_input_is_named_and_nothing_written(tmp_path, extra, named):
    out = tmp_path / "render"
    result = render(tmp_path / "run", RESTORE if "cnpg_restore_enabled" in extra else BACKUP, out, **extra)
    assert result.rc != 0
    assert named in result.stdout
    assert not out.exists()


def test_backup_apply_then_nothing_to_do_and_restore_refuses(kube, tmp_path):
    extra = {"openova_stalwart_mode": "apply", "openova_stalwart_kubeconfig": str(kube.kubeconfig),
             "cnpg_wait_timeout": 60, **SETTINGS}
    ok(run_playbook(BACKUP, tmp_path / "run1", inventory=INVENTORY, extra_vars=extra))
    done = [(w.kind, w.name) for w in kube.changes() if not w.dry_run and w.kind != "Namespace"]
    applied = [pair for pair in done if pair[0] in ("ObjectStore", "Cluster", "ScheduledBackup", "Backup")]
    assert applied[:4] == [("ObjectStore", "stalwart-db-backup"), ("Cluster", "stalwart-db"),
                           ("ScheduledBackup", "stalwart-db-daily"), ("Backup", "stalwart-db-before-upgrade")]
    cluster = kube.get("Cluster.postgresql.cnpg.io", "stalwart-db", "mail")
    assert cluster["spec"]["plugins"][0]["isWALArchiver"] is True
    assert kube.get("Backup.postgresql.cnpg.io", "stalwart-db-before-upgrade", "mail")["status"]["phase"] == "completed"

    kube.reset_counters()
    check = ok(run_playbook(BACKUP, tmp_path / "check", inventory=INVENTORY, check=True, diff=True,
                            extra_vars={**extra, "cnpg_backup_retention_policy": "60d"}))
    assert check.changed > 0 and kube.counters()["writes"] == 0
    assert kube.get("ObjectStore.barmancloud.cnpg.io", "stalwart-db-backup", "mail")["spec"]["retentionPolicy"] == "30d"
    assert ok(run_playbook(BACKUP, tmp_path / "run2", inventory=INVENTORY, extra_vars=extra)).changed == 0
    assert kube.counters()["mutating_requests"] == 0

    refused = run_playbook(RESTORE, tmp_path / "restore", inventory=INVENTORY,
                           extra_vars={**extra, "cnpg_restore_enabled": True, "cnpg_backup_server_name": "stalwart-db-r1"})
    assert refused.rc != 0 and "already exists with an empty" in refused.stdout
    assert kube.counters()["mutating_requests"] == 0
