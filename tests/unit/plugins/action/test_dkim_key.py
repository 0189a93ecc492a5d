# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The action plugin: option forms, result shape, failures naming the option, check mode, no_log masking."""

from __future__ import annotations

import os
from unittest.mock import MagicMock

import pytest

from ansible_collections.openova.stalwart.plugins.action import dkim_key

pytest.importorskip("cryptography")


def _run(args: dict, check_mode: bool = False, diff: bool = False) -> dict:
    task = MagicMock(args=args, check_mode=check_mode, diff=diff, async_val=0, action="openova.stalwart.dkim_key",
                     resolved_action="openova.stalwart.dkim_key")
    connection = MagicMock()
    connection._shell.tmpdir = None  # pylint: disable=protected-access
    action = dkim_key.ActionModule(task, connection, MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    return action.run(task_vars={})


def test_single_form_returns_the_key_at_top_level(tmp_path):
    path = tmp_path / "keys" / "k.pem"
    result = _run({"domain": "example.org", "selector": "s1", "algorithm": "ed25519", "path": str(path)})
    assert result["changed"] and result["key_action"] == "generate"
    assert result["size"] == 256  # the key size, not the file size Ansible would add for a "path" result
    assert result["path"] == str(path) and "dkim_keys" not in result and "uid" not in result
    assert result["record_name"] == "s1._domainkey.example.org"
    assert os.stat(path).st_mode & 0o777 == 0o600
    again = _run({"domain": "example.org", "selector": "s1", "algorithm": "ed25519", "path": str(path)})
    assert not again["changed"] and again["txt_value"] == result["txt_value"]


def test_bulk_form_in_check_mode(tmp_path):
    result = _run({"keys": [{"domain": "example.org", "selector": "a", "algorithm": "ed25519"},
                            {"domain": "example.net", "selector": "b", "size": 3072}],
                   "key_dir": str(tmp_path / "dkim")}, check_mode=True)
    assert result["changed"] and not (tmp_path / "dkim").exists()
    assert [(k["algorithm"], k["size"], k["key_action"]) for k in result["dkim_keys"]] == [
        ("ed25519", 256, "generate"), ("rsa", 3072, "generate")]


@pytest.mark.parametrize("args, message", [
    ({"domain": "example.org", "selector": "s1", "size": 1024}, "size: RSA keys of 1024 bits are refused"),
    ({"domain": "example.org"}, "parameters are required together: domain, selector"),
    ({"key_dir": "/x"}, "one of the following is required: domain, keys"),
    ({"domain": "example.org", "selector": "s1", "path": "/x.pem", "key_dir": "/x"},
     "parameters are mutually exclusive: path|key_dir"),
    ({"keys": [{"domain": "example.org", "selector": "s1"}], "private_key": "not-a-key"},
     "parameters are mutually exclusive: keys|private_key"),
    ({"keys": [{"domain": "example.org", "selector": "s1", "algorithm": "dsa"}]},
     "value of algorithm must be one of: rsa, ed25519, got: dsa found in keys"),
])
def test_bad_options_fail_naming_the_option(args, message):
    result = _run(args)
    assert result["failed"] and message in result["msg"]


def test_private_keys_only_on_request():
    args = {"keys": [{"domain": "example.org", "selector": "a", "algorithm": "ed25519"}]}
    assert "private_key" not in _run(args)["dkim_keys"][0]
    returned = _run(dict(args, return_private_keys=True))["dkim_keys"][0]
    assert returned["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    # Passed back in, the key is used as it is and not echoed (Ansible would mask it anyway).
    reused = _run({"keys": [dict(args["keys"][0], private_key=returned["private_key"])],
                   "return_private_keys": True})
    assert reused["changed"] is False and "private_key" not in reused["dkim_keys"][0]
    assert reused["dkim_keys"][0]["txt_value"] == returned["txt_value"]


def test_no_log_values_are_masked_in_the_result():
    args = {"keys": [{"domain": "example.org", "selector": "a", "algorithm": "ed25519"}], "return_private_keys": True}
    pem = _run(args)["dkim_keys"][0]["private_key"]
    # The passed-in key is a no_log value: wherever it would show (the invocation), it is masked.
    reused = _run({"keys": [dict(args["keys"][0], private_key=pem)]})
    assert pem not in repr(reused) and "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in repr(reused["invocation"])


def test_diff_mode_lists_public_records_only(tmp_path):
    args = {"keys": [{"domain": "example.org", "selector": "a", "algorithm": "ed25519"}], "key_dir": str(tmp_path)}
    assert "diff" not in _run(args, check_mode=True)
    result = _run(args, diff=True)
    assert result["changed"] and "a._domainkey.example.org" in repr(result["diff"])
    assert "PRIVATE KEY" not in repr(result["diff"])


def test_async_is_refused():
    task = MagicMock(args={"domain": "example.org", "selector": "s1"}, check_mode=False, diff=False, async_val=10)
    action = dkim_key.ActionModule(task, MagicMock(), MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    with pytest.raises(Exception, match="async"):
        action.run(task_vars={})
