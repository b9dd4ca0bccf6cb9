"""The zone verifier against the brute-force digital-clock reference (tests/digital.py).

On the canonical spec scaled down to a few seconds and on the small spec, `hasm verify`'s zone
graph must reach exactly the (state, reason) pairs, fire exactly the transitions and break
exactly the invariants that a search trying every event at every tick (and half tick) finds:
for closed windows and integer constants, digitization makes the reference exact over dense
time, so any difference is a bug of one of the two. Parameter sets that break invariants are
among them, so verdicts are compared both ways. The reference tries the services the explorer
does (`searched_services`), which keeps it to about half a minute a variant on two cores.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from digital import EARLY, ONLY_AFTER_DELAY, PARAMS, SCALED, explore_digital, in_time, small_with

from hasm.core.model import default_monitored
from hasm.core.search import searched_services
from hasm.explorer.explore import explore
from hasm.spec.model import Spec
from hasm.spec.params import resolve_params


def compare(spec: Spec, params: Mapping[str, Any], ticks: int) -> None:
    monitored = default_monitored(spec, resolve_params(spec, dict(params)))
    services = searched_services(spec, monitored, every_named=False)
    ref = explore_digital(spec, params, monitored, ticks=ticks, services=services)
    found = explore(spec, params, monitored=monitored)
    assert len(found.variants) == 1, "every switch fixed: one variant"
    broken = frozenset(c.violation.invariant for c in found.violations)
    print(
        f"reference {ref.states:,} states; zone graph {found.states:,} states, broken {sorted(broken)}"
    )
    assert found.pairs == ref.pairs
    assert found.shown_pairs == ref.shown
    assert found.rules == ref.rules
    assert broken == ref.broken


CANONICAL = [
    pytest.param({"enable_automatic_fallback": False}, id="default"),
    pytest.param({"enable_automatic_fallback": True}, id="automatic-fallback"),
    # The re-login lower limit at the Keep Alive Timeout, the initialization timeout only one
    # interval above it: a client can be stranded, and an odd pair shows (both break).
    pytest.param(
        {
            "enable_automatic_fallback": False,
            "keep_alive_timeout_s": 3,
            "initialization_keep_alive_timeout_s": 3,
            "transition_max_s": 1,
        },
        id="breaking",
    ),
]


@pytest.mark.parametrize("params", CANONICAL)
def test_the_zone_graph_finds_what_every_tick_finds_canonical(
    spec: Spec, params: dict[str, Any]
) -> None:
    chosen = {**SCALED, "enable_xcp_authentication_monitoring": False, **params}
    compare(spec, chosen, ticks=1)


@pytest.mark.parametrize(
    ("invariants", "early"),
    [
        pytest.param("", 0.0, id="plain"),
        pytest.param(ONLY_AFTER_DELAY, 0.5, id="half-a-second-early"),
        pytest.param(in_time("service_down_delay_s + relogin_min_s"), 0.0, id="response-missed"),
        pytest.param(in_time("service_down_delay_s + relogin_max_s"), 0.0, id="response-met"),
    ],
)
def test_the_zone_graph_finds_what_every_half_tick_finds_small(
    invariants: str, early: float
) -> None:
    spec = small_with(
        EARLY, "{min: service_down_delay_s - early_s, max: service_down_delay_s}", invariants
    )
    compare(spec, {**PARAMS, "early_s": early}, ticks=2)
