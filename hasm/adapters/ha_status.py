"""`utils ha status` transcripts (format `ha-status`): repeated polls of the CLI, each after a
time line, as the CLI Reference (S5) prints them:

    Thu May 13 02:48:48 UTC 2021
    admin: utils ha status
    Subcluster Name: DefaultCluster
    Node 1 Name : kal-cup1 State: Normal Reason: Normal
    Node 2 Name : shorty-cups State: Normal Reason: Normal

A poll is one reading of its subcluster's two nodes at the time line before it. Tolerated, as
the published samples show them: a reason wrapped onto the next line (`Reason: ` ends the
line), no `Reason:` at all (the reason is then not observed), the prompt with or without the
command, trailing spaces, the echo of `utils ha failover` / `fallback` (`Initiate Manual ...`,
`Request SUCCESSFUL.`). Time lines are the output of `date`, ISO 8601, or a `[time]` prefix on
the prompt. A poll with no time line before it is unreadable, never given a guessed time.

A poll's record has the line of its first Node line as its source. `utils ha failover N` (or
`fallback N`, `recover`) answered `Request SUCCESSFUL.` is the administrator's action: an event
at the poll's time, before the output's observation - trace format v1 has no hidden
administrator actions, so a failover the transcript shows must be in the trace. A command the
CLI refused, or whose answer is missing, is a note and no event.

The state words are written as the CLI printed them (vocabulary `cli`): the spec maps them
(`vocabularies.cli`), not this module. `State: Unknown Reason: High Availability Not Enabled`
also observes that HA is off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC

from hasm.adapters.base import (
    AdapterError,
    Collector,
    Line,
    Options,
    Origin,
    Parsed,
    Reading,
    Seen,
    Words,
    listed,
    text_lines,
)
from hasm.adapters.times import BadTime, TimeRead, read_time, split_prefix
from hasm.errors import Problem
from hasm.spec.labels import normalise_label

__all__ = ["VOCABULARY", "parse"]

VOCABULARY = "cli"

_PROMPT = re.compile(r"admin:\s*(?P<command>.*?)\s*", re.IGNORECASE)
_STATUS = re.compile(r"(?:utils\s+)?ha\s+status(?:\s+\S+)?", re.IGNORECASE)
_ADMIN_ACTION = re.compile(
    r"(?:utils\s+)?ha\s+(?P<action>failover|fallback|recover)(?:\s+(?P<target>\S+))?", re.I
)
_SUBCLUSTER = re.compile(r"Subcluster\s+Name\s*:\s*(?P<name>.*?)\s*", re.IGNORECASE)
_NODE = re.compile(
    r"Node\s+(?P<n>\d+)\s+Name\s*:\s*(?P<name>\S+)\s+State\s*:\s*(?P<state>.*?)"
    r"(?:\s*Reason\s*:\s*(?P<reason>.*?))?\s*",
    re.IGNORECASE,
)
_ECHO = re.compile(r"Initiate\s+Manual\s+(?:Failover|Fallback|Recovery)\b.*", re.IGNORECASE)
_SUCCEEDED = re.compile(r"Request\s+SUCCESSFUL\.?", re.IGNORECASE)
_FAILED = re.compile(r"Request\s+\w+\.?|Executed\s+command\s+unsuccessfully\.?", re.IGNORECASE)
_HA_OFF = normalise_label("High Availability Not Enabled")


@dataclass
class _NodeLine:
    line: int
    number: int
    name: str
    state: str
    reason: str | None  # None: no `Reason:`; "" while a wrapped reason awaits its next line


@dataclass
class _Poll:
    """One poll being read: from its prompt (or first line) to the next poll."""

    line: int
    time: TimeRead | None
    groups: dict[str | None, list[_NodeLine]] = field(default_factory=dict)
    group: str | None = None  # the subcluster whose Node lines come now
    grouped: bool = False  # a Subcluster Name line was read
    action: str | None = None  # `utils ha failover|fallback|recover` before the output
    target: str | None = None  # the node it names (recover names the subcluster)
    outcome: str | None = None  # the command's echo: "Request SUCCESSFUL." or a failure's words

    def add(self, node: _NodeLine) -> None:
        self.groups.setdefault(self.group, []).append(node)


class _Reader:
    def __init__(self, file: str, options: Options, words: Words, out: Collector) -> None:
        self.file, self.options, self.words, self.out = file, options, words, out
        self.time: TimeRead | None = None  # the time line not yet taken by a poll
        self.time_line = 0
        self.poll: _Poll | None = None
        self.polls: list[_Poll] = []
        self.wrapped: _NodeLine | None = None  # a Node line whose reason is on the next line

    def line(self, line: Line) -> None:
        text = line.text.strip()
        if self.wrapped is not None:
            wrapped, self.wrapped = self.wrapped, None
            if text and not self._starts_something(text):
                wrapped.reason = text
                if not self.words.knows_reason(text):
                    self.out.bad(line.number, f"reason {text!r} is not a reason the spec knows")
                    self._drop(wrapped)
                return
            wrapped.reason = None  # an empty `Reason:`: not observed
            self.out.bad(wrapped.line, "'Reason:' is empty and the next line does not continue it")
        if not text:
            return
        prefixed = self._prefix(line.number, text)
        if prefixed is not None:
            text = prefixed
            if not text:
                return
        else:
            try:
                read = read_time(text, self.options.tz, self.options.tz_given)
            except BadTime as exc:
                self.out.bad(line.number, str(exc))
                return
            if read is not None:
                self._time(line.number, read)
                return
        self._content(line.number, text)

    def _drop(self, node: _NodeLine) -> None:
        """A Node line found unreadable on its next line: the poll does not observe it."""
        for poll in (self.poll, *reversed(self.polls)):
            for lines in poll.groups.values() if poll is not None else ():
                if node in lines:
                    lines.remove(node)
                    return

    def _prefix(self, number: int, text: str) -> str | None:
        try:
            split = split_prefix(text, self.options.tz, self.options.tz_given)
        except BadTime as exc:
            self.out.bad(number, str(exc))
            return ""
        if split is None:
            return None
        self._time(number, split[0])
        return split[1].strip()

    def _time(self, number: int, read: TimeRead) -> None:
        if self.poll is not None and self.poll.time is None and not self.poll.groups:
            self.poll.time = read  # `admin: utils ha status`, then the time, then the output
            return
        self._end_poll()
        if self.time is not None:
            self.out.bad(self.time_line, "a time line that no poll follows")
        self.time, self.time_line = read, number

    def _content(self, number: int, text: str) -> None:
        prompt = _PROMPT.fullmatch(text)
        if prompt is not None:
            command = prompt["command"]
            if command and not (_STATUS.fullmatch(command) or _ADMIN_ACTION.fullmatch(command)):
                self._end_poll()
                self.out.bad(number, f"command {command!r} is not utils ha status")
                return
            poll = self._start_poll(number)
            action = _ADMIN_ACTION.fullmatch(command)
            if action is not None:
                poll.action, poll.target = action["action"].lower(), action["target"]
            return
        sub = _SUBCLUSTER.fullmatch(text)
        if sub is not None:
            poll = self.poll if self.poll is not None else self._start_poll(number)
            if poll.grouped and poll.group == sub["name"]:
                poll = self._start_poll(number)  # the same group again: a poll without a prompt
            poll.group, poll.grouped = sub["name"], True
            return
        node = _NODE.fullmatch(text)
        if node is not None:
            poll = self.poll if self.poll is not None else self._start_poll(number)
            self._node(poll, number, node)
            return
        if _ECHO.fullmatch(text):
            return  # the admin command's echo of its node: the prompt named it
        current = self.poll
        awaiting = current is not None and current.action is not None and current.outcome is None
        if awaiting and (_SUCCEEDED.fullmatch(text) or _FAILED.fullmatch(text)):
            assert current is not None
            current.outcome = text  # the admin command's answer
            return
        self.out.bad(number, "not a line of utils ha status output")

    def _node(self, poll: _Poll, number: int, match: re.Match[str]) -> None:
        state, reason = match["state"], match["reason"]
        if not self.words.knows_state(state):
            self.out.bad(number, f"state {state!r} is not a CLI state the spec knows")
            return
        node = _NodeLine(number, int(match["n"]), match["name"], state, reason)
        if reason == "":
            self.wrapped = node  # `Reason: ` ends the line: the reason is on the next one
        elif reason is not None and not self.words.knows_reason(reason):
            self.out.bad(number, f"reason {reason!r} is not a reason the spec knows")
            return
        poll.add(node)

    def _starts_something(self, text: str) -> bool:
        return bool(
            _PROMPT.fullmatch(text)
            or _SUBCLUSTER.fullmatch(text)
            or _NODE.fullmatch(text)
            or _ECHO.fullmatch(text)
            or _SUCCEEDED.fullmatch(text)
            or text.startswith("[")
            or _is_time(text)
        )

    def _start_poll(self, number: int) -> _Poll:
        self._end_poll()
        self.poll = _Poll(number, self.time)
        self.time = None
        return self.poll

    def _end_poll(self) -> None:
        if self.poll is not None:
            self.polls.append(self.poll)
        self.poll = None

    def finish(self) -> list[_Poll]:
        if self.wrapped is not None:
            self.wrapped.reason = None
            self.out.bad(self.wrapped.line, "'Reason:' is empty at the end of the file")
            self.wrapped = None
        self._end_poll()
        if self.time is not None:
            self.out.bad(self.time_line, "a time line that no poll follows")
        return self.polls


def _is_time(text: str) -> bool:
    """A line with a time's shape (whatever its zone): it starts a poll, it continues nothing."""
    try:
        return read_time(text, UTC, True) is not None
    except BadTime:
        return True


