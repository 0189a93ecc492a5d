# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""The settings Job's entrypoint: apply the settings plan from inside the cluster (render mode, GitOps).

Render mode ships this file, the plan and the modules it imports (``_jmap``, ``_stalwart_schema``, ``_stalwart_plan``,
``_stalwart_accounts``, ``_validate``) in a ConfigMap; the Job runs them with a stock Python image and nothing but the standard library::

    python3 -m ansible_collections.openova.stalwart.plugins.module_utils._settings_job \\
        --url http://stalwart.mail.svc:8080 --plan /opt/openova-stalwart/plan.ndjson \\
        --admin-file /var/run/secrets/stalwart/STALWART_RECOVERY_ADMIN --secrets-dir /var/run/secrets/stalwart

A plan too large for one ConfigMap comes as pieces (``--plan`` once per piece, in order; module_utils/_settings_bundle),
joined into one text before it is parsed.

It waits (bounded) until the JMAP session answers, resolves every ``{"@env": NAME}`` reference from the file
``NAME`` in ``--secrets-dir`` (mounted Secrets: the credentials, the plan's password hashes, the Secrets of
``password_secret`` accounts, whose values it hashes as apply mode does) or else the environment, and converges the server exactly as the
``stalwart_settings`` module does in apply mode (same reconciler, same schema check): a second run writes nothing.

