# -*- coding: utf-8 -*-
"""openova.stalwart.dkim_key through ansible-playbook: keys that really sign, records that really verify
(published into BIND, read back by dkimpy), idempotence, check mode, bad input, and a thousand keys."""

from __future__ import annotations

import base64
import hashlib
import os
import pathlib
import time

import dkim
import dns.message
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.update
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ZONE = "dkim.test"

MESSAGE = (
    b"From: Alice <alice@dkim.test>\r\n"
    b"To: Bob <bob@example.net>\r\n"
    b"Subject: DKIM round trip\r\n"
    b"Date: Wed, 25 Nov 2026 12:00:00 +0000\r\n"
    b"Message-ID: <roundtrip@dkim.test>\r\n"
    b"\r\n"
    b"Signed with a key made by openova.stalwart.dkim_key.\r\n"
)


def _play(*tasks: dict) -> list:
    return [{"name": "dkim", "hosts": "localhost", "gather_facts": False, "tasks": list(tasks)}]


def _files(directory: pathlib.Path) -> dict[str, str]:
    """Name -> sha256 of every file in a directory (empty when it does not exist)."""
    if not directory.exists():
        return {}
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def _publish(bind, record_name: str, strings: list[str]) -> None:
    """Publish one TXT record (several character-strings) with a TSIG-signed RFC 2136 UPDATE."""
    update = dns.update.UpdateMessage(ZONE, keyring=bind.keyring, keyname=bind.key_name, keyalgorithm=bind.algorithm)
    rdata = dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, [s.encode() for s in strings])
    update.replace(record_name + ".", 300, rdata)
    # named accepts connections before it has loaded its zones; on a busy machine the first UPDATE can
    # come too early and get SERVFAIL/NOTAUTH, so retry for a while.
    deadline = time.monotonic() + 30
    while True:
        response = dns.query.tcp(update, bind.host, port=bind.port, timeout=5)
        if response.rcode() == dns.rcode.NOERROR or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert response.rcode() == dns.rcode.NOERROR, f"{response}\n{_named_log(bind)}"


def _named_log(bind) -> str:
    log = bind.workdir / "named.log"
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


def _dnsfunc(bind):
    """dkimpy's DNS hook, answered by the test BIND server only (with a patient timeout: CI machines are busy)."""
    def lookup(name, timeout=5):  # pylint: disable=unused-argument
        name = name.decode() if isinstance(name, bytes) else name
        request = dns.message.make_query(name, dns.rdatatype.TXT)
        response = dns.query.tcp(request, bind.host, port=bind.port, timeout=30)
        for rrset in response.answer:
            if rrset.rdtype == dns.rdatatype.TXT:
                return b"".join(list(rrset)[0].strings)
        return None
    return lookup


def _dkimpy_private_key(pem: bytes, algorithm: str) -> bytes:
    """dkimpy signs RSA with the PEM, Ed25519 with the base64 of the raw 32-byte seed."""
    if algorithm == "rsa":
        return pem
    key = serialization.load_pem_private_key(pem, password=None)
    return base64.b64encode(key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                              serialization.NoEncryption()))


