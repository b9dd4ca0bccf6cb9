"""What a trace says of each user's client: signed in or signed out, and so which cohorts a user
event may name.

The oracle counts users per cohort rather than following them (hasm.oracle.oracle), so a user
event could be any cohort of the user's home node. But a user's events are always records (no
header may hide them), and every user starts signed in (trace format v1), so the trace alone
says, at every record, whether each client is signed in. And the core keeps that apart in the
cohorts:

- a `SIGNED_OUT` cohort holds only signed-out clients: a session kept after the sign-out
  (A-logout-session) or none; only a sign-in takes a client out of them (a kept session that
  ends, as its node stops serving it or a second sign-out ends it, leaves the client signed out
  with no session);
- every other cohort holds only signed-in ones: a session, a wait to re-login, or neither (a
  re-login or sign-in that found no node to serve it and stopped, S8).

So an event of a signed-in user never names a `SIGNED_OUT` cohort, nor one of a signed-out user
any other. Sound for every behaviour, and narrower than any cohort of the home: a sign-in no
longer takes back another user's kept session, and a sign-out no longer takes a client already
signed out, which the sign-outs and sign-ins of a long trace otherwise pile up as candidates
(`test_a_burst_of_sign_outs_nothing_observes_stays_a_few_candidates`). Where a trace starts
mid-incident (`initial: observed`) nothing says how a client started, so every cohort stays
possible for a user until the user's first sign-in or sign-out.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping

from hasm.core.config import SIGNED_OUT, Config, UserKey
from hasm.spec.model import Spec

__all__ = ["Clients", "may_hold"]

_SIGNS_IN = frozenset({"login"})
_SIGNS_OUT = frozenset({"logout", "logout_keep_session"})


def may_hold(key: UserKey, signed_in: bool | None) -> bool:
    """May cohort `key` hold a client that is signed in (True), signed out (False), or either
    as far as the trace says (None)?"""
    if signed_in is None:
        return True
    return (key[2] == SIGNED_OUT) != signed_in


class Clients:
    """Each user's client as the trace's records leave it: signed in, signed out, or unknown."""

    def __init__(self, spec: Spec, homes: Mapping[str, int], *, known: bool) -> None:
        """`homes`: each user's home node (its index); `known`: every client starts signed in
        (a trace from a starting point), else nothing is known until a user's own event."""
        self.homes = homes
        # For each user event, what it leaves the client: signed in, out, or (None) either.
        self._leaves: dict[str, bool | None] = {
            event.id: _leaves(event.effects) for event in spec.events.values()
        }
        self._signed_in: dict[str, bool] = dict.fromkeys(homes, True) if known else {}

    def copy(self) -> Clients:
        """A follower of its own from here (the homes and the events' effects shared)."""
        twin = copy.copy(self)
        twin._signed_in = dict(self._signed_in)
        return twin

    def signed_in(self, user: str) -> bool | None:
        return self._signed_in.get(user)

    def cohorts(self, config: Config, user: str) -> Iterator[UserKey]:
        """The cohorts of `config` an event of `user` may name."""
        home, signed_in = self.homes[user], self._signed_in.get(user)
        for cohort in config.users:
            if cohort.home == home and may_hold(cohort.key, signed_in):
                yield cohort.key

    def took(self, event: str, user: str) -> None:
        """`user`'s event `event` was accepted: the client is where it leaves it."""
        leaves = self._leaves.get(event)
        if leaves is None:
            self._signed_in.pop(user, None)
        else:
            self._signed_in[user] = leaves


def _leaves(effects: tuple[str, ...]) -> bool | None:
    """True: every effect signs the client in; False: every one signs it out; None otherwise."""
    if effects and set(effects) <= _SIGNS_IN:
        return True
    if effects and set(effects) <= _SIGNS_OUT:
        return False
    return None
