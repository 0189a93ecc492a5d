#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# Apache-2.0 is compatible with the GNU General Public License version 3, the license of ansible-core.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: dkim_key
short_description: Generate and keep DKIM signing keys (RSA and Ed25519)
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Generates DKIM private keys (RFC 6376; Ed25519 per RFC 8463) and keeps them, and returns for each key the
    DNS record that publishes its public half (name, value, and value split into character-strings).
  - An existing usable key is never replaced. A key file or passed-in key that is corrupt, encrypted, or not
    of the asked algorithm or size makes the module fail, naming the key, unless O(replace_invalid=true).
    To rotate a key, add a new selector, publish it, and retire the old one later.
  - "Single form: O(domain), O(selector), O(algorithm), O(size) and O(path) (or O(key_dir)). Bulk form: O(keys)
    with O(key_dir); all missing keys are generated in one task, RSA keys in O(workers) parallel processes."
  - Key files are named C(<selector>._domainkey.<domain>.pem), written atomically (a temporary file in the
    same directory, synced, then renamed) with mode C(0600) in unencrypted PKCS#8 PEM, the form Stalwart reads
    for both algorithms. A missing O(key_dir) is created with mode C(0700).
  - Without O(path) and O(key_dir) the module works in memory. Keys passed in through O(keys[].private_key)
    (for example read back from a Kubernetes Secret) are checked and used, missing ones are generated, and with
    O(return_private_keys=true) the new private keys are returned. The task must then set C(no_log=true).
  - Runs on the Ansible controller (O(path) and O(key_dir) are paths there); needs the Python C(cryptography)
    library on the controller.
extends_documentation_fragment:
  - openova.stalwart.attributes
  - openova.stalwart.attributes.CONTROLLER_ACTION
attributes:
  check_mode:
    support: full
    details:
      - Reports which keys would be generated or stored, generates and writes nothing. The record fields of
        keys that would be generated are V(null).
  diff_mode:
    support: full
    details:
      - Before and after list the DKIM key records (public data only) of the keys handled.
  idempotent:
    support: full
    details:
      - With O(path) or O(key_dir), or with every key passed in. In memory, keys that are not passed in are new
        on every run.
