"""`hasm check` end to end, in this process (hasm.cli.main) and as a real command: exit codes
0 / 1 / 2, the text, JSON and JUnit reports, several files with -j, and located input errors
without a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from hasm.cli import main
from hasm.sim.runner import scenario_trace
from hasm.sim.scenario import load_scenario, packaged_scenarios
from hasm.spec.model import Spec

PUB, SUB = "IMPPub.example.net", "IMPSub.example.net"


def hasm(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hasm", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=env,
    )


def simulated(spec: Spec, name: str, seed: int = 0) -> list[dict[str, Any]]:
    """The trace `hasm simulate --trace` writes for a packaged scenario, as JSON objects."""
    path = next(p for p in packaged_scenarios() if p.stem == name)
    text = scenario_trace(spec, load_scenario(path, spec), seed)
    return [json.loads(line) for line in text.splitlines()]


def write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def failing_over_line(lines: list[dict[str, Any]]) -> int:
    """The 1-based line of the first observation of the publisher Failing Over."""
    for i, line in enumerate(lines):
        if line.get("observe", {}).get("nodes", {}).get(PUB, {}).get("state") == "Failing Over":
            return i + 1
    raise AssertionError("no Failing Over observation")


@pytest.fixture(scope="module")
def traces(spec: Spec, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two conforming traces, one that diverges (Failing Over seen at t=189.5, line `early`),
    in a fresh directory."""
    folder = tmp_path_factory.mktemp("traces")
    good = simulated(spec, "02_critical_service_down")
    early = [dict(line) for line in good]
    at = failing_over_line(early)
    early[at - 1] = {**early[at - 1], "t": 189.5}
    return {
        "good": write(folder / "good.jsonl", good),
        "other": write(folder / "other.jsonl", simulated(spec, "06_manual_failover", 3)),
        "early": write(folder / "early.jsonl", early),
    }


def early_line(path: Path) -> int:
    return failing_over_line([json.loads(line) for line in path.read_text().splitlines()])


