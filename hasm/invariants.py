"""Check a spec's invariants over the configurations and steps that the semantic core produces.

The spec lists its invariants as data (`invariants:` in the YAML). Each one has a kind, a word
of the spec language that this module gives meaning to:

- `home_fixed`: every cohort move of a step keeps the users' home node;
- `users_conserved`: a step neither creates nor loses users of any home node, and every cohort
  counts at least one user, once;
- `session_placement`: a session is on its home node, or on the other node while that node is up
  and its state `hosts` its own and its peer's users;
- `offered_only`: every administrator action named by the invariant's `action` that the
  semantics offers now satisfies the invariant's `requires` guard, with the offered node as
  `node`.

No domain fact lives here: state names, what a state hosts and the guards all come from the
spec, so a changed spec is checked by the same code. The checks consume the core's values
(`Config`, `Step`) and never change them.
"""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from hasm.config import NO_NODE, Config, Step
from hasm.errors import HasmError
from hasm.model import All, AnyOf, Guard, Invariant, Not, Test
from hasm.semantics import Check, Model, offered

__all__ = [
    "KINDS",
    "UnknownInvariantKind",
    "Violation",
    "check_config",
    "check_step",
    "describe_guard",
]

# The `hosts` word of the spec language for a state that serves its peer's users too.
_HOSTS_PEER = "own_and_peer"


class UnknownInvariantKind(HasmError, ValueError):
    """A spec invariant whose kind this module cannot check; names the invariant and the kinds
    it knows."""


@dataclass(frozen=True, slots=True)
class Violation:
    """One invariant that does not hold: which one, what it says, when, and what was seen."""

    invariant: str  # the invariant's id in the spec
    statement: str  # the invariant's statement, as the spec words it
    time: float  # the virtual time of the configuration or step checked
    detail: str  # what broke it, in words

    def __str__(self) -> str:
        return (
            f"t={self.time:g}: invariant {self.invariant} ({self.statement}) fails: {self.detail}"
        )


# -- naming things in words ------------------------------------------------------------------
def describe_guard(guard: Guard) -> str:
    """A guard in the spec's own notation, e.g. `node.state: [idle, failed_over], peer.state:
    backup`."""
    if isinstance(guard, All):
        return ", ".join(describe_guard(g) for g in guard.terms) or "always"
    if isinstance(guard, AnyOf):
        return "any of (" + "; ".join(describe_guard(g) for g in guard.terms) + ")"
    if isinstance(guard, Not):
        return f"not ({describe_guard(guard.term)})"
    return _describe_test(guard)


def _describe_test(test: Test) -> str:
    value = test.value
    if isinstance(value, tuple):
        shown = value[0] if len(value) == 1 else "[" + ", ".join(value) + "]"
    elif isinstance(value, bool):
        shown = "true" if value else "false"
    else:
        shown = f"{value:g}" if isinstance(value, float) else str(value)
    return f"{test.key}: {shown}"


def _state_label(model: Model, state: str) -> str:
    known = model.spec.states.get(state)
    return known.label if known is not None else f"'{state}' (not a state of the spec)"


def _node_words(model: Model, config: Config, index: int) -> str:
    node = config.nodes[index]
    up = "" if node.up else ", down"
    return f"node {index} ({_state_label(model, node.state)}{up})"


def _key_words(home: int, session: int, since: float) -> str:
    where = "no session" if session == NO_NODE else f"a session on node {session}"
    waiting = f", waiting to re-login since t={since:g}" if since >= 0 else ""
    return f"home node {home} with {where}{waiting}"


def _cohort_words(home: int, session: int, since: float, count: int) -> str:
    return f"{count} user(s) of {_key_words(home, session, since)}"


# -- the checks, one per kind ------------------------------------------------------------------
# A config-level check sees one configuration; a step-level check sees the configuration before
# a step and the step itself. Each returns what it found wrong, in words.
ConfigCheck = Callable[[Model, Invariant, Config], list[str]]
StepCheck = Callable[[Model, Invariant, Config, Step], list[str]]


def _home_fixed_step(model: Model, inv: Invariant, before: Config, step: Step) -> list[str]:
    return [
        f"{move.count} user(s) moved from home node {move.source[0]} to home node {move.target[0]}"
        for move in step.moves
        if move.source[0] != move.target[0]
    ]


def _users_per_home(config: Config) -> Counter[int]:
    counts: Counter[int] = Counter()
    for cohort in config.users:
        counts[cohort.home] += cohort.count
    return counts


