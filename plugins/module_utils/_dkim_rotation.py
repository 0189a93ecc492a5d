# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""DKIM rotation phase machine: pure, no I/O.

A generation is a selector prefix (``s1`` gives ``s1-rsa`` and ``s1-ed25519``). The state keeps one entry per
generation that still has keys, with the time of every phase, so a later run on another controller continues:

    start   -> the next generation is generated and published; mail is still signed with the current one
    wait    -> published less than ``settle`` ago (resolvers may still cache the NXDOMAIN of the new name)
    switch  -> the new generation is verified on the authoritative servers (by the caller) and signs from now on;
               the old one stays published
    overlap -> the old generation stays published until ``overlap`` after the switch (mail in flight)
    retire  -> the old generation is removed from DNS and from the key store
    steady  -> nothing to do

Each run makes at most one transition, so a second run at the same moment reports no change.
"""

from __future__ import annotations

import datetime as _dt
import re
import typing as t

from ansible_collections.openova.stalwart.plugins.module_utils import _validate

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_TRAILING_NUMBER = re.compile(r"^(.*?)(\d+)$")


def parse_time(value: t.Any, option: str) -> _dt.datetime:
    """Return an aware UTC datetime from an ISO 8601 string (``Z`` or an offset), or raise ``ValueError``."""
    if isinstance(value, _dt.datetime):
        parsed = value
    elif isinstance(value, str) and value:
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = _dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{option}: {value!r} is not an ISO 8601 time such as 2026-01-31T12:00:00Z") from None
    else:
        raise ValueError(f"{option}: expected an ISO 8601 time such as 2026-01-31T12:00:00Z, got {value!r}")
    if parsed.tzinfo is None:
        raise ValueError(f"{option}: {value!r} has no time zone; add Z for UTC")
    return parsed.astimezone(_dt.UTC).replace(microsecond=0)


def format_time(value: _dt.datetime) -> str:
    return value.astimezone(_dt.UTC).strftime(_TIME_FORMAT)


def next_prefix(prefix: str) -> str:
    """``s1`` -> ``s2``, ``mail9`` -> ``mail10``, ``mail`` -> ``mail2``."""
    match = _TRAILING_NUMBER.match(prefix)
    if match:
        return f"{match.group(1)}{int(match.group(2)) + 1}"
    return f"{prefix}2"


def _prefix(value: t.Any, option: str) -> str:
    # A prefix must give valid selectors once -rsa / -ed25519 is appended.
    _validate.selector(f"{value}-rsa" if isinstance(value, str) and value else value, option)
    return str(value).lower()


def load_state(raw: t.Any, option: str = "state") -> dict[str, t.Any]:
    """Validate a stored state (``None`` or ``{}`` for none yet) and return a normalised copy."""
    if raw in (None, "", {}):
        return {"generations": []}
    if not isinstance(raw, dict) or not isinstance(raw.get("generations"), list):
        raise ValueError(f"{option}: expected a dictionary with a list 'generations', got {raw!r}")
    generations = []
    seen = set()
    for index, gen in enumerate(raw["generations"]):
        where = f"{option}.generations[{index}]"
        if not isinstance(gen, dict):
            raise ValueError(f"{where}: expected a dictionary, got {gen!r}")
        prefix = _prefix(gen.get("prefix"), f"{where}.prefix")
        if prefix in seen:
            raise ValueError(f"{where}.prefix: {prefix} is listed twice")
        seen.add(prefix)
        entry = {"prefix": prefix}
        for key in ("published", "verified", "signing", "superseded"):
            if gen.get(key) is not None:
                entry[key] = format_time(parse_time(gen[key], f"{where}.{key}"))
        if "published" not in entry:
            raise ValueError(f"{where}.published: missing")
        generations.append(entry)
    signing = [g for g in generations if "signing" in g and "superseded" not in g]
    if len(signing) != 1:
        raise ValueError(f"{option}: expected exactly one signing generation, found {[g['prefix'] for g in signing]}")
    return {"generations": generations}


def _stages(gens: list[dict[str, t.Any]], signing: dict[str, t.Any]) -> dict[str, str]:
    """Stalwart's DkimRotationStage of the published generations that do not sign: never "active" before the switch."""
    return {g["prefix"]: "retiring" if "superseded" in g else "pending" for g in gens if g["prefix"] != signing["prefix"]}


