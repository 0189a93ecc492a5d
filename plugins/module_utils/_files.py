# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""Reading and atomically writing the text files the render modules own."""

from __future__ import annotations

import os
import tempfile


def read_text(path: str) -> str | None:
    """The file's text, or None when it does not exist."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def make_dirs(path: str, mode: int = 0o755, parents_mode: int = 0o755) -> None:
    """Create ``path`` (mode ``mode``) and its missing parents (``parents_mode``) with exactly these modes, whatever
    the umask (``os.makedirs`` filters its mode through it, and gives parents the umask's default)."""
    missing = []
    current = os.path.abspath(path)
    while not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            continue
        os.chmod(directory, mode if directory == missing[0] else parents_mode)


def tighten(path: str, mode: int, check_mode: bool = False) -> bool:
    """Take away the permissions beyond ``mode`` from an existing file or directory (a secret left group- or
    world-readable); True when the mode was (or in check mode would be) changed."""
    try:
        current = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        return False
    if current & ~mode == 0:
        return False
    if not check_mode:
        os.chmod(path, current & mode)
    return True


def write_atomic(path: str, content: str, mode: int = 0o644) -> None:
    """Write ``content`` with ``mode`` through a temporary file and a rename, so readers never see half a file;
    missing directories are created 0755."""
    directory = os.path.dirname(path) or "."
    make_dirs(directory)
    handle, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(content)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
