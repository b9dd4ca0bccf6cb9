"""A spec made runnable: its parameters resolved, its monitored services fixed, its guards
compiled to closures and its bounds put in the model's time. hasm.core.semantics is what a
model does; this is what it is."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from hasm.core.config import NO_NODE, Config, EventInput, Undecided
from hasm.core.memo import Memo, Table
from hasm.spec.guards import guard_tests, spec_guards
from hasm.spec.model import (
    All,
    AnyOf,
    Guard,
    Not,
    ParamValue,
    ReasonChoice,
    Spec,
    Test,
    Transition,
)
from hasm.spec.params import evaluate, resolve_params

__all__ = ["Check", "Model", "default_monitored", "to_ticks"]

# A compiled guard: (configuration, index of the node playing `node`, the event) -> holds?
Check = Callable[[Config, int, EventInput | None], bool]


@dataclass(frozen=True)
class _Rule:
    transition: Transition
    check: Check


@dataclass(frozen=True)
class _NodeTimer:
    name: str
    low: float
    high: float
    check: Check


class Model:
    """A spec made runnable: parameters resolved, monitored services fixed, guards compiled."""

    def __init__(
        self,
        spec: Spec,
        params: Mapping[str, ParamValue] | None = None,
        monitored: Iterable[str] | None = None,
        tolerance: float = 0.0,
        *,
        ticks: int | None = None,
        params_noted: set[str] | None = None,
    ) -> None:
        """`tolerance` widens every timing bound by that many seconds both ways (never below
        zero), for checking traces taken from real clocks.

        With `ticks`, the model's time is an integer count of 1/`ticks` seconds: every bound is
        converted once from its decimal value, so the times of a trace, read the same way, add
        up and compare exactly - no float rounding can put a record on the wrong side of a
        bound, and a stretch of trace shifted in time is exactly the same stretch (the oracle
        relies on both). Without it, time is float seconds, as the simulator uses it.

        With `params_noted`, the model's guards add to it, as they are evaluated, the name of
        every parameter that could have changed their outcome: a parameter test in a
        conjunction matters only when every other term holds, so it is noted then (and
        anywhere else whenever it is evaluated). A parameter never noted while a search ran
        changed nothing there: with it flipped, the search is the same (the explorer relies
        on this to skip such variants)."""
        self.spec = spec
        self.params_noted = params_noted
        self.tolerance = tolerance
        self.ticks = ticks
        self.params: dict[str, ParamValue] = (
            dict(params) if params is not None else resolve_params(spec)
        )
        self.monitored: frozenset[str] = (
            frozenset(monitored) if monitored is not None else default_monitored(spec, self.params)
        )
        self.hosts = {s.id: s.hosts for s in spec.states.values()}
        # Whether some `unserved` condition holds on a node (None: the spec has none).
        self.unserved: Check | None = (
            self.compile(AnyOf(tuple(u.while_ for u in spec.unserved.values())))
            if spec.unserved
            else None
        )
        # Readings that only `unserved` conditions test: they change whom a node serves and
        # nothing else, so with no users their answers cannot be told apart.
        only_hosting = [u.while_ for u in spec.unserved.values()]
        tested_elsewhere = {
            t.prop
            for g in spec_guards(spec)
            if not any(g is u for u in only_hosting)
            for t in guard_tests(g)
            if t.subject == "reading"
        }
        self.hosting_readings = frozenset(spec.readings) - tested_elsewhere
        # Every answer to the readings, as the set of those answered yes: none first.
        names = tuple(spec.readings)
        self.reading_choices: tuple[frozenset[str], ...] = tuple(
            frozenset(name for name, yes in zip(names, answer, strict=True) if yes)
            for answer in itertools.product((False, True), repeat=len(names))
        )
        # The events with more than one outcome (alternative effects), each its own successor.
        self.branching = frozenset(e.id for e in spec.events.values() if e.alternatives)
        self.rules: dict[str, tuple[_Rule, ...]] = {}
        for t in spec.transitions:
            rule = _Rule(t, self.compile(t.when))
            for trigger in t.on:
                self.rules[trigger] = (*self.rules.get(trigger, ()), rule)
        self.node_timers = tuple(
            _NodeTimer(
                t.id,
                self._low(evaluate(t.duration.min, self.params)),
                self._high(evaluate(t.duration.max, self.params)),
                self.compile(t.while_),
            )
            for t in spec.timers.values()
            if t.per == "node"
        )
        self.reason_checks = {
            target.reason: self.compile(target.reason.when)
            for t in spec.transitions
            for target in (t.node, t.peer)
            if isinstance(target.reason, ReasonChoice)
        }
        # What the guards said, by everything they can read: the nodes, the group and the
        # event's service (parameters are fixed per model). Searches meet the same few node
        # configurations again and again at other times. Held here too, as the hot paths
        # look them up at every step.
        self.memo = Memo()
        self.memo_matches: Table[tuple[object, ...], tuple[tuple[Transition, int], ...]] = (
            self.memo.table("matches")
        )
        self.memo_timers_due: Table[
            tuple[object, ...], tuple[tuple[bool, ...], frozenset[tuple[str, int]]]
        ] = self.memo.table("timers_due")
        self.memo_offers: Table[tuple[object, ...], tuple[EventInput, ...]] = self.memo.table(
            "offers"
        )
        relogin = spec.user_timer.duration
        self.relogin_low = self._low(evaluate(relogin.min, self.params))
        self.relogin_high = self._high(evaluate(relogin.max, self.params))

    def relogin_window(self, since: float) -> tuple[float, float]:
        """When a client waiting since `since` may log in again: the earliest and latest time."""
        return since + self.relogin_low, since + self.relogin_high

    # -- bounds in the model's time ---------------------------------------------------------------
    def _low(self, seconds: float) -> float:
        if self.ticks is None:
            return max(0.0, seconds - self.tolerance)
        # Rounded outwards: a bound with more decimals than a tick is widened, never narrowed.
        return max(0, to_ticks(seconds, self.ticks, ROUND_FLOOR) - self._tolerance_ticks())

    def _high(self, seconds: float) -> float:
        if self.ticks is None:
            return seconds + self.tolerance
        return to_ticks(seconds, self.ticks, ROUND_CEILING) + self._tolerance_ticks()

    def _tolerance_ticks(self) -> int:
        assert self.ticks is not None
        return to_ticks(self.tolerance, self.ticks, ROUND_CEILING)

    # -- guards ---------------------------------------------------------------------------------
    def compile(self, guard: Guard) -> Check:
        """A guard as a closure over the model: data in, a predicate out - nothing evaluated."""
        if isinstance(guard, All):
            return self._compile_all(guard)
        if isinstance(guard, AnyOf):
            alts = tuple(self.compile(g) for g in sorted(guard.terms, key=_reads_a_reading))
            return lambda c, n, e: any(p(c, n, e) for p in alts)
        if isinstance(guard, Not):
            inner = self.compile(guard.term)
            return lambda c, n, e: not inner(c, n, e)
        return self._compile_test(guard)

    def _compile_all(self, guard: All) -> Check:
        params = [t for t in guard.terms if isinstance(t, Test) and t.subject == "param"]
        read = self.params_noted
        if read is None or not params:
            # The terms that read a reading last: an open reading (`Node.undecided`) is then
            # asked for only where the rest of the guard holds, so it stays open longer.
            terms = sorted(guard.terms, key=_reads_a_reading)
            return _conjunction(tuple(self.compile(g) for g in terms))
        # Noting parameters: they are tested last, and noted only when the rest holds.
        rest = self._compile_all(All(tuple(t for t in guard.terms if t not in params)))
        holds = all(self.params[t.prop] == t.value for t in params)
        names = [t.prop for t in params]

        def check(c: Config, n: int, e: EventInput | None) -> bool:
            if not rest(c, n, e):
                return False
            read.update(names)
            return holds

        return check

    def _compile_test(self, test: Test) -> Check:
        value = test.value
        if test.subject == "param":
            constant = self.params[test.prop] == value
            read, name = self.params_noted, test.prop
            if read is None:
                return lambda c, n, e: constant

            def noted(c: Config, n: int, e: EventInput | None) -> bool:
                read.add(name)
                return constant

            return noted
        if test.subject == "event":
            services = frozenset(value) if isinstance(value, tuple) else frozenset()
            return lambda c, n, e: e is not None and e.service in services
        if test.subject == "reading":
            reading = test.prop

            def answer(c: Config, n: int, e: EventInput | None) -> bool:
                node = c.nodes[n]
                if reading in node.undecided:
                    raise Undecided(reading)
                return (reading in node.readings) is value

            return answer
        if test.subject == "group":
            if test.prop == "ha_enabled":
                return lambda c, n, e: c.ha_enabled is value
            if test.prop == "link_up":
                return lambda c, n, e: c.link_up is value
            return lambda c, n, e: c.connected() is value
        peer = test.subject == "peer"
        monitored = self.monitored
        if test.prop in ("state", "reason", "service_down"):
            names = frozenset(value) if isinstance(value, tuple) else frozenset()
            if test.prop == "state":
                return lambda c, n, e: c.nodes[n ^ peer].state in names
            if test.prop == "reason":
                return lambda c, n, e: c.nodes[n ^ peer].reason in names
            watched = names & monitored
            return lambda c, n, e: not watched.isdisjoint(c.nodes[n ^ peer].stopped)
        if test.prop == "up":
            return lambda c, n, e: c.nodes[n ^ peer].up is value
        if test.prop == "srm_running":
            return lambda c, n, e: c.nodes[n ^ peer].srm is value
        # monitored_down
        return lambda c, n, e: (not monitored.isdisjoint(c.nodes[n ^ peer].stopped)) is value

    # -- hosting ----------------------------------------------------------------------------------
    def hosts_user(self, config: Config, node: int, home: int) -> bool:
        """Does `node` serve the sessions of users whose home is `home`?"""
        n = config.nodes[node]
        if not n.up:
            return False
        kind = self.hosts[n.state]
        if not (kind == "own_and_peer" or (kind == "own" and node == home)):
            return False
        return self.unserved is None or not self.unserved(config, node, None)

    def serving(self, config: Config, home: int) -> int:
        """The node a client homed on `home` logs in to now, or NO_NODE."""
        if self.hosts_user(config, home, home):
            return home
        if self.hosts_user(config, 1 - home, home):
            return 1 - home
        return NO_NODE


def _reads_a_reading(guard: Guard) -> bool:
    return any(t.subject == "reading" for t in guard_tests(guard))


def _conjunction(parts: tuple[Check, ...]) -> Check:
    """The checks of `parts` in order, stopping at the first that fails: a chain of closures,
    not all() over a generator, since guards are the innermost loop of every search."""
    if not parts:
        return lambda c, n, e: True
    first = parts[0]
    if len(parts) == 1:
        return first
    rest = _conjunction(parts[1:])
    return lambda c, n, e: first(c, n, e) and rest(c, n, e)


def to_ticks(seconds: float, ticks: int, rounding: str = ROUND_CEILING) -> int:
    """`seconds` as a whole number of 1/`ticks` seconds, from the decimal it is written as
    (repr gives the shortest decimal that reads back as the same float)."""
    return int((Decimal(repr(float(seconds))) * ticks).to_integral_value(rounding))


def default_monitored(spec: Spec, params: Mapping[str, ParamValue]) -> frozenset[str]:
    """The services SRM monitors unless a trace says otherwise."""
    return frozenset(
        s.id
        for s in spec.services.values()
        if s.monitored_by_default or (s.monitored_if is not None and params[s.monitored_if] is True)
    )
