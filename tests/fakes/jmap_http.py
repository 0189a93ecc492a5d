# -*- coding: utf-8 -*-
"""What both JMAP test servers answer alike for ``POST /jmap``."""

from __future__ import annotations

import json


def read_jmap_post(handler, body: bytes):
    """The parsed request of a ``POST /jmap``; None after answering 404 (another path) or 400 (not JSON),
    the problem-details bodies Stalwart sends. ``handler`` has ``path`` and ``_send(status, body)``."""
    if handler.path.rstrip("/") != "/jmap":
        handler._send(404, {"type": "about:blank", "status": 404})  # pylint: disable=protected-access
        return None
    try:
        return json.loads(body)
    except ValueError:
        handler._send(400, {"type": "urn:ietf:params:jmap:error:notJSON", "status": 400})  # pylint: disable=protected-access
        return None
