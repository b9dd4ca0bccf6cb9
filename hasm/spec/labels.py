"""Labels as observed strings: compared without regard to case or runs of white space."""

from __future__ import annotations

from collections.abc import Iterable

from hasm.spec.model import Reason, State

__all__ = ["label_index", "normalise_label"]


def normalise_label(label: str) -> str:
    """Labels compare without regard to case or runs of white space (trace format v1)."""
    return " ".join(label.split()).casefold()


def label_index(items: Iterable[State | Reason]) -> dict[str, str]:
    """Normalised label or alias -> id, for reading observed strings."""
    return {
        normalise_label(label): item.id for item in items for label in (item.label, *item.aliases)
    }
