# -*- coding: utf-8 -*-
"""Resource types and schemas of the Kubernetes API test server (fakes/kube.py).

Core kinds are checked against the upstream OpenAPI schemas that the kubernetes-validate package carries
(the ``-strict`` variants, which reject unknown fields); custom resources against the ``openAPIV3Schema`` of
their CustomResourceDefinition, turned into JSON Schema the way the API server reads a structural schema.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import importlib.resources
import json
import pathlib
import re
import typing as t

import jsonschema
import referencing
import yaml

K8S_VERSION = "1.33"

_STATUS = ("status",)
_SCALE_STATUS = ("status", "scale")
_CRUD = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclasses.dataclass(frozen=True)
class ResourceType:
    """One API resource, as discovery announces it."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    crd: str = ""  # name of the CustomResourceDefinition that defines it; empty for built-in kinds

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def label(self) -> str:
        """How the API server names the type in messages: ``Secret``, ``Cluster.postgresql.cnpg.io``."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    def discovery(self) -> list[dict]:
        """The APIResource entries of this type and its subresources."""
        entries = [{
            "name": self.plural, "singularName": self.singular, "namespaced": self.namespaced,
            "kind": self.kind, "verbs": list(_CRUD),
        }]
        if self.short_names:
            entries[0]["shortNames"] = list(self.short_names)
        if self.categories:
            entries[0]["categories"] = list(self.categories)
        for sub in self.subresources:
            kind = "Scale" if sub == "scale" else self.kind
            entries.append({"name": f"{self.plural}/{sub}", "singularName": "", "namespaced": self.namespaced,
                            "kind": kind, "verbs": ["get", "patch", "update"],
                            **({"group": "autoscaling", "version": "v1"} if sub == "scale" else {})})
        return entries


def _core(group: str, version: str, plural: str, kind: str, namespaced: bool = True,
          short: tuple[str, ...] = (), sub: tuple[str, ...] = ()) -> ResourceType:
    return ResourceType(group, version, plural, kind, namespaced, short, sub, ("all",) if sub else ())


CORE_TYPES: tuple[ResourceType, ...] = (
    _core("", "v1", "namespaces", "Namespace", False, ("ns",), _STATUS),
    _core("", "v1", "secrets", "Secret"),
    _core("", "v1", "configmaps", "ConfigMap", short=("cm",)),
    _core("", "v1", "services", "Service", short=("svc",), sub=_STATUS),
    _core("", "v1", "serviceaccounts", "ServiceAccount", short=("sa",)),
    _core("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", short=("pvc",), sub=_STATUS),
    _core("", "v1", "pods", "Pod", short=("po",), sub=_STATUS),
    _core("", "v1", "events", "Event", short=("ev",)),
    _core("apps", "v1", "statefulsets", "StatefulSet", short=("sts",), sub=_SCALE_STATUS),
    _core("apps", "v1", "deployments", "Deployment", short=("deploy",), sub=_SCALE_STATUS),
    _core("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", short=("pdb",), sub=_STATUS),
    _core("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", short=("netpol",)),
    _core("networking.k8s.io", "v1", "ingresses", "Ingress", short=("ing",), sub=_STATUS),
    _core("batch", "v1", "jobs", "Job", sub=_STATUS),
    _core("batch", "v1", "cronjobs", "CronJob", short=("cj",), sub=_STATUS),
    _core("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    _core("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
    _core("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    _core("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    _core("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False,
          ("crd", "crds"), _STATUS),
)


class Invalid(Exception):
    """A write the API server rejects as 422 Invalid; ``causes`` are (field path, message) pairs."""

    def __init__(self, causes: list[tuple[str, str]]):
        super().__init__("; ".join(f"{field}: {msg}" if field else msg for field, msg in causes))
        self.causes = causes


# -- core kinds: kubernetes-validate's upstream schemas ---------------------------------------------
def _schema_dir(version: str) -> t.Any:
    return importlib.resources.files("kubernetes_validate") / "kubernetes-json-schema" / f"v{version}.0-local-strict"


@functools.cache
def _core_registry(version: str) -> referencing.Registry:
    definitions = json.loads((_schema_dir(version) / "_definitions.json").read_text())
    return referencing.Resource.from_contents(definitions) @ referencing.Registry()


@functools.cache
def core_validator(version: str, api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
    """A validator for a built-in kind, or None when kubernetes-validate has no schema for it."""
    group_part = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = _schema_dir(version) / f"{kind.lower()}-{group_part}.json"
    if not path.is_file():
        return None
    schema = json.loads(path.read_text())
    return jsonschema.Draft202012Validator(schema, registry=_core_registry(version))


# -- custom resources: structural openAPIV3Schema -> JSON Schema ---------------------------------------
_EMBEDDED = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}}


def structural_to_jsonschema(node: t.Any) -> t.Any:
    """Read a CRD schema like the API server does: ``nullable`` admits null, an object with ``properties``
    admits no other field unless it preserves unknown fields (the server would prune them; we reject them,
    as ``fieldValidation=Strict`` does, so a typo in a manifest fails the test), embedded resources carry
    apiVersion/kind/metadata, and ``x-kubernetes-list-type: set`` items are unique."""
    if isinstance(node, list):
        return [structural_to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: structural_to_jsonschema(value) for key, value in node.items()
           if key not in ("default", "example", "description")}
    if node.get("x-kubernetes-embedded-resource"):
        props = out.setdefault("properties", {})
        for key, value in _EMBEDDED.items():
            props.setdefault(key, value)
    if node.get("x-kubernetes-int-or-string") and "anyOf" not in out:
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable"):
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    if ("properties" in node and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    if node.get("x-kubernetes-list-type") == "set":
        out["uniqueItems"] = True
    # Properties are matched against "properties" before additionalProperties, so recursing is enough.
    return out


def _list_map_keys(validator, keys, instance, schema):  # pylint: disable=unused-argument
    """``x-kubernetes-list-type: map``: no two items may share their key fields."""
    if not validator.is_type(instance, "array"):
        return
    seen: set[str] = set()
    for index, item in enumerate(instance):
        if not isinstance(item, dict):
            continue
        key = json.dumps([item.get(k) for k in keys])
        if key in seen:
            yield jsonschema.ValidationError(f"Duplicate value: {dict((k, item.get(k)) for k in keys)}",
                                             path=[index])
        seen.add(key)


CRDValidator = jsonschema.validators.extend(jsonschema.Draft7Validator,
                                            {"x-kubernetes-list-map-keys": _list_map_keys})


def crd_validator(open_api_schema: dict) -> jsonschema.protocols.Validator:
    schema = structural_to_jsonschema(open_api_schema)
    # apiVersion/kind/metadata are checked by the server itself, whatever the CRD says about them.
    props = schema.setdefault("properties", {})
    for key, value in _EMBEDDED.items():
        props.setdefault(key, value)
    return CRDValidator(schema)


def apply_defaults(schema: dict | None, obj: t.Any) -> t.Any:
    """Structural defaulting: a field absent from the object takes its schema ``default``."""
    if not schema or obj is None:
        return obj
    if isinstance(obj, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key not in obj and "default" in sub:
                obj[key] = copy.deepcopy(sub["default"])
            if key in obj:
                apply_defaults(sub, obj[key])
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key, value in obj.items():
                if key not in (schema.get("properties") or {}):
                    apply_defaults(extra, value)
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for item in obj:
            apply_defaults(schema["items"], item)
    return obj


def errors_of(validator: jsonschema.protocols.Validator, obj: dict) -> list[tuple[str, str]]:
    """Every schema violation as (field path, message), in the API server's wording."""
    causes = []
    for error in sorted(validator.iter_errors(obj), key=lambda e: [str(p) for p in e.absolute_path]):
        field = _field_path(error.absolute_path)
        if error.validator == "additionalProperties" and error.validator_value is False:
            known = set(error.schema.get("properties") or {})
            for extra in sorted(set(error.instance) - known):
                causes.append((_join(field, extra), f'unknown field "{_join(field, extra)}"'))
            continue
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else error.message
            causes.append((_join(field, missing), "Required value"))
            continue
        value = json.dumps(error.instance)
        if len(value) > 80:
            value = value[:77] + "..."
        causes.append((field, f"Invalid value: {value}: {field or 'body'} in body {_wording(error)}"))
    return causes


