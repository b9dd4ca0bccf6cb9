"""The trace v1 reader: the simulator's traces read back, streaming, and every rule located."""

from __future__ import annotations

import dataclasses
import gc
import io
import json
import tracemalloc
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import scenario_text

from hasm.errors import InputError, TraceError
from hasm.sim.runner import scenario_model
from hasm.sim.scenario import load_scenario, packaged_scenarios
from hasm.spec.model import Spec
from hasm.spec.schemas import load_schema
from hasm.trace.reader import TraceReader, read_trace
from hasm.trace.records import (
    NodeObservation,
    OfferedObservation,
    TraceEvent,
    TraceHeader,
    TraceObservation,
    TraceRecord,
)

SCENARIOS = packaged_scenarios()
PUB, SUB = "IMPPub.example.net", "IMPSub.example.net"
HEADER: dict[str, Any] = {
    "hasm_trace": 1,
    "nodes": [PUB, SUB],
    "users": {"alice": PUB, "dave": SUB},
    "initial": "normal",
}


def simulator_trace(spec: Spec, path: Path, seed: int = 0) -> str:
    """The trace `hasm simulate --trace` writes for a scenario."""
    return scenario_text(spec, path, seed)


def read_text(spec: Spec, text: str, *, memo: bool = True) -> tuple[TraceHeader, list[TraceRecord]]:
    reader = TraceReader(spec)
    reader._memo = memo
    header, records = reader.read(io.StringIO(text), name="t.jsonl")
    return header, list(records)


def lines(*records: dict[str, Any] | str, header: dict[str, Any] | None = None) -> str:
    """A trace: the header, then each record (a dict as JSON, a string as written)."""
    out = [json.dumps(HEADER if header is None else header)]
    out += [r if isinstance(r, str) else json.dumps(r) for r in records]
    return "\n".join(out) + "\n"


# -- the simulator's traces read back ------------------------------------------------------------
def expected_records(spec: Spec, text: str) -> list[TraceRecord]:
    """The records of a trace, by an independent reading: json.loads and the spec's exact labels."""
    states = {s.label: s.id for s in spec.states.values()}
    reasons = {r.label: r.id for r in spec.reasons.values()}
    out: list[TraceRecord] = []
    for number, raw in enumerate(text.splitlines()[1:], start=2):
        line = json.loads(raw)
        if "event" in line:
            out.append(
                TraceEvent(
                    number,
                    float(line["t"]),
                    line["event"],
                    line.get("node"),
                    line.get("service"),
                    line.get("user"),
                )
            )
            continue
        seen = line["observe"]
        nodes = {
            name: NodeObservation(
                states[v["state"]], reasons[v["reason"]], v["assigned_users"], v["active_users"]
            )
            for name, v in seen["nodes"].items()
        }
        offered = seen["offered"]
        out.append(
            TraceObservation(
                number,
                float(line["t"]),
                nodes,
                seen["sessions"],
                seen["ha_enabled"],
                OfferedObservation(
                    frozenset(offered["failover"]),
                    frozenset(offered["fallback"]),
                    offered["recover"],
                ),
            )
        )
    return out


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_scenario_trace_reads_back(spec: Spec, path: Path) -> None:
    scenario = load_scenario(path, spec)
    model = scenario_model(spec, scenario)
    for seed in (0, 1):
        text = simulator_trace(spec, path, seed)
        header, records = read_text(spec, text)
        assert header == TraceHeader(
            file="t.jsonl",
            nodes=scenario.nodes,
            users=dict(scenario.users),
            params=dict(model.params),
            overrides={n: v for n, v in model.params.items() if v != spec.defaults[n]},
            monitored=model.monitored,
            initial=scenario.initial,
            group=None,
        )
        assert records == expected_records(spec, text)
        assert read_text(spec, text, memo=False)[1] == records  # the memo changes nothing


