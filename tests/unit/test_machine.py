"""The live `transitions` machine: its shape, a hand-driven run, and step-by-step agreement with
the semantic core on every packaged scenario and on random runs of the simulator."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from transitions import Machine, MachineError

from hasm.core.config import Config, EventInput, Fire
from hasm.core.model import Model
from hasm.core.semantics import apply, initial_config, offered
from hasm.errors import NoSuchStep, NotEnabled, NotOffered
from hasm.sim import machine as machine_module
from hasm.sim.machine import LiveGroup, compile_machine, config_pair, machine_config
from hasm.sim.runner import run_scenario
from hasm.sim.scenario import load_scenario, packaged_scenarios
from hasm.sim.simulator import Simulator
from hasm.spec.loader import load_spec
from hasm.spec.model import ParamValue, Spec
from hasm.spec.params import resolve_params
from hasm.trace.records import Record

SCENARIOS = packaged_scenarios()
SEEDS = (0, 1, 2)
NODES = ("node1", "node2")
USERS = {"u1": "node1", "u2": "node1", "u3": "node2"}


@pytest.fixture(scope="module")
def model(canonical_spec: Spec) -> Model:
    return Model(canonical_spec)


# Compiling a machine takes ~0.06 s and leaves ~70,000 objects for a full garbage collection:
# the tests that only read its shape share one, and those that drive it from a starting point
# reset one (LiveGroup.reset, as the replays below do between seeds). The machine compile_machine
# builds for each starting point and its users is the scenario replays' first check.
@pytest.fixture(scope="module")
def compiled(model: Model) -> LiveGroup:
    """The model's machine as compile_machine(model) returns it; never driven."""
    return compile_machine(model)


@pytest.fixture(scope="module")
def driven(model: Model) -> LiveGroup:
    """A machine of the model for the tests that drive it: each starts it with `fresh`."""
    return compile_machine(model)


def fresh(
    live: LiveGroup, users: Mapping[str, str] | None = None, start: str = "ha_disabled"
) -> LiveGroup:
    """`live` started over as compile_machine(live.model, live.nodes, users, start) starts."""
    homes = [live.nodes.index(home) for home in (users or {}).values()]
    live.reset(initial_config(live.model, start, (homes.count(0), homes.count(1))))
    return live


# -- the machine's shape ---------------------------------------------------------------------------
def test_the_states_are_every_pair_of_spec_states(
    canonical_spec: Spec, compiled: LiveGroup
) -> None:
    live = compiled
    assert len(canonical_spec.states) == 14
    names = sorted(f"{a}|{b}" for a in canonical_spec.states for b in canonical_spec.states)
    assert len(names) == 196
    assert list(live.machine.states) == names
    assert live.state == "unknown|unknown"


def test_the_triggers_are_the_events_and_timers(canonical_spec: Spec, compiled: LiveGroup) -> None:
    live = compiled
    node_timers = {t.id for t in canonical_spec.timers.values() if t.per == "node"}
    assert set(canonical_spec.events) | node_timers <= set(live.machine.events)
    # Environment events and timers may happen in any pair; admin actions only where a rule
    # takes them, so get_triggers shows what an administrator might be offered.
    admin = {e.id for e in canonical_spec.events.values() if e.kind == "admin"}
    for pair in live.machine.states:
        assert set(live.machine.events) - admin <= set(live.machine.get_triggers(pair))
    assert "failover" in live.machine.get_triggers("normal|normal")
    assert "failover" not in live.machine.get_triggers("idle|backup")
    for trigger in live.machine.events:  # bound on the live object by transitions
        assert callable(getattr(live, trigger))


def test_machine_config_is_deterministic_and_sorted(model: Model) -> None:
    first = machine_config(model)
    machine_module._PLAN_CACHE.clear()  # a second computation, not the cached one
    second = machine_config(Model(load_spec()))
    assert first == second
    assert first["states"] == sorted(first["states"])
    assert first["initial"] == "unknown|unknown"
    assert machine_config(model, "normal")["initial"] == "normal|normal"
    keys = [(t["trigger"], t["source"] == "*", t["source"]) for t in first["transitions"]]
    assert keys == sorted(keys)


def test_machine_config_builds_the_live_machine(model: Model, compiled: LiveGroup) -> None:
    config = machine_config(model)
    plain = Machine(model=None, **config)
    live = compiled

    def shape(machine: Machine) -> list[tuple[str, str, str | None]]:
        return [
            (name, source, t.dest)
            for name, event in machine.events.items()
            for source, ts in event.transitions.items()
            for t in ts
        ]

    assert shape(plain) == shape(live.machine)


