"""What every adapter shares: where a reading came from, what it saw, the lines it could not
read, and the spec's words that it checks what it read against.

An adapter turns one file's lines into `Parsed`: readings (a time and what was seen of some
nodes, in the words the file printed), the lines it could not read (each located, with why),
and notes (lines it read and chose not to use). It never guesses: a line that does not say
what the adapter needs is an `Unreadable`, not a reading.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from hasm.errors import InputError, Problem
from hasm.spec.labels import normalise_label
from hasm.spec.model import Spec

__all__ = [
    "MAX_CSV_LINE",
    "MAX_LINE",
    "MAX_XML_LINE",
    "AdapterError",
    "Collector",
    "Line",
    "Note",
    "Options",
    "Origin",
    "Parsed",
    "Reading",
    "Seen",
    "Unreadable",
    "Words",
    "listed",
    "plural",
    "text_lines",
]

# A line longer than this is not output of the commands read here; it is refused unread so
# that no regex runs over megabytes of one line. A CSV row of many counters and a SOAP response
# on one line are longer: their adapters allow more (MAX_CSV_LINE, MAX_XML_LINE).
MAX_LINE = 64 * 1024
MAX_CSV_LINE = 1024 * 1024
MAX_XML_LINE = 4 * 1024 * 1024


class AdapterError(InputError):
    """Input that cannot be imported at all (no two nodes, groups to choose from, a bad
    option, `--strict` with unreadable lines): every problem located. Exit code 2."""


@dataclass(frozen=True, slots=True, order=True)
class Origin:
    """Where a reading, a note or a problem came from: the file as given and a 1-based line."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class Line:
    """One input line, decoded: its number and text without the line end."""

    number: int
    text: str


@dataclass(frozen=True, slots=True)
class Seen:
    """What was seen of one node, in the words the file printed; None is "not observed"."""

    state: str | None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Reading:
    """What one poll, row, response or alarm saw at one time: each node's words as printed
    (node names as the file wrote them), and the HA setting if it said; or an administrator's
    action it shows."""

    at: datetime  # aware: with its zone
    nodes: tuple[tuple[str, Seen], ...]
    origin: Origin
    ha_enabled: bool | None = None
    # An administrator's action the file shows was accepted (`utils ha failover N`): the event
    # and its node, recorded instead of an observation. Trace format v1 has no hidden admin
    # actions, so one the file shows must be in the trace for the oracle to follow the group.
    event: tuple[str, str | None] | None = None

    def names(self) -> list[str]:
        """Every node name the reading uses, as written."""
        names = [name for name, _ in self.nodes]
        if self.event is not None and self.event[1] is not None:
            names.append(self.event[1])
        return names


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A line (or the first line of a block) the adapter could not read, and why."""

    origin: Origin
    why: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.why}"

    def problem(self) -> Problem:
        return Problem(self.origin.file, self.origin.line, "", self.why)


@dataclass(frozen=True, slots=True)
class Note:
    """A line read and understood but not used as an observation (an alarm the spec does not
    observe, a log line that implies no page state), and what it said."""

    origin: Origin
    what: str
    at: datetime | None = None

    def __str__(self) -> str:
        return f"{self.origin}: read, not used: {self.what}"


@dataclass(frozen=True, slots=True)
class Parsed:
    """One file's readings, unreadable lines and notes, in file order, and what the adapter
    decided for the whole file (`said`: the time zone used, where times came from)."""

    readings: tuple[Reading, ...] = ()
    unreadable: tuple[Unreadable, ...] = ()
    notes: tuple[Note, ...] = ()
    said: tuple[str, ...] = ()
    group: str | None = None  # the redundancy group the readings are of, when the file names it


@dataclass(frozen=True, slots=True)
class Options:
    """The command line's choices that adapters read."""

    tz: tzinfo = UTC  # for times that carry no zone
    tz_given: bool = False  # --tz was given: it also settles zone names that are ambiguous
    group: str | None = None  # ha-status: the subcluster to read
    year: int | None = None  # syslog: the year of prefixes that have none
    node: str | None = None  # srm-log: the node whose log it is
    patterns: Path | None = None  # srm-log: the pattern table (None: the packaged one)
    nodes: tuple[str, ...] = ()  # --nodes, as given (import_files sets it)


@dataclass
class Collector:
    """A file's parse in progress: adapters add to it, `parsed()` freezes it."""

    file: str
    readings: list[Reading] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    said: list[str] = field(default_factory=list)
    group: str | None = None

    def bad(self, line: int, why: str) -> None:
        self.unreadable.append(Unreadable(Origin(self.file, line), why))

    def note(self, line: int, what: str, at: datetime | None = None) -> None:
        self.notes.append(Note(Origin(self.file, line), what, at))

    def say(self, what: str) -> None:
        if what not in self.said:
            self.said.append(what)

    def parsed(self) -> Parsed:
        return Parsed(
            tuple(self.readings),
            tuple(self.unreadable),
            tuple(self.notes),
            tuple(self.said),
            self.group,
        )


def text_lines(file: str, data: bytes, into: Collector, max_line: int = MAX_LINE) -> Iterator[Line]:
    """The lines of `data` as text, 1-based. A line that is not UTF-8, or is too long to be
    output of these commands, is reported to `into` and skipped; a UTF-8 byte order mark at
    the start is dropped."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for number, line in enumerate(data.split(b"\n"), start=1):
        raw = line[:-1] if line.endswith(b"\r") else line
        if len(raw) > max_line:
            into.bad(number, f"the line is {len(raw)} bytes long, more than {max_line}")
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            into.bad(number, f"the line is not UTF-8 text (byte 0x{raw[exc.start]:02x})")
            continue
        if "\x00" in text:
            into.bad(number, "the line has a NUL character: not text output")
            continue
        yield Line(number, text)


class Words:
    """The spec's state and reason words one vocabulary reads, to check what an adapter read
    before it becomes a record: a word the spec does not know makes the line unreadable here,
    rather than the whole trace an input error in `hasm check`."""

    def __init__(self, spec: Spec, vocabulary: str) -> None:
        self.vocabulary = vocabulary
        self._states = {normalise_label(w) for w in spec.state_terms(vocabulary)}
        self._reasons = {
            normalise_label(word)
            for reason in spec.reasons.values()
            for word in (reason.label, *reason.aliases)
        }
        self.codes = spec.vocabularies[vocabulary].codes if vocabulary in spec.vocabularies else ()

    def knows_state(self, word: str) -> bool:
        return normalise_label(word) in self._states

    def knows_reason(self, word: str) -> bool:
        return normalise_label(word) in self._reasons


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def listed(items: Sequence[str]) -> str:
    return ", ".join(repr(x) for x in items)
