# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

import datetime as dt

import pytest

from ansible_collections.openova.stalwart.plugins.module_utils import _dkim_rotation as rot

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
T0 = "2026-01-01T00:00:00Z"


def at(offset: dt.timedelta) -> str:
    return rot.format_time(rot.parse_time(T0, "t") + offset)


def step(state, offset, force=False, interval=None):
    return rot.decide(state, at(offset), base_prefix="s1", overlap=7 * DAY, settle=HOUR, interval=interval, force=force)


def test_first_run_records_the_current_generation():
    result = step(None, dt.timedelta(0))
    assert result["phase"] == "steady" and result["changed"]
    assert result["state"] == {"generations": [{"prefix": "s1", "published": T0, "verified": T0, "signing": T0}]}
    assert result["sign"] == "s1" and result["publish"] == ["s1"] and result["retire"] == []
    again = step(result["state"], HOUR)
    assert again["phase"] == "steady" and not again["changed"] and again["state"] == result["state"]


def test_full_rotation_one_transition_per_run():
    state = step(None, dt.timedelta(0))["state"]
    start = step(state, DAY, force=True)
    assert (start["phase"], start["sign"], start["publish"], start["changed"]) == ("start", "s1", ["s1", "s2"], True)
    state = start["state"]
    # Forcing again while a rotation runs does not start another; inside the settle time nothing changes.
    wait = step(state, DAY + 59 * dt.timedelta(minutes=1), force=True)
    assert (wait["phase"], wait["sign"], wait["changed"], wait["until"]) == ("wait", "s1", False, at(DAY + HOUR))
    switch = step(state, DAY + HOUR)
    assert (switch["phase"], switch["sign"], switch["verify"], switch["publish"]) == ("switch", "s2", "s2", ["s1", "s2"])
    state = switch["state"]
    assert state["generations"][0]["superseded"] == at(DAY + HOUR)
    assert state["generations"][1]["signing"] == at(DAY + HOUR)
    overlap = step(state, DAY + HOUR + 7 * DAY - dt.timedelta(seconds=1))
    assert (overlap["phase"], overlap["publish"], overlap["changed"]) == ("overlap", ["s1", "s2"], False)
    assert overlap["until"] == at(8 * DAY + HOUR)
    retire = step(state, 8 * DAY + HOUR)
    assert (retire["phase"], retire["retire"], retire["publish"], retire["sign"]) == ("retire", ["s1"], ["s2"], "s2")
    state = retire["state"]
    after = step(state, 9 * DAY)
    assert (after["phase"], after["changed"], after["publish"]) == ("steady", False, ["s2"])
    # The next rotation goes on to s3.
    assert step(state, 9 * DAY, force=True)["publish"] == ["s2", "s3"]


def test_standing_is_where_the_last_decision_left_the_rotation():
    assert rot.standing(None, "s1") == {"sign": "s1", "publish": ["s1"], "stages": {}}
    start = step(step(None, dt.timedelta(0))["state"], DAY, force=True)
    # Read back later, even past the settle time, it does not move: switching is the rotation run's.
    assert rot.standing(start["state"], "s1") == {"sign": "s1", "publish": ["s1", "s2"], "stages": {"s2": "pending"}}
    switch = step(start["state"], DAY + HOUR)
    assert rot.standing(switch["state"], "s1") == {"sign": "s2", "publish": ["s1", "s2"], "stages": {"s1": "retiring"}}
    with pytest.raises(ValueError, match="state"):
        rot.standing({"generations": "s1"}, "s1")


def test_stages_never_make_an_unverified_key_active():
    """Stalwart's stage of each published generation that does not sign: pending until the switch, retiring after."""
    first = step(None, dt.timedelta(0))
    assert first["stages"] == {}
    start = step(first["state"], DAY, force=True)
    assert (start["sign"], start["stages"]) == ("s1", {"s2": "pending"})
    wait = step(start["state"], DAY + HOUR - dt.timedelta(seconds=1))
    assert (wait["sign"], wait["stages"]) == ("s1", {"s2": "pending"})
    switch = step(start["state"], DAY + HOUR)
    assert (switch["sign"], switch["verify"], switch["stages"]) == ("s2", "s2", {"s1": "retiring"})
    overlap = step(switch["state"], 2 * DAY)
    assert (overlap["sign"], overlap["stages"]) == ("s2", {"s1": "retiring"})
    retire = step(switch["state"], 8 * DAY + HOUR)
    assert (retire["sign"], retire["stages"]) == ("s2", {})
    for result in (first, start, wait, switch, overlap, retire):
        assert result["sign"] not in result["stages"]
        assert set(result["stages"]) | {result["sign"]} == set(result["publish"])


