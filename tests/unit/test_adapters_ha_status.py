"""`hasm import ha-status`: the CLI reference's published `utils ha status` layouts (S5), read
exactly, and the tolerance the samples call for - wrapped and missing reasons, prompts, time
lines of several shapes, several subclusters - with every line it cannot read reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hasm.adapters import AdapterError, ImportResult, Options, import_files
from hasm.adapters.times import parse_tz
from hasm.oracle.files import check_file
from hasm.spec.loader import load_spec
from hasm.trace.records import encode_line

DATA = Path(__file__).parent.parent / "data" / "adapters"
K, S = "kal-cup1", "shorty-cups"
HIDDEN = {
    "events": [
        "service_stop",
        "service_start",
        "node_down",
        "node_up",
        "srm_stop",
        "srm_start",
        "link_down",
        "link_up",
    ],
    "faults": 1,
}


def _import(tmp_path: Path, text: str, **kw: Any) -> ImportResult:
    path = tmp_path / "status.txt"
    path.write_text(text, encoding="utf-8")
    return import_files("ha-status", [str(path)], **kw)


def _nodes(result: ImportResult) -> list[dict[str, Any]]:
    return [r["observe"]["nodes"] for r in result.records]


@pytest.mark.parametrize(
    ("name", "line", "kal", "shorty", "ha_enabled"),
    [
        (
            "s5-ha-disabled",
            4,
            {"state": "Unknown", "reason": "High Availability Not Enabled"},
            {"state": "Unknown", "reason": "High Availability Not Enabled"},
            False,
        ),
        ("s5-normal", 4, {"state": "Normal"}, {"state": "Normal"}, None),
        (
            "s5-critical-service-down",
            4,
            {
                "state": "Failed Over with Critical Services not Running",
                "reason": "Critical Service Down",
            },
            {"state": "Running in Backup Mode", "reason": "Critical Service Down"},
            None,
        ),
        (
            "s5-failed",
            4,
            {"state": "Failed", "reason": "Critical Service Down"},
            {"state": "Failed", "reason": "Critical Service Down"},
            None,
        ),
    ],
)
def test_each_published_layout_with_a_time_line_is_one_exact_record(
    name: str, line: int, kal: dict[str, str], shorty: dict[str, str], ha_enabled: bool | None
) -> None:
    file = str(DATA / "timed" / f"{name}.txt")
    result = import_files("ha-status", [file])
    observe: dict[str, Any] = {"nodes": {K: kal, S: shorty}}
    if ha_enabled is not None:
        observe["ha_enabled"] = ha_enabled
    assert result.records == ({"t": 0, "observe": observe, "source": f"{file}:{line}"},)
    assert result.unreadable == () and result.notes == ()
    assert result.header["nodes"] == [K, S] and result.header["vocabulary"] == "cli"
    assert result.header["initial"] == "observed" and result.header["hidden"] == HIDDEN
    assert result.header["sources"] == [file]
    assert result.header["group"] == "DefaultCluster"  # the one subcluster the output names


def test_an_accepted_failover_is_the_administrators_event_before_what_it_shows() -> None:
    file = str(DATA / "timed" / "s5-failover.txt")
    result = import_files("ha-status", [file])
    assert result.records == (
        {"t": 0, "event": "failover", "node": S, "source": f"{file}:2"},
        {
            "t": 0,
            "observe": {
                "nodes": {
                    K: {"state": "Taking Over", "reason": "On Admin Request"},
                    S: {"state": "Failover", "reason": "On Admin Request"},
                }
            },
            "source": f"{file}:6",
        },
    )
    assert result.header["nodes"] == [K, S]  # Node 1 first, whatever the command names


def test_a_refused_or_unanswered_admin_command_is_no_event(tmp_path: Path) -> None:
    lines = "Node 1 Name : a State: Normal\nNode 2 Name : b State: Normal\n"
    text = (
        "2021-05-13T02:48:48Z\nadmin: utils ha fallback a\nRequest FAILED.\n"
        + lines
        + "2021-05-13T02:48:49Z\nadmin: utils ha failover b\n"
        + lines
        + "2021-05-13T02:48:50Z\nadmin: utils ha recover DefaultCluster\nRequest SUCCESSFUL.\n"
        + lines
    )
    result = _import(tmp_path, text)
    assert [r.get("event") for r in result.records] == [None, None, "recover", None]
    assert "node" not in result.records[2]
    assert [str(n).split(": ", 1)[1] for n in result.notes] == [
        "read, not used: utils ha fallback with the CLI answered 'Request FAILED.': no "
        "administrator action",
        "read, not used: utils ha failover with no 'Request SUCCESSFUL.': no administrator action",
    ]


def test_a_published_layout_without_a_time_line_is_reported_not_guessed() -> None:
    file = str(DATA / "published" / "s5-normal.txt")
    with pytest.raises(AdapterError) as caught:
        import_files("ha-status", [file], nodes=[K, S])
    assert [str(p) for p in caught.value.problems] == [
        f"{file}:1: a poll with no time line before it: its time is not known",
        f"{file}: no reading with a time: nothing to import",
    ]


def test_the_published_layouts_in_one_transcript_are_ordered_polls(tmp_path: Path) -> None:
    names = ["s5-ha-disabled", "s5-normal", "s5-critical-service-down", "s5-failed"]
    text = "".join((DATA / "timed" / f"{n}.txt").read_text(encoding="utf-8") for n in names)
    result = _import(tmp_path, text)
    assert [r["t"] for r in result.records] == [0, 300, 600, 900]
    assert [r["source"].rsplit(":", 1)[1] for r in result.records] == ["4", "9", "14", "20"]
    assert result.header["start"] == "2021-05-13T02:40:00.000Z"


def test_time_lines_of_every_shape(tmp_path: Path) -> None:
    poll = (
        "admin: utils ha status\nSubcluster Name: G\n"
        "Node 1 Name : a State: Normal Reason: Normal\nNode 2 Name : b State: Normal Reason: Normal\n"
    )
    text = (
        "Thu May 13 02:48:48 UTC 2021\n"
        + poll
        + "2021-05-13T02:48:49.5Z\n"
        + poll
        + "2021-05-13 02:48:50,244\n"
        + poll
        + "[2021-05-13 02:48:51] admin: utils ha status\n"
        + poll.split("\n", 1)[1]
        + "2021-05-13T04:48:52+02:00\n"
        + poll
    )
    result = _import(tmp_path, text)
    assert [r["t"] for r in result.records] == [0, 1.5, 2.244, 3, 4]
    assert result.unreadable == ()
    assert any("times without a zone are read in --tz (UTC)" in s for s in result.said)


def test_a_zone_name_other_than_utc_needs_tz(tmp_path: Path) -> None:
    text = "Thu May 13 02:48:48 EDT 2021\nNode 1 Name : a State: Normal\nNode 2 Name : b State: Normal\n"
    with pytest.raises(AdapterError) as caught:
        _import(tmp_path, text)
    assert [p.message for p in caught.value.problems] == [
        "time zone 'EDT' is ambiguous: give --tz (an offset or a zone name)",
        "a poll with no time line before it: its time is not known",
        "no reading with a time: nothing to import",
    ]
    eastern = Options(tz=parse_tz("-04:00"), tz_given=True)
    result = _import(tmp_path, text, options=eastern)
    assert result.header["start"] == "2021-05-13T02:48:48.000-04:00"


def test_a_wrapped_reason_is_read_from_the_next_line_and_an_empty_one_is_reported(
    tmp_path: Path,
) -> None:
    text = (
        "2021-05-13T02:48:48Z\n"
        "Node 1 Name : a State: Failed Over with Critical Services not Running Reason: \n"
        "   Critical Service Down   \n"
        "Node 2 Name : b State: Running in Backup Mode Reason: \n"
        "2021-05-13T02:48:49Z\n"
        "Node 1 Name : a State: Normal Reason:\n"
        "Tired\n"
        "Node 2 Name : b State: Normal\n"
        "2021-05-13T02:48:50Z\n"
        "Node 1 Name : a State: Normal\n"
        "Node 2 Name : b State: Normal\n"
    )
    result = _import(tmp_path, text)
    assert _nodes(result)[0] == {
        "a": {
            "state": "Failed Over with Critical Services not Running",
            "reason": "Critical Service Down",
        },
        "b": {"state": "Running in Backup Mode"},
    }
    assert [str(u).split(":", 1)[1] for u in result.unreadable] == [
        "4: 'Reason:' is empty and the next line does not continue it",
        "7: reason 'Tired' is not a reason the spec knows",
    ]
    assert _nodes(result)[1:] == [
        {"b": {"state": "Normal"}},
        {"a": {"state": "Normal"}, "b": {"state": "Normal"}},
    ]


def test_unknown_words_and_stray_lines_are_located_and_counted(tmp_path: Path) -> None:
    text = (
        "2021-05-13T02:48:48Z\n"
        "admin: utils ha status\n"
        "Subcluster Name: G\n"
        "Node 1 Name : a State: Sleeping Reason: Normal\n"
        "Node 2 Name : b State: Normal Reason: Tired\n"
        "Executed command unsuccessfully\n"
        "something else\n"
        "admin: show version active\n"
        "2021-02-30T00:00:00Z\n"
        "2021-05-13T02:49:48Z\n"
        "Node 1 Name : a State: Normal\n"
        "Node 2 Name : b State: Normal\n"
    )
    result = _import(tmp_path, text, nodes=["a", "b"])
    assert [(u.origin.line, u.why) for u in result.unreadable] == [
        (4, "state 'Sleeping' is not a CLI state the spec knows"),
        (5, "reason 'Tired' is not a reason the spec knows"),
        (6, "not a line of utils ha status output"),
        (7, "not a line of utils ha status output"),
        (8, "command 'show version active' is not utils ha status"),
        (9, "'2021-02-30T00:00:00Z' is not a valid time: day is out of range for month"),
    ]
    with pytest.raises(AdapterError) as caught:
        _import(tmp_path, text, nodes=["a", "b"], strict=True)
    assert len(caught.value.problems) == 6
    assert str(caught.value.problems[0]).endswith(
        "status.txt:4: state 'Sleeping' is not a CLI state the spec knows"
    )


def test_several_subclusters_need_group(tmp_path: Path) -> None:
    text = (
        "2021-05-13T02:48:48Z\n"
        "admin: utils ha status\n"
        "Subcluster Name: G1\n"
        "Node 1 Name : a State: Normal\n"
        "Node 2 Name : b State: Normal\n"
        "Subcluster Name: G2\n"
        "Node 1 Name : c State: Idle Reason: On Admin Request\n"
        "Node 2 Name : d State: Running in Backup Mode Reason: On Admin Request\n"
    )
    with pytest.raises(AdapterError) as caught:
        _import(tmp_path, text)
    assert str(caught.value).endswith(
        "status.txt:2: --group: the output has several subclusters ('G1', 'G2'): choose one "
        "with --group"
    )
    result = _import(tmp_path, text, group="G2")
    assert _nodes(result) == [
        {
            "c": {"state": "Idle", "reason": "On Admin Request"},
            "d": {"state": "Running in Backup Mode", "reason": "On Admin Request"},
        }
    ]
    assert result.header["group"] == "G2"
    with pytest.raises(
        AdapterError, match=r"--group: no subcluster 'G3' in the file; it has 'G1', 'G2'"
    ):
        _import(tmp_path, text, group="G3")


def test_nodes_orders_the_group_and_names_must_fit(tmp_path: Path) -> None:
    text = "2021-05-13T02:48:48Z\nNode 1 Name : a State: Normal\nNode 2 Name : b State: Normal\n"
    result = _import(tmp_path, text, nodes=["B", "a"])
    assert result.header["nodes"] == ["B", "a"]
    assert list(_nodes(result)[0]) == ["B", "a"]  # case aside, the same node
    with pytest.raises(AdapterError) as caught:
        _import(tmp_path, text, nodes=["a", "c"])
    assert str(caught.value).endswith(
        "status.txt:2: --nodes: node 'b' is not one of --nodes 'a', 'c'"
    )


def test_a_time_line_that_no_poll_follows_is_reported(tmp_path: Path) -> None:
    text = (
        "2021-05-13T02:48:47Z\n2021-05-13T02:48:48Z\n"
        "Node 1 Name : a State: Normal\nNode 2 Name : b State: Normal\n2021-05-13T02:48:49Z\n"
    )
    result = _import(tmp_path, text)
    assert [(u.origin.line, u.why) for u in result.unreadable] == [
        (1, "a time line that no poll follows"),
        (5, "a time line that no poll follows"),
    ]
    assert len(result.records) == 1


def test_the_same_input_gives_the_same_bytes(tmp_path: Path) -> None:
    file = str(DATA / "timed" / "s5-failover.txt")
    assert import_files("ha-status", [file]).text() == import_files("ha-status", [file]).text()


def test_an_imported_manual_failover_conforms_to_the_spec(tmp_path: Path) -> None:
    # The reader of today takes the import's header only once the lead's keys land; until then
    # its observed start is written as "normal" (what the first poll shows) and the records'
    # sources are left out, so that the oracle judges the words and the event themselves.
    text = "".join(
        (DATA / "timed" / f"{n}.txt").read_text(encoding="utf-8")
        for n in ("s5-normal", "s5-failover")
    )
    result = _import(tmp_path, text)
    header = {"hasm_trace": 1, "nodes": result.header["nodes"], "initial": "normal"}
    header["vocabulary"] = result.header["vocabulary"]
    records = [{k: v for k, v in r.items() if k != "source"} for r in result.records]
    trace = tmp_path / "trace.jsonl"
    trace.write_text("".join(encode_line(x) + "\n" for x in [header, *records]), encoding="utf-8")
    assert check_file(load_spec(), trace).status == "conforms"
