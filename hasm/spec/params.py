"""Parameter values for a run: the spec's defaults, overridden, type- and range-checked."""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping

from hasm.errors import ParameterError, Problem
from hasm.spec.model import Expr, Parameter, ParamValue, Spec

__all__ = ["broken_advice", "evaluate", "parameter_warnings", "resolve_params"]


def resolve_params(
    spec: Spec,
    overrides: Mapping[str, object] | None = None,
    *,
    file: str = "(parameters)",
    lines: Mapping[str, int] | None = None,
    path: str = "params",
) -> dict[str, ParamValue]:
    """The spec's defaults with `overrides` applied. Every problem is reported at once, located
    at `file` and the override's line when `lines` gives it."""
    values: dict[str, ParamValue] = dict(spec.defaults)
    problems: list[Problem] = []

    def bad(name: str, message: str, fix: str = "") -> None:
        line = (lines or {}).get(name)
        problems.append(Problem(file, line, f"{path}.{name}", message, fix))

    for name, value in (overrides or {}).items():
        param = spec.parameters.get(name)
        if param is None:
            close = difflib.get_close_matches(name, list(spec.parameters), n=1)
            bad(
                name,
                f"unknown parameter '{name}'",
                f"did you mean '{close[0]}'?" if close else f"known: {', '.join(spec.parameters)}",
            )
            continue
        if param.type == "boolean":
            if not isinstance(value, bool):
                bad(name, f"expected true or false, got {value!r}")
                continue
            values[name] = value
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not _finite(value):
            bad(name, f"expected a finite number of seconds, got {value!r}")
            continue
        assert param.range is not None  # the loader requires a range for seconds
        low, high = param.range
        if not low <= value <= high:
            bad(
                name,
                f"{value:g} s is outside the range [{low:g}, {high:g}]",
                f"use a value in [{low:g}, {high:g}]",
            )
            continue
        values[name] = float(value)
    if not problems:
        problems.extend(_duration_problems(spec, values, file, path))
    if problems:
        raise ParameterError(problems)
    return values


def _finite(value: float) -> bool:
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an integer too large for a float
        return False


def evaluate(expr: Expr, values: Mapping[str, ParamValue]) -> float:
    """The value of a duration expression under `values`."""
    total = 0.0
    for sign, term in expr.terms:
        total += sign * (float(values[term]) if isinstance(term, str) else term)
    return total


def _duration_problems(
    spec: Spec, values: Mapping[str, ParamValue], file: str, path: str
) -> list[Problem]:
    """Timer windows must be non-negative and not inverted under the chosen values."""
    out = []
    for timer in spec.timers.values():
        low, high = evaluate(timer.duration.min, values), evaluate(timer.duration.max, values)
        names = sorted(set(timer.duration.min.params + timer.duration.max.params))
        shown = ", ".join(f"{n} = {values[n]:g}" for n in names)
        if low < 0 or high < low:
            out.append(
                Problem(
                    file,
                    None,
                    path,
                    f"timer '{timer.id}' would run {timer.duration} = [{low:g}, {high:g}] s, "
                    f"which is impossible ({shown})",
                    "choose values that make the window non-negative with min <= max",
                )
            )
    return out


def parameter_warnings(spec: Spec, values: Mapping[str, ParamValue]) -> list[str]:
    """What the spec's parameter advice says about `values` (resolved parameters: a spec's
    defaults, or a trace header's): one line per value below what the vendor asks, with the
    source. A warning, never an error - the vendor's own examples break some of it, and a
    system configured that way still behaves by the spec."""
    return [message for _, message in broken_advice(spec, values)]


def broken_advice(spec: Spec, values: Mapping[str, ParamValue]) -> list[tuple[Parameter, str]]:
    """Each parameter whose value in `values` is below what its advice asks, with the warning."""
    out = []
    for param in spec.parameters.values():
        for advice in param.advice:
            floor = evaluate(advice.at_least, values)
            value = float(values[param.name])
            if value < floor:
                terms = advice.at_least.terms
                single = len(terms) == 1 and terms[0][0] == 1 and isinstance(terms[0][1], str)
                parts = ", ".join(f"{n} = {float(values[n]):g} s" for n in advice.at_least.params)
                floor_shown = f"{advice.at_least} = {floor:g} s" + ("" if single else f" ({parts})")
                out.append(
                    (
                        param,
                        f"{param.name} = {value:g} s is below {floor_shown}; "
                        f"{', '.join(advice.sources)}: {advice.why}",
                    )
                )
    return out