def standing(state: t.Any, base_prefix: str) -> dict[str, t.Any]:
    """Where a stored rotation stands, without moving it: ``sign``, ``publish`` and ``stages`` as :func:`decide` gives
    them. For the runs between rotation runs (``site.yml``), which keep what the last one set up; with no state yet,
    ``base_prefix`` signs alone."""
    current = load_state(state)
    base = _prefix(base_prefix, "base_prefix")
    gens = current["generations"]
    if not gens:
        return {"sign": base, "publish": [base], "stages": {}}
    signing = next(g for g in gens if "signing" in g and "superseded" not in g)
    return {"sign": signing["prefix"], "publish": [g["prefix"] for g in gens], "stages": _stages(gens, signing)}


def decide(
    state: t.Any,
    now: t.Any,
    *,
    base_prefix: str,
    overlap: _dt.timedelta,
    settle: _dt.timedelta,
    interval: _dt.timedelta | None,
    force: bool = False,
) -> dict[str, t.Any]:
    """Return the phase this run moves to and the new state.

    ``verify`` names the generation the caller must verify on the authoritative servers before it applies
    the result (``switch``); ``sign`` is the prefix that signs after this run, ``publish`` the prefixes whose
    keys stay in the key store and in DNS, ``retire`` the prefixes to remove.
    """
    current = load_state(state)
    when = parse_time(now, "now")
    base = _prefix(base_prefix, "base_prefix")
    for name, value in (("overlap", overlap), ("settle", settle)):
        if value < _dt.timedelta(0):
            raise ValueError(f"{name}: must not be negative, got {value}")
    if interval is not None and interval <= _dt.timedelta(0):
        raise ValueError(f"interval: must be positive, got {interval}")
    stamp = format_time(when)
    gens = [dict(g) for g in current["generations"]]
    if not gens:
        # First run: the keys the role already signs with become generation one.
        gens.append({"prefix": base, "published": stamp, "verified": stamp, "signing": stamp})

    def times(gen: dict[str, t.Any], key: str) -> _dt.datetime:
        return parse_time(gen[key], key)

    signing = next(g for g in gens if "signing" in g and "superseded" not in g)
    pending = [g for g in gens if "signing" not in g]
    superseded = [g for g in gens if "superseded" in g]
    phase = "steady"
    verify = None
    retire: list[str] = []
    if pending:
        new = pending[0]
        if when < times(new, "published") + settle:
            phase = "wait"
        else:
            phase = "switch"
            verify = new["prefix"]
            new["verified"] = stamp
            new["signing"] = stamp
            signing["superseded"] = stamp
            signing = new
    elif superseded:
        due = [g for g in superseded if when >= times(g, "superseded") + overlap]
        if due:
            phase = "retire"
            retire = [g["prefix"] for g in due]
            gens = [g for g in gens if g["prefix"] not in retire]
        else:
            phase = "overlap"
    elif force or (interval is not None and when >= times(signing, "signing") + interval):
        phase = "start"
        taken = {g["prefix"] for g in gens}
        prefix = next_prefix(signing["prefix"])
        while prefix in taken:
            prefix = next_prefix(prefix)
        gens.append({"prefix": prefix, "published": stamp})
    new_state = {"generations": gens}
    until = None
    if phase == "wait":
        until = format_time(times(pending[0], "published") + settle)
    elif phase == "overlap":
        until = format_time(min(times(g, "superseded") for g in superseded) + overlap)
    return {
        "phase": phase,
        "changed": new_state != current,
        "state": new_state,
        "sign": signing["prefix"],
        "publish": [g["prefix"] for g in gens],
        "stages": _stages(gens, signing),
        "retire": retire,
        "verify": verify,
        "until": until,
    }
