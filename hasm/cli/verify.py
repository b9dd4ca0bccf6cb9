"""`hasm verify`: explore the spec's zone graph exhaustively (dense time), check every invariant,
and write the shortest counterexample of each violation as a trace in format v1."""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

from hasm.cli.common import (
    EXIT_FALSE,
    EXIT_OK,
    Output,
    Progress,
    add_params,
    add_spec,
    add_time_limit,
    atomic_output,
    deadline_of,
    output_of,
    overrides,
    progress_of,
    spec_of,
)
from hasm.core.search import MAX_FAULTS
from hasm.errors import InputError, Problem
from hasm.explorer.explore import explore
from hasm.explorer.results import Exploration, Variant, VariantResult
from hasm.oracle.junit import Case, junit_report
from hasm.spec.model import Spec

__all__ = ["cmd_verify", "register", "summary", "verify_json", "verify_junit"]


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


def summary(spec: Spec, result: Exploration, shown: Output | None = None) -> list[str]:
    """The report's lines, counts first; only the `time:` line depends on the machine."""
    shown = shown or Output()
    lines = []
    for i, r in enumerate(result.variants, 1):
        verdict = (
            shown.good("ok")
            if not r.violations
            else shown.bad("VIOLATED")
            + " "
            + ", ".join(c.violation.invariant for c in r.violations)
        )
        if not r.complete:
            verdict = "incomplete, not verified" if not r.violations else f"incomplete, {verdict}"
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
    # Not reached "within this bound" is a fact of a complete search; of a search cut short by
    # its time limit, only of how far it went.
    bound = "within this bound" if result.complete else "before the time limit"
    lines.append(f"documented pairs reached: {', '.join(documented) or 'none'}")
    if missed:
        lines.append(f"documented pairs not reached {bound}: {', '.join(missed)}")
    unfired = [t.id for t in spec.transitions if t.id not in result.rules]
    lines.append(
        f"transitions fired: {len(spec.transitions) - len(unfired)} of {len(spec.transitions)}"
    )
    if unfired:
        lines.append(f"transitions not fired {bound}: {', '.join(unfired)}")
    lines.append(
        f"invariants checked: {len(spec.invariants)} ({', '.join(i.id for i in spec.invariants)})"
    )
    return lines


