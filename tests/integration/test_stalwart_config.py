# -*- coding: utf-8 -*-
"""stalwart_config through ansible-playbook: files, idempotence, check/diff mode, errors, scale, upstream schema."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import time

_SCHEMA_MODULE = pathlib.Path(__file__).resolve().parents[2] / "plugins" / "module_utils" / "_stalwart_schema.py"


def _schema(shared_dir):
    spec = importlib.util.spec_from_file_location("_stalwart_schema_for_config_tests", _SCHEMA_MODULE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Schema.load(str(shared_dir / "stalwart" / "schema-0.16.18.json.gz"))


def options(dest, **overrides):
    config = dict(
        hostname="mail.example.org",
        domains=[{"name": "example.org"}, {"name": "example.net", "dkim_selectors": {"ed25519": False}}],
        data_store={"host": "stalwart-db-rw", "password_env": "STALWART_DB_PASSWORD"},
        blob_store={"bucket": "stalwart", "region": "us-east-1", "endpoint": "http://minio.minio:80"},
        metrics={"password_env": "STALWART_METRICS_PASSWORD"},
        accounts=[{"name": "smoke", "domain": "example.org", "password_env": "STALWART_SMOKE_PASSWORD"}],
        dest=str(dest),
    )
    config.update(overrides)
    return config


def play(config: dict) -> list:
    return [{"hosts": "localhost", "gather_facts": False,
             "tasks": [{"name": "render", "openova.stalwart.stalwart_config": config, "register": "render", "ignore_errors": True}]}]


def test_writes_files_then_reports_no_change(playbook, tmp_path, shared_dir):
    dest = tmp_path / "render" / "stalwart"
    first = playbook(play(options(dest)))
    assert first.rc == 0, first.stdout[-3000:]
    result = first.task("render")
    assert result["changed"] is True
    assert result["files"] == [str(dest / "config.json"), str(dest / "plan.ndjson")]
    config = json.loads((dest / "config.json").read_text())
    # One serialization: what the role puts in its ConfigMap is what the file holds.
    assert result["config_json"] == (dest / "config.json").read_text()
    assert json.loads(result["config_json"]) == result["config"] == config
    assert config["@type"] == "PostgreSql"
    assert config["authSecret"] == {"@type": "EnvironmentVariable", "variableName": "STALWART_DB_PASSWORD"}
    lines = (dest / "plan.ndjson").read_text().splitlines()
    assert [json.loads(line) for line in lines] == result["plan"]
    assert result["summary"]["DkimSignature"] == 3

    schema = _schema(shared_dir)
    assert schema.check("DataStore", config) == []
    for op in result["plan"]:
        values = op["value"].values() if op["@type"] == "upsert" else [op["value"]]
        for value in values:
            assert schema.check(op["object"], value, update=op["@type"] == "update") == [], (op["object"], value)

    second = playbook(play(options(dest)))
    assert second.task("render")["changed"] is False
    assert (dest / "plan.ndjson").read_text().splitlines() == lines


def test_check_mode_and_diff(playbook, tmp_path):
    dest = tmp_path / "stalwart"
    checked = playbook(play(options(dest)), check=True, diff=True)
    assert checked.task("render")["changed"] is True
    assert not dest.exists()
    playbook(play(options(dest)))
    before = (dest / "plan.ndjson").read_text()
    changed = playbook(play(options(dest, hostname="mx.example.org")), check=True, diff=True)
    result = changed.task("render")
    assert result["changed"] is True
    assert (dest / "plan.ndjson").read_text() == before
    plan_diff = next(d for d in result["diff"] if d["after_header"].endswith("plan.ndjson"))
    assert "mail.example.org" in plan_diff["before"] and "mx.example.org" in plan_diff["after"]
    assert not any(d["after_header"].endswith("config.json") for d in result["diff"])


def test_no_secret_value_is_ever_rendered(playbook, tmp_path):
    dest = tmp_path / "stalwart"
    result = playbook(play(options(dest)))
    text = (dest / "config.json").read_text() + (dest / "plan.ndjson").read_text()
    assert '"secret":{"@env":"STALWART_SMOKE_PASSWORD"}' in text
    for ref in ("STALWART_DB_PASSWORD", "STALWART_S3_ACCESS_KEY", "STALWART_S3_SECRET_KEY", "STALWART_METRICS_PASSWORD"):
        assert f'"variableName":"{ref}"' in text.replace(": ", ":")
    assert '"@type":"Value"' not in text and '"@type":"Text"' not in text
    assert result.rc == 0


def test_bad_input_fails_before_writing_and_names_the_option(playbook, tmp_path):
    dest = tmp_path / "stalwart"
    cases = {
        "listener_ports.smtp: port 99999 is out of range": dict(listener_ports={"smtp": 99999}),
        "coordinator: replicas is 3 but no coordinator": dict(replicas=3),
        "blob_store.bucket is required": dict(blob_store={"region": "us-east-1"}),
        "hostname: 'mail' is not a fully qualified domain name": dict(hostname="mail"),
        "domains[1].name": dict(domains=[{"name": "example.org"}, {"name": "bad_domain.org"}]),
    }
    for message, overrides in cases.items():
        result = playbook(play(options(dest, **overrides))).task("render")
        assert result["failed"] is True and message in result["msg"], (message, result["msg"])
    more = {
        # Ansible's own argument check names the sub-option.
        "missing required arguments: host found in relay": dict(relay={"port": 587}),
        "relay.port: port 70000 is out of range": dict(relay={"host": "relay.example.net", "port": 70000}),
        "dns_resolver[1]: 'resolver.example.net' is not an IP address": dict(dns_resolver=["10.0.0.1", "resolver.example.net"]),
        "tls.key_file: 'tls.key' must be an absolute path": dict(tls={"cert_file": "/tls/tls.crt", "key_file": "tls.key"}),
    }
    for message, overrides in more.items():
        result = playbook(play(options(dest, **overrides))).task("render")
        assert result["failed"] is True and message in result["msg"], (message, result["msg"])
    unknown = playbook(play(options(dest, listeners=["smtps"]))).task("render")
    assert unknown["failed"] is True and "listeners" in unknown["msg"] and "smtps" in unknown["msg"]
    assert not dest.exists()


def test_certificate_relay_and_resolver_render(playbook, tmp_path, shared_dir):
    dest = tmp_path / "stalwart"
    relay = {"host": "smtp.relay.example.net", "port": 465, "username": "mailer"}
    extra = dict(tls={"cert_file": "/etc/stalwart/tls/tls.crt", "key_file": "/etc/stalwart/tls/tls.key"},
                 relay=relay, dns_resolver=["10.96.0.10", "tcp://10.96.0.11:5353"])
    result = playbook(play(options(dest, **extra)))
    assert result.rc == 0, result.stdout[-3000:]
    render = result.task("render")
    by_object = {op["object"]: op for op in render["plan"]}
    assert by_object["Certificate"]["matchOn"] == ["certificate"]
    assert by_object["SystemSettings"]["value"]["defaultCertificateId"] == "#certificate_default"
    route = by_object["MtaRoute"]["value"]["route_relay"]
    assert route["implicitTls"] is True and route["authSecret"]["variableName"] == "STALWART_RELAY_PASSWORD"
    assert by_object["DnsResolver"]["value"]["servers"]["1"] == {"address": "10.96.0.11", "port": 5353, "protocol": "tcp"}
    schema = _schema(shared_dir)
    for obj in ("Certificate", "SystemSettings", "MtaRoute", "MtaOutboundStrategy", "DnsResolver"):
        op = by_object[obj]
        for value in (op["value"].values() if op["@type"] == "upsert" else [op["value"]]):
            assert schema.check(obj, value, update=op["@type"] == "update") == [], (obj, value)
    assert playbook(play(options(dest, **extra))).task("render")["changed"] is False


def test_a_thousand_domains_in_one_task(playbook, tmp_path):
    dest = tmp_path / "stalwart"
    started = time.monotonic()
    result = playbook(play(options(dest, domains=[{"name": f"d{n:04d}.example"} for n in range(1000)], accounts=[])))
    seconds = time.monotonic() - started
    render = result.task("render")
    assert render["summary"]["Domain"] == 1000 and render["summary"]["DkimSignature"] == 2000
    assert len((dest / "plan.ndjson").read_text()) > 500_000
    assert seconds < 120
    print(f"stalwart_config, 1000 domains through ansible-playbook: {seconds:.1f}s")
