"""Writes this example's transcripts: `utils ha status` polled every 10 s on a Presence
Redundancy Group while imp1's Presence Engine crashes, unseen, and SRM fails imp1 over.

The run is the simulator's (seed 3), so the states are the spec's; what the file shows is what
an administrator's polling script would have saved - a `date` line, the command, its output.
`status-early.txt` is the same but for one poll that shows Normal too early. Run it from the
repository's root: `python examples/incident/generate.py`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hasm.core.model import Model
from hasm.core.views import node_views
from hasm.sim.simulator import Simulator
from hasm.spec.loader import load_spec

HERE = Path(__file__).resolve().parent
NODES = ("imp1.example.com", "imp2.example.com")
START = datetime(2026, 11, 30, 10, 0, 0, tzinfo=UTC)
CRASH = 47.0  # seconds after the first poll: nobody recorded it
POLLS = 40
EARLY = 25  # the poll that shows Normal too early in status-early.txt
# The CLI's word for a node being failed over (S5's example prints "State: Failover").
CLI_WORDS = {"Failing Over": "Failover", "Running in Failed Mode": "Failed"}


def polls() -> list[tuple[datetime, list[tuple[str, str]]]]:
    spec = load_spec()
    model = Model(spec, spec.defaults)
    sim = Simulator(model, NODES, {}, start="normal", seed=3)
    out = []
    for i in range(POLLS):
        t = 10.0 * i
        if t - 10 < CRASH <= t:
            sim.run_until(CRASH)
            sim.event("service_stop", NODES[0], "presence_engine")
        sim.run_until(t)
        shown = [
            (spec.states[v.state].label, spec.reasons[v.reason].label)
            for v in node_views(model, sim.config)
        ]
        out.append((START + timedelta(seconds=t), shown))
    return out


def transcript(early: bool) -> str:
    lines = []
    for i, (when, polled) in enumerate(polls()):
        shown = [("Normal", "Normal")] * 2 if early and i == EARLY else polled
        lines.append(when.strftime("%a %b %d %H:%M:%S UTC %Y"))
        lines += ["admin: utils ha status", "Subcluster Name: DefaultCluster"]
        for n, (node, (state, reason)) in enumerate(zip(NODES, shown, strict=True), start=1):
            word = CLI_WORDS.get(state, state)
            # The CLI prints no reason for Normal (S5's "Status Example with HA Enabled").
            tail = "" if state == "Normal" else f" Reason: {reason}"
            lines.append(f"Node {n} Name : {node} State: {word}{tail}")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    (HERE / "status.txt").write_text(transcript(early=False))
    (HERE / "status-early.txt").write_text(transcript(early=True))
