"""One parameter variant's zone graph, searched breadth-first: every invariant checked on every
reachable symbolic state and step, the first violation of each kept as a concrete trace. What
it explores exactly, and what it bounds, is said in hasm.explorer.explore, which runs it over
the variants."""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
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
from hasm.core.model import Model
from hasm.core.search import Inputs, mirror, searched_services
from hasm.core.semantics import advance, apply, initial_config
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
from hasm.explorer.results import (
    Bounds,
    Counterexample,
    Pair,
    PairEdge,
    ShownPair,
    Variant,
)
from hasm.spec.model import Invariant, ParamValue, Spec
from hasm.spec.params import evaluate

__all__ = ["Start", "VariantSearch", "model_ticks", "variant_services"]


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
    parent: int | None  # the parent's index in VariantSearch.states, None for a start
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
        self.inputs = Inputs.of(spec, variant_services(spec, model.monitored, max_faults))
        self.admin = tuple(i for i in self.inputs.events if spec.events[i.name].kind == "admin")
        self.world = tuple(i for i in self.inputs.events if spec.events[i.name].kind != "admin")

    def fixed(self, config: Config) -> list[EventInput]:
        """The admin actions and the world's events (no service event on a node that is down)."""
        return [*self.admin, *(i for i in self.world if not config.services_of_down_node(i))]

    def chosen(self, sym: Symbolic) -> Iterator[Input]:
        """The users' events and the internal choices."""
        yield from self.inputs.for_users(sym.config)
        yield from choices(sym)


def variant_services(spec: Spec, monitored: frozenset[str], max_faults: int) -> tuple[str, ...]:
    """The services the explorer stops and starts when `monitored` are monitored (see _Inputs):
    a named service it does not monitor only where an event's service is tested."""
    return searched_services(spec, monitored, every_named=False, max_faults=max_faults)


def _pair(config: Config) -> Pair:
    return (config.nodes[0].state, config.nodes[1].state)


class VariantSearch:
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
