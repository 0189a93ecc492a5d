# -*- coding: utf-8 -*-
"""Checks of a whole render directory (the GitOps bundle), shared by the pytest tests and molecule verify:
layout, kustomization completeness, Secrets only under secrets/, every manifest valid and restricted-PSS clean.
Also builds small operator release manifests from the upstream CRDs, so tests need no download."""

from __future__ import annotations

import functools
import hashlib
import pathlib
import typing as t

import yaml

from . import manifests

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def tree_digest(root: str | pathlib.Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``root`` (to prove a second render is byte-identical)."""
    root = pathlib.Path(root)
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def check_bundle(root: str | pathlib.Path, shared_dir: str | pathlib.Path | None,
                 secret_values: t.Iterable[str] = ()) -> dict[str, list[dict]]:
    """Assert the bundle is complete and safe; return {"kubernetes": [...], "secrets": [...]} documents."""
    root = pathlib.Path(root)
    kube, secrets = root / "kubernetes", root / "secrets"
    for top in (kube, secrets):
        listed = yaml.safe_load((top / "kustomization.yaml").read_text())["resources"]
        present = sorted(str(p.relative_to(top)) for p in top.rglob("*.yaml") if p.name != "kustomization.yaml")
        assert listed == present, f"{top}/kustomization.yaml lists {listed}, the directory holds {present}"
        assert listed == sorted(listed), f"{top}/kustomization.yaml is not in apply order"
    docs = {"kubernetes": manifests.load_documents(kube), "secrets": manifests.load_documents(secrets)}
    for doc in docs["kubernetes"]:
        if doc.get("kind") == "Kustomization":
            continue
        assert doc["kind"] != "Secret", f"Secret {doc['metadata']['name']} outside secrets/"
        manifests.validate(doc, shared_dir)
        manifests.assert_restricted_pss(doc)
    for doc in docs["secrets"]:
        if doc.get("kind") == "Kustomization":
            continue
        assert doc["kind"] == "Secret", f"{doc['kind']} {doc['metadata']['name']} under secrets/"
        manifests.validate(doc, shared_dir)
    for path in secrets.rglob("*"):
        if path.is_file():
            assert path.stat().st_mode & 0o077 == 0, f"{path} is readable by others"
    leaks = manifests.files_containing(root, [v for v in secret_values if v and len(v) >= 8], exclude=secrets)
    assert not leaks, f"secret values outside secrets/: {leaks}"
    return docs


def operator_manifest(shared_dir: str | pathlib.Path, crd_files: t.Iterable[str], namespace: str,
                      deployment: str, image: str, path: str | pathlib.Path) -> pathlib.Path:
    """Write an operator release manifest (Namespace, upstream CRDs, ServiceAccount, restricted Deployment)."""
    path = pathlib.Path(path)
    path.write_text(_operator_text(str(shared_dir), tuple(crd_files), namespace, deployment, image))
    return path


@functools.cache
def _operator_text(shared_dir: str, crd_files: tuple[str, ...], namespace: str, deployment: str, image: str) -> str:
    """The manifest text, built once per process (the upstream CRDs are large: libyaml reads and writes them)."""
    docs: list[dict] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}]
    for name in crd_files:
        text = (pathlib.Path(shared_dir) / "crds" / name).read_text()
        docs.extend(d for d in yaml.load_all(text, Loader=_LOADER) if d)
    labels = {"app.kubernetes.io/name": deployment}
    docs.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": deployment, "namespace": namespace}})
    docs.append({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": deployment, "namespace": namespace},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"serviceAccountName": deployment,
                     "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                     "containers": [{"name": "manager", "image": image, "securityContext": {
                         "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True,
                         "readOnlyRootFilesystem": True, "seccompProfile": {"type": "RuntimeDefault"}}}]}}}})
    return yaml.dump_all(docs, Dumper=_DUMPER, sort_keys=False)


def cnpg_operator(shared_dir: str | pathlib.Path, path: str | pathlib.Path) -> pathlib.Path:
    return operator_manifest(shared_dir, ["cnpg-cluster.yaml", "cnpg-database.yaml"], "cnpg-system",
                             "cnpg-controller-manager", "ghcr.io/cloudnative-pg/cloudnative-pg:1.30.0", path)


def minio_operator(shared_dir: str | pathlib.Path, path: str | pathlib.Path) -> pathlib.Path:
    return operator_manifest(shared_dir, ["minio-tenant.yaml", "minio-policybinding.yaml"], "minio-operator",
                             "minio-operator", "quay.io/minio/operator:v7.1.1", path)
