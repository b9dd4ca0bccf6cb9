"""Readings: questions Cisco's text leaves open, each answered once for a whole behaviour.

Two readings so far. S1's Critical Service Delay - "the duration in seconds that a critical
service can be down before failover is initiated": the delay of the set of monitored services
(some service down throughout) or of one service (that service down throughout). And the
trace contract's session, "the user's Presence Engine session": does it outlive a stopped
Presence Engine, or end with it? Both answers of each are allowed: the core runs the one the
configuration's nodes answer, the oracle keeps a behaviour under each answer, and a trace
conforms if one explains it.
"""

from __future__ import annotations

import pytest
from conftest import drive, ev, relogin, sessions_on, states, stopped, timer_names, waiting

from hasm.core.config import NO_NODE, NOT_WAITING, Config
from hasm.core.model import Model
from hasm.core.semantics import deadline, initial_config, initial_configs
from hasm.errors import ClockError, ConformanceError
from hasm.oracle.candidates import answering
from hasm.oracle.oracle import Oracle
from hasm.spec.model import Spec

PER_SERVICE = frozenset({"critical_delay_per_service"})
ENDS = frozenset({"session_ends_with_presence_engine"})
PE, XCP = "presence_engine", "xcp_router"


def _normal(model: Model, readings: frozenset[str]) -> Config:
    return initial_config(model, "normal", (1, 1), readings)


def test_every_answer_is_a_start_and_none_is_the_default(model: Model) -> None:
    starts = initial_configs(model, "normal", (1, 1))
    assert [c.nodes[0].readings for c in starts] == [
        frozenset(),
        ENDS,
        PER_SERVICE,
        PER_SERVICE | ENDS,
    ]
    assert all(n.readings == c.nodes[0].readings for c in starts for n in c.nodes)
    # With no users, whom a node serves changes nothing: that reading keeps its default.
    assert model.hosting_readings == ENDS
    alone = initial_configs(model, "normal", (0, 0))
    assert [c.nodes[0].readings for c in alone] == [frozenset(), PER_SERVICE]
    assert initial_config(model, "normal", (1, 1)) == starts[0]


@pytest.mark.parametrize(
    ("readings", "timer"),
    [(frozenset(), "critical_service_down"), (PER_SERVICE, f"one_critical_service_down.{PE}")],
)
def test_one_service_down_runs_the_timer_of_the_reading(
    model: Model, readings: frozenset[str], timer: str
) -> None:
    config = drive(model, _normal(model, readings), (100.0, ev("service_stop", 0, PE)))
    assert timer_names(config) == {(timer, 0)}
    assert deadline(model, config) == 190
    failed = drive(model, config, (190.0, "fire"))
    assert states(failed)[0][0] == "failing_over"


def test_the_set_reading_counts_overlapping_outages_as_one(model: Model) -> None:
    # PE down at 100, XCP at 150, PE back at 160: some service has been down since 100.
    config = drive(
        model,
        _normal(model, frozenset()),
        (100.0, ev("service_stop", 0, PE)),
        (150.0, ev("service_stop", 0, XCP)),
        (160.0, ev("service_start", 0, PE)),
    )
    assert deadline(model, config) == 190


def test_the_per_service_reading_waits_for_one_service_down_throughout(model: Model) -> None:
    config = drive(
        model,
        _normal(model, PER_SERVICE),
        (100.0, ev("service_stop", 0, PE)),
        (150.0, ev("service_stop", 0, XCP)),
    )
    # Both services' own timers run; the first one down fires first.
    assert timer_names(config) == {
        (f"one_critical_service_down.{PE}", 0),
        (f"one_critical_service_down.{XCP}", 0),
    }
    assert deadline(model, config) == 190
    config = drive(model, config, (160.0, ev("service_start", 0, PE)))
    assert timer_names(config) == {(f"one_critical_service_down.{XCP}", 0)}
    assert deadline(model, config) == 240


def test_outages_that_only_overlap_never_fail_over_by_the_per_service_reading(
    model: Model,
) -> None:
    script = (
        (100.0, ev("service_stop", 0, PE)),
        (140.0, ev("service_stop", 0, XCP)),
        (150.0, ev("service_start", 0, PE)),
        (200.0, ev("service_start", 0, XCP)),
    )
    per_service = drive(model, _normal(model, PER_SERVICE), *script)
    assert timer_names(per_service) == set()
    assert states(per_service)[0][0] == "normal"
    with pytest.raises(ClockError):  # by the set reading the failover was due at 190
        drive(model, _normal(model, frozenset()), *script)


def test_a_service_that_is_not_monitored_runs_no_timer_by_either_reading(model: Model) -> None:
    for readings in (frozenset(), PER_SERVICE):
        config = drive(
            model, _normal(model, readings), (100.0, ev("service_stop", 0, "message_archiver"))
        )
        assert timer_names(config) == set()


# -- the oracle: a trace conforms if either reading explains it -------------------------------------
def _oracle(spec: Spec, *, lazy: bool = True) -> Oracle:
    oracle = Oracle(spec, ["pub", "sub"], initial="normal", lazy=lazy)
    oracle.event(100, "service_stop", node="pub", service=PE)
    oracle.event(150, "service_stop", node="pub", service=XCP)
    oracle.event(160, "service_start", node="pub", service=PE)
    return oracle


