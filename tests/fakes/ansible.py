# -*- coding: utf-8 -*-
"""Run ansible-playbook against this checkout of the collection and read its JSON result."""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import subprocess
import typing as t

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / ".ansible" / "collections"


def ensure_collection_link() -> pathlib.Path:
    """Make ``openova.stalwart`` resolve to this checkout (``make link`` does the same)."""
    link = COLLECTIONS / "ansible_collections" / "openova" / "stalwart"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO)
    return COLLECTIONS


@dataclasses.dataclass
class PlaybookResult:
    rc: int
    stdout: str
    stderr: str
    data: dict

    def task_results(self, name: str) -> list[dict]:
        """Every host result of the tasks called ``name``."""
        found = []
        for play in self.data.get("plays", []):
            for task in play.get("tasks", []):
                if task["task"]["name"] == name:
                    found.extend(task["hosts"].values())
        return found

    def task(self, name: str) -> dict:
        results = self.task_results(name)
        assert results, f"no task named {name!r} ran:\n{self.stdout[-4000:]}\n{self.stderr[-4000:]}"
        return results[-1]

    @property
    def stats(self) -> dict:
        return self.data.get("stats", {})

    @property
    def changed(self) -> int:
        return sum(host.get("changed", 0) for host in self.stats.values())

    @property
    def failed(self) -> int:
        return sum(host.get("failures", 0) + host.get("unreachable", 0) for host in self.stats.values())


def run_playbook(playbook: str | pathlib.Path | list, tmp_path: pathlib.Path, extra_vars: dict | None = None,
                 check: bool = False, diff: bool = False, inventory: str | pathlib.Path | None = None,
                 args: t.Sequence[str] = (), env: dict | None = None, json_output: bool = True) -> PlaybookResult:
    """Run a playbook (a path, or a list of plays written to ``tmp_path``) and parse the JSON callback."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    if isinstance(playbook, list):
        path = tmp_path / "playbook.yml"
        path.write_text(yaml.safe_dump(playbook, sort_keys=False))
        playbook = path
    cmd = ["ansible-playbook", str(playbook)]
    cmd += ["-i", str(inventory)] if inventory else ["-i", "localhost,", "-c", "local"]
    if extra_vars:
        vars_file = tmp_path / "extra_vars.json"
        vars_file.write_text(json.dumps(extra_vars))
        cmd += ["-e", f"@{vars_file}"]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    cmd += list(args)
    run_env = dict(os.environ)
    run_env.update({
        "ANSIBLE_COLLECTIONS_PATH": f"{ensure_collection_link()}:{run_env.get('ANSIBLE_COLLECTIONS_PATH', '')}",
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / ".ansible-tmp"),
        "ANSIBLE_PYTHON_INTERPRETER": run_env.get("ANSIBLE_PYTHON_INTERPRETER", _python()),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
    })
    if json_output:
        run_env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
        run_env["ANSIBLE_CALLBACK_RESULT_FORMAT"] = "json"
    run_env.update(env or {})
    proc = subprocess.run(cmd, cwd=REPO, env=run_env, capture_output=True, text=True, check=False)
    data: dict = {}
    if json_output and proc.stdout.strip():
        # The callback prints one indented document last; with -v... verbose lines come before it.
        start = proc.stdout.rfind("\n{\n") + 1 if "\n{\n" in proc.stdout else proc.stdout.find("{")
        try:
            data = json.loads(proc.stdout[start:]) if start >= 0 else {}
        except ValueError:
            data = {}
    return PlaybookResult(proc.returncode, proc.stdout, proc.stderr, data)


def _python() -> str:
    import sys  # pylint: disable=import-outside-toplevel
    return sys.executable


# The least the stalwart role needs to render: the host, one domain and the object store (test credentials).
STALWART_VARS = {
    "stalwart_hostname": "mail.example.org",
    "stalwart_domains": [{"name": "example.org"}],
    "stalwart_s3_endpoint": "http://minio.minio-tenant.svc:9000",
    "stalwart_s3_access_key": "s3-access-Kq7Pw2",
    "stalwart_s3_secret_key": "s3-secret-Vn3Ls8",
}


def render_stalwart(tmp: pathlib.Path, out: pathlib.Path, variables: dict | None = None) -> PlaybookResult:
    """The stalwart role in render mode into ``out`` with STALWART_VARS and ``variables`` on top (work files in ``tmp``)."""
    play = [{"hosts": "localhost", "gather_facts": False, "vars": {**STALWART_VARS, **(variables or {})},
             "roles": ["openova.stalwart.stalwart"]}]
    return run_playbook(play, tmp, extra_vars={"openova_stalwart_mode": "render", "openova_stalwart_render_dir": str(out)})
