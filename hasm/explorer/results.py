"""What the exhaustive explorer finds: the variants it searches, how far one search goes, and
its results - per variant and over all of them - with the shortest counterexamples as traces.
The search itself is hasm.explorer.zonegraph; hasm.explorer.explore runs it over the variants."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from hasm.core.config import Config, Step
from hasm.core.search import MAX_FAULTS
from hasm.explorer.invariants import Violation
from hasm.spec.model import ParamValue

__all__ = [
    "Bounds",
    "Counterexample",
    "Exploration",
    "Pair",
    "PairEdge",
    "ShownPair",
    "Variant",
    "VariantResult",
]

Pair = tuple[str, str]
PairEdge = tuple[Pair, str, Pair]
ShownPair = tuple[tuple[str, str], tuple[str, str]]


@dataclass(frozen=True)
class Bounds:
    """How far one variant's search goes: how many faults may hold at once, and whether it ends
    at the first invariant broken (the default goes on, to name every invariant broken)."""

    max_faults: int = MAX_FAULTS
    first: bool = False
    # When to give up (a time.monotonic() moment, the same clock in every forked worker): the
    # search then ends where it is and its result is marked incomplete. None: never.
    deadline: float | None = None


@dataclass(frozen=True)
class Variant:
    """One parameter variant: every parameter's value and the monitored services."""

    params: Mapping[str, ParamValue]
    monitored: frozenset[str]
    label: str  # what sets it apart, e.g. "enable_automatic_fallback=true; monitored: ..."


@dataclass(frozen=True)
class Counterexample:
    """The shortest run of a variant that breaks an invariant: the start, every step, and the
    violation at the last one. `trace` is the run in trace format v1."""

    variant: Variant
    violation: Violation
    start_name: str  # the starting point of trace format v1
    start: Config
    steps: tuple[Step, ...]
    final: Config  # the configuration that shows the violation (after the last step)
    trace: str


@dataclass(frozen=True)
class VariantResult:
    """What exploring one variant found."""

    variant: Variant
    states: int
    transitions: int
    depth: int
    seconds: float
    pairs: frozenset[Pair]
    violations: tuple[Counterexample, ...]  # the shortest of each invariant broken, in order
    read: frozenset[str] = frozenset()  # the parameters some guard read on the way
    same_as: int | None = None  # the variant (index) whose exploration stands for this one
    # The variant (index) whose runs include every run of this one, which was not explored.
    within: int | None = None
    zones: int = 0  # the symbolic states stored (zones, over `states` discrete states)
    # False when the search was ended by the deadline: what it found is real, what it did not
    # find is not shown absent.
    complete: bool = True

    @property
    def violation(self) -> Counterexample | None:
        """The shortest counterexample found, if any invariant is broken."""
        return self.violations[0] if self.violations else None


@dataclass(frozen=True)
class Exploration:
    """Everything reachable in the spec's finite abstraction, over all explored variants.

    `pairs` are (state of node 0, state of node 1) as the nodes' SRMs record them (state ids);
    `pair_edges` are (pair before, transition id, pair after) for every step that fired a
    transition; `shown_pairs` are ((state, reason), (state, reason)) as the page shows them (an
    unreachable node as the spec's `display` says)."""

    pairs: frozenset[Pair]
    pair_edges: frozenset[PairEdge]
    shown_pairs: frozenset[ShownPair] = frozenset()
    documented: frozenset[str] = frozenset()  # the P-rows reached
    undocumented: frozenset[Pair] = frozenset()  # shown states (sorted) matching no P-row
    rules: frozenset[str] = frozenset()  # the transitions that fired
    variants: tuple[VariantResult, ...] = ()
    states: int = 0
    transitions: int = 0
    depth: int = 0
    seconds: float = 0.0
    violations: tuple[Counterexample, ...] = field(default=())
    zones: int = 0  # the symbolic states stored: each a discrete state with a zone

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def complete(self) -> bool:
        """Every variant searched to its end (no deadline reached)."""
        return all(r.complete for r in self.variants)

    @property
    def states_per_second(self) -> float:
        return self.states / self.seconds if self.seconds > 0 else 0.0
