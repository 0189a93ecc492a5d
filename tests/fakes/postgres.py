# -*- coding: utf-8 -*-
"""A real PostgreSQL 15 on 127.0.0.1 (Debian's postgresql-15), started from a data directory of its own: a fresh
initdb, or one restored from a backup. Run as user postgres when the tests run as root (initdb refuses root)."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import time

from .common import free_port, stop_process, wait_for_port

PG_BIN = pathlib.Path("/usr/lib/postgresql/15/bin")


def available() -> bool:
    return (PG_BIN / "initdb").exists() and shutil.which("psql") is not None


class PostgresServer:
    """``postgres -D data`` on a free loopback port; ``settings`` go to postgresql.conf, ``env`` to the server (and
    so to its archive_command and restore_command)."""

    def __init__(self, base: pathlib.Path, name: str, env: dict[str, str] | None = None):
        self.base = pathlib.Path(base)
        self.data = self.base / name
        self.log = self.base / f"{name}.log"
        self.env = dict(env or {})
        self.port = 0
        self._proc: subprocess.Popen | None = None
        self._user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _own(self, path: pathlib.Path) -> None:
        if self._user:
            subprocess.run(["chown", "-R", "postgres:postgres", str(path)], check=True)

    def initdb(self) -> PostgresServer:
        self._own(self.base)
        subprocess.run([*self._user, str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"],
                       check=True, capture_output=True)
        return self

    def configure(self, settings: dict[str, str], recovery: bool = False) -> PostgresServer:
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            for key, value in settings.items():
                conf.write(f"{key} = '{value}'\n")
        if recovery:
            (self.data / "recovery.signal").write_text("")
        self._own(self.data)
        self.data.chmod(0o700)
        return self

    def start(self) -> PostgresServer:
        self.port = free_port()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **self.env}
        log = open(self.log, "ab")  # pylint: disable=consider-using-with
        self._proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [*self._user, "env", *(f"{k}={v}" for k, v in env.items()), str(PG_BIN / "postgres"), "-D", str(self.data),
             "-p", str(self.port), "-h", "127.0.0.1", "-k", str(self.base)],
            stdout=log, stderr=subprocess.STDOUT, env={"PATH": env["PATH"]})
        try:
            wait_for_port(self.port, timeout=60)
        except TimeoutError:
            self.stop()
            raise RuntimeError("postgres did not start:\n" + self.log.read_text()[-3000:]) from None
        return self

    def psql(self, sql: str) -> str:
        done = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres",
                               "-v", "ON_ERROR_STOP=1", "-Atc", sql], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def wait_promoted(self, timeout: float = 120) -> None:
        """Wait until recovery has ended (the server accepts writes)."""
        deadline = time.monotonic() + timeout
        while True:
            done = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres",
                                   "-Atc", "select pg_is_in_recovery()"], capture_output=True, text=True, check=False)
            if done.returncode == 0 and done.stdout.strip() == "f":
                return
            if time.monotonic() > deadline or (self._proc and self._proc.poll() is not None):
                raise RuntimeError("recovery did not end:\n" + self.log.read_text()[-3000:])
            time.sleep(0.5)

    def stop(self) -> None:
        stop_process(self._proc, timeout=30)
        self._proc = None
