"""A suite on disk: its case files and index written whole or not at all, and read back."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hasm.errors import InputError, Problem
from hasm.suite.cases import SUITE_VERSION, Suite

__all__ = ["INDEX", "SuiteFile", "check_out", "read_suite", "write_suite"]


INDEX = "index.json"


def check_out(out: Path) -> None:
    """Refuse (InputError) an `--out` that cannot take a suite: not a directory, no parent
    directory, or a directory that holds anything but a previous suite. `hasm generate` asks
    before its search, not after it; `write_suite` asks again when it writes."""
    if out.exists() and not out.is_dir():
        raise InputError(Problem(str(out), None, "--out", "exists and is not a directory"))
    if not (out.parent if str(out.parent) else Path()).is_dir():
        raise InputError(Problem(str(out), None, "--out", "its parent directory does not exist"))
    if out.is_dir() and any(out.iterdir()) and not (out / INDEX).is_file():
        raise InputError(
            Problem(
                str(out),
                None,
                "--out",
                "the directory holds files that are not a hasm suite",
                "name a new or empty directory, or a previous suite's",
            )
        )


def write_suite(suite: Suite, out: Path) -> None:
    """Write the suite to the directory `out`: every case file and the index. The directory
    appears whole or not at all: it is written beside `out` and renamed into place, replacing
    a previous suite there; a directory that holds anything else is refused (InputError)."""
    out = Path(out)
    check_out(out)
    parent = out.parent if str(out.parent) else Path(".")
    try:
        tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{out.name}.", suffix=".tmp"))
    except OSError as exc:
        raise InputError(
            Problem(str(out), None, "--out", f"cannot write here: {exc.strerror}")
        ) from exc
    try:
        for case in suite.cases:
            (tmp / case.name).write_text(case.text, encoding="utf-8", newline="\n")
        index = json.dumps(suite.index(), indent=2, ensure_ascii=False) + "\n"
        (tmp / INDEX).write_text(index, encoding="utf-8", newline="\n")
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a suite is for sharing
        if out.exists():
            old = Path(tempfile.mkdtemp(dir=parent, prefix=f".{out.name}.", suffix=".old"))
            os.replace(out, old / "suite")
            os.replace(tmp, out)
            shutil.rmtree(old)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


@dataclass(frozen=True)
class SuiteFile:
    """A case read back from a suite directory."""

    name: str
    text: str
    verdict: str
    line: int | None
    tolerance: float
    covers: tuple[str, ...] = field(default=())


def read_suite(directory: Path) -> list[SuiteFile]:
    """The cases of a suite directory, from its index; InputError, located, if it is not one."""
    directory = Path(directory)
    index_path = directory / INDEX
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            Problem(
                str(index_path),
                None,
                "",
                "no suite index here",
                "run `hasm generate --out DIR` first",
            )
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(Problem(str(index_path), None, "", f"not a suite index: {exc}")) from exc
    if not isinstance(index, dict) or index.get("hasm_suite") != SUITE_VERSION:
        raise InputError(
            Problem(
                str(index_path),
                1,
                "hasm_suite",
                f"not a hasm suite index of version {SUITE_VERSION}",
            )
        )
    out = []
    cases = index.get("cases")
    if not isinstance(cases, list):
        raise InputError(Problem(str(index_path), None, "cases", "the index lists no cases"))
    for i, case in enumerate(cases):
        where = f"cases[{i}]"
        try:
            name = case["file"]
            expect = case["expect"]
            verdict = expect["verdict"]
            line = expect.get("line")
            tolerance = float(case.get("tolerance", 0.0))
            covers = tuple(case.get("covers", ()))
            if verdict not in ("conforms", "diverges", "input_error") or not isinstance(name, str):
                raise ValueError(verdict)
            if not math.isfinite(tolerance) or tolerance < 0:
                raise ValueError(tolerance)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(
                Problem(str(index_path), None, where, f"not a case entry: {exc!r}")
            ) from exc
        path = directory / name
        if Path(name).name != name:
            raise InputError(
                Problem(str(index_path), None, f"{where}.file", "a case file is a plain name")
            )
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(Problem(str(path), None, "", f"cannot read the case: {exc}")) from exc
        out.append(SuiteFile(name, text, verdict, line, tolerance, covers))
    return out
