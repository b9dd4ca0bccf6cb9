"""`hasm explorer` on the command line: it writes one page, and bad input is one located line,
exit 2, with nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from running import hasm_here as hasm

SCENARIO = Path(__file__).parents[2] / "specs" / "scenarios" / "02_critical_service_down.yaml"
SMALL = ["--max-states", "30"]


def test_it_writes_the_page(tmp_path: Path) -> None:
    out = tmp_path / "page.html"
    assert hasm("explorer", *SMALL, "-o", str(out)) == 0
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "--max-states 60" in html  # the command that widens the bound, shown at its edge


def test_without_o_the_page_goes_to_standard_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert hasm("explorer", *SMALL) == 0
    assert capsys.readouterr().out.startswith("<!DOCTYPE html>")


def test_the_spec_may_be_given_positionally(tmp_path: Path) -> None:
    spec = Path(__file__).parents[2] / "specs" / "imp-ha.yaml"
    one, two = tmp_path / "one.html", tmp_path / "two.html"
    assert hasm("explorer", str(spec), *SMALL, "-o", str(one)) == 0
    assert hasm("explorer", "--spec", str(spec), *SMALL, "-o", str(one)) == 0
    assert hasm("explorer", str(spec), "--spec", str(spec), "-o", str(two)) == 2
    assert not two.exists()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--max-states", "0"], "--max-states: expected at least 1, got 0"),
        (["--max-states", "3"], "--max-states: 3 is fewer than the 8 answers to the readings"),
        (["--users", "many"], "--users: expected a whole number, got 'many'"),
        (["--faults", "-1"], "--faults: expected at least 0, got -1"),
        (["--nodes", "pub"], "--nodes: a group has two distinct node names, not 'pub'"),
        (["--nodes", "pub,pub"], "--nodes: a group has two distinct node names"),
        (["--initial", "nowhere"], "--initial: unknown starting point 'nowhere'"),
        (["--param", "no_such_param=3"], "unknown parameter 'no_such_param'"),
        (["--max-records", "5"], "--max-records: means nothing with no --trace"),
        (["--tolerance", "0.5"], "--tolerance: widens a trace's timing bounds: it needs --trace"),
        (["--trace", "missing.jsonl"], "missing.jsonl: cannot read the file"),
        (["--trace", "t.jsonl", "--users", "2"], "--users: means nothing with --trace"),
        (["--trace", "t.jsonl", "--max-states", "9"], "--max-states: means nothing with --trace"),
    ],
)
def test_bad_options_are_one_located_line_and_nothing_written(
    args: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "page.html"
    bounded = [] if "--trace" in args else SMALL
    assert hasm("explorer", *bounded, *args, "-o", str(out)) == 2
    err = capsys.readouterr().err
    assert said in err
    assert "Traceback" not in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_an_unreadable_trace_is_located(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"hasm_trace": 1, "nodes": ["a", "b"]}\n{"t": 1, "event": "no_such"}\n')
    out = tmp_path / "page.html"
    assert hasm("explorer", "--trace", str(bad), "-o", str(out)) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines and all(line.startswith(f"hasm: {bad}:2:") for line in lines)
    assert not out.exists()


def test_a_trace_takes_its_parameters_from_its_header(tmp_path: Path) -> None:
    trace = tmp_path / "run.jsonl"
    assert hasm("simulate", str(SCENARIO), "--trace", str(trace), "--quiet") == 0
    out = tmp_path / "page.html"
    assert hasm("explorer", "--trace", str(trace), "--param", "keep_alive_timeout_s=90") == 2
    assert hasm("explorer", "--trace", str(trace), "-o", str(out)) == 0
    assert '"verdict":"conforms"' in out.read_text(encoding="utf-8")


def test_an_unwritable_output_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "no" / "such" / "page.html"
    assert hasm("explorer", *SMALL, "-o", str(out)) == 2
    assert "cannot write here" in capsys.readouterr().err
    assert not out.parent.exists()
