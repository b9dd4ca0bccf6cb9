"""Readings: questions Cisco's text leaves open, each answered once for a whole behaviour.

Three readings so far. S1's Critical Service Delay - "the duration in seconds that a critical
service can be down before failover is initiated": the delay of the set of monitored services
(some service down throughout) or of one service (that service down throughout). The trace
contract's session, "the user's Presence Engine session": does it outlive a stopped Presence
Engine, or end with it? And S1's Initialization Keep Alive Timeout, "the duration in seconds
that the heartbeat can be lost with the peer during initialization": does an SRM restarted in
the middle of a move (reason Initialization, P8, P9) count it, or the Keep Alive Timeout? Both
answers of each are allowed: the core runs the one the configuration's nodes answer, the oracle
keeps a behaviour under each answer - leaving a reading open until some step needs it - and a
trace conforms if one explains it.
"""

from __future__ import annotations

import pytest
from conftest import drive, ev, relogin, sessions_on, states, stopped, timer_names, waiting

from hasm.core.config import NO_NODE, NOT_WAITING, Config, Fire
from hasm.core.model import Model
from hasm.core.semantics import advance, deadline, initial_config, initial_configs
from hasm.errors import ClockError, ConformanceError
from hasm.oracle.candidates import answering
from hasm.oracle.oracle import Oracle
from hasm.spec.model import Spec

PER_SERVICE = frozenset({"critical_delay_per_service"})
ENDS = frozenset({"session_ends_with_presence_engine"})
RESTARTED = frozenset({"restarted_srm_initialization_timeout"})
PE, XCP = "presence_engine", "xcp_router"


def _normal(model: Model, readings: frozenset[str]) -> Config:
    return initial_config(model, "normal", (1, 1), readings)


def test_every_answer_is_a_start_and_none_is_the_default(model: Model) -> None:
    starts = initial_configs(model, "normal", (1, 1))
    assert [c.nodes[0].readings for c in starts] == [
        frozenset(),
        RESTARTED,
        ENDS,
        ENDS | RESTARTED,
        PER_SERVICE,
        PER_SERVICE | RESTARTED,
        PER_SERVICE | ENDS,
        PER_SERVICE | ENDS | RESTARTED,
    ]
    assert all(n.readings == c.nodes[0].readings for c in starts for n in c.nodes)
    # With no users, whom a node serves changes nothing: that reading keeps its default.
    assert model.hosting_readings == ENDS
    alone = initial_configs(model, "normal", (0, 0))
    assert [c.nodes[0].readings for c in alone] == [
        frozenset(),
        RESTARTED,
        PER_SERVICE,
        PER_SERVICE | RESTARTED,
    ]
    assert initial_config(model, "normal", (1, 1)) == starts[0]


def test_a_lazy_start_is_one_configuration_that_leaves_every_reading_open(model: Model) -> None:
    (start,) = initial_configs(model, "normal", (1, 1), lazy=True)
    assert all(n.undecided == frozenset(model.spec.readings) for n in start.nodes)
    assert all(n.readings == frozenset() for n in start.nodes)


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


# -- an SRM restarted in the middle of a move ----------------------------------------------------------
def _restarted_while_taking_over(model: Model, readings: frozenset[str]) -> Config:
    """P8: a manual failover of pub; sub's SRM restarts while sub is taking over (Taking Over /
    Initialization); then the link fails, at t=3."""
    config = drive(
        model,
        initial_config(model, "normal", (1, 1), readings),
        (0.0, ev("failover", 0)),
        (1.0, ev("srm_stop", 1)),
        (2.0, ev("srm_start", 1)),
    )
    assert states(config)[1] == ("taking_over", "initialization")
    return drive(model, config, (3.0, ev("link_down")))


@pytest.mark.parametrize(
    ("readings", "timer", "window"),
    [
        (frozenset(), "heartbeat_loss", (3 + 60 - 15, 3 + 60 + 15)),
        (RESTARTED, "initialization_heartbeat_loss", (3 + 120 - 15, 3 + 120 + 15)),
    ],
)
def test_a_restarted_srm_counts_the_timeout_of_the_reading(
    model: Model, readings: frozenset[str], timer: str, window: tuple[int, int]
) -> None:
    config = _restarted_while_taking_over(model, readings)
    (running,) = [t for t in config.timers if t.node == 1]
    assert (running.name, running.earliest, running.latest) == (timer, *window)
    # Either way the move fails on the node when the timeout runs out.
    failed = drive(model, advance(model, config, 78.0), Fire("heartbeat_loss", 0))
    failed = drive(model, advance(model, failed, window[1]), Fire(timer, 1))
    assert states(failed)[1] == ("failed", "take_over_users_failed")


def test_the_reading_changes_nothing_where_the_srm_was_not_restarted(model: Model) -> None:
    for readings in (frozenset(), RESTARTED):
        config = drive(
            model,
            initial_config(model, "normal", (1, 1), readings),
            (0.0, ev("failover", 0)),
            (3.0, ev("link_down")),
        )
        assert timer_names(config) == {("heartbeat_loss", 0), ("heartbeat_loss", 1)}


def _restarted_trace(spec: Spec, *, lazy: bool = True) -> Oracle:
    oracle = Oracle(spec, ["pub", "sub"], initial="normal", lazy=lazy)
    oracle.event(0, "failover", node="pub")
    oracle.event(1, "srm_stop", node="sub")
    oracle.event(2, "srm_start", node="sub")
    oracle.event(3, "link_down")
    return oracle


@pytest.mark.parametrize("lazy", [True, False])
@pytest.mark.parametrize(
    ("t", "state", "reading"),
    [
        (100, "Running in Failed Mode", frozenset()),  # the Keep Alive Timeout ran out by 78
        (100, "Taking Over", RESTARTED),  # the initialization one not before 108
        (137, "Taking Over", RESTARTED),
    ],
)
def test_the_oracle_accepts_a_restarted_srm_by_either_reading(
    spec: Spec, lazy: bool, t: int, state: str, reading: frozenset[str]
) -> None:
    oracle = _restarted_trace(spec, lazy=lazy)
    oracle.observe(t, nodes={"sub": {"state": state}})
    assert {c.config.nodes[0].readings & RESTARTED for c in oracle.candidates} == {reading}


def test_a_restarted_srm_still_moving_after_both_timeouts_conforms_to_neither(spec: Spec) -> None:
    oracle = _restarted_trace(spec)
    with pytest.raises(ConformanceError):
        oracle.observe(139, nodes={"sub": {"state": "Taking Over"}})


def test_the_oracle_answers_the_reading_only_where_a_step_needs_it(spec: Spec) -> None:
    """Until sub's SRM restarts mid-move and loses its peer, no step depends on the reading:
    one candidate stands for both answers; the link's failure is the first that does."""
    oracle = Oracle(spec, ["pub", "sub"], initial="normal")
    oracle.event(0, "failover", node="pub")
    oracle.event(1, "srm_stop", node="sub")
    oracle.event(2, "srm_start", node="sub")
    assert all(c.config.nodes[0].undecided >= RESTARTED for c in oracle.candidates)
    oracle.event(3, "link_down")
    assert not any(RESTARTED & c.config.nodes[0].undecided for c in oracle.candidates)
    assert {c.config.nodes[0].readings & RESTARTED for c in oracle.candidates} == {
        frozenset(),
        RESTARTED,
    }
