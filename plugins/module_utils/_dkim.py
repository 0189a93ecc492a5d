# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""DKIM keys (RFC 6376, Ed25519 per RFC 8463): validate, load, generate in parallel, store, and describe.

Everything here is pure logic or local file I/O; ``plugins/modules/dkim_key.py`` only maps options onto
:func:`key_specs` and :func:`ensure_keys`.
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import dataclasses
import multiprocessing
import os
import stat
import tempfile
import traceback
import typing as t

from ansible_collections.openova.stalwart.plugins.module_utils import _validate
from ansible_collections.openova.stalwart.plugins.module_utils._files import make_dirs
from ansible_collections.openova.stalwart.plugins.module_utils._txt import split_txt

try:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None

ALGORITHMS = ("rsa", "ed25519")
RSA_DEFAULT_BITS = 2048
RSA_MIN_BITS = 2048  # RFC 8301 forbids < 1024; anything under 2048 is refused by policy.
RSA_MAX_BITS = 4096  # RFC 8301: verifiers need only handle keys up to 4096 bits.
ED25519_BITS = 256
RSA_PUBLIC_EXPONENT = 65537
KEY_FILE_MODE = 0o600
KEY_DIR_MODE = 0o700


class DkimError(ValueError):
    """Bad input or an unusable existing key. The message names the option at fault."""


class InvalidKey(ValueError):
    """Key material that cannot be used; the message completes the sentence "<source> ..."."""


@dataclasses.dataclass(frozen=True)
class KeySpec:
    """One wanted key. ``option`` is how messages name it (``keys[2]``), empty for the single form."""

    domain: str
    selector: str
    algorithm: str
    size: int
    option: str = ""
    path: str | None = None
    private_key: str | None = dataclasses.field(default=None, repr=False)

    @property
    def record_name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"

    @property
    def label(self) -> str:
        return f"{self.option} ({self.record_name})" if self.option else self.record_name

    def opt(self, name: str) -> str:
        """The full name of one of this key's options, for messages."""
        return f"{self.option}.{name}" if self.option else name


@dataclasses.dataclass(frozen=True)
class KeyMaterial:
    """A usable private key and the public facts derived from it."""

    algorithm: str
    size: int
    private_pem: bytes = dataclasses.field(repr=False)
    public_pem: str
    dns_public: str  # the p= tag: base64 SubjectPublicKeyInfo (RSA) or the raw 32-byte key (Ed25519)

    @property
    def txt_value(self) -> str:
        return txt_value(self.algorithm, self.dns_public)


def key_file_name(record_name: str) -> str:
    """The file (and Secret key) name of a key: ``<selector>._domainkey.<domain>.pem``."""
    return f"{record_name}.pem"


def txt_value(algorithm: str, dns_public: str) -> str:
    """The DKIM key record (RFC 6376 3.6.1; ``k=ed25519`` per RFC 8463 without ``h=``)."""
    if algorithm == "rsa":
        return f"v=DKIM1; k=rsa; h=sha256; p={dns_public}"
    if algorithm == "ed25519":
        return f"v=DKIM1; k=ed25519; p={dns_public}"
    raise ValueError(f"unknown DKIM algorithm {algorithm!r}")


