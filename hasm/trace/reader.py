"""Reading trace format v1 (shared/docs/trace-format.md), streaming and located.

`read_trace(source, spec)` (or `TraceReader(spec).read(source)` to read many traces against one
spec) checks the header at once and returns it with a lazy iterator of records, `TraceEvent` and
`TraceObservation`, with states and reasons as the spec's ids. Anything that is not trace format
v1 raises `TraceError`, an InputError located at file, line and field.
"""

from __future__ import annotations

import difflib
import io
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, BinaryIO, NoReturn, TextIO, cast

from hasm.errors import ParameterError, Problem, TraceError
from hasm.spec.labels import normalise_label
from hasm.spec.located import dotted
from hasm.spec.model import ParamValue, Spec
from hasm.spec.params import resolve_params
from hasm.trace.memo import PLAIN, LineMemo
from hasm.trace.records import (
    VERSION,
    NodeObservation,
    OfferedObservation,
    TraceEvent,
    TraceHeader,
    TraceObservation,
    TraceRecord,
    new_event,
    new_observation,
)

__all__ = ["TraceReader", "read_trace"]

# The reader is one pass over the lines: at most one json decode per line, then plain dict
# lookups, and a line that repeats an earlier one but for its `t` is not decoded again (see
# hasm.trace.memo). What is kept between lines is the previous record's time and a few bounded
# caches, so a trace of any length streams in constant memory.


_HEADER_KEYS = ("hasm_trace", "nodes", "users", "params", "monitored", "initial", "group")
_FIELDS = ("node", "service", "user")
_OBSERVE_KEYS = ("nodes", "sessions", "ha_enabled", "offered")
_NODE_KEYS = ("state", "reason", "assigned_users", "active_users")
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
        self._states = _Labels("state", [(s.id, s.label, s.aliases) for s in spec.states.values()])
        self._reasons = _Labels(
            "reason", [(r.id, r.label, r.aliases) for r in spec.reasons.values()]
        )
        # event id -> (takes node, takes service, takes user, its number of keys)
        self._events: dict[str, tuple[bool, bool, bool, int]] = {
            e.id: (
                "node" in e.fields,
                "service" in e.fields,
                "user" in e.fields,
                2 + len(e.fields),
            )
            for e in spec.events.values()
        }
        self._services = frozenset(spec.services)

    def read(
        self, source: str | Path | TextIO | BinaryIO, *, name: str | None = None
    ) -> tuple[TraceHeader, Iterator[TraceRecord]]:
        """The header of the trace at `source` (a path, or an open text or binary stream) and
        an iterator of its records. `name` is the file name that problems report (default: the
        path, or the stream's name). A path is opened here and closed when the iteration ends,
        fails, or the iterator is closed or dropped; a stream stays the caller's."""
        stream = self._stream(source, name)
        header = next(stream)  # runs to the header: its problems raise here
        assert isinstance(header, TraceHeader)
        # The generator yields the header once, then only records.
        return header, cast(Iterator[TraceRecord], stream)

    # -- lines
    def _stream(
        self, source: str | Path | TextIO | BinaryIO, name: str | None
    ) -> Iterator[TraceHeader | TraceRecord]:
        if isinstance(source, str | Path):
            file = name or str(source)
            try:
                handle = open(source, "rb")  # noqa: SIM115 - closed by the with below
            except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
                why = getattr(exc, "strerror", None) or exc
                raise TraceError(Problem(file, None, "", f"cannot read the file: {why}")) from exc
            with handle:
                yield from self._lines(file, handle)
            return
        file = name or _stream_name(source)
        yield from self._lines(file, source)

    def _lines(self, file: str, source: TextIO | BinaryIO) -> Iterator[TraceHeader | TraceRecord]:
        mode = getattr(source, "mode", "")
        binary = isinstance(source, io.RawIOBase | io.BufferedIOBase) or (
            isinstance(mode, str) and "b" in mode
        )
        # bytes.decode is strict UTF-8: a bad byte fails on its own line, never a chunk ahead.
        lines = map(bytes.decode, cast(BinaryIO, source)) if binary else iter(cast(TextIO, source))
        decode = _DECODER.decode
        lineno = 0
        checker: _Checker | None = None
        memo: LineMemo | None = None
        try:
            for text in lines:
                lineno += 1
                if memo is not None and memo.table is not None and text.startswith(PLAIN):
                    record = memo.record(text, lineno)
                    if record is not None:
                        yield record
                        continue
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
                checker = _Checker(self, header)
                memo = LineMemo(checker, decode) if self._memo else None
                yield header
        except UnicodeDecodeError as exc:
            line = lineno + 1
            where = (
                f" (byte 0x{exc.object[exc.start]:02x} at byte {exc.start + 1} of the line)"
                if binary and isinstance(exc.object, bytes) and exc.start < len(exc.object)
                else ""
            )
            raise TraceError(
                Problem(file, line, "", f"the line is not UTF-8{where}", "write the trace in UTF-8")
            ) from exc
        except OSError as exc:
            raise TraceError(
                Problem(file, lineno + 1, "", f"cannot read the file: {exc.strerror or exc}")
            ) from exc
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
                    f"the header is a JSON object, not {_kind(obj)}",
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
                    f"trace format version {_show(version)} is not supported: "
                    f"this hasm reads version {VERSION}",
                    f'write "hasm_trace": {VERSION} and the format of shared/docs/trace-format.md',
                )
            )
        return _HeaderReader(self, file, line).read(obj)


