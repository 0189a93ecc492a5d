# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""Write one component's Kubernetes manifests into a GitOps render directory, in one pass.

The paths are the collection's layout (``_layout``): non-secret objects under ``kubernetes/``, Secrets (mode 0600)
under ``secrets/``, each with a kustomization listing every file in apply order.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import shutil
import typing as t

from ansible_collections.openova.stalwart.plugins.module_utils import _layout
from ansible_collections.openova.stalwart.plugins.module_utils._files import make_dirs as _make_dirs
from ansible_collections.openova.stalwart.plugins.module_utils._files import read_text as _read
from ansible_collections.openova.stalwart.plugins.module_utils._files import tighten as _tighten
from ansible_collections.openova.stalwart.plugins.module_utils._files import write_atomic as _write
from ansible_collections.openova.stalwart.plugins.module_utils._manifests import parse_documents

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover - the module reports missing_required_lib
    HAS_YAML = False

_COMPONENT = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")
_NAME = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?")
ABOUT = {
    _layout.KUBERNETES: "every non-secret manifest, in apply order (kubectl apply --server-side -k kubernetes/).",
    _layout.SECRETS: "every Secret with its values: seal or encrypt before committing (docs/roles/minio.md).",
}


# The objects each component may write, as (apiVersion, kind): the one place to extend when a role renders a new
# kind. Anything else in a component's manifests (an object a variable smuggled into a template's text, say) is
# refused before a file is written or an object applied.
_CORE = {("v1", "Namespace"), ("v1", "Secret"), ("v1", "ConfigMap"), ("v1", "ServiceAccount")}
_MONITORING = {("monitoring.coreos.com/v1", kind) for kind in ("PrometheusRule", "ServiceMonitor", "PodMonitor")}
_CNPG = {("postgresql.cnpg.io/v1", kind) for kind in ("Cluster", "Backup", "ScheduledBackup")}
# An operator's pinned release manifest (checked against its checksum) brings its CRDs, RBAC and webhooks.
_OPERATOR = _CORE | {
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
    ("v1", "Service"),
    ("apps/v1", "Deployment"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
}
ALLOWED_KINDS: dict[str, frozenset[tuple[str, str]]] = {
    "stalwart": frozenset(_CORE | _MONITORING | {
        ("v1", "Service"),
        ("apps/v1", "StatefulSet"),
        ("apps/v1", "Deployment"),
        ("batch/v1", "Job"),
        ("rbac.authorization.k8s.io/v1", "Role"),
        ("rbac.authorization.k8s.io/v1", "RoleBinding"),
        ("policy/v1", "PodDisruptionBudget"),
        ("networking.k8s.io/v1", "Ingress"),
        ("networking.k8s.io/v1", "NetworkPolicy"),
        ("gateway.networking.k8s.io/v1", "HTTPRoute"),
        ("gateway.networking.k8s.io/v1beta1", "ReferenceGrant"),
        ("cert-manager.io/v1", "Certificate"),
    }),
    "cnpg": frozenset(_CORE | _MONITORING | _CNPG | {("networking.k8s.io/v1", "NetworkPolicy"),
                                                     ("barmancloud.cnpg.io/v1", "ObjectStore")}),
    "cnpg-objectstore": frozenset(_CORE | {("barmancloud.cnpg.io/v1", "ObjectStore")}),
    "cnpg-backup": frozenset(_CORE | _CNPG | {("batch/v1", "Job")}),
    "cnpg-backup-now": frozenset(_CORE | _CNPG),
    "minio": frozenset(_CORE | _MONITORING | {("minio.min.io/v2", "Tenant"), ("batch/v1", "Job"),
                                              ("networking.k8s.io/v1", "NetworkPolicy")}),
    "minio-backup": frozenset(_CORE | {("batch/v1", "CronJob"), ("networking.k8s.io/v1", "NetworkPolicy")}),
    "minio-restore": frozenset(_CORE | {("batch/v1", "Job"), ("networking.k8s.io/v1", "NetworkPolicy")}),
    # Where a DKIM rotation stands (playbooks/dkim_rotate.yml), apart from the stalwart component's converge.
    "stalwart-dkim-rotation": frozenset({("v1", "ConfigMap")}),
    "dns": frozenset({("externaldns.k8s.io/v1alpha1", "DNSEndpoint")}),
    "cnpg-operator": frozenset(_OPERATOR),
    "minio-operator": frozenset(_OPERATOR),
}
# Components whose objects may sit in any namespace (a pinned release manifest names its own).
_ANY_NAMESPACE = frozenset({"cnpg-operator", "minio-operator"})


def allowed(component: str, manifests: t.Sequence[t.Any], namespaces: t.Sequence[str] | None = None) -> None:
    """Raise ``ValueError`` naming the first object ``component`` may not write (kind, or namespace if given)."""
    kinds = ALLOWED_KINDS.get(component)
    if kinds is None:
        raise ValueError(f"component: {component!r} is not a component of the collection "
                         f"(one of {', '.join(sorted(ALLOWED_KINDS))})")
    owned = None if namespaces is None or component in _ANY_NAMESPACE else set(namespaces)
    for index, manifest in enumerate(manifests):
        api_version, kind = manifest.get("apiVersion"), manifest.get("kind")
        metadata = manifest.get("metadata") if isinstance(manifest.get("metadata"), dict) else {}
        what = f"manifests[{index}]: {kind} {metadata.get('namespace', '')}/{metadata.get('name')}"
        if (api_version, kind) not in kinds:
            raise ValueError(f"{what}: {api_version} {kind} is not an object {component} writes "
                             "(plugins/module_utils/_k8s_render.py ALLOWED_KINDS)")
        if owned is None:
            continue
        namespace = metadata.get("name") if kind == "Namespace" else metadata.get("namespace")
        if namespace not in owned:
            raise ValueError(f"{what}: namespace {namespace!r} is not one {component} owns ({', '.join(sorted(owned))})")


@dataclasses.dataclass(frozen=True)
class File:
    content: str
    secret: bool


# Control characters a literal block cannot hold (all below 0x20 but tab and newline).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")


@functools.cache
def _dumper() -> t.Any:
    """A safe YAML dumper (libyaml's when present) that writes multi-line strings as literal blocks."""
    # A subclass, so that add_representer leaves yaml's own dumper alone.
    _Dumper: t.Any = type("_Dumper", (getattr(yaml, "CSafeDumper", yaml.SafeDumper),), {})

    def _str(dumper: t.Any, value: str) -> t.Any:
        style = "|" if "\n" in value and not _CONTROL.search(value) else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _str)
    # An object met twice is written twice, never as an anchor and alias: rendered files stay plain manifests.
    _Dumper.ignore_aliases = lambda self, data: True
    return _Dumper


