"""Ranges of re-login counts: when nothing observed pins how many waiting clients are back, the
oracle keeps one candidate standing for every count (hasm.oracle.candidates) instead of one per count.
It must give exactly the verdicts listing every count gives, and cost what few users cost."""

from __future__ import annotations

import io
import random
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from test_oracle import (
    FAILED_CSNR,
    _manual_failover_and_fallback,
    draw_trace,
    dump,
    parse,
)

from hasm.core.config import NO_NODE, NOT_WAITING, SIGNED_OUT, UserKey
from hasm.core.semantics import move_users
from hasm.errors import ConformanceError
from hasm.oracle.candidates import Candidate, add_split, coalesce, members
from hasm.oracle.oracle import Oracle
from hasm.oracle.report import Divergence
from hasm.spec.model import Spec
from hasm.trace.reader import read_trace


@pytest.fixture(autouse=True, scope="module")
def _ranges_for_every_count() -> Iterator[None]:
    """Ranges even for the few users these tests have (the oracle lists a small cohort's
    counts one by one, which merges better)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("hasm.oracle.oracle._LISTED_UP_TO", 0)
        yield


def check(spec: Spec, text: str, *, ranges: bool) -> tuple[Divergence | None, int]:
    """The divergence (or None) and the most candidates held after any record."""
    header, records = read_trace(io.StringIO(text), spec, name="trace.jsonl")
    oracle = Oracle.from_header(spec, header, ranges=ranges, memo=False)
    most = 0
    try:
        for record in records:
            oracle.record(record)
            most = max(most, len(oracle.candidates))
    except ConformanceError as exc:
        return exc.divergence, most
    return None, most


def same_verdict(spec: Spec, text: str) -> Divergence | None:
    ranged, _ = check(spec, text, ranges=True)
    listed, _ = check(spec, text, ranges=False)
    assert (ranged is None) == (listed is None), f"ranges: {ranged}\nlisted: {listed}"
    if ranged is not None and listed is not None:
        assert (ranged.line, ranged.t, ranged.fields) == (listed.line, listed.t, listed.fields)
    return ranged


# -- what a range does ---------------------------------------------------------------------------
def test_an_unobserved_count_is_one_candidate_narrowed_by_the_next_counter(spec: Spec) -> None:
    users = {f"u{i}": "pub" for i in range(50)}
    oracle = Oracle(spec, ("pub", "sub"), users, initial="normal")
    oracle.event(0, "failover", "pub")
    oracle.observe(70, nodes={"pub": {"state": "Idle"}, "sub": {"state": "Running in Backup Mode"}})
    oracle.observe(300, nodes={"sub": {"state": "Running in Backup Mode"}})  # counts unknown
    # One candidate, a range: 0 to 50 clients back; nothing so far depended on the spec's
    # readings, so it stands for every answer (they are open).
    assert len(oracle.candidates) == 1
    assert oracle.answers() == oracle.model.reading_choices
    assert {cand.size() for cand in oracle.candidates} == {51}
    oracle.observe(300, nodes={"sub": {"active_users": 17}})
    assert {cand.size() for cand in oracle.candidates} == {1}
    assert oracle.allowed()["nodes.sub.active_users"] == ("17",)
    with pytest.raises(ConformanceError):
        oracle.observe(301, nodes={"sub": {"active_users": 16}})  # nobody leaves a serving node


def test_sessions_bound_a_range_from_both_sides(spec: Spec) -> None:
    users = {f"u{i}": "pub" for i in range(10)}
    oracle = Oracle(spec, ("pub", "sub"), users, initial="normal")
    oracle.event(0, "failover", "pub")
    oracle.observe(400, nodes={"pub": {"state": "Idle"}})
    # four seen back on sub and three still without a session: 4 to 7 are back
    seen = {"u0": "sub", "u1": "sub", "u2": "sub", "u3": "sub", "u4": None, "u5": None, "u6": None}
    oracle.observe(400, sessions=seen)
    allowed = oracle.allowed()["nodes.sub.active_users"]
    assert allowed == ("4", "5", "6", "7")
    with pytest.raises(ConformanceError) as err:  # the same instant, in one record
        oracle.observe(400, nodes={"sub": {"active_users": 8}}, sessions=seen)
    # each alone is possible (an eighth client may be back by now), not both at once
    report = {f.field: f.allowed for f in err.value.divergence.fields}
    assert "8" in report["nodes.sub.active_users"]
    assert "(together)" in report


def test_all_clients_back_by_the_deadline_outlive_it(spec: Spec) -> None:
    """At the re-login deadline every client is back: the range's far end goes on alone."""
    users = {f"u{i}": "pub" for i in range(8)}
    oracle = Oracle(spec, ("pub", "sub"), users, initial="normal")
    oracle.event(0, "failover", "pub")
    oracle.observe(200, nodes={"pub": {"state": "Idle"}})
    oracle.observe(2000, nodes={"pub": {"state": "Idle"}})  # far past 0 + 60 + 537 s
    assert oracle.allowed()["nodes.sub.active_users"] == ("8",)


