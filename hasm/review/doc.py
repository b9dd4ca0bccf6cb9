"""The review document of a spec: Markdown generated from the spec alone, so it never drifts.

Sections follow the spec's order (scope and sources, parameters, services, states, reasons,
display and starting points, events, timers, transitions, invariants, assumptions, accepted lint
findings), then the coverage of the documented state pairs: which scenario reaches each pair, or
why it is out of scope. Guards are written out in words from the spec language's meaning; the
domain words (state and reason labels, service names) all come from the spec. The output is
byte-deterministic: the spec's order, the scenarios' file-name order, no clock, no absolute path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from hasm.errors import HasmError
from hasm.sim.runner import run_scenario
from hasm.sim.scenario import load_scenario
from hasm.spec.guards import conjuncts, describe_guard, either, word_notation
from hasm.spec.model import All, Duration, Guard, PairSide, ReasonChoice, Spec, Target, Timer
from hasm.spec.params import evaluate

__all__ = ["Coverage", "coverage", "readable_guard", "render_doc"]

_HOSTS = {
    "own": "its own users",
    "own_and_peer": "its own and its peer's users",
    "none": "nobody",
}


# -- words for the spec language -------------------------------------------------------------------
def _cell(text: str) -> str:
    """Text that stays inside one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def readable_guard(guard: Guard, spec: Spec) -> str:
    """A guard in words, e.g. "node is Idle or Failed Over; peer is Running in Backup Mode"."""
    return describe_guard(guard, word_notation(spec))


def _target_words(target: Target, spec: Spec) -> str:
    if target.state is None and target.reason is None:
        return "unchanged"
    state = spec.states[target.state].label if target.state is not None else "same state"
    if isinstance(target.reason, ReasonChoice):
        choice = target.reason
        reason = (
            f"{spec.reasons[choice.then].label} if {readable_guard(choice.when, spec)}, "
            f"else {spec.reasons[choice.otherwise].label}"
        )
    elif target.reason is not None:
        reason = spec.reasons[target.reason].label
    else:
        reason = "same reason"
    return f"{state} / {reason}"


def _duration_words(duration: Duration, spec: Spec) -> str:
    low, high = evaluate(duration.min, spec.defaults), evaluate(duration.max, spec.defaults)
    value = f"{low:g} s" if low == high else f"{low:g} to {high:g} s"
    return f"{duration} (default {value})"


def _runs_while(timer: Timer, spec: Spec) -> str:
    if timer.per == "user":
        return "from the moment a step ends the client's session"
    if timer.service is None:
        return readable_guard(timer.while_, spec)
    # A per-service entry's timer: the entry's condition, then the service test the loader
    # appended to it, which every timer of the entry has for its own service.
    entry = All(conjuncts(timer.while_)[:-1])
    return f"{readable_guard(entry, spec)}; and its service is down (a timer per service)"


def _readings(spec: Spec) -> list[str]:
    """Cisco's open questions: each is answered once per behaviour, and both answers are
    allowed."""
    if not spec.readings:
        return []
    out = [
        "",
        "## Readings",
        "",
        "Questions the sources leave open. A behaviour answers each once, from its start to "
        "its end, on both nodes; a trace conforms if a behaviour under either answer explains "
        "it, and `hasm verify` explores both. The guards test them as `reading.ID`.",
        "",
    ]
    out += _table(
        ("reading", "the question and its answers", "source"),
        (
            (f"`{r.id}`", r.description, _cites(r.sources, r.assumption))
            for r in spec.readings.values()
        ),
    )
    return out


def _unserved(spec: Spec) -> list[str]:
    """When a node serves no sessions whatever its state's `hosts` says."""
    if not spec.unserved:
        return []
    out = [
        "",
        "## When a node serves nobody",
        "",
        "While one of these holds, a node serves no sessions, whatever its state's `serves` "
        "column says: its sessions end (their clients wait to re-login, as after a failover) "
        "and no client logs in to it.",
        "",
    ]
    out += _table(
        ("condition", "while", "description", "source"),
        (
            (
                f"`{u.id}`",
                readable_guard(u.while_, spec),
                u.description,
                _cites(u.sources, u.assumption),
            )
            for u in spec.unserved.values()
        ),
    )
    return out


