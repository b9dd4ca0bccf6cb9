"""The oracle's candidates: symbolic configurations the spec could be in, with ranges of user counts.

A candidate is a symbolic configuration (hasm.core.symbolic): the discrete part, whose timers
and waiting cohorts name their clocks by tags, and a zone relating those clocks - exactly the
times some behaviour allowing the trace so far could have started them. Tag 0 is always the
clock of the last record, so a candidate says nothing absolute: it is the same value whenever the
trace comes back to the same situation, which the oracle's memo of steps relies on.

Splits make one candidate stand for many user counts. A split `(source, target, extra)` stands
for `extra + 1` configurations: the one given, and those in which 1, 2, ... `extra` more users
went from cohort `source` to cohort `target`. When nothing a trace shows pins how many of 15,000
waiting clients are back, that is one candidate, not 15,000; an observation of counters or
sessions narrows the range, down to one count.

This is exact because the core is blind to counts: no guard reads how many users a cohort has,
every step treats each cohort by its key alone, and the clocks belong to keys, not to users. A
step therefore maps the members of a split to the members of a split - `extra` users going from
the image of `source` to the image of `target` - which the step taken at the range's two ends
shows (`successors`). Where that does not hold (both images waiting, or the ends taking
different steps), the range is listed out, one candidate per count: slower, never wrong.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from hasm.core.config import Config, Input, UserKey, answered
from hasm.core.model import Model
from hasm.core.semantics import apply, move_users
from hasm.core.symbolic import (
    Held,
    Symbolic,
    apply_renumbering,
    from_concrete,
    guard,
    rename,
    renumbering,
)
from hasm.core.zones import Zone

__all__ = [
    "RECORD",
    "Candidate",
    "Split",
    "add_split",
    "answering",
    "coalesce",
    "expand",
    "member",
    "members",
    "narrow",
    "narrow_all",
    "normal",
    "stable_order",
    "starting",
    "stepped",
    "successors",
]

RECORD = 0  # the tag of the last record's clock, in every candidate


def stable_order(cands: Iterable[Candidate]) -> list[Candidate]:
    """The candidates in an order that does not depend on the hash seed: a set of them (the
    oracle keeps a frozenset) iterates in hash order, and its repr too lists the frozensets
    inside (stopped services, readings) in hash order. What is told - a report's whys, a
    story, the bounded search of when a record would have been allowed - follows this order."""
    return sorted(cands, key=_spelled)


def _spelled(value: object) -> str:
    """`value` written out with every frozenset's members sorted."""
    if isinstance(value, frozenset | set):
        return "{" + ",".join(sorted(_spelled(v) for v in value)) + "}"
    if isinstance(value, tuple):
        return "(" + ",".join(_spelled(v) for v in value) + ")"
    fields = getattr(type(value), "__dataclass_fields__", None)
    if fields is not None:  # the fields it compares by: not a cached hash
        inner = ",".join(_spelled(getattr(value, n)) for n, f in fields.items() if f.compare)
        return f"{type(value).__name__}({inner})"
    return repr(value)


class Split(NamedTuple):
    """0 to `extra` more users of cohort `source` are in cohort `target` (same home; `target`
    is never a waiting cohort, so every waiting client of a member is in the configuration)."""

    source: UserKey
    target: UserKey
    extra: int


@dataclass(frozen=True, slots=True)
class Candidate:
    """A symbolic configuration (times are clock tags; tag 0 the last record's) and its ranges."""

    config: Config
    zone: Zone
    splits: tuple[Split, ...] = ()

    @property
    def symbolic(self) -> Symbolic:
        return Symbolic(self.config, self.zone)

    def size(self) -> int:
        """How many configurations (of user counts) the candidate stands for."""
        n = 1
        for split in self.splits:
            n *= split.extra + 1
        return n


def starting(config: Config) -> Candidate:
    """The candidate of a concrete starting configuration, its time the first record's."""
    sym, _ = from_concrete(config, (config.now,))
    return Candidate(sym.config, sym.zone)