# -- input -----------------------------------------------------------------------------------------
def key_spec(raw: t.Mapping[str, t.Any], option: str = "", path: str | None = None, key_dir: str | None = None,
             default_algorithm: str = "rsa", default_size: int = RSA_DEFAULT_BITS) -> KeySpec:
    """Validate one key request; ``raw`` has domain, selector and optionally algorithm, size, private_key.

    The key file is ``path``, or ``<key_dir>/<selector>._domainkey.<domain>.pem``, or none (in memory)."""
    def opt(name: str) -> str:
        return f"{option}.{name}" if option else name

    domain = _validate.domain(raw.get("domain"), opt("domain"))
    selector = _validate.selector(raw.get("selector"), opt("selector"))
    algorithm = raw.get("algorithm")
    algorithm = default_algorithm if algorithm is None else algorithm
    if algorithm not in ALGORITHMS:
        raise DkimError(f"{opt('algorithm')}: unknown algorithm {algorithm!r}; expected one of {', '.join(ALGORITHMS)}")
    if algorithm == "ed25519":
        size = ED25519_BITS  # Ed25519 keys have one size; a size given for RSA keys does not apply.
    else:
        given = raw.get("size")
        size = default_size if given is None else given
        if isinstance(size, bool) or not isinstance(size, int):
            raise DkimError(f"{opt('size')}: expected a number of bits, got {size!r}")
        if not RSA_MIN_BITS <= size <= RSA_MAX_BITS:
            raise DkimError(f"{opt('size')}: RSA keys of {size} bits are refused; use {RSA_MIN_BITS} to {RSA_MAX_BITS} bits"
                            " (RFC 8301; receivers treat shorter keys as unsigned)")
    private_key = raw.get("private_key")
    if private_key is not None and not isinstance(private_key, str):
        raise DkimError(f"{opt('private_key')}: expected a PEM string")
    if key_dir:
        path = os.path.join(key_dir, key_file_name(f"{selector}._domainkey.{domain}"))
    return KeySpec(domain, selector, algorithm, size, option, path, private_key or None)


def key_specs(keys: t.Sequence[t.Mapping[str, t.Any]], key_dir: str | None = None,
              default_algorithm: str = "rsa", default_size: int = RSA_DEFAULT_BITS) -> list[KeySpec]:
    """Validate the bulk form; key files are ``<key_dir>/<record_name>.pem``. Duplicates are refused."""
    if not isinstance(keys, (list, tuple)) or not keys:
        raise DkimError("keys: expected a non-empty list of {domain, selector, algorithm, size}")
    specs: list[KeySpec] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(keys):
        option = f"keys[{index}]"
        if not isinstance(raw, t.Mapping):
            raise DkimError(f"{option}: expected a dictionary, got {raw!r}")
        spec = key_spec(raw, option, None, key_dir, default_algorithm, default_size)
        if spec.record_name in seen:
            raise DkimError(f"{option}: duplicate key {spec.record_name} (domain {spec.domain!r}, selector"
                            f" {spec.selector!r}), already asked for by keys[{seen[spec.record_name]}]")
        seen[spec.record_name] = index
        specs.append(spec)
    return specs


