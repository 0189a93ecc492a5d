#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# Apache-2.0 is compatible with the GNU General Public License version 3, the license of ansible-core.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: dkim_rotation
short_description: Decide the next phase of a DKIM key rotation
version_added: 0.1.0
author: OpenOva (@openova)
description:
  - Pure computation on the controller. Reads the stored rotation state and returns the phase this run moves
    to and the new state. It touches nothing; the caller stores O(state) back (the C(dkim_rotate) playbook keeps
    it in the ConfigMap C(<name>-dkim-rotation) beside the DKIM Secrets, applied or rendered into the bundle).
  - "Phases: V(start) (the next selector generation is generated and published, the current one still signs),
    V(wait) (published less than O(settle_seconds) ago), V(switch) (the new generation must be verified on the
    authoritative servers by the caller, then signs; the old one stays published), V(overlap) (the old
    generation stays published until O(overlap_seconds) after the switch), V(retire) (the old generation leaves
    DNS and the key store), V(steady)."
  - At most one transition per run, so a second run at the same moment reports no change.
  - "Generations are selector prefixes: V(s1) gives C(s1-rsa) and C(s1-ed25519); the next one increments the
    trailing number (V(s1) to V(s2), V(mail) to V(mail2))."
extends_documentation_fragment:
  - openova.stalwart.attributes
attributes:
  check_mode:
    support: full
    details:
      - The module never changes anything; in check mode it returns the phase a real run would move to.
  diff_mode:
    support: full
    details:
      - Before and after are the stored and the new state.
  idempotent:
    support: full
    details:
      - A second run with the returned state and the same O(now) reports no change.
options:
  state:
    description:
      - The stored rotation state (the RV(state) of an earlier run), or V(null) / V({}) before the first run;
        the first run records O(base_prefix) as the signing generation.
    type: dict
  base_prefix:
    description:
      - Selector prefix of the keys signing before the first rotation (the role's C(stalwart_dkim_selector_prefix)).
    type: str
    default: s1
  now:
    description:
      - The current time, ISO 8601 with a time zone (V(2026-01-31T12:00:00Z)). Defaults to the controller's
        clock. Set it only to replay or test a schedule.
    type: str
  overlap_seconds:
    description:
      - How long the old generation stays published after the switch, for mail in flight and queued retries.
    type: int
    default: 604800
  settle_seconds:
    description:
      - Least time between publishing a generation and signing with it, so resolvers that cached the absence of
        the new names (negative TTL) see them.
    type: int
    default: 3600
  interval_days:
    description:
      - Start a rotation when the signing generation has signed this many days. V(0) starts one only with O(force).
    type: int
    default: 0
  force:
    description:
      - Start a rotation now if none is running.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Where is the rotation
  openova.stalwart.dkim_rotation:
    state: "{{ stored_state }}"
    base_prefix: s1
    interval_days: 180
  register: rotation

- name: Show it
  ansible.builtin.debug:
    msg: "{{ rotation.phase }}: signing with {{ rotation.sign }}, publishing {{ rotation.publish }}"
"""

RETURN = r"""
phase:
  description: The phase this run moves to.
  returned: success
  type: str
  sample: switch
state:
  description: The new state to store; one entry per generation that still has keys, with UTC times.
  returned: success
  type: dict
  sample: {"generations": [{"prefix": "s1", "published": "2026-01-01T00:00:00Z", "signing": "2026-01-01T00:00:00Z",
           "verified": "2026-01-01T00:00:00Z", "superseded": "2026-02-01T00:00:00Z"},
           {"prefix": "s2", "published": "2026-01-31T00:00:00Z", "verified": "2026-02-01T00:00:00Z",
            "signing": "2026-02-01T00:00:00Z"}]}
sign:
  description: The prefix whose keys sign after this run.
  returned: success
  type: str
  sample: s2
publish:
  description: Prefixes whose keys stay in the key store and in DNS after this run.
  returned: success
  type: list
  elements: str
  sample: [s1, s2]
stages:
  description:
    - Stalwart's rotation stage (C(DkimRotationStage)) of every published prefix that does not sign after this run -
      V(pending) for a new generation not yet switched to, V(retiring) for a superseded one; the signing prefix is
      V(active). The stalwart role passes it to M(openova.stalwart.stalwart_config) as O(openova.stalwart.stalwart_config#module:dkim_stages).
  returned: success
  type: dict
  sample: {"s1": "retiring"}
retire:
  description: Prefixes whose keys and records are removed by this run.
  returned: success
  type: list
  elements: str
  sample: []
verify:
  description: The prefix whose records the caller must verify on the authoritative servers before applying (V(switch)).
  returned: success
  type: str
  sample: s2
until:
  description: When the current V(wait) or V(overlap) ends.
  returned: success
  type: str
  sample: "2026-02-08T00:00:00Z"
"""

import datetime

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.openova.stalwart.plugins.module_utils import _dkim_rotation


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="dict"),
            base_prefix=dict(type="str", default="s1"),
            now=dict(type="str"),
            overlap_seconds=dict(type="int", default=604800),
            settle_seconds=dict(type="int", default=3600),
            interval_days=dict(type="int", default=0),
            force=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    now = params["now"] or _dkim_rotation.format_time(datetime.datetime.now(datetime.UTC))
    if params["interval_days"] < 0:
        module.fail_json(msg=f"interval_days: must not be negative, got {params['interval_days']}")
    try:
        result = _dkim_rotation.decide(
            params["state"], now, base_prefix=params["base_prefix"],
            overlap=datetime.timedelta(seconds=params["overlap_seconds"]),
            settle=datetime.timedelta(seconds=params["settle_seconds"]),
            interval=datetime.timedelta(days=params["interval_days"]) if params["interval_days"] else None,
            force=params["force"],
        )
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if module._diff:
        result["diff"] = {"before": params["state"] or {}, "after": result["state"]}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
