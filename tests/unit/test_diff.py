"""`hasm diff`: equal specs, each kind of change, JSON, the pre-10 review example, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hasm.cli import EXIT_FALSE, EXIT_INPUT, EXIT_OK, main
from hasm.review.diff import diff_specs
from hasm.spec.loader import canonical_spec_path, load_spec

SMALL = Path(__file__).parents[1] / "specs" / "small.yaml"
SMALL_TEXT = SMALL.read_text(encoding="utf-8")
PRE10 = canonical_spec_path().with_name("imp-ha-pre10.yaml")


def edited(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    text = SMALL_TEXT
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "new.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def changes(
    tmp_path: Path, *edits: tuple[str, str]
) -> list[tuple[str, str, str, tuple[tuple[str, str, str], ...]]]:
    d = diff_specs(load_spec(SMALL), load_spec(edited(tmp_path, *edits)))
    return [(c.section, c.kind, c.id, c.fields) for c in d.changes]


def test_identical_specs_are_equal(capsys: pytest.CaptureFixture[str]) -> None:
    assert diff_specs(load_spec(SMALL), load_spec(SMALL)).equal
    assert main(["diff", str(SMALL), str(SMALL)]) == EXIT_OK
    assert capsys.readouterr().out == f"{SMALL} and {SMALL} are equal\n"


def test_layout_and_comments_do_not_count(tmp_path: Path) -> None:
    assert (
        changes(
            tmp_path,
            ("# A small hasm spec", "# Reworded comment of a small hasm spec"),
            ("  P1: {node1:", "  P1:   {node1:"),
        )
        == []
    )


def test_parameter_default_and_range(tmp_path: Path) -> None:
    assert changes(
        tmp_path, ("    default: 30\n    range: [1, 600]", "    default: 45\n    range: [1, 900]")
    ) == [
        (
            "parameters",
            "changed",
            "service_down_delay_s",
            (("default", "30", "45"), ("range", "[1, 600]", "[1, 900]")),
        )
    ]


def test_state_added_and_reason_removed(tmp_path: Path) -> None:
    found = changes(
        tmp_path,
        (
            "states:\n",
            "states:\n  lost:\n    label: Lost\n    kind: error\n    hosts: none\n"
            "    definition: New.\n    source: T1\n",
        ),
        (
            "  ha_off: {label: HA Off, source: T1}\n",
            "  ha_off: {label: HA Off, source: T1}\n  extra: {label: Extra}\n",
        ),
    )
    assert found == [("states", "added", "lost", ()), ("reasons", "added", "extra", ())]


def test_timer_transition_invariant_and_assumption(tmp_path: Path) -> None:
    found = changes(
        tmp_path,
        ("    duration: service_down_delay_s\n", "    duration: service_down_delay_s + 5\n"),
        (
            "    when: {node.state: normal, peer.state: normal}\n    node: {state: idle, reason: service_down}",
            "    when: {node.state: normal, peer.state: [normal, backup]}\n"
            "    node: {state: idle, reason: service_down}",
        ),
        ("  - id: fallback_only_to_idle\n", "  - id: fallback_only_to_the_idle\n"),
        ("assumptions: {}\n", "assumptions:\n  A-new: {statement: New., why: Test.}\n"),
    )
    assert found == [
        (
            "timers",
            "changed",
            "service_down",
            (("duration", "service_down_delay_s", "service_down_delay_s + 5"),),
        ),
        (
            "transitions",
            "changed",
            "automatic_failover",
            (
                (
                    "when",
                    "{node.state: normal, peer.state: normal}",
                    "{node.state: normal, peer.state: [normal, backup]}",
                ),
            ),
        ),
        ("invariants", "removed", "fallback_only_to_idle", ()),
        ("invariants", "added", "fallback_only_to_the_idle", ()),
        ("assumptions", "added", "A-new", ()),
    ]


def test_reachable_pairs_compared(tmp_path: Path) -> None:
    # Automatic failover now leaves the failed node Normal: Normal/Backup becomes reachable and
    # the pairs with an Idle node no longer come from it (manual failover still reaches them).
    new = edited(
        tmp_path,
        ("    node: {state: idle, reason: service_down}", "    node: {reason: service_down}"),
    )
    d = diff_specs(load_spec(SMALL), load_spec(new))
    assert d.pairs_only_old == ()
    assert d.pairs_only_new == (("backup", "normal"), ("normal", "backup"))
    assert "statically reachable" in d.pairs_how


def test_json_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = edited(tmp_path, ("    default: 30\n", "    default: 31\n"))
    assert main(["diff", str(SMALL), str(new), "--format", "json"]) == EXIT_FALSE
    doc = json.loads(capsys.readouterr().out)
    assert doc["equal"] is False
    assert doc["changes"] == [
        {
            "section": "parameters",
            "kind": "changed",
            "id": "service_down_delay_s",
            "fields": [{"field": "default", "old": "30", "new": "31"}],
        }
    ]
    assert doc["state_pairs"]["only_old"] == [] and doc["state_pairs"]["only_new"] == []


def test_pre10_against_the_canonical_spec(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", str(PRE10), str(canonical_spec_path())]) == EXIT_FALSE
    first = capsys.readouterr().out
    assert main(["diff", str(PRE10), str(canonical_spec_path())]) == EXIT_FALSE
    assert capsys.readouterr().out == first  # deterministic
    d = diff_specs(load_spec(PRE10), load_spec())
    moved = sorted(c.id for c in d.changes if c.section == "transitions")
    assert moved == sorted(
        [
            "manual_failover_complete",
            "automatic_failover_complete",
            "automatic_failover_complete_restored",
            "automatic_failover_complete_restored_critical_services_down",
            "fallback_complete",
            "peer_down_takeover",
            "peer_reboot_takeover",
            "peer_down_during_initialization",
        ]
    )
    for c in d.changes:
        if c.section == "transitions":
            assert ("effects", "[reassign_peer_users]", "[]") in c.fields
    assert ("assumptions", "removed", "A-pre10-assignment-moves") in [
        (c.section, c.kind, c.id) for c in d.changes
    ]
    # The release-10 guides (S5, S6) name the CLI's and RTMT's words; the pre-10 spec reads only
    # the page's, so the vocabularies are the canonical spec's additions.
    vocabularies = {"vocabularies", "vocabulary terms"}
    assert {c.section for c in d.changes} == {"header", "transitions", "assumptions", *vocabularies}
    assert all(c.kind == "added" for c in d.changes if c.section in vocabularies)


def test_bad_input_reports_both_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("hasm_spec: 1\n", encoding="utf-8")
    missing = tmp_path / "missing.yaml"
    assert main(["diff", str(broken), str(missing)]) == EXIT_INPUT
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"hasm: {broken}:1: " in captured.err
    assert f"hasm: {missing}: cannot read the file" in captured.err
    assert "Traceback" not in captured.err


def test_vocabulary_terms_and_codes(tmp_path: Path) -> None:
    text = canonical_spec_path().read_text(encoding="utf-8")
    edits = (
        ("Down State: {states: [unknown]", "Down State: {states: [unknown, failed]"),
        ("Failed, Down State]", "Failed, Down State, Unknown]"),
        (
            "      Failover: {states: [failing_over], source: S5, assumption: A-vocab-cli-failover}\n",
            "",
        ),
    )
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "new.yaml"
    path.write_text(text, encoding="utf-8")
    found = diff_specs(load_spec(canonical_spec_path()), load_spec(path)).changes
    assert [(c.section, c.kind, c.id) for c in found] == [
        ("vocabulary terms", "removed", "cli: Failover"),
        ("vocabulary terms", "changed", "rtmt: Down State"),
        ("vocabularies", "changed", "rtmt"),
    ]
    assert found[1].fields[0][0] == "states"
    assert found[2].fields[0][0] == "codes"
