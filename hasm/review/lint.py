"""Static checks of a spec: each a small named function that reports every offender, located.

The checks read the spec as data and never run it. Guards are analysed exactly as the spec
language defines them, in disjunctive normal form (`hasm.spec.guards.dnf`): every guard becomes
a disjunction of terms, each term a set of allowed values per variable, possible when the laws
that tie the variables hold. What a check calls reachable is an over-approximation: the state
pairs that transitions can lead to from the initial points when only their guards' possibility
is asked, not timers, services or users. So an unreachable state reported here really is
unreachable, while a lapse or an overlap reported in a reachable pair may still be one the exact
explorer never meets.

A spec accepts a finding on purpose in its `accepted:` section (check, offender, why and an
assumption); an accepted finding is still listed, marked accepted, and an acceptance that names
no current finding is itself a finding (`stale_acceptance`), so nothing is hidden and nothing
goes stale.

Warnings (`WARNINGS`) are listed but never fail the lint, and need no acceptance: they report
what the vendor advises against yet its own examples do (a parameter default below its
`advice`), so a spec may hold such a value on purpose and stay clean.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from hasm.errors import SpecError
from hasm.spec.guards import (
    Domains,
    Term,
    allows,
    conjoin,
    dnf,
    guard_tests,
    params_read,
    per_service_tests,
    spec_guards,
    swap,
)
from hasm.spec.located import KeyPath, Located, read_yaml
from hasm.spec.model import Acceptance, ReasonChoice, Spec, Target, Transition
from hasm.spec.params import broken_advice, resolve_params

__all__ = [
    "CHECKS",
    "WARNINGS",
    "Finding",
    "LintResult",
    "lint",
    "reachable_pairs",
    "render_json",
    "render_text",
]


# -- findings ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Finding:
    """One offender of one check: what, why, and where in the spec file."""

    check: str
    offender: str
    why: str
    file: str
    line: int | None
    accepted: Acceptance | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        text = f"{where}: {self.check}: {self.offender}: {self.why}"
        if self.accepted is not None:
            ref = f" [{self.accepted.assumption}]" if self.accepted.assumption else ""
            text = (
                f"{where}: accepted {self.check}: {self.offender}: {self.why} "
                f"(accepted at line {self.accepted.line}: {self.accepted.why}{ref})"
            )
        return text


@dataclass(frozen=True, slots=True)
class LintResult:
    """Every finding of every check: those the spec does not accept, and those it does."""

    spec: str
    findings: tuple[Finding, ...]
    accepted: tuple[Finding, ...]
    warnings: tuple[Finding, ...] = ()  # reported, never failing

    @property
    def clean(self) -> bool:
        return not self.findings


# -- what the checks share ---------------------------------------------------------------------------
Pair = tuple[str, str]


class _Context:
    """The spec, its file's lines, and the analyses more than one check uses, computed once."""

    def __init__(self, spec: Spec, located: Located | None) -> None:
        self.spec = spec
        self.located = located
        self.domains = Domains(spec)
        self.file = spec.path
        # A transition fires with its trigger: a timer's condition held until it fired.
        self.rule_terms: dict[str, list[Term]] = {}
        for t in spec.transitions:
            terms = dnf(t.when, self.domains)
            self.rule_terms[t.id] = terms
        self.pairs = self._reachable_pairs()

    def guard_when_fired(self, t: Transition, trigger: str) -> list[Term]:
        timer = self.spec.timers.get(trigger)
        terms = self.rule_terms[t.id]
        if timer is None:
            return terms
        return conjoin(dnf(timer.while_, self.domains), terms)

    def pair_allowed(self, term: Term) -> list[Pair]:
        """The statically reachable (node, peer) state pairs a term admits."""
        return [
            p
            for p in self.pairs
            if allows(term, "node.state", p[0]) and allows(term, "peer.state", p[1])
        ]

    def _reachable_pairs(self) -> tuple[Pair, ...]:
        # Abstract configurations: both nodes' states and whether HA is enabled, which only
        # transition effects change; everything else a guard reads is taken as possibly either.
        start = {(p.state, p.state, p.ha_enabled) for p in self.spec.initial.values()}
        seen: dict[tuple[str, str, bool], None] = dict.fromkeys(sorted(start))
        frontier = list(seen)
        fired = [
            (t, self.guard_when_fired(t, trigger))
            for t in self.spec.transitions
            for trigger in t.on
        ]
        while frontier:
            new: list[tuple[str, str, bool]] = []
            for a, b, ha in frontier:
                for t, terms in fired:
                    if not any(
                        allows(term, "node.state", a)
                        and allows(term, "peer.state", b)
                        and allows(term, "ha_enabled", ha)
                        for term in terms
                    ):
                        continue
                    on = "enable_ha" in t.effects or (ha and "disable_ha" not in t.effects)
                    after = (t.node.state or a, t.peer.state or b)
                    for x, y in (after, (after[1], after[0])):  # either node may play `node`
                        if (x, y, on) not in seen:
                            seen[(x, y, on)] = None
                            new.append((x, y, on))
            frontier = new
        return tuple(sorted({(a, b) for a, b, _ in seen}))

    def line(self, path: KeyPath) -> int | None:
        return self.located.line(path) if self.located is not None else None

    def finding(self, check: str, offender: str, why: str, path: KeyPath) -> Finding:
        return Finding(check, offender, why, self.file, self.line(path))

    def transition_index(self, tid: str) -> int:
        return next(i for i, t in enumerate(self.spec.transitions) if t.id == tid)


