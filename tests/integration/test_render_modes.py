# -*- coding: utf-8 -*-
"""The render directory has the same modes under any umask: directories 0755, the secrets/ tree 0700, secret files
0600, every other file 0644; a secret file or directory found with a looser mode is tightened and reported as a
change, and the next run changes nothing."""

from __future__ import annotations

import os
import pathlib
import stat

from fakes.ansible import REPO, run_playbook

SITE = REPO / "site.yml"
INVENTORY = REPO / "examples" / "inventory.yml"


def _render(work: pathlib.Path, render: pathlib.Path, umask: int):
    old = os.umask(umask)  # ansible-playbook inherits it
    try:
        return run_playbook(SITE, work, inventory=INVENTORY, extra_vars={"openova_stalwart_render_dir": str(render)})
    finally:
        os.umask(old)


def _modes(render: pathlib.Path) -> dict[str, int]:
    out = {".": stat.S_IMODE(render.stat().st_mode)}
    for path in render.rglob("*"):
        out[str(path.relative_to(render))] = stat.S_IMODE(path.stat().st_mode)
    return out


def _wanted(render: pathlib.Path, rel: str) -> int:
    secret = rel == "secrets" or rel.startswith("secrets/")
    if (render / rel).is_dir():
        return 0o700 if secret else 0o755
    return 0o600 if secret else 0o644


def _changed_tasks(result) -> list[str]:
    return [t["task"]["name"] for p in result.data["plays"] for t in p["tasks"] if any(h.get("changed") for h in t["hosts"].values())]


def test_modes_under_umask_000_and_loose_secrets_tightened(tmp_path):
    render = tmp_path / "render"
    first = _render(tmp_path / "run1", render, 0o000)
    assert first.rc == 0, first.stdout[-3000:]
    modes = _modes(render)
    assert any(p.startswith("secrets/stalwart/") for p in modes) and "dns" in modes and "stalwart/config.json" in modes
    wrong = {p: oct(m) for p, m in modes.items() if m != _wanted(render, p)}
    assert not wrong, wrong

    secret = next((render / "secrets" / "stalwart").glob("*-credentials.yaml"))
    secret.chmod(0o644)
    (render / "secrets" / "stalwart").chmod(0o755)
    (render / "secrets").chmod(0o755)
    second = _render(tmp_path / "run2", render, 0o022)
    assert second.rc == 0, second.stdout[-3000:]
    assert second.changed > 0
    tightened = [h.get("tightened", []) for p in second.data["plays"] for t in p["tasks"] for h in t["hosts"].values()
                 if "Write the manifests" in t["task"]["name"]]
    # (Ansible masks the example's S3 access key, "stalwart", wherever it appears in the result.)
    assert any(item.endswith("-credentials.yaml") for items in tightened for item in items), tightened
    wrong = {p: oct(m) for p, m in _modes(render).items() if m != _wanted(render, p)}
    assert not wrong, wrong

    third = _render(tmp_path / "run3", render, 0o022)
    assert third.rc == 0 and third.changed == 0, _changed_tasks(third)
