"""Reaching for the oracle: every candidate at a later time, through what a trace cannot see.

Between two records timers fire anywhere in their window and clients re-login at any moment of
theirs. Each candidate's zone keeps, for every hidden step taken, exactly the moments it could
have been taken at, related to one another and to the last record (its clock is tag 0): time
passes (`delay`), a hidden step cuts the zone to where its guard holds, and at the next record's
time the zone is cut to that instant. Nothing is widened, so the candidates at a record are
exactly the configurations some behaviour allowing the trace is in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import cast

from hasm.core.config import (
    NO_NODE,
    NOT_WAITING,
    Cohort,
    Config,
    EventInput,
    Fire,
    Input,
    Relogin,
    UserKey,
)
from hasm.core.memo import Table
from hasm.core.model import Model
from hasm.core.semantics import apply
from hasm.core.symbolic import delay
from hasm.core.views import node_views
from hasm.core.zones import Zone, le
from hasm.oracle.candidates import (
    RECORD,
    Candidate,
    Split,
    add_split,
    expand,
    narrow,
    normal,
    successors,
)
from hasm.spec.model import FAULT_ONLY_EFFECTS

__all__ = ["Counts", "Pins", "Reacher", "at_record", "only"]

Counts = dict[tuple[int, int], int]  # users observed per (home node, session node)
_CLOCK = RECORD + 1  # the record clock's index in a zone
# The states a reach explored, by discrete part and the cohorts done this stretch: their zones.
Seen = dict[tuple[Config, tuple["Split", ...], frozenset[UserKey]], list[Zone]]


@dataclass(frozen=True, slots=True)
class Pins:
    """What an observation about to be checked says exactly about where users are: the users
    per (home, session node) of the homes it lists in full, and each node's active users."""

    homes: Counts | None
    active: tuple[int | None, int | None]


def at_record(zone: Zone, elapsed: int) -> Zone | None:
    """The zone at the moment `elapsed` ticks after the last record."""
    return zone.fix(_CLOCK, elapsed)


