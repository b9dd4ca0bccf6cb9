"""hasm mutants: mutants are made as data, a generated suite kills them, survivors and equivalent
mutants are reported; the CLI end to end.

The small test specs run in seconds. The canonical spec's full analysis (about 670 mutants
against about 360 cases) takes minutes on two cores: it is measured by `make bench`
(bench/mutants_bench.py), not tested here.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from hasm.cli import main as hasm_main
from hasm.spec.loader import load_spec
from hasm.spec.model import TRUE, Spec
from hasm.suite.files import read_suite, write_suite
from hasm.suite.generate import generate
from hasm.suite.mutants import mutants, run_mutants, selected

SMALL = Path(__file__).parents[1] / "specs" / "small.yaml"

# Two rules on one timer: when the service stays down on a node, it fails over if its peer's
# runs, and both only record it if the peer's is down too. Dropping `peer.monitored_down:
# false` from automatic_failover lets it fire beside both_down: the spec's outcome stays one
# of the mutant's, so only a negative case claiming the failover can tell them apart.
TWIN_RULES = """
hasm_spec: 1
id: twin-rules
title: Two rules on one timer (test spec)
scope: A node whose service stays down fails over, unless its peer's is down too.
sources:
  T1: {title: "hasm test fixture", where: tests/test_mutants.py}
parameters:
  service_down_delay_s: {cisco_name: (test), type: seconds, default: 30, range: [1, 600],
                         description: How long the service may be down., source: T1}
  relogin_min_s: {cisco_name: (test), type: seconds, default: 10, range: [0, 600],
                  description: The least re-login wait., source: T1}
  relogin_max_s: {cisco_name: (test), type: seconds, default: 20, range: [0, 600],
                  description: The most re-login wait., source: T1}
services:
  engine: {name: Engine, monitored_by_default: true, source: T1}
states:
  normal: {label: Normal, kind: stable, hosts: own, definition: Serves its own., source: T1}
  idle: {label: Idle, kind: steady, hosts: none, definition: Serves nobody., source: T1}
  backup: {label: Backup, kind: stable, hosts: own_and_peer, definition: Serves both., source: T1}
reasons:
  normal: {label: Normal, source: T1}
  service_down: {label: Service Down, source: T1}
  both_down: {label: Both Down, source: T1}
display:
  unreachable: {state: idle, reason: normal}
initial:
  ha_disabled: {ha_enabled: false, state: normal, reason: normal}
  normal: {ha_enabled: true, state: normal, reason: normal}
events:
  ha_enable: {kind: admin, description: HA is enabled., source: T1}
  service_stop: {kind: environment, fields: [node, service], effect: stop_service,
                 description: A service stops.}
  service_start: {kind: environment, fields: [node, service], effect: start_service,
                  description: A service starts.}
timers:
  service_down:
    per: node
    duration: service_down_delay_s
    while: {ha_enabled: true, node.state: normal, peer.state: normal, node.monitored_down: true}
    description: The service has been down on a Normal node whose peer is Normal.
    source: T1
  client_relogin:
    per: user
    duration: {min: relogin_min_s, max: relogin_max_s}
    description: A client whose session ended waits, then logs in again.
    source: T1
transitions:
  - {id: enable_ha, summary: HA is enabled., on: ha_enable, when: {ha_enabled: false},
     effects: [enable_ha], source: T1}
  - id: automatic_failover
    summary: The service stayed down and the peer's runs; the node fails over.
    on: service_down
    when: {node.state: normal, peer.state: normal, peer.monitored_down: false}
    node: {state: idle, reason: service_down}
    peer: {state: backup, reason: service_down}
    source: T1
  - id: both_down
    summary: The service stayed down on both nodes; both record it.
    on: service_down
    when: {node.state: normal, peer.state: normal, peer.monitored_down: true}
    node: {reason: both_down}
    peer: {reason: both_down}
    source: T1
invariants:
  - {id: home_never_changes, statement: Homes never change., kind: home_fixed, source: T1}
state_pairs:
  P1: {node1: {state: normal, reason: normal}, node2: {state: normal, reason: normal}}
