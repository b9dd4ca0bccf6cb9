"""Conformance suites: trace format v1 files that exercise everything a spec says, with an index.

`generate(spec, params)` searches the spec's configurations breadth first and turns the
shortest path to each target into a trace that another implementation replays (apply the
events at their times, compare the observations) or that `hasm check` checks. The targets:

- every transition of the spec (the path's last step fires it);
- every state pair the page can show, each node's (state, reason);
- every timer at its boundaries: just before its window opens, at its opening, at its close,
  just after it, and at the close widened by the suite's tolerance (checked with
  `--tolerance`); where firing changes what the page shows, a claim of the fired page just
  before the window and of the unfired page just after it are *negative* cases;
- every admin action where the spec offers it (positive) and, in every state pair reached,
  where it does not (negative: the event line itself diverges);
- every time parameter at the ends of its range (the header's `params`).

**The search.** From each starting point of the spec (one user homed on each node), a step is
either an event now - every event of the spec with every node, every service some guard names
plus one other monitored service, every cohort - or *waiting*: the clock runs to the next
deadline, what is due there fires (every order, when several are), and the clock moves on by
`epsilon` so that the next event is not at the deadline's very instant. Timers thus fire at
their deadlines, the latest the spec allows; a timer's earlier firing times are the boundary
cases' business. Boolean parameters that a guard reads are explored both ways (parameter
variants), the others keep their values; the first variant to reach a target covers it.

**Observations pin only what the spec determines.** After each step the file observes, at
that time, the fields on which every behaviour of the spec consistent with the file so far
agrees - the oracle's candidates are asked - and leaves the others out. So a conforming
implementation, whatever it chose within the spec's bounds, shows exactly what each
observation says; and the positive files conform by construction. Every file is checked with
the oracle as it is made: positives conform, negatives diverge at their expected line (a
target whose case the spec does not pin is listed as uncovered, with why).

**Negative cases** are marked in the index, never in the trace (trace format v1's header has
fixed keys): `expect` is `{"verdict": "diverges", "line": N}` for them and
`{"verdict": "conforms"}` otherwise, with `tolerance` where the file must be checked with
`--tolerance`. The header's `group` (a name "for reports only") carries the case's title, so
each file says what it covers.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hasm.core.config import EventInput
from hasm.errors import ConformanceError, HasmError, SuiteError
from hasm.spec.guards import conjuncts, needs_a_yes
from hasm.spec.model import ParamValue, ReasonChoice, Spec
from hasm.suite.boundaries import TIMER_SIDES, timer_plans
from hasm.suite.cases import NODE_NAMES, USER_NAMES, Case, Suite
from hasm.suite.narrowed import narrowed_twin, narrowed_variant
from hasm.suite.observe import action_name
from hasm.suite.plans import (
    Plan,
    admin_plans,
    condition_plans,
    effect_plans,
    pair_plans,
    param_plans,
    transition_plans,
    while_plans,
)
from hasm.suite.reach import MAX_DEPTH, MAX_FAULTS, Reached, Search, Variant, variants
from hasm.suite.witnesses import Collector
from hasm.suite.write import CaseWriter, Claim, case_header, check_verdict
from hasm.trace.records import HeaderLine, encode_line, number, param_value

__all__ = ["SLUG_LENGTH", "TimeLimitReached", "generate"]

# A case file's name is its number, its slug and `.jsonl`: a slug of at most this many
# characters keeps it far below the 255 bytes most file systems allow in a name.
SLUG_LENGTH = 120


class TimeLimitReached(Exception):
    """`generate` ran past its deadline; the message says how far it got. No suite is made:
    a suite cut short covers an arbitrary part of the spec, so there is nothing to write."""


def _out_of_range_cases(spec: Spec, fixed: Mapping[str, ParamValue], done: int) -> list[Case]:
    """Each time parameter just outside each end of its range: the header is bad input."""
    out: list[Case] = []
    users = dict(zip(USER_NAMES, NODE_NAMES, strict=True))
    for name, p in spec.parameters.items():
        if p.type != "seconds" or p.range is None or name in fixed:
            continue
        for end, value in (("below", p.range[0] - 1), ("above", p.range[1] + 1)):
            title = f"parameter {name} {end} its range ({value:g} s): the header is refused"
            params = {**{k: param_value(v) for k, v in fixed.items()}, name: number(value)}
            initial = next(iter(spec.initial))
            header = HeaderLine(list(NODE_NAMES), users, initial, params=params, group=title)
            text = encode_line(header.json()) + "\n"
            refused = check_verdict(spec, text) == ("input_error", 1)
            if not refused:  # pragma: no cover - a range is checked
                continue
            name_ = f"{done + len(out) + 1:04d}-param-{name}-{end}.jsonl"
            out.append(Case(name_, title, (f"param:{name}:{end}",), text, "input_error", 1))
    return out


def _targets(
    spec: Spec, col: Collector, fixed: Mapping[str, ParamValue]
) -> dict[str, tuple[str, ...]]:
    """Every coverage item the suite aims at, by kind."""
    reasons = []
    for t in spec.transitions:
        for side in ("node", "peer"):
            choice = getattr(t, side).reason
            if isinstance(choice, ReasonChoice) and choice.then != choice.otherwise:
                reasons += [f"{t.id}:{side}:then", f"{t.id}:{side}:else"]
    admin = []
    for e in spec.events.values():
        if e.kind == "admin":
            nodes: tuple[int | None, ...] = (0, 1) if "node" in e.fields else (None,)
            for n in nodes:
                name = action_name(EventInput(e.id, n))
                admin += [f"{name}:offered", f"{name}:refused"]
    return {
        "transition": tuple(t.id for t in spec.transitions),
        "reason": tuple(reasons),
        "condition": tuple(
            f"{t.id}:{i + 1}" for t in spec.transitions for i in range(len(conjuncts(t.when)))
        ),
        "guard": tuple(t.id for t in spec.transitions if conjuncts(t.when)),
        "effect": tuple(f"{t.id}:{e}" for t in spec.transitions for e in t.effects),
        "while": tuple(
            f"{x.id}:{i + 1}"
            for x in spec.timers.values()
            if x.per == "node"
            for i in range(len(conjuncts(x.while_)))
        ),
        "pair": tuple(f"{a}|{b}" for a, b in col.pairs),
        # The suites follow the readings' default answers: a timer only a yes runs is no target.
        "timer": tuple(
            f"{t.id}:{s}"
            for t in spec.timers.values()
            if not needs_a_yes(t.while_)
            for s in TIMER_SIDES
        ),
        "admin": tuple(admin),
        "param": tuple(
            f"{n}:{end}"
            for n, p in spec.parameters.items()
            if p.type == "seconds" and n not in fixed
            for end in ("low", "high", "below", "above")
        ),
    }


def generate(
    spec: Spec,
    params: Mapping[str, ParamValue] | None = None,
    *,
    progress: Callable[[str], None] | None = None,
    deadline: float | None = None,
) -> Suite:
    """The conformance suite of `spec` under parameter overrides `params` (checked: a bad
    override raises ParameterError). Deterministic: the same spec and overrides give the same
    suite, byte for byte. Past `deadline` (a `time.monotonic()` moment) it raises
    TimeLimitReached, between two steps of the search or two cases."""
    fixed = dict(params or {})
    col = Collector(spec)
    every = variants(spec, fixed)
    for number_, variant in enumerate(every, 1):
        search = Search(spec, variant)
        visit = col.visitor(search)
        if progress is not None:
            visit = _told(visit, search, variant, progress)
        if deadline is not None:
            where = f"variant {number_} of {len(every)} ({variant.label})"
            visit = _timed(visit, search, where, deadline)
        search.run(visit)
        if progress is not None:
            progress(f"searched variant {variant.label}: {len(search.seen)} configurations")
    uncovered: dict[str, str] = {}
    plans = [
        *transition_plans(spec, col),
        *condition_plans(spec, col),
        *effect_plans(spec, col),
        *while_plans(spec, col),
        *pair_plans(spec, col),
        *timer_plans(spec, col, uncovered),
        *admin_plans(spec, col),
        *param_plans(spec, fixed, uncovered),
    ]
    cases = _write_cases(spec, plans, uncovered, progress, fixed, deadline)
    cases += _out_of_range_cases(spec, fixed, len(cases))
    targets = _targets(spec, col, fixed)
    covered = {item for case in cases for item in case.covers}
    bound = (
        f"(events at instants, timers at their deadlines, at most {MAX_FAULTS} faults at "
        f"once, {MAX_DEPTH} steps)"
    )
    why = {
        "condition": "the search reached no step where the trigger happens with every other "
        "condition holding " + bound,
        "while": "the search reached no configuration where every other condition holds " + bound,
        "guard": "the search reached no step where the trigger happens, the guard fails and "
        "firing the transition would change the page " + bound,
        "effect": "the search reached no step where the transition fires and the effect "
        "changes anything " + bound,
    }
    for kind, items in targets.items():
        for item in items:
            key = f"{kind}:{item}"
            if key not in covered:
                uncovered.setdefault(key, why.get(kind, "not reached by the search " + bound))
    return Suite(spec.id, fixed, tuple(cases), targets, uncovered)


def _told(
    visit: Callable[[tuple[Any, ...], Reached], None],
    search: Search,
    variant: Variant,
    progress: Callable[[str], None],
) -> Callable[[tuple[Any, ...], Reached], None]:
    """`visit`, telling `progress` how far the search is every 1,024 calls (the caller shows
    what it wants of it); what the search finds is the same."""
    calls = itertools.count()

    def told(key: tuple[Any, ...], reached: Reached) -> None:
        visit(key, reached)
        if not next(calls) & 0x3FF:
            progress(f"searching variant {variant.label}: {len(search.seen):,} configurations")

    return told


def _timed(
    visit: Callable[[tuple[Any, ...], Reached], None],
    search: Search,
    where: str,
    deadline: float,
) -> Callable[[tuple[Any, ...], Reached], None]:
    """`visit`, raising TimeLimitReached once the clock passes `deadline` (the search hears of
    every step through it, so this is the one place between steps to look)."""

    def timed(key: tuple[Any, ...], reached: Reached) -> None:
        if time.monotonic() >= deadline:
            raise TimeLimitReached(
                f"the search was at {where}, {len(search.seen):,} configurations"
            )
        visit(key, reached)

    return timed


def _write_cases(
    spec: Spec,
    plans: Sequence[Plan],
    uncovered: dict[str, str],
    progress: Callable[[str], None] | None,
    fixed: Mapping[str, ParamValue],
    deadline: float | None = None,
) -> list[Case]:
    """Write each plan's trace and check it; merge plans that give the same trace.

    A plan marked `pin` is also written with its variant's timer windows narrowed to their
    deadlines (`narrowed_variant`): the same events at the same times, every timer and client still
    due when the search fired it, but no earlier. With default windows a timer may have fired
    anywhere in [1, 60] s and what it started may have followed, so an observation after it
    pins little; narrowed, it pins what the step did. The narrowed twin of a positive case is
    kept where it pins some field at some time that the default one does not; that of a
    negative case where the default one is not refused (some timing the spec allows shows
    what it claims)."""
    # Plans that give the same file (same header but the title, same lines, same check) merge.
    by_text: dict[tuple[str, str, float], tuple[Plan, str, int | None]] = {}
    merged: dict[tuple[str, str, float], list[str]] = {}
    narrow: dict[str, Variant | None] = {}

    def add(plan: Plan, written: _Written) -> None:
        key = (written.header, written.body, plan.tolerance)
        if key in by_text:
            merged[key] += plan.covers
            return
        by_text[key] = (plan, written.body, written.line)
        merged[key] = list(plan.covers)

    for done, plan in enumerate(plans):
        if deadline is not None and time.monotonic() >= deadline:
            raise TimeLimitReached(
                f"the search was done; {done} of {len(plans)} planned cases were written "
                "and checked"
            )
        if progress is not None:
            progress(f"writing and checking case {done + 1} of {len(plans)} planned")
        written = _write_plan(spec, plan)
        if not written.why:
            add(plan, written)
        twin = None
        if plan.pin:
            if plan.variant.label not in narrow:
                narrow[plan.variant.label] = narrowed_variant(spec, plan.variant, fixed)
            variant = narrow[plan.variant.label]
            twin = None if variant is None else narrowed_twin(plan, variant)
        kept = False
        # A positive twin where the default case is kept, a negative one where it is not.
        if twin is not None and plan.negative == bool(written.why):
            narrowed = _write_plan(spec, twin, strict=False)
            if not narrowed.why and (plan.negative or narrowed.pinned - written.pinned):
                add(twin, narrowed)
                kept = True
        if written.why and not kept:
            for item in plan.covers:
                uncovered[item] = written.why
    cases = []
    for number_, (key, (plan, body, line)) in enumerate(by_text.items(), 1):
        covers = tuple(dict.fromkeys(merged[key]))
        more = f" (and {len(covers) - 1} more)" if len(covers) > 1 else ""
        title = plan.title + more
        text = case_header(plan.variant, plan.start, title) + "\n" + body + "\n"
        name = f"{number_:04d}-{_slug(plan.slug)}.jsonl"
        cases.append(
            Case(
                name,
                title,
                covers,
                text,
                "diverges" if plan.negative else "conforms",
                line,
                plan.tolerance,
                plan.negative or not any(isinstance(op, Claim) for op in plan.ops),
            )
        )
    if progress is not None:
        progress(f"{len(cases)} cases")
    return cases


@dataclass(frozen=True)
class _Written:
    """A plan written: its header (without the title) and body, the divergent line of a
    negative case, what its observations pin (time, field), and why it does not get its
    expected verdict (empty: it does)."""

    header: str
    body: str
    line: int | None
    pinned: frozenset[tuple[float, str]]
    why: str


def _write_plan(spec: Spec, plan: Plan, *, strict: bool = True) -> _Written:
    """Write a plan's trace and check it. The spec's own path must conform: else a defect of
    the search (SuiteError) - or, not `strict`, a case not to keep (its variant's narrowed
    windows may leave no behaviour that takes an admin action where the search did)."""
    writer = CaseWriter(spec, plan.variant, plan.start, "")
    try:
        writer.play(plan.ops, negative=plan.negative)
    except (ConformanceError, HasmError) as exc:
        if not strict:
            return _Written("", "", None, frozenset(), f"not written: {exc}")
        message = f"{plan.title}: the spec's own path does not conform: {exc}"
        raise SuiteError(message) from exc  # pragma: no cover - a defect of the search
    body = "\n".join(writer.lines[1:])
    line = len(writer.lines) if plan.negative else None
    ok, why = _expected(spec, writer, plan, line)
    return _Written(writer.lines[0], body, line, frozenset(writer.pinned), "" if ok else why)


def _expected(spec: Spec, writer: CaseWriter, plan: Plan, line: int | None) -> tuple[bool, str]:
    """Does the written case get its expected verdict? (False, why) when the spec does not pin
    what the case claims."""
    text = writer.text()
    verdict = check_verdict(spec, text, plan.tolerance)
    if plan.negative:
        if verdict != ("diverges", line):
            return False, "some behaviour of the spec allows what this negative case claims"
        return True, ""
    claims = any(isinstance(op, Claim) for op in plan.ops)
    if verdict != ("conforms", None) and claims:
        return False, "the spec does not allow what this case claims here"
    if verdict != ("conforms", None):  # pragma: no cover - positive paths conform by construction
        raise SuiteError(f"{plan.title}: the spec's own path gives {verdict}")
    if plan.tolerance and check_verdict(spec, text) == ("conforms", None):
        return False, "the claim conforms even without the tolerance: it tests nothing"
    return True, ""


def _slug(text: str) -> str:
    """A case's name in a file name: safe characters only, at most SLUG_LENGTH of them."""
    out = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)
    return out[:SLUG_LENGTH]