class Reacher:
    """Takes candidates to a later time. A waiting cohort of more than `listed_up_to` clients
    re-logins as one range of counts; a smaller one has each count listed (see
    hasm.oracle.candidates)."""

    def __init__(
        self,
        model: Model,
        listed_up_to: float,
        hidden: tuple[EventInput, ...] = (),
        max_faults: int = 0,
    ) -> None:
        """`hidden`: the events that may happen unrecorded (a trace header's `hidden`), each
        anywhere in time as long as at most `max_faults` faults hold at once."""
        self.model, self.listed_up_to = model, listed_up_to
        self.hidden, self.max_faults = hidden, max_faults
        # Of them, those that may happen once the faults are at the bound.
        self.repairs = tuple(
            e for e in hidden if FAULT_ONLY_EFFECTS.isdisjoint(model.spec.events[e.name].effects)
        )
        self.relogin_low = int(model.relogin_low)
        self.relogin_high = int(model.relogin_high)
        self.lows = {t.name: int(t.low) for t in model.node_timers}
        self._steps: Table[Candidate, list[Candidate]] = Table(1 << 16)

    def reach(
        self, candidates: frozenset[Candidate], elapsed: int, pinned: Pins | None = None
    ) -> frozenset[Candidate]:
        """Every candidate `elapsed` ticks after the last record (its zone at that moment)."""
        out: set[Candidate] = set()
        # What was explored, shared by every candidate's search: runs from two candidates
        # that meet go on once (by discrete part, the zones met: one inside adds nothing).
        seen: Seen = {}
        for cand in candidates:
            if not self.hidden and self._quiet(cand, elapsed):
                # The common case: nothing can happen before then, so nothing is due either.
                zone = cand.zone.up().fix(_CLOCK, elapsed)
                assert zone is not None  # the record clock is 0 now and nothing else is bounded
                out.add(Candidate(cand.config, zone, cand.splits))
            else:
                out.update(self._reach_one(cand, elapsed, seen, pinned))
        return frozenset(_subsumed(out))

    def _quiet(self, cand: Candidate, elapsed: int) -> bool:
        """No timer may fire and no client may re-login within `elapsed`: each clock, at its
        oldest now, is still short of its least duration then."""
        config, zone = cand.config, cand.zone
        for t in config.timers:
            high = zone.interval(int(t.since) + 1)[1]
            if high is None or high + elapsed >= self.lows[t.name]:
                return False
        for c in config.users:
            if c.waiting_since >= 0:
                high = zone.interval(int(c.waiting_since) + 1)[1]
                if high is None or high + elapsed >= self.relogin_low:
                    return False
        return True

    def _reach_one(
        self, start: Candidate, elapsed: int, seen: Seen, pinned: Pins | None = None
    ) -> Iterator[Candidate]:
        """Every candidate `elapsed` ticks on: hidden timer firings and re-logins in between,
        in any order, each anywhere in its window.

        Re-logins change no node, so between two timer firings the order of the clients that
        re-login does not matter: each cohort's count is chosen once per stretch (cohorts in
        their order), which keeps the work linear in the number of clients, not quadratic.

        `pinned` is what the observation about to be checked says exactly about where users
        are. When no timer can fire before it and a cohort is the only one whose clients can
        change a count it gives, the cohort's count is read off it instead of listed."""
        model = self.model
        no_cohort: frozenset[UserKey] = frozenset()
        stack: list[tuple[Candidate, frozenset[UserKey]]] = [(start, no_cohort)]

        def push(cand: Candidate, done: frozenset[UserKey]) -> None:
            stack.append((cand, done))

        while stack:
            cand, done = stack.pop()
            key = (cand.config, cand.splits, done)
            zones = seen.setdefault(key, [])
            if any(z.includes(cand.zone) for z in zones):
                continue
            zones.append(cand.zone)
            config = cand.config
            # The members of a range in which a cohort's clients are all back outlive the
            # cohort's deadline: where it may come before the record, they go on as a
            # candidate of their own.
            if cand.splits:
                oldest = cand.zone.up().constrain(_CLOCK, 0, le(elapsed))
                for i, split in enumerate(cand.splits):
                    source = split.source
                    if split.extra == config.count(source) and oldest is not None:
                        high = oldest.interval(int(source[2]) + 1)[1]
                        if high is None or high > self.relogin_high:
                            push(normal(narrow(cand, i, split.extra, split.extra)), done)
            passed = delay(model, cand.symbolic)
            if passed is None:
                continue
            until = passed.zone.constrain(_CLOCK, 0, le(elapsed))
            if until is None:
                continue
            now = Candidate(config, until, cand.splits)
            there = until.fix(_CLOCK, elapsed)
            if there is not None:
                yield normal(Candidate(config, there, cand.splits))
            for after in self._hidden_steps(now):
                push(after, no_cohort)
            for cohort in config.users:
                if cohort.waiting_since < 0 or cohort.key in done:
                    continue
                ready = until.constrain(0, int(cohort.waiting_since) + 1, le(-self.relogin_low))
                if ready is None:
                    continue
                here = Candidate(config, ready, cand.splits)
                target = (cohort.home, model.serving(config, cohort.home), NOT_WAITING)
                index = next((i for i, s in enumerate(cand.splits) if s.source == cohort.key), None)
                if index is not None and cand.splits[index].target != target:
                    for part in expand(cand, index):  # they land elsewhere now: list it out
                        push(normal(part), done)
                    continue
                for after in self._relogins(here, cohort, target, index, pinned, elapsed, done):
                    push(normal(after), done | {cohort.key})

    def _hidden_steps(self, cand: Candidate) -> list[Candidate]:
        """The candidates after one step the trace does not show, somewhere in `cand`'s zone: a
        timer firing, or an environment event of the header's `hidden` within the bound on
        faults at once. Remembered by candidate, as runs of hidden steps from different
        candidates meet the same ones again: one look-up per candidate, not one per step, as
        hashing a candidate is most of what a look-up costs."""
        found = self._steps.get(cand)
        if found is not None:
            return found
        model, config, bound = self.model, cand.config, self.max_faults
        found = []
        for timer in config.timers:
            found += successors(model, cand, only(Fire(timer.name, timer.node)), recorded=False)
        for event in self.repairs if config.faults() >= bound else self.hidden:
            if not config.services_of_down_node(event):
                after = successors(model, cand, only(event), recorded=False)
                found += [c for c in after if c.config.faults() <= bound and c.config != config]
        return self._steps.keep(cand, found)

    def _relogins(
        self,
        here: Candidate,
        cohort: Cohort,
        target: UserKey,
        index: int | None,
        pinned: Pins | None,
        elapsed: int,
        done: frozenset[UserKey],
    ) -> list[Candidate]:
        """The candidates after some of `cohort`'s clients re-login now, landing in cohort
        `target` (as range `index` of `here` already does, if not None): as many as the
        observation about to be checked says, when it pins the count; else any number of them,
        as one range (see hasm.oracle.candidates)."""
        config = here.config
        read_off = self._pinned_count(here, cohort, pinned, elapsed, done) if pinned else None
        if read_off is None:
            ranged = add_split(here, cohort.key, target, cohort.count)
            # A few clients are cheaper listed: the candidates merge as they meet again.
            if cohort.count > self.listed_up_to:
                return [ranged]
            return expand(ranged, ranged.splits.index(Split(cohort.key, target, cohort.count)))
        if read_off == 0:
            return []  # none: the candidate without re-logins is there already
        if index is not None:  # every member, plus those still to re-login, has that many back
            return [narrow(here, index, read_off, read_off)]
        back = apply(self.model, config, Relogin(cohort.key, read_off), timed=False)[0].config
        return [Candidate(back, here.zone, here.splits)]

    def _pinned_count(
        self,
        here: Candidate,
        cohort: Cohort,
        pinned: Pins,
        elapsed: int,
        done: frozenset[UserKey],
    ) -> int | None:
        """How many of `cohort` are back by the observation, when it says so exactly and nothing
        else can change that before it (0: none, or an impossible number; None: not known).
        The count is the configuration's: a range along this cohort is settled by it."""
        model, home, config, zone = self.model, cohort.home, here.config, here.zone
        target = model.serving(config, home)
        if target == NO_NODE:
            return None
        if any(
            s.source != cohort.key and (s.source[0] == home or target in (s.source[1], s.target[1]))
            for s in here.splits
        ):
            return None  # another range moves the same users or counter
        # Not before the observation itself, not just before this stretch's deadline: a timer
        # firing after the clients' deadline can still move them before it is made.
        until = zone.up().constrain(_CLOCK, 0, le(elapsed))
        for tm in config.timers:
            oldest = None if until is None else until.interval(int(tm.since) + 1)[1]
            if oldest is None or oldest >= self.lows[tm.name]:
                return None  # a timer may still fire first and change where clients land
        waiting = [
            c
            for c in config.users
            if c.waiting_since >= 0 and c.key != cohort.key and c.key not in done
        ]
        wanted: int | None = None
        homes = pinned.homes
        if homes is not None and any(key[0] == home for key in homes):
            # every user of the home is listed: its users on the target, less those there now
            if any(c.home == home for c in waiting):
                return None  # several waiting cohorts could share the count
            there = sum(c.count for c in config.users if c.home == home and c.session == target)
            wanted = homes.get((home, target), 0) - there
        elif pinned.active[target] is not None:
            # the target's active users, less those there now, if this cohort alone lands there
            view = node_views(model, config)[target]
            if not model.spec.states[view.state].shows_active_users:
                return None
            if any(model.serving(config, c.home) == target for c in waiting):
                return None
            wanted = cast(int, pinned.active[target]) - view.active_users
        if wanted is None:
            return None
        return wanted if 1 <= wanted <= cohort.count else 0


