"""The overview and the focused views of `hasm diagram`: which states and arcs they draw, in
which words, how wide, and the CLI's refusal of names the spec does not know."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from conftest import SMALL_SPEC, needs_dot

from hasm.cli import main
from hasm.core.model import Model
from hasm.review.diagram import (
    ANY_STATE,
    node_machine,
    overview,
    pair_machine_of,
    render,
    to_dot,
    to_mermaid,
    trigger_words,
)
from hasm.review.diagram_views import from_view, pair_view, trigger_view
from hasm.spec.loader import load_spec
from hasm.spec.model import Spec

SMALL = SMALL_SPEC


# -- trigger words --------------------------------------------------------------------------------
def test_triggers_in_words_with_durations_from_the_parameters(spec: Spec) -> None:
    model = Model(spec)
    assert trigger_words(model, "critical_service_down") == "critical service down 90 s"
    assert trigger_words(model, "automatic_fallback") == "automatic fallback 30 min"
    assert trigger_words(model, "heartbeat_loss") == "heartbeat loss 45 to 75 s"
    assert trigger_words(model, "user_move") == "user move 1 s to 1 min"  # two units: both said
    assert trigger_words(model, "fallback") == "administrator: fallback"
    assert trigger_words(model, "link_up") == "link up"
    defaults = {p.name: p.default for p in spec.parameters.values()}
    changed = Model(spec, {**defaults, "critical_service_down_delay_s": 120})
    assert trigger_words(changed, "critical_service_down") == "critical service down 2 min"


# -- the overview ---------------------------------------------------------------------------------
def test_overview_has_every_state_once_and_every_state_change(spec: Spec) -> None:
    view = overview(spec)
    assert [s.id for s in view.states] == sorted(spec.states)
    # Expected from the full machine: each side's move to another state, by (from, to).
    model = Model(spec)
    wanted: dict[tuple[str, str], set[str]] = {}
    for t in spec.transitions:
        rule = next(r for r in node_machine(spec).rules if r.id == t.id)
        for arc in rule.arcs:
            for source in arc.sources:
                if arc.target is not None and source != arc.target:
                    wanted.setdefault((source, arc.target), set()).update(
                        trigger_words(model, on) for on in spec.as_written(t.on)
                    )
    assert {(e.source, e.target): set(e.triggers) for e in view.edges} == wanted
    assert [(e.source, e.target) for e in view.edges] == sorted(wanted)  # one arc per pair


def test_parallel_rules_merge_into_one_arc_in_words(spec: Spec) -> None:
    edges = {(e.source, e.target): e for e in overview(spec).edges}
    # manual_failover and automatic_failover (and the initializing peer) take Normal to
    # Failing Over: one arc, each trigger once.
    assert edges["normal", "failing_over"].triggers == (
        "administrator: failover",
        "critical service down 90 s",
        "initialization 1 s to 1 min",
        "one critical service down 90 s",  # the per-service reading's timers, said once
    )
    # Two heartbeat-loss rules (peer down, peer reboot) take Normal to Backup: said once.
    assert edges["normal", "backup"].triggers == ("heartbeat loss 45 to 75 s",)
    assert ("normal", "normal") not in edges  # a kept state is no arc here


def test_the_main_cycle_runs_through_normal_and_avoids_resets(spec: Spec) -> None:
    main_edges = {(e.source, e.target) for e in overview(spec).edges if e.main}
    cycle = [("normal", "failing_over"), ("failing_over", "idle"), ("idle", "taking_back"),
             ("taking_back", "normal"), ("normal", "taking_over"), ("taking_over", "backup"),
             ("backup", "falling_back"), ("falling_back", "normal")]  # fmt: skip
    assert set(cycle) <= main_edges
    # States a rule enters from any state (Failed, Initializing, Unknown) are off the cycle.
    assert not {s for e in main_edges for s in e} & {"failed", "initializing", "unknown"}


def test_states_are_clustered_by_kind_and_named_by_id(spec: Spec) -> None:
    dot = to_dot(overview(spec))
    clusters = dict(re.findall(r"subgraph cluster_(\w+) \{(.*?)\n\t\}", dot, re.S))
    assert sorted(clusters) == sorted({s.kind for s in spec.states.values()})
    for kind, body in clusters.items():
        named = set(re.findall(r"^\t\t(\w+) \[", body, re.M))
        assert named == {s.id for s in spec.states.values() if s.kind == kind}


def test_overview_needs_no_spec_order(small: Spec) -> None:
    reordered = dataclasses.replace(
        small,
        transitions=tuple(reversed(small.transitions)),
        states=dict(reversed(small.states.items())),
        initial=dict(reversed(small.initial.items())),
    )
    assert to_dot(overview(reordered)) == to_dot(overview(small))
    assert to_mermaid(overview(reordered)) == to_mermaid(overview(small))
    for view in (from_view, trigger_view):
        name = "normal" if view is from_view else "failover"
        assert to_dot(view(reordered, name)) == to_dot(view(small, name))


def test_overview_mermaid_names_states_by_id(spec: Spec) -> None:
    text = to_mermaid(overview(spec))
    assert '    state "Normal" as normal' in text
    assert "    normal --> backup : heartbeat loss 45 to 75 s" in text


@needs_dot
def test_overview_fits_one_screen_and_renders_the_same_twice(spec: Spec) -> None:
    dot = to_dot(overview(spec))
    svg = render(dot, "svg")
    assert svg == render(dot, "svg")
    width = re.search(rb'<svg width="([\d.]+)pt"', svg)
    assert width is not None
    assert float(width.group(1)) * 4 / 3 <= 1600  # 1 pt = 4/3 px at 100%
    # An explorer page finds a state by the <title> graphviz gives its node: the state id.
    titles = set(re.findall(rb"<title>(\w+)</title>", svg))
    assert {s.encode() for s in spec.states} <= titles


# -- focused views --------------------------------------------------------------------------------
def test_trigger_view_draws_exactly_its_rules(spec: Spec) -> None:
    view = trigger_view(spec, "heartbeat_loss")
    wanted = sorted(t.id for t in spec.transitions if "heartbeat_loss" in t.on)
    assert [r.id for r in view.rules] == wanted
    shown = {s for r in view.rules for a in r.arcs for s in (*a.sources, a.target)}
    assert {s.id for s in view.states} == shown - {None, ANY_STATE}
    assert "heartbeat loss 45 to 75 s" in view.title


def test_from_view_is_one_step_around_the_state(spec: Spec) -> None:
    view = from_view(spec, "normal")
    full = {r.id: r for r in node_machine(spec).rules}
    named = {r.id for r in full.values() if any(
        "normal" in (*a.sources, a.target) for a in r.arcs)}  # fmt: skip
    anywhere = {r.id for r in full.values() if r.id not in named and any(
        ANY_STATE in a.sources for a in r.arcs)}  # fmt: skip
    assert {r.id for r in view.rules} == named
    for rule_id in sorted(anywhere):
        assert rule_id in view.title  # named, not drawn
    for rule in view.rules:  # a rule leaving Normal is drawn from Normal only
        for arc in rule.arcs:
            if "normal" in arc.sources and arc.target != "normal":
                assert arc.sources == ("normal",)
            else:
                assert arc == next(a for a in full[rule.id].arcs if a.role == arc.role)


def test_pair_view_is_the_rows_pairs_and_their_neighbours(small: Spec) -> None:
    machine = pair_machine_of(small)
    view = pair_view(small, machine, "P1")
    focus = {b.states for b in view.pairs if "P1" in b.rows}
    assert focus == {("normal", "normal")}
    touching = [a for a in machine.arcs if a.source in focus or a.target in focus]
    assert [(a.source, a.target) for a in view.arcs] == [(a.source, a.target) for a in touching]
    assert {b.states for b in view.pairs} == focus | {p for a in touching for p in (a.source,
            a.target)}  # fmt: skip
    on = {t.id: t.on for t in small.transitions}
    for arc, full in zip(view.arcs, touching, strict=True):  # each rule with its triggers
        model = Model(small)
        words = [f"{r} ({', '.join(trigger_words(model, x) for x in on[r])})" for r in full.rules]
        assert list(arc.rules) == words


# -- the CLI --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("option", "name", "message"),
    [
        ("--from", "nrmal", "--from: no state 'nrmal'; states: "),
        ("--trigger", "nope", "--trigger: no trigger 'nope'; triggers: "),
        ("--pair", "P99", "--pair: no pair 'P99'; pairs: P1"),
    ],
)
def test_unknown_names_are_bad_input_and_write_nothing(
    option: str, name: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["diagram", "--spec", str(SMALL), "--out", str(out), option, name]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"hasm: {SMALL}: {message}"), captured.err
    assert captured.err.count("\n") == 1
    assert not out.exists()


def test_focused_views_alone_unless_a_view_is_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["diagram", "--spec", str(SMALL), "--format", "dot"]
    one = tmp_path / "one"
    assert main([*args, "--out", str(one), "--from", "normal", "--trigger", "failover"]) == 0
    assert sorted(p.name for p in one.iterdir()) == ["from-normal.dot", "trigger-failover.dot"]
    two = tmp_path / "two"
    assert main([*args, "--out", str(two), "--view", "overview", "--pair", "P1"]) == 0
    assert sorted(p.name for p in two.iterdir()) == ["overview.dot", "pair-P1.dot"]
    three = tmp_path / "three"
    assert main([*args, "--out", str(three), "--view", "full"]) == 0
    assert sorted(p.name for p in three.iterdir()) == ["node-machine.dot", "pair-machine.dot"]
    capsys.readouterr()
    small = load_spec(SMALL)
    assert (one / "from-normal.dot").read_text(encoding="utf-8") == to_dot(
        from_view(small, "normal")
    )


@pytest.fixture(scope="module")
def small() -> Spec:
    return load_spec(SMALL)
