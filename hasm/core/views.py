"""What the page shows: each node as the Presence Redundancy Group page shows it, the
documented state pairs a configuration shows, and words for durations and refused actions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hasm.core.config import Config
from hasm.core.memo import Table
from hasm.core.model import Model
from hasm.core.semantics import offered
from hasm.spec.model import PairSide
from hasm.spec.params import evaluate

__all__ = ["NodeView", "describe_duration", "documented_pairs", "node_views", "offer_summary"]


@dataclass(frozen=True, slots=True)
class NodeView:
    state: str  # state id as the page shows it
    reason: str
    assigned_users: int
    active_users: int


def node_views(model: Model, config: Config) -> tuple[NodeView, NodeView]:
    """Each node as the Presence Redundancy Group page shows it."""
    display = model.spec.display
    views = []
    for i, node in enumerate(config.nodes):
        reachable = node.up and node.srm
        state = node.state if reachable else display.unreachable_state
        reason = node.reason if reachable else display.unreachable_reason
        assigned = sum(c.count for c in config.users if c.home == i)
        active = sum(c.count for c in config.users if c.session == i)
        shown = active if model.spec.states[state].shows_active_users else 0
        views.append(NodeView(state, reason, assigned, shown))
    return views[0], views[1]


def documented_pairs(model: Model, config: Config) -> tuple[str, ...]:
    """The documented state pairs (P-rows) the configuration shows, either way round."""
    rows: Table[tuple[object, ...], tuple[str, ...]] = model.memo.table("rows")
    key = (config.nodes, config.link_up)  # what the rows read: states, reasons, reachability
    found = rows.get(key)
    if found is None:
        found = rows.keep(key, _documented_pairs(model, config))
    return found


def _documented_pairs(model: Model, config: Config) -> tuple[str, ...]:
    views = node_views(model, config)
    connected = config.connected()

    def side_matches(side: PairSide | None, view: NodeView) -> bool:
        if side is None:
            return not connected
        return view.state in side.states and view.reason in side.reasons

    return tuple(
        pid
        for pid, pair in model.spec.state_pairs.items()
        if any(
            side_matches(pair.node1, views[a]) and side_matches(pair.node2, views[1 - a])
            for a in (0, 1)
        )
    )


def describe_duration(model: Model, timer_id: str) -> str:
    """A timer's duration in the spec's words and its value under the model's parameters, e.g.
    "critical_service_down_delay_s = 90 s" or "between transition_min_s and transition_max_s =
    1 to 60 s" (before any tolerance)."""
    duration = model.spec.timers[timer_id].duration
    low, high = evaluate(duration.min, model.params), evaluate(duration.max, model.params)
    value = f"{low:g} s" if low == high else f"{low:g} to {high:g} s"
    return f"{duration} = {value}"


def offer_summary(model: Model, config: Config, nodes: Sequence[str]) -> str:
    """Why an admin action is refused, in the page's words: each node's state and what the
    page offers now, e.g. "pub is Idle, sub is Running in Backup Mode; offered now: fallback pub"."""
    states = model.spec.states
    shown = ", ".join(
        f"{name} is {states[view.state].label}"
        for name, view in zip(nodes, node_views(model, config), strict=True)
    )
    actions = [
        o.name + (f" {nodes[o.node]}" if o.node is not None else "") for o in offered(model, config)
    ]
    return f"{shown}; offered now: {', '.join(actions) or 'nothing'}"
