"""The frozen data of a loaded spec: what the YAML says, validated, with nothing evaluated."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

__all__ = [
    "EFFECT_FIELDS",
    "FAULT_ONLY_EFFECTS",
    "PAGE_VOCABULARY",
    "TRUE",
    "USER_EFFECTS",
    "Acceptance",
    "Advice",
    "All",
    "AllowedPair",
    "AnyOf",
    "Assumption",
    "Display",
    "Duration",
    "Event",
    "EventField",
    "EventKind",
    "Expr",
    "Guard",
    "Hosts",
    "InitialPoint",
    "Invariant",
    "Not",
    "PairSide",
    "ParamValue",
    "Parameter",
    "Reading",
    "Reason",
    "ReasonChoice",
    "Service",
    "Source",
    "Spec",
    "State",
    "StatePair",
    "Subject",
    "Target",
    "Test",
    "TestValue",
    "Timer",
    "Transition",
    "Unserved",
    "Vocabulary",
    "VocabularyTerm",
]

ParamValue = bool | float
Subject = Literal["group", "node", "peer", "param", "event", "reading"]
TestValue = bool | float | str | tuple[str, ...]


# -- guards: conditions on a configuration, as data ------------------------------------------
@dataclass(frozen=True, slots=True)
class Test:
    """One condition, e.g. `node.state: [idle, failed_over]` or `connected: true`."""

    subject: Subject
    prop: str
    value: TestValue

    @property
    def key(self) -> str:
        return self.prop if self.subject == "group" else f"{self.subject}.{self.prop}"


@dataclass(frozen=True, slots=True)
class All:
    """Every term holds (a YAML mapping of conditions)."""

    terms: tuple[Guard, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """At least one term holds (`any: [...]`)."""

    terms: tuple[Guard, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The term does not hold (`not: {...}`)."""

    term: Guard


Guard = Test | All | AnyOf | Not
TRUE = All(())


# -- durations: parameter arithmetic, as data ------------------------------------------------
@dataclass(frozen=True, slots=True)
class Expr:
    """A sum of signed terms, each a parameter name or a number: `keep_alive_timeout_s - 15`."""

    terms: tuple[tuple[int, str | float], ...]

    def __str__(self) -> str:
        out = ""
        for i, (sign, term) in enumerate(self.terms):
            text = term if isinstance(term, str) else f"{term:g}"
            out += (f"{'-' if sign < 0 else ''}{text}") if i == 0 else f" {'-+'[sign > 0]} {text}"
        return out

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(t for _, t in self.terms if isinstance(t, str))


@dataclass(frozen=True, slots=True)
class Duration:
    """How long a timer runs: exactly `min` when min == max, else anywhere in [min, max]."""

    min: Expr
    max: Expr

    @property
    def exact(self) -> bool:
        return self.min == self.max

    def __str__(self) -> str:
        return str(self.min) if self.exact else f"between {self.min} and {self.max}"


# -- the spec's elements ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Source:
    id: str
    title: str
    where: str


@dataclass(frozen=True, slots=True)
class Advice:
    """What the vendor asks of a parameter's value beyond its range: at least `at_least`. A
    value that breaks it is allowed (the vendor's own examples may), but reported as a warning."""

    at_least: Expr
    sources: tuple[str, ...]
    why: str


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    cisco_name: str
    type: Literal["seconds", "boolean"]
    default: ParamValue
    range: tuple[float, float] | None
    description: str
    sources: tuple[str, ...]
    assumption: str | None
    line: int
    advice: tuple[Advice, ...] = ()


@dataclass(frozen=True, slots=True)
class Service:
    id: str
    name: str
    monitored_by_default: bool
    monitored_if: str | None
    sources: tuple[str, ...]
    assumption: str | None = None


Hosts = Literal["own", "own_and_peer", "none"]


@dataclass(frozen=True, slots=True)
class State:
    id: str
    label: str
    aliases: tuple[str, ...]
    kind: str
    hosts: Hosts
    shows_active_users: bool
    definition: str
    sources: tuple[str, ...]
    assumption: str | None
    line: int


@dataclass(frozen=True, slots=True)
class Reason:
    id: str
    label: str
    aliases: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Display:
    """How the page shows a node whose SRM cannot report."""

    unreachable_state: str
    unreachable_reason: str
    assumption: str | None


@dataclass(frozen=True, slots=True)
class InitialPoint:
    """A starting point of trace format v1 (`ha_disabled`, `normal`)."""

    name: str
    ha_enabled: bool
    state: str
    reason: str


