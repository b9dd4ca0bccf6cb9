"""What a suite is: its cases, what they cover, its index, and the names and margins every case
shares.

Negative cases are marked in the index, never in the trace (trace format v1's header has fixed
keys): `expect` is `{"verdict": "diverges", "line": N}` for them and `{"verdict": "conforms"}`
otherwise, with `tolerance` where the file must be checked with `--tolerance`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hasm.spec.model import ParamValue
from hasm.trace.records import param_value

__all__ = [
    "EPSILON",
    "NODE_NAMES",
    "SUITE_VERSION",
    "TOLERANCE",
    "USER_NAMES",
    "Case",
    "Suite",
]

SUITE_VERSION = 1  # the index's format (`hasm_suite`)
NODE_NAMES = ("node0", "node1")
USER_NAMES = ("user0", "user1")  # one user homed on each node: users of a home are alike
EPSILON = 0.001  # "just before" / "just after" a boundary, and the step after a deadline
TOLERANCE = 1.0  # the suite's tolerance cases: a timing bound widened by this many seconds


@dataclass(frozen=True)
class Case:
    """One file of a suite: what it covers, its trace, and the verdict `hasm check` must give
    (with `tolerance` where it is to be checked with `--tolerance`)."""

    name: str  # the file name
    title: str
    covers: tuple[str, ...]  # coverage items, e.g. "transition:manual_failover"
    text: str
    verdict: str  # "conforms", "diverges", or "input_error" (a header the spec refuses)
    line: int | None = None  # the divergent line of a negative case
    tolerance: float = 0.0
    # False where the file claims one timing among those the spec allows (a timer fired at the
    # very opening of its window, unfired at its close): `hasm check` must accept it, but an
    # implementation that chose another allowed timing rightly shows otherwise.
    replay: bool = True

    def expect(self) -> dict[str, Any]:
        out: dict[str, Any] = {"verdict": self.verdict}
        if self.line is not None:
            out["line"] = self.line
        return out


@dataclass(frozen=True)
class Suite:
    """A generated conformance suite: its cases and what they cover (and do not)."""

    spec_id: str
    params: Mapping[str, ParamValue]  # the overrides asked for
    cases: tuple[Case, ...]
    targets: Mapping[str, tuple[str, ...]]  # kind -> every target of that kind
    uncovered: Mapping[str, str]  # coverage item -> why no case covers it

    def index(self) -> dict[str, Any]:
        """The index file's content."""
        covered: dict[str, list[str]] = {}
        for case in self.cases:
            for item in case.covers:
                covered.setdefault(item, []).append(case.name)
        coverage: dict[str, Any] = {}
        for kind, items in self.targets.items():
            keys = [f"{kind}:{i}" for i in items]
            done = [k for k in keys if k in covered]
            coverage[kind] = {
                "targets": len(keys),
                "covered": len(done),
                "uncovered": {k: self.uncovered[k] for k in keys if k not in covered},
            }
        return {
            "hasm_suite": SUITE_VERSION,
            "spec": self.spec_id,
            "params": {k: param_value(v) for k, v in self.params.items()},
            "epsilon": EPSILON,
            "tolerance": TOLERANCE,
            "how": "replay each file's events at their times and compare each observation (a "
            "case with `replay: false` claims one timing among those the spec allows: an "
            "implementation may rightly differ from it); or run `hasm check FILE` (with "
            "`--tolerance T` where a case gives one): its verdict must be `expect` (a negative "
            "case diverges at `expect.line`)",
            "coverage": coverage,
            "cases": [
                {
                    "file": c.name,
                    "title": c.title,
                    "covers": list(c.covers),
                    "expect": c.expect(),
                    **({"tolerance": c.tolerance} if c.tolerance else {}),
                    **({} if c.replay else {"replay": False}),
                }
                for c in self.cases
            ],
            "covered_by": dict(sorted(covered.items())),
        }
