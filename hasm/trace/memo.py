"""The reader's memo of repeated lines: a record line that repeats an earlier one but for its
`t` is made from what was checked then, without being decoded again."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol

from hasm.errors import TraceError
from hasm.trace.records import TraceObservation, TraceRecord, new_event, new_observation

__all__ = ["PLAIN", "Checks", "LineMemo"]

PLAIN = '{"t": '  # how encode_line (and json.dumps) start a record
_PLAIN_NUMBER = re.compile(r"(?:0|[1-9][0-9]{0,15})(?:\.[0-9]{1,16})?")
# An imported record's last key, where it came from: the rest of the line is looked up without
# it. A string with no quote, backslash or control character in it is its own JSON text.
_SOURCE = re.compile(r', "source": "[^"\\\x00-\x1f]+"}\s*\Z')

# The memo keeps up to _MEMO_CHARS characters of lines (it starts afresh when full: a few MB
# with what it decoded), lines up to _MEMO_LONGEST characters, and gives up on a trace whose
# lines rarely repeat (fewer than 1 in 20 after _MEMO_TRIAL misses).
_MEMO_CHARS = 2_000_000
_MEMO_LONGEST = 4096
_MEMO_TRIAL = 2000


class Checks(Protocol):
    """What the memo needs of the checker of records (hasm.trace.checker.RecordChecker)."""

    last_t: float  # the previous record's time
    last_line: int  # and its line
    sourced: bool  # records may end with the key `source`, which the memo leaves out

    def record(self, obj: Any, line: int) -> TraceRecord:
        """The record of a decoded line, checked (TraceError if it is not valid)."""


class LineMemo:
    """The records of one trace's repeated lines. `table` is None once the memo gives up."""

    __slots__ = ("chars", "checker", "decode", "misses", "table")

    def __init__(self, checker: Checks, decode: Callable[[str], Any]) -> None:
        self.checker, self.decode = checker, decode  # decode: the reader's strict JSON decode
        # A record's text after `{"t": <number>, ` -> how to make its record (see `record`).
        # (True, nodes, sessions, ha_enabled, offered) or (False, event, node, service, user)
        self.table: dict[str, tuple[Any, Any, Any, Any, Any]] | None = {}
        self.misses = self.chars = 0

    def record(self, text: str, line: int) -> TraceRecord | None:
        """The record of a line laid out as `{"t": <number>, <rest>`, the way encode_line and
        json.dumps write them, or None to read the line the ordinary way.

        Traces repeat themselves: the same observation, polled again, differs only in `t`. The
        rest of such a line is checked once and its content kept, by its exact text; a later
        line with the same rest gets the same content without being decoded again. This is
        exact: for a JSON number N, `{"t": N, ` + rest decodes to a non-empty object without
        another `t` exactly when `{` + rest does (JSON's grammar splits the object there), and
        what a record holds besides `t` depends only on the header. Anything unusual - another
        layout, an exponent, a problem - goes the ordinary way, so one path reports errors.
        """
        table = self.table
        comma = text.find(", ", 6)
        if (
            table is None
            or comma < 0
            or len(text) - comma > _MEMO_LONGEST  # not worth copying and hashing
            or _PLAIN_NUMBER.fullmatch(text, 6, comma) is None
        ):
            return None
        rest = text[comma + 2 :]
        if self.checker.sourced:
            # Where the record came from is all that differs between an imported poll and the
            # next: the rest is the line without it, which checks the same (the checker drops
            # `source` once it has checked it).
            cut = rest.rfind(', "source": "')
            if cut >= 0 and _SOURCE.match(rest, cut):
                rest = rest[:cut] + "}"
        number = text[6:comma]
        t = float(number)
        checker = self.checker
        hit = table.get(rest)
        if hit is not None:
            if not checker.last_t <= t:
                return None  # the ordinary way reports it
            checker.last_t, checker.last_line = t, line
            observation, a, b, c, d = hit
            if observation:
                return new_observation(line, t, a, b, c, d)
            return new_event(line, t, a, b, c, d)
        # A miss: decode the rest alone, once, and remember it if it holds up.
        misses = self.misses = self.misses + 1
        if misses > _MEMO_TRIAL and misses > 19 * (line - misses):  # hits are fewer than that
            self.table = None  # this trace rarely repeats itself: stop paying for the memo
            return None
        try:
            obj = self.decode("{" + rest)
        except (ValueError, RecursionError):
            return None
        if obj.__class__ is not dict or "t" in obj:
            return None
        obj["t"] = float(number) if "." in number else int(number)
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
        if isinstance(record, TraceObservation):
            r = record
            table[rest] = (True, r.nodes, r.sessions, r.ha_enabled, r.offered)
        else:
            table[rest] = (False, record.event, record.node, record.service, record.user)
        return record
