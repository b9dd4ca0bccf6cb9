"""The digital-clock reference (tests/digital.py) on the canonical spec with every duration scaled
down to a few seconds, in the default variant and with automatic fallback on. The parameters keep
the orderings the real defaults have and that the spec relies on: the heartbeat window [1, 3] s
(timeout 2 s, interval 1 s, A-heartbeat-phase) ends before the initialization one [4, 6] s opens,
and the re-login lower limit (4 s) is above the heartbeat's latest takeover (3 s), as S3 asks
(README, "The re-login gap"; at equality a client may re-login at the very instant of the takeover,
before it, and be stranded). To stay near a minute, the test runs on whole seconds (ticks=1) and
stops and starts the monitored services and one service nobody monitors (message_archiver): every
other unmonitored service behaves like it, and each only spends the fault bound. Measured on 2 busy
cores: ticks=2 with every service, the default variant, 238,176 states in about 140 s; ticks=1 with
every service, 85,418 (default) and 92,479 (fallback) states in 50 and 80 s."""

from __future__ import annotations

import time

import pytest
from digital import SCALED, Reference, explore_digital

from hasm.spec.model import Spec

SERVICES = ("database", "presence_engine", "xcp_router", "message_archiver")

# The rules every normal cycle fires: HA on and settled, a manual failover and fallback, an
# automatic failover for a stopped service and the heartbeat takeover for a node down.
CYCLE = {
    "enable_ha",
    "initialized_normal",
    "manual_failover",
    "manual_failover_complete",
    "manual_fallback",
    "fallback_complete",
    "automatic_failover",
    "automatic_failover_complete",
    "peer_down_takeover",
    "disable_ha",
}


def explored(spec: Spec, **params: bool) -> Reference:
    began = time.perf_counter()
    ref = explore_digital(spec, {**SCALED, **params}, ticks=1, services=SERVICES)
    print(
        f"digital reference {params or 'default'}: {ref.states:,} states, "
        f"{ref.transitions:,} transitions, {len(ref.pairs)} pairs, {len(ref.shown)} shown, "
        f"{len(ref.rules)} rules, broken {sorted(ref.broken)}, "
        f"{time.perf_counter() - began:.1f} s"
    )
    return ref


@pytest.mark.parametrize("fallback", [False, True])
def test_the_canonical_spec_on_the_digital_clock(spec: Spec, fallback: bool) -> None:
    ref = explored(spec, enable_automatic_fallback=fallback)
    assert ref.broken == frozenset(), {w.invariant: w.detail for w in ref.witnesses.values()}
    assert ref.rules >= CYCLE
    assert ("automatic_fallback" in ref.rules) is fallback
    assert {("normal", "normal"), ("idle", "backup"), ("backup", "idle")} <= ref.pairs
    assert {("failing_over", "taking_over"), ("failed_over", "backup")} <= ref.pairs
    assert all((b, a) in ref.pairs for a, b in ref.pairs)
    assert all((b, a) in ref.shown for a, b in ref.shown)
