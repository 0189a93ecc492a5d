# -*- coding: utf-8 -*-
"""The AWX artefacts stay in step with the roles: credential types and survey inject real role variables."""

from __future__ import annotations

import os
import re
import subprocess

import yaml

from fakes.ansible import REPO, ensure_collection_link

CREDENTIAL_TYPES = yaml.safe_load((REPO / "files" / "awx" / "credential_types.yml").read_text())["awx_credential_types"]
SURVEY = yaml.safe_load((REPO / "files" / "awx" / "survey_site.yml").read_text())
TEMPLATE_NAME = re.compile(r"{{\s*([a-z_][a-z0-9_.]*)\s*}}")


def role_options() -> set[str]:
    options: set[str] = set()
    for spec in (REPO / "roles").glob("*/meta/argument_specs.yml"):
        for entry in yaml.safe_load(spec.read_text())["argument_specs"].values():
            options |= set(entry.get("options", {}))
    return options


def site_wide() -> set[str]:
    """openova_stalwart_* switches the roles and playbooks actually read."""
    text = "\n".join(p.read_text() for p in list(REPO.glob("roles/**/*.yml")) + list(REPO.glob("playbooks/**/*.yml")))
    return set(re.findall(r"\bopenova_stalwart_[a-z_]+\b", text))


def test_injected_variables_are_role_options():
    known = role_options() | site_wide()
    for ctype in CREDENTIAL_TYPES:
        injected = set(ctype["injectors"].get("extra_vars", {}))
        assert injected, ctype["name"]
        assert injected <= known, f"{ctype['name']}: {sorted(injected - known)} are not role options"


def test_injectors_only_use_declared_inputs():
    for ctype in CREDENTIAL_TYPES:
        fields = {field["id"] for field in ctype["inputs"]["fields"]}
        assert set(ctype["inputs"]["required"]) <= fields, ctype["name"]
        used = set(TEMPLATE_NAME.findall(yaml.safe_dump(ctype["injectors"])))
        undeclared = {name for name in used if not name.startswith("tower.")} - fields
        assert not undeclared, f"{ctype['name']}: injectors use undeclared inputs {sorted(undeclared)}"
        secret = {field["id"] for field in ctype["inputs"]["fields"] if field.get("secret")}
        assert secret, f"{ctype['name']} declares no secret input"


def test_survey_asks_only_for_role_options():
    known = role_options() | site_wide()
    variables = {question["variable"] for question in SURVEY["spec"]}
    assert variables <= known, sorted(variables - known)
    for question in SURVEY["spec"]:
        if question["type"] == "multiplechoice":
            assert question["default"] in question["choices"], question["variable"]


def test_awx_setup_playbook_parses():
    env_path = ensure_collection_link()
    proc = subprocess.run(["ansible-playbook", "--syntax-check", str(REPO / "playbooks" / "awx_setup.yml")],
                          capture_output=True, text=True, cwd=REPO, check=False,
                          env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(env_path),
                                   ANSIBLE_CONFIG=str(REPO / "ansible.cfg")))
    assert proc.returncode == 0, proc.stdout + proc.stderr
