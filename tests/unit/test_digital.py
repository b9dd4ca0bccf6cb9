"""The digital-clock reference (tests/digital.py) checked on tiny cases whose answers are known by
reasoning, so that it can later check hasm's judges: the small spec with a 2 s service-down
delay and re-login in [1, 2] s."""

from __future__ import annotations

import json
from typing import Any

import pytest
from digital import (
    EARLY,
    ONLY_AFTER_DELAY,
    PARAMS,
    SMALL,
    DigitalLimitError,
    accepts_digital,
    explore_digital,
    in_time,
    small_with,
)

from hasm.core.config import EventInput, Fire
from hasm.spec.loader import load_spec
from hasm.spec.model import Spec


@pytest.fixture(scope="module")
def small() -> Spec:
    return load_spec(SMALL)


def test_the_small_spec_reaches_its_three_pairs_and_fires_every_rule(small: Spec) -> None:
    ref = explore_digital(small, PARAMS)
    assert ref.pairs == {("normal", "normal"), ("idle", "backup"), ("backup", "idle")}
    assert ref.shown == {
        (("normal", "ha_off"), ("normal", "ha_off")),
        (("normal", "normal"), ("normal", "normal")),
        (("idle", "admin"), ("backup", "admin")),
        (("backup", "admin"), ("idle", "admin")),
        (("idle", "service_down"), ("backup", "service_down")),
        (("backup", "service_down"), ("idle", "service_down")),
    }
    assert ref.rules == {t.id for t in small.transitions}
    assert ref.broken == frozenset() and not ref.witnesses
    assert ref.ticks == 2 and ref.states > 0


def test_the_normal_form_makes_the_space_finite_and_independent_of_long_delays(
    small: Spec,
) -> None:
    """A longer delay adds ticks to wait through, not behaviours: same pairs and rules, and
    the states grow with the windows, not without bound."""
    short = explore_digital(small, PARAMS)
    longer = explore_digital(small, {**PARAMS, "service_down_delay_s": 5})
    assert (short.pairs, short.shown, short.rules) == (longer.pairs, longer.shown, longer.rules)
    assert short.states < longer.states < 10 * short.states


def test_a_failover_exactly_at_the_delay_breaks_nothing() -> None:
    spec = small_with(
        EARLY, "{min: service_down_delay_s - early_s, max: service_down_delay_s}", ONLY_AFTER_DELAY
    )
    assert explore_digital(spec, PARAMS).broken == frozenset()


def test_a_failover_half_a_second_early_is_found_on_the_half_tick() -> None:
    """The timer may fire 0.5 s before the delay: only a clock of half seconds sees it, and the
    witness fires 3 ticks (1.5 s) after the stop that started it."""
    spec = small_with(
        EARLY, "{min: service_down_delay_s - early_s, max: service_down_delay_s}", ONLY_AFTER_DELAY
    )
    ref = explore_digital(spec, {**PARAMS, "early_s": 0.5})
    assert ref.broken == {"failover_only_after_delay"}
    steps = ref.witnesses["failover_only_after_delay"].steps
    stop = next(
        s for s in steps if isinstance(s.input, EventInput) and s.input.name == "service_stop"
    )
    last = steps[-1]
    assert isinstance(last.input, Fire) and last.rule == "automatic_failover"
    assert last.config.now - stop.config.now == 3
    with pytest.raises(ValueError, match="not a multiple of 1/1 s"):
        explore_digital(spec, {**PARAMS, "early_s": 0.5}, ticks=1)


def test_a_bounded_response_holds_exactly_at_its_closed_bound() -> None:
    """Failover at 2 s, re-login by 2 s later: the user is on the peer by 4 s, not before."""
    assert (
        explore_digital(
            small_with(invariants=in_time("service_down_delay_s + relogin_max_s")), PARAMS
        ).broken
        == frozenset()
    )
    ref = explore_digital(
        small_with(invariants=in_time("service_down_delay_s + relogin_min_s")), PARAMS
    )
    assert ref.broken == {"failover_in_time"}
    w = ref.witnesses["failover_in_time"]
    assert w.steps[0].input == EventInput("service_stop", 0, "engine")
    # Missed at the bound, 3 s = 6 ticks after the stop, with the user still waiting.
    assert w.final.now - w.steps[0].config.now == 6
    assert all(c.session != 1 for c in w.final.users)


def test_too_many_states_fail_loudly(small: Spec) -> None:
    with pytest.raises(DigitalLimitError, match="more than 10 states"):
        explore_digital(small, PARAMS, limit=10)


# -- the trace acceptor ------------------------------------------------------------------------
HEADER: dict[str, Any] = {
    "hasm_trace": 1,
    "nodes": ["a", "b"],
    "users": {"alice": "a"},
    "params": PARAMS,
    "initial": "normal",
}
STOP = {"t": 10, "event": "service_stop", "node": "a", "service": "engine"}


