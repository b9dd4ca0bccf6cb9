"""The DBM algebra against brute force: every operation on a zone is checked against the same
operation on the set of valuations it stands for, on a grid fine enough to see every bound."""

from __future__ import annotations

from fractions import Fraction
from itertools import product

import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from hasm.core.zones import INF, LE_ZERO, Zone, add_bounds, le, lt
from hasm.oracle.reaching import _merged

Point = tuple[Fraction, ...]
# Valuations on the grid of half seconds up to 14: with closed bounds and integer constants, a
# zone's vertices are integers and the moments an operation looks for are halves at worst, so
# the grid sees every operation exactly. (Strict bounds come from extrapolation: tested apart.)
GRID = [Fraction(k, 2) for k in range(0, 29)]
CHECKED = [x for x in GRID if x <= 6]  # where the constants (|c| <= 6) can tell points apart
Points = frozenset[Point]


def holds(zone: Zone, v: Point) -> bool:
    """Is the valuation `v` (clocks 1..n) in the zone, by its matrix?"""
    full = (Fraction(0), *v)
    size = zone.size
    for i in range(size):
        for j in range(size):
            raw = zone.bounds[i * size + j]
            if raw >= INF:
                continue
            c, closed = Fraction(raw >> 1), raw & 1
            diff = full[i] - full[j]
            if diff > c or (diff == c and not closed):
                return False
    return True


def within(v: Point, i: int, j: int, c: int) -> bool:
    full = (Fraction(0), *v)
    return full[i] - full[j] <= c


# An operation: (name, arguments); applied to a zone and, alongside, to the grid points.
operations = st.one_of(
    st.tuples(st.just("constrain"), st.integers(0, 2), st.integers(0, 2), st.integers(-6, 6)),
    st.tuples(st.just("up")),
    st.tuples(st.just("reset"), st.integers(1, 2)),
)


def apply_both(
    zone: Zone | None, points: Points, op: tuple[object, ...]
) -> tuple[Zone | None, Points]:
    name = op[0]
    if name == "constrain":
        _, i, j, c = op
        assert isinstance(i, int) and isinstance(j, int) and isinstance(c, int)
        if i == j:
            return zone, points
        new_zone = zone.constrain(i, j, le(c)) if zone is not None else None
        return new_zone, frozenset(v for v in points if within(v, i, j, c))
    if name == "up":
        top = GRID[-1]
        grown = {tuple(x + d for x in v) for v in points for d in GRID if max(v) + d <= top}
        return (zone.up() if zone is not None else None), frozenset(grown)
    _, i = op
    assert isinstance(i, int)
    reset = frozenset((*v[: i - 1], Fraction(0), *v[i:]) for v in points)
    return (zone.reset(i) if zone is not None else None), reset


START: Points = frozenset({(Fraction(0), Fraction(0))})


@given(st.lists(operations, max_size=7))
@settings(max_examples=examples(100))
def test_operations_agree_with_the_valuations_they_stand_for(ops: list[tuple[object, ...]]) -> None:
    zone: Zone | None = Zone.zero(2)
    points = START
    for op in ops:
        zone, points = apply_both(zone, points, op)
    for v in product(CHECKED, repeat=2):
        assert (zone is not None and holds(zone, v)) == (v in points), (ops, v, zone)


@given(st.lists(operations, max_size=5), st.lists(operations, max_size=5))
@settings(max_examples=examples(60))
def test_inclusion_is_inclusion_of_valuations(
    a: list[tuple[object, ...]], b: list[tuple[object, ...]]
) -> None:
    za: Zone | None = Zone.zero(2)
    zb: Zone | None = Zone.zero(2)
    pa = pb = START
    for op in a:
        za, pa = apply_both(za, pa, op)
    for op in b:
        zb, pb = apply_both(zb, pb, op)
    del pa, pb  # the zones' own points are compared: the operations are tested above
    if za is None or zb is None:
        return
    # Canonical forms compare entry by entry exactly when the valuations are included (the
    # constants of a closed form stay within 12, so the grid up to 14 shows any difference).
    grid = list(product(GRID, repeat=2))
    assert za.includes(zb) == all(holds(za, v) for v in grid if holds(zb, v))


