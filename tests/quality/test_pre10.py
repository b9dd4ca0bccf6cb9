"""The pre-release-10 spec: a failover moves the users' assignment, which breaks the invariant
that users keep their home node; the canonical spec, on the same steps, breaks nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import only

from hasm.cli import EXIT_FALSE, EXIT_OK, main
from hasm.core.config import Config, EventInput, Fire
from hasm.core.model import Model
from hasm.core.semantics import advance, apply, deadline, forced, initial_config
from hasm.core.views import node_views
from hasm.explorer.invariants import check_step
from hasm.spec.loader import canonical_spec_path, load_spec
from hasm.spec.model import Spec

PRE10 = canonical_spec_path().with_name("imp-ha-pre10.yaml")


@pytest.fixture(scope="module")
def pre10() -> Spec:
    return load_spec(PRE10)


def failover_and_back(model: Model) -> tuple[list[tuple[str, str]], Config]:
    """Manual failover of node 0 (3 users) to node 1 (0 users), then fallback; every step's
    invariant violations as (invariant, detail)."""
    config = initial_config(model, "normal", (3, 0))
    seen: list[tuple[str, str]] = []
    script = [
        (100.0, EventInput("failover", node=0)),
        (101.0, Fire("user_move", 1)),
        (900.0, EventInput("fallback", node=0)),
        (901.0, Fire("user_move", 0)),
    ]
    for at, inp in script:
        # What must happen before `at` (clients whose re-login window closes) happens first.
        while (due := deadline(model, config)) is not None and due < at:
            config = advance(model, config, due)
            step = only(apply(model, config, forced(model, config)[0]))
            seen += [(v.invariant, v.detail) for v in check_step(model, config, step)]
            config = step.config
        config = advance(model, config, at)
        step = only(apply(model, config, inp))
        seen += [(v.invariant, v.detail) for v in check_step(model, config, step)]
        config = step.config
    return seen, config


def test_failover_moves_the_assignment_and_breaks_home_never_changes(pre10: Spec) -> None:
    seen, final = failover_and_back(Model(pre10))
    broken = [detail for inv, detail in seen if inv == "home_never_changes"]
    assert broken == [
        "3 user(s) moved from home node 0 to home node 1",  # the failover completes
        "3 user(s) moved from home node 1 to home node 0",  # the fallback completes
    ]
    assert [v.assigned_users for v in node_views(Model(pre10), final)] == [3, 0]


def test_the_page_shows_the_users_assigned_to_the_backup(pre10: Spec) -> None:
    model = Model(pre10)
    config = initial_config(model, "normal", (4, 0))
    config = only(apply(model, advance(model, config, 100), EventInput("failover", node=0))).config
    config = only(apply(model, advance(model, config, 130), Fire("user_move", 1))).config
    pub, sub = node_views(model, config)
    # Release 10 and later would show 4 assigned on the Idle node (the seed's screenshot).
    assert (pub.assigned_users, sub.assigned_users) == (0, 4)


def test_the_canonical_spec_keeps_every_home(canonical_spec: Spec) -> None:
    seen, final = failover_and_back(Model(canonical_spec))
    assert seen == []
    assert [v.assigned_users for v in node_views(Model(canonical_spec), final)] == [3, 0]


def test_pre10_validates_lints_and_documents(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--spec", str(PRE10)]) == EXIT_OK
    assert main(["lint", "--spec", str(PRE10)]) == EXIT_OK
    assert main(["doc", "--spec", str(PRE10)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "(releases before 10.0)" in out
    assert "`A-pre10-assignment-moves`" in out


def test_verifying_pre10_names_the_invariant_it_breaks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`hasm verify` goes on past a first violation, so it names every invariant the old spec
    breaks, each with its shortest counterexample; home_never_changes is among them, and its
    counterexample ends where the failover completes and the assignment moves."""
    monitored = ["presence_engine"]
    args = ["verify", "--spec", str(PRE10), "--out", str(tmp_path), "--monitored", *monitored]
    assert main([*args, "--param", "enable_automatic_fallback=false"]) == EXIT_FALSE
    out = capsys.readouterr().out
    assert "home_never_changes" in out.splitlines()[0]
    (trace,) = tmp_path.glob("counterexample-1-home_never_changes.jsonl")
    lines = [json.loads(line) for line in trace.read_text().splitlines()]
    assert [line.get("event") for line in lines if "event" in line] == ["failover"]
