# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""Stalwart management over JMAP: a small client and the plan reconciler used by ``stalwart_settings``.

Protocol facts (Stalwart 0.16, as ``stalwart-cli`` uses them): the session is ``GET /jmap/session`` (``/.well-known/jmap``
redirects there) and its ``apiUrl`` path takes ``POST`` requests with ``using`` = ``urn:ietf:params:jmap:core`` and
``urn:stalwart:jmap``; registry objects are ``x:<Type>`` with ``/get``, ``/query`` and ``/set``; singletons live at id
``singleton``; request-level ``createdIds`` carries creation ids across requests; secrets read back as ``****``.

The reconciler reads every object type the plan touches in a few batched requests (query + get by back-reference,
paged by ``maxObjectsInGet``), matches plan objects to live ones on ``matchOn``, and writes only what differs: one
``x:<Type>/set`` per type, batched by ``maxObjectsInSet`` and ``maxCallsInRequest``.
"""

from __future__ import annotations

import base64
import gzip
import json
import socket
import time
import typing as t
from urllib.parse import urljoin, urlsplit

USING = ["urn:ietf:params:jmap:core", "urn:stalwart:jmap"]
MASK = "********"
# Keys whose string values are secrets (masked in diffs and results).
SECRET_KEYS = frozenset({"secret", "password", "bearerToken", "licenseKey", "apiKey"})
SECRET_REF = "@env"
# Plan-level key of an object: "#<creation id>" of its secret's revision record. Secrets read back masked, so a changed
# secret cannot be seen; the object's secrets are sent when that record is created or changed by the same run.
REVISION = "@revision"
_RETRY_STATUS = (502, 503, 504)


class JmapError(Exception):
    """Any failure talking to Stalwart; the message names the object and property when there is one."""


class AuthError(JmapError):
    """The server refused the credentials (HTTP 401) or their rights (HTTP 403): retrying will not help."""


class ReplyLost(JmapError):
    """A write went out and no answer came back: the server may have carried it out, so it is not sent again."""


class NotSent(OSError):
    """The request never left (the name did not resolve, or every connection failed): sending it again is safe."""


def _not_sent(exc: BaseException) -> bool:
    """Whether a transport error happened before the request went out. urllib wraps the socket error in ``reason``."""
    reason = getattr(exc, "reason", None)
    return any(isinstance(e, (NotSent, ConnectionRefusedError, socket.gaierror)) for e in (exc, reason))


class Transport(t.Protocol):
    """A transport takes (method, url, body or None, headers, timeout) and returns (status, body bytes, headers)."""

    def __call__(self, method: str, url: str, body: bytes | None, headers: dict[str, t.Any], timeout: float, /) -> tuple[int, bytes, dict[str, t.Any]]:
        ...


def open_url_transport(validate_certs: bool, ca_path: str | None) -> Transport:
    """A :data:`Transport` over Ansible's ``open_url`` with the module's TLS options."""
    # Imported here, not at the top: the settings Job runs this module on the bare standard library (_settings_job).
    from ansible.module_utils.six.moves.urllib.error import HTTPError
    from ansible.module_utils.urls import open_url

    def send(method: str, url: str, body: bytes | None, headers: dict[str, t.Any], timeout: float) -> tuple[int, bytes, dict[str, t.Any]]:
        try:
            response = open_url(url, data=body, headers=headers, method=method, validate_certs=validate_certs,
                                ca_path=ca_path, timeout=timeout, follow_redirects="safe")
            return response.getcode(), response.read(), dict(response.headers)
        except HTTPError as exc:
            return exc.code, exc.read() or b"", dict(exc.headers or {})

    return send


def transport(resolve: t.Callable[[str], list[str]] | None, validate_certs: bool, ca_path: str | None) -> Transport:
    """:func:`resolving_transport` over ``resolve``, or :func:`open_url_transport` (the system resolver) without."""
    if resolve is None:
        return open_url_transport(validate_certs, ca_path)
    return resolving_transport(resolve, validate_certs, ca_path)


def resolving_transport(resolve: t.Callable[[str], list[str]], validate_certs: bool, ca_path: str | None) -> Transport:
    """A :data:`Transport` that connects to the addresses ``resolve(host)`` gives for the URL's host instead of asking
    the system resolver; TLS still names and checks the host (SNI, certificate), and ``Host`` is the URL's.

    ``resolve`` returns the addresses (an empty list when the name does not exist) or raises ``OSError``. Redirects
    are followed for GET within the same scheme, host and port only (the credentials go nowhere else)."""
    # Standard library only, imported here as in open_url_transport.
    import http.client
    import socket
    import ssl

    if validate_certs:
        context = ssl.create_default_context(cafile=ca_path)
    else:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE

    class _Connection(http.client.HTTPSConnection):
        def __init__(self, host: str, port: int, address: str, timeout: float):
            super().__init__(host, port, timeout=timeout, context=context)
            self._address = address

        def connect(self) -> None:
            sock = socket.create_connection((self._address, self.port), self.timeout)
            self.sock = context.wrap_socket(sock, server_hostname=self.host)

    class _PlainConnection(http.client.HTTPConnection):
        def __init__(self, host: str, port: int, address: str, timeout: float):
            super().__init__(host, port, timeout=timeout)
            self._address = address

        def connect(self) -> None:
            self.sock = socket.create_connection((self._address, self.port), self.timeout)

    def _once(method: str, url: str, body: bytes | None, headers: dict[str, t.Any], timeout: float) -> tuple[int, bytes, dict[str, t.Any]]:
        parts = urlsplit(url)
        host = parts.hostname or ""
        secure = parts.scheme == "https"
        port = parts.port or (443 if secure else 80)
        addresses = resolve(host)
        if not addresses:
            raise NotSent(f"{host} does not resolve")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        last: OSError | None = None
        for address in addresses:
            conn = (_Connection if secure else _PlainConnection)(host, port, address, timeout)
            try:
                conn.connect()
            except OSError as exc:  # nothing sent yet: the next address
                last = exc
                conn.close()
                continue
            # Sent: a failure from here on is not retried on another address (a write may have been carried out).
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                return response.status, response.read(), dict(response.getheaders())
            except http.client.HTTPException as exc:
                raise OSError(f"{address}: {exc!r}") from None
            finally:
                conn.close()
        raise NotSent(f"{last}")

    def send(method: str, url: str, body: bytes | None, headers: dict[str, t.Any], timeout: float) -> tuple[int, bytes, dict[str, t.Any]]:
        for _hop in range(10):
            status, data, response_headers = _once(method, url, body, headers, timeout)
            location = {k.lower(): v for k, v in response_headers.items()}.get("location")
            if method != "GET" or status not in (301, 302, 303, 307, 308) or not location:
                return status, data, response_headers
            target = urljoin(url, location)
            if urlsplit(target)[:2] != urlsplit(url)[:2]:
                return status, data, response_headers
            url = target
        raise OSError(f"{url}: too many redirects")

    return send


class Client:
    def __init__(self, url: str, username: str, password: str, transport: Transport, timeout: float = 30.0,
                 retries: int = 3, backoff: float = 0.5):
        if not url or not urlsplit(url).scheme or not urlsplit(url).netloc:
            raise JmapError(f"url: {url!r} is not an absolute http(s) URL")
        self.base = url.rstrip("/") + "/"
        self.username = username
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self.headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}
        self.transport = transport
        self.timeout = timeout
        self.retries = max(1, retries)
        self.backoff = backoff
        self.requests = 0
        self.api_url: str | None = None
        self.max_get = 500
        self.max_set = 500
        self.max_calls = 16

    # -------------------------------------------------------------- HTTP

    def _http(self, method: str, url: str, body: bytes | None = None, write: bool = False) -> bytes:
        """One request, retried while the server cannot be reached. A ``write`` is sent again only when it surely
        did not arrive (refused, not resolved, HTTP 503); otherwise :class:`ReplyLost`."""
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        last = ""
        for attempt in range(1, self.retries + 1):
            try:
                self.requests += 1
                status, data = self.transport(method, url, body, headers, self.timeout)[:2]
            except (OSError, ConnectionError) as exc:
                last = f"cannot reach {url}: {exc}"
                if write and not _not_sent(exc):
                    raise ReplyLost(f"{url} took a write and gave no answer ({exc})") from None
            else:
                if status == 401:
                    raise AuthError(f"authentication failed for user {self.username!r} at {url} (HTTP 401): check username/password")
                if status == 403:
                    raise AuthError(f"user {self.username!r} is not allowed to manage the server at {url} (HTTP 403)")
                if status in _RETRY_STATUS:
                    last = f"{url} answered HTTP {status}"
                    if write and status != 503:  # a gateway's 502/504 may come after the server carried it out
                        raise ReplyLost(f"{url} answered HTTP {status} to a write")
                elif status >= 400:
                    raise JmapError(f"{url} answered HTTP {status}: {_snippet(data)}")
                else:
                    return data
            if attempt < self.retries:
                time.sleep(self.backoff * (2 ** (attempt - 1)))
        raise JmapError(f"{last} (gave up after {self.retries} attempts)")

    def _json(self, data: bytes, what: str) -> t.Any:
        try:
            return json.loads(data.decode("utf-8"))
        except ValueError:
            raise JmapError(f"{what} is not JSON: {_snippet(data)}") from None

    def session(self) -> dict[str, t.Any]:
        """Fetch the JMAP session and learn the API URL and request limits."""
        session: dict[str, t.Any] = self._json(self._http("GET", urljoin(self.base, "jmap/session")), "the JMAP session")
        core = (session.get("capabilities") or {}).get("urn:ietf:params:jmap:core")
        if not isinstance(core, dict) or not session.get("apiUrl"):
            raise JmapError(f"{self.base}jmap/session is not a JMAP session (no core capability or apiUrl)")
        if "urn:stalwart:jmap" not in session["capabilities"]:
            raise JmapError(f"{self.base} does not offer the urn:stalwart:jmap capability (is this Stalwart 0.16+?)")
        # Keep only the path: the advertised host is the public URL, which may not be the one we reach.
        self.api_url = urljoin(self.base, urlsplit(session["apiUrl"]).path.lstrip("/"))
        self.max_get = int(core.get("maxObjectsInGet") or 500)
        self.max_set = int(core.get("maxObjectsInSet") or 500)
        self.max_calls = int(core.get("maxCallsInRequest") or 16)
        return session

    def schema(self) -> dict[str, t.Any] | None:
        """The server's registry schema (``GET /api/schema``, redirected to its versioned copy); None when not served."""
        try:
            data = self._http("GET", urljoin(self.base, "api/schema"))
        except JmapError as exc:
            if "HTTP 404" in str(exc):
                return None
            raise
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        schema = self._json(data, "the registry schema")
        if not isinstance(schema, dict) or not {"objects", "schemas", "fields", "enums"} <= set(schema):
            raise JmapError(f"{self.base}api/schema is not a Stalwart registry schema")
        return schema

    def call(self, calls: list[list[t.Any]], created_ids: dict[str, t.Any] | None = None,
             write: bool = False) -> tuple[list[list[t.Any]], dict[str, t.Any]]:
        """Send method calls in one request; return the method responses and the request-level createdIds.
        ``write``: the calls change the server, so a request whose answer is lost is not sent again (:class:`ReplyLost`)."""
        if self.api_url is None:
            self.session()
        body: dict[str, t.Any] = {"using": USING, "methodCalls": calls}
        if created_ids:
            body["createdIds"] = created_ids
        data = self._json(self._http("POST", t.cast(str, self.api_url), json.dumps(body).encode("utf-8"), write=write), "the JMAP response")
        if not isinstance(data, dict) or "methodResponses" not in data:
            if isinstance(data, dict) and data.get("type"):
                raise JmapError(f"JMAP request rejected: {data.get('type')} {data.get('detail') or data.get('description') or ''}".strip())
            raise JmapError(f"unexpected JMAP response: {_snippet(json.dumps(data).encode())}")
        return data["methodResponses"], data.get("createdIds") or {}


