"""Reading trace format v1 (shared/docs/trace-format.md), streaming and located.

`read_trace(source, spec)` (or `TraceReader(spec).read(source)` to read many traces against one
spec) checks the header at once and returns it with a lazy iterator of records, `TraceEvent` and
`TraceObservation`, with states and reasons as the spec's ids. Anything that is not trace format
v1 raises `TraceError`, an InputError located at file, line and field.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, TextIO, cast

from hasm.errors import ParameterError, Problem, TraceError
from hasm.spec.located import dotted
from hasm.spec.model import PAGE_VOCABULARY, ParamValue, Spec
from hasm.spec.params import resolve_params
from hasm.trace.checker import RecordChecker, SpecIndex
from hasm.trace.memo import PLAIN, LineMemo, Repeat
from hasm.trace.records import OBSERVED, VERSION, HiddenEvents, TraceHeader, TraceRecord
from hasm.trace.wording import (
    as_float,
    choose,
    kind_of,
    one_of_nodes,
    path_key,
    quoted,
    show,
)

__all__ = ["TraceReader", "read_trace"]

# The reader is one pass over the lines: at most one json decode per line, then plain dict
# lookups, and a line that repeats an earlier one but for its `t` is not decoded again (see
# hasm.trace.memo). What is kept between lines is the previous record's time and a few bounded
# caches, so a trace of any length streams in constant memory.


_HEADER_KEYS = (
    "hasm_trace",
    "nodes",
    "users",
    "params",
    "monitored",
    "initial",
    "group",
    "hidden",
    "start",
    "sources",
    "vocabulary",
)
_MOST_FAULTS = 4  # faults at once a trace may hide: every fault the group has, and more
_JSON_SPACE = " \t\r\n"  # JSON's white space; a line of only these is blank
_INF = math.inf
_HEADER_EXAMPLE = '{"hasm_trace": 1, "nodes": ["<first node>", "<second node>"]}'


class _NotANumber(ValueError):
    """NaN, Infinity or -Infinity: Python's json reads them, JSON does not have them."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _reject_constant(name: str) -> object:
    raise _NotANumber(name)


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def read_trace(
    source: str | Path | TextIO | BinaryIO, spec: Spec, *, name: str | None = None
) -> tuple[TraceHeader, Iterator[TraceRecord]]:
    """Read a trace in format v1 against `spec`: `TraceReader(spec).read(source, name=name)`."""
    return TraceReader(spec).read(source, name=name)


