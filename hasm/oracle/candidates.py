"""The oracle's candidates: configurations the spec could be in, with ranges of user counts.

A candidate is a configuration of the core, the slack of its waiting cohorts (how much later
than recorded a hidden step may have made them wait), and splits. A split `(source, target,
extra)` makes one candidate stand for `extra + 1` configurations: the one given, and those in
which 1, 2, ... `extra` more users went from cohort `source` to cohort `target`. When nothing
a trace shows pins how many of 15,000 waiting clients are back, that is one candidate, not
15,000; an observation of counters or sessions narrows the range, down to one count.

This is exact because the core is blind to counts: no guard reads how many users a cohort
has, and every step treats each cohort by its key alone. A step therefore maps the members of
a split to the members of a split - `extra` users going from the image of `source` to the image
of `target` - which the step taken at the range's two ends shows (`successors`). Where that
does not hold (both images waiting, or the ends taking different steps), the range is listed
out, one candidate per count: slower, never wrong.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from hasm.core.config import NOT_WAITING, Cohort, Config, Input, RunningTimer, Step, UserKey
from hasm.core.semantics import Model, apply, move_users

__all__ = [
    "Candidate",
    "Finish",
    "Relative",
    "Shape",
    "Slack",
    "Split",
    "absolute",
    "add_split",
    "at",
    "expand",
    "keep_slack",
    "member",
    "members",
    "narrow",
    "narrow_all",
    "plain_for",
    "relative",
    "settled",
    "successors",
    "widen",
]

# For waiting cohorts created by a hidden step: how much later than their recorded start they
# may have started (see hasm.oracle.oracle's docstring).
Slack = tuple[tuple[UserKey, float], ...]


class Split(NamedTuple):
    """0 to `extra` more users of cohort `source` are in cohort `target` (same home; `target`
    is never a waiting cohort, so every waiting client of a member is in the configuration)."""

    source: UserKey
    target: UserKey
    extra: int


@dataclass(frozen=True, slots=True)
class Candidate:
    config: Config
    slack: Slack = ()
    splits: tuple[Split, ...] = ()

    def slack_of(self, key: UserKey) -> float:
        for k, extra in self.slack:
            if k == key:
                return extra
        return 0.0

    def size(self) -> int:
        """How many configurations the candidate stands for."""
        n = 1
        for split in self.splits:
            n *= split.extra + 1
        return n


# -- members and ranges -------------------------------------------------------------------------
def member(cand: Candidate, picks: Sequence[int]) -> Candidate:
    """The configuration with `picks[i]` users moved along split i (no splits left)."""
    config = cand.config
    for split, j in zip(cand.splits, picks, strict=True):
        config = move_users(config, split.source, split.target, j)
    return Candidate(config, keep_slack(cand.slack, config))


def members(cand: Candidate) -> Iterator[Candidate]:
    """Every configuration the candidate stands for."""
    for picks in itertools.product(*(range(s.extra + 1) for s in cand.splits)):
        yield member(cand, picks)


def narrow(cand: Candidate, index: int, low: int, high: int) -> Candidate:
    """Split `index` kept to between `low` and `high` users moved (low <= high)."""
    split = cand.splits[index]
    config = move_users(cand.config, split.source, split.target, low)
    rest = cand.splits[:index] + cand.splits[index + 1 :]
    if high > low:
        rest = (*rest, Split(split.source, split.target, high - low))
    return Candidate(config, keep_slack(cand.slack, config, rest), tuple(sorted(rest)))


def narrow_all(cand: Candidate, lows: Sequence[int], highs: Sequence[int]) -> Candidate:
    """Every split i kept to between `lows[i]` and `highs[i]` users moved."""
    config = cand.config
    rest: list[Split] = []
    for split, low, high in zip(cand.splits, lows, highs, strict=True):
        config = move_users(config, split.source, split.target, low)
        if high > low:
            rest.append(Split(split.source, split.target, high - low))
    return Candidate(config, keep_slack(cand.slack, config, rest), tuple(sorted(rest)))


def expand(cand: Candidate, index: int) -> list[Candidate]:
    """Split `index` listed out: one candidate per count."""
    return [narrow(cand, index, j, j) for j in range(cand.splits[index].extra + 1)]


def add_split(cand: Candidate, source: UserKey, target: UserKey, extra: int) -> Candidate:
    """The candidate and, besides, up to `extra` users of `source` moved to `target`; an
    existing split from `source` to `target` is widened to `extra`."""
    rest = tuple(s for s in cand.splits if (s.source, s.target) != (source, target))
    splits = tuple(sorted((*rest, Split(source, target, extra))))
    return Candidate(cand.config, cand.slack, splits)


# -- time and slack ------------------------------------------------------------------------------
def at(cand: Candidate, time: float) -> Candidate:
    """The candidate with its clock at `time` (the caller has checked no deadline is passed)."""
    if time == cand.config.now:
        return cand
    c = cand.config
    config = Config(time, c.ha_enabled, c.link_up, c.nodes, c.timers, c.users)
    return Candidate(config, cand.slack, cand.splits)


def keep_slack(slack: Slack, config: Config, splits: Iterable[Split] = ()) -> Slack:
    """The slack of the cohorts that still exist (in the configuration or a split)."""
    if not slack:
        return ()
    keys = {c.key for c in config.users}
    keys.update(s.target for s in splits)
    return tuple(item for item in slack if item[0] in keys)


def widen(cand: Candidate, step: Step, width: float) -> Candidate:
    """A hidden step taken at the start of its window that could have happened up to `width`
    later: the timers it started may fire that much later, and the clients it made wait may
    re-login that much later (see hasm.oracle.oracle's docstring). If those clients join a cohort that
    was already waiting since the same instant, that cohort shares the slack."""
    config = step.config
    slack = dict(keep_slack(cand.slack, config))
    if width > 0:
        started = set(step.started)
        timers = tuple(
            dataclasses.replace(t, latest=t.latest + width) if t in started else t
            for t in config.timers
        )
        config = dataclasses.replace(config, timers=timers)
        for move in step.moves:
            if move.target[2] >= 0:
                slack[move.target] = max(slack.get(move.target, 0.0), width)
    return Candidate(config, tuple(sorted(slack.items())))


def settled(cand: Candidate, step: Step) -> Candidate:
    """The candidate after an event's step: the slack of the cohorts that still exist."""
    return Candidate(step.config, keep_slack(cand.slack, step.config))


# -- steps over ranges -------------------------------------------------------------------------------
Finish = Callable[[Candidate, Step], Candidate]


def successors(
    model: Model, cand: Candidate, inputs: Callable[[Config], Iterable[Input]], finish: Finish
) -> list[Candidate]:
    """Every successor of every member of `cand`, for the inputs `inputs(config)` names in a
    configuration; `finish` makes a step's candidate (slack and widening)."""
    if not cand.splits:
        return [
            finish(cand, step)
            for inp in inputs(cand.config)
            for step in apply(model, cand.config, inp)
        ]
    # The inputs of every member: a user event may name a cohort that only some members have.
    ends = [cand.config] + [
        move_users(cand.config, s.source, s.target, s.extra) for s in cand.splits
    ]
    seen: dict[Input, None] = {}
    for config in ends:
        seen.update(dict.fromkeys(inputs(config)))
    out: list[Candidate] = []
    for inp in seen:
        part = _members_with(cand, getattr(inp, "user", None))
        if part is not None:
            out += _step_range(model, part, inp, finish)
    return out


def _members_with(cand: Candidate, key: UserKey | None) -> Candidate | None:
    """The members of `cand` in which cohort `key` has users (None: no member has)."""
    if key is None:
        return cand
    config = cand.config
    for i, split in enumerate(cand.splits):
        if key == split.target and config.count(key) == 0:
            if split.extra < 1:
                return None
            return _members_with(narrow(cand, i, 1, split.extra), key)
        if key == split.source and config.count(key) == split.extra:
            return _members_with(narrow(cand, i, 0, split.extra - 1), key)
    return cand if config.count(key) > 0 or any(s.target == key for s in cand.splits) else None


def _step_range(model: Model, cand: Candidate, inp: Input, finish: Finish) -> list[Candidate]:
    """`inp` applied to every member of `cand`, where every member has the cohort it names."""
    if not cand.splits:
        return [finish(cand, step) for step in apply(model, cand.config, inp)]
    plain = Candidate(cand.config, cand.slack)
    low = apply(model, cand.config, inp)
    highs = [
        apply(model, move_users(cand.config, s.source, s.target, s.extra), inp) for s in cand.splits
    ]
    out: list[Candidate] = []
    for k, step in enumerate(low):
        tops = [steps[k] if k < len(steps) else None for steps in highs]
        if any(
            top is None or (top.rule, top.node) != (step.rule, step.node) or len(h) != len(low)
            for top, h in zip(tops, highs, strict=True)
        ):
            return _listed(model, cand, inp, finish)
        result = finish(plain, step)
        splits: list[Split] = []
        slack = dict(result.slack)
        config = result.config
        for split, top in zip(cand.splits, tops, strict=True):
            assert top is not None
            far = finish(plain_for(cand, split), top)
            moved = _moved(result.config, far.config, split.extra)
            if moved is None:
                return _listed(model, cand, inp, finish)
            if not moved:
                continue  # every member steps to the same configuration
            source, target = moved
            if target[2] >= 0 <= source[2]:
                return _listed(model, cand, inp, finish)  # both waiting: no split says that
            if target[2] >= 0:  # the waiting end becomes the source: it is in the configuration
                config = move_users(config, source, target, split.extra)
                source, target = target, source
            splits.append(Split(source, target, split.extra))
            for key, extra in far.slack:
                slack[key] = max(slack.get(key, 0.0), extra)
        splits = _merged(splits)
        keys = {c.key for c in config.users} | {s.target for s in splits}
        out.append(
            Candidate(
                config,
                tuple(sorted(item for item in slack.items() if item[0] in keys)),
                tuple(sorted(splits)),
            )
        )
    return out


def _merged(splits: list[Split]) -> list[Split]:
    """Splits along the same two cohorts are one: 0..a and 0..b more make 0..a+b."""
    total: dict[tuple[UserKey, UserKey], int] = {}
    for split in splits:
        pair = (split.source, split.target)
        total[pair] = total.get(pair, 0) + split.extra
    return [Split(source, target, extra) for (source, target), extra in total.items()]


def plain_for(cand: Candidate, split: Split) -> Candidate:
    """The member at the far end of `split`, as a candidate without splits."""
    config = move_users(cand.config, split.source, split.target, split.extra)
    return Candidate(config, keep_slack(cand.slack, config))


def _moved(low: Config, high: Config, extra: int) -> tuple[UserKey, UserKey] | tuple[()] | None:
    """(from, to) when `high` is `low` with `extra` users moved from one cohort to another and
    nothing else different; () when they are equal; None otherwise."""
    if (low.now, low.ha_enabled, low.link_up, low.nodes, low.timers) != (
        high.now,
        high.ha_enabled,
        high.link_up,
        high.nodes,
        high.timers,
    ):
        return None
    if low.users == high.users:
        return ()
    delta: dict[UserKey, int] = {}
    for c in low.users:
        delta[c.key] = delta.get(c.key, 0) - c.count
    for c in high.users:
        delta[c.key] = delta.get(c.key, 0) + c.count
    changed = {k: d for k, d in delta.items() if d}
    if len(changed) != 2 or sorted(changed.values()) != [-extra, extra]:
        return None
    (a, da), (b, _) = changed.items()
    return (a, b) if da < 0 else (b, a)


def _listed(model: Model, cand: Candidate, inp: Input, finish: Finish) -> list[Candidate]:
    """The slow, always exact way: the first split listed out, one count at a time."""
    out: list[Candidate] = []
    for part in expand(cand, 0):
        out += _step_range(model, part, inp, finish)
    return out


# -- the memo's shapes ---------------------------------------------------------------------------
# A candidate with every time taken relative to now: (ha_enabled, link_up, nodes, timers as
# (name, node, since, earliest, latest), cohorts as (home, session, waiting since or None,
# count), slack and splits with their keys' waiting times relative too).
Relative = tuple[object, ...]


def _key_from(key: UserKey, now: int) -> tuple[int, int, float | None]:
    home, session, since = key
    return (home, session, None if since < 0 else since - now)


def _key_at(rel: tuple[int, int, float | None], now: int) -> UserKey:
    home, session, since = rel
    return (home, session, NOT_WAITING if since is None else since + now)


def relative(cand: Candidate, now: int) -> Relative:
    c = cand.config
    return (
        c.ha_enabled,
        c.link_up,
        c.nodes,
        tuple((t.name, t.node, t.since - now, t.earliest - now, t.latest - now) for t in c.timers),
        tuple(
            (u.home, u.session, None if u.waiting_since < 0 else u.waiting_since - now, u.count)
            for u in c.users
        ),
        tuple((_key_from(k, now), extra) for k, extra in cand.slack),
        tuple((_key_from(s, now), _key_from(t, now), e) for s, t, e in cand.splits),
    )


def absolute(rel: Relative, now: int) -> Candidate:
    ha, link, nodes, timers, users, slack, splits = rel
    return Candidate(
        Config(
            now,
            ha,  # type: ignore[arg-type]
            link,  # type: ignore[arg-type]
            nodes,  # type: ignore[arg-type]
            tuple(
                RunningTimer(name, node, since + now, low + now, high + now)
                for name, node, since, low, high in timers  # type: ignore[attr-defined]
            ),
            tuple(
                Cohort(home, session, NOT_WAITING if since is None else since + now, count)
                for home, session, since, count in users  # type: ignore[attr-defined]
            ),
        ),
        tuple((_key_at(k, now), extra) for k, extra in slack),  # type: ignore[attr-defined]
        tuple(Split(_key_at(s, now), _key_at(t, now), e) for s, t, e in splits),  # type: ignore[attr-defined]
    )


class Shape:
    """A set of candidates relative to now; compared by identity, as the memo's key."""

    __slots__ = ("relative",)

    def __init__(self, relative: frozenset[Relative]) -> None:
        self.relative = relative

    def at(self, now: int) -> frozenset[Candidate]:
        return frozenset(absolute(rel, now) for rel in self.relative)
