# -*- coding: utf-8 -*-
"""A bad input stops the site playbook in the preflight phase, names the variable and writes nothing; a misspelled
role variable gets a warning with the closest known name. The full table of bad inputs is the unit test
tests/unit/plugins/module_utils/test__inputs.py; here a sample per role proves the playbook stops before its
first write (including cases that used to write part of the bundle first or fail with a censored message)."""

from __future__ import annotations

import json

import pytest

from fakes.ansible import REPO, run_playbook

SITE = REPO / "site.yml"
INVENTORY = REPO / "examples" / "inventory.yml"

CASES = [
    # Six fields, but no hour 25: the old check counted the fields.
    ({"cnpg_backup_enabled": True, "cnpg_backup_destination_path": "s3://backups/mail", "cnpg_backup_s3_secret": "s3-keys",
      "cnpg_backup_schedule": "0 0 25 * * *"}, "cnpg_backup_schedule"),
    ({"cnpg_image_name": "ghcr.io/cloudnative-pg/postgresql"}, "cnpg_image_name"),
    ({"cnpg_resources": {"requests": {"memory": "lots"}}}, "cnpg_resources.requests.memory"),
    # A type error in a minio_* variable used to fail in a censored (no_log) task that named nothing.
    ({"minio_deploy": "maybe"}, "minio_deploy"),
    ({"minio_s3_endpoint": "https://s3.example.org\n"}, "minio_s3_endpoint"),
    ({"stalwart_tls_secret_name": "TLS Cert"}, "stalwart_tls_secret_name"),
    ({"stalwart_load_balancer_ip": "192.0.2.300"}, "stalwart_load_balancer_ip"),
    ({"stalwart_node_selector": {"disk type": "ssd"}}, "stalwart_node_selector"),
    ({"stalwart_domains": [{"name": "example.org", "dkim_selectors": {"rsa": "bad selector"}}]}, "stalwart_domains[0]"),
    ({"dns_mail_host_ipv4": ["192.0.2.1", "192.0.2.300"]}, "dns_mail_host_ipv4[1]"),
    ({"dns_caa_issuers": ["lets encrypt"]}, "dns_caa_issuers[0]"),
]


@pytest.mark.parametrize(("extra", "variable"), CASES, ids=[c[1] for c in CASES])
def test_bad_input_stops_before_anything_is_written(tmp_path, extra, variable):
    render = tmp_path / "render"
    result = run_playbook(SITE, tmp_path / "run", inventory=INVENTORY,
                          extra_vars={"openova_stalwart_render_dir": str(render), **extra})
    assert result.rc != 0
    failed = [h for p in result.data.get("plays", []) for task in p["tasks"] for h in task["hosts"].values() if h.get("failed")]
    assert failed and variable in json.dumps(failed), result.stdout[-3000:]
    assert "censored" not in json.dumps(failed)
    assert not render.exists()


def test_misspelled_variable_gets_a_warning_with_the_closest_name(tmp_path):
    # The default callback, which shows warnings as an operator sees them.
    result = run_playbook(SITE, tmp_path / "run", inventory=INVENTORY, args=["--tags", "never"], json_output=False,
                          extra_vars={"openova_stalwart_render_dir": str(tmp_path / "render"),
                                      "stalwart_hostnme": "mail.example.org", "cnpg_instance": 3})
    assert result.rc == 0, result.stdout[-3000:]
    output = result.stdout + result.stderr
    assert "stalwart_hostnme is set but no role of openova.stalwart uses it (misspelled?); did you mean stalwart_hostname?" in output
    assert "did you mean cnpg_instances?" in output
    assert "[WARNING]: stalwart_hostnme is set" in output


def test_the_example_gets_no_spelling_warning(tmp_path):
    result = run_playbook(SITE, tmp_path / "run", inventory=INVENTORY, args=["--tags", "never"], json_output=False,
                          extra_vars={"openova_stalwart_render_dir": str(tmp_path / "render")})
    assert result.rc == 0, result.stdout[-3000:]
    assert "no role of openova.stalwart uses it" not in result.stdout + result.stderr
    assert not (tmp_path / "render").exists()


# A role included by name, on its own (no site.yml preflight phase): Ansible validates the variables against the main
# entry point of meta/argument_specs.yml before the role's first task. Stalwart gets the settings site.yml wires from
# the cnpg and minio roles directly.
STANDALONE = {"stalwart_postgres_cluster": "stalwart-db", "stalwart_postgres_namespace": "mail",
              "stalwart_s3_endpoint": "http://seaweedfs-s3.storage.svc:8333", "stalwart_s3_access_key": "stalwart",
              "stalwart_s3_secret_key": "s3cr3t-value"}
WRONG_TYPES = [
    ("cnpg", {"cnpg_instances": "three"}, "cnpg_instances"),
    ("minio", {"minio_deploy": "maybe"}, "minio_deploy"),
    ("stalwart", {**STANDALONE, "stalwart_replicas": {"count": 2}}, "stalwart_replicas"),
    ("dns", {"dns_ttl": "an hour"}, "dns_ttl"),
    # A role variable set in the play: a list where a mapping belongs.
    ("stalwart", {**STANDALONE, "stalwart_node_selector": ["ssd"]}, "stalwart_node_selector"),
]


@pytest.mark.parametrize(("role", "extra", "variable"), WRONG_TYPES, ids=[c[2] for c in WRONG_TYPES])
def test_a_role_included_by_name_refuses_a_wrong_type_before_its_first_task(tmp_path, role, extra, variable):
    render = tmp_path / "render"
    play = [{"name": "One role on its own", "hosts": "stalwart", "gather_facts": False,
             "tasks": [{"name": "The role, by name", "ansible.builtin.include_role": {"name": f"openova.stalwart.{role}"}}]}]
    result = run_playbook(play, tmp_path / "run", inventory=INVENTORY,
                          extra_vars={"openova_stalwart_mode": "render", "openova_stalwart_render_dir": str(render), **extra})
    assert result.rc != 0
    failed = [(task["task"]["name"], h) for p in result.data.get("plays", []) for task in p["tasks"]
              for h in task["hosts"].values() if h.get("failed")]
    assert len(failed) == 1, result.stdout[-3000:]
    name, host = failed[0]
    assert name.startswith(f"openova.stalwart.{role} : Validating arguments against arg spec 'main'"), name
    assert host["msg"].startswith("Validation of arguments failed:") and f"'{variable}'" in host["msg"], host["msg"]
    # Nothing of the role ran: the validation is its first task.
    ran = [task["task"]["name"] for p in result.data["plays"] for task in p["tasks"]]
    assert ran == ["The role, by name", name], ran
    assert not render.exists()