def test_a_header_with_overrides_and_a_group(spec: Spec) -> None:
    header, _ = read_text(
        spec,
        lines(
            header={
                **HEADER,
                "params": {"keep_alive_timeout_s": 90, "enable_automatic_fallback": True},
                "monitored": [],
                "group": "DefaultCUPSubcluster",
            }
        ),
    )
    assert header.overrides == {"keep_alive_timeout_s": 90.0, "enable_automatic_fallback": True}
    assert header.params["keep_alive_timeout_s"] == 90.0
    assert header.params["keep_alive_interval_s"] == spec.defaults["keep_alive_interval_s"]
    assert header.monitored == frozenset()
    assert header.group == "DefaultCUPSubcluster"


def test_defaults_of_a_minimal_header(spec: Spec) -> None:
    header, records = read_text(spec, '{"hasm_trace": 1, "nodes": ["a", "b"]}')
    assert (header.users, header.overrides, header.monitored) == ({}, {}, None)
    assert (header.initial, header.group, records) == ("ha_disabled", None, [])
    assert header.params == spec.defaults


def test_labels_compare_without_case_or_runs_of_white_space(spec: Spec) -> None:
    _, [record] = read_text(
        spec,
        lines(
            {
                "t": 0,
                "observe": {
                    "nodes": {
                        PUB: {"state": "  running IN\tbackup   mode ", "reason": "PEER DOWN"},
                        SUB: {"state": "Failover", "reason": "Auto Recovery Database Failure."},
                    }
                },
            }
        ),
    )
    assert isinstance(record, TraceObservation)
    assert record.nodes[PUB] == NodeObservation("backup", "peer_down", None, None)
    assert record.nodes[SUB] == NodeObservation(
        "failing_over", "auto_recover_database_failure", None, None
    )  # aliases map to their state's and reason's ids


def test_what_is_absent_is_none_or_empty(spec: Spec) -> None:
    _, [record] = read_text(spec, lines({"t": 1.5, "observe": {}}))
    assert record == TraceObservation(2, 1.5, {}, {}, None, None)
    _, [record] = read_text(spec, lines({"t": 2, "observe": {"offered": {"recover": True}}}))
    assert isinstance(record, TraceObservation)
    assert record.offered == OfferedObservation(None, None, True)


def test_tolerated_forms(spec: Spec) -> None:
    """Blank lines, CRLF, a byte order mark, 1.0 for 1, and the same t again are all fine."""
    text = lines(
        {"t": 5, "event": "ha_enable"},
        "   \t",
        {"t": 5, "observe": {"nodes": {PUB: {"assigned_users": 3.0}}}},
        "",
        {"t": 5.0, "event": "login", "user": "alice"},
        header={**HEADER, "hasm_trace": 1.0},
    ).replace("\n", "\r\n")
    header, records = read_text(spec, "\ufeff" + text)
    assert header.nodes == (PUB, SUB)
    assert [(r.line, r.t) for r in records] == [(2, 5.0), (4, 5.0), (6, 5.0)]
    assert isinstance(records[1], TraceObservation)
    assert records[1].nodes[PUB].assigned_users == 3


def test_sources_path_text_and_binary_stream(spec: Spec, tmp_path: Path) -> None:
    text = simulator_trace(spec, SCENARIOS[1])
    file = tmp_path / "run.jsonl"
    file.write_text(text, encoding="utf-8")
    want = read_text(spec, text)[1]
    for source in (file, str(file)):
        header, records = read_trace(source, spec)
        assert header.file == str(file)
        assert list(records) == want
    header, records = read_trace(io.BytesIO(text.encode()), spec, name="bytes")
    assert header.file == "bytes"
    assert list(records) == want


