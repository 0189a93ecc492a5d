# -*- coding: utf-8 -*-
"""The stalwart role in render mode, driven through ansible-playbook: every manifest valid and restricted,
secrets only under secrets/, a second render byte-identical with nothing changed, DKIM keys and passwords kept,
and bad input refused before anything is written."""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import json
import pathlib
import re
import shutil
import subprocess

import pytest
import yaml

from fakes.ansible import REPO, run_playbook
from fakes.manifests import assert_restricted_pss, dkim_keys, files_containing, load_documents, validate

ROLE = REPO / "roles" / "stalwart"
S3_SECRET = "s3-secret-Hx81Qp2"
S3_ACCESS = "s3-access-Jm2Lw9"

BASE_VARS = {
    "stalwart_hostname": "mail.example.org",
    "stalwart_domains": [
        {"name": "example.org"},
        {"name": "Example.NET", "dkim_selectors": {"rsa": "mail2026", "ed25519": False}},
    ],
    "stalwart_s3_endpoint": "http://minio.minio-tenant.svc:9000",
    "stalwart_s3_access_key": S3_ACCESS,
    "stalwart_s3_secret_key": S3_SECRET,
}

# Printed after the role so the test can see the public DKIM fact the dns role consumes.
SHOW_RECORDS = {"name": "Show the DKIM records", "ansible.builtin.debug": {"var": "stalwart_dkim_records"}}


def plays(extra: dict | None = None, post: list | None = None) -> list:
    play = {"hosts": "localhost", "gather_facts": False, "vars": {**BASE_VARS, **(extra or {})},
            "roles": ["openova.stalwart.stalwart"]}
    if post:
        play["post_tasks"] = post
    return [play]


def render(tmp: pathlib.Path, render_dir: pathlib.Path, extra: dict | None = None, **kwargs):
    extra_vars = {"openova_stalwart_mode": "render", "openova_stalwart_render_dir": str(render_dir)}
    return run_playbook(plays(extra, [SHOW_RECORDS]), tmp, extra_vars=extra_vars, **kwargs)


