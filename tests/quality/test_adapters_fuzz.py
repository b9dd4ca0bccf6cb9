"""Fuzzing the importers: whatever the bytes - arbitrary, not UTF-8, truncated fixtures, their
lines reordered, duplicated and interleaved - each format gives a result whose unreadable lines
and records are located in the file, or a located InputError; never another exception. Through
the CLI: exit 0 or 2, one-line messages, no traceback, and no output file after an error."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from hasm.adapters import FORMATS, ImportResult, Options, import_files
from hasm.cli import main
from hasm.errors import InputError

DATA = Path(__file__).parent.parent / "data" / "adapters"
FIXTURES = {
    "ha-status": sorted((DATA / "timed").glob("*.txt"))
    + sorted((DATA / "published").glob("*.txt")),
    "rtmt-csv": sorted((DATA / "rtmt").glob("*.csv")),
    "perfmon-xml": sorted((DATA / "perfmon").glob("*.txt")),
    "syslog": sorted((DATA / "syslog").glob("*.log")),
    "srm-log": sorted((DATA / "srm-log").glob("*.log")),
}
LINES = {
    fmt: sorted({line for path in paths for line in path.read_bytes().splitlines(keepends=True)})
    for fmt, paths in FIXTURES.items()
}
NODES = ("imp1.example.net", "imp2.example.net")
OPTIONS = Options(node=NODES[0], year=2021)
WORK = Path(tempfile.mkdtemp(prefix="hasm-import-fuzz-"))
FUZZ = settings(max_examples=examples(150), deadline=None)

formats = st.sampled_from(sorted(FORMATS))
# Lines with a time's shape and any digits: months, days, years and offsets out of range.
times = st.one_of(
    st.from_regex(
        r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,6})?(?:Z|[+-]\d\d:\d\d)?", fullmatch=True
    ),
    st.from_regex(
        r"(?:Mon|Thu) [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d (?:UTC|EDT|[+-]\d{4}) \d{4}", fullmatch=True
    ),
    st.from_regex(
        r'"\(PDH-CSV 4\.0\) \(Z\)\(-?\d{1,7}\)","\\\\a\\Cisco Server Recovery Manager\\SRMState"',
        fullmatch=True,
    ),
    st.from_regex(r'"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d\.\d{3}","\d{1,2}(?:\.\d+)?"', fullmatch=True),
    st.from_regex(
        r"Date: \w{3}, \d\d \w{3} \d{1,6} \d\d:\d\d:\d\d (?:GMT|[+-]\d{4})", fullmatch=True
    ),
    st.from_regex(
        r"[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d h x : 1: h.x: "
        r"[A-Z][a-z]{2} \d\d \d{4} \d\d:\d\d:\d\d\.\d{3} (?:UTC|[+-]\d{4}) :  "
        r"%UC_SRM-2-SRMFailed: %\[NodeID=h\]: x",
        fullmatch=True,
    ),
).map(lambda line: (line + "\n").encode())
noise = st.sampled_from(
    [
        b"\n",
        b"\r\n",
        b"\xff\xfe\n",
        b"admin:\n",
        b"<!DOCTYPE x>\n",
        b"Reason: \n",
        b"\x00\n",
        b"]\n",
    ]
)


def outcome(fmt: str, data: bytes, *, nodes: tuple[str, str] | None = NODES) -> str:
    """ "result" or "error" after checking that what it says is located in the file."""
    path = WORK / f"input.{fmt}"
    path.write_bytes(data)
    lines = data.count(b"\n") + 1
    try:
        result = import_files(fmt, [str(path)], nodes=nodes, options=OPTIONS)
    except InputError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.file and problem.message
            assert "\n" not in str(problem)
            assert problem.line is None or 1 <= problem.line <= lines
        return "error"
    _check(result, str(path), lines)
    again = import_files(fmt, [str(path)], nodes=nodes, options=OPTIONS)
    assert again.text() == result.text()  # the same input, the same bytes
    return "result"


def _check(result: ImportResult, file: str, lines: int) -> None:
    for bad in result.unreadable:
        assert bad.origin.file == file and 1 <= bad.origin.line <= lines and bad.why
        assert "\n" not in str(bad)
    times = [r["t"] for r in result.records]
    assert times == sorted(times) and all(t >= 0 for t in times)
    for record in result.records:
        where, _, line = record["source"].rpartition(":")
        assert where == file and 1 <= int(line) <= lines
        named = set(record["observe"]["nodes"]) if "observe" in record else {record.get("node")}
        assert named - {None} <= set(result.header["nodes"])
    result.text()  # encodes: no NaN, nothing JSON cannot hold


@FUZZ
@given(fmt=formats, data=st.binary(max_size=600))
def test_arbitrary_bytes(fmt: str, data: bytes) -> None:
    outcome(fmt, data)


@FUZZ
@given(fmt=formats, data=st.data())
def test_fixture_lines_reordered_duplicated_and_interleaved(fmt: str, data: st.DataObject) -> None:
    pool = st.one_of(st.sampled_from(LINES[fmt]), st.sampled_from(LINES["ha-status"]), noise, times)
    chosen = data.draw(st.lists(pool, max_size=30))
    outcome(fmt, b"".join(chosen))


@FUZZ
@given(fmt=formats, data=st.data())
def test_truncated_and_mangled_fixtures(fmt: str, data: st.DataObject) -> None:
    whole = data.draw(st.sampled_from(FIXTURES[fmt])).read_bytes()
    cut = data.draw(st.integers(0, len(whole)))
    flip = data.draw(st.integers(0, max(0, cut - 1)))
    mangled = bytearray(whole[:cut])
    if mangled and data.draw(st.booleans()):
        mangled[flip] = data.draw(st.integers(0, 255))
    outcome(fmt, bytes(mangled), nodes=data.draw(st.sampled_from([NODES, None])))


def test_every_fixture_imports() -> None:
    for fmt, paths in FIXTURES.items():
        for path in paths:
            assert outcome(fmt, path.read_bytes()) in ("result", "error")


@settings(max_examples=examples(60), deadline=None)
@given(fmt=formats, data=st.binary(max_size=300), strict=st.booleans())
def test_the_cli_exits_0_or_2_with_one_line_messages(fmt: str, data: bytes, strict: bool) -> None:
    path, out = WORK / "cli-input", WORK / "cli-out.jsonl"
    path.write_bytes(data)
    out.unlink(missing_ok=True)
    args = ["import", fmt, str(path), "-o", str(out), "--nodes", ",".join(NODES)]
    args += ["--node", NODES[0], "--year", "2021"] + (["--strict"] if strict else [])
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(args)
    assert code in (0, 2)
    assert "Traceback" not in err.getvalue()
    assert all(line.startswith("hasm: ") for line in err.getvalue().splitlines())
    assert out.exists() == (code == 0)
    assert not list(WORK.glob(".cli-out.jsonl.*"))  # no temporary file left behind
