"""A brute-force reference for hasm's two judges, used only by tests: a digital-clock explorer
(`explore_digital`) and a digital-clock trace acceptor (`accepts_digital`).

Why digital clocks are enough. Every timing constraint of hasm's spec language is closed with
constants taken from the parameters: a timer fires anywhere in a closed window [min, max], a
client re-logs in anywhere in a closed window, `fires_after` asks for elapsed >= at_least, a
bounded response asks for the goal by <= within. For such systems digitization (Henzinger,
Manna, Pnueli 1992) says that runs with every event at a multiple of 1/k s reach exactly the
discrete states dense time reaches, with the same verdicts, when every constant is a multiple
of 1/k. We try k = `ticks` (2 by default: every whole and half second, so events strictly
between two integer instants are tried too). It is slow on purpose and shares no search logic
with hasm: no `hasm.explorer.explore`, no `hasm.oracle`, no `hasm.core.search`. It uses only the
concrete core (`apply`, `advance`, `enabled`, `forced`, `deadline`, `initial_configs`,
`node_views`) and, from the invariants, the per-configuration and per-step checks and the
detection of bounded-response triggers; bounded responses themselves are brute-forced here.

Time. The core runs with every duration in whole ticks: `digital_model` multiplies each
`seconds` parameter by `ticks` and builds `Model(spec, scaled, monitored, ticks=1)`, so the
model's unit is 1/`ticks` s and its times are integers. That is the same core as
`Model(spec, params, monitored, ticks=K)` (which converts each bound to ticks once), with one
difference that matters: `hasm.explorer.invariants` reads `at_least` (and `within`) in the
model's parameters and compares them with the model's clock, so with `ticks=K` and unscaled
parameters a `fires_after` bound of 2 s would be compared with 2 ticks, and a response's
`within` added to a time in ticks (latent: hasm's own explorer runs in float seconds, where the
two agree). Scaling the parameters keeps the invariants' units and the
clock's the same. It is exact only when every duration expression is a sum of parameters (no
literal constants) and no guard tests a `seconds` parameter: `digital_model` checks both, and
that every duration is a whole number of ticks.
"""

from __future__ import annotations

import io
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from hasm.core.config import NO_NODE, SIGNED_OUT, Cohort, Config, EventInput, Step
from hasm.core.model import Check, Model
from hasm.core.semantics import advance, apply, deadline, enabled, forced, initial_configs, offered
from hasm.core.views import node_views
from hasm.explorer.invariants import (
    Watch,
    check_config,
    check_transition,
    response_triggers,
    watch_start,
    watch_step,
)
from hasm.oracle.oracle import hidden_inputs
from hasm.spec.guards import params_read, spec_guards
from hasm.spec.loader import build_spec
from hasm.spec.model import Expr, Invariant, ParamValue, Spec
from hasm.spec.params import evaluate, resolve_params
from hasm.trace.reader import read_trace
from hasm.trace.records import (
    OBSERVED,
    NodeObservation,
    OfferedObservation,
    TraceEvent,
    TraceObservation,
)

__all__ = [
    "DigitalLimitError",
    "Reference",
    "Witness",
    "accepts_digital",
    "digital_model",
    "explore_digital",
    "normal_form",
]

Pair = tuple[str, str]
ShownPair = tuple[tuple[str, str], tuple[str, str]]


# The canonical spec with every duration a few seconds, keeping the orderings the real defaults
# have and the spec relies on (see tests/slow/test_digital_canonical.py): the scale at which the
# reference checks hasm's judges.
SCALED = {
    "keep_alive_interval_s": 1,
    "keep_alive_timeout_s": 2,
    "initialization_keep_alive_timeout_s": 5,
    "critical_service_down_delay_s": 2,
    "automatic_fallback_delay_s": 3,
    "client_relogin_lower_limit_s": 4,
    "client_relogin_upper_limit_s": 5,
    "transition_min_s": 1,
    "transition_max_s": 2,
}


