"""The conformance oracle: the set of configurations consistent with every record of a trace.

The oracle keeps every configuration of the spec that some behaviour could be in, given what
the trace said so far. Between two records it explores what the trace cannot see - timers that
fire anywhere in their window, clients that re-login at any moment of theirs - with the one
semantic core (`hasm.core.semantics`); an event keeps the successors of every candidate; an
observation keeps the candidates that show what was seen. The first record that leaves no
candidate is the divergence, reported with what the spec allows there and why.

Where exactness would cost too much the oracle over-approximates - it may accept a trace the
spec forbids, it never rejects one the spec allows - in two places, both pinned by tests:
- a hidden step that happens anywhere in [a, b] is taken at a, and what it starts (timers,
  clients' re-login waits) is given the later bound it would have if taken at b: the relation
  between those times is not kept (intervals, not zones);
- users are counted per home node and session, not followed one by one: an observation of
  sessions is checked as how many of each home node's users are on each node.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN
from typing import Any, cast

from hasm.core.config import (
    NO_NODE,
    NOT_WAITING,
    Cohort,
    Config,
    EventInput,
    Fire,
    Relogin,
    UserKey,
)
from hasm.core.semantics import (
    Model,
    NodeView,
    apply,
    deadline,
    describe_duration,
    initial_config,
    node_views,
    offered,
    to_ticks,
)
from hasm.errors import ConformanceError, HasmError, InputError, Problem
from hasm.oracle.candidates import (
    Candidate,
    Relative,
    Shape,
    Split,
    add_split,
    at,
    expand,
    keep_slack,
    member,
    members,
    narrow,
    narrow_all,
    relative,
    settled,
    successors,
    widen,
)
from hasm.spec.labels import label_index, normalise_label
from hasm.spec.model import ParamValue, Spec
from hasm.spec.params import resolve_params
from hasm.trace.records import (
    NodeObservation,
    OfferedObservation,
    TraceEvent,
    TraceHeader,
    TraceObservation,
    TraceRecord,
)

_Counts = dict[tuple[int, int], int]  # users observed per (home node, session node)


@dataclass(frozen=True, slots=True)
class _Pins:
    """What an observation about to be checked says exactly about where users are: the users
    per (home, session node) of the homes it lists in full, and each node's active users."""

    homes: _Counts | None
    active: tuple[int | None, int | None]


# -- the report of a divergence --------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FieldReport:
    """One observed field against what the spec allows there."""

    field: str  # e.g. "nodes.IMPPub.state"
    observed: str
    allowed: tuple[str, ...]

    @property
    def conforms(self) -> bool:
        return self.observed in self.allowed


@dataclass(frozen=True)
class Divergence:
    """The first record no behaviour of the spec allows: where, what, and why."""

    file: str
    line: int | None
    t: float
    record: str  # the record in words
    fields: tuple[FieldReport, ...]  # every field observed, against what is allowed
    why: tuple[str, ...]  # the earlier lines and timers that lead here, in the spec's words

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        out = [f"{where}: t={_t(self.t)}: does not conform: {self.record}"]
        for f in self.fields:
            mark = "ok " if f.conforms else "NOT"
            allowed = ", ".join(f.allowed) if f.allowed else "nothing"
            out.append(f"  {mark} {f.field}: observed {f.observed}; the spec allows {allowed}")
        out += [f"  why: {w}" for w in self.why]
        return "\n".join(out)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "t": self.t,
            "record": self.record,
            "fields": [
                {
                    "field": f.field,
                    "observed": f.observed,
                    "allowed": list(f.allowed),
                    "conforms": f.conforms,
                }
                for f in self.fields
            ],
            "why": list(self.why),
        }


# -- the oracle -----------------------------------------------------------------------------------
def _t(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.3f}"


# The oracle's clock counts nanoseconds in integers (see Model's `ticks`): trace times are read
# to the nanosecond, and every bound is exact.
TICKS = 10**9


def _ticks(seconds: float) -> int:
    """A record's `t` in ticks: the nanosecond nearest to the decimal it was written as. Below
    10^6 s a float product is within 0.25 ns of it, so rounding finds it; beyond, decimals."""
    if 0 <= seconds < 1e6:
        return round(seconds * 1e9)
    return to_ticks(seconds, TICKS, ROUND_HALF_EVEN)


def _tk(ticks: float) -> str:
    return _t(ticks / TICKS)


