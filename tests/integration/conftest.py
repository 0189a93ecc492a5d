# -*- coding: utf-8 -*-
"""Fixtures that start real servers on loopback. `make integration` runs these tests inside a private
network namespace, so only 127.0.0.1 exists and nothing can leave the machine."""

from __future__ import annotations

import fcntl
import json
import pathlib
import shutil
import sys
import typing as t

import pytest

# The servers and stand-ins are the package tests/fakes (shared with the benchmarks and molecule).
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from fakes.ansible import run_playbook  # noqa: E402  pylint: disable=wrong-import-position
from fakes.bind import BindServer  # noqa: E402  pylint: disable=wrong-import-position

SHARED = pathlib.Path(__file__).resolve().parents[2].parent / "shared"

# Seconds each module took in a full `make integration` (2 workers, --dist loadfile), rounded. With loadfile a
# module runs on one worker; handing out the longest first (the Makefile turns off xdist's own order, which puts
# modules with few tests last, however long they take) lets both workers finish together. Only the order
# depends on these numbers: refresh them when a module grows or shrinks a lot; unknown modules count as 60.
MODULE_SECONDS = {
    "test_dkim_rotate_apply": 255, "test_stalwart_role_render": 190, "test_dns": 130, "test_stalwart_role_apply": 125,
    "test_stalwart_settings": 120, "test_dkim_rotate": 120, "test_k8s_check_mode": 100, "test_day2_backup": 95,
    "test_cnpg_apply": 90, "test_k8s_manifests": 75, "test_day2_upgrade": 85, "test_kube_server": 85, "test_site_render": 75,
    "test_stalwart_dkim_shards": 65, "test_mail_smoke_test": 50, "test_day2_teardown": 45, "test_dkim_key": 45,
    "test_minio_s3": 45, "test_inject": 45, "test_bad_input": 30, "test_render_modes": 20, "test_stalwart_config": 40,
    "test_galaxy_build": 10, "test_site_dns": 20, "test_site_order": 110,
    "test_settings_job": 8,
    "test_settings_job_render": 80, "test_settings_job_scale": 90, "test_stalwart_accounts": 70,
    "test_awx": 2, "test_controller_actions": 20,
    "test_stalwart_postgres_tls": 20, "test_stalwart_tls_reload": 20, "test_stalwart_coordinator": 40, "test_stalwart_version_gate": 15,
    "test_restore_drill": 120, "test_faults": 150,
}


def pytest_collection_modifyitems(items):
    """The longest modules first (MODULE_SECONDS); the order inside a module is kept."""
    items.sort(key=lambda item: -MODULE_SECONDS.get(item.path.stem, 60))


BIND_ZONES = ["example.com", "example.net", "example.org", "dkim.test", "drift.test", "faults.test", "rotate.test", "lb.test", "signed.test"]


