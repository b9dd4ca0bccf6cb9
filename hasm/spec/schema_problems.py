"""Structural validation against the shipped JSON Schema: each violation as a located problem
in plain words, naming the key or value a spec's author would fix."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from typing import Any, cast

import jsonschema

from hasm.errors import Problem
from hasm.spec.located import KeyPath, Located

__all__ = ["GUARD_KEYS", "did_you_mean", "schema_problems", "yaml_text"]


def schema_problems(located: Located, schema: dict[str, Any]) -> Iterator[Problem]:
    """Every schema violation, translated into a located, plain-words problem."""
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(located.data), key=lambda e: _line_key(located, e))
    for error in errors:
        yield from _translate(located, _most_specific(error))


def _line_key(located: Located, error: jsonschema.ValidationError) -> tuple[int, str]:
    return (located.line(tuple(error.absolute_path)) or 0, error.message)


def _most_specific(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For oneOf/anyOf, the branch error that got furthest into the value."""
    while error.context:
        error = max(error.context, key=lambda e: (len(e.absolute_path), -len(e.message)))
    return error


def _translate(located: Located, error: jsonschema.ValidationError) -> Iterator[Problem]:
    path: KeyPath = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    value = error.instance
    if "propertyNames" in error.absolute_schema_path and isinstance(value, str):
        path = (*path, value)  # a bad name is reported at its own key, not at the mapping
    if error.validator == "additionalProperties" and isinstance(value, dict):
        allowed = sorted(schema.get("properties", {}))
        patterns = list(schema.get("patternProperties", {}))
        if patterns:  # a guard: name its real condition keys rather than regexes
            allowed = sorted({*allowed, *GUARD_KEYS})
        for key in value:
            if key in allowed or any(re.search(p, key) for p in patterns):
                continue
            yield located.problem(
                (*path, key),
                f"unknown key '{key}'",
                did_you_mean(key, allowed) or f"use one of: {', '.join(allowed)}",
            )
        return
    if error.validator == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else error.message
        yield located.problem(path, f"missing key '{missing}'", f"add '{missing}:' here")
        return
    if error.validator == "enum":
        options = [str(o) for o in cast(list[object], error.validator_value)]
        yield located.problem(
            path,
            f"{value!r} is not one of: {', '.join(options)}",
            did_you_mean(str(value), options) or "use one of the listed values",
        )
        return
    if error.validator == "type":
        wanted = error.validator_value
        kinds = " or ".join(wanted) if isinstance(wanted, list) else str(wanted)
        yield located.problem(path, f"expected {kinds}, got {yaml_text(value)}")
        return
    if error.validator == "pattern":
        yield located.problem(
            path,
            f"{value!r} is not a valid name here",
            "use lower-case letters, digits and underscores, starting with a letter",
        )
        return
    if error.validator == "const":
        yield located.problem(path, f"must be {error.validator_value!r}, not {value!r}")
        return
    yield located.problem(path, error.message)


GUARD_KEYS = (
    "ha_enabled", "link_up", "connected", "not", "any", "event.service",
    *(f"{who}.{what}" for who in ("node", "peer") for what in (
        "state", "reason", "service_down", "up", "srm_running", "monitored_down")),
    "param.<name>",
)  # fmt: skip


def yaml_text(value: Any) -> str:
    """A value as the YAML author wrote it: true, not True."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else repr(value)


def did_you_mean(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f"did you mean '{close[0]}'?" if close else ""