def test_records_are_read_lazily_and_an_error_stops_them(spec: Spec) -> None:
    text = lines({"t": 1, "event": "ha_enable"}, {"t": 2, "event": "nope"}, "not even JSON")
    header, records = TraceReader(spec).read(io.StringIO(text))
    assert header.nodes == (PUB, SUB)  # the header is read at once
    first = next(records)
    assert isinstance(first, TraceEvent)
    assert first.event == "ha_enable"
    with pytest.raises(TraceError) as caught:
        next(records)
    assert caught.value.problems[0].line == 3
    assert list(records) == []  # nothing is read past the problem


def test_a_path_is_closed_when_the_records_are_dropped(spec: Spec, tmp_path: Path) -> None:
    file = tmp_path / "run.jsonl"
    file.write_text(lines({"t": 1, "event": "ha_enable"}, {"t": 2, "event": "ha_disable"}))
    _, records = read_trace(file, spec)
    next(records)
    del records
    gc.collect()  # an unclosed file would warn here, and warnings are errors
    _, records = read_trace(file, spec)
    assert len(list(records)) == 2


def test_a_missing_file_is_an_input_error(spec: Spec, tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="cannot read the file") as caught:
        read_trace(tmp_path / "absent.jsonl", spec)
    assert isinstance(caught.value, InputError)


def test_records_are_frozen(spec: Spec) -> None:
    _, records = read_text(spec, simulator_trace(spec, SCENARIOS[1]))
    for record in records[:3]:
        with pytest.raises(dataclasses.FrozenInstanceError):
            record.t = 0.0  # type: ignore[misc]
    observation = next(r for r in records if isinstance(r, TraceObservation))
    with pytest.raises(TypeError):
        observation.sessions["alice"] = None  # type: ignore[index]


# -- streaming ------------------------------------------------------------------------------------
def _generated(count: int) -> Iterator[str]:
    """A simulator-like trace of `count` lines, made as it is written: events and observations
    in time order, the group cycling through a few views (each view's JSON made once)."""
    yield json.dumps(HEADER) + "\n"
    views = [
        ("Normal", "Normal", PUB, SUB, [PUB, SUB], []),
        ("Failing Over", "On Admin Request", None, SUB, [], []),
        ("Idle", "On Admin Request", None, SUB, [], [PUB]),
        ("Idle", "On Admin Request", SUB, SUB, [], [PUB]),
        ("Taking Back", "On Admin Request", None, SUB, [], []),
    ]
    observations = [
        json.dumps(
            {
                "nodes": {
                    PUB: {
                        "state": state,
                        "reason": reason,
                        "assigned_users": 1,
                        "active_users": active,
                    },
                    SUB: {"state": "Running in Backup Mode", "reason": "Peer Down"},
                },
                "sessions": {"alice": alice, "dave": dave},
                "ha_enabled": True,
                "offered": {"failover": failover, "fallback": fallback, "recover": False},
            }
        )
        for state, reason, alice, dave, failover, fallback in views
        for active in (0, 1)
    ]
    events = [
        json.dumps(event)[1:]
        for event in (
            {"event": "failover", "node": PUB},
            {"event": "service_stop", "node": SUB, "service": "sip_proxy"},
            {"event": "service_start", "node": SUB, "service": "sip_proxy"},
            {"event": "logout", "user": "alice"},
            {"event": "login", "user": "alice"},
        )
    ]
    for i in range(1, count):
        t = round(i * 0.731, 3)
        if i % 3 == 0:
            yield f'{{"t": {t}, {events[i % len(events)]}\n'
        else:
            yield f'{{"t": {t}, "observe": {observations[(i // 7) % len(observations)]}}}\n'


