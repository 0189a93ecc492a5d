# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""Every format check of the roles' public variables, run by each role's preflight (filter ``input_problems``)
before anything is written or applied. ``problems(role, values)`` returns one message per problem, each starting
with the variable (and the item index) at fault; values of secret variables are never quoted. The checks are
O(items) Python: a thousand domains cost milliseconds, where the Jinja checks they replace cost seconds.

The spelling check of variable names (``unknown_variables``) compares the names set in the inventory with those
the roles' ``meta/argument_specs.yml`` declare."""

from __future__ import annotations

import difflib
import json
import os
import re
import typing as t

from ansible_collections.openova.stalwart.plugins.module_utils import _stalwart_accounts, _stalwart_plan
from ansible_collections.openova.stalwart.plugins.module_utils import _validate as v

ROLES = ("cnpg", "minio", "stalwart", "dns")
PREFIXES = tuple(f"{role}_" for role in ROLES)
# Facts the roles publish for each other (playbooks/vars/wiring.yml reads them): set, but not in argument_specs.
PUBLISHED = frozenset({
    "cnpg_app_cluster", "cnpg_app_namespace", "cnpg_app_secret_name", "cnpg_app_database", "cnpg_app_username",
    "cnpg_rw_host", "cnpg_rw_port", "minio_blob_store", "stalwart_dkim_records",
})


def _got(value: t.Any) -> str:
    return json.dumps(value, default=str)


class _Checks:
    """Collects the problems of one role's variables."""

    def __init__(self, values: t.Mapping[str, t.Any]):
        self.values = values
        self.problems: list[str] = []

    def __getitem__(self, name: str) -> t.Any:
        return self.values.get(name)

    def add(self, name: str, message: str) -> None:
        self.problems.append(f"{name} {message}")

    def text(self, name: str, test: t.Callable[[t.Any], bool], what: str, optional: bool = False, secret: bool = False) -> None:
        value = self[name]
        if optional and value in ("", None):
            return
        if not test(value):
            self.add(name, f"must be {'empty or ' if optional else ''}{what}" + ("" if secret else f", got {_got(value)}"))

    def integer(self, name: str, low: int, high: int | None = None) -> None:
        number = v.as_int(self[name])
        if number is None or number < low or (high is not None and number > high):
            bound = f" and at most {high}" if high is not None else ""
            self.add(name, f"must be {low} or more{bound} (an integer), got {_got(self[name])}")

    def items(self, name: str, test: t.Callable[[t.Any], bool], what: str) -> None:
        value = self[name]
        if value in (None, ""):
            return
        if not isinstance(value, (list, tuple)):
            self.add(name, f"must be a list of {what}, got {_got(value)}")
            return
        for index, item in enumerate(value):
            if not test(item):
                self.add(f"{name}[{index}]", f"must be {what}, got {_got(item)}")

    def labels(self, name: str, values: bool = True) -> None:
        """A map of label keys to label values (``values`` False: annotation values, any string)."""
        value = self[name]
        if value in (None, ""):
            return
        if not isinstance(value, t.Mapping):
            self.add(name, f"must be a dictionary, got {_got(value)}")
            return
        for key, item in value.items():
            if not v.is_label_key(key):
                self.add(f"{name}[{_got(key)}]", "is not a label/annotation key ([prefix/]name, name at most 63 of [-A-Za-z0-9_.])")
            elif values and not v.is_label_value(item):
                self.add(f"{name}[{_got(key)}]", f"must be a label value (at most 63 of [-A-Za-z0-9_.]), got {_got(item)}")
            elif not values and not isinstance(item, str):
                self.add(f"{name}[{_got(key)}]", f"must be a string (quote it in YAML), got {_got(item)}")

    def resources(self, name: str) -> None:
        value = self[name]
        if not isinstance(value, t.Mapping):
            self.add(name, f"must be a dictionary with requests and/or limits, got {_got(value)}")
            return
        for part, amounts in value.items():
            if part not in ("requests", "limits"):
                self.add(f"{name}.{part}", "is not a key of container resources (requests, limits)")
                continue
            if not isinstance(amounts, t.Mapping):
                self.add(f"{name}.{part}", f"must be a dictionary such as {{cpu: 250m, memory: 512Mi}}, got {_got(amounts)}")
                continue
            for resource, amount in amounts.items():
                if not re.fullmatch(r"cpu|memory|ephemeral-storage|hugepages-[0-9A-Za-z]+|[a-z0-9.-]+/[a-z0-9.-]+", str(resource)):
                    self.add(f"{name}.{part}.{resource}", "is not a resource name (cpu, memory, ephemeral-storage)")
                elif not v.is_quantity(amount, positive=False):
                    self.add(f"{name}.{part}.{resource}", f"must be a Kubernetes quantity such as 500m or 1Gi, got {_got(amount)}")

    def mapping_list(self, name: str, required: t.Sequence[str] = ()) -> list[tuple[int, t.Mapping[str, t.Any]]]:
        value = self[name] or []
        if not isinstance(value, (list, tuple)):
            self.add(name, f"must be a list of dictionaries, got {_got(value)}")
            return []
        good = []
        for index, item in enumerate(value):
            if not isinstance(item, t.Mapping):
                self.add(f"{name}[{index}]", f"must be a dictionary, got {_got(item)}")
            elif any(key not in item for key in required):
                self.add(f"{name}[{index}]", f"must have {', '.join(required)}, got {_got(item)}")
            else:
                good.append((index, item))
        return good