def _pairs_text(pairs: Iterable[Pair], limit: int = 6) -> str:
    shown = [f"{a}/{b}" for a, b in pairs]
    more = f" and {len(shown) - limit} more" if len(shown) > limit else ""
    return ", ".join(shown[:limit]) + more


# -- the checks ------------------------------------------------------------------------------------
def unreachable_state(ctx: _Context) -> Iterator[Finding]:
    """States that no sequence of transitions leads to from an initial point."""
    reached = {s for pair in ctx.pairs for s in pair}
    for sid in ctx.spec.states:
        if sid not in reached:
            yield ctx.finding(
                "unreachable_state",
                sid,
                "no transition leads to it from the initial points, even with every guard "
                "taken as possible whenever its states match",
                ("states", sid),
            )


def no_way_out(ctx: _Context) -> Iterator[Finding]:
    """States that no transition leaves, for the node in it or for its peer."""
    for sid in ctx.spec.states:
        if not any(_leaves(ctx, t, sid) for t in ctx.spec.transitions):
            yield ctx.finding(
                "no_way_out",
                sid,
                "no transition takes a node in this state (as node or as peer) to another state",
                ("states", sid),
            )


def _leaves(ctx: _Context, t: Transition, sid: str) -> bool:
    for side, target in (("node", t.node), ("peer", t.peer)):
        if target.state is None or target.state == sid:
            continue
        if any(allows(term, f"{side}.state", sid) for term in ctx.rule_terms[t.id]):
            return True
    return False


def _same_outcome(a: Transition, b: Transition, swapped: bool) -> bool:
    """Two rules whose firing changes the group the same way: no choice for the spec to make."""
    node_b, peer_b = (b.peer, b.node) if swapped else (b.node, b.peer)
    plain = all(not isinstance(x.reason, ReasonChoice) for x in (a.node, a.peer))
    return plain and (a.node, a.peer, a.effects) == (node_b, peer_b, b.effects)


