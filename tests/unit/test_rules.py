"""One test per transition of the spec: its trigger fires from a configuration where its guard
holds, and the successor shows the states, reasons, sessions and timers the rule stands for.

`CASES` is keyed by transition id; `test_every_transition_has_a_case` fails when the spec gains
a rule without a case here. Negative tests check that an administrator action the spec does not
offer has no successor, and that an environment event that changes nothing is a step with
`changed=False`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from conftest import (
    at_home,
    cohorts,
    drive,
    due,
    ev,
    fire,
    first_reading,
    make_config,
    model_with,
    node,
    only,
    relogin,
    sessions_on,
    signed_out,
    states,
    step,
    stopped,
    timer_names,
    users_by_home,
    waiting,
)

from hasm.core.config import NO_NODE, NOT_WAITING, SIGNED_OUT, Config, Input, Move, Relogin, Step
from hasm.core.model import Model
from hasm.core.semantics import advance, apply, deadline, enabled, initial_config, offered
from hasm.core.views import documented_pairs, node_views
from hasm.errors import NotEnabled
from hasm.explorer.invariants import check_step
from hasm.spec.model import Spec

PE = "presence_engine"  # a monitored service other than the database
DB = "database"
XCP = "xcp_router"

Pair = tuple[tuple[str, str], tuple[str, str]]


@dataclass(frozen=True)
class Case:
    """A rule's trigger about to fire: the model, the configuration, the input, the node that
    plays `node`, both nodes' (state, reason) after, and any further consequence to check."""

    model: Model
    before: Config
    input: Input
    node: int
    after: Pair
    check: Callable[[Model, Config, Step], None] | None = None


CASES: dict[str, Callable[[Spec], Case]] = {}


def case(rule: str) -> Callable[[Callable[[Spec], Case]], Callable[[Spec], Case]]:
    """Register the case of transition `rule`."""

    def register(build: Callable[[Spec], Case]) -> Callable[[Spec], Case]:
        assert rule not in CASES, f"two cases for {rule}"
        CASES[rule] = build
        return build

    return register


# -- configurations the cases start from ---------------------------------------------------------
def p3(now: float = 1000.0) -> Config:
    """A completed manual failover of node 0 (P3): every user served by node 1."""
    return make_config(
        node("idle", "on_admin_request"),
        node("backup", "on_admin_request"),
        users=cohorts((0, 1, NOT_WAITING, 2), (1, 1, NOT_WAITING, 1)),
        now=now,
    )


def p11(now: float = 1000.0) -> Config:
    """Node 0 failed over and healthy again (P11): every user served by node 1."""
    return make_config(
        node("failed_over", "initialization_or_critical_services_down"),
        node("backup", "critical_service_down"),
        users=cohorts((0, 1, NOT_WAITING, 2), (1, 1, NOT_WAITING, 1)),
        now=now,
    )


def p12(now: float = 1000.0, service: str = PE) -> Config:
    """Node 0 failed over with a critical service still down (P12)."""
    return make_config(
        node("failed_over_csnr", "critical_service_down", stopped=[service]),
        node("backup", "critical_service_down"),
        users=cohorts((0, 1, NOT_WAITING, 2), (1, 1, NOT_WAITING, 1)),
        now=now,
    )


def p15(now: float = 1000.0) -> Config:
    """Both nodes in the failed state (P15); every client waits to re-login."""
    return make_config(
        node("failed", "critical_service_down", stopped=[PE]),
        node("failed", "critical_service_down", stopped=[XCP]),
        users=cohorts((0, NO_NODE, 900.0, 2), (1, NO_NODE, 900.0, 1)),
        now=now,
    )


def normal(model: Model) -> Config:
    """Normal / Normal at t=0 with 2 users homed on node 0 and 1 on node 1."""
    return initial_config(model, "normal", (2, 1))


def disabled(model: Model) -> Config:
    """HA disabled at t=0 with 2 users homed on node 0 and 1 on node 1."""
    return initial_config(model, "ha_disabled", (2, 1))


def both(state: str, reason: str) -> Pair:
    return (state, reason), (state, reason)


# -- consequence checks ----------------------------------------------------------------------------
def users_wait(home: int, count: int, since: float) -> Callable[[Model, Config, Step], None]:
    """`count` users of `home` lost their session at `since` and wait to re-login."""

    def check(model: Model, before: Config, s: Step) -> None:
        assert s.config.count((home, NO_NODE, since)) == count

    return check


def all_of(*checks: Callable[[Model, Config, Step], None]) -> Callable[[Model, Config, Step], None]:
    def check(model: Model, before: Config, s: Step) -> None:
        for c in checks:
            c(model, before, s)

    return check


def timers_are(*names: tuple[str, int]) -> Callable[[Model, Config, Step], None]:
    def check(model: Model, before: Config, s: Step) -> None:
        assert timer_names(s.config) == set(names)

    return check


def no_moves(model: Model, before: Config, s: Step) -> None:
    assert s.moves == ()
    assert s.config.users == before.users


def pair_shown(pid: str) -> Callable[[Model, Config, Step], None]:
    def check(model: Model, before: Config, s: Step) -> None:
        assert pid in documented_pairs(model, s.config)

    return check


# -- High Availability on and off ------------------------------------------------------------------
@case("enable_ha")
def _enable_ha(spec: Spec) -> Case:
    m = Model(spec)

    def check(model: Model, before: Config, s: Step) -> None:
        assert s.config.ha_enabled
        assert timer_names(s.config) == {("initialization", 0), ("initialization", 1)}
        assert s.config.users == before.users  # an initializing node serves its own users

    return Case(m, disabled(m), ev("ha_enable"), 0, both("initializing", "initialization"), check)


@case("enable_ha_peer_srm_stopped")
def _enable_ha_peer_srm_stopped(spec: Spec) -> Case:
    m = Model(spec)
    before = drive(m, disabled(m), ev("srm_stop", 1))

    def check(model: Model, before: Config, s: Step) -> None:
        assert s.config.ha_enabled
        # the peer is not heard: the initialization heartbeat timeout runs instead
        assert timer_names(s.config) == {("initialization_heartbeat_loss", 0)}

    after = ("initializing", "initialization"), ("unknown", "unknown")
    return Case(m, before, ev("ha_enable"), 0, after, all_of(check, no_moves))


@case("enable_ha_no_srm")
def _enable_ha_no_srm(spec: Spec) -> Case:
    m = Model(spec)
    before = drive(m, disabled(m), ev("srm_stop", 0), ev("srm_stop", 1))

    def check(model: Model, before: Config, s: Step) -> None:
        assert s.config.ha_enabled
        assert s.config.timers == ()
        assert "P24" in documented_pairs(model, s.config)

    return Case(m, before, ev("ha_enable"), 0, both("unknown", "unknown"), all_of(check, no_moves))


