"""The loader: YAML to a frozen, cross-checked `Spec`, every key and item located."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from hasm.errors import HasmError, InputError, Problem, SpecError
from hasm.spec.labels import label_index, normalise_label
from hasm.spec.loader import build_spec, canonical_spec_path, load_spec
from hasm.spec.located import Located, dotted, parse_yaml, read_yaml
from hasm.spec.model import (
    TRUE,
    All,
    AnyOf,
    Duration,
    Expr,
    Not,
    ReasonChoice,
    Spec,
    Target,
)
from hasm.spec.model import Test as Cond  # not `Test`: pytest would try to collect it
from hasm.spec.params import evaluate
from hasm.spec.schema_problems import schema_problems
from hasm.spec.schemas import load_schema

CANON_PATH = canonical_spec_path()
CANON = CANON_PATH.read_text(encoding="utf-8")
# An independent reading of the canonical spec (YAML 1.1 turns the key `on` into True; the
# sections compared here do not care).
RAW: dict[str, Any] = yaml.load(CANON, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
MAPPINGS = (
    "sources",
    "parameters",
    "services",
    "states",
    "reasons",
    "initial",
    "events",
    "timers",
    "state_pairs",
    "assumptions",
    "readings",
)


def line_of(marker: str, text: str = CANON) -> int:
    """The line of the only occurrence of `marker` in `text`."""
    assert text.count(marker) == 1, marker
    return text.count("\n", 0, text.index(marker)) + 1


def transition(spec: Spec, tid: str) -> Any:
    return next(t for t in spec.transitions if t.id == tid)


@pytest.fixture(scope="module")
def located() -> Located:
    return read_yaml(CANON_PATH, SpecError)


# -- the canonical spec loads, and says what the YAML says -------------------------------------
def test_canonical_spec_is_the_repository_file() -> None:
    repo_spec = Path(__file__).resolve().parents[2] / "specs" / "imp-ha.yaml"
    assert CANON_PATH.read_bytes() == repo_spec.read_bytes()


def test_load_spec_defaults_to_the_canonical_spec(canonical_spec: Spec) -> None:
    assert canonical_spec.path == str(CANON_PATH)
    assert canonical_spec.id == RAW["id"] == "imp-ha"
    assert canonical_spec.title == RAW["title"]
    assert canonical_spec.scope == RAW["scope"]


@pytest.mark.parametrize("section", MAPPINGS)
def test_every_mapping_has_the_yaml_keys_in_file_order(canonical_spec: Spec, section: str) -> None:
    loaded = getattr(canonical_spec, section)
    if section == "timers":  # a per-service entry is loaded as its timers, named by it
        assert list(dict.fromkeys(t.family for t in loaded.values())) == list(RAW[section])
    else:
        assert list(loaded) == list(RAW[section])


def test_a_per_service_entry_is_one_timer_per_service_running_while_its_service_is_down(
    canonical_spec: Spec,
) -> None:
    entry = RAW["timers"]["one_critical_service_down"]
    assert entry["per"] == "service"
    expanded = [
        t for t in canonical_spec.timers.values() if t.family == "one_critical_service_down"
    ]
    assert [t.id for t in expanded] == [
        f"one_critical_service_down.{s}" for s in canonical_spec.services
    ]
    for timer in expanded:
        assert timer.per == "node" and timer.service is not None
        assert timer.while_.terms[-1] == Cond("node", "service_down", (timer.service,))
    # Triggers and invariants that name the entry name every one of its timers.
    rule = next(t for t in canonical_spec.transitions if t.id == "automatic_failover")
    assert rule.on == ("critical_service_down", *(t.id for t in expanded))
    inv = next(
        i for i in canonical_spec.invariants if i.id == "automatic_failover_only_after_delay"
    )
    assert inv.timers == rule.on


def test_counts_match_the_yaml(canonical_spec: Spec) -> None:
    assert len(canonical_spec.states) == len(RAW["states"]) == 14
    assert len(canonical_spec.reasons) == len(RAW["reasons"])
    assert len(canonical_spec.transitions) == len(RAW["transitions"])
    assert [t.id for t in canonical_spec.transitions] == [t["id"] for t in RAW["transitions"]]
    assert [v.id for v in canonical_spec.invariants] == [v["id"] for v in RAW["invariants"]]


def test_every_state_and_reason_has_its_label(canonical_spec: Spec) -> None:
    for sid, state in canonical_spec.states.items():
        assert state.id == sid
        assert state.label == RAW["states"][sid]["label"]
        assert state.label.strip() == state.label != ""
        assert state.aliases == tuple(RAW["states"][sid].get("aliases", []))
    for rid, reason in canonical_spec.reasons.items():
        assert reason.label == RAW["reasons"][rid]["label"] != ""


def test_parameters_keep_type_default_and_range(canonical_spec: Spec) -> None:
    for name, param in canonical_spec.parameters.items():
        raw = RAW["parameters"][name]
        assert (param.name, param.type, param.default) == (name, raw["type"], raw["default"])
        if param.type == "boolean":
            assert param.range is None
            assert isinstance(param.default, bool)
        else:
            assert param.range == (float(raw["range"][0]), float(raw["range"][1]))
    assert canonical_spec.defaults == {n: p.default for n, p in canonical_spec.parameters.items()}


def test_elements_know_their_lines(canonical_spec: Spec) -> None:
    recover = transition(canonical_spec, "recover")
    assert recover.line == line_of("  - id: recover\n")
    assert canonical_spec.states["idle"].line == line_of("  idle:\n")
    assert canonical_spec.parameters["keep_alive_timeout_s"].line == line_of(
        "  keep_alive_timeout_s:\n"
    )
    assert canonical_spec.timers["heartbeat_loss"].line == line_of("  heartbeat_loss:\n")


FROZEN_PARTS: dict[str, Callable[[Spec], object]] = {
    "spec": lambda s: s,
    "source": lambda s: s.sources["S1"],
    "parameter": lambda s: s.parameters["keep_alive_timeout_s"],
    "service": lambda s: s.services["database"],
    "state": lambda s: s.states["normal"],
    "reason": lambda s: s.reasons["normal"],
    "display": lambda s: s.display,
    "initial": lambda s: s.initial["normal"],
    "event": lambda s: s.events["failover"],
    "timer": lambda s: s.timers["heartbeat_loss"],
    "duration": lambda s: s.timers["heartbeat_loss"].duration,
    "expr": lambda s: s.timers["heartbeat_loss"].duration.min,
    "transition": lambda s: s.transitions[0],
    "guard": lambda s: s.transitions[0].when,
    "test": lambda s: s.transitions[0].when.terms[0],  # type: ignore[union-attr]
    "target": lambda s: s.transitions[0].node,
    "reason_choice": lambda s: transition(s, "automatic_failover").node.reason,
    "invariant": lambda s: s.invariants[0],
    "state_pair": lambda s: s.state_pairs["P1"],
    "pair_side": lambda s: s.state_pairs["P1"].node1,
    "assumption": lambda s: s.assumptions["A-ranges"],
}


@pytest.mark.parametrize("part", sorted(FROZEN_PARTS))
def test_spec_and_its_parts_are_frozen(canonical_spec: Spec, part: str) -> None:
    obj = FROZEN_PARTS[part](canonical_spec)
    assert dataclasses.is_dataclass(obj)
    first = dataclasses.fields(obj)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(obj, first, "changed")
    with pytest.raises(dataclasses.FrozenInstanceError):
        delattr(obj, first)


def test_spec_defaults_cannot_be_reassigned(canonical_spec: Spec) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        canonical_spec.defaults = {}  # type: ignore[misc]


# -- YAML: 1.2 booleans, located keys ------------------------------------------------------------
def test_yaml_1_2_booleans() -> None:
    text = "on: yes\noff: no\ny: n\nt: true\nT: True\nf: false\nF: FALSE\nq: 'true'\n"
    assert parse_yaml(text, "x.yaml", SpecError).data == {
        "on": "yes",
        "off": "no",
        "y": "n",
        "t": True,
        "T": True,
        "f": False,
        "F": False,
        "q": "true",
    }


def test_on_stays_a_string_key_in_the_canonical_spec(
    located: Located, canonical_spec: Spec
) -> None:
    for raw in located.data["transitions"]:
        assert "on" in raw
        assert True not in raw
    assert transition(canonical_spec, "recover").on == ("recover",)
    assert transition(canonical_spec, "srm_starts").on == ("srm_start", "node_up")


def test_other_scalars_keep_their_types() -> None:
    data = parse_yaml("i: 15\nf: 2.5\nn: null\ns: P14\nl: [1, a]\n", "x", SpecError).data
    assert data == {"i": 15, "f": 2.5, "n": None, "s": "P14", "l": [1, "a"]}
    assert type(data["i"]) is int


def test_empty_yaml_is_none() -> None:
    located = parse_yaml("# only a comment\n", "x.yaml", SpecError)
    assert located.data is None
    assert located.lines == {}


NESTED = """\
# a comment
a:
  b:
    - x
    - c: 1
      d: [2, 3]
  e:
    f: {g: 4,
        h: 5}
