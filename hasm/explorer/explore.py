"""Exhaustive breadth-first exploration of a spec's zone graph: every invariant checked on every
reachable symbolic state and step, over dense time, the shortest counterexample as a trace.

What is explored exactly:

- **Dense time, every ordering.** A state is symbolic (hasm.core.symbolic): the discrete part of
  a configuration - states, reasons, environment, which timers run, the cohorts - and a zone (a
  DBM, hasm.core.zones) of how long ago each timer started, each client began to wait and each
  watched condition began to hold. An event may happen at any real moment of a state (its guard
  is the whole zone), a timer anywhere in its window, a client's re-login anywhere in its; so
  every ordering of deadlines that some choice of times gives is a successor, a new deadline
  between two old ones included. Zones are kept closed under time passing within the timers'
  and waits' greatest durations, and extrapolated by lower and upper bounds (Extra+_LU: for each
  clock the largest constant it is compared with from below - a timer's least duration, a wait's
  lower limit - and from above - the greatest ones; a watched condition's `at_least` and a
  response clock's `within` both ways), which is sound and complete for reachability with
  constraints that compare one clock with a constant, the only ones the spec language has: the
  zone graph is finite and reaches exactly the discrete states, steps and invariant outcomes
  the timed semantics does. `tests/slow/test_dense_verify.py` checks that against a
  brute-force search trying every event at every tick and half tick (tests/digital.py).
- **Inclusion.** A state whose zone a stored zone of the same discrete part includes adds no
  run and is not explored; one whose zone includes a stored one replaces it. `states` counts
  discrete parts, `zones` the symbolic states stored.
- **Symmetry.** A spec is written once for `node` and `peer`, so a state and its mirror image
  (the nodes swapped, clocks renumbered) are one; what is reported is completed with the mirror
  images.
- **History the invariants need.** A `fires_after` condition that holds carries a clock reset
  when it began to hold; a step that fires one of its rules breaks it iff the zone at the step
  admits the clock below `at_least`. A bounded response is a zone search of the runs from its
  triggering step in which nothing but timers and re-logins happen, with a clock reset at the
  trigger: it fails iff a state off the goal lets time pass beyond `within` (see
  hasm/explorer/invariants.py for what each kind means).
- **Counterexamples with concrete times.** The path's inputs are replayed on exact zones (not
  extrapolated) with a clock kept for every step, the violation's own constraint added, and one
  integer valuation picked; the run is rebuilt with the concrete core at those times (the same
  rules fire) and written in trace format v1, in seconds, so `hasm check` replays it. Time is
  counted in ticks of a power of ten that makes every bound a whole number (`model_ticks`;
  seconds with the default parameters).

What is still bounded, and why it is enough:

- **One user.** No guard, timer condition or node effect of the spec language reads a user, so
  the nodes run the same whoever is signed in, and users do not steer each other (a session
  follows the nodes and its own re-login window); every user invariant speaks of each user. One
  user homed on node 0 is explored; by symmetry it is also the user homed on node 1; users of
  one home are interchangeable in the core (cohorts), so more users add counts, not behaviours.
- **Services by what the spec tells apart.** Every service a guard names and one
  representative of the other monitored services are stopped and started; services nobody
  monitors change nothing and are left out.
- **At most K faults at once** (`max_faults`, default 1: the failure a pair is built to
  survive): a stopped service, a node down, SRM stopped on a running node and the link down each
  count one (`Config.faults`); runs are otherwise unbounded - faults, repairs, sign-ins and -outs,
  administrator actions, timers and re-logins in any number and order. A service does not stop
  or start on a node that is down: its services start with it (the core's node_up).
- **Parameter variants that change behaviour.** Every boolean parameter a guard reads, both
  ways, and every set of monitored services that differs in a service a guard names (the default
  set, and the default set with each named service added or removed), unless `params` fixes it;
  numbers are the given values. A guard reads its terms in order and stops at the first that
  fails, so a switch that no guard read while one variant was explored changed nothing there:
  the variant with it flipped is the same exploration and is not run again
  (`VariantResult.same_as`). A variant that stops only services another variant stops too, and
  monitors each of them just as that one does, has no run the other lacks (see _within): it is
  covered by the other's exploration and not run (`VariantResult.within`) - unless the other
  breaks an invariant.

Breadth-first order makes the path to each state, and so every counterexample, as short as
possible in steps.
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from hasm.core.config import (
    Config,
    EventInput,
    Fire,
    Input,
    Node,
    Relogin,
    Step,
)
from hasm.core.search import (
    MAX_FAULTS,
    Inputs,
    mirror,
    searched_services,
    settings,
    switches,
)
from hasm.core.semantics import Model, advance, apply, default_monitored, initial_config
from hasm.core.symbolic import (
    Held,
    Symbolic,
    choices,
    clock_bounds,
    delay,
    from_concrete,
    guard,
    normalise,
    tags,
)
from hasm.core.symbolic import step as symbolic_step
from hasm.core.views import node_views
from hasm.core.zones import Zone, le, lt
from hasm.explorer.counterexample import (
    Ending,
    in_seconds,
    replay,
    same_move,
    taken_input,
    violation,
    write_trace,
)
from hasm.explorer.invariants import (
    Violation,
    Watch,
    check_config,
    check_transition,
    documented_rows,
    response_goal,
    response_triggers,
    response_within,
    watch_start,
    watch_step,
    watched_bounds,
)
from hasm.parallel import parallel_map, process_count
from hasm.spec.guards import named_services
from hasm.spec.model import Invariant, ParamValue, Spec
from hasm.spec.params import evaluate, resolve_params

__all__ = [
    "Bounds",
    "Counterexample",
    "Exploration",
    "Variant",
    "VariantResult",
    "explore",
    "variants",
]

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
    # When to give up (a time.monotonic() moment, the same clock in every forked worker): the
    # search then ends where it is and its result is marked incomplete. None: never.
    deadline: float | None = None


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
    zones: int = 0  # the symbolic states stored (zones, over `states` discrete states)
    # False when the search was ended by the deadline: what it found is real, what it did not
    # find is not shown absent.
    complete: bool = True

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
    zones: int = 0  # the symbolic states stored: each a discrete state with a zone

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def complete(self) -> bool:
        """Every variant searched to its end (no deadline reached)."""
        return all(r.complete for r in self.variants)

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
def model_ticks(spec: Spec, params: Mapping[str, ParamValue]) -> int:
    """The smallest power of ten that makes every duration bound of a variant a whole number of
    ticks (timers' least and greatest durations, the re-login limits, the invariants' `at_least`
    and `within`): zones compare clocks with integers, exactly."""
    values: list[float] = []
    for t in spec.timers.values():
        values += [evaluate(t.duration.min, params), evaluate(t.duration.max, params)]
    for inv in spec.invariants:
        values += [evaluate(e, params) for e in (inv.at_least, inv.within) if e is not None]
    exact = [Decimal(repr(float(v))) for v in values]
    for digits in range(10):
        ticks: int = 10**digits
        if all((x * ticks) % 1 == 0 for x in exact):
            return ticks
    raise ValueError("a duration has more than 9 decimals")


def _in_ticks(seconds: float, ticks: int) -> int:
    """A duration of the variant in its ticks (exact: `model_ticks` made it whole)."""
    return int(Decimal(repr(float(seconds))) * ticks)


# A discrete part's key, the clock permutation of its mirror image (None: kept as it is),
# whether both orientations have that key (then both zones are compared and it is kept as it
# is), and the mirror image's discrete part and watch (kept so, when it is the key's).
_Orientation = tuple[tuple[Any, ...], list[int] | None, bool, Config | None, Held]


class Start(NamedTuple):
    """Where a search starts: a starting point of trace format v1, under an answer to the
    spec's readings."""

    name: str
    readings: frozenset[str]


