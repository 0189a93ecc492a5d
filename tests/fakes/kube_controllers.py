# -*- coding: utf-8 -*-
"""The operators' part in the Kubernetes API test server: small controllers that bring objects to the
state their real controllers would (CNPG, cert-manager, MinIO, kube-controller-manager), so that waits in
playbooks finish. Each one is idempotent: run twice, it changes nothing the second time."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import secrets
import typing as t

# Documentation addresses (RFC 5737 TEST-NET-1): handed out as load balancer IPs, never contacted. The mail
# LoadBalancer and the ingress controller have different ones, as in a cluster.
LOAD_BALANCER_IP = "192.0.2.10"
INGRESS_IP = "192.0.2.80"


class ControllerAPI(t.Protocol):
    """What a controller may do to the store (implemented by fakes.kube.KubeServer)."""

    def get_object(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None: ...

    def controller_status(self, obj: dict, status: dict) -> None: ...

    def controller_ensure(self, obj: dict, owner: dict | None = None) -> None: ...

    pod_grace_seconds: float
    # When set, load balancers report a host name under this domain instead of an IP, as AWS NLB/ELB do:
    # <kind>-<name>-<namespace>.<domain>, e.g. service-stalwart-mail-mail.lb.example.com.
    load_balancer_domain: str | None
    ingress_ip: str
    # (host, port) of the name server cert-manager's ACME HTTP-01 self-check asks; None: it is not simulated.
    dns_resolver: tuple[str, int] | None

    def controller_retry(self, obj: dict) -> None: ...

    # Labels of kinds whose objects never become Ready (e.g. {"Cluster.postgresql.cnpg.io"}: a cluster with no
    # storage to bind); the controller reports why and looks again, so removing the label lets it finish.
    never_ready: set[str]

    def controller_delete(self, api_version: str, kind: str, name: str, namespace: str | None = None,
                          grace: float = 0.0) -> None: ...

    def list_objects(self, api_version: str, kind: str, namespace: str | None = None) -> list[dict]: ...


def _b64(value: str | bytes) -> str:
    return base64.b64encode(value.encode() if isinstance(value, str) else value).decode()


def _condition(obj: dict, ctype: str, reason: str, message: str, status: str = "True") -> dict:
    # The creation time is the transition time: deterministic, so a second reconcile changes nothing.
    return {"type": ctype, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": obj["metadata"]["creationTimestamp"]}


def _meta(obj: dict) -> tuple[str, str | None, int]:
    meta = obj["metadata"]
    return meta["name"], meta.get("namespace"), meta.get("generation", 1)


def _replicas(obj: dict, default: int = 1) -> int:
    value = (obj.get("spec") or {}).get("replicas")
    return default if value is None else int(value)


def _revision(obj: dict) -> str:
    template = json.dumps((obj.get("spec") or {}).get("template") or {}, sort_keys=True)
    return f"{obj['metadata']['name']}-{hashlib.sha256(template.encode()).hexdigest()[:10]}"


# -- apiextensions ----------------------------------------------------------------------------------
def crd(api: ControllerAPI, obj: dict) -> None:
    spec = obj["spec"]
    api.controller_status(obj, {
        "conditions": [_condition(obj, "NamesAccepted", "NoConflicts", "no conflicts found"),
                       _condition(obj, "Established", "InitialNamesAccepted", "the initial names have been accepted")],
        "acceptedNames": spec["names"],
        "storedVersions": [v["name"] for v in spec.get("versions", []) if v.get("storage")],
    })


# -- core / apps / batch ----------------------------------------------------------------------------
def namespace(api: ControllerAPI, obj: dict) -> None:
    if (obj.get("status") or {}).get("phase") != "Terminating":
        api.controller_status(obj, {"phase": "Active"})


def load_balancer_hostname(api: ControllerAPI, obj: dict) -> str | None:
    """The host name a cloud load balancer of ``obj`` reports (``load_balancer_domain`` set), else None."""
    if not api.load_balancer_domain:
        return None
    name, ns = _meta(obj)[:2]
    return f"{obj['kind'].lower()}-{name}-{ns}.{api.load_balancer_domain}"


def service(api: ControllerAPI, obj: dict) -> None:
    if (obj.get("spec") or {}).get("type") == "LoadBalancer":
        hostname = load_balancer_hostname(api, obj)
        entry = {"hostname": hostname} if hostname else {"ip": LOAD_BALANCER_IP, "ipMode": "VIP"}
        api.controller_status(obj, {"loadBalancer": {"ingress": [entry]}})
    else:
        api.controller_status(obj, {"loadBalancer": {}})


def ingress(api: ControllerAPI, obj: dict) -> None:
    """The ingress controller: the Ingress gets the address of its controller's load balancer."""
    hostname = load_balancer_hostname(api, obj)
    api.controller_status(obj, {"loadBalancer": {"ingress": [{"hostname": hostname} if hostname else {"ip": api.ingress_ip}]}})


