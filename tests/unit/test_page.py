"""The explorer page's embedded data (hasm.page): bounded, deterministic, and every step the
page offers is what hasm's core does - the page computes nothing itself."""

from __future__ import annotations

import heapq
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hasm.cli import main
from hasm.core.config import Config
from hasm.core.model import Model
from hasm.core.search import Inputs
from hasm.core.semantics import advance, apply, enabled, initial_config, next_instant, offered
from hasm.errors import DiagramError
from hasm.page import html as page_html_module
from hasm.page.data import BEYOND_FAULTS, BEYOND_STATES, _observed, explorer_data, trace_data
from hasm.page.graph import COST, Bounds, Graph, explore_page
from hasm.page.pages import explorer_page, trace_page
from hasm.spec.model import Spec
from hasm.trace.records import NodeObservation, TraceObservation
from tests.conftest import needs_dot

NODES = ("pub", "sub")
SCENARIO = Path(__file__).parents[2] / "specs" / "scenarios" / "02_critical_service_down.yaml"


@pytest.fixture(scope="module")
def graph(spec: Spec) -> Graph:
    return explore_page(Model(spec), NODES, Bounds(max_states=800))


def embedded(html: str) -> dict[str, Any]:
    found = re.search(r'<script id="hasm-data" type="application/json">(.*?)</script>', html)
    assert found is not None
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def successors(model: Model, config: Config) -> set[Config]:
    """What the core says can follow `config`: every event, action, timer and re-login, and
    time passing to the next instant something changes (the page's inputs, from the core)."""
    inputs = Inputs.of(model.spec, tuple(sorted(model.monitored)))
    admin = {e.id for e in model.spec.events.values() if e.kind == "admin"}
    tried = [
        i
        for i in (*inputs.events, *inputs.for_users(config))
        if i.name not in admin and not config.services_of_down_node(i)
    ]
    out = {
        s.config
        for inp in (*tried, *offered(model, config), *enabled(model, config))
        for s in apply(model, config, inp)
        if s.changed
    }
    instant = next_instant(model, config)
    if instant is not None:
        out.add(advance(model, config, instant))
    return out


# -- bounded -------------------------------------------------------------------------------------
def test_the_state_space_stays_within_its_bounds(graph: Graph) -> None:
    assert len(graph.configs) == graph.bounds.max_states == 800
    assert not graph.complete
    assert all(c.faults() <= 1 for c in graph.configs)
    for out in graph.edges:
        for e in out:
            assert (e.target is None) == (e.limit is not None)
            assert e.target is None or 0 <= e.target < len(graph.configs)


def test_the_nearest_configurations_are_the_ones_embedded(graph: Graph) -> None:
    # Dijkstra over the embedded steps from each answer's start: every configuration embedded
    # under an answer is at most as far from its start (events cost more than time passing,
    # see COST) as any step the bound cut under that answer.
    for start in graph.starts:
        far = {start: 0}
        heap = [(0, start)]
        while heap:
            d, i = heapq.heappop(heap)
            if d > far[i]:
                continue
            for e in graph.edges[i]:
                step = d + COST[e.kind]
                if e.target is not None and step < far.get(e.target, step + 1):
                    far[e.target] = step
                    heapq.heappush(heap, (step, e.target))
        answer = graph.configs[start].nodes[0].readings
        assert len(far) == sum(1 for c in graph.configs if c.nodes[0].readings == answer)
        cut = [
            far[i] + COST[e.kind]
            for i, out in enumerate(graph.edges)
            if i in far
            for e in out
            if e.limit == "states"
        ]
        assert cut and max(far.values()) <= min(cut)


# -- the readings --------------------------------------------------------------------------------
def test_every_answer_to_the_readings_starts_where_it_should(spec: Spec, graph: Graph) -> None:
    model = graph.model
    assert graph.answers == model.reading_choices and len(graph.answers) == 8
    assert graph.starts[0] == 0  # the default answer, none answered yes, first
    for answer, start in zip(graph.answers, graph.starts, strict=True):
        assert graph.configs[start] == initial_config(model, "normal", (1, 1), answer)


