"""The reader's memo of repeated lines: a record line that repeats an earlier one but for its
`t` is made from what was checked then, without being decoded again."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol

from hasm.errors import TraceError
from hasm.trace.records import TraceObservation, TraceRecord, new_event, new_observation

__all__ = ["PLAIN", "Checks", "Content", "LineMemo", "Repeat", "written_ns"]

PLAIN = '{"t": '  # how encode_line (and json.dumps) start a record
_PLAIN_NUMBER = re.compile(rb"(?:0|[1-9][0-9]{0,15})(?:\.[0-9]{1,16})?")
# An imported record's last key, where it came from: the rest of the line is looked up without
# it. A string of printable ASCII with no quote or backslash is its own JSON text (and UTF-8,
# though the memo does not decode it), and JSON's white space is these four.
_SOURCE = re.compile(rb', "source": "[^"\\\x00-\x1f\x80-\xff]+"}[ \t\r\n]*\Z')

# The memo keeps up to _MEMO_CHARS characters of lines (it starts afresh when full: a few MB
# with what it decoded), lines up to _MEMO_LONGEST characters, and gives up on a trace whose
# lines rarely repeat (fewer than 1 in 20 after _MEMO_TRIAL misses).
_MEMO_CHARS = 2_000_000
_MEMO_LONGEST = 4096
_MEMO_TRIAL = 2000

# 10^(9 - k): a time written with k decimals (k <= 9), its digits read as one integer, in ns.
_SCALE: tuple[int, ...] = tuple(10 ** (9 - k) for k in range(10))
_ZERO = ord("0")


def written_ns(number: bytes) -> int | None:
    """The time a record's `t` is written as (a plain JSON number, as bytes), in whole
    nanoseconds - when that is exact and is what a float of it rounds to: at most 9 decimals
    and 15 digits in all. None for anything else, to be read the ordinary way.

    With at most 15 significant digits a decimal is the shortest text of its float or has the
    same value as it (doubles tell 15-digit decimals apart), so the oracle's `ticks(float(text))`
    gives exactly this (tests/unit/test_trace_records.py compares them)."""
    digits = number.replace(b".", b"", 1)
    size = len(number)
    if size > 16 or not digits.isdigit():  # bytes.isdigit: ASCII digits only
        return None
    if len(digits) == size:  # a whole number: "0" or no leading zero
        if size > 15 or (size > 1 and number[0] == _ZERO):
            return None
        return int(digits) * 1_000_000_000
    whole = number.find(b".")
    decimals = size - whole - 1
    if whole < 1 or not 1 <= decimals <= 9 or (whole > 1 and number[0] == _ZERO):
        return None
    return int(digits) * _SCALE[decimals]


class Content:
    """What a repeated line holds besides its `t`, checked once: an observation's parts or an
    event's fields. One object per distinct line, so a consumer may key on its identity."""

    __slots__ = ("a", "b", "c", "d", "event", "observation")

    def __init__(self, record: TraceRecord) -> None:
        self.observation = isinstance(record, TraceObservation)
        if isinstance(record, TraceObservation):
            self.a: Any = record.nodes
            self.b: Any = record.sessions
            self.c: Any = record.ha_enabled
            self.d: Any = record.offered
            # (name, node, service, user) of an event; None for an observation
            self.event: tuple[str, str | None, str | None, str | None] | None = None
        else:
            self.a, self.b, self.c, self.d = record.event, record.node, record.service, record.user
            self.event = (record.event, record.node, record.service, record.user)

    def record(self, line: int, t: float) -> TraceRecord:
        """The record of a line with this content at `line`, time `t`."""
        if self.observation:
            return new_observation(line, t, self.a, self.b, self.c, self.d)
        return new_event(line, t, self.a, self.b, self.c, self.d)


# A record the memo made: (line, t, its time in ns when `written_ns` knows it, its content).
Repeat = tuple[int, float, int | None, Content]


class Checks(Protocol):
    """What the memo needs of the checker of records (hasm.trace.checker.RecordChecker)."""

    last_t: float  # the previous record's time
    last_line: int  # and its line
    sourced: bool  # records may end with the key `source`, which the memo leaves out

    def record(self, obj: Any, line: int) -> TraceRecord:
        """The record of a decoded line, checked (TraceError if it is not valid)."""


