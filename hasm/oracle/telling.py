"""A story in words (hasm.oracle.story): its explanations grouped where they differ only in the
service, each hidden event with its window in trace time and, when the header says when t=0 was,
wall-clock time. `hasm explain` prints them, and `hasm check` beside a divergence."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from hasm.oracle.clock import show_seconds
from hasm.oracle.story import Inferred, Story
from hasm.spec.model import Spec
from hasm.trace.records import TraceHeader

__all__ = [
    "Grouped",
    "at",
    "explanation_lines",
    "grouped",
    "inferred_json",
    "said",
    "summary",
    "wall",
    "window",
]

Grouped = tuple[tuple[Inferred, tuple[str, ...]], ...]  # each item with its services


def grouped(explanations: Iterable[tuple[Inferred, ...]]) -> list[Grouped]:
    """Explanations that differ only in which service stopped or started, as one."""
    groups: dict[tuple[object, ...], list[tuple[Inferred, ...]]] = {}
    for e in explanations:
        shape = tuple((i.event, i.node, i.earliest, i.latest, i.after) for i in e)
        groups.setdefault(shape, []).append(e)
    out: list[Grouped] = []
    for members in groups.values():
        first = members[0]
        out.append(
            tuple(
                (item, tuple(sorted({s for m in members if (s := m[k].service) is not None})))
                for k, item in enumerate(first)
            )
        )
    return out


def said(spec: Spec, header: TraceHeader, grouped: tuple[Inferred, tuple[str, ...]]) -> str:
    item, services = grouped
    what = item.event
    if services:
        what += " of " + " or ".join(services)
    if item.node is not None:
        what += f" on {header.nodes[item.node]}"
    when = window(header, item.earliest, item.latest)
    after = (
        f" (after line {item.after})" if item.after is not None else " (before the first record)"
    )
    return f"{what}, {when}{after}: {spec.events[item.event].description}"


def window(header: TraceHeader, earliest: float | None, latest: float | None) -> str:
    if earliest is None or latest is None:
        return "before the trace began"
    if earliest == latest:
        return f"at {at(header, earliest)}"
    return f"between {at(header, earliest)} and {at(header, latest)}"


def at(header: TraceHeader, t: float) -> str:
    """A trace time, and its wall-clock time when the header says when t=0 was."""
    shown = f"t={show_seconds(t)}"
    if header.start is None:
        return shown
    return f"{shown} ({wall(header.start, t)})"


def wall(start: datetime, t: float) -> str:
    when = start + timedelta(seconds=t)
    text = when.strftime("%Y-%m-%d %H:%M:%S")
    if when.microsecond:
        text += f".{when.microsecond // 1000:03d}"
    return text + (when.strftime("%z") if when.utcoffset() else "Z")


def summary(story: Story, conforms: bool) -> str:
    """ "explained [up to line N] by K hidden events (the fewest)"."""
    n = story.fewest
    fewest = "no hidden event" if n == 0 else f"{n} hidden event{'s' if n > 1 else ''} (the fewest)"
    through = "" if conforms else f" up to line {story.through}"
    return f"explained{through} by {fewest}"


def explanation_lines(spec: Spec, header: TraceHeader, story: Story) -> list[str]:
    """One line per hidden event of each explanation, the alternatives led by "or"."""
    out = []
    for i, group in enumerate(grouped(story.explanations)):
        lead = "  " if i == 0 else "  or "
        for j, item in enumerate(group):
            out.append(f"{lead if j == 0 else '     '}{said(spec, header, item)}")
    return out


def inferred_json(header: TraceHeader, i: Inferred) -> dict[str, Any]:
    out: dict[str, Any] = {
        "event": i.event,
        "node": header.nodes[i.node] if i.node is not None else None,
        "service": i.service,
        "earliest": i.earliest,
        "latest": i.latest,
        "after_line": i.after,
    }
    if header.start is not None and i.earliest is not None and i.latest is not None:
        out["earliest_time"] = wall(header.start, i.earliest)
        out["latest_time"] = wall(header.start, i.latest)
    return out
