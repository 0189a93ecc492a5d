# -*- coding: utf-8 -*-
"""openova.stalwart.mail_smoke_test through ansible-playbook against real Postfix + Dovecot (fakes/mail.py)
and the JMAP mail test server over the same Maildirs (fakes/jmap_mail.py)."""

from __future__ import annotations

import smtplib
import ssl
import time

import dkim
import dns.query
import dns.rcode
import dns.update
import pytest

STEPS_FULL = ["smtp_connect", "smtp_tls", "smtp_auth", "smtp_submit", "imap_connect", "imap_tls", "imap_auth",
              "jmap_session", "imap_fetch", "jmap_query", "dkim", "cleanup"]


def _args(rig, user, **extra):
    args = {
        "host": "127.0.0.1",
        "smtp_port": rig.submissions_port,
        "imap_port": rig.imaps_port,
        "username": user,
        "password": rig.users[user],
        "ca_path": str(rig.tls["ca"]),
        "timeout": 5,
        "delivery_timeout": 15,
        "jmap": False,
    }
    args.update(extra)
    return args


def _smoke(playbook, args, check=False, module_defaults=None):
    plays = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "smoke", "openova.stalwart.mail_smoke_test": args, "ignore_errors": True},
    ]}]
    if module_defaults:
        plays[0]["module_defaults"] = module_defaults
    result = playbook(plays, check=check)
    assert result.data, result.stderr[-3000:]
    return result, result.task("smoke")


def _account(rig, user, expect_empty=True):
    """Yield ``user`` with an empty INBOX; afterwards check (unless told otherwise) nothing was left, and empty it."""
    assert not rig.messages(user)
    yield user
    left = rig.messages(user)
    for sub in ("new", "cur"):
        folder = rig.maildir(user) / sub
        for path in folder.iterdir() if folder.is_dir() else ():
            path.unlink()
    if expect_empty:
        assert not left, "the smoke test left a message behind"


def _smoke_task(playbook, args, **kwargs):
    return _smoke(playbook, args, **kwargs)[1]


@pytest.fixture
def signed(mail_rig):
    yield from _account(mail_rig, f"smoke@{mail_rig.signed_domain}")


@pytest.fixture
def signed_keeps_mail(mail_rig):
    """For tests that leave the message on purpose: emptied afterwards, not checked."""
    yield from _account(mail_rig, f"smoke@{mail_rig.signed_domain}", expect_empty=False)


@pytest.fixture
def unsigned(mail_rig):
    yield from _account(mail_rig, f"smoke@{mail_rig.unsigned_domain}")


def test_rig_signs_with_a_valid_dkim_signature(mail_rig, signed_keeps_mail):
    """The rig itself: Postfix submission -> dkimpy hop -> Dovecot, and both signatures verify."""
    user = signed_keeps_mail
    context = ssl.create_default_context(cafile=str(mail_rig.tls["ca"]))
    with smtplib.SMTP_SSL("127.0.0.1", mail_rig.submissions_port, context=context, timeout=10) as smtp:
        smtp.login(user, mail_rig.users[user])
        smtp.sendmail(user, [user], f"From: {user}\r\nTo: {user}\r\nSubject: rig\r\n"
                                    "Message-ID: <rig-check@signed.test>\r\n\r\nbody\r\n")
    from fakes.mail import wait_for  # pylint: disable=import-outside-toplevel
    messages = wait_for(lambda: mail_rig.messages(user), timeout=15)
    assert len(messages) == 1, mail_rig.log()
    raw = messages[0].as_bytes()
    assert len(messages[0].get_all("DKIM-Signature")) == 2
    for index in (0, 1):  # RSA and Ed25519, each verified against its published key
        assert _verifies(raw, index, mail_rig.dkim_dns)
        assert not _verifies(raw.replace(b"body", b"b0dy"), index, mail_rig.dkim_dns)


def _verifies(raw, index, dnsfunc):
    try:
        return dkim.DKIM(raw).verify(idx=index, dnsfunc=dnsfunc)
    except dkim.DKIMException:
        return False


