"""A corpus of broken specs, each the canonical spec with ONE defect, built at test time.

Every defect is a textual replacement in specs/imp-ha.yaml, so the corpus never drifts from the
spec it breaks: a replacement whose old text is no longer in the spec (exactly once) fails loudly.
For each, `hasm validate` must exit 2, print nothing on stdout, and print one located line per
problem on stderr - file, line, key path, what is wrong - and never a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from hasm.cli import EXIT_INPUT, main
from hasm.spec.loader import canonical_spec_path

CANON = canonical_spec_path().read_text(encoding="utf-8")
_DATA = yaml.load(CANON, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
# A transition's index in the canonical spec, for key paths like `transitions[{recover}].on`.
T = {transition["id"]: i for i, transition in enumerate(_DATA["transitions"])}
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Defect:
    """One defect: replace `old` (found exactly once in the canonical spec) with `new`."""

    name: str
    old: str
    new: str
    path: str  # the problem's exact key path ("" for none); `{transition_id}` -> its index
    message: str  # a fragment of the problem's message, fix included
    at: str | None = None  # unique text in the broken spec on whose line the problem is;
    # None: the line where `old` started
    problems: int = 1  # how many problems the defect causes in all

    def text(self) -> str:
        assert CANON.count(self.old) == 1, f"{self.name}: the canonical spec changed; update it"
        return CANON.replace(self.old, self.new)

    def line(self, text: str) -> int:
        if self.at is None:
            offset = CANON.index(self.old)  # the text before the replacement is unchanged
        else:
            assert text.count(self.at) == 1, f"{self.name}: {self.at!r} is not unique"
            offset = text.index(self.at)
        return text.count("\n", 0, offset) + 1

    def key_path(self) -> str:
        return self.path.format_map(T)


MANUAL_FAILOVER_WHEN = (
    "    when: {ha_enabled: true, connected: true, node.state: normal, peer.state: normal}\n"
)

DEFECTS: list[Defect] = [
    # -- YAML itself
    Defect(
        "invalid_yaml_syntax",
        "id: imp-ha\n",
        "id: imp-ha: oops\n",
        "",
        "not valid YAML: mapping values are not allowed",
    ),
    Defect(
        "tab_indentation",
        "    type: seconds\n    default: 15\n",
        "    type: seconds\n\tdefault: 15\n",
        "",
        "not valid YAML",
        at="\tdefault: 15",
    ),
    Defect(
        "duplicated_key",
        "    default: 60\n    range: [1, 3600]\n",
        "    default: 60\n    default: 61\n    range: [1, 3600]\n",
        "parameters.keep_alive_timeout_s.default",
        "this key appears twice",
        at="    default: 61",
    ),
    Defect(
        "yaml_merge_key",
        "  transition_max_s:\n",
        "  transition_max_s:\n    <<: {cisco_name: (model parameter)}\n",
        "parameters.transition_max_s",
        "YAML merge keys (<<) are not used",
        at="    <<:",
    ),
    # -- the schema: unknown keys, missing keys, wrong types and values
    Defect(
        "unknown_top_level_key",
        "id: imp-ha\n",
        "id: imp-ha\nversion: 3\n",
        "version",
        "unknown key 'version' (fix: use one of: accepted, assumptions, display, events, hasm_spec,",
        at="version: 3",
    ),
    Defect(
        "unknown_key_in_state",
        "    label: Idle\n",
        "    label: Idle\n    colour: grey\n",
        "states.idle.colour",
        "unknown key 'colour' (fix: use one of: aliases, assumption, definition, hosts, kind,",
        at="    colour: grey",
    ),
    Defect(
        "unknown_key_in_parameter",
        "    default: 90\n",
        "    default: 90\n    unit: s\n",
        "parameters.critical_service_down_delay_s.unit",
        "unknown key 'unit'",
        at="    unit: s",
    ),
    Defect(
        "unknown_key_in_transition",
        "  - id: manual_failover\n",
        "  - id: manual_failover\n    priority: 1\n",
        "transitions[{manual_failover}].priority",
        "unknown key 'priority'",
        at="    priority: 1",
    ),
    Defect(
        "unknown_key_in_timer",
        "    description: A monitored service has been down on the node; SRM acts after the"
        " Critical Service Down Delay.\n",
        "    description: A monitored service has been down on the node; SRM acts after the"
        " Critical Service Down Delay.\n    repeat: true\n",
        "timers.critical_service_down.repeat",
        "unknown key 'repeat'",
        at="    repeat: true",
    ),
    Defect(
        "unknown_key_in_guard",
        MANUAL_FAILOVER_WHEN,
        MANUAL_FAILOVER_WHEN.replace(
            "peer.state: normal}", "peer.state: normal, node.colour: red}"
        ),
        "transitions[{manual_failover}].when.node.colour",
        "unknown key 'node.colour'",
    ),
    Defect(
        "state_without_label",
        "    label: Taking Over\n",
        "",
        "states.taking_over",
        "missing key 'label' (fix: add 'label:' here)",
        at="  taking_over:",
    ),
    Defect(
        "transition_without_on",
        "    on: recover\n",
        "",
        "transitions[{recover}]",
        "missing key 'on' (fix: add 'on:' here)",
        at="  - id: recover\n",
    ),
    Defect(
        "seconds_default_is_a_word",
        "    default: 90\n",
        "    default: ninety\n",
        "parameters.critical_service_down_delay_s.default",
        "got 'ninety'",
    ),
    Defect(
        "hasm_spec_version_2",
        "hasm_spec: 1\n",
        "hasm_spec: 2\n",
        "hasm_spec",
        "must be 1, not 2",
    ),
    # -- parameters
    Defect(
        "seconds_default_is_boolean",
        "    default: 90\n",
        "    default: true\n",
        "parameters.critical_service_down_delay_s.default",
        "a seconds parameter needs a finite number, not true",
    ),
    Defect(
        "boolean_default_is_number",
        "    default: false\n    description: Move users back",
        "    default: 1\n    description: Move users back",
        "parameters.enable_automatic_fallback.default",
        "a boolean parameter needs true or false, not 1",
    ),
    Defect(
        "default_outside_range",
        "    default: 1800\n",
        "    default: 100000\n",
        "parameters.automatic_fallback_delay_s.default",
        "default 100000 is outside the range [1, 86400]",
    ),
    Defect(
        "inverted_range",
        "    default: 537\n    range: [0, 7200]\n",
        "    default: 537\n    range: [10, 1]\n",
        "parameters.client_relogin_upper_limit_s.range",
        "range [10, 1] is empty or negative",
        at="    range: [10, 1]",
    ),
    # -- cross-references
    Defect(
        "unknown_state_typo",
        "    node: {state: normal, reason: normal}\n    peer: {state: normal, reason: normal}\n"
        "    source: [S4, S1]",
        "    node: {state: normall, reason: normal}\n    peer: {state: normal, reason: normal}\n"
        "    source: [S4, S1]",
        "transitions[{fallback_complete}].node.state",
        "unknown state 'normall' (fix: did you mean 'normal'?)",
    ),
    Defect(
        "unknown_reason",
        "    node: {state: backup, reason: peer_reboot}\n",
        "    node: {state: backup, reason: peer_rebooted}\n",
        "transitions[{peer_reboot_takeover}].node.reason",
        "unknown reason 'peer_rebooted' (fix: did you mean 'peer_reboot'?)",
    ),
    Defect(
        "unknown_trigger",
        "    on: recover\n",
        "    on: recovre\n",
        "transitions[{recover}].on",
        "unknown event or timer 'recovre' (fix: did you mean 'recover'?)",
    ),
    Defect(
        "unknown_parameter_in_guard",
        "param.enable_automatic_fallback: true",
        "param.enable_automatic_fallbak: true",
        "timers.automatic_fallback.while.param.enable_automatic_fallbak",
        "unknown parameter 'enable_automatic_fallbak'"
        " (fix: did you mean 'enable_automatic_fallback'?)",
    ),
    Defect(
        "unknown_service_in_service_down",
        "node.service_down: database}\n    node: {state: failed, reason: take_over_users_failed}",
        "node.service_down: databse}\n    node: {state: failed, reason: take_over_users_failed}",
        "transitions[{take_over_database_failure}].when.node.service_down",
        "unknown service 'databse' (fix: did you mean 'database'?)",
    ),
    Defect(
        "unknown_source",
        "    source: P14\n",
        "    source: S99\n",
        "transitions[{fallback_start_failed}].source",
        "unknown source 'S99'",
    ),
    Defect(
        "unknown_reason_of_an_allowed_pair",
        "reasons: [critical_service_down, unknown], assumption: A-one-sided-failure}",
        "reasons: [critical_service_down, unknwon], assumption: A-one-sided-failure}",
        "invariants[9].also[51].reasons",
        "unknown reason 'unknwon' (fix: did you mean 'unknown'?)",
    ),
    Defect(
        "unknown_service_assumption",
        "sync_agent: {name: Cisco Sync Agent, monitored_by_default: false, source: [S1, seed], "
        "assumption: A-monitored-set}",
        "sync_agent: {name: Cisco Sync Agent, monitored_by_default: false, source: [S1, seed], "
        "assumption: A-monitored-sets}",
        "services.sync_agent.assumption",
        "unknown assumption 'A-monitored-sets' (fix: did you mean 'A-monitored-set'?)",
    ),
    Defect(
        "alternative_to_a_node_effect",
        "fields: [node, service], effect: stop_service, description",
        "fields: [node, service], effect: stop_service, alternative_effects: [logout], description",
        "events.service_stop.alternative_effects[0]",
        "'logout' cannot be an alternative to 'stop_service'",
    ),
    Defect(
        "alternative_equal_to_the_effect",
        "effect: logout, alternative_effects: [logout_keep_session]",
        "effect: logout, alternative_effects: [logout]",
        "events.logout.alternative_effects[0]",
        "'logout' cannot be an alternative to 'logout'",
    ),
    Defect(
        "unknown_event_assumption",
        "description: The user's client signs out., assumption: A-logout-session}",
        "description: The user's client signs out., assumption: A-logout-sessions}",
        "events.logout.assumption",
        "unknown assumption 'A-logout-sessions' (fix: did you mean 'A-logout-session'?)",
    ),
    Defect(
        "unknown_assumption",
        "    assumption: A-recover\n",
        "    assumption: A-recovery\n",
        "transitions[{recover}].assumption",
        "unknown assumption 'A-recovery' (fix: did you mean 'A-recover'?)",
    ),
    Defect(
        "duration_names_unknown_parameter",
        "    duration: automatic_fallback_delay_s\n",
        "    duration: automatic_fallback_delay\n",
        "timers.automatic_fallback.duration",
        "unknown parameter 'automatic_fallback_delay'"
        " (fix: did you mean 'automatic_fallback_delay_s'?)",
    ),
    Defect(
        "duration_uses_boolean_parameter",
        "    duration: automatic_fallback_delay_s\n",
        "    duration: enable_automatic_fallback\n",
        "timers.automatic_fallback.duration",
        "'enable_automatic_fallback' is not a seconds parameter",
    ),
    Defect(
        "duplicated_transition_id",
        "  - id: manual_fallback\n",
        "  - id: manual_failover\n",
        "transitions[{manual_fallback}].id",
        "id 'manual_failover' is used twice",
    ),
    Defect(
        "duplicated_state_label",
        "    label: Idle\n",
        "    label: Normal\n",
        "states.idle",
        "label 'Normal' is also used by 'normal'",
        at="  idle:\n",
    ),
    Defect(
        "admin_event_with_effect",
        "  recover: {kind: admin, description:",
        "  recover: {kind: admin, effect: srm_start, description:",
        "events.recover.effect",
        "an admin event has no effect of its own",
        problems=2,  # and: effect 'srm_start' needs fields ['node']
    ),
    Defect(
        "environment_event_fields_do_not_fit_effect",
        "  node_up: {kind: environment, fields: [node],",
        "  node_up: {kind: environment, fields: [node, service],",
        "events.node_up.fields",
        "effect 'node_up' needs fields ['node'], not ['node', 'service']",
    ),
    Defect(
        "state_pair_unknown_state",
        "  P3: {node1: {state: idle,",
        "  P3: {node1: {state: idel,",
        "state_pairs.P3.node1.state",
        "unknown state 'idel' (fix: did you mean 'idle'?)",
    ),
    Defect(
        "per_node_timer_without_while",
        "    while: {ha_enabled: true, reading.critical_delay_per_service: false,"
        " node.srm_running: true, node.state: [normal, backup, backup_activated],"
        " node.monitored_down: true}\n",
        "",
        "timers.critical_service_down",
        "a per-node timer needs the condition it runs under",
        at="  critical_service_down:\n    per: node",
    ),
    Defect(
        "unknown_reading",
        "    while: {ha_enabled: true, reading.critical_delay_per_service: true,",
        "    while: {ha_enabled: true, reading.critical_delay_per_servce: true,",
        "timers.one_critical_service_down.while.reading.critical_delay_per_servce",
        "unknown reading 'critical_delay_per_servce' (fix: did you mean",
    ),
    Defect(
        "reading_not_a_boolean",
        "    while: {ha_enabled: true, reading.critical_delay_per_service: true,",
        "    while: {ha_enabled: true, reading.critical_delay_per_service: 90,",
        "timers.one_critical_service_down.while.reading.critical_delay_per_service",
        "expected boolean, got 90",
    ),
    Defect(
        "unknown_timer_in_a_list",
        "    timer: [critical_service_down, one_critical_service_down]\n",
        "    timer: [critical_service_down, one_critical_service_dwn]\n",
        "invariants[5].timer[1]",
        "unknown timer 'one_critical_service_dwn' (fix: did you mean 'one_critical_service_down'?)",
    ),
    Defect(
        "reading_without_description",
        "  critical_delay_per_service:\n    description: >-\n",
        "  critical_delay_per_service:\n    descripton: >-\n",
        "readings.critical_delay_per_service",
        "description",
        problems=2,
    ),
    Defect(
        "two_per_user_timers",
        "  automatic_fallback:\n    per: node\n",
        "  automatic_fallback:\n    per: user\n",
        "timers",
        "a spec has exactly one per-user timer (the client's re-login wait), not 2",
        at="timers:\n  initialization:",
        problems=3,  # and: the new per-user timer has `while`; a transition is `on` it
    ),
    Defect(
        "on_names_the_per_user_timer",
        "    on: recover\n",
        "    on: client_relogin\n",
        "transitions[{recover}].on",
        "'client_relogin' is the per-user timer; users are not moved by transitions",
    ),
]

# Tags, key names, non-finite numbers and windows impossible under the defaults.
DEFECTS += [
    Defect(
        "python_object_tag",
        "id: imp-ha\n",
        'id: !!python/object/apply:os.system ["echo hi"]\n',
        "id",
        "unsupported YAML tag",
    ),
    Defect(
        "state_name_not_lower_case",
        "  idle:\n",
        "  Idle:\n",
        "states.Idle",
        "'Idle' is not a valid name here",
        at="  Idle:",
    ),
    Defect(
        "infinite_default",
        "    default: 1800\n    range: [1, 86400]\n",
        "    default: .inf\n    range: [1, .inf]\n",
        "parameters.automatic_fallback_delay_s.default",
        "finite",
        problems=2,  # the default and the range bound
    ),
    Defect(
        "range_bound_too_large_for_a_float",
        "    range: [1, 86400]\n",
        "    range: [1, 1" + "0" * 400 + "]\n",
        "parameters.automatic_fallback_delay_s.range",
        "infinite or too large",
    ),
    Defect(
        "defaults_make_a_timer_window_impossible",
        "    default: 15\n",
        "    default: 100\n",
        "timers.heartbeat_loss.duration",
        "impossible",
        at="    duration: {min: keep_alive_timeout_s - keep_alive_interval_s,",
    ),
]

CASES = [pytest.param(d, id=d.name) for d in DEFECTS]


def validate(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["validate", "--spec", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


def assert_reported(err: str, file: Path, line: int | None, key_path: str, message: str) -> None:
    """stderr has a problem line `hasm: FILE:LINE: KEY.PATH: ...MESSAGE...` (no LINE when the
    problem has none; with no KEY.PATH, MESSAGE comes right after the location)."""
    where = f"{file}:{line}" if line is not None else f"{file}"
    prefix = f"hasm: {where}: {key_path}: " if key_path else f"hasm: {where}: "
    hits = [r for r in err.splitlines() if r.startswith(prefix) and message in r[len(prefix) :]]
    if not key_path:
        hits = [r for r in hits if r[len(prefix) :].startswith(message)]
    assert hits, f"expected a line {prefix}...{message}...; stderr:\n{err}"


def assert_clean_failure(code: int, out: str, err: str, file: Path) -> None:
    assert code == EXIT_INPUT
    assert out == ""
    assert "Traceback" not in err
    assert err.endswith("\n")
    for row in err.splitlines():
        assert row.startswith(f"hasm: {file}"), f"a problem without its file: {row!r}"


@pytest.fixture(params=CASES)
def broken_spec(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Defect, Path]:
    """The canonical spec with one defect, written to tmp_path."""
    defect: Defect = request.param
    path = tmp_path / f"{defect.name}.yaml"
    path.write_text(defect.text(), encoding="utf-8")
    return defect, path


def test_every_defect_is_reported_located(
    broken_spec: tuple[Defect, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    defect, path = broken_spec
    code, out, err = validate(path, capsys)
    assert_clean_failure(code, out, err, path)
    line = defect.line(path.read_text(encoding="utf-8"))
    assert_reported(err, path, line, defect.key_path(), defect.message)
    assert len(err.splitlines()) == defect.problems, err


def test_the_corpus_is_wide() -> None:
    names = [d.name for d in DEFECTS]
    assert len(set(names)) == len(names)
    assert len(DEFECTS) >= 25


def test_the_canonical_spec_itself_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    path = canonical_spec_path()
    assert main(["validate", "--spec", str(path)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith(f"{path}: ok - ")


# -- YAML tags are never executed, wherever they are --------------------------------------------
# The YAML layer reads every file before anything else looks at it, so a small document shows
# what it does with a tag wherever the tag sits. (The tag's rejection is a strict xfail above and
# in test_loader.py; here: whatever happens, nothing runs.)
TAGGED = {
    "on_a_sequence": 'id: !!python/object/apply:os.system ["{cmd}"]\n',
    "on_a_sequence_where_a_list_fits": 'sources: {{S1: !!python/object/apply:os.system ["{cmd}"]}}\n',
    "on_a_scalar": 'id: !!python/object/apply:os.system "{cmd}"\n',
    "on_a_mapping": 'display: !!python/object/apply:os.system {{args: ["{cmd}"]}}\n',
    "nested": 'states: {{idle: {{label: !!python/object/apply:os.system ["{cmd}"]}}}}\n',
}


@pytest.mark.parametrize("place", sorted(TAGGED))
def test_python_tags_are_never_executed(
    place: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[str] = []

    def system(command: str) -> int:
        calls.append(command)
        return 0

    monkeypatch.setattr(os, "system", system)
    marker = tmp_path / "executed"
    path = tmp_path / "tagged.yaml"
    path.write_text("hasm_spec: 1\n" + TAGGED[place].format(cmd=f"touch {marker}"), "utf-8")
    try:
        code: int | None = main(["validate", "--spec", str(path)])
    except yaml.YAMLError:  # a tagged scalar escapes as a traceback: see test_loader.py
        code = None
    out, _ = capsys.readouterr()
    assert code != 0
    assert out == ""
    assert calls == []
    assert not marker.exists()


# -- whole files that are not a spec at all ----------------------------------------------------
@dataclass(frozen=True)
class NotASpec:
    name: str
    content: str | bytes | None  # None: the file does not exist
    line: int | None
    message: str


NOT_SPECS = [
    NotASpec(
        "empty_file", "", None, "a spec is a YAML mapping (fix: start from specs/imp-ha.yaml)"
    ),
    NotASpec("only_comments", "# nothing here\n", None, "a spec is a YAML mapping"),
    NotASpec("yaml_list", "- hasm_spec: 1\n- id: imp-ha\n", 1, "a spec is a YAML mapping"),
    NotASpec("yaml_scalar", "\n\nimp-ha\n", 3, "a spec is a YAML mapping"),
    NotASpec(
        "not_utf8",
        b"\xff\xfe" + CANON.encode("utf-8"),
        None,
        "cannot read the file: 'utf-8' codec can't decode byte 0xff in position 0",
    ),
    NotASpec("missing_file", None, None, "cannot read the file: [Errno 2] No such file"),
]


@pytest.mark.parametrize("case", NOT_SPECS, ids=lambda c: c.name)
def test_a_file_that_is_not_a_spec(
    case: NotASpec, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / f"{case.name}.yaml"
    if isinstance(case.content, bytes):
        path.write_bytes(case.content)
    elif isinstance(case.content, str):
        path.write_text(case.content, encoding="utf-8")
    code, out, err = validate(path, capsys)
    assert_clean_failure(code, out, err, path)
    assert_reported(err, path, case.line, "", case.message)
    assert len(err.splitlines()) == 1


def test_a_directory_is_not_a_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = validate(tmp_path, capsys)
    assert_clean_failure(code, out, err, tmp_path)
    assert_reported(err, tmp_path, None, "", "cannot read the file")


# -- several defects at once: every one is reported, each located ------------------------------
def _several(*defects: tuple[str, str]) -> str:
    text = CANON
    for old, new in defects:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def _line_of(text: str, marker: str, occurrence: int = 1) -> int:
    """The line of the `occurrence`-th (and, by default, only) `marker` in `text`."""
    count = text.count(marker)
    assert count >= occurrence and (occurrence > 1 or count == 1), marker
    offset = -1
    for _ in range(occurrence):
        offset = text.index(marker, offset + 1)
    return text.count("\n", 0, offset) + 1


def test_all_schema_problems_are_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _several(
        ("hasm_spec: 1\n", "hasm_spec: 2\n"),
        ("    label: Idle\n", "    label: Idle\n    colour: grey\n"),
        ("    on: recover\n", ""),
        ("    default: 90\n", "    default: ninety\n"),
    )
    path = tmp_path / "several.yaml"
    path.write_text(text, encoding="utf-8")
    code, out, err = validate(path, capsys)
    assert_clean_failure(code, out, err, path)
    expected = [
        (_line_of(text, "hasm_spec: 2"), "hasm_spec", "must be 1, not 2"),
        (
            _line_of(text, "default: ninety"),
            "parameters.critical_service_down_delay_s.default",
            "got 'ninety'",
        ),
        (_line_of(text, "colour: grey"), "states.idle.colour", "unknown key 'colour'"),
        (_line_of(text, "  - id: recover\n"), f"transitions[{T['recover']}]", "missing key 'on'"),
    ]
    for line, key_path, message in expected:
        assert_reported(err, path, line, key_path, message)
    rows = err.splitlines()
    assert len(rows) == len(expected)
    # schema problems come in the order of the file
    assert [int(row.split(":")[2]) for row in rows] == [line for line, _, _ in expected]


def test_all_cross_reference_problems_are_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _several(
        ("    on: recover\n", "    on: recovre\n"),
        ("    assumption: A-recover\n", "    assumption: A-recovery\n"),
        ("  P3: {node1: {state: idle,", "  P3: {node1: {state: idel,"),
        ("  - id: manual_fallback\n", "  - id: manual_failover\n"),
        ("    duration: automatic_fallback_delay_s\n", "    duration: automatic_fallback_delay\n"),
    )
    path = tmp_path / "several.yaml"
    path.write_text(text, encoding="utf-8")
    code, out, err = validate(path, capsys)
    assert_clean_failure(code, out, err, path)
    expected = [
        (_line_of(text, "on: recovre"), f"transitions[{T['recover']}].on", "'recovre'"),
        (
            _line_of(text, "A-recovery"),
            f"transitions[{T['recover']}].assumption",
            "unknown assumption 'A-recovery'",
        ),
        (_line_of(text, "state: idel"), "state_pairs.P3.node1.state", "unknown state 'idel'"),
        (
            _line_of(text, "  - id: manual_failover\n", occurrence=2),
            f"transitions[{T['manual_fallback']}].id",
            "id 'manual_failover' is used twice",
        ),
        (
            _line_of(text, "duration: automatic_fallback_delay\n"),
            "timers.automatic_fallback.duration",
            "unknown parameter 'automatic_fallback_delay'",
        ),
    ]
    for line, key_path, message in expected:
        assert_reported(err, path, line, key_path, message)
    assert len(err.splitlines()) == len(expected)


# -- end to end: a real process, exit code 2, no traceback -------------------------------------
def _run_hasm(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hasm", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )


@pytest.mark.slow  # one of the unit tests the quick loop leaves to `make test`
def test_real_processes_exit_2_without_a_traceback(tmp_path: Path) -> None:
    by_name = {d.name: d for d in DEFECTS}
    specs: dict[Path, Defect | None] = {}
    for name in ("invalid_yaml_syntax", "unknown_key_in_guard", "unknown_state_typo"):
        path = tmp_path / f"{name}.yaml"
        path.write_text(by_name[name].text(), encoding="utf-8")
        specs[path] = by_name[name]
    # a python tag that would run a command, if anything constructed it
    marker = tmp_path / "executed"
    tagged = tmp_path / "python_tag.yaml"
    tag = f'id: !!python/object/apply:os.system ["touch {marker}"]\n'
    tagged.write_text(CANON.replace("id: imp-ha\n", tag), encoding="utf-8")
    specs[tagged] = None
    # start them all, then wait: the processes run side by side
    running = {path: _run_hasm("validate", "--spec", str(path)) for path in specs}
    for path, process in running.items():
        out, err = process.communicate(timeout=60)
        assert process.returncode == EXIT_INPUT, err
        assert out == ""
        assert "Traceback" not in err
        assert err.startswith(f"hasm: {path}:")
        defect = specs[path]
        if defect is not None:
            line = defect.line(path.read_text(encoding="utf-8"))
            assert_reported(err, path, line, defect.key_path(), defect.message)
    assert not marker.exists(), "a YAML python tag was executed"
