"""Checking trace files: one verdict per file, many files in parallel, JSON and JUnit reports."""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal, cast

from hasm.errors import ConformanceError, HasmError, InputError, Problem
from hasm.oracle.junit import Case, junit_report
from hasm.oracle.oracle import Oracle
from hasm.oracle.report import Divergence
from hasm.oracle.story import Story
from hasm.oracle.telling import explanation_lines, summary
from hasm.parallel import parallel_map
from hasm.spec.model import Spec
from hasm.spec.params import parameter_warnings
from hasm.trace.reader import TraceReader, read_trace
from hasm.trace.records import TraceEvent, TraceHeader, TraceRecord

__all__ = [
    "STORY_RECORDS",
    "Status",
    "Told",
    "Verdict",
    "check_file",
    "check_files",
    "exit_code",
    "junit_xml",
    "tell_file",
]

Status = Literal["conforms", "diverges", "input_error"]


@dataclass(frozen=True)
class Verdict:
    """What checking one trace file found."""

    file: str
    status: Status
    records: int  # records checked (up to the divergence or the bad line)
    divergence: Divergence | None = None
    problems: tuple[Problem, ...] = ()
    # The header's parameters against the vendor's advice (S3's re-login limits): warnings only.
    warnings: tuple[str, ...] = ()
    # Of a divergent trace with hidden events: what must have happened before it, in words.
    story: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file, "verdict": self.status, "records": self.records}
        if self.divergence is not None:
            out["divergence"] = self.divergence.to_json()
        if self.warnings:
            out["warnings"] = list(self.warnings)
        if self.story:
            out["story"] = list(self.story)
        if self.problems:
            out["problems"] = [
                {
                    "file": p.file,
                    "line": p.line,
                    "field": p.path,
                    "message": p.message,
                    "fix": p.fix,
                }
                for p in self.problems
            ]
        return out


def check_file(
    spec: Spec, path: str | Path | BinaryIO, tolerance: float = 0.0, *, name: str | None = None
) -> Verdict:
    """Check one trace file against `spec`: it conforms, diverges (with the report), or is not
    a valid trace (with located problems). Never raises for a bad file. `path` may be a binary
    stream (standard input), judged record by record as its lines arrive; `name` is the name
    reports give it (default: the path, or the stream's name)."""
    source: str | Path | _Kept
    if isinstance(path, str | Path):
        source, name = path, name or str(path)
    else:
        name = name or str(getattr(path, "name", "(trace)"))
        source = _Kept(path)
    checked = 0
    try:
        # Repeated lines come as the memo made them, made into records only if the oracle's
        # memo cannot answer them (hasm.trace.memo.Repeat).
        header, records = TraceReader(spec).read_repeats(_readable(source), name=name)
        warned = _advice(spec, header)
        oracle = Oracle.from_header(spec, header, tolerance)
        for record in records:
            oracle.record(record)
            checked += 1
    except ConformanceError as exc:
        divergence = _sourced(exc.divergence, header, source)
        story = _story_before(spec, header, source, tolerance, checked)
        return Verdict(
            name, "diverges", checked, divergence=divergence, warnings=warned, story=story
        )
    except InputError as exc:
        return Verdict(name, "input_error", checked, problems=tuple(exc.problems))
    except HasmError as exc:
        return Verdict(name, "input_error", checked, problems=(Problem(name, None, "", str(exc)),))
    return Verdict(name, "conforms", checked, warnings=warned)


@dataclass(frozen=True, slots=True)
class Told:
    """A trace file told: its header, its records (up to the divergence), the story, and the
    divergence's report if it does not conform."""

    header: TraceHeader
    records: tuple[TraceRecord, ...]
    story: Story
    divergence: Divergence | None


def tell_file(
    spec: Spec, path: str | Path | BinaryIO, tolerance: float = 0.0, *, name: str | None = None
) -> Told:
    """The story of a trace file (hasm.oracle.story): the oracle's verdict, and the fewest
    hidden events that explain its records up to the divergence. A bad file raises InputError,
    located, as `read_trace` does. `path` may be a binary stream, named `name`."""
    # A stream is named as check_file names it: standard input's name is `<stdin>`.
    name = name or str(path if isinstance(path, str | Path) else getattr(path, "name", "(trace)"))
    source = path if isinstance(path, str | Path) else _Kept(path)
    header, records = read_trace(_readable(source), spec, name=name)
    oracle = Oracle.from_header(spec, header, tolerance)
    teller = oracle.teller()
    kept: list[TraceRecord] = []
    for rec in records:
        try:
            oracle.record(rec)
        except ConformanceError as exc:
            divergence = _sourced(exc.divergence, header, source)
            return Told(header, tuple(kept), teller.story(False), divergence)
        obs = None if isinstance(rec, TraceEvent) else oracle.observation_of(rec)
        if not teller.record(rec, obs):
            raise HasmError(f"{name}:{rec.line}: the story lost every behaviour the oracle kept")
        kept.append(rec)
    return Told(header, tuple(kept), teller.story(True), None)


# The story costs about 0.3 s a record where behaviours branch (hasm.oracle.story keeps no memo):
# `hasm check` tells it for a divergence this early, and points longer traces to `hasm explain`.
STORY_RECORDS = 200


