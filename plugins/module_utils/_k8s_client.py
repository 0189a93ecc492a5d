# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""The Kubernetes side of openova.stalwart.k8s_manifests: read the live objects, server-side apply what would
change, wait for what the next step needs. Through the kubernetes client's DynamicClient (the client
kubernetes.core uses); the decisions are the pure functions of _k8s_apply and _k8s_wait."""

from __future__ import annotations

import dataclasses
import json
import os
import time
import typing as t

from ansible_collections.openova.stalwart.plugins.module_utils import _k8s_apply, _k8s_wait

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.dynamic import DynamicClient
    from kubernetes.dynamic.exceptions import DynamicApiError, NotFoundError, ResourceNotFoundError
    from urllib3.exceptions import HTTPError as Urllib3HTTPError
    HAS_KUBERNETES = True
except ImportError:  # pragma: no cover - the module reports missing_required_lib
    HAS_KUBERNETES = False

    class DynamicApiError(Exception):  # type: ignore[no-redef]
        """Stands in for the kubernetes client's exception when the client is missing."""

    class NotFoundError(Exception):  # type: ignore[no-redef]
        """Stands in for the kubernetes client's exception when the client is missing."""

    class ResourceNotFoundError(Exception):  # type: ignore[no-redef]
        """Stands in for the kubernetes client's exception when the client is missing."""

    class Urllib3HTTPError(Exception):  # type: ignore[no-redef]
        """Stands in for urllib3's exception when the client is missing."""


class ClusterError(Exception):
    """A request the API server refused, worded for the task's message."""


class Unreachable(ClusterError):
    """The API server did not answer (a 5xx, a connection error)."""


def _reason(exc: t.Any) -> str:
    """The API server's message out of a DynamicApiError (its Status body), else the exception text."""
    body = getattr(exc, "body", None)
    try:
        status = json.loads(body) if body else {}
    except (TypeError, ValueError):
        status = {}
    return (status.get("message") if isinstance(status, dict) else None) or getattr(exc, "summary", lambda: "")() or str(exc)


def error_text(exc: BaseException) -> str:
    """One line for what went wrong talking to the API server: the HTTP status and the server's message, or the
    connection error. Never the client's text for an HTTP error, which carries headers and a traceback."""
    status = getattr(exc, "status", None)
    if isinstance(status, int) and status:
        body = getattr(exc, "body", None)
        try:
            message = json.loads(body).get("message") if body else None
        except (AttributeError, TypeError, ValueError):
            message = None
        head = f"HTTP {status} {getattr(exc, 'reason', None) or ''}".strip()
        text = message or (body if isinstance(body, str) and body.strip() and len(body) < 300 else "")
        return " ".join(f"{head}: {text}".split()) if text else head
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 500 else text[:497] + "..."


def _unavailable(exc: BaseException) -> bool:
    """Whether the API server could not answer (a 5xx or 429, a connection error) rather than refuse the request."""
    status = getattr(exc, "status", None)
    if isinstance(status, int) and status:
        return status >= 500 or status == 429
    return isinstance(exc, (OSError, Urllib3HTTPError))


