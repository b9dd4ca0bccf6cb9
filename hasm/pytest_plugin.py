"""The pytest plugin of hasm: the conformance oracle as a fixture for other projects' tests.

Its one job is to let a test check its system's behaviour against the spec while it runs: the
`hasm_oracle` fixture starts runs that are fed what happened and what was seen, and checks
whole trace files. A divergence fails the test with `hasm check`'s report and leaves the trace
so far in a file that `hasm check` replays to the same verdict at the same line.

Installed with hasm as the pytest11 entry point `hasm` (disable with `-p no:hasm`). Options:
`--hasm-spec PATH` (ini `hasm_spec`), `--hasm-tolerance S` (ini `hasm_tolerance`),
`--hasm-trace-dir DIR`; a test may set its own tolerance with `@pytest.mark.hasm(tolerance=S)`.

Every record fed to a run is written as trace format v1 (`shared/docs/trace-format.md`) and read
back through hasm.trace's reader before the oracle sees it, so what the fixture checks is exactly
what `hasm check` checks on the replay file.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import math
import numbers
import os
import re
import shlex
from collections import deque
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

import pytest

from hasm.errors import HasmError, InputError, Problem

if TYPE_CHECKING:
    from _pytest.outcomes import Failed as _FailedBase

    from hasm.oracle.files import Verdict
    from hasm.oracle.oracle import Oracle
    from hasm.oracle.report import Divergence
    from hasm.spec.model import ParamValue, Spec
    from hasm.trace.reader import TraceReader
    from hasm.trace.records import TraceRecord
else:
    _FailedBase = pytest.fail.Exception

# _LAZY: the plugin is loaded by every pytest run where hasm is installed, so the heavy parts
# of hasm (the loader and its JSON Schema, the oracle, the trace reader) are imported only when
# a test uses the fixture or names a spec. (What importing the package `hasm` costs is up to
# hasm/__init__.py.)

# The name a run's oracle and reader report until its trace is written to a file.
_UNWRITTEN = "<hasm_oracle: trace not written>"
_TRACE_STEM = "hasm-trace"
_MARKER_HELP = (
    "hasm(tolerance=S): check this test's hasm_oracle runs and traces with every timing bound "
    "widened by S seconds (overrides --hasm-tolerance)"
)


# -- failures ---------------------------------------------------------------------------------
class HasmFailure(_FailedBase):
    """A test failure raised by the `hasm_oracle` fixture: its text is the whole report.

    It is a `pytest.fail.Exception`, so an `except Exception` in the code under test does not
    swallow it; a test that expects one catches it with `pytest.raises`. `trace_path` is the
    trace file written for replay (None if there is none)."""

    def __init__(self, report: str, trace_path: Path | None = None) -> None:
        super().__init__(report, pytrace=True)
        self.report = report
        self.trace_path = trace_path


class ConformanceFailure(HasmFailure):
    """The system under test did something the spec does not allow: `divergence` is the
    structured report (`str()` and `to_json()` as `hasm check` prints them)."""

    def __init__(self, report: str, divergence: Divergence, trace_path: Path | None) -> None:
        super().__init__(report, trace_path)
        self.divergence = divergence


class TraceInputFailure(HasmFailure):
    """What was fed or checked is not valid trace format v1, or names what the spec does not
    know (an unknown node, state label, service...): `problems` locate each one."""

    def __init__(
        self, report: str, problems: Sequence[Problem], trace_path: Path | None = None
    ) -> None:
        super().__init__(report, trace_path)
        self.problems = tuple(problems)


# -- settings: options, ini and the spec, once per session --------------------------------------
def _tolerance(value: object, where: str) -> float:
    """A tolerance in seconds: a finite number >= 0; ValueError naming `where` otherwise."""
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    if number is None or not math.isfinite(number) or number < 0:
        raise ValueError(f"{where}: a tolerance is a finite number of seconds >= 0, not {value!r}")
    return number


def _tolerance_option(text: str) -> float:
    try:
        return _tolerance(text, "--hasm-tolerance")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register `--hasm-spec`, `--hasm-tolerance`, `--hasm-trace-dir` and the ini options."""
    group = parser.getgroup("hasm", "hasm conformance oracle (the hasm_oracle fixture)")
    group.addoption(
        "--hasm-spec",
        metavar="PATH",
        default=None,
        help="spec that hasm_oracle checks against (default: ini hasm_spec, else the packaged "
        "canonical spec)",
    )
    group.addoption(
        "--hasm-tolerance",
        metavar="S",
        type=_tolerance_option,
        default=None,
        help="widen every timing bound by S seconds, for systems on real clocks "
        "(default: ini hasm_tolerance, else 0)",
    )
    group.addoption(
        "--hasm-trace-dir",
        metavar="DIR",
        default=None,
        help="write the trace of a failing test's hasm_oracle runs here, named after the test "
        "(default: the test's tmp_path)",
    )
    parser.addini(
        "hasm_spec",
        type="paths",
        default=[],
        help="spec that hasm_oracle checks against, relative to the config file",
    )
    parser.addini(
        "hasm_tolerance",
        type="string",
        default="",
        help="seconds by which hasm_oracle widens every timing bound",
    )