class TraceReader:
    """Reads traces in format v1 against one spec.

    Build one per spec (it indexes the spec's labels once) and call `read` per trace. `read`
    checks the header at once and returns it with a lazy iterator of the records; a problem on
    a line raises TraceError when the iteration reaches it, and nothing past it is read.
    """

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self._memo = True  # reuse the checked content of repeated lines (see hasm.trace.memo)
        self.index = SpecIndex(spec)

    def read(
        self, source: str | Path | TextIO | BinaryIO, *, name: str | None = None
    ) -> tuple[TraceHeader, Iterator[TraceRecord]]:
        """The header of the trace at `source` (a path, or an open text or binary stream) and
        an iterator of its records. `name` is the file name that problems report (default: the
        path, or the stream's name). A path is opened here and closed when the iteration ends,
        fails, or the iterator is closed or dropped; a stream stays the caller's."""
        stream = self._stream(source, name, False)
        header = next(stream)  # runs to the header: its problems raise here
        assert isinstance(header, TraceHeader)
        # The generator yields the header once, then only records.
        return header, cast(Iterator[TraceRecord], stream)

    def read_repeats(
        self, source: str | Path | TextIO | BinaryIO, *, name: str | None = None
    ) -> tuple[TraceHeader, Iterator[TraceRecord | Repeat]]:
        """As `read`, but a record made by the memo of repeated lines comes as a `Repeat`,
        (line, t, t in ns or None, content), not made into a record: for a consumer that
        keys on the content (the oracle's memo of steps) and makes the record only when it
        needs one (`content.record(line, t)`). Every other record comes as `read` gives it."""
        stream = self._stream(source, name, True)
        header = next(stream)
        assert isinstance(header, TraceHeader)
        return header, cast(Iterator[TraceRecord | Repeat], stream)

    # -- lines
    def _stream(
        self, source: str | Path | TextIO | BinaryIO, name: str | None, repeats: bool
    ) -> Iterator[TraceHeader | TraceRecord | Repeat]:
        if isinstance(source, str | Path):
            file = name or str(source)
            try:
                handle = open(source, "rb")  # noqa: SIM115 - closed by _lines, when it ends
            except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
                why = getattr(exc, "strerror", None) or exc
                raise TraceError(Problem(file, None, "", f"cannot read the file: {why}")) from exc
            return self._lines(file, handle, repeats, owned=True)
        return self._lines(name or _stream_name(source), source, repeats)

    def _lines(
        self, file: str, source: TextIO | BinaryIO, repeats: bool, *, owned: bool = False
    ) -> Iterator[TraceHeader | TraceRecord | Repeat]:
        """The header, then the records (or Repeats); an `owned` source is closed when they
        end, fail, or the iterator is closed or dropped. (One generator, not one in another:
        every line passes through it.)"""
        mode = getattr(source, "mode", "")
        binary = isinstance(source, io.RawIOBase | io.BufferedIOBase) or (
            isinstance(mode, str) and "b" in mode
        )
        # A line of bytes is decoded on its own (bytes.decode is strict UTF-8: a bad byte fails
        # on its own line, never a chunk ahead), unless the memo makes its record undecoded.
        lines: Iterator[Any] = iter(cast(Any, source))
        plain: Any = PLAIN.encode() if binary else PLAIN
        decode = _DECODER.decode
        lineno = 0
        checker: RecordChecker | None = None
        memo: LineMemo | None = None
        try:
            for raw in lines:
                lineno += 1
                if memo is not None and memo.table is not None and raw.startswith(plain):
                    found = memo.repeat(raw, lineno)
                    if found is not None:
                        yield found if repeats else found[3].record(lineno, found[1])
                        continue
                if binary:
                    try:
                        text: str = raw.decode()
                    except UnicodeDecodeError as exc:
                        raise _not_utf8(file, lineno, exc, True) from exc
                else:
                    text = raw
                try:
                    obj = decode(text)
                except (ValueError, RecursionError):
                    obj = _parse_slowly(file, lineno, text)
                    if obj is _BLANK:
                        continue
                if checker is not None:
                    yield checker.record(obj, lineno)
                    continue
                header = self._header(obj, file, lineno)
                checker = RecordChecker(self.index, header)
                memo = LineMemo(checker, decode) if self._memo else None
                yield header
        except UnicodeDecodeError as exc:  # a text stream's, reading the next line
            raise _not_utf8(file, lineno + 1, exc, False) from exc
        except OSError as exc:  # reading the next line
            raise TraceError(
                Problem(file, lineno + 1, "", f"cannot read the file: {exc.strerror or exc}")
            ) from exc
        finally:
            if owned:
                source.close()
        if checker is None:
            raise TraceError(
                Problem(
                    file,
                    1,
                    "",
                    "the trace is empty: line 1 must be its header",
                    f"start the trace with {_HEADER_EXAMPLE}",
                )
            )

    # -- the header
    def _header(self, obj: object, file: str, line: int) -> TraceHeader:
        if not isinstance(obj, dict):
            raise TraceError(
                Problem(
                    file,
                    line,
                    "",
                    f"the header is a JSON object, not {kind_of(obj)}",
                    f"start the trace with {_HEADER_EXAMPLE}",
                )
            )
        if "hasm_trace" not in obj:
            raise TraceError(
                Problem(
                    file,
                    line,
                    "hasm_trace",
                    "the first line is not a trace header: it has no 'hasm_trace'",
                    f"start the trace with {_HEADER_EXAMPLE}",
                )
            )
        version = obj["hasm_trace"]
        if version.__class__ not in (int, float) or version != VERSION:  # 1.0 is 1 in JSON
            # Another version may mean other things by the same keys: check nothing else.
            raise TraceError(
                Problem(
                    file,
                    line,
                    "hasm_trace",
                    f"trace format version {show(version)} is not supported: "
                    f"this hasm reads version {VERSION}",
                    f'write "hasm_trace": {VERSION} and the format of shared/docs/trace-format.md',
                )
            )
        return _HeaderReader(self, file, line).read(obj)