def overlapping_guards(ctx: _Context) -> Iterator[Finding]:
    """Two rules with a common trigger whose guards can both hold for the same node (or, for a
    group event, one for each node): the spec gives two successors where it did not say so."""
    spec = ctx.spec
    for trigger in [*spec.events, *spec.timers]:
        rules = [t for t in spec.transitions if trigger in t.on]
        group = trigger in spec.events and "node" not in spec.events[trigger].fields
        for i, a in enumerate(rules):
            terms_a = ctx.guard_when_fired(a, trigger)
            for j in range(i, len(rules)):
                b = rules[j]
                for swapped in (False, True) if group else (False,):
                    if (i == j and not swapped) or _same_outcome(a, b, swapped):
                        continue
                    guard_b = swap(b.when) if swapped else b.when
                    both = conjoin(terms_a, dnf(guard_b, ctx.domains))
                    where = sorted({p for term in both for p in ctx.pair_allowed(term)})
                    if not where:
                        continue
                    roles = " (roles swapped)" if swapped else ""
                    yield ctx.finding(
                        "overlapping_guards",
                        f"{a.id} / {b.id}{roles}",
                        f"on {trigger}, both guards can hold at once, e.g. with node/peer in "
                        f"{_pairs_text(where)}; the spec gives two successors there",
                        ("transitions", ctx.transition_index(b.id)),
                    )


def unhandled_event(ctx: _Context) -> Iterator[Finding]:
    """An admin action that an `offered_only` invariant says belongs to a state (the guide's
    "you can initiate a fallback to this node") but that no transition takes in that state."""
    for index, inv in enumerate(ctx.spec.invariants):
        if inv.kind != "offered_only" or inv.action is None:
            continue
        required = dnf(inv.requires, ctx.domains)
        states = sorted({s for term in required for s in term.get("node.state", ())}, key=str)
        rules = [t for t in ctx.spec.transitions if inv.action in t.on]
        for state in states:
            here = conjoin(required, [{"node.state": frozenset({state})}])
            if any(conjoin(here, ctx.rule_terms[t.id]) for t in rules):
                continue
            yield ctx.finding(
                "unhandled_event",
                f"{inv.action} in {state}",
                f"invariant {inv.id} says {inv.action} belongs to a node in {state}, but no "
                f"transition on {inv.action} takes it there",
                ("invariants", index),
            )


def _guard_params(spec: Spec) -> set[str]:
    return params_read(spec_guards(spec, invariants="requires"))


def unused_parameter(ctx: _Context) -> Iterator[Finding]:
    """Parameters that no timer duration, guard or monitored service reads."""
    spec = ctx.spec
    used = _guard_params(spec)
    for timer in spec.timers.values():
        used |= {*timer.duration.min.params, *timer.duration.max.params}
    used |= {s.monitored_if for s in spec.services.values() if s.monitored_if is not None}
    for name in spec.parameters:
        if name not in used:
            yield ctx.finding(
                "unused_parameter",
                name,
                "no timer duration, guard or monitored_if reads it, so its value changes nothing",
                ("parameters", name),
            )


def unused_timer(ctx: _Context) -> Iterator[Finding]:
    """Node timers that no transition is triggered by."""
    triggers = {name for t in ctx.spec.transitions for name in t.on}
    for timer in ctx.spec.timers.values():
        if timer.per == "node" and timer.id not in triggers:
            yield ctx.finding(
                "unused_timer",
                timer.id,
                "no transition is triggered by it, so its firing never changes anything",
                ("timers", timer.id),
            )


def _produced_reasons(spec: Spec) -> set[str]:
    out = {p.reason for p in spec.initial.values()} | {spec.display.unreachable_reason}
    for t in spec.transitions:
        for target in (t.node, t.peer):
            out |= _target_reasons(target)
    return out


def _target_reasons(target: Target) -> set[str]:
    if isinstance(target.reason, ReasonChoice):
        return {target.reason.then, target.reason.otherwise}
    return {target.reason} if target.reason is not None else set()


def unused_reason(ctx: _Context) -> Iterator[Finding]:
    """Reasons that no transition, initial point or display rule ever gives a node."""
    produced = _produced_reasons(ctx.spec)
    for rid in ctx.spec.reasons:
        if rid not in produced:
            yield ctx.finding(
                "unused_reason",
                rid,
                "no transition, initial point or display rule gives it to a node",
                ("reasons", rid),
            )


