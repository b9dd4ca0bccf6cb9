"""hasm.core.search, the kernel the explorer and the suite generator share: the inputs tried, the
services searched, the parameter variants, the mirror image, path rebuilding and the fault bound."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from hasm.core.config import NO_NODE, Cohort, Config, EventInput, Node, RunningTimer
from hasm.core.model import Model, default_monitored
from hasm.core.search import (
    Inputs,
    bounded,
    mirror,
    mirror_node,
    mirror_session,
    path,
    searched_services,
    settings,
    switches,
)
from hasm.core.semantics import apply, initial_config
from hasm.spec.model import Spec


def _monitored(spec: Spec) -> frozenset[str]:
    return default_monitored(spec, spec.defaults)


# -- services and inputs ---------------------------------------------------------------------------
def test_searched_services_are_the_named_ones_and_one_other(canonical_spec: Spec) -> None:
    # The canonical spec's guards name `database`; presence_engine is the first other monitored.
    monitored = _monitored(canonical_spec)
    for every_named in (False, True):
        got = searched_services(canonical_spec, monitored, every_named=every_named)
        assert got == ("database", "presence_engine")


def test_an_unmonitored_named_service_is_searched_only_when_asked(canonical_spec: Spec) -> None:
    # No guard tests an event's service in the canonical spec: an unmonitored named service
    # changes nothing a guard sees, so only `every_named` keeps it.
    assert searched_services(canonical_spec, frozenset(), every_named=False) == ()
    assert searched_services(canonical_spec, frozenset(), every_named=True) == ("database",)


def test_inputs_take_every_node_and_service_in_spec_order(canonical_spec: Spec) -> None:
    inputs = Inputs.of(canonical_spec, ("database", "presence_engine"))
    assert inputs.user_events == ("login", "logout")
    assert inputs.events[:2] == (EventInput("ha_enable"), EventInput("ha_disable"))
    stops = [i for i in inputs.events if i.name == "service_stop"]
    assert stops == [
        EventInput("service_stop", n, s) for n in (0, 1) for s in ("database", "presence_engine")
    ]
    assert [i.name for i in inputs.events] == sorted(
        (i.name for i in inputs.events), key=list(canonical_spec.events).index
    )
    assert not any(i.user is not None for i in inputs.events)


def test_user_events_are_tried_with_every_cohort(canonical_spec: Spec) -> None:
    model = Model(canonical_spec)
    config = initial_config(model, next(iter(canonical_spec.initial)), (1, 1))
    got = list(Inputs.of(canonical_spec, ()).for_users(config))
    assert got == [EventInput(e, user=c.key) for e in ("login", "logout") for c in config.users]
    assert len(got) == 4


def test_bounded_keeps_the_steps_within_the_fault_bound(canonical_spec: Spec) -> None:
    model = Model(canonical_spec)
    config = initial_config(model, next(iter(canonical_spec.initial)))
    down = apply(model, config, EventInput("node_down", 0))
    assert down and all(s.config.faults() == 1 for s in down)
    assert bounded(down, 1) == list(down)
    assert bounded(down, 0) == []


# -- parameter variants ----------------------------------------------------------------------------
def test_switches_follow_the_guards_asked_for(canonical_spec: Spec) -> None:
    assert switches(canonical_spec) == ["enable_automatic_fallback"]
    assert switches(canonical_spec, reasons=False, invariants="none") == [
        "enable_automatic_fallback"
    ]
    assert switches(canonical_spec, ["enable_automatic_fallback"]) == []


def _with_default(spec: Spec, name: str, value: bool) -> Spec:
    param = dataclasses.replace(spec.parameters[name], default=value)
    return dataclasses.replace(spec, parameters={**spec.parameters, name: param})


def test_settings_try_each_switch_both_ways(canonical_spec: Spec) -> None:
    names = ["enable_automatic_fallback", "enable_xcp_authentication_monitoring"]
    spec = _with_default(canonical_spec, names[0], True)
    assert list(settings(spec, names)) == [
        {names[0]: True, names[1]: False},
        {names[0]: True, names[1]: True},
        {names[0]: False, names[1]: False},
        {names[0]: False, names[1]: True},
    ]
    assert list(settings(spec, names, default_first=False)) == [
        {names[0]: False, names[1]: False},
        {names[0]: False, names[1]: True},
        {names[0]: True, names[1]: False},
        {names[0]: True, names[1]: True},
    ]
    assert list(settings(spec, [])) == [{}]


# -- symmetry --------------------------------------------------------------------------------------
def test_the_mirror_image_swaps_the_nodes_roles() -> None:
    assert (mirror_node(0), mirror_node(1)) == (1, 0)
    assert (mirror_session(0), mirror_session(1), mirror_session(NO_NODE)) == (1, 0, NO_NODE)
    a, b = Node("normal", "none"), Node("backup", "none", srm=False)
    config = Config(
        5.0,
        True,
        False,
        (a, b),
        (RunningTimer("t", 0, 1.0, 2.0, 3.0), RunningTimer("u", 1, 1.0, 2.0, 4.0)),
        (Cohort(0, 1, 2.0, 3), Cohort(1, NO_NODE, -1.0, 1)),
    )
    mirrored = mirror(config)
    assert mirrored.nodes == (b, a)
    assert (mirrored.now, mirrored.ha_enabled, mirrored.link_up) == (5.0, True, False)
    assert mirrored.timers == (
        RunningTimer("t", 1, 1.0, 2.0, 3.0),
        RunningTimer("u", 0, 1.0, 2.0, 4.0),
    )
    assert mirrored.users == (Cohort(0, NO_NODE, -1.0, 1), Cohort(1, 0, 2.0, 3))
    assert mirror(mirrored) == config


# -- paths -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Reached:
    parent: str | None
    step: str | None
    name: str


def test_a_path_runs_from_the_start_through_the_parents() -> None:
    seen = {
        "s": _Reached(None, None, "start"),
        "a": _Reached("s", "first", "a"),
        "b": _Reached("a", None, "b"),  # a clock move: no step recorded
        "c": _Reached("b", "second", "c"),
    }
    start, steps = path(seen, seen["c"], lambda n: n.step)
    assert start.name == "start"
    assert steps == ["first", "second"]
    assert path(seen, seen["s"], lambda n: n.step) == (seen["s"], [])
