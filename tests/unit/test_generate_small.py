"""hasm generate on the small test spec: written deterministically; the CLI end to end, and bad
input (the canonical spec's suite is tests/slow/test_generate.py's)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hasm.cli import main as hasm_main
from hasm.spec.loader import load_spec
from hasm.spec.model import Spec
from hasm.suite.files import INDEX, write_suite
from hasm.suite.generate import generate

SMALL = Path(__file__).parents[1] / "specs" / "small.yaml"


@pytest.fixture(scope="session")
def small_spec() -> Spec:
    return load_spec(SMALL)


@pytest.mark.slow  # one of the unit tests the quick loop leaves to `make test`
def test_generation_is_deterministic(small_spec: Spec, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    write_suite(generate(small_spec), a)
    write_suite(generate(small_spec), b)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    assert INDEX in names and len(names) > 5
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.mark.slow  # one of the unit tests the quick loop leaves to `make test`
def test_the_cli_writes_a_suite_and_replaces_a_previous_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "suite"
    assert hasm_main(["generate", "--spec", str(SMALL), "--out", str(out)]) == 0
    first = sorted(p.name for p in out.iterdir())
    assert INDEX in first
    assert "cases" in capsys.readouterr().out
    assert hasm_main(["generate", "--spec", str(SMALL), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == first
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no leftovers
    index = json.loads((out / INDEX).read_text())
    for case in index["cases"]:
        code = hasm_main(
            ["check", "--spec", str(SMALL), str(out / case["file"])]
            + (["--tolerance", str(case["tolerance"])] if "tolerance" in case else [])
        )
        expected = {"conforms": 0, "diverges": 1, "input_error": 2}[case["expect"]["verdict"]]
        assert code == expected, case["file"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--param", "no_such=1"], "unknown parameter"),
        (["--param", "service_down_delay_s=99999"], "outside the range"),
    ],
)
def test_bad_input_exits_2_with_one_located_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    out = tmp_path / "suite"
    code = hasm_main(["generate", "--spec", str(SMALL), "--out", str(out), *args])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_a_directory_that_is_not_a_suite_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("mine\n")
    code = hasm_main(["generate", "--spec", str(SMALL), "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "not a hasm suite" in err
    assert (tmp_path / "notes.txt").read_text() == "mine\n"


def test_mutants_refuses_a_directory_without_an_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = hasm_main(["mutants", "--spec", str(SMALL), "--suite", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "no suite index" in err and "Traceback" not in err
