"""hasm generate: the suite of the canonical spec conforms where it says so, fails where it says
so, covers what it claims, and checks with `hasm check` once written.

Generating the canonical suite searches two parameter variants (about 15 s): it is done once
per test process (`canonical_suite`). The small test spec's suite, the determinism of the search
and the CLI are tests/unit/test_generate_small.py's.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from hasm.errors import ConformanceError, InputError
from hasm.oracle.files import check_file
from hasm.oracle.oracle import Oracle
from hasm.spec.model import Spec
from hasm.suite.cases import Case, Suite
from hasm.suite.files import read_suite, write_suite
from hasm.suite.generate import generate
from hasm.trace.reader import read_trace


@pytest.fixture(scope="session")
def canonical_suite(canonical_spec: Spec) -> Suite:
    return generate(canonical_spec)


def first_divergence(spec: Spec, text: str, tolerance: float = 0.0) -> int | None:
    header, records = read_trace(io.StringIO(text), spec)
    oracle = Oracle.from_header(spec, header, tolerance)
    try:
        for record in records:
            oracle.record(record)
    except ConformanceError as exc:
        return exc.divergence.line
    return None


@pytest.mark.slow
def test_every_case_gets_its_expected_verdict(canonical_spec: Spec, canonical_suite: Suite) -> None:
    positives = negatives = 0
    for case in canonical_suite.cases:
        if case.verdict == "input_error":  # a parameter beyond its range: the header is refused
            with pytest.raises(InputError) as refused:
                read_trace(io.StringIO(case.text), canonical_spec)
            assert refused.value.problems[0].line == case.line == 1
            continue
        line = first_divergence(canonical_spec, case.text, case.tolerance)
        if case.verdict == "conforms":
            positives += 1
            assert line is None, case.name
        else:
            negatives += 1
            assert case.line is not None
            assert line == case.line, case.name
            # the divergent line is the case's last: what comes before it conforms
            assert case.line == len(case.text.splitlines())
        if case.tolerance:  # a tolerance case is one only if it needs the tolerance
            assert first_divergence(canonical_spec, case.text) is not None, case.name
    assert positives > 100
    assert negatives > 20


@pytest.mark.slow
def test_coverage_of_the_canonical_spec(canonical_spec: Spec, canonical_suite: Suite) -> None:
    coverage = canonical_suite.index()["coverage"]
    # every transition, reason branch, effect, timer boundary, reached state pair, admin action
    for kind in ("transition", "reason", "effect", "timer", "pair", "admin"):
        assert coverage[kind]["uncovered"] == {}, kind
        assert coverage[kind]["covered"] == coverage[kind]["targets"] > 0
    assert coverage["transition"]["targets"] == len(canonical_spec.transitions)
    assert coverage["effect"]["targets"] == sum(len(t.effects) for t in canonical_spec.transitions)
    # conditions: the uncovered ones are those no step of the search can isolate, each with why
    for kind in ("condition", "guard", "while", "param"):
        assert coverage[kind]["covered"] > 0
        assert all(coverage[kind]["uncovered"].values())
    # every documented pair of the table the search shows is among the pairs covered
    shown = {p.split("|")[0] for p in canonical_suite.targets["pair"]}
    assert {"normal", "failing_over", "idle", "backup", "failed"} <= shown


@pytest.mark.slow
def test_cases_that_claim_a_timing_the_spec_only_allows_are_not_for_replay(
    canonical_suite: Suite,
) -> None:
    """A timer fired at the very opening of its window conforms, and so does one unfired at
    its close; an implementation shows one or the other. Such files say `replay: false`."""
    not_replayed = {c.name for c in canonical_suite.cases if not c.replay}
    for case in canonical_suite.cases:
        choice = any(
            c.endswith((":opens-fired", ":closes-unfired", ":tolerance")) for c in case.covers
        )
        if case.verdict == "conforms":
            assert (case.name in not_replayed) == choice, case.name
        else:
            assert case.name not in not_replayed  # its verdict says it already
    assert {e["file"] for e in canonical_suite.index()["cases"] if e.get("replay") is False} == {
        c.name for c in canonical_suite.cases if not c.replay
    }
    replayed = [c for c in canonical_suite.cases if c.replay and c.verdict == "conforms"]
    assert len(replayed) > 100


def records(case: Case) -> list[dict[str, Any]]:
    return [json.loads(line) for line in case.text.splitlines()[1:]]


@pytest.mark.slow
def test_every_transition_is_seen_to_fire(canonical_suite: Suite) -> None:
    """Some conforming case of each transition ends by observing both nodes' states: the
    witness path is one a trace can follow (no two timers due at once, no mirror rule doing
    the same), and where the default windows leave the timing open its narrowed twin pins it."""
    for t in canonical_suite.targets["transition"]:
        seen = False
        for case in canonical_suite.cases:
            if f"transition:{t}" not in case.covers or case.verdict != "conforms":
                continue
            nodes = records(case)[-1].get("observe", {}).get("nodes", {})
            seen = seen or (len(nodes) == 2 and all("state" in n for n in nodes.values()))
        assert seen, t


@pytest.mark.slow
def test_narrowed_twins_pin_what_the_default_windows_leave_open(
    canonical_spec: Spec, canonical_suite: Suite
) -> None:
    """A narrowed case replays its default twin's events at the same times with every timer
    window closed up to its deadline (which stays where it was), and observes more."""
    by_name = {c.name.split("-", 1)[1]: c for c in canonical_suite.cases}
    narrowed = [c for c in canonical_suite.cases if c.name.endswith("-narrowed.jsonl")]
    assert len(narrowed) > 10
    for case in narrowed:
        params = json.loads(case.text.splitlines()[0])["params"]
        assert params["transition_min_s"] == canonical_spec.defaults["transition_max_s"]
        assert (
            params["client_relogin_lower_limit_s"]
            == canonical_spec.defaults["client_relogin_upper_limit_s"]
        )
        # The heartbeat windows close at timeout + interval (A-heartbeat-phase): the interval
        # moves a deadline, so narrowing leaves it at its default.
        assert "keep_alive_interval_s" not in params
        assert "timer windows narrowed to their deadlines" in case.title
        twin = by_name[case.name.split("-", 1)[1].replace("-narrowed.jsonl", ".jsonl")]
        events = [r for r in records(case) if "event" in r]
        assert events == [r for r in records(twin) if "event" in r], case.name

        def observed(c: Case) -> set[tuple[float, str]]:
            out = set()
            for r in records(c):
                for part, fields in r.get("observe", {}).items():
                    if part == "nodes":
                        out |= {(r["t"], f"{n}.{k}") for n, node in fields.items() for k in node}
                    elif isinstance(fields, dict):
                        out |= {(r["t"], f"{part}.{k}") for k in fields}
                    else:
                        out.add((r["t"], part))
            return out

        assert observed(case) - observed(twin), case.name


@pytest.mark.slow
def test_a_negative_claim_is_the_first_record_after_its_step(canonical_suite: Suite) -> None:
    """A claim of the page as if a rule had fired: an observation of the same instant before
    it would already rule out what a spec without the condition may do, so the claim would
    diverge under that spec too and tell nothing."""
    claims = 0
    for case in canonical_suite.cases:
        if case.verdict != "diverges" or not any(
            c.startswith(("condition:", "guard:")) for c in case.covers
        ):
            continue
        *before, last = records(case)
        if "observe" in last:
            claims += 1
            assert not ("observe" in before[-1] and before[-1]["t"] == last["t"]), case.name
    assert claims > 30


def test_each_file_says_what_it_covers(canonical_suite: Suite) -> None:
    for case in canonical_suite.cases:
        header = json.loads(case.text.splitlines()[0])
        assert set(header) <= {"hasm_trace", "nodes", "users", "params", "initial", "group"}
        assert header["group"] == case.title
        assert case.covers


@pytest.mark.slow
def test_the_written_suite_checks_with_hasm_check(
    canonical_spec: Spec, canonical_suite: Suite, tmp_path: Path
) -> None:
    out = tmp_path / "suite"
    write_suite(canonical_suite, out)
    cases = read_suite(out)
    assert len(cases) == len(canonical_suite.cases)
    for case in cases:
        verdict = check_file(canonical_spec, out / case.name, case.tolerance)
        assert verdict.status == case.verdict, case.name
        if case.verdict == "input_error":
            assert verdict.problems[0].line == case.line
            continue
        if case.line is not None:
            assert verdict.divergence is not None
            assert verdict.divergence.line == case.line
