"""Issue 15's spellings, as a new user types them: the spec as a positional argument on every
command that takes `--spec`, both at once refused, and generate's and mutants' progress on a
terminal only (verify's, check's and the colour options are tested in test_output_options)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from running import on_a_terminal

from hasm.cli import build_parser, main
from hasm.spec.loader import load_spec
from hasm.suite.files import write_suite
from hasm.suite.generate import generate

SMALL = Path(__file__).parents[1] / "specs" / "small.yaml"


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("suite") / "suite"
    write_suite(generate(load_spec(SMALL)), out)
    return out


def written(command: str, out: Path, suite: Path) -> list[str]:
    """What `command` needs besides the spec, writing under `out`."""
    return {
        "lint": [],
        "validate": [],
        "version": [],
        "doc": ["-o", str(out / "spec.md")],
        "diagram": ["--format", "dot", "--out", str(out)],
        "verify": ["-j", "1", "--out", str(out)],
        "generate": ["--out", str(out / "suite")],
        "mutants": ["--suite", str(suite), "-j", "1", "--only", "param:relogin_min_s:default"],
        "explorer": ["-o", str(out / "page.html")],
    }[command]


def files(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


COMMANDS = ["lint", "validate", "version", "doc", "diagram", "verify", "generate", "mutants"]


# The explorer computes its page twice here, about 10 s.
@pytest.mark.parametrize("command", [*COMMANDS, pytest.param("explorer", marks=pytest.mark.slow)])
def test_the_spec_as_spec_or_as_a_positional_argument_is_the_same(
    command: str, suite: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one, other = tmp_path / "positional", tmp_path / "option"
    one.mkdir()
    other.mkdir()
    code = main([command, str(SMALL), *written(command, one, suite)])
    said = capsys.readouterr()
    assert code == 0, said.err
    assert main([command, "--spec", str(SMALL), *written(command, other, suite)]) == code
    again = capsys.readouterr()
    # verify and mutants say how long they took; the rest of what they say is the same.
    steady = [line for line in said.out.splitlines() if not line.startswith("time: ")]
    assert steady == [
        line.replace(str(other), str(one))
        for line in again.out.splitlines()
        if not line.startswith("time: ")
    ]
    assert said.err == again.err
    # The explorer's page records the command that made it, as it was typed.
    typed = re.compile(rb'"command":"[^"]*"')
    assert {k: typed.sub(b"", v) for k, v in files(one).items()} == {
        k: typed.sub(b"", v) for k, v in files(other).items()
    }
    if command not in ("lint", "validate", "version", "mutants", "verify"):
        assert files(one), "the command wrote nothing: the comparison would test nothing"


@pytest.mark.parametrize("command", [*COMMANDS, "explorer"])
def test_the_spec_given_both_ways_is_a_usage_error(
    command: str, suite: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as usage:
        main([command, str(SMALL), "--spec", str(SMALL), *written(command, tmp_path, suite)])
    assert usage.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == (
        f"hasm: error: the spec is given twice, as SPEC ({SMALL}) and as --spec ({SMALL}): give one"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["check", "explain", "import"])
def test_a_command_whose_positional_is_not_the_spec_takes_only_spec(command: str) -> None:
    help_ = subprocess.run(
        [sys.executable, "-m", "hasm", command, "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--spec FILE" in help_ and "[SPEC]" not in help_


# -- progress of generate and mutants: on a terminal, never with -q ------------------------------
def test_generate_shows_progress_on_a_terminal_only(tmp_path: Path) -> None:
    code, shown = on_a_terminal("generate", str(SMALL), "--out", str(tmp_path / "a"))
    assert code == 0
    assert "\rsearching variant defaults: " in shown and "planned" in shown
    code, shown = on_a_terminal("generate", str(SMALL), "--out", str(tmp_path / "b"), "-q")
    assert code == 0 and shown == ""
    plain = subprocess.run(
        [sys.executable, "-m", "hasm", "generate", str(SMALL), "--out", str(tmp_path / "c")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert plain.returncode == 0 and plain.stderr == ""  # not a terminal: quiet


def test_mutants_shows_progress_on_a_terminal_only(suite: Path) -> None:
    args = ("mutants", str(SMALL), "--suite", str(suite), "-j", "1", "--only", "relogin_min")
    code, shown = on_a_terminal(*args)
    assert code == 0
    assert "\r1 of " in shown and " mutants run, " in shown
    code, shown = on_a_terminal(*args, "-q")
    assert code == 0 and shown == ""
    plain = subprocess.run(
        [sys.executable, "-m", "hasm", *args], capture_output=True, text=True, check=False
    )
    assert plain.returncode == 0 and plain.stderr == ""  # not a terminal: quiet


# -- the README's command table says every spelling each command's --help has ----------------------
README = Path(__file__).parents[2] / "README.md"
SHARED = {"-h", "--help", "-q", "--quiet", "-v", "--verbose", "--color"}  # their own row


def table_spellings() -> dict[str, str]:
    """Each command's spellings in the README's command table: the first cell of every row that
    shows `hasm COMMAND ...`, by command (a row may show several spellings)."""
    out: dict[str, str] = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `hasm "):
            continue
        cell = line[2:].split(" | ", 1)[0]
        for shown in re.findall(r"`hasm ([^`]*)`", cell):
            name = shown.split()[0]
            out[name] = out.get(name, "") + " " + shown
    return out


def test_the_readme_table_shows_every_option_of_every_command() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert sub.choices is not None
    shown = table_spellings()
    missing = []
    for name, command in sub.choices.items():
        assert name in shown, f"the README's command table has no row for hasm {name}"
        for action in command._actions:
            names = set(action.option_strings) - SHARED
            if action.option_strings and not names:
                continue
            if not action.option_strings:
                names = {"SPEC"} if action.dest == "spec_file" else set()
            spelt = any(
                re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", shown[name]) for n in names
            )
            if names and not spelt:
                missing.append(f"hasm {name}: {'/'.join(sorted(names))}")
    assert missing == []
