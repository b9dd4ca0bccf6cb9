"""`hasm verify` over dense time: what the deadline-order search it replaced could not see.

Each case is a tiny spec built from `tests/specs/small.yaml`, with one timing situation the old
search missed or could only approximate: an event strictly between two deadlines that alone
enables a rule, a timer that lapses and restarts while a far one runs on, a rule that fires too
early after its cause, a bounded response missed by half a second. Each counterexample must
replay: `hasm check` of it against the spec that produced it conforms."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from digital import ONLY_AFTER_DELAY, in_time

from hasm.explorer.explore import explore
from hasm.explorer.results import Exploration
from hasm.explorer.zonegraph import model_ticks
from hasm.oracle.files import check_file
from hasm.spec.loader import load_spec
from hasm.spec.model import Spec

SMALL = Path(__file__).parent.parent / "specs" / "small.yaml"


def section(text: str, name: str, body: str) -> str:
    """`text` with its top-level YAML section `name` replaced by `body`."""
    pattern = re.compile(rf"^{name}:.*?(?=^\S)", re.S | re.M)
    assert pattern.search(text), f"small.yaml has no section {name}"
    return pattern.sub(lambda _: body.rstrip("\n") + "\n\n", text, count=1)


def small(tmp_path: Path, name: str, **sections: str) -> Spec:
    text = SMALL.read_text(encoding="utf-8")
    for key, body in sections.items():
        text = section(text, key, body)
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return load_spec(path)


def replays(spec: Spec, found: Exploration, tmp_path: Path) -> list[dict[str, Any]]:
    """The records of the one counterexample, which `hasm check` accepts against `spec`."""
    (cex,) = found.violations
    path = tmp_path / "cex.jsonl"
    path.write_text(cex.trace, encoding="utf-8")
    verdict = check_file(spec, path)
    assert verdict.status == "conforms", verdict
    return [json.loads(line) for line in cex.trace.splitlines()]


# -- a race: A and B start together (100 s, 101 s); C (7 s) starts at an admin poke -----------------
RACE = {
    "services": "services:\n  a: {name: A, monitored_by_default: true, source: T1}\n",
    "reasons": """reasons:
  normal: {label: Normal, source: T1}
  admin: {label: Admin, source: T1}
  service_down: {label: Service Down, source: T1}
  done: {label: Done, source: T1}
  ha_off: {label: HA Off, source: T1}
""",
    "events": """events:
  poke: {kind: admin, fields: [node], description: The administrator pokes the node., source: T1}
  service_stop: {kind: environment, fields: [node, service], effect: stop_service, description: A service stops.}
  service_start: {kind: environment, fields: [node, service], effect: start_service, description: A service starts.}
  login: {kind: environment, fields: [user], effect: login, description: A client signs in.}
  logout: {kind: environment, fields: [user], effect: logout, description: A client signs out.}
""",
    "timers": """timers:
  first:
    per: node
    duration: 100
    while: {node.service_down: a, node.state: normal, node.reason: [normal, admin]}
    description: A.
    source: T1
  second:
    per: node
    duration: 101
    while: {node.reason: [normal, admin, service_down], any: [{node.service_down: a}, {node.state: idle}]}
    description: B.
    source: T1
  third:
    per: node
    duration: 7
    while: {node.reason: admin, node.state: normal}
    description: C.
    source: T1
  client_relogin:
    per: user
    duration: {min: relogin_min_s, max: relogin_max_s}
    description: A client waits, then logs in again.
    source: T1
""",
    "transitions": """transitions:
  - id: poke_it
    summary: A poke starts C.
    on: poke
    when: {ha_enabled: true, node.state: normal, node.reason: normal}
    node: {reason: admin}
    source: T1
  - id: go_idle
    summary: A fires.
    on: first
    when: {node.state: normal}
    node: {state: idle, reason: service_down}
    source: T1
  - id: come_back
    summary: B fires.
    on: second
    when: {node.state: idle}
    node: {state: normal, reason: done}
    source: T1
  - id: between
    summary: C fires while the peer is between A and B.
    on: third
    when: {node.state: normal, peer.state: idle}
    node: {state: backup, reason: admin}
    source: T1
  - id: lapse
    summary: C fires otherwise.
    on: third
    when: {node.state: normal, not: {peer.state: idle}}
    node: {reason: done}
    source: T1
""",
    "invariants": """invariants:
  - id: never_between
    statement: C never fires between A and B (a probe, not a property).
    kind: fires_after
    rules: [between]
    timer: first
    source: T1
""",
}


def test_an_event_strictly_between_two_deadlines_enables_a_rule(tmp_path: Path) -> None:
    """`between` needs C (7 s after a poke) to fire in [s + 100, s + 101], s the service stop:
    a poke 93 to 94 s after it. With one fault at a time no deadline falls there, so a search
    that tries events only at deadlines never pokes then; over dense time it is one more run."""
    spec = small(tmp_path, "race", **RACE)
    found = explore(spec)
    assert "between" in found.rules
    records = replays(spec, found, tmp_path)
    stop = next(r for r in records if r.get("event") == "service_stop")
    poke = next(r for r in records if r.get("event") == "poke")
    assert isinstance(stop["t"], int | float) and isinstance(poke["t"], int | float)
    assert 93 <= poke["t"] - stop["t"] <= 94


# -- a timer that lapses and restarts every second beside a far one ---------------------------------
LAPSE = {
    **RACE,
    "timers": """timers:
  tick:
    per: node
    duration: 1
    while: {node.service_down: a, node.state: normal}
    description: Lapses and restarts every second.
    source: T1
  far:
    per: node
    duration: 100
    while: {node.service_down: a, node.state: normal}
    description: Runs on.
    source: T1
  client_relogin:
    per: user
    duration: {min: relogin_min_s, max: relogin_max_s}
    description: A client waits, then logs in again.
    source: T1