def test_each_answer_keeps_to_its_own_configurations(graph: Graph) -> None:
    # A behaviour follows one answer, on both nodes, from start to end: no step crosses over.
    for config, out in zip(graph.configs, graph.edges, strict=True):
        assert config.nodes[0].readings == config.nodes[1].readings
        for e in out:
            if e.target is not None:
                assert graph.configs[e.target].nodes[0].readings == config.nodes[0].readings


@pytest.mark.slow  # one of the unit tests the quick loop leaves to `make test`
def test_the_state_bound_is_shared_fairly_among_the_answers(spec: Spec) -> None:
    g = explore_page(Model(spec), NODES, Bounds(max_states=802))
    sizes = [sum(1 for c in g.configs if c.nodes[0].readings == a) for a in g.answers]
    assert sizes == [101, 101, 100, 100, 100, 100, 100, 100]
    # Each answer's configurations are together, from its start on.
    assert list(g.starts) == [0, 101, 202, 302, 402, 502, 602, 702]


def test_an_answer_tells_apart_what_the_others_allow(spec: Spec, graph: Graph) -> None:
    # Under session_ends_with_presence_engine, stopping a node's Presence Engine ends its
    # users' sessions; under the default they stay: the page shows both.
    def after_stop(start: int) -> Config:
        (e,) = [
            e
            for e in graph.edges[start]
            if e.words == "service_stop presence_engine on pub" and e.target is not None
        ]
        assert e.target is not None
        return graph.configs[e.target]

    default = graph.starts[graph.answers.index(frozenset())]
    ends = graph.starts[graph.answers.index(frozenset({"session_ends_with_presence_engine"}))]
    assert [c.waiting_since >= 0 for c in after_stop(default).users] == [False, False]
    assert [c.waiting_since >= 0 for c in after_stop(ends).users] == [True, False]


def test_with_no_users_answers_only_about_whom_a_node_serves_share_one_start(spec: Spec) -> None:
    model = Model(spec)
    g = explore_page(model, NODES, Bounds(users=0, max_states=100))
    assert model.hosting_readings == {"session_ends_with_presence_engine"}
    by_answer = dict(zip(g.answers, g.starts, strict=True))
    both = frozenset({"critical_delay_per_service", "session_ends_with_presence_engine"})
    assert by_answer[frozenset({"session_ends_with_presence_engine"})] == by_answer[frozenset()]
    assert by_answer[both] == by_answer[frozenset({"critical_delay_per_service"})]
    assert by_answer[frozenset()] != by_answer[both]
    # The bound goes to the four explorations there are, not to eight.
    assert len({c.nodes[0].readings for c in g.configs}) == 4
    data = explorer_data(g, "hasm explorer")
    assert data["answers"] == [sorted(a) for a in model.reading_choices]
    assert data["starts"] == list(g.starts)


def test_the_page_names_each_reading_with_its_meaning_and_assumption(spec: Spec) -> None:
    html = explorer_page(Model(spec), NODES, Bounds(max_states=40), "hasm explorer")
    readings = embedded(html)["spec"]["readings"]
    assert [r["id"] for r in readings] == list(spec.readings)
    first = readings[0]
    assert first["meaning"] == "How the Critical Service Down Delay counts."
    assert first["assumption"] == "A-critical-timer-local"
    assert first["description"] == spec.readings["critical_delay_per_service"].description


def test_a_step_past_the_fault_bound_is_shown_untaken(spec: Spec, graph: Graph) -> None:
    cut = [(i, e) for i, out in enumerate(graph.edges) for e in out if e.limit == "faults"]
    assert cut, "a configuration with one fault offers a second one"
    i, edge = cut[0]
    assert graph.configs[i].faults() == 1
    assert edge.kind == "event"