@dataclass(frozen=True, slots=True)
class _State:
    """A stored symbolic state: its symbolic configuration (delayed, extrapolated) in the
    orientation of its key, the watch as clock tags, and how the breadth-first search first got
    there."""

    sym: Symbolic
    watch: Held  # per watched condition and node (Watch order, flat): its clock's tag, or None
    parent: int | None  # the parent's index in _Search.states, None for a start
    step: Step | None  # the symbolic step from the parent, in the parent's orientation
    depth: int
    start: Start
    # Kept as the mirror image of what the step reached (or of the start): states are kept in
    # their key's orientation, so what is remembered by discrete part serves both images.
    flipped: bool = False


def _node_key(ids: dict[Node, int], node: Node) -> int:
    """Each distinct node as a small number, in the order first met in one search (`ids`): a
    key of numbers hashes and compares faster than one of nested tuples. Any fixed order
    serves to pick one of a configuration and its mirror image; which one is picked changes
    no result."""
    key = ids.get(node)
    if key is None:
        key = ids[node] = len(ids)
    return key


def _pairs(flat: Held) -> Watch:
    """A flat watch (node 0, node 1 of each condition in turn) as `Watch` pairs."""
    return tuple((flat[i], flat[i + 1]) for i in range(0, len(flat), 2))