@case("disable_ha")
def _disable_ha(spec: Spec) -> Case:
    m = Model(spec)

    def check(model: Model, before: Config, s: Step) -> None:
        assert not s.config.ha_enabled
        assert s.config.timers == ()
        # the failed-over users' sessions on the backup end; their clients log in at home
        assert model.serving(s.config, 0) == 0
        assert sessions_on(s.config, 1, home=1) == 1

    after = both("unknown", "ha_not_enabled")
    return Case(m, p3(), ev("ha_disable"), 0, after, all_of(check, users_wait(0, 2, 1000.0)))


# -- initialization settles -------------------------------------------------------------------------
@case("initialized_normal")
def _initialized_normal(spec: Spec) -> Case:
    m = Model(spec)
    before = advance(m, drive(m, disabled(m), ev("ha_enable")), 1.0)

    def check(model: Model, before: Config, s: Step) -> None:
        assert [(t.name, t.node) for t in s.cancelled] == [("initialization", 1)]
        assert s.config.timers == ()
        assert "P1" in documented_pairs(model, s.config)

    after = both("normal", "normal")
    return Case(m, before, fire("initialization", 0), 0, after, all_of(check, no_moves))


def _unhealthy_initialization(m: Model, *stops: tuple[int, str]) -> Config:
    config = drive(m, disabled(m), *(ev("service_stop", n, s) for n, s in stops))
    return advance(m, drive(m, config, ev("ha_enable")), 1.0)


@case("initialized_node_unhealthy")
def _initialized_node_unhealthy(spec: Spec) -> Case:
    m = Model(spec)
    before = _unhealthy_initialization(m, (0, PE))
    after = ("failing_over", "critical_service_down"), ("taking_over", "critical_service_down")
    check = all_of(users_wait(0, 2, 1.0), timers_are(("user_move", 1)))
    return Case(m, before, fire("initialization", 0), 0, after, check)


@case("initialized_peer_unhealthy")
def _initialized_peer_unhealthy(spec: Spec) -> Case:
    m = Model(spec)
    before = _unhealthy_initialization(m, (0, PE))
    after = ("failing_over", "critical_service_down"), ("taking_over", "critical_service_down")
    check = all_of(users_wait(0, 2, 1.0), timers_are(("user_move", 1)))
    return Case(m, before, fire("initialization", 1), 1, after, check)


@case("initialized_both_unhealthy")
def _initialized_both_unhealthy(spec: Spec) -> Case:
    m = Model(spec)
    before = _unhealthy_initialization(m, (0, PE), (1, XCP))
    check = all_of(users_wait(0, 2, 1.0), users_wait(1, 1, 1.0), timers_are())
    after = both("failed", "critical_service_down")
    return Case(m, before, fire("initialization", 0), 0, after, check)


def _rebooted_after_takeover(m: Model, *extra: Input) -> Config:
    """Node 0 went down at t=0, node 1 took over at t=75 (the heartbeat's deadline, timeout +
    interval), node 0 is back at t=100."""
    config = drive(
        m, normal(m), ev("node_down", 0), (75.0, "fire"), (100.0, ev("node_up", 0)), *extra
    )
    assert states(config) == (("initializing", "initialization"), ("backup", "peer_reboot"))
    return advance(m, config, 101.0)


@case("initialized_after_takeover")
def _initialized_after_takeover(spec: Spec) -> Case:
    m = Model(spec)

    def check(model: Model, before: Config, s: Step) -> None:
        assert model.serving(s.config, 0) == 1  # waiting clients log in to the backup
        assert s.config.timers == ()  # automatic fallback is off by default
        assert "fallback" in {o.name for o in offered(model, s.config)}

    after = ("failed_over", "initialization"), ("backup", "peer_reboot")
    return Case(m, _rebooted_after_takeover(m), fire("initialization", 0), 0, after, check)


@case("initialized_after_takeover_unhealthy")
def _initialized_after_takeover_unhealthy(spec: Spec) -> Case:
    m = Model(spec)
    before = _rebooted_after_takeover(m, ev("service_stop", 0, PE))

    def check(model: Model, before: Config, s: Step) -> None:
        assert "fallback" not in {o.name for o in offered(model, s.config)}

    after = ("failed_over_csnr", "initialization"), ("backup", "peer_reboot")
    return Case(m, before, fire("initialization", 0), 0, after, check)


@case("initialized_during_take_over")
def _initialized_during_take_over(spec: Spec) -> Case:
    m = Model(spec)
    config = make_config(
        node("initializing", "initialization"),
        node("failing_over", "on_admin_request"),
        users=cohorts((0, 0, NOT_WAITING, 2), (1, NO_NODE, 400.0, 1)),
        now=500.0,
    )
    before = due(m, config, "initialization", 0)
    check = all_of(users_wait(0, 2, 500.0), pair_shown("P19"))
    return Case(
        m, before, fire("initialization", 0), 0, both("failed", "take_over_users_failed"), check
    )


@case("initialized_during_take_back")
def _initialized_during_take_back(spec: Spec) -> Case:
    m = Model(spec)
    config = make_config(
        node("initializing", "initialization"),
        node("taking_back", "on_admin_request"),
        users=cohorts((0, 0, NOT_WAITING, 1), (1, 1, NOT_WAITING, 2)),
        now=500.0,
    )
    before = due(m, config, "initialization", 0)
    check = all_of(users_wait(0, 1, 500.0), users_wait(1, 2, 500.0), pair_shown("P20"))
    return Case(
        m, before, fire("initialization", 0), 0, both("failed", "take_back_users_failed"), check
    )


@case("initialized_peer_failed")
def _initialized_peer_failed(spec: Spec) -> Case:
    m = Model(spec)
    config = make_config(
        node("initializing", "initialization"),
        node("failed", "critical_service_down"),
        users=cohorts((0, 0, NOT_WAITING, 2), (1, NO_NODE, 400.0, 1)),
        now=500.0,
    )
    before = due(m, config, "initialization", 0)
    check = all_of(users_wait(0, 2, 500.0), pair_shown("P21"))
    return Case(m, before, fire("initialization", 0), 0, both("failed", "unknown"), check)


