"""`hasm explorer`: one self-contained HTML page to click through failover on the virtual clock,
or to scrub through a checked trace (hasm.page)."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from hasm.cli.common import (
    EXIT_OK,
    add_params,
    add_spec,
    add_tolerance,
    atomic_output,
    overrides,
    spec_of,
)
from hasm.core.model import Model
from hasm.errors import InputError, Problem
from hasm.page.data import MAX_RECORDS
from hasm.page.graph import Bounds
from hasm.page.pages import explorer_page, trace_page
from hasm.spec.params import resolve_params

__all__ = ["cmd_explorer", "register"]

_DEFAULT = Bounds()
_NODES = "IMPPub.example.net,IMPSub.example.net"  # the names the packaged scenarios use


def cmd_explorer(args: argparse.Namespace) -> int:
    spec = spec_of(args)
    if args.trace is not None:
        _refuse(args, ("param", "nodes", "initial", "users", "faults", "max_states"), "--trace")
        records = MAX_RECORDS if args.max_records is None else args.max_records
        html = trace_page(spec, args.trace, args.tolerance, records)
    else:
        _refuse(args, ("max_records",), "no --trace")
        if args.tolerance:
            why = "widens a trace's timing bounds: it needs --trace"
            raise InputError(Problem("<command line>", None, "--tolerance", why))
        nodes = _nodes(args.nodes or _NODES)
        params = resolve_params(spec, overrides(args), file="<command line>", path="--param")
        bounds = Bounds(
            _DEFAULT.users if args.users is None else args.users,
            _DEFAULT.max_states if args.max_states is None else args.max_states,
            _DEFAULT.max_faults if args.faults is None else args.faults,
            args.initial or _DEFAULT.initial,
        )
        html = explorer_page(Model(spec, params), nodes, bounds, _command(args, bounds))
    with atomic_output(args.output) as out:  # all the work done before anything is written
        (out or sys.stdout).write(html)
    return EXIT_OK


def _refuse(args: argparse.Namespace, names: tuple[str, ...], mode: str) -> None:
    """Options that mean nothing in this mode are usage errors, not silently ignored."""
    given = [n for n in names if getattr(args, n) is not None]
    if given:
        option = "--" + given[0].replace("_", "-")
        why = f"means nothing with {mode}"
        raise InputError(Problem("<command line>", None, option, why, f"drop {option}"))


def _nodes(text: str) -> tuple[str, str]:
    names = [n.strip() for n in text.split(",")]
    if len(names) != 2 or not all(names) or names[0] == names[1]:
        why = f"a group has two distinct node names, not {text!r}"
        raise InputError(Problem("<command line>", None, "--nodes", why, "e.g. --nodes pub,sub"))
    return names[0], names[1]


def _command(args: argparse.Namespace, bounds: Bounds) -> str:
    """The command that makes this page with twice the state bound: where the page ends."""
    given = args.spec_file if args.spec_file is not None else args.spec
    words = ["hasm", "explorer", *([str(given)] if given is not None else [])]
    words += [f"--param={n}={v}" for n, v in (args.param or [])]
    if args.nodes is not None:
        words += ["--nodes", args.nodes]
    words += ["--initial", bounds.initial, "--users", str(bounds.users)]
    words += ["--faults", str(bounds.max_faults), "--max-states", str(2 * bounds.max_states)]
    words += ["-o", str(args.output) if args.output is not None else "explorer.html"]
    return shlex.join(words)


def _count(least: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"expected at least {least}, got {value}")
        return value

    return parse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    page = sub.add_parser(
        "explorer",
        help="write one self-contained HTML page to click through failover, or scrub a trace",
    )
    add_spec(page)
    page.add_argument(
        "--trace",
        type=Path,
        default=None,
        metavar="FILE",
        help="embed this trace (format v1), checked as hasm check does, to scrub through; "
        "the explorer's options then mean nothing",
    )
    page.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        metavar="FILE.html",
        help="write the page here (default: standard output)",
    )
    add_params(page)
    add_tolerance(page)
    page.add_argument(
        "--nodes", default=None, metavar="N1,N2", help=f"the two nodes' names (default {_NODES})"
    )
    page.add_argument(
        "--initial",
        default=None,
        metavar="POINT",
        help=f"the spec's starting point (default {_DEFAULT.initial})",
    )
    page.add_argument(
        "--users",
        type=_count(0),
        default=None,
        metavar="N",
        help=f"users homed on each node, signed in at the start (default {_DEFAULT.users})",
    )
    page.add_argument(
        "--faults",
        type=_count(0),
        default=None,
        metavar="K",
        help=f"faults at once at most, as in hasm verify (default {_DEFAULT.max_faults})",
    )
    page.add_argument(
        "--max-states",
        type=_count(1),
        default=None,
        metavar="N",
        help=f"configurations embedded at most, the nearest the start (default {_DEFAULT.max_states})",
    )
    page.add_argument(
        "--max-records",
        type=_count(1),
        default=None,
        metavar="N",
        help=f"with --trace: records embedded at most, and the divergent one (default {MAX_RECORDS})",
    )
    page.set_defaults(run=cmd_explorer)