def _snippet(data: bytes, size: int = 300) -> str:
    text = data.decode("utf-8", "replace").strip()
    return text[:size] + ("..." if len(text) > size else "")


def method_result(response: list[t.Any], expected: str) -> dict[str, t.Any]:
    name = response[0]
    result: dict[str, t.Any] = response[1]
    if name == "error":
        detail = result.get("description") or result.get("detail") or ""
        raise JmapError(f"{expected} failed: {result.get('type', 'error')}{': ' + detail if detail else ''}")
    if name != expected:
        raise JmapError(f"expected a {expected} response, got {name}")
    return result


# ------------------------------------------------------------------ comparison and masking


def canonical(obj: str) -> str:
    return obj if obj.startswith("x:") else f"x:{obj}"


def display(obj: str) -> str:
    return obj[2:] if obj.startswith("x:") else obj


def is_secret_ref(value: t.Any) -> bool:
    return isinstance(value, dict) and set(value) == {SECRET_REF}


def _is_set(value: dict[str, t.Any]) -> bool:
    return all(v is True for v in value.values())


def same(desired: t.Any, live: t.Any, secrets: bool = False) -> bool:
    """Does ``live`` already hold ``desired``? Objects compare on the keys the plan sets; sets exactly; secrets never
    (with ``secrets``, a masked live secret differs from any desired value, a secret reference too: the caller knows
    it changed)."""
    if is_secret_ref(desired):
        return not secrets
    if live == "****" and not secrets:
        return True
    if isinstance(desired, dict) and isinstance(live, dict):
        if desired.get("@type") != live.get("@type") and "@type" in desired:
            return False
        if _is_set(desired) or (desired and all(k.isdigit() for k in desired)):
            if set(desired) != set(live):
                return False
        # An absent property reads as null.
        return all(same(value, live.get(key), secrets) for key, value in desired.items())
    if isinstance(desired, bool) or isinstance(live, bool):
        return desired is live
    if isinstance(desired, (int, float)) and isinstance(live, (int, float)):
        return float(desired) == float(live)
    return bool(desired == live)


