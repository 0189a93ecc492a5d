# -*- coding: utf-8 -*-
"""Servers on loopback for the integration tests, the benchmarks and molecule: real ones (BIND 9, PostgreSQL,
Postfix and Dovecot) and stand-ins that keep the upstream contracts (the Kubernetes API, Stalwart's JMAP API, S3
from moto_server), plus the helpers that run ansible-playbook and check rendered manifests."""