assumptions: {}
"""


@pytest.fixture(scope="module")
def small() -> Spec:
    return load_spec(SMALL)


def test_mutants_are_one_change_each_and_leave_the_spec_alone(small: Spec) -> None:
    every = mutants(small)
    assert len({m.id for m in every}) == len(every) > 20
    kinds = {m.id.split(":")[0] for m in every}
    assert kinds == {"param", "timer", "transition"}
    for m in every:
        changed = [
            f.name
            for f in dataclasses.fields(Spec)
            if f.init and getattr(m.spec, f.name) != getattr(small, f.name)
        ]
        assert len(changed) == 1, (m.id, changed)
    assert small == load_spec(SMALL)  # the spec itself is untouched


def test_a_dropped_guard_is_a_mutant(small: Spec) -> None:
    dropped = [
        m
        for m in mutants(small)
        if m.id.startswith("transition:") and m.id.endswith(":guard-dropped")
    ]
    assert dropped
    for m in dropped:
        t = next(t for t in m.spec.transitions if m.id.split(":")[1] == t.id)
        assert t.when == TRUE


def test_the_generated_suite_kills_the_small_spec_mutants(small: Spec, tmp_path: Path) -> None:
    write_suite(generate(small), tmp_path / "suite")
    cases = read_suite(tmp_path / "suite")
    report = run_mutants(small, cases, jobs=1)
    assert report.killed > 0
    # Every mutant no trace within the search's bounds tells apart from the spec is flagged
    # equivalent; the suite kills all the others - the timer's conditions included, whose cases
    # observe the page after the timer's window even when nothing changed.
    assert not report.survivors, report.text()
    assert {r.id for r in report.results if r.killed_by is not None} >= {
        "timer:service_down:while:guard-dropped",
        "timer:service_down:while:condition-1-dropped",
        "timer:service_down:while:condition-4-dropped",
    }
    text = report.text()
    assert "kill rate" in text
    for survivor in report.survivors:
        assert survivor.id in text


def test_a_condition_that_lets_a_rule_fire_beside_another_is_killed(tmp_path: Path) -> None:
    """The negative case for a condition claims the page as if its rule had fired, as the
    first record after the step: an observation of what the spec did there first would rule
    out what the mutant may do as well, and the claim would be refused under both."""
    path = tmp_path / "twin-rules.yaml"
    path.write_text(TWIN_RULES, encoding="utf-8")
    spec = load_spec(path)
    write_suite(generate(spec), tmp_path / "suite")
    cases = read_suite(tmp_path / "suite")
    dropped = ["transition:automatic_failover:condition-3-dropped"]
    report = run_mutants(spec, cases, jobs=1, only=dropped)
    [result] = report.results
    assert result.killed_by is not None and result.killed_by.endswith(
        "-condition-automatic_failover-3-fired.jsonl"
    ), report.text()
    case = next(c for c in cases if c.name == result.killed_by)
    assert case.verdict == "diverges"
    *before, claim = (json.loads(line) for line in case.text.splitlines()[1:])
    shown = {n["state"] for n in claim["observe"]["nodes"].values()}
    assert shown == {"Idle", "Backup"}  # as if one node had failed over to the other
    assert not ("observe" in before[-1] and before[-1]["t"] == claim["t"])


# HA is enabled while one SRM is stopped: that node's state and reason are kept but not shown
# (the page shows it Unknown / Unknown) until its SRM starts. Starting it makes an Unknown node
# Normal / Normal, whatever its reason was, but leaves an Idle one Idle.
HIDDEN_STATE = """
hasm_spec: 1
id: hidden-state
title: A node whose SRM is stopped keeps a state nobody sees (test spec)
scope: HA is enabled while one SRM is stopped; that node's state shows once its SRM starts.
sources:
  T1: {title: "hasm test fixture", where: tests/test_mutants.py}
parameters:
  relogin_min_s: {cisco_name: (test), type: seconds, default: 10, range: [0, 600],
                  description: The least re-login wait., source: T1}
  relogin_max_s: {cisco_name: (test), type: seconds, default: 20, range: [0, 600],
                  description: The most re-login wait., source: T1}
services:
  engine: {name: Engine, monitored_by_default: true, source: T1}
states:
  unknown: {label: Unknown, kind: unknown, hosts: own, definition: Not known., source: T1}
  idle: {label: Idle, kind: steady, hosts: none, definition: Serves nobody., source: T1}
  normal: {label: Normal, kind: stable, hosts: own, definition: Serves its own., source: T1}
reasons:
  normal: {label: Normal, source: T1}
  unknown: {label: Unknown, source: T1}
  initialization: {label: Initialization, source: T1}
display:
  unreachable: {state: unknown, reason: unknown}
initial:
  ha_disabled: {ha_enabled: false, state: unknown, reason: unknown}
  normal: {ha_enabled: true, state: normal, reason: normal}
events:
  ha_enable: {kind: admin, description: HA is enabled., source: T1}
  srm_stop: {kind: environment, fields: [node], effect: srm_stop, description: SRM stops.}
  srm_start: {kind: environment, fields: [node], effect: srm_start, description: SRM starts.}
timers:
  client_relogin:
    per: user
    duration: {min: relogin_min_s, max: relogin_max_s}
    description: A client whose session ended waits, then logs in again.
    source: T1
