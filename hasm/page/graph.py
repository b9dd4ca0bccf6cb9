"""The explorer page's state space: the concrete configurations hasm's core reaches from a
starting point, nearest first and bounded, each with every step the page offers from it.

Nothing here knows a rule: every successor is `hasm.core.semantics.apply` of an input, and the
clock moves by `advance` to the next instant something becomes possible or due
(`next_instant`: a timer's window or a client's re-login window opening or closing). So a timer
with a window [earliest, latest] may be fired when its window opens, or time may pass to the
window's end, where it must fire: the two ends of what the spec leaves open.

Every answer to the spec's readings (`Model.reading_choices`: Cisco's open questions, a
behaviour follows one answer from start to end, on both nodes) has its own starting point, and
the page explores from each: a configuration carries its answer (`Node.readings`), so the
answers' configurations never mix and each answer's steps stay among its own. With no users, a
reading only whom a node serves depends on (`Model.hosting_readings`) changes nothing: the
answers that differ only there share one exploration, as `initial_configs` does.

Two bounds keep the page small: at most `max_states` configurations are embedded (the nearest
to each start, by `COST`: the stories of fewest events, each played out on the clock, come
first), and a step that would leave more than `max_faults` faults at once (`Config.faults`) is
shown but not taken. The state bound is shared fairly among the explorations: they take turns,
each settling its next nearest configuration, so each gets `max_states // n` of them (the first
`max_states % n` one more), and one that has nothing more to reach leaves its turns to the
others. A step to a configuration past the state bound is kept with no target: the page says
so, and how to widen the bound.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from hasm.core.config import NO_NODE, SIGNED_OUT, Config, Fire, Input, Relogin, Step
from hasm.core.model import Model
from hasm.core.search import Inputs
from hasm.core.semantics import advance, apply, enabled, initial_config, next_instant
from hasm.core.semantics import offered as offered_actions
from hasm.errors import InputError, Problem

__all__ = ["COST", "Bounds", "Edge", "EdgeKind", "Graph", "Limit", "explore_page", "input_words"]

EdgeKind = Literal["event", "admin", "fire", "relogin", "wait"]
# Why a step has no target: its configuration is past the state bound, or it breaks the fault bound.
Limit = Literal["states", "faults"]

# How far a step takes a configuration from the start, for choosing which ones to embed: an
# event or an action costs three times what time passing, a timer firing or a re-login does,
# so a story of a few events is embedded with its consequences played out (a failover to its
# completion and the clients' re-login) before the stories of more events. Internal steps
# still cost something: a timer that lapses and starts again forever cannot fill the page.
COST: dict[EdgeKind, int] = {"event": 3, "admin": 3, "fire": 1, "relogin": 1, "wait": 1}


@dataclass(frozen=True, slots=True)
class Bounds:
    """What the page embeds: `users` per node, signed in at the start; at most `max_states`
    configurations; at most `max_faults` faults at once; the spec's starting point `initial`."""

    users: int = 1
    max_states: int = 10_000  # 1,250 per answer to the three readings
    max_faults: int = 1
    initial: str = "normal"


@dataclass(frozen=True, slots=True)
class Edge:
    """One step the page offers: its kind, its words, the configuration it leads to (an index
    into `Graph.configs`, or None with the bound that stops it), and the rule that fired."""

    kind: EdgeKind
    words: str
    target: int | None
    limit: Limit | None = None
    rule: str | None = None


@dataclass(frozen=True, slots=True)
class Graph:
    """The embedded state space: `edges[i]` leave `configs[i]`; `answers[k]` is an answer to
    the readings (the readings answered yes, as `Model.reading_choices` lists them) and
    `starts[k]` its starting point's index (answer 0 is the default: none answered yes)."""

    model: Model
    nodes: tuple[str, str]
    bounds: Bounds
    configs: tuple[Config, ...]
    edges: tuple[tuple[Edge, ...], ...]
    answers: tuple[frozenset[str], ...]
    starts: tuple[int, ...]

    @property
    def complete(self) -> bool:
        """No step was cut by the state bound: every configuration within the fault bound that
        the page's steps reach is embedded."""
        return all(e.limit != "states" for out in self.edges for e in out)


_Found = tuple[EdgeKind, str, Config, str | None, bool]


def explore_page(model: Model, nodes: Sequence[str], bounds: Bounds) -> Graph:
    """The configurations nearest `bounds.initial` under every answer to the readings (see
    `COST`, and the module's note on how they share the state bound), each with its steps."""
    if bounds.initial not in model.spec.initial:
        known = ", ".join(sorted(model.spec.initial))
        why = f"unknown starting point {bounds.initial!r}"
        raise InputError(Problem("<command line>", None, "--initial", why, f"use one of: {known}"))
    names = (nodes[0], nodes[1])
    answers = model.reading_choices
    free = model.hosting_readings if bounds.users == 0 else frozenset()
    roots = list(dict.fromkeys(a - free for a in answers))
    if bounds.max_states < len(roots):
        # Each answer's start is embedded, or the page could not offer that answer at all.
        why = f"{bounds.max_states} is fewer than the {len(roots)} answers to the readings"
        raise InputError(
            Problem("<command line>", None, "--max-states", why, f"use at least {len(roots)}")
        )
    inputs = Inputs.of(model.spec, tuple(sorted(model.monitored)))
    users = (bounds.users, bounds.users)
    walks = [
        _nearest(model, names, initial_config(model, bounds.initial, users, r), inputs, bounds)
        for r in roots
    ]
    # Turns, one configuration each, in the answers' order: the bound shared fairly.
    blocks: list[list[tuple[Config, list[_Found]]]] = [[] for _ in walks]
    going = list(range(len(walks)))
    total = 0
    while going and total < bounds.max_states:
        for k in tuple(going):
            if total >= bounds.max_states:
                break
            item = next(walks[k], None)
            if item is None:
                going.remove(k)
                continue
            blocks[k].append(item)
            total += 1
    # Each answer's configurations together, nearest first: its start is its first.
    settled: dict[Config, int] = {}
    for block in blocks:
        for config, _ in block:
            settled[config] = len(settled)
    found = [out for block in blocks for _, out in block]
    first = [settled[block[0][0]] for block in blocks]
    edges = tuple(
        tuple(
            Edge(kind, words, None, "faults", rule)
            if faulty
            else Edge(
                kind, words, settled.get(target), None if target in settled else "states", rule
            )
            for kind, words, target, rule, faulty in out
        )
        for out in found
    )
    starts = tuple(first[roots.index(a - free)] for a in answers)
    return Graph(model, names, bounds, tuple(settled), edges, answers, starts)