class _HeaderReader:
    """A header line's keys, every problem in it collected before raising."""

    def __init__(self, reader: TraceReader, file: str, line: int) -> None:
        self.spec, self.services = reader.spec, reader.index.services
        self.file, self.line = file, line
        self.problems: list[Problem] = []

    def bad(self, path: str, message: str, fix: str = "") -> None:
        self.problems.append(Problem(self.file, self.line, path, message, fix))

    def read(self, obj: dict[str, Any]) -> TraceHeader:
        for key in obj:
            if key not in _HEADER_KEYS:
                self.bad(
                    path_key(key), f"unknown header key {quoted(key)}", choose(key, _HEADER_KEYS)
                )
        nodes = self.nodes(obj)
        users = self.users(obj.get("users", {}), nodes)
        params, overrides = self.params(obj.get("params", {}))
        monitored = self.monitored(obj["monitored"]) if "monitored" in obj else None
        initial = obj.get("initial", "ha_disabled")
        starts = (*self.spec.initial, OBSERVED)
        if not isinstance(initial, str) or initial not in starts:
            self.bad("initial", f"unknown starting point {show(initial)}", choose(initial, starts))
        group = obj.get("group")
        if "group" in obj and not isinstance(group, str):
            self.bad("group", f"group is the redundancy group's name, a string, not {show(group)}")
        hidden = self.hidden(obj["hidden"]) if "hidden" in obj else None
        start = self.start(obj["start"]) if "start" in obj else None
        sources = self.sources(obj["sources"]) if "sources" in obj else None
        vocabulary = self.vocabulary(obj.get("vocabulary", PAGE_VOCABULARY))
        if self.problems or nodes is None:
            raise TraceError(self.problems)
        return TraceHeader(
            self.file,
            nodes,
            users,
            params,
            overrides,
            monitored,
            initial,
            group,
            hidden,
            start,
            sources,
            vocabulary,
        )

    def hidden(self, raw: object) -> HiddenEvents | None:
        example = 'write "hidden": {"events": ["service_stop", "service_start"], "faults": 1}'
        if not isinstance(raw, dict):
            self.bad(
                "hidden", f"hidden is an object of events and faults, not {show(raw)}", example
            )
            return None
        for key in raw:
            if key not in ("events", "faults"):
                self.bad(
                    dotted(("hidden", path_key(key))),
                    f"unknown key {quoted(key)}",
                    choose(key, ("events", "faults")),
                )
        events = raw.get("events")
        # A user's event names a user, whom the oracle does not follow: not hidden.
        hideable = [e.id for e in self.spec.events.values() if "user" not in e.fields]
        names: set[str] = set()
        if not isinstance(events, list) or not events:
            self.bad(
                "hidden.events",
                f"events is a non-empty list of event names, not {show(events)}",
                example,
            )
        else:
            for i, name in enumerate(events):
                if not isinstance(name, str) or name not in hideable:
                    known = isinstance(name, str) and name in self.spec.events
                    self.bad(
                        f"hidden.events[{i}]",
                        f"{show(name)} names a user: it cannot be hidden"
                        if known
                        else f"unknown event {show(name)}",
                        choose(name, hideable),
                    )
                elif name in names:
                    self.bad(f"hidden.events[{i}]", f"{show(name)} is listed twice", "list it once")
                else:
                    names.add(name)
        faults = raw.get("faults", 1)
        if faults.__class__ is not int or not 0 <= faults <= _MOST_FAULTS:
            self.bad(
                "hidden.faults",
                f"faults is how many faults may hold at once, an integer from 0 to {_MOST_FAULTS}, not {show(faults)}",
                'write "faults": 1',
            )
            return None
        return HiddenEvents(frozenset(names), faults)

    def start(self, raw: object) -> datetime | None:
        fix = 'write "start": "2021-05-13T02:48:48Z" (ISO 8601, with Z or an offset)'
        if not isinstance(raw, str):
            self.bad(
                "start", f"start is the wall-clock time of t=0, a string, not {show(raw)}", fix
            )
            return None
        try:
            when = datetime.fromisoformat(raw)
        except ValueError:
            self.bad("start", f"{show(raw)} is not an ISO 8601 time", fix)
            return None
        if when.tzinfo is None:
            self.bad("start", f"{show(raw)} has no time zone", fix)
            return None
        return when

    def sources(self, raw: object) -> tuple[str, ...] | None:
        if not isinstance(raw, list) or not all(isinstance(f, str) and f for f in raw):
            self.bad(
                "sources",
                f"sources lists the files the records were imported from, not {show(raw)}",
                'write "sources": ["status.txt"]',
            )
            return None
        return tuple(raw)

    def vocabulary(self, raw: object) -> str:
        """How the records' state words are read: the page's, or one of the spec's vocabularies."""
        known = (PAGE_VOCABULARY, *self.spec.vocabularies)
        if not isinstance(raw, str) or raw not in known:
            self.bad("vocabulary", f"unknown vocabulary {show(raw)}", choose(raw, known))
            return PAGE_VOCABULARY
        return raw

    def nodes(self, obj: dict[str, Any]) -> tuple[str, str] | None:
        raw = obj.get("nodes")
        if "nodes" not in obj:
            self.bad(
                "nodes", "missing key 'nodes'", 'add "nodes": ["<first node>", "<second node>"]'
            )
            return None
        if not isinstance(raw, list) or len(raw) != 2:
            self.bad(
                "nodes",
                f"nodes are the group's two nodes, a list of two names, not {show(raw)}",
                'write "nodes": ["<first node>", "<second node>"]',
            )
            return None
        good = True
        for i, node in enumerate(raw):
            if not isinstance(node, str) or not node:
                self.bad(f"nodes[{i}]", f"a node is a non-empty name, not {show(node)}")
                good = False
        if good and raw[0] == raw[1]:
            self.bad("nodes[1]", f"both nodes are named {show(raw[0])}", "name two distinct nodes")
            good = False
        return (raw[0], raw[1]) if good else None

    def users(self, raw: object, nodes: tuple[str, str] | None) -> dict[str, str]:
        if not isinstance(raw, dict):
            self.bad(
                "users",
                f"users maps each user id to its home node, not {show(raw)}",
                'write "users": {"alice": "<first node>"}',
            )
            return {}
        users: dict[str, str] = {}
        for user, home in raw.items():
            path = dotted(("users", path_key(user)))
            if not user:
                self.bad(path, "a user id is a non-empty string", "name the user")
            elif not isinstance(home, str) or (nodes is not None and home not in nodes):
                fix = one_of_nodes(nodes) if nodes is not None else "use one of the nodes"
                self.bad(path, f"home node {show(home)} is not one of the nodes", fix)
            else:
                users[user] = home
        return users

    def params(self, raw: object) -> tuple[dict[str, ParamValue], dict[str, ParamValue]]:
        if not isinstance(raw, dict):
            self.bad(
                "params",
                f"params maps parameter names to values, not {show(raw)}",
                'write "params": {"keep_alive_timeout_s": 90}',
            )
            return dict(self.spec.defaults), {}
        # resolve_params shows a wrong value with repr(): show it as JSON, and short.
        shown = {k: v if self._fits(k, v) else _Shown(v) for k, v in raw.items()}
        try:
            params = resolve_params(
                self.spec, shown, file=self.file, lines=dict.fromkeys(raw, self.line)
            )
        except ParameterError as exc:  # a timer window's problem has no line of its own
            self.problems.extend(replace(p, line=p.line or self.line) for p in exc.problems)
            return dict(self.spec.defaults), {}
        return params, {name: params[name] for name in raw}

    def _fits(self, name: str, value: object) -> bool:
        """A value of the parameter's type (or of a parameter the spec does not have)."""
        param = self.spec.parameters.get(name)
        if isinstance(value, bool):
            return param is None or param.type == "boolean"
        if isinstance(value, float):
            return math.isfinite(value)  # 1e400 reads as inf
        return isinstance(value, int) and as_float(value) < _INF

    def monitored(self, raw: object) -> frozenset[str] | None:
        if not isinstance(raw, list):
            self.bad(
                "monitored",
                f"monitored is a list of service ids, not {show(raw)}",
                'write "monitored": ["database", "presence_engine", "xcp_router"]',
            )
            return None
        seen: set[str] = set()
        for i, service in enumerate(raw):
            if not isinstance(service, str) or service not in self.services:
                self.bad(
                    f"monitored[{i}]",
                    f"unknown service {show(service)}",
                    choose(service, self.spec.services),
                )
            elif service in seen:
                self.bad(f"monitored[{i}]", f"{show(service)} is listed twice", "list it once")
            else:
                seen.add(service)
        return frozenset(seen)