def dump(document: t.Any) -> str:
    """YAML text of one document: block style, key order kept, multi-line strings literal (kubectl's layout)."""
    if not HAS_YAML:
        raise ImportError("PyYAML")
    return "---\n" + yaml.dump(document, Dumper=_dumper(), default_flow_style=False, sort_keys=False,
                               allow_unicode=True, width=100000)


def objects(manifests: t.Any) -> t.Any:
    """``manifests`` with every YAML text item replaced by the objects of its documents, in order.

    A role may hand over a template's rendered text instead of its parsed objects: a string costs Ansible nothing
    to pass from task to task, while an Ingress of thousands of rules is rebuilt container by container each time.
    """
    if not isinstance(manifests, list) or not any(isinstance(m, str) for m in manifests):
        return manifests
    out: list[t.Any] = []
    for index, manifest in enumerate(manifests):
        if not isinstance(manifest, str):
            out.append(manifest)
            continue
        docs = parse_documents(manifest, f"manifests[{index}]")  # errors name the position, never the text
        if not docs:
            raise ValueError(f"manifests[{index}]: YAML text with no document")
        out.extend(docs)
    return out


def secret_values(manifests: t.Any) -> set[str]:
    """Every value of every Secret's data and stringData: the strings the module must never print."""
    values: set[str] = set()
    for doc in manifests if isinstance(manifests, list) else []:
        if isinstance(doc, dict) and doc.get("kind") == "Secret":
            for field in ("data", "stringData"):
                entries = doc.get(field)
                if isinstance(entries, dict):
                    values.update(str(v) for v in entries.values() if v not in (None, ""))
    return values


