# -*- coding: utf-8 -*-
"""A JMAP mail test server (RFC 8620 session + RFC 8621 Email/query, Email/get, Email/set destroy) over the
mail rig's Dovecot Maildirs, so JMAP and IMAP see one mailbox as they do in Stalwart."""

from __future__ import annotations

import base64
import email
import email.policy
import http.server
import json
import mailbox
import pathlib
import ssl
import threading
import typing as t

from .common import free_port
from .jmap_http import read_jmap_post

JMAP_CORE = "urn:ietf:params:jmap:core"
JMAP_MAIL = "urn:ietf:params:jmap:mail"


class JmapMailServer:
    """HTTPS on 127.0.0.1; Basic auth against ``users``; ``maildir(address)`` gives an account's INBOX."""

    def __init__(self, users: t.Mapping[str, str], maildir: t.Callable[[str], pathlib.Path],
                 cert: pathlib.Path, key: pathlib.Path):
        self.users = users
        self.maildir = maildir
        self.cert = cert
        self.key = key
        self.port = 0
        self.requests: list[dict] = []
        # Fault injection: Email/query finds nothing (as some Stalwart releases did for Message-ID filters).
        self.query_blind = False
        self.refuse_destroy = False
        self._httpd: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> JmapMailServer:
        self.port = free_port()
        server = self

        class Handler(_Handler):
            jmap = server

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.cert), str(self.key))
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    # -- JMAP -----------------------------------------------------------------------------------------------
    def session(self, user: str) -> dict:
        return {
            "capabilities": {JMAP_CORE: {"maxObjectsInGet": 500, "maxCallsInRequest": 16}, JMAP_MAIL: {}},
            "accounts": {_account_id(user): {"name": user, "isPersonal": True, "isReadOnly": False,
                                             "accountCapabilities": {JMAP_MAIL: {}}}},
            "primaryAccounts": {JMAP_MAIL: _account_id(user)},
            "username": user,
            "apiUrl": f"{self.url}/jmap/",
            "state": "0",
        }

    def handle(self, user: str, request: dict) -> tuple[int, dict]:
        using = request.get("using") or []
        for capability in using:
            if capability not in (JMAP_CORE, JMAP_MAIL):
                return 400, {"type": "urn:ietf:params:jmap:error:unknownCapability", "status": 400,
                             "detail": capability}
        results: dict[str, tuple[str, dict]] = {}
        responses = []
        for name, args, call_id in request.get("methodCalls") or []:
            try:
                if JMAP_MAIL not in using:
                    raise _MethodError("unknownMethod", f"{name} needs {JMAP_MAIL} in using")
                if args.get("accountId") != _account_id(user):
                    raise _MethodError("accountNotFound", str(args.get("accountId")))
                args = _resolve_refs(args, results)
                handler = {"Email/query": self._query, "Email/get": self._get, "Email/set": self._set}.get(name)
                if handler is None:
                    raise _MethodError("unknownMethod", name)
                response = (name, handler(user, args))
            except _MethodError as exc:
                response = ("error", {"type": exc.type, "description": exc.description})
            results[call_id] = response
            responses.append([response[0], response[1], call_id])
        return 200, {"methodResponses": responses, "sessionState": "0"}

    def _box(self, user: str) -> mailbox.Maildir:
        return mailbox.Maildir(str(self.maildir(user)), factory=None, create=False)

    def _messages(self, user: str) -> dict[str, email.message.EmailMessage]:
        try:
            box = self._box(user)
            return {key: email.message_from_bytes(box.get_bytes(key), policy=email.policy.default)
                    for key in box.iterkeys()}
        except (FileNotFoundError, mailbox.NoSuchMailboxError):
            return {}

    def _query(self, user: str, args: dict) -> dict:
        condition = args.get("filter") or {}
        unknown = set(condition) - {"header"}
        if unknown:
            raise _MethodError("unsupportedFilter", ", ".join(sorted(unknown)))
        ids = []
        for key, message in self._messages(user).items():
            if "header" in condition and not _header_matches(message, condition["header"]):
                continue
            ids.append(key)
        if self.query_blind:
            ids = []
        return {"accountId": args["accountId"], "ids": ids, "position": 0, "total": len(ids),
                "queryState": "0", "canCalculateChanges": False}

    def _get(self, user: str, args: dict) -> dict:
        messages = self._messages(user)
        properties = args.get("properties") or ["id", "messageId", "subject"]
        found, not_found = [], []
        for key in args.get("ids") or []:
            if key not in messages:
                not_found.append(key)
                continue
            message = messages[key]
            item: dict[str, t.Any] = {"id": key}
            for prop in properties:
                if prop == "messageId":
                    item[prop] = [m.strip().strip("<>") for m in str(message.get("Message-ID", "")).split()] or None
                elif prop == "subject":
                    item[prop] = message.get("Subject")
                elif prop == "headers":
                    item[prop] = [{"name": k, "value": str(v)} for k, v in message.items()]
                elif prop != "id":
                    raise _MethodError("invalidArguments", f"unsupported property {prop}")
            found.append(item)
        return {"accountId": args["accountId"], "state": "0", "list": found, "notFound": not_found}

    def _set(self, user: str, args: dict) -> dict:
        if args.get("create") or args.get("update"):
            raise _MethodError("invalidArguments", "this test server only destroys")
        box = self._box(user)
        destroyed, not_destroyed = [], {}
        for key in args.get("destroy") or []:
            if self.refuse_destroy:
                not_destroyed[key] = {"type": "forbidden"}
                continue
            try:
                box.remove(key)
                destroyed.append(key)
            except KeyError:
                not_destroyed[key] = {"type": "notFound"}
        return {"accountId": args["accountId"], "oldState": "0", "newState": "1", "destroyed": destroyed,
                "notDestroyed": not_destroyed or None}


