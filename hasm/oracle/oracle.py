"""The conformance oracle: the set of configurations consistent with every record of a trace.

The oracle keeps every configuration of the spec that some behaviour could be in, given what
the trace said so far. Between two records it explores what the trace cannot see - timers that
fire anywhere in their window, clients that re-login at any moment of theirs - with the one
semantic core (`hasm.core.semantics`); an event keeps the successors of every candidate; an
observation keeps the candidates that show what was seen. The first record that leaves no
candidate is the divergence, reported with what the spec allows there and why.

`Oracle` is the façade: it feeds records and keeps the memo of steps; normalising and matching
observations is hasm.oracle.observing's, reaching the candidates between records
hasm.oracle.reaching's, and reports (`Divergence`) hasm.oracle.report's.

Hidden timing is exact: each candidate is a symbolic configuration whose zone keeps the moments
every hidden step could have been taken at, related to each other and to the records
(hasm.oracle.candidates, hasm.oracle.reaching), so a trace the spec forbids is rejected however
long the chain of unseen steps that would have had to happen at once too early and too late.
One over-approximation remains, pinned by a test:
- users are counted per home node and session, not followed one by one: an observation of
  sessions is checked as how many of each home node's users are on each node. Only whether
  each client is signed in is followed, as the trace's records say (hasm.oracle.clients).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from hasm.core.config import Config, EventInput, Undecided
from hasm.core.model import Model
from hasm.core.search import MAX_FAULTS, Inputs
from hasm.core.semantics import initial_configs, offered
from hasm.errors import ConformanceError, HasmError, InputError, Problem
from hasm.oracle.candidates import (
    Candidate,
    answering,
    coalesce,
    normal,
    starting,
    successors,
)
from hasm.oracle.clients import Clients
from hasm.oracle.clock import TICKS, show_seconds, show_ticks, ticks
from hasm.oracle.observing import Observation, Observer
from hasm.oracle.prehistory import observed_start
from hasm.oracle.reaching import Pins, Reacher
from hasm.oracle.report import Last, Reporter, Seen
from hasm.oracle.story import Teller
from hasm.spec.model import ParamValue, Spec
from hasm.spec.params import resolve_params
from hasm.trace.memo import Content, Repeat
from hasm.trace.records import (
    OBSERVED,
    HiddenEvents,
    NodeObservation,
    OfferedObservation,
    TraceEvent,
    TraceHeader,
    TraceObservation,
    TraceRecord,
)

__all__ = ["Oracle", "hidden_inputs"]


class Oracle:
    """Checks a trace record by record against a spec.

    Build it from a spec and the trace's header (`Oracle.from_header`) or the header's parts,
    then feed it records (`record`, or `event`, `observe`, `advance`). A record the spec does
    not allow raises ConformanceError and leaves the oracle as it was before that record.
    """

    def __init__(
        self,
        spec: Spec,
        nodes: Sequence[str],
        users: Mapping[str, str] | None = None,
        *,
        params: Mapping[str, ParamValue] | None = None,
        monitored: Iterable[str] | None = None,
        initial: str = "ha_disabled",
        tolerance: float = 0.0,
        file: str = "<trace>",
        memo: bool = True,
        ranges: bool = True,
        explain: bool = True,
        hidden: HiddenEvents | None = None,
        lazy: bool = True,
    ) -> None:
        """`initial` is a starting point of the spec, or "observed": anywhere the spec can
        reach (hasm.oracle.prehistory). `hidden` names the environment's events that may
        happen with no record (the environment's, and administrator actions: polls do not show
        who clicked Fallback), and how many faults may hold at once.

        `memo=False` turns off the memo of steps (see `record`), and `ranges=False` lists
        every possible user count instead of keeping a range (see hasm.oracle.candidates): both
        give the same verdicts, only slower; tests compare against them. `explain=False` leaves
        out of a divergence's report when the record would have been allowed (a search of its
        own, hasm.oracle.explain): for callers that want only the verdict, many times over.

        `lazy=False` answers the spec's readings from the start, a candidate per answer; by
        default each stays open until some step first depends on it (`_answering`): a
        reading that matters only in a rare situation then costs nothing until it comes."""
        self.spec, self.file, self.explain, self.ranges = spec, file, explain, ranges
        problems = []
        if len(nodes) != 2 or nodes[0] == nodes[1]:
            problems.append(
                Problem(file, None, "nodes", f"a group has two distinct nodes, not {list(nodes)!r}")
            )
        if initial not in spec.initial and initial != OBSERVED:
            problems.append(
                Problem(
                    file,
                    None,
                    "initial",
                    f"unknown starting point {initial!r}",
                    f"use one of: {', '.join((*spec.initial, OBSERVED))}",
                )
            )
        for name in sorted(hidden.events if hidden is not None else ()):
            event = spec.events.get(name)
            if event is None or "user" in event.fields:
                problems.append(Problem(file, None, "hidden.events", f"{name!r} cannot be hidden"))
        if not (tolerance >= 0 and math.isfinite(tolerance)):
            problems.append(
                Problem(
                    file,
                    None,
                    "tolerance",
                    f"a tolerance is a finite number of seconds >= 0, not {tolerance!r}",
                )
            )
        strangers = [u for u, home in (users or {}).items() if home not in nodes]
        problems += [
            Problem(file, None, f"users.{u}", "home node is not one of the nodes")
            for u in strangers
        ]
        if problems:
            raise InputError(problems)
        self.nodes = (nodes[0], nodes[1])
        self.users = dict(users or {})
        self.homes = {user: self.nodes.index(home) for user, home in self.users.items()}
        # Partial overrides are welcome from the API; a header's are already complete.
        resolved = resolve_params(spec, params or {}, file=file)
        self.model = Model(spec, resolved, monitored, tolerance, ticks=TICKS)
        counts = (
            sum(1 for h in self.homes.values() if h == 0),
            sum(1 for h in self.homes.values() if h == 1),
        )
        # The candidates hold no absolute time (their clocks count from the last record), so
        # the same situation later in a trace is the same set: one shared object (`_shape`).
        self._now = 0  # ticks
        self.now = 0.0  # seconds, as the last record said
        self._shapes: dict[frozenset[Candidate], Shape] = {}
        self._memo: dict[tuple[Shape, int, object], tuple[Shape, object]] | None = (
            {} if memo else None
        )
        faults = hidden.faults if hidden is not None else MAX_FAULTS
        if initial == OBSERVED:
            first = observed_start(self.model, counts, faults, lazy=lazy)
        else:
            first = frozenset(
                starting(c) for c in initial_configs(self.model, initial, counts, lazy=lazy)
            )
        self._shape = self._interned(first)
        self._anywhen = initial == OBSERVED  # no time yet: see `_reach`
        self.recent: deque[Seen] = deque(maxlen=64)
        # Events the memo answered since, not yet in `recent`: (tick, line, words).
        self._unseen: deque[tuple[int, int, tuple[str, str | None, str | None, str | None]]] = (
            deque(maxlen=64)
        )
        self._misses = self._hits = 0
        self.records = 0
        self.assigned = counts
        self._observer = Observer(self.model, self.nodes, self.homes, counts, file)
        self._clients = Clients(spec, self.homes, known=initial != OBSERVED)
        self._reacher = Reacher(
            self.model,
            _LISTED_UP_TO if ranges else math.inf,
            hidden_inputs(self.model, hidden.events) if hidden is not None else (),
            faults,
        )
        self._reporter = Reporter(
            self.model, self.nodes, self.homes, file, self.recent, self._observer.offers
        )

    @classmethod
    def from_header(
        cls,
        spec: Spec,
        header: TraceHeader,
        tolerance: float = 0.0,
        *,
        memo: bool = True,
        ranges: bool = True,
        explain: bool = True,
    ) -> Oracle:
        return cls(
            spec,
            header.nodes,
            header.users,
            params=header.params,
            monitored=header.monitored,
            initial=header.initial,
            tolerance=tolerance,
            file=header.file,
            memo=memo,
            ranges=ranges,
            explain=explain,
            hidden=header.hidden,
        )

    # -- the candidates, and the memo of steps -------------------------------------------------------
    @property
    def candidates(self) -> frozenset[Candidate]:
        """Every symbolic configuration some behaviour allowing the trace so far can be in, its
        clocks counted from the last record (at `now`)."""
        return self._shape.candidates

    @property
    def tick(self) -> int:
        """The time of the last record in the oracle's ticks (`now` is it in seconds): the
        moment the candidates' zones are at."""
        return self._now

    def _interned(self, candidates: frozenset[Candidate]) -> Shape:
        if self._memo is None:
            return Shape(candidates)  # nothing remembers shapes: no need to share them
        shape = self._shapes.get(candidates)
        if shape is None:
            shape = self._shapes[candidates] = Shape(candidates)
        return shape

    def _set(self, candidates: frozenset[Candidate], tick: int, t: float) -> None:
        if self.ranges and len(candidates) > 1:
            candidates = frozenset(coalesce(candidates))
        self._shape, self._now, self.now = self._interned(candidates), tick, t
        self._anywhen = False

    # -- feeding records ------------------------------------------------------------------------
    def record(self, rec: TraceRecord | Repeat) -> None:
        """Check one record of a trace read by hasm.trace (`read`, or `read_repeats`: a
        `Repeat` is the record of a repeated line, made here only if the memo cannot answer).

        Traces repeat themselves - a poll that sees the same page, a cycle of failovers - and
        the semantics does not care what time it is, only how long ago things happened (exactly
        so: time is in integer ticks). So a step is remembered by the candidates' shape relative
        to now, the time since the last record, and the record's content; when the same three
        come again, the remembered next shape is the answer, without exploring anything. The
        reader shares one content object between lines that repeat, so content is compared by
        identity (a Repeat's content is that object), and the memo holds the objects, which
        keeps their ids unique."""
        content: object
        repeated: Content | None = None
        if isinstance(rec, tuple):
            line, t, ns, repeated = rec
            # ns is what ticks(t) gives, read off the digits (hasm.trace.memo.written_ns).
            tick = ticks(t) if ns is None else ns
            content, words = repeated, repeated.event
        else:
            line, t, tick = rec.line, rec.t, ticks(rec.t)
            if isinstance(rec, TraceEvent):
                words = content = (rec.event, rec.node, rec.service, rec.user)
            else:
                content = (id(rec.nodes), id(rec.sessions), rec.ha_enabled, id(rec.offered))
                words = None
        user = words[3] if words is not None else None
        if user is not None:  # what a user event may name depends on its client (clients)
            content = (content, self._clients.signed_in(user))
        memo = self._memo
        if memo is not None:
            key = (self._shape, tick - self._now, content)
            known = memo.get(key)
            if known is not None:
                self._shape, self._now, self.now = known[0], tick, t
                self.records += 1
                self._hits += 1
                if words is not None:  # made a Seen when a report needs it (`_recent`)
                    self._unseen.append((tick, line, words))
                    if user is not None:
                        self._clients.took(words[0], user)
                return
        if isinstance(rec, tuple):
            assert repeated is not None
            rec = repeated.record(line, t)
        if isinstance(rec, TraceEvent):
            event = rec
            self._check_event(event.event, event.node, event.service, event.user)
            self._answering(
                lambda: self._event(
                    event.t, tick, event.event, event.node, event.service, event.user, event.line
                )
            )
        else:
            self.observe(
                rec.t,
                nodes=rec.nodes,
                sessions=rec.sessions,
                ha_enabled=rec.ha_enabled,
                offered=rec.offered,
                line=rec.line,
            )
        if memo is not None:
            self._remember(key, rec)

    def _flush_recent(self) -> None:
        """The events the memo answered, as `recent` holds them (the last 64)."""
        recent = self.recent
        for tick, line, words in self._unseen:
            recent.append(Seen(tick, line, words))
        self._unseen.clear()

    def _remember(self, key: tuple[Shape, int, object], rec: TraceRecord) -> None:
        memo = self._memo
        assert memo is not None
        self._misses += 1
        if self._misses > _MEMO_TRIAL and self._misses * 2 > self.records:
            self._memo = None  # this trace rarely repeats itself: stop paying for the memo
            self._shapes.clear()
            return
        if len(memo) >= _MEMO_SIZE:  # memory stays flat however long the trace
            memo.clear()
            self._shapes.clear()
        held = (rec.nodes, rec.sessions, rec.offered) if isinstance(rec, TraceObservation) else ()
        memo[key] = (self._shape, held)

    def advance(self, t: float) -> None:
        """Let time pass to `t` with nothing recorded on the way."""
        tick = ticks(t)
        self._answering(
            lambda: self._set(frozenset(_stamped(c) for c in self._reach(tick)), tick, t)
        )

    def _answering(self, work: Callable[[], None]) -> None:
        """`work` - taking the candidates through one record - done once every reading it
        needs is answered. A candidate that leaves a reading open (`Node.undecided`) stands
        for every answer, exactly, as long as no step depends on it; the first step that does
        raises Undecided, and the candidates are taken again with the reading answered both
        ways, from the last record, where they were still alike. The work changes nothing
        before it is done, so taking it again is safe; the memo's key (the old shape) stays
        right, since the forked candidates are the same configurations."""
        while True:
            try:
                work()
                return
            except Undecided as need:
                self._shape = self._interned(frozenset(answering(self.candidates, need.reading)))

    def event(
        self,
        t: float,
        name: str,
        node: str | None = None,
        service: str | None = None,
        user: str | None = None,
        *,
        line: int | None = None,
    ) -> None:
        """An event happened at `t`."""
        self._check_event(name, node, service, user)
        self._answering(lambda: self._event(t, ticks(t), name, node, service, user, line))

    def _event(
        self,
        t: float,
        tick: int,
        name: str,
        node: str | None,
        service: str | None,
        user: str | None,
        line: int | None,
    ) -> None:
        if self._unseen:
            self._flush_recent()
        before = self._reach(tick)
        index = self.nodes.index(node) if node is not None else None
        after: set[Candidate] = set()

        def inputs(config: Config) -> Iterator[EventInput]:
            return self._inputs(config, name, index, service, user)

        for cand in before:
            after.update(successors(self.model, cand, inputs, recorded=True))
        seen = Seen(tick, line, (name, node, service, user))
        if not after:

            def asks(cand: Candidate) -> bool:
                return any(
                    a.name == name and (index is None or a.node == index)
                    for a in offered(self.model, cand.config)
                )

            last = Last(self.candidates, self._now, asks) if self.explain else None
            raise ConformanceError(
                self._reporter.event(before, t, line, name, index, seen.words, last)
            )
        self._set(frozenset(after), tick, t)
        if user is not None:
            self._clients.took(name, user)
        self.recent.append(seen)
        self.records += 1

    def observe(
        self,
        t: float,
        *,
        nodes: Mapping[str, NodeObservation | Mapping[str, Any]] | None = None,
        sessions: Mapping[str, str | None] | None = None,
        ha_enabled: bool | None = None,
        offered: OfferedObservation | Mapping[str, Any] | None = None,
        line: int | None = None,
    ) -> None:
        """Something was seen at `t`; absent parts are not checked. A node may be given as a
        NodeObservation (spec ids) or as a plain mapping in the page's words, e.g.
        `{"state": "Running in Backup Mode", "active_users": 4}`; `offered` as an
        OfferedObservation or a mapping like `{"failover": [], "recover": False}`."""
        if self._unseen:
            self._flush_recent()  # a report names the recent events
        obs = self._observer.observation(nodes, sessions, ha_enabled, offered)
        self._answering(lambda: self._observe(t, obs, line))

    def _observe(self, t: float, obs: Observation, line: int | None) -> None:
        observer = self._observer
        tick = ticks(t)
        before = self._reach(tick, observer.pins(obs))
        kept = [shown for c in before for shown in observer.shows(c, obs)]
        if not kept:
            # The counts the observation pins may leave nothing to report against: what the
            # spec allows is what it allows without them.
            shown = before or self._reach(tick)
            last = (
                Last(self.candidates, self._now, lambda c: bool(observer.shows(c, obs)))
                if self.explain
                else None
            )
            raise ConformanceError(self._reporter.observation(shown, t, line, obs, last))
        self._set(frozenset(_stamped(c) for c in kept), tick, t)
        self.records += 1

    def teller(self) -> Teller:
        """A follower of this oracle's behaviours from where it is now that keeps the hidden
        events each takes (hasm.oracle.story): feed it the records the oracle accepts."""
        reacher = self._reacher
        return Teller(
            self.model,
            self._observer,
            reacher.hidden,
            reacher.max_faults,
            self.candidates,
            self._clients.copy(),
            self._now,
            anywhen=self._anywhen,
        )

    def observation_of(self, rec: TraceObservation) -> Observation:
        """A read observation normalised as the oracle checks it."""
        return self._observer.observation(rec.nodes, rec.sessions, rec.ha_enabled, rec.offered)

    # -- what the spec allows now ---------------------------------------------------------------
    def allowed(self) -> dict[str, tuple[str, ...]]:
        """Every field the page could show now, with the values some behaviour allows."""
        if self._unseen:
            self._flush_recent()
        found: dict[str, tuple[str, ...]] = {}

        def fields() -> None:
            found.clear()
            for f in self._reporter.fields(
                self.candidates, Observation({}, {}, None, None), all_fields=True
            ):
                found[f.field] = f.allowed

        self._answering(fields)
        return found

    def answers(self) -> tuple[frozenset[str], ...]:
        """The answers to the spec's readings (`Model.reading_choices`, in its order) that some
        behaviour allowing the trace so far follows: those some candidate's nodes hold. With no
        users a reading only whom a node serves depends on keeps its default answer
        (`initial_configs`): an answer that differs only there is followed as much."""
        held = [(n.readings, n.undecided) for n in (c.config.nodes[0] for c in self.candidates)]
        free = self.model.hosting_readings if not any(self.assigned) else frozenset()
        return tuple(
            a
            for a in self.model.reading_choices
            if any((a - free - undecided) == yes - undecided for yes, undecided in held)
        )

    # -- reaching ---------------------------------------------------------------------------------
    def _reach(self, t: int, pinned: Pins | None = None) -> frozenset[Candidate]:
        if t < self._now:
            raise HasmError(
                f"t={show_ticks(t)} goes back in time (the last record is at t={show_seconds(self.now)})"
            )
        if self._anywhen:
            # Before its first record a trace that starts mid-incident may be anywhere, at any
            # time: the starting set is closed under every step and under time passing
            # (hasm.oracle.prehistory), so it is the set at the first record, whenever that is.
            return self.candidates
        return self._reacher.reach(self.candidates, t - self._now, pinned)

    # -- events -----------------------------------------------------------------------------------
    def _inputs(
        self, config: Config, name: str, node: int | None, service: str | None, user: str | None
    ) -> Iterator[EventInput]:
        """The core inputs an event stands for. A user is one of its home node's users in some
        cohort: the oracle counts users rather than following them, so every cohort of that
        home its client's state allows is a possibility (hasm.oracle.clients)."""
        if user is None:
            yield EventInput(name, node, service)
            return
        for key in self._clients.cohorts(config, user):
            yield EventInput(name, node, service, key)

    def _check_event(
        self, name: str, node: str | None, service: str | None, user: str | None
    ) -> None:
        """An event the trace format cannot express is bad input, as the reader would say."""
        event = self.spec.events.get(name)
        problems = []
        if event is None:
            problems.append(Problem(self.file, None, "event", f"unknown event {name!r}"))
        else:
            given = {"node": node, "service": service, "user": user}
            for key, value in given.items():
                if (value is not None) != (key in event.fields):
                    wanted = "needs" if value is None else "takes no"
                    problems.append(Problem(self.file, None, key, f"event {name} {wanted} '{key}'"))
        if node is not None and node not in self.nodes:
            problems.append(Problem(self.file, None, "node", f"unknown node {node!r}"))
        if user is not None and user not in self.homes:
            problems.append(Problem(self.file, None, "user", f"unknown user {user!r}"))
        if service is not None and service not in self.spec.services:
            problems.append(Problem(self.file, None, "service", f"unknown service {service!r}"))
        if problems:
            raise InputError(problems)


def hidden_inputs(model: Model, names: Iterable[str]) -> tuple[EventInput, ...]:
    """The inputs of the hidden events `names`: each with every node and monitored service it
    takes (an unmonitored service stopping changes nothing the spec can see), in spec order."""
    services = tuple(s for s in model.spec.services if s in model.monitored)
    wanted = set(names)
    return tuple(i for i in Inputs.of(model.spec, services).events if i.name in wanted)


def _stamped(cand: Candidate) -> Candidate:
    """The candidate with a fresh record clock, at 0 now (the old one kept only for what
    started then)."""
    grown = Candidate(cand.config, cand.zone.added(), cand.splits)
    return normal(grown, (cand.zone.clocks,))


class Shape:
    """A set of candidates, compared by identity as the memo's key (equal sets share one)."""

    __slots__ = ("candidates",)

    def __init__(self, candidates: frozenset[Candidate]) -> None:
        self.candidates = candidates


_MEMO_TRIAL = 2000  # records before the memo may decide a trace does not repeat itself
_MEMO_SIZE = 200_000  # steps remembered at most
_LISTED_UP_TO = 16  # a waiting cohort this small has each count listed, not a range
