"""The oracle's clock: trace times as integer nanosecond ticks, and times as reports show them."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN

from hasm.core.model import to_ticks

__all__ = ["TICKS", "show_seconds", "show_ticks", "ticks"]

# The oracle's clock counts nanoseconds in integers (see Model's `ticks`): trace times are read
# to the nanosecond, and every bound is exact.
TICKS = 10**9


def ticks(seconds: float) -> int:
    """A record's `t` in ticks: the nanosecond nearest to the decimal it was written as. Below
    10^6 s a float product is within 0.25 ns of it, so rounding finds it; beyond, decimals."""
    if 0 <= seconds < 1e6:
        return round(seconds * 1e9)
    return to_ticks(seconds, TICKS, ROUND_HALF_EVEN)


def show_seconds(value: float) -> str:
    """A time in seconds as a report shows it: whole seconds plainly, else to the millisecond."""
    return f"{value:g}" if value == int(value) else f"{value:.3f}"


def show_ticks(value: float) -> str:
    """A time in ticks as a report shows it, in seconds."""
    return show_seconds(value / TICKS)
