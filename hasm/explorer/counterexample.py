"""Counterexamples as real runs: a path of the zone graph replayed with the concrete core at
times the search chose, the violation worded from that run, and the run written as a trace.

The search keeps symbolic steps, some taken in the mirror image of the real run (states are kept
in one orientation of the two nodes) and with clocks and cohort keys numbered its own way; the
replay takes each step's input as the real run has it, applies it at its time, and keeps the
successor that makes the same move."""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass

from hasm.core.config import (
    NO_NODE,
    SIGNED_OUT,
    Config,
    EventInput,
    Fire,
    Input,
    Relogin,
    Step,
    UserKey,
)
from hasm.core.model import Model
from hasm.core.search import mirror_node, mirror_session
from hasm.core.semantics import advance, apply
from hasm.explorer.invariants import (
    Violation,
    Watch,
    check_config,
    check_transition,
    response_violation,
    watch_start,
    watch_step,
)
from hasm.trace.records import ObservationLine, Record, encode_line, number
from hasm.trace.writer import TraceWriter

__all__ = [
    "NODE_NAMES",
    "USER_NAMES",
    "Ending",
    "in_seconds",
    "replay",
    "same_move",
    "taken_input",
    "violation",
    "write_trace",
]

# Names for the two nodes and the one user (homed on node 0), in counterexample traces.
NODE_NAMES = ("node0", "node1")
USER_NAMES = ("user0",)


@dataclass(frozen=True)
class Ending:
    """How a counterexample ends, for its replay: `kind` is "config" (the state reached breaks
    an invariant), "step" (the last step does; `watched` is the watched condition whose clock,
    on the step's node, must be younger than `need` ticks, when the step's timing is what
    breaks it) or
    "response" (the step at index `trigger` starts a bounded response still unmet `within`
    ticks later, for node `node`)."""

    kind: str
    invariant: str
    watched: int | None = None
    need: int = 0
    trigger: int = 0
    within: int = 0
    node: int = 0


def replay(
    model: Model, start: Config, kept: list[tuple[tuple[Step, bool], int]]
) -> tuple[list[Step], list[Watch], Config]:
    """The concrete run of symbolic steps (each with whether it was taken mirrored) at their
    times: its steps, the watched clocks after each (the first: at the start), and where it
    ends."""
    concrete: list[Step] = []
    watches = [watch_start(model, start)]
    config = start
    for (want, flipped), t in kept:
        config = advance(model, config, t)
        inp = taken_input(want.input, flipped, config)
        s = next(s for s in apply(model, config, inp) if same_move(s, want, flipped))
        watches.append(watch_step(model, watches[-1], config, s))
        concrete.append(s)
        config = s.config
    return concrete, watches, config


def violation(
    model: Model,
    ticks: int,
    ending: Ending,
    start: Config,
    concrete: list[Step],
    watches: list[Watch],
    limit: int,
) -> Violation:
    """The violation, worded from the concrete run (so its times are the run's)."""
    last = concrete[-1].config if concrete else start
    if ending.kind == "config":
        found = check_config(model, last)
    elif ending.kind == "step":
        before = concrete[-2].config if len(concrete) > 1 else start
        found = check_transition(model, before, concrete[-1], watches[-2])
    else:
        inv = next(i for i in model.spec.invariants if i.id == ending.invariant)
        before = concrete[ending.trigger - 1].config if ending.trigger else start
        began = concrete[ending.trigger].config.now
        final = advance(model, last, limit)
        # Worded in seconds, as the trace is (the run counts ticks).
        found = [
            response_violation(model, inv, ending.node, before, began / ticks, limit / ticks, final)
        ]
    v = next(v for v in found if v.invariant == ending.invariant)
    if ending.kind != "response" and ticks != 1:
        # Its time in seconds (a step's or configuration's words still count ticks).
        v = dataclasses.replace(v, time=v.time / ticks)
    return v


def in_seconds(
    ticks: int, start: Config, steps: list[Step], final: Config
) -> tuple[Config, list[Step], Config]:
    """A run counted in ticks, with its times in seconds."""

    def seconds(config: Config) -> Config:
        return config if ticks == 1 else dataclasses.replace(config, now=config.now / ticks)

    return (
        seconds(start),
        [dataclasses.replace(s, config=seconds(s.config)) for s in steps],
        seconds(final),
    )


