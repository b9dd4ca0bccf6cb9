"""What every import shares: readings of several files in one time order, seconds since the
first reading rounded to exact milliseconds, node names settled, the header, and the errors of
an import that cannot be made."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from hasm.adapters import AdapterError, import_files
from hasm.adapters.building import seconds_since
from hasm.adapters.times import BadTime, format_start, parse_tz, read_time
from hasm.errors import InputError

POLL = "{time}\nNode 1 Name : {a} State: {sa}\nNode 2 Name : {b} State: {sb}\n"


def _poll(time: str, sa: str = "Normal", sb: str = "Normal", a: str = "a", b: str = "b") -> str:
    return POLL.format(time=time, a=a, b=b, sa=sa, sb=sb)


def _files(tmp_path: Path, *texts: str) -> list[str]:
    out = []
    for i, text in enumerate(texts):
        path = tmp_path / f"f{i}.txt"
        path.write_text(text, encoding="utf-8")
        out.append(str(path))
    return out


def test_readings_of_several_files_are_in_one_stable_time_order(tmp_path: Path) -> None:
    files = _files(
        tmp_path,
        _poll("2021-05-13T02:48:50Z") + _poll("2021-05-13T02:48:48Z", "Idle"),
        _poll("2021-05-13T02:48:48Z", "Failed") + _poll("2021-05-13T02:48:49Z"),
    )
    result = import_files("ha-status", files)
    assert [(r["t"], r["source"]) for r in result.records] == [
        (0, f"{files[0]}:5"),  # the same time as the next: file order, then line order
        (0, f"{files[1]}:2"),
        (1, f"{files[1]}:5"),
        (2, f"{files[0]}:2"),
    ]
    # Two readings at one time that disagree stay two records: the oracle judges them.
    assert [r["observe"]["nodes"]["a"]["state"] for r in result.records[:2]] == ["Idle", "Failed"]
    assert result.header["sources"] == files


def test_times_are_exact_milliseconds() -> None:
    start = datetime(2021, 5, 13, 2, 48, 48, 244000, tzinfo=UTC)
    assert seconds_since(start, start) == 0
    assert seconds_since(start, start + timedelta(seconds=62)) == 62
    assert seconds_since(start, start + timedelta(microseconds=100_100)) == 0.1
    assert seconds_since(start, start + timedelta(microseconds=1_999_600)) == 2
    assert repr(seconds_since(start, start + timedelta(milliseconds=300_001))) == "300.001"
    eastern = datetime(2021, 5, 12, 22, 48, 49, 244000, tzinfo=timezone(timedelta(hours=-4)))
    assert seconds_since(start, eastern) == 1  # zones apart, one second later


def test_read_time_shapes_and_refusals() -> None:
    read = read_time("Thu May 13 02:48:48 UTC 2021", UTC, False)
    assert read is not None and read.at == datetime(2021, 5, 13, 2, 48, 48, tzinfo=UTC)
    read = read_time("2021-05-13 02:48:48,244", parse_tz("+05:30"), True)
    assert read is not None and format_start(read.at) == "2021-05-13T02:48:48.244+05:30"
    assert read_time("admin: utils ha status", UTC, False) is None
    with pytest.raises(BadTime, match="is not a valid time"):
        read_time("2021-13-01T00:00:00Z", UTC, False)
    with pytest.raises(BadTime, match="is outside the calendar in UTC"):
        read_time("9999-12-31T23:59:59-23:00", UTC, False)  # comparing it would overflow
    with pytest.raises(BadTime, match="unknown time zone 'Mars/Olympus'"):
        parse_tz("Mars/Olympus")
    assert format_start(datetime(2021, 5, 13, tzinfo=UTC)) == "2021-05-13T00:00:00.000Z"
    assert format_start(datetime(2021, 5, 13, 0, 0, 0, 1, tzinfo=UTC)).endswith(".000001Z")


def test_a_name_written_with_or_without_its_domain_is_one_node(tmp_path: Path) -> None:
    files = _files(
        tmp_path,
        _poll("2021-05-13T02:48:48Z", a="imp1.example.net", b="imp2.example.net")
        + _poll("2021-05-13T02:48:49Z", a="IMP1", b="imp2"),
    )
    result = import_files("ha-status", files)
    assert result.header["nodes"] == ["imp1.example.net", "imp2.example.net"]
    assert [list(r["observe"]["nodes"]) for r in result.records] == [
        ["imp1.example.net", "imp2.example.net"]
    ] * 2


def test_more_than_two_nodes_or_fewer_than_two_are_errors(tmp_path: Path) -> None:
    three = _files(tmp_path, _poll("2021-05-13T02:48:48Z") + _poll("2021-05-13T02:48:49Z", b="c"))
    with pytest.raises(AdapterError) as caught:
        import_files("ha-status", three)
    assert str(caught.value) == (
        f"{three[0]}:5: the input names more than two nodes ('a', 'b', 'c'): a trace is one "
        "redundancy group; give --nodes N1,N2"
    )
    one = _files(tmp_path, "2021-05-13T02:48:48Z\nNode 1 Name : a State: Normal\n")
    with pytest.raises(AdapterError) as caught:
        import_files("ha-status", one)
    assert str(caught.value) == f"{one[0]}: --nodes: the input names only 'a': give --nodes N1,N2"
    result = import_files("ha-status", one, nodes=["a", "z"])
    assert result.header["nodes"] == ["a", "z"]


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"nodes": ["a", "a"]}, "(import): --nodes: two distinct node names, not ['a', 'a']"),
        ({"hidden_faults": -1}, "(import): --hidden-faults: a count >= 0"),
        ({"params": {"keep_alive_timout_s": 90.0}}, "keep_alive_timout_s"),
    ],
)
def test_bad_options_are_located_errors(
    tmp_path: Path, kw: dict[str, object], message: str
) -> None:
    files = _files(tmp_path, _poll("2021-05-13T02:48:48Z"))
    with pytest.raises(InputError) as caught:  # AdapterError, or the spec's ParameterError
        import_files("ha-status", files, **kw)  # type: ignore[arg-type]
    assert message in str(caught.value)


def test_the_header_carries_params_faults_and_group(tmp_path: Path) -> None:
    files = _files(tmp_path, _poll("2021-05-13T02:48:48Z"))
    result = import_files(
        "ha-status", files, params={"keep_alive_timeout_s": 90.0}, hidden_faults=2
    )
    assert list(result.header) == [
        "hasm_trace",
        "nodes",
        "params",
        "initial",
        "hidden",
        "start",
        "sources",
        "vocabulary",
    ]
    assert result.header["params"] == {"keep_alive_timeout_s": 90}
    assert result.header["hidden"]["faults"] == 2


def test_unknown_format_and_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(AdapterError, match="unknown format 'csv'; use one of ha-status"):
        import_files("csv", ["x"])
    with pytest.raises(AdapterError) as caught:
        import_files("ha-status", [str(tmp_path / "missing.txt")])
    assert str(caught.value).endswith(
        "missing.txt: cannot read the file: No such file or directory"
    )
    with pytest.raises(AdapterError, match="no file to import"):
        import_files("ha-status", [])


def test_lines_that_are_not_text_are_reported_each(tmp_path: Path) -> None:
    path = tmp_path / "bin.txt"
    path.write_bytes(
        _poll("2021-05-13T02:48:48Z").encode()
        + b"\xff\xfe junk\n"
        + b"a\x00b\n"
        + b"x" * 70000
        + b"\n"
    )
    result = import_files("ha-status", [str(path)])
    assert [(u.origin.line, u.why) for u in result.unreadable] == [
        (4, "the line is not UTF-8 text (byte 0xff)"),
        (5, "the line has a NUL character: not text output"),
        (6, "the line is 70000 bytes long, more than 65536"),
    ]
    assert len(result.records) == 1