def _site(c: _Checks) -> None:
    mode = c["openova_stalwart_mode"]
    if mode not in ("apply", "render"):
        c.add("openova_stalwart_mode", f"must be apply or render, got {_got(mode)}")
    render_dir = c["openova_stalwart_render_dir"]
    if mode == "render" and not (isinstance(render_dir, str) and render_dir.startswith("/") and render_dir.isprintable()):
        c.add("openova_stalwart_render_dir", f"must be an absolute path in render mode, got {_got(render_dir)}")


def _fetched_url(value: t.Any) -> bool:
    """Where the controller downloads from: https, a file:// URL or an absolute path."""
    return v.is_url(value) or (isinstance(value, str) and value.isprintable() and bool(re.fullmatch(r"(file://)?/[^\s]*", value)))


def _http_url(value: t.Any) -> bool:
    return v.is_url(value, ("http", "https"))


def _host_or_ip(value: t.Any) -> bool:
    return v.is_ip_address(value) or (isinstance(value, str) and v.is_host_name(value.lower().rstrip(".")))


def stalwart(c: _Checks) -> None:
    """The stalwart role's variables."""
    domain_problems = v.domain_list_problems(c["stalwart_domains"], "stalwart_domains")
    c.problems.extend(domain_problems)
    if not domain_problems:  # aliases, catch_all addresses and DKIM selectors, as stalwart_config reads them
        params = {"domains": list(c["stalwart_domains"]), "dkim_selector_prefix": c["stalwart_dkim_selector_prefix"],
                  "dkim_ed25519": c["stalwart_dkim_ed25519"] if c["stalwart_dkim_ed25519"] is not None else True}
        try:
            _stalwart_plan._dkim_keys(params, _stalwart_plan._domains(params))  # pylint: disable=protected-access
        except ValueError as err:
            c.problems.append(f"stalwart_{err}")
    if not domain_problems:  # accounts, groups and mailing lists, as stalwart_config plans them
        c.problems.extend(_stalwart_accounts.problems(c["stalwart_accounts"], c["stalwart_groups"], c["stalwart_mailing_lists"],
                                                      c["stalwart_domains"]))
        smoke = c["stalwart_smoke_account"]
        names = [d.get("name") for d in c["stalwart_domains"] or [] if isinstance(d, t.Mapping)]
        for index, item in enumerate(c["stalwart_accounts"] or []):
            if smoke and names and isinstance(item, t.Mapping) and (item.get("state") or "present") == "present" \
                    and str(item.get("name", "")).lower() == str(smoke).lower() and (item.get("domain") or names[0]) == names[0]:
                c.add(f"stalwart_accounts[{index}]", f"{smoke}@{names[0]} is the smoke-test account (stalwart_smoke_account)")
        if c["stalwart_smoke_login"]:
            problem = _stalwart_accounts.smoke_login(c["stalwart_smoke_login"], c["stalwart_accounts"], c["stalwart_domains"])[1]
            if problem:
                c.problems.append(problem)
    c.text("stalwart_hostname", lambda x: isinstance(x, str) and v.is_host_name(x.lower()), "a fully qualified host name")
    c.text("stalwart_name", lambda x: v.is_dns_label(x, 40), "a DNS label of at most 40 characters")
    c.text("stalwart_namespace", v.is_dns_label, "a DNS label")
    c.text("stalwart_image", v.is_image, "an image reference pinned by tag or digest (registry/name:tag or @sha256:...)")
    c.integer("stalwart_replicas", 1)
    coordinator = c["stalwart_coordinator"] or {}
    kind = coordinator.get("type", "") if isinstance(coordinator, t.Mapping) else None
    if kind is None or kind not in ("", "redis", "nats"):
        c.add("stalwart_coordinator", f"must be {{type: nats, addresses: [...]}} or {{type: redis}}, got {_got(coordinator)}")
    elif kind == "nats":
        addresses = coordinator.get("addresses")
        if not isinstance(addresses, list) or not addresses:
            c.add("stalwart_coordinator.addresses", "must list the NATS servers (host:port) with type nats")
        else:
            for index, address in enumerate(addresses):
                host, colon, port = str(address).rpartition(":")
                if not isinstance(address, str) or not colon or not _host_or_ip(host.strip("[]")) and not v.is_dns_label(host) \
                        or not port.isdigit() or not 1 <= int(port) <= 65535:
                    c.add(f"stalwart_coordinator.addresses[{index}]", f"must be host:port, got {_got(address)}")
    if kind == "redis" and not v.is_url(c["stalwart_redis_url"], ("redis", "rediss")):
        c.add("stalwart_redis_url", "must be a redis:// or rediss:// URL with a redis coordinator")
    elif c["stalwart_redis_url"] and not v.is_url(c["stalwart_redis_url"], ("redis", "rediss")):
        c.add("stalwart_redis_url", "must be empty or a redis:// or rediss:// URL")
    c.resources("stalwart_resources")
    c.text("stalwart_coordinator_image", v.is_image, "an image reference pinned by tag or digest (registry/name:tag or @sha256:...)")
    c.resources("stalwart_coordinator_resources")
    c.text("stalwart_storage_size", v.is_quantity, "a Kubernetes quantity such as 10Gi")
    c.text("stalwart_storage_class", v.is_dns_subdomain, "a storage class name", optional=True)
    c.labels("stalwart_node_selector")
    c.labels("stalwart_pod_annotations", values=False)
    c.labels("stalwart_mail_service_annotations", values=False)
    c.labels("stalwart_ingress_annotations", values=False)
    c.labels("stalwart_prometheus_rule_labels")
    c.text("stalwart_dkim_selector_prefix", lambda x: isinstance(x, str) and bool(re.fullmatch(r"[a-z0-9]([a-z0-9_-]{0,40}[a-z0-9])?", x)),
           "a DKIM selector label (a-z 0-9 _ -) of at most 42 characters")
    for name in ("stalwart_dkim_rotate_interval_days", "stalwart_dkim_rotate_overlap_days", "stalwart_dkim_rotate_settle_seconds"):
        c.integer(name, 0)
    c.text("stalwart_dkim_rotate_now", v.is_rfc3339, "an ISO 8601 time with a zone such as 2026-01-31T12:00:00Z", optional=True)
    c.text("stalwart_postgres_cluster", lambda x: v.is_dns_label(x, 50), "a DNS label of at most 50 characters")
    c.text("stalwart_postgres_namespace", v.is_dns_label, "a DNS label")
    c.text("stalwart_postgres_database", v.is_pg_identifier, "a lower-case PostgreSQL identifier")
    c.text("stalwart_postgres_username", v.is_pg_identifier, "a lower-case PostgreSQL role name")
    c.text("stalwart_postgres_ca_secret", v.is_dns_subdomain, "the name of the Secret holding the PostgreSQL CA (key ca.crt)")
    c.text("stalwart_s3_endpoint", _http_url, "an http(s) URL")
    c.text("stalwart_s3_bucket", v.is_bucket, "an S3 bucket name (3-63 of a-z 0-9 . -)")
    c.text("stalwart_s3_region", lambda x: isinstance(x, str) and bool(re.fullmatch(r"[a-z0-9-]{1,32}", x)), "a region name such as us-east-1")
    if not c["stalwart_s3_access_key"] or not c["stalwart_s3_secret_key"]:
        c.add("stalwart_s3_access_key", "and stalwart_s3_secret_key must be set")
    for name in ("stalwart_s3_access_key", "stalwart_s3_secret_key", "stalwart_coordinator_password"):
        c.text(name, lambda x: isinstance(x, str) and x.isprintable(), "a string of printable characters", optional=True, secret=True)
    c.text("stalwart_load_balancer_ip", v.is_ip_address, "an IP address", optional=True)
    if c["stalwart_client_ip"] == "proxy_protocol" and not c["stalwart_proxy_trusted_networks"]:
        c.add("stalwart_proxy_trusted_networks", "must list the load balancer networks: stalwart_client_ip is proxy_protocol")
    c.items("stalwart_proxy_trusted_networks", v.is_cidr, "a CIDR network such as 10.0.0.0/8")
    c.items("stalwart_http_trusted_proxies", v.is_cidr, "a CIDR network such as 130.211.0.0/22")
    c.text("stalwart_ingress_class_name", v.is_dns_subdomain, "an IngressClass name", optional=True)
    refs = c.mapping_list("stalwart_gateway_parent_refs", ("name",))
    if c["stalwart_http_exposure"] == "httproute" and not c["stalwart_gateway_parent_refs"]:
        c.add("stalwart_gateway_parent_refs", "must name the Gateway(s): stalwart_http_exposure is httproute")
    for index, ref in refs:
        if not v.is_dns_subdomain(ref["name"]) or ("namespace" in ref and not v.is_dns_label(ref["namespace"])):
            c.add(f"stalwart_gateway_parent_refs[{index}]", f"must name a Gateway (name, namespace: DNS names), got {_got(ref)}")
    c.items("stalwart_extra_http_hosts", lambda x: isinstance(x, str) and v.is_host_name(x.lower()), "a fully qualified host name")
    c.text("stalwart_tls_issuer_name", v.is_dns_subdomain, "a cert-manager issuer name")
    c.text("stalwart_tls_mail_issuer_name", v.is_dns_subdomain, "a cert-manager issuer name", optional=True)
    c.text("stalwart_tls_secret_name", v.is_dns_subdomain, "a Secret name (DNS subdomain)")
    max_names = v.as_int(c["stalwart_tls_max_names"])
    if max_names is None or not 3 <= max_names <= 100:
        c.add("stalwart_tls_max_names", f"must be an integer from 3 (the web names of one domain) to 100, got {_got(c['stalwart_tls_max_names'])}")
    if c["stalwart_tls_key_rotation"] == "Always" and c["dns_tlsa_public_key"]:
        c.add("stalwart_tls_key_rotation", "is Always but dns_tlsa_public_key publishes TLSA records that pin the mail host's key: "
              "a renewal would break DANE; use Never (or leave it empty)")
    _relay(c)
    resolver = c["stalwart_dns_resolver"] or []
    try:
        _stalwart_plan._dns_resolver({"dns_resolver": resolver})  # pylint: disable=protected-access
    except ValueError as err:
        c.problems.append("stalwart_" + str(err))
    for name in ("stalwart_network_policy_http_from", "stalwart_network_policy_monitoring_from", "stalwart_network_policy_extra_egress"):
        c.mapping_list(name)
    for name in ("stalwart_metrics_username", "stalwart_admin_username", "stalwart_smoke_account"):
        # An empty smoke account turns the smoke-test account off.
        c.text(name, lambda x: isinstance(x, str) and bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", x)),
               "a login name (letters, digits, . _ -)", optional=name == "stalwart_smoke_account")
    c.integer("stalwart_alert_queue_size", 1)
    c.integer("stalwart_alert_auth_failures_per_minute", 1)
    c.integer("stalwart_wait_timeout", 1)
    c.text("stalwart_settings_job_image", v.is_image, "an image reference pinned by tag or digest (registry/name:tag or @sha256:...)")
    c.integer("stalwart_settings_job_wait", 1)
    c.integer("stalwart_settings_job_backoff_limit", 0)
    c.resources("stalwart_settings_job_resources")
    c.text("stalwart_application_resource_url", v.is_url, "an https URL (Stalwart downloads it)", optional=True)
    c.text("stalwart_management_url", _http_url, "the http(s) URL of Stalwart's management API")
    c.items("stalwart_management_resolvers", v.is_ip_address, "an IP address")
    c.integer("stalwart_management_resolver_port", 1, 65535)
    spam = {"enabled": c["stalwart_spam_filter"], "rules_url": c["stalwart_spam_rules_url"] or None,
            "greylist": v.as_int(c["stalwart_spam_greylist"]) if v.as_int(c["stalwart_spam_greylist"]) is not None else c["stalwart_spam_greylist"],
            "dnsbl_servers": c["stalwart_spam_dnsbl_servers"], "rate_limits": c["stalwart_spam_inbound_throttles"]}
    c.problems.extend(_stalwart_plan.spam_problems(spam, {
        "rules_url": "stalwart_spam_rules_url", "greylist": "stalwart_spam_greylist",
        "dnsbl_servers": "stalwart_spam_dnsbl_servers", "rate_limits": "stalwart_spam_inbound_throttles"}))
    c.text("stalwart_spam_rules_url", v.is_url, "an https URL (Stalwart downloads the rules)", optional=True)