class _Settings:
    """The session's spec, tolerance and trace directory. The spec is read-only, loaded once
    per process (each xdist worker loads its own) and only when first needed; a spec named
    explicitly is loaded at configure time, so a bad one is a usage error."""

    def __init__(self, spec_path: Path | None, tolerance: float, trace_dir: Path | None) -> None:
        self.spec_path, self.tolerance, self.trace_dir = spec_path, tolerance, trace_dir
        self._spec: Spec | None = None
        self._reader: TraceReader | None = None

    def spec(self) -> Spec:
        if self._spec is None:
            from hasm.spec.loader import load_spec  # noqa: PLC0415 - see _LAZY

            self._spec = load_spec(self.spec_path)
        return self._spec

    def reader(self) -> TraceReader:
        if self._reader is None:
            from hasm.trace.reader import TraceReader  # noqa: PLC0415 - see _LAZY

            self._reader = TraceReader(self.spec())
        return self._reader

    def replay(self, path: Path | str, tolerance: float) -> str:
        """The `hasm check` command that replays a trace under these settings."""
        words = ["hasm", "check", str(path)]
        if self.spec_path is not None:
            words += ["--spec", str(self.spec_path)]
        if tolerance:
            words += ["--tolerance", f"{tolerance:g}"]
        return shlex.join(words)


_SETTINGS = pytest.StashKey[_Settings]()
_ORACLE = pytest.StashKey["HasmOracle"]()


def _settings_from(config: pytest.Config) -> _Settings:
    here = config.invocation_params.dir
    spec_path: Path | None = None
    option = config.getoption("hasm_spec")
    if option is not None:
        spec_path = here / option
    else:
        ini = cast(list[Path], config.getini("hasm_spec"))
        if len(ini) > 1:
            raise pytest.UsageError(f"hasm_spec: one spec file, not {len(ini)}")
        spec_path = ini[0] if ini else None
    tolerance: float | None = config.getoption("hasm_tolerance")
    if tolerance is None:
        text = str(config.getini("hasm_tolerance")).strip()
        try:
            tolerance = _tolerance(text, "hasm_tolerance (ini)") if text else 0.0
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None
    trace_dir = config.getoption("hasm_trace_dir")
    settings = _Settings(spec_path, tolerance, here / trace_dir if trace_dir else None)
    if spec_path is not None:
        try:
            settings.spec()
        except InputError as exc:
            raise pytest.UsageError(
                "\n".join(f"hasm: --hasm-spec / hasm_spec: {p}" for p in exc.problems)
            ) from None
    return settings


def pytest_configure(config: pytest.Config) -> None:
    """Register the `hasm` marker and read the options (a bad spec is a usage error)."""
    config.addinivalue_line("markers", _MARKER_HELP)
    config.stash[_SETTINGS] = _settings_from(config)


def pytest_report_header(config: pytest.Config) -> str | None:
    """Name the spec and tolerance when the run sets them."""
    settings = config.stash.get(_SETTINGS, None)
    if settings is None or (settings.spec_path is None and not settings.tolerance):
        return None
    spec = str(settings.spec_path) if settings.spec_path is not None else "the canonical spec"
    return f"hasm: spec {spec}, tolerance {settings.tolerance:g} s"


