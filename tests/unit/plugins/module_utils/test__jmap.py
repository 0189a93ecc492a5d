# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

import base64
import gzip
import json

import pytest

from ansible_collections.openova.stalwart.plugins.module_utils import _jmap, _stalwart_schema


class FakeStalwart:
    """Just enough JMAP (session, query/get/set, back-references, createdIds) to exercise the client and reconciler."""

    def __init__(self, max_get=500, max_set=500, max_calls=16, singletons=("x:SystemSettings",)):
        self.limits = {"maxObjectsInGet": max_get, "maxObjectsInSet": max_set, "maxCallsInRequest": max_calls}
        self.store = {name: {"singleton": {"defaultHostname": "localhost"}} for name in singletons}
        self.next_id = 0
        self.requests = []
        self.set_calls = []
        self.faults = []  # statuses or exceptions to produce, one per request

    def __call__(self, method, url, body, headers, timeout):
        self.requests.append((method, url))
        if self.faults:
            fault = self.faults.pop(0)
            if isinstance(fault, Exception):
                raise fault
            return fault, b"{}", {}
        user, _sep, password = base64.b64decode(headers["Authorization"][6:]).decode().partition(":")
        if (user, password) != ("admin", "pw"):
            return 401, b"", {}
        if method == "GET":
            assert url == "http://stalwart:8080/jmap/session"
            return 200, json.dumps({"capabilities": {"urn:ietf:params:jmap:core": self.limits, "urn:stalwart:jmap": {}},
                                    "apiUrl": "https://public.example/jmap/"}).encode(), {}
        assert url == "http://stalwart:8080/jmap/", url
        request = json.loads(body)
        assert request["using"] == ["urn:ietf:params:jmap:core", "urn:stalwart:jmap"]
        assert len(request["methodCalls"]) <= self.limits["maxCallsInRequest"]
        created = dict(request.get("createdIds") or {})
        responses = []
        for name, args, tag in request["methodCalls"]:
            obj, verb = name.rsplit("/", 1)
            bucket = self.store.setdefault(obj, {})
            if "#ids" in args:
                ref = args.pop("#ids")
                args["ids"] = next(r[1]["ids"] for r in responses if r[2] == ref["resultOf"])
            if verb == "query":
                ids = sorted(bucket)
                page = ids[args["position"]:args["position"] + min(args["limit"], self.limits["maxObjectsInGet"])]
                responses.append([name, {"ids": page, "total": len(ids), "position": args["position"]}, tag])
            elif verb == "get":
                responses.append([name, {"list": [dict(bucket[i], id=i) for i in args["ids"] if i in bucket]}, tag])
            else:
                self.set_calls.append((obj, json.loads(json.dumps(args))))
                assert sum(len(v) for v in args.values()) <= self.limits["maxObjectsInSet"]
                result = {"created": {}, "updated": {}, "destroyed": [], "notCreated": {}}
                for cid, value in (args.get("create") or {}).items():
                    if value.get("reject"):
                        result["notCreated"][cid] = {"type": "invalidProperties", "properties": ["reject"]}
                        continue
                    self.next_id += 1
                    new_id = f"id{self.next_id:04d}"
                    bucket[new_id] = {k: (created.get(v[1:], v) if isinstance(v, str) and v.startswith("#") else v)
                                      for k, v in value.items()}
                    created[cid] = new_id
                    result["created"][cid] = {"id": new_id}
                for object_id, patch in (args.get("update") or {}).items():
                    bucket[object_id].update({k: (created.get(v[1:], v) if isinstance(v, str) and v.startswith("#") else v)
                                              for k, v in patch.items()})
                    result["updated"][object_id] = None
                for object_id in args.get("destroy") or []:
                    del bucket[object_id]
                    result["destroyed"].append(object_id)
                responses.append([name, result, tag])
        return 200, json.dumps({"methodResponses": responses, "createdIds": created}).encode(), {}