def _story_before(
    spec: Spec, header: TraceHeader, path: str | Path | _Kept, tolerance: float, checked: int
) -> tuple[str, ...]:
    """For a trace whose header hides events, the fewest hidden events that explain its records
    up to the divergence (a second pass, by the teller, paid only when a trace diverges)."""
    if header.hidden is None:
        return ()
    if checked > STORY_RECORDS:
        return (
            f"{header.file}: the story before the divergence is not told after more than "
            f"{STORY_RECORDS} records (it costs up to a second a record): "
            f"hasm explain {header.file} tells it",
        )
    again = path.again() if isinstance(path, _Kept) else path
    told = tell_file(spec, again, tolerance, name=header.file)
    lead = f"{header.file}: before the divergence, {summary(told.story, conforms=False)}"
    return (lead, *explanation_lines(spec, told.header, told.story))


def _advice(spec: Spec, header: TraceHeader) -> tuple[str, ...]:
    """The warnings of a header that sets parameters against the vendor's advice, located."""
    if not header.overrides:
        return ()
    return tuple(f"{header.file}:1: params: {w}" for w in parameter_warnings(spec, header.params))


def _sourced(divergence: Divergence, header: TraceHeader, path: str | Path | _Kept) -> Divergence:
    """The divergence with where its record came from, for an imported trace (header
    `sources`, records with `source`): read again, that one line, only when it diverged."""
    if header.sources is None or divergence.line is None:
        return divergence
    try:
        if isinstance(path, _Kept):
            text = path.line(divergence.line)
        else:
            with open(path, "rb") as lines:
                text = next(itertools.islice(lines, divergence.line - 1, None), b"")
        found = json.loads(text).get("source")
    except (OSError, ValueError, AttributeError):
        return divergence  # the reader read it: only a file changed since could get here
    return dataclasses.replace(divergence, source=found) if isinstance(found, str) else divergence


class _Kept:
    """A trace read from a stream (standard input), handed to the reader line by line as it
    asks, so each record is judged as it arrives. A stream cannot be read twice, so it keeps
    what the second passes after a divergence need (`_sourced`, `_story_before`): the last line
    read - the divergent one, as the reader reads no further - and every line while the trace
    is short enough for its story to be told."""

    mode = "rb"  # what the reader looks at: it takes this as a binary stream

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.head: list[bytes] | None = []  # None once past what the story is told for
        self.filled = 0  # lines that are not blank: the header, then records
        self.count = 0
        self.last = b""

    def __iter__(self) -> Iterator[bytes]:
        for line in self.stream:  # a line as soon as it is complete: a pipe is not waited out
            self.count += 1
            self.last = line
            if self.head is not None:
                self.filled += 1 if line.strip() else 0
                if self.filled > STORY_RECORDS + 2:  # the header, the records, the divergent one
                    self.head = None
                else:
                    self.head.append(line)
            yield line

    def line(self, number: int) -> bytes:
        if number == self.count:
            return self.last
        if self.head is not None and number <= len(self.head):
            return self.head[number - 1]
        return b""

    def again(self) -> BinaryIO:
        assert self.head is not None, "the story is told only of a short trace"
        return io.BytesIO(b"".join(self.head))


def _readable(source: str | Path | _Kept) -> str | Path | BinaryIO:
    # A _Kept is read as the binary stream it stands for (it has the reader's `mode` and lines).
    return cast(BinaryIO, source) if isinstance(source, _Kept) else source


def check_files(
    spec: Spec,
    paths: Sequence[str | Path | BinaryIO],
    tolerance: float = 0.0,
    jobs: int = 1,
) -> list[Verdict]:
    """Verdicts for `paths`, in their order; with `jobs` > 1 (0: one per core) the files are
    checked in that many processes. Worker processes inherit `spec`. A stream among them
    (standard input) is read in this process, never by a worker, while they check the rest."""
    files = [p for p in paths if isinstance(p, str | Path)]
    checked = parallel_map(lambda p: check_file(spec, p, tolerance), files, jobs)
    try:
        return [
            next(checked) if isinstance(p, str | Path) else check_file(spec, p, tolerance)
            for p in paths
        ]
    finally:
        checked.close()


def exit_code(verdicts: Sequence[Verdict]) -> int:
    """2 if any file is bad input, else 1 if any diverges, else 0 (trace format v1's codes)."""
    if any(v.status == "input_error" for v in verdicts):
        return 2
    return 1 if any(v.status == "diverges" for v in verdicts) else 0


def junit_xml(verdicts: Sequence[Verdict], suite: str = "hasm check") -> str:
    """A JUnit XML report: one test case per trace; a divergence is a failure, bad input an error."""
    cases = []
    for v in verdicts:
        if v.divergence is not None:
            message = f"line {v.divergence.line}, t={v.divergence.t:g}: does not conform"
            case = Case("hasm.oracle.files", v.file, "failure", message, str(v.divergence))
        elif v.problems:
            text = "\n".join(str(p) for p in v.problems)
            case = Case("hasm.oracle.files", v.file, "error", str(v.problems[0]), text)
        else:
            case = Case("hasm.oracle.files", v.file)
        cases.append(case)
    return junit_report(suite, cases)
