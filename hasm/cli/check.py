"""`hasm check`: traces in format v1 against the spec, with text, JSON and JUnit reports.

A TRACE is a file, a directory (every `*.jsonl` under it) or `-`, standard input, judged as
its records arrive."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from hasm.cli.common import add_spec, add_tolerance, atomic_output, output_of, spec_of
from hasm.errors import InputError, Problem
from hasm.oracle.files import check_files, exit_code, junit_xml
from hasm.review.timeline_svg import to_svg, trace_timeline

__all__ = ["STDIN", "cmd_check", "refuse_unexpanded", "register", "trace_sources"]

STDIN = "<stdin>"  # the name reports give standard input
_PATTERN = frozenset("*?[")


def trace_sources(given: Sequence[Path]) -> list[Path | BinaryIO]:
    """The traces to check, in order: each file as given, each directory's `*.jsonl` files
    (recursively, sorted), and `-` as standard input. A pattern the shell did not expand, a
    directory with no trace, or `-` twice is a usage problem (InputError)."""
    out: list[Path | BinaryIO] = []
    stdin = False
    for path in given:
        text = str(path)
        if text == "-":
            if stdin:
                raise InputError(
                    Problem("TRACE '-'", None, "", "standard input is given twice; it is read once")
                )
            stdin = True
            out.append(sys.stdin.buffer)
        elif path.is_dir():
            found = sorted(p for p in path.rglob("*.jsonl") if p.is_file())
            if not found:
                raise InputError(
                    Problem(f"TRACE '{text}'", None, "", "the directory holds no *.jsonl file")
                )
            out += found
        else:
            refuse_unexpanded(
                path,
                "name the files, or their directory: hasm check DIR/ checks every *.jsonl under it",
            )
            out.append(path)
    return out


def refuse_unexpanded(path: Path, fix: str) -> None:
    """A TRACE that is a pattern the shell did not expand (no file matched it, or it was
    quoted) is named as such (InputError), rather than as a file that is not there."""
    text = str(path)
    if _PATTERN & set(text) and not path.exists():
        raise InputError(
            Problem(
                f"TRACE '{text}'",
                None,
                "",
                "no such file; the shell did not expand the pattern (no file matched it, "
                "or it was quoted)",
                fix,
            )
        )


def cmd_check(args: argparse.Namespace) -> int:
    spec = spec_of(args)
    sources = trace_sources(args.traces)
    if args.timeline is not None and (len(sources) != 1 or not isinstance(sources[0], Path)):
        why = (
            f"draws one trace, not {len(sources)}"
            if len(sources) != 1
            else "draws a trace file, not standard input (it reads the trace again)"
        )
        raise InputError(Problem(str(args.timeline), None, "--timeline", why))
    verdicts = check_files(spec, sources, args.tolerance, args.jobs)
    shown = output_of(args)
    if args.format == "json":
        print(json.dumps([v.to_json() for v in verdicts], indent=2))
    else:
        for v in verdicts:
            if v.status == "conforms":
                print(f"{v.file}: {shown.good('conforms')} ({v.records} records)")
            elif v.divergence is not None:
                print(_painted(str(v.divergence), shown.bad("does not conform")))
                for line in v.story:
                    print(line)
            for problem in v.problems:
                print(f"hasm: {problem}", file=sys.stderr)
    for v in verdicts:
        for warning in v.warnings:
            print(f"hasm: {shown.warn('warning')}: {warning}", file=sys.stderr)
    if args.junit is not None:
        with atomic_output(args.junit) as out:
            assert out is not None
            out.write(junit_xml(verdicts))
    if args.timeline is not None and verdicts[0].status != "input_error":
        assert isinstance(sources[0], Path)
        timeline = trace_timeline(spec, sources[0], verdicts[0].divergence, args.tolerance)
        with atomic_output(args.timeline) as out:
            assert out is not None
            out.write(to_svg(timeline))
    return exit_code(verdicts)


def _painted(report: str, word: str) -> str:
    """The divergence report with its verdict words coloured (the first time they appear)."""
    return report.replace("does not conform", word, 1)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = sub.add_parser(
        "check", help="check traces in format v1 against the spec; report the first divergence"
    )
    check.add_argument(
        "traces",
        nargs="+",
        type=Path,
        metavar="TRACE",
        help="trace files (JSON Lines), directories (every *.jsonl under them) or - (stdin)",
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
