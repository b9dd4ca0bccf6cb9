"""The exact oracle against a brute-force reference, on traces with records at random real times.

`tests/digital.py` decides conformance by brute force on a digital clock: every hidden timer
firing and re-login at every 1/k s. For the spec's closed windows and integer constants that is
exact for traces whose times lie on the 1/k grid (digitization: Henzinger, Manna, Pnueli 1992),
so on such traces the zone-based oracle must give the very same verdict - conforms, or the same
first line that diverges. The traces are drawn to sit near the boundaries: records a quarter
second either side of when a hidden step may or must happen, observations of what the oracle
itself says is allowed then (so traces go deep) or of something else (so they diverge), over
chains of hidden steps the trace never shows. Two specs: the small test spec and the canonical
spec with every duration scaled down to a few seconds.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import examples
from digital import SCALED, accepts_digital
from hypothesis import given, settings
from hypothesis import strategies as st

from hasm.errors import ConformanceError, HasmError
from hasm.oracle.oracle import Oracle
from hasm.spec.loader import load_spec
from hasm.spec.model import Spec
from hasm.trace.reader import read_trace

GRID = 4  # record times are multiples of a quarter second
SMALL = Path(__file__).parents[1] / "specs" / "small.yaml"
SMALL_PARAMS = {"service_down_delay_s": 2, "relogin_min_s": 1, "relogin_max_s": 3}
NODES = ("a", "b")


def _events(spec: Spec) -> list[dict[str, Any]]:
    """Every event record a group of two nodes and one user can make, without its time."""
    out: list[dict[str, Any]] = []
    services = sorted(s for s in spec.services if spec.services[s].monitored_by_default)[:2]
    for event in spec.events.values():
        nodes: list[str | None] = list(NODES) if "node" in event.fields else [None]
        chosen: list[str | None] = services if "service" in event.fields else [None]  # type: ignore[assignment]
        for node in nodes:
            for service in chosen:
                record: dict[str, Any] = {"event": event.id}
                if node is not None:
                    record["node"] = node
                if service is not None:
                    record["service"] = service
                if "user" in event.fields:
                    record["user"] = "alice"
                out.append(record)
    return out


def _header(params: dict[str, Any], initial: str, hidden: list[str] | None) -> dict[str, Any]:
    header = {
        "hasm_trace": 1,
        "nodes": list(NODES),
        "users": {"alice": "a"},
        "params": params,
        "initial": initial,
    }
    if hidden is not None:
        header["hidden"] = {"events": hidden, "faults": 1}
    return header


def _hideable(spec: Spec) -> list[str]:
    """The events a header may hide: those that name no user."""
    return sorted(e.id for e in spec.events.values() if "user" not in e.fields)


def _text(lines: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(line) + "\n" for line in lines)


def _oracle_verdict(spec: Spec, text: str) -> int | None:
    header, records = read_trace(io.StringIO(text), spec)
    oracle = Oracle.from_header(spec, header, explain=False)
    try:
        for record in records:
            oracle.record(record)
    except ConformanceError as exc:
        return exc.divergence.line
    return None


def _boundaries(spec: Spec, params: dict[str, Any]) -> list[float]:
    """The spec's durations (each timer's least and greatest, the re-login limits) and a quarter
    second either side: gaps that put a record at, just before or just after a boundary."""
    model = Oracle(spec, NODES, params=params).model
    spans = {float(t.low) for t in model.node_timers} | {float(t.high) for t in model.node_timers}
    spans |= {float(model.relogin_low), float(model.relogin_high)}
    quarter = model.ticks / GRID if model.ticks else 0.25
    return sorted(
        {max(0.0, (x + d * quarter) / (model.ticks or 1)) for x in spans for d in (-1, 0, 1)}
    )


@st.composite
def traces(draw: st.DrawFn, spec: Spec, params: dict[str, Any], hiding: bool = False) -> str:
    """A trace of up to 12 records, each after a gap (in quarters of a second) of a few
    seconds or of one of the spec's durations give or take a quarter: an event, or an
    observation of what the oracle allows then or of something it may not. `hiding`: the
    header hides some of the environment's events (one fault at once), and records are
    mostly observations, so the hidden steps must explain them."""
    initial = draw(st.sampled_from(sorted(spec.initial)))
    hidden = None
    if hiding:
        hideable = _hideable(spec)
        # A few at a time: the reference lists every one of them at every tick.
        hidden = draw(
            st.lists(st.sampled_from(hideable), min_size=1, max_size=3, unique=True).map(sorted)
        )
    lines = [_header(params, initial, hidden)]
    events = _events(spec)
    labels = sorted(s.label for s in spec.states.values())
    near = _boundaries(spec, params)
    t = 0.0
    for _ in range(draw(st.integers(1, 8 if hiding else 12))):
        t += draw(
            st.one_of(st.integers(0, 3 * GRID).map(lambda q: q / GRID), st.sampled_from(near))
        )
        if draw(st.integers(0, 3) if hiding else st.integers(0, 1)) == 0:
            lines.append({"t": t, **draw(st.sampled_from(events))})
            continue
        # What some behaviour shows at t, from the oracle fed the trace so far (if it still
        # conforms), or any label.
        shown: dict[str, Any] = {}
        try:
            header, records = read_trace(io.StringIO(_text(lines)), spec)
            oracle = Oracle.from_header(spec, header, explain=False)
            for record in records:
                oracle.record(record)
            oracle.advance(t)
            allowed = oracle.allowed()
        except (ConformanceError, HasmError):
            allowed = {}
        node = draw(st.sampled_from(NODES))
        field = draw(st.sampled_from(["state", "reason", "active_users"]))
        values = list(allowed.get(f"nodes.{node}.{field}", ()))
        if field == "state" and (not values or draw(st.integers(0, 3)) == 0):
            values = labels
        if not values:
            continue
        value: Any = draw(st.sampled_from(sorted(values)))
        if field == "active_users":
            value = int(value)
        shown = {"nodes": {node: {field: value}}}
        if draw(st.integers(0, 2)) == 0:
            sessions = allowed.get("sessions.alice", ("null",))
            pick = draw(st.sampled_from(sorted(sessions)))
            shown["sessions"] = {"alice": None if pick == "null" else pick}
        lines.append({"t": t, "observe": shown})
    return _text(lines)


def _agree(spec: Spec, text: str) -> None:
    """The oracle and the digital reference give the same verdict on the trace."""
    assert _oracle_verdict(spec, text) == accepts_digital(spec, text, ticks=GRID), text


@pytest.fixture(scope="module")
def small() -> Spec:
    return load_spec(SMALL)


@pytest.fixture(scope="module")
def canonical() -> Spec:
    return load_spec()


@given(data=st.data())
@settings(max_examples=examples(400))
def test_the_oracle_accepts_exactly_what_the_reference_accepts_small(
    small: Spec, data: st.DataObject
) -> None:
    _agree(small, data.draw(traces(small, SMALL_PARAMS)))


@given(data=st.data())
@settings(max_examples=examples(300))
def test_the_oracle_accepts_exactly_what_the_reference_accepts_canonical(
    canonical: Spec, data: st.DataObject
) -> None:
    _agree(canonical, data.draw(traces(canonical, SCALED)))


@given(data=st.data())
@settings(max_examples=examples(300))
def test_hidden_events_the_oracle_accepts_exactly_what_the_reference_accepts_small(
    small: Spec, data: st.DataObject
) -> None:
    _agree(small, data.draw(traces(small, SMALL_PARAMS, hiding=True)))


@given(data=st.data())
@settings(max_examples=examples(150))
def test_hidden_events_the_oracle_accepts_exactly_what_the_reference_accepts_canonical(
    canonical: Spec, data: st.DataObject
) -> None:
    _agree(canonical, data.draw(traces(canonical, SCALED, hiding=True)))