def test_conditions_name_a_rule_and_the_node_playing_node(
    canonical_spec: Spec, model: Model
) -> None:
    entries = machine_config(model)["transitions"]
    rules = {t.id for t in canonical_spec.transitions}
    for entry in entries:
        if "conditions" not in entry:
            assert (entry["source"], entry["dest"]) == ("*", None)
            continue
        (name,) = entry["conditions"]
        rule, node = name.rsplit("@", 1)
        assert rule in rules and node in ("0", "1")
    conditions = {(e["trigger"], e["source"], e["dest"]): e.get("conditions") for e in entries}
    assert conditions["failover", "normal|normal", "failing_over|taking_over"] == [
        "manual_failover@0"
    ]
    assert conditions["failover", "normal|normal", "taking_over|failing_over"] == [
        "manual_failover@1"
    ]
    # The state tests inside `not` count too: backup_fails excludes a backup whose peer is
    # Failed Over (that is auto_recover's pair), so no such transition exists.
    assert ("critical_service_down", "backup|failed_over", "failed|failed") not in conditions
    assert ("critical_service_down", "backup|failed", "failed|failed") in conditions
    # A target without a state leaves that node's state as it was.
    assert ("initialization", "initializing|backup", "failed_over|backup") in conditions


def test_every_rule_has_machine_transitions_for_each_trigger(
    canonical_spec: Spec, compiled: LiveGroup
) -> None:
    live = compiled
    taken = {
        (name, repr(c.func))
        for name, event in live.machine.events.items()
        for ts in event.transitions.values()
        for t in ts
        for c in t.conditions
    }
    for rule in canonical_spec.transitions:
        for trigger in rule.on:
            assert {(trigger, f"{rule.id}@0"), (trigger, f"{rule.id}@1")} <= taken


# -- a hand-driven run -------------------------------------------------------------------------------
def _fire_when_due(live: LiveGroup, timer: str, node: str) -> None:
    running = live.config.timer(timer, live.nodes.index(node))
    assert running is not None
    live.advance(running.earliest)
    live.fire(timer, node)


def test_hand_driven_failover_and_fallback(driven: LiveGroup) -> None:
    live = fresh(driven, users={"alice": "node1", "bob": "node2"}, start="normal")
    assert (live.state, live.last_rule) == ("normal|normal", None)
    step = live.event("failover", node="node1")
    assert live.state == "failing_over|taking_over"
    assert live.last_rule == step.rule == "manual_failover"
    assert [n.reason for n in live.config.nodes] == ["on_admin_request", "on_admin_request"]
    _fire_when_due(live, "user_move", "node2")
    assert (live.state, live.last_rule) == ("idle|backup", "manual_failover_complete")
    assert [v.state for v in live.views()] == ["idle", "backup"]

    before = (live.state, live.config, live.last_step)
    with pytest.raises(NotOffered, match=r"node1 is Idle.*offered now: .*fallback node1"):
        live.event("failover", node="node1")
    assert (live.state, live.config, live.last_step) == before

    live.event("fallback", node="node1")
    assert (live.state, live.last_rule) == ("taking_back|falling_back", "manual_fallback")
    _fire_when_due(live, "user_move", "node1")
    assert (live.state, live.last_rule) == ("normal|normal", "fallback_complete")


def test_environment_events_change_the_world_without_a_rule(driven: LiveGroup) -> None:
    live = fresh(driven, users={"alice": "node1"}, start="normal")
    step = live.event("service_stop", node="node1", service="presence_engine")
    assert (live.state, step.rule) == ("normal|normal", None)
    assert live.config.timer("critical_service_down", 0) is not None
    again = live.event("service_stop", node="node1", service="presence_engine")
    assert not again.changed and live.config == step.config
    _fire_when_due(live, "critical_service_down", "node1")
    assert (live.state, live.last_rule) == ("failing_over|taking_over", "automatic_failover")
    assert [n.reason for n in live.config.nodes] == ["critical_service_down"] * 2


