"""A run or a checked trace as an SVG picture: one lane per node over virtual time.

Each lane shows the node's state as coloured bands (the page's labels; hover for the reason),
its active users as a step line, and the node timers with their deadline windows (fired: a
dot, cancelled: a cross). Events are vertical lines with their names on top; for a trace that
does not conform, the divergence is a red line with the fields the spec does not allow.

Extract -> IR -> renderer: `TimelineRecorder` reads a simulator's records and `trace_timeline`
a trace checked by the oracle into a `Timeline`; `to_svg` draws it. The SVG is written by hand
(no dependency), every number with fixed precision and every list in a fixed order, so the same
run gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar
from xml.sax.saxutils import escape, quoteattr

from hasm.core.config import Config, EventInput, Fire, RunningTimer
from hasm.core.model import Model
from hasm.core.views import node_views
from hasm.errors import ConformanceError
from hasm.oracle.oracle import Oracle
from hasm.oracle.report import Divergence
from hasm.oracle.story import Inferred
from hasm.oracle.windows import windows
from hasm.spec.model import Spec
from hasm.trace.reader import read_trace
from hasm.trace.records import Record, TraceEvent

__all__ = [
    "Band",
    "DivergenceMark",
    "EventMark",
    "Level",
    "Timeline",
    "TimelineRecorder",
    "TimerSpan",
    "to_svg",
    "trace_timeline",
]

Outcome = Literal["fired", "cancelled", "running", "ended"]
T = TypeVar("T")
_Pair = tuple[tuple[T, ...], tuple[T, ...]]  # one tuple per lane


# -- the IR ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Band:
    """A node in one state (and reason) from `start` to `end`."""

    start: float
    end: float
    state: str  # state id
    label: str  # the page's label of the state
    reason: str  # the page's label of the reason


@dataclass(frozen=True, slots=True)
class Level:
    """The node's active users from `t` on."""

    t: float
    value: int


@dataclass(frozen=True, slots=True)
class EventMark:
    """Something that happened at `t`: an event, or a timer that fired and what it did."""

    t: float
    lane: int | None  # the node it happened on, or None for the group
    text: str


@dataclass(frozen=True, slots=True)
class TimerSpan:
    """A node timer from its start to its end, with its deadline window."""

    name: str
    lane: int
    since: float
    earliest: float
    latest: float
    end: float | None  # when it fired, was cancelled or stopped being possible; None: running
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class DivergenceMark:
    """Where a trace stops conforming: its line, time and what the spec does not allow."""

    t: float
    line: int | None
    text: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class InferredMark:
    """A hidden event the story of the trace needs (hasm.oracle.story), somewhere in
    [earliest, latest]: drawn dashed, as nothing recorded it."""

    earliest: float
    latest: float
    lane: int | None
    text: str


@dataclass(frozen=True, slots=True)
class Timeline:
    """A picture's content: lanes of bands and levels, events, timers, and a divergence."""

    title: str
    subtitle: str
    nodes: tuple[str, str]
    end: float  # the last time shown
    bands: _Pair[Band]
    levels: _Pair[Level]
    users: int  # the most active users a lane can show (the scale of the levels)
    events: tuple[EventMark, ...]  # in time order
    timers: tuple[TimerSpan, ...]  # by start, then name and lane
    states: tuple[tuple[str, str], ...]  # (id, label) of every state of the spec, in spec order
    divergence: DivergenceMark | None = None
    inferred: tuple[InferredMark, ...] = ()