# -- the small spec and the defects planted in it, for the tests that use the reference --------
SMALL = Path(__file__).parent / "specs" / "small.yaml"
PARAMS = {"service_down_delay_s": 2, "relogin_min_s": 1, "relogin_max_s": 2}


def small_with(extra_parameters: str = "", duration: str = "", invariants: str = "") -> Spec:
    """The small spec with parameters and invariants added and the service_down timer's
    duration replaced, as text."""
    text = SMALL.read_text()
    if extra_parameters:
        text = text.replace("\nservices:\n", f"{extra_parameters}\nservices:\n", 1)
    if duration:
        text = text.replace("    duration: service_down_delay_s\n", f"    duration: {duration}\n")
    if invariants:
        text = text.replace("\nstate_pairs:\n", f"{invariants}\nstate_pairs:\n", 1)
    return build_spec("small-variant", text)


# A timer that may fire early_s before the delay, and an invariant that forbids it.
EARLY = """  early_s:
    cisco_name: (test parameter)
    type: seconds
    default: 0
    range: [0, 600]
    description: How much earlier than the delay the timer may fire (a planted defect).
    source: T1
"""
ONLY_AFTER_DELAY = """  - id: failover_only_after_delay
    statement: No automatic failover before the service has been down for the delay.
    kind: fires_after
    rules: [automatic_failover]
    timer: service_down
    requires: {ha_enabled: true}
    since: {node.monitored_down: true}
    at_least: service_down_delay_s
    source: T1
"""


def in_time(within: str) -> str:
    return f"""  - id: failover_in_time
    statement: After the service stops, the user is on the peer within the bound.
    kind: bounded_response
    on: [service_stop]
    from: {{ha_enabled: true, node.state: normal, peer.state: normal, node.monitored_down: false}}
    when: {{node.monitored_down: true}}
    within: {within}
    sessions: on_peer
    source: T1
"""


# -- the explorer ------------------------------------------------------------------------------


class DigitalLimitError(RuntimeError):
    """The reference reached more states than it was allowed: the parameters are too large for
    brute force (a test should fail loudly rather than run for hours)."""


# -- the model: time in whole ticks ------------------------------------------------------------
def _whole_ticks(value: float, ticks: int, what: str) -> int:
    scaled = Decimal(repr(float(value))) * ticks
    if scaled != scaled.to_integral_value():
        raise ValueError(
            f"{what} = {value:g} s is not a multiple of 1/{ticks} s: digitization needs every "
            "constant on the grid"
        )
    return int(scaled)


def _expressions(spec: Spec) -> Iterator[tuple[str, Expr]]:
    """Every duration expression of the spec: timer windows, fires_after and response bounds."""
    for timer in spec.timers.values():
        yield f"timer {timer.id}.min", timer.duration.min
        yield f"timer {timer.id}.max", timer.duration.max
    for inv in spec.invariants:
        for part, expr in (("at_least", inv.at_least), ("within", inv.within)):
            if expr is not None:
                yield f"invariant {inv.id}.{part}", expr


def digital_model(
    spec: Spec,
    params: Mapping[str, ParamValue],
    monitored: frozenset[str] | None,
    ticks: int,
) -> Model:
    """The core with its clock in 1/`ticks` s as integers: every `seconds` parameter (of the
    complete, resolved `params`) multiplied by `ticks` (see the module docstring for why not
    `Model(..., ticks=K)`). Refuses what would make the scaling inexact."""
    assert ticks >= 1
    seconds = {name for name, p in spec.parameters.items() if p.type == "seconds"}
    for where, expr in _expressions(spec):
        literals = [term for _, term in expr.terms if not isinstance(term, str)]
        if literals:
            raise ValueError(f"{where} has literal constants {literals}: scaling would miss them")
    tested = params_read(spec_guards(spec)) & seconds
    if tested:
        raise ValueError(f"guards test seconds parameters {sorted(tested)}: cannot scale them")
    scaled: dict[str, ParamValue] = {
        name: (_whole_ticks(float(value), ticks, name) if name in seconds else value)
        for name, value in params.items()
    }
    # The tolerance stays 0: the reference judges exactly.
    model = Model(spec, scaled, monitored, ticks=1)
    assert model.tolerance == 0
    return model


