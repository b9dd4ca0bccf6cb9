"""Compile a loaded spec into a live `transitions` state machine over the pair of node states.

The machine's states are the pairs "<state of node 0>|<state of node 1>" of spec state ids, every
pair of the spec's states. Each spec transition becomes machine transitions from every pair its
`node.state`/`peer.state` tests allow, once per trigger in its `on` and per node that may play
`node` (`@0`, `@1`), to the pair its targets name. The compiled guard is the transition's
condition (its state tests are then redundant, and cheap). `transitions` itself selects the
rule: it tries a trigger's transitions from the current pair in order - spec order, node 0
before node 1, as the core's `apply` matches them - and takes the first whose condition holds.
Environment events and timers end with a catch-all internal transition (no rule applies: the
world changes, the pair does not); admin events have none, so an action no rule takes is not
offered.

What the machine does not hold - reasons, environment, link, timers and users - lives beside it
in `LiveGroup.config`, a `hasm.core.config.Config`, and every change to it is made by the semantic
core's own functions: the event's effect before the guards are checked, then the rule's targets
and effects, then ended sessions and started or cancelled timers. So the machine and the core
can only disagree on which rule applies and where it leads, which is what the tests compare.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from transitions import Machine
from transitions.core import EventData

from hasm.core.config import (
    Config,
    EventInput,
    Fire,
    Relogin,
    Step,
    UserKey,
)
from hasm.core.model import Check, Model

# The machine reuses the core's two halves of a step (prepare, outcome) rather than restate the
# domain rules they implement; only the choice of rule is the machine's own.
from hasm.core.semantics import Prepared, advance, apply, initial_config, outcome, prepare
from hasm.core.views import NodeView, node_views, offer_summary
from hasm.errors import NoSuchStep, NotEnabled, NotOffered
from hasm.spec.guards import states_known, verdict
from hasm.spec.model import Spec

__all__ = [
    "SEPARATOR",
    "LiveGroup",
    "compile_machine",
    "config_pair",
    "machine_config",
    "pair_name",
]

if TYPE_CHECKING:
    from transitions.core import TransitionConfigDict

SEPARATOR = "|"  # between the two node states in a machine state's name


def pair_name(first: str, second: str) -> str:
    """The machine state of a group whose node 0 is in `first` and node 1 in `second`."""
    return f"{first}{SEPARATOR}{second}"


def config_pair(config: Config) -> str:
    """The machine state a configuration is in."""
    return pair_name(config.nodes[0].state, config.nodes[1].state)


# -- the declarative machine -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Plan:
    """One machine transition: from `source` on `trigger` to `dest` by the spec transition
    `rule` with node `node` playing `node`; `rule` None is the catch-all (source "*", internal)."""

    trigger: str
    source: str
    dest: str | None
    rule: str | None
    node: int | None

    @property
    def condition(self) -> str | None:
        return None if self.rule is None else f"{self.rule}@{self.node}"

    @property
    def order(self) -> tuple[str, bool, str]:
        # The catch-all must come after every rule of its trigger, from any source, since
        # `transitions` takes the first transition that holds.
        return (self.trigger, self.rule is None, self.source)


def _triggers(spec: Spec) -> list[str]:
    """Every trigger: the spec's events, then its timers (node timers and the client re-login)."""
    return [*spec.events, *spec.timers]


def _states(spec: Spec) -> list[str]:
    """Every pair of spec states, sorted by name."""
    return sorted(pair_name(a, b) for a in spec.states for b in spec.states)


# Plans take ~0.05 s per spec and depend on the spec alone, so live groups of a spec share them.
# The entry keeps its spec alive, so its id cannot be reused by another spec while cached.
_PLAN_CACHE: dict[int, tuple[Spec, tuple[_Plan, ...]]] = {}
_PLAN_CACHE_SIZE = 8


def _plans(spec: Spec) -> tuple[_Plan, ...]:
    cached = _PLAN_CACHE.get(id(spec))
    if cached is not None and cached[0] is spec:
        return cached[1]
    states = sorted(spec.states)
    plans: list[_Plan] = []
    for t in spec.transitions:
        # A pair is a source unless the guard's state tests alone rule it out.
        allowed = {
            (a, b): verdict(t.when, states_known({"node": a, "peer": b})) is not False
            for a in states
            for b in states
        }
        for trigger in t.on:
            for n in (0, 1):
                for first in states:
                    for second in states:
                        pair = (first, second)
                        if not allowed[pair[n], pair[1 - n]]:
                            continue
                        dest = list(pair)
                        if t.node.state is not None:
                            dest[n] = t.node.state
                        if t.peer.state is not None:
                            dest[1 - n] = t.peer.state
                        plans.append(
                            _Plan(trigger, pair_name(first, second), pair_name(*dest), t.id, n)
                        )
    plans += [
        _Plan(trigger, "*", None, None, None)
        for trigger in _triggers(spec)
        if trigger not in spec.events or spec.events[trigger].kind != "admin"
    ]
    # A stable sort: within one trigger and source the spec's order, then node 0 before node 1,
    # survives - the order in which the core matches rules.
    result = tuple(sorted(plans, key=lambda p: p.order))
    if len(_PLAN_CACHE) >= _PLAN_CACHE_SIZE:
        del _PLAN_CACHE[next(iter(_PLAN_CACHE))]
    _PLAN_CACHE[id(spec)] = (spec, result)
    return result


