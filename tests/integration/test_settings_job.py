# -*- coding: utf-8 -*-
"""The settings Job's entrypoint (_settings_job) run for real, as the Job runs it: a bare interpreter (`python3 -S`, no
site-packages, so no Ansible) over the files the ConfigMap mounts, against the schema-enforcing JMAP test server."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from fakes.ansible import REPO
from fakes.jmap import JmapServer

MODULE_UTILS = REPO / "plugins" / "module_utils"
PACKAGE = "ansible_collections/openova/stalwart/plugins/module_utils"
# What the ConfigMap carries: the entrypoint and every module it imports, nothing else.
FILES = ("_settings_job.py", "_jmap.py", "_stalwart_schema.py", "_stalwart_plan.py", "_stalwart_accounts.py", "_validate.py")
ADMIN = "Adm1n-pass-Job"
SMOKE = "sm0ke-Job-pass-91"


def plan_text() -> str:
    code = ("import sys; from ansible_collections.openova.stalwart.plugins.module_utils import _stalwart_plan as p;"
            "sys.stdout.write(p.plan_ndjson(p.build({'hostname': 'mail.example.org', 'domains': [{'name': 'example.org'},"
            " {'name': 'example.net'}], 'data_store': {'host': 'db'}, 'blob_store': {'bucket': 'b', 'region': 'us-east-1',"
            " 'endpoint': 'http://minio:9000'}, 'accounts': [{'name': 'smoke', 'domain': 'example.org',"
            " 'password_env': 'STALWART_SMOKE_PASSWORD'}]}).plan))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO / ".ansible" / "collections", capture_output=True,
                         text=True, check=True)
    return out.stdout


@pytest.fixture
def layout(tmp_path):
    root = tmp_path / "opt"
    (root / PACKAGE).mkdir(parents=True)
    for name in FILES:
        shutil.copy(MODULE_UTILS / name, root / PACKAGE / name)
    (root / "plan.ndjson").write_text(plan_text())
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "STALWART_RECOVERY_ADMIN").write_text(f"admin:{ADMIN}")
    (secrets / "STALWART_SMOKE_PASSWORD").write_text(SMOKE)
    return root, secrets


@pytest.fixture
def server(shared_dir):
    jmap = JmapServer(shared_dir / "stalwart" / "schema-0.16.18.json.gz", users={"admin": ADMIN})
    jmap.start()
    yield jmap
    jmap.stop()


def run_job(layout, url: str, *extra: str) -> subprocess.CompletedProcess:
    root, secrets = layout
    cmd = [sys.executable, "-S", "-B", "-m", f"{PACKAGE.replace('/', '.')}._settings_job", "--url", url,
           "--plan", str(root / "plan.ndjson"), "--admin-file", str(secrets / "STALWART_RECOVERY_ADMIN"),
           "--secrets-dir", str(secrets), "--reconcile", "DkimSignature", *extra]
    return subprocess.run(cmd, cwd=root, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, timeout=120,
                          check=False)


def test_first_run_creates_everything_second_writes_nothing(layout, server):
    first = run_job(layout, server.url)
    assert first.returncode == 0, first.stderr
    assert {d["name"] for d in server.objects("Domain")} == {"example.org", "example.net"}
    assert len(server.objects("DkimSignature")) == 4
    assert server.objects("Account")[0]["credentials"]["0"]["secret"] == SMOKE  # from the mounted file
    assert "Domain (2 created)" in first.stderr
    writes = server.set_calls
    assert writes > 0
    second = run_job(layout, server.url)
    assert second.returncode == 0, second.stderr
    assert server.set_calls == writes
    assert "nothing to change" in second.stderr
    for out in (first, second):
        assert ADMIN not in out.stdout + out.stderr and SMOKE not in out.stdout + out.stderr


def test_wrong_admin_secret_fails_at_once_with_a_clear_log(layout, server):
    (layout[1] / "STALWART_RECOVERY_ADMIN").write_text("admin:not-the-password")
    result = run_job(layout, server.url, "--wait", "60")
    assert result.returncode == 2
    assert "authentication failed for user 'admin'" in result.stderr and "mounted Secret" in result.stderr
    assert server.set_calls == 0
    assert "not-the-password" not in result.stderr


def test_api_never_up_fails_after_the_bounded_wait(layout):
    from fakes.common import free_port  # pylint: disable=import-outside-toplevel

    result = run_job(layout, f"http://127.0.0.1:{free_port()}", "--wait", "3", "--interval", "0.5")
    assert result.returncode == 1
    assert "waiting for the Stalwart API" in result.stderr
    assert "did not answer within 3 s" in result.stderr


def test_missing_secret_reference_fails_before_any_request(layout, server):
    (layout[1] / "STALWART_SMOKE_PASSWORD").unlink()
    result = run_job(layout, server.url)
    assert result.returncode == 2
    assert "STALWART_SMOKE_PASSWORD not found" in result.stderr
    assert server.requests == 0