def _nearest(
    model: Model, names: tuple[str, str], start: Config, inputs: Inputs, bounds: Bounds
) -> Iterator[tuple[Config, list[_Found]]]:
    """The configurations reachable from `start` within the fault bound, nearest first (see
    `COST`), each with its steps; the caller stops taking them at the state bound."""
    # Dijkstra's order, ties broken by when a configuration was first met: deterministic. A
    # configuration is embedded when it is settled, so the bound keeps the nearest ones.
    best = {start: 0}
    met = 0
    heap: list[tuple[int, int, Config]] = [(0, met, start)]
    settled: set[Config] = set()
    while heap:
        cost, _, config = heapq.heappop(heap)
        if config in settled:
            continue
        settled.add(config)
        out = list(_successors(model, names, config, inputs, bounds.max_faults))
        yield config, out
        for kind, _, target, _, faulty in out:
            if faulty:
                continue
            further = cost + COST[kind]
            if further < best.get(target, further + 1):
                best[target] = further
                met += 1
                heapq.heappush(heap, (further, met, target))


def _successors(
    model: Model, names: tuple[str, str], config: Config, inputs: Inputs, max_faults: int
) -> Iterator[tuple[EdgeKind, str, Config, str | None, bool]]:
    """Each step from `config`: its kind, words, target, rule, and whether it would leave
    more than `max_faults` faults at once; last, time passing to the next instant."""
    for kind, inp, steps in _steps(model, config, inputs):
        for k, step in enumerate(steps):
            words = input_words(model, names, inp)
            if len(steps) > 1:
                words += f" ({_outcome(names, step, k, len(steps))})"
            yield kind, words, step.config, step.rule, step.config.faults() > max_faults
    instant = next_instant(model, config)
    if instant is not None:
        later = advance(model, config, instant)
        yield "wait", f"let time pass to t={instant:g}", later, None, False


def _steps(
    model: Model, config: Config, inputs: Inputs
) -> Iterator[tuple[EdgeKind, Input, tuple[Step, ...]]]:
    """Every input the page offers in `config`, in a fixed order, with the core's successors:
    the environment's events (a node's services only while it is up: they all start with it),
    each user's sign-in and sign-out, the administrator actions the spec offers, then the
    timers and re-logins that may happen now."""
    admin = {e.id for e in model.spec.events.values() if e.kind == "admin"}
    for inp in (*inputs.events, *inputs.for_users(config)):
        if inp.name in admin or config.services_of_down_node(inp):
            continue
        steps = tuple(s for s in apply(model, config, inp) if s.changed)
        if steps:
            yield "event", inp, steps
    for action in offered_actions(model, config):
        yield "admin", action, apply(model, config, action)
    for choice in enabled(model, config):
        yield (
            ("fire" if isinstance(choice, Fire) else "relogin"),
            choice,
            apply(model, config, choice),
        )


def input_words(model: Model, nodes: tuple[str, str], inp: Input) -> str:
    """An input in the trace format's words: `service_stop presence_engine on IMPPub`, a timer
    firing, a client of a cohort re-logging in."""
    if isinstance(inp, Fire):
        return f"timer {inp.timer} on {nodes[inp.node]} fires"
    if isinstance(inp, Relogin):
        return f"a client of {_cohort(nodes, inp.user)} re-logs in"
    parts = [inp.name, *(p for p in (inp.service,) if p)]
    if inp.node is not None:
        parts.append(f"on {nodes[inp.node]}")
    if inp.user is not None:
        parts.append(f"by a user of {_cohort(nodes, inp.user)}")
    return " ".join(parts)


def _cohort(nodes: tuple[str, str], key: tuple[int, int, float]) -> str:
    home, session, since = key
    where = "no session" if session == NO_NODE else f"session on {nodes[session]}"
    if since == SIGNED_OUT:
        where += ", signed out"
    elif since >= 0:
        where += f", waiting to re-login since t={since:g}"
    return f"{nodes[home]} ({where})"


def _outcome(nodes: tuple[str, str], step: Step, k: int, n: int) -> str:
    """Which of an input's several successors a step is: the rule that fired, or where the
    users went."""
    if step.rule is not None:
        return f"rule {step.rule}" + (
            f" with node {nodes[step.node]}" if step.node is not None else ""
        )
    targets = ", ".join(_cohort(nodes, m.target) for m in step.moves)
    return f"outcome {k + 1} of {n}" + (f": {targets}" if targets else "")
