"""`hasm lint`: each check catches a defect planted in the small spec, names every offender and
its line; the canonical spec is clean with its acceptances; acceptances that go stale are found."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hasm.cli import EXIT_FALSE, EXIT_INPUT, EXIT_OK, main
from hasm.review.lint import CHECKS, Finding, lint, reachable_pairs
from hasm.sim.runner import run_scenario
from hasm.sim.scenario import load_scenario, packaged_scenarios
from hasm.spec.loader import load_spec
from hasm.spec.schemas import load_schema

SMALL = Path(__file__).parents[1] / "specs" / "small.yaml"
SMALL_TEXT = SMALL.read_text(encoding="utf-8")


def planted(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    """The small spec with each `old` text (found exactly once) replaced by `new`."""
    text = SMALL_TEXT
    for old, new in edits:
        assert text.count(old) == 1, f"{old!r} is not in tests/specs/small.yaml exactly once"
        text = text.replace(old, new)
    path = tmp_path / "planted.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def findings(path: Path, check: str) -> list[Finding]:
    return [f for f in lint(load_spec(path)).findings if f.check == check]


def line_of(path: Path, text: str) -> int:
    content = path.read_text(encoding="utf-8")
    assert content.count(text) == 1
    return content[: content.index(text)].count("\n") + 1


def test_the_small_spec_is_clean() -> None:
    result = lint(load_spec(SMALL))
    assert result.clean, [str(f) for f in result.findings]
    assert result.accepted == ()


def test_unreachable_state(tmp_path: Path) -> None:
    # Nothing leads to the new state, and nothing to `idle` once failover goes to `backup` both ways.
    path = planted(
        tmp_path,
        (
            "states:\n",
            "states:\n  lost:\n    label: Lost\n    kind: error\n    hosts: none\n"
            "    definition: Never entered.\n    source: T1\n",
        ),
    )
    found = findings(path, "unreachable_state")
    assert [f.offender for f in found] == ["lost"]
    assert found[0].line == line_of(path, "  lost:")


def test_no_way_out(tmp_path: Path) -> None:
    # Fallback and HA disable keep the states, and HA enable needs Normal nodes: an Idle node and
    # its Backup peer are left by nothing.
    path = planted(
        tmp_path,
        (
            "    node: {state: normal, reason: normal}\n    peer: {state: normal, reason: normal}\n"
            "    source: T1\n\ninvariants:",
            "    node: {reason: normal}\n    source: T1\n\ninvariants:",
        ),
        (
            "    node: {state: normal, reason: ha_off}\n    peer: {state: normal, reason: ha_off}",
            "    node: {reason: ha_off}\n    peer: {reason: ha_off}",
        ),
        (
            "    when: {ha_enabled: false}\n",
            "    when: {ha_enabled: false, node.state: normal, peer.state: normal}\n",
        ),
    )
    found = findings(path, "no_way_out")
    assert sorted(f.offender for f in found) == ["backup", "idle"]


def test_overlapping_guards(tmp_path: Path) -> None:
    # A second failover rule that also matches a Normal node next to a Normal peer.
    path = planted(
        tmp_path,
        (
            "  - id: automatic_failover\n",
            "  - id: failover_too\n    summary: Also a failover.\n    on: failover\n"
            "    when: {node.state: normal}\n    node: {state: idle, reason: service_down}\n"
            "    source: T1\n  - id: automatic_failover\n",
        ),
    )
    found = findings(path, "overlapping_guards")
    assert [f.offender for f in found] == ["manual_failover / failover_too"]
    assert "normal/normal" in found[0].why
    assert found[0].line == line_of(path, "  - id: failover_too")


def test_overlap_excluded_by_a_law_of_the_world_is_not_reported(tmp_path: Path) -> None:
    # `connected` needs the node up: a rule for a connected node and one for a down node never
    # both hold, although each guard alone can.
    path = planted(
        tmp_path,
        (
            "    when: {ha_enabled: true, node.state: normal, peer.state: normal}\n"
            "    node: {state: idle, reason: admin}",
            "    when: {ha_enabled: true, node.state: normal, peer.state: normal, connected: true}\n"
            "    node: {state: idle, reason: admin}",
        ),
        (
            "  - id: automatic_failover\n",
            "  - id: failover_down\n    summary: A down node.\n    on: failover\n"
            "    when: {node.state: normal, node.up: false}\n    node: {state: idle, reason: admin}\n"
            "    source: T1\n  - id: automatic_failover\n",
        ),
    )
    assert findings(path, "overlapping_guards") == []


def test_overlap_of_a_group_event_with_roles_swapped(tmp_path: Path) -> None:
    # ha_enable names no node: a rule that treats node and peer differently can match either way.
    path = planted(
        tmp_path,
        (
            "    node: {state: normal, reason: normal}\n    peer: {state: normal, reason: normal}\n"
            "    source: T1\n  - id: disable_ha",
            "    node: {state: normal, reason: normal}\n    peer: {state: idle, reason: normal}\n"
            "    source: T1\n  - id: disable_ha",
        ),
    )
    found = findings(path, "overlapping_guards")
    assert [f.offender for f in found] == ["enable_ha / enable_ha (roles swapped)"]


def test_unhandled_event(tmp_path: Path) -> None:
    # The invariant says fallback belongs to an Idle node, but the fallback rule now needs Backup.
    path = planted(
        tmp_path,
        (
            "    when: {ha_enabled: true, node.state: idle, peer.state: backup, node.monitored_down: false}",
            "    when: {ha_enabled: true, node.state: backup, peer.state: idle, node.monitored_down: false}",
        ),
    )
    found = findings(path, "unhandled_event")
    assert [f.offender for f in found] == ["fallback in idle"]
    assert found[0].line == line_of(path, "  - id: fallback_only_to_idle")


def test_unused_parameter_timer_reason_service_assumption(tmp_path: Path) -> None:
    path = planted(
        tmp_path,
        (
            "parameters:\n",
            "parameters:\n  spare_s:\n    cisco_name: (test)\n    type: seconds\n    default: 1\n"
            "    range: [0, 2]\n    description: Read by nothing.\n    source: T1\n",
        ),
        (
            "  engine: {name: Engine, monitored_by_default: true, source: T1}\n",
            "  engine: {name: Engine, monitored_by_default: true, source: T1}\n"
            "  spare: {name: Spare, monitored_by_default: false, source: T1}\n",
        ),
        (
            "  ha_off: {label: HA Off, source: T1}\n",
            "  ha_off: {label: HA Off, source: T1}\n  never: {label: Never, source: T1}\n",
        ),
        (
            "  client_relogin:\n",
            "  idle_timer:\n    per: node\n    duration: service_down_delay_s\n"
            "    while: {node.state: idle}\n    description: Taken by nothing.\n    source: T1\n"
            "  client_relogin:\n",
        ),
        (
            "assumptions: {}\n",
            "assumptions:\n  A-spare: {statement: Nothing uses it., why: A test.}\n",
        ),
    )
    spec = load_spec(path)
    by_check = {
        check: [f.offender for f in lint(spec).findings if f.check == check]
        for check in ("unused_parameter", "unused_service", "unused_reason", "unused_timer",
                      "unused_assumption")
    }  # fmt: skip
    assert by_check == {
        "unused_parameter": ["spare_s"],
        "unused_service": ["spare"],
        "unused_reason": ["never"],
        "unused_timer": ["idle_timer"],
        "unused_assumption": ["A-spare"],
    }


def test_unsourced_transition(tmp_path: Path) -> None:
    path = planted(
        tmp_path,
        (
            "    peer: {state: backup, reason: service_down}\n    source: T1\n",
            "    peer: {state: backup, reason: service_down}\n",
        ),
    )
    found = findings(path, "unsourced")
    assert [f.offender for f in found] == ["transition automatic_failover"]
    assert found[0].line == line_of(path, "  - id: automatic_failover")


def test_timer_lapses(tmp_path: Path) -> None:
    # The timer also runs next to a Backup peer, where no rule takes it.
    path = planted(
        tmp_path,
        (
            "    while: {ha_enabled: true, node.state: normal, peer.state: normal, node.monitored_down: true}",
            "    while: {ha_enabled: true, node.state: normal, node.monitored_down: true}",
        ),
        (
            "    when: {node.state: normal, peer.state: normal}\n    node: {state: idle, reason: service_down}",
            "    when: {node.state: normal, peer.state: normal, connected: true}\n"
            "    node: {state: idle, reason: service_down}",
        ),
    )
    found = findings(path, "timer_lapses")
    # Normal/Normal without the link is a lapse; Normal next to Idle or Backup is not reachable.
    assert [f.offender for f in found] == ["service_down in normal/normal"]
    assert found[0].line == line_of(path, "  service_down:\n    per: node")


def test_acceptance_and_stale_acceptance(tmp_path: Path) -> None:
    path = planted(
        tmp_path,
        (
            "    peer: {state: backup, reason: service_down}\n    source: T1\n",
            "    peer: {state: backup, reason: service_down}\n",
        ),
        (
            "assumptions: {}\n",
            "assumptions:\n  A-test: {statement: A test., why: A test.}\n"
            "accepted:\n"
            "  - {check: unsourced, offender: transition automatic_failover, why: planted, "
            "assumption: A-test}\n"
            "  - {check: unused_timer, offender: [nothing_here], why: stale}\n",
        ),
    )
    result = lint(load_spec(path))
    assert [(f.check, f.offender) for f in result.accepted] == [
        ("unsourced", "transition automatic_failover")
    ]
    assert result.accepted[0].accepted is not None
    assert result.accepted[0].accepted.assumption == "A-test"
    assert [(f.check, f.offender) for f in result.findings] == [
        ("stale_acceptance", "unused_timer: nothing_here")
    ]
    assert result.findings[0].line == line_of(path, "  - {check: unused_timer")


def test_the_canonical_spec_lints_clean_with_every_acceptance_used() -> None:
    spec = load_spec()
    result = lint(spec)
    assert result.clean, [str(f) for f in result.findings]
    accepted = {(f.check, f.offender) for f in result.accepted}
    declared = {(a.check, o) for a in spec.accepted for o in a.offenders}
    assert accepted == declared
    # The known real lapse: critical_service_down on a Normal node beside a failed peer.
    assert ("timer_lapses", "critical_service_down in normal/failed") in accepted
    # Every acceptance of the canonical spec gives a reason.
    assert all(a.why for a in spec.accepted)


def test_without_its_acceptances_the_canonical_spec_has_findings(tmp_path: Path) -> None:
    text = load_spec().path
    content = Path(text).read_text(encoding="utf-8")
    cut = content[: content.index("\naccepted:\n")] + "\n"
    path = tmp_path / "imp-ha.yaml"
    path.write_text(cut, encoding="utf-8")
    result = lint(load_spec(path))
    # Its assumption for the lapses is then used by nothing, so that is reported too.
    assert {f.check for f in result.findings} == {
        "unused_service",
        "timer_lapses",
        "overlapping_guards",  # the twins of A-p11-reason
        "unused_assumption",
    }
    assert result.accepted == ()


def test_schema_names_every_check() -> None:
    enum = load_schema("spec")["properties"]["accepted"]["items"]["properties"]["check"]["enum"]
    assert enum == list(CHECKS)


def test_static_reachability_covers_every_pair_a_scenario_reaches() -> None:
    spec = load_spec()
    pairs = set(reachable_pairs(spec))
    for path in packaged_scenarios():
        run = run_scenario(spec, load_scenario(path, spec), 0)
        for record in run.records:
            a, b = record.step.config.nodes
            assert (a.state, b.state) in pairs


# -- the command ----------------------------------------------------------------------------------
def test_cli_exit_codes_and_located_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lint"]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "imp-ha.yaml: clean; 32 accepted with a reason (--accepted lists them)"
    ]
    assert main(["lint", "--accepted"]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "imp-ha.yaml: clean; 32 accepted with a reason"
    assert ": accepted timer_lapses: critical_service_down in normal/failed: " in out
    assert len(out.splitlines()) == 33

    path = planted(
        tmp_path,
        (
            "    peer: {state: backup, reason: service_down}\n    source: T1\n",
            "    peer: {state: backup, reason: service_down}\n",
        ),
    )
    assert main(["lint", "--spec", str(path)]) == EXIT_FALSE
    out = capsys.readouterr().out
    line = line_of(path, "  - id: automatic_failover")
    assert f"{path}:{line}: unsourced: transition automatic_failover: " in out
    assert main(["lint", "--spec", str(path), "--format", "json"]) == EXIT_FALSE
    doc = json.loads(capsys.readouterr().out)
    assert doc["clean"] is False
    assert doc["findings"][0]["line"] == line


def test_cli_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(SMALL_TEXT.replace("kind: stable\n    hosts: own\n", "kind: stable\n", 1))
    assert main(["lint", "--spec", str(broken)]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert err.startswith(f"hasm: {broken}:") and "missing key 'hosts'" in err
    assert "Traceback" not in err
    assert main(["lint", "--spec", str(tmp_path / "missing.yaml")]) == EXIT_INPUT


def _canonical_with_low_relogin(tmp_path: Path) -> Path:
    text = Path(load_spec().path).read_text(encoding="utf-8")
    old = "    cisco_name: Client Re-Login Lower Limit\n    type: seconds\n    default: 120\n"
    assert text.count(old) == 1
    path = tmp_path / "low.yaml"
    path.write_text(text.replace(old, old.replace("120", "60")), encoding="utf-8")
    return path


def test_a_default_against_the_vendors_advice_is_a_warning_that_does_not_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """S3: the lower re-login limit is based on the Critical Service Down Delay. A default below
    it is listed as a warning; the spec stays clean and the exit 0."""
    path = _canonical_with_low_relogin(tmp_path)
    result = lint(load_spec(path))
    assert result.clean
    (warning,) = result.warnings
    assert (warning.check, warning.offender) == ("parameter_advice", "client_relogin_lower_limit_s")
    assert warning.line == line_of(path, "    cisco_name: Client Re-Login Lower Limit\n") + 2
    assert "S3" in warning.why
    assert main(["lint", "--spec", str(path)]) == EXIT_OK
    out = capsys.readouterr().out
    assert ": warning parameter_advice: client_relogin_lower_limit_s: " in out
    assert out.splitlines()[-1].endswith("; 1 warning(s)")
    assert main(["lint", "--spec", str(path), "--format", "json"]) == EXIT_OK
    doc = json.loads(capsys.readouterr().out)
    assert doc["clean"] is True
    assert [w["check"] for w in doc["warnings"]] == ["parameter_advice"]
    assert main(["validate", "--spec", str(path)]) == EXIT_OK
    captured = capsys.readouterr()
    assert "ok - 14 states" in captured.out
    assert "parameters.client_relogin_lower_limit_s: warning: " in captured.err


def test_the_canonical_spec_has_no_warning() -> None:
    assert lint(load_spec()).warnings == ()
