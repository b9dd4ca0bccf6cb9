"""The conformance oracle (hasm.oracle.oracle): every trace the simulator writes conforms; traces changed
into something the spec forbids are rejected at the changed line, with a report that says what
the spec allows there and why; timer windows hold at their boundaries; partial observations,
the tolerance, the Python API, the two documented over-approximations and the cost of many users.
"""

from __future__ import annotations

import dataclasses
import io
import json
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from conftest import examples, scenario_text
from hypothesis import given, note, settings
from hypothesis import strategies as st

from hasm.core.config import Relogin
from hasm.core.model import Model
from hasm.core.semantics import offered
from hasm.errors import ConformanceError, HasmError, InputError
from hasm.oracle.clock import TICKS, ticks
from hasm.oracle.files import check_file
from hasm.oracle.oracle import Oracle
from hasm.oracle.report import Divergence
from hasm.oracle.windows import windows
from hasm.sim.runner import scenario_model, scenario_trace
from hasm.sim.scenario import load_scenario, packaged_scenarios
from hasm.sim.simulator import Simulator
from hasm.spec.loader import load_spec
from hasm.spec.model import Spec
from hasm.spec.params import resolve_params
from hasm.trace.reader import read_trace
from hasm.trace.records import NodeObservation, OfferedObservation
from hasm.trace.writer import PollingTraceWriter, TraceWriter

SCENARIOS = packaged_scenarios()
PUB, SUB = "IMPPub.example.net", "IMPSub.example.net"
FAILED_CSNR = "Failed Over with Critical Services not Running"

Line = dict[str, Any]


# -- helpers ------------------------------------------------------------------------------------------
def _path(name: str) -> Path:
    return next(p for p in SCENARIOS if p.stem == name)


def story(spec: Spec, name: str, seed: int = 0) -> list[Line]:
    """A packaged scenario's trace as a list of JSON objects (index 0 is line 1, the header)."""
    return parse(scenario_text(spec, _path(name), seed))


def parse(text: str) -> list[Line]:
    return [json.loads(line) for line in text.splitlines()]


def dump(lines: list[Line]) -> str:
    return "".join(json.dumps(line) + "\n" for line in lines)


def divergence(spec: Spec, trace: str | list[Line], tolerance: float = 0.0) -> Divergence | None:
    """Check a trace through the streaming reader and the oracle: None when it conforms."""
    text = trace if isinstance(trace, str) else dump(trace)
    header, records = read_trace(io.StringIO(text), spec, name="trace.jsonl")
    oracle = Oracle.from_header(spec, header, tolerance)
    try:
        for record in records:
            oracle.record(record)
    except ConformanceError as exc:
        return exc.divergence
    return None


def rejected_at(spec: Spec, trace: list[Line]) -> int | None:
    found = divergence(spec, trace)
    assert found is not None, "the trace was accepted"
    return found.line


def line_of(lines: list[Line], match: Callable[[Line], bool], start: int = 1) -> int:
    """The 1-based line number of the first record from `start` (a 1-based line) that matches."""
    for i in range(start, len(lines)):
        if match(lines[i]):
            return i + 1
    raise AssertionError("no such line")


def state_of(line: Line, node: str) -> str | None:
    nodes = line.get("observe", {}).get("nodes", {})
    return nodes.get(node, {}).get("state")  # type: ignore[no-any-return]


def insert(lines: list[Line], record: Line) -> tuple[list[Line], int]:
    """`record` inserted after the last record at or before its time; and its line number."""
    at = max(i for i, line in enumerate(lines) if i == 0 or line["t"] <= record["t"]) + 1
    return [*lines[:at], record, *lines[at:]], at + 1


def normal_oracle(spec: Spec, **kwargs: Any) -> Oracle:
    """Two nodes Normal, HA on: alice and bob homed on pub, dave on sub."""
    return Oracle(
        spec,
        ("pub", "sub"),
        {"alice": "pub", "bob": "pub", "dave": "sub"},
        initial="normal",
        **kwargs,
    )


# -- round trip: every trace the simulator writes conforms --------------------------------------------
# Each scenario under five seeds. The quick loop checks seed 0 of each scenario but those whose
# traces take longest to check; the other seeds and those scenarios are cases it leaves to
# `make test` (it keeps the quick loop under 15 s).
_LONG = {
    "10_srm_restarts",
    "11_take_over_fails",
    "12_take_back_fails",
    "13_peer_down_and_split_brain",
    "14_both_nodes_reboot",
}


@pytest.mark.parametrize(
    "seed", [0, *(pytest.param(seed, marks=pytest.mark.slow) for seed in range(1, 5))]
)
@pytest.mark.parametrize(
    "path",
    [pytest.param(p, marks=pytest.mark.slow) if p.stem in _LONG else p for p in SCENARIOS],
    ids=lambda p: p.stem,
)
def test_every_packaged_scenario_trace_conforms(
    spec: Spec, path: Path, seed: int, tmp_path: Path
) -> None:
    scenario = load_scenario(path, spec)
    text = scenario_trace(spec, scenario, seed)
    trace = tmp_path / f"{path.stem}-{seed}.jsonl"
    trace.write_text(text, encoding="utf-8")
    verdict = check_file(spec, trace)
    assert verdict.status == "conforms", str(verdict.divergence or verdict.problems)
    assert verdict.records == len(text.splitlines()) - 1
    assert divergence(spec, text) is None  # the streaming reader and the oracle directly