def snapshot(root: pathlib.Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def by_kind(docs: list[dict]) -> dict[tuple[str, str], dict]:
    """Objects by (kind, name), leaving out the kustomization files."""
    return {(d["kind"], d["metadata"]["name"]): d for d in docs if d.get("kind") != "Kustomization"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Render twice into the same directory; return both results, the directory and the first snapshot."""
    base = tmp_path_factory.mktemp("stalwart-render")
    out = base / "render"
    first = render(base / "run1", out)
    assert first.rc == 0, first.stdout[-6000:] + first.stderr[-3000:]
    snap = snapshot(out)
    second = render(base / "run2", out)
    assert second.rc == 0, second.stdout[-6000:] + second.stderr[-3000:]
    return {"first": first, "second": second, "dir": out, "snapshot": snap}


def test_render_writes_the_layout(rendered):
    out = rendered["dir"]
    assert (out / "stalwart" / "config.json").is_file()
    assert (out / "stalwart" / "plan.ndjson").is_file()
    assert (out / "kubernetes" / "kustomization.yaml").is_file()
    # RSA + Ed25519 for example.org; RSA only, custom selector, for example.net (A-label, lower case); stored once,
    # in the DKIM Secret (no key files beside it).
    assert not (out / "secrets" / "dkim").exists()
    assert sorted(dkim_keys(out)) == ["mail2026._domainkey.example.net.pem", "s1-ed25519._domainkey.example.org.pem",
                                      "s1-rsa._domainkey.example.org.pem"]
    kinds = sorted(d["kind"] for d in load_documents(out / "kubernetes") if d["kind"] != "Kustomization")
    assert kinds == sorted(["Namespace", "ConfigMap", "ConfigMap", "Certificate", "Certificate", "Service", "Service", "Service",
                            "StatefulSet", "PodDisruptionBudget", "NetworkPolicy", "Ingress", "ServiceMonitor",
                            "PrometheusRule",
                            # the settings Job and what it needs (test_settings_job_render)
                            "ConfigMap", "ServiceAccount", "NetworkPolicy", "Job",
                            # the version gate of the stop-all upgrade (test_stalwart_version_gate)
                            "ServiceAccount", "Role", "RoleBinding"])
    secrets = [d for d in load_documents(out / "secrets") if d["kind"] == "Secret"]
    assert sorted(s["metadata"]["name"] for s in secrets) == ["stalwart-account-cache", "stalwart-credentials", "stalwart-dkim-0",
                                                              "stalwart-metrics"]


def test_every_manifest_is_valid_and_restricted(rendered, shared_dir):
    docs = [d for d in load_documents(rendered["dir"] / "kubernetes") + load_documents(rendered["dir"] / "secrets")
            if d["kind"] != "Kustomization"]
    for doc in docs:
        validate(doc, shared_dir)
        assert_restricted_pss(doc)
    sts = by_kind(docs)[("StatefulSet", "stalwart")]
    container = sts["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "stalwartlabs/stalwart:v0.16.18"
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert sts["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 2000
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz/live", "port": "http"}
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"smtp": 25, "submissions": 465, "imaps": 993, "https": 443, "http": 8080}
    namespace = by_kind(docs)[("Namespace", "mail")]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_pod_refers_to_secrets_config_and_keys(rendered):
    docs = by_kind(load_documents(rendered["dir"] / "kubernetes"))
    spec = docs[("StatefulSet", "stalwart")]["spec"]["template"]["spec"]
    env = {e["name"]: e.get("valueFrom", {}).get("secretKeyRef") for e in spec["containers"][0]["env"]}
    assert env["STALWART_DB_PASSWORD"] == {"name": "stalwart-db-app", "key": "password"}
    assert env["STALWART_RECOVERY_ADMIN"] == {"name": "stalwart-credentials", "key": "STALWART_RECOVERY_ADMIN"}
    assert env["STALWART_METRICS_PASSWORD"] == {"name": "stalwart-metrics", "key": "password"}
    assert {"STALWART_S3_ACCESS_KEY", "STALWART_S3_SECRET_KEY", "STALWART_SMOKE_PASSWORD"} <= set(env)
    mounts = {m["mountPath"]: m for m in spec["containers"][0]["volumeMounts"]}
    assert mounts["/etc/stalwart/config.json"]["subPath"] == "config.json"
    assert mounts["/etc/stalwart/dkim"]["readOnly"] and mounts["/etc/stalwart/tls"]["readOnly"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["dkim"]["projected"] == {"defaultMode": 0o440, "sources": [{"secret": {"name": "stalwart-dkim-0"}}]}
    assert volumes["tls"]["secret"]["secretName"] == "stalwart-tls"
    # The pods roll when config.json changes.
    config = docs[("ConfigMap", "stalwart-config")]["data"]["config.json"]
    annotation = docs[("StatefulSet", "stalwart")]["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    assert annotation == hashlib.sha256(config.encode()).hexdigest()
    # The same text as the file, byte for byte but the file's final newline.
    assert config + "\n" == (rendered["dir"] / "stalwart" / "config.json").read_text()
    # Every DKIM file reference in the plan names a key in the DKIM Secret.
    dkim = by_kind(load_documents(rendered["dir"] / "secrets"))[("Secret", "stalwart-dkim-0")]["stringData"]
    assert dkim == dkim_keys(rendered["dir"]) and all(pem.endswith("-----END PRIVATE KEY-----\n") for pem in dkim.values())
    refs = set(re.findall(r"/etc/stalwart/dkim/([^\"]+\.pem)", (rendered["dir"] / "stalwart" / "plan.ndjson").read_text()))
    assert refs == set(dkim)


def test_secret_values_stay_in_secrets(rendered):
    out = rendered["dir"]
    creds = by_kind(load_documents(out / "secrets"))[("Secret", "stalwart-credentials")]["stringData"]
    metrics = by_kind(load_documents(out / "secrets"))[("Secret", "stalwart-metrics")]["stringData"]
    admin_password = creds["STALWART_RECOVERY_ADMIN"].split(":", 1)[1]
    assert creds["STALWART_RECOVERY_ADMIN"].startswith("admin:") and len(admin_password) == 32
    needles = [admin_password, metrics["password"], creds["STALWART_SMOKE_PASSWORD"], S3_SECRET, S3_ACCESS,
               "PRIVATE KEY"]
    assert files_containing(out, needles, exclude=out / "secrets") == []
    # Nor in what Ansible printed (the JSON callback holds every task result).
    for result in (rendered["first"], rendered["second"]):
        for needle in needles:
            assert needle not in result.stdout


def test_dkim_records_fact_is_public_only(rendered):
    records = rendered["first"].task("Show the DKIM records")["stalwart_dkim_records"]
    assert [(r["domain"], r["selector"], r["algorithm"]) for r in records] == [
        ("example.org", "s1-rsa", "rsa"), ("example.org", "s1-ed25519", "ed25519"), ("example.net", "mail2026", "rsa")]
    for record in records:
        assert set(record) == {"domain", "selector", "algorithm", "record_name", "txt_value"}
        assert record["record_name"] == f"{record['selector']}._domainkey.{record['domain']}"
        assert record["txt_value"].startswith("v=DKIM1;")
    assert records == rendered["second"].task("Show the DKIM records")["stalwart_dkim_records"]


def test_second_render_is_identical_and_unchanged(rendered):
    assert rendered["second"].changed == 0, [
        t["task"]["name"] for p in rendered["second"].data["plays"] for t in p["tasks"]
        if any(h.get("changed") for h in t["hosts"].values())]
    assert snapshot(rendered["dir"]) == rendered["snapshot"]


def test_adding_a_domain_keeps_keys_and_passwords(rendered, tmp_path):
    out = tmp_path / "render"
    # Start from a copy of the rendered tree, so this test does not change the shared one.
    for rel in rendered["snapshot"]:
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes((rendered["dir"] / rel).read_bytes())
    before, keys_before = snapshot(out), dkim_keys(out)
    domains = BASE_VARS["stalwart_domains"] + [{"name": "example.com"}]
    result = render(tmp_path / "run", out, {"stalwart_domains": domains})
    assert result.rc == 0, result.stdout[-5000:]
    after, keys_after = snapshot(out), dkim_keys(out)
    for name in ("s1-rsa._domainkey.example.org.pem", "s1-ed25519._domainkey.example.org.pem",
                 "mail2026._domainkey.example.net.pem"):
        assert keys_after[name] == keys_before[name]
    assert {"s1-rsa._domainkey.example.com.pem", "s1-ed25519._domainkey.example.com.pem"} <= set(keys_after)
    changed = sorted(k for k in after if after[k] != before.get(k))
    assert "secrets/stalwart/mail-stalwart-credentials.yaml" not in changed
    assert "secrets/stalwart/mail-stalwart-metrics.yaml" not in changed
    untouched = [k for k in before if "service-" in k or "poddisruptionbudget" in k or "networkpolicy" in k
                 or "servicemonitor" in k or "prometheusrule" in k or "namespace" in k]
    assert untouched and not set(untouched) & set(changed)
    assert any("certificate" in k for k in changed) and any("ingress" in k for k in changed)
    names = {n for d in load_documents(out / "kubernetes") if d["kind"] == "Certificate" for n in d["spec"]["dnsNames"]}
    assert {"mta-sts.example.com", "autoconfig.example.com", "autodiscover.example.com"} <= names


def test_key_files_of_earlier_releases_are_adopted_and_removed(rendered, tmp_path):
    """Earlier releases kept every DKIM key twice in render mode: a file under secrets/dkim/ and the DKIM Secret. A
    render over such a bundle keeps the keys of the files (the published ones; a Secret that lost one gets it back,
    nothing is regenerated), leaves them only in the Secret, and the bundle and the DNS records stay as they were."""
    out = tmp_path / "render"
    copy_tree(rendered["dir"], out)
    keys = dkim_keys(out)
    legacy = out / "secrets" / "dkim"
    legacy.mkdir(mode=0o700)
    for name, pem in keys.items():
        (legacy / name).write_text(pem)
        (legacy / name).chmod(0o600)
    shard = out / "secrets" / "stalwart" / "mail-stalwart-dkim-0.yaml"
    doc = yaml.safe_load(shard.read_text())
    del doc["stringData"]["s1-ed25519._domainkey.example.org.pem"]
    shard.write_text(yaml.safe_dump(doc))
    first = render(tmp_path / "run1", out)
    assert first.rc == 0, first.stdout[-5000:]
    assert first.changed >= 1
    assert not legacy.exists()
    assert dkim_keys(out) == keys
    assert snapshot(out) == rendered["snapshot"]
    records = first.task("Show the DKIM records")["stalwart_dkim_records"]
    assert records == rendered["first"].task("Show the DKIM records")["stalwart_dkim_records"]
    again = render(tmp_path / "run2", out)
    assert again.rc == 0 and again.changed == 0, again.stdout[-5000:]


def test_check_mode_writes_nothing(tmp_path):
    out = tmp_path / "render"
    result = render(tmp_path / "run", out, check=True, diff=True)
    assert result.rc == 0, result.stdout[-5000:]
    assert not out.exists() or not any(p.is_file() for p in out.rglob("*"))


def test_options_shape_the_manifests(tmp_path, shared_dir):
    out = tmp_path / "render"
    extra = {
        "stalwart_submission_587": True,
        "stalwart_client_ip": "proxy_protocol",
        "stalwart_proxy_trusted_networks": ["10.0.0.0/8"],
        "stalwart_http_exposure": "httproute",
        "stalwart_gateway_parent_refs": [{"name": "public", "namespace": "gateway"}],
        "stalwart_replicas": 3,
        "stalwart_coordinator": {"type": "nats", "addresses": ["nats.nats.svc:4222"]},
        "stalwart_coordinator_password": "nats-pass-Zq81",
        "stalwart_monitoring": "never",
        "stalwart_grafana_dashboard": False,
        "stalwart_network_policy": False,
        "stalwart_tls_reload": "none",
        "stalwart_smoke_account": "",
        "stalwart_dkim_ed25519": False,
    }
    result = render(tmp_path / "run", out, extra)
    assert result.rc == 0, result.stdout[-5000:]
    docs = by_kind([d for d in load_documents(out / "kubernetes") if d["kind"] != "Kustomization"])
    kinds = {pair[0] for pair in docs}
    assert "HTTPRoute" in kinds and "Ingress" not in kinds
    assert not kinds & {"ServiceMonitor", "PrometheusRule", "NetworkPolicy"}
    assert ("ConfigMap", "stalwart-dashboard") not in docs
    mail = docs[("Service", "stalwart-mail")]["spec"]
    assert mail["externalTrafficPolicy"] == "Cluster"
    assert [p["port"] for p in mail["ports"]] == [25, 465, 587, 993]
    sts = docs[("StatefulSet", "stalwart")]
    assert sts["spec"]["replicas"] == 3
    assert "annotations" not in sts["metadata"]
    env = {e["name"] for e in sts["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "STALWART_COORDINATOR_PASSWORD" in env and "STALWART_SMOKE_PASSWORD" not in env
    assert sorted(dkim_keys(out)) == ["mail2026._domainkey.example.net.pem", "s1-rsa._domainkey.example.org.pem"]
    assert files_containing(out, ["nats-pass-Zq81"], exclude=out / "secrets") == []
    for doc in docs.values():
        if doc["kind"] not in ("HTTPRoute", "ReferenceGrant"):  # Gateway API CRDs are not in shared/crds
            validate(doc, shared_dir)
        assert_restricted_pss(doc)


def plan_ops(out: pathlib.Path, obj: str) -> list[dict]:
    lines = (out / "stalwart" / "plan.ndjson").read_text().splitlines()
    return [op for op in map(json.loads, filter(None, lines)) if op.get("object") == obj]


def test_client_ips_behind_the_ingress_and_the_load_balancer(rendered, tmp_path):
    """Web clients' addresses come from X-Forwarded-For (only the proxies reach the HTTP port); mail clients' from
    the connection (externalTrafficPolicy Local) or, with proxy_protocol, from the PROXY header on the mail
    listeners only, never on the HTTP ones the ingress controller talks plain HTTP to."""
    assert plan_ops(rendered["dir"], "Http")[0]["value"] == {"useXForwarded": True}
    listeners = plan_ops(rendered["dir"], "NetworkListener")[0]["value"].values()
    assert all(v.get("overrideProxyTrustedNetworks", {}) == {} for v in listeners)
    out = tmp_path / "render"
    extra = {"stalwart_client_ip": "proxy_protocol", "stalwart_proxy_trusted_networks": ["10.0.0.0/8"],
             "stalwart_http_trusted_proxies": ["130.211.0.0/22"],
             "stalwart_network_policy_http_from": [{"namespaceSelector": {"matchLabels": {
                 "kubernetes.io/metadata.name": "ingress-nginx"}}}]}
    result = render(tmp_path / "run", out, extra)
    assert result.rc == 0, result.stdout[-5000:]
    listeners = {v["name"]: v for v in plan_ops(out, "NetworkListener")[0]["value"].values()}
    assert {n: v.get("overrideProxyTrustedNetworks") for n, v in listeners.items()} == {
        "smtp": {"10.0.0.0/8": True}, "submissions": {"10.0.0.0/8": True}, "imaps": {"10.0.0.0/8": True},
        "https": None, "http": None}
    assert plan_ops(out, "SystemSettings")[0]["value"]["proxyTrustedNetworks"] == {}
    docs = by_kind(load_documents(out / "kubernetes"))
    assert docs[("Service", "stalwart-mail")]["spec"]["externalTrafficPolicy"] == "Cluster"
    http_rule = next(r for r in docs[("NetworkPolicy", "stalwart")]["spec"]["ingress"]
                     if r.get("from") and r["ports"] == [{"port": 8080, "protocol": "TCP"}])
    assert http_rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}},
                                 {"ipBlock": {"cidr": "130.211.0.0/22"}}]


def test_default_spam_settings(rendered):
    """Greylisting stays off, Stalwart's own DNSBL list stays, inbound throttles per remote IP are set."""
    out = rendered["dir"]
    assert plan_ops(out, "SpamSettings")[0]["value"] == {"enable": True, "greylistFor": None}
    assert plan_ops(out, "SpamDnsblServer") == []
    throttles = {t["description"]: t for t in plan_ops(out, "MtaInboundThrottle")[0]["value"].values()}
    assert throttles["per-IP connection rate"]["key"] == {"remoteIp": True}
    assert throttles["per-IP connection rate"]["rate"] == {"count": 60, "period": 60000}
    assert throttles["per-IP message rate"]["key"] == {"remoteIp": True, "sender": True}


def test_spam_options_reach_the_plan(tmp_path):
    out = tmp_path / "render"
    extra = {
        "stalwart_spam_greylist": 300,
        "stalwart_spam_rules_url": "https://mirror.internal/spam-rules.json.gz",
        "stalwart_spam_dnsbl_servers": [{"name": "zen", "zone": "ip_reverse + '.zen.spamhaus.org'", "tag": "'RBL_ZEN'"}],
        "stalwart_spam_inbound_throttles": [{"name": "conn", "key": ["remoteIp"], "count": 10, "period": 60}],
    }
    result = render(tmp_path / "run", out, extra)
    assert result.rc == 0, result.stdout[-5000:]
    assert plan_ops(out, "SpamSettings")[0]["value"] == {
        "enable": True, "greylistFor": 300000, "spamFilterRulesUrl": "https://mirror.internal/spam-rules.json.gz"}
    assert list(plan_ops(out, "SpamDnsblServer")[0]["value"].values()) == [
        {"@type": "Ip", "name": "zen", "enable": True, "zone": {"else": "ip_reverse + '.zen.spamhaus.org'", "match": {}},
         "tag": {"else": "'RBL_ZEN'", "match": {}}}]
    assert list(plan_ops(out, "MtaInboundThrottle")[0]["value"].values()) == [
        {"description": "conn", "enable": True, "key": {"remoteIp": True}, "rate": {"count": 10, "period": 60000}}]


def test_default_mail_service_keeps_client_ips(rendered):
    docs = by_kind(load_documents(rendered["dir"] / "kubernetes"))
    mail = docs[("Service", "stalwart-mail")]["spec"]
    assert mail["type"] == "LoadBalancer" and mail["externalTrafficPolicy"] == "Local"
    assert [p["port"] for p in mail["ports"]] == [25, 465, 993]
    policy = docs[("NetworkPolicy", "stalwart")]["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    egress_ports = {p["port"] for rule in policy["egress"] for p in rule.get("ports", [])}
    assert {53, 25, 443, 5432, 9000} <= egress_ports


BAD_INPUTS = [
    ({"stalwart_hostname": "mail_server"}, "stalwart_hostname"),
    ({"stalwart_hostname": "localhost"}, "stalwart_hostname"),
    ({"stalwart_domains": [{"name": "exa mple.org"}]}, "stalwart_domains"),
    ({"stalwart_domains": [{"name": "example.org"}, {"name": "EXAMPLE.org"}]}, "stalwart_domains"),
    ({"stalwart_domains": []}, "stalwart_domains"),
    ({"stalwart_replicas": 0}, "stalwart_replicas"),
    ({"stalwart_replicas": 2, "stalwart_coordinator_image": "nats"}, "stalwart_coordinator_image"),
    ({"stalwart_storage_size": "10 gigs"}, "stalwart_storage_size"),
    ({"stalwart_image": "stalwartlabs/Stalwart:latest!"}, "stalwart_image"),
    ({"stalwart_image": "stalwartlabs/stalwart"}, "stalwart_image"),
    ({"stalwart_s3_endpoint": "minio:9000"}, "stalwart_s3_endpoint"),
    ({"stalwart_client_ip": "proxy_protocol"}, "stalwart_proxy_trusted_networks"),
    ({"stalwart_client_ip": "nat"}, "stalwart_client_ip"),
    ({"stalwart_http_trusted_proxies": ["130.211.0.0"]}, "stalwart_http_trusted_proxies"),
    ({"stalwart_spam_inbound_throttles": [{"name": "x", "key": ["ip"], "count": 5, "period": 60}]},
     "stalwart_spam_inbound_throttles[0].key"),
    ({"stalwart_spam_dnsbl_servers": [{"name": "zen"}]}, "stalwart_spam_dnsbl_servers[0].zone"),
]


@pytest.mark.parametrize("extra,variable", BAD_INPUTS, ids=[case[1] for case in BAD_INPUTS])
def test_bad_input_fails_before_writing(tmp_path, extra, variable):
    out = tmp_path / "render"
    result = render(tmp_path / "run", out, extra)
    assert result.rc != 0
    assert variable in result.stdout, result.stdout[-3000:]
    assert not out.exists()


def test_missing_required_variable_is_named(tmp_path):
    play = plays()
    del play[0]["vars"]["stalwart_hostname"]
    result = run_playbook(play, tmp_path / "run", extra_vars={"openova_stalwart_mode": "render",
                                                              "openova_stalwart_render_dir": str(tmp_path / "out")})
    assert result.rc != 0 and "stalwart_hostname" in result.stdout
    assert not (tmp_path / "out").exists()


def test_alert_and_dashboard_metrics_are_stalwart_metrics(rendered, shared_dir):
    """Every metric in the PrometheusRule and the dashboard is one Stalwart exports (its metric id with
    non-alphanumerics turned into '_', no prefix; histograms as _bucket), apart from kube-state-metrics and `up`."""
    schema = json.load(gzip.open(shared_dir / "stalwart" / "schema-0.16.18.json.gz"))
    known = {re.sub(r"[^A-Za-z0-9]", "_", e["name"]) for e in schema["enums"]["MetricType"]}
    rule = by_kind(load_documents(rendered["dir"] / "kubernetes"))[("PrometheusRule", "stalwart")]
    exprs = [r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]]
    dashboard = by_kind(load_documents(rendered["dir"] / "kubernetes"))[("ConfigMap", "stalwart-dashboard")]
    assert json.loads(dashboard["data"]["stalwart.json"]) == json.loads(
        (REPO / "files" / "dashboards" / "stalwart.json").read_text())
    panels = json.loads(dashboard["data"]["stalwart.json"])["panels"]
    exprs += [t["expr"] for p in panels for t in p["targets"]]
    used = set()
    for expr in exprs:
        used |= set(re.findall(r"\b([a-z][a-z0-9_]*)\s*\{", expr))
    used = {m if m in known else re.sub(r"_(bucket|sum|count)$", "", m) for m in used}
    assert used - known - {"up", "kube_pod_status_ready", "kube_job_failed"} == set()
    assert {"queue_count", "auth_failed", "message_ingest_spam", "delivery_dsn_perm_fail",
            "delivery_total_time"} <= used
    assert not any(m.startswith("stalwart_") for m in used)
    alerts = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r}
    assert {"StalwartPodNotReady", "StalwartQueueGrowing", "StalwartDeliveryFailures", "StalwartAuthFailureBurst",
            "StalwartSpamRateHigh"} <= alerts


def test_prometheus_rule_loads_in_prometheus(rendered, tmp_path):
    """The rule groups are what Prometheus itself accepts (promtool parses every PromQL expression and template)."""
    if not shutil.which("promtool"):
        pytest.fail("promtool (Debian package prometheus) is not installed: run `make install`")
    rule = by_kind(load_documents(rendered["dir"] / "kubernetes"))[("PrometheusRule", "stalwart")]
    rules_file = tmp_path / "stalwart.rules.yml"
    rules_file.write_text(yaml.safe_dump(rule["spec"]))
    checked = subprocess.run(["promtool", "check", "rules", str(rules_file)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    count = sum(len(g["rules"]) for g in rule["spec"]["groups"])
    assert f"SUCCESS: {count} rules found" in checked.stdout
    # The check can fail: a broken expression is refused.
    broken = rule["spec"]["groups"][0]["rules"][0] | {"expr": "sum(queue_count{"}
    rules_file.write_text(yaml.safe_dump({"groups": [{"name": "broken", "rules": [broken]}]}))
    assert subprocess.run(["promtool", "check", "rules", str(rules_file)], capture_output=True, check=False).returncode != 0


SEL = 'namespace="mail", job="stalwart"'


def test_recording_rules_give_the_blueprint_names(rendered, tmp_path):
    """promtool evaluates the recording rules over sample series of Stalwart's native metrics: the blueprint's
    names come out per instance, a missing spam counter does not hide received mail, other jobs stay out."""
    if not shutil.which("promtool"):
        pytest.fail("promtool (Debian package prometheus) is not installed: run `make install`")
    rule = by_kind(load_documents(rendered["dir"] / "kubernetes"))[("PrometheusRule", "stalwart")]
    (tmp_path / "stalwart.rules.yml").write_text(yaml.safe_dump(rule["spec"]))
    a, b = 'instance="10.0.0.1:8080"', 'instance="10.0.0.2:8080"'
    series = {
        f"message_ingest_ham{{{SEL}, {a}}}": "0+10x10",
        f"message_ingest_spam{{{SEL}, {a}}}": "0+2x10",
        f"message_ingest_ham{{{SEL}, {b}}}": "0+1x10",  # no spam counter exported yet on b
        f"delivery_delivered{{{SEL}, {a}}}": "0+5x10",
        f"queue_count{{{SEL}, {a}}}": "3 4 5 6 7 7 7 7 7 7 7",
        'message_ingest_ham{namespace="other", job="stalwart", instance="10.0.9.9:8080"}': "0+100x10",
    }

    def samples(name, *pairs):
        return [{"labels": f"{name}{{{SEL}, {inst}}}", "value": value} for inst, value in pairs]

    tests = {"rule_files": ["stalwart.rules.yml"], "evaluation_interval": "1m", "tests": [{
        "interval": "1m",
        "input_series": [{"series": k, "values": v} for k, v in series.items()],
        "promql_expr_test": [
            {"expr": "stalwart_messages_received_total", "eval_time": "10m",
             "exp_samples": samples("stalwart_messages_received_total", (a, 120), (b, 10))},
            {"expr": "stalwart_messages_sent_total", "eval_time": "10m",
             "exp_samples": samples("stalwart_messages_sent_total", (a, 50))},
            {"expr": "stalwart_spam_blocked_total", "eval_time": "10m",
             "exp_samples": samples("stalwart_spam_blocked_total", (a, 20))},
            {"expr": "stalwart_queue_size", "eval_time": "10m", "exp_samples": samples("stalwart_queue_size", (a, 7))},
            {"expr": "sum(rate(stalwart_messages_received_total[5m])) * 60", "eval_time": "10m",
             "exp_samples": [{"labels": "{}", "value": 13}]},
        ],
    }]}
    (tmp_path / "stalwart.test.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    checked = subprocess.run(["promtool", "test", "rules", "stalwart.test.yml"], cwd=tmp_path,
                             capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_argument_specs_mirror_defaults():
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    entry_points = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    specs = entry_points["main"]["options"]
    assert entry_points["preflight"]["options"] == specs
    with_default = {k: v for k, v in specs.items() if not v.get("required")}
    assert set(with_default) == set(defaults)
    for name, spec in with_default.items():
        assert spec.get("default") == defaults[name], name
        assert spec.get("description"), name
    for name, spec in specs.items():
        assert name.startswith("stalwart_")
        if "choices" in spec and name in defaults:
            assert defaults[name] in spec["choices"], name


# --- 1000 domains: the DKIM keys split over Secrets that each fit the API server's object size limit ---

OBJECT_LIMIT = 1024 * 1024  # etcd and the API server refuse a larger object
SHARD_LIMIT = 900 * 1024  # what the role fills a DKIM Secret up to (vars/main.yml)


def thousand_domains(n: int) -> list[dict]:
    return [{"name": f"d{i:04d}.example.test"} for i in range(n)]


def seed_dkim_keys(key_dir: pathlib.Path, domains: list[dict]) -> dict[str, bytes]:
    """Real keys of the real sizes in the render tree (one RSA-2048 and one Ed25519 key, copied), so a
    1000-domain render does not spend minutes generating keys. They are key files, as earlier releases kept the keys
    in render mode: the role adopts them into its DKIM Secrets (and removes the files). Returns the two PEMs."""
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa  # pylint: disable=import-outside-toplevel

    def pem(key):
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    # How the keys fall into shards depends on their sizes. Most RSA-2048 PEMs are 1704 bytes, some 1700 or 1708;
    # with those the last shard holds a key of every domain and the "removed" scene below would remove them all.
    rsa_pem = b""
    while len(rsa_pem) != 1704:
        rsa_pem = pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    material = {"rsa": rsa_pem, "ed25519": pem(ed25519.Ed25519PrivateKey.generate())}
    key_dir.mkdir(parents=True, mode=0o700)
    for domain in domains:
        for algorithm, data in material.items():
            path = key_dir / f"s1-{algorithm}._domainkey.{domain['name']}.pem"
            path.write_bytes(data)
            path.chmod(0o600)
    return material


def copy_tree(src: pathlib.Path, dest: pathlib.Path) -> None:
    for path in sorted(src.rglob("*")):
        if path.is_file():
            (dest / path.relative_to(src)).parent.mkdir(parents=True, exist_ok=True)
            (dest / path.relative_to(src)).write_bytes(path.read_bytes())
            (dest / path.relative_to(src)).chmod(path.stat().st_mode & 0o777)


def api_size(secret: dict) -> int:
    """Bytes of the Secret as the API server serves it: JSON, stringData folded into base64 data."""
    doc = {k: v for k, v in secret.items() if k != "stringData"}
    doc["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in secret.get("stringData", {}).items()}
    return len(json.dumps(doc, separators=(",", ":")))


@functools.lru_cache(maxsize=16)
def documents(directory: pathlib.Path) -> list[dict]:
    """load_documents, once per directory (the 1000-domain trees are read by several tests, never changed)."""
    return load_documents(directory)


def dkim_shards(out: pathlib.Path) -> dict[str, dict]:
    """The DKIM Secrets of a render, by name, in shard order."""
    found = {d["metadata"]["name"]: d for d in documents(out / "secrets")
             if d["kind"] == "Secret" and d["metadata"]["name"].startswith("stalwart-dkim")}
    return dict(sorted(found.items(), key=lambda item: int(item[0].rsplit("-", 1)[1])))


def dkim_volume(out: pathlib.Path) -> dict:
    sts = by_kind(documents(out / "kubernetes"))[("StatefulSet", "stalwart")]["spec"]["template"]["spec"]
    mount = [m for m in sts["containers"][0]["volumeMounts"] if m["name"] == "dkim"]
    assert mount == [{"name": "dkim", "mountPath": "/etc/stalwart/dkim", "readOnly": True}]
    return [v for v in sts["volumes"] if v["name"] == "dkim"][0]


@pytest.fixture(scope="module")
def thousand(tmp_path_factory):
    """1000 domains rendered; then, each from a copy of that tree, one domain added and the domains of the last
    DKIM Secret removed."""
    base = tmp_path_factory.mktemp("stalwart-1000")
    out = base / "render"
    domains = thousand_domains(1000)
    material = seed_dkim_keys(out / "secrets" / "dkim", domains)
    first = render(base / "run1", out, {"stalwart_domains": domains})
    assert first.rc == 0, first.stdout[-6000:] + first.stderr[-3000:]
    added = base / "added"
    copy_tree(out, added)
    more = render(base / "run2", added, {"stalwart_domains": domains + [{"name": "new.example.test"}]})
    assert more.rc == 0, more.stdout[-6000:] + more.stderr[-3000:]
    last = list(dkim_shards(out).values())[-1]["stringData"]
    gone = {name.split("._domainkey.", 1)[1][:-len(".pem")] for name in last}
    removed = base / "removed"
    copy_tree(out, removed)
    fewer = render(base / "run3", removed, {"stalwart_domains": [d for d in domains if d["name"] not in gone]})
    assert fewer.rc == 0, fewer.stdout[-6000:] + fewer.stderr[-3000:]
    return {"dir": out, "added": added, "removed": removed, "gone": gone, "runs": (first, more, fewer), "material": material}


def test_thousand_domains_every_secret_under_the_size_limit(thousand, shared_dir):
    secrets = [d for d in documents(thousand["dir"] / "secrets") if d["kind"] == "Secret"]
    shards = dkim_shards(thousand["dir"])
    assert list(shards) == [f"stalwart-dkim-{i}" for i in range(len(shards))] and len(shards) >= 3
    for secret in secrets:
        assert api_size(secret) < OBJECT_LIMIT, secret["metadata"]["name"]
        validate(secret, shared_dir)
    for secret in shards.values():
        assert secret["metadata"]["namespace"] == "mail" and secret["type"] == "Opaque"
        assert api_size(secret) <= SHARD_LIMIT
    # Filled in order: every shard but the last is nearly full.
    assert all(api_size(secret) > SHARD_LIMIT * 0.9 for secret in list(shards.values())[:-1])
    # The keys of 1000 domains would not fit one Secret.
    assert sum(api_size(s) for s in shards.values()) > OBJECT_LIMIT * 2
    # No key reached the output: the Secrets go only to secrets/.
    for result in thousand["runs"]:
        assert "PRIVATE KEY" not in result.stdout


def test_thousand_domains_projected_volume_lists_every_shard(thousand):
    volume = dkim_volume(thousand["dir"])
    assert set(volume) == {"name", "projected"} and volume["projected"]["defaultMode"] == 0o440
    assert volume["projected"]["sources"] == [{"secret": {"name": name}} for name in dkim_shards(thousand["dir"])]


def test_thousand_domains_every_key_file_is_served_by_one_shard(thousand):
    out = thousand["dir"]
    plan = (out / "stalwart" / "plan.ndjson").read_text()
    refs = re.findall(r"/etc/stalwart/dkim/([^\"/]+\.pem)", plan)
    assert len(refs) == len(set(refs)) == 2000
    served: dict[str, list[str]] = {}
    for name, secret in dkim_shards(out).items():
        for key, pem in secret["stringData"].items():
            served.setdefault(key, []).append(name)
            # The keys seeded as files the way earlier releases kept them: adopted as they were, the files gone.
            assert pem == thousand["material"]["ed25519" if key.startswith("s1-ed25519.") else "rsa"].decode()
    assert set(served) == set(refs)
    assert not (out / "secrets" / "dkim").exists()
    assert all(len(names) == 1 for names in served.values())


def test_thousand_domains_adding_one_rewrites_at_most_two_shards(thousand):
    before, after = dkim_shards(thousand["dir"]), dkim_shards(thousand["added"])
    assert set(before) <= set(after) and len(after) - len(before) <= 1
    changed = [name for name in after if after[name] != before.get(name)]
    assert 1 <= len(changed) <= 2, changed
    new = {"s1-rsa._domainkey.new.example.test.pem", "s1-ed25519._domainkey.new.example.test.pem"}
    for name in changed:  # the changed shards only gained the new keys
        old = before.get(name, {"stringData": {}})["stringData"]
        assert set(after[name]["stringData"]) - set(old) <= new and set(old) <= set(after[name]["stringData"])
    assert new <= {key for secret in after.values() for key in secret["stringData"]}
    for name in set(after) - set(changed):  # the other shard files are byte-identical
        path = f"secrets/stalwart/mail-{name}.yaml"
        assert (thousand["added"] / path).read_bytes() == (thousand["dir"] / path).read_bytes()
    if len(after) > len(before):
        assert dkim_volume(thousand["added"])["projected"]["sources"][-1] == {"secret": {"name": list(after)[-1]}}


def test_thousand_domains_emptied_shard_is_removed(thousand):
    before, after = dkim_shards(thousand["dir"]), dkim_shards(thousand["removed"])
    last = list(before)[-1]
    assert list(after) == list(before)[:-1]
    assert not (thousand["removed"] / "secrets" / "stalwart" / f"mail-{last}.yaml").exists()
    assert f"mail-{last}.yaml" not in (thousand["removed"] / "secrets" / "kustomization.yaml").read_text()
    assert dkim_volume(thousand["removed"])["projected"]["sources"] == [{"secret": {"name": n}} for n in after]
    remaining = {key for secret in after.values() for key in secret["stringData"]}
    assert remaining and not any(key.split("._domainkey.", 1)[1][:-4] in thousand["gone"] for key in remaining)


# --- Certificates an ACME CA will issue: at most 100 names each, every routed name covered, stable ---

def certificates(out: pathlib.Path) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in documents(out / "kubernetes") if d["kind"] == "Certificate"}


def test_small_render_certifies_routes_and_serves_every_web_name(rendered, shared_dir):
    docs = by_kind(load_documents(rendered["dir"] / "kubernetes"))
    certs = {name: doc for (kind, name), doc in docs.items() if kind == "Certificate"}
    for cert in certs.values():
        validate(cert, shared_dir)
    mail = certs["stalwart"]["spec"]
    assert mail["dnsNames"] == ["mail.example.org"] and mail["secretName"] == "stalwart-tls"
    assert mail["privateKey"]["rotationPolicy"] == "Always"  # no TLSA published
    wanted = {f"{label}.{dom}" for dom in ("example.org", "example.net")
              for label in ("mta-sts", "autoconfig", "autodiscover")}
    assert set(certs["stalwart-web"]["spec"]["dnsNames"]) == wanted
    ingress = docs[("Ingress", "stalwart")]["spec"]
    assert {rule["host"] for rule in ingress["rules"]} == wanted | {"mail.example.org"}
    assert sorted(ingress["tls"], key=lambda e: e["secretName"]) == [
        {"hosts": ["mail.example.org"], "secretName": "stalwart-tls"},
        {"hosts": sorted(wanted), "secretName": "stalwart-tls-web"}]
    # Stalwart serves the mail host's Certificate on its mail ports: the mounted Secret is that Certificate's.
    spec = docs[("StatefulSet", "stalwart")]["spec"]["template"]["spec"]
    assert [v["secret"]["secretName"] for v in spec["volumes"] if v["name"] == "tls"] == ["stalwart-tls"]


def test_tlsa_keeps_the_mail_key_and_mail_issuer_is_separate(tmp_path, shared_dir):
    out = tmp_path / "render"
    extra = {"dns_tlsa_public_key": "-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----\n",
             "stalwart_tls_mail_issuer_name": "letsencrypt-dns01", "stalwart_tls_max_names": 3,
             "stalwart_http_exposure": "httproute",
             "stalwart_gateway_parent_refs": [{"name": "public", "namespace": "gateway"}]}
    result = render(tmp_path / "run", out, extra)
    assert result.rc == 0, result.stdout[-5000:]
    docs = [d for d in load_documents(out / "kubernetes") if d["kind"] != "Kustomization"]
    certs = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "Certificate"}
    for doc in docs:
        if doc["kind"] == "Certificate":
            validate(doc, shared_dir)
    assert certs["stalwart"]["privateKey"]["rotationPolicy"] == "Never"
    assert certs["stalwart"]["issuerRef"] == {"group": "cert-manager.io", "kind": "ClusterIssuer",
                                              "name": "letsencrypt-dns01"}
    web = {name: spec for name, spec in certs.items() if name != "stalwart"}
    assert len(web) == 2 and all(len(spec["dnsNames"]) == 3 for spec in web.values())
    assert all(spec["issuerRef"]["name"] == "letsencrypt" for spec in web.values())
    routes = [d for d in docs if d["kind"] == "HTTPRoute"]
    assert sorted(h for r in routes for h in r["spec"]["hostnames"]) == sorted(
        n for spec in certs.values() for n in spec["dnsNames"])
    assert all(len(r["spec"]["hostnames"]) <= 16 for r in routes)
    grants = [d for d in docs if d["kind"] == "ReferenceGrant"]
    assert len(grants) == 1 and grants[0]["metadata"]["namespace"] == "mail"
    assert grants[0]["spec"]["from"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                          "namespace": "gateway"}]
    assert sorted(t["name"] for t in grants[0]["spec"]["to"]) == sorted(spec["secretName"] for spec in certs.values())
    # TLSA pins the key: a rotating key is refused before anything is written.
    refused = render(tmp_path / "run2", tmp_path / "other", {**extra, "stalwart_tls_key_rotation": "Always"})
    assert refused.rc != 0 and "stalwart_tls_key_rotation" in refused.stdout


def test_thousand_domains_certificates_an_acme_ca_will_issue(thousand, shared_dir):
    out = thousand["dir"]
    certs = certificates(out)
    assert len(certs) >= 31  # 3000 web names, at most 99 per Certificate, and the mail host's
    covered: dict[str, str] = {}
    for cert in certs.values():
        validate(cert, shared_dir)
        names = cert["spec"]["dnsNames"]
        assert 1 <= len(names) <= 100
        for name in names:
            assert name not in covered, name
            covered[name] = cert["spec"]["secretName"]
    wanted = {f"{label}.d{i:04d}.example.test" for i in range(1000) for label in ("mta-sts", "autoconfig",
                                                                                  "autodiscover")}
    assert set(covered) == wanted | {"mail.example.org"}
    ingress = by_kind(documents(out / "kubernetes"))[("Ingress", "stalwart")]["spec"]
    assert {rule["host"] for rule in ingress["rules"]} == set(covered)
    # every routed host is served with the Secret of the Certificate that names it
    assert {host: entry["secretName"] for entry in ingress["tls"] for host in entry["hosts"]} == covered


def test_thousand_domains_adding_one_changes_at_most_one_certificate(thousand):
    before, after = certificates(thousand["dir"]), certificates(thousand["added"])
    changed = [name for name in before if before[name] != after.get(name)]
    created = [name for name in after if name not in before]
    assert len(changed) == 1 and len(created) <= 1, (changed, created)
    assert {"mta-sts.new.example.test", "autoconfig.new.example.test", "autodiscover.new.example.test"} <= {
        n for name in changed + created for n in after[name]["spec"]["dnsNames"]}
