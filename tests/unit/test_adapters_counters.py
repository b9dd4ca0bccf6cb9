"""`hasm import rtmt-csv` and `perfmon-xml`: the SRMState counter (S6) as RTMT/PerfMon CSV logs
and PerfMon SOAP responses carry it, its codes written as the counter names them (vocabulary
`rtmt`), and every sample that cannot be read reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hasm.adapters import AdapterError, ImportResult, Options, import_files
from hasm.adapters.times import parse_tz

DATA = Path(__file__).parent.parent / "data" / "adapters"
I1, I2 = "imp1.example.net", "imp2.example.net"
COUNTER = "\\\\{}\\Cisco Server Recovery Manager\\SRMState"


def _csv(tmp_path: Path, text: str, **kw: Any) -> ImportResult:
    path = tmp_path / "log.csv"
    path.write_text(text, encoding="utf-8")
    return import_files("rtmt-csv", [str(path)], **kw)


def test_a_pdh_csv_log_gives_a_record_per_row_with_samples() -> None:
    file = str(DATA / "rtmt" / "srmstate.csv")
    result = import_files("rtmt-csv", [file])
    assert result.records == (
        {
            "t": 0,
            "observe": {"nodes": {I1: {"state": "Active Normal"}, I2: {"state": "Active Normal"}}},
            "source": f"{file}:2",
        },
        {"t": 60, "observe": {"nodes": {I1: {"state": "Active Normal"}}}, "source": f"{file}:3"},
        {
            "t": 120,
            "observe": {"nodes": {I1: {"state": "Failing Over"}, I2: {"state": "Taking Over"}}},
            "source": f"{file}:4",
        },
        {
            "t": 180,
            "observe": {
                "nodes": {
                    I1: {"state": "Failed Over Affected Service"},
                    I2: {"state": "Backup Activated"},
                }
            },
            "source": f"{file}:5",
        },
    )
    assert result.header["vocabulary"] == "rtmt"
    assert result.header["start"] == "2021-05-13T02:48:48.244Z"
    assert result.unreadable == ()
    assert result.said == (
        f"{file}: time zone Coordinated Universal Time, bias 0 min, from the header",
    )


def test_the_header_bias_sets_the_zone_and_bad_cells_are_reported() -> None:
    file = str(DATA / "rtmt" / "srmstate-edt.csv")
    result = import_files("rtmt-csv", [file])
    assert result.header["start"] == "2021-05-12T22:48:48.244-04:00"
    assert [str(u) for u in result.unreadable] == [
        f"{file}:3: column 2 (imp1.example.net): '13.000000' is not an SRMState code 0-12",
        f"{file}:4: the first cell 'not a time' is not a time",
    ]


def test_without_a_bias_times_are_read_in_tz(tmp_path: Path) -> None:
    text = f'"Time","{COUNTER.format(I1)}","{COUNTER.format(I2)}"\n"05/13/2021 02:48:48.244","0","12"\n'
    result = _csv(tmp_path, text)
    assert result.header["start"] == "2021-05-13T02:48:48.244Z"
    assert result.records[0]["observe"]["nodes"] == {
        I1: {"state": "Unknown"},
        I2: {"state": "Down State"},
    }
    assert any("no time zone in the header: times are read in --tz (UTC)" in s for s in result.said)
    paris = _csv(tmp_path, text, options=Options(tz=parse_tz("+02:00"), tz_given=True))
    assert paris.header["start"] == "2021-05-13T02:48:48.244+02:00"


def test_every_code_is_read_and_others_are_not(tmp_path: Path) -> None:
    rows = "".join(f'"05/13/2021 02:48:{i:02d}.000","{i}.000000",""\n' for i in range(13))
    bad = '"05/13/2021 02:49:00.000","3.5",""\n"05/13/2021 02:49:01.000","-1",""\n"05/13/2021 02:49:02.000","x",""\n'
    header = f'"(PDH-CSV 4.0) (UTC)(0)","{COUNTER.format(I1)}","{COUNTER.format(I2)}"\n'
    result = _csv(tmp_path, header + rows + bad, nodes=[I1, I2])
    assert [r["observe"]["nodes"][I1]["state"] for r in result.records] == [
        "Unknown",
        "Initializing",
        "Idle",
        "Active Normal",
        "Backup Activated",
        "Taking Over",
        "Taking Back",
        "Failing Over",
        "Failed Over",
        "Failed Over Affected Service",
        "Falling Back",
        "Failed",
        "Down State",
    ]
    assert [u.why.split(": ", 1)[1] for u in result.unreadable] == [
        "'3.5' is not an SRMState code 0-12",
        "'-1' is not an SRMState code 0-12",
        "'x' is not a number",
    ]


def test_a_header_without_the_counter_is_reported(tmp_path: Path) -> None:
    with pytest.raises(AdapterError) as caught:
        _csv(
            tmp_path,
            '"(PDH-CSV 4.0) (UTC)(0)","\\\\a\\Processor\\% CPU"\n"05/13/2021 02:48:48.000","3"\n',
        )
    assert "log.csv:1: the header names no Cisco Server Recovery Manager\\SRMState column" in str(
        caught.value
    )


def test_perfmon_responses_after_time_lines() -> None:
    file = str(DATA / "perfmon" / "responses.txt")
    result = import_files("perfmon-xml", [file], nodes=[I1, I2])
    assert result.records == (
        {"t": 0, "observe": {"nodes": {I1: {"state": "Active Normal"}}}, "source": f"{file}:6"},
        {"t": 60.5, "observe": {"nodes": {I1: {"state": "Failing Over"}}}, "source": f"{file}:21"},
    )
    assert [str(u) for u in result.unreadable] == [
        f"{file}:22: CStatus '2': an invalid sample of imp2.example.net"
    ]
    assert result.said == (f"{file}: times from the time lines before each response",)


def test_perfmon_response_dated_by_its_http_header() -> None:
    file = str(DATA / "perfmon" / "http.txt")
    result = import_files("perfmon-xml", [file])
    assert result.records == (
        {
            "t": 0,
            "observe": {"nodes": {I1: {"state": "Active Normal"}, I2: {"state": "Active Normal"}}},
            "source": f"{file}:6",
        },
    )
    assert result.header["start"] == "2021-05-13T02:48:48.000Z"
    assert result.said == (f"{file}: times from the HTTP Date headers",)


def test_a_dtd_or_entity_is_refused_unparsed() -> None:
    entity, http = str(DATA / "perfmon" / "entity.txt"), str(DATA / "perfmon" / "http.txt")
    result = import_files("perfmon-xml", [entity, http])
    assert [str(u) for u in result.unreadable] == [
        f"{entity}:3: a DTD or entity declaration: refused, the input is untrusted"
    ]
    assert result.header["sources"] == [entity, http]


def test_broken_xml_and_undated_responses_are_located(tmp_path: Path) -> None:
    item = (
        f"<perfmonCollectCounterDataReturn><Name>{COUNTER.format(I1)}</Name><Value>3</Value>"
        "<CStatus>1</CStatus></perfmonCollectCounterDataReturn>"
    )
    text = (
        f"<r>{item}</r>\n"  # no time before it
        "2021-05-13T02:48:48Z\n"
        "<r>\n<unclosed>\n</r>\n"
        "2021-05-13T02:48:49Z\n"
        "<r><nothing/></r>\n"
        "2021-05-13T02:48:50Z\n"
        f"<r>{item}</r>\n"
    )
    path = tmp_path / "x.txt"
    path.write_text(text, encoding="utf-8")
    result = import_files("perfmon-xml", [str(path)], nodes=[I1, I2])
    assert [(u.origin.line, u.why) for u in result.unreadable] == [
        (1, "a response with no time line before it and no HTTP Date header"),
        (5, "not well-formed XML: mismatched tag"),
        (7, "no perfmonCollectCounterDataReturn in the response"),
    ]
    assert [r["source"] for r in result.records] == [f"{path}:9"]


def test_a_bias_beyond_a_day_is_reported_and_tz_used(tmp_path: Path) -> None:
    text = (
        f'"(PDH-CSV 4.0) (Nowhere)(99999)","{COUNTER.format(I1)}","{COUNTER.format(I2)}"\n'
        '"05/13/2021 02:48:48.244","3","3"\n'
    )
    result = _csv(tmp_path, text)
    assert [(u.origin.line, u.why) for u in result.unreadable] == [
        (1, "the header's bias 99999 is not minutes within a day")
    ]
    assert result.header["start"] == "2021-05-13T02:48:48.244Z"
