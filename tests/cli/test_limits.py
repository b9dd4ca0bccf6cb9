"""`--time-limit` on `hasm generate` and `hasm mutants` (the one option verify has too), Ctrl-C
during them, and `hasm explain -`: through the real command line."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from running import hasm

from hasm.cli import main
from hasm.sim.runner import scenario_trace
from hasm.sim.scenario import load_scenario, packaged_scenarios
from hasm.spec.loader import load_spec
from hasm.spec.model import Spec
from hasm.suite.cases import SUITE_VERSION
from hasm.suite.files import write_suite
from hasm.suite.generate import generate

SMALL = Path(__file__).parents[1] / "specs" / "small.yaml"

# A process started in the background of a shell may inherit SIGINT ignored; the command under
# test restores Python's handler so that the signal reaches it as Ctrl-C would.
INTERRUPTIBLE = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from hasm.cli import main; sys.exit(main(sys.argv[1:]))"
)


def tree(directory: Path) -> dict[str, bytes]:
    """Every file under `directory`, hidden ones too, by relative path, with its bytes."""
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def processes_naming(text: str) -> list[int]:
    """The processes whose command line holds `text` (a test's own temporary path)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode("utf-8", "replace")
        except OSError:  # ended while we looked
            continue
        if text in argv:
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small spec's suite, written once for the module."""
    out = tmp_path_factory.mktemp("suite") / "suite"
    write_suite(generate(load_spec(SMALL)), out)
    return out


# -- one option, one parser ------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["verify", "generate", "mutants"])
@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("soon", "expected seconds, got 'soon'"),
        ("0", "a time limit is a finite number of seconds > 0, not 0"),
        ("-1", "a time limit is a finite number of seconds > 0, not -1"),
        ("nan", "a time limit is a finite number of seconds > 0, not nan"),
        ("inf", "a time limit is a finite number of seconds > 0, not inf"),
    ],
)
def test_a_bad_time_limit_is_the_same_usage_error_everywhere(
    command: str, given: str, why: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = "--suite" if command == "mutants" else "--out"
    with pytest.raises(SystemExit) as usage:
        main([command, str(SMALL), where, str(tmp_path / "x"), "--time-limit", given])
    assert usage.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == f"hasm: error: argument --time-limit: {why}"
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["verify", "generate", "mutants"])
def test_the_time_limit_is_in_every_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "--time-limit S" in capsys.readouterr().out


