"""Server Recovery Manager log lines (format `srm-log`), read through a pattern table.

SRM's log format is not published; one line of it is (the seed, TAC Doc 200958):

    2021-05-13 02:48:48,244 INFO[HS]rsm.RsmHeartBeatHandler - RsmHeartBeatHandler: peer down,
      time since last heartbeat 62 seconds   (one line)

so what lines mean is data, not code: a table (JSON or YAML, `--patterns FILE`, default the
packaged `srm_patterns.json`) gives the line's shape (`line`, a regex with groups `time` and
`message`) and patterns, each a regex searched in the message and either

- `observe: {node: local|peer, state: <page word>, reason: <page word>}`: a record of what the
  page shows of that node at the line's time, or
- `note: <text>`: the line is read and kept in the import's report, but implies no page state.

The packaged table maps the seed's line to a note, not to `Taking Over`: the local SRM has
declared its peer lost, but whether the page then shows Taking Over depends on the local
node's own state (a Normal node takes over; a node in backup, Idle or Initializing does not,
P16-P18), which the line does not say - and the change of state may come later than the line.

Lines of the log's shape that no pattern matches are counted as "read, not used"; lines of
another shape (stack traces, continuations) are unreadable. The table needs real captures to
grow. Regexes are compiled with a length limit; nothing from a table or a log is executed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from hasm.adapters.base import (
    AdapterError,
    Collector,
    Options,
    Origin,
    Parsed,
    Reading,
    Seen,
    Words,
    text_lines,
)
from hasm.adapters.times import BadTime, read_time
from hasm.errors import Problem

__all__ = ["MAX_PATTERN", "VOCABULARY", "Pattern", "PatternTable", "load_patterns", "parse"]

VOCABULARY = "page"
MAX_PATTERN = 500  # characters: longer regexes are refused, a table is a list of short ones
_MAX_TABLE = 1 << 20  # bytes
_ROLES = ("local", "peer")


@dataclass(frozen=True, slots=True)
class Pattern:
    id: str
    match: re.Pattern[str]
    note: str | None  # a note's text ({group} filled in), or None for an observation
    role: str | None  # "local" or "peer" for an observation
    state: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class PatternTable:
    file: str
    line: re.Pattern[str]
    patterns: tuple[Pattern, ...]


def load_patterns(path: Path | None) -> PatternTable:
    """The pattern table at `path` (None: the packaged one), checked; AdapterError, located at
    the table's key, for anything wrong."""
    if path is None:
        name = "hasm/adapters/srm_patterns.json"
        text = files("hasm.adapters").joinpath("srm_patterns.json").read_text("utf-8")
    else:
        name = str(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise AdapterError(Problem(name, None, "", f"cannot read: {exc.strerror}")) from exc
        if len(raw) > _MAX_TABLE:
            raise AdapterError(Problem(name, None, "", f"more than {_MAX_TABLE} bytes"))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise AdapterError(Problem(name, None, "", "not UTF-8 text")) from exc
    try:
        data = json.loads(text) if name.endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        line = line + 1 if isinstance(line, int) else getattr(exc, "lineno", None)
        raise AdapterError(Problem(name, line, "", "not a valid JSON or YAML table")) from exc
    return _Table(name).build(data)


class _Table:
    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, path: str, why: str) -> AdapterError:
        return AdapterError(Problem(self.file, None, path, why))

    def build(self, data: Any) -> PatternTable:
        if not isinstance(data, dict) or data.get("srm_log_patterns") != 1:
            raise self.fail("srm_log_patterns", "a pattern table starts with srm_log_patterns: 1")
        unknown = set(data) - {"srm_log_patterns", "about", "line", "patterns"}
        if unknown:
            raise self.fail(sorted(unknown)[0], "unknown key")
        line = self.regex("line", data.get("line"))
        if not {"time", "message"} <= set(line.groupindex):
            raise self.fail(
                "line", "the line's regex needs the groups (?P<time>) and (?P<message>)"
            )
        raw = data.get("patterns")
        if not isinstance(raw, list):
            raise self.fail("patterns", "patterns is a list")
        patterns = tuple(self.pattern(i, p) for i, p in enumerate(raw))
        ids = [p.id for p in patterns]
        for i, ident in enumerate(ids):
            if ident in ids[:i]:
                raise self.fail(f"patterns[{i}].id", f"id {ident!r} is used twice")
        return PatternTable(self.file, line, patterns)

    def regex(self, path: str, value: object) -> re.Pattern[str]:
        if not isinstance(value, str) or not value:
            raise self.fail(path, "a regex, a non-empty string")
        if len(value) > MAX_PATTERN:
            raise self.fail(path, f"the regex is {len(value)} characters, more than {MAX_PATTERN}")
        try:
            return re.compile(value)
        except (re.error, RecursionError, OverflowError) as exc:
            raise self.fail(path, f"not a regex: {exc}") from None

    def pattern(self, i: int, raw: object) -> Pattern:
        path = f"patterns[{i}]"
        if not isinstance(raw, dict):
            raise self.fail(path, "a pattern is a mapping with id, match and note or observe")
        unknown = set(raw) - {"id", "match", "source", "note", "observe"}
        if unknown:
            raise self.fail(f"{path}.{sorted(unknown)[0]}", "unknown key")
        ident = raw.get("id")
        if not isinstance(ident, str) or not ident:
            raise self.fail(f"{path}.id", "a pattern has an id, a non-empty string")
        match = self.regex(f"{path}.match", raw.get("match"))
        note, observe = raw.get("note"), raw.get("observe")
        if (note is None) == (observe is None):
            raise self.fail(path, "a pattern has either note or observe")
        if note is not None:
            if not isinstance(note, str):
                raise self.fail(f"{path}.note", "a note is a string")
            return Pattern(ident, match, note, None, None, None)
        if not isinstance(observe, dict) or set(observe) - {"node", "state", "reason"}:
            raise self.fail(f"{path}.observe", "observe has node, state and optionally reason")
        role, state, reason = observe.get("node"), observe.get("state"), observe.get("reason")
        if role not in _ROLES:
            raise self.fail(f"{path}.observe.node", "node is local or peer")
        if not isinstance(state, str) or (reason is not None and not isinstance(reason, str)):
            raise self.fail(f"{path}.observe", "state (and reason) are the page's words")
        return Pattern(ident, match, None, role, state, reason)


