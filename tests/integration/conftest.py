# -*- coding: utf-8 -*-
"""Fixtures that start real servers on loopback. `make integration` runs these tests inside a private
network namespace, so only 127.0.0.1 exists and nothing can leave the machine."""

from __future__ import annotations

import pathlib
import shutil
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from servers.ansible import run_playbook  # noqa: E402  pylint: disable=wrong-import-position
from servers.bind import BindServer  # noqa: E402  pylint: disable=wrong-import-position

SHARED = pathlib.Path(__file__).resolve().parents[2].parent / "shared"

BIND_ZONES = ["example.com", "example.net", "example.org", "dkim.test", "drift.test", "faults.test"]


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


@pytest.fixture
def playbook(tmp_path):
    """Run ansible-playbook on this checkout: ``playbook(plays_or_path, extra_vars=..., check=..., diff=...)``."""
    def _run(plays, **kwargs):
        return run_playbook(plays, tmp_path / "run", **kwargs)
    return _run