# -- critical service down ---------------------------------------------------------------------------
@case("automatic_failover")
def _automatic_failover(spec: Spec) -> Case:
    m = Model(spec)
    before = advance(m, drive(m, normal(m), (100.0, ev("service_stop", 0, PE))), 190.0)

    def check(model: Model, before: Config, s: Step) -> None:
        assert s.fired is not None and s.fired.name == "critical_service_down"
        (move,) = s.config.timers
        assert (move.name, move.node, move.earliest, move.latest) == ("user_move", 1, 191, 250)
        assert sessions_on(s.config, 1, home=1) == 1  # the peer's own users stay

    after = ("failing_over", "critical_service_down"), ("taking_over", "critical_service_down")
    check_all = all_of(check, users_wait(0, 2, 190.0))
    return Case(m, before, fire("critical_service_down", 0), 0, after, check_all)


@case("auto_recover")
def _auto_recover(spec: Spec) -> Case:
    m = Model(spec)
    config = p11()
    config = dataclasses.replace(
        config, nodes=(config.nodes[0], node("backup", "critical_service_down", stopped=[PE]))
    )
    before = due(m, config, "critical_service_down", 1)

    def check(model: Model, before: Config, s: Step) -> None:
        # every session on the failed backup ends; all clients log in to node 0
        assert model.serving(s.config, 0) == 0
        assert model.serving(s.config, 1) == 0
        assert "P23" in documented_pairs(model, s.config)

    after = (
        ("backup_activated", "auto_recover_database_failure"),
        ("failover_affected", "auto_recover_critical_service_down"),
    )
    check_all = all_of(check, users_wait(0, 2, 1000.0), users_wait(1, 1, 1000.0))
    return Case(m, before, fire("critical_service_down", 1), 1, after, check_all)


@case("backup_fails")
def _backup_fails(spec: Spec) -> Case:
    m = Model(spec)
    config = p12()
    config = dataclasses.replace(
        config, nodes=(config.nodes[0], node("backup", "critical_service_down", stopped=[XCP]))
    )
    before = due(m, config, "critical_service_down", 1)
    check = all_of(
        users_wait(0, 2, 1000.0), users_wait(1, 1, 1000.0), timers_are(), pair_shown("P15")
    )
    after = both("failed", "critical_service_down")
    return Case(m, before, fire("critical_service_down", 1), 1, after, check)


@case("backup_fails_alone")
def _backup_fails_alone(spec: Spec) -> Case:
    m = Model(spec)
    config = make_config(
        node("backup", "peer_down"),
        node("backup", "peer_down", stopped=[PE]),
        users=at_home(2, 1),
        now=500.0,
        link=False,
    )
    before = due(m, config, "critical_service_down", 1)

    def check(model: Model, before: Config, s: Step) -> None:
        assert sessions_on(s.config, 0, home=0) == 2
        assert model.serving(s.config, 1) == 0  # node 0 still runs in backup mode

    after = ("backup", "peer_down"), ("failed", "critical_service_down")
    check_all = all_of(check, users_wait(1, 1, 500.0))
    return Case(m, before, fire("critical_service_down", 1), 1, after, check_all)


@case("failed_over_service_stops")
def _failed_over_service_stops(spec: Spec) -> Case:
    m = model_with(spec, enable_automatic_fallback=True)
    healthy = drive(m, p12(now=0.0), ev("service_start", 0, PE))
    assert timer_names(healthy) == {("automatic_fallback", 0)}
    before = advance(m, healthy, 1000.0)

    def check(model: Model, before: Config, s: Step) -> None:
        assert [(t.name, t.node) for t in s.cancelled] == [("automatic_fallback", 0)]
        assert s.config.timers == ()

    after = ("failed_over_csnr", "critical_service_down"), ("backup", "critical_service_down")
    return Case(m, before, ev("service_stop", 0, PE), 0, after, all_of(check, no_moves))


@case("failed_over_services_restored")
def _failed_over_services_restored(spec: Spec) -> Case:
    m = model_with(spec, enable_automatic_fallback=True)

    def check(model: Model, before: Config, s: Step) -> None:
        (timer,) = s.started
        assert (timer.name, timer.node, timer.earliest, timer.latest) == (
            "automatic_fallback",
            0,
            1800.0,
            1800.0,
        )
        assert "P11" in documented_pairs(model, s.config)

    after = (
        ("failed_over", "initialization_or_critical_services_down"),
        (
            "backup",
            "critical_service_down",
        ),
    )
    before = p12(now=0.0)
    return Case(m, before, ev("service_start", 0, PE), 0, after, all_of(check, no_moves))


def _p11_reading(spec: Spec, base: str, lane: int, reason: str) -> Case:
    """The same step as rule `base`, the failed-over node (`lane`) showing P11's other reading
    of its reason (A-p11-reason)."""
    c = CASES[base](spec)
    after = list(c.after)
    after[lane] = ("failed_over", reason)
    return Case(c.model, c.before, c.input, c.node, (after[0], after[1]), c.check)


@case("failed_over_services_restored_critical_services_down")
def _failed_over_services_restored_critical_services_down(spec: Spec) -> Case:
    """P11's other reading (A-p11-reason) of failed_over_services_restored."""
    return _p11_reading(spec, "failed_over_services_restored", 0, "critical_service_down")


@case("affected_services_restored")
def _affected_services_restored(spec: Spec) -> Case:
    m = Model(spec)
    before = make_config(
        node("backup_activated", "auto_recover_database_failure"),
        node("failover_affected", "auto_recover_critical_service_down", stopped=[PE]),
        users=cohorts((0, 0, NOT_WAITING, 2), (1, 0, NOT_WAITING, 1)),
        now=2000.0,
    )

    def check(model: Model, before: Config, s: Step) -> None:
        assert ("fallback", 1) in {(o.name, o.node) for o in offered(model, s.config)}

    after = (
        ("backup", "critical_service_down"),
        (
            "failed_over",
            "initialization_or_critical_services_down",
        ),
    )
    return Case(m, before, ev("service_start", 1, PE), 1, after, all_of(check, no_moves))


@case("affected_services_restored_critical_services_down")
def _affected_services_restored_critical_services_down(spec: Spec) -> Case:
    """P11's other reading (A-p11-reason) of affected_services_restored."""
    return _p11_reading(spec, "affected_services_restored", 1, "critical_service_down")


@case("take_over_database_failure")
def _take_over_database_failure(spec: Spec) -> Case:
    m = Model(spec)
    before = advance(m, drive(m, normal(m), (100.0, ev("failover", 0))), 110.0)
    check = all_of(
        users_wait(0, 2, 100.0), users_wait(1, 1, 110.0), timers_are(), pair_shown("P19")
    )
    after = both("failed", "take_over_users_failed")
    return Case(m, before, ev("service_stop", 0, DB), 0, after, check)


@case("take_back_database_failure")
def _take_back_database_failure(spec: Spec) -> Case:
    m = Model(spec)
    before = advance(m, drive(m, p3(), ev("fallback", 0)), 1010.0)
    check = all_of(users_wait(0, 2, 1000.0), timers_are(), pair_shown("P20"))
    after = both("failed", "take_back_users_failed")
    return Case(m, before, ev("service_stop", 1, DB), 1, after, check)


