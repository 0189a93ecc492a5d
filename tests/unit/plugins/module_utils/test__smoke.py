# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

import email
import email.policy
import json
import smtplib
import socket
import ssl

import pytest

from ansible_collections.openova.stalwart.plugins.module_utils import _jmap, _smoke

BASE = {"host": "mail.example.org", "username": "smoke@example.org", "password": "s3cret"}


def params(**overrides):
    raw = dict(BASE)
    raw.update(overrides)
    return _smoke.build_params(raw)


class Clock:
    """A fake monotonic clock that sleep() advances."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


# -- options ----------------------------------------------------------------------------------------------------
def test_defaults():
    p = params()
    assert (p.smtp_security, p.smtp_port, p.imap_port) == ("tls", 465, 993)
    assert p.from_address == p.to_address == "smoke@example.org"
    assert p.jmap_url == "https://mail.example.org"
    assert p.require_dkim and p.cleanup and p.validate_certs
    assert (p.timeout, p.delivery_timeout) == (10.0, 60.0)


def test_starttls_defaults_to_587_and_explicit_ports_win():
    assert params(smtp_security="starttls").smtp_port == 587
    assert params(smtp_security="starttls", smtp_port=2587, imap_port=1993).smtp_port == 2587


def test_host_is_taken_from_url():
    p = params(host=None, url="https://Mail.Example.org:8443/base/")
    assert p.host == "mail.example.org"
    assert p.jmap_url == "https://Mail.Example.org:8443/base"
    assert params(host=None, url="https://[::1]:8443").host == "::1"


def test_jmap_off_and_explicit_addresses():
    p = params(jmap=False, from_address="Probe@Example.org", to_address="postmaster@example.org")
    assert p.jmap_url is None
    assert (p.from_address, p.to_address) == ("Probe@example.org", "postmaster@example.org")


@pytest.mark.parametrize("overrides, message", [
    ({"host": None}, "host: required unless url is given"),
    ({"host": "bad_host!"}, "host:"),
    ({"url": "mail.example.org"}, "url: expected an http(s) URL"),
    ({"smtp_security": "ssl"}, "smtp_security: expected one of tls, starttls"),
    ({"smtp_port": 0}, "smtp_port: port 0 is out of range"),
    ({"imap_port": "imaps"}, "imap_port: expected a port number"),
    ({"username": " "}, "username: the smoke-test account's login is required"),
    ({"password": ""}, "password: the smoke-test account's password is required"),
    ({"username": "smoke"}, "from_address: required when username is not an e-mail address"),
    ({"to_address": "nobody"}, "to_address: 'nobody' is not an e-mail address"),
    ({"timeout": -1}, "timeout: must be greater than 0"),
    ({"delivery_timeout": "soon"}, "delivery_timeout: expected a number of seconds"),
    ({"ca_path": "/nonexistent/ca.pem"}, "ca_path: '/nonexistent/ca.pem' is not a readable file"),
])
def test_bad_options_name_the_option(overrides, message):
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        params(**overrides)


# -- reasons and recording -------------------------------------------------------------------------------------
@pytest.mark.parametrize("exc, text", [
    (ConnectionRefusedError(111, "Connection refused"), "connection refused"),
    (TimeoutError("timed out"), "timed out"),
    (socket.gaierror(-2, "Name or service not known"), "cannot resolve host (Name or service not known)"),
    (smtplib.SMTPAuthenticationError(535, b"5.7.8 bad credentials"), "authentication rejected: 535 5.7.8 bad credentials"),
    (smtplib.SMTPRecipientsRefused({"a@example.org": (550, b"no such user")}), "recipient refused: a@example.org 550 no such user"),
    (smtplib.SMTPSenderRefused(553, b"not owned", "x@example.org"), "sender x@example.org refused: 553 not owned"),
    (smtplib.SMTPResponseException(554, b"go away"), "server replied 554 go away"),
    (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), "TLS error:"),
])
def test_describe(exc, text):
    assert _smoke.describe(exc).startswith(text)


def test_describe_certificate_failure():
    exc = ssl.SSLCertVerificationError(1, "certificate verify failed")
    exc.verify_message = "self-signed certificate in certificate chain"
    assert _smoke.describe(exc) == "TLS certificate verification failed: self-signed certificate in certificate chain"


def test_recorder_times_steps_and_names_the_failing_one():
    clock = Clock()
    rec = _smoke.Recorder(clock)
    with rec.step("smtp_connect", "host:465"):
        clock.sleep(0.5)
    with pytest.raises(_smoke.StepFailed) as info:
        with rec.step("smtp_auth"):
            clock.sleep(0.25)
            raise smtplib.SMTPAuthenticationError(535, b"nope")
    assert info.value.step == "smtp_auth" and str(info.value) == "smtp_auth: authentication rejected: 535 nope"
    assert rec.steps == [
        {"name": "smtp_connect", "ok": True, "seconds": 0.5, "detail": "host:465"},
        {"name": "smtp_auth", "ok": False, "seconds": 0.25, "detail": "authentication rejected: 535 nope"},
    ]
    assert rec.timings == {"smtp_connect": 0.5, "smtp_auth": 0.25}


def test_recorder_lets_programming_errors_through():
    rec = _smoke.Recorder()
    with pytest.raises(KeyError):
        with rec.step("imap_fetch"):
            raise KeyError("bug")
    assert rec.steps[0]["ok"] is False


def test_tls_context():
    strict = _smoke.tls_context(True, None)
    assert strict.verify_mode == ssl.CERT_REQUIRED and strict.check_hostname
    lax = _smoke.tls_context(False, "/ignored")
    assert lax.verify_mode == ssl.CERT_NONE and not lax.check_hostname
    assert strict.minimum_version == ssl.TLSVersion.TLSv1_2


# -- message and DKIM ------------------------------------------------------------------------------------------
def test_build_message():
    p = params(to_address="postmaster@example.org")
    message = _smoke.build_message(p, "abc123")
    assert message["Message-ID"] == "<smoke-abc123@example.org>"
    assert _smoke.message_id_core("abc123", "example.org") == "smoke-abc123@example.org"
    assert (message["From"], message["To"]) == ("smoke@example.org", "postmaster@example.org")
    assert "abc123" in message["Subject"] and message["Date"]


FOLDED = (b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=Example.org;\r\n"
          b" s=s1-rsa; h=from:to; bh=abc=;\r\n b=def\r\n"
          b"DKIM-Signature: v=1; a=ed25519-sha256; d=example.org; s=s1-ed25519; bh=x; b=y\r\n"
          b"From: smoke@example.org\r\n\r\n")


def test_dkim_signatures_parse_folded_headers():
    headers = email.message_from_bytes(FOLDED, policy=email.policy.compat32)
    assert _smoke.dkim_signatures(headers) == [
        {"domain": "example.org", "selector": "s1-rsa", "algorithm": "rsa-sha256"},
        {"domain": "example.org", "selector": "s1-ed25519", "algorithm": "ed25519-sha256"},
    ]
    assert _smoke.dkim_signatures(email.message_from_bytes(b"From: a@b.c\r\n\r\n")) == []


@pytest.mark.parametrize("signed_by, from_address, required, passed, text", [
    (["example.org"], "smoke@example.org", True, True, "signed by s1._domainkey.example.org (rsa-sha256)"),
    (["example.org"], "smoke@mail.example.org", True, True, "signed by"),
    (["mail.example.org"], "smoke@example.org", True, False, "none aligned with example.org (d=mail.example.org)"),
    (["other.test"], "smoke@example.org", False, True, "(not required)"),
    ([], "smoke@example.org", True, False, "no DKIM-Signature header"),
    ([], "smoke@example.org", False, True, "no DKIM-Signature header on the delivered message (not required)"),
])
def test_dkim_verdict(signed_by, from_address, required, passed, text):
    signatures = [{"domain": d, "selector": "s1", "algorithm": "rsa-sha256"} for d in signed_by]
    ok, reason = _smoke.dkim_verdict(signatures, from_address, required)
    assert ok is passed and text in reason


def test_dkim_verdict_with_expected_selectors():
    signatures = [{"domain": "example.org", "selector": "s1-rsa", "algorithm": "rsa-sha256"},
                  {"domain": "other.test", "selector": "s1-ed25519", "algorithm": "ed25519-sha256"}]
    assert _smoke.dkim_verdict(signatures, "a@example.org", True, ("s1-rsa",))[0] is True
    ok, reason = _smoke.dkim_verdict(signatures, "a@example.org", False, ("s1-rsa", "s1-ed25519"))
    assert ok is False and reason == "no aligned DKIM-Signature by selector s1-ed25519 (found: s1-rsa)"
    assert _smoke.dkim_verdict([], "a@example.org", False, ("s1-rsa",))[1].endswith("(found: none)")


def test_dkim_selectors_option():
    assert params(dkim_selectors=["S1-RSA", "s1-ed25519"]).dkim_selectors == ("s1-rsa", "s1-ed25519")
    assert params().dkim_selectors == ()
    with pytest.raises(ValueError, match="^dkim_selectors: 'bad selector' is not a valid DKIM selector"):
        params(dkim_selectors=["bad selector"])


# -- JMAP ------------------------------------------------------------------------------------------------------
class FakeJmap:
    """A transport for _jmap.Client: a mail session and scripted Email/* answers."""

    def __init__(self, session=None, status=200):
        self.session = session or {
            "capabilities": {_smoke.JMAP_CORE: {}, _smoke.JMAP_MAIL: {}},
            "primaryAccounts": {_smoke.JMAP_MAIL: "acc1"}, "apiUrl": "https://public.example/jmap/",
        }
        self.status = status
        self.answers = []
        self.sent = []

    def __call__(self, method, url, body, headers, timeout):
        self.sent.append((method, url, json.loads(body) if body else None, headers))
        if self.status != 200:
            return self.status, b"", {}
        if method == "GET":
            return 200, json.dumps(self.session).encode(), {}
        request = json.loads(body)
        responses = []
        for name, _args, tag in request["methodCalls"]:
            answer = self.answers.pop(0) if self.answers else {}
            responses.append([answer.pop("@name", name), answer, tag])
        return 200, json.dumps({"methodResponses": responses}).encode(), {}


def client(fake, url="https://mail.example.org"):
    return _smoke.MailClient(url, "smoke@example.org", "s3cret", fake, retries=1)


def test_mail_client_session_uses_only_the_api_path():
    fake = FakeJmap()
    c = client(fake, "https://127.0.0.1:8443")
    c.session()
    assert c.account_id == "acc1" and c.api_url == "https://127.0.0.1:8443/jmap/"
    assert fake.sent[0][1] == "https://127.0.0.1:8443/jmap/session"
    assert fake.sent[0][3]["Authorization"].startswith("Basic ")
    c.results([["Email/query", {"accountId": "acc1"}, "q"]])
    assert fake.sent[1][2]["using"] == [_smoke.JMAP_CORE, _smoke.JMAP_MAIL]


def test_mail_client_session_without_mail_account():
    fake = FakeJmap(session={"capabilities": {_smoke.JMAP_CORE: {}}, "primaryAccounts": {}, "apiUrl": "/jmap/"})
    with pytest.raises(_jmap.JmapError, match="has no urn:ietf:params:jmap:mail account for smoke@example.org"):
        client(fake).session()


def test_mail_client_rejected_credentials():
    with pytest.raises(_jmap.JmapError, match=r"authentication failed .*\(HTTP 401\)"):
        client(FakeJmap(status=401)).session()


def test_mail_client_method_error():
    fake = FakeJmap()
    fake.answers = [{"@name": "error", "type": "unsupportedFilter", "description": "header"}]
    with pytest.raises(_jmap.JmapError, match="Email/query failed: unsupportedFilter: header"):
        client(fake).results([["Email/query", {}, "q"]])


def smoke_with(fake, **overrides):
    clock = Clock()
    p = params(delivery_timeout=2, **overrides)
    test = _smoke.SmokeTest(p, check_mode=False, jmap=_smoke.jmap_client(p, fake), sleep=clock.sleep, clock=clock)
    test.token = "tok"
    test.message_id = "smoke-tok@example.org"
    test.mail_jmap.session()
    return test


def test_jmap_query_polls_until_the_message_is_indexed():
    fake = FakeJmap()
    fake.answers = [{"ids": []}, {"list": []},
                    {"ids": ["e1"]}, {"list": [{"id": "e1", "messageId": ["smoke-tok@example.org"]}]}]
    test = smoke_with(fake)
    test._jmap_query()  # pylint: disable=protected-access
    assert test.result["jmap_email_id"] == "e1"
    query = fake.sent[1][2]["methodCalls"][0][1]
    assert query["filter"] == {"header": ["Message-ID", "smoke-tok@example.org"]} and query["accountId"] == "acc1"
    assert test.rec.steps[-1]["ok"] and test.rec.steps[-1]["seconds"] == _smoke.POLL_INTERVAL


def test_jmap_query_gives_up_after_the_delivery_timeout():
    fake = FakeJmap()
    test = smoke_with(fake)
    with pytest.raises(_smoke.StepFailed, match="jmap_query: Email/query did not find the message"):
        test._jmap_query()  # pylint: disable=protected-access
    assert test.rec.steps[-1]["seconds"] >= 2


def test_jmap_destroy_reports_not_destroyed():
    fake = FakeJmap()
    fake.answers = [{"destroyed": [], "notDestroyed": {"e1": {"type": "forbidden"}}}]
    test = smoke_with(fake)
    with pytest.raises(_smoke._Abort, match="did not destroy e1: forbidden"):  # pylint: disable=protected-access
        test._jmap_destroy("e1")  # pylint: disable=protected-access


# -- a whole run against nothing -------------------------------------------------------------------------------
def test_run_stops_at_the_first_failed_step():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    p = params(host="127.0.0.1", smtp_port=port, jmap=False, timeout=2)
    result = _smoke.SmokeTest(p, check_mode=False).run()
    assert result["failed_step"] == "smtp_connect"
    assert result["msg"] == "smoke test failed at step smtp_connect: connection refused"
    assert [s["name"] for s in result["steps"]] == ["smtp_connect"]
    assert result["changed"] is False and result["deleted"] is False and result["message_id"] is None
    assert "s3cret" not in json.dumps(result)


def test_resolve_gives_the_addresses_and_each_is_tried_in_turn():
    """With ``resolve``, the host name is looked up there (not in the system resolver) and the next address is tried
    when one refuses; the host name itself never reaches the socket layer."""
    with socket.socket() as listener, socket.socket() as closed:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        closed.bind(("127.0.0.2", 0))
        port = listener.getsockname()[1]
        asked = []

        def resolve(host):
            asked.append(host)
            return ["127.0.0.2", "127.0.0.1"]

        test = _smoke.SmokeTest(params(host="mail.invalid", smtp_port=port, jmap=False, timeout=2), False, resolve=resolve)
        with test._connect(port) as sock:  # pylint: disable=protected-access
            assert sock.getpeername() == ("127.0.0.1", port)
        assert asked == ["mail.invalid"]


def test_a_name_the_resolvers_do_not_know_fails_the_connect_step():
    result = _smoke.SmokeTest(params(jmap=False), False, resolve=lambda host: []).run()
    assert result["failed_step"] == "smtp_connect"
    assert result["msg"] == "smoke test failed at step smtp_connect: mail.example.org does not resolve on the given resolvers"
