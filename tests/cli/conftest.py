"""Fixtures of the command-line tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from hasm.sim.runner import scenario_trace
from hasm.sim.scenario import load_scenario, packaged_scenarios
from hasm.spec.model import Spec


@pytest.fixture(scope="module")
def trace(spec: Spec, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A conforming trace: the packaged critical-service-down scenario, seed 0."""
    path = next(p for p in packaged_scenarios() if p.stem == "02_critical_service_down")
    out = tmp_path_factory.mktemp("trace") / "t.jsonl"
    out.write_text(scenario_trace(spec, load_scenario(path, spec), 0), encoding="utf-8")
    return out
