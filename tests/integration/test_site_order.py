# -*- coding: utf-8 -*-
"""site.yml in apply mode on a fresh cluster with a fresh zone converges in one run: the DNS records are published
before anything that needs the public names. The Kubernetes API test server plays cert-manager with an ACME HTTP-01
issuer for the web names (a Certificate is issued only once its names resolve on the zone's server, a real BIND),
and the management URL, https://autodiscover.<domain>, reaches the JMAP test server only through the published
record: the Ingress reports 127.0.0.1, where it listens."""

from __future__ import annotations

import contextlib
import pathlib
import time

import dns.query
import dns.update

from fakes.ansible import REPO, run_playbook
from fakes.bind import BindServer
from fakes.jmap import JmapServer
from fakes.kube import KubeServer
from fakes.kube_controllers import _self_signed

SITE = REPO / "site.yml"
INVENTORY = REPO / "examples" / "inventory.yml"
ZONE = "order.test"
ADMIN_PASSWORD = "Adm1n-pass"


def _issuers() -> list[dict]:
    acme = {"server": "https://acme-v02.api.letsencrypt.org/directory", "email": f"hostmaster@{ZONE}"}
    return [
        # The web names: HTTP-01 through the ingress controller (the challenge URL is http://<name>/...).
        {"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "letsencrypt"},
         "spec": {"acme": {**acme, "privateKeySecretRef": {"name": "letsencrypt-account"},
                           "solvers": [{"http01": {"ingress": {"ingressClassName": "nginx"}}}]}}},
        # The mail host (its address is the mail LoadBalancer, no port 80): DNS-01.
        {"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "letsencrypt-dns"},
         "spec": {"acme": {**acme, "privateKeySecretRef": {"name": "letsencrypt-dns-account"},
                           "solvers": [{"dns01": {"rfc2136": {"nameserver": "192.0.2.53:53", "tsigKeyName": "acme",
                                                              "tsigAlgorithm": "HMACSHA256",
                                                              "tsigSecretSecretRef": {"name": "acme-tsig", "key": "secret"}}}}]}}},
    ]


def _site(tmp: pathlib.Path, kube: KubeServer, jmap: JmapServer, bind: BindServer, **overrides):
    extra = {
        "openova_stalwart_mode": "apply", "openova_stalwart_kubeconfig": str(kube.kubeconfig),
        "stalwart_hostname": f"mail.{ZONE}", "stalwart_domains": [{"name": ZONE}],
        "stalwart_tls_mail_issuer_name": "letsencrypt-dns", "stalwart_smoke_account": "",
        "stalwart_wait_timeout": 30, "cnpg_operator_install": False, "cnpg_wait_timeout": 30,
        "minio_s3_endpoint": "http://s3.storage.svc:9000", "minio_s3_access_key": "s3-access-Qk2",
        "minio_s3_secret_key": "s3-secret-Pw71Za", "minio_verify": False,
        # The default URL's name, on the JMAP test server's port; resolved on the zone's server, as an operator
        # would where a caching resolver still holds the negative answer from before the first publish.
        "stalwart_management_url": f"https://autodiscover.{ZONE}:{jmap.port}",
        "stalwart_management_validate_certs": False,  # the test server's certificate is self-signed
        "stalwart_management_resolvers": [bind.host], "stalwart_management_resolver_port": bind.port,
        **bind.role_vars(), "dns_verify_resolvers": [bind.host], "dns_verify_resolver_port": bind.port,
        "dns_web_wait_timeout": 30, "dns_mail_host_service_wait_timeout": 30, **overrides,
    }
    return run_playbook(SITE, tmp, inventory=INVENTORY, extra_vars=extra)


def _changed_tasks(result) -> list[str]:
    return [t["task"]["name"] for p in result.data["plays"] for t in p["tasks"]
            if any(h.get("changed") for h in t["hosts"].values())]


