"""What every `hasm` subcommand shares: the parser class, exit codes, `--spec`, `--param`,
and output files that appear only when the work finished."""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TextIO, cast

from hasm.errors import InputError, Problem
from hasm.spec.loader import load_spec
from hasm.spec.model import ParamValue, Spec

__all__ = [
    "EXIT_FALSE",
    "EXIT_INPUT",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "Output",
    "Parser",
    "Progress",
    "add_output_options",
    "add_params",
    "add_spec",
    "add_time_limit",
    "add_tolerance",
    "atomic_output",
    "check_usage",
    "deadline_of",
    "output_of",
    "overrides",
    "param",
    "progress_of",
    "seconds",
    "spec_of",
    "tolerance",
    "write_whole",
]

EXIT_OK, EXIT_FALSE, EXIT_INPUT = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command that Ctrl-C ended


class Parser(argparse.ArgumentParser):
    """argparse that reports usage errors with exit 2 (input error) and never a traceback."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_INPUT, f"hasm: error: {message}\n")


def add_spec(parser: argparse.ArgumentParser, *, positional: bool = True) -> None:
    """`--spec FILE`, and, for a command with no positional arguments of its own, the spec as
    its optional positional argument too (`hasm lint specs/imp-ha.yaml`, as ruff and mypy
    take their files)."""
    default = "default: the packaged canonical spec, specs/imp-ha.yaml"
    if positional:
        parser.add_argument(
            "spec_file",
            nargs="?",
            type=Path,
            default=None,
            metavar="SPEC",
            help=f"spec file ({default})",
        )
        parser.set_defaults(spec_parser=parser)
    parser.add_argument(
        "--spec",
        type=Path,
        default=None,
        metavar="FILE",
        help="spec file" + (", the same as SPEC" if positional else f" ({default})"),
    )


def check_usage(args: argparse.Namespace) -> None:
    """Usage errors argparse cannot see alone: the spec given both as SPEC and as --spec."""
    parser = getattr(args, "spec_parser", None)
    if parser is not None and args.spec_file is not None and args.spec is not None:
        parser.error(
            f"the spec is given twice, as SPEC ({args.spec_file}) and as --spec ({args.spec}): "
            "give one"
        )


def spec_of(args: argparse.Namespace) -> Spec:
    given = getattr(args, "spec_file", None)
    return load_spec(given if given is not None else args.spec)


def param(text: str) -> tuple[str, ParamValue]:
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


def overrides(args: argparse.Namespace) -> dict[str, ParamValue]:
    return dict(args.param or [])


def add_params(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--param",
        type=param,
        action="append",
        metavar="NAME=VALUE",
        help="override a spec parameter (repeatable), e.g. keep_alive_timeout_s=90",
    )


@contextmanager
def atomic_output(path: Path | None) -> Iterator[TextIO | None]:
    """A text file that appears only when the work finished: nothing half-written on an
    error. With no path, nothing is written (the caller writes nowhere)."""
    if path is None:
        yield None
        return
    with _whole(path, "w") as handle:
        yield cast(TextIO, handle)


def write_whole(path: Path, data: bytes) -> None:
    """`data` as the file `path`, which appears only once it is complete."""
    with _whole(path, "wb") as handle:
        handle.write(data)


@contextmanager
def _whole(path: Path, mode: str) -> Iterator[IO[Any]]:
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise InputError(
            Problem(str(path), None, "", f"cannot write here: {exc.strerror}")
        ) from exc
    try:
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def add_tolerance(parser: argparse.ArgumentParser) -> None:
    """`--tolerance S`, for the commands that read traces from real clocks."""
    parser.add_argument(
        "--tolerance",
        type=tolerance,
        default=0.0,
        metavar="S",
        help="widen every timing bound by S seconds, for traces from real clocks",
    )


def tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(
            f"a tolerance is a finite number of seconds >= 0, not {text}"
        )
    return value


def add_time_limit(parser: argparse.ArgumentParser, what: str) -> None:
    """`--time-limit S`, spelt and parsed the same on every command that takes it (verify,
    generate, mutants); `what` says what the command does when it is reached."""
    parser.add_argument(
        "--time-limit",
        type=seconds,
        default=None,
        metavar="S",
        help=f"stop after S seconds: {what} (exit 1)",
    )


def seconds(text: str) -> float:
    """A time limit: a finite number of seconds above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(
            f"a time limit is a finite number of seconds > 0, not {text}"
        )
    return value