@pytest.mark.parametrize("algorithm", ["rsa", "ed25519"])
def test_generated_key_signs_and_verifies_against_published_record(playbook, bind, tmp_path, algorithm):
    selector = f"s1-{algorithm}"
    key_file = tmp_path / "keys" / f"{selector}._domainkey.{ZONE}.pem"
    task = {"name": "key", "openova.stalwart.dkim_key": {
        "domain": ZONE, "selector": selector, "algorithm": algorithm, "path": str(key_file)}}

    first = playbook(_play(task))
    assert first.rc == 0, first.stdout + first.stderr
    result = first.task("key")
    assert result["changed"] and result["key_action"] == "generate"
    assert result["record_name"] == f"{selector}._domainkey.{ZONE}"
    assert result["size"] == (2048 if algorithm == "rsa" else 256)
    assert result["path"] == str(key_file)
    prefix = "v=DKIM1; k=rsa; h=sha256; p=" if algorithm == "rsa" else "v=DKIM1; k=ed25519; p="
    assert result["txt_value"].startswith(prefix)
    assert "".join(result["txt_strings"]) == result["txt_value"]
    assert all(len(s.encode()) <= 255 for s in result["txt_strings"])
    assert len(result["txt_strings"]) == (2 if algorithm == "rsa" else 1)
    assert "PRIVATE KEY" not in first.stdout + first.stderr
    assert os.stat(key_file).st_mode & 0o777 == 0o600
    assert os.stat(key_file.parent).st_mode & 0o777 == 0o700
    pem = key_file.read_bytes()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")

    _publish(bind, result["record_name"], result["txt_strings"])
    assert bind.txt(result["record_name"]) == [result["txt_value"]]

    signature_algorithm = b"rsa-sha256" if algorithm == "rsa" else b"ed25519-sha256"
    signature = dkim.sign(MESSAGE, selector.encode(), ZONE.encode(), _dkimpy_private_key(pem, algorithm),
                          signature_algorithm=signature_algorithm,
                          include_headers=[b"From", b"To", b"Subject", b"Date", b"Message-ID"])
    signed = signature + MESSAGE
    assert dkim.verify(signed, dnsfunc=_dnsfunc(bind)), _named_log(bind)
    assert not dkim.verify(signed.replace(b"Signed with", b"Forged with"), dnsfunc=_dnsfunc(bind))
    assert not dkim.verify(signed.replace(b"Subject: DKIM round trip", b"Subject: DKIM roundtrip"),
                           dnsfunc=_dnsfunc(bind))

    second = playbook(_play(task))
    assert second.rc == 0 and second.changed == 0, second.stdout
    again = second.task("key")
    assert again["key_action"] == "keep" and not again["changed"]
    assert key_file.read_bytes() == pem
    for field in ("txt_value", "txt_strings", "public_key", "record_name", "size"):
        assert again[field] == result[field]


def test_bulk_mixed_keys_check_mode_diff_and_rerun(playbook, tmp_path):
    key_dir = tmp_path / "render" / "secrets" / "dkim"
    keys = [{"domain": d, "selector": f"s1-{a}", "algorithm": a}
            for d in ("example.org", "example.net") for a in ("rsa", "ed25519")]
    task = {"name": "keys", "openova.stalwart.dkim_key": {"keys": keys, "key_dir": str(key_dir), "workers": 2}}

    check = playbook(_play(task), check=True, diff=True)
    assert check.rc == 0, check.stdout + check.stderr
    planned = check.task("keys")
    assert planned["changed"] and not key_dir.exists()
    assert [k["key_action"] for k in planned["dkim_keys"]] == ["generate"] * 4
    assert all(k["txt_value"] is None for k in planned["dkim_keys"])
    assert "s1-rsa._domainkey.example.org: new rsa key of 2048 bits" in planned["diff"]["after"]

    first = playbook(_play(task), diff=True)
    assert first.rc == 0, first.stdout + first.stderr
    made = first.task("keys")["dkim_keys"]
    assert [(k["domain"], k["selector"]) for k in made] == [(k["domain"], k["selector"]) for k in keys]
    assert [k["size"] for k in made] == [2048, 256, 2048, 256]
    assert sorted(_files(key_dir)) == sorted(f"{k['selector']}._domainkey.{k['domain']}.pem" for k in keys)
    assert "PRIVATE KEY" not in first.stdout + first.stderr
    files = _files(key_dir)

    # One more key: the diff shows it, the others are kept byte for byte.
    task["openova.stalwart.dkim_key"]["keys"] = keys + [{"domain": "example.com", "selector": "s2", "algorithm": "ed25519"}]
    grown = playbook(_play(task), diff=True)
    result = grown.task("keys")
    assert [k["key_action"] for k in result["dkim_keys"]] == ["keep"] * 4 + ["generate"]
    assert result["diff"]["before"] in result["diff"]["after"]
    assert result["diff"]["after"].endswith(f'{result["dkim_keys"][4]["record_name"]}. IN TXT "{result["dkim_keys"][4]["txt_value"]}"\n')
    assert {n: h for n, h in _files(key_dir).items() if n in files} == files
    assert [k["txt_value"] for k in result["dkim_keys"][:4]] == [k["txt_value"] for k in made]

    rerun = playbook(_play(task), check=True)
    assert rerun.rc == 0 and rerun.changed == 0