@functools.lru_cache(maxsize=1 << 14)
def normal(cand: Candidate, held: Held = (RECORD,)) -> Candidate:
    """The candidate in normal form (hasm.core.symbolic's `normalise`), its splits renamed
    alike; `held` names the clock that becomes the record's (tag 0). A pure function of
    values, remembered: reaching meets the same candidates many times over (a run of hidden
    steps ends where another did)."""
    new = renumbering(cand.config, cand.zone, held)
    sym = apply_renumbering(cand.config, cand.zone, new)
    splits = cand.splits
    if splits:

        def key(k: UserKey) -> UserKey:
            return (k[0], k[1], rename(k[2], new))

        splits = tuple(sorted(_merged([Split(key(s), key(t), e) for s, t, e in splits])))
    return Candidate(sym.config, sym.zone, splits)


def answering(cands: Iterable[Candidate], reading: str) -> list[Candidate]:
    """The candidates with the open `reading` answered both ways (hasm.core.config's
    `Undecided`), in their order, no before yes: each that left it open stood for both, and
    is now two."""
    out: list[Candidate] = []
    for cand in cands:
        if reading not in cand.config.nodes[0].undecided:
            out.append(cand)
            continue
        out += (
            Candidate(answered(cand.config, reading, yes), cand.zone, cand.splits)
            for yes in (False, True)
        )
    return out


# -- members and ranges -------------------------------------------------------------------------
def member(cand: Candidate, picks: Sequence[int]) -> Candidate:
    """The configuration with `picks[i]` users moved along split i (no splits left)."""
    config = cand.config
    for split, j in zip(cand.splits, picks, strict=True):
        config = move_users(config, split.source, split.target, j)
    return Candidate(config, cand.zone)


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
    return Candidate(config, cand.zone, tuple(sorted(rest)))


def narrow_all(cand: Candidate, lows: Sequence[int], highs: Sequence[int]) -> Candidate:
    """Every split i kept to between `lows[i]` and `highs[i]` users moved."""
    config = cand.config
    rest: list[Split] = []
    for split, low, high in zip(cand.splits, lows, highs, strict=True):
        config = move_users(config, split.source, split.target, low)
        if high > low:
            rest.append(Split(split.source, split.target, high - low))
    return Candidate(config, cand.zone, tuple(sorted(rest)))


def expand(cand: Candidate, index: int) -> list[Candidate]:
    """Split `index` listed out: one candidate per count."""
    return [narrow(cand, index, j, j) for j in range(cand.splits[index].extra + 1)]


def add_split(cand: Candidate, source: UserKey, target: UserKey, extra: int) -> Candidate:
    """The candidate and, besides, up to `extra` users of `source` moved to `target`; an
    existing split from `source` to `target` is widened to `extra`."""
    rest = tuple(s for s in cand.splits if (s.source, s.target) != (source, target))
    splits = tuple(sorted((*rest, Split(source, target, extra))))
    return Candidate(cand.config, cand.zone, splits)


# -- coalescing -----------------------------------------------------------------------------------
def coalesce(cands: Iterable[Candidate]) -> list[Candidate]:
    """The configurations `cands` stand for, as few candidates: those that differ only in how
    many of a home node's users are in one of two cohorts, and whose counts there make one
    interval together, become one candidate with a range. Exact: the members are the same.

    Why: each sign-out may keep or end the session (A-logout-session), and a sign-in names a
    user, not a cohort, so a trace of sign-outs and sign-ins that no observation separates
    leaves a candidate per number of kept sessions - thousands over a long trace, each stepped
    on every record. A count nothing observes is a range, as a re-login count is.

    Merged only along two cohorts no other range touches, the second not waiting (as a
    range's target never is): there the members are every count of the interval beside the
    same rest, so the union is exact."""
    out = list(cands)
    merging = True
    while merging and len(out) > 1:
        merging = False
        for axis in _axes(out):
            merged = _coalesced_along(out, *axis)
            if merged is not None:
                out, merging = merged, True
    return out