def _cites(sources: Sequence[str], assumption: str | None) -> str:
    parts = list(sources)
    if assumption is not None:
        parts.append(f"assumption {assumption}")
    return ", ".join(parts) or "none"


def _vocabularies(spec: Spec) -> list[str]:
    """What views other than the page print for a state (a trace header's `vocabulary`): each
    view's terms, and its numeric codes with the states each reads as."""
    if not spec.vocabularies:
        return []
    out = [
        "",
        "## Vocabularies",
        "",
        "What other views print for a state, read through a trace header's `vocabulary`; a "
        "term that means more than one state matches any of them. The page's labels are "
        "read in every vocabulary.",
    ]
    for v in spec.vocabularies.values():
        terms = spec.state_terms(v.name)
        out += ["", f"### `{v.name}` ({_cites(v.sources, None)})", ""]
        out += _table(
            ("term", "means", "source"),
            (
                (
                    t.term,
                    either(spec.states[s].label for s in t.states),
                    _cites(t.sources, t.assumption),
                )
                for t in v.terms.values()
            ),
        )
        if v.codes:
            out += [""]
            out += _table(
                ("code", "printed as", "means"),
                (
                    (str(i), word, either(spec.states[s].label for s in terms[word]))
                    for i, word in enumerate(v.codes)
                ),
            )
    return out


def _side_words(side: PairSide | None, spec: Spec) -> str:
    if side is None:
        return "down (not reachable)"
    states = either(spec.states[s].label for s in side.states)
    reasons = either(spec.reasons[r].label for r in side.reasons)
    return f"{states} / {reasons}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return out


# -- coverage of the documented pairs ------------------------------------------------------------
Coverage = dict[str, list[str]]  # pair id -> names of the scenarios that reach it


def coverage(spec: Spec, scenarios: Sequence[Path]) -> tuple[Coverage, list[str]]:
    """Which scenario (seed 0) passes through each documented pair, and a note for each scenario
    that does not apply to this spec (it does not load, or it stops on an action not offered)."""
    reached: Coverage = {pid: [] for pid in spec.state_pairs}
    notes = []
    for path in scenarios:
        name = Path(path).stem
        try:
            run = run_scenario(spec, load_scenario(path, spec), 0, keep_records=False)
        except HasmError as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            # Only what follows the file name: the document must not depend on where it ran.
            notes.append(f"{name}: does not apply to this spec ({first.split(': ', 1)[-1]})")
            continue
        for pid in run.pairs:
            reached.setdefault(pid, []).append(name)
    return reached, notes