def test_a_range_follows_a_fallback_that_ends_its_sessions(spec: Spec) -> None:
    """Fallback while clients are still coming back: those back lose their session again, the
    others keep waiting - two waiting cohorts no range can say, so the range is listed out
    there, and the verdicts stay those of listing every count from the start."""
    text, _ = _manual_failover_and_fallback(spec, 40, every=4, counters=False)
    assert same_verdict(spec, text) is None


# -- coalescing: candidates that differ in one count become a range ---------------------------------
KEYS: list[UserKey] = [
    (home, session, since)
    for home in (0, 1)
    for session, since in (
        (NO_NODE, NOT_WAITING),
        (0, NOT_WAITING),
        (1, NOT_WAITING),
        (0, SIGNED_OUT),
        (1, SIGNED_OUT),
    )
]


@st.composite
def variants(draw: st.DrawFn, base: Candidate) -> Candidate:
    """`base` with a few users moved between a home's cohorts, and maybe a range or two."""
    cand = base
    for _ in range(draw(st.integers(0, 6))):
        source, target = draw(st.sampled_from(KEYS)), draw(st.sampled_from(KEYS))
        count = cand.config.count(source)
        if source[0] == target[0] and source != target and count:
            moved = draw(st.integers(1, count))
            cand = Candidate(move_users(cand.config, source, target, moved), cand.zone)
    taken: set[UserKey] = set()
    for _ in range(draw(st.integers(0, 2))):
        source, target = draw(st.sampled_from(KEYS)), draw(st.sampled_from(KEYS))
        count = cand.config.count(source)
        if source[0] == target[0] and source != target and count and not {source, target} & taken:
            cand = add_split(cand, source, target, draw(st.integers(1, count)))
            taken |= {source, target}
    return cand


@settings(max_examples=examples(300))
@given(data=st.data())
def test_coalescing_keeps_every_member_and_adds_no_candidate(
    spec: Spec, data: st.DataObject
) -> None:
    users = {f"u{i}": ("pub", "sub")[i % 2] for i in range(8)}
    base = next(iter(Oracle(spec, ("pub", "sub"), users, initial="normal").candidates))
    cands = set(data.draw(st.lists(variants(base), min_size=1, max_size=8), label="candidates"))
    merged = coalesce(cands)
    assert {m for c in merged for m in members(c)} == {m for c in cands for m in members(c)}
    assert len(merged) <= len(cands)


def test_counts_that_make_one_interval_become_one_range(spec: Spec) -> None:
    users = {f"u{i}": "pub" for i in range(6)}
    base = next(iter(Oracle(spec, ("pub", "sub"), users, initial="normal").candidates))
    signed_in, kept = (0, 0, NOT_WAITING), (0, 0, SIGNED_OUT)

    def kept_from(low: int, extra: int) -> Candidate:
        cand = Candidate(move_users(base.config, signed_in, kept, low), base.zone)
        return add_split(cand, signed_in, kept, extra) if extra else cand

    (merged,) = coalesce([kept_from(0, 2), kept_from(3, 0), kept_from(4, 1)])
    assert merged.size() == 6 and {m.config.count(kept) for m in members(merged)} == set(range(6))
    apart = coalesce([kept_from(0, 1), kept_from(3, 1)])  # 2 is missing: no interval
    assert len(apart) == 2


def test_sign_outs_and_sign_ins_nothing_observes_stay_one_candidate(spec: Spec) -> None:
    """The long trace's shape: each user signs out and in again, and no record between says
    whether the sign-out kept the session (A-logout-session). The sign-in is the signed-out
    user's (hasm.oracle.clients), whichever way the sign-out went, so it leaves nothing open:
    one candidate throughout, the readings left open (before: a candidate per number of
    kept sessions per node, 1,600 after 40 users, each stepped on every record)."""
    users = {f"u{i}": ("pub", "sub")[i % 2] for i in range(40)}
    oracle = Oracle(spec, ("pub", "sub"), users, initial="normal")
    for i, user in enumerate(users):
        oracle.event(1 + i, "logout", user=user)
        assert {c.size() for c in oracle.candidates} == {2}  # kept or ended, one range
        oracle.event(1 + i, "login", user=user)
        assert len(oracle.candidates) == 1  # the readings still open: every answer
        assert {c.size() for c in oracle.candidates} == {1}
    oracle.observe(100, nodes={"pub": {"active_users": 20}, "sub": {"active_users": 20}})


