"""`make bench`: speed of the simulator and the semantic core, printed as a table.

Benchmarks, not timed tests: they measure and report; the goals are in the issues.
"""

from __future__ import annotations

import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable

from hasm.core.model import Model
from hasm.sim.simulator import Simulator
from hasm.spec.loader import build_spec, canonical_spec_path, load_spec
from hasm.trace.records import Record

PUB, SUB = "IMPPub.example.net", "IMPSub.example.net"


def failover_and_back(model: Model, n_users: int, seed: int = 0) -> tuple[int, int]:
    """A group of n users homed on the publisher: manual failover, every client re-logs in to
    the subscriber, manual fallback, every client re-logs in at home. The records are consumed
    as they come, as the trace writer and the timeline do. Returns (steps, largest cohort count)."""
    users = {f"user{i:05d}": PUB for i in range(n_users)}
    sim = Simulator(model, (PUB, SUB), users, "normal", seed)
    steps = cohorts = 0

    def consume(records: Iterable[Record]) -> None:
        nonlocal steps, cohorts
        for record in records:
            steps += 1
            cohorts = max(cohorts, len(record.step.config.users))

    for t, event in ((100.0, "failover"), (1000.0, "fallback")):
        consume(sim.steps_until(t))
        consume([sim.event(event, node=PUB)])
    consume(sim.steps_until(2000.0))
    assert all(sim.session_of(u) == PUB for u in users), "every user ends at home"
    return steps, cohorts


def best_of(repeats: int, work: Callable[[], object]) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def peak_memory(work: Callable[[], object]) -> float:
    tracemalloc.start()
    work()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main() -> int:
    spec = load_spec()
    model = Model(spec)
    print(f"hasm bench - Python {sys.version.split()[0]}, canonical spec {spec.path}")
    print()
    print(
        f"{'workload':<58} {'best s':>8} {'median s':>9} {'steps':>7} {'steps/s':>9} {'cohorts':>8} {'peak MiB':>9}"
    )
    for n in (4, 1_000, 15_000):
        steps, cohorts = failover_and_back(model, n)
        best, median = best_of(7, lambda n=n: failover_and_back(model, n))
        mem = peak_memory(lambda n=n: failover_and_back(model, n))
        label = f"{n:,} users: failover, all re-logins, fallback, all re-logins"
        print(
            f"{label:<58} {best:>8.3f} {median:>9.3f} {steps:>7} {steps / best:>9,.0f} {cohorts:>8} {mem:>9.1f}"
        )
    print()
    print("goal (issue 2): 15,000 users through failover, all re-logins and fallback in under 1 s")
    path = canonical_spec_path()
    text = path.read_text(encoding="utf-8")
    load = best_of(5, lambda: build_spec(str(path), text))[0]  # anew: load_spec remembers it
    build = best_of(20, lambda: Model(spec))[0]
    print(
        f"load and validate the canonical spec: {load * 1000:.1f} ms; compile it to a model: {build * 1000:.2f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
