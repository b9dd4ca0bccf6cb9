"""Play a scenario on a model: the records, the state pairs passed, and the expectations checked."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from hasm.core.config import Config
from hasm.core.model import Model
from hasm.core.views import documented_pairs, node_views
from hasm.sim.scenario import Scenario
from hasm.sim.simulator import Simulator
from hasm.spec.model import ParamValue, Spec
from hasm.spec.params import resolve_params
from hasm.trace.records import Record
from hasm.trace.writer import TraceWriter

__all__ = ["Run", "check_expectations", "run_scenario", "scenario_model", "scenario_trace"]


@dataclass(frozen=True)
class Run:
    scenario: Scenario
    model: Model
    seed: int
    start: Config
    records: tuple[Record, ...]
    final: Config
    sessions: Mapping[str, str | None]  # each user's session node at the end
    pairs: tuple[str, ...]  # documented state pairs passed, in first-seen order
    failures: tuple[str, ...]  # expectations not met


def scenario_model(
    spec: Spec, scenario: Scenario, overrides: Mapping[str, ParamValue] | None = None
) -> Model:
    """The model a scenario runs on: its parameters, then command-line overrides on top."""
    params = dict(scenario.params)
    if overrides:
        params = resolve_params(spec, {**params, **overrides}, file="--param", path="param")
    return Model(spec, params, scenario.monitored)


def run_scenario(
    spec: Spec,
    scenario: Scenario,
    seed: int = 0,
    overrides: Mapping[str, ParamValue] | None = None,
    on_record: Callable[[Record], None] | None = None,
    on_start: Callable[[Config], None] | None = None,
    *,
    keep_records: bool = True,
) -> Run:
    """Play `scenario`: each record goes to `on_record` as it happens; `Run.records` keeps them
    all unless `keep_records` is False (a streaming consumer keeps memory flat)."""
    model = scenario_model(spec, scenario, overrides)
    sim = Simulator(model, scenario.nodes, scenario.users, scenario.initial, seed)
    start = sim.config
    if on_start is not None:
        on_start(start)
    pairs: dict[str, None] = dict.fromkeys(documented_pairs(model, start))
    records = []
    for record in sim.play(scenario):
        if keep_records:
            records.append(record)
        if on_record is not None:
            on_record(record)
        for pid in documented_pairs(model, record.step.config):
            pairs.setdefault(pid)
    sessions = {user: sim.session_of(user) for user in scenario.users}
    failures = check_expectations(model, scenario, sim.config, sessions, tuple(pairs))
    return Run(
        scenario, model, seed, start, tuple(records), sim.config, sessions, tuple(pairs), failures
    )


def scenario_trace(
    spec: Spec,
    scenario: Scenario,
    seed: int = 0,
    overrides: Mapping[str, ParamValue] | None = None,
) -> str:
    """The trace in format v1 that `hasm simulate --trace` writes for the scenario and seed."""
    model = scenario_model(spec, scenario, overrides)
    out = io.StringIO()
    writer = TraceWriter(out, model, scenario.nodes, scenario.users, scenario.initial, model.params)
    run_scenario(spec, scenario, seed, overrides, writer.record, writer.start, keep_records=False)
    return out.getvalue()


def check_expectations(
    model: Model,
    scenario: Scenario,
    final: Config,
    sessions: Mapping[str, str | None],
    pairs: tuple[str, ...],
) -> tuple[str, ...]:
    spec, want = model.spec, scenario.expect
    out = [f"never reached state pair {pid}" for pid in want.reaches if pid not in pairs]
    views = dict(zip(scenario.nodes, node_views(model, final), strict=True))
    for node, expected in want.nodes.items():
        view = views[node]
        if expected.state is not None and view.state != expected.state:
            out.append(
                f"{node} ends {spec.states[view.state].label}, expected {spec.states[expected.state].label}"
            )
        if expected.reason is not None and view.reason != expected.reason:
            out.append(
                f"{node} ends with reason {spec.reasons[view.reason].label}, "
                f"expected {spec.reasons[expected.reason].label}"
            )
        if expected.assigned_users is not None and view.assigned_users != expected.assigned_users:
            out.append(
                f"{node} ends with {view.assigned_users} assigned users, expected {expected.assigned_users}"
            )
        if expected.active_users is not None and view.active_users != expected.active_users:
            out.append(
                f"{node} ends with {view.active_users} active users, expected {expected.active_users}"
            )
    for user, expected_node in want.sessions.items():
        if sessions[user] != expected_node:
            out.append(f"{user}'s session ends on {sessions[user]}, expected {expected_node}")
    if want.ha_enabled is not None and final.ha_enabled != want.ha_enabled:
        out.append(
            f"HA ends {'enabled' if final.ha_enabled else 'disabled'}, expected the opposite"
        )
    return tuple(out)
