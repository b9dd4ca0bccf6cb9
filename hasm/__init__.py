"""hasm: an executable, formal specification of Cisco IM and Presence High Availability.

One declarative spec (specs/imp-ha.yaml) drives one pure semantic core on a virtual clock; the
simulator, the conformance oracle, the explorer and the review tools all run on it.

The public names below are imported when first asked for (PEP 562), so `import hasm` - and the
pytest plugin, which every pytest run of a project that installs hasm loads - costs next to
nothing until a name is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hasm.core.config import Config, EventInput, Fire, Relogin, Step
    from hasm.core.model import Model
    from hasm.core.semantics import (
        advance,
        apply,
        deadline,
        enabled,
        forced,
        initial_config,
        offered,
    )
    from hasm.core.views import node_views
    from hasm.errors import (
        ClockError,
        ConformanceError,
        HasmError,
        InputError,
        NotOffered,
        ParameterError,
        Problem,
        ScenarioError,
        SpecError,
        TraceError,
    )
    from hasm.explorer.explore import explore
    from hasm.explorer.explore import explore as verify
    from hasm.explorer.results import Exploration
    from hasm.oracle.files import Verdict, check_file, check_files
    from hasm.oracle.oracle import Oracle
    from hasm.oracle.report import Divergence
    from hasm.sim.machine import LiveGroup, compile_machine, machine_config
    from hasm.sim.runner import Run, run_scenario
    from hasm.sim.scenario import Scenario, load_scenario, packaged_scenarios
    from hasm.sim.simulator import Simulator
    from hasm.spec.loader import canonical_spec_path, load_spec
    from hasm.spec.model import Spec
    from hasm.spec.params import resolve_params
    from hasm.trace.reader import TraceReader, read_trace
    from hasm.trace.records import Record
    from hasm.trace.writer import TraceWriter

# Each public name and the module that is its one home.
_HOMES: dict[str, str] = {
    "advance": "hasm.core.semantics",
    "apply": "hasm.core.semantics",
    "canonical_spec_path": "hasm.spec.loader",
    "check_file": "hasm.oracle.files",
    "check_files": "hasm.oracle.files",
    "ClockError": "hasm.errors",
    "compile_machine": "hasm.sim.machine",
    "Config": "hasm.core.config",
    "ConformanceError": "hasm.errors",
    "deadline": "hasm.core.semantics",
    "Divergence": "hasm.oracle.report",
    "enabled": "hasm.core.semantics",
    "EventInput": "hasm.core.config",
    "Exploration": "hasm.explorer.results",
    "explore": "hasm.explorer.explore",
    "Fire": "hasm.core.config",
    "forced": "hasm.core.semantics",
    "HasmError": "hasm.errors",
    "initial_config": "hasm.core.semantics",
    "InputError": "hasm.errors",
    "LiveGroup": "hasm.sim.machine",
    "load_scenario": "hasm.sim.scenario",
    "load_spec": "hasm.spec.loader",
    "machine_config": "hasm.sim.machine",
    "Model": "hasm.core.model",
    "node_views": "hasm.core.views",
    "NotOffered": "hasm.errors",
    "offered": "hasm.core.semantics",
    "Oracle": "hasm.oracle.oracle",
    "packaged_scenarios": "hasm.sim.scenario",
    "ParameterError": "hasm.errors",
    "Problem": "hasm.errors",
    "read_trace": "hasm.trace.reader",
    "Record": "hasm.trace.records",
    "Relogin": "hasm.core.config",
    "resolve_params": "hasm.spec.params",
    "Run": "hasm.sim.runner",
    "run_scenario": "hasm.sim.runner",
    "Scenario": "hasm.sim.scenario",
    "ScenarioError": "hasm.errors",
    "Simulator": "hasm.sim.simulator",
    "Spec": "hasm.spec.model",
    "SpecError": "hasm.errors",
    "Step": "hasm.core.config",
    "TraceError": "hasm.errors",
    "TraceReader": "hasm.trace.reader",
    "TraceWriter": "hasm.trace.writer",
    "Verdict": "hasm.oracle.files",
    "verify": "hasm.explorer.explore",  # `hasm verify` from Python: explore, check every invariant
}


def __getattr__(name: str) -> object:
    if name == "strategies":
        # hasm.strategies needs Hypothesis, a test dependency: imported only when asked for.
        return importlib.import_module("hasm.strategies")
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'hasm' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), "explore" if name == "verify" else name)
    globals()[name] = value  # asked once, then an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])


__all__ = [
    "ClockError",
    "Config",
    "ConformanceError",
    "Divergence",
    "EventInput",
    "Exploration",
    "Fire",
    "HasmError",
    "InputError",
    "LiveGroup",
    "Model",
    "NotOffered",
    "Oracle",
    "ParameterError",
    "Problem",
    "Record",
    "Relogin",
    "Run",
    "Scenario",
    "ScenarioError",
    "Simulator",
    "Spec",
    "SpecError",
    "Step",
    "TraceError",
    "TraceReader",
    "TraceWriter",
    "Verdict",
    "advance",
    "apply",
    "canonical_spec_path",
    "check_file",
    "check_files",
    "compile_machine",
    "deadline",
    "enabled",
    "explore",
    "forced",
    "initial_config",
    "load_scenario",
    "load_spec",
    "machine_config",
    "node_views",
    "offered",
    "packaged_scenarios",
    "read_trace",
    "resolve_params",
    "run_scenario",
    "verify",
]
