"""A run as a readable text timeline: when, what fired and why, and the group after it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from hasm.core.config import NO_NODE, EventInput, Fire, Relogin, RunningTimer
from hasm.core.model import Model
from hasm.core.views import NodeView, describe_duration, node_views
from hasm.trace.records import Record

__all__ = ["INDENT", "TimelineWriter"]

INDENT = " " * 12


def _t(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.3f}"


def _head(text: str) -> str:
    return f"{text:<{len(INDENT)}}" if len(text) < len(INDENT) - 1 else f"{text}  "


class TimelineWriter:
    """Turns records into lines; consecutive re-logins fold into one entry."""

    def __init__(self, model: Model, nodes: Sequence[str]) -> None:
        self.model, self.nodes = model, tuple(nodes)
        self.width = max(len(n) for n in nodes)
        self.last_views: tuple[NodeView, NodeView] | None = None
        self.relogins: list[Record] = []

    def header(
        self, title: str, config_views: tuple[NodeView, NodeView], detail: str
    ) -> Iterator[str]:
        yield title
        yield detail
        yield ""
        yield f"{_head('t=0')}start"
        yield from self._views(config_views)
        self.last_views = config_views

    def lines(self, records: Iterable[Record]) -> Iterator[str]:
        """The timeline of `records`, then of anything still folded."""
        for record in records:
            yield from self.feed(record)
        yield from self.close()

    def feed(self, record: Record) -> Iterator[str]:
        """The lines one more record adds; re-logins wait to be folded with their neighbours."""
        if isinstance(record.step.input, Relogin):
            self.relogins.append(record)
            return
        yield from self.close()
        yield from self._record(record)

    def close(self) -> Iterator[str]:
        """The folded re-logins not yet shown."""
        if self.relogins:
            yield from self._relogins(self.relogins)
            self.relogins = []

    # -- one record
    def _record(self, record: Record) -> Iterator[str]:
        step, spec = record.step, self.model.spec
        yield f"{_head(f't={_t(record.time)}')}{self._cause(record)}"
        if step.rule is not None:
            rule = next(t for t in spec.transitions if t.id == step.rule)
            sources = ", ".join(rule.sources)
            assumed = f"; assumption {rule.assumption}" if rule.assumption else ""
            yield f"{INDENT}-> {rule.id}: {rule.summary} [{sources}{assumed}]"
        for timer in step.cancelled:
            yield f"{INDENT}cancels {timer.name} on {self.nodes[timer.node]} (started t={_t(timer.since)})"
        for timer in step.started:
            yield f"{INDENT}starts {timer.name} on {self.nodes[timer.node]}: fires {self._window(timer)}"
        waiting = sum(m.count for m in step.moves if m.target[2] >= 0)
        if waiting:
            low, high = self.model.relogin_window(record.time)
            yield f"{INDENT}{waiting} client(s) lose their session and wait to re-login in [t={_t(low)}, t={_t(high)}]"
        yield from self._views_if_changed(record)

    def _cause(self, record: Record) -> str:
        inp, step = record.step.input, record.step
        if isinstance(inp, Fire):
            timer = step.fired
            assert timer is not None
            spec_timer = self.model.spec.timers[inp.timer]
            return (
                f"timer {inp.timer} on {self.nodes[inp.node]} fires "
                f"(started t={_t(timer.since)}; runs {describe_duration(self.model, spec_timer.id)})"
            )
        assert isinstance(inp, EventInput)
        parts = [inp.name]
        if inp.service is not None:
            parts.append(inp.service)
        if inp.node is not None:
            parts.append(f"on {self.nodes[inp.node]}")
        if record.user is not None:
            parts.append(f"by {record.user}")
        where = f" (scenario line {record.line})" if record.line else ""
        nothing = "; changes nothing" if not step.changed else ""
        return f"event {' '.join(parts)}{where}{nothing}"

    def _window(self, timer: RunningTimer) -> str:
        if timer.earliest == timer.latest:
            return f"at t={_t(timer.latest)}"
        return f"in [t={_t(timer.earliest)}, t={_t(timer.latest)}]"

    def _relogins(self, records: list[Record]) -> Iterator[str]:
        first, last = records[0].time, records[-1].time
        where: dict[str, int] = {}
        for record in records:
            for node in record.sessions.values():
                name = self.nodes[node] if node != NO_NODE else "nowhere (no node serves them)"
                where[name] = where.get(name, 0) + 1
        span = f"t={_t(first)}" if first == last else f"t={_t(first)}..{_t(last)}"
        landed = ", ".join(f"{n} to {name}" for name, n in where.items())
        yield f"{_head(span)}{len(records)} client(s) re-login: {landed}"
        yield from self._views_if_changed(records[-1])

    def _views_if_changed(self, record: Record) -> Iterator[str]:
        views = node_views(self.model, record.step.config)
        if views != self.last_views:
            yield from self._views(views)
            self.last_views = views

    def _views(self, views: tuple[NodeView, NodeView]) -> Iterator[str]:
        spec = self.model.spec
        for name, view in zip(self.nodes, views, strict=True):
            shown = f"{spec.states[view.state].label} ({spec.reasons[view.reason].label})"
            yield (
                f"{INDENT}| {name:<{self.width}}  assigned {view.assigned_users:>5}  "
                f"active {view.active_users:>5}  {shown}"
            )
