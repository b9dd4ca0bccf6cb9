"""Checking a trace's records, the lines after its header: each against the header, the spec
and the previous record, into `TraceEvent` and `TraceObservation` values with spec ids."""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, NoReturn

from hasm.core.memo import Table
from hasm.errors import Problem, TraceError
from hasm.spec.labels import normalise_label
from hasm.spec.located import dotted
from hasm.spec.model import PAGE_VOCABULARY, Spec
from hasm.trace.records import (
    NodeObservation,
    OfferedObservation,
    TraceEvent,
    TraceHeader,
    TraceObservation,
    TraceRecord,
    new_event,
    new_observation,
)
from hasm.trace.wording import (
    as_float,
    choose,
    kind_of,
    one_of_nodes,
    path_key,
    quoted,
    show,
    show_time,
)

__all__ = ["Labels", "RecordChecker", "SpecIndex"]

_FIELDS = ("node", "service", "user")
_OBSERVE_KEYS = ("nodes", "sessions", "ha_enabled", "offered")
_NODE_KEYS = ("state", "reason", "assigned_users", "active_users")
_INF = math.inf
# The cache of node views keeps up to _CACHE_SIZE entries (offered actions have at most 75).
_CACHE_SIZE = 512
_EMPTY: Mapping[str, Any] = MappingProxyType({})


