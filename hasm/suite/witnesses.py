"""The witnesses: which step or configuration of the search best shows each target - a rule
firing, a condition or guard that matters, an effect, a timer condition, a state pair, an admin
action offered or refused, a timer started."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hasm.core.config import Config, EventInput, Fire, RunningTimer, Step
from hasm.core.model import Check, Model
from hasm.core.semantics import (
    Prepared,
    advance,
    apply,
    deadline,
    forced,
    matching,
    offered,
    outcome,
    prepare,
)
from hasm.spec.guards import conjuncts
from hasm.spec.model import ReasonChoice, Spec, Transition
from hasm.suite.observe import action_name, observation, shown_states
from hasm.suite.reach import Edge, Reached, Search

__all__ = [
    "LOOKAHEADS",
    "RELOGIN_STARTS",
    "TIMER_STARTS",
    "Collector",
    "Found",
    "Witness",
]


# How many configurations a timer condition's witness is looked for in by running the clock on
# from them (`_fire_shows_when_due`), at most: the search meets thousands.
LOOKAHEADS = 200
# How many starts of each node timer are kept for its boundary cases, shallowest first:
# `timer_plans` tries them in turn until one's cases the spec pins (nothing else runs in the
# window), and each try replays the path, so a few suffice and more only cost time.
TIMER_STARTS = 12
# And how many events are kept where a client may start waiting to re-login: more, since the
# search has no users and most events start no wait (each is replayed with users to see).
RELOGIN_STARTS = 40


Found = tuple[Search, Reached]


# Where a condition or guard is shown to matter: the search, the node reached, the node playing
# `node`, the admin action tried there (None: the step into the node reached), that step
# prepared.
Witness = tuple[Search, Reached, int, EventInput | None, Prepared]


class Collector:
    """Visits the search's states and steps; keeps the best path to each target.

    The best is the cheapest: for a condition, guard, effect or timer condition target first
    one where what the target is about shows on the page, then by `Reached.cost` (a path whose
    observations pin what it did, then a short one). Ties keep the first found, so the choice
    is deterministic.

    A condition target `condition:T:i` is a step where T's trigger happens and every condition
    of T's guard holds but the i-th (T must not fire there, and a spec without that condition
    would fire it: the case shows that each condition matters). A guard target `guard:T` is a
    step where T's trigger happens, its guard does not hold and firing it would change the
    page. A timer condition target `while:X:i` is a configuration where every condition of
    timer X's `while` holds but the i-th (the timer must not run). An effect target
    `effect:T:e` is a step where T fires and its effect e changes the configuration."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.costs: dict[tuple[str, Any], tuple[int, ...]] = {}
        self.rules: dict[str, Found] = {}
        self.reasons: dict[str, Found] = {}
        # (transition, condition) -> where, the node playing `node`, the admin action tried
        self.conditions: dict[tuple[str, int], Witness] = {}
        self.guards: dict[str, Witness] = {}
        self.effects: dict[tuple[str, str], Found] = {}
        self.whiles: dict[tuple[str, int], tuple[Search, Reached, int]] = {}
        self.lookaheads: dict[tuple[str, int], int] = {}
        self.pairs: dict[tuple[str, str], Found] = {}
        self.starts: dict[str, list[tuple[Search, Reached, RunningTimer | None]]] = {}
        self.offered: dict[str, tuple[Search, Reached, EventInput]] = {}
        self.refused: dict[str, tuple[Search, Reached, EventInput]] = {}
        self.admin = [e for e in spec.events.values() if e.kind == "admin"]
        self.user_timer = spec.user_timer.id
        self.by_trigger: dict[str, list[Transition]] = {}
        for t in spec.transitions:
            for trigger in t.on:
                self.by_trigger.setdefault(trigger, []).append(t)
        self.by_id = {t.id: t for t in spec.transitions}

    def _better(self, kind: str, key: Any, cost: tuple[int, ...]) -> bool:
        """Is `cost` lower than that of the witness kept for the target? (Then it is kept.)"""
        old = self.costs.get((kind, key))
        if old is not None and old <= cost:
            return False
        self.costs[(kind, key)] = cost
        return True

    def visitor(self, search: Search) -> Callable[[tuple[Any, ...], Reached], None]:
        """What `search.run` calls with each state and step: it keeps the witnesses."""
        model = search.model
        checks = {
            t.id: tuple(model.compile(c) for c in conjuncts(t.when)) for t in self.spec.transitions
        }
        timer_checks = {
            x.id: tuple(model.compile(c) for c in conjuncts(x.while_))
            for x in self.spec.timers.values()
            if x.per == "node"
        }

        def steps(reached: Reached, edge: Edge) -> None:
            last = len(edge.steps) - 1
            for i, (before, step) in enumerate(zip(edge.befores, edge.steps, strict=True)):
                if step.rule is not None:
                    self._rule(search, reached, before, step, i == last)
                    self._reason(search, reached, step)
                    self._effects(search, reached, before, step, i == last)
                inp = step.input
                if isinstance(inp, EventInput | Fire):
                    self._conditions(search, reached, before, step, checks, i == last)
            if edge.event is not None:
                step = edge.steps[0]
                for timer in step.started:
                    found = self.starts.setdefault(timer.name, [])
                    if len(found) < TIMER_STARTS:
                        found.append((search, reached, timer))
                # The search has no users: whether a client starts waiting at this event is
                # found by replaying the path with users (_relogin_start).
                found = self.starts.setdefault(self.user_timer, [])
                if len(found) < RELOGIN_STARTS:
                    found.append((search, reached, None))

        def visit(key: tuple[Any, ...], reached: Reached) -> None:
            if reached.edge is not None:
                steps(reached, reached.edge)
            if not key:
                return  # a step to a state reached before: only its steps count
            config = reached.config
            pair = shown_states(model, config)
            if self._better("pair", pair, reached.cost):
                self.pairs[pair] = (search, reached)
            here = {(a.name, a.node) for a in offered(model, config)}
            for event in self.admin:
                nodes: tuple[int | None, ...] = (0, 1) if "node" in event.fields else (None,)
                for n in nodes:
                    inp = EventInput(event.id, n)
                    is_offered = (event.id, n) in here
                    name = action_name(inp)
                    kind = "offered" if is_offered else "refused"
                    if self._better(kind, name, reached.cost):
                        target = self.offered if is_offered else self.refused
                        target[name] = (search, reached, inp)
                    self._admin_conditions(search, reached, inp, checks)
            self._whiles(search, reached, timer_checks)

        return visit

    def _whiles(
        self,
        search: Search,
        reached: Reached,
        timer_checks: Mapping[str, tuple[Check, ...]],
    ) -> None:
        """Each node timer's conditions, in a configuration the search reached: best where
        the timer, had it started there, would change the page by firing - at once, or when
        it is due if nothing else happens meanwhile (the case observes then)."""
        config = reached.config
        shown: dict[str, Any] | None = None
        for timer_id, parts in timer_checks.items():
            for n in (0, 1):
                failing = [i for i, c in enumerate(parts) if not c(config, n, None)]
                if len(failing) != 1:
                    continue
                key = (timer_id, failing[0])
                old = self.costs.get(("while", key))
                if old is not None and old[0] == 0 and old[1:] <= reached.cost:
                    continue  # a visible witness no worse is kept already
                if shown is None:
                    shown = observation(search.model, config)
                rest = parts[: failing[0]] + parts[failing[0] + 1 :]
                # Looking ahead costs a run of the clock: a target whose witnesses show nothing
                # in LOOKAHEADS tries is left with its first (its condition is likely one no
                # trace can show to matter).
                tries = self.lookaheads.get(key, 0)
                self.lookaheads[key] = tries + 1
                hidden = not (
                    _fire_shows(search.model, config, timer_id, n, shown)
                    or (
                        tries < LOOKAHEADS
                        and _fire_shows_when_due(search.model, config, timer_id, n, rest)
                    )
                )
                if self._better("while", key, (hidden, *reached.cost)):
                    self.whiles[key] = (search, reached, n)

    def _rule(
        self, search: Search, reached: Reached, before: Config, step: Step, last: bool
    ) -> None:
        """The rule that fired: best where the page after it is not the one the step would
        have shown without it (a rule that only confirms the state it finds shows nothing)."""
        rule = step.rule or ""
        old = self.costs.get(("rule", rule))
        if old is not None and old <= (0, *reached.cost):
            return
        assert isinstance(step.input, EventInput | Fire)
        model = search.model
        without = outcome(model, prepare(model, before, step.input), None, None).config
        hidden = not last or observation(model, without) == observation(model, step.config)
        if self._better("rule", rule, (hidden, *reached.cost)):
            self.rules[rule] = (search, reached)

    def _reason(self, search: Search, reached: Reached, step: Step) -> None:
        rule = self.by_id[step.rule or ""]
        assert step.node is not None
        for side, target, index in (
            ("node", rule.node, step.node),
            ("peer", rule.peer, 1 - step.node),
        ):
            choice = target.reason
            if isinstance(choice, ReasonChoice) and choice.then != choice.otherwise:
                got = step.config.nodes[index].reason
                branch = "then" if got == choice.then else "else"
                item = f"{rule.id}:{side}:{branch}"
                if self._better("reason", item, reached.cost):
                    self.reasons[item] = (search, reached)

    def _effects(
        self, search: Search, reached: Reached, before: Config, step: Step, last: bool
    ) -> None:
        """Each effect of the rule that fired, where leaving it out changes the outcome (best:
        where the page shows it at once, the step being the last before the observation)."""
        rule = self.by_id[step.rule or ""]
        if not rule.effects or step.node is None or not isinstance(step.input, EventInput | Fire):
            return
        if all(
            (old := self.costs.get(("effect", (rule.id, e)))) is not None
            and old <= (0, *reached.cost)
            for e in rule.effects
        ):
            return  # visible witnesses no worse are kept already
        prepared = prepare(search.model, before, step.input)
        shown: dict[str, Any] | None = None
        for effect in rule.effects:
            without = dataclasses.replace(
                rule, effects=tuple(e for e in rule.effects if e != effect)
            )
            other = outcome(search.model, prepared, without, step.node).config
            if other == step.config:
                continue
            if shown is None:
                shown = observation(search.model, step.config)
            hidden = not last or observation(search.model, other) == shown
            if self._better("effect", (rule.id, effect), (hidden, *reached.cost)):
                self.effects[(rule.id, effect)] = (search, reached)

    def _admin_conditions(
        self,
        search: Search,
        reached: Reached,
        inp: EventInput,
        checks: Mapping[str, tuple[Check, ...]],
    ) -> None:
        """An admin action's transitions' conditions, in a configuration the search reached:
        admin actions are steps only where offered, so the refused ones are found here."""
        prepared = prepare(search.model, reached.config, inp)
        outcomes: list[Config] = []

        def actual() -> Sequence[Config]:
            if not outcomes:
                outcomes.extend(s.config for s in apply(search.model, reached.config, inp))
            return outcomes

        for t in self.by_trigger.get(inp.name, ()):
            parts = checks[t.id]
            for n in prepared.bindings:
                failing = [i for i, c in enumerate(parts) if not c(prepared.world, n, inp)]
                if failing:
                    witness = (search, reached, n, inp, prepared)
                    self._guard_witness(search, t, failing, witness, actual, reached.cost)

    def _conditions(
        self,
        search: Search,
        reached: Reached,
        before: Config,
        step: Step,
        checks: Mapping[str, tuple[Check, ...]],
        last: bool,
    ) -> None:
        assert isinstance(step.input, EventInput | Fire)
        prepared = prepare(search.model, before, step.input)
        if not prepared.changed or prepared.admin:
            return
        # The page a condition's negative twin compares with is the one after the step, and
        # only a step that is the last before the observation has one to compare.
        cost = reached.cost if last else (reached.cost[0] + 1, reached.cost[1])
        for t in self.by_trigger.get(prepared.trigger, ()):
            parts = checks[t.id]
            for n in prepared.bindings:
                failing = [
                    i for i, c in enumerate(parts) if not c(prepared.world, n, prepared.event)
                ]
                if failing:
                    witness = (search, reached, n, None, prepared)
                    self._guard_witness(search, t, failing, witness, lambda: [step.config], cost)

    def _guard_witness(
        self,
        search: Search,
        t: Transition,
        failing: Sequence[int],
        witness: Witness,
        actual: Callable[[], Sequence[Config]],
        cost: tuple[int, int],
    ) -> None:
        """A step where T's trigger happens and its guard fails: a witness of the one failing
        condition, and of the guard as a whole. Visible (cost first 0) where firing T anyway
        would show another page than every outcome the spec has there (none: an admin action
        refused, whose negative case is the event line itself)."""
        single = (t.id, failing[0]) if len(failing) == 1 else None
        olds = [self.costs.get(("guard", t.id))]
        if single is not None:
            olds.append(self.costs.get(("condition", single)))
        if all(o is not None and o[0] == 0 and o[1:] <= cost for o in olds):
            return  # visible witnesses no worse are kept already
        model = search.model
        _, _, n, _, prepared = witness
        fired = observation(model, outcome(model, prepared, t, n).config)
        hidden = any(observation(model, c) == fired for c in actual())
        full = (hidden, *cost)
        if single is not None and self._better("condition", single, full):
            self.conditions[single] = witness
        if not hidden and self._better("guard", t.id, full):
            self.guards[t.id] = witness


