"""hasm's generated conformance suite, replayed: `hasm generate` writes trace files that cover
the spec's transitions, pairs and timer boundaries; the pair takes each file's events at their
times and must show what each of its observations shows (an observation lists only what every
behaviour the spec allows agrees on there). Only the files this pair can play are replayed: a
normal start, default parameters, and the events it implements - and not the timer-boundary
files the index marks `replay: false`: they claim one timing among those the spec allows (a
timer fired at the very opening of its window, unfired at its very close), which a pair that
chose another allowed timing rightly does not show.

The suite comes from HA_PAIR_SUITE (a directory `hasm generate` wrote) or is generated here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import IMPL, MONITORED, SUPPORTED
from ha_pair import Page, VirtualClock, make_pair


class _Quiet:
    def page_changed(self, page: Page) -> None:
        pass  # the replay compares pages when the file observes, not on every change


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("HA_PAIR_SUITE")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("suite") / "suite"
    command = [sys.executable, "-m", "hasm", "generate", "--out", str(out)]
    subprocess.run(command, check=True, capture_output=True)
    return out


def playable(suite: Path) -> list[tuple[str, list[dict[str, Any]]]]:
    index = json.loads((suite / "index.json").read_text(encoding="utf-8"))
    out = []
    for case in index["cases"]:
        if case["expect"] != {"verdict": "conforms"} or case.get("replay") is False:
            continue  # a negative case, or one that claims a timing the spec only allows
        lines = [json.loads(line) for line in (suite / case["file"]).read_text().splitlines()]
        header, records = lines[0], lines[1:]
        events = {r["event"] for r in records if "event" in r}
        if header.get("initial") == "normal" and not header.get("params") and events <= SUPPORTED:
            out.append((case["file"], lines))
    return out


def differences(want: dict[str, Any], page: Page) -> list[str]:
    """Each observed field the page does not show, as `field: observed vs shown`."""
    out = []
    for name, fields in want.get("nodes", {}).items():
        for key, value in fields.items():
            if page.nodes[name][key] != value:
                out.append(f"nodes.{name}.{key}: {value!r} vs {page.nodes[name][key]!r}")
    for user, node in want.get("sessions", {}).items():
        if page.sessions[user] != node:
            out.append(f"sessions.{user}: {node!r} vs {page.sessions[user]!r}")
    for action, value in want.get("offered", {}).items():
        shown = page.offered[action]
        same = sorted(value) == sorted(shown) if isinstance(value, list) else value == shown
        if not same:
            out.append(f"offered.{action}: {value!r} vs {shown!r}")
    if want.get("ha_enabled") is False:
        out.append("ha_enabled: false vs true")  # this pair always runs with HA on
    return out


def replay(lines: list[dict[str, Any]]) -> list[str]:
    """Play one file; its first mismatch as `line N, t=T: differences`, or nothing."""
    header, clock = lines[0], VirtualClock()
    pair = make_pair(
        IMPL,
        nodes=tuple(header["nodes"]),
        users=header["users"],
        clock=clock,
        observer=_Quiet(),
        monitored=MONITORED,
    )
    for n, record in enumerate(lines[1:], 2):
        clock.advance_to(record["t"])
        if "event" in record:
            fields = {k: record[k] for k in ("node", "service", "user") if k in record}
            getattr(pair, record["event"])(**fields)
        elif found := differences(record["observe"], pair.page()):
            return [f"line {n}, t={record['t']}: " + "; ".join(found)]
    return []


def test_the_generated_suite_replays(suite: Path) -> None:
    cases = playable(suite)
    assert len(cases) >= 100, "the suite should hold many cases this pair can play (148 of 364)"
    failed = [f"{name}: {why[0]}" for name, lines in cases if (why := replay(lines))]
    assert not failed, f"{len(failed)} of {len(cases)} generated cases differ:\n" + "\n".join(
        failed[:10]
    )
