"""Writing one case's trace: its operations played with the oracle following, to know what is
pinned, and its verdict as `hasm check` gives it."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hasm.core.config import EventInput
from hasm.errors import ConformanceError, HasmError, InputError
from hasm.oracle.oracle import Oracle
from hasm.spec.model import Spec
from hasm.suite.cases import NODE_NAMES, USER_NAMES
from hasm.suite.observe import nest, pinned
from hasm.suite.reach import Variant
from hasm.trace.reader import read_trace
from hasm.trace.records import (
    EventLine,
    HeaderLine,
    ObservationLine,
    encode_line,
    number,
    param_value,
)

__all__ = ["CaseWriter", "Claim", "EventOp", "Look", "Op", "case_header", "check_verdict"]


@dataclass(frozen=True)
class EventOp:
    """Write the event `inp` at `t` (and feed it to the oracle)."""

    t: float
    inp: EventInput


@dataclass(frozen=True)
class Look:
    """Observe at `t` what the spec pins there; unless `always`, only if it differs from the
    file's previous observation (a case that shows nothing happens observes it even so)."""

    t: float
    always: bool = False


@dataclass(frozen=True)
class Claim:
    """Observe at `t` exactly `fields` (a flat mapping): a negative or tolerance case's line."""

    t: float
    fields: Mapping[str, Any]


Op = EventOp | Look | Claim  # one operation of a case plan


def case_header(variant: Variant, start: str, title: str) -> str:
    """A case's header line: the group, its parameter overrides, its start, and its title."""
    users = dict(zip(USER_NAMES, NODE_NAMES, strict=True))
    params = {k: param_value(v) for k, v in variant.overrides.items()} or None
    return encode_line(
        HeaderLine(list(NODE_NAMES), users, start, params=params, group=title).json()
    )


class CaseWriter:
    """Writes one case's trace, following it with the oracle to know what is pinned."""

    def __init__(self, spec: Spec, variant: Variant, start: str, title: str) -> None:
        self.spec = spec
        users = dict(zip(USER_NAMES, NODE_NAMES, strict=True))
        self.lines = [case_header(variant, start, title)]

        def oracle() -> Oracle:  # verdicts only: no explanation of what it rejects
            return Oracle(
                spec,
                NODE_NAMES,
                users,
                params=variant.overrides,
                initial=start,
                file="<case>",
                explain=False,
            )

        self.oracle = oracle()
        # A second oracle fed only the file's records, as `hasm check` reads them: the first is
        # also advanced to each observation's time to learn what is pinned there.
        self.replay = oracle()
        self.last: dict[str, Any] | None = None
        self.pinned: set[tuple[float, str]] = set()  # (time, field) the observations written

    def play(self, ops: Sequence[Op], *, negative: bool = False) -> None:
        """Write the operations; a negative case's last event is written, not fed to the
        oracle (it is the line that must diverge)."""
        for i, op in enumerate(ops):
            if isinstance(op, EventOp):
                self.event(op.t, op.inp, feed=not (negative and i == len(ops) - 1))
            elif isinstance(op, Look):
                self.look(op.t, always=op.always)
            else:
                self.claim(op.t, op.fields)

    def event(self, t: float, inp: EventInput, *, feed: bool = True) -> None:
        node = NODE_NAMES[inp.node] if inp.node is not None else None
        user = USER_NAMES[inp.user[0]] if inp.user is not None else None
        self.lines.append(
            encode_line(EventLine(number(t), inp.name, node, inp.service, user).json())
        )
        self.last = None
        if feed:
            self.oracle.event(t, inp.name, node, inp.service, user)
            self.replay.event(t, inp.name, node, inp.service, user)

    def look(self, t: float, *, always: bool = False) -> dict[str, Any]:
        self.oracle.advance(t)
        fields = pinned(self.oracle)
        if fields and (always or fields != self.last):
            self._observe(t, fields)
        self.last = fields
        return fields

    def claim(self, t: float, fields: Mapping[str, Any]) -> None:
        """A line the oracle is not fed: the case's last, checked by `_verify`."""
        self.lines.append(encode_line(ObservationLine(number(t), nest(fields)).json()))

    def _observe(self, t: float, fields: Mapping[str, Any]) -> None:
        # What every candidate shows conforms; but the oracle checks an observation that pins
        # sessions by reading the clients' counts off it, which can reject a count some
        # behaviour allows (see the report of issue 6). Rather than a case `hasm check` would
        # wrongly reject, observe less: without the sessions, then without the counts too.
        tries = (
            dict(fields),
            {k: v for k, v in fields.items() if not k.startswith("sessions/")},
            {
                k: v
                for k, v in fields.items()
                if not k.startswith("sessions/") and "_users" not in k
            },
        )
        for chosen in tries:
            obs = nest(chosen)
            try:
                self.replay.observe(
                    t,
                    nodes=obs.get("nodes"),
                    sessions=obs.get("sessions"),
                    ha_enabled=obs.get("ha_enabled"),
                    offered=obs.get("offered"),
                )
                self.oracle.observe(
                    t,
                    nodes=obs.get("nodes"),
                    sessions=obs.get("sessions"),
                    ha_enabled=obs.get("ha_enabled"),
                    offered=obs.get("offered"),
                )
            except ConformanceError:
                continue  # the oracle is left as it was before the record
            self.lines.append(encode_line(ObservationLine(number(t), obs).json()))
            self.pinned.update((t, k) for k in chosen)
            return

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def check_verdict(spec: Spec, text: str, tolerance: float = 0.0) -> tuple[str, int | None]:
    """What `hasm check` says of a trace: ("conforms", None) or ("diverges", line) or
    ("input_error", line)."""
    try:
        header, records = read_trace(io.StringIO(text), spec, name="<case>")
        oracle = Oracle.from_header(spec, header, tolerance, explain=False)  # the verdict only
        for record in records:
            oracle.record(record)
    except ConformanceError as exc:
        return "diverges", exc.divergence.line
    except InputError as exc:
        return "input_error", exc.problems[0].line if exc.problems else None
    except HasmError:
        return "input_error", None
    return "conforms", None
