# -*- coding: utf-8 -*-
"""openova.stalwart at 1, 10, 100 and 1000 domains: one command, one table (also written to docs/performance.md).

    make benchmark            # = unshare -n ... python3 benchmarks/run.py --n 1 10 100 1000 --write docs/performance.md

Sections, each measured side by side in this one run (ratios, never absolute targets):
  render   site.yml in render mode on the example inventory with N domains: first converge and no-op re-run (median
           of three)
           (wall seconds, peak RSS of the ansible-playbook process, tasks changed on the re-run)
  dkim     the key-generation floor: bare `cryptography` generation of the same 2N keys on one core, and the
           first render converge as a multiple of it
  dns      dns role publishing to a real BIND (one UPDATE per zone) vs community.general.nsupdate per record
  apply    site.yml in apply mode against the Kubernetes API and JMAP test servers: API writes and requests on
           the first converge and on the re-run
  accounts site.yml in render mode with N domains and N, then 10 N accounts (stalwart_accounts, a password each;
           the settings Job on, its password hashes and plan split over Secrets and ConfigMaps): first converge and
           no-op re-run, and the 10 N / N ratios
  naive    the same converge done the naive way for N <= --naive-max: loops of community.crypto.openssl_privatekey
           and ansible.builtin.template (timed here) plus the community.general.nsupdate loop (timed by the dns
           section of this run, first and re-run), vs render converge + rfc2136 publish
Run it inside a private network namespace (the make target does): it only talks to servers it starts on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if pathlib.Path(p or ".").resolve() != ROOT / "benchmarks"]
sys.path.insert(0, str(ROOT / "tests"))

from fakes.ansible import ensure_collection_link, run_playbook  # noqa: E402  pylint: disable=wrong-import-position
from fakes.bind import BindServer  # noqa: E402  pylint: disable=wrong-import-position


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DKIM = _load("dkim")
DNS = _load("dns")
INVENTORY = ROOT / "examples" / "inventory.yml"
MAIL_HOST = "mail.bench.test"
NOTES_HEADING = "## Where the time goes"


def domains(n: int) -> list[dict]:
    return [{"name": f"d{i:04d}.bench.test"} for i in range(n)]


def site(work: pathlib.Path, extra_vars: dict, check: bool = False, skip_tags: str = "") -> dict:
    """Run site.yml on the example inventory under GNU time; wall seconds, peak RSS (MiB), changed count."""
    work.mkdir(parents=True, exist_ok=True)
    vars_file = work / "vars.json"
    vars_file.write_text(json.dumps(extra_vars))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ensure_collection_link()), ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_LOCAL_TEMP=str(work / "tmp"))
    cmd = ["/usr/bin/time", "-f", "%e %M", "-o", str(work / "time"), "ansible-playbook", str(ROOT / "site.yml"),
           "-i", str(INVENTORY), "-e", f"@{vars_file}"] + (["--check"] if check else []) + (
        ["--skip-tags", skip_tags] if skip_tags else [])
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"site.yml failed in {work}:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}")
    wall, rss_kib = (work / "time").read_text().split()[-2:]
    stats = json.loads(proc.stdout[proc.stdout.index("{"):])["stats"]
    return {"wall": float(wall), "rss_mib": int(rss_kib) / 1024, "changed": sum(h["changed"] for h in stats.values())}


def render_vars(n: int, render_dir: pathlib.Path, **extra) -> dict:
    return {"openova_stalwart_render_dir": str(render_dir), "stalwart_hostname": MAIL_HOST,
            "stalwart_domains": domains(n), "cnpg_operator_install": False, **extra}


def bench_render(n: int, work: pathlib.Path) -> dict:
    render_dir = work / "render"
    first = site(work / "first", render_vars(n, render_dir))
    # The re-run is short enough for the machine's noise to show: the median of three, and the most changes any had.
    reruns = [site(work / f"rerun-{i}", render_vars(n, render_dir)) for i in range(3)]
    print(f"render N={n}: first {first['wall']:.1f} s, re-runs {[r['wall'] for r in reruns]} s", file=sys.stderr, flush=True)
    reruns.sort(key=lambda r: r["wall"])
    rerun = dict(reruns[1], changed=max(r["changed"] for r in reruns))
    keys = [{"domain": d["name"], "selector": f"s1-{alg}", "algorithm": alg} for d in domains(n) for alg in ("rsa", "ed25519")]
    floor_wall = DKIM.floor(keys)[0]
    return {"n": n, "first": first, "rerun": rerun, "floor": floor_wall, "keys": len(keys)}


def accounts(n_accounts: int, n_domains: int) -> list[dict]:
    return [{"name": f"u{i:05d}", "domain": f"d{i % n_domains:04d}.bench.test", "password": f"Bench-pass-{i:05d}-x",
             "quota": "5GiB", "aliases": [f"a{i:05d}"]} for i in range(n_accounts)]


def bench_accounts(n: int, n_accounts: int, work: pathlib.Path) -> dict:
    """Render mode with ``n_accounts`` accounts over ``n`` domains: first converge and one no-op re-run."""
    render_dir = work / "render"
    extra = render_vars(n, render_dir, stalwart_accounts=accounts(n_accounts, n))
    first = site(work / "first", extra)
    rerun = site(work / "rerun", extra)
    plan = (render_dir / "stalwart" / "plan.ndjson").stat().st_size
    # The settings Job's inputs: the hash Secrets (secrets/) and the plan's ConfigMaps (the applier's and the pieces).
    secrets = len(list((render_dir / "secrets").rglob("*-settings-*.yaml")))
    configmaps = len(list((render_dir / "kubernetes").rglob("*-configmap-*-settings-*.yaml")))
    print(f"accounts N={n} accounts={n_accounts}: first {first['wall']:.1f} s, re-run {rerun['wall']:.1f} s,"
          f" {secrets} hash Secrets, {configmaps} settings ConfigMaps", file=sys.stderr, flush=True)
    return {"n": n, "accounts": n_accounts, "first": first, "rerun": rerun, "plan_mib": plan / 1024 / 1024,
            "secrets": secrets, "configmaps": configmaps}


def splice(existing: str, tables: list[str]) -> str:
    """``existing`` report with each of ``tables`` (a "### title" section) replacing the section of the same title,
    or appended; the other sections stay as they are."""
    for text in tables:
        title = text.splitlines()[0]
        start = existing.find(title + "\n")
        if start < 0:
            existing = existing.rstrip("\n") + "\n\n" + text
            continue
        end = existing.find("\n### ", start + len(title))
        existing = existing[:start] + text.rstrip("\n") + "\n" + (("\n" + existing[end + 1:]) if end >= 0 else "")
    return existing


def bench_apply(n: int, work: pathlib.Path) -> dict:
    """site.yml in apply mode: the Kubernetes API test server plays the cluster, the JMAP test server Stalwart."""
    from fakes.jmap import JmapServer  # pylint: disable=import-outside-toplevel
    from fakes.kube import KubeServer  # pylint: disable=import-outside-toplevel

    shared = ROOT.parent / "shared"
    jmap = JmapServer(shared / "stalwart" / "schema-0.16.18.json.gz", users={"admin": "Bench-adm1n"}).start()
    kube = KubeServer(work / "kube", crd_dir=shared / "crds").start()
    try:
        kube.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mail"}})
        kube.seed({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "stalwart-credentials", "namespace": "mail"},
                   "stringData": {"STALWART_RECOVERY_ADMIN": "admin:Bench-adm1n"}})
        extra = render_vars(n, work / "unused", openova_stalwart_mode="apply", openova_stalwart_kubeconfig=str(kube.kubeconfig),
                            stalwart_management_url=jmap.url, minio_verify=False, dns_mail_host_zone="bench.test", dns_verify=False,
                            stalwart_wait_timeout=60)
        rows = {}
        for phase in ("first", "rerun"):
            kube.reset_counters()
            sets = jmap.set_calls
            # No mail server answers on the test servers' addresses: the smoke test is left out.
            rows[phase] = site(work / phase, extra, skip_tags="smoke_test")
            rows[phase].update(kube.counters(), jmap_sets=jmap.set_calls - sets)
        return {"n": n, **rows}
    finally:
        kube.stop()
        jmap.stop()


def bench_naive(n: int, work: pathlib.Path, nsupdate: dict) -> dict:
    """Our converge (render + rfc2136 publish) vs per-item loops doing the same kinds of work. The loops of
    openssl_privatekey and template run here; the nsupdate loop over the same N's records is the one the dns
    section timed in this run (``nsupdate``: first and re-run seconds), not run a second time: at N = 100 it
    sends about 2,700 UPDATEs, a quarter of an hour each pass."""
    names = [d["name"] for d in domains(n)]
    with BindServer(work / "bind-ours", names + ["bench.test"]) as bind:
        dns = {**bind.role_vars(), "dns_mail_host_ipv4": ["192.0.2.25"], "dns_mail_host_zone": "bench.test",
               "dns_verify": False, **{f"dns_{key}": value for key, value in DNS.SCOPE.items()}}
        ours = [site(work / f"ours-{i}", render_vars(n, work / "render", **dns)) for i in (1, 2)]
    keys = [{"domain": d, "selector": f"s1-{alg}", "algorithm": alg} for d in names for alg in ("rsa", "ed25519")]
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "keys", "loop": "{{ wanted }}", "community.crypto.openssl_privatekey": {
            "path": str(work / "naive-keys") + "/{{ item.selector }}._domainkey.{{ item.domain }}.pem",
            "type": "{{ 'RSA' if item.algorithm == 'rsa' else 'Ed25519' }}", "size": 2048, "mode": "0600"}},
        {"name": "zones", "loop": "{{ wanted | selectattr('algorithm', 'eq', 'rsa') | list }}",
         "ansible.builtin.template": {"src": str(ROOT / "benchmarks" / "naive" / "zone.j2"),
                                      "dest": str(work / "naive-zones") + "/{{ item.domain }}.zone", "mode": "0644"},
         "vars": {"mail_host": MAIL_HOST}},
    ]}]
    (work / "naive-keys").mkdir(mode=0o700)
    (work / "naive-zones").mkdir()
    loops = []
    for i in (1, 2):
        started = time.monotonic()
        result = run_playbook(play, work / f"naive-{i}", extra_vars={"wanted": keys}, json_output=False)
        if result.rc != 0:
            raise SystemExit(f"naive converge failed:\n{result.stdout[-4000:]}")
        loops.append(time.monotonic() - started)
    naive = [loops[0] + nsupdate["first"], loops[1] + nsupdate["rerun"]]
    return {"n": n, "ours": [o["wall"] for o in ours], "loops": loops, "naive": naive}


def bench_dns(n: int, work: pathlib.Path, nsupdate_max: int) -> dict:
    names = DNS.domains(n, "role")
    dkim = DNS.dkim_records(names, work / "dkim")
    with BindServer(work / "bind-role", names + [DNS.HOST_ZONE]) as bind:
        first = DNS.timed(DNS.role_play(bind, names, dkim), work / "role1")[0]
        updates = DNS.update_count(bind)
        rerun = DNS.timed(DNS.role_play(bind, names, dkim), work / "role2")[0]
        rerun_updates = DNS.update_count(bind) - updates
    row = {"n": n, "first": first, "rerun": rerun, "updates": updates, "rerun_updates": rerun_updates}
    if n <= nsupdate_max:
        names = DNS.domains(n, "nsu")
        records = DNS.compute_records(names, work / "records", DNS.dkim_records(names, work / "dkim-nsu"))
        with BindServer(work / "bind-nsu", names + [DNS.HOST_ZONE]) as bind:
            row["nsupdate"] = DNS.timed(DNS.nsupdate_play(bind, records), work / "nsu")[0]
            row["nsupdate_updates"] = DNS.update_count(bind)
            # The re-run finds every record in place (the naive section's re-run reuses it).
            row["nsupdate_rerun"] = DNS.timed(DNS.nsupdate_play(bind, records), work / "nsu2")[0]
        row["rrsets"] = len(records)
    return row


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    versions = subprocess.run(["ansible", "--version"], capture_output=True, text=True, check=False).stdout.splitlines()[0]
    return (f"{len(os.sched_getaffinity(0))} cores ({cpu}), Python {platform.python_version()}, {versions}, "
            f"load average {os.getloadavg()[0]:.1f} at start")


def table(title: str, header: list[str], rows: list[list]) -> str:
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[1, 10, 100, 1000])
    parser.add_argument("--sections", nargs="+", default=["render", "dns", "apply", "accounts", "naive"],
                        choices=["render", "dns", "apply", "accounts", "naive"])
    parser.add_argument("--naive-max", type=int, default=100, help="largest N run the naive way")
    parser.add_argument("--nsupdate-max", type=int, default=100, help="largest N published with nsupdate")
    parser.add_argument("--write", type=pathlib.Path, help="also write the report (Markdown) here")
    args = parser.parse_args()

    out = [f"Measured {time.strftime('%Y-%m-%d')} on {machine()}.", ""]
    with tempfile.TemporaryDirectory(prefix="openova-bench-") as tmp:
        work = pathlib.Path(tmp)
        if "render" in args.sections:
            rows = []
            for n in args.n:
                r = bench_render(n, work / f"render-{n}")
                rows.append([n, r["keys"], f"{r['first']['wall']:.1f}", f"{r['first']['rss_mib']:.0f}",
                             f"{r['rerun']['wall']:.1f}", f"{r['rerun']['rss_mib']:.0f}", r["rerun"]["changed"],
                             f"{r['floor']:.1f}", f"{r['first']['wall'] / r['floor']:.2f}"])
                print(rows[-1], file=sys.stderr, flush=True)
            out.append(table("Render converge (site.yml, render mode)",
                             ["domains", "DKIM keys", "first s", "first peak MiB", "re-run s (median of 3)", "re-run peak MiB",
                              "re-run changed", "key floor s (1 core)", "first / floor"], rows))
        nsupdate = {}  # N -> nsupdate loop seconds, first and re-run (the naive section reuses them)
        if "dns" in args.sections or "naive" in args.sections:
            rows = []
            for n in args.n if "dns" in args.sections else [n for n in args.n if n <= args.naive_max]:
                r = bench_dns(n, work / f"dns-{n}", max(args.nsupdate_max, args.naive_max if "naive" in args.sections else 0))
                if "nsupdate" in r:
                    nsupdate[n] = {"first": r["nsupdate"], "rerun": r["nsupdate_rerun"]}
                nsu = r.get("nsupdate")
                rows.append([n, r.get("rrsets", "-"), f"{r['first']:.1f}", r["updates"], f"{r['rerun']:.1f}",
                             r["rerun_updates"], f"{nsu:.1f}" if nsu else "-", r.get("nsupdate_updates", "-"),
                             f"{r['nsupdate_rerun']:.1f}" if nsu else "-", f"{nsu / r['first']:.1f}x" if nsu else "-"])
                print(rows[-1], file=sys.stderr, flush=True)
            out.append(table("DNS publish to a real BIND 9 (dns role, rfc2136) vs community.general.nsupdate per record",
                             ["domains", "rrsets", "role s", "UPDATEs", "re-run s", "re-run UPDATEs", "nsupdate s",
                              "nsupdate UPDATEs", "nsupdate re-run s", "speed-up"], rows))
        if "apply" in args.sections:
            rows = []
            for n in args.n:
                r = bench_apply(n, work / f"apply-{n}")
                rows.append([n, f"{r['first']['wall']:.1f}", r["first"]["writes"], r["first"]["requests"],
                             r["first"]["jmap_sets"], f"{r['rerun']['wall']:.1f}", r["rerun"]["writes"],
                             r["rerun"]["mutating_requests"], r["rerun"]["requests"], r["rerun"]["jmap_sets"],
                             r["rerun"]["changed"]])
                print(rows[-1], file=sys.stderr, flush=True)
            out.append(table("Apply converge (site.yml against the Kubernetes API and JMAP test servers)",
                             ["domains", "first s", "API writes", "API requests", "JMAP sets", "re-run s",
                              "re-run writes", "re-run mutating requests", "re-run requests", "re-run JMAP sets",
                              "re-run changed"], rows))
        partial = []  # tables that carry their own date (a run of only some sections updates them in place)
        if "accounts" in args.sections:
            rows = []
            for n in args.n:
                small = bench_accounts(n, n, work / f"accounts-{n}-1")
                large = bench_accounts(n, 10 * n, work / f"accounts-{n}-10")
                for r in (small, large):
                    rows.append([n, r["accounts"], f"{r['plan_mib']:.1f}", r["configmaps"], r["secrets"], f"{r['first']['wall']:.1f}",
                                 f"{r['first']['rss_mib']:.0f}", f"{r['rerun']['wall']:.1f}", f"{r['rerun']['rss_mib']:.0f}",
                                 r["rerun"]["changed"]])
                rows.append([n, "ratio 10x / 1x", f"{large['plan_mib'] / small['plan_mib']:.1f}", "-", "-",
                             f"{large['first']['wall'] / small['first']['wall']:.2f}",
                             f"{large['first']['rss_mib'] / small['first']['rss_mib']:.2f}",
                             f"{large['rerun']['wall'] / small['rerun']['wall']:.2f}",
                             f"{large['rerun']['rss_mib'] / small['rerun']['rss_mib']:.2f}", "-"])
                print(rows[-3:], file=sys.stderr, flush=True)
            text = table("Accounts (site.yml, render mode, stalwart_accounts with a password each)",
                         ["domains", "accounts", "plan.ndjson MiB", "settings ConfigMaps", "hash Secrets", "first s", "first peak MiB", "re-run s",
                          "re-run peak MiB", "re-run changed"], rows)
            partial.append(text.replace("\n\n", f"\n\nMeasured {time.strftime('%Y-%m-%d')} on {machine()}.\n\n", 1))
        if "naive" in args.sections:
            rows = []
            for n in [n for n in args.n if n <= args.naive_max]:
                r = bench_naive(n, work / f"naive-{n}", nsupdate[n])
                rows.append([n, f"{r['ours'][0]:.1f}", f"{r['loops'][0]:.1f}", f"{nsupdate[n]['first']:.1f}",
                             f"{r['naive'][0]:.1f}", f"{r['naive'][0] / r['ours'][0]:.1f}x", f"{r['ours'][1]:.1f}",
                             f"{r['loops'][1]:.1f}", f"{nsupdate[n]['rerun']:.1f}", f"{r['naive'][1]:.1f}",
                             f"{r['naive'][1] / r['ours'][1]:.1f}x"])
                print(rows[-1], file=sys.stderr, flush=True)
            out.append(table("Whole converge (site.yml render + rfc2136 publish) vs the naive way (loops of"
                             " openssl_privatekey and template, plus the nsupdate loop of the DNS table)",
                             ["domains", "ours first s", "naive key+template loops s", "naive nsupdate s",
                              "naive first s", "speed-up", "ours re-run s", "naive loops re-run s",
                              "naive nsupdate re-run s", "naive re-run s", "re-run speed-up"], rows))
    ran_all = {"render", "dns", "apply", "naive"} <= set(args.sections)
    report = "\n".join(out + partial) if ran_all or not partial else "\n".join(partial)
    print(report)
    if args.write:
        # The hand-written notes at the end of the file (from NOTES_HEADING on) are kept.
        old = args.write.read_text() if args.write.exists() else ""
        notes = old[old.index(NOTES_HEADING):] if NOTES_HEADING in old else ""
        tables = old[:old.index(NOTES_HEADING)].rstrip("\n") + "\n" if notes else old
        if ran_all or not old:
            text = ("# Performance\n\nGenerated by `make benchmark` (benchmarks/run.py); numbers from one run on"
                    " one machine, compare ratios rather than seconds.\n\n" + "\n".join(out + partial))
        else:
            # Some sections only: their tables replace the ones of the same title, the others stay as measured.
            text = splice(tables, [t for t in out[2:] + partial if t.startswith("### ")])
        args.write.write_text(text.rstrip("\n") + "\n\n" + notes if notes else text)


if __name__ == "__main__":
    main()