def mask(value: t.Any) -> t.Any:
    """Copy of ``value`` with secret strings replaced (secret references are kept: they hold no secret)."""
    if isinstance(value, dict):
        return {k: (MASK if k in SECRET_KEYS and isinstance(v, str) else mask(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value


def resolve_secrets(value: t.Any, secrets: t.Mapping[str, str], where: str) -> t.Any:
    if is_secret_ref(value):
        name = value[SECRET_REF]
        if name not in secrets or secrets[name] in (None, ""):
            raise JmapError(f"{where}: secret {name!r} is not set (give it in secrets or the environment)")
        return secrets[name]
    if isinstance(value, dict):
        return {k: resolve_secrets(v, secrets, f"{where}/{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_secrets(v, secrets, where) for v in value]
    return value


def _refs(value: t.Any, out: set[str]) -> None:
    if isinstance(value, str):
        if value.startswith("#") and len(value) > 1:
            out.add(value[1:])
    elif isinstance(value, dict):
        for key, item in value.items():
            if key.startswith("#") and len(key) > 1:
                out.add(key[1:])
            _refs(item, out)
    elif isinstance(value, list):
        for item in value:
            _refs(item, out)


def substitute(value: t.Any, known: t.Mapping[str, str]) -> t.Any:
    """Replace ``#cid`` references whose object already exists by its live id (keys of sets included)."""
    if isinstance(value, str):
        return known.get(value[1:], value) if value.startswith("#") else value
    if isinstance(value, dict):
        return {(known.get(k[1:], k) if k.startswith("#") else k): substitute(v, known) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, known) for v in value]
    return value


# ------------------------------------------------------------------ reconciler


class Change(t.NamedTuple):
    action: str          # create | update | destroy
    obj: str             # canonical type
    key: str             # creation id, live id or "singleton"
    label: str           # human name: matchOn values
    before: dict[str, t.Any] | None
    after: dict[str, t.Any] | None


class Reconciler:
    """Diff a plan against a live server and (unless ``check_mode``) write the differences."""

    def __init__(self, client: Client, secrets: t.Mapping[str, str] | None = None, reconcile: list[dict[str, t.Any]] | None = None):
        self.client = client
        self.secrets = dict(secrets or {})
        self.reconcile = reconcile or []
        self.live: dict[str, dict[str, dict[str, t.Any]]] = {}
        self.changes: list[Change] = []
        self.unmanaged: list[str] = []
        self.set_calls = 0

    # -------------------------------------------------------------- reading

    def read(self, objects: t.Iterable[str], singletons: t.Iterable[str]) -> None:
        client = self.client
        if client.api_url is None:
            client.session()
        calls: list[list[t.Any]] = []
        for obj in sorted(set(objects)):
            calls.extend(_page(obj, 0, client.max_get, total=True))
        for obj in sorted(set(singletons)):
            calls.append([f"{obj}/get", {"ids": ["singleton"]}, f"s|{obj}|0"])
        more = self._read_calls(calls)
        if more:
            self._read_calls(more)

    def _read_calls(self, calls: list[list[t.Any]]) -> list[list[t.Any]]:
        more: list[list[t.Any]] = []
        per_request = max(2, self.client.max_calls - self.client.max_calls % 2)
        for start in range(0, len(calls), per_request):
            responses = self.client.call(calls[start:start + per_request])[0]
            for response in responses:
                kind, obj, position = response[2].split("|")
                if kind == "q":
                    result = method_result(response, f"{obj}/query")
                    total = int(result.get("total") or 0)
                    if position == "0":
                        for start in range(self.client.max_get, total, self.client.max_get):
                            more.extend(_page(obj, start, self.client.max_get))
                elif kind == "g":
                    result = method_result(response, f"{obj}/get")
                    bucket = self.live.setdefault(obj, {})
                    for item in result.get("list") or []:
                        bucket[str(item.get("id"))] = item
                elif kind == "s":
                    result = method_result(response, f"{obj}/get")
                    found = result.get("list") or []
                    self.live.setdefault(obj, {})["singleton"] = found[0] if found else {}
        return more

    # -------------------------------------------------------------- planning

    def plan(self, ops: list[dict[str, t.Any]]) -> list[list[t.Any]]:
        """Compute the changes and return the ``/set`` method calls that make them (in dependency order)."""
        normalised = [self._normalise(op, index) for index, op in enumerate(ops)]
        objects = {op["object"] for op in normalised if op["@type"] != "update"} | {r["object"] for r in self.reconcile}
        singletons = {op["object"] for op in normalised if op["@type"] == "update"}
        self.read(objects, singletons)

        known: dict[str, str] = {}      # creation id -> live id of a matched object
        pending: set[str] = set()        # creation ids created by this run
        touched: set[str] = set()        # creation ids created or updated by this run
        owned: dict[str, set[str]] = {}  # type -> live ids the plan matched
        groups: list[tuple[str, dict[str, t.Any]]] = []  # (type, set arguments) in plan order; consecutive same type merged

        def group(obj: str) -> dict[str, t.Any]:
            if not groups or groups[-1][0] != obj:
                groups.append((obj, {}))
            return groups[-1][1]

        for index, op in enumerate(normalised):
            obj = op["object"]
            where = f"plan operation #{index + 1} ({op['@type']} {display(obj)})"
            if op["@type"] == "update":
                live = self.live.get(obj, {}).get("singleton", {})
                desired = substitute(op["value"], known)
                self._no_dangling(desired, pending, known, where)
                if "@type" in desired and desired["@type"] != live.get("@type"):
                    patch = desired
                else:
                    patch = {k: v for k, v in desired.items() if not same(v, live.get(k))}
                if patch:
                    group(obj).setdefault("update", {})["singleton"] = resolve_secrets(patch, self.secrets, where)
                    self.changes.append(Change("update", obj, "singleton", display(obj), _pick(live, patch), patch))
                continue
            index_by_key = self._index(obj, op["matchOn"])
            claimed: dict[str, str] = {}
            for cid, value in op["value"].items():
                revision = value.get(REVISION)
                if revision is not None:
                    value = {k: v for k, v in value.items() if k != REVISION}
                    if not (isinstance(revision, str) and revision[1:] in pending | set(known)):
                        raise JmapError(f"{where}: object {cid!r}: {REVISION} {revision!r} names no earlier plan object")
                force = isinstance(revision, str) and revision[1:] in touched
                desired = substitute(value, known)
                key = _key(value, op["matchOn"])
                if key in claimed:
                    raise JmapError(f"{where}: objects {claimed[key]!r} and {cid!r} have the same matchOn values {key}")
                claimed[key] = cid
                refs: set[str] = set()
                _refs({k: desired.get(k) for k in op["matchOn"]}, refs)
                label = ", ".join(f"{k}={desired.get(k)}" for k in op["matchOn"])
                match = None if refs & pending else index_by_key.get(_key(desired, op["matchOn"]))
                if match is None:
                    self._no_dangling(desired, pending, known, f"{where}: object {cid!r}")
                    group(obj).setdefault("create", {})[cid] = resolve_secrets(desired, self.secrets, f"{where} {cid}")
                    pending.add(cid)
                    touched.add(cid)
                    self.changes.append(Change("create", obj, cid, label, None, desired))
                    continue
                live_id, live = match
                known[cid] = live_id
                owned.setdefault(obj, set()).add(live_id)
                patch = {k: v for k, v in desired.items() if k not in op["matchOn"] and not same(v, live.get(k), force)}
                if "@type" in patch:
                    # A variant switch replaces the object: send every property of the new variant.
                    patch = {k: v for k, v in desired.items() if k not in op["matchOn"] or k == "@type"}
                if patch:
                    touched.add(cid)
                    group(obj).setdefault("update", {})[live_id] = resolve_secrets(patch, self.secrets, f"{where} {label}")
                    self.changes.append(Change("update", obj, live_id, label, _pick(live, patch), patch))

        doomed_ids: set[tuple[str, str]] = set()
        # Deletions first, then the report-only entries (which leave out what is deleted anyway).
        for spec in sorted(self.reconcile, key=lambda s: bool(s.get("report"))):
            obj = spec["object"]
            # A scope may name plan objects by creation id (#domain_x); one the server does not have matches nothing.
            scope = substitute(spec.get("scope") or {}, known)
            refs = set()
            _refs(scope, refs)
            if refs:
                continue
            doomed = [live_id for live_id, live in sorted(self.live.get(obj, {}).items())
                      if live_id not in owned.get(obj, set()) and (obj, live_id) not in doomed_ids
                      and all(same(v, live.get(k)) for k, v in scope.items())]
            if doomed and spec.get("report"):
                # Report only: listed in the result, never deleted.
                self.unmanaged.extend(f"{display(obj)} {_label(self.live[obj][live_id])}" for live_id in doomed)
                continue
            doomed_ids.update((obj, live_id) for live_id in doomed)
            if doomed:
                groups.append((obj, {"destroy": doomed}))
                for live_id in doomed:
                    live = self.live[obj][live_id]
                    self.changes.append(Change("destroy", obj, live_id, _label(live), live, None))
        # Children before parents when destroying: reconcile entries are listed parents first.
        creates = [g for g in groups if "destroy" not in g[1]]
        destroys = [g for g in groups if "destroy" in g[1]]
        return [[f"{obj}/set", args] for obj, args in creates + list(reversed(destroys))]

    @staticmethod
    def _no_dangling(value: t.Any, pending: set[str], known: dict[str, str], where: str) -> None:
        refs: set[str] = set()
        _refs(value, refs)
        dangling = sorted(r for r in refs if r not in pending and r not in known)
        if dangling:
            raise JmapError(f"{where} refers to #{dangling[0]}, which no earlier operation creates or matches")

    def _normalise(self, op: dict[str, t.Any], index: int) -> dict[str, t.Any]:
        where = f"plan operation #{index + 1}"
        if not isinstance(op, dict):
            raise JmapError(f"{where}: expected an object, got {op!r}")
        kind = op.get("@type")
        obj = op.get("object")
        if not isinstance(obj, str) or not obj:
            raise JmapError(f"{where}: 'object' is missing")
        value = op.get("value")
        if kind == "update":
            if op.get("id") not in (None, "singleton"):
                raise JmapError(f"{where}: update of {obj} by id is not supported; use upsert with matchOn")
            if not isinstance(value, dict):
                raise JmapError(f"{where}: 'value' must be an object")
            return {"@type": kind, "object": canonical(obj), "value": value}
        if kind == "upsert":
            match_on = op.get("matchOn")
            if not isinstance(match_on, list) or not match_on or not all(isinstance(m, str) for m in match_on):
                raise JmapError(f"{where}: upsert of {obj} needs matchOn, a list of property names")
            if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
                raise JmapError(f"{where}: 'value' must map creation ids to objects")
            for cid, item in value.items():
                missing = [m for m in match_on if m not in item]
                if missing:
                    raise JmapError(f"{where}: object {cid!r} lacks matchOn property {missing[0]!r}")
            return {"@type": kind, "object": canonical(obj), "matchOn": match_on, "value": value}
        raise JmapError(f"{where}: operation {kind!r} is not supported (use upsert or update; deletions go through reconcile)")

    def _index(self, obj: str, match_on: list[str]) -> dict[str, t.Any]:
        index: dict[str, t.Any] = {}
        for live_id, live in sorted(self.live.get(obj, {}).items()):
            index.setdefault(_key(live, match_on), (live_id, live))
        return index

    # -------------------------------------------------------------- writing

    def write(self, calls: list[list[t.Any]]) -> None:
        """Send the ``/set`` calls, batched, and raise on the first rejected object with its properties."""
        client = self.client
        batches: list[list[t.Any]] = []
        for method, args in calls:
            if sum(len(v) for v in args.values()) <= client.max_set:
                batches.append([method, args])
                continue
            for kind, items in args.items():
                keys = list(items)
                for start in range(0, len(keys), client.max_set):
                    chunk = keys[start:start + client.max_set]
                    batches.append([method, {kind: {k: items[k] for k in chunk} if isinstance(items, dict) else chunk}])
        created_ids: dict[str, str] = {}
        errors: list[str] = []
        per_request = max(1, client.max_calls)
        for start in range(0, len(batches), per_request):
            chunk = [[m, a, f"w{start + n}"] for n, (m, a) in enumerate(batches[start:start + per_request])]
            responses, returned = client.call(chunk, created_ids or None, write=True)
            self.set_calls += len(chunk)
            created_ids.update(returned)
            # strict=False: RFC 8620 lets a server append responses of implicit calls after the ones asked for.
            for (method, args, _tag), response in zip(chunk, responses, strict=False):
                obj = method.rsplit("/", 1)[0]
                try:
                    result = method_result(response, method)
                except JmapError as exc:
                    errors.append(str(exc))
                    continue
                for cid, info in (result.get("created") or {}).items():
                    if isinstance(info, dict) and info.get("id"):
                        created_ids[cid] = str(info["id"])
                for field, kind in (("notCreated", "create"), ("notUpdated", "update"), ("notDestroyed", "destroy")):
                    for key, error in (result.get(field) or {}).items():
                        errors.append(self._set_error(obj, kind, key, args, error))
            if errors:
                break
        if errors:
            raise JmapError("; ".join(errors))

    def _set_error(self, obj: str, kind: str, key: str, args: dict[str, t.Any], error: dict[str, t.Any]) -> str:
        label = key
        for change in self.changes:
            if change.obj == obj and change.key == key:
                label = change.label
                break
        text = f"{display(obj)} {label}: {kind} rejected: {error.get('type', 'error')}"
        if error.get("properties"):
            text += f" (properties: {', '.join(error['properties'])})"
        for item in error.get("validationErrors") or []:
            text += f" [{item.get('type')}: {item.get('property')}]"
        if error.get("linkedObjects"):
            text += f" (linked objects: {json.dumps(error['linkedObjects'])})"
        if error.get("description"):
            text += f": {error['description']}"
        return text


def _page(obj: str, position: int, limit: int, total: bool = False) -> list[list[t.Any]]:
    """A query of one page and the get of its ids (by back-reference), tagged ``q|type|position``/``g|...``."""
    query: dict[str, t.Any] = {"position": position, "limit": limit}
    if total:
        query["calculateTotal"] = True
    tag = f"q|{obj}|{position}"
    return [[f"{obj}/query", query, tag],
            [f"{obj}/get", {"#ids": {"resultOf": tag, "name": f"{obj}/query", "path": "/ids"}}, f"g|{obj}|{position}"]]


def _key(value: dict[str, t.Any], match_on: list[str]) -> str:
    return json.dumps([value.get(m) for m in match_on], sort_keys=True)


def _pick(live: dict[str, t.Any], patch: dict[str, t.Any]) -> dict[str, t.Any]:
    return {k: live.get(k) for k in patch}


def _label(live: dict[str, t.Any]) -> str:
    for key in ("emailAddress", "name", "selector", "description"):
        if live.get(key):
            return f"{key}={live[key]}"
    return f"id={live.get('id')}"


def check_types(schema: t.Any, ops: list[dict[str, t.Any]]) -> None:
    """Raise when a plan operation names an object type ``schema`` (a ``_stalwart_schema.Schema``) does not have."""
    problems = []
    for index, op in enumerate(ops):
        obj = op.get("object") if isinstance(op, dict) else None
        if isinstance(obj, str):
            try:
                schema.canonical(obj)
            except KeyError:
                problems.append(f"plan operation #{index + 1}: unknown object type {obj!r}")
    if problems:
        raise JmapError("; ".join(problems))


def check_changes(schema: t.Any, reconciler: Reconciler) -> None:
    """Raise, before any write, when a create or update does not fit ``schema`` (properties, types, enums, update kinds)."""
    problems: list[str] = []
    for change in reconciler.changes:
        if change.action == "destroy":
            continue
        variant = reconciler.live.get(change.obj, {}).get(change.key, {}).get("@type") if change.action == "update" else None
        for path, message in schema.check(change.obj, change.after, update=change.action == "update", current_variant=variant):
            problems.append(f"{display(change.obj)} {change.label}: {path}: {message}")
    if problems:
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        raise JmapError("the plan does not fit the server's schema, nothing was written: " + "; ".join(problems[:20]) + more)


def apply(client: Client, ops: list[dict[str, t.Any]], secrets: t.Mapping[str, str] | None = None, reconcile: list[dict[str, t.Any]] | None = None,
          check_mode: bool = False, schema: t.Any = None) -> dict[str, t.Any]:
    """Converge the server to ``ops``; return changed, counts, the masked diff and request statistics.

    With ``schema`` (a ``_stalwart_schema.Schema``) every change is checked against it before anything is written."""
    reconciler = Reconciler(client, secrets=secrets, reconcile=[dict(r, object=canonical(r["object"])) for r in reconcile or []])
    if schema is not None:
        check_types(schema, ops)
    calls = reconciler.plan(ops)
    if schema is not None:
        check_changes(schema, reconciler)
    if calls and not check_mode:
        try:
            reconciler.write(calls)
        except ReplyLost:
            # The server may have carried that write out: read it again and write only what is still missing.
            again = Reconciler(client, secrets=secrets, reconcile=reconciler.reconcile)
            rest = again.plan(ops)
            if rest:
                again.write(rest)
            reconciler.set_calls += again.set_calls
    counts: dict[str, dict[str, int]] = {}
    before: dict[str, t.Any] = {}
    after: dict[str, t.Any] = {}
    for change in reconciler.changes:
        per_type = counts.setdefault(display(change.obj), {"create": 0, "update": 0, "destroy": 0})
        per_type[change.action] += 1
        name = display(change.obj) if change.key == "singleton" else f"{display(change.obj)} {change.label}"
        before[name] = mask(change.before)
        after[name] = mask(change.after)
    return dict(
        changed=bool(reconciler.changes),
        changes=counts,
        diff=dict(before=before, after=after),
        requests=client.requests,
        set_calls=reconciler.set_calls,
        unmanaged=sorted(set(reconciler.unmanaged)),
    )
