# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations


class ModuleDocFragment:
    """Connection options of the modules that talk to Stalwart's management API (JMAP)."""

    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base URL of the Stalwart HTTP listener, for example C(https://mail.example.org) or a port-forward such as
        C(http://127.0.0.1:8080). The JMAP session is read from C(<url>/jmap/session); only the path of its C(apiUrl) is
        used, so the server's public URL need not be reachable from here.
    type: str
    required: true
  username:
    description:
      - Administrator account (for a fresh server, the user of C(STALWART_RECOVERY_ADMIN)).
    type: str
    required: true
  password:
    description:
      - Password of O(username), sent with HTTP Basic authentication.
    type: str
    required: true
  validate_certs:
    description:
      - Verify the server's TLS certificate.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA that signed the server certificate, when it is not in the system store.
    type: path
  timeout:
    description:
      - Seconds to wait for each HTTP response. Connection failures, timeouts and HTTP 502/503/504 are retried three
        times with backoff before the module fails.
    type: int
    default: 30
notes:
  - With O(resolvers) (fragment C(openova.stalwart.resolvers)), the host of O(url) is resolved on those name servers;
    the connection goes to the addresses they give, while TLS (SNI, certificate check) and the C(Host) header keep
    the name. A name that does not resolve is retried like a connection failure. Needs dnspython.
"""
