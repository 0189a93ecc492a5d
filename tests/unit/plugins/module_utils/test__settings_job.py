# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

import pytest

from ansible_collections.openova.stalwart.plugins.module_utils import _jmap, _settings_job


def test_file_secrets_prefer_the_mounted_file_then_the_environment(tmp_path):
    (tmp_path / "STALWART_SMOKE_PASSWORD").write_text("from-file")
    secrets = _settings_job.FileSecrets(str(tmp_path), {"STALWART_SMOKE_PASSWORD": "from-env", "OTHER": "env-only"})
    assert secrets["STALWART_SMOKE_PASSWORD"] == "from-file"
    assert secrets["OTHER"] == "env-only"
    assert "MISSING" not in secrets and "../etc/passwd" not in secrets
    with pytest.raises(KeyError):
        secrets["MISSING"]  # pylint: disable=pointless-statement
    # The reconciler resolves references through it.
    assert _jmap.resolve_secrets({"secret": {"@env": "STALWART_SMOKE_PASSWORD"}}, secrets, "x") == {"secret": "from-file"}


def test_read_admin(tmp_path):
    path = tmp_path / "admin"
    path.write_text("admin:pa:ss\n")
    assert _settings_job.read_admin(str(path), {}) == ("admin", "pa:ss")
    assert _settings_job.read_admin(None, {"STALWART_RECOVERY_ADMIN": "root:x"}) == ("root", "x")
    for bad in ("admin", "admin:", ":pw"):
        path.write_text(bad)
        with pytest.raises(ValueError, match="user:password"):
            _settings_job.read_admin(str(path), {})


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_wait_for_api_is_bounded_and_stops_on_refused_credentials():
    clock = Clock()
    lines = []

    def down(method, url, body, headers, timeout):
        clock.now += 1
        raise ConnectionRefusedError("refused")

    client = _jmap.Client("http://stalwart:8080", "admin", "pw", down, retries=1)
    with pytest.raises(_jmap.JmapError, match="did not answer within 30 s"):
        _settings_job.wait_for_api(client, 30, 5, lines.append, clock=clock, sleep=clock.sleep)
    assert 30 <= clock.now < 37 and lines and "waiting for the Stalwart API" in lines[0]

    def refused(method, url, body, headers, timeout):
        return 401, b"", {}

    client = _jmap.Client("http://stalwart:8080", "admin", "pw", refused, retries=1)
    clock.now = 0
    with pytest.raises(_jmap.AuthError):
        _settings_job.wait_for_api(client, 30, 5, lines.append, clock=clock, sleep=clock.sleep)
    assert clock.now == 0


def test_reconcile_arguments():
    assert _settings_job._reconcile(["DkimSignature", '{"object": "Account", "scope": {"domainId": "a"}}']) == [
        {"object": "DkimSignature"}, {"object": "Account", "scope": {"domainId": "a"}}]
    with pytest.raises(ValueError):
        _settings_job._reconcile(['{"scope": {}}'])


def test_bad_plan_is_a_permanent_failure(tmp_path):
    plan = tmp_path / "plan.ndjson"
    plan.write_text("{not json\n")
    lines = []
    assert _settings_job.run(["--url", "http://x:8080", "--plan", str(plan)], {"STALWART_RECOVERY_ADMIN": "a:b"},
                             lines.append) == _settings_job.EXIT_FATAL
    assert "line 1 is not JSON" in lines[-1]


def test_plan_pieces_are_joined_in_order_before_parsing(tmp_path):
    """A plan too large for one ConfigMap comes in pieces cut mid-line (_settings_bundle.split_text): --plan once per
    piece, joined in the order given. Parsed whole, the plan gets as far as its secret references."""
    text = '{"@type":"update","object":"SystemSettings","value":{"secret":{"@env":"STALWART_X"}}}\n'
    paths = []
    for index, piece in enumerate((text[:20], text[20:50], text[50:])):
        paths += ["--plan", str(tmp_path / f"plan-{index}.ndjson")]
        (tmp_path / f"plan-{index}.ndjson").write_text(piece)
    lines = []
    assert _settings_job.run(["--url", "http://x:8080"] + paths, {"STALWART_RECOVERY_ADMIN": "a:b"}, lines.append) == _settings_job.EXIT_FATAL
    assert "secret reference(s) STALWART_X not found" in lines[-1], lines
    swapped = paths[:2] + paths[4:] + paths[2:4]
    assert _settings_job.run(["--url", "http://x:8080"] + swapped, {"STALWART_RECOVERY_ADMIN": "a:b"}, lines.append) == _settings_job.EXIT_FATAL
    assert "is not JSON" in lines[-1] and "plan-0.ndjson + " in lines[-1]