_RELAY_KEYS = ("host", "port", "protocol", "implicit_tls", "allow_invalid_certs", "username", "password_secret")


def _relay(c: _Checks) -> None:
    relay = c["stalwart_relay"]
    if relay in (None, "", {}):
        return
    if not isinstance(relay, t.Mapping):
        c.add("stalwart_relay", f"must be a dictionary with keys {', '.join(_RELAY_KEYS)}, got {_got(relay)}")
        return
    unknown = sorted(str(key) for key in relay if key not in _RELAY_KEYS)
    if unknown:
        c.add("stalwart_relay", f"must be a dictionary with keys {', '.join(_RELAY_KEYS)}; unknown: {_got(unknown)}")
    host = relay.get("host")
    if not (v.is_ip_address(host) or (isinstance(host, str) and (v.is_host_name(host.lower()) or v.is_dns_label(host.lower())))):
        c.add("stalwart_relay.host", f"must be the relay's host name or IP address (no scheme, no port), got {_got(host)}")
    port = v.as_int(relay.get("port", 25))
    if port is None or not 1 <= port <= 65535:
        c.add("stalwart_relay.port", f"must be a port number (1-65535), got {_got(relay.get('port'))}")
    if relay.get("protocol", "smtp") not in ("smtp", "lmtp"):
        c.add("stalwart_relay.protocol", f"must be smtp or lmtp, got {_got(relay.get('protocol'))}")
    for key in ("implicit_tls", "allow_invalid_certs"):
        if not isinstance(relay.get(key, False), bool):
            c.add(f"stalwart_relay.{key}", f"must be true or false, got {_got(relay.get(key))}")
    username, secret = relay.get("username") or "", relay.get("password_secret") or {}
    secret_ok = (isinstance(secret, t.Mapping) and v.is_dns_subdomain(secret.get("name"))
                 and isinstance(secret.get("key"), str) and bool(re.fullmatch(r"[-._a-zA-Z0-9]+", secret["key"])))
    if bool(username) != bool(secret) or (secret and not secret_ok) or not isinstance(username, str) or not username.isprintable():
        c.add("stalwart_relay", "username and stalwart_relay.password_secret ({name: <Secret in the namespace>, key: <key holding the "
              "password>}) go together: set both or neither (the password is never given inline)")