def test_trigger_methods_work_as_transitions_does(driven: LiveGroup) -> None:
    live = fresh(driven, start="normal")
    assert live.may_failover(node="node2")  # type: ignore[attr-defined]
    assert live.service_stop(node="node2", service="database")  # type: ignore[attr-defined]
    assert live.config.nodes[1].stopped == frozenset({"database"})
    assert live.failover(node="node2")  # type: ignore[attr-defined]
    assert live.state == "taking_over|failing_over"
    with pytest.raises(MachineError):  # no failover rule from this pair at all
        live.failover(node="node1")  # type: ignore[attr-defined]
    assert live.state == "taking_over|failing_over"


def test_bad_inputs_change_nothing(driven: LiveGroup) -> None:
    live = fresh(driven, start="normal")
    before = (live.state, live.config)
    with pytest.raises(NotEnabled, match="unknown node"):
        live.event("node_down", node="node3")
    with pytest.raises(NotEnabled, match="cannot fire"):
        live.fire("user_move", "node1")
    with pytest.raises(NotEnabled, match="unknown event"):
        live.event("reboot", node="node1")
    with pytest.raises(NotOffered):
        live.event("recover")
    assert (live.state, live.config) == before


def test_a_successor_the_machine_cannot_reach_is_refused(model: Model, driven: LiveGroup) -> None:
    live = fresh(driven, start="normal")
    elsewhere = initial_config(model, "ha_disabled")
    before = (live.state, live.config)
    with pytest.raises(NoSuchStep):
        live.event("failover", node="node1", successor=elsewhere)
    assert (live.state, live.config) == before


# -- agreement with the core -------------------------------------------------------------------------
def _replay(live: LiveGroup, records: Iterable[Record]) -> int:
    """Drive `live` through a simulator's records, checking it against the core at every step:
    the same successors in the same order, then the same step, configuration and offers."""
    nodes, count = live.nodes, 0
    for record in records:
        step = record.step
        live.advance(record.time)
        inp = step.input
        core = apply(live.model, live.config, inp)
        if isinstance(inp, EventInput):
            node = None if inp.node is None else nodes[inp.node]
            assert live.successors(inp.name, node, inp.service, inp.user) == core
            got = live.event(inp.name, node, inp.service, inp.user, successor=step.config)
        elif isinstance(inp, Fire):
            assert live.successors(inp.timer, nodes[inp.node]) == core
            got = live.fire(inp.timer, nodes[inp.node], successor=step.config)
        else:
            relogin = live.model.spec.user_timer.id
            assert live.successors(relogin, user=inp.user) == core
            got = live.relogin(inp.user)
        assert got == step
        assert live.config == step.config
        assert live.state == config_pair(step.config)
        assert [n.reason for n in live.config.nodes] == [n.reason for n in step.config.nodes]
        assert live.last_rule == step.rule
        assert live.offered() == offered(live.model, live.config)
        count += 1
    return count


# The longest replays are left to `make test` (the quick loop stays under 15 s).
_LONG = {"06_manual_failover", "12_take_back_fails", "14_both_nodes_reboot"}


@pytest.mark.parametrize(
    "path",
    [pytest.param(p, marks=pytest.mark.slow) if p.stem in _LONG else p for p in SCENARIOS],
    ids=lambda p: p.stem,
)
def test_scenarios_replay_through_the_machine(canonical_spec: Spec, path: Path) -> None:
    scenario = load_scenario(path, canonical_spec)
    live: LiveGroup | None = None
    for seed in SEEDS:
        run = run_scenario(canonical_spec, scenario, seed)
        if live is None:
            live = compile_machine(run.model, scenario.nodes, scenario.users, scenario.initial)
            assert live.config == run.start
        live.reset(run.start)
        assert live.state == config_pair(run.start)
        assert _replay(live, run.records) == len(run.records)
        assert live.config == run.records[-1].step.config if run.records else run.start


def test_there_are_scenarios_to_replay() -> None:
    assert any(p.stem == "02_critical_service_down" for p in SCENARIOS)


# Rules that neither the scenarios nor short random runs are likely to reach, driven by hand:
# (time, event, node, service) on a simulator started in Normal, then replayed.
RARE_RUNS: dict[str, list[tuple[float, str, str | None, str | None]]] = {
    # Split brain, then node1's SRM restarts cut off from its Failed peer and initializes.
    "initialized_peer_failed": [
        (1, "link_down", None, None),
        (100, "link_up", None, None),
        (110, "srm_stop", "node1", None),
        (111, "link_down", None, None),
        (112, "srm_start", "node1", None),
        (113, "link_up", None, None),
    ],
    # node1 failed over with Presence Engine down; its SRM restarts with the service still down.
    "srm_restarts_failed_over_unhealthy": [
        (0, "service_stop", "node1", "presence_engine"),
        (400, "srm_stop", "node1", None),
        (410, "srm_start", "node1", None),
    ],
}


