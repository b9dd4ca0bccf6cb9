"""Writing trace format v1: a run's header, its events, and an observation after every step
that changed what the page shows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from hasm.core.config import NO_NODE, Config, EventInput
from hasm.core.model import Model
from hasm.core.semantics import offered
from hasm.core.views import node_views
from hasm.spec.model import ParamValue
from hasm.trace.records import (
    OFFERED_ACTIONS,
    EventLine,
    HeaderLine,
    ObservationLine,
    Record,
    encode_line,
    number,
    param_value,
)

__all__ = ["PollingTraceWriter", "TraceWriter", "offered_entry"]


class TraceWriter:
    """Writes one run as a trace in format v1 to a text stream."""

    def __init__(
        self,
        out: TextIO,
        model: Model,
        nodes: Sequence[str],
        users: Mapping[str, str],
        initial: str,
        params: Mapping[str, ParamValue],
        group: str | None = None,
    ) -> None:
        self.out, self.model, self.nodes = out, model, (nodes[0], nodes[1])
        self.sessions: dict[str, str | None] = dict(users)  # every user starts at home
        overrides = {
            name: param_value(value)
            for name, value in params.items()
            if value != model.spec.defaults[name]
        }
        header = HeaderLine(
            list(self.nodes),
            dict(users),
            initial,
            params=overrides or None,
            monitored=sorted(model.monitored),
            group=group,
        )
        self._line(header)
        self.last: dict[str, Any] | None = None

    def _line(self, line: HeaderLine | EventLine | ObservationLine) -> None:
        self.out.write(encode_line(line.json()) + "\n")

    def start(self, config: Config) -> None:
        """The observation of the group before anything happened."""
        self._observe(config)

    def record(self, record: Record) -> None:
        inp = record.step.input
        t = number(record.time)
        if isinstance(inp, EventInput):
            on = self.nodes[inp.node] if inp.node is not None else None
            self._line(EventLine(t, inp.name, on, inp.service, record.user))
        for user, node in record.sessions.items():
            self.sessions[user] = None if node == NO_NODE else self.nodes[node]
        self._observe(record.step.config)

    def _observe(self, config: Config) -> None:
        obs = self.observation(config)
        if obs == self.last:
            return
        self.last = obs
        self._line(ObservationLine(number(config.now), obs))

    def node_entries(self, config: Config) -> dict[str, dict[str, Any]]:
        """Each node as an observation shows it, in the page's words."""
        spec = self.model.spec
        return {
            name: {
                "state": spec.states[view.state].label,
                "reason": spec.reasons[view.reason].label,
                "assigned_users": view.assigned_users,
                "active_users": view.active_users,
            }
            for name, view in zip(self.nodes, node_views(self.model, config), strict=True)
        }

    def observation(self, config: Config) -> dict[str, Any]:
        return {
            "nodes": self.node_entries(config),
            "sessions": dict(self.sessions),
            "ha_enabled": config.ha_enabled,
            "offered": offered_entry(self.model, config, self.nodes),
        }


def offered_entry(model: Model, config: Config, nodes: Sequence[str]) -> dict[str, Any]:
    """An observation's `offered`: each administrator action of the contract the spec has,
    with the nodes it is offered for (in node order), or whether it is offered at all."""
    actions = offered(model, config)
    out: dict[str, Any] = {}
    for action in OFFERED_ACTIONS:
        event = model.spec.events.get(action)
        if event is None:
            continue
        chosen = [a for a in actions if a.name == action]
        if "node" in event.fields:
            out[action] = [nodes[a.node] for a in chosen if a.node is not None]
        else:
            out[action] = bool(chosen)
    return out


class PollingTraceWriter(TraceWriter):
    """A trace as a monitoring tool that polls the page sees it: an observation only when a
    node's state or reason changes and otherwise every `every` steps, showing the nodes (with
    their user counters or not) and the sessions of the users in `watched` only. Such traces
    leave the oracle much unknown - how many clients are back, in between - which is what
    tests and benchmarks of many users want."""

    def __init__(
        self,
        *args: Any,
        every: int,
        watched: Sequence[str],
        counters: bool = True,
        **kwargs: Any,
    ) -> None:
        self.every, self.watched, self.counters = every, tuple(watched), counters
        self._steps = 0
        self._shown: object = None
        super().__init__(*args, **kwargs)

    def _observe(self, config: Config) -> None:
        self._steps += 1
        shown = [(v.state, v.reason) for v in node_views(self.model, config)]
        if shown == self._shown and self._steps % self.every:
            return
        self._shown = shown
        super()._observe(config)

    def observation(self, config: Config) -> dict[str, Any]:
        nodes = self.node_entries(config)
        if not self.counters:
            for node in nodes.values():
                del node["active_users"]
        return {
            "nodes": nodes,
            "sessions": {user: self.sessions[user] for user in self.watched},
            "ha_enabled": config.ha_enabled,
        }
