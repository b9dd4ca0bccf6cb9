"""The seed's stories end to end on the simulator: expectations, reachability, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hasm.core.config import Relogin
from hasm.sim.runner import Run, run_scenario, scenario_trace
from hasm.sim.scenario import Scenario, load_scenario, packaged_scenarios
from hasm.spec.loader import load_spec
from hasm.spec.model import Spec

SEEDS = (0, 1, 2, 3, 7)
SCENARIOS = packaged_scenarios()


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec()


def _load(spec: Spec, path: Path) -> Scenario:
    return load_scenario(path, spec)


def test_the_seeds_stories_are_all_there() -> None:
    titles = {p.stem for p in SCENARIOS}
    for story in (
        "01_enable_ha",
        "02_critical_service_down",
        "03_node_down_60s",
        "04_node_down_90s",
        "05_automatic_fallback",
        "06_manual_failover",
        "07_backup_fails",
        "08_auto_recovery_database",
        "09_ha_disabled",
    ):
        assert story in titles


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
@pytest.mark.parametrize("seed", SEEDS)
def test_scenario_meets_its_expectations(spec: Spec, path: Path, seed: int) -> None:
    run = run_scenario(spec, _load(spec, path), seed)
    assert run.failures == ()


def test_every_documented_pair_is_reached_or_out_of_scope(spec: Spec) -> None:
    reached: set[str] = set()
    for path in SCENARIOS:
        reached |= set(run_scenario(spec, _load(spec, path), 0).pairs)
    missing = [
        pid
        for pid, pair in spec.state_pairs.items()
        if pid not in reached and not pair.out_of_scope
    ]
    assert missing == []
    assert {f"P{i}" for i in range(1, 25)} <= set(spec.state_pairs)


def test_heartbeat_timeout_bounds_the_takeover(spec: Spec) -> None:
    """Node down at t=100: the peer is in backup between timeout - interval and timeout +
    interval later (A-heartbeat-phase)."""
    for name, low, high in (("03_node_down_60s", 145, 175), ("04_node_down_90s", 175, 205)):
        for seed in range(20):
            run = run_scenario(spec, _load(spec, _path(name)), seed)
            taken = next(r for r in run.records if r.step.rule == "peer_reboot_takeover")
            assert low <= taken.time <= high


def test_automatic_fallback_counts_continuous_health(spec: Spec) -> None:
    run = run_scenario(spec, _load(spec, _path("05_automatic_fallback")), 0)
    fallback = next(r for r in run.records if r.step.rule == "automatic_fallback")
    assert fallback.time == 1100 + 1800  # healthy again at t=1100 after the second failure


def test_clients_relogin_within_the_window(spec: Spec) -> None:
    run = run_scenario(spec, _load(spec, _path("06_manual_failover")), 3)
    relogins = [r for r in run.records if isinstance(r.step.input, Relogin)]
    assert len(relogins) == 6  # three users out at t=100, back home at t=900
    for record in relogins:
        assert isinstance(record.step.input, Relogin)
        since = record.step.input.user[2]
        assert since + 120 <= record.time <= since + 537


def test_home_nodes_never_change(spec: Spec) -> None:
    for path in SCENARIOS:
        scenario = _load(spec, path)
        homes = {u: scenario.nodes.index(h) for u, h in scenario.users.items()}
        run = run_scenario(spec, scenario, 1)
        for record in run.records:
            for move in record.step.moves:
                assert move.source[0] == move.target[0]
        counts = {home: sum(1 for h in homes.values() if h == home) for home in (0, 1)}
        for record in run.records:
            for home in (0, 1):
                assert (
                    sum(c.count for c in record.step.config.users if c.home == home) == counts[home]
                )


def _path(name: str) -> Path:
    return next(p for p in SCENARIOS if p.stem == name)


def test_same_seed_same_trace_bytes(spec: Spec) -> None:
    scenario = _load(spec, _path("02_critical_service_down"))
    assert scenario_trace(spec, scenario, 5) == scenario_trace(spec, scenario, 5)
    assert scenario_trace(spec, scenario, 5) != scenario_trace(spec, scenario, 6)


def test_trace_is_format_v1(spec: Spec) -> None:
    scenario = _load(spec, _path("02_critical_service_down"))
    lines = [json.loads(line) for line in scenario_trace(spec, scenario, 0).splitlines()]
    header = lines[0]
    assert header["hasm_trace"] == 1
    assert header["nodes"] == list(scenario.nodes)
    assert header["users"] == dict(scenario.users)
    assert header["initial"] == "normal"
    times = [line["t"] for line in lines[1:]]
    assert times == sorted(times)
    events = [line for line in lines[1:] if "event" in line]
    assert [e["event"] for e in events] == ["service_stop", "service_start", "fallback"]
    observations = [line["observe"] for line in lines[1:] if "observe" in line]
    states = [tuple(v["state"] for v in o["nodes"].values()) for o in observations]
    assert ("Failed Over with Critical Services not Running", "Running in Backup Mode") in states
    assert states[-1] == ("Normal", "Normal")
    for o in observations:
        assert set(o) == {"nodes", "sessions", "ha_enabled", "offered"}
        assert set(o["sessions"]) == set(scenario.users)
        assert set(o["offered"]) == {"failover", "fallback", "recover"}
    assert observations[-1]["sessions"] == dict(scenario.users)  # every session back home


def test_run_returns_final_sessions(spec: Spec) -> None:
    run: Run = run_scenario(spec, _load(spec, _path("09_ha_disabled")), 0)
    assert run.final.ha_enabled is False
    assert run.sessions == dict(run.scenario.users)
