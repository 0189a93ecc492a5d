# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""Every public variable with a format, fed a bad value: the role's problems name it (and only the bad input is
reported). The playbook side, that a preflight failure writes nothing, is tests/integration/test_bad_input.py."""

from __future__ import annotations

import json
import pathlib

import pytest
import yaml

from ansible_collections.openova.stalwart.plugins.module_utils import _inputs

ROOT = pathlib.Path(__file__).resolve().parents[4]
# The values the defaults template, and the required ones: a complete, valid set per role.
FILLED = {
    "openova_stalwart_mode": "render", "openova_stalwart_render_dir": "/srv/render",
    "stalwart_hostname": "mail.example.org", "stalwart_domains": [{"name": "example.org"}, {"name": "example.net"}],
    "stalwart_postgres_namespace": "mail", "stalwart_postgres_ca_secret": "stalwart-db-ca", "stalwart_tls_secret_name": "stalwart-tls",
    "stalwart_s3_endpoint": "http://seaweedfs-s3.storage.svc:8333", "stalwart_s3_access_key": "stalwart",
    "stalwart_s3_secret_key": "s3cr3t-value", "stalwart_management_url": "https://mail.example.org",
    "dns_tlsa_public_key": "",
    "cnpg_namespace": "mail", "cnpg_backup_object_store_name": "stalwart-db-backup",
    "cnpg_restore_source_server_name": "stalwart-db", "cnpg_restore_object_store_name": "stalwart-db-backup",
    "minio_s3_endpoint": "http://seaweedfs-s3.storage.svc:8333", "minio_s3_access_key": "stalwart",
    "minio_s3_secret_key": "s3cr3t-value", "minio_namespace": "mail", "minio_verify": True, "minio_restore_target_time": "",
    "dns_mode": "render", "dns_render_dir": "/srv/render", "dns_domains": [{"name": "example.org"}],
    "dns_mail_host": "mail.example.org", "dns_dkim_records": [], "dns_external_dns_namespace": "mail",
    "dns_mail_host_service_name": "stalwart-mail", "dns_mail_host_service_namespace": "mail",
    "dns_srv": {"submissions": True},
}


def values(role: str, **overrides) -> dict:
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())
    out = {k: (FILLED[k] if k in FILLED else value) for k, value in defaults.items()}
    out.update({k: value for k, value in FILLED.items() if k not in out})
    out.update(overrides)
    return out


@pytest.mark.parametrize("role", _inputs.ROLES)
def test_defaults_and_the_example_pass(role):
    assert _inputs.problems(role, values(role)) == []


def test_more_replicas_without_a_coordinator_take_the_embedded_one():
    assert _inputs.problems("stalwart", values("stalwart", stalwart_replicas=3)) == []


# (role, variable set to a bad value, the value, the name the message starts with)
BAD = [
    ("stalwart", "openova_stalwart_mode", "deploy", "openova_stalwart_mode"),
    ("stalwart", "openova_stalwart_render_dir", "render", "openova_stalwart_render_dir"),
    ("stalwart", "openova_stalwart_render_dir", "/srv/render\n/x", "openova_stalwart_render_dir"),
    ("stalwart", "stalwart_hostname", "mail_server", "stalwart_hostname"),
    ("stalwart", "stalwart_hostname", "mail.example.org\n", "stalwart_hostname"),
    ("stalwart", "stalwart_hostname", "localhost", "stalwart_hostname"),
    ("stalwart", "stalwart_domains", [{"name": "exa mple.org"}], "stalwart_domains"),
    ("stalwart", "stalwart_domains", [{"name": "example.org"}, {"name": "EXAMPLE.org"}], "stalwart_domains"),
    ("stalwart", "stalwart_domains", [], "stalwart_domains"),
    ("stalwart", "stalwart_domains", [{"name": "example.org", "dkim_selectors": {"rsa": "bad selector"}}], "stalwart_domains[0]"),
    ("stalwart", "stalwart_domains", [{"name": "example.org", "catch_all": "not-an-address"}], "stalwart_domains[0].catch_all"),
    ("stalwart", "stalwart_smoke_login", "nobody", "stalwart_smoke_login"),
    ("stalwart", "stalwart_name", "Stalwart", "stalwart_name"),
    ("stalwart", "stalwart_name", "stalwart\n", "stalwart_name"),
    ("stalwart", "stalwart_name", "s" * 41, "stalwart_name"),
    ("stalwart", "stalwart_namespace", "mail.ns", "stalwart_namespace"),
    ("stalwart", "stalwart_image", "stalwartlabs/stalwart", "stalwart_image"),
    ("stalwart", "stalwart_image", "stalwartlabs/Stalwart:latest!", "stalwart_image"),
    ("stalwart", "stalwart_image", "stalwartlabs/stalwart:v1\n---", "stalwart_image"),
    ("stalwart", "stalwart_replicas", 0, "stalwart_replicas"),
    ("stalwart", "stalwart_coordinator_image", "nats", "stalwart_coordinator_image"),
    ("stalwart", "stalwart_coordinator_resources", {"limits": {"memory": "lots"}}, "stalwart_coordinator_resources.limits.memory"),
    ("stalwart", "stalwart_coordinator", {"type": "zookeeper"}, "stalwart_coordinator"),
    ("stalwart", "stalwart_coordinator", {"type": "nats", "addresses": ["nats:99999"]}, "stalwart_coordinator.addresses[0]"),
    ("stalwart", "stalwart_redis_url", "http://redis:6379", "stalwart_redis_url"),
    ("stalwart", "stalwart_resources", {"requests": {"cpu": "lots"}}, "stalwart_resources.requests.cpu"),
    ("stalwart", "stalwart_resources", {"request": {"cpu": "1"}}, "stalwart_resources.request"),
    ("stalwart", "stalwart_storage_size", "10 gigs", "stalwart_storage_size"),
    ("stalwart", "stalwart_storage_size", "0", "stalwart_storage_size"),
    ("stalwart", "stalwart_storage_class", "Fast SSD", "stalwart_storage_class"),
    ("stalwart", "stalwart_node_selector", {"disk type": "ssd"}, 'stalwart_node_selector["disk type"]'),
    ("stalwart", "stalwart_node_selector", {"disk": "ssd\nx"}, 'stalwart_node_selector["disk"]'),
    ("stalwart", "stalwart_pod_annotations", {"a": 1}, 'stalwart_pod_annotations["a"]'),
    ("stalwart", "stalwart_prometheus_rule_labels", {"release": "kube prometheus"}, 'stalwart_prometheus_rule_labels["release"]'),
    ("stalwart", "stalwart_dkim_selector_prefix", "s1.x", "stalwart_dkim_selector_prefix"),
    ("stalwart", "stalwart_dkim_rotate_interval_days", -1, "stalwart_dkim_rotate_interval_days"),
    ("stalwart", "stalwart_dkim_rotate_now", "yesterday", "stalwart_dkim_rotate_now"),
    ("stalwart", "stalwart_postgres_cluster", "db_1", "stalwart_postgres_cluster"),
    ("stalwart", "stalwart_postgres_database", "Stalwart-DB", "stalwart_postgres_database"),
    ("stalwart", "stalwart_s3_endpoint", "minio:9000", "stalwart_s3_endpoint"),
    ("stalwart", "stalwart_s3_endpoint", "https://s3.example.org\n", "stalwart_s3_endpoint"),
    ("stalwart", "stalwart_s3_bucket", "Blobs", "stalwart_s3_bucket"),
    ("stalwart", "stalwart_s3_access_key", "", "stalwart_s3_access_key"),
    ("stalwart", "stalwart_load_balancer_ip", "192.0.2.300", "stalwart_load_balancer_ip"),
    ("stalwart", "stalwart_client_ip", "proxy_protocol", "stalwart_proxy_trusted_networks"),
    ("stalwart", "stalwart_proxy_trusted_networks", ["10.0.0.0/33"], "stalwart_proxy_trusted_networks[0]"),
    ("stalwart", "stalwart_http_trusted_proxies", ["130.211.0.0"], "stalwart_http_trusted_proxies[0]"),
    ("stalwart", "stalwart_http_trusted_proxies", ["10.0.0.0/8\n"], "stalwart_http_trusted_proxies[0]"),
    ("stalwart", "stalwart_ingress_class_name", "nginx public", "stalwart_ingress_class_name"),
    ("stalwart", "stalwart_http_exposure", "httproute", "stalwart_gateway_parent_refs"),
    ("stalwart", "stalwart_gateway_parent_refs", [{"name": "Gateway One"}], "stalwart_gateway_parent_refs[0]"),
    ("stalwart", "stalwart_extra_http_hosts", ["webmail.example.org", "bad host"], "stalwart_extra_http_hosts[1]"),
    ("stalwart", "stalwart_tls_issuer_name", "lets encrypt", "stalwart_tls_issuer_name"),
    ("stalwart", "stalwart_tls_secret_name", "TLS", "stalwart_tls_secret_name"),
    ("stalwart", "stalwart_tls_max_names", 2, "stalwart_tls_max_names"),
    ("stalwart", "stalwart_relay", {"host": "smtp://relay.example.net"}, "stalwart_relay.host"),
    ("stalwart", "stalwart_relay", {"host": "relay.example.net", "port": 70000}, "stalwart_relay.port"),
    ("stalwart", "stalwart_relay", {"host": "relay.example.net", "username": "u"}, "stalwart_relay"),
    ("stalwart", "stalwart_relay", {"host": "relay.example.net", "passwd": "x"}, "stalwart_relay"),
    ("stalwart", "stalwart_dns_resolver", ["8.8.8.8:53", "dns.google"], "stalwart_dns_resolver[1]"),
    ("stalwart", "stalwart_network_policy_extra_egress", ["10.0.0.0/8"], "stalwart_network_policy_extra_egress[0]"),
    ("stalwart", "stalwart_admin_username", "admin user", "stalwart_admin_username"),
    ("stalwart", "stalwart_alert_queue_size", 0, "stalwart_alert_queue_size"),
    ("stalwart", "stalwart_wait_timeout", "soon", "stalwart_wait_timeout"),
    ("stalwart", "stalwart_settings_job_image", "python:3.13-slim\n---", "stalwart_settings_job_image"),
    ("stalwart", "stalwart_settings_job_wait", 0, "stalwart_settings_job_wait"),
    ("stalwart", "stalwart_settings_job_backoff_limit", -1, "stalwart_settings_job_backoff_limit"),
    ("stalwart", "stalwart_settings_job_resources", {"limits": {"memory": "lots"}}, "stalwart_settings_job_resources"),
    ("stalwart", "stalwart_application_resource_url", "http://mirror.local/webui.zip", "stalwart_application_resource_url"),
    ("stalwart", "stalwart_spam_rules_url", "ftp://mirror.local/rules", "stalwart_spam_rules_url"),
    ("stalwart", "stalwart_spam_rules_url", "https://mirror.local/rules\nx", "stalwart_spam_rules_url"),
    ("stalwart", "stalwart_spam_greylist", -5, "stalwart_spam_greylist"),
    ("stalwart", "stalwart_spam_dnsbl_servers", [{"name": "zen"}], "stalwart_spam_dnsbl_servers[0].zone"),
    ("stalwart", "stalwart_spam_inbound_throttles", [{"name": "x", "key": ["ip"], "count": 5, "period": 60}],
     "stalwart_spam_inbound_throttles[0].key"),
    ("stalwart", "stalwart_management_url", "mail.example.org", "stalwart_management_url"),
    ("stalwart", "stalwart_management_resolvers", ["192.0.2.53", "ns1.example.org"], "stalwart_management_resolvers[1]"),
    ("stalwart", "stalwart_management_resolver_port", 0, "stalwart_management_resolver_port"),
    ("cnpg", "openova_stalwart_mode", "deploy", "openova_stalwart_mode"),
    ("cnpg", "cnpg_cluster_name", "1db", "cnpg_cluster_name"),
    ("cnpg", "cnpg_namespace", "Mail", "cnpg_namespace"),
    ("cnpg", "cnpg_instances", 0, "cnpg_instances"),
    ("cnpg", "cnpg_instances", "two", "cnpg_instances"),
    ("cnpg", "cnpg_image_name", "ghcr.io/cloudnative-pg/postgresql", "cnpg_image_name"),
    ("cnpg", "cnpg_storage_size", "ten gigs", "cnpg_storage_size"),
    ("cnpg", "cnpg_wal_storage_size", "2GB", "cnpg_wal_storage_size"),
    ("cnpg", "cnpg_storage_class", "Fast", "cnpg_storage_class"),
    ("cnpg", "cnpg_resources", {"limits": {"memory": "1 GiB"}}, "cnpg_resources.limits.memory"),
    ("cnpg", "cnpg_database", "postgres", "cnpg_database"),
    ("cnpg", "cnpg_owner", "pg_admin", "cnpg_owner"),
    ("cnpg", "cnpg_postgresql_parameters", {"max connections": "100"}, 'cnpg_postgresql_parameters["max connections"]'),
    ("cnpg", "cnpg_pod_monitor_labels", {"release": "a b"}, 'cnpg_pod_monitor_labels["release"]'),
    ("cnpg", "cnpg_operator_version", "1.29.0", "cnpg_operator_version"),
    ("cnpg", "cnpg_operator_manifest_url", "http://github.com/cnpg.yaml", "cnpg_operator_manifest_url"),
    ("cnpg", "cnpg_operator_manifest_checksum", "md5:abc", "cnpg_operator_manifest_checksum"),
    ("cnpg", "cnpg_wait_timeout", 0, "cnpg_wait_timeout"),
    ("minio", "minio_s3_bucket", "Not_A_Bucket", "minio_s3_bucket"),
    ("minio", "minio_s3_bucket", "192.168.1.10", "minio_s3_bucket"),
    ("minio", "minio_s3_region", "US East", "minio_s3_region"),
    ("minio", "minio_s3_endpoint", "s3.example.org", "minio_s3_endpoint"),
    ("minio", "minio_s3_endpoint", "https://s3.example.org/bucket", "minio_s3_endpoint"),
    ("minio", "minio_s3_access_key", "", "minio_s3_access_key"),
    ("minio", "minio_verify_endpoint", "s3.local:9000", "minio_verify_endpoint"),
    ("dns", "dns_domains", [], "dns_domains"),
    ("dns", "dns_render_dir", "", "dns_render_dir"),
    ("dns", "dns_mail_host", "mail server", "dns_mail_host"),
    ("dns", "dns_rfc2136_server", "ns1 .example.org", "dns_rfc2136_server"),
    ("dns", "dns_rfc2136_port", 0, "dns_rfc2136_port"),
    ("dns", "dns_rfc2136_key_secret", "not base64!", "dns_rfc2136_key_secret"),
    ("dns", "dns_workers", 0, "dns_workers"),
    ("dns", "dns_ttl", 0, "dns_ttl"),
    ("dns", "dns_mx_preference", 70000, "dns_mx_preference"),
    ("dns", "dns_external_dns_namespace", "External DNS", "dns_external_dns_namespace"),
    ("dns", "dns_mail_host_ipv4", ["192.0.2.300"], "dns_mail_host_ipv4[0]"),
    ("dns", "dns_mail_host_ipv4", ["2001:db8::1"], "dns_mail_host_ipv4[0]"),
    ("dns", "dns_mail_host_ipv6", ["192.0.2.1"], "dns_mail_host_ipv6[0]"),
    ("dns", "dns_verify_resolvers", ["dns.google"], "dns_verify_resolvers[0]"),
    ("dns", "dns_caa_issuers", ["lets encrypt"], "dns_caa_issuers[0]"),
    ("dns", "dns_caa_iodef", "mailto:security", "dns_caa_iodef"),
    ("dns", "dns_tlsa_ports", [25, 0], "dns_tlsa_ports[1]"),
]
MINIO_DEPLOY = [
    ("minio_tenant_name", "S3", "minio_tenant_name"),
    ("minio_namespace", "storage ns", "minio_namespace"),
    ("minio_image", "quay.io/minio/minio", "minio_image"),
    ("minio_servers", 0, "minio_servers"),
    ("minio_volumes_per_server", 0, "minio_volumes_per_server"),
    ("minio_volume_size", "10 GB", "minio_volume_size"),
    ("minio_storage_class", "Local Path", "minio_storage_class"),
    ("minio_resources", {"requests": {"memory": "lots"}}, "minio_resources.requests.memory"),
    ("minio_operator_manifest_url", "", "minio_operator_manifest_url"),
    ("minio_operator_manifest_url", "http://example.org/operator.yaml", "minio_operator_manifest_url"),
]
BACKUP = [
    ("cnpg_backup_destination_path", "s3:/bucket", "cnpg_backup_destination_path"),
    ("cnpg_backup_endpoint_url", "s3.example.org", "cnpg_backup_endpoint_url"),
    ("cnpg_backup_s3_secret", "S3 keys", "cnpg_backup_s3_secret"),
    ("cnpg_backup_s3_access_key_id_key", "ACCESS KEY", "cnpg_backup_s3_access_key_id_key"),
    ("cnpg_backup_object_store_name", "Store", "cnpg_backup_object_store_name"),
    ("cnpg_backup_server_name", "-x", "cnpg_backup_server_name"),
    ("cnpg_backup_retention_policy", "30 days", "cnpg_backup_retention_policy"),
    ("cnpg_backup_schedule", "0 3 * * *", "cnpg_backup_schedule"),
    ("cnpg_backup_schedule", "0 0 25 * * *", "cnpg_backup_schedule"),
    ("cnpg_backup_schedule", "0 0 3 * * *\n", "cnpg_backup_schedule"),
    ("cnpg_backup_name", "Nightly", "cnpg_backup_name"),
    ("cnpg_restore_source_server_name", "", "cnpg_restore_source_server_name"),
    ("cnpg_restore_target_time", "2026-11-25 08:00", "cnpg_restore_target_time"),
    ("cnpg_restore_enabled", True, "cnpg_backup_server_name"),
]
BLOB_BACKUP = [
    ("minio_backup_destination_path", "", "minio_backup_destination_path"),
    ("minio_backup_destination_path", "s3://backups/a b", "minio_backup_destination_path"),
    ("minio_backup_destination_path", "s3://stalwart/copy", "minio_backup_destination_path"),
    ("minio_backup_endpoint_url", "backup.example.org", "minio_backup_endpoint_url"),
    ("minio_backup_region", "EU", "minio_backup_region"),
    ("minio_backup_s3_secret", "S3 keys", "minio_backup_s3_secret"),
    ("minio_backup_s3_secret_access_key_key", "SECRET KEY", "minio_backup_s3_secret_access_key_key"),
    ("minio_backup_database_path", "backups/db", "minio_backup_database_path"),
    ("minio_backup_schedule", "0 30 3 * * *", "minio_backup_schedule"),
    ("minio_backup_image", "rclone/rclone", "minio_backup_image"),
    ("minio_backup_snapshots_keep", -1, "minio_backup_snapshots_keep"),
    ("minio_backup_resources", {"limits": {"memory": "lots"}}, "minio_backup_resources.limits.memory"),
    ("minio_restore_snapshot", "latest", "minio_restore_snapshot"),
    ("minio_restore_target_time", "2026-11-25", "minio_restore_target_time"),
    ("minio_restore_wait_timeout", 0, "minio_restore_wait_timeout"),
    ("minio_restore_verify_blobs", ["ab/cd", "a b"], "minio_restore_verify_blobs[1]"),
    ("minio_namespace", "Mail", "minio_namespace"),
]
CASES = BAD + [("minio", var, value, name, {"minio_deploy": True, "minio_operator_manifest_url": "/srv/minio-operator.yaml"})
               for var, value, name in MINIO_DEPLOY] + [
    ("cnpg", var, value, name, {"cnpg_backup_enabled": True, "cnpg_backup_destination_path": "s3://backups/mail",
                                "cnpg_backup_s3_secret": "s3-keys"}) for var, value, name in BACKUP] + [
    ("minio", var, value, name, {"minio_backup_enabled": True, "minio_backup_destination_path": "s3://backups/blobs",
                                 "minio_backup_endpoint_url": "http://seaweedfs-s3.storage.svc:8333",
                                 "minio_backup_s3_secret": "s3-keys"}) for var, value, name in BLOB_BACKUP]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_bad_value_is_refused_naming_the_variable(case):
    role, variable, value, name = case[:4]
    base = values(role, **(case[4] if len(case) > 4 else {}))
    assert _inputs.problems(role, base) == []
    problems = _inputs.problems(role, dict(base, **{variable: value}))
    assert problems, f"{variable}={value!r} was accepted"
    assert all(p.startswith(name) for p in problems), problems


def test_the_table_is_large_and_covers_every_role():
    assert len(CASES) >= 60
    assert {c[0] for c in CASES} == set(_inputs.ROLES)


def test_every_problem_is_reported_at_once():
    problems = _inputs.problems("stalwart", values("stalwart", stalwart_name="Bad", stalwart_replicas=0,
                                                   stalwart_http_trusted_proxies=["x", "10.0.0.0/8", "y"]))
    assert [p.split(" ")[0] for p in problems] == [
        "stalwart_name", "stalwart_replicas", "stalwart_http_trusted_proxies[0]", "stalwart_http_trusted_proxies[2]"]


@pytest.mark.parametrize(("role", "variable"), [
    ("stalwart", "stalwart_s3_secret_key"), ("stalwart", "stalwart_coordinator_password"),
    ("minio", "minio_s3_secret_key"), ("dns", "dns_rfc2136_key_secret")])
def test_secret_values_are_never_quoted(role, variable):
    secret = "hunter2 \x07bad"
    problems = _inputs.problems(role, values(role, **{variable: secret}))
    assert problems and variable in problems[0]
    assert "hunter2" not in json.dumps(problems)


def test_redis_url_with_a_password_is_not_quoted():
    problems = _inputs.problems("stalwart", values("stalwart", stalwart_coordinator={"type": "redis"},
                                                   stalwart_redis_url="http://:hunter2@redis:6379"))
    assert problems == ["stalwart_redis_url must be a redis:// or rediss:// URL with a redis coordinator"]


def test_optional_values_may_be_empty():
    empty = {name: "" for name in ("stalwart_smoke_account", "stalwart_storage_class", "stalwart_load_balancer_ip",
                                   "stalwart_ingress_class_name", "stalwart_tls_mail_issuer_name", "stalwart_redis_url",
                                   "stalwart_spam_rules_url", "stalwart_application_resource_url", "stalwart_dkim_rotate_now")}
    assert _inputs.problems("stalwart", values("stalwart", **empty)) == []


def test_unknown_role_is_an_error():
    with pytest.raises(ValueError, match="role"):
        _inputs.problems("postfix", {})


def test_misspelled_names_get_the_closest_known_name():
    known = _inputs.known_variables(str(ROOT))
    assert {"stalwart_hostname", "cnpg_instances", "minio_deploy", "dns_ttl", "cnpg_app_cluster"} <= known
    messages = _inputs.unknown_variables(
        ["stalwart_hostnme", "cnpg_instance", "stalwart_hostname", "ansible_host", "dns_ttl", "minio_blob_store", "dns_zzzzzz_qqq"], known)
    assert messages == [
        "cnpg_instance is set but no role of openova.stalwart uses it (misspelled?); did you mean cnpg_instances?",
        "dns_zzzzzz_qqq is set but no role of openova.stalwart uses it (misspelled?)",
        "stalwart_hostnme is set but no role of openova.stalwart uses it (misspelled?); did you mean stalwart_hostname?",
    ]


def test_smoke_login_names_an_account_with_a_password():
    accounts = [{"name": "alice", "password": "Alice-pass-7Qw2-zX9"}]
    assert _inputs.problems("stalwart", values("stalwart", stalwart_accounts=accounts, stalwart_smoke_login="alice")) == []
    problems = _inputs.problems("stalwart", values("stalwart", stalwart_accounts=accounts, stalwart_smoke_login="bob"))
    assert problems == ["stalwart_smoke_login: bob@example.org is not an account of stalwart_accounts (state present)"]


SERVED = {"stalwart_mta_sts_mode": "testing", "stalwart_mta_sts_max_age": 604800}


@pytest.mark.parametrize("record", [
    {"enabled": True, "mode": "testing", "max_age": 604800},
    {"enabled": True, "mode": "testing", "max_age": "604800"},  # templated defaults hand over text
    {"mode": "testing", "max_age": 604800},
    {"enabled": False, "mode": "enforce", "max_age": 1},
    {"enabled": "no", "mode": "enforce"},
])
def test_mta_sts_record_of_the_served_policy_passes(record):
    assert _inputs.problems("dns", values("dns", dns_mta_sts=record, **SERVED)) == []


@pytest.mark.parametrize(("overrides", "quoted"), [
    ({"dns_mta_sts": {"enabled": True, "mode": "enforce", "max_age": 604800}}, '(mode "enforce", max_age "604800")'),
    ({"dns_mta_sts": {"enabled": "yes", "mode": "testing", "max_age": 86400}}, '(mode "testing", max_age "86400")'),
    # Only enabled, mode and max_age of the default record: mode "enforce".
    ({"dns_mta_sts": {}}, '(mode "enforce", max_age "604800")'),
    ({"dns_mta_sts": {"enabled": True, "mode": "testing", "max_age": 604800},
      "dns_domains": [{"name": "example.org", "mta_sts_mode": "enforce"}, {"name": "example.net", "mta_sts_mode": "testing"},
                      {"name": "example.com", "mta_sts_mode": "enforce"}]},
     'and dns_domains[].mta_sts_mode (["enforce"])'),
])
def test_mta_sts_record_of_another_policy_is_refused(overrides, quoted):
    problems = _inputs.problems("dns", values("dns", **dict(SERVED, **overrides)))
    assert len(problems) == 1 and problems[0].startswith("dns_mta_sts (")
    assert quoted in problems[0]
    assert problems[0].endswith('must equal the policy Stalwart serves: stalwart_mta_sts_mode "testing", stalwart_mta_sts_max_age '
                                '"604800" (set those; dns_mta_sts follows them)')


def test_mta_sts_record_without_the_stalwart_role_is_not_compared():
    assert _inputs.problems("dns", values("dns", dns_mta_sts={"enabled": True, "mode": "enforce", "max_age": 1})) == []


def test_option_names_are_those_of_the_entry_point():
    names = _inputs.option_names(str(ROOT), "stalwart")
    assert names == sorted(yaml.safe_load((ROOT / "roles" / "stalwart" / "meta" / "argument_specs.yml").read_text())
                           ["argument_specs"]["main"]["options"])
    assert "stalwart_hostname" in names
    assert _inputs.option_names(str(ROOT), "stalwart", "teardown") == ["stalwart_create_namespace", "stalwart_name", "stalwart_namespace"]
    with pytest.raises(ValueError, match="entry point"):
        _inputs.option_names(str(ROOT), "dns", "teardown")
    with pytest.raises(ValueError, match="role"):
        _inputs.option_names(str(ROOT), "postfix")