def test_tls_submission_imap_jmap_dkim_and_cleanup(playbook, mail_rig, jmap_mail, signed):
    signed_before = mail_rig.hop.signed
    result, task = _smoke(playbook, _args(mail_rig, signed, jmap=True, url=jmap_mail.url,
                                          dkim_selectors=["rig-rsa", "rig-ed25519"]))
    assert result.rc == 0 and not task.get("failed"), task.get("msg")
    assert task["changed"] is False
    assert [s["name"] for s in task["steps"]] == STEPS_FULL
    assert all(s["ok"] for s in task["steps"])
    assert task["failed_step"] is None
    assert sorted(task["dkim_signatures"], key=lambda s: s["selector"]) == [
        {"domain": "signed.test", "selector": "rig-ed25519", "algorithm": "ed25519-sha256"},
        {"domain": "signed.test", "selector": "rig-rsa", "algorithm": "rsa-sha256"},
    ]
    assert task["message_id"].startswith("<smoke-") and task["message_id"].endswith("@signed.test>")
    assert task["jmap_email_id"] and task["deleted"] is True
    assert task["delivery_seconds"] is not None and task["delivery_seconds"] < 15
    assert set(task["timings"]) == set(STEPS_FULL) and task["total_seconds"] > 0
    assert next(s for s in task["steps"] if s["name"] == "cleanup")["detail"] == "Email/set destroy"
    assert mail_rig.hop.signed == signed_before + 1
    # The JMAP client filtered by Message-ID (without angle brackets, as RFC 8621 header values compare).
    query = [r for r in jmap_mail.requests if r["method"] == "POST"
             and r["body"]["methodCalls"][0][0] == "Email/query"][-1]
    assert query["body"]["methodCalls"][0][1]["filter"] == {
        "header": ["Message-ID", task["message_id"].strip("<>")]}
    assert mail_rig.users[signed] not in result.stdout + result.stderr


def _publish_address(bind, name: str, address: str) -> None:
    """An A record, with a TSIG-signed RFC 2136 UPDATE (retried while named is still loading its zones)."""
    update = dns.update.UpdateMessage(name.split(".", 1)[1], keyring=bind.keyring, keyname=bind.key_name,
                                      keyalgorithm=bind.algorithm)
    update.replace(name + ".", 300, "A", address)
    deadline = time.monotonic() + 30
    while dns.query.tcp(update, bind.host, port=bind.port, timeout=5).rcode() != dns.rcode.NOERROR:
        assert time.monotonic() < deadline, f"BIND did not accept the A record of {name}"
        time.sleep(0.5)


def test_resolvers_reach_a_name_only_the_zone_servers_know(playbook, bind, mail_rig, jmap_mail, signed):
    """A fresh zone: the mail host's name is on its authoritative server only (the machine's resolver has no answer,
    as a cached negative answer would). With resolvers, SMTP, IMAP and JMAP reach it by name and TLS checks that name;
    without, the probe fails at the first connection."""
    host = mail_rig.hostname
    _publish_address(bind, host, "127.0.0.1")
    url = f"https://{host}:{jmap_mail.url.rsplit(':', 1)[1]}"
    args = _args(mail_rig, signed, host=host, jmap=True, url=url, resolvers=[bind.host], resolver_port=bind.port)
    task = _smoke_task(playbook, args)
    assert not task.get("failed"), task.get("msg")
    assert [s["name"] for s in task["steps"]] == STEPS_FULL and task["deleted"] is True
    assert next(s for s in task["steps"] if s["name"] == "smtp_connect")["detail"] == f"{host}:{mail_rig.submissions_port}"

    del args["resolvers"], args["resolver_port"]
    task = _smoke_task(playbook, args)
    assert task["failed"] and task["failed_step"] == "smtp_connect", task.get("msg")
    assert "cannot resolve host" in task["msg"]

    # Name servers that do not know the name: a clear reason, nothing sent.
    args.update(host="nowhere.signed.test", resolvers=[bind.host], resolver_port=bind.port)
    task = _smoke_task(playbook, args)
    assert task["failed_step"] == "smtp_connect"
    assert task["msg"] == "smoke test failed at step smtp_connect: nowhere.signed.test does not resolve on the given resolvers"


def test_starttls_submission_imap_cleanup(playbook, mail_rig, signed):
    """Also: the TLS options come from module_defaults of the action group openova.stalwart.stalwart, and the
    addresses from the aliases from/to."""
    args = _args(mail_rig, signed, smtp_security="starttls", smtp_port=mail_rig.submission_port,
                 **{"from": signed, "to": signed})
    defaults = {"group/openova.stalwart.stalwart": {"ca_path": args.pop("ca_path"), "timeout": 5}}
    task = _smoke_task(playbook, args, module_defaults=defaults)
    assert not task.get("failed"), task.get("msg")
    assert [s["name"] for s in task["steps"]] == [s for s in STEPS_FULL if not s.startswith("jmap")]
    assert next(s for s in task["steps"] if s["name"] == "smtp_tls")["detail"] == "STARTTLS"
    assert next(s for s in task["steps"] if s["name"] == "cleanup")["detail"].endswith("expunged")


