"""The worked incident, examples/incident: polls of `utils ha status` imported, checked and
explained through the command line - the hidden crash named with its window, and the transcript
with one poll showing Normal too early diverging at that poll, pointing at the file's line."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
from running import hasm

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "incident"


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("incident")
    for name in ("status.txt", "status-early.txt"):
        (out / name).write_bytes((EXAMPLE / name).read_bytes())
    for name, trace in (("status.txt", "incident.jsonl"), ("status-early.txt", "early.jsonl")):
        done = hasm("import", "ha-status", name, "-o", trace, cwd=out)
        assert done.returncode == 0, done.stderr
    return out


def test_the_transcripts_are_what_the_generator_writes() -> None:
    namespace = runpy.run_path(str(EXAMPLE / "generate.py"), run_name="example")
    assert namespace["transcript"](early=False) == (EXAMPLE / "status.txt").read_text()
    assert namespace["transcript"](early=True) == (EXAMPLE / "status-early.txt").read_text()


def test_the_incident_conforms(imported: Path) -> None:
    done = hasm("check", "incident.jsonl", cwd=imported)
    assert (done.returncode, done.stdout) == (0, "incident.jsonl: conforms (40 records)\n")


def test_explain_names_the_hidden_crash_and_its_window(imported: Path) -> None:
    done = hasm("explain", "incident.jsonl", "--timeline", "incident.svg", cwd=imported)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == (
        "incident.jsonl: conforms (40 records); explained by 1 hidden event (the fewest)"
    )
    assert lines[1].startswith(
        "  service_stop of presence_engine or xcp_router on imp1.example.com, "
        "between t=40 (2026-11-30 10:00:40Z) and t=50 (2026-11-30 10:00:50Z) (after line 6)"
    )
    assert 'class="inferred"' in (imported / "incident.svg").read_text()
    readme = (EXAMPLE / "README.md").read_text()
    assert lines[1] in readme  # the walkthrough shows what the command prints


def test_a_poll_showing_normal_too_early_diverges_at_its_source_line(imported: Path) -> None:
    done = hasm("check", "early.jsonl", cwd=imported)
    assert done.returncode == 1
    first = done.stdout.splitlines()[0]
    assert (
        first == "early.jsonl:27 (from status-early.txt:154): t=250: does not conform: observation"
    )
    assert (EXAMPLE / "status-early.txt").read_text().splitlines()[153].endswith("State: Normal")
    assert first in (EXAMPLE / "README.md").read_text()
    # The report says what must have happened before: the hidden crash, and its window.
    lines = done.stdout.splitlines()
    lead = lines.index(
        "early.jsonl: before the divergence, explained up to line 26 by 1 hidden event (the fewest)"
    )
    assert lines[lead + 1].startswith(
        "  service_stop of presence_engine or xcp_router on imp1.example.com, "
        "between t=40 (2026-11-30 10:00:40Z) and t=50 (2026-11-30 10:00:50Z) (after line 6)"
    )
