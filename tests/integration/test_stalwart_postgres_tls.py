# -*- coding: utf-8 -*-
"""PostgreSQL TLS verified against the CloudNativePG CA: the rendered config.json asks for certificate
verification (allowInvalidCerts false) of the name in the server certificate, and the StatefulSet gives Stalwart
the trust roots it reads (SSL_CERT_FILE = the system bundle, SSL_CERT_DIR = the mounted <cluster>-ca, ca.crt only).
A real PostgreSQL 15 serving a certificate made the way CloudNativePG makes it (ECDSA CA, the Service names of
GetClusterAltDNSNames) accepts a verify-full connection to the rendered host with that CA, and refuses one with
another CA."""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

from fakes.ansible import STALWART_VARS, render_stalwart, run_playbook
from fakes.common import free_port, stop_process, wait_for_port
from fakes.manifests import assert_restricted_pss, load_documents, validate

PG_BIN = pathlib.Path("/usr/lib/postgresql/15/bin")


def render(tmp: pathlib.Path, extra: dict | None = None) -> pathlib.Path:
    out = tmp / "render"
    result = render_stalwart(tmp / "run", out, extra)
    assert result.rc == 0, result.stdout[-5000:] + result.stderr[-2000:]
    return out


def data_store(out: pathlib.Path) -> dict:
    """config.json is the DataStore object Stalwart reads at start."""
    return json.loads((out / "stalwart" / "config.json").read_text())


def pod_spec(out: pathlib.Path, shared_dir) -> dict:
    sts = next(d for d in load_documents(out / "kubernetes") if d["kind"] == "StatefulSet")
    validate(sts, shared_dir)
    assert_restricted_pss(sts)
    return sts["spec"]["template"]["spec"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return render(tmp_path_factory.mktemp("pg-tls"))


def test_config_and_pod_verify_the_database_certificate(rendered, shared_dir):
    store = data_store(rendered)
    assert store["@type"] == "PostgreSql"
    assert store["useTls"] is True and store["allowInvalidCerts"] is False
    assert store["host"] == "stalwart-db-rw.mail.svc"
    spec = pod_spec(rendered, shared_dir)
    container = spec["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["SSL_CERT_FILE"] == "/etc/ssl/certs/ca-certificates.crt"  # the public CAs stay trusted
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["postgres-ca"] == {"name": "postgres-ca", "mountPath": env["SSL_CERT_DIR"], "readOnly": True}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["postgres-ca"]["secret"]["secretName"] == "stalwart-db-ca"
    # only the certificate: the CA key in the same Secret never reaches the pod
    assert volumes["postgres-ca"]["secret"]["items"] == [{"key": "ca.crt", "path": "ca.crt"}]


def test_opting_out_drops_the_roots_and_a_bad_secret_name_is_refused(tmp_path, shared_dir):
    out = render(tmp_path / "insecure", {"stalwart_postgres_allow_invalid_certs": True})
    assert data_store(out)["allowInvalidCerts"] is True
    spec = pod_spec(out, shared_dir)
    assert "postgres-ca" not in {v["name"] for v in spec["volumes"]}
    assert not {"SSL_CERT_FILE", "SSL_CERT_DIR"} & {e["name"] for e in spec["containers"][0]["env"]}

    play = [{"hosts": "localhost", "gather_facts": False,
             "vars": {**STALWART_VARS, "stalwart_postgres_ca_secret": "Not_A_Name"}, "roles": ["openova.stalwart.stalwart"]}]
    extra_vars = {"openova_stalwart_mode": "render", "openova_stalwart_render_dir": str(tmp_path / "bad-out")}
    result = run_playbook(play, tmp_path / "bad", extra_vars=extra_vars)
    assert result.rc != 0 and "stalwart_postgres_ca_secret" in result.stdout
    assert not (tmp_path / "bad-out").exists()


# ---------------------------------------------------------------- a real PostgreSQL with a CNPG-style certificate

def _ca(name: str):
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import hashes  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import ec  # pylint: disable=import-outside-toplevel
    from cryptography.x509.oid import NameOID  # pylint: disable=import-outside-toplevel

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "mail"),
                         x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=90))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def _server_cert(ca_key, ca_cert, cluster: str, namespace: str):
    """What CloudNativePG issues: the rw, r and ro Services by short, namespaced and .svc names."""
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import hashes  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import ec  # pylint: disable=import-outside-toplevel
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # pylint: disable=import-outside-toplevel

    names = [f"{cluster}-{kind}{suffix}" for kind in ("rw", "r", "ro") for suffix in ("", f".{namespace}", f".{namespace}.svc")]
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{cluster}-rw")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=90))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def _pem(obj) -> bytes:
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel

    if hasattr(obj, "private_bytes"):
        return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return obj.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def postgres_tls(tmp_path):
    """PostgreSQL 15 on 127.0.0.1 with TLS from a CloudNativePG-style CA; yields (port, ca.crt path, other CA path)."""
    if not (PG_BIN / "initdb").exists() or not shutil.which("psql"):
        pytest.fail("PostgreSQL 15 (postgresql-15, postgresql-client) is not installed: run `make install`")
    # pytest's base directory is private to its user: the server (user postgres when run as root) lives outside it
    base = pathlib.Path(tempfile.mkdtemp(prefix="pg-tls-"))
    ca_key, ca_cert = _ca("stalwart-db")
    key, cert = _server_cert(ca_key, ca_cert, "stalwart-db", "mail")
    (base / "server.crt").write_bytes(_pem(cert))
    (base / "server.key").write_bytes(_pem(key))
    (tmp_path / "ca.crt").write_bytes(_pem(ca_cert))
    (tmp_path / "other-ca.crt").write_bytes(_pem(_ca("stalwart-db")[1]))  # same name, another key
    (base / "server.key").chmod(0o600)
    user = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        for path in [base, *base.iterdir()]:
            shutil.chown(path, "postgres", "postgres")
        user = ["runuser", "-u", "postgres", "--"]
    data = base / "data"
    subprocess.run([*user, str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen([*user, str(PG_BIN / "postgres"), "-D", str(data), "-p", str(port), "-h", "127.0.0.1",
                             "-k", str(base), "-c", "ssl=on", "-c", f"ssl_cert_file={base / 'server.crt'}",
                             "-c", f"ssl_key_file={base / 'server.key'}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield port, tmp_path / "ca.crt", tmp_path / "other-ca.crt"
    finally:
        stop_process(proc)
        shutil.rmtree(base, ignore_errors=True)


def _connect(host: str, port: int, ca: pathlib.Path) -> subprocess.CompletedProcess:
    dsn = (f"host={host} hostaddr=127.0.0.1 port={port} user=postgres dbname=postgres "
           f"sslmode=verify-full sslrootcert={ca} connect_timeout=10")
    return subprocess.run(["psql", dsn, "-Atc", "select ssl from pg_stat_ssl where pid = pg_backend_pid()"],
                          capture_output=True, text=True, check=False)


def test_rendered_host_verifies_against_the_cluster_ca(rendered, postgres_tls):
    port, ca, other_ca = postgres_tls
    host = data_store(rendered)["host"]
    done = _connect(host, port, ca)
    assert done.returncode == 0 and done.stdout.strip() == "t", done.stderr
    refused = _connect(host, port, other_ca)
    assert refused.returncode != 0 and "SSL error" in refused.stderr  # the signature does not verify
    wrong_name = _connect("stalwart-db.mail.svc", port, ca)  # not a Service name CloudNativePG certifies
    assert wrong_name.returncode != 0 and "does not match" in wrong_name.stderr
