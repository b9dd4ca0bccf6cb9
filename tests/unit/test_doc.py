"""`hasm doc`: the review document is complete, deterministic, and written atomically."""

from __future__ import annotations

from pathlib import Path

import pytest

from hasm.cli import EXIT_INPUT, EXIT_OK, main
from hasm.review.doc import coverage, readable_guard, render_doc
from hasm.sim.scenario import packaged_scenarios
from hasm.spec.model import Spec

SMALL = Path(__file__).parents[1] / "specs" / "small.yaml"


def test_every_element_of_the_spec_is_in_the_document(canonical_spec: Spec) -> None:
    text = render_doc(canonical_spec, packaged_scenarios())
    spec = canonical_spec
    # A per-service timer entry is documented once, by its name in the file.
    timers = {t.family for t in spec.timers.values()}
    for name in (*spec.parameters, *spec.services, *spec.states, *spec.reasons, *timers,
                 *spec.events, *(t.id for t in spec.transitions), *(i.id for i in spec.invariants),
                 *spec.assumptions, *spec.readings):  # fmt: skip
        assert f"`{name}`" in text, name
    for heading in ("## Scope", "## Sources", "## Parameters", "## Services", "## States",
                    "## Reasons", "## Readings", "## Timers", "## Transitions", "## Invariants", "## Assumptions",
                    "## Accepted lint findings", "## Coverage of the documented state pairs"):  # fmt: skip
        assert f"\n{heading}\n" in text


def test_coverage_names_the_scenarios_that_reach_each_pair(canonical_spec: Spec) -> None:
    reached, notes = coverage(canonical_spec, packaged_scenarios())
    assert notes == []
    assert all(reached[f"P{i}"] for i in range(1, 25))
    assert "13_peer_down_and_split_brain" in reached["P16"]
    text = render_doc(canonical_spec, packaged_scenarios())
    assert "| P13 | Failed Over with Critical Services not Running / Database Failure |" in text
    assert "16_database_failure" in text.split("| P13 |")[1].splitlines()[0]


def test_a_pair_no_scenario_reaches_is_shown(canonical_spec: Spec) -> None:
    one = [p for p in packaged_scenarios() if p.stem == "06_manual_failover"]
    text = render_doc(canonical_spec, one)
    assert (
        "| P22 |" in text
        and "NOT REACHED by any scenario" in text.split("| P22 |")[1].splitlines()[0]
    )


def test_guards_read_as_words(canonical_spec: Spec) -> None:
    rule = next(t for t in canonical_spec.transitions if t.id == "manual_fallback")
    assert readable_guard(rule.when, canonical_spec) == (
        "HA is enabled; the nodes hear each other; node is Idle or Failed Over; "
        "peer is Running in Backup Mode"
    )
    rule = next(t for t in canonical_spec.transitions if t.id == "automatic_failover_complete")
    assert (
        "not (either (node's reason is On Admin Request) or (peer's reason is On Admin Request))"
        in (readable_guard(rule.when, canonical_spec))
    )


def test_small_spec_and_scenarios_that_do_not_apply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "small.md"
    assert main(["doc", "--spec", str(SMALL), "-o", str(out)]) == EXIT_OK
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# A small two-node HA group (test spec)\n")
    assert "| P2 | Idle / Admin | Backup / Admin | NOT REACHED by any scenario |" in text
    # The packaged scenarios name services and events the small spec does not have.
    assert "- 02_critical_service_down: does not apply to this spec (" in text
    assert str(tmp_path) not in text and "/specs/scenarios/" not in text


def test_output_is_deterministic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doc", "--spec", str(SMALL)]) == EXIT_OK
    first = capsys.readouterr().out
    assert main(["doc", "--spec", str(SMALL)]) == EXIT_OK
    assert capsys.readouterr().out == first


def test_bad_input_leaves_nothing_half_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("hasm_spec: 1\nid: x\n", encoding="utf-8")
    out = tmp_path / "doc.md"
    assert main(["doc", "--spec", str(broken), "-o", str(out)]) == EXIT_INPUT
    assert not out.exists() and list(tmp_path.iterdir()) == [broken]
    err = capsys.readouterr().err
    assert err.startswith(f"hasm: {broken}:") and "Traceback" not in err
    assert main(["doc", "-o", str(tmp_path / "no" / "doc.md")]) == EXIT_INPUT
    assert "cannot write here" in capsys.readouterr().err
    assert main(["doc", "--scenarios", str(tmp_path / "none")]) == EXIT_INPUT
    assert "not a folder of scenario files" in capsys.readouterr().err
