"""`-q`, `-v`, `--color` on every subcommand, progress on a terminal only, and Ctrl-C: real
processes, a pseudo-terminal where a terminal is what is tested."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from running import hasm, on_a_terminal

from hasm.cli import build_parser, main
from hasm.sim.scenario import packaged_scenarios

SMALL = Path(__file__).parents[1] / "specs" / "small.yaml"
GREEN = "\x1b[32m"


def without_no_color() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "NO_COLOR"}


# -- the options exist on every subcommand, defined once -------------------------------------------
def test_every_subcommand_takes_q_v_and_color() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert sub.choices is not None
    for name, command in sub.choices.items():
        options = {o for a in command._actions for o in a.option_strings}
        assert {"-q", "--quiet", "-v", "--verbose", "--color"} <= options, name


# -- colour ---------------------------------------------------------------------------------------
def test_color_always_and_never(conforming_trace: Path) -> None:
    always = hasm("check", str(conforming_trace), "--color", "always")
    assert always.returncode == 0
    assert always.stdout.startswith(f"{conforming_trace}: {GREEN}conforms\x1b[0m (")
    never = hasm("check", str(conforming_trace), "--color", "never")
    assert "\x1b[" not in never.stdout


def test_color_auto_is_off_when_not_a_terminal(conforming_trace: Path) -> None:
    result = hasm("check", str(conforming_trace), env=without_no_color())
    assert result.returncode == 0 and "\x1b[" not in result.stdout


def test_color_auto_on_a_terminal_unless_no_color(conforming_trace: Path) -> None:
    code, shown = on_a_terminal(
        "check", str(conforming_trace), stream="stdout", env=without_no_color()
    )
    assert code == 0 and f"{GREEN}conforms" in shown
    code, shown = on_a_terminal(
        "check", str(conforming_trace), stream="stdout", env={**without_no_color(), "NO_COLOR": "1"}
    )
    assert code == 0 and "conforms" in shown and "\x1b[" not in shown


def test_color_marks_verify_and_lint_verdicts() -> None:
    verify = hasm("verify", str(SMALL), "-j", "1", "--color", "always", "--out", "nowhere")
    assert verify.returncode == 0
    assert f": {GREEN}ok\x1b[0m" in verify.stdout
    assert f"{GREEN}verified\x1b[0m: every invariant holds" in verify.stdout
    lint = hasm("lint", str(SMALL), "--color", "always")
    assert f": {GREEN}clean\x1b[0m;" in lint.stdout


# -- progress: on a terminal, with -v elsewhere, never with -q -----------------------------------
def test_verify_shows_progress_on_a_terminal_only() -> None:
    args = ("verify", str(SMALL), "-j", "1", "--out", "nowhere")
    code, shown = on_a_terminal(*args, stream="stderr")
    assert code == 0
    assert "monitored: engine: " in shown and "states" in shown
    assert "hasm: explored monitored: engine: " in shown
    code, shown = on_a_terminal(*args, "-q", stream="stderr")
    assert code == 0 and shown == ""
    plain = hasm(*args)
    assert plain.returncode == 0 and plain.stderr == ""


def test_verbose_shows_progress_where_there_is_no_terminal() -> None:
    result = hasm("verify", str(SMALL), "-j", "1", "--out", "nowhere", "-v")
    assert result.returncode == 0
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith("hasm: ") for line in lines)
    assert "\r" not in result.stderr and "\x1b[" not in result.stderr
    assert any(line.startswith("hasm: explored monitored: engine: ") for line in lines)
    # The results are the same with or without it.
    assert (
        result.stdout.split("\ntime:")[0]
        == hasm("verify", str(SMALL), "-j", "1", "--out", "nowhere").stdout.split("\ntime:")[0]
    )


def test_generate_and_mutants_progress(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    made = hasm("generate", str(SMALL), "--out", str(suite), "-v")
    assert made.returncode == 0, made.stderr
    assert made.stderr.startswith("hasm: searching variant ")
    quiet = hasm("generate", str(SMALL), "--out", str(tmp_path / "again"), "-q", "-v")
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert quiet.stdout.replace("again", "suite") == made.stdout
    killed = hasm("mutants", str(SMALL), "--suite", str(suite), "-j", "1", "-v")
    assert killed.returncode == 0, killed.stderr
    assert killed.stderr.startswith("hasm: 1 of ")
    assert " mutants run, " in killed.stderr


def test_quiet_simulate_prints_only_the_summary(capsys: pytest.CaptureFixture[str]) -> None:
    scenario = next(p for p in packaged_scenarios() if p.stem == "02_critical_service_down")
    assert main(["simulate", str(scenario), "-q"]) == 0
    short = capsys.readouterr().out
    assert main(["simulate", str(scenario), "--quiet"]) == 0
    assert capsys.readouterr().out == short
    assert short.splitlines()[-1].endswith("expectations met")
    assert main(["simulate", str(scenario)]) == 0
    assert len(capsys.readouterr().out) > len(short)


# -- Ctrl-C ---------------------------------------------------------------------------------------
# A process started in the background of a shell may inherit SIGINT ignored; the command under
# test restores Python's handler so that the signal reaches it as Ctrl-C would.
INTERRUPTIBLE = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from hasm.cli import main; sys.exit(main(sys.argv[1:]))"
)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_is_one_line_exit_130_and_no_file(tmp_path: Path, jobs: str) -> None:
    out = tmp_path / "out"
    args = ["verify", "-j", jobs, "--out", str(out), "--junit", str(tmp_path / "v.xml")]
    with subprocess.Popen(
        [sys.executable, "-c", INTERRUPTIBLE, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        time.sleep(2.5)  # loaded, and searching: the canonical spec's search takes seconds
        assert proc.poll() is None, "the search ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert stderr == "hasm: interrupted\n"
    assert stdout == ""
    assert list(tmp_path.iterdir()) == []
