"""The one semantics of a spec: pure functions from a configuration and an input to successors.

The simulator, the transitions machine and (later) the oracle and the explorer all call these
and nothing else to learn what the spec does. Nothing here draws a random number or reads a
clock: what the spec leaves open comes out as a choice with bounds (`enabled`, `deadline`).

Order within one step: the event's effect on the world; then the transitions whose trigger and
guard match (the guard sees the world after the effect; an admin event with no matching
transition is not offered); then sessions on a node that no longer serves them end, and their
clients start waiting to re-login; then every node timer whose condition became true starts and
every one whose condition became false is cancelled.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from hasm.core.config import (
    NO_NODE,
    NOT_WAITING,
    SIGNED_OUT,
    Cohort,
    Config,
    EventInput,
    Fire,
    Input,
    Move,
    Node,
    Relogin,
    RunningTimer,
    Step,
    Undecided,
    UserKey,
)
from hasm.core.model import Model
from hasm.errors import ClockError, NotEnabled
from hasm.spec.model import (
    USER_EFFECTS,
    ReasonChoice,
    Target,
    Transition,
)

__all__ = [
    "Prepared",
    "advance",
    "apply",
    "deadline",
    "enabled",
    "forced",
    "initial_config",
    "initial_configs",
    "matching",
    "move_users",
    "next_instant",
    "offered",
    "outcome",
    "prepare",
    "window_edges",
]


# -- starting points ----------------------------------------------------------------------------
def initial_config(
    model: Model,
    start: str,
    users_per_home: tuple[int, int] = (0, 0),
    readings: frozenset[str] = frozenset(),
    undecided: frozenset[str] = frozenset(),
) -> Config:
    """A starting point of trace format v1 (`ha_disabled` or `normal`), every user signed in and
    active on its home node, both nodes answering yes to `readings` (by default, to none) and
    leaving `undecided` open (Undecided if settling needs one of them)."""
    point = model.spec.initial[start]
    node = Node(point.state, point.reason, readings=readings, undecided=undecided)
    users = tuple(
        Cohort(home, home, NOT_WAITING, count)
        for home, count in enumerate(users_per_home)
        if count > 0
    )
    start_time = 0 if model.ticks is not None else 0.0  # ticks are integers throughout
    config = Config(start_time, point.ha_enabled, True, (node, node), (), users)
    return _settle(model, config)[0]


def initial_configs(
    model: Model, start: str, users_per_home: tuple[int, int] = (0, 0), *, lazy: bool = False
) -> tuple[Config, ...]:
    """The starting point under every answer to the spec's readings: where a behaviour may
    start when nothing says how the system reads Cisco's open questions. With no users, a
    reading that only says whom a node serves (`Model.hosting_readings`) changes nothing: it
    keeps its default answer, no, and the behaviours are not carried twice.

    `lazy`: the readings are left open (`Node.undecided`), each answered only where starting
    needs it: usually one configuration that stands for every answer."""
    if lazy:
        out: list[Config] = []
        todo = [(frozenset[str](), frozenset(model.spec.readings))]
        while todo:
            yes, undecided = todo.pop()
            try:
                out.append(initial_config(model, start, users_per_home, yes, undecided))
            except Undecided as need:
                rest = undecided - {need.reading}
                todo += [(yes | {need.reading}, rest), (yes, rest)]
        return tuple(out)
    choices = model.reading_choices
    if not any(users_per_home):
        choices = tuple(r for r in choices if r.isdisjoint(model.hosting_readings))
    return tuple(initial_config(model, start, users_per_home, r) for r in choices)


# -- what may happen now -------------------------------------------------------------------------
def deadline(model: Model, config: Config) -> float | None:
    """The latest time the clock may reach before something must fire, or None."""
    times = [t.latest for t in config.timers]
    times += [c.waiting_since + model.relogin_high for c in config.users if c.waiting_since >= 0]
    return min(times) if times else None


def window_edges(model: Model, config: Config) -> list[float]:
    """Every time after now at which a running timer's window or a waiting client's re-login
    window opens or closes: the instants at which what may happen changes."""
    now = config.now
    times = [x for t in config.timers for x in (t.earliest, t.latest) if x > now]
    times += [
        x
        for c in config.users
        if c.waiting_since >= 0
        for x in model.relogin_window(c.waiting_since)
        if x > now
    ]
    return times


def next_instant(model: Model, config: Config) -> float | None:
    """The next time after now at which something becomes possible or due; None when something
    must fire first."""
    due = deadline(model, config)
    if due is not None and due <= config.now:
        return None
    times = window_edges(model, config)
    return min(times) if times else None


def enabled(model: Model, config: Config) -> tuple[Fire | Relogin, ...]:
    """The internal choices open now: timers inside their window, clients allowed to re-login."""
    now = config.now
    fires: list[Fire | Relogin] = [Fire(t.name, t.node) for t in config.timers if t.earliest <= now]
    fires += [
        Relogin(c.key)
        for c in config.users
        if c.waiting_since >= 0 and c.waiting_since + model.relogin_low <= now
    ]
    return tuple(fires)


def forced(model: Model, config: Config) -> tuple[Fire | Relogin, ...]:
    """The choices that must be taken before time can pass: their window closes now."""
    now = config.now
    out: list[Fire | Relogin] = [Fire(t.name, t.node) for t in config.timers if t.latest <= now]
    out += [
        Relogin(c.key)
        for c in config.users
        if c.waiting_since >= 0 and c.waiting_since + model.relogin_high <= now
    ]
    return tuple(out)


def advance(model: Model, config: Config, time: float) -> Config:
    """The configuration at `time`: nothing happens on the way, so `time` may not pass a deadline."""
    if time < config.now:
        raise ClockError(f"the virtual clock cannot go back from t={config.now:g} to t={time:g}")
    limit = deadline(model, config)
    if limit is not None and time > limit:
        raise ClockError(f"t={time:g} passes the deadline t={limit:g}; fire what is due first")
    if time == config.now:
        return config
    return Config(
        time if model.ticks is not None else float(time),
        config.ha_enabled,
        config.link_up,
        config.nodes,
        config.timers,
        config.users,
    )


def offered(model: Model, config: Config) -> tuple[EventInput, ...]:
    """The administrator actions the spec offers now, e.g. failover of node 0."""
    key = (config.nodes, config.ha_enabled, config.link_up)  # all an admin guard can read
    found = model.memo_offers.get(key)
    if found is None:
        found = model.memo_offers.keep(key, _offered(model, config))
    return found


def _offered(model: Model, config: Config) -> tuple[EventInput, ...]:
    out = []
    for event in model.spec.events.values():
        if event.kind != "admin":
            continue
        choices = (
            [EventInput(event.id, node=n) for n in (0, 1)]
            if "node" in event.fields
            else [EventInput(event.id)]
        )
        out += [c for c in choices if matching(model, prepare(model, config, c))]
    return tuple(out)


# -- applying an input -----------------------------------------------------------------------------
def apply(model: Model, config: Config, inp: Input, *, timed: bool = True) -> tuple[Step, ...]:
    """Every successor of `config` under `inp`. An admin event the spec does not offer has none;
    a timer outside its window or an unknown cohort raises NotEnabled.

    With `timed=False` the times of `config` are not read: a timer fires, or clients re-login,
    whatever their windows say - for hasm.core.symbolic, whose zones say when they may (the
    times of such a configuration name clocks, not instants)."""
    if isinstance(inp, Relogin):
        return (_relogin(model, config, inp, timed),)
    if isinstance(inp, EventInput) and inp.name in model.branching:
        # User effects only (the loader sees to it): no rule, one successor per outcome.
        outcomes = (
            outcome(model, prepare(model, config, inp, effect=e), None, None)
            for e in model.spec.events[inp.name].effects
        )
        return tuple({step.config: step for step in outcomes}.values())
    prepared = prepare(model, config, inp, timed=timed)
    if not prepared.changed:
        return (outcome(model, prepared, None, None),)
    matches: Sequence[tuple[Transition | None, int | None]] = matching(model, prepared)
    if prepared.admin and not matches:
        return ()
    steps: dict[Config, Step] = {}
    for rule, n in matches or [(None, None)]:
        step = outcome(model, prepared, rule, n)
        steps.setdefault(step.config, step)
    return tuple(steps.values())


@dataclass(frozen=True, slots=True)
class Prepared:
    """An event or timer about to be matched against the transitions: the world after its own
    effect, which the guards see, and the nodes that may play `node`."""

    inp: EventInput | Fire
    trigger: str
    world: Config
    event: EventInput | None  # what guards see as the event (None for a timer)
    bindings: tuple[int, ...]
    moves: tuple[Move, ...] = ()
    fired: RunningTimer | None = None
    admin: bool = False  # offered only where a transition takes it
    changed: bool = True  # False: an environment event that found nothing to change
    nodes_changed: bool = True  # False: only users changed (a sign-in or sign-out)


def prepare(
    model: Model,
    config: Config,
    inp: EventInput | Fire,
    *,
    timed: bool = True,
    effect: str | None = None,
) -> Prepared:
    """The first half of a step: check the input, take a fired timer off, apply the effect
    (`timed`: see `apply`; `effect`: one of the event's alternatives instead of its own)."""
    if isinstance(inp, Fire):
        running = config.timer(inp.timer, inp.node)
        if running is None or (timed and running.earliest > config.now):
            raise NotEnabled(
                f"timer {inp.timer} on node {inp.node} cannot fire at t={config.now:g}"
            )
        timers = tuple(t for t in config.timers if t is not running)
        world = _with(config, timers=timers)
        return Prepared(inp, inp.timer, world, None, (inp.node,), fired=running)
    event = model.spec.events.get(inp.name)
    if event is None:
        raise NotEnabled(f"unknown event '{inp.name}'")
    bindings = (inp.node,) if inp.node is not None and "node" in event.fields else (0, 1)
    if event.kind == "admin":
        return Prepared(inp, inp.name, config, inp, bindings, admin=True)
    world, moves = _effect(model, config, effect or event.effect, inp)
    nodes_changed = (world.nodes, world.ha_enabled, world.link_up) != (
        config.nodes,
        config.ha_enabled,
        config.link_up,
    )
    return Prepared(
        inp,
        inp.name,
        world,
        inp,
        bindings,
        moves,
        changed=world != config,
        nodes_changed=nodes_changed,
    )


def matching(model: Model, prepared: Prepared) -> tuple[tuple[Transition, int], ...]:
    """The transitions whose trigger and guard match, each with the node playing `node`, in
    spec order (node 0 before node 1)."""
    if not prepared.changed:
        return ()
    world, event = prepared.world, prepared.event
    key = (
        prepared.trigger,
        prepared.bindings,
        world.nodes,
        world.ha_enabled,
        world.link_up,
        event is None,
        None if event is None else event.service,
    )
    found = model.memo_matches.get(key)
    if found is None:
        found = model.memo_matches.keep(
            key,
            tuple(
                (rule.transition, n)
                for rule in model.rules.get(prepared.trigger, ())
                for n in prepared.bindings
                if rule.check(world, n, event)
            ),
        )
    return found


def outcome(model: Model, prepared: Prepared, rule: Transition | None, n: int | None) -> Step:
    """The second half of a step: fire `rule` with node `n` (or none), end unserved sessions,
    start and cancel timers."""
    if not prepared.changed:
        return Step(prepared.inp, prepared.world, None, None, changed=False)
    world = prepared.world
    if rule is None and not prepared.nodes_changed:
        # Only users moved (a sign-in lands on a serving node, a sign-out ends a session): no
        # timer condition reads users, and no session is left unserved, so nothing to settle.
        return Step(prepared.inp, world, None, None, (), (), prepared.moves, prepared.fired)
    reassigned: tuple[Move, ...] = ()
    if rule is not None and n is not None:
        world = _fire_rule(model, world, rule, n, prepared.event)
        if _REASSIGN in rule.effects:
            world, reassigned = _reassign_users(world, 1 - n, n)
    settled, started, cancelled, dropped = _settle(model, world)
    rule_id = rule.id if rule is not None else None
    moves = prepared.moves + reassigned + dropped
    return Step(prepared.inp, settled, rule_id, n, started, cancelled, moves, prepared.fired)


def _reason(
    model: Model, world: Config, target: Target, n: int, event: EventInput | None
) -> str | None:
    if isinstance(target.reason, ReasonChoice):
        holds = model.reason_checks[target.reason](world, n, event)
        return target.reason.then if holds else target.reason.otherwise
    return target.reason


def _fire_rule(
    model: Model, world: Config, t: Transition, n: int, event: EventInput | None
) -> Config:
    nodes = list(world.nodes)
    for index, target in ((n, t.node), (1 - n, t.peer)):
        reason = _reason(model, world, target, n, event)
        if target.state is not None or reason is not None:
            old = nodes[index]
            nodes[index] = dataclasses.replace(
                old, state=target.state or old.state, reason=reason or old.reason
            )
    ha = world.ha_enabled
    for effect in t.effects:
        if effect == "enable_ha":
            ha = True
        elif effect == "disable_ha":
            ha = False
        elif effect == "start_services":
            nodes = [dataclasses.replace(x, stopped=frozenset()) if x.up else x for x in nodes]
        elif effect == "start_node_services":  # the event's or timer's node only
            if nodes[n].up:
                nodes[n] = dataclasses.replace(nodes[n], stopped=frozenset())
        elif effect == "start_srm":
            nodes = [dataclasses.replace(x, srm=True) if x.up else x for x in nodes]
    return _with(world, ha_enabled=ha, nodes=(nodes[0], nodes[1]))


# The transition effect of specs for releases before 10 (specs/imp-ha-pre10.yaml), where a
# failover moved the user assignment itself: every user assigned to the peer gets the node as
# its home. Its moves change the users' home, which a `home_fixed` invariant reports.
_REASSIGN = "reassign_peer_users"


def _reassign_users(config: Config, source: int, target: int) -> tuple[Config, tuple[Move, ...]]:
    """Every cohort homed on `source` rehomed on `target`, sessions and waits kept."""
    moves = tuple(
        Move(c.key, (target, c.session, c.waiting_since), c.count)
        for c in config.users
        if c.home == source
    )
    for m in moves:
        config = _move(config, m.source, m.target, m.count)
    return config, moves


# -- the world's own changes -------------------------------------------------------------------------
def _effect(
    model: Model, config: Config, effect: str | None, inp: EventInput
) -> tuple[Config, tuple[Move, ...]]:
    if effect in USER_EFFECTS:
        return _user_effect(model, config, effect, inp)
    if effect == "link_down":
        return _with(config, link_up=False), ()
    if effect == "link_up":
        return _with(config, link_up=True), ()
    assert inp.node is not None  # the loader ties node effects to a node field
    node = config.nodes[inp.node]
    if effect == "stop_service":
        new = dataclasses.replace(node, stopped=node.stopped | {inp.service or ""})
    elif effect == "start_service":
        new = dataclasses.replace(node, stopped=node.stopped - {inp.service or ""})
    elif effect == "node_down":
        new = dataclasses.replace(node, up=False, srm=False)
    elif effect == "node_up":
        new = node if node.up else dataclasses.replace(node, up=True, srm=True, stopped=frozenset())
    elif effect == "srm_stop":
        new = dataclasses.replace(node, srm=False)
    else:  # srm_start: only a node that is up can start a service
        new = dataclasses.replace(node, srm=True) if node.up else node
    if new == node:
        return config, ()
    nodes = (new, config.nodes[1]) if inp.node == 0 else (config.nodes[0], new)
    return _with(config, nodes=nodes), ()


def _user_effect(
    model: Model, config: Config, effect: str, inp: EventInput
) -> tuple[Config, tuple[Move, ...]]:
    key = inp.user
    if key is None or config.count(key) == 0:
        raise NotEnabled(f"no user in cohort {key}")
    home, session, since = key
    if effect == "logout":
        target = (home, NO_NODE, SIGNED_OUT)
    elif effect == "logout_keep_session":
        # The client signs out; a session it holds stays, counted, until its node stops serving
        # it. A client with no session (or one waiting to re-login) is only signed out.
        target = (home, session, SIGNED_OUT)
    elif session != NO_NODE and since != SIGNED_OUT:
        return config, ()  # signing in while signed in changes nothing
    else:
        # A signed-out client, or a signed-in one with no session (waiting, or stopped): it
        # logs in to the serving node; if none serves its home it is signed in and stopped.
        target = (home, model.serving(config, home), NOT_WAITING)
    if target == key:
        return config, ()
    return _move(config, key, target, 1), (Move(key, target, 1),)


def _relogin(model: Model, config: Config, inp: Relogin, timed: bool = True) -> Step:
    home, _, since = inp.user
    n = inp.count
    early = timed and since + model.relogin_low > config.now
    if since < 0 or not 1 <= n <= config.count(inp.user) or early:
        raise NotEnabled(f"no {n} client(s) of cohort {inp.user} may re-login at t={config.now:g}")
    target = (home, model.serving(config, home), NOT_WAITING)
    # A re-login lands on a serving node and changes no node, so no session or timer moves.
    return Step(
        inp, _move(config, inp.user, target, n), None, None, moves=(Move(inp.user, target, n),)
    )


def _with(
    config: Config,
    *,
    ha_enabled: bool | None = None,
    link_up: bool | None = None,
    nodes: tuple[Node, Node] | None = None,
    timers: tuple[RunningTimer, ...] | None = None,
) -> Config:
    """`config` with the given parts replaced: what dataclasses.replace does, several times
    faster, for the steps every search takes."""
    return Config(
        config.now,
        config.ha_enabled if ha_enabled is None else ha_enabled,
        config.link_up if link_up is None else link_up,
        config.nodes if nodes is None else nodes,
        config.timers if timers is None else timers,
        config.users,
    )


def _move(config: Config, source: UserKey, target: UserKey, count: int) -> Config:
    """`count` users from cohort `source` to cohort `target`; cohorts stay sorted.

    On the hot path of every re-login, so it rebuilds one small tuple by hand instead of going
    through dataclasses.replace, which costs several times more."""
    users: list[Cohort] = []
    placed = False
    for c in config.users:
        key = c[:3]
        if not placed and target < key:
            users.append(Cohort(*target, count))
            placed = True
        if key == source:
            if c.count > count:
                users.append(Cohort(*source, c.count - count))
        elif key == target:
            users.append(Cohort(*target, c.count + count))
            placed = True
        else:
            users.append(c)
    if not placed:
        users.append(Cohort(*target, count))
    return Config(
        config.now, config.ha_enabled, config.link_up, config.nodes, config.timers, tuple(users)
    )


def _settle(
    model: Model, config: Config
) -> tuple[Config, tuple[RunningTimer, ...], tuple[RunningTimer, ...], tuple[Move, ...]]:
    """End sessions no longer served, then start and cancel node timers by their conditions."""
    # A signed-out client whose kept session ends stays signed out and does not re-login.
    moves = [
        Move(
            c.key,
            (c.home, NO_NODE, SIGNED_OUT if c.waiting_since == SIGNED_OUT else config.now),
            c.count,
        )
        for c in config.users
        if c.session != NO_NODE and not model.hosts_user(config, c.session, c.home)
    ]
    for m in moves:
        config = _move(config, m.source, m.target, m.count)
    started: list[RunningTimer] = []
    cancelled: list[RunningTimer] = []
    kept: list[RunningTimer] = []
    due, wanted = _timers_due(model, config)
    if len(config.timers) == len(wanted) and all((t.name, t.node) in wanted for t in config.timers):
        return config, (), (), tuple(moves)  # what runs is what should
    runs = {(t.name, t.node): t for t in config.timers} if config.timers else None
    i = 0
    for spec_timer in model.node_timers:
        for n in (0, 1):
            running = runs.get((spec_timer.name, n)) if runs else None
            should = due[i]
            i += 1
            if should and running is None:
                now = config.now
                new = RunningTimer(
                    spec_timer.name, n, now, now + spec_timer.low, now + spec_timer.high
                )
                started.append(new)
                kept.append(new)
            elif running is not None and not should:
                cancelled.append(running)
            elif running is not None:
                kept.append(running)
    if started or cancelled:
        config = _with(config, timers=tuple(sorted(kept)))
    return config, tuple(started), tuple(cancelled), tuple(moves)


def _timers_due(
    model: Model, config: Config
) -> tuple[tuple[bool, ...], frozenset[tuple[str, int]]]:
    """For each node timer and node (in that order), whether its condition holds, and the
    (timer, node) of those that hold: it reads only the nodes and the group, so it is
    remembered by them."""
    key = (config.nodes, config.ha_enabled, config.link_up)
    found = model.memo_timers_due.get(key)
    if found is None:
        due = tuple(t.check(config, n, None) for t in model.node_timers for n in (0, 1))
        wanted = frozenset(
            (t.name, n)
            for i, (t, n) in enumerate((t, n) for t in model.node_timers for n in (0, 1))
            if due[i]
        )
        found = model.memo_timers_due.keep(key, (due, wanted))
    return found


def move_users(config: Config, source: UserKey, target: UserKey, count: int) -> Config:
    """`count` users moved from cohort `source` to cohort `target`, nothing else changed (the
    oracle's ranges of re-login counts stand for such moves)."""
    return _move(config, source, target, count) if count else config