# -- the normal form ---------------------------------------------------------------------------
def _watched(spec: Spec) -> tuple[Invariant, ...]:
    """The fires_after invariants a Watch follows, in its order (as hasm.explorer.invariants)."""
    return tuple(i for i in spec.invariants if i.kind == "fires_after" and i.since is not None)


def _needs(model: Model) -> tuple[float, ...]:
    """Each watched invariant's bound in the model's time (its `at_least`, tolerance 0)."""
    out = []
    for inv in _watched(model.spec):
        assert inv.at_least is not None
        out.append(evaluate(inv.at_least, model.params))
    return tuple(out)


def _lows(model: Model) -> dict[str, float]:
    """Each node timer's shortest duration, in the model's time (worked out once per model)."""
    found = _LOWS.get(id(model))
    if found is None or found[0] is not model:
        found = _LOWS[id(model)] = (model, {t.name: t.low for t in model.node_timers})
    return found[1]


_LOWS: dict[int, tuple[Model, dict[str, float]]] = {}


def normal_form(
    model: Model, config: Config, watch: Watch | None = None, needs: tuple[float, ...] = ()
) -> tuple[Any, ...]:
    """`config` (and `watch`) with every time relative to now, and what can no longer matter
    clamped, so that two configurations with one normal form have the same futures up to a
    shift in time and the same verdicts. Why nothing is lost:

    - the semantics is shift-invariant: it reads times only as `now + d` (timers started,
      clients made to wait) and in comparisons of two times (`earliest <= now`,
      `latest <= now`, `waiting_since + low <= now`, the deadline), and times are integers, so
      adding a constant to every time changes no outcome;
    - a timer's `earliest` is read only as `earliest <= now` (may it fire: `prepare`,
      `enabled`) and as a future window edge when it is `> now`; once it is <= now it stays so,
      since the clock never goes back, so "already open" is all that is left: it is clamped to
      now (0). Its `since` is read by no semantics or check (only by timelines), and is
      clamped alike so that since + low = earliest still holds;
    - a timer's `latest` and a waiting client's `waiting_since` are never clamped: they decide
      what is forced and the deadline, and are at most one window old anyway (a timer is
      forced at `latest`, a client at `waiting_since + high`), so they stay bounded;
    - a watch start (since when a fires_after condition has held) is read only as
      `now < start + need` (the rule fired too early); once now - start >= need it stays so,
      so a start older than `need` is clamped to exactly `need` ago: still long enough, and
      never a different verdict. While the condition does not hold the watch is None.

    Every part is then bounded (by the largest window or bound) and the discrete parts are
    finite, so finitely many normal forms exist and the search ends."""
    now = config.now
    lows = _lows(model)
    timers = []
    for t in config.timers:
        earliest = max(t.earliest - now, 0)
        since = max(t.since - now, earliest - lows[t.name])
        timers.append((t.name, t.node, since, earliest, t.latest - now))
    users = tuple(
        (c.home, c.session, None if c.waiting_since < 0 else c.waiting_since - now, c.count)
        for c in config.users
    )
    watched: tuple[Any, ...] = ()
    if watch is not None:
        assert len(watch) == len(needs)
        watched = tuple(
            tuple(None if start is None else max(start - now, -need) for start in starts)
            for starts, need in zip(watch, needs, strict=True)
        )
    return (
        config.ha_enabled,
        config.link_up,
        config.nodes,
        tuple(sorted(timers)),
        tuple(sorted(users)),
        watched,
    )