""",
    "transitions": """transitions:
  - id: give_up
    summary: The far timer fires.
    on: far
    when: {node.state: normal}
    node: {state: idle, reason: service_down}
    source: T1
""",
    "invariants": """invariants:
  - id: never_gives_up
    statement: The far timer never fires its rule (a probe, not a property).
    kind: fires_after
    rules: [give_up]
    timer: tick
    source: T1
""",
}


def test_a_far_deadline_is_reached_past_a_timer_that_keeps_restarting(tmp_path: Path) -> None:
    """Each time `tick` lapses and restarts, the pending deadlines are in the same order again,
    though 1 s later: identified by that order, the run never gets to `far`. Zones keep how
    far `far` has run (up to its 100 s, by extrapolation), so its rule fires, at 100 s."""
    spec = small(tmp_path, "lapse", **LAPSE)
    found = explore(spec)
    assert "give_up" in found.rules
    assert [c.violation.invariant for c in found.violations] == ["never_gives_up"]
    records = replays(spec, found, tmp_path)
    stop = next(r for r in records if r.get("event") == "service_stop")
    assert records[-1]["t"] == stop["t"] + 100


# -- fires_after: a rule fired by a timer that runs regardless of its cause --------------------------
FIRES_AFTER = ONLY_AFTER_DELAY  # shared with the reference's tests (tests/digital.py)


def with_invariant(text: str, invariant: str) -> str:
    return text.replace("invariants:\n", "invariants:\n" + invariant, 1)


def test_fires_after_holds_for_the_small_spec(tmp_path: Path) -> None:
    text = with_invariant(SMALL.read_text(encoding="utf-8"), FIRES_AFTER)
    path = tmp_path / "small.yaml"
    path.write_text(text, encoding="utf-8")
    assert explore(load_spec(path)).ok


def test_fires_after_catches_a_rule_that_fires_too_early(tmp_path: Path) -> None:
    """The mutant's timer runs while both nodes are Normal, service or not (it lapses and
    restarts every 30 s), and the failover reads the service: a stop at or just before a lapse
    fails the node over at once."""
    text = with_invariant(SMALL.read_text(encoding="utf-8"), FIRES_AFTER)
    old_while = "    while: {ha_enabled: true, node.state: normal, peer.state: normal, node.monitored_down: true}\n"
    assert text.count(old_while) == 1
    text = text.replace(
        old_while, "    while: {ha_enabled: true, node.state: normal, peer.state: normal}\n"
    )
    old_when = "    on: service_down\n    when: {node.state: normal, peer.state: normal}\n"
    assert text.count(old_when) == 1
    text = text.replace(
        old_when,
        "    on: service_down\n"
        "    when: {node.state: normal, peer.state: normal, node.monitored_down: true}\n",
    )
    path = tmp_path / "early.yaml"
    path.write_text(text, encoding="utf-8")
    spec = load_spec(path)
    found = explore(spec, first=True)
    (cex,) = found.violations
    assert cex.violation.invariant == "failover_only_after_delay"
    assert "after node.monitored_down: true began to hold" in cex.violation.detail
    records = replays(spec, found, tmp_path)
    stop = next(r for r in records if r.get("event") == "service_stop")
    assert isinstance(stop["t"], int | float)
    assert 0 <= records[-1]["t"] - stop["t"] < 30


# -- bounded response: missed by half a second --------------------------------------------------------
response = in_time  # the bounded response of tests/digital.py


def test_a_bounded_response_met_at_its_bound_holds(tmp_path: Path) -> None:
    """The failover comes 30 s after the stop, the client re-logs in 10 to 20 s later: every
    run is on the peer by 50 s."""
    text = with_invariant(
        SMALL.read_text(encoding="utf-8"), response("service_down_delay_s + relogin_max_s")
    )
    path = tmp_path / "in_time.yaml"
    path.write_text(text, encoding="utf-8")
    assert explore(load_spec(path)).ok


def test_a_bounded_response_missed_by_half_a_second(tmp_path: Path) -> None:
    """49.5 s is half a second short for the client that waits longest: the variant is explored
    in tenths of a second, and the counterexample ends with an observation at 49.5 s."""
    within = "service_down_delay_s + relogin_max_s - 0.5"
    text = with_invariant(SMALL.read_text(encoding="utf-8"), response(within))
    path = tmp_path / "late.yaml"
    path.write_text(text, encoding="utf-8")
    spec = load_spec(path)
    assert model_ticks(spec, spec.defaults) == 10
    found = explore(spec)
    (cex,) = found.violations
    assert cex.violation.invariant == "failover_in_time"
    assert cex.violation.time == 49.5
    assert "at t=49.5 (service_down_delay_s + relogin_max_s - 0.5 = 49.5 s later)" in (
        cex.violation.detail
    )
    records = replays(spec, found, tmp_path)
    stop = next(r for r in records if r.get("event") == "service_stop")
    assert records[-1]["t"] == stop["t"] + 49.5
    observe = records[-1]["observe"]
    assert isinstance(observe, dict) and observe["sessions"]["user0"] is None
