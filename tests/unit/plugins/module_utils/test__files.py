# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

import os
import stat

from ansible_collections.openova.stalwart.plugins.module_utils import _files


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_make_dirs_gives_exact_modes_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        _files.make_dirs(str(tmp_path / "a" / "b" / "secrets"), 0o700)
        _files.write_atomic(str(tmp_path / "c" / "file.txt"), "x\n")
    finally:
        os.umask(old)
    assert [_mode(tmp_path / p) for p in ("a", "a/b", "a/b/secrets", "c", "c/file.txt")] == [0o755, 0o755, 0o700, 0o755, 0o644]


def test_make_dirs_leaves_existing_directories_alone(tmp_path):
    (tmp_path / "a").mkdir(mode=0o750)
    os.chmod(tmp_path / "a", 0o750)
    _files.make_dirs(str(tmp_path / "a"), 0o700)
    assert _mode(tmp_path / "a") == 0o750


def test_tighten_takes_away_only_the_extra_bits(tmp_path):
    path = tmp_path / "secret.yaml"
    path.write_text("x")
    path.chmod(0o644)
    assert _files.tighten(str(path), 0o600, check_mode=True) is True
    assert _mode(path) == 0o644
    assert _files.tighten(str(path), 0o600) is True
    assert _mode(path) == 0o600
    assert _files.tighten(str(path), 0o600) is False
    path.chmod(0o400)
    assert _files.tighten(str(path), 0o600) is False and _mode(path) == 0o400
    assert _files.tighten(str(tmp_path / "missing"), 0o600) is False
