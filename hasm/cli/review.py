"""`hasm doc`, `hasm lint` and `hasm diff`: the spec for reviewers - a generated document, static
checks with located findings, and a semantic diff between two versions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hasm.cli.common import EXIT_FALSE, EXIT_OK, add_spec, atomic_output, output_of, spec_of
from hasm.errors import InputError, Problem
from hasm.oracle.junit import Case, junit_report
from hasm.review.diff import diff_specs
from hasm.review.diff import render_json as diff_json
from hasm.review.diff import render_text as diff_text
from hasm.review.doc import render_doc
from hasm.review.lint import CHECKS, LintResult, lint
from hasm.review.lint import render_json as lint_json
from hasm.review.lint import render_text as lint_text
from hasm.sim.scenario import packaged_scenarios
from hasm.spec.loader import load_spec

__all__ = ["cmd_diff", "cmd_doc", "cmd_lint", "register"]


def _scenarios(folder: Path | None) -> list[Path]:
    if folder is None:
        return packaged_scenarios()
    if not folder.is_dir():
        raise InputError(Problem(str(folder), None, "", "not a folder of scenario files"))
    return sorted(folder.glob("*.yaml"))


def cmd_doc(args: argparse.Namespace) -> int:
    spec = spec_of(args)
    text = render_doc(spec, _scenarios(args.scenarios))  # all the work before any output
    with atomic_output(args.output) as out:
        (out or sys.stdout).write(text)
    return EXIT_OK


def cmd_lint(args: argparse.Namespace) -> int:
    result = lint(spec_of(args))
    if args.junit is not None:
        with atomic_output(args.junit) as out:
            assert out is not None
            out.write(lint_junit(result))
    if args.format == "json":
        print(lint_json(result))
    else:
        lines = lint_text(result, accepted=args.accepted)
        # The summary's verdict word, coloured: "clean", or "N finding(s)".
        shown = output_of(args)
        verdict = "clean" if result.clean else f"{len(result.findings)} finding(s)"
        paint = shown.good if result.clean else shown.bad
        lines[-1] = lines[-1].replace(f": {verdict};", f": {paint(verdict)};", 1)
        for line in lines:
            print(line)
    return EXIT_OK if result.clean else EXIT_FALSE


def lint_junit(result: LintResult) -> str:
    """JUnit XML: each finding a test case - one the spec does not accept fails, one it accepts
    is skipped with its reason, a warning passes - and each check that found nothing one case
    that passes, so the report lists every check."""
    cases = [
        Case(f"hasm.lint.{f.check}", f.offender, "failure", f"{f.check}: {f.why}", str(f))
        for f in result.findings
    ]
    cases += [Case(f"hasm.lint.{f.check}", f.offender) for f in result.warnings]
    cases += [Case(f"hasm.lint.{f.check}", f.offender, "skipped", str(f)) for f in result.accepted]
    found = {f.check for f in (*result.findings, *result.warnings, *result.accepted)}
    cases += [Case(f"hasm.lint.{check}", "no finding") for check in CHECKS if check not in found]
    return junit_report("hasm lint", cases)


def cmd_diff(args: argparse.Namespace) -> int:
    problems: list[Problem] = []
    specs = []
    for path in (args.old, args.new):
        try:
            specs.append(load_spec(path))
        except InputError as exc:  # report both files' problems, not only the first file's
            problems += exc.problems
    if problems:
        raise InputError(problems)
    result = diff_specs(specs[0], specs[1], explore_pairs=args.explore)
    old, new = str(args.old), str(args.new)
    if args.format == "json":
        print(diff_json(result, old, new))
    else:
        for line in diff_text(result, old, new):
            print(line)
    return EXIT_OK if result.equal else EXIT_FALSE


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    doc = sub.add_parser("doc", help="write the spec's Markdown review document")
    add_spec(doc)
    doc.add_argument(
        "-o", "--output", type=Path, default=None, help="write to FILE (default: standard output)"
    )
    doc.add_argument(
        "--scenarios",
        type=Path,
        default=None,
        metavar="DIR",
        help="scenarios whose runs give the coverage of the documented pairs "
        "(default: the packaged ones, specs/scenarios/)",
    )
    doc.set_defaults(run=cmd_doc)

    check = sub.add_parser(
        "lint", help="static checks of a spec; exit 1 on a finding the spec does not accept"
    )
    add_spec(check)
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument(
        "--accepted",
        action="store_true",
        help="list the findings the spec accepts too, each with its reason (text format)",
    )
    check.add_argument(
        "--junit",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write a JUnit XML report: each finding a test case",
    )
    check.set_defaults(run=cmd_lint)

    diff = sub.add_parser(
        "diff", help="semantic diff of two specs; exit 0 equal, 1 different, 2 bad input"
    )
    diff.add_argument("old", type=Path, help="the spec before the change")
    diff.add_argument("new", type=Path, help="the spec after the change")
    diff.add_argument("--format", choices=("text", "json"), default="text")
    diff.add_argument(
        "--explore",
        action="store_true",
        help="compare the state pairs the exhaustive explorer reaches (slower) instead of the "
        "statically reachable ones",
    )
    diff.set_defaults(run=cmd_diff)
