# -*- coding: utf-8 -*-
"""The DKIM key Secrets in apply mode, against the Kubernetes API test server: the single <name>-dkim Secret
of earlier releases is read for its keys (never regenerated), replaced by <name>-dkim-<n> shards and deleted
once the StatefulSet mounts the shards; a shard no longer produced is deleted too; a second converge writes
nothing."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from fakes.ansible import run_playbook

LABELS = {"app.kubernetes.io/name": "stalwart", "app.kubernetes.io/instance": "stalwart",
          "app.kubernetes.io/part-of": "openova-stalwart", "app.kubernetes.io/managed-by": "openova.stalwart"}
VARS = {
    "stalwart_hostname": "mail.example.org",
    "stalwart_domains": [{"name": "example.org"}, {"name": "example.net"}],
    "stalwart_s3_endpoint": "http://minio.minio-tenant.svc:9000",
    "stalwart_s3_access_key": "s3-access-Vb4",
    "stalwart_s3_secret_key": "s3-secret-Tq93Lx",
    "stalwart_wait_timeout": 30,
    "stalwart_apply_settings": False,
}


def pem(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def converge(tmp, kube):
    play = [{"hosts": "localhost", "gather_facts": False, "vars": VARS, "roles": ["openova.stalwart.stalwart"]}]
    return run_playbook(play, tmp, extra_vars={"openova_stalwart_mode": "apply",
                                               "openova_stalwart_kubeconfig": str(kube.kubeconfig)})


def secret_data(kube, name):
    found = kube.get("Secret", name, "mail")
    return None if found is None else {k: base64.b64decode(v).decode() for k, v in found.get("data", {}).items()}


def test_old_secret_and_stale_shard_are_replaced_and_deleted(kube, tmp_path):
    old_keys = {"s1-rsa._domainkey.example.org.pem": pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
                "s1-ed25519._domainkey.example.org.pem": pem(ed25519.Ed25519PrivateKey.generate())}
    kube.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mail"}})
    kube.seed({"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "stringData": old_keys,
               "metadata": {"name": "stalwart-dkim", "namespace": "mail", "labels": LABELS}})
    kube.seed({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
               "stringData": {"s1-rsa._domainkey.gone.example.pem": old_keys["s1-rsa._domainkey.example.org.pem"]},
               "metadata": {"name": "stalwart-dkim-4", "namespace": "mail", "labels": LABELS}})
    # Not ours (another instance's name pattern, no instance label): left alone.
    kube.seed({"apiVersion": "v1", "kind": "Secret", "stringData": {"k": "v"},
               "metadata": {"name": "stalwart-dkim-7", "namespace": "mail"}})

    first = converge(tmp_path / "run1", kube)
    assert first.rc == 0, first.stdout[-8000:] + first.stderr[-3000:]
    assert "PRIVATE KEY" not in first.stdout
    assert kube.get("Secret", "stalwart-dkim", "mail") is None
    assert kube.get("Secret", "stalwart-dkim-4", "mail") is None
    assert kube.get("Secret", "stalwart-dkim-7", "mail") is not None
    shard = secret_data(kube, "stalwart-dkim-0")
    assert sorted(shard) == sorted(f"s1-{a}._domainkey.{d}.pem" for d in ("example.org", "example.net")
                                   for a in ("rsa", "ed25519"))
    for name, value in old_keys.items():  # kept, not regenerated
        assert shard[name] == value
    sts = kube.get("StatefulSet", "stalwart", "mail")["spec"]["template"]["spec"]
    volume = [v for v in sts["volumes"] if v["name"] == "dkim"][0]
    assert volume["projected"]["sources"] == [{"secret": {"name": "stalwart-dkim-0"}}]
    deletes = [(w.kind, w.name) for w in kube.changes() if w.verb == "delete" and not w.dry_run]
    assert sorted(deletes) == [("Secret", "stalwart-dkim"), ("Secret", "stalwart-dkim-4")]
    report = first.task("openova.stalwart.stalwart : Report the DKIM keys")["msg"]
    assert "stalwart-dkim-0" in report and "stalwart-dkim-4" in report

    mark = kube.writes
    second = converge(tmp_path / "run2", kube)
    assert second.rc == 0, second.stdout[-8000:]
    assert kube.writes == mark and second.changed == 0
    assert secret_data(kube, "stalwart-dkim-0") == shard
