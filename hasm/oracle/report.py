"""Reports of the oracle: a divergence (`Divergence`), what the spec allows there, and why."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hasm.core.config import NO_NODE, Config
from hasm.core.semantics import Model, offered
from hasm.core.views import describe_duration, node_views
from hasm.oracle.candidates import Candidate, member, members
from hasm.oracle.clock import show_seconds, show_ticks
from hasm.oracle.observing import Observation
from hasm.spec.model import Spec

__all__ = ["Divergence", "FieldReport", "Reporter", "Seen"]


@dataclass(frozen=True, slots=True)
class FieldReport:
    """One observed field against what the spec allows there."""

    field: str  # e.g. "nodes.IMPPub.state"
    observed: str
    allowed: tuple[str, ...]

    @property
    def conforms(self) -> bool:
        return self.observed in self.allowed


@dataclass(frozen=True)
class Divergence:
    """The first record no behaviour of the spec allows: where, what, and why."""

    file: str
    line: int | None
    t: float
    record: str  # the record in words
    fields: tuple[FieldReport, ...]  # every field observed, against what is allowed
    why: tuple[str, ...]  # the earlier lines and timers that lead here, in the spec's words

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
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
                }
                for f in self.fields
            ],
            "why": list(self.why),
        }


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
                out.append(FieldReport(f"nodes.{name}.{attr}", shown, tuple(allowed)))
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
        self, before: frozenset[Candidate], t: float, line: int | None, obs: Observation
    ) -> Divergence:
        """The divergence of an observation that none of the candidates `before` it shows."""
        fields = self.fields(before, obs)
        if all(f.conforms for f in fields):
            fields.append(
                FieldReport(
                    "(together)", "these values at once", ("no single behaviour shows them all",)
                )
            )
        return Divergence(self.file, line, t, "observation", tuple(fields), self._why(before))

    def event(
        self,
        before: frozenset[Candidate],
        t: float,
        line: int | None,
        name: str,
        node: int | None,
        words: str,
    ) -> Divergence:
        """The divergence of an administrator action that none of the candidates offers."""
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
            *self._why(before),
        )
        return Divergence(self.file, line, t, f"event {words}", (field_report,), why)

    def _why(self, cands: Iterable[Candidate]) -> tuple[str, ...]:
        """The running timers and waiting clients of the candidates, with the lines that started
        them, in the spec's words."""
        out: dict[str, None] = {}
        spec = self.spec
        for cand in sorted(cands, key=repr):  # a set's order depends on the hash seed
            for timer in cand.config.timers:
                spec_timer = spec.timers[timer.name]
                cause = self._cause(timer.since)
                window = (
                    f"at t={show_ticks(timer.latest)}"
                    if timer.earliest == timer.latest
                    else f"between t={show_ticks(timer.earliest)} and t={show_ticks(timer.latest)}"
                )
                out[
                    f"timer {timer.name} on {self.nodes[timer.node]} started at t={show_ticks(timer.since)}"
                    f"{cause}: {spec_timer.description.rstrip('.')}; it fires {window} "
                    f"({describe_duration(self.model, timer.name)}), so not before t={show_ticks(timer.earliest)}"
                ] = None
            for cohort in cand.config.users:
                if cohort.waiting_since >= 0:
                    low, high = self.model.relogin_window(cohort.waiting_since)
                    high += cand.slack_of(cohort.key)
                    out[
                        f"{cohort.count} client(s) homed on {self.nodes[cohort.home]} lost their session "
                        f"at t={show_ticks(cohort.waiting_since)}{self._cause(cohort.waiting_since)} and log in again "
                        f"between t={show_ticks(low)} and t={show_ticks(high)} "
                        f"({describe_duration(self.model, spec.user_timer.id)})"
                    ] = None
        if not out and self.recent:
            last = self.recent[-1]
            where = f" (line {last.line})" if last.line is not None else ""
            out[
                f"the last event was {last.words} at t={show_ticks(last.t)}{where}; no timer is running"
            ] = None
        return tuple(out)

    def _cause(self, since: float) -> str:  # since: ticks
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
