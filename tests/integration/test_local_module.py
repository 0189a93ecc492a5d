# -*- coding: utf-8 -*-
"""The action plugins of dkim_key, dns_records, k8s_render and stalwart_config run the module's code in the worker
when the target is this controller's own Python, and the module itself (AnsiballZ) otherwise: the same results,
changes, diffs and masking both ways."""

from __future__ import annotations

import pytest

SECRET = "pa55word-never-shown"


def _tasks(root: str) -> list[dict]:
    manifests = [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ns"},
                  "stringData": {"password": SECRET}},
                 {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns"},
                  "data": {"greeting": "hello"}}]
    return [
        {"name": "render", "openova.stalwart.k8s_render": {"path": f"{root}/render", "component": "stalwart", "order": 10,
                                                           "manifests": manifests}, "register": "rendered"},
        {"name": "keys", "openova.stalwart.dkim_key": {"keys": [{"domain": "a.test", "selector": "s1-rsa"},
                                                                {"domain": "a.test", "selector": "s1-ed25519",
                                                                 "algorithm": "ed25519"}],
                                                       "key_dir": f"{root}/dkim"}, "register": "keys"},
        {"name": "records", "openova.stalwart.dns_records": {
            "domains": [{"name": "a.test"}], "mail_host": "mail.a.test", "mail_host_ipv4": ["192.0.2.1"],
            # check mode makes no key, so there is no record value yet
            "dkim_records": "{{ [] if ansible_check_mode else keys.dkim_keys | openova.stalwart.dkim_public_records }}",
            "provider": "zonefile",
            "zonefile_dir": f"{root}/dns", "return_records": False}, "register": "records"},
        {"name": "bad", "openova.stalwart.k8s_render": {"path": f"{root}/render", "component": "stalwart", "order": 10,
                                                        "manifests": [], "bogus": 1},
         "register": "bad", "ignore_errors": True},
    ]


def _play(root: str, environment: dict | None) -> list:
    play = {"hosts": "localhost", "gather_facts": False, "tasks": _tasks(root)}
    if environment:
        play["environment"] = environment  # a task environment: the module runs as a process, as it must
    return [play]


def _results(run) -> dict:
    out = {}
    for task in run.data["plays"][0]["tasks"]:
        result = dict(task["hosts"]["localhost"])
        for key in ("_ansible_no_log", "invocation", "warnings", "deprecations"):
            result.pop(key, None)
        out[task["task"]["name"]] = result
    return out


@pytest.mark.parametrize("check", [False, True])
def test_in_process_and_module_runs_agree(playbook, tmp_path, check):
    runs = {}
    for how, env in (("here", None), ("module", {"OPENOVA_STALWART_TEST": "1"})):
        root = str(tmp_path / how)
        first = playbook(_play(root, env), diff=True, check=check, args=["-vvv"])
        assert first.rc == 0, first.stdout[-3000:]
        # -vvv shows the AnsiballZ payload only when a module process ran.
        ran_module = "AnsiballZ_k8s_render" in first.stdout
        assert ran_module == (how == "module")
        assert SECRET not in first.stdout + first.stderr
        runs[how] = _results(first)
        if not check:
            again = playbook(_play(root, env))
            assert again.changed == 0
    here, module = runs["here"], runs["module"]
    assert here["render"]["changed"] is True and module["render"] == here["render"]
    assert [(k["record_name"], k["key_action"], k["changed"]) for k in here["keys"]["dkim_keys"]] == \
        [(k["record_name"], k["key_action"], k["changed"]) for k in module["keys"]["dkim_keys"]]
    assert here["records"]["changed"] is True and module["records"]["changed"] is True
    assert here["bad"]["failed"] and here["bad"]["msg"] == module["bad"]["msg"]
    assert here["bad"]["msg"].startswith("Unsupported parameters for (openova.stalwart.k8s_render) module: bogus")
