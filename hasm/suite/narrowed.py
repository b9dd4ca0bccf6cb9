"""The narrowed-window twins: a variant with every timer window as narrow as the parameter ranges
allow, each deadline unchanged, and a case planned again under it, where its observations pin
what the default windows leave open."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from hasm.errors import HasmError
from hasm.spec.guards import params_read, spec_guards
from hasm.spec.model import ParamValue, Spec
from hasm.spec.params import evaluate, resolve_params
from hasm.suite.plans import Plan
from hasm.suite.reach import Variant
from hasm.trace.records import param_value

__all__ = ["accepts", "narrowed_twin", "narrowed_variant"]


def narrowed_twin(plan: Plan, variant: Variant) -> Plan:
    """The plan again under `variant`, its narrowed variant: the same operations."""
    return dataclasses.replace(
        plan,
        title=f"{plan.title} (timer windows narrowed to their deadlines)",
        variant=variant,
        slug=f"{plan.slug}-narrowed",
        pin=False,
    )


def narrowed_variant(
    spec: Spec, variant: Variant, fixed: Mapping[str, ParamValue]
) -> Variant | None:
    """The variant with every timer window as narrow as the parameter ranges allow, each
    window's close (the deadline) unchanged; None if nothing narrows.

    Only a time parameter that some window's opening reads and no window's close reads is
    moved (and none `fixed` or read by a guard): so every deadline, hence every path the search
    found (it fires everything at its deadline), is the same under the narrowed variant. Each
    such parameter takes, in spec order, the value among its range ends and the values that
    close some window entirely that leaves the windows narrowest in total and is accepted."""
    timers = list(spec.timers.values())
    closes = {p for t in timers for p in t.duration.max.params}
    read = params_read(spec_guards(spec, reasons=False, invariants="none"))
    values: dict[str, ParamValue] = dict(variant.params)

    def width(chosen: Mapping[str, ParamValue]) -> float:
        return sum(
            evaluate(t.duration.max, chosen) - evaluate(t.duration.min, chosen) for t in timers
        )

    for name, p in spec.parameters.items():
        opens = [t for t in timers if name in t.duration.min.params]
        if p.type != "seconds" or p.range is None or not opens:
            continue
        if name in closes or name in fixed or name in read:
            continue
        options: list[float] = [float(values[name]), *p.range]
        for t in opens:
            sign = sum(s for s, term in t.duration.min.terms if term == name)
            if sign:
                rest = evaluate(t.duration.min, values) - sign * float(values[name])
                options.append((evaluate(t.duration.max, values) - rest) / sign)
        best: tuple[float, int] | None = None
        for i, value in enumerate(options):
            chosen = {**values, name: value}
            overrides = {k: v for k, v in chosen.items() if v != spec.defaults[k]}
            if not accepts(spec, overrides):
                continue
            if best is None or (width(chosen), i) < best:
                best = (width(chosen), i)
        if best is not None:
            values[name] = options[best[1]]
    if values == dict(variant.params):
        return None
    overrides = {k: v for k, v in values.items() if v != spec.defaults[k]}
    moved = ", ".join(f"{k}={param_value(v)}" for k, v in values.items() if v != variant.params[k])
    return Variant(values, overrides, f"{variant.label}; narrowed: {moved}")


def accepts(spec: Spec, overrides: Mapping[str, ParamValue]) -> bool:
    """Does the spec accept a header with these parameter overrides?"""
    try:
        resolve_params(spec, overrides)
    except HasmError:
        return False
    return True