# -- bounded responses, by brute force -------------------------------------------------------------
def _response_parts(model: Model, inv: Invariant, n: int, before: Config) -> tuple[Check, Any]:
    """The goal, and where the affected users' sessions must be, as `check_response` defines
    them: `on_peer`, at least as many of node n's users on its peer as were active on n before
    the step; otherwise (`home`, and - as check_response reads it - no `sessions` at all)
    every signed-in user (a session, or waiting to re-login) active on its home node."""
    goal = model.compile(inv.goal)
    if inv.sessions == "on_peer":
        affected = sum(c.count for c in before.users if c.home == n and c.session == n)

        def placed(c: Config) -> bool:
            return sum(u.count for u in c.users if u.home == n and u.session == 1 - n) >= affected

        return goal, placed

    def at_home(c: Config) -> bool:
        home = sum(u.count for u in c.users if u.session == u.home)
        signed_in = sum(u.count for u in c.users if u.session != NO_NODE or u.waiting_since >= 0)
        return home >= signed_in

    return goal, at_home


def _response_miss(
    model: Model, inv: Invariant, n: int, before: Config, start: Config
) -> tuple[tuple[Step, ...], Config] | None:
    """A run after the triggering step (only enabled timer firings and re-logins, and the clock
    moving one tick at a time within the deadline) that misses `inv`: it reaches the bound
    (start + within) with nothing forced there and never met the goal with the sessions
    placed. The steps after the trigger and the configuration at the bound, or None.

    This is check_response's meaning on the digital grid: a run meets the response as soon as
    one configuration on it does (nothing past it is explored); at the bound, what is forced
    still happens (a timer due exactly then may bring the goal), and once nothing is forced
    time could pass the bound, so the run misses."""
    assert inv.within is not None
    within = evaluate(inv.within, model.params)
    assert within == int(within), "digital_model makes every bound a whole number of ticks"
    limit = start.now + int(within)
    goal, placed = _response_parts(model, inv, n, before)
    parents: dict[Config, tuple[Config | None, Step | None]] = {start: (None, None)}
    queue = deque([start])
    while queue:
        config = queue.popleft()
        if goal(config, n, None) and placed(config):
            continue
        if config.now >= limit and not forced(model, config):
            steps: list[Step] = []
            at: Config | None = config
            while at is not None:
                parent, via = parents[at]
                if via is not None:
                    steps.append(via)
                at = parent
            return tuple(reversed(steps)), config
        successors: list[tuple[Config, Step | None]] = [
            (s.config, s) for inp in enabled(model, config) for s in apply(model, config, inp)
        ]
        due = deadline(model, config)
        if config.now < limit and (due is None or config.now + 1 <= due):
            successors.append((advance(model, config, config.now + 1), None))
        for nxt, via in successors:
            if nxt not in parents:
                parents[nxt] = (config, via)
                queue.append(nxt)
    return None


# -- the explorer ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Witness:
    """A concrete run that breaks an invariant: the starting point, every step (times in the
    model's ticks), the configuration that shows the violation, and what broke."""

    invariant: str
    start: str
    steps: tuple[Step, ...]
    final: Config
    detail: str


@dataclass(frozen=True)
class Reference:
    """What the digital-clock explorer found. `pairs` are (state of node 0, state of node 1)
    as the SRMs record them and `shown` ((state, reason), (state, reason)) as the page shows
    them, both with their mirror images added (hasm's explorer reports both orientations);
    `rules` the transitions fired; `broken` the invariants some run breaks, each with a
    witness in `witnesses`; `states` the normal forms reached; times are in 1/`ticks` s."""

    ticks: int
    pairs: frozenset[Pair]
    shown: frozenset[ShownPair]
    rules: frozenset[str]
    broken: frozenset[str]
    states: int
    transitions: int
    witnesses: Mapping[str, Witness]


@dataclass(frozen=True, slots=True)
class _Reached:
    config: Config  # the first concrete configuration reached with this normal form
    watch: Watch
    parent: tuple[Any, ...] | None  # the normal form it was first reached from (None: a start)
    step: Step | None  # the step from the parent (None for a start or a tick)
    start: str  # the starting point of its run