def cnpg(c: _Checks) -> None:
    """The cnpg role's variables (the backup ones when backups or a restore are enabled)."""
    c.text("cnpg_cluster_name", lambda x: v.is_dns_label(x, 50) and x[0].isalpha(), "a DNS label of at most 50 characters")
    c.text("cnpg_namespace", v.is_dns_label, "a DNS label")
    c.integer("cnpg_instances", 1, 99)
    c.text("cnpg_image_name", v.is_image, "an image reference pinned by tag or digest", optional=True)
    c.text("cnpg_storage_size", v.is_quantity, "a Kubernetes quantity such as 10Gi")
    c.text("cnpg_wal_storage_size", v.is_quantity, "a Kubernetes quantity such as 2Gi", optional=True)
    c.text("cnpg_storage_class", v.is_dns_subdomain, "a storage class name", optional=True)
    c.resources("cnpg_resources")
    c.labels("cnpg_pod_monitor_labels")
    params = c["cnpg_postgresql_parameters"]
    if not isinstance(params, t.Mapping):
        c.add("cnpg_postgresql_parameters", f"must be a dictionary, got {_got(params)}")
    else:
        for key, value in params.items():
            if not re.fullmatch(r"[a-z_][a-z0-9_.]*", str(key)) or isinstance(value, (dict, list)) or value is None:
                c.add(f"cnpg_postgresql_parameters[{_got(key)}]", f"must be a PostgreSQL setting name with a scalar value, got {_got(value)}")
    database, owner = c["cnpg_database"], c["cnpg_owner"]
    if not v.is_pg_identifier(database) or database in ("postgres", "template0", "template1"):
        c.add("cnpg_database", f"must be a lower-case PostgreSQL identifier other than postgres/template0/template1, got {_got(database)}")
    if not v.is_pg_identifier(owner) or owner == "postgres" or owner.startswith("pg_"):
        c.add("cnpg_owner", f"must be a lower-case PostgreSQL role name (not postgres, not pg_*), got {_got(owner)}")
    c.text("cnpg_operator_version", lambda x: isinstance(x, str) and bool(re.fullmatch(r"1\.30\.[0-9]+", x)),
           "a CloudNativePG 1.30.x release (the Cluster schema this role writes)")
    if c["cnpg_operator_install"]:
        c.text("cnpg_operator_manifest_url", _fetched_url, "an https URL, a file:// URL or an absolute path")
    c.text("cnpg_operator_manifest_checksum", lambda x: isinstance(x, str) and bool(re.fullmatch(r"sha256:[0-9a-f]{64}", x)),
           "sha256:<64 hex digits>", optional=True)
    c.integer("cnpg_wait_timeout", 1)
    if c["cnpg_backup_enabled"] or c["cnpg_restore_enabled"]:
        _cnpg_backup(c)


