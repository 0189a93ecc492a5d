# -*- coding: utf-8 -*-
"""Benchmark: publish the mail records of N domains to a real BIND 9 on loopback.

Compares the dns role (one dns_records call, one UPDATE per zone) with community.general.nsupdate (one
UPDATE per record, a loop over every rrset). Run it inside a private network namespace:

    unshare -n sh -c 'ip link set lo up && exec python3 benchmarks/dns.py --n 100 1000 --nsupdate-max 100'
"""

from __future__ import annotations

import argparse
import pathlib
import re
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
# This file is called dns.py: keep its directory off the path so `import dns` finds dnspython.
sys.path[:] = [p for p in sys.path if pathlib.Path(p or ".").resolve() != ROOT / "benchmarks"]
sys.path.insert(0, str(ROOT / "tests"))

from fakes.ansible import ensure_collection_link, run_playbook  # noqa: E402  pylint: disable=wrong-import-position
from fakes.bind import BindServer  # noqa: E402  pylint: disable=wrong-import-position

HOST_ZONE = "bench-host.test"
MAIL_HOST = f"mail.{HOST_ZONE}"


def domains(n: int, tag: str) -> list[str]:
    return [f"d{i:04d}.{tag}.test" for i in range(n)]


def update_count(bind: BindServer) -> int:
    """UPDATE messages BIND applied, from its log: each arrives on its own TCP connection (client port)."""
    log = (bind.workdir / "named.log").read_text(errors="replace")
    return len(set(re.findall(r"client @\S+ (\S+)/key \S+: updating zone '([^']+)'", log)))


# The records the per-record baseline is usually quoted for: MX, SPF, DMARC and the two DKIM keys of every domain
# (with the mail host's A and HELO SPF). MTA-STS, TLS-RPT, SRV and autoconfig records are turned off on both sides:
# with them a domain has 26 rrsets and the nsupdate loop at N = 100 runs for most of an hour.
SCOPE = {"tlsrpt_rua": [], "mta_sts": {"enabled": False}, "autoconfig": False,
         "srv": {"submissions": False, "imaps": False, "jmap": False, "autodiscover": False, "submission": False,
                 "imap": False}}


def dkim_records(names: list[str], work: pathlib.Path) -> list[dict]:
    """Public DKIM records (RSA-2048 and Ed25519) for every domain, made once by dkim_key in memory."""
    keys = [{"domain": d, "selector": f"s1-{alg}", "algorithm": alg} for d in names for alg in ("rsa", "ed25519")]
    result = run_playbook([{"hosts": "localhost", "gather_facts": False, "tasks": [{
        "name": "keys", "register": "out", "openova.stalwart.dkim_key": {"keys": keys}}]}], work)
    return [{k: r[k] for k in ("domain", "selector", "algorithm", "txt_value")} for r in result.task("keys")["dkim_keys"]]


def role_play(bind: BindServer, names: list[str], dkim: list[dict]) -> list[dict]:
    return [{"hosts": "localhost", "gather_facts": False, "vars": {
        "openova_stalwart_mode": "apply",
        "stalwart_hostname": MAIL_HOST,
        "stalwart_domains": [{"name": d} for d in names] + [{"name": HOST_ZONE}],
        **bind.role_vars(),
        "dns_mail_host_ipv4": ["192.0.2.25"],
        "dns_verify": False,
        "dns_dkim_records": dkim,
        **{f"dns_{key}": value for key, value in SCOPE.items()},
    }, "tasks": [{"name": "dns", "ansible.builtin.include_role": {"name": "openova.stalwart.dns"}}]}]


def compute_records(names: list[str], work: pathlib.Path, dkim: list[dict]) -> list[dict]:
    """The same record set, computed by dns_records without publishing."""
    result = run_playbook([{"hosts": "localhost", "gather_facts": False, "tasks": [{
        "name": "records", "register": "out",
        "openova.stalwart.dns_records": {"domains": [{"name": d} for d in names] + [{"name": HOST_ZONE}],
                                         "mail_host": MAIL_HOST, "mail_host_ipv4": ["192.0.2.25"],
                                         "dkim_records": dkim, **SCOPE},
    }]}], work)
    return result.task("records")["records"]


def nsupdate_play(bind: BindServer, records: list[dict]) -> list[dict]:
    items = [{"zone": r["zone"], "record": r["name"] + ".", "type": r["type"], "ttl": r["ttl"], "value": r["rdata"]}
             for r in records]
    return [{"hosts": "localhost", "gather_facts": False, "tasks": [{
        "name": "nsupdate", "loop": items, "loop_control": {"label": "{{ item.record }} {{ item.type }}"},
        "community.general.nsupdate": {
            "server": bind.host, "port": bind.port, "key_name": bind.key_name, "key_secret": bind.key_secret,
            "key_algorithm": "hmac-sha256", "protocol": "tcp", "zone": "{{ item.zone }}", "record": "{{ item.record }}",
            "type": "{{ item.type }}", "ttl": "{{ item.ttl }}", "value": "{{ item.value }}"},
    }]}]