def test_interval_starts_a_rotation_at_the_boundary():
    state = step(None, dt.timedelta(0))["state"]
    assert step(state, 180 * DAY - dt.timedelta(seconds=1), interval=180 * DAY)["phase"] == "steady"
    assert step(state, 180 * DAY, interval=180 * DAY)["phase"] == "start"


def test_zero_overlap_and_settle_still_take_one_run_each():
    state = rot.decide(None, T0, base_prefix="s1", overlap=dt.timedelta(0), settle=dt.timedelta(0), interval=None, force=True)
    assert state["phase"] == "start"
    switch = rot.decide(state["state"], T0, base_prefix="s1", overlap=dt.timedelta(0), settle=dt.timedelta(0), interval=None)
    assert switch["phase"] == "switch"
    retire = rot.decide(switch["state"], T0, base_prefix="s1", overlap=dt.timedelta(0), settle=dt.timedelta(0), interval=None)
    assert retire["phase"] == "retire" and retire["publish"] == ["s2"]


@pytest.mark.parametrize("prefix, expected", [("s1", "s2"), ("s9", "s10"), ("mail", "mail2"), ("k2026", "k2027")])
def test_next_prefix(prefix, expected):
    assert rot.next_prefix(prefix) == expected


def test_next_prefix_skips_taken_names():
    state = {"generations": [{"prefix": "s1", "published": T0, "signing": T0}, {"prefix": "s2", "published": T0,
                             "signing": T0, "superseded": T0}]}
    retire = step(state, dt.timedelta(0))
    assert retire["phase"] == "overlap"
    # With s2 still held as superseded nothing starts; a state with only s1 picks s2.
    assert step({"generations": [state["generations"][0]]}, DAY, force=True)["publish"] == ["s1", "s2"]


def test_times_with_offsets_are_normalised_to_utc():
    assert rot.format_time(rot.parse_time("2026-01-01T02:00:00+02:00", "now")) == T0


@pytest.mark.parametrize("now, message", [
    ("yesterday", "now: 'yesterday' is not an ISO 8601 time"),
    ("2026-01-01T00:00:00", "has no time zone"),
    (None, "now: expected an ISO 8601 time"),
])
def test_bad_now_is_named(now, message):
    with pytest.raises(ValueError, match=message):
        rot.decide(None, now, base_prefix="s1", overlap=DAY, settle=HOUR, interval=None)


@pytest.mark.parametrize("state, message", [
    ([], "state: expected a dictionary with a list 'generations'"),
    ({"generations": ["s1"]}, r"state.generations\[0\]: expected a dictionary"),
    ({"generations": [{"prefix": "bad prefix", "published": T0, "signing": T0}]}, r"generations\[0\].prefix"),
    ({"generations": [{"prefix": "s1", "signing": T0}]}, r"generations\[0\].published: missing"),
    ({"generations": [{"prefix": "s1", "published": "soon", "signing": T0}]}, r"generations\[0\].published"),
    ({"generations": [{"prefix": "s1", "published": T0}]}, "exactly one signing generation"),
    ({"generations": [{"prefix": "s1", "published": T0, "signing": T0}, {"prefix": "S1", "published": T0}]}, "listed twice"),
])
def test_bad_state_is_named(state, message):
    with pytest.raises(ValueError, match=message):
        rot.load_state(state)


def test_bad_durations_are_named():
    with pytest.raises(ValueError, match="overlap: must not be negative"):
        rot.decide(None, T0, base_prefix="s1", overlap=-DAY, settle=HOUR, interval=None)
    with pytest.raises(ValueError, match="interval: must be positive"):
        rot.decide(None, T0, base_prefix="s1", overlap=DAY, settle=HOUR, interval=dt.timedelta(0))
    with pytest.raises(ValueError, match="base_prefix"):
        rot.decide(None, T0, base_prefix="", overlap=DAY, settle=HOUR, interval=None)


def test_decide_does_not_modify_its_input():
    state = step(None, dt.timedelta(0))["state"]
    snapshot = repr(state)
    step(state, DAY, force=True)
    assert repr(state) == snapshot