def _flat(watch: Watch) -> tuple[Any, ...]:
    return tuple(x for pair in watch for x in pair)


def _mirrored(sym: Symbolic, watch: Held) -> tuple[Symbolic, Held]:
    """The mirror image (the nodes swapped), normalised again: tags are renumbered by first use,
    which the swap reorders."""
    swapped = tuple(x for i in range(0, len(watch), 2) for x in (watch[i + 1], watch[i]))
    return normalise(mirror(sym.config), sym.zone, swapped)


class _Inputs:
    """Every input the explorer tries in a symbolic configuration: each event of the spec with
    every node, representative service and cohort it can take (no service event on a node that
    is down), then every internal choice (each running timer firing, each waiting cohort's
    re-login; the zone says when).

    The services: each one a guard names, and one representative of the other monitored
    services. A named service that this variant does not monitor is left out unless a guard
    tests an event's service: `service_down` sees only monitored services, so stopping it
    changes nothing a guard can see - it would only spend the fault bound."""

    def __init__(self, model: Model, max_faults: int) -> None:
        spec = model.spec
        self.inputs = Inputs.of(spec, _services(spec, model.monitored, max_faults))
        self.admin = tuple(i for i in self.inputs.events if spec.events[i.name].kind == "admin")
        self.world = tuple(i for i in self.inputs.events if spec.events[i.name].kind != "admin")

    def fixed(self, config: Config) -> list[EventInput]:
        """The admin actions and the world's events (no service event on a node that is down)."""
        return [*self.admin, *(i for i in self.world if not config.services_of_down_node(i))]

    def chosen(self, sym: Symbolic) -> Iterator[Input]:
        """The users' events and the internal choices."""
        yield from self.inputs.for_users(sym.config)
        yield from choices(sym)


def _services(spec: Spec, monitored: frozenset[str], max_faults: int) -> tuple[str, ...]:
    """The services the explorer stops and starts when `monitored` are monitored (see _Inputs):
    a named service it does not monitor only where an event's service is tested."""
    return searched_services(spec, monitored, every_named=False, max_faults=max_faults)


def _pair(config: Config) -> Pair:
    return (config.nodes[0].state, config.nodes[1].state)


