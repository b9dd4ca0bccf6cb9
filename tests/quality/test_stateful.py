"""Hypothesis drives the semantic core with every event, every internal choice, and clock moves
that land just before, at and just after each pending deadline; every invariant of the spec is
checked after every step, bounded liveness included, and the run must reach every documented
state pair.

The machine starts from a starting point of trace format v1 or from a configuration one of the
packaged scenarios passes through (so the deep pairs, such as auto-recovery, are a few steps
away); only pairs reached by the machine's own steps count. The examples are derandomized, so
the run is the same every time.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

from hypothesis import HealthCheck, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from hasm.core.config import Config, EventInput, Step
from hasm.core.model import Model, default_monitored
from hasm.core.semantics import advance, apply, deadline, enabled, initial_config
from hasm.core.views import documented_pairs
from hasm.explorer.invariants import (
    Watch,
    check_config,
    check_response,
    check_step,
    response_triggers,
    watch_start,
    watch_step,
)
from hasm.sim.runner import run_scenario
from hasm.sim.scenario import load_scenario, packaged_scenarios
from hasm.spec.guards import named_services
from hasm.spec.loader import load_spec
from hasm.spec.model import Spec
from hasm.spec.params import resolve_params

SPEC: Spec = load_spec()
# Every service a guard names, one other monitored service, and one nobody monitors.
_MONITORED = default_monitored(SPEC, SPEC.defaults)
_NAMED = sorted(named_services(SPEC))
SERVICES = (
    *_NAMED,
    *sorted(_MONITORED - set(_NAMED))[:1],
    *sorted(set(SPEC.services) - _MONITORED - set(_NAMED))[:1],
)
EVENTS = tuple(SPEC.events)
# How far before and after a deadline the clock may land.
EPSILON = 0.5


def _scenario_runs() -> list[tuple[dict[str, object], Config, tuple[Step, ...]]]:
    """Each packaged scenario's parameters, start and steps (seed 0)."""
    out = []
    for path in packaged_scenarios():
        scenario = load_scenario(path, SPEC)
        run = run_scenario(SPEC, scenario, seed=0)
        out.append((dict(scenario.params), run.start, tuple(r.step for r in run.records)))
    return out


RUNS = _scenario_runs()


class Coverage:
    """What the machine's own steps reached, over every example of the run."""

    def __init__(self) -> None:
        self.rules: Counter[str] = Counter()
        self.pairs: Counter[str] = Counter()
        self.state_pairs: set[tuple[str, str]] = set()


COVERAGE = Coverage()


