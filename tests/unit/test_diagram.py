"""`hasm diagram`: the node and pair machines as DOT, Mermaid and real `dot` output, byte for byte."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import SMALL_SPEC, needs_dot

from hasm.cli import main
from hasm.review.diagram import (
    ANY_STATE,
    NodeMachine,
    PairMachine,
    node_machine,
    pair_machine,
    pair_machine_of,
    render,
    to_dot,
    to_mermaid,
)
from hasm.spec.loader import load_spec
from hasm.spec.model import Spec

SMALL = SMALL_SPEC


def hasm(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hasm", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )


@dataclass(frozen=True)
class Found:
    """An exploration's result as the pair diagram reads it, for matching tests by hand."""

    pairs: frozenset[tuple[str, str]]
    pair_edges: frozenset[tuple[tuple[str, str], str, tuple[str, str]]]


@pytest.fixture(scope="module")
def small() -> Spec:
    return load_spec(SMALL)


@pytest.fixture(scope="module")
def small_pairs(small: Spec) -> PairMachine:
    return pair_machine_of(small)


# -- the node machine -----------------------------------------------------------------------------
def test_every_state_and_transition_is_drawn(spec: Spec) -> None:
    machine = node_machine(spec)
    dot, mermaid = to_dot(machine), to_mermaid(machine)
    for state in spec.states.values():
        assert re.search(rf'^\ts_{state.id} \[label="{re.escape(state.label)}\\n', dot, re.M)
        assert f'state "{state.label}" as s_{state.id}\n' in mermaid
    for t in spec.transitions:
        assert re.search(rf"^\tr_{t.id} \[label=", dot, re.M), t.id
        assert f'state "{t.id}" as r_{t.id}\n' in mermaid
    assert [r.id for r in machine.rules] == sorted(t.id for t in spec.transitions)


def test_arcs_follow_the_guards(spec: Spec) -> None:
    rules = {r.id: r for r in node_machine(spec).rules}
    # node.state lists the node's sources; an unconstrained peer comes from any state.
    backup_fails = {a.role: a for a in rules["backup_fails"].arcs}
    assert backup_fails["node"].sources == ("backup", "backup_activated")
    assert backup_fails["node"].target == "failed"
    assert backup_fails["peer"].sources == (ANY_STATE,)
    # A side with no target is not drawn; a reason-only target keeps the state.
    assert [a.role for a in rules["peer_down_takeover"].arcs] == ["node"]
    (keeps,) = rules["srm_restarts_in_failover"].arcs
    assert keeps.target is None and keeps.reason == "Initialization"
    assert "idle" in keeps.sources and "normal" not in keeps.sources
    # A choice of reason reads as the spec writes it.
    failover = {a.role: a for a in rules["automatic_failover"].arcs}
    assert failover["node"].reason == (
        "Database Failure if node.service_down: database, else Critical Service Down"
    )
    # Triggers: timers with their durations under the default parameters.
    assert rules["automatic_failover"].triggers == (
        "timer critical_service_down after critical_service_down_delay_s = 90 s",
        # A per-service entry's timers, named once by the entry.
        "timer one_critical_service_down after critical_service_down_delay_s = 90 s",
    )
    assert rules["srm_starts"].triggers == ("event srm_start", "event node_up")
    dot = to_dot(node_machine(spec))
    assert "\ts_backup -> r_backup_fails [arrowhead=none style=solid]" in dot
    assert "\tany_state -> r_backup_fails [arrowhead=none style=dashed]" in dot
    assert "\tr_backup_fails -> s_failed [label=peer style=dashed]" in dot
    assert '\tr_srm_restarts_in_failover -> s_idle [label="node stays" style=solid]' in dot


def test_a_negated_state_test_is_its_complement(tmp_path: Path) -> None:
    text = SMALL.read_text(encoding="utf-8")
    old = "    when: {ha_enabled: true}\n    effects: [disable_ha]"
    assert old in text
    path = tmp_path / "negated.yaml"
    new = "    when: {ha_enabled: true, not: {node.state: idle}}\n    effects: [disable_ha]"
    path.write_text(text.replace(old, new), encoding="utf-8")
    rules = {r.id: r for r in node_machine(load_spec(path)).rules}
    node_side = next(a for a in rules["disable_ha"].arcs if a.role == "node")
    assert node_side.sources == ("backup", "normal")


