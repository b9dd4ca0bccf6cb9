"""A two-node Presence Redundancy Group with High Availability on, as the admin page shows it.

Scope: HA enabled and settled (Normal / Normal) at the start, both nodes up, their SRMs running
and talking. What can happen: services stop and start, a node goes down and comes back, SRM
stops and starts on a node, the link between the nodes fails and is repaired, the administrator
presses Failover, Fallback or Recover, users sign in and out. What the pair does about it:

- a monitored service down on a Normal node for `critical_service_down_delay` seconds: the node
  fails over to its Normal peer (Failing Over / Taking Over); after `user_move` seconds the
  peer runs in backup mode and the node is Failed Over, with Critical Services not Running while
  the service is still down;
- Failover on a Normal node (peer Normal): Failing Over / Taking Over, then Idle / Running in
  Backup Mode; Fallback to an Idle or Failed Over node: Taking Back / Falling Back, then
  Normal / Normal (or both Running in Failed Mode if its services are still down);
- a backup node that loses a monitored service: auto-recovery if its peer is healthy (Failed
  Over), else Running in Failed Mode; the database stopping during a move fails the move;
- a node that stops hearing its peer (the peer is down, its SRM stopped, or the link failed)
  for `heartbeat_loss` seconds takes over alone (Running in Backup Mode / Peer Reboot or Peer
  Down), or fails if it cannot serve or was in the middle of a move; a node whose SRM starts
  again (a reboot, or SRM alone) initializes, or keeps its failover state with reason
  Initialization, and settles with its peer after `initialization` seconds (an initializing
  node that hears nobody for `initialization_heartbeat_loss` seconds takes over alone);
- the link repaired after both nodes took over for each other: both Running in Failed Mode;
- Recover, offered while either node is Running in Failed Mode: SRM and every service start
  again on the nodes that are up, and both initialize;
- a node that is down or whose SRM is stopped shows as Unknown / Unknown; a down node serves
  nobody, one whose SRM alone stopped keeps serving whom its state serves;
- a client whose session an HA change ended logs in again after `client_relogin` seconds, to
  the node that serves its home node's users (if none does, it gives up until the user signs in).

The pair reports every change of its page to an `Observer`. Nothing here imports hasm.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ha_pair.clock import Clock, Handle

UNKNOWN = "Unknown"
INITIALIZING = "Initializing"
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
INITIALIZATION = "Initialization"
CRITICAL_SERVICE_DOWN = "Critical Service Down"
DATABASE_FAILURE = "Database Failure"
RESTORED = "Initialization or Critical Services Down"
START_FAILED = "Start of Critical Services Failed"
PEER_DOWN = "Peer Down"
PEER_REBOOT = "Peer Reboot"
PEER_DOWN_DURING_INITIALIZATION = "Peer Down During Initialization"
TAKE_OVER_FAILED = "Cisco Server Recovery Manager Take Over Users Failed"
TAKE_BACK_FAILED = "Cisco Server Recovery Manager Take Back Users Failed"

# Whose users' sessions a node in each state serves (any state not listed serves nobody).
SERVES_OWN = {INITIALIZING, NORMAL, TAKING_BACK, FALLING_BACK}
SERVES_BOTH = {TAKING_OVER, BACKUP, BACKUP_ACTIVATED}
MOVING_OUT = (FAILING_OVER, TAKING_OVER)
MOVING_BACK = (TAKING_BACK, FALLING_BACK)
# The states in which SRM watches its peer's heartbeat (an initializing node has its own,
# longer timeout; a node already in backup or failed over has nobody left to take over for).
WATCHES_HEARTBEAT = {NORMAL, *MOVING_OUT, *MOVING_BACK}

DEFAULT_MONITORED = frozenset({"database", "presence_engine", "xcp_router"})


class NotOffered(Exception):
    """The page does not offer this administrator action now."""


@dataclass(frozen=True)
class Timing:
    """How long things take, in seconds: one fixed value for each, where Cisco's SRM allows a
    window (the heartbeat's phase, how long a move takes)."""

    critical_service_down_delay: float = 90.0
    user_move: float = 5.0
    initialization: float = 5.0
    # A silent peer is noticed at the first heartbeat check after the Keep Alive Timeout (60 s),
    # checks coming every Keep Alive Interval (15 s), so anywhere 45 to 60 s after its last
    # heartbeat; this pair checks at the middle of that window, 52.5 s, so a real clock's jitter
    # either way stays inside it. The same for the Initialization Keep Alive Timeout (120 s).
    heartbeat_loss: float = 52.5
    initialization_heartbeat_loss: float = 112.5
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
    """One node and its SRM. `state` and `reason` are what its SRM holds; they are kept while
    the node is down or its SRM stopped (the page then shows Unknown), because a returning SRM
    starts from them (a node that was Idle comes back Idle / Initialization)."""

    name: str
    state: str = NORMAL
    reason: str = NORMAL
    up: bool = True
    srm: bool = True
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
        self.linked = True  # the network between the two nodes works
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
        elif self._database_down(n) and n.state in MOVING_OUT:
            self._both(n, FAILED, TAKE_OVER_FAILED)
        elif self._database_down(n) and n.state in MOVING_BACK:
            self._both(n, FAILED, TAKE_BACK_FAILED)
        self._changed()

    def service_start(self, node: str, service: str) -> None:
        n, peer = self.nodes[node], self._peer(node)
        if service not in n.stopped:
            return
        n.stopped.discard(service)
        if n.state == FAILED_OVER_CSNR and not self._down(n):
            self._set(n, FAILED_OVER, RESTORED)
        elif (
            n.state == FAILOVER_AFFECTED
            and not self._down(n)
            and peer.state == BACKUP_ACTIVATED
            and self._connected()
        ):
            self._set(n, FAILED_OVER, RESTORED)
            self._set(peer, BACKUP, CRITICAL_SERVICE_DOWN)
        self._changed()

    def node_down(self, node: str) -> None:
        """The node goes down: its SRM with it, and every session on it ends."""
        n = self.nodes[node]
        if not n.up:
            return
        n.up = n.srm = False
        self._changed()

    def node_up(self, node: str) -> None:
        """The node has booted: every service runs again, and its SRM starts."""
        n = self.nodes[node]
        if n.up:
            return
        n.up = n.srm = True
        n.stopped.clear()
        self._srm_started(n)
        self._changed()

    def srm_stop(self, node: str) -> None:
        n = self.nodes[node]
        if not n.srm:
            return
        n.srm = False
        self._changed()

    def srm_start(self, node: str) -> None:
        n = self.nodes[node]
        if n.srm or not n.up:
            return  # SRM starts only on a node that is up
        n.srm = True
        self._srm_started(n)
        self._changed()

    def link_down(self) -> None:
        if not self.linked:
            return
        self.linked = False
        self._changed()

    def link_up(self) -> None:
        if self.linked:
            return
        self.linked = True
        # Both nodes took over while they could not hear each other (split brain): now that
        # they do, neither can tell who serves whom, and both fail until Recover.
        split = any(
            n.state == BACKUP and self._peer(n.name).state in (BACKUP, NORMAL)
            for n in self.nodes.values()
        )
        if split and self._connected():
            for n in self.nodes.values():
                self._set(n, FAILED, UNKNOWN)
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

    def recover(self) -> None:
        """The administrator presses Recover: SRM and every stopped service start again on the
        nodes that are up, and both SRMs initialize (a down node's too: it would anyway once
        it boots, and so Recover is not offered again for a failure it has cleared)."""
        if not self.offered()["recover"]:
            raise NotOffered("recover")
        for n in self.nodes.values():
            if n.up:
                n.srm = True
                n.stopped.clear()
            self._set(n, INITIALIZING, INITIALIZATION)
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
        connected = self._connected()
        failover = [
            n.name
            for n in nodes
            if connected and n.state == NORMAL and self._peer(n.name).state == NORMAL
        ]
        fallback = [
            n.name
            for n in nodes
            if connected and n.state in (IDLE, FAILED_OVER) and self._peer(n.name).state == BACKUP
        ]
        return {
            "failover": failover,
            "fallback": fallback,
            "recover": any(n.state == FAILED for n in nodes),
        }

    def page(self) -> Page:
        views = {}
        for n in self.nodes.values():
            reachable = n.up and n.srm
            state, reason = (n.state, n.reason) if reachable else (UNKNOWN, UNKNOWN)
            active = sum(u.session == n.name for u in self.users.values())
            views[n.name] = {
                "state": state,
                "reason": reason,
                "assigned_users": sum(u.home == n.name for u in self.users.values()),
                # An initializing node does not count its sessions yet (the seed's screenshot).
                "active_users": 0 if state == INITIALIZING else active,
            }
        sessions = {u.name: u.session for u in self.users.values()}
        return Page(self.clock.now(), views, sessions, self.offered())

    # -- timers ----------------------------------------------------------------------------
    def _critical_service_down(self, node: str) -> None:
        n, peer = self.nodes[node], self._peer(node)
        connected = self._connected()
        if n.state == NORMAL and peer.state == NORMAL and connected:
            self._fail_over(n, peer)
        elif n.state == BACKUP and peer.state == FAILED_OVER and connected:
            db = self._database_down(n)
            self._set(
                n,
                FAILOVER_AFFECTED,
                "Auto Recover Database Failure" if db else "Auto Recover Critical Service Down",
            )
            self._set(peer, BACKUP_ACTIVATED, "Auto Recover Database Failure")
        elif n.state in (BACKUP, BACKUP_ACTIVATED):
            # Nobody can take over from the backup: it fails, with its peer if it can tell it.
            self._set(n, FAILED, CRITICAL_SERVICE_DOWN)
            if connected:
                self._set(peer, FAILED, CRITICAL_SERVICE_DOWN)
        # A Normal node whose peer cannot take over stays Normal; the delay counts again.

    def _user_move(self, node: str) -> None:
        n, peer = self.nodes[node], self._peer(node)
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
                self._both(n, FAILED, START_FAILED)
            else:
                self._both(n, NORMAL, NORMAL)
        # A partner that restarted into another state: the move waits and tries again.

    def _initialization(self, node: str) -> None:
        n, peer = self.nodes[node], self._peer(node)
        if peer.state in (INITIALIZING, NORMAL):
            if self._down(n) and self._down(peer):
                self._both(n, FAILED, CRITICAL_SERVICE_DOWN)
            elif self._down(n):
                self._fail_over(n, peer)
            elif self._down(peer):
                self._fail_over(peer, n)
            else:
                self._both(n, NORMAL, NORMAL)
        elif peer.state in (BACKUP, BACKUP_ACTIVATED):
            self._set(n, FAILED_OVER_CSNR if self._down(n) else FAILED_OVER, INITIALIZATION)
        elif peer.state in MOVING_OUT:
            self._both(n, FAILED, TAKE_OVER_FAILED)  # the move lost its partner midway
        elif peer.state in MOVING_BACK:
            self._both(n, FAILED, TAKE_BACK_FAILED)
        elif peer.state == FAILED:
            self._both(n, FAILED, UNKNOWN)
        # Beside Idle, Failed Over or Failover Affected no documented pair says what to do:
        # the node keeps initializing, and tries again.

    def _heartbeat_loss(self, node: str) -> None:
        n, peer = self.nodes[node], self._peer(node)
        if n.state == NORMAL and self._down(n):
            self._set(n, FAILED, CRITICAL_SERVICE_DOWN)  # nobody left who can serve
        elif n.state == NORMAL:
            # A peer that is up but silent (its SRM stopped, or the link failed) is Peer Down.
            self._set(n, BACKUP, PEER_DOWN if peer.up else PEER_REBOOT)
        elif n.state in MOVING_OUT:
            self._set(n, FAILED, TAKE_OVER_FAILED)
        else:  # Taking Back or Falling Back: the only other states it watches the peer in
            self._set(n, FAILED, TAKE_BACK_FAILED)

    def _initialization_heartbeat_loss(self, node: str) -> None:
        n = self.nodes[node]
        if self._down(n):
            self._set(n, FAILED, CRITICAL_SERVICE_DOWN)
        else:
            self._set(n, BACKUP, PEER_DOWN_DURING_INITIALIZATION)

    def _relogin(self, user: str) -> None:
        u = self.users[user]
        u.relogin = None
        u.session = self._serving(u.home)
        self._changed()

    # -- machinery -------------------------------------------------------------------------
    def _srm_started(self, n: _Node) -> None:
        """SRM (re)starts on `n`: it initializes, or keeps a failover state (its users are
        still where the failover put them) with reason Initialization."""
        if self._connected() and self._peer(n.name).state == FAILED:
            self._both(n, FAILED, UNKNOWN)
        elif n.state in (NORMAL, INITIALIZING, FAILED):
            self._set(n, INITIALIZING, INITIALIZATION)
        elif n.state in (FAILED_OVER, FAILED_OVER_CSNR):
            self._set(n, FAILED_OVER_CSNR if self._down(n) else FAILED_OVER, INITIALIZATION)
        else:
            n.reason = INITIALIZATION

    def _changed(self) -> None:
        """After every change: end sessions no node serves any more (their clients wait to log
        in again), start and cancel timers, and tell the observer what the page shows now."""
        for u in self.users.values():
            if u.session is not None and not self._serves(self.nodes[u.session], u.home):
                u.session = None
                self._cancel_relogin(u)
                u.relogin = self.clock.call_later(
                    self.timing.client_relogin, functools.partial(self._relogin, u.name)
                )
        connected, t = self._connected(), self.timing
        for n in self.nodes.values():
            # A timer runs while its condition holds: each change may start or cancel it.
            unhealthy = n.state in (NORMAL, BACKUP, BACKUP_ACTIVATED) and self._down(n)
            moving = n.state in (TAKING_OVER, TAKING_BACK)
            silent = n.srm and not connected
            keep = self._keep
            keep(n, self._critical_service_down, n.srm and unhealthy, t.critical_service_down_delay)
            keep(n, self._user_move, connected and moving, t.user_move)
            keep(n, self._initialization, connected and n.state == INITIALIZING, t.initialization)
            keep(n, self._heartbeat_loss, silent and n.state in WATCHES_HEARTBEAT, t.heartbeat_loss)
            keep(
                n,
                self._initialization_heartbeat_loss,
                silent and n.state == INITIALIZING,
                t.initialization_heartbeat_loss,
            )
        page = self.page()
        if self.observer is not None and page != self._shown:
            self.observer.page_changed(page)
        self._shown = page

    def _keep(self, n: _Node, action: Callable[[str], None], running: bool, delay: float) -> None:
        """Start the timer that ends in `action` on `n` if it should run and does not, cancel it
        if it runs and should not."""
        timer = action.__name__
        if running and timer not in n.timers:
            n.timers[timer] = self.clock.call_later(delay, lambda: self._fire(n, timer, action))
        elif not running and timer in n.timers:
            n.timers.pop(timer).cancel()

    def _fire(self, n: _Node, timer: str, action: Callable[[str], None]) -> None:
        del n.timers[timer]
        action(n.name)
        self._changed()  # a timer whose condition still holds starts again

    def _connected(self) -> bool:
        """Do the two SRMs hear each other?"""
        return self.linked and all(n.up and n.srm for n in self.nodes.values())

    def _fail_over(self, n: _Node, to: _Node) -> None:
        reason = self._failure_reason(n)
        self._set(n, FAILING_OVER, reason)
        self._set(to, TAKING_OVER, reason)

    def _set(self, n: _Node, state: str, reason: str) -> None:
        n.state, n.reason = state, reason

    def _both(self, n: _Node, state: str, reason: str) -> None:
        self._set(n, state, reason)
        self._set(self._peer(n.name), state, reason)

    def _peer(self, node: str) -> _Node:
        return next(n for n in self.nodes.values() if n.name != node)

    def _down(self, n: _Node) -> bool:
        """Is a monitored service down on `n`?"""
        return bool(n.stopped & self.monitored)

    def _database_down(self, n: _Node) -> bool:
        return "database" in n.stopped & self.monitored

    def _failure_reason(self, n: _Node) -> str:
        return DATABASE_FAILURE if self._database_down(n) else CRITICAL_SERVICE_DOWN

    def _serves(self, n: _Node, home: str) -> bool:
        """Does `n` serve the sessions of users homed on `home`? A down node serves nobody; one
        whose SRM alone stopped still serves whom its state serves."""
        own = n.state in SERVES_OWN and n.name == home
        return n.up and (n.state in SERVES_BOTH or own)

    def _serving(self, home: str) -> str | None:
        for n in (self.nodes[home], self._peer(home)):
            if self._serves(n, home):
                return n.name
        return None

    def _cancel_relogin(self, u: _User) -> None:
        if u.relogin is not None:
            u.relogin.cancel()
            u.relogin = None
