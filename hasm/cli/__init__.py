"""The `hasm` command: one subcommand per module in this package, exit codes 0 ok, 1 false,
2 bad input, and every input error as one located line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from hasm.cli import about, check, diagram, explain, importing, page, review, run, suite, verify
from hasm.cli.common import EXIT_FALSE, EXIT_INPUT, EXIT_OK, Parser, check_usage
from hasm.errors import HasmError, InputError

__all__ = ["EXIT_FALSE", "EXIT_INPUT", "EXIT_OK", "build_parser", "main"]

# Each module adds its subcommands with `register(sub)`; their order is the order of `hasm -h`.
COMMANDS = (run, importing, check, explain, verify, suite, diagram, page, review, about)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="hasm",
        description="An executable specification of Cisco IM and Presence High Availability.",
    )
    parser.add_argument("--version", action="version", version=f"hasm {about.hasm_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `hasm`; return the exit code (0 ok, 1 false, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    check_usage(args)
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
