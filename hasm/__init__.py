"""hasm: an executable, formal specification of Cisco IM and Presence High Availability.

One declarative spec (specs/imp-ha.yaml) drives one pure semantic core on a virtual clock; the
simulator and the live `transitions` machine run on it.
"""

from hasm.check import Verdict, check_file, check_files
from hasm.config import Config, EventInput, Fire, Relogin, Step
from hasm.errors import (
    ClockError,
    HasmError,
    InputError,
    NotOffered,
    ParameterError,
    Problem,
    ScenarioError,
    SpecError,
)
from hasm.explore import Exploration, explore
from hasm.loader import canonical_spec_path, load_spec
from hasm.machine import LiveGroup, compile_machine, machine_config
from hasm.model import Spec
from hasm.oracle import ConformanceError, Divergence, Oracle
from hasm.params import resolve_params
from hasm.runner import Run, run_scenario
from hasm.scenario import Scenario, load_scenario, packaged_scenarios
from hasm.semantics import (
    Model,
    advance,
    apply,
    deadline,
    enabled,
    forced,
    initial_config,
    node_views,
    offered,
)
from hasm.simulate import Record, Simulator
from hasm.trace import TraceError, TraceReader, TraceWriter, read_trace

verify = explore  # `hasm verify` from Python: explore and check every invariant


def __getattr__(name: str) -> object:
    # hasm.strategies needs Hypothesis, a test dependency: it is imported when first asked for
    # (`hasm.strategies` or `from hasm import strategies`), never by `import hasm`.
    if name == "strategies":
        import importlib  # noqa: PLC0415 - lazily, see above

        return importlib.import_module("hasm.strategies")
    raise AttributeError(f"module 'hasm' has no attribute {name!r}")


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
