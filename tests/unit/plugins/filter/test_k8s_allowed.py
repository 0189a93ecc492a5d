# -*- coding: utf-8 -*-
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.openova.stalwart.plugins.filter.k8s_allowed import k8s_allowed

TEXT = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: mail}\n"


def test_text_and_objects_of_the_component_pass():
    assert k8s_allowed([TEXT, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mail"}}],
                       "stalwart", ["mail"]) is True


@pytest.mark.parametrize(("manifests", "message"), [
    ([TEXT + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: mail}\n"], r"manifests\[1\]: Pod"),
    ([TEXT.replace("mail", "kube-system")], "namespace 'kube-system'"),
    (["plain text"], r"manifests\[0\]: document 1 is a str, not a mapping"),
    ([["a list"]], r"manifests\[0\]: expected a Kubernetes object"),
])
def test_other_objects_fail_naming_them(manifests, message):
    with pytest.raises(AnsibleFilterError, match=message):
        k8s_allowed(manifests, "stalwart", ["mail"])
