"""Trace format v1's values: the lines as written and their one encoding, the records' fast
constructors, and the reader's memo of repeated lines."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from hasm.errors import Problem, TraceError
from hasm.oracle.clock import ticks
from hasm.trace.memo import PLAIN, LineMemo, written_ns
from hasm.trace.records import (
    EventLine,
    HeaderLine,
    NodeObservation,
    ObservationLine,
    OfferedObservation,
    TraceEvent,
    TraceObservation,
    TraceRecord,
    encode_line,
    new_event,
    new_observation,
    param_value,
)

PUB, SUB = "IMPPub.example.net", "IMPSub.example.net"


def test_the_fast_constructors_rely_on_these_fields_in_this_order() -> None:
    assert [f.name for f in fields(TraceEvent)] == [
        "line",
        "t",
        "event",
        "node",
        "service",
        "user",
    ]
    assert [f.name for f in fields(TraceObservation)] == [
        "line",
        "t",
        "nodes",
        "sessions",
        "ha_enabled",
        "offered",
    ]


def test_the_fast_constructors_make_what_the_dataclasses_make() -> None:
    assert new_event(3, 1.5, "service_stop", PUB, "database", None) == TraceEvent(
        3, 1.5, "service_stop", PUB, "database", None
    )
    node = NodeObservation("normal", None, 1, None)
    offered = OfferedObservation(frozenset(), None, False)
    made = new_observation(4, 2.0, {PUB: node}, {"alice": None}, True, offered)
    assert made == TraceObservation(4, 2.0, {PUB: node}, {"alice": None}, True, offered)


def test_a_header_line_has_the_formats_key_order_and_leaves_out_what_is_none() -> None:
    plain = HeaderLine([PUB, SUB], {"alice": PUB}, "normal")
    assert plain.json() == {
        "hasm_trace": 1,
        "nodes": [PUB, SUB],
        "users": {"alice": PUB},
        "initial": "normal",
    }
    full = HeaderLine(
        [PUB, SUB], {}, "ha_disabled", params={"x": 1}, monitored=["database"], group="g"
    )
    assert list(full.json()) == [
        "hasm_trace",
        "nodes",
        "users",
        "params",
        "monitored",
        "initial",
        "group",
    ]


def test_an_event_line_names_only_the_fields_it_has() -> None:
    assert EventLine(10, "ha_enable").json() == {"t": 10, "event": "ha_enable"}
    line = EventLine(2.5, "service_stop", PUB, "database").json()
    assert list(line) == ["t", "event", "node", "service"]
    assert EventLine(1, "login", user="alice").json() == {"t": 1, "event": "login", "user": "alice"}


def test_an_observation_line_holds_what_was_seen() -> None:
    assert ObservationLine(7, {"ha_enabled": True}).json() == {
        "t": 7,
        "observe": {"ha_enabled": True},
    }


def test_param_value_keeps_booleans_and_writes_numbers_plainly() -> None:
    assert param_value(True) is True
    assert param_value(90.0) == 90 and isinstance(param_value(90.0), int)
    assert param_value(0.1234567) == 0.123457


def test_encode_line_is_the_one_layout_of_a_line() -> None:
    text = encode_line(EventLine(0, "login", user="zoë").json())
    assert text == '{"t": 0, "event": "login", "user": "zoë"}'
    assert text.startswith(PLAIN)  # what the reader's memo looks for
    assert "\n" not in encode_line({"t": 1, "observe": {"sessions": {"a\nb": None}}})
    with pytest.raises(ValueError, match="JSON compliant"):
        encode_line({"t": float("nan")})


class _Checker:
    """A stand-in for the reader's checker of records: events only, `t` in time order."""

    def __init__(self) -> None:
        self.last_t, self.last_line = 0.0, 0
        self.sourced = False
        self.checked = 0

    def record(self, obj: Any, line: int) -> TraceRecord:
        self.checked += 1
        if obj.get("event") == "bad" or not self.last_t <= obj["t"]:
            raise TraceError(Problem("t.jsonl", line, "", "bad"))
        self.last_t, self.last_line = float(obj["t"]), line
        return TraceEvent(line, float(obj["t"]), obj["event"], None, None, obj.get("user"))