"""


def test_located_line_finds_nested_paths() -> None:
    located = parse_yaml(NESTED, "n.yaml", SpecError)
    assert located.line(("a",)) == 2  # the key's line, although its value starts on line 3
    assert located.line(("a", "b")) == 3
    assert located.line(("a", "b", 0)) == 4
    assert located.line(("a", "b", 1)) == 5
    assert located.line(("a", "b", 1, "c")) == 5
    assert located.line(("a", "b", 1, "d")) == 6
    assert located.line(("a", "b", 1, "d", 1)) == 6
    assert located.line(("a", "e", "f", "g")) == 8
    assert located.line(("a", "e", "f", "h")) == 9


def test_located_line_falls_back_to_the_nearest_ancestor() -> None:
    located = parse_yaml(NESTED, "n.yaml", SpecError)
    assert located.line(("a", "b", 1, "zzz", 7)) == 5
    assert located.line(("a", "e", "nope")) == 7
    assert located.line(("nope",)) == located.line(()) == 2


def test_located_problem_carries_file_line_and_dotted_path() -> None:
    located = parse_yaml(NESTED, "n.yaml", SpecError)
    problem = located.problem(("a", "b", 1, "d", 0), "too small", "make it bigger")
    assert problem == Problem("n.yaml", 6, "a.b[1].d[0]", "too small", "make it bigger")
    assert str(problem) == "n.yaml:6: a.b[1].d[0]: too small (fix: make it bigger)"


def test_located_lines_in_the_canonical_spec(located: Located) -> None:
    t = [raw["id"] for raw in located.data["transitions"]].index("manual_failover")
    when = "    when: {ha_enabled: true, connected: true, node.state: normal, peer.state: normal}"
    assert located.line(("transitions", t, "when", "node.state")) == line_of(when)
    assert located.line(("transitions", t)) == line_of("  - id: manual_failover\n")
    assert located.line(("states", "normal", "aliases", 0)) == line_of(
        "    aliases: [Active Normal]"
    )
    assert located.line(("states", "normal", "nope")) == line_of("  normal:\n    label: Normal")
    assert located.line(()) == line_of("hasm_spec: 1")


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ((), ""),
        (("transitions", 3, "when", "node.state"), "transitions[3].when.node.state"),
        (("states", "idle"), "states.idle"),
        ((0, "a"), "[0].a"),
    ],
)
def test_dotted(path: tuple[str | int, ...], text: str) -> None:
    assert dotted(path) == text


def test_aliases_of_collections_are_refused() -> None:
    """An alias could recurse or multiply a file; hasm files spell every value out."""
    with pytest.raises(SpecError, match=r"x:2: c: YAML aliases"):  # the line of the alias
        parse_yaml("a: &x [1, {b: 2}]\nc: *x\n", "x", SpecError)


@pytest.mark.parametrize(
    ("text", "value"), [("a: !!str 15\n", "15"), ("a: !!int '15'\n", 15), ("a: !!float 1\n", 1.0)]
)
def test_standard_scalar_tags_are_read(text: str, value: object) -> None:
    assert parse_yaml(text, "x", SpecError).data == {"a": value}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            'a: !!python/object/apply:os.system ["echo hi"]\n', id="python_tag_on_a_sequence"
        ),
        pytest.param("a: !!set {x: null}\n", id="set_tag_on_a_mapping"),
        pytest.param("a: !!python/name:os.system ''\n", id="python_tag_on_a_scalar"),
        pytest.param("a: !include other.yaml\n", id="local_tag"),
    ],
)
def test_unknown_tags_are_located_yaml_errors(text: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_yaml(text, "t.yaml", SpecError)
    [problem] = caught.value.problems
    assert (problem.file, problem.line) == ("t.yaml", 1)
    assert "unsupported YAML tag" in problem.message


def test_a_recursive_alias_is_a_located_error() -> None:
    with pytest.raises(SpecError) as caught:
        parse_yaml("a: &x [*x]\n", "r.yaml", SpecError)
    assert caught.value.problems[0].line == 1


# -- the JSON Schema -----------------------------------------------------------------------------
def test_schema_is_valid_draft_2020_12() -> None:
    schema = load_schema("spec")
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_is_the_shipped_file() -> None:
    path = Path(__file__).resolve().parents[2] / "hasm" / "spec" / "schemas" / "spec.schema.json"
    assert json.loads(path.read_text(encoding="utf-8")) == load_schema("spec")


def test_canonical_spec_validates_against_the_schema(located: Located) -> None:
    schema = load_schema("spec")
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(located.data)) == []
    assert list(schema_problems(located, schema)) == []


# -- cross-references in the canonical spec ------------------------------------------------------
def test_every_source_is_declared_or_a_p_row(canonical_spec: Spec) -> None:
    declared = set(canonical_spec.sources) | set(canonical_spec.state_pairs)
    assert all(re.fullmatch(r"P[0-9]+", p) for p in canonical_spec.state_pairs)
    elements: list[Any] = [
        *canonical_spec.parameters.values(),
        *canonical_spec.services.values(),
        *canonical_spec.states.values(),
        *canonical_spec.reasons.values(),
        *canonical_spec.events.values(),
        *canonical_spec.timers.values(),
        *canonical_spec.transitions,
        *canonical_spec.invariants,
    ]
    cited = {ref for element in elements for ref in element.sources}
    assert cited <= declared
    assert {ref for ref in cited if ref.startswith("P")}  # P-rows are cited as sources


def test_every_assumption_referenced_exists(canonical_spec: Spec) -> None:
    elements: list[Any] = [
        *canonical_spec.parameters.values(),
        *canonical_spec.states.values(),
        *canonical_spec.timers.values(),
        *canonical_spec.transitions,
        canonical_spec.display,
    ]
    referenced = {e.assumption for e in elements if e.assumption is not None}
    assert referenced
    assert referenced <= set(canonical_spec.assumptions)


# -- guards, targets and durations are data ------------------------------------------------------
def test_a_plain_guard(canonical_spec: Spec) -> None:
    assert transition(canonical_spec, "manual_failover").when == All(
        (
            Cond("group", "ha_enabled", True),
            Cond("group", "connected", True),
            Cond("node", "state", ("normal",)),
            Cond("peer", "state", ("normal",)),
        )
    )


def test_a_guard_with_not_and_any(canonical_spec: Spec) -> None:
    admin = AnyOf(
        (
            All((Cond("node", "reason", ("on_admin_request",)),)),
            All((Cond("peer", "reason", ("on_admin_request",)),)),
        )
    )
    assert transition(canonical_spec, "automatic_failover_complete").when == All(
        (
            Cond("node", "state", ("taking_over",)),
            Cond("peer", "state", ("failing_over",)),
            Cond("peer", "monitored_down", True),
            Not(All((admin,))),
        )
    )
    assert transition(canonical_spec, "manual_failover_complete").when.terms[2] == admin


def test_guard_lists_parameters_and_keys(canonical_spec: Spec) -> None:
    when = transition(canonical_spec, "manual_fallback").when
    assert Cond("node", "state", ("idle", "failed_over")) in when.terms
    assert canonical_spec.timers["automatic_fallback"].while_ == All(
        (
            Cond("group", "ha_enabled", True),
            Cond("param", "enable_automatic_fallback", True),
            Cond("node", "state", ("failed_over",)),
            Cond("peer", "state", ("backup",)),
            Cond("group", "connected", True),
        )
    )
    assert Cond("group", "connected", True).key == "connected"
    assert Cond("node", "state", ("idle",)).key == "node.state"
    assert canonical_spec.timers["client_relogin"].while_ == TRUE


def test_targets(canonical_spec: Spec) -> None:
    failover = transition(canonical_spec, "automatic_failover")
    database = All((Cond("node", "service_down", ("database",)),))
    assert failover.node == Target(
        "failing_over", ReasonChoice(database, "database_failure", "critical_service_down")
    )
    assert failover.peer.state == "taking_over"
    takeover = transition(canonical_spec, "peer_down_takeover")
    assert takeover.node == Target("backup", "peer_down")
    assert takeover.peer == Target()
    assert transition(canonical_spec, "srm_restarts_in_failover").node == Target(
        None, "initialization"
    )
    recover = transition(canonical_spec, "recover")
    assert recover.effects == ("start_services", "start_srm")
    assert recover.sources == ("S1", "S5")
    assert recover.assumption == "A-recover"


def test_duration_expressions_parse(canonical_spec: Spec) -> None:
    heartbeat = canonical_spec.timers["heartbeat_loss"].duration
    assert heartbeat == Duration(
        Expr(((1, "keep_alive_timeout_s"), (-1, "keep_alive_interval_s"))),
        Expr(((1, "keep_alive_timeout_s"), (1, "keep_alive_interval_s"))),
    )
    assert not heartbeat.exact
    assert str(heartbeat.min) == "keep_alive_timeout_s - keep_alive_interval_s"
    assert str(heartbeat) == (
        "between keep_alive_timeout_s - keep_alive_interval_s"
        " and keep_alive_timeout_s + keep_alive_interval_s"
    )
    assert heartbeat.min.params == ("keep_alive_timeout_s", "keep_alive_interval_s")
    assert evaluate(heartbeat.min, canonical_spec.defaults) == 60 - 15
    critical = canonical_spec.timers["critical_service_down"].duration
    assert critical.exact
    assert critical.min == Expr(((1, "critical_service_down_delay_s"),))
    assert str(critical) == "critical_service_down_delay_s"


def test_duration_expressions_with_numbers(tmp_path: Path) -> None:
    text = CANON.replace(
        "    duration: automatic_fallback_delay_s\n",
        "    duration: automatic_fallback_delay_s - 15 + 2.5\n",
    ).replace("    duration: critical_service_down_delay_s\n", "    duration: 30\n")
    path = tmp_path / "numbers.yaml"
    path.write_text(text, encoding="utf-8")
    spec = load_spec(path)
    fallback = spec.timers["automatic_fallback"].duration.min
    assert fallback == Expr(((1, "automatic_fallback_delay_s"), (-1, 15.0), (1, 2.5)))
    assert str(fallback) == "automatic_fallback_delay_s - 15 + 2.5"
    assert evaluate(fallback, {"automatic_fallback_delay_s": 100.0}) == 87.5
    assert spec.timers["critical_service_down"].duration == Duration(
        Expr(((1, 30.0),)), Expr(((1, 30.0),))
    )


def test_expr_str_with_a_leading_minus() -> None:
    assert str(Expr(((-1, "a_s"), (1, 2.0)))) == "-a_s + 2"


# -- labels --------------------------------------------------------------------------------------
def test_labels_compare_without_case_or_runs_of_white_space(canonical_spec: Spec) -> None:
    assert normalise_label("  Running in\tBackup   MODE ") == "running in backup mode"
    states = label_index(canonical_spec.states.values())
    assert states[normalise_label("  running in   BACKUP mode ")] == "backup"
    assert states[normalise_label("Active Normal")] == "normal"  # an alias
    reasons = label_index(canonical_spec.reasons.values())
    assert reasons[normalise_label("peer reboot")] == "peer_reboot"


# -- errors --------------------------------------------------------------------------------------
def test_problem_text() -> None:
    assert str(Problem("f.yaml", 3, "a.b", "bad", "do x")) == "f.yaml:3: a.b: bad (fix: do x)"
    assert str(Problem("f.yaml", None, "a.b", "bad")) == "f.yaml: a.b: bad"
    assert str(Problem("f.yaml", 3, "", "bad")) == "f.yaml:3: bad"


def test_spec_error_keeps_every_problem() -> None:
    one, two = Problem("f", 1, "a", "x"), Problem("f", 2, "b", "y")
    error = SpecError([one, two])
    assert error.problems == [one, two]
    assert str(error) == "f:1: a: x\nf:2: b: y"
    assert SpecError(one).problems == [one]
    assert isinstance(error, InputError)
    assert isinstance(error, HasmError)


def test_load_spec_raises_spec_error_listing_problems(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(CANON.replace("    on: recover\n", "    on: recovre\n"), encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_spec(str(path))  # a str path works as well as a Path
    [problem] = caught.value.problems
    assert problem.file == str(path)
    assert problem.line == line_of("    on: recovre\n", path.read_text(encoding="utf-8"))
    assert problem.message == "unknown event or timer 'recovre'"
    assert problem.fix == "did you mean 'recover'?"


@pytest.mark.parametrize("name", ["states", "transitions", "parameters", "defaults", "timers"])
def test_spec_collections_are_read_only(canonical_spec: Spec, name: str) -> None:
    collection = getattr(canonical_spec, name)
    with pytest.raises(TypeError):
        collection["new"] = None


def test_the_same_text_under_the_same_name_is_built_once(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    text = canonical_spec_path().read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    first = load_spec(path)
    assert load_spec(path) is first  # frozen, so shared
    assert build_spec(str(path), text) is not first
    assert build_spec(str(path), text) == first
    path.write_text(text.replace("Critical Service Down Delay", "Critical Service Delay"), "utf-8")
    changed = load_spec(path)
    assert changed is not first and changed != first
    path.write_text("states: [", encoding="utf-8")
    for _ in range(2):  # a broken file is refused every time, nothing of it is remembered
        with pytest.raises(SpecError):
            load_spec(path)


def test_the_monitored_set_conflict_is_an_assumption(canonical_spec: Spec) -> None:
    """S1 calls Client Profile Agent, Sync Agent and SIP Proxy critical; the seed does not list
    them as monitored: a service S1 names is never left unmonitored on S1's word alone."""
    services = canonical_spec.services
    for sid in ("client_profile_agent", "sync_agent", "sip_proxy"):
        assert not services[sid].monitored_by_default
        assert services[sid].sources == ("S1", "seed")
        assert services[sid].assumption == "A-monitored-set"
    for sid in ("presence_engine", "xcp_router"):
        assert services[sid].monitored_by_default
        assert services[sid].assumption == "A-monitored-set"
    why = canonical_spec.assumptions["A-monitored-set"].why
    assert "By default these items are always monitored" in why  # the seed
    assert "Critical services must be running" in why  # S1, Verify Services
