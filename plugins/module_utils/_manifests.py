# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Rendered manifest text to Kubernetes objects (lookup openova.stalwart.manifests)."""

from __future__ import annotations

import typing as t

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover - ansible-core requires PyYAML
    HAS_YAML = False


def parse_documents(text: t.Any, source: str) -> list[dict[str, t.Any]]:
    """Every non-empty YAML document of ``text``, each a mapping; ``ValueError`` naming ``source`` otherwise."""
    if not HAS_YAML:
        raise ValueError("the PyYAML library is missing")
    if not isinstance(text, str):
        raise ValueError(f"{source} renders to a {type(text).__name__}, not to YAML text")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        # As bytes: the C parser refuses str subclasses (Ansible's tagged strings).
        documents = [doc for doc in yaml.load_all(text.encode("utf-8"), Loader=loader) if doc is not None]
    except yaml.YAMLError as exc:
        # Position and problem only, never a snippet: the text may hold a Secret.
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "parse error"
        raise ValueError(f"{source} does not render to valid YAML{where}: {problem}") from None
    for index, doc in enumerate(documents):
        if not isinstance(doc, dict):
            raise ValueError(f"{source}: document {index + 1} is a {type(doc).__name__}, not a mapping")
    return documents