class _Shown:
    """A value that is neither a number nor a boolean, with `show` as its repr."""

    def __init__(self, value: object) -> None:
        self.value = value

    def __repr__(self) -> str:
        return show(self.value)


_BLANK = object()


def _parse_slowly(file: str, line: int, text: str) -> object:
    """A line the fast decode refused: blank (_BLANK), a header after a byte order mark, or a
    located problem."""
    if line == 1 and text.startswith("\ufeff"):  # a UTF-8 byte order mark (RFC 8259: may ignore)
        text = text[1:]
    if not text.strip(_JSON_SPACE):
        return _BLANK
    try:
        return _DECODER.decode(text)
    except (ValueError, RecursionError) as exc:
        raise _json_problem(file, line, text, exc) from exc


# -- helpers for messages ----------------------------------------------------------------------
def _not_utf8(file: str, line: int, exc: UnicodeDecodeError, binary: bool) -> TraceError:
    where = (
        f" (byte 0x{exc.object[exc.start]:02x} at byte {exc.start + 1} of the line)"
        if binary and isinstance(exc.object, bytes) and exc.start < len(exc.object)
        else ""
    )
    return TraceError(
        Problem(file, line, "", f"the line is not UTF-8{where}", "write the trace in UTF-8")
    )


def _stream_name(source: object) -> str:
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else "(trace)"