def _fire_shows(
    model: Model, config: Config, timer_id: str, n: int, shown: Mapping[str, Any]
) -> bool:
    """Would timer `timer_id` firing on node `n` now (were it running) change the page?"""
    prepared = Prepared(Fire(timer_id, n), timer_id, config, None, (n,))
    return any(
        observation(model, outcome(model, prepared, t, m).config) != shown
        for t, m in matching(model, prepared)
    )


def _fire_shows_when_due(
    model: Model, config: Config, timer_id: str, n: int, rest: Sequence[Check]
) -> bool:
    """Would timer `timer_id`, started on node `n` now and kept running while the conditions
    `rest` (its own but the one that fails now) hold, change the page by firing when due - the
    clock running on, what is due firing at its deadline, no event?"""
    due = config.now + next(x.high for x in model.node_timers if x.name == timer_id)
    while (limit := deadline(model, config)) is not None and limit <= due:
        config = advance(model, config, limit)
        pending = forced(model, config)
        if not pending:  # pragma: no cover - a deadline is when something is forced
            break
        config = apply(model, config, pending[0])[0].config
        if not all(c(config, n, None) for c in rest):
            return False  # it would be cancelled first
    config = advance(model, config, due)
    return _fire_shows(model, config, timer_id, n, observation(model, config))
