"""`hasm import syslog` (UC_SRM alarms, S7) and `srm-log` (SRM log lines through a pattern
table, seeded with the seed's one published line)."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from hasm.adapters import AdapterError, ImportResult, Options, import_files
from hasm.adapters.srm_log import MAX_PATTERN, load_patterns

DATA = Path(__file__).parent.parent / "data" / "adapters"
I1, I2 = "imp1.example.net", "imp2.example.net"
SEED = (
    "2021-05-13 02:48:48,244 INFO[HS]rsm.RsmHeartBeatHandler - RsmHeartBeatHandler: peer down, "
    "time since last heartbeat 62 seconds"
)
FAILOVER = (
    "May 13 02:49:50 imp2 local7 2 : 123: imp2.example.net: May 13 2021 02:49:50.123 UTC :  "
    "%UC_SRM-2-SRMFailover: %[FromNode=imp1.example.net][ToNode=imp2.example.net]"
    "[Reason={reason}][AppID=Cisco Server Recovery Manager][ClusterID=StandAloneCluster]"
    "[NodeID=imp2]: Cisco SRM is performing an automatic failover"
)


def _syslog(tmp_path: Path, text: str, **kw: Any) -> ImportResult:
    path = tmp_path / "syslog.log"
    path.write_text(text, encoding="utf-8")
    return import_files("syslog", [str(path)], **kw)


def test_srm_alarms_are_timed_observations_and_others_are_counted() -> None:
    file = str(DATA / "syslog" / "uc_srm.log")
    result = import_files("syslog", [file])
    assert result.records == (
        {
            "t": 0,
            "observe": {
                "nodes": {
                    I1: {"state": "Failing Over", "reason": "Critical Service Down"},
                    I2: {"state": "Taking Over", "reason": "Critical Service Down"},
                }
            },
            "source": f"{file}:1",
        },
        {
            "t": 309.877,
            "observe": {"nodes": {I1: {"state": "Running in Failed Mode"}}},
            "source": f"{file}:3",
        },
    )
    assert result.header["vocabulary"] == "page"
    assert result.header["start"] == "2021-05-13T02:49:50.123Z"
    assert [str(n) for n in result.notes] == [
        f"{file}:2: read, not used: alarm UC_PE-2-PEPeerNodeFailure"
    ]
    assert [str(u) for u in result.unreadable] == [
        f"{file}:4: alarm UC_CALLMANAGER-SomethingElse is not an alarm of SRM or the Presence Engine",
        f"{file}:5: not a syslog line (no 'Mon DD hh:mm:ss host' prefix)",
    ]


def test_a_reason_the_spec_does_not_know_is_not_observed_and_is_said(tmp_path: Path) -> None:
    result = _syslog(tmp_path, FAILOVER.format(reason="Cosmic Rays") + "\n")
    assert result.records[0]["observe"]["nodes"] == {
        I1: {"state": "Failing Over"},
        I2: {"state": "Taking Over"},
    }
    assert "SRMFailover's reason 'Cosmic Rays' is not a reason the spec knows" in str(
        result.notes[0]
    )


def test_a_year_less_line_needs_year(tmp_path: Path) -> None:
    line = (
        "May 13 02:49:50 imp2 local7 2 : 9: %UC_SRM-2-SRMFailed: %[NodeID=imp2]: Cisco Server "
        "Recovery Manager is in the failed state\n"
    )
    with pytest.raises(AdapterError) as caught:
        _syslog(tmp_path, line, nodes=["imp1", "imp2"])
    assert caught.value.problems[0].message == (
        "the syslog prefix has no year and there is no CUCM timestamp: give --year"
    )
    result = _syslog(tmp_path, line, nodes=["imp1", "imp2"], options=Options(year=2021))
    assert result.header["start"] == "2021-05-13T02:49:50.000Z"
    assert result.records[0]["observe"]["nodes"] == {"imp2": {"state": "Running in Failed Mode"}}


def test_a_failover_without_both_nodes_is_unreadable(tmp_path: Path) -> None:
    line = FAILOVER.format(reason="Critical Service Down").replace("[ToNode=imp2.example.net]", "")
    result = _syslog(tmp_path, line + "\n" + FAILOVER.format(reason="Peer Down") + "\n")
    assert [u.why for u in result.unreadable] == [
        "SRMFailover needs two distinct nodes, [FromNode=...] and [ToNode=...]"
    ]
    assert result.records[0]["source"].endswith("syslog.log:2")


def test_the_seed_srm_log_line_is_a_note_not_a_state(tmp_path: Path) -> None:
    file = str(DATA / "srm-log" / "seed.log")
    assert (DATA / "srm-log" / "seed.log").read_text(encoding="utf-8") == SEED + "\n"
    result = import_files("srm-log", [file], nodes=[I1, I2], options=Options(node=I1))
    assert result.records == ()
    assert [str(n) for n in result.notes] == [
        f"{file}:1: read, not used: heartbeat-peer-down: the local SRM declared its peer lost "
        "after 62 s without a heartbeat; what the page shows then depends on the local node's "
        "state (Taking Over only if it was Normal), which the line does not say"
    ]
    assert result.header["start"] == "2021-05-13T02:48:48.244Z"


def _table(tmp_path: Path, patterns: list[dict[str, Any]], **extra: Any) -> Path:
    default = json.loads(files("hasm.adapters").joinpath("srm_patterns.json").read_text("utf-8"))
    table = {**default, "patterns": patterns, **extra}
    path = tmp_path / "patterns.yaml"
    path.write_text(json.dumps(table), encoding="utf-8")
    return path


def test_a_pattern_table_can_observe_the_local_or_the_peer_node(tmp_path: Path) -> None:
    patterns = _table(
        tmp_path,
        [
            {"id": "up", "match": "now Normal", "observe": {"node": "local", "state": "Normal"}},
            {
                "id": "peer",
                "match": "peer down",
                "observe": {"node": "peer", "state": "Unknown", "reason": "Unknown"},
            },
        ],
    )
    log = tmp_path / "srm.log"
    log.write_text(
        SEED + "\n"
        "2021-05-13 02:48:49,000 INFO [main] rsm.Rsm - now Normal\n"
        "2021-05-13 02:48:50,000 INFO [main] rsm.Rsm - something else\n"
        "\tat java.lang.Thread.run(Thread.java:748)\n",
        encoding="utf-8",
    )
    result = import_files(
        "srm-log", [str(log)], nodes=[I1, I2], options=Options(node=I1, patterns=patterns)
    )
    assert [(r["t"], r["observe"]["nodes"]) for r in result.records] == [
        (0, {I2: {"state": "Unknown", "reason": "Unknown"}}),
        (0.756, {I1: {"state": "Normal"}}),
    ]
    assert [n.what for n in result.notes] == ["no pattern of the table matches"]
    assert [(u.origin.line, u.why) for u in result.unreadable] == [
        (4, "not a line of the SRM log's shape (the table's 'line')")
    ]
    with pytest.raises(AdapterError, match="--node: the pattern table observes nodes"):
        import_files("srm-log", [str(log)], nodes=[I1, I2], options=Options(patterns=patterns))


@pytest.mark.parametrize(
    ("patterns", "message"),
    [
        ([{"id": "x", "match": "(", "note": "n"}], "patterns[0].match: not a regex"),
        ([{"id": "x", "match": "a" * (MAX_PATTERN + 1), "note": "n"}], "more than 500"),
        ([{"id": "x", "match": "a"}], "patterns[0]: a pattern has either note or observe"),
        (
            [{"id": "x", "match": "a", "observe": {"node": "local", "state": "Asleep"}}],
            "patterns[0].observe.state: unknown state 'Asleep'",
        ),
        (
            [{"id": "x", "match": "a", "observe": {"node": "nobody", "state": "Normal"}}],
            "patterns[0].observe.node: node is local or peer",
        ),
        (
            [{"id": "x", "match": "a", "note": "n"}, {"id": "x", "match": "b", "note": "n"}],
            "patterns[1].id: id 'x' is used twice",
        ),
        ([{"id": "x", "match": "a", "note": "n", "exec": "rm"}], "patterns[0].exec: unknown key"),
    ],
)
def test_a_bad_pattern_table_is_a_located_error(
    tmp_path: Path, patterns: list[dict[str, Any]], message: str
) -> None:
    table = _table(tmp_path, patterns)
    log = tmp_path / "srm.log"
    log.write_text(SEED + "\n", encoding="utf-8")
    with pytest.raises(AdapterError) as caught:
        import_files(
            "srm-log", [str(log)], nodes=[I1, I2], options=Options(node=I1, patterns=table)
        )
    assert message in str(caught.value)
    assert str(caught.value).startswith(str(table))


def test_a_table_that_is_not_yaml_or_lacks_its_version_is_refused(tmp_path: Path) -> None:
    table = tmp_path / "t.yaml"
    table.write_text("srm_log_patterns: [\n", encoding="utf-8")
    with pytest.raises(AdapterError, match="not a valid JSON or YAML table"):
        load_patterns(table)
    table.write_text("!!python/object/apply:os.system ['true']\n", encoding="utf-8")
    with pytest.raises(AdapterError, match="not a valid JSON or YAML table"):
        load_patterns(table)  # safe_load: no tag constructs anything
    table.write_text("patterns: []\n", encoding="utf-8")
    with pytest.raises(AdapterError, match="srm_log_patterns: a pattern table starts with"):
        load_patterns(table)
