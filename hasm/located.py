"""Safe YAML to plain data, remembering the line of every key and item for located errors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hasm.errors import Problem

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Located:
    """A YAML document as plain data, plus the 1-based line where each key path starts."""

    file: str
    data: Any
    lines: dict[KeyPath, int]

    def line(self, path: KeyPath) -> int | None:
        """The line of `path`, or of its nearest located ancestor."""
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path)

    def problem(self, path: KeyPath, message: str, fix: str = "") -> Problem:
        return Problem(self.file, self.line(path), dotted(path), message, fix)


def dotted(path: KeyPath) -> str:
    """A key path as a reader writes it: `transitions[3].when.node.state`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def read_yaml(path: str | Path, error: type[Exception]) -> Located:
    """Parse a YAML file safely (no tags, no code); raise `error` with a located problem."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(Problem(name, None, "", f"cannot read the file: {exc}")) from exc
    return parse_yaml(text, name, error)


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader whose booleans are YAML 1.2's: only true and false (so `on:` stays a key)."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def parse_yaml(text: str, name: str, error: type[Exception]) -> Located:
    try:
        node = yaml.compose(text, Loader=_Yaml12Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        what = getattr(exc, "problem", None) or str(exc)
        raise error(Problem(name, line, "", f"not valid YAML: {what}")) from exc
    lines: dict[KeyPath, int] = {}
    if node is None:
        return Located(name, None, lines)
    try:
        data = _convert(node, (), lines, name)
    except _Bad as bad:
        raise error(Problem(name, bad.line, dotted(bad.path), bad.message)) from None
    return Located(name, data, lines)


class _Bad(Exception):
    def __init__(self, line: int, path: KeyPath, message: str) -> None:
        self.line, self.path, self.message = line, path, message


def _convert(node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int], name: str) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _Bad(key_node.start_mark.line + 1, path, "YAML merge keys (<<) are not used")
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                raise _Bad(key_node.start_mark.line + 1, path, "every key must be a string")
            if key in out:
                raise _Bad(key_node.start_mark.line + 1, (*path, key), "this key appears twice")
            out[key] = _convert(value_node, (*path, key), lines, name)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), lines, name) for i, item in enumerate(node.value)]
    return _SCALARS.construct_object(node)


_SCALARS = _Yaml12Loader("")