def _events(spec: Spec, services: tuple[str, ...]) -> tuple[EventInput, ...]:
    """Every event that names no user, with every node and each of `services` (admin actions
    too: apply has no successor when one is not offered)."""
    out = []
    for event in spec.events.values():
        if "user" in event.fields:
            continue
        nodes: tuple[int | None, ...] = (0, 1) if "node" in event.fields else (None,)
        chosen: tuple[str | None, ...] = services if "service" in event.fields else (None,)
        out += [EventInput(event.id, n, s) for n in nodes for s in chosen]
    return tuple(out)


def _user_events(spec: Spec, config: Config) -> list[EventInput]:
    """Every event that names a user, with every cohort of `config`."""
    return [
        EventInput(event.id, user=c.key)
        for event in spec.events.values()
        if "user" in event.fields
        for c in config.users
    ]


def explore_digital(
    spec: Spec,
    params: Mapping[str, ParamValue] | None = None,
    monitored: frozenset[str] | None = None,
    *,
    max_faults: int = 1,
    ticks: int = 2,
    limit: int = 2_000_000,
    services: tuple[str, ...] | None = None,
) -> Reference:
    """Every normal form reachable on the digital clock of 1/`ticks` s, breadth first, from
    every starting point with one user homed on node 0, with at most `max_faults` faults at
    once; every invariant checked on the way. `params` are overrides (checked as a trace's);
    `monitored` the monitored services (default: the spec's default set).

    Like hasm's explorer (so that the two compare): a configuration that breaks a
    configuration invariant is recorded (its pairs count) but not explored past; a step that
    breaks a step invariant leads nowhere; a bounded response missed is recorded and the
    search goes on. No symmetry reduction: both orientations are explored for real (the user
    is on node 0 only), and the mirror images are added to the pairs reported, as
    `hasm.explorer.explore._explore_variant` does. Raises DigitalLimitError past `limit`
    normal forms. `services` narrows the services stopped and started (default: every
    service of the spec), for a test that must stay short."""
    resolved = resolve_params(spec, dict(params or {}))
    model = digital_model(spec, resolved, monitored, ticks)
    search = _Search(model, max_faults, limit, services)
    search.run()
    pairs, shown = search.pairs, search.shown
    return Reference(
        ticks=ticks,
        pairs=frozenset(pairs | {(b, a) for a, b in pairs}),
        shown=frozenset(shown | {(b, a) for a, b in shown}),
        rules=frozenset(search.rules),
        broken=frozenset(search.witnesses),
        states=len(search.seen),
        transitions=search.transitions,
        witnesses=dict(search.witnesses),
    )


Key = tuple[Any, ...]  # a normal form


