"""Zones: convex sets of clock valuations as difference-bound matrices (DBMs), as UPPAAL keeps them.

A zone over clocks x1..xn is a conjunction of constraints `xi - xj <= c` or `xi - xj < c`, with a
reference clock x0 that is always 0 (so `xi - x0 <= c` bounds xi from above and `x0 - xi <= -c`
from below). Kept in canonical form - every bound as tight as the others imply (shortest paths) -
equal zones are equal matrices, inclusion is entry-wise, and emptiness shows on the diagonal.

Bounds are integers (the oracle's nanosecond ticks, the explorer's seconds) in the raw encoding
of UPPAAL's DBM library: `2c + 1` for `<= c`, `2c` for `< c`, so a tighter bound is a smaller
number and strictness survives addition. The spec's windows are closed, so the zones that the
semantics builds have closed bounds; strict ones appear through extrapolation and in the checks
that ask whether something can happen strictly before a bound.

What a clock stands for is the caller's (hasm.core.symbolic): this module is only the algebra.
Operations return new zones (or None when the result is empty); a zone is immutable and hashable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["INF", "LE_ZERO", "Zone", "add_bounds", "le", "lt"]

INF = 1 << 62  # no bound
LE_ZERO = 1  # <= 0


def le(c: int) -> int:
    """The raw bound `<= c`."""
    return 2 * c + 1


def lt(c: int) -> int:
    """The raw bound `< c`."""
    return 2 * c


def add_bounds(x: int, y: int) -> int:
    """The bound on a sum of two differences bounded by `x` and `y`: strict unless both are not."""
    if x >= INF or y >= INF:
        return INF
    return x + y - ((x | y) & 1)


def value(raw: int) -> int:
    """The constant of a raw bound."""
    return raw >> 1


def strict(raw: int) -> bool:
    return not raw & 1


@dataclass(frozen=True, slots=True)
class Zone:
    """A canonical DBM over `size - 1` clocks (clock 0 is the reference): entry i*size + j bounds
    x_i - x_j."""

    size: int
    bounds: tuple[int, ...]

    # -- making zones ---------------------------------------------------------------------------
    @classmethod
    def zero(cls, clocks: int) -> Zone:
        """Every clock at 0."""
        size = clocks + 1
        return cls(size, (LE_ZERO,) * (size * size))

    @classmethod
    def of(cls, size: int, bounds: Sequence[int]) -> Zone | None:
        """A zone from any matrix of raw bounds, closed; None if empty."""
        return _close(size, list(bounds))

    # -- reading ----------------------------------------------------------------------------------
    @property
    def clocks(self) -> int:
        return self.size - 1

    def upper(self, i: int) -> int:
        """The raw upper bound of clock i."""
        return self.bounds[i * self.size]

    def lower(self, i: int) -> int:
        """The raw bound of `-x_i` (so the lower bound of x_i is its negation)."""
        return self.bounds[i]

    def interval(self, i: int) -> tuple[int, int | None]:
        """Clock i's least and greatest value (None: unbounded). Closed ends are exact; a
        strict end is given as its limit (the values approach it)."""
        low = -value(self.bounds[i])
        high = self.bounds[i * self.size]
        return low, None if high >= INF else value(high)

    def difference(self, i: int, j: int) -> tuple[int | None, int | None]:
        """The least and greatest value of x_i - x_j (None: unbounded), as `interval`."""
        size = self.size
        high = self.bounds[i * size + j]
        low = self.bounds[j * size + i]
        return (None if low >= INF else -value(low)), (None if high >= INF else value(high))

    def includes(self, other: Zone) -> bool:
        """Every valuation of `other` is one of this zone's (same clocks)."""
        return all(a >= b for a, b in zip(self.bounds, other.bounds, strict=True))

    def point(self) -> tuple[int, ...]:
        """One integer valuation of the zone (clock 0 first): each clock in turn at its least
        value, or the next integer above a strict one. A zone of closed bounds always has one;
        for a zone without, ValueError."""
        zone = self
        values = [0]
        for i in range(1, self.size):
            low = zone.bounds[i]
            target = -value(low) + (1 if strict(low) else 0)
            fixed = zone.fix(i, target)
            if fixed is None:
                raise ValueError(f"clock {i} has no integer value in {zone}")
            values.append(target)
            zone = fixed
        return tuple(values)

    # -- operations ---------------------------------------------------------------------------------
    def union(self, other: Zone) -> Zone | None:
        """The zone of exactly the valuations of both, when their union is convex; else None.

        The union is convex exactly when the hull (the loosest of each bound: for canonical
        matrices, canonical itself) holds nothing outside both. What the hull holds outside this
        zone is, constraint by constraint, the hull with that constraint broken (`x_i - x_j <= c`
        broken is `x_j - x_i < -c`: the raw bound `1 - raw`); the union is exact when `other`
        includes every such piece. Merging such zones loses nothing and keeps the oracle's
        candidates few when hidden steps spread one situation over many record gaps."""
        mine, theirs = self.bounds, other.bounds
        hull_bounds = tuple(a if a >= b else b for a, b in zip(mine, theirs, strict=True))
        hull = Zone(self.size, hull_bounds)
        if hull_bounds == theirs:
            return other
        for index, (raw, loose) in enumerate(zip(mine, hull_bounds, strict=True)):
            if raw < loose:
                i, j = divmod(index, self.size)
                piece = hull.constrain(j, i, 1 - raw)
                if piece is not None and not other.includes(piece):
                    return None
        return hull

    def constrain(self, i: int, j: int, raw: int) -> Zone | None:
        """The zone with `x_i - x_j` bounded by `raw` too; None if that leaves nothing.

        Incremental closure: tightening one entry of a canonical matrix changes a path a->b only
        through the new edge, so one pass over the pairs (O(n^2)) restores canonical form."""
        size, m = self.size, self.bounds
        if raw >= m[i * size + j]:
            return self
        if add_bounds(m[j * size + i], raw) < LE_ZERO:
            return None
        new = list(m)
        new[i * size + j] = raw
        into_i = [m[a * size + i] for a in range(size)]
        from_j = m[j * size : j * size + size]
        for a in range(size):
            ai = into_i[a]
            if ai >= INF:
                continue
            through = add_bounds(ai, raw)
            row = a * size
            for b in range(size):
                jb = from_j[b]
                if jb >= INF:
                    continue
                v = through + jb - ((through | jb) & 1)
                if v < new[row + b]:  # noqa: PLR1730 (a call to min() per entry costs more)
                    new[row + b] = v
        return Zone(size, tuple(new))

    def fix(self, i: int, at: int) -> Zone | None:
        """The zone with clock i equal to `at`."""
        upper = self.constrain(i, 0, le(at))
        return upper.constrain(0, i, le(-at)) if upper is not None else None

    def up(self) -> Zone:
        """Time passes: every clock may grow by the same amount (no upper bounds)."""
        size, m = self.size, self.bounds
        if all(m[i * size] >= INF for i in range(1, size)):
            return self
        new = list(m)
        for i in range(1, size):
            new[i * size] = INF
        return Zone(size, tuple(new))

    def up_within(self, caps: Mapping[int, int]) -> Zone | None:
        """Time passes while every clock i of `caps` stays at most `caps[i]` (an invariant):
        `up` and those upper bounds at once, None if the zone already breaks one.

        One pass instead of a closure per bound: after `up` no clock has an upper bound, so the
        only new shortest paths into the reference are `x_i - x_k + (x_k <= c_k)`, and from there
        on the new bounds of x_i and the unchanged lower bounds give x_i - x_j."""
        size, m = self.size, self.bounds
        if not caps:
            return self.up()
        edges = [(k, le(c)) for k, c in caps.items()]
        new = list(m)
        for i in range(1, size):
            row = i * size
            best = INF
            for k, c in edges:
                v = add_bounds(m[row + k], c)
                if v < best:  # noqa: PLR1730 (as in constrain)
                    best = v
            new[row] = best
        for i in range(1, size):
            to_ref = new[i * size]
            if to_ref >= INF:
                continue
            row = i * size
            for j in range(1, size):
                v = add_bounds(to_ref, m[j])
                if v < new[row + j]:  # noqa: PLR1730 (as in constrain)
                    new[row + j] = v
            if add_bounds(to_ref, m[i]) < LE_ZERO:
                return None
        return Zone(size, tuple(new))

    def reset(self, i: int) -> Zone:
        """Clock i set to 0."""
        size, m = self.size, self.bounds
        new = list(m)
        for j in range(size):
            new[i * size + j] = m[j]  # x_i - x_j = x_0 - x_j
            new[j * size + i] = m[j * size]  # x_j - x_i = x_j - x_0
        new[i * size + i] = LE_ZERO
        return Zone(size, tuple(new))

    def added(self) -> Zone:
        """The zone with one more clock, last, at 0."""
        size, m = self.size, self.bounds
        grown = size + 1
        new: list[int] = []
        for i in range(size):
            new += m[i * size : i * size + size]
            new.append(m[i * size])  # x_i - x_new = x_i - x_0
        new += m[:size]  # x_new - x_j = x_0 - x_j
        new.append(LE_ZERO)
        return Zone(grown, tuple(new))

    def project(self, keep: Sequence[int]) -> Zone:
        """The zone over the clocks `keep` (indices, the reference 0 first), in that order:
        dropping a clock or reordering keeps canonical form."""
        size, m = self.size, self.bounds
        if len(keep) == size and all(i == k for k, i in enumerate(keep)):
            return self
        out: list[int] = []
        for i in keep:
            row = m[i * size : i * size + size]
            out += [row[j] for j in keep]
        return Zone(len(keep), tuple(out))

    def extrapolate_lu(self, lower: Sequence[int], upper: Sequence[int]) -> Zone:
        """Extrapolation by lower and upper bounds (Extra+_LU, Behrmann, Bouyer, Larsen, Pelanek
        2006): `lower[i]` is the largest constant clock i is compared with from below (`x >= c`,
        a timer's least duration), `upper[i]` from above (`x <= c`, its greatest). A bound beyond
        what any comparison of its side can tell apart is dropped (an upper one) or relaxed to
        "more than the bound" (a lower one), so the zones that remain are finitely many - fewer
        than with one maximal constant per clock (Extra_M) - and the abstraction is sound and
        complete for reachability with constraints that compare one clock with a constant,
        which are all the spec language has."""
        size, m = self.size, self.bounds
        new = list(m)
        changed = False
        for i in range(size):
            # x_i's lower bound (the bound of x_0 - x_i) beyond what any lower comparison tells.
            i_beyond = i > 0 and -value(m[i]) > lower[i]
            for j in range(size):
                if i == j:
                    continue
                raw = m[i * size + j]
                if raw >= INF:
                    continue
                j_beyond = j > 0 and -value(m[j]) > upper[j]
                if i > 0 and (value(raw) > lower[i] or i_beyond or j_beyond):
                    new[i * size + j] = INF
                    changed = True
                elif i == 0 and j_beyond:
                    new[j] = lt(-upper[j])
                    changed = True
        if not changed:
            return self
        closed = _close(size, new)
        assert closed is not None  # relaxing bounds never empties a zone
        return closed

    def __str__(self) -> str:
        size = self.size
        parts = []
        for i in range(1, size):
            low, high = self.interval(i)
            parts.append(f"x{i} in [{low}, {'inf' if high is None else high}]")
        return "; ".join(parts) or "true"


def _close(size: int, m: list[int]) -> Zone | None:
    """Canonical form by Floyd-Warshall; None if a negative cycle makes the zone empty."""
    for k in range(size):
        row_k = m[k * size : k * size + size]
        for i in range(size):
            ik = m[i * size + k]
            if ik >= INF:
                continue
            row = i * size
            for j in range(size):
                kj = row_k[j]
                if kj >= INF:
                    continue
                v = ik + kj - ((ik | kj) & 1)
                if v < m[row + j]:  # noqa: PLR1730 (as in constrain)
                    m[row + j] = v
    if any(m[i * size + i] < LE_ZERO for i in range(size)):
        return None
    return Zone(size, tuple(m))
