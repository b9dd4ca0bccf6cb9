"""Exhaustive breadth-first exploration of a spec's zone graph: every invariant checked on every
reachable symbolic state and step, over dense time, the shortest counterexample as a trace.

What is explored exactly:

- **Dense time, every ordering.** A state is symbolic (hasm.core.symbolic): the discrete part of
  a configuration - states, reasons, environment, which timers run, the cohorts - and a zone (a
  DBM, hasm.core.zones) of how long ago each timer started, each client began to wait and each
  watched condition began to hold. An event may happen at any real moment of a state (its guard
  is the whole zone), a timer anywhere in its window, a client's re-login anywhere in its; so
  every ordering of deadlines that some choice of times gives is a successor, a new deadline
  between two old ones included. Zones are kept closed under time passing within the timers'
  and waits' greatest durations, and extrapolated by lower and upper bounds (Extra+_LU: for each
  clock the largest constant it is compared with from below - a timer's least duration, a wait's
  lower limit - and from above - the greatest ones; a watched condition's `at_least` and a
  response clock's `within` both ways), which is sound and complete for reachability with
  constraints that compare one clock with a constant, the only ones the spec language has: the
  zone graph is finite and reaches exactly the discrete states, steps and invariant outcomes
  the timed semantics does. `tests/slow/test_dense_verify.py` checks that against a
  brute-force search trying every event at every tick and half tick (tests/digital.py).
- **Inclusion.** A state whose zone a stored zone of the same discrete part includes adds no
  run and is not explored; one whose zone includes a stored one replaces it. `states` counts
  discrete parts, `zones` the symbolic states stored.
- **Symmetry.** A spec is written once for `node` and `peer`, so a state and its mirror image
  (the nodes swapped, clocks renumbered) are one; what is reported is completed with the mirror
  images.
- **History the invariants need.** A `fires_after` condition that holds carries a clock reset
  when it began to hold; a step that fires one of its rules breaks it iff the zone at the step
  admits the clock below `at_least`. A bounded response is a zone search of the runs from its
  triggering step in which nothing but timers and re-logins happen, with a clock reset at the
  trigger: it fails iff a state off the goal lets time pass beyond `within` (see
  hasm/explorer/invariants.py for what each kind means).
- **Counterexamples with concrete times.** The path's inputs are replayed on exact zones (not
  extrapolated) with a clock kept for every step, the violation's own constraint added, and one
  integer valuation picked; the run is rebuilt with the concrete core at those times (the same
  rules fire) and written in trace format v1, in seconds, so `hasm check` replays it. Time is
  counted in ticks of a power of ten that makes every bound a whole number (`model_ticks`;
  seconds with the default parameters).

What is still bounded, and why it is enough:

- **One user.** No guard, timer condition or node effect of the spec language reads a user, so
  the nodes run the same whoever is signed in, and users do not steer each other (a session
  follows the nodes and its own re-login window); every user invariant speaks of each user. One
  user homed on node 0 is explored; by symmetry it is also the user homed on node 1; users of
  one home are interchangeable in the core (cohorts), so more users add counts, not behaviours.
- **Services by what the spec tells apart.** Every service a guard names and one
  representative of the other monitored services are stopped and started; services nobody
  monitors change nothing and are left out.
- **At most K faults at once** (`max_faults`, default 1: the failure a pair is built to
  survive): a stopped service, a node down, SRM stopped on a running node and the link down each
  count one (`Config.faults`); runs are otherwise unbounded - faults, repairs, sign-ins and -outs,
  administrator actions, timers and re-logins in any number and order. A service does not stop
  or start on a node that is down: its services start with it (the core's node_up).
- **Parameter variants that change behaviour.** Every boolean parameter a guard reads, both
  ways, and every set of monitored services that differs in a service a guard names (the default
  set, and the default set with each named service added or removed), unless `params` fixes it;
  numbers are the given values. A guard reads its terms in order and stops at the first that
  fails, so a switch that no guard read while one variant was explored changed nothing there:
  the variant with it flipped is the same exploration and is not run again
  (`VariantResult.same_as`). A variant that stops only services another variant stops too, and
  monitors each of them just as that one does, has no run the other lacks (see _within): it is
  covered by the other's exploration and not run (`VariantResult.within`) - unless the other
  breaks an invariant.

Breadth-first order makes the path to each state, and so every counterexample, as short as
possible in steps.

This module chooses the variants and runs one search of each (hasm.explorer.zonegraph), in
parallel where it can; what they find is hasm.explorer.results.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from hasm.core.model import default_monitored
from hasm.core.search import (
    MAX_FAULTS,
    settings,
    switches,
)
from hasm.explorer.results import (
    Bounds,
    Exploration,
    Pair,
    PairEdge,
    ShownPair,
    Variant,
    VariantResult,
)
from hasm.explorer.zonegraph import VariantSearch, variant_services
from hasm.parallel import parallel_map, process_count
from hasm.spec.guards import named_services
from hasm.spec.model import ParamValue, Spec
from hasm.spec.params import resolve_params

__all__ = ["explore", "variants"]


# -- variants ------------------------------------------------------------------------------------
def variants(
    spec: Spec,
    params: Mapping[str, ParamValue] | None = None,
    monitored: frozenset[str] | None = None,
) -> tuple[Variant, ...]:
    """The parameter variants that change behaviour, with `params` (overrides, checked) and
    `monitored` fixed where given."""
    fixed = dict(params or {})
    base = resolve_params(spec, fixed, file="--param", path="param")
    # Every boolean parameter any guard reads (of a transition, a reason choice, a timer, an
    # invariant), false first.
    flags = switches(spec, fixed)
    named = named_services(spec)
    out: list[Variant] = []
    for setting in settings(spec, flags, default_first=False):
        chosen = {**base, **setting}
        if monitored is not None:
            sets = [monitored]
        else:
            default = default_monitored(spec, chosen)
            sets = [default]
            for service in sorted(named):
                other = default ^ {service}
                if other and other not in sets:
                    sets.append(other)
        for services in sets:
            words = [f"{n}={'true' if chosen[n] else 'false'}" for n in flags]
            words.append("monitored: " + (", ".join(sorted(services)) or "none"))
            out.append(Variant(chosen, frozenset(services), "; ".join(words)))
    return tuple(out)


# -- every variant ---------------------------------------------------------------------------------
def explore(
    spec: Spec,
    params: Mapping[str, ParamValue] | None = None,
    *,
    monitored: frozenset[str] | None = None,
    max_faults: int = MAX_FAULTS,
    first: bool = False,
    jobs: int = 1,
    progress: Callable[[Variant, int, int, int], None] | None = None,
    done: Callable[[VariantResult], None] | None = None,
    deadline: float | None = None,
) -> Exploration:
    """Explore every parameter variant of `spec` (`params` fixes the parameters it names,
    `monitored` the monitored services) with runs of any length, at most `max_faults` faults at
    once, and return what is reachable, with the shortest counterexample of each invariant each
    variant breaks (with `first`, a variant's search ends at its first). `jobs` > 1 explores
    variants in that many processes (0: one per core); the result is the same. `progress`
    hears of a variant's search as it goes (one process only), `done` of each variant as it
    ends. At `deadline` (a time.monotonic() moment) every search ends where it is, its result
    marked incomplete (`Exploration.complete`); a variant is then never taken to be covered by
    an incomplete one. Bad overrides raise ParameterError."""
    began = time.perf_counter()
    bounds = Bounds(max_faults, first, deadline)
    chosen = variants(spec, params, monitored)
    flags = switches(spec)
    inputs = [variant_services(spec, v.monitored, max_faults) for v in chosen]

    # Two ways one exploration covers another variant, which then is not explored (unless the
    # covering one breaks an invariant):
    # - within: every run of the variant is a run of another (see _within);
    # - the same exploration: it differs from a variant with every switch off only in switches
    #   that exploration never read.
    def covers(i: int, j: int) -> bool:  # of two variants with the same runs, the first counts
        return (
            i != j
            and _within(chosen[i], inputs[i], chosen[j], inputs[j])
            and not (j > i and _within(chosen[j], inputs[j], chosen[i], inputs[i]))
        )

    every = range(len(chosen))
    widest = [i for i in every if not any(covers(i, j) for j in every)]
    # Being within is transitive, so a variant within another is within a widest one.
    within = {i: next(j for j in widest if covers(i, j)) for i in every if i not in widest}
    off = [i for i in widest if not any(chosen[i].params[s] for s in flags)]
    # One process explores the variants with every switch off first, so the others can be
    # found the same; more go at once (one found the same is rarely worth an idle process).
    together = process_count(jobs, len(widest)) > 1
    wave = widest if together else off
    outcomes: dict[int, _Outcome] = dict(
        zip(wave, _run(spec, [chosen[i] for i in wave], bounds, jobs, progress, done), strict=True)
    )

    def cover(i: int, found: VariantResult, outcome: _Outcome) -> None:
        outcomes[i] = outcome
        if done is not None and not together:
            done(found)

    def same(i: int, base: int) -> None:
        result = outcomes[base].result
        found = dataclasses.replace(result, variant=chosen[i], seconds=0.0, same_as=base)
        cover(i, found, dataclasses.replace(outcomes[base], result=found))

    def inside(i: int, base: int) -> None:
        found = VariantResult(chosen[i], 0, 0, 0, 0.0, frozenset(), (), within=base)
        cover(i, found, _Outcome(found, *(frozenset(),) * 5))

    rest = []
    for i in widest:
        if i in outcomes:
            continue
        v = chosen[i]
        base = next(
            (
                j
                for j in off
                if chosen[j].monitored == v.monitored
                and outcomes[j].result.complete
                and not outcomes[j].result.violations
                and not any(
                    v.params[s] != chosen[j].params[s] and s in outcomes[j].result.read
                    for s in flags
                )
                and all(v.params[k] == chosen[j].params[k] for k in v.params if k not in flags)
            ),
            None,
        )
        if base is None:
            rest.append(i)
        else:
            same(i, base)
    outcomes.update(
        zip(rest, _run(spec, [chosen[i] for i in rest], bounds, jobs, progress, done), strict=True)
    )
    narrow = []
    for i, j in sorted(within.items()):
        if outcomes[j].result.violations or not outcomes[j].result.complete:
            narrow.append(i)  # explored on its own, to name what it breaks (or as far as it can)
        else:
            inside(i, j)
    outcomes.update(
        zip(
            narrow,
            _run(spec, [chosen[i] for i in narrow], bounds, jobs, progress, done),
            strict=True,
        )
    )
    return _combine([outcomes[i] for i in range(len(chosen))], time.perf_counter() - began)


def _within(narrow: Variant, its: tuple[str, ...], wide: Variant, wides: tuple[str, ...]) -> bool:
    """Is every run of `narrow` a run of `wide`? When the parameters are the same, and every
    service `narrow` stops (`its`) `wide` stops too (`wides`) and monitors or not just as
    `narrow` does: the runs start with no service stopped, so a service the two monitor
    differently is never stopped in a run of `narrow`, and every guard - which sees a stopped
    service only through the monitored set - reads the same in both. So `narrow`'s runs are
    `wide`'s runs that never take the events on its other services; exploring `wide` covers
    them, at the same fidelity."""
    return (
        narrow.params == wide.params
        and set(its) <= set(wides)
        and all((s in narrow.monitored) == (s in wide.monitored) for s in its)
    )


def _run(
    spec: Spec,
    chosen: list[Variant],
    bounds: Bounds,
    jobs: int,
    progress: Callable[[Variant, int, int, int], None] | None,
    done: Callable[[VariantResult], None] | None,
) -> list[_Outcome]:
    """Explore `chosen`, in up to `jobs` processes (0: one per core), in order. Each process
    explores whole variants, so the results do not depend on how they are shared out; a
    worker's progress cannot reach this process, so it is told only of variants explored here."""
    live = progress if process_count(jobs, len(chosen)) <= 1 else None
    outcomes: list[_Outcome] = []
    for outcome in parallel_map(lambda v: _explore_variant(spec, v, bounds, live), chosen, jobs):
        outcomes.append(outcome)
        if done is not None:
            done(outcome.result)
    return outcomes


@dataclass(frozen=True)
class _Outcome:
    result: VariantResult
    edges: frozenset[PairEdge]
    shown: frozenset[ShownPair]
    documented: frozenset[str]
    undocumented: frozenset[Pair]
    rules: frozenset[str]


def _explore_variant(
    spec: Spec,
    variant: Variant,
    bounds: Bounds,
    progress: Callable[[Variant, int, int, int], None] | None,
) -> _Outcome:
    search = VariantSearch(spec, variant, bounds)
    t0 = time.perf_counter()
    found = search.run(None if progress is None else _bind(progress, variant))
    # The search keeps one of each pair of mirror images; the other is just as reachable.
    pairs = search.pairs | {(b, a) for a, b in search.pairs}
    edges = search.edges | {((b, a), r, (d, c)) for (a, b), r, (c, d) in search.edges}
    shown = search.shown | {(b, a) for a, b in search.shown}
    result = VariantResult(
        variant,
        len(search.passed),
        search.transitions,
        search.depth,
        time.perf_counter() - t0,
        frozenset(pairs),
        found,
        frozenset(search.read),
        zones=len(search.states),
        complete=not search.stopped,
    )
    return _Outcome(
        result,
        frozenset(edges),
        frozenset(shown),
        frozenset(search.documented),
        frozenset(search.undocumented),
        frozenset(search.rules),
    )


def _combine(outcomes: list[_Outcome], seconds: float) -> Exploration:
    results = tuple(o.result for o in outcomes)
    return Exploration(
        pairs=frozenset().union(*(r.pairs for r in results)),
        pair_edges=frozenset().union(*(o.edges for o in outcomes)),
        shown_pairs=frozenset().union(*(o.shown for o in outcomes)),
        documented=frozenset().union(*(o.documented for o in outcomes)),
        undocumented=frozenset().union(*(o.undocumented for o in outcomes)),
        rules=frozenset().union(*(o.rules for o in outcomes)),
        variants=results,
        # A variant that another's exploration stands for was not explored again: not counted.
        states=sum(r.states for r in results if r.same_as is None),
        transitions=sum(r.transitions for r in results if r.same_as is None),
        zones=sum(r.zones for r in results if r.same_as is None),
        depth=max((r.depth for r in results), default=0),
        seconds=seconds,
        violations=tuple(c for r in results for c in r.violations),
    )


def _bind(
    progress: Callable[[Variant, int, int, int], None], variant: Variant
) -> Callable[[int, int, int], None]:
    return lambda states, transitions, depth: progress(variant, states, transitions, depth)
