"""Every error hasm raises: one root, narrow located branches carrying where and what."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a type only: the oracle builds the report, this module names its error
    from hasm.oracle.report import Divergence

__all__ = [
    "ClockError",
    "ConformanceError",
    "DiagramError",
    "HasmError",
    "InputError",
    "NoSuchStep",
    "NotEnabled",
    "NotOffered",
    "ParameterError",
    "Problem",
    "ScenarioError",
    "SpecError",
    "SuiteError",
    "TraceError",
    "UnknownInvariantKind",
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


class NotEnabled(HasmError):
    """An input that the configuration does not allow (a timer outside its window, ...)."""


class NoSuchStep(HasmError):
    """The machine cannot take the step asked for: no transition it offers leads to the
    successor given with `successor=`."""


class ConformanceError(HasmError):
    """A record the spec does not allow; `.divergence` holds the structured report."""

    def __init__(self, divergence: Divergence) -> None:
        self.divergence = divergence
        super().__init__(str(divergence))


class UnknownInvariantKind(HasmError, ValueError):
    """A spec invariant whose kind this module cannot check; names the invariant and the kinds
    it knows."""


class SuiteError(HasmError):
    """The spec's own path does not conform to the spec: a defect of hasm, not of the input."""


class DiagramError(HasmError):
    """A diagram that cannot be rendered: `dot` is missing or failed."""
