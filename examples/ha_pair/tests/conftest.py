"""The bridge between the pair and hasm's oracle: a `Checked` pair feeds every event it is
given and every page it shows to a `hasm_oracle` run. HA_PAIR_IMPL=broken tests the broken pair."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the ha_pair package

from ha_pair import Page, Pair, VirtualClock, make_pair
from ha_pair.clock import Clock

IMPL = os.environ.get("HA_PAIR_IMPL", "good")
NODES = ("pub", "sub")
MONITORED = ("database", "presence_engine", "xcp_router")
# The events of trace format v1 this pair implements (ha_pair.Pair's methods): what the
# property test draws and which files of a generated suite it can play.
SUPPORTED = frozenset(
    {
        "service_stop",
        "service_start",
        "node_down",
        "node_up",
        "srm_stop",
        "srm_start",
        "link_down",
        "link_up",
        "failover",
        "fallback",
        "recover",
        "login",
        "logout",
    }
)


class Checked:
    """A pair under test and the oracle run that judges it. `do(...)` feeds the event, then
    applies it to the pair; every page the pair shows is observed in full."""

    def __init__(
        self, hasm_oracle: Any, users: Mapping[str, str], clock: Clock, **start: Any
    ) -> None:
        self.run = hasm_oracle.start(
            nodes=list(NODES), users=dict(users), initial="normal", monitored=MONITORED, **start
        )
        self.clock = clock
        self.failures: list[BaseException] = []
        self.pair: Pair = make_pair(
            IMPL, nodes=NODES, users=users, clock=clock, observer=self, monitored=MONITORED
        )

    def page_changed(self, page: Page) -> None:
        # Kept as well as raised: asyncio only logs what a timer's callback raises.
        if self.failures:
            return  # the run takes no more records; the first failure is the report
        try:
            self.run.observe(page.t, nodes=page.nodes, sessions=page.sessions, offered=page.offered)
        except BaseException as exc:
            self.failures.append(exc)
            raise

    def raise_failures(self) -> None:
        """Raise the first failure of an observation made in a timer's callback."""
        if self.failures:
            raise self.failures[0]

    def do(self, event: str, **fields: str) -> None:
        self.run.event(self.clock.now(), event, **fields)
        action: Callable[..., None] = getattr(self.pair, event)
        action(**fields)

    def page(self) -> Page:
        return self.pair.page()


@pytest.fixture
def checked(hasm_oracle: Any) -> Callable[..., Checked]:
    """`checked(users)`: a pair on a virtual clock (advance it with `.clock.advance_to(t)`)."""

    def make(users: Mapping[str, str]) -> Checked:
        return Checked(hasm_oracle, users, VirtualClock())

    return make
