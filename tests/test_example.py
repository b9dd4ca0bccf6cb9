"""The worked example, examples/ha_pair: its own suite passes against the good pair and fails,
with hasm's divergence report, against the deliberately broken one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_example(impl: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HA_PAIR_IMPL": impl}
    env.pop("PYTEST_ADDOPTS", None)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
    command += ["--rootdir", "examples/ha_pair", "examples/ha_pair/tests"]
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_good_pair_conforms() -> None:
    done = run_example("good")
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout and "failed" not in done.stdout


def test_the_broken_pair_fails_with_the_divergence_report() -> None:
    done = run_example("broken")
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "does not conform: observation" in out
    # It fails over after 60 s instead of 90: the report says what the spec allowed instead.
    assert "NOT nodes.pub.state: observed Failing Over; the spec allows Normal" in out
    assert "it fires at t=100 (critical_service_down_delay_s = 90 s)" in out
    assert "replay: hasm check " in out
    assert "FAILED examples/ha_pair/tests/test_pair.py::test_service_down_failover" in out
    # The tests that never wait for the delay pass against both pairs.
    assert "FAILED examples/ha_pair/tests/test_pair.py::test_manual_failover" not in out