def test_single_form_in_key_dir_is_the_bulk_forms_file(playbook, tmp_path):
    key_dir = tmp_path / "dkim"
    single = {"domain": "example.org", "selector": "s1-ed25519", "algorithm": "ed25519"}
    run = playbook(_play(
        {"name": "single", "openova.stalwart.dkim_key": dict(single, key_dir=str(key_dir))},
        {"name": "bulk", "openova.stalwart.dkim_key": {"keys": [single], "key_dir": str(key_dir)}},
    ))
    assert run.rc == 0, run.stdout + run.stderr
    made, kept = run.task("single"), run.task("bulk")["dkim_keys"][0]
    assert made["key_action"] == "generate" and kept["key_action"] == "keep"
    assert made["path"] == kept["path"] == str(key_dir / "s1-ed25519._domainkey.example.org.pem")
    assert made["txt_value"] == kept["txt_value"]
    assert list(_files(key_dir)) == ["s1-ed25519._domainkey.example.org.pem"]


def test_in_memory_round_trip_keeps_private_keys_out_of_output(playbook):
    wanted = [{"domain": "example.org", "selector": "s1-rsa", "algorithm": "rsa"},
              {"domain": "example.org", "selector": "s1-ed25519", "algorithm": "ed25519"}]
    plays = _play(
        {"name": "generate", "openova.stalwart.dkim_key": {"keys": wanted, "return_private_keys": True},
         "register": "made", "no_log": True},
        {"name": "records", "ansible.builtin.set_fact": {
            "records": "{{ made.dkim_keys | map(attribute='txt_value') | list }}",
            "stored": "{{ made.dkim_keys | map(attribute='private_key') | map('length') | list }}"}},
        {"name": "reuse", "openova.stalwart.dkim_key": {"keys": (
            "{% set known = [] %}{% for k in made.dkim_keys %}{% set _ = known.append({'domain': k.domain,"
            " 'selector': k.selector, 'algorithm': k.algorithm, 'private_key': k.private_key}) %}{% endfor %}"
            "{{ known }}")}},
    )
    run = playbook(plays)
    assert run.rc == 0, run.stdout + run.stderr
    assert "PRIVATE KEY" not in run.stdout + run.stderr
    records = run.task("records")["ansible_facts"]
    assert all(size > 100 for size in records["stored"])
    reused = run.task("reuse")
    assert not reused["changed"]
    assert [k["key_action"] for k in reused["dkim_keys"]] == ["keep", "keep"]
    assert [k["txt_value"] for k in reused["dkim_keys"]] == records["records"]
    assert all("private_key" not in k for k in reused["dkim_keys"])


