"""Map work over processes: `hasm check`, `hasm verify` and `hasm mutants` share one pool.

Workers are forked: a forked process inherits the parent's memory, so the function and the
items are not sent to it - only each item's place in the list, and its result back. That is
what lets the work be anything: a closure, or items holding a spec, whose read-only mappings
cannot be pickled. Where the platform cannot fork (Windows), the work runs in this process: the
results are the same, only slower. One item goes to a worker at a time: every caller's items
are coarse (a trace file, a parameter variant, a mutant), and they take uneven times.
"""

from __future__ import annotations

import functools
import itertools
import multiprocessing
import os
import signal
from collections.abc import Callable, Generator, Sequence
from typing import Any, TypeVar

__all__ = ["parallel_map", "process_count"]

T = TypeVar("T")
R = TypeVar("R")

# The work of the maps under way, by number, for the forked workers to find.
_WORK: dict[int, tuple[Callable[[Any], Any], Sequence[Any]]] = {}
_NUMBERS = itertools.count()


def process_count(jobs: int, items: int) -> int:
    """How many processes `parallel_map` uses for `items` items, given `jobs` (0: one per
    core); 1 means this process."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(items, jobs if jobs > 0 else os.cpu_count() or 1))


def parallel_map(
    fn: Callable[[T], R], items: Sequence[T], jobs: int = 1
) -> Generator[R, None, None]:
    """`fn` of each of `items`, in their order, each yielded as soon as it and those before it
    are done, computed in up to `jobs` processes (0: one per core; 1: in this process, one at
    a time as the results are asked for). An exception `fn` raises in a worker is raised
    here, as the map reaches its item."""
    count = process_count(jobs, len(items))
    if count <= 1:
        yield from map(fn, items)
        return
    slot = next(_NUMBERS)
    _WORK[slot] = (fn, items)
    try:
        with multiprocessing.get_context("fork").Pool(
            count, initializer=_ignore_interrupts
        ) as pool:
            yield from pool.imap(functools.partial(_work_on, slot), range(len(items)), chunksize=1)
    finally:
        del _WORK[slot]


def _ignore_interrupts() -> None:
    """In a worker: Ctrl-C is the parent's to handle (it ends the pool); a worker that raised
    KeyboardInterrupt too would print a traceback of its own."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _work_on(slot: int, index: int) -> Any:
    """In a worker: `fn` of the item at `index` of the map in `slot`."""
    fn, items = _WORK[slot]
    return fn(items[index])