# -- the fixture -------------------------------------------------------------------------------
def _marker_tolerance(node: pytest.Item, default: float) -> float:
    marker = node.get_closest_marker("hasm")
    if marker is None:
        return default
    if marker.args or set(marker.kwargs) - {"tolerance"}:
        pytest.fail(
            "@pytest.mark.hasm takes only tolerance=S, not "
            + ", ".join([*map(repr, marker.args), *marker.kwargs]),
            pytrace=False,
        )
    if "tolerance" not in marker.kwargs:
        return default
    try:
        return _tolerance(marker.kwargs["tolerance"], "@pytest.mark.hasm")
    except ValueError as exc:
        pytest.fail(str(exc), pytrace=False)


def _slug(nodeid: str) -> str:
    """A file name for a test, unique per node id (a hash keeps sanitised ids apart)."""
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_.")[:100] or "test"
    return f"{readable}-{hashlib.sha1(nodeid.encode(), usedforsecurity=False).hexdigest()[:8]}"


class HasmOracle:
    """The `hasm_oracle` fixture: runs checked against the spec as they are fed, and trace files.

    `start(...)` begins a run (an `OracleRun`) from a trace header's parts; `check_trace(path)`
    checks a whole trace file. A failure raises `ConformanceFailure` or `TraceInputFailure`,
    whose text is `hasm check`'s report and the command that replays the trace written for it.
    If the test fails any other way, the runs' traces so far are written too and named in the
    report's "hasm traces" section.
    """

    def __init__(
        self, settings: _Settings, tolerance: float, trace_dir: Path, per_test_dir: bool, slug: str
    ) -> None:
        self._settings = settings
        self.tolerance = tolerance
        """The timing tolerance of this test: the marker's, else --hasm-tolerance's, else 0."""
        self._trace_dir, self._per_test_dir, self._slug = trace_dir, per_test_dir, slug
        self.runs: list[OracleRun] = []
        """The runs started in this test, in order."""

    @property
    def spec(self) -> Spec:
        """The spec checked against (the session's, read-only)."""
        return self._settings.spec()

    def start(
        self,
        nodes: Sequence[str],
        users: Mapping[str, str] | None = None,
        *,
        initial: str = "ha_disabled",
        params: Mapping[str, ParamValue] | None = None,
        monitored: Iterable[str] | None = None,
        group: str | None = None,
        tolerance: float | None = None,
    ) -> OracleRun:
        """Begin a run of one redundancy group, as a trace header would: the two `nodes` (the
        first is the group's first Presence Server), `users` (user id -> home node), the
        starting point `initial` ("ha_disabled", the trace format's default, or "normal"),
        parameter overrides `params`, the `monitored` services, and the `group`'s name for
        reports. `tolerance` overrides the test's for this run."""
        __tracebackhide__ = True
        from hasm.trace.records import HeaderLine  # noqa: PLC0415 - see _LAZY

        # The values as given, in JSON's types: the reader judges them (hence the casts).
        header = HeaderLine(
            cast("Sequence[str]", _plain(nodes)),
            cast("Mapping[str, str]", _plain(users) if users is not None else {}),
            initial,
            params=cast("Mapping[str, ParamValue]", _plain(params)) if params is not None else None,
            monitored=cast("Sequence[str]", _plain(monitored)) if monitored is not None else None,
            group=group,
        ).json()
        tol = self.tolerance if tolerance is None else self._checked(tolerance)
        run = OracleRun(self._settings, tol, self._trace_path(len(self.runs) + 1))
        self.runs.append(run)
        failure = run._begin(header)
        if failure is not None:
            raise failure
        return run

    def check_trace(
        self, path: str | os.PathLike[str], *, tolerance: float | None = None
    ) -> Verdict:
        """Check a whole trace file; return its `hasm.oracle.files.Verdict` if it conforms, and fail
        the test with `hasm check`'s report if it does not or is not a valid trace."""
        __tracebackhide__ = True
        from hasm.oracle.files import check_file  # noqa: PLC0415 - see _LAZY

        tol = self.tolerance if tolerance is None else self._checked(tolerance)
        path = os.fspath(path)
        verdict = check_file(self.spec, path, tol)
        if verdict.status == "conforms":
            return verdict
        replay = self._settings.replay(path, tol)
        if verdict.divergence is not None:
            div = verdict.divergence
            raise ConformanceFailure(
                f"{div}\nreplay: {replay}  (exits 1 at line {div.line})", div, Path(path)
            )
        line = verdict.problems[0].line if verdict.problems else None
        at = f" at line {line}" if line is not None else ""
        raise TraceInputFailure(
            "\n".join([*map(str, verdict.problems), f"replay: {replay}  (exits 2{at})"]),
            verdict.problems,
            Path(path),
        )

    def _checked(self, tolerance: float) -> float:
        __tracebackhide__ = True
        try:
            return _tolerance(tolerance, "tolerance")
        except ValueError as exc:
            raise HasmFailure(str(exc)) from None

    def _trace_path(self, index: int) -> Path:
        suffix = "" if index == 1 else f"-{index}"
        if self._per_test_dir:
            return self._trace_dir / f"{_TRACE_STEM}{suffix}.jsonl"
        return self._trace_dir / f"{self._slug}{suffix}.jsonl"

    def _write_unwritten(self) -> list[str]:
        """Write every run's trace not yet written; a line per run for the report."""
        out = []
        for number, run in enumerate(self.runs, 1):
            if run._written != len(run._lines):
                path, error = run._write()
                where = f"{path}  (replay: {run._replay()})" if error is None else error
                out.append(f"run {number} ({run.records} records): {where}")
        return out


