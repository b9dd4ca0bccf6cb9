"""What the explorer page embeds, as plain JSON-ready data: the spec's words, the explored
configurations as the Presence Redundancy Group page shows them, their steps, and a checked
trace's records with the oracle's verdict and what it allowed at each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hasm.core.config import NO_NODE, NOT_WAITING, SIGNED_OUT, Config
from hasm.core.model import Model
from hasm.core.semantics import offered
from hasm.core.views import documented_pairs, node_views
from hasm.errors import HasmError, InputError
from hasm.oracle.files import check_file
from hasm.oracle.oracle import Oracle
from hasm.page.graph import Graph, input_words
from hasm.spec.model import Spec
from hasm.trace.reader import read_trace
from hasm.trace.records import TraceEvent, TraceObservation, TraceRecord

__all__ = [
    "BEYOND_FAULTS",
    "BEYOND_STATES",
    "LISTED_USERS",
    "MAX_RECORDS",
    "explorer_data",
    "spec_data",
    "trace_data",
]

# An edge's target when it has none: past the state bound, or breaking the fault bound.
BEYOND_STATES, BEYOND_FAULTS = -1, -2


def spec_data(spec: Spec) -> dict[str, Any]:
    """The spec's words the page shows: state labels and kinds, reason labels, what each timer
    and event is."""
    return {
        "id": spec.id,
        "title": spec.title,
        "states": {s.id: {"label": s.label, "kind": s.kind} for s in spec.states.values()},
        "reasons": {r.id: r.label for r in spec.reasons.values()},
        "timers": {t.id: t.description for t in spec.timers.values()},
        "events": {e.id: e.description for e in spec.events.values()},
        "readings": [
            {
                "id": r.id,
                "meaning": _first_sentence(r.description),
                "description": r.description,
                "assumption": r.assumption,
            }
            for r in spec.readings.values()
        ],
    }


def _first_sentence(text: str) -> str:
    """A reading's one-line meaning: its description's first sentence (the question; the
    answers follow it)."""
    head, dot, _ = text.partition(". ")
    return head + "." if dot else text


def answers_data(answers: tuple[frozenset[str], ...]) -> list[list[str]]:
    """Each answer to the readings as the readings it answers yes, sorted: the page's answer k
    is `answers[k]`, in `Model.reading_choices`' order (answer 0: none answered yes)."""
    return [sorted(a) for a in answers]


def explorer_data(graph: Graph, command: str) -> dict[str, Any]:
    """The explored configurations and their steps. Step words are shared through one table
    (`steps`: kind, words, rule), and each configuration lists its steps as flat pairs of
    (step word index, target index or BEYOND_*): the same words recur in most configurations."""
    words: dict[tuple[str, str, str], int] = {}
    configs = []
    for config, out in zip(graph.configs, graph.edges, strict=True):
        flat: list[int] = []
        for e in out:
            key = (e.kind, e.words, e.rule or "")
            flat.append(words.setdefault(key, len(words)))
            if e.target is not None:
                flat.append(e.target)
            else:
                flat.append(BEYOND_STATES if e.limit == "states" else BEYOND_FAULTS)
        configs.append({**_config_view(graph.model, graph.nodes, config), "e": flat})
    b = graph.bounds
    return {
        "nodes": list(graph.nodes),
        "bounds": {
            "users": b.users,
            "max_states": b.max_states,
            "max_faults": b.max_faults,
            "initial": b.initial,
        },
        "complete": graph.complete,
        "command": command,
        "answers": answers_data(graph.answers),
        "starts": list(graph.starts),
        "steps": [list(k) for k in words],
        "configs": configs,
    }


def _config_view(model: Model, nodes: tuple[str, str], config: Config) -> dict[str, Any]:
    """One configuration as the page shows it (`n`: each node's state, reason, assigned and
    active users) and the world behind it (`w`: each node up, its SRM running, its stopped
    services), the running timers (`tm`: name, node, since, earliest, latest), the clients
    waiting to re-login (`wt`: home, count, since, earliest, latest), the administrator actions
    offered (`of`) and the documented pairs shown (`p`); where there are any, the signed-out
    clients (`so`: home, count, a cohort each - a kept session, A-logout-session, or none) and
    the signed-in ones with no session that wait for nothing (`ns`: home, count; their re-login
    or sign-in found no node to serve them)."""
    views = node_views(model, config)
    out: dict[str, Any] = {
        "t": config.now,
        "ha": config.ha_enabled,
        "link": config.link_up,
        "n": [[v.state, v.reason, v.assigned_users, v.active_users] for v in views],
        "w": [[n.up, n.srm, sorted(n.stopped)] for n in config.nodes],
        "tm": [[t.name, t.node, t.since, t.earliest, t.latest] for t in config.timers],
        "wt": [
            [c.home, c.count, c.waiting_since, *model.relogin_window(c.waiting_since)]
            for c in config.users
            if c.waiting_since >= 0
        ],
        "of": [input_words(model, nodes, o) for o in offered(model, config)],
        "p": list(documented_pairs(model, config)),
    }
    signed_out = [[c.home, c.count] for c in config.users if c.waiting_since == SIGNED_OUT]
    stopped = [
        [c.home, c.count]
        for c in config.users
        if c.session == NO_NODE and c.waiting_since == NOT_WAITING
    ]
    if signed_out:
        out["so"] = signed_out
    if stopped:
        out["ns"] = stopped
    return out


# -- a trace ---------------------------------------------------------------------------------------
# Records embedded at most: each carries what the spec allowed at its time, about a kilobyte.
MAX_RECORDS = 1000
# Up to this many users, each record lists where every user's session may be; beyond, only the
# users the record observed (15,000 users would make every record megabytes).
LISTED_USERS = 16