def pvc(api: ControllerAPI, obj: dict) -> None:
    spec = obj.get("spec") or {}
    api.controller_status(obj, {
        "phase": "Bound", "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
        "capacity": {"storage": ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")},
    })


def _pod(obj: dict, name: str, template: dict, revision: str) -> dict:
    tmeta = template.get("metadata") or {}
    labels = {**(tmeta.get("labels") or {}), "controller-revision-hash": revision,
              "statefulset.kubernetes.io/pod-name": name}
    containers = (template.get("spec") or {}).get("containers") or []
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": obj["metadata"].get("namespace"),
                     "labels": labels},
        "spec": {"containers": [{"name": c.get("name", "main"), "image": c.get("image", "")} for c in containers]},
        "status": {"phase": "Running", "podIP": "10.244.0.10",
                   "conditions": [_condition(obj, "Ready", "", "")],
                   "containerStatuses": [{"name": c.get("name", "main"), "image": c.get("image", ""), "imageID": "",
                                          "ready": True, "started": True, "restartCount": 0,
                                          "state": {"running": {"startedAt": obj["metadata"]["creationTimestamp"]}}}
                                         for c in containers]},
    }


def statefulset(api: ControllerAPI, obj: dict) -> None:
    name, ns, generation = _meta(obj)
    spec = obj.get("spec") or {}
    replicas = _replicas(obj)
    revision = _revision(obj)
    for pod in api.list_objects("v1", "Pod", ns):
        owners = [ref.get("uid") for ref in pod["metadata"].get("ownerReferences") or []]
        index = pod["metadata"]["name"].rpartition("-")[2]
        if obj["metadata"]["uid"] in owners and (not index.isdigit() or int(index) >= replicas):
            # Scaled down: the pod terminates, and is gone after its grace period.
            api.controller_delete("v1", "Pod", pod["metadata"]["name"], ns, grace=api.pod_grace_seconds)
    for index in range(replicas):
        api.controller_ensure(_pod(obj, f"{name}-{index}", spec.get("template") or {}, revision), owner=obj)
        for claim in spec.get("volumeClaimTemplates") or []:
            api.controller_ensure({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                   "metadata": {"name": f"{claim['metadata']['name']}-{name}-{index}", "namespace": ns,
                                                "labels": dict((spec.get("selector") or {}).get("matchLabels") or {})},
                                   "spec": claim.get("spec") or {}})
    api.controller_status(obj, {
        "observedGeneration": generation, "replicas": replicas, "readyReplicas": replicas,
        "currentReplicas": replicas, "updatedReplicas": replicas, "availableReplicas": replicas,
        "currentRevision": revision, "updateRevision": revision, "collisionCount": 0,
    })


def deployment(api: ControllerAPI, obj: dict) -> None:
    generation = _meta(obj)[2]
    replicas = _replicas(obj)
    api.controller_status(obj, {
        "observedGeneration": generation, "replicas": replicas, "readyReplicas": replicas,
        "updatedReplicas": replicas, "availableReplicas": replicas,
        "conditions": [_condition(obj, "Available", "MinimumReplicasAvailable", "Deployment has minimum availability."),
                       _condition(obj, "Progressing", "NewReplicaSetAvailable", "ReplicaSet has successfully progressed.")],
    })


