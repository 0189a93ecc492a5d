# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations


class ModuleDocFragment:
    """Options to reach an authoritative DNS server, shared by dns_records and dns_verify."""

    DOCUMENTATION = r"""
options:
  server:
    description:
      - Address or host name of the authoritative DNS server.
      - For O(openova.stalwart.dns_records#module:provider=rfc2136), the primary server that accepts RFC 2136 UPDATEs.
    type: str
  port:
    description: TCP/UDP port of O(server).
    type: int
    default: 53
  key_name:
    description:
      - Name of the TSIG key that signs every request (zone transfers, queries and UPDATEs).
      - Leave unset to send unsigned requests.
    type: str
  key_secret:
    description: Base64 secret of the TSIG key O(key_name) (as printed by C(tsig-keygen)).
    type: str
  key_algorithm:
    description: TSIG algorithm of O(key_name).
    type: str
    default: hmac-sha256
    choices: [hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha224, hmac-sha1, hmac-md5]
  timeout:
    description: Seconds to wait for each answer from the server.
    type: float
    default: 10
"""
