"""A deliberately broken pair: it fails a node over 60 s after a monitored service stops,
where Cisco (and the spec) wait the Critical Service Down Delay, 90 s. Its tests fail with
hasm's divergence report."""

from __future__ import annotations

from ha_pair.pair import Pair, Timing


class BrokenPair(Pair):
    timing = Timing(critical_service_down_delay=60.0)