def _memo() -> tuple[LineMemo, _Checker]:
    checker = _Checker()
    return LineMemo(checker, json.JSONDecoder().decode), checker


def test_a_repeated_line_is_made_again_without_being_checked_again() -> None:
    memo, checker = _memo()
    first = memo.record('{"t": 1, "event": "login", "user": "alice"}', 2)
    again = memo.record('{"t": 2.5, "event": "login", "user": "alice"}', 3)
    assert first == TraceEvent(2, 1.0, "login", None, None, "alice")
    assert again == TraceEvent(3, 2.5, "login", None, None, "alice")
    assert checker.checked == 1
    assert (checker.last_t, checker.last_line) == (2.5, 3)


def test_the_memo_leaves_the_unusual_and_the_bad_to_the_ordinary_way() -> None:
    memo, checker = _memo()
    assert memo.record('{"t": 1e3, "event": "login"}', 2) is None  # an exponent
    assert memo.record('{"event": "login", "t": 1}', 3) is None  # another layout
    assert memo.record('{"t": 1, "event": "bad"}', 4) is None  # a problem
    assert (checker.last_t, checker.last_line) == (0.0, 0)  # as before the problem
    assert memo.record('{"t": 5, "event": "login"}', 5) is not None
    assert memo.record('{"t": 4, "event": "login"}', 6) is None  # back in time
    assert memo.table is not None and len(memo.table) == 1


def test_the_memo_gives_up_on_a_trace_that_rarely_repeats(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("hasm.trace.memo._MEMO_TRIAL", 5)
    memo, _ = _memo()
    for line in range(2, 30):  # after line 1, the header: every line a miss
        memo.record(f'{{"t": {line}, "event": "e{line}"}}', line)
    assert memo.table is None
    assert memo.record('{"t": 30, "event": "e2"}', 30) is None


# -- a time read off its digits ------------------------------------------------------------------
@settings(max_examples=examples(300))
@given(
    whole=st.integers(0, 10**15 - 1),
    decimals=st.integers(0, 9),
    fraction=st.integers(0, 10**9 - 1),
)
def test_a_time_in_ns_read_off_its_digits_is_what_the_oracle_makes_of_its_float(
    whole: int, decimals: int, fraction: int
) -> None:
    text = str(whole) + (f".{fraction % 10**decimals:0{decimals}d}" if decimals else "")
    found = written_ns(text.encode())
    if len(text.replace(".", "")) > 15:
        assert found is None  # beyond 15 digits a float may not keep the decimal
    else:
        assert found == ticks(float(text))


@pytest.mark.parametrize(
    "text",
    ["", ".", "1.", ".5", "01", "00.5", "-1", "+1", "1_0", " 1", "1e3", "1.0000000001", "١٢"],
)
def test_a_time_read_off_its_digits_is_only_a_plain_number(text: str) -> None:
    assert written_ns(text.encode()) is None


def test_a_sourced_line_is_remembered_without_its_source_only_as_json_reads_it() -> None:
    checker = _Checker()
    checker.sourced = True
    memo = LineMemo(checker, json.JSONDecoder().decode)
    line = '{"t": 1, "event": "login", "user": "a", "source": "polls.txt:%d"}'
    assert memo.record(line % 1, 2) is not None
    assert memo.record(line % 2, 3) is not None and checker.checked == 1  # the same rest
    assert memo.record((line % 3) + "\x0c\n", 4) is None  # not JSON's white space
    accented = memo.record(line.replace("polls", "pollé") % 4, 5)  # decoded, not cut:
    assert accented is not None and checker.checked == 2
    assert memo.record((line % 5).encode()[:-3] + b'\xff"}', 6) is None  # not UTF-8
