"""The bounded memo (hasm.core.memo) and the model that owns one: tables start again when full,
parts are made once, and clearing the model's memo forgets every layer's state, results kept."""

from __future__ import annotations

from collections.abc import Iterator

from conftest import make_config, node

from hasm.core.config import Config, EventInput
from hasm.core.memo import LIMIT, Memo, Table
from hasm.core.model import Model
from hasm.core.semantics import apply, initial_config, offered
from hasm.core.views import documented_pairs
from hasm.explorer.invariants import check_config, watch_start
from hasm.spec.model import All, AnyOf, Spec
from hasm.spec.model import Test as Cond  # not `Test`: pytest would try to collect it


def _never(memo: Memo) -> object:
    raise AssertionError("the part should have been made already")


def _configs(model: Model) -> Iterator[Config]:
    """Every configuration one step from the start: some of what a search meets."""
    start = initial_config(model, "normal", (1, 1))
    yield start
    for action in offered(model, start):
        for step in apply(model, start, action):
            yield step.config
    for n in (0, 1):
        for step in apply(model, start, EventInput("node_down", node=n)):
            yield step.config


def test_a_table_keeps_at_most_its_limit_then_starts_again() -> None:
    table: Table[int, str] = Table(3)
    for i in range(3):
        assert table.keep(i, str(i)) == str(i)
    assert dict(table) == {0: "0", 1: "1", 2: "2"}
    table.keep(3, "3")  # full: emptied first
    assert dict(table) == {3: "3"}
    for i in range(100):
        table.keep(i, "x")
        assert len(table) <= 3
    assert Table().limit == LIMIT


def test_a_memo_names_its_tables_and_parts_and_clears_them_all() -> None:
    memo = Memo(limit=2)
    first = memo.table("a")
    assert memo.table("a") is first and memo.table("b") is not first
    first.keep("k", 1)
    assert first.limit == 2
    made = memo.part("p", lambda m: [m])
    assert made == [memo] and memo.part("p", _never) is made
    memo.clear()
    assert memo.table("a") is first and not first  # emptied in place: holders keep it
    assert memo.part("p", lambda m: "again") == "again"


def test_the_model_owns_its_memo_and_every_layer_keeps_its_tables_there(spec: Spec) -> None:
    model = Model(spec)
    configs = list(_configs(model))
    before = [
        (offered(model, c), documented_pairs(model, c), check_config(model, c)) for c in configs
    ]
    watch_start(model, configs[0])
    assert not hasattr(model, "_invariant_cache")
    compiled = model.memo.part("invariants", _never)  # the invariant checks' part is there
    assert model.memo.table("offers") and model.memo.table("rows")
    model.memo.clear()
    assert not model.memo.table("offers") and not model.memo.table("matches")
    again = [
        (offered(model, c), documented_pairs(model, c), check_config(model, c)) for c in configs
    ]
    assert again == before
    assert model.memo.part("invariants", _never) is not compiled  # made anew after the clear


def test_a_model_notes_a_parameter_when_it_could_change_a_guard(spec: Spec) -> None:
    noted: set[str] = set()
    model = Model(spec, params_noted=noted)
    idle = Cond("node", "state", ("idle",))
    param = Cond("param", "enable_automatic_fallback", True)
    conjunction, alone = model.compile(All((param, idle))), model.compile(AnyOf((param,)))
    assert not noted  # compiling reads nothing: evaluating does
    running = make_config(node("normal", "normal"), node("normal", "normal"))
    assert conjunction(running, 0, None) is False
    assert not noted  # the rest failed: the parameter could not have changed the outcome
    waiting = make_config(node("idle", "normal"), node("normal", "normal"))
    expected = model.params["enable_automatic_fallback"] is True
    assert conjunction(waiting, 0, None) is expected and noted == {"enable_automatic_fallback"}
    noted.clear()
    assert alone(running, 0, None) is expected and noted == {"enable_automatic_fallback"}
    plain = Model(spec)  # the same outcomes without noting
    assert plain.compile(All((param, idle)))(waiting, 0, None) is expected
