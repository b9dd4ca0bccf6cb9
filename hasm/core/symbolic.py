"""Symbolic configurations: the discrete part of a configuration with a zone over its clocks.

A concrete configuration knows when every timer started and every waiting client began to wait.
A symbolic one knows only what a set of runs has in common: the discrete part (states, reasons,
environment, which timers run, the cohorts) and a zone (hasm.core.zones) relating the clocks -
how long ago each timer started and each cohort began to wait, and how long ago whatever else
the caller keeps a clock for (the oracle's last record, the explorer's watched conditions). Time
passing, a guard, an observation at a known time each cut or stretch the zone; no run is lost and
none is added, so the relations between unknown times are kept exactly (UPPAAL's zones).

**Clocks are tags.** The configuration is the core's own `Config`, and the core's own semantics
steps it (`apply(..., timed=False)`): a running timer's `since` (and `earliest`, `latest`) and a
waiting cohort's `waiting_since` hold the tag of its clock instead of a time, `now` is 0. A step
runs with `now` set to a fresh tag, so whatever it starts - timers, waits - starts on the fresh
clock, which is 0 then (`Zone.added`); `normalise` then drops clocks nothing refers to, merges
clocks the zone proves equal (things that started at the same instant), and renumbers the tags
in order of first use - the callers' clocks (`held`), the timers, the cohorts - so equal
symbolic configurations are equal values. Tag t is clock t + 1 of the zone (0 is the reference).

The timing of the spec, as constraints on clocks: a running timer may fire once its clock is at
least the timer's least duration and must have fired by its greatest (an invariant: time cannot
pass beyond it), and a waiting client may re-login from the least re-login wait and must by the
greatest. All are closed, so zones built from them have closed bounds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from hasm.core.config import Cohort, Config, Fire, Input, Relogin, RunningTimer, Step
from hasm.core.model import Model
from hasm.core.semantics import apply
from hasm.core.zones import LE_ZERO, Zone, le

__all__ = [
    "Held",
    "Symbolic",
    "apply_renumbering",
    "choices",
    "clock_bounds",
    "delay",
    "from_concrete",
    "guard",
    "latest",
    "normalise",
    "rename",
    "renumbering",
    "step",
    "tags",
]

Held = tuple[int | None, ...]  # tags a caller keeps clocks for, by position (None: no clock)


@dataclass(frozen=True, slots=True)
class Symbolic:
    """A discrete configuration (times are clock tags, `now` 0) and the zone of its clocks."""

    config: Config
    zone: Zone

    def clock(self, tag: int) -> tuple[int, int | None]:
        """How long ago the clock of `tag` started: its least and greatest value now."""
        return self.zone.interval(tag + 1)


def tags(config: Config) -> Iterator[int]:
    """The tags the configuration refers to: its timers', then its waiting cohorts'."""
    for t in config.timers:
        yield int(t.since)
    for c in config.users:
        if c.waiting_since >= 0:
            yield int(c.waiting_since)


# -- from and to concrete configurations -----------------------------------------------------------
def from_concrete(config: Config, held: Sequence[float | None] = ()) -> tuple[Symbolic, Held]:
    """The symbolic configuration of one concrete configuration (integer times): every clock
    exactly as old as the configuration says, and the clocks of `held` (times the caller keeps)."""
    now = config.now
    times: list[float] = []
    for t in [*(h for h in held if h is not None), *(t.since for t in config.timers)]:
        if t not in times:
            times.append(t)
    for c in config.users:
        if c.waiting_since >= 0 and c.waiting_since not in times:
            times.append(c.waiting_since)
    zone: Zone | None = Zone.zero(len(times))
    for i, t in enumerate(times, 1):
        assert zone is not None
        zone = zone.fix(i, int(now - t))
    assert zone is not None, "a concrete configuration's clocks are consistent"
    tag = {t: i for i, t in enumerate(times)}
    timers = tuple(RunningTimer(t.name, t.node, *(tag[t.since],) * 3) for t in config.timers)
    users = tuple(
        sorted(
            Cohort(
                c.home,
                c.session,
                tag[c.waiting_since] if c.waiting_since >= 0 else c.waiting_since,
                c.count,
            )
            for c in config.users
        )
    )
    discrete = Config(0, config.ha_enabled, config.link_up, config.nodes, timers, users)
    return Symbolic(discrete, zone), tuple(None if h is None else tag[h] for h in held)


# -- timing as constraints ---------------------------------------------------------------------------
def _windows(model: Model) -> dict[str, tuple[int, int]]:
    """Each node timer's least and greatest duration, in the model's integer ticks."""
    return model.memo.part("symbolic.windows", lambda _memo: _timer_windows(model))


def _timer_windows(model: Model) -> dict[str, tuple[int, int]]:
    if model.ticks is None:
        raise ValueError("zones count integer ticks: build the model with `ticks`")
    return {t.name: (int(t.low), int(t.high)) for t in model.node_timers}


def latest(model: Model, config: Config) -> dict[int, int]:
    """Each clock's invariant: the greatest value it may reach - the least of the greatest
    durations of the timers and waits on it (no entry: unbounded)."""
    windows = _windows(model)
    caps: dict[int, int] = {}
    for t in config.timers:
        i, high = int(t.since) + 1, windows[t.name][1]
        if high < caps.get(i, high + 1):
            caps[i] = high
    high = int(model.relogin_high)
    for c in config.users:
        if c.waiting_since >= 0:
            i = int(c.waiting_since) + 1
            if high < caps.get(i, high + 1):
                caps[i] = high
    return caps


def delay(model: Model, sym: Symbolic) -> Symbolic | None:
    """Every moment time can reach from `sym` with nothing happening: time passes while no
    timer or waiting client is past its latest moment."""
    zone = sym.zone.up_within(latest(model, sym.config))
    return None if zone is None else Symbolic(sym.config, zone)


def guard(model: Model, sym: Symbolic, inp: Input) -> Zone | None:
    """The part of the zone in which `inp` may happen: a timer from its least duration, a
    re-login from the least wait; an event at any moment."""
    if isinstance(inp, Fire):
        running = sym.config.timer(inp.timer, inp.node)
        if running is None:
            return None
        low = _windows(model)[inp.timer][0]
        return sym.zone.constrain(0, int(running.since) + 1, le(-low))
    if isinstance(inp, Relogin):
        since = inp.user[2]
        if since < 0:
            return None
        return sym.zone.constrain(0, int(since) + 1, le(-int(model.relogin_low)))
    return sym.zone


def choices(sym: Symbolic) -> Iterator[Fire | Relogin]:
    """The internal choices of the discrete part: every running timer firing, the clients of
    every waiting cohort re-logging in (whether the zone lets them is `guard`'s)."""
    for t in sym.config.timers:
        yield Fire(t.name, t.node)
    for c in sym.config.users:
        if c.waiting_since >= 0:
            yield Relogin(c.key)


def step(model: Model, sym: Symbolic, inp: Input) -> list[tuple[Step, Zone]]:
    """Every successor of `sym` under `inp` somewhere in the zone where it may happen: the
    core's step with `now` a fresh tag (so what it starts starts on the fresh clock, at 0), and
    the zone at that moment with the fresh clock added. Not yet normalised: the step's
    configuration still names clocks by the old tags and the fresh one (`step.config.now`)."""
    zone = guard(model, sym, inp)
    if zone is None:
        return []
    fresh = zone.clocks  # tags are 0..clocks-1
    c = sym.config
    config = Config(fresh, c.ha_enabled, c.link_up, c.nodes, c.timers, c.users)
    grown = zone.added()
    return [(s, grown) for s in apply(model, config, inp, timed=False)]


# -- normal form -----------------------------------------------------------------------------------
def normalise(config: Config, zone: Zone, held: Held = ()) -> tuple[Symbolic, Held]:
    """The canonical symbolic configuration: clocks no tag refers to dropped, clocks the zone
    proves equal merged (cohorts that then share a key merged too), tags renumbered by first
    use - `held` first, then the timers, then the waiting cohorts - and `now` 0. Returns the
    symbolic configuration and `held` renumbered."""
    renamed = renumbering(config, zone, held)
    return apply_renumbering(config, zone, renamed), tuple(
        None if h is None else renamed[h] for h in held
    )


def renumbering(config: Config, zone: Zone, held: Held = ()) -> dict[int, int]:
    """The new tag of each tag `held` and `config` refer to (see `normalise`): by first use,
    a tag whose clock the zone proves equal to an earlier one's taking that one's."""
    order: list[int] = []
    new: dict[int, int] = {}
    size, m = zone.size, zone.bounds
    for tag in [*(h for h in held if h is not None), *tags(config)]:
        if tag in new:
            continue
        i = tag + 1
        for kept in order:
            j = kept + 1
            if m[i * size + j] == LE_ZERO == m[j * size + i]:  # x_i - x_j in [0, 0]
                new[tag] = new[kept]
                break
        else:
            new[tag] = len(order)
            order.append(tag)
    return new


def apply_renumbering(config: Config, zone: Zone, new: dict[int, int]) -> Symbolic:
    """`config` and `zone` with tags renamed by `new` (from `renumbering`): the clocks of the
    first tag of each new number kept, in order, the others dropped."""
    firsts: dict[int, int] = {}
    for old, n in new.items():
        firsts.setdefault(n, old)
    if config.now == 0 and len(new) == zone.clocks and all(k == n for k, n in new.items()):
        return Symbolic(config, zone)  # in normal form already: every tag its own, in order
    timers = tuple(RunningTimer(t.name, t.node, *(new[int(t.since)],) * 3) for t in config.timers)
    counts: dict[tuple[int, int, float], int] = {}
    for c in config.users:
        key = (c.home, c.session, rename(c.waiting_since, new))
        counts[key] = counts.get(key, 0) + c.count
    users = tuple(sorted(Cohort(*key, n) for key, n in counts.items()))
    discrete = Config(0, config.ha_enabled, config.link_up, config.nodes, timers, users)
    projected = zone.project([0, *(firsts[n] + 1 for n in range(len(firsts)))])
    return Symbolic(discrete, projected)


def rename(waiting_since: float, new: dict[int, int]) -> float:
    """A cohort's re-login start (a tag, or NOT_WAITING or SIGNED_OUT, kept) renamed by `new`."""
    return new[int(waiting_since)] if waiting_since >= 0 else waiting_since


def clock_bounds(
    model: Model, sym: Symbolic, held: Sequence[tuple[int, int]] = ()
) -> tuple[list[int], list[int]]:
    """For `Zone.extrapolate_lu`: each clock's largest constant compared from below and from
    above - a timer's least and greatest duration, a waiting client's least and greatest wait,
    and for the caller's clocks (`held`, as (tag, constant) pairs) that constant both ways. A
    clock several things share takes the largest of each."""
    windows = _windows(model)
    lower = [0] * sym.zone.size
    upper = [0] * sym.zone.size
    for tag, constant in held:
        lower[tag + 1] = max(lower[tag + 1], constant)
        upper[tag + 1] = max(upper[tag + 1], constant)
    for t in sym.config.timers:
        i = int(t.since) + 1
        low, high = windows[t.name]
        lower[i] = max(lower[i], low)
        upper[i] = max(upper[i], high)
    low, high = int(model.relogin_low), int(model.relogin_high)
    for c in sym.config.users:
        if c.waiting_since >= 0:
            i = int(c.waiting_since) + 1
            lower[i] = max(lower[i], low)
            upper[i] = max(upper[i], high)
    return lower, upper