def read_cost(bind: BindServer, names: list[str], dkim: list[dict]) -> dict[str, float]:
    """Seconds to read and plan every zone (check mode, nothing sent), by AXFR and by queries."""
    sys.path.insert(0, str(ensure_collection_link()))
    # pylint: disable-next=import-outside-toplevel
    from ansible_collections.openova.stalwart.plugins.module_utils import _dns_records, _rfc2136
    rrsets = _dns_records.compute(_dns_records.Settings(
        domains=[{"name": d} for d in names] + [{"name": HOST_ZONE}], mail_host=MAIL_HOST, mail_host_ipv4=["192.0.2.25"],
        dkim_records=dkim, tlsrpt_rua=[], mta_sts={"enabled": False, "mode": "enforce", "max_age": 604800},
        srv=SCOPE["srv"], autoconfig=False))
    server = _rfc2136.Server(bind.host, bind.port, bind.key_name, bind.key_secret)
    costs = {}
    for method in ("axfr", "query"):
        start = time.monotonic()
        results = _rfc2136.publish(server, rrsets, "present", check_mode=True, read_method=method)
        costs[method] = time.monotonic() - start
        assert not any(r.changed for r in results), f"{method}: zones differ after publishing"
    return costs


def timed(play: list[dict], work: pathlib.Path) -> tuple[float, object]:
    start = time.monotonic()
    result = run_playbook(play, work, json_output=True)
    elapsed = time.monotonic() - start
    if result.rc != 0:
        raise SystemExit(f"playbook failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return elapsed, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[100])
    parser.add_argument("--nsupdate-max", type=int, default=100, help="largest N also run with nsupdate")
    args = parser.parse_args()
    rows = []
    for n in args.n:
        with tempfile.TemporaryDirectory(prefix="dns-bench-") as tmp:
            work = pathlib.Path(tmp)
            names = domains(n, "role")
            dkim = dkim_records(names, work / "dkim")
            with BindServer(work / "bind-role", names + [HOST_ZONE]) as bind:
                first, result = timed(role_play(bind, names, dkim), work / "role1")
                sent = result.task_results("openova.stalwart.dns : Publish the records of every domain"
                                           " (one call, at most one UPDATE per zone)")[-1]["updates_sent"]
                updates_first = update_count(bind)
                second, result = timed(role_play(bind, names, dkim), work / "role2")
                updates_second = update_count(bind) - updates_first
                rrsets = len(compute_records(names, work / "records", dkim))
                reads = read_cost(bind, names, dkim)
            row = {"n": n, "rrsets": rrsets, "role_s": first, "role_rerun_s": second, "role_updates": updates_first,
                   "role_reported": sent, "role_rerun_updates": updates_second,
                   "read_axfr_s": reads["axfr"], "read_query_s": reads["query"]}
            if n <= args.nsupdate_max:
                names = domains(n, "nsu")
                records = compute_records(names, work / "records-nsu", dkim_records(names, work / "dkim-nsu"))
                with BindServer(work / "bind-nsu", names + [HOST_ZONE]) as bind:
                    row["nsupdate_s"] = timed(nsupdate_play(bind, records), work / "nsu")[0]
                    row["nsupdate_updates"] = update_count(bind)
            rows.append(row)
            print(row, file=sys.stderr, flush=True)
    print(f"{'N':>5} {'rrsets':>7} {'role s':>8} {'re-run s':>9} {'UPDATEs':>8} {'re-run UPD':>10}"
          f" {'read AXFR s':>11} {'read query s':>12}"
          f" {'nsupdate s':>11} {'nsupdate UPD':>13} {'speed-up':>9}")
    for row in rows:
        nsu = row.get("nsupdate_s")
        ratio = f"{nsu / row['role_s']:.1f}x" if nsu else "-"
        print(f"{row['n']:>5} {row['rrsets']:>7} {row['role_s']:>8.1f} {row['role_rerun_s']:>9.1f}"
              f" {row['role_updates']:>8} {row['role_rerun_updates']:>10}"
              f" {row['read_axfr_s']:>11.2f} {row['read_query_s']:>12.2f}"
              f" {(f'{nsu:.1f}' if nsu else '-'):>11} {row.get('nsupdate_updates', '-'):>13}"
              f" {ratio:>9}")


if __name__ == "__main__":
    main()