transitions:
  - id: enable_ha
    summary: HA is enabled with both SRMs running.
    on: ha_enable
    when: {ha_enabled: false, node.srm_running: true, peer.srm_running: true}
    effects: [enable_ha]
    node: {state: normal, reason: normal}
    peer: {state: normal, reason: normal}
    source: T1
  - id: enable_ha_peer_stopped
    summary: HA is enabled while the peer's SRM is stopped; the peer's state is unknown.
    on: ha_enable
    when: {ha_enabled: false, node.srm_running: true, peer.srm_running: false}
    effects: [enable_ha]
    node: {state: normal, reason: normal}
    peer: {state: unknown, reason: unknown}
    source: T1
  - id: srm_starts
    summary: SRM starts on a node that was Unknown or Normal; it is Normal.
    on: srm_start
    when: {ha_enabled: true, node.state: [unknown, normal]}
    node: {state: normal, reason: normal}
    source: T1
  - id: srm_restarts_idle
    summary: SRM starts on an Idle node; it stays Idle.
    on: srm_start
    when: {ha_enabled: true, node.state: idle}
    node: {reason: initialization}
    source: T1
invariants:
  - {id: home_never_changes, statement: Homes never change., kind: home_fixed, source: T1}
state_pairs:
  P1: {node1: {state: normal, reason: normal}, node2: {state: normal, reason: normal}}
assumptions: {}
"""


def test_a_difference_no_record_shows_is_equivalent_and_one_shown_later_is_not(
    tmp_path: Path,
) -> None:
    """A mutant that gives the stopped SRM's node another reason steps differently from the
    spec, but only in what the page never shows, and starting the SRM overwrites it: no trace
    tells it apart, and it is flagged equivalent. One that gives it the state Idle differs in
    the same unseen way at first, but Idle survives the SRM's start: it is not equivalent, and
    the generated suite kills it."""
    path = tmp_path / "hidden-state.yaml"
    path.write_text(HIDDEN_STATE, encoding="utf-8")
    spec = load_spec(path)
    reason = "transition:enable_ha_peer_stopped:peer-reason-initialization-instead-of-unknown"
    state = "transition:enable_ha_peer_stopped:peer-state-idle-instead-of-unknown"
    alone = run_mutants(spec, [], jobs=1, only=[reason, state])
    assert [r.id for r in alone.equivalent] == [reason]
    assert [r.id for r in alone.survivors] == [state]
    write_suite(generate(spec), tmp_path / "suite")
    report = run_mutants(spec, read_suite(tmp_path / "suite"), jobs=1)
    assert not report.survivors, report.text()
    assert state not in {r.id for r in report.equivalent}


def test_only_selects_mutants_by_pattern(small: Spec) -> None:
    every = mutants(small)
    assert selected(every, []) == every
    whiles = selected(every, ["timer:service_down:while:*"])
    assert whiles and all(m.id.startswith("timer:service_down:while:") for m in whiles)
    dropped = selected(every, ["guard-dropped"])  # no wildcard: ids that contain it
    assert dropped and all("guard-dropped" in m.id for m in dropped)
    both = selected(every, ["guard-dropped", "timer:service_down:while:*"])
    assert [m.id for m in both] == [m.id for m in every if m in dropped or m in whiles]
    assert selected(every, ["no-such-mutant"]) == []


def test_an_empty_suite_kills_nothing(small: Spec) -> None:
    report = run_mutants(small, [], jobs=1, check_equivalence=False)
    assert report.killed == 0
    assert len(report.survivors) == len(mutants(small))


def test_the_cli_reports_the_kill_rate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "suite"
    assert hasm_main(["generate", "--spec", str(SMALL), "--out", str(out)]) == 0
    capsys.readouterr()
    code = hasm_main(["mutants", "--spec", str(SMALL), "--suite", str(out), "-j", "2"])
    text = capsys.readouterr().out
    assert code == 0
    assert "kill rate" in text and "mutants:" in text
    code = hasm_main(
        ["mutants", "--spec", str(SMALL), "--suite", str(out), "-j", "1", "--only", "fallback"]
    )
    text = capsys.readouterr().out
    assert code == 0
    ran = len([m for m in mutants(load_spec(SMALL)) if "fallback" in m.id])
    assert text.startswith(f"{ran} mutants: ")
    with pytest.raises(SystemExit) as exit_:
        hasm_main(["mutants", "--spec", str(SMALL), "--suite", str(out), "--min-rate", "100.5"])
    assert exit_.value.code == 2  # not a percentage
    assert "between 0 and 100" in capsys.readouterr().err
