# -*- coding: utf-8 -*-
"""Checks for rendered Kubernetes manifests, shared by every role's tests: schema validity (core kinds with
kubernetes-validate, custom resources with the upstream CRDs in ../shared/crds), the restricted Pod Security
Standard, and "no secret value outside Secrets"."""

from __future__ import annotations

import functools
import pathlib
import typing as t

import jsonschema
import kubernetes_validate
import yaml

# Oldest Kubernetes minor the collection supports; kubernetes-validate carries its OpenAPI schemas.
K8S_VERSION = "1.30"

POD_TEMPLATE_PATHS = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}

# Volume types the restricted profile allows.
RESTRICTED_VOLUME_TYPES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
}


def load_documents(path: str | pathlib.Path) -> list[dict]:
    """Every YAML document (skipping empty ones) of a file, or of every *.yaml/*.yml file under a directory."""
    path = pathlib.Path(path)
    files = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")) if path.is_dir() else [path]
    docs: list[dict] = []
    for file in files:
        # libyaml's loader where there is one (as the collection parses manifests): a settings plan of thousands of
        # accounts is megabytes of YAML, minutes for the pure-Python one.
        docs.extend(doc for doc in yaml.load_all(file.read_bytes(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) if doc)
    return docs


@functools.cache
def _crd_schemas(crd_dir: str) -> dict[tuple[str, str], dict]:
    """Map (apiVersion, kind) to the openAPIV3Schema of every CRD file in ``crd_dir``."""
    schemas: dict[tuple[str, str], dict] = {}
    for file in sorted(pathlib.Path(crd_dir).glob("*.yaml")):
        for crd in yaml.safe_load_all(file.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group = crd["spec"]["group"]
            kind = crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                schemas[(f"{group}/{version['name']}", kind)] = version["schema"]["openAPIV3Schema"]
    return schemas


def validate(obj: dict, shared_dir: str | pathlib.Path | None = None, version: str = K8S_VERSION) -> None:
    """Raise AssertionError unless ``obj`` is valid: against the upstream CRD when ``shared_dir/crds`` has one,
    else against the Kubernetes OpenAPI schema of ``version`` (strict: unknown fields fail)."""
    where = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
    key = (obj.get("apiVersion"), obj.get("kind"))
    if shared_dir is not None:
        schema = _crd_schemas(str(pathlib.Path(shared_dir) / "crds")).get(key)
        if schema is not None:
            _check_metadata(obj, where)
            body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
            errors = sorted(jsonschema.Draft7Validator(_crd_body_schema(schema)).iter_errors(body), key=str)
            if errors:
                raise AssertionError(f"{where} does not match its CRD: {errors[0].message} at {list(errors[0].path)}")
            unknown = _unknown_fields(body, _crd_body_schema(schema), "")
            if unknown:
                # The API server would silently prune these: a typo here is a setting that never takes effect.
                raise AssertionError(f"{where}: fields unknown to its CRD (the API server would drop them): {unknown}")
            return
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        raise AssertionError(f"{where}: no schema for {key} (neither a core kind nor a CRD in shared/crds)") from None
    except kubernetes_validate.ValidationError as exc:
        raise AssertionError(f"{where} is not a valid {key}: {exc}") from None


def _crd_body_schema(schema: dict) -> dict:
    """The CRD schema without apiVersion/kind/metadata (checked separately): CRDs leave metadata open."""
    body = dict(schema)
    body["properties"] = {k: v for k, v in schema.get("properties", {}).items()
                          if k not in ("apiVersion", "kind", "metadata")}
    body["required"] = [r for r in schema.get("required", []) if r not in ("apiVersion", "kind", "metadata")]
    return body


def _unknown_fields(value: t.Any, schema: dict, path: str) -> list[str]:
    """Paths of fields in ``value`` that a structural CRD schema does not declare."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    found: list[str] = []
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if props is not None and key in props:
                found.extend(_unknown_fields(item, props[key], f"{path}.{key}"))
            elif isinstance(extra, dict):
                found.extend(_unknown_fields(item, extra, f"{path}.{key}"))
            elif props is not None or extra is False:
                found.append(f"{path}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            found.extend(_unknown_fields(item, schema["items"], f"{path}[{index}]"))
    return found


def _check_metadata(obj: dict, where: str) -> None:
    meta = obj.get("metadata") or {}
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        raise AssertionError(f"{where}: metadata.name is missing")
    for field in ("labels", "annotations"):
        values = meta.get(field) or {}
        bad = [k for k, v in values.items() if not isinstance(v, str)]
        if bad:
            raise AssertionError(f"{where}: metadata.{field} values must be strings: {bad}")


def pod_spec(obj: dict) -> dict | None:
    """The pod spec inside a workload object, or None for other kinds."""
    path = POD_TEMPLATE_PATHS.get(obj.get("kind", ""))
    if path is None:
        return None
    spec: t.Any = obj
    for part in path:
        spec = spec.get(part, {})
    return spec


def restricted_pss_violations(obj: dict) -> list[str]:
    """Every way the pod template of ``obj`` breaks the *restricted* Pod Security Standard (empty when it
    complies or ``obj`` has no pod template)."""
    spec = pod_spec(obj)
    if spec is None:
        return []
    problems: list[str] = []
    pod_sc = spec.get("securityContext") or {}
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(flag):
            problems.append(f"{flag} is set")
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            problems.append(f"volume {volume['name']} uses {sorted(kinds - RESTRICTED_VOLUME_TYPES)}")
    if pod_sc.get("runAsUser") == 0:
        problems.append("pod runAsUser is 0")
    containers = [("container", c) for c in spec.get("containers") or []]
    containers += [("initContainer", c) for c in spec.get("initContainers") or []]
    containers += [("ephemeralContainer", c) for c in spec.get("ephemeralContainers") or []]
    for what, container in containers:
        name = f"{what} {container.get('name')}"
        csc = container.get("securityContext") or {}
        if csc.get("privileged"):
            problems.append(f"{name} is privileged")
        if csc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation must be false")
        run_as_non_root = csc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
        if run_as_non_root is not True:
            problems.append(f"{name}: runAsNonRoot must be true")
        if csc.get("runAsUser") == 0:
            problems.append(f"{name}: runAsUser is 0")
        seccomp = (csc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name}: seccompProfile.type must be RuntimeDefault or Localhost")
        caps = csc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            problems.append(f"{name}: capabilities must drop ALL")
        extra = set(caps.get("add") or []) - {"NET_BIND_SERVICE"}
        if extra:
            problems.append(f"{name}: adds capabilities {sorted(extra)}")
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                problems.append(f"{name}: hostPort {port['hostPort']}")
    return problems


def assert_restricted_pss(obj: dict) -> None:
    problems = restricted_pss_violations(obj)
    assert not problems, f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}: {problems}"


def files_containing(root: str | pathlib.Path, needles: t.Iterable[str], exclude: str | pathlib.Path | None = None
                     ) -> list[tuple[str, str]]:
    """(file, needle) for every needle found in a file under ``root`` outside ``exclude``."""
    root = pathlib.Path(root)
    skip = pathlib.Path(exclude).resolve() if exclude else None
    needles = [n for n in needles if n]
    found = []
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        if skip and (file.resolve() == skip or skip in file.resolve().parents):
            continue
        text = file.read_text(errors="replace")
        found.extend((str(file), needle) for needle in needles if needle in text)
    return found


def dkim_keys(render_dir: str | pathlib.Path, secret: str = "stalwart-dkim") -> dict[str, str]:
    """Key file name to PEM of every DKIM key of a render (the Secrets ``<secret>-<n>`` under secrets/, the one store
    of the keys); a key in two Secrets fails."""
    keys: dict[str, str] = {}
    root = pathlib.Path(render_dir) / "secrets"
    for doc in load_documents(root) if root.is_dir() else []:
        name = doc.get("metadata", {}).get("name", "")
        if doc.get("kind") == "Secret" and name.startswith(f"{secret}-") and name[len(secret) + 1:].isdigit():
            for key, pem in (doc.get("stringData") or {}).items():
                assert key not in keys, f"{key} is in two DKIM Secrets"
                keys[key] = pem
    return keys