def parse(file: str, data: bytes, options: Options, words: Words) -> Parsed:
    out = Collector(file)
    reader = _Reader(file, options, words, out)
    for line in text_lines(file, data, out):
        reader.line(line)
    polls = [p for p in reader.finish() if p.groups or p.action]
    groups = list(dict.fromkeys(g for p in polls for g in p.groups))
    chosen = _choose_group(file, [p for p in polls if p.groups], groups, options.group)
    out.group = chosen
    for poll in polls:
        if poll.action is not None:
            _admin_action(poll, chosen, out)
        nodes = poll.groups.get(chosen)
        if not nodes:  # none of the group, or its Node lines were all unreadable
            continue
        origin_line = nodes[0].line
        if poll.time is None:
            out.bad(poll.line, "a poll with no time line before it: its time is not known")
            continue
        if len({n.name for n in nodes}) != len(nodes) or len(nodes) > 2:
            out.bad(origin_line, "a poll lists a node twice or more than two nodes")
            continue
        ordered = sorted(nodes, key=lambda n: n.number)
        seen = tuple((n.name, Seen(n.state, n.reason)) for n in ordered)
        off = any(n.reason is not None and normalise_label(n.reason) == _HA_OFF for n in nodes)
        out.readings.append(
            Reading(poll.time.at, seen, Origin(file, origin_line), False if off else None)
        )
        if poll.time.zone:
            out.say(f"{file}: {poll.time.zone} ({options.tz})")
    return out.parsed()