def test_bounds_add_with_strictness() -> None:
    assert add_bounds(le(2), le(3)) == le(5)
    assert add_bounds(lt(2), le(3)) == lt(5)
    assert add_bounds(lt(2), lt(-3)) == lt(-1)
    assert add_bounds(INF, le(0)) == INF
    assert lt(3) < le(3) < lt(4)


def test_a_contradiction_is_empty() -> None:
    zone = Zone.zero(1).up()
    at_least_5 = zone.constrain(0, 1, le(-5))
    assert at_least_5 is not None and at_least_5.interval(1) == (5, None)
    assert at_least_5.constrain(1, 0, lt(5)) is None
    assert at_least_5.constrain(1, 0, le(5)) is not None


def test_reset_keeps_the_other_clocks_relation_to_now() -> None:
    # x1 in [2, 4] after time passed; reset x2: x1 - x2 in [2, 4]
    zone = Zone.zero(2).up().constrain(1, 0, le(4))
    assert zone is not None
    zone = zone.constrain(0, 1, le(-2))
    assert zone is not None
    zone = zone.reset(2)
    assert zone.difference(1, 2) == (2, 4)
    later = zone.up().constrain(2, 0, le(3))
    assert later is not None and later.interval(1) == (2, 7)


def test_added_and_project() -> None:
    zone = Zone.zero(1).up().constrain(1, 0, le(3))
    assert zone is not None
    grown = zone.added()
    assert grown.clocks == 2 and grown.interval(2) == (0, 0) and grown.interval(1) == (0, 3)
    assert grown.project([0, 1]) == zone
    swapped = grown.project([0, 2, 1])
    assert swapped.interval(1) == (0, 0) and swapped.interval(2) == (0, 3)


def test_point_is_in_the_zone() -> None:
    zone = Zone.zero(2).up().constrain(1, 0, le(9))
    assert zone is not None
    zone = zone.constrain(0, 1, le(-3))
    assert zone is not None
    zone = zone.reset(2).up().constrain(0, 2, le(-2))
    assert zone is not None
    v = zone.point()
    assert holds(zone, tuple(Fraction(x) for x in v[1:]))
    assert v == (0, 5, 2)


def test_a_closed_zone_has_ordered_canonical_diagonal() -> None:
    zone = Zone.zero(3)
    assert all(zone.bounds[i * 4 + i] == LE_ZERO for i in range(4))
    with pytest.raises(ValueError):
        broken = Zone.zero(1).up().constrain(0, 1, lt(-1))
        assert broken is not None
        open_gap = broken.constrain(1, 0, lt(2))
        assert open_gap is not None
        open_gap.point()


@given(st.lists(operations, max_size=7), st.integers(0, 6), st.integers(0, 6))
@settings(max_examples=examples(100))
def test_lu_extrapolation_only_widens_and_leaves_a_zone_within_its_bounds_alone(
    ops: list[tuple[object, ...]], low: int, high: int
) -> None:
    """Extra+_LU contains the zone; with bounds beyond every constant the zone has (its closed
    form's stay within 12), it changes nothing."""
    zone: Zone | None = Zone.zero(2)
    points = START
    for op in ops:
        zone, points = apply_both(zone, points, op)
    if zone is None:
        return
    assert zone.extrapolate_lu([0, low, low], [0, high, high]).includes(zone)
    assert zone.extrapolate_lu([0, low, 13], [0, high, 13]).includes(zone)
    assert zone.extrapolate_lu([0, 13, 13], [0, 13, 13]) == zone


def test_lu_extrapolation_drops_what_only_the_other_side_could_tell() -> None:
    """A clock past its least duration (compared from below with 2) is just "past": the zone
    x1 in [5, 5] becomes x1 > 2 when nothing compares x1 with more than 2 from below, and an
    upper bound of 9 keeps x1 <= 9 only while x1 could be under it."""
    zone = Zone.zero(1).up().fix(1, 5)
    assert zone is not None
    wide = zone.extrapolate_lu([0, 2], [0, 9])
    assert wide.interval(1) == (5, None)  # the lower bound stays (5 <= U = 9), the upper goes
    wider = zone.extrapolate_lu([0, 2], [0, 3])
    assert wider.interval(1) == (3, None) and wider.constrain(1, 0, le(3)) is None