class _Search:
    """One variant's breadth-first search of the zone graph. The first violation of each
    invariant is kept - breadth-first order makes it one of the shortest - and the search goes
    on past it (not through the configuration or step that breaks it), so one run names every
    invariant the variant breaks; it ends early once every invariant is broken."""

    def __init__(self, spec: Spec, variant: Variant, bounds: Bounds) -> None:
        self.spec = spec
        self.variant = variant
        self.max_faults = bounds.max_faults
        self.first = bounds.first
        self.deadline = bounds.deadline
        self.stopped = False  # by the deadline
        # The parameters the guards read (see Model), and the nodes met, numbered (_node_key).
        self.read: set[str] = set()
        self.node_ids: dict[Node, int] = {}
        self.ticks = model_ticks(spec, variant.params)
        self.model = Model(
            spec, variant.params, variant.monitored, ticks=self.ticks, params_noted=self.read
        )
        self.inputs = _Inputs(self.model, self.max_faults)
        # Per flat watch position, the ceiling of its clock: the condition's `at_least`.
        self.needs = tuple(
            _in_ticks(s, self.ticks) for s in watched_bounds(self.model) for _ in (0, 1)
        )
        self.states: list[_State] = []
        # Per discrete key (canonical orientation), the zones stored, each with its state.
        self.passed: dict[tuple[Any, ...], list[tuple[Zone, int]]] = {}
        self.covered: set[int] = set()  # states whose zone a later one includes: not expanded
        self.broken: set[tuple[Any, ...]] = set()  # discrete keys that break an invariant
        # The inputs tried and the steps they take, by discrete part and clocks (_moves).
        self.moves: dict[tuple[Config, int], list[tuple[Input, tuple[Step, ...]]]] = {}
        # The admin actions and world events worth trying, by the nodes and the group.
        self.fixed: dict[tuple[Any, ...], list[EventInput]] = {}
        # The canonical orientation of each discrete part (_canonical).
        self.orientations: dict[tuple[Config, Held], _Orientation] = {}
        self.queue: deque[int] = deque()
        self.pairs: set[Pair] = set()
        self.edges: set[PairEdge] = set()
        self.shown: set[ShownPair] = set()
        self.documented: set[str] = set()
        self.undocumented: set[Pair] = set()
        self.rules: set[str] = set()
        self.transitions = 0
        self.depth = 0
        # Bounded responses already explored, by the symbolic state they start from: the
        # symbolic steps of a run that misses, or None.
        self.responses: dict[tuple[Any, ...], tuple[Step, ...] | None] = {}
        self.found: dict[str, Counterexample] = {}  # by invariant, the first found

    # -- bookkeeping ------------------------------------------------------------------------------
    def _done(self) -> bool:
        """Nothing more to find: every invariant is broken, or one is and that is enough."""
        if self.first:
            return bool(self.found)
        return len(self.found) == len(self.spec.invariants)

    def _closed(self, sym: Symbolic, held: Sequence[tuple[int, int]]) -> Symbolic:
        """`sym` with time passing (within the invariants) and its zone extrapolated by each
        clock's largest constant - a timer's or a wait's bound, and for the caller's clocks
        (`held`: tag and ceiling) what they are compared with."""
        delayed = delay(self.model, sym)
        assert delayed is not None, "a step lands inside the invariants"
        lower, upper = clock_bounds(self.model, delayed, held)
        return Symbolic(delayed.config, delayed.zone.extrapolate_lu(lower, upper))

    def _watched(self, watch: Held) -> list[tuple[int, int]]:
        return [(t, self.needs[k]) for k, t in enumerate(watch) if t is not None]

    def _shape(self, sym: Symbolic, watch: Held) -> tuple[Any, ...]:
        c = sym.config
        ids = self.node_ids
        return (
            c.ha_enabled,
            c.link_up,
            (_node_key(ids, c.nodes[0]), _node_key(ids, c.nodes[1])),
            tuple((t.name, t.node, int(t.since)) for t in c.timers),
            c.users,
            tuple(-1 if w is None else w for w in watch),
        )

    def _canonical(
        self, sym: Symbolic, watch: Held
    ) -> tuple[tuple[Any, ...], list[Zone], tuple[Config, Held] | None]:
        """The discrete key of `sym` and its mirror image, whichever is smaller (a spec is
        written once for `node` and `peer`, so it cannot tell them apart), with the zone in
        that orientation - both zones when the two orientations have the same key - and the
        mirror image's discrete part and watch when the key is the mirror image's."""
        memo = (sym.config, watch)
        found = self.orientations.get(memo)
        if found is None:
            found = self.orientations[memo] = self._orientation(sym, watch)
        key, swap, both, mconfig, mwatch = found
        if swap is None:
            return key, [sym.zone], None
        mirrored = sym.zone.project(swap)
        if both:
            return key, [sym.zone, mirrored], None
        assert mconfig is not None
        return key, [mirrored], (mconfig, mwatch)

    def _orientation(self, sym: Symbolic, watch: Held) -> _Orientation:
        """Which way round a discrete part is kept, and the clock permutation of its mirror
        image. A stored zone proves no two clocks equal (normalise merged those, and neither
        time passing nor extrapolation makes clocks equal), so mirroring only renumbers
        clocks: the permutation holds for every zone of the discrete part."""
        ids = self.node_ids
        a = _node_key(ids, sym.config.nodes[0])
        b = _node_key(ids, sym.config.nodes[1])
        own = self._shape(sym, watch)
        if a < b:
            return own, None, False, None, ()
        msym, mwatch = _mirrored(sym, watch)
        mine = self._shape(msym, mwatch)
        swapped = tuple(x for i in range(0, len(watch), 2) for x in (watch[i + 1], watch[i]))
        order: list[int] = []
        for tag in [*(h for h in swapped if h is not None), *tags(mirror(sym.config))]:
            if tag not in order:
                order.append(tag)
        swap = [0, *(t + 1 for t in order)]
        assert sym.zone.project(swap) == msym.zone, "a stored zone merges no clocks"
        if a > b or mine < own:
            return mine, swap, False, msym.config, mwatch
        if own < mine:
            return own, None, False, None, ()
        return own, swap, True, None, ()

    def _add(
        self,
        sym: Symbolic,
        watch: Held,
        parent: int | None,
        step: Step | None,
        depth: int,
        start: Start,
    ) -> None:
        """Store and queue `sym`, in its key's orientation, unless a stored zone of its
        discrete key includes it."""
        key, zones, flip = self._canonical(sym, watch)
        stored = self.passed.get(key)
        new = stored is None
        if stored is None:
            stored = self.passed[key] = []
        elif any(z.includes(x) for z, _ in stored for x in zones):
            return
        zone = zones[0]
        kept = []
        for z, i in stored:
            if zone.includes(z):
                self.covered.add(i)  # its successors are the new state's successors' subsets
            else:
                kept.append((z, i))
        index = len(self.states)
        kept.append((zone, index))
        self.passed[key] = kept
        if flip is not None:
            sym, watch = Symbolic(flip[0], zone), flip[1]
        self.states.append(_State(sym, watch, parent, step, depth, start, flip is not None))
        self.depth = max(self.depth, depth)
        if new:
            self._reached(key, index)
        if key not in self.broken:
            self.queue.append(index)  # nothing is explored past a broken invariant

    def _reached(self, key: tuple[Any, ...], index: int) -> None:
        """A new discrete state: what it shows, and the invariants one configuration breaks."""
        config = self.states[index].sym.config
        self.pairs.add(_pair(config))
        a, b = node_views(self.model, config)
        self.shown.add(((a.state, a.reason), (b.state, b.reason)))
        rows = documented_rows(self.model, config)
        self.documented.update(rows)
        if not rows:
            self.undocumented.add((min(a.state, b.state), max(a.state, b.state)))
        broken = check_config(self.model, config)
        if broken:
            self.broken.add(key)
        for v in broken:
            if v.invariant not in self.found:
                self.found[v.invariant] = self._counterexample(
                    index, [], Ending("config", v.invariant)
                )

    # -- the search -------------------------------------------------------------------------------
    def run(
        self, progress: Callable[[int, int, int], None] | None = None
    ) -> tuple[Counterexample, ...]:
        model = self.model
        for name in self.spec.initial:
            for readings in model.reading_choices:
                config = initial_config(model, name, (1, 0), readings)
                if config.faults() > self.max_faults:
                    continue
                sym, watch = from_concrete(config, _flat(watch_start(model, config)))
                start = Start(name, readings)
                self._add(self._closed(sym, self._watched(watch)), watch, None, None, 0, start)
        while self.queue and not self._done():
            index = self.queue.popleft()
            # Indices leave the queue in increasing order, so each multiple of 256 is met once.
            if self.deadline is not None and not index & 0xFF and time.monotonic() >= self.deadline:
                self.stopped = True
                break
            if index in self.covered:
                continue
            state = self.states[index]
            if progress is not None and not index & 0xFF:
                progress(len(self.passed), self.transitions, state.depth)
            sym = state.sym
            anytime = sym.zone.added()  # the zone of an event: any moment, a fresh clock
            for inp, steps in self._moves(sym):
                if isinstance(inp, Fire | Relogin):
                    opened = guard(self.model, sym, inp)
                    if opened is None:
                        continue
                    zone = opened.added()
                else:
                    zone = anytime
                for s in steps:
                    self._edge(index, state, s, zone)
        return tuple(self.found.values())

    def _moves(self, sym: Symbolic) -> list[tuple[Input, tuple[Step, ...]]]:
        """Every input tried in `sym` with the steps it takes (changed, within the fault
        bound): the core's untimed step, with `now` the fresh tag, as `symbolic.step` takes
        it. It reads only the discrete part and the number of clocks (the fresh tag), so it is
        remembered by them; which of the steps the zone allows is the caller's (`guard`)."""
        fresh = sym.zone.clocks  # tags are 0..clocks-1
        key = (sym.config, fresh)
        found = self.moves.get(key)
        if found is None:
            c = sym.config
            at = Config(fresh, c.ha_enabled, c.link_up, c.nodes, c.timers, c.users)
            # Whether an admin action or a world event does anything (is offered, or changes
            # the world within the fault bound) depends on the nodes and the group alone: the
            # ones found to do nothing are dropped from the list kept for them.
            group = (c.nodes, c.ha_enabled, c.link_up)
            fixed = self.fixed.get(group)
            if fixed is None:
                fixed = self.fixed[group] = self.inputs.fixed(c)
            found = []
            idle: list[EventInput] = []
            for inp in [*fixed, *self.inputs.chosen(sym)]:
                steps = tuple(
                    s
                    for s in apply(self.model, at, inp, timed=False)
                    if s.changed and s.config.faults() <= self.max_faults
                )
                if steps:
                    found.append((inp, steps))
                elif isinstance(inp, EventInput) and inp.user is None:
                    idle.append(inp)
            for inp in idle:
                fixed.remove(inp)
            self.moves[key] = found
        return found

    def _edge(self, index: int, state: _State, s: Step, zone: Zone) -> None:
        """One symbolic step: `zone` is the zone at its moment (the guard's part of the state's
        zone, the step's fresh clock added at 0)."""
        model = self.model
        before = state.sym.config
        self.transitions += 1
        if s.rule is not None:
            self.rules.add(s.rule)
            self.edges.add((_pair(before), s.rule, _pair(s.config)))
        ticks = self.ticks

        too_soon: list[tuple[int, int]] = []  # (watched clock, bound) the step may come before

        def early(start: float, need: float) -> bool:
            # Can the step come less than `need` after the watched clock `start` was reset?
            bound = _in_ticks(need, ticks)
            if zone.constrain(int(start) + 1, 0, lt(bound)) is None:
                return False
            too_soon.append((int(start) + 1, bound))
            return True

        watch = _pairs(state.watch)
        broken = check_transition(model, before, s, watch, early)
        for v in broken:
            if v.invariant not in self.found:
                self.found[v.invariant] = self._counterexample(
                    index, [s], self._step_ending(v.invariant, before, s, watch, zone)
                )
        if broken:
            # A step that breaks an invariant only by coming too soon is fine later in its
            # zone: the runs that take it late enough go on (those too soon end here).
            if len(too_soon) < len(broken):
                return
            late: Zone | None = zone
            for clock, bound in too_soon:
                late = late.constrain(0, clock, le(-bound)) if late is not None else None
            if late is None:
                return
            zone = late
        for inv, n in response_triggers(model, before, s):
            if inv.id in self.found:
                continue
            missed = self._response(inv, n, before, s, zone)
            if missed is not None:
                within = _in_ticks(response_within(model, inv), ticks)
                self.found[inv.id] = self._counterexample(
                    index,
                    [s, *missed],
                    Ending("response", inv.id, trigger=0, within=within, node=n),
                )
        after = _flat(watch_step(model, watch, before, s))
        sym, held = normalise(s.config, zone, after)
        self._add(
            self._closed(sym, self._watched(held)), held, index, s, state.depth + 1, state.start
        )

    def _step_ending(
        self, invariant: str, before: Config, s: Step, watch: Watch, zone: Zone
    ) -> Ending:
        """How a step breaks `invariant`: by what it did (no constraint), or by coming too soon
        after its watched condition began to hold (its clock younger than the bound)."""
        untimed = check_transition(self.model, before, s, watch, lambda start, need: False)
        if any(v.invariant == invariant for v in untimed) or s.node is None:
            return Ending("step", invariant)
        order = [inv.id for inv in self.spec.invariants if inv.kind == "fires_after" and inv.since]
        watched = order.index(invariant)
        return Ending("step", invariant, watched=watched, need=self.needs[2 * watched])

    # -- bounded liveness -------------------------------------------------------------------------
    def _response(
        self, inv: Invariant, n: int, before: Config, s: Step, zone: Zone
    ) -> tuple[Step, ...] | None:
        """The symbolic steps of a run from `s` with only timers firing and clients
        re-logging in that misses `inv`'s bound, or None: a zone search with a response clock
        reset at the trigger, remembered by the symbolic state it starts from."""
        within = _in_ticks(response_within(self.model, inv), self.ticks)
        sym, (r,) = normalise(s.config, zone, (int(s.config.now),))
        assert r is not None
        start = self._closed(sym, [(r, within)])
        affected = sum(c.count for c in before.users if c.home == n and c.session == n)
        key = (inv.id, n, affected, start.config, start.zone)
        if key not in self.responses:
            self.responses[key] = self._respond(inv, n, before, start, within)
        return self.responses[key]

    def _respond(
        self, inv: Invariant, n: int, before: Config, start: Symbolic, within: int
    ) -> tuple[Step, ...] | None:
        model = self.model
        reached = response_goal(model, inv, n, before)
        late = lt(-within)  # x0 - r < -within: the response clock (tag 0) beyond the bound
        nodes: list[tuple[Symbolic, int | None, Step | None]] = [(start, None, None)]
        passed: dict[Config, list[Zone]] = {start.config: [start.zone]}
        queue = deque([0])
        while queue:
            k = queue.popleft()
            sym = nodes[k][0]
            if reached(sym.config):
                continue
            if sym.zone.constrain(0, 1, late) is not None:
                steps: list[Step] = []
                at: int | None = k
                while at is not None:
                    _, parent, via = nodes[at]
                    if via is not None:
                        steps.append(via)
                    at = parent
                return tuple(reversed(steps))
            for choice in choices(sym):
                for s, zone in symbolic_step(model, sym, choice):
                    nsym, _ = normalise(s.config, zone, (0,))
                    child = self._closed(nsym, [(0, within)])
                    zones = passed.setdefault(child.config, [])
                    if any(z.includes(child.zone) for z in zones):
                        continue
                    zones[:] = [z for z in zones if not child.zone.includes(z)]
                    zones.append(child.zone)
                    nodes.append((child, k, s))
                    queue.append(len(nodes) - 1)
        return None

    # -- counterexamples --------------------------------------------------------------------------
    def _path(self, index: int) -> tuple[Start, list[tuple[Step, bool]], bool]:
        """The start of the path to state `index`, each step on it with whether it was taken
        in the mirror image of the real run (states are kept in their key's orientation), and
        whether state `index` is kept mirrored."""
        chain: list[_State] = []
        state = self.states[index]
        while state.parent is not None:
            chain.append(state)
            state = self.states[state.parent]
        mirrored = state.flipped
        steps: list[tuple[Step, bool]] = []
        for on in reversed(chain):
            assert on.step is not None
            steps.append((on.step, mirrored))
            mirrored ^= on.flipped
        return state.start, steps, mirrored

    def _times(
        self, start: Config, steps: list[tuple[Step, bool]], ending: Ending
    ) -> tuple[list[int], int]:
        """Concrete times (ticks) for `steps` from `start` that end as `ending` says: the path
        replayed on exact (not extrapolated) zones, keeping a clock reset at the start and at
        every step, so the last zone relates every step's moment; with the violation's own
        constraint added, any valuation of it is a run. Returns each step's time and the end."""
        model = self.model
        watch0 = _flat(watch_start(model, start))
        sym, held = from_concrete(start, (0, *watch0))
        clocks: list[int | None] = [held[0]]  # the start's clock, then each step's
        watch = held[1:]
        current = delay(model, sym)
        assert current is not None
        moment = current.zone
        for i, (want, mirrored) in enumerate(steps):
            inp = taken_input(want.input, mirrored, current.config)
            s, zone = next(
                (s, z)
                for s, z in symbolic_step(model, current, inp)
                if same_move(s, want, mirrored)
            )
            last = i == len(steps) - 1
            if last and ending.kind == "step" and ending.watched is not None:
                assert s.node is not None
                tag = watch[2 * ending.watched + s.node]
                assert tag is not None
                # Younger than the bound; on integer zones `< need` is `<= need - 1`.
                narrowed = zone.constrain(tag + 1, 0, le(ending.need - 1))
                assert narrowed is not None, "the search found the step too soon here"
                zone = narrowed
            after = _flat(watch_step(model, _pairs(watch), current.config, s))
            nsym, nheld = normalise(s.config, zone, (*clocks, int(s.config.now), *after))
            clocks, watch = list(nheld[: len(clocks) + 1]), nheld[len(clocks) + 1 :]
            moment = nsym.zone
            delayed = delay(model, nsym)
            assert delayed is not None
            current = delayed
        if ending.kind == "response":
            r = clocks[1 + ending.trigger]
            assert r is not None
            # Beyond the bound; on integer zones `> within` is `>= within + 1`.
            late = current.zone.constrain(0, r + 1, le(-(ending.within + 1)))
            assert late is not None, "the search found the bound missed here"
            moment = late
        point = moment.point()
        ages = [point[t + 1] for t in clocks if t is not None]
        end = ages[0]
        return [end - age for age in ages[1:]], end

    def _counterexample(self, index: int, more: list[Step], ending: Ending) -> Counterexample:
        """The run to state `index` and then `more` symbolic steps, at concrete times that
        break the invariant as `ending` says, rebuilt with the concrete core (the same rules
        at those times) and written as a trace."""
        model = self.model
        (start_name, readings), steps, mirrored = self._path(index)
        steps += [(s, mirrored) for s in more]
        if ending.kind == "response":
            # The trigger, and its node as the real run has it.
            ending = dataclasses.replace(
                ending, trigger=len(steps) - len(more), node=ending.node ^ mirrored
            )
        start = initial_config(model, start_name, (1, 0), readings)
        times, _end = self._times(start, steps, ending)
        limit = 0
        if ending.kind == "response":
            limit = times[ending.trigger] + ending.within
            kept = [(s, t) for s, t in zip(steps, times, strict=True) if t <= limit]
        else:
            kept = list(zip(steps, times, strict=True))
        concrete, watches, config = replay(model, start, kept)
        v = violation(model, self.ticks, ending, start, concrete, watches, limit)
        final = advance(model, config, limit) if ending.kind == "response" else config
        start, steps_s, final = in_seconds(self.ticks, start, concrete, final)
        trace = write_trace(model, start_name, start, steps_s, final)
        return Counterexample(self.variant, v, start_name, start, tuple(steps_s), final, trace)


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
    deadline: float | None = None,
) -> Exploration:
    """Explore every parameter variant of `spec` (`params` fixes the parameters it names,
    `monitored` the monitored services) with runs of any length, at most `max_faults` faults at
    once, and return what is reachable, with the shortest counterexample of each invariant each
    variant breaks (with `first`, a variant's search ends at its first). `jobs` > 1 explores
    variants in that many processes (0: one per core); the result is the same. `progress`
    hears of a variant's search as it goes (one process only), `done` of each variant as it
    ends. At `deadline` (a time.monotonic() moment) every search ends where it is, its result
    marked incomplete (`Exploration.complete`); a variant is then never taken to be covered by
    an incomplete one. Bad overrides raise ParameterError."""
    began = time.perf_counter()
    bounds = Bounds(max_faults, first, deadline)
    chosen = variants(spec, params, monitored)
    flags = switches(spec)
    inputs = [_services(spec, v.monitored, max_faults) for v in chosen]

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
                and outcomes[j].result.complete
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
        if outcomes[j].result.violations or not outcomes[j].result.complete:
            narrow.append(i)  # explored on its own, to name what it breaks (or as far as it can)
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
        len(search.passed),
        search.transitions,
        search.depth,
        time.perf_counter() - t0,
        frozenset(pairs),
        found,
        frozenset(search.read),
        zones=len(search.states),
        complete=not search.stopped,
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
        zones=sum(r.zones for r in results if r.same_as is None),
        depth=max((r.depth for r in results), default=0),
        seconds=seconds,
        violations=tuple(c for r in results for c in r.violations),
    )


def _bind(
    progress: Callable[[Variant, int, int, int], None], variant: Variant
) -> Callable[[int, int, int], None]:
    return lambda states, transitions, depth: progress(variant, states, transitions, depth)
