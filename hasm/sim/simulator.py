"""Seeded single runs on the virtual clock: the semantic core's choices resolved by one RNG.

The core says what may happen and within which bounds; the simulator picks. When a timer
starts it draws the firing time in the timer's window, and when clients start waiting to
re-login it draws each one's delay in [lower, upper]. Users have names here - the core only
counts them - so the simulator follows each named user through the core's cohort moves.
Internal choices due at a time fire before a scenario event at that same time.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator, Mapping, Sequence

from hasm.core.config import (
    NO_NODE,
    NOT_WAITING,
    Config,
    EventInput,
    Fire,
    Input,
    Relogin,
    RunningTimer,
    Step,
    UserKey,
)
from hasm.core.model import Model
from hasm.core.semantics import advance, apply, initial_config
from hasm.core.views import offer_summary
from hasm.errors import NotOffered
from hasm.sim.scenario import Scenario
from hasm.trace.records import Record

__all__ = ["Simulator"]


def _draw(rng: random.Random, low: float, high: float) -> float:
    """A time in [low, high], on a millisecond grid so traces stay readable."""
    if high <= low:
        return high
    return min(max(round(rng.uniform(low, high), 3), low), high)


class Simulator:
    """One run of a model: feed it events at virtual times; read its records and configuration."""

    def __init__(
        self,
        model: Model,
        nodes: Sequence[str],
        users: Mapping[str, str],
        start: str = "ha_disabled",
        seed: int = 0,
    ) -> None:
        self.model = model
        self.nodes = (nodes[0], nodes[1])
        self.rng = random.Random(seed)
        homes = {name: self.nodes.index(home) for name, home in users.items()}
        counts = (
            sum(1 for h in homes.values() if h == 0),
            sum(1 for h in homes.values() if h == 1),
        )
        self.config: Config = initial_config(model, start, counts)
        self.user_key: dict[str, UserKey] = {}
        self.members: dict[UserKey, dict[str, None]] = {}  # cohort -> its users, in a stable order
        for name, home in homes.items():
            self._place(name, (home, home, NOT_WAITING))
        self.timer_due: dict[tuple[str, int, float], float] = {}
        self.relogins: list[tuple[float, int, str, UserKey]] = []  # (time, order, user, cohort)
        self._order = 0
        self._schedule_timers(self.config.timers, ())

    # -- driving the run -------------------------------------------------------------------------
    def run_until(self, time: float) -> list[Record]:
        """Take every internal choice due at or before `time`, then move the clock to `time`."""
        return list(self.steps_until(time))

    def steps_until(self, time: float) -> Iterator[Record]:
        """`run_until`, one record at a time: a consumer that keeps none of them keeps memory
        flat however many users re-login."""
        while (choice := self._next_choice()) is not None and choice[0] <= time:
            at, inp, user = choice
            self.config = advance(self.model, self.config, at)
            yield self._apply(inp, user=user)
        self.config = advance(self.model, self.config, max(time, self.config.now))

    def event(
        self,
        name: str,
        node: str | None = None,
        service: str | None = None,
        user: str | None = None,
        line: int | None = None,
    ) -> Record:
        """Apply an event of trace format v1 now. An admin action the spec does not offer now
        raises NotOffered, saying what is offered instead."""
        index = self.nodes.index(node) if node is not None else None
        key = self.user_key[user] if user is not None else None
        inp = EventInput(name, index, service, key)
        return self._apply(inp, user=user, line=line)

    def play(self, scenario: Scenario) -> Iterator[Record]:
        """Run a scenario to its end, yielding every record."""
        for ev in scenario.events:
            yield from self.steps_until(ev.t)
            yield self.event(ev.event, ev.node, ev.service, ev.user, line=ev.line)
        yield from self.steps_until(scenario.until)

    # -- internals --------------------------------------------------------------------------------
    def _next_choice(self) -> tuple[float, Input, str | None] | None:
        best: tuple[float, Input, str | None] | None = None
        if self.timer_due:
            (name, node, _), at = min(self.timer_due.items(), key=lambda kv: (kv[1], kv[0]))
            best = (at, Fire(name, node), None)
        while self.relogins:
            at, _, user, key = self.relogins[0]
            if self.user_key.get(user) != key:  # the user moved on since it was scheduled
                heapq.heappop(self.relogins)
                continue
            if best is None or at < best[0]:
                best = (at, Relogin(key), user)
            break
        return best

    def _apply(self, inp: Input, user: str | None = None, line: int | None = None) -> Record:
        steps = apply(self.model, self.config, inp)
        if not steps:
            assert isinstance(inp, EventInput)
            raise NotOffered(
                inp.name,
                self.nodes[inp.node] if inp.node is not None else None,
                offer_summary(self.model, self.config, self.nodes),
            )
        step = steps[0] if len(steps) == 1 else steps[self.rng.randrange(len(steps))]
        if isinstance(inp, Relogin):
            heapq.heappop(self.relogins)
        self.config = step.config
        gone = (*step.cancelled, step.fired) if step.fired is not None else step.cancelled
        self._schedule_timers(step.started, gone)
        changed = self._follow_users(step, user)
        return Record(step, user=user, line=line, sessions=changed)

    def _schedule_timers(
        self, started: Sequence[RunningTimer], cancelled: Sequence[RunningTimer]
    ) -> None:
        for t in cancelled:
            self.timer_due.pop((t.name, t.node, t.since), None)
        for t in started:
            self.timer_due[(t.name, t.node, t.since)] = _draw(self.rng, t.earliest, t.latest)

    def _place(self, user: str, key: UserKey) -> None:
        self.user_key[user] = key
        self.members.setdefault(key, {})[user] = None

    def _follow_users(self, step: Step, user: str | None) -> dict[str, int]:
        """Apply the step's cohort moves to named users; schedule re-logins for new waiters."""
        changed: dict[str, int] = {}
        for move in step.moves:
            group = self.members.get(move.source, {})
            # A one-user move of a named event is that user; a bulk move takes the cohort's users.
            single = user is not None and move.count == 1 and user in group
            names = [user] if single and user is not None else list(group)[: move.count]
            for name in names:
                del group[name]
                self._place(name, move.target)
                _, session, since = move.target
                changed[name] = session
                if since >= 0:
                    at = _draw(self.rng, *self.model.relogin_window(since))
                    self._order += 1
                    heapq.heappush(self.relogins, (at, self._order, name, move.target))
            if not group:
                self.members.pop(move.source, None)
        return changed

    def session_of(self, user: str) -> str | None:
        """The node where the user's session is active now, or None."""
        session = self.user_key[user][1]
        return None if session == NO_NODE else self.nodes[session]