@dataclass(frozen=True, slots=True)
class _Seen:
    """An event recently fed, to name the line that started a timer."""

    t: int  # ticks
    line: int | None
    event: tuple[str, str | None, str | None, str | None]  # name, node, service, user

    @property
    def words(self) -> str:
        name, node, service, user = self.event
        parts = [name, *(p for p in (service,) if p)]
        if node is not None:
            parts.append(f"on {node}")
        if user is not None:
            parts.append(f"by {user}")
        return " ".join(parts)


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
    ) -> None:
        """`memo=False` turns off the memo of steps (see `record`), and `ranges=False` lists
        every possible re-login count instead of keeping a range (see hasm.oracle.candidates): both
        give the same verdicts, only slower; tests compare against them."""
        self.spec, self.file, self._ranges = spec, file, ranges
        problems = []
        if len(nodes) != 2 or nodes[0] == nodes[1]:
            problems.append(
                Problem(file, None, "nodes", f"a group has two distinct nodes, not {list(nodes)!r}")
            )
        if initial not in spec.initial:
            problems.append(
                Problem(
                    file,
                    None,
                    "initial",
                    f"unknown starting point {initial!r}",
                    f"use one of: {', '.join(spec.initial)}",
                )
            )
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
        # The candidates are known as absolute configurations, or as a shape relative to `_now`
        # (after a remembered step), or both; `candidates` gives the first from the second.
        self._absolute: frozenset[Candidate] | None = None
        self._shape: Shape | None = None
        self._now = 0  # ticks
        self.now = 0.0  # seconds, as the last record said
        self._set(frozenset({Candidate(initial_config(self.model, initial, counts))}), 0, 0.0)
        self.recent: deque[_Seen] = deque(maxlen=64)
        # The memo of steps (see `record`): shapes of candidate sets, and what follows each.
        self._shapes: dict[frozenset[Relative], Shape] = {}
        self._memo: dict[tuple[Shape, int, tuple[object, ...]], tuple[Shape, object]] | None = (
            {} if memo else None
        )
        self._misses = self._hits = 0
        self.records = 0
        self.assigned = counts
        self._offers_seen: dict[object, dict[str, frozenset[str]]] = {}
        self._sessions_seen: dict[int, tuple[Mapping[str, str | None], _Counts]] = {}
        self._states = label_index(spec.states.values())
        self._reasons = label_index(spec.reasons.values())

    @classmethod
    def from_header(
        cls,
        spec: Spec,
        header: TraceHeader,
        tolerance: float = 0.0,
        *,
        memo: bool = True,
        ranges: bool = True,
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
        )

    # -- the candidates, and the memo of steps -------------------------------------------------------
    @property
    def candidates(self) -> frozenset[Candidate]:
        """Every configuration some behaviour allowing the trace so far can be in."""
        if self._absolute is None:
            assert self._shape is not None
            self._absolute = self._shape.at(self._now)
        return self._absolute

    def _set(self, candidates: frozenset[Candidate], tick: int, t: float) -> None:
        self._absolute, self._shape, self._now, self.now = candidates, None, tick, t

    def _current_shape(self) -> Shape:
        """The candidates with their times taken relative to now, as one shared value."""
        if self._shape is None:
            rel = frozenset(relative(c, self._now) for c in self.candidates)
            shape = self._shapes.get(rel)
            if shape is None:
                shape = self._shapes[rel] = Shape(rel)
            self._shape = shape
        return self._shape

    # -- feeding records ------------------------------------------------------------------------
    def record(self, rec: TraceRecord) -> None:
        """Check one record of a trace read by hasm.trace.

        Traces repeat themselves - a poll that sees the same page, a cycle of failovers - and
        the semantics does not care what time it is, only how long ago things happened (exactly
        so: time is in integer ticks). So a step is remembered by the candidates' shape relative
        to now, the time since the last record, and the record's content; when the same three
        come again, the remembered next shape is the answer, without exploring anything. The
        reader shares one content object between lines that repeat, so content is compared by
        identity, and the memo holds the objects, which keeps their ids unique."""
        tick = _ticks(rec.t)
        content: tuple[object, ...]
        if isinstance(rec, TraceEvent):
            content = (rec.event, rec.node, rec.service, rec.user)
        else:
            content = (id(rec.nodes), id(rec.sessions), rec.ha_enabled, id(rec.offered))
        memo = self._memo
        if memo is not None:
            key = (self._current_shape(), tick - self._now, content)
            known = memo.get(key)
            if known is not None:
                self._absolute, self._shape, self._now, self.now = None, known[0], tick, rec.t
                self.records += 1
                self._hits += 1
                if isinstance(rec, TraceEvent):
                    self.recent.append(_Seen(tick, rec.line, content))  # type: ignore[arg-type]
                return
        if isinstance(rec, TraceEvent):
            self._check_event(rec.event, rec.node, rec.service, rec.user)
            self._event(rec.t, tick, rec.event, rec.node, rec.service, rec.user, rec.line)
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

    def _remember(self, key: tuple[Shape, int, tuple[object, ...]], rec: TraceRecord) -> None:
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
        memo[key] = (self._current_shape(), held)

    def advance(self, t: float) -> None:
        """Let time pass to `t` with nothing recorded on the way."""
        tick = _ticks(t)
        self._set(self._reach(tick), tick, t)

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
        self._event(t, _ticks(t), name, node, service, user, line)

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
        before = self._reach(tick)
        index = self.nodes.index(node) if node is not None else None
        after: set[Candidate] = set()

        def inputs(config: Config) -> Iterator[EventInput]:
            return self._inputs(config, name, index, service, user)

        for cand in before:
            after.update(successors(self.model, cand, inputs, settled))
        seen = _Seen(tick, line, (name, node, service, user))
        if not after:
            raise ConformanceError(self._diverged_event(before, t, line, name, index, seen.words))
        self._set(frozenset(after), tick, t)
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
        checked_sessions = self._sessions(sessions or {})
        obs = _Observation(
            {name: self._node_observation(name, want) for name, want in (nodes or {}).items()},
            checked_sessions,
            ha_enabled,
            self._offered_observation(offered),
            self._session_counts(checked_sessions),
        )
        tick = _ticks(t)
        active = tuple(
            (want.active_users if (want := obs.nodes.get(name)) is not None else None)
            for name in self.nodes
        )
        pins = _Pins(self._full_homes(obs.session_counts), (active[0], active[1]))
        before = self._reach(tick, pins)
        kept = frozenset(shown for c in before for shown in self._shows(c, obs))
        if not kept:
            raise ConformanceError(self._diverged_observation(before, t, line, obs))
        self._set(kept, tick, t)
        self.records += 1

    def _node_observation(
        self, name: str, want: NodeObservation | Mapping[str, Any]
    ) -> NodeObservation:
        if name not in self.nodes:
            raise InputError(Problem(self.file, None, f"nodes.{name}", f"unknown node {name!r}"))
        if isinstance(want, NodeObservation):
            return want
        unknown = set(want) - {"state", "reason", "assigned_users", "active_users"}
        if unknown:
            raise InputError(
                Problem(self.file, None, f"nodes.{name}", f"unknown keys {sorted(unknown)}")
            )
        return NodeObservation(
            self._id(self._states, want.get("state"), f"nodes.{name}.state"),
            self._id(self._reasons, want.get("reason"), f"nodes.{name}.reason"),
            want.get("assigned_users"),
            want.get("active_users"),
        )

    def _id(self, index: Mapping[str, str], label: object, path: str) -> str | None:
        if label is None:
            return None
        found = index.get(normalise_label(label)) if isinstance(label, str) else None
        if found is None:
            raise InputError(
                Problem(self.file, None, path, f"{label!r} is not a label the spec knows")
            )
        return found

    def _sessions(self, sessions: Mapping[str, str | None]) -> Mapping[str, str | None]:
        known = self._sessions_seen.get(id(sessions))
        if known is not None and known[0] is sessions:
            return sessions  # checked when it was first counted
        for user, node in sessions.items():
            if user not in self.homes or (node is not None and node not in self.nodes):
                raise InputError(
                    Problem(
                        self.file,
                        None,
                        f"sessions.{user}",
                        f"unknown user or node: {user!r} on {node!r}",
                    )
                )
        return sessions

    def _offered_observation(
        self, offered: OfferedObservation | Mapping[str, Any] | None
    ) -> OfferedObservation | None:
        if offered is None or isinstance(offered, OfferedObservation):
            return offered

        def nodes(key: str) -> frozenset[str] | None:
            value = offered.get(key)
            return None if value is None else frozenset(value)

        return OfferedObservation(nodes("failover"), nodes("fallback"), offered.get("recover"))

    # -- what the spec allows now ---------------------------------------------------------------
    def allowed(self) -> dict[str, tuple[str, ...]]:
        """Every field the page could show now, with the values some behaviour allows."""
        return {
            f.field: f.allowed
            for f in self._fields(
                self.candidates, _Observation({}, {}, None, None), all_fields=True
            )
        }

    # -- exploring what the trace cannot see ------------------------------------------------------
    def _reach(self, t: int, pinned: _Pins | None = None) -> frozenset[Candidate]:
        if t < self._now:
            raise HasmError(
                f"t={_tk(t)} goes back in time (the last record is at t={_t(self.now)})"
            )
        out: set[Candidate] = set()
        for cand in self.candidates:
            if self._quiet(cand, t):
                out.add(at(cand, t))  # the common case: nothing can happen before t
            else:
                out.update(self._reach_one(cand, t, pinned))
        # A range stands for its configuration too: drop the configuration listed again.
        ranged = {(c.config, c.slack) for c in out if c.splits}
        if ranged:
            out = {c for c in out if c.splits or (c.config, c.slack) not in ranged}
        return frozenset(out)

    def _quiet(self, cand: Candidate, t: float) -> bool:
        """No timer may fire and no client may re-login up to `t`."""
        config = cand.config
        if any(timer.earliest <= t for timer in config.timers):
            return False
        low = self.model.relogin_low
        return not any(c.waiting_since >= 0 and c.waiting_since + low <= t for c in config.users)

    def _reach_one(
        self, start: Candidate, t: float, pinned: _Pins | None = None
    ) -> Iterator[Candidate]:
        """Every candidate at `t`: hidden timer firings and re-logins up to `t`, in any order.

        Re-logins change no node, so between two timer firings the order of the clients that
        re-login does not matter: each cohort's count is chosen once per stretch (cohorts in
        their order), which keeps the work linear in the number of clients, not quadratic.

        `pinned` is what the observation about to be checked says exactly about where users
        are. When no timer can fire before `t` and a cohort is the only one whose clients can
        change a count it gives, the cohort's count is read off it instead of listed."""
        model = self.model
        no_cohort: frozenset[UserKey] = frozenset()
        stack: list[tuple[Candidate, frozenset[UserKey]]] = [(start, no_cohort)]
        seen = {(start, no_cohort)}
        yielded: set[Candidate] = set()

        def push(cand: Candidate, done: frozenset[UserKey]) -> None:
            if (cand, done) not in seen:
                seen.add((cand, done))
                stack.append((cand, done))

        while stack:
            cand, done = stack.pop()
            config = cand.config
            limit = self._deadline(cand)
            # A window is closed at both ends: at its deadline a timer may still be unfired.
            if (limit is None or limit >= t) and cand not in yielded:
                yielded.add(cand)
                yield at(cand, t)
            # The members of a range in which a cohort's clients are all back outlive the
            # cohort's deadline: they go on as a candidate of their own.
            for i, split in enumerate(cand.splits):
                source = split.source
                if split.extra == config.count(source) and self._latest(cand, source) < t:
                    push(narrow(cand, i, split.extra, split.extra), done)
            horizon = t if limit is None else min(t, limit)
            for timer in config.timers:
                low, high = max(config.now, timer.earliest), min(timer.latest, horizon)
                if low > high:
                    continue
                fire, width = (Fire(timer.name, timer.node),), high - low
                for after in successors(
                    model,
                    at(cand, low),
                    lambda _config, fire=fire: fire,  # type: ignore[misc]
                    lambda c, step, width=width: widen(c, step, width),  # type: ignore[misc]
                ):
                    push(after, no_cohort)
            for cohort in config.users:
                if cohort.waiting_since < 0 or cohort.key in done:
                    continue
                low = max(config.now, cohort.waiting_since + model.relogin_low)
                if low > min(self._latest(cand, cohort.key), horizon):
                    continue
                here = at(cand, low)
                target = (cohort.home, model.serving(here.config, cohort.home), NOT_WAITING)
                index = next((i for i, s in enumerate(cand.splits) if s.source == cohort.key), None)
                if index is not None and cand.splits[index].target != target:
                    for part in expand(here, index):  # they land elsewhere now: list it out
                        push(part, done)
                    continue
                for after in self._relogins(here, cohort, target, index, pinned, t, done):
                    push(after, done | {cohort.key})

    def _latest(self, cand: Candidate, key: UserKey) -> float:
        """The last moment a waiting cohort's clients may re-login."""
        return key[2] + self.model.relogin_high + cand.slack_of(key)

    def _relogins(
        self,
        here: Candidate,
        cohort: Cohort,
        target: UserKey,
        index: int | None,
        pinned: _Pins | None,
        until: float,
        done: frozenset[UserKey],
    ) -> list[Candidate]:
        """The candidates after some of `cohort`'s clients re-login now, landing in cohort
        `target` (as range `index` of `here` already does, if not None): as many as the
        observation about to be checked says, when it pins the count; else any number of them,
        as one range (see hasm.oracle.candidates)."""
        config = here.config
        read_off = self._pinned_count(here, cohort, pinned, until, done) if pinned else None
        if read_off is None:
            ranged = add_split(here, cohort.key, target, cohort.count)
            # A few clients are cheaper listed: the candidates merge as they meet again.
            if self._ranges and cohort.count > _LISTED_UP_TO:
                return [ranged]
            return expand(ranged, ranged.splits.index(Split(cohort.key, target, cohort.count)))
        if read_off == 0:
            return []  # none: the candidate without re-logins is there already
        if index is not None:  # every member, plus those still to re-login, has that many back
            return [narrow(here, index, read_off, read_off)]
        back = apply(self.model, config, Relogin(cohort.key, read_off))[0].config
        return [Candidate(back, keep_slack(here.slack, back, here.splits), here.splits)]

    def _pinned_count(
        self,
        here: Candidate,
        cohort: Cohort,
        pinned: _Pins,
        until: float,
        done: frozenset[UserKey],
    ) -> int | None:
        """How many of `cohort` are back by the observation, when it says so exactly and nothing
        else can change that before it (0: none, or an impossible number; None: not known).
        The count is the configuration's: a range along this cohort is settled by it."""
        model, home, config = self.model, cohort.home, here.config
        target = model.serving(config, home)
        if target == NO_NODE:
            return None
        if any(
            s.source != cohort.key and (s.source[0] == home or target in (s.source[1], s.target[1]))
            for s in here.splits
        ):
            return None  # another range moves the same users or counter
        # Not before the observation itself (`until`), not just before this stretch's deadline:
        # a timer firing after the clients' deadline can still move them before it is made.
        if any(max(config.now, tm.earliest) <= min(tm.latest, until) for tm in config.timers):
            return None  # a timer may still fire first and change where clients land
        waiting = [
            c
            for c in config.users
            if c.waiting_since >= 0 and c.key != cohort.key and c.key not in done
        ]
        wanted: int | None = None
        homes = pinned.homes
        if homes is not None and any(key[0] == home for key in homes):
            # every user of the home is listed: its users on the target, less those there now
            if any(c.home == home for c in waiting):
                return None  # several waiting cohorts could share the count
            there = sum(c.count for c in config.users if c.home == home and c.session == target)
            wanted = homes.get((home, target), 0) - there
        elif pinned.active[target] is not None:
            # the target's active users, less those there now, if this cohort alone lands there
            view = node_views(model, config)[target]
            if not model.spec.states[view.state].shows_active_users:
                return None
            if any(model.serving(config, c.home) == target for c in waiting):
                return None
            wanted = cast(int, pinned.active[target]) - view.active_users
        if wanted is None:
            return None
        return wanted if 1 <= wanted <= cohort.count else 0

    def _deadline(self, cand: Candidate) -> float | None:
        """The core's deadline, with the slack of waiting cohorts taken into account."""
        if not cand.slack:
            return deadline(self.model, cand.config)
        times = [timer.latest for timer in cand.config.timers]
        times += [
            c.waiting_since + self.model.relogin_high + cand.slack_of(c.key)
            for c in cand.config.users
            if c.waiting_since >= 0
        ]
        return min(times) if times else None

    # -- events -----------------------------------------------------------------------------------
    def _inputs(
        self, config: Config, name: str, node: int | None, service: str | None, user: str | None
    ) -> Iterator[EventInput]:
        """The core inputs an event stands for. A user is one of its home node's users in some
        cohort: the oracle counts users rather than following them, so every cohort of that
        home is a possibility."""
        if user is None:
            yield EventInput(name, node, service)
            return
        home = self.homes[user]
        for cohort in config.users:
            if cohort.home == home:
                yield EventInput(name, node, service, cohort.key)

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

    # -- observations -------------------------------------------------------------------------------
    def _shows(self, cand: Candidate, obs: _Observation) -> list[Candidate]:
        """The part of `cand` that shows what was observed (one candidate, or none, or - when
        one counter constrains two ranges at once - the first range listed out)."""
        config = cand.config
        if not cand.splits:
            return [cand] if self._shows_config(config, obs) else []
        views = node_views(self.model, config)
        for name, want in obs.nodes.items():  # all but the counts: the same in every member
            view = views[self.nodes.index(name)]
            if not _node_matches(view, dataclasses.replace(want, active_users=None)):
                return []
        if obs.ha_enabled is not None and obs.ha_enabled != config.ha_enabled:
            return []
        if obs.offered is not None and not self._offers_match(config, obs.offered):
            return []
        # The counts: each observed one is the configuration's plus each range's pick times
        # -1, 0 or 1; a counter must equal it, a count of sessions be at most it.
        splits = cand.splits
        rows: list[tuple[tuple[int, ...], int, bool]] = []  # (coefficients, bound, exact)
        for name, want in obs.nodes.items():
            if want.active_users is None:
                continue
            n = self.nodes.index(name)
            shown = self.spec.states[views[n].state].shows_active_users
            coeffs = tuple(
                ((s.target[1] == n) - (s.source[1] == n)) if shown else 0 for s in splits
            )
            rows.append((coeffs, want.active_users - views[n].active_users, True))
        if obs.sessions:
            have: dict[tuple[int, int], int] = {}
            for c in config.users:
                have[(c.home, c.session)] = have.get((c.home, c.session), 0) + c.count
            for key, need in obs.session_counts.items():
                coeffs = tuple((s.target[:2] == key) - (s.source[:2] == key) for s in splits)
                rows.append((coeffs, need - have.get(key, 0), False))
        lows, highs = [0] * len(splits), [s.extra for s in splits]
        for coeffs, bound, exact in rows:
            involved = [i for i, c in enumerate(coeffs) if c]
            if len(involved) > 1:
                return [part for p in expand(cand, involved[0]) for part in self._shows(p, obs)]
            if not involved:
                if bound != 0 if exact else bound > 0:
                    return []
                continue
            i = involved[0]
            sign = coeffs[i]  # pick * sign == bound (exact) or >= bound: pick vs bound * sign
            if exact or sign > 0:
                lows[i] = max(lows[i], bound * sign)
            if exact or sign < 0:
                highs[i] = min(highs[i], bound * sign)
        if any(low > high for low, high in zip(lows, highs, strict=True)):
            return []
        return [narrow_all(cand, lows, highs)]

    def _shows_config(self, config: Config, obs: _Observation) -> bool:
        views = node_views(self.model, config)
        for name, want in obs.nodes.items():
            view = views[self.nodes.index(name)]
            if not _node_matches(view, want):
                return False
        if obs.ha_enabled is not None and obs.ha_enabled != config.ha_enabled:
            return False
        if obs.offered is not None and not self._offers_match(config, obs.offered):
            return False
        return not obs.sessions or self._sessions_fit(config, obs.session_counts)

    def _offers_match(self, config: Config, want: OfferedObservation) -> bool:
        offers = self._offers(config)
        if want.failover is not None and want.failover != offers.get("failover", frozenset()):
            return False
        if want.fallback is not None and want.fallback != offers.get("fallback", frozenset()):
            return False
        return want.recover is None or want.recover == bool(offers.get("recover"))

    def _offers(self, config: Config) -> dict[str, frozenset[str]]:
        # What is offered depends on the nodes, the HA setting and the link only, and a trace
        # visits few of those: remember them.
        key = (config.nodes, config.ha_enabled, config.link_up)
        known = self._offers_seen.get(key)
        if known is None:
            known = self._offers_of(config)
            if len(self._offers_seen) > 4096:
                self._offers_seen.clear()
            self._offers_seen[key] = known
        return known

    def _offers_of(self, config: Config) -> dict[str, frozenset[str]]:
        out: dict[str, set[str]] = {}
        for action in offered(self.model, config):
            names = out.setdefault(action.name, set())
            names.add(self.nodes[action.node] if action.node is not None else "")
        return {k: frozenset(v) for k, v in out.items()}

    def _sessions_fit(self, config: Config, need: Mapping[tuple[int, int], int]) -> bool:
        """Observed sessions, counted per home node and session node, fit the configuration's
        cohorts (users are counted, not followed: see the module docstring)."""
        have: dict[tuple[int, int], int] = {}
        for c in config.users:
            have[(c.home, c.session)] = have.get((c.home, c.session), 0) + c.count
        return all(have.get(key, 0) >= n for key, n in need.items())

    def _full_homes(self, counts: Mapping[tuple[int, int], int]) -> _Counts | None:
        """The observed counts of the homes whose every user the observation lists."""
        listed: dict[int, int] = {}
        for (home, _), n in counts.items():
            listed[home] = listed.get(home, 0) + n
        full = {h for h, n in listed.items() if n == self.assigned[h]}
        if not full:
            return None
        return {key: n for key, n in counts.items() if key[0] in full}

    def _session_counts(self, sessions: Mapping[str, str | None]) -> dict[tuple[int, int], int]:
        # The reader shares one mapping between lines that repeat: count each mapping once.
        known = self._sessions_seen.get(id(sessions))
        if known is not None and known[0] is sessions:
            return known[1]
        need: dict[tuple[int, int], int] = {}
        for user, node in sessions.items():
            key = (self.homes[user], NO_NODE if node is None else self.nodes.index(node))
            need[key] = need.get(key, 0) + 1
        if len(self._sessions_seen) > 1024:
            self._sessions_seen.clear()
        self._sessions_seen[id(sessions)] = (sessions, need)  # holding it keeps its id unique
        return need

    # -- explaining a divergence ----------------------------------------------------------------------
    def _fields(
        self, cands: Iterable[Candidate], obs: _Observation, *, all_fields: bool = False
    ) -> list[FieldReport]:
        spec, configs = self.spec, [m.config for c in cands for m in _listed(c)]
        views = [node_views(self.model, c) for c in configs]
        out: list[FieldReport] = []
        for i, name in enumerate(self.nodes):
            want = obs.nodes.get(name)
            if want is None and not all_fields:
                continue
            for attr in ("state", "reason", "assigned_users", "active_users"):
                observed = getattr(want, attr) if want is not None else None
                if observed is None and not all_fields:
                    continue
                allowed = sorted({_label(spec, attr, getattr(v[i], attr)) for v in views})
                shown = _label(spec, attr, observed) if observed is not None else "-"
                out.append(FieldReport(f"nodes.{name}.{attr}", shown, tuple(allowed)))
        if obs.ha_enabled is not None or all_fields:
            allowed = sorted({_json(c.ha_enabled) for c in configs})
            out.append(FieldReport("ha_enabled", _json(obs.ha_enabled), tuple(allowed)))
        if obs.offered is not None or all_fields:
            offers = [self._offers(c) for c in configs]
            for action in ("failover", "fallback"):
                want_nodes = getattr(obs.offered, action) if obs.offered is not None else None
                if want_nodes is None and not all_fields:
                    continue
                allowed = sorted({_names(o.get(action, frozenset())) for o in offers})
                out.append(
                    FieldReport(
                        f"offered.{action}", _names(want_nodes or frozenset()), tuple(allowed)
                    )
                )
            if (obs.offered is not None and obs.offered.recover is not None) or all_fields:
                allowed = sorted({_json(bool(o.get("recover"))) for o in offers})
                want_recover = obs.offered.recover if obs.offered is not None else None
                out.append(FieldReport("offered.recover", _json(want_recover), tuple(allowed)))
        users = list(self.homes) if all_fields else list(obs.sessions)
        for user in users:
            node = obs.sessions.get(user)
            home = self.homes[user]
            allowed = sorted(
                {
                    "null" if c.session == NO_NODE else self.nodes[c.session]
                    for config in configs
                    for c in config.users
                    if c.home == home
                }
            )
            shown = "-" if user not in obs.sessions else (node or "null")
            out.append(FieldReport(f"sessions.{user}", shown, tuple(allowed)))
        return out

    def _diverged_observation(
        self, before: frozenset[Candidate], t: float, line: int | None, obs: _Observation
    ) -> Divergence:
        fields = self._fields(before, obs)
        if all(f.conforms for f in fields):
            fields.append(
                FieldReport(
                    "(together)", "these values at once", ("no single behaviour shows them all",)
                )
            )
        return Divergence(self.file, line, t, "observation", tuple(fields), self._why(before))

    def _diverged_event(
        self,
        before: frozenset[Candidate],
        t: float,
        line: int | None,
        name: str,
        node: int | None,
        words: str,
    ) -> Divergence:
        offers = sorted(
            {
                a.name + (f" {self.nodes[a.node]}" if a.node is not None else "")
                for c in before
                for a in offered(self.model, c.config)
            }
        )
        asked = name + (f" {self.nodes[node]}" if node is not None else "")
        field_report = FieldReport("event", asked, tuple(offers))
        states = sorted(
            {
                ", ".join(
                    f"{n} is {self.spec.states[v.state].label}"
                    for n, v in zip(self.nodes, node_views(self.model, c.config), strict=True)
                )
                for c in before
            }
        )
        why = (
            f"the administrator action is not offered while {' or '.join(states)}",
            *self._why(before),
        )
        return Divergence(self.file, line, t, f"event {words}", (field_report,), why)

    def _why(self, cands: Iterable[Candidate]) -> tuple[str, ...]:
        """The running timers and waiting clients of the candidates, with the lines that started
        them, in the spec's words."""
        out: dict[str, None] = {}
        spec = self.spec
        for cand in sorted(cands, key=repr):  # a set's order depends on the hash seed
            for timer in cand.config.timers:
                spec_timer = spec.timers[timer.name]
                cause = self._cause(timer.since)
                window = (
                    f"at t={_tk(timer.latest)}"
                    if timer.earliest == timer.latest
                    else f"between t={_tk(timer.earliest)} and t={_tk(timer.latest)}"
                )
                out[
                    f"timer {timer.name} on {self.nodes[timer.node]} started at t={_tk(timer.since)}"
                    f"{cause}: {spec_timer.description.rstrip('.')}; it fires {window} "
                    f"({describe_duration(self.model, timer.name)}), so not before t={_tk(timer.earliest)}"
                ] = None
            for cohort in cand.config.users:
                if cohort.waiting_since >= 0:
                    low = cohort.waiting_since + self.model.relogin_low
                    high = (
                        cohort.waiting_since + self.model.relogin_high + cand.slack_of(cohort.key)
                    )
                    out[
                        f"{cohort.count} client(s) homed on {self.nodes[cohort.home]} lost their session "
                        f"at t={_tk(cohort.waiting_since)}{self._cause(cohort.waiting_since)} and log in again "
                        f"between t={_tk(low)} and t={_tk(high)} "
                        f"({describe_duration(self.model, spec.user_timer.id)})"
                    ] = None
        if not out and self.recent:
            last = self.recent[-1]
            where = f" (line {last.line})" if last.line is not None else ""
            out[
                f"the last event was {last.words} at t={_tk(last.t)}{where}; no timer is running"
            ] = None
        return tuple(out)

    def _cause(self, since: float) -> str:  # since: ticks
        for seen in reversed(self.recent):
            if seen.t == since:
                where = f"line {seen.line}: " if seen.line is not None else ""
                return f" ({where}{seen.words})"
        return ""