def check(component: t.Any, order: t.Any, manifests: t.Any, namespaces: t.Sequence[str] | None = None) -> None:
    """Raise ``ValueError`` naming the option when the input cannot be rendered or is not the component's to write."""
    if not isinstance(component, str) or not _COMPONENT.fullmatch(component):
        raise ValueError(f"component: expected a DNS label, got {component!r}")
    if isinstance(order, bool) or not isinstance(order, int) or not 1 <= order <= 99:
        raise ValueError(f"order: expected a number from 1 to 99, got {order!r}")
    if not isinstance(manifests, list):
        raise ValueError("manifests: expected a list of Kubernetes objects")
    for index, manifest in enumerate(manifests):
        where = f"manifests[{index}]"
        if not isinstance(manifest, dict):
            raise ValueError(f"{where}: expected a Kubernetes object (a mapping), got {type(manifest).__name__}")
        for key in ("apiVersion", "kind"):
            if not isinstance(manifest.get(key), str) or not manifest[key]:
                raise ValueError(f"{where}: {key} is missing")
        metadata = manifest.get("metadata")
        if not isinstance(metadata, dict):
            metadata = {}
        name = metadata.get("name")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ValueError(f"{where}: metadata.name must be a lower-case DNS name, got {name!r}")
        namespace = metadata.get("namespace", "default")
        if not isinstance(namespace, str) or not _NAME.fullmatch(namespace):
            raise ValueError(f"{where}: metadata.namespace must be a DNS label, got {namespace!r}")
    allowed(component, manifests, namespaces)


def plan(component: str, order: int, manifests: list[dict[str, t.Any]],
         namespaces: t.Sequence[str] | None = None) -> dict[str, File]:
    """Relative path -> file of every manifest of the component."""
    check(component, order, manifests, namespaces)
    files: dict[str, File] = {}
    for index, manifest in enumerate(manifests):
        kind, name = manifest["kind"], manifest["metadata"]["name"]
        if kind == "Namespace":
            path = _layout.namespace_file(name)
        elif kind == "Secret":
            path = _layout.secret_file(component, manifest["metadata"].get("namespace", "default"), name)
        else:
            path = _layout.manifest_file(component, order, index, kind, name)
        if path in files and files[path].content != dump(manifest):
            raise ValueError(f"manifests[{index}]: {kind} {name} is given twice with different content")
        files[path] = File(dump(manifest), kind == "Secret")
    return files


def _listing(root: str) -> set[str]:
    """Relative paths of the manifest files (not kustomizations) one directory below kubernetes/ and secrets/."""
    found = set()
    for top in _layout.MANIFEST_TOPS:
        base = os.path.join(root, top)
        if not os.path.isdir(base):
            continue
        for sub in sorted(os.listdir(base)):
            if not os.path.isdir(os.path.join(base, sub)):
                continue
            for name in os.listdir(os.path.join(base, sub)):
                if name.endswith((".yaml", ".yml")) and os.path.isfile(os.path.join(base, sub, name)):
                    found.add(f"{top}/{sub}/{name}")
    return found


