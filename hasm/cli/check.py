"""`hasm check`: traces in format v1 against the spec, with text, JSON and JUnit reports."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hasm.cli.common import add_spec, add_tolerance, atomic_output, spec_of
from hasm.errors import InputError, Problem
from hasm.oracle.files import check_files, exit_code, junit_xml
from hasm.review.timeline_svg import to_svg, trace_timeline

__all__ = ["cmd_check", "register"]


def cmd_check(args: argparse.Namespace) -> int:
    spec = spec_of(args)
    if args.timeline is not None and len(args.traces) != 1:
        why = f"draws one trace, not {len(args.traces)}"
        raise InputError(Problem(str(args.timeline), None, "--timeline", why))
    verdicts = check_files(spec, args.traces, args.tolerance, args.jobs)
    if args.format == "json":
        print(json.dumps([v.to_json() for v in verdicts], indent=2))
    else:
        for v in verdicts:
            if v.status == "conforms":
                print(f"{v.file}: conforms ({v.records} records)")
            elif v.divergence is not None:
                print(v.divergence)
                for line in v.story:
                    print(line)
            for problem in v.problems:
                print(f"hasm: {problem}", file=sys.stderr)
    for v in verdicts:
        for warning in v.warnings:
            print(f"hasm: warning: {warning}", file=sys.stderr)
    if args.junit is not None:
        with atomic_output(args.junit) as out:
            assert out is not None
            out.write(junit_xml(verdicts))
    if args.timeline is not None and verdicts[0].status != "input_error":
        timeline = trace_timeline(spec, args.traces[0], verdicts[0].divergence, args.tolerance)
        with atomic_output(args.timeline) as out:
            assert out is not None
            out.write(to_svg(timeline))
    return exit_code(verdicts)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = sub.add_parser(
        "check", help="check traces in format v1 against the spec; report the first divergence"
    )
    check.add_argument(
        "traces", nargs="+", type=Path, metavar="TRACE", help="trace files (JSON Lines)"
    )
    add_spec(check, positional=False)
    add_tolerance(check)
    check.add_argument("--format", choices=("text", "json"), default="text", help="report format")
    check.add_argument(
        "--junit", type=Path, default=None, metavar="FILE", help="also write a JUnit XML report"
    )
    check.add_argument(
        "--timeline",
        type=Path,
        default=None,
        metavar="FILE.svg",
        help="draw the (one) trace as an SVG timeline, its divergence marked",
    )
    check.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="check N files at once (0: one per core)",
    )
    check.set_defaults(run=cmd_check)
