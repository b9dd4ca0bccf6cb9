"""Conformance suites: trace format v1 files that exercise everything a spec says, with an index.

`generate(spec, params)` searches the spec's configurations breadth first and turns the
shortest path to each target into a trace that another implementation replays (apply the
events at their times, compare the observations) or that `hasm check` checks. The targets:

- every transition of the spec (the path's last step fires it);
- every state pair the page can show, each node's (state, reason);
- every timer at its boundaries: just before its window opens, at its opening, at its close,
  just after it, and at the close widened by the suite's tolerance (checked with
  `--tolerance`); where firing changes what the page shows, a claim of the fired page just
  before the window and of the unfired page just after it are *negative* cases;
- every admin action where the spec offers it (positive) and, in every state pair reached,
  where it does not (negative: the event line itself diverges);
- every time parameter at the ends of its range (the header's `params`).

**The search.** From each starting point of the spec (one user homed on each node), a step is
either an event now - every event of the spec with every node, every service some guard names
plus one other monitored service, every cohort - or *waiting*: the clock runs to the next
deadline, what is due there fires (every order, when several are), and the clock moves on by
`epsilon` so that the next event is not at the deadline's very instant. Timers thus fire at
their deadlines, the latest the spec allows; a timer's earlier firing times are the boundary
cases' business. Boolean parameters that a guard reads are explored both ways (parameter
variants), the others keep their values; the first variant to reach a target covers it.

**Observations pin only what the spec determines.** After each step the file observes, at
that time, the fields on which every behaviour of the spec consistent with the file so far
agrees - the oracle's candidates are asked - and leaves the others out. So a conforming
implementation, whatever it chose within the spec's bounds, shows exactly what each
observation says; and the positive files conform by construction. Every file is checked with
the oracle as it is made: positives conform, negatives diverge at their expected line (a
target whose case the spec does not pin is listed as uncovered, with why).

**Negative cases** are marked in the index, never in the trace (trace format v1's header has
fixed keys): `expect` is `{"verdict": "diverges", "line": N}` for them and
`{"verdict": "conforms"}` otherwise, with `tolerance` where the file must be checked with
`--tolerance`. The header's `group` (a name "for reports only") carries the case's title, so
each file says what it covers.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import math
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hasm.core.config import (
    NO_NODE,
    Cohort,
    Config,
    EventInput,
    Fire,
    Input,
    Relogin,
    RunningTimer,
    Step,
)
from hasm.core.semantics import (
    Check,
    Model,
    Prepared,
    advance,
    apply,
    deadline,
    forced,
    initial_config,
    matching,
    node_views,
    offered,
    outcome,
    prepare,
)
from hasm.errors import ConformanceError, HasmError, InputError, Problem, SuiteError
from hasm.oracle.oracle import Oracle
from hasm.spec.guards import named_services, params_read, spec_guards
from hasm.spec.model import All, AnyOf, Guard, Not, ParamValue, ReasonChoice, Spec, Test, Transition
from hasm.spec.params import evaluate, resolve_params
from hasm.trace.reader import read_trace
from hasm.trace.records import number
from hasm.trace.writer import offered_entry

__all__ = [
    "EPSILON",
    "NODE_NAMES",
    "USER_NAMES",
    "Case",
    "Suite",
    "SuiteFile",
    "generate",
    "read_suite",
    "write_suite",
]

SUITE_VERSION = 1
INDEX = "index.json"
NODE_NAMES = ("node0", "node1")
USER_NAMES = ("user0", "user1")  # one user homed on each node: users of a home are alike
EPSILON = 0.001  # "just before" / "just after" a boundary, and the step after a deadline
TOLERANCE = 1.0  # the suite's tolerance cases: a timing bound widened by this many seconds
MAX_DEPTH = 10  # the search's depth bound, in steps; the canonical spec needs far fewer
MAX_STATES = 60_000  # and its size bound per variant
# At most this many faults at once (a stopped service, a node down, an SRM stopped, the link
# down): every transition of the canonical spec needs at most two, and each more multiplies
# the configurations to search.
MAX_FAULTS = 2
# How many configurations a timer condition's witness is looked for in by running the clock on
# from them (`_fire_shows_when_due`), at most: the search meets thousands.
LOOKAHEADS = 200


# -- what a suite is ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One file of a suite: what it covers, its trace, and the verdict `hasm check` must give
    (with `tolerance` where it is to be checked with `--tolerance`)."""

    name: str  # the file name
    title: str
    covers: tuple[str, ...]  # coverage items, e.g. "transition:manual_failover"
    text: str
    verdict: str  # "conforms", "diverges", or "input_error" (a header the spec refuses)
    line: int | None = None  # the divergent line of a negative case
    tolerance: float = 0.0
    # False where the file claims one timing among those the spec allows (a timer fired at the
    # very opening of its window, unfired at its close): `hasm check` must accept it, but an
    # implementation that chose another allowed timing rightly shows otherwise.
    replay: bool = True

    def expect(self) -> dict[str, Any]:
        out: dict[str, Any] = {"verdict": self.verdict}
        if self.line is not None:
            out["line"] = self.line
        return out


@dataclass(frozen=True)
class Suite:
    """A generated conformance suite: its cases and what they cover (and do not)."""

    spec_id: str
    params: Mapping[str, ParamValue]  # the overrides asked for
    cases: tuple[Case, ...]
    targets: Mapping[str, tuple[str, ...]]  # kind -> every target of that kind
    uncovered: Mapping[str, str]  # coverage item -> why no case covers it

    def index(self) -> dict[str, Any]:
        """The index file's content."""
        covered: dict[str, list[str]] = {}
        for case in self.cases:
            for item in case.covers:
                covered.setdefault(item, []).append(case.name)
        coverage: dict[str, Any] = {}
        for kind, items in self.targets.items():
            keys = [f"{kind}:{i}" for i in items]
            done = [k for k in keys if k in covered]
            coverage[kind] = {
                "targets": len(keys),
                "covered": len(done),
                "uncovered": {k: self.uncovered[k] for k in keys if k not in covered},
            }
        return {
            "hasm_suite": SUITE_VERSION,
            "spec": self.spec_id,
            "params": {k: _json_value(v) for k, v in self.params.items()},
            "epsilon": EPSILON,
            "tolerance": TOLERANCE,
            "how": "replay each file's events at their times and compare each observation (a "
            "case with `replay: false` claims one timing among those the spec allows: an "
            "implementation may rightly differ from it); or run `hasm check FILE` (with "
            "`--tolerance T` where a case gives one): its verdict must be `expect` (a negative "
            "case diverges at `expect.line`)",
            "coverage": coverage,
            "cases": [
                {
                    "file": c.name,
                    "title": c.title,
                    "covers": list(c.covers),
                    "expect": c.expect(),
                    **({"tolerance": c.tolerance} if c.tolerance else {}),
                    **({} if c.replay else {"replay": False}),
                }
                for c in self.cases
            ],
            "covered_by": dict(sorted(covered.items())),
        }


def _json_value(value: ParamValue) -> bool | int | float:
    return value if isinstance(value, bool) else number(value)


# -- the search -------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Variant:
    params: Mapping[str, ParamValue]  # every parameter's value
    overrides: Mapping[str, ParamValue]  # those that differ from the spec's defaults
    label: str


@dataclass(frozen=True, slots=True)
class _Edge:
    """One step of the search: an event now, or a wait (the clock to the next deadline, what
    is due fires, then `epsilon` more)."""

    steps: tuple[Step, ...]
    befores: tuple[Config, ...]  # the configuration before each step
    end: Config
    event: EventInput | None  # None: a wait
    # The same input (or wait) has other ways to happen - two timers due at once fire in
    # either order, two rules or both nodes match - so a trace cannot show which one it took:
    # what the file observes after it pins less, and where the ways end alike (mirror rules,
    # timers that commute) a wrong rule hides behind its twin.
    ambiguous: bool = False


@dataclass(frozen=True, slots=True)
class _Reached:
    config: Config
    parent: Any  # the parent's key; None for a start
    edge: _Edge | None
    start: str
    depth: int
    ambiguity: int = 0  # how many ambiguous edges the path to it takes

    @property
    def cost(self) -> tuple[int, int]:
        """How good a witness it is, lowest first: a path whose steps a trace can tell apart
        from their alternatives (its observations pin what the steps did), then a short one."""
        return (self.ambiguity, self.depth)


def _variants(spec: Spec, fixed: Mapping[str, ParamValue]) -> list[_Variant]:
    """The parameter variants: each boolean parameter a guard reads (and `fixed` does not fix)
    both ways, the spec's default first."""
    base = resolve_params(spec, fixed, file="--param", path="param")
    read = params_read(spec_guards(spec, reasons=False, invariants="none"))
    switches = [
        n
        for n, p in spec.parameters.items()
        if p.type == "boolean" and n in read and n not in fixed
    ]
    out = []
    for values in itertools.product((False, True), repeat=len(switches)):
        chosen = dict(base)
        for name, flip in zip(switches, values, strict=True):
            if flip:
                chosen[name] = not spec.defaults[name]
        overrides = {k: v for k, v in chosen.items() if v != spec.defaults[k]}
        label = ", ".join(f"{k}={_json_value(v)}" for k, v in overrides.items()) or "defaults"
        out.append(_Variant(chosen, overrides, label))
    return out


