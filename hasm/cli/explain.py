"""`hasm explain`: the story of a trace - the fewest hidden events that explain its records, each
with its window, as a timeline in words (or JSON), and the SVG timeline with them drawn dashed."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hasm.cli.check import STDIN, refuse_unexpanded
from hasm.cli.common import (
    EXIT_FALSE,
    EXIT_OK,
    add_spec,
    add_tolerance,
    atomic_output,
    spec_of,
)
from hasm.errors import InputError, Problem
from hasm.oracle.files import Told, tell_file
from hasm.oracle.telling import (
    Grouped,
    at,
    explanation_lines,
    grouped,
    inferred_json,
    summary,
    window,
)
from hasm.review.timeline_svg import to_svg, trace_timeline
from hasm.spec.model import Spec
from hasm.trace.records import TraceEvent, TraceHeader, TraceObservation, TraceRecord

__all__ = ["cmd_explain", "register", "story_lines"]


def cmd_explain(args: argparse.Namespace) -> int:
    spec = spec_of(args)
    stdin = str(args.trace) == "-"
    if stdin and args.timeline is not None:
        # The timeline reads the trace a second time, which standard input cannot give.
        raise InputError(
            Problem(
                str(args.timeline),
                None,
                "--timeline",
                "draws a trace file, not standard input (it reads the trace again)",
                "save the trace to a file and name it",
            )
        )
    if stdin:
        told = tell_file(spec, sys.stdin.buffer, args.tolerance, name=STDIN)
    else:
        refuse_unexpanded(args.trace, "name one trace file: hasm explain tells one trace")
        told = tell_file(spec, args.trace, args.tolerance)
    if args.format == "json":
        print(json.dumps(story_json(spec, told), indent=2))
    else:
        for line in story_lines(spec, told):
            print(line)
    if args.timeline is not None:
        first = told.story.explanations[0] if told.story.explanations else ()
        timeline = trace_timeline(spec, args.trace, told.divergence, args.tolerance, first)
        with atomic_output(args.timeline) as out:
            assert out is not None
            out.write(to_svg(timeline))
    return EXIT_OK if told.divergence is None else EXIT_FALSE


# -- words ----------------------------------------------------------------------------------------
def story_lines(spec: Spec, told: Told) -> list[str]:
    """The story as text: the verdict, the explanations (grouped where they differ only in the
    service), then the trace's changes and the inferred events in time order."""
    header, story = told.header, told.story
    conforms = told.divergence is None
    verdict = "conforms" if conforms else "does not conform"
    out = [f"{header.file}: {verdict} ({len(told.records)} records); {summary(story, conforms)}"]
    out += explanation_lines(spec, header, story)
    groups = grouped(story.explanations)
    out.append("")
    out += _timeline(spec, header, told.records, groups[0] if groups else ())
    if told.divergence is not None:
        out += ["", str(told.divergence)]
    return out


def _timeline(
    spec: Spec, header: TraceHeader, records: Sequence[TraceRecord], inferred: Grouped
) -> list[str]:
    """The records that change what was seen (a poll that repeats the last one is counted, not
    shown) and the inferred events, in time order."""
    rows: list[tuple[float, int, str]] = []
    last: object = None
    same, until = 0, 0.0

    def repeated() -> None:
        if same:
            rows.append((until, 0, f"{'':14}({same} more the same, to {at(header, until)})"))

    for rec in records:
        if isinstance(rec, TraceObservation):
            seen = _seen(spec, rec)
            if seen == last:
                same, until = same + 1, rec.t
                continue
            repeated()
            same, last = 0, seen
            rows.append((rec.t, 1, f"{at(header, rec.t):<14} line {rec.line:<6} seen: {seen}"))
        else:
            rows.append((rec.t, 1, f"{at(header, rec.t):<14} line {rec.line:<6} {_event(rec)}"))
    repeated()
    for item, services in inferred:
        what = item.event + (f" of {' or '.join(services)}" if services else "")
        if item.node is not None:
            what += f" on {header.nodes[item.node]}"
        rows.append(
            (
                -1.0 if item.latest is None else item.latest,
                -1,
                f"{window(header, item.earliest, item.latest)}: {what} (hidden)",
            )
        )
    rows.sort(key=lambda r: (r[0], r[1]))
    return [text for _, _, text in rows]


def _seen(spec: Spec, rec: TraceObservation) -> str:
    parts = []
    for node, obs in rec.nodes.items():
        words = []
        if obs.state is not None:
            words.append(spec.states[obs.state].label)
        if obs.reason is not None:
            words.append(f"({spec.reasons[obs.reason].label})")
        if obs.active_users is not None:
            words.append(f"{obs.active_users} active")
        parts.append(f"{node} {' '.join(words)}")
    if rec.ha_enabled is not None:
        parts.append("HA on" if rec.ha_enabled else "HA off")
    if rec.sessions:
        parts.append(f"{len(rec.sessions)} sessions")
    return ", ".join(parts) or "(nothing)"


def _event(rec: TraceEvent) -> str:
    words = [rec.event, *(w for w in (rec.service, rec.node, rec.user) if w is not None)]
    return " ".join(words)


# -- JSON -----------------------------------------------------------------------------------------
def story_json(spec: Spec, told: Told) -> dict[str, Any]:
    header = told.header

    out: dict[str, Any] = {
        "file": header.file,
        "verdict": "conforms" if told.divergence is None else "diverges",
        "records": len(told.records),
        "hidden_events": told.story.fewest,
        "explanations": [[inferred_json(header, i) for i in e] for e in told.story.explanations],
    }
    if told.divergence is not None:
        out["divergence"] = told.divergence.to_json()
    return out


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    explain = sub.add_parser(
        "explain",
        help="tell a trace's story: the fewest hidden events that explain its records, and when",
    )
    explain.add_argument(
        "trace", type=Path, metavar="TRACE", help="a trace file (JSON Lines), or - (stdin)"
    )
    add_spec(explain, positional=False)
    add_tolerance(explain)
    explain.add_argument("--format", choices=("text", "json"), default="text", help="output")
    explain.add_argument(
        "--timeline",
        type=Path,
        default=None,
        metavar="FILE.svg",
        help="draw the trace as an SVG timeline, the inferred events dashed",
    )
    explain.set_defaults(run=cmd_explain)
