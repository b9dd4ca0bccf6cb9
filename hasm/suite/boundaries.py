"""The boundary cases of each timer: just before its window opens, at its opening, at its close,
just after it, and at the close widened by the suite's tolerance - with the negative claims of
the fired page before the window and of the unfired page after it.

A node timer's window is its own; the re-login window is found by replaying the search's
user-less path with one user homed on each node (`_relogin_start`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from hasm.core.config import Config, Fire, Input, Relogin, RunningTimer
from hasm.core.model import Model
from hasm.core.semantics import advance, apply, deadline, forced, initial_config
from hasm.spec.guards import needs_a_yes
from hasm.spec.model import Spec
from hasm.suite.cases import EPSILON, NODE_NAMES, TOLERANCE, USER_NAMES
from hasm.suite.observe import observation
from hasm.suite.plans import Plan, path_ops
from hasm.suite.reach import Edge, Reached, Search
from hasm.suite.witnesses import Collector
from hasm.suite.write import Claim, EventOp, Look, Op

__all__ = ["TIMER_SIDES", "timer_plans"]


def timer_plans(spec: Spec, col: Collector, uncovered: dict[str, str]) -> Iterator[Plan]:
    """The boundary cases of each timer, from the first start of it whose cases the spec pins
    (nothing else runs in its window, and firing changes what the page shows)."""
    for timer in spec.timers.values():
        if needs_a_yes(timer.while_):
            continue  # the suites follow the readings' default answers (generate's targets)
        tried = col.starts.get(timer.id, [])
        plans: list[Plan] | None = None
        why = "the search never starts it"
        for search, reached, running in tried:
            plans, why = _boundary(spec, search, reached, running, timer.id)
            if plans is not None:
                break
        if plans is None:
            for side in TIMER_SIDES:
                uncovered[f"timer:{timer.id}:{side}"] = why
            continue
        yield from plans


TIMER_SIDES = (
    "before", "opens", "closes", "opens-fired", "closes-unfired", "after", "tolerance", "early",
    "late",
)  # fmt: skip


def _relogin_start(
    model: Model, start: str, edges: Sequence[Edge]
) -> tuple[list[Op], Config] | None:
    """Replay a user-less path with one user homed on each node, firing what is due at its
    deadline like the search did; the operations and the configuration after the last event,
    if at that event a client starts waiting to re-login."""
    config = initial_config(model, start, (1, 1))
    ops: list[Op] = [Look(0.0)]
    last: Config | None = None
    for edge in edges:
        target = edge.end.now if edge.event is None else edge.steps[0].config.now
        while (due := deadline(model, config)) is not None and due <= target:
            config = advance(model, config, due)
            pending = forced(model, config)
            if not pending:
                break
            config = apply(model, config, pending[0])[0].config
        config = advance(model, config, target)
        if edge.event is not None:
            inp = edge.event
            if inp.user is not None:
                return None
            results = apply(model, config, inp)
            if not results:
                return None
            config = results[0].config
            ops.append(EventOp(target, inp))
            last = config
        ops.append(Look(target))
    if last is None or not any(c.waiting_since == last.now for c in last.users):
        return None
    return ops, last


def _settle(model: Model, config: Config, until: float, keep: Input) -> Config | None:
    """Fire what is due up to `until`, each at its deadline; None if that touches `keep`."""
    while (due := deadline(model, config)) is not None and due <= until:
        config = advance(model, config, due)
        pending = forced(model, config)
        if keep in pending or (
            isinstance(keep, Relogin)
            and any(isinstance(p, Relogin) and p.user == keep.user for p in pending)
        ):
            return None
        config = apply(model, config, pending[0])[0].config
    if isinstance(keep, Fire) and config.timer(keep.timer, keep.node) is None:
        return None
    if isinstance(keep, Relogin) and config.count(keep.user) == 0:
        return None
    return advance(model, config, max(config.now, until)) if until > config.now else config


def _boundary(
    spec: Spec, search: Search, reached: Reached, running: RunningTimer | None, timer_id: str
) -> tuple[list[Plan] | None, str]:
    model = search.model
    start, _, edges = search.path(reached)
    config = reached.config
    base: list[Op]
    # The window: a node timer's own, or the re-login window of a client that starts waiting.
    if running is not None:
        live = config.timer(running.name, running.node)
        if live is None:
            return None, "it is cancelled by the step that starts it"
        low, high = live.earliest, live.latest
        fire: Input = Fire(live.name, live.node)
        where = f"on {NODE_NAMES[live.node]}"
        base = path_ops(edges)
    else:
        replayed = _relogin_start(model, start, edges)
        if replayed is None:
            return None, "no client starts waiting where the search looked"
        base, config = replayed
        cohort = next(c for c in config.users if c.waiting_since == config.now)
        low, high = model.relogin_window(cohort.waiting_since)
        fire = Relogin(cohort.key, cohort.count)
        where = f"for {USER_NAMES[cohort.home]}"
    # What else is due before the window (less the tolerance) opens fires at its deadline, as
    # in the search; after that nothing else may happen until the widened window is over.
    t0 = config.now
    settled = _settle(model, config, low - TOLERANCE - EPSILON, fire)
    if settled is None:
        return None, "it fires or is cancelled before its window wherever the search starts it"
    config = settled
    horizon = high + TOLERANCE + EPSILON
    for t in config.timers:
        mine = isinstance(fire, Fire) and (t.name, t.node) == (fire.timer, fire.node)
        if not mine and t.earliest <= horizon:
            return None, "other timers run in its window wherever the search starts it"
    for c in config.users:
        mine = isinstance(fire, Relogin) and c.key == fire.user
        if (
            c.waiting_since >= 0
            and not mine
            and model.relogin_window(c.waiting_since)[0] <= horizon
        ):
            return None, "other clients log in during its window wherever it starts"
    before = observation(model, advance(model, config, high))
    fired = apply(model, advance(model, config, high), fire)
    if len(fired) != 1:
        return None, "its firing has several outcomes"
    after = observation(model, fired[0].config)
    changed = {k: v for k, v in after.items() if before.get(k) != v}
    old = {k: before[k] for k in changed if k in before}
    if not changed:
        return None, "its firing changes nothing the page shows"
    name = f"timer {timer_id} {where}"
    variant = search.variant

    def plan(side: str, ops: Sequence[Op], what: str, **kw: Any) -> Plan:
        return Plan(
            f"{name}, window [{low:g}, {high:g}]: {what}",
            [f"timer:{timer_id}:{side}"],
            variant,
            start,
            (*base, *ops),
            slug=f"timer-{timer_id}-{side}",
            **kw,
        )

    early = max(t0, low - EPSILON)
    late = high + EPSILON
    plans = [
        plan(
            "before",
            [Look(early, always=True)],
            f"just before it may fire (t={early:g}): not fired",
        ),
        plan("opens", [Look(low, always=True)], f"at t={low:g}, when it may fire"),
        plan("closes", [Look(high, always=True)], f"at t={high:g}, when it must fire"),
        plan("opens-fired", [Claim(low, changed)], f"already fired at t={low:g}: conforms"),
        plan("closes-unfired", [Claim(high, old)], f"not yet fired at t={high:g}: conforms"),
        plan("after", [Look(late, always=True)], f"just after it must have fired (t={late:g})"),
        plan(
            "tolerance",
            [Claim(high + TOLERANCE, old)],
            f"unfired at t={high + TOLERANCE:g}: conforms only with --tolerance {TOLERANCE:g}",
            tolerance=TOLERANCE,
        ),
        plan("late", [Claim(late, old)], f"unfired at t={late:g}: does not conform", negative=True),
    ]
    if low - EPSILON >= t0:
        plans.append(
            plan(
                "early",
                [Claim(low - EPSILON, changed)],
                f"fired at t={low - EPSILON:g}, before its window: does not conform",
                negative=True,
            )
        )
    return plans, ""
