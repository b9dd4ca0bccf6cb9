"""The values of trace format v1: the lines as written and their one JSON encoding, a run's
records, a trace's header and records as read."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from hasm.core.config import Step
from hasm.spec.model import ParamValue

__all__ = [
    "OBSERVED",
    "OFFERED_ACTIONS",
    "VERSION",
    "EventLine",
    "HeaderLine",
    "HiddenEvents",
    "NodeObservation",
    "ObservationLine",
    "OfferedObservation",
    "Record",
    "TraceEvent",
    "TraceHeader",
    "TraceObservation",
    "TraceRecord",
    "encode_line",
    "new_event",
    "new_observation",
    "number",
    "param_value",
]

VERSION = 1
# The administrator actions an observation's `offered` lists (trace format v1, fixed names).
OFFERED_ACTIONS = ("failover", "fallback", "recover")


def number(value: float) -> int | float:
    """Times and parameters as JSON numbers: integral values without a fraction."""
    return int(value) if value == int(value) else round(value, 6)


def param_value(value: ParamValue) -> bool | int | float:
    """A parameter's value as a header writes it: a boolean as it is, a number as `number`."""
    return value if isinstance(value, bool) else number(value)


def encode_line(obj: Mapping[str, Any]) -> str:
    """One line of a trace, without its line end: JSON with `, ` and `: ` between items, text
    as it is (UTF-8), and no NaN or Infinity, which JSON does not have. A record's line starts
    with `{"t": `, which the reader's memo of repeated lines looks for."""
    return json.dumps(obj, ensure_ascii=False, separators=(", ", ": "), allow_nan=False)


# -- the lines as written --------------------------------------------------------------------
# Each is a value with `json()`, the object `encode_line` writes: keys in the format's order,
# optional keys left out when None. Values are given as JSON wants them (lists, dicts, numbers
# by `number`); a test's own values are given as they are, for the reader to judge.
@dataclass(frozen=True, slots=True)
class HeaderLine:
    """A trace's first line as written."""

    nodes: Sequence[str]
    users: Mapping[str, str]
    initial: str
    params: Mapping[str, ParamValue] | None = None  # the overrides
    monitored: Sequence[str] | None = None  # None: the spec's default set
    group: str | None = None
    vocabulary: str | None = None  # None: the page's words (the format's default)

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"hasm_trace": VERSION, "nodes": self.nodes, "users": self.users}
        if self.params is not None:
            out["params"] = self.params
        if self.monitored is not None:
            out["monitored"] = self.monitored
        out["initial"] = self.initial
        if self.group is not None:
            out["group"] = self.group
        if self.vocabulary is not None:
            out["vocabulary"] = self.vocabulary
        return out


@dataclass(frozen=True, slots=True)
class EventLine:
    """An `event` record as written; fields the event does not take are None."""

    t: float
    event: str
    node: str | None = None
    service: str | None = None
    user: str | None = None

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"t": self.t, "event": self.event}
        if self.node is not None:
            out["node"] = self.node
        if self.service is not None:
            out["service"] = self.service
        if self.user is not None:
            out["user"] = self.user
        return out


@dataclass(frozen=True, slots=True)
class ObservationLine:
    """An `observe` record as written: what was seen, in the page's words."""

    t: float
    observe: Mapping[str, Any]

    def json(self) -> dict[str, Any]:
        return {"t": self.t, "observe": self.observe}


@dataclass(frozen=True, slots=True)
class Record:
    """One applied step of a run, with the names the core does not know."""

    step: Step
    user: str | None = None  # the named user of a login, logout or re-login
    line: int | None = None  # the scenario line of the event
    sessions: Mapping[str, int] = field(default_factory=dict)  # users whose session changed

    @property
    def time(self) -> float:
        return self.step.config.now


OBSERVED = "observed"  # the header's `initial` for a trace that starts mid-incident


@dataclass(frozen=True, slots=True)
class HiddenEvents:
    """The header's `hidden`: which environment events may happen with no record of them,
    and how many faults may hold at once (a stopped service, a node down, ...)."""

    events: frozenset[str]
    faults: int