# -- heartbeat ---------------------------------------------------------------------------------------
@case("peer_down_takeover")
def _peer_down_takeover(spec: Spec) -> Case:
    m = Model(spec)
    before = advance(m, drive(m, normal(m), (100.0, ev("srm_stop", 0))), 145.0)

    def check(model: Model, before: Config, s: Step) -> None:
        assert not s.config.nodes[0].srm
        assert "P16" in documented_pairs(model, s.config)

    after = ("normal", "normal"), ("backup", "peer_down")
    return Case(m, before, fire("heartbeat_loss", 1), 1, after, all_of(check, no_moves))


@case("peer_reboot_takeover")
def _peer_reboot_takeover(spec: Spec) -> Case:
    m = Model(spec)
    before = advance(m, drive(m, normal(m), (100.0, ev("node_down", 0))), 145.0)

    def check(model: Model, before: Config, s: Step) -> None:
        assert "P17" in documented_pairs(model, s.config)
        # the clients that lost node 0 at t=100 log in to the backup once their wait is over
        back = step(model, s.config, relogin((0, NO_NODE, 100.0)), at=220.0)
        assert back.config.count((0, 1, NOT_WAITING)) == 1

    after = ("normal", "normal"), ("backup", "peer_reboot")
    check_all = all_of(check, users_wait(0, 2, 100.0))
    return Case(m, before, fire("heartbeat_loss", 1), 1, after, check_all)


@case("peer_lost_while_unhealthy")
def _peer_lost_while_unhealthy(spec: Spec) -> Case:
    m = Model(spec)
    before = drive(m, normal(m), (100.0, ev("service_stop", 1, PE)), ev("link_down"))
    before = advance(m, before, 145.0)

    def check(model: Model, before: Config, s: Step) -> None:
        cancelled = {(t.name, t.node) for t in s.cancelled}
        assert cancelled == {("critical_service_down", 1)}
        assert timer_names(s.config) == {("heartbeat_loss", 0)}

    after = ("normal", "normal"), ("failed", "critical_service_down")
    check_all = all_of(check, users_wait(1, 1, 145.0))
    return Case(m, before, fire("heartbeat_loss", 1), 1, after, check_all)


@case("peer_lost_taking_over")
def _peer_lost_taking_over(spec: Spec) -> Case:
    m = Model(spec)
    before = drive(m, normal(m), (100.0, ev("failover", 0)), (110.0, ev("link_down")))
    assert ("user_move", 1) not in timer_names(before)  # no user move without the peer
    before = advance(m, before, 155.0)
    after = ("failing_over", "on_admin_request"), ("failed", "take_over_users_failed")
    check = all_of(users_wait(1, 1, 155.0), timers_are(("heartbeat_loss", 0)))
    return Case(m, before, fire("heartbeat_loss", 1), 1, after, check)


@case("peer_lost_taking_back")
def _peer_lost_taking_back(spec: Spec) -> Case:
    m = Model(spec)
    before = drive(m, p3(), ev("fallback", 0), (1010.0, ev("link_down")))
    before = advance(m, before, 1055.0)
    after = ("failed", "take_back_users_failed"), ("falling_back", "on_admin_request")
    return Case(m, before, fire("heartbeat_loss", 0), 0, after, timers_are(("heartbeat_loss", 1)))


def _initializing_alone(m: Model, *stops: tuple[int, str]) -> Config:
    """HA enabled at t=0 while node 1's SRM is stopped; t=105, the earliest loss."""
    config = drive(m, disabled(m), *(ev("service_stop", n, s) for n, s in stops), ev("srm_stop", 1))
    return advance(m, drive(m, config, ev("ha_enable")), 105.0)


@case("peer_down_during_initialization")
def _peer_down_during_initialization(spec: Spec) -> Case:
    m = Model(spec)
    after = ("backup", "peer_down_during_initialization"), ("unknown", "unknown")
    check = all_of(timers_are(), no_moves)
    before = _initializing_alone(m)
    return Case(m, before, fire("initialization_heartbeat_loss", 0), 0, after, check)


@case("peer_down_during_initialization_unhealthy")
def _peer_down_during_initialization_unhealthy(spec: Spec) -> Case:
    m = Model(spec)
    after = ("failed", "critical_service_down"), ("unknown", "unknown")
    before = _initializing_alone(m, (0, PE))
    check = users_wait(0, 2, 105.0)
    return Case(m, before, fire("initialization_heartbeat_loss", 0), 0, after, check)


# -- SRM (re)starts ---------------------------------------------------------------------------------
@case("srm_starts")
def _srm_starts(spec: Spec) -> Case:
    m = Model(spec)
    before = advance(m, drive(m, normal(m), (100.0, ev("srm_stop", 0))), 110.0)

    def check(model: Model, before: Config, s: Step) -> None:
        assert {(t.name, t.node) for t in s.cancelled} == {("heartbeat_loss", 1)}
        (init,) = s.started
        assert (init.name, init.node, init.earliest, init.latest) == ("initialization", 0, 111, 170)

    after = ("initializing", "initialization"), ("normal", "normal")
    return Case(m, before, ev("srm_start", 0), 0, after, all_of(check, no_moves))


@case("srm_restarts_in_failover")
def _srm_restarts_in_failover(spec: Spec) -> Case:
    m = Model(spec)
    before = drive(m, p3(), ev("srm_stop", 0))
    after = ("idle", "initialization"), ("backup", "on_admin_request")
    return Case(m, before, ev("srm_start", 0), 0, after, all_of(pair_shown("P5"), no_moves))


@case("srm_restarts_failed_over")
def _srm_restarts_failed_over(spec: Spec) -> Case:
    m = Model(spec)
    before = drive(m, p12(), ev("node_down", 0))

    def check(model: Model, before: Config, s: Step) -> None:
        assert s.config.nodes[0].stopped == frozenset()  # the reboot started its services

    after = ("failed_over", "initialization"), ("backup", "critical_service_down")
    check_all = all_of(check, pair_shown("P11"), no_moves)
    return Case(m, before, ev("node_up", 0), 0, after, check_all)


@case("srm_restarts_failed_over_literal_reason")
def _srm_restarts_failed_over_literal_reason(spec: Spec) -> Case:
    """P11's other reading (A-p11-reason) of srm_restarts_failed_over."""
    return _p11_reading(
        spec, "srm_restarts_failed_over", 0, "initialization_or_critical_services_down"
    )


