# -*- coding: utf-8 -*-
"""playbooks/upgrade.yml: the version gate reads the running version (the rendered StatefulSet in render mode,
the live one in apply mode) and refuses to skip a Stalwart minor release or to downgrade, before anything is
written; a patch upgrade passes the gate and the stalwart role stops every pod before the new image starts."""

from __future__ import annotations

import pytest
import yaml

from fakes.ansible import REPO, run_playbook
from test_stalwart_role_apply import BASE_VARS, converged_servers, ok

UPGRADE = REPO / "playbooks" / "upgrade.yml"
INVENTORY = REPO / "examples" / "inventory.yml"
GATE = {"name": "Gate", "ansible.builtin.include_role": {"name": "openova.stalwart.stalwart",
                                                         "tasks_from": "upgrade_preflight"}}


def rendered_statefulset(render, image):
    path = render / "kubernetes" / "50-stalwart" / "012-statefulset-stalwart.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"apiVersion": "apps/v1", "kind": "StatefulSet",
                                    "metadata": {"name": "stalwart", "namespace": "mail"},
                                    "spec": {"template": {"spec": {"containers": [
                                        {"name": "stalwart", "image": image}]}}}}))
    return path


@pytest.mark.parametrize(("running", "wanted", "reason"), [
    ("stalwartlabs/stalwart:v0.15.4", "stalwartlabs/stalwart:v0.17.0", "upgrade to the latest 0.16.x first"),
    ("stalwartlabs/stalwart:v0.16.18", "stalwartlabs/stalwart:v0.16.2", "downgrade"),
    ("stalwartlabs/stalwart:v0.16.18", "stalwartlabs/stalwart:latest-build", "version tag"),
])
def test_render_gate_refuses_before_writing(tmp_path, running, wanted, reason):
    render = tmp_path / "render"
    path = rendered_statefulset(render, running)
    before = path.read_text()
    result = run_playbook(UPGRADE, tmp_path / "run", inventory=INVENTORY, extra_vars={
        "openova_stalwart_mode": "render", "openova_stalwart_render_dir": str(render), "stalwart_image": wanted})
    assert result.rc != 0
    message = result.task("openova.stalwart.stalwart : Refuse an upgrade that skips a release with a migration")["msg"]
    assert message.startswith("stalwart_image:") and reason in message, message
    assert path.read_text() == before
    assert sorted(str(p.relative_to(render)) for p in render.rglob("*") if p.is_file()) == [
        "kubernetes/50-stalwart/012-statefulset-stalwart.yaml"]


@pytest.mark.parametrize(("running", "wanted"), [
    ("stalwartlabs/stalwart:v0.15.4", "stalwartlabs/stalwart:v0.16.18"),   # the next minor
    ("stalwartlabs/stalwart:v0.16.3", "stalwartlabs/stalwart:v0.16.18"),   # a patch release
    ("stalwartlabs/stalwart:v0.16.18", "stalwartlabs/stalwart:v0.16.18"),  # no change
])
def test_render_gate_passes_one_step(tmp_path, running, wanted):
    render = tmp_path / "render"
    rendered_statefulset(render, running)
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [GATE]}]
    ok(run_playbook(play, tmp_path / "run", extra_vars={
        "openova_stalwart_mode": "render", "openova_stalwart_render_dir": str(render), "stalwart_image": wanted}))


def test_apply_patch_upgrade_stops_all_and_skipped_minor_is_refused(tmp_path, session_cache, shared_dir, kube_factory,
                                                                    jmap_server):
    # The cluster as the first converge of test_stalwart_role_apply left it (shared, restored into our own servers).
    kube = converged_servers(session_cache, shared_dir, kube_factory, jmap_server)[0]
    running = kube.get("StatefulSet", "stalwart", "mail")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert running == "stalwartlabs/stalwart:v0.16.18"
    new_image = "stalwartlabs/stalwart:v0.16.19"
    gated = [{"hosts": "localhost", "gather_facts": False, "vars": {**BASE_VARS, "stalwart_image": new_image},
              "tasks": [GATE], "roles": ["openova.stalwart.stalwart"]}]
    ok(run_playbook(gated, tmp_path / "run2", extra_vars={
        "openova_stalwart_mode": "apply", "openova_stalwart_kubeconfig": str(kube.kubeconfig),
        "stalwart_management_url": jmap_server.url}))
    sts_writes = [(w.verb, w.kind) for w in kube.changes() if not w.dry_run and w.kind == "StatefulSet"]
    assert sts_writes[0] == ("patch", "StatefulSet")  # the scale to zero comes before the new image
    sts = kube.get("StatefulSet", "stalwart", "mail")
    assert sts["spec"]["template"]["spec"]["containers"][0]["image"] == new_image

    kube.reset_counters()
    refused = run_playbook(UPGRADE, tmp_path / "run3", inventory=INVENTORY, extra_vars={
        "openova_stalwart_mode": "apply", "openova_stalwart_kubeconfig": str(kube.kubeconfig),
        "stalwart_image": "stalwartlabs/stalwart:v0.18.0"})
    assert refused.rc != 0
    assert "upgrade to the latest 0.17.x first" in refused.task(
        "openova.stalwart.stalwart : Refuse an upgrade that skips a release with a migration")["msg"]
    assert kube.counters()["mutating_requests"] == 0 and kube.counters()["dry_run_requests"] == 0
