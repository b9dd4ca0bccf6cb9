"""`make bench`, part 5: the mutation kill rate of the canonical spec's generated suite.

Generates the conformance suite (`hasm generate`), runs it against every mutant of the
canonical spec (`hasm mutants`, 2 processes) and prints the kill rate beside the goal of
issue 6 (95% of the non-equivalent mutants). It takes minutes on two cores, which is why it is
a measurement here rather than a test.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from hasm.spec.loader import load_spec
from hasm.suite.files import read_suite, write_suite
from hasm.suite.generate import generate
from hasm.suite.mutants import run_mutants

GOAL = 0.95


def main() -> int:
    spec = load_spec()
    began = time.perf_counter()
    suite = generate(spec)
    generated = time.perf_counter() - began
    with tempfile.TemporaryDirectory() as tmp:
        write_suite(suite, Path(tmp) / "suite")
        cases = read_suite(Path(tmp) / "suite")
        began = time.perf_counter()
        report = run_mutants(spec, cases, jobs=2)
        seconds = time.perf_counter() - began
    print(f"hasm generate (canonical spec): {len(suite.cases)} cases in {generated:.1f} s")
    print(
        f"hasm mutants: {len(report.results)} mutants, {len(report.equivalent)} equivalent, "
        f"{len(report.undecided)} undecided, {report.counted} counted, "
        f"kill rate {report.rate:.1%} in {seconds:.0f} s on 2 processes"
    )
    verdict = "meets it" if report.rate >= GOAL else "does NOT meet it"
    print(f"goal (issue 6): kill at least {GOAL:.0%} of the non-equivalent mutants: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