@pytest.fixture(scope="session")
def shared_dir() -> pathlib.Path:
    """The read-only reference data beside the checkout (upstream schemas); skip when absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    return SHARED


@pytest.fixture(scope="session")
def bind(tmp_path_factory) -> BindServer:
    """A real BIND 9 serving TSIG-updatable zones on 127.0.0.1 (one per test worker)."""
    if not shutil.which("named"):
        pytest.fail("named (Debian package bind9) is not installed: run `make install`")
    server = BindServer(tmp_path_factory.mktemp("bind"), BIND_ZONES)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory, worker_id, testrun_uid):
    """``session_cache(name, build)``: the JSON data ``build(workdir)`` returns, built once per test run and shared
    by every test and every xdist worker (a file under the run's base temp, a lock while one worker builds).
    For expensive scenes, e.g. a converged cluster that tests restore into servers of their own."""
    built: dict[str, t.Any] = {}

    def _get(name: str, build: t.Callable[[pathlib.Path], t.Any]) -> t.Any:
        if name in built:
            return built[name]
        if worker_id == "master":  # no xdist: this process is the whole run
            built[name] = json.loads(json.dumps(build(tmp_path_factory.mktemp(name))))
            return built[name]
        path = tmp_path_factory.getbasetemp().parent / f"{name}-{testrun_uid}.json"
        with open(f"{path}.lock", "w", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not path.exists():
                tmp = path.with_suffix(".tmp")
                tmp.write_text(json.dumps(build(tmp_path_factory.mktemp(name))))
                tmp.rename(path)
        built[name] = json.loads(path.read_text())
        return built[name]

    return _get


@pytest.fixture
def playbook(tmp_path):
    """Run ansible-playbook on this checkout: ``playbook(plays_or_path, extra_vars=..., check=..., diff=...)``."""
    def _run(plays, **kwargs):
        return run_playbook(plays, tmp_path / "run", **kwargs)
    return _run


@pytest.fixture(scope="session")
def mail_rig():
    """Real Postfix (submission 465/587-like, SASL via Dovecot) -> dkimpy signing hop -> Dovecot (IMAPS, LMTP)
    on 127.0.0.1 high ports behind a self-signed CA; see fakes/mail.py (one rig per test worker)."""
    from fakes.mail import MailRig, stop_packaged_services  # pylint: disable=import-outside-toplevel

    stop_packaged_services()
    rig = MailRig()  # in its own /tmp directory: see MailRig.__init__
    rig.start()
    yield rig
    rig.stop()


@pytest.fixture(scope="session")
def jmap_mail(mail_rig):
    """A JMAP server (Email/query, Email/get, Email/set destroy) over the mail rig's Maildirs."""
    from fakes.jmap_mail import JmapMailServer  # pylint: disable=import-outside-toplevel

    server = JmapMailServer(mail_rig.users, mail_rig.maildir, mail_rig.tls["cert"], mail_rig.tls["key"])
    server.start()
    yield server
    server.stop()


@pytest.fixture
def jmap_server(shared_dir):
    """A fresh Stalwart management API (JMAP) test server enforcing the upstream registry schema; admin/Adm1n-pass."""
    from fakes.jmap import JmapServer  # pylint: disable=import-outside-toplevel

    server = JmapServer(shared_dir / "stalwart" / "schema-0.16.18.json.gz", users={"admin": "Adm1n-pass", "viewer": "View3r-pass"},
                        forbidden={"viewer"})
    server.start()
    yield server
    server.stop()


def _kube_crd_dir():
    crds = SHARED / "crds"
    return crds if crds.is_dir() else None


@pytest.fixture
def kube_factory(tmp_path):
    """Start Kubernetes API test servers with options: ``kube_factory(controllers={...}, crd_dir=None)``.
    The operator CRDs from ../shared/crds are preloaded unless ``crd_dir`` says otherwise; ``state=`` restores a
    ``KubeServer.snapshot()`` (its CRDs included) instead."""
    from fakes.kube import KubeServer  # pylint: disable=import-outside-toplevel

    started = []

    def _start(state: dict | None = None, **kwargs):
        kwargs.setdefault("crd_dir", None if state else _kube_crd_dir())
        server = KubeServer(tmp_path / f"kube-{len(started)}", **kwargs).start()
        started.append(server)
        return server.restore(state) if state else server

    yield _start
    for server in started:
        server.stop()
    errors = [error for server in started for error in server.controller_errors]
    assert not errors, f"the simulated operators failed: {errors}"


@pytest.fixture
def kube(kube_factory):
    """A fresh Kubernetes API test server enforcing upstream schemas (``.kubeconfig``, ``.url``, counters,
    ``.get()``/``.list()``), with the operator CRDs from ../shared/crds preloaded when present."""
    return kube_factory()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A local S3 endpoint (moto_server) on 127.0.0.1; it does not check credentials (one per test worker)."""
    from fakes.s3 import S3Server  # pylint: disable=import-outside-toplevel

    server = S3Server(tmp_path_factory.mktemp("s3")).start()
    yield server
    server.stop()
