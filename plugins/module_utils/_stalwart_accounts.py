# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""Mailboxes from variables: accounts, groups, mailing lists and their plan objects (Stalwart 0.16 registry).

Pure functions. ``problems`` checks the role's variables and names the variable and item of every mistake;
``hashed`` replaces plain passwords by SHA-512-crypt hashes (``$6$``) with a salt derived from a per-install
key and the address, so the same password always gives the same hash; ``plan_ops`` maps the result to plan operations.

Registry encoding: a user or group is an ``x:Account`` (``@type`` User/Group) matched on ``name`` + ``domainId``;
aliases are an ``x:EmailAlias`` object list; the disk quota is ``quotas.maxDiskQuota`` (bytes, absent = unlimited);
group membership is the user's ``memberGroupIds`` set; a list is an ``x:MailingList`` with a ``recipients`` set.

The server never reads a password back (``****``), so a changed password could not be seen by comparing. Each hashed
password therefore has a revision record, an ``x:MemoryLookupKeyValue`` in namespace :data:`REVISION_NAMESPACE`
keyed by the address, whose value is a digest of the hash. The account object names its record with the plan-level
key ``@revision``; the reconciler sends the password only when the record is created or changed (see ``_jmap``).
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import hashlib
import hmac
import re
import typing as t

REVISION = "@revision"
# A plan value {"@hash": NAME}: the SHA-512-crypt of the secret NAME (an account's password, from a Secret) in an
# account's credentials, or that hash's revision in its record. Only the applier, holding the secret and the key, computes them.
HASH_REF = "@hash"
# The settings Job's secret holding the accounts' hashes: each under the name HASH_ENV_PREFIX + the account's creation id.
HASH_ENV_PREFIX = "STALWART_HASH_"
ACCOUNT_KEY_ENV = "STALWART_ACCOUNT_KEY"
REVISION_NAMESPACE = "openova.stalwart.password"
MIN_PASSWORD_LENGTH = 12
ROLES = ("user", "admin")
STATES = ("present", "absent")
ACCOUNT_KEYS = ("name", "domain", "description", "aliases", "quota", "password", "password_hash", "password_env",
                "password_secret", "roles", "enabled", "state")
GROUP_KEYS = ("name", "domain", "description", "aliases", "quota", "members", "state")
LIST_KEYS = ("name", "domain", "description", "aliases", "recipients", "state")

_CRYPT64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SHA512_ORDER = ((0, 21, 42), (22, 43, 1), (44, 2, 23), (3, 24, 45), (25, 46, 4), (47, 5, 26), (6, 27, 48), (28, 49, 7),
                 (50, 8, 29), (9, 30, 51), (31, 52, 10), (53, 11, 32), (12, 33, 54), (34, 55, 13), (56, 14, 35),
                 (15, 36, 57), (37, 58, 16), (59, 17, 38), (18, 39, 60), (40, 61, 19), (62, 20, 41))
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGTP]?i?B?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "K": 1000, "KB": 1000, "M": 1000 ** 2, "MB": 1000 ** 2, "G": 1000 ** 3, "GB": 1000 ** 3,
          "T": 1000 ** 4, "TB": 1000 ** 4, "P": 1000 ** 5, "PB": 1000 ** 5,
          "KIB": 1024, "MIB": 1024 ** 2, "GIB": 1024 ** 3, "TIB": 1024 ** 4, "PIB": 1024 ** 5,
          "KI": 1024, "MI": 1024 ** 2, "GI": 1024 ** 3, "TI": 1024 ** 4, "PI": 1024 ** 5}
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


# ---------------------------------------------------------------- SHA-512-crypt


def _b64_triple(b2: int, b1: int, b0: int, count: int) -> str:
    word = (b2 << 16) | (b1 << 8) | b0
    out = []
    for _count in range(count):
        out.append(_CRYPT64[word & 0x3F])
        word >>= 6
    return "".join(out)


def sha512_crypt(password: str, salt: str, rounds: int = 5000) -> str:
    """SHA-512-crypt (``$6$``): the system's libcrypt when it has it (faster, same bytes), else :func:`sha512_crypt_pure`."""
    fast = _libcrypt_sha512(password, salt, rounds)
    return fast if fast is not None else sha512_crypt_pure(password, salt, rounds)


# libxcrypt's crypt_rn(phrase, setting, data, size): reentrant, and told the size of its work area.
_CRYPT_DATA_SIZE = 32768
_crypt_rn: t.Any = None


def _load_crypt_rn() -> t.Any:
    global _crypt_rn  # pylint: disable=global-statement
    if _crypt_rn is None:
        _crypt_rn = False
        try:
            name = ctypes.util.find_library("crypt")
            function = ctypes.CDLL(name).crypt_rn if name else None
        except (OSError, AttributeError):
            function = None
        if function is not None:
            function.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int)
            function.restype = ctypes.c_char_p
            _crypt_rn = function
    return _crypt_rn


