"""The guard algebra: what a guard tests, the guards of a spec, and a guard in words."""

from __future__ import annotations

from collections.abc import Iterator

from hasm.spec.model import All, AnyOf, Guard, Not, Spec, Test

__all__ = ["describe_guard", "guard_tests", "named_services"]


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

    guards: list[Guard] = [t.when for t in spec.transitions]
    guards += [
        target.reason.when
        for t in spec.transitions
        for target in (t.node, t.peer)
        if target.reason is not None and not isinstance(target.reason, str)
    ]
    guards += [t.while_ for t in spec.timers.values()]
    for inv in spec.invariants:
        guards += [inv.requires, inv.from_, inv.when, inv.goal]
        if inv.since is not None:
            guards.append(inv.since)
    return frozenset(
        name
        for g in guards
        for t in guard_tests(g)
        if t.prop == "service_down" or t.subject == "event"
        for name in (t.value if isinstance(t.value, tuple) else ())
    )