# -- recording lanes ------------------------------------------------------------------------------
class _Lanes:
    """Bands and levels of both nodes, extended as the shown values change."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.open: list[tuple[float, str, str] | None] = [None, None]  # (start, state, reason)
        self.bands: tuple[list[Band], list[Band]] = ([], [])
        self.levels: tuple[list[Level], list[Level]] = ([], [])

    def show(self, t: float, lane: int, state: str | None, reason: str | None) -> None:
        current = self.open[lane]
        if current is not None:
            state = current[1] if state is None else state
            reason = current[2] if reason is None else reason
            if (state, reason) == current[1:]:
                return
            self._close(lane, t)
        if state is not None and reason is not None:
            self.open[lane] = (t, state, reason)

    def active(self, t: float, lane: int, value: int | None) -> None:
        levels = self.levels[lane]
        if value is None or (levels and levels[-1].value == value):
            return
        if levels and levels[-1].t == t:
            levels.pop()  # several changes at one instant: the last one is what was shown
        levels.append(Level(t, value))

    def _close(self, lane: int, t: float) -> None:
        current = self.open[lane]
        if current is None:
            return
        start, state, reason = current
        if t > start:
            self.bands[lane].append(
                Band(
                    start, t, state, self.spec.states[state].label, self.spec.reasons[reason].label
                )
            )
        self.open[lane] = None

    def finish(self, end: float) -> tuple[_Pair[Band], _Pair[Level]]:
        for lane in (0, 1):
            self._close(lane, end)
        bands = (tuple(self.bands[0]), tuple(self.bands[1]))
        levels = (tuple(self.levels[0]), tuple(self.levels[1]))
        return bands, levels


def _states(spec: Spec) -> tuple[tuple[str, str], ...]:
    return tuple((s.id, s.label) for s in spec.states.values())


class TimelineRecorder:
    """Collects a simulator's records into a Timeline; feed it like `TraceWriter`."""

    def __init__(self, model: Model, nodes: Sequence[str], title: str, subtitle: str) -> None:
        self.model, self.nodes = model, (nodes[0], nodes[1])
        self.title, self.subtitle = title, subtitle
        self.lanes = _Lanes(model.spec)
        self.events: list[EventMark] = []
        self.timers: dict[tuple[str, int, float], TimerSpan] = {}
        self.users = 0
        self.now = 0.0

    def start(self, config: Config) -> None:
        """The group before anything happened."""
        self._views(config)
        self.users = sum(c.count for c in config.users)
        self._timers(config.now, config.timers, (), None)

    def record(self, record: Record) -> None:
        step, t = record.step, record.time
        self.now = t
        inp = step.input
        if isinstance(inp, EventInput):
            words = [inp.name]
            if inp.service is not None:
                words.append(inp.service)
            if record.user is not None:
                words.append(record.user)
            if step.rule is not None:
                words.append(f"-> {step.rule}")
            self.events.append(EventMark(t, inp.node, " ".join(words)))
        elif isinstance(inp, Fire) and step.rule is not None:
            self.events.append(EventMark(t, inp.node, f"{inp.timer} -> {step.rule}"))
        self._timers(t, step.started, step.cancelled, step.fired)
        self._views(step.config)

    def _views(self, config: Config) -> None:
        for lane, view in enumerate(node_views(self.model, config)):
            self.lanes.show(config.now, lane, view.state, view.reason)
            self.lanes.active(config.now, lane, view.active_users)

    def _timers(
        self,
        t: float,
        started: Iterable[RunningTimer],
        cancelled: Iterable[RunningTimer],
        fired: RunningTimer | None,
    ) -> None:
        ended: list[tuple[RunningTimer, Outcome]] = [(c, "cancelled") for c in cancelled]
        if fired is not None:
            ended.append((fired, "fired"))
        for timer, outcome in ended:
            key = (timer.name, timer.node, timer.since)
            span = self.timers.get(key)
            if span is not None:
                self.timers[key] = _ended(span, t, outcome)
        for timer in started:
            key = (timer.name, timer.node, timer.since)
            self.timers[key] = TimerSpan(
                timer.name, timer.node, timer.since, timer.earliest, timer.latest, None, "running"
            )

    def finish(self, end: float) -> Timeline:
        """The timeline up to `end` (the scenario's `until`)."""
        end = max(end, self.now)
        bands, levels = self.lanes.finish(end)
        return Timeline(
            self.title,
            self.subtitle,
            self.nodes,
            end,
            bands,
            levels,
            max(self.users, 1),
            tuple(self.events),
            _sorted_timers(self.timers.values()),
            _states(self.model.spec),
        )


