"""JUnit XML, the report CI servers read: the one writer of `check`, `verify` and `lint --junit`.

It lives beside the trace files' verdicts, whose report it was first; the CLI's other reports
use it from above. A test case passes, fails (the property does not hold), errs (bad input) or
is skipped (not decided, or accepted on purpose)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from xml.sax.saxutils import escape, quoteattr

__all__ = ["Case", "junit_report"]

Outcome = Literal["passed", "failure", "error", "skipped"]


@dataclass(frozen=True, slots=True)
class Case:
    """One test case: its class and name, its outcome, and for any but a pass a one-line
    message and (for a failure or an error) the full text."""

    classname: str
    name: str
    outcome: Outcome = "passed"
    message: str = ""
    text: str = ""


def junit_report(suite: str, cases: Sequence[Case]) -> str:
    """The cases as one JUnit XML test suite, in their order. The suite counts skipped cases
    only when there are some, so a report with none reads as it always has."""
    failures = sum(1 for c in cases if c.outcome == "failure")
    errors = sum(1 for c in cases if c.outcome == "error")
    skipped = sum(1 for c in cases if c.outcome == "skipped")
    counted = f' skipped="{skipped}"' if skipped else ""
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<testsuite name={quoteattr(suite)} tests="{len(cases)}" '
        f'failures="{failures}" errors="{errors}"{counted}>',
    ]
    for case in cases:
        lines.append(
            f"  <testcase classname={quoteattr(case.classname)} name={quoteattr(case.name)}>"
        )
        if case.outcome == "skipped":
            lines.append(f"    <skipped message={quoteattr(case.message)}/>")
        elif case.outcome != "passed":
            lines.append(
                f"    <{case.outcome} message={quoteattr(case.message)}>"
                f"{escape(case.text)}</{case.outcome}>"
            )
        lines.append("  </testcase>")
    lines.append("</testsuite>")
    return "\n".join(lines) + "\n"