def test_bad_input_fails_naming_the_option_and_writes_nothing(playbook, tmp_path):
    key_dir = tmp_path / "dkim"
    key_dir.mkdir(mode=0o700)
    corrupt = key_dir / "s1-ed25519._domainkey.corrupt.example.pem"
    corrupt.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n")
    wrong = key_dir / "s1-ed25519._domainkey.wrong.example.pem"
    wrong.write_bytes(rsa.generate_private_key(65537, 2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    before = _files(key_dir)
    fresh = {"domain": "fresh.example", "selector": "s1-ed25519", "algorithm": "ed25519"}
    broken_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"

    cases = {
        "invalid domain": ({"domain": "not_a_domain", "selector": "s1", "path": str(key_dir / "x.pem")},
                           "domain: 'not_a_domain'"),
        "invalid selector": ({"domain": "example.org", "selector": "s1 rsa", "path": str(key_dir / "x.pem")},
                             "selector: 's1 rsa' is not a valid DKIM selector"),
        "rsa 1024": ({"domain": "example.org", "selector": "s1", "size": 1024, "path": str(key_dir / "x.pem")},
                     "size: RSA keys of 1024 bits are refused"),
        "unknown algorithm": ({"keys": [fresh, {"domain": "example.org", "selector": "s1", "algorithm": "dsa"}],
                               "key_dir": str(key_dir)}, "algorithm must be one of: rsa, ed25519, got: dsa"),
        "unwritable key dir": ({"keys": [fresh], "key_dir": str(blocker / "dkim")},
                               f"key_dir: cannot use {blocker / 'dkim'} as key directory: {blocker} is not a directory"),
        "corrupt key file": ({"keys": [fresh, {"domain": "corrupt.example", "selector": "s1-ed25519",
                                               "algorithm": "ed25519"}], "key_dir": str(key_dir)},
                             f"keys[1] (s1-ed25519._domainkey.corrupt.example): the key file {corrupt} is not a PEM"
                             " private key"),
        "wrong algorithm file": ({"keys": [fresh, {"domain": "wrong.example", "selector": "s1-ed25519",
                                                   "algorithm": "ed25519"}], "key_dir": str(key_dir)},
                                 f"keys[1] (s1-ed25519._domainkey.wrong.example): the key file {wrong} holds an rsa"
                                 " key, but keys[1].algorithm is ed25519"),
        "duplicate": ({"keys": [fresh, {"domain": "Fresh.Example.", "selector": "S1-ED25519"}], "key_dir": str(key_dir)},
                      "keys[1]: duplicate key s1-ed25519._domainkey.fresh.example"),
        "passed-in corrupt key": ({"keys": [dict(fresh, private_key=broken_pem)], "key_dir": str(key_dir)},
                                  "keys[0] (s1-ed25519._domainkey.fresh.example): keys[0].private_key is not a PEM"),
        "workers": ({"keys": [fresh], "key_dir": str(key_dir), "workers": 0}, "workers: expected a number"),
        "both forms": ({"keys": [fresh], "domain": "example.org", "selector": "s1", "key_dir": str(key_dir)},
                       "parameters are mutually exclusive: keys|domain"),
    }
    tasks = [{"name": name, "openova.stalwart.dkim_key": case[0], "ignore_errors": True} for name, case in cases.items()]
    run = playbook(_play(*tasks))
    assert run.rc == 0, run.stdout + run.stderr
    for name, (_args, message) in cases.items():
        result = run.task(name)
        assert result.get("failed"), f"{name}: {result}"
        assert message in result["msg"], f"{name}: {result['msg']}"
    assert "replace_invalid=true" in run.task("corrupt key file")["msg"]
    assert _files(key_dir) == before
    assert blocker.read_text() == "not a directory"

    # Asked for explicitly, the unusable files are replaced by new keys and nothing else changes.
    fix = playbook(_play({"name": "fix", "openova.stalwart.dkim_key": {
        "keys": [{"domain": "corrupt.example", "selector": "s1-ed25519", "algorithm": "ed25519"},
                 {"domain": "wrong.example", "selector": "s1-ed25519", "algorithm": "ed25519"}],
        "key_dir": str(key_dir), "replace_invalid": True}}))
    assert [k["key_action"] for k in fix.task("fix")["dkim_keys"]] == ["replace", "replace"]
    assert sorted(_files(key_dir)) == sorted(before)
    assert all(_files(key_dir)[n] != h for n, h in before.items())


def test_thousand_keys_in_one_task_then_unchanged(playbook, tmp_path):
    """1000 keys (every tenth RSA-2048, the rest Ed25519) in one task with 2 workers, then a re-run."""
    key_dir = tmp_path / "dkim"
    keys = [{"domain": f"d{i:04d}.example.org", "selector": "s1-rsa" if i % 10 == 0 else "s1-ed25519",
             "algorithm": "rsa" if i % 10 == 0 else "ed25519"} for i in range(1000)]
    task = {"name": "bulk", "openova.stalwart.dkim_key": {"keys": "{{ wanted }}", "key_dir": str(key_dir), "workers": 2},
            "register": "bulk"}
    summary = {"name": "summary", "ansible.builtin.set_fact": {
        "summary": "{{ bulk.dkim_keys | map(attribute='key_action') | list }}",
        "records": "{{ bulk.dkim_keys | map(attribute='txt_value') | list }}"}}
    started = time.monotonic()
    first = playbook(_play(task, summary), extra_vars={"wanted": keys})
    first_seconds = time.monotonic() - started
    assert first.rc == 0, first.stdout[-3000:] + first.stderr[-3000:]
    facts = first.task("summary")["ansible_facts"]
    assert facts["summary"] == ["generate"] * 1000
    assert len(set(facts["records"])) == 1000
    files = _files(key_dir)
    assert len(files) == 1000
    assert all(os.stat(key_dir / name).st_mode & 0o777 == 0o600 for name in files)
    assert not [n for n in os.listdir(key_dir) if not n.endswith(".pem")]

    started = time.monotonic()
    second = playbook(_play(task, summary), extra_vars={"wanted": keys})
    second_seconds = time.monotonic() - started
    assert second.rc == 0 and second.task("bulk")["changed"] is False
    facts2 = second.task("summary")["ansible_facts"]
    assert facts2["summary"] == ["keep"] * 1000 and facts2["records"] == facts["records"]
    assert _files(key_dir) == files
    # Loading 1000 existing keys must not pay OpenSSL's RSA prime check (~65 ms per key, 6.5 s here).
    assert second_seconds < max(10.0, first_seconds), (first_seconds, second_seconds)
    print(f"1000 keys: first run {first_seconds:.1f}s, re-run {second_seconds:.1f}s")
