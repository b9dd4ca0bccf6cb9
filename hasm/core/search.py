"""The search kernel: what the explorer's and the suite generator's breadth-first searches share.

Both searches walk the configurations of the semantic core breadth first, each with its own
abstract state (its key) and its own loop. What they have in common lives here:

- the **inputs** tried in a configuration: every event of the spec with every node, every
  service the search tells apart (`searched_services`) and every cohort (`Inputs`);
- the **parameter variants**: each boolean parameter a guard reads, both ways (`switches`,
  `settings`) - which guards, and which way first, each caller says;
- **node-swap symmetry**: a spec is written once for `node` and `peer`, so a configuration and
  its mirror image (the nodes' roles swapped) are reached alike (`mirror`);
- **path rebuilding**: from the map of each state reached to the state it was first reached
  from, the steps from a start (`path`);
- the **fault bound**: how many faults (`Config.faults`) may hold at once is the caller's
  parameter (`bounded`).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from hasm.core.config import NO_NODE, Cohort, Config, EventInput, Step
from hasm.spec.guards import InvariantGuards, guard_tests, named_services, params_read, spec_guards
from hasm.spec.model import Spec

__all__ = [
    "MAX_FAULTS",
    "Inputs",
    "Parented",
    "bounded",
    "mirror",
    "mirror_node",
    "mirror_session",
    "path",
    "searched_services",
    "settings",
    "switches",
]


# -- the inputs tried ------------------------------------------------------------------------------
def searched_services(
    spec: Spec, monitored: frozenset[str], *, every_named: bool, max_faults: int = 1
) -> tuple[str, ...]:
    """The services a search stops and starts when `monitored` are monitored: each one a guard
    names (`named_services`), sorted, then one representative of the other monitored services
    (the first by name): a service no guard names behaves like any other such service. Two of
    them down at once behave like one of them unless a timer counts services one by one
    (`per: service`): then as many representatives as faults may hold at once.

    With `every_named`, every named service of the spec. Without, a named service that is not
    monitored is left out unless a guard tests an event's service: `service_down` sees only
    monitored services, so stopping it changes nothing a guard can see - it would only spend
    the fault bound."""
    named = named_services(spec)
    if every_named:
        kept = sorted(named & set(spec.services))
    else:
        by_event = {
            name
            for g in spec_guards(spec)
            for t in guard_tests(g)
            if t.subject == "event"
            for name in (t.value if isinstance(t.value, tuple) else ())
        }
        kept = sorted(s for s in named if s in monitored or s in by_event)
    others = sorted(monitored - named)
    one_by_one = any(t.service is not None for t in spec.timers.values())
    return (*kept, *others[: max(1, max_faults) if one_by_one else 1])


# How many faults (stopped services, nodes down, SRMs stopped, the link down) may hold at once
# by default, in the verifier and in a trace that starts mid-incident: the single failure a
# pair is built to survive.
MAX_FAULTS = 1


@dataclass(frozen=True)
class Inputs:
    """The events a search tries: `events`, every event of the spec that names no user, with
    every node and service it can take, in spec order; and `user_events`, the events of a user,
    tried with every cohort of the configuration (`for_users`)."""

    events: tuple[EventInput, ...]
    user_events: tuple[str, ...]

    @classmethod
    def of(cls, spec: Spec, services: tuple[str, ...]) -> Inputs:
        """The inputs of `spec`, its service events with each of `services`."""
        events: list[EventInput] = []
        user_events: list[str] = []
        for event in spec.events.values():
            if "user" in event.fields:
                user_events.append(event.id)
                continue
            nodes: tuple[int | None, ...] = (0, 1) if "node" in event.fields else (None,)
            chosen: tuple[str | None, ...] = services if "service" in event.fields else (None,)
            events += [EventInput(event.id, n, s) for n in nodes for s in chosen]
        return cls(tuple(events), tuple(user_events))

    def for_users(self, config: Config) -> Iterator[EventInput]:
        """Each user event with each cohort of `config`."""
        for name in self.user_events:
            for c in config.users:
                yield EventInput(name, user=c.key)


def bounded(steps: Iterable[Step], max_faults: int) -> list[Step]:
    """The steps that leave at most `max_faults` faults at once (`Config.faults`): how much the
    environment may have gone wrong at one time is each search's bound."""
    return [s for s in steps if s.config.faults() <= max_faults]


# -- parameter variants ----------------------------------------------------------------------------
def switches(
    spec: Spec,
    fixed: Iterable[str] = (),
    *,
    reasons: bool = True,
    invariants: InvariantGuards = "all",
) -> list[str]:
    """The boolean parameters that a guard reads and `fixed` does not name, in spec order: each
    changes what the spec does. Which guards count is `spec_guards`' `reasons` and
    `invariants`."""
    read = params_read(spec_guards(spec, reasons=reasons, invariants=invariants))
    skip = set(fixed)
    return [
        name
        for name, p in spec.parameters.items()
        if p.type == "boolean" and name in read and name not in skip
    ]


def settings(
    spec: Spec, names: Iterable[str], *, default_first: bool = True
) -> Iterator[dict[str, bool]]:
    """Every setting of the boolean parameters `names`, each both ways, the last one changing
    fastest: each the spec's default first, or (not `default_first`) false first."""
    names = list(names)
    ways = [
        (bool(spec.defaults[n]), not spec.defaults[n]) if default_first else (False, True)
        for n in names
    ]
    for values in itertools.product(*ways):
        yield dict(zip(names, values, strict=True))


# -- node-swap symmetry ----------------------------------------------------------------------------
def mirror_node(node: int) -> int:
    """The node that plays `node`'s role in the mirror image."""
    return 1 - node


def mirror_session(session: int) -> int:
    """A client's session node in the mirror image (no session stays none)."""
    return session if session == NO_NODE else 1 - session


def mirror(config: Config) -> Config:
    """The configuration with the two nodes' roles swapped. The semantics treats the nodes
    alike (rules are written for `node` and `peer`, the starting points are symmetric), so what
    one reaches the other reaches mirrored: a search need explore only one of the two."""
    return Config(
        config.now,
        config.ha_enabled,
        config.link_up,
        (config.nodes[1], config.nodes[0]),
        tuple(sorted(dataclasses.replace(t, node=mirror_node(t.node)) for t in config.timers)),
        tuple(
            sorted(
                Cohort(mirror_node(c.home), mirror_session(c.session), c.waiting_since, c.count)
                for c in config.users
            )
        ),
    )


# -- paths -----------------------------------------------------------------------------------------
class Parented(Protocol):
    """A state a search reached: `parent` is the key of the state it was first reached from
    (None for a start)."""

    @property
    def parent(self) -> Any: ...


N = TypeVar("N", bound=Parented)
T = TypeVar("T")


def path(seen: Mapping[Any, N], last: N, step: Callable[[N], T | None]) -> tuple[N, list[T]]:
    """The path to `last` through `seen` (each state by its key): the start it leads from, and
    `step` of each state on the way after the start, in order (None, as for a clock move that
    a caller does not record, adds nothing)."""
    steps: list[T] = []
    node = last
    while node.parent is not None:
        got = step(node)
        if got is not None:
            steps.append(got)
        node = seen[node.parent]
    steps.reverse()
    return node, steps