def unused_service(ctx: _Context) -> Iterator[Finding]:
    """Services that no guard names and that SRM never monitors under the spec's parameters."""
    spec = ctx.spec
    own = per_service_tests(spec)
    named = {
        str(name)
        for g in spec_guards(spec, invariants="requires")
        for t in guard_tests(g)
        if t.prop in ("service_down", "service") and isinstance(t.value, tuple) and t not in own
        for name in t.value
    }
    for service in spec.services.values():
        if service.id in named or service.monitored_by_default or service.monitored_if:
            continue
        yield ctx.finding(
            "unused_service",
            service.id,
            "not monitored by default nor under a parameter, and no guard names it: stopping it "
            "changes nothing unless a trace header monitors it",
            ("services", service.id),
        )


def unused_assumption(ctx: _Context) -> Iterator[Finding]:
    """Assumptions that no element of the spec refers to."""
    spec = ctx.spec
    refs = {spec.display.assumption}
    for group in (
        spec.parameters.values(),
        spec.services.values(),
        spec.events.values(),
        spec.states.values(),
        spec.timers.values(),
        spec.readings.values(),
        spec.unserved.values(),
    ):
        refs |= {x.assumption for x in group}
    refs |= {t.assumption for t in spec.transitions}
    refs |= {a.assumption for a in spec.accepted}
    refs |= {i.assumption for i in spec.invariants}
    refs |= {e.assumption for i in spec.invariants for e in i.also}
    refs |= {t.assumption for v in spec.vocabularies.values() for t in v.terms.values()}
    for aid in spec.assumptions:
        if aid not in refs:
            yield ctx.finding(
                "unused_assumption",
                aid,
                "no parameter, service, event, state, timer, transition, display rule, acceptance"
                " or vocabulary term refers to it",
                ("assumptions", aid),
            )


def unsourced(ctx: _Context) -> Iterator[Finding]:
    """Parameters, states, timers and transitions with neither a source nor an assumption."""
    spec = ctx.spec
    items: list[tuple[str, str, tuple[str, ...], str | None, KeyPath]] = [
        ("parameter", p.name, p.sources, p.assumption, ("parameters", p.name))
        for p in spec.parameters.values()
    ]
    items += [
        ("state", s.id, s.sources, s.assumption, ("states", s.id)) for s in spec.states.values()
    ]
    items += [
        ("timer", t.id, t.sources, t.assumption, ("timers", t.id)) for t in spec.timers.values()
    ]
    items += [
        ("transition", t.id, t.sources, t.assumption, ("transitions", i))
        for i, t in enumerate(spec.transitions)
    ]
    for what, ident, sources, assumption, path in items:
        if not sources and assumption is None:
            yield ctx.finding(
                "unsourced",
                f"{what} {ident}",
                "it cites no source and no assumption; add 'source:' or 'assumption:'",
                path,
            )


def timer_lapses(ctx: _Context) -> Iterator[Finding]:
    """A node timer whose condition can hold when it fires with no transition taking it: it
    fires, nothing happens, and it starts again while its condition still holds. A `per:
    service` timer is named once by its entry, for the pairs any of its timers lapses in."""
    said = set()
    for timer in ctx.spec.timers.values():
        if timer.per != "node":
            continue
        rules = [t for t in ctx.spec.transitions if timer.id in t.on]
        open_terms = dnf(timer.while_, ctx.domains)
        for t in rules:
            open_terms = conjoin(open_terms, dnf(t.when, ctx.domains, negate=True))
            if not open_terms:
                break
        where = sorted({p for term in open_terms for p in ctx.pair_allowed(term)})
        for node_state, peer_state in where:
            offender = f"{timer.family} in {node_state}/{peer_state}"
            if offender in said:
                continue
            said.add(offender)
            yield ctx.finding(
                "timer_lapses",
                offender,
                f"while a node is {node_state} and its peer {peer_state} the timer can run and "
                "fire with no transition taking it; it lapses and starts again "
                f"(duration: {timer.duration})",
                ("timers", timer.family),
            )


CHECKS: Mapping[str, Callable[[_Context], Iterator[Finding]]] = {
    f.__name__: f
    for f in (
        unreachable_state,
        no_way_out,
        overlapping_guards,
        unhandled_event,
        unused_parameter,
        unused_timer,
        unused_reason,
        unused_service,
        unused_assumption,
        unsourced,
        timer_lapses,
    )
}
"""Every check by name, in the order `hasm lint` runs them; the names a spec's `accepted:` uses."""