@pytest.mark.parametrize(
    ("t", "state"),
    [(195, "Failing Over"), (195, "Normal"), (239, "Normal"), (241, "Failing Over")],
)
@pytest.mark.parametrize("lazy", [True, False])
def test_the_oracle_accepts_the_failover_of_either_reading(
    spec: Spec, t: int, state: str, lazy: bool
) -> None:
    oracle = _oracle(spec, lazy=lazy)
    oracle.observe(t, nodes={"pub": {"state": state}})
    assert oracle.candidates


def test_open_readings_stand_for_every_answer_until_a_step_needs_one(spec: Spec) -> None:
    """Lazy and eager oracles keep the same configurations: the lazy one's candidates, each
    open reading answered both ways, are the eager one's."""
    lazy, eager = _oracle(spec), _oracle(spec, lazy=False)
    for oracle in (lazy, eager):
        oracle.observe(195, nodes={"pub": {"state": "Normal"}})
    assert lazy.answers() == eager.answers()
    answered = set(lazy.candidates)
    for reading in spec.readings:
        answered = set(answering(answered, reading))
    # With no users the eager oracle leaves out the answers only whom a node serves tells apart.
    hosting = lazy.model.hosting_readings
    assert {c for c in answered if c.config.nodes[0].readings.isdisjoint(hosting)} == set(
        eager.candidates
    )


def test_the_oracle_keeps_one_reading_per_behaviour(spec: Spec) -> None:
    # Still Normal at 195 rules the set reading out; the per-service one fails over at 240.
    oracle = _oracle(spec)
    oracle.observe(195, nodes={"pub": {"state": "Normal"}})
    assert {c.config.nodes[0].readings & PER_SERVICE for c in oracle.candidates} == {PER_SERVICE}
    with pytest.raises(ConformanceError):
        oracle.observe(241, nodes={"pub": {"state": "Normal"}})


def test_a_failover_between_the_readings_deadlines_conforms_to_neither(spec: Spec) -> None:
    # Normal after the set reading's deadline, failing over before the per-service one's.
    oracle = _oracle(spec)
    oracle.observe(195, nodes={"pub": {"state": "Normal"}})
    with pytest.raises(ConformanceError):
        oracle.observe(215, nodes={"pub": {"state": "Failing Over"}})


# -- a session while its node's Presence Engine is stopped -------------------------------------------
def _start(model: Model, start: str, readings: frozenset[str]) -> Config:
    return initial_config(model, start, (1, 1), readings)


@pytest.mark.parametrize("start", ["normal", "ha_disabled"])
def test_by_default_the_session_outlives_a_stopped_presence_engine(
    model: Model, start: str
) -> None:
    config = drive(model, _start(model, start, frozenset()), (100.0, ev("service_stop", 0, PE)))
    assert sessions_on(config, 0, home=0) == 1 and waiting(config, 0) == 0


def test_by_the_other_reading_the_session_ends_and_the_client_waits(model: Model) -> None:
    config = drive(model, _start(model, "normal", ENDS), (100.0, ev("service_stop", 0, PE)))
    assert sessions_on(config, 0) == 0 and sessions_on(config, 1, home=1) == 1
    assert {c.key for c in config.users if c.home == 0} == {(0, NO_NODE, 100.0)}
    # The failover at 190 ends no session of node 0's users: none was left. By 250 (the
    # re-login window opens at 100 + 120) the backup serves them, and the client lands there.
    config = drive(model, config, (190.0, "fire"), (250.0, relogin((0, NO_NODE, 100.0))))
    assert states(config)[1][0] in ("taking_over", "backup")
    assert sessions_on(config, 1, home=0) == 1


def test_with_ha_off_the_client_returns_home_once_the_engine_runs_again(model: Model) -> None:
    config = drive(
        model,
        _start(model, "ha_disabled", ENDS),
        (100.0, ev("service_stop", 0, PE)),
        (150.0, ev("service_start", 0, PE)),
        (230.0, relogin((0, NO_NODE, 100.0))),
    )
    assert sessions_on(config, 0, home=0) == 1 and waiting(config, 0) == 0


def test_a_node_whose_engine_is_stopped_takes_no_sign_in(model: Model) -> None:
    config = drive(
        model,
        _start(model, "ha_disabled", ENDS),
        (100.0, ev("service_stop", 0, PE)),
        (230.0, relogin((0, NO_NODE, 100.0))),  # still stopped: the client stops trying
    )
    assert stopped(config, 0) == 1  # still signed in: a sign-in, not a re-login, takes it back
    assert {c.key for c in config.users if c.home == 0} == {(0, NO_NODE, NOT_WAITING)}
    config = drive(model, config, (300.0, ev("login", user=(0, NO_NODE, NOT_WAITING))))
    assert sessions_on(config, 0) == 0
    config = drive(
        model,
        config,
        (310.0, ev("service_start", 0, PE)),
        (320.0, ev("login", user=(0, NO_NODE, NOT_WAITING))),
    )
    assert sessions_on(config, 0, home=0) == 1


@pytest.mark.parametrize(("active", "readings"), [(1, frozenset()), (0, ENDS)])
def test_the_oracle_accepts_active_users_by_either_reading(
    spec: Spec, active: int, readings: frozenset[str]
) -> None:
    oracle = Oracle(spec, ["pub", "sub"], initial="ha_disabled", users={"alice": "pub"})
    oracle.event(100, "service_stop", node="pub", service=PE)
    oracle.observe(110, nodes={"pub": {"active_users": active}})
    kept = {c.config.nodes[0].readings & ENDS for c in oracle.candidates}
    assert kept == {readings}