def client(fake, **kwargs):
    return _jmap.Client("http://stalwart:8080", "admin", kwargs.pop("password", "pw"), fake, backoff=0, **kwargs)


def domains(*names, extra=None):
    return {"@type": "upsert", "object": "Domain", "matchOn": ["name"],
            "value": {f"d_{n.replace('.', '_')}": dict({"name": n}, **(extra or {})) for n in names}}


def dkim(domain, selector):
    return {"@type": "upsert", "object": "DkimSignature", "matchOn": ["domainId", "selector"],
            "value": {f"k_{selector}": {"@type": "Dkim1RsaSha256", "domainId": f"#d_{domain.replace('.', '_')}", "selector": selector}}}


# ------------------------------------------------------------------ pure helpers


@pytest.mark.parametrize("desired, live, expected", [
    ({"a": True}, {"a": True}, True),
    ({"a": True}, {"a": True, "b": True}, False),            # sets compare exactly
    ({}, {"10.0.0.0/8": True}, False),                       # an empty set empties it
    ({"count": 1}, {"count": 1, "period": 2}, True),          # objects compare on the keys the plan sets
    ({"@type": "S3", "bucket": "b"}, {"@type": "Default"}, False),
    ({"@type": "S3", "bucket": "b"}, {"@type": "S3", "bucket": "b", "timeout": 30000}, True),
    ({"0": {"@type": "Password", "secret": {"@env": "X"}}}, {"0": {"@type": "Password", "secret": "****", "credentialId": "1"}}, True),
    ({"0": {"x": 1}}, {"0": {"x": 1}, "1": {"x": 2}}, False),  # object lists compare their members exactly
    ("plain", "****", True),                                 # masked secrets are never compared
    (True, 1, False),
    (1, 1.0, True),
    ("a", None, False),
    ({"rate": {"count": 1, "limit": None}}, {"rate": {"count": 1}}, True),  # an absent property reads as null
    ({"rate": {"count": 1}}, {}, False),
])
def test_same(desired, live, expected):
    assert _jmap.same(desired, live) is expected


def test_mask_keeps_references_and_hides_values():
    value = {"authSecret": {"@type": "Value", "secret": "hunter2"}, "ref": {"@type": "EnvironmentVariable", "variableName": "X"},
             "list": [{"password": "p"}], "secret": {"@env": "SMOKE"}}
    masked = _jmap.mask(value)
    assert masked["authSecret"]["secret"] == _jmap.MASK and masked["list"][0]["password"] == _jmap.MASK
    assert masked["ref"] == value["ref"] and masked["secret"] == {"@env": "SMOKE"}
    assert "hunter2" not in json.dumps(masked)


def test_resolve_secrets_and_substitute():
    assert _jmap.resolve_secrets({"a": [{"s": {"@env": "S"}}]}, {"S": "v"}, "here") == {"a": [{"s": "v"}]}
    with pytest.raises(_jmap.JmapError, match="here/a: secret 'S' is not set"):
        _jmap.resolve_secrets({"a": {"@env": "S"}}, {}, "here")
    assert _jmap.substitute({"domainId": "#d", "set": {"#d": True, "#new": True}, "x": "#new"}, {"d": "id1"}) == {
        "domainId": "id1", "set": {"id1": True, "#new": True}, "x": "#new"}


# ------------------------------------------------------------------ client


def test_session_uses_only_the_path_of_api_url():
    fake = FakeStalwart(max_get=7, max_set=3, max_calls=5)
    c = client(fake)
    c.session()
    assert c.api_url == "http://stalwart:8080/jmap/" and (c.max_get, c.max_set, c.max_calls) == (7, 3, 5)


