# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

import base64
import os
import stat

import pytest

from ansible_collections.openova.stalwart.plugins.module_utils import _dkim

cryptography = pytest.importorskip("cryptography")

from cryptography.hazmat.primitives import serialization  # noqa: E402  pylint: disable=wrong-import-position
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa  # noqa: E402  pylint: disable=wrong-import-position


def _pem(key, fmt=serialization.PrivateFormat.PKCS8, encryption=None):
    return key.private_bytes(serialization.Encoding.PEM, fmt, encryption or serialization.NoEncryption())


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def rsa_pem(rsa_key):
    return _pem(rsa_key)


@pytest.fixture
def ed_pem():
    return _pem(ed25519.Ed25519PrivateKey.generate())


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# -- records ---------------------------------------------------------------------------------------
def test_txt_values():
    assert _dkim.txt_value("rsa", "QUJD") == "v=DKIM1; k=rsa; h=sha256; p=QUJD"
    assert _dkim.txt_value("ed25519", "QUJD") == "v=DKIM1; k=ed25519; p=QUJD"
    with pytest.raises(ValueError):
        _dkim.txt_value("dsa", "QUJD")


def test_record_and_file_names():
    spec = _dkim.key_spec({"domain": "Example.ORG.", "selector": "S1-RSA"}, key_dir="/keys")
    assert spec.record_name == "s1-rsa._domainkey.example.org"
    assert spec.path == "/keys/s1-rsa._domainkey.example.org.pem"


def test_idn_domain_is_stored_as_a_label():
    spec = _dkim.key_spec({"domain": "bücher.example", "selector": "s1"})
    assert spec.domain == "xn--bcher-kva.example"


# -- input validation ------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, option, match", [
    ({"domain": "localhost", "selector": "s1"}, "domain", "fully qualified"),
    ({"domain": "exa mple.org", "selector": "s1"}, "domain", "invalid label"),
    ({"domain": "example.org", "selector": "s1 rsa"}, "selector", "not a valid DKIM selector"),
    ({"domain": "example.org", "selector": ""}, "selector", "expected a DKIM selector"),
    ({"domain": "example.org", "selector": "s1", "algorithm": "dsa"}, "algorithm", "unknown algorithm 'dsa'"),
    ({"domain": "example.org", "selector": "s1", "size": 1024}, "size", "1024 bits are refused"),
    ({"domain": "example.org", "selector": "s1", "size": 8192}, "size", "8192 bits are refused"),
    ({"domain": "example.org", "selector": "s1", "size": True}, "size", "expected a number of bits"),
    ({"domain": "example.org", "selector": "s1", "private_key": 5}, "private_key", "expected a PEM string"),
])
def test_bad_single_input_names_the_option(raw, option, match):
    with pytest.raises(ValueError, match=match) as info:
        _dkim.key_spec(raw)
    assert str(info.value).startswith(f"{option}:")


def test_bad_bulk_input_names_the_entry():
    with pytest.raises(ValueError, match=r"^keys\[1\]\.size: RSA keys of 1024 bits"):
        _dkim.key_specs([{"domain": "example.org", "selector": "a"}, {"domain": "example.org", "selector": "b", "size": 1024}])


def test_ed25519_ignores_the_rsa_size():
    spec = _dkim.key_spec({"domain": "example.org", "selector": "s1", "algorithm": "ed25519", "size": 1024})
    assert spec.size == 256


def test_defaults_apply_to_entries_without_them():
    specs = _dkim.key_specs([{"domain": "example.org", "selector": "a"},
                             {"domain": "example.org", "selector": "b", "algorithm": "rsa", "size": 4096}],
                            default_algorithm="rsa", default_size=3072)
    assert [(s.algorithm, s.size) for s in specs] == [("rsa", 3072), ("rsa", 4096)]


def test_duplicate_keys_are_refused():
    with pytest.raises(_dkim.DkimError, match=r"^keys\[2\]: duplicate key s1._domainkey.example.org .*keys\[0\]"):
        _dkim.key_specs([{"domain": "example.org", "selector": "s1"}, {"domain": "example.net", "selector": "s1"},
                         {"domain": "EXAMPLE.org.", "selector": "S1", "algorithm": "ed25519"}])