def deadline_of(args: argparse.Namespace) -> float | None:
    """The `time.monotonic()` moment `--time-limit` ends the work at (None: no limit). The
    monotonic clock is the machine's, so forked workers compare against the same moment."""
    limit: float | None = getattr(args, "time_limit", None)
    return None if limit is None else time.monotonic() + limit


# -- what every subcommand prints around its results: quiet, verbose, colour, progress ----------
def add_output_options(parser: argparse.ArgumentParser) -> None:
    """`-q`, `-v` and `--color`, the same on every subcommand (`hasm.cli.build_parser` adds
    them to each). A subcommand that defines one of these spellings itself keeps its own."""
    taken = set(parser._option_string_actions)

    def add(*names: str, **how: Any) -> None:
        free = [n for n in names if n not in taken]
        if len(free) == len(names):
            parser.add_argument(*free, **how)

    add(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress on stderr; only results (simulate and demo: only the summary)",
    )
    add(
        "-v",
        "--verbose",
        action="store_true",
        help="progress on stderr even when it is not a terminal, a line every few seconds "
        "(for CI logs)",
    )
    add(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the verdict words (auto, the default: on a terminal, unless NO_COLOR is set)",
    )


_GREEN, _RED, _YELLOW = "32", "31", "33"


@dataclass(frozen=True, slots=True)
class Output:
    """How a command prints around its results: colour on stdout and on stderr, quiet,
    verbose. Colour marks verdict words only; the words themselves never change."""

    colour_out: bool = False
    colour_err: bool = False
    quiet: bool = False
    verbose: bool = False

    def good(self, word: str, *, err: bool = False) -> str:
        return self._paint(word, _GREEN, err)

    def bad(self, word: str, *, err: bool = False) -> str:
        return self._paint(word, _RED, err)

    def warn(self, word: str, *, err: bool = True) -> str:
        return self._paint(word, _YELLOW, err)

    def _paint(self, word: str, code: str, err: bool) -> str:
        on = self.colour_err if err else self.colour_out
        return f"\x1b[{code}m{word}\x1b[0m" if on else word


def output_of(args: argparse.Namespace) -> Output:
    """The Output the options ask for; `auto` colours a stream that is a terminal, unless the
    environment sets NO_COLOR (https://no-color.org: present and not empty)."""
    choice = getattr(args, "color", "auto")
    if choice == "auto":
        allowed = not os.environ.get("NO_COLOR")
        out, err = allowed and _tty(sys.stdout), allowed and _tty(sys.stderr)
    else:
        out = err = choice == "always"
    return Output(
        out, err, bool(getattr(args, "quiet", False)), bool(getattr(args, "verbose", False))
    )


def _tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # replaced by a test, or closed
        return False


class Progress:
    """Progress of long work on stderr: on a terminal one line rewritten in place (at most ten
    times a second), elsewhere (with -v) a line every few seconds. Never on stdout, so results
    piped or redirected stay the same."""

    def __init__(self, *, live: bool) -> None:
        self.live = live
        self.every = 0.1 if live else 5.0
        self.last = -math.inf
        self.shown = False

    def show(self, text: str, *, now: bool = False) -> None:
        """Say `text`, unless something was said too recently (`now`: say it anyway)."""
        moment = time.monotonic()
        if not now and moment - self.last < self.every:
            return
        self.last = moment
        if self.live:
            print(f"\r{text}\x1b[K", end="", file=sys.stderr, flush=True)
            self.shown = True
        else:
            print(f"hasm: {text}", file=sys.stderr, flush=True)

    def say(self, text: str) -> None:
        """A line that stays, above the live line."""
        self.clear()
        print(f"hasm: {text}", file=sys.stderr, flush=True)

    def clear(self) -> None:
        if self.shown:
            print("\r\x1b[K", end="", file=sys.stderr, flush=True)
            self.shown = False


def progress_of(args: argparse.Namespace) -> Progress | None:
    """Progress for a person at a terminal, or with -v anywhere; none with -q."""
    if getattr(args, "quiet", False):
        return None
    if _tty(sys.stderr):
        return Progress(live=True)
    return Progress(live=False) if getattr(args, "verbose", False) else None
