"""From the readings of one or more files to one trace: node names settled, readings in time
order, times as seconds since the first reading, every record with its `source`.

The trace's header says what the import cannot know: the group starts in a state observed,
not assumed (`"initial": "observed"`), and faults that left no line may have happened
(`hidden`: the events nobody saw, at most `faults` of them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TextIO

from hasm.adapters.base import AdapterError, Note, Parsed, Reading, Unreadable, listed
from hasm.adapters.times import format_start
from hasm.errors import Problem
from hasm.spec.model import ParamValue
from hasm.trace.records import VERSION, encode_line, param_value

__all__ = ["HIDDEN_EVENTS", "ImportResult", "build", "seconds_since"]

# The events a real group may go through without any line saying so (trace format: events).
HIDDEN_EVENTS = (
    "service_stop", "service_start", "node_down", "node_up",
    "srm_stop", "srm_start", "link_down", "link_up",
)  # fmt: skip
_MS = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class ImportResult:
    """An import's trace (`header`, `records`, as JSON objects), and what it could not read
    (`unreadable`) or read and did not use (`notes`), and what it decided (`said`)."""

    header: Mapping[str, Any]
    records: tuple[Mapping[str, Any], ...]
    unreadable: tuple[Unreadable, ...]
    notes: tuple[Note, ...]
    said: tuple[str, ...]

    def lines(self) -> Iterable[str]:
        """The trace's lines, each with its line end: the same input gives the same bytes."""
        yield encode_line(self.header) + "\n"
        for record in self.records:
            yield encode_line(record) + "\n"

    def text(self) -> str:
        return "".join(self.lines())

    def write(self, out: TextIO) -> None:
        """The trace into `out` (for a file that appears only when whole, open it with
        hasm.cli.common.atomic_output, as `hasm import` does)."""
        out.writelines(self.lines())


def build(
    parsed: Sequence[Parsed],
    files: Sequence[str],
    vocabulary: str,
    *,
    nodes: Sequence[str] | None,
    group: str | None,
    params: Mapping[str, ParamValue],
    hidden_faults: int,
) -> ImportResult:
    readings = [r for p in parsed for r in p.readings]
    notes = tuple(n for p in parsed for n in p.notes)
    unreadable = tuple(u for p in parsed for u in p.unreadable)
    said = tuple(dict.fromkeys(s for p in parsed for s in p.said))
    if group is None:  # the one group the files name, if they name one and agree
        named = {p.group for p in parsed if p.group is not None}
        group = named.pop() if len(named) == 1 else None
    # Stable: readings at the same time keep the order of the files and of their lines.
    ordered = sorted(readings, key=lambda r: r.at)
    times = [r.at for r in ordered] or [n.at for n in notes if n.at is not None]
    if not times:  # no time to start the trace at: say why, each line that was not read too
        why = Problem(files[0], None, "", "no reading with a time: nothing to import")
        raise AdapterError([*(u.problem() for u in unreadable), why])
    names = _Nodes(nodes, readings, files)
    start = min(times) if not ordered else ordered[0].at
    records = tuple(_record(r, start, names) for r in ordered)
    header: dict[str, Any] = {"hasm_trace": VERSION, "nodes": list(names.order)}
    if params:
        header["params"] = {k: param_value(v) for k, v in params.items()}
    header["initial"] = "observed"
    header["hidden"] = {"events": list(HIDDEN_EVENTS), "faults": hidden_faults}
    header["start"] = format_start(start)
    header["sources"] = list(dict.fromkeys(files))
    header["vocabulary"] = vocabulary
    if group is not None:
        header["group"] = group
    return ImportResult(header, records, unreadable, notes, said)


def seconds_since(start: datetime, at: datetime) -> int | float:
    """Seconds from `start` to `at`, rounded to the millisecond, as an exact decimal: whole
    milliseconds are counted in integers and only then divided."""
    ms = round((at - start) / _MS)
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


def _record(reading: Reading, start: datetime, names: _Nodes) -> dict[str, Any]:
    t = seconds_since(start, reading.at)
    if reading.event is not None:
        action, target = reading.event
        event: dict[str, Any] = {"t": t, "event": action}
        if target is not None:
            event["node"] = names.canonical(target)
        event["source"] = str(reading.origin)
        return event
    seen: dict[str, dict[str, str]] = {}
    for name, what in sorted(reading.nodes, key=lambda n: names.index(n[0])):
        node: dict[str, str] = {}
        if what.state is not None:
            node["state"] = what.state
        if what.reason is not None:
            node["reason"] = what.reason
        seen[names.canonical(name)] = node
    observe: dict[str, Any] = {"nodes": seen}
    if reading.ha_enabled is not None:
        observe["ha_enabled"] = reading.ha_enabled
    return {
        "t": t,
        "observe": observe,
        "source": str(reading.origin),
    }


class _Nodes:
    """The group's two node names: `--nodes` in its order, or the input's in the order they
    first appear. A name the input writes differently (case, or a host name without its
    domain) is the same node when exactly one of the names fits."""

    def __init__(
        self, given: Sequence[str] | None, readings: Sequence[Reading], files: Sequence[str]
    ) -> None:
        self._known: dict[str, str] = {}
        if given is not None:
            self.order = (given[0], given[1])
            for reading in readings:
                for name in reading.names():
                    if self._match(name, self.order) is None:
                        raise AdapterError(
                            Problem(
                                reading.origin.file,
                                reading.origin.line,
                                "--nodes",
                                f"node {name!r} is not one of --nodes {listed(self.order)}",
                            )
                        )
            return
        found: list[str] = []
        # The nodes observed first (a poll's Node 1, Node 2), then those only an action names.
        named = [(name, r.origin) for r in readings for name, _ in r.nodes]
        named += [(r.event[1], r.origin) for r in readings if r.event and r.event[1]]
        for name, origin in named:
            if self._match(name, found) is None:
                found.append(name)
                if len(found) > 2:
                    raise AdapterError(
                        Problem(
                            origin.file,
                            origin.line,
                            "",
                            f"the input names more than two nodes ({listed(found)}): "
                            "a trace is one redundancy group; give --nodes N1,N2",
                        )
                    )
        if len(found) < 2:
            what = f"only {listed(found)}" if found else "no node"
            raise AdapterError(
                Problem(files[0], None, "--nodes", f"the input names {what}: give --nodes N1,N2")
            )
        self.order = (found[0], found[1])
        self._known.clear()

    def _match(self, name: str, among: Sequence[str]) -> str | None:
        if name in among:
            return name
        folded = [n for n in among if n.casefold() == name.casefold()]
        if len(folded) == 1:
            return folded[0]
        short = name.split(".", maxsplit=1)[0].casefold()
        by_host = [
            n
            for n in among
            if n.split(".")[0].casefold() == short and ("." not in n or "." not in name)
        ]
        return by_host[0] if len(by_host) == 1 else None

    def canonical(self, name: str) -> str:
        known = self._known.get(name)
        if known is None:
            found = self._match(name, self.order)
            assert found is not None  # every name was matched when the order was settled
            known = self._known[name] = found
        return known

    def index(self, name: str) -> int:
        return self.order.index(self.canonical(name))
