# -*- coding: utf-8 -*-
"""The stand-ins of a whole site as one background process on loopback, for molecule/standin:

    python3 -m fakes.serve start --state-dir DIR --zone example.org --zone example.net
    python3 -m fakes.serve stop --state-dir DIR

(run from tests/, or with tests/ on PYTHONPATH). ``start`` returns once every server answers: a real BIND 9 with
the zones writable over RFC 2136, the Stalwart JMAP stand-in over HTTPS (a self-signed certificate for
autodiscover.<zone>) and the Kubernetes API stand-in with its controllers and the upstream CRDs. The cluster's
ingress reports 127.0.0.1, where the JMAP stand-in listens, and cert-manager issues an ACME HTTP-01 name once it
resolves on the BIND: so the management URL https://autodiscover.<zone>:<port> works only through the published
record, as on a fresh cluster and zone. The cluster holds the namespace and the recovery admin Secret of an
earlier run (the password the JMAP stand-in accepts): the stand-in cannot run Stalwart with a new one.

DIR/servers.json (mode 0600: it holds the TSIG and admin secrets) says where each server listens; DIR/kube/kubeconfig
reaches the API. DIR/controller-errors.json lists what the simulated operators failed on (empty when all is well).
``stop`` ends the process named in DIR/servers.json and reports those errors; the process also ends by itself after
``--lifetime`` seconds, so nothing outlives a run whose cleanup never came."""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time

from .common import wait_for_port

SHARED = pathlib.Path(__file__).resolve().parents[3] / "shared"
SCHEMA = pathlib.Path("stalwart", "schema-0.16.18.json.gz")
SERVERS = "servers.json"
ERRORS = "controller-errors.json"
LOG = "serve.log"


