# -*- coding: utf-8 -*-
"""A real mail rig on loopback: Postfix (submission with SASL through Dovecot), a DKIM-signing relay hop
(aiosmtpd + dkimpy) and Dovecot (IMAPS + LMTP), all behind one self-signed CA.

Message path::

    client --465 (implicit TLS) or 587 (STARTTLS), AUTH--> Postfix smtpd --SASL--> Dovecot auth
    Postfix virtual_transport --SMTP--> DKIM hop (signs mail from ``signed_domain``, passes the rest)
    DKIM hop --LMTP--> Dovecot --> Maildir <-- IMAPS 993-like port (and jmap_mail.JmapMailServer)

Postfix stays hermetic: a private config directory, chroot off, ``default_transport = error``.
"""

from __future__ import annotations

import base64
import datetime
import email
import email.policy
import hashlib
import os
import pathlib
import secrets
import shutil
import smtplib
import subprocess
import tempfile
import time
import typing as t

import dkim
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from .common import free_port, wait_for_port

POSTFIX_SERVICES = """\
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def make_tls(workdir: pathlib.Path, hostname: str) -> dict[str, pathlib.Path]:
    """A throw-away CA and a server certificate for ``hostname``, localhost and 127.0.0.1."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "openova test mail CA")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    import ipaddress  # pylint: disable=import-outside-toplevel
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName(hostname), x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        ]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = {"ca": workdir / "ca.pem", "cert": workdir / "cert.pem", "key": workdir / "key.pem"}
    paths["ca"].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM) + paths["ca"].read_bytes())
    paths["key"].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    paths["key"].chmod(0o600)
    return paths