@pytest.mark.slow  # one of the unit tests the quick loop leaves to `make test`
def test_a_larger_fault_bound_takes_those_steps(spec: Spec) -> None:
    two = explore_page(Model(spec), NODES, Bounds(max_states=800, max_faults=2))
    assert max(c.faults() for c in two.configs) == 2


# -- the core's steps ----------------------------------------------------------------------------
def test_every_embedded_step_is_a_step_of_the_core(spec: Spec, graph: Graph) -> None:
    model = graph.model
    index = {c: i for i, c in enumerate(graph.configs)}
    for i, config in enumerate(graph.configs):
        core = successors(model, config)
        embedded_targets = {graph.configs[e.target] for e in graph.edges[i] if e.target is not None}
        # Every target is a successor the core computes, and every successor the core computes
        # within the bounds is embedded when it is one of the page's configurations.
        assert embedded_targets <= core
        within = {c for c in core if c.faults() <= 1 and c in index}
        assert within == embedded_targets, f"configuration {i}"
        cut = sum(1 for e in graph.edges[i] if e.limit is not None)
        assert len({c for c in core if c not in index}) <= cut


def test_stopping_a_monitored_service_runs_the_critical_service_down_delay(
    spec: Spec, graph: Graph
) -> None:
    def follow(i: int, words: str) -> int:
        edge = next(e for e in graph.edges[i] if e.words == words)
        assert edge.target is not None
        return edge.target

    stopped = follow(0, "service_stop presence_engine on pub")
    timer = graph.configs[stopped].timer("critical_service_down", 0)
    assert timer is not None and (timer.earliest, timer.latest) == (90.0, 90.0)
    due = follow(stopped, "let time pass to t=90")
    assert graph.configs[due].now == 90.0
    assert not any(e.kind == "wait" for e in graph.edges[due]), "the timer must fire first"
    fired = follow(due, "timer critical_service_down on pub fires")
    nodes = graph.configs[fired].nodes
    assert (nodes[0].state, nodes[1].state) == ("failing_over", "taking_over")


@pytest.mark.slow  # one of the unit tests the quick loop leaves to `make test`
def test_a_timer_window_offers_its_start_and_its_end(spec: Spec) -> None:
    # A user move may take 1 to 60 s: time passes to the window's start, where it may fire,
    # then to its end, where it must (three steps from the start: a deeper graph).
    graph = explore_page(Model(spec), NODES, Bounds(max_states=2400))

    def waits(i: int) -> list[int]:
        return [e.target for e in graph.edges[i] if e.kind == "wait" and e.target is not None]

    moving = next(
        i
        for i, c in enumerate(graph.configs)
        if c.timer("user_move", 1) is not None and c.now == 90 and waits(i)
    )
    opened = waits(moving)[0]
    assert graph.configs[opened].now == 91
    words = {e.words for e in graph.edges[opened]}
    assert "timer user_move on sub fires" in words
    assert "let time pass to t=150" in words


def test_only_offered_administrator_actions_are_steps(spec: Spec, graph: Graph) -> None:
    model = graph.model
    for config, out in zip(graph.configs, graph.edges, strict=True):
        actions = {e.words for e in out if e.kind == "admin"}
        offers = offered(model, config)
        assert len(actions) >= len(offers) or not offers
        assert {w.split(" (")[0] for w in actions} == {
            o.name + (f" on {NODES[o.node]}" if o.node is not None else "") for o in offers
        }


def test_an_unknown_starting_point_is_bad_input(spec: Spec) -> None:
    from hasm.errors import InputError  # noqa: PLC0415

    with pytest.raises(InputError, match="--initial"):
        explore_page(Model(spec), NODES, Bounds(initial="nowhere"))