@pytest.fixture
def hasm_oracle(request: pytest.FixtureRequest, tmp_path: Path) -> HasmOracle:
    """Check the system under test against the hasm spec while the test runs.

    `hasm_oracle.start(nodes, users, initial=..., params=..., monitored=...)` returns a run to
    feed with `event`, `observe` and `advance`; `allowed()` lists what the page may show now.
    `hasm_oracle.check_trace(path)` checks a whole trace file. A divergence fails the test
    with `hasm check`'s report and the path of the trace written for replay."""
    settings = request.config.stash[_SETTINGS]
    item = cast(pytest.Item, request.node)
    tolerance = _marker_tolerance(item, settings.tolerance)
    if settings.trace_dir is not None:
        oracle = HasmOracle(settings, tolerance, settings.trace_dir, False, _slug(item.nodeid))
    else:
        oracle = HasmOracle(settings, tolerance, tmp_path, True, "")
    item.stash[_ORACLE] = oracle
    return oracle


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """When a test that used `hasm_oracle` fails, write its runs' traces so far and name them."""
    report = yield
    oracle = item.stash.get(_ORACLE, None)
    if oracle is not None and report.failed and report.when == "call":
        lines = oracle._write_unwritten()
        if lines:
            report.sections.append(("hasm traces", "\n".join(lines)))
    return report


# -- a run ------------------------------------------------------------------------------------
class _LineFeed:
    """The lines a run writes, handed to hasm.trace's streaming reader one at a time: the
    reader reads a line only when asked for its next record, so a line pushed is a record read."""

    def __init__(self) -> None:
        self._lines: deque[str] = deque()

    def push(self, line: str) -> None:
        self._lines.append(line + "\n")

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if not self._lines:
            raise StopIteration
        return self._lines.popleft()


def _time(t: object) -> object:
    """A time as the writer writes it: a real number (numpy's too) as a float, integral values
    without a fraction; anything else is left for the reader to judge."""
    if isinstance(t, numbers.Real) and not isinstance(t, bool):
        t = float(t)
        if math.isfinite(t) and t.is_integer():
            return int(t)
    return t


