# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""openova.stalwart.dns_records: computes the records on the controller, writes zone files there and sends the
RFC 2136 UPDATEs from there (the module file carries the documentation and the argument spec)."""

from __future__ import annotations

import os

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.openova.stalwart.plugins.module_utils import _dns_records, _dns_verify, _rfc2136
from ansible_collections.openova.stalwart.plugins.module_utils._files import read_text, write_atomic
from ansible_collections.openova.stalwart.plugins.modules import dns_records
from ansible_collections.openova.stalwart.plugins.plugin_utils._action import ActionFailure, ControllerAction


def resolver(params: dict) -> _dns_records.Lookup | None:
    """The lookup that resolves load balancer host names, when one is given (dnspython is needed only then)."""
    if not (params["mail_host_hostname"] or params["web_hostname"]) or not _dns_verify.HAS_DNSPYTHON:
        return None
    return _dns_verify.resolver_lookup(_dns_verify.make_resolver(params["resolvers"] or None, params["resolver_port"],
                                                                 params["timeout"]))


def settings(params: dict, check_mode: bool = False) -> _dns_records.Settings:
    return _dns_records.Settings(
        domains=params["domains"], mail_host=params["mail_host"], mail_host_ipv4=params["mail_host_ipv4"],
        mail_host_ipv6=params["mail_host_ipv6"], mail_host_hostname=params["mail_host_hostname"],
        web_ipv4=params["web_ipv4"], web_ipv6=params["web_ipv6"], web_hostname=params["web_hostname"],
        resolve=resolver(params), mail_host_zone=params["mail_host_zone"],
        dkim_records=params["dkim_records"], ttl=params["ttl"], ttls=params["ttls"],
        mx_preference=params["mx_preference"], spf_mechanisms=params["spf_mechanisms"], spf_all=params["spf_all"],
        helo_spf=params["helo_spf"], dmarc=params["dmarc"], tlsrpt_rua=params["tlsrpt_rua"],
        mta_sts=params["mta_sts"], srv=params["srv"], autoconfig=params["autoconfig"],
        caa_issuers=params["caa_issuers"], caa_iodef=params["caa_iodef"],
        tlsa_public_key=params["tlsa_public_key"], tlsa_ports=params["tlsa_ports"], kinds=params["kinds"],
        dkim_pending=check_mode)


def write_zonefiles(directory: str, files: dict, absent: bool, check_mode: bool) -> tuple[list, list]:
    """Write (or with ``absent`` remove) the snippets atomically; return (paths, diffs of changed files)."""
    paths, diffs = [], []
    for name, content in sorted(files.items()):
        path = os.path.join(directory, name)
        paths.append(path)
        before = read_text(path)
        after = None if absent else content
        if before == after:
            continue
        diffs.append({"before_header": path, "after_header": path, "before": before or "", "after": after or ""})
        if check_mode:
            continue
        if after is None:
            os.unlink(path)
            continue
        write_atomic(path, after)
    return paths, diffs


class ActionModule(ControllerAction):

    def module_kwargs(self):
        return dns_records.module_kwargs()

    def work(self, params):
        try:
            rrsets = _dns_records.compute(settings(params, self.check_mode))
            _dns_records.check_kinds_output(params["kinds"], params["zonefile_dir"], params["provider"])
            server = _rfc2136.server_from_params(params) if params["provider"] == "rfc2136" else None
            if params["workers"] < 1:
                raise ValueError(f"workers: expected at least 1, got {params['workers']}")
        except ValueError as exc:
            raise ActionFailure(str(exc)) from None
        result = {"changed": False, "zones": [], "updates_sent": 0}
        if params["return_records"]:
            result.update(records=[r.as_dict() for r in rrsets], table=_dns_records.table(rrsets))
        if params["mta_sts"]["enabled"]:
            result["mta_sts_policy"] = _dns_records.mta_sts_policy(params["mail_host"].lower().rstrip("."),
                                                                   params["mta_sts"]["mode"], params["mta_sts"]["max_age"])
        diffs = []
        if params["zonefile_dir"]:
            paths, file_diffs = write_zonefiles(params["zonefile_dir"], _dns_records.zonefiles(rrsets),
                                                params["state"] == "absent", self.check_mode)
            result["zonefiles"] = paths
            diffs.extend(file_diffs)
        if params["provider"] == "external_dns":
            result["manifests"] = _dns_records.external_dns_endpoints(rrsets, params["external_dns_namespace"])
            self.warnings.append("external-dns publishes MX, TXT and SRV records only with providers that support them,"
                                 " and reads DNSEndpoint objects only with its 'crd' source enabled (--source=crd)")
        if server is not None:
            if not _rfc2136.HAS_DNSPYTHON:
                raise ActionFailure(missing_required_lib("dnspython"))
            try:
                zones = _rfc2136.publish(server, rrsets, params["state"], self.check_mode, params["workers"],
                                         params["read_method"])
            except _rfc2136.DNSError as exc:
                raise ActionFailure(str(exc), **result) from None
            result["zones"] = [z.as_dict() for z in zones]
            result["updates_sent"] = sum(1 for z in zones if z.sent)
            for zone in zones:
                if zone.changed:
                    diffs.append({"before_header": f"zone {zone.zone}", "after_header": f"zone {zone.zone}",
                                  "before": "".join(line + "\n" for c in zone.changes for line in c.lines("before")),
                                  "after": "".join(line + "\n" for c in zone.changes for line in c.lines("after"))})
        result["changed"] = bool(diffs)
        if self.diff:
            result["diff"] = diffs
        return result
