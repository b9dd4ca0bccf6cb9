"""`hasm check` on what a polling script sees: observations only, the causes hidden.

A Presence Redundancy Group polled every 10 s (both nodes' state and reason, as `utils ha
status` shows them) through a cycle repeated for days: 600 s Normal, imp1's Presence Engine
stops, SRM fails imp1 over, the engine is started again 300 s later, and the administrator falls
back 300 s after that. The same polls are timed twice: with the faults hidden (header `hidden`,
at most one at once: the oracle must find where they could have been) and with the faults
recorded as events, today's shape. The administrator's fallback is recorded in both, one record
in 150 (hiding it too, or falling back automatically after 30 minutes, makes the trace far
slower to check: see the README's "Hidden events"). Timed in a fresh process each; the traces
are cached under bench/.cache.

    python bench/poll_bench.py [POLLS]   (default 100,000)
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from check_bench import _cached, timed

from hasm.core.model import Model
from hasm.core.views import node_views
from hasm.sim.simulator import Simulator
from hasm.spec.loader import load_spec

NODES = ("imp1.example.com", "imp2.example.com")
EVERY = 10.0
CYCLE = 1500.0
# (offset in the cycle, event, node, service): the fault, the repair and the fallback, each
# between two polls (the fallback on one: an administrator who acts on what the poll showed).
STEPS = (
    (604.5, "service_stop", NODES[0], "presence_engine"),
    (903.25, "service_start", NODES[0], "presence_engine"),
    (1200.0, "fallback", NODES[0], None),
)
HIDDEN = {
    "events": [
        *("service_stop", "service_start", "node_down", "node_up"),
        *("srm_stop", "srm_start", "link_down", "link_up"),
    ],
    "faults": 1,
}
ROUNDS = 3


def make_polls(path: Path, polls: int, *, hidden: bool, seed: int = 1) -> None:
    spec = load_spec()
    model = Model(spec, spec.defaults)
    sim = Simulator(model, NODES, {}, start="normal", seed=seed)
    header: dict[str, object] = {"hasm_trace": 1, "nodes": list(NODES), "initial": "normal"}
    if hidden:
        header["hidden"] = HIDDEN
    labels = {sid: s.label for sid, s in spec.states.items()}
    reasons = {rid: r.label for rid, r in spec.reasons.items()}
    with path.open("w", encoding="utf-8") as out:
        out.write(json.dumps(header) + "\n")
        written, base = 0, 0.0
        while written < polls:
            due = [(base + at, *rest) for at, *rest in STEPS]
            t = base
            while t < base + CYCLE and written < polls:
                while due and due[0][0] <= t:
                    at, event, node, service = due.pop(0)
                    sim.run_until(at)
                    sim.event(event, node, service)
                    if not hidden or event == "fallback":
                        record = {"t": round(at, 3), "event": event, "node": node}
                        if service is not None:
                            record["service"] = service
                        out.write(json.dumps(record) + "\n")
                sim.run_until(t)
                views = node_views(model, sim.config)
                nodes = {
                    n: {"state": labels[v.state], "reason": reasons[v.reason]}
                    for n, v in zip(NODES, views, strict=True)
                }
                out.write(json.dumps({"t": t, "observe": {"nodes": nodes}}) + "\n")
                written += 1
                t += EVERY
            base += CYCLE


def main() -> int:
    polls = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    shapes = {
        "faults hidden (bound 1)": _cached(
            "polls-hidden", polls, lambda p, n: make_polls(p, n, hidden=True), check_once=True
        ),
        "faults recorded as events": _cached(
            "polls-recorded", polls, lambda p, n: make_polls(p, n, hidden=False), check_once=True
        ),
    }
    print(f"hasm check on {polls:,} polls every {EVERY:g} s (median of {ROUNDS}, fresh processes)")
    print(f"{'trace':<32} {'seconds':>8} {'polls/s':>10} {'peak MiB':>9}")
    for label, path in shapes.items():
        runs = [timed("hasm_check", path) for _ in range(ROUNDS)]
        seconds = statistics.median(s for s, _ in runs)
        mib = max(m for _, m in runs)
        print(f"{label:<32} {seconds:>8.2f} {polls / seconds:>10,.0f} {mib:>9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