@contextlib.contextmanager
def scene(tmp: pathlib.Path, shared_dir: pathlib.Path, **kube_options):
    """What site.yml in apply mode talks to on a fresh cluster and zone: a BIND for the zone, the JMAP test server
    (self-signed for the management URL's name, reached only through the published record), and the Kubernetes API
    test server playing cert-manager with this module's issuers; yields (kube, jmap, bind), stops them after."""
    cert, key = _self_signed([f"autodiscover.{ZONE}"])
    (tmp / "jmap.crt").write_bytes(cert)
    (tmp / "jmap.key").write_bytes(key)
    bind = BindServer(tmp / "bind", [ZONE]).start()
    jmap = JmapServer(shared_dir / "stalwart" / "schema-0.16.18.json.gz", users={"admin": ADMIN_PASSWORD},
                      tls=(tmp / "jmap.crt", tmp / "jmap.key")).start()
    kube = KubeServer(tmp / "kube", crd_dir=shared_dir / "crds", ingress_ip="127.0.0.1",
                      dns_resolver=(bind.host, bind.port), **kube_options).start()
    try:
        for issuer in _issuers():
            kube.seed(issuer)
        kube.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mail"}})
        kube.seed({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "stalwart-credentials", "namespace": "mail"},
                   "stringData": {"STALWART_RECOVERY_ADMIN": f"admin:{ADMIN_PASSWORD}"}})
        yield kube, jmap, bind
    finally:
        kube.stop()
        jmap.stop()
        bind.stop()


def test_one_run_converges_on_a_fresh_cluster_and_zone(tmp_path, shared_dir):
    with scene(tmp_path, shared_dir) as (kube, jmap, bind):
        assert bind.query(f"autodiscover.{ZONE}", "A") == []  # a fresh zone

        first = _site(tmp_path / "run1", kube, jmap, bind)
        assert first.rc == 0, first.stdout[-8000:] + first.stderr[-3000:]
        assert [r.to_text() for r in bind.query(f"autodiscover.{ZONE}", "A")] == ["127.0.0.1"]
        assert [r.to_text() for r in bind.query(f"mail.{ZONE}", "A")] == ["192.0.2.10"]
        # Every Certificate issued: the web names' over HTTP-01 once published, the mail host's over DNS-01.
        certificates = kube.list("Certificate", "mail")
        assert len(certificates) == 2
        for certificate in certificates:
            ready = [c for c in certificate["status"]["conditions"] if c["type"] == "Ready"]
            assert ready and ready[0]["status"] == "True", certificate["status"]
        # The settings went through the published name.
        assert [d["name"] for d in jmap.objects("Domain")] == [ZONE]
        assert len(jmap.objects("DkimSignature")) == 2

        set_calls = jmap.set_calls
        kube.reset_counters()
        second = _site(tmp_path / "run2", kube, jmap, bind)
        assert second.rc == 0, second.stdout[-8000:] + second.stderr[-3000:]
        assert second.changed == 0, _changed_tasks(second)
        assert kube.counters()["mutating_requests"] == 0 and jmap.set_calls == set_calls
    assert not kube.controller_errors, kube.controller_errors


