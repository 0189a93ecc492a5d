# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""How fast are DKIM keys for N domains (one RSA-2048 and one Ed25519 key each)?

Compares, by wall time:
  floor       bare ``cryptography`` generation of the same keys, one core, in this process (nothing written)
  bulk        one ``openova.stalwart.dkim_key`` task through ansible-playbook (key_dir, ``--workers`` processes),
              including ansible-playbook's own start-up; ``bulk w=1`` is the same on one core
  bulk rerun  the same task again: every key loaded and checked, nothing written
  openssl     ``community.crypto.openssl_privatekey`` in a loop, one task per key (only for N <= --openssl-max)

Usage: ``python3 benchmarks/dkim.py --n 100 1000``. Output is a table; ratios are against the floor. Wall time
depends on what else runs on the machine, so CPU time (user + system, of this process for the floor, of all
child processes for the playbooks) is printed too.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import resource
import shutil
import sys
import tempfile
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from fakes.ansible import run_playbook  # noqa: E402  pylint: disable=wrong-import-position


def wanted(n: int) -> list[dict]:
    return [{"domain": f"d{i:05d}.example.org", "selector": f"s1-{algorithm}", "algorithm": algorithm}
            for i in range(n) for algorithm in ("rsa", "ed25519")]


Timing = tuple[float, float]  # wall seconds, CPU seconds


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def floor(keys: list[dict]) -> Timing:
    """Generate and PEM-encode every key with cryptography, sequentially."""
    started, cpu = time.perf_counter(), time.process_time()
    for key in keys:
        private = (rsa.generate_private_key(public_exponent=65537, key_size=2048) if key["algorithm"] == "rsa"
                   else ed25519.Ed25519PrivateKey.generate())
        private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    return time.perf_counter() - started, time.process_time() - cpu


def _play(task: dict) -> list:
    return [{"name": "benchmark", "hosts": "localhost", "gather_facts": False, "tasks": [task]}]


def _timed_playbook(plays: list, work: pathlib.Path, extra_vars: dict) -> Timing:
    started, cpu = time.perf_counter(), _children_cpu()
    result = run_playbook(plays, work, extra_vars=extra_vars, json_output=False)
    timing = time.perf_counter() - started, _children_cpu() - cpu
    if result.rc != 0:
        raise SystemExit(f"ansible-playbook failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return timing


def bulk(keys: list[dict], work: pathlib.Path, workers: int) -> tuple[Timing, Timing]:
    """First run and re-run of one bulk dkim_key task."""
    key_dir = work / f"keys-w{workers}"
    plays = _play({"name": "keys", "openova.stalwart.dkim_key": {
        "keys": "{{ wanted }}", "key_dir": str(key_dir), "workers": workers}})
    first = _timed_playbook(plays, work / f"bulk-w{workers}", {"wanted": keys})
    if len(os.listdir(key_dir)) != len(keys):
        raise SystemExit(f"dkim_key wrote {len(os.listdir(key_dir))} key files, expected {len(keys)}")
    rerun = _timed_playbook(plays, work / f"bulk-w{workers}-rerun", {"wanted": keys})
    return first, rerun


def openssl_loop(keys: list[dict], work: pathlib.Path) -> Timing:
    """community.crypto.openssl_privatekey, one task per key, like a role without a bulk module would."""
    key_dir = work / "keys-openssl"
    key_dir.mkdir(mode=0o700)
    plays = _play({
        "name": "keys",
        "community.crypto.openssl_privatekey": {
            "path": str(key_dir) + "/{{ item.selector }}._domainkey.{{ item.domain }}.pem",
            "type": "{{ 'RSA' if item.algorithm == 'rsa' else 'Ed25519' }}",
            "size": 2048,
            "mode": "0600",
        },
        "loop": "{{ wanted }}",
        "loop_control": {"label": "{{ item.selector }}._domainkey.{{ item.domain }}"},
    })
    return _timed_playbook(plays, work / "openssl", {"wanted": keys})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[100], help="numbers of domains (2 keys each)")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)), help="dkim_key workers")
    parser.add_argument("--openssl-max", type=int, default=100, help="largest N run with openssl_privatekey")
    parser.add_argument("--no-single", action="store_true", help="skip the bulk run with one worker")
    args = parser.parse_args()

    print(f"# {len(os.sched_getaffinity(0))} CPUs available, load average {os.getloadavg()[0]:.1f} at start;"
          f" each domain has one RSA-2048 and one Ed25519 key")
    rows: list[tuple[int, int, str, Timing, Timing]] = []
    for n in args.n:
        keys = wanted(n)
        work = pathlib.Path(tempfile.mkdtemp(prefix=f"dkim-bench-{n}-"))
        measured: list[tuple[str, Timing]] = []
        try:
            base = floor(keys)
            measured.append(("floor (cryptography, 1 core)", base))
            first, rerun = bulk(keys, work, args.workers)
            measured += [(f"bulk dkim_key w={args.workers}", first), (f"bulk dkim_key w={args.workers} rerun", rerun)]
            if not args.no_single and args.workers != 1:
                measured.append(("bulk dkim_key w=1", bulk(keys, work, 1)[0]))
            if n <= args.openssl_max:
                measured.append(("openssl_privatekey loop", openssl_loop(keys, work)))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        for method, timing in measured:
            print(f"  done: N={n} {method:<34} {timing[0]:8.1f} s wall {timing[1]:8.1f} s CPU", file=sys.stderr)
            rows.append((n, len(keys), method, timing, base))

    print(f"{'N':>6} {'keys':>6}  {'method':<34} {'wall s':>8} {'x floor':>8} {'CPU s':>8} {'x floor':>8}")
    for n, count, method, (wall, cpu), (base_wall, base_cpu) in rows:
        print(f"{n:>6} {count:>6}  {method:<34} {wall:8.1f} {wall / base_wall:8.2f} {cpu:8.1f} {cpu / base_cpu:8.2f}")
    print(f"# load average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
