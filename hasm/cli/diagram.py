"""`hasm diagram`: the spec's node and pair machines as SVG, PNG, DOT or Mermaid files."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from hasm.cli.common import EXIT_OK, add_spec, spec_of, write_whole
from hasm.errors import InputError, Problem
from hasm.review.diagram import FORMATS, diagrams, node_machine, pair_machine_of

__all__ = ["cmd_diagram", "register"]


def _check_out(out: Path) -> None:
    """Refuse an --out that cannot become a writable directory, before any work is done."""
    place = out
    while not place.exists() and place != place.parent:
        place = place.parent
    if not place.is_dir():
        why = "cannot create the directory: Not a directory"
    elif not os.access(place, os.W_OK | os.X_OK):
        why = "cannot write here: Permission denied"
    else:
        return
    raise InputError(Problem(str(out), None, "--out", why))


def _write_all(out: Path, files: dict[str, bytes]) -> None:
    """Write every file whole: each appears under its name only once it is complete."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            Problem(str(out), None, "--out", f"cannot create the directory: {exc.strerror}")
        ) from exc
    for name, data in files.items():
        write_whole(out / name, data)


def cmd_diagram(args: argparse.Namespace) -> int:
    spec = spec_of(args)
    _check_out(args.out)
    formats = args.format or ["svg"]
    # The node machine is drawn first: a missing `dot` is reported before the exploration
    # the pair machine needs. Everything is rendered before anything is written.
    files = diagrams({"node": node_machine(spec)}, formats)
    files.update(diagrams({"pair": pair_machine_of(spec)}, formats))
    _write_all(args.out, files)
    for name in sorted(files):
        print(args.out / name)
    return EXIT_OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    diagram = sub.add_parser(
        "diagram", help="draw the spec's node state machine and its reachable state pairs"
    )
    add_spec(diagram)
    diagram.add_argument(
        "--format",
        choices=FORMATS,
        action="append",
        help="svg (default), png, dot or mermaid (a Markdown file); repeat for several",
    )
    diagram.add_argument(
        "--out",
        type=Path,
        default=Path(),
        metavar="DIR",
        help="directory for node-machine.* and pair-machine.* (default: the current one)",
    )
    diagram.set_defaults(run=cmd_diagram)