class Labels:
    """A spec's states or reasons by label: exact labels first, then normalised ones. A word of
    a vocabulary that names several states (`choices`) reads as the first, and `states_of`
    gives them all."""

    def __init__(
        self,
        what: str,
        items: list[tuple[str, str, tuple[str, ...]]],
        choices: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.what = what
        self.exact = {label: sid for sid, label, aliases in items for label in (label, *aliases)}
        self.sets: dict[str, frozenset[str]] = {}  # normalised word -> its states, when several
        for word, ids in (choices or {}).items():
            self.exact[word] = ids[0]
            if len(ids) > 1:
                self.sets[normalise_label(word)] = frozenset(ids)
        self.normal = {normalise_label(label): sid for label, sid in self.exact.items()}
        self.labels = [label for _, label, _ in items] + [
            w for w in (choices or {}) if w not in {label for _, label, _ in items}
        ]

    def id_of(self, label: str) -> str | None:
        found = self.exact.get(label)
        return found if found is not None else self.normal.get(normalise_label(label))

    def states_of(self, label: str) -> frozenset[str] | None:
        """Every state an ambiguous word may mean; None for a word that means one state."""
        return self.sets.get(normalise_label(label)) if self.sets else None

    def fix(self, label: str) -> str:
        labels = list(self.exact)
        normal = [normalise_label(x) for x in labels]
        close = difflib.get_close_matches(normalise_label(label), normal, n=1)
        if close:
            return f"did you mean {quoted(labels[normal.index(close[0])])}?"
        return f"use one of the spec's {self.what}s: {', '.join(self.labels)}"


class SpecIndex:
    """What checking records needs of a spec, indexed once per spec."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.states = Labels("state", [(s.id, s.label, s.aliases) for s in spec.states.values()])
        # Each vocabulary's state words: the page's labels (no aliases), then its own terms.
        self.vocabularies: dict[str, Labels] = {PAGE_VOCABULARY: self.states}
        for name in spec.vocabularies:
            labels: list[tuple[str, str, tuple[str, ...]]] = [
                (s.id, s.label, ()) for s in spec.states.values()
            ]
            terms = {t.term: t.states for t in spec.vocabularies[name].terms.values()}
            self.vocabularies[name] = Labels("state", labels, terms)
        self.reasons = Labels("reason", [(r.id, r.label, r.aliases) for r in spec.reasons.values()])
        # event id -> (takes node, takes service, takes user, its number of keys)
        self.events: dict[str, tuple[bool, bool, bool, int]] = {
            e.id: (
                "node" in e.fields,
                "service" in e.fields,
                "user" in e.fields,
                2 + len(e.fields),
            )
            for e in spec.events.values()
        }
        self.services = frozenset(spec.services)


class RecordChecker:
    """The records of one trace: each checked against its header and the previous record."""

    __slots__ = (
        "file",
        "index",
        "last_line",
        "last_t",
        "node_cache",
        "node_set",
        "nodes",
        "offered_cache",
        "services",
        "session_values",
        "sourced",
        "states",
        "users",
    )

    def __init__(self, index: SpecIndex, header: TraceHeader) -> None:
        self.index, self.file, self.nodes = index, header.file, header.nodes
        self.users, self.services = header.users, index.services
        self.states = index.vocabularies[header.vocabulary]  # how its state words are read
        self.node_set = frozenset(header.nodes)
        self.session_values = frozenset((None, *header.nodes))
        # An imported trace's records may say where each came from (header `sources`).
        self.sourced = header.sources is not None
        self.last_t, self.last_line = 0.0, 0
        # (state, reason, assigned, active) as written -> its checked NodeObservation.
        self.node_cache: Table[tuple[object, ...], NodeObservation] = Table(_CACHE_SIZE)
        self.offered_cache: dict[tuple[object, ...], OfferedObservation] = {}

    def fail(self, line: int, path: str, message: str, fix: str = "") -> NoReturn:
        raise TraceError(Problem(self.file, line, path, message, fix))

    # -- any record
    def record(self, obj: Any, line: int) -> TraceRecord:
        if obj.__class__ is not dict:
            self.fail(
                line,
                "",
                f"a record is a JSON object, not {kind_of(obj)}",
                'write {"t": <seconds>, "event": ...} or {"t": <seconds>, "observe": {...}}',
            )
        raw_t: Any = obj.get("t")
        kind = raw_t.__class__
        t: float = raw_t if kind is float else as_float(raw_t) if kind is int else -1.0
        if not self.last_t <= t < _INF:
            self._bad_time(obj, raw_t, t, line)
        self.last_t, self.last_line = t, line
        if self.sourced and "source" in obj:
            self._source(obj.pop("source"), line)
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

    def _source(self, source: object, line: int) -> None:
        if source.__class__ is not str or not source:
            self.fail(
                line,
                "source",
                f'source is where the record came from, a string like "status.txt:12", not {show(source)}',
            )

    def _bad_time(self, obj: dict[str, Any], raw: object, t: float, line: int) -> NoReturn:
        if "t" not in obj:
            self.fail(line, "t", "missing 't': every record has a time", 'add "t": <seconds>')
        if raw.__class__ not in (int, float):
            self.fail(
                line, "t", f"t is a number of seconds, not {show(raw)}", 'write "t": <seconds>'
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
                f"t={show_time(t)} is negative",
                "t counts seconds since the trace began, from 0",
            )
        self.fail(
            line,
            "t",
            f"t={show_time(t)} goes back in time: line {self.last_line} has t={show_time(self.last_t)}",
            "records are in time order",
        )

    # -- events
    def event(self, obj: dict[str, Any], line: int, t: float) -> TraceEvent:
        name = obj["event"]
        takes = self.index.events.get(name) if name.__class__ is str else None
        if takes is None:
            self.fail(
                line,
                "event",
                f"unknown event {show(name)}",
                choose(name, self.index.spec.events),
            )
        takes_node, takes_service, takes_user, count = takes
        if len(obj) != count:
            self._event_keys(obj, line, name, takes)
        node = service = user = None
        if takes_node:
            node = obj.get("node")
            if node not in self.nodes:
                self._bad_field(obj, line, name, "node", one_of_nodes(self.nodes))
        if takes_service:
            service = obj.get("service")
            if service.__class__ is not str or service not in self.services:
                fix = choose(service, self.index.spec.services)  # in the spec's order
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
            self.fail(line, path_key(key), f"unknown key {quoted(key)}", choose(key, allowed))

    def _bad_field(
        self, obj: dict[str, Any], line: int, name: str, field: str, fix: str
    ) -> NoReturn:
        if field not in obj:
            takes = self.index.events[name]
            self._event_keys(obj, line, name, takes)  # a misspelt field is reported as such
            self.fail(line, field, f"event {name} needs '{field}'", f'add "{field}": ...')
        self.fail(line, field, f"unknown {field} {show(obj[field])}", fix)

    # -- observations
    def observation(self, obj: dict[str, Any], line: int, t: float) -> TraceObservation:
        if len(obj) != 2:
            for key in obj:
                if key not in ("t", "observe"):
                    self.fail(
                        line,
                        path_key(key),
                        f"unknown key {quoted(key)} in an observation",
                        "put what was seen inside 'observe'",
                    )
        observe = obj["observe"]
        if observe.__class__ is not dict:
            self.fail(
                line,
                "observe",
                f"observe is an object of what was seen, not {show(observe)}",
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
                    f"sessions maps user ids to a node or null, not {show(raw_sessions)}",
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
                    f"ha_enabled is true or false, not {show(ha_enabled)}",
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
                f"nodes maps node names to what was seen of them, not {show(raw_nodes)}",
            )
        nodes: dict[str, NodeObservation] = {}
        cache = self.node_cache
        for name, raw in raw_nodes.items():
            if name not in self.nodes:
                self.fail(
                    line,
                    dotted(("observe", "nodes", path_key(name))),
                    f"{quoted(name)} is not one of the trace's nodes",
                    one_of_nodes(self.nodes),
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
                        view = cache.keep(cache_key, self._node(raw, line, name))
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
            path = dotted(("observe", "sessions", path_key(user)))
            if user not in self.users:
                self.fail(
                    line,
                    path,
                    f"unknown user {quoted(user)}",
                    "use a user of the header's 'users'",
                )
            if node is not None and node not in self.nodes:
                self.fail(
                    line,
                    path,
                    f"a session is on a node or null, not {show(node)}",
                    one_of_nodes(self.nodes) + ", or null for no session",
                )
        raise AssertionError("unreachable: the sessions were found bad")  # pragma: no cover

    def _node(self, raw: object, line: int, name: str) -> NodeObservation:
        base = ("observe", "nodes", name)
        if not isinstance(raw, dict):
            self.fail(
                line,
                dotted(base),
                f"what was seen of a node is an object, not {show(raw)}",
                'write {"state": "...", "reason": "...", "assigned_users": 0, "active_users": 0}',
            )
        self._keys(raw, line, base, _NODE_KEYS)
        ids: list[str | None] = []
        for field, labels in (("state", self.states), ("reason", self.index.reasons)):
            value = raw.get(field)
            if value is None:
                ids.append(None)
            elif not isinstance(value, str):
                self.fail(
                    line,
                    dotted((*base, field)),
                    f"{field} is the label the page shows, a string, not {show(value)}",
                )
            else:
                found = labels.id_of(value)
                if found is None:
                    self.fail(
                        line,
                        dotted((*base, field)),
                        f"unknown {field} {quoted(value)}",
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
                    f"{field} is a whole number >= 0, not {show(value)}",
                )
            counts.append(value)
        state = raw.get("state")
        choices = self.states.states_of(state) if isinstance(state, str) else None
        return NodeObservation(ids[0], ids[1], counts[0], counts[1], choices)

    def _offered(self, raw: Any, line: int) -> OfferedObservation:
        if raw.__class__ is not dict:
            self.fail(
                line,
                "observe.offered",
                f"offered is an object of the actions offered, not {show(raw)}",
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
                    f"recover is true or false, not {show(recover)}",
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
            self.fail(line, path, f"{action} is a list of nodes, not {show(value)}")
        for i, node in enumerate(value):
            if node not in self.nodes:
                self.fail(
                    line, f"{path}[{i}]", f"unknown node {show(node)}", one_of_nodes(self.nodes)
                )
        self.fail(line, path, f"a node is listed twice in {show(value)}", "list it once")

    def _keys(
        self, raw: dict[str, Any], line: int, base: tuple[str, ...], allowed: Sequence[str]
    ) -> None:
        """Unknown keys and null values in an object whose keys are all optional."""
        for key, value in raw.items():
            if key not in allowed:
                self.fail(
                    line,
                    dotted((*base, path_key(key))),
                    f"unknown key {quoted(key)}",
                    choose(key, allowed),
                )
            if value is None:
                self.fail(
                    line,
                    dotted((*base, key)),
                    f"{key} is null",
                    "leave the key out when it was not observed",
                )
