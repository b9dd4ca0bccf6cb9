"""hasm.strategies: drawn groups, schedules and expected traces are what they claim to be.

The spec's own runs of drawn schedules conform under the oracle; every admin action a schedule
holds is offered whatever timing choices the spec's behaviour makes (the simulator is run with
other seeds than the schedule's); drawn parameters resolve; drawing is reproducible.
"""

from __future__ import annotations

import dataclasses
import io
import json

import pytest
from conftest import examples
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from hasm.errors import ConformanceError, NotOffered
from hasm.oracle.oracle import Oracle
from hasm.spec.model import Spec
from hasm.spec.params import resolve_params
from hasm.strategies import (
    ExpectedTrace,
    Group,
    Schedule,
    expected_trace,
    groups,
    parameters,
    schedules,
    traces,
)
from hasm.trace.reader import read_trace

SETTINGS = settings(max_examples=examples(30), database=None)
# Tests that assert what the drawing reached (not only what each draw satisfies) draw the same
# examples every run: a random run may miss a rare kind by chance, and a test must not flicker.
REACHED = settings(SETTINGS, derandomize=True, max_examples=60)


def check(spec: Spec, text: str) -> str | None:
    """The oracle's report on a trace, or None if it conforms."""
    header, records = read_trace(io.StringIO(text), spec)
    oracle = Oracle.from_header(spec, header)
    try:
        for record in records:
            oracle.record(record)
    except ConformanceError as exc:
        return str(exc.divergence)
    return None


def test_the_spec_own_runs_of_drawn_schedules_conform(spec: Spec) -> None:
    @SETTINGS
    @given(traces(spec))
    def run(trace: ExpectedTrace) -> None:
        assert json.loads(trace.lines[0])["hasm_trace"] == 1
        found = check(spec, trace.text)
        assert found is None, f"{found}\n--- the trace:\n{trace.text}"

    run()


def test_admin_actions_are_offered_whatever_the_timing_choices(spec: Spec) -> None:
    seen = {"admin": 0}

    @REACHED
    @given(schedules(spec, max_events=10))
    def run(schedule: Schedule) -> None:
        admin = [e for e in schedule.events if spec.events[e.event].kind == "admin"]
        seen["admin"] += len(admin)
        for other in range(4):  # other runs of the spec: other timers' and clients' choices
            try:
                expected_trace(spec, dataclasses.replace(schedule, seed=other))
            except NotOffered as exc:  # pragma: no cover - the failure this test looks for
                pytest.fail(f"seed {other}: {exc}\n{schedule}")

    run()
    assert seen["admin"] > 0  # the property was exercised


def test_events_near_boundaries_are_drawn(spec: Spec) -> None:
    whys: set[str] = set()

    @REACHED
    @given(schedules(spec, group=groups(spec, initial="normal")))
    def run(schedule: Schedule) -> None:
        whys.update(e.why.split(" t=")[0] for e in schedule.events if " t=" in e.why)

    run()
    assert {"just before", "at", "just after"} <= whys


def test_schedules_keep_to_the_events_asked_for(spec: Spec) -> None:
    asked = {"service_stop", "service_start", "failover", "fallback"}
    drawn: set[str] = set()

    @REACHED
    @given(schedules(spec, groups(spec, initial="normal"), events=asked))
    def run(schedule: Schedule) -> None:
        names = {e.event for e in schedule.events}
        assert names <= asked
        drawn.update(names)
        assert check(spec, expected_trace(spec, schedule).text) is None

    run()
    assert {"service_stop", "failover"} <= drawn  # environment events and admin actions both


@SETTINGS
@given(st.data())
def test_drawn_parameters_resolve_within_their_ranges(spec: Spec, data: st.DataObject) -> None:
    overrides = data.draw(parameters(spec))
    values = resolve_params(spec, overrides)
    for name, value in overrides.items():
        p = spec.parameters[name]
        if p.range is not None:
            assert p.range[0] <= float(value) <= p.range[1]
        assert values[name] == value


@SETTINGS
@given(st.data())
def test_a_drawn_group_is_a_valid_trace_header(spec: Spec, data: st.DataObject) -> None:
    group = data.draw(groups(spec, monitored=True))
    header, _ = read_trace(io.StringIO(json.dumps(group.header()) + "\n"), spec)
    assert header.nodes == group.nodes
    assert dict(header.users) == dict(group.users)
    assert header.initial == group.initial
    assert Oracle(spec, **group.start_kwargs()).nodes == group.nodes


def test_the_same_seed_draws_the_same_traces(spec: Spec) -> None:
    def draw(number: int) -> list[str]:
        out: list[str] = []

        @seed(number)
        @settings(SETTINGS, max_examples=8)
        @given(traces(spec))
        def collect(trace: ExpectedTrace) -> None:
            out.append(trace.text)

        collect()
        return out

    first = draw(7)
    assert first == draw(7)
    assert len(set(first)) > 1


def test_an_expected_trace_is_byte_identical_for_a_schedule(spec: Spec) -> None:
    group = Group(("a", "b"), {"u": "a"}, initial="normal")
    oracle = group.oracle(spec)
    assert oracle.nodes == ("a", "b")
    schedule = Schedule(group, (), 500.0, seed=3)
    text = expected_trace(spec, schedule).text
    assert text == expected_trace(spec, schedule).text
    assert check(spec, text) is None


def test_bad_arguments_are_refused(spec: Spec) -> None:
    with pytest.raises(ValueError, match="unknown parameters"):
        parameters(spec, names=["no_such_parameter"])
    with pytest.raises(ValueError, match="unknown starting point"):
        groups(spec, initial="nowhere")
    with pytest.raises(ValueError, match="unknown events: no_such_event"):
        schedules(spec, events=["failover", "no_such_event"])