def parse(file: str, data: bytes, options: Options, words: Words) -> Parsed:
    """The log's lines through the table; `options.nodes` (--nodes) names the peer of
    `options.node` (--node) for a pattern that observes the peer."""
    table = load_patterns(options.patterns)
    _check_words(table, words)
    needs_node = any(p.role is not None for p in table.patterns)
    if needs_node and options.node is None:
        raise AdapterError(
            Problem(file, None, "--node", "the pattern table observes nodes: name the log's node")
        )
    out = Collector(file)
    for line in text_lines(file, data, out):
        if not line.text.strip():
            continue
        shape = table.line.fullmatch(line.text.strip())
        if shape is None:
            out.bad(line.number, "not a line of the SRM log's shape (the table's 'line')")
            continue
        try:
            read = read_time(shape["time"], options.tz, options.tz_given)
        except BadTime as exc:
            out.bad(line.number, str(exc))
            continue
        if read is None:
            out.bad(line.number, f"{shape['time']!r} is not a time")
            continue
        if read.zone:
            out.say(f"{file}: {read.zone} ({options.tz})")
        message = shape["message"]
        for pattern in table.patterns:
            found = pattern.match.search(message)
            if found is None:
                continue
            if pattern.note is not None:
                out.note(line.number, f"{pattern.id}: {_fill(pattern.note, found)}", read.at)
            else:
                node = _node(pattern, options, file, line.number)
                seen = Seen(pattern.state, pattern.reason)
                out.readings.append(Reading(read.at, ((node, seen),), Origin(file, line.number)))
            break
        else:
            out.note(line.number, "no pattern of the table matches", read.at)
    return out.parsed()


def _check_words(table: PatternTable, words: Words) -> None:
    for i, p in enumerate(table.patterns):
        if p.state is not None and not words.knows_state(p.state):
            raise AdapterError(
                Problem(
                    table.file, None, f"patterns[{i}].observe.state", f"unknown state {p.state!r}"
                )
            )
        if p.reason is not None and not words.knows_reason(p.reason):
            raise AdapterError(
                Problem(
                    table.file,
                    None,
                    f"patterns[{i}].observe.reason",
                    f"unknown reason {p.reason!r}",
                )
            )


def _node(pattern: Pattern, options: Options, file: str, line: int) -> str:
    local = options.node
    assert local is not None  # checked before any line is read
    if pattern.role == "local":
        return local
    others = [n for n in options.nodes if n != local]
    if len(others) != 1:
        raise AdapterError(
            Problem(file, line, "--nodes", f"pattern {pattern.id} observes the peer: give --nodes")
        )
    return others[0]


def _fill(note: str, found: re.Match[str]) -> str:
    """The note with `{group}` replaced by what the group matched; nothing else is formatted."""
    groups = found.groupdict()
    return re.sub(r"\{(\w+)\}", lambda m: groups.get(m[1]) or m[0], note)