def trace(*records: dict[str, Any], header: dict[str, Any] = HEADER) -> str:
    return "".join(json.dumps(line) + "\n" for line in (header, *records))


def seen(t: float, **observe: Any) -> dict[str, Any]:
    return {"t": t, "observe": observe}


FAILED_OVER = {"a": {"state": "Idle", "reason": "Service Down"}, "b": {"state": "Backup"}}


@pytest.mark.parametrize(
    ("records", "verdict"),
    [
        # The failover comes exactly at the delay, 2 s after the stop...
        ((STOP, seen(12, nodes=FAILED_OVER)), None),
        # ... not half a second early ...
        ((STOP, seen(11.5, nodes=FAILED_OVER)), 3),
        # ... and at that very instant it may not have happened yet, but not later.
        ((STOP, seen(12, nodes={"a": {"state": "Normal"}})), None),
        ((STOP, seen(12.5, nodes={"a": {"state": "Normal"}})), 3),
        # The user re-logs in on the backup 1 to 2 s after its session ended.
        ((STOP, seen(12, sessions={"alice": None}), seen(13, sessions={"alice": "b"})), None),
        ((STOP, seen(12, sessions={"alice": None}), seen(12.5, sessions={"alice": "b"})), 4),
        ((STOP, seen(13.5, sessions={"alice": "b"}, nodes={"b": {"active_users": 1}})), None),
        ((STOP, seen(14, sessions={"alice": None})), None),
        ((STOP, seen(14.5, sessions={"alice": None})), 3),
        # Counters: assigned stays on the home node, active follows the session.
        ((STOP, seen(12, nodes={"a": {"assigned_users": 1, "active_users": 0}})), None),
        ((STOP, seen(12, nodes={"a": {"active_users": 1}})), None),  # not yet failed over
        ((STOP, seen(12.5, nodes={"a": {"active_users": 1}})), 3),
        # An admin action not offered: fallback to a Normal node.
        (({"t": 1, "event": "fallback", "node": "a"},), 2),
        # What is offered, complete lists.
        ((seen(0, offered={"failover": ["a", "b"], "fallback": []}),), None),
        ((seen(0, offered={"failover": ["a"]}),), 2),
        ((STOP, seen(12.5, offered={"failover": [], "fallback": []})), None),
        ((STOP, seen(12.5, ha_enabled=False)), 3),
        # Manual fallback is offered once the service is back.
        (
            (
                STOP,
                {"t": 12.5, "event": "service_start", "node": "a", "service": "engine"},
                {"t": 12.5, "event": "fallback", "node": "a"},
                seen(12.5, nodes={"a": {"state": "Normal"}}),
            ),
            None,
        ),
    ],
)
def test_the_acceptor_on_a_service_stop(
    records: tuple[dict[str, Any], ...], verdict: int | None
) -> None:
    assert accepts_digital(load_spec(SMALL), trace(*records), ticks=2) == verdict


def test_users_are_counted_per_home_and_session(small: Spec) -> None:
    """Two users of one home: at 13.5 one may be back and the other not, whichever."""
    header = {**HEADER, "users": {"alice": "a", "bob": "a"}}
    split = seen(13.5, sessions={"alice": "b", "bob": None}, nodes={"b": {"active_users": 1}})
    assert accepts_digital(small, trace(STOP, split, header=header), ticks=2) is None
    both_late = seen(14.5, sessions={"alice": "b", "bob": None})
    assert accepts_digital(small, trace(STOP, both_late, header=header), ticks=2) == 3
    # A login names a user: any cohort of its home that can hold its client. Bob is signed
    # in, so his sign-in cannot take the cohort Alice's sign-out left (signed out); hers can.
    out = {"t": 1, "event": "logout", "user": "alice"}
    home = seen(2, nodes={"a": {"active_users": 2}})
    bob, alice = ({"t": 2, "event": "login", "user": user} for user in ("bob", "alice"))
    assert accepts_digital(small, trace(out, bob, home, header=header), ticks=2) == 4
    assert accepts_digital(small, trace(out, alice, home, header=header), ticks=2) is None
    one = seen(2, nodes={"a": {"active_users": 1}})
    assert accepts_digital(small, trace(out, bob, one, header=header), ticks=2) is None


def test_record_times_must_lie_on_the_grid(small: Spec) -> None:
    with pytest.raises(ValueError, match="not a multiple of 1/1 s"):
        accepts_digital(small, trace(STOP, seen(12.5, nodes=FAILED_OVER)), ticks=1)
    assert accepts_digital(small, trace(STOP, seen(12, nodes=FAILED_OVER)), ticks=1) is None