@case("srm_restarts_failed_over_unhealthy")
def _srm_restarts_failed_over_unhealthy(spec: Spec) -> Case:
    m = Model(spec)
    before = drive(m, p12(), ev("srm_stop", 0))
    after = ("failed_over_csnr", "initialization"), ("backup", "critical_service_down")
    return Case(m, before, ev("srm_start", 0), 0, after, no_moves)


@case("srm_restarts_peer_failed")
def _srm_restarts_peer_failed(spec: Spec) -> Case:
    m = Model(spec)
    before = drive(m, p15(), ev("srm_stop", 0))
    after = both("failed", "unknown")
    return Case(m, before, ev("srm_start", 0), 0, after, all_of(pair_shown("P21"), no_moves))


# -- the link -----------------------------------------------------------------------------------------
@case("split_brain_reconnect")
def _split_brain_reconnect(spec: Spec) -> Case:
    m = Model(spec)
    before = drive(
        m,
        normal(m),
        (100.0, ev("link_down")),
        (145.0, fire("heartbeat_loss", 0)),
        fire("heartbeat_loss", 1),
    )
    assert states(before) == both("backup", "peer_down")
    before = advance(m, before, 200.0)
    check = all_of(users_wait(0, 2, 200.0), users_wait(1, 1, 200.0), timers_are())
    return Case(m, before, ev("link_up"), 0, both("failed", "unknown"), check)


# -- transitions complete ------------------------------------------------------------------------------
@case("manual_failover_complete")
def _manual_failover_complete(spec: Spec) -> Case:
    m = Model(spec)
    before = advance(m, drive(m, normal(m), (100.0, ev("failover", 0))), 101.0)

    def check(model: Model, before: Config, s: Step) -> None:
        assert s.config.timers == ()
        assert model.serving(s.config, 0) == 1
        assert sessions_on(s.config, 1, home=1) == 1
        back = step(model, s.config, relogin((0, NO_NODE, 100.0)), at=220.0)
        assert back.config.count((0, 1, NOT_WAITING)) == 1
        assert "P3" in documented_pairs(model, s.config)

    after = ("idle", "on_admin_request"), ("backup", "on_admin_request")
    check_all = all_of(check, users_wait(0, 2, 100.0))
    return Case(m, before, fire("user_move", 1), 1, after, check_all)


def _failing_over(m: Model, *extra: tuple[float, Input]) -> Config:
    """Node 0's presence engine stopped at t=0; SRM failed it over at t=90; t=91."""
    config = drive(m, normal(m), ev("service_stop", 0, PE), (90.0, "fire"), *extra)
    return advance(m, config, 91.0)


@case("automatic_failover_complete")
def _automatic_failover_complete(spec: Spec) -> Case:
    m = Model(spec)

    def check(model: Model, before: Config, s: Step) -> None:
        assert "fallback" not in {o.name for o in offered(model, s.config)}
        assert "P12" in documented_pairs(model, s.config)

    after = ("failed_over_csnr", "critical_service_down"), ("backup", "critical_service_down")
    return Case(m, _failing_over(m), fire("user_move", 1), 1, after, check)


@case("automatic_failover_complete_restored")
def _automatic_failover_complete_restored(spec: Spec) -> Case:
    m = Model(spec)
    before = _failing_over(m, (90.5, ev("service_start", 0, PE)))

    def check(model: Model, before: Config, s: Step) -> None:
        assert ("fallback", 0) in {(o.name, o.node) for o in offered(model, s.config)}
        assert "P11" in documented_pairs(model, s.config)

    after = (
        ("failed_over", "initialization_or_critical_services_down"),
        (
            "backup",
            "critical_service_down",
        ),
    )
    return Case(m, before, fire("user_move", 1), 1, after, check)


@case("automatic_failover_complete_restored_critical_services_down")
def _automatic_failover_complete_restored_critical_services_down(spec: Spec) -> Case:
    """P11's other reading (A-p11-reason) of automatic_failover_complete_restored."""
    return _p11_reading(spec, "automatic_failover_complete_restored", 0, "critical_service_down")


@case("fallback_complete")
def _fallback_complete(spec: Spec) -> Case:
    m = Model(spec)
    before = advance(m, drive(m, p11(), ev("fallback", 0)), 1001.0)

    def check(model: Model, before: Config, s: Step) -> None:
        assert s.config.timers == ()
        assert model.serving(s.config, 0) == 0  # the clients log in to their home node again
        assert sessions_on(s.config, 1, home=1) == 1

    after = both("normal", "normal")
    return Case(m, before, fire("user_move", 0), 0, after, all_of(check, users_wait(0, 2, 1000.0)))


@case("fallback_start_failed")
def _fallback_start_failed(spec: Spec) -> Case:
    m = Model(spec)
    before = drive(m, p11(), ev("fallback", 0), (1000.5, ev("service_stop", 0, PE)))
    before = advance(m, before, 1001.0)
    after = both("failed", "start_of_critical_services_failed")
    check = all_of(timers_are(), users_wait(1, 1, 1001.0), pair_shown("P14"))
    return Case(m, before, fire("user_move", 0), 0, after, check)


# -- administrator actions ---------------------------------------------------------------------------
@case("manual_failover")
def _manual_failover(spec: Spec) -> Case:
    m = Model(spec)

    def check(model: Model, before: Config, s: Step) -> None:
        (move,) = s.started
        assert (move.name, move.node, move.earliest, move.latest) == ("user_move", 1, 1, 60)
        assert "P2" in documented_pairs(model, s.config)

    after = ("failing_over", "on_admin_request"), ("taking_over", "on_admin_request")
    check_all = all_of(check, users_wait(0, 2, 0.0))
    return Case(m, normal(m), ev("failover", 0), 0, after, check_all)


@case("manual_fallback")
def _manual_fallback(spec: Spec) -> Case:
    m = Model(spec)

    def check(model: Model, before: Config, s: Step) -> None:
        (move,) = s.started
        assert (move.name, move.node, move.earliest, move.latest) == ("user_move", 0, 1001, 1060)
        assert sessions_on(s.config, 1, home=1) == 1
        assert "P4" in documented_pairs(model, s.config)

    after = ("taking_back", "on_admin_request"), ("falling_back", "on_admin_request")
    check_all = all_of(check, users_wait(0, 2, 1000.0))
    return Case(m, p3(), ev("fallback", 0), 0, after, check_all)


def _idle_with_stopped(service: str) -> Config:
    """P3 with a service the environment stopped on the Idle node since the failover."""
    config = p3()
    idle = dataclasses.replace(config.nodes[0], stopped=frozenset({service}))
    return dataclasses.replace(config, nodes=(idle, config.nodes[1]))