@pytest.mark.parametrize("keys", [[], None, "x"])
def test_keys_must_be_a_non_empty_list(keys):
    with pytest.raises(_dkim.DkimError, match="^keys: expected a non-empty list"):
        _dkim.key_specs(keys)


def test_keys_entries_must_be_dicts():
    with pytest.raises(_dkim.DkimError, match=r"^keys\[0\]: expected a dictionary"):
        _dkim.key_specs(["example.org"])


# -- loading ---------------------------------------------------------------------------------------
def test_load_rsa_pkcs8_and_pkcs1(rsa_key, rsa_pem):
    pkcs8 = _dkim.load_key(rsa_pem)
    pkcs1 = _dkim.load_key(_pem(rsa_key, serialization.PrivateFormat.TraditionalOpenSSL))
    assert pkcs8.algorithm == pkcs1.algorithm == "rsa" and pkcs8.size == 2048
    assert pkcs8.dns_public == pkcs1.dns_public
    spki = serialization.load_der_public_key(base64.b64decode(pkcs8.dns_public))
    assert spki.public_numbers() == rsa_key.public_key().public_numbers()
    assert pkcs8.txt_value == f"v=DKIM1; k=rsa; h=sha256; p={pkcs8.dns_public}"
    assert pkcs8.public_pem.startswith("-----BEGIN PUBLIC KEY-----")


def test_load_ed25519_publishes_the_raw_key():
    key = ed25519.Ed25519PrivateKey.generate()
    material = _dkim.load_key(_pem(key).decode())
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert material.algorithm == "ed25519" and material.size == 256
    assert base64.b64decode(material.dns_public) == raw and len(raw) == 32
    assert material.txt_value == f"v=DKIM1; k=ed25519; p={material.dns_public}"


@pytest.mark.parametrize("data, match", [
    (b"not a key", "not a PEM private key"),
    (b"-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----\n", "not a PEM private key"),
    (b"", "not a PEM private key"),
])
def test_load_rejects_garbage(data, match):
    with pytest.raises(_dkim.InvalidKey, match=match):
        _dkim.load_key(data)