def write_trace(
    model: Model, start_name: str, start: Config, steps: list[Step], final: Config
) -> str:
    """A run of the explorer as a trace in format v1: the header, the first observation, every
    event and every changed observation; the last line observes `final` (at its own time)."""
    out = io.StringIO()
    users = {USER_NAMES[0]: NODE_NAMES[0]}
    writer = TraceWriter(out, model, NODE_NAMES, users, start_name, model.params)
    writer.start(start)
    for step in steps:
        inp = step.input
        # One user is explored: every cohort is that user's (a spec may even move its home).
        key = inp.user if isinstance(inp, Relogin | EventInput) else None
        user = USER_NAMES[0] if key is not None else None
        sessions = {USER_NAMES[0]: step.moves[-1].target[1]} if step.moves else {}
        writer.record(Record(step, user=user, sessions=sessions))
    if final.now != (steps[-1].config.now if steps else start.now):
        # The run ends with time passing (a bounded response missed its bound): observe then.
        line = ObservationLine(number(final.now), writer.observation(final))
        out.write(encode_line(line.json()) + "\n")
    return out.getvalue()


def same_move(step: Step, want: Step, mirrored: bool = False) -> bool:
    """Is `step` the step `want` took (the same rule on the same node, to the same nodes), or
    with `mirrored` the mirror image of it? Replays match steps so, as their clocks and cohort
    keys are numbered otherwise."""
    a, b = step.config, want.config
    node, nodes = want.node, b.nodes
    if mirrored:
        node = None if node is None else mirror_node(node)
        nodes = (nodes[1], nodes[0])
    return (
        step.rule == want.rule
        and step.node == node
        and a.nodes == nodes
        and a.ha_enabled == b.ha_enabled
        and a.link_up == b.link_up
        and _kept_sessions(a) == _kept_sessions(b, mirrored)
    )


def _kept_sessions(config: Config, mirrored: bool = False) -> tuple[tuple[int, int, int], ...]:
    """The sessions that outlived their clients' sign-out (home, node, count): what tells the
    outcomes of a sign-out apart (A-logout-session), which change no node."""
    flip = mirror_session if mirrored else (lambda n: n)
    return tuple(
        sorted(
            (flip(c.home), flip(c.session), c.count)
            for c in config.users
            if c.waiting_since == SIGNED_OUT and c.session != NO_NODE
        )
    )


def taken_input(inp: Input, mirrored: bool, config: Config) -> Input:
    """A symbolic step's input as the real run takes it in `config`."""
    return _translated(_real_input(inp, mirrored), config)


def _real_input(inp: Input, mirrored: bool) -> Input:
    """`inp` as the real run takes it: its mirror image (nodes swapped) when it was taken in
    the mirror image of the run."""
    if not mirrored:
        return inp
    if isinstance(inp, Fire):
        return Fire(inp.timer, mirror_node(inp.node))
    if isinstance(inp, Relogin):
        home, session, since = inp.user
        return Relogin((mirror_node(home), mirror_session(session), since), inp.count)
    user = inp.user
    if user is not None:
        user = (mirror_node(user[0]), mirror_session(user[1]), user[2])
    node = None if inp.node is None else mirror_node(inp.node)
    return dataclasses.replace(inp, node=node, user=user)


def _cohort(config: Config, key: UserKey) -> UserKey:
    """The cohort of `config` that plays `key`'s part (the same home and session, waiting or
    not): one user is explored, so there is one."""
    home, session, since = key
    return next(
        c.key
        for c in config.users
        if c.home == home and c.session == session and (c.waiting_since >= 0) == (since >= 0)
    )


def _translated(inp: Input, config: Config) -> Input:
    """`inp` with its cohort key as `config` numbers it."""
    if isinstance(inp, Relogin):
        return Relogin(_cohort(config, inp.user), inp.count)
    if isinstance(inp, EventInput) and inp.user is not None:
        return dataclasses.replace(inp, user=_cohort(config, inp.user))
    return inp