NODES = ("pub.example.net", "sub.example.net")
PARAMS = st.fixed_dictionaries(
    {
        "enable_automatic_fallback": st.booleans(),
        "keep_alive_timeout_s": st.sampled_from([60, 90]),
        "transition_max_s": st.sampled_from([10, 60]),
    }
)
# Multiples of 0.5 s; 0 gives records at equal times; the spec's own delays now and then.
GAPS = st.one_of(
    st.just(0.0),
    st.integers(1, 400).map(lambda k: k * 0.5),
    st.sampled_from([45.0, 60.0, 90.0, 120.0, 537.0, 1800.0]),
)


def draw_trace(data: st.DataObject, spec: Spec) -> str:
    """A random run of the simulator, written as `hasm simulate --trace` writes it: random
    parameters, start, users and seed; 0-20 events of every kind at increasing times, admin
    actions only when the spec offers them."""
    params = resolve_params(spec, data.draw(PARAMS, label="params"))
    model = Model(spec, params)
    start = data.draw(st.sampled_from(["normal", "ha_disabled"]), label="start")
    homes = data.draw(st.lists(st.sampled_from(NODES), min_size=1, max_size=6), label="homes")
    users = {f"user{i}": home for i, home in enumerate(homes)}
    sim = Simulator(model, NODES, users, start, data.draw(st.integers(0, 2**32 - 1), label="seed"))
    out = io.StringIO()
    writer = TraceWriter(out, model, NODES, users, start, model.params)
    writer.start(sim.config)
    services = st.one_of(
        st.sampled_from(sorted(model.monitored)), st.sampled_from(sorted(spec.services))
    )
    now = 0.0
    for _ in range(data.draw(st.integers(0, 20), label="events")):
        now += data.draw(GAPS, label="gap")
        for record in sim.steps_until(now):
            writer.record(record)
        event = data.draw(st.sampled_from(list(spec.events.values())), label="event")
        node = service = user = None
        if event.kind == "admin":
            actions = [a for a in offered(model, sim.config) if a.name == event.id]
            if not actions:
                continue
            action = data.draw(st.sampled_from(actions), label="offered")
            node = NODES[action.node] if action.node is not None else None
        else:
            node = data.draw(st.sampled_from(NODES)) if "node" in event.fields else None
            service = data.draw(services) if "service" in event.fields else None
            user = data.draw(st.sampled_from(sorted(users))) if "user" in event.fields else None
        note(f"t={now:g} {event.id} node={node} service={service} user={user}")
        writer.record(sim.event(event.id, node=node, service=service, user=user))
    for record in sim.steps_until(now + 2500.0):
        writer.record(record)
    return out.getvalue()


@given(data=st.data())
def test_random_simulator_traces_conform(spec: Spec, data: st.DataObject) -> None:
    text = draw_trace(data, spec)
    found = divergence(spec, text)
    assert found is None, f"{found}\n--- the trace:\n{text}"


# -- mutations into what the spec forbids are rejected at the mutated line ---------------------------
def test_failing_over_observed_half_a_second_early_is_rejected(spec: Spec) -> None:
    lines = story(spec, "02_critical_service_down")
    at = line_of(lines, lambda line: state_of(line, PUB) == "Failing Over")
    assert lines[at - 1]["t"] == 190  # service_stop at t=100 and the exact 90 s delay
    assert divergence(spec, lines) is None
    lines[at - 1]["t"] = 189.5
    assert rejected_at(spec, lines) == at


def test_a_session_on_the_wrong_node_is_rejected(spec: Spec) -> None:
    lines = story(spec, "02_critical_service_down")
    # the first observation where a user of the publisher is back, on the subscriber
    at = line_of(
        lines,
        lambda line: (
            state_of(line, PUB) == FAILED_CSNR
            and SUB in [line["observe"]["sessions"][u] for u in ("alice", "bob", "carol")]
        ),
    )
    sessions = lines[at - 1]["observe"]["sessions"]
    user = next(u for u in ("alice", "bob", "carol") if sessions[u] == SUB)
    sessions[user] = PUB  # the publisher serves nobody while Failed Over
    assert rejected_at(spec, lines) == at


@pytest.mark.parametrize(
    ("node", "key", "value"),
    [
        (PUB, "assigned_users", 4),  # home nodes never change
        (SUB, "assigned_users", 0),
        (SUB, "active_users", 2),  # no client can re-login before t=100+120
        (PUB, "active_users", 3),  # a Failing Over node serves nobody
        (PUB, "reason", "Database Failure"),  # the presence engine, not the database, stopped
        (SUB, "reason", "Peer Down"),
        (SUB, "state", "Running in Backup Mode"),  # the user move takes at least 1 s
    ],
)
def test_a_changed_field_of_the_failing_over_observation_is_rejected(
    spec: Spec, node: str, key: str, value: object
) -> None:
    lines = story(spec, "02_critical_service_down")
    at = line_of(lines, lambda line: state_of(line, PUB) == "Failing Over")
    assert lines[at - 1]["observe"]["nodes"][node][key] != value
    lines[at - 1]["observe"]["nodes"][node][key] = value
    assert rejected_at(spec, lines) == at


def test_fallback_while_failed_over_with_critical_services_not_running_is_rejected(
    spec: Spec,
) -> None:
    lines = story(spec, "02_critical_service_down")
    assert line_of(lines, lambda line: line.get("event") == "service_start") > 4
    lines, at = insert(lines, {"t": 700, "event": "fallback", "node": PUB})
    assert state_of(lines[at - 2], PUB) == FAILED_CSNR  # what was seen just before
    assert rejected_at(spec, lines) == at


def test_failover_of_an_idle_node_is_rejected(spec: Spec) -> None:
    lines = story(spec, "06_manual_failover")
    lines, at = insert(lines, {"t": 500, "event": "failover", "node": PUB})
    assert state_of(lines[at - 2], PUB) == "Idle"
    assert rejected_at(spec, lines) == at


