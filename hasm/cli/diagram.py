"""`hasm diagram`: the spec's node and pair machines, their overview and focused views, as SVG,
PNG, DOT or Mermaid files."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from hasm.cli.common import EXIT_OK, add_spec, spec_of, write_whole
from hasm.errors import InputError, Problem
from hasm.review.diagram import (
    FORMATS,
    diagrams,
    node_machine,
    overview,
    pair_machine_of,
)
from hasm.review.diagram_views import check_names, from_view, pair_view, trigger_view, view_stem

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


VIEWS = ("all", "full", "overview")


def cmd_diagram(args: argparse.Namespace) -> int:
    spec = spec_of(args)
    states, triggers, pairs = args.from_ or [], args.trigger or [], args.pair or []
    check_names(spec, states, triggers, pairs)
    _check_out(args.out)
    formats = args.format or ["svg"]
    # Without a view option: the full machines and the overview; a focused view alone writes
    # only itself unless --view asks for more.
    view = args.view or ("all" if not (states or triggers or pairs) else None)
    # The node-state drawings come first: a missing `dot` is reported before the exploration
    # the pair machine needs. Everything is rendered before anything is written.
    files: dict[str, bytes] = {}
    if view in ("all", "overview"):
        files.update(diagrams({"overview": overview(spec)}, formats))
    if view in ("all", "full"):
        files.update(diagrams({"node": node_machine(spec)}, formats))
    for state in states:
        files.update(diagrams({view_stem("from", state): from_view(spec, state)}, formats))
    for trigger in triggers:
        files.update(
            diagrams({view_stem("trigger", trigger): trigger_view(spec, trigger)}, formats)
        )
    if view in ("all", "full") or pairs:
        explored = pair_machine_of(spec)
        if view in ("all", "full"):
            files.update(diagrams({"pair": explored}, formats))
        for row in pairs:
            files.update(
                diagrams({view_stem("pair", row): pair_view(spec, explored, row)}, formats)
            )
    _write_all(args.out, files)
    if args.report == "json":
        written = [str(args.out / name) for name in sorted(files)]
        print(json.dumps({"files": written}, indent=2))
        return EXIT_OK
    for name in sorted(files):
        print(args.out / name)
    return EXIT_OK


def _drawing_format(text: str) -> str:
    """A drawing's file format. `json` is not one: the report of the files written is
    (`--report json`), which someone used to `--format json` elsewhere is told."""
    if text in FORMATS:
        return text
    hint = "; for a JSON report of the files written, use --report json" if text == "json" else ""
    raise argparse.ArgumentTypeError(
        f"invalid choice: {text!r} (choose from {', '.join(FORMATS)}){hint}"
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    diagram = sub.add_parser(
        "diagram",
        help="draw the spec's node state machine, its reachable state pairs, an overview and "
        "focused views",
    )
    add_spec(diagram)
    diagram.add_argument(
        "--format",
        type=_drawing_format,
        action="append",
        metavar="{" + ",".join(FORMATS) + "}",
        help="svg (default), png, dot or mermaid (a Markdown file); repeat for several",
    )
    diagram.add_argument(
        "--report",
        choices=("text", "json"),
        default="text",
        help="how the files written are listed: one a line (text), or JSON",
    )
    diagram.add_argument(
        "--out",
        type=Path,
        default=Path(),
        metavar="DIR",
        help="directory for the files (default: the current one)",
    )
    diagram.add_argument(
        "--view",
        choices=VIEWS,
        help="overview (overview.*), full (node-machine.*, pair-machine.*) or all, the default "
        "when no focused view is asked for",
    )
    diagram.add_argument(
        "--from",
        dest="from_",
        action="append",
        metavar="STATE",
        help="a state and everything one step away (from-STATE.*); repeat for several",
    )
    diagram.add_argument(
        "--trigger",
        action="append",
        metavar="EVENT_OR_TIMER",
        help="every effect of one event or timer (trigger-NAME.*); repeat for several",
    )
    diagram.add_argument(
        "--pair",
        action="append",
        metavar="PN",
        help="a documented state pair and its neighbours (pair-PN.*); repeat for several",
    )
    diagram.set_defaults(run=cmd_diagram)