# -- the embedded data ---------------------------------------------------------------------------
def test_the_data_lists_each_step_with_its_target(graph: Graph) -> None:
    data = explorer_data(graph, "hasm explorer")
    assert len(data["configs"]) == len(graph.configs)
    for config, out in zip(data["configs"], graph.edges, strict=True):
        pairs = list(zip(config["e"][::2], config["e"][1::2], strict=True))
        assert len(pairs) == len(out)
        for (word, target), e in zip(pairs, out, strict=True):
            assert data["steps"][word] == [e.kind, e.words, e.rule or ""]
            want = (
                e.target
                if e.target is not None
                else (BEYOND_STATES if e.limit == "states" else BEYOND_FAULTS)
            )
            assert target == want
    start = data["configs"][0]
    assert start["n"] == [["normal", "normal", 1, 1], ["normal", "normal", 1, 1]]
    assert start["of"] == ["ha_disable", "failover on pub", "failover on sub"]


@pytest.mark.slow  # one of the unit tests the quick loop leaves to `make test`
def test_the_page_is_the_same_bytes_for_the_same_inputs(spec: Spec) -> None:
    model = Model(spec)
    one = explorer_page(model, NODES, Bounds(max_states=200), "hasm explorer")
    two = explorer_page(Model(spec), NODES, Bounds(max_states=200), "hasm explorer")
    assert one == two


@pytest.mark.slow
def test_the_page_does_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    pages = []
    out = tmp_path / "page.html"  # the page names its own command line, -o included
    for seed in ("1", "2"):
        subprocess.run(
            [sys.executable, "-m", "hasm", "explorer", "--max-states", "300", "-o", str(out)],
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
        )
        pages.append(out.read_bytes())
    assert pages[0] == pages[1]


def test_the_page_loads_nothing_from_elsewhere(spec: Spec) -> None:
    html = explorer_page(Model(spec), NODES, Bounds(max_states=50), "hasm explorer")
    assert "<script src" not in html and "<link" not in html
    assert "@import" not in html and "url(" not in html
    assert "fetch(" not in html and "XMLHttpRequest" not in html
    # The inlined script and style are the packaged ones.
    assert "hasm explorer: the page reads the data" in html
    assert "#diagram svg" in html


def test_embedded_text_cannot_end_the_script_element(spec: Spec) -> None:
    data = {"spec": {"title": "</script><script>alert(1)</script>"}}
    html = page_html_module.page_html("t", data)
    assert html.count("</script>") == 2  # the data's and the script's own
    assert embedded(html)["spec"]["title"] == data["spec"]["title"]


@needs_dot
def test_the_overview_diagram_names_each_state_by_its_id(spec: Spec) -> None:
    svg = page_html_module.diagram_svg(spec)
    assert svg is not None and svg.startswith("<svg")
    titles = set(re.findall(r'<g id="node\d+" class="node">\s*<title>([^<]+)</title>', svg))
    assert titles >= set(spec.states)
    assert "<!--" not in svg