Exit status, for the Job's ``podFailurePolicy``: 0 applied (or nothing to do); 1 worth retrying (the API never came
up, the connection dropped); 2 not worth retrying (credentials refused, plan rejected, bad input).
"""

from __future__ import annotations

import argparse
import collections.abc
import http.client
import json
import os
import ssl
import sys
import time
import typing as t
import urllib.error
import urllib.request

from ansible_collections.openova.stalwart.plugins.module_utils import _jmap, _stalwart_accounts, _stalwart_plan, _stalwart_schema

EXIT_OK = 0
EXIT_RETRY = 1
EXIT_FATAL = 2

Log = t.Callable[[str], None]


def urllib_transport(ca_file: str | None = None, validate_certs: bool = True) -> _jmap.Transport:
    """A :class:`_jmap.Transport` over ``urllib`` (follows redirects, as ``/api/schema`` needs)."""
    context = None
    if not validate_certs:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif ca_file:
        context = ssl.create_default_context(cafile=ca_file)

    # An opener of our own (not Ansible's open_url: the Job has the standard library only).
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))

    def send(method: str, url: str, body: bytes | None, headers: dict[str, t.Any], timeout: float) -> tuple[int, bytes, dict[str, t.Any]]:
        request = urllib.request.Request(url, data=body, headers=headers, method=method)
        try:
            with opener.open(request, timeout=timeout) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read() or b"", dict(exc.headers or {})
        except http.client.HTTPException as exc:
            # A server that closes the connection mid-start: the client retries connection errors.
            raise ConnectionError(f"{type(exc).__name__}: {exc}") from None

    return send


class FileSecrets(collections.abc.Mapping[str, str]):
    """Secret references by name: the file ``<directory>/<name>`` (a mounted Secret key) first, then ``environ``."""

    def __init__(self, directory: str | None, environ: t.Mapping[str, str]):
        self.directory = directory
        self.environ = environ

    def _path(self, name: str) -> str | None:
        if not self.directory or "/" in name or name.startswith("."):
            return None
        path = os.path.join(self.directory, name)
        return path if os.path.isfile(path) else None

    def __getitem__(self, name: str) -> str:
        path = self._path(name)
        if path is not None:
            with open(path, encoding="utf-8") as handle:
                return handle.read()
        return self.environ[name]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (self._path(name) is not None or name in self.environ)

    def __iter__(self) -> t.Iterator[str]:
        names = set(self.environ)
        if self.directory and os.path.isdir(self.directory):
            names.update(n for n in os.listdir(self.directory) if not n.startswith("."))
        return iter(sorted(names))

    def __len__(self) -> int:
        return len(list(iter(self)))


def read_admin(path: str | None, environ: t.Mapping[str, str]) -> tuple[str, str]:
    """The admin ``user:password`` (the Secret key Stalwart reads as STALWART_RECOVERY_ADMIN) from ``path`` or the
    environment variable STALWART_RECOVERY_ADMIN."""
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                value = handle.read().strip()
        except OSError as exc:
            raise ValueError(f"--admin-file: cannot read {path}: {exc.strerror}") from None
        where = path
    else:
        value = environ.get("STALWART_RECOVERY_ADMIN", "").strip()
        where = "STALWART_RECOVERY_ADMIN"
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ValueError(f"{where}: expected user:password")
    return user, password


def wait_for_api(client: _jmap.Client, timeout: float, interval: float, log: Log,
                 clock: t.Callable[[], float] = time.monotonic, sleep: t.Callable[[float], None] = time.sleep) -> dict[str, t.Any]:
    """Fetch the JMAP session until it answers or ``timeout`` seconds have passed (then the last error is raised).
    Refused credentials end the wait at once: a running server said no."""
    deadline = clock() + timeout
    attempt = 0
    while True:
        attempt += 1
        try:
            session = client.session()
        except _jmap.AuthError:
            raise
        except _jmap.JmapError as exc:
            left = deadline - clock()
            if left <= 0:
                raise _jmap.JmapError(f"the Stalwart API did not answer within {timeout:g} s: {exc}") from None
            if attempt == 1 or attempt % 6 == 0:
                log(f"waiting for the Stalwart API at {client.base}: {exc}")
            sleep(min(interval, left))
            continue
        log(f"the Stalwart API answers at {client.base} (after {attempt} attempt{'s' if attempt > 1 else ''})")
        return session


def _reconcile(items: list[str]) -> list[dict[str, t.Any]]:
    specs = []
    for index, text in enumerate(items):
        try:
            spec = json.loads(text)
        except ValueError:
            spec = {"object": text}  # a bare type name
        if not isinstance(spec, dict) or not isinstance(spec.get("object"), str) or not spec["object"]:
            raise ValueError(f"--reconcile #{index + 1}: expected a type name or {{\"object\": ..., \"scope\": {{...}}}}")
        if not isinstance(spec.get("scope") or {}, dict):
            raise ValueError(f"--reconcile #{index + 1}: scope must be an object")
        specs.append(spec)
    return specs


def parse_args(argv: t.Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="settings-job", description="Apply a Stalwart settings plan over JMAP.")
    parser.add_argument("--url", required=True, help="Stalwart's HTTP base URL (the in-cluster Service)")
    parser.add_argument("--plan", required=True, action="append",
                        help="plan.ndjson, as stalwart_config renders it; repeated, the pieces of one plan, joined in order")
    parser.add_argument("--admin-file", help="file holding user:password (else $STALWART_RECOVERY_ADMIN)")
    parser.add_argument("--secrets-dir", help="directory of files named after the plan's secret references")
    parser.add_argument("--reconcile", action="append", default=[],
                        help="object type whose objects the plan does not list are deleted (repeatable; JSON with scope)")
    parser.add_argument("--wait", type=float, default=600.0, help="seconds to wait for the API (default 600)")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between attempts (default 5)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per HTTP request (default 60)")
    parser.add_argument("--ca-file", help="CA bundle for an https URL")
    parser.add_argument("--no-schema-check", action="store_true", help="skip the check against /api/schema")
    return parser.parse_args(list(argv))


def summary(result: dict[str, t.Any]) -> str:
    if not result["changed"]:
        return "nothing to change: the server already holds the plan"
    parts = []
    for obj, counts in sorted(result["changes"].items()):
        done = ", ".join(f"{n} {action}d" for action, n in counts.items() if n)
        parts.append(f"{obj} ({done})")
    return f"applied: {'; '.join(parts)} in {result['set_calls']} set call(s)"


def run(argv: t.Sequence[str], environ: t.Mapping[str, str], log: Log, transport: _jmap.Transport | None = None,
        clock: t.Callable[[], float] = time.monotonic, sleep: t.Callable[[float], None] = time.sleep) -> int:
    """The Job's whole work; returns the exit status. Every line of ``log`` is free of secret values."""
    args = parse_args(argv)
    source = " + ".join(args.plan)
    try:
        text = ""
        for path in args.plan:  # a plan too large for one ConfigMap comes in pieces cut anywhere, even mid-line
            with open(path, encoding="utf-8") as handle:
                text += handle.read()
        ops = _stalwart_plan.parse_ndjson(text, source)
        reconcile = _reconcile(args.reconcile)
        user, password = read_admin(args.admin_file, environ)
        secrets = FileSecrets(args.secrets_dir, environ)
        needed = _secret_refs(ops) | _stalwart_accounts.hash_refs(ops)
        if _stalwart_accounts.hash_refs(ops):
            needed.add(_stalwart_accounts.ACCOUNT_KEY_ENV)
        missing = sorted({name for name in needed if name not in secrets or not secrets[name]})
        if missing:
            raise ValueError(f"secret reference(s) {', '.join(missing)} not found in {args.secrets_dir or '(no --secrets-dir)'}"
                             " or the environment")
        # Passwords from Secrets (password_secret): hashed here, as apply mode hashes them, and never logged.
        ops = _stalwart_accounts.resolve_hash_refs(ops, secrets, secrets.get(_stalwart_accounts.ACCOUNT_KEY_ENV))
    except OSError as exc:
        log(f"error: cannot read {getattr(exc, 'filename', None) or source}: {exc.strerror}")
        return EXIT_FATAL
    except ValueError as exc:
        log(f"error: {exc}")
        return EXIT_FATAL
    log(f"plan {source}: {len(ops)} operation(s), {sum(len(op.get('value') or {}) if op.get('@type') == 'upsert' else 1 for op in ops)}"
        " object(s)")
    try:
        client = _jmap.Client(args.url, user, password, transport or urllib_transport(args.ca_file), timeout=args.timeout)
        wait_for_api(client, args.wait, args.interval, log, clock=clock, sleep=sleep)
        schema = None
        if not args.no_schema_check:
            data = client.schema()
            if data is None:
                log(f"warning: {args.url} does not serve /api/schema: the plan is checked by the server only")
            else:
                schema = _stalwart_schema.Schema(data)
        result = _jmap.apply(client, ops, secrets=secrets, reconcile=reconcile, schema=schema)
    except _jmap.AuthError as exc:
        log(f"error: {exc} (the admin credentials in the mounted Secret do not match the server's)")
        return EXIT_FATAL
    except _jmap.JmapError as exc:
        message = str(exc)
        log(f"error: {message}")
        # Nothing the server rejected gets better by running again; a server that is not there might.
        return EXIT_RETRY if "did not answer" in message or "gave up after" in message else EXIT_FATAL
    log(summary(result))
    if result["unmanaged"]:
        # Reconcile entries with "report": true (the accounts the variables do not list, without prune).
        log(f"left alone, not in the plan: {len(result['unmanaged'])} object(s): {', '.join(result['unmanaged'])}")
    log(f"{result['requests']} request(s)")
    return EXIT_OK


def _secret_refs(value: t.Any) -> set[str]:
    if _jmap.is_secret_ref(value):
        return {value[_jmap.SECRET_REF]}
    found: set[str] = set()
    if isinstance(value, dict):
        for item in value.values():
            found |= _secret_refs(item)
    elif isinstance(value, list):
        for item in value:
            found |= _secret_refs(item)
    return found


def _log(line: str) -> None:
    sys.stderr.write(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} settings: {line}\n")
    sys.stderr.flush()


def main() -> None:
    raise SystemExit(run(sys.argv[1:], os.environ, _log))


if __name__ == "__main__":
    main()
