"""`hasm import` end to end: the trace written, unreadable lines on stderr, located and counted,
exit 2 with one-line messages and no output file for input that cannot be imported, and the
trace read by `hasm check`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from running import hasm

from hasm.cli import main

DATA = Path(__file__).parent.parent / "data" / "adapters"
TIMED = DATA / "timed"


def _transcript(tmp_path: Path) -> Path:
    names = ["s5-normal", "s5-failover", "s5-critical-service-down"]
    path = tmp_path / "status.txt"
    path.write_text(
        "".join((TIMED / f"{n}.txt").read_text(encoding="utf-8") for n in names) + "garbage line\n",
        encoding="utf-8",
    )
    return path


def test_import_writes_the_trace_and_reports_on_stderr(tmp_path: Path) -> None:
    _transcript(tmp_path)
    done = hasm("import", "ha-status", "status.txt", "-o", "out.jsonl", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text("utf-8").splitlines()]
    assert lines[0]["initial"] == "observed" and lines[0]["sources"] == ["status.txt"]
    assert lines[0]["start"] == "2021-05-13T02:45:00.000Z"
    assert [(r["t"], r.get("event"), r["source"]) for r in lines[1:]] == [
        (0, None, "status.txt:4"),
        (0, "failover", "status.txt:7"),  # the accepted `ha failover shorty-cups`
        (0, None, "status.txt:11"),
        (300, None, "status.txt:16"),
    ]
    assert done.stderr.splitlines() == [
        "hasm: status.txt:19: not a line of utils ha status output",
        "hasm: out.jsonl: 4 records from 1 file; 1 unreadable line; 0 lines read, not used",
    ]
    again = hasm("import", "ha-status", "status.txt", "-o", "again.jsonl", cwd=tmp_path)
    assert again.returncode == 0
    assert (tmp_path / "again.jsonl").read_bytes() == (tmp_path / "out.jsonl").read_bytes()


def test_hasm_check_reads_an_imported_trace(tmp_path: Path) -> None:
    _transcript(tmp_path)
    assert (
        hasm("import", "ha-status", "status.txt", "-o", "out.jsonl", cwd=tmp_path).returncode == 0
    )
    done = hasm("check", "out.jsonl", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == "out.jsonl: conforms (4 records)\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ha-status", "missing.txt"], "hasm: missing.txt: cannot read the file: No such file"),
        (["ha-status", "status.txt", "--strict"], "hasm: status.txt:19: not a line of utils ha"),
        (["ha-status", "status.txt", "--group", "G9"], "--group: no subcluster 'G9' in the file"),
        (["ha-status", "status.txt", "--nodes", "a,a"], "--nodes: two distinct node names"),
        (["ha-status", "status.txt", "--tz", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
        (["ha-status", "status.txt", "--hidden-faults", "-1"], "a whole number >= 0"),
        (["xml", "status.txt"], "invalid choice: 'xml'"),
        (["ha-status", "status.txt", "--param", "nope=1"], "nope"),
        (["srm-log", "status.txt", "--patterns", "nope.yaml"], "nope.yaml: cannot read"),
    ],
)
def test_input_errors_exit_2_with_one_line_and_no_output(
    tmp_path: Path, args: list[str], message: str
) -> None:
    _transcript(tmp_path)
    done = hasm("import", *args, "-o", "out.jsonl", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out.jsonl").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["status.txt"]  # no temporary file left


def test_in_process_main_and_every_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = [
        ["ha-status", str(TIMED / "s5-failed.txt")],
        ["rtmt-csv", str(DATA / "rtmt" / "srmstate.csv")],
        ["perfmon-xml", str(DATA / "perfmon" / "http.txt")],
        ["syslog", str(DATA / "syslog" / "uc_srm.log")],
        ["srm-log", str(DATA / "srm-log" / "seed.log"), "--nodes", "imp1,imp2", "--node", "imp1"],
    ]
    for i, run in enumerate(runs):
        out = tmp_path / f"{i}.jsonl"
        assert main(["import", *run, "-o", str(out)]) == 0
        header = json.loads(out.read_text("utf-8").splitlines()[0])
        assert header["vocabulary"] == {
            "ha-status": "cli",
            "rtmt-csv": "rtmt",
            "perfmon-xml": "rtmt",
        }.get(run[0], "page")
    err = capsys.readouterr().err
    assert "read, not used: alarm UC_PE-2-PEPeerNodeFailure" in err
    assert "read, not used: heartbeat-peer-down" in err