def test_http_errors_are_clear():
    with pytest.raises(_jmap.JmapError, match=r"authentication failed for user 'admin' .*HTTP 401"):
        client(FakeStalwart(), password="nope").session()
    fake = FakeStalwart()
    fake.faults = [403]
    with pytest.raises(_jmap.JmapError, match=r"not allowed to manage the server .*HTTP 403"):
        client(fake).session()
    fake.faults = [418]
    with pytest.raises(_jmap.JmapError, match="answered HTTP 418"):
        client(fake).session()


def test_bounded_retry_on_connection_errors_and_5xx():
    fake = FakeStalwart()
    fake.faults = [ConnectionRefusedError(111, "Connection refused")] * 3
    with pytest.raises(_jmap.JmapError, match="cannot reach http://stalwart:8080/jmap/session: .*Connection refused.*gave up after 3 attempts"):
        client(fake).session()
    assert len(fake.requests) == 3
    fake = FakeStalwart()
    fake.faults = [TimeoutError("timed out"), 503]
    client(fake).session()
    assert len(fake.requests) == 3


def test_a_write_is_sent_again_only_when_it_surely_did_not_arrive():
    import urllib.error  # pylint: disable=import-outside-toplevel

    calls = [["x:Domain/set", {"create": {"d": {"name": "a.example"}}}, "w0"]]
    # Refused (also as urllib wraps it), not resolved, HTTP 503: nothing was carried out, so send again.
    fake = FakeStalwart()
    fake.faults = [ConnectionRefusedError(111, "Connection refused"), urllib.error.URLError(ConnectionRefusedError(111, "x"))]
    c = client(fake)
    c.session()
    fake.faults = [ConnectionRefusedError(111, "Connection refused"), urllib.error.URLError(ConnectionRefusedError(111, "x"))]
    c.call(calls, write=True)
    assert len(fake.store["x:Domain"]) == 1
    for fault in (_jmap.NotSent("mail.example does not resolve"), 503):
        fake.faults = [fault]
        c.call([["x:Domain/set", {"create": {"d": {"name": f"{fault}.example"}}}, "w0"]], write=True)
    assert len(fake.store["x:Domain"]) == 3
    # Sent, and no answer (or a gateway's 502/504): never sent twice.
    for fault in (TimeoutError("timed out"), ConnectionResetError(104, "reset"), 502, 504):
        fake.faults = [fault]
        before = len(fake.requests)
        with pytest.raises(_jmap.ReplyLost, match="http://stalwart:8080/jmap/"):
            c.call(calls, write=True)
        assert len(fake.requests) == before + 1
    # A read is retried whatever happened.
    fake.faults = [TimeoutError("timed out"), 502]
    c.call([["x:Domain/get", {"ids": []}, "r0"]])


def test_apply_reads_again_after_a_lost_reply_and_writes_only_what_is_missing():
    fake = FakeStalwart()
    lost = []

    def transport(method, url, body, headers, timeout):
        answer = fake(method, url, body, headers, timeout)
        if body and b"/set" in body and not lost:
            lost.append(body)
            raise TimeoutError("timed out")  # carried out, answer lost
        return answer

    plan = [domains("a.example", "b.example"), dkim("a.example", "s1")]
    result = _jmap.apply(client(transport), plan)
    assert lost and result["changed"] is True
    assert sorted(d["name"] for d in fake.store["x:Domain"].values()) == ["a.example", "b.example"]
    assert len(fake.store["x:DkimSignature"]) == 1
    assert _jmap.apply(client(fake), plan)["changed"] is False


def test_not_stalwart():
    def transport(method, url, body, headers, timeout):
        return 200, json.dumps({"capabilities": {"urn:ietf:params:jmap:core": {}}, "apiUrl": "/jmap/"}).encode(), {}
    with pytest.raises(_jmap.JmapError, match="urn:stalwart:jmap"):
        client(transport).session()

    def garbage(method, url, body, headers, timeout):
        return 200, b"<html>", {}
    with pytest.raises(_jmap.JmapError, match="session is not JSON"):
        client(garbage).session()
    with pytest.raises(_jmap.JmapError, match="url: 'stalwart' is not an absolute"):
        _jmap.Client("stalwart", "a", "b", garbage)


