"""Reports of the oracle: a divergence (`Divergence`), what the spec allows there, and why."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hasm.core.config import NO_NODE, Config, Fire
from hasm.core.model import Model
from hasm.core.semantics import offered
from hasm.core.views import describe_duration, node_views
from hasm.oracle.candidates import Candidate, member, members, stable_order
from hasm.oracle.clock import show_seconds, show_ticks, ticks
from hasm.oracle.explain import Allowed, HiddenStep, allowed_times
from hasm.oracle.observing import Observation
from hasm.oracle.windows import Window, windows
from hasm.spec.model import Spec

__all__ = ["Divergence", "FieldReport", "Last", "Reporter", "Seen"]


@dataclass(frozen=True, slots=True)
class FieldReport:
    """One observed field against what the spec allows there."""

    field: str  # e.g. "nodes.IMPPub.state"
    observed: str
    allowed: tuple[str, ...]
    # What an ambiguous observed word may mean (RTMT's Backup Activated: two states), each
    # shown as `allowed` shows values; empty when the word means one thing, `observed`.
    means: tuple[str, ...] = ()

    @property
    def conforms(self) -> bool:
        return any(m in self.allowed for m in self.means or (self.observed,))


@dataclass(frozen=True)
class Divergence:
    """The first record no behaviour of the spec allows: where, what, and why."""

    file: str
    line: int | None
    t: float
    record: str  # the record in words
    fields: tuple[FieldReport, ...]  # every field observed, against what is allowed
    why: tuple[str, ...]  # the earlier lines and timers that lead here, in the spec's words
    source: str | None = None  # where an imported record came from ("status.txt:57")

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        if self.source is not None:
            where += f" (from {self.source})"
        out = [f"{where}: t={show_seconds(self.t)}: does not conform: {self.record}"]
        for f in self.fields:
            mark = "ok " if f.conforms else "NOT"
            allowed = ", ".join(f.allowed) if f.allowed else "nothing"
            out.append(f"  {mark} {f.field}: observed {f.observed}; the spec allows {allowed}")
        out += [f"  why: {w}" for w in self.why]
        return "\n".join(out)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "t": self.t,
            "record": self.record,
            "fields": [
                {
                    "field": f.field,
                    "observed": f.observed,
                    "allowed": list(f.allowed),
                    "conforms": f.conforms,
                    **({"means": list(f.means)} if f.means else {}),
                }
                for f in self.fields
            ],
            "why": list(self.why),
            **({"source": self.source} if self.source is not None else {}),
        }


@dataclass(frozen=True)
class Last:
    """The record before the one rejected: its candidates, its time (ticks), and which
    candidates show what the rejected record saw (or offer what it asked)."""

    candidates: frozenset[Candidate]
    since: int
    shows: Callable[[Candidate], bool]


@dataclass(frozen=True, slots=True)
class Seen:
    """An event recently fed, to name the line that started a timer."""

    t: int  # ticks
    line: int | None
    event: tuple[str, str | None, str | None, str | None]  # name, node, service, user

    @property
    def words(self) -> str:
        name, node, service, user = self.event
        parts = [name, *(p for p in (service,) if p)]
        if node is not None:
            parts.append(f"on {node}")
        if user is not None:
            parts.append(f"by {user}")
        return " ".join(parts)


class Reporter:
    """Builds the reports of one group's trace: the fields observed against what candidates
    allow, and why, from the running timers, waiting clients and the `recent` events."""

    def __init__(
        self,
        model: Model,
        nodes: tuple[str, str],
        homes: Mapping[str, int],
        file: str,
        recent: Sequence[Seen],
        offers: Callable[[Config], Mapping[str, frozenset[str]]],
    ) -> None:
        self.model, self.spec, self.nodes, self.homes = model, model.spec, nodes, homes
        self.file, self.recent, self.offers = file, recent, offers

    def fields(
        self, cands: Iterable[Candidate], obs: Observation, *, all_fields: bool = False
    ) -> list[FieldReport]:
        """Each field `obs` observed (or, with `all_fields`, every field) against the values
        the candidates allow."""
        spec, configs = self.spec, [m.config for c in cands for m in _listed(c)]
        views = [node_views(self.model, c) for c in configs]
        out: list[FieldReport] = []
        for i, name in enumerate(self.nodes):
            want = obs.nodes.get(name)
            if want is None and not all_fields:
                continue
            for attr in ("state", "reason", "assigned_users", "active_users"):
                observed = getattr(want, attr) if want is not None else None
                if observed is None and not all_fields:
                    continue
                allowed = sorted({_label(spec, attr, getattr(v[i], attr)) for v in views})
                shown = _label(spec, attr, observed) if observed is not None else "-"
                means: tuple[str, ...] = ()
                if attr == "state" and want is not None and want.states is not None:
                    means = tuple(sorted(_label(spec, attr, s) for s in want.states))
                    shown = " or ".join(means)
                field = f"nodes.{name}.{attr}"
                out.append(FieldReport(field, shown, tuple(allowed), means))
        if obs.ha_enabled is not None or all_fields:
            allowed = sorted({_json(c.ha_enabled) for c in configs})
            out.append(FieldReport("ha_enabled", _json(obs.ha_enabled), tuple(allowed)))
        if obs.offered is not None or all_fields:
            offers = [self.offers(c) for c in configs]
            for action in ("failover", "fallback"):
                want_nodes = getattr(obs.offered, action) if obs.offered is not None else None
                if want_nodes is None and not all_fields:
                    continue
                allowed = sorted({_names(o.get(action, frozenset())) for o in offers})
                out.append(
                    FieldReport(
                        f"offered.{action}", _names(want_nodes or frozenset()), tuple(allowed)
                    )
                )
            if (obs.offered is not None and obs.offered.recover is not None) or all_fields:
                allowed = sorted({_json(bool(o.get("recover"))) for o in offers})
                want_recover = obs.offered.recover if obs.offered is not None else None
                out.append(FieldReport("offered.recover", _json(want_recover), tuple(allowed)))
        users = list(self.homes) if all_fields else list(obs.sessions)
        for user in users:
            node = obs.sessions.get(user)
            home = self.homes[user]
            allowed = sorted(
                {
                    "null" if c.session == NO_NODE else self.nodes[c.session]
                    for config in configs
                    for c in config.users
                    if c.home == home
                }
            )
            shown = "-" if user not in obs.sessions else (node or "null")
            out.append(FieldReport(f"sessions.{user}", shown, tuple(allowed)))
        return out

    def observation(
        self,
        before: frozenset[Candidate],
        t: float,
        line: int | None,
        obs: Observation,
        last: Last | None = None,
    ) -> Divergence:
        """The divergence of an observation that none of the candidates `before` it shows
        (`last`: the candidates at the record before, to say when it would have been shown)."""
        fields = self.fields(before, obs)
        if all(f.conforms for f in fields):
            fields.append(
                FieldReport(
                    "(together)", "these values at once", ("no single behaviour shows them all",)
                )
            )
        why = self._explained(before, ticks(t), last)
        return Divergence(self.file, line, t, "observation", tuple(fields), why)

    def event(
        self,
        before: frozenset[Candidate],
        t: float,
        line: int | None,
        name: str,
        node: int | None,
        words: str,
        last: Last | None = None,
    ) -> Divergence:
        """The divergence of an administrator action that none of the candidates offers (`last`
        as for `observation`)."""
        offers = sorted(
            {
                a.name + (f" {self.nodes[a.node]}" if a.node is not None else "")
                for c in before
                for a in offered(self.model, c.config)
            }
        )
        asked = name + (f" {self.nodes[node]}" if node is not None else "")
        field_report = FieldReport("event", asked, tuple(offers))
        states = sorted(
            {
                ", ".join(
                    f"{n} is {self.spec.states[v.state].label}"
                    for n, v in zip(self.nodes, node_views(self.model, c.config), strict=True)
                )
                for c in before
            }
        )
        why = (
            f"the administrator action is not offered while {' or '.join(states)}",
            *self._explained(before, ticks(t), last),
        )
        return Divergence(self.file, line, t, f"event {words}", (field_report,), why)

    def _explained(
        self, before: frozenset[Candidate], now: int, last: Last | None
    ) -> tuple[str, ...]:
        """Why: what was pending at the last record and is now, and when what was seen (or
        asked) would have been allowed, through which hidden steps."""
        out: dict[str, None] = {}
        if last is not None:
            out.update(dict.fromkeys(self._why(last.candidates, last.since)))
        out.update(dict.fromkeys(self._why(before, now)))
        if last is not None:
            out.update(dict.fromkeys(self._allowed(last, now)))
        return tuple(out)

    def _allowed(self, last: Last, now: int) -> list[str]:
        """When some behaviour shows what the record saw, the nearest such stretch to `now`."""
        spans = [int(t.high) for t in self.model.node_timers] + [int(self.model.relogin_high)]
        horizon = now - last.since + max(spans, default=0)
        found = allowed_times(self.model, last.candidates, last.since, last.shows, horizon)
        if not found:
            return []

        def distance(a: Allowed) -> int:
            if now < a.earliest:
                return a.earliest - now
            return 0 if a.latest is None or now <= a.latest else now - a.latest

        best = min(found, key=lambda a: (distance(a), len(a.steps)))
        until = "on" if best.latest is None else f"and t={show_ticks(best.latest)}"
        words = f"the spec allows this record between t={show_ticks(best.earliest)} {until}"
        if best.steps:
            words += ", after " + ", then ".join(self._hidden(s) for s in best.steps)
        return [words]

    def _hidden(self, s: HiddenStep) -> str:
        inp = s.input
        what = (
            f"timer {inp.timer} on {self.nodes[inp.node]} fired"
            if isinstance(inp, Fire)
            else f"client(s) homed on {self.nodes[inp.user[0]]} logged in again"
        )
        when = (
            f"at t={show_ticks(s.earliest)}"
            if s.earliest == s.latest
            else f"between t={show_ticks(s.earliest)} and t={show_ticks(s.latest)}"
        )
        return f"{what} {when} (no record shows it)"

    def _why(self, cands: Iterable[Candidate], now: int) -> tuple[str, ...]:
        """The running timers and waiting clients of the candidates (their zones at `now`),
        with the lines that started them, in the spec's words: when each started and when it
        may fire, the earliest and latest times every hidden step before allows."""
        out: dict[str, None] = {}
        spec = self.spec
        for cand in stable_order(cands):
            for w in windows(self.model, cand, now):
                started = self._started(w)
                if w.timer is not None:
                    spec_timer = spec.timers[w.timer]
                    window = (
                        f"at t={show_ticks(w.latest)}"
                        if w.earliest == w.latest
                        else f"between t={show_ticks(w.earliest)} and t={show_ticks(w.latest)}"
                    )
                    out[
                        f"timer {w.timer} on {self.nodes[w.node]} started {started}: "
                        f"{spec_timer.description.rstrip('.')}; it fires {window} "
                        f"({describe_duration(self.model, w.timer)}), so not before t={show_ticks(w.earliest)}"
                    ] = None
                else:
                    out[
                        f"{w.count} client(s) homed on {self.nodes[w.node]} lost their session "
                        f"{started} and log in again "
                        f"between t={show_ticks(w.earliest)} and t={show_ticks(w.latest)} "
                        f"({describe_duration(self.model, spec.user_timer.id)})"
                    ] = None
        if not out and self.recent:
            last = self.recent[-1]
            where = f" (line {last.line})" if last.line is not None else ""
            out[
                f"the last event was {last.words} at t={show_ticks(last.t)}{where}; no timer is running"
            ] = None
        return tuple(out)

    def _started(self, w: Window) -> str:
        """When a window's clock started: at a recorded event's time, or between two times
        (after a hidden step whose moment the trace does not pin)."""
        if w.exact_start:
            cause = self._cause(w.started_from) or " (by a step the trace does not show)"
            return f"at t={show_ticks(w.started_from)}{cause}"
        return (
            f"between t={show_ticks(w.started_from)} and t={show_ticks(w.started_by)} "
            "(by a step the trace does not show)"
        )

    def _cause(self, since: int) -> str:  # since: ticks
        for seen in reversed(self.recent):
            if seen.t == since:
                where = f"line {seen.line}: " if seen.line is not None else ""
                return f" ({where}{seen.words})"
        return ""


def _label(spec: Spec, attr: str, value: object) -> str:
    if attr == "state" and isinstance(value, str):
        return spec.states[value].label
    if attr == "reason" and isinstance(value, str):
        return spec.reasons[value].label
    return str(value)


def _json(value: bool | None) -> str:
    return "-" if value is None else ("true" if value else "false")


def _names(nodes: frozenset[str]) -> str:
    return "[" + ", ".join(sorted(nodes)) + "]"


_REPORTED = 20_000  # members of a candidate listed in a report at most


def _listed(cand: Candidate) -> Iterator[Candidate]:
    """The members of a candidate, for a report: all, or if there are too many, the corners
    of its ranges (what the spec allows then lists the extremes of each count)."""
    if cand.size() <= _REPORTED:
        yield from members(cand)
        return
    for picks in itertools.product(*((0, s.extra) for s in cand.splits)):
        yield member(cand, picks)