def _ended(span: TimerSpan, t: float, outcome: Outcome) -> TimerSpan:
    return TimerSpan(span.name, span.lane, span.since, span.earliest, span.latest, t, outcome)


def _sorted_timers(spans: Iterable[TimerSpan]) -> tuple[TimerSpan, ...]:
    return tuple(sorted(spans, key=lambda s: (s.since, s.name, s.lane, s.earliest, s.latest)))


# -- a checked trace ------------------------------------------------------------------------------
def trace_timeline(
    spec: Spec,
    path: str | Path,
    divergence: Divergence | None = None,
    tolerance: float = 0.0,
    inferred: Iterable[Inferred] = (),
) -> Timeline:
    """The timeline of a trace as it was observed, checked by the oracle up to `divergence`
    (from `hasm.oracle.files.check_file`): states and active users as the observations saw them,
    events as recorded, and the node timers some behaviour of the spec has running between
    records, with the union of their deadline windows; and `inferred`, hidden events a story
    of the trace needs (hasm.oracle.story), dashed. Raises InputError for a bad trace."""
    header, records = read_trace(path, spec, name=str(path))
    oracle = Oracle.from_header(spec, header, tolerance)
    lanes = _Lanes(spec)
    nodes = header.nodes
    homes = [sum(1 for h in header.users.values() if h == n) for n in nodes]
    start = spec.initial.get(header.initial)  # None: mid-incident, nothing known before a record
    if start is not None:
        for lane in (0, 1):
            lanes.show(0.0, lane, start.state, start.reason)
            shows = spec.states[start.state].shows_active_users
            lanes.active(0.0, lane, homes[lane] if shows else 0)
    events: list[EventMark] = []
    spans: dict[tuple[str, int, float], TimerSpan] = {}
    running = _candidate_timers(oracle)
    _open_spans(spans, running)
    now = 0.0
    for record in records:
        if divergence is not None and record.line == divergence.line:
            break
        try:
            oracle.record(record)
        except ConformanceError:
            break  # the verdict given reports it; the picture ends here
        now = record.t
        if isinstance(record, TraceEvent):
            on = nodes.index(record.node) if record.node is not None else None
            words = [record.event, *(w for w in (record.service, record.user) if w is not None)]
            events.append(EventMark(record.t, on, " ".join(words)))
        else:
            for name, seen in record.nodes.items():
                index = nodes.index(name)
                lanes.show(record.t, index, seen.state, seen.reason)
                lanes.active(record.t, index, seen.active_users)
        now_running = _candidate_timers(oracle)
        for key in running.keys() - now_running.keys():
            spans[key] = _ended(spans[key], record.t, "ended")
        _open_spans(spans, now_running)
        running = now_running
    mark = None
    end = now
    if divergence is not None:
        end = max(end, divergence.t)
        lines = [
            f"line {divergence.line}: {divergence.record}" if divergence.line else divergence.record
        ]
        lines += [
            f"NOT {f.field}: observed {f.observed}; the spec allows {', '.join(f.allowed) or 'nothing'}"
            for f in divergence.fields
            if not f.conforms
        ]
        mark = DivergenceMark(divergence.t, divergence.line, tuple(lines))
    end = end if end > 0 else 1.0
    bands, levels = lanes.finish(end)
    verdict = "does not conform" if divergence is not None else "conforms"
    # A little time after the divergence, so that its mark does not sit on the picture's edge.
    shown = end * 1.04 if divergence is not None else end
    return Timeline(
        f"{Path(str(path)).name}: {verdict}",
        f"{nodes[0]} and {nodes[1]}; {len(header.users)} user(s); start: {header.initial}",
        (nodes[0], nodes[1]),
        shown,
        bands,
        levels,
        max(sum(homes), 1),
        tuple(events),
        _sorted_timers(spans.values()),
        _states(spec),
        mark,
        tuple(
            InferredMark(
                i.earliest,
                i.latest,
                i.node,
                " ".join(w for w in (i.event, i.service) if w) + " (hidden, inferred)",
            )
            for i in inferred
            if i.earliest is not None and i.latest is not None  # before the trace: not drawn
        ),
    )


