# -*- coding: utf-8 -*-
"""A Kubernetes API test server on loopback that enforces the upstream schemas on every write.

It speaks enough of the API for the kubernetes Python client's DynamicClient and kubernetes.core (k8s with
server-side or client-side apply, k8s_info, waits): discovery, GET/LIST with label and field selectors,
create, replace, merge/strategic/JSON patch, server-side apply, delete, ``?dryRun=All``, the status
subresource, namespaces, CustomResourceDefinitions that register their kinds when created, and small
controllers that play the operators' part. It counts what clients change, so tests can assert that a
second converge writes nothing. See docs/testing.md.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import functools
import hashlib
import http.server
import ipaddress
import json
import os
import pathlib
import re
import secrets
import tempfile
import threading
import time
import typing as t
import urllib.parse
import uuid

import yaml

from . import kube_controllers, kube_patch, kube_schema
from .kube_patch import clone
from .kube_schema import ResourceType

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSONPATCH = "application/json-patch+json"
# Kinds whose metadata.generation the API server maintains (custom resources always have one).
GENERATION_KINDS = {"StatefulSet.apps", "Deployment.apps", "Job.batch", "CronJob.batch", "PodDisruptionBudget.policy",
                    "NetworkPolicy.networking.k8s.io", "Ingress.networking.k8s.io",
                    "CustomResourceDefinition.apiextensions.k8s.io"}
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
TOTAL_ANNOTATION_SIZE = 256 * 1024  # metadata.annotations, keys and values together
MAX_DATA_SIZE = 1024 * 1024  # Secret data, ConfigMap data + binaryData


_VALIDATED_FILES: set[str] = set()


class KubeError(Exception):
    """An error answered as a metav1.Status."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}

    def status(self) -> dict:
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            body["details"] = self.details
        return body


def _not_found(rtype: ResourceType, name: str) -> KubeError:
    return KubeError(404, "NotFound", f'{rtype.plural}{"." + rtype.group if rtype.group else ""} "{name}" not found',
                     {"name": name, "group": rtype.group, "kind": rtype.plural})


def _invalid(rtype: ResourceType, name: str, causes: list[tuple[str, str]]) -> KubeError:
    text = ", ".join(f"{field}: {msg}" if field else msg for field, msg in causes)
    return KubeError(422, "Invalid", f'{rtype.label} "{name}" is invalid: {text}', {
        "name": name, "group": rtype.group, "kind": rtype.kind,
        "causes": [{"reason": "FieldValueRequired" if msg == "Required value" else "FieldValueInvalid",
                    "message": msg, "field": field} for field, msg in causes]})


@dataclasses.dataclass(frozen=True)
class KubeWrite:
    """One mutating request: what it addressed and whether it changed stored state."""

    verb: str  # create | update | patch | apply | delete | deletecollection
    kind: str
    namespace: str | None
    name: str
    changed: bool
    dry_run: bool = False
    code: int = 200
    subresource: str = ""


