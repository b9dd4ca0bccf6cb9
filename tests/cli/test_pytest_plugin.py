"""The pytest plugin (hasm.pytest_plugin) as another project's suite uses it: each test here writes
a small test file that uses the `hasm_oracle` fixture, runs pytest on it with `pytester`, and
checks the verdicts, the failure reports, the replay files and the options.

The story is the README's: nodes pub and sub, alice homed on pub, both Normal; a manual failover
of pub at t=100 shows Failing Over / Taking Over, the move takes 1 to 60 s and leaves Idle /
Running in Backup Mode, and alice's client logs in to sub 120 to 537 s after t=100.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from hasm.cli import main as hasm_main
from hasm.spec.loader import canonical_spec_path

pytest_plugins = ["pytester"]

PRELUDE = '''
import pytest
from hasm.pytest_plugin import ConformanceFailure, HasmFailure, TraceInputFailure

NODES = ["pub", "sub"]
USERS = {"alice": "pub"}


def fail_over_pub(run):
    """Both nodes Normal with alice on pub; the administrator fails pub over at t=100."""
    run.observe(0, nodes={"pub": {"state": "Normal"}, "sub": {"state": "Normal"}},
                sessions={"alice": "pub"}, ha_enabled=True)
    run.event(100, "failover", node="pub")
    run.observe(100, nodes={"pub": {"state": "Failing Over"}, "sub": {"state": "Taking Over"}},
                sessions={"alice": None})
'''

# Plugins the inner runs do not need: in-process runs import them afresh each time.
QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:benchmark")

# A frame of hasm's own code in a traceback: `hasm/oracle/oracle.py:123`.
INTERNAL_FRAME = re.compile(r"hasm(?:[/\\]\w+)+\.py:\d+")
REPORT_HEAD = re.compile(r"(\S+\.jsonl):(\d+): t=([\d.]+): does not conform")


def run_tests(
    pytester: pytest.Pytester, source: str, *args: str, ini: str = ""
) -> pytest.RunResult:
    """Write `source` (after PRELUDE) as a test file and run pytest on it, warnings as errors."""
    pytester.makeini(f"[pytest]\nfilterwarnings =\n    error\n{ini}")
    pytester.makepyfile(PRELUDE + textwrap.dedent(source))
    return pytester.runpytest(*QUIET, *args)


def output(result: pytest.RunResult) -> str:
    return "\n".join([*result.outlines, *result.errlines])


def hasm_check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """`hasm check ARGS`: its exit code and what it printed."""
    capsys.readouterr()
    code = hasm_main(["check", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_conforming_run_passes(pytester: pytest.Pytester) -> None:
    result = run_tests(
        pytester,
        """
        def test_manual_failover(hasm_oracle):
            run = hasm_oracle.start(NODES, USERS, initial="normal")
            fail_over_pub(run)
            run.observe(130, nodes={"pub": {"state": "Idle"},
                                    "sub": {"state": "Running in Backup Mode"}})
            run.advance(161)  # the move has ended by t=160 whatever its duration
            assert run.allowed()["nodes.pub.state"] == ("Idle",)
            run.observe(219, sessions={"alice": None})
            run.observe(400, sessions={"alice": "sub"},
                        nodes={"sub": {"state": "Running in Backup Mode", "active_users": 1}})
            assert run.records == 7 and run.trace_path is None
        """,
    )
    result.assert_outcomes(passed=1)


def test_a_divergent_run_fails_with_the_report_and_a_replayable_trace(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_tests(
        pytester,
        """
        def test_pub_comes_back_too_early(hasm_oracle):
            run = hasm_oracle.start(NODES, USERS, initial="normal")
            fail_over_pub(run)
            run.observe(130, nodes={"pub": {"state": "Normal"}})
        """,
    )
    result.assert_outcomes(failed=1)
    out = output(result)
    assert "does not conform: observation" in out
    assert "NOT nodes.pub.state: observed Normal; the spec allows Failing Over, Idle" in out
    assert "why: timer user_move on sub started at t=100 (line 3: failover on pub)" in out
    assert "replay: hasm check " in out
    # The traceback is the test's own line, then the report: no frame of hasm's code.
    assert '>       run.observe(130, nodes={"pub": {"state": "Normal"}})' in out
    assert not INTERNAL_FRAME.search(out), out
    assert "Traceback" not in out

    head = REPORT_HEAD.search(out)
    assert head is not None, out
    path, line = head.group(1), head.group(2)
    assert (line, head.group(3)) == ("5", "130")
    assert Path(path).name == "hasm-trace.jsonl" and Path(path).is_file()
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 5 and lines[0].startswith('{"hasm_trace": 1, "nodes": ["pub", "sub"]')
    code, printed = hasm_check(capsys, path)
    assert code == 1
    assert printed.startswith(f"{path}:5: t=130: does not conform: observation\n")
    assert "NOT nodes.pub.state: observed Normal; the spec allows Failing Over, Idle" in printed


def test_bad_input_fails_cleanly_and_replays_as_bad_input(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_tests(
        pytester,
        """
        def test_misspelt_state(hasm_oracle):
            run = hasm_oracle.start(NODES, USERS, initial="normal")
            run.observe(10, nodes={"pub": {"state": "Nromal"}})

        def test_unknown_node(hasm_oracle):
            run = hasm_oracle.start(NODES, USERS, initial="normal")
            run.event(10, "failover", node='nowhere')

        def test_unknown_home(hasm_oracle):
            hasm_oracle.start(NODES, {"alice": 'nowhere'})

        def test_no_more_records_after_a_divergence(hasm_oracle):
            run = hasm_oracle.start(NODES, USERS, initial="normal")
            with pytest.raises(ConformanceFailure) as failure:
                run.observe(1, ha_enabled=False)
            assert failure.value.divergence.line == 2
            assert failure.value.trace_path.is_file()
            with pytest.raises(HasmFailure, match="already failed"):
                run.observe(2, ha_enabled=True)
        """,
    )
    result.assert_outcomes(failed=3, passed=1)
    out = output(result)
    assert "observe.nodes.pub.state: unknown state 'Nromal' (fix: did you mean 'Normal'?)" in out
    assert "node: unknown node 'nowhere'" in out
    assert "users.alice: home node 'nowhere' is not one of the nodes" in out
    assert not INTERNAL_FRAME.search(out), out
    found = re.search(r"(\S+\.jsonl):2: observe\.nodes\.pub\.state", out)
    assert found is not None
    code, printed = hasm_check(capsys, found.group(1))
    assert code == 2 and f"{found.group(1)}:2: observe.nodes.pub.state" in printed


def test_tolerance_changes_the_verdict_of_a_borderline_run(pytester: pytest.Pytester) -> None:
    # alice is seen on sub at t=215, 5 s before her client may re-login (t=220 at the earliest).
    source = """
        def early_relogin(run):
            run.event(100, "failover", node="pub")
            run.observe(215, sessions={"alice": "sub"})

        def test_borderline(hasm_oracle):
            early_relogin(hasm_oracle.start(NODES, USERS, initial="normal"))

        @pytest.mark.hasm(tolerance=10)
        def test_borderline_with_marker(hasm_oracle):
            assert hasm_oracle.tolerance == 10
            early_relogin(hasm_oracle.start(NODES, USERS, initial="normal"))
        """
    strict = run_tests(pytester, source, "--strict-markers")
    strict.assert_outcomes(passed=1, failed=1)
    assert "NOT sessions.alice: observed sub; the spec allows null" in output(strict)

    run_tests(pytester, source, "--hasm-tolerance", "10").assert_outcomes(passed=2)
    run_tests(pytester, source, ini="hasm_tolerance = 10").assert_outcomes(passed=2)
    too_little = run_tests(pytester, source, "--hasm-tolerance", "4")
    too_little.assert_outcomes(passed=1, failed=1)
    assert "--tolerance 4  (exits 1 at line 3)" in output(too_little)


def test_a_misused_marker_is_an_error_at_setup(pytester: pytest.Pytester) -> None:
    result = run_tests(
        pytester,
        """
        @pytest.mark.hasm(tolerance=-1)
        def test_negative(hasm_oracle):
            pass

        @pytest.mark.hasm(tolerence=1)
        def test_misspelt(hasm_oracle):
            pass
        """,
    )
    result.assert_outcomes(errors=2)
    out = output(result)
    assert "@pytest.mark.hasm: a tolerance is a finite number of seconds >= 0, not -1" in out
    assert "@pytest.mark.hasm takes only tolerance=S, not tolerence" in out


TRACE_HEADER = (
    '{"hasm_trace": 1, "nodes": ["pub", "sub"], "users": {"alice": "pub"}, "initial": "normal"}'
)


def test_check_trace_on_conforming_divergent_and_invalid_files(pytester: pytest.Pytester) -> None:
    failover = '{"t": 100, "event": "failover", "node": "pub"}'
    pytester.path.joinpath("good.jsonl").write_text(
        f'{TRACE_HEADER}\n{failover}\n{{"t": 300, "observe": {{"sessions": {{"alice": "sub"}}}}}}\n'
    )
    pytester.path.joinpath("bad.jsonl").write_text(
        f'{TRACE_HEADER}\n{failover}\n{{"t": 150, "observe": {{"sessions": {{"alice": "pub"}}}}}}\n'
    )
    pytester.path.joinpath("broken.jsonl").write_text(f'{TRACE_HEADER}\n{{"t": 1, "event": "x"}}\n')
    result = run_tests(
        pytester,
        """
        def test_good(hasm_oracle):
            verdict = hasm_oracle.check_trace("good.jsonl")
            assert (verdict.status, verdict.records) == ("conforms", 2)

        def test_bad(hasm_oracle):
            hasm_oracle.check_trace("bad.jsonl")

        def test_bad_expected(hasm_oracle):
            with pytest.raises(ConformanceFailure) as failure:
                hasm_oracle.check_trace("bad.jsonl")
            assert failure.value.divergence.to_json()["line"] == 3

        def test_broken(hasm_oracle):
            hasm_oracle.check_trace("broken.jsonl")
        """,
    )
    result.assert_outcomes(passed=2, failed=2)
    out = output(result)
    assert "bad.jsonl:3: t=150: does not conform: observation" in out
    assert "NOT sessions.alice: observed pub; the spec allows null" in out
    assert "replay: hasm check bad.jsonl  (exits 1 at line 3)" in out
    assert "broken.jsonl:2: event: unknown event 'x'" in out
    assert "replay: hasm check broken.jsonl  (exits 2 at line 2)" in out
    assert not INTERNAL_FRAME.search(out), out


def test_another_failure_still_leaves_the_trace_so_far(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_tests(
        pytester,
        """
        def test_own_assertion_fails(hasm_oracle):
            run = hasm_oracle.start(NODES, USERS, initial="normal")
            fail_over_pub(run)
            assert False, "the system's own check"
        """,
    )
    result.assert_outcomes(failed=1)
    out = output(result)
    found = re.search(r"run 1 \(3 records\): (\S+hasm-trace\.jsonl)", out)
    assert found is not None, out
    assert hasm_check(capsys, found.group(1))[0] == 0


def test_a_bad_spec_is_a_clean_usage_error(pytester: pytest.Pytester) -> None:
    source = """
        def test_uses_it(hasm_oracle):
            hasm_oracle.start(NODES, USERS, initial="normal").observe(0, ha_enabled=False)
        """
    missing = run_tests(pytester, source, "--hasm-spec", "missing.yaml")
    assert missing.ret == pytest.ExitCode.USAGE_ERROR
    assert "missing.yaml: cannot read the file" in output(missing)

    pytester.path.joinpath("specs").mkdir()
    pytester.path.joinpath("specs", "broken.yaml").write_text("- not a mapping\n")
    broken = run_tests(pytester, source, ini="hasm_spec = specs/broken.yaml")
    assert broken.ret == pytest.ExitCode.USAGE_ERROR
    assert "broken.yaml:1: a spec is a YAML mapping" in output(broken)

    negative = run_tests(pytester, source, "--hasm-tolerance", "-1")
    assert negative.ret == pytest.ExitCode.USAGE_ERROR
    assert "a tolerance is a finite number of seconds >= 0" in output(negative)
    for result in (missing, broken, negative):
        assert "Traceback" not in output(result)

    # A spec named in the ini file is relative to it, and the replay names it.
    copy = pytester.path.joinpath("specs", "mine.yaml")
    copy.write_text(canonical_spec_path().read_text(encoding="utf-8"), encoding="utf-8")
    named = run_tests(pytester, source, ini="hasm_spec = specs/mine.yaml")
    named.assert_outcomes(failed=1)
    assert f"hasm: spec {copy}, tolerance 0 s" in output(named)
    assert f"--spec {copy}  (exits 1 at line 2)" in output(named)


def test_under_xdist_each_test_has_its_own_trace(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    pytester.makeini("[pytest]\nfilterwarnings =\n    error\n")
    pytester.makepyfile(
        PRELUDE
        + textwrap.dedent(
            """
            @pytest.mark.parametrize("seen", ["Idle", "Failing Over", "Idle/again", "Normal",
                                              "Initializing", "Normal/again"])
            def test_pub_at_130(hasm_oracle, seen):
                run = hasm_oracle.start(NODES, USERS, initial="normal")
                fail_over_pub(run)
                run.observe(130, nodes={"pub": {"state": seen.split("/")[0]}})
            """
        )
    )
    result = pytester.runpytest_subprocess("-n", "2", *QUIET, "--hasm-trace-dir", "traces")
    result.assert_outcomes(passed=3, failed=3)
    assert "2 workers [6 items]" in output(result)
    traces = sorted(pytester.path.joinpath("traces").iterdir())
    assert len(traces) == 3, traces
    for trace in traces:
        assert trace.name.startswith("test_under_xdist_each_test_has_its_own_trace.py_")
        assert trace.name in output(result)
        assert hasm_check(capsys, str(trace))[0] == 1


def test_the_readme_example_passes(pytester: pytest.Pytester) -> None:
    readme = Path(__file__).resolve().parents[2].joinpath("README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "hasm_oracle" in b]
    if not blocks:
        pytest.skip("the README has no hasm_oracle example yet")
    pytester.makeini("[pytest]\nfilterwarnings =\n    error\n")
    pytester.makepyfile(*blocks)
    result = pytester.runpytest(*QUIET, "--strict-markers")
    tests = sum(len(re.findall(r"^def test_\w+\(hasm_oracle", b, re.M)) for b in blocks)
    result.assert_outcomes(passed=tests)