def _candidate_timers(oracle: Oracle) -> dict[tuple[str, int, float], tuple[float, float]]:
    """The node timers running in some candidate configuration, with the union of windows,
    in seconds (the oracle may count time in integer ticks of its model)."""
    ticks = oracle.model.ticks or 1
    now = oracle.tick
    out: dict[tuple[str, int, float], tuple[float, float]] = {}
    for cand in oracle.candidates:
        for w in windows(oracle.model, cand, now):
            if w.timer is None:
                continue
            key = (w.timer, w.node, w.started_from / ticks)
            low, high = out.get(key, (w.earliest / ticks, w.latest / ticks))
            out[key] = (min(low, w.earliest / ticks), max(high, w.latest / ticks))
    return out


def _open_spans(
    spans: dict[tuple[str, int, float], TimerSpan],
    running: dict[tuple[str, int, float], tuple[float, float]],
) -> None:
    for key, (low, high) in running.items():
        name, lane, since = key
        spans[key] = TimerSpan(name, lane, since, low, high, None, "running")


# -- the SVG ---------------------------------------------------------------------------------------
# Colours of the states, given out in the spec's order: no state is named here.
_PALETTE = (
    "#aec7e8", "#98df8a", "#ffbb78", "#ff9896", "#c5b0d5", "#dbdb8d", "#9edae5", "#f7b6d2",
    "#c49c94", "#c7c7c7", "#e6ab02", "#66c2a5", "#fc8d62", "#8da0cb", "#e78ac3", "#a6d854",
)  # fmt: skip
_WIDTH = 1200
_LEFT = 190  # room for the lane names
_RIGHT = 30
_CHAR = 6.2  # the width of one character of the 11 px font, for placing labels
_BAND = 26
_LEVEL = 34
_TIMER_ROW = 12
_LABEL_ROW = 14