@pytest.mark.parametrize("rule", sorted(RARE_RUNS))
def test_rare_rules_replay_through_the_machine(model: Model, driven: LiveGroup, rule: str) -> None:
    sim = Simulator(model, NODES, USERS, "normal", 0)
    live = fresh(driven, USERS, "normal")
    records: list[Record] = []
    for t, name, node, service in RARE_RUNS[rule]:
        records += sim.run_until(t)
        records.append(sim.event(name, node=node, service=service))
    records += sim.run_until(sim.config.now + 600)
    assert rule in [r.step.rule for r in records]
    assert _replay(live, records) == len(records)


# Random runs: parameter sets that reach automatic fallback and short critical-service delays.
PARAM_SETS: tuple[dict[str, ParamValue], ...] = (
    {},
    {
        "enable_automatic_fallback": True,
        "automatic_fallback_delay_s": 400,
        "critical_service_down_delay_s": 30,
    },
)
GAPS = (0.0, 0.5, 5.0, 30.0, 70.0, 150.0, 600.0)


@pytest.fixture(scope="module")
def lives() -> dict[int, LiveGroup]:
    """One live group per parameter set, compiled when first drawn and reset per example; kept
    for this module only, not to the end of the run, where every full garbage collection would
    walk their ~140,000 objects again."""
    return {}


def _live(lives: dict[int, LiveGroup], spec: Spec, which: int) -> LiveGroup:
    if which not in lives:
        model = Model(spec, resolve_params(spec, PARAM_SETS[which]))
        lives[which] = compile_machine(model, NODES, USERS)
    return lives[which]


def _draw_event(
    data: st.DataObject, live: LiveGroup, sim: Simulator
) -> tuple[str, str | None, str | None, str | None]:
    """An event of the spec with valid fields: mostly an admin action on offer now, sometimes
    one that is not; environment events on monitored services and one service nobody watches."""
    spec = live.model.spec
    kind = data.draw(st.sampled_from(("admin", "environment", "environment")), label="kind")
    on_offer = offered(live.model, sim.config)
    if kind == "admin" and on_offer and data.draw(st.integers(0, 3), label="offered?") > 0:
        inp = data.draw(st.sampled_from(on_offer), label="action")
        return inp.name, None if inp.node is None else NODES[inp.node], None, None
    names = sorted(e.id for e in spec.events.values() if e.kind == kind)
    name = data.draw(st.sampled_from(names), label="event")
    fields = spec.events[name].fields
    unwatched = sorted(set(spec.services) - live.model.monitored)[:1]
    services = sorted(live.model.monitored) + unwatched
    node = data.draw(st.sampled_from(NODES), label="node") if "node" in fields else None
    service = data.draw(st.sampled_from(services), label="service") if "service" in fields else None
    user = data.draw(st.sampled_from(sorted(USERS)), label="user") if "user" in fields else None
    return name, node, service, user


@settings(max_examples=examples(60))
@given(data=st.data())
def test_random_runs_agree_with_the_core(
    canonical_spec: Spec, lives: dict[int, LiveGroup], data: st.DataObject
) -> None:
    spec = canonical_spec
    live = _live(lives, spec, data.draw(st.integers(0, len(PARAM_SETS) - 1), label="params"))
    start = data.draw(st.sampled_from(sorted(spec.initial)), label="start")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    sim = Simulator(live.model, NODES, USERS, start, seed)
    live.reset(sim.config)
    for _ in range(data.draw(st.integers(0, 30), label="length")):
        _replay(live, sim.run_until(sim.config.now + data.draw(st.sampled_from(GAPS))))
        live.advance(sim.config.now)
        assert live.config == sim.config
        name, node, service, user = _draw_event(data, live, sim)
        try:
            record = sim.event(name, node=node, service=service, user=user)
        except NotOffered:
            before: tuple[str, Config] = (live.state, live.config)
            key = sim.user_key[user] if user is not None else None
            with pytest.raises(NotOffered):
                live.event(name, node, service, key)
            assert (live.state, live.config) == before
            continue
        _replay(live, [record])
    _replay(live, sim.run_until(sim.config.now + 2000))
    live.advance(sim.config.now)
    assert live.config == sim.config
