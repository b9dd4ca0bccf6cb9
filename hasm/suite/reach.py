"""The suite generator's breadth-first search: every configuration reachable within its bounds,
with the path that first reaches it.

From each starting point of the spec (one user homed on each node), a step is either an event
now - every event of the spec with every node, every service some guard names plus one other
monitored service, every cohort - or *waiting*: the clock runs to the next deadline, what is due
fires (every order, when several are), and the clock moves on by `epsilon` so that the next
event is not at the deadline's very instant. Boolean parameters that a transition's or a
timer's guard reads are searched both ways (`variants`). The kernel (hasm.core.search) gives
the inputs, the variants, the mirror image and the paths; the state (`state_key`) and the loop
(`Search.run`) are this search's own."""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from hasm.core.config import Config, EventInput, Input, Step
from hasm.core.model import Model
from hasm.core.search import Inputs, bounded, mirror, path, searched_services, settings, switches
from hasm.core.semantics import advance, apply, deadline, forced, initial_config, matching, prepare
from hasm.spec.model import ParamValue, Spec
from hasm.spec.params import resolve_params
from hasm.suite.cases import EPSILON
from hasm.trace.records import param_value

__all__ = [
    "MAX_DEPTH",
    "MAX_FAULTS",
    "MAX_STATES",
    "Edge",
    "Reached",
    "Search",
    "Variant",
    "relative",
    "state_key",
    "variants",
]


MAX_DEPTH = 10  # the search's depth bound, in steps; the canonical spec needs far fewer
MAX_STATES = 60_000  # and its size bound per variant
# At most this many faults at once (a stopped service, a node down, an SRM stopped, the link
# down): every transition of the canonical spec needs at most two, and each more multiplies
# the configurations to search.
MAX_FAULTS = 2
# A wait fires what is due at the deadline, then what that makes due at the same instant, and
# so on: past this many firings in a row the cascade is cut short there, so that a spec whose
# firings at one instant never end cannot stall the search (a cap, not a tuned figure).
MAX_CASCADE = 8


@dataclass(frozen=True)
class Variant:
    """One parameter variant the generator searches: every parameter's value, those that differ
    from the spec's defaults (a case's header says them), and what sets it apart, in words."""

    params: Mapping[str, ParamValue]  # every parameter's value
    overrides: Mapping[str, ParamValue]  # those that differ from the spec's defaults
    label: str


@dataclass(frozen=True, slots=True)
class Edge:
    """One step of the search: an event now, or a wait (the clock to the next deadline, what
    is due fires, then `epsilon` more)."""

    steps: tuple[Step, ...]
    befores: tuple[Config, ...]  # the configuration before each step
    end: Config
    event: EventInput | None  # None: a wait
    # The same input (or wait) has other ways to happen - two timers due at once fire in
    # either order, two rules or both nodes match - so a trace cannot show which one it took:
    # what the file observes after it pins less, and where the ways end alike (mirror rules,
    # timers that commute) a wrong rule hides behind its twin.
    ambiguous: bool = False


@dataclass(frozen=True, slots=True)
class Reached:
    """A configuration the search reached, and how it first got there (the best way so far)."""

    config: Config
    parent: Any  # the parent's key; None for a start
    edge: Edge | None
    start: str
    depth: int
    ambiguity: int = 0  # how many ambiguous edges the path to it takes

    @property
    def cost(self) -> tuple[int, int]:
        """How good a witness it is, lowest first: a path whose steps a trace can tell apart
        from their alternatives (its observations pin what the steps did), then a short one."""
        return (self.ambiguity, self.depth)


def variants(spec: Spec, fixed: Mapping[str, ParamValue]) -> list[Variant]:
    """The parameter variants: each boolean parameter a guard reads (and `fixed` does not fix)
    both ways, the spec's default first."""
    base = resolve_params(spec, fixed, file="--param", path="param")
    # The parameters a transition's or a timer's own guard reads: what a reason choice or an
    # invariant reads does not change which steps the search takes.
    flags = switches(spec, fixed, reasons=False, invariants="none")
    out = []
    for setting in settings(spec, flags, default_first=True):
        chosen = {**base, **setting}
        overrides = {k: v for k, v in chosen.items() if v != spec.defaults[k]}
        label = ", ".join(f"{k}={param_value(v)}" for k, v in overrides.items()) or "defaults"
        out.append(Variant(chosen, overrides, label))
    return out


def relative(config: Config) -> tuple[Any, ...]:
    """The configuration with its times relative to its clock: the semantics depends on how
    long ago things happened, not on what time it is."""
    now = config.now
    return (
        config.ha_enabled,
        config.link_up,
        config.nodes,
        tuple((t.name, t.node, t.earliest - now, t.latest - now) for t in config.timers),
        tuple(
            (c.home, c.session, c.waiting_since - now if c.waiting_since >= 0 else None, c.count)
            for c in config.users
        ),
    )


