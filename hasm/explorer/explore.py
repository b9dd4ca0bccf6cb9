"""Exhaustive breadth-first exploration of a spec's finite abstraction: every invariant checked
on every reachable configuration and step, the shortest counterexample as a trace.

The abstraction (what "every" means here):

- **One user.** Users never steer the nodes: no guard, timer condition or node effect of the
  spec language can read a user, so the nodes' runs are the same whoever is signed in. Nor do
  users steer each other: a client's session follows the nodes and its own re-login window. So
  every run of many users is, user by user, a run of one user beside the same nodes, and every
  user invariant is a statement about each user (home, session, count; a bounded response asks
  it of every affected user). One user homed on node 0 is explored; with the symmetry below, its
  mirror image is the user homed on node 1. Users of one home are interchangeable in the core
  (it keeps cohorts, not names), so more users add counts, not behaviours.
- **Services by what the spec can tell apart.** A service that no guard names behaves like any
  other such service, so the explorer stops and starts every service a guard names and one
  representative of the other monitored services; services nobody monitors change nothing and
  are left out.
- **Time as the order of deadlines.** A configuration is identified not by its times but by
  the order of what is pending - each running timer's earliest and latest firing, each waiting
  client's re-login window opening and closing, each watched condition's bound - ranked among
  themselves, ties kept; what is already past is only past (a window that has opened is open,
  however long ago). The clock moves only to the next such instant, and at each
  one every event, admin action, timer and re-login is tried in every order. Two configurations
  with the same discrete part and the same order are one state, and the first reached stands for
  both: the search continues from its concrete times, so every path is a real run of the spec
  (a counterexample replays), while a behaviour open only to the other's exact times (a new
  deadline falling between two old ones in one and not in the other) is not explored. There are
  finitely many discrete parts and orders, so the search ends. Events strictly between two
  instants are not tried; `tests/quality/test_stateful.py` drives the core just before, at and just
  after each deadline.
- **Symmetry.** A spec is written once for `node` and `peer`, so a configuration and its mirror
  image (the nodes swapped) are one state; what is reported is completed with the mirror images.
- **Any number of events, a bounded number of faults at once.** Runs are unbounded: faults,
  repairs, sign-ins and sign-outs, administrator actions, timers and re-logins, in any number
  and order. What is bounded is how many faults the environment has *at once* (`max_faults`,
  default 1 - a single fault at a time, the failure a redundancy group of two is built to
  survive): a stopped service, a node down, SRM stopped on a running node and the link down
  each count one (`Config.faults`). A service does not stop or start on a node that is down:
  its services start with it (the core's node_up), so those events would tell nothing apart.
- **History the invariants need.** The `fires_after` invariants watch since when their condition
  has held; that watch is part of the state (clamped once it reaches its bound, so it stays
  finite).
- **Parameter variants that change behaviour.** Every boolean parameter a guard reads, both
  ways, and every set of monitored services that differs in a service a guard names (the default
  set, and the default set with each named service added or removed), unless `params` fixes it.
  A guard reads its terms in order and stops at the first that fails, so a switch that no guard
  read while one variant was explored changed nothing there: the variant with it flipped is the
  same exploration and is not run again (`VariantResult.same_as`).
  A variant that stops only services another variant stops too, and monitors each of them just
  as that one does, has no run the other lacks (see _within): it is covered by the other's
  exploration and not run (`VariantResult.within`) - unless the other breaks an invariant.

Bounded liveness (`bounded_response` invariants) is checked at every step that triggers one:
every run from there in which only timers fire and clients re-login (no further event) must
reach the goal within the bound (see hasm/invariants.py).

The first configuration reached of each abstract state stands for it; breadth-first order makes
the path to it, and so every counterexample, as short as possible in steps.
"""

from __future__ import annotations

