# -*- coding: utf-8 -*-
from __future__ import annotations

import pytest

from ansible_collections.openova.stalwart.plugins.module_utils import _manifests


def test_documents_in_order_empty_ones_left_out():
    text = "---\n# a feature turned off\n---\napiVersion: v1\nkind: Namespace\n---\n{\"kind\": \"Secret\"}\n"
    assert _manifests.parse_documents(text, "t.j2") == [{"apiVersion": "v1", "kind": "Namespace"}, {"kind": "Secret"}]
    assert _manifests.parse_documents("", "t.j2") == []


class _Tagged(str):
    """Stands for Ansible's tagged strings, which libyaml's parser refuses as they are."""


def test_str_subclasses_are_read():
    assert _manifests.parse_documents(_Tagged("kind: ConfigMap\n"), "t.j2") == [{"kind": "ConfigMap"}]


@pytest.mark.parametrize("text, message", [
    ("kind: [unclosed\n", "t.j2 does not render to valid YAML"),
    ("- a\n- b\n", "t.j2: document 1 is a list, not a mapping"),
    ("kind: A\n---\njust text\n", "t.j2: document 2 is a str, not a mapping"),
])
def test_bad_documents_name_the_template(text, message):
    with pytest.raises(ValueError, match=message):
        _manifests.parse_documents(text, "t.j2")


def test_rendered_text_only():
    with pytest.raises(ValueError, match="t.j2 renders to a dict, not to YAML text"):
        _manifests.parse_documents({"kind": "A"}, "t.j2")
