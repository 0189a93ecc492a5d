# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""Build Stalwart 0.16 ``config.json`` (the DataStore) and the settings plan (``stalwart-cli apply`` NDJSON).

Pure functions: structured options in, JSON-ready data out. Every object type, property and enum value used here
is checked against Stalwart's registry schema by the unit tests. Conventions of the registry/JMAP encoding:
durations are milliseconds, sets are ``{value: true}`` maps, object lists are ``{"0": {...}}`` maps, variants carry
``@type``, and references to objects created earlier in the plan are ``#<creation id>`` strings.

Secrets never appear as values: store credentials are ``EnvironmentVariable``/``File`` references that Stalwart
resolves in the pod. An account password, which the registry keeps as a plain string, is written as the plan-level
reference ``{"@env": NAME}`` that ``stalwart_settings`` resolves at apply time (see ``SECRET_REF``).
"""

from __future__ import annotations

import dataclasses
import json
import re
import typing as t

from ansible_collections.openova.stalwart.plugins.module_utils import _stalwart_accounts, _validate

# Plan-level reference to a secret the applier supplies (``stalwart_settings`` option ``secrets`` or its environment).
SECRET_REF = "@env"

# name: (default port, protocol, implicit TLS, TLS offered at all)
LISTENERS: dict[str, tuple[int, str, bool, bool]] = {
    "smtp": (25, "smtp", False, True),
    "submissions": (465, "smtp", True, True),
    "imaps": (993, "imap", True, True),
    "https": (443, "http", True, True),
    "http": (8080, "http", False, False),
    "submission": (587, "smtp", False, True),
    "imap": (143, "imap", False, True),
    "pop3s": (995, "pop3", True, True),
    "managesieve": (4190, "manageSieve", False, True),
}
ALWAYS_LISTENERS = ("smtp", "submissions", "imaps", "https", "http")

DKIM_VARIANTS = {"rsa": "Dkim1RsaSha256", "ed25519": "Dkim1Ed25519Sha256"}
_ALGORITHM_ALIASES = {
    "rsa": "rsa", "rsa-sha256": "rsa", "rsa2048": "rsa", "dkim1rsasha256": "rsa",
    "ed25519": "ed25519", "ed25519-sha256": "ed25519", "dkim1ed25519sha256": "ed25519",
}
THROTTLE_KEYS = ("listener", "remoteIp", "localIp", "authenticatedAs", "heloDomain", "sender", "senderDomain", "rcpt", "rcptDomain")
DNSBL_KEYS = ("name", "zone", "tag", "type", "enabled")
THROTTLE_ITEM_KEYS = ("name", "key", "count", "period", "enabled")
DNSBL_TYPES = {"ip": "Ip", "domain": "Domain", "url": "Url", "email": "Email", "any": "Any", "header": "Header", "body": "Body"}
MTA_STS_MODES = {"enforce": "enforce", "testing": "testing", "none": "disable"}
# AWS-style region names Stalwart knows as S3StoreRegion variants; any other region needs a custom endpoint.
S3_REGIONS = {
    "us-east-1": "UsEast1", "us-east-2": "UsEast2", "us-west-1": "UsWest1", "us-west-2": "UsWest2",
    "ca-central-1": "CaCentral1", "af-south-1": "AfSouth1", "ap-east-1": "ApEast1", "ap-south-1": "ApSouth1",
    "ap-northeast-1": "ApNortheast1", "ap-northeast-2": "ApNortheast2", "ap-northeast-3": "ApNortheast3",
    "ap-southeast-1": "ApSoutheast1", "ap-southeast-2": "ApSoutheast2", "cn-north-1": "CnNorth1",
    "cn-northwest-1": "CnNorthwest1", "eu-north-1": "EuNorth1", "eu-central-1": "EuCentral1", "eu-central-2": "EuCentral2",
    "eu-west-1": "EuWest1", "eu-west-2": "EuWest2", "eu-west-3": "EuWest3", "il-central-1": "IlCentral1",
    "me-south-1": "MeSouth1", "sa-east-1": "SaEast1",
}
# The route Stalwart's default outbound strategy uses for remote domains, and the name of the relay route we plan.
MX_ROUTE = "mx"
RELAY_ROUTE = "relay"
LOCAL_ROUTE_MATCH = {"if": "is_local_domain(rcpt_domain)", "then": "'local'"}
RELAY_PROTOCOLS = ("smtp", "lmtp")
DNS_PROTOCOLS = {"udp": 53, "tcp": 53, "tls": 853}
CERTIFICATE_ID = "certificate_default"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://[^\s/]+", re.IGNORECASE)
_MS = 1000


@dataclasses.dataclass
class Rendered:
    config: dict[str, t.Any]
    plan: list[dict[str, t.Any]]
    summary: dict[str, int]
    # Deletions the applier makes with its reconcile option (items with state absent).
    reconcile: list[dict[str, t.Any]] = dataclasses.field(default_factory=list)


def env_ref(name: str) -> dict[str, t.Any]:
    return {"@type": "EnvironmentVariable", "variableName": name}


def file_ref(path: str) -> dict[str, t.Any]:
    return {"@type": "File", "filePath": path}


def as_set(values: t.Iterable[str]) -> dict[str, t.Any]:
    return {value: True for value in sorted(set(values))}


def expression(value: str) -> dict[str, t.Any]:
    return {"else": value, "match": {}}


def domain_id(name: str) -> str:
    """Creation id of a domain: dots become underscores (labels never hold underscores, so the map is one-to-one)."""
    return "domain_" + name.replace(".", "_")


def dkim_key_file(key_dir: str, selector: str, domain: str) -> str:
    return f"{key_dir.rstrip('/')}/{selector}._domainkey.{domain}.pem"


def _env_name(value: t.Any, option: str) -> str:
    if not isinstance(value, str) or not _ENV_NAME.fullmatch(value):
        raise ValueError(f"{option}: {value!r} is not a valid environment variable name")
    return value


def _url(value: t.Any, option: str) -> str:
    if not isinstance(value, str) or not _URL.match(value) or not value.isprintable() or any(c.isspace() for c in value):
        raise ValueError(f"{option}: {value!r} is not an absolute URL")
    return value


def _positive(value: t.Any, option: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{option}: expected an integer >= {minimum}, got {value!r}")
    return value


@t.overload
def _str(item: dict[str, t.Any], key: str, option: str, required: t.Literal[True] = True) -> str:
    ...


@t.overload
def _str(item: dict[str, t.Any], key: str, option: str, required: bool) -> str | None:
    ...


def _str(item: dict[str, t.Any], key: str, option: str, required: bool = True) -> str | None:
    value = item.get(key)
    if value is None or value == "":
        if required:
            raise ValueError(f"{option}.{key} is required")
        return None
    if not isinstance(value, str):
        raise ValueError(f"{option}.{key}: expected a string, got {value!r}")
    return value


def _secret(env: str | None, path: str | None, option: str) -> dict[str, t.Any]:
    if path:
        return file_ref(path)
    return env_ref(_env_name(env, f"{option}.password_env"))


# ---------------------------------------------------------------- input normalisation


def _domains(params: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    items = params.get("domains")
    if not isinstance(items, list) or not items:
        raise ValueError("domains: at least one domain is required")
    seen: dict[str, int] = {}
    domains = []
    for index, item in enumerate(items):
        option = f"domains[{index}]"
        if not isinstance(item, dict):
            raise ValueError(f"{option}: expected a dictionary with 'name', got {item!r}")
        name = _validate.domain(item.get("name"), f"{option}.name")
        if name in seen:
            raise ValueError(f"{option}.name: {name} is listed twice (also domains[{seen[name]}])")
        seen[name] = index
        selectors = item.get("dkim_selectors") or {}
        if not isinstance(selectors, dict) or set(selectors) - set(DKIM_VARIANTS):
            raise ValueError(f"{option}.dkim_selectors: expected a dictionary with keys rsa and/or ed25519, got {selectors!r}")
        aliases = [_validate.domain(a, f"{option}.aliases") for a in item.get("aliases") or []]
        catch_all = item.get("catch_all")
        domains.append(dict(
            name=name,
            selectors=selectors,
            aliases=aliases,
            description=_str(item, "description", option, required=False),
            catch_all=_validate.email(catch_all, f"{option}.catch_all") if catch_all else None,
        ))
    return domains


def _dkim_keys(params: dict[str, t.Any], domains: list[dict[str, t.Any]]) -> list[tuple[str, str, str]]:
    """Return (domain, selector, algorithm) for every signature, sorted."""
    names = {d["name"] for d in domains}
    keys: set[tuple[str, str, str]] = set()
    records = params.get("dkim_records")
    if records is not None:
        for index, record in enumerate(records):
            option = f"dkim_records[{index}]"
            if not isinstance(record, dict):
                raise ValueError(f"{option}: expected a dictionary, got {record!r}")
            dom = _validate.domain(record.get("domain"), f"{option}.domain")
            if dom not in names:
                raise ValueError(f"{option}.domain: {dom} is not in domains")
            selector = _validate.selector(record.get("selector"), f"{option}.selector")
            algorithm = _ALGORITHM_ALIASES.get(str(record.get("algorithm", "")).lower())
            if algorithm is None:
                raise ValueError(f"{option}.algorithm: {record.get('algorithm')!r} is not one of rsa, ed25519")
            keys.add((dom, selector, algorithm))
        missing = sorted(names - {k[0] for k in keys if k[2] == "rsa"})
        if missing:
            raise ValueError(f"dkim_records: no RSA key for {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''} "
                             "(every domain signs with RSA)")
    else:
        prefix = params.get("dkim_selector_prefix") or "s1"
        for index, entry in enumerate(domains):
            option = f"domains[{index}].dkim_selectors"
            rsa = entry["selectors"].get("rsa") or f"{prefix}-rsa"
            keys.add((entry["name"], _validate.selector(rsa, f"{option}.rsa"), "rsa"))
            ed = entry["selectors"].get("ed25519", params.get("dkim_ed25519", True) and f"{prefix}-ed25519")
            if ed is True:
                ed = f"{prefix}-ed25519"
            if ed:
                keys.add((entry["name"], _validate.selector(ed, f"{option}.ed25519"), "ed25519"))
    seen: dict[tuple[str, str], str] = {}
    for dom, selector, algorithm in sorted(keys):
        if (dom, selector) in seen:
            raise ValueError(f"{'dkim_records' if records is not None else 'domains'}: {dom} uses selector {selector!r} for both "
                             f"{seen[(dom, selector)]} and {algorithm} keys (a selector names one key)")
        seen[(dom, selector)] = algorithm
    return sorted(keys)


# Stalwart's DkimRotationStage values a key that does not sign can have: ``pending`` (published in DNS, not yet
# signing) and ``retiring`` (superseded, still published). Only ``active`` keys sign.
DKIM_STAGES = ("pending", "retiring")


def _dkim_staged(params: dict[str, t.Any], domains: list[dict[str, t.Any]],
                 active: list[tuple[str, str, str]]) -> list[tuple[str, str, str, str]]:
    """(domain, selector, algorithm, stage) of the generations ``dkim_stages`` names (a DKIM rotation keeps them
    published): the same keys as the signing prefix gives, for the domains without their own selectors."""
    stages = params.get("dkim_stages") or {}
    if not isinstance(stages, dict):
        raise ValueError(f"dkim_stages: expected a dictionary of selector prefix to stage, got {stages!r}")
    if stages and params.get("dkim_records") is not None:
        raise ValueError("dkim_stages: only with selectors from dkim_selector_prefix, not with dkim_records")
    signing = params.get("dkim_selector_prefix") or "s1"
    taken = {(name, selector) for name, selector, _algorithm in active}
    keys: set[tuple[str, str, str, str]] = set()
    for prefix, stage in stages.items():
        option = f"dkim_stages.{prefix}"
        if prefix == signing:
            raise ValueError(f"{option}: {prefix!r} is the signing prefix (dkim_selector_prefix), which is active")
        if stage not in DKIM_STAGES:
            raise ValueError(f"{option}: {stage!r} is not one of {', '.join(DKIM_STAGES)}")
        wanted = [("rsa", f"{prefix}-rsa")] + ([("ed25519", f"{prefix}-ed25519")] if params.get("dkim_ed25519", True) else [])
        for entry in domains:
            if entry["selectors"]:
                continue
            for algorithm, selector in wanted:
                _validate.selector(selector, option)
                if (entry["name"], selector) in taken:
                    raise ValueError(f"{option}: {entry['name']} signs with selector {selector!r} already")
                keys.add((entry["name"], selector, algorithm, stage))
    return sorted(keys)


def _listeners(params: dict[str, t.Any]) -> list[tuple[str, int]]:
    wanted = list(ALWAYS_LISTENERS)
    for name in params.get("listeners") or []:
        if name not in LISTENERS:
            raise ValueError(f"listeners: unknown listener {name!r} (known: {', '.join(LISTENERS)})")
        if name not in wanted:
            wanted.append(name)
    overrides = params.get("listener_ports") or {}
    for name in overrides:
        if name not in LISTENERS:
            raise ValueError(f"listener_ports: unknown listener {name!r} (known: {', '.join(LISTENERS)})")
        if name not in wanted:
            raise ValueError(f"listener_ports.{name}: listener {name} is not enabled (add it to listeners)")
    result: list[tuple[str, int]] = []
    ports: dict[int, str] = {}
    for name in wanted:
        port = _validate.port(overrides.get(name, LISTENERS[name][0]), f"listener_ports.{name}")
        if port in ports:
            raise ValueError(f"listener_ports.{name}: port {port} is already used by listener {ports[port]}")
        ports[port] = name
        result.append((name, port))
    return result


# ---------------------------------------------------------------- config.json


def data_store(params: dict[str, t.Any]) -> dict[str, t.Any]:
    store = params.get("data_store") or {}
    option = "data_store"
    host = _str(store, "host", option)
    config = {
        "@type": "PostgreSql",
        "host": host,
        "port": _validate.port(store.get("port", 5432), f"{option}.port"),
        "database": _str(store, "database", option, required=False) or "stalwart",
        "authUsername": _str(store, "username", option, required=False) or "stalwart",
        "authSecret": _secret(store.get("password_env", "STALWART_DB_PASSWORD"), store.get("password_file"), option),
        "useTls": bool(store.get("use_tls", True)),
        "allowInvalidCerts": bool(store.get("allow_invalid_certs", False)),
        "poolMaxConnections": _positive(store.get("pool_max_connections", 10), f"{option}.pool_max_connections"),
        "timeout": _positive(store.get("timeout", 15), f"{option}.timeout") * _MS,
    }
    if store.get("options"):
        config["options"] = store["options"]
    return config


# ---------------------------------------------------------------- plan


def _upsert(obj: str, match_on: list[str], values: dict[str, dict[str, t.Any]]) -> dict[str, t.Any]:
    return {"@type": "upsert", "object": obj, "matchOn": match_on, "value": values}


def _update(obj: str, value: dict[str, t.Any]) -> dict[str, t.Any]:
    return {"@type": "update", "object": obj, "value": value}


def _blob_store(params: dict[str, t.Any]) -> dict[str, t.Any]:
    blob = params.get("blob_store") or {}
    option = "blob_store"
    if blob.get("type", "s3") == "data_store":
        return {"@type": "Default"}
    bucket = _str(blob, "bucket", option)
    region = _str(blob, "region", option)
    endpoint = blob.get("endpoint")
    if endpoint:
        region_value = {"@type": "Custom", "customEndpoint": _url(endpoint, f"{option}.endpoint"), "customRegion": region}
    elif region in S3_REGIONS:
        region_value = {"@type": S3_REGIONS[region]}
    else:
        raise ValueError(f"{option}.region: {region!r} is not a region Stalwart knows by name; set {option}.endpoint too")
    value = {
        "@type": "S3",
        "bucket": bucket,
        "region": region_value,
        "accessKey": env_ref(_env_name(blob.get("access_key_env", "STALWART_S3_ACCESS_KEY"), f"{option}.access_key_env")),
        "secretKey": env_ref(_env_name(blob.get("secret_key_env", "STALWART_S3_SECRET_KEY"), f"{option}.secret_key_env")),
        "allowInvalidCerts": bool(blob.get("allow_invalid_certs", False)),
        "timeout": _positive(blob.get("timeout", 30), f"{option}.timeout") * _MS,
        "maxRetries": _positive(blob.get("max_retries", 3), f"{option}.max_retries"),
    }
    if blob.get("key_prefix"):
        value["keyPrefix"] = blob["key_prefix"]
    return value


def _in_memory_store(params: dict[str, t.Any]) -> dict[str, t.Any]:
    store = params.get("in_memory_store") or {}
    if store.get("type", "data_store") == "redis":
        return {"@type": "Redis", "url": _url(_str(store, "url", "in_memory_store"), "in_memory_store.url")}
    return {"@type": "Default"}


def _coordinator(params: dict[str, t.Any]) -> dict[str, t.Any]:
    replicas = params.get("replicas", 1)
    _positive(replicas, "replicas")
    coordinator = params.get("coordinator")
    if not coordinator:
        if replicas > 1:
            raise ValueError(f"coordinator: replicas is {replicas} but no coordinator is set (redis or nats is required "
                             "for more than one replica)")
        return {"@type": "Disabled"}
    kind = coordinator.get("type")
    if kind == "redis":
        if (params.get("in_memory_store") or {}).get("type") != "redis":
            raise ValueError("coordinator.type: redis coordinates through the in-memory store; set in_memory_store.type=redis")
        return {"@type": "Default"}
    if kind == "nats":
        addresses = coordinator.get("addresses") or []
        if not addresses:
            raise ValueError("coordinator.addresses: at least one NATS address is required with coordinator.type=nats")
        value = {"@type": "Nats", "addresses": as_set(addresses)}
        if coordinator.get("username"):
            value["authUsername"] = coordinator["username"]
            value["authSecret"] = env_ref(_env_name(coordinator.get("password_env", "STALWART_COORDINATOR_PASSWORD"),
                                                    "coordinator.password_env"))
        return value
    raise ValueError(f"coordinator.type: {kind!r} is not one of redis, nats")


def _known_keys(item: t.Any, allowed: tuple[str, ...], option: str) -> None:
    if not isinstance(item, dict):
        raise ValueError(f"{option}: expected a dictionary, got {item!r}")
    unknown = sorted(str(k) for k in item if k not in allowed)
    if unknown:
        raise ValueError(f"{option}: unknown key(s) {', '.join(unknown)}; expected {', '.join(allowed)}")


def spam_problems(spam: t.Any, variables: dict[str, str]) -> list[str]:
    """What is wrong with the spam options, each message naming the variable an option came from.

    ``variables`` maps an option of ``spam`` (``dnsbl_servers``, ``rate_limits``, ...) to the variable that sets it,
    so a role can refuse bad input in its preflight with the operator's own names. Empty when all is well.
    """
    try:
        _spam({"spam": spam})
    except ValueError as err:
        message = str(err)
        for option, variable in variables.items():
            if message.startswith(f"spam.{option}"):
                return [variable + message[len(f"spam.{option}"):]]
        return [message]
    return []


def _spam(params: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    spam = params.get("spam") or {}
    settings: dict[str, t.Any] = {"enable": bool(spam.get("enabled", True))}
    greylist = spam.get("greylist", 0) or 0
    settings["greylistFor"] = _positive(greylist, "spam.greylist", 0) * _MS if greylist else None
    if spam.get("rules_url"):
        settings["spamFilterRulesUrl"] = _url(spam["rules_url"], "spam.rules_url")
    ops = [_update("SpamSettings", settings)]

    dnsbl: dict[str, dict[str, t.Any]] = {}
    names: set[str] = set()
    for index, item in enumerate(spam.get("dnsbl_servers") or []):
        option = f"spam.dnsbl_servers[{index}]"
        _known_keys(item, DNSBL_KEYS, option)
        name = _str(item, "name", option)
        if name in names:
            raise ValueError(f"{option}.name: {name!r} is listed twice")
        names.add(name)
        kind = item.get("type", "ip")
        if kind not in DNSBL_TYPES:
            raise ValueError(f"{option}.type: {kind!r} is not one of {', '.join(DNSBL_TYPES)}")
        value = {"@type": DNSBL_TYPES[kind], "name": name, "enable": bool(item.get("enabled", True)),
                 "zone": expression(_str(item, "zone", option))}
        if item.get("tag"):
            value["tag"] = expression(item["tag"])
        dnsbl[f"dnsbl_{len(dnsbl)}"] = value
    if dnsbl:
        ops.append(_upsert("SpamDnsblServer", ["name"], dnsbl))

    throttles: dict[str, dict[str, t.Any]] = {}
    names = set()
    for index, item in enumerate(spam.get("rate_limits") or []):
        option = f"spam.rate_limits[{index}]"
        _known_keys(item, THROTTLE_ITEM_KEYS, option)
        name = _str(item, "name", option)
        if name in names:
            raise ValueError(f"{option}.name: {name!r} is listed twice")
        names.add(name)
        keys = item.get("key") or ["remoteIp"]
        keys = [keys] if isinstance(keys, str) else keys
        if not isinstance(keys, list):
            raise ValueError(f"{option}.key: expected a list of {', '.join(THROTTLE_KEYS)}, got {keys!r}")
        for key in keys:
            if key not in THROTTLE_KEYS:
                raise ValueError(f"{option}.key: {key!r} is not one of {', '.join(THROTTLE_KEYS)}")
        throttles[f"throttle_{len(throttles)}"] = {
            "description": name,
            "enable": bool(item.get("enabled", True)),
            "key": as_set(keys),
            "rate": {"count": _positive(item.get("count"), f"{option}.count"),
                     "period": _positive(item.get("period"), f"{option}.period") * _MS},
        }
    if throttles:
        ops.append(_upsert("MtaInboundThrottle", ["description"], throttles))
    return ops


def _accounts(params: dict[str, t.Any], domains: list[dict[str, t.Any]], default: str) -> tuple[list[dict[str, t.Any]], list[dict[str, t.Any]]]:
    """Plan operations of the accounts, groups and mailing lists, and the reconcile entries of those with state absent."""
    # The default domain of an item without one is the first domain listed (as the role documents it).
    ordered = [d["name"] for d in domains]
    return _stalwart_accounts.plan_ops(params.get("accounts") or [], params.get("groups") or [], params.get("mailing_lists") or [],
                                       ordered, domains_variable="domains")


def _tls(params: dict[str, t.Any]) -> dict[str, t.Any] | None:
    """The x:Certificate for the mounted cert-manager Secret, or None without the tls option."""
    tls = params.get("tls")
    if not tls:
        return None
    if not isinstance(tls, dict):
        raise ValueError(f"tls: expected a dictionary with cert_file and key_file, got {tls!r}")
    files: dict[str, str] = {}
    for key in ("cert_file", "key_file"):
        path = _str(tls, key, "tls")
        if not path.startswith("/"):
            raise ValueError(f"tls.{key}: {path!r} must be an absolute path")
        files[key] = path
    if files["cert_file"] == files["key_file"]:
        raise ValueError("tls.key_file: the certificate and the private key must be different files")
    return {"certificate": file_ref(files["cert_file"]), "privateKey": file_ref(files["key_file"])}


def _relay(params: dict[str, t.Any]) -> dict[str, t.Any] | None:
    """The x:MtaRoute Relay for a smarthost, or None for direct delivery (MX)."""
    relay = params.get("relay")
    if not relay:
        return None
    option = "relay"
    if not isinstance(relay, dict):
        raise ValueError(f"{option}: expected a dictionary with host, got {relay!r}")
    host = _str(relay, "host", option)
    if "://" in host or "/" in host or any(c.isspace() for c in host):
        raise ValueError(f"{option}.host: {host!r} must be a host name or IP address, without scheme or port")
    try:
        host = _validate.ip_address(host, f"{option}.host")
    except ValueError:
        # A single label is fine: an in-cluster Service name resolves through the pod's search domains.
        host = _validate.domain(host, f"{option}.host", min_labels=1)
    port = _validate.port(25 if relay.get("port") is None else relay["port"], f"{option}.port")
    protocol = relay.get("protocol") or "smtp"
    if protocol not in RELAY_PROTOCOLS:
        raise ValueError(f"{option}.protocol: {protocol!r} is not one of {', '.join(RELAY_PROTOCOLS)}")
    implicit = relay.get("implicit_tls")
    value: dict[str, t.Any] = {
        "@type": "Relay",
        "name": RELAY_ROUTE,
        "description": "Outbound relay (smarthost) managed by openova.stalwart",
        "address": host,
        "port": port,
        "protocol": protocol,
        "implicitTls": port == 465 if implicit is None else bool(implicit),
        "allowInvalidCerts": bool(relay.get("allow_invalid_certs", False)),
    }
    username = _str(relay, "username", option, required=False)
    if username:
        value["authUsername"] = username
        value["authSecret"] = _secret(relay.get("password_env") or "STALWART_RELAY_PASSWORD", relay.get("password_file"), option)
    else:
        if relay.get("password_file"):
            raise ValueError(f"{option}.password_file: set {option}.username too (a password needs a user name)")
        value["authUsername"] = None
        value["authSecret"] = {"@type": "None"}
    return value


def _route(relay: dict[str, t.Any] | None) -> dict[str, t.Any]:
    """MtaOutboundStrategy.route: local domains stay local, everything else goes to the relay or MX."""
    return {"else": f"'{RELAY_ROUTE if relay else MX_ROUTE}'", "match": {"0": dict(LOCAL_ROUTE_MATCH)}}


def _name_server(item: t.Any, option: str) -> tuple[str, str, int]:
    """``[udp|tcp|tls://]<IP>[:port]`` (an IPv6 address with a port in brackets) -> (protocol, address, port)."""
    if not isinstance(item, str) or not item.strip():
        raise ValueError(f"{option}: expected a name server ([udp|tcp|tls://]<IP address>[:port]), got {item!r}")
    text = item.strip()
    protocol, sep, rest = text.partition("://")
    if not sep:
        protocol, rest = "udp", text
    if protocol not in DNS_PROTOCOLS:
        raise ValueError(f"{option}: protocol {protocol!r} of {item!r} is not one of {', '.join(DNS_PROTOCOLS)}")
    port_text = None
    if rest.startswith("["):
        host, bracket, tail = rest[1:].partition("]")
        if not bracket or (tail and not tail.startswith(":")):
            raise ValueError(f"{option}: {item!r} is not a name server ([IPv6]:port)")
        port_text = tail[1:] if tail else None
    elif rest.count(":") == 1:
        host, _sep, port_text = rest.partition(":")
    else:
        host = rest
    address = _validate.ip_address(host, option)
    port = _validate.port(port_text, option) if port_text is not None else DNS_PROTOCOLS[protocol]
    return protocol, address, port


def _dns_resolver(params: dict[str, t.Any]) -> dict[str, t.Any]:
    """x:DnsResolver: System without servers, else Custom with each server's address, port and protocol."""
    servers = params.get("dns_resolver") or []
    if not isinstance(servers, list):
        raise ValueError(f"dns_resolver: expected a list of name servers, got {servers!r}")
    if not servers:
        return {"@type": "System"}
    entries: dict[str, dict[str, t.Any]] = {}
    seen: dict[tuple[str, int, str], int] = {}
    for index, item in enumerate(servers):
        option = f"dns_resolver[{index}]"
        protocol, address, port = _name_server(item, option)
        key = (address, port, protocol)
        if key in seen:
            raise ValueError(f"{option}: {item!r} is listed twice (also dns_resolver[{seen[key]}])")
        seen[key] = index
        entries[str(len(entries))] = {"address": address, "port": port, "protocol": protocol}
    return {"@type": "Custom", "servers": entries}


def build(params: dict[str, t.Any]) -> Rendered:
    """Validate ``params`` (the module options) and return config.json and the plan."""
    hostname = _validate.domain(params.get("hostname"), "hostname")
    domains = _domains(params)
    names = {d["name"] for d in domains}
    default = _validate.domain(params["default_domain"], "default_domain") if params.get("default_domain") else domains[0]["name"]
    if default not in names:
        raise ValueError(f"default_domain: {default} is not in domains")
    key_dir = params.get("dkim_key_dir") or "/etc/stalwart/dkim"
    if not key_dir.startswith("/"):
        raise ValueError(f"dkim_key_dir: {key_dir!r} must be an absolute path")
    dkim = _dkim_keys(params, domains)
    staged = _dkim_staged(params, domains, dkim)
    listeners = _listeners(params)
    proxies = [_validate.ip_network(n, "proxy_trusted_networks") for n in params.get("proxy_trusted_networks") or []]
    config = data_store(params)
    blob = _blob_store(params)
    memory = _in_memory_store(params)
    coordinator = _coordinator(params)
    spam_ops = _spam(params)
    account_ops, removals = _accounts(params, domains, default)
    certificate = _tls(params)
    relay = _relay(params)
    resolver = _dns_resolver(params)
    mta_sts = params.get("mta_sts") or {}
    mode = mta_sts.get("mode", "testing")
    if mode not in MTA_STS_MODES:
        raise ValueError(f"mta_sts.mode: {mode!r} is not one of {', '.join(MTA_STS_MODES)}")
    max_age = _positive(mta_sts.get("max_age", 604800), "mta_sts.max_age")
    metrics = params.get("metrics") or {}
    tracer = params.get("tracer") or {}
    level = tracer.get("level", "info")
    if level not in ("error", "warn", "info", "debug", "trace"):
        raise ValueError(f"tracer.level: {level!r} is not one of error, warn, info, debug, trace")

    plan: list[dict[str, t.Any]] = []
    domain_values: dict[str, dict[str, t.Any]] = {}
    for dom in sorted(domains, key=lambda d: d["name"]):
        value: dict[str, t.Any] = {
            "name": dom["name"],
            "isEnabled": True,
            "dkimManagement": {"@type": "Manual"},
            "dnsManagement": {"@type": "Manual"},
        }
        if dom["aliases"]:
            value["aliases"] = as_set(dom["aliases"])
        if dom["description"]:
            value["description"] = dom["description"]
        if dom["catch_all"]:
            value["catchAllAddress"] = dom["catch_all"]
        domain_values[domain_id(dom["name"])] = value
    plan.append(_upsert("Domain", ["name"], domain_values))

    signatures: dict[str, dict[str, t.Any]] = {}
    # Only "active" keys sign; the other generations of a rotation are known to Stalwart with their stage.
    for number, (signing_domain, selector, algorithm, stage) in enumerate([(*key, "active") for key in dkim] + staged):
        signatures[f"dkim_{number}"] = {
            "@type": DKIM_VARIANTS[algorithm],
            "domainId": "#" + domain_id(signing_domain),
            "selector": selector,
            "privateKey": file_ref(dkim_key_file(key_dir, selector, signing_domain)),
            "stage": stage,
        }
    plan.append(_upsert("DkimSignature", ["domainId", "selector"], signatures))

    listener_values = {}
    for name, port in listeners:
        protocol, implicit, tls = LISTENERS[name][1:]
        listener_values[f"listener_{name}"] = {
            "name": name,
            "protocol": protocol,
            "bind": as_set([f"[::]:{port}"]),
            "tlsImplicit": implicit,
            "useTls": tls,
        }
        if protocol != "http":
            # PROXY protocol on the mail listeners only: a system-wide trusted network would make the HTTP
            # listeners expect the header from the ingress controller too, and refuse its plain requests.
            listener_values[f"listener_{name}"]["overrideProxyTrustedNetworks"] = as_set(proxies)
    plan.append(_upsert("NetworkListener", ["name"], listener_values))

    system: dict[str, t.Any] = {
        "defaultHostname": hostname,
        "defaultDomainId": "#" + domain_id(default),
        "proxyTrustedNetworks": as_set([]),
    }
    if certificate:
        # x:Certificate has no name: it is matched on its certificate file reference, which is stable per deployment.
        plan.append(_upsert("Certificate", ["certificate"], {CERTIFICATE_ID: certificate}))
        system["defaultCertificateId"] = "#" + CERTIFICATE_ID
    plan.append(_update("SystemSettings", system))
    # Behind an Ingress or Gateway every web client arrives from the proxy's address; the client's own is in
    # X-Forwarded-For/Forwarded. Stalwart trusts the header from any peer, so only the proxy may reach the HTTP port.
    plan.append(_update("Http", {"useXForwarded": bool(params.get("http_forwarded", False))}))
    plan.append(_update("BlobStore", blob))
    plan.append(_update("SearchStore", {"@type": "Default"}))
    plan.append(_update("InMemoryStore", memory))
    plan.append(_update("Coordinator", coordinator))
    if metrics.get("enabled", True):
        prometheus = {"@type": "Enabled", "authUsername": metrics.get("username") or "metrics",
                      "authSecret": env_ref(_env_name(metrics.get("password_env", "STALWART_METRICS_PASSWORD"), "metrics.password_env"))}
    else:
        prometheus = {"@type": "Disabled"}
    plan.append(_update("Metrics", {"prometheus": prometheus}))
    plan.append(_upsert("Tracer", ["@type"], {"tracer_stdout": {
        "@type": "Stdout", "enable": True, "level": level, "ansi": bool(tracer.get("ansi", False)), "buffered": True,
    }}))
    plan.extend(spam_ops)
    if relay:
        plan.append(_upsert("MtaRoute", ["name"], {"route_relay": relay}))
    plan.append(_update("MtaOutboundStrategy", {"route": _route(relay)}))
    plan.append(_update("DnsResolver", resolver))
    plan.append(_update("MtaSts", {"mode": MTA_STS_MODES[mode], "maxAge": max_age * _MS, "mxHosts": as_set([hostname])}))
    if params.get("application_resource_url"):
        plan.append(_upsert("Application", ["description"], {"application_webui": {
            "description": "WebUI",
            "enabled": True,
            "resourceUrl": _url(params["application_resource_url"], "application_resource_url"),
            "urlPrefix": as_set(["/"]),
        }}))
    plan.extend(account_ops)

    summary: dict[str, int] = {}
    for op in plan:
        count = len(op["value"]) if op["@type"] == "upsert" else 1
        summary[op["object"]] = summary.get(op["object"], 0) + count
    return Rendered(config=config, plan=plan, summary=summary, reconcile=removals)


def config_json(config: dict[str, t.Any]) -> str:
    """The text of ``config.json``, the one serialization: the render file, the ConfigMap (without the final newline)
    and the StatefulSet's config checksum all take it from here."""
    return json.dumps(config, indent=2, sort_keys=True) + "\n"


def plan_ndjson(plan: list[dict[str, t.Any]]) -> str:
    return "".join(json.dumps(op, separators=(",", ":"), ensure_ascii=False) + "\n" for op in plan)


def parse_ndjson(text: str, source: str = "plan") -> list[dict[str, t.Any]]:
    """Parse NDJSON plan text (blank lines and ``#`` comment lines are skipped)."""
    ops = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            op = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"{source}: line {number} is not JSON ({exc})") from None
        if not isinstance(op, dict):
            raise ValueError(f"{source}: line {number} is not a JSON object")
        ops.append(op)
    return ops
