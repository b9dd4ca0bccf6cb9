"""Clocks: the pair schedules its timers through one, so tests can swap real time for virtual.

`AsyncioClock` runs timers on the running asyncio loop (optionally sped up: `speed` seconds of
pair time per real second); `VirtualClock` runs them when the test advances it, instantly and
deterministically (timers due at the same time run in the order they were scheduled)."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable


class Handle(ABC):
    """A scheduled callback."""

    @abstractmethod
    def cancel(self) -> None: ...


class Clock(ABC):
    """Seconds since the clock started, and callbacks after a delay."""

    @abstractmethod
    def now(self) -> float: ...

    @abstractmethod
    def call_later(self, delay: float, callback: Callable[[], None]) -> Handle: ...

    async def sleep(self, delay: float) -> None:
        """Wait `delay` seconds of this clock's time."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not done.done():
                done.set_result(None)

        self.call_later(delay, wake)
        await done


class _AsyncioHandle(Handle):
    def __init__(self, handle: asyncio.TimerHandle) -> None:
        self._handle = handle

    def cancel(self) -> None:
        self._handle.cancel()


class AsyncioClock(Clock):
    """Real asyncio timers on the running loop; `speed` > 1 runs the pair's time faster."""

    def __init__(self, speed: float = 1.0) -> None:
        self._loop = asyncio.get_running_loop()
        self._speed = speed
        self._start = self._loop.time()

    def now(self) -> float:
        return (self._loop.time() - self._start) * self._speed

    def call_later(self, delay: float, callback: Callable[[], None]) -> Handle:
        return _AsyncioHandle(self._loop.call_later(delay / self._speed, callback))


class _VirtualHandle(Handle):
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class VirtualClock(Clock):
    """Time moves only when `advance_to` is called; due callbacks run then, in time order."""

    def __init__(self) -> None:
        self._now = 0.0
        self._queue: list[tuple[float, int, _VirtualHandle, Callable[[], None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    def call_later(self, delay: float, callback: Callable[[], None]) -> Handle:
        handle = _VirtualHandle()
        heapq.heappush(self._queue, (self._now + delay, next(self._seq), handle, callback))
        return handle

    def advance_to(self, t: float) -> None:
        """Run every callback due at or before `t` (each at its own time), then stand at `t`."""
        if t < self._now:
            raise ValueError(f"a clock does not go back from {self._now} to {t}")
        while self._queue and self._queue[0][0] <= t:
            when, _, handle, callback = heapq.heappop(self._queue)
            if not handle.cancelled:
                self._now = when
                callback()
        self._now = t

    def advance(self, seconds: float) -> None:
        self.advance_to(self._now + seconds)