@dataclass(frozen=True, slots=True)
class _Observation:
    nodes: Mapping[str, NodeObservation]
    sessions: Mapping[str, str | None]
    ha_enabled: bool | None
    offered: OfferedObservation | None
    session_counts: Mapping[tuple[int, int], int] = field(default_factory=dict)


def _node_matches(view: NodeView, want: NodeObservation) -> bool:
    return (
        (want.state is None or want.state == view.state)
        and (want.reason is None or want.reason == view.reason)
        and (want.assigned_users is None or want.assigned_users == view.assigned_users)
        and (want.active_users is None or want.active_users == view.active_users)
    )


def _label(spec: Spec, attr: str, value: object) -> str:
    if attr == "state" and isinstance(value, str):
        return spec.states[value].label
    if attr == "reason" and isinstance(value, str):
        return spec.reasons[value].label
    return str(value)


def _json(value: bool | None) -> str:
    return "-" if value is None else ("true" if value else "false")


def _names(nodes: frozenset[str]) -> str:
    return "[" + ", ".join(sorted(nodes)) + "]"


_MEMO_TRIAL = 2000  # records before the memo may decide a trace does not repeat itself
_MEMO_SIZE = 200_000  # steps remembered at most
_REPORTED = 20_000  # members of a candidate listed in a report at most
_LISTED_UP_TO = 16  # a waiting cohort this small has each count listed, not a range


def _listed(cand: Candidate) -> Iterator[Candidate]:
    """The members of a candidate, for a report: all, or if there are too many, the corners
    of its ranges (what the spec allows then lists the extremes of each count)."""
    if cand.size() <= _REPORTED:
        yield from members(cand)
        return
    for picks in itertools.product(*((0, s.extra) for s in cand.splits)):
        yield member(cand, picks)


__all__ = ["ConformanceError", "Divergence", "FieldReport", "Oracle"]