class _Search:
    """One breadth-first search over normal forms, each with its first concrete
    configuration, the watch carried along the path to it, and how it was first reached."""

    def __init__(
        self, model: Model, max_faults: int, limit: int, services: tuple[str, ...] | None
    ) -> None:
        self.model, self.max_faults, self.limit = model, max_faults, limit
        self.services = tuple(model.spec.services) if services is None else services
        self.needs = _needs(model)
        self.seen: dict[Key, _Reached] = {}
        self.queue: deque[Key] = deque()
        self.pairs: set[Pair] = set()
        self.shown: set[ShownPair] = set()
        self.rules: set[str] = set()
        self.witnesses: dict[str, Witness] = {}
        # Bounded responses already brute-forced: missed or not, by the invariant, the node,
        # the users affected and the normal form of the configuration they start from (the
        # response reads no history, and its future is the same up to a shift in time).
        self.responses: dict[Key, bool] = {}
        self.transitions = 0

    def run(self) -> None:
        model, spec = self.model, self.model.spec
        starts = [(n, c) for n in spec.initial for c in initial_configs(model, n, (1, 0))]
        for name, config in starts:  # under every answer to the readings, as the verifier
            if config.faults() > self.max_faults:
                continue
            watch = watch_start(model, config)
            key = normal_form(model, config, watch, self.needs)
            if key not in self.seen:
                self.reach(key, _Reached(config, watch, None, None, name))
        # The events tried: each that names no user with every node and every service, but no
        # service stopping or starting on a node that is down (its services all start with it,
        # so they tell nothing apart); then the user events with every cohort, and the timer
        # firings and re-logins open now. An event that names no user and led nowhere (not
        # offered, changing nothing, or past the fault bound) is dropped from the list kept for
        # the nodes, the HA setting and the link: whether it leads anywhere depends on those
        # alone (what is offered and what a world event does read only them, and so do
        # `changed` and `faults()` of the result). Only a saving of time: the same steps are
        # taken without it.
        events = _events(spec, self.services)
        useful: dict[Key, list[EventInput]] = {}
        while self.queue:
            key = self.queue.popleft()
            at = self.seen[key]
            config = at.config
            group = (config.nodes, config.ha_enabled, config.link_up)
            fixed = useful.get(group)
            if fixed is None:
                fixed = useful[group] = [i for i in events if not config.services_of_down_node(i)]
            for inp in [*fixed, *_user_events(spec, config), *enabled(model, config)]:
                kept = [
                    step
                    for step in apply(model, config, inp)
                    if step.changed and step.config.faults() <= self.max_faults
                ]
                if not kept and isinstance(inp, EventInput) and inp.user is None:
                    fixed.remove(inp)
                for step in kept:
                    self.transitions += 1
                    self.edge(key, at, step)
            # One tick of time passing, unless it would pass a deadline (something must fire).
            due = deadline(model, config)
            if due is None or config.now + 1 <= due:
                moved = advance(model, config, config.now + 1)
                self.transitions += 1
                child = normal_form(model, moved, at.watch, self.needs)
                if child not in self.seen:
                    self.reach(child, _Reached(moved, at.watch, key, None, at.start))

    def reach(self, key: Key, reached: _Reached) -> None:
        """A new normal form: record what it shows, check it, and explore it unless broken."""
        self.seen[key] = reached
        if len(self.seen) > self.limit:
            raise DigitalLimitError(
                f"more than {self.limit:,} states on the digital clock: choose smaller parameters"
            )
        config = reached.config
        self.pairs.add((config.nodes[0].state, config.nodes[1].state))
        a, b = node_views(self.model, config)
        self.shown.add(((a.state, a.reason), (b.state, b.reason)))
        broken = check_config(self.model, config)
        for v in broken:
            self.witness(key, v.invariant, v.detail, (), config)
        if not broken:
            self.queue.append(key)

    def edge(self, key: Key, at: _Reached, step: Step) -> None:
        """A step from the normal form `key`: check it and the responses it triggers."""
        model, before = self.model, at.config
        if step.rule is not None:
            self.rules.add(step.rule)
        broken = check_transition(model, before, step, at.watch)
        for v in broken:
            self.witness(key, v.invariant, v.detail, (step,), step.config)
        if broken:
            return
        for inv, n in response_triggers(model, before, step):
            affected = sum(c.count for c in before.users if c.home == n and c.session == n)
            memo = (inv.id, n, affected, normal_form(model, step.config))
            if memo not in self.responses:
                missed = _response_miss(model, inv, n, before, step.config) is not None
                self.responses[memo] = missed
            if self.responses[memo] and inv.id not in self.witnesses:
                # Brute force again from this very step, so the witness has this run's times.
                miss = _response_miss(model, inv, n, before, step.config)
                assert miss is not None
                after, final = miss
                detail = f"triggered at {step.config.now} for node {n}, missed at {final.now}"
                self.witness(key, inv.id, detail, (step, *after), final)
        watch = watch_step(model, at.watch, before, step)
        child = normal_form(model, step.config, watch, self.needs)
        if child not in self.seen:
            self.reach(child, _Reached(step.config, watch, key, step, at.start))

    def witness(
        self, key: Key, invariant: str, detail: str, more: tuple[Step, ...], final: Config
    ) -> None:
        """Keep the first run found that breaks `invariant`: the path to `key`, then `more`."""
        if invariant in self.witnesses:
            return
        steps: list[Step] = []
        at = self.seen[key]
        while at.parent is not None:
            if at.step is not None:  # a tick is no step: the times of the steps show it
                steps.append(at.step)
            at = self.seen[at.parent]
        steps.reverse()
        self.witnesses[invariant] = Witness(invariant, at.start, (*steps, *more), final, detail)


