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

- `pairs_documented`: the two states the page shows form a documented pair of the spec's
  `state_pairs` (with its reasons, either way round), or a pair listed in the invariant's `also`
  (states only, any reason), each entry naming the assumption that introduces it;
- `fires_after`: a step that fires one of the invariant's `rules` is taken by its `timer` (when
  named), its `requires` guard held just before (with the rule's node as `node`), and its `since`
  condition had held without a break for at least `at_least` seconds (a parameter expression).
  "Since when" is history, not part of a configuration: a `Watch` carries it along a run
  (`watch_start`, `watch_step`), and `check_step` checks it when given one;
- `bounded_response` (bounded liveness): after a step that triggers it - its input is one of `on`
  (any, if absent), `from` held before the step and `when` after it, for some node as `node` - every
  run in which nothing else happens (only timers fire and clients re-login) reaches, within
  `within` seconds, a configuration where `goal` holds and the affected users' sessions are
  where `sessions` says: `on_peer`, every user of `node` active on it before the step is active
  on its peer (a client already waiting to re-login is not promised anything: it may try while
  no node serves it, and stop); `home`, every signed-in user with a session or a re-login to
  wait for is active on its home node (one that stopped waits for a sign-in, not a node).
  `check_response` explores those runs exhaustively and returns the shortest that misses.

No domain fact lives here: state names, what a state hosts and the guards all come from the
spec, so a changed spec is checked by the same code. The checks consume the core's values
(`Config`, `Step`) and never change them.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR

from hasm.core.config import NO_NODE, SIGNED_OUT, Config, EventInput, Fire, Step
from hasm.core.memo import Memo, Table
from hasm.core.model import Check, Model, to_ticks
from hasm.core.semantics import advance, apply, deadline, enabled, forced, offered, window_edges
from hasm.core.views import documented_pairs, node_views
from hasm.errors import UnknownInvariantKind
from hasm.spec.guards import describe_guard
from hasm.spec.model import Invariant
from hasm.spec.params import evaluate

__all__ = [
    "KINDS",
    "Early",
    "ResponseFailure",
    "Violation",
    "Watch",
    "check_config",
    "check_response",
    "check_step",
    "check_transition",
    "response_goal",
    "response_triggers",
    "response_violation",
    "response_within",
    "watch_start",
    "watch_step",
    "watched_bounds",
]

# The `hosts` word of the spec language for a state that serves its peer's users too.
_HOSTS_PEER = "own_and_peer"


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
def _state_label(model: Model, state: str) -> str:
    known = model.spec.states.get(state)
    return known.label if known is not None else f"'{state}' (not a state of the spec)"


def _node_words(model: Model, config: Config, index: int) -> str:
    node = config.nodes[index]
    up = "" if node.up else ", down"
    return f"node {index} ({_state_label(model, node.state)}{up})"


def _key_words(home: int, session: int, since: float) -> str:
    where = "no session" if session == NO_NODE else f"a session on node {session}"
    if since == SIGNED_OUT:
        where += ", signed out"
    elif since >= 0:
        where += f", waiting to re-login since t={since:g}"
    return f"home node {home} with {where}"


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


def _users_per_home(config: Config) -> dict[int, int]:
    counts: dict[int, int] = {}
    for cohort in config.users:
        counts[cohort.home] = counts.get(cohort.home, 0) + cohort.count
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
    if step.config.users is before.users:
        return []  # the same cohorts: nothing gained or lost
    was, now = _users_per_home(before), _users_per_home(step.config)
    if was == now:
        return []
    return [
        f"home node {home} had {was.get(home, 0)} user(s) before the step and "
        f"{now.get(home, 0)} after it"
        for home in sorted(set(was) | set(now))
        if was.get(home, 0) != now.get(home, 0)
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


def offered_now(model: Model, config: Config) -> tuple[EventInput, ...]:
    """`semantics.offered`, remembered for the last configuration asked about: several
    invariants (and the explorer) ask about the same configuration in a row, and each answer
    costs a matching pass."""
    cache = _cache(model)
    last = cache.last_offered
    if last is not None and last[0] is config:
        return last[1]
    found = offered(model, config)
    cache.last_offered = (config, found)
    return found


def documented_rows(model: Model, config: Config) -> tuple[str, ...]:
    """`views.documented_pairs`, remembered for the last configuration asked about."""
    cache = _cache(model)
    last = cache.last_rows
    if last is not None and last[0] is config:
        return last[1]
    found = documented_pairs(model, config)
    cache.last_rows = (config, found)
    return found


def _offered_only_config(model: Model, inv: Invariant, config: Config) -> list[str]:
    requires = _compiled(model, inv)
    out = []
    for action in offered_now(model, config):
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


def _pairs_documented_config(model: Model, inv: Invariant, config: Config) -> list[str]:
    # What the page shows of the states and reasons reads only the nodes and the link.
    key = (inv.id, config.nodes, config.link_up)
    pairs = _cache(model).pairs
    found = pairs.get(key)
    if found is None:
        found = pairs.keep(key, _pairs_documented(model, inv, config))
    return list(found)


def _pairs_documented(model: Model, inv: Invariant, config: Config) -> tuple[str, ...]:
    if documented_rows(model, config):
        return ()
    a, b = node_views(model, config)
    if any(entry.allows((a.state, a.reason), (b.state, b.reason)) for entry in inv.also):
        return ()
    states, reasons = model.spec.states, model.spec.reasons
    return (
        f"the page shows {states[a.state].label} / {reasons[a.reason].label} and "
        f"{states[b.state].label} / {reasons[b.reason].label}: no documented pair, and no "
        "assumption introduces it (list it under the invariant's 'also' with its assumption)",
    )


Early = Callable[[float, float], bool]
"""Whether a step can come less than `need` seconds after `start` (the start of a watched
condition): for a concrete step, its time says; a symbolic search asks its zone."""


def _fires_after_step(
    model: Model,
    inv: Invariant,
    before: Config,
    step: Step,
    since: tuple[float | None, ...] | None,
    early: Early | None = None,
) -> list[str]:
    if step.rule is None or step.rule not in inv.rules or step.node is None:
        return []
    n = step.node
    out = []
    inp = step.input
    if inv.timers and not (isinstance(inp, Fire) and inp.timer in inv.timers):
        # A per-service timer's expansions are named by their entry, as the spec writes them.
        named = " or ".join(dict.fromkeys(model.spec.timers[t].family for t in inv.timers))
        out.append(f"{step.rule} fired on node {n} by {_input_words(step)}, not by timer {named}")
    if not _compiled(model, inv, "requires")(before, n, None):
        out.append(
            f"{step.rule} fired on node {n} although {describe_guard(inv.requires)} did not hold"
        )
    if inv.since is not None and since is not None:
        need = _at_least(model, inv)
        start = since[n]
        if start is None:
            out.append(
                f"{step.rule} fired on node {n} although {describe_guard(inv.since)} did not hold"
            )
        elif early is not None:
            if early(start, need):
                out.append(
                    f"{step.rule} fired on node {n} less than {inv.at_least} = {need:g} s "
                    f"after {describe_guard(inv.since)} began to hold"
                )
        elif step.config.now < start + _model_time(model, need, ROUND_FLOOR):
            # As the core adds: start + duration, in the model's time. The step's own time:
            # `before` may be the last configuration recorded, earlier.
            now, begun = _seconds(model, step.config.now), _seconds(model, start)
            out.append(
                f"{step.rule} fired on node {n} at t={now:g}, only {now - begun:g} s "
                f"after {describe_guard(inv.since)} began to hold (t={begun:g}); "
                f"{inv.at_least} = {need:g} s"
            )
    return out


def _input_words(step: Step) -> str:
    inp = step.input
    if isinstance(inp, Fire):
        return f"timer {inp.timer}"
    if hasattr(inp, "name"):
        return f"event {inp.name}"
    return "a re-login"


_CONFIG_CHECKS: dict[str, ConfigCheck] = {
    "users_conserved": _users_conserved_config,
    "session_placement": _session_placement_config,
    "offered_only": _offered_only_config,
    "pairs_documented": _pairs_documented_config,
}
_STEP_CHECKS: dict[str, StepCheck] = {
    "home_fixed": _home_fixed_step,
    "users_conserved": _users_conserved_step,
}
# Kinds checked elsewhere: fires_after needs a Watch; bounded_response explores futures.
_HISTORY_KINDS = frozenset({"fires_after"})
_RESPONSE_KINDS = frozenset({"bounded_response"})

KINDS: frozenset[str] = (
    frozenset(_CONFIG_CHECKS) | frozenset(_STEP_CHECKS) | _HISTORY_KINDS | _RESPONSE_KINDS
)
"""The invariant kinds this module knows: the spec language's vocabulary for invariants."""


# -- compiled parts, per model ------------------------------------------------------------------
class _Compiled:
    """What the checks work out once per model - compiled guards, evaluated bounds, plans -
    and what they remember of the configurations met: a part of the model's memo (so it goes,
    and is cleared, with the model)."""

    __slots__ = (
        "guards",
        "holding",
        "last_offered",
        "last_rows",
        "pairs",
        "plan",
        "responses",
        "triggered",
        "values",
        "watched",
    )

    def __init__(self, memo: Memo) -> None:
        self.guards: dict[tuple[str, str], Check] = {}
        self.values: dict[tuple[str, str], float] = {}
        self.watched: tuple[Invariant, ...] | None = None
        # Guard outcomes by what guards read (the nodes and the group): searches meet the same
        # few node configurations at many times, and ask the same of them at every step.
        self.holding: Table[tuple[object, ...], tuple[bool, ...]] = memo.table("invariants.holding")
        self.pairs: Table[tuple[object, ...], tuple[str, ...]] = memo.table("invariants.pairs")
        self.triggered: Table[tuple[object, ...], tuple[tuple[Invariant, int], ...]] = memo.table(
            "invariants.triggered"
        )
        self.responses: tuple[tuple[Invariant, Check, Check], ...] | None = None
        self.plan: tuple[tuple[Invariant, StepCheck | None, int | None], ...] | None = None
        # The last configuration asked about, by identity, with the answer (offered_now).
        self.last_offered: tuple[Config, tuple[EventInput, ...]] | None = None
        self.last_rows: tuple[Config, tuple[str, ...]] | None = None


def _cache(model: Model) -> _Compiled:
    """The checks' part of the model's memo: asked for at every step of a search."""
    return model.memo.part("invariants", _Compiled)


def _compiled(model: Model, inv: Invariant, part: str = "requires") -> Check:
    cache = _cache(model).guards
    check = cache.get((inv.id, part))
    if check is None:
        guard = {
            "requires": inv.requires,
            "since": inv.since,
            "from": inv.from_,
            "when": inv.when,
            "goal": inv.goal,
        }[part]
        assert guard is not None
        check = cache[(inv.id, part)] = model.compile(guard)
    return check


def _value(model: Model, inv: Invariant, part: str) -> float:
    cache = _cache(model).values
    value = cache.get((inv.id, part))
    if value is None:
        expr = inv.at_least if part == "at_least" else inv.within
        assert expr is not None
        value = cache[(inv.id, part)] = evaluate(expr, model.params)
    return value


def _model_time(model: Model, seconds: float, rounding: str) -> float:
    """A bound in seconds in the model's time: itself, or whole ticks rounded outwards as the
    model's own bounds are (`rounding` is the outward way for the bound at hand)."""
    return seconds if model.ticks is None else to_ticks(seconds, model.ticks, rounding)


def _seconds(model: Model, time: float) -> float:
    """A time of the model in seconds, for words."""
    return time if model.ticks is None else time / model.ticks


def _at_least(model: Model, inv: Invariant) -> float:
    # A tolerance widens every timing bound: the watch accepts a step that much earlier.
    return max(0.0, _value(model, inv, "at_least") - model.tolerance)


def _kind_known(inv: Invariant) -> None:
    if inv.kind not in KINDS:
        raise UnknownInvariantKind(
            f"invariant {inv.id} has kind '{inv.kind}', which hasm cannot check "
            f"(known kinds: {', '.join(sorted(KINDS))})"
        )


# -- history: since when each `since` condition has held ----------------------------------------
Watch = tuple[tuple[float | None, float | None], ...]
"""For each fires_after invariant with a `since` (in spec order), for node 0 and node 1: the
time from which its condition has held without a break, or None while it does not hold."""


def _watched(model: Model) -> tuple[Invariant, ...]:
    cache = _cache(model)
    if cache.watched is None:
        cache.watched = tuple(
            i for i in model.spec.invariants if i.kind == "fires_after" and i.since is not None
        )
    return cache.watched


def watch_start(model: Model, config: Config) -> Watch:
    """The watch at the start of a run: a condition that holds at the start holds since then."""
    out = []
    for inv in _watched(model):
        check = _compiled(model, inv, "since")
        a = config.now if check(config, 0, None) else None
        b = config.now if check(config, 1, None) else None
        out.append((a, b))
    return tuple(out)


def watch_step(model: Model, watch: Watch, before: Config, step: Step) -> Watch:
    """The watch after `step`: a condition still holding keeps its start; a new one starts now."""
    after = step.config
    if (after.nodes, after.ha_enabled, after.link_up) == (
        before.nodes,
        before.ha_enabled,
        before.link_up,
    ):
        return watch  # guards read only the nodes, the group and the parameters
    out = []
    now = after.now
    holds = _holding(model, after)
    for i, (was_a, was_b) in enumerate(watch):
        a = (now if was_a is None else was_a) if holds[2 * i] else None
        b = (now if was_b is None else was_b) if holds[2 * i + 1] else None
        out.append((a, b))
    return tuple(out)


def _holding(model: Model, config: Config) -> tuple[bool, ...]:
    """For each watched condition and node (in the order of `Watch`), whether it holds."""
    cache = _cache(model)
    key = (config.nodes, config.ha_enabled, config.link_up)
    holds = cache.holding.get(key)
    if holds is None:
        holds = cache.holding.keep(
            key,
            tuple(
                _compiled(model, inv, "since")(config, n, None)
                for inv in _watched(model)
                for n in (0, 1)
            ),
        )
    return holds


# -- bounded liveness ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ResponseFailure:
    """A run with nothing else happening that misses a bounded response: the violation, and the
    steps after the triggering one; `final` is the configuration at the bound."""

    violation: Violation
    steps: tuple[Step, ...]
    final: Config


def response_triggers(model: Model, before: Config, step: Step) -> list[tuple[Invariant, int]]:
    """The bounded_response invariants that `step` triggers, each with the node playing `node`."""
    cache = _cache(model)
    if cache.responses is None:
        cache.responses = tuple(
            (inv, _compiled(model, inv, "from"), _compiled(model, inv, "when"))
            for inv in model.spec.invariants
            if inv.kind == "bounded_response"
        )
    inp = step.input
    trigger = inp.timer if isinstance(inp, Fire) else getattr(inp, "name", None)
    after = step.config
    key = (
        trigger,
        before.nodes,
        before.ha_enabled,
        before.link_up,
        after.nodes,
        after.ha_enabled,
        after.link_up,
    )
    found = cache.triggered.get(key)
    if found is None:
        found = cache.triggered.keep(
            key,
            tuple(
                (inv, n)
                for inv, start, then in cache.responses
                if not inv.on or trigger in inv.on
                for n in (0, 1)
                if start(before, n, None) and then(after, n, None)
            ),
        )
    return list(found)


def _active_on(config: Config, node: int) -> int:
    """Signed-in users homed on `node` whose session is on it (a session kept after its client
    signed out, A-logout-session, moves nowhere: it ends with the failover)."""
    return sum(
        c.count
        for c in config.users
        if c.home == node and c.session == node and c.waiting_since != SIGNED_OUT
    )


def _signed_in(config: Config, home: int | None) -> int:
    """Signed-in users (of `home`, if given) with a session or waiting to re-login: those a
    response must bring home. A signed-in client that stopped (no session, waiting for nothing:
    its re-login found no node, A-relogin-gap) is left out, as nothing but a sign-in brings it
    back; so is every signed-out one, kept session or not."""
    return sum(
        c.count
        for c in config.users
        if (home is None or c.home == home)
        and ((c.session != NO_NODE and c.waiting_since != SIGNED_OUT) or c.waiting_since >= 0)
    )


def response_within(model: Model, inv: Invariant) -> float:
    """A bounded response's bound, in seconds."""
    return _value(model, inv, "within")


def response_goal(model: Model, inv: Invariant, n: int, before: Config) -> Callable[[Config], bool]:
    """Whether a configuration is where a bounded response triggered for node `n` from
    `before` must arrive: `goal` holds and the affected users' sessions are where `sessions`
    says. It reads states and counts only, so a symbolic configuration is asked alike."""
    goal = _compiled(model, inv, "goal")
    if inv.sessions == "on_peer":
        affected = _active_on(before, n)

        def placed(c: Config) -> bool:
            return sum(u.count for u in c.users if u.home == n and u.session == 1 - n) >= affected

    else:

        def placed(c: Config) -> bool:
            home = sum(u.count for u in c.users if u.session == u.home)
            return home >= _signed_in(c, None)

    return lambda c: goal(c, n, None) and placed(c)


def watched_bounds(model: Model) -> tuple[float, ...]:
    """For each watched condition (in the order of `Watch`), how long, in seconds, it must have
    held before its rules may fire (`at_least`)."""
    return tuple(_at_least(model, inv) for inv in _watched(model))


def check_response(
    model: Model, inv: Invariant, n: int, before: Config, step: Step
) -> ResponseFailure | None:
    """The shortest run after `step` in which only timers fire and clients re-login that does not
    reach `inv`'s goal within its bound, or None if every such run does - of a concrete run, for
    tests that drive the core by hand: it lets things happen at the moments windows open and
    close only, so a run that needs a step between two of them is not tried. `hasm verify`
    checks bounded responses exactly, on zones (hasm.explorer.explore)."""
    start = step.config
    limit = start.now + _model_time(model, response_within(model, inv), ROUND_CEILING)
    reached = response_goal(model, inv, n, before)
    parents: dict[Config, tuple[Config | None, Step | None]] = {start: (None, None)}
    queue = deque([start])
    while queue:
        config = queue.popleft()
        if reached(config):
            continue
        if config.now >= limit and not forced(model, config):
            return _response_failure(model, inv, n, before, start, limit, config, parents)
        successors: list[tuple[Config, Step | None]] = [
            (s.config, s) for i in enabled(model, config) for s in apply(model, config, i)
        ]
        if config.now < limit:
            successors.append((advance(model, config, _next_time(model, config, limit)), None))
        for nxt, via in successors:
            if nxt not in parents:
                parents[nxt] = (config, via)
                queue.append(nxt)
    return None


def _next_time(model: Model, config: Config, limit: float) -> float:
    times = [limit, *window_edges(model, config)]
    due = deadline(model, config)
    return min(times) if due is None else min(*times, due)


def _response_failure(
    model: Model,
    inv: Invariant,
    n: int,
    before: Config,
    start: Config,
    limit: float,
    final: Config,
    parents: dict[Config, tuple[Config | None, Step | None]],
) -> ResponseFailure:
    steps: list[Step] = []
    at: Config | None = final
    while at is not None:
        parent, s = parents[at]
        if s is not None:
            steps.append(s)
        at = parent
    steps.reverse()
    violation = response_violation(model, inv, n, before, start.now, limit, final)
    return ResponseFailure(violation, tuple(steps), final)


def response_violation(
    model: Model, inv: Invariant, n: int, before: Config, began: float, limit: float, final: Config
) -> Violation:
    """The violation of a bounded response triggered at `began` for node `n` (from `before`),
    whose run is at `final` when the bound `limit` passes: what the group and the affected
    sessions look like then, in words."""
    states = model.spec.states
    a, b = (states[view.state].label for view in node_views(model, final))  # as the page shows
    if inv.sessions == "on_peer":
        where = (
            f"{sum(u.count for u in final.users if u.home == n and u.session == 1 - n)} of "
            f"{_active_on(before, n)} user(s) of node {n} active there before, now on node {1 - n}"
        )
    else:
        where = (
            f"{sum(u.count for u in final.users if u.session == u.home)} of "
            f"{_signed_in(final, None)} signed-in user(s) active at home"
        )
    detail = (
        f"triggered at t={began:g} for node {n}; with nothing else happening, at "
        f"t={limit:g} ({inv.within} = {limit - began:g} s later) the group is {a} / {b} "
        f"with {where}"
    )
    return Violation(inv.id, inv.statement, limit, detail)


# -- the public checks -------------------------------------------------------------------------
def check_config(model: Model, config: Config) -> list[Violation]:
    """Every invariant of the model's spec that one configuration breaks.

    Only what a single configuration can show is checked here: cohorts that count no user or
    count twice, session placement, the administrator actions offered and the state pair shown.
    A step's moves, the users it gains or loses and the timing of its transition need
    `check_step`."""
    out = []
    for inv in model.spec.invariants:
        _kind_known(inv)
        check = _CONFIG_CHECKS.get(inv.kind)
        if check is not None:
            out += [
                Violation(inv.id, inv.statement, config.now, d) for d in check(model, inv, config)
            ]
    return out


def check_transition(
    model: Model,
    before: Config,
    step: Step,
    watch: Watch | None = None,
    early: Early | None = None,
) -> list[Violation]:
    """Every invariant that what a step did breaks (not the configuration it reached): its cohort
    moves, users gained or lost, and the transition it fired. `watch` is the watch of `before`;
    without it, fires_after checks all but how long its condition has held. `early` answers
    that last question instead of the step's time: a symbolic search's watch holds clock tags,
    and its zone says whether the step can come too soon."""
    if step.rule is None and not step.moves and step.config.users is before.users:
        # Every step check reads only the rule fired (fires_after), the cohorts moved
        # (home_fixed) and the users gained or lost (users_conserved): none here.
        return []
    out = []
    for inv, check, index in _step_plan(model):
        if check is None:
            since = watch[index] if watch is not None and index is not None else None
            found = _fires_after_step(model, inv, before, step, since, early)
        else:
            found = check(model, inv, before, step)
        out += [Violation(inv.id, inv.statement, step.config.now, d) for d in found]
    return out


def _step_plan(model: Model) -> tuple[tuple[Invariant, StepCheck | None, int | None], ...]:
    """The invariants a step is checked against, once per model: each with its step check, or
    None and its place in the watch for fires_after."""
    cache = _cache(model)
    if cache.plan is None:
        watched = {inv.id: i for i, inv in enumerate(_watched(model))}
        plan: list[tuple[Invariant, StepCheck | None, int | None]] = []
        for inv in model.spec.invariants:
            _kind_known(inv)
            if inv.kind == "fires_after":
                plan.append((inv, None, watched.get(inv.id)))
            elif inv.kind in _STEP_CHECKS:
                plan.append((inv, _STEP_CHECKS[inv.kind], None))
        cache.plan = tuple(plan)
    return cache.plan


def check_step(
    model: Model, before: Config, step: Step, watch: Watch | None = None
) -> list[Violation]:
    """Every invariant of the model's spec that a step from `before` breaks: what the step did
    (`check_transition`) and the configuration it reached (`check_config`). Bounded responses
    are checked by `check_response`."""
    return check_transition(model, before, step, watch) + check_config(model, step.config)