def test_missing_dkim_fails_at_dkim_and_still_cleans_up(playbook, mail_rig, unsigned):
    task = _smoke_task(playbook, _args(mail_rig, unsigned))
    assert task["failed"] is True
    assert task["failed_step"] == "dkim"
    assert "no DKIM-Signature header" in task["msg"]
    assert task["dkim_signatures"] == [] and task["deleted"] is True
    assert task["steps"][-1]["name"] == "cleanup" and task["steps"][-1]["ok"]


def test_missing_expected_selector_fails_at_dkim(playbook, mail_rig, signed):
    task = _smoke_task(playbook, _args(mail_rig, signed, dkim_selectors=["rig-rsa", "s1-ed25519"]))
    assert task["failed_step"] == "dkim" and task["deleted"] is True
    assert "no aligned DKIM-Signature by selector s1-ed25519 (found: rig-ed25519, rig-rsa)" in task["msg"]


def test_missing_dkim_is_reported_when_not_required(playbook, mail_rig, unsigned):
    task = _smoke_task(playbook, _args(mail_rig, unsigned, require_dkim=False))
    assert not task.get("failed"), task.get("msg")
    dkim_step = next(s for s in task["steps"] if s["name"] == "dkim")
    assert dkim_step["ok"] and "not required" in dkim_step["detail"]


def test_wrong_password_fails_at_smtp_auth(playbook, mail_rig, signed):
    result, task = _smoke(playbook, _args(mail_rig, signed, password="not-the-password"))
    assert task["failed_step"] == "smtp_auth"
    assert "authentication rejected: 535" in task["msg"]
    assert [s["name"] for s in task["steps"]] == ["smtp_connect", "smtp_tls", "smtp_auth"]
    assert "not-the-password" not in result.stdout


def test_untrusted_certificate_fails_at_smtp_tls(playbook, mail_rig, signed):
    args = _args(mail_rig, signed)
    del args["ca_path"]
    task = _smoke_task(playbook, args)
    assert task["failed_step"] == "smtp_tls"
    assert "certificate verification failed" in task["msg"]


def test_closed_port_fails_at_smtp_connect(playbook, mail_rig, signed):
    from fakes.common import free_port  # pylint: disable=import-outside-toplevel
    task = _smoke_task(playbook, _args(mail_rig, signed, smtp_port=free_port()))
    assert task["failed_step"] == "smtp_connect"
    assert "connection refused" in task["msg"]


def test_wrong_imap_port_fails_at_imap_tls(playbook, mail_rig, signed):
    """IMAP pointed at the SMTP submissions port: TCP connects, the IMAP greeting never comes."""
    args = _args(mail_rig, signed, imap_port=mail_rig.submission_port, timeout=2)
    task = _smoke_task(playbook, args, check=True)
    assert task["failed_step"] == "imap_tls"


def test_check_mode_authenticates_and_sends_nothing(playbook, mail_rig, jmap_mail, signed):
    signed_before = mail_rig.hop.signed
    task = _smoke_task(playbook, _args(mail_rig, signed, jmap=True, url=jmap_mail.url), check=True)
    assert not task.get("failed"), task.get("msg")
    assert task["changed"] is False and task["message_id"] is None
    assert [s["name"] for s in task["steps"]] == ["smtp_connect", "smtp_tls", "smtp_auth", "imap_connect",
                                                  "imap_tls", "imap_auth", "jmap_session"]
    assert "check mode" in task["msg"]
    assert mail_rig.hop.signed == signed_before


def test_jmap_query_miss_fails_and_imap_cleans_up(playbook, mail_rig, jmap_mail, signed):
    jmap_mail.query_blind = True
    try:
        task = _smoke_task(playbook, _args(mail_rig, signed, jmap=True, url=jmap_mail.url, delivery_timeout=2))
    finally:
        jmap_mail.query_blind = False
    assert task["failed_step"] == "jmap_query"
    assert "did not find the message" in task["msg"]
    assert task["deleted"] is True
    assert task["steps"][-1]["detail"].endswith("expunged")


def test_jmap_destroy_refused_fails_at_cleanup(playbook, mail_rig, jmap_mail, signed_keeps_mail):
    jmap_mail.refuse_destroy = True
    try:
        task = _smoke_task(playbook, _args(mail_rig, signed_keeps_mail, jmap=True, url=jmap_mail.url))
    finally:
        jmap_mail.refuse_destroy = False
    assert task["failed_step"] == "cleanup"
    assert "forbidden" in task["msg"] and task["deleted"] is False


