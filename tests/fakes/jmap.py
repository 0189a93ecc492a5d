# -*- coding: utf-8 -*-
"""A Stalwart 0.16 management API (JMAP) test server that enforces Stalwart's own registry schema.

Threaded stdlib HTTP server on 127.0.0.1 with Basic auth:
- ``GET /api/schema`` redirects to ``/api/schema/<hash>``, the registry schema gzipped (``serve_schema`` turns it off).
- ``GET /jmap/session`` (``/.well-known/jmap`` redirects there) advertises ``urn:ietf:params:jmap:core`` limits and
  ``urn:stalwart:jmap``; ``apiUrl`` names a public host on purpose (clients must use only its path).
- ``POST /jmap/`` runs ``x:<Type>/get|query|set`` with ``#ids`` back-references and request-level ``createdIds``.
- ``/set`` rejects what Stalwart rejects: unknown types/properties, wrong value types and enum values, writes to
  ``serverSet``/``immutable`` properties (``invalidProperties``), missing required values and dangling object ids
  (``validationFailed``), and destroying an object another one links to (``objectIsLinked``). Secrets read back masked.
- ``x:Action/set`` runs as Stalwart runs it: each create, checked against the ``x:Action`` variants, is an action
  performed at once and never stored (``actions`` lists them); updates and destroys fail.
- State is kept between requests; ``set_calls``, ``set_log`` and ``requests`` let tests count writes.

Extend it with more methods through ``register_method(name, handler)`` (handler(args, request) -> result dict).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import importlib.util
import json
import pathlib
import ssl
import threading
import time
import typing as t
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .common import free_port
from .jmap_http import read_jmap_post

_SCHEMA_MODULE = pathlib.Path(__file__).resolve().parents[2] / "plugins" / "module_utils" / "_stalwart_schema.py"


def _load_schema_module():
    spec = importlib.util.spec_from_file_location("_stalwart_schema_for_tests", _SCHEMA_MODULE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


schema_lib = _load_schema_module()
USING = {"urn:ietf:params:jmap:core", "urn:stalwart:jmap"}
_REQUIRED_KINDS = ("string", "objectId", "enum")


class MethodError(Exception):
    def __init__(self, type_: str, description: str = ""):
        super().__init__(description)
        self.type = type_
        self.description = description


class JmapServer:
    def __init__(self, schema_path: str | pathlib.Path, users: dict[str, str] | None = None, forbidden: t.Iterable[str] = (),
                 max_objects_in_get: int = 500, max_objects_in_set: int = 500, max_calls_in_request: int = 16,
                 tls: tuple[str | pathlib.Path, str | pathlib.Path] | None = None):
        # (certificate file, key file): serve HTTPS, as Stalwart behind the ingress does; None: plain HTTP.
        self.tls = tls
        self.schema = schema_lib.Schema.load(str(schema_path))
        self.schema_gz = pathlib.Path(schema_path).read_bytes()
        self.schema_hash = hashlib.sha256(self.schema_gz).hexdigest()[:16]
        self.serve_schema = True
        self.users = dict(users or {"admin": "Adm1n-pass"})
        self.forbidden = set(forbidden)
        self.limits = {"maxObjectsInGet": max_objects_in_get, "maxObjectsInSet": max_objects_in_set,
                       "maxCallsInRequest": max_calls_in_request}
        self.lock = threading.RLock()
        self.port = free_port()
        self.store: dict[str, dict[str, dict]] = {}
        self.next_id = 0
        self.requests = 0
        self.set_calls = 0
        self.set_log: list[tuple[str, dict]] = []
        self.actions: list[dict] = []  # x:Action creates performed, in order
        # Fault injection: HTTP statuses to answer (one per request) before serving, and a per-request delay.
        self.fail_statuses: list[int] = []
        self.delay = 0.0
        # After this many more POST /jmap carrying a /set, every POST finds the connection closed unanswered, as while
        # Stalwart restarts; None: never.
        self.writes_before_down: int | None = None
        # After this many more answered POSTs carrying a /set, the next one is carried out and its connection closed
        # without an answer (a reply lost on the way back), once; None: never.
        self.lose_reply_after_writes: int | None = None
        self.methods: dict[str, t.Callable[[dict, dict], dict]] = {}
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self) -> JmapServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep pytest output clean
                return

            def _send(self, status: int, body: t.Any = None, headers: dict | None = None):
                data = b"" if body is None else json.dumps(body).encode("utf-8")
                try:
                    self.send_response(status)
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    # The client gave up (timeout tests); nothing left to answer.
                    self.close_connection = True

            def _send_raw(self, status: int, data: bytes, content_type: str, headers: dict | None = None):
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _gate(self) -> bool:
                server.requests += 1
                if server.delay:
                    time.sleep(server.delay)
                if server.fail_statuses:
                    self._send(server.fail_statuses.pop(0), {"type": "about:blank", "detail": "injected failure"})
                    return False
                user = server.authenticate(self.headers.get("Authorization", ""))
                if user is None:
                    self._send(401, {"type": "about:blank", "status": 401, "detail": "unauthorized"},
                               {"WWW-Authenticate": 'Basic realm="Stalwart"'})
                    return False
                if user in server.forbidden:
                    self._send(403, {"type": "about:blank", "status": 403, "detail": "forbidden"})
                    return False
                return True

            def do_GET(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                if self.path.rstrip("/") == "/.well-known/jmap":
                    self._send(307, None, {"Location": "/jmap/session"})
                    return
                if not self._gate():
                    return
                if self.path.rstrip("/") == "/jmap/session":
                    self._send(200, server.session())
                elif self.path.rstrip("/") == "/api/schema" and server.serve_schema:
                    # As Stalwart does: redirect to the content-addressed copy, served gzipped.
                    self._send(307, None, {"Location": f"/api/schema/{server.schema_hash}"})
                elif self.path == f"/api/schema/{server.schema_hash}" and server.serve_schema:
                    self._send_raw(200, server.schema_gz, "application/json", {"Content-Encoding": "gzip"})
                else:
                    self._send(404, {"type": "about:blank", "status": 404})

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if server.writes_before_down is not None and server.writes_before_down <= 0:
                    self.close_connection = True
                    return
                if not self._gate():
                    return
                request = read_jmap_post(self, body)
                if request is None:
                    return
                status, response = server.handle(request)
                writes = any(str(c[0]).endswith("/set") for c in request.get("methodCalls") or [])
                if server.writes_before_down is not None and writes:
                    server.writes_before_down -= 1
                if server.lose_reply_after_writes is not None and writes:
                    if server.lose_reply_after_writes <= 0:
                        server.lose_reply_after_writes = None
                        self.close_connection = True
                        return
                    server.lose_reply_after_writes -= 1
                self._send(status, response)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._httpd.daemon_threads = True
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self.tls[0]), str(self.tls[1]))
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()

    def reset(self) -> None:
        with self.lock:
            self.store.clear()
            self.requests = self.set_calls = 0
            self.set_log.clear()
            self.actions.clear()
            self.fail_statuses.clear()
            self.delay = 0.0
            self.writes_before_down = None
            self.lose_reply_after_writes = None

    def snapshot(self) -> dict:
        """The stored objects as JSON data, for ``restore`` into another server (one converge shared by tests)."""
        with self.lock:
            return json.loads(json.dumps({"store": self.store, "next_id": self.next_id}))

    def restore(self, state: dict) -> JmapServer:
        """Replace the stored objects with a ``snapshot()``; the request and write counters start from zero."""
        with self.lock:
            self.store = json.loads(json.dumps(state["store"]))
            self.next_id = state["next_id"]
            self.requests = self.set_calls = 0
            self.set_log.clear()
        return self

    def register_method(self, name: str, handler: t.Callable[[dict, dict], dict]) -> None:
        self.methods[name] = handler

    # -------------------------------------------------------------- protocol

    def authenticate(self, header: str) -> str | None:
        if not header.startswith("Basic "):
            return None
        try:
            user, _sep, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except ValueError:
            return None
        return user if self.users.get(user) == password else None

    def session(self) -> dict:
        return {
            "capabilities": {"urn:ietf:params:jmap:core": dict(self.limits, maxSizeRequest=10_000_000),
                             "urn:stalwart:jmap": {}},
            "accounts": {}, "primaryAccounts": {}, "username": "admin",
            "apiUrl": "https://mail.public.example/jmap/", "state": "0",
        }

    def handle(self, request: dict) -> tuple[int, dict]:
        if not isinstance(request, dict) or not isinstance(request.get("methodCalls"), list):
            return 400, {"type": "urn:ietf:params:jmap:error:notRequest", "status": 400}
        unknown = set(request.get("using") or []) - USING - {"urn:ietf:params:jmap:mail"}
        if unknown or not USING <= set(request.get("using") or []):
            return 400, {"type": "urn:ietf:params:jmap:error:unknownCapability", "status": 400,
                         "detail": f"using must hold {sorted(USING)}"}
        if len(request["methodCalls"]) > self.limits["maxCallsInRequest"]:
            return 400, {"type": "urn:ietf:params:jmap:error:limit", "limit": "maxCallsInRequest", "status": 400}
        with self.lock:
            created_ids = dict(request.get("createdIds") or {})
            ctx = {"createdIds": created_ids, "responses": []}
            responses = ctx["responses"]
            for name, args, tag in request["methodCalls"]:
                try:
                    args = self._resolve_back_references(args, responses)
                    result = self._dispatch(name, args, ctx)
                    responses.append([name, result, tag])
                except MethodError as exc:
                    responses.append(["error", {"type": exc.type, "description": exc.description}, tag])
            body = {"methodResponses": responses, "sessionState": "0"}
            if request.get("createdIds") is not None or created_ids:
                body["createdIds"] = created_ids
            return 200, body

    def _resolve_back_references(self, args: dict, responses: list) -> dict:
        resolved = {}
        for key, value in (args or {}).items():
            if key.startswith("#") and isinstance(value, dict):
                source = next((r for r in responses if r[2] == value.get("resultOf")), None)
                if source is None or source[0] != value.get("name"):
                    raise MethodError("invalidResultReference", f"no result for {value.get('resultOf')}")
                target = source[1]
                for part in value.get("path", "").strip("/").split("/"):
                    target = target.get(part) if isinstance(target, dict) else None
                resolved[key[1:]] = target
            else:
                resolved[key] = value
        return resolved

    def _dispatch(self, name: str, args: dict, ctx: dict) -> dict:
        if name in self.methods:
            return self.methods[name](args, ctx)
        obj, _sep, verb = name.rpartition("/")
        if not obj.startswith("x:") or verb not in ("get", "query", "set"):
            raise MethodError("unknownMethod", name)
        try:
            obj = self.schema.canonical(obj)
        except KeyError:
            raise MethodError("unknownMethod", f"unknown object {obj}") from None
        if obj == "x:Action" and verb == "set":
            return self._action_set(args, ctx)
        return getattr(self, f"_{verb}")(obj, args, ctx)

    def _action_set(self, args: dict, ctx: dict) -> dict:
        """Stalwart 0.16's x:Action/set (crates/jmap/src/registry/mapping/action.rs): a create is checked like any
        object, then performed and answered with an id; nothing is stored; updates and destroys always fail."""
        self.set_calls += 1
        self.set_log.append(("x:Action", copy.deepcopy(args)))
        result: dict[str, t.Any] = {"oldState": "0", "newState": "1"}
        created, not_created = {}, {}
        for cid, value in (args.get("create") or {}).items():
            error = self._check("x:Action", value, ctx, update=False)
            if error:
                not_created[cid] = error
                continue
            self.actions.append(copy.deepcopy(value))
            created[cid] = {"id": str(int(time.time()))}
        not_updated = {oid: {"type": "forbidden", "description": "Actions cannot be updated"} for oid in args.get("update") or {}}
        not_destroyed = {oid: {"type": "forbidden", "description": "Actions cannot be destroyed"} for oid in args.get("destroy") or []}
        for key, value in (("created", created), ("notCreated", not_created), ("notUpdated", not_updated),
                           ("notDestroyed", not_destroyed)):
            if value:
                result[key] = value
        return result

    # -------------------------------------------------------------- objects

    def _objects(self, obj: str) -> dict[str, dict]:
        bucket = self.store.setdefault(obj, {})
        if self.schema.is_singleton(obj) and "singleton" not in bucket:
            bucket["singleton"] = self._initial(obj)
        return bucket

    def _initial(self, obj: str) -> dict:
        variants = self.schema.variants(obj)
        if variants is None:
            return self.schema.defaults(self.schema.property_schema(obj, None))
        first = next(iter(variants))
        return dict(self.schema.defaults(variants[first]), **{"@type": first})

    def _with_defaults(self, obj: str, value: dict) -> dict:
        variant = value.get("@type")
        defaults = self.schema.defaults(self.schema.property_schema(obj, variant))
        return dict(defaults, **copy.deepcopy(value))

    def _masked(self, obj: str, value: dict) -> dict:
        out = copy.deepcopy(value)
        for path in self.schema.secret_paths(obj, out):
            parts = path.split("/")
            target = out
            for part in parts[:-1]:
                target = target[part]
            target[parts[-1]] = "****"
        return out

    def _get(self, obj: str, args: dict, ctx: dict) -> dict:
        bucket = self._objects(obj)
        ids = args.get("ids")
        if ids is not None and len(ids) > self.limits["maxObjectsInGet"]:
            raise MethodError("requestTooLarge", f"more than {self.limits['maxObjectsInGet']} ids")
        wanted = list(bucket) if ids is None else ids
        found, missing = [], []
        for object_id in wanted:
            if object_id in bucket:
                found.append(dict(self._masked(obj, bucket[object_id]), id=object_id))
            else:
                missing.append(object_id)
        return {"accountId": None, "state": str(self.set_calls), "list": found, "notFound": missing}

    def _query(self, obj: str, args: dict, ctx: dict) -> dict:
        if self.schema.is_singleton(obj):
            raise MethodError("unsupportedFilter", f"{obj} is a singleton")
        bucket = self._objects(obj)
        filt = args.get("filter") or {}
        ids = [i for i, v in bucket.items() if all(v.get(k) == want for k, want in filt.items())]
        position = int(args.get("position") or 0)
        limit = min(int(args.get("limit") or self.limits["maxObjectsInGet"]), self.limits["maxObjectsInGet"])
        result = {"queryState": "0", "canCalculateChanges": False, "position": position, "ids": ids[position:position + limit]}
        if args.get("calculateTotal"):
            result["total"] = len(ids)
        return result

    def _set(self, obj: str, args: dict, ctx: dict) -> dict:
        count = sum(len(args.get(k) or ()) for k in ("create", "update", "destroy"))
        if count > self.limits["maxObjectsInSet"]:
            raise MethodError("requestTooLarge", f"more than {self.limits['maxObjectsInSet']} objects")
        self.set_calls += 1
        self.set_log.append((obj, copy.deepcopy(args)))
        bucket = self._objects(obj)
        singleton = self.schema.is_singleton(obj)
        result: dict[str, t.Any] = {"oldState": "0", "newState": "1"}
        created, not_created, updated, not_updated, destroyed, not_destroyed = {}, {}, {}, {}, [], {}
        for cid, value in (args.get("create") or {}).items():
            if singleton:
                not_created[cid] = {"type": "singleton", "description": f"{obj} is a singleton: use update"}
                continue
            error = self._check(obj, value, ctx, update=False)
            if error:
                not_created[cid] = error
                continue
            self.next_id += 1
            new_id = f"i{self.next_id:05d}"
            bucket[new_id] = self._with_defaults(obj, self._resolve_ids(value, ctx))
            ctx["createdIds"][cid] = new_id
            created[cid] = {"id": new_id}
        for object_id, patch in (args.get("update") or {}).items():
            object_id = ctx["createdIds"].get(object_id[1:], object_id) if object_id.startswith("#") else object_id
            if object_id not in bucket:
                not_updated[object_id] = {"type": "notFound"}
                continue
            current = bucket[object_id]
            variant = patch.get("@type")
            if variant is not None and variant != current.get("@type"):
                error = self._check(obj, patch, ctx, update=False)
                if error:
                    not_updated[object_id] = error
                    continue
                bucket[object_id] = self._with_defaults(obj, self._resolve_ids(patch, ctx))
            else:
                error = self._check(obj, patch, ctx, update=True, current_variant=current.get("@type"))
                if error:
                    not_updated[object_id] = error
                    continue
                for key, value in self._resolve_ids(patch, ctx).items():
                    current[key] = value
            updated[object_id] = None
        for object_id in args.get("destroy") or []:
            if object_id not in bucket or singleton:
                not_destroyed[object_id] = {"type": "notFound" if not singleton else "singleton"}
                continue
            links = self._linked(obj, object_id)
            if links:
                not_destroyed[object_id] = {"type": "objectIsLinked", "linkedObjects": links,
                                            "description": f"{len(links)} object(s) refer to it"}
                continue
            del bucket[object_id]
            destroyed.append(object_id)
        for key, value in (("created", created), ("notCreated", not_created), ("updated", updated),
                           ("notUpdated", not_updated), ("destroyed", destroyed), ("notDestroyed", not_destroyed)):
            if value:
                result[key] = value
        return result

    # -------------------------------------------------------------- enforcement

    def _check(self, obj: str, value: dict, ctx: dict, update: bool, current_variant: str | None = None) -> dict | None:
        problems = self.schema.check(obj, value, update=update, current_variant=current_variant)
        # A plan-level secret reference must never reach the server: the client resolves it.
        problems += [(p, "unresolved secret reference") for p in _secret_refs(value)]
        if problems:
            return {"type": "invalidProperties", "properties": sorted({problem[0].split("/")[0] for problem in problems}),
                    "description": "; ".join(f"{p}: {m}" for p, m in problems)}
        errors = []
        variant = value.get("@type", current_variant)
        props = self.schema.properties(self.schema.property_schema(obj, variant))
        if not update:
            defaults = self.schema.defaults(self.schema.property_schema(obj, variant))
            for name, spec in props.items():
                kind = spec["type"]
                if (kind["type"] in _REQUIRED_KINDS and not kind.get("nullable") and spec.get("update") != "serverSet"
                        and name not in defaults and value.get(name) in (None, "")):
                    errors.append({"type": "Required", "property": name})
        for name, item in value.items():
            spec = props.get(name)
            if spec is None:
                continue
            for target, ref in _object_ids(spec["type"], item):
                resolved = ctx["createdIds"].get(ref[1:]) if ref.startswith("#") else ref
                target_obj = self.schema.canonical(target.split("/")[0])
                if resolved is None or resolved not in self._objects(target_obj):
                    errors.append({"type": "Invalid", "property": name, "value": ref})
        if errors:
            return {"type": "validationFailed", "validationErrors": errors,
                    "description": ", ".join(f"{e['type']} {e['property']}" for e in errors)}
        return None

    def _resolve_ids(self, value: t.Any, ctx: dict) -> t.Any:
        if isinstance(value, str) and value.startswith("#"):
            return ctx["createdIds"].get(value[1:], value)
        if isinstance(value, dict):
            return {(ctx["createdIds"].get(k[1:], k) if k.startswith("#") else k): self._resolve_ids(v, ctx) for k, v in value.items()}
        return value

    def _linked(self, obj: str, object_id: str) -> list[dict]:
        links = []
        for other, bucket in self.store.items():
            for other_id, value in bucket.items():
                props = self.schema.properties(self.schema.property_schema(other, value.get("@type")))
                for name, item in value.items():
                    spec = props.get(name)
                    if spec and any(self.schema.canonical(target.split("/")[0]) == obj and ref == object_id
                                    for target, ref in _object_ids(spec["type"], item)):
                        links.append({"object": other, "id": other_id})
        return links

    # -------------------------------------------------------------- test helpers

    def objects(self, obj: str) -> list[dict]:
        with self.lock:
            return [dict(v, id=k) for k, v in self._objects(self.schema.canonical(obj)).items()]

    def writes(self, obj: str | None = None) -> list[tuple[str, dict]]:
        return [entry for entry in self.set_log if obj is None or entry[0] == self.schema.canonical(obj)]


def _object_ids(kind: dict, value: t.Any) -> t.Iterator[tuple[str, str]]:
    """(object type, id) of every objectId inside a value of schema type ``kind`` (top level, sets and maps)."""
    if value is None:
        return
    if kind["type"] == "objectId" and isinstance(value, str):
        yield kind["objectName"], value
    elif kind["type"] == "set" and isinstance(value, dict) and kind["class"]["type"] == "objectId":
        for key in value:
            yield kind["class"]["objectName"], key
    elif kind["type"] == "map" and isinstance(value, dict) and kind["keyClass"]["type"] == "objectId":
        for key in value:
            yield kind["keyClass"]["objectName"], key


def _secret_refs(value: t.Any, path: str = "") -> list[str]:
    if isinstance(value, dict):
        if set(value) == {schema_lib.SECRET_REF}:
            return [path.strip("/")]
        found = []
        for key, item in value.items():
            found.extend(_secret_refs(item, f"{path}/{key}"))
        return found
    return []