EventKind = Literal["admin", "environment"]
# The built-in effects of environment events, each with the fields its event must have. The
# user effects move only users: no rule reads a user, so an event may have several of them as
# alternatives (`alternative_effects`), each outcome a successor of its own.
EFFECT_FIELDS: Mapping[str, tuple[str, ...]] = {
    "stop_service": ("node", "service"),
    "start_service": ("node", "service"),
    "node_down": ("node",),
    "node_up": ("node",),
    "srm_stop": ("node",),
    "srm_start": ("node",),
    "link_down": (),
    "link_up": (),
    "login": ("user",),
    "logout": ("user",),
    "logout_keep_session": ("user",),
}
USER_EFFECTS = frozenset(e for e, fields in EFFECT_FIELDS.items() if fields == ("user",))
# The effects that add a fault whenever they change anything (a running service stops, the
# link goes down): a search bounding the faults at once need not try them at the bound.
FAULT_ONLY_EFFECTS = frozenset({"stop_service", "link_down"})


EventField = Literal["node", "service", "user"]


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    kind: EventKind
    fields: tuple[EventField, ...]
    effect: str | None
    description: str
    sources: tuple[str, ...]
    assumption: str | None = None
    # Other outcomes the event may have, one successor each, where the vendor's text allows
    # more than one reading of what the event does (a sign-out that may keep the session).
    alternatives: tuple[str, ...] = ()

    @property
    def effects(self) -> tuple[str, ...]:
        """Every effect the event may have: its own, then its alternatives."""
        return () if self.effect is None else (self.effect, *self.alternatives)


@dataclass(frozen=True, slots=True)
class Timer:
    """A timer of the spec. A `per: service` entry of the file is loaded as one per-node timer
    for each service, `ENTRY.SERVICE`, running only while that service is down and monitored:
    `family` is the entry's id (a timer's own id otherwise) and `service` the service."""

    id: str
    per: Literal["node", "user"]
    duration: Duration
    while_: Guard
    description: str
    sources: tuple[str, ...]
    assumption: str | None
    line: int
    family: str = ""
    service: str | None = None

    def __post_init__(self) -> None:
        if not self.family:
            object.__setattr__(self, "family", self.id)


@dataclass(frozen=True, slots=True)
class Reading:
    """A question Cisco's text leaves open, as a yes/no the guards test (`reading.ID: true`).
    Every behaviour follows one answer from its start to its end, on both nodes; the oracle
    accepts a trace that either answer explains, and the explorer verifies both."""

    id: str
    description: str
    sources: tuple[str, ...]
    assumption: str | None
    line: int


@dataclass(frozen=True, slots=True)
class Unserved:
    """A condition under which a node serves no sessions, whatever its state's `hosts` says:
    while it holds, the node's sessions end (their clients wait to re-login) and no client
    logs in to it. How a reading makes a session depend on a service, not on the state."""

    id: str
    while_: Guard
    description: str
    sources: tuple[str, ...]
    assumption: str | None
    line: int


@dataclass(frozen=True, slots=True)
class ReasonChoice:
    """A target reason that depends on the configuration: `{when: ..., then: a, else: b}`."""

    when: Guard
    then: str
    otherwise: str


@dataclass(frozen=True, slots=True)
class Target:
    """What a transition makes of one node; None leaves that part unchanged."""

    state: str | None = None
    reason: str | ReasonChoice | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    id: str
    summary: str
    on: tuple[str, ...]
    when: Guard
    node: Target
    peer: Target
    effects: tuple[str, ...]
    sources: tuple[str, ...]
    assumption: str | None
    line: int


@dataclass(frozen=True, slots=True)
class AllowedPair:
    """A state pair a `pairs_documented` invariant allows beyond the documented rows: the two
    states as the page shows them (either way round), and the assumption behind it; with
    `reasons`, only with those reasons (the first state's, then the second's)."""

    states: tuple[str, str]
    assumption: str
    reasons: tuple[str, str] | None = None

    def allows(self, a: tuple[str, str], b: tuple[str, str]) -> bool:
        """Does this entry allow the page's (state, reason) `a` beside `b`, either way round?"""
        for one, two in ((a, b), (b, a)):
            if (one[0], two[0]) == self.states and (
                self.reasons is None or (one[1], two[1]) == self.reasons
            ):
                return True
        return False


@dataclass(frozen=True, slots=True)
class Invariant:
    """A named property of the spec; which fields it uses depends on its `kind` (the meaning is
    hasm/invariants.py's)."""

    id: str
    statement: str
    kind: str
    action: str | None
    requires: Guard
    sources: tuple[str, ...]
    rules: tuple[str, ...] = ()  # fires_after: the transitions it speaks of
    timers: tuple[str, ...] = ()  # fires_after: the timers that alone may fire them
    since: Guard | None = None  # fires_after: the condition that must have held ...
    at_least: Expr | None = None  # ... for at least this long
    on: tuple[str, ...] = ()  # bounded_response: the events or timers that trigger it
    from_: Guard = TRUE  # bounded_response: holds before the triggering step ...
    when: Guard = TRUE  # ... and this after it
    within: Expr | None = None  # bounded_response: the bound
    goal: Guard = TRUE  # bounded_response: what must hold by then ...
    sessions: str | None = None  # ... and where the affected users' sessions must be
    also: tuple[AllowedPair, ...] = ()  # pairs_documented: pairs the assumptions introduce
    assumption: str | None = None  # the assumption the invariant's wording rests on, if any


