"""When things may happen, in the trace's time: the windows of a candidate's clocks.

A candidate's zone knows how long ago each running timer started and each waiting cohort began
to wait, as ranges related to each other (hasm.oracle.candidates); a report, a schedule drawn
for a test and a timeline need those as times of the trace: since when at the earliest and the
latest, and the earliest and latest moment it may fire. `windows` reads them off the zone.
"""

from __future__ import annotations

from dataclasses import dataclass

from hasm.core.model import Model
from hasm.oracle.candidates import Candidate

__all__ = ["Window", "windows"]


@dataclass(frozen=True, slots=True)
class Window:
    """A running timer (`timer` its name, `node` its node) or a waiting cohort (`timer` None,
    `node` the clients' home node, `count` how many): started between `started_from` and
    `started_by`, and due between `earliest` and `latest` (trace times, the model's ticks)."""

    timer: str | None
    node: int
    started_from: int
    started_by: int
    earliest: int
    latest: int
    count: int = 0

    @property
    def exact_start(self) -> bool:
        return self.started_from == self.started_by


def windows(model: Model, cand: Candidate, now: int) -> list[Window]:
    """The windows of `cand`'s timers and waiting cohorts when the trace is at `now` (ticks),
    the candidate's zone being its clocks at that moment."""
    out = []
    bounds = {t.name: (int(t.low), int(t.high)) for t in model.node_timers}
    zone = cand.zone
    for t in cand.config.timers:
        young, old = zone.interval(int(t.since) + 1)
        old = young if old is None else old
        low, high = bounds[t.name]
        out.append(
            Window(t.name, t.node, now - old, now - young, now - old + low, now - young + high)
        )
    low, high = int(model.relogin_low), int(model.relogin_high)
    for c in cand.config.users:
        if c.waiting_since >= 0:
            young, old = zone.interval(int(c.waiting_since) + 1)
            old = young if old is None else old
            out.append(
                Window(
                    None,
                    c.home,
                    now - old,
                    now - young,
                    now - old + low,
                    now - young + high,
                    c.count,
                )
            )
    return out
