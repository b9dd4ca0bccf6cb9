"""Bounded memos: named tables of what was worked out once, each starting again when full.

One eviction policy serves all of hasm: a table that is full is emptied, then filled again.
Searches and traces meet the same few node configurations again and again, so almost every
look-up hits; a trace may also go on without ever repeating one, so a table must stay bounded.
Emptying it costs nothing per hit, where least-recently-used order would be bookkeeping on
every one, on the innermost loops of every search.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["LIMIT", "Memo", "Table"]

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")

# How many entries a table keeps before it starts again, unless told otherwise: a search meets
# few node configurations, but a trace may go on without ever repeating one.
LIMIT = 1 << 16


class Table(dict[K, V]):
    """A dict that `keep` bounds: look up with `get` (a plain dict's, as fast), store with
    `keep`, which empties the table first when it holds `limit` entries."""

    __slots__ = ("limit",)

    def __init__(self, limit: int = LIMIT) -> None:
        super().__init__()
        self.limit = limit

    def keep(self, key: K, value: V) -> V:
        """Remember `value` under `key` and return it, starting again once the table is full."""
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value


class Memo:
    """Everything one owner (a `Model`) has worked out, as named tables and parts, all
    forgotten at once by `clear`.

    A layer above the owner keeps its own state here, under a name of its own, instead of
    attaching attributes to the owner: a `table` for values by key, or a `part` - any object it
    builds once from the memo (e.g. guards it compiled), typically holding tables of its own."""

    __slots__ = ("_limit", "_parts", "_tables")

    def __init__(self, limit: int = LIMIT) -> None:
        self._limit = limit
        self._tables: dict[str, Table[Any, Any]] = {}
        self._parts: dict[str, Any] = {}

    def table(self, name: str) -> Table[Any, Any]:
        """The table named `name`, made on first use; the same object until the memo goes, so
        a caller may hold on to it (`clear` empties it in place)."""
        found = self._tables.get(name)
        if found is None:
            found = self._tables[name] = Table(self._limit)
        return found

    def part(self, name: str, make: Callable[[Memo], T]) -> T:
        """The part named `name`: `make(memo)` on first use and after `clear`, else what it made."""
        # Parts of every type share one dict; a name is only ever made by its layer's `make`.
        # A hit is the common case (every step of a search asks): try, not a test first.
        try:
            return self._parts[name]  # type: ignore[no-any-return]
        except KeyError:
            found = self._parts[name] = make(self)
            return found

    def clear(self) -> None:
        """Forget everything: every table emptied, every part made again when next asked for."""
        for table in self._tables.values():
            table.clear()
        self._parts.clear()
