"""The guard algebra of hasm.spec.guards: enumeration, rewriting, the static readings (three-valued
and disjunctive normal form) checked against the compiled guard, and the notations."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from hasm.core.config import Config, EventInput, Node
from hasm.core.model import Model
from hasm.spec.guards import (
    SPEC_NOTATION,
    SUITE_NOTATION,
    Domains,
    allows,
    conjoin,
    conjuncts,
    describe_guard,
    dnf,
    either,
    guard_tests,
    named_services,
    params_read,
    spec_guards,
    states_known,
    swap,
    verdict,
    word_notation,
)
from hasm.spec.loader import load_spec
from hasm.spec.model import TRUE, All, AnyOf, Guard, Not, Spec
from hasm.spec.model import Test as Cond  # not collected as a test class
from hasm.spec.params import resolve_params

SPECS = ("specs/imp-ha.yaml", "specs/imp-ha-pre10.yaml", "tests/specs/small.yaml")

IDLE = Cond("node", "state", ("idle",))
BACKUP = Cond("peer", "state", ("backup",))
CONNECTED = Cond("group", "connected", True)
NODE_UP = Cond("node", "up", True)


# -- enumeration ----------------------------------------------------------------------------------
def test_guard_tests_go_through_all_any_and_not_in_order() -> None:
    guard = All((IDLE, AnyOf((BACKUP, Not(CONNECTED))), NODE_UP))
    assert list(guard_tests(guard)) == [IDLE, BACKUP, CONNECTED, NODE_UP]


def test_spec_guards_options_choose_which_guards(canonical_spec: Spec) -> None:
    every = list(spec_guards(canonical_spec))
    plain = list(spec_guards(canonical_spec, reasons=False, invariants="none"))
    assert plain == [t.when for t in canonical_spec.transitions] + [
        x.while_ for x in (*canonical_spec.timers.values(), *canonical_spec.unserved.values())
    ]
    requires = list(spec_guards(canonical_spec, invariants="requires"))
    assert len(plain) < len(requires) < len(every)


def test_params_read_and_named_services() -> None:
    guard = All((Cond("param", "mode", True), Cond("node", "service_down", ("db",))))
    event = Cond("event", "service", ("web",))
    assert params_read([guard, event]) == {"mode"}
    spec = load_spec("tests/specs/small.yaml")
    assert named_services(spec) <= frozenset(spec.services)


# -- rewriting ------------------------------------------------------------------------------------
def test_conjuncts_are_a_mappings_entries() -> None:
    assert conjuncts(All((IDLE, BACKUP))) == (IDLE, BACKUP)
    assert conjuncts(TRUE) == ()
    assert conjuncts(IDLE) == (IDLE,)
    assert conjuncts(Not(IDLE)) == (Not(IDLE),)


def test_swap_exchanges_node_and_peer_only() -> None:
    guard = All((IDLE, Not(AnyOf((BACKUP, CONNECTED)))))
    assert swap(guard) == All(
        (
            Cond("peer", "state", ("idle",)),
            Not(AnyOf((Cond("node", "state", ("backup",)), CONNECTED))),
        )
    )


# -- three-valued reading -------------------------------------------------------------------------
def test_verdict_is_kleene_logic() -> None:
    decide = states_known({"node": "idle"})
    assert verdict(IDLE, decide) is True
    assert verdict(Not(IDLE), decide) is False
    assert verdict(BACKUP, decide) is None  # the peer's state is not given
    assert verdict(All((IDLE, CONNECTED)), decide) is None
    assert verdict(All((Not(IDLE), CONNECTED)), decide) is False
    assert verdict(AnyOf((IDLE, CONNECTED)), decide) is True
    assert verdict(AnyOf((Not(IDLE), CONNECTED)), decide) is None
    assert verdict(TRUE, decide) is True
    assert verdict(AnyOf(()), decide) is False


def test_states_known_reads_a_state_test_as_the_core_does() -> None:
    decide = states_known({"node": "idle", "peer": "backup"})
    assert decide(IDLE) is True
    assert decide(Cond("peer", "state", ("idle",))) is False
    assert decide(Cond("node", "state", "idle")) is False  # not a tuple: matches nothing
    assert decide(Cond("node", "reason", ("idle",))) is None
    assert decide(CONNECTED) is None


# -- disjunctive normal form ----------------------------------------------------------------------
def test_dnf_of_a_negated_alternative_is_one_term(canonical_spec: Spec) -> None:
    domains = Domains(canonical_spec)
    (term,) = dnf(Not(AnyOf((IDLE, CONNECTED))), domains)
    assert term["node.state"] == frozenset(canonical_spec.states) - {"idle"}
    assert term["connected"] == {False}


def test_dnf_drops_what_the_laws_forbid(canonical_spec: Spec) -> None:
    domains = Domains(canonical_spec)
    assert dnf(All((CONNECTED, Cond("peer", "up", False))), domains) == []
    assert dnf(All((Cond("node", "srm_running", True), Cond("node", "up", False))), domains) == []
    assert dnf(TRUE, domains) == [{}]
    assert dnf(TRUE, domains, negate=True) == []


def test_conjoin_and_allows(canonical_spec: Spec) -> None:
    domains = Domains(canonical_spec)
    both = conjoin(dnf(IDLE, domains), dnf(AnyOf((IDLE, BACKUP)), domains))
    assert len(both) == 2
    assert all(allows(t, "node.state", "idle") for t in both)
    assert not any(allows(t, "node.state", "backup") for t in both)
    assert allows({}, "node.state", "anything")


# -- the static readings agree with the compiled guard --------------------------------------------
_SPEC = load_spec()
_DOMAINS = Domains(_SPEC)
_LEAVES = sorted({t for g in spec_guards(_SPEC) for t in guard_tests(g)}, key=repr)


def _guards() -> st.SearchStrategy[Guard]:
    return st.recursive(
        st.sampled_from(_LEAVES),
        lambda kids: st.one_of(
            st.lists(kids, max_size=3).map(lambda gs: All(tuple(gs))),
            st.lists(kids, max_size=3).map(lambda gs: AnyOf(tuple(gs))),
            kids.map(Not),
        ),
        max_leaves=8,
    )


@st.composite
def _nodes(draw: st.DrawFn) -> Node:
    up = draw(st.booleans())
    return Node(
        state=draw(st.sampled_from(sorted(_SPEC.states))),
        reason=draw(st.sampled_from(sorted(_SPEC.reasons))),
        up=up,
        srm=up and draw(st.booleans()),  # an SRM runs only on a node that is up
        stopped=frozenset(draw(st.sets(st.sampled_from(sorted(_SPEC.services))))),
    )


@st.composite
def _situations(draw: st.DrawFn) -> tuple[Model, Config, int, EventInput | None]:
    params = resolve_params(_SPEC)
    for name in sorted(params):
        choices = sorted(v for v in _DOMAINS.of(f"param.{name}") if isinstance(v, bool | float))
        params[name] = draw(st.sampled_from(choices or [params[name]]))
    monitored = draw(st.sets(st.sampled_from(sorted(_SPEC.services))))
    config = Config(0.0, draw(st.booleans()), draw(st.booleans()), (draw(_nodes()), draw(_nodes())))
    service = draw(st.none() | st.sampled_from(sorted(_SPEC.services)))
    event = draw(st.none() | st.just(EventInput("stop_service", 0, service)))
    return Model(_SPEC, params, monitored), config, draw(st.sampled_from((0, 1))), event


def _values(model: Model, c: Config, n: int, e: EventInput | None) -> Iterator[tuple[str, object]]:
    """Every variable of a DNF term with its value in the situation."""
    yield "ha_enabled", c.ha_enabled
    yield "link_up", c.link_up
    yield "connected", c.connected()
    for side, index in (("node", n), ("peer", n ^ 1)):
        node = c.nodes[index]
        yield f"{side}.state", node.state
        yield f"{side}.reason", node.reason
        yield f"{side}.up", node.up
        yield f"{side}.srm_running", node.srm
        yield f"{side}.monitored_down", not model.monitored.isdisjoint(node.stopped)
        for s in _SPEC.services:
            yield f"{side}.down.{s}", s in node.stopped & model.monitored
    for name in _SPEC.readings:  # the node's answers, as the compiled guard reads them
        yield f"reading.{name}", name in c.nodes[n].readings
    for name, value in model.params.items():
        domain = _DOMAINS.of(f"param.{name}")
        other = [v for v in domain if not isinstance(v, bool | float)]
        yield f"param.{name}", value if value in domain else other[0]
    none = _DOMAINS.of("event.service") - frozenset(_SPEC.services)
    yield "event.service", e.service if e is not None and e.service else next(iter(none))


@settings(max_examples=examples(300))
@given(guard=_guards(), situation=_situations())
def test_static_readings_agree_with_the_compiled_guard(
    guard: Guard, situation: tuple[Model, Config, int, EventInput | None]
) -> None:
    model, config, n, event = situation
    holds = model.compile(guard)(config, n, event)
    states = {"node": config.nodes[n].state, "peer": config.nodes[n ^ 1].state}
    claimed = verdict(guard, states_known(states))
    assert claimed is None or claimed == holds
    values = dict(_values(model, config, n, event))
    admitted = any(all(allows(t, v, x) for v, x in values.items()) for t in dnf(guard, _DOMAINS))
    refuted = any(
        all(allows(t, v, x) for v, x in values.items()) for t in dnf(guard, _DOMAINS, negate=True)
    )
    assert (admitted, refuted) == (holds, not holds)


@settings(max_examples=examples(200))
@given(guard=_guards(), situation=_situations())
def test_swap_is_an_involution_that_exchanges_the_roles(
    guard: Guard, situation: tuple[Model, Config, int, EventInput | None]
) -> None:
    assert swap(swap(guard)) == guard
    model, config, n, event = situation
    assert model.compile(swap(guard))(config, n ^ 1, event) == model.compile(guard)(
        config, n, event
    )


# -- notations ------------------------------------------------------------------------------------
def test_spec_notation_is_the_default() -> None:
    guard = All((IDLE, AnyOf((BACKUP, Not(CONNECTED))), Cond("param", "delay", 30.0)))
    expected = (
        "node.state: idle, any of (peer.state: backup; not (connected: true)), param.delay: 30"
    )
    assert describe_guard(guard) == describe_guard(guard, SPEC_NOTATION) == expected
    assert describe_guard(TRUE) == "always"


def test_word_notation_uses_the_spec_labels(canonical_spec: Spec) -> None:
    words = word_notation(canonical_spec)
    idle = canonical_spec.states["idle"].label
    assert describe_guard(All((IDLE, Not(CONNECTED))), words) == (
        f"node is {idle}; not (the nodes hear each other)"
    )
    assert describe_guard(AnyOf((NODE_UP, CONNECTED)), words) == (
        "either (node is up) or (the nodes hear each other)"
    )
    assert describe_guard(TRUE, words) == "always"


def test_either_names_alternatives() -> None:
    assert either(["a"]) == "a"
    assert either(["a", "b", "c"]) == "a, b or c"
    assert either(["up or down", "b"]) == '"up or down" or "b"'


def _suite_describe(guard: Guard) -> str:
    """`hasm.suite.generate._describe` as it was written there, the reference for SUITE_NOTATION."""
    if isinstance(guard, Cond):
        value = guard.value
        shown = f"[{', '.join(value)}]" if isinstance(value, tuple) else json.dumps(value)
        return f"{guard.key}: {shown}"
    if isinstance(guard, Not):
        return f"not {{{_suite_describe(guard.term)}}}"
    if isinstance(guard, AnyOf):
        return "any of [" + "; ".join(_suite_describe(t) for t in guard.terms) + "]"
    return "{" + ", ".join(_suite_describe(t) for t in guard.terms) + "}"


def _subguards(guard: Guard) -> Iterator[Guard]:
    yield guard
    if isinstance(guard, All | AnyOf):
        for term in guard.terms:
            yield from _subguards(term)
    elif isinstance(guard, Not):
        yield from _subguards(guard.term)


@pytest.mark.parametrize("path", SPECS)
def test_suite_notation_is_the_suite_titles(path: str) -> None:
    spec = load_spec(path)
    guards = [g for top in spec_guards(spec) for g in _subguards(top)]
    assert guards
    for guard in guards:
        assert describe_guard(guard, SUITE_NOTATION) == _suite_describe(guard)