# -- generate ------------------------------------------------------------------------------------
def test_generate_at_its_time_limit_writes_nothing_and_says_how_far_it_got(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "suite"
    assert main(["generate", str(SMALL), "--out", str(out), "--time-limit", "0.001"]) == 1
    said = capsys.readouterr()
    assert said.err == ""
    assert re.fullmatch(
        r"incomplete: time limit 0\.001 s reached before the suite was complete \((the search "
        r"was at variant \d+ of \d+ \(.*\), [\d,]+ configurations|the search was done; \d+ of "
        rf"\d+ planned cases were written and checked)\); nothing written to {re.escape(str(out))}"
        "\n",
        said.out,
    ), said.out
    assert list(tmp_path.iterdir()) == []  # no suite, no half-written directory beside it


def test_generate_at_its_time_limit_leaves_a_previous_suite_as_it_was(
    suite: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "suite"
    assert main(["generate", str(SMALL), "--out", str(out)]) == 0
    before = tree(tmp_path)
    assert main(["generate", str(SMALL), "--out", str(out), "--time-limit", "0.001"]) == 1
    assert tree(tmp_path) == before
    assert "nothing written" in capsys.readouterr().out


def test_generate_within_its_time_limit_writes_the_same_suite(
    suite: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "suite"
    assert main(["generate", str(SMALL), "--out", str(out), "--time-limit", "600"]) == 0
    assert tree(out) == tree(suite)
    assert capsys.readouterr().out.startswith(f"{out}: 44 cases")


@pytest.mark.parametrize(
    ("make", "why"),
    [
        ("file", "exists and is not a directory"),
        ("orphan", "its parent directory does not exist"),
        ("foreign", "the directory holds files that are not a hasm suite"),
    ],
)
def test_generate_refuses_a_bad_out_before_the_search(
    make: str, why: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    if make == "file":
        out.write_text("x", encoding="utf-8")
    elif make == "orphan":
        out = tmp_path / "missing" / "out"
    else:
        out.mkdir()
        (out / "notes.txt").write_text("mine", encoding="utf-8")
    before = tree(tmp_path)
    # A limit far shorter than the search: refused first means refused before the search.
    assert main(["generate", str(SMALL), "--out", str(out), "--time-limit", "0.001"]) == 2
    said = capsys.readouterr()
    assert said.out == ""
    assert said.err.startswith(f"hasm: {out}: --out: {why}")
    assert len(said.err.splitlines()) == 1
    assert tree(tmp_path) == before


# -- mutants -------------------------------------------------------------------------------------
PARTIAL = re.compile(
    r"partial: (\d+) of (\d+) mutants run before the time limit \(([\d.]+) s\)(; \d+ "
    r"survivor\(s\) not checked for equivalence, counted as survivors)?; the figures below "
    r"are of those only, not of the suite"
)


def test_mutants_at_its_time_limit_reports_a_partial_score_and_fails(
    suite: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # --min-rate 0 would pass any complete run: a partial one fails all the same.
    args = ["mutants", str(SMALL), "--suite", str(suite), "-j", "1", "--min-rate", "0"]
    assert main([*args, "--time-limit", "0.001"]) == 1
    lines = capsys.readouterr().out.splitlines()
    found = PARTIAL.fullmatch(lines[0])
    assert found is not None, lines[0]
    ran, planned = int(found[1]), int(found[2])
    assert ran < planned == 90 and found[3] == "0.001"
    assert lines[1].startswith(f"{ran} mutants: ")
    assert lines[-1] == "incomplete: time limit 0.001 s reached; the kill rate is partial"


def test_mutants_within_its_time_limit_is_the_run_without_one(
    suite: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["mutants", str(SMALL), "--suite", str(suite), "-j", "1"]
    assert main(args) == 0
    plain = capsys.readouterr().out
    assert main([*args, "--time-limit", "600"]) == 0
    assert capsys.readouterr().out == plain
    assert "partial" not in plain and plain.startswith("90 mutants: ")


def test_mutants_in_workers_stop_cleanly_at_the_time_limit(suite: Path) -> None:
    """With worker processes the limit ends the pool: no traceback, no worker left running
    (the workers are forks: their command line names the suite as the parent's does)."""
    result = hasm("mutants", str(SMALL), "--suite", str(suite), "-j", "2", "--time-limit", "0.2")
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""
    assert PARTIAL.fullmatch(result.stdout.splitlines()[0]), result.stdout
    assert processes_naming(str(suite)) == []


# -- Ctrl-C --------------------------------------------------------------------------------------
def interrupted(args: list[str], cwd: Path) -> Iterator[subprocess.Popen[str]]:
    """Start `hasm ARGS` (with -v, so it tells progress where there is no terminal), wait
    until it has said it is under way, then Ctrl-C it."""
    with subprocess.Popen(
        [sys.executable, "-c", INTERRUPTIBLE, *args, "-v"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    ) as proc:
        assert proc.stderr is not None
        first = proc.stderr.readline()  # the first progress line: the work is under way
        assert first.startswith("hasm: "), first
        assert proc.poll() is None, "the work ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        yield proc
        proc.wait(timeout=60)


def test_ctrl_c_during_generate_leaves_no_file(tmp_path: Path) -> None:
    # The canonical spec: its search takes tens of seconds, so the signal lands in it.
    work = tmp_path / "work"
    work.mkdir()
    for proc in interrupted(["generate", "--out", "suite"], work):
        stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert stderr.splitlines()[-1] == "hasm: interrupted"
    assert "Traceback" not in stderr
    assert stdout == ""
    assert list(work.iterdir()) == []


def test_ctrl_c_during_mutants_in_workers_leaves_none_running(spec: Spec, tmp_path: Path) -> None:
    # The canonical spec's mutants against one of its scenarios' traces, as a suite of one case
    # that conforms: every mutant that survives it runs the whole (short) suite, for minutes.
    scenario = next(p for p in packaged_scenarios() if p.stem == "02_critical_service_down")
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "0001-story.jsonl").write_text(
        scenario_trace(spec, load_scenario(scenario, spec), 0), encoding="utf-8"
    )
    index = {
        "hasm_suite": SUITE_VERSION,
        "spec": spec.id,
        "cases": [{"file": "0001-story.jsonl", "covers": [], "expect": {"verdict": "conforms"}}],
    }
    (suite / "index.json").write_text(json.dumps(index), encoding="utf-8")
    check = hasm("mutants", "--suite", str(suite), "--only", "no-such-mutant")
    assert check.returncode == 0, check.stderr  # the suite is one hasm reads
    before = tree(tmp_path)
    for proc in interrupted(["mutants", "--suite", str(suite), "-j", "2"], tmp_path):
        stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stderr.splitlines()[-1] == "hasm: interrupted"
    assert "Traceback" not in stderr
    assert stdout == ""
    assert processes_naming(str(suite)) == []
    assert tree(tmp_path) == before


# -- explain - ------------------------------------------------------------------------------------
@pytest.mark.parametrize("form", ["text", "json"])
def test_explain_reads_stdin_and_names_it_stdin(conforming_trace: Path, form: str) -> None:
    text = conforming_trace.read_text(encoding="utf-8")
    from_file = hasm("explain", str(conforming_trace), "--format", form)
    from_stdin = hasm("explain", "-", "--format", form, stdin=text)
    assert from_file.returncode == from_stdin.returncode == 0, from_stdin.stderr
    assert from_stdin.stderr == ""
    assert from_stdin.stdout == from_file.stdout.replace(str(conforming_trace), "<stdin>")
    if form == "json":
        assert json.loads(from_stdin.stdout)["file"] == "<stdin>"
    else:
        assert from_stdin.stdout.startswith("<stdin>: conforms (")


def test_explain_of_a_divergent_stdin_names_it_stdin(conforming_trace: Path) -> None:
    text = conforming_trace.read_text(encoding="utf-8")
    bad = text + json.dumps({"t": 10_000, "observe": {"ha_enabled": False}}) + "\n"
    result = hasm("explain", "-", stdin=bad)
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("<stdin>: does not conform")
    assert f"<stdin>:{bad.count(chr(10))}: " in result.stdout


def test_explain_refuses_a_timeline_of_stdin(conforming_trace: Path, tmp_path: Path) -> None:
    picture = tmp_path / "t.svg"
    text = conforming_trace.read_text("utf-8")
    result = hasm("explain", "-", "--timeline", str(picture), stdin=text)
    assert result.returncode == 2
    assert result.stderr == (
        f"hasm: {picture}: --timeline: draws a trace file, not standard input (it reads the "
        "trace again) (fix: save the trace to a file and name it)\n"
    )
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_explain_of_an_empty_stdin_is_located_bad_input() -> None:
    result = hasm("explain", "-", stdin="")
    assert result.returncode == 2
    assert result.stderr.startswith("hasm: <stdin>:1: the trace is empty")
    assert len(result.stderr.splitlines()) == 1


def test_explain_names_a_pattern_the_shell_did_not_expand(tmp_path: Path) -> None:
    pattern = str(tmp_path / "run-*.jsonl")
    result = hasm("explain", pattern)
    assert result.returncode == 2
    assert result.stderr == (
        f"hasm: TRACE '{pattern}': no such file; the shell did not expand the pattern (no file "
        "matched it, or it was quoted) (fix: name one trace file: hasm explain tells one trace)\n"
    )