def state_key(config: Config) -> tuple[Any, ...]:
    """The search's state: the configuration with its times relative to its clock, the same
    for a configuration and its mirror image. The semantics treats the two nodes alike (rules
    are written for `node` and `peer`, the starting points are symmetric), so what one reaches
    the other reaches with the nodes' roles swapped: searching one of the two is enough."""
    return min(relative(config), relative(mirror(config)), key=repr)


class Search:
    """The breadth-first search of one variant, recording the first path to each target."""

    def __init__(self, spec: Spec, variant: Variant) -> None:
        self.spec, self.variant = spec, variant
        self.model = Model(spec, variant.params)
        # Every service a guard names, whether this variant monitors it or not.
        services = searched_services(spec, self.model.monitored, every_named=True)
        self.events = Inputs.of(spec, services)
        self.seen: dict[tuple[Any, ...], Reached] = {}
        # Every (configuration, input) tried, when a caller wants them (hasm.suite.mutants does).
        self.tried: list[tuple[Config, Input]] | None = None

    def inputs(self, config: Config) -> Iterator[EventInput]:
        """The events tried in `config`, in spec order, then the users' events."""
        yield from self.events.events
        yield from self.events.for_users(config)

    def wait(self, config: Config) -> list[Edge]:
        """Run the clock to the next deadline and fire what is due there, in every order."""
        model = self.model
        due = deadline(model, config)
        if due is None:
            return []
        start = advance(model, config, due) if due > config.now else config
        out: dict[tuple[Any, ...], Edge] = {}
        ways = 0

        def cascade(c: Config, steps: tuple[Step, ...], befores: tuple[Config, ...]) -> None:
            nonlocal ways
            pending = forced(model, c)
            if not pending or len(steps) > MAX_CASCADE:
                later = c.now + EPSILON
                limit = deadline(model, c)
                end = advance(model, c, later) if limit is None or limit >= later else c
                out.setdefault(state_key(end), Edge(steps, befores, end, None))
                ways += 1
                return
            for inp in pending:
                if self.tried is not None:
                    self.tried.append((c, inp))
                for step in apply(model, c, inp):
                    cascade(step.config, (*steps, step), (*befores, c))

        cascade(start, (), ())
        if ways > 1:
            return [dataclasses.replace(e, ambiguous=True) for e in out.values()]
        return list(out.values())

    def edges(self, config: Config) -> Iterator[Edge]:
        """Every step from `config`: each input that changes it within the fault bound, then
        each way of waiting."""
        for inp in self.inputs(config):
            if self.tried is not None:
                self.tried.append((config, inp))
            if config.services_of_down_node(inp):
                continue
            steps = [s for s in apply(self.model, config, inp) if s.changed]
            ambiguous = len(steps) > 1 or (
                len(steps) == 1
                and steps[0].rule is not None
                and (inp.node is None or len(self.model.rules.get(inp.name, ())) > 1)
                and len(matching(self.model, prepare(self.model, config, inp))) > 1
            )
            # Whether it is ambiguous counts every way it changes the configuration, even one
            # past the fault bound, which is not followed.
            for step in bounded(steps, MAX_FAULTS):
                yield Edge((step,), (config,), step.config, inp, ambiguous)
        yield from self.wait(config)

    def run(self, visit: Callable[[tuple[Any, ...], Reached], None]) -> None:
        """Search breadth first from every start, to MAX_DEPTH steps and MAX_STATES states;
        `visit` hears of each state reached (by its key) and of each step to a state reached
        before (with the key `()`)."""
        queue: deque[tuple[Any, ...]] = deque()
        for name in self.spec.initial:
            config = initial_config(self.model, name)
            key = state_key(config)
            if key not in self.seen:
                self.seen[key] = reached = Reached(config, None, None, name, 0)
                visit(key, reached)
                queue.append(key)
        while queue and len(self.seen) < MAX_STATES:
            key = queue.popleft()
            node = self.seen[key]
            if node.depth >= MAX_DEPTH:
                continue
            for edge in self.edges(node.config):
                child = state_key(edge.end)
                reached = Reached(
                    edge.end, key, edge, node.start, node.depth + 1, node.ambiguity + edge.ambiguous
                )
                old = self.seen.get(child)
                if old is None:
                    queue.append(child)
                elif old.depth < reached.depth or old.ambiguity <= reached.ambiguity:
                    visit((), reached)  # a step to a state reached before: only its steps count
                    continue
                # New, or reached again as shallow by a less ambiguous path: breadth first, a
                # state of the next depth is not expanded yet, so it can take the better path
                # (witnesses recorded before keep theirs: a path runs through parents' keys,
                # and a parent's entry never changes once it is expanded).
                self.seen[child] = reached
                visit(child, reached)

    def path(self, reached: Reached) -> tuple[str, Config, list[Edge]]:
        """The start, its configuration and every step of the path to `reached`."""
        start, edges = path(self.seen, reached, lambda node: node.edge)
        return start.start, start.config, edges