class Cluster:
    """One API connection and its discovery, for the whole task."""

    def __init__(self, kubeconfig: str | None = None, context: str | None = None):
        kubeconfig = kubeconfig or os.environ.get("K8S_AUTH_KUBECONFIG") or None
        context = context or os.environ.get("K8S_AUTH_CONTEXT") or None
        default = os.path.expanduser(os.environ.get("KUBECONFIG", "~/.kube/config").split(os.pathsep)[0])
        if not kubeconfig and not os.path.exists(default) and os.environ.get("KUBERNETES_SERVICE_HOST"):
            configuration = k8s_client.Configuration()
            k8s_config.load_incluster_config(client_configuration=configuration)
            api = k8s_client.ApiClient(configuration)
        else:
            api = k8s_config.new_client_from_config(config_file=kubeconfig, context=context)
        self.url: str = api.configuration.host
        try:
            self.dynamic = DynamicClient(api)  # reads the discovery documents
        except Exception as exc:  # pylint: disable=broad-except
            if _unavailable(exc):
                raise self.unreachable(exc, "discovery") from None
            raise
        self._namespaces: dict[str, bool] = {}

    def unreachable(self, exc: BaseException, what: str) -> Unreachable:
        """The error for an API server that did not answer ``what``: it names the server, the HTTP status or the
        connection error; nothing has been written past what the message says."""
        return Unreachable(f"cannot reach the Kubernetes API at {self.url} ({what}): {error_text(exc)}")

    def answers(self) -> None:
        """Raise Unreachable unless the API server answers GET /version (the discovery above may come from a cache)."""
        try:
            k8s_client.VersionApi(self.dynamic.client).get_code()
        except Exception as exc:  # pylint: disable=broad-except
            if _unavailable(exc):
                raise self.unreachable(exc, "GET /version") from None
            if getattr(exc, "status", None):
                raise ClusterError(f"the Kubernetes API at {self.url} refused GET /version: {error_text(exc)}") from None
            raise

    def resource(self, api_version: str, kind: str) -> t.Any:
        """The API resource serving ``kind`` in ``api_version``, or None when the cluster does not serve it (yet)."""
        try:
            return self.dynamic.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            return None
        except Exception as exc:  # pylint: disable=broad-except
            if _unavailable(exc):
                raise self.unreachable(exc, f"discovery of {kind} in {api_version}") from None
            raise

    def read(self, resource: t.Any, name: str, namespace: str | None) -> dict[str, t.Any] | None:
        """The live object as JSON data, or None when it does not exist."""
        try:
            response = resource.get(name=name, namespace=namespace if resource.namespaced else None, serialize=False)
        except NotFoundError:
            return None
        except Exception as exc:  # pylint: disable=broad-except
            if _unavailable(exc):
                raise self.unreachable(exc, f"reading {resource.kind} {namespace or ''}/{name}") from None
            if isinstance(exc, DynamicApiError):
                raise ClusterError(f"cannot read {resource.kind} {namespace or ''}/{name}: {_reason(exc)}") from None
            raise
        live: dict[str, t.Any] = json.loads(response.data)
        return live

    def apply(self, resource: t.Any, body: dict[str, t.Any], manager: str, dry_run: bool) -> dict[str, t.Any]:
        """Server-side apply ``body`` as ``manager``, taking over conflicting fields; the object the server returns."""
        meta = body["metadata"]
        kwargs: dict[str, t.Any] = {"field_manager": manager, "force_conflicts": True, "serialize": False}
        if dry_run:
            kwargs["dry_run"] = "All"
        try:
            response = resource.server_side_apply(body=body, name=meta["name"],
                                                  namespace=meta.get("namespace") if resource.namespaced else None,
                                                  **kwargs)
        except Exception as exc:  # pylint: disable=broad-except
            verb = "dry-run apply" if dry_run else "apply"
            if _unavailable(exc):
                raise self.unreachable(exc, f"{verb} {_k8s_apply.label(body)}") from None
            if isinstance(exc, DynamicApiError):
                raise ClusterError(f"cannot {verb} {_k8s_apply.label(body)}: {_reason(exc)}") from None
            raise
        applied: dict[str, t.Any] = json.loads(response.data)
        return applied

    def namespace_created(self, name: str) -> None:
        self._namespaces[name] = True

    def namespace_exists(self, name: str) -> bool:
        if name not in self._namespaces:
            resource = self.resource("v1", "Namespace")
            self._namespaces[name] = resource is not None and self.read(resource, name, None) is not None
        return self._namespaces[name]


@dataclasses.dataclass
class Outcome:
    """What one converge did (or, in check mode, would do)."""

    applied: list[str] = dataclasses.field(default_factory=list)  # created or changed
    created: list[str] = dataclasses.field(default_factory=list)
    would_create: list[str] = dataclasses.field(default_factory=list)  # check mode, Namespace or CRD not there yet
    unchanged: int = 0
    diffs: list[dict[str, t.Any]] = dataclasses.field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.applied or self.would_create)


