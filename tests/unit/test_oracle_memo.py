"""The oracle's exact time and its memo of steps: times are integer nanoseconds, so bounds are
met exactly whatever the decimals, and a step remembered by the candidates' shape relative to
now gives exactly what exploring again would - verdicts, lines and reports alike."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from test_oracle import FAILED_CSNR, draw_trace, dump, normal_oracle, parse

from hasm.core.model import Model
from hasm.errors import ConformanceError, InputError, Problem
from hasm.oracle.files import check_file
from hasm.oracle.oracle import Oracle
from hasm.oracle.report import Divergence
from hasm.sim.simulator import Simulator
from hasm.spec.model import Spec
from hasm.trace.reader import TraceReader, read_trace
from hasm.trace.writer import TraceWriter

PUB, SUB = "IMPPub.example.net", "IMPSub.example.net"


def verdict(spec: Spec, text: str, *, memo: bool) -> tuple[Divergence | None, Oracle]:
    header, records = read_trace(io.StringIO(text), spec, name="trace.jsonl")
    oracle = Oracle.from_header(spec, header, memo=memo)
    try:
        for record in records:
            oracle.record(record)
    except ConformanceError as exc:
        return exc.divergence, oracle
    return None, oracle


def same_with_and_without_memo(spec: Spec, text: str) -> tuple[Divergence | None, Oracle]:
    found, oracle = verdict(spec, text, memo=True)
    direct, _ = verdict(spec, text, memo=False)
    assert (str(found) if found else None) == (str(direct) if direct else None)
    return found, oracle


# -- exact bounds whatever the decimals ------------------------------------------------------------
# 2.058 + 90 is 92.05799999999999 in floats, and 2.067 + 90 is 92.06700000000001: either would
# put a record at the exact deadline on the wrong side of it.
@pytest.mark.parametrize("start", [2.058, 2.067, 100.1])
def test_a_timer_may_fire_or_not_at_exactly_its_decimal_deadline(spec: Spec, start: float) -> None:
    fired_at = float(f"{start + 90:.3f}")
    not_yet = normal_oracle(spec)
    not_yet.event(start, "service_stop", "pub", "presence_engine")
    not_yet.observe(fired_at, nodes={"pub": {"state": "Normal"}})  # still unfired at its deadline
    fired = normal_oracle(spec)
    fired.event(start, "service_stop", "pub", "presence_engine")
    fired.observe(fired_at, nodes={"pub": {"state": "Failing Over"}})  # or fired right then
    with pytest.raises(ConformanceError):
        fired.observe(fired_at + 0.001, nodes={"pub": {"state": "Normal"}})
    too_early = normal_oracle(spec)
    too_early.event(start, "service_stop", "pub", "presence_engine")
    with pytest.raises(ConformanceError):
        too_early.observe(fired_at - 0.001, nodes={"pub": {"state": "Failing Over"}})


def test_times_beyond_a_million_seconds_are_read_exactly_too(spec: Spec) -> None:
    oracle = normal_oracle(spec)
    oracle.event(3_000_000.058, "service_stop", "pub", "presence_engine")
    oracle.observe(3_000_090.058, nodes={"pub": {"state": "Normal"}})
    oracle.observe(3_000_090.058, nodes={"pub": {"state": "Failing Over"}})
    assert oracle.now == 3_000_090.058


# -- the memo: a cycle of failovers repeated ---------------------------------------------------------
def cycles(spec: Spec, count: int, users: int = 4) -> list[dict[str, Any]]:
    """`count` cycles of failover, re-logins, fallback and re-logins, each shifted to start
    where the previous ended, as JSON objects (index 0 is the header): a trace that repeats."""
    model = Model(spec)
    homes = {f"user{i}": PUB if i % 2 else SUB for i in range(users)}
    sim = Simulator(model, (PUB, SUB), homes, "normal", seed=3)
    out = io.StringIO()
    writer = TraceWriter(out, model, (PUB, SUB), homes, "normal", model.params)
    writer.start(sim.config)
    t = 10.0
    for event in ("failover", "fallback"):
        for record in sim.run_until(t):
            writer.record(record)
        writer.record(sim.event(event, node=PUB))
        t += 700.0
    for record in sim.run_until(t):
        writer.record(record)
    text = out.getvalue()
    length = t + 0.25
    lines = parse(text)[:1]
    for k in range(count):  # a fresh copy of the cycle each time, to mutate one alone
        lines += [{**r, "t": round(r["t"] + k * length, 3)} for r in parse(text)[1:]]
    return lines


def test_a_repeating_trace_is_checked_from_the_memo_after_its_first_cycle(spec: Spec) -> None:
    lines = cycles(spec, 6)
    found, oracle = same_with_and_without_memo(spec, dump(lines))
    assert found is None
    per_cycle = (len(lines) - 1) // 6
    assert oracle._hits >= 4 * per_cycle  # every record of the later cycles, nearly


@pytest.mark.parametrize(
    "mutate",
    [
        "state",  # an observation of a later cycle shows another state
        "early",  # a record of a later cycle comes earlier than the spec allows
        "dropped",  # an event of a later cycle is left out
    ],
)
def test_a_divergence_in_a_later_cycle_is_found_at_its_line(spec: Spec, mutate: str) -> None:
    lines = cycles(spec, 5)
    per_cycle = (len(lines) - 1) // 5
    fourth = range(3 * per_cycle + 1, 4 * per_cycle + 1)
    if mutate == "state":
        at = next(
            i
            for i in fourth
            if lines[i].get("observe", {}).get("nodes", {}).get(PUB, {}).get("state") == "Idle"
        )
        lines[at]["observe"]["nodes"][PUB]["state"] = FAILED_CSNR
    elif mutate == "early":
        # the first client back on the subscriber, seen half a second before any may re-login
        failover = next(i for i in fourth if lines[i].get("event") == "failover")
        at = next(
            i
            for i in fourth
            if lines[i].get("observe", {}).get("nodes", {}).get(SUB, {}).get("active_users") == 3
        )
        lines[at]["t"] = lines[failover]["t"] + 119.5  # client_relogin_lower_limit_s = 120 s
        assert lines[at - 1]["t"] <= lines[at]["t"]
    else:
        dropped = next(i for i in fourth if lines[i].get("event") == "fallback")
        del lines[dropped]
        at = dropped  # the observation after it no longer fits
    found, _ = same_with_and_without_memo(spec, dump(lines))
    assert found is not None
    assert found.line == at + 1
    fast = fast_and_slow(spec, dump(lines))["divergence"]
    assert {**fast, "file": "trace.jsonl"} == found.to_json()


def test_the_memo_stays_within_its_size(spec: Spec, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("hasm.oracle.oracle._MEMO_SIZE", 7)
    lines = cycles(spec, 4)
    found, oracle = same_with_and_without_memo(spec, dump(lines))
    assert found is None
    assert oracle._memo is not None and len(oracle._memo) <= 7


def test_a_trace_that_never_repeats_turns_the_memo_off(
    spec: Spec, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("hasm.oracle.oracle._MEMO_TRIAL", 10)
    oracle = normal_oracle(spec)
    header = {"hasm_trace": 1, "nodes": ["pub", "sub"], "initial": "normal"}
    header["users"] = {"alice": "pub", "bob": "pub", "dave": "sub"}
    text = (
        json.dumps(header)
        + "\n"
        + "".join(
            json.dumps({"t": k * 1.5 + k * k * 0.001, "observe": {"ha_enabled": True}}) + "\n"
            for k in range(40)
        )
    )
    found, oracle = verdict(spec, text, memo=True)
    assert found is None
    assert oracle._memo is None  # every gap differs: nothing to remember


# -- the memo changes nothing: random traces, repeated and mutated -----------------------------------
@settings(max_examples=examples(60))
@given(data=st.data())
def test_the_memo_gives_what_exploring_again_gives(spec: Spec, data: st.DataObject) -> None:
    header, *records = parse(draw_trace(data, spec))
    if not records:
        return
    # The run twice over, the second copy shifted: the same steps at other times. Whether the
    # second copy conforms depends on where the first ended; the two oracles must agree on it.
    shift = data.draw(st.sampled_from([0.0, 1.0, 2500.5, 10_000.125]), label="shift")
    end = records[-1]["t"] + shift
    lines = [header, *records, *({**r, "t": round(r["t"] + end, 3)} for r in records)]
    if data.draw(st.booleans(), label="mutate"):
        i = data.draw(st.integers(1, len(lines) - 1), label="line")
        record = lines[i]
        if "observe" in record and record["observe"].get("nodes"):
            node = data.draw(st.sampled_from(sorted(record["observe"]["nodes"])), label="node")
            record["observe"]["nodes"][node]["state"] = data.draw(
                st.sampled_from(["Normal", "Idle", "Running in Backup Mode", FAILED_CSNR])
            )
        else:
            earlier = lines[i - 1]["t"] if i > 1 else 0.0
            record["t"] = data.draw(st.sampled_from([earlier, round(record["t"] + 0.5, 3)]))
            lines = [*lines[:i], *sorted(lines[i:], key=lambda r: r["t"])]
    same_with_and_without_memo(spec, dump(lines))


# -- `hasm check`'s fast path changes nothing ------------------------------------------------------
def every_line_read(spec: Spec, path: Path) -> dict[str, Any]:
    """What check_file says of `path`, the slow way: every line decoded and checked by the
    reader (no memo of lines), every record explored by the oracle (no memo of steps)."""
    reader = TraceReader(spec)
    reader._memo = False
    checked, out = 0, {"verdict": "conforms"}
    try:
        header, records = reader.read(path, name=str(path))
        oracle = Oracle.from_header(spec, header, memo=False)
        for record in records:
            oracle.record(record)
            checked += 1
    except ConformanceError as exc:
        out = {"verdict": "diverges", "divergence": exc.divergence.to_json()}
    except InputError as exc:
        out = {"verdict": "input_error", "problems": [str(p) for p in exc.problems]}
    return {**out, "records": checked}


def fast_and_slow(spec: Spec, text: str | bytes) -> dict[str, Any]:
    """check_file's verdict (read as bytes, repeated lines as Repeats, the memo of steps keyed on
    them), which must be what reading every line gives."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "trace.jsonl"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        verdict = check_file(spec, path).to_json()
        slow = every_line_read(spec, path)
    fast = {k: verdict[k] for k in ("verdict", "records", "divergence") if k in verdict}
    if "problems" in verdict:
        fast["problems"] = [
            str(Problem(p["file"], p["line"], p["field"], p["message"], p["fix"]))
            for p in verdict["problems"]
        ]
    assert fast == slow
    return fast


