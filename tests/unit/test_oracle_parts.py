"""The oracle's parts, each on its own: the clock, observing, reaching and reporting."""

from __future__ import annotations

import math

import pytest

from hasm.core.model import Model
from hasm.core.semantics import initial_config
from hasm.core.views import node_views
from hasm.errors import InputError
from hasm.oracle.candidates import Candidate, starting
from hasm.oracle.clock import TICKS, show_seconds, show_ticks, ticks
from hasm.oracle.observing import Observation, Observer, node_matches
from hasm.oracle.reaching import Pins, Reacher
from hasm.oracle.report import Divergence, FieldReport, Reporter, Seen
from hasm.spec.model import Spec
from hasm.trace.records import NodeObservation, OfferedObservation

PUB, SUB = "IMPPub.example.net", "IMPSub.example.net"
NODES = (PUB, SUB)
HOMES = {"alice": 0, "bob": 1}


@pytest.fixture
def ticking(spec: Spec) -> Model:
    return Model(spec, ticks=TICKS)


def normal(model: Model) -> Candidate:
    return starting(initial_config(model, "normal", (1, 1)))


def test_the_clock_reads_times_to_the_nanosecond_and_shows_them_short() -> None:
    assert ticks(0.1) == 100_000_000
    assert ticks(2e6 + 0.000000001) == 2_000_000_000_000_001
    assert (show_seconds(60.0), show_seconds(0.1234)) == ("60", "0.123")
    assert show_ticks(1_500_000_000) == "1.500"


def test_an_observation_is_normalised_from_the_pages_words(ticking: Model) -> None:
    observer = Observer(ticking, NODES, HOMES, (1, 1), "t.jsonl")
    label = ticking.spec.states["normal"].label
    obs = observer.observation(
        {PUB: {"state": label.upper(), "active_users": 1}},
        {"alice": PUB},
        True,
        {"failover": [PUB, SUB], "recover": False},
    )
    assert obs.nodes[PUB] == NodeObservation("normal", None, None, 1)
    assert obs.offered == OfferedObservation(frozenset(NODES), None, False)
    assert obs.session_counts == {(0, 0): 1}
    assert observer.pins(obs) == Pins({(0, 0): 1}, (1, None))
    with pytest.raises(InputError, match="not a label the spec knows"):
        observer.observation({PUB: {"state": "Sleeping"}}, None, None, None)
    with pytest.raises(InputError, match="unknown user or node"):
        observer.observation(None, {"carol": PUB}, None, None)


def test_a_candidate_shows_what_its_page_shows(ticking: Model) -> None:
    observer = Observer(ticking, NODES, HOMES, (1, 1), "t.jsonl")
    cand = normal(ticking)
    view = node_views(ticking, cand.config)[0]
    seen = NodeObservation(view.state, view.reason, view.assigned_users, view.active_users)
    assert node_matches(view, seen)
    assert node_matches(view, NodeObservation(None, None, None, None))
    assert observer.shows(cand, Observation({PUB: seen}, {}, True, None)) == [cand]
    assert observer.shows(cand, Observation({}, {}, False, None)) == []
    assert "failover" in observer.offers(cand.config)


def test_reaching_a_quiet_candidate_only_moves_its_clock(ticking: Model) -> None:
    cand = normal(ticking)
    reacher = Reacher(ticking, math.inf)
    (reached,) = reacher.reach(frozenset({cand}), 5 * TICKS)
    assert reached.zone.interval(1) == (5 * TICKS, 5 * TICKS)  # the record's clock
    assert reached.config == cand.config


def test_a_report_names_the_fields_and_the_last_event(ticking: Model) -> None:
    seen = Seen(3 * TICKS, 2, ("failover", PUB, None, None))
    assert seen.words == f"failover on {PUB}"
    assert Seen(0, None, ("login", None, None, "bob")).words == "login by bob"
    reporter = Reporter(ticking, NODES, HOMES, "t.jsonl", [seen], lambda _c: {})
    divergence = reporter.observation(
        frozenset({normal(ticking)}), 4.0, 3, Observation({}, {}, False, None)
    )
    assert divergence.fields == (FieldReport("ha_enabled", "false", ("true",)),)
    assert divergence.why == (
        f"the last event was failover on {PUB} at t=3 (line 2); no timer is running",
    )
    assert str(divergence).splitlines()[0] == "t.jsonl:3: t=4: does not conform: observation"
    assert isinstance(divergence, Divergence) and divergence.to_json()["line"] == 3
