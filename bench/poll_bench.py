"""`hasm check` on what a polling script sees: observations only, the causes hidden.

A Presence Redundancy Group polled every 10 s (both nodes' state and reason, as `utils ha
status` shows them) through a cycle repeated for days: imp1's Presence Engine stops 604.5 s into
the cycle, SRM fails imp1 over, the engine is started again 300 s later, and the group falls
back - by the administrator 300 s after that (cycles of 1,500 s), or by itself 30 minutes after
the engine came back (`enable_automatic_fallback`, cycles of 3,300 s). Four shapes of the same
polls, each timed in a fresh process:

- faults hidden (bound 1): the header hides the environment's events, at most one fault at
  once, and the oracle must find where they could have been; the administrator's fallback is
  recorded, one record in 150;
- polls alone: the fallback hidden too - nothing but the page recorded (issue 13's shape);
- polls alone, automatic fallback: every cause hidden while the 30-minute timer runs;
- faults recorded as events: the baseline, today's shape of a trace hasm or a harness writes.

The traces are cached under bench/.cache.

    python bench/poll_bench.py [POLLS]   (default 100,000)
"""

from __future__ import annotations

import json
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

from check_bench import _cached, timed

from hasm.core.model import Model
from hasm.core.views import node_views
from hasm.sim.simulator import Simulator
from hasm.spec.loader import load_spec

NODES = ("imp1.example.com", "imp2.example.com")
EVERY = 10.0
ENVIRONMENT = [
    *("service_stop", "service_start", "node_down", "node_up"),
    *("srm_stop", "srm_start", "link_down", "link_up"),
]
ROUNDS = 3


@dataclass(frozen=True)
class Shape:
    """One shape of the polls: the cycle's steps - (offset, event, node, service), each between
    two polls (the administrator's fallback on one: acting on what the poll showed) - its
    length, the parameters, and which events the header hides (those are not recorded)."""

    cycle: float
    steps: tuple[tuple[float, str, str, str | None], ...]
    hidden: tuple[str, ...] = ()
    params: dict[str, object] = field(default_factory=dict)


STOP = (604.5, "service_stop", NODES[0], "presence_engine")
START = (903.25, "service_start", NODES[0], "presence_engine")
MANUAL = (STOP, START, (1200.0, "fallback", NODES[0], None))
AUTOMATIC = {"enable_automatic_fallback": True}
SHAPES = {
    "faults hidden (bound 1)": Shape(1500.0, MANUAL, tuple(ENVIRONMENT)),
    "polls alone": Shape(1500.0, MANUAL, (*ENVIRONMENT, "fallback")),
    "polls alone, automatic fallback": Shape(3300.0, (STOP, START), tuple(ENVIRONMENT), AUTOMATIC),
    "faults recorded as events": Shape(1500.0, MANUAL),
}


def make_polls(path: Path, polls: int, shape: Shape, seed: int = 1) -> None:
    spec = load_spec()
    model = Model(spec, {**spec.defaults, **shape.params})
    sim = Simulator(model, NODES, {}, start="normal", seed=seed)
    header: dict[str, object] = {"hasm_trace": 1, "nodes": list(NODES), "initial": "normal"}
    if shape.params:
        header["params"] = shape.params
    if shape.hidden:
        header["hidden"] = {"events": list(shape.hidden), "faults": 1}
    labels = {sid: s.label for sid, s in spec.states.items()}
    reasons = {rid: r.label for rid, r in spec.reasons.items()}
    with path.open("w", encoding="utf-8") as out:
        out.write(json.dumps(header) + "\n")
        written, base = 0, 0.0
        while written < polls:
            due = [(base + at, *rest) for at, *rest in shape.steps]
            t = base
            while t < base + shape.cycle and written < polls:
                while due and due[0][0] <= t:
                    at, event, node, service = due.pop(0)
                    sim.run_until(at)
                    sim.event(event, node, service)
                    if event not in shape.hidden:
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
            base += shape.cycle


def _slug(label: str) -> str:
    """`faults hidden (bound 1)` -> `faults-hidden-bound-1`: the cached trace's name."""
    return "-".join("".join(c if c.isalnum() else " " for c in label).split())


def main() -> int:
    polls = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    paths = {
        label: _cached(
            "polls-" + _slug(label.removeprefix("polls ")),
            polls,
            lambda p, n, shape=shape: make_polls(p, n, shape),
            check_once=True,
        )
        for label, shape in SHAPES.items()
    }
    print(f"hasm check on {polls:,} polls every {EVERY:g} s (median of {ROUNDS}, fresh processes)")
    print(f"{'trace':<34} {'seconds':>8} {'polls/s':>10} {'peak MiB':>9}")
    for label, path in paths.items():
        runs = [timed("hasm_check", path) for _ in range(ROUNDS)]
        seconds = statistics.median(s for s, _ in runs)
        mib = max(m for _, m in runs)
        print(f"{label:<34} {seconds:>8.2f} {polls / seconds:>10,.0f} {mib:>9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