def _relative(config: Config) -> tuple[Any, ...]:
    now = config.now
    return (
        config.ha_enabled,
        config.link_up,
        config.nodes,
        tuple((t.name, t.node, t.earliest - now, t.latest - now) for t in config.timers),
        tuple(
            (c.home, c.session, c.waiting_since - now if c.waiting_since >= 0 else None, c.count)
            for c in config.users
        ),
    )


def _mirror(config: Config) -> Config:
    """The configuration with the two nodes' roles swapped."""
    swap = (1, 0)
    return Config(
        config.now,
        config.ha_enabled,
        config.link_up,
        (config.nodes[1], config.nodes[0]),
        tuple(sorted(dataclasses.replace(t, node=swap[t.node]) for t in config.timers)),
        tuple(
            sorted(
                Cohort(
                    swap[c.home],
                    c.session if c.session == NO_NODE else swap[c.session],
                    c.waiting_since,
                    c.count,
                )
                for c in config.users
            )
        ),
    )


def _key(config: Config) -> tuple[Any, ...]:
    """The search's state: the configuration with its times relative to its clock, the same
    for a configuration and its mirror image. The semantics treats the two nodes alike (rules
    are written for `node` and `peer`, the starting points are symmetric), so what one reaches
    the other reaches with the nodes' roles swapped: searching one of the two is enough."""
    return min(_relative(config), _relative(_mirror(config)), key=repr)


class _Search:
    """The breadth-first search of one variant, recording the first path to each target."""

    def __init__(self, spec: Spec, variant: _Variant) -> None:
        self.spec, self.variant = spec, variant
        self.model = Model(spec, variant.params)
        named = named_services(spec)
        others = sorted(self.model.monitored - named)
        services = tuple(sorted(named & set(spec.services))) + tuple(others[:1])
        self.fixed: list[EventInput] = []
        self.user_events: list[str] = []
        for event in spec.events.values():
            if "user" in event.fields:
                self.user_events.append(event.id)
                continue
            nodes: tuple[int | None, ...] = (0, 1) if "node" in event.fields else (None,)
            chosen: tuple[str | None, ...] = services if "service" in event.fields else (None,)
            self.fixed += [EventInput(event.id, n, s) for n in nodes for s in chosen]
        self.seen: dict[tuple[Any, ...], _Reached] = {}
        # Every (configuration, input) tried, when a caller wants them (hasm.suite.mutants does).
        self.tried: list[tuple[Config, Input]] | None = None

    def inputs(self, config: Config) -> Iterator[EventInput]:
        yield from self.fixed
        for name in self.user_events:
            for c in config.users:
                yield EventInput(name, user=c.key)

    def wait(self, config: Config) -> list[_Edge]:
        """Run the clock to the next deadline and fire what is due there, in every order."""
        model = self.model
        due = deadline(model, config)
        if due is None:
            return []
        start = advance(model, config, due) if due > config.now else config
        out: dict[tuple[Any, ...], _Edge] = {}
        ways = 0

        def cascade(c: Config, steps: tuple[Step, ...], befores: tuple[Config, ...]) -> None:
            nonlocal ways
            pending = forced(model, c)
            if not pending or len(steps) > 8:
                later = c.now + EPSILON
                limit = deadline(model, c)
                end = advance(model, c, later) if limit is None or limit >= later else c
                out.setdefault(_key(end), _Edge(steps, befores, end, None))
                ways += 1
                return
            for inp in pending:
                if self.tried is not None:
                    self.tried.append((c, inp))
                for step in apply(model, c, inp):
                    cascade(step.config, (*steps, step), (*befores, c))

        cascade(start, (), ())
        if ways > 1:
            return [dataclasses.replace(e, ambiguous=True) for e in out.values()]
        return list(out.values())

    def edges(self, config: Config) -> Iterator[_Edge]:
        for inp in self.inputs(config):
            if self.tried is not None:
                self.tried.append((config, inp))
            if config.services_of_down_node(inp):
                continue
            steps = [s for s in apply(self.model, config, inp) if s.changed]
            ambiguous = len(steps) > 1 or (
                len(steps) == 1
                and steps[0].rule is not None
                and (inp.node is None or len(self.model.rules.get(inp.name, ())) > 1)
                and len(matching(self.model, prepare(self.model, config, inp))) > 1
            )
            for step in steps:
                if step.config.faults() <= MAX_FAULTS:
                    yield _Edge((step,), (config,), step.config, inp, ambiguous)
        yield from self.wait(config)

    def run(self, visit: Callable[[tuple[Any, ...], _Reached], None]) -> None:
        queue: deque[tuple[Any, ...]] = deque()
        for name in self.spec.initial:
            config = initial_config(self.model, name)
            key = _key(config)
            if key not in self.seen:
                self.seen[key] = reached = _Reached(config, None, None, name, 0)
                visit(key, reached)
                queue.append(key)
        while queue and len(self.seen) < MAX_STATES:
            key = queue.popleft()
            node = self.seen[key]
            if node.depth >= MAX_DEPTH:
                continue
            for edge in self.edges(node.config):
                child = _key(edge.end)
                reached = _Reached(
                    edge.end, key, edge, node.start, node.depth + 1, node.ambiguity + edge.ambiguous
                )
                old = self.seen.get(child)
                if old is None:
                    queue.append(child)
                elif old.depth < reached.depth or old.ambiguity <= reached.ambiguity:
                    visit((), reached)  # a step to a state reached before: only its steps count
                    continue
                # New, or reached again as shallow by a less ambiguous path: breadth first, a
                # state of the next depth is not expanded yet, so it can take the better path
                # (witnesses recorded before keep theirs: a path runs through parents' keys,
                # and a parent's entry never changes once it is expanded).
                self.seen[child] = reached
                visit(child, reached)

    def path(self, reached: _Reached) -> tuple[str, Config, list[_Edge]]:
        edges: list[_Edge] = []
        node = reached
        while node.parent is not None:
            assert node.edge is not None
            edges.append(node.edge)
            node = self.seen[node.parent]
        edges.reverse()
        return node.start, node.config, edges


# -- observations: what every behaviour agrees on -------------------------------------------------
def _observation(model: Model, config: Config) -> dict[str, Any]:
    """The page and the sessions of a configuration in the trace format's words, as a flat
    mapping from a field path to its value."""
    spec = model.spec
    out: dict[str, Any] = {}
    for name, view in zip(NODE_NAMES, node_views(model, config), strict=True):
        out[f"nodes/{name}/state"] = spec.states[view.state].label
        out[f"nodes/{name}/reason"] = spec.reasons[view.reason].label
        out[f"nodes/{name}/assigned_users"] = view.assigned_users
        out[f"nodes/{name}/active_users"] = view.active_users
    for c in config.users:
        out[f"sessions/{USER_NAMES[c.home]}"] = (
            None if c.session == NO_NODE else NODE_NAMES[c.session]
        )
    out["ha_enabled"] = config.ha_enabled
    for action, value in offered_entry(model, config, NODE_NAMES).items():
        out[f"offered/{action}"] = value
    return out


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, value in flat.items():
        parts = path.split("/")
        here = out
        for part in parts[:-1]:
            here = here.setdefault(part, {})
        here[parts[-1]] = value
    return out


def _pinned(oracle: Oracle) -> dict[str, Any]:
    """The fields every candidate of the oracle shows alike, as a flat mapping."""
    views = [_observation(oracle.model, c.config) for c in oracle.candidates]
    if not views:
        return {}
    first = views[0]
    return {
        path: value
        for path, value in first.items()
        if all(path in v and v[path] == value for v in views[1:])
    }


# -- writing a case -----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Event:
    t: float
    inp: EventInput


@dataclass(frozen=True)
class _Look:
    """Observe at `t` what the spec pins there; unless `always`, only if it differs from the
    file's previous observation (a case that shows nothing happens observes it even so)."""

    t: float
    always: bool = False


@dataclass(frozen=True)
class _Claim:
    """Observe at `t` exactly `fields` (a flat mapping): a negative or tolerance case's line."""

    t: float
    fields: Mapping[str, Any]


_Op = _Event | _Look | _Claim