class DkimHop:
    """aiosmtpd handler: DKIM-sign (dkimpy) mail from the signing domain with every key, as Stalwart signs with
    RSA and Ed25519, then deliver over LMTP. ``keys`` are (selector, algorithm, dkimpy private key)."""

    def __init__(self, lmtp_port: int, domain: str, keys: list[tuple[str, str, bytes]]):
        self.lmtp_port = lmtp_port
        self.domain = domain
        self.keys = keys
        self.signed = 0
        self.passed = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802  pylint: disable=invalid-name,unused-argument
        message = envelope.original_content or envelope.content
        if envelope.mail_from.rpartition("@")[2].lower() == self.domain:
            signatures = b"".join(
                dkim.sign(message, selector.encode(), self.domain.encode(), private, signature_algorithm=algorithm.encode(),
                          include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
                for selector, algorithm, private in self.keys)
            message = signatures + message
            self.signed += 1
        else:
            self.passed += 1
        try:
            with smtplib.LMTP("127.0.0.1", self.lmtp_port, local_hostname="dkim-hop.test", timeout=10) as lmtp:
                refused = lmtp.sendmail(envelope.mail_from, envelope.rcpt_tos, message)
        except smtplib.SMTPRecipientsRefused as exc:
            reasons = [f"{rcpt}: {err[1].decode(errors='replace')}" for rcpt, err in exc.recipients.items()]
            return "550 5.1.1 " + "; ".join(reasons)
        except (smtplib.SMTPException, OSError) as exc:
            return f"451 4.3.0 LMTP delivery failed: {exc}"
        if refused:
            return "451 4.3.0 some recipients were refused by LMTP: " + ", ".join(refused)
        return "250 2.0.0 signed and delivered"


class MailRig:
    """Postfix + DKIM hop + Dovecot on 127.0.0.1 high ports. ``users`` maps address -> password."""

    signed_domain = "signed.test"
    unsigned_domain = "unsigned.test"
    hostname = "mail.signed.test"
    selectors = {"rig-rsa": "rsa-sha256", "rig-ed25519": "ed25519-sha256"}

    def __init__(self, workdir: pathlib.Path | None = None):
        # Dovecot's auth (user dovecot) and mail processes (nobody) must traverse every parent directory; a
        # pytest tmp dir sits under /tmp/pytest-of-root, which each new pytest session resets to 0700.
        self._own_workdir = workdir is None
        self.workdir = pathlib.Path(workdir or tempfile.mkdtemp(prefix="openova-mail-rig-"))
        self.users: dict[str, str] = {
            f"smoke@{self.signed_domain}": secrets.token_urlsafe(18),
            f"smoke@{self.unsigned_domain}": secrets.token_urlsafe(18),
        }
        self.submissions_port = 0
        self.submission_port = 0
        self.imaps_port = 0
        self.lmtp_port = 0
        self.hop_port = 0
        self.tls: dict[str, pathlib.Path] = {}
        self.dkim_keys: list[tuple[str, str, bytes]] = []
        self.dkim_txt: dict[str, str] = {}
        self.hop: DkimHop | None = None
        self._controller: Controller | None = None
        self._dovecot: subprocess.Popen | None = None
        self._postfix: subprocess.Popen | None = None

    # -- paths ----------------------------------------------------------------------------------
    @property
    def postfix_dir(self) -> pathlib.Path:
        return self.workdir / "postfix"

    @property
    def spool(self) -> pathlib.Path:
        return self.workdir / "spool"

    @property
    def dovecot_dir(self) -> pathlib.Path:
        return self.workdir / "dovecot"

    @property
    def mail_root(self) -> pathlib.Path:
        return self.workdir / "mail"

    def maildir(self, address: str) -> pathlib.Path:
        local, dom = address.split("@", 1)
        return self.mail_root / dom / local / "Maildir"

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> MailRig:
        for binary in ("postfix", "dovecot"):
            if not shutil.which(binary):
                raise RuntimeError(f"{binary} is not installed: run `make install`")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.workdir.chmod(0o755)
        self.tls = make_tls(self.workdir, self.hostname)
        self._make_dkim_key()
        self.submissions_port, self.submission_port = free_port(), free_port()
        self.imaps_port, self.lmtp_port = free_port(), free_port()
        try:
            self._write_postfix()
            # start-fg creates the spool directories, where Dovecot then puts its auth socket for Postfix SASL.
            self._start_postfix()
            self._start_dovecot()
            self._start_hop()
        except Exception:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._postfix is not None:
            subprocess.run(["postfix", "-c", str(self.postfix_dir), "stop"], capture_output=True, check=False)
            _terminate(self._postfix)
            self._postfix = None
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        if self._dovecot is not None:
            _terminate(self._dovecot)
            self._dovecot = None
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> MailRig:
        return self.start()

    def __exit__(self, *exc: t.Any) -> None:
        self.stop()

    # -- helpers for tests ----------------------------------------------------------------------
    def messages(self, address: str) -> list[email.message.EmailMessage]:
        """Every message in the INBOX Maildir of ``address`` (new and cur)."""
        found = []
        for sub in ("new", "cur"):
            folder = self.maildir(address) / sub
            if folder.is_dir():
                for path in sorted(folder.iterdir()):
                    found.append(email.message_from_bytes(path.read_bytes(), policy=email.policy.default))
        return found

    def dkim_dns(self, name: bytes, timeout: int = 5) -> bytes:  # pylint: disable=unused-argument
        """A dkimpy ``dnsfunc`` that knows the rig's one DKIM key."""
        parts = name.decode().rstrip(".").partition("._domainkey.")
        return self.dkim_txt.get(parts[0], "").encode() if parts[2] == self.signed_domain else b""

    def log(self) -> str:
        parts = []
        for path in (self.postfix_dir / "maillog", self.dovecot_dir / "dovecot.log"):
            if path.exists():
                parts.append(f"== {path.name}\n{path.read_text(errors='replace')[-6000:]}")
        return "\n".join(parts)

    # -- internals ------------------------------------------------------------------------------
    def _make_dkim_key(self) -> None:
        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        rsa_public = rsa_key.public_key().public_bytes(serialization.Encoding.DER,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo)
        ed_key = ed25519.Ed25519PrivateKey.generate()
        raw = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        # dkimpy takes RSA keys as PEM and Ed25519 keys as the base64 of the 32-byte seed.
        self.dkim_keys = [
            ("rig-rsa", "rsa-sha256", rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                            serialization.NoEncryption())),
            ("rig-ed25519", "ed25519-sha256", base64.b64encode(ed_key.private_bytes(
                serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()))),
        ]
        self.dkim_txt = {
            "rig-rsa": "v=DKIM1; k=rsa; p=" + base64.b64encode(rsa_public).decode(),
            "rig-ed25519": "v=DKIM1; k=ed25519; p=" + base64.b64encode(ed_key.public_key().public_bytes(*raw)).decode(),
        }

    def _start_dovecot(self) -> None:
        run = self.dovecot_dir / "run"
        run.mkdir(parents=True, exist_ok=True)
        (self.dovecot_dir / "state").mkdir(exist_ok=True)
        self.mail_root.mkdir(exist_ok=True)
        shutil.chown(self.mail_root, "nobody", "nogroup")
        users = self.dovecot_dir / "users"
        lines = [f"{addr}:{_ssha256(pw)}:65534:65534::{self.maildir(addr).parent}::" for addr, pw in self.users.items()]
        users.write_text("\n".join(lines) + "\n")
        shutil.chown(users, "root", "dovecot")  # read by the auth process (user dovecot)
        users.chmod(0o640)
        conf = self.dovecot_dir / "dovecot.conf"
        conf.write_text(f"""\
base_dir = {run}
state_dir = {self.dovecot_dir / 'state'}
instance_name = openova-rig-{self.imaps_port}
listen = 127.0.0.1
protocols = imap lmtp
log_path = {self.dovecot_dir / 'dovecot.log'}
ssl = required
ssl_cert = <{self.tls['cert']}
ssl_key = <{self.tls['key']}
ssl_min_protocol = TLSv1.2
auth_mechanisms = plain login
auth_failure_delay = 0
disable_plaintext_auth = yes
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = {users}
}}
userdb {{
  driver = passwd-file
  args = {users}
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port}
    ssl = yes
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.lmtp_port}
  }}
}}
service auth {{
  unix_listener {self.spool / 'private' / 'auth'} {{
    mode = 0666
  }}
}}
# No auth penalty (Dovecot delays logins from an IP after a failure): tests fail logins on purpose.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
""")
        log = open(self.dovecot_dir / "stdout.log", "wb")  # pylint: disable=consider-using-with
        # Dovecot keeps the caller's stdout open: point it at a file.
        self._dovecot = subprocess.Popen(  # pylint: disable=consider-using-with
            ["dovecot", "-F", "-c", str(conf)], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        for port in (self.imaps_port, self.lmtp_port):
            try:
                wait_for_port(port)
            except TimeoutError:
                raise RuntimeError("dovecot did not start:\n" + self.log()
                                   + (self.dovecot_dir / "stdout.log").read_text()) from None

    def _start_hop(self) -> None:
        self.hop = DkimHop(self.lmtp_port, self.signed_domain, self.dkim_keys)
        self._controller = Controller(self.hop, hostname="127.0.0.1", port=self.hop_or_reserved(),
                                      server_hostname="dkim-hop.test", ready_timeout=15)
        self._controller.start()

    def _write_postfix(self) -> None:
        self.postfix_dir.mkdir(parents=True, exist_ok=True)
        (self.postfix_dir / "vmailbox").write_text("".join(f"{addr} ok\n" for addr in self.users))
        smtpd_common = ("-o smtpd_sasl_auth_enable=yes -o smtpd_tls_auth_only=yes"
                        " -o smtpd_client_restrictions=permit_sasl_authenticated,reject")
        (self.postfix_dir / "master.cf").write_text(
            f"127.0.0.1:{self.submissions_port} inet n - n - - smtpd -o syslog_name=postfix/submissions"
            f" -o smtpd_tls_wrappermode=yes {smtpd_common}\n"
            f"127.0.0.1:{self.submission_port} inet n - n - - smtpd -o syslog_name=postfix/submission"
            f" -o smtpd_tls_security_level=encrypt {smtpd_common}\n"
            + POSTFIX_SERVICES
        )
        (self.postfix_dir / "main.cf").write_text(f"""\
compatibility_level = 3.6
queue_directory = {self.spool}
data_directory = {self.workdir / 'postfix-data'}
mail_owner = postfix
setgid_group = postdrop
myhostname = {self.hostname}
mydomain = {self.signed_domain}
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
maillog_file = {self.postfix_dir / 'maillog'}
maillog_file_prefixes = {self.workdir}
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtp_dns_support_level = disabled
default_transport = error:5.7.1 outside the test rig
relay_transport = error:5.7.1 outside the test rig
virtual_mailbox_domains = {self.signed_domain} {self.unsigned_domain}
virtual_mailbox_maps = texthash:{self.postfix_dir / 'vmailbox'}
virtual_transport = smtp:[127.0.0.1]:{self.hop_or_reserved()}
smtpd_tls_cert_file = {self.tls['cert']}
smtpd_tls_key_file = {self.tls['key']}
smtpd_tls_security_level = may
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
smtpd_sender_login_maps = texthash:{self.postfix_dir / 'senders'}
smtpd_sender_restrictions = reject_sender_login_mismatch
""")
        (self.postfix_dir / "senders").write_text("".join(f"{addr} {addr}\n" for addr in self.users))
        self.spool.mkdir(parents=True, exist_ok=True)
        (self.workdir / "postfix-data").mkdir(exist_ok=True)
        shutil.chown(self.workdir / "postfix-data", "postfix")

    def hop_or_reserved(self) -> int:
        """The DKIM hop's port, reserved before Postfix's config is written."""
        if not self.hop_port:
            self.hop_port = free_port()
        return self.hop_port

    def _start_postfix(self) -> None:
        log = open(self.postfix_dir / "stdout.log", "wb")  # pylint: disable=consider-using-with
        self._postfix = subprocess.Popen(  # pylint: disable=consider-using-with
            ["postfix", "-c", str(self.postfix_dir), "start-fg"], stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT)
        for port in (self.submissions_port, self.submission_port):
            try:
                wait_for_port(port)
            except TimeoutError:
                raise RuntimeError("postfix did not start:\n" + self.log()
                                   + _postfix_on_tty(self.postfix_dir, "check")) from None


def stop_packaged_services() -> list[str]:
    """Stop the distribution's own Postfix/Dovecot when installing the packages started them (ports 25/143/993)."""
    stopped = []
    if shutil.which("postfix") and pathlib.Path("/etc/postfix/main.cf").exists():
        if subprocess.run(["postfix", "status"], capture_output=True, check=False).returncode == 0:
            subprocess.run(["postfix", "stop"], capture_output=True, check=False)
            stopped.append("postfix")
    pid_file = pathlib.Path("/run/dovecot/master.pid")
    if shutil.which("doveadm") and pid_file.exists():
        try:
            os.kill(int(pid_file.read_text().strip()), 0)
        except (OSError, ValueError):
            return stopped
        subprocess.run(["doveadm", "stop"], capture_output=True, check=False)
        stopped.append("dovecot")
    return stopped


def _postfix_on_tty(config_dir: pathlib.Path, command: str) -> str:
    """Postfix prints its fatal errors only to a terminal: rerun ``command`` under script(1) to see them."""
    proc = subprocess.run(["script", "-qec", f"postfix -c {config_dir} {command}", "/dev/null"],
                          capture_output=True, text=True, check=False)
    return proc.stdout + proc.stderr


def _ssha256(password: str) -> str:
    salt = os.urandom(8)
    return "{SSHA256}" + base64.b64encode(hashlib.sha256(password.encode() + salt).digest() + salt).decode()


def _terminate(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def wait_for(predicate: t.Callable[[], t.Any], timeout: float = 15.0, interval: float = 0.1) -> t.Any:
    """Poll ``predicate`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
