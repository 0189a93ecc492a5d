# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

import pytest

from ansible_collections.openova.stalwart.plugins.module_utils._txt import split_txt


def test_short_value_is_one_string():
    assert split_txt("v=spf1 -all") == ["v=spf1 -all"]


def test_empty_value_is_one_empty_string():
    assert split_txt("") == [""]


@pytest.mark.parametrize("length, expected", [(255, [255]), (256, [255, 1]), (510, [255, 255]), (511, [255, 255, 1])])
def test_ascii_splits_at_255_bytes(length, expected):
    value = "".join(chr(ord("a") + i % 26) for i in range(length))
    strings = split_txt(value)
    assert [len(s) for s in strings] == expected
    assert "".join(strings) == value


def test_never_cuts_a_multibyte_character():
    # 254 ASCII bytes then a 2-byte character: the character does not fit in the first string.
    value = "a" * 254 + "é" + "b"
    strings = split_txt(value)
    assert strings == ["a" * 254, "éb"]
    assert all(len(s.encode()) <= 255 for s in strings)


def test_four_byte_characters_pack_to_the_limit():
    value = "\U0001F4E7" * 100  # 400 bytes
    strings = split_txt(value)
    assert [len(s.encode()) for s in strings] == [252, 148]
    assert "".join(strings) == value


def test_exact_fit_of_a_multibyte_character_at_the_boundary():
    value = "a" * 253 + "é" + "c"
    assert split_txt(value) == ["a" * 253 + "é", "c"]


def test_custom_limit():
    assert split_txt("abcdefg", limit=3) == ["abc", "def", "g"]


def test_limit_too_small_for_a_character():
    with pytest.raises(ValueError, match="limit=1"):
        split_txt("é", limit=1)


@pytest.mark.parametrize("limit", [0, 256, True, "255"])
def test_invalid_limit(limit):
    with pytest.raises(ValueError, match="limit must be"):
        split_txt("x", limit=limit)


def test_not_a_string():
    with pytest.raises(TypeError):
        split_txt(b"bytes")  # type: ignore[arg-type]


def test_rsa_2048_dkim_value_needs_two_strings():
    value = "v=DKIM1; k=rsa; h=sha256; p=" + "A" * 392
    strings = split_txt(value)
    assert len(strings) == 2 and len(strings[0]) == 255
