# -*- coding: utf-8 -*-
"""A local S3 endpoint (moto_server from moto[server]) on loopback. It speaks S3 to boto3 but does not check
credentials, so tests prove the write/read/delete path and the errors of a missing bucket or endpoint."""

from __future__ import annotations

import pathlib
import subprocess
import sys

from .common import free_port, stop_process, wait_for_port


class S3Server:
    """moto_server in a child process on 127.0.0.1."""

    def __init__(self, workdir: pathlib.Path, region: str = "us-east-1"):
        self.workdir = pathlib.Path(workdir)
        self.region = region
        self.port = 0
        self.access_key = "stalwart-test-key"
        self.secret_key = "stalwart-test-secret-value-0123456789"
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
