"""Scenario files: a group, its users and the events that happen to it at virtual times.

A scenario's events have the shape of trace format v1 event records (`t`, `event`, `node`,
`service`, `user`), so a scenario reads like the first half of a trace. `expect` states what the
run must show: the documented state pairs it passes through and the group at the end.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeGuard

from hasm.errors import ParameterError, Problem, ScenarioError
from hasm.spec.labels import label_index
from hasm.spec.located import KeyPath, Located, read_yaml
from hasm.spec.model import ParamValue, Spec
from hasm.spec.params import resolve_params

__all__ = [
    "Expectations",
    "NodeExpectation",
    "Scenario",
    "ScenarioEvent",
    "load_scenario",
    "packaged_scenarios",
]

_TOP_KEYS = {
    "scenario",
    "title",
    "story",
    "source",
    "nodes",
    "users",
    "params",
    "monitored",
    "initial",
    "until",
    "events",
    "expect",
}
_EVENT_KEYS = {"t", "event", "node", "service", "user"}
_EXPECT_KEYS = {"reaches", "final"}
_FINAL_KEYS = {"nodes", "sessions", "ha_enabled"}
_NODE_KEYS = {"state", "reason", "assigned_users", "active_users"}


@dataclass(frozen=True, slots=True)
class ScenarioEvent:
    t: float
    event: str
    node: str | None
    service: str | None
    user: str | None
    line: int


@dataclass(frozen=True, slots=True)
class NodeExpectation:
    state: str | None  # state id
    reason: str | None  # reason id
    assigned_users: int | None
    active_users: int | None


@dataclass(frozen=True)
class Expectations:
    reaches: tuple[str, ...]
    nodes: Mapping[str, NodeExpectation]
    sessions: Mapping[str, str | None]
    ha_enabled: bool | None


@dataclass(frozen=True)
class Scenario:
    path: str
    title: str
    story: str
    sources: tuple[str, ...]
    nodes: tuple[str, str]
    users: Mapping[str, str]  # user -> home node name
    params: Mapping[str, ParamValue]
    monitored: frozenset[str] | None
    initial: str
    until: float
    events: tuple[ScenarioEvent, ...]
    expect: Expectations

    @property
    def name(self) -> str:
        return Path(self.path).stem


def packaged_scenarios() -> list[Path]:
    """The seed's stories shipped with hasm (specs/scenarios/*.yaml), in name order."""
    folder = Path(str(files("hasm.specs.scenarios")))
    return sorted(folder.glob("*.yaml"))


def load_scenario(path: str | Path, spec: Spec) -> Scenario:
    """Read and validate a scenario against `spec`; raise ScenarioError listing every problem."""
    located = read_yaml(path, ScenarioError)
    return _ScenarioReader(located, spec).read()


