"""`make bench`: the exhaustive exploration of `hasm verify` - every parameter variant of the
canonical spec, runs of any length over dense time with one fault at a time, on two processes -
timed, with distinct (discrete) states, zones (symbolic states) and states per second.

A benchmark, not a timed test: it measures and reports; the goal (issue 4) is the full
exploration in under 10 s on the project's 2-core machine.
"""

from __future__ import annotations

import statistics
import sys
import time

from hasm.explorer.explore import MAX_FAULTS, explore
from hasm.spec.loader import load_spec

GOAL_S = 10.0


def main(argv: list[str]) -> int:
    rounds = int(argv[1]) if len(argv) > 1 else 3
    jobs = int(argv[2]) if len(argv) > 2 else 2
    spec = load_spec()
    times = []
    result = None
    for _ in range(rounds):
        began = time.perf_counter()
        result = explore(spec, jobs=jobs)
        times.append(time.perf_counter() - began)
        assert result.ok, "the canonical spec must verify"
    assert result is not None
    best, median = min(times), statistics.median(times)
    print(
        f"hasm verify (canonical spec, {len(result.variants)} variants, "
        f"runs of any length with at most {MAX_FAULTS} fault(s) at once, {jobs} process(es), "
        f"best of {rounds})"
    )
    print(
        f"{'best':>8} {'median':>8} {'states':>9} {'zones':>9} {'transitions':>12} {'depth':>6} "
        f"{'states/s':>9}"
    )
    print(
        f"{best:7.2f}s {median:7.2f}s {result.states:>9,} {result.zones:>9,} "
        f"{result.transitions:>12,} {result.depth:>6} {result.states / best:>9,.0f}"
    )
    for r in result.variants:
        if r.same_as is not None:
            print(f"  {r.variant.label}: the same exploration as variant {r.same_as + 1}")
        elif r.within is not None:
            print(f"  {r.variant.label}: within variant {r.within + 1} (its runs are that one's)")
        else:
            print(
                f"  {r.variant.label}: {r.states:,} states, {r.zones:,} zones, "
                f"{r.seconds:.2f} s in its process"
            )
    verdict = "meets" if best < GOAL_S else "does NOT meet"
    print(f"goal: under {GOAL_S:g} s for every variant; best {best:.2f} s {verdict} it")
    # Two faults at once: every documented pair and transition is in reach; one run, minutes.
    began = time.perf_counter()
    double = explore(spec, max_faults=2, jobs=jobs)
    seconds = time.perf_counter() - began
    print(
        f"hasm verify --faults 2 (one run): {double.states:,} states, {double.zones:,} zones, "
        f"{double.transitions:,} transitions, depth {double.depth}, {seconds:.1f} s, "
        f"{double.states / seconds:,.0f} states/s; {len(double.documented)} of "
        f"{len(spec.state_pairs)} documented pairs, {len(double.rules)} of "
        f"{len(spec.transitions)} transitions; "
        + ("verified" if double.ok else f"{len(double.violations)} violation(s)")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
