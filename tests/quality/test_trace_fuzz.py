"""Fuzzing the trace reader: whatever the input, records come out or a located TraceError is
raised - never another exception - and the memo of repeated lines changes neither outcome."""

from __future__ import annotations

import io
import json
import math
from typing import Any

from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from hasm.errors import TraceError
from hasm.oracle.clock import ticks
from hasm.spec.model import Spec
from hasm.trace.reader import TraceReader

PUB, SUB = "IMPPub.example.net", "IMPSub.example.net"
HEADER: dict[str, Any] = {
    "hasm_trace": 1,
    "nodes": [PUB, SUB],
    "users": {"alice": PUB, "dave": SUB},
    "initial": "normal",
}
FUZZ = settings(max_examples=examples(200))


def outcome(
    spec: Spec, data: str | bytes, *, memo: bool = True, repeats: bool = False
) -> tuple[str, object]:
    """("records", the records) or ("error", the message); anything else fails the test. With
    `repeats`, read as `hasm check` reads (`read_repeats`), each Repeat made into its record."""
    reader = TraceReader(spec)
    reader._memo = memo
    source = io.BytesIO(data) if isinstance(data, bytes) else io.StringIO(data)
    try:
        if not repeats:
            _, records = reader.read(source, name="fuzz.jsonl")
            return "records", list(records)
        _, items = reader.read_repeats(source, name="fuzz.jsonl")
        made = []
        for item in items:
            if isinstance(item, tuple):
                line, t, ns, content = item
                assert ns is None or ns == ticks(t)
                made.append(content.record(line, t))
            else:
                made.append(item)
        return "records", made
    except TraceError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.file == "fuzz.jsonl"
            assert problem.line is not None
            assert problem.line >= 1
            assert problem.message
        return "error", str(exc)


def both_ways(spec: Spec, data: str | bytes) -> tuple[str, object]:
    """The outcome, which must not depend on the memo of repeated lines."""
    first = outcome(spec, data)
    assert outcome(spec, data, memo=False) == first
    assert outcome(spec, data, repeats=True) == first
    return first


# -- (a) arbitrary bytes as a file -------------------------------------------------------------
HEADER_BYTES = (json.dumps(HEADER) + "\n").encode()


@FUZZ
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes(spec: Spec, data: bytes) -> None:
    both_ways(spec, data)


@FUZZ
@given(
    data=st.lists(
        st.one_of(
            st.binary(max_size=40),
            st.sampled_from(
                [b'{"t": 1, "event": "ha_enable"}', b'{"t": 2, "observe": {}}', b"\xff", b"\r"]
            ),
        ),
        max_size=6,
    )
)
def test_arbitrary_bytes_after_a_header(spec: Spec, data: list[bytes]) -> None:
    both_ways(spec, HEADER_BYTES + b"\n".join(data))


def _text(value: object) -> bool:
    return isinstance(value, str)


# -- (b) arbitrary JSON values as lines --------------------------------------------------------
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 0.5, 1e308, math.nan, math.inf, -math.inf, 10**30]),
    st.text(max_size=12),
    st.sampled_from(["", "t", "event", "observe", "nodes", PUB, SUB, "alice", "Normal"]),
)
KEYS = st.one_of(
    st.text(max_size=8),
    st.sampled_from(
        ["t", "event", "observe", "node", "service", "user", "nodes", "sessions", "hasm_trace"]
    ),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=12,
)


def as_line(value: object) -> str:
    try:
        return json.dumps(value, allow_nan=True)  # writes NaN and Infinity, which JSON has not
    except ValueError:  # an integer of more digits than Python converts: write it by hand
        return "1" + "0" * 5000


@FUZZ
@given(values=st.lists(JSON, min_size=1, max_size=4))
def test_arbitrary_json_lines_after_a_header(spec: Spec, values: list[object]) -> None:
    both_ways(spec, "\n".join([json.dumps(HEADER), *map(as_line, values)]))


