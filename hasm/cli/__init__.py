"""The `hasm` command: one subcommand per module in this package, exit codes 0 ok, 1 false,
2 bad input, and every input error as one located line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from hasm.cli import about, check, diagram, explain, importing, page, review, run, suite, verify
from hasm.cli.common import (
    EXIT_FALSE,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Parser,
    add_output_options,
    check_usage,
)
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
    # -q, -v and --color mean the same on every subcommand: defined once, added to each.
    for subparser in {id(p): p for p in sub.choices.values()}.values():
        add_output_options(subparser)
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
    except KeyboardInterrupt:
        # Ctrl-C: one line, no traceback; files are written whole, so none is half there.
        clear = "\r\x1b[K" if sys.stderr.isatty() else ""
        print(f"{clear}hasm: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