options:
  domain:
    description:
      - Signing domain (C(d=)) of the single key. Internationalised names are stored in their A-label form.
      - Mutually exclusive with O(keys).
    type: str
  selector:
    description:
      - Selector (C(s=)) of the single key. Required with O(domain).
    type: str
  algorithm:
    description:
      - Key algorithm of the single key; in the bulk form, the default for O(keys) entries without one.
      - Keep an RSA key beside Ed25519 ones, as some large receivers do not verify Ed25519 signatures.
    type: str
    choices: [rsa, ed25519]
    default: rsa
  size:
    description:
      - RSA key size in bits, from 2048 to 4096 (RFC 8301); smaller keys are refused. Ignored for Ed25519.
      - In the bulk form, the default for RSA entries of O(keys) without one.
    type: int
    default: 2048
  path:
    description:
      - File holding the PEM private key of the single key. Created (mode C(0600)) when missing.
      - Mutually exclusive with O(key_dir) and O(keys).
    type: path
  private_key:
    description:
      - PEM private key of the single key, used instead of generating one (see O(keys[].private_key)).
    type: str
  keys:
    description:
      - The keys to keep, for the bulk form. C(domain) and C(selector) pairs must be unique.
      - Results are returned in the same order in RV(dkim_keys).
    type: list
    elements: dict
    suboptions:
      domain:
        description: Signing domain.
        type: str
        required: true
      selector:
        description: Selector.
        type: str
        required: true
      algorithm:
        description: Key algorithm; O(algorithm) when not set.
        type: str
        choices: [rsa, ed25519]
      size:
        description: RSA key size in bits (2048 to 4096); O(size) when not set. Ignored for Ed25519.
        type: int
      private_key:
        description:
          - Existing PEM private key (PKCS#8, or PKCS#1 for RSA), for example read back from a Kubernetes
            Secret. Used instead of generating a key, and written to the key file when that is missing.
          - It must match the key file when both exist; a different key is refused, never swapped in.
        type: str
  key_dir:
    description:
      - Directory of the key files C(<selector>._domainkey.<domain>.pem). Created with mode C(0700) if missing.
      - Key files in it that are not asked for are left alone.
    type: path
  workers:
    description:
      - Number of processes generating RSA keys in parallel. Defaults to the number of CPU cores available.
      - Ed25519 keys are made in the action's own process.
    type: int
  replace_invalid:
    description:
      - Replace a key file or passed-in key that is corrupt, encrypted, or of another algorithm or size, with a
        newly generated key (or the usable passed-in one), instead of failing.
      - A usable key is never replaced, whatever this option says.
    type: bool
    default: false
  return_private_keys:
    description:
      - Return the PEM private key of each key in RV(dkim_keys[].private_key) (RV(private_key) in the single form).
      - Keys received through O(keys[].private_key) or O(private_key) are not returned again, since Ansible
        masks values of C(no_log) options in results; the caller already holds them.
      - The task must set C(no_log=true), or the private keys show up in the output and logs.
    type: bool
    default: false
  return_key_files:
    description:
      - Bulk form. Also return RV(key_files), the PEM private key of each key by its file name, the shape a
        Kubernetes Secret of key files takes. Keys received through O(keys[].private_key) are left out, as with
        O(return_private_keys).
      - The task must set C(no_log=true).
    type: bool
    default: false
notes:
  - "The returned RV(dkim_keys[].txt_value) is C(v=DKIM1; k=rsa; h=sha256; p=<base64 SubjectPublicKeyInfo>) for RSA and
    C(v=DKIM1; k=ed25519; p=<base64 raw 32-byte key>) for Ed25519. An RSA-2048 value is longer than the 255 bytes
    of one TXT character-string; publish RV(dkim_keys[].txt_strings) as the strings of one record."
  - Existing RSA keys are loaded without OpenSSL's prime test; the module checks instead that modulus, exponents
    and CRT values are consistent, which any corruption breaks.
seealso:
  - name: RFC 6376
    description: DomainKeys Identified Mail (DKIM) Signatures.
    link: https://www.rfc-editor.org/rfc/rfc6376
  - name: RFC 8463
    description: A New Cryptographic Signature Method for DKIM (Ed25519-SHA256).
    link: https://www.rfc-editor.org/rfc/rfc8463
  - name: RFC 8301
    description: Cryptographic Algorithm and Key Usage Update to DKIM.
    link: https://www.rfc-editor.org/rfc/rfc8301
requirements:
  - cryptography >= 41
"""

EXAMPLES = r"""
- name: Keep one RSA key in a file
  openova.stalwart.dkim_key:
    domain: example.org
    selector: s1-rsa
    path: /srv/dkim/s1-rsa._domainkey.example.org.pem
  register: dkim

- name: Build the key list from the domains
  ansible.builtin.set_fact:
    dkim_wanted: "{{ dkim_wanted | default([]) + [{'domain': item.0, 'selector': 's1-' ~ item.1, 'algorithm': item.1}] }}"
  loop: "{{ ['example.org', 'example.net'] | product(['rsa', 'ed25519']) | list }}"

- name: Keep all the keys in one task
  openova.stalwart.dkim_key:
    keys: "{{ dkim_wanted }}"
    key_dir: /srv/render/secrets/dkim
  register: dkim_all

- name: Read the keys kept in the cluster
  kubernetes.core.k8s_info:
    kind: Secret
    namespace: mail
    name: stalwart-dkim
  register: dkim_secret
  no_log: true

- name: Attach the stored private key to each wanted key
  ansible.builtin.set_fact:
    dkim_known: "{{ dkim_known | default([]) + [item | combine({'private_key': stored[file] | b64decode} if file in stored else {})] }}"
  vars:
    stored: "{{ (dkim_secret.resources | first).data if dkim_secret.resources else {} }}"
    file: "{{ item.selector }}._domainkey.{{ item.domain }}.pem"
  loop: "{{ dkim_wanted }}"
  no_log: true

- name: Keep the keys in memory, returning only the private keys made now
  openova.stalwart.dkim_key:
    keys: "{{ dkim_known }}"
    return_private_keys: true
  register: dkim_mem
  no_log: true

- name: Publish the records (each value as several character-strings)
  ansible.builtin.debug:
    msg: "{{ item.record_name }} TXT {{ item.txt_strings }}"
  loop: "{{ dkim_all.dkim_keys }}"
  loop_control:
    label: "{{ item.record_name }}"
"""

RETURN = r"""
records:
  description:
    - Bulk form. The public part of each key, in the order of O(keys), never a private key (what the DNS
      records are made of).
  returned: when O(keys) is set
  type: list
  elements: dict
  contains:
    domain:
      description: Signing domain.
      type: str
    selector:
      description: DKIM selector.
      type: str
    algorithm:
      description: C(rsa) or C(ed25519).
      type: str
    record_name:
      description: C(<selector>._domainkey.<domain>).
      type: str
    txt_value:
      description: The DKIM TXT record value, V(null) in check mode for a key not made yet.
      type: str
  sample: [{"domain": "example.org", "selector": "s1-rsa", "algorithm": "rsa",
            "record_name": "s1-rsa._domainkey.example.org", "txt_value": "v=DKIM1; k=rsa; h=sha256; p=MIIB..."}]
key_files:
  description:
    - Bulk form. C(<selector>._domainkey.<domain>.pem) to the PEM private key, for every key read from its file
      or generated (not for keys passed in).
  returned: when O(return_key_files=true) and O(keys) is set
  type: dict
  sample: {"s1-rsa._domainkey.example.org.pem": "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n"}
dkim_keys:
  description:
    - Bulk form. One entry per O(keys) entry, in the same order.
    - Named C(dkim_keys) rather than C(keys), which Jinja would resolve to the dictionary method.
  returned: when O(keys) is set
  type: list
  elements: dict
  contains:
    domain:
      description: Signing domain (lower case, A-labels).
      type: str
      sample: example.org
    selector:
      description: Selector (lower case).
      type: str
      sample: s1-rsa
    algorithm:
      description: Key algorithm.
      type: str
      sample: rsa
    size:
      description: Key size in bits (256 for Ed25519).
      type: int
      sample: 2048
    record_name:
      description: Owner name of the DKIM TXT record, without the trailing dot.
      type: str
      sample: s1-rsa._domainkey.example.org
    txt_value:
      description: The TXT record value. V(null) in check mode for a key that would be generated.
      type: str
      sample: v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=
    txt_strings:
      description: RV(dkim_keys[].txt_value) split into character-strings of at most 255 bytes, for one TXT record.
      type: list
      elements: str
      sample: ["v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="]
    public_key:
      description: The public key, PEM SubjectPublicKeyInfo. V(null) in check mode for a key that would be generated.
      type: str
      sample: "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n"
    path:
      description: Key file, V(null) in memory.
      type: str
      sample: /srv/render/secrets/dkim/s1-rsa._domainkey.example.org.pem
    key_action:
      description:
        - What was (or in check mode, would be) done. V(keep) a usable key, V(chmod) fix the key file mode to
          C(0600), V(store) write a passed-in key to its missing file, V(generate) a missing key, V(replace) an
          unusable key (with O(replace_invalid=true)).
      type: str
      sample: generate
    changed:
      description: Whether this key changed.
      type: bool
      sample: true
    private_key:
      description:
        - PEM private key (PKCS#8, or the passed-in form). Only with O(return_private_keys=true), and not for
          keys passed in. Use C(no_log=true) on the task.
      type: str
      returned: when O(return_private_keys=true)
      sample: "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n"
domain:
  description: Single form. Signing domain.
  returned: when O(domain) is set
  type: str
  sample: example.org
selector:
  description: Single form. Selector.
  returned: when O(domain) is set
  type: str
  sample: s1-rsa
algorithm:
  description: Single form. Key algorithm.
  returned: when O(domain) is set
  type: str
  sample: rsa
size:
  description: Single form. Key size in bits (256 for Ed25519).
  returned: when O(domain) is set
  type: int
  sample: 2048
record_name:
  description: Single form. Owner name of the DKIM TXT record.
  returned: when O(domain) is set
  type: str
  sample: s1-rsa._domainkey.example.org
txt_value:
  description: Single form. The TXT record value; V(null) in check mode for a key that would be generated.
  returned: when O(domain) is set
  type: str
  sample: v=DKIM1; k=rsa; h=sha256; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA...
txt_strings:
  description: Single form. RV(txt_value) as character-strings of at most 255 bytes.
  returned: when O(domain) is set
  type: list
  elements: str
  sample: ["v=DKIM1; k=rsa; h=sha256; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA...", "...IDAQAB"]
public_key:
  description: Single form. The public key, PEM SubjectPublicKeyInfo.
  returned: when O(domain) is set
  type: str
  sample: "-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n"
path:
  description: Single form. Key file, V(null) in memory.
  returned: when O(domain) is set
  type: str
  sample: /srv/dkim/s1-rsa._domainkey.example.org.pem
key_action:
  description: Single form. What was done, as RV(dkim_keys[].key_action).
  returned: when O(domain) is set
  type: str
  sample: keep
private_key:
  description: Single form. PEM private key, as RV(dkim_keys[].private_key).
  returned: when O(return_private_keys=true) and the key was not passed in
  type: str
  sample: "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.openova.stalwart.plugins.module_utils import _dkim


def module_kwargs() -> dict:
    """The argument spec, with which the action plugin validates the task's arguments."""
    return dict(
        argument_spec=dict(
            domain=dict(type="str"),
            selector=dict(type="str"),
            algorithm=dict(type="str", default="rsa", choices=list(_dkim.ALGORITHMS)),
            size=dict(type="int", default=_dkim.RSA_DEFAULT_BITS),
            path=dict(type="path"),
            private_key=dict(type="str", no_log=True),
            keys=dict(type="list", elements="dict", no_log=False, options=dict(
                domain=dict(type="str", required=True),
                selector=dict(type="str", required=True),
                algorithm=dict(type="str", choices=list(_dkim.ALGORITHMS)),
                size=dict(type="int"),
                private_key=dict(type="str", no_log=True),
            )),
            key_dir=dict(type="path"),
            workers=dict(type="int"),
            replace_invalid=dict(type="bool", default=False),
            return_private_keys=dict(type="bool", default=False),
            return_key_files=dict(type="bool", default=False),
        ),
        required_one_of=[("domain", "keys")],
        required_together=[("domain", "selector")],
        mutually_exclusive=[("keys", "domain"), ("keys", "selector"), ("keys", "path"), ("keys", "private_key"),
                            ("path", "key_dir")],
        supports_check_mode=True,
    )


def main() -> None:
    module = AnsibleModule(**module_kwargs())
    module.fail_json(msg="openova.stalwart.dkim_key runs on the controller, in its action plugin")


if __name__ == "__main__":
    main()