def _plain(value: object) -> object:
    """A value in JSON's types where it has a plain equivalent: mappings as objects, lists and
    tuples as arrays, sets as sorted arrays; anything else as given, for the reader to judge."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((_plain(item) for item in value), key=str)
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


class OracleRun:
    """One redundancy group's run, checked record by record as the test feeds it.

    Feed it in time order: `event` (what happened), `observe` (what was seen; absent parts are
    not checked) and `advance` (time passed); `allowed()` lists every field the page could show
    now. Each record is kept as a line of trace format v1. The first record the spec does not
    allow raises `ConformanceFailure`; the run then writes its trace and takes no more records.
    """

    def __init__(self, settings: _Settings, tolerance: float, path: Path) -> None:
        self._settings = settings
        self.tolerance = tolerance
        """The timing tolerance this run is checked with."""
        self._path = path
        self._lines: list[str] = []
        self._feed = _LineFeed()
        self._records: Iterator[TraceRecord] | None = None
        self._oracle: Oracle | None = None
        self._failed: str | None = None
        self._written = 0  # how many lines the last trace file written holds
        self.trace_path: Path | None = None
        """The trace file, once written (on a failure, or by `save`)."""

    # -- feeding
    def event(
        self,
        t: float,
        name: str,
        *,
        node: str | None = None,
        service: str | None = None,
        user: str | None = None,
    ) -> None:
        """`name` happened at `t` (seconds since the run began): an event of trace format v1
        such as "failover" (with `node`), "service_stop" (`node`, `service`), "login" (`user`)."""
        __tracebackhide__ = True
        from hasm.trace.records import EventLine  # noqa: PLC0415 - see _LAZY

        # The time as given, if not a number: the reader judges it (hence the cast).
        record = EventLine(cast(float, _time(t)), name, node, service, user).json()
        failure = self._check(record)
        if failure is not None:
            raise failure

    def observe(
        self,
        t: float,
        *,
        nodes: Mapping[str, Mapping[str, Any]] | None = None,
        sessions: Mapping[str, str | None] | None = None,
        ha_enabled: bool | None = None,
        offered: Mapping[str, Any] | None = None,
    ) -> None:
        """What was seen at `t`, in the page's words: `nodes` maps a node to any of `state`,
        `reason`, `assigned_users`, `active_users`; `sessions` a user to the node of their
        session or None; `offered` has `failover` and `fallback` (node lists, complete) and
        `recover` (bool). What is not given is not checked."""
        __tracebackhide__ = True
        given = {"nodes": nodes, "sessions": sessions, "ha_enabled": ha_enabled, "offered": offered}
        seen = {key: _plain(value) for key, value in given.items() if value is not None}
        failure = self._check(self._observation(t, seen))
        if failure is not None:
            raise failure

    def advance(self, t: float) -> None:
        """Time passed to `t` with nothing seen, so that `allowed()` speaks of `t` (written to
        the trace as an empty observation)."""
        __tracebackhide__ = True
        failure = self._check(self._observation(t, {}))
        if failure is not None:
            raise failure

    def allowed(self) -> dict[str, tuple[str, ...]]:
        """Every field the page could show at the last record's time, named as the report names
        them (`nodes.<node>.state`, `ha_enabled`, `offered.failover`...), each with the values
        some behaviour allows, as strings."""
        __tracebackhide__ = True
        return self._started().allowed()

    # -- what was fed
    @property
    def now(self) -> float:
        """The time of the last record checked."""
        __tracebackhide__ = True
        return self._started().now

    @property
    def records(self) -> int:
        """How many records were fed (the trace's lines after the header)."""
        return max(0, len(self._lines) - 1)

    @property
    def lines(self) -> tuple[str, ...]:
        """The trace so far: the header line, then a line per record, without line ends."""
        return tuple(self._lines)

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write the trace so far (to `path`, or where a failure would) and return its path."""
        __tracebackhide__ = True
        written, error = self._write(Path(path) if path is not None else None)
        if error is not None:
            raise HasmFailure(error)
        return written

    # -- machinery
    @staticmethod
    def _observation(t: object, seen: Mapping[str, Any]) -> dict[str, Any]:
        from hasm.trace.records import ObservationLine  # noqa: PLC0415 - see _LAZY

        # The time as given, if not a number: the reader judges it (hence the cast).
        return ObservationLine(cast(float, _time(t)), seen).json()

    def _started(self) -> Oracle:
        __tracebackhide__ = True
        if self._oracle is None:
            raise HasmFailure(f"this hasm run did not start: {self._failed}")
        return self._oracle

    def _begin(self, header: dict[str, Any]) -> HasmFailure | None:
        from hasm.oracle.oracle import Oracle  # noqa: PLC0415 - see _LAZY

        failure = self._line(header)
        if failure is not None:
            return failure
        try:
            read, self._records = self._settings.reader().read(
                cast(TextIO, self._feed), name=_UNWRITTEN
            )
            self._oracle = Oracle.from_header(self._settings.spec(), read, self.tolerance)
        except InputError as exc:
            return self._input_failure(exc.problems)
        return None

    def _line(self, obj: Mapping[str, Any]) -> HasmFailure | None:
        """Keep `obj` as the trace's next line and hand it to the reader."""
        from hasm.trace.records import encode_line  # noqa: PLC0415 - see _LAZY

        try:
            text = encode_line(obj)
        except (TypeError, ValueError) as exc:
            what = "the header" if not self._lines else f"the record at t={obj.get('t')!r}"
            problem = Problem(_UNWRITTEN, None, "", f"{what} cannot be written as JSON: {exc}")
            return self._input_failure([problem], replayable=False)
        self._lines.append(text)
        self._feed.push(text)
        return None

    def _check(self, record: dict[str, Any]) -> HasmFailure | None:
        from hasm.errors import ConformanceError  # noqa: PLC0415 - see _LAZY

        oracle, records = self._oracle, self._records
        if self._failed is not None or oracle is None or records is None:
            return HasmFailure(
                f"this hasm run already failed ({self._failed}); it takes no more records: "
                "start another with hasm_oracle.start(...)"
            )
        failure = self._line(record)
        if failure is not None:
            return failure
        try:
            oracle.record(next(records))
        except ConformanceError as exc:
            return self._divergence(exc.divergence)
        except InputError as exc:
            return self._input_failure(exc.problems)
        except HasmError as exc:
            return self._input_failure([Problem(_UNWRITTEN, len(self._lines), "", str(exc))])
        except StopIteration:  # pragma: no cover - the reader read ahead of the feed
            raise RuntimeError("hasm.trace's reader read past the record fed") from None
        return None

    def _divergence(self, divergence: Divergence) -> ConformanceFailure:
        path, error = self._write()
        self._failed = f"it diverged at line {divergence.line}"
        if error is None:
            divergence = dataclasses.replace(divergence, file=str(path))
            replay = f"replay: {self._replay()}  (exits 1 at line {divergence.line})"
        else:
            replay = error
        return ConformanceFailure(f"{divergence}\n{replay}", divergence, self.trace_path)

    def _input_failure(
        self, problems: Sequence[Problem], *, replayable: bool = True
    ) -> TraceInputFailure:
        """The run's trace is written with the bad line, if it is a line at all, so that
        `hasm check` reports the same problem at the same line."""
        line = problems[0].line if problems else None
        self._failed = f"line {line} is not valid input" if line else "a record is not JSON"
        path, error = self._write()
        if error is not None:
            tail = error
        else:
            problems = [
                dataclasses.replace(p, file=str(path)) if p.file == _UNWRITTEN else p
                for p in problems
            ]
            if replayable:
                tail = f"replay: {self._replay()}  (exits 2 at line {line})"
            else:
                tail = f"the trace before it: {path}"
        report = "\n".join([*map(str, problems), tail])
        return TraceInputFailure(report, problems, self.trace_path)

    def _write(self, path: Path | None = None) -> tuple[Path, str | None]:
        """Write the trace; the path and None, or the path and why it could not be written."""
        target = path if path is not None else self._path
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "w", encoding="utf-8", newline="\n") as out:
                out.writelines(line + "\n" for line in self._lines)
        except OSError as exc:
            return target, f"the trace could not be written to {target}: {exc.strerror or exc}"
        self.trace_path, self._written = target, len(self._lines)
        return target, None

    def _replay(self) -> str:
        return self._settings.replay(self.trace_path or self._path, self.tolerance)


__all__ = [
    "ConformanceFailure",
    "HasmFailure",
    "HasmOracle",
    "OracleRun",
    "TraceInputFailure",
    "hasm_oracle",
]
