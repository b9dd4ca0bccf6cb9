"""Shared fixtures: the canonical spec, loaded once per session (loading parses ~800 lines), its
default model, and helpers that build and drive configurations of the semantic core by hand; the
kinds of test, one directory each; and the Hypothesis profiles.

In the helpers node 0 and node 1 are the two nodes of the redundancy group; states, reasons,
services and timers are named by their ids in `specs/imp-ha.yaml`.

Each directory under tests/ is a kind of test and marks its tests with its name, so that `-m`
selects kinds: unit (fast, in one process), slow (explorations of the canonical spec and its
generated suite), cli (real processes and whole pytest runs), quality (do the tools find the hard
cases: planted bugs, mutants, fuzzing, reach), golden (the committed artefacts are current) and
browser (the explorer page in Debian's chromium; skipped, saying why, without it).

`HYPOTHESIS_PROFILE` picks the profile: `ci` (the default; what `make test` runs) or `dev` (a
tenth of the examples; what `make quick` runs). A test that draws more or fewer examples than the
profile's default asks for `examples(n)`, n under ci and as many fewer under dev; a test that
asserts what its draws reached keeps its own fixed number, derandomized.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from hasm.core.config import (
    NO_NODE,
    NOT_WAITING,
    SIGNED_OUT,
    Cohort,
    Config,
    EventInput,
    Fire,
    Input,
    Node,
    Relogin,
    RunningTimer,
    Step,
    UserKey,
)
from hasm.core.model import Model
from hasm.core.semantics import advance, apply
from hasm.sim.runner import scenario_trace
from hasm.sim.scenario import load_scenario, packaged_scenarios
from hasm.spec.loader import load_spec
from hasm.spec.model import ParamValue, Spec
from hasm.spec.params import resolve_params

# -- kinds of test ------------------------------------------------------------------------------
# The small test spec, and the mark of a test that renders through Debian's graphviz.
SMALL_SPEC = Path(__file__).parent / "specs" / "small.yaml"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is absent")

KINDS = ("unit", "slow", "cli", "quality", "golden", "browser")
TESTS = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with the kind of its directory; a test file outside them is an error, since
    `make quick` and `-m` would silently miss it."""
    stray = set()
    for item in items:
        directory = item.path.parent
        if directory.parent == TESTS and directory.name in KINDS:
            item.add_marker(directory.name)
        elif TESTS in item.path.parents:
            stray.add(str(item.path.relative_to(TESTS)))
    if stray:
        raise pytest.UsageError(
            f"tests/{', tests/'.join(sorted(stray))}: a test file belongs in one of the kind "
            f"directories ({', '.join(sorted(KINDS))}): move it there"
        )