def _folder(value: t.Any) -> bool:
    return isinstance(value, str) and bool(re.fullmatch(r"[a-zA-Z0-9][-._a-zA-Z0-9]*", value))


def _cnpg_backup(c: _Checks) -> None:
    c.text("cnpg_backup_destination_path", lambda x: isinstance(x, str) and bool(re.fullmatch(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\s]*)?", x)),
           "s3://<bucket>[/<path>]")
    c.text("cnpg_backup_endpoint_url", _http_url, "an http(s) URL (empty: AWS S3)", optional=True)
    c.text("cnpg_backup_s3_secret", v.is_dns_subdomain, f"the name of the Secret in {c['cnpg_namespace']} that holds the S3 keys")
    for name in ("cnpg_backup_s3_access_key_id_key", "cnpg_backup_s3_secret_access_key_key"):
        c.text(name, lambda x: isinstance(x, str) and bool(re.fullmatch(r"[-._a-zA-Z0-9]+", x)), "a Secret key ([-._a-zA-Z0-9]+)")
    for name in ("cnpg_backup_object_store_name", "cnpg_restore_object_store_name"):
        c.text(name, v.is_dns_label, "a DNS label")
    c.text("cnpg_backup_server_name", _folder, "a folder name ([-._a-zA-Z0-9])", optional=True)
    c.text("cnpg_restore_source_server_name", _folder, "a folder name ([-._a-zA-Z0-9])")
    c.text("cnpg_backup_retention_policy", lambda x: isinstance(x, str) and bool(re.fullmatch(r"[1-9][0-9]*[dwm]", x)),
           "<n>d, <n>w or <n>m", optional=True)
    c.text("cnpg_backup_schedule", v.is_cron6, 'a six-field cron expression with seconds first (e.g. "0 0 3 * * *") or @daily')
    c.text("cnpg_backup_name", v.is_dns_subdomain, "a DNS name", optional=True)
    c.text("cnpg_restore_target_time", v.is_rfc3339, "an RFC 3339 time such as 2026-11-25T08:00:00Z", optional=True)
    # A restored cluster archiving into the folder it was restored from would mix two timelines in one archive.
    if (c["cnpg_backup_enabled"] and c["cnpg_restore_enabled"]
            and c["cnpg_restore_object_store_name"] == c["cnpg_backup_object_store_name"]
            and (c["cnpg_backup_server_name"] or c["cnpg_cluster_name"]) == c["cnpg_restore_source_server_name"]):
        c.add("cnpg_backup_server_name", f"must differ from cnpg_restore_source_server_name ({c['cnpg_restore_source_server_name']}) "
              "when the restored cluster archives into the same object store it is restored from")