def _users_conserved_config(model: Model, inv: Invariant, config: Config) -> list[str]:
    out = [
        f"a cohort counts {c.count} user(s): "
        + _cohort_words(c.home, c.session, c.waiting_since, c.count)
        for c in config.users
        if c.count <= 0
    ]
    seen = Counter(c.key for c in config.users)
    out += [
        f"the cohort of {_key_words(*key)} appears {n} times, "
        "so its users are counted more than once"
        for key, n in seen.items()
        if n > 1
    ]
    return out


def _users_conserved_step(model: Model, inv: Invariant, before: Config, step: Step) -> list[str]:
    was, now = _users_per_home(before), _users_per_home(step.config)
    return [
        f"home node {home} had {was[home]} user(s) before the step and {now[home]} after it"
        for home in sorted(set(was) | set(now))
        if was[home] != now[home]
    ]


def _session_placement_config(model: Model, inv: Invariant, config: Config) -> list[str]:
    out = []
    for c in config.users:
        if c.session in (NO_NODE, c.home):
            continue
        host = config.nodes[c.session] if 0 <= c.session < len(config.nodes) else None
        if host is None:
            out.append(
                f"{_cohort_words(c.home, c.session, c.waiting_since, c.count)}: no such node"
            )
            continue
        state = model.spec.states.get(host.state)
        if host.up and state is not None and state.hosts == _HOSTS_PEER:
            continue
        why = "it is down" if not host.up else "its state does not serve its peer's users"
        out.append(
            f"{_cohort_words(c.home, c.session, c.waiting_since, c.count)}, "
            f"but {_node_words(model, config, c.session)} is not their backup: {why}"
        )
    return out


def _offered_only_config(model: Model, inv: Invariant, config: Config) -> list[str]:
    requires = _compiled(model, inv)
    out = []
    for action in offered(model, config):
        if action.name != inv.action:
            continue
        # An action without a node may be taken for either node, as `apply` binds it.
        bindings = (action.node,) if action.node is not None else (0, 1)
        if any(requires(config, n, action) for n in bindings):
            continue
        target = (
            f" for {_node_words(model, config, action.node)}" if action.node is not None else ""
        )
        peer = (
            f" whose peer is {_node_words(model, config, 1 - action.node)}"
            if action.node is not None
            else ""
        )
        out.append(
            f"{action.name} is offered{target}{peer}, "
            f"but it requires {describe_guard(inv.requires)}"
        )
    return out


_CONFIG_CHECKS: dict[str, ConfigCheck] = {
    "users_conserved": _users_conserved_config,
    "session_placement": _session_placement_config,
    "offered_only": _offered_only_config,
}
_STEP_CHECKS: dict[str, StepCheck] = {
    "home_fixed": _home_fixed_step,
    "users_conserved": _users_conserved_step,
}

KINDS: frozenset[str] = frozenset(_CONFIG_CHECKS) | frozenset(_STEP_CHECKS)
"""The invariant kinds this module knows: the spec language's vocabulary for invariants."""

# Compiled `requires` guards, per model and invariant id; a model's entries go with the model.
_COMPILED: weakref.WeakKeyDictionary[Model, dict[str, Check]] = weakref.WeakKeyDictionary()


def _compiled(model: Model, inv: Invariant) -> Check:
    cache = _COMPILED.setdefault(model, {})
    check = cache.get(inv.id)
    if check is None:
        check = cache[inv.id] = model.compile(inv.requires)
    return check


def _kind_known(inv: Invariant) -> None:
    if inv.kind not in KINDS:
        raise UnknownInvariantKind(
            f"invariant {inv.id} has kind '{inv.kind}', which hasm cannot check "
            f"(known kinds: {', '.join(sorted(KINDS))})"
        )


# -- the public checks -------------------------------------------------------------------------
def check_config(model: Model, config: Config) -> list[Violation]:
    """Every invariant of the model's spec that one configuration breaks.

    Only what a single configuration can show is checked here: cohorts that count no user or
    count twice, session placement, and the administrator actions offered. A step's moves and
    the users it gains or loses need `check_step`."""
    out = []
    for inv in model.spec.invariants:
        _kind_known(inv)
        check = _CONFIG_CHECKS.get(inv.kind)
        if check is not None:
            out += [
                Violation(inv.id, inv.statement, config.now, d) for d in check(model, inv, config)
            ]
    return out


def check_step(model: Model, before: Config, step: Step) -> list[Violation]:
    """Every invariant of the model's spec that a step from `before` breaks: what the step did
    (its cohort moves, users gained or lost per home node) and the configuration it reached."""
    out = []
    for inv in model.spec.invariants:
        _kind_known(inv)
        check = _STEP_CHECKS.get(inv.kind)
        if check is not None:
            out += [
                Violation(inv.id, inv.statement, step.config.now, d)
                for d in check(model, inv, before, step)
            ]
    return out + check_config(model, step.config)
