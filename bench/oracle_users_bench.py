"""`make bench`, part 3: what the number of users costs `hasm check`.

A manual failover and fallback of N users homed on the publisher, every client re-logging in
twice, written by the simulator with an observation every N/10 re-logins (and at every state
change): once with the nodes' counters, once with only the states, reasons and three users'
sessions - a monitoring tool that scrapes less. Goal (issue 3): 15,000 users cost little more
than 4.
"""

from __future__ import annotations

import io
import sys
import time

from hasm.core.model import Model
from hasm.oracle.oracle import Oracle
from hasm.sim.simulator import Simulator
from hasm.spec.loader import load_spec
from hasm.spec.model import Spec
from hasm.trace.reader import read_trace
from hasm.trace.writer import PollingTraceWriter

PUB, SUB = "IMPPub.example.net", "IMPSub.example.net"


def trace(spec: Spec, users: int, counters: bool) -> str:
    model = Model(spec)
    homes = {f"user{i:05d}": PUB for i in range(users)}
    sim = Simulator(model, (PUB, SUB), homes, "normal", seed=0)
    out = io.StringIO()
    keep = sorted(homes)[:: max(1, users // 3)]
    writer = PollingTraceWriter(
        out,
        model,
        (PUB, SUB),
        homes,
        "normal",
        model.params,
        every=max(1, users // 10),
        watched=keep,
        counters=counters,
    )
    writer.start(sim.config)
    for t, event in ((100.0, "failover"), (1000.0, "fallback")):
        for record in sim.steps_until(t):
            writer.record(record)
        writer.record(sim.event(event, node=PUB))
    for record in sim.steps_until(2000.0):
        writer.record(record)
    return out.getvalue()


def check(spec: Spec, text: str) -> tuple[int, int, float]:
    """(records, most candidates after a record, seconds)."""
    header, records = read_trace(io.StringIO(text), spec)
    oracle = Oracle.from_header(spec, header)
    count = most = 0
    start = time.perf_counter()
    for record in records:
        oracle.record(record)
        most = max(most, len(oracle.candidates))
        count += 1
    return count, most, time.perf_counter() - start


def main() -> int:
    spec = load_spec()
    print(f"{'hasm check: users':<44} {'records':>8} {'candidates':>11} {'seconds':>9}")
    for counters in (True, False):
        seen = "counters" if counters else "states + 3 sessions only"
        for users in (4, 1_000, 15_000):
            text = trace(spec, users, counters)
            records, most, seconds = min((check(spec, text) for _ in range(3)), key=lambda r: r[2])
            print(f"{f'{users:,} users, {seen}':<44} {records:>8} {most:>11} {seconds:>9.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