def minio(c: _Checks) -> None:
    """The minio role's variables."""
    deploy = bool(c["minio_deploy"])
    c.text("minio_s3_bucket", v.is_bucket, "an S3 bucket name (3-63 of a-z 0-9 . -)")
    c.text("minio_s3_region", lambda x: isinstance(x, str) and bool(re.fullmatch(r"[a-z0-9-]{1,32}", x)), "a region name such as us-east-1")
    if not deploy:
        c.text("minio_s3_endpoint", lambda x: _http_url(x) and bool(re.fullmatch(r"[a-zA-Z]+://[^/]+/?", x)),
               "the http(s):// URL of your S3 service when minio_deploy is false")
        if not c["minio_s3_access_key"] or not c["minio_s3_secret_key"]:
            c.add("minio_s3_access_key", "and minio_s3_secret_key (Stalwart's dedicated key) are required when minio_deploy is false")
    for name in ("minio_s3_access_key", "minio_s3_secret_key"):
        c.text(name, lambda x: isinstance(x, str) and x.isprintable(), "a string of printable characters", optional=True, secret=True)
    c.text("minio_verify_endpoint", _http_url, "an http(s):// URL", optional=True)
    if deploy:
        c.text("minio_tenant_name", lambda x: v.is_dns_label(x, 42) and x[0].isalpha(), "a DNS label of at most 42 characters")
        c.text("minio_namespace", v.is_dns_label, "a DNS label")
        c.text("minio_image", v.is_image, "an image reference pinned by tag or digest")
        c.integer("minio_servers", 1, 32)
        c.integer("minio_volumes_per_server", 1, 64)
        c.text("minio_volume_size", v.is_quantity, "a Kubernetes quantity such as 10Gi")
        c.text("minio_storage_class", v.is_dns_subdomain, "a storage class name", optional=True)
        c.resources("minio_resources")
        c.integer("minio_wait_timeout", 1)
        if c["minio_operator_install"]:
            c.text("minio_operator_manifest_url", _fetched_url,
                   "the MinIO operator v7.1.1 manifest (https URL, file:// URL or absolute path; "
                   "`kubectl kustomize github.com/minio/operator?ref=v7.1.1` writes it) when minio_deploy and minio_operator_install are true")
    if c["minio_backup_enabled"] or c["minio_restore_enabled"]:
        _minio_backup(c)


_S3_PATH = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9._-]+)*/?")


def _s3_path(value: t.Any) -> bool:
    return isinstance(value, str) and bool(_S3_PATH.fullmatch(value))


