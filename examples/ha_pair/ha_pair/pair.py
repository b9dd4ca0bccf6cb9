"""A two-node Presence Redundancy Group with High Availability on, as the admin page shows it.

Scope: both nodes up, their SRMs running and talking, HA enabled and settled (Normal / Normal)
at the start. What can happen: services stop and start, the administrator presses Failover or
Fallback, users sign in and out. What the pair does about it:

- a monitored service down on a Normal node for `critical_service_down_delay` seconds: the node
  fails over to its Normal peer (Failing Over / Taking Over); after `user_move` seconds the
  peer runs in backup mode and the node is Failed Over, with Critical Services not Running while
  the service is still down;
- Failover on a Normal node (peer Normal): Failing Over / Taking Over, then Idle / Running in
  Backup Mode; Fallback to an Idle or Failed Over node: Taking Back / Falling Back, then
  Normal / Normal (or both Running in Failed Mode if its services are still down);
- a backup node that loses a monitored service: auto-recovery if its peer is healthy (Failed
  Over), else both Running in Failed Mode; the database stopping during a move fails the move;
- a client whose session an HA change ended logs in again after `client_relogin` seconds, to
  the node that serves its home node's users (if none does, it gives up until the user signs in).

The pair reports every change of its page to an `Observer`. Nothing here imports hasm.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ha_pair.clock import Clock, Handle

NORMAL = "Normal"
FAILING_OVER = "Failing Over"
TAKING_OVER = "Taking Over"
BACKUP = "Running in Backup Mode"
IDLE = "Idle"
FAILED_OVER = "Failed Over"
FAILED_OVER_CSNR = "Failed Over with Critical Services not Running"
TAKING_BACK = "Taking Back"
FALLING_BACK = "Falling Back"
FAILED = "Running in Failed Mode"
BACKUP_ACTIVATED = "Backup Activated"
FAILOVER_AFFECTED = "Failover Affected Services"

ON_ADMIN_REQUEST = "On Admin Request"
CRITICAL_SERVICE_DOWN = "Critical Service Down"
DATABASE_FAILURE = "Database Failure"
RESTORED = "Initialization or Critical Services Down"

# Whose users' sessions a node in each state serves (any state not listed serves nobody).
SERVES_OWN = {NORMAL, TAKING_BACK, FALLING_BACK}
SERVES_BOTH = {TAKING_OVER, BACKUP, BACKUP_ACTIVATED}

DEFAULT_MONITORED = frozenset({"database", "presence_engine", "xcp_router"})


class NotOffered(Exception):
    """The page does not offer this administrator action now."""


@dataclass(frozen=True)
class Timing:
    """How long things take, in seconds."""

    critical_service_down_delay: float = 90.0
    user_move: float = 5.0
    client_relogin: float = 150.0


@dataclass(frozen=True)
class Page:
    """What the Presence Redundancy Group page shows at time `t`."""

    t: float
    nodes: Mapping[str, Mapping[str, Any]]  # state, reason, assigned_users, active_users
    sessions: Mapping[str, str | None]  # user -> node of the session, or None
    offered: Mapping[str, Any]  # failover: [nodes], fallback: [nodes], recover: bool


class Observer(Protocol):
    def page_changed(self, page: Page) -> None: ...


@dataclass
class _Node:
    name: str
    state: str = NORMAL
    reason: str = NORMAL
    stopped: set[str] = field(default_factory=set)
    timers: dict[str, Handle] = field(default_factory=dict)


@dataclass
class _User:
    name: str
    home: str
    session: str | None
    relogin: Handle | None = None


class Pair:
    """The two nodes `nodes` (Normal / Normal) and `users` (user -> home node), all signed in
    at home, with timers on `clock`."""

    timing = Timing()

    def __init__(
        self,
        nodes: Iterable[str],
        users: Mapping[str, str],
        clock: Clock,
        observer: Observer | None = None,
        monitored: Iterable[str] = DEFAULT_MONITORED,
    ) -> None:
        self.clock = clock
        self.observer = observer
        self.monitored = frozenset(monitored)
        self.nodes = {name: _Node(name) for name in nodes}
        if len(self.nodes) != 2:
            raise ValueError("a pair has two nodes")
        self.users = {name: _User(name, home, home) for name, home in users.items()}
        self._shown: Page | None = None
        self._changed()

    # -- what happens ----------------------------------------------------------------------
    def service_stop(self, node: str, service: str) -> None:
        n = self.nodes[node]
        if service in n.stopped:
            return
        n.stopped.add(service)
        if n.state == FAILED_OVER and self._down(n):
            self._set(n, FAILED_OVER_CSNR, self._failure_reason(n))
        elif "database" in n.stopped and n.state in (FAILING_OVER, TAKING_OVER):
            self._both(n, FAILED, "Cisco Server Recovery Manager Take Over Users Failed")
        elif "database" in n.stopped and n.state in (TAKING_BACK, FALLING_BACK):
            self._both(n, FAILED, "Cisco Server Recovery Manager Take Back Users Failed")
        self._changed()

    def service_start(self, node: str, service: str) -> None:
        n, peer = self.nodes[node], self._peer(node)
        if service not in n.stopped:
            return
        n.stopped.discard(service)
        if n.state == FAILED_OVER_CSNR and not self._down(n):
            self._set(n, FAILED_OVER, RESTORED)
        elif n.state == FAILOVER_AFFECTED and not self._down(n) and peer.state == BACKUP_ACTIVATED:
            self._set(n, FAILED_OVER, RESTORED)
            self._set(peer, BACKUP, CRITICAL_SERVICE_DOWN)
        self._changed()

    def failover(self, node: str) -> None:
        """The administrator presses Failover for `node`."""
        if node not in self.offered()["failover"]:
            raise NotOffered(f"failover of {node}")
        self._set(self.nodes[node], FAILING_OVER, ON_ADMIN_REQUEST)
        self._set(self._peer(node), TAKING_OVER, ON_ADMIN_REQUEST)
        self._changed()

    def fallback(self, node: str) -> None:
        """The administrator presses Fallback: `node` takes its users back."""
        if node not in self.offered()["fallback"]:
            raise NotOffered(f"fallback to {node}")
        self._set(self.nodes[node], TAKING_BACK, ON_ADMIN_REQUEST)
        self._set(self._peer(node), FALLING_BACK, ON_ADMIN_REQUEST)
        self._changed()

    def login(self, user: str) -> None:
        u = self.users[user]
        if u.session is None:
            self._cancel_relogin(u)
            u.session = self._serving(u.home)
        self._changed()

    def logout(self, user: str) -> None:
        u = self.users[user]
        self._cancel_relogin(u)
        u.session = None
        self._changed()

    # -- what the page shows ---------------------------------------------------------------
    def offered(self) -> dict[str, Any]:
        nodes = list(self.nodes.values())
        failover = [
            n.name for n in nodes if n.state == NORMAL and self._peer(n.name).state == NORMAL
        ]
        fallback = [
            n.name
            for n in nodes
            if n.state in (IDLE, FAILED_OVER) and self._peer(n.name).state == BACKUP
        ]
        return {
            "failover": failover,
            "fallback": fallback,
            "recover": any(n.state == FAILED for n in nodes),
        }

    def page(self) -> Page:
        views = {
            n.name: {
                "state": n.state,
                "reason": n.reason,
                "assigned_users": sum(u.home == n.name for u in self.users.values()),
                "active_users": sum(u.session == n.name for u in self.users.values()),
            }
            for n in self.nodes.values()
        }
        sessions = {u.name: u.session for u in self.users.values()}
        return Page(self.clock.now(), views, sessions, self.offered())

    # -- timers ----------------------------------------------------------------------------
    def _critical_service_down(self, node: str) -> None:
        n, peer = self.nodes[node], self._peer(node)
        del n.timers["critical_service_down"]
        if n.state == NORMAL and peer.state == NORMAL:
            reason = self._failure_reason(n)
            self._set(n, FAILING_OVER, reason)
            self._set(peer, TAKING_OVER, reason)
        elif n.state == BACKUP and peer.state == FAILED_OVER:
            db = "database" in n.stopped
            self._set(
                n,
                FAILOVER_AFFECTED,
                "Auto Recover Database Failure" if db else "Auto Recover Critical Service Down",
            )
            self._set(peer, BACKUP_ACTIVATED, "Auto Recover Database Failure")
        elif n.state in (BACKUP, BACKUP_ACTIVATED):
            self._both(n, FAILED, CRITICAL_SERVICE_DOWN)
        self._changed()

    def _user_move(self, node: str) -> None:
        n, peer = self.nodes[node], self._peer(node)
        del n.timers["user_move"]
        if n.state == TAKING_OVER and peer.state == FAILING_OVER:
            if ON_ADMIN_REQUEST in (n.reason, peer.reason):
                self._set(n, BACKUP, ON_ADMIN_REQUEST)
                self._set(peer, IDLE, ON_ADMIN_REQUEST)
            elif self._down(peer):
                self._set(n, BACKUP, n.reason)
                self._set(peer, FAILED_OVER_CSNR, peer.reason)
            else:
                self._set(n, BACKUP, n.reason)
                self._set(peer, FAILED_OVER, RESTORED)
        elif n.state == TAKING_BACK and peer.state == FALLING_BACK:
            if self._down(n):
                self._both(n, FAILED, "Start of Critical Services Failed")
            else:
                self._both(n, NORMAL, NORMAL)
        self._changed()

    def _relogin(self, user: str) -> None:
        u = self.users[user]
        u.relogin = None
        u.session = self._serving(u.home)
        self._changed()

    # -- machinery -------------------------------------------------------------------------
    def _changed(self) -> None:
        """After every change: end sessions no node serves any more (their clients wait to log
        in again), start and cancel timers, and tell the observer what the page shows now."""
        for u in self.users.values():
            if u.session is not None and not self._serves(self.nodes[u.session], u.home):
                u.session = None
                self._cancel_relogin(u)
                u.relogin = self.clock.call_later(
                    self.timing.client_relogin, lambda name=u.name: self._relogin(name)
                )
        for n in self.nodes.values():
            critical = n.state in (NORMAL, BACKUP, BACKUP_ACTIVATED) and self._down(n)
            self._keep(
                n, "critical_service_down", critical, self.timing.critical_service_down_delay
            )
            moving = n.state in (TAKING_OVER, TAKING_BACK)
            self._keep(n, "user_move", moving, self.timing.user_move)
        page = self.page()
        if self.observer is not None and page != self._shown:
            self.observer.page_changed(page)
        self._shown = page

    def _keep(self, n: _Node, timer: str, running: bool, delay: float) -> None:
        if running and timer not in n.timers:
            fire = (
                self._critical_service_down if timer == "critical_service_down" else self._user_move
            )
            n.timers[timer] = self.clock.call_later(delay, lambda: fire(n.name))
        elif not running and timer in n.timers:
            n.timers.pop(timer).cancel()

    def _set(self, n: _Node, state: str, reason: str) -> None:
        n.state, n.reason = state, reason

    def _both(self, n: _Node, state: str, reason: str) -> None:
        self._set(n, state, reason)
        self._set(self._peer(n.name), state, reason)

    def _peer(self, node: str) -> _Node:
        return next(n for n in self.nodes.values() if n.name != node)

    def _down(self, n: _Node) -> bool:
        return bool(n.stopped & self.monitored)

    def _failure_reason(self, n: _Node) -> str:
        return DATABASE_FAILURE if "database" in n.stopped else CRITICAL_SERVICE_DOWN

    def _serves(self, n: _Node, home: str) -> bool:
        return n.state in SERVES_BOTH or (n.state in SERVES_OWN and n.name == home)

    def _serving(self, home: str) -> str | None:
        for n in (self.nodes[home], self._peer(home)):
            if self._serves(n, home):
                return n.name
        return None

    def _cancel_relogin(self, u: _User) -> None:
        if u.relogin is not None:
            u.relogin.cancel()
            u.relogin = None
