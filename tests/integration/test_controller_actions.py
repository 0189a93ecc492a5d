# -*- coding: utf-8 -*-
"""dkim_key, dns_records, k8s_render and stalwart_config are action plugins that do their work on the controller,
whichever host the task is for; k8s_manifests is a plain module that runs on the target, as kubernetes.core.k8s
does. Both kinds validate their arguments with the module's argument spec, honour check and diff mode, and never
show a no_log value."""

from __future__ import annotations

SECRET = "pa55word-never-shown"
MANIFESTS = [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ns"},
              "stringData": {"password": SECRET}},
             {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns"},
              "data": {"greeting": "hello"}}]


def _tasks(root: str) -> list[dict]:
    return [
        {"name": "render", "openova.stalwart.k8s_render": {"path": f"{root}/render", "component": "stalwart", "order": 10,
                                                           "manifests": MANIFESTS}, "register": "rendered"},
        {"name": "keys", "openova.stalwart.dkim_key": {"keys": [{"domain": "a.test", "selector": "s1-rsa"},
                                                                {"domain": "a.test", "selector": "s1-ed25519",
                                                                 "algorithm": "ed25519"}],
                                                       "key_dir": f"{root}/dkim"}, "register": "keys"},
        {"name": "records", "openova.stalwart.dns_records": {
            "domains": [{"name": "a.test"}], "mail_host": "mail.a.test", "mail_host_ipv4": ["192.0.2.1"],
            # check mode makes no key, so there is no record value yet
            "dkim_records": "{{ [] if ansible_check_mode else keys.dkim_keys | openova.stalwart.dkim_public_records }}",
            "provider": "zonefile", "zonefile_dir": f"{root}/dns", "return_records": False}, "register": "records"},
        {"name": "config", "openova.stalwart.stalwart_config": {
            "hostname": "mail.a.test", "domains": [{"name": "a.test"}], "data_store": {"host": "db"},
            "blob_store": {"bucket": "mail", "region": "us-east-1", "endpoint": "http://minio:80"},
            "dest": f"{root}/stalwart"}, "register": "config"},
    ]


def test_controller_actions_run_on_the_controller_for_any_host(playbook, tmp_path):
    """A host that cannot be reached: the actions work on the controller without it; the plain module needs it."""
    root = tmp_path / "far"
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "all:\n  hosts:\n    far:\n      ansible_connection: ssh\n      ansible_host: 192.0.2.9\n"
        "      ansible_ssh_common_args: -o ConnectTimeout=3\n")
    plays = [{"hosts": "far", "gather_facts": False, "tasks": _tasks(str(root)) + [
        {"name": "apply", "openova.stalwart.k8s_manifests": {"component": "stalwart", "manifests": MANIFESTS}}]}]
    run = playbook(plays, inventory=inventory, args=["-vvv"])
    for name in ("render", "keys", "records", "config"):
        assert run.task(name)["changed"] is True, run.task(name)
    assert (root / "render" / "secrets" / "stalwart" / "ns-s.yaml").is_file()
    assert sorted(p.name for p in (root / "dkim").iterdir()) == ["s1-ed25519._domainkey.a.test.pem",
                                                                 "s1-rsa._domainkey.a.test.pem"]
    assert (root / "dns").is_dir() and (root / "stalwart" / "config.json").is_file()
    # No module process for the controller actions; the plain module is sent to the host, which is unreachable.
    for name in ("k8s_render", "dkim_key", "dns_records", "stalwart_config"):
        assert f"AnsiballZ_{name}" not in run.stdout
    assert run.task("apply").get("unreachable") is True
    assert SECRET not in run.stdout + run.stderr


def test_check_mode_diff_and_rerun(playbook, tmp_path):
    root = tmp_path / "here"
    plays = [{"hosts": "localhost", "gather_facts": False, "tasks": _tasks(str(root))}]
    check = playbook(plays, check=True, diff=True)
    assert check.rc == 0, check.stdout[-3000:]
    assert all(check.task(name)["changed"] is True for name in ("render", "keys", "records", "config"))
    assert not root.exists()  # nothing written in check mode
    assert check.task("config")["diff"][0]["after_header"] == f"{root}/stalwart/config.json"
    assert SECRET not in check.stdout + check.stderr
    first = playbook(plays, diff=True)
    assert first.rc == 0 and first.changed == 4, first.stdout[-3000:]
    assert SECRET not in first.stdout + first.stderr
    # The Secret file shows as changed without its content.
    assert any("ns-s.yaml" in path for path in first.task("render")["written"])
    assert playbook(plays).changed == 0
    # Invocation as a module reports it: the manifests by count only.
    assert first.task("render")["invocation"]["module_args"]["manifests"] == "(2 objects)"


def test_arguments_are_validated_naming_the_option(playbook, tmp_path):
    tasks = [
        {"name": "unknown", "openova.stalwart.k8s_render": {"path": str(tmp_path), "component": "stalwart", "order": 10,
                                                            "manifests": [], "bogus": 1}},
        {"name": "type", "openova.stalwart.k8s_render": {"path": str(tmp_path), "component": "stalwart", "order": "ten",
                                                         "manifests": []}},
        {"name": "missing", "openova.stalwart.dkim_key": {"key_dir": str(tmp_path)}},
        {"name": "required_if", "openova.stalwart.dns_records": {
            "domains": [{"name": "a.test"}], "mail_host": "mail.a.test", "provider": "rfc2136",
            "key_name": "k", "key_secret": SECRET}},
        {"name": "choices", "openova.stalwart.stalwart_config": {
            "hostname": "mail.a.test", "domains": [{"name": "a.test"}], "data_store": {"host": "db"},
            "blob_store": {"bucket": "mail", "region": "us-east-1", "endpoint": "http://minio:80"},
            "listeners": ["gopher"]}},
        {"name": "module", "openova.stalwart.k8s_manifests": {"component": "stalwart", "manifests": [],
                                                              "wait_timeout": "soon"}},
        {"name": "async", "openova.stalwart.k8s_render": {"path": str(tmp_path), "component": "stalwart", "order": 10,
                                                          "manifests": []}, "async": 30, "poll": 2},
    ]
    for task in tasks:
        task["ignore_errors"] = True
    run = playbook([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], args=["-vvv"])
    msgs = {name: run.task(name)["msg"] for name in ("unknown", "type", "missing", "required_if", "choices", "module", "async")}
    assert all(run.task(name)["failed"] for name in msgs)
    assert msgs["unknown"].startswith("Unsupported parameters for (openova.stalwart.k8s_render) module: bogus")
    assert "argument 'order' is of type" in msgs["type"]
    assert msgs["missing"] == "one of the following is required: domain, keys"
    assert msgs["required_if"] == "provider is rfc2136 but all of the following are missing: server"
    assert "value of listeners must be one or more of" in msgs["choices"]
    # k8s_manifests is a module: AnsibleModule refuses the argument in its own process on the target.
    assert "argument 'wait_timeout' is of type" in msgs["module"] and "AnsiballZ_k8s_manifests" in run.stdout
    assert "async" in msgs["async"]
    assert SECRET not in run.stdout + run.stderr
    assert not (tmp_path / "kubernetes").exists()