def _json_problem(file: str, line: int, text: str, exc: BaseException) -> TraceError:
    fix = 'one JSON object per line, like {"t": 10, "event": "ha_enable"}'
    path = ""
    if isinstance(exc, _NotANumber):
        message = f"{exc.name} is not a number in JSON"
        fix = "write a finite number"
        path = _constant_path(text)
    elif isinstance(exc, json.JSONDecodeError):
        if exc.msg == "Extra data":
            message = f"text after the JSON value, at column {exc.colno}"
            fix = "one JSON object per line, nothing after it"
        else:
            message = f"not valid JSON: {exc.msg} at column {exc.colno}"
    elif isinstance(exc, RecursionError):
        message = "not usable JSON: the value is nested too deeply"
    else:  # int() refuses numbers of thousands of digits
        message = f"not usable JSON: {str(exc).split(':')[0]}"
    return TraceError(Problem(file, line, path, message, fix))


class _Constant:
    """Where NaN, Infinity or -Infinity stood, when a line is read again to say where."""

    def __init__(self, name: str) -> None:
        self.name = name


_MARKING_DECODER = json.JSONDecoder(parse_constant=_Constant)


def _constant_path(text: str) -> str:
    """The field path of the first NaN, Infinity or -Infinity in `text` ("" if none is found)."""
    try:
        obj = _MARKING_DECODER.decode(text)
    except (ValueError, RecursionError):
        return ""
    todo: list[tuple[tuple[str | int, ...], object]] = [((), obj)]
    while todo:  # depth first, in the line's order; no recursion, whatever the nesting
        path, value = todo.pop()
        if isinstance(value, _Constant):
            return dotted(tuple(path_key(p) if isinstance(p, str) else p for p in path))
        if isinstance(value, dict):
            todo.extend(((*path, k), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            todo.extend(((*path, i), v) for i, v in reversed(list(enumerate(value))))
    return ""
