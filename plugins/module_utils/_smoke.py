# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""End-to-end mail smoke test: submit over SMTP (TLS or STARTTLS, AUTH), read back over IMAPS by Message-ID
and over JMAP (Email/query), check the DKIM-Signature, delete the message. Every step is timed and a failure
names its step and the reason."""

from __future__ import annotations

import contextlib
import dataclasses
import email.message
import email.parser
import email.policy
import email.utils
import imaplib
import json
import os
import re
import smtplib
import socket
import ssl
import time
import typing as t
import uuid
from urllib.parse import urljoin, urlsplit

from ansible_collections.openova.stalwart.plugins.module_utils import _jmap, _validate

JMAP_CORE = "urn:ietf:params:jmap:core"
JMAP_MAIL = "urn:ietf:params:jmap:mail"
DEFAULT_PORTS = {"tls": 465, "starttls": 587}
POLL_INTERVAL = 0.25


class StepFailed(Exception):
    """A smoke-test step failed; ``step`` names it, the message says why."""

    def __init__(self, step: str, reason: str):
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason


class _Abort(Exception):
    """Raised inside a step to fail it with a plain reason."""


@dataclasses.dataclass(frozen=True)
class SmokeParams:
    host: str
    smtp_port: int
    smtp_security: str
    imap_port: int
    username: str
    password: str
    from_address: str
    to_address: str
    validate_certs: bool
    ca_path: str | None
    timeout: float
    delivery_timeout: float
    jmap_url: str | None
    require_dkim: bool
    dkim_selectors: tuple[str, ...]
    cleanup: bool


def build_params(raw: t.Mapping[str, t.Any]) -> SmokeParams:
    """Check module options (raising ``ValueError`` naming the option) and fill in derived defaults."""
    url = raw.get("url")
    if url is not None:
        url = _http_url(url, "url")
    host = raw.get("host")
    if not host:
        if not url:
            raise ValueError("host: required unless url is given (the host is then taken from url)")
        host = url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[0].strip("[]")
    host = _host(host, "host")
    security = raw.get("smtp_security") or "tls"
    if security not in DEFAULT_PORTS:
        raise ValueError(f"smtp_security: expected one of {', '.join(DEFAULT_PORTS)}, got {security!r}")
    smtp_port = _validate.port(raw["smtp_port"] if raw.get("smtp_port") is not None else DEFAULT_PORTS[security],
                               "smtp_port")
    imap_port = _validate.port(raw["imap_port"] if raw.get("imap_port") is not None else 993, "imap_port")
    username = raw.get("username")
    if not isinstance(username, str) or not username.strip():
        raise ValueError("username: the smoke-test account's login is required")
    password = raw.get("password")
    if not isinstance(password, str) or not password:
        raise ValueError("password: the smoke-test account's password is required")
    from_address = raw.get("from_address")
    if not from_address:
        if "@" not in username:
            raise ValueError("from_address: required when username is not an e-mail address")
        from_address = username
    from_address = _validate.email(from_address, "from_address")
    to_address = _validate.email(raw.get("to_address") or from_address, "to_address")
    timeout = _positive(raw.get("timeout", 10), "timeout")
    delivery_timeout = _positive(raw.get("delivery_timeout", 60), "delivery_timeout")
    ca_path = raw.get("ca_path")
    if ca_path and not os.path.isfile(ca_path):
        raise ValueError(f"ca_path: {ca_path!r} is not a readable file")
    selectors = raw.get("dkim_selectors") or []
    if not isinstance(selectors, (list, tuple)):
        raise ValueError(f"dkim_selectors: expected a list of DKIM selectors, got {selectors!r}")
    dkim_selectors = tuple(_validate.selector(sel, "dkim_selectors") for sel in selectors)
    jmap_url = None
    if raw.get("jmap", True):
        jmap_url = (url or f"https://{host}").rstrip("/")
    return SmokeParams(
        host=host, smtp_port=smtp_port, smtp_security=security, imap_port=imap_port, username=username,
        password=password, from_address=from_address, to_address=to_address,
        validate_certs=bool(raw.get("validate_certs", True)), ca_path=ca_path or None, timeout=timeout,
        delivery_timeout=delivery_timeout, jmap_url=jmap_url, require_dkim=bool(raw.get("require_dkim", True)),
        cleanup=bool(raw.get("cleanup", True)), dkim_selectors=dkim_selectors,
    )


def _host(value: str, option: str) -> str:
    try:
        return _validate.ip_address(value, option)
    except ValueError:
        return _validate.domain(value, option, min_labels=1)


def _http_url(value: t.Any, option: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"https?://[^/\s]+(/\S*)?", value):
        raise ValueError(f"{option}: expected an http(s) URL such as https://mail.example.org, got {value!r}")
    return value


def _positive(value: t.Any, option: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{option}: expected a number of seconds, got {value!r}") from None
    if number <= 0:
        raise ValueError(f"{option}: must be greater than 0, got {value!r}")
    return number


# -- reasons --------------------------------------------------------------------------------------------------
def describe(exc: BaseException) -> str:
    """One line saying why a network operation failed, without secrets."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed: {getattr(exc, 'verify_message', None) or exc}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {getattr(exc, 'reason', None) or exc}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"authentication rejected: {exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "recipient refused: " + "; ".join(f"{rcpt} {code} {_text(msg)}"
                                                 for rcpt, (code, msg) in exc.recipients.items())
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return f"sender {exc.sender} refused: {exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"server replied {exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"server closed the connection ({exc})"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host ({exc.strerror})"
    if isinstance(exc, imaplib.IMAP4.error):
        return f"IMAP error: {_text(exc.args[0]) if exc.args else exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _text(value: t.Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


# -- recording --------------------------------------------------------------------------------------------------
class Recorder:
    """Times each step and turns its exception into :class:`StepFailed`."""

    def __init__(self, clock: t.Callable[[], float] = time.monotonic):
        self.clock = clock
        self.steps: list[dict[str, t.Any]] = []

    @contextlib.contextmanager
    def step(self, name: str, detail: str = "") -> t.Iterator[dict[str, t.Any]]:
        record = {"name": name, "ok": False, "seconds": 0.0, "detail": detail}
        self.steps.append(record)
        start = self.clock()
        try:
            yield record
        except StepFailed:
            raise
        except _Abort as exc:
            record["detail"] = str(exc)
            raise StepFailed(name, str(exc)) from None
        except (OSError, smtplib.SMTPException, imaplib.IMAP4.error, ValueError, _jmap.JmapError) as exc:
            detail = record["detail"] = describe(exc)
            raise StepFailed(name, detail) from None
        else:
            record["ok"] = True
        finally:
            record["seconds"] = round(self.clock() - start, 3)

    @property
    def timings(self) -> dict[str, float]:
        return {s["name"]: s["seconds"] for s in self.steps}


def tls_context(validate_certs: bool, ca_path: str | None) -> ssl.SSLContext:
    """Client TLS context: system trust (or ``ca_path``), hostname checked unless validate_certs is off."""
    context = ssl.create_default_context(cafile=ca_path) if validate_certs else ssl.create_default_context()
    if not validate_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


# -- message -----------------------------------------------------------------------------------------------------
def build_message(params: SmokeParams, token: str) -> email.message.EmailMessage:
    """The probe message; its Message-ID carries ``token`` so it can be found again."""
    domain = params.from_address.rpartition("@")[2]
    message = email.message.EmailMessage()
    message["From"] = params.from_address
    message["To"] = params.to_address
    message["Subject"] = f"openova.stalwart smoke test {token}"
    message["Date"] = email.utils.formatdate(localtime=False)
    message["Message-ID"] = f"<{message_id_core(token, domain)}>"
    message["X-Openova-Smoke-Test"] = token
    message.set_content("Probe sent by openova.stalwart.mail_smoke_test; it deletes this message itself.\n")
    return message


def message_id_core(token: str, domain: str) -> str:
    """The Message-ID without angle brackets (what IMAP SEARCH and JMAP header filters match)."""
    return f"smoke-{token}@{domain}"


def dkim_signatures(headers: email.message.Message) -> list[dict[str, t.Any]]:
    """The tags that matter of every DKIM-Signature header: signing domain, selector, algorithm."""
    found = []
    for value in headers.get_all("DKIM-Signature") or []:
        tags = {}
        for part in re.sub(r"\s+", "", str(value)).split(";"):
            key, sep, val = part.partition("=")
            if sep:
                tags[key.lower()] = val
        found.append({"domain": tags.get("d", "").lower(), "selector": tags.get("s", ""),
                      "algorithm": tags.get("a", "")})
    return found


def dkim_verdict(signatures: list[dict[str, t.Any]], from_address: str, required: bool,
                 selectors: t.Sequence[str] = ()) -> tuple[bool, str]:
    """Whether the DKIM check passes: a signature whose d= aligns (relaxed, RFC 7489) with the From domain,
    and one by each of ``selectors`` when they are given (those are always required)."""
    from_domain = from_address.rpartition("@")[2].lower()
    aligned = [s for s in signatures if s["domain"] and
               (from_domain == s["domain"] or from_domain.endswith("." + s["domain"]))]
    found = {s["selector"].lower() for s in aligned}
    missing = [sel for sel in selectors if sel not in found]
    if missing:
        return False, (f"no aligned DKIM-Signature by selector {', '.join(missing)}"
                       f" (found: {', '.join(sorted(found)) or 'none'})")
    if aligned:
        names = ", ".join(f"{s['selector']}._domainkey.{s['domain']} ({s['algorithm']})" for s in aligned)
        return True, f"signed by {names}"
    if signatures:
        others = ", ".join(s["domain"] or "?" for s in signatures)
        reason = f"DKIM-Signature present but none aligned with {from_domain} (d={others})"
    else:
        reason = "no DKIM-Signature header on the delivered message"
    return (not required), reason + ("" if required else " (not required)")


# -- SMTP / IMAP on sockets we open ourselves, so connect and TLS are separate, timed steps -------------------
class _SMTP(smtplib.SMTP):
    def __init__(self, sock: socket.socket, host: str, local_hostname: str, timeout: float):
        self._prepared = sock
        super().__init__(local_hostname=local_hostname, timeout=timeout)
        self._host = host  # starttls() checks the certificate against it

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:  # pylint: disable=unused-argument
        return self._prepared


class _IMAP(imaplib.IMAP4):
    def __init__(self, sock: socket.socket, host: str, port: int, timeout: float):
        self._prepared = sock
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:  # pylint: disable=unused-argument
        return self._prepared


def _greeting(smtp: _SMTP, host: str, port: int) -> None:
    # connect() reads the greeting from the prepared socket.
    code, msg = smtp.connect(host, port)
    if code != 220:
        raise _Abort(f"unexpected greeting {code} {_text(msg)}")


def _imap_ok(response: tuple[str, list[t.Any]], what: str) -> list[t.Any]:
    status, data = response
    if status != "OK":
        raise _Abort(f"{what} failed: {status} {_text(data[0]) if data else ''}".strip())
    return data


class MailClient(_jmap.Client):
    """The collection's JMAP client (HTTP, Basic auth, retries, error messages) speaking RFC 8621 mail for one
    account instead of Stalwart's management objects."""

    account_id = ""

    def session(self) -> dict[str, t.Any]:
        url = urljoin(self.base, "jmap/session")
        session = self._json(self._http("GET", url), "the JMAP session")
        if not isinstance(session, dict):
            raise _jmap.JmapError(f"{url} is not a JMAP session")
        account = (session.get("primaryAccounts") or {}).get(JMAP_MAIL)
        if JMAP_MAIL not in (session.get("capabilities") or {}) or not account:
            raise _jmap.JmapError(f"the JMAP session at {url} has no {JMAP_MAIL} account for {self.username}")
        if not session.get("apiUrl"):
            raise _jmap.JmapError(f"the JMAP session at {url} has no apiUrl")
        # As for management: only the path of apiUrl counts, the advertised host may not be reachable from here.
        self.api_url = urljoin(self.base, urlsplit(session["apiUrl"]).path.lstrip("/"))
        self.account_id = str(account)
        return session

    def call(self, calls: list[list[t.Any]], created_ids: dict[str, t.Any] | None = None,
             write: bool = False) -> tuple[list[list[t.Any]], dict[str, t.Any]]:
        if self.api_url is None:
            self.session()
        body = json.dumps({"using": [JMAP_CORE, JMAP_MAIL], "methodCalls": calls}).encode("utf-8")
        data = self._json(self._http("POST", t.cast(str, self.api_url), body, write=write), "the JMAP response")
        if not isinstance(data, dict) or not isinstance(data.get("methodResponses"), list):
            detail = data.get("type") if isinstance(data, dict) else None
            raise _jmap.JmapError(f"JMAP request rejected: {detail or 'no methodResponses'}")
        return data["methodResponses"], data.get("createdIds") or {}

    def results(self, calls: list[list[t.Any]]) -> dict[str, dict[str, t.Any]]:
        """Send ``calls`` (``[name, args, tag]``) and return each result by tag; a method error raises."""
        names = {call[2]: call[0] for call in calls}
        return {response[2]: _jmap.method_result(response, names.get(response[2], response[0]))
                for response in self.call(calls)[0]}


class SmokeTest:
    """One run. ``jmap`` is the JMAP client (None without JMAP); ``resolve`` gives the mail host's addresses
    (None: the system resolver); ``sleep``/``clock`` are for tests."""

    def __init__(self, params: SmokeParams, check_mode: bool, jmap: MailClient | None = None,
                 resolve: t.Callable[[str], list[str]] | None = None,
                 sleep: t.Callable[[float], None] = time.sleep, clock: t.Callable[[], float] = time.monotonic):
        self.params = params
        self.check_mode = check_mode
        self.jmap = jmap
        self.resolve = resolve
        self.sleep = sleep
        self.clock = clock
        self.rec = Recorder(clock)
        self.context = tls_context(params.validate_certs, params.ca_path)
        self.token = uuid.uuid4().hex
        self.message_id = message_id_core(self.token, params.from_address.rpartition("@")[2])
        self.result: dict[str, t.Any] = {
            "changed": False, "message_id": None, "failed_step": None, "dkim_signatures": [],
            "jmap_email_id": None, "delivery_seconds": None, "deleted": False,
        }
        self._imap: _IMAP | None = None
        self._imap_uid: str | None = None
        self._submitted_at = 0.0
        self._imap_caps: set[str] = set()

    @property
    def imap(self) -> _IMAP:
        if self._imap is None:
            raise _Abort("no IMAP connection")
        return self._imap

    @property
    def mail_jmap(self) -> MailClient:
        if self.jmap is None:
            raise _Abort("JMAP is not enabled")
        return self.jmap

    # ---------------------------------------------------------------------------------------------------------
    def run(self) -> dict[str, t.Any]:
        """Run every step; the result has ``failed_step``/``msg`` set when one failed."""
        started = self.clock()
        try:
            self._smtp()
            self._imap_open()
            if self.jmap is not None:
                self._jmap_session()
            if not self.check_mode:
                self._read_back()
        except StepFailed as exc:
            self.result["failed_step"] = exc.step
            self.result["msg"] = f"smoke test failed at step {exc.step}: {exc.reason}"
        finally:
            self._close_imap()
        self.result["steps"] = self.rec.steps
        self.result["timings"] = self.rec.timings
        self.result["total_seconds"] = round(self.clock() - started, 3)
        if not self.result["failed_step"]:
            self.result["msg"] = ("connected and authenticated (check mode: nothing sent)" if self.check_mode else
                                  "message submitted, read back and deleted")
        return self.result

    def _connect(self, port: int) -> socket.socket:
        """A TCP connection to the mail host, through ``resolve`` when given (TLS still checks the host name)."""
        p = self.params
        if self.resolve is None:
            return socket.create_connection((p.host, port), timeout=p.timeout)
        addresses = self.resolve(p.host)
        if not addresses:
            raise _Abort(f"{p.host} does not resolve on the given resolvers")
        last: OSError | None = None
        for address in addresses:
            try:
                return socket.create_connection((address, port), timeout=p.timeout)
            except OSError as exc:  # the next address
                last = exc
        raise t.cast(OSError, last)

    # -- SMTP --------------------------------------------------------------------------------------------------
    def _smtp(self) -> None:
        p = self.params
        local_hostname = socket.gethostname() or "localhost"
        with self.rec.step("smtp_connect", f"{p.host}:{p.smtp_port}"):
            sock = self._connect(p.smtp_port)
        smtp = None
        try:
            if p.smtp_security == "tls":
                with self.rec.step("smtp_tls", "implicit TLS"):
                    sock = self.context.wrap_socket(sock, server_hostname=p.host)
                    smtp = _SMTP(sock, p.host, local_hostname, p.timeout)
                    _greeting(smtp, p.host, p.smtp_port)
            else:
                smtp = _SMTP(sock, p.host, local_hostname, p.timeout)
                with self.rec.step("smtp_tls", "STARTTLS"):
                    _greeting(smtp, p.host, p.smtp_port)
                    smtp.ehlo()
                    if not smtp.has_extn("starttls"):
                        raise _Abort("the server does not offer STARTTLS")
                    smtp.starttls(context=self.context)
            with self.rec.step("smtp_auth", p.username):
                smtp.ehlo()
                if not smtp.has_extn("auth"):
                    raise _Abort("the server offers no AUTH mechanism on this port")
                smtp.login(p.username, p.password)
            if not self.check_mode:
                message = build_message(p, self.token)
                with self.rec.step("smtp_submit", f"{p.from_address} -> {p.to_address}"):
                    smtp.send_message(message, p.from_address, [p.to_address])
                self.result["message_id"] = message["Message-ID"]
                self._submitted_at = self.clock()
        finally:
            _quietly(smtp.quit if smtp else sock.close)
            _quietly(sock.close)

    # -- IMAP --------------------------------------------------------------------------------------------------
    def _imap_open(self) -> None:
        p = self.params
        with self.rec.step("imap_connect", f"{p.host}:{p.imap_port}"):
            sock = self._connect(p.imap_port)
        try:
            with self.rec.step("imap_tls", "implicit TLS"):
                sock = self.context.wrap_socket(sock, server_hostname=p.host)
                self._imap = _IMAP(sock, p.host, p.imap_port, p.timeout)
            with self.rec.step("imap_auth", p.username):
                _imap_ok(self.imap.login(p.username, p.password), "LOGIN")
                # Servers list more capabilities (UIDPLUS) once logged in.
                caps = _imap_ok(self.imap.capability(), "CAPABILITY")
                self._imap_caps = set(_text(caps[-1] or b"").upper().split())
        except StepFailed:
            _quietly(sock.close)
            raise

    def _close_imap(self) -> None:
        if self._imap is not None:
            _quietly(self.imap.logout)
            self._imap = None

    def _imap_find(self) -> str | None:
        _imap_ok(self.imap.noop(), "NOOP")
        data = _imap_ok(self.imap.uid("SEARCH", "HEADER", "Message-ID", f'"{self.message_id}"'), "UID SEARCH")
        uids = _text(data[0] or b"").split() if data else []
        return uids[-1] if uids else None

    def _read_back(self) -> None:
        p = self.params
        headers = None
        primary: StepFailed | None = None
        try:
            with self.rec.step("imap_fetch", f"Message-ID <{self.message_id}> in INBOX") as record:
                _imap_ok(self.imap.select("INBOX"), "SELECT INBOX")
                deadline = self._submitted_at + p.delivery_timeout
                while True:
                    uid = self._imap_find()
                    if uid or self.clock() >= deadline:
                        break
                    self.sleep(POLL_INTERVAL)
                if not uid:
                    raise _Abort(f"message not delivered within {p.delivery_timeout:g}s")
                self._imap_uid = uid
                self.result["delivery_seconds"] = round(self.clock() - self._submitted_at, 3)
                data = _imap_ok(self.imap.uid("FETCH", uid, "(BODY.PEEK[HEADER])"), "UID FETCH")
                raw = next((part[1] for part in data if isinstance(part, tuple)), None)
                if raw is None:
                    raise _Abort(f"UID FETCH {uid} returned no header")
                headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
                record["detail"] += f" (UID {uid})"
            if self.jmap is not None:
                self._jmap_query()
            signatures = dkim_signatures(headers)
            self.result["dkim_signatures"] = signatures
            with self.rec.step("dkim") as record:
                passed, reason = dkim_verdict(signatures, p.from_address, p.require_dkim, p.dkim_selectors)
                record["detail"] = reason
                if not passed:
                    raise _Abort(reason)
        except StepFailed as exc:
            primary = exc
        if p.cleanup and (self._imap_uid or self.result["jmap_email_id"]):
            try:
                self._cleanup()
            except StepFailed as exc:
                # A failed cleanup must not hide an earlier failure.
                if primary is None:
                    primary = exc
                else:
                    self.result.setdefault("warnings", []).append(str(exc))
        if primary is not None:
            raise primary

    def _cleanup(self) -> None:
        with self.rec.step("cleanup") as record:
            if self.result["jmap_email_id"]:
                self._jmap_destroy(self.result["jmap_email_id"])
                record["detail"] = "Email/set destroy"
            else:
                uid = t.cast(str, self._imap_uid)
                _imap_ok(self.imap.uid("STORE", uid, "+FLAGS.SILENT", "(\\Deleted)"), "UID STORE")
                if "UIDPLUS" in self._imap_caps:
                    _imap_ok(self.imap.uid("EXPUNGE", uid), "UID EXPUNGE")
                else:
                    _imap_ok(self.imap.expunge(), "EXPUNGE")
                record["detail"] = f"IMAP UID {uid} expunged"
        self.result["deleted"] = True

    # -- JMAP --------------------------------------------------------------------------------------------------
    def _jmap_session(self) -> None:
        with self.rec.step("jmap_session", urljoin(self.mail_jmap.base, "jmap/session")) as record:
            self.mail_jmap.session()
            record["detail"] += f" (account {self.mail_jmap.account_id})"

    def _jmap_query(self) -> None:
        account = self.mail_jmap.account_id
        calls = [
            ["Email/query", {"accountId": account, "filter": {"header": ["Message-ID", self.message_id]}}, "q"],
            ["Email/get", {"accountId": account, "#ids": {"resultOf": "q", "name": "Email/query", "path": "/ids"},
                           "properties": ["id", "messageId"]}, "g"],
        ]
        with self.rec.step("jmap_query", f"Email/query header Message-ID {self.message_id}") as record:
            deadline = self.clock() + self.params.delivery_timeout
            while True:
                found = [e for e in self.mail_jmap.results(calls)["g"].get("list") or []
                         if self.message_id in (e.get("messageId") or [])]
                if found or self.clock() >= deadline:
                    break
                self.sleep(POLL_INTERVAL)
            if not found:
                raise _Abort("Email/query did not find the message that IMAP sees")
            self.result["jmap_email_id"] = found[0]["id"]
            record["detail"] += f" (id {found[0]['id']})"

    def _jmap_destroy(self, email_id: str) -> None:
        jmap = self.mail_jmap
        args = jmap.results([["Email/set", {"accountId": jmap.account_id, "destroy": [email_id]}, "d"]])["d"]
        if email_id not in (args.get("destroyed") or []):
            reason = (args.get("notDestroyed") or {}).get(email_id) or {}
            raise _Abort(f"Email/set did not destroy {email_id}: {reason.get('type', 'no reason given')}")


def _quietly(func: t.Callable[[], t.Any]) -> None:
    with contextlib.suppress(OSError, smtplib.SMTPException, imaplib.IMAP4.error, ValueError):
        func()


def jmap_client(params: SmokeParams, transport: _jmap.Transport) -> MailClient | None:
    """The JMAP client for ``params`` (None when the JMAP check is off)."""
    if not params.jmap_url:
        return None
    return MailClient(params.jmap_url, params.username, params.password, transport, timeout=params.timeout,
                      retries=2, backoff=0.5)
