"""Diagnoses in time: when a rejected record would have been allowed, and through which hidden steps.

Only a divergence pays for this. From the candidates of the last record, every run of hidden
steps (timers firing, clients re-logging in) is followed symbolically, each step's moment kept
as a clock of its own, so the zone of each configuration reached relates the moments of all
the steps on the way and the time since the record. Where a configuration shows what the
rejected record saw, that zone gives the earliest and latest time it could have been seen, and
the earliest and latest moment of each hidden step on the way: "seen between t=160 and t=577,
after timer initialization on pub fired between t=40 and t=40 (no record shows it)".

Members of a range of counts are followed one by one and the search stops after a budget of
configurations: an explanation is a help, not a verdict (the verdict is the oracle's).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from hasm.core.config import Fire, Relogin
from hasm.core.model import Model
from hasm.core.symbolic import Symbolic, choices, delay, normalise, step
from hasm.core.zones import le
from hasm.oracle.candidates import RECORD, Candidate, members, stable_order

__all__ = ["Allowed", "HiddenStep", "allowed_times"]

_CLOCK = RECORD + 1
Path = tuple[
    tuple["Fire | Relogin", int], ...
]  # the hidden steps so far, each with its clock's tag


@dataclass(frozen=True, slots=True)
class HiddenStep:
    """A step no record shows, and the earliest and latest moment it could have happened
    (trace ticks)."""

    input: Fire | Relogin
    earliest: int
    latest: int


@dataclass(frozen=True, slots=True)
class Allowed:
    """A stretch of time in which some behaviour shows what was seen, and the hidden steps after
    the last record that behaviour takes first (with their moments within that stretch)."""

    earliest: int
    latest: int | None  # None: for as long as nothing else happens
    steps: tuple[HiddenStep, ...]


def allowed_times(
    model: Model,
    previous: Iterable[Candidate],
    since: int,
    shows: Callable[[Candidate], bool],
    horizon: int,
    budget: int = 500,
) -> list[Allowed]:
    """Every stretch up to `horizon` ticks after the last record (at `since`) in which a run of
    hidden steps from a candidate of `previous` reaches a configuration that `shows`, each with
    the steps on the way; the fewest steps first. At most `budget` configurations are visited."""
    start: list[tuple[Symbolic, Path]] = []
    # The default answer to the spec's readings first: of two stretches alike, the one told
    # is the spec's first reading's (the sort below keeps the order of discovery).
    for cand in sorted(stable_order(previous), key=lambda c: len(c.config.nodes[0].readings)):
        for m in members(cand):
            start.append((m.symbolic, ()))
            if len(start) >= budget:
                break
    queue = deque(start)
    seen: set[tuple[object, ...]] = set()
    found: list[Allowed] = []
    visited = 0
    while queue and visited < budget:
        sym, path = queue.popleft()
        key = (sym.config, sym.zone, path)
        if key in seen:
            continue
        seen.add(key)
        visited += 1
        passed = delay(model, sym)
        if passed is None:
            continue
        zone = passed.zone.constrain(_CLOCK, 0, le(horizon))
        if zone is None:
            continue
        here = Symbolic(sym.config, zone)
        if shows(Candidate(sym.config, zone)):
            found.append(_allowed(here, path, since))
        for inp in choices(here):
            for moved, grown in step(model, here, inp):
                held = (RECORD, *(tag for _, tag in path), int(moved.config.now))
                nxt, renamed = normalise(moved.config, grown, held)
                tags = [t for t in renamed[1:] if t is not None]
                steps = [*(i for i, _ in path), inp]
                queue.append((nxt, tuple(zip(steps, tags, strict=True))))
    found.sort(key=lambda a: (len(a.steps), a.earliest))
    return found


def _allowed(sym: Symbolic, path: Path, since: int) -> Allowed:
    """The stretch of `sym`'s zone in trace time, and each step's moment: (record clock - the
    step's clock) after the record."""
    zone = sym.zone
    low, high = zone.interval(_CLOCK)
    steps = []
    for inp, tag in path:
        early, late = zone.difference(_CLOCK, tag + 1)
        first = since + (early or 0)
        steps.append(HiddenStep(inp, first, first if late is None else since + late))
    return Allowed(since + low, None if high is None else since + high, tuple(steps))
