"""Polls alone across an automatic fallback, every cause hidden: the 30-minute timer runs while
faults may come and go unseen, so each gap between polls leaves the timer's start open a little
further. The oracle keeps one candidate per situation however long that goes on (zones whose
union is convex are merged: hasm.core.zones.Zone.union), and still rejects a poll no behaviour
shows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hasm.core.model import Model
from hasm.core.views import node_views
from hasm.errors import ConformanceError
from hasm.oracle.oracle import Oracle
from hasm.sim.simulator import Simulator
from hasm.spec.model import Spec
from hasm.trace.reader import read_trace

NODES = ("imp1", "imp2")
HIDDEN = ["service_stop", "service_start", "node_down", "node_up", "srm_stop", "srm_start"]
PARAMS = {"enable_automatic_fallback": True}


def polls(spec: Spec, until: float) -> list[dict[str, Any]]:
    """A poll every 10 s: imp1's Presence Engine stops at 604.5 s and is started again at
    903.25 s; SRM fails over after 90 s and falls back by itself 30 minutes after the start."""
    model = Model(spec, {**spec.defaults, **PARAMS})
    sim = Simulator(model, NODES, {}, start="normal", seed=1)
    labels = {sid: s.label for sid, s in spec.states.items()}
    reasons = {rid: r.label for rid, r in spec.reasons.items()}
    steps = [(604.5, "service_stop"), (903.25, "service_start")]
    out: list[dict[str, Any]] = []
    for k in range(int(until // 10) + 1):
        t = 10.0 * k
        while steps and steps[0][0] <= t:
            at, event = steps.pop(0)
            sim.run_until(at)
            sim.event(event, NODES[0], "presence_engine")
        sim.run_until(t)
        views = node_views(model, sim.config)
        shown = {
            n: {"state": labels[v.state], "reason": reasons[v.reason]}
            for n, v in zip(NODES, views, strict=True)
        }
        out.append({"t": t, "observe": {"nodes": shown}})
    return out


def write(path: Path, records: list[dict[str, Any]]) -> Path:
    head = {"hasm_trace": 1, "nodes": list(NODES), "initial": "normal", "params": PARAMS}
    head["hidden"] = {"events": HIDDEN, "faults": 1}
    path.write_text("".join(json.dumps(r) + "\n" for r in (head, *records)))
    return path


def run(spec: Spec, path: Path) -> list[int]:
    """The number of candidates after each record (ConformanceError if one diverges)."""
    header, records = read_trace(path, spec)
    oracle = Oracle.from_header(spec, header, memo=False, explain=False)
    sizes = []
    for record in records:
        oracle.record(record)
        sizes.append(len(oracle.candidates))
    return sizes


def test_the_candidates_stay_few_while_the_fallback_timer_runs(spec: Spec, tmp_path: Path) -> None:
    records = polls(spec, 2900.0)
    states = [r["observe"]["nodes"]["imp1"]["state"] for r in records]
    assert states[-1] == "Normal" and "Failed Over" in states and "Falling Back" not in states[:100]
    sizes = run(spec, write(tmp_path / "t.jsonl", records))
    # Unmerged, they grew by some 56 a poll from the restart on: 1,410 a minute into the
    # timer's fifth minute, and the check slowed with them.
    assert max(sizes) <= 150, max(sizes)
    timer_running = sizes[100:270]  # 1000 s to 2700 s: the timer's minutes 2 to 30
    assert max(timer_running) - min(timer_running) <= 8, timer_running


def test_a_poll_of_normal_while_the_timer_runs_diverges(spec: Spec, tmp_path: Path) -> None:
    records = polls(spec, 1500.0)
    records[120]["observe"]["nodes"] = {n: {"state": "Normal"} for n in NODES}  # t = 1200 s
    path = write(tmp_path / "t.jsonl", records)
    try:
        run(spec, path)
    except ConformanceError as exc:
        assert exc.divergence.line == 122  # the header, then records 0 to 120
    else:
        raise AssertionError("a poll of Normal 5 minutes into the fallback timer conformed")