@dataclasses.dataclass
class _Ctx:
    rtype: ResourceType
    namespace: str | None
    name: str
    sub: str
    query: dict
    dry_run: bool


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class KubeServer:  # pylint: disable=too-many-instance-attributes,too-many-public-methods
    """The API server. ``with KubeServer(crd_dir=...) as kube:`` or ``start()`` / ``stop()``."""

    def __init__(self, workdir: str | pathlib.Path | None = None, crds: t.Iterable[dict] = (),
                 crd_dir: str | pathlib.Path | None = None, controllers: bool | dict[str, bool] = True,
                 controller_delay: float = 0.0, kubernetes_version: str = kube_schema.K8S_VERSION,
                 pod_grace_seconds: float = 0.5, load_balancer_domain: str | None = None,
                 ingress_ip: str = kube_controllers.INGRESS_IP, dns_resolver: tuple[str, int] | None = None,
                 retry_seconds: float = 0.5, never_ready: t.Iterable[str] = ()):
        self.workdir = pathlib.Path(workdir) if workdir else pathlib.Path(tempfile.mkdtemp(prefix="kube-"))
        self.version = kubernetes_version
        self.token = secrets.token_urlsafe(24)
        # A per-server path prefix, as behind a cluster proxy: kubernetes.core caches discovery per URL.
        self.prefix = f"/k8s/clusters/{secrets.token_hex(4)}"
        self.controller_delay = controller_delay
        self.pod_grace_seconds = pod_grace_seconds
        self.load_balancer_domain = load_balancer_domain
        # The address the ingress controller's load balancer reports on every Ingress.
        self.ingress_ip = ingress_ip
        # (host, port) of a name server: cert-manager then issues an ACME HTTP-01 name only once it resolves there
        # (kube_controllers.certificate). None: every Certificate is issued at once, as before DNS mattered.
        self.dns_resolver = dns_resolver
        self.retry_seconds = retry_seconds
        # Kinds (ResourceType labels) whose controller keeps their objects not Ready: see kube_controllers.
        self.never_ready = set(never_ready)
        # Until this time.monotonic() instant every request is answered 503, as while the API server restarts.
        self.unavailable_until = 0.0
        if self.never_ready - kube_controllers.NEVER_READY_KINDS:
            raise ValueError(f"never_ready: only {sorted(kube_controllers.NEVER_READY_KINDS)} can be kept not Ready")
        self.enabled = {label: True for label in kube_controllers.CONTROLLERS}
        if isinstance(controllers, dict):
            self.enabled.update(controllers)
        elif not controllers:
            self.enabled = {label: False for label in self.enabled}
        self.lock = threading.RLock()
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        self._cr_schemas: dict[tuple[str, str, str], tuple[t.Any, dict]] = {}
        self._objects: dict[tuple[str, str, str, str], dict] = {}
        self._applied: dict[str, dict[str, dict]] = {}  # uid -> field manager -> applied configuration
        self._rv = 0
        self._ip = 10
        self._node_port = 30000
        self._queue: list[tuple[str, str, str, str]] = []
        self.requests = self.mutating_requests = self.dry_run_requests = self.writes = 0
        self.controller_writes = 0
        self.controller_errors: list[str] = []
        self.log: list[KubeWrite] = []
        self.port = 0
        self.kubeconfig = self.workdir / "kubeconfig"
        self._http: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._timers: list[threading.Timer] = []
        for rtype in kube_schema.CORE_TYPES:
            self._types[(rtype.group, rtype.version, rtype.plural)] = rtype
        for name in SYSTEM_NAMESPACES:
            self.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        for path in kube_schema.crd_files(crd_dir) if crd_dir else []:
            for crd in kube_schema.load_crd_file(path):
                # An upstream file is validated once per process; it cannot change meanwhile.
                # Only top-level fields and metadata are written to, so a shallow copy keeps the cache intact.
                self._seed(dict(crd, metadata=dict(crd["metadata"])), validate=path not in _VALIDATED_FILES)
            _VALIDATED_FILES.add(path)
        for crd in crds:
            self.seed(crd)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> KubeServer:
        handler = type("Handler", (_Handler,), {"kube": self})
        self._http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._http.daemon_threads = True
        self.port = self._http.server_address[1]
        self._thread = threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="kube-test-server", daemon=True)
        self._thread.start()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.kubeconfig.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": "openova-test", "cluster": {"server": self.url}}],
            "users": [{"name": "openova-test", "user": {"token": self.token}}],
            "contexts": [{"name": "openova-test", "context": {"cluster": "openova-test", "user": "openova-test",
                                                              "namespace": "default"}}],
            "current-context": "openova-test",
        }, sort_keys=False))
        self.kubeconfig.chmod(0o600)
        return self

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        if self._http:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
            self._forget_discovery_cache()

    def _forget_discovery_cache(self) -> None:
        """Remove the discovery cache kubernetes.core wrote for this URL (/tmp/k8srcp-<sha256>.json, keyed by
        the URL and, depending on the process, a user name or uid): it is of no use once the server is gone."""
        users = {"", str(os.getuid()), os.environ.get("USERNAME", ""), os.environ.get("USER", "")}
        for user in users:
            cache_id = f"{self.url}-{user}" if user else self.url
            name = f"k8srcp-{hashlib.sha256(cache_id.encode()).hexdigest()}.json"
            pathlib.Path(tempfile.gettempdir(), name).unlink(missing_ok=True)

    def __enter__(self) -> KubeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    # -- helpers for tests -----------------------------------------------------------------------
    def counters(self) -> dict[str, int]:
        with self.lock:
            return {"requests": self.requests, "mutating_requests": self.mutating_requests,
                    "dry_run_requests": self.dry_run_requests, "writes": self.writes,
                    "controller_writes": self.controller_writes}

    def reset_counters(self) -> None:
        with self.lock:
            self.requests = self.mutating_requests = self.dry_run_requests = self.writes = 0
            self.controller_writes = 0
            self.log = []

    def changes(self) -> list[KubeWrite]:
        """The logged requests that changed stored state."""
        with self.lock:
            return [entry for entry in self.log if entry.changed]

    def find_type(self, kind: str, api_version: str | None = None) -> ResourceType:
        """A served type by kind (``Secret``), label (``Cluster.postgresql.cnpg.io``) or plural."""
        with self.lock:
            found = [r for r in self._types.values()
                     if kind in (r.kind, r.label, r.plural) and api_version in (None, r.api_version)]
        if not found:
            raise KeyError(f"no served kind {kind!r}" + (f" in {api_version}" if api_version else ""))
        return found[0]

    def get(self, kind: str, name: str, namespace: str | None = None, api_version: str | None = None) -> dict | None:
        """A deep copy of a stored object, or None."""
        rtype = self.find_type(kind, api_version)
        with self.lock:
            obj = self._objects.get(self._key(rtype, namespace if rtype.namespaced else None, name))
            return self._out(rtype, obj) if obj else None

    def list(self, kind: str, namespace: str | None = None, api_version: str | None = None) -> list[dict]:
        rtype = self.find_type(kind, api_version)
        with self.lock:
            return [self._out(rtype, obj) for key, obj in sorted(self._objects.items())
                    if key[:2] == (rtype.group, rtype.plural) and namespace in (None, key[2])]

    def seed(self, obj: dict) -> dict:
        """Store an object as if a client had created or updated it (validated, not counted; its status is kept),
        to set a scene."""
        return clone(self._seed(clone(obj)))

    def _seed(self, obj: dict, validate: bool = True) -> dict:
        rtype = self.find_type(obj["kind"], obj.get("apiVersion"))
        meta = obj.setdefault("metadata", {})
        ns = meta.get("namespace", "default") if rtype.namespaced else None
        ctx = _Ctx(rtype, ns, meta.get("name", ""), "", {}, False)
        status = obj.get("status")
        with self.lock:
            stored = self._commit(ctx, obj, self._objects.get(self._key(rtype, ns, ctx.name)), "create",
                                  validate=validate)[1]
            if status is not None and stored.get("status") != status:
                # A seeded status is kept (a write to the main resource would drop it), until a controller acts.
                stored = dict(stored, status=clone(status))
                self._store(rtype, stored)
            self._drain()
            return stored

    def snapshot(self) -> dict:
        """The stored state (objects, CRDs, server-side apply records, counters behind uids and IPs) as JSON data,
        for ``restore`` into another server: one converge can then be shared by several tests, or through a file
        by several test workers, each test still getting a server of its own."""
        with self.lock:
            return clone({"objects": [[list(key), obj] for key, obj in sorted(self._objects.items())],
                          "applied": self._applied, "rv": self._rv, "ip": self._ip, "node_port": self._node_port})

    def restore(self, state: dict) -> KubeServer:
        """Replace the stored state with a ``snapshot()`` (the kinds its CRDs define are served); the counters and
        the log start from zero."""
        with self.lock:
            self._types = {(r.group, r.version, r.plural): r for r in kube_schema.CORE_TYPES}
            self._cr_schemas = {}
            self._objects = {tuple(key): obj for key, obj in clone(state["objects"])}
            for key, obj in self._objects.items():
                if key[:2] == ("apiextensions.k8s.io", "customresourcedefinitions"):
                    self._register_crd(obj)
            self._applied = clone(state["applied"])
            self._rv, self._ip, self._node_port = state["rv"], state["ip"], state["node_port"]
            self._queue = []
        self.reset_counters()
        return self

    def set_controller(self, label: str, enabled: bool) -> None:
        """Turn one simulated controller on or off (e.g. to test a wait that times out)."""
        if label not in self.enabled:
            raise KeyError(f"no controller for {label!r}; known: {sorted(self.enabled)}")
        with self.lock:
            self.enabled[label] = enabled

    def reconcile(self) -> None:
        """Run every enabled controller over every object once (after turning one back on)."""
        with self.lock:
            self._queue.extend(self._objects)
            self._drain()

    # -- request handling ------------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, headers: t.Mapping[str, str], body: bytes) -> tuple[int, dict]:
        parts = urllib.parse.urlsplit(raw_path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parts.query, keep_blank_values=True).items()}
        with self.lock:
            self.requests += 1
        if time.monotonic() < self.unavailable_until:
            return 503, KubeError(503, "ServiceUnavailable", "the server is currently unable to handle the request").status()
        try:
            path = parts.path
            if not path.startswith(self.prefix + "/") and path != self.prefix:
                raise KubeError(404, "NotFound", "the server could not find the requested resource")
            path = path[len(self.prefix):] or "/"
            if path.rstrip("/") in ("/version", "/healthz", "/livez", "/readyz"):  # the Python client asks /version/
                return 200, (self._version() if path.rstrip("/") == "/version" else {"status": "ok"})
            if headers.get("Authorization") != f"Bearer {self.token}":
                raise KubeError(401, "Unauthorized", "Unauthorized")
            with self.lock:
                return self._dispatch(method, path, query, headers, body)
        except KubeError as err:
            return err.code, err.status()

    def _dispatch(self, method: str, path: str, query: dict, headers: t.Mapping[str, str],
                  body: bytes) -> tuple[int, dict]:
        segments = [s for s in path.split("/") if s]
        discovery = self._discovery(segments)
        if discovery is not None:
            if method != "GET":
                raise KubeError(405, "MethodNotAllowed", f"the server does not allow this method on {path}")
            return 200, discovery
        ctx = self._route(segments, query)
        if method == "GET":
            if query.get("watch") in ("1", "true"):
                raise KubeError(405, "MethodNotAllowed", "watch is not served by this test server")
            return 200, (self._get(ctx) if ctx.name else self._list(ctx))
        dry_run = query.get("dryRun") == "All"
        payload = self._body(body, headers.get("Content-Type", "application/json"))
        if method == "DELETE" and isinstance(payload, dict):
            dry_run = dry_run or "All" in (payload.get("dryRun") or [])
        ctx.dry_run = dry_run
        verb = {"POST": "create", "PUT": "update", "DELETE": "delete" if ctx.name else "deletecollection",
                "PATCH": "apply" if headers.get("Content-Type", "").startswith(APPLY) else "patch"}.get(method)
        if verb is None:
            raise KubeError(405, "MethodNotAllowed", f"method {method} is not allowed")
        if dry_run:
            self.dry_run_requests += 1
        else:
            self.mutating_requests += 1
        code, changed = 500, False
        try:
            code, result, changed = getattr(self, f"_{verb}")(ctx, payload, headers)
            if not dry_run:
                self._drain()
            return code, result
        except KubeError as err:
            code = err.code
            raise
        finally:
            self.writes += int(changed and not dry_run)
            self.log.append(KubeWrite(verb, ctx.rtype.kind, ctx.namespace, ctx.name or str(query.get("labelSelector", "")),
                                      changed and not dry_run, dry_run, code, ctx.sub))

    @staticmethod
    def _body(body: bytes, content_type: str) -> t.Any:
        if not body:
            return None
        try:
            if content_type.startswith(APPLY) and not body.lstrip().startswith(b"{"):
                return yaml.load(body.decode(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            return json.loads(body)
        except (ValueError, yaml.YAMLError) as exc:
            raise KubeError(400, "BadRequest", f"the body of the request could not be decoded: {exc}") from exc

    def _version(self) -> dict:
        major, minor = self.version.split(".")[:2]
        return {"major": major, "minor": minor, "gitVersion": f"v{major}.{minor}.0", "gitCommit": "openova-test",
                "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.24",
                "compiler": "gc", "platform": "linux/amd64"}

    # -- discovery -------------------------------------------------------------------------------
    def _discovery(self, segments: list[str]) -> dict | None:
        if segments == ["api"]:
            return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{self.port}"}]}
        if segments == ["api", "v1"]:
            return self._resource_list("", "v1")
        groups = self._groups()
        if segments == ["apis"]:
            return {"kind": "APIGroupList", "apiVersion": "v1",
                    "groups": [self._group(name, versions) for name, versions in groups.items()]}
        if len(segments) == 2 and segments[0] == "apis":
            if segments[1] not in groups:
                raise KubeError(404, "NotFound", "the server could not find the requested resource")
            return {"kind": "APIGroup", "apiVersion": "v1", **self._group(segments[1], groups[segments[1]])}
        if len(segments) == 3 and segments[0] == "apis":
            if segments[2] not in groups.get(segments[1], []):
                raise KubeError(404, "NotFound", "the server could not find the requested resource")
            return self._resource_list(segments[1], segments[2])
        return None

    def _groups(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for group, version, _plural in self._types:
            if group and version not in groups.setdefault(group, []):
                groups[group].append(version)
        return {g: sorted(v, key=_version_priority) for g, v in sorted(groups.items())}

    @staticmethod
    def _group(name: str, versions: list[str]) -> dict:
        entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
        return {"name": name, "versions": entries, "preferredVersion": entries[0]}

    def _resource_list(self, group: str, version: str) -> dict:
        resources = [entry for (g, v, _p), rtype in sorted(self._types.items()) if (g, v) == (group, version)
                     for entry in rtype.discovery()]
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{group}/{version}" if group else version, "resources": resources}

    # -- routing ---------------------------------------------------------------------------------
    def _route(self, segments: list[str], query: dict) -> _Ctx:
        if segments[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", segments[2:]
        elif len(segments) >= 3 and segments[0] == "apis":
            group, version, rest = segments[1], segments[2], segments[3:]
        else:
            raise KubeError(404, "NotFound", "the server could not find the requested resource")
        namespace = None
        if (len(rest) >= 3 and rest[0] == "namespaces"
                and not (group == "" and len(rest) == 3 and rest[2] in ("status", "finalize"))):
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise KubeError(404, "NotFound", "the server could not find the requested resource")
        rtype = self._types.get((group, version, rest[0]))
        if rtype is None or (namespace is not None and not rtype.namespaced):
            raise KubeError(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else ""
        sub = rest[2] if len(rest) > 2 else ""
        if sub and sub not in rtype.subresources:
            raise KubeError(404, "NotFound", "the server could not find the requested resource")
        if sub == "scale":
            raise KubeError(405, "MethodNotAllowed", "the scale subresource is not served by this test server")
        return _Ctx(rtype, namespace, name, sub, query, False)

    @staticmethod
    def _key(rtype: ResourceType, namespace: str | None, name: str) -> tuple[str, str, str, str]:
        return (rtype.group, rtype.plural, namespace or "", name)

    def _out(self, rtype: ResourceType, obj: dict) -> dict:
        out = clone(obj)
        out["apiVersion"] = rtype.api_version  # one stored version is served as every version
        return out

    # -- reads -----------------------------------------------------------------------------------
    def _get(self, ctx: _Ctx) -> dict:
        obj = self._objects.get(self._key(ctx.rtype, ctx.namespace, ctx.name))
        if obj is None:
            raise _not_found(ctx.rtype, ctx.name)
        return self._out(ctx.rtype, obj)

    def _select(self, ctx: _Ctx) -> list[tuple[tuple, dict]]:
        labels = _parse_label_selector(ctx.query.get("labelSelector", ""))
        fields = _parse_field_selector(ctx.query.get("fieldSelector", ""), ctx.rtype)
        out = []
        for key, obj in sorted(self._objects.items()):
            if key[:2] != (ctx.rtype.group, ctx.rtype.plural) or (ctx.namespace and key[2] != ctx.namespace):
                continue
            if all(fn(obj["metadata"].get("labels") or {}) for fn in labels) and all(
                    (_field_value(obj, path) == value) == equal for path, equal, value in fields):
                out.append((key, obj))
        return out

    def _list(self, ctx: _Ctx) -> dict:
        items = []
        for _key, obj in self._select(ctx):
            item = self._out(ctx.rtype, obj)
            if not ctx.rtype.crd:  # typed lists of built-in kinds leave kind/apiVersion off their items
                item.pop("apiVersion", None)
                item.pop("kind", None)
            items.append(item)
        return {"kind": f"{ctx.rtype.kind}List", "apiVersion": ctx.rtype.api_version,
                "metadata": {"resourceVersion": str(self._rv)}, "items": items}

    # -- writes ----------------------------------------------------------------------------------
    def _create(self, ctx: _Ctx, payload: t.Any, headers: t.Mapping[str, str]) -> tuple[int, dict, bool]:
        if ctx.name:
            raise KubeError(405, "MethodNotAllowed", "POST is not allowed on a named resource")
        if ctx.rtype.namespaced and not ctx.namespace:
            raise KubeError(405, "MethodNotAllowed", f"POST is not allowed on all-namespace {ctx.rtype.plural}")
        obj = self._check_body(ctx, payload)
        meta = obj["metadata"]
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
        ctx.name = meta.get("name", "")
        existing = self._objects.get(self._key(ctx.rtype, ctx.namespace, ctx.name))
        if existing is not None and ctx.name:
            raise KubeError(409, "AlreadyExists", f'{ctx.rtype.plural} "{ctx.name}" already exists',
                            {"name": ctx.name, "group": ctx.rtype.group, "kind": ctx.rtype.plural})
        changed, stored = self._commit(ctx, obj, None, self._manager(ctx, headers))
        return 201, self._out(ctx.rtype, stored), changed

    def _update(self, ctx: _Ctx, payload: t.Any, headers: t.Mapping[str, str]) -> tuple[int, dict, bool]:
        existing = self._existing(ctx)
        obj = self._check_body(ctx, payload)
        self._precondition(ctx, obj, existing)
        changed, stored = self._commit(ctx, obj, existing, self._manager(ctx, headers))
        return 200, self._out(ctx.rtype, stored), changed

    def _patch(self, ctx: _Ctx, payload: t.Any, headers: t.Mapping[str, str]) -> tuple[int, dict, bool]:
        existing = self._existing(ctx)
        ctype = headers.get("Content-Type", "").split(";")[0].strip()
        base = self._out(ctx.rtype, existing)
        if ctype == JSONPATCH:
            if not isinstance(payload, list):
                raise KubeError(400, "BadRequest", "a JSON patch must be a list of operations")
            try:
                obj = kube_patch.json_patch(base, payload)
            except ValueError as exc:
                raise KubeError(422, "Invalid", f"the server rejected our request due to an error in our request: {exc}") from exc
        elif ctype in (MERGE, STRATEGIC):
            if not isinstance(payload, dict):
                raise KubeError(400, "BadRequest", "a merge patch must be a JSON object")
            if ctype == STRATEGIC and ctx.rtype.crd:
                raise KubeError(415, "UnsupportedMediaType",
                                f"the body of the request was in an unknown format - accepted media types include: "
                                f"{JSONPATCH}, {MERGE}, {APPLY}")
            obj = (kube_patch.merge_patch if ctype == MERGE else kube_patch.strategic_merge_patch)(base, payload)
        else:
            raise KubeError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format: {ctype}")
        obj = self._check_body(ctx, obj)
        self._precondition(ctx, obj, existing)
        changed, stored = self._commit(ctx, obj, existing, self._manager(ctx, headers))
        return 200, self._out(ctx.rtype, stored), changed

    def _apply(self, ctx: _Ctx, payload: t.Any, headers: t.Mapping[str, str]) -> tuple[int, dict, bool]:
        manager = ctx.query.get("fieldManager")
        if not manager:
            raise KubeError(400, "BadRequest", "PATCH, application/apply-patch+yaml: fieldManager is required for apply requests")
        if not isinstance(payload, dict):
            raise KubeError(400, "BadRequest", "apply configuration must be a YAML or JSON object")
        for key in ("apiVersion", "kind"):
            if not payload.get(key):
                raise KubeError(400, "BadRequest", f"invalid object: {key} must be set in an apply configuration")
        applied = self._check_body(ctx, payload)
        if not ctx.sub:
            applied.pop("status", None)
        if ctx.rtype.kind == "Secret" and "stringData" in applied:
            _string_data(applied)
        existing = self._objects.get(self._key(ctx.rtype, ctx.namespace, ctx.name))
        if existing is None and ctx.sub:
            raise _not_found(ctx.rtype, ctx.name)
        applied_configs = self._applied.get(existing["metadata"]["uid"], {}) if existing else {}
        taken: dict[str, dict] = {}
        if existing is not None:
            conflicts = kube_patch.apply_conflicts(
                applied, existing, {m: c for m, c in applied_configs.items() if m != manager})
            if conflicts and ctx.query.get("force") in ("true", "1"):
                # Forced: the fields in conflict move to this manager; the others no longer own them.
                for other, field in conflicts:
                    config = taken.setdefault(other, kube_patch.clone(applied_configs[other]))
                    kube_patch.remove_path(config, tuple(field[1:].split(".")))
                applied_configs = {**applied_configs, **taken}
            elif conflicts:
                text = "; ".join(f'conflict with "{m}": {f}' for m, f in conflicts)
                raise KubeError(409, "Conflict", f"Apply failed with {len(conflicts)} conflict(s): {text}",
                                {"causes": [{"reason": "FieldManagerConflict", "message": f'conflict with "{m}"',
                                             "field": f} for m, f in conflicts]})
        current = self._out(ctx.rtype, existing) if existing else {"metadata": {}}
        obj = kube_patch.server_side_apply(current, applied_configs.get(manager), applied,
                                           [c for m, c in applied_configs.items() if m != manager])
        changed, stored = self._commit(ctx, obj, existing, manager, applied=applied, taken=taken)
        return (201 if existing is None else 200), self._out(ctx.rtype, stored), changed

    def _delete(self, ctx: _Ctx, payload: t.Any, headers: t.Mapping[str, str]) -> tuple[int, dict, bool]:
        existing = self._existing(ctx)
        options = payload if isinstance(payload, dict) else {}
        precondition = options.get("preconditions") or {}
        for field in ("uid", "resourceVersion"):
            if precondition.get(field) and precondition[field] != existing["metadata"].get(field):
                raise KubeError(409, "Conflict", f"Precondition failed: {field} in precondition: {precondition[field]}, "
                                f"{field} in object meta: {existing['metadata'].get(field)}")
        policy = ctx.query.get("propagationPolicy") or options.get("propagationPolicy") or "Background"
        if policy not in ("Background", "Foreground", "Orphan"):
            raise KubeError(422, "Invalid", f'propagationPolicy: Unsupported value: "{policy}"')
        out = self._out(ctx.rtype, existing)
        if ctx.dry_run:
            return 200, out, False
        if ctx.rtype.kind == "Namespace":
            out["metadata"]["deletionTimestamp"] = _now()
            out["status"] = {"phase": "Terminating"}
        self._remove(self._key(ctx.rtype, ctx.namespace, ctx.name), policy)
        return 200, out, True

    def _deletecollection(self, ctx: _Ctx, payload: t.Any, headers: t.Mapping[str, str]) -> tuple[int, dict, bool]:
        selected = self._select(ctx)
        if not ctx.dry_run:
            for key, _obj in selected:
                self._remove(key, "Background")
        return 200, {"kind": f"{ctx.rtype.kind}List", "apiVersion": ctx.rtype.api_version,
                     "metadata": {"resourceVersion": str(self._rv)},
                     "items": [self._out(ctx.rtype, obj) for _key, obj in selected]}, bool(selected) and not ctx.dry_run

    def _existing(self, ctx: _Ctx) -> dict:
        if not ctx.name:
            raise KubeError(405, "MethodNotAllowed", "this method needs a named resource")
        existing = self._objects.get(self._key(ctx.rtype, ctx.namespace, ctx.name))
        if existing is None:
            raise _not_found(ctx.rtype, ctx.name)
        return existing

    @staticmethod
    def _manager(ctx: _Ctx, headers: t.Mapping[str, str]) -> str:
        return ctx.query.get("fieldManager") or (headers.get("User-Agent") or "unknown").split("/")[0]

    def _precondition(self, ctx: _Ctx, obj: dict, existing: dict) -> None:
        wanted = obj["metadata"].get("resourceVersion")
        if wanted and wanted != existing["metadata"]["resourceVersion"]:
            raise KubeError(409, "Conflict", f'Operation cannot be fulfilled on {ctx.rtype.plural} "{ctx.name}": the '
                            "object has been modified; please apply your changes to the latest version and try again")

    def _check_body(self, ctx: _Ctx, payload: t.Any) -> dict:
        """The checks the API server makes on any body before it looks at the schema."""
        if not isinstance(payload, dict):
            raise KubeError(400, "BadRequest", "the body of the request must be a JSON object")
        obj = clone(payload)
        rtype = ctx.rtype
        if obj.get("kind") not in (None, rtype.kind):
            raise KubeError(400, "BadRequest", f"the kind in the data ({obj['kind']}) does not match the expected kind "
                            f"({rtype.kind})")
        if obj.get("apiVersion") not in (None, rtype.api_version):
            raise KubeError(400, "BadRequest", f"the API version in the data ({obj['apiVersion']}) does not match the "
                            f"expected API version ({rtype.api_version})")
        obj["apiVersion"], obj["kind"] = rtype.api_version, rtype.kind
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise _invalid(rtype, ctx.name, [("metadata", "Invalid value: must be an object")])
        if rtype.namespaced:
            if meta.get("namespace") not in (None, "", ctx.namespace):
                raise KubeError(400, "BadRequest", "the namespace of the provided object does not match the namespace "
                                "sent on the request")
            meta["namespace"] = ctx.namespace
        else:
            meta.pop("namespace", None)
        if ctx.name and meta.get("name") not in (None, "", ctx.name):
            raise KubeError(400, "BadRequest", f"the name of the object ({meta['name']}) does not match the name on the "
                            f"URL ({ctx.name})")
        if ctx.name:
            meta["name"] = ctx.name
        return obj

    # -- the one place where stored state changes ---------------------------------------------------
    def _commit(self, ctx: _Ctx, obj: dict, existing: dict | None, manager: str,  # pylint: disable=too-many-arguments
                applied: dict | None = None, validate: bool = True, taken: dict[str, dict] | None = None) -> tuple[bool, dict]:
        rtype = ctx.rtype
        meta = obj["metadata"]
        name = meta.get("name", "")
        if rtype.namespaced and ("", "namespaces", "", ctx.namespace) not in self._objects:
            raise KubeError(404, "NotFound", f'namespaces "{ctx.namespace}" not found',
                            {"name": ctx.namespace, "kind": "namespaces"})
        if existing is None and not name:
            raise _invalid(rtype, "", [("metadata.name", "Required value: name or generateName is required")])
        # Server-owned metadata comes from the stored object, never from the client.
        for field in ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "deletionTimestamp"):
            meta.pop(field, None)
            if existing is not None and field in existing["metadata"]:
                meta[field] = clone(existing["metadata"][field])
        if "status" in rtype.subresources:
            if ctx.sub == "status":
                status = obj.get("status")
                obj = clone(existing) if existing else obj
                obj["status"] = status
                if status is None:
                    obj.pop("status")
            elif existing is not None and "status" in existing:
                obj["status"] = clone(existing["status"])
            else:
                obj.pop("status", None)
        if rtype.kind == "Secret":
            _string_data(obj)
        _default(rtype, obj, existing, self)
        schema = self._cr_schemas.get((rtype.group, rtype.version, rtype.plural))
        if schema:
            kube_schema.apply_defaults(schema[1], obj)
        uid = (existing or {}).get("metadata", {}).get("uid") or str(uuid.uuid4())
        configs = self._applied.get(uid, {})
        content_changed = existing is None or _comparable(existing) != _comparable(obj)
        apply_changed = applied is not None and configs.get(manager) != applied or bool(taken)
        if not (content_changed or apply_changed):
            return False, existing  # a no-op: same resourceVersion, nothing stored, nothing counted
        # Only now: an object equal to the stored one passed these checks when it was stored.
        if validate:
            self._validate(rtype, obj, existing)
        meta = obj["metadata"]
        meta["uid"] = uid
        meta.setdefault("creationTimestamp", _now())
        if rtype.crd or rtype.label in GENERATION_KINDS:
            spec_changed = existing is None or _spec(existing) != _spec(obj)
            meta["generation"] = (existing or {}).get("metadata", {}).get("generation", 0) + int(spec_changed)
        if applied is not None:
            fields = kube_patch.fields_v1(applied)
            entries = [e for e in meta.get("managedFields") or [] if e.get("manager") != manager]
            for entry in entries:
                if entry.get("manager") in (taken or {}) and entry.get("operation") == "Apply":
                    entry["fieldsV1"] = kube_patch.fields_v1(taken[entry["manager"]])
            entries.append({"manager": manager, "operation": "Apply", "apiVersion": rtype.api_version,
                            "time": _now(), "fieldsType": "FieldsV1", "fieldsV1": fields})
            meta["managedFields"] = entries
        if ctx.dry_run:
            if existing is None:
                meta.pop("resourceVersion", None)
            return True, obj
        if applied is not None:
            self._applied.setdefault(uid, {}).update(taken or {})
            self._applied[uid][manager] = applied
        self._store(rtype, obj)
        return True, obj

    def _store(self, rtype: ResourceType, obj: dict) -> None:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        key = self._key(rtype, obj["metadata"].get("namespace"), obj["metadata"]["name"])
        self._objects[key] = obj
        if rtype.label == "CustomResourceDefinition.apiextensions.k8s.io":
            self._register_crd(obj)
        self._queue.append(key)

    def _validate(self, rtype: ResourceType, obj: dict, existing: dict | None) -> None:
        name = obj["metadata"].get("name", "")
        causes = _check_metadata(rtype, obj["metadata"])
        schema = self._cr_schemas.get((rtype.group, rtype.version, rtype.plural))
        if schema:
            causes += kube_schema.errors_of(schema[0], obj)
        else:
            validator = kube_schema.core_validator(self.version, rtype.api_version, rtype.kind)
            if validator is not None:
                causes += kube_schema.errors_of(validator, obj)
        if rtype.kind in ("Secret", "ConfigMap"):
            causes += _check_data(rtype.kind, obj)
        if rtype.label == "CustomResourceDefinition.apiextensions.k8s.io":
            spec = obj.get("spec") or {}
            expected = f"{(spec.get('names') or {}).get('plural')}.{spec.get('group')}"
            if name != expected:
                causes.append(("metadata.name", f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group'))
        if existing is not None:
            causes += _immutable(rtype, existing, obj)
        if causes:
            raise _invalid(rtype, name, causes)

    def _register_crd(self, crd: dict) -> None:
        for key in [k for k, r in self._types.items() if r.crd == crd["metadata"]["name"]]:
            del self._types[key]
            self._cr_schemas.pop(key, None)
        for rtype, schema in kube_schema.crd_types(crd):
            key = (rtype.group, rtype.version, rtype.plural)
            self._types[key] = rtype
            self._cr_schemas[key] = (_crd_validator(json.dumps(schema, sort_keys=True)), schema)

    def _remove(self, key: tuple[str, str, str, str], policy: str) -> None:
        obj = self._objects.pop(key, None)
        if obj is None:
            return
        self._rv += 1
        uid = obj["metadata"]["uid"]
        self._applied.pop(uid, None)
        doomed = []
        if key[:2] == ("", "namespaces"):
            doomed = [k for k in self._objects if k[2] == key[3]]
        elif key[:2] == ("apiextensions.k8s.io", "customresourcedefinitions"):
            served = [r for r in self._types.values() if r.crd == key[3]]
            doomed = [k for k in self._objects if any(k[:2] == (r.group, r.plural) for r in served)]
            for k in [k for k, r in self._types.items() if r.crd == key[3]]:
                del self._types[k]
                self._cr_schemas.pop(k, None)
        if policy != "Orphan":  # the garbage collector follows ownerReferences
            doomed += [k for k, o in self._objects.items()
                       if any(ref.get("uid") == uid for ref in o["metadata"].get("ownerReferences") or [])]
        for k in doomed:
            self._remove(k, policy)

    def allocate_ip(self) -> str:
        self._ip += 1
        return str(ipaddress.ip_address("10.96.0.0") + self._ip)

    def allocate_port(self) -> int:
        self._node_port += 1
        return self._node_port

    # -- controllers -----------------------------------------------------------------------------
    def _drain(self) -> None:
        if self.controller_delay > 0 and self._queue:
            keys, self._queue = self._queue, []
            timer = threading.Timer(self.controller_delay, self._run_later, args=(keys,))
            timer.daemon = True
            self._timers.append(timer)
            timer.start()
            return
        rounds = 0
        while self._queue and rounds < 10000:
            rounds += 1
            key = self._queue.pop(0)
            obj = self._objects.get(key)
            if obj is None:
                continue
            rtype = next((r for (g, _v, p), r in self._types.items() if (g, p) == key[:2]), None)
            controller = kube_controllers.CONTROLLERS.get(rtype.label) if rtype else None
            if controller and self.enabled.get(rtype.label):
                try:
                    controller(self, obj)  # controllers only read it; they write through the API below
                except Exception as exc:  # pylint: disable=broad-except
                    # An operator's failure does not fail the API request that woke it: it is recorded.
                    self.controller_errors.append(f"{rtype.label} {key[2]}/{key[3]}: {exc!r}")

    def _run_later(self, keys: list) -> None:
        with self.lock:
            delay, self.controller_delay = self.controller_delay, 0.0
            try:
                self._queue.extend(keys)
                self._drain()
            finally:
                self.controller_delay = delay

    def controller_retry(self, obj: dict) -> None:
        """Run the object's controller again after ``retry_seconds``, as an operator requeues what is not done
        (cert-manager retrying an ACME challenge)."""
        rtype = self.find_type(obj["kind"], obj["apiVersion"])
        key = self._key(rtype, obj["metadata"].get("namespace"), obj["metadata"]["name"])
        if self._http is None:
            return
        timer = threading.Timer(self.retry_seconds, self._run_later, args=([key],))
        timer.daemon = True
        self._timers = [other for other in self._timers if other.is_alive()] + [timer]
        timer.start()

    def get_object(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None:
        rtype = self.find_type(kind, api_version)
        obj = self._objects.get(self._key(rtype, namespace if rtype.namespaced else None, name))
        return clone(obj) if obj else None

    def controller_status(self, obj: dict, status: dict) -> None:
        rtype = self.find_type(obj["kind"])
        key = self._key(rtype, obj["metadata"].get("namespace"), obj["metadata"]["name"])
        stored = self._objects.get(key)
        if stored is None or stored.get("status") == status:
            return
        updated = dict(stored, metadata=dict(stored["metadata"]), status=clone(status))
        self.controller_writes += 1
        self._store(rtype, updated)
        self._queue.remove(key)  # a status change by a controller does not need its controller again

    def list_objects(self, api_version: str, kind: str, namespace: str | None = None) -> list[dict]:
        """The stored objects of a kind (read-only views, for controllers)."""
        rtype = self.find_type(kind, api_version)
        return [obj for key, obj in self._objects.items()
                if key[:2] == (rtype.group, rtype.plural) and namespace in (None, key[2])]

    def controller_delete(self, api_version: str, kind: str, name: str, namespace: str | None = None,
                          grace: float = 0.0) -> None:
        """Delete an object; with ``grace`` it first shows a deletionTimestamp and goes ``grace`` seconds later,
        like a terminating pod."""
        rtype = self.find_type(kind, api_version)
        key = self._key(rtype, namespace if rtype.namespaced else None, name)
        stored = self._objects.get(key)
        if stored is None or (grace > 0 and stored["metadata"].get("deletionTimestamp")):
            return
        self.controller_writes += 1
        if grace <= 0:
            self._remove(key, "Background")
            return
        self._store(rtype, dict(stored, metadata={**stored["metadata"], "deletionTimestamp": _now(),
                                                  "deletionGracePeriodSeconds": int(grace) or 1}))
        self._queue.remove(key)
        timer = threading.Timer(grace, self._expire, args=(key, stored["metadata"]["uid"]))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _expire(self, key: tuple[str, str, str, str], uid: str) -> None:
        with self.lock:
            obj = self._objects.get(key)
            if obj is None or obj["metadata"]["uid"] != uid:
                return
            owners = [ref.get("uid") for ref in obj["metadata"].get("ownerReferences") or []]
            self._remove(key, "Background")
            # The owner's controller looks again (e.g. a StatefulSet scaled back up meanwhile).
            self._queue.extend(k for k, o in self._objects.items() if o["metadata"].get("uid") in owners)
            self._drain()

    def controller_ensure(self, obj: dict, owner: dict | None = None) -> None:
        obj = clone(obj)  # built from a stored object's parts: never share them
        rtype = self.find_type(obj["kind"], obj["apiVersion"])
        meta = obj["metadata"]
        if owner is not None:
            meta["ownerReferences"] = [{"apiVersion": owner["apiVersion"], "kind": owner["kind"],
                                        "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
                                        "controller": True, "blockOwnerDeletion": True}]
        key = self._key(rtype, meta.get("namespace"), meta["name"])
        stored = self._objects.get(key)
        if stored is None:
            meta.update(uid=str(uuid.uuid4()), creationTimestamp=_now())
            if rtype.label in GENERATION_KINDS:
                meta["generation"] = 1
            _default(rtype, obj, None, self)
            self.controller_writes += 1
            self._store(rtype, obj)
            return
        updated = kube_patch.merge_patch(stored, obj)
        if updated != stored:
            self.controller_writes += 1
            self._store(rtype, updated)


@functools.cache
def _crd_validator(text: str) -> t.Any:
    """Converted once per process per schema: the upstream CRDs are large."""
    return kube_schema.crd_validator(json.loads(text))


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "openova-kube-test/1"
    kube: KubeServer

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Quiet: the request log is KubeServer.log."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            code, payload = self.kube.handle(self.command, self.path, self.headers, body)
        except Exception as exc:  # pylint: disable=broad-except
            code, payload = 500, KubeError(500, "InternalError", f"test server error: {exc!r}").status()
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


# -- pure helpers -----------------------------------------------------------------------------------
def _version_priority(version: str) -> tuple:
    match = re.match(r"^v(\d+)(?:(alpha|beta)(\d+))?$", version)
    if not match:
        return (3, version)
    stage = {"": 0, "beta": 1, "alpha": 2}[match.group(2) or ""]
    return (stage, -int(match.group(1)), -int(match.group(3) or 0))


def _comparable(obj: dict) -> dict:
    out = dict(obj)
    out["metadata"] = {k: v for k, v in obj["metadata"].items()
                       if k not in ("resourceVersion", "generation", "managedFields")}
    return out


def _spec(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


def _string_data(obj: dict) -> None:
    """Like the API server: stringData is merged into data (base64) and never stored or echoed."""
    string_data = obj.pop("stringData", None) or {}
    if string_data:
        data = obj.get("data") or {}
        data.update({k: base64.b64encode(str(v).encode()).decode() for k, v in string_data.items()})
        obj["data"] = data


def _check_metadata(rtype: ResourceType, meta: dict) -> list[tuple[str, str]]:
    causes = []
    name = meta.get("name", "")
    pattern, what = ((_DNS1123_LABEL, "RFC 1123 label") if rtype.kind == "Namespace" else
                     (_DNS1035_LABEL, "RFC 1035 label") if rtype.kind == "Service" else
                     (_DNS1123_SUBDOMAIN, "RFC 1123 subdomain"))
    limit = 253 if pattern is _DNS1123_SUBDOMAIN else 63
    if not isinstance(name, str) or not pattern.match(name) or len(name) > limit:
        causes.append(("metadata.name", f'Invalid value: "{name}": a lowercase {what} must consist of lower case '
                       "alphanumeric characters or '-'" + (" or '.'" if limit == 253 else "")))
    for key, value in (meta.get("labels") or {}).items():
        prefix, label = key.rpartition("/")[::2]
        if (not _LABEL_VALUE.match(label) or not label or len(label) > 63
                or (prefix and not _DNS1123_SUBDOMAIN.match(prefix))):
            causes.append(("metadata.labels", f'Invalid value: "{key}": name part must consist of alphanumeric '
                           "characters, '-', '_' or '.'"))
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append(("metadata.labels", f'Invalid value: "{value}": a valid label must be an empty string or '
                           "consist of alphanumeric characters, '-', '_' or '.', at most 63"))
    annotations = meta.get("annotations") or {}
    for key, value in annotations.items():
        if not isinstance(value, str):
            causes.append((f"metadata.annotations.{key}", "Invalid value: must be a string"))
    # The limit client-side apply runs into: last-applied-configuration holds the whole manifest.
    size = sum(len(str(k)) + len(str(v)) for k, v in annotations.items())
    if size > TOTAL_ANNOTATION_SIZE:
        causes.append(("metadata.annotations", f"Too long: must have at most {TOTAL_ANNOTATION_SIZE} bytes"))
    return causes


def _check_data(kind: str, obj: dict) -> list[tuple[str, str]]:
    """Secret and ConfigMap keys, base64 of Secret data, and the 1 MiB limit on their content."""
    causes, size = [], 0
    for field in ("data", "binaryData"):
        for key, value in (obj.get(field) or {}).items():
            if not _SECRET_KEY.match(key):
                causes.append((f"{field}[{key}]", f'Invalid value: "{key}": a valid config key must consist of '
                               "alphanumeric characters, '-', '_' or '.'"))
            if kind == "Secret" or field == "binaryData":
                try:
                    size += len(base64.b64decode(value or "", validate=True))
                except (binascii.Error, ValueError, TypeError):
                    causes.append((f"{field}[{key}]", "Invalid value: illegal base64 data"))
            else:
                size += len(str(value).encode())
    if size > MAX_DATA_SIZE:
        causes.append(("data", f"Too long: must have at most {MAX_DATA_SIZE} bytes"))
    return causes


def _immutable(rtype: ResourceType, old: dict, new: dict) -> list[tuple[str, str]]:
    """The update rules of built-in kinds that trip real deployments."""
    o, n = old.get("spec") or {}, new.get("spec") or {}
    if rtype.label == "StatefulSet.apps":
        allowed = {"replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy",
                   "minReadySeconds"}
        differ = sorted(k for k in set(o) | set(n) if k not in allowed and o.get(k) != n.get(k))
        if differ:
            # The upstream message, plus which fields changed (the real server does not say).
            return [("spec", "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', "
                     "'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' "
                     f"are forbidden (changed: {', '.join('spec.' + k for k in differ)})")]
    if rtype.label in ("Deployment.apps", "Job.batch") and o.get("selector") != n.get("selector"):
        return [("spec.selector", "Invalid value: field is immutable")]
    if rtype.label == "Job.batch" and o.get("template") != n.get("template"):
        return [("spec.template", "Invalid value: field is immutable")]
    if rtype.kind == "PersistentVolumeClaim":
        if _without(o, "resources") != _without(n, "resources"):
            return [("spec", "Forbidden: spec is immutable after creation except resources.requests and "
                     "volumeAttributesClassName for bound claims")]
    if rtype.kind == "Service" and o.get("clusterIP") and n.get("clusterIP") != o.get("clusterIP"):
        return [("spec.clusterIPs[0]", "Invalid value: field is immutable")]
    if rtype.kind in ("Secret", "ConfigMap") and old.get("immutable"):
        if any(old.get(f) != new.get(f) for f in ("data", "binaryData", "immutable")):
            return [("data", "Forbidden: field is immutable when `immutable` is set")]
    return []


def _without(spec: dict, key: str) -> dict:
    return {k: v for k, v in spec.items() if k != key}


def _default(rtype: ResourceType, obj: dict, existing: dict | None, alloc: KubeServer) -> None:
    """The defaults the API server fills in for built-in kinds (the ones waits and updates depend on)."""
    spec = obj.get("spec")
    old = (existing or {}).get("spec") or {}
    if rtype.kind == "Namespace":
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    elif rtype.kind == "Secret":
        obj.setdefault("type", "Opaque")
    elif rtype.kind == "Service" and isinstance(spec, dict):
        spec.setdefault("type", "ClusterIP")
        if spec["type"] != "ExternalName":
            spec.setdefault("clusterIP", old.get("clusterIP") or alloc.allocate_ip())
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            spec.setdefault("internalTrafficPolicy", "Cluster")
        spec.setdefault("sessionAffinity", "None")
        old_ports = {p.get("port"): p for p in old.get("ports") or []}
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
            if spec["type"] in ("NodePort", "LoadBalancer"):
                port.setdefault("nodePort", old_ports.get(port.get("port"), {}).get("nodePort") or alloc.allocate_port())
        if spec["type"] == "LoadBalancer":
            spec.setdefault("externalTrafficPolicy", "Cluster")
            spec.setdefault("allocateLoadBalancerNodePorts", True)
    elif rtype.label == "StatefulSet.apps" and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
        for claim in spec.get("volumeClaimTemplates") or []:
            if isinstance(claim, dict):
                claim.setdefault("apiVersion", "v1")
                claim.setdefault("kind", "PersistentVolumeClaim")
                if isinstance(claim.get("spec"), dict):
                    claim["spec"].setdefault("volumeMode", "Filesystem")
                claim.setdefault("status", {"phase": "Pending"})
    elif rtype.label == "Deployment.apps" and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        spec.setdefault("strategy", {"type": "RollingUpdate",
                                     "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
    elif rtype.label == "Job.batch" and isinstance(spec, dict):
        for key, value in (("backoffLimit", 6), ("completions", 1), ("parallelism", 1),
                           ("completionMode", "NonIndexed"), ("suspend", False)):
            spec.setdefault(key, value)
    elif rtype.kind == "PersistentVolumeClaim" and isinstance(spec, dict):
        spec.setdefault("volumeMode", "Filesystem")


# -- selectors --------------------------------------------------------------------------------------
_SET_TERM = re.compile(r"^\s*(!?)([A-Za-z0-9./_-]+)\s*(?:(in|notin)\s*\(([^)]*)\)|(==|=|!=)\s*([A-Za-z0-9._-]*))?\s*$")


def _parse_label_selector(text: str) -> list[t.Callable[[dict], bool]]:
    """Label selector terms: ``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x)``, ``a``, ``!a``."""
    terms, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        terms.append(current)
    out = []
    for term in terms:
        match = _SET_TERM.match(term)
        if not match or (match.group(1) and (match.group(3) or match.group(5))):
            raise KubeError(400, "BadRequest", f"unable to parse requirement: found '{term.strip()}'")
        neg, key, setop, values, op, value = match.groups()
        if setop:
            choices = {v.strip() for v in values.split(",")}
            out.append(lambda labels, k=key, c=choices, keep=(setop == "in"):
                       (k in labels and labels[k] in c) if keep else labels.get(k) not in c)
        elif op:
            out.append(lambda labels, k=key, v=value, eq=(op != "!="): (labels.get(k) == v) == eq)
        else:
            out.append(lambda labels, k=key, present=not neg: (k in labels) == present)
    return out


# Field selectors the API server supports beyond metadata.name and metadata.namespace, per kind.
_FIELD_LABELS = {
    "Pod": {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
            "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"},
    "Secret": {"type"},
    "Namespace": {"status.phase"},
    "Event": {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
              "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
              "reportingComponent", "source", "type"},
    "Job.batch": {"status.successful"},
}


def _field_value(obj: dict, path: tuple[str, ...]) -> str:
    value: t.Any = obj
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else str(value)


def _parse_field_selector(text: str, rtype: ResourceType) -> list[tuple[tuple[str, ...], bool, str]]:
    out = []
    for term in filter(None, (s.strip() for s in text.split(","))):
        match = re.match(r"^([A-Za-z.]+)\s*(==|=|!=)\s*(.*)$", term)
        if not match:
            raise KubeError(400, "BadRequest", f"invalid selector: '{term}'")
        field, op, value = match.groups()
        if field not in {"metadata.name", "metadata.namespace"} | _FIELD_LABELS.get(rtype.label, set()):
            raise KubeError(400, "BadRequest", f'field label not supported: {field}')
        out.append((tuple(field.split(".")), op != "!=", value))
    return out
