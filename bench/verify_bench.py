"""`make bench`: the exhaustive exploration of `hasm verify` - every parameter variant of the
canonical spec, runs of any length over dense time with one fault at a time, on two processes -
timed, with distinct (discrete) states, zones (symbolic states) and states per second.

A benchmark, not a timed test: it measures and reports; the goal (issue 4) is the full
exploration in under 10 s on the project's 2-core machine.

HASM_BASELINE=/path/to/checkout adds a comparison: both explorations, timed in fresh processes
of this checkout and of that one (its own .venv/bin/python, its own `hasm`), interleaved, with
new / baseline. Fresh processes on both sides, so neither gains from a warm parent; the figures
above it stay the in-process ones they always were.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from check_bench import baseline_checkout  # bench/ is this script's own directory

from hasm.core.search import MAX_FAULTS
from hasm.explorer.explore import explore
from hasm.spec.loader import load_spec

GOAL_S = 10.0
ROOT = Path(__file__).resolve().parent.parent

# One exploration through the package's public API, the clock around `explore` alone: the same
# code for this checkout and a baseline one, whose bench/ may differ.
EXPLORE = (
    "import json, sys, time; sys.path.insert(0, sys.argv[1]); import hasm; "
    "spec = hasm.load_spec(); t = time.perf_counter(); "
    "r = hasm.explore(spec, max_faults=int(sys.argv[2]), jobs=int(sys.argv[3])); "
    "s = time.perf_counter() - t; assert r.ok, 'the canonical spec must verify'; "
    "print(json.dumps([s, r.states, r.transitions]))"
)


def explore_in(root: Path, faults: int, jobs: int) -> tuple[float, int, int]:
    """(seconds, states, transitions) of one exploration in a fresh process of checkout `root`."""
    python = str(root / ".venv" / "bin" / "python")
    argv = [python, "-c", EXPLORE, str(root), str(faults), str(jobs)]
    out = subprocess.run(argv, cwd=root, capture_output=True, text=True, check=True)
    seconds, states, transitions = json.loads(out.stdout)
    return float(seconds), int(states), int(transitions)


def compare(baseline: Path, rounds: int, jobs: int) -> None:
    """Both explorations, this checkout and the baseline in turn (the baseline first in every
    other round, so neither gains from the machine's drift); medians side by side."""
    print(f"new vs baseline {baseline} (fresh processes, interleaved, {jobs} process(es))")
    print(
        f"{'--faults':>8} {'runs':>5} {'new s':>8} {'base s':>8} {'new/base':>9} "
        f"{'new states':>11} {'base states':>12}"
    )
    for faults, runs in ((1, rounds), (2, 1)):
        times: dict[Path, list[float]] = {ROOT: [], baseline: []}
        states: dict[Path, int] = {}
        for i in range(runs):
            order = (ROOT, baseline) if i % 2 == 0 else (baseline, ROOT)
            for root in order:
                seconds, states[root], _ = explore_in(root, faults, jobs)
                times[root].append(seconds)
        new, base = statistics.median(times[ROOT]), statistics.median(times[baseline])
        print(
            f"{faults:>8} {runs:>5} {new:>7.2f}s {base:>7.2f}s {new / base:>9.2f} "
            f"{states[ROOT]:>11,} {states[baseline]:>12,}"
        )


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
    baseline = baseline_checkout()
    if baseline is not None:
        compare(baseline, rounds, jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