def test_http01_certificate_waits_for_its_names(tmp_path, shared_dir):
    """The test server's cert-manager: with a name server to ask, an ACME HTTP-01 Certificate stays not Ready
    (DoesNotExist) until every name resolves there, and is issued once they do, without another write to it."""
    bind = BindServer(tmp_path / "bind", [ZONE]).start()
    kube = KubeServer(tmp_path / "kube", crd_dir=shared_dir / "crds", dns_resolver=(bind.host, bind.port),
                      retry_seconds=0.1).start()
    try:
        for issuer in _issuers():
            kube.seed(issuer)
        kube.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mail"}})
        names = [f"mta-sts.{ZONE}", f"autodiscover.{ZONE}"]

        def certificate(name: str, issuer: str) -> dict:
            return kube.seed({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                              "metadata": {"name": name, "namespace": "mail"},
                              "spec": {"secretName": name, "dnsNames": names if issuer == "letsencrypt" else [f"mail.{ZONE}"],
                                       "issuerRef": {"kind": "ClusterIssuer", "name": issuer}}})

        certificate("web", "letsencrypt")
        certificate("mail", "letsencrypt-dns")
        certificate("orphan", "no-such-issuer")
        web = kube.get("Certificate", "web", "mail")["status"]["conditions"]
        expected = [("Issuing", "True", "DoesNotExist"), ("Ready", "False", "DoesNotExist")]
        assert [(c["type"], c["status"], c["reason"]) for c in web] == expected
        assert all(name in web[1]["message"] for name in names)
        assert kube.get("Secret", "web", "mail") is None
        assert kube.get("Certificate", "mail", "mail")["status"]["conditions"][0]["status"] == "True"
        assert "not found" in kube.get("Certificate", "orphan", "mail")["status"]["conditions"][1]["message"]

        def publish(name: str) -> None:
            update = dns.update.UpdateMessage(ZONE, keyring=bind.keyring, keyname=bind.key_name)
            update.add(f"{name}.", 300, "A", "192.0.2.80")
            dns.query.tcp(update, bind.host, port=bind.port, timeout=5)

        def web_conditions() -> list[dict]:
            return kube.get("Certificate", "web", "mail")["status"]["conditions"]

        publish(f"mta-sts.{ZONE}")
        _wait(lambda: f"mta-sts.{ZONE}" not in web_conditions()[-1]["message"])  # looked again, one name left
        assert web_conditions()[-1]["status"] == "False" and f"autodiscover.{ZONE}" in web_conditions()[-1]["message"]
        publish(f"autodiscover.{ZONE}")
        _wait(lambda: kube.get("Certificate", "web", "mail")["status"]["conditions"][0]["type"] == "Ready")
        assert kube.get("Secret", "web", "mail")["metadata"]["annotations"]["cert-manager.io/alt-names"] == ",".join(names)
    finally:
        kube.stop()
        bind.stop()
    assert not kube.controller_errors, kube.controller_errors


def _wait(check, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.05)


def test_one_role_by_its_tag(tmp_path):
    """--tags stalwart or --tags dns runs every preflight (their facts wire the roles) and that role alone: the same
    files as the whole run for it, nothing of the others."""
    def render(name: str, *args: str) -> pathlib.Path:
        out = tmp_path / name
        result = run_playbook(SITE, tmp_path / f"run-{name}", inventory=INVENTORY, args=list(args),
                              extra_vars={"openova_stalwart_render_dir": str(out)})
        assert result.rc == 0, result.stdout[-4000:] + result.stderr[-2000:]
        return out

    def files(root: pathlib.Path) -> list[str]:
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())

    whole = render("whole")
    stalwart = render("stalwart", "--tags", "stalwart")
    assert sorted(p.name for p in (stalwart / "kubernetes").iterdir()) == ["00-namespaces", "50-stalwart", "kustomization.yaml"]
    for part in ("kubernetes/50-stalwart", "stalwart", "secrets/stalwart"):
        assert files(stalwart / part) == files(whole / part), part
    assert not (stalwart / "dns").exists()
    dns_only = render("dns", "--tags", "dns")
    assert sorted(p.name for p in dns_only.iterdir()) == ["dns"]
    assert files(dns_only / "dns") == files(whole / "dns")