@dataclass(frozen=True, slots=True)
class PairSide:
    """One node of a documented pair: the states and reasons it may show (None: node down)."""

    states: tuple[str, ...]
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StatePair:
    id: str
    node1: PairSide | None
    node2: PairSide | None
    out_of_scope: str | None = None  # why the spec does not reach it, if it does not


@dataclass(frozen=True, slots=True)
class Assumption:
    id: str
    statement: str
    why: str


@dataclass(frozen=True, slots=True)
class Acceptance:
    """A lint finding the spec accepts on purpose (`accepted:`): the check, its offenders as
    `hasm lint` names them, and why - so the spec lints clean without hiding anything."""

    check: str
    offenders: tuple[str, ...]
    why: str
    assumption: str | None
    line: int


@dataclass(frozen=True, slots=True)
class VocabularyTerm:
    """One word another view prints for a state: the spec's state ids it may mean (more than
    one: ambiguous, an observation of it matches any), its sources and its assumption."""

    term: str
    states: tuple[str, ...]
    sources: tuple[str, ...]
    assumption: str | None


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The state words of one view other than the page (the CLI, the RTMT counter): its terms,
    read before the page's labels, and its numeric codes (code i is `codes[i]`), if it has any."""

    name: str
    sources: tuple[str, ...]
    terms: Mapping[str, VocabularyTerm]
    codes: tuple[str, ...] = ()


PAGE_VOCABULARY = "page"
"""The default vocabulary: the page's labels and the states' aliases."""


_MAPPINGS = (
    "sources", "parameters", "services", "states", "reasons", "initial", "events", "timers",
    "state_pairs", "assumptions", "vocabularies", "readings", "unserved",
)  # fmt: skip


@dataclass(frozen=True)
class Spec:
    """A whole spec, validated and frozen. Collections keep the file's order."""

    path: str
    id: str
    title: str
    scope: str
    sources: Mapping[str, Source]
    parameters: Mapping[str, Parameter]
    services: Mapping[str, Service]
    states: Mapping[str, State]
    reasons: Mapping[str, Reason]
    display: Display
    initial: Mapping[str, InitialPoint]
    events: Mapping[str, Event]
    timers: Mapping[str, Timer]
    transitions: tuple[Transition, ...]
    invariants: tuple[Invariant, ...]
    state_pairs: Mapping[str, StatePair]
    assumptions: Mapping[str, Assumption]
    accepted: tuple[Acceptance, ...] = ()  # lint findings accepted on purpose, with why
    vocabularies: Mapping[str, Vocabulary] = field(default_factory=dict)  # by name, not "page"
    readings: Mapping[str, Reading] = field(default_factory=dict)
    unserved: Mapping[str, Unserved] = field(default_factory=dict)  # a node serves nobody while
    defaults: Mapping[str, ParamValue] = field(init=False)

    def __post_init__(self) -> None:
        # Frozen all the way down: the mappings are read-only views, so no caller can edit a
        # loaded spec behind the back of the models compiled from it.
        for name in _MAPPINGS:
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))
        defaults = {name: p.default for name, p in self.parameters.items()}
        object.__setattr__(self, "defaults", MappingProxyType(defaults))

    def as_written(self, triggers: Iterable[str]) -> tuple[str, ...]:
        """Trigger names as the file writes them: a `per: service` entry's timers by the
        entry's name, once, where the first of them stands."""
        return tuple(
            dict.fromkeys(self.timers[n].family if n in self.timers else n for n in triggers)
        )

    def timer_entry(self, name: str) -> Timer | None:
        """The timer `name`, or, for a `per: service` entry's name, its first timer (they are
        alike but for the service); None if no timer is called so."""
        found = self.timers.get(name)
        if found is None:
            found = next((t for t in self.timers.values() if t.family == name), None)
        return found

    def state_terms(self, vocabulary: str = PAGE_VOCABULARY) -> dict[str, tuple[str, ...]]:
        """Every word `vocabulary` reads as a state, as written, with the state ids it means:
        the page's labels (and, for the page, the aliases), then the vocabulary's own terms,
        which win over a label written the same (RTMT's Backup Activated names two states)."""
        terms: dict[str, tuple[str, ...]] = {}
        for state in self.states.values():
            words = (
                (state.label, *state.aliases) if vocabulary == PAGE_VOCABULARY else (state.label,)
            )
            for word in words:
                terms[word] = (state.id,)
        if vocabulary != PAGE_VOCABULARY:
            for term in self.vocabularies[vocabulary].terms.values():
                terms[term.term] = term.states
        return terms

    @property
    def user_timer(self) -> Timer:
        """The one per-user timer: the client's re-login wait."""
        return next(t for t in self.timers.values() if t.per == "user")