def _stale_dirs(root: str, component: str, order: int) -> list[str]:
    """This component's directories under another order number (its order changed)."""
    base = os.path.join(root, _layout.KUBERNETES)
    if not os.path.isdir(base):
        return []
    own, current = _layout.component_dir_pattern(component), _layout.component_dir(component, order)
    return sorted(f"{_layout.KUBERNETES}/{d}" for d in os.listdir(base)
                  if own.match(d) and f"{_layout.KUBERNETES}/{d}" != current and os.path.isdir(os.path.join(base, d)))


def kustomization(top: str, resources: t.Iterable[str]) -> str:
    """The kustomization.yaml of ``top`` (kubernetes or secrets) listing ``resources`` in order."""
    return (f"---\n# Generated by openova.stalwart: {ABOUT[top]}\n"
            + dump({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                    "resources": list(resources)})[4:])


def sync(root: str, component: str, order: int, manifests: list[t.Any],  # pylint: disable=too-many-arguments
         check_mode: bool = False, namespaces: t.Sequence[str] | None = None) -> dict[str, t.Any]:
    """Bring ``root`` in line with the component's manifests; return what changed (nothing written in check mode)."""
    if not isinstance(root, str) or not os.path.isabs(root):
        raise ValueError(f"path: expected an absolute directory, got {root!r}")
    files = plan(component, order, objects(manifests), namespaces)
    existing = _listing(root)
    stale_dirs = _stale_dirs(root, component, order)
    own = _layout.owned(component, order)
    stale = sorted(p for p in existing if own.match(p) and p not in files)
    kept = (existing - set(stale) - {p for p in existing for d in stale_dirs if p.startswith(d + "/")}) | set(files)
    for top in _layout.MANIFEST_TOPS:
        listed = sorted(p[len(top) + 1:] for p in kept if p.startswith(top + "/"))
        files[_layout.kustomization(top)] = File(kustomization(top, listed), top == _layout.SECRETS)

    written, diffs = [], []
    for path in sorted(files):
        before = _read(os.path.join(root, path))
        if before == files[path].content:
            continue
        written.append(path)
        secret = files[path].secret
        diffs.append({"before_header": path, "after_header": path,
                      "before": "" if before is None else ("(secret values)\n" if secret else before),
                      "after": "(secret values)\n" if secret else files[path].content})
    removed = stale + stale_dirs
    for path in removed:
        diffs.append({"before_header": path, "after_header": path, "before": "(present)\n", "after": "(absent)\n"})
    # Secrets left readable by others (a chmod, an older release, a copy): taken back to 0600 / 0700.
    secret_paths = [(p, 0o600) for p in sorted(files) if files[p].secret and p not in written]
    secret_paths += [(_layout.SECRETS, 0o700), (_layout.secrets_dir(component), 0o700)]
    tightened = [p for p, mode in secret_paths if _tighten(os.path.join(root, p), mode, check_mode=check_mode)]

    if not check_mode:
        _make_dirs(root)
        for top, mode in ((_layout.KUBERNETES, 0o755), (_layout.SECRETS, 0o700)):
            _make_dirs(os.path.join(root, top), mode)
            os.chmod(os.path.join(root, top), mode)
        for path in written:
            secret = files[path].secret
            directory = os.path.dirname(os.path.join(root, path))
            _make_dirs(directory, 0o700 if secret else 0o755)
            _write(os.path.join(root, path), files[path].content, 0o600 if secret else 0o644)
        for path in stale:
            os.unlink(os.path.join(root, path))
        for path in stale_dirs:
            shutil.rmtree(os.path.join(root, path))
        for sub in (_layout.component_dir(component, order), _layout.secrets_dir(component)):
            directory = os.path.join(root, sub)
            if os.path.isdir(directory) and not os.listdir(directory):
                os.rmdir(directory)

    return {
        "changed": bool(written or removed or tightened),
        "written": written,
        "removed": removed,
        "tightened": tightened,
        "files": sorted(p for p in files if not p.endswith(_layout.KUSTOMIZATION)),
        "diff": diffs,
    }