def machine_config(model: Model, start: str = "ha_disabled") -> dict[str, Any]:
    """The machine as `transitions` configuration data in the shape of its MachineConfig, for
    diagrams and docs: states sorted, transitions by trigger and source (a trigger's catch-all
    last), conditions by name.

    A condition `rule@i` holds when the spec transition `rule`, with node i of the pair playing
    `node`, applies to the input (for a node event or timer, node i is the input's node). A
    transition without a condition from "*" to None is an environment event or timer that no
    rule takes: the world changes and the pair stays. `Machine(model=None, **machine_config(m))`
    builds it; `compile_machine` builds the same machine with the conditions made live."""
    spec = model.spec
    point = spec.initial[start]
    transitions: list[TransitionConfigDict] = []
    for plan in _plans(spec):
        entry: TransitionConfigDict = {
            "trigger": plan.trigger,
            "source": plan.source,
            "dest": plan.dest,
        }
        if plan.condition is not None:
            entry["conditions"] = [plan.condition]
        transitions.append(entry)
    return {
        "states": _states(spec),
        "transitions": transitions,
        "initial": pair_name(point.state, point.state),
        "auto_transitions": False,
        "send_event": True,
    }


# -- the live machine --------------------------------------------------------------------------
@dataclass(eq=False)
class _Pending:
    """The input being triggered: the core's first half of the step, or, for a re-login or an
    event of several outcomes (which no rule takes), the successor taken."""

    prepared: Prepared | None
    fixed: Step | None = None
    wanted: Config | None = None  # take only a transition that leads here
    held: bool = False  # some rule's guard held during this trigger
    outcomes: dict[_Plan, Step] = field(default_factory=dict)


class _Edge:
    """A live machine transition's condition and effect; it knows its plan, so the machine's
    own transition objects say which rule they stand for."""

    __slots__ = ("live", "plan")

    def __init__(self, live: LiveGroup, plan: _Plan) -> None:
        self.live, self.plan = live, plan

    def __call__(self, event_data: EventData) -> bool:
        return self.live._admits(self.plan)

    def commit(self, event_data: EventData) -> None:
        self.live._commit(self.plan)

    def __repr__(self) -> str:
        return self.plan.condition or "no_rule"


