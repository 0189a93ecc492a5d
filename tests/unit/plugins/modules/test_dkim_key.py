# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The module's glue: option forms, result shape, failures naming the option."""

from __future__ import annotations

import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.openova.stalwart.plugins.modules import dkim_key

pytest.importorskip("cryptography")


def _run(capsys, args: dict, check_mode: bool = False) -> dict:
    if check_mode:
        args = dict(args, _ansible_check_mode=True)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            dkim_key.main()
    return json.loads(capsys.readouterr().out)


def test_single_form_returns_the_key_at_top_level(capsys, tmp_path):
    path = tmp_path / "keys" / "k.pem"
    result = _run(capsys, {"domain": "example.org", "selector": "s1", "algorithm": "ed25519", "path": str(path)})
    assert result["changed"] and result["key_action"] == "generate"
    assert result["size"] == 256  # the key size, not the file size Ansible would add for a "path" result
    assert result["path"] == str(path) and "dkim_keys" not in result and "uid" not in result
    assert result["record_name"] == "s1._domainkey.example.org"
    assert os.stat(path).st_mode & 0o777 == 0o600
    again = _run(capsys, {"domain": "example.org", "selector": "s1", "algorithm": "ed25519", "path": str(path)})
    assert not again["changed"] and again["txt_value"] == result["txt_value"]


def test_bulk_form_in_check_mode(capsys, tmp_path):
    result = _run(capsys, {"keys": [{"domain": "example.org", "selector": "a", "algorithm": "ed25519"},
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
def test_bad_options_fail_naming_the_option(capsys, args, message):
    result = _run(capsys, args)
    assert result["failed"] and message in result["msg"]


def test_private_keys_only_on_request(capsys):
    args = {"keys": [{"domain": "example.org", "selector": "a", "algorithm": "ed25519"}]}
    assert "private_key" not in _run(capsys, args)["dkim_keys"][0]
    returned = _run(capsys, dict(args, return_private_keys=True))["dkim_keys"][0]
    assert returned["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    # Passed back in, the key is used as it is and not echoed (Ansible would mask it anyway).
    reused = _run(capsys, {"keys": [dict(args["keys"][0], private_key=returned["private_key"])],
                           "return_private_keys": True})
    assert reused["changed"] is False and "private_key" not in reused["dkim_keys"][0]
    assert reused["dkim_keys"][0]["txt_value"] == returned["txt_value"]