def test_cleanup_false_leaves_the_message(playbook, mail_rig, signed_keeps_mail):
    task = _smoke_task(playbook, _args(mail_rig, signed_keeps_mail, cleanup=False))
    assert not task.get("failed"), task.get("msg")
    assert task["deleted"] is False and "cleanup" not in task["timings"]
    messages = mail_rig.messages(signed_keeps_mail)
    assert [m["Message-ID"] for m in messages] == [task["message_id"]]
    assert messages[0]["DKIM-Signature"]


BAD_INPUT = [
    ({"smtp_port": 70000}, "smtp_port: port 70000 is out of range"),
    ({"from_address": "not-an-address"}, "from_address: 'not-an-address' is not an e-mail address"),
    ({"timeout": 0}, "timeout: must be greater than 0"),
    ({"ca_path": "/nonexistent/ca.pem"}, "ca_path: '/nonexistent/ca.pem' is not a readable file"),
    ({"url": "mail.example.org", "jmap": True}, "url: expected an http(s) URL"),
    ({"host": None}, "one of the following is required: host, url"),
    ({"smtp_security": "ssl"}, "value of smtp_security must be one of: tls, starttls"),
]


def test_bad_input_fails_naming_the_option(playbook, mail_rig, signed):
    """One playbook, one task per bad input: each fails before anything is sent."""
    signed_before = mail_rig.hop.signed
    tasks = []
    for index, case in enumerate(BAD_INPUT):
        args = {k: v for k, v in {**_args(mail_rig, signed), **case[0]}.items() if v is not None}
        tasks.append({"name": f"bad {index}", "openova.stalwart.mail_smoke_test": args, "ignore_errors": True})
    result = playbook([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}])
    for index, case in enumerate(BAD_INPUT):
        task = result.task(f"bad {index}")
        assert task["failed"] is True and case[1] in task["msg"], task["msg"]
        assert "steps" not in task
    assert mail_rig.hop.signed == signed_before


def test_unreachable_jmap_fails_at_jmap_session(playbook, mail_rig, signed):
    from fakes.common import free_port  # pylint: disable=import-outside-toplevel
    args = _args(mail_rig, signed, jmap=True, url=f"https://127.0.0.1:{free_port()}")
    task = _smoke_task(playbook, args, check=True)
    assert task["failed_step"] == "jmap_session"
    assert "cannot reach" in task["msg"] and "gave up after 2 attempts" in task["msg"]


def test_role_smoke_test_logs_in_as_a_declared_account(playbook, mail_rig, jmap_mail, signed):
    """The stalwart role's smoke test (tasks/smoke_test.yml) as an account of stalwart_accounts named by
    stalwart_smoke_login, with the password its item gives; the rig's ports and CA come from module_defaults."""
    play = {"hosts": "localhost", "gather_facts": False,
            "module_defaults": {"openova.stalwart.mail_smoke_test": {
                "smtp_port": mail_rig.submissions_port, "imap_port": mail_rig.imaps_port, "ca_path": str(mail_rig.tls["ca"]),
                "timeout": 5, "delivery_timeout": 15}},
            "vars": {"stalwart_hostname": "127.0.0.1", "stalwart_domains": [{"name": mail_rig.signed_domain}],
                     "stalwart_management_url": jmap_mail.url, "stalwart_smoke_account": "",
                     "stalwart_smoke_login": signed,
                     "stalwart_accounts": [{"name": "someone", "password": "Someone-else-9Kq2"},
                                           {"name": "smoke", "password": mail_rig.users[signed]}]},
            "tasks": [{"name": "smoke", "ansible.builtin.include_role": {"name": "openova.stalwart.stalwart",
                                                                         "tasks_from": "smoke_test"}}]}
    result = playbook([play])
    assert result.rc == 0, result.stdout[-6000:] + result.stderr[-2000:]
    task = result.task("openova.stalwart.stalwart : Smoke test (submit, read back over IMAP and JMAP, DKIM, delete)")
    assert [s["name"] for s in task["steps"]] == STEPS_FULL and all(s["ok"] for s in task["steps"])
    assert task["message_id"].endswith(f"@{mail_rig.signed_domain}>") and task["deleted"] is True
    assert mail_rig.users[signed] not in result.stdout + result.stderr
    # A wrong password in the variable fails at SMTP AUTH: the account really is the one that logs in.
    play["vars"]["stalwart_accounts"][1]["password"] = "Not-the-password-1"
    failed = playbook([play])
    assert failed.rc != 0
    assert "smtp_auth" in failed.stdout and "Not-the-password-1" not in failed.stdout + failed.stderr
