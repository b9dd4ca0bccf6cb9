"""Safe YAML to plain data, remembering the line of every key and item for located errors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hasm.errors import Problem

__all__ = ["KeyPath", "Located", "dotted", "parse_yaml", "read_yaml"]

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


def read_text(path: str | Path, error: type[Exception]) -> str:
    """A file's text; raise `error` with a located problem when it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(Problem(str(path), None, "", f"cannot read the file: {exc}")) from exc


def read_yaml(path: str | Path, error: type[Exception]) -> Located:
    """Parse a YAML file safely (no tags, no code); raise `error` with a located problem."""
    return parse_yaml(read_text(path, error), str(path), error)


# libyaml's parser when PyYAML was built with it (ten times faster on the spec), else Python's.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Yaml12Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """SafeLoader whose booleans are YAML 1.2's: only true and false (so `on:` stays a key)."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
# The only kinds of value a hasm file holds; any other tag (!!python/..., !include, dates) is refused.
_PLAIN_TAGS = {
    f"tag:yaml.org,2002:{kind}" for kind in ("str", "int", "float", "bool", "null", "seq", "map")
}


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
        data = _Converter(lines).convert(node, ())
    except _Bad as bad:
        raise error(Problem(name, bad.line, dotted(bad.path), bad.message)) from None
    return Located(name, data, lines)


class _Bad(Exception):
    def __init__(self, line: int, path: KeyPath, message: str) -> None:
        self.line, self.path, self.message = line, path, message


class _Converter:
    """Node tree to plain data; one per parse, so nothing is cached between files."""

    def __init__(self, lines: dict[KeyPath, int]) -> None:
        self.lines = lines
        self.scalars = _Yaml12Loader("")
        self.seen: set[int] = set()

    def convert(self, node: yaml.Node, path: KeyPath) -> Any:
        line = node.start_mark.line + 1
        self.lines[path] = line
        if node.tag not in _PLAIN_TAGS:
            raise _Bad(line, path, f"unsupported YAML tag {node.tag!r}: only plain values are read")
        if isinstance(node, yaml.ScalarNode):
            return self.scalars.construct_object(node)
        # An alias is the same node object again: refused, so no file can recurse or explode.
        if id(node) in self.seen:
            raise _Bad(line, path, "YAML aliases (*name) are not used in hasm files")
        self.seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _Bad(key_line, path, "YAML merge keys (<<) are not used")
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _PLAIN_TAGS:
                raise _Bad(key_line, path, "every key must be a plain scalar")
            key = key_node.value  # the key as written: `007` and `on` stay text
            if key in out:
                raise _Bad(key_line, (*path, key), "this key appears twice")
            if id(value_node) in self.seen:
                raise _Bad(
                    key_line, (*path, key), "YAML aliases (*name) are not used in hasm files"
                )
            out[key] = self.convert(value_node, (*path, key))
            self.lines[(*path, key)] = key_line
        return out