def _minio_backup(c: _Checks) -> None:
    """The blob backup and restore settings (the CronJob and the restore Job run in minio_namespace)."""
    c.text("minio_tenant_name", lambda x: v.is_dns_label(x, 42) and x[0].isalpha(), "a DNS label of at most 42 characters")
    c.text("minio_namespace", v.is_dns_label, "a DNS label")
    c.text("minio_backup_destination_path", _s3_path, "the s3://bucket/prefix of the blob backups on the second S3 target")
    c.text("minio_backup_endpoint_url", _http_url, "an http(s) URL (empty: AWS S3)", optional=True)
    c.text("minio_backup_region", lambda x: isinstance(x, str) and bool(re.fullmatch(r"[a-z0-9-]{1,32}", x)), "a region name such as us-east-1")
    c.text("minio_backup_s3_secret", v.is_dns_subdomain, f"the name of the Secret in {c['minio_namespace']} that holds the backup target's S3 keys")
    for name in ("minio_backup_s3_access_key_id_key", "minio_backup_s3_secret_access_key_key"):
        c.text(name, lambda x: isinstance(x, str) and bool(re.fullmatch(r"[-._a-zA-Z0-9]{1,253}", x)), "a Secret key name")
    c.text("minio_backup_database_path", _s3_path, "the s3://bucket/path/<server name> of the database backups on the same target", optional=True)
    c.text("minio_backup_schedule", v.is_cron5, 'a five-field cron expression (e.g. "30 3 * * *") or @daily')
    c.integer("minio_backup_snapshots_keep", 0)
    c.text("minio_backup_image", v.is_image, "an image reference pinned by tag or digest")
    c.resources("minio_backup_resources")
    c.text("minio_restore_snapshot", lambda x: isinstance(x, str) and bool(re.fullmatch(r"[0-9]{8}T[0-9]{6}Z", x)),
           "a blob snapshot id such as 20261125T083000Z", optional=True)
    c.text("minio_restore_target_time", v.is_rfc3339, "an RFC 3339 time such as 2026-11-25T08:00:00Z", optional=True)
    c.integer("minio_restore_wait_timeout", 1)
    c.items("minio_restore_verify_blobs", lambda x: isinstance(x, str) and bool(re.fullmatch(r"[A-Za-z0-9._/=+-]{1,1024}", x)),
            "an object key ([A-Za-z0-9._/=+-])")
    # A copy into the bucket it copies would copy itself again on every run.
    path = c["minio_backup_destination_path"]
    if (_s3_path(path) and path[len("s3://"):].split("/")[0] == c["minio_s3_bucket"] and not c["minio_deploy"]
            and str(c["minio_backup_endpoint_url"] or "").rstrip("/") == str(c["minio_s3_endpoint"] or "").rstrip("/")):
        c.add("minio_backup_destination_path", "must name another bucket or another S3 service than the blob bucket minio_s3_bucket")


