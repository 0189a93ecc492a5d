# -*- coding: utf-8 -*-
"""Build the collection, install the tarball offline into a clean path, and use only that copy."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile

import pytest
import yaml

from fakes.ansible import REPO

MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
# Every role documents its options; "_" roles are internal building blocks but still carry argument specs.
PUBLIC_ROLES = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "meta" / "argument_specs.yml").is_file())


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The built collection installed offline into an empty collections path; a clean env without the checkout."""
    work = tmp_path_factory.mktemp("galaxy")
    subprocess.run(["ansible-galaxy", "collection", "build", "--output-path", str(work), str(REPO)],
                   check=True, capture_output=True, text=True)
    tarball = next(work.glob("openova-stalwart-*.tar.gz"))
    collections = work / "collections"
    proc = subprocess.run(["ansible-galaxy", "collection", "install", "--offline", "-p", str(collections), str(tarball)],
                          capture_output=True, text=True, cwd=work, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    # Only the installed copy (plus the collections bundled with the ansible package) may be visible.
    config = work / "ansible.cfg"
    config.write_text("[defaults]\n")
    env.update(ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_CONFIG=str(config), ANSIBLE_NOCOLOR="1")
    return {"work": work, "tarball": tarball, "collections": collections, "env": env}


def _run(installed, *cmd):
    proc = subprocess.run(list(cmd), capture_output=True, text=True, env=installed["env"], cwd=installed["work"], check=False)
    assert proc.returncode == 0, f"{cmd}: {proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_tarball_ships_the_collection_and_no_development_files(installed):
    with tarfile.open(installed["tarball"]) as tar:
        names = set(tar.getnames())
    assert {"MANIFEST.json", "meta/runtime.yml", "README.md", "LICENSE"} <= names
    assert {f"plugins/modules/{m}.py" for m in MODULES} <= names
    assert not [n for n in names if n.startswith((".git/", "build/", "tests/output", ".ansible/", "hack/"))]
    manifest = json.loads(tarfile.open(installed["tarball"]).extractfile("MANIFEST.json").read())
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    assert manifest["collection_info"]["version"] == galaxy["version"]
    # Every collection a role or playbook calls is declared: a dependency (installed with this one) or requirements.yml.
    used = set()
    for path in [*REPO.glob("roles/*/tasks/*.yml"), *REPO.glob("playbooks/*.yml")]:
        used.update(re.findall(r"^\s*-?\s*([a-z0-9_]+\.[a-z0-9_]+)\.[a-z0-9_]+:", path.read_text(), re.M))
    used -= {"ansible.builtin", "openova.stalwart"}
    assert {"kubernetes.core", "amazon.aws", "awx.awx"} <= used
    dependencies = manifest["collection_info"]["dependencies"]
    requirements = {c["name"] for c in yaml.safe_load((REPO / "requirements.yml").read_text())["collections"]}
    assert {"kubernetes.core", "amazon.aws"} <= set(dependencies)
    assert used <= set(dependencies) | requirements, used - set(dependencies) - requirements


def test_ansible_doc_lists_and_documents_every_module(installed):
    listed = json.loads(_run(installed, "ansible-doc", "-t", "module", "-l", "openova.stalwart", "--json"))
    assert sorted(name.split(".")[-1] for name in listed) == MODULES
    docs = json.loads(_run(installed, "ansible-doc", "-t", "module", "--json", *[f"openova.stalwart.{m}" for m in MODULES]))
    for module in MODULES:
        doc = docs[f"openova.stalwart.{module}"]
        assert doc["doc"]["short_description"], module
        assert doc["examples"].strip(), module
        assert doc["return"] is not None, module
        attributes = doc["doc"].get("attributes", {})
        for attribute in ("check_mode", "diff_mode", "idempotent"):
            assert attribute in attributes, f"{module} does not document attribute {attribute}"


def test_ansible_doc_documents_every_public_role(installed):
    listed = _run(installed, "ansible-doc", "-t", "role", "-l", "openova.stalwart", "--json")
    roles = sorted(name.split(".")[-1] for name in json.loads(listed))
    assert roles == PUBLIC_ROLES
    for role in PUBLIC_ROLES:
        doc = json.loads(_run(installed, "ansible-doc", "-t", "role", "--json", f"openova.stalwart.{role}"))
        options = doc[f"openova.stalwart.{role}"]["entry_points"]["main"]["options"]
        defaults = yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text()) or {}
        assert set(defaults) <= set(options), f"{role}: defaults without argument_specs: {set(defaults) - set(options)}"


def test_execution_environment_sees_the_collection_dependencies(installed):
    """ansible-builder finds requirements.txt and bindep.txt through meta/execution-environment.yml."""
    out = _run(installed, "ansible-builder", "introspect", str(installed["collections"]))
    ours = [line for line in out.splitlines() if "openova.stalwart" in line]
    wanted = [line.split(">")[0].split("<")[0].strip() for line in (REPO / "requirements.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    for package in wanted:
        assert any(line.strip("- '").lower().startswith(package.lower()) for line in ours), f"{package} not introspected:\n{out}"


def test_execution_environment_installs_the_built_tarball(installed):
    """The EE context carries the tarball `ansible-galaxy collection build` made, and its galaxy step installs that file."""
    work = installed["work"] / "ee"
    (work / "build").mkdir(parents=True)
    for name in ("execution-environment.yml", "requirements.txt", "bindep.txt"):
        shutil.copy(REPO / name, work / name)
    shutil.copy(installed["tarball"], work / "build" / installed["tarball"].name)
    context = work / "context"
    _run(installed, "ansible-builder", "create", "-f", str(work / "execution-environment.yml"), "-c", str(context))
    containerfile = (context / "Dockerfile").read_text()
    assert "ansible-galaxy collection install" in containerfile
    assert (context / "_build" / "requirements.txt").read_text() == (REPO / "requirements.txt").read_text()
    # The definition names the tarball of galaxy.yml's version, copied into the build context byte for byte.
    shipped = context / "_build" / "collections" / installed["tarball"].name
    assert shipped.read_bytes() == installed["tarball"].read_bytes()
    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert galaxy["collections"] == [{"name": f"collections/{installed['tarball'].name}", "type": "file"}]
    # The galaxy step as the image runs it (in /build): the collection comes from the file, nothing from Galaxy.
    target = work / "installed"
    env = dict(installed["env"], ANSIBLE_COLLECTIONS_PATH=str(target))
    proc = subprocess.run(["ansible-galaxy", "collection", "install", "--offline", "-r", "requirements.yml", "-p", str(target)],
                          capture_output=True, text=True, cwd=context / "_build", env=env, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    version = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]
    assert f"Installing 'openova.stalwart:{version}'" in proc.stdout, proc.stdout
    manifest = json.loads((target / "ansible_collections" / "openova" / "stalwart" / "MANIFEST.json").read_text())
    assert manifest["collection_info"]["version"] == version