def test_a_burst_of_sign_outs_nothing_observes_stays_a_few_candidates(spec: Spec) -> None:
    """40 users sign out, none signs in again, and nothing observes whether a sign-out kept the
    session (A-logout-session). Each sign-out is a signed-in user's, and a signed-out client
    with no session has a cohort of its own (SIGNED_OUT), so it names only the user's session:
    one candidate throughout, the kept sessions of each home one range (before, the signed-out
    clients shared a cohort with signed-in ones that had stopped, a later sign-out could be
    one of them, and the candidates counted every pair of counts per home: 400 here, 1,600
    for 80 users). Then the counters pin the ranges, and either reading of each sign-out stays
    possible."""
    users = {f"u{i}": ("pub", "sub")[i % 2] for i in range(40)}
    oracle = Oracle(spec, ("pub", "sub"), users, initial="normal")
    for i, user in enumerate(users):
        oracle.event(1 + i, "logout", user=user)
        assert len(oracle.candidates) == 1
    (cand,) = oracle.candidates
    assert cand.size() == 21 * 21  # 0 to 20 kept sessions on each node
    for pub, sub in ((0, 0), (20, 20), (7, 13)):
        pinned = Oracle(spec, ("pub", "sub"), users, initial="normal")
        for i, user in enumerate(users):
            pinned.event(1 + i, "logout", user=user)
        pinned.observe(100, nodes={"pub": {"active_users": pub}, "sub": {"active_users": sub}})
        assert [c.size() for c in pinned.candidates] == [1]
        (config,) = (c.config for c in pinned.candidates)
        assert {c.key: c.count for c in config.users} == {
            key: n
            for key, n in {
                (0, 0, SIGNED_OUT): pub,
                (0, NO_NODE, SIGNED_OUT): 20 - pub,
                (1, 1, SIGNED_OUT): sub,
                (1, NO_NODE, SIGNED_OUT): 20 - sub,
            }.items()
            if n
        }


# -- cost: many users cost what few do ----------------------------------------------------------------
@pytest.mark.slow  # one of the unit tests the quick loop leaves to `make test`
@pytest.mark.parametrize("counters", [True, False])
def test_fifteen_thousand_users_cost_what_four_do(spec: Spec, counters: bool) -> None:
    """A manual failover and fallback, observed every tenth of the re-logins - with the
    nodes' counters, or with states and three sessions only. Either way the candidates stay a
    handful and 15,000 users take about the time 4 do (generous bound: shared CI machines)."""
    seconds, most = {}, {}
    for users in (4, 15_000):
        text, _ = _manual_failover_and_fallback(
            spec, users, every=max(1, users // 10), counters=counters
        )
        header, records = read_trace(io.StringIO(text), spec)
        oracle = Oracle.from_header(spec, header)
        start = time.perf_counter()
        most[users] = 0
        for record in records:
            oracle.record(record)
            most[users] = max(most[users], len(oracle.candidates))
        seconds[users] = time.perf_counter() - start
    print(f"counters={counters}: {seconds}, most candidates {most}")
    assert most[15_000] <= 4 * len(Oracle.from_header(spec, header).model.reading_choices)
    assert seconds[15_000] < 20 * seconds[4] + 0.5


# -- ranges change no verdict: random traces, thinned and mutated ---------------------------------------
def thin(lines: list[dict[str, Any]], seed: int) -> None:
    """Leave out counters, sessions and offers of observations at random: what a monitoring
    tool that scrapes less would see."""
    rng = random.Random(seed)
    for line in lines[1:]:
        observe = line.get("observe")
        if observe is None:
            continue
        for node in observe.get("nodes", {}).values():
            for key in ("active_users", "assigned_users"):
                if rng.random() < 0.6:
                    node.pop(key, None)
        sessions = observe.get("sessions", {})
        for user in list(sessions):
            if rng.random() < 0.6:
                del sessions[user]
        if rng.random() < 0.5:
            observe.pop("offered", None)


@settings(max_examples=examples(80))
@given(data=st.data())
def test_ranges_give_what_listing_every_count_gives(spec: Spec, data: st.DataObject) -> None:
    lines = parse(draw_trace(data, spec))
    thin(lines, data.draw(st.integers(0, 2**16), label="thin"))
    if len(lines) > 1 and data.draw(st.booleans(), label="mutate"):
        i = data.draw(st.integers(1, len(lines) - 1), label="line")
        observe = lines[i].get("observe")
        if observe and observe.get("nodes"):
            node = data.draw(st.sampled_from(sorted(observe["nodes"])), label="node")
            field = data.draw(st.sampled_from(["state", "active_users"]), label="field")
            observe["nodes"][node][field] = (
                data.draw(st.sampled_from(["Normal", "Idle", FAILED_CSNR]))
                if field == "state"
                else data.draw(st.integers(0, 6))
            )
        elif observe and observe.get("sessions"):
            user = data.draw(st.sampled_from(sorted(observe["sessions"])), label="user")
            observe["sessions"][user] = data.draw(
                st.sampled_from([None, *lines[0]["nodes"]]), label="session"
            )
    same_verdict(spec, dump(lines))