# ------------------------------------------------------------------ reconciler


def test_create_then_converged_then_one_property():
    fake = FakeStalwart()
    plan = [domains("a.example", "b.example"), dkim("a.example", "s1"),
            {"@type": "update", "object": "SystemSettings", "value": {"defaultHostname": "mail.a.example", "defaultDomainId": "#d_a_example"}}]
    first = _jmap.apply(client(fake), plan)
    assert first["changed"] is True and first["set_calls"] == 3
    assert first["changes"]["Domain"] == {"create": 2, "update": 0, "destroy": 0}
    domain_ids = {v["name"]: k for k, v in fake.store["x:Domain"].items()}
    assert fake.store["x:SystemSettings"]["singleton"]["defaultDomainId"] == domain_ids["a.example"]
    assert next(iter(fake.store["x:DkimSignature"].values()))["domainId"] == domain_ids["a.example"]

    fake.set_calls.clear()
    second = _jmap.apply(client(fake), plan)
    assert second["changed"] is False and fake.set_calls == [] and second["set_calls"] == 0
    assert second["requests"] == 2  # session + one batched read

    plan[0] = domains("a.example", "b.example", extra={"description": "x"})
    third = _jmap.apply(client(fake), plan)
    assert third["changes"] == {"Domain": {"create": 0, "update": 2, "destroy": 0}}
    assert fake.set_calls == [("x:Domain", {"update": {domain_ids["a.example"]: {"description": "x"},
                                                       domain_ids["b.example"]: {"description": "x"}}})]
    assert third["diff"]["before"]["Domain name=a.example"] == {"description": None}
    assert third["diff"]["after"]["Domain name=a.example"] == {"description": "x"}


def test_check_mode_reads_but_never_writes():
    fake = FakeStalwart()
    result = _jmap.apply(client(fake), [domains("a.example")], check_mode=True)
    assert result["changed"] is True and fake.set_calls == [] and not fake.store.get("x:Domain")


def test_reads_page_and_writes_batch_within_server_limits():
    fake = FakeStalwart(max_get=3, max_set=4, max_calls=4)
    names = [f"d{n}.example" for n in range(10)]
    _jmap.apply(client(fake), [domains(*names)])
    assert [len(call[1]["create"]) for call in fake.set_calls] == [4, 4, 2]
    fake.set_calls.clear()
    fake.requests.clear()
    again = _jmap.apply(client(fake), [domains(*names)])
    assert again["changed"] is False and fake.set_calls == []
    # session, first page (query + get), then the 3 remaining pages (6 calls) in 2 requests of at most 4 calls
    assert len(fake.requests) == 1 + 1 + 2


def test_variant_switch_sends_the_whole_object():
    fake = FakeStalwart(singletons=("x:BlobStore",))
    fake.store["x:BlobStore"]["singleton"] = {"@type": "Default"}
    _jmap.apply(client(fake), [{"@type": "update", "object": "BlobStore", "value": {"@type": "S3", "bucket": "b"}}])
    assert fake.set_calls == [("x:BlobStore", {"update": {"singleton": {"@type": "S3", "bucket": "b"}}})]


def test_reconcile_deletes_only_unowned_objects_in_scope():
    fake = FakeStalwart()
    _jmap.apply(client(fake), [domains("a.example", "b.example"), dkim("a.example", "old"), dkim("a.example", "new"),
                               dkim("b.example", "other")])
    ids = {v["name"]: k for k, v in fake.store["x:Domain"].items()}
    result = _jmap.apply(client(fake), [domains("a.example", "b.example"), dkim("a.example", "new")],
                         reconcile=[{"object": "DkimSignature", "scope": {"domainId": ids["a.example"]}}])
    assert result["changes"] == {"DkimSignature": {"create": 0, "update": 0, "destroy": 1}}
    assert sorted(v["selector"] for v in fake.store["x:DkimSignature"].values()) == ["new", "other"]