def only(inp: Input) -> Callable[[Config], tuple[Input]]:
    """The inputs of a stretch that takes one step (a timer, an event), whatever the
    configuration."""
    return lambda _config: (inp,)


def _subsumed(cands: set[Candidate]) -> list[Candidate]:
    """The candidates but those another one includes (same discrete part and ranges, a zone
    inside its zone), those whose union is convex merged into one (Zone.union: exact), and a
    configuration a range stands for listed again."""
    by_part: dict[tuple[Config, tuple[Split, ...]], list[Zone]] = {}
    # Larger first, ties by bounds: the zones kept and merged do not depend on the hash seed.
    for c in sorted(cands, key=lambda c: (-_volume(c.zone), c.zone.bounds)):
        zones = by_part.setdefault((c.config, c.splits), [])
        if not any(z.includes(c.zone) for z in zones):
            zones.append(c.zone)
    for part, zones in by_part.items():
        if len(zones) > 1:
            by_part[part] = _merged(zones)
    # A range stands for its configuration too: drop the configuration listed again.
    ranged = {(config, z) for (config, splits), zs in by_part.items() if splits for z in zs}
    return [
        Candidate(config, zone, splits)
        for (config, splits), zones in by_part.items()
        for zone in zones
        if splits or (config, zone) not in ranged
    ]


def _merged(zones: list[Zone]) -> list[Zone]:
    """`zones` (none inside another) with every pair whose union is convex merged, until no
    pair is. A hidden step that may have come in any of many gaps between records leaves one
    zone per gap, each a slice of one convex set: merged, the candidates stay few however long
    the trace leaves the moment open (a 30-minute fallback timer polled every 10 s: 180 slices)."""
    zones = list(zones)
    merging = True
    while merging:
        merging = False
        for a in range(len(zones)):
            for b in range(a + 1, len(zones)):
                union = zones[a].union(zones[b])
                if union is not None:
                    rest = [z for k, z in enumerate(zones) if k not in (a, b)]
                    zones = [union, *(z for z in rest if not union.includes(z))]
                    merging = True
                    break
            if merging:
                break
    return zones


def _volume(zone: Zone) -> int:
    """A size of a zone that grows with inclusion (no bound counts as a very large one), so
    that trying the larger first drops every zone another includes."""
    return sum(min(b, _LARGE) for b in zone.bounds)


_LARGE = 1 << 56  # beyond any bound in ticks (about 417 days in nanoseconds)