# 200,000 lines take seconds: the quick loop reads 10,000.
@pytest.mark.parametrize(
    ("count", "memo"), [pytest.param(200_000, True, marks=pytest.mark.slow), (10_000, False)]
)
def test_reading_streams_in_constant_memory(
    spec: Spec, tmp_path: Path, count: int, memo: bool
) -> None:
    file = tmp_path / "long.jsonl"
    with file.open("w", encoding="utf-8") as out:
        out.writelines(_generated(count))
    reader = TraceReader(spec)
    reader._memo = memo
    tracemalloc.start()
    try:
        _, records = reader.read(file)
        tail = deque(records, maxlen=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert tail[0].line == count
    assert peak < 3 * 2**20, f"peak {peak / 2**20:.1f} MiB"


# -- every rule, located ------------------------------------------------------------------------
def bad_header(**changes: Any) -> str:
    header = {**HEADER, **changes}
    return lines(header={k: v for k, v in header.items() if v is not DROP})


DROP: Any = object()
OK_EVENT = {"t": 1, "event": "ha_enable"}


def observe(**seen: Any) -> dict[str, Any]:
    return {"t": 5, "observe": seen}


CASES: list[tuple[str, str | bytes, int, str, str]] = [
    # -- the file
    ("empty file", "", 1, "", "the trace is empty"),
    ("only blank lines", "\n  \n\t\n", 1, "", "the trace is empty"),
    (
        "bad UTF-8",
        lines(OK_EVENT).encode() + b'{"t": 2, "event": "\xff"}\n',
        3,
        "",
        "not UTF-8 (byte 0xff at byte 20",
    ),
    ("not JSON", lines(OK_EVENT, "{t: 2}"), 3, "", "not valid JSON"),
    ("a header that is not JSON", "hasm_trace: 1\n", 1, "", "not valid JSON"),
    ("JSON but not an object", lines("[1, 2]"), 2, "", "a record is a JSON object, not a list"),
    ("a header that is not an object", '"hasm"\n', 1, "", "the header is a JSON object"),
    ("trailing garbage", lines('{"t": 1, "event": "ha_enable"} x'), 2, "", "text after"),
    ("two objects on a line", lines(json.dumps(OK_EVENT) * 2), 2, "", "text after"),
    ("NaN", lines('{"t": NaN, "event": "ha_enable"}'), 2, "t", "NaN is not a number in JSON"),
    ("Infinity", lines('{"t": Infinity, "event": "ha_enable"}'), 2, "t", "Infinity is not"),
    ("-Infinity", lines(observe(), '{"t": -Infinity, "event": "x"}'), 3, "t", "-Infinity is"),
    (
        "NaN deep inside",
        lines(observe(), '{"t": 6, "observe": {"offered": {"failover": [], "fallback": [NaN]}}}'),
        3,
        "observe.offered.fallback[0]",
        "NaN is not a number in JSON (fix: write a finite number)",
    ),
    (
        "Infinity in the header",
        bad_header(params={"keep_alive_timeout_s": "INF"}).replace('"INF"', "Infinity"),
        1,
        "params.keep_alive_timeout_s",
        "Infinity is not a number",
    ),
    ("a float too large", lines('{"t": 1e400, "event": "ha_enable"}'), 2, "t", "too large"),
    ("an int too large", lines('{"t": 1' + "0" * 400 + "}"), 2, "t", "too large"),
    ("an int too long", lines('{"t": 1' + "0" * 5000 + "}"), 2, "", "not usable JSON"),
    ("nested too deeply", lines("[" * 100_000 + "]" * 100_000), 2, "", "nested too deeply"),
    # -- the header
    ("version 2", bad_header(hasm_trace=2), 1, "hasm_trace", "this hasm reads version 1"),
    ("version true", bad_header(hasm_trace=True), 1, "hasm_trace", "version true is not"),
    ("no version", bad_header(hasm_trace=DROP), 1, "hasm_trace", "not a trace header"),
    ("a record first", lines(header=OK_EVENT), 1, "hasm_trace", "not a trace header"),
    ("no nodes", bad_header(nodes=DROP), 1, "nodes", "missing key 'nodes'"),
    ("one node", bad_header(nodes=[PUB]), 1, "nodes", "two nodes"),
    ("a node twice", bad_header(nodes=[PUB, PUB]), 1, "nodes[1]", "both nodes are named"),
    ("an empty node", bad_header(nodes=[PUB, ""]), 1, "nodes[1]", "non-empty name"),
    ("a node number", bad_header(nodes=[1, SUB]), 1, "nodes[0]", "non-empty name, not 1"),
    ("users a list", bad_header(users=["alice"]), 1, "users", "maps each user id"),
    ("an empty user", bad_header(users={"": PUB}), 1, "users", "non-empty string"),
    ("a user elsewhere", bad_header(users={"bob": "x"}), 1, "users.bob", "home node 'x'"),
    ("params a list", bad_header(params=[1]), 1, "params", "maps parameter names"),
    ("unknown param", bad_header(params={"keep_alive": 1}), 1, "params.keep_alive", "unknown"),
    ("a param's type", bad_header(params={"keep_alive_timeout_s": "90"}), 1, "params.", "finite"),
    (
        "a param out of range",
        bad_header(params={"keep_alive_timeout_s": 1e9}),
        1,
        "params.keep_alive_timeout_s",
        "outside the range",
    ),
    (
        "an impossible timer window",
        bad_header(params={"keep_alive_interval_s": 60, "keep_alive_timeout_s": 30}),
        1,
        "params",
        "which is impossible",
    ),
    ("monitored a string", bad_header(monitored="database"), 1, "monitored", "list of service"),
    ("unknown service", bad_header(monitored=["databse"]), 1, "monitored[0]", "'database'?"),
    ("a service twice", bad_header(monitored=["sync_agent"] * 2), 1, "monitored[1]", "twice"),
    ("unknown initial", bad_header(initial="Normal"), 1, "initial", "unknown starting point"),
    ("group a number", bad_header(group=3), 1, "group", "a string, not 3"),
    ("unknown header key", bad_header(user={}), 1, "user", "did you mean 'users'?"),
    ("unknown header key far off", bad_header(zzz=1), 1, "zzz", "use one of: hasm_trace, nodes"),
    # -- every record's t
    ("no t", lines({"event": "ha_enable"}), 2, "t", "missing 't'"),
    ("t a string", lines({"t": "5", "event": "ha_enable"}), 2, "t", "not '5'"),
    ("t a boolean", lines({"t": True, "event": "ha_enable"}), 2, "t", "not true"),
    ("t negative", lines({"t": -1, "event": "ha_enable"}), 2, "t", "t=-1 is negative"),
    (
        "t back in time",
        lines(OK_EVENT, {"t": 30, "event": "ha_disable"}, "", {"t": 12, "event": "ha_enable"}),
        5,
        "t",
        "t=12 goes back in time: line 3 has t=30 (fix: records are in time order)",
    ),
    (
        "t back in time by a little",
        lines(observe(), {"t": 4.999, "observe": {}}),
        3,
        "t",
        "t=4.999 goes back in time: line 2 has t=5",
    ),
    ("event and observe", lines({**OK_EVENT, "observe": {}}), 2, "observe", "not both"),
    ("neither", lines({"t": 1}), 2, "", "has 'event' (what happened) or 'observe'"),
    # -- events
    ("unknown event", lines({"t": 1, "event": "failback", "node": PUB}), 2, "event", "'fallback'"),
    ("event a list", lines({"t": 1, "event": ["ha_enable"]}), 2, "event", "unknown event ["),
    ("missing node", lines({"t": 1, "event": "failover"}), 2, "node", "needs 'node'"),
    ("misspelt field", lines({"t": 1, "event": "failover", "nod": PUB}), 2, "nod", "'node'?"),
    ("a field not taken", lines({**OK_EVENT, "node": PUB}), 2, "node", "takes no 'node'"),
    (
        "a field not taken, named",
        lines({"t": 1, "event": "node_down", "node": PUB, "user": "alice"}),
        2,
        "user",
        "event node_down takes no 'user'; it takes node",
    ),
    ("unknown key", lines({**OK_EVENT, "why": "test"}), 2, "why", "unknown key 'why'"),
    ("unknown node", lines({"t": 1, "event": "failover", "node": "pub"}), 2, "node", "'pub'"),
    ("a node null", lines({"t": 1, "event": "node_up", "node": None}), 2, "node", "node null"),
    (
        "unknown service",
        lines({"t": 1, "event": "service_stop", "node": PUB, "service": "presence"}),
        2,
        "service",
        "unknown service 'presence'",
    ),
    (
        "a service far off",
        lines({"t": 1, "event": "service_start", "node": PUB, "service": "zzz"}),
        2,
        "service",
        "use one of: database, presence_engine, xcp_router, message_archiver",  # the spec's order
    ),
    (
        "missing service",
        lines({"t": 1, "event": "service_stop", "node": PUB}),
        2,
        "service",
        "needs",
    ),
    ("unknown user", lines({"t": 1, "event": "login", "user": "bob"}), 2, "user", "unknown user"),
    # -- observations
    ("observe a list", lines({"t": 1, "observe": []}), 2, "observe", "object of what was seen"),
    ("observe extra key", lines({**observe(), "node": PUB}), 2, "node", "inside 'observe'"),
    ("unknown observe key", lines(observe(session={})), 2, "observe.session", "'sessions'?"),
    ("nodes a list", lines(observe(nodes=[PUB])), 2, "observe.nodes", "maps node names"),
    ("an unknown node", lines(observe(nodes={"x": {}})), 2, "observe.nodes.x", "not one of"),
    ("a node view a list", lines(observe(nodes={PUB: []})), 2, f"nodes.{PUB}", "an object"),
    (
        "an unknown state",
        lines(observe(nodes={PUB: {"state": "Runing in backup mode"}})),
        2,
        f"observe.nodes.{PUB}.state",
        "unknown state 'Runing in backup mode' (fix: did you mean 'Running in Backup Mode'?)",
    ),
    (
        "a state far off",
        lines(observe(nodes={SUB: {"state": "zzz"}})),
        2,
        f"observe.nodes.{SUB}.state",
        "use one of the spec's states: Unknown, Initializing",
    ),
    (
        "an unknown reason",
        lines(observe(nodes={PUB: {"state": "Normal", "reason": "Peer Dwn"}})),
        2,
        f"observe.nodes.{PUB}.reason",
        "did you mean 'Peer Down'?",
    ),
    ("a state number", lines(observe(nodes={PUB: {"state": 1}})), 2, ".state", "a string, not 1"),
    ("a state null", lines(observe(nodes={PUB: {"state": None}})), 2, ".state", "state is null"),
    ("unknown view key", lines(observe(nodes={PUB: {"sate": "x"}})), 2, ".sate", "'state'?"),
    ("users negative", lines(observe(nodes={PUB: {"active_users": -1}})), 2, "active_", ">= 0"),
    ("users a fraction", lines(observe(nodes={PUB: {"assigned_users": 1.5}})), 2, "assig", "1.5"),
    ("users a boolean", lines(observe(nodes={PUB: {"active_users": True}})), 2, "active", "true"),
    ("sessions a list", lines(observe(sessions=[])), 2, "observe.sessions", "maps user ids"),
    ("unknown user", lines(observe(sessions={"bob": None})), 2, "sessions.bob", "unknown user"),
    ("a session elsewhere", lines(observe(sessions={"alice": "x"})), 2, "sessions.alice", "'x'"),
    ("a session a list", lines(observe(sessions={"alice": [PUB]})), 2, "sessions.alice", "not ["),
    ("ha_enabled 1", lines(observe(ha_enabled=1)), 2, "observe.ha_enabled", "not 1"),
    ("ha_enabled null", lines(observe(ha_enabled=None)), 2, "observe.ha_enabled", "is null"),
    ("offered a list", lines(observe(offered=[])), 2, "observe.offered", "actions offered"),
    ("failover a node", lines(observe(offered={"failover": PUB})), 2, "failover", "list of nodes"),
    ("fallback x", lines(observe(offered={"fallback": ["x"]})), 2, "fallback[0]", "unknown node"),
    (
        "fallback twice",
        lines(observe(offered={"fallback": [SUB, SUB]})),
        2,
        "observe.offered.fallback",
        "listed twice",
    ),
    ("recover 0", lines(observe(offered={"recover": 0})), 2, "offered.recover", "true or false"),
    ("offered extra", lines(observe(offered={"failback": []})), 2, "offered.failback", "fallback"),
]


@pytest.mark.parametrize(
    ("text", "line", "path", "message"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_every_rule_is_located(
    spec: Spec, text: str | bytes, line: int, path: str, message: str
) -> None:
    source = io.BytesIO(text) if isinstance(text, bytes) else io.StringIO(text)
    with pytest.raises(TraceError) as caught:
        _, records = read_trace(source, spec, name="t.jsonl")
        deque(records, maxlen=0)
    problems = caught.value.problems
    assert problems, "a TraceError lists its problems"
    first = problems[0]
    assert (first.file, first.line) == ("t.jsonl", line), str(caught.value)
    assert path in first.path, str(caught.value)
    assert message in str(first), str(caught.value)
    assert str(caught.value).startswith(f"t.jsonl:{line}:")


def test_the_memo_reports_the_same_errors(spec: Spec) -> None:
    """Every case above, read with the memo of repeated lines and without it, fails alike."""
    for _, text, *_ in CASES:
        outcomes = []
        for memo in (True, False):
            reader = TraceReader(spec)
            reader._memo = memo
            source = io.BytesIO(text) if isinstance(text, bytes) else io.StringIO(text)
            try:
                _, records = reader.read(source)
                outcomes.append(("ok", list(records)))
            except TraceError as exc:
                outcomes.append(("error", str(exc)))
        assert outcomes[0] == outcomes[1]


def test_a_header_reports_all_its_problems(spec: Spec) -> None:
    text = bad_header(
        nodes=[PUB, PUB], initial="nope", monitored=["x"], params={"keep_alive_timeout_s": -1}
    )
    with pytest.raises(TraceError) as caught:
        read_text(spec, text)
    paths = [p.path for p in caught.value.problems]
    assert paths == ["nodes[1]", "params.keep_alive_timeout_s", "monitored[0]", "initial"]
    assert all(p.line == 1 for p in caught.value.problems)


def test_the_memo_at_its_limits_changes_nothing(spec: Spec) -> None:
    """Long repeated lines that overflow the memo (it starts afresh), then lines that never
    repeat (it gives up): the records are those read without it."""
    users = {f"user{i:03d}": PUB if i % 2 else SUB for i in range(100)}
    header = {**HEADER, "users": users}
    records: list[dict[str, Any] | str] = []
    t = 0
    for _ in range(2):
        for k in range(700):  # 700 distinct lines of ~3,400 characters: over 2,000,000
            t += 1
            seen = {"nodes": {PUB: {"active_users": k}}, "sessions": dict.fromkeys(users, SUB)}
            records.append({"t": t, "observe": seen})
    for k in range(2500):
        t += 1
        records.append({"t": t, "observe": {"nodes": {SUB: {"assigned_users": k}}}})
    text = lines(*records, header=header)
    assert read_text(spec, text) == read_text(spec, text, memo=False)


def test_a_repeated_line_going_back_in_time_is_still_caught(spec: Spec) -> None:
    same = {"nodes": {PUB: {"state": "Normal"}}}
    text = lines({"t": 10, "observe": same}, {"t": 20, "observe": same}, {"t": 15, "observe": same})
    with pytest.raises(TraceError, match="t=15 goes back in time: line 3 has t=20"):
        read_text(spec, text)


# -- the JSON Schema of a line ------------------------------------------------------------------
@pytest.fixture(scope="module")
def line_schema() -> jsonschema.Draft202012Validator:
    schema = load_schema("trace")
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_every_line_the_simulator_writes_fits_the_schema(
    spec: Spec, line_schema: jsonschema.Draft202012Validator
) -> None:
    for path in SCENARIOS:
        for raw in simulator_trace(spec, path).splitlines():
            errors = [e.message for e in line_schema.iter_errors(json.loads(raw))]
            assert errors == [], f"{path.stem}: {raw}"


def test_the_schema_accepts_every_documented_form(
    line_schema: jsonschema.Draft202012Validator,
) -> None:
    documented = [  # the examples of trace-format.md
        {
            "hasm_trace": 1,
            "nodes": [PUB, SUB],
            "users": {"alice": PUB, "bob": SUB},
            "params": {"keep_alive_timeout_s": 90},
            "monitored": ["database", "presence_engine", "xcp_router"],
            "initial": "normal",
            "group": "g",
        },
        {"t": 0, "event": "recover"},
        {"t": 1, "event": "service_stop", "node": PUB, "service": "sip_proxy"},
        {"t": 1.5, "event": "login", "user": "alice"},
        {
            "t": 260,
            "observe": {
                "nodes": {
                    PUB: {
                        "state": "Failed Over with Critical Services not Running",
                        "reason": "Critical Service Down",
                        "assigned_users": 1,
                        "active_users": 0,
                    },
                    SUB: {"state": "Running in Backup Mode"},
                },
                "sessions": {"alice": None, "bob": SUB},
                "ha_enabled": True,
                "offered": {"failover": [], "fallback": [], "recover": False},
            },
        },
        {"t": 261, "observe": {}},
    ]
    for line in documented:
        assert list(line_schema.iter_errors(line)) == [], line


@pytest.mark.parametrize(
    "line",
    [
        {"hasm_trace": 2, "nodes": [PUB, SUB]},
        {"hasm_trace": 1, "nodes": [PUB]},
        {"hasm_trace": 1, "nodes": [PUB, PUB]},
        {"hasm_trace": 1, "nodes": [PUB, SUB], "initial": "up"},
        {"hasm_trace": 1, "nodes": [PUB, SUB], "monitored": ["databse"]},
        {"hasm_trace": 1, "nodes": [PUB, SUB], "extra": 1},
        {"event": "ha_enable"},
        {"t": -1, "event": "ha_enable"},
        {"t": "1", "event": "ha_enable"},
        {"t": True, "event": "ha_enable"},
        {"t": 1, "event": "failback", "node": PUB},
        {"t": 1, "event": "failover"},
        {"t": 1, "event": "ha_enable", "node": PUB},
        {"t": 1, "event": "service_stop", "node": PUB},
        {"t": 1, "event": "login", "user": ""},
        {"t": 1, "event": "ha_enable", "observe": {}},
        {"t": 1},
        {"t": 1, "observe": []},
        {"t": 1, "observe": {"node": {}}},
        {"t": 1, "observe": {"nodes": {PUB: {"state": 1}}}},
        {"t": 1, "observe": {"nodes": {PUB: {"active_users": -1}}}},
        {"t": 1, "observe": {"nodes": {PUB: {"assigned_users": 1.5}}}},
        {"t": 1, "observe": {"nodes": {PUB: {"sate": "Normal"}}}},
        {"t": 1, "observe": {"sessions": {"alice": 1}}},
        {"t": 1, "observe": {"ha_enabled": None}},
        {"t": 1, "observe": {"offered": {"failover": [PUB, PUB]}}},
        {"t": 1, "observe": {"offered": {"recover": "no"}}},
        [1, 2],
        "hasm",
        None,
    ],
    ids=str,
)
def test_the_schema_refuses_malformed_lines(
    line_schema: jsonschema.Draft202012Validator, line: object
) -> None:
    assert list(line_schema.iter_errors(line)) != []