def job(api: ControllerAPI, obj: dict) -> None:
    completions = (obj.get("spec") or {}).get("completions") or 1
    stamp = obj["metadata"]["creationTimestamp"]
    api.controller_status(obj, {
        "succeeded": completions, "startTime": stamp, "completionTime": stamp, "ready": 0, "terminating": 0,
        "conditions": [_condition(obj, "SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods"),
                       _condition(obj, "Complete", "CompletionsReached", "Reached expected number of succeeded pods")],
    })


def pdb(api: ControllerAPI, obj: dict) -> None:
    generation = _meta(obj)[2]
    api.controller_status(obj, {"observedGeneration": generation, "currentHealthy": 1, "desiredHealthy": 1,
                                "disruptionsAllowed": 0, "expectedPods": 1})


# -- CloudNativePG ----------------------------------------------------------------------------------
def cnpg_cluster(api: ControllerAPI, obj: dict) -> None:
    """CNPG: the cluster turns healthy, with its -rw/-ro/-r Services and the -app (and -superuser) Secrets."""
    name, ns = _meta(obj)[:2]
    spec = obj.get("spec") or {}
    initdb = ((spec.get("bootstrap") or {}).get("initdb")) or {}
    database = initdb.get("database", "app")
    owner = initdb.get("owner", database)
    for suffix, role in (("rw", "primary"), ("ro", "replica"), ("r", "any")):
        api.controller_ensure({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": f"{name}-{suffix}", "namespace": ns, "labels": {"cnpg.io/cluster": name}},
            "spec": {"type": "ClusterIP", "ports": [{"name": "postgres", "port": 5432, "protocol": "TCP",
                                                    "targetPort": 5432}],
                     "selector": {"cnpg.io/cluster": name, **({"cnpg.io/instanceRole": role} if role != "any" else {})}},
        }, owner=obj)
    if not (initdb.get("secret") or {}).get("name"):
        _cnpg_secret(api, obj, f"{name}-app", owner, database)
    if spec.get("enableSuperuserAccess"):
        _cnpg_secret(api, obj, f"{name}-superuser", "postgres", "*")
    instances = int(spec.get("instances", 1))
    if "Cluster.postgresql.cnpg.io" in api.never_ready:  # NEVER_READY_KINDS
        # As CNPG while the first instance's initdb Job cannot start (its volume never binds): the Secrets and
        # Services exist, the phase says what it is doing, Ready is False; the operator requeues and tries again.
        api.controller_status(obj, {
            "phase": "Setting up primary", "phaseReason": f"Creating primary instance {name}-1-initdb",
            "instances": instances, "readyInstances": 0, "targetPrimary": f"{name}-1", "latestGeneratedNode": 1,
            "writeService": f"{name}-rw", "readService": f"{name}-r",
            "conditions": [_condition(obj, "Ready", "ClusterIsNotReady", "Cluster Is Not Ready", status="False")],
        })
        api.controller_retry(obj)
        return
    api.controller_status(obj, {
        "phase": "Cluster in healthy state", "instances": instances, "readyInstances": instances,
        "currentPrimary": f"{name}-1", "targetPrimary": f"{name}-1", "latestGeneratedNode": instances,
        "writeService": f"{name}-rw", "readService": f"{name}-r",
        "instanceNames": [f"{name}-{i}" for i in range(1, instances + 1)],
        "conditions": [_condition(obj, "Ready", "ClusterIsReady", "Cluster is Ready")],
    })