@case("manual_fallback_restart_fails")
def _manual_fallback_restart_fails(spec: Spec) -> Case:
    """A-fallback-restarts: SRM's restart of the stopped XCP Router fails; it stays down and
    the take-back fails when the move ends (P14)."""
    m = Model(spec)

    def check(model: Model, before: Config, s: Step) -> None:
        assert s.config.nodes[0].stopped == frozenset({XCP})
        moved = drive(model, s.config, (1060.0, fire("user_move", 0)))
        assert states(moved) == (
            ("failed", "start_of_critical_services_failed"),
            ("failed", "start_of_critical_services_failed"),
        )

    after = ("taking_back", "on_admin_request"), ("falling_back", "on_admin_request")
    return Case(m, _idle_with_stopped(XCP), ev("fallback", 0), 0, after, check)


def test_a_manual_fallback_restarts_the_nodes_stopped_services(spec: Spec) -> None:
    """S1: manual fallback 'restarts critical services on the primary node' - a service stopped
    on the Idle node runs again, and the fallback completes (or, the other reading, the restart
    fails); the backup's services are not touched."""
    m = Model(spec)
    before = _idle_with_stopped(XCP)
    before = dataclasses.replace(
        before,
        nodes=(
            before.nodes[0],
            dataclasses.replace(before.nodes[1], stopped=frozenset({"sync_agent"})),
        ),
    )
    by_rule = {s.rule: s for s in apply(m, before, ev("fallback", 0))}
    assert set(by_rule) == {"manual_fallback", "manual_fallback_restart_fails"}
    restarted = by_rule["manual_fallback"].config
    assert restarted.nodes[0].stopped == frozenset()
    assert restarted.nodes[1].stopped == frozenset({"sync_agent"})
    done = drive(m, restarted, (1060.0, fire("user_move", 0)))
    assert states(done) == (("normal", "normal"), ("normal", "normal"))
    # with every monitored service running the fallback has one outcome
    (only_one,) = apply(m, p3(), ev("fallback", 0))
    assert only_one.rule == "manual_fallback"


@case("automatic_fallback")
def _automatic_fallback(spec: Spec) -> Case:
    m = model_with(spec, enable_automatic_fallback=True)
    before = advance(m, drive(m, p12(now=0.0), ev("service_start", 0, PE)), 1800.0)
    after = ("taking_back", "automatic_fallback"), ("falling_back", "automatic_fallback")
    check = all_of(users_wait(0, 2, 1800.0), timers_are(("user_move", 0)), pair_shown("P10"))
    return Case(m, before, fire("automatic_fallback", 0), 0, after, check)


@case("recover")
def _recover(spec: Spec) -> Case:
    m = Model(spec)
    before = drive(m, p15(), ev("srm_stop", 1))

    def check(model: Model, before: Config, s: Step) -> None:
        for n in s.config.nodes:
            assert n.srm
            assert n.stopped == frozenset()
        assert timer_names(s.config) == {("initialization", 0), ("initialization", 1)}

    after = both("initializing", "initialization")
    return Case(m, before, ev("recover"), 0, after, all_of(check, no_moves))


# -- the tests -----------------------------------------------------------------------------------------
def test_every_transition_has_a_case(spec: Spec) -> None:
    """A rule added to the spec without a case here fails this test (and one removed, too)."""
    ids = [t.id for t in spec.transitions]
    assert len(ids) == len(set(ids))
    assert set(CASES) == set(ids), (
        f"missing cases: {sorted(set(ids) - set(CASES))}; "
        f"cases for no rule: {sorted(set(CASES) - set(ids))}"
    )


@pytest.mark.parametrize("rule", list(CASES))
def test_rule(spec: Spec, rule: str) -> None:
    """The rule fires from its case's configuration and yields the documented successor."""
    c = CASES[rule](spec)
    steps = apply(c.model, c.before, c.input)
    # One successor, or the readings of one the spec allows side by side (A-p11-reason): each
    # by its own rule, differing from the others only in the reasons shown.
    first_reading(c.model, steps)
    (s,) = [x for x in steps if x.rule == rule]
    assert s.rule == rule
    assert s.node == c.node
    assert states(s.config) == c.after
    assert s.config.now == c.before.now
    assert s.changed
    assert users_by_home(s.config) == users_by_home(c.before)
    assert check_step(c.model, c.before, s) == []
    if c.check is not None:
        c.check(c.model, c.before, s)


# -- variants that the table keeps to one case each ----------------------------------------------------
@pytest.mark.parametrize(
    ("service", "reason"),
    [(PE, "critical_service_down"), (XCP, "critical_service_down"), (DB, "database_failure")],
)
def test_automatic_failover_reason_names_the_service(
    model: Model, service: str, reason: str
) -> None:
    config = drive(model, normal(model), ev("service_stop", 0, service), (90.0, "fire"))
    assert states(config) == (("failing_over", reason), ("taking_over", reason))
    config = drive(model, config, (91.0, fire("user_move", 1)))
    assert states(config) == (("failed_over_csnr", reason), ("backup", reason))
    pair = "P13" if service == DB else "P12"
    assert pair in documented_pairs(model, config)


@pytest.mark.parametrize(
    ("service", "reason"),
    [(PE, "critical_service_down"), (DB, "database_failure")],
)
def test_initialization_failover_reason_names_the_service(
    model: Model, service: str, reason: str
) -> None:
    config = _unhealthy_initialization(model, (1, service))
    for index in (0, 1):
        s = step(model, config, fire("initialization", index))
        assert states(s.config) == (("taking_over", reason), ("failing_over", reason))


def test_auto_recover_after_a_database_failure(model: Model) -> None:
    config = p11()
    config = dataclasses.replace(
        config, nodes=(config.nodes[0], node("backup", "critical_service_down", stopped=[DB]))
    )
    s = step(
        model, due(model, config, "critical_service_down", 1), fire("critical_service_down", 1)
    )
    assert s.rule == "auto_recover"
    assert states(s.config) == (
        ("backup_activated", "auto_recover_database_failure"),
        ("failover_affected", "auto_recover_database_failure"),
    )
    assert "P22" in documented_pairs(model, s.config)


def test_backup_activated_node_that_fails_takes_both_down(model: Model) -> None:
    config = make_config(
        node("backup_activated", "auto_recover_database_failure", stopped=[PE]),
        node("failover_affected", "auto_recover_critical_service_down", stopped=[XCP]),
        users=cohorts((0, 0, NOT_WAITING, 2), (1, 0, NOT_WAITING, 1)),
        now=3000.0,
    )
    s = step(
        model, due(model, config, "critical_service_down", 0), fire("critical_service_down", 0)
    )
    assert s.rule == "backup_fails"
    assert states(s.config) == both("failed", "critical_service_down")
    assert waiting(s.config, 0) == 2 and waiting(s.config, 1) == 1