def test_offered_failover_of_a_node_that_is_not_normal_is_rejected(spec: Spec) -> None:
    lines = story(spec, "02_critical_service_down")
    at = line_of(lines, lambda line: state_of(line, PUB) == FAILED_CSNR)
    assert lines[at - 1]["observe"]["offered"]["failover"] == []
    lines[at - 1]["observe"]["offered"]["failover"] = [PUB]
    assert rejected_at(spec, lines) == at


def _forbidden_values(spec: Spec, allowed: Mapping[str, tuple[str, ...]]) -> Iterator[Any]:
    """(field, a value the spec does not allow there) for each field where there is one."""
    labels = {
        "state": [s.label for s in spec.states.values()],
        "reason": [r.label for r in spec.reasons.values()],
    }
    for name, values in allowed.items():
        parts = name.split(".")
        if name.startswith("nodes."):
            node, attr = ".".join(parts[1:-1]), parts[-1]
            if attr in labels:
                for label in labels[attr]:
                    if label not in values:
                        yield ("nodes", node, attr), label
            else:
                yield ("nodes", node, attr), max(int(v) for v in values) + 1
        elif name == "ha_enabled" and len(values) == 1:
            yield ("ha_enabled",), values[0] != "true"
        elif name == "offered.recover" and len(values) == 1:
            yield ("offered", "recover"), values[0] != "true"
        elif name in ("offered.failover", "offered.fallback"):
            for chosen in ([], [NODES[0]], [NODES[1]], list(NODES)):
                if "[" + ", ".join(sorted(chosen)) + "]" not in values:
                    yield ("offered", parts[1]), chosen


