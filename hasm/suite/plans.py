"""The case plans: from the witnesses the search found, the events and observations of each
case (before it is written), positive and negative, for transitions, reasons, conditions,
guards, effects, timer conditions, state pairs, admin actions and time parameters."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from hasm.core.semantics import (
    apply,
    deadline,
    offered,
    outcome,
)
from hasm.errors import HasmError
from hasm.spec.guards import SUITE_NOTATION, conjuncts, describe_guard
from hasm.spec.model import ParamValue, ReasonChoice, Spec, Transition
from hasm.spec.params import resolve_params
from hasm.suite.cases import EPSILON, NODE_NAMES
from hasm.suite.observe import action_name, observation, shown_states
from hasm.suite.reach import Edge, Reached, Search, Variant
from hasm.suite.witnesses import Collector, Witness
from hasm.suite.write import Claim, EventOp, Look, Op

__all__ = [
    "Plan",
    "admin_plans",
    "condition_plans",
    "effect_plans",
    "pair_plans",
    "param_plans",
    "path_ops",
    "state_words",
    "transition_plans",
    "while_plans",
]


@dataclass(frozen=True)
class Plan:
    """A case before it is written: its variant, start, operations and expectations."""

    title: str
    covers: list[str]
    variant: Variant
    start: str
    ops: tuple[Op, ...]
    negative: bool = False
    tolerance: float = 0.0
    slug: str = ""
    # The case may also be written with every timer window narrowed to its deadline
    # (`narrowed_variant`), where its observations pin more (see hasm.suite.generate).
    pin: bool = False


def path_ops(edges: Sequence[Edge]) -> list[Op]:
    """A path as operations: each event, and an observation after every step - the last one
    written even if the page did not change: what the case is about is that last step."""
    ops: list[Op] = [Look(0.0)]
    for i, edge in enumerate(edges):
        if edge.event is not None:
            ops.append(EventOp(edge.steps[0].config.now, edge.event))
        ops.append(Look(edge.end.now, always=i == len(edges) - 1))
    return ops


def state_words(spec: Spec, pair: tuple[str, str]) -> str:
    """A state pair in words, for titles: `node0 Normal, node1 Backup Activated`."""
    return f"{NODE_NAMES[0]} {spec.states[pair[0]].label}, {NODE_NAMES[1]} {spec.states[pair[1]].label}"


def _case_path(search: Search, reached: Reached) -> tuple[str, list[Op]]:
    start, _, edges = search.path(reached)
    return start, path_ops(edges)


def transition_plans(spec: Spec, col: Collector) -> Iterator[Plan]:
    """Each transition seen to fire, and each branch of its reason choices taken."""
    for t in spec.transitions:
        found = col.rules.get(t.id)
        if found is not None:
            start, ops = _case_path(*found)
            yield Plan(
                f"transition {t.id} fires: {t.summary}",
                [f"transition:{t.id}"],
                found[0].variant,
                start,
                tuple(ops),
                slug=f"transition-{t.id}",
                pin=True,
            )
        for side in ("node", "peer"):
            choice = getattr(t, side).reason
            if not isinstance(choice, ReasonChoice) or choice.then == choice.otherwise:
                continue
            for branch in ("then", "else"):
                item = f"{t.id}:{side}:{branch}"
                got = col.reasons.get(item)
                if got is None:
                    continue
                start, ops = _case_path(*got)
                reason = choice.then if branch == "then" else choice.otherwise
                yield Plan(
                    f"transition {t.id} gives the {side} reason {spec.reasons[reason].label}",
                    [f"reason:{item}"],
                    got[0].variant,
                    start,
                    tuple(ops),
                    slug=f"reason-{t.id}-{side}-{branch}",
                    pin=True,
                )


def condition_plans(spec: Spec, col: Collector) -> Iterator[Plan]:
    """Each condition of each transition's guard shown to matter: the trigger happens with
    every other condition holding. An admin action that no other transition takes there is
    refused: the event line is a negative case's divergence. And each guard shown to matter as
    a whole, where none of its conditions' cases shows it (a step where the guard fails and
    firing the transition anyway would change the page)."""
    for t in spec.transitions:
        shown_whole = False
        for i, part in enumerate(conjuncts(t.when)):
            found = col.conditions.get((t.id, i))
            if found is None:
                continue
            plans = list(
                _witness_plans(
                    t,
                    found,
                    f"condition {i + 1} of {t.id}",
                    f"without {describe_guard(part, SUITE_NOTATION)}",
                    f"condition-{t.id}-{i + 1}",
                    f"condition:{t.id}:{i + 1}",
                )
            )
            shown_whole = shown_whole or any(p.negative for p in plans)
            yield from plans
        guard = col.guards.get(t.id)
        if guard is not None and not shown_whole:
            yield from _witness_plans(
                t, guard, f"guard of {t.id}", "where its guard fails", f"guard-{t.id}", ""
            )


def _witness_plans(
    t: Transition, witness: Witness, name: str, without: str, slug: str, item: str
) -> Iterator[Plan]:
    """The cases of a step where transition `t`'s trigger happens and its guard fails, covering
    `item` (if any): the path (t does not fire), and its negative twin, the page as if t had
    fired - or the admin action refused. A negative case also shows that t's guard matters as
    a whole (`guard:T`)."""
    search, reached, n, inp, prepared = witness
    start, ops = _case_path(search, reached)
    # The negative twin: what the page would show had the transition fired anyway.
    # A spec without the condition allows it; this spec must not.
    fired = outcome(search.model, prepared, t, n).config
    edge = reached.edge
    what = f"{name}: it does not fire {without}"
    negative = False
    if inp is not None:  # an admin action, tried in the configuration reached
        now = reached.config.now
        negative = not any(
            (a.name, a.node) == (inp.name, inp.node) for a in offered(search.model, reached.config)
        )
        ops = [*ops, EventOp(now, inp)] + ([] if negative else [Look(now)])
        what += f" ({action_name(inp)}{' is refused' if negative else ''})"
    else:
        what += f" ({NODE_NAMES[n]} as node)"
    mine = [item] if item else []
    whole = [*mine, f"guard:{t.id}"]
    covers = whole if negative else (mine or whole)
    yield Plan(what, covers, search.variant, start, tuple(ops), negative, slug=slug, pin=True)
    if negative:
        return  # refused: the event line is the negative case
    if inp is not None:  # compared with what the action does instead
        end = apply(search.model, reached.config, inp)[0].config
    elif edge is not None and edge.steps[-1].input == prepared.inp:
        end = edge.end
    else:
        return  # the step is not the path's last: no page to compare
    shown = observation(search.model, end)
    claim = {k: v for k, v in observation(search.model, fired).items() if shown.get(k) != v}
    if claim:
        yield Plan(
            f"{name}: the page as if it fired {without} does not conform",
            whole,
            search.variant,
            start,
            _instead_of_last_look(ops, Claim(end.now, claim)),
            negative=True,
            slug=f"{slug}-fired",
            pin=True,
        )


def _instead_of_last_look(ops: Sequence[Op], claim: Claim) -> tuple[Op, ...]:
    """The operations with `claim` in place of their final observation when that is at the
    claim's time. A negative claim must be the first record at that time to see the step:
    after an observation of what the spec did there, what the spec *might* have done is ruled
    out already, so the claim would diverge under a spec that allows it too, and tell nothing."""
    if ops and isinstance(ops[-1], Look) and ops[-1].t == claim.t:
        return (*ops[:-1], claim)
    return (*ops, claim)


def effect_plans(spec: Spec, col: Collector) -> Iterator[Plan]:
    """Each effect of each transition shown to matter: a step where the transition fires and
    the effect changes the configuration. Where the page does not show the change at once
    (services started still show nothing), the file observes again after the next deadline,
    when what follows - an initialization with or without the services - tells it."""
    for t in spec.transitions:
        for effect in t.effects:
            found = col.effects.get((t.id, effect))
            if found is None:
                continue
            search, reached = found
            start, ops = _case_path(search, reached)
            due = deadline(search.model, reached.config)
            if due is not None:
                ops.append(Look(due + EPSILON, always=True))
            yield Plan(
                f"transition {t.id} fires with its effect {effect} changing what follows",
                [f"effect:{t.id}:{effect}"],
                search.variant,
                start,
                tuple(ops),
                slug=f"effect-{t.id}-{effect}",
                pin=True,
            )


def admin_plans(spec: Spec, col: Collector) -> Iterator[Plan]:
    """Each admin action where it is offered, and (negative) where it is not."""
    for name, (search, reached, inp) in col.offered.items():
        start, ops = _case_path(search, reached)
        t = reached.config.now
        yield Plan(
            f"admin action {name}, offered",
            [f"admin:{name}:offered"],
            search.variant,
            start,
            (*ops, EventOp(t, inp), Look(t)),
            slug=f"admin-{name.replace(' ', '-')}-offered",
            pin=True,
        )
    for name, (search, reached, inp) in col.refused.items():
        start, ops = _case_path(search, reached)
        t = reached.config.now
        shown = state_words(spec, shown_states(search.model, reached.config))
        yield Plan(
            f"admin action {name}, not offered while {shown}",
            [f"admin:{name}:refused"],
            search.variant,
            start,
            (*ops, EventOp(t, inp)),
            negative=True,
            slug=f"admin-{name.replace(' ', '-')}-refused",
        )


def while_plans(spec: Spec, col: Collector) -> Iterator[Plan]:
    """Each condition of each node timer's `while` shown to matter: with every other condition
    holding and this one not, the timer does not run - nothing happens for its whole window."""
    for timer in spec.timers.values():
        if timer.per != "node":
            continue
        for i, part in enumerate(conjuncts(timer.while_)):
            found = col.whiles.get((timer.id, i))
            if found is None:
                continue
            search, reached, n = found
            start, ops = _case_path(search, reached)
            high = next(x.high for x in search.model.node_timers if x.name == timer.id)
            later = reached.config.now + high + EPSILON
            yield Plan(
                f"timer {timer.id} does not run on {NODE_NAMES[n]} without {describe_guard(part, SUITE_NOTATION)}",
                [f"while:{timer.id}:{i + 1}"],
                search.variant,
                start,
                (*ops, Look(later, always=True)),
                slug=f"while-{timer.id}-{i + 1}",
                pin=True,
            )


def pair_plans(spec: Spec, col: Collector) -> Iterator[Plan]:
    """Each state pair the page shows, by the best path to it."""
    for pair, (search, reached) in col.pairs.items():
        start, ops = _case_path(search, reached)
        yield Plan(
            f"state pair {state_words(spec, pair)}",
            [f"pair:{pair[0]}|{pair[1]}"],
            search.variant,
            start,
            tuple(ops),
            slug=f"pair-{pair[0]}--{pair[1]}",
            pin=True,
        )


def param_plans(
    spec: Spec, fixed: Mapping[str, ParamValue], uncovered: dict[str, str]
) -> Iterator[Plan]:
    """Each time parameter at each end of its range - alone, or where that makes a timer
    window impossible, with one other parameter at an end of its own range - in a header that
    must be accepted."""
    base = resolve_params(spec, fixed)
    seconds = [(n, p.range) for n, p in spec.parameters.items() if p.type == "seconds" and p.range]
    for name, p in spec.parameters.items():
        if p.type != "seconds" or p.range is None or name in fixed:
            continue
        for end, value in (("low", p.range[0]), ("high", p.range[1])):
            tries = [{name: value}] + [
                {name: value, other: bound}
                for other, bounds in seconds
                if other != name and other not in fixed
                for bound in bounds
            ]
            found = None
            for overrides_ in tries:
                try:
                    resolve_params(spec, {**fixed, **overrides_})
                except HasmError:
                    continue
                found = overrides_
                break
            if found is None:
                uncovered[f"param:{name}:{end}"] = (
                    "at this end of its range it makes a timer window impossible"
                )
                continue
            chosen = {**base, **{k: float(v) for k, v in found.items()}}
            overrides = {k: v for k, v in chosen.items() if v != spec.defaults[k]}
            variant = Variant(chosen, overrides, f"{name}={value:g}")
            yield Plan(
                f"parameter {name} at the {end} end of its range ({value:g} s)",
                [f"param:{name}:{end}"],
                variant,
                next(iter(spec.initial)),
                (Look(0.0),),
                slug=f"param-{name}-{end}",
            )