@FUZZ
@given(value=JSON, extra=st.dictionaries(KEYS, JSON, max_size=3))
def test_arbitrary_json_as_the_header(spec: Spec, value: object, extra: dict[str, Any]) -> None:
    both_ways(spec, as_line(value) + "\n" + '{"t": 1, "event": "ha_enable"}')
    # mostly a header: the right version and nodes, and anything else
    header = {**HEADER, **extra}
    kind, _ = both_ways(spec, as_line(header) + "\n")
    if set(extra) <= {"group"} and isinstance(extra.get("group", ""), str):
        assert kind == "records"


# -- (c) structured records with wrong values ---------------------------------------------------
# Mostly right values, sometimes anything: so that checks deep inside a record are reached.
def mostly(
    right: list[Any] | st.SearchStrategy[Any], wrong: st.SearchStrategy[Any] = SCALARS
) -> st.SearchStrategy[Any]:
    """One of `right` (a list or a strategy), or one time in eight something from `wrong`."""
    good = right if isinstance(right, st.SearchStrategy) else st.sampled_from(right)
    return st.integers(0, 7).flatmap(lambda k: wrong if k == 0 else good)


NAMES = mostly([PUB, SUB])
USERS = mostly(["alice", "dave"])
LABELS = mostly(["Normal", "normal", "  RUNNING in backup mode", "Peer Down", "Failover", "x"])
COUNTS = st.one_of(st.integers(min_value=-1, max_value=5), st.just(2.0), SCALARS)
EVENTS = mostly(["ha_enable", "failover", "service_stop", "login", "link_down", "node_up", "no"])


def maybe(field: str, values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(st.just({}), values.map(lambda v: {field: v}))


def merged(*parts: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.tuples(*parts).map(lambda ds: {k: v for d in ds for k, v in d.items()})


def rarely(field: str) -> st.SearchStrategy[dict[str, Any]]:
    """Usually nothing; sometimes a key no record has."""
    return mostly([{}], SCALARS.map(lambda v: {field: v}))


EVENT = merged(
    st.builds(lambda e: {"event": e}, EVENTS),
    maybe("node", NAMES),
    maybe("service", mostly(["database", "sip_proxy", "db"])),
    maybe("user", USERS),
    rarely("extra"),
)
NODE_VIEW = merged(
    maybe("state", LABELS),
    maybe("reason", LABELS),
    maybe("assigned_users", COUNTS),
    maybe("active_users", COUNTS),
    rarely("stat"),
)
OFFERED = merged(
    maybe("failover", st.one_of(st.lists(NAMES, max_size=3), NAMES)),
    maybe("fallback", st.one_of(st.lists(NAMES, max_size=3), NAMES)),
    maybe("recover", mostly([True, False])),
    rarely("failback"),
)
OBSERVE = merged(
    maybe("nodes", mostly(st.dictionaries(NAMES.filter(_text), NODE_VIEW, max_size=2))),
    maybe("sessions", mostly(st.dictionaries(USERS.filter(_text), NAMES, max_size=3))),
    maybe("ha_enabled", mostly([True, False])),
    maybe("offered", mostly(OFFERED)),
    rarely("seen"),
)
OBSERVATION = st.builds(lambda o: {"observe": o}, OBSERVE)
TIMES = mostly([None])  # None: the next time in order


@FUZZ
@given(records=st.lists(st.tuples(TIMES, st.one_of(EVENT, OBSERVATION)), min_size=1, max_size=5))
def test_structured_records_with_wrong_values(
    spec: Spec, records: list[tuple[Any, dict[str, Any]]]
) -> None:
    lines = [json.dumps(HEADER)]
    for i, (t, record) in enumerate(records):
        lines.append(as_line({"t": 10 * i if t is None else t, **record}))
    lines += [line.replace('{"t": ', '{"t": 9', 1) for line in lines[1:]]  # the memo's hits
    kind, result = both_ways(spec, "\n".join(lines))
    if kind == "records":
        assert isinstance(result, list)
        assert [r.line for r in result] == list(range(2, len(lines) + 1))
        times = [r.t for r in result]
        assert times == sorted(times)
        assert all(math.isfinite(t) and t >= 0 for t in times)