import dataclasses
import io
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from hasm.core.config import Config, EventInput, Input, Node, Relogin, Step
from hasm.core.search import (
    Inputs,
    bounded,
    mirror_node,
    mirror_session,
    path,
    searched_services,
    settings,
    switches,
)
from hasm.core.semantics import (
    Model,
    advance,
    apply,
    default_monitored,
    enabled,
    initial_config,
    next_instant,
    window_edges,
)
from hasm.core.views import node_views
from hasm.explorer.invariants import (
    ResponseFailure,
    Violation,
    Watch,
    check_config,
    check_response,
    check_transition,
    documented_rows,
    response_triggers,
    watch_deadlines,
    watch_start,
    watch_step,
)
from hasm.parallel import parallel_map, process_count
from hasm.spec.guards import named_services
from hasm.spec.model import ParamValue, Spec
from hasm.spec.params import resolve_params
from hasm.trace.records import ObservationLine, Record, encode_line, number
from hasm.trace.writer import TraceWriter

__all__ = [
    "NODE_NAMES",
    "Bounds",
    "Counterexample",
    "Exploration",
    "Variant",
    "VariantResult",
    "explore",
    "variants",
]

# Names for the two nodes and the one user (homed on node 0), in counterexample traces.
NODE_NAMES = ("node0", "node1")
USER_NAMES = ("user0",)
# How many faults (stopped services, nodes down, SRMs stopped, the link down) may hold at once.
MAX_FAULTS = 1

Pair = tuple[str, str]
PairEdge = tuple[Pair, str, Pair]
ShownPair = tuple[tuple[str, str], tuple[str, str]]
Progress = Callable[["VariantResult"], None]


@dataclass(frozen=True)
class Bounds:
    """How far one variant's search goes: how many faults may hold at once, and whether it ends
    at the first invariant broken (the default goes on, to name every invariant broken)."""

    max_faults: int = MAX_FAULTS
    first: bool = False


@dataclass(frozen=True)
class Variant:
    """One parameter variant: every parameter's value and the monitored services."""

    params: Mapping[str, ParamValue]
    monitored: frozenset[str]
    label: str  # what sets it apart, e.g. "enable_automatic_fallback=true; monitored: ..."


@dataclass(frozen=True)
class Counterexample:
    """The shortest run of a variant that breaks an invariant: the start, every step, and the
    violation at the last one. `trace` is the run in trace format v1."""

    variant: Variant
    violation: Violation
    start_name: str  # the starting point of trace format v1
    start: Config
    steps: tuple[Step, ...]
    final: Config  # the configuration that shows the violation (after the last step)
    trace: str


@dataclass(frozen=True)
class VariantResult:
    """What exploring one variant found."""

    variant: Variant
    states: int
    transitions: int
    depth: int
    seconds: float
    pairs: frozenset[Pair]
    violations: tuple[Counterexample, ...]  # the shortest of each invariant broken, in order
    read: frozenset[str] = frozenset()  # the parameters some guard read on the way
    same_as: int | None = None  # the variant (index) whose exploration stands for this one
    # The variant (index) whose runs include every run of this one, which was not explored.
    within: int | None = None

    @property
    def violation(self) -> Counterexample | None:
        """The shortest counterexample found, if any invariant is broken."""
        return self.violations[0] if self.violations else None


