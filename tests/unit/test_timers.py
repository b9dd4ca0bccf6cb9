"""Every timer of the spec at its boundaries: just before its window opens, when it opens, when it
closes and just after; its cancellation when its condition stops holding; its bounds under
overridden parameters; and the simulator's draws inside the windows, seed by seed.

A timer case starts one timer (a node timer, or the clients' re-login wait) from a configuration
where nothing else is due earlier, and names the input that the timer's expiry allows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pytest
from conftest import (
    cohorts,
    drive,
    ev,
    fire,
    make_config,
    model_with,
    node,
    only,
    relogin,
    states,
    step,
    timer_names,
)

from hasm.core.config import NO_NODE, NOT_WAITING, SIGNED_OUT, Config, Fire, Relogin
from hasm.core.model import Model
from hasm.core.semantics import advance, apply, deadline, enabled, forced, initial_config, offered
from hasm.errors import ClockError, NotEnabled
from hasm.sim.simulator import Simulator
from hasm.spec.model import ParamValue, Spec
from hasm.trace.records import Record

PE = "presence_engine"
EPS = 0.001  # "just before" and "just after": the simulator's own time grid


@dataclass(frozen=True)
class Started:
    """A timer just started at `start` in `config`; `due` is the input its expiry allows."""

    config: Config
    due: Fire | Relogin
    start: float


def _critical(m: Model) -> Started:
    config = drive(m, initial_config(m, "normal", (2, 1)), (100.0, ev("service_stop", 0, PE)))
    return Started(config, fire("critical_service_down", 0), 100.0)


PER_SERVICE = frozenset({"critical_delay_per_service"})  # the Critical Service Delay, per service
ONE_PE = f"one_critical_service_down.{PE}"


def _one_critical(m: Model) -> Started:
    start = initial_config(m, "normal", (2, 1), PER_SERVICE)
    config = drive(m, start, (100.0, ev("service_stop", 0, PE)))
    return Started(config, fire(ONE_PE, 0), 100.0)


def _heartbeat(m: Model) -> Started:
    config = drive(m, initial_config(m, "normal", (2, 1)), (100.0, ev("node_down", 0)))
    return Started(config, fire("heartbeat_loss", 1), 100.0)


def _initialization_heartbeat(m: Model) -> Started:
    # node 1 is down; node 0's SRM restarts at t=100 and initializes without hearing its peer
    config = drive(
        m,
        initial_config(m, "normal", (2, 0)),
        (100.0, ev("node_down", 1)),
        ev("srm_stop", 0),
        ev("srm_start", 0),
    )
    assert states(config)[0] == ("initializing", "initialization")
    return Started(config, fire("initialization_heartbeat_loss", 0), 100.0)


def _initialization(m: Model) -> Started:
    config = drive(m, initial_config(m, "ha_disabled", (2, 1)), (100.0, ev("ha_enable")))
    return Started(config, fire("initialization", 0), 100.0)


def _user_move(m: Model) -> Started:
    config = drive(m, initial_config(m, "normal", (0, 1)), (100.0, ev("failover", 0)))
    return Started(config, fire("user_move", 1), 100.0)


def _automatic_fallback(m: Model) -> Started:
    # node 0 failed over with its presence engine down; the engine starts again at t=0
    config = make_config(
        node("failed_over_csnr", "critical_service_down", stopped=[PE]),
        node("backup", "critical_service_down"),
        users=cohorts((0, 1, NOT_WAITING, 2), (1, 1, NOT_WAITING, 1)),
    )
    config = drive(m, config, ev("service_start", 0, PE))
    return Started(config, fire("automatic_fallback", 0), 0.0)


def _client_relogin(m: Model) -> Started:
    # the HA event at t=100 ends node 0's session; the failover completes at t=101
    config = drive(
        m,
        initial_config(m, "normal", (1, 1)),
        (100.0, ev("failover", 0)),
        (101.0, fire("user_move", 1)),
    )
    return Started(config, relogin((0, NO_NODE, 100.0)), 100.0)


STARTS: dict[str, Callable[[Model], Started]] = {
    "critical_service_down": _critical,
    ONE_PE: _one_critical,
    "heartbeat_loss": _heartbeat,
    "initialization_heartbeat_loss": _initialization_heartbeat,
    "initialization": _initialization,
    "user_move": _user_move,
    "automatic_fallback": _automatic_fallback,
    "client_relogin": _client_relogin,
}

# Parameters a timer needs to run at all.
NEEDS: dict[str, Mapping[str, ParamValue]] = {
    "automatic_fallback": {"enable_automatic_fallback": True}
}

# Each timer's window after its start, with the spec's default parameters.
DEFAULT_WINDOWS: dict[str, tuple[float, float]] = {
    "critical_service_down": (90, 90),
    ONE_PE: (90, 90),
    "heartbeat_loss": (45, 75),
    "initialization_heartbeat_loss": (105, 135),
    "initialization": (1, 60),
    "user_move": (1, 60),
    "automatic_fallback": (1800, 1800),
    "client_relogin": (120, 537),
}

# Overridden parameters and the windows they give.
OVERRIDES: list[tuple[str, Mapping[str, ParamValue], tuple[float, float]]] = [
    ("heartbeat_loss", {"keep_alive_timeout_s": 90}, (75, 105)),
    ("heartbeat_loss", {"keep_alive_timeout_s": 90, "keep_alive_interval_s": 30}, (60, 120)),
    ("heartbeat_loss", {"keep_alive_interval_s": 60}, (0, 120)),
    ("initialization_heartbeat_loss", {"initialization_keep_alive_timeout_s": 60}, (45, 75)),
    ("critical_service_down", {"critical_service_down_delay_s": 120}, (120, 120)),
    (ONE_PE, {"critical_service_down_delay_s": 120}, (120, 120)),
    ("initialization", {"transition_min_s": 5, "transition_max_s": 10}, (5, 10)),
    ("user_move", {"transition_min_s": 30, "transition_max_s": 30}, (30, 30)),
    ("automatic_fallback", {"automatic_fallback_delay_s": 600}, (600, 600)),
    (
        "client_relogin",
        {"client_relogin_lower_limit_s": 10, "client_relogin_upper_limit_s": 20},
        (10, 20),
    ),
]


def _model(spec: Spec, timer: str, overrides: Mapping[str, ParamValue] | None = None) -> Model:
    return model_with(spec, **{**NEEDS.get(timer, {}), **(overrides or {})})


def _can_take(m: Model, config: Config, inp: Fire | Relogin) -> bool:
    return inp in enabled(m, config)


# -- the table covers the spec ------------------------------------------------------------------
def test_every_timer_has_a_case(spec: Spec) -> None:
    # A per-service entry's timers are alike but for their service: one stands for them all.
    cased = {spec.timers[name].family for name in STARTS}
    assert cased == {t.family for t in spec.timers.values()}
    assert set(STARTS) == set(DEFAULT_WINDOWS)


# -- boundaries with the defaults and with overrides ----------------------------------------------
CASES = [
    pytest.param(name, {}, window, id=f"{name}-defaults")
    for name, window in DEFAULT_WINDOWS.items()
] + [
    pytest.param(name, over, window, id=f"{name}-" + "-".join(f"{k}={v}" for k, v in over.items()))
    for name, over, window in OVERRIDES
]


@pytest.mark.parametrize(("timer", "overrides", "window"), CASES)
def test_deadline_is_the_latest_bound(
    spec: Spec, timer: str, overrides: Mapping[str, ParamValue], window: tuple[float, float]
) -> None:
    m = _model(spec, timer, overrides)
    s = STARTS[timer](m)
    assert deadline(m, s.config) == s.start + window[1]
    if isinstance(s.due, Fire):
        running = s.config.timer(s.due.timer, s.due.node)
        assert running is not None
        assert (running.since, running.earliest, running.latest) == (
            s.start,
            s.start + window[0],
            s.start + window[1],
        )


@pytest.mark.parametrize(("timer", "overrides", "window"), CASES)
def test_enabled_from_the_earliest_bound(
    spec: Spec, timer: str, overrides: Mapping[str, ParamValue], window: tuple[float, float]
) -> None:
    m = _model(spec, timer, overrides)
    s = STARTS[timer](m)
    earliest = s.start + window[0]
    if earliest - EPS >= s.start:
        before = advance(m, s.config, earliest - EPS)
        assert not _can_take(m, before, s.due)
        with pytest.raises(NotEnabled):
            apply(m, before, s.due)
    at = advance(m, s.config, earliest)
    assert _can_take(m, at, s.due)
    assert apply(m, at, s.due)


@pytest.mark.parametrize(("timer", "overrides", "window"), CASES)
def test_forced_at_the_latest_bound(
    spec: Spec, timer: str, overrides: Mapping[str, ParamValue], window: tuple[float, float]
) -> None:
    m = _model(spec, timer, overrides)
    s = STARTS[timer](m)
    latest = s.start + window[1]
    with pytest.raises(ClockError):
        advance(m, s.config, latest + EPS)
    if latest - EPS >= s.start:
        assert s.due not in forced(m, advance(m, s.config, latest - EPS))
    at = advance(m, s.config, latest)
    assert s.due in forced(m, at)
    assert _can_take(m, at, s.due)
    # once it has fired, time may pass again
    after = only(apply(m, at, s.due)).config
    assert (deadline(m, after) or float("inf")) > latest


def test_clock_cannot_go_back(model: Model) -> None:
    s = _critical(model)
    with pytest.raises(ClockError):
        advance(model, s.config, 99.0)


# -- cancellation --------------------------------------------------------------------------------------
def test_service_start_cancels_the_critical_service_delay(model: Model) -> None:
    s = _critical(model)
    back = step(model, s.config, ev("service_start", 0, PE), at=190.0 - EPS)
    assert [(t.name, t.node) for t in back.cancelled] == [("critical_service_down", 0)]
    assert back.config.timers == ()
    later = advance(model, back.config, 190.0)
    with pytest.raises(NotEnabled):
        apply(model, later, fire("critical_service_down", 0))
    later = advance(model, later, 10_000.0)  # nothing is due: no failover ever
    assert states(later) == (("normal", "normal"), ("normal", "normal"))


def test_a_new_failure_restarts_the_critical_service_delay(model: Model) -> None:
    s = _critical(model)
    config = drive(
        model, s.config, (150.0, ev("service_start", 0, PE)), (160.0, ev("service_stop", 0, PE))
    )
    assert deadline(model, config) == 250.0
    assert fire("critical_service_down", 0) not in enabled(model, advance(model, config, 190.0))


def test_a_second_stopped_service_does_not_restart_the_delay(model: Model) -> None:
    s = _critical(model)
    config = drive(model, s.config, (150.0, ev("service_stop", 0, "xcp_router")))
    assert deadline(model, config) == 190.0
    # the first service back is not enough: the delay runs while any monitored service is down
    config = drive(model, config, (160.0, ev("service_start", 0, PE)))
    assert deadline(model, config) == 190.0


def test_unmonitored_service_or_disabled_ha_starts_no_delay(model: Model) -> None:
    normal = initial_config(model, "normal", (1, 1))
    assert drive(model, normal, ev("service_stop", 0, "sync_agent")).timers == ()
    disabled = initial_config(model, "ha_disabled", (1, 1))
    assert drive(model, disabled, ev("service_stop", 0, PE)).timers == ()


def test_xcp_authentication_is_monitored_only_when_enabled(spec: Spec) -> None:
    for enabled_, timers in ((False, set()), (True, {("critical_service_down", 0)})):
        m = model_with(spec, enable_xcp_authentication_monitoring=enabled_)
        config = drive(
            m, initial_config(m, "normal", (1, 1)), ev("service_stop", 0, "xcp_authentication")
        )
        assert timer_names(config) == timers


def test_peer_back_cancels_the_heartbeat_loss(model: Model) -> None:
    s = _heartbeat(model)
    back = step(model, s.config, ev("node_up", 0), at=160.0 - EPS)
    assert ("heartbeat_loss", 1) in {(t.name, t.node) for t in back.cancelled}
    assert ("heartbeat_loss", 1) not in timer_names(back.config)
    assert states(back.config)[1] == ("normal", "normal")


def test_link_back_cancels_the_heartbeat_loss_on_both_nodes(model: Model) -> None:
    config = drive(model, initial_config(model, "normal", (1, 1)), (100.0, ev("link_down")))
    assert timer_names(config) == {("heartbeat_loss", 0), ("heartbeat_loss", 1)}
    back = step(model, config, ev("link_up"), at=145.0)
    assert back.config.timers == ()
    assert len(back.cancelled) == 2


def test_peer_back_cancels_the_initialization_heartbeat_loss(model: Model) -> None:
    s = _initialization_heartbeat(model)
    back = step(model, s.config, ev("node_up", 1), at=220.0 - EPS)
    assert ("initialization_heartbeat_loss", 0) in {(t.name, t.node) for t in back.cancelled}
    # both nodes now talk: the initialization proper runs on both
    assert timer_names(back.config) == {("initialization", 0), ("initialization", 1)}


def test_a_node_booting_into_a_partition_counts_the_loss_from_its_srm_start(model: Model) -> None:
    """S1: the Initialization Keep Alive Timeout is how long 'the heartbeat can be lost with the
    peer during initialization'; an SRM that never heard its peer lost it at its start
    (A-initialization-heartbeat): node 0 goes down, node 1 takes over, the link fails, node 0
    boots at t=300."""
    config = drive(
        model,
        initial_config(model, "normal", (2, 1)),
        (100.0, ev("node_down", 0)),
        (175.0, "fire"),
        (200.0, ev("link_down")),
        (300.0, ev("node_up", 0)),
    )
    assert states(config)[0] == ("initializing", "initialization")
    running = config.timer("initialization_heartbeat_loss", 0)
    assert running is not None
    assert (running.since, running.earliest, running.latest) == (300.0, 405.0, 435.0)


def test_ha_enabled_across_a_failed_link_counts_the_loss_from_the_start(model: Model) -> None:
    config = drive(
        model,
        initial_config(model, "ha_disabled", (1, 1)),
        (50.0, ev("link_down")),
        (100.0, ev("ha_enable")),
    )
    assert {(t.name, t.node, t.since, t.latest) for t in config.timers} == {
        ("initialization_heartbeat_loss", 0, 100.0, 235.0),
        ("initialization_heartbeat_loss", 1, 100.0, 235.0),
    }


def test_link_loss_cancels_the_initialization(model: Model) -> None:
    s = _initialization(model)
    cut = step(model, s.config, ev("link_down"), at=150.0)
    assert {(t.name, t.node) for t in cut.cancelled} == {
        ("initialization", 0),
        ("initialization", 1),
    }
    assert {(t.name, t.earliest, t.latest) for t in cut.config.timers} == {
        ("initialization_heartbeat_loss", 255.0, 285.0)
    }


def test_link_loss_cancels_the_user_move(model: Model) -> None:
    s = _user_move(model)
    cut = step(model, s.config, ev("link_down"), at=130.0)
    assert [(t.name, t.node) for t in cut.cancelled] == [("user_move", 1)]
    assert timer_names(cut.config) == {("heartbeat_loss", 0), ("heartbeat_loss", 1)}


def test_a_new_failure_restarts_the_automatic_fallback_count(spec: Spec) -> None:
    m = _model(spec, "automatic_fallback")
    s = _automatic_fallback(m)
    config = drive(m, s.config, (1000.0, ev("service_stop", 0, PE)), ev("service_start", 0, PE))
    running = config.timer("automatic_fallback", 0)
    assert running is not None and (running.since, running.latest) == (1000.0, 2800.0)
    assert deadline(m, config) == 2800.0
    at_1800 = advance(m, config, 1800.0)
    assert fire("automatic_fallback", 0) not in enabled(m, at_1800)
    with pytest.raises(NotEnabled):
        apply(m, at_1800, fire("automatic_fallback", 0))
    fallback = step(m, at_1800, fire("automatic_fallback", 0), at=2800.0)
    assert fallback.rule == "automatic_fallback"


def test_an_srm_restart_restarts_the_automatic_fallback_count(spec: Spec) -> None:
    m = _model(spec, "automatic_fallback")
    s = _automatic_fallback(m)
    config = drive(m, s.config, (1000.0, ev("srm_stop", 0)))
    assert config.timers == ()
    config = drive(m, config, (1200.0, ev("srm_start", 0)))
    assert deadline(m, config) == 3000.0


def test_automatic_fallback_does_not_run_when_disabled(model: Model) -> None:
    s = _automatic_fallback(model)
    assert s.config.timers == ()
    assert deadline(model, s.config) is None
    # manual fallback stays offered; nothing happens by itself
    assert advance(model, s.config, 100_000.0).nodes == s.config.nodes


def test_automatic_fallback_needs_the_peer_in_backup_mode(spec: Spec) -> None:
    m = _model(spec, "automatic_fallback")
    s = _automatic_fallback(m)
    # node 1 reboots: it is no longer heard, so the count stops
    config = drive(m, s.config, (500.0, ev("node_down", 1)))
    assert "automatic_fallback" not in {t.name for t in config.timers}


def test_logout_ends_a_clients_wait(model: Model) -> None:
    s = _client_relogin(model)
    out = step(model, s.config, ev("logout", user=(0, NO_NODE, 100.0)), at=200.0)
    assert out.config.count((0, NO_NODE, 100.0)) == 0
    assert out.config.count((0, NO_NODE, SIGNED_OUT)) == 1
    assert deadline(model, out.config) is None
    with pytest.raises(NotEnabled):
        apply(model, advance(model, out.config, 220.0), relogin((0, NO_NODE, 100.0)))


def test_relogin_with_no_serving_node_stops_the_client(model: Model) -> None:
    # both nodes failed: a client whose wait is over finds nobody to log in to
    config = make_config(
        node("failed", "critical_service_down"),
        node("failed", "critical_service_down"),
        users=cohorts((0, NO_NODE, 0.0, 1)),
        now=0.0,
    )
    s = step(model, config, relogin((0, NO_NODE, 0.0)), at=537.0)
    assert s.config.count((0, NO_NODE, NOT_WAITING)) == 1  # signed in, stopped (not signed out)
    assert deadline(model, s.config) is None


# -- once a spec gap: every timer that fires here has a transition to take ------------
def test_initialization_next_to_a_stalled_failover_settles(model: Model) -> None:
    config = drive(
        model,
        initial_config(model, "normal", (1, 1)),
        (100.0, ev("failover", 0)),
        ev("link_down"),
        (145.0, fire("heartbeat_loss", 1)),  # node 1's take-over fails: Running in Failed Mode
        ev("link_up"),
        ev("srm_stop", 1),
        ev("srm_start", 1),  # node 1 restarts SRM and initializes next to a Failing Over node
    )
    assert states(config) == (
        ("failing_over", "on_admin_request"),
        ("initializing", "initialization"),
    )
    assert {o.name for o in offered(model, config)} == {"ha_disable"}
    s = step(model, config, fire("initialization", 1), at=config.now + 60.0)
    assert s.rule is not None, "the initialization timer fired and no transition took it"


# -- the simulator's draws --------------------------------------------------------------------------------
NODES = ("IMPPub", "IMPSub")
USERS = {"alice": "IMPPub", "bob": "IMPPub", "carol": "IMPPub", "dave": "IMPSub", "erin": "IMPPub"}


def _story(model: Model, seed: int) -> list[Record]:
    """A critical service failover, a restart of the service, and a manual fallback."""
    sim = Simulator(model, NODES, USERS, "normal", seed)
    records = sim.run_until(100.0)
    records.append(sim.event("service_stop", node="IMPPub", service=PE))
    records += sim.run_until(900.0)
    records.append(sim.event("service_start", node="IMPPub", service=PE))
    records += sim.run_until(1000.0)
    records.append(sim.event("fallback", node="IMPPub"))
    records += sim.run_until(2400.0)
    return records


def _relogins(records: list[Record]) -> list[tuple[str | None, float]]:
    return [(r.user, r.time) for r in records if isinstance(r.step.input, Relogin)]


def test_same_seed_same_records(model: Model) -> None:
    first, second = _story(model, 7), _story(model, 7)
    assert first == second
    assert len(_relogins(first)) == 8  # four users out to the backup and four back home


def test_different_seeds_different_relogin_times(model: Model) -> None:
    runs = [_relogins(_story(model, seed)) for seed in range(5)]
    assert all(len(r) == 8 for r in runs)
    assert len({tuple(r) for r in runs}) == 5


def test_story_ends_with_everyone_home(model: Model) -> None:
    records = _story(model, 3)
    final = records[-1].step.config
    assert states(final) == (("normal", "normal"), ("normal", "normal"))
    assert final.users == initial_config(model, "normal", (4, 1)).users


SEEDS = range(150)


def _fire_times(records: list[Record], timer: str) -> list[float]:
    return [r.time for r in records if r.step.fired is not None and r.step.fired.name == timer]


@pytest.mark.parametrize(
    ("timer", "overrides", "window"),
    [
        ("heartbeat_loss", {}, (145.0, 175.0)),
        ("heartbeat_loss", {"keep_alive_timeout_s": 90}, (175.0, 205.0)),
        ("user_move", {}, (191.0, 250.0)),
    ],
)
def test_drawn_firing_times_lie_in_the_window(
    spec: Spec, timer: str, overrides: Mapping[str, ParamValue], window: tuple[float, float]
) -> None:
    m = model_with(spec, **overrides)
    times = []
    for seed in SEEDS:
        sim = Simulator(m, NODES, USERS, "normal", seed)
        sim.run_until(100.0)
        if timer == "heartbeat_loss":
            sim.event("node_down", node="IMPPub")
        else:
            sim.event("service_stop", node="IMPPub", service=PE)
        (at,) = _fire_times(sim.run_until(400.0), timer)
        times.append(at)
    assert all(window[0] <= t <= window[1] for t in times), (min(times), max(times))
    assert len(set(times)) > len(times) // 2  # the draws spread over the window


def test_drawn_initialization_and_relogin_times_lie_in_their_windows(model: Model) -> None:
    init_times, relogin_times = [], []
    for seed in SEEDS:
        sim = Simulator(model, NODES, USERS, "ha_disabled", seed)
        sim.run_until(50.0)
        sim.event("ha_enable")
        records = sim.run_until(200.0)
        init_times += _fire_times(records, "initialization")
        sim.event("failover", node="IMPSub")  # dave waits to re-login from t=200
        relogin_times += [t for _, t in _relogins(sim.run_until(1000.0))]
    assert len(init_times) == len(SEEDS)  # the first one settles both nodes
    assert all(51.0 <= t <= 110.0 for t in init_times)
    assert len(relogin_times) == len(SEEDS)
    assert all(320.0 <= t <= 737.0 for t in relogin_times)
    assert len(set(relogin_times)) > len(SEEDS) // 2
