"""`hasm` end to end: simulate, demo and validate through the real command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from running import hasm

from hasm.cli import main
from hasm.sim.scenario import packaged_scenarios

SCENARIO = next(p for p in packaged_scenarios() if p.stem == "02_critical_service_down")


def test_simulate_prints_the_timeline_and_writes_a_trace(tmp_path: Path) -> None:
    trace = tmp_path / "run.jsonl"
    result = hasm("simulate", str(SCENARIO), "--seed", "4", "--trace", str(trace))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "timer critical_service_down on IMPPub.example.net fires" in out
    assert "-> automatic_failover:" in out
    assert "Failed Over with Critical Services not Running (Critical Service Down)" in out
    assert "expectations met" in out
    lines = trace.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["hasm_trace"] == 1
    assert all("t" in json.loads(line) for line in lines[1:])
    assert [p.name for p in tmp_path.iterdir()] == ["run.jsonl"]  # no temporary file left


def test_simulate_is_byte_deterministic(tmp_path: Path) -> None:
    outputs = []
    for name in ("a", "b"):
        trace = tmp_path / f"{name}.jsonl"
        result = hasm("simulate", str(SCENARIO), "--seed", "9", "--trace", str(trace))
        outputs.append((result.stdout, trace.read_bytes()))
    assert outputs[0] == outputs[1]


def test_param_override_changes_the_run(capsys: pytest.CaptureFixture[str]) -> None:
    path = next(p for p in packaged_scenarios() if p.stem == "03_node_down_60s")
    code = main(["simulate", str(path), "--param", "keep_alive_timeout_s=90", "--seed", "1"])
    out = capsys.readouterr().out
    assert code == 0
    assert (
        "runs between keep_alive_timeout_s - keep_alive_interval_s and keep_alive_timeout_s"
        " + keep_alive_interval_s = 75 to 105 s" in out
    )


def test_demo_plays_every_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--quiet"]) == 0
    out = capsys.readouterr().out
    for path in packaged_scenarios():
        assert f"{path.stem}: expectations met" in out
    # and ends with the oracle: a story's trace conforms; moved half a second early, it does not
    oracle = out[out.index("The oracle: hasm check") :]
    assert ": conforms (" in oracle
    assert ": does not conform: observation" in oracle
    assert "so not before t=" in oracle


def _scenario(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(body, encoding="utf-8")
    return path


GOOD = SCENARIO.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "line", "fragment"),
    [
        (
            "service: presence_engine}",
            "service: presence_engin}",
            18,
            "service 'presence_engin' is not known",
        ),
        ("{t: 900,", "{t: 50,", 19, "goes back in time"),
        ("{t: 100,", "{t: .nan,", 18, "t must be a finite number"),
        ("event: fallback,", "event: fallbak,", 20, "unknown event 'fallbak'"),
        (
            "node: IMPPub.example.net}\nexpect",
            "node: IMPPab.example.net}\nexpect",
            20,
            "node 'IMPPab.example.net'",
        ),
        (
            "initial: normal",
            "initial: normal\nparams: {keep_alive_timeout_s: -5}",
            16,
            "params.keep_alive_timeout_s",
        ),
        (
            "initial: normal",
            "initial: normal\nparams: {keep_alive_timeout_z: 5}",
            16,
            "did you mean 'keep_alive_timeout_s'",
        ),
        ("reaches: [P1,", "reaches: [P99, P1,", 22, "unknown state pair 'P99'"),
        (
            "{state: Normal, reason: Normal, assigned_users: 3",
            "{state: Normall, reason: Normal, assigned_users: 3",
            25,
            "unknown state 'Normall'",
        ),
        ("until: 2400", "until: 2400\ncolour: red", 17, "unknown key 'colour'"),
    ],
)
def test_bad_scenario_is_a_located_input_error(
    tmp_path: Path, old: str, new: str, line: int, fragment: str
) -> None:
    assert old in GOOD
    path = _scenario(tmp_path, GOOD.replace(old, new, 1))
    trace = tmp_path / "out.jsonl"
    result = hasm("simulate", str(path), "--trace", str(trace))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{path}:{line}:" in result.stderr
    assert fragment in result.stderr
    assert not trace.exists()  # nothing half-written


def test_an_unoffered_admin_action_is_reported(tmp_path: Path) -> None:
    body = GOOD.replace("{t: 1000, event: fallback", "{t: 150, event: fallback", 1).replace(
        "{t: 900, event: service_start", "{t: 140, event: service_start", 1
    )
    result = hasm("simulate", str(_scenario(tmp_path, body)))
    assert result.returncode == 2
    assert "fallback IMPPub.example.net is not offered now" in result.stderr
    assert "Traceback" not in result.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    for args in (("simulate",), ("nonsense",), ("simulate", str(SCENARIO), "--param", "x")):
        result = hasm(*args)
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
    missing = hasm("simulate", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2
    assert "cannot read the file" in missing.stderr


def test_validate_the_canonical_spec() -> None:
    result = hasm("validate")
    assert result.returncode == 0
    assert "ok - 14 states" in result.stdout


def test_output_does_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    """Set iteration order changes with PYTHONHASHSEED; nothing hasm prints may depend on it."""
    outputs = set()
    for hash_seed in ("1", "2"):
        trace = tmp_path / f"{hash_seed}.jsonl"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        result = subprocess.run(
            [sys.executable, "-m", "hasm", "simulate", str(SCENARIO), "--trace", str(trace)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        outputs.add((result.stdout, trace.read_bytes()))
    assert len(outputs) == 1


def test_written_files_get_a_plain_files_mode(tmp_path: Path) -> None:
    """Outputs appear whole (written aside, then renamed) yet with the mode open() would give,
    not the private one of a temporary file."""
    trace, timeline = tmp_path / "run.jsonl", tmp_path / "run.svg"
    scenario = str(packaged_scenarios()[0])
    args = ["simulate", scenario, "--quiet", "--trace", str(trace), "--timeline", str(timeline)]
    assert main(args) == 0
    mask = os.umask(0)
    os.umask(mask)
    for path in (trace, timeline):
        assert path.stat().st_mode & 0o777 == 0o666 & ~mask


# -- the spec as a positional argument, and the version ----------------------------------------------
def test_the_spec_may_be_given_positionally(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "tests/specs/small.yaml"]) == 0
    assert capsys.readouterr().out.startswith("tests/specs/small.yaml: ok")
    with pytest.raises(SystemExit) as usage:
        main(["validate", "tests/specs/small.yaml", "--spec", "tests/specs/small.yaml"])
    assert usage.value.code == 2
    assert "the spec is given twice" in capsys.readouterr().err


def test_version_names_hasm_the_spec_and_python(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version", "tests/specs/small.yaml"]) == 0
    about = json.loads(capsys.readouterr().out)
    assert about["spec"]["id"] == "small" and about["hasm"] and about["python"]
    with pytest.raises(SystemExit) as shown:
        main(["--version"])
    assert shown.value.code == 0
    assert capsys.readouterr().out.startswith("hasm ")
