"""Public Hypothesis strategies drawn from a spec: groups, event schedules and expected traces.

They let another project property-test its own implementation with the spec as the judge:
draw a group and a schedule of events, drive the system under test through the schedule, feed
what it did and showed to the oracle (the `hasm_oracle` fixture, or `hasm.Oracle`), and let
the oracle say whether the spec allows it. `traces` also draws the spec's own run of a schedule
(the simulator's, as `hasm simulate --trace` writes it) for tests that compare against it.

Everything comes from the spec: the parameters and their ranges, the starting points, the
events and their fields, the services, and the times that matter - when a running timer's
window opens and closes, when waiting clients may log in again. No state or event name is
written here.

Admin actions are drawn only where the spec *certainly* offers them: the oracle follows the
schedule as it is drawn, and an action is a choice only when every behaviour of the spec
consistent with the events so far offers it. So a conforming implementation never has to
refuse an action of a schedule, whichever timing choices it made within the spec's bounds.

```python
from hypothesis import given
from hasm import load_spec
from hasm.strategies import schedules

SPEC = load_spec()

@given(schedules(SPEC))
def test_my_pair_conforms(hasm_oracle, schedule):
    run = hasm_oracle.start(**schedule.group.start_kwargs())
    ...  # apply schedule.events to your system; run.event(...) and run.observe(...) what it did
```
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from hypothesis import strategies as st

from hasm.core.model import Model
from hasm.core.semantics import offered
from hasm.errors import ParameterError
from hasm.oracle.clock import TICKS
from hasm.oracle.oracle import Oracle
from hasm.oracle.windows import windows
from hasm.sim.simulator import Simulator
from hasm.spec.model import ParamValue, Spec
from hasm.spec.params import resolve_params
from hasm.trace.records import EventLine, HeaderLine, number, param_value
from hasm.trace.writer import TraceWriter

__all__ = [
    "DEFAULT_NODES",
    "ExpectedTrace",
    "Group",
    "Schedule",
    "ScheduledEvent",
    "expected_trace",
    "groups",
    "parameters",
    "schedules",
    "traces",
]

# Node names when the caller gives none: neutral words, so a drawn group never looks like a
# particular deployment.
DEFAULT_NODES = ("node-a", "node-b")
# How far "just before" and "just after" a boundary are: 1 ms, the simulator's time grid.
EPSILON = 0.001


# -- values ------------------------------------------------------------------------------------
def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class Group:
    """A redundancy group as a trace header names it: its two nodes, its users and their home
    nodes, parameter overrides, the monitored services (None: the spec's default set) and the
    starting point."""

    nodes: tuple[str, str]
    users: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    monitored: frozenset[str] | None = None
    initial: str = "ha_disabled"

    def __post_init__(self) -> None:
        object.__setattr__(self, "users", _frozen(self.users))
        object.__setattr__(self, "params", _frozen(self.params))

    def header(self) -> dict[str, Any]:
        """The trace format v1 header of a run of this group."""
        return HeaderLine(
            list(self.nodes),
            dict(self.users),
            self.initial,
            params={k: param_value(v) for k, v in self.params.items()} or None,
            monitored=sorted(self.monitored) if self.monitored is not None else None,
        ).json()

    def start_kwargs(self) -> dict[str, Any]:
        """The arguments of `hasm_oracle.start(...)` for this group."""
        return {
            "nodes": list(self.nodes),
            "users": dict(self.users),
            "initial": self.initial,
            "params": dict(self.params) or None,
            "monitored": sorted(self.monitored) if self.monitored is not None else None,
        }

    def model(self, spec: Spec) -> Model:
        """The spec made runnable with this group's parameters and monitored services."""
        return Model(spec, resolve_params(spec, self.params), self.monitored)

    def oracle(self, spec: Spec) -> Oracle:
        """A fresh oracle for a run of this group."""
        return Oracle(
            spec,
            self.nodes,
            self.users,
            params=self.params,
            monitored=self.monitored,
            initial=self.initial,
        )


@dataclass(frozen=True)
class ScheduledEvent:
    """An event of trace format v1 at time `t`; `why` says why this time was chosen."""

    t: float
    event: str
    node: str | None = None
    service: str | None = None
    user: str | None = None
    why: str = ""

    def record(self) -> dict[str, Any]:
        """The event as a trace record."""
        return EventLine(number(self.t), self.event, self.node, self.service, self.user).json()


@dataclass(frozen=True)
class Schedule:
    """What happens to a group: its events in time order, the time the run lasts until, and
    the seed of the spec's own run of it (`expected_trace`)."""

    group: Group
    events: tuple[ScheduledEvent, ...]
    until: float
    seed: int = 0


@dataclass(frozen=True)
class ExpectedTrace:
    """The spec's own run of a schedule, in trace format v1 (as `hasm simulate --trace`)."""

    schedule: Schedule
    text: str

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(self.text.splitlines())

    @property
    def records(self) -> list[dict[str, Any]]:
        """Every line after the header, decoded."""
        return [json.loads(line) for line in self.lines[1:]]

    @property
    def header(self) -> dict[str, Any]:
        header: dict[str, Any] = json.loads(self.lines[0])
        return header


# -- parameters and groups ----------------------------------------------------------------------
def _valid(spec: Spec, overrides: Mapping[str, ParamValue]) -> dict[str, ParamValue]:
    """The overrides, less those that make a timer window impossible together (a minimum above
    its maximum): each is dropped in turn, last drawn first, until the rest resolve."""
    kept = dict(overrides)
    while True:
        try:
            resolve_params(spec, kept)
        except ParameterError:
            kept.pop(next(reversed(kept)))
            continue
        return kept


def parameters(
    spec: Spec,
    *,
    names: Sequence[str] | None = None,
    max_seconds: float = 3600.0,
) -> st.SearchStrategy[dict[str, ParamValue]]:
    """Parameter overrides within the spec's ranges: for each parameter (of `names`, default
    all), either the default or an override - a boolean, or whole seconds at either end of the
    range or anywhere in it, never above `max_seconds` so that runs stay short. Overrides that
    would make a timer window impossible are dropped, so every draw resolves."""
    chosen = list(spec.parameters) if names is None else list(names)
    unknown = [n for n in chosen if n not in spec.parameters]
    if unknown:
        raise ValueError(f"unknown parameters: {', '.join(unknown)}")
    parts: dict[str, st.SearchStrategy[ParamValue | None]] = {}
    for name in chosen:
        p = spec.parameters[name]
        if p.type == "boolean":
            parts[name] = st.one_of(st.none(), st.booleans())
            continue
        assert p.range is not None
        low = math.ceil(p.range[0])
        high = math.floor(min(p.range[1], max(max_seconds, float(p.default))))
        if low > high:
            parts[name] = st.none()
            continue
        values: st.SearchStrategy[ParamValue] = st.one_of(
            st.sampled_from(sorted({low, high})).map(float),
            st.integers(low, high).map(float),
        )
        parts[name] = st.one_of(st.none(), values)
    return st.fixed_dictionaries(parts).map(
        lambda drawn: _valid(spec, {k: v for k, v in drawn.items() if v is not None})
    )


def groups(
    spec: Spec,
    *,
    nodes: tuple[str, str] = DEFAULT_NODES,
    max_users: int = 4,
    initial: str | None = None,
    params: st.SearchStrategy[dict[str, ParamValue]] | None = None,
    monitored: bool = False,
) -> st.SearchStrategy[Group]:
    """Groups of the two `nodes`: 0 to `max_users` users (user0, user1, ...) each homed on
    one of them, a starting point of the spec (or `initial`), parameter overrides (default:
    `parameters(spec)`), and with `monitored=True` a drawn set of monitored services instead of
    the spec's default set."""
    if initial is not None and initial not in spec.initial:
        raise ValueError(
            f"unknown starting point {initial!r}: use one of {', '.join(spec.initial)}"
        )
    homes = st.lists(st.sampled_from(nodes), max_size=max_users)
    starts = st.just(initial) if initial is not None else st.sampled_from(sorted(spec.initial))
    services: st.SearchStrategy[frozenset[str] | None] = st.none()
    if monitored:
        services = st.one_of(
            st.none(), st.frozensets(st.sampled_from(sorted(spec.services)), min_size=1)
        )
    return st.builds(
        lambda h, s, p, m: Group(
            (nodes[0], nodes[1]), {f"user{i}": home for i, home in enumerate(h)}, p, m, s
        ),
        homes,
        starts,
        params if params is not None else parameters(spec),
        services,
    )


# -- schedules ----------------------------------------------------------------------------------
def _boundaries(oracle: Oracle) -> list[tuple[float, str]]:
    """The times after now at which something may or must happen in some behaviour: each
    running timer's window opening and closing, each waiting cohort's re-login window."""
    model, nodes = oracle.model, oracle.nodes
    now = oracle.now
    out: set[tuple[float, str]] = set()
    for cand in oracle.candidates:
        for w in windows(model, cand, oracle.tick):
            if w.timer is not None:
                where = f"timer {w.timer} on {nodes[w.node]}"
                out.add((w.earliest / TICKS, f"{where} may fire"))
                out.add((w.latest / TICKS, f"{where} must have fired"))
            else:
                where = f"clients homed on {nodes[w.node]}"
                out.add((w.earliest / TICKS, f"{where} may log in again"))
                out.add((w.latest / TICKS, f"{where} have logged in again"))
    return sorted((t, why) for t, why in out if t >= now)


def _certainly_offered(oracle: Oracle) -> list[tuple[str, str | None]]:
    """The admin actions that every behaviour consistent with the schedule so far offers now,
    as (event, node name or None)."""
    common: set[tuple[str, int | None]] | None = None
    for cand in oracle.candidates:
        here = {(a.name, a.node) for a in offered(oracle.model, cand.config)}
        common = here if common is None else common & here
    nodes = oracle.nodes
    return sorted((name, None if n is None else nodes[n]) for name, n in common or set())


_GAPS = st.one_of(st.just(0.0), st.integers(1, 600).map(float))


@st.composite
def _schedule(
    draw: st.DrawFn,
    spec: Spec,
    group: Group,
    max_events: int,
    epsilon: float,
    only: frozenset[str] | None,
) -> Schedule:
    oracle = group.oracle(spec)
    services = sorted(spec.services)
    monitored = sorted(oracle.model.monitored) or services
    events: list[ScheduledEvent] = []
    now = 0.0
    environment = [
        e for e in spec.events.values() if e.kind != "admin" and (only is None or e.id in only)
    ]
    for _ in range(draw(st.integers(0, max_events), label="events")):
        bounds = _boundaries(oracle)
        why = ""
        near: bool = bool(bounds) and draw(st.booleans(), label="near a boundary")
        if near:
            at, what = draw(st.sampled_from(bounds), label="boundary")
            offset = draw(st.sampled_from([-epsilon, 0.0, epsilon]), label="offset")
            now = max(now, round(at + offset, 6))
            side = {-epsilon: "just before", 0.0: "at", epsilon: "just after"}[offset]
            why = f"{side} t={at:g}, when {what}"
        else:
            now += draw(_GAPS, label="gap")
        oracle.advance(now)
        actions = [a for a in _certainly_offered(oracle) if only is None or a[0] in only]
        if not environment and not actions:
            continue
        # Every event of the spec is equally likely; an admin action only if offered now.
        kinds = [e.id for e in environment] + sorted({name for name, _ in actions})
        kind = spec.events[draw(st.sampled_from(kinds), label="event")]
        if kind.kind == "admin":
            name, node = draw(
                st.sampled_from([a for a in actions if a[0] == kind.id]), label="action"
            )
            event = ScheduledEvent(now, name, node, why=why or "offered now")
        else:
            node = draw(st.sampled_from(group.nodes)) if "node" in kind.fields else None
            service = None
            if "service" in kind.fields:
                service = draw(st.one_of(st.sampled_from(monitored), st.sampled_from(services)))
            user = None
            if "user" in kind.fields:
                if not group.users:
                    continue
                user = draw(st.sampled_from(sorted(group.users)))
            event = ScheduledEvent(now, kind.id, node, service, user, why)
        oracle.event(event.t, event.event, event.node, event.service, event.user)
        events.append(event)
    # Run on until every window open at the end has closed, so the run ends settled.
    ends = [t for t, _ in _boundaries(oracle)]
    until = max([now, *ends]) + 1.0
    seed = draw(st.integers(0, 2**32 - 1), label="seed")
    return Schedule(group, tuple(events), until, seed)


def schedules(
    spec: Spec,
    group: Group | st.SearchStrategy[Group] | None = None,
    *,
    max_events: int = 12,
    epsilon: float = EPSILON,
    events: Collection[str] | None = None,
) -> st.SearchStrategy[Schedule]:
    """Schedules of up to `max_events` events for `group` (a Group, a strategy of them, or
    `groups(spec)`). Each event's time is either a gap after the previous one or just before,
    at or just after (by `epsilon` seconds) a moment the spec cares about - a running timer's
    window opening or closing, a re-login window; environment events (faults, repairs, sign
    ins) take any node, service and user; admin actions are drawn only where every behaviour
    of the spec consistent with the schedule so far offers them. `events` (event names) keeps
    the schedules to those events, for an implementation that supports only some of them."""
    chosen: frozenset[str] | None = None
    if events is not None:
        chosen = frozenset(events)
        unknown = sorted(chosen - set(spec.events))
        if unknown:
            raise ValueError(f"unknown events: {', '.join(unknown)}")
    groups_: st.SearchStrategy[Group]
    if group is None:
        groups_ = groups(spec)
    elif isinstance(group, Group):
        groups_ = st.just(group)
    else:
        groups_ = group
    return groups_.flatmap(lambda g: _schedule(spec, g, max_events, epsilon, chosen))


def expected_trace(spec: Spec, schedule: Schedule) -> ExpectedTrace:
    """The spec's own run of `schedule` (the simulator's, seeded by `schedule.seed`), written in
    trace format v1: the same schedule gives the same text, byte for byte."""
    group = schedule.group
    model = group.model(spec)
    sim = Simulator(model, group.nodes, group.users, group.initial, schedule.seed)
    out = io.StringIO()
    writer = TraceWriter(out, model, group.nodes, group.users, group.initial, model.params)
    writer.start(sim.config)
    for ev in schedule.events:
        for record in sim.steps_until(ev.t):
            writer.record(record)
        writer.record(sim.event(ev.event, node=ev.node, service=ev.service, user=ev.user))
    for record in sim.steps_until(schedule.until):
        writer.record(record)
    return ExpectedTrace(schedule, out.getvalue())


def traces(
    spec: Spec,
    group: Group | st.SearchStrategy[Group] | None = None,
    *,
    max_events: int = 12,
    epsilon: float = EPSILON,
) -> st.SearchStrategy[ExpectedTrace]:
    """The spec's own runs of drawn schedules (see `schedules`), as trace format v1 text."""
    return schedules(spec, group, max_events=max_events, epsilon=epsilon).map(
        lambda s: expected_trace(spec, s)
    )
