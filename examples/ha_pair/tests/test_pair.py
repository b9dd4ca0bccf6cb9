"""The pair's tests: each drives it and lets hasm's oracle judge every page it shows."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from conftest import MONITORED, NODES, SUPPORTED, Checked
from ha_pair import AsyncioClock, NotOffered, VirtualClock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hasm import load_spec
from hasm.strategies import Group, Schedule, groups, schedules

USERS = {"alice": "pub", "bob": "pub", "carol": "sub"}


def states(c: Checked) -> tuple[str, str]:
    nodes = c.page().nodes
    return nodes["pub"]["state"], nodes["sub"]["state"]


def test_service_down_failover_restore_and_fallback(checked: Any) -> None:
    c = checked(USERS)
    c.clock.advance_to(10)
    c.do("service_stop", node="pub", service="presence_engine")
    c.clock.advance_to(99)
    c.run.advance(99)  # nothing changed yet: the oracle agrees only Normal is possible
    assert c.run.allowed()["nodes.pub.state"] == ("Normal",)
    c.clock.advance_to(100)  # the Critical Service Down Delay, 90 s
    assert states(c) == ("Failing Over", "Taking Over")
    assert c.page().sessions == {"alice": None, "bob": None, "carol": "sub"}
    c.clock.advance_to(105)  # the user move
    assert states(c) == ("Failed Over with Critical Services not Running", "Running in Backup Mode")
    c.clock.advance_to(250)  # the clients log in again to the backup
    assert c.page().sessions == {"alice": "sub", "bob": "sub", "carol": "sub"}
    assert c.page().nodes["sub"]["active_users"] == 3
    c.clock.advance_to(300)
    c.do("service_start", node="pub", service="presence_engine")
    assert states(c) == ("Failed Over", "Running in Backup Mode")
    assert c.page().offered["fallback"] == ["pub"]
    c.clock.advance_to(400)
    c.do("fallback", node="pub")
    assert states(c) == ("Taking Back", "Falling Back")
    c.clock.advance_to(405)
    assert states(c) == ("Normal", "Normal")
    c.clock.advance_to(555)
    assert c.page().sessions == {"alice": "pub", "bob": "pub", "carol": "sub"}
    c.run.advance(1200)


def test_manual_failover_and_fallback(checked: Any) -> None:
    c = checked(USERS)
    c.clock.advance_to(50)
    c.do("failover", node="sub")
    assert states(c) == ("Taking Over", "Failing Over")
    c.clock.advance_to(60)
    assert states(c) == ("Running in Backup Mode", "Idle")
    c.clock.advance_to(70)
    c.do("logout", user="carol")  # carol signs out before her client logs in again
    c.clock.advance_to(250)
    assert c.page().sessions == {"alice": "pub", "bob": "pub", "carol": None}
    c.do("login", user="carol")
    assert c.page().sessions["carol"] == "pub"
    c.do("fallback", node="sub")
    c.clock.advance_to(600)
    assert states(c) == ("Normal", "Normal")
    assert c.page().sessions["carol"] == "sub"


def test_an_action_the_page_does_not_offer_is_refused(checked: Any) -> None:
    c = checked(USERS)
    c.do("failover", node="pub")
    assert c.run.allowed()["offered.failover"] == ("[]",)
    with pytest.raises(NotOffered):
        c.pair.failover("sub")
    with pytest.raises(NotOffered):
        c.pair.fallback("pub")  # not before the move has ended
    c.clock.advance_to(100)


def test_the_backup_losing_a_service_while_its_peer_is_down_fails_both(checked: Any) -> None:
    c = checked(USERS)
    c.do("service_stop", node="pub", service="xcp_router")
    c.clock.advance_to(95)
    c.do("service_stop", node="sub", service="database")
    c.clock.advance_to(185)  # 90 s after the backup lost its database: Running in Failed Mode
    assert states(c) == ("Running in Failed Mode", "Running in Failed Mode")
    assert c.page().offered["recover"] is True
    c.clock.advance_to(1000)


def test_a_node_down_is_taken_over_and_comes_back_initializing(checked: Any) -> None:
    c = checked(USERS)
    c.clock.advance_to(10)
    c.do("node_down", node="pub")
    assert c.page().nodes["pub"]["state"] == "Unknown"  # nobody can ask a down node
    assert c.page().sessions == {"alice": None, "bob": None, "carol": "sub"}
    c.clock.advance_to(54)
    c.run.advance(54)  # the heartbeat timeout less one interval has not passed yet
    assert c.run.allowed()["nodes.sub.state"] == ("Normal",)
    c.clock.advance_to(62.5)  # this pair notices the silence 52.5 s after the last heartbeat
    assert c.page().nodes["sub"] == {
        "state": "Running in Backup Mode",
        "reason": "Peer Reboot",
        "assigned_users": 1,
        "active_users": 1,
    }
    c.clock.advance_to(160)  # the clients log in again, to the backup
    assert c.page().sessions == {"alice": "sub", "bob": "sub", "carol": "sub"}
    c.clock.advance_to(300)
    c.do("node_up", node="pub")
    assert states(c) == ("Initializing", "Running in Backup Mode")
    c.clock.advance_to(305)  # it finds its peer serving its users: Failed Over
    assert c.page().nodes["pub"]["reason"] == "Initialization"
    assert states(c) == ("Failed Over", "Running in Backup Mode")
    assert c.page().offered["fallback"] == ["pub"]
    c.do("fallback", node="pub")
    c.clock.advance_to(460)
    assert states(c) == ("Normal", "Normal")
    assert c.page().sessions == {"alice": "pub", "bob": "pub", "carol": "sub"}
    c.run.advance(1200)


def test_a_split_brain_fails_both_nodes_until_recover(checked: Any) -> None:
    c = checked(USERS)
    c.clock.advance_to(10)
    c.do("link_down")
    assert c.page().offered["failover"] == []  # the nodes cannot agree on a move
    c.clock.advance_to(62.5)  # each hears nobody and takes over for the other
    assert states(c) == ("Running in Backup Mode", "Running in Backup Mode")
    assert c.page().sessions == {"alice": "pub", "bob": "pub", "carol": "sub"}
    c.clock.advance_to(100)
    c.do("link_up")
    assert states(c) == ("Running in Failed Mode", "Running in Failed Mode")
    assert c.page().nodes["pub"]["reason"] == "Unknown"
    assert c.page().sessions == {"alice": None, "bob": None, "carol": None}
    assert c.page().offered["recover"] is True
    c.clock.advance_to(200)
    c.do("recover")
    assert states(c) == ("Initializing", "Initializing")
    c.clock.advance_to(205)
    assert states(c) == ("Normal", "Normal")
    c.clock.advance_to(250)  # the clients log in again at home
    assert c.page().sessions == {"alice": "pub", "bob": "pub", "carol": "sub"}
    c.run.advance(1000)


@pytest.mark.hasm(tolerance=10)
def test_real_asyncio_timers(hasm_oracle: Any) -> None:
    """The same pair on real asyncio timers, sped up 200 times; a tolerance of 10 s of pair
    time (50 ms of real time) absorbs the loop's jitter on a busy machine, and the last look
    comes 55 s (275 ms) after the clients are due back."""

    async def scenario() -> Checked:
        clock = AsyncioClock(speed=200)
        c = Checked(hasm_oracle, USERS, clock)
        c.do("service_stop", node="pub", service="presence_engine")
        await clock.sleep(300)  # failover at 90 s, move by 95 s, clients back by 245 s
        return c

    c = asyncio.run(scenario())
    c.raise_failures()
    assert states(c) == ("Failed Over with Critical Services not Running", "Running in Backup Mode")
    assert c.page().sessions == {"alice": "sub", "bob": "sub", "carol": "sub"}


# -- property: any schedule of the events the pair supports --------------------------------------
SPEC = load_spec()
GROUPS = groups(SPEC, nodes=NODES, initial="normal", params=st.just({})).map(
    lambda g: Group(g.nodes, g.users, g.params, frozenset(MONITORED), g.initial)
)


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(schedule=schedules(SPEC, GROUPS, max_events=8, events=sorted(SUPPORTED)))
def test_any_schedule_conforms(hasm_oracle: Any, schedule: Schedule) -> None:
    c = Checked(hasm_oracle, schedule.group.users, VirtualClock())
    for e in schedule.events:
        c.clock.advance_to(e.t)
        fields = {k: v for k in ("node", "service", "user") if (v := getattr(e, k)) is not None}
        c.do(e.event, **fields)
    c.clock.advance_to(schedule.until)
    c.run.advance(schedule.until)