# -- the trace acceptor ----------------------------------------------------------------------------
def _closure(
    model: Model,
    configs: set[Config],
    hidden: tuple[EventInput, ...] = (),
    max_faults: int = 0,
) -> set[Config]:
    """Every configuration reachable at the same instant by timer firings, re-logins and the
    `hidden` events (a trace header's), these within `max_faults` faults at once."""
    out = set(configs)
    queue = deque(configs)
    while queue:
        config = queue.popleft()
        steps = [step for inp in enabled(model, config) for step in apply(model, config, inp)]
        for event in hidden:
            if not config.services_of_down_node(event):
                steps += [s for s in apply(model, config, event) if s.config.faults() <= max_faults]
        for step in steps:
            if step.config not in out:
                out.add(step.config)
                queue.append(step.config)
    return out


def _tick(
    model: Model,
    configs: set[Config],
    hidden: tuple[EventInput, ...] = (),
    max_faults: int = 0,
) -> set[Config]:
    """Every configuration one tick later: hidden steps now, then the clock moving where no
    deadline forbids it (a configuration with something forced now must fire it first, so it
    does not last)."""
    out = set()
    for config in _closure(model, configs, hidden, max_faults):
        due = deadline(model, config)
        if due is None or config.now + 1 <= due:
            out.add(advance(model, config, config.now + 1))
    return out


def _offers(model: Model, config: Config, names: tuple[str, str]) -> dict[str, frozenset[str]]:
    """The administrator actions offered, each with its nodes' names ("" for none)."""
    out: dict[str, set[str]] = {}
    for action in offered(model, config):
        out.setdefault(action.name, set()).add("" if action.node is None else names[action.node])
    return {k: frozenset(v) for k, v in out.items()}


def _node_fits(model: Model, config: Config, index: int, want: NodeObservation) -> bool:
    view = node_views(model, config)[index]
    return (
        (want.state is None or want.state == view.state)
        and (want.reason is None or want.reason == view.reason)
        and (want.assigned_users is None or want.assigned_users == view.assigned_users)
        and (want.active_users is None or want.active_users == view.active_users)
    )


def _offered_fits(
    model: Model, config: Config, names: tuple[str, str], want: OfferedObservation
) -> bool:
    """As the oracle reads `offered`: a list, when given, is the complete set of nodes."""
    offers = _offers(model, config, names)
    if want.failover is not None and want.failover != offers.get("failover", frozenset()):
        return False
    if want.fallback is not None and want.fallback != offers.get("fallback", frozenset()):
        return False
    return want.recover is None or want.recover == bool(offers.get("recover"))


def _shows(
    model: Model,
    config: Config,
    obs: TraceObservation,
    names: tuple[str, str],
    homes: Mapping[str, int],
) -> bool:
    """Does `config` show what `obs` saw? Nodes as node_views shows them; sessions counted per
    (home node, session node) - users are counted, not followed, as the oracle counts them:
    the configuration must have at least as many users of each home on each node (or with no
    session) as the observation names there."""
    for name, want in obs.nodes.items():
        if not _node_fits(model, config, names.index(name), want):
            return False
    if obs.ha_enabled is not None and obs.ha_enabled != config.ha_enabled:
        return False
    if obs.offered is not None and not _offered_fits(model, config, names, obs.offered):
        return False
    need: dict[tuple[int, int], int] = {}
    for user, node in obs.sessions.items():
        key = (homes[user], NO_NODE if node is None else names.index(node))
        need[key] = need.get(key, 0) + 1
    have: dict[tuple[int, int], int] = {}
    for c in config.users:
        have[(c.home, c.session)] = have.get((c.home, c.session), 0) + c.count
    return all(have.get(key, 0) >= n for key, n in need.items())


