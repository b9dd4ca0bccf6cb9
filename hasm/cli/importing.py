"""`hasm import`: what real IM and Presence clusters print, as a hasm trace (hasm.adapters).

The trace is written only when the import finished (no half-written file); each line the
import could not read is printed to stderr, located, and counted; `--strict` makes any of them
an input error (exit 2) and writes nothing.
"""

from __future__ import annotations

import argparse
import sys
from datetime import tzinfo
from pathlib import Path

from hasm.adapters import FORMATS, Options, import_files
from hasm.adapters.base import plural
from hasm.adapters.times import BadTime, parse_tz
from hasm.cli.common import EXIT_OK, add_params, add_spec, atomic_output, overrides, spec_of

__all__ = ["cmd_import", "register"]


def cmd_import(args: argparse.Namespace) -> int:
    options = Options(
        tz=args.tz[0],
        tz_given=args.tz[1],
        group=args.group,
        year=args.year,
        node=args.node,
        patterns=args.patterns,
    )
    result = import_files(
        args.format,
        args.files,
        nodes=args.nodes,
        params=overrides(args),
        hidden_faults=args.hidden_faults,
        strict=args.strict,
        options=options,
        spec=spec_of(args),
    )
    with atomic_output(args.output) as out:
        assert out is not None  # a path was given
        result.write(out)
    for said in result.said:
        print(f"hasm: {said}", file=sys.stderr)
    for bad in result.unreadable:
        print(f"hasm: {bad}", file=sys.stderr)
    for note in result.notes:
        print(f"hasm: {note}", file=sys.stderr)
    print(
        f"hasm: {args.output}: {plural(len(result.records), 'record')} from "
        f"{plural(len(args.files), 'file')}; {plural(len(result.unreadable), 'unreadable line')}"
        f"; {plural(len(result.notes), 'line')} read, not used",
        file=sys.stderr,
    )
    return EXIT_OK


def _nodes(text: str) -> tuple[str, str]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
        raise argparse.ArgumentTypeError(f"two distinct node names N1,N2, not {text!r}")
    return parts[0], parts[1]


def _tz(text: str) -> tuple[tzinfo, bool]:
    try:
        return parse_tz(text), True
    except BadTime as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number >= 0, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a whole number >= 0, not {text!r}")
    return value


def _year(text: str) -> int:
    value = _count(text)
    if not 1970 <= value <= 9999:
        raise argparse.ArgumentTypeError(f"a year like 2021, not {text!r}")
    return value


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    imp = sub.add_parser(
        "import",
        help="turn what a real cluster printed (CLI, RTMT, PerfMon, syslog, SRM log) into a trace",
    )
    imp.add_argument("format", choices=tuple(FORMATS), metavar="FORMAT", help=", ".join(FORMATS))
    imp.add_argument("files", nargs="+", metavar="FILE", help="the files to read, in order")
    imp.add_argument(
        "-o", "--output", type=Path, required=True, metavar="TRACE", help="the trace to write"
    )
    imp.add_argument(
        "--nodes",
        type=_nodes,
        default=None,
        metavar="N1,N2",
        help="the group's nodes, the first node first (needed when the input names one)",
    )
    imp.add_argument("--group", default=None, metavar="NAME", help="ha-status: the subcluster")
    add_params(imp)
    add_spec(imp, positional=False)
    imp.add_argument(
        "--hidden-faults",
        type=_count,
        default=1,
        metavar="K",
        help="at most K unseen faults between readings (default 1)",
    )
    imp.add_argument(
        "--strict", action="store_true", help="any unreadable line is an input error (exit 2)"
    )
    imp.add_argument(
        "--tz",
        type=_tz,
        default=(parse_tz("UTC"), False),
        metavar="ZONE",
        help="the zone of times printed without one: UTC (default), +05:30, Europe/Paris",
    )
    imp.add_argument(
        "--year", type=_year, default=None, help="syslog: the year of year-less prefixes"
    )
    imp.add_argument("--node", default=None, help="srm-log: the node whose log it is")
    imp.add_argument(
        "--patterns",
        type=Path,
        default=None,
        metavar="FILE",
        help="srm-log: the pattern table (JSON or YAML; default: the packaged one)",
    )
    imp.set_defaults(run=cmd_import)