@pytest.mark.parametrize("mutate", ["bad time", "bad line", "none"])
def test_check_file_reports_a_bad_line_of_a_repeating_trace_as_reading_every_line_does(
    spec: Spec, mutate: str
) -> None:
    lines = cycles(spec, 4)
    at = 3 * (len(lines) - 1) // 4 + 2  # in the last cycle, its lines all seen before but for t
    text = dump(lines)
    if mutate == "bad time":  # a number neither the memo nor JSON takes
        text = text.replace(dump([lines[at]]), dump([{**lines[at], "t": 0}]).replace("0", "1_0", 1))
    elif mutate == "bad line":
        text = text.replace(dump([lines[at]]), dump([lines[at]])[:-3] + "\n")
    found = fast_and_slow(spec, text)
    if mutate == "none":
        assert found == {"verdict": "conforms", "records": len(lines) - 1}
    else:
        assert found["verdict"] == "input_error" and found["records"] == at - 1
        assert f"trace.jsonl:{at + 1}:" in found["problems"][0]


@settings(max_examples=examples(60))
@given(data=st.data())
def test_check_file_gives_what_reading_every_line_gives(spec: Spec, data: st.DataObject) -> None:
    header, *records = parse(draw_trace(data, spec))
    if not records:
        return
    # The run three times over, shifted past a million seconds (times read off their digits)
    # and by odd decimals, perhaps mutated: repeated lines at other times, and what breaks them.
    shift = data.draw(st.sampled_from([0.0, 2500.5, 1_000_000.125, 123_456_789.0625]))
    lines = [header, *records]
    for _copy in (1, 2):
        end = lines[-1]["t"] + shift
        lines += [{**r, "t": round(r["t"] + end, 4)} for r in records]
    if data.draw(st.booleans(), label="mutate"):
        i = data.draw(st.integers(1, len(lines) - 1), label="line")
        record = lines[i]
        if "observe" in record and record["observe"].get("nodes"):
            node = data.draw(st.sampled_from(sorted(record["observe"]["nodes"])), label="node")
            record["observe"]["nodes"][node]["state"] = data.draw(
                st.sampled_from(["Normal", "Idle", "Running in Backup Mode", FAILED_CSNR])
            )
        else:
            earlier = lines[i - 1]["t"] if i > 1 else 0.0
            record["t"] = data.draw(st.sampled_from([earlier, round(record["t"] + 0.5, 3)]))
            lines = [*lines[:i], *sorted(lines[i:], key=lambda r: r["t"])]
    fast_and_slow(spec, dump(lines))
