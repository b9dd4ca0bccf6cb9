"""`hasm verify` and hasm.explorer.explore: the canonical spec verifies; planted bugs (a guard dropped, a
delay shortened, a target changed) fail with a short counterexample that `hasm check` rejects at
its last line; bad input is one located line and exit 2, with nothing written."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from running import hasm_here as hasm

from hasm import explore as explore_reexport
from hasm import verify as verify_reexport
from hasm.cli import main
from hasm.core.model import default_monitored
from hasm.errors import ParameterError
from hasm.explorer.explore import _within, explore, variants
from hasm.explorer.results import Exploration
from hasm.oracle.files import check_file
from hasm.spec.loader import canonical_spec_path, load_spec
from hasm.spec.model import Spec

FALLBACK_OFF = ["--param", "enable_automatic_fallback=false"]


def default_services(spec: Spec) -> frozenset[str]:
    return default_monitored(spec, spec.defaults)


def monitored_arg(spec: Spec) -> list[str]:
    return ["--monitored", ",".join(sorted(default_services(spec)))]


# -- the mutants: each a small edit of the canonical spec's text ---------------------------------
MUTANTS = {
    # The heartbeat timer no longer waits for the link to fail: a takeover with both talking.
    "guard_dropped": (
        "    while: {ha_enabled: true, node.srm_running: true, connected: false, "
        "node.state: [normal, failing_over",
        "    while: {ha_enabled: true, node.srm_running: true, node.state: [normal, failing_over",
        "heartbeat_takeover_only_after_timeout",
    ),
    # The Critical Service Down Delay timer runs 30 s short.
    "delay_shortened": (
        "    per: node\n    duration: critical_service_down_delay_s\n",
        "    per: node\n    duration: critical_service_down_delay_s - 30\n",
        "automatic_failover_only_after_delay",
    ),
    # The manual failover completes with the failed-over node Normal instead of Idle.
    "target_changed": (
        "    node: {state: backup, reason: on_admin_request}\n"
        "    peer: {state: idle, reason: on_admin_request}\n"
        "    source: [P3, S1, S5]",
        "    node: {state: backup, reason: on_admin_request}\n"
        "    peer: {state: normal, reason: on_admin_request}\n"
        "    source: [P3, S1, S5]",
        "only_documented_pairs",
    ),
}


def mutant(tmp_path: Path, name: str) -> Path:
    old, new, _ = MUTANTS[name]
    text = canonical_spec_path().read_text(encoding="utf-8")
    assert text.count(old) == 1, f"the mutation {name} no longer matches the canonical spec"
    path = tmp_path / f"{name}.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


# -- the explorer's results ----------------------------------------------------------------------
def test_the_reexports_are_the_explorer() -> None:
    assert explore_reexport is explore
    assert verify_reexport is explore


def test_reachable_pairs_and_edges(spec: Spec) -> None:
    found = explore(
        spec, {"enable_automatic_fallback": False}, monitored=default_services(spec), max_faults=0
    )
    assert isinstance(found, Exploration)
    assert found.ok
    assert ("normal", "normal") in found.pairs
    assert (("normal", "normal"), "manual_failover", ("failing_over", "taking_over")) in (
        found.pair_edges
    )
    # The mirror image of every pair and edge is there too.
    assert (("normal", "normal"), "manual_failover", ("taking_over", "failing_over")) in (
        found.pair_edges
    )
    assert all((b, a) in found.pairs for a, b in found.pairs)
    assert {"P1", "P2", "P3", "P4"} <= found.documented
    assert found.states > 0 and found.transitions >= found.states - 1
    assert len(found.variants) == 1


def test_variants_come_from_the_spec(spec: Spec) -> None:
    all_of_them = variants(spec)
    switches = {v.params["enable_automatic_fallback"] for v in all_of_them}
    assert switches == {False, True}
    sets = {v.monitored for v in all_of_them}
    assert default_services(spec) in sets
    assert len(sets) >= 2  # a set without a service some guard names
    pinned = variants(spec, {"enable_automatic_fallback": True})
    assert {v.params["enable_automatic_fallback"] for v in pinned} == {True}
    assert len(pinned) == len(all_of_them) // 2
    with pytest.raises(ParameterError, match="unknown parameter 'nope'"):
        variants(spec, {"nope": 1.0})


def test_the_same_exploration_gives_the_same_counterexample(tmp_path: Path) -> None:
    spec = load_spec(mutant(tmp_path, "delay_shortened"))
    args = ({"enable_automatic_fallback": False},)
    first = explore(spec, *args, monitored=default_services(spec), first=True)
    second = explore(spec, *args, monitored=default_services(spec), first=True)
    assert first.violations and second.violations
    assert first.violations[0].trace == second.violations[0].trace


# -- planted bugs --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_a_planted_bug_fails_with_a_short_counterexample(
    tmp_path: Path, name: str, spec: Spec, capsys: pytest.CaptureFixture[str]
) -> None:
    path = mutant(tmp_path, name)
    out = tmp_path / "out"
    code = main(
        [
            "verify",
            "--first",
            "--spec",
            str(path),
            "--out",
            str(out),
            *FALLBACK_OFF,
            *monitored_arg(spec),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 1
    invariant = MUTANTS[name][2]
    assert f"VIOLATED {invariant}" in printed
    (trace,) = sorted(out.iterdir())
    assert trace.name == f"counterexample-1-{invariant}.jsonl"
    lines = trace.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 6, "the counterexample should be a handful of lines"
    assert json.loads(lines[0])["hasm_trace"] == 1
    # Against the canonical spec, the run diverges exactly where the mutant misbehaved.
    verdict = check_file(spec, trace)
    assert verdict.status == "diverges"
    assert verdict.divergence is not None
    assert verdict.divergence.line == len(lines)
    assert main(["check", str(trace)]) == 1
    # Against the mutant itself, the run conforms: the counterexample is the mutant's own.
    assert main(["check", "--spec", str(path), str(trace)]) == 0


def test_a_liveness_counterexample_ends_at_the_bound(
    tmp_path: Path, spec: Spec, capsys: pytest.CaptureFixture[str]
) -> None:
    """Clients that re-login sooner than the peer can notice a dead node find nobody and stop:
    the bounded failover promise fails, and the trace (which the spec allows) shows it."""
    out = tmp_path / "out"
    code = main(
        [
            "verify",
            "--first",
            "--out",
            str(out),
            *FALLBACK_OFF,
            *monitored_arg(spec),
            "--param",
            "client_relogin_lower_limit_s=30",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 1
    assert "VIOLATED failover_in_time_after_node_down" in printed
    (trace,) = out.iterdir()
    records = [json.loads(line) for line in trace.read_text(encoding="utf-8").splitlines()]
    down = next(r for r in records if r.get("event") == "node_down")
    # keep_alive_timeout_s + keep_alive_interval_s + relogin upper
    assert records[-1]["t"] == down["t"] + 60 + 15 + 537
    assert records[-1]["observe"]["sessions"]["user0"] is None
    assert records[0]["params"] == {"client_relogin_lower_limit_s": 30}
    assert check_file(spec, trace).status == "conforms"


# -- the command ---------------------------------------------------------------------------------
def test_verify_reports_its_counts(spec: Spec, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", "--faults", "0", "-j", "1"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "total: " in printed and "distinct states" in printed and "depth" in printed
    assert "states/s" in printed
    assert "Normal / Normal" in printed
    assert "documented pairs reached: P1, P2, P3, P4" in printed
    assert "verified: every invariant holds in every variant" in printed
    assert printed.count("variant ") >= len(variants(spec))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--param", "nope=1"], "unknown parameter 'nope'"),
        (["--param", "critical_service_down_delay_s=abc"], "expected a number"),
        (["--param", "critical_service_down_delay_s=0"], "outside the range"),
        (["--monitored", "bogus"], "unknown service(s): bogus"),
        (["--faults", "-1"], "expected a number >= 0"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = hasm("verify", "--out", str(out), *args)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert [line for line in err.splitlines() if line.startswith("hasm")] == [
        next(line for line in err.splitlines() if line.startswith("hasm"))
    ]
    assert not out.exists()


def test_out_must_be_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "file"
    file.write_text("x", encoding="utf-8")
    assert main(["verify", "--out", str(file), "--faults", "0"]) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert file.read_text(encoding="utf-8") == "x"


def test_a_switch_never_read_is_not_explored_twice(spec: Spec) -> None:
    """With no fault the automatic fallback is never reachable, so its switch is
    never read: the variant with it on is the same exploration - as exploring it alone shows."""
    both = explore(spec, monitored=default_services(spec), max_faults=0)
    off, on = both.variants
    assert off.same_as is None and on.same_as == 0
    assert on.variant.params["enable_automatic_fallback"] is True
    alone = explore(
        spec, {"enable_automatic_fallback": True}, monitored=default_services(spec), max_faults=0
    )
    (explored,) = alone.variants
    assert explored.same_as is None
    assert (explored.states, explored.transitions, explored.pairs) == (
        on.states,
        on.transitions,
        on.pairs,
    )
    assert both.states == off.states  # counted once


def test_a_switch_that_is_read_is_explored(tmp_path: Path) -> None:
    """A spec whose guard reads the switch at once: both variants are explored."""
    text = canonical_spec_path().read_text(encoding="utf-8")
    old = "    when: {ha_enabled: true, connected: true, node.state: normal, peer.state: normal}\n"
    assert text.count(old) == 1
    path = tmp_path / "reads.yaml"
    new = old.replace(
        "{ha_enabled: true,", "{param.enable_automatic_fallback: false, ha_enabled: true,"
    )
    path.write_text(text.replace(old, new), encoding="utf-8")
    spec = load_spec(path)
    found = explore(spec, monitored=default_services(spec), max_faults=0)
    assert [r.same_as for r in found.variants] == [None, None]
    assert found.variants[0].states != found.variants[1].states


# -- variants within others ----------------------------------------------------------------------
def test_a_variant_within_a_broken_one_is_explored_on_its_own(tmp_path: Path) -> None:
    spec = load_spec(mutant(tmp_path, "guard_dropped"))
    found = explore(spec, {"enable_automatic_fallback": False}, max_faults=0, first=True)
    wide, narrow = found.variants
    assert wide.violations and narrow.within is None and narrow.states > 0
    assert narrow.violations  # the dropped guard needs no service: both break


def test_within_needs_the_same_parameters_and_the_same_watch(spec: Spec) -> None:
    wide, narrow = variants(spec, {"enable_automatic_fallback": False})
    stops = ("database", "presence_engine")
    assert _within(narrow, ("presence_engine",), wide, stops)
    assert not _within(wide, stops, narrow, ("presence_engine",))  # database: not stopped there
    # A service the wide variant does not monitor, stopped by the narrow one: not within.
    odd = dataclasses.replace(narrow, monitored=narrow.monitored | {"sync_agent"})
    assert not _within(odd, ("presence_engine", "sync_agent"), wide, (*stops, "sync_agent"))
    other = variants(spec, {"enable_automatic_fallback": True})[1]
    assert not _within(other, ("presence_engine",), wide, stops)  # another parameter value