def _admin_action(poll: _Poll, chosen: str | None, out: Collector) -> None:
    """`utils ha failover N` (or fallback, recover) that the CLI accepted: the administrator's
    action, an event of the trace at the poll's time, before what the output then shows. An
    action the CLI refused, or whose echo is missing, changed nothing the import can know."""
    action = poll.action
    assert action is not None
    if poll.outcome is None or not _SUCCEEDED.fullmatch(poll.outcome):
        said = f"the CLI answered {poll.outcome!r}" if poll.outcome else "no 'Request SUCCESSFUL.'"
        out.note(poll.line, f"utils ha {action} with {said}: no administrator action")
        return
    if poll.time is None:
        out.bad(poll.line, f"utils ha {action} with no time line before it: its time is not known")
        return
    node = None if action == "recover" else poll.target
    if action != "recover" and node is None:
        out.bad(poll.line, f"utils ha {action} names no node")
        return
    if (
        node is not None
        and poll.groups
        and not any(n.name == node for n in poll.groups.get(chosen, []))
    ):
        out.note(poll.line, f"utils ha {action} {node}: a node of another subcluster")
        return
    out.readings.append(
        Reading(poll.time.at, (), Origin(out.file, poll.line), event=(action, node))
    )


def _choose_group(
    file: str, polls: list[_Poll], groups: list[str | None], wanted: str | None
) -> str | None:
    named = [g for g in groups if g is not None]
    if wanted is not None:
        if wanted in named:
            return wanted
        raise AdapterError(
            Problem(
                file,
                None,
                "--group",
                f"no subcluster {wanted!r} in the file; it has {listed(named) or 'none named'}",
            )
        )
    if len(groups) > 1:
        first = next(p for p in polls if len(p.groups) > 1 or p.groups.keys() != {groups[0]})
        raise AdapterError(
            Problem(
                file,
                first.line,
                "--group",
                f"the output has several subclusters ({listed(named)}): choose one with --group",
            )
        )
    return groups[0] if groups else None
