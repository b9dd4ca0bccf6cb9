"""`hasm explain`: the story of a trace - the fewest hidden events that explain its records, each
with its window, as a timeline in words (or JSON), and the SVG timeline with them drawn dashed."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hasm.cli.common import (
    EXIT_FALSE,
    EXIT_OK,
    add_spec,
    add_tolerance,
    atomic_output,
    spec_of,
)
from hasm.oracle.clock import show_seconds
from hasm.oracle.files import Told, tell_file
from hasm.oracle.story import Inferred
from hasm.review.timeline_svg import to_svg, trace_timeline
from hasm.spec.model import Spec
from hasm.trace.records import TraceEvent, TraceHeader, TraceObservation, TraceRecord

__all__ = ["cmd_explain", "register", "story_lines"]


def cmd_explain(args: argparse.Namespace) -> int:
    spec = spec_of(args)
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
    name = header.file
    verdict = "conforms" if told.divergence is None else "does not conform"
    n = story.fewest
    fewest = "no hidden event" if n == 0 else f"{n} hidden event{'s' if n > 1 else ''} (the fewest)"
    through = "" if told.divergence is None else f" up to line {story.through}"
    out = [f"{name}: {verdict} ({len(told.records)} records); explained{through} by {fewest}"]
    groups = _grouped(story.explanations)
    for i, group in enumerate(groups):
        lead = "  " if i == 0 else "  or "
        for j, item in enumerate(group):
            out.append(f"{lead if j == 0 else '     '}{_said(spec, header, item)}")
    out.append("")
    out += _timeline(spec, header, told.records, groups[0] if groups else ())
    if told.divergence is not None:
        out += ["", str(told.divergence)]
    return out


_Grouped = tuple[tuple[Inferred, tuple[str, ...]], ...]  # each item with its services


def _grouped(explanations: Iterable[tuple[Inferred, ...]]) -> list[_Grouped]:
    """Explanations that differ only in which service stopped or started, as one."""
    groups: dict[tuple[object, ...], list[tuple[Inferred, ...]]] = {}
    for e in explanations:
        shape = tuple((i.event, i.node, i.earliest, i.latest, i.after) for i in e)
        groups.setdefault(shape, []).append(e)
    out: list[_Grouped] = []
    for members in groups.values():
        first = members[0]
        out.append(
            tuple(
                (item, tuple(sorted({s for m in members if (s := m[k].service) is not None})))
                for k, item in enumerate(first)
            )
        )
    return out


def _said(spec: Spec, header: TraceHeader, grouped: tuple[Inferred, tuple[str, ...]]) -> str:
    item, services = grouped
    what = item.event
    if services:
        what += " of " + " or ".join(services)
    if item.node is not None:
        what += f" on {header.nodes[item.node]}"
    when = _window(header, item.earliest, item.latest)
    after = (
        f" (after line {item.after})" if item.after is not None else " (before the first record)"
    )
    return f"{what}, {when}{after}: {spec.events[item.event].description}"


def _window(header: TraceHeader, earliest: float | None, latest: float | None) -> str:
    if earliest is None or latest is None:
        return "before the trace began"
    if earliest == latest:
        return f"at {_at(header, earliest)}"
    return f"between {_at(header, earliest)} and {_at(header, latest)}"


def _at(header: TraceHeader, t: float) -> str:
    """A trace time, and its wall-clock time when the header says when t=0 was."""
    shown = f"t={show_seconds(t)}"
    if header.start is None:
        return shown
    return f"{shown} ({_wall(header.start, t)})"


def _wall(start: datetime, t: float) -> str:
    when = start + timedelta(seconds=t)
    text = when.strftime("%Y-%m-%d %H:%M:%S")
    if when.microsecond:
        text += f".{when.microsecond // 1000:03d}"
    return text + (when.strftime("%z") if when.utcoffset() else "Z")


def _timeline(
    spec: Spec, header: TraceHeader, records: Sequence[TraceRecord], inferred: _Grouped
) -> list[str]:
    """The records that change what was seen (a poll that repeats the last one is counted, not
    shown) and the inferred events, in time order."""
    rows: list[tuple[float, int, str]] = []
    last: object = None
    same, until = 0, 0.0

    def repeated() -> None:
        if same:
            rows.append((until, 0, f"{'':14}({same} more the same, to {_at(header, until)})"))

    for rec in records:
        if isinstance(rec, TraceObservation):
            seen = _seen(spec, rec)
            if seen == last:
                same, until = same + 1, rec.t
                continue
            repeated()
            same, last = 0, seen
            rows.append((rec.t, 1, f"{_at(header, rec.t):<14} line {rec.line:<6} seen: {seen}"))
        else:
            rows.append((rec.t, 1, f"{_at(header, rec.t):<14} line {rec.line:<6} {_event(rec)}"))
    repeated()
    for item, services in inferred:
        what = item.event + (f" of {' or '.join(services)}" if services else "")
        if item.node is not None:
            what += f" on {header.nodes[item.node]}"
        rows.append(
            (
                -1.0 if item.latest is None else item.latest,
                -1,
                f"{_window(header, item.earliest, item.latest)}: {what} (hidden)",
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

    def item(i: Inferred) -> dict[str, Any]:
        out: dict[str, Any] = {
            "event": i.event,
            "node": header.nodes[i.node] if i.node is not None else None,
            "service": i.service,
            "earliest": i.earliest,
            "latest": i.latest,
            "after_line": i.after,
        }
        if header.start is not None and i.earliest is not None and i.latest is not None:
            out["earliest_time"] = _wall(header.start, i.earliest)
            out["latest_time"] = _wall(header.start, i.latest)
        return out

    out: dict[str, Any] = {
        "file": header.file,
        "verdict": "conforms" if told.divergence is None else "diverges",
        "records": len(told.records),
        "hidden_events": told.story.fewest,
        "explanations": [[item(i) for i in e] for e in told.story.explanations],
    }
    if told.divergence is not None:
        out["divergence"] = told.divergence.to_json()
    return out


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    explain = sub.add_parser(
        "explain",
        help="tell a trace's story: the fewest hidden events that explain its records, and when",
    )
    explain.add_argument("trace", type=Path, metavar="TRACE", help="a trace file (JSON Lines)")
    add_spec(explain)
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
