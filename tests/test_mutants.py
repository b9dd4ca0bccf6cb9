"""hasm mutants: mutants are made as data, a generated suite kills them, survivors and equivalent
mutants are reported; the CLI end to end.

The small test spec runs in seconds. The canonical spec's full analysis (about 670 mutants
against about 310 cases) takes minutes on two cores: it is measured by `make bench`
(bench/mutants_bench.py), not tested here.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from hasm.cli import main as hasm_main
from hasm.generate import generate, read_suite, write_suite
from hasm.loader import load_spec
from hasm.model import TRUE, Spec
from hasm.mutants import mutants, run_mutants

SMALL = Path(__file__).parent / "specs" / "small.yaml"


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
    report = run_mutants(small, cases, spec_path=str(SMALL), jobs=1)
    assert report.killed > 0
    assert report.rate >= 0.95, report.text()
    text = report.text()
    assert "kill rate" in text
    for survivor in report.survivors:
        assert survivor.id in text


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
    with pytest.raises(SystemExit) as exit_:
        hasm_main(["mutants", "--spec", str(SMALL), "--suite", str(out), "--min-rate", "100.5"])
    assert exit_.value.code == 2  # not a percentage
    assert "between 0 and 100" in capsys.readouterr().err