@settings(max_examples=examples(40))
@given(data=st.data())
def test_random_forbidden_field_is_rejected_at_its_line(spec: Spec, data: st.DataObject) -> None:
    lines = parse(draw_trace(data, spec))
    observations = [i + 1 for i, line in enumerate(lines) if "observe" in line]
    at = data.draw(st.sampled_from(observations), label="line")
    header, records = read_trace(io.StringIO(dump(lines[: at - 1])), spec)
    oracle = Oracle.from_header(spec, header)
    for record in records:
        oracle.record(record)
    oracle.advance(lines[at - 1]["t"])
    choices = list(_forbidden_values(spec, oracle.allowed()))
    (path, value) = data.draw(st.sampled_from(choices), label="mutation")
    note(f"line {at}: {'.'.join(path)} = {value!r}")
    target = lines[at - 1]["observe"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    found = divergence(spec, lines)
    assert found is not None, "the forbidden value was accepted"
    assert found.line == at


# -- the report --------------------------------------------------------------------------------------------
def test_report_of_an_early_observation_names_line_fields_and_why(
    spec: Spec, tmp_path: Path
) -> None:
    lines = story(spec, "02_critical_service_down")
    stop = line_of(lines, lambda line: line.get("event") == "service_stop")
    at = line_of(lines, lambda line: state_of(line, PUB) == "Failing Over")
    lines[at - 1]["t"] = 189.5
    trace = tmp_path / "early.jsonl"
    trace.write_text(dump(lines), encoding="utf-8")
    verdict = check_file(spec, trace)
    assert verdict.status == "diverges"
    assert verdict.records == at - 2  # the records before the divergent line
    found = verdict.divergence
    assert found is not None
    assert (found.file, found.line, found.t) == (str(trace), at, 189.5)
    fields = {f.field: f for f in found.fields}
    observed = lines[at - 1]["observe"]
    expected = {
        f"nodes.{node}.{key}" for node, seen in observed["nodes"].items() for key in seen
    } | {"ha_enabled", "offered.failover", "offered.fallback", "offered.recover"}
    expected |= {f"sessions.{user}" for user in observed["sessions"]}
    assert set(fields) == expected
    state = fields[f"nodes.{PUB}.state"]
    assert (state.observed, state.allowed, state.conforms) == ("Failing Over", ("Normal",), False)
    assert fields[f"nodes.{PUB}.assigned_users"].conforms
    assert fields[f"nodes.{PUB}.assigned_users"].allowed == ("3",)
    # Her session stays on the stopped engine's node, or ended with it (the readings of
    # A-session-outlives-presence-engine).
    assert fields["sessions.alice"].allowed == (PUB, "null")
    why = " ".join(found.why)
    assert "critical_service_down" in why
    assert f"line {stop}" in why
    assert "critical_service_down_delay_s = 90 s" in why
    assert "not before t=190" in why
    text = str(found)
    assert text.splitlines()[0].startswith(f"{trace}:{at}: t=189.500: does not conform")
    assert "observed Failing Over; the spec allows Normal" in text
    assert json.loads(json.dumps(found.to_json())) == found.to_json()
    assert found.to_json()["line"] == at
    assert json.loads(json.dumps(verdict.to_json()))["divergence"]["t"] == 189.5


def test_report_of_values_allowed_one_by_one_but_not_together(spec: Spec) -> None:
    oracle = normal_oracle(spec)
    oracle.event(100, "failover", "pub")
    oracle.advance(130)  # the user move may or may not be over
    allowed = oracle.allowed()
    assert allowed["nodes.pub.state"] == ("Failing Over", "Idle")
    assert allowed["nodes.sub.state"] == ("Running in Backup Mode", "Taking Over")
    with pytest.raises(ConformanceError) as raised:
        oracle.observe(130, nodes={"pub": {"state": "Idle"}, "sub": {"state": "Taking Over"}})
    fields = raised.value.divergence.fields
    assert [f.conforms for f in fields] == [True, True, False]
    assert fields[-1].field == "(together)"
    assert "no single behaviour shows them all" in str(raised.value)


def test_report_of_an_unoffered_action_says_what_is_offered(spec: Spec) -> None:
    lines = story(spec, "06_manual_failover")
    lines, at = insert(lines, {"t": 500, "event": "failover", "node": PUB})
    found = divergence(spec, lines)
    assert found is not None
    assert (found.line, found.t) == (at, 500)
    assert found.record == f"event failover on {PUB}"
    (event,) = found.fields
    assert (event.field, event.observed, event.conforms) == ("event", f"failover {PUB}", False)
    assert event.allowed == (f"fallback {PUB}", "ha_disable")  # what is offered instead
    assert f"the spec allows fallback {PUB}" in str(found)
    assert f"{PUB} is Idle" in found.why[0]
    assert json.loads(json.dumps(found.to_json())) == found.to_json()


# -- timer boundaries ------------------------------------------------------------------------------------
def _after_service_stop(spec: Spec, t: float, state: str) -> None:
    oracle = normal_oracle(spec)
    oracle.event(100, "service_stop", "pub", "presence_engine")
    oracle.observe(t, nodes={"pub": {"state": state}})


@pytest.mark.parametrize(
    ("t", "state", "conforms"),
    [
        (190, "Failing Over", True),
        (189.999, "Failing Over", False),
        (189.999, "Normal", True),
        (190.001, "Normal", False),
        (250, "Failed Over with Critical Services not Running", True),
        (250.001, "Failing Over", False),  # the user move takes at most 60 s
    ],
)
def test_critical_service_down_delay_boundaries(
    spec: Spec, t: float, state: str, conforms: bool
) -> None:
    if conforms:
        _after_service_stop(spec, t, state)
    else:
        with pytest.raises(ConformanceError):
            _after_service_stop(spec, t, state)


def _deadline_cases() -> dict[str, Callable[[Oracle], None]]:
    """What the spec allows at the very deadline of a timer, before the timer fires."""

    def critical_observed(oracle: Oracle) -> None:  # the delay is exactly 90 s
        oracle.event(100, "service_stop", "pub", "presence_engine")
        oracle.observe(190, nodes={"pub": {"state": "Normal"}, "sub": {"state": "Normal"}})

    def critical_cancelled(oracle: Oracle) -> None:  # the service is back at t=190
        oracle.event(100, "service_stop", "pub", "presence_engine")
        oracle.event(190, "service_start", "pub", "presence_engine")
        oracle.observe(190, nodes={"pub": {"state": "Normal"}, "sub": {"state": "Normal"}})

    def heartbeat_observed(oracle: Oracle) -> None:  # the heartbeat loss fires by t=175
        oracle.event(100, "node_down", "pub")
        oracle.observe(175, nodes={"sub": {"state": "Normal"}})

    def relogin_observed(oracle: Oracle) -> None:  # alice re-logs in by t=100+537
        oracle.event(100, "failover", "pub")
        oracle.observe(637, sessions={"alice": None})

    return {
        "critical_observed": critical_observed,
        "critical_cancelled": critical_cancelled,
        "heartbeat_observed": heartbeat_observed,
        "relogin_observed": relogin_observed,
    }


@pytest.mark.parametrize("case", list(_deadline_cases()))
def test_what_is_seen_at_a_deadline_before_it_fires(spec: Spec, case: str) -> None:
    """Windows are closed at both ends: at t = deadline the timer may still be about to fire
    (semantics.advance lets the clock reach a deadline, semantics.forced says what must happen
    before time passes it)."""
    _deadline_cases()[case](normal_oracle(spec))


def _after_node_down(spec: Spec, t: float, state: str) -> None:
    oracle = normal_oracle(spec)
    oracle.event(100, "node_down", "pub")
    oracle.observe(t, nodes={"sub": {"state": state}})


@pytest.mark.parametrize(
    ("t", "state", "conforms"),
    [
        (145, "Running in Backup Mode", True),
        (160, "Running in Backup Mode", True),
        (175, "Running in Backup Mode", True),
        (144.9, "Running in Backup Mode", False),
        (144.9, "Normal", True),
        # the seed's 'time since last heartbeat 62 seconds' with the 60 s timeout: still Normal
        (162, "Normal", True),
        (174.999, "Normal", True),
        (175.001, "Normal", False),
    ],
)
def test_heartbeat_loss_boundaries(spec: Spec, t: float, state: str, conforms: bool) -> None:
    if conforms:
        _after_node_down(spec, t, state)
    else:
        with pytest.raises(ConformanceError):
            _after_node_down(spec, t, state)


def _relogin(spec: Spec, after: float, session: str | None) -> None:
    """Manual failover of pub at t=100 ends alice's session at once; she re-logs in to sub."""
    oracle = normal_oracle(spec)
    oracle.event(100, "failover", "pub")
    oracle.observe(100, sessions={"alice": None}, nodes={"sub": {"state": "Taking Over"}})
    oracle.observe(100 + after, sessions={"alice": session})


@pytest.mark.parametrize(
    ("after", "session", "conforms"),
    [
        (119.9, "sub", False),
        (119.9, None, True),
        (120, "sub", True),
        (537, "sub", True),
        (537.1, "sub", True),
        (537.1, None, False),
        (536.9, None, True),
    ],
)
def test_client_relogin_window(
    spec: Spec, after: float, session: str | None, conforms: bool
) -> None:
    if conforms:
        _relogin(spec, after, session)
    else:
        with pytest.raises(ConformanceError):
            _relogin(spec, after, session)


@pytest.mark.parametrize(("t", "conforms"), [(188.5, True), (188, True), (187.9, False)])
def test_tolerance_widens_the_timer_window(spec: Spec, t: float, conforms: bool) -> None:
    oracle = normal_oracle(spec, tolerance=2)
    oracle.event(100, "service_stop", "pub", "presence_engine")
    if conforms:
        oracle.observe(t, nodes={"pub": {"state": "Failing Over"}})
    else:
        with pytest.raises(ConformanceError):
            oracle.observe(t, nodes={"pub": {"state": "Failing Over"}})


def test_tolerance_of_check_file(spec: Spec, tmp_path: Path) -> None:
    lines = story(spec, "02_critical_service_down")
    at = line_of(lines, lambda line: state_of(line, PUB) == "Failing Over")
    lines[at - 1]["t"] = 188.5
    trace = tmp_path / "early.jsonl"
    trace.write_text(dump(lines), encoding="utf-8")
    assert check_file(spec, trace).status == "diverges"
    assert check_file(spec, trace, tolerance=2).status == "conforms"
    assert check_file(spec, trace, tolerance=1).status == "diverges"


# -- partial observations ------------------------------------------------------------------------------
def _project(lines: list[Line], keep: Callable[[dict[str, Any]], dict[str, Any]]) -> list[Line]:
    out = [lines[0]]
    for line in lines[1:]:
        if "observe" in line:
            seen = keep(line["observe"])
            if not seen:
                continue
            out.append({"t": line["t"], "observe": seen})
        else:
            out.append(line)
    return out


PROJECTIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "one node's state": lambda o: {"nodes": {PUB: {"state": o["nodes"][PUB]["state"]}}},
    "the other node's state and reason": lambda o: {
        "nodes": {SUB: {k: o["nodes"][SUB][k] for k in ("state", "reason")}}
    },
    "only sessions": lambda o: {"sessions": o["sessions"]},
    "one user's session": lambda o: {"sessions": {"alice": o["sessions"]["alice"]}},
    "only counters": lambda o: {
        "nodes": {
            n: {k: v[k] for k in ("assigned_users", "active_users")} for n, v in o["nodes"].items()
        }
    },
    "only offered": lambda o: {"offered": o["offered"]},
    "only ha_enabled": lambda o: {"ha_enabled": o["ha_enabled"]},
    "an empty observation": lambda o: {"nodes": {}} if o else {},
}