def test_set_errors_name_the_object():
    fake = FakeStalwart()
    with pytest.raises(_jmap.JmapError, match=r"Domain name=a.example: create rejected: invalidProperties \(properties: reject\)"):
        _jmap.apply(client(fake), [domains("a.example", extra={"reject": True})])


@pytest.mark.parametrize("op, message", [
    ({"@type": "create", "object": "Domain", "value": {}}, "operation 'create' is not supported"),
    ({"@type": "upsert", "object": "Domain", "value": {"d": {"name": "x"}}}, "needs matchOn"),
    ({"@type": "upsert", "object": "Domain", "matchOn": ["name"], "value": {"d": {}}}, "lacks matchOn property 'name'"),
    ({"@type": "update", "object": "Domain", "id": "id1", "value": {}}, "update of Domain by id is not supported"),
    ({"@type": "update", "value": {}}, "'object' is missing"),
    ({"@type": "upsert", "object": "Domain", "matchOn": ["name"], "value": {"a": {"name": "x"}, "b": {"name": "x"}}},
     "objects 'a' and 'b' have the same matchOn values"),
    ({"@type": "upsert", "object": "DkimSignature", "matchOn": ["selector"], "value": {"k": {"selector": "s", "domainId": "#none"}}},
     "refers to #none"),
])
def test_bad_plans_fail_before_any_write(op, message):
    fake = FakeStalwart()
    with pytest.raises(_jmap.JmapError, match=message):
        _jmap.apply(client(fake), [op])
    assert fake.set_calls == []


TINY_SCHEMA = {
    "objects": {"x:Domain": {"type": "object"}, "x:SystemSettings": {"type": "singleton"}},
    "schemas": {"x:Domain": {"type": "single", "schemaName": "x:Domain"},
                "x:SystemSettings": {"type": "single", "schemaName": "x:SystemSettings"}},
    "fields": {"x:Domain": {"properties": {"name": {"type": {"type": "string"}, "update": "mutable"},
                                           "createdAt": {"type": {"type": "utcDateTime"}, "update": "serverSet"}}},
               "x:SystemSettings": {"properties": {"defaultHostname": {"type": {"type": "string"}, "update": "mutable"},
                                                   "mode": {"type": {"type": "enum", "enumName": "Mode"}, "update": "mutable"}}}},
    "enums": {"Mode": [{"name": "on"}, {"name": "off"}]},
}


def test_schema_is_fetched_gzipped_and_checks_every_change_before_writing():
    fake = FakeStalwart()
    inner = fake

    def transport(method, url, body, headers, timeout):
        if url.endswith("/api/schema"):
            return 200, gzip.compress(json.dumps(TINY_SCHEMA).encode()), {}
        return inner(method, url, body, headers, timeout)

    c = client(transport)
    schema = _stalwart_schema.Schema(c.schema())
    with pytest.raises(_jmap.JmapError, match=r"nothing was written: Domain name=a.example: createdAt: is set by the server.*"
                                              r"SystemSettings: mode: 'maybe' is not a value of enum Mode"):
        _jmap.apply(c, [domains("a.example", extra={"createdAt": "2026-01-01T00:00:00Z"}),
                        {"@type": "update", "object": "SystemSettings", "value": {"mode": "maybe"}}], schema=schema)
    with pytest.raises(_jmap.JmapError, match="plan operation #1: unknown object type 'Mailbox'"):
        _jmap.apply(c, [{"@type": "upsert", "object": "Mailbox", "matchOn": ["name"], "value": {"m": {"name": "x"}}}], schema=schema)
    assert fake.set_calls == []
    ok = _jmap.apply(c, [domains("a.example"), {"@type": "update", "object": "SystemSettings", "value": {"mode": "on"}}], schema=schema)
    assert ok["changed"] is True and len(fake.set_calls) == 2


