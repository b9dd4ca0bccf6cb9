"""Configurations of a redundancy group and the inputs that change them: small immutable values.

A configuration is everything that determines what can happen next: the virtual time, the HA
setting, the link, each node's SRM state and environment, the running timers (as deadline
windows) and the users. Users are kept as cohorts - a count per (home, session, re-login start) -
so 15,000 interchangeable users cost what 4 do. Nodes are indices 0 and 1; names belong to the
trace or scenario that drives the core.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import NamedTuple

__all__ = [
    "NOT_WAITING",
    "NO_NODE",
    "SIGNED_OUT",
    "Cohort",
    "Config",
    "EventInput",
    "Fire",
    "Input",
    "Move",
    "Node",
    "Relogin",
    "RunningTimer",
    "Step",
    "Undecided",
    "UserKey",
    "answered",
]

NO_NODE = -1  # a cohort's session: none
# A cohort's re-login start when it has none: the client is signed in and not waiting to
# re-login (with a session, or with none: a re-login or sign-in that found no node serving its
# home stopped, S8, until the user signs in) ...
NOT_WAITING = -1.0
# ... or the client is signed out. With a session, that session was kept (A-logout-session's
# other reading): the node still counts it until it stops serving it, and then the session ends
# with no re-login. With none, the client counts nowhere and never re-logs in. So every cohort
# holds only signed-in clients or only signed-out ones (hasm.oracle.clients reads that).
SIGNED_OUT = -2.0

# (home, session node or NO_NODE, re-login start or NOT_WAITING or SIGNED_OUT)
UserKey = tuple[int, int, float]


@dataclass(frozen=True, slots=True)
class Node:
    """One node: its SRM's recorded state and reason, and its environment."""

    state: str
    reason: str
    up: bool = True
    srm: bool = True
    stopped: frozenset[str] = frozenset()  # services stopped or failed (not those SRM idles)
    # The spec's readings (Cisco's open questions) this node's SRM answers yes, fixed from the
    # start: kept with the node so that every memo keyed by nodes tells the readings apart.
    readings: frozenset[str] = frozenset()
    # The readings not answered yet (the oracle's, hasm.oracle.oracle): the node stands for
    # every answer to them until a guard needs one (then `Undecided`). Empty for a search.
    undecided: frozenset[str] = frozenset()
    _hash: int | None = field(default=None, init=False, compare=False, repr=False)

    def __hash__(self) -> int:
        # Every memo of the semantics and the explorer is keyed by nodes: hash each value once.
        h = self._hash
        if h is None:
            h = hash(
                (self.state, self.reason, self.up, self.srm, self.stopped, self.readings)
                + ((self.undecided,) if self.undecided else ())
            )
            object.__setattr__(self, "_hash", h)
        return h


@dataclass(frozen=True, slots=True, order=True)
class RunningTimer:
    """A running node timer; it may fire from `earliest` and must fire by `latest`."""

    name: str
    node: int
    since: float
    earliest: float
    latest: float


class Cohort(NamedTuple):
    """`count` users who share a home node, a session node and a re-login start.

    A NamedTuple rather than a frozen dataclass: every re-login builds one, and tuples are
    built several times faster; it is just as immutable, hashable and ordered."""

    home: int
    session: int
    waiting_since: float
    count: int  # type: ignore[assignment]  # shadows tuple.count, which cohorts never use

    @property
    def key(self) -> UserKey:
        return (self.home, self.session, self.waiting_since)


@dataclass(frozen=True, slots=True)
class Config:
    """The whole group at one instant. Timers and cohorts are kept sorted, so equal
    configurations are equal values."""

    now: float
    ha_enabled: bool
    link_up: bool
    nodes: tuple[Node, Node]
    timers: tuple[RunningTimer, ...] = ()
    users: tuple[Cohort, ...] = ()
    _hash: int | None = field(default=None, init=False, compare=False, repr=False)

    def __hash__(self) -> int:
        # The oracle and the explorer keep sets of configurations: hash each value once.
        h = self._hash
        if h is None:
            h = hash((self.now, self.ha_enabled, self.link_up, self.nodes, self.timers, self.users))
            object.__setattr__(self, "_hash", h)
        return h

    def connected(self) -> bool:
        """The two SRMs hear each other's heartbeat."""
        a, b = self.nodes
        return self.link_up and a.up and a.srm and b.up and b.srm

    def faults(self) -> int:
        """How many faults the environment has now: each stopped service, node down, SRM
        stopped on a node that is up, and the link down counts one."""
        count = 0 if self.link_up else 1
        for n in self.nodes:
            count += len(n.stopped) + (not n.up) + (n.up and not n.srm)
        return count

    def services_of_down_node(self, inp: EventInput) -> bool:
        """Is `inp` a service stopping or starting on a node that is down? A search leaves such
        events out: a node's services all start with it, so they tell nothing apart."""
        return inp.service is not None and inp.node is not None and not self.nodes[inp.node].up

    def timer(self, name: str, node: int) -> RunningTimer | None:
        for t in self.timers:
            if t.name == name and t.node == node:
                return t
        return None

    def count(self, key: UserKey) -> int:
        for c in self.users:
            if c.key == key:
                return c.count
        return 0


class Undecided(Exception):  # a signal the oracle catches, not an error (no HasmError)
    """A guard needs the answer to a reading the configuration leaves open (`Node.undecided`).

    Not an error: whoever holds undecided configurations (the oracle) answers the reading both
    ways (`answered`) and takes the step again from each. Until a guard needs it, every answer
    takes the same steps, so one configuration stands for all of them exactly."""

    def __init__(self, reading: str) -> None:
        super().__init__(reading)
        self.reading = reading


def answered(config: Config, reading: str, yes: bool) -> Config:
    """`config` with the open `reading` answered `yes` or no on both nodes (a behaviour follows
    one answer on both)."""

    def node(n: Node) -> Node:
        return replace(
            n,
            readings=n.readings | {reading} if yes else n.readings,
            undecided=n.undecided - {reading},
        )

    a, b = config.nodes
    return replace(config, nodes=(node(a), node(b)))


# -- inputs ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class EventInput:
    """An event of trace format v1, with nodes as indices and a user as its cohort key."""

    name: str
    node: int | None = None
    service: str | None = None
    user: UserKey | None = None


@dataclass(frozen=True, slots=True)
class Fire:
    """A running node timer fires."""

    timer: str
    node: int


@dataclass(frozen=True, slots=True)
class Relogin:
    """`count` waiting clients of the cohort `user` log in again (one, unless the oracle
    already knows how many did: clients of one cohort all land on the same node)."""

    user: UserKey
    count: int = 1


Input = EventInput | Fire | Relogin


@dataclass(frozen=True, slots=True)
class Move:
    """`count` users went from one cohort to another in a step."""

    source: UserKey
    target: UserKey
    count: int


@dataclass(frozen=True, slots=True)
class Step:
    """One applied input: the configuration after it, and what happened on the way."""

    input: Input
    config: Config
    rule: str | None  # the transition that fired, if any
    node: int | None  # the node that played `node` in that transition
    started: tuple[RunningTimer, ...] = ()
    cancelled: tuple[RunningTimer, ...] = ()
    moves: tuple[Move, ...] = ()
    fired: RunningTimer | None = None  # the timer that fired, for a Fire input
    changed: bool = True  # False when an environment event found nothing to change