def _axes(cands: list[Candidate]) -> list[tuple[UserKey, UserKey]]:
    """The pairs of a home node's cohorts along which candidates may differ, (source,
    target): the target never waiting (a range's target never is), and its count varying
    between candidates or already a range."""
    keys: dict[int, set[UserKey]] = {}
    for cand in cands:
        for cohort in cand.config.users:
            keys.setdefault(cohort.home, set()).add(cohort.key)
        for split in cand.splits:
            for key in (split.source, split.target):
                keys.setdefault(key[0], set()).add(key)
    ranged = {key for cand in cands for split in cand.splits for key in split[:2]}
    axes: list[tuple[UserKey, UserKey]] = []
    for home in sorted(keys):
        ordered = sorted(keys[home])
        for target in ordered:
            if target[2] >= 0:
                continue
            if target not in ranged and len({c.config.count(target) for c in cands}) == 1:
                continue
            axes += [(s, target) for s in ordered if s[2] >= 0 or s < target]
    return axes


def _coalesced_along(
    cands: list[Candidate], source: UserKey, target: UserKey
) -> list[Candidate] | None:
    """`cands` with those that differ only in `target`'s count (users taken from `source`)
    merged where the counts make one interval; None when none merge."""
    groups: dict[tuple[Config, Zone, tuple[Split, ...]], list[tuple[int, int, Candidate]]] = {}
    out: list[Candidate] = []
    for cand in cands:
        found = _span(cand, source, target)
        if found is None:
            out.append(cand)
            continue
        low, high, pooled, rest = found
        groups.setdefault((pooled, cand.zone, rest), []).append((low, high, cand))
    merged = False
    for (pooled, zone, rest), spans in groups.items():
        spans.sort(key=lambda s: (s[0], s[1]))
        # Runs of overlapping or adjacent counts: (low, high, the candidates of the run).
        runs: list[tuple[int, int, list[Candidate]]] = []
        for low, high, cand in spans:
            if runs and low <= runs[-1][1] + 1:
                start, end, run = runs[-1]
                runs[-1] = (start, max(end, high), [*run, cand])
            else:
                runs.append((low, high, [cand]))
        for low, high, run in runs:
            if len(run) == 1:
                out.append(run[0])
                continue
            config = move_users(pooled, source, target, low)
            extra = (Split(source, target, high - low),) if high > low else ()
            out.append(Candidate(config, zone, tuple(sorted((*rest, *extra)))))
            merged = True
    return out if merged else None


def _span(
    cand: Candidate, source: UserKey, target: UserKey
) -> tuple[int, int, Config, tuple[Split, ...]] | None:
    """The counts `target` has in `cand`'s members (low, high), the configuration with
    `target`'s users in `source`, and the other ranges; None when another range touches
    either cohort (the members are then no interval beside one rest)."""
    count = cand.config.count(target)
    more = fewer = 0  # both ways too: target's count is then any between the two ends
    rest: list[Split] = []
    for split in cand.splits:
        pair = (split.source, split.target)
        if pair == (source, target):
            more = split.extra
        elif pair == (target, source):
            fewer = split.extra
        elif source in pair or target in pair:
            return None
        else:
            rest.append(split)
    pooled = move_users(cand.config, target, source, count)
    return count - fewer, count + more, pooled, tuple(rest)


# -- steps over ranges -------------------------------------------------------------------------------
def successors(
    model: Model,
    cand: Candidate,
    inputs: Callable[[Config], Iterable[Input]],
    *,
    recorded: bool,
) -> list[Candidate]:
    """Every successor of every member of `cand` for the inputs `inputs(config)` names in a
    configuration, wherever in the zone each may happen, in normal form. `recorded`: the step
    is a record's (an event), so its moment becomes the record clock; else a hidden one, and
    the last record's clock stays tag 0."""
    out: list[Candidate] = []
    for inp in _member_inputs(cand, inputs):
        part = _members_with(cand, getattr(inp, "user", None))
        if part is None:
            continue
        zone = guard(model, part.symbolic, inp)
        if zone is None:
            continue
        fresh = zone.clocks  # the step's moment, as tags count from 0
        grown = zone.added()
        held = (fresh,) if recorded else (RECORD,)
        for config, splits in _step_range(model, part, inp, fresh):
            out.append(normal(Candidate(config, grown, splits), held))
    return out