class _ScenarioReader:
    def __init__(self, located: Located, spec: Spec) -> None:
        self.loc, self.spec = located, spec
        self.problems: list[Problem] = []

    def bad(self, path: KeyPath, message: str, fix: str = "") -> None:
        self.problems.append(self.loc.problem(path, message, fix))

    def unknown_keys(self, path: KeyPath, raw: Mapping[str, Any], allowed: set[str]) -> None:
        for key in raw:
            if key not in allowed:
                self.bad(
                    (*path, key),
                    f"unknown key '{key}'",
                    f"use one of: {', '.join(sorted(allowed))}",
                )

    def read(self) -> Scenario:
        raw = self.loc.data
        if not isinstance(raw, dict):
            raise ScenarioError(
                self.loc.problem((), "a scenario is a YAML mapping", "see specs/scenarios/")
            )
        self.unknown_keys((), raw, _TOP_KEYS)
        if raw.get("scenario") != 1:
            self.bad(
                ("scenario",),
                f"scenario format must be 1, not {raw.get('scenario')!r}",
                "start the file with 'scenario: 1'",
            )
        nodes = self.nodes(raw.get("nodes"))
        users = self.users(raw.get("users", {}), nodes)
        params = self.params(raw.get("params", {}))
        monitored = self.monitored(raw.get("monitored"))
        initial = raw.get("initial", "ha_disabled")
        if initial not in self.spec.initial:
            self.bad(
                ("initial",),
                f"unknown starting point {initial!r}",
                f"use one of: {', '.join(self.spec.initial)}",
            )
        events = self.events(raw.get("events", []), nodes, users)
        until: Any = raw.get("until", events[-1].t if events else 0.0)
        if not _is_time(until) or (events and until < events[-1].t):
            self.bad(("until",), f"until must be a time at or after the last event, not {until!r}")
            until = 0.0
        expect = self.expect(raw.get("expect", {}), nodes, users)
        for key in ("title",):
            if not isinstance(raw.get(key), str) or not raw.get(key):
                self.bad((key,), f"missing or empty '{key}'", f"add '{key}: ...'")
        if self.problems:
            raise ScenarioError(self.problems)
        source = raw.get("source", [])
        return Scenario(
            path=self.loc.file,
            title=raw["title"],
            story=str(raw.get("story", "")).strip(),
            sources=tuple(source) if isinstance(source, list) else (str(source),),
            nodes=nodes,
            users=users,
            params=params,
            monitored=monitored,
            initial=initial,
            until=float(until),
            events=events,
            expect=expect,
        )

    def nodes(self, raw: Any) -> tuple[str, str]:
        if (
            not isinstance(raw, list)
            or len(raw) != 2
            or not all(isinstance(n, str) and n for n in raw)
            or raw[0] == raw[1]
        ):
            self.bad(("nodes",), f"nodes must be two distinct non-empty names, not {raw!r}")
            return ("node1", "node2")
        return (raw[0], raw[1])

    def users(self, raw: Any, nodes: tuple[str, str]) -> dict[str, str]:
        if not isinstance(raw, dict):
            self.bad(("users",), "users maps each user to its home node")
            return {}
        for user, home in raw.items():
            if home not in nodes:
                self.bad(
                    ("users", user),
                    f"home node {home!r} is not one of the nodes",
                    f"use {nodes[0]} or {nodes[1]}",
                )
        return {u: h for u, h in raw.items() if h in nodes}

    def params(self, raw: Any) -> dict[str, ParamValue]:
        if not isinstance(raw, dict):
            self.bad(("params",), "params maps parameter names to values")
            return {}
        lines = {name: self.loc.line(("params", name)) or 0 for name in raw}
        try:
            return resolve_params(self.spec, raw, file=self.loc.file, lines=lines)
        except ParameterError as exc:
            self.problems.extend(exc.problems)
            return dict(self.spec.defaults)

    def monitored(self, raw: Any) -> frozenset[str] | None:
        if raw is None:
            return None
        if not isinstance(raw, list):
            self.bad(("monitored",), "monitored is a list of service ids")
            return None
        for i, service in enumerate(raw):
            if service not in self.spec.services:
                self.bad(
                    ("monitored", i),
                    f"unknown service {service!r}",
                    f"use one of: {', '.join(self.spec.services)}",
                )
        return frozenset(raw)

    def events(
        self, raw: Any, nodes: tuple[str, str], users: Mapping[str, str]
    ) -> tuple[ScenarioEvent, ...]:
        if not isinstance(raw, list):
            self.bad(("events",), "events is a list of {t, event, ...} records")
            return ()
        out: list[ScenarioEvent] = []
        last = 0.0
        for i, item in enumerate(raw):
            path: KeyPath = ("events", i)
            if not isinstance(item, dict):
                self.bad(path, "each event is a mapping like {t: 100, event: node_down, node: ...}")
                continue
            self.unknown_keys(path, item, _EVENT_KEYS)
            t = item.get("t")
            if not _is_time(t):
                self.bad((*path, "t"), f"t must be a finite number of seconds >= 0, not {t!r}")
                continue
            if t < last:
                self.bad(
                    (*path, "t"),
                    f"t={t} goes back in time (the previous event is at t={last:g})",
                    "list events in time order",
                )
            last = max(last, float(t))
            name = item.get("event")
            event = self.spec.events.get(name) if isinstance(name, str) else None
            if event is None or not isinstance(name, str):
                self.bad(
                    (*path, "event"),
                    f"unknown event {name!r}",
                    f"use one of: {', '.join(self.spec.events)}",
                )
                continue
            values: dict[str, str | None] = {"node": None, "service": None, "user": None}
            for field in ("node", "service", "user"):
                value = item.get(field)
                if field not in event.fields:
                    if value is not None:
                        self.bad((*path, field), f"event {name} takes no '{field}'")
                    continue
                known = {"node": nodes, "service": tuple(self.spec.services), "user": tuple(users)}[
                    field
                ]
                if value not in known:
                    self.bad(
                        (*path, field),
                        f"{field} {value!r} is not known",
                        f"use one of: {', '.join(known)}",
                    )
                    continue
                values[field] = value
            out.append(
                ScenarioEvent(
                    float(t),
                    name,
                    values["node"],
                    values["service"],
                    values["user"],
                    self.loc.line(path) or 0,
                )
            )
        return tuple(out)

    def expect(self, raw: Any, nodes: tuple[str, str], users: Mapping[str, str]) -> Expectations:
        empty = Expectations((), {}, {}, None)
        if not isinstance(raw, dict):
            self.bad(("expect",), "expect is a mapping with 'reaches' and 'final'")
            return empty
        self.unknown_keys(("expect",), raw, _EXPECT_KEYS)
        reaches = raw.get("reaches", [])
        for i, pid in enumerate(reaches):
            if pid not in self.spec.state_pairs:
                self.bad(
                    ("expect", "reaches", i),
                    f"unknown state pair {pid!r}",
                    "use a P-row id of the spec's state_pairs",
                )
        final = raw.get("final", {})
        self.unknown_keys(("expect", "final"), final, _FINAL_KEYS)
        states, reasons = (
            label_index(self.spec.states.values()),
            label_index(self.spec.reasons.values()),
        )
        expected_nodes: dict[str, NodeExpectation] = {}
        for node, want in final.get("nodes", {}).items():
            path: KeyPath = ("expect", "final", "nodes", node)
            if node not in nodes:
                self.bad(path, f"{node!r} is not one of the nodes")
                continue
            self.unknown_keys(path, want, _NODE_KEYS)
            state = _lookup(want.get("state"), states)
            reason = _lookup(want.get("reason"), reasons)
            if want.get("state") is not None and state is None:
                self.bad(
                    (*path, "state"),
                    f"unknown state {want['state']!r}",
                    "use a label the page shows",
                )
            if want.get("reason") is not None and reason is None:
                self.bad(
                    (*path, "reason"),
                    f"unknown reason {want['reason']!r}",
                    "use a reason the spec lists",
                )
            expected_nodes[node] = NodeExpectation(
                state, reason, want.get("assigned_users"), want.get("active_users")
            )
        sessions = final.get("sessions", {})
        for user, node in sessions.items():
            if user not in users:
                self.bad(("expect", "final", "sessions", user), f"unknown user {user!r}")
            elif node is not None and node not in nodes:
                self.bad(("expect", "final", "sessions", user), f"{node!r} is not one of the nodes")
        return Expectations(tuple(reaches), expected_nodes, dict(sessions), final.get("ha_enabled"))


def _is_time(value: Any) -> TypeGuard[float]:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


def _lookup(label: Any, index: Mapping[str, str]) -> str | None:
    if not isinstance(label, str):
        return None
    return index.get(" ".join(label.split()).casefold())
