"""The `hasm` command: argument parsing, exit codes, and errors as one located line each."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from hasm.check import check_files, exit_code, junit_xml
from hasm.config import Config
from hasm.errors import HasmError, InputError, Problem
from hasm.loader import load_spec
from hasm.model import ParamValue, Spec
from hasm.runner import Run, run_scenario, scenario_model
from hasm.scenario import Scenario, load_scenario, packaged_scenarios
from hasm.semantics import node_views
from hasm.simulate import Record
from hasm.timeline import TimelineWriter
from hasm.trace import TraceWriter

EXIT_OK, EXIT_FALSE, EXIT_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors with exit 2 (input error) and never a traceback."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_INPUT, f"hasm: error: {message}\n")


def _add_spec(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--spec",
        type=Path,
        default=None,
        help="spec file (default: the packaged canonical spec, specs/imp-ha.yaml)",
    )


def _spec(args: argparse.Namespace) -> Spec:
    return load_spec(args.spec)


def cmd_validate(args: argparse.Namespace) -> int:
    spec = _spec(args)
    print(
        f"{spec.path}: ok - {len(spec.states)} states, {len(spec.reasons)} reasons, "
        f"{len(spec.parameters)} parameters, {len(spec.timers)} timers, "
        f"{len(spec.transitions)} transitions, {len(spec.invariants)} invariants, "
        f"{len(spec.assumptions)} assumptions"
    )
    return EXIT_OK


def _param(text: str) -> tuple[str, ParamValue]:
    """`name=value` from the command line; booleans are true/false, the rest seconds."""
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected name=value, got {text!r}")
    lowered = raw.strip().lower()
    if lowered in ("true", "false"):
        return name.strip(), lowered == "true"
    try:
        return name.strip(), float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{name}: expected a number or true/false, got {raw!r}"
        ) from None


def _overrides(args: argparse.Namespace) -> dict[str, ParamValue]:
    return dict(args.param or [])


@contextmanager
def _atomic_output(path: Path | None) -> Iterator[TextIO | None]:
    """A file that appears only when the work finished: nothing half-written on an error."""
    if path is None:
        yield None
        return
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise InputError(
            Problem(str(path), None, "", f"cannot write here: {exc.strerror}")
        ) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yield handle
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _play(spec: Spec, scenario: Scenario, args: argparse.Namespace, trace: TextIO | None) -> Run:
    """Run one scenario, printing its timeline as it goes and writing the trace if asked."""
    model = scenario_model(spec, scenario, _overrides(args))
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

    def on_start(config: Config) -> None:
        if recorder is not None:
            recorder.start(config)
        if not args.quiet:
            for line in writer.header(scenario.title, node_views(model, config), detail):
                print(line)

    def on_record(record: Record) -> None:
        if recorder is not None:
            recorder.record(record)
        if not args.quiet:
            for line in writer.feed(record):
                print(line)

    run = run_scenario(
        spec, scenario, args.seed, _overrides(args), on_record, on_start, keep_records=False
    )
    if not args.quiet:
        for line in writer.close():
            print(line)
        print()
    print(f"{scenario.name}: state pairs passed: {', '.join(run.pairs) or 'none'}")
    if run.failures:
        for failure in run.failures:
            print(f"{scenario.name}: expectation NOT met: {failure}")
    else:
        print(f"{scenario.name}: expectations met")
    return run


def cmd_simulate(args: argparse.Namespace) -> int:
    spec = _spec(args)
    scenario = load_scenario(args.scenario, spec)
    with _atomic_output(args.trace) as trace:
        run = _play(spec, scenario, args, trace)
    return EXIT_FALSE if run.failures else EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    spec = _spec(args)
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
    return EXIT_FALSE if any(run.failures for _, run in results) else EXIT_OK


def _tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(
            f"a tolerance is a finite number of seconds >= 0, not {text}"
        )
    return value


def cmd_check(args: argparse.Namespace) -> int:
    spec = _spec(args)
    spec_path = str(args.spec) if args.spec is not None else None
    verdicts = check_files(spec, args.traces, args.tolerance, args.jobs, spec_path)
    if args.format == "json":
        print(json.dumps([v.to_json() for v in verdicts], indent=2))
    else:
        for v in verdicts:
            if v.status == "conforms":
                print(f"{v.file}: conforms ({v.records} records)")
            elif v.divergence is not None:
                print(v.divergence)
            for problem in v.problems:
                print(f"hasm: {problem}", file=sys.stderr)
    if args.junit is not None:
        with _atomic_output(args.junit) as out:
            assert out is not None
            out.write(junit_xml(verdicts))
    return exit_code(verdicts)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hasm",
        description="An executable specification of Cisco IM and Presence High Availability.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    validate = sub.add_parser("validate", help="load a spec and report every problem in it")
    _add_spec(validate)
    validate.set_defaults(run=cmd_validate)

    def run_options(p: argparse.ArgumentParser) -> None:
        _add_spec(p)
        p.add_argument("--seed", type=int, default=0, help="seed of the run's choices (default 0)")
        p.add_argument(
            "--param",
            type=_param,
            action="append",
            metavar="NAME=VALUE",
            help="override a spec parameter (repeatable), e.g. keep_alive_timeout_s=90",
        )
        p.add_argument(
            "--quiet", action="store_true", help="print only the summary, not the timeline"
        )

    simulate = sub.add_parser(
        "simulate", help="play a scenario on the virtual clock; print its timeline"
    )
    simulate.add_argument("scenario", type=Path, help="scenario file (see specs/scenarios/)")
    run_options(simulate)
    simulate.add_argument(
        "--trace", type=Path, default=None, help="write the run as a trace in format v1"
    )
    simulate.set_defaults(run=cmd_simulate)

    check = sub.add_parser(
        "check", help="check traces in format v1 against the spec; report the first divergence"
    )
    check.add_argument(
        "traces", nargs="+", type=Path, metavar="TRACE", help="trace files (JSON Lines)"
    )
    _add_spec(check)
    check.add_argument(
        "--tolerance",
        type=_tolerance,
        default=0.0,
        metavar="S",
        help="widen every timing bound by S seconds, for traces from real clocks",
    )
    check.add_argument("--format", choices=("text", "json"), default="text", help="report format")
    check.add_argument(
        "--junit", type=Path, default=None, metavar="FILE", help="also write a JUnit XML report"
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

    demo = sub.add_parser(
        "demo", help="play every packaged scenario of the seed and show its timeline"
    )
    run_options(demo)
    demo.set_defaults(run=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `hasm`; return the exit code (0 ok, 1 false, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except InputError as exc:
        for problem in exc.problems:
            print(f"hasm: {problem}", file=sys.stderr)
        return EXIT_INPUT
    except HasmError as exc:
        print(f"hasm: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