def trace_data(
    spec: Spec, path: Path, tolerance: float = 0.0, max_records: int = MAX_RECORDS
) -> dict[str, Any]:
    """A trace checked as `hasm check` checks it (`check_file`: the same verdict and report),
    with its first `max_records` records up to the divergence, each with what was observed
    and what the oracle's candidates allowed at its time, before it (`Oracle.allowed` once the
    clock reached it); the divergent record, wherever it is, with what its report allowed.
    Each record lists the answers to the readings that explain the trace up to it (indices
    into `answers`; `Oracle.answers` after it): none at the divergence. A file that is not a
    valid trace raises InputError, located."""
    verdict = check_file(spec, path, tolerance)
    if verdict.status == "input_error":
        raise InputError(list(verdict.problems))
    divergence = verdict.divergence
    stop = divergence.line if divergence is not None else None
    header, records = read_trace(path, spec, name=str(path))
    probe = Oracle.from_header(spec, header, tolerance, explain=False)
    every_user = len(header.users) <= LISTED_USERS
    choices = probe.model.reading_choices
    rows: list[dict[str, Any]] = []
    total = 0
    for rec in _until(records, stop):
        total += 1
        if len(rows) >= max_records and rec.line != stop:
            continue  # counted, not embedded: the verdict is the whole trace's
        row: dict[str, Any] = {"line": rec.line, "t": rec.t, "words": _record_words(spec, rec)}
        row["observed"] = _observed(spec, rec) if isinstance(rec, TraceObservation) else {}
        if rec.line != stop:
            row["allowed"] = _allowed_at(probe, rec, row["observed"], every_user)
            # The answers to the readings that still explain the trace up to this record,
            # the oracle's own candidates: the divergent record is where none does.
            row["answers"] = [choices.index(a) for a in probe.answers()]
        else:
            row["answers"] = []
        rows.append(row)
    out: dict[str, Any] = {
        "file": verdict.file,
        "nodes": list(header.nodes),
        "users": dict(sorted(header.users.items())),
        "initial": header.initial,
        "verdict": verdict.status,
        "checked": total,
        "max_records": max_records,
        "records": rows,
        "answers": answers_data(choices),
    }
    if divergence is not None:
        out["divergence"] = {
            "line": divergence.line,
            "t": divergence.t,
            "text": str(divergence).splitlines(),
        }
        if rows and rows[-1]["line"] == divergence.line:
            rows[-1]["allowed"] = {f.field: list(f.allowed) for f in divergence.fields}
    return out


def _until(records: Iterator[TraceRecord], stop: int | None) -> Iterator[TraceRecord]:
    """The records up to and including the line `stop` (all of them without one): the
    oracle reads no further, so nothing past a divergence is shown as checked."""
    for rec in records:
        yield rec
        if rec.line == stop:
            return


def _allowed_at(
    probe: Oracle, rec: TraceRecord, observed: dict[str, list[str]], every_user: bool
) -> dict[str, list[str]]:
    """What the candidates allow each field to show at the record's time, before it (every
    user's session only with few users); then the record, fed as `hasm check` feeds it."""
    try:
        probe.advance(rec.t)
        allowed = {
            k: list(v)
            for k, v in sorted(probe.allowed().items())
            if every_user or not k.startswith("sessions.") or k in observed
        }
        probe.record(rec)
    except HasmError as exc:
        # check_file accepted this record: only an oracle that disagrees with itself gets here.
        raise HasmError(f"line {rec.line}: the page's oracle lost the trace: {exc}") from exc
    return allowed


def _record_words(spec: Spec, rec: TraceRecord) -> str:
    if isinstance(rec, TraceEvent):
        parts = [rec.event, *(p for p in (rec.service,) if p)]
        if rec.node is not None:
            parts.append(f"on {rec.node}")
        if rec.user is not None:
            parts.append(f"by {rec.user}")
        return "event " + " ".join(parts)
    # The record's fields are listed beside it; its words name the states seen, if any.
    seen = _observed(spec, rec)
    shown = [
        f"{name} {' or '.join(seen[f'nodes.{name}.state'])}"
        for name in rec.nodes
        if f"nodes.{name}.state" in seen
    ]
    count = f"{len(seen)} field(s)"
    return "observe " + (f"{', '.join(shown)} ({count})" if shown else count)


def _observed(spec: Spec, rec: TraceObservation) -> dict[str, list[str]]:
    """The fields an observation saw, in the words and field names the oracle's reports use
    (`nodes.N.state`, labels for states and reasons), so each compares with what it allowed:
    each field's value, or the values an ambiguous word may mean (RTMT's Backup Activated)."""
    out: dict[str, list[str]] = {}
    for name, n in sorted(rec.nodes.items()):
        if n.state is not None:
            states = sorted(n.states) if n.states is not None else [n.state]
            out[f"nodes.{name}.state"] = sorted(spec.states[s].label for s in states)
        if n.reason is not None:
            out[f"nodes.{name}.reason"] = [spec.reasons[n.reason].label]
        for attr in ("assigned_users", "active_users"):
            value = getattr(n, attr)
            if value is not None:
                out[f"nodes.{name}.{attr}"] = [str(value)]
    if rec.ha_enabled is not None:
        out["ha_enabled"] = ["true" if rec.ha_enabled else "false"]
    if rec.offered is not None:
        for action in ("failover", "fallback"):
            chosen = getattr(rec.offered, action)
            if chosen is not None:
                out[f"offered.{action}"] = ["[" + ", ".join(sorted(chosen)) + "]"]
        if rec.offered.recover is not None:
            out["offered.recover"] = ["true" if rec.offered.recover else "false"]
    for user, node in sorted(rec.sessions.items()):
        out[f"sessions.{user}"] = [node if node is not None else "null"]
    return out
