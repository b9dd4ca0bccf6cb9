"""Reaching for the oracle: every candidate at a later time, through what a trace cannot see.

Between two records timers fire anywhere in their window and clients re-login at any moment of
theirs; the candidates at the next record's time are every way that can go (see hasm.oracle.oracle
for where this over-approximates)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

from hasm.core.config import NO_NODE, NOT_WAITING, Cohort, Fire, Relogin, UserKey
from hasm.core.semantics import Model, apply, deadline
from hasm.core.views import node_views
from hasm.oracle.candidates import (
    Candidate,
    Split,
    add_split,
    at,
    expand,
    keep_slack,
    narrow,
    successors,
    widen,
)

__all__ = ["Counts", "Pins", "Reacher"]

Counts = dict[tuple[int, int], int]  # users observed per (home node, session node)


@dataclass(frozen=True, slots=True)
class Pins:
    """What an observation about to be checked says exactly about where users are: the users
    per (home, session node) of the homes it lists in full, and each node's active users."""

    homes: Counts | None
    active: tuple[int | None, int | None]


class Reacher:
    """Takes candidates to a later time. A waiting cohort of more than `listed_up_to` clients
    re-logins as one range of counts; a smaller one has each count listed (see
    hasm.oracle.candidates)."""

    def __init__(self, model: Model, listed_up_to: float) -> None:
        self.model, self.listed_up_to = model, listed_up_to

    def reach(
        self, candidates: frozenset[Candidate], t: int, pinned: Pins | None = None
    ) -> frozenset[Candidate]:
        """Every candidate at `t` (ticks, not before the candidates' time)."""
        out: set[Candidate] = set()
        for cand in candidates:
            if self._quiet(cand, t):
                out.add(at(cand, t))  # the common case: nothing can happen before t
            else:
                out.update(self._reach_one(cand, t, pinned))
        # A range stands for its configuration too: drop the configuration listed again.
        ranged = {(c.config, c.slack) for c in out if c.splits}
        if ranged:
            out = {c for c in out if c.splits or (c.config, c.slack) not in ranged}
        return frozenset(out)

    def _quiet(self, cand: Candidate, t: float) -> bool:
        """No timer may fire and no client may re-login up to `t`."""
        config = cand.config
        if any(timer.earliest <= t for timer in config.timers):
            return False
        window = self.model.relogin_window
        return not any(
            c.waiting_since >= 0 and window(c.waiting_since)[0] <= t for c in config.users
        )

    def _reach_one(
        self, start: Candidate, t: float, pinned: Pins | None = None
    ) -> Iterator[Candidate]:
        """Every candidate at `t`: hidden timer firings and re-logins up to `t`, in any order.

        Re-logins change no node, so between two timer firings the order of the clients that
        re-login does not matter: each cohort's count is chosen once per stretch (cohorts in
        their order), which keeps the work linear in the number of clients, not quadratic.

        `pinned` is what the observation about to be checked says exactly about where users
        are. When no timer can fire before `t` and a cohort is the only one whose clients can
        change a count it gives, the cohort's count is read off it instead of listed."""
        model = self.model
        no_cohort: frozenset[UserKey] = frozenset()
        stack: list[tuple[Candidate, frozenset[UserKey]]] = [(start, no_cohort)]
        seen = {(start, no_cohort)}
        yielded: set[Candidate] = set()

        def push(cand: Candidate, done: frozenset[UserKey]) -> None:
            if (cand, done) not in seen:
                seen.add((cand, done))
                stack.append((cand, done))

        while stack:
            cand, done = stack.pop()
            config = cand.config
            limit = self._deadline(cand)
            # A window is closed at both ends: at its deadline a timer may still be unfired.
            if (limit is None or limit >= t) and cand not in yielded:
                yielded.add(cand)
                yield at(cand, t)
            # The members of a range in which a cohort's clients are all back outlive the
            # cohort's deadline: they go on as a candidate of their own.
            for i, split in enumerate(cand.splits):
                source = split.source
                if split.extra == config.count(source) and self._latest(cand, source) < t:
                    push(narrow(cand, i, split.extra, split.extra), done)
            horizon = t if limit is None else min(t, limit)
            for timer in config.timers:
                low, high = max(config.now, timer.earliest), min(timer.latest, horizon)
                if low > high:
                    continue
                fire, width = (Fire(timer.name, timer.node),), high - low
                for after in successors(
                    model,
                    at(cand, low),
                    lambda _config, fire=fire: fire,  # type: ignore[misc]
                    lambda c, step, width=width: widen(c, step, width),  # type: ignore[misc]
                ):
                    push(after, no_cohort)
            for cohort in config.users:
                if cohort.waiting_since < 0 or cohort.key in done:
                    continue
                low = max(config.now, model.relogin_window(cohort.waiting_since)[0])
                if low > min(self._latest(cand, cohort.key), horizon):
                    continue
                here = at(cand, low)
                target = (cohort.home, model.serving(here.config, cohort.home), NOT_WAITING)
                index = next((i for i, s in enumerate(cand.splits) if s.source == cohort.key), None)
                if index is not None and cand.splits[index].target != target:
                    for part in expand(here, index):  # they land elsewhere now: list it out
                        push(part, done)
                    continue
                for after in self._relogins(here, cohort, target, index, pinned, t, done):
                    push(after, done | {cohort.key})

    def _latest(self, cand: Candidate, key: UserKey) -> float:
        """The last moment a waiting cohort's clients may re-login."""
        return self.model.relogin_window(key[2])[1] + cand.slack_of(key)

    def _relogins(
        self,
        here: Candidate,
        cohort: Cohort,
        target: UserKey,
        index: int | None,
        pinned: Pins | None,
        until: float,
        done: frozenset[UserKey],
    ) -> list[Candidate]:
        """The candidates after some of `cohort`'s clients re-login now, landing in cohort
        `target` (as range `index` of `here` already does, if not None): as many as the
        observation about to be checked says, when it pins the count; else any number of them,
        as one range (see hasm.oracle.candidates)."""
        config = here.config
        read_off = self._pinned_count(here, cohort, pinned, until, done) if pinned else None
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
        back = apply(self.model, config, Relogin(cohort.key, read_off))[0].config
        return [Candidate(back, keep_slack(here.slack, back, here.splits), here.splits)]

    def _pinned_count(
        self,
        here: Candidate,
        cohort: Cohort,
        pinned: Pins,
        until: float,
        done: frozenset[UserKey],
    ) -> int | None:
        """How many of `cohort` are back by the observation, when it says so exactly and nothing
        else can change that before it (0: none, or an impossible number; None: not known).
        The count is the configuration's: a range along this cohort is settled by it."""
        model, home, config = self.model, cohort.home, here.config
        target = model.serving(config, home)
        if target == NO_NODE:
            return None
        if any(
            s.source != cohort.key and (s.source[0] == home or target in (s.source[1], s.target[1]))
            for s in here.splits
        ):
            return None  # another range moves the same users or counter
        # Not before the observation itself (`until`), not just before this stretch's deadline:
        # a timer firing after the clients' deadline can still move them before it is made.
        if any(max(config.now, tm.earliest) <= min(tm.latest, until) for tm in config.timers):
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

    def _deadline(self, cand: Candidate) -> float | None:
        """The core's deadline, with the slack of waiting cohorts taken into account."""
        if not cand.slack:
            return deadline(self.model, cand.config)
        times = [timer.latest for timer in cand.config.timers]
        times += [
            self.model.relogin_window(c.waiting_since)[1] + cand.slack_of(c.key)
            for c in cand.config.users
            if c.waiting_since >= 0
        ]
        return min(times) if times else None
