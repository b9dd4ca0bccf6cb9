"""Observations for the oracle: what a record saw, normalised, and which candidates show it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hasm.core.config import NO_NODE, Config
from hasm.core.memo import Table
from hasm.core.model import Model
from hasm.core.semantics import offered
from hasm.core.views import NodeView, node_views
from hasm.errors import InputError, Problem
from hasm.oracle.candidates import Candidate, expand, narrow_all
from hasm.oracle.reaching import Counts, Pins
from hasm.spec.labels import label_index, normalise_label
from hasm.trace.records import NodeObservation, OfferedObservation

__all__ = ["Observation", "Observer", "node_matches"]


@dataclass(frozen=True, slots=True)
class Observation:
    """What an observation saw, checked against the group: nodes with spec ids, and the
    observed sessions counted per (home node, session node)."""

    nodes: Mapping[str, NodeObservation]
    sessions: Mapping[str, str | None]
    ha_enabled: bool | None
    offered: OfferedObservation | None
    session_counts: Mapping[tuple[int, int], int] = field(default_factory=dict)


def node_matches(view: NodeView, want: NodeObservation) -> bool:
    """The node shows every observed part of `want`. An ambiguous state word matches any of
    its states (`want.states`, a set built once per word); the common case - one state, equal
    - costs what it did before sets, one comparison."""
    state = want.state
    return (
        (
            state is None
            or state == view.state
            or (want.states is not None and view.state in want.states)
        )
        and (want.reason is None or want.reason == view.reason)
        and (want.assigned_users is None or want.assigned_users == view.assigned_users)
        and (want.active_users is None or want.active_users == view.active_users)
    )


class Observer:
    """Normalises the observations of one group's trace and matches them against candidates."""

    def __init__(
        self,
        model: Model,
        nodes: tuple[str, str],
        homes: Mapping[str, int],
        assigned: tuple[int, int],
        file: str,
    ) -> None:
        self.model, self.spec, self.nodes, self.homes = model, model.spec, nodes, homes
        self.assigned, self.file = assigned, file
        self._offers_seen: Table[object, dict[str, frozenset[str]]] = Table(4097)
        self._sessions_seen: Table[int, tuple[Mapping[str, str | None], Counts]] = Table(1025)
        self._states = label_index(self.spec.states.values())
        self._reasons = label_index(self.spec.reasons.values())

    # -- normalising ------------------------------------------------------------------------------
    def observation(
        self,
        nodes: Mapping[str, NodeObservation | Mapping[str, Any]] | None,
        sessions: Mapping[str, str | None] | None,
        ha_enabled: bool | None,
        offered: OfferedObservation | Mapping[str, Any] | None,
    ) -> Observation:
        """An observation as `Oracle.observe` takes it, checked and normalised."""
        checked_sessions = self._sessions(sessions or {})
        return Observation(
            {name: self._node_observation(name, want) for name, want in (nodes or {}).items()},
            checked_sessions,
            ha_enabled,
            self._offered_observation(offered),
            self._session_counts(checked_sessions),
        )

    def pins(self, obs: Observation) -> Pins:
        """What `obs` says exactly about where users are."""
        active = tuple(
            (want.active_users if (want := obs.nodes.get(name)) is not None else None)
            for name in self.nodes
        )
        return Pins(self._full_homes(obs.session_counts), (active[0], active[1]))

    def _node_observation(
        self, name: str, want: NodeObservation | Mapping[str, Any]
    ) -> NodeObservation:
        if name not in self.nodes:
            raise InputError(Problem(self.file, None, f"nodes.{name}", f"unknown node {name!r}"))
        if isinstance(want, NodeObservation):
            return want
        unknown = set(want) - {"state", "reason", "assigned_users", "active_users"}
        if unknown:
            raise InputError(
                Problem(self.file, None, f"nodes.{name}", f"unknown keys {sorted(unknown)}")
            )
        return NodeObservation(
            self._id(self._states, want.get("state"), f"nodes.{name}.state"),
            self._id(self._reasons, want.get("reason"), f"nodes.{name}.reason"),
            want.get("assigned_users"),
            want.get("active_users"),
        )

    def _id(self, index: Mapping[str, str], label: object, path: str) -> str | None:
        if label is None:
            return None
        found = index.get(normalise_label(label)) if isinstance(label, str) else None
        if found is None:
            raise InputError(
                Problem(self.file, None, path, f"{label!r} is not a label the spec knows")
            )
        return found

    def _sessions(self, sessions: Mapping[str, str | None]) -> Mapping[str, str | None]:
        known = self._sessions_seen.get(id(sessions))
        if known is not None and known[0] is sessions:
            return sessions  # checked when it was first counted
        for user, node in sessions.items():
            if user not in self.homes or (node is not None and node not in self.nodes):
                raise InputError(
                    Problem(
                        self.file,
                        None,
                        f"sessions.{user}",
                        f"unknown user or node: {user!r} on {node!r}",
                    )
                )
        return sessions

    def _offered_observation(
        self, offered: OfferedObservation | Mapping[str, Any] | None
    ) -> OfferedObservation | None:
        if offered is None or isinstance(offered, OfferedObservation):
            return offered

        def nodes(key: str) -> frozenset[str] | None:
            value = offered.get(key)
            return None if value is None else frozenset(value)

        return OfferedObservation(nodes("failover"), nodes("fallback"), offered.get("recover"))

    def _full_homes(self, counts: Mapping[tuple[int, int], int]) -> Counts | None:
        """The observed counts of the homes whose every user the observation lists."""
        listed: dict[int, int] = {}
        for (home, _), n in counts.items():
            listed[home] = listed.get(home, 0) + n
        full = {h for h, n in listed.items() if n == self.assigned[h]}
        if not full:
            return None
        return {key: n for key, n in counts.items() if key[0] in full}

    def _session_counts(self, sessions: Mapping[str, str | None]) -> dict[tuple[int, int], int]:
        # The reader shares one mapping between lines that repeat: count each mapping once.
        known = self._sessions_seen.get(id(sessions))
        if known is not None and known[0] is sessions:
            return known[1]
        need: dict[tuple[int, int], int] = {}
        for user, node in sessions.items():
            key = (self.homes[user], NO_NODE if node is None else self.nodes.index(node))
            need[key] = need.get(key, 0) + 1
        self._sessions_seen.keep(id(sessions), (sessions, need))  # holding it keeps its id unique
        return need

    # -- matching ---------------------------------------------------------------------------------
    def shows(self, cand: Candidate, obs: Observation) -> list[Candidate]:
        """The part of `cand` that shows what was observed (one candidate, or none, or - when
        one counter constrains two ranges at once - the first range listed out)."""
        config = cand.config
        if not cand.splits:
            return [cand] if self._shows_config(config, obs) else []
        views = node_views(self.model, config)
        for name, want in obs.nodes.items():  # all but the counts: the same in every member
            view = views[self.nodes.index(name)]
            if not node_matches(view, dataclasses.replace(want, active_users=None)):
                return []
        if obs.ha_enabled is not None and obs.ha_enabled != config.ha_enabled:
            return []
        if obs.offered is not None and not self._offers_match(config, obs.offered):
            return []
        # The counts: each observed one is the configuration's plus each range's pick times
        # -1, 0 or 1; a counter must equal it, a count of sessions be at most it.
        splits = cand.splits
        rows: list[tuple[tuple[int, ...], int, bool]] = []  # (coefficients, bound, exact)
        for name, want in obs.nodes.items():
            if want.active_users is None:
                continue
            n = self.nodes.index(name)
            shown = self.spec.states[views[n].state].shows_active_users
            coeffs = tuple(
                ((s.target[1] == n) - (s.source[1] == n)) if shown else 0 for s in splits
            )
            rows.append((coeffs, want.active_users - views[n].active_users, True))
        if obs.sessions:
            have: dict[tuple[int, int], int] = {}
            for c in config.users:
                have[(c.home, c.session)] = have.get((c.home, c.session), 0) + c.count
            for key, need in obs.session_counts.items():
                coeffs = tuple((s.target[:2] == key) - (s.source[:2] == key) for s in splits)
                rows.append((coeffs, need - have.get(key, 0), False))
        lows, highs = [0] * len(splits), [s.extra for s in splits]
        for coeffs, bound, exact in rows:
            involved = [i for i, c in enumerate(coeffs) if c]
            if len(involved) > 1:
                return [part for p in expand(cand, involved[0]) for part in self.shows(p, obs)]
            if not involved:
                if bound != 0 if exact else bound > 0:
                    return []
                continue
            i = involved[0]
            sign = coeffs[i]  # pick * sign == bound (exact) or >= bound: pick vs bound * sign
            if exact or sign > 0:
                lows[i] = max(lows[i], bound * sign)
            if exact or sign < 0:
                highs[i] = min(highs[i], bound * sign)
        if any(low > high for low, high in zip(lows, highs, strict=True)):
            return []
        return [narrow_all(cand, lows, highs)]

    def _shows_config(self, config: Config, obs: Observation) -> bool:
        views = node_views(self.model, config)
        for name, want in obs.nodes.items():
            view = views[self.nodes.index(name)]
            if not node_matches(view, want):
                return False
        if obs.ha_enabled is not None and obs.ha_enabled != config.ha_enabled:
            return False
        if obs.offered is not None and not self._offers_match(config, obs.offered):
            return False
        return not obs.sessions or self._sessions_fit(config, obs.session_counts)

    def _offers_match(self, config: Config, want: OfferedObservation) -> bool:
        offers = self.offers(config)
        if want.failover is not None and want.failover != offers.get("failover", frozenset()):
            return False
        if want.fallback is not None and want.fallback != offers.get("fallback", frozenset()):
            return False
        return want.recover is None or want.recover == bool(offers.get("recover"))

    def offers(self, config: Config) -> dict[str, frozenset[str]]:
        """The administrator actions offered in `config`, each with its nodes' names ("" for
        an action without a node)."""
        # What is offered depends on the nodes, the HA setting and the link only, and a trace
        # visits few of those: remember them.
        key = (config.nodes, config.ha_enabled, config.link_up)
        known = self._offers_seen.get(key)
        if known is None:
            known = self._offers_seen.keep(key, self._offers_of(config))
        return known

    def _offers_of(self, config: Config) -> dict[str, frozenset[str]]:
        out: dict[str, set[str]] = {}
        for action in offered(self.model, config):
            names = out.setdefault(action.name, set())
            names.add(self.nodes[action.node] if action.node is not None else "")
        return {k: frozenset(v) for k, v in out.items()}

    def _sessions_fit(self, config: Config, need: Mapping[tuple[int, int], int]) -> bool:
        """Observed sessions, counted per home node and session node, fit the configuration's
        cohorts (users are counted, not followed: see hasm.oracle.oracle's docstring)."""
        have: dict[tuple[int, int], int] = {}
        for c in config.users:
            have[(c.home, c.session)] = have.get((c.home, c.session), 0) + c.count
        return all(have.get(key, 0) >= n for key, n in need.items())