def _write_private(path: pathlib.Path, data: dict) -> None:
    """Write JSON readable by the owner only, atomically: a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=2)
    tmp.rename(path)


def run(state: pathlib.Path, zones: list[str], shared: pathlib.Path, namespace: str, lifetime: float) -> int:
    """Start the servers, write servers.json, serve until SIGTERM/SIGINT or ``lifetime``, stop them."""
    # Imported here: `stop` needs none of them (nor cryptography or dnspython).
    from .bind import BindServer  # pylint: disable=import-outside-toplevel
    from .jmap import JmapServer  # pylint: disable=import-outside-toplevel
    from .kube import KubeServer  # pylint: disable=import-outside-toplevel
    from .kube_controllers import _self_signed  # pylint: disable=import-outside-toplevel

    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    admin_password = secrets.token_urlsafe(18)
    cert, key = _self_signed([f"autodiscover.{zone}" for zone in zones])
    (state / "jmap.crt").write_bytes(cert)
    key_path = state / "jmap.key"
    key_path.touch(mode=0o600)
    key_path.write_bytes(key)
    started: list = []
    try:
        bind = BindServer(state / "bind", zones).start()
        started.append(bind)
        jmap = JmapServer(shared / SCHEMA, users={"admin": admin_password}, tls=(state / "jmap.crt", key_path)).start()
        started.append(jmap)
        wait_for_port(jmap.port)
        kube = KubeServer(state / "kube", crd_dir=shared / "crds", ingress_ip="127.0.0.1",
                          dns_resolver=(bind.host, bind.port)).start()
        started.append(kube)
        kube.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        kube.seed({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "stalwart-credentials", "namespace": namespace},
                   "stringData": {"STALWART_RECOVERY_ADMIN": f"admin:{admin_password}"}})
        _write_private(state / ERRORS, {"errors": []})
        _write_private(state / SERVERS, {
            "pid": os.getpid(),
            "kube": {"url": kube.url, "kubeconfig": str(kube.kubeconfig)},
            "jmap": {"port": jmap.port, "user": "admin", "password": admin_password, "ca": str(state / "jmap.crt")},
            "bind": {"host": bind.host, "port": bind.port, "zones": zones, "key_name": bind.key_name,
                     "key_algorithm": bind.algorithm, "key_secret": bind.key_secret},
        })
        print(f"serving: kube {kube.url}, jmap 127.0.0.1:{jmap.port}, bind 127.0.0.1:{bind.port}", flush=True)
        deadline = time.monotonic() + lifetime
        reported: list[str] = []
        while not done.wait(0.5):
            if kube.controller_errors != reported:
                reported = list(kube.controller_errors)
                _write_private(state / ERRORS, {"errors": reported})
            if time.monotonic() > deadline:
                print(f"stopping after --lifetime {lifetime:g}s", flush=True)
                break
        _write_private(state / ERRORS, {"errors": list(kube.controller_errors)})
        return 0
    finally:
        for server in reversed(started):
            server.stop()
        (state / SERVERS).unlink(missing_ok=True)
        print("stopped", flush=True)


def start(args: argparse.Namespace) -> int:
    """Run ``run`` in a new session, detached, and wait until it has written servers.json."""
    state = args.state_dir
    if (state / SERVERS).exists():
        stop(args)
    # A fresh cluster and zones: BIND would keep the zone files and journals of the last run.
    for name in ("bind", "kube"):
        shutil.rmtree(state / name, ignore_errors=True)
    state.mkdir(parents=True, exist_ok=True)
    if not (args.shared / "crds").is_dir() or not (args.shared / SCHEMA).is_file():
        print(f"{args.shared}: no upstream CRDs and Stalwart schema (the reference data beside the checkout)", file=sys.stderr)
        return 2
    cmd = [sys.executable, "-m", "fakes.serve", "run", "--state-dir", str(state), "--shared", str(args.shared),
           "--namespace", args.namespace, "--lifetime", str(args.lifetime)]
    cmd += [arg for zone in args.zone for arg in ("--zone", zone)]
    with open(state / LOG, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=pathlib.Path(__file__).resolve().parents[1], stdin=subprocess.DEVNULL,  # pylint: disable=consider-using-with
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + args.timeout
    while not (state / SERVERS).exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)
            print(f"the stand-ins did not start (exit {proc.returncode}):\n{(state / LOG).read_text()[-4000:]}", file=sys.stderr)
            return 1
        time.sleep(0.1)
    print(json.dumps({"pid": proc.pid, "servers": str(state / SERVERS)}))
    return 0


def _ours(pid: int) -> bool:
    """Whether ``pid`` is a `fakes.serve run` process (not some later process that reused the number)."""
    try:
        return b"fakes.serve\0run\0" in pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _cpu_seconds(pid: int) -> float:
    """The CPU time the servers used so far (user + system, /proc/<pid>/stat): what they add to a run."""
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def stop(args: argparse.Namespace) -> int:
    """End the process of servers.json and report what the simulated operators failed on while it ran (exit 1)."""
    state = args.state_dir
    try:
        pid = json.loads((state / SERVERS).read_text())["pid"]
    except (OSError, ValueError, KeyError):
        pid = None
    if pid is None or not _ours(pid):
        print("nothing running")
        return 0
    cpu = _cpu_seconds(pid)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while _ours(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _ours(pid):
        os.kill(pid, signal.SIGKILL)
    print(f"stopped {pid} after {cpu:.1f}s of CPU")
    try:
        errors = json.loads((state / ERRORS).read_text())["errors"]
    except (OSError, ValueError, KeyError):
        errors = []
    if errors:
        print(f"the simulated operators failed: {errors}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m fakes.serve", description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("command", choices=["start", "stop", "run"], help="run: in the foreground (what start detaches)")
    parser.add_argument("--state-dir", type=lambda p: pathlib.Path(p).resolve(), required=True)
    parser.add_argument("--zone", action="append", default=[], help="a DNS zone (and mail domain); repeat for more")
    parser.add_argument("--shared", type=pathlib.Path, default=SHARED, help="the upstream CRDs and Stalwart schema")
    parser.add_argument("--namespace", default="mail", help="where the recovery admin Secret is")
    parser.add_argument("--lifetime", type=float, default=1800.0, help="seconds before the servers stop by themselves")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds start waits for the servers")
    args = parser.parse_args(argv)
    if args.command == "stop":
        return stop(args)
    if not args.zone:
        parser.error("at least one --zone")
    if args.command == "start":
        return start(args)
    return run(args.state_dir, args.zone, args.shared.resolve(), args.namespace, args.lifetime)


if __name__ == "__main__":
    sys.exit(main())
