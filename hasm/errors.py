"""Every error hasm raises: one root, narrow located branches."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ClockError",
    "HasmError",
    "InputError",
    "NotOffered",
    "ParameterError",
    "Problem",
    "ScenarioError",
    "SpecError",
    "TraceError",
]


class HasmError(Exception):
    """The root of every error hasm raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in an input file: where it is, what is wrong, and how to fix it."""

    file: str
    line: int | None
    path: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        field = f" {self.path}:" if self.path else ""
        fix = f" (fix: {self.fix})" if self.fix else ""
        return f"{where}:{field} {self.message}{fix}"


class InputError(HasmError):
    """Bad input: a spec, scenario, trace or parameter that hasm cannot use. Exit code 2."""

    def __init__(self, problems: list[Problem] | Problem) -> None:
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class SpecError(InputError):
    """A spec file that does not load: every problem in it, each located."""


class ScenarioError(InputError):
    """A scenario file that does not load, or names what the spec does not know."""


class ParameterError(InputError):
    """A parameter override that is unknown, of the wrong type, or out of range."""


class TraceError(InputError):
    """A trace that is not valid trace format v1; every problem is located at file:line and field."""


class NotOffered(HasmError):
    """An administrator action that the spec does not offer in the current configuration."""

    def __init__(self, action: str, node: str | None, why: str) -> None:
        self.action, self.node, self.why = action, node, why
        target = f" {node}" if node else ""
        super().__init__(f"{action}{target} is not offered now: {why}")


class ClockError(HasmError):
    """An attempt to move the virtual clock backwards or past a deadline that must fire first."""