def _member_inputs(cand: Candidate, inputs: Callable[[Config], Iterable[Input]]) -> Iterable[Input]:
    """The inputs of every member: a user event may name a cohort that only some members have."""
    if not cand.splits:
        return inputs(cand.config)
    ends = [cand.config] + [
        move_users(cand.config, s.source, s.target, s.extra) for s in cand.splits
    ]
    seen: dict[Input, None] = {}
    for config in ends:
        seen.update(dict.fromkeys(inputs(config)))
    return seen


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


Discrete = tuple[Config, tuple[Split, ...]]


def stepped(model: Model, config: Config, inp: Input, fresh: int) -> list[Config]:
    """The core's untimed step from `config`, its moment the clock of tag `fresh`: remembered,
    as it reads nothing of the zone, and the zones of one discrete part are many (a hidden
    event tried at every stretch of a long gap)."""
    table = model.memo.table("oracle.stepped")
    key = (config, inp, fresh)
    found: list[Config] | None = table.get(key)
    if found is None:
        at = Config(
            fresh, config.ha_enabled, config.link_up, config.nodes, config.timers, config.users
        )
        found = table.keep(key, [s.config for s in apply(model, at, inp, timed=False)])
    return found


def _step_range(model: Model, cand: Candidate, inp: Input, fresh: int) -> list[Discrete]:
    """`inp` applied to every member of `cand`, where every member has the cohort it names."""
    low = stepped(model, cand.config, inp, fresh)
    if not cand.splits:
        return [(config, ()) for config in low]
    highs = [
        stepped(model, move_users(cand.config, s.source, s.target, s.extra), inp, fresh)
        for s in cand.splits
    ]
    if any(len(h) != len(low) for h in highs):
        return _listed(model, cand, inp, fresh)
    out: list[Discrete] = []
    for k, after in enumerate(low):
        splits: list[Split] = []
        config = after
        for split, high in zip(cand.splits, highs, strict=True):
            moved = _moved(after, high[k], split.extra)
            if moved is None:
                return _listed(model, cand, inp, fresh)
            if not moved:
                continue  # every member steps to the same configuration
            source, target = moved
            if target[2] >= 0 <= source[2]:
                return _listed(model, cand, inp, fresh)  # both waiting: no split says that
            if target[2] >= 0:  # the waiting end becomes the source: it is in the configuration
                config = move_users(config, source, target, split.extra)
                source, target = target, source
            splits.append(Split(source, target, split.extra))
        out.append((config, tuple(sorted(_merged(splits)))))
    return out


def _merged(splits: list[Split]) -> list[Split]:
    """Splits along the same two cohorts are one: 0..a and 0..b more make 0..a+b."""
    total: dict[tuple[UserKey, UserKey], int] = {}
    for split in splits:
        pair = (split.source, split.target)
        total[pair] = total.get(pair, 0) + split.extra
    return [Split(source, target, extra) for (source, target), extra in total.items()]


def _moved(low: Config, high: Config, extra: int) -> tuple[UserKey, UserKey] | tuple[()] | None:
    """(from, to) when `high` is `low` with `extra` users moved from one cohort to another and
    nothing else different; () when they are equal; None otherwise."""
    if (low.ha_enabled, low.link_up, low.nodes, low.timers) != (
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


def _listed(model: Model, cand: Candidate, inp: Input, fresh: int) -> list[Discrete]:
    """The slow, always exact way: the first split listed out, one count at a time."""
    out: list[Discrete] = []
    for part in expand(cand, 0):
        out += _step_range(model, part, inp, fresh)
    return out