# The stories whose full trace was found to conform, by (spec id, scenario, seed), each with its
# spec (kept alive, so its id is not reused): the eight projections of a story share that check
# rather than each repeating it (a check of a whole story is most of such a test's time).
_CONFORMS_IN_FULL: dict[tuple[int, str, int], Spec] = {}


def conforming_story(spec: Spec, name: str, seed: int) -> list[Line]:
    """`story(spec, name, seed)`, which conforms: checked the first time it is asked for."""
    lines = story(spec, name, seed)
    key = (id(spec), name, seed)
    if _CONFORMS_IN_FULL.get(key) is not spec:
        assert divergence(spec, lines) is None
        _CONFORMS_IN_FULL[key] = spec
    return lines


@pytest.mark.parametrize("name", list(PROJECTIONS))
@pytest.mark.parametrize(
    "scenario", ["02_critical_service_down", "03_node_down_60s", "06_manual_failover"]
)
def test_partial_observations_conform_where_the_full_one_does(
    spec: Spec, scenario: str, name: str
) -> None:
    for seed in (0, 1):
        lines = conforming_story(spec, scenario, seed)
        assert divergence(spec, _project(lines, PROJECTIONS[name])) is None


def test_a_partial_observation_is_still_checked(spec: Spec) -> None:
    lines = story(spec, "02_critical_service_down")
    at = line_of(lines, lambda line: state_of(line, PUB) == "Failing Over")
    lines[at - 1] = {"t": 189.5, "observe": {"nodes": {PUB: {"state": "Failing Over"}}}}
    found = divergence(spec, lines)
    assert found is not None
    assert found.line == at
    assert [f.field for f in found.fields] == [f"nodes.{PUB}.state"]


# -- the two over-approximations of the module docstring ---------------------------------------------------
def test_overapproximation_users_are_counted_not_followed(spec: Spec) -> None:
    """Alice and bob share a home. After a manual failover both wait to re-login; alice is back
    on sub while bob still waits. One second later, with no event between, the trace says alice
    has no session and bob is on sub. Exactly, alice cannot lose her session without an event
    (sub runs in backup mode and keeps serving her), so no behaviour of the spec shows this; the
    oracle counts one user of pub's on sub and one waiting both times, and accepts."""
    oracle = normal_oracle(spec)
    oracle.event(100, "failover", "pub")
    oracle.observe(400, sessions={"alice": "sub", "bob": None})
    oracle.observe(401, sessions={"alice": None, "bob": "sub"})  # accepted: the over-approximation


def test_a_sign_in_takes_back_no_other_users_kept_session(spec: Spec) -> None:
    """Where the trace says who is signed in, the count is followed (hasm.oracle.clients).
    Alice signs out and pub's Active Users stays 2: her session was kept (A-logout-session).
    Bob, signed in, signs in again: nothing changes. After a failover of pub, alice's kept
    session ends with no re-login, so sub can never show 3 active users (dave, bob, alice); bob's sign-in could
    have been the cohort of alice's kept session only if users were not told apart by their
    clients - the old over-approximation, which accepted it."""
    oracle = normal_oracle(spec)
    oracle.event(10, "logout", user="alice")
    oracle.observe(10, nodes={"pub": {"active_users": 2}})  # alice's session kept
    oracle.event(20, "login", user="bob")
    oracle.event(100, "failover", "pub")
    oracle.observe(2000, nodes={"sub": {"active_users": 2}})  # dave and bob
    with pytest.raises(ConformanceError):
        oracle.observe(2000, nodes={"sub": {"active_users": 3}}, sessions={"alice": "sub"})
    oracle.event(2001, "login", user="alice")  # signed out: she may sign in, and is back
    oracle.observe(2001, nodes={"sub": {"active_users": 3}}, sessions={"alice": "sub"})


