"""`hasm verify`: explore the spec's zone graph exhaustively (dense time), check every invariant,
and write the shortest counterexample of each violation as a trace in format v1."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hasm.cli.common import (
    EXIT_FALSE,
    EXIT_OK,
    add_params,
    add_spec,
    atomic_output,
    overrides,
    spec_of,
)
from hasm.core.search import MAX_FAULTS
from hasm.errors import InputError, Problem
from hasm.explorer.explore import Exploration, Variant, VariantResult, explore
from hasm.spec.model import Spec

__all__ = ["cmd_verify", "register", "summary"]


def _services(text: str) -> frozenset[str]:
    return frozenset(s.strip() for s in text.split(",") if s.strip())


def _check_services(spec: Spec, services: frozenset[str] | None) -> None:
    if services is None:
        return
    unknown = sorted(services - set(spec.services))
    if unknown or not services:
        raise InputError(
            Problem(
                "--monitored",
                None,
                "",
                f"unknown service(s): {', '.join(unknown)}" if unknown else "no service named",
                f"use ids of the spec's services: {', '.join(spec.services)}",
            )
        )


def _count(n: float) -> str:
    return f"{n:,.0f}"


def _pair_words(spec: Spec, pair: tuple[str, str]) -> str:
    return f"{spec.states[pair[0]].label} / {spec.states[pair[1]].label}"


def summary(spec: Spec, result: Exploration) -> list[str]:
    """The report's lines, counts first; only the `time:` line depends on the machine."""
    lines = []
    for i, r in enumerate(result.variants, 1):
        verdict = (
            "ok"
            if not r.violations
            else "VIOLATED " + ", ".join(c.violation.invariant for c in r.violations)
        )
        if r.within is not None:
            lines.append(
                f"variant {i} ({r.variant.label}): within variant {r.within + 1}, not explored "
                f"again - every run of it is a run of variant {r.within + 1} (it stops no "
                f"service that one monitors otherwise): {verdict}"
            )
            continue
        if r.same_as is not None:
            flipped = [
                k
                for k, v in r.variant.params.items()
                if v != result.variants[r.same_as].variant.params[k]
            ]
            lines.append(
                f"variant {i} ({r.variant.label}): the same exploration as variant "
                f"{r.same_as + 1} ({', '.join(flipped)} never read there): {verdict}"
            )
            continue
        lines.append(
            f"variant {i} ({r.variant.label}): {_count(r.states)} states "
            f"({_count(r.zones)} zones), {_count(r.transitions)} transitions, depth {r.depth}: "
            f"{verdict}"
        )
    lines.append(
        f"total: {_count(result.states)} distinct states ({_count(result.zones)} zones), "
        f"{_count(result.transitions)} transitions, depth {result.depth}, "
        f"{len(result.variants)} variant(s) "
        f"({sum(r.same_as is None and r.within is None for r in result.variants)} explored)"
    )
    lines.append(
        f"time: {result.seconds:.2f} s, {_count(result.states_per_second)} states/s, "
        f"{_count(result.zones / result.seconds if result.seconds > 0 else 0)} zones/s"
    )
    unordered = sorted({tuple(sorted(p)) for p in result.pairs})
    lines.append(f"state pairs reached ({len(unordered)}, either way round):")
    lines += [f"  {_pair_words(spec, (a, b))}" for a, b in unordered]
    documented = sorted(result.documented, key=lambda p: int(p[1:]))
    missed = [p for p in spec.state_pairs if p not in result.documented]
    lines.append(f"documented pairs reached: {', '.join(documented) or 'none'}")
    if missed:
        lines.append(f"documented pairs not reached within this bound: {', '.join(missed)}")
    unfired = [t.id for t in spec.transitions if t.id not in result.rules]
    lines.append(
        f"transitions fired: {len(spec.transitions) - len(unfired)} of {len(spec.transitions)}"
    )
    if unfired:
        lines.append(f"transitions not fired within this bound: {', '.join(unfired)}")
    lines.append(
        f"invariants checked: {len(spec.invariants)} ({', '.join(i.id for i in spec.invariants)})"
    )
    return lines


def _progress_line(variant: Variant, states: int, transitions: int, depth: int) -> None:
    print(
        f"\r{variant.label[:60]}: {_count(states)} states, {_count(transitions)} transitions, "
        f"depth {depth}\x1b[K",
        end="",
        file=sys.stderr,
        flush=True,
    )


def _done_line(result: VariantResult) -> None:
    print(
        f"\rexplored {result.variant.label}: {_count(result.states)} states, "
        f"{_count(result.zones)} zones\x1b[K",
        file=sys.stderr,
        flush=True,
    )


def cmd_verify(args: argparse.Namespace) -> int:
    spec = spec_of(args)
    _check_services(spec, args.monitored)
    out_dir: Path = args.out
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(Problem(str(out_dir), None, "--out", "is not a directory"))
    tty = sys.stderr.isatty()
    result = explore(
        spec,
        overrides(args),
        monitored=args.monitored,
        max_faults=args.faults,
        first=args.first,
        jobs=args.jobs,
        progress=_progress_line if tty else None,
        done=_done_line if tty else None,
    )
    for line in summary(spec, result):
        print(line)
    if result.ok:
        print("verified: every invariant holds in every variant")
        return EXIT_OK
    out_dir.mkdir(parents=True, exist_ok=True)
    for i, r in enumerate(result.variants, 1):
        for found in r.violations:
            path = out_dir / f"counterexample-{i}-{found.violation.invariant}.jsonl"
            with atomic_output(path) as out:
                assert out is not None
                out.write(found.trace)
            print(f"variant {i}: {found.violation}")
            print(
                f"  shortest counterexample: {len(found.steps)} step(s), "
                f"{found.trace.count(chr(10))} lines: {path}"
            )
            print(f"  replay: hasm check {path}")
    return EXIT_FALSE


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    verify = sub.add_parser(
        "verify",
        help="explore the spec exhaustively, check every invariant; write counterexamples",
    )
    add_spec(verify)
    add_params(verify)
    verify.add_argument(
        "--monitored",
        type=_services,
        default=None,
        metavar="S1,S2",
        help="fix the monitored services (default: explore the sets that change behaviour)",
    )
    verify.add_argument(
        "--faults",
        type=_faults,
        default=MAX_FAULTS,
        metavar="K",
        help=f"faults that may hold at once (default {MAX_FAULTS}); runs are of any length",
    )
    verify.add_argument(
        "--first",
        action="store_true",
        help="end each variant's search at its first invariant broken (default: name them all)",
    )
    verify.add_argument(
        "--out",
        type=Path,
        default=Path(),
        metavar="DIR",
        help="where counterexample traces go (default: the current directory)",
    )
    verify.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=0,
        metavar="N",
        help="explore variants in N processes (default 0: one per core)",
    )
    verify.set_defaults(run=cmd_verify)


def _faults(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value
