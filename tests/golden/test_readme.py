"""The README stays true: its Python example runs, and its commands exist."""

from __future__ import annotations

import re
from inspect import signature
from pathlib import Path

import pytest

from hasm.cli import build_parser

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_python_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert any("def test_" in b for b in blocks), "the README shows hasm used from pytest"
    assert any("Oracle(" in b for b in blocks), "the README shows the oracle's Python API"
    for block in blocks:
        namespace: dict[str, object] = {}
        exec(compile(block, "README.md", "exec"), namespace)  # the README's own example code
        for name, value in namespace.items():
            # Examples that take pytest fixtures run under pytester in test_pytest_plugin.py.
            if name.startswith("test_") and callable(value) and not signature(value).parameters:
                value()


def test_the_quick_start_is_two_commands() -> None:
    quick = README.split("## Quick start", 1)[1].split("##", 1)[0]
    commands = re.findall(r"^make \w+", quick, re.M)
    assert commands == ["make demo", "make test"]


def test_every_hasm_command_in_the_readme_exists() -> None:
    parser = build_parser()
    subcommands = set(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    named = set(re.findall(r"`hasm (\w+)", README))
    assert named <= subcommands | {"check"}, (
        named - subcommands
    )  # `hasm check` is announced as not built


def test_the_oracle_example_prints_what_it_says() -> None:
    block = next(b for b in re.findall(r"```python\n(.*?)```", README, re.S) if "Oracle(" in b)
    assert "# ('Idle',)" in block