class CoreMachine(RuleBasedStateMachine):
    """The semantic core under random events, internal choices and well-aimed clock moves."""

    model: Model
    config: Config
    watch: Watch

    RUN: int | None = None  # the scenario run this machine starts in, or None

    @initialize(
        fallback=st.booleans(),
        prefix=st.integers(0, 40),
        start=st.sampled_from(tuple(SPEC.initial)),
        mix=st.booleans(),
    )
    def begin(self, fallback: bool, prefix: int, start: str, mix: bool) -> None:
        """Start from a starting point of trace format v1, or part way through the machine's
        scenario, whose remaining steps the `resume` rule replays - alone, or with random steps
        between them (`mix`)."""
        self.script: list[Step] = []
        self.mix = mix
        if self.RUN is not None:
            overrides, config, steps = RUNS[self.RUN]
            params = resolve_params(SPEC, {**overrides, "enable_automatic_fallback": fallback})
            self.model = Model(SPEC, params)
            cut = min(prefix, len(steps))
            self.config = steps[cut - 1].config if cut else config
            self.script = list(steps[cut:])
            note(f"start: scenario run {self.RUN} after {cut} step(s), fallback {fallback}")
        else:
            params = resolve_params(SPEC, {"enable_automatic_fallback": fallback})
            self.model = Model(SPEC, params)
            self.config = initial_config(self.model, start, (2, 1))
            note(f"start: {start}, automatic fallback {fallback}")
        self.watch = watch_start(self.model, self.config)
        assert check_config(self.model, self.config) == []

    # -- what the machine does
    def _take(self, steps: tuple[Step, ...], index: int) -> None:
        if not steps:
            return
        step = steps[index % len(steps)]
        before = self.config
        note(f"t={before.now:g}: {step.input} -> rule {step.rule}")
        violations = check_step(self.model, before, step, self.watch)
        assert violations == [], "\n".join(str(v) for v in violations)
        for inv, n in response_triggers(self.model, before, step):
            failure = check_response(self.model, inv, n, before, step)
            assert failure is None, str(failure.violation)
        self.watch = watch_step(self.model, self.watch, before, step)
        self.config = step.config
        if step.rule is not None:
            COVERAGE.rules[step.rule] += 1
        COVERAGE.pairs.update(documented_pairs(self.model, step.config))
        a, b = step.config.nodes
        COVERAGE.state_pairs.add((a.state, b.state))

    def _free(self) -> bool:
        return self.mix or not self.script

    @precondition(_free)
    @rule(
        event=st.sampled_from(EVENTS),
        node=st.integers(0, 1),
        service=st.sampled_from(SERVICES),
        user=st.integers(0, 7),
        choice=st.integers(0, 3),
    )
    def event(self, event: str, node: int, service: str, user: int, choice: int) -> None:
        fields = SPEC.events[event].fields
        if "user" in fields:
            if not self.config.users:
                return
            key = self.config.users[user % len(self.config.users)].key
            inp = EventInput(event, user=key)
        else:
            inp = EventInput(
                event,
                node if "node" in fields else None,
                service if "service" in fields else None,
            )
        self._take(apply(self.model, self.config, inp), choice)

    @precondition(lambda self: bool(self.script))
    @rule(count=st.integers(1, 8), choice=st.integers(0, 3))
    def resume(self, count: int, choice: int) -> None:
        """The scenario's next inputs, each at its time if the clock can get there, else now."""
        while self.script and count > 0:
            planned = self.script.pop(0)
            at = planned.config.now
            limit = deadline(self.model, self.config)
            if self.config.now < at and (limit is None or at <= limit):
                self.config = advance(self.model, self.config, at)
            inp = planned.input
            gone = isinstance(inp, EventInput) and inp.user and not self.config.count(inp.user)
            if gone:
                continue  # the run went elsewhere: that cohort is gone
            if isinstance(inp, EventInput) or inp in enabled(self.model, self.config):
                steps = apply(self.model, self.config, inp)
                if steps:
                    self._take(steps, choice)
                    count -= 1

    @precondition(_free)
    @rule(which=st.integers(0, 15), choice=st.integers(0, 3))
    def internal(self, which: int, choice: int) -> None:
        options = enabled(self.model, self.config)
        if options:
            inp = options[which % len(options)]
            self._take(apply(self.model, self.config, inp), choice)

    @precondition(_free)
    @rule(which=st.integers(0, 63))
    def tick(self, which: int) -> None:
        """Move the clock just before, at or just after a pending deadline (never past the
        latest time the clock may reach)."""
        now = self.config.now
        limit = deadline(self.model, self.config)
        points = {x for t in self.config.timers for x in (t.earliest, t.latest)}
        low, high = self.model.relogin_low, self.model.relogin_high
        points |= {
            c.waiting_since + d
            for c in self.config.users
            if c.waiting_since >= 0
            for d in (low, high)
        }
        targets = sorted(
            {
                p + d
                for p in points
                for d in (-EPSILON, 0.0, EPSILON)
                if p + d > now and (limit is None or p + d <= limit)
            }
        )
        if not targets:
            targets = [now + 100.0] if limit is None else [limit] if limit > now else []
        if targets:
            self.config = advance(self.model, self.config, targets[which % len(targets)])
            assert check_config(self.model, self.config) == []

    @invariant()
    def clock_respects_deadlines(self) -> None:
        limit = deadline(self.model, self.config) if hasattr(self, "config") else None
        assert limit is None or self.config.now <= limit


def machine(run: int | None) -> type[CoreMachine]:
    """The machine, starting in scenario run `run` (None: at the starting points)."""
    return type(f"CoreMachine{run}", (CoreMachine,), {"RUN": run})


SETTINGS = settings(
    stateful_step_count=30,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def test_the_core_keeps_every_invariant_and_reaches_every_documented_pair() -> None:
    # One machine per scenario run, so that each scenario's deep pairs are in reach; one from
    # the starting points, with more examples, for the purely random runs.
    run_state_machine_as_test(machine(None), settings=settings(SETTINGS, max_examples=60))
    for run in range(len(RUNS)):
        run_state_machine_as_test(machine(run), settings=settings(SETTINGS, max_examples=8))
    fired = sorted(COVERAGE.rules)
    print(f"transitions fired ({len(fired)} of {len(SPEC.transitions)}): {', '.join(fired)}")
    reached = sorted(COVERAGE.pairs, key=lambda p: int(p[1:]))
    print(f"documented pairs reached: {', '.join(reached)}")
    pairs = sorted(COVERAGE.state_pairs)
    print(f"state pairs reached ({len(pairs)}): {', '.join(f'{a}/{b}' for a, b in pairs)}")
    assert not missed_pairs(SPEC, COVERAGE), (
        f"the run never reached the documented pair(s) {', '.join(missed_pairs(SPEC, COVERAGE))}"
    )


def missed_pairs(spec: Spec, coverage: Coverage) -> list[str]:
    """The documented pairs in scope that the run never reached."""
    return [
        pid
        for pid, pair in spec.state_pairs.items()
        if pair.out_of_scope is None and pid not in coverage.pairs
    ]


def test_a_run_that_misses_a_pair_is_reported() -> None:
    """The coverage check can fail: it lists a documented pair that no step reached."""
    extra = dataclasses.replace(SPEC.state_pairs["P1"], id="P99")
    spec = dataclasses.replace(SPEC, state_pairs={**SPEC.state_pairs, "P99": extra})
    coverage = Coverage()
    coverage.pairs.update(p for p in SPEC.state_pairs if p != "P3")
    assert missed_pairs(spec, coverage) == ["P3", "P99"]
