"""Traces that start mid-incident (`"initial": "observed"`): the starting set is every
configuration the spec reaches - the same with one orientation of each explored as with both -
and the first record keeps those that show it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hasm.core.model import Model
from hasm.oracle.clock import TICKS
from hasm.oracle.files import check_file, tell_file
from hasm.oracle.prehistory import _explore
from hasm.spec.model import Spec

A, B = "imp1", "imp2"
CSD = "Critical Service Down"


def trace(path: Path, *records: dict[str, Any], **header: Any) -> Path:
    head = {"hasm_trace": 1, "nodes": [A, B], "initial": "observed", **header}
    path.write_text("\n".join(json.dumps(r) for r in (head, *records)) + "\n")
    return path


def seen(t: float, a: str, b: str, reason: str | None = None) -> dict[str, Any]:
    nodes: dict[str, Any] = {A: {"state": a}, B: {"state": b}}
    if reason is not None:
        nodes[A]["reason"] = nodes[B]["reason"] = reason
    return {"t": t, "observe": {"nodes": nodes}}


def test_one_orientation_explored_gives_the_same_start_as_both(spec: Spec) -> None:
    model = Model(spec, spec.defaults, None, 0.0, ticks=TICKS)
    one = _explore(model, (0, 0), 1)
    assert one == _explore(model, (0, 0), 1, symmetry=False)
    assert len(one) > 1000  # every state pair the spec reaches, with its clocks


def test_a_trace_may_start_failed_over(spec: Spec, tmp_path: Path) -> None:
    path = trace(
        tmp_path / "t.jsonl",
        seen(1000, "Failed Over with Critical Services not Running", "Running in Backup Mode", CSD),
        seen(1010, "Failed Over with Critical Services not Running", "Running in Backup Mode", CSD),
    )
    assert check_file(spec, path).status == "conforms"
    told = tell_file(spec, path)
    # A monitored service was down before the polls began, and still is.
    assert {(i.event, i.node, i.earliest) for e in told.story.explanations for i in e} == {
        ("service_stop", 0, None)
    }


def test_a_start_no_run_reaches_diverges_at_the_first_record(spec: Spec, tmp_path: Path) -> None:
    """Both nodes in backup mode for a critical service is no pair the spec reaches."""
    path = trace(
        tmp_path / "t.jsonl", seen(5, "Running in Backup Mode", "Running in Backup Mode", CSD)
    )
    verdict = check_file(spec, path)
    assert verdict.status == "diverges" and verdict.divergence is not None
    assert verdict.divergence.line == 2


def test_without_hidden_events_nothing_happens_after_the_first_record(
    spec: Spec, tmp_path: Path
) -> None:
    """Mid-incident, but the faults after the start must be recorded. A failover first seen
    between 89 and 100 s after a poll that showed Normal needs a stop before the trace (the
    timer running at t=0 fires by t=90), so it conforms; first seen after a poll at 95 that
    still showed Normal, it cannot be."""
    normal, failing = seen(0, "Normal", "Normal"), seen(100, "Failing Over", "Taking Over", CSD)
    ok = trace(tmp_path / "a.jsonl", normal, seen(89, "Normal", "Normal"), failing)
    late = trace(tmp_path / "b.jsonl", normal, seen(95, "Normal", "Normal"), failing)
    assert check_file(spec, ok).status == "conforms"
    assert check_file(spec, late).status == "diverges"


def test_the_starting_clocks_keep_their_invariants(spec: Spec) -> None:
    """Extrapolation may lift a clock's upper bound; a timer older than its greatest duration is
    no configuration of the spec, so the starting zones are cut back to the invariants."""
    model = Model(spec, spec.defaults, None, 0.0, ticks=TICKS)
    for cand in _explore(model, (0, 0), 1):
        for timer in cand.config.timers:
            high = cand.zone.interval(int(timer.since) + 1)[1]
            assert high is not None, (timer, cand.config.nodes)