# -- verdicts -------------------------------------------------------------------------------------
def test_a_conforming_trace_exits_0(
    traces: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    good = traces["good"]
    records = len(good.read_text().splitlines()) - 1
    assert main(["check", str(good)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{good}: conforms ({records} records)\n"
    assert err == ""


def test_a_divergent_trace_exits_1_with_the_report(
    traces: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    early = traces["early"]
    assert main(["check", str(early)]) == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == f"{early}:{early_line(early)}: t=189.500: does not conform: observation"
    assert any(
        f"nodes.{PUB}.state: observed Failing Over; the spec allows Normal" in line
        for line in lines
    )
    assert any("why:" in line and "critical_service_down_delay_s = 90 s" in line for line in lines)
    assert err == ""


def test_check_as_a_command(traces: dict[str, Path]) -> None:
    good, early = traces["good"], traces["early"]
    result = hasm("check", str(good))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{good}: conforms (")
    result = hasm("check", str(early))
    assert result.returncode == 1
    assert result.stdout.splitlines()[0].startswith(
        f"{early}:{early_line(early)}: t=189.500: does not conform"
    )
    assert result.stderr == ""


# -- malformed traces: exit 2, located, no traceback ------------------------------------------------------
HEADER = {
    "hasm_trace": 1,
    "nodes": [PUB, SUB],
    "users": {"alice": PUB, "dave": SUB},
    "initial": "normal",
}
OK = '{"t": 1, "observe": {"ha_enabled": true}}'

# name -> (the file's lines, the line and field the error names, a word of the message)
MALFORMED: dict[str, tuple[list[str], int, str, str]] = {
    "bad JSON": ([json.dumps(HEADER), OK, '{"t": 5, "event": '], 3, "", "not valid JSON"),
    "NaN t": ([json.dumps(HEADER), '{"t": NaN, "observe": {}}'], 2, "", "NaN"),
    "t going back": ([json.dumps(HEADER), '{"t": 5, "observe": {}}', OK], 3, "t", "back in time"),
    "unknown header key": ([json.dumps({**HEADER, "colour": "red"})], 1, "colour", "unknown"),
    "unknown node": (
        [json.dumps(HEADER), '{"t": 5, "event": "failover", "node": "nowhere"}'],
        2,
        "node",
        "nowhere",
    ),
    "unknown user": (
        [json.dumps(HEADER), OK, '{"t": 5, "event": "login", "user": "zed"}'],
        3,
        "user",
        "zed",
    ),
    "unknown service": (
        [
            json.dumps(HEADER),
            f'{{"t": 5, "event": "service_stop", "node": "{PUB}", "service": "tea"}}',
        ],
        2,
        "service",
        "tea",
    ),
    "unknown event": ([json.dumps(HEADER), '{"t": 5, "event": "explode"}'], 2, "event", "explode"),
    "unknown state": (
        [
            json.dumps(HEADER),
            f'{{"t": 5, "observe": {{"nodes": {{"{PUB}": {{"state": "Asleep"}}}}}}}}',
        ],
        2,
        f"observe.nodes.{PUB}.state",
        "Asleep",
    ),
    "unknown reason": (
        [
            json.dumps(HEADER),
            f'{{"t": 5, "observe": {{"nodes": {{"{SUB}": {{"reason": "Why"}}}}}}}}',
        ],
        2,
        f"observe.nodes.{SUB}.reason",
        "Why",
    ),
    "unknown session user": (
        [json.dumps(HEADER), '{"t": 5, "observe": {"sessions": {"zed": null}}}'],
        2,
        "observe.sessions.zed",
        "zed",
    ),
    "parameter out of range": (
        [json.dumps({**HEADER, "params": {"keep_alive_timeout_s": 0}})],
        1,
        "params.keep_alive_timeout_s",
        "range",
    ),
    "unknown parameter": (
        [json.dumps({**HEADER, "params": {"keep_alive": 60}})],
        1,
        "params.keep_alive",
        "keep_alive",
    ),
}


def _malformed(folder: Path, name: str) -> Path:
    path = folder / (name.replace(" ", "_") + ".jsonl")
    path.write_text("\n".join(MALFORMED[name][0]) + "\n", encoding="utf-8")
    return path


def _located(path: Path, name: str) -> str:
    """The start of the error line: file:line and the field."""
    _, line, field, _ = MALFORMED[name]
    return f"hasm: {path}:{line}:" + (f" {field}:" if field else "")


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_malformed_trace_exits_2_located(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _malformed(tmp_path, name)
    assert main(["check", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    (line,) = err.splitlines()
    assert line.startswith(_located(path, name)), line
    assert MALFORMED[name][3] in line


def test_malformed_traces_as_a_command(tmp_path: Path, traces: dict[str, Path]) -> None:
    """Every malformed trace at once, and a good one: exit 2, one located line per bad file,
    the good one still checked, no traceback."""
    paths = [_malformed(tmp_path, name) for name in MALFORMED]
    result = hasm("check", *map(str, paths), str(traces["good"]))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    errors = result.stderr.splitlines()
    assert len(errors) == len(MALFORMED)
    for path, name, line in zip(paths, MALFORMED, errors, strict=True):
        assert line.startswith(_located(path, name)), line
    assert result.stdout == f"{traces['good']}: conforms (15 records)\n"


def test_a_nan_time_names_the_field_t(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _malformed(tmp_path, "NaN t")
    assert main(["check", str(path)]) == 2
    assert capsys.readouterr().err.startswith(f"hasm: {path}:2: t:")


def test_an_unknown_service_message_does_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    path = _malformed(tmp_path, "unknown service")
    errors = set()
    for seed in ("1", "2"):
        result = hasm("check", str(path), env={**os.environ, "PYTHONHASHSEED": seed})
        assert result.returncode == 2
        errors.add(result.stderr)
    assert len(errors) == 1


def test_a_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.jsonl"
    assert main(["check", str(missing)]) == 2
    assert capsys.readouterr().err.startswith(f"hasm: {missing}: cannot read the file")


# -- several files ------------------------------------------------------------------------------------
def test_jobs_give_the_same_output_in_argument_order(
    traces: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    order = [traces["early"], traces["good"], traces["other"], traces["good"]]
    args = ["check", *map(str, order)]
    assert main([*args, "-j", "1"]) == 1
    one = capsys.readouterr()
    assert main([*args, "-j", "2"]) == 1
    two = capsys.readouterr()
    assert two == one
    lines = one.out.splitlines()
    assert lines[0].startswith(f"{traces['early']}:")
    verdicts = [line for line in lines if not line.startswith(" ")]
    assert [v.split(":")[0] for v in verdicts] == [str(p) for p in order]
    bad = _malformed(tmp_path, "unknown event")
    commands = [hasm("check", str(bad), *map(str, order), "-j", j) for j in ("1", "2")]
    assert commands[0].returncode == commands[1].returncode == 2
    assert (commands[0].stdout, commands[0].stderr) == (commands[1].stdout, commands[1].stderr)
    assert commands[0].stdout == one.out


def test_json_format(
    traces: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _malformed(tmp_path, "unknown state")
    order = [traces["good"], traces["early"], bad]
    assert main(["check", *map(str, order), "--format", "json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert [v["file"] for v in report] == [str(p) for p in order]
    assert [v["verdict"] for v in report] == ["conforms", "diverges", "input_error"]
    assert report[0]["records"] == 15
    assert "divergence" not in report[0]
    divergence = report[1]["divergence"]
    assert divergence["line"] == early_line(traces["early"])
    assert divergence["t"] == 189.5
    assert report[1]["records"] == divergence["line"] - 2
    state = next(f for f in divergence["fields"] if f["field"] == f"nodes.{PUB}.state")
    assert state == {
        "field": f"nodes.{PUB}.state",
        "observed": "Failing Over",
        "allowed": ["Normal"],
        "conforms": False,
    }
    assert any("not before t=190" in why for why in divergence["why"])
    (problem,) = report[2]["problems"]
    assert (problem["line"], problem["field"]) == (2, f"observe.nodes.{PUB}.state")
    result = hasm("check", str(traces["good"]), "--format", "json")
    assert result.returncode == 0
    assert json.loads(result.stdout) == [
        {"file": str(traces["good"]), "verdict": "conforms", "records": 15}
    ]


def test_junit_report(
    traces: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junit = tmp_path / "report.xml"
    order = [traces["good"], traces["early"], traces["other"]]
    assert main(["check", *map(str, order), "--junit", str(junit)]) == 1
    capsys.readouterr()
    suite = ET.parse(junit).getroot()
    assert suite.tag == "testsuite"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "0")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [str(p) for p in order]
    assert [c.find("failure") is not None for c in cases] == [False, True, False]
    failure = cases[1].find("failure")
    assert failure is not None
    assert f"line {early_line(traces['early'])}" in (failure.get("message") or "")
    assert "does not conform" in (failure.text or "")
    assert [p.name for p in tmp_path.iterdir()] == ["report.xml"]  # no temporary file left


def test_junit_records_an_input_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junit = tmp_path / "report.xml"
    bad = _malformed(tmp_path, "unknown node")
    assert main(["check", str(bad), "--junit", str(junit)]) == 2
    capsys.readouterr()
    suite = ET.parse(junit).getroot()
    (case,) = suite.findall("testcase")
    error = case.find("error")
    assert error is not None
    assert f"{bad}:2" in (error.get("message") or "")


@pytest.mark.parametrize(
    "bad",
    [
        ["--tolerance", "-1"],
        ["--tolerance", "nan"],
        ["--tolerance", "inf"],
        ["--tolerance", "soon"],
        ["--format", "yaml"],
        ["-j", "two"],
    ],
)
def test_bad_arguments_exit_2_and_write_no_report(
    bad: list[str], traces: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junit = tmp_path / "report.xml"
    with pytest.raises(SystemExit) as exited:
        main(["check", str(traces["good"]), "--junit", str(junit), *bad])
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "hasm: error:" in err
    assert not junit.exists()
    assert list(tmp_path.iterdir()) == []


def test_bad_tolerance_as_a_command(traces: dict[str, Path], tmp_path: Path) -> None:
    junit = tmp_path / "report.xml"
    for value in ("-1", "nan"):
        result = hasm("check", str(traces["good"]), "--tolerance", value, "--junit", str(junit))
        assert result.returncode == 2
        assert "tolerance" in result.stderr
        assert "Traceback" not in result.stderr
        assert not junit.exists()


def test_tolerance_accepts_an_early_failover(
    traces: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    early = traces["early"]
    assert main(["check", str(early), "--tolerance", "0.5"]) == 0
    assert "conforms" in capsys.readouterr().out
    assert main(["check", str(early), "--tolerance", "0.4"]) == 1
    capsys.readouterr()


def test_lines_are_counted_in_the_file_blank_ones_too(
    traces: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = traces["early"].read_text(encoding="utf-8").splitlines(keepends=True)
    spaced = tmp_path / "spaced.jsonl"
    spaced.write_text("".join([*lines[:2], "\n", "   \n", *lines[2:]]), encoding="utf-8")
    assert main(["check", str(spaced)]) == 1
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"{spaced}:{early_line(traces['early']) + 2}: t=189.500:")


def test_a_header_alone_conforms_and_an_empty_file_is_bad(
    traces: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alone = tmp_path / "alone.jsonl"
    alone.write_text(traces["good"].read_text(encoding="utf-8").splitlines()[0] + "\n")
    assert main(["check", str(alone)]) == 0
    assert capsys.readouterr().out == f"{alone}: conforms (0 records)\n"
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert main(["check", str(empty)]) == 2
    assert capsys.readouterr().err.startswith(f"hasm: {empty}:1: the trace is empty")
