# -*- coding: utf-8 -*-
"""Check mode on a cluster that has never been converged: the operators' CRDs and the Namespaces do not exist,
so a server-side dry run of the objects that need them cannot work. The run must still succeed, write nothing,
and report as changes exactly the objects a real converge then applies."""

from __future__ import annotations

from fakes import bundle
from test_cnpg_apply import converge, ok


def label(write):
    return f"{write.kind} {write.namespace or ''}/{write.name}"


APPLY = "openova.stalwart._k8s : Server-side apply what would change, then wait"


def test_check_mode_before_the_first_converge(kube_factory, shared_dir, tmp_path):
    kube = kube_factory(crd_dir=None)  # a bare cluster: the CRDs come with the operator manifests
    operators = {"cnpg_operator_manifest_url": str(bundle.cnpg_operator(shared_dir, tmp_path / "cnpg.yaml")),
                 "minio_operator_manifest_url": str(bundle.minio_operator(shared_dir, tmp_path / "minio.yaml"))}

    check = ok(converge(tmp_path / "check", kube, operators, check=True, diff=True))
    assert kube.counters()["writes"] == 0 and kube.counters()["mutating_requests"] == 0
    would = [name for host in check.task_results(APPLY) for name in host.get("would_create", [])]
    assert "Cluster mail/stalwart-db" in would and "Tenant mail/stalwart-s3" in would, would
    assert "Deployment cnpg-system/cnpg-controller-manager" in would, would
    assert check.changed > 0

    dry_runs = {label(w) for w in kube.log if w.dry_run and w.verb == "apply"}
    assert dry_runs and not dry_runs & set(would)

    # What check mode promised (dry runs + "would be created") is exactly what a real converge then applies.
    ok(converge(tmp_path / "apply", kube, operators))
    assert kube.get("Cluster.postgresql.cnpg.io", "stalwart-db", "mail") is not None
    assert {label(w) for w in kube.changes() if w.verb == "apply"} == dry_runs | set(would)
