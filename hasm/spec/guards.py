"""The guard algebra: what a guard tests, the guards of a spec, and a guard in words."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Literal

from hasm.spec.model import All, AnyOf, Guard, Not, ReasonChoice, Spec, Test

__all__ = [
    "InvariantGuards",
    "describe_guard",
    "guard_tests",
    "named_services",
    "params_read",
    "spec_guards",
]

InvariantGuards = Literal["all", "requires", "none"]
"""Which of an invariant's guards `spec_guards` yields: every one (`requires`, `from`, `when`,
`goal`, `since`), only `requires` (the condition under which the invariant applies), or none."""


def spec_guards(
    spec: Spec, *, reasons: bool = True, invariants: InvariantGuards = "all"
) -> Iterator[Guard]:
    """The guards of a spec, in spec order: each transition's `when` (and, with `reasons`, the
    `when` of its reason choices), each timer's `while`, then the invariants' guards chosen by
    `invariants`. Each reader asks for the guards whose meaning it needs, and says so here."""
    for t in spec.transitions:
        yield t.when
        if reasons:
            for target in (t.node, t.peer):
                if isinstance(target.reason, ReasonChoice):
                    yield target.reason.when
    for timer in spec.timers.values():
        yield timer.while_
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


def describe_guard(guard: Guard) -> str:
    """A guard in the spec's own notation, e.g. `node.state: [idle, failed_over], peer.state:
    backup`."""
    if isinstance(guard, All):
        return ", ".join(describe_guard(g) for g in guard.terms) or "always"
    if isinstance(guard, AnyOf):
        return "any of (" + "; ".join(describe_guard(g) for g in guard.terms) + ")"
    if isinstance(guard, Not):
        return f"not ({describe_guard(guard.term)})"
    return _describe_test(guard)


def _describe_test(test: Test) -> str:
    value = test.value
    if isinstance(value, tuple):
        shown = value[0] if len(value) == 1 else "[" + ", ".join(value) + "]"
    elif isinstance(value, bool):
        shown = "true" if value else "false"
    else:
        shown = f"{value:g}" if isinstance(value, float) else str(value)
    return f"{test.key}: {shown}"


def named_services(spec: Spec) -> frozenset[str]:
    """The services some guard of the spec names (`service_down`, `event.service`): the only
    services the spec tells apart from the others."""
    return frozenset(
        name
        for g in spec_guards(spec)
        for t in guard_tests(g)
        if t.prop == "service_down" or t.subject == "event"
        for name in (t.value if isinstance(t.value, tuple) else ())
    )