class _HeaderReader:
    """A header line's keys, every problem in it collected before raising."""

    def __init__(self, reader: TraceReader, file: str, line: int) -> None:
        self.spec, self.services = reader.spec, reader._services
        self.file, self.line = file, line
        self.problems: list[Problem] = []

    def bad(self, path: str, message: str, fix: str = "") -> None:
        self.problems.append(Problem(self.file, self.line, path, message, fix))

    def read(self, obj: dict[str, Any]) -> TraceHeader:
        for key in obj:
            if key not in _HEADER_KEYS:
                self.bad(
                    _key(key), f"unknown header key {_quoted(key)}", _choose(key, _HEADER_KEYS)
                )
        nodes = self.nodes(obj)
        users = self.users(obj.get("users", {}), nodes)
        params, overrides = self.params(obj.get("params", {}))
        monitored = self.monitored(obj["monitored"]) if "monitored" in obj else None
        initial = obj.get("initial", "ha_disabled")
        if not isinstance(initial, str) or initial not in self.spec.initial:
            self.bad(
                "initial",
                f"unknown starting point {_show(initial)}",
                _choose(initial, self.spec.initial),
            )
        group = obj.get("group")
        if "group" in obj and not isinstance(group, str):
            self.bad("group", f"group is the redundancy group's name, a string, not {_show(group)}")
        if self.problems or nodes is None:
            raise TraceError(self.problems)
        return TraceHeader(self.file, nodes, users, params, overrides, monitored, initial, group)

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
                f"nodes are the group's two nodes, a list of two names, not {_show(raw)}",
                'write "nodes": ["<first node>", "<second node>"]',
            )
            return None
        good = True
        for i, node in enumerate(raw):
            if not isinstance(node, str) or not node:
                self.bad(f"nodes[{i}]", f"a node is a non-empty name, not {_show(node)}")
                good = False
        if good and raw[0] == raw[1]:
            self.bad("nodes[1]", f"both nodes are named {_show(raw[0])}", "name two distinct nodes")
            good = False
        return (raw[0], raw[1]) if good else None

    def users(self, raw: object, nodes: tuple[str, str] | None) -> dict[str, str]:
        if not isinstance(raw, dict):
            self.bad(
                "users",
                f"users maps each user id to its home node, not {_show(raw)}",
                'write "users": {"alice": "<first node>"}',
            )
            return {}
        users: dict[str, str] = {}
        for user, home in raw.items():
            path = dotted(("users", _key(user)))
            if not user:
                self.bad(path, "a user id is a non-empty string", "name the user")
            elif not isinstance(home, str) or (nodes is not None and home not in nodes):
                fix = _one_of_nodes(nodes) if nodes is not None else "use one of the nodes"
                self.bad(path, f"home node {_show(home)} is not one of the nodes", fix)
            else:
                users[user] = home
        return users

    def params(self, raw: object) -> tuple[dict[str, ParamValue], dict[str, ParamValue]]:
        if not isinstance(raw, dict):
            self.bad(
                "params",
                f"params maps parameter names to values, not {_show(raw)}",
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
        return isinstance(value, int) and _as_float(value) < _INF

    def monitored(self, raw: object) -> frozenset[str] | None:
        if not isinstance(raw, list):
            self.bad(
                "monitored",
                f"monitored is a list of service ids, not {_show(raw)}",
                'write "monitored": ["database", "presence_engine", "xcp_router"]',
            )
            return None
        seen: set[str] = set()
        for i, service in enumerate(raw):
            if not isinstance(service, str) or service not in self.services:
                self.bad(
                    f"monitored[{i}]",
                    f"unknown service {_show(service)}",
                    _choose(service, self.spec.services),
                )
            elif service in seen:
                self.bad(f"monitored[{i}]", f"{_show(service)} is listed twice", "list it once")
            else:
                seen.add(service)
        return frozenset(seen)


class _Shown:
    """A value that is neither a number nor a boolean, with `_show` as its repr."""

    def __init__(self, value: object) -> None:
        self.value = value

    def __repr__(self) -> str:
        return _show(self.value)


class _Labels:
    """A spec's states or reasons by label: exact labels first, then normalised ones."""

    def __init__(self, what: str, items: list[tuple[str, str, tuple[str, ...]]]) -> None:
        self.what = what
        self.exact = {label: sid for sid, label, aliases in items for label in (label, *aliases)}
        self.normal = {normalise_label(label): sid for label, sid in self.exact.items()}
        self.labels = [label for _, label, _ in items]

    def id_of(self, label: str) -> str | None:
        found = self.exact.get(label)
        return found if found is not None else self.normal.get(normalise_label(label))

    def fix(self, label: str) -> str:
        labels = list(self.exact)
        normal = [normalise_label(x) for x in labels]
        close = difflib.get_close_matches(normalise_label(label), normal, n=1)
        if close:
            return f"did you mean {_quoted(labels[normal.index(close[0])])}?"
        return f"use one of the spec's {self.what}s: {', '.join(self.labels)}"


class _Checker:
    """The records of one trace: each checked against its header and the previous record."""

    __slots__ = (
        "file",
        "last_line",
        "last_t",
        "node_cache",
        "node_set",
        "nodes",
        "offered_cache",
        "reader",
        "services",
        "session_values",
        "users",
    )

    def __init__(self, reader: TraceReader, header: TraceHeader) -> None:
        self.reader, self.file, self.nodes = reader, header.file, header.nodes
        self.users, self.services = header.users, reader._services
        self.node_set = frozenset(header.nodes)
        self.session_values = frozenset((None, *header.nodes))
        self.last_t, self.last_line = 0.0, 0
        # (state, reason, assigned, active) as written -> its checked NodeObservation.
        self.node_cache: dict[tuple[object, ...], NodeObservation] = {}
        self.offered_cache: dict[tuple[object, ...], OfferedObservation] = {}

    def fail(self, line: int, path: str, message: str, fix: str = "") -> NoReturn:
        raise TraceError(Problem(self.file, line, path, message, fix))

    # -- any record
    def record(self, obj: Any, line: int) -> TraceRecord:
        if obj.__class__ is not dict:
            self.fail(
                line,
                "",
                f"a record is a JSON object, not {_kind(obj)}",
                'write {"t": <seconds>, "event": ...} or {"t": <seconds>, "observe": {...}}',
            )
        raw_t: Any = obj.get("t")
        kind = raw_t.__class__
        t: float = raw_t if kind is float else _as_float(raw_t) if kind is int else -1.0
        if not self.last_t <= t < _INF:
            self._bad_time(obj, raw_t, t, line)
        self.last_t, self.last_line = t, line
        if "event" in obj:
            if "observe" in obj:
                self.fail(
                    line,
                    "observe",
                    "a record is an event or an observation, not both",
                    "write the event and the observation on two lines",
                )
            return self.event(obj, line, t)
        if "observe" in obj:
            return self.observation(obj, line, t)
        self.fail(
            line,
            "",
            "a record has 'event' (what happened) or 'observe' (what was seen)",
            'add "event": "<event>" or "observe": {...}',
        )

    def _bad_time(self, obj: dict[str, Any], raw: object, t: float, line: int) -> NoReturn:
        if "t" not in obj:
            self.fail(line, "t", "missing 't': every record has a time", 'add "t": <seconds>')
        if raw.__class__ not in (int, float):
            self.fail(
                line, "t", f"t is a number of seconds, not {_show(raw)}", 'write "t": <seconds>'
            )
        if t == _INF:
            self.fail(
                line,
                "t",
                "t is too large: it must be a finite number of seconds",
                "t counts seconds since the trace began",
            )
        if t < 0:
            self.fail(
                line,
                "t",
                f"t={_num(t)} is negative",
                "t counts seconds since the trace began, from 0",
            )
        self.fail(
            line,
            "t",
            f"t={_num(t)} goes back in time: line {self.last_line} has t={_num(self.last_t)}",
            "records are in time order",
        )

    # -- events
    def event(self, obj: dict[str, Any], line: int, t: float) -> TraceEvent:
        name = obj["event"]
        takes = self.reader._events.get(name) if name.__class__ is str else None
        if takes is None:
            self.fail(
                line,
                "event",
                f"unknown event {_show(name)}",
                _choose(name, self.reader.spec.events),
            )
        takes_node, takes_service, takes_user, count = takes
        if len(obj) != count:
            self._event_keys(obj, line, name, takes)
        node = service = user = None
        if takes_node:
            node = obj.get("node")
            if node not in self.nodes:
                self._bad_field(obj, line, name, "node", _one_of_nodes(self.nodes))
        if takes_service:
            service = obj.get("service")
            if service.__class__ is not str or service not in self.services:
                fix = _choose(service, self.reader.spec.services)  # in the spec's order
                self._bad_field(obj, line, name, "service", fix)
        if takes_user:
            user = obj.get("user")
            if user.__class__ is not str or user not in self.users:
                self._bad_field(obj, line, name, "user", "use a user of the header's 'users'")
        return new_event(line, t, name, node, service, user)

    def _event_keys(
        self, obj: dict[str, Any], line: int, name: str, takes: tuple[bool, bool, bool, int]
    ) -> None:
        """Keys the event does not take are errors; missing fields are reported by the caller."""
        fields = [f for f, taken in zip(_FIELDS, takes[:3], strict=True) if taken]
        allowed = ("t", "event", *fields)
        for key in obj:
            if key in allowed:
                continue
            if key in _FIELDS:
                self.fail(
                    line,
                    key,
                    f"event {name} takes no '{key}'"
                    + (f"; it takes {', '.join(fields)}" if fields else ""),
                    f"remove '{key}'",
                )
            self.fail(line, _key(key), f"unknown key {_quoted(key)}", _choose(key, allowed))

    def _bad_field(
        self, obj: dict[str, Any], line: int, name: str, field: str, fix: str
    ) -> NoReturn:
        if field not in obj:
            takes = self.reader._events[name]
            self._event_keys(obj, line, name, takes)  # a misspelt field is reported as such
            self.fail(line, field, f"event {name} needs '{field}'", f'add "{field}": ...')
        self.fail(line, field, f"unknown {field} {_show(obj[field])}", fix)

    # -- observations
    def observation(self, obj: dict[str, Any], line: int, t: float) -> TraceObservation:
        if len(obj) != 2:
            for key in obj:
                if key not in ("t", "observe"):
                    self.fail(
                        line,
                        _key(key),
                        f"unknown key {_quoted(key)} in an observation",
                        "put what was seen inside 'observe'",
                    )
        observe = obj["observe"]
        if observe.__class__ is not dict:
            self.fail(
                line,
                "observe",
                f"observe is an object of what was seen, not {_show(observe)}",
                'write "observe": {"nodes": {...}, "sessions": {...}, ...}',
            )
        seen = 0
        nodes: Mapping[str, NodeObservation] = _EMPTY
        raw_nodes = observe.get("nodes")
        if raw_nodes is not None:
            seen += 1
            nodes = MappingProxyType(self._nodes(raw_nodes, line))
        sessions: Mapping[str, str | None] = _EMPTY
        raw_sessions = observe.get("sessions")
        if raw_sessions is not None:
            seen += 1
            if raw_sessions.__class__ is not dict:
                self.fail(
                    line,
                    "observe.sessions",
                    f"sessions maps user ids to a node or null, not {_show(raw_sessions)}",
                )
            if not raw_sessions.keys() <= self.users.keys() or not self._session_nodes(
                raw_sessions
            ):
                self._bad_sessions(raw_sessions, line)
            sessions = MappingProxyType(raw_sessions)
        ha_enabled = observe.get("ha_enabled")
        if ha_enabled is not None:
            seen += 1
            if ha_enabled is not True and ha_enabled is not False:
                self.fail(
                    line,
                    "observe.ha_enabled",
                    f"ha_enabled is true or false, not {_show(ha_enabled)}",
                )
        offered = None
        raw_offered = observe.get("offered")
        if raw_offered is not None:
            seen += 1
            offered = self._offered(raw_offered, line)
        if len(observe) != seen:
            self._keys(observe, line, ("observe",), _OBSERVE_KEYS)
        return new_observation(line, t, nodes, sessions, ha_enabled, offered)

    def _nodes(self, raw_nodes: Any, line: int) -> dict[str, NodeObservation]:
        if raw_nodes.__class__ is not dict:
            self.fail(
                line,
                "observe.nodes",
                f"nodes maps node names to what was seen of them, not {_show(raw_nodes)}",
            )
        nodes: dict[str, NodeObservation] = {}
        cache = self.node_cache
        for name, raw in raw_nodes.items():
            if name not in self.nodes:
                self.fail(
                    line,
                    dotted(("observe", "nodes", _key(name))),
                    f"{_quoted(name)} is not one of the trace's nodes",
                    _one_of_nodes(self.nodes),
                )
            if raw.__class__ is dict:
                state = raw.get("state")
                reason = raw.get("reason")
                assigned = raw.get("assigned_users")
                active = raw.get("active_users")
                # Only these keys, strings and ints as written: the view may be known already.
                if (
                    (state is None or state.__class__ is str)
                    and (reason is None or reason.__class__ is str)
                    and (assigned is None or assigned.__class__ is int)
                    and (active is None or active.__class__ is int)
                    and len(raw)
                    == (state is not None)
                    + (reason is not None)
                    + (assigned is not None)
                    + (active is not None)
                ):
                    cache_key = (state, reason, assigned, active)
                    view = cache.get(cache_key)
                    if view is None:
                        view = self._node(raw, line, name)
                        if len(cache) >= _CACHE_SIZE:
                            cache.clear()
                        cache[cache_key] = view
                    nodes[name] = view
                    continue
            nodes[name] = self._node(raw, line, name)
        return nodes

    def _session_nodes(self, sessions: dict[str, Any]) -> bool:
        try:
            return set(sessions.values()) <= self.session_values
        except TypeError:  # an unhashable value: a list or an object
            return False

    def _bad_sessions(self, sessions: dict[str, Any], line: int) -> NoReturn:
        for user, node in sessions.items():
            path = dotted(("observe", "sessions", _key(user)))
            if user not in self.users:
                self.fail(
                    line,
                    path,
                    f"unknown user {_quoted(user)}",
                    "use a user of the header's 'users'",
                )
            if node is not None and node not in self.nodes:
                self.fail(
                    line,
                    path,
                    f"a session is on a node or null, not {_show(node)}",
                    _one_of_nodes(self.nodes) + ", or null for no session",
                )
        raise AssertionError("unreachable: the sessions were found bad")  # pragma: no cover

    def _node(self, raw: object, line: int, name: str) -> NodeObservation:
        base = ("observe", "nodes", name)
        if not isinstance(raw, dict):
            self.fail(
                line,
                dotted(base),
                f"what was seen of a node is an object, not {_show(raw)}",
                'write {"state": "...", "reason": "...", "assigned_users": 0, "active_users": 0}',
            )
        self._keys(raw, line, base, _NODE_KEYS)
        ids: list[str | None] = []
        for field, labels in (("state", self.reader._states), ("reason", self.reader._reasons)):
            value = raw.get(field)
            if value is None:
                ids.append(None)
            elif not isinstance(value, str):
                self.fail(
                    line,
                    dotted((*base, field)),
                    f"{field} is the label the page shows, a string, not {_show(value)}",
                )
            else:
                found = labels.id_of(value)
                if found is None:
                    self.fail(
                        line,
                        dotted((*base, field)),
                        f"unknown {field} {_quoted(value)}",
                        labels.fix(value),
                    )
                ids.append(found)
        counts: list[int | None] = []
        for field in ("assigned_users", "active_users"):
            value = raw.get(field)
            if value.__class__ is float and value.is_integer():
                value = int(value)  # 3.0 is the whole number 3 (as JSON Schema counts it)
            if value is not None and (value.__class__ is not int or value < 0):
                self.fail(
                    line,
                    dotted((*base, field)),
                    f"{field} is a whole number >= 0, not {_show(value)}",
                )
            counts.append(value)
        return NodeObservation(ids[0], ids[1], counts[0], counts[1])

    def _offered(self, raw: Any, line: int) -> OfferedObservation:
        if raw.__class__ is not dict:
            self.fail(
                line,
                "observe.offered",
                f"offered is an object of the actions offered, not {_show(raw)}",
                'write "offered": {"failover": [...], "fallback": [...], "recover": false}',
            )
        failover = raw.get("failover")
        fallback = raw.get("fallback")
        recover = raw.get("recover")
        count = 0
        if failover is not None:
            count += 1
            failover = self._node_set(failover, line, "failover")
        if fallback is not None:
            count += 1
            fallback = self._node_set(fallback, line, "fallback")
        if recover is not None:
            count += 1
            if recover is not True and recover is not False:
                self.fail(
                    line,
                    "observe.offered.recover",
                    f"recover is true or false, not {_show(recover)}",
                )
        if len(raw) != count:
            self._keys(raw, line, ("observe", "offered"), ("failover", "fallback", "recover"))
        key = (failover, fallback, recover)
        offered = self.offered_cache.get(key)
        if offered is None:  # at most 5 * 5 * 3 distinct values, over two nodes
            offered = self.offered_cache[key] = OfferedObservation(failover, fallback, recover)
        return offered

    def _node_set(self, value: Any, line: int, action: str) -> frozenset[str]:
        if value.__class__ is list:
            try:
                chosen = frozenset(value)
            except TypeError:  # an unhashable item: reported below
                chosen = None
            if chosen is not None and chosen <= self.node_set and len(chosen) == len(value):
                return chosen
        path = f"observe.offered.{action}"
        if not isinstance(value, list):
            self.fail(line, path, f"{action} is a list of nodes, not {_show(value)}")
        for i, node in enumerate(value):
            if node not in self.nodes:
                self.fail(
                    line, f"{path}[{i}]", f"unknown node {_show(node)}", _one_of_nodes(self.nodes)
                )
        self.fail(line, path, f"a node is listed twice in {_show(value)}", "list it once")

    def _keys(
        self, raw: dict[str, Any], line: int, base: tuple[str, ...], allowed: Sequence[str]
    ) -> None:
        """Unknown keys and null values in an object whose keys are all optional."""
        for key, value in raw.items():
            if key not in allowed:
                self.fail(
                    line,
                    dotted((*base, _key(key))),
                    f"unknown key {_quoted(key)}",
                    _choose(key, allowed),
                )
            if value is None:
                self.fail(
                    line,
                    dotted((*base, key)),
                    f"{key} is null",
                    "leave the key out when it was not observed",
                )


# The caches of node views and offered actions keep up to _CACHE_SIZE entries each.
_CACHE_SIZE = 512
_EMPTY: Mapping[str, Any] = MappingProxyType({})


_BLANK = object()


def _as_float(value: float) -> float:
    try:
        return float(value)
    except OverflowError:  # an integer too large for a float: reported as not finite
        return _INF


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
            return dotted(tuple(_key(p) if isinstance(p, str) else p for p in path))
        if isinstance(value, dict):
            todo.extend(((*path, k), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            todo.extend(((*path, i), v) for i, v in reversed(list(enumerate(value))))
    return ""


def _kind(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return "a number"


def _show(value: object) -> str:
    """A value for a message: a string quoted as a name is, anything else as JSON, short."""
    if isinstance(value, str):
        return _quoted(value)
    if isinstance(value, float | int) and abs(_as_float(value)) == _INF:
        return "a number too large"
    try:
        text = json.dumps(value, ensure_ascii=True)
    except (ValueError, TypeError, RecursionError):  # pragma: no cover - defensive
        return "a value too large to show"
    return text if len(text) <= 60 else text[:56] + " ..."


def _quoted(word: str) -> str:
    """A name from the trace, quoted, printable and short."""
    if word.isprintable() and len(word) <= 60:
        return f"'{word}'"
    text = json.dumps(word)  # escapes what does not print
    return text if len(text) <= 60 else text[:56] + " ..."


def _key(word: str) -> str:
    """A key from the trace as part of a field path: printable, never empty."""
    return word if word and word.isprintable() and len(word) <= 60 else _show(word)


def _num(t: float) -> str:
    return str(int(t)) if t.is_integer() and abs(t) < 1e15 else repr(t)


def _one_of_nodes(nodes: tuple[str, str]) -> str:
    return f"use {_quoted(nodes[0])} or {_quoted(nodes[1])}"


def _choose(word: object, options: Iterable[str]) -> str:
    options = list(options)
    if isinstance(word, str):
        close = difflib.get_close_matches(word, options, n=1)
        if close:
            return f"did you mean {_quoted(close[0])}?"
    return f"use one of: {', '.join(options)}"