def test_a_sign_in_takes_back_no_other_users_ended_session(spec: Spec) -> None:
    """Alice signs out and her session ends (the sessions say so); bob, signed in, signs in
    again: nothing changes, so pub counts bob alone. A signed-out client with no session has a
    cohort of its own (SIGNED_OUT), so bob's sign-in cannot take alice's; before, it shared one
    with signed-in clients whose re-login stopped, and the oracle accepted 2."""

    def bob_signs_in() -> Oracle:
        oracle = normal_oracle(spec)
        oracle.event(10, "logout", user="alice")
        oracle.observe(10, sessions={"alice": None, "bob": "pub"})  # ended, not kept
        oracle.event(20, "login", user="bob")
        return oracle

    with pytest.raises(ConformanceError):
        bob_signs_in().observe(20, nodes={"pub": {"active_users": 2}})
    oracle = bob_signs_in()
    oracle.observe(20, nodes={"pub": {"active_users": 1}})
    oracle.event(30, "login", user="alice")
    oracle.observe(30, nodes={"pub": {"active_users": 2}}, sessions={"alice": "pub"})


def test_hidden_steps_keep_their_relation_so_a_forbidden_trace_is_rejected(spec: Spec) -> None:
    """Zones, not intervals: the moments of hidden steps stay related to each other.

    With transition_min_s = 30, HA is enabled at t=10 while the presence engine is stopped on
    pub; the initialization timer fires at some hidden x in [40, 70]: pub fails over, alice's
    session ends at x (she re-logs in within [x+120, x+537]) and sub's user move starts (it ends
    within [x+30, x+60]). Seeing sub Running in Backup Mode at t=70 means the move ended by 70, so
    x <= 40, so x = 40 and alice is back on sub by 40+537 = 577. Alice without a session at t=577
    is allowed, at t=600 forbidden. (Intervals took the step at 40 and gave the re-login the
    bound of a step at 70, 607, and accepted t=600.)"""

    def run(last: float) -> Oracle:
        oracle = Oracle(
            spec,
            ("pub", "sub"),
            {"alice": "pub"},
            params=resolve_params(spec, {"transition_min_s": 30}),
        )
        oracle.event(0, "service_stop", "pub", "presence_engine")
        oracle.event(10, "ha_enable")
        oracle.observe(10, nodes={"pub": {"state": "Initializing"}}, sessions={"alice": "pub"})
        oracle.observe(70, nodes={"pub": {"state": FAILED_CSNR}, "sub": {"state": "Backup Mode"}})
        waiting = [  # the oracle counts time in integer ticks (TICKS per second)
            (w.started_from / TICKS, w.started_by / TICKS, w.latest / TICKS)
            for cand in oracle.candidates
            for w in windows(oracle.model, cand, ticks(70))
            if w.timer is None
        ]
        # The wait began at exactly 40, by either reading of the Critical Service Delay.
        assert set(waiting) == {(40.0, 40.0, 577.0)}
        oracle.observe(last, sessions={"alice": None})
        return oracle

    run(577)
    with pytest.raises(ConformanceError) as caught:
        run(600)
    why = " ".join(caught.value.divergence.why)
    # The wait began at 40 by the hidden initialization: named as such, with its window.
    assert "lost their session at t=40 (by a step the trace does not show)" in why
    assert "between t=160 and t=577" in why


def test_a_hidden_step_does_not_widen_what_a_recorded_event_started(spec: Spec) -> None:
    """pub's SRM stops at t=100: sub's heartbeat loss fires at a hidden time in [145, 175]. pub
    goes down at t=150: alice's session ends then (a recorded event, an exact time), so she
    re-logs in by 150+537 = 687, to sub, which runs in backup mode by then. Alice without a
    session at t=690 is forbidden, and neither over-approximation of the docstring covers it:
    the heartbeat loss did not start her wait. The oracle takes the heartbeat loss at 150, the
    time of the wait's start, and gives her wait the 25 s of slack of a step taken at 175."""
    oracle = Oracle(spec, ("pub", "sub"), {"alice": "pub", "dave": "sub"}, initial="normal")
    oracle.event(100, "srm_stop", "pub")
    oracle.event(150, "node_down", "pub")
    with pytest.raises(ConformanceError):
        oracle.observe(690, sessions={"alice": None})


