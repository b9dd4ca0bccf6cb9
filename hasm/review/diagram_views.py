"""Focused views of a spec's diagrams: one state's neighbourhood, one trigger's effects, one
documented state pair's neighbourhood. Each is a smaller `NodeMachine` or `PairMachine`, cut
from the full one, so it is drawn by the same renderers (`to_dot`, `to_mermaid`, `render`) and
reads the same way: a view never says anything the full machine does not.

A name the spec does not know is an input error located at the spec file, with the known names.
"""

from __future__ import annotations

from dataclasses import replace

from hasm.core.model import Model
from hasm.errors import InputError, Problem
from hasm.review.diagram import (
    ANY_STATE,
    Arc,
    NodeMachine,
    PairMachine,
    RuleBox,
    node_machine,
    trigger_words,
)
from hasm.spec.model import Spec, Transition

__all__ = ["check_names", "from_view", "pair_view", "trigger_view", "view_stem"]


def _unknown(spec: Spec, option: str, what: str, name: str, known: list[str]) -> InputError:
    message = f"no {what} {name!r}; {what}s: {', '.join(known)}"
    return InputError(Problem(spec.path, None, option, message))


def _triggers(spec: Spec) -> list[str]:
    return sorted({on for t in spec.transitions for on in spec.as_written(t.on)})


def check_names(spec: Spec, states: list[str], triggers: list[str], pairs: list[str]) -> None:
    """Refuse, before any work, a state, trigger or pair the spec does not name."""
    for name in states:
        if name not in spec.states:
            raise _unknown(spec, "--from", "state", name, sorted(spec.states))
    known = _triggers(spec)
    for name in triggers:
        if name not in known:
            raise _unknown(spec, "--trigger", "trigger", name, known)
    for name in pairs:
        if name not in spec.state_pairs:
            raise _unknown(spec, "--pair", "pair", name, list(spec.state_pairs))


def view_stem(option: str, name: str) -> str:
    """The file name, without suffix, of a focused view: from-normal, trigger-heartbeat_loss,
    pair-P12 (spec ids are [a-z][a-z0-9_]* and P-rows P<n>, safe in any file name)."""
    return f"{option}-{name}"


def _cut(machine: NodeMachine, rules: list[RuleBox], title: str) -> NodeMachine:
    shown = {s for rule in rules for arc in rule.arcs for s in (*arc.sources, arc.target)}
    return replace(
        machine,
        title=title,
        states=tuple(s for s in machine.states if s.id in shown),
        starts=tuple((name, state) for name, state in machine.starts if state in shown),
        rules=tuple(rules),
    )


def _about(arc: Arc, state: str) -> bool:
    # ANY_STATE counts: a rule whose guard does not constrain a side may leave this state too.
    return state in arc.sources or ANY_STATE in arc.sources or arc.target == state


def from_view(spec: Spec, state: str) -> NodeMachine:
    """`state` and everything one step away: every rule that may leave it (for either side) or
    enter it, with its triggers, guard and reasons. A rule that leaves `state` is drawn from it
    alone, not from the other states it also leaves, so the view stays one step wide."""
    check_names(spec, [state], [], [])
    machine = node_machine(spec)
    rules, anywhere = [], []
    for rule in machine.rules:
        if not any(_about(arc, state) for arc in rule.arcs):
            continue
        if not any(state in (*arc.sources, arc.target) for arc in rule.arcs):
            # Open to every state (HA enabled or disabled, a failed move...): named, not
            # drawn, or they would crowd out what is particular to this state.
            anywhere.append(rule.id)
            continue
        arcs = tuple(
            replace(arc, sources=(state,)) if state in arc.sources and arc.target != state else arc
            for arc in rule.arcs
        )
        rules.append(replace(rule, arcs=arcs))
    title = f"{spec.title}: one step from and to {spec.states[state].label} ({state})"
    if anywhere:
        title += f"\nalso from any state, not drawn: {', '.join(anywhere)}"
    return _cut(machine, rules, title)


def trigger_view(spec: Spec, trigger: str) -> NodeMachine:
    """Every effect of one event or timer: each rule it triggers, from which states to which,
    for the node (solid) and its peer (dashed)."""
    check_names(spec, [], [trigger], [])
    machine = node_machine(spec)
    rules = [
        rule
        for rule, t in zip(machine.rules, _by_id(spec), strict=True)
        if trigger in spec.as_written(t.on)
    ]
    words = trigger_words(Model(spec), trigger)
    return _cut(machine, rules, f"{spec.title}: what {words} does ({trigger})")


def _by_id(spec: Spec) -> list[Transition]:
    return sorted(spec.transitions, key=lambda t: t.id)


def pair_view(spec: Spec, machine: PairMachine, row: str) -> PairMachine:
    """A documented state pair's neighbourhood in the pair machine: the reachable pairs that
    show it, the pairs that lead to them and those they lead to, with the rules between, each
    with its triggers in words. A P-row that marks no reachable pair is drawn as its legend
    line alone (why it is not drawn)."""
    check_names(spec, [], [], [row])
    focus = {box.states for box in machine.pairs if row in box.rows}
    model = Model(spec)
    on = {
        t.id: ", ".join(trigger_words(model, x) for x in spec.as_written(t.on))
        for t in spec.transitions
    }
    arcs = tuple(
        replace(a, rules=tuple(f"{rule} ({on[rule]})" for rule in a.rules))
        for a in machine.arcs
        if a.source in focus or a.target in focus
    )
    shown = focus | {a.source for a in arcs} | {a.target for a in arcs}
    return replace(
        machine,
        title=f"{spec.title}: state pair {row} and its neighbours",
        pairs=tuple(box for box in machine.pairs if box.states in shown),
        arcs=arcs,
        starts=tuple((name, pair) for name, pair in machine.starts if pair in shown),
        not_drawn=tuple((pid, why) for pid, why in machine.not_drawn if pid == row),
    )