def test_failed_over_database_stop_is_a_database_failure(model: Model) -> None:
    s = step(model, p11(), ev("service_stop", 0, DB))
    assert s.rule == "failed_over_service_stops"
    assert states(s.config)[0] == ("failed_over_csnr", "database_failure")


def test_srm_starts_on_node_up(model: Model) -> None:
    config = drive(model, normal(model), (100.0, ev("node_down", 0)))
    s = step(model, config, ev("node_up", 0), at=120.0)
    assert s.rule == "srm_starts"
    assert states(s.config) == (("initializing", "initialization"), ("normal", "normal"))
    # the clients that lost node 0 log in to it again: an initializing node serves its own
    assert model.serving(s.config, 0) == 0


def test_manual_fallback_to_a_failed_over_node(model: Model) -> None:
    s = step(model, p11(), ev("fallback", 0))
    assert s.rule == "manual_fallback"
    assert states(s.config) == (
        ("taking_back", "on_admin_request"),
        ("falling_back", "on_admin_request"),
    )


def test_manual_failover_of_node_1_is_symmetric(model: Model) -> None:
    s = step(model, normal(model), ev("failover", 1))
    assert s.rule == "manual_failover"
    assert s.node == 1
    assert states(s.config) == (
        ("taking_over", "on_admin_request"),
        ("failing_over", "on_admin_request"),
    )
    assert waiting(s.config, 1) == 1 and waiting(s.config, 0) == 0


def test_a_whole_manual_failover_and_fallback_brings_every_user_home(model: Model) -> None:
    config = drive(
        model,
        normal(model),
        (100.0, ev("failover", 0)),
        (160.0, "fire"),
        (220.0, relogin((0, NO_NODE, 100.0))),
        relogin((0, NO_NODE, 100.0)),
        (300.0, ev("fallback", 0)),
        (360.0, "fire"),
        (420.0, relogin((0, NO_NODE, 300.0))),
        relogin((0, NO_NODE, 300.0)),
    )
    assert states(config) == both("normal", "normal")
    assert config.users == at_home(2, 1)


# -- negative tests: actions not offered ------------------------------------------------------------
NOT_OFFERED: dict[str, tuple[Callable[[], Config], Input]] = {
    "failover of an Idle node": (p3, ev("failover", 0)),
    "failover of a node in backup mode": (p3, ev("failover", 1)),
    "failover of a Normal node whose peer initializes": (
        lambda: make_config(node("normal", "normal"), node("initializing", "initialization")),
        ev("failover", 0),
    ),
    "failover of a Normal node that cannot reach its peer": (
        lambda: make_config(node("normal", "normal"), node("normal", "normal"), link=False),
        ev("failover", 0),
    ),
    "fallback to a Failed Over with Critical Services not Running node": (p12, ev("fallback", 0)),
    "fallback to the node running in backup mode": (p11, ev("fallback", 1)),
    "fallback when the peer is not Running in Backup Mode": (
        lambda: make_config(node("failed_over", "initialization"), node("failed", "unknown")),
        ev("fallback", 0),
    ),
    "fallback to an Idle node whose peer is falling back": (
        lambda: make_config(
            node("idle", "on_admin_request"), node("falling_back", "on_admin_request")
        ),
        ev("fallback", 0),
    ),
    "fallback to a Failed Over node that cannot reach its peer": (
        lambda: dataclasses.replace(p11(), link_up=False),
        ev("fallback", 0),
    ),
    "recover when no node is failed (Normal)": (
        lambda: make_config(node("normal", "normal"), node("normal", "normal")),
        ev("recover"),
    ),
    "recover when no node is failed (P12)": (p12, ev("recover")),
    "ha_enable when already enabled": (
        lambda: make_config(node("normal", "normal"), node("normal", "normal")),
        ev("ha_enable"),
    ),
    "ha_disable when already disabled": (
        lambda: make_config(
            node("unknown", "ha_not_enabled"), node("unknown", "ha_not_enabled"), ha=False
        ),
        ev("ha_disable"),
    ),
    "failover while HA is disabled": (
        lambda: make_config(
            node("unknown", "ha_not_enabled"), node("unknown", "ha_not_enabled"), ha=False
        ),
        ev("failover", 0),
    ),
}


@pytest.mark.parametrize("name", list(NOT_OFFERED))
def test_action_not_offered_has_no_successor(model: Model, name: str) -> None:
    build, inp = NOT_OFFERED[name]
    config = build()
    assert apply(model, config, inp) == ()
    assert inp not in offered(model, config)


def test_offered_actions_each_have_a_successor(model: Model) -> None:
    for config in (normal(model), disabled(model), p3(), p11(), p12(), p15()):
        for action in offered(model, config):
            assert apply(model, config, action), action


# -- negative tests: environment events that change nothing ------------------------------------------
NO_CHANGE: dict[str, tuple[Callable[[Model], Config], Input]] = {
    "service_start of a running service": (normal, ev("service_start", 0, PE)),
    "service_stop of a stopped service": (lambda m: p12(), ev("service_stop", 0, PE)),
    "node_up of a node that is up": (normal, ev("node_up", 1)),
    "node_down of a node that is down": (
        lambda m: drive(m, normal(m), ev("node_down", 0)),
        ev("node_down", 0),
    ),
    "srm_start of a running SRM": (normal, ev("srm_start", 0)),
    "srm_stop of a stopped SRM": (
        lambda m: drive(m, normal(m), ev("srm_stop", 1)),
        ev("srm_stop", 1),
    ),
    "srm_start on a node that is down": (
        lambda m: drive(m, normal(m), ev("node_down", 0)),
        ev("srm_start", 0),
    ),
    "link_up while the link is up": (normal, ev("link_up")),
    "link_down while the link is down": (
        lambda m: drive(m, normal(m), ev("link_down")),
        ev("link_down"),
    ),
    "login of a signed-in user": (normal, ev("login", user=(0, 0, NOT_WAITING))),
    "logout of a signed-out user": (
        lambda m: drive(m, normal(m), ev("logout", user=(1, 1, NOT_WAITING))),
        ev("logout", user=(1, NO_NODE, SIGNED_OUT)),
    ),
}


@pytest.mark.parametrize("name", list(NO_CHANGE))
def test_event_that_changes_nothing(model: Model, name: str) -> None:
    build, inp = NO_CHANGE[name]
    config = build(model)
    s = only(apply(model, config, inp))
    assert not s.changed
    assert s.config == config
    assert s.rule is None
    assert s.moves == () and s.started == () and s.cancelled == ()


