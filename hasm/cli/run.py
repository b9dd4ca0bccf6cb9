"""`hasm validate`, `hasm simulate` and `hasm demo`: load a spec, play scenarios on the virtual
clock and print their timelines."""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import TextIO

from hasm.cli.common import (
    EXIT_FALSE,
    EXIT_OK,
    add_params,
    add_spec,
    atomic_output,
    output_of,
    overrides,
    spec_of,
)
from hasm.core.config import Config
from hasm.core.views import node_views
from hasm.errors import ConformanceError, InputError
from hasm.oracle.oracle import Oracle
from hasm.review.timeline import TimelineWriter
from hasm.review.timeline_svg import TimelineRecorder, to_svg
from hasm.sim.runner import Run, run_scenario, scenario_model, scenario_trace
from hasm.sim.scenario import Scenario, load_scenario, packaged_scenarios
from hasm.spec.model import Spec
from hasm.spec.params import broken_advice, resolve_params
from hasm.trace.reader import read_trace
from hasm.trace.records import Record
from hasm.trace.writer import TraceWriter

__all__ = ["cmd_demo", "cmd_simulate", "cmd_validate", "register"]


def cmd_validate(args: argparse.Namespace) -> int:
    shown = output_of(args)
    try:
        spec = spec_of(args)
    except InputError as exc:
        if args.format == "json":  # the verdict on stdout too; the located lines still on stderr
            print(json.dumps(_problems_json(exc), indent=2, sort_keys=True))
        raise
    # The vendor's advice on parameter values: reported, never failing (exit stays 0).
    advice = broken_advice(spec, resolve_params(spec))
    for param, message in advice:
        print(
            f"{spec.path}:{param.line}: parameters.{param.name}: {shown.warn('warning')}: "
            f"{message}",
            file=sys.stderr,
        )
    counts = {
        "states": len(spec.states),
        "reasons": len(spec.reasons),
        "parameters": len(spec.parameters),
        "timers": len(spec.timers),
        "transitions": len(spec.transitions),
        "invariants": len(spec.invariants),
        "assumptions": len(spec.assumptions),
    }
    if args.format == "json":
        doc = {
            "file": str(spec.path),
            "spec": spec.id,
            "valid": True,
            "counts": counts,
            "warnings": [
                {"line": p.line, "field": f"parameters.{p.name}", "message": m} for p, m in advice
            ],
        }
        print(json.dumps(doc, indent=2, sort_keys=True))
        return EXIT_OK
    print(f"{spec.path}: {shown.good('ok')} - " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    return EXIT_OK


def _problems_json(exc: InputError) -> dict[str, object]:
    return {
        "valid": False,
        "problems": [
            {"file": p.file, "line": p.line, "field": p.path, "message": p.message, "fix": p.fix}
            for p in exc.problems
        ],
    }


def _play(
    spec: Spec,
    scenario: Scenario,
    args: argparse.Namespace,
    trace: TextIO | None,
    picture: TextIO | None = None,
) -> Run:
    """Run one scenario, printing its timeline as it goes and writing the trace (and the SVG
    timeline, `picture`) if asked."""
    model = scenario_model(spec, scenario, overrides(args))
    writer = TimelineWriter(model, scenario.nodes)
    homes = ", ".join(
        f"{sum(1 for h in scenario.users.values() if h == n)} homed on {n}" for n in scenario.nodes
    )
    detail = f"{scenario.path} - seed {args.seed}; users: {homes}; start: {scenario.initial}"
    recorder = None
    if trace is not None:
        recorder = TraceWriter(
            trace, model, scenario.nodes, scenario.users, scenario.initial, model.params
        )
    drawing = None
    if picture is not None:
        drawing = TimelineRecorder(model, scenario.nodes, scenario.title, detail)

    def on_start(config: Config) -> None:
        if recorder is not None:
            recorder.start(config)
        if drawing is not None:
            drawing.start(config)
        if not args.quiet:
            for line in writer.header(scenario.title, node_views(model, config), detail):
                print(line)

    def on_record(record: Record) -> None:
        if recorder is not None:
            recorder.record(record)
        if drawing is not None:
            drawing.record(record)
        if not args.quiet:
            for line in writer.feed(record):
                print(line)

    run = run_scenario(
        spec, scenario, args.seed, overrides(args), on_record, on_start, keep_records=False
    )
    if drawing is not None and picture is not None:
        picture.write(to_svg(drawing.finish(scenario.until)))
    if not args.quiet:
        for line in writer.close():
            print(line)
        print()
    print(f"{scenario.name}: state pairs passed: {', '.join(run.pairs) or 'none'}")
    shown = output_of(args)
    if run.failures:
        for failure in run.failures:
            print(f"{scenario.name}: {shown.bad('expectation NOT met')}: {failure}")
    else:
        print(f"{scenario.name}: {shown.good('expectations met')}")
    return run


def cmd_simulate(args: argparse.Namespace) -> int:
    spec = spec_of(args)
    scenario = load_scenario(args.scenario, spec)
    with atomic_output(args.trace) as trace, atomic_output(args.timeline) as picture:
        run = _play(spec, scenario, args, trace, picture)
    return EXIT_FALSE if run.failures else EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    spec = spec_of(args)
    results = []
    for path in packaged_scenarios():
        scenario = load_scenario(path, spec)
        print("=" * 100)
        run = _play(spec, scenario, args, None)
        results.append((scenario, run))
        print()
    print("=" * 100)
    print(f"{'scenario':<44} {'pairs passed':<40} result")
    for scenario, run in results:
        verdict = "ok" if not run.failures else f"{len(run.failures)} expectation(s) not met"
        print(f"{scenario.name:<44} {', '.join(run.pairs):<40} {verdict}")
    print("=" * 100)
    for line in _oracle_demo(spec):
        print(line)
    return EXIT_FALSE if any(run.failures for _, run in results) else EXIT_OK


def _oracle_demo(spec: Spec) -> list[str]:
    """The oracle at work: a story's own trace conforms; the same trace with one observation
    moved half a second before an exactly timed timer could have caused it does not."""
    for path in packaged_scenarios():
        scenario = load_scenario(path, spec)
        exact: set[float] = set()  # when a timer with an exact delay fired

        def note(record: Record, exact: set[float] = exact) -> None:
            fired = record.step.fired
            if fired is not None and fired.earliest == fired.latest:
                exact.add(record.time)

        run_scenario(spec, scenario, 0, None, note, None, keep_records=False)
        text = scenario_trace(spec, scenario, 0)
        lines = text.splitlines()
        for i in range(2, len(lines)):
            record, before = json.loads(lines[i]), json.loads(lines[i - 1])
            if "observe" in record and record["t"] in exact and before["t"] < record["t"] - 0.5:
                early = {**record, "t": record["t"] - 0.5}
                moved = [*lines[:i], json.dumps(early), *lines[i + 1 :]]
                name = f"{scenario.name}.jsonl"
                return [
                    f"The oracle: hasm check on {name}, the trace of {scenario.name} (seed 0)",
                    _verdict(spec, text, name),
                    f"and on the same trace with line {i + 1} (t={record['t']:g}) moved to "
                    f"t={early['t']:g}, half a second before its timer fires:",
                    _verdict(spec, "\n".join(moved) + "\n", name),
                ]
    return []


def _verdict(spec: Spec, text: str, name: str) -> str:
    header, records = read_trace(io.StringIO(text), spec, name=name)
    oracle = Oracle.from_header(spec, header)
    count = 0
    try:
        for record in records:
            oracle.record(record)
            count += 1
    except ConformanceError as exc:
        return str(exc.divergence)
    return f"{name}: conforms ({count} records)"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    validate = sub.add_parser("validate", help="load a spec and report every problem in it")
    add_spec(validate)
    validate.add_argument(
        "--format", choices=("text", "json"), default="text", help="report format"
    )
    validate.set_defaults(run=cmd_validate)

    def run_options(p: argparse.ArgumentParser, *, spec_positional: bool) -> None:
        add_spec(p, positional=spec_positional)
        p.add_argument("--seed", type=int, default=0, help="seed of the run's choices (default 0)")
        add_params(p)
        # -q/--quiet (every subcommand's) prints only the summary, not the timeline.

    simulate = sub.add_parser(
        "simulate", help="play a scenario on the virtual clock; print its timeline"
    )
    simulate.add_argument("scenario", type=Path, help="scenario file (see specs/scenarios/)")
    run_options(simulate, spec_positional=False)
    simulate.add_argument(
        "--trace", type=Path, default=None, help="write the run as a trace in format v1"
    )
    simulate.add_argument(
        "--timeline",
        type=Path,
        default=None,
        metavar="FILE.svg",
        help="draw the run as an SVG timeline: node states, events, timers, active users",
    )
    simulate.set_defaults(run=cmd_simulate)

    demo = sub.add_parser(
        "demo", help="play every packaged scenario of the seed and show its timeline"
    )
    run_options(demo, spec_positional=True)
    demo.set_defaults(run=cmd_demo)
