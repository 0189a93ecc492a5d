# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Verify what the converge left on the stand-ins, through their APIs as an operator would look: the Kubernetes API
(with the scenario's kubeconfig), Stalwart's management API (JMAP) and the zones' DNS server. Molecule runs this with
testinfra's Ansible backend on the scenario's local host; servers.json (tests/fakes/serve.py) says where each server
listens."""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import ssl
import typing as t
import urllib.request

import dns.message
import dns.query
import dns.rdatatype
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

NAMESPACE = "mail"
# The example's (examples/group_vars/stalwart.yml).
DOMAINS = ["example.org", "example.net"]
MAIL_HOST = "mail.example.org"
# Every domain gets both default selectors (stalwart_dkim_selectors).
SELECTORS = ["s1-rsa", "s1-ed25519"]
# Shorter values may appear elsewhere by chance (e.g. an access key id that is a name); generated ones are longer.
MIN_SECRET_LENGTH = 12
# Keys that name or locate rather than hold a secret: basic-auth and CloudNativePG's app user, database and host,
# and public certificates.
NOT_SECRET_KEYS = ("username", "user", "dbname", "host", "port", "tls.crt", "ca.crt")


@pytest.fixture(scope="module")
def state_dir() -> str:
    return os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "standin")


@pytest.fixture(scope="module")
def servers(host: t.Any, state_dir: str) -> dict[str, t.Any]:
    path = f"{state_dir}/servers.json"
    assert host.file(path).is_file, f"{path}: the stand-ins are not running"
    assert host.file(path).mode == 0o600, "servers.json holds secrets"
    data = json.loads(host.file(path).content_string)
    for listener in (data["jmap"]["port"], data["bind"]["port"]):
        assert host.socket(f"tcp://127.0.0.1:{listener}").is_listening
    return data


class Kube:
    """GET on the Kubernetes API, with the server and token of the kubeconfig the converge used."""

    def __init__(self, kubeconfig: str):
        config = yaml.safe_load(kubeconfig)
        context = next(c["context"] for c in config["contexts"] if c["name"] == config["current-context"])
        self.server = next(c["cluster"]["server"] for c in config["clusters"] if c["name"] == context["cluster"])
        self.token = next(u["user"]["token"] for u in config["users"] if u["name"] == context["user"])

    def get(self, path: str) -> dict[str, t.Any]:
        request = urllib.request.Request(self.server + path, headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (a loopback URL)
            return json.load(response)

    def items(self, path: str) -> list[dict[str, t.Any]]:
        return self.get(path)["items"]


@pytest.fixture(scope="module")
def kube(host: t.Any, servers: dict[str, t.Any]) -> Kube:
    return Kube(host.file(servers["kube"]["kubeconfig"]).content_string)


@pytest.fixture(scope="module")
def jmap(servers: dict[str, t.Any]) -> t.Callable[[str], list[dict[str, t.Any]]]:
    """``jmap("Domain")``: every object of that type, asked of the JMAP stand-in at the management URL's port."""
    context = ssl.create_default_context(cafile=servers["jmap"]["ca"])
    context.check_hostname = False  # asked by address: the certificate names the published host
    auth = base64.b64encode(f"{servers['jmap']['user']}:{servers['jmap']['password']}".encode()).decode()

    def _get(obj: str) -> list[dict[str, t.Any]]:
        body = json.dumps({"using": ["urn:ietf:params:jmap:core", "urn:stalwart:jmap"],
                           "methodCalls": [[f"x:{obj}/get", {"ids": None}, "0"]]}).encode()
        request = urllib.request.Request(f"https://127.0.0.1:{servers['jmap']['port']}/jmap", data=body, method="POST",
                                         headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10, context=context) as response:  # noqa: S310
            name, result, _tag = json.load(response)["methodResponses"][0]
        assert name == f"x:{obj}/get", result
        return result["list"]

    return _get


@pytest.fixture(scope="module")
def dns_query(servers: dict[str, t.Any]) -> t.Callable[[str, str], list[str]]:
    """``dns_query(name, type)``: the records the zones' server answers, as text (TXT strings joined)."""
    def _query(name: str, rdtype: str) -> list[str]:
        request = dns.message.make_query(name, rdtype)
        response = dns.query.tcp(request, servers["bind"]["host"], port=servers["bind"]["port"], timeout=5)
        records = [r for rrset in response.answer if rrset.rdtype == dns.rdatatype.from_text(rdtype) for r in rrset]
        if rdtype == "TXT":
            return [b"".join(r.strings).decode() for r in records]
        return sorted(r.to_text() for r in records)
    return _query


def _condition(obj: dict[str, t.Any], ctype: str) -> str | None:
    return next((c["status"] for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == ctype), None)


def test_the_simulated_operators_had_no_error(host, state_dir, servers):
    assert json.loads(host.file(f"{state_dir}/controller-errors.json").content_string) == {"errors": []}


def test_postgresql_cluster_is_ready(kube):
    cluster = kube.get(f"/apis/postgresql.cnpg.io/v1/namespaces/{NAMESPACE}/clusters/stalwart-db")
    assert cluster["spec"]["instances"] == 2  # the example's cnpg_instances
    assert _condition(cluster, "Ready") == "True", cluster.get("status")
    assert cluster["metadata"]["managedFields"][0]["manager"] == "openova.stalwart"
    operator = kube.get("/apis/apps/v1/namespaces/cnpg-system/deployments/cnpg-controller-manager")
    assert operator["status"]["availableReplicas"] == 1


def test_minio_tenant_is_initialized(kube):
    tenant = kube.get(f"/apis/minio.min.io/v2/namespaces/{NAMESPACE}/tenants/stalwart-s3")
    assert tenant["status"]["currentState"] == "Initialized"
    assert [b["name"] for b in tenant["spec"]["buckets"]] == ["stalwart"]
    assert [(p["servers"], p["volumesPerServer"]) for p in tenant["spec"]["pools"]] == [(1, 1)]


def test_stalwart_statefulset_is_rolled_out(kube):
    sts = kube.get(f"/apis/apps/v1/namespaces/{NAMESPACE}/statefulsets/stalwart")
    status = sts["status"]
    assert status["readyReplicas"] == status["updatedReplicas"] == sts["spec"]["replicas"] >= 1, status
    assert status["observedGeneration"] == sts["metadata"]["generation"]
    (container,) = [c for c in sts["spec"]["template"]["spec"]["containers"] if c["name"] == "stalwart"]
    assert {p["containerPort"] for p in container["ports"]} >= {25, 465, 587, 993, 443}
    pods = kube.items(f"/api/v1/namespaces/{NAMESPACE}/pods?labelSelector=app.kubernetes.io/name%3Dstalwart")
    assert len(pods) == sts["spec"]["replicas"] and all(p["status"]["phase"] == "Running" for p in pods)


def test_services_expose_the_mail_and_https_ports(kube):
    mail = kube.get(f"/api/v1/namespaces/{NAMESPACE}/services/stalwart-mail")
    assert mail["spec"]["type"] == "LoadBalancer"
    assert sorted(p["port"] for p in mail["spec"]["ports"]) == [25, 465, 587, 993]
    address = mail["status"]["loadBalancer"]["ingress"][0]["ip"]
    inside = kube.get(f"/api/v1/namespaces/{NAMESPACE}/services/stalwart")
    assert {p["port"] for p in inside["spec"]["ports"]} >= {25, 465, 587, 993, 443}
    assert address  # published below as the mail host's A record
    # The web names through the Ingress, to a port the Service has.
    ingress = kube.get(f"/apis/networking.k8s.io/v1/namespaces/{NAMESPACE}/ingresses/stalwart")
    ports = {p.get("name"): p["port"] for p in inside["spec"]["ports"]}
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            service = path["backend"]["service"]
            assert service["name"] == "stalwart"
            assert service["port"].get("number") in ports.values() or service["port"].get("name") in ports, service
    assert {host for rule in ingress["spec"]["rules"] for host in [rule["host"]]} >= {f"autodiscover.{d}" for d in DOMAINS}


def test_certificates_are_issued(kube):
    certificates = kube.items(f"/apis/cert-manager.io/v1/namespaces/{NAMESPACE}/certificates")
    assert certificates
    for certificate in certificates:
        assert _condition(certificate, "Ready") == "True", (certificate["metadata"]["name"], certificate.get("status"))
        secret = kube.get(f"/api/v1/namespaces/{NAMESPACE}/secrets/{certificate['spec']['secretName']}")
        assert set(secret["data"]) >= {"tls.crt", "tls.key"}


def _secret_values(secrets: list[dict[str, t.Any]]) -> dict[str, str]:
    """Each secret value (whole, and each line or quoted value of a multi-line one) -> its Secret and key."""
    values: dict[str, str] = {}
    for secret in secrets:
        for key, value in (secret.get("data") or {}).items():
            if key.lower() in NOT_SECRET_KEYS:
                continue
            try:
                text = base64.b64decode(value, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                continue
            where = f"{secret['metadata']['namespace']}/{secret['metadata']['name']}[{key}]"
            for part in [text, *text.splitlines(), *re.findall(r'="([^"]+)"', text)]:
                part = part.strip()
                if len(part) >= MIN_SECRET_LENGTH and not part.startswith("-----"):
                    values.setdefault(part, where)
    return values


def test_secrets_exist_and_no_secret_value_is_in_a_configmap(kube):
    secrets = kube.items("/api/v1/secrets")
    names = {(s["metadata"]["namespace"], s["metadata"]["name"]) for s in secrets}
    for name in ("stalwart-credentials", "stalwart-dkim-0", "stalwart-db-app", "stalwart-s3-env-configuration"):
        assert (NAMESPACE, name) in names, name
    values = _secret_values(secrets)
    assert len(values) > 10, "the converge stored generated secrets"
    configmaps = kube.items("/api/v1/configmaps")
    assert any(c["metadata"]["name"] == "stalwart-config" for c in configmaps)
    for configmap in configmaps:
        text = json.dumps([configmap.get("data"), configmap.get("binaryData")])
        leaked = sorted(where for value, where in values.items() if value in text or json.dumps(value)[1:-1] in text)
        assert not leaked, f"ConfigMap {configmap['metadata']['namespace']}/{configmap['metadata']['name']} holds the value of {leaked}"


def _public_key(pem: bytes) -> str:
    """The p= value of a DKIM private key (RFC 6376 for RSA, RFC 8463 for Ed25519)."""
    private = serialization.load_pem_private_key(pem, password=None)
    if isinstance(private, ed25519.Ed25519PrivateKey):
        public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    else:
        public = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(public).decode()


@pytest.fixture(scope="module")
def dkim_keys(kube) -> dict[str, str]:
    """<selector>._domainkey.<domain> -> the p= of the private key in the cluster (Secrets stalwart-dkim-<n>)."""
    keys = {}
    for secret in kube.items(f"/api/v1/namespaces/{NAMESPACE}/secrets"):
        if re.fullmatch(r"stalwart-dkim-\d+", secret["metadata"]["name"]):
            for key, value in secret["data"].items():
                keys[key.removesuffix(".pem")] = _public_key(base64.b64decode(value))
    return keys


def test_stalwart_holds_the_domains_and_a_dkim_signature_per_key(jmap, dkim_keys):
    domains = {d["id"]: d["name"] for d in jmap("Domain")}
    assert sorted(domains.values()) == sorted(DOMAINS)
    signatures = sorted(f"{s['selector']}._domainkey.{domains[s['domainId']]}" for s in jmap("DkimSignature"))
    assert signatures == sorted(f"{s}._domainkey.{d}" for d in DOMAINS for s in SELECTORS)
    assert sorted(dkim_keys) == signatures


def test_dns_serves_mx_dkim_dmarc_and_the_addresses(dns_query, kube, dkim_keys):
    mail = kube.get(f"/api/v1/namespaces/{NAMESPACE}/services/stalwart-mail")
    assert dns_query(f"{MAIL_HOST}.", "A") == [mail["status"]["loadBalancer"]["ingress"][0]["ip"]]
    ingress = kube.get(f"/apis/networking.k8s.io/v1/namespaces/{NAMESPACE}/ingresses/stalwart")
    assert dns_query(f"autodiscover.{DOMAINS[0]}.", "A") == [ingress["status"]["loadBalancer"]["ingress"][0]["ip"]]
    for domain in DOMAINS:
        assert dns_query(f"{domain}.", "MX") == [f"10 {MAIL_HOST}."], domain
        dmarc = dns_query(f"_dmarc.{domain}.", "TXT")
        assert len(dmarc) == 1 and dmarc[0].startswith("v=DMARC1;"), (domain, dmarc)
        spf = [r for r in dns_query(f"{domain}.", "TXT") if r.startswith("v=spf1 ")]
        assert len(spf) == 1 and spf[0].endswith("all"), (domain, spf)
    for name, public in dkim_keys.items():
        records = dns_query(f"{name}.", "TXT")
        assert len(records) == 1, (name, records)
        published = re.search(r"(?:^|;)\s*p=([^;\s]*)", records[0])
        assert published and published.group(1) == public, f"{name}: not the key of the cluster's Secret"
