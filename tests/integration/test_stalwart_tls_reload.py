# -*- coding: utf-8 -*-
"""A renewed certificate reaches the running server with nothing the collection does not install
(stalwart_tls_reload: api, the default): the rendered StatefulSet's tls-reload container, its command run for real
by sh with curl against the schema-enforcing JMAP test server, asks for Stalwart's ReloadTlsCertificates action once
per version of the mounted TLS Secret (the kubelet's ..data swap), retries while the API is not up, and never passes
the admin password on a command line. stalwart_tls_reload: reloader keeps the Stakater annotation instead."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import time

import pytest

from fakes.ansible import render_stalwart
from fakes.jmap import JmapServer
from fakes.manifests import assert_restricted_pss, load_documents, validate

ADMIN_PASSWORD = "Adm1n-Reload-pass-73"


def statefulset(tmp: pathlib.Path, shared_dir, extra: dict | None = None) -> dict:
    out = tmp / "render"
    result = render_stalwart(tmp / "run", out, {"stalwart_smoke_account": "", **(extra or {})})
    assert result.rc == 0, result.stdout[-5000:] + result.stderr[-2000:]
    sts = next(d for d in load_documents(out / "kubernetes") if d["kind"] == "StatefulSet")
    validate(sts, shared_dir)
    assert_restricted_pss(sts)
    return sts


@pytest.fixture(scope="module")
def sts(tmp_path_factory, shared_dir):
    return statefulset(tmp_path_factory.mktemp("tls-reload"), shared_dir)


def test_default_adds_the_reload_container_and_no_foreign_annotation(sts):
    assert "secret.reloader.stakater.com/reload" not in (sts["metadata"].get("annotations") or {})
    containers = {c["name"]: c for c in sts["spec"]["template"]["spec"]["containers"]}
    reload = containers["tls-reload"]
    assert reload["image"] == containers["stalwart"]["image"]  # nothing more to pull
    assert reload["command"][:2] == ["/bin/sh", "-c"]
    mounts = {m["name"]: m["mountPath"] for m in reload["volumeMounts"]}
    assert mounts == {"tls": "/etc/stalwart/tls"}
    env = {e["name"]: e for e in reload["env"]}
    assert env["TLS_DIR"]["value"] == mounts["tls"]
    assert env["STALWART_API"]["value"] == "http://127.0.0.1:8080"  # the pod's own listener
    assert env["STALWART_RECOVERY_ADMIN"]["valueFrom"]["secretKeyRef"] == {
        "name": "stalwart-credentials", "key": "STALWART_RECOVERY_ADMIN"}
    assert {"name": "http", "containerPort": 8080, "protocol": "TCP"} in containers["stalwart"]["ports"]


def _version(tls_dir: pathlib.Path, n: int) -> None:
    """What the kubelet's atomic writer does for a new Secret version: a new timestamped directory, ..data re-pointed."""
    version = tls_dir / f"..2026_12_05_0{n}_00_00.{n}"
    version.mkdir()
    (version / "tls.crt").write_text(f"certificate {n}\n")
    (version / "tls.key").write_text(f"key {n}\n")
    tmp_link = tls_dir / "..data_tmp"
    tmp_link.symlink_to(version.name)
    os.replace(tmp_link, tls_dir / "..data")
    for name in ("tls.crt", "tls.key"):
        if not (tls_dir / name).is_symlink():
            (tls_dir / name).symlink_to(f"..data/{name}")


def _wait_for(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def _start(sts: dict, tls_dir: pathlib.Path, url: str, admin: str, log: pathlib.Path) -> subprocess.Popen:
    """The container's command as the pod runs it; curl is wrapped to record every argument it is given."""
    reload = next(c for c in sts["spec"]["template"]["spec"]["containers"] if c["name"] == "tls-reload")
    env = {e["name"]: e["value"] for e in reload["env"] if "value" in e}
    wrapper = log.parent / "bin"
    wrapper.mkdir()
    real = shutil.which("curl")
    (wrapper / "curl").write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" >> {log.parent / "curl-argv"}\nexec {real} "$@"\n')
    (wrapper / "curl").chmod(0o755)
    env.update(TLS_DIR=str(tls_dir), STALWART_API=url, INTERVAL="0.1", STALWART_RECOVERY_ADMIN=admin,
               PATH=f"{wrapper}:{os.environ['PATH']}")
    with open(log, "wb") as out:
        return subprocess.Popen(reload["command"], env=env, stdout=out, stderr=subprocess.STDOUT)


@pytest.fixture
def jmap(shared_dir):
    server = JmapServer(shared_dir / "stalwart" / "schema-0.16.18.json.gz", users={"admin": ADMIN_PASSWORD}).start()
    yield server
    server.stop()


def test_reload_container_asks_stalwart_once_per_secret_version(sts, jmap, tmp_path):
    tls_dir = tmp_path / "tls"
    tls_dir.mkdir()
    _version(tls_dir, 1)
    jmap.fail_statuses = [503, 503, 503]  # the server is still starting
    log = tmp_path / "reload.log"
    proc = _start(sts, tls_dir, jmap.url, f"admin:{ADMIN_PASSWORD}", log)
    try:
        assert _wait_for(lambda: len(jmap.actions) == 1), log.read_text()
        assert jmap.requests >= 4  # three refusals, then the reload
        time.sleep(1.0)  # ten more looks at an unchanged Secret
        assert len(jmap.actions) == 1
        _version(tls_dir, 2)  # cert-manager renewed, the kubelet updated the volume
        assert _wait_for(lambda: len(jmap.actions) == 2), log.read_text()
        time.sleep(0.5)
        assert jmap.actions == [{"@type": "ReloadTlsCertificates"}] * 2
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    argv = (tmp_path / "curl-argv").read_text()
    assert "--data-binary" in argv and ADMIN_PASSWORD not in argv and "Authorization" not in argv
    text = log.read_text()
    assert text.count("certificates reloaded") == 2 and ADMIN_PASSWORD not in text


def test_refused_login_reloads_nothing_and_says_so(sts, jmap, tmp_path):
    tls_dir = tmp_path / "tls"
    tls_dir.mkdir()
    _version(tls_dir, 1)
    log = tmp_path / "reload.log"
    proc = _start(sts, tls_dir, jmap.url, "admin:wrong-password", log)
    try:
        assert _wait_for(lambda: jmap.requests >= 3)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert jmap.actions == []
    assert "401" in log.read_text() and "certificates reloaded" not in log.read_text()


def test_reloader_and_none_leave_the_pod_alone(tmp_path, shared_dir):
    sts = statefulset(tmp_path / "reloader", shared_dir, {"stalwart_tls_reload": "reloader"})
    assert sts["metadata"]["annotations"] == {"secret.reloader.stakater.com/reload": "stalwart-tls"}
    assert [c["name"] for c in sts["spec"]["template"]["spec"]["containers"]] == ["stalwart"]