def default_workers() -> int:
    """Every core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


# -- key material ----------------------------------------------------------------------------------
def _material(key: t.Any, private_pem: bytes) -> KeyMaterial:
    public = key.public_key()
    public_pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    if isinstance(key, rsa.RSAPrivateKey):
        algorithm, size = "rsa", key.key_size
        dns = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    else:
        algorithm, size = "ed25519", ED25519_BITS
        dns = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return KeyMaterial(algorithm, size, private_pem, public_pem.decode("ascii"), base64.b64encode(dns).decode("ascii"))


def _check_rsa(key: t.Any) -> None:
    """Check that the RSA numbers belong together.

    Keys are loaded with OpenSSL's own check skipped (it tests the primes and costs ~65 ms per 2048-bit key,
    over a minute for a thousand keys); these identities cost microseconds and catch any corruption of the
    modulus, exponents or CRT values, so a damaged key can never sign with a public key that does not match.
    """
    numbers = key.private_numbers()
    public = numbers.public_numbers
    p, q, d, e = numbers.p, numbers.q, numbers.d, public.e
    if (p < 3 or q < 3 or p * q != public.n or e < 3 or e % 2 == 0
            or (e * d) % (p - 1) != 1 or (e * d) % (q - 1) != 1
            or numbers.dmp1 != d % (p - 1) or numbers.dmq1 != d % (q - 1) or (numbers.iqmp * q) % p != 1):
        raise InvalidKey("holds RSA numbers that do not belong together (the key is corrupt)")


def load_key(pem: str | bytes) -> KeyMaterial:
    """Load an unencrypted PEM private key (PKCS#8, or PKCS#1 for RSA); raise :class:`InvalidKey`."""
    data = pem.encode("utf-8") if isinstance(pem, str) else bytes(pem)
    try:
        key = serialization.load_pem_private_key(data, password=None, unsafe_skip_rsa_key_validation=True)
    except TypeError:
        raise InvalidKey("is encrypted with a passphrase; DKIM keys must be stored unencrypted") from None
    except (ValueError, UnsupportedAlgorithm):
        raise InvalidKey("is not a PEM private key (corrupt or truncated)") from None
    if isinstance(key, rsa.RSAPrivateKey):
        _check_rsa(key)
    elif not isinstance(key, ed25519.Ed25519PrivateKey):
        raise InvalidKey(f"holds a {type(key).__name__.lstrip('_')} key; DKIM signs with RSA or Ed25519 only")
    return _material(key, data)


def mismatch(material: KeyMaterial, spec: KeySpec) -> str | None:
    """Why ``material`` is not the key ``spec`` asks for, or None."""
    if material.algorithm != spec.algorithm:
        return f"holds an {material.algorithm} key, but {spec.opt('algorithm')} is {spec.algorithm}"
    if material.algorithm == "rsa" and material.size != spec.size:
        return f"holds an RSA key of {material.size} bits, but {spec.opt('size')} is {spec.size}"
    return None


def generate_key(algorithm: str, size: int = RSA_DEFAULT_BITS) -> KeyMaterial:
    """A new key as unencrypted PKCS#8 PEM, the form Stalwart reads for both algorithms."""
    if algorithm == "rsa":
        key: t.Any = rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=size)
    elif algorithm == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    else:
        raise ValueError(f"unknown DKIM algorithm {algorithm!r}")
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return _material(key, pem)


def _generate_job(job: tuple[str, int]) -> KeyMaterial:
    return generate_key(*job)


def generate_keys(jobs: t.Sequence[tuple[str, int]], workers: int) -> list[KeyMaterial]:
    """Generate ``(algorithm, size)`` keys, in input order.

    RSA keys (tens of milliseconds each) go to a pool of ``workers`` processes; Ed25519 keys (tens of
    microseconds) are made here meanwhile, as shipping them to a worker would cost more than making them.
    """
    results: list[KeyMaterial | None] = [None] * len(jobs)
    rsa_jobs = [index for index, (algorithm, _size) in enumerate(jobs) if algorithm == "rsa"]
    if workers > 1 and len(rsa_jobs) > 1:
        context: multiprocessing.context.BaseContext
        try:
            context = multiprocessing.get_context("fork")  # the module runs from a zip; children must not re-import it
        except ValueError:
            context = multiprocessing.get_context()
        with concurrent.futures.ProcessPoolExecutor(max_workers=min(workers, len(rsa_jobs)), mp_context=context) as pool:
            pending = pool.map(_generate_job, [jobs[index] for index in rsa_jobs])
            for index, job in enumerate(jobs):
                if job[0] != "rsa":
                    results[index] = generate_key(*job)
            for index, material in zip(rsa_jobs, pending, strict=True):
                results[index] = material
    else:
        results = [generate_key(*job) for job in jobs]
    return t.cast("list[KeyMaterial]", results)