# -- garbage collection -------------------------------------------------------------------------
# A full collection walks every live object, and the tests leave cyclic garbage that only a full
# collection frees: a compiled `transitions` machine is about 70,000 objects, an explored page or
# an oracle's candidates thousands. With Python's thresholds a full collection ran every few
# tests, 0.1-0.2 s each once the caches had grown: about 6 s of the quick loop's 40 s of CPU. So
# the oldest generation is collected a tenth as often (the youngest as before, so short-lived
# cycles still go at once and tracemalloc's peaks are unchanged), and what start-up and collection
# built - modules, the spec, the test items, alive to the end - is frozen out of every collection.
gc.set_threshold(gc.get_threshold()[0], gc.get_threshold()[1], 100)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Freeze what exists once the tests are collected (see above): never garbage, never walked
    again."""
    gc.collect()
    gc.freeze()


# -- Hypothesis profiles ------------------------------------------------------------------------
CI_EXAMPLES = 100  # Hypothesis's own default
# Runs draw specs, traces and simulations: an example's time varies too much for a deadline, and
# a large or slow draw is what these tests are for.
settings.register_profile(
    "ci",
    max_examples=CI_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("dev", settings.get_profile("ci"), max_examples=CI_EXAMPLES // 10)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def examples(ci: int) -> int:
    """A test's number of examples: `ci` under the ci profile, scaled alike under another."""
    return max(1, ci * settings().max_examples // CI_EXAMPLES)


# -- the canonical spec -------------------------------------------------------------------------
@pytest.fixture(scope="session")
def canonical_spec() -> Spec:
    """The packaged canonical spec, specs/imp-ha.yaml, loaded and validated."""
    return load_spec()


@pytest.fixture(scope="session")
def spec(canonical_spec: Spec) -> Spec:
    """The canonical spec (the same object as `canonical_spec`)."""
    return canonical_spec


@pytest.fixture(scope="module")
def conforming_trace(spec: Spec, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A conforming trace: the packaged critical-service-down scenario, seed 0."""
    path = next(p for p in packaged_scenarios() if p.stem == "02_critical_service_down")
    out = tmp_path_factory.mktemp("trace") / "t.jsonl"
    out.write_text(scenario_trace(spec, load_scenario(path, spec), 0), encoding="utf-8")
    return out


# A packaged scenario's trace takes the simulator ~5 ms; the tests that only read one ask for the
# same few again and again (test_oracle's stories, test_trace_reader's reads).
_TRACES: dict[tuple[int, str, int], tuple[Spec, str]] = {}


def scenario_text(spec: Spec, path: Path, seed: int = 0) -> str:
    """The trace `hasm simulate --trace` writes for the scenario at `path` under `spec` and
    `seed`, made once per process: the simulator is deterministic (test_scenarios checks that the
    same seed gives the same bytes) and the text cannot be changed, so it is shared. The entry
    keeps its spec alive, so the spec's id is not reused while it is kept."""
    key = (id(spec), str(path), seed)
    kept = _TRACES.get(key)
    if kept is None or kept[0] is not spec:
        kept = _TRACES[key] = (spec, scenario_trace(spec, load_scenario(path, spec), seed))
    return kept[1]


@pytest.fixture
def model(spec: Spec) -> Model:
    """The canonical spec with its default parameters and monitored services."""
    return Model(spec)


def model_with(spec: Spec, **overrides: ParamValue) -> Model:
    """The spec with parameter overrides, checked as a trace's overrides would be."""
    return Model(spec, resolve_params(spec, overrides))


# -- building configurations --------------------------------------------------------------------
def node(
    state: str,
    reason: str,
    *,
    up: bool = True,
    srm: bool = True,
    stopped: Iterable[str] = (),
) -> Node:
    """One node; `stopped` are the services stopped or failed on it."""
    return Node(state, reason, up, srm, frozenset(stopped))


def at_home(*counts: int) -> tuple[Cohort, ...]:
    """Users signed in on their home node: `at_home(2, 1)` is 2 homed on node 0, 1 on node 1."""
    return tuple(
        Cohort(home, home, NOT_WAITING, count) for home, count in enumerate(counts) if count > 0
    )


def cohorts(*entries: tuple[int, int, float, int]) -> tuple[Cohort, ...]:
    """Cohorts from (home, session, waiting_since, count) tuples, sorted as the core keeps them."""
    return tuple(sorted(Cohort(*e) for e in entries))


def make_config(
    n0: Node,
    n1: Node,
    *,
    users: Iterable[Cohort] = (),
    now: float = 0.0,
    ha: bool = True,
    link: bool = True,
    timers: Iterable[RunningTimer] = (),
) -> Config:
    """A configuration built by hand. Its timers are only those given: the core starts the
    others at the next step that settles, so a Fire needs its timer put in with `due`."""
    return Config(now, ha, link, (n0, n1), tuple(sorted(timers)), tuple(sorted(users)))


def window(model: Model, timer: str) -> tuple[float, float]:
    """A node timer's duration bounds under the model's parameters."""
    for t in model.node_timers:
        if t.name == timer:
            return t.low, t.high
    raise KeyError(timer)


def due(model: Model, config: Config, timer: str, index: int) -> Config:
    """`config` with node timer `timer` running on node `index` and just due (its window opens
    now), replacing any running instance of it."""
    low, high = window(model, timer)
    since = config.now - low
    running = RunningTimer(timer, index, since, config.now, since + high)
    kept = [t for t in config.timers if (t.name, t.node) != (timer, index)]
    return dataclasses.replace(config, timers=tuple(sorted([*kept, running])))


def states(config: Config) -> tuple[tuple[str, str], tuple[str, str]]:
    """Both nodes' (state, reason)."""
    a, b = config.nodes
    return (a.state, a.reason), (b.state, b.reason)


def timer_names(config: Config) -> set[tuple[str, int]]:
    """The running node timers as (name, node)."""
    return {(t.name, t.node) for t in config.timers}


def waiting(config: Config, home: int) -> int:
    """How many users of `home` wait to re-login."""
    return sum(c.count for c in config.users if c.home == home and c.waiting_since >= 0)


def sessions_on(config: Config, index: int, home: int | None = None) -> int:
    """How many sessions node `index` holds (of users of `home`, if given)."""
    return sum(
        c.count for c in config.users if c.session == index and (home is None or c.home == home)
    )


def signed_out(config: Config, home: int) -> int:
    """How many users of `home` are signed out (a session kept after the sign-out, or none)."""
    return sum(c.count for c in config.users if c.home == home and c.waiting_since == SIGNED_OUT)


def stopped(config: Config, home: int) -> int:
    """How many users of `home` are signed in with no session and no re-login to wait for (a
    re-login or sign-in found no node serving them, S8)."""
    return sum(
        c.count
        for c in config.users
        if c.home == home and c.session == NO_NODE and c.waiting_since == NOT_WAITING
    )


# -- driving the core ---------------------------------------------------------------------------
def only(steps: tuple[Step, ...]) -> Step:
    """The one successor of a deterministic input."""
    assert len(steps) == 1, f"expected one successor, got {len(steps)}: {steps}"
    return steps[0]


def first_reading(model: Model, steps: tuple[Step, ...]) -> Step:
    """The one successor of an input, or the first (in spec order) of the readings the spec
    allows side by side: successors by rules whose overlap the spec accepts on purpose
    (`accepted: overlapping_guards`, e.g. A-p11-reason's twins). Any other nondeterminism is
    something a driving script did not expect - but an event's alternative effects (a sign-out
    that may keep the session, A-logout-session), whose first is the event's own effect."""
    assert steps, "expected a successor, got none"
    inp = steps[0].input
    if isinstance(inp, EventInput) and inp.name in model.branching:
        return steps[0]
    accepted = {
        frozenset(o.split(" / ")[:2])
        for a in model.spec.accepted
        if a.check == "overlapping_guards"
        for o in a.offenders
    }
    rules = [s.rule for s in steps]
    unexpected = [
        (a, b)
        for k, a in enumerate(rules)
        for b in rules[k + 1 :]
        if a is None or b is None or frozenset((a, b)) not in accepted
    ]
    assert not unexpected, f"expected one successor or readings of one, got {len(steps)}: {steps}"
    return steps[0]


def step(model: Model, config: Config, inp: Input, at: float | None = None) -> Step:
    """Advance to `at` (if given) and apply `inp`, which must have exactly one successor (or
    readings of one: `first_reading`)."""
    if at is not None:
        config = advance(model, config, at)
    return first_reading(model, apply(model, config, inp))


def ev(
    name: str,
    node: int | None = None,
    service: str | None = None,
    user: UserKey | None = None,
) -> EventInput:
    """An event input, nodes as indices."""
    return EventInput(name, node, service, user)


def drive(model: Model, config: Config, *script: tuple[float, Input | str] | Input) -> Config:
    """Apply a script of inputs, each deterministic (or readings of one, the first taken:
    `first_reading`). An entry is an input (applied now), or
    (time, input) to advance first. The string "fire" as input fires the one timer that is
    forced at that time (its window closes then)."""
    for entry in script:
        at, inp = entry if isinstance(entry, tuple) else (None, entry)
        if at is not None:
            config = advance(model, config, at)
        if isinstance(inp, str):
            forced = [t for t in config.timers if t.latest <= config.now]
            assert len(forced) == 1, f"expected one timer to fire at t={config.now:g}: {forced}"
            inp = Fire(forced[0].name, forced[0].node)
        config = first_reading(model, apply(model, config, inp)).config
    return config


def fire(name: str, index: int) -> Fire:
    """A node timer firing."""
    return Fire(name, index)


def relogin(key: UserKey) -> Relogin:
    """One waiting client of the cohort `key` logging in again."""
    return Relogin(key)


def users_by_home(config: Config) -> Mapping[int, int]:
    """User counts per home node."""
    out: dict[int, int] = {}
    for c in config.users:
        out[c.home] = out.get(c.home, 0) + c.count
    return out
