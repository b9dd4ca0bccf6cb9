"""The `hasm` command: argument parsing, exit codes, and errors as one located line each."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from hasm.errors import HasmError, InputError
from hasm.loader import load_spec
from hasm.model import Spec

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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hasm",
        description="An executable specification of Cisco IM and Presence High Availability.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    validate = sub.add_parser("validate", help="load a spec and report every problem in it")
    _add_spec(validate)
    validate.set_defaults(run=cmd_validate)
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