# -- scale: users are counted, so many cost what few do --------------------------------------------------
def _manual_failover_and_fallback(
    spec: Spec, users: int, every: int, *, counters: bool = True
) -> tuple[str, int]:
    """Scenario 06 with `users` users all homed on pub, written as a poller sees it: at state
    changes and every `every` steps, three users' sessions, the counters if `counters`."""
    base = load_scenario(_path("06_manual_failover"), spec)
    homes = {f"user{i:05d}": PUB for i in range(users)}
    scenario = dataclasses.replace(base, users=homes)
    model = scenario_model(spec, scenario)
    out = io.StringIO()
    keep = tuple(sorted(homes))[:: max(1, users // 3)]
    writer = PollingTraceWriter(
        out,
        model,
        scenario.nodes,
        homes,
        scenario.initial,
        model.params,
        every=every,
        watched=keep,
        counters=counters,
    )
    sim = Simulator(model, scenario.nodes, homes, scenario.initial, 0)
    writer.start(sim.config)
    relogins = 0
    for record in sim.play(scenario):
        relogins += isinstance(record.step.input, Relogin)
        writer.record(record)
    return out.getvalue(), relogins


def _check_counting(spec: Spec, text: str) -> tuple[int, int, float]:
    """(records, the most candidates the oracle held after any record, seconds)."""
    header, records = read_trace(io.StringIO(text), spec)
    oracle = Oracle.from_header(spec, header)
    most = count = 0
    start = time.perf_counter()
    for record in records:
        oracle.record(record)
        most = max(most, len(oracle.candidates))
        count += 1
    return count, most, time.perf_counter() - start


@pytest.mark.slow  # one of the unit tests the quick loop leaves to `make test`
def test_fifteen_thousand_users_keep_the_candidates_few(spec: Spec) -> None:
    """A manual failover and fallback with 4 and with 15,000 users, all homed on pub. The
    observations carry both nodes' counters (so every re-login shows) but only at state changes
    and every 10,000 records, so the trace stays small. The candidates after each record stay
    a handful in both. (Timings are printed with -s; see the report in the issue note.)"""
    results = {}
    for users in (4, 15_000):
        text, relogins = _manual_failover_and_fallback(spec, users, every=10_000)
        assert relogins == 2 * users  # out at the failover, back home at the fallback
        records, most, seconds = _check_counting(spec, text)
        results[users] = (records, most, seconds)
        print(f"{users} users: {records} records, at most {most} candidates, {seconds:.3f} s")
        assert most <= 50
    assert results[4][1] == results[15_000][1]


# -- the Python API ---------------------------------------------------------------------------------
def test_api_event_observe_advance_allowed(spec: Spec) -> None:
    oracle = normal_oracle(spec)
    assert oracle.allowed()["nodes.pub.state"] == ("Normal",)
    assert oracle.allowed()["offered.failover"] == ("[pub, sub]",)
    oracle.event(100, "failover", "pub")
    oracle.advance(180)  # the user move (1 to 60 s) is over by now
    allowed = oracle.allowed()
    assert allowed["nodes.pub.state"] == ("Idle",)
    assert allowed["nodes.sub.state"] == ("Running in Backup Mode",)
    assert allowed["nodes.pub.reason"] == ("On Admin Request",)
    assert allowed["nodes.sub.active_users"] == ("1",)  # nobody re-logs in before t=220
    assert allowed["offered.fallback"] == ("[pub]",)
    assert allowed["ha_enabled"] == ("true",)
    assert oracle.now == 180
    oracle.advance(400)
    assert oracle.allowed()["nodes.sub.active_users"] == ("1", "2", "3")
    assert oracle.records == 1  # advance is not a record


def test_api_observations_in_the_pages_words(spec: Spec) -> None:
    oracle = normal_oracle(spec)
    oracle.event(100, "failover", "pub")
    oracle.observe(
        130,
        nodes={
            "pub": {"state": "  idle ", "reason": "ON   ADMIN request"},
            "sub": {"state": "backup mode", "active_users": 1, "assigned_users": 1},
        },
        sessions={"alice": None, "dave": "sub"},
        ha_enabled=True,
        offered={"failover": [], "fallback": ["pub"], "recover": False},
    )
    oracle.observe(
        131,
        nodes={"sub": NodeObservation("backup", "on_admin_request", None, 1)},
        offered=OfferedObservation(frozenset(), frozenset({"pub"}), False),
    )
    assert oracle.records == 3
    with pytest.raises(ConformanceError):
        oracle.observe(132, nodes={"sub": NodeObservation("normal", None, None, None)})


@pytest.mark.parametrize(
    "nodes",
    [
        {"pub": {"state": "Nromal"}},
        {"pub": {"reason": "Because"}},
        {"pub": {"colour": "red"}},
        {"elsewhere": {"state": "Normal"}},
    ],
)
def test_api_unknown_words_are_input_errors(spec: Spec, nodes: dict[str, Any]) -> None:
    oracle = normal_oracle(spec)
    with pytest.raises(InputError):
        oracle.observe(1, nodes=nodes)
    oracle.observe(1, nodes={"pub": {"state": "Normal"}})  # nothing was changed


def test_api_unknown_user_in_sessions_is_an_input_error(spec: Spec) -> None:
    with pytest.raises(InputError):
        normal_oracle(spec).observe(1, sessions={"zed": None})
    with pytest.raises(InputError):
        normal_oracle(spec).observe(1, sessions={"alice": "elsewhere"})


@pytest.mark.parametrize(
    "kwargs", [{"name": "failover", "node": "elsewhere"}, {"name": "login", "user": "zed"}]
)
def test_api_unknown_node_or_user_of_an_event_is_an_input_error(
    spec: Spec, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(InputError):
        normal_oracle(spec).event(1, **kwargs)


def test_api_time_going_back_is_an_error(spec: Spec) -> None:
    oracle = normal_oracle(spec)
    oracle.observe(10, nodes={"pub": {"state": "Normal"}})
    with pytest.raises(HasmError, match="goes back"):
        oracle.observe(9.5)
    with pytest.raises(HasmError, match="goes back"):
        oracle.event(5, "failover", "pub")
    with pytest.raises(HasmError, match="goes back"):
        oracle.advance(1)
    assert oracle.now == 10
    oracle.observe(10, nodes={"pub": {"state": "Normal"}})


def test_api_a_conformance_error_leaves_the_oracle_as_it_was(spec: Spec) -> None:
    oracle = normal_oracle(spec)
    oracle.event(100, "service_stop", "pub", "presence_engine")
    before = (oracle.candidates, oracle.now, oracle.records)
    with pytest.raises(ConformanceError) as raised:
        oracle.observe(150, nodes={"pub": {"state": "Failing Over"}})
    assert raised.value.divergence.line is None
    assert raised.value.divergence.file == "<trace>"
    with pytest.raises(ConformanceError):
        oracle.event(160, "fallback", "pub")
    assert (oracle.candidates, oracle.now, oracle.records) == before
    oracle.observe(120, nodes={"pub": {"state": "Normal"}})  # earlier than the rejected 150
    oracle.observe(190, nodes={"pub": {"state": "Failing Over"}})
    assert oracle.records == 3


def test_api_takes_partial_parameter_overrides_and_checks_its_arguments() -> None:
    spec = load_spec()
    oracle = Oracle(
        spec,
        ("pub", "sub"),
        {"alice": "pub"},
        initial="normal",
        params={"keep_alive_timeout_s": 90},
    )
    oracle.event(100, "node_down", node="pub")
    oracle.observe(174.9, nodes={"sub": {"state": "Normal"}})  # 90 - 15 s after the last heartbeat
    oracle.observe(190, nodes={"sub": {"state": "Running in Backup Mode"}})
    with pytest.raises(InputError) as bad:
        Oracle(spec, ("pub", "pub"), initial="nope", tolerance=-1)
    assert [p.path for p in bad.value.problems] == ["nodes", "initial", "tolerance"]
    with pytest.raises(InputError, match="keep_alive_timeout_z"):
        Oracle(spec, ("pub", "sub"), params={"keep_alive_timeout_z": 5})


def test_a_pinned_count_waits_for_timers_after_the_clients_deadline(spec: Spec) -> None:
    """Regression (found by hasm generate): an observation listing every user of a home pins
    how many of its waiting clients are back - but only if no timer can fire before the
    observation. Here the client must be back on the backup by t=627, and the automatic
    fallback (t=1891 and later) ends its session again before the observation at t=1950.001."""
    params = {"enable_automatic_fallback": True}
    oracle = Oracle(spec, ("n0", "n1"), {"user0": "n0"}, params=params, initial="normal")
    oracle.event(0, "service_stop", "n0", "database")
    oracle.event(90.001, "service_start", "n0", "database")
    oracle.observe(1950.001, sessions={"user0": None})
    with pytest.raises(ConformanceError):
        oracle.observe(1950.001, sessions={"user0": "n1"})  # the backup no longer serves it


def test_a_divergence_says_when_the_record_would_have_been_allowed_and_after_what(
    spec: Spec,
) -> None:
    """Failing Over seen at t=50 after a stop at 0: the spec allows it from the failover at 90
    (the hidden critical_service_down firing) until the user move ends, at most 60 s later."""
    oracle = Oracle(spec, ("pub", "sub"), {"alice": "pub"}, initial="normal")
    oracle.event(0, "service_stop", "pub", "presence_engine")
    with pytest.raises(ConformanceError) as caught:
        oracle.observe(50, nodes={"pub": {"state": "Failing Over"}})
    assert caught.value.divergence.why[-1] == (
        "the spec allows this record between t=90 and t=150, after timer critical_service_down "
        "on pub fired at t=90 (no record shows it)"
    )
    # An administrator action asked too soon: fallback is offered once the failover is done.
    oracle = Oracle(spec, ("pub", "sub"), {"alice": "pub"}, initial="normal")
    oracle.event(0, "failover", "pub")
    with pytest.raises(ConformanceError) as caught:
        oracle.event(0.5, "fallback", "pub")
    assert "the spec allows this record between t=1 and" in caught.value.divergence.why[-1]
    # Without explanations (verdicts only), no such line, and the same divergence otherwise.
    quiet = Oracle(spec, ("pub", "sub"), {"alice": "pub"}, initial="normal", explain=False)
    quiet.event(0, "failover", "pub")
    with pytest.raises(ConformanceError) as silent:
        quiet.event(0.5, "fallback", "pub")
    assert silent.value.divergence.why == caught.value.divergence.why[:-1]
    assert silent.value.divergence.fields == caught.value.divergence.fields


# -- A-logout-session: either reading of a sign-out conforms, and nothing in between ------------------
def _signed_out_trace(active_after: list[int | None]) -> list[Line]:
    """alice (pub) signs out; pub's Active Users is then observed as given, 10 s apart."""
    lines: list[Line] = [
        {"hasm_trace": 1, "nodes": [PUB, SUB], "users": {"alice": PUB}, "initial": "normal"},
        {"t": 1, "event": "logout", "user": "alice"},
    ]
    for i, active in enumerate(active_after):
        nodes = {PUB: {"state": "Normal", "active_users": active}}
        lines.append({"t": 10 * (i + 1), "observe": {"nodes": nodes}})
    return lines


def test_a_sign_out_may_keep_the_session_counted(spec: Spec) -> None:
    assert divergence(spec, _signed_out_trace([0, 0])) is None  # the session ended
    assert divergence(spec, _signed_out_trace([1, 1])) is None  # the JSM session outlived it


def test_a_kept_session_does_not_end_by_itself(spec: Spec) -> None:
    # Kept, it ends only when its node stops serving it: not while both nodes stay Normal.
    assert rejected_at(spec, _signed_out_trace([1, 0])) == 4


def test_a_kept_session_ends_with_a_failover_and_never_comes_back(spec: Spec) -> None:
    lines = _signed_out_trace([1])
    lines += [
        {"t": 20, "event": "failover", "node": PUB},
        {"t": 60, "observe": {"nodes": {SUB: {"state": "Running in Backup Mode"}}}},
        # A signed-out client does not re-login: sub never counts alice.
        {"t": 1000, "observe": {"nodes": {SUB: {"active_users": 0}}}},
    ]
    assert divergence(spec, lines) is None
    lines[-1] = {"t": 1000, "observe": {"nodes": {SUB: {"active_users": 1}}}}
    assert rejected_at(spec, lines) == len(lines)