def _cnpg_secret(api: ControllerAPI, cluster: dict, secret: str, user: str, dbname: str) -> None:
    name, ns = _meta(cluster)[:2]
    if api.get_object("v1", "Secret", secret, ns) is not None:
        return  # generated once, like the operator: the password stays
    password = secrets.token_urlsafe(24)
    host = f"{name}-rw"
    fqdn = f"{host}.{ns}"
    api.controller_ensure({
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/basic-auth",
        "metadata": {"name": secret, "namespace": ns, "labels": {"cnpg.io/cluster": name, "cnpg.io/reload": "true"}},
        "data": {key: _b64(value) for key, value in {
            "username": user, "user": user, "password": password, "host": host, "port": "5432", "dbname": dbname,
            "pgpass": f"{host}:5432:{dbname}:{user}:{password}\n",
            "uri": f"postgresql://{user}:{password}@{fqdn}:5432/{dbname}",
            "jdbc-uri": f"jdbc:postgresql://{fqdn}:5432/{dbname}?password={password}&user={user}",
        }.items()},
    }, owner=cluster)


def cnpg_backup(api: ControllerAPI, obj: dict) -> None:
    stamp = obj["metadata"]["creationTimestamp"]
    api.controller_status(obj, {"phase": "completed", "method": (obj.get("spec") or {}).get("method", "barmanObjectStore"),
                                "startedAt": stamp, "stoppedAt": stamp})


def cnpg_database(api: ControllerAPI, obj: dict) -> None:
    api.controller_status(obj, {"applied": True, "observedGeneration": _meta(obj)[2]})


# -- cert-manager / MinIO ---------------------------------------------------------------------------
def issuer(api: ControllerAPI, obj: dict) -> None:
    api.controller_status(obj, {"conditions": [_condition(obj, "Ready", "IsReady", "Signing CA verified")]})


def _solver(issuer: dict, name: str) -> dict | None:
    """The ACME solver cert-manager picks for ``name``: a selector naming it in dnsNames, else the one whose
    dnsZones suffix is the longest, else one without a selector."""
    best, rank = None, (-1, -1)
    for solver in ((issuer.get("spec") or {}).get("acme") or {}).get("solvers") or []:
        selector = solver.get("selector") or {}
        if name in (selector.get("dnsNames") or []):
            found = (2, 0)
        elif selector.get("dnsNames") or selector.get("dnsZones"):
            zones = [z for z in selector.get("dnsZones") or [] if name == z or name.endswith("." + z)]
            if not zones or selector.get("dnsNames"):
                continue
            found = (1, max(len(z) for z in zones))
        else:
            found = (0, 0)
        if found > rank:
            best, rank = solver, found
    return best


def _resolves(server: tuple[str, int], name: str) -> bool:
    """Whether ``name`` has an A or AAAA record (or a CNAME to one) on the name server."""
    import dns.message  # pylint: disable=import-outside-toplevel
    import dns.query  # pylint: disable=import-outside-toplevel
    import dns.rdatatype  # pylint: disable=import-outside-toplevel

    for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
        response = dns.query.tcp(dns.message.make_query(name, rdtype), server[0], port=server[1], timeout=5)
        if any(rrset.rdtype == rdtype for rrset in response.answer):
            return True
    return False


def _not_issued(api: ControllerAPI, obj: dict, names: list[str]) -> str | None:
    """Why cert-manager cannot issue the Certificate yet, or None. Only with ``api.dns_resolver``: an ACME issuer
    proves each name with its solver, and an HTTP-01 challenge (http://<name>/.well-known/acme-challenge/...) needs
    the name to resolve to the ingress; a missing or not ready issuer issues nothing."""
    if api.dns_resolver is None:
        return None
    ref = (obj.get("spec") or {}).get("issuerRef") or {}
    kind = ref.get("kind") or "Issuer"
    issuer = api.get_object("cert-manager.io/v1", kind, ref.get("name", ""),
                            None if kind == "ClusterIssuer" else obj["metadata"].get("namespace"))
    if issuer is None:
        return f'Referenced "{kind}" not found: {kind.lower()}.cert-manager.io "{ref.get("name")}" not found'
    if not ((issuer.get("spec") or {}).get("acme")):
        return None
    pending = [name for name in names if (_solver(issuer, name) or {}).get("http01") is not None
               and not _resolves(api.dns_resolver, name)]
    if pending:
        return ("Issuing certificate as Secret does not exist; the HTTP-01 self check failed for "
                + ", ".join(pending) + ": no such host")
    return None