# -- the document --------------------------------------------------------------------------------
def render_doc(spec: Spec, scenarios: Sequence[Path] = ()) -> str:
    """The whole review document as Markdown text."""
    out: list[str] = []
    name = Path(spec.path).name
    out += [
        f"# {spec.title}",
        "",
        f"The review document of the spec `{name}` (id `{spec.id}`), generated by `hasm doc`; "
        "do not edit it by hand (`make docs` regenerates it). Source ids are those of the spec's "
        "sources; `P` ids are the documented state pairs; `A-` ids are assumptions, where the "
        "sources leave a choice open.",
        "",
        "## Scope",
        "",
        " ".join(spec.scope.split()),
        "",
        "## Sources",
        "",
    ]
    out += _table(
        ("id", "title", "where"), ((s.id, s.title, s.where) for s in spec.sources.values())
    )
    out += ["", "## Parameters", ""]
    out += _table(
        ("name", "Cisco name", "default", "unit", "range", "description", "source"),
        (
            (
                f"`{p.name}`",
                p.cisco_name,
                ("true" if p.default else "false")
                if isinstance(p.default, bool)
                else f"{p.default:g}",
                "s" if p.type == "seconds" else "boolean",
                f"{p.range[0]:g} to {p.range[1]:g}" if p.range is not None else "",
                p.description,
                _cites(p.sources, p.assumption),
            )
            for p in spec.parameters.values()
        ),
    )
    advised = [(p, a) for p in spec.parameters.values() for a in p.advice]
    if advised:
        # Advice is what the vendor asks beyond a range: breaking it warns, never fails.
        out += [
            "",
            "Advice (a value below it is a warning of `hasm validate` and `hasm lint`):",
            "",
        ]
        out += [
            f"- `{p.name}` at least `{a.at_least}` ({_cites(a.sources, None)}): {a.why}."
            for p, a in advised
        ]
    out += ["", "## Services", ""]
    out += _table(
        ("id", "name", "monitored by SRM", "source"),
        (
            (
                f"`{s.id}`",
                s.name,
                "by default"
                if s.monitored_by_default
                else (
                    f"when `{s.monitored_if}` is true"
                    if s.monitored_if is not None
                    else "only when a trace header lists it"
                ),
                _cites(s.sources, s.assumption),
            )
            for s in spec.services.values()
        ),
    )
    out += ["", "## States", ""]
    out += _table(
        ("id", "label", "kind", "serves", "definition", "source"),
        (
            (
                f"`{s.id}`",
                s.label + (f" (also: {', '.join(s.aliases)})" if s.aliases else ""),
                s.kind,
                _HOSTS[s.hosts]
                + ("" if s.shows_active_users else "; the page shows 0 active users"),
                s.definition,
                _cites(s.sources, s.assumption),
            )
            for s in spec.states.values()
        ),
    )
    out += ["", "## Reasons", ""]
    out += _table(
        ("id", "label", "also written", "source"),
        (
            (f"`{r.id}`", r.label, ", ".join(r.aliases), _cites(r.sources, None))
            for r in spec.reasons.values()
        ),
    )
    out += _vocabularies(spec)
    d = spec.display
    out += [
        "",
        "## Display and starting points",
        "",
        f"A node that is down or whose SRM is stopped is shown as "
        f"{spec.states[d.unreachable_state].label} / {spec.reasons[d.unreachable_reason].label}"
        + (f" (assumption {d.assumption})." if d.assumption else "."),
        "",
    ]
    out += _table(
        ("starting point", "HA", "both nodes"),
        (
            (
                f"`{p.name}`",
                "enabled" if p.ha_enabled else "disabled",
                f"{spec.states[p.state].label} / {spec.reasons[p.reason].label}",
            )
            for p in spec.initial.values()
        ),
    )
    out += ["", "## Events", ""]
    out += _table(
        ("id", "kind", "fields", "effect", "description", "source"),
        (
            (
                f"`{e.id}`",
                e.kind,
                ", ".join(e.fields),
                " or ".join(e.effects),
                e.description,
                _cites(e.sources, e.assumption),
            )
            for e in spec.events.values()
        ),
    )
    out += _readings(spec)
    # A `per: service` entry is one row, as the file writes it, taken by its timers' rules.
    entries: dict[str, Timer] = {}
    for timer in spec.timers.values():
        entries.setdefault(timer.family, timer)
    taken_by = {
        name: [t.id for t in spec.transitions if name in spec.as_written(t.on)] for name in entries
    }
    out += [
        "",
        "## Timers",
        "",
        "A node timer runs while its condition holds: it starts when the condition becomes "
        "true and is cancelled when it becomes false. A duration with two bounds is a choice "
        "the spec leaves open.",
        "",
    ]
    out += _table(
        ("id", "per", "duration", "runs while", "taken by", "description", "source"),
        (
            (
                f"`{t.family}`",
                "service" if t.service else t.per,
                _duration_words(t.duration, spec),
                _runs_while(t, spec),
                ", ".join(f"`{r}`" for r in taken_by[t.family])
                or ("(re-login)" if t.per == "user" else "nothing"),
                t.description,
                _cites(t.sources, t.assumption),
            )
            for t in entries.values()
        ),
    )
    out += _unserved(spec)
    out += [
        "",
        "## Transitions",
        "",
        "Each rule is written once for `node` (the event's or timer's node) and its `peer`; "
        "targets read state / reason.",
        "",
    ]
    out += _table(
        ("rule", "on", "when", "node becomes", "peer becomes", "effects", "source"),
        (
            (
                f"`{t.id}`: {t.summary}",
                ", ".join(f"`{o}`" for o in spec.as_written(t.on)),
                readable_guard(t.when, spec),
                _target_words(t.node, spec),
                _target_words(t.peer, spec),
                ", ".join(t.effects),
                _cites(t.sources, t.assumption),
            )
            for t in spec.transitions
        ),
    )
    out += ["", "## Invariants", ""]
    out += _table(
        ("id", "kind", "statement", "source"),
        (
            (
                f"`{i.id}`",
                i.kind
                + (
                    f" (`{i.action}` requires: {readable_guard(i.requires, spec)})"
                    if i.action is not None
                    else ""
                ),
                i.statement,
                _cites(i.sources, None),
            )
            for i in spec.invariants
        ),
    )
    users = _assumption_users(spec)
    out += ["", "## Assumptions", ""]
    out += _table(
        ("id", "statement", "why", "used by"),
        (
            (f"`{a.id}`", a.statement, a.why, ", ".join(users.get(a.id, [])) or "nothing")
            for a in spec.assumptions.values()
        ),
    )
    out += ["", "## Accepted lint findings", ""]
    if spec.accepted:
        out += [
            "`hasm lint` reports these and the spec accepts them on purpose; `hasm lint` still "
            "lists them, and fails if one no longer occurs.",
            "",
        ]
        out += _table(
            ("check", "offenders", "why", "assumption"),
            ((a.check, ", ".join(a.offenders), a.why, a.assumption or "") for a in spec.accepted),
        )
    else:
        out.append("None.")
    out += _coverage_section(spec, scenarios)
    return "\n".join(out) + "\n"