def test_output_does_not_depend_on_the_order_of_the_spec(small: Spec) -> None:
    reordered = dataclasses.replace(
        small,
        transitions=tuple(reversed(small.transitions)),
        states=dict(reversed(small.states.items())),
        initial=dict(reversed(small.initial.items())),
    )
    assert [t.id for t in reordered.transitions] != [t.id for t in small.transitions]
    assert to_dot(node_machine(reordered)) == to_dot(node_machine(small))
    assert to_mermaid(node_machine(reordered)) == to_mermaid(node_machine(small))


# -- the pair machine -----------------------------------------------------------------------------
def test_documented_pairs_are_marked(spec: Spec) -> None:
    found = Found(
        frozenset({("normal", "normal"), ("backup", "idle"), ("failed", "normal")}),
        frozenset(
            {
                (("normal", "normal"), "manual_failover", ("failing_over", "taking_over")),
                (("taking_over", "failing_over"), "manual_failover_complete", ("backup", "idle")),
            }
        ),
    )
    machine = pair_machine(spec, [found])
    rows = {box.states: box.rows for box in machine.pairs}
    assert rows[("normal", "normal")] == ("P1",)
    assert rows[("backup", "idle")] == ("P3", "P5", "P6", "P7")
    assert rows[("failed", "normal")] == ()
    # Pairs reached only as an edge's end are drawn, each once whichever node comes first.
    assert ("failing_over", "taking_over") in rows
    assert ("taking_over", "failing_over") not in rows
    not_drawn = dict(machine.not_drawn)
    assert not_drawn["P16"] == not_drawn["P17"] == "a node is down: the page shows no state for it"
    assert not_drawn["P14"].startswith("not reached by the exploration drawn")
    dot = to_dot(machine)
    assert re.search(r'p_backup_AND_idle \[label="[^"]*\\nP3 P5 P6 P7".*peripheries=2', dot)
    assert re.search(r"p_failed_AND_normal \[label=\"[^\"]*\" shape=box style=rounded\]", dot)
    assert "P16: a node is down" in dot
    mermaid = to_mermaid(machine)
    assert "    p_backup_AND_idle : documented P3 P5 P6 P7\n" in mermaid
    assert "    class p_backup_AND_idle documented\n" in mermaid
    assert "class p_failed_AND_normal documented" not in mermaid


def test_the_small_spec_explored(small_pairs: PairMachine) -> None:
    boxes = {box.states: box.rows for box in small_pairs.pairs}
    assert boxes == {("backup", "idle"): ("P2",), ("normal", "normal"): ("P1",)}
    arcs = {(a.source, a.target): a.rules for a in small_pairs.arcs}
    assert arcs[(("normal", "normal"), ("backup", "idle"))] == (
        "automatic_failover",
        "manual_failover",
    )
    assert arcs[(("backup", "idle"), ("normal", "normal"))] == ("disable_ha", "fallback")
    assert small_pairs.not_drawn == ()


# -- Mermaid ------------------------------------------------------------------------------------
_ID = r"[A-Za-z_][A-Za-z0-9_]*"
_STATEMENTS = [
    rf'state "[^"]+" as {_ID}',
    rf"{_ID} : .*[^:\s]",
    rf"(\[\*\]|{_ID}) --> {_ID} : .*[^:\s]",
    r"classDef \w+ [\w:#.,-]+",
    rf"class {_ID} \w+",
    r"direction LR",
]


@pytest.mark.parametrize("which", ["node", "pair"])
def test_mermaid_is_a_valid_state_diagram(which: str, spec: Spec, small: Spec) -> None:
    machines: list[NodeMachine | PairMachine] = (
        [node_machine(spec), node_machine(small)]
        if which == "node"
        else [pair_machine(small, [Found(frozenset({("idle", "backup")}), frozenset())])]
    )
    for machine in machines:
        text = to_mermaid(machine)
        assert text.startswith(f"# {machine.title}\n")
        block = text.split("```mermaid\n", 1)[1].split("```", 1)[0].splitlines()
        assert block[0] == "stateDiagram-v2"
        for line in block[1:]:
            assert line.startswith("    "), line
            body = line[4:]
            assert any(re.fullmatch(p, body) for p in _STATEMENTS), line
            # Characters that end a Mermaid statement or turn into HTML are never in a label.
            if " : " in body:
                assert not set(body.split(" : ", 1)[1]) & set(';#<>{}"'), line
        declared = {
            m.group(1) for line in block if (m := re.match(rf'    state ".*" as ({_ID})$', line))
        }
        used = {m for line in block for m in re.findall(rf"(?:^    |--> )({_ID})(?= )", line)}
        assert used - {"class", "classDef", "direction", "state"} <= declared


