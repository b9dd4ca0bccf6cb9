"""Where a trace that starts mid-incident may start: every configuration the spec can reach.

A trace whose header says `"initial": "observed"` was not recorded from a documented starting
point: a support engineer's polls begin in the middle of an incident, with whatever happened
before unseen. Its first candidates are every symbolic configuration reachable from either
starting point of trace format v1 (HA off, or Normal) by any run at all - the environment's
events (at most `max_faults` faults at once), administrator actions, sign-ins and -outs, timers
and re-logins, each at any moment - with the trace's users. The first record then keeps those
that show it, as it would any candidates.

The search is the verifier's zone search, in the oracle's terms (candidates, whose tag 0 is
the record clock): breadth first, time passing within the invariants, each zone extrapolated by
its clocks' lower and upper bounds (Extra+_LU) so that the search ends, and a zone inside one
already found dropped. Extrapolation keeps exactly the timed behaviours: a valuation it adds is
simulated by one the zone had (every comparison the spec makes from there on answers alike), so
starting from the extrapolated zones accepts exactly the traces some reachable configuration
accepts. At the end every clock is as old as the run made it, and the record clock is reset to
0: the first record is at some moment of some reachable zone.

It costs one exploration per group shape (the model, the users per home node and the bound),
remembered for the process, and grows with the users: each cohort of clients that may be
waiting is a clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from hasm.core.config import Config, Input, Undecided
from hasm.core.model import Model
from hasm.core.search import Inputs, mirror
from hasm.core.semantics import initial_configs
from hasm.core.symbolic import choices, clock_bounds, delay, latest
from hasm.core.zones import Zone, le
from hasm.oracle.candidates import (
    RECORD,
    Candidate,
    Split,
    answering,
    normal,
    starting,
    successors,
)
from hasm.oracle.reaching import only

__all__ = ["observed_start"]


def observed_start(
    model: Model, counts: tuple[int, int], max_faults: int, *, lazy: bool = False
) -> frozenset[Candidate]:
    """Every candidate a group of `counts` users per home node can be in after any run of the
    spec with at most `max_faults` faults at once, the record clock at 0. Remembered for the
    process by what it depends on: every trace of a suite or a directory shares it. `lazy`:
    the readings stay open where no run has depended on them yet (`Node.undecided`)."""
    key = (
        id(model.spec),
        tuple(sorted(model.params.items())),
        model.monitored,
        model.tolerance,
        model.ticks,
        counts,
        max_faults,
        lazy,
    )
    known = _KNOWN.get(key)
    if known is None or known[0] is not model.spec:
        if len(_KNOWN) >= _KEPT:
            _KNOWN.clear()
        known = _KNOWN[key] = (model.spec, _explore(model, counts, max_faults, lazy=lazy))
    return known[1]


# Explorations done in this process (the spec kept, so that its id stays its own).
_KNOWN: dict[tuple[object, ...], tuple[object, frozenset[Candidate]]] = {}
_KEPT = 16


def _explore(
    model: Model,
    counts: tuple[int, int],
    max_faults: int,
    symmetry: bool = True,
    *,
    lazy: bool = False,
) -> frozenset[Candidate]:
    """`symmetry=False` explores both orientations (tests compare the two). A candidate whose
    step needs an open reading is explored again as two, one per answer (`answering`)."""
    spec = model.spec
    inputs = Inputs.of(spec, tuple(sorted(model.monitored)))
    # With as many users on each node the two nodes are alike (rules are written for a node
    # and its peer): one orientation of each configuration is explored, both are the answer.
    alike = symmetry and counts[0] == counts[1]
    seen: dict[tuple[Config, tuple[Split, ...]], list[Zone]] = {}
    queue = deque(
        starting(config)
        for name in spec.initial
        for config in initial_configs(model, name, counts, lazy=lazy)
    )
    while queue:
        cand = queue.popleft()
        if alike and not cand.splits:
            cand = _oriented(cand)
        try:
            passed = delay(model, cand.symbolic)
            if passed is None:
                continue
            lower, upper = clock_bounds(model, passed)
            zone = passed.zone.extrapolate_lu(lower, upper)
            zones = seen.setdefault((cand.config, cand.splits), [])
            if any(z.includes(zone) for z in zones):
                continue
            here = Candidate(cand.config, zone, cand.splits)
            steps = [
                after
                for inp in _inputs(inputs, here)
                for after in successors(model, here, only(inp), recorded=False)
                if after.config.faults() <= max_faults
            ]
        except Undecided as need:
            queue.extend(answering((cand,), need.reading))
            continue
        zones[:] = [z for z in zones if not zone.includes(z)]
        zones.append(zone)
        queue.extend(steps)
    found = {
        normal(Candidate(config, kept, splits))
        for (config, splits), zones in seen.items()
        for zone in zones
        if (kept := _within_invariants(model, config, zone.reset(RECORD + 1))) is not None
    }
    if alike:
        found |= {_mirrored(c) for c in found if not c.splits}
    return frozenset(found)


def _within_invariants(model: Model, config: Config, zone: Zone) -> Zone | None:
    """The zone less what extrapolation added beyond the clocks' invariants (a timer older than
    its greatest duration is no configuration the spec is ever in): reports read windows off it."""
    for clock, cap in latest(model, config).items():
        cut = zone.constrain(clock, 0, le(cap))
        if cut is None:
            return None
        zone = cut
    return zone


def _mirrored(cand: Candidate) -> Candidate:
    return normal(Candidate(mirror(cand.config), cand.zone, cand.splits))


def _oriented(cand: Candidate) -> Candidate:
    """The one of `cand` and its mirror image that comes first (by the nodes, then the timers)."""
    other = _mirrored(cand)
    mine = (repr(cand.config.nodes), repr(cand.config.timers), cand.zone.bounds)
    theirs = (repr(other.config.nodes), repr(other.config.timers), other.zone.bounds)
    return cand if mine <= theirs else other


def _inputs(inputs: Inputs, cand: Candidate) -> Iterator[Input]:
    """Everything that may happen in `cand`: every event with every node, service and cohort
    it takes (no service event on a node that is down), every timer and re-login."""
    config = cand.config
    for inp in inputs.events:
        if not config.services_of_down_node(inp):
            yield inp
    yield from inputs.for_users(config)
    yield from choices(cand.symbolic)