def _event_inputs(
    config: Config,
    rec: TraceEvent,
    names: tuple[str, str],
    homes: Mapping[str, int],
    signed_in: Mapping[str, bool],
) -> list[EventInput]:
    """The core inputs an event record stands for: a named user is any cohort of its home that
    can hold the user's client as the trace's sign-ins and sign-outs leave it (`signed_in`; a
    user missing from it, either): a signed-out client is in a cohort whose re-login start is
    SIGNED_OUT (a kept session or none), a signed-in one in any other."""
    node = None if rec.node is None else names.index(rec.node)
    if rec.user is None:
        return [EventInput(rec.event, node, rec.service)]
    state = signed_in.get(rec.user)

    def holds(c: Cohort) -> bool:
        return state is None or (c.waiting_since != SIGNED_OUT) == state

    return [
        EventInput(rec.event, node, rec.service, c.key)
        for c in config.users
        if c.home == homes[rec.user] and holds(c)
    ]


def accepts_digital(spec: Spec, trace_text: str, *, ticks: int) -> int | None:
    """Does the trace (format v1) conform, by brute force over concrete configurations on the
    digital clock of 1/`ticks` s? None when it does, else the 1-based line of the first record
    that no behaviour allows.

    Between records every timer fires and every waiting client re-logs in at any tick (and in
    any order at one instant) that its window allows; an event takes every successor of every
    configuration (an admin action not offered has none; an event that changes nothing keeps
    the configuration); an observation keeps the configurations that show it; after each
    record, what may happen at that same instant still may. The header's `hidden` events
    happen at any tick too, as long as at most its bound of faults hold at once (the oracle's
    prose, read again here: hasm.oracle.reaching is not used). Record times must lie on the
    grid.
    The reference judges exactly: no tolerance (the trace format puts none in the header; the
    model's is 0)."""
    header, records = read_trace(io.StringIO(trace_text), spec)
    model = digital_model(spec, header.params, header.monitored, ticks)
    names = header.nodes
    homes = {user: names.index(home) for user, home in header.users.items()}
    counts = (sum(h == 0 for h in homes.values()), sum(h == 1 for h in homes.values()))
    # Under every answer to the spec's readings, as the oracle starts (a trace conforms if one
    # explains it).
    configs = set(initial_configs(model, header.initial, counts))
    hidden = hidden_inputs(model, header.hidden.events) if header.hidden is not None else ()
    bound = header.hidden.faults if header.hidden is not None else 0
    # Every client starts signed in; each sign-in or sign-out record says where it is next.
    signed_in = dict.fromkeys(homes, True) if header.initial != OBSERVED else {}
    now = 0
    for rec in records:
        at = _whole_ticks(rec.t, ticks, f"the time of line {rec.line}")
        assert at >= now, "the reader refuses a record earlier than the one before"
        while now < at:
            configs = _tick(model, configs, hidden, bound)
            now += 1
        configs = _closure(model, configs, hidden, bound)
        if isinstance(rec, TraceEvent):
            after = {
                step.config
                for config in configs
                for inp in _event_inputs(config, rec, names, homes, signed_in)
                for step in apply(model, config, inp)
            }
            effects = set(spec.events[rec.event].effects)
            if rec.user is not None and effects and effects <= {"login"}:
                signed_in[rec.user] = True
            elif rec.user is not None and effects and effects <= {"logout", "logout_keep_session"}:
                signed_in[rec.user] = False
        else:
            after = {c for c in configs if _shows(model, c, rec, names, homes)}
        if not after:
            return rec.line
        configs = after
    return None