class _Watch:
    """The search's progress on stderr: the variant, its states, and the rate since it began
    (states per second), and a line for each variant done."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.variant: Variant | None = None
        self.began = time.monotonic()

    def step(self, variant: Variant, states: int, transitions: int, depth: int) -> None:
        if variant is not self.variant:
            self.variant, self.began = variant, time.monotonic()
        spent = time.monotonic() - self.began
        rate = f", {_count(states / spent)} states/s" if spent > 0 else ""
        self.progress.show(
            f"{variant.label[:60]}: {_count(states)} states, {_count(transitions)} "
            f"transitions, depth {depth}{rate}"
        )

    def done(self, result: VariantResult) -> None:
        self.variant = None
        self.progress.say(
            f"explored {result.variant.label}: {_count(result.states)} states, "
            f"{_count(result.zones)} zones"
        )


def _counterexample_path(out_dir: Path, i: int, invariant: str) -> Path:
    return out_dir / f"counterexample-{i}-{invariant}.jsonl"


def _incomplete(result: Exploration, limit: float) -> str:
    return (
        f"incomplete: time limit {limit:g} s reached after {_count(result.states)} states; "
        "nothing is verified"
    )


def cmd_verify(args: argparse.Namespace) -> int:
    spec = spec_of(args)
    _check_services(spec, args.monitored)
    out_dir: Path = args.out
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(Problem(str(out_dir), None, "--out", "is not a directory"))
    if args.junit is not None:
        _check_writable(args.junit)
    shown = output_of(args)
    progress = progress_of(args)
    watch = _Watch(progress) if progress is not None else None
    limit: float | None = args.time_limit
    result = explore(
        spec,
        overrides(args),
        monitored=args.monitored,
        max_faults=args.faults,
        first=args.first,
        jobs=args.jobs,
        progress=watch.step if watch is not None else None,
        done=watch.done if watch is not None else None,
        deadline=deadline_of(args),
    )
    if progress is not None:
        progress.clear()
    # Every counterexample is a real run, found or not before a time limit: each is written.
    if result.violations:
        out_dir.mkdir(parents=True, exist_ok=True)
    for i, r in enumerate(result.variants, 1):
        for found in r.violations:
            with atomic_output(_counterexample_path(out_dir, i, found.violation.invariant)) as out:
                assert out is not None
                out.write(found.trace)
    if args.junit is not None:
        with atomic_output(args.junit) as out:
            assert out is not None
            out.write(verify_junit(spec, result, out_dir))
    if args.format == "json":
        print(json.dumps(verify_json(spec, result, out_dir, limit), indent=2, sort_keys=True))
    else:
        for line in summary(spec, result, shown):
            print(line)
        if result.ok and result.complete:
            print(f"{shown.good('verified')}: every invariant holds in every variant")
        for i, r in enumerate(result.variants, 1):
            for found in r.violations:
                path = _counterexample_path(out_dir, i, found.violation.invariant)
                print(f"variant {i}: {found.violation}")
                print(
                    f"  shortest counterexample: {len(found.steps)} step(s), "
                    f"{found.trace.count(chr(10))} lines: {path}"
                )
                print(f"  replay: hasm check {path}")
        if not result.complete:
            assert limit is not None
            print(shown.bad(_incomplete(result, limit)))
    return EXIT_OK if result.ok and result.complete else EXIT_FALSE


def _check_writable(path: Path) -> None:
    """Refuse a report file that cannot be written before the search, not after it."""
    place = path.parent if str(path.parent) else Path()
    if path.is_dir() or not place.is_dir():
        why = "is a directory" if path.is_dir() else "its directory does not exist"
        raise InputError(Problem(str(path), None, "--junit", why))


# -- machine-readable reports ------------------------------------------------------------------------
def _verdicts(spec: Spec, r: VariantResult) -> dict[str, str]:
    """Each invariant's verdict in one variant: violated (a counterexample is written), holds,
    or unknown (the search ended at the time limit without finding it broken)."""
    broken = {c.violation.invariant for c in r.violations}
    return {
        i.id: "violated" if i.id in broken else "holds" if r.complete else "unknown"
        for i in spec.invariants
    }


def verify_json(
    spec: Spec, result: Exploration, out_dir: Path, limit: float | None = None
) -> dict[str, Any]:
    """The report as JSON: per variant its counts, each invariant's verdict, the state pairs
    reached and the counterexamples written; the totals. No wall time: the same spec and
    options give the same bytes."""
    variants = []
    for i, r in enumerate(result.variants, 1):
        entry: dict[str, Any] = {
            "variant": i,
            "label": r.variant.label,
            "params": dict(r.variant.params),
            "monitored": sorted(r.variant.monitored),
            "complete": r.complete,
            "invariants": _verdicts(spec, r),
            "counterexamples": [
                {
                    "invariant": c.violation.invariant,
                    "violation": str(c.violation),
                    "steps": len(c.steps),
                    "lines": c.trace.count("\n"),
                    "file": str(_counterexample_path(out_dir, i, c.violation.invariant)),
                }
                for c in r.violations
            ],
        }
        if r.within is not None:
            entry["within"] = r.within + 1
        elif r.same_as is not None:
            entry["same_as"] = r.same_as + 1
        else:
            entry |= {
                "states": r.states,
                "zones": r.zones,
                "transitions": r.transitions,
                "depth": r.depth,
                "pairs": sorted(list(p) for p in {tuple(sorted(p)) for p in r.pairs}),
            }
        variants.append(entry)
    unfired = [t.id for t in spec.transitions if t.id not in result.rules]
    doc: dict[str, Any] = {
        "spec": spec.id,
        "verified": result.ok and result.complete,
        "complete": result.complete,
        "variants": variants,
        "total": {
            "states": result.states,
            "zones": result.zones,
            "transitions": result.transitions,
            "depth": result.depth,
            "variants": len(result.variants),
            "explored": sum(r.same_as is None and r.within is None for r in result.variants),
        },
        "pairs": sorted(list(p) for p in {tuple(sorted(p)) for p in result.pairs}),
        "documented_pairs": {
            "reached": sorted(result.documented, key=lambda p: int(p[1:])),
            "not_reached": [p for p in spec.state_pairs if p not in result.documented],
        },
        "transitions_fired": len(spec.transitions) - len(unfired),
        "transitions_not_fired": unfired,
        "invariants": [i.id for i in spec.invariants],
    }
    if not result.complete:
        doc["incomplete"] = _incomplete(result, limit if limit is not None else math.nan)
    return doc


def verify_junit(spec: Spec, result: Exploration, out_dir: Path) -> str:
    """JUnit XML: each invariant of each variant a test case; violated fails (with the
    counterexample's file), unknown at a time limit is skipped."""
    cases = []
    for i, r in enumerate(result.variants, 1):
        found = {c.violation.invariant: c for c in r.violations}
        for invariant, verdict in _verdicts(spec, r).items():
            name = f"variant {i} ({r.variant.label}): {invariant}"
            if verdict == "violated":
                c = found[invariant]
                path = _counterexample_path(out_dir, i, invariant)
                text = (
                    f"{c.violation}\nshortest counterexample: {len(c.steps)} step(s): {path}\n"
                    f"replay: hasm check {path}"
                )
                cases.append(Case("hasm.verify", name, "failure", str(c.violation), text))
            elif verdict == "unknown":
                message = "not decided: the search ended at its time limit"
                cases.append(Case("hasm.verify", name, "skipped", message))
            else:
                cases.append(Case("hasm.verify", name))
    return junit_report("hasm verify", cases)


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
    add_time_limit(verify, "the search ends with a partial result, labelled incomplete")
    verify.add_argument("--format", choices=("text", "json"), default="text", help="report format")
    verify.add_argument(
        "--junit",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write a JUnit XML report: each invariant of each variant a test case",
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
