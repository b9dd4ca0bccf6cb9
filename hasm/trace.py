"""Trace format v1 (shared/docs/trace-format.md): writing a run as JSON Lines, streaming.

The header names the group; then every event is written as it happened, and after every step
that changed what the page shows, an observation of the full group.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from hasm.config import NO_NODE, Config, EventInput
from hasm.model import ParamValue
from hasm.semantics import Model, node_views, offered
from hasm.simulate import Record

VERSION = 1
# The administrator actions an observation's `offered` lists (trace format v1, fixed names).
OFFERED_ACTIONS = ("failover", "fallback", "recover")


def number(value: float) -> int | float:
    """Times and parameters as JSON numbers: integral values without a fraction."""
    return int(value) if value == int(value) else round(value, 6)


def _dumps(obj: Mapping[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(", ", ": "))


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
        header: dict[str, Any] = {
            "hasm_trace": VERSION,
            "nodes": list(self.nodes),
            "users": dict(users),
        }
        overrides = {
            name: value if isinstance(value, bool) else number(value)
            for name, value in params.items()
            if value != model.spec.defaults[name]
        }
        if overrides:
            header["params"] = overrides
        header["monitored"] = sorted(model.monitored)
        header["initial"] = initial
        if group is not None:
            header["group"] = group
        self._line(header)
        self.last: dict[str, Any] | None = None

    def _line(self, obj: Mapping[str, Any]) -> None:
        self.out.write(_dumps(obj) + "\n")

    def start(self, config: Config) -> None:
        """The observation of the group before anything happened."""
        self._observe(config)

    def record(self, record: Record) -> None:
        inp = record.step.input
        t = number(record.time)
        if isinstance(inp, EventInput):
            line: dict[str, Any] = {"t": t, "event": inp.name}
            if inp.node is not None:
                line["node"] = self.nodes[inp.node]
            if inp.service is not None:
                line["service"] = inp.service
            if record.user is not None:
                line["user"] = record.user
            self._line(line)
        for user, node in record.sessions.items():
            self.sessions[user] = None if node == NO_NODE else self.nodes[node]
        self._observe(record.step.config)

    def _observe(self, config: Config) -> None:
        obs = self.observation(config)
        if obs == self.last:
            return
        self.last = obs
        self._line({"t": number(config.now), "observe": obs})

    def observation(self, config: Config) -> dict[str, Any]:
        spec = self.model.spec
        nodes = {
            name: {
                "state": spec.states[view.state].label,
                "reason": spec.reasons[view.reason].label,
                "assigned_users": view.assigned_users,
                "active_users": view.active_users,
            }
            for name, view in zip(self.nodes, node_views(self.model, config), strict=True)
        }
        actions = offered(self.model, config)
        offers: dict[str, Any] = {}
        for action in OFFERED_ACTIONS:
            event = spec.events.get(action)
            if event is None:
                continue
            chosen = [a for a in actions if a.name == action]
            if "node" in event.fields:
                offers[action] = [self.nodes[a.node] for a in chosen if a.node is not None]
            else:
                offers[action] = bool(chosen)
        return {
            "nodes": nodes,
            "sessions": dict(self.sessions),
            "ha_enabled": config.ha_enabled,
            "offered": offers,
        }
