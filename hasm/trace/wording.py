"""How the reader's problems show what a trace holds: names quoted, printable and short,
values as JSON, times plainly, and a suggestion of what was meant."""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterable

__all__ = [
    "as_float",
    "choose",
    "kind_of",
    "one_of_nodes",
    "path_key",
    "quoted",
    "show",
    "show_time",
]

_INF = math.inf


def as_float(value: float) -> float:
    """A number as a float; an integer too large for one as infinity."""
    try:
        return float(value)
    except OverflowError:  # an integer too large for a float: reported as not finite
        return _INF


def kind_of(value: object) -> str:
    """What kind of JSON value `value` is, in words."""
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return "a number"


def show(value: object) -> str:
    """A value for a message: a string quoted as a name is, anything else as JSON, short."""
    if isinstance(value, str):
        return quoted(value)
    if isinstance(value, float | int) and abs(as_float(value)) == _INF:
        return "a number too large"
    try:
        text = json.dumps(value, ensure_ascii=True)
    except (ValueError, TypeError, RecursionError):  # pragma: no cover - defensive
        return "a value too large to show"
    return text if len(text) <= 60 else text[:56] + " ..."


def quoted(word: str) -> str:
    """A name from the trace, quoted, printable and short."""
    if word.isprintable() and len(word) <= 60:
        return f"'{word}'"
    text = json.dumps(word)  # escapes what does not print
    return text if len(text) <= 60 else text[:56] + " ..."


def path_key(word: str) -> str:
    """A key from the trace as part of a field path: printable, never empty."""
    return word if word and word.isprintable() and len(word) <= 60 else show(word)


def show_time(t: float) -> str:
    """A record's `t` as a message shows it."""
    return str(int(t)) if t.is_integer() and abs(t) < 1e15 else repr(t)


def one_of_nodes(nodes: tuple[str, str]) -> str:
    """The fix of a name that is not one of the trace's nodes."""
    return f"use {quoted(nodes[0])} or {quoted(nodes[1])}"


def choose(word: object, options: Iterable[str]) -> str:
    """The fix of a word that is not one of `options`: the closest, or all of them."""
    options = list(options)
    if isinstance(word, str):
        close = difflib.get_close_matches(word, options, n=1)
        if close:
            return f"did you mean {quoted(close[0])}?"
    return f"use one of: {', '.join(options)}"