@given(
    st.lists(operations, max_size=7),
    st.dictionaries(st.integers(1, 2), st.integers(0, 8), max_size=2),
)
@settings(max_examples=examples(200))
def test_up_within_is_up_then_each_upper_bound(
    ops: list[tuple[object, ...]], caps: dict[int, int]
) -> None:
    zone: Zone | None = Zone.zero(2)
    points = START
    for op in ops:
        zone, points = apply_both(zone, points, op)
    if zone is None:
        return
    expected: Zone | None = zone.up()
    for i, c in caps.items():
        expected = expected.constrain(i, 0, le(c)) if expected is not None else None
    assert zone.up_within(caps) == expected


# -- exact union -----------------------------------------------------------------------------------
# Any matrix of bounds, strict ones too, closed into a zone of clocks >= 0 (None when empty).
raw_bounds = st.one_of(
    st.just(INF), st.builds(le, st.integers(-6, 6)), st.builds(lt, st.integers(-6, 6))
)


def _nonnegative(entries: list[int]) -> Zone | None:
    return Zone.of(
        3, [LE_ZERO if k % 4 == 0 or (k < 3 and e > LE_ZERO) else e for k, e in enumerate(entries)]
    )


any_zone = st.builds(_nonnegative, st.lists(raw_bounds, min_size=9, max_size=9))
# Thirds: a set of two clocks cut out by integer (strict or closed) bounds that holds anything
# holds a point whose fractional parts are multiples of 1/3 (each clock region has one), so
# this grid sees whatever the hull holds outside both zones.
THIRDS = list(product([Fraction(k, 3) for k in range(0, 43)], repeat=2))  # up to 14


@given(any_zone, any_zone)
@settings(max_examples=examples(150))
def test_union_is_exact_or_refused(za: Zone | None, zb: Zone | None) -> None:
    if za is None or zb is None:
        return
    union = za.union(zb)
    both = {v for v in THIRDS if holds(za, v) or holds(zb, v)}
    hull = Zone(3, tuple(max(a, b) for a, b in zip(za.bounds, zb.bounds, strict=True)))
    if union is None:
        assert any(holds(hull, v) and v not in both for v in THIRDS), (za, zb)
    else:
        assert {v for v in THIRDS if holds(union, v)} == both, (za, zb, union)
        assert union == za.union(zb) == zb.union(za)  # the hull: one answer, either order


def test_union_of_slices_of_a_gap_is_the_whole_gap() -> None:
    # A hidden event in the gap (10, 20] and in (20, 30] of a record clock: one zone (10, 30].
    first = Zone.of(2, [LE_ZERO, le(-10), le(20), LE_ZERO])
    second = Zone.of(2, [LE_ZERO, le(-20), le(30), LE_ZERO])
    assert first is not None and second is not None
    assert first.union(second) == Zone.of(2, [LE_ZERO, le(-10), le(30), LE_ZERO])
    # Apart, they leave (20, 25) out: no zone is both.
    third = Zone.of(2, [LE_ZERO, le(-25), le(30), LE_ZERO])
    assert third is not None and first.union(third) is None
    # Touching only where one is open ([10, 20) and [20, 30]) they still meet exactly.
    open_end = Zone.of(2, [LE_ZERO, le(-10), lt(20), LE_ZERO])
    assert open_end is not None and open_end.union(second) is not None
    assert open_end.union(Zone.of(2, [LE_ZERO, lt(-20), le(30), LE_ZERO])) is None  # 20 missing


@given(st.lists(any_zone, max_size=6))
@settings(max_examples=examples(100))
def test_the_oracle_merges_zones_into_exactly_their_valuations(zones: list[Zone | None]) -> None:
    # hasm.oracle.reaching merges a candidate's zones pairwise while a union is convex.
    kept = [z for z in zones if z is not None]
    merged = _merged(kept)
    assert len(merged) <= len(kept)
    for v in THIRDS:
        assert any(holds(z, v) for z in merged) == any(holds(z, v) for z in kept), v
    assert all(a.union(b) is None for k, a in enumerate(merged) for b in merged[k + 1 :])
