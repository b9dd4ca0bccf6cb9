"""`hasm generate` and `hasm mutants`: write a conformance suite of a spec, and measure how
many mutants of the spec it tells apart."""

from __future__ import annotations

import argparse
from pathlib import Path

from hasm.cli.common import (
    EXIT_FALSE,
    EXIT_OK,
    add_params,
    add_spec,
    add_time_limit,
    deadline_of,
    output_of,
    overrides,
    progress_of,
    spec_of,
)
from hasm.suite.files import check_out, read_suite, write_suite
from hasm.suite.generate import TimeLimitReached, generate
from hasm.suite.mutants import run_mutants

__all__ = ["cmd_generate", "cmd_mutants", "register"]


def cmd_generate(args: argparse.Namespace) -> int:
    spec = spec_of(args)
    check_out(args.out)
    # Progress on stderr for a person at a terminal (or -v): the work takes tens of seconds.
    progress = progress_of(args)
    try:
        suite = generate(
            spec,
            overrides(args),
            progress=progress.show if progress else None,
            deadline=deadline_of(args),
        )
    except TimeLimitReached as exc:
        # A suite cut short covers an arbitrary part of the spec: nothing is written.
        if progress is not None:
            progress.clear()
        shown = output_of(args)
        print(
            shown.bad(f"incomplete: time limit {args.time_limit:g} s reached")
            + f" before the suite was complete ({exc}); nothing written to {args.out}"
        )
        return EXIT_FALSE
    if progress is not None:
        progress.clear()
    write_suite(suite, args.out)
    index = suite.index()
    negative = sum(1 for c in suite.cases if c.verdict != "conforms")
    print(
        f"{args.out}: {len(suite.cases)} cases ({negative} negative), index {args.out}/index.json"
    )
    for kind, cover in index["coverage"].items():
        print(f"  {kind:<10} {cover['covered']:>4} of {cover['targets']:>4} covered")
    return EXIT_OK


def cmd_mutants(args: argparse.Namespace) -> int:
    spec = spec_of(args)
    cases = read_suite(args.suite)
    progress = progress_of(args)
    report = run_mutants(
        spec,
        cases,
        jobs=args.jobs,
        only=args.only or (),
        progress=progress.show if progress else None,
        deadline=deadline_of(args),
        limit=args.time_limit,
    )
    if progress is not None:
        progress.clear()
    print(report.text())
    if not report.complete:
        # A rate of the mutants run so far says nothing of the suite: never a pass.
        print(
            output_of(args).bad(
                f"incomplete: time limit {args.time_limit:g} s reached; the kill rate is partial"
            )
        )
        return EXIT_FALSE
    if args.min_rate is not None and report.rate < args.min_rate / 100:
        shown = output_of(args)
        below = shown.bad(f"kill rate {report.rate:.1%} is below")
        print(f"{below} --min-rate {args.min_rate:g}%")
        return EXIT_FALSE
    return EXIT_OK


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a percentage, got {text!r}") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"a percentage is between 0 and 100, not {text}")
    return value


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    gen = sub.add_parser(
        "generate",
        help="write a conformance suite: trace files covering every transition, condition, "
        "state pair, timer boundary and admin action, with an index",
    )
    add_spec(gen)
    add_params(gen)
    gen.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="directory to write the suite to"
    )
    add_time_limit(gen, "nothing is written, and it says how far it got")
    gen.set_defaults(run=cmd_generate)

    mut = sub.add_parser(
        "mutants",
        help="run a suite against mutants of the spec; report the kill rate and the survivors",
    )
    add_spec(mut)
    mut.add_argument(
        "--suite", type=Path, required=True, metavar="DIR", help="a suite written by hasm generate"
    )
    mut.add_argument(
        "-j", "--jobs", type=int, default=0, metavar="N", help="worker processes (0: one per core)"
    )
    mut.add_argument(
        "--only",
        action="append",
        metavar="PATTERN",
        help="run only the mutants whose id matches PATTERN (shell-style; without a wildcard, "
        "ids that contain it); repeatable",
    )
    mut.add_argument(
        "--min-rate",
        type=_rate,
        default=None,
        metavar="PERCENT",
        help="exit 1 if fewer than PERCENT of the non-equivalent mutants are killed",
    )
    add_time_limit(mut, "start no more mutants; report the partial score, labelled so")
    mut.set_defaults(run=cmd_mutants)