def test_without_graphviz_the_page_says_it_has_no_diagram(
    spec: Spec, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing(source: str, fmt: str) -> bytes:
        raise DiagramError("graphviz's 'dot' is missing")

    monkeypatch.setattr(page_html_module, "render", missing)
    html = explorer_page(Model(spec), NODES, Bounds(max_states=20), "hasm explorer")
    assert embedded(html)["svg"] is None
    assert "No diagram: graphviz's dot was not installed" in html


@pytest.mark.slow
def test_the_canonical_page_is_under_five_megabytes(spec: Spec) -> None:
    html = explorer_page(Model(spec), NODES, Bounds(), "hasm explorer")
    size = len(html.encode("utf-8"))
    assert 1_000_000 < size < 5_000_000, size
    data = embedded(html)["explorer"]
    assert len(data["configs"]) == Bounds().max_states
    # Every answer to the readings has its fair share: an eighth of the bound each.
    assert data["starts"] == [1250 * k for k in range(8)]

    # The default bound holds a failover's whole story: a critical service stops, the delay
    # runs out, the users move, the client whose session ended logs in again on the peer.
    def follow(i: int, kinds: tuple[str, ...]) -> int:
        pairs = data["configs"][i]["e"]
        for word, target in zip(pairs[::2], pairs[1::2], strict=True):
            if data["steps"][word][0] in kinds:
                assert target >= 0
                return int(target)
        raise AssertionError(f"configuration {i} offers none of {kinds}")

    here = next(
        t
        for w, t in zip(data["configs"][0]["e"][::2], data["configs"][0]["e"][1::2], strict=True)
        if data["steps"][w][1] == "service_stop presence_engine on pub"
    )
    for kinds in (("wait",), ("fire",), ("wait",), ("fire",), ("wait",), ("relogin",)):
        here = follow(here, kinds)
    assert data["configs"][here]["n"][1][3] == 2  # both users active on the peer


# -- a trace -------------------------------------------------------------------------------------
def simulated(spec: Spec, tmp_path: Path) -> Path:
    path = tmp_path / "run.jsonl"
    assert main(["simulate", str(SCENARIO), "--trace", str(path), "--quiet"]) == 0
    return path


def test_a_conforming_trace_is_embedded_with_what_was_allowed(spec: Spec, tmp_path: Path) -> None:
    path = simulated(spec, tmp_path)
    data = trace_data(spec, path)
    assert data["verdict"] == "conforms"
    rows = data["records"]
    assert len(rows) == len(path.read_text().splitlines()) - 1
    first = rows[0]
    assert first["observed"]["nodes.IMPPub.example.net.state"] == ["Normal"]
    assert first["allowed"]["nodes.IMPPub.example.net.state"] == ["Normal"]
    for row in rows:
        for field, seen in row["observed"].items():
            assert set(seen) & set(row["allowed"][field]), (row["line"], field)


def test_a_divergent_trace_shows_its_divergence(spec: Spec, tmp_path: Path) -> None:
    good = simulated(spec, tmp_path)
    bad = tmp_path / "bad.jsonl"
    # The failover observed half a second before the Critical Service Down Delay ends.
    text = good.read_text().replace('{"t": 190, "observe"', '{"t": 189.5, "observe"')
    bad.write_text(text)
    data = trace_data(spec, bad)
    assert data["verdict"] == "diverges"
    divergence = data["divergence"]
    assert divergence["line"] == 4
    assert divergence["text"][0].endswith("does not conform: observation")
    last = data["records"][-1]
    assert last["line"] == 4
    assert last["allowed"]["nodes.IMPPub.example.net.state"] == ["Normal"]
    assert last["observed"]["nodes.IMPPub.example.net.state"] == ["Failing Over"]
    html = trace_page(spec, bad)
    assert embedded(html)["trace"] == data
    assert trace_page(spec, bad) == html  # the same bytes again


def test_a_bad_trace_is_located_bad_input(spec: Spec, tmp_path: Path) -> None:
    from hasm.errors import InputError  # noqa: PLC0415

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"hasm_trace": 1, "nodes": ["a", "b"]}\n{"t": "soon", "event": "link_down"}\n')
    with pytest.raises(InputError) as caught:
        trace_data(spec, bad)
    assert any(p.line == 2 for p in caught.value.problems)


def test_a_long_trace_embeds_its_first_records_and_its_divergence(
    spec: Spec, tmp_path: Path
) -> None:
    good = simulated(spec, tmp_path)
    lines = good.read_text().splitlines()
    conforming = trace_data(spec, good, max_records=3)
    assert [r["line"] for r in conforming["records"]] == [2, 3, 4]
    assert conforming["checked"] == len(lines) - 1
    # The last observation contradicted: the divergence is embedded past the bound too.
    last = json.loads(lines[-1])
    assert "observe" in last
    last["observe"] = {"ha_enabled": False}
    bad = tmp_path / "late.jsonl"
    bad.write_text("\n".join([*lines[:-1], json.dumps(last)]) + "\n")
    data = trace_data(spec, bad, max_records=3)
    assert [r["line"] for r in data["records"]] == [2, 3, 4, len(lines)]
    assert data["records"][-1]["allowed"]["ha_enabled"] == ["true"]
    assert data["records"][-1]["observed"]["ha_enabled"] == ["false"]