def _libcrypt_sha512(password: str, salt: str, rounds: int) -> str | None:
    """The same hash from libcrypt, or None (no libxcrypt, or input it would read differently: NUL, odd salt)."""
    function = _load_crypt_rn()
    key = password.encode("utf-8")
    salt_bytes = salt.encode("ascii")[:16]
    if not function or b"\0" in key or not 1000 <= rounds <= 999999999 or re.search(rb"[^./0-9A-Za-z]", salt_bytes):
        return None
    prefix = "$6$" if rounds == 5000 else f"$6$rounds={rounds}$"
    setting = f"{prefix}{salt_bytes.decode('ascii')}$".encode("ascii")
    work = ctypes.create_string_buffer(_CRYPT_DATA_SIZE)
    try:
        out = function(key, setting, work, _CRYPT_DATA_SIZE)
    finally:
        ctypes.memset(work, 0, _CRYPT_DATA_SIZE)
    text = out.decode("ascii") if out else ""
    return text if text.startswith(setting.decode("ascii")) and len(text) == len(setting) + 86 else None


def sha512_crypt_pure(password: str, salt: str, rounds: int = 5000) -> str:
    """SHA-512-crypt (``$6$``) as glibc's ``crypt(3)`` and ``openssl passwd -6`` compute it (Drepper's specification)."""
    if not 1000 <= rounds <= 999999999:
        raise ValueError(f"rounds: {rounds} is outside 1000..999999999")
    key = password.encode("utf-8")
    salt_bytes = salt.encode("ascii")[:16]
    if b"$" in salt_bytes or b":" in salt_bytes or b"\n" in salt_bytes:
        raise ValueError(f"salt: {salt!r} holds a character crypt(3) does not allow")
    length = len(key)
    digest_b = hashlib.sha512(key + salt_bytes + key).digest()
    ctx = hashlib.sha512(key + salt_bytes)
    remaining = length
    while remaining > 64:
        ctx.update(digest_b)
        remaining -= 64
    ctx.update(digest_b[:remaining])
    remaining = length
    while remaining:
        ctx.update(digest_b if remaining & 1 else key)
        remaining >>= 1
    digest_a = ctx.digest()
    p_bytes = (hashlib.sha512(key * length).digest() * (length // 64 + 1))[:length]
    s_bytes = (hashlib.sha512(salt_bytes * (16 + digest_a[0])).digest() * (len(salt_bytes) // 64 + 1))[:len(salt_bytes)]
    # The 42 combinations of (odd round, round % 3, round % 7) prefixes, computed once.
    digest_c = digest_a
    for number in range(rounds):
        odd = number & 1
        data = (p_bytes if odd else digest_c) + (s_bytes if number % 3 else b"") + (p_bytes if number % 7 else b"")
        data += digest_c if odd else p_bytes
        digest_c = hashlib.sha512(data).digest()
    text = "".join(_b64_triple(digest_c[a], digest_c[b], digest_c[c], 4) for a, b, c in _SHA512_ORDER)
    text += _b64_triple(0, 0, digest_c[63], 2)
    prefix = "$6$" if rounds == 5000 else f"$6$rounds={rounds}$"
    return f"{prefix}{salt_bytes.decode('ascii')}${text}"


def derive_salt(key: str, address: str) -> str:
    """16 salt characters from HMAC-SHA256(key, address): the same address always gets the same salt."""
    digest = hmac.new(key.encode("utf-8"), b"sha512-crypt-salt\0" + address.lower().encode("utf-8"), hashlib.sha256).digest()
    return "".join(_CRYPT64[byte & 0x3F] for byte in digest[:16])


def password_hash(password: str, key: str, address: str) -> str:
    return sha512_crypt(password, derive_salt(key, address))


# ---------------------------------------------------------------- hash cache

# The hash cache: per account, a keyed fingerprint of its address, salt and password with the digest part of the hash
# made from them last time. Stalwart never reads passwords back, so without it every run hashes every password again.
# The salt is derived, so a hash from the cache equals a fresh one; a cache that is missing, damaged (its MAC fails)
# or made under another key is ignored, which only costs time.
CACHE_MAX_BYTES = 1048000  # one Secret holds 1 MiB (10,000 entries); the accounts past it are hashed on every run
_CACHE_VERSION = "v1"
_CACHE_LINE = re.compile(r"^([A-Za-z0-9_-]{16}) ([./0-9A-Za-z]{86})$")


def cache_fingerprint(cache_key: str, address: str, salt: str, password: str) -> str:
    """16 characters (96 bits) of HMAC-SHA256 under the cache key (not the salt key), domain-separated from every other use."""
    message = b"\0".join((b"openova.stalwart.hash-cache", address.lower().encode("utf-8"), salt.encode("ascii"), password.encode("utf-8")))
    return base64.urlsafe_b64encode(hmac.new(cache_key.encode("utf-8"), message, hashlib.sha256).digest()[:12]).decode("ascii")


def _cache_mac(cache_key: str, lines: list[str]) -> str:
    body = "\n".join(lines).encode("ascii")
    return hmac.new(cache_key.encode("utf-8"), b"openova.stalwart.hash-cache-mac\0" + body, hashlib.sha256).hexdigest()


def parse_cache(text: t.Any, cache_key: str) -> dict[str, str]:
    """Fingerprint -> digest from the cache text; empty unless its first line is the MAC of the rest under ``cache_key``.
    The MAC covers the lines, not the line ends: a file read back without its last newline is still whole."""
    if not isinstance(text, str) or not cache_key:
        return {}
    head, _sep, body = text.partition("\n")
    lines = body.splitlines()
    if not body.isascii() or not hmac.compare_digest(head, f"{_CACHE_VERSION} {_cache_mac(cache_key, lines)}"):
        return {}
    found = {}
    for line in lines:
        match = _CACHE_LINE.match(line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def format_cache(entries: dict[str, str], cache_key: str) -> str:
    """The cache text: a MAC line, then one "fingerprint digest" line per entry, sorted, cut at :data:`CACHE_MAX_BYTES`."""
    lines: list[str] = []
    size = 0
    for fingerprint in sorted(entries):
        line = f"{fingerprint} {entries[fingerprint]}"
        if size + len(line) + 1 > CACHE_MAX_BYTES:
            break
        lines.append(line)
        size += len(line) + 1
    return "".join(f"{line}\n" for line in [f"{_CACHE_VERSION} {_cache_mac(cache_key, lines)}"] + lines)


def revision(secret_hash: str) -> str:
    """The revision record's value: a digest of the (salted) hash, which changes with the password and tells nothing more."""
    return hashlib.sha256(b"password-revision\0" + secret_hash.encode("utf-8")).hexdigest()[:32]


# Password hashes Stalwart 0.16 verifies (directory secret.rs, verify_secret_hash) that are fit for accounts: SHA-512-
# and SHA-256-crypt, bcrypt, and the PHC strings of Argon2, PBKDF2 and scrypt. Stalwart also verifies MD5-crypt,
# SHA-1-crypt, DES and unsalted {SHA}-style digests (weak), and compares anything else as a plain password.
_B64 = r"[A-Za-z0-9+/]+"
_HASHES = {
    "SHA-512-crypt": re.compile(r"\$6\$(rounds=[0-9]{4,9}\$)?[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{86}"),
    "SHA-256-crypt": re.compile(r"\$5\$(rounds=[0-9]{4,9}\$)?[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{43}"),
    "bcrypt": re.compile(r"\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./0-9A-Za-z]{53}"),
    "Argon2": re.compile(rf"\$argon2(id|i|d)\$(v=(16|19)\$)?m=[0-9]+,t=[0-9]+,p=[0-9]+\${_B64}\${_B64}"),
    "PBKDF2": re.compile(rf"\$pbkdf2(-sha256|-sha512)?\$i=[0-9]+(,l=[0-9]+)?\${_B64}\${_B64}"),
    "scrypt": re.compile(rf"\$scrypt\$ln=[0-9]+,r=[0-9]+,p=[0-9]+\${_B64}\${_B64}"),
}
_WEAK_HASHES = (("$1$", "MD5-crypt"), ("$sha1$", "SHA-1-crypt"), ("_", "DES-crypt"), ("{", "an unsalted or prefixed digest"))


def hash_problem(value: t.Any) -> str | None:
    """Why ``value`` is no password hash Stalwart verifies safely (None when it is one: SHA-512/SHA-256-crypt such as
    ``openssl passwd -6`` prints, bcrypt ``$2b$``, or a PHC string of Argon2, PBKDF2 or scrypt)."""
    accepted = "SHA-512-crypt ($6$, openssl passwd -6), SHA-256-crypt ($5$), bcrypt ($2b$), Argon2 ($argon2id$), PBKDF2 or scrypt"
    if not isinstance(value, str) or not value:
        return f"expected a password hash: {accepted}"
    if any(pattern.fullmatch(value) for pattern in _HASHES.values()):
        return None
    for prefix, name in _WEAK_HASHES:
        if value.startswith(prefix):
            return f"{name} is too weak or not accepted here; give {accepted}"
    if not value.startswith("$"):
        # Stalwart would take such a string as the plain password itself.
        return f"not a password hash (Stalwart would compare it as a plain password); expected {accepted}"
    return f"not a well-formed password hash; expected {accepted}"


# ---------------------------------------------------------------- sizes and names


def parse_size(value: t.Any) -> int | None:
    """``5GiB``, ``500 MB``, ``1073741824`` -> bytes; ``unlimited``/``0`` -> None; raise ``ValueError`` otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a size")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{value!r} is not a size")
        return value or None
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a size (such as 5GiB, 500MB or unlimited)")
    if value.strip().lower() in ("unlimited", "none", "0"):
        return None
    match = _SIZE.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a size (such as 5GiB, 500MB or unlimited)")
    unit = (match.group(2) or "").upper()
    if unit not in _UNITS:
        raise ValueError(f"{value!r} has an unknown unit {match.group(2)!r} (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)")
    number = float(match.group(1)) * _UNITS[unit]
    if not number.is_integer() and unit in ("", "B"):
        raise ValueError(f"{value!r} is not a whole number of bytes")
    return int(number) or None


def _domain_id(name: str) -> str:
    return "domain_" + name.replace(".", "_")


def _cid(prefix: str, address: str) -> str:
    return prefix + "_" + re.sub(r"[^A-Za-z0-9]", lambda m: f"_{ord(m.group(0)):x}_", address)


# ---------------------------------------------------------------- normalisation and problems


class _Collector:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.addresses: dict[str, str] = {}
        self.secret_refs: dict[str, tuple[str, str, str]] = {}

    def add(self, message: str) -> None:
        self.problems.append(message)

    def claim(self, address: str, where: str) -> None:
        if address in self.addresses:
            self.add(f"{where}: {address} is already used by {self.addresses[address]}")
        else:
            self.addresses[address] = where


def _local(value: t.Any, where: str, out: _Collector) -> str | None:
    if not isinstance(value, str) or not value:
        out.add(f"{where}: required, the local part of the address (before the @)")
        return None
    if "@" in value or not _LOCAL.match(value):
        out.add(f"{where}: {value!r} is not a local part (no @, spaces or leading/trailing dots)")
        return None
    return value.lower()


def _address(value: t.Any, default_domain: str, domains: set[str], where: str, out: _Collector,
             domains_variable: str = "stalwart_domains") -> tuple[str, str] | None:
    """A local part (of ``default_domain``) or a full address -> (local, domain) with the domain checked."""
    if not isinstance(value, str) or not value:
        out.add(f"{where}: expected an address or a local part, got {value!r}")
        return None
    local, at, domain = value.lower().rpartition("@")
    if not at:
        local, domain = value.lower(), default_domain
    if not _LOCAL.match(local):
        out.add(f"{where}: {value!r} is not an address")
        return None
    if domain not in domains:
        out.add(f"{where}: domain {domain} of {value!r} is not in {domains_variable}")
        return None
    return local, domain


def _known(item: dict[str, t.Any], keys: tuple[str, ...], where: str, out: _Collector) -> None:
    unknown = sorted(str(k) for k in item if k not in keys)
    if unknown:
        out.add(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(keys)})")


def _common(item: t.Any, index: int, variable: str, keys: tuple[str, ...], domains: list[str], out: _Collector,
            domains_variable: str) -> dict[str, t.Any] | None:
    where = f"{variable}[{index}]"
    if not isinstance(item, dict):
        out.add(f"{where}: expected a dictionary with name (and domain), got {type(item).__name__}")
        return None
    _known(item, keys, where, out)
    state = item.get("state") or "present"
    if state not in STATES:
        out.add(f"{where}.state: {state!r} is not one of present, absent")
    name = _local(item.get("name"), f"{where}.name", out)
    domain = item.get("domain") or (domains[0] if domains else None)
    if not isinstance(domain, str) or domain.lower().rstrip(".") not in domains:
        out.add(f"{where}.domain: {domain!r} is not in {domains_variable}")
        domain = None
    else:
        domain = domain.lower().rstrip(".")
    if name is None or domain is None:
        return None
    description = item.get("description")
    if description is not None and not isinstance(description, str):
        out.add(f"{where}.description: expected a string")
    result: dict[str, t.Any] = {"name": name, "domain": domain, "address": f"{name}@{domain}", "where": where, "state": state,
                                "description": description or None}
    if state == "absent":
        return result
    out.claim(result["address"], where)
    aliases = item.get("aliases") or []
    if not isinstance(aliases, list):
        out.add(f"{where}.aliases: expected a list of local parts or addresses")
        aliases = []
    result["aliases"] = []
    for number, alias in enumerate(aliases):
        parsed = _address(alias, domain, set(domains), f"{where}.aliases[{number}]", out, domains_variable)
        if parsed:
            out.claim(f"{parsed[0]}@{parsed[1]}", f"{where}.aliases[{number}]")
            result["aliases"].append(parsed)
    if "quota" in keys and item.get("quota") is not None:
        try:
            result["quota"] = parse_size(item["quota"])
        except ValueError as err:
            out.add(f"{where}.quota: {err}")
    return result


def _password(item: dict[str, t.Any], entry: dict[str, t.Any], out: _Collector) -> None:
    where = entry["where"]
    given = [k for k in ("password", "password_hash", "password_env", "password_secret") if item.get(k) not in (None, "")]
    if len(given) > 1:
        out.add(f"{where}: set only one of {', '.join(given)}")
        return
    if not given:
        out.add(f"{where}.password: required (or password_secret, the {{name, key}} of a Kubernetes Secret)")
        return
    kind = given[0]
    value = item[kind]
    if kind == "password":
        if not isinstance(value, str):
            out.add(f"{where}.password: expected a string")
        elif len(value) < MIN_PASSWORD_LENGTH:
            out.add(f"{where}.password: too weak, shorter than {MIN_PASSWORD_LENGTH} characters")
        elif len(set(value)) < 4:
            out.add(f"{where}.password: too weak, fewer than 4 different characters")
    elif kind == "password_hash":
        problem = hash_problem(value)
        if problem:
            out.add(f"{where}.password_hash: {problem}")
    elif kind == "password_env":
        if not isinstance(value, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", value):
            out.add(f"{where}.password_env: {value!r} is not an environment variable name")
    elif (not isinstance(value, dict) or not isinstance(value.get("name"), str) or not isinstance(value.get("key"), str)
          or not value["name"] or not value["key"] or set(value) - {"name", "key"}):
        out.add(f"{where}.password_secret: expected {{name, key}} of a Kubernetes Secret, got {value!r}")
    else:
        # The settings Job mounts the key under this name: two different {name, key} may not share it.
        ref = secret_env_name(value["name"], value["key"])
        seen = out.secret_refs.setdefault(ref, (value["name"], value["key"], where))
        if seen[:2] != (value["name"], value["key"]):
            out.add(f"{where}.password_secret: {value['name']}/{value['key']} and {seen[0]}/{seen[1]} of {seen[2]} both map to {ref};"
                    " rename the Secret or its key")
    entry["password"] = (kind, value)


def normalise(accounts: t.Any, groups: t.Any, lists: t.Any, domains: t.Any,
              variables: tuple[str, str, str] = ("stalwart_accounts", "stalwart_groups", "stalwart_mailing_lists"),
              require_password: bool = True, domains_variable: str = "stalwart_domains") -> tuple[dict[str, t.Any], list[str]]:
    """Check and normalise the three lists; return ({accounts, groups, lists, absent}, problems)."""
    out = _Collector()
    names: list[str] = []
    for item in domains or []:
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, str):
            names.append(name.lower().rstrip("."))
    result: dict[str, list[t.Any]] = {"accounts": [], "groups": [], "lists": [], "absent": []}
    for variable, items, kind in zip(variables, (accounts, groups, lists), ("accounts", "groups", "lists"), strict=True):
        if items in (None, ""):
            continue
        if not isinstance(items, list):
            out.add(f"{variable}: expected a list, got {type(items).__name__}")
            continue
        keys = {"accounts": ACCOUNT_KEYS, "groups": GROUP_KEYS, "lists": LIST_KEYS}[kind]
        for index, item in enumerate(items):
            entry = _common(item, index, variable, keys, names, out, domains_variable)
            if entry is None:
                continue
            entry["kind"] = kind
            if entry["state"] == "absent":
                result["absent"].append(entry)
                continue
            if kind == "accounts":
                if require_password:
                    _password(item, entry, out)
                roles = item.get("roles")
                if roles is not None:
                    roles = [roles] if isinstance(roles, str) else roles
                    if not isinstance(roles, list) or any(r not in ROLES for r in roles):
                        out.add(f"{entry['where']}.roles: {item.get('roles')!r} is not a list of user, admin")
                    entry["roles"] = roles
                enabled = item.get("enabled", True)
                if not isinstance(enabled, bool):
                    out.add(f"{entry['where']}.enabled: expected true or false")
                entry["enabled"] = enabled is not False
            elif kind == "groups":
                members = item.get("members") or []
                if not isinstance(members, list):
                    out.add(f"{entry['where']}.members: expected a list of accounts")
                    members = []
                entry["members"] = list(enumerate(members))
            else:
                recipients = item.get("recipients") or []
                if not isinstance(recipients, list) or not recipients:
                    out.add(f"{entry['where']}.recipients: expected a non-empty list of addresses")
                    recipients = []
                entry["recipients"] = []
                for number, recipient in enumerate(recipients):
                    local, at, domain = recipient.lower().rpartition("@") if isinstance(recipient, str) else ("", "", "")
                    if not at or not _LOCAL.match(local) or not _DOMAIN.match(domain):
                        out.add(f"{entry['where']}.recipients[{number}]: {recipient!r} is not an address")
                    else:
                        entry["recipients"].append(f"{local}@{domain}")
            result[kind].append(entry)
    present = {e["address"]: e for e in result["accounts"]}
    for entry in result["absent"]:
        if entry["address"] in out.addresses:
            out.add(f"{entry['where']}: {entry['address']} is both absent here and present in {out.addresses[entry['address']]}")
    for group in result["groups"]:
        resolved = []
        for number, member in group.pop("members"):
            where = f"{group['where']}.members[{number}]"
            parsed = _address(member, group["domain"], set(names), where, out, domains_variable) if isinstance(member, str) else None
            if isinstance(member, str) and parsed is None:
                continue
            address = f"{parsed[0]}@{parsed[1]}" if parsed else None
            if address is None:
                out.add(f"{where}: expected an account name or address, got {member!r}")
            elif address not in present:
                out.add(f"{where}: {address} is not an account of stalwart_accounts (state present)")
            else:
                resolved.append(address)
        group["members"] = sorted(set(resolved))
    return result, out.problems


def smoke_login(login: t.Any, accounts: t.Any, domains: t.Any, variable: str = "stalwart_smoke_login") -> tuple[int | None, str | None]:
    """The index in ``accounts`` of the account the smoke test logs in as (``login``: a name on the first domain, or
    an address), or a problem naming ``variable``: no such present account, or one whose password is not known here."""
    names = [str(d.get("name") if isinstance(d, dict) else d).lower().rstrip(".") for d in domains or []]
    if not isinstance(login, str) or not login or not names:
        return None, f"{variable}: expected the name or address of an account of stalwart_accounts"
    local, at, domain = login.lower().rpartition("@")
    address = login.lower() if at else f"{login.lower()}@{names[0]}"
    for index, item in enumerate(accounts or []):
        if not isinstance(item, dict) or (item.get("state") or "present") != "present":
            continue
        if f"{str(item.get('name', '')).lower()}@{str(item.get('domain') or names[0]).lower().rstrip('.')}" != address:
            continue
        if item.get("password") in (None, "") and not isinstance(item.get("password_secret"), dict):
            return None, (f"{variable}: {address} (stalwart_accounts[{index}]) has no password the smoke test could log in"
                          " with (give password or password_secret)")
        return index, None
    return None, f"{variable}: {address} is not an account of stalwart_accounts (state present)"


def problems(accounts: t.Any, groups: t.Any, lists: t.Any, domains: t.Any) -> list[str]:
    """Every mistake in the variables, each naming the variable and item (empty when all is well)."""
    return normalise(accounts, groups, lists, domains)[1]


def with_secrets(accounts: t.Any, secrets: t.Any) -> list[t.Any]:
    """``accounts`` with each ``password_secret`` whose value ``secrets`` (by Secret name and key) knows as ``password``."""
    resolved = []
    for item in accounts or []:
        ref = item.get("password_secret") if isinstance(item, dict) else None
        if isinstance(ref, dict) and ref.get("key") in ((secrets or {}).get(ref.get("name")) or {}):
            item = dict({k: v for k, v in item.items() if k != "password_secret"}, password=secrets[ref["name"]][ref["key"]])
        resolved.append(item)
    return resolved


def hashed(accounts: t.Any, domains: t.Any, key: str) -> list[t.Any]:
    """``accounts`` with each plain ``password`` replaced by ``password_hash`` (SHA-512-crypt, salt from ``key`` and
    the address); everything else unchanged. The input must have passed :func:`problems`."""
    return hashed_cached(accounts, domains, key)[0]


def hashed_cached(accounts: t.Any, domains: t.Any, key: str, cache_key: str = "",
                  cache: t.Any = "") -> tuple[list[t.Any], str, int]:
    """:func:`hashed` with the hash cache: returns the accounts, the new cache text (only the accounts of this run;
    empty without ``cache_key``) and how many passwords were hashed (the others came from ``cache``)."""
    if not key:
        raise ValueError("the account password key is empty")
    known = parse_cache(cache, cache_key)
    entries: dict[str, str] = {}
    count = 0
    first = None
    for item in domains or []:
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, str):
            first = name.lower().rstrip(".")
            break
    result = []
    for item in accounts or []:
        if isinstance(item, dict) and item.get("password") not in (None, "") and (item.get("state") or "present") == "present":
            address = f"{str(item['name']).lower()}@{str(item.get('domain') or first).lower().rstrip('.')}"
            password = str(item["password"])
            salt = derive_salt(key, address)
            fingerprint = cache_fingerprint(cache_key, address, salt, password) if cache_key else ""
            setting = f"$6${salt}$"
            if fingerprint in known:
                secret = setting + known[fingerprint]
            else:
                secret = sha512_crypt(password, salt)
                count += 1
            if fingerprint and secret.startswith(setting):
                entries[fingerprint] = secret[len(setting):]
            item = {k: v for k, v in item.items() if k != "password"}
            item["password_hash"] = secret
        result.append(item)
    return result, format_cache(entries, cache_key) if cache_key else "", count


# ---------------------------------------------------------------- plan


def _aliases(entry: dict[str, t.Any]) -> dict[str, t.Any]:
    return {str(n): {"name": local, "domainId": "#" + _domain_id(domain), "enabled": True}
            for n, (local, domain) in enumerate(sorted(set(entry.get("aliases") or [])))}


def _base(entry: dict[str, t.Any], variant: str | None) -> dict[str, t.Any]:
    value: dict[str, t.Any] = {}
    if variant:
        value["@type"] = variant
    value["name"] = entry["name"]
    value["domainId"] = "#" + _domain_id(entry["domain"])
    value["description"] = entry.get("description")
    value["aliases"] = _aliases(entry)
    if "quota" in entry:
        value["quotas"] = {"maxDiskQuota": entry["quota"]} if entry["quota"] else {}
    return value


def plan_ops(accounts: t.Any, groups: t.Any, lists: t.Any, domains: t.Any,
             variables: tuple[str, str, str] = ("accounts", "groups", "mailing_lists"),
             domains_variable: str = "stalwart_domains") -> tuple[list[dict[str, t.Any]], list[dict[str, t.Any]]]:
    """Plan operations for the declared objects, and the ``reconcile`` entries that remove those with state absent.

    ``accounts`` items carry ``password_hash`` (with ``password_revision``), ``password_env`` or ``password_secret``
    (a reference the applier resolves). Raise ``ValueError`` with every problem when the input is not valid."""
    data, found = normalise(accounts, groups, lists, domains, variables=variables, domains_variable=domains_variable)
    plain = [e["where"] for e in data["accounts"] if e.get("password", ("",))[0] == "password"]
    if plain:
        found.append(f"{plain[0]}.password: plain passwords must be hashed first (hashed filter or password_hash)")
    if found:
        raise ValueError("; ".join(found))
    ops: list[dict[str, t.Any]] = []
    records: dict[str, dict[str, t.Any]] = {}
    values: dict[str, dict[str, t.Any]] = {}
    group_cids: dict[str, list[str]] = {}
    for entry in sorted(data["groups"], key=lambda e: e["address"]):
        cid = _cid("group", entry["address"])
        values[cid] = _base(entry, "Group")
        for member in entry["members"]:
            group_cids.setdefault(member, []).append(cid)
    for entry in sorted(data["accounts"], key=lambda e: e["address"]):
        cid = _cid("account", entry["address"])
        value = _base(entry, "User")
        kind, secret = entry["password"]
        if kind == "password_hash":
            value["credentials"] = {"0": {"@type": "Password", "secret": secret}}
            record = _cid("revision", entry["address"])
            records[record] = {"namespace": REVISION_NAMESPACE, "key": entry["address"], "value": revision(secret),
                               "isGlobPattern": False}
            value[REVISION] = "#" + record
        elif kind == "password_env":
            value["credentials"] = {"0": {"@type": "Password", "secret": {"@env": secret}}}
        else:
            # Hashed by the applier (resolve_hash_refs) from the Secret's value, with its revision record likewise.
            ref = {HASH_REF: secret_env_name(secret["name"], secret["key"])}
            value["credentials"] = {"0": {"@type": "Password", "secret": ref}}
            record = _cid("revision", entry["address"])
            records[record] = {"namespace": REVISION_NAMESPACE, "key": entry["address"], "value": dict(ref), "isGlobPattern": False}
            value[REVISION] = "#" + record
        value["memberGroupIds"] = {"#" + g: True for g in sorted(group_cids.get(entry["address"], []))}
        if entry.get("roles") is not None:
            value["roles"] = {"@type": "Admin" if "admin" in entry["roles"] else "User"}
        # Disabled: the account keeps its mail but may not log in.
        value["permissions"] = ({"@type": "Inherit"} if entry["enabled"]
                                else {"@type": "Merge", "enabledPermissions": {}, "disabledPermissions": {"authenticate": True}})
        values[cid] = value
    if records:
        ops.append({"@type": "upsert", "object": "MemoryLookupKeyValue", "matchOn": ["namespace", "key"], "value": records})
    if values:
        ops.append({"@type": "upsert", "object": "Account", "matchOn": ["name", "domainId"], "value": values})
    lists_value = {}
    for entry in sorted(data["lists"], key=lambda e: e["address"]):
        value = _base(entry, None)
        value["recipients"] = {r: True for r in sorted(set(entry["recipients"]))}
        lists_value[_cid("list", entry["address"])] = value
    if lists_value:
        ops.append({"@type": "upsert", "object": "MailingList", "matchOn": ["name", "domainId"], "value": lists_value})
    removals = []
    # Groups before their members: the applier deletes the entries last to first (children before parents).
    for entry in sorted(data["absent"], key=lambda e: e["kind"] != "groups"):
        obj = "MailingList" if entry["kind"] == "lists" else "Account"
        removals.append({"object": obj, "scope": {"name": entry["name"], "domainId": "#" + _domain_id(entry["domain"])}})
        if entry["kind"] == "accounts":
            removals.append({"object": "MemoryLookupKeyValue", "scope": {"namespace": REVISION_NAMESPACE, "key": entry["address"]}})
    return ops, removals


def secret_env_name(name: str, key: str) -> str:
    """The secret reference name of ``password_secret`` {name, key}: ``STALWART_SECRET_<name>_<key>`` in [A-Z0-9_]."""
    return "STALWART_SECRET_" + re.sub(r"[^A-Z0-9]", "_", f"{name}_{key}".upper())


def is_hash_ref(value: t.Any) -> bool:
    return isinstance(value, dict) and set(value) == {HASH_REF} and isinstance(value[HASH_REF], str)


def _credentials(value: dict[str, t.Any]) -> t.Iterator[dict[str, t.Any]]:
    for credential in (value.get("credentials") or {}).values():
        if isinstance(credential, dict) and credential.get("@type") == "Password":
            yield credential


def split_hashes(ops: list[dict[str, t.Any]]) -> tuple[list[dict[str, t.Any]], dict[str, str]]:
    """``ops`` with each account's literal password hash replaced by a secret reference (``{"@env": NAME}``), and the
    hashes by NAME: the plan a ConfigMap may hold, and its secret part for a Secret. The revision records stay."""
    secrets: dict[str, str] = {}
    result = []
    for op in ops:
        if isinstance(op, dict) and op.get("@type") == "upsert" and op.get("object") in ("Account", "x:Account"):
            values = {}
            for cid, value in (op.get("value") or {}).items():
                credentials = value.get("credentials") if isinstance(value, dict) else None
                if isinstance(credentials, dict):
                    split = {}
                    for number, credential in credentials.items():
                        if isinstance(credential, dict) and credential.get("@type") == "Password" and isinstance(credential.get("secret"), str):
                            name = HASH_ENV_PREFIX + cid + ("" if number == "0" else f"_{number}")
                            secrets[name] = credential["secret"]
                            credential = dict(credential, secret={"@env": name})
                        split[number] = credential
                    value = dict(value, credentials=split)
                values[cid] = value
            op = dict(op, value=values)
        result.append(op)
    return result, secrets


def hash_refs(ops: list[dict[str, t.Any]]) -> set[str]:
    """The secret names the plan's ``{"@hash": NAME}`` values need."""
    found: set[str] = set()
    for op in ops:
        if not isinstance(op, dict) or op.get("@type") != "upsert":
            continue
        for value in (op.get("value") or {}).values():
            if isinstance(value, dict):
                for item in [value.get("value")] + [c.get("secret") for c in _credentials(value)]:
                    if isinstance(item, dict) and is_hash_ref(item):
                        found.add(item[HASH_REF])
    return found


def resolve_hash_refs(ops: list[dict[str, t.Any]], secrets: t.Mapping[str, str], key: str | None) -> list[dict[str, t.Any]]:
    """``ops`` with every ``{"@hash": NAME}`` computed: a revision record's value from the hash of secret NAME under
    ``key`` for the record's address, an account's password from the hash of the record its ``@revision`` names (the
    same hash, so the password is sent only when it changed). Raise ``ValueError`` naming what is missing."""
    needed = hash_refs(ops)
    if not needed:
        return ops
    if not key:
        raise ValueError(f"{ACCOUNT_KEY_ENV} is not set: the passwords from Secrets (password_secret) cannot be hashed")
    missing = sorted(n for n in needed if n not in secrets or secrets[n] in (None, ""))
    if missing:
        raise ValueError(f"secret(s) {', '.join(missing)} not found: the passwords from Secrets (password_secret) cannot be hashed")
    hashes: dict[str, str] = {}
    result = []
    for op in ops:
        if isinstance(op, dict) and op.get("@type") == "upsert" and op.get("object") in ("MemoryLookupKeyValue", "x:MemoryLookupKeyValue"):
            values = {}
            for cid, value in (op.get("value") or {}).items():
                if isinstance(value, dict) and is_hash_ref(value.get("value")):
                    if value.get("namespace") != REVISION_NAMESPACE or not isinstance(value.get("key"), str):
                        raise ValueError(f"record {cid!r}: {HASH_REF} is only computed for a password revision record")
                    secret = secrets[value["value"][HASH_REF]]
                    hashes[cid] = password_hash(secret, key, value["key"])
                    value = dict(value, value=revision(hashes[cid]))
                values[cid] = value
            op = dict(op, value=values)
        elif isinstance(op, dict) and op.get("@type") == "upsert" and op.get("object") in ("Account", "x:Account"):
            values = {}
            for cid, value in (op.get("value") or {}).items():
                if isinstance(value, dict) and any(is_hash_ref(c.get("secret")) for c in _credentials(value)):
                    record = value.get(REVISION)
                    secret_hash = hashes.get(record[1:]) if isinstance(record, str) else None
                    if secret_hash is None:
                        raise ValueError(f"account {cid!r}: {HASH_REF} needs a {REVISION} record computed earlier in the plan")
                    value = dict(value, credentials={n: (dict(c, secret=secret_hash) if isinstance(c, dict) and is_hash_ref(c.get("secret")) else c)
                                                     for n, c in value["credentials"].items()})
                values[cid] = value
            op = dict(op, value=values)
        result.append(op)
    return result
