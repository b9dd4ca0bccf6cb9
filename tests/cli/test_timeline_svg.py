"""SVG timelines: `hasm simulate --timeline` and `hasm check --timeline`, drawn and read back."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hasm.cli import main
from hasm.oracle.files import check_file
from hasm.review.timeline_svg import TimelineRecorder, to_svg, trace_timeline
from hasm.sim.runner import scenario_model, scenario_trace
from hasm.sim.scenario import load_scenario, packaged_scenarios
from hasm.sim.simulator import Simulator
from hasm.spec.loader import load_spec
from hasm.spec.model import Spec

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "tests" / "specs" / "small.yaml"
SVG = "{http://www.w3.org/2000/svg}"
SCENARIO = next(p for p in packaged_scenarios() if p.stem == "02_critical_service_down")
PUB, SUB = "IMPPub.example.net", "IMPSub.example.net"


def parse(path: Path) -> ET.Element:
    return ET.fromstring(path.read_text(encoding="utf-8"))


def lanes(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-node", ""): g for g in root.iter(f"{SVG}g") if g.get("class") == "lane"}


def band_states(lane: ET.Element) -> list[str]:
    return [r.get("data-state", "") for r in lane.iter(f"{SVG}rect") if r.get("class") == "state"]


def texts(root: ET.Element, cls: str) -> list[str]:
    return [
        "".join(t.itertext())
        for g in root.iter(f"{SVG}g")
        if g.get("class") == cls
        for t in g.iter(f"{SVG}text")
    ]


def test_simulate_draws_lanes_events_timers_and_users(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    picture = tmp_path / "run.svg"
    code = main(["simulate", str(SCENARIO), "--seed", "4", "--timeline", str(picture), "--quiet"])
    assert code == 0, capsys.readouterr().err
    root = parse(picture)
    by_node = lanes(root)
    assert list(by_node) == [PUB, SUB]
    assert band_states(by_node[PUB]) == [
        "normal", "failing_over", "failed_over_csnr", "failed_over", "taking_back", "normal",
    ]  # fmt: skip
    assert band_states(by_node[SUB]) == [
        "normal", "taking_over", "backup", "falling_back", "normal",
    ]  # fmt: skip
    events = texts(root, "event")
    assert events[0] == f"t=100 service_stop presence_engine ({PUB})"
    assert f"t=190 critical_service_down -> automatic_failover ({PUB})" in events
    assert f"t=1000 fallback -> manual_fallback ({PUB})" in events
    timers = [g for g in root.iter(f"{SVG}g") if g.get("class") == "timer"]
    critical = next(g for g in timers if g.get("data-timer") == "critical_service_down")
    title = critical.find(f"{SVG}title")
    assert title is not None
    assert title.text == (
        "timer critical_service_down: started t=100, deadline window [t=190, t=190], fired at t=190"
    )
    assert critical.find(f"{SVG}circle") is not None  # fired
    assert sum(1 for g in timers if g.get("data-timer") == "user_move") == 2
    # Active users: the publisher's 3 leave at t=190 and come back after the fallback.
    pub_levels = [t for t in by_node[PUB].iter(f"{SVG}text") if t.get("font-size") == "9"]
    assert [t.text for t in pub_levels][:2] == ["3", "0"]
    assert root.find(f".//{SVG}g[@class='divergence']") is None


def test_timelines_are_byte_identical_whatever_the_hash_seed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # This process runs with its own hash seed; a second process runs with another one.
    seed = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
    args = ["simulate", str(SCENARIO), "--seed", "7", "--quiet", "--timeline"]
    there, here = tmp_path / "there.svg", tmp_path / "here.svg"
    subprocess.run(
        [sys.executable, "-m", "hasm", *args, str(there)],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONHASHSEED": seed},
    )
    assert main([*args, str(here)]) == 0
    assert here.read_bytes() == there.read_bytes()
    # Fixed precision: no number is ever printed in exponent form.
    assert re.search(rb"\d[eE][-+]?\d", here.read_bytes()) is None


def test_a_conforming_trace_has_no_divergence(tmp_path: Path, spec: Spec) -> None:
    trace = tmp_path / "run.jsonl"
    trace.write_text(scenario_trace(spec, load_scenario(SCENARIO, spec), seed=4), encoding="utf-8")
    picture = tmp_path / "run.svg"
    assert main(["check", str(trace), "--timeline", str(picture)]) == 0
    root = parse(picture)
    assert root.find(f".//{SVG}g[@class='divergence']") is None
    assert band_states(lanes(root)[PUB])[:3] == ["normal", "failing_over", "failed_over_csnr"]
    # Timer windows as the oracle knows them: the user move may end anywhere in 1 to 60 s.
    titles = [
        t.text or ""
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "timer"
        for t in g.iter(f"{SVG}title")
    ]
    prefix = "timer user_move: started t=190, deadline window [t=191, t=250], ended at t="
    assert sum(1 for title in titles if title.startswith(prefix)) == 1


def test_a_divergence_is_marked_where_check_reports_it(
    tmp_path: Path, spec: Spec, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = scenario_trace(spec, load_scenario(SCENARIO, spec), seed=4).splitlines()
    bad = next(i for i, line in enumerate(lines) if "Failed Over with Critical" in line)
    lines[bad] = lines[bad].replace(
        '"Failed Over with Critical Services not Running"', '"Normal"', 1
    )
    trace = tmp_path / "bad.jsonl"
    trace.write_text("\n".join(lines) + "\n", encoding="utf-8")
    picture = tmp_path / "bad.svg"
    assert main(["check", str(trace), "--timeline", str(picture)]) == 1
    report = capsys.readouterr().out
    assert report.startswith(f"{trace}:{bad + 1}: t=")
    verdict = check_file(spec, trace)
    assert verdict.divergence is not None
    marked = texts(parse(picture), "divergence")
    t = f"{verdict.divergence.t:.3f}".rstrip("0").rstrip(".")
    assert marked[0] == f"diverges: line {bad + 1}, t={t}"
    assert marked[1] == f"line {bad + 1}: observation"
    assert marked[2].startswith(f"NOT nodes.{PUB}.state: observed Normal; the spec allows ")
    # The picture stops at the divergence: nothing observed after it is drawn.
    timeline = trace_timeline(spec, trace, verdict.divergence)
    assert max(b.end for lane in timeline.bands for b in lane) == verdict.divergence.t


def test_the_small_spec(tmp_path: Path) -> None:
    small = load_spec(SMALL)
    scenario = tmp_path / "failover.yaml"
    scenario.write_text(
        "scenario: 1\ntitle: A manual failover and fallback on the small spec\n"
        "story: The administrator fails node a over, then falls back.\nsource: [T1]\n"
        "nodes: [a, b]\nusers: {u1: a, u2: a, u3: b}\ninitial: normal\nuntil: 200\n"
        "events:\n  - {t: 10, event: failover, node: a}\n  - {t: 100, event: fallback, node: a}\n"
        "expect:\n  reaches: [P1, P2]\n",
        encoding="utf-8",
    )
    picture = tmp_path / "small.svg"
    args = ["simulate", str(scenario), "--spec", str(SMALL), "--quiet"]
    assert main([*args, "--timeline", str(picture)]) == 0
    root = parse(picture)
    assert band_states(lanes(root)["a"]) == ["normal", "idle", "normal"]
    assert band_states(lanes(root)["b"]) == ["normal", "backup", "normal"]
    legend = [t.text for t in root.iter(f"{SVG}text") if t.text in {"Normal", "Idle", "Backup"}]
    assert {"Normal", "Idle", "Backup"} <= set(legend)
    assert small.states["idle"].label == "Idle"


def test_many_users_keep_the_picture_small(spec: Spec) -> None:
    scenario = load_scenario(SCENARIO, spec)
    model = scenario_model(spec, scenario)
    users = {f"user{i}": PUB if i % 4 else SUB for i in range(4000)}
    sim = Simulator(model, scenario.nodes, users, scenario.initial, seed=1)
    recorder = TimelineRecorder(model, scenario.nodes, "many users", "")
    recorder.start(sim.config)
    for ev in scenario.events:
        for record in sim.steps_until(ev.t):
            recorder.record(record)
        recorder.record(sim.event(ev.event, ev.node, ev.service))
    for record in sim.steps_until(scenario.until):
        recorder.record(record)
    timeline = recorder.finish(scenario.until)
    assert len(timeline.levels[0]) > 2500  # nearly every re-login changed the count
    root = ET.fromstring(to_svg(timeline))
    for line in root.iter(f"{SVG}polyline"):
        # At most a corner pair per pixel column, however many users re-login.
        assert len(line.get("points", "").split()) <= 2 * 1200


def test_bad_input_writes_no_timeline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    picture = tmp_path / "x.svg"
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"hasm_trace": 1, "nodes": ["a", "b"]}\n{"t": "soon"}\n', encoding="utf-8")
    assert main(["check", str(trace), str(trace), "--timeline", str(picture)]) == 2
    assert capsys.readouterr().err == f"hasm: {picture}: --timeline: draws one trace, not 2\n"
    assert main(["check", str(trace), "--timeline", str(picture)]) == 2
    assert f"hasm: {trace}:2: t:" in capsys.readouterr().err
    nowhere = tmp_path / "missing" / "run.svg"
    assert main(["simulate", str(SCENARIO), "--quiet", "--timeline", str(nowhere)]) == 2
    assert capsys.readouterr().err.startswith(f"hasm: {nowhere}: cannot write here: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.jsonl"]