def _wording(error: jsonschema.ValidationError) -> str:
    kind = error.validator
    if kind == "type":
        expected = error.validator_value
        expected = [x for x in expected if x != "null"] if isinstance(expected, list) else [expected]
        return f"must be of type {' or '.join(expected)}"
    if kind == "enum":
        return "should be one of " + json.dumps([v for v in error.validator_value if v is not None])
    if kind == "pattern":
        return f"should match '{error.validator_value}'"
    if kind in ("minimum", "maximum"):
        return f"should be {'greater' if kind == 'minimum' else 'less'} than or equal to {error.validator_value}"
    return error.message


def _field_path(path: t.Iterable[t.Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _join(field: str, key: str) -> str:
    return f"{field}.{key}" if field else key


# -- CustomResourceDefinitions ----------------------------------------------------------------------
def crd_types(crd: dict) -> list[tuple[ResourceType, dict]]:
    """The resource types a CRD serves, each with its openAPIV3Schema."""
    spec = crd["spec"]
    names = spec["names"]
    out = []
    for version in spec.get("versions", []):
        if not version.get("served", True):
            continue
        subs = tuple(sorted((version.get("subresources") or {}).keys()))
        rtype = ResourceType(spec["group"], version["name"], names["plural"], names["kind"],
                             spec.get("scope", "Namespaced") == "Namespaced",
                             tuple(names.get("shortNames") or ()), subs, tuple(names.get("categories") or ()),
                             crd["metadata"]["name"])
        out.append((rtype, (version.get("schema") or {}).get("openAPIV3Schema") or {}))
    return out


@functools.cache
def load_crd_file(path: str) -> tuple[dict, ...]:
    """The CRDs in a YAML file, parsed once per process (a few of the upstream files are large)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as handle:
        return tuple(doc for doc in yaml.load_all(handle, Loader=loader)
                     if doc and doc.get("kind") == "CustomResourceDefinition")


def crd_files(directory: str | pathlib.Path) -> list[str]:
    return sorted(str(p) for p in pathlib.Path(directory).glob("*.y*ml"))
