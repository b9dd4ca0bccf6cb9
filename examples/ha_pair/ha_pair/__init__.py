"""A small two-node IM and Presence HA pair: the worked example of testing against hasm.

It is "another project": nothing here imports hasm. Its tests (../tests) check it against the
spec with hasm's pytest plugin."""

from typing import Any

from ha_pair.broken import BrokenPair
from ha_pair.clock import AsyncioClock, Clock, Handle, VirtualClock
from ha_pair.pair import NotOffered, Observer, Page, Pair, Timing

__all__ = [
    "AsyncioClock",
    "BrokenPair",
    "Clock",
    "Handle",
    "NotOffered",
    "Observer",
    "Page",
    "Pair",
    "Timing",
    "VirtualClock",
    "make_pair",
]


def make_pair(kind: str = "good", **kwargs: Any) -> Pair:
    """The pair of `kind`: "good", or "broken" (ha_pair.broken: it fails over too early)."""
    if kind == "good":
        return Pair(**kwargs)
    if kind == "broken":
        return BrokenPair(**kwargs)
    raise ValueError(f"unknown pair kind {kind!r}: good or broken")
