"""The worked example, examples/ha_pair: its own suite passes against the good pair and fails,
with hasm's divergence report, against the deliberately broken one. Both runs replay one
conformance suite `hasm generate` writes here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hasm.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("suite") / "suite"
    assert main(["generate", "--out", str(out)]) == 0
    return out


def run_example(impl: str, suite: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HA_PAIR_IMPL": impl, "HA_PAIR_SUITE": str(suite)}
    env.pop("PYTEST_ADDOPTS", None)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
    command += ["--rootdir", "examples/ha_pair", "examples/ha_pair/tests"]
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_good_pair_conforms(suite: Path) -> None:
    done = run_example("good", suite)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout and "failed" not in done.stdout


def test_the_broken_pair_fails_with_the_divergence_report(suite: Path) -> None:
    done = run_example("broken", suite)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "does not conform: observation" in out
    # It fails over after 60 s instead of 90: the report says what the spec allowed instead.
    assert "NOT nodes.pub.state: observed Failing Over; the spec allows Normal" in out
    assert "it fires at t=100 (critical_service_down_delay_s = 90 s)" in out
    assert "replay: hasm check " in out
    assert "FAILED examples/ha_pair/tests/test_pair.py::test_service_down_failover" in out
    # The generated suite's replay names the files whose observations the pair does not show.
    assert "generated cases differ" in out
    assert "-transition-automatic_failover.jsonl: line " in out  # it fails over 30 s early
    # The tests that never wait for the delay pass against both pairs.
    assert "FAILED examples/ha_pair/tests/test_pair.py::test_manual_failover" not in out
