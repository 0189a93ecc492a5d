# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""TXT record helpers: a TXT record is a list of character-strings of at most 255 octets each (RFC 1035 3.3)."""

from __future__ import annotations

MAX_STRING = 255


def split_txt(value: str, limit: int = MAX_STRING) -> list[str]:
    """Split ``value`` into character-strings of at most ``limit`` bytes (UTF-8), never inside a code point.

    Verifiers concatenate the strings of one record (RFC 6376 3.6.2.2, RFC 7208 3.3), so the split points do
    not change the meaning. An empty value is one empty string.
    """
    if not isinstance(value, str):
        raise TypeError(f"split_txt: expected a str, got {type(value).__name__}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_STRING:
        raise ValueError(f"split_txt: limit must be an integer from 1 to {MAX_STRING}, got {limit!r}")
    data = value.encode("utf-8")
    if len(data) <= limit:
        return [value]
    strings: list[str] = []
    start = 0
    while start < len(data):
        end = min(start + limit, len(data))
        # Back off over UTF-8 continuation bytes (0b10xxxxxx) so a code point is never cut in two.
        while end < len(data) and end > start and data[end] & 0xC0 == 0x80:
            end -= 1
        if end == start:
            raise ValueError(f"split_txt: a character needs more than limit={limit} bytes")
        strings.append(data[start:end].decode("utf-8"))
        start = end
    return strings