def test_event_matching_no_rule_still_changes_the_world(model: Model) -> None:
    """With HA disabled a service stop fires no rule, but the service is down."""
    s = only(apply(model, disabled(model), ev("service_stop", 0, PE)))
    assert s.changed
    assert s.rule is None
    assert s.config.nodes[0].stopped == frozenset({PE})
    assert states(s.config) == states(disabled(model))


def test_login_after_logout_lands_on_the_serving_node(model: Model) -> None:
    config = drive(model, p3(), ev("logout", user=(0, 1, NOT_WAITING)))
    assert signed_out(config, 0) == 1 and config.count((0, NO_NODE, SIGNED_OUT)) == 1
    s = only(apply(model, config, ev("login", user=(0, NO_NODE, SIGNED_OUT))))
    assert s.config.count((0, 1, NOT_WAITING)) == 2 and signed_out(s.config, 0) == 0


# -- A-logout-session: a sign-out ends the session, or the session outlives it ----------------
def test_a_sign_out_may_end_the_session_or_keep_it(model: Model) -> None:
    steps = apply(model, normal(model), ev("logout", user=(0, 0, NOT_WAITING)))
    ended, kept = (s.config for s in steps)
    assert len(steps) == 2
    assert ended.count((0, NO_NODE, SIGNED_OUT)) == 1  # the event's own effect first
    assert kept.count((0, 0, SIGNED_OUT)) == 1 and kept.count((0, 0, NOT_WAITING)) == 1
    assert [v.active_users for v in node_views(model, kept)] == [2, 1]  # still counted
    assert [v.active_users for v in node_views(model, ended)] == [1, 1]


def test_a_kept_session_ends_without_a_relogin_when_its_node_stops_serving(model: Model) -> None:
    kept = apply(model, normal(model), ev("logout", user=(0, 0, NOT_WAITING)))[1].config
    after = first_reading(model, apply(model, kept, ev("failover", 0))).config
    # The signed-in user waits to re-login; the signed-out one has no session, stays signed
    # out, and does not.
    assert {c.key: c.count for c in after.users if c.home == 0} == {
        (0, NO_NODE, SIGNED_OUT): 1,
        (0, NO_NODE, after.now): 1,
    }
    assert [v.active_users for v in node_views(model, after)][1] == 1  # node 1's own user


def test_signing_in_over_a_kept_session_lands_on_the_serving_node(model: Model) -> None:
    kept = apply(model, p3(), ev("logout", user=(0, 1, NOT_WAITING)))[1].config
    assert kept.count((0, 1, SIGNED_OUT)) == 1
    s = only(apply(model, kept, ev("login", user=(0, 1, SIGNED_OUT))))
    assert s.config.count((0, 1, NOT_WAITING)) == 2


def test_a_sign_out_while_waiting_to_relogin_stops_the_wait_either_way(model: Model) -> None:
    waiting = make_config(
        node("idle", "on_admin_request"),
        node("backup", "on_admin_request"),
        users=cohorts((0, NO_NODE, 900.0, 1), (1, 1, NOT_WAITING, 1)),
        now=1000.0,
    )
    s = only(apply(model, waiting, ev("logout", user=(0, NO_NODE, 900.0))))
    assert s.config.count((0, NO_NODE, SIGNED_OUT)) == 1
    assert deadline(model, s.config) is None  # no re-login to wait for


# -- the signed-out cohort with no session, (home, NO_NODE, SIGNED_OUT) ----------------------
def stopped_at(now: float = 1000.0) -> Config:
    """Both nodes failed: node 0's user signed in, but its re-login found no node (S8)."""
    return make_config(
        node("failed", "critical_service_down"),
        node("failed", "critical_service_down"),
        users=cohorts((0, NO_NODE, NOT_WAITING, 1), (1, NO_NODE, SIGNED_OUT, 1)),
        now=now,
    )


def test_a_sign_out_of_a_stopped_client_signs_it_out(model: Model) -> None:
    """A signed-in client with no session that waits for nothing (a re-login found no node)
    signs out: either reading leaves it signed out with no session, one successor, and it
    counts nowhere as before."""
    config = stopped_at()
    s = only(apply(model, config, ev("logout", user=(0, NO_NODE, NOT_WAITING))))
    assert s.changed and s.moves == (Move((0, NO_NODE, NOT_WAITING), (0, NO_NODE, SIGNED_OUT), 1),)
    assert stopped(s.config, 0) == 0 and signed_out(s.config, 0) == 1
    assert [v.active_users for v in node_views(model, s.config)] == [0, 0]


def test_a_signed_out_client_never_relogs_in(model: Model) -> None:
    config = drive(model, p3(), ev("logout", user=(0, 1, NOT_WAITING)))
    assert not any(isinstance(i, Relogin) for i in enabled(model, config))
    assert deadline(model, config) is None
    with pytest.raises(NotEnabled):
        apply(model, advance(model, config, 5000.0), relogin((0, NO_NODE, SIGNED_OUT)))


def test_a_sign_in_that_finds_no_node_leaves_the_client_signed_in_and_stopped(
    model: Model,
) -> None:
    s = only(apply(model, stopped_at(), ev("login", user=(1, NO_NODE, SIGNED_OUT))))
    assert s.changed and s.config.count((1, NO_NODE, NOT_WAITING)) == 1
    assert signed_out(s.config, 1) == 0 and stopped(s.config, 1) == 1
    assert deadline(model, s.config) is None  # it waits for a sign-in, not a timer


def test_a_second_sign_out_may_end_a_kept_session(model: Model) -> None:
    kept = apply(model, p3(), ev("logout", user=(0, 1, NOT_WAITING)))[1].config
    ended, same = (s.config for s in apply(model, kept, ev("logout", user=(0, 1, SIGNED_OUT))))
    assert ended.count((0, NO_NODE, SIGNED_OUT)) == 1 and ended.count((0, 1, SIGNED_OUT)) == 0
    assert same == kept


# -- once a spec gap: every timer that fires here has a transition to take ------------
def test_srm_restart_on_the_healthy_node_during_an_outage_still_fails_over(model: Model) -> None:
    config = drive(
        model,
        normal(model),
        ev("service_stop", 0, PE),
        (10.0, ev("srm_stop", 1)),
        ev("srm_start", 1),
    )
    assert states(config) == (("normal", "normal"), ("initializing", "initialization"))
    # fire every timer at the end of its window for ten minutes
    while config.timers and config.now < 600.0:
        t = min(config.timers, key=lambda r: r.latest)
        config = advance(model, config, t.latest)
        s = only(apply(model, config, fire(t.name, t.node)))
        assert s.rule is not None, f"{t.name} on node {t.node} fired at t={t.latest:g} unused"
        config = s.config
    assert states(config)[0][0] != "normal"
