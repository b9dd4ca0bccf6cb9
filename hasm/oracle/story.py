"""The story of a trace: the fewest hidden events that explain what it records, and when each was.

A trace whose header names hidden events (`"hidden"`) conforms when *some* behaviour with
events nobody recorded shows what it records; the oracle answers that, fast, and forgets how.
`tell` answers how: it follows the same behaviours, symbolically as the oracle does, but keeps
on each one the hidden events it took, each with a clock of its own started at its moment. The
zone of a behaviour then relates every hidden event's moment to every record's, so at the end
(or at the divergence) each event's window is exact for that behaviour: "presence_engine
stopped on imp1 between t=605 and t=610".

Fewest first: behaviours that reach the same configuration and zone (their hidden events' clocks
set aside) have the same future, so only the ones with the fewest hidden events are kept there
(Dijkstra's argument: a longer story to the same place never leads to a shorter one), and within
a stretch between two records the steps are taken in order of hidden events. Of stories of the
same length that reach the same place, up to `ALTERNATIVES` are kept, and reported as "or".

It costs more than the verdict - no memo of steps, and a clock per hidden event - so it is for
an incident's trace, not for days of polls (there, `hasm check` answers and `hasm explain
--from`/`--to` is the way).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from hasm.core.config import Config, EventInput, Input, Undecided, answered
from hasm.core.model import Model
from hasm.core.symbolic import Symbolic, choices, delay, guard, normalise, step
from hasm.core.zones import Zone, le
from hasm.oracle.candidates import RECORD, Candidate, members, stable_order, stepped
from hasm.oracle.clients import Clients
from hasm.oracle.clock import TICKS, ticks
from hasm.oracle.observing import Observation, Observer
from hasm.trace.records import TraceEvent, TraceRecord

__all__ = ["ALTERNATIVES", "Inferred", "Story", "Teller"]

ALTERNATIVES = 6  # stories of the fewest hidden events kept per configuration reached
_CLOCK = RECORD + 1  # the record clock's index in a zone
_BEFORE = -1  # the tag of a hidden event before the first record: it has no clock


@dataclass(frozen=True, slots=True)
class Inferred:
    """A hidden event some behaviour needs: what, where, and its earliest and latest moment
    (seconds of trace time), between the records at lines `after` and `before`."""

    event: str
    node: int | None
    service: str | None
    earliest: float | None  # None, both: before the first record of a trace that starts
    latest: float | None  # mid-incident, at no moment the trace tells
    after: int | None  # the line of the last record before it (None: before the first)


@dataclass(frozen=True, slots=True)
class Story:
    """The explanations with the fewest hidden events, each a sequence of them in order, up to
    the last record followed (`through`, its line; the divergent one is not)."""

    explanations: tuple[tuple[Inferred, ...], ...]
    through: int | None
    conforms: bool

    @property
    def fewest(self) -> int:
        return min((len(e) for e in self.explanations), default=0)


# A hidden event taken: (its input, its clock's tag, the last record's line before it).
_Taken = tuple[EventInput, int, int | None]


@dataclass(frozen=True, slots=True)
class _Run:
    """One behaviour followed: where it is (tag 0 the last record's clock; the hidden events'
    tags held after it) and the hidden events it took."""

    sym: Symbolic
    taken: tuple[_Taken, ...]


class Teller:
    """Follows the behaviours of one trace, record by record, keeping the hidden events."""

    def __init__(
        self,
        model: Model,
        observer: Observer,
        hidden: Sequence[EventInput],
        max_faults: int,
        start: Iterable[Candidate],
        clients: Clients,
        first: int = 0,
        *,
        anywhen: bool = False,
    ) -> None:
        """`start`: the oracle's first candidates (their record clock at `first` ticks);
        `clients`: the users' clients as the trace has left them there (the teller's own from
        now on); `anywhen`: they are where the group may be at the first record whenever it
        comes (a trace that starts mid-incident), so nothing is reached before it."""
        self.anywhen, self.clients = anywhen, clients
        self.model, self.observer = model, observer
        self.hidden, self.max_faults = tuple(hidden), max_faults
        # A trace that starts mid-incident may start with faults: each had to happen, unseen,
        # before the first record (no clock: nothing tells when).
        self.runs = [
            _Run(m.symbolic, tuple((inp, _BEFORE, None) for inp in _faults(m.symbolic.config)))
            for c in stable_order(start)
            for m in members(c)
        ]
        self.now = first
        self.line: int | None = None

    # -- records --------------------------------------------------------------------------------
    def record(self, rec: TraceRecord, observation: Observation | None = None) -> bool:
        """Follow the behaviours through `rec`; False (and nothing changed) if none allows it.
        An observation comes normalised as the oracle's observer makes it. A reading left open
        that a step needs is answered both ways, and the record followed again (as the
        oracle's `_answering` does)."""
        while True:
            try:
                return self._record(rec, observation)
            except Undecided as need:
                self.runs = [
                    forked for run in self.runs for forked in _answering(run, need.reading)
                ]

    def _record(self, rec: TraceRecord, observation: Observation | None) -> bool:
        tick = ticks(rec.t)
        reached = self.runs if self.anywhen else self._reach(tick - self.now)
        if isinstance(rec, TraceEvent):
            after = list(self._event(reached, rec))
        else:
            assert observation is not None
            after = list(self._observed(reached, observation))
        if not after:
            return False
        self.runs, self.now, self.line = _fewest(after), tick, rec.line
        self.anywhen = False
        if isinstance(rec, TraceEvent) and rec.user is not None:
            self.clients.took(rec.event, rec.user)
        return True

    def story(self, conforms: bool) -> Story:
        """The stories of the behaviours followed so far, the fewest hidden events first."""
        runs = sorted(self.runs, key=lambda r: len(r.taken))
        fewest = len(runs[0].taken) if runs else 0
        seen: dict[tuple[Inferred, ...], None] = {}
        for run in runs:
            if len(run.taken) > fewest:
                break
            seen.setdefault(self._told(run), None)
        best = sorted(_merged(seen), key=_when)
        return Story(tuple(best[:ALTERNATIVES]), self.line, conforms)

    def _told(self, run: _Run) -> tuple[Inferred, ...]:
        zone, now = run.sym.zone, self.now
        told = []
        for inp, tag, after in run.taken:
            if tag == _BEFORE:
                told.append(Inferred(inp.name, inp.node, inp.service, None, None, None))
                continue
            # x_record - x_event: the event's moment less the last record's (at `now`).
            early, late = zone.difference(_CLOCK, tag + 1)
            latest = now + (late if late is not None else 0)
            earliest = now + early if early is not None else 0
            told.append(
                Inferred(inp.name, inp.node, inp.service, earliest / TICKS, latest / TICKS, after)
            )
        return tuple(told)

    # -- between records ------------------------------------------------------------------------
    def _reach(self, elapsed: int) -> list[_Run]:
        """Every behaviour `elapsed` ticks after the last record, through hidden timers,
        re-logins and events, the ones with fewer hidden events first."""
        layers: dict[int, list[_Run]] = {}
        for run in self.runs:
            layers.setdefault(len(run.taken), []).append(run)
        out: list[_Run] = []
        # By discrete part: the zones (hidden events' clocks set aside) a run went on from, and
        # how many runs went on from each, with how many hidden events. Layers come in order of hidden events, so a run
        # inside one of them has no fewer: it is dropped, but for up to ALTERNATIVES at the
        # very same place (stories that meet there, told as "or").
        went: dict[Config, list[list[Any]]] = {}
        cost = min(layers, default=0)
        while layers:
            todo = layers.pop(cost, [])
            while todo:
                run = todo.pop()
                place = _place(run)
                zones = went.setdefault(place.config, [])
                same = next((z for z in zones if z[0] == place.zone), None)
                if same is not None:
                    if same[2] < cost or same[1] >= ALTERNATIVES:
                        continue
                    same[1] += 1
                elif any(z[0].includes(place.zone) for z in zones):
                    continue
                else:
                    zones.append([place.zone, 1, cost])
                passed = delay(self.model, run.sym)
                if passed is None:
                    continue
                zone = passed.zone.constrain(_CLOCK, 0, le(elapsed))
                if zone is None:
                    continue
                here = Symbolic(run.sym.config, zone)
                there = zone.fix(_CLOCK, elapsed)
                if there is not None:
                    out.append(_Run(Symbolic(here.config, there), run.taken))
                for nxt in self._steps(_Run(here, run.taken)):
                    more = len(nxt.taken)
                    (todo if more == cost else layers.setdefault(more, [])).append(nxt)
            cost += 1
        return out

    def _steps(self, run: _Run) -> Iterator[_Run]:
        model, sym = self.model, run.sym
        config = sym.config
        inputs: list[Input] = list(choices(sym))
        inputs += [i for i in self.hidden if not config.services_of_down_node(i)]
        before = (config.ha_enabled, config.link_up, config.nodes, config.timers, config.users)
        for inp in inputs:
            zone = guard(model, sym, inp)
            if zone is None:
                continue
            fresh = zone.clocks  # the step's moment, as tags count from 0
            grown: Zone | None = None
            for after in stepped(model, config, inp, fresh):
                if after.faults() > self.max_faults or before == (
                    after.ha_enabled,
                    after.link_up,
                    after.nodes,
                    after.timers,
                    after.users,
                ):
                    continue
                taken = run.taken
                if isinstance(inp, EventInput):
                    taken = (*taken, (inp, fresh, self.line))
                if grown is None:
                    grown = zone.added()
                yield self._normal(after, grown, taken, RECORD)

    def _normal(self, config: Config, zone: Zone, taken: tuple[_Taken, ...], record: int) -> _Run:
        """The run in normal form, `record` the tag that becomes the record clock (tag 0), the
        hidden events' tags held after it."""
        clocked = [t for t in taken if t[1] != _BEFORE]
        held = (record, *(tag for _, tag, _ in clocked))
        sym, renamed = normalise(config, zone, held)
        tags = iter(renamed[1:])
        return _Run(
            sym,
            tuple(t if t[1] == _BEFORE else (t[0], cast(int, next(tags)), t[2]) for t in taken),
        )

    # -- at a record ----------------------------------------------------------------------------
    def _event(self, reached: list[_Run], rec: TraceEvent) -> Iterator[_Run]:
        model = self.model
        nodes = self.observer.nodes
        node = nodes.index(rec.node) if rec.node is not None else None
        for run in reached:
            config = run.sym.config
            if rec.user is not None:
                inputs = [
                    EventInput(rec.event, node, rec.service, key)
                    for key in self.clients.cohorts(config, rec.user)
                ]
            else:
                inputs = [EventInput(rec.event, node, rec.service)]
            for inp in inputs:
                for moved, grown in step(model, run.sym, inp):
                    yield self._normal(moved.config, grown, run.taken, int(moved.config.now))

    def _observed(self, reached: list[_Run], obs: Observation) -> Iterator[_Run]:
        for run in reached:
            for shown in self.observer.shows(Candidate(run.sym.config, run.sym.zone), obs):
                grown = shown.zone.added()  # the record's clock, at 0, the new tag 0
                fresh = grown.clocks - 1
                yield self._normal(shown.config, grown, run.taken, fresh)


def _answering(run: _Run, reading: str) -> list[_Run]:
    config = run.sym.config
    if reading not in config.nodes[0].undecided:
        return [run]
    return [
        _Run(Symbolic(answered(config, reading, yes), run.sym.zone), run.taken)
        for yes in (False, True)
    ]


def _merged(explanations: Iterable[tuple[Inferred, ...]]) -> list[tuple[Inferred, ...]]:
    """Explanations of the same events whose windows meet, as one: the same stop just before a
    record and just after it is one stop in the union of the two windows (exact: a window is
    what the behaviours allow, and the union of two that meet is one stretch)."""
    out: list[tuple[Inferred, ...]] = []
    for e in sorted(explanations, key=_when):
        for k, kept in enumerate(out):
            if _same_events(kept, e) and all(_meet(a, b) for a, b in zip(kept, e, strict=True)):
                out[k] = tuple(
                    Inferred(
                        a.event,
                        a.node,
                        a.service,
                        None if a.earliest is None else min(a.earliest, cast(float, b.earliest)),
                        None if a.latest is None else max(a.latest, cast(float, b.latest)),
                        # the earliest stretch: None (before the first record) first
                        None if a.after is None or b.after is None else min(a.after, b.after),
                    )
                    for a, b in zip(kept, e, strict=True)
                )
                break
        else:
            out.append(e)
    return out


def _when(e: tuple[Inferred, ...]) -> list[tuple[float, float, str, int]]:
    """Explanations in time order (events before the trace first), then by event and node."""
    inf = float("-inf")
    return [
        (
            inf if i.earliest is None else i.earliest,
            inf if i.latest is None else i.latest,
            i.event,
            -1 if i.node is None else i.node,
        )
        for i in e
    ]


def _meet(a: Inferred, b: Inferred) -> bool:
    """Two windows of one event meet (the unclocked ones before a trace are all one)."""
    if a.earliest is None or b.earliest is None or a.latest is None or b.latest is None:
        return a.earliest is b.earliest is None
    return a.earliest <= b.latest and b.earliest <= a.latest


def _same_events(a: tuple[Inferred, ...], b: tuple[Inferred, ...]) -> bool:
    return len(a) == len(b) and all(
        (x.event, x.node, x.service) == (y.event, y.node, y.service)
        for x, y in zip(a, b, strict=True)
    )


def _faults(config: Config) -> list[EventInput]:
    """The events that made the faults `config` has (hasm.core.config's `Config.faults`)."""
    out = [] if config.link_up else [EventInput("link_down")]
    for i, n in enumerate(config.nodes):
        if not n.up:
            out.append(EventInput("node_down", i))
            continue
        if not n.srm:
            out.append(EventInput("srm_stop", i))
        out += [EventInput("service_stop", i, s) for s in sorted(n.stopped)]
    return out


def _place(run: _Run) -> Symbolic:
    """Where a run is with its hidden events' clocks set aside: runs at the same place have the
    same future."""
    return normalise(run.sym.config, run.sym.zone, (RECORD,))[0]


def _fewest(runs: list[_Run]) -> list[_Run]:
    """The runs with the fewest hidden events at each place, up to ALTERNATIVES there."""
    by_place: dict[Symbolic, list[_Run]] = {}
    for run in sorted(runs, key=lambda r: len(r.taken)):
        kept = by_place.setdefault(_place(run), [])
        fits = not kept or (len(kept) < ALTERNATIVES and len(run.taken) == len(kept[0].taken))
        if fits and run not in kept:
            kept.append(run)
    return [r for kept in by_place.values() for r in kept]
