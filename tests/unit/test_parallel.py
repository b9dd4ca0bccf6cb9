"""The one process pool (hasm.parallel): results in the items' order whatever finishes first,
one job in this process, work that does not pickle, and a worker's exception raised here."""

from __future__ import annotations

import os
import time
from types import MappingProxyType

import pytest

from hasm.parallel import parallel_map, process_count

FORK = process_count(2, 2) == 2  # only where the platform can fork are there workers


def _slow_square(x: int) -> int:
    time.sleep(0.02 * (5 - x))  # the first items finish last
    return x * x


def test_results_come_in_the_items_order() -> None:
    assert list(parallel_map(_slow_square, range(6), jobs=2)) == [x * x for x in range(6)]
    assert list(parallel_map(_slow_square, [], jobs=2)) == []


def test_one_job_runs_in_this_process_as_results_are_asked_for() -> None:
    seen: list[int] = []

    def note(x: int) -> int:
        seen.append(x)
        return os.getpid()

    results = parallel_map(note, [1, 2, 3], jobs=1)
    assert seen == []  # nothing runs before it is asked for
    assert next(results) == os.getpid() and seen == [1]
    assert list(results) == [os.getpid()] * 2 and seen == [1, 2, 3]


@pytest.mark.skipif(not FORK, reason="no fork: everything runs in this process")
def test_more_jobs_run_in_other_processes_on_work_that_does_not_pickle() -> None:
    table = MappingProxyType({"a": 1, "b": 2})  # a spec's mappings are such: they do not pickle
    items = [MappingProxyType({"key": k}) for k in ("a", "b", "a")]
    found = list(parallel_map(lambda item: (table[item["key"]], os.getpid()), items, jobs=2))
    assert [value for value, _ in found] == [1, 2, 1]
    assert os.getpid() not in {pid for _, pid in found}


def _fails_at_three(x: int) -> int:
    if x == 3:
        raise ValueError(f"no {x}")
    return x


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_exception_in_the_work_is_raised_here(jobs: int) -> None:
    results = parallel_map(_fails_at_three, range(5), jobs=jobs)
    assert [next(results) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(ValueError, match="no 3"):
        next(results)


def test_process_count() -> None:
    cores = os.cpu_count() or 1
    assert process_count(1, 10) == 1
    assert process_count(4, 0) == 1  # nothing to share out
    if FORK:
        assert process_count(8, 3) == 3  # no more processes than items
        assert process_count(0, 100) == min(100, cores)
