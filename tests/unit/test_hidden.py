"""Traces with hidden events (header `hidden`), imported records (`sources`, `source`, `start`)
and their stories (hasm.oracle.story, `hasm explain`): the verdicts at the timer boundaries the
hidden events leave, the bound on faults, every header problem located, and each inferred
event's window exact - the event recorded at its window's ends conforms, a moment outside does
not."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from hasm.cli import main
from hasm.errors import TraceError
from hasm.oracle.files import STORY_RECORDS, check_file, tell_file
from hasm.spec.model import Spec
from hasm.spec.schemas import load_schema
from hasm.trace.reader import TraceReader

A, B = "imp1", "imp2"
WORLD = ["service_stop", "service_start", "node_down", "node_up", "srm_stop", "srm_start"]
WORLD += ["link_down", "link_up"]


def header(**extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"hasm_trace": 1, "nodes": [A, B], "initial": "normal"}
    out["hidden"] = {"events": WORLD, "faults": 1}
    out.update(extra)
    return {k: v for k, v in out.items() if v is not None}


def seen(t: float, a: str, b: str, reason: str | None = None, **extra: Any) -> dict[str, Any]:
    nodes: dict[str, Any] = {A: {"state": a}, B: {"state": b}}
    if reason is not None:
        nodes[A]["reason"] = nodes[B]["reason"] = reason
    return {"t": t, "observe": {"nodes": nodes}, **extra}


def write(path: Path, head: dict[str, Any], *records: dict[str, Any]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in (head, *records)) + "\n")
    return path


CSD = "Critical Service Down"


def failover_at(t: float) -> list[dict[str, Any]]:
    """Normal polls at 0 and 10, then the automatic failover seen at `t`."""
    return [
        seen(0, "Normal", "Normal"),
        seen(10, "Normal", "Normal"),
        seen(t, "Failing Over", "Taking Over", CSD),
    ]


# -- verdicts ---------------------------------------------------------------------------------------
@pytest.mark.slow  # one of the unit tests the quick loop leaves to `make test`
def test_a_failover_nobody_recorded_the_cause_of_conforms_with_hidden_events(
    spec: Spec, tmp_path: Path
) -> None:
    trace = write(tmp_path / "t.jsonl", header(), *failover_at(100))
    assert check_file(spec, trace).status == "conforms"
    plain = write(tmp_path / "plain.jsonl", header(hidden=None), *failover_at(100))
    verdict = check_file(spec, plain)
    assert verdict.status == "diverges" and verdict.divergence is not None
    assert verdict.divergence.line == 4


@pytest.mark.parametrize(("t", "status"), [(89.999, "diverges"), (90, "conforms")])
def test_the_hidden_stop_is_no_earlier_than_the_trace_start(
    spec: Spec, tmp_path: Path, t: float, status: str
) -> None:
    """With only services failing unseen, the stop comes at t=0 at the earliest and the takeover
    90 s after it. (With every fault hidden, imp2 may also have rebooted meanwhile, and an
    initialization that finds imp1's service down fails it over sooner: `hasm explain` tells.)"""
    records = [seen(0, "Normal", "Normal"), seen(t, "Failing Over", "Taking Over", CSD)]
    head = header(hidden={"events": ["service_stop", "service_start"], "faults": 1})
    assert check_file(spec, write(tmp_path / "t.jsonl", head, *records)).status == status


def test_no_fault_may_hide_when_the_bound_is_zero(spec: Spec, tmp_path: Path) -> None:
    trace = write(tmp_path / "t.jsonl", header(hidden={"events": WORLD, "faults": 0}))
    path = trace.with_name("t0.jsonl")
    write(path, json.loads(trace.read_text()), *failover_at(100))
    assert check_file(spec, path).status == "diverges"


def test_only_the_events_named_may_hide(spec: Spec, tmp_path: Path) -> None:
    """Only the link may fail unseen: a service's failover has no cause then."""
    head = header(hidden={"events": ["link_down", "link_up"], "faults": 1})
    assert check_file(spec, write(tmp_path / "t.jsonl", head, *failover_at(100))).status == (
        "diverges"
    )


@pytest.mark.slow  # one of the unit tests the quick loop leaves to `make test`
def test_a_hidden_administrator_action(spec: Spec, tmp_path: Path) -> None:
    """Polls do not show who clicked Failover: named as hidden, it explains On Admin Request."""
    records = [
        seen(0, "Normal", "Normal"),
        seen(5, "Failing Over", "Taking Over", "On Admin Request"),
    ]
    hidden = {"events": ["failover"], "faults": 1}
    assert check_file(
        spec, write(tmp_path / "a.jsonl", header(hidden=hidden), *records)
    ).status == ("conforms")
    assert check_file(spec, write(tmp_path / "b.jsonl", header(), *records)).status == "diverges"


# -- the header ---------------------------------------------------------------------------------------
def problems(spec: Spec, head: dict[str, Any]) -> list[str]:
    text = json.dumps(head) + "\n"
    with pytest.raises(TraceError) as info:
        TraceReader(spec).read(io.StringIO(text), name="h.jsonl")
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize(
    ("hidden", "where", "what"),
    [
        ([], "hidden", "an object of events and faults"),
        ({"events": []}, "hidden.events", "non-empty list"),
        ({"events": ["service_stop", "bogus"]}, "hidden.events[1]", "unknown event 'bogus'"),
        ({"events": ["login"]}, "hidden.events[0]", "names a user"),
        ({"events": ["link_down", "link_down"]}, "hidden.events[1]", "listed twice"),
        ({"events": ["link_down"], "faults": 9}, "hidden.faults", "from 0 to 4"),
        ({"events": ["link_down"], "faults": True}, "hidden.faults", "from 0 to 4"),
        ({"events": ["link_down"], "most": 1}, "hidden.most", "unknown key 'most'"),
    ],
)
def test_a_bad_hidden_key_is_located(spec: Spec, hidden: object, where: str, what: str) -> None:
    found = problems(spec, header(hidden=hidden))
    assert any(p.startswith(f"h.jsonl:1: {where}: ") and what in p for p in found), found


@pytest.mark.parametrize(
    ("key", "value", "what"),
    [
        ("start", 5, "a string"),
        ("start", "yesterday", "not an ISO 8601 time"),
        ("start", "2021-05-13T02:48:48", "has no time zone"),
        ("sources", "status.txt", "lists the files"),
        ("sources", [""], "lists the files"),
        ("initial", "somewhere", "unknown starting point"),
    ],
)
def test_a_bad_import_key_is_located(spec: Spec, key: str, value: object, what: str) -> None:
    found = problems(spec, header(**{key: value}))
    assert any(p.startswith(f"h.jsonl:1: {key}: ") and what in p for p in found), found


def test_the_new_header_keys_are_read(spec: Spec) -> None:
    head = header(start="2021-05-13T02:48:48+02:00", sources=["a.txt"], initial="observed")
    got, _ = TraceReader(spec).read(io.StringIO(json.dumps(head) + "\n"), name="h.jsonl")
    assert got.initial == "observed" and got.sources == ("a.txt",)
    assert got.hidden is not None and got.hidden.faults == 1
    assert got.hidden.events == frozenset(WORLD)
    assert got.start is not None and got.start.utcoffset() is not None


# -- sources --------------------------------------------------------------------------------------------
def test_a_record_source_is_allowed_only_in_an_imported_trace(spec: Spec, tmp_path: Path) -> None:
    record = seen(0, "Normal", "Normal", source="polls.txt:3")
    bad = check_file(spec, write(tmp_path / "a.jsonl", header(), record))
    assert bad.status == "input_error"
    assert "unknown key 'source'" in str(bad.problems[0])
    ok = check_file(spec, write(tmp_path / "b.jsonl", header(sources=["polls.txt"]), record))
    assert ok.status == "conforms"
    wrong = check_file(
        spec, write(tmp_path / "c.jsonl", header(sources=["p"]), {**record, "source": 3})
    )
    assert wrong.status == "input_error" and "source is where the record came from" in str(
        wrong.problems[0]
    )


def test_sourced_lines_read_the_same_through_the_memo(spec: Spec) -> None:
    """The reader's memo looks a poll up without its source: the records are the same."""
    records = [seen(10 * i, "Normal", "Normal", source=f"polls.txt:{i + 1}") for i in range(50)]
    text = "\n".join(json.dumps(r) for r in [header(sources=["polls.txt"]), *records]) + "\n"
    with_memo = TraceReader(spec)
    without = TraceReader(spec)
    without._memo = False
    a = list(with_memo.read(io.StringIO(text), name="t")[1])
    b = list(without.read(io.StringIO(text), name="t")[1])
    assert a == b and len(a) == 50


@pytest.mark.slow  # one of the unit tests the quick loop leaves to `make test`
def test_a_divergence_names_the_source_line(spec: Spec, tmp_path: Path) -> None:
    records = [
        seen(0, "Normal", "Normal", source="polls.txt:1"),
        seen(10, "Idle", "Normal", source="polls.txt:7"),
    ]
    verdict = check_file(spec, write(tmp_path / "t.jsonl", header(sources=["polls.txt"]), *records))
    assert verdict.divergence is not None and verdict.divergence.source == "polls.txt:7"
    assert str(verdict.divergence).startswith(f"{tmp_path / 't.jsonl'}:3 (from polls.txt:7): ")
    assert verdict.to_json()["divergence"]["source"] == "polls.txt:7"


# -- stories ----------------------------------------------------------------------------------------------
@pytest.mark.slow  # one of the unit tests the quick loop leaves to `make test`
def test_the_story_names_the_hidden_stop_and_its_exact_window(spec: Spec, tmp_path: Path) -> None:
    told = tell_file(spec, write(tmp_path / "t.jsonl", header(), *failover_at(100)))
    assert told.divergence is None and told.story.fewest == 1
    stories = {
        (i.event, i.node, i.service, i.earliest, i.latest, i.after)
        for e in told.story.explanations
        for i in e
    }
    # Not the database: its failover says Database Failure. The takeover by t=100 means the
    # 90-s delay started by t=10; the poll at 0 is the trace's start (the stop may be just
    # before it, at t=0: `after` None).
    assert stories == {
        ("service_stop", 0, "presence_engine", 0.0, 10.0, None),
        ("service_stop", 0, "xcp_router", 0.0, 10.0, None),
    }


@pytest.mark.parametrize(
    ("at", "status"), [(0, "conforms"), (10, "conforms"), (10.001, "diverges")]
)
def test_the_inferred_window_is_exact(spec: Spec, tmp_path: Path, at: float, status: str) -> None:
    """The story's event, recorded at a moment of its window, explains the trace with nothing
    hidden; just after it, it does not."""
    polls = failover_at(100)
    stop = {"t": at, "event": "service_stop", "node": A, "service": "presence_engine"}
    records = sorted([*polls, stop], key=lambda r: (r["t"], "event" not in r))
    trace = write(tmp_path / "t.jsonl", header(hidden=None), *records)
    assert check_file(spec, trace).status == status


def test_a_trace_with_nothing_hidden_needs_no_story(spec: Spec, tmp_path: Path) -> None:
    told = tell_file(spec, write(tmp_path / "t.jsonl", header(), seen(0, "Normal", "Normal")))
    assert told.story.explanations == ((),) and told.story.fewest == 0


@pytest.mark.slow  # one of the unit tests the quick loop leaves to `make test`
def test_explain_through_the_command(spec: Spec, tmp_path: Path, capsys: Any) -> None:
    trace = write(tmp_path / "t.jsonl", header(start="2021-05-13T10:00:00Z"), *failover_at(100))
    svg = tmp_path / "t.svg"
    assert main(["explain", str(trace), "--timeline", str(svg)]) == 0
    out = capsys.readouterr().out
    assert "explained by 1 hidden event (the fewest)" in out
    assert "service_stop of presence_engine or xcp_router on imp1, between t=0" in out
    assert "(2021-05-13 10:00:10Z)" in out
    assert 'class="inferred"' in svg.read_text()
    assert main(["explain", str(trace), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["verdict"] == "conforms" and data["hidden_events"] == 1
    assert data["explanations"][0][0]["latest_time"] == "2021-05-13 10:00:10Z"


@pytest.mark.slow  # one of the unit tests the quick loop leaves to `make test`
def test_explain_a_divergent_trace(spec: Spec, tmp_path: Path, capsys: Any) -> None:
    records = [*failover_at(100), seen(101, "Normal", "Normal")]
    trace = write(tmp_path / "t.jsonl", header(), *records)
    assert main(["explain", str(trace)]) == 1
    out = capsys.readouterr().out
    assert "does not conform (3 records); explained up to line 4 by 1 hidden event" in out
    assert f"{trace}:5: t=101: does not conform" in out


def test_explain_bad_input(tmp_path: Path, capsys: Any) -> None:
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"hasm_trace": 1}\n')
    assert main(["explain", str(trace)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"hasm: {trace}:1: nodes: ") and "Traceback" not in err


def test_a_header_against_the_vendors_advice_warns(spec: Spec, tmp_path: Path, capsys: Any) -> None:
    """S3: the lower re-login limit follows the Critical Service Down Delay; a header that sets
    it lower is checked all the same, with a located warning."""
    head = header(params={"client_relogin_lower_limit_s": 60})
    trace = write(tmp_path / "t.jsonl", head, seen(0, "Normal", "Normal"))
    verdict = check_file(spec, trace)
    assert verdict.status == "conforms" and len(verdict.warnings) == 1
    assert verdict.warnings[0].startswith(f"{trace}:1: params: client_relogin_lower_limit_s = 60 s")
    assert main(["check", str(trace)]) == 0
    assert capsys.readouterr().err.startswith(f"hasm: warning: {trace}:1: params: ")
    plain = write(tmp_path / "p.jsonl", header(), seen(0, "Normal", "Normal"))
    assert check_file(spec, plain).warnings == ()


def test_an_imported_trace_fits_the_trace_schema() -> None:
    """The schema editors use knows the optional header keys and the records' `source`."""
    schema = load_schema("trace")
    head = header(start="2021-05-13T02:48:48Z", sources=["polls.txt"], initial="observed")
    head["vocabulary"] = "cli"
    for line in (head, seen(0, "Normal", "Normal", source="polls.txt:3")):
        jsonschema.validate(line, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**head, "hidden": {"events": [], "faults": 1}}, schema)


# -- hasm check tells what must have happened before a divergence -----------------------------------
def test_check_tells_the_story_before_a_divergence(spec: Spec, tmp_path: Path) -> None:
    services = {"events": ["service_stop", "service_start"], "faults": 1}
    head = header(hidden=services)
    # A failover seen at 85 s after the last Normal poll: the crash fits nowhere before it.
    path = write(tmp_path / "t.jsonl", head, *failover_at(15), seen(20, "Normal", "Normal"))
    verdict = check_file(spec, path)
    assert verdict.status == "diverges" and verdict.divergence is not None
    assert verdict.divergence.line == 4
    assert verdict.story[0] == (
        f"{path}: before the divergence, explained up to line 3 by no hidden event"
    )
    assert verdict.to_json()["story"] == list(verdict.story)
    # Nothing hidden: nothing to tell.
    plain = write(tmp_path / "p.jsonl", header(hidden=None), *failover_at(15))
    assert check_file(spec, plain).story == ()


@pytest.mark.slow  # 200 polls checked: a few seconds
def test_check_leaves_a_long_story_to_explain(spec: Spec, tmp_path: Path) -> None:
    polls = [seen(10 * i, "Normal", "Normal") for i in range(STORY_RECORDS + 1)]
    bad = {"t": polls[-1]["t"], "observe": {"ha_enabled": False}}
    path = write(tmp_path / "long.jsonl", header(), *polls, bad)
    verdict = check_file(spec, path)
    assert verdict.status == "diverges"
    assert verdict.story == (
        f"{path}: the story before the divergence is not told after more than {STORY_RECORDS} "
        f"records (it costs up to a second a record): hasm explain {path} tells it",
    )
