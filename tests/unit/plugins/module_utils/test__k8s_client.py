# -*- coding: utf-8 -*-
from __future__ import annotations

import pytest

from ansible_collections.openova.stalwart.plugins.module_utils import _k8s_client

CLUSTER = {"api_version": "postgresql.cnpg.io/v1", "kind": "Cluster", "name": "db", "namespace": "mail", "condition": "Ready"}
SETTING_UP = {"status": {"phase": "Setting up primary", "phaseReason": "Creating primary instance db-1-initdb",
                         "readyInstances": 0,
                         "conditions": [{"type": "Ready", "status": "False", "reason": "ClusterIsNotReady",
                                         "message": "Cluster Is Not Ready"}]}}
READY = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}


class FakeCluster:
    """Answers reads from a script: an object, or an exception to raise."""

    url = "https://k8s.example:6443"

    def __init__(self, script):
        self.script = list(script)

    def resource(self, api_version, kind):
        return object()

    def read(self, resource, name, namespace):
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, Exception):
            raise step
        return step


def _unreachable():
    return _k8s_client.Unreachable("cannot reach the Kubernetes API at https://k8s.example:6443 (reading Cluster mail/db): "
                                   "HTTP 503 Service Unavailable")


def test_timeout_says_why():
    with pytest.raises(_k8s_client.ClusterError) as err:
        _k8s_client.wait(FakeCluster([SETTING_UP]), [CLUSTER], 0, interval=0)
    assert str(err.value) == ("Not reached within 0 s: Cluster mail/db Ready (phase 'Setting up primary': Creating primary "
                              "instance db-1-initdb; Ready=False (ClusterIsNotReady, Cluster Is Not Ready); readyInstances 0)")
    with pytest.raises(_k8s_client.ClusterError, match=r"Cluster mail/db Ready \(not found\)$"):
        _k8s_client.wait(FakeCluster([None]), [CLUSTER], 0, interval=0)


def test_a_wait_rides_out_an_api_server_restart():
    _k8s_client.wait(FakeCluster([_unreachable(), _unreachable(), READY]), [CLUSTER], 5, interval=0)
    with pytest.raises(_k8s_client.Unreachable, match="^cannot reach the Kubernetes API at https://k8s.example:6443 "):
        _k8s_client.wait(FakeCluster([_unreachable()]), [CLUSTER], 0, interval=0)


class ApiError(Exception):
    def __init__(self, status, reason, body):
        super().__init__("multi\nline\nHTTP response headers: ...\nOriginal traceback: ...")
        self.status, self.reason, self.body = status, reason, body


def test_error_text_is_one_line_without_the_client_dump():
    exc = ApiError(503, "Service Unavailable", '{"kind": "Status", "message": "the server is currently unable"}')
    assert _k8s_client.error_text(exc) == "HTTP 503 Service Unavailable: the server is currently unable"
    assert _k8s_client.error_text(ApiError(502, "Bad Gateway", "<html>\n<body>bad gateway</body></html>")) == (
        "HTTP 502 Bad Gateway: <html> <body>bad gateway</body></html>")
    assert _k8s_client.error_text(ApiError(503, "Service Unavailable", "")) == "HTTP 503 Service Unavailable"
    assert _k8s_client.error_text(ConnectionRefusedError(111, "Connection refused")) == "[Errno 111] Connection refused"
    assert _k8s_client._unavailable(ApiError(503, "", ""))  # pylint: disable=protected-access
    assert _k8s_client._unavailable(ConnectionRefusedError())  # pylint: disable=protected-access
    assert not _k8s_client._unavailable(ApiError(403, "Forbidden", ""))  # pylint: disable=protected-access
    assert not _k8s_client._unavailable(KeyError("x"))  # pylint: disable=protected-access
