"""The page in a trace's words: what a configuration shows, and what every behaviour the oracle
still follows agrees on.

Observations pin only what the spec determines: after each step a case observes the fields on
which every behaviour of the spec consistent with the file so far agrees (`pinned`), and
leaves the others out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hasm.core.config import NO_NODE, Config, EventInput
from hasm.core.model import Model
from hasm.core.views import node_views
from hasm.oracle.candidates import members
from hasm.oracle.oracle import Oracle
from hasm.suite.cases import NODE_NAMES, USER_NAMES
from hasm.trace.writer import offered_entry

__all__ = ["action_name", "nest", "observation", "pinned", "shown_states"]


def observation(model: Model, config: Config) -> dict[str, Any]:
    """The page and the sessions of a configuration in the trace format's words, as a flat
    mapping from a field path to its value."""
    spec = model.spec
    out: dict[str, Any] = {}
    for name, view in zip(NODE_NAMES, node_views(model, config), strict=True):
        out[f"nodes/{name}/state"] = spec.states[view.state].label
        out[f"nodes/{name}/reason"] = spec.reasons[view.reason].label
        out[f"nodes/{name}/assigned_users"] = view.assigned_users
        out[f"nodes/{name}/active_users"] = view.active_users
    for c in config.users:
        out[f"sessions/{USER_NAMES[c.home]}"] = (
            None if c.session == NO_NODE else NODE_NAMES[c.session]
        )
    out["ha_enabled"] = config.ha_enabled
    for action, value in offered_entry(model, config, NODE_NAMES).items():
        out[f"offered/{action}"] = value
    return out


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """A flat mapping from field paths (`nodes/node0/state`) as an observation's nested one."""
    out: dict[str, Any] = {}
    for path, value in flat.items():
        parts = path.split("/")
        here = out
        for part in parts[:-1]:
            here = here.setdefault(part, {})
        here[parts[-1]] = value
    return out


def pinned(oracle: Oracle) -> dict[str, Any]:
    """The fields every configuration the oracle's candidates stand for shows alike, as a
    flat mapping (a candidate with ranges stands for a configuration per count)."""
    views = [observation(oracle.model, m.config) for c in oracle.candidates for m in members(c)]
    if not views:
        return {}
    first = views[0]
    return {
        path: value
        for path, value in first.items()
        if all(path in v and v[path] == value for v in views[1:])
    }


def shown_states(model: Model, config: Config) -> tuple[str, str]:
    """The two nodes' states as the page shows them (an unreachable node as `display` says)."""
    a, b = node_views(model, config)
    return (a.state, b.state)


def action_name(inp: EventInput) -> str:
    """An admin action as coverage items and titles name it: `manual_fallback node1`."""
    return inp.name if inp.node is None else f"{inp.name} {NODE_NAMES[inp.node]}"