class LineMemo:
    """The records of one trace's repeated lines. Lines are given as text, or as bytes read
    from a binary file (a repeated line is then not even decoded); the memo keeps them as
    bytes. `table` is None once it gives up."""

    __slots__ = ("chars", "checker", "decode", "misses", "number", "table", "time")

    def __init__(self, checker: Checks, decode: Callable[[str], Any]) -> None:
        self.checker, self.decode = checker, decode  # decode: the reader's strict JSON decode
        # A record's text after `{"t": <number>, ` -> its checked content (see `repeat`).
        self.table: dict[bytes, Content] | None = {}
        self.misses = self.chars = 0
        # The last plain number read and its (t, ns): an event and what it led to, observed,
        # often share a time.
        self.number = b""
        self.time: tuple[float, int | None] = (0.0, None)

    def record(self, text: str | bytes, line: int) -> TraceRecord | None:
        """The record of a line laid out as `{"t": <number>, <rest>` (see `repeat`), or None to
        read the line the ordinary way."""
        found = self.repeat(text, line)
        return None if found is None else found[3].record(line, found[1])

    def repeat(self, text: str | bytes, line: int) -> Repeat | None:
        """The record of a line laid out as `{"t": <number>, <rest>`, the way encode_line and
        json.dumps write them, as (line, t, t in ns or None, content); or None to read the line
        the ordinary way.

        Traces repeat themselves: the same observation, polled again, differs only in `t`. The
        rest of such a line is checked once and its content kept, by its exact text; a later
        line with the same rest gets the same content without being decoded again. This is
        exact: for a JSON number N, `{"t": N, ` + rest decodes to a non-empty object without
        another `t` exactly when `{` + rest does (JSON's grammar splits the object there), and
        what a record holds besides `t` depends only on the header. A line of bytes whose rest
        is one already decoded is UTF-8 (its start is ASCII digits). Anything unusual - another
        layout, an exponent, a problem - goes the ordinary way, so one path reports errors.
        """
        if isinstance(text, str):
            try:
                text = text.encode()
            except UnicodeEncodeError:  # a lone surrogate: the ordinary way
                return None
        table = self.table
        comma = text.find(b", ", 6)
        if table is None or comma < 0 or len(text) - comma > _MEMO_LONGEST:
            return None  # not worth copying and hashing
        rest = text[comma + 2 :]
        checker = self.checker
        if checker.sourced:
            # Where the record came from is all that differs between an imported poll and the
            # next: the rest is the line without it, which checks the same (the checker drops
            # `source` once it has checked it).
            cut = rest.rfind(b', "source": "')
            if cut >= 0 and _SOURCE.match(rest, cut):
                rest = rest[:cut] + b"}"
        number = text[6:comma]
        if number == self.number:
            t, ns = self.time
        else:
            ns = written_ns(number)
            if ns is None and _PLAIN_NUMBER.fullmatch(number) is None:
                return None
            t = float(number)
            self.number, self.time = number, (t, ns)
        hit = table.get(rest)
        if hit is not None:
            if not checker.last_t <= t:
                return None  # the ordinary way reports it
            checker.last_t, checker.last_line = t, line
            return (line, t, ns, hit)
        # A miss: decode the rest alone, once, and remember it if it holds up.
        misses = self.misses = self.misses + 1
        if misses > _MEMO_TRIAL and misses > 19 * (line - misses):  # hits are fewer than that
            self.table = None  # this trace rarely repeats itself: stop paying for the memo
            return None
        try:
            obj = self.decode("{" + rest.decode())
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            return None
        if obj.__class__ is not dict or "t" in obj:
            return None
        obj["t"] = int(number) if number.isdigit() else t
        before = checker.last_t, checker.last_line
        try:
            record = checker.record(obj, line)
        except TraceError:
            checker.last_t, checker.last_line = before
            return None
        self.chars += len(rest)
        if self.chars > _MEMO_CHARS:
            table.clear()
            self.chars = len(rest)
        content = table[rest] = Content(record)
        return (line, t, ns, content)
