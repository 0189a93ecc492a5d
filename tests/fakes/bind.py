# -*- coding: utf-8 -*-
"""A real BIND 9 on loopback with TSIG-signed dynamic zones (RFC 2136)."""

from __future__ import annotations

import base64
import pathlib
import secrets
import subprocess
import time
import typing as t

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsigkeyring

from .common import free_port, stop_process, wait_for_port

ZONE_TEMPLATE = """$TTL 300
@   IN SOA ns1.{zone}. hostmaster.{zone}. ( 1 3600 600 86400 300 )
    IN NS  ns1.{zone}.
ns1 IN A   127.0.0.1
"""


class BindServer:
    """named in the foreground, its zones dynamic and writable with one TSIG key."""

    def __init__(self, workdir: pathlib.Path, zones: t.Iterable[str],
                 key_name: str = "openova-test.", algorithm: str = "hmac-sha256"):
        self.workdir = pathlib.Path(workdir)
        self.zones = [z.rstrip(".") for z in zones]
        # Zones that answer every UPDATE with REFUSED (no update-policy), as a server that does not delegate
        # them to the key does; change it and restart() to lift the fault with the zone contents kept.
        self.refuse_updates: set[str] = set()
        self.key_name = key_name
        self.algorithm = algorithm
        self.key_secret = base64.b64encode(secrets.token_bytes(32)).decode()
        self.host = "127.0.0.1"
        self.port = 0
        self._proc: subprocess.Popen | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> BindServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        control = free_port()
        zone_stanzas = []
        for zone in self.zones:
            path = self.workdir / f"{zone}.zone"
            if not path.exists():  # a restart keeps the zone (file and journal)
                path.write_text(ZONE_TEMPLATE.format(zone=zone))
            policy = "allow-update { none; };" if zone in self.refuse_updates else \
                f"update-policy {{ grant {self.key_name} zonesub ANY; }};"
            zone_stanzas.append(f'zone "{zone}" {{ type primary; file "{path}"; check-integrity no; {policy} }};')
        conf = self.workdir / "named.conf"
        conf.write_text(
            f'key "{self.key_name}" {{ algorithm {self.algorithm}; secret "{self.key_secret}"; }};\n'
            "options {\n"
            f'  directory "{self.workdir}";\n'
            f'  pid-file "{self.workdir}/named.pid";\n'
            f'  session-keyfile "{self.workdir}/session.key";\n'
            f"  listen-on port {self.port} {{ 127.0.0.1; }};\n"
            "  listen-on-v6 { none; };\n"
            "  recursion no;\n"
            "  dnssec-validation no;\n"
            "  notify no;\n"
            "  allow-query { any; };\n"
            "};\n"
            f"controls {{ inet 127.0.0.1 port {control} allow {{ 127.0.0.1; }} keys {{ \"{self.key_name}\"; }}; }};\n"
            + "\n".join(zone_stanzas) + "\n"
        )
        log = open(self.workdir / "named.log", "wb")  # pylint: disable=consider-using-with
        self._proc = subprocess.Popen(  # pylint: disable=consider-using-with
            ["named", "-g", "-n", "1", "-c", str(conf)],
            stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(self.port)
            self._wait_for_zones()
        except TimeoutError:
            self.stop()
            raise RuntimeError("named did not start:\n" + (self.workdir / "named.log").read_text()) from None
        return self

    def _wait_for_zones(self, timeout: float = 60.0) -> None:
        """named accepts connections before it has loaded every zone: wait until each one answers its SOA."""
        deadline = time.monotonic() + timeout
        pending = list(self.zones)
        while pending:
            request = dns.message.make_query(dns.name.from_text(pending[-1]), dns.rdatatype.SOA)
            try:
                response = dns.query.tcp(request, self.host, port=self.port, timeout=2)
                if response.rcode() == dns.rcode.NOERROR and response.answer:
                    pending.pop()
                    continue
            except (OSError, dns.exception.DNSException):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"zones not loaded: {pending[:5]}")
            time.sleep(0.05)

    def stop(self) -> None:
        stop_process(self._proc)
        self._proc = None

    def __enter__(self) -> BindServer:
        return self.start()

    def __exit__(self, *exc: t.Any) -> None:
        self.stop()

    # -- helpers for tests ----------------------------------------------------------------------
    @property
    def keyring(self) -> dict:
        return dns.tsigkeyring.from_text({self.key_name: (self.algorithm, self.key_secret)})

    def role_vars(self) -> dict:
        """The dns role's variables that publish to this server over RFC 2136."""
        return {"dns_provider": "rfc2136", "dns_rfc2136_server": self.host, "dns_rfc2136_port": self.port,
                "dns_rfc2136_key_name": self.key_name, "dns_rfc2136_key_secret": self.key_secret}

    def query(self, name: str, rdtype: str) -> list:
        """Return the rdatas of one rrset, asked of this server directly (empty when absent)."""
        request = dns.message.make_query(dns.name.from_text(name), dns.rdatatype.from_text(rdtype))
        response = dns.query.tcp(request, self.host, port=self.port, timeout=5)
        for rrset in response.answer:
            if rrset.rdtype == dns.rdatatype.from_text(rdtype):
                return list(rrset)
        return []

    def txt(self, name: str) -> list[str]:
        """Return each TXT record of ``name`` with its character-strings joined."""
        return [b"".join(r.strings).decode() for r in self.query(name, "TXT")]

    def restart(self) -> BindServer:
        """Stop and start again with the current settings (a new port), the zones' contents kept."""
        self.stop()
        return self.start()

    def rndc_stop_serving(self) -> None:
        """Stop named (for fault tests)."""
        self.stop()
