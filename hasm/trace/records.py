"""The values of trace format v1: a run's records as written, a trace's header and records as read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from hasm.core.config import Step
from hasm.spec.model import ParamValue

__all__ = [
    "OFFERED_ACTIONS",
    "VERSION",
    "NodeObservation",
    "OfferedObservation",
    "Record",
    "TraceEvent",
    "TraceHeader",
    "TraceObservation",
    "TraceRecord",
    "number",
]

VERSION = 1
# The administrator actions an observation's `offered` lists (trace format v1, fixed names).
OFFERED_ACTIONS = ("failover", "fallback", "recover")


def number(value: float) -> int | float:
    """Times and parameters as JSON numbers: integral values without a fraction."""
    return int(value) if value == int(value) else round(value, 6)


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


@dataclass(frozen=True, slots=True)
class TraceHeader:
    """A trace's first line, checked against the spec."""

    file: str
    nodes: tuple[str, str]
    users: Mapping[str, str]  # user id -> home node
    params: Mapping[str, ParamValue]  # the spec's defaults with `overrides` applied
    overrides: Mapping[str, ParamValue]  # just the header's `params`
    monitored: frozenset[str] | None  # None: the spec's default set
    initial: str  # a key of spec.initial
    group: str | None


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
    """What was seen of one node; None is "not observed". State and reason are spec ids."""

    state: str | None
    reason: str | None
    assigned_users: int | None
    active_users: int | None


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