def parameter_advice(ctx: _Context) -> Iterator[Finding]:
    """Parameter defaults below what the vendor advises (`advice:`): a warning."""
    for param, message in broken_advice(ctx.spec, resolve_params(ctx.spec)):
        yield ctx.finding(
            "parameter_advice", param.name, message, ("parameters", param.name, "default")
        )


WARNINGS: Mapping[str, Callable[[_Context], Iterable[Finding]]] = {
    check.__name__: check for check in (parameter_advice,)
}
"""The checks whose findings are warnings: listed, never failing, never to be accepted."""


def reachable_pairs(spec: Spec) -> tuple[Pair, ...]:
    """The (node, peer) state pairs that transitions can lead to from the initial points when
    every guard is taken as possible whenever its states and HA setting match: a superset of the
    pairs any run reaches, in sorted order."""
    return _Context(spec, None).pairs


# -- running them -----------------------------------------------------------------------------------
def lint(spec: Spec, located: Located | None = None) -> LintResult:
    """Run every check on a loaded spec. `located` gives the file's lines (read from the spec's
    path when not given)."""
    if located is None:
        located = read_yaml(spec.path, SpecError)
    ctx = _Context(spec, located)
    found = [f for check in CHECKS.values() for f in check(ctx)]
    accepted_by: dict[tuple[str, str], Acceptance] = {}
    stale: list[Finding] = []
    names = {(f.check, f.offender) for f in found}
    for index, acc in enumerate(spec.accepted):
        for offender in acc.offenders:
            if (acc.check, offender) in names:
                accepted_by[(acc.check, offender)] = acc
            else:
                stale.append(
                    ctx.finding(
                        "stale_acceptance",
                        f"{acc.check}: {offender}",
                        f"the spec accepts this finding, but {acc.check} does not report it; "
                        "remove it from 'accepted'",
                        ("accepted", index),
                    )
                )
    open_findings = [f for f in found if (f.check, f.offender) not in accepted_by]
    accepted = tuple(
        replace(f, accepted=accepted_by[(f.check, f.offender)])
        for f in found
        if (f.check, f.offender) in accepted_by
    )
    warnings = tuple(f for check in WARNINGS.values() for f in check(ctx))
    return LintResult(Path(spec.path).name, (*open_findings, *stale), accepted, warnings)


def render_text(result: LintResult, accepted: bool = False) -> list[str]:
    """The report: open findings, the accepted ones too if asked, then a summary line. Accepted
    findings are the spec's settled decisions; listing them all every time would bury a new
    finding among them, so by default the summary only counts them."""
    lines = [str(f) for f in result.findings]
    lines += [
        str(f).replace(f": {f.check}: ", f": warning {f.check}: ", 1) for f in result.warnings
    ]
    if accepted:
        lines += [str(f) for f in result.accepted]
    verdict = "clean" if result.clean else f"{len(result.findings)} finding(s)"
    more = "" if accepted or not result.accepted else " (--accepted lists them)"
    warned = f"; {len(result.warnings)} warning(s)" if result.warnings else ""
    lines.append(
        f"{result.spec}: {verdict}; {len(result.accepted)} accepted with a reason{more}{warned}"
    )
    return lines


def render_json(result: LintResult) -> str:
    def one(f: Finding) -> dict[str, object]:
        out: dict[str, object] = {
            "check": f.check,
            "offender": f.offender,
            "why": f.why,
            "file": f.file,
            "line": f.line,
        }
        if f.accepted is not None:
            out["accepted"] = {
                "why": f.accepted.why,
                "assumption": f.accepted.assumption,
                "line": f.accepted.line,
            }
        return out

    doc = {
        "spec": result.spec,
        "clean": result.clean,
        "findings": [one(f) for f in result.findings],
        "accepted": [one(f) for f in result.accepted],
        "warnings": [one(f) for f in result.warnings],
    }
    return json.dumps(doc, indent=2, sort_keys=False)