def converge(cluster: Cluster, desired: t.Sequence[dict[str, t.Any]], manager: str, check_mode: bool,
             diff: bool = False) -> Outcome:
    """Apply, in order, every object of ``desired`` (prepared by _k8s_apply.prepare) whose apply would change the
    live object. An object the managed fields show unchanged costs one read and no write; in check mode the
    others are dry-run (``dryRun=All``), or reported as would-be-created when their Namespace or kind is not
    there yet."""
    outcome = Outcome()
    resources: dict[tuple[str, str], t.Any] = {}
    for obj in desired:
        key = (obj["apiVersion"], obj["kind"])
        if key not in resources:
            resources[key] = cluster.resource(*key)
        resource = resources[key]
        meta = obj["metadata"]
        namespace = meta.get("namespace") or ("default" if resource is None or resource.namespaced else None)
        live = cluster.read(resource, meta["name"], namespace) if resource is not None else None
        if _k8s_apply.unchanged(obj, live, manager):
            outcome.unchanged += 1
            continue
        name = _k8s_apply.label(obj)
        if check_mode and live is None and (resource is None or (resource.namespaced and not cluster.namespace_exists(namespace or "default"))):
            outcome.would_create.append(name)
            if diff:
                outcome.diffs.append(_diff(name, None, obj))
            continue
        if resource is None:  # a CustomResourceDefinition applied above may serve it by now
            resource = resources[key] = cluster.resource(*key)
        if resource is None:
            raise ClusterError(f"cannot apply {name}: the cluster serves no {obj['kind']} in {obj['apiVersion']} "
                               "(is the operator that defines it installed?)")
        if resource.namespaced and not meta.get("namespace"):
            obj = dict(obj, metadata=dict(meta, namespace=namespace))
        after = cluster.apply(resource, obj, manager, dry_run=check_mode)
        if _k8s_apply.same_object(live, after):
            outcome.unchanged += 1
            continue
        outcome.applied.append(name)
        if live is None:
            outcome.created.append(name)
        if obj["kind"] == "Namespace" and not check_mode:
            cluster.namespace_created(meta["name"])
        if diff:
            outcome.diffs.append(_diff(name, live, after))
    return outcome


def _diff(name: str, before: dict[str, t.Any] | None, after: dict[str, t.Any] | None) -> dict[str, t.Any]:
    old, new = _k8s_apply.diff_pair(before, after)
    return {"before_header": name, "after_header": name, "before": old, "after": new}


def wait(cluster: Cluster, waits: t.Sequence[dict[str, t.Any]], default_timeout: int,
         interval: float = 1.0) -> None:
    """Poll every wait until all are reached; raise ClusterError naming those not reached when the longest timeout
    has passed, or at once when one can no longer be reached."""
    if not waits:
        return
    seconds = max(int(w.get("timeout") or default_timeout) for w in waits)
    deadline = time.monotonic() + seconds
    pending = list(waits)
    while True:
        left: list[tuple[dict[str, t.Any], dict[str, t.Any] | None]] = []
        unreachable = None
        for item in pending:
            try:
                resource = cluster.resource(item["api_version"], item["kind"])
                obj = cluster.read(resource, item["name"], item.get("namespace")) if resource is not None else None
            except Unreachable as exc:
                # An API server restarting during a long wait is asked again; still away at the deadline, it fails.
                unreachable = exc
                left.append((item, None))
                continue
            try:
                if not _k8s_wait.reached(item, obj):
                    left.append((item, obj))
            except _k8s_wait.WaitFailed as exc:
                raise ClusterError(f"{_k8s_wait.describe(item)}: {exc}") from None
        pending = [item for item, _obj in left]
        if not pending:
            return
        if time.monotonic() >= deadline:
            if unreachable is not None:
                raise unreachable
            # Each with what its status says, so the operator sees why (e.g. a CNPG Cluster still "Setting up primary").
            raise ClusterError(f"Not reached within {seconds} s: "
                               + "; ".join(f"{_k8s_wait.describe(w)} ({_k8s_wait.why(w, obj)})" for w, obj in left))
        time.sleep(interval)