def test_load_rejects_truncated(rsa_pem):
    with pytest.raises(_dkim.InvalidKey, match="not a PEM private key"):
        _dkim.load_key(rsa_pem[: len(rsa_pem) // 2] + b"\n-----END PRIVATE KEY-----\n")


def test_load_rejects_encrypted():
    pem = _pem(ed25519.Ed25519PrivateKey.generate(), encryption=serialization.BestAvailableEncryption(b"secret"))
    with pytest.raises(_dkim.InvalidKey, match="encrypted"):
        _dkim.load_key(pem)


def test_load_rejects_other_key_types():
    with pytest.raises(_dkim.InvalidKey, match="RSA or Ed25519 only"):
        _dkim.load_key(_pem(ec.generate_private_key(ec.SECP256R1())))


@pytest.mark.parametrize("field", ["d", "dmp1", "dmq1", "iqmp", "e"])
def test_load_rejects_inconsistent_rsa_numbers(rsa_key, field):
    numbers = rsa_key.private_numbers()
    values = {"p": numbers.p, "q": numbers.q, "d": numbers.d, "dmp1": numbers.dmp1, "dmq1": numbers.dmq1,
              "iqmp": numbers.iqmp}
    public = numbers.public_numbers
    if field == "e":
        public = rsa.RSAPublicNumbers(public.e + 2, public.n)
    else:
        values[field] += 2
    broken = rsa.RSAPrivateNumbers(public_numbers=public, **values).private_key(unsafe_skip_rsa_key_validation=True)
    with pytest.raises(_dkim.InvalidKey, match="corrupt"):
        _dkim.load_key(_pem(broken))


def test_load_rejects_bit_flips(rsa_pem):
    der = bytearray(serialization.load_pem_private_key(rsa_pem, None).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    for offset in (40, 300, 700, 1100):
        damaged = bytearray(der)
        damaged[offset] ^= 0x10
        pem = b"-----BEGIN PRIVATE KEY-----\n" + base64.encodebytes(bytes(damaged)) + b"-----END PRIVATE KEY-----\n"
        with pytest.raises(_dkim.InvalidKey):
            _dkim.load_key(pem)


def test_mismatch(rsa_pem, ed_pem):
    rsa_material = _dkim.load_key(rsa_pem)
    spec = _dkim.key_spec({"domain": "example.org", "selector": "s1", "algorithm": "ed25519"})
    assert _dkim.mismatch(rsa_material, spec) == "holds an rsa key, but algorithm is ed25519"
    spec = _dkim.key_specs([{"domain": "example.org", "selector": "s1", "size": 3072}])[0]
    assert _dkim.mismatch(rsa_material, spec) == "holds an RSA key of 2048 bits, but keys[0].size is 3072"
    ed_spec = _dkim.key_spec({"domain": "example.org", "selector": "s1", "algorithm": "ed25519"})
    assert _dkim.mismatch(_dkim.load_key(ed_pem), ed_spec) is None


# -- generation ------------------------------------------------------------------------------------
def test_generate_keeps_order_across_workers():
    jobs = [("ed25519", 256), ("rsa", 2048), ("ed25519", 256), ("rsa", 2048), ("ed25519", 256)]
    made = _dkim.generate_keys(jobs, workers=2)
    assert [m.algorithm for m in made] == [j[0] for j in jobs]
    assert len({m.dns_public for m in made}) == len(jobs)
    for material in made:
        reloaded = _dkim.load_key(material.private_pem)
        assert reloaded.dns_public == material.dns_public
        assert material.private_pem.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8, as Stalwart reads


def test_generate_in_process():
    made = _dkim.generate_keys([("ed25519", 256), ("ed25519", 256)], workers=1)
    assert [m.algorithm for m in made] == ["ed25519", "ed25519"]


def test_generate_rejects_unknown_algorithm():
    with pytest.raises(ValueError):
        _dkim.generate_key("dsa")


# -- plans -----------------------------------------------------------------------------------------
def _spec(tmp_path, algorithm="ed25519", private_key=None, size=None):
    raw = {"domain": "example.org", "selector": "s1", "algorithm": algorithm, "size": size, "private_key": private_key}
    return _dkim.key_specs([raw], str(tmp_path))[0]


def test_plan_missing_key_is_generated(tmp_path):
    assert _dkim.plan_key(_spec(tmp_path)).action == "generate"


def test_plan_existing_key_is_kept_and_mode_fixed(tmp_path, ed_pem):
    spec = _spec(tmp_path)
    _dkim.write_key_file(spec.path, ed_pem)
    plan = _dkim.plan_key(spec)
    assert plan.action == "keep" and not plan.changed
    os.chmod(spec.path, 0o644)
    assert _dkim.plan_key(spec).action == "chmod"


@pytest.mark.parametrize("content, match", [(b"garbage", "not a PEM private key"), (None, "holds an rsa key")])
def test_plan_unusable_file_fails_unless_replace_invalid(tmp_path, rsa_pem, content, match):
    spec = _spec(tmp_path)
    with open(spec.path, "wb") as handle:
        handle.write(content or rsa_pem)
    with pytest.raises(_dkim.DkimError, match=rf"^keys\[0\] \(s1._domainkey.example.org\): the key file .* {match}.*replace_invalid"):
        _dkim.plan_key(spec)
    assert _dkim.plan_key(spec, replace_invalid=True).action == "replace"


def test_plan_wrong_rsa_size_fails(tmp_path, rsa_pem):
    spec = _spec(tmp_path, "rsa", size=4096)
    with open(spec.path, "wb") as handle:
        handle.write(rsa_pem)
    with pytest.raises(_dkim.DkimError, match=r"2048 bits, but keys\[0\].size is 4096"):
        _dkim.plan_key(spec)


def test_plan_passed_in_key(tmp_path, ed_pem):
    in_memory = _dkim.key_spec({"domain": "example.org", "selector": "s1", "algorithm": "ed25519",
                                "private_key": ed_pem.decode()})
    plan = _dkim.plan_key(in_memory)
    assert plan.action == "keep" and plan.from_input and plan.material is not None
    spec = _spec(tmp_path, private_key=ed_pem.decode())
    assert _dkim.plan_key(spec).action == "store"
    _dkim.write_key_file(spec.path, ed_pem)
    kept = _dkim.plan_key(spec)
    assert kept.action == "keep" and kept.from_input  # its private key is the caller's: not returned again


def test_plan_passed_in_key_never_replaces_a_different_file(tmp_path, ed_pem):
    spec = _spec(tmp_path, private_key=ed_pem.decode())
    _dkim.write_key_file(spec.path, _pem(ed25519.Ed25519PrivateKey.generate()))
    for replace in (False, True):
        with pytest.raises(_dkim.DkimError, match=r"keys\[0\].private_key is a different key"):
            _dkim.plan_key(spec, replace_invalid=replace)


def test_plan_bad_passed_in_key(tmp_path, rsa_pem):
    spec = _spec(tmp_path, private_key=rsa_pem.decode())
    with pytest.raises(_dkim.DkimError, match=r"keys\[0\].private_key holds an rsa key, but keys\[0\].algorithm is ed25519"):
        _dkim.plan_key(spec)
    assert _dkim.plan_key(spec, replace_invalid=True).action == "replace"


def test_plan_unreadable_key_file(tmp_path):
    spec = _spec(tmp_path)
    os.mkdir(spec.path)
    with pytest.raises(_dkim.DkimError, match="cannot read the key file"):
        _dkim.plan_key(spec)


# -- ensure_keys -----------------------------------------------------------------------------------
def _wanted(key_dir, algorithms=("ed25519", "ed25519")):
    raw = [{"domain": f"d{i}.example.org", "selector": f"s1-{a}", "algorithm": a} for i, a in enumerate(algorithms)]
    return _dkim.key_specs(raw, str(key_dir))


def _snapshot(directory):
    return {name: (directory / name).read_bytes() for name in sorted(os.listdir(directory))}


def test_ensure_keys_writes_then_is_idempotent(tmp_path):
    key_dir = tmp_path / "secrets" / "dkim"
    first = _dkim.ensure_keys(_wanted(key_dir), key_dir=str(key_dir), workers=2)
    assert first["changed"] and [k["key_action"] for k in first["dkim_keys"]] == ["generate", "generate"]
    assert _mode(key_dir) == 0o700
    files = _snapshot(key_dir)
    assert sorted(files) == ["s1-ed25519._domainkey.d0.example.org.pem", "s1-ed25519._domainkey.d1.example.org.pem"]
    assert all(_mode(key_dir / name) == 0o600 for name in files)
    second = _dkim.ensure_keys(_wanted(key_dir), key_dir=str(key_dir), diff=True)
    assert not second["changed"] and [k["key_action"] for k in second["dkim_keys"]] == ["keep", "keep"]
    assert second["dkim_keys"] == [dict(k, key_action="keep", changed=False) for k in first["dkim_keys"]]
    assert _snapshot(key_dir) == files
    assert second["diff"]["before"] == second["diff"]["after"]
    assert "PRIVATE" not in repr(first) + repr(second)


def test_ensure_keys_check_mode_writes_nothing(tmp_path):
    key_dir = tmp_path / "dkim"
    result = _dkim.ensure_keys(_wanted(key_dir), key_dir=str(key_dir), check_mode=True, diff=True)
    assert result["changed"] and not key_dir.exists()
    assert all(k["txt_value"] is None and k["key_action"] == "generate" for k in result["dkim_keys"])
    assert result["diff"]["before"] == ""
    assert "d0.example.org: new ed25519 key" in result["diff"]["after"]


def test_ensure_keys_check_mode_reports_replacement(tmp_path):
    specs = _wanted(tmp_path)
    with open(specs[1].path, "wb") as handle:
        handle.write(b"garbage")
    result = _dkim.ensure_keys(specs, key_dir=str(tmp_path), check_mode=True, replace_invalid=True, diff=True)
    assert [k["key_action"] for k in result["dkim_keys"]] == ["generate", "replace"]
    assert "d1.example.org: unusable key" in result["diff"]["before"]
    assert (tmp_path / os.path.basename(specs[1].path)).read_bytes() == b"garbage"


def test_ensure_keys_fails_before_writing_anything(tmp_path):
    specs = _wanted(tmp_path)
    with open(specs[1].path, "wb") as handle:
        handle.write(b"garbage")
    with pytest.raises(_dkim.DkimError, match=r"^keys\[1\]"):
        _dkim.ensure_keys(specs, key_dir=str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == [os.path.basename(specs[1].path)]


def test_ensure_keys_replaces_invalid_when_asked(tmp_path):
    specs = _wanted(tmp_path)
    with open(specs[0].path, "wb") as handle:
        handle.write(b"garbage")
    result = _dkim.ensure_keys(specs, key_dir=str(tmp_path), replace_invalid=True)
    assert [k["key_action"] for k in result["dkim_keys"]] == ["replace", "generate"]
    assert _dkim.load_key(open(specs[0].path, "rb").read()).txt_value == result["dkim_keys"][0]["txt_value"]


def test_ensure_keys_key_dir_is_a_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for key_dir in (blocker, blocker / "dkim"):
        with pytest.raises(_dkim.DkimError, match="^key_dir: .* is not a directory"):
            _dkim.ensure_keys(_wanted(key_dir), key_dir=str(key_dir))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_ensure_keys_key_dir_not_writable(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(_dkim.DkimError, match="^key_dir: cannot write key files"):
        _dkim.ensure_keys(_wanted(locked / "dkim"), key_dir=str(locked / "dkim"))


@pytest.mark.parametrize("workers", [0, -1, True, "2"])
def test_ensure_keys_workers(tmp_path, workers):
    with pytest.raises(_dkim.DkimError, match="^workers:"):
        _dkim.ensure_keys(_wanted(tmp_path), key_dir=str(tmp_path), workers=workers)


def test_ensure_keys_in_memory_returns_only_new_private_keys(ed_pem):
    specs = _dkim.key_specs([{"domain": "example.org", "selector": "a", "algorithm": "ed25519", "private_key": ed_pem.decode()},
                             {"domain": "example.org", "selector": "b", "algorithm": "ed25519"}])
    hidden = _dkim.ensure_keys(specs)
    assert "private_key" not in hidden["dkim_keys"][0] and "private_key" not in hidden["dkim_keys"][1]
    result = _dkim.ensure_keys(specs, return_private_keys=True)
    assert [k["key_action"] for k in result["dkim_keys"]] == ["keep", "generate"] and result["changed"]
    assert "private_key" not in result["dkim_keys"][0]
    new = _dkim.load_key(result["dkim_keys"][1]["private_key"])
    assert new.txt_value == result["dkim_keys"][1]["txt_value"] and result["dkim_keys"][1]["path"] is None
    assert result["dkim_keys"][0]["txt_value"] == _dkim.load_key(ed_pem).txt_value


def test_write_key_file_is_atomic_and_private(tmp_path):
    target = tmp_path / "k.pem"
    target.write_bytes(b"old")
    os.chmod(target, 0o644)
    _dkim.write_key_file(str(target), b"new")
    assert target.read_bytes() == b"new" and _mode(target) == 0o600
    assert os.listdir(tmp_path) == ["k.pem"]


def test_txt_strings_are_split(tmp_path):
    specs = _dkim.key_specs([{"domain": "example.org", "selector": "s1", "algorithm": "rsa"}])
    key = _dkim.ensure_keys(specs)["dkim_keys"][0]
    assert "".join(key["txt_strings"]) == key["txt_value"]
    assert len(key["txt_strings"]) == 2 and all(len(s) <= 255 for s in key["txt_strings"])


def test_key_files_take_returned_keys_then_stored_ones():
    results = [
        {"record_name": "s1-rsa._domainkey.a.test", "private_key": "NEW-PEM"},  # generated this run
        {"record_name": "s1-ed25519._domainkey.a.test"},  # passed in: comes back without its key
        {"record_name": "s1-rsa._domainkey.b.test"},  # check mode, nothing anywhere
    ]
    stored = {"s1-ed25519._domainkey.a.test.pem": "KEPT-PEM", "s0-rsa._domainkey.a.test.pem": "RETIRED-PEM"}
    assert _dkim.key_files(results, stored) == {"s1-rsa._domainkey.a.test.pem": "NEW-PEM",
                                                "s1-ed25519._domainkey.a.test.pem": "KEPT-PEM"}


def test_key_files_read_the_module_key_files_of_records():
    records = [{"record_name": "s1-rsa._domainkey.a.test"}, {"record_name": "s1-ed25519._domainkey.a.test"},
               {"record_name": "s1-rsa._domainkey.b.test"}]
    returned = {"s1-rsa._domainkey.a.test.pem": "READ-PEM", "s9-rsa._domainkey.gone.test.pem": "NOT-ASKED"}
    stored = {"s1-ed25519._domainkey.a.test.pem": "KEPT-PEM"}
    assert _dkim.key_files(records, stored, returned) == {"s1-rsa._domainkey.a.test.pem": "READ-PEM",
                                                          "s1-ed25519._domainkey.a.test.pem": "KEPT-PEM"}


def test_ensure_keys_returns_records_and_key_files(tmp_path):
    passed = _dkim.generate_key("ed25519").private_pem.decode()
    specs = _dkim.key_specs([{"domain": "a.test", "selector": "s1", "algorithm": "rsa"},
                             {"domain": "a.test", "selector": "s2", "algorithm": "ed25519", "private_key": passed}],
                            key_dir=str(tmp_path))
    made = _dkim.ensure_keys(specs, key_dir=str(tmp_path), return_key_files=True)
    assert made["records"] == _dkim.public_records(made["dkim_keys"])
    assert [r["record_name"] for r in made["records"]] == ["s1._domainkey.a.test", "s2._domainkey.a.test"]
    # The key passed in is not handed back; the one made is, as written to its file.
    assert made["key_files"] == {"s1._domainkey.a.test.pem": (tmp_path / "s1._domainkey.a.test.pem").read_text()}
    assert "private_key" not in made["dkim_keys"][0]
    again = _dkim.ensure_keys(specs, key_dir=str(tmp_path), return_key_files=True)
    assert again["key_files"] == made["key_files"] and not again["changed"]
    assert "key_files" not in _dkim.ensure_keys(specs, key_dir=str(tmp_path))


def test_ensure_keys_check_mode_has_no_key_files_for_keys_not_made(tmp_path):
    specs = _dkim.key_specs([{"domain": "a.test", "selector": "s1", "algorithm": "ed25519"}], key_dir=str(tmp_path))
    result = _dkim.ensure_keys(specs, key_dir=str(tmp_path), check_mode=True, return_key_files=True)
    assert result["key_files"] == {} and result["records"][0]["txt_value"] is None


def test_public_records_never_carry_the_private_key():
    result = {"domain": "a.test", "selector": "s1-rsa", "algorithm": "rsa", "record_name": "s1-rsa._domainkey.a.test",
              "txt_value": "v=DKIM1; k=rsa; p=AAA", "txt_strings": ["v=DKIM1; k=rsa; p=AAA"], "public_key": "PUB",
              "private_key": "SECRET", "path": "/keys/x.pem", "changed": False}
    (record,) = _dkim.public_records([result])
    assert record == {key: result[key] for key in _dkim.PUBLIC_FIELDS}
    assert "private_key" not in record


def test_wanted_keys_default_selectors_then_published_generations():
    domains = [{"name": "A.test"}, {"name": "b.test", "dkim_selectors": {"rsa": "mail", "ed25519": False}}]
    keys = _dkim.wanted_keys(domains, "s2", published=["s1"])
    assert keys == [
        {"domain": "a.test", "algorithm": "rsa", "size": 2048, "selector": "s2-rsa"},
        {"domain": "a.test", "algorithm": "ed25519", "selector": "s2-ed25519"},
        {"domain": "b.test", "algorithm": "rsa", "size": 2048, "selector": "mail"},
        # b.test names its own selectors: no key of the published generation
        {"domain": "a.test", "algorithm": "rsa", "size": 2048, "selector": "s1-rsa"},
        {"domain": "a.test", "algorithm": "ed25519", "selector": "s1-ed25519"},
    ]


def test_wanted_keys_ed25519_off_and_stored_private_keys():
    domains = [{"name": "a.test"}, {"name": "b.test", "dkim_selectors": {"ed25519": "ed"}}]
    stored = {"s1-rsa._domainkey.a.test.pem": "PEM-A", "other.pem": "X"}
    keys = _dkim.wanted_keys(domains, "s1", ed25519=False, stored=stored)
    assert keys == [
        {"domain": "a.test", "algorithm": "rsa", "size": 2048, "selector": "s1-rsa", "private_key": "PEM-A"},
        {"domain": "b.test", "algorithm": "rsa", "size": 2048, "selector": "s1-rsa"},
        # a domain's own ed25519 selector keeps its key even with Ed25519 off globally
        {"domain": "b.test", "algorithm": "ed25519", "selector": "ed"},
    ]


def test_wanted_keys_ed25519_true_is_the_default_selector():
    keys = _dkim.wanted_keys([{"name": "a.test", "dkim_selectors": {"ed25519": True}}], "s3", ed25519=False)
    assert [k["selector"] for k in keys] == ["s3-rsa", "s3-ed25519"]