def _assumption_users(spec: Spec) -> dict[str, list[str]]:
    users: dict[str, list[str]] = {}

    def add(aid: str | None, what: str) -> None:
        if aid is not None:
            users.setdefault(aid, []).append(what)

    for p in spec.parameters.values():
        add(p.assumption, f"parameter `{p.name}`")
    for v in spec.services.values():
        add(v.assumption, f"service `{v.id}`")
    for e in spec.events.values():
        add(e.assumption, f"event `{e.id}`")
    for s in spec.states.values():
        add(s.assumption, f"state `{s.id}`")
    add(spec.display.assumption, "display")
    for reading in spec.readings.values():
        add(reading.assumption, f"reading `{reading.id}`")
    for t in {t.family: t for t in spec.timers.values()}.values():
        add(t.assumption, f"timer `{t.family}`")
    for u in spec.unserved.values():
        add(u.assumption, f"unserved `{u.id}`")
    for r in spec.transitions:
        add(r.assumption, f"rule `{r.id}`")
    for inv in spec.invariants:
        add(inv.assumption, f"invariant `{inv.id}`")
        for entry in inv.also:
            shown = " / ".join(spec.states[x].label for x in entry.states)
            if entry.reasons is not None:
                shown = " / ".join(
                    f"{spec.states[x].label} ({spec.reasons[r].label})"
                    for x, r in zip(entry.states, entry.reasons, strict=True)
                )
            add(entry.assumption, f"pair {shown} in `{inv.id}`")
    for a in spec.accepted:
        add(a.assumption, f"accepted {a.check}")
    return users


def _coverage_section(spec: Spec, scenarios: Sequence[Path]) -> list[str]:
    reached, notes = coverage(spec, scenarios)
    names = ", ".join(Path(p).stem for p in scenarios) or "none"
    out = [
        "",
        "## Coverage of the documented state pairs",
        "",
        f"Each pair either way round, as the page shows it, passed by a scenario played with "
        f"seed 0 (scenarios: {names}).",
        "",
    ]
    rows = []
    for pid, pair in spec.state_pairs.items():
        if pair.out_of_scope:
            how = f"out of scope: {pair.out_of_scope}"
        else:
            how = ", ".join(reached.get(pid, [])) or "NOT REACHED by any scenario"
        rows.append((pid, _side_words(pair.node1, spec), _side_words(pair.node2, spec), how))
    out += _table(("pair", "node 1", "node 2", "reached by"), rows) if rows else ["None."]
    if notes:
        out += ["", *(f"- {n}" for n in notes)]
    return out
