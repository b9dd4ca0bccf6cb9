"""The wording of the reader's problems, and what checking records indexes of a spec."""

from __future__ import annotations

from hasm.spec.model import Spec
from hasm.trace.checker import SpecIndex
from hasm.trace.wording import (
    as_float,
    choose,
    kind_of,
    one_of_nodes,
    path_key,
    quoted,
    show,
    show_time,
)


def test_values_are_shown_short_and_printable() -> None:
    assert show("alice") == "'alice'"
    assert show([1, 2]) == "[1, 2]"
    assert show(10**400) == "a number too large"
    assert show("x" * 100).endswith(" ...") and len(show("x" * 100)) == 60
    assert quoted("a\tb") == '"a\\tb"'
    assert path_key("") == "''" and path_key("node") == "node"
    assert [kind_of(v) for v in ([], "", None, True, 1.5)] == [
        "a list",
        "a string",
        "null",
        "true",
        "a number",
    ]


def test_times_and_numbers() -> None:
    assert (show_time(60.0), show_time(0.5)) == ("60", "0.5")
    assert as_float(3) == 3.0 and as_float(10**400) == float("inf")


def test_fixes_suggest_the_closest_name_or_list_them() -> None:
    assert choose("failovr", ["failover", "fallback"]) == "did you mean 'failover'?"
    assert choose(3, ["a", "b"]) == "use one of: a, b"
    assert one_of_nodes(("p", "s")) == "use 'p' or 's'"


def test_the_index_knows_each_events_fields_and_the_labels(spec: Spec) -> None:
    index = SpecIndex(spec)
    assert index.events["service_stop"] == (True, True, False, 4)
    assert index.services == frozenset(spec.services)
    normal = spec.states["normal"]
    assert index.states.id_of(normal.label.upper()) == "normal"
    assert index.states.id_of("no such state") is None