# -- real dot output ------------------------------------------------------------------------------
@needs_dot
def test_svg_from_dot_shows_every_state_and_is_stable(small: Spec) -> None:
    dot = to_dot(node_machine(small))
    svg = render(dot, "svg")
    assert svg == render(dot, "svg")
    text = svg.decode()
    assert text.startswith("<?xml")
    for state in small.states.values():
        assert f">{state.label}</text>" in text
    for t in small.transitions:
        assert f"<title>r_{t.id}</title>" in text
    png = render(dot, "png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


# -- the command line -----------------------------------------------------------------------------
ALL_FORMATS = ("--format", "svg", "--format", "png", "--format", "dot", "--format", "mermaid")


@pytest.mark.slow  # one of the unit tests the quick loop leaves to `make test`
@needs_dot
def test_cli_output_is_byte_identical_whatever_the_hash_seed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # This process runs with its own hash seed; a second process runs with another one.
    seed = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
    there = tmp_path / "there"
    result = hasm("diagram", "--spec", str(SMALL), "--out", str(there), *ALL_FORMATS,
                  env={"PYTHONHASHSEED": seed})  # fmt: skip
    assert result.returncode == 0, result.stderr
    # Without a view option: the full machines and the overview beside them.
    names = sorted(
        f"{m}.{s}"
        for m in ("node-machine", "pair-machine", "overview")
        for s in ("svg", "png", "dot", "md")
    )
    assert sorted(p.name for p in there.iterdir()) == names
    assert result.stdout.splitlines() == [str(there / n) for n in names]
    here = tmp_path / "here" / "new"  # made as needed
    assert main(["diagram", "--spec", str(SMALL), "--out", str(here)]) == 0  # svg by default
    assert capsys.readouterr().out.splitlines() == [
        str(here / "node-machine.svg"),
        str(here / "overview.svg"),
        str(here / "pair-machine.svg"),
    ]
    for name in ("node-machine.svg", "overview.svg", "pair-machine.svg"):
        assert (here / name).read_bytes() == (there / name).read_bytes()
    assert (there / "node-machine.dot").read_text(encoding="utf-8") == to_dot(
        node_machine(load_spec(SMALL))
    )


def test_dot_and_mermaid_need_no_dot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no `dot` anywhere on it
    out = tmp_path / "o"
    assert main(["diagram", "--spec", str(SMALL), "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        "hasm: graphviz's 'dot' is missing (fix: run 'make graphviz' or 'apt-get install graphviz')\n"
    )
    assert not out.exists()
    args = ["diagram", "--spec", str(SMALL), "--out", str(out), "--format", "dot"]
    assert main([*args, "--format", "mermaid"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "node-machine.dot",
        "node-machine.md",
        "overview.dot",
        "overview.md",
        "pair-machine.dot",
        "pair-machine.md",
    ]


@pytest.mark.slow  # one of the unit tests the quick loop leaves to `make test`
def test_bad_format_is_a_usage_error(tmp_path: Path) -> None:
    result = hasm("diagram", "--format", "gif", "--out", str(tmp_path))
    assert result.returncode == 2
    assert "hasm: error: argument --format: invalid choice: 'gif'" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_unwritable_out_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    out = blocker / "diagrams"
    assert main(["diagram", "--spec", str(SMALL), "--format", "dot", "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        f"hasm: {out}: --out: cannot create the directory: Not a directory\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_broken_spec_is_bad_input_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    text = SMALL.read_text(encoding="utf-8")
    assert text.count("    node: {state: idle, reason: admin}") == 1
    text = text.replace(
        "    node: {state: idle, reason: admin}", "    node: {state: gone, reason: admin}"
    )
    broken.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["diagram", "--spec", str(broken), "--format", "dot", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    line = next(i for i, x in enumerate(text.splitlines(), 1) if "state: gone" in x)
    assert err.startswith(f"hasm: {broken}:{line}: transitions[2].node.state: "), err
    assert not out.exists()