@dataclass(frozen=True, slots=True)
class TraceHeader:
    """A trace's first line, checked against the spec."""

    file: str
    nodes: tuple[str, str]
    users: Mapping[str, str]  # user id -> home node
    params: Mapping[str, ParamValue]  # the spec's defaults with `overrides` applied
    overrides: Mapping[str, ParamValue]  # just the header's `params`
    monitored: frozenset[str] | None  # None: the spec's default set
    initial: str  # a key of spec.initial, or OBSERVED
    group: str | None
    hidden: HiddenEvents | None = None  # the events that may happen unrecorded
    start: datetime | None = None  # the wall-clock time of t=0, for reports
    sources: tuple[str, ...] | None = None  # the files the records were imported from
    vocabulary: str = "page"  # how the records' state words are read: "page" or a spec vocabulary


@dataclass(frozen=True, slots=True)
class TraceEvent:
    """An `event` record: what happened. Fields the event does not take are None."""

    line: int
    t: float
    event: str
    node: str | None
    service: str | None
    user: str | None


@dataclass(frozen=True, slots=True)
class NodeObservation:
    """What was seen of one node; None is "not observed". State and reason are spec ids.

    A state word that may mean more than one state (an ambiguous vocabulary term, e.g. RTMT's
    Backup Activated) has the first in `state` and all of them in `states`; `states` is None
    when the word means one state, so the common comparison stays `state == shown`."""

    state: str | None
    reason: str | None
    assigned_users: int | None
    active_users: int | None
    states: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class OfferedObservation:
    """The administrator actions the page offered; a node set, when present, is complete."""

    failover: frozenset[str] | None
    fallback: frozenset[str] | None
    recover: bool | None


@dataclass(frozen=True, slots=True)
class TraceObservation:
    """An `observe` record: what was seen. Absent parts are empty mappings or None."""

    line: int
    t: float
    nodes: Mapping[str, NodeObservation]  # only the nodes observed
    sessions: Mapping[str, str | None]  # only the users observed: their session's node or None
    ha_enabled: bool | None
    offered: OfferedObservation | None


TraceRecord = TraceEvent | TraceObservation


# A frozen slotted dataclass's generated __init__ sets each field through object.__setattr__;
# its slots' own descriptors do the same twice as fast, and a reader makes a record per line.
# The setters are taken by name, and the names must be every field (tests/unit/test_trace_records.py).
_EVENT_FIELDS = ("line", "t", "event", "node", "service", "user")
_OBSERVATION_FIELDS = ("line", "t", "nodes", "sessions", "ha_enabled", "offered")
assert tuple(f.name for f in fields(TraceEvent)) == _EVENT_FIELDS
assert tuple(f.name for f in fields(TraceObservation)) == _OBSERVATION_FIELDS
_new = object.__new__
_EV = tuple(TraceEvent.__dict__[name].__set__ for name in _EVENT_FIELDS)
_OB = tuple(TraceObservation.__dict__[name].__set__ for name in _OBSERVATION_FIELDS)


def new_event(
    line: int, t: float, event: str, node: str | None, service: str | None, user: str | None
) -> TraceEvent:
    """TraceEvent(line, t, event, node, service, user), made faster."""
    record: TraceEvent = _new(TraceEvent)
    _EV[0](record, line)
    _EV[1](record, t)
    _EV[2](record, event)
    _EV[3](record, node)
    _EV[4](record, service)
    _EV[5](record, user)
    return record


def new_observation(
    line: int,
    t: float,
    nodes: Mapping[str, NodeObservation],
    sessions: Mapping[str, str | None],
    ha_enabled: bool | None,
    offered: OfferedObservation | None,
) -> TraceObservation:
    """TraceObservation(line, t, nodes, sessions, ha_enabled, offered), made faster."""
    record: TraceObservation = _new(TraceObservation)
    _OB[0](record, line)
    _OB[1](record, t)
    _OB[2](record, nodes)
    _OB[3](record, sessions)
    _OB[4](record, ha_enabled)
    _OB[5](record, offered)
    return record
