"""Spec mutation analysis: how many small wrong specs a conformance suite tells apart from the spec.

A *mutant* is the spec with one small change, made on the frozen model as data
(`dataclasses.replace`): a timer's duration bound moved or collapsed, a parameter's default or
range moved, a guard (of a transition or a timer's `while`) dropped or negated as a whole or
one condition at a time, a target state or reason replaced or swapped between `node` and
`peer`, a reason choice's branches swapped, an effect removed.

A mutant is *killed* when some case of the suite gets another verdict under the mutant than
the index expects (under the spec): a positive case that diverges, a negative one that
conforms or diverges elsewhere, a header the mutant refuses.

**Equivalent mutants.** A survivor may be a mutant no trace can tell apart from the spec. The
check: the generator's search (hasm.suite.reach) is run once on the spec, recording every step it
tries - each configuration with each input, events and timer firings alike; a survivor whose
model gives the very same successors on every one of those steps (and, for a parameter range,
accepts and refuses the same values over the range's span) behaves as the spec does on
everything the search reaches, so it is flagged *equivalent* (within the search's bounds: at
most MAX_FAULTS faults, MAX_DEPTH steps). So is one whose successors differ from the spec's
only in what no record of a trace shows - the state and reason SRM keeps for a node whose SRM
does not run - provided every continuation of the search from there keeps the two so, step
for step, until they are equal (`_alike_onwards` gives the argument). The kill rate counts the
other mutants.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import signal
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hasm.core.config import Config, EventInput, Input, Step
from hasm.core.model import Model
from hasm.core.search import bounded
from hasm.core.semantics import advance, apply, deadline, forced
from hasm.errors import HasmError
from hasm.parallel import parallel_map
from hasm.spec.guards import conjuncts
from hasm.spec.model import (
    TRUE,
    All,
    Duration,
    Expr,
    Guard,
    Not,
    Parameter,
    ReasonChoice,
    Spec,
    Target,
    Timer,
    Transition,
)
from hasm.spec.params import resolve_params
from hasm.suite.files import SuiteFile
from hasm.suite.narrowed import accepts
from hasm.suite.observe import observation
from hasm.suite.reach import MAX_DEPTH, MAX_FAULTS, Search, relative, state_key, variants
from hasm.suite.write import check_verdict

__all__ = ["Mutant", "MutantResult", "MutationReport", "mutants", "run_mutants", "selected"]


@dataclass(frozen=True)
class Mutant:
    """One small change to the spec: its id, what it changes, the mutated spec, and the
    triggers whose steps it can change (None: any step)."""

    id: str
    description: str
    spec: Spec
    triggers: frozenset[str] | None = None
    kind: str = "behaviour"  # "range": only which parameter values are accepted changes


@dataclass(frozen=True)
class MutantResult:
    id: str
    description: str
    killed_by: str | None  # the first case whose verdict changed
    equivalent: bool = False

    @property
    def undecided(self) -> bool:
        """A check under this mutant ran out of time before any verdict changed."""
        return self.killed_by is not None and self.killed_by.startswith(UNDECIDED)


@dataclass(frozen=True)
class MutationReport:
    """The mutants run and what became of each. Cut short by a time limit, `planned` is how
    many were selected (more than `results` when some were not run), `limit` the limit in
    seconds, and `unchecked` how many survivors were not checked for equivalence."""

    results: tuple[MutantResult, ...]
    planned: int | None = None
    limit: float | None = None
    unchecked: int = 0

    @property
    def complete(self) -> bool:
        """Every mutant selected was run, and every survivor checked for equivalence."""
        return (self.planned is None or self.planned == len(self.results)) and not self.unchecked

    @property
    def killed(self) -> int:
        return sum(1 for r in self.results if r.killed_by is not None and not r.undecided)

    @property
    def undecided(self) -> tuple[MutantResult, ...]:
        return tuple(r for r in self.results if r.undecided)

    @property
    def equivalent(self) -> tuple[MutantResult, ...]:
        return tuple(r for r in self.results if r.killed_by is None and r.equivalent)

    @property
    def survivors(self) -> tuple[MutantResult, ...]:
        return tuple(r for r in self.results if r.killed_by is None and not r.equivalent)

    @property
    def counted(self) -> int:
        """The mutants the rate counts: neither equivalent nor undecided."""
        return len(self.results) - len(self.equivalent) - len(self.undecided)

    @property
    def rate(self) -> float:
        """Killed mutants over the mutants counted."""
        return self.killed / self.counted if self.counted else 1.0

    def text(self) -> str:
        lines = []
        if not self.complete:
            planned = len(self.results) if self.planned is None else self.planned
            limit = "" if self.limit is None else f" ({self.limit:g} s)"
            unchecked = (
                f"; {self.unchecked} survivor(s) not checked for equivalence, counted as survivors"
                if self.unchecked
                else ""
            )
            lines.append(
                f"partial: {len(self.results)} of {planned} mutants run before the time "
                f"limit{limit}{unchecked}; the figures below are of those only, not of the suite"
            )
        lines += [
            f"{len(self.results)} mutants: {self.killed} killed, {len(self.survivors)} survived, "
            f"{len(self.equivalent)} equivalent, {len(self.undecided)} undecided",
            f"kill rate: {self.rate:.1%} of the {self.counted} mutants neither equivalent nor "
            f"undecided (a check ran over {CASE_BUDGET:g} s)"
            if self.counted or self.complete
            else "kill rate: none measured (no mutant was run to its end before the time limit)",
        ]
        lines += [f"survivor   {r.id}: {r.description}" for r in self.survivors]
        lines += [f"equivalent {r.id}: {r.description}" for r in self.equivalent]
        lines += [f"undecided  {r.id}: {r.description}" for r in self.undecided]
        return "\n".join(lines)


# -- making mutants -------------------------------------------------------------------------------
def _guard_variants(guard: Guard) -> Iterator[tuple[str, Guard]]:
    """A guard dropped, negated, and each of its conditions dropped or negated."""
    parts = conjuncts(guard)
    if parts:
        yield "guard dropped", TRUE
        yield "guard negated", Not(guard)
    if len(parts) > 1:
        for i, _ in enumerate(parts):
            rest = parts[:i] + parts[i + 1 :]
            yield f"condition {i + 1} dropped", All(rest)
            flipped = (*parts[:i], Not(parts[i]), *parts[i + 1 :])
            yield f"condition {i + 1} negated", All(flipped)


def _with_transition(spec: Spec, index: int, changed: Transition) -> Spec:
    items = list(spec.transitions)
    items[index] = changed
    return dataclasses.replace(spec, transitions=tuple(items))


def _with_timer(spec: Spec, timer: Timer) -> Spec:
    return dataclasses.replace(spec, timers={**spec.timers, timer.id: timer})


def _with_param(spec: Spec, param: Parameter) -> Spec:
    return dataclasses.replace(spec, parameters={**spec.parameters, param.name: param})


def _side(t: Transition, side: str, target: Target) -> Transition:
    if side == "node":
        return dataclasses.replace(t, node=target)
    return dataclasses.replace(t, peer=target)


def _plus(expr: Expr, amount: float) -> Expr:
    return Expr((*expr.terms, (1 if amount > 0 else -1, abs(amount))))


def _next(options: Sequence[str], current: str) -> str:
    return options[(options.index(current) + 1) % len(options)]


def mutants(spec: Spec) -> list[Mutant]:
    """Every mutant of `spec`, in a fixed order."""
    out: list[Mutant] = []
    states = list(spec.states)
    reasons = list(spec.reasons)
    for name, p in spec.parameters.items():
        if p.type == "boolean":
            out.append(
                Mutant(
                    f"param:{name}:default",
                    f"parameter {name} defaults to {str(not p.default).lower()}",
                    _with_param(spec, dataclasses.replace(p, default=not p.default)),
                )
            )
            continue
        assert p.range is not None
        low, high = p.range
        for delta in (-1.0, 1.0):
            value = float(p.default) + delta
            out.append(
                Mutant(
                    f"param:{name}:default{delta:+g}",
                    f"parameter {name} defaults to {value:g} s, not {p.default:g}",
                    _with_param(spec, dataclasses.replace(p, default=value)),
                )
            )
        for end, bound in (
            ("low", (low + 1, high)),
            ("low", (low - 1, high)),
            ("high", (low, high - 1)),
            ("high", (low, high + 1)),
        ):
            out.append(
                Mutant(
                    f"param:{name}:range:{end}:{bound[0]:g}-{bound[1]:g}",
                    f"parameter {name} ranges over [{bound[0]:g}, {bound[1]:g}], not [{low:g}, {high:g}]",
                    _with_param(spec, dataclasses.replace(p, range=bound)),
                    kind="range",
                )
            )
    for timer in spec.timers.values():
        d = timer.duration
        changes: list[tuple[str, Duration]] = [
            ("min + 1 s", Duration(_plus(d.min, 1), d.max)),
            ("min - 1 s", Duration(_plus(d.min, -1), d.max)),
            ("max + 1 s", Duration(d.min, _plus(d.max, 1))),
            ("max - 1 s", Duration(d.min, _plus(d.max, -1))),
        ]
        if not d.exact:
            changes += [
                ("min = max", Duration(d.max, d.max)),
                ("max = min", Duration(d.min, d.min)),
            ]
        for what, duration in changes:
            out.append(
                Mutant(
                    f"timer:{timer.id}:duration:{what.replace(' ', '')}",
                    f"timer {timer.id} runs {duration}, not {d} ({what})",
                    _with_timer(spec, dataclasses.replace(timer, duration=duration)),
                )
            )
        if timer.per == "node":
            for what, guard in _guard_variants(timer.while_):
                out.append(
                    Mutant(
                        f"timer:{timer.id}:while:{what.replace(' ', '-')}",
                        f"timer {timer.id}'s while: {what}",
                        _with_timer(spec, dataclasses.replace(timer, while_=guard)),
                    )
                )
    for index, t in enumerate(spec.transitions):
        triggers = frozenset(t.on)

        def add(
            what: str,
            changed: Transition,
            t: Transition = t,
            index: int = index,
            triggers: frozenset[str] = triggers,
        ) -> None:
            out.append(
                Mutant(
                    f"transition:{t.id}:{what.replace(' ', '-')}",
                    f"transition {t.id}: {what}",
                    _with_transition(spec, index, changed),
                    triggers,
                )
            )

        for what, guard in _guard_variants(t.when):
            add(what, dataclasses.replace(t, when=guard))
        if t.node != t.peer:
            add("node and peer targets swapped", dataclasses.replace(t, node=t.peer, peer=t.node))
        for side in ("node", "peer"):
            target: Target = getattr(t, side)
            if target.state is not None:
                other = _next(states, target.state)
                add(
                    f"{side} state {other} instead of {target.state}",
                    _side(t, side, dataclasses.replace(target, state=other)),
                )
            reason = target.reason
            if isinstance(reason, str):
                other = _next(reasons, reason)
                add(
                    f"{side} reason {other} instead of {reason}",
                    _side(t, side, dataclasses.replace(target, reason=other)),
                )
            elif isinstance(reason, ReasonChoice) and reason.then != reason.otherwise:
                swapped = ReasonChoice(reason.when, reason.otherwise, reason.then)
                add(
                    f"{side} reason choice's branches swapped",
                    _side(t, side, dataclasses.replace(target, reason=swapped)),
                )
        for effect in t.effects:
            kept = tuple(e for e in t.effects if e != effect)
            add(f"effect {effect} removed", dataclasses.replace(t, effects=kept))
    return out


# -- running the suite against them ----------------------------------------------------------------
def selected(every: Sequence[Mutant], only: Sequence[str]) -> list[Mutant]:
    """The mutants whose id matches one of the shell-style patterns `only` (a pattern without
    a wildcard matches ids that contain it); all of them when `only` is empty, in order."""
    if not only:
        return list(every)
    globs = [p if any(ch in p for ch in "*?[") else f"*{p}*" for p in only]
    return [m for m in every if any(fnmatch.fnmatchcase(m.id, g) for g in globs)]


def _relevant(mutant: Mutant, cases: Sequence[SuiteFile]) -> list[SuiteFile]:
    """The cases in the order to try them: first those that cover what the mutant changed
    (its transition, timer or parameter, by the coverage items' names), then the rest. Most
    mutants die at one of the first; only survivors run the whole suite."""
    kind, _, rest = mutant.id.partition(":")
    name = rest.split(":")[0]
    marks: tuple[str, ...]
    if kind == "transition":
        marks = (f"transition:{name}", f"condition:{name}:", f"reason:{name}:")
    elif kind == "timer":
        marks = (f"timer:{name}:", f"while:{name}:")
    else:
        marks = (f"param:{name}:",)

    def near(case: SuiteFile) -> bool:
        return any(item == m or item.startswith(m) for item in case.covers for m in marks)

    first = [c for c in cases if near(c)]
    return first + [c for c in cases if not near(c)]


class _OutOfTime(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _OutOfTime


# A case the spec checks in milliseconds may take a mutant's oracle much longer (a timer that
# runs everywhere multiplies the candidates): past this budget its verdict is *undecided*.
CASE_BUDGET = 5.0
UNDECIDED = "(undecided)"


# What `_kill` answers for a mutant it did not finish before the run's deadline.
_NOT_RUN = "(not run)"


def _kill(mutant: Mutant, cases: Sequence[SuiteFile], deadline: float | None = None) -> str | None:
    """The first of `cases` whose verdict under `mutant` is not the expected one; UNDECIDED
    plus the case's name if a check ran out of time first; _NOT_RUN if the clock passed
    `deadline` (a `time.monotonic()` moment, the same in every worker) before the answer."""
    timed = hasattr(signal, "setitimer")
    if timed:
        signal.signal(signal.SIGALRM, _alarm)
    for case in _relevant(mutant, cases):
        if deadline is not None and time.monotonic() >= deadline:
            return _NOT_RUN
        try:
            if timed:
                signal.setitimer(signal.ITIMER_REAL, CASE_BUDGET)
            got = check_verdict(mutant.spec, case.text, case.tolerance)
        except _OutOfTime:
            return f"{UNDECIDED} {case.name}"
        except Exception:  # a mutant that crashes the core is told apart from the spec
            return case.name
        finally:
            if timed:
                signal.setitimer(signal.ITIMER_REAL, 0)
        if got != (case.verdict, case.line):
            return case.name
    return None


def run_mutants(
    spec: Spec,
    cases: Sequence[SuiteFile],
    *,
    jobs: int = 0,
    check_equivalence: bool = True,
    only: Sequence[str] = (),
    progress: Callable[[str], None] | None = None,
    deadline: float | None = None,
    limit: float | None = None,
) -> MutationReport:
    """Run `cases` against every mutant of `spec` (in `jobs` processes; 0: one per core) and
    flag the survivors that are equivalent. With `only`, just the mutants whose id matches one
    of its patterns (`selected`). Worker processes inherit `spec`.

    Past `deadline` (a `time.monotonic()` moment; `limit` is the time limit it came from, for
    the report) no mutant is started and the workers are stopped: the report holds the
    mutants run before it, in order, and says it is partial."""
    every = selected(mutants(spec), only)
    killed: dict[int, str | None] = {}
    outcomes = parallel_map(lambda m: _kill(m, cases, deadline), every, jobs)
    try:
        for i, outcome in enumerate(outcomes):
            if outcome == _NOT_RUN:
                break
            killed[i] = outcome
            if progress is not None:
                dead = sum(1 for v in killed.values() if v)
                progress(f"{i + 1} of {len(every)} mutants run, {dead} killed")
            if deadline is not None and time.monotonic() >= deadline:
                break
    finally:
        outcomes.close()  # ends the pool: its workers stop, none is left behind
    if progress is not None:
        progress(f"{sum(1 for v in killed.values() if v)} of {len(every)} mutants killed")
    ran = every[: len(killed)]
    survivors = [i for i in range(len(ran)) if killed[i] is None]
    equivalent: set[int] = set()
    checked = len(survivors)
    if check_equivalence and survivors:
        equivalent, checked = _equivalent(spec, [ran[i] for i in survivors], survivors, deadline)
    cut = len(ran) < len(every) or checked < len(survivors)
    return MutationReport(
        tuple(
            MutantResult(m.id, m.description, killed[i], i in equivalent) for i, m in enumerate(ran)
        ),
        planned=len(every) if cut else None,
        limit=limit if cut else None,
        unchecked=len(survivors) - checked if check_equivalence else 0,
    )


class _Stop(Exception):
    """The equivalence search ran past the deadline."""


def _equivalent(
    spec: Spec,
    survivors: Sequence[Mutant],
    indices: Sequence[int],
    deadline: float | None = None,
) -> tuple[set[int], int]:
    """The survivors whose steps are the spec's, or differ only unseen, on every step the
    generator's search tries (`_same_steps`), and how many survivors were checked: all, or
    those checked before `deadline`."""

    def heard(key: tuple[Any, ...], reached: object) -> None:
        if deadline is not None and time.monotonic() >= deadline:
            raise _Stop

    steps: list[tuple[Mapping[str, Any], Config, Input]] = []
    searches: dict[int, Search] = {}
    try:
        for variant in variants(spec, {}):
            search = Search(spec, variant)
            search.tried = []
            search.run(heard)
            searches[id(variant.params)] = search
            steps += [(variant.params, config, inp) for config, inp in search.tried]
    except _Stop:
        return set(), 0
    out: set[int] = set()
    for checked, (mutant, index) in enumerate(zip(survivors, indices, strict=True)):
        if deadline is not None and time.monotonic() >= deadline:
            return out, checked
        if _same_steps(spec, mutant, steps, searches):
            out.add(index)
    return out, len(survivors)


def _same_steps(
    spec: Spec,
    mutant: Mutant,
    steps: Sequence[tuple[Mapping[str, Any], Config, Input]],
    searches: Mapping[int, Search],
) -> bool:
    """Does the mutant step as the spec does on every one of `steps`? Where its successors
    differ, they may still differ only in what no observation shows: see `_alike_onwards`."""
    if mutant.kind == "range":
        return _same_range(spec, mutant)
    models: dict[int, tuple[Model, Model] | None] = {}
    explored: dict[tuple[Any, ...], int] = {}
    for params, config, inp in steps:
        key = id(params)
        if key not in models:
            try:
                mine = resolve_params(mutant.spec, {})
                models[key] = (
                    Model(spec, params),
                    Model(mutant.spec, {**params, **_changed_defaults(spec, mutant.spec, mine)}),
                )
            except HasmError:
                return False  # the mutant's defaults are refused: a header tells them apart
        pair = models[key]
        assert pair is not None
        if mutant.triggers is not None:
            trigger = inp.name if isinstance(inp, EventInput) else getattr(inp, "timer", None)
            if trigger not in mutant.triggers:
                continue
        try:
            ours = {s.config for s in apply(pair[0], config, inp)}
            theirs = {s.config for s in apply(pair[1], config, inp)}
        except HasmError:
            return False
        if ours == theirs:
            continue
        pairs = _matched(ours, theirs)
        if pairs is None or not _alike_onwards(*pair, searches[key], pairs, explored):
            return False
    return True


# -- differences no observation shows ------------------------------------------------------------
def _tried(search: Search, config: Config) -> bool:
    """Did the search try every input on this configuration (or one the same but for the
    time, or the nodes' roles)? Then `_same_steps` compares the mutant's steps there."""
    reached = search.seen.get(state_key(config))
    return reached is not None and reached.depth < MAX_DEPTH


def _unseen(config: Config) -> Config:
    """The configuration less what no record of a trace can show of it: the state and reason
    SRM keeps for a node whose SRM does not run (the node down, or its SRM stopped). The page
    shows such a node as the spec's `display.unreachable` whatever they are (node_views); what
    else depends on them now - the sessions the node serves, the actions offered - is kept or
    compared as it is, and what a later step makes of them is what `_alike_onwards` checks."""
    nodes = tuple(
        n if n.up and n.srm else dataclasses.replace(n, state="", reason="") for n in config.nodes
    )
    return dataclasses.replace(config, nodes=(nodes[0], nodes[1]))


def _matched(
    ours: Iterable[Config], theirs: Iterable[Config]
) -> list[tuple[Config, Config]] | None:
    """Each successor of the spec paired with each of the mutant's that differs from it only
    unseen; None if some successor of either has no such partner."""
    mine, other = list(ours), list(theirs)
    if {_unseen(c) for c in mine} != {_unseen(c) for c in other}:
        return None
    return [(a, b) for a in mine for b in other if _unseen(a) == _unseen(b)]


def _alike_onwards(
    ours: Model,
    theirs: Model,
    search: Search,
    pairs: Iterable[tuple[Config, Config]],
    explored: dict[tuple[Any, ...], int],
) -> bool:
    """From each pair of a spec's and a mutant's configuration that differ only unseen, does
    every continuation keep them so - each record showing the same - until they are equal in
    a configuration whose every step the step-wise check compares?

    Why this is sound (within the same bounds as the rest of the check): configurations that
    differ only unseen show the same page, sessions and offered actions (checked, since an
    offered action is read off the guards); if every input takes them to successors that pair
    up the same way - each successor of one with one of the other that again differs only
    unseen, and none left over - then by induction every sequence of records a trace can make
    gets the same answer from both, so no trace tells the mutant apart from the spec. The
    continuations are those of the generator's search: its events (faults at most
    MAX_FAULTS), the clock run to the next deadline and what is due fired there, in every
    order, up to MAX_DEPTH steps past the difference. A mutant that makes a hidden state
    matter later (a rule that keeps the state when the SRM starts) fails it there."""
    frontier = [(a, b, 0) for a, b in pairs]
    while frontier:
        a, b, depth = frontier.pop()
        if a == b and _tried(search, a):
            continue  # equal again, where the step-wise check compares every step already
        if _unseen(a) != _unseen(b) or observation(ours, a) != observation(theirs, b):
            return False
        # A pair met before, as early in a continuation or earlier, is checked from there: a
        # difference would have ended the check. (Times relative to the clock: the semantics
        # depends on how long ago things happened, not on what time it is.)
        key = (relative(a), relative(b))
        if depth >= MAX_DEPTH or explored.get(key, MAX_DEPTH) <= depth:
            continue
        explored[key] = depth
        due = forced(ours, a)
        if due != forced(theirs, b):
            return False
        inputs: list[Input] = list(due)
        if not due:
            inputs += [i for i in search.inputs(a) if not a.services_of_down_node(i)]
            limit, other = deadline(ours, a), deadline(theirs, b)
            if limit != other:
                return False
            if limit is not None and limit > a.now:
                frontier.append((advance(ours, a, limit), advance(theirs, b, limit), depth + 1))
        for inp in inputs:
            try:
                ours_: Sequence[Step] = apply(ours, a, inp)
                theirs_: Sequence[Step] = apply(theirs, b, inp)
            except HasmError:
                return False
            if isinstance(inp, EventInput):  # the search's bound on faults, both sides alike
                ours_, theirs_ = bounded(ours_, MAX_FAULTS), bounded(theirs_, MAX_FAULTS)
            mine = [s.config for s in ours_]
            other_ = [s.config for s in theirs_]
            matched = _matched(mine, other_)
            if matched is None:
                return False
            frontier += [(x, y, depth + 1) for x, y in matched]
    return True


def _changed_defaults(spec: Spec, mutated: Spec, values: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters whose default the mutant changed, at the mutant's default (a trace that
    does not override them runs with the mutant's value)."""
    return {n: values[n] for n in spec.parameters if spec.defaults[n] != mutated.defaults[n]}


def _same_range(spec: Spec, mutant: Mutant) -> bool:
    """A range mutant is equivalent when it accepts and refuses the same headers: probed with
    the changed parameter at every end of either range and one beyond, alone and with each
    other parameter at an end of its range (the other constraints - timer windows - may
    refuse the same values either way)."""
    changed = [n for n, p in spec.parameters.items() if p.range != mutant.spec.parameters[n].range]
    others = [(n, p.range) for n, p in spec.parameters.items() if p.type == "seconds" and p.range]
    for name in changed:
        old, new = spec.parameters[name].range, mutant.spec.parameters[name].range
        assert old is not None and new is not None
        values = {v + d for v in (*old, *new) for d in (-1, 0, 1)}
        for value in sorted(values):
            probes = [{name: value}] + [
                {name: value, other: bound}
                for other, bounds in others
                if other != name
                for bound in bounds
            ]
            for probe in probes:
                if accepts(spec, probe) != accepts(mutant.spec, probe):
                    return False
    return True