def _n(value: float) -> str:
    """A coordinate with fixed precision: the same run gives the same bytes."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _time(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.3f}"


def _nice_step(span: float) -> float:
    raw = span / 10
    magnitude = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 1.0
    for factor in (1, 2, 5, 10):
        if magnitude * factor >= raw:
            return magnitude * factor
    return magnitude * 10


def _rows(items: Sequence[tuple[float, float]]) -> list[int]:
    """Greedy rows so that no two intervals (x, right end) on one row overlap."""
    ends: list[float] = []
    out = []
    for left, right in items:
        for row, end in enumerate(ends):
            if left > end:
                ends[row] = right
                out.append(row)
                break
        else:
            ends.append(right)
            out.append(len(ends) - 1)
    return out


class _Svg:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def add(self, text: str) -> None:
        self.parts.append(text)

    def text(self, x: float, y: float, content: str, **attrs: str) -> None:
        extra = "".join(f" {k.replace('_', '-')}={quoteattr(v)}" for k, v in attrs.items())
        self.add(f'<text x="{_n(x)}" y="{_n(y)}"{extra}>{escape(content)}</text>')


def to_svg(timeline: Timeline) -> str:
    """The timeline as a standalone SVG document."""
    return _Drawing(timeline).draw()


class _Drawing:
    """The layout of one timeline (computed first, so every part knows where the others go),
    then its parts, drawn in a fixed order."""

    def __init__(self, timeline: Timeline) -> None:
        self.tl = timeline
        self.end = timeline.end if timeline.end > 0 else 1.0
        self.colour = {
            sid: _PALETTE[i % len(_PALETTE)] for i, (sid, _) in enumerate(timeline.states)
        }
        self.svg = _Svg()
        self.events = sorted(timeline.events, key=lambda e: e.t)
        self.labels = [
            f"t={_time(e.t)} {e.text}"
            + (f" ({timeline.nodes[e.lane]})" if e.lane is not None else "")
            for e in self.events
        ]
        # A label reads rightwards from its event, or leftwards when it would leave the picture.
        self.label_right = [
            self.x(e.t) + 2 + _CHAR * len(text) <= _WIDTH - 4
            for e, text in zip(self.events, self.labels, strict=True)
        ]
        self.label_rows = _rows(
            [
                (self.x(e.t), self.x(e.t) + _CHAR * len(text))
                if right
                else (self.x(e.t) - _CHAR * len(text), self.x(e.t))
                for e, text, right in zip(self.events, self.labels, self.label_right, strict=True)
            ]
        )
        self.top = 62
        self.lanes_top = self.top + _LABEL_ROW * (max(self.label_rows, default=-1) + 1) + 10
        self.lane_timers = [[s for s in timeline.timers if s.lane == lane] for lane in (0, 1)]
        self.timer_rows = [
            _rows(
                [
                    (self.x(s.since), self.x(self._stop(s)) + _CHAR * (len(s.name) + 1))
                    for s in spans
                ]
            )
            for spans in self.lane_timers
        ]
        self.lane_heights = [
            _BAND + _LEVEL + _TIMER_ROW * (max(rows, default=-1) + 1) + 24
            for rows in self.timer_rows
        ]
        self.axis_y = self.lanes_top + sum(self.lane_heights)
        drawn = {b.state for lane in timeline.bands for b in lane}
        self.used = [sid for sid, _ in timeline.states if sid in drawn]
        self.legend_y = self.axis_y + 40
        self.legend_rows = (len(self.used) + 3) // 4
        self.div_lines = list(timeline.divergence.text) if timeline.divergence is not None else []
        below = 16 * len(self.div_lines) + 16 if self.div_lines else 0
        self.height = self.legend_y + 18 * self.legend_rows + below + 10

    def x(self, t: float) -> float:
        return _LEFT + (_WIDTH - _LEFT - _RIGHT) * min(max(t, 0.0), self.end) / self.end

    @staticmethod
    def _stop(span: TimerSpan) -> float:
        return max(span.end if span.end is not None else span.latest, span.latest)

    def draw(self) -> str:
        svg, tl, height = self.svg, self.tl, _n(self.height)
        svg.add(
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" '
            f'viewBox="0 0 {_WIDTH} {height}" font-family="Helvetica, Arial, sans-serif" font-size="11">'
        )
        svg.add(f'<rect x="0" y="0" width="{_WIDTH}" height="{height}" fill="#ffffff"/>')
        svg.text(12, 22, tl.title, font_size="15", font_weight="bold")
        svg.text(12, 40, tl.subtitle, fill="#444444")
        y = self.lanes_top
        for lane in (0, 1):
            svg.add(f'<g class="lane" data-node={quoteattr(tl.nodes[lane])}>')
            svg.text(12, y + _BAND / 2 + 4, tl.nodes[lane], font_weight="bold")
            self._bands(lane, y)
            self._levels(lane, y + _BAND + _LEVEL - 4)
            self._timers(lane, y + _BAND + _LEVEL + 8)
            svg.add("</g>")
            y += self.lane_heights[lane]
        self._events()
        self._inferred()
        self._divergence()
        self._axis()
        self._legend()
        svg.add("</svg>")
        return "\n".join(svg.parts) + "\n"

    def _bands(self, lane: int, y: float) -> None:
        for band in self.tl.bands[lane]:
            x0, x1 = self.x(band.start), self.x(band.end)
            tip = f"{band.label} ({band.reason}): t={_time(band.start)} to t={_time(band.end)}"
            fill = self.colour.get(band.state, "#cccccc")
            self.svg.add(
                f'<rect class="state" data-state={quoteattr(band.state)} x="{_n(x0)}" y="{_n(y)}" '
                f'width="{_n(max(x1 - x0, 0.5))}" height="{_BAND}" fill="{fill}" stroke="#ffffff" '
                f'stroke-width="0.5"><title>{escape(tip)}</title></rect>'
            )
            if x1 - x0 > _CHAR * len(band.label) + 6:
                self.svg.text(x0 + 3, y + _BAND / 2 + 4, band.label)

    def _levels(self, lane: int, base: float) -> None:
        """Active users: a step line scaled to the most users a node can serve."""
        svg, levels = self.svg, self.tl.levels[lane]
        svg.text(12, base - _LEVEL / 2 + 8, "active users", fill="#555555")
        svg.add(
            f'<line x1="{_LEFT}" y1="{_n(base)}" x2="{_n(self.x(self.end))}" y2="{_n(base)}" stroke="#cccccc"/>'
        )
        if not levels:
            return
        scale = (_LEVEL - 10) / self.tl.users
        # One value per whole pixel column (the last one there): a run where thousands of
        # clients re-login draws as many corners as the picture has columns, not one per client.
        columns: dict[int, float] = {}
        for level in levels:
            columns[round(self.x(level.t))] = base - scale * level.value
        points: list[tuple[float, float]] = []
        for column, py in columns.items():
            if points:
                points.append((column, points[-1][1]))
            points.append((column, py))
        points.append((self.x(self.end), points[-1][1]))
        path = " ".join(f"{_n(px)},{_n(py)}" for px, py in points)
        svg.add(
            f'<polyline class="active" points="{path}" fill="none" stroke="#1d3557" stroke-width="1.5"/>'
        )
        shown = [(self.x(levels[0].t), levels[0].value)]
        for level in levels[1:]:
            if self.x(level.t) - shown[-1][0] > 28:  # numbers far enough apart to read
                shown.append((self.x(level.t), level.value))
        for px, value in shown:
            svg.text(px + 2, base - scale * value - 3, str(value), font_size="9", fill="#1d3557")

    def _timers(self, lane: int, top: float) -> None:
        svg, x = self.svg, self.x
        for span, row in zip(self.lane_timers[lane], self.timer_rows[lane], strict=True):
            ry = top + row * _TIMER_ROW
            stop = span.end if span.end is not None else span.latest
            at = f" at t={_time(span.end)}" if span.end is not None else ""
            tip = (
                f"timer {span.name}: started t={_time(span.since)}, deadline window "
                f"[t={_time(span.earliest)}, t={_time(span.latest)}], {span.outcome}{at}"
            )
            window = max(x(span.latest) - x(span.earliest), 1.5)
            svg.add(
                f'<g class="timer" data-timer={quoteattr(span.name)}><title>{escape(tip)}</title>'
            )
            svg.add(
                f'<rect x="{_n(x(span.earliest))}" y="{_n(ry - 4)}" width="{_n(window)}" height="8" '
                f'fill="#e9c46a" fill-opacity="0.5"/>'
            )
            svg.add(
                f'<line x1="{_n(x(span.since))}" y1="{_n(ry)}" x2="{_n(x(stop))}" y2="{_n(ry)}" '
                f'stroke="#6c757d" stroke-width="1.2"/>'
            )
            if span.outcome == "fired" and span.end is not None:
                svg.add(f'<circle cx="{_n(x(span.end))}" cy="{_n(ry)}" r="3" fill="#2a9d8f"/>')
            elif span.end is not None:
                cx = x(span.end)
                svg.add(
                    f'<path d="M{_n(cx - 3)},{_n(ry - 3)} L{_n(cx + 3)},{_n(ry + 3)} '
                    f'M{_n(cx - 3)},{_n(ry + 3)} L{_n(cx + 3)},{_n(ry - 3)}" stroke="#6c757d"/>'
                )
            after = x(self._stop(span)) + 4
            if after + _CHAR * len(span.name) <= _WIDTH:
                svg.text(after, ry + 3, span.name, font_size="9", fill="#555555")
            else:  # no room after it: the name goes before its start
                svg.text(x(span.since) - 4, ry + 3, span.name, font_size="9", fill="#555555",
                         text_anchor="end")  # fmt: skip
            svg.add("</g>")

    def _events(self) -> None:
        """An event is a line through both lanes, its label on its own row on top."""
        rows = zip(self.events, self.labels, self.label_rows, self.label_right, strict=True)
        for event, text, row, right in rows:
            ex = self.x(event.t)
            ly = self.top + _LABEL_ROW * row + 10
            self.svg.add(f'<g class="event"><title>{escape(text)}</title>')
            self.svg.add(
                f'<line x1="{_n(ex)}" y1="{_n(ly + 2)}" x2="{_n(ex)}" y2="{_n(self.axis_y)}" '
                f'stroke="#457b9d" stroke-width="0.8" stroke-dasharray="3,3"/>'
            )
            if right:
                self.svg.text(ex + 2, ly, text, fill="#1d3557")
            else:
                self.svg.text(ex - 2, ly, text, fill="#1d3557", text_anchor="end")
            self.svg.add("</g>")

    def _inferred(self) -> None:
        """A hidden event the story needs: its window dashed across its lane (both lanes for
        the group's), labelled in the lane."""
        for mark in self.tl.inferred:
            x0, x1 = self.x(mark.earliest), self.x(mark.latest)
            lanes = (0, 1) if mark.lane is None else (mark.lane,)
            top = self.lanes_top + sum(self.lane_heights[: lanes[0]])
            bottom = self.lanes_top + sum(self.lane_heights[: lanes[-1] + 1])
            label = f"t={_time(mark.earliest)}..{_time(mark.latest)} {mark.text}"
            self.svg.add(f'<g class="inferred"><title>{escape(label)}</title>')
            self.svg.add(
                f'<rect x="{_n(x0 - 1)}" y="{_n(top + 2)}" width="{_n(max(x1 - x0, 0) + 2)}" '
                f'height="{_n(bottom - top - 4)}" fill="#f4a261" fill-opacity="0.18" '
                f'stroke="#e76f51" stroke-width="1.2" stroke-dasharray="4,3"/>'
            )
            self.svg.text(x1 + 3, top + _BAND + 14, label, fill="#e76f51", font_style="italic")
            self.svg.add("</g>")

    def _divergence(self) -> None:
        mark = self.tl.divergence
        if mark is None:
            return
        dx = self.x(mark.t)
        self.svg.add('<g class="divergence">')
        self.svg.add(
            f'<line x1="{_n(dx)}" y1="{_n(self.lanes_top - 6)}" x2="{_n(dx)}" y2="{_n(self.axis_y)}" '
            f'stroke="#d62828" stroke-width="2.5"/>'
        )
        where = f"line {mark.line}, " if mark.line is not None else ""
        self.svg.text(dx - 4, self.lanes_top - 8, f"diverges: {where}t={_time(mark.t)}",
                      fill="#d62828", font_weight="bold", text_anchor="end")  # fmt: skip
        dy = self.legend_y + 18 * self.legend_rows + 14
        for i, line in enumerate(self.div_lines):
            weight = "bold" if i == 0 else "normal"
            self.svg.text(12, dy + 16 * i, line, fill="#d62828", font_weight=weight)
        self.svg.add("</g>")

    def _axis(self) -> None:
        svg, y = self.svg, self.axis_y
        svg.add(
            f'<line x1="{_LEFT}" y1="{_n(y)}" x2="{_n(self.x(self.end))}" y2="{_n(y)}" stroke="#333333"/>'
        )
        step = _nice_step(self.end)
        ticks = int(self.end / step + 1e-9)
        for i in range(ticks + 1):
            tx = self.x(i * step)
            svg.add(
                f'<line x1="{_n(tx)}" y1="{_n(y)}" x2="{_n(tx)}" y2="{_n(y + 5)}" stroke="#333333"/>'
            )
            svg.text(tx, y + 17, _time(i * step), text_anchor="middle")
        svg.text(self.x(self.end), y + 30, "virtual time (s)", text_anchor="end", fill="#555555")

    def _legend(self) -> None:
        """The states drawn, in the spec's order."""
        labels = dict(self.tl.states)
        for i, sid in enumerate(self.used):
            lx, ly = 12 + (i % 4) * 295, self.legend_y + 18 * (i // 4)
            self.svg.add(
                f'<rect x="{_n(lx)}" y="{_n(ly - 9)}" width="12" height="12" fill="{self.colour[sid]}"/>'
            )
            self.svg.text(lx + 17, ly + 1, labels[sid])