def dns(c: _Checks) -> None:
    """The dns role's settings and, next to the stalwart role, that the MTA-STS record announces the policy Stalwart
    serves (the records themselves are checked by computing them, see roles/dns/tasks/preflight.yml)."""
    domains = c["dns_domains"]
    if not isinstance(domains, (list, tuple)) or not domains:
        c.add("dns_domains", "is empty: list the mail domains ({name: <domain>})")
    provider, mode = c["dns_provider"], c["dns_mode"]
    if (mode == "render" or provider == "zonefile") and not (isinstance(c["dns_render_dir"], str) and c["dns_render_dir"].startswith("/")
                                                             and c["dns_render_dir"].isprintable()):
        c.add("dns_render_dir", f"must be an absolute path in render mode and for the zonefile provider, got {_got(c['dns_render_dir'])}")
    c.text("dns_mail_host", lambda x: isinstance(x, str) and v.is_host_name(x.lower().rstrip(".")), "a fully qualified host name")
    if provider == "rfc2136":
        if not c["dns_rfc2136_server"]:
            c.add("dns_rfc2136_server", "is required for dns_provider=rfc2136")
        if bool(c["dns_rfc2136_key_name"]) != bool(c["dns_rfc2136_key_secret"]):
            c.add("dns_rfc2136_key_name", "and dns_rfc2136_key_secret: give both (TSIG) or neither")
    c.text("dns_rfc2136_server", _host_or_ip, "a host name or IP address", optional=True)
    c.text("dns_rfc2136_key_name", lambda x: isinstance(x, str) and all(v.is_dns_label(p) for p in x.lower().rstrip(".").split(".")),
           "a TSIG key name (DNS name)", optional=True)
    c.text("dns_rfc2136_key_secret", lambda x: isinstance(x, str) and bool(re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", x)),
           "base64 text", optional=True, secret=True)
    for name in ("dns_rfc2136_port", "dns_verify_port", "dns_verify_resolver_port"):
        c.integer(name, 1, 65535)
    for name in ("dns_rfc2136_timeout", "dns_workers", "dns_mail_host_service_wait_timeout", "dns_verify_wait_timeout"):
        c.integer(name, 1)
    c.integer("dns_ttl", 1, 2147483647)
    c.integer("dns_mx_preference", 0, 65535)
    c.text("dns_external_dns_namespace", v.is_dns_label, "a DNS label")
    c.text("dns_mail_host_service_name", v.is_dns_label, "a DNS label")
    c.text("dns_mail_host_service_namespace", v.is_dns_label, "a DNS label")
    c.text("dns_mail_host_zone", lambda x: isinstance(x, str) and v.is_host_name(x.lower().rstrip(".")), "a zone name", optional=True)
    c.text("dns_verify_server", _host_or_ip, "a host name or IP address", optional=True)
    c.items("dns_verify_resolvers", v.is_ip_address, "an IP address")
    c.items("dns_mail_host_ipv4", lambda x: v.is_ip_address(x, 4), "an IPv4 address")
    c.items("dns_mail_host_ipv6", lambda x: v.is_ip_address(x, 6), "an IPv6 address")
    c.items("dns_caa_issuers", lambda x: isinstance(x, str) and v.is_host_name(x.split(";")[0].strip().lower()), "a CA's domain (letsencrypt.org)")
    c.text("dns_caa_iodef", lambda x: (isinstance(x, str) and x.startswith("mailto:") and v.is_email(x[7:])) or v.is_url(x),
           "a mailto: address or an https URL", optional=True)
    c.items("dns_tlsa_ports", lambda x: (port := v.as_int(x)) is not None and 1 <= port <= 65535, "a port number")
    _mta_sts(c)


def _truthy(value: t.Any) -> bool:
    """Ansible's ``bool`` filter: yes/on/true/1 in any case."""
    return value is True or (isinstance(value, (int, str)) and not isinstance(value, bool)
                             and str(value).strip().lower() in ("1", "yes", "on", "true", "y", "t"))


def _mta_sts(c: _Checks) -> None:
    """Stalwart serves one MTA-STS policy (``stalwart_mta_sts_*``, given with ``stalwart_hostname``): a record
    announcing another would make senders that fetch the policy see another one than the id promises."""
    if "stalwart_mta_sts_mode" not in c.values:
        return
    record = {"enabled": True, "mode": "enforce", "max_age": 604800}
    if isinstance(c["dns_mta_sts"], t.Mapping):
        record.update(c["dns_mta_sts"])
    if not _truthy(record["enabled"]):
        return
    mode, max_age = c["stalwart_mta_sts_mode"], c["stalwart_mta_sts_max_age"]
    domains = c["dns_domains"] if isinstance(c["dns_domains"], (list, tuple)) else []
    other_modes = list(dict.fromkeys(d["mta_sts_mode"] for d in domains
                                     if isinstance(d, t.Mapping) and "mta_sts_mode" in d and d["mta_sts_mode"] != mode))
    if record["mode"] == mode and v.as_int(record["max_age"]) == v.as_int(max_age) and not other_modes:
        return
    c.add("dns_mta_sts", f"(mode {_got(str(record['mode']))}, max_age {_got(str(record['max_age']))})"
          + (f" and dns_domains[].mta_sts_mode ({_got(other_modes)})" if other_modes else "")
          + f" must equal the policy Stalwart serves: stalwart_mta_sts_mode {_got(str(mode))},"
          f" stalwart_mta_sts_max_age {_got(str(max_age))} (set those; dns_mta_sts follows them)")


_ROLE_CHECKS: dict[str, t.Callable[[_Checks], None]] = {"stalwart": stalwart, "cnpg": cnpg, "minio": minio, "dns": dns}


def problems(role: str, values: t.Mapping[str, t.Any]) -> list[str]:
    """Every problem of ``role``'s variables (``values``: name -> value, with openova_stalwart_mode and
    openova_stalwart_render_dir), each message starting with the variable at fault."""
    if role not in _ROLE_CHECKS:
        raise ValueError(f"role: {role!r} is not one of {', '.join(_ROLE_CHECKS)}")
    checks = _Checks(values)
    if role != "dns":
        _site(checks)
    _ROLE_CHECKS[role](checks)
    return checks.problems


def _specs(collection_root: str, role: str) -> dict[str, t.Any]:
    """The entry points of ``role``'s meta/argument_specs.yml."""
    import yaml  # pylint: disable=import-outside-toplevel  # on the controller only

    path = os.path.join(collection_root, "roles", role, "meta", "argument_specs.yml")
    with open(path, encoding="utf-8") as handle:
        # libyaml's parser when PyYAML has it: a hundredth of a second in Python per specification and call.
        return (yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}).get("argument_specs") or {}


def option_names(collection_root: str, role: str, entry_point: str = "main") -> list[str]:
    """The option names the ``entry_point`` of ``role`` declares, sorted."""
    if role not in ROLES + ("_k8s",):
        raise ValueError(f"role: {role!r} is not one of {', '.join(ROLES + ('_k8s',))}")
    specs = _specs(collection_root, role)
    if entry_point not in specs:
        raise ValueError(f"{role}: no entry point {entry_point!r} in meta/argument_specs.yml")
    return sorted((specs[entry_point] or {}).get("options") or {})


def known_variables(collection_root: str) -> set[str]:
    """Every variable a role's meta/argument_specs.yml declares (any entry point), and the facts roles publish."""
    names = set(PUBLISHED)
    for role in ROLES:
        for spec in _specs(collection_root, role).values():
            names.update((spec or {}).get("options") or {})
    return names


def unknown_variables(names: t.Iterable[str], known: t.Collection[str]) -> list[str]:
    """A message for each role-prefixed name in ``names`` no role knows, with the closest known name."""
    messages = []
    for name in sorted(set(names)):
        if not name.startswith(PREFIXES) or name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        messages.append(f"{name} is set but no role of openova.stalwart uses it (misspelled?){hint}")
    return messages