class LiveGroup:
    """A redundancy group driven by a `transitions.Machine` (`self.machine`): the machine holds
    the pair of node states (`self.state`), `self.config` everything else.

    Users are named by cohort key (home, session node, re-login start), as the core counts them;
    nodes by name. Calling a trigger method directly (`live.failover(node="node1")`) works as in
    `transitions`: it returns False, or raises MachineError, where `event` raises NotOffered."""

    state: str  # set by the machine: the pair of node states

    def __init__(self, model: Model, nodes: Sequence[str], config: Config) -> None:
        if len(nodes) != 2 or nodes[0] == nodes[1]:
            raise ValueError(f"a group has two distinct nodes, not {list(nodes)!r}")
        self.model = model
        self.nodes = (nodes[0], nodes[1])
        self.config = config
        self.last_step: Step | None = None
        self._pending: _Pending | None = None
        self._checks: dict[str, Check] = {
            rule.transition.id: rule.check for rules in model.rules.values() for rule in rules
        }
        self._rules = {t.id: t for t in model.spec.transitions}
        spec = model.spec
        self._node_timers = {t.id for t in spec.timers.values() if t.per == "node"}
        self._relogin_timer = spec.user_timer.id
        live: list[TransitionConfigDict] = []
        for plan in _plans(spec):
            edge = _Edge(self, plan)
            live.append(
                {
                    "trigger": plan.trigger,
                    "source": plan.source,
                    "dest": plan.dest,
                    "conditions": [edge],
                    "after": [edge.commit],
                }
            )
        self.machine = Machine(
            model=self,
            states=_states(spec),
            initial=config_pair(config),
            transitions=live,
            send_event=True,
            auto_transitions=False,
            prepare_event=self._prepare,
            name=spec.id,
        )

    # -- reading ----------------------------------------------------------------------------------
    @property
    def last_rule(self) -> str | None:
        """The spec transition that fired on the last applied trigger, or None."""
        return None if self.last_step is None else self.last_step.rule

    def views(self) -> tuple[NodeView, NodeView]:
        """Each node as the Presence Redundancy Group page shows it."""
        return node_views(self.model, self.config)

    # -- driving ----------------------------------------------------------------------------------
    def event(
        self,
        name: str,
        node: str | None = None,
        service: str | None = None,
        user: UserKey | None = None,
        *,
        successor: Config | None = None,
    ) -> Step:
        """Apply an event of trace format v1 now and return the step. An admin action that no
        rule takes raises NotOffered and changes nothing. With `successor`, take the transition
        that leads there (replaying a run whose core had several successors)."""
        event = self.model.spec.events.get(name)
        if event is None:
            raise NotEnabled(
                f"unknown event '{name}'; the events are {', '.join(self.model.spec.events)}"
            )
        return self._trigger(name, node, service, user, successor)

    def fire(self, timer: str, node: str, *, successor: Config | None = None) -> Step:
        """A running node timer fires now on `node`."""
        if timer not in self._node_timers:
            raise NotEnabled(
                f"unknown node timer '{timer}'; the timers are {', '.join(sorted(self._node_timers))}"
            )
        return self._trigger(timer, node, None, None, successor)

    def relogin(self, user: UserKey) -> Step:
        """One waiting client of the cohort `user` logs in again now."""
        return self._trigger(self._relogin_timer, None, None, user, None)

    def reset(self, config: Config) -> None:
        """Start over from `config` (of this model): the machine's state follows it. Cheaper
        than compiling a new machine, which takes a few hundredths of a second."""
        self.config, self.last_step, self._pending = config, None, None
        self.machine.set_state(config_pair(config), model=self)

    def advance(self, time: float) -> Config:
        """Move the virtual clock to `time`; nothing happens on the way (semantics.advance)."""
        self.config = advance(self.model, self.config, time)
        return self.config

    def successors(
        self,
        trigger: str,
        node: str | None = None,
        service: str | None = None,
        user: UserKey | None = None,
    ) -> tuple[Step, ...]:
        """Every step the machine could take on `trigger` now, without taking one: its
        transitions from the current pair whose conditions hold, in order, one per resulting
        configuration (empty for an admin action not offered)."""
        wants: list[Config | None] = [None]
        if trigger in self.model.branching:
            # The catch-all takes each outcome of the event's effect: ask for each in turn.
            inp = EventInput(trigger, self._index(node), service, user)
            wants = [s.config for s in apply(self.model, self.config, inp)]
        event = self.machine.events[trigger]
        data = EventData(self.machine.get_state(self.state), event, self.machine, self, (), {})
        saved = self._pending
        out: dict[Config, Step] = {}
        try:
            for wanted in wants:
                pending = self._pending = self._input(trigger, node, service, user, wanted)
                # .get, not [...]: the events' transition tables are defaultdicts, and an empty
                # entry would make every source look valid to `transitions`.
                for trans in event.transitions.get(self.state, []):
                    data.transition = trans
                    if all(c.check(data) for c in trans.conditions):
                        edge = trans.conditions[0].func
                        assert isinstance(edge, _Edge)
                        step = self._outcome(pending, edge.plan)
                        out.setdefault(step.config, step)
        finally:
            self._pending = saved
        return tuple(out.values())

    def offered(self) -> tuple[EventInput, ...]:
        """The administrator actions the machine offers now, as `semantics.offered` lists them."""
        out: list[EventInput] = []
        for event in self.model.spec.events.values():
            if event.kind != "admin":
                continue
            if "node" in event.fields:
                out += [
                    EventInput(event.id, node=n)
                    for n in (0, 1)
                    if self.successors(event.id, node=self.nodes[n])
                ]
            elif self.successors(event.id):
                out.append(EventInput(event.id))
        return tuple(out)

    # -- internals ----------------------------------------------------------------------------------
    def _trigger(
        self,
        trigger: str,
        node: str | None,
        service: str | None,
        user: UserKey | None,
        successor: Config | None,
    ) -> Step:
        event = self.machine.events[trigger]
        if self.state not in event.transitions:
            # Only admin actions lack a catch-all: no rule takes this one from this pair.
            self._input(trigger, node, service, user, None)  # a bad input still says so first
            raise self._not_offered(trigger, node)
        before = self.last_step
        taken = event.trigger(self, node=node, service=service, user=user, successor=successor)
        pending = self._pending
        assert pending is not None
        if not taken:
            if pending.prepared is not None and pending.prepared.admin and not pending.held:
                raise self._not_offered(trigger, node)
            raise NoSuchStep(
                f"no transition on {trigger} from {self.state} leads to the successor asked for"
            )
        step = self.last_step
        assert step is not None and step is not before
        assert self.state == config_pair(self.config), (self.state, self.config)
        return step

    def _not_offered(self, action: str, node: str | None) -> NotOffered:
        return NotOffered(action, node, offer_summary(self.model, self.config, self.nodes))

    def _index(self, node: str | None) -> int | None:
        if node is None:
            return None
        if node not in self.nodes:
            raise NotEnabled(
                f"unknown node '{node}'; the nodes are {self.nodes[0]} and {self.nodes[1]}"
            )
        return self.nodes.index(node)

    def _prepare(self, event_data: EventData) -> None:
        """The machine's prepare_event: read the trigger's input and apply its effect to the
        world, so that every condition sees the world after it."""
        kwargs: dict[str, Any] = event_data.kwargs
        self._pending = self._input(
            event_data.event.name,
            kwargs.get("node"),
            kwargs.get("service"),
            kwargs.get("user"),
            kwargs.get("successor"),
        )

    def _input(
        self,
        trigger: str,
        node: str | None,
        service: str | None,
        user: UserKey | None,
        wanted: Config | None,
    ) -> _Pending:
        """The input a trigger stands for and the world after its own effect (as
        semantics.apply computes it before matching rules)."""
        config, index = self.config, self._index(node)
        if trigger in self._node_timers:
            if index is None:
                raise NotEnabled(
                    f"timer {trigger} fires on a node; name {self.nodes[0]} or {self.nodes[1]}"
                )
            return _Pending(prepare(self.model, config, Fire(trigger, index)), wanted=wanted)
        if trigger == self._relogin_timer:
            if user is None:
                raise NotEnabled(f"{trigger} needs the cohort of the client that logs in")
            # A re-login takes no rule: the core's apply is its only successor.
            step = apply(self.model, config, Relogin(user))[0]
            return _Pending(None, fixed=step, wanted=wanted)
        inp = EventInput(trigger, index, service, user)
        if trigger in self.model.branching:
            # An event of several outcomes moves only users and takes no rule: the core's
            # successor asked for (or its first) is the step, as for a re-login.
            steps = apply(self.model, config, inp)
            step = next((s for s in steps if s.config == wanted), steps[0])
            return _Pending(None, fixed=step, wanted=wanted)
        return _Pending(prepare(self.model, config, inp), wanted=wanted)

    def _admits(self, plan: _Plan) -> bool:
        """The condition of the machine transition `plan`, on the pending input."""
        pending = self._pending
        if pending is None:
            raise NotEnabled("a trigger's conditions were checked with no input prepared")
        p = pending.prepared
        if plan.rule is None:
            # The catch-all: transitions tried the rules first; it holds if none did.
            holds = not pending.held
        else:
            assert plan.node is not None and p is not None
            holds = (
                p.changed
                and plan.node in p.bindings
                and self._checks[plan.rule](p.world, plan.node, p.event)
            )
            pending.held = pending.held or holds
        if not holds or pending.wanted is None:
            return holds
        return self._outcome(pending, plan).config == pending.wanted

    def _outcome(self, pending: _Pending, plan: _Plan) -> Step:
        """The step the machine transition `plan` makes, by the core's own functions."""
        known = pending.outcomes.get(plan)
        if known is not None:
            return known
        if pending.fixed is not None:
            step = pending.fixed
        else:
            assert pending.prepared is not None
            rule = self._rules[plan.rule] if plan.rule is not None else None
            step = outcome(self.model, pending.prepared, rule, plan.node)
        pending.outcomes[plan] = step
        return step

    def _commit(self, plan: _Plan) -> None:
        """After the machine moved to the transition's destination: the world follows."""
        assert self._pending is not None
        step = self._outcome(self._pending, plan)
        self.config, self.last_step = step.config, step
        assert self.state == config_pair(step.config), (self.state, plan)


def compile_machine(
    model: Model,
    nodes: Sequence[str] = ("node1", "node2"),
    users: Mapping[str, str] | None = None,
    start: str = "ha_disabled",
) -> LiveGroup:
    """A live group for `model`, started at the starting point `start` (`ha_disabled` or
    `normal`) with `users` (user -> home node name) signed in at home."""
    users = users or {}
    strangers = sorted(user for user, home in users.items() if home not in nodes)
    if strangers:
        raise ValueError(f"users {strangers} have a home node that is not one of {list(nodes)}")
    homes = [list(nodes).index(home) for home in users.values()]
    counts = (homes.count(0), homes.count(1))
    return LiveGroup(model, nodes, initial_config(model, start, counts))
