# -*- coding: utf-8 -*-
"""The minio role with an external S3 endpoint (moto_server on loopback): the preflight proves Stalwart's key
can write, read back and delete in the bucket before anything else runs, and bad settings fail by name."""

from __future__ import annotations

import json
import uuid

import pytest

PLAY = [{"hosts": "localhost", "gather_facts": False, "roles": [{"role": "openova.stalwart.minio"}],
         "post_tasks": [{"name": "Blob store facts", "ansible.builtin.debug": {
             "msg": "{{ minio_blob_store | dict2items | rejectattr('key', 'in', ['access_key', 'secret_key'])"
                    " | items2dict }}"}}]}]


def _vars(s3_server, tmp_path, **extra):
    values = {
        "openova_stalwart_mode": "render",
        "openova_stalwart_render_dir": str(tmp_path / "render"),
        "minio_s3_endpoint": s3_server.url,
        "minio_s3_access_key": s3_server.access_key,
        "minio_s3_secret_key": s3_server.secret_key,
        "minio_s3_bucket": f"stalwart-{uuid.uuid4().hex[:12]}",
        "minio_verify": True,
    }
    values.update(extra)
    return values


def test_probe_writes_reads_and_cleans_up(s3_server, tmp_path, playbook):
    extra = _vars(s3_server, tmp_path, minio_s3_create_bucket=True)
    first = playbook(PLAY, extra_vars=extra, args=["-vvv"])
    assert first.rc == 0, first.stdout[-3000:]
    assert extra["minio_s3_bucket"] in s3_server.buckets()
    assert s3_server.keys(extra["minio_s3_bucket"]) == []  # the probe leaves nothing behind
    facts = first.task("Blob store facts")["msg"]
    assert facts["endpoint"] == s3_server.url and facts["bucket"] == extra["minio_s3_bucket"]
    assert s3_server.secret_key not in first.stdout + first.stderr
    assert not (tmp_path / "render").exists()  # an external S3 needs no manifest
    second = playbook(PLAY, extra_vars=extra)
    assert second.rc == 0 and second.changed == 0


def test_probe_runs_in_check_mode_without_changes(s3_server, tmp_path, playbook):
    extra = _vars(s3_server, tmp_path)
    s3_server.create_bucket(extra["minio_s3_bucket"])
    result = playbook(PLAY, extra_vars=extra, check=True, diff=True)
    assert result.rc == 0 and result.changed == 0
    assert s3_server.keys(extra["minio_s3_bucket"]) == []


def test_missing_bucket_fails_naming_the_key(s3_server, tmp_path, playbook):
    result = playbook(PLAY, extra_vars=_vars(s3_server, tmp_path))
    assert result.rc != 0
    output = json.dumps(result.data)
    assert "minio_s3_access_key/minio_s3_secret_key cannot write" in output
    assert "not found" in output
    assert s3_server.secret_key not in result.stdout + result.stderr


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("minio_s3_endpoint", "", "minio_s3_endpoint must be the http(s):// URL"),
    ("minio_s3_endpoint", "s3.example.org", "minio_s3_endpoint must be the http(s):// URL"),
    ("minio_s3_access_key", "", "minio_s3_access_key and minio_s3_secret_key"),
    ("minio_s3_bucket", "Not_A_Bucket", "minio_s3_bucket must be an S3 bucket name"),
    ("minio_s3_region", "US East", "minio_s3_region must be a region name"),
    ("openova_stalwart_mode", "deploy", "openova_stalwart_mode must be apply or render"),
])
def test_bad_settings_fail_in_preflight(s3_server, tmp_path, playbook, variable, value, message):
    result = playbook(PLAY, extra_vars=_vars(s3_server, tmp_path, **{variable: value}))
    assert result.rc != 0
    assert message in json.dumps(result.data) + result.stderr
    assert "probe object" not in json.dumps(result.data)
    assert not (tmp_path / "render").exists()