def test_an_issuer_proving_the_mail_host_over_http01_is_refused_before_any_write(tmp_path, shared_dir):
    """Apply mode reads the mail host's issuer in the preflight and picks its solver as cert-manager does: an HTTP-01
    one (the mail LoadBalancer has no port 80, the challenge can never succeed) stops the run before any write, naming
    the variable, the issuer and the solver; a DNS-01 solver selected by zone, or another issuer, passes. A missing
    issuer only warns (it may be created alongside)."""
    acme = {"server": "https://acme-v02.api.letsencrypt.org/directory", "privateKeySecretRef": {"name": "account"}}
    http01 = {"http01": {"ingress": {"ingressClassName": "nginx"}}}
    dns01 = {"dns01": {"rfc2136": {"nameserver": "192.0.2.53:53", "tsigKeyName": "acme", "tsigAlgorithm": "HMACSHA256",
                                   "tsigSecretSecretRef": {"name": "acme-tsig", "key": "secret"}}}}
    kube = KubeServer(tmp_path / "kube", crd_dir=shared_dir / "crds").start()

    def preflight(name: str, **extra):
        """Every preflight and nothing else (tags that match no task; the preflights run under "always")."""
        return run_playbook(SITE, tmp_path / name, inventory=INVENTORY, args=["--tags", "never"], extra_vars={
            "openova_stalwart_mode": "apply", "openova_stalwart_kubeconfig": str(kube.kubeconfig),
            "stalwart_hostname": f"Mail.{ZONE}", "stalwart_domains": [{"name": ZONE}], "cnpg_operator_install": False,
            "minio_s3_endpoint": "http://s3.storage.svc:9000", "minio_s3_access_key": "s3-access-Qk2",
            "minio_s3_secret_key": "s3-secret-Pw71Za", **extra})

    def failure(result) -> str:
        return " ".join(h.get("msg", "") for p in result.data["plays"] for task in p["tasks"]
                        for h in task["hosts"].values() if h.get("failed"))

    try:
        kube.seed({"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "letsencrypt"},
                   "spec": {"acme": {**acme, "solvers": [http01]}}})
        kube.seed({"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "split"},
                   "spec": {"acme": {**acme, "solvers": [http01, {**dns01, "selector": {"dnsZones": [ZONE]}}]}}})
        kube.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mail"}})
        kube.seed({"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": {"name": "local", "namespace": "mail"},
                   "spec": {"acme": {**acme, "solvers": [{**dns01, "selector": {"dnsNames": ["other.example"]}}, http01]}}})
        kube.reset_counters()

        # The default: the web names' HTTP-01 issuer for the mail host too.
        refused = preflight("default")
        assert refused.rc != 0
        assert failure(refused) == (
            f'stalwart_tls_issuer_name: ClusterIssuer "letsencrypt" would prove mail.{ZONE} with its HTTP-01 solver '
            "(spec.acme.solvers[0]), but the mail host resolves to the mail LoadBalancer, which has no port 80: the "
            "challenge cannot succeed. Set stalwart_tls_mail_issuer_kind and stalwart_tls_mail_issuer_name to an issuer "
            f'that solves DNS-01 for mail.{ZONE} (docs/kubernetes-mail-traps.md, "Certificates an ACME CA will issue").')
        # A namespaced Issuer whose dnsNames selector names another host: its default solver, HTTP-01, is refused.
        refused = preflight("issuer", stalwart_tls_mail_issuer_kind="Issuer", stalwart_tls_mail_issuer_name="local")
        assert failure(refused).startswith(f'stalwart_tls_mail_issuer_name: Issuer "local" would prove mail.{ZONE} '
                                           "with its HTTP-01 solver (spec.acme.solvers[1])"), failure(refused)
        assert kube.counters()["writes"] == 0

        # The zone's DNS-01 solver outranks the default HTTP-01 one.
        passed = preflight("split", stalwart_tls_mail_issuer_name="split")
        assert passed.rc == 0, failure(passed) or passed.stdout[-3000:]
        # Not there yet: a warning, not a failure.
        missing = preflight("missing", stalwart_tls_mail_issuer_name="not-yet")
        assert missing.rc == 0, failure(missing)
        warned = [h.get("msg", "") for p in missing.data["plays"] for task in p["tasks"] for h in task["hosts"].values()
                  if task["task"]["name"].endswith("Warn that the mail host's issuer does not exist yet") and not h.get("skipped")]
        assert warned == [f'ClusterIssuer "not-yet" (the issuer of mail.{ZONE}) does not exist yet: the mail host\'s '
                          "Certificate stays not Ready until it does"]
        assert kube.counters()["writes"] == 0
    finally:
        kube.stop()