# A trace that tells the readings apart: pub's Presence Engine stops, and a second later alice
# is still on pub - which the session_ends_with_presence_engine answer does not allow - then
# her session is gone, which only that answer allows.
TELLING = [
    {"hasm_trace": 1, "nodes": ["pub", "sub"], "users": {"alice": "pub"}, "initial": "normal"},
    {"t": 0, "observe": {"sessions": {"alice": "pub"}}},
    {"t": 10, "event": "service_stop", "node": "pub", "service": "presence_engine"},
    {"t": 11, "observe": {"sessions": {"alice": "pub"}, "nodes": {"pub": {"state": "Normal"}}}},
    {"t": 12, "observe": {"sessions": {"alice": None}}},
]


def written(tmp_path: Path, lines: list[dict[str, Any]]) -> Path:
    path = tmp_path / "trace.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def test_each_record_lists_the_answers_that_still_explain_the_trace(
    spec: Spec, tmp_path: Path
) -> None:
    data = trace_data(spec, written(tmp_path, TELLING))
    answers = data["answers"]
    assert answers == [sorted(a) for a in Model(spec).reading_choices]
    rows = {r["line"]: r["answers"] for r in data["records"]}
    everyone = list(range(len(answers)))
    assert rows[2] == rows[3] == everyone
    # After alice is seen on pub with its engine stopped: only the answers where it stays.
    assert [answers[k] for k in rows[4]] == [
        [],
        ["restarted_srm_initialization_timeout"],
        ["critical_delay_per_service"],
        ["critical_delay_per_service", "restarted_srm_initialization_timeout"],
    ]
    # Then no answer explains it: that record is the divergence.
    assert rows[5] == [] and data["divergence"]["line"] == 5


def test_a_conforming_trace_explained_by_one_answer_only_says_which(
    spec: Spec, tmp_path: Path
) -> None:
    # Seen away from pub right after the engine stopped: only the answer that ends sessions.
    lines = [*TELLING[:3], {"t": 11, "observe": {"sessions": {"alice": None}}}]
    data = trace_data(spec, written(tmp_path, lines))
    assert data["verdict"] == "conforms"
    last = data["records"][-1]["answers"]
    assert all("session_ends_with_presence_engine" in data["answers"][k] for k in last)
    assert len(last) == 4


def test_with_no_users_every_answer_explains_what_only_whom_a_node_serves_changes(
    spec: Spec, tmp_path: Path
) -> None:
    # The oracle carries no separate candidates for a reading nobody's session can show; the
    # page still lists every answer as explaining the trace.
    lines = [
        {"hasm_trace": 1, "nodes": ["pub", "sub"], "initial": "normal"},
        {"t": 0, "event": "service_stop", "node": "pub", "service": "presence_engine"},
        {"t": 1, "observe": {"nodes": {"pub": {"state": "Normal"}}}},
    ]
    data = trace_data(spec, written(tmp_path, lines))
    assert [r["answers"] for r in data["records"]] == [list(range(8))] * 2


def test_an_observed_label_is_one_value_even_with_or_in_it(spec: Spec) -> None:
    # P11's reason is printed "Initialization or Critical Services Down": one string, which a
    # page that split words on " or " would read as two.
    reason = next(r.id for r in spec.reasons.values() if " or " in r.label)
    rec = TraceObservation(
        2, 0.0, {"pub": NodeObservation(None, reason, None, None)}, {}, None, None
    )
    assert _observed(spec, rec) == {"nodes.pub.reason": [spec.reasons[reason].label]}