def _dumps(obj: Mapping[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(", ", ": "))


def _header(variant: _Variant, start: str, title: str) -> str:
    """A case's header line: the group, its parameter overrides, its start, and its title."""
    users = dict(zip(USER_NAMES, NODE_NAMES, strict=True))
    header: dict[str, Any] = {"hasm_trace": 1, "nodes": list(NODE_NAMES), "users": users}
    if variant.overrides:
        header["params"] = {k: _json_value(v) for k, v in variant.overrides.items()}
    header["initial"] = start
    header["group"] = title
    return _dumps(header)


class _Writer:
    """Writes one case's trace, following it with the oracle to know what is pinned."""

    def __init__(self, spec: Spec, variant: _Variant, start: str, title: str) -> None:
        self.spec = spec
        users = dict(zip(USER_NAMES, NODE_NAMES, strict=True))
        self.lines = [_header(variant, start, title)]
        self.oracle = Oracle(
            spec, NODE_NAMES, users, params=variant.overrides, initial=start, file="<case>"
        )
        # A second oracle fed only the file's records, as `hasm check` reads them: the first is
        # also advanced to each observation's time to learn what is pinned there.
        self.replay = Oracle(
            spec, NODE_NAMES, users, params=variant.overrides, initial=start, file="<case>"
        )
        self.last: dict[str, Any] | None = None
        self.pinned: set[tuple[float, str]] = set()  # (time, field) the observations written

    def play(self, ops: Sequence[_Op], *, negative: bool = False) -> None:
        """Write the operations; a negative case's last event is written, not fed to the
        oracle (it is the line that must diverge)."""
        for i, op in enumerate(ops):
            if isinstance(op, _Event):
                self.event(op.t, op.inp, feed=not (negative and i == len(ops) - 1))
            elif isinstance(op, _Look):
                self.look(op.t, always=op.always)
            else:
                self.claim(op.t, op.fields)

    def event(self, t: float, inp: EventInput, *, feed: bool = True) -> None:
        record: dict[str, Any] = {"t": number(t), "event": inp.name}
        node = NODE_NAMES[inp.node] if inp.node is not None else None
        user = USER_NAMES[inp.user[0]] if inp.user is not None else None
        if node is not None:
            record["node"] = node
        if inp.service is not None:
            record["service"] = inp.service
        if user is not None:
            record["user"] = user
        self.lines.append(_dumps(record))
        self.last = None
        if feed:
            self.oracle.event(t, inp.name, node, inp.service, user)
            self.replay.event(t, inp.name, node, inp.service, user)

    def look(self, t: float, *, always: bool = False) -> dict[str, Any]:
        self.oracle.advance(t)
        fields = _pinned(self.oracle)
        if fields and (always or fields != self.last):
            self._observe(t, fields)
        self.last = fields
        return fields

    def claim(self, t: float, fields: Mapping[str, Any]) -> None:
        """A line the oracle is not fed: the case's last, checked by `_verify`."""
        self.lines.append(_dumps({"t": number(t), "observe": _nest(fields)}))

    def _observe(self, t: float, fields: Mapping[str, Any]) -> None:
        # What every candidate shows conforms; but the oracle checks an observation that pins
        # sessions by reading the clients' counts off it, which can reject a count some
        # behaviour allows (see the report of issue 6). Rather than a case `hasm check` would
        # wrongly reject, observe less: without the sessions, then without the counts too.
        tries = (
            dict(fields),
            {k: v for k, v in fields.items() if not k.startswith("sessions/")},
            {
                k: v
                for k, v in fields.items()
                if not k.startswith("sessions/") and "_users" not in k
            },
        )
        for chosen in tries:
            obs = _nest(chosen)
            try:
                self.replay.observe(
                    t,
                    nodes=obs.get("nodes"),
                    sessions=obs.get("sessions"),
                    ha_enabled=obs.get("ha_enabled"),
                    offered=obs.get("offered"),
                )
                self.oracle.observe(
                    t,
                    nodes=obs.get("nodes"),
                    sessions=obs.get("sessions"),
                    ha_enabled=obs.get("ha_enabled"),
                    offered=obs.get("offered"),
                )
            except ConformanceError:
                continue  # the oracle is left as it was before the record
            self.lines.append(_dumps({"t": number(t), "observe": obs}))
            self.pinned.update((t, k) for k in chosen)
            return

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _verdict(spec: Spec, text: str, tolerance: float = 0.0) -> tuple[str, int | None]:
    """What `hasm check` says of a trace: ("conforms", None) or ("diverges", line) or
    ("input_error", line)."""
    try:
        header, records = read_trace(io.StringIO(text), spec, name="<case>")
        oracle = Oracle.from_header(spec, header, tolerance)
        for record in records:
            oracle.record(record)
    except ConformanceError as exc:
        return "diverges", exc.divergence.line
    except InputError as exc:
        return "input_error", exc.problems[0].line if exc.problems else None
    except HasmError:
        return "input_error", None
    return "conforms", None


# -- building the suite ----------------------------------------------------------------------------
@dataclass
class _Plan:
    """A case before it is written: its variant, start, operations and expectations."""

    title: str
    covers: list[str]
    variant: _Variant
    start: str
    ops: tuple[_Op, ...]
    negative: bool = False
    tolerance: float = 0.0
    slug: str = ""
    # The case may also be written with every timer window narrowed to its deadline
    # (`_narrowed`), where its observations pin more (see `_write_cases`).
    pin: bool = False


def _path_ops(edges: Sequence[_Edge]) -> list[_Op]:
    """A path as operations: each event, and an observation after every step - the last one
    written even if the page did not change: what the case is about is that last step."""
    ops: list[_Op] = [_Look(0.0)]
    for i, edge in enumerate(edges):
        if edge.event is not None:
            ops.append(_Event(edge.steps[0].config.now, edge.event))
        ops.append(_Look(edge.end.now, always=i == len(edges) - 1))
    return ops


def _state_words(spec: Spec, pair: tuple[str, str]) -> str:
    return f"{NODE_NAMES[0]} {spec.states[pair[0]].label}, {NODE_NAMES[1]} {spec.states[pair[1]].label}"


def _shown_states(model: Model, config: Config) -> tuple[str, str]:
    a, b = node_views(model, config)
    return (a.state, b.state)


def _action_name(inp: EventInput) -> str:
    return inp.name if inp.node is None else f"{inp.name} {NODE_NAMES[inp.node]}"


def _conjuncts(guard: Guard) -> tuple[Guard, ...]:
    """A guard's top-level conditions (a mapping's entries), each of which it needs."""
    return guard.terms if isinstance(guard, All) else (guard,)


def _describe(guard: Guard) -> str:
    """A condition in the spec's words, for titles: `node.state: [normal]`, `not {...}`."""
    if isinstance(guard, Test):
        value = guard.value
        shown = f"[{', '.join(value)}]" if isinstance(value, tuple) else json.dumps(value)
        return f"{guard.key}: {shown}"
    if isinstance(guard, Not):
        return f"not {{{_describe(guard.term)}}}"
    if isinstance(guard, AnyOf):
        return "any of [" + "; ".join(_describe(t) for t in guard.terms) + "]"
    return "{" + ", ".join(_describe(t) for t in guard.terms) + "}"


Found = tuple[_Search, _Reached]
# Where a condition or guard is shown to matter: the search, the node reached, the node playing
# `node`, the admin action tried there (None: the step into the node reached), that step
# prepared.
_Witness = tuple[_Search, _Reached, int, EventInput | None, Prepared]


class _Collector:
    """Visits the search's states and steps; keeps the best path to each target.

    The best is the cheapest: for a condition, guard, effect or timer condition target first
    one where what the target is about shows on the page, then by `_Reached.cost` (a path whose
    observations pin what it did, then a short one). Ties keep the first found, so the choice
    is deterministic.

    A condition target `condition:T:i` is a step where T's trigger happens and every condition
    of T's guard holds but the i-th (T must not fire there, and a spec without that condition
    would fire it: the case shows that each condition matters). A guard target `guard:T` is a
    step where T's trigger happens, its guard does not hold and firing it would change the
    page. A timer condition target `while:X:i` is a configuration where every condition of
    timer X's `while` holds but the i-th (the timer must not run). An effect target
    `effect:T:e` is a step where T fires and its effect e changes the configuration."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.costs: dict[tuple[str, Any], tuple[int, ...]] = {}
        self.rules: dict[str, Found] = {}
        self.reasons: dict[str, Found] = {}
        # (transition, condition) -> where, the node playing `node`, the admin action tried
        self.conditions: dict[tuple[str, int], _Witness] = {}
        self.guards: dict[str, _Witness] = {}
        self.effects: dict[tuple[str, str], Found] = {}
        self.whiles: dict[tuple[str, int], tuple[_Search, _Reached, int]] = {}
        self.lookaheads: dict[tuple[str, int], int] = {}
        self.pairs: dict[tuple[str, str], Found] = {}
        self.starts: dict[str, list[tuple[_Search, _Reached, RunningTimer | None]]] = {}
        self.offered: dict[str, tuple[_Search, _Reached, EventInput]] = {}
        self.refused: dict[str, tuple[_Search, _Reached, EventInput]] = {}
        self.admin = [e for e in spec.events.values() if e.kind == "admin"]
        self.user_timer = spec.user_timer.id
        self.by_trigger: dict[str, list[Transition]] = {}
        for t in spec.transitions:
            for trigger in t.on:
                self.by_trigger.setdefault(trigger, []).append(t)
        self.by_id = {t.id: t for t in spec.transitions}

    def _better(self, kind: str, key: Any, cost: tuple[int, ...]) -> bool:
        """Is `cost` lower than that of the witness kept for the target? (Then it is kept.)"""
        old = self.costs.get((kind, key))
        if old is not None and old <= cost:
            return False
        self.costs[(kind, key)] = cost
        return True

    def visitor(self, search: _Search) -> Callable[[tuple[Any, ...], _Reached], None]:
        model = search.model
        checks = {
            t.id: tuple(model.compile(c) for c in _conjuncts(t.when)) for t in self.spec.transitions
        }
        timer_checks = {
            x.id: tuple(model.compile(c) for c in _conjuncts(x.while_))
            for x in self.spec.timers.values()
            if x.per == "node"
        }

        def steps(reached: _Reached, edge: _Edge) -> None:
            last = len(edge.steps) - 1
            for i, (before, step) in enumerate(zip(edge.befores, edge.steps, strict=True)):
                if step.rule is not None:
                    self._rule(search, reached, before, step, i == last)
                    self._reason(search, reached, step)
                    self._effects(search, reached, before, step, i == last)
                inp = step.input
                if isinstance(inp, EventInput | Fire):
                    self._conditions(search, reached, before, step, checks, i == last)
            if edge.event is not None:
                step = edge.steps[0]
                for timer in step.started:
                    found = self.starts.setdefault(timer.name, [])
                    if len(found) < 12:
                        found.append((search, reached, timer))
                # The search has no users: whether a client starts waiting at this event is
                # found by replaying the path with users (_relogin_start).
                found = self.starts.setdefault(self.user_timer, [])
                if len(found) < 40:
                    found.append((search, reached, None))

        def visit(key: tuple[Any, ...], reached: _Reached) -> None:
            if reached.edge is not None:
                steps(reached, reached.edge)
            if not key:
                return  # a step to a state reached before: only its steps count
            config = reached.config
            pair = _shown_states(model, config)
            if self._better("pair", pair, reached.cost):
                self.pairs[pair] = (search, reached)
            here = {(a.name, a.node) for a in offered(model, config)}
            for event in self.admin:
                nodes: tuple[int | None, ...] = (0, 1) if "node" in event.fields else (None,)
                for n in nodes:
                    inp = EventInput(event.id, n)
                    is_offered = (event.id, n) in here
                    name = _action_name(inp)
                    kind = "offered" if is_offered else "refused"
                    if self._better(kind, name, reached.cost):
                        target = self.offered if is_offered else self.refused
                        target[name] = (search, reached, inp)
                    self._admin_conditions(search, reached, inp, checks)
            self._whiles(search, reached, timer_checks)

        return visit

    def _whiles(
        self,
        search: _Search,
        reached: _Reached,
        timer_checks: Mapping[str, tuple[Check, ...]],
    ) -> None:
        """Each node timer's conditions, in a configuration the search reached: best where
        the timer, had it started there, would change the page by firing - at once, or when
        it is due if nothing else happens meanwhile (the case observes then)."""
        config = reached.config
        shown: dict[str, Any] | None = None
        for timer_id, parts in timer_checks.items():
            for n in (0, 1):
                failing = [i for i, c in enumerate(parts) if not c(config, n, None)]
                if len(failing) != 1:
                    continue
                key = (timer_id, failing[0])
                old = self.costs.get(("while", key))
                if old is not None and old[0] == 0 and old[1:] <= reached.cost:
                    continue  # a visible witness no worse is kept already
                if shown is None:
                    shown = _observation(search.model, config)
                rest = parts[: failing[0]] + parts[failing[0] + 1 :]
                # Looking ahead costs a run of the clock: a target whose witnesses show nothing
                # in LOOKAHEADS tries is left with its first (its condition is likely one no
                # trace can show to matter).
                tries = self.lookaheads.get(key, 0)
                self.lookaheads[key] = tries + 1
                hidden = not (
                    _fire_shows(search.model, config, timer_id, n, shown)
                    or (
                        tries < LOOKAHEADS
                        and _fire_shows_when_due(search.model, config, timer_id, n, rest)
                    )
                )
                if self._better("while", key, (hidden, *reached.cost)):
                    self.whiles[key] = (search, reached, n)

    def _rule(
        self, search: _Search, reached: _Reached, before: Config, step: Step, last: bool
    ) -> None:
        """The rule that fired: best where the page after it is not the one the step would
        have shown without it (a rule that only confirms the state it finds shows nothing)."""
        rule = step.rule or ""
        old = self.costs.get(("rule", rule))
        if old is not None and old <= (0, *reached.cost):
            return
        assert isinstance(step.input, EventInput | Fire)
        model = search.model
        without = outcome(model, prepare(model, before, step.input), None, None).config
        hidden = not last or _observation(model, without) == _observation(model, step.config)
        if self._better("rule", rule, (hidden, *reached.cost)):
            self.rules[rule] = (search, reached)

    def _reason(self, search: _Search, reached: _Reached, step: Step) -> None:
        rule = self.by_id[step.rule or ""]
        assert step.node is not None
        for side, target, index in (
            ("node", rule.node, step.node),
            ("peer", rule.peer, 1 - step.node),
        ):
            choice = target.reason
            if isinstance(choice, ReasonChoice) and choice.then != choice.otherwise:
                got = step.config.nodes[index].reason
                branch = "then" if got == choice.then else "else"
                item = f"{rule.id}:{side}:{branch}"
                if self._better("reason", item, reached.cost):
                    self.reasons[item] = (search, reached)

    def _effects(
        self, search: _Search, reached: _Reached, before: Config, step: Step, last: bool
    ) -> None:
        """Each effect of the rule that fired, where leaving it out changes the outcome (best:
        where the page shows it at once, the step being the last before the observation)."""
        rule = self.by_id[step.rule or ""]
        if not rule.effects or step.node is None or not isinstance(step.input, EventInput | Fire):
            return
        if all(
            (old := self.costs.get(("effect", (rule.id, e)))) is not None
            and old <= (0, *reached.cost)
            for e in rule.effects
        ):
            return  # visible witnesses no worse are kept already
        prepared = prepare(search.model, before, step.input)
        shown: dict[str, Any] | None = None
        for effect in rule.effects:
            without = dataclasses.replace(
                rule, effects=tuple(e for e in rule.effects if e != effect)
            )
            other = outcome(search.model, prepared, without, step.node).config
            if other == step.config:
                continue
            if shown is None:
                shown = _observation(search.model, step.config)
            hidden = not last or _observation(search.model, other) == shown
            if self._better("effect", (rule.id, effect), (hidden, *reached.cost)):
                self.effects[(rule.id, effect)] = (search, reached)

    def _admin_conditions(
        self,
        search: _Search,
        reached: _Reached,
        inp: EventInput,
        checks: Mapping[str, tuple[Check, ...]],
    ) -> None:
        """An admin action's transitions' conditions, in a configuration the search reached:
        admin actions are steps only where offered, so the refused ones are found here."""
        prepared = prepare(search.model, reached.config, inp)
        outcomes: list[Config] = []

        def actual() -> Sequence[Config]:
            if not outcomes:
                outcomes.extend(s.config for s in apply(search.model, reached.config, inp))
            return outcomes

        for t in self.by_trigger.get(inp.name, ()):
            parts = checks[t.id]
            for n in prepared.bindings:
                failing = [i for i, c in enumerate(parts) if not c(prepared.world, n, inp)]
                if failing:
                    witness = (search, reached, n, inp, prepared)
                    self._guard_witness(search, t, failing, witness, actual, reached.cost)

    def _conditions(
        self,
        search: _Search,
        reached: _Reached,
        before: Config,
        step: Step,
        checks: Mapping[str, tuple[Check, ...]],
        last: bool,
    ) -> None:
        assert isinstance(step.input, EventInput | Fire)
        prepared = prepare(search.model, before, step.input)
        if not prepared.changed or prepared.admin:
            return
        # The page a condition's negative twin compares with is the one after the step, and
        # only a step that is the last before the observation has one to compare.
        cost = reached.cost if last else (reached.cost[0] + 1, reached.cost[1])
        for t in self.by_trigger.get(prepared.trigger, ()):
            parts = checks[t.id]
            for n in prepared.bindings:
                failing = [
                    i for i, c in enumerate(parts) if not c(prepared.world, n, prepared.event)
                ]
                if failing:
                    witness = (search, reached, n, None, prepared)
                    self._guard_witness(search, t, failing, witness, lambda: [step.config], cost)

    def _guard_witness(
        self,
        search: _Search,
        t: Transition,
        failing: Sequence[int],
        witness: _Witness,
        actual: Callable[[], Sequence[Config]],
        cost: tuple[int, int],
    ) -> None:
        """A step where T's trigger happens and its guard fails: a witness of the one failing
        condition, and of the guard as a whole. Visible (cost first 0) where firing T anyway
        would show another page than every outcome the spec has there (none: an admin action
        refused, whose negative case is the event line itself)."""
        single = (t.id, failing[0]) if len(failing) == 1 else None
        olds = [self.costs.get(("guard", t.id))]
        if single is not None:
            olds.append(self.costs.get(("condition", single)))
        if all(o is not None and o[0] == 0 and o[1:] <= cost for o in olds):
            return  # visible witnesses no worse are kept already
        model = search.model
        _, _, n, _, prepared = witness
        fired = _observation(model, outcome(model, prepared, t, n).config)
        hidden = any(_observation(model, c) == fired for c in actual())
        full = (hidden, *cost)
        if single is not None and self._better("condition", single, full):
            self.conditions[single] = witness
        if not hidden and self._better("guard", t.id, full):
            self.guards[t.id] = witness


def _fire_shows(
    model: Model, config: Config, timer_id: str, n: int, shown: Mapping[str, Any]
) -> bool:
    """Would timer `timer_id` firing on node `n` now (were it running) change the page?"""
    prepared = Prepared(Fire(timer_id, n), timer_id, config, None, (n,))
    return any(
        _observation(model, outcome(model, prepared, t, m).config) != shown
        for t, m in matching(model, prepared)
    )


def _fire_shows_when_due(
    model: Model, config: Config, timer_id: str, n: int, rest: Sequence[Check]
) -> bool:
    """Would timer `timer_id`, started on node `n` now and kept running while the conditions
    `rest` (its own but the one that fails now) hold, change the page by firing when due - the
    clock running on, what is due firing at its deadline, no event?"""
    due = config.now + next(x.high for x in model.node_timers if x.name == timer_id)
    while (limit := deadline(model, config)) is not None and limit <= due:
        config = advance(model, config, limit)
        pending = forced(model, config)
        if not pending:  # pragma: no cover - a deadline is when something is forced
            break
        config = apply(model, config, pending[0])[0].config
        if not all(c(config, n, None) for c in rest):
            return False  # it would be cancelled first
    config = advance(model, config, due)
    return _fire_shows(model, config, timer_id, n, _observation(model, config))


def _case_path(search: _Search, reached: _Reached) -> tuple[str, list[_Op]]:
    start, _, edges = search.path(reached)
    return start, _path_ops(edges)


def _transition_plans(spec: Spec, col: _Collector) -> Iterator[_Plan]:
    for t in spec.transitions:
        found = col.rules.get(t.id)
        if found is not None:
            start, ops = _case_path(*found)
            yield _Plan(
                f"transition {t.id} fires: {t.summary}",
                [f"transition:{t.id}"],
                found[0].variant,
                start,
                tuple(ops),
                slug=f"transition-{t.id}",
                pin=True,
            )
        for side in ("node", "peer"):
            choice = getattr(t, side).reason
            if not isinstance(choice, ReasonChoice) or choice.then == choice.otherwise:
                continue
            for branch in ("then", "else"):
                item = f"{t.id}:{side}:{branch}"
                got = col.reasons.get(item)
                if got is None:
                    continue
                start, ops = _case_path(*got)
                reason = choice.then if branch == "then" else choice.otherwise
                yield _Plan(
                    f"transition {t.id} gives the {side} reason {spec.reasons[reason].label}",
                    [f"reason:{item}"],
                    got[0].variant,
                    start,
                    tuple(ops),
                    slug=f"reason-{t.id}-{side}-{branch}",
                    pin=True,
                )


def _condition_plans(spec: Spec, col: _Collector) -> Iterator[_Plan]:
    """Each condition of each transition's guard shown to matter: the trigger happens with
    every other condition holding. An admin action that no other transition takes there is
    refused: the event line is a negative case's divergence. And each guard shown to matter as
    a whole, where none of its conditions' cases shows it (a step where the guard fails and
    firing the transition anyway would change the page)."""
    for t in spec.transitions:
        shown_whole = False
        for i, part in enumerate(_conjuncts(t.when)):
            found = col.conditions.get((t.id, i))
            if found is None:
                continue
            plans = list(
                _witness_plans(
                    t,
                    found,
                    f"condition {i + 1} of {t.id}",
                    f"without {_describe(part)}",
                    f"condition-{t.id}-{i + 1}",
                    f"condition:{t.id}:{i + 1}",
                )
            )
            shown_whole = shown_whole or any(p.negative for p in plans)
            yield from plans
        guard = col.guards.get(t.id)
        if guard is not None and not shown_whole:
            yield from _witness_plans(
                t, guard, f"guard of {t.id}", "where its guard fails", f"guard-{t.id}", ""
            )


def _witness_plans(
    t: Transition, witness: _Witness, name: str, without: str, slug: str, item: str
) -> Iterator[_Plan]:
    """The cases of a step where transition `t`'s trigger happens and its guard fails, covering
    `item` (if any): the path (t does not fire), and its negative twin, the page as if t had
    fired - or the admin action refused. A negative case also shows that t's guard matters as
    a whole (`guard:T`)."""
    search, reached, n, inp, prepared = witness
    start, ops = _case_path(search, reached)
    # The negative twin: what the page would show had the transition fired anyway.
    # A spec without the condition allows it; this spec must not.
    fired = outcome(search.model, prepared, t, n).config
    edge = reached.edge
    what = f"{name}: it does not fire {without}"
    negative = False
    if inp is not None:  # an admin action, tried in the configuration reached
        now = reached.config.now
        negative = not any(
            (a.name, a.node) == (inp.name, inp.node) for a in offered(search.model, reached.config)
        )
        ops = [*ops, _Event(now, inp)] + ([] if negative else [_Look(now)])
        what += f" ({_action_name(inp)}{' is refused' if negative else ''})"
    else:
        what += f" ({NODE_NAMES[n]} as node)"
    mine = [item] if item else []
    whole = [*mine, f"guard:{t.id}"]
    covers = whole if negative else (mine or whole)
    yield _Plan(what, covers, search.variant, start, tuple(ops), negative, slug=slug, pin=True)
    if negative:
        return  # refused: the event line is the negative case
    if inp is not None:  # compared with what the action does instead
        end = apply(search.model, reached.config, inp)[0].config
    elif edge is not None and edge.steps[-1].input == prepared.inp:
        end = edge.end
    else:
        return  # the step is not the path's last: no page to compare
    shown = _observation(search.model, end)
    claim = {k: v for k, v in _observation(search.model, fired).items() if shown.get(k) != v}
    if claim:
        yield _Plan(
            f"{name}: the page as if it fired {without} does not conform",
            whole,
            search.variant,
            start,
            _instead_of_last_look(ops, _Claim(end.now, claim)),
            negative=True,
            slug=f"{slug}-fired",
            pin=True,
        )


def _instead_of_last_look(ops: Sequence[_Op], claim: _Claim) -> tuple[_Op, ...]:
    """The operations with `claim` in place of their final observation when that is at the
    claim's time. A negative claim must be the first record at that time to see the step:
    after an observation of what the spec did there, what the spec *might* have done is ruled
    out already, so the claim would diverge under a spec that allows it too, and tell nothing."""
    if ops and isinstance(ops[-1], _Look) and ops[-1].t == claim.t:
        return (*ops[:-1], claim)
    return (*ops, claim)


def _effect_plans(spec: Spec, col: _Collector) -> Iterator[_Plan]:
    """Each effect of each transition shown to matter: a step where the transition fires and
    the effect changes the configuration. Where the page does not show the change at once
    (services started still show nothing), the file observes again after the next deadline,
    when what follows - an initialization with or without the services - tells it."""
    for t in spec.transitions:
        for effect in t.effects:
            found = col.effects.get((t.id, effect))
            if found is None:
                continue
            search, reached = found
            start, ops = _case_path(search, reached)
            due = deadline(search.model, reached.config)
            if due is not None:
                ops.append(_Look(due + EPSILON, always=True))
            yield _Plan(
                f"transition {t.id} fires with its effect {effect} changing what follows",
                [f"effect:{t.id}:{effect}"],
                search.variant,
                start,
                tuple(ops),
                slug=f"effect-{t.id}-{effect}",
                pin=True,
            )


def _admin_plans(spec: Spec, col: _Collector) -> Iterator[_Plan]:
    for name, (search, reached, inp) in col.offered.items():
        start, ops = _case_path(search, reached)
        t = reached.config.now
        yield _Plan(
            f"admin action {name}, offered",
            [f"admin:{name}:offered"],
            search.variant,
            start,
            (*ops, _Event(t, inp), _Look(t)),
            slug=f"admin-{name.replace(' ', '-')}-offered",
            pin=True,
        )
    for name, (search, reached, inp) in col.refused.items():
        start, ops = _case_path(search, reached)
        t = reached.config.now
        shown = _state_words(spec, _shown_states(search.model, reached.config))
        yield _Plan(
            f"admin action {name}, not offered while {shown}",
            [f"admin:{name}:refused"],
            search.variant,
            start,
            (*ops, _Event(t, inp)),
            negative=True,
            slug=f"admin-{name.replace(' ', '-')}-refused",
        )


def _while_plans(spec: Spec, col: _Collector) -> Iterator[_Plan]:
    """Each condition of each node timer's `while` shown to matter: with every other condition
    holding and this one not, the timer does not run - nothing happens for its whole window."""
    for timer in spec.timers.values():
        if timer.per != "node":
            continue
        for i, part in enumerate(_conjuncts(timer.while_)):
            found = col.whiles.get((timer.id, i))
            if found is None:
                continue
            search, reached, n = found
            start, ops = _case_path(search, reached)
            high = next(x.high for x in search.model.node_timers if x.name == timer.id)
            later = reached.config.now + high + EPSILON
            yield _Plan(
                f"timer {timer.id} does not run on {NODE_NAMES[n]} without {_describe(part)}",
                [f"while:{timer.id}:{i + 1}"],
                search.variant,
                start,
                (*ops, _Look(later, always=True)),
                slug=f"while-{timer.id}-{i + 1}",
                pin=True,
            )


def _pair_plans(spec: Spec, col: _Collector) -> Iterator[_Plan]:
    for pair, (search, reached) in col.pairs.items():
        start, ops = _case_path(search, reached)
        yield _Plan(
            f"state pair {_state_words(spec, pair)}",
            [f"pair:{pair[0]}|{pair[1]}"],
            search.variant,
            start,
            tuple(ops),
            slug=f"pair-{pair[0]}--{pair[1]}",
            pin=True,
        )


def _timer_plans(spec: Spec, col: _Collector, uncovered: dict[str, str]) -> Iterator[_Plan]:
    """The boundary cases of each timer, from the first start of it whose cases the spec pins
    (nothing else runs in its window, and firing changes what the page shows)."""
    for timer in spec.timers.values():
        tried = col.starts.get(timer.id, [])
        plans: list[_Plan] | None = None
        why = "the search never starts it"
        for search, reached, running in tried:
            plans, why = _boundary(spec, search, reached, running, timer.id)
            if plans is not None:
                break
        if plans is None:
            for side in _SIDES:
                uncovered[f"timer:{timer.id}:{side}"] = why
            continue
        yield from plans


_SIDES = (
    "before", "opens", "closes", "opens-fired", "closes-unfired", "after", "tolerance", "early",
    "late",
)  # fmt: skip


def _relogin_start(
    model: Model, start: str, edges: Sequence[_Edge]
) -> tuple[list[_Op], Config] | None:
    """Replay a user-less path with one user homed on each node, firing what is due at its
    deadline like the search did; the operations and the configuration after the last event,
    if at that event a client starts waiting to re-login."""
    config = initial_config(model, start, (1, 1))
    ops: list[_Op] = [_Look(0.0)]
    last: Config | None = None
    for edge in edges:
        target = edge.end.now if edge.event is None else edge.steps[0].config.now
        while (due := deadline(model, config)) is not None and due <= target:
            config = advance(model, config, due)
            pending = forced(model, config)
            if not pending:
                break
            config = apply(model, config, pending[0])[0].config
        config = advance(model, config, target)
        if edge.event is not None:
            inp = edge.event
            if inp.user is not None:
                return None
            results = apply(model, config, inp)
            if not results:
                return None
            config = results[0].config
            ops.append(_Event(target, inp))
            last = config
        ops.append(_Look(target))
    if last is None or not any(c.waiting_since == last.now for c in last.users):
        return None
    return ops, last


def _settle(model: Model, config: Config, until: float, keep: Input) -> Config | None:
    """Fire what is due up to `until`, each at its deadline; None if that touches `keep`."""
    while (due := deadline(model, config)) is not None and due <= until:
        config = advance(model, config, due)
        pending = forced(model, config)
        if keep in pending or (
            isinstance(keep, Relogin)
            and any(isinstance(p, Relogin) and p.user == keep.user for p in pending)
        ):
            return None
        config = apply(model, config, pending[0])[0].config
    if isinstance(keep, Fire) and config.timer(keep.timer, keep.node) is None:
        return None
    if isinstance(keep, Relogin) and config.count(keep.user) == 0:
        return None
    return advance(model, config, max(config.now, until)) if until > config.now else config


def _boundary(
    spec: Spec, search: _Search, reached: _Reached, running: RunningTimer | None, timer_id: str
) -> tuple[list[_Plan] | None, str]:
    model = search.model
    start, _, edges = search.path(reached)
    config = reached.config
    base: list[_Op]
    # The window: a node timer's own, or the re-login window of a client that starts waiting.
    if running is not None:
        live = config.timer(running.name, running.node)
        if live is None:
            return None, "it is cancelled by the step that starts it"
        low, high = live.earliest, live.latest
        fire: Input = Fire(live.name, live.node)
        where = f"on {NODE_NAMES[live.node]}"
        base = _path_ops(edges)
    else:
        replayed = _relogin_start(model, start, edges)
        if replayed is None:
            return None, "no client starts waiting where the search looked"
        base, config = replayed
        cohort = next(c for c in config.users if c.waiting_since == config.now)
        low = cohort.waiting_since + model.relogin_low
        high = cohort.waiting_since + model.relogin_high
        fire = Relogin(cohort.key, cohort.count)
        where = f"for {USER_NAMES[cohort.home]}"
    # What else is due before the window (less the tolerance) opens fires at its deadline, as
    # in the search; after that nothing else may happen until the widened window is over.
    t0 = config.now
    settled = _settle(model, config, low - TOLERANCE - EPSILON, fire)
    if settled is None:
        return None, "it fires or is cancelled before its window wherever the search starts it"
    config = settled
    horizon = high + TOLERANCE + EPSILON
    for t in config.timers:
        mine = isinstance(fire, Fire) and (t.name, t.node) == (fire.timer, fire.node)
        if not mine and t.earliest <= horizon:
            return None, "other timers run in its window wherever the search starts it"
    for c in config.users:
        mine = isinstance(fire, Relogin) and c.key == fire.user
        if c.waiting_since >= 0 and not mine and c.waiting_since + model.relogin_low <= horizon:
            return None, "other clients log in during its window wherever it starts"
    before = _observation(model, advance(model, config, high))
    fired = apply(model, advance(model, config, high), fire)
    if len(fired) != 1:
        return None, "its firing has several outcomes"
    after = _observation(model, fired[0].config)
    changed = {k: v for k, v in after.items() if before.get(k) != v}
    old = {k: before[k] for k in changed if k in before}
    if not changed:
        return None, "its firing changes nothing the page shows"
    name = f"timer {timer_id} {where}"
    variant = search.variant

    def plan(side: str, ops: Sequence[_Op], what: str, **kw: Any) -> _Plan:
        return _Plan(
            f"{name}, window [{low:g}, {high:g}]: {what}",
            [f"timer:{timer_id}:{side}"],
            variant,
            start,
            (*base, *ops),
            slug=f"timer-{timer_id}-{side}",
            **kw,
        )

    early = max(t0, low - EPSILON)
    late = high + EPSILON
    plans = [
        plan(
            "before",
            [_Look(early, always=True)],
            f"just before it may fire (t={early:g}): not fired",
        ),
        plan("opens", [_Look(low, always=True)], f"at t={low:g}, when it may fire"),
        plan("closes", [_Look(high, always=True)], f"at t={high:g}, when it must fire"),
        plan("opens-fired", [_Claim(low, changed)], f"already fired at t={low:g}: conforms"),
        plan("closes-unfired", [_Claim(high, old)], f"not yet fired at t={high:g}: conforms"),
        plan("after", [_Look(late, always=True)], f"just after it must have fired (t={late:g})"),
        plan(
            "tolerance",
            [_Claim(high + TOLERANCE, old)],
            f"unfired at t={high + TOLERANCE:g}: conforms only with --tolerance {TOLERANCE:g}",
            tolerance=TOLERANCE,
        ),
        plan(
            "late", [_Claim(late, old)], f"unfired at t={late:g}: does not conform", negative=True
        ),
    ]
    if low - EPSILON >= t0:
        plans.append(
            plan(
                "early",
                [_Claim(low - EPSILON, changed)],
                f"fired at t={low - EPSILON:g}, before its window: does not conform",
                negative=True,
            )
        )
    return plans, ""


def _param_plans(
    spec: Spec, fixed: Mapping[str, ParamValue], uncovered: dict[str, str]
) -> Iterator[_Plan]:
    """Each time parameter at each end of its range - alone, or where that makes a timer
    window impossible, with one other parameter at an end of its own range - in a header that
    must be accepted."""
    base = resolve_params(spec, fixed)
    seconds = [(n, p.range) for n, p in spec.parameters.items() if p.type == "seconds" and p.range]
    for name, p in spec.parameters.items():
        if p.type != "seconds" or p.range is None or name in fixed:
            continue
        for end, value in (("low", p.range[0]), ("high", p.range[1])):
            tries = [{name: value}] + [
                {name: value, other: bound}
                for other, bounds in seconds
                if other != name and other not in fixed
                for bound in bounds
            ]
            found = None
            for overrides_ in tries:
                try:
                    resolve_params(spec, {**fixed, **overrides_})
                except HasmError:
                    continue
                found = overrides_
                break
            if found is None:
                uncovered[f"param:{name}:{end}"] = (
                    "at this end of its range it makes a timer window impossible"
                )
                continue
            chosen = {**base, **{k: float(v) for k, v in found.items()}}
            overrides = {k: v for k, v in chosen.items() if v != spec.defaults[k]}
            variant = _Variant(chosen, overrides, f"{name}={value:g}")
            yield _Plan(
                f"parameter {name} at the {end} end of its range ({value:g} s)",
                [f"param:{name}:{end}"],
                variant,
                next(iter(spec.initial)),
                (_Look(0.0),),
                slug=f"param-{name}-{end}",
            )


def _out_of_range_cases(spec: Spec, fixed: Mapping[str, ParamValue], done: int) -> list[Case]:
    """Each time parameter just outside each end of its range: the header is bad input."""
    out: list[Case] = []
    users = dict(zip(USER_NAMES, NODE_NAMES, strict=True))
    for name, p in spec.parameters.items():
        if p.type != "seconds" or p.range is None or name in fixed:
            continue
        for end, value in (("below", p.range[0] - 1), ("above", p.range[1] + 1)):
            title = f"parameter {name} {end} its range ({value:g} s): the header is refused"
            header = {
                "hasm_trace": 1,
                "nodes": list(NODE_NAMES),
                "users": users,
                "params": {**{k: _json_value(v) for k, v in fixed.items()}, name: number(value)},
                "initial": next(iter(spec.initial)),
                "group": title,
            }
            text = _dumps(header) + "\n"
            if _verdict(spec, text) != ("input_error", 1):  # pragma: no cover - a range is checked
                continue
            name_ = f"{done + len(out) + 1:04d}-param-{name}-{end}.jsonl"
            out.append(Case(name_, title, (f"param:{name}:{end}",), text, "input_error", 1))
    return out


def _targets(
    spec: Spec, col: _Collector, fixed: Mapping[str, ParamValue]
) -> dict[str, tuple[str, ...]]:
    """Every coverage item the suite aims at, by kind."""
    reasons = []
    for t in spec.transitions:
        for side in ("node", "peer"):
            choice = getattr(t, side).reason
            if isinstance(choice, ReasonChoice) and choice.then != choice.otherwise:
                reasons += [f"{t.id}:{side}:then", f"{t.id}:{side}:else"]
    admin = []
    for e in spec.events.values():
        if e.kind == "admin":
            nodes: tuple[int | None, ...] = (0, 1) if "node" in e.fields else (None,)
            for n in nodes:
                name = _action_name(EventInput(e.id, n))
                admin += [f"{name}:offered", f"{name}:refused"]
    return {
        "transition": tuple(t.id for t in spec.transitions),
        "reason": tuple(reasons),
        "condition": tuple(
            f"{t.id}:{i + 1}" for t in spec.transitions for i in range(len(_conjuncts(t.when)))
        ),
        "guard": tuple(t.id for t in spec.transitions if _conjuncts(t.when)),
        "effect": tuple(f"{t.id}:{e}" for t in spec.transitions for e in t.effects),
        "while": tuple(
            f"{x.id}:{i + 1}"
            for x in spec.timers.values()
            if x.per == "node"
            for i in range(len(_conjuncts(x.while_)))
        ),
        "pair": tuple(f"{a}|{b}" for a, b in col.pairs),
        "timer": tuple(f"{t}:{s}" for t in spec.timers for s in _SIDES),
        "admin": tuple(admin),
        "param": tuple(
            f"{n}:{end}"
            for n, p in spec.parameters.items()
            if p.type == "seconds" and n not in fixed
            for end in ("low", "high", "below", "above")
        ),
    }


def generate(
    spec: Spec,
    params: Mapping[str, ParamValue] | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> Suite:
    """The conformance suite of `spec` under parameter overrides `params` (checked: a bad
    override raises ParameterError). Deterministic: the same spec and overrides give the same
    suite, byte for byte."""
    fixed = dict(params or {})
    col = _Collector(spec)
    for variant in _variants(spec, fixed):
        search = _Search(spec, variant)
        search.run(col.visitor(search))
        if progress is not None:
            progress(f"searched variant {variant.label}: {len(search.seen)} configurations")
    uncovered: dict[str, str] = {}
    plans = [
        *_transition_plans(spec, col),
        *_condition_plans(spec, col),
        *_effect_plans(spec, col),
        *_while_plans(spec, col),
        *_pair_plans(spec, col),
        *_timer_plans(spec, col, uncovered),
        *_admin_plans(spec, col),
        *_param_plans(spec, fixed, uncovered),
    ]
    cases = _write_cases(spec, plans, uncovered, progress, fixed)
    cases += _out_of_range_cases(spec, fixed, len(cases))
    targets = _targets(spec, col, fixed)
    covered = {item for case in cases for item in case.covers}
    bound = (
        f"(events at instants, timers at their deadlines, at most {MAX_FAULTS} faults at "
        f"once, {MAX_DEPTH} steps)"
    )
    why = {
        "condition": "the search reached no step where the trigger happens with every other "
        "condition holding " + bound,
        "while": "the search reached no configuration where every other condition holds " + bound,
        "guard": "the search reached no step where the trigger happens, the guard fails and "
        "firing the transition would change the page " + bound,
        "effect": "the search reached no step where the transition fires and the effect "
        "changes anything " + bound,
    }
    for kind, items in targets.items():
        for item in items:
            key = f"{kind}:{item}"
            if key not in covered:
                uncovered.setdefault(key, why.get(kind, "not reached by the search " + bound))
    return Suite(spec.id, fixed, tuple(cases), targets, uncovered)


def _write_cases(
    spec: Spec,
    plans: Sequence[_Plan],
    uncovered: dict[str, str],
    progress: Callable[[str], None] | None,
    fixed: Mapping[str, ParamValue],
) -> list[Case]:
    """Write each plan's trace and check it; merge plans that give the same trace.

    A plan marked `pin` is also written with its variant's timer windows narrowed to their
    deadlines (`_narrowed`): the same events at the same times, every timer and client still
    due when the search fired it, but no earlier. With default windows a timer may have fired
    anywhere in [1, 60] s and what it started may have followed, so an observation after it
    pins little; narrowed, it pins what the step did. The narrowed twin of a positive case is
    kept where it pins some field at some time that the default one does not; that of a
    negative case where the default one is not refused (some timing the spec allows shows
    what it claims)."""
    # Plans that give the same file (same header but the title, same lines, same check) merge.
    by_text: dict[tuple[str, str, float], tuple[_Plan, str, int | None]] = {}
    merged: dict[tuple[str, str, float], list[str]] = {}
    narrow: dict[str, _Variant | None] = {}

    def add(plan: _Plan, written: _Written) -> None:
        key = (written.header, written.body, plan.tolerance)
        if key in by_text:
            merged[key] += plan.covers
            return
        by_text[key] = (plan, written.body, written.line)
        merged[key] = list(plan.covers)

    for plan in plans:
        written = _write_plan(spec, plan)
        if not written.why:
            add(plan, written)
        twin = None
        if plan.pin:
            if plan.variant.label not in narrow:
                narrow[plan.variant.label] = _narrowed(spec, plan.variant, fixed)
            variant = narrow[plan.variant.label]
            twin = None if variant is None else _narrowed_twin(plan, variant)
        kept = False
        # A positive twin where the default case is kept, a negative one where it is not.
        if twin is not None and plan.negative == bool(written.why):
            narrowed = _write_plan(spec, twin, strict=False)
            if not narrowed.why and (plan.negative or narrowed.pinned - written.pinned):
                add(twin, narrowed)
                kept = True
        if written.why and not kept:
            for item in plan.covers:
                uncovered[item] = written.why
    cases = []
    for number_, (key, (plan, body, line)) in enumerate(by_text.items(), 1):
        covers = tuple(dict.fromkeys(merged[key]))
        more = f" (and {len(covers) - 1} more)" if len(covers) > 1 else ""
        title = plan.title + more
        text = _header(plan.variant, plan.start, title) + "\n" + body + "\n"
        name = f"{number_:04d}-{_slug(plan.slug)}.jsonl"
        cases.append(
            Case(
                name,
                title,
                covers,
                text,
                "diverges" if plan.negative else "conforms",
                line,
                plan.tolerance,
                plan.negative or not any(isinstance(op, _Claim) for op in plan.ops),
            )
        )
    if progress is not None:
        progress(f"{len(cases)} cases")
    return cases


def _narrowed_twin(plan: _Plan, variant: _Variant) -> _Plan:
    return dataclasses.replace(
        plan,
        title=f"{plan.title} (timer windows narrowed to their deadlines)",
        variant=variant,
        slug=f"{plan.slug}-narrowed",
        pin=False,
    )


@dataclass(frozen=True)
class _Written:
    """A plan written: its header (without the title) and body, the divergent line of a
    negative case, what its observations pin (time, field), and why it does not get its
    expected verdict (empty: it does)."""

    header: str
    body: str
    line: int | None
    pinned: frozenset[tuple[float, str]]
    why: str


def _write_plan(spec: Spec, plan: _Plan, *, strict: bool = True) -> _Written:
    """Write a plan's trace and check it. The spec's own path must conform: else a defect of
    the search (SuiteError) - or, not `strict`, a case not to keep (its variant's narrowed
    windows may leave no behaviour that takes an admin action where the search did)."""
    writer = _Writer(spec, plan.variant, plan.start, "")
    try:
        writer.play(plan.ops, negative=plan.negative)
    except (ConformanceError, HasmError) as exc:
        if not strict:
            return _Written("", "", None, frozenset(), f"not written: {exc}")
        message = f"{plan.title}: the spec's own path does not conform: {exc}"
        raise SuiteError(message) from exc  # pragma: no cover - a defect of the search
    body = "\n".join(writer.lines[1:])
    line = len(writer.lines) if plan.negative else None
    ok, why = _expected(spec, writer, plan, line)
    return _Written(writer.lines[0], body, line, frozenset(writer.pinned), "" if ok else why)


def _narrowed(spec: Spec, variant: _Variant, fixed: Mapping[str, ParamValue]) -> _Variant | None:
    """The variant with every timer window as narrow as the parameter ranges allow, each
    window's close (the deadline) unchanged; None if nothing narrows.

    Only a time parameter that some window's opening reads and no window's close reads is
    moved (and none `fixed` or read by a guard): so every deadline, hence every path the search
    found (it fires everything at its deadline), is the same under the narrowed variant. Each
    such parameter takes, in spec order, the value among its range ends and the values that
    close some window entirely that leaves the windows narrowest in total and is accepted."""
    timers = list(spec.timers.values())
    closes = {p for t in timers for p in t.duration.max.params}
    read = params_read(spec_guards(spec, reasons=False, invariants="none"))
    values: dict[str, ParamValue] = dict(variant.params)

    def width(chosen: Mapping[str, ParamValue]) -> float:
        return sum(
            evaluate(t.duration.max, chosen) - evaluate(t.duration.min, chosen) for t in timers
        )

    for name, p in spec.parameters.items():
        opens = [t for t in timers if name in t.duration.min.params]
        if p.type != "seconds" or p.range is None or not opens:
            continue
        if name in closes or name in fixed or name in read:
            continue
        options: list[float] = [float(values[name]), *p.range]
        for t in opens:
            sign = sum(s for s, term in t.duration.min.terms if term == name)
            if sign:
                rest = evaluate(t.duration.min, values) - sign * float(values[name])
                options.append((evaluate(t.duration.max, values) - rest) / sign)
        best: tuple[float, int] | None = None
        for i, value in enumerate(options):
            chosen = {**values, name: value}
            overrides = {k: v for k, v in chosen.items() if v != spec.defaults[k]}
            if not _accepts(spec, overrides):
                continue
            if best is None or (width(chosen), i) < best:
                best = (width(chosen), i)
        if best is not None:
            values[name] = options[best[1]]
    if values == dict(variant.params):
        return None
    overrides = {k: v for k, v in values.items() if v != spec.defaults[k]}
    moved = ", ".join(f"{k}={_json_value(v)}" for k, v in values.items() if v != variant.params[k])
    return _Variant(values, overrides, f"{variant.label}; narrowed: {moved}")


def _accepts(spec: Spec, overrides: Mapping[str, ParamValue]) -> bool:
    try:
        resolve_params(spec, overrides)
    except HasmError:
        return False
    return True


def _expected(spec: Spec, writer: _Writer, plan: _Plan, line: int | None) -> tuple[bool, str]:
    """Does the written case get its expected verdict? (False, why) when the spec does not pin
    what the case claims."""
    text = writer.text()
    verdict = _verdict(spec, text, plan.tolerance)
    if plan.negative:
        if verdict != ("diverges", line):
            return False, "some behaviour of the spec allows what this negative case claims"
        return True, ""
    claims = any(isinstance(op, _Claim) for op in plan.ops)
    if verdict != ("conforms", None) and claims:
        return False, "the spec does not allow what this case claims here"
    if verdict != ("conforms", None):  # pragma: no cover - positive paths conform by construction
        raise SuiteError(f"{plan.title}: the spec's own path gives {verdict}")
    if plan.tolerance and _verdict(spec, text) == ("conforms", None):
        return False, "the claim conforms even without the tolerance: it tests nothing"
    return True, ""


def _slug(text: str) -> str:
    out = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)
    return out[:120]


# -- files ----------------------------------------------------------------------------------------
def write_suite(suite: Suite, out: Path) -> None:
    """Write the suite to the directory `out`: every case file and the index. The directory
    appears whole or not at all: it is written beside `out` and renamed into place, replacing
    a previous suite there; a directory that holds anything else is refused (InputError)."""
    out = Path(out)
    if out.exists():
        if not out.is_dir():
            raise InputError(Problem(str(out), None, "--out", "exists and is not a directory"))
        if any(out.iterdir()) and not (out / INDEX).is_file():
            raise InputError(
                Problem(
                    str(out),
                    None,
                    "--out",
                    "the directory holds files that are not a hasm suite",
                    "name a new or empty directory, or a previous suite's",
                )
            )
    parent = out.parent if str(out.parent) else Path(".")
    try:
        tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{out.name}.", suffix=".tmp"))
    except OSError as exc:
        raise InputError(
            Problem(str(out), None, "--out", f"cannot write here: {exc.strerror}")
        ) from exc
    try:
        for case in suite.cases:
            (tmp / case.name).write_text(case.text, encoding="utf-8", newline="\n")
        index = json.dumps(suite.index(), indent=2, ensure_ascii=False) + "\n"
        (tmp / INDEX).write_text(index, encoding="utf-8", newline="\n")
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a suite is for sharing
        if out.exists():
            old = Path(tempfile.mkdtemp(dir=parent, prefix=f".{out.name}.", suffix=".old"))
            os.replace(out, old / "suite")
            os.replace(tmp, out)
            shutil.rmtree(old)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


@dataclass(frozen=True)
class SuiteFile:
    """A case read back from a suite directory."""

    name: str
    text: str
    verdict: str
    line: int | None
    tolerance: float
    covers: tuple[str, ...] = field(default=())


def read_suite(directory: Path) -> list[SuiteFile]:
    """The cases of a suite directory, from its index; InputError, located, if it is not one."""
    directory = Path(directory)
    index_path = directory / INDEX
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            Problem(
                str(index_path),
                None,
                "",
                "no suite index here",
                "run `hasm generate --out DIR` first",
            )
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(Problem(str(index_path), None, "", f"not a suite index: {exc}")) from exc
    if not isinstance(index, dict) or index.get("hasm_suite") != SUITE_VERSION:
        raise InputError(
            Problem(
                str(index_path),
                1,
                "hasm_suite",
                f"not a hasm suite index of version {SUITE_VERSION}",
            )
        )
    out = []
    cases = index.get("cases")
    if not isinstance(cases, list):
        raise InputError(Problem(str(index_path), None, "cases", "the index lists no cases"))
    for i, case in enumerate(cases):
        where = f"cases[{i}]"
        try:
            name = case["file"]
            expect = case["expect"]
            verdict = expect["verdict"]
            line = expect.get("line")
            tolerance = float(case.get("tolerance", 0.0))
            covers = tuple(case.get("covers", ()))
            if verdict not in ("conforms", "diverges", "input_error") or not isinstance(name, str):
                raise ValueError(verdict)
            if not math.isfinite(tolerance) or tolerance < 0:
                raise ValueError(tolerance)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(
                Problem(str(index_path), None, where, f"not a case entry: {exc!r}")
            ) from exc
        path = directory / name
        if Path(name).name != name:
            raise InputError(
                Problem(str(index_path), None, f"{where}.file", "a case file is a plain name")
            )
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(Problem(str(path), None, "", f"cannot read the case: {exc}")) from exc
        out.append(SuiteFile(name, text, verdict, line, tolerance, covers))
    return out
