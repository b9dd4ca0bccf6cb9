"""The guard algebra: what a guard tests, its static readings, and a guard in words."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from hasm.spec.model import All, AnyOf, Guard, Not, ReasonChoice, Spec, Test

__all__ = [
    "SPEC_NOTATION",
    "SUITE_NOTATION",
    "Decide",
    "Domains",
    "InvariantGuards",
    "Notation",
    "Term",
    "allows",
    "conjoin",
    "conjuncts",
    "describe_guard",
    "dnf",
    "either",
    "guard_tests",
    "named_services",
    "needs_a_yes",
    "params_read",
    "per_service_tests",
    "spec_guards",
    "states_known",
    "swap",
    "verdict",
    "word_notation",
]

InvariantGuards = Literal["all", "requires", "none"]
"""Which of an invariant's guards `spec_guards` yields: every one (`requires`, `from`, `when`,
`goal`, `since`), only `requires` (the condition under which the invariant applies), or none."""

_SIDES = ("node", "peer")


# -- the guards of a spec and what they test -----------------------------------------------------
def spec_guards(
    spec: Spec, *, reasons: bool = True, invariants: InvariantGuards = "all"
) -> Iterator[Guard]:
    """The guards of a spec, in spec order: each transition's `when` (and, with `reasons`, the
    `when` of its reason choices), each timer's `while`, each `unserved` condition's `while`,
    then the invariants' guards chosen by `invariants`. Each reader asks for the guards whose
    meaning it needs, and says so here."""
    for t in spec.transitions:
        yield t.when
        if reasons:
            for target in (t.node, t.peer):
                if isinstance(target.reason, ReasonChoice):
                    yield target.reason.when
    for timer in spec.timers.values():
        yield timer.while_
    for unserved in spec.unserved.values():
        yield unserved.while_
    if invariants == "none":
        return
    for inv in spec.invariants:
        yield inv.requires
        if invariants == "all":
            yield from (inv.from_, inv.when, inv.goal)
            if inv.since is not None:
                yield inv.since


def params_read(guards: Iterable[Guard]) -> set[str]:
    """The parameters the guards test (`param.NAME: value`)."""
    return {t.prop for g in guards for t in guard_tests(g) if t.subject == "param"}


def guard_tests(guard: Guard) -> Iterator[Test]:
    """Every test of a guard, in the order written (through all, any and not)."""
    if isinstance(guard, All | AnyOf):
        for term in guard.terms:
            yield from guard_tests(term)
    elif isinstance(guard, Not):
        yield from guard_tests(guard.term)
    else:
        yield guard


def named_services(spec: Spec) -> frozenset[str]:
    """The services some guard of the spec names (`service_down`, `event.service`): the only
    services the spec tells apart from the others. A `per: service` timer's own service test
    names none: its timers treat every service alike."""
    own = per_service_tests(spec)
    return frozenset(
        name
        for g in spec_guards(spec)
        for t in guard_tests(g)
        if (t.prop == "service_down" or t.subject == "event") and t not in own
        for name in (t.value if isinstance(t.value, tuple) else ())
    )


def per_service_tests(spec: Spec) -> frozenset[Test]:
    """The service tests the loader adds to a `per: service` timer's timers, one each: not a
    service the spec names, as its timers treat every service alike."""
    return frozenset(
        Test("node", "service_down", (t.service,)) for t in spec.timers.values() if t.service
    )


def needs_a_yes(guard: Guard) -> bool:
    """Does the guard need some reading answered yes (a conjunct `reading.ID: true`)? What
    follows only the default answers - the simulator, the generated suites - never meets it."""
    return any(
        isinstance(t, Test) and t.subject == "reading" and t.value is True for t in conjuncts(guard)
    )


# -- rewriting guards ------------------------------------------------------------------------------
def conjuncts(guard: Guard) -> tuple[Guard, ...]:
    """A guard's top-level conditions (a mapping's entries), each of which it needs."""
    return guard.terms if isinstance(guard, All) else (guard,)


def swap(guard: Guard) -> Guard:
    """The guard with the roles of node and peer exchanged."""
    if isinstance(guard, Test):
        if guard.subject in _SIDES:
            return replace(guard, subject="peer" if guard.subject == "node" else "node")
        return guard
    if isinstance(guard, Not):
        return Not(swap(guard.term))
    if isinstance(guard, All):
        return All(tuple(swap(g) for g in guard.terms))
    return AnyOf(tuple(swap(g) for g in guard.terms))


# -- a static reading: three-valued logic ------------------------------------------------------------
Decide = Callable[[Test], bool | None]
"""What a static reading knows of a test: that it holds, that it does not, or None (unknown)."""


def verdict(guard: Guard, decide: Decide) -> bool | None:
    """The guard read statically, in three-valued (Kleene) logic: True or False when the tests
    that `decide` settles settle it, None when the rest of the guard decides."""
    if isinstance(guard, Test):
        return decide(guard)
    if isinstance(guard, Not):
        inner = verdict(guard.term, decide)
        return None if inner is None else not inner
    parts = [verdict(g, decide) for g in guard.terms]
    if isinstance(guard, AnyOf):
        if any(p is True for p in parts):
            return True
        return False if all(p is False for p in parts) else None
    if any(p is False for p in parts):
        return False
    return True if all(p is True for p in parts) else None


def states_known(states: Mapping[str, str]) -> Decide:
    """Settles the state tests of the sides given (`node`, `peer`: a state id each), as
    `Model.compile` reads a state test: a tuple of ids, anything else matches nothing."""

    def decide(test: Test) -> bool | None:
        state = states.get(test.subject) if test.prop == "state" else None
        if state is None:
            return None
        return isinstance(test.value, tuple) and state in test.value

    return decide


# -- a static reading: guards as sets of possible values ---------------------------------------------
_LINK = ("link_up", "node.up", "node.srm_running", "peer.up", "peer.srm_running")
_OTHER = "(another value)"  # a seconds parameter's value other than those the guards test
_NO_SERVICE = "(none)"  # the event's service when the event names none
Term = Mapping[str, frozenset[object]]
"""One way for a guard to hold: the values each variable it names may take (a node's state,
reason, up and SRM flags, `node.down.SERVICE`, the link, HA, a parameter, the event's service);
a variable it does not name may take any value."""
_BOOL: frozenset[object] = frozenset((True, False))


class Domains:
    """The values each variable of a guard can take, from the spec's own declarations."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        tested: dict[str, set[object]] = {}
        for guard in spec_guards(spec, invariants="requires"):
            for test in guard_tests(guard):
                if test.subject == "param":
                    tested.setdefault(test.prop, set()).add(test.value)
        self.params = {
            name: _BOOL if p.type == "boolean" else frozenset({*tested.get(name, ()), _OTHER})
            for name, p in spec.parameters.items()
        }

    def of(self, var: str) -> frozenset[object]:
        side, _, prop = var.partition(".")
        if side in _SIDES and prop == "state":
            return frozenset(self.spec.states)
        if side in _SIDES and prop == "reason":
            return frozenset(self.spec.reasons)
        if side == "param":
            return self.params.get(prop, frozenset({_OTHER}))
        if var == "event.service":
            return frozenset({*self.spec.services, _NO_SERVICE})
        return _BOOL


def dnf(guard: Guard, domains: Domains, negate: bool = False) -> list[Term]:
    """The guard (or its negation) in disjunctive normal form, as a list of the terms the laws
    allow: it holds exactly when one does. The laws tie the variables together: connected means
    the link and both nodes and SRMs are up; an SRM runs only on a node that is up; a monitored
    service down means the node has a monitored service down."""
    if isinstance(guard, Test):
        lits = _literals(guard)
        if not negate:
            return [t for t in lits if _possible(t)]
        # not (l1 or l2 ...) = (not l1) and (not l2) ...
        out: list[Term] = [{}]
        for lit in lits:
            ((var, values),) = lit.items()
            rest = domains.of(var) - values
            if not rest:
                return []
            out = conjoin(out, [{var: rest}])
        return out
    if isinstance(guard, Not):
        return dnf(guard.term, domains, not negate)
    conjunctive = isinstance(guard, All) != negate
    parts = [dnf(g, domains, negate) for g in guard.terms]
    if conjunctive:
        out = [{}]
        for part in parts:
            out = conjoin(out, part)
            if not out:
                break
        return out
    return [t for part in parts for t in part]


def conjoin(left: list[Term], right: list[Term]) -> list[Term]:
    """Both guards in disjunctive normal form: every pair of terms that the laws allow together."""
    out: list[Term] = []
    for a in left:
        for b in right:
            term = _conjoin_terms(a, b)
            if term is not None and _possible(term):
                out.append(term)
    return out


def allows(term: Term, var: str, value: object) -> bool:
    """Does the term let the variable take the value?"""
    return var not in term or value in term[var]


def _literals(test: Test) -> list[dict[str, frozenset[object]]]:
    """A test as a disjunction of one-variable terms (a service test holds if any service in it
    is down, so it is one term per service)."""
    value = test.value
    if test.subject == "group":
        return [{test.prop: frozenset({value})}]
    if test.subject == "param":
        return [{f"param.{test.prop}": frozenset({value})}]
    if test.subject == "event":
        names = value if isinstance(value, tuple) else ()
        return [{"event.service": frozenset(names)}]
    var = f"{test.subject}.{test.prop}"
    if test.prop in ("state", "reason"):
        names = value if isinstance(value, tuple) else ()
        return [{var: frozenset(names)}]
    if test.prop == "service_down":
        names = value if isinstance(value, tuple) else ()
        return [{f"{test.subject}.down.{s}": frozenset({True})} for s in names]
    return [{var: frozenset({value})}]


def _conjoin_terms(a: Term, b: Term) -> dict[str, frozenset[object]] | None:
    out = dict(a)
    for var, values in b.items():
        both = out[var] & values if var in out else values
        if not both:
            return None
        out[var] = both
    return out


def _possible(term: Term) -> bool:
    """Do the laws that tie the variables together leave the term a value?"""
    for side in _SIDES:
        if not any(  # an SRM runs only on a node that is up
            allows(term, f"{side}.up", up) and allows(term, f"{side}.srm_running", srm)
            for up, srm in ((True, True), (True, False), (False, False))
        ):
            return False
        down = [v for v in term if v.startswith(f"{side}.down.")]
        forced_down = any(term[v] == {True} for v in down)
        if forced_down and not allows(term, f"{side}.monitored_down", True):
            return False
    for values in itertools.product((True, False), repeat=len(_LINK)):
        _link, n_up, n_srm, p_up, p_srm = values
        if (n_srm and not n_up) or (p_srm and not p_up):
            continue
        if not all(allows(term, var, v) for var, v in zip(_LINK, values, strict=True)):
            continue
        if allows(term, "connected", all(values)):
            return True
    return False


# -- a guard in words ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Notation:
    """How a guard is written: its tests, and what goes before, between and after the terms of
    `all`, `any` and `not`."""

    test: Callable[[Test], str]
    all: tuple[str, str, str]
    any: tuple[str, str, str]
    not_: tuple[str, str]
    always: str | None = None  # an `all` of no terms, when not written as an empty one


def _spec_test(test: Test) -> str:
    value = test.value
    if isinstance(value, tuple):
        shown = value[0] if len(value) == 1 else "[" + ", ".join(value) + "]"
    elif isinstance(value, bool):
        shown = "true" if value else "false"
    else:
        shown = f"{value:g}" if isinstance(value, float) else str(value)
    return f"{test.key}: {shown}"


SPEC_NOTATION = Notation(
    test=_spec_test,
    all=("", ", ", ""),
    any=("any of (", "; ", ")"),
    not_=("not (", ")"),
    always="always",
)
"""The spec's own notation, for messages and diagrams: `node.state: [idle, failed_over]`."""


def _suite_test(test: Test) -> str:
    value = test.value
    shown = f"[{', '.join(value)}]" if isinstance(value, tuple) else json.dumps(value)
    return f"{test.key}: {shown}"


SUITE_NOTATION = Notation(
    test=_suite_test, all=("{", ", ", "}"), any=("any of [", "; ", "]"), not_=("not {", "}")
)
"""The notation of the conformance suite's case titles: `node.state: [normal]`, `not {...}`."""


def describe_guard(guard: Guard, notation: Notation = SPEC_NOTATION) -> str:
    """A guard in a notation; by default the spec's own, e.g. `node.state: [idle, failed_over],
    peer.state: backup`."""
    if isinstance(guard, Test):
        return notation.test(guard)
    if isinstance(guard, Not):
        before, after = notation.not_
        return before + describe_guard(guard.term, notation) + after
    if isinstance(guard, All) and not guard.terms and notation.always is not None:
        return notation.always
    before, between, after = notation.all if isinstance(guard, All) else notation.any
    return before + between.join(describe_guard(g, notation) for g in guard.terms) + after


def either(names: Iterable[str]) -> str:
    """Names as alternatives in words: `a`, `a or b`, `a, b or c` (quoted if one says "or")."""
    items = list(names)
    if len(items) > 1 and any(" or " in item for item in items):
        items = [f'"{item}"' for item in items]  # a label that itself says "or"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def word_notation(spec: Spec) -> Notation:
    """Plain words, with the spec's labels and names, for the review document: "node is Idle or
    Failed Over; peer is Running in Backup Mode"."""
    return Notation(
        test=lambda test: _test_words(test, spec),
        all=("", "; ", ""),
        any=("either (", ") or (", ")"),
        not_=("not (", ")"),
        always="always",
    )


def _test_words(test: Test, spec: Spec) -> str:
    value = test.value
    names = value if isinstance(value, tuple) else ()
    truth = value is True
    if test.subject == "group":
        words = {
            "ha_enabled": ("HA is enabled", "HA is disabled"),
            "link_up": ("the link is up", "the link is down"),
            "connected": ("the nodes hear each other", "the nodes do not hear each other"),
        }[test.prop]
        return words[0] if truth else words[1]
    if test.subject == "param":
        shown = ("true" if value else "false") if isinstance(value, bool) else f"{value:g} s"
        return f"{test.prop} is {shown}"
    if test.subject == "event":
        return "the event's service is " + either(spec.services[s].name for s in names)
    if test.subject == "reading":
        return f"the reading {test.prop} is {'yes' if truth else 'no'}"
    who = "node" if test.subject == "node" else "peer"
    if test.prop == "state":
        return f"{who} is " + either(spec.states[s].label for s in names)
    if test.prop == "reason":
        return f"{who}'s reason is " + either(spec.reasons[r].label for r in names)
    if test.prop == "service_down":
        return either(spec.services[s].name for s in names) + f" is down on {who}"
    phrases = {
        "up": (f"{who} is up", f"{who} is down"),
        "srm_running": (f"{who}'s SRM runs", f"{who}'s SRM is stopped"),
        "monitored_down": (
            f"a monitored service is down on {who}",
            f"every monitored service runs on {who}",
        ),
    }[test.prop]
    return phrases[0] if truth else phrases[1]