class _MethodError(Exception):
    def __init__(self, type_: str, description: str):
        super().__init__(description)
        self.type = type_
        self.description = description


def _account_id(user: str) -> str:
    return "a" + base64.b32encode(user.encode()).decode().rstrip("=").lower()[:12]


def _header_matches(message: email.message.Message, condition: list) -> bool:
    """RFC 8621 4.4.1 header filter: the header exists and (with a value) contains it."""
    values = message.get_all(condition[0]) or []
    if len(condition) < 2:
        return bool(values)
    return any(condition[1] in str(value) for value in values)


def _resolve_refs(args: dict, results: dict[str, tuple[str, dict]]) -> dict:
    """Resolve ``#name`` back-references (RFC 8620 3.7) for the ``/ids`` and ``/list/*/id`` paths."""
    resolved = {}
    for key, value in args.items():
        if not key.startswith("#"):
            resolved[key] = value
            continue
        source = results.get(value.get("resultOf"))
        if source is None or source[0] != value.get("name"):
            raise _MethodError("invalidResultReference", str(value))
        if value.get("path") == "/ids":
            resolved[key[1:]] = source[1].get("ids", [])
        elif value.get("path") == "/list/*/id":
            resolved[key[1:]] = [item["id"] for item in source[1].get("list", [])]
        else:
            raise _MethodError("invalidResultReference", f"unsupported path {value.get('path')}")
    return resolved


class _Handler(http.server.BaseHTTPRequestHandler):
    jmap: JmapMailServer

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        return

    def _user(self) -> str | None:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        try:
            user, password = base64.b64decode(header[6:]).decode().split(":", 1)
        except ValueError:
            return None
        return user if self.jmap.users.get(user) == password else None

    def _send(self, status: int, body: dict | None = None, headers: dict | None = None) -> None:
        payload = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):  # noqa: N802  pylint: disable=invalid-name
        self.jmap.requests.append({"method": "GET", "path": self.path})
        if self.path == "/.well-known/jmap":
            # Stalwart redirects the well-known URL to its session resource.
            self._send(307, headers={"Location": f"{self.jmap.url}/jmap/session"})
            return
        if self.path != "/jmap/session":
            self._send(404, {"type": "about:blank", "status": 404})
            return
        user = self._user()
        if user is None:
            self._send(401, {"type": "about:blank", "status": 401}, {"WWW-Authenticate": 'Basic realm="jmap"'})
            return
        self._send(200, self.jmap.session(user))

    def do_POST(self):  # noqa: N802  pylint: disable=invalid-name
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        user = self._user()
        if user is None:
            self._send(401, {"type": "about:blank", "status": 401}, {"WWW-Authenticate": 'Basic realm="jmap"'})
            return
        request = read_jmap_post(self, body)
        if request is None:
            return
        self.jmap.requests.append({"method": "POST", "path": self.path, "body": request})
        status, response = self.jmap.handle(user, request)
        self._send(status, response)