def certificate(api: ControllerAPI, obj: dict) -> None:
    """cert-manager: a key pair and a self-signed certificate for spec.dnsNames in spec.secretName. With a name
    server to ask (``api.dns_resolver``), a name an ACME issuer proves over HTTP-01 must resolve first: until then
    the Certificate is not Ready (reason DoesNotExist, as cert-manager says while its order is pending) and the
    controller looks again later."""
    name, ns, generation = _meta(obj)
    spec = obj.get("spec") or {}
    names = list(spec.get("dnsNames") or []) or [spec.get("commonName") or name]
    existing = api.get_object("v1", "Secret", spec["secretName"], ns)
    alt = ",".join(names)
    issued = existing is not None and (existing["metadata"].get("annotations") or {}).get("cert-manager.io/alt-names") == alt
    if not issued:
        reason = _not_issued(api, obj, names)
        if reason is not None:
            api.controller_status(obj, {"conditions": [
                {**_condition(obj, "Issuing", "DoesNotExist", reason), "observedGeneration": generation},
                {**_condition(obj, "Ready", "DoesNotExist", reason, status="False"), "observedGeneration": generation}]})
            api.controller_retry(obj)
            return
        cert, key = _self_signed(names)
        api.controller_ensure({
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": spec["secretName"], "namespace": ns, "annotations": {
                "cert-manager.io/alt-names": alt, "cert-manager.io/certificate-name": name,
                "cert-manager.io/common-name": spec.get("commonName", ""),
                "cert-manager.io/issuer-name": (spec.get("issuerRef") or {}).get("name", ""),
                "cert-manager.io/issuer-kind": (spec.get("issuerRef") or {}).get("kind", "Issuer")}},
            "data": {"tls.crt": _b64(cert), "tls.key": _b64(key), "ca.crt": _b64(cert)},
        })
    api.controller_status(obj, {
        "conditions": [{**_condition(obj, "Ready", "Ready", "Certificate is up to date and has not expired"),
                        "observedGeneration": generation}],
        "notBefore": obj["metadata"]["creationTimestamp"], "revision": 1,
    })


def _self_signed(names: list[str]) -> tuple[bytes, bytes]:
    # Imported here so the server runs without cryptography when no Certificate is ever written.
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import hashes, serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import ec  # pylint: disable=import-outside-toplevel
    from cryptography.x509.oid import NameOID  # pylint: disable=import-outside-toplevel

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=90))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def minio_tenant(api: ControllerAPI, obj: dict) -> None:
    pools = (obj.get("spec") or {}).get("pools") or []
    servers = sum(int(p.get("servers", 0)) for p in pools)
    api.controller_status(obj, {"currentState": "Initialized", "healthStatus": "green", "availableReplicas": servers,
                                "revision": 0, "syncVersion": ""})


# The kinds whose controller honours ControllerAPI.never_ready.
NEVER_READY_KINDS = frozenset({"Cluster.postgresql.cnpg.io"})

# Keyed by ResourceType.label; KubeServer(controllers={"Cluster.postgresql.cnpg.io": False}) turns one off.
CONTROLLERS: dict[str, t.Callable[[ControllerAPI, dict], None]] = {
    "CustomResourceDefinition.apiextensions.k8s.io": crd,
    "Namespace": namespace,
    "Service": service,
    "Ingress.networking.k8s.io": ingress,
    "PersistentVolumeClaim": pvc,
    "StatefulSet.apps": statefulset,
    "Deployment.apps": deployment,
    "Job.batch": job,
    "PodDisruptionBudget.policy": pdb,
    "Cluster.postgresql.cnpg.io": cnpg_cluster,
    "Backup.postgresql.cnpg.io": cnpg_backup,
    "Database.postgresql.cnpg.io": cnpg_database,
    "Issuer.cert-manager.io": issuer,
    "ClusterIssuer.cert-manager.io": issuer,
    "Certificate.cert-manager.io": certificate,
    "Tenant.minio.min.io": minio_tenant,
}