# -- files -----------------------------------------------------------------------------------------
def read_key_file(path: str, option: str) -> tuple[bytes, int] | None:
    """The bytes and permission bits of a key file, or None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read(), stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise DkimError(f"{option}: cannot read the key file {path}: {exc.strerror or exc}") from None


def _existing_ancestor(path: str, option: str) -> str:
    """``path`` itself or its nearest existing parent, which must be a directory."""
    probe = os.path.abspath(path)
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if not os.path.isdir(probe):
        raise DkimError(f"{option}: cannot use {path} as key directory: {probe} is not a directory")
    return probe


def check_writable_dir(path: str, option: str) -> None:
    """Fail unless ``path`` is, or can be created as, a directory we can write (without writing anything)."""
    probe = _existing_ancestor(path, option)
    if not os.access(probe, os.W_OK | os.X_OK):
        raise DkimError(f"{option}: cannot write key files to {path}: {probe} is not writable")


def prepare_dir(path: str, option: str) -> None:
    """Create the key directory (mode 0700) if missing, and prove a file can be created in it."""
    check_writable_dir(path, option)
    try:
        if not os.path.isdir(path):
            make_dirs(path, KEY_DIR_MODE)  # exact modes whatever the umask; missing parents 0755
        handle, probe = tempfile.mkstemp(prefix=".dkim-probe-", dir=path)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise DkimError(f"{option}: cannot write key files to {path}: {exc.strerror or exc}") from None


def write_key_file(path: str, data: bytes) -> None:
    """Write a key file atomically: a 0600 temporary file in the same directory, synced, then renamed."""
    handle, tmp = tempfile.mkstemp(prefix=".dkim-", suffix=".tmp", dir=os.path.dirname(path) or ".")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(tmp, KEY_FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _sync_dir(path: str) -> None:
    with contextlib.suppress(OSError):
        handle = os.open(path, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


# -- planning and applying -------------------------------------------------------------------------
KEEP, CHMOD, STORE, GENERATE, REPLACE = "keep", "chmod", "store", "generate", "replace"


@dataclasses.dataclass
class KeyPlan:
    """What happens to one key: ``action`` is keep, chmod (fix file mode), store (write the passed-in
    key to its file), generate (no key yet) or replace (an unusable key, with replace_invalid)."""

    spec: KeySpec
    action: str
    material: KeyMaterial | None = None  # the key to keep or store; set for generated keys once made
    before: KeyMaterial | None = None  # the usable key that existed before, for the diff
    from_input: bool = False  # the private key came in through the options (Ansible masks it on return)

    @property
    def changed(self) -> bool:
        return self.action != KEEP

    @property
    def writes(self) -> bool:
        return self.spec.path is not None and self.action in (STORE, GENERATE, REPLACE)


def _invalid(spec: KeySpec, source: str, problem: str) -> DkimError:
    return DkimError(f"{spec.label}: {source} {problem}. Fix or remove it, or set replace_invalid=true to"
                     " replace it with a new key")


def plan_key(spec: KeySpec, replace_invalid: bool = False) -> KeyPlan:
    """Decide what to do with one key, reading (never writing) its file. A usable key is never replaced."""
    existing: KeyMaterial | None = None
    file_problem: str | None = None
    file_mode: int | None = None
    if spec.path:
        found = read_key_file(spec.path, spec.opt("path") if not spec.option else spec.label)
        if found is not None:
            data, file_mode = found
            try:
                existing = load_key(data)
                file_problem = mismatch(existing, spec)
            except InvalidKey as exc:
                file_problem = str(exc)
            if file_problem:
                existing = None
    passed: KeyMaterial | None = None
    passed_problem: str | None = None
    if spec.private_key is not None:
        try:
            passed = load_key(spec.private_key)
            passed_problem = mismatch(passed, spec)
        except InvalidKey as exc:
            passed_problem = str(exc)
        if passed_problem:
            passed = None

    if passed_problem and not replace_invalid:
        raise _invalid(spec, spec.opt("private_key"), passed_problem)
    if file_problem and not replace_invalid:
        raise _invalid(spec, f"the key file {spec.path}", file_problem)
    if existing is not None:
        if passed is not None and passed.public_pem != existing.public_pem:
            raise DkimError(f"{spec.label}: {spec.opt('private_key')} is a different key than the one in"
                            f" {spec.path}; an existing key is never replaced (use a new selector to rotate)")
        action = CHMOD if file_mode != KEY_FILE_MODE else KEEP
        return KeyPlan(spec, action, existing, existing, from_input=passed is not None)
    if passed is not None:
        if spec.path is None:
            return KeyPlan(spec, KEEP, passed, passed, from_input=True)
        return KeyPlan(spec, REPLACE if file_problem else STORE, passed, None, from_input=True)
    return KeyPlan(spec, REPLACE if (file_problem or passed_problem) else GENERATE)


def _record_line(spec: KeySpec, material: KeyMaterial) -> str:
    return f'{spec.record_name}. IN TXT "{material.txt_value}"'


def _diff_before(plan: KeyPlan) -> str:
    if plan.before is not None:
        return _record_line(plan.spec, plan.before) + (" (key file mode not 0600)\n" if plan.action == CHMOD else "\n")
    if plan.action == REPLACE:
        return f"{plan.spec.record_name}: unusable key\n"
    return ""


def _diff_after(plan: KeyPlan) -> str:
    if plan.material is not None:
        return _record_line(plan.spec, plan.material) + "\n"
    spec = plan.spec
    bits = f" of {spec.size} bits" if spec.algorithm == "rsa" else ""
    return f"{spec.record_name}: new {spec.algorithm} key{bits}\n"


def _result(plan: KeyPlan, return_private_keys: bool) -> dict[str, t.Any]:
    spec, material = plan.spec, plan.material
    result: dict[str, t.Any] = {
        "domain": spec.domain,
        "selector": spec.selector,
        "algorithm": spec.algorithm,
        "size": spec.size,
        "record_name": spec.record_name,
        "txt_value": material.txt_value if material else None,
        "txt_strings": split_txt(material.txt_value) if material else None,
        "public_key": material.public_pem if material else None,
        "path": spec.path,
        "key_action": plan.action,
        "changed": plan.changed,
    }
    # Keys that came in through no_log options would come back masked by Ansible: they are left out.
    if return_private_keys and material is not None and not plan.from_input:
        result["private_key"] = material.private_pem.decode("ascii")
    return result


def ensure_keys(specs: t.Sequence[KeySpec], *, key_dir: str | None = None, workers: int | None = None,
                check_mode: bool = False, replace_invalid: bool = False, return_private_keys: bool = False,
                return_key_files: bool = False, diff: bool = False) -> dict[str, t.Any]:
    """Keep every usable key, generate the missing ones, write what changed. Returns ``changed``, ``dkim_keys``
    (per-key results in input order), ``records`` (their public parts), with ``return_key_files`` ``key_files``
    (file name to PEM of the keys read or made, not of those passed in) and, with ``diff``, a before/after listing
    of the key records."""
    workers = default_workers() if workers is None else workers
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise DkimError(f"workers: expected a number of processes of at least 1, got {workers!r}")
    if key_dir:
        _existing_ancestor(key_dir, "key_dir")
    plans = [plan_key(spec, replace_invalid) for spec in specs]  # every check before anything is written
    dirs = sorted({os.path.dirname(p.spec.path or "") or "." for p in plans if p.writes})
    for directory in dirs:
        option = "key_dir" if key_dir else "path"
        check_writable_dir(directory, option)
    if not check_mode:
        for directory in dirs:
            prepare_dir(directory, "key_dir" if key_dir else "path")
        to_generate = [p for p in plans if p.material is None]
        made = generate_keys([(p.spec.algorithm, p.spec.size) for p in to_generate], workers)
        for plan, material in zip(to_generate, made, strict=True):
            plan.material = material
        for plan in plans:
            if plan.writes:
                write_key_file(t.cast(str, plan.spec.path), t.cast(KeyMaterial, plan.material).private_pem)
            elif plan.action == CHMOD:
                os.chmod(t.cast(str, plan.spec.path), KEY_FILE_MODE)
        for directory in dirs:
            _sync_dir(directory)
    keys = [_result(p, return_private_keys) for p in plans]
    result: dict[str, t.Any] = {"changed": any(p.changed for p in plans), "dkim_keys": keys,
                                "records": public_records(keys)}
    if return_key_files:
        # Built here rather than by a filter over dkim_keys: at a thousand domains, reading 2000 registered
        # results back through Ansible's templating cost more than the keys did.
        result["key_files"] = {key_file_name(p.spec.record_name): p.material.private_pem.decode("ascii")
                               for p in plans if p.material is not None and not p.from_input}
    if diff:
        header = key_dir or (specs[0].path if len(specs) == 1 and specs[0].path else "DKIM keys")
        result["diff"] = {
            "before_header": header,
            "after_header": header,
            "before": "".join(_diff_before(p) for p in plans),
            "after": "".join(_diff_after(p) for p in plans),
        }
    return result


def wanted_keys(domains: t.Sequence[t.Mapping[str, t.Any]], prefix: str, ed25519: bool = True,
                published: t.Sequence[str] = (), stored: t.Mapping[str, str] | None = None) -> list[dict[str, t.Any]]:
    """The keys a set of mail domains signs and publishes with, as O(keys) of the dkim_key module.

    For every domain (items with ``name`` and optional ``dkim_selectors: {rsa, ed25519}``), in order: an RSA-2048
    key with selector ``<prefix>-rsa`` and an Ed25519 key ``<prefix>-ed25519`` unless ``ed25519`` is off; a domain's
    ``dkim_selectors`` override the selectors (an ``ed25519`` of ``false`` or empty drops that key). Then, for each
    generation in ``published`` (a DKIM rotation keeps them in DNS), the same keys under that prefix, for the domains
    without their own selectors. ``stored`` (file name to PEM) adds the ``private_key`` of keys kept elsewhere.
    """
    stored = stored or {}
    out = []
    for generation in [prefix, *published]:
        for item in domains:
            own = item.get("dkim_selectors") or {}
            if generation != prefix and own:
                continue
            selectors = own if generation == prefix else {}
            name = str(item["name"]).lower()
            keys = [{"domain": name, "algorithm": "rsa", "size": RSA_DEFAULT_BITS,
                     "selector": selectors.get("rsa") or f"{generation}-rsa"}]
            ed = selectors["ed25519"] if "ed25519" in selectors else ed25519
            if ed is True:  # as stalwart_config reads it: the default selector
                ed = f"{generation}-ed25519"
            if ed:
                keys.append({"domain": name, "algorithm": "ed25519", "selector": ed})
            for key in keys:
                pem = stored.get(key_file_name(f"{key['selector']}._domainkey.{name}"))
                if pem:
                    key["private_key"] = pem
                out.append(key)
    return out


PUBLIC_FIELDS = ("domain", "selector", "algorithm", "record_name", "txt_value")


def key_files(results: t.Sequence[t.Mapping[str, t.Any]], stored: t.Mapping[str, str],
              returned: t.Mapping[str, str] | None = None) -> dict[str, str]:
    """Key file name to PEM for every key of a dkim_key result (``dkim_keys`` or ``records``): the private key it
    returned (new, or read from its file: in the key's ``private_key`` or in ``returned``, the module's
    ``key_files``), else the one in ``stored`` (keys passed in come back without it). Keys with none are left out."""
    returned = returned or {}
    files = {}
    for result in results:
        name = key_file_name(result["record_name"])
        pem = result.get("private_key") or returned.get(name) or stored.get(name)
        if pem:
            files[name] = pem
    return files


def public_records(results: t.Sequence[t.Mapping[str, t.Any]]) -> list[dict[str, t.Any]]:
    """The public part of each key of a dkim_key result (what the DNS records are made of)."""
    return [{field: result.get(field) for field in PUBLIC_FIELDS} for result in results]
