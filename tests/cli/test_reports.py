"""Machine-readable verdicts through the command line: `verify --format json` and `--junit`,
`validate --format json`, `diagram --report json`, `lint --junit`; and every new option's bad
spelling is one located line, exit 2, nothing written."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hasm.cli import main
from hasm.explorer.explore import explore
from hasm.spec.loader import load_spec

SMALL = Path(__file__).parents[1] / "specs" / "small.yaml"
SMALL_TEXT = SMALL.read_text(encoding="utf-8")
INVARIANTS = ["home_never_changes", "failover_only_for_normal", "fallback_only_to_idle"]


def run(*args: str) -> int:
    """`hasm ARGS` in this process: its exit code, whether argparse or the command ends it."""
    try:
        return main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)


def planted(tmp_path: Path, old: str, new: str, name: str = "planted.yaml") -> Path:
    assert SMALL_TEXT.count(old) == 1
    path = tmp_path / name
    path.write_text(SMALL_TEXT.replace(old, new), encoding="utf-8")
    return path


def bug(tmp_path: Path) -> Path:
    """Failover is said to be offered only for a Backup node: broken in the first state."""
    return planted(
        tmp_path, "    requires: {node.state: normal}", "    requires: {node.state: backup}"
    )


# -- verify ---------------------------------------------------------------------------------------
def test_verify_json_of_a_spec_that_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", str(SMALL), "-j", "1", "--format", "json", "--out", str(tmp_path)]) == 0
    first = capsys.readouterr().out
    doc = json.loads(first)
    assert doc["verified"] is True and doc["complete"] is True and doc["spec"] == "small"
    (variant,) = doc["variants"]
    assert variant["invariants"] == dict.fromkeys(INVARIANTS, "holds")
    assert variant["counterexamples"] == []
    assert variant["states"] > 0 and variant["transitions"] > 0 and variant["depth"] > 0
    assert ["normal", "normal"] in variant["pairs"]
    assert doc["total"]["states"] == variant["states"]
    assert doc["documented_pairs"] == {"reached": ["P1", "P2"], "not_reached": []}
    # No wall time in it: the same spec and options give the same bytes.
    assert main(["verify", str(SMALL), "-j", "1", "--format", "json", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out == first
    assert list(tmp_path.iterdir()) == []


def test_verify_json_and_junit_of_a_violation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec, out, junit = bug(tmp_path), tmp_path / "out", tmp_path / "verify.xml"
    args = ["verify", str(spec), "-j", "1", "--out", str(out), "--junit", str(junit)]
    assert main([*args, "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["verified"] is False
    (variant,) = doc["variants"]
    assert variant["invariants"]["failover_only_for_normal"] == "violated"
    assert variant["invariants"]["home_never_changes"] == "holds"
    (found,) = variant["counterexamples"]
    assert found["invariant"] == "failover_only_for_normal"
    assert Path(found["file"]) == out / "counterexample-1-failover_only_for_normal.jsonl"
    assert Path(found["file"]).is_file() and found["lines"] == 2
    suite = ET.parse(junit).getroot()
    assert suite.get("name") == "hasm verify"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "0")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    failed = cases["variant 1 (monitored: engine): failover_only_for_normal"]
    failure = failed.find("failure")
    assert failure is not None and "replay: hasm check" in (failure.text or "")
    assert cases["variant 1 (monitored: engine): home_never_changes"].find("failure") is None
    # The text report is unchanged by --junit.
    assert main(args) == 1
    assert "VIOLATED failover_only_for_normal" in capsys.readouterr().out


def test_the_time_limit_gives_an_honest_partial_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The canonical spec's search takes seconds: a hundredth of one ends it at once, and the
    result says so - no variant is claimed verified, no variant covered by one cut short."""
    junit = tmp_path / "v.xml"
    args = ["verify", "-j", "1", "--time-limit", "0.01", "--out", str(tmp_path)]
    assert main([*args, "--junit", str(junit)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith("incomplete: time limit 0.01 s reached after ")
    assert out[-1].endswith(" states; nothing is verified")
    assert not any(line.startswith("verified") for line in out)
    assert all("incomplete" in line for line in out if line.startswith("variant "))
    assert not any("within variant" in line or "the same exploration" in line for line in out)
    assert any(
        line.startswith("documented pairs not reached before the time limit") for line in out
    )
    suite = ET.parse(junit).getroot()
    assert suite.get("skipped") == suite.get("tests") and suite.get("failures") == "0"
    assert main([*args, "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["complete"] is False and doc["verified"] is False
    assert doc["incomplete"].startswith("incomplete: time limit 0.01 s reached")
    assert {v for var in doc["variants"] for v in var["invariants"].values()} == {"unknown"}


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("0", "a time limit is a finite number of seconds > 0, not 0"),
        ("-3", "a time limit is a finite number of seconds > 0, not -3"),
        ("nan", "a time limit is a finite number of seconds > 0, not nan"),
        ("inf", "a time limit is a finite number of seconds > 0, not inf"),
        ("ten", "expected seconds, got 'ten'"),
    ],
)
def test_a_bad_time_limit_is_a_usage_error(
    given: str, why: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("verify", str(SMALL), "--time-limit", given) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == f"hasm: error: argument --time-limit: {why}"


@pytest.mark.parametrize(
    ("option", "value", "command"),
    [
        ("--format", "xml", "verify"),
        ("--format", "yaml", "validate"),
        ("--report", "xml", "diagram"),
        ("--color", "sometimes", "check"),
        ("--color", "sometimes", "verify"),
    ],
)
def test_a_bad_choice_is_a_usage_error(
    option: str, value: str, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = ["x.jsonl"] if command == "check" else []
    assert run(command, *extra, option, value) == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith(f"hasm: error: argument {option}: invalid choice: '{value}'")


def test_a_junit_file_that_cannot_be_written_stops_verify_before_the_search(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nowhere = tmp_path / "missing" / "v.xml"
    assert main(["verify", str(SMALL), "-j", "1", "--junit", str(nowhere)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"hasm: {nowhere}: --junit: its directory does not exist\n"
    assert captured.out == ""
    assert main(["verify", str(SMALL), "-j", "1", "--junit", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"hasm: {tmp_path}: --junit: is a directory\n"


# -- validate, diagram, lint ------------------------------------------------------------------------
def test_validate_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(SMALL), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    spec = load_spec(SMALL)
    assert doc["valid"] is True and doc["spec"] == "small" and doc["warnings"] == []
    assert doc["counts"]["states"] == len(spec.states) == 3
    assert doc["counts"]["transitions"] == len(spec.transitions)


def test_validate_json_lists_the_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = Path(load_spec().path).read_text(encoding="utf-8")
    old = "    cisco_name: Client Re-Login Lower Limit\n    type: seconds\n    default: 120\n"
    low = tmp_path / "low.yaml"
    low.write_text(text.replace(old, old.replace("120", "60")), encoding="utf-8")
    assert main(["validate", str(low), "--format", "json"]) == 0
    captured = capsys.readouterr()
    (warning,) = json.loads(captured.out)["warnings"]
    assert warning["field"] == "parameters.client_relogin_lower_limit_s"
    assert "is below" in warning["message"]
    assert "warning:" in captured.err  # still on stderr, as in the text format


def test_validate_json_of_a_bad_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = planted(tmp_path, "kind: stable\n    hosts: own\n", "kind: stable\n")
    assert main(["validate", str(broken), "--format", "json"]) == 2
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["valid"] is False
    assert doc["problems"][0]["message"] == "missing key 'hosts'"
    assert captured.err.startswith(f"hasm: {broken}:") and "Traceback" not in captured.err


def test_diagram_report_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["diagram", str(SMALL), "--format", "dot", "--view", "overview", "--out", str(tmp_path)]
    assert main([*args, "--report", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc == {"files": [str(tmp_path / "overview.dot")]}
    assert (tmp_path / "overview.dot").is_file()


def test_diagram_format_json_points_to_the_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("diagram", str(SMALL), "--format", "json") == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert last == (
        "hasm: error: argument --format: invalid choice: 'json' (choose from svg, png, dot, "
        "mermaid); for a JSON report of the files written, use --report json"
    )


def test_lint_junit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    unsourced = planted(
        tmp_path,
        "    peer: {state: backup, reason: service_down}\n    source: T1\n",
        "    peer: {state: backup, reason: service_down}\n",
    )
    junit = tmp_path / "lint.xml"
    assert main(["lint", str(unsourced), "--junit", str(junit)]) == 1
    assert "unsourced: transition automatic_failover" in capsys.readouterr().out
    suite = ET.parse(junit).getroot()
    assert suite.get("name") == "hasm lint" and suite.get("failures") == "1"
    failed = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert [(c.get("classname"), c.get("name")) for c in failed] == [
        ("hasm.lint.unsourced", "transition automatic_failover")
    ]
    # Of a clean spec: every check one passing case.
    assert main(["lint", str(SMALL), "--junit", str(junit)]) == 0
    clean = ET.parse(junit).getroot()
    assert clean.get("failures") == "0" and int(clean.get("tests") or 0) > 5
    assert {c.get("name") for c in clean.iter("testcase")} == {"no finding"}


def test_lint_junit_nowhere_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nowhere = tmp_path / "missing" / "lint.xml"
    assert main(["lint", str(SMALL), "--junit", str(nowhere)]) == 2
    assert capsys.readouterr().err.startswith(f"hasm: {nowhere}: cannot write here")
    assert not nowhere.parent.exists()


def test_the_deadline_hook_changes_nothing_unless_it_is_reached() -> None:
    """The explorer's deadline: far off, the same exploration as none; passed, every variant is
    incomplete and none is taken as covered by another."""
    spec = load_spec(SMALL)
    plain = explore(spec)
    far = explore(spec, deadline=time.monotonic() + 3600)
    assert far.complete and plain.complete
    assert (far.states, far.zones, far.transitions, far.pairs) == (
        plain.states,
        plain.zones,
        plain.transitions,
        plain.pairs,
    )
    passed = explore(spec, deadline=time.monotonic() - 1)
    assert not passed.complete
    assert all(not r.complete and r.same_as is None and r.within is None for r in passed.variants)
    assert passed.states < plain.states