def test_schema_not_served():
    def transport(method, url, body, headers, timeout):
        return (404, b"", {}) if url.endswith("/api/schema") else (200, b"[]", {})
    assert client(transport).schema() is None

    def wrong(method, url, body, headers, timeout):
        return 200, b"{}", {}
    with pytest.raises(_jmap.JmapError, match="is not a Stalwart registry schema"):
        client(wrong).schema()


# -------------------------------------------------------------- resolving_transport

class _Origin:
    """A loopback HTTP(S) server recording each request's Host header and SNI name."""

    def __init__(self, tmp_path, tls_name=None):
        import http.server  # pylint: disable=import-outside-toplevel
        import ssl  # pylint: disable=import-outside-toplevel
        import threading  # pylint: disable=import-outside-toplevel

        self.seen = []
        origin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                return

            def _answer(self):
                origin.seen.append((self.command, self.path, self.headers["Host"], origin.sni))
                if self.path == "/.well-known/jmap":
                    self.send_response(307)
                    self.send_header("Location", "/jmap/session")
                elif self.path == "/away":
                    self.send_response(302)
                    self.send_header("Location", "http://elsewhere.test/jmap/session")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            do_GET = do_POST = _answer  # noqa: N815

        self.sni = None
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.cert = None
        if tls_name:
            self.cert = tmp_path / "cert.pem"
            key = tmp_path / "key.pem"
            _self_signed(tls_name, self.cert, key)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self.cert), str(key))

            def _sni(_sock, name, _ctx):
                origin.sni = name
            context.sni_callback = _sni
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _self_signed(name, cert_path, key_path):
    import datetime  # pylint: disable=import-outside-toplevel

    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import ec  # pylint: disable=import-outside-toplevel

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))


def test_resolving_transport_connects_to_the_resolved_address_and_keeps_the_name(tmp_path):
    origin = _Origin(tmp_path)
    asked = []

    def resolve(host):
        asked.append(host)
        return {"stalwart.test": ["127.0.0.1"]}.get(host, [])

    try:
        send = _jmap.resolving_transport(resolve, True, None)
        status, body, _headers = send("GET", f"http://stalwart.test:{origin.port}/.well-known/jmap", None, {}, 5)
        assert (status, body) == (200, b"{}")
        host = f"stalwart.test:{origin.port}"
        assert [s[:3] for s in origin.seen] == [("GET", "/.well-known/jmap", host), ("GET", "/jmap/session", host)]
        assert asked == ["stalwart.test", "stalwart.test"]
        # A redirect to another host is handed back, not followed (the credentials stay here); so is one of a POST.
        assert send("GET", f"http://stalwart.test:{origin.port}/away", None, {}, 5)[0] == 302
        assert send("POST", f"http://stalwart.test:{origin.port}/.well-known/jmap", b"{}", {}, 5)[0] == 307
        with pytest.raises(OSError, match="nowhere.test does not resolve"):
            send("GET", f"http://nowhere.test:{origin.port}/", None, {}, 5)
    finally:
        origin.stop()


def test_resolving_transport_checks_the_certificate_against_the_name(tmp_path):
    origin = _Origin(tmp_path, tls_name="stalwart.test")
    try:
        send = _jmap.resolving_transport(lambda host: ["127.0.0.1"], True, str(origin.cert))
        assert send("GET", f"https://stalwart.test:{origin.port}/jmap/session", None, {}, 5)[0] == 200
        assert origin.seen[-1][2:] == (f"stalwart.test:{origin.port}", "stalwart.test")
        with pytest.raises(OSError, match="(?i)certificate"):
            send("GET", f"https://other.test:{origin.port}/jmap/session", None, {}, 5)
        unchecked = _jmap.resolving_transport(lambda host: ["127.0.0.1"], False, None)
        assert unchecked("GET", f"https://other.test:{origin.port}/jmap/session", None, {}, 5)[0] == 200
    finally:
        origin.stop()