@dataclass(frozen=True)
class Exploration:
    """Everything reachable in the spec's finite abstraction, over all explored variants.

    `pairs` are (state of node 0, state of node 1) as the nodes' SRMs record them (state ids);
    `pair_edges` are (pair before, transition id, pair after) for every step that fired a
    transition; `shown_pairs` are ((state, reason), (state, reason)) as the page shows them (an
    unreachable node as the spec's `display` says)."""

    pairs: frozenset[Pair]
    pair_edges: frozenset[PairEdge]
    shown_pairs: frozenset[ShownPair] = frozenset()
    documented: frozenset[str] = frozenset()  # the P-rows reached
    undocumented: frozenset[Pair] = frozenset()  # shown states (sorted) matching no P-row
    rules: frozenset[str] = frozenset()  # the transitions that fired
    variants: tuple[VariantResult, ...] = ()
    states: int = 0
    transitions: int = 0
    depth: int = 0
    seconds: float = 0.0
    violations: tuple[Counterexample, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def states_per_second(self) -> float:
        return self.states / self.seconds if self.seconds > 0 else 0.0


# -- variants ------------------------------------------------------------------------------------
def variants(
    spec: Spec,
    params: Mapping[str, ParamValue] | None = None,
    monitored: frozenset[str] | None = None,
) -> tuple[Variant, ...]:
    """The parameter variants that change behaviour, with `params` (overrides, checked) and
    `monitored` fixed where given."""
    fixed = dict(params or {})
    base = resolve_params(spec, fixed, file="--param", path="param")
    # Every boolean parameter any guard reads (of a transition, a reason choice, a timer, an
    # invariant), false first.
    flags = switches(spec, fixed)
    named = named_services(spec)
    out: list[Variant] = []
    for setting in settings(spec, flags, default_first=False):
        chosen = {**base, **setting}
        if monitored is not None:
            sets = [monitored]
        else:
            default = default_monitored(spec, chosen)
            sets = [default]
            for service in sorted(named):
                other = default ^ {service}
                if other and other not in sets:
                    sets.append(other)
        for services in sets:
            words = [f"{n}={'true' if chosen[n] else 'false'}" for n in flags]
            words.append("monitored: " + (", ".join(sorted(services)) or "none"))
            out.append(Variant(chosen, frozenset(services), "; ".join(words)))
    return tuple(out)


# -- the search ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Node:
    """A reached abstract state: its representative configuration, the watch, and how the
    breadth-first search first got there."""

    config: Config
    watch: Watch
    parent: Any  # the parent's key, or None for a start
    step: Step | None  # the step from the parent (None for a start or a clock move)
    depth: int
    start: str


def _node_key(ids: dict[Node, int], node: Node) -> int:
    """Each distinct node as a small number, in the order first met in one search (`ids`): a
    key of numbers hashes and compares faster than one of nested tuples. Any fixed order
    serves to pick one of a configuration and its mirror image; which one is picked changes
    no result."""
    key = ids.get(node)
    if key is None:
        key = ids[node] = len(ids)
    return key


def _key(
    ids: dict[Node, int], model: Model, config: Config, watch: Watch, symmetric: bool = True
) -> tuple[Any, ...]:
    """The abstract state: the configuration with its pending deadlines replaced by their order
    (ranks among themselves from 1, ties kept; 0 for one already reached, which is only open or
    due), and the watch - and of a configuration and its mirror image (the nodes swapped), the
    smaller, since a spec is written once for `node` and `peer` and so cannot tell them apart."""
    now = config.now
    thresholds = watch_deadlines(model, config, watch)
    points = [x for x in thresholds if x is not None and x > now]
    points += window_edges(model, config)
    rank = {x: i for i, x in enumerate(sorted(set(points)), 1)}
    a, b = _node_key(ids, config.nodes[0]), _node_key(ids, config.nodes[1])
    timers = [
        (t.node, t.name, rank.get(t.earliest, 0), rank.get(t.latest, 0)) for t in config.timers
    ]
    users = []
    for c in config.users:
        if c.waiting_since >= 0:
            opens, closes = model.relogin_window(c.waiting_since)
            users.append((c.home, c.session, rank.get(opens, 0), rank.get(closes, 0), c.count))
        else:
            users.append((c.home, c.session, -1, -1, c.count))
    # A watched condition: not holding (-1), held long enough (-2), or until which deadline.
    watched = tuple([-1 if x is None else -2 if x <= now else rank[x] for x in thresholds])
    common = (config.ha_enabled, config.link_up)
    # Of the two orientations the smaller: the nodes decide unless they are alike.
    if not symmetric or a < b:
        return (*common, (a, b), tuple(timers), tuple(users), watched)
    mirror = (
        *common,
        (b, a),
        tuple(sorted((mirror_node(n), *rest) for n, *rest in timers)),
        tuple(sorted((mirror_node(h), mirror_session(s), *rest) for h, s, *rest in users)),
        tuple([x for i in range(0, len(watched), 2) for x in (watched[i + 1], watched[i])]),
    )
    if a > b:
        return mirror
    return min((*common, (a, b), tuple(timers), tuple(users), watched), mirror)


class _Inputs:
    """Every input the explorer tries in a configuration: each event of the spec with every
    node, representative service and cohort it can take (no service event on a node that is
    down), then the internal choices open now.

    The services: each one a guard names, and one representative of the other monitored
    services. A named service that this variant does not monitor is left out unless a guard
    tests an event's service: `service_down` sees only monitored services, so stopping it
    changes nothing a guard can see - it would only spend the fault bound."""

    def __init__(self, model: Model) -> None:
        spec = model.spec
        self.inputs = Inputs.of(spec, _services(spec, model.monitored))
        self.admin = tuple(i for i in self.inputs.events if spec.events[i.name].kind == "admin")
        self.world = tuple(i for i in self.inputs.events if spec.events[i.name].kind != "admin")

    def fixed(self, config: Config) -> list[EventInput]:
        """The admin actions and the world's events (no service event on a node that is down)."""
        return [*self.admin, *(i for i in self.world if not config.services_of_down_node(i))]

    def chosen(self, model: Model, config: Config) -> Iterator[Input]:
        """The users' events and the internal choices open now."""
        yield from self.inputs.for_users(config)
        yield from enabled(model, config)


def _services(spec: Spec, monitored: frozenset[str]) -> tuple[str, ...]:
    """The services the explorer stops and starts when `monitored` are monitored (see _Inputs):
    a named service it does not monitor only where an event's service is tested."""
    return searched_services(spec, monitored, every_named=False)


def _pair(config: Config) -> Pair:
    return (config.nodes[0].state, config.nodes[1].state)


class _Search:
    """One variant's breadth-first search. The first violation of each invariant is kept -
    breadth-first order makes it one of the shortest - and the search goes on past it (not
    through the configuration or step that breaks it), so one run names every invariant the
    variant breaks; it ends early once every invariant is broken."""

    def __init__(self, spec: Spec, variant: Variant, bounds: Bounds) -> None:
        self.spec = spec
        self.variant = variant
        self.max_faults = bounds.max_faults
        self.first = bounds.first
        # The parameters the guards read (see Model), and the nodes met, numbered (_node_key).
        self.read: set[str] = set()
        self.node_ids: dict[Node, int] = {}
        self.model = Model(spec, variant.params, variant.monitored, params_noted=self.read)
        self.inputs = _Inputs(self.model)
        self.seen: dict[tuple[Any, ...], _Node] = {}
        # The admin actions and world events worth trying, by the nodes and the group.
        self.fixed: dict[tuple[Any, ...], list[EventInput]] = {}
        self.queue: deque[tuple[Any, ...]] = deque()
        self.pairs: set[Pair] = set()
        self.edges: set[PairEdge] = set()
        self.shown: set[ShownPair] = set()
        self.documented: set[str] = set()
        self.undocumented: set[Pair] = set()
        self.rules: set[str] = set()
        self.transitions = 0
        self.depth = 0
        # Bounded responses already explored, by the abstract state they start from.
        self.responses: dict[tuple[Any, ...], ResponseFailure | None] = {}
        self.found: dict[str, Counterexample] = {}  # by invariant, the first found

    def _broken(self, found: Counterexample) -> None:
        self.found.setdefault(found.violation.invariant, found)

    def _done(self) -> bool:
        """Nothing more to find: every invariant is broken, or one is and that is enough."""
        if self.first:
            return bool(self.found)
        return len(self.found) == len(self.spec.invariants)

    def run(
        self, progress: Callable[[int, int, int], None] | None = None
    ) -> tuple[Counterexample, ...]:
        model = self.model
        for name in self.spec.initial:
            config = initial_config(model, name, (1, 0))
            if config.faults() > self.max_faults:
                continue
            watch = watch_start(model, config)
            key = _key(self.node_ids, model, config, watch)
            if key in self.seen:
                continue
            self.seen[key] = _Node(config, watch, None, None, 0, name)
            self._reached(key, config)
        while self.queue and not self._done():
            key = self.queue.popleft()
            node = self.seen[key]
            config = node.config
            if progress is not None and not len(self.seen) & 0xFFF:
                progress(len(self.seen), self.transitions, node.depth)
            # Whether an admin action or a world event does anything (is offered, or changes
            # the world within the fault bound) depends on the nodes and the group alone: the
            # ones found to do nothing are dropped from the list kept for them.
            group = (config.nodes, config.ha_enabled, config.link_up)
            fixed = self.fixed.get(group)
            if fixed is None:
                fixed = self.fixed[group] = self.inputs.fixed(config)
            for inp in [inp for inp in fixed if not self._try(key, node, inp)]:
                fixed.remove(inp)
            for choice in self.inputs.chosen(model, config):
                self._try(key, node, choice)
            later = next_instant(model, config)
            if later is not None:
                self.transitions += 1
                moved = advance(model, config, later)
                child = _key(self.node_ids, model, moved, node.watch)
                if child not in self.seen:
                    self.seen[child] = _Node(
                        moved, node.watch, key, None, node.depth + 1, node.start
                    )
                    self.depth = max(self.depth, node.depth + 1)
                    self.queue.append(child)
        return tuple(self.found.values())

    def _try(self, key: tuple[Any, ...], node: _Node, inp: Input) -> bool:
        """Take `inp` from the node's configuration; whether it led anywhere."""
        steps = bounded(
            (s for s in apply(self.model, node.config, inp) if s.changed), self.max_faults
        )
        for step in steps:
            self._edge(key, node, step)
        return bool(steps)

    def _reached(self, key: tuple[Any, ...], config: Config) -> None:
        self.pairs.add(_pair(config))
        a, b = node_views(self.model, config)
        self.shown.add(((a.state, a.reason), (b.state, b.reason)))
        rows = documented_rows(self.model, config)
        self.documented.update(rows)
        if not rows:
            self.undocumented.add((min(a.state, b.state), max(a.state, b.state)))
        broken = check_config(self.model, config)
        for v in broken:
            self._broken(self._counterexample(key, v))
        if not broken:
            self.queue.append(key)  # nothing is explored past a broken invariant

    def _edge(self, key: tuple[Any, ...], node: _Node, step: Step) -> None:
        model = self.model
        before = node.config
        self.transitions += 1
        if step.rule is not None:
            self.rules.add(step.rule)
            self.edges.add((_pair(before), step.rule, _pair(step.config)))
        broken = check_transition(model, before, step, node.watch)
        for v in broken:
            self._broken(self._counterexample(key, v, step))
        if broken:
            return
        for inv, n in response_triggers(model, before, step):
            memo = (
                inv.id,
                n,
                _active(before, n),
                _key(self.node_ids, model, step.config, node.watch, False),
            )
            if memo not in self.responses:
                self.responses[memo] = check_response(model, inv, n, before, step)
            failure = self.responses[memo]
            if failure is not None and inv.id not in self.found:
                # Replay the memoised run from this very step, so its times are this path's.
                fresh = check_response(model, inv, n, before, step)
                assert fresh is not None
                self._broken(self._counterexample(key, fresh.violation, step, fresh))
        watch = watch_step(model, node.watch, before, step)
        child = _key(self.node_ids, model, step.config, watch)
        if child in self.seen:
            return
        self.seen[child] = _Node(step.config, watch, key, step, node.depth + 1, node.start)
        self.depth = max(self.depth, node.depth + 1)
        self._reached(child, step.config)

    def _path(self, key: tuple[Any, ...]) -> tuple[str, Config, list[Step]]:
        start, steps = path(self.seen, self.seen[key], lambda node: node.step)
        return start.start, start.config, steps

    def _counterexample(
        self,
        key: tuple[Any, ...],
        violation: Violation,
        step: Step | None = None,
        response: ResponseFailure | None = None,
    ) -> Counterexample:
        start_name, start, steps = self._path(key)
        if step is not None:
            steps.append(step)
        if response is not None:
            steps += response.steps
        final = response.final if response is not None else (steps[-1].config if steps else start)
        trace = write_trace(self.model, start_name, start, steps, final)
        return Counterexample(
            self.variant, violation, start_name, start, tuple(steps), final, trace
        )


def _active(config: Config, home: int) -> int:
    return sum(c.count for c in config.users if c.home == home and c.session == home)


def write_trace(
    model: Model, start_name: str, start: Config, steps: list[Step], final: Config
) -> str:
    """A run of the explorer as a trace in format v1: the header, the first observation, every
    event and every changed observation; the last line observes `final` (at its own time)."""
    out = io.StringIO()
    users = {USER_NAMES[0]: NODE_NAMES[0]}
    writer = TraceWriter(out, model, NODE_NAMES, users, start_name, model.params)
    writer.start(start)
    for step in steps:
        inp = step.input
        # One user is explored: every cohort is that user's (a spec may even move its home).
        key = inp.user if isinstance(inp, Relogin | EventInput) else None
        user = USER_NAMES[0] if key is not None else None
        sessions = {USER_NAMES[0]: step.moves[-1].target[1]} if step.moves else {}
        writer.record(Record(step, user=user, sessions=sessions))
    if final.now != (steps[-1].config.now if steps else start.now):
        # The run ends with time passing (a bounded response missed its bound): observe then.
        line = ObservationLine(number(final.now), writer.observation(final))
        out.write(encode_line(line.json()) + "\n")
    return out.getvalue()


def explore(
    spec: Spec,
    params: Mapping[str, ParamValue] | None = None,
    *,
    monitored: frozenset[str] | None = None,
    max_faults: int = MAX_FAULTS,
    first: bool = False,
    jobs: int = 1,
    progress: Callable[[Variant, int, int, int], None] | None = None,
    done: Callable[[VariantResult], None] | None = None,
) -> Exploration:
    """Explore every parameter variant of `spec` (`params` fixes the parameters it names,
    `monitored` the monitored services) with runs of any length, at most `max_faults` faults at
    once, and return what is reachable, with the shortest counterexample of each invariant each
    variant breaks (with `first`, a variant's search ends at its first). `jobs` > 1 explores
    variants in that many processes (0: one per core); the result is the same. `progress`
    hears of a variant's search as it goes (one process only), `done` of each variant as it
    ends. Bad overrides raise ParameterError."""
    began = time.perf_counter()
    bounds = Bounds(max_faults, first)
    chosen = variants(spec, params, monitored)
    flags = switches(spec)
    inputs = [_services(spec, v.monitored) for v in chosen]

    # Two ways one exploration covers another variant, which then is not explored (unless the
    # covering one breaks an invariant):
    # - within: every run of the variant is a run of another (see _within);
    # - the same exploration: it differs from a variant with every switch off only in switches
    #   that exploration never read.
    def covers(i: int, j: int) -> bool:  # of two variants with the same runs, the first counts
        return (
            i != j
            and _within(chosen[i], inputs[i], chosen[j], inputs[j])
            and not (j > i and _within(chosen[j], inputs[j], chosen[i], inputs[i]))
        )

    every = range(len(chosen))
    widest = [i for i in every if not any(covers(i, j) for j in every)]
    # Being within is transitive, so a variant within another is within a widest one.
    within = {i: next(j for j in widest if covers(i, j)) for i in every if i not in widest}
    off = [i for i in widest if not any(chosen[i].params[s] for s in flags)]
    # One process explores the variants with every switch off first, so the others can be
    # found the same; more go at once (one found the same is rarely worth an idle process).
    together = process_count(jobs, len(widest)) > 1
    wave = widest if together else off
    outcomes: dict[int, _Outcome] = dict(
        zip(wave, _run(spec, [chosen[i] for i in wave], bounds, jobs, progress, done), strict=True)
    )

    def cover(i: int, found: VariantResult, outcome: _Outcome) -> None:
        outcomes[i] = outcome
        if done is not None and not together:
            done(found)

    def same(i: int, base: int) -> None:
        result = outcomes[base].result
        found = dataclasses.replace(result, variant=chosen[i], seconds=0.0, same_as=base)
        cover(i, found, dataclasses.replace(outcomes[base], result=found))

    def inside(i: int, base: int) -> None:
        found = VariantResult(chosen[i], 0, 0, 0, 0.0, frozenset(), (), within=base)
        cover(i, found, _Outcome(found, *(frozenset(),) * 5))

    rest = []
    for i in widest:
        if i in outcomes:
            continue
        v = chosen[i]
        base = next(
            (
                j
                for j in off
                if chosen[j].monitored == v.monitored
                and not outcomes[j].result.violations
                and not any(
                    v.params[s] != chosen[j].params[s] and s in outcomes[j].result.read
                    for s in flags
                )
                and all(v.params[k] == chosen[j].params[k] for k in v.params if k not in flags)
            ),
            None,
        )
        if base is None:
            rest.append(i)
        else:
            same(i, base)
    outcomes.update(
        zip(rest, _run(spec, [chosen[i] for i in rest], bounds, jobs, progress, done), strict=True)
    )
    narrow = []
    for i, j in sorted(within.items()):
        if outcomes[j].result.violations:
            narrow.append(i)  # explored on its own, to name what it breaks
        else:
            inside(i, j)
    outcomes.update(
        zip(
            narrow,
            _run(spec, [chosen[i] for i in narrow], bounds, jobs, progress, done),
            strict=True,
        )
    )
    return _combine([outcomes[i] for i in range(len(chosen))], time.perf_counter() - began)


def _within(narrow: Variant, its: tuple[str, ...], wide: Variant, wides: tuple[str, ...]) -> bool:
    """Is every run of `narrow` a run of `wide`? When the parameters are the same, and every
    service `narrow` stops (`its`) `wide` stops too (`wides`) and monitors or not just as
    `narrow` does: the runs start with no service stopped, so a service the two monitor
    differently is never stopped in a run of `narrow`, and every guard - which sees a stopped
    service only through the monitored set - reads the same in both. So `narrow`'s runs are
    `wide`'s runs that never take the events on its other services; exploring `wide` covers
    them, at the same fidelity."""
    return (
        narrow.params == wide.params
        and set(its) <= set(wides)
        and all((s in narrow.monitored) == (s in wide.monitored) for s in its)
    )


def _run(
    spec: Spec,
    chosen: list[Variant],
    bounds: Bounds,
    jobs: int,
    progress: Callable[[Variant, int, int, int], None] | None,
    done: Callable[[VariantResult], None] | None,
) -> list[_Outcome]:
    """Explore `chosen`, in up to `jobs` processes (0: one per core), in order. Each process
    explores whole variants, so the results do not depend on how they are shared out; a
    worker's progress cannot reach this process, so it is told only of variants explored here."""
    live = progress if process_count(jobs, len(chosen)) <= 1 else None
    outcomes: list[_Outcome] = []
    for outcome in parallel_map(lambda v: _explore_variant(spec, v, bounds, live), chosen, jobs):
        outcomes.append(outcome)
        if done is not None:
            done(outcome.result)
    return outcomes


@dataclass(frozen=True)
class _Outcome:
    result: VariantResult
    edges: frozenset[PairEdge]
    shown: frozenset[ShownPair]
    documented: frozenset[str]
    undocumented: frozenset[Pair]
    rules: frozenset[str]


def _explore_variant(
    spec: Spec,
    variant: Variant,
    bounds: Bounds,
    progress: Callable[[Variant, int, int, int], None] | None,
) -> _Outcome:
    search = _Search(spec, variant, bounds)
    t0 = time.perf_counter()
    found = search.run(None if progress is None else _bind(progress, variant))
    # The search keeps one of each pair of mirror images; the other is just as reachable.
    pairs = search.pairs | {(b, a) for a, b in search.pairs}
    edges = search.edges | {((b, a), r, (d, c)) for (a, b), r, (c, d) in search.edges}
    shown = search.shown | {(b, a) for a, b in search.shown}
    result = VariantResult(
        variant,
        len(search.seen),
        search.transitions,
        search.depth,
        time.perf_counter() - t0,
        frozenset(pairs),
        found,
        frozenset(search.read),
    )
    return _Outcome(
        result,
        frozenset(edges),
        frozenset(shown),
        frozenset(search.documented),
        frozenset(search.undocumented),
        frozenset(search.rules),
    )


def _combine(outcomes: list[_Outcome], seconds: float) -> Exploration:
    results = tuple(o.result for o in outcomes)
    return Exploration(
        pairs=frozenset().union(*(r.pairs for r in results)),
        pair_edges=frozenset().union(*(o.edges for o in outcomes)),
        shown_pairs=frozenset().union(*(o.shown for o in outcomes)),
        documented=frozenset().union(*(o.documented for o in outcomes)),
        undocumented=frozenset().union(*(o.undocumented for o in outcomes)),
        rules=frozenset().union(*(o.rules for o in outcomes)),
        variants=results,
        # A variant that another's exploration stands for was not explored again: not counted.
        states=sum(r.states for r in results if r.same_as is None),
        transitions=sum(r.transitions for r in results if r.same_as is None),
        depth=max((r.depth for r in results), default=0),
        seconds=seconds,
        violations=tuple(c for r in results for c in r.violations),
    )


def _bind(
    progress: Callable[[Variant, int, int, int], None], variant: Variant
) -> Callable[[int, int, int], None]:
    return lambda states, transitions, depth: progress(variant, states, transitions, depth)
