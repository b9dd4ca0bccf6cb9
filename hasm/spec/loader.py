"""Spec YAML to a validated, frozen `Spec`: schema first, then every cross-reference, all located."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import replace
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any, cast

from hasm.errors import Problem, SpecError
from hasm.spec.guards import conjuncts
from hasm.spec.labels import normalise_label
from hasm.spec.located import KeyPath, Located, parse_yaml, read_text
from hasm.spec.model import (
    EFFECT_FIELDS,
    USER_EFFECTS,
    Acceptance,
    Advice,
    All,
    AllowedPair,
    AnyOf,
    Assumption,
    Display,
    Duration,
    Event,
    Expr,
    Guard,
    InitialPoint,
    Invariant,
    Not,
    PairSide,
    Parameter,
    Reading,
    Reason,
    ReasonChoice,
    Service,
    Source,
    Spec,
    State,
    StatePair,
    Target,
    Test,
    Timer,
    Transition,
    Unserved,
    Vocabulary,
    VocabularyTerm,
)
from hasm.spec.params import evaluate
from hasm.spec.schema_problems import did_you_mean, schema_problems, yaml_text
from hasm.spec.schemas import load_schema

__all__ = [
    "CANONICAL",
    "build_spec",
    "canonical_spec_path",
    "load_spec",
]

CANONICAL = "imp-ha.yaml"


def canonical_spec_path() -> Path:
    """The packaged canonical spec, `specs/imp-ha.yaml` in the repository."""
    return Path(str(files("hasm.specs").joinpath(CANONICAL)))


def load_spec(path: str | Path | None = None) -> Spec:
    """Load and validate a spec file (the canonical spec by default); raise SpecError listing
    every problem, each with file, line, key path, what is wrong and the fix.

    A spec is frozen and a function of its file's name and text only, so the same text under the
    same name is built once and shared (the last few are kept): a test suite or a command that
    loads the canonical spec again and again pays its validation once."""
    name = str(path if path is not None else canonical_spec_path())
    return _remembered(name, read_text(name, SpecError))


def build_spec(name: str, text: str) -> Spec:
    """The spec a file named `name` holding `text` loads as, built anew (`load_spec` remembers
    the last few); raise SpecError as `load_spec` does."""
    located = parse_yaml(text, name, SpecError)
    if not isinstance(located.data, dict):
        raise SpecError(
            located.problem((), "a spec is a YAML mapping", "start from specs/imp-ha.yaml")
        )
    problems = list(schema_problems(located, load_schema("spec")))
    if problems:
        raise SpecError(problems)
    return _Builder(located).build()


_remembered = lru_cache(maxsize=8)(build_spec)


# -- semantic validation and construction ------------------------------------------------------
_EXPR_TOKEN = re.compile(r"\s*([-+])?\s*([a-z][a-z0-9_]*|[0-9]+(?:\.[0-9]+)?)")
_NODE_TESTS = {"state", "reason", "service_down", "up", "srm_running", "monitored_down"}


def _finite(value: Any) -> bool:
    """A real, finite number (YAML can write .inf, .nan and 400-digit integers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(value) if isinstance(value, list) else (str(value),)


class _Builder:
    """Builds a Spec from schema-valid data, collecting every cross-reference problem."""

    def __init__(self, located: Located) -> None:
        self.loc = located
        self.data: dict[str, Any] = located.data
        self.problems: list[Problem] = []

    def bad(self, path: KeyPath, message: str, fix: str = "") -> None:
        self.problems.append(self.loc.problem(path, message, fix))

    def check_ref(self, path: KeyPath, name: str, known: Iterable[str], what: str) -> None:
        known = list(known)
        if name not in known:
            self.bad(
                path,
                f"unknown {what} '{name}'",
                did_you_mean(name, known) or f"declare the {what} first",
            )

    def build(self) -> Spec:
        d = self.data
        self.source_ids = set(d["sources"]) | set(d["state_pairs"])
        self.assumption_ids = set(d["assumptions"])
        self.states = list(d["states"])
        self.reasons = list(d["reasons"])
        self.services = list(d["services"])
        self.params: dict[str, Any] = d["parameters"]
        self.event_ids = list(d["events"])
        self.timer_ids = list(d["timers"])
        self.reading_ids = list(d.get("readings", {}))

        sources = {k: Source(k, v["title"], v["where"]) for k, v in d["sources"].items()}
        parameters = {k: self.parameter(k, v) for k, v in d["parameters"].items()}
        services = {k: self.service(k, v) for k, v in d["services"].items()}
        states = {k: self.state(k, v) for k, v in d["states"].items()}
        reasons = {
            k: Reason(k, v["label"], tuple(v.get("aliases", [])), self.sources(("reasons", k), v))
            for k, v in d["reasons"].items()
        }
        before = len(self.problems)
        self.unique_labels("states", states.items())
        self.labels_unique = len(self.problems) == before  # else a vocabulary's codes are not read
        self.unique_labels("reasons", reasons.items())
        display = self.display(d["display"])
        initial = {k: self.initial(k, v) for k, v in d["initial"].items()}
        events = {k: self.event(k, v) for k, v in d["events"].items()}
        readings = {k: self.reading(k, v) for k, v in d.get("readings", {}).items()}
        timers = {t.id: t for k, v in d["timers"].items() for t in self.timers(k, v)}
        unserved = {k: self.unserved(k, v) for k, v in d.get("unserved", {}).items()}
        self.check_timers(timers)
        transitions = tuple(self.transition(i, t) for i, t in enumerate(d["transitions"]))
        self.unique_ids("transitions", [t.id for t in transitions])
        invariants = tuple(self.invariant(i, v) for i, v in enumerate(d["invariants"]))
        self.unique_ids("invariants", [v.id for v in invariants])
        pairs = {k: self.pair(k, v) for k, v in d["state_pairs"].items()}
        assumptions = {
            k: Assumption(k, v["statement"], v["why"]) for k, v in d["assumptions"].items()
        }
        accepted = tuple(self.acceptance(i, v) for i, v in enumerate(d.get("accepted", [])))
        vocabularies = {
            k: self.vocabulary(k, v, states) for k, v in d.get("vocabularies", {}).items()
        }
        if not self.problems:
            self.check_default_windows(parameters, timers)
        if self.problems:
            raise SpecError(sorted(self.problems, key=lambda p: (p.line or 0, p.path)))
        return Spec(
            path=self.loc.file,
            id=d["id"],
            title=d["title"],
            scope=d["scope"],
            sources=sources,
            parameters=parameters,
            services=services,
            states=states,
            reasons=reasons,
            display=display,
            initial=initial,
            events=events,
            timers=timers,
            transitions=transitions,
            invariants=invariants,
            state_pairs=pairs,
            assumptions=assumptions,
            accepted=accepted,
            vocabularies=vocabularies,
            readings=readings,
            unserved=unserved,
        )

    # -- element builders
    def sources(self, path: KeyPath, raw: dict[str, Any]) -> tuple[str, ...]:
        refs = _as_tuple(raw.get("source"))
        for i, ref in enumerate(refs):
            where = (
                (*path, "source", i) if isinstance(raw.get("source"), list) else (*path, "source")
            )
            self.check_ref(where, ref, self.source_ids, "source")
        return refs

    def assumption(self, path: KeyPath, raw: dict[str, Any]) -> str | None:
        ref = raw.get("assumption")
        if ref is not None:
            self.check_ref((*path, "assumption"), ref, self.assumption_ids, "assumption")
        return cast(str | None, ref)

    def parameter(self, name: str, raw: dict[str, Any]) -> Parameter:
        path: KeyPath = ("parameters", name)
        default, rng = raw["default"], raw.get("range")
        if raw["type"] == "boolean":
            if not isinstance(default, bool):
                self.bad(
                    (*path, "default"),
                    f"a boolean parameter needs true or false, not {yaml_text(default)}",
                )
            if rng is not None:
                self.bad((*path, "range"), "a boolean parameter has no range", "remove 'range'")
        else:
            good_default = not isinstance(default, bool) and _finite(default)
            if not good_default:
                huge = isinstance(default, int) and not isinstance(default, bool)
                shown = "a number too large" if huge else yaml_text(default)
                self.bad(
                    (*path, "default"), f"a seconds parameter needs a finite number, not {shown}"
                )
                default = 0.0
            if rng is not None and not all(_finite(bound) for bound in rng):
                self.bad(
                    (*path, "range"),
                    "a range bound is infinite or too large for a number",
                    "write [min, max] with finite numbers",
                )
                rng = None
            elif rng is None:
                self.bad(path, "a seconds parameter needs a range", "add 'range: [min, max]'")
            elif rng[0] > rng[1] or rng[0] < 0:
                self.bad(
                    (*path, "range"),
                    f"range {rng} is empty or negative",
                    "write [min, max] with 0 <= min <= max",
                )
            elif good_default and not rng[0] <= default <= rng[1]:
                self.bad(
                    (*path, "default"),
                    f"default {default} is outside the range {rng}",
                    "change the default or widen the range",
                )
        return Parameter(
            name=name,
            cisco_name=raw["cisco_name"],
            type=raw["type"],
            default=default if isinstance(default, bool) else float(default),
            range=(float(rng[0]), float(rng[1])) if rng else None,
            description=raw["description"],
            sources=self.sources(path, raw),
            assumption=self.assumption(path, raw),
            line=self.loc.line(path) or 0,
            advice=tuple(
                self.advice(name, i, entry) for i, entry in enumerate(raw.get("advice", []))
            ),
        )

    def advice(self, name: str, index: int, raw: dict[str, Any]) -> Advice:
        path: KeyPath = ("parameters", name, "advice", index)
        if self.params[name]["type"] != "seconds":
            self.bad(path[:3], "only a seconds parameter takes advice", "remove 'advice'")
        return Advice(
            self.expr((*path, "at_least"), raw["at_least"]),
            self.sources(path, raw),
            raw["why"],
        )

    def service(self, sid: str, raw: dict[str, Any]) -> Service:
        path: KeyPath = ("services", sid)
        cond = raw.get("monitored_if")
        if cond is not None:
            self.check_ref((*path, "monitored_if"), cond, self.params, "parameter")
            if cond in self.params and self.params[cond]["type"] != "boolean":
                self.bad((*path, "monitored_if"), f"'{cond}' is not a boolean parameter")
        return Service(
            sid,
            raw["name"],
            raw["monitored_by_default"],
            cond,
            self.sources(path, raw),
            self.assumption(path, raw),
        )

    def state(self, sid: str, raw: dict[str, Any]) -> State:
        path: KeyPath = ("states", sid)
        return State(
            id=sid,
            label=raw["label"],
            aliases=tuple(raw.get("aliases", [])),
            kind=raw["kind"],
            hosts=raw["hosts"],
            shows_active_users=raw.get("shows_active_users", True),
            definition=raw["definition"],
            sources=self.sources(path, raw),
            assumption=self.assumption(path, raw),
            line=self.loc.line(path) or 0,
        )

    def unique_labels(self, section: str, items: Iterable[tuple[str, State | Reason]]) -> None:
        seen: dict[str, str] = {}
        for key, item in items:
            for label in (item.label, *item.aliases):
                other = seen.setdefault(normalise_label(label), key)
                if other != key:
                    self.bad(
                        (section, key),
                        f"label '{label}' is also used by '{other}'",
                        "labels and aliases must be unique",
                    )

    def unique_ids(self, section: str, ids: list[str]) -> None:
        for i, ident in enumerate(ids):
            if ident in ids[:i]:
                self.bad(
                    (section, i, "id"), f"id '{ident}' is used twice", "give each a distinct id"
                )

    def display(self, raw: dict[str, Any]) -> Display:
        u = raw["unreachable"]
        self.check_ref(("display", "unreachable", "state"), u["state"], self.states, "state")
        self.check_ref(("display", "unreachable", "reason"), u["reason"], self.reasons, "reason")
        return Display(u["state"], u["reason"], self.assumption(("display",), raw))

    def initial(self, name: str, raw: dict[str, Any]) -> InitialPoint:
        self.check_ref(("initial", name, "state"), raw["state"], self.states, "state")
        self.check_ref(("initial", name, "reason"), raw["reason"], self.reasons, "reason")
        return InitialPoint(name, raw["ha_enabled"], raw["state"], raw["reason"])

    def event(self, eid: str, raw: dict[str, Any]) -> Event:
        path: KeyPath = ("events", eid)
        fields = tuple(raw.get("fields", []))
        effect = raw.get("effect")
        if raw["kind"] == "admin" and effect is not None:
            self.bad(
                (*path, "effect"),
                "an admin event has no effect of its own",
                "give its transitions the effects",
            )
        if raw["kind"] == "environment" and effect is None:
            self.bad(
                path,
                "an environment event needs an effect",
                f"add 'effect:' ({', '.join(EFFECT_FIELDS)})",
            )
        if effect is not None and set(EFFECT_FIELDS[effect]) != set(fields):
            need = list(EFFECT_FIELDS[effect])
            self.bad(
                (*path, "fields"),
                f"effect '{effect}' needs fields {need}, not {list(fields)}",
                f"write 'fields: {need}'",
            )
        alternatives = tuple(raw.get("alternative_effects", ()))
        for i, other in enumerate(alternatives):
            where = (*path, "alternative_effects", i)
            if effect is None:
                self.bad(where, "an alternative to no effect", "give the event an 'effect:' first")
            elif other == effect or effect not in USER_EFFECTS:
                self.bad(
                    where,
                    f"'{other}' cannot be an alternative to '{effect}'",
                    f"only user effects ({', '.join(sorted(USER_EFFECTS))}) have alternatives, "
                    "each other than the event's own",
                )
            elif set(EFFECT_FIELDS[other]) != set(fields):
                self.bad(where, f"effect '{other}' needs fields {list(EFFECT_FIELDS[other])}")
        if "user" in fields and len(fields) > 1:
            self.bad((*path, "fields"), "a user event has only the field 'user'")
        if eid in self.timer_ids:
            self.bad(path, f"'{eid}' names both an event and a timer", "rename one of them")
        return Event(
            eid,
            raw["kind"],
            fields,
            effect,
            raw["description"],
            self.sources(path, raw),
            self.assumption(path, raw),
            alternatives,
        )

    def expr(self, path: KeyPath, raw: Any) -> Expr:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return Expr(((1, float(raw)),))
        terms: list[tuple[int, str | float]] = []
        for match in _EXPR_TOKEN.finditer(str(raw)):
            sign = -1 if match.group(1) == "-" else 1
            token = match.group(2)
            if token[0].isdigit():
                terms.append((sign, float(token)))
                continue
            self.check_ref(path, token, self.params, "parameter")
            if token in self.params and self.params[token]["type"] != "seconds":
                self.bad(
                    path,
                    f"'{token}' is not a seconds parameter",
                    "durations add and subtract seconds",
                )
            terms.append((sign, token))
        return Expr(tuple(terms))

    def reading(self, rid: str, raw: dict[str, Any]) -> Reading:
        path: KeyPath = ("readings", rid)
        return Reading(
            rid,
            raw["description"],
            self.sources(path, raw),
            self.assumption(path, raw),
            self.loc.line(path) or 0,
        )

    def unserved(self, uid: str, raw: dict[str, Any]) -> Unserved:
        path: KeyPath = ("unserved", uid)
        return Unserved(
            uid,
            self.guard((*path, "while"), raw["while"], None),
            raw["description"],
            self.sources(path, raw),
            self.assumption(path, raw),
            self.loc.line(path) or 0,
        )

    def timers(self, tid: str, raw: dict[str, Any]) -> list[Timer]:
        """The timer of an entry, or a `per: service` entry's one per-node timer per service."""
        if raw["per"] != "service":
            return [self.timer(tid, raw)]
        timer = self.timer(tid, {**raw, "per": "node"})
        return [
            replace(
                timer,
                id=f"{tid}.{service}",
                while_=All((*conjuncts(timer.while_), Test("node", "service_down", (service,)))),
                service=service,
            )
            for service in self.services
        ]

    def triggers(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """Trigger names with each `per: service` entry's name read as all of its timers."""
        return tuple(
            f"{name}.{service}" if per_service else name
            for name in names
            for per_service in [self.data["timers"].get(name, {}).get("per") == "service"]
            for service in (self.services if per_service else [None])
        )

    def timer(self, tid: str, raw: dict[str, Any]) -> Timer:
        path: KeyPath = ("timers", tid)
        dur = raw["duration"]
        if isinstance(dur, dict):
            duration = Duration(
                self.expr((*path, "duration", "min"), dur["min"]),
                self.expr((*path, "duration", "max"), dur["max"]),
            )
        else:
            exact = self.expr((*path, "duration"), dur)
            duration = Duration(exact, exact)
        if raw["per"] == "user" and "while" in raw:
            self.bad(
                (*path, "while"),
                "a per-user timer starts when a session ends, not on a condition",
                "remove 'while'",
            )
        if raw["per"] == "node" and "while" not in raw:
            self.bad(
                path, "a per-node timer needs the condition it runs under", "add 'while: {...}'"
            )
        guard = self.guard((*path, "while"), raw.get("while", {}), None)
        return Timer(
            tid,
            raw["per"],
            duration,
            guard,
            raw["description"],
            self.sources(path, raw),
            self.assumption(path, raw),
            self.loc.line(path) or 0,
        )

    def check_default_windows(
        self, parameters: dict[str, Parameter], timers: dict[str, Timer]
    ) -> None:
        """Every timer window must be possible under the defaults, or no run could start."""
        values = {name: p.default for name, p in parameters.items()}
        for timer in timers.values():
            low, high = evaluate(timer.duration.min, values), evaluate(timer.duration.max, values)
            if low < 0 or high < low:
                self.bad(
                    ("timers", timer.id, "duration"),
                    f"under the default parameters this timer runs [{low:g}, {high:g}] s, which is impossible",
                    "change the defaults so that 0 <= min <= max",
                )

    def check_timers(self, timers: dict[str, Timer]) -> None:
        per_user = [t for t in timers.values() if t.per == "user"]
        if len(per_user) != 1:
            self.bad(
                ("timers",),
                f"a spec has exactly one per-user timer (the client's re-login wait), not {len(per_user)}",
            )

    def guard(self, path: KeyPath, raw: dict[str, Any], event: str | None) -> Guard:
        terms: list[Guard] = []
        for key, value in raw.items():
            here = (*path, key)
            if key == "not":
                terms.append(Not(self.guard(here, value, event)))
            elif key == "any":
                terms.append(
                    AnyOf(tuple(self.guard((*here, i), g, event) for i, g in enumerate(value)))
                )
            else:
                terms.append(self.test(here, key, value))
        return All(tuple(terms))

    def test(self, path: KeyPath, key: str, value: Any) -> Test:
        subject, _, prop = key.rpartition(".")
        if not subject:
            return Test("group", key, value)
        if subject == "param":
            self.check_ref(path, prop, self.params, "parameter")
            if prop in self.params:
                kind = self.params[prop]["type"]
                if (kind == "boolean") != isinstance(value, bool):
                    self.bad(path, f"'{prop}' is a {kind} parameter; {value!r} cannot match it")
            return Test("param", prop, value)
        if subject == "event":
            for name in _as_tuple(value):
                self.check_ref(path, name, self.services, "service")
            return Test("event", prop, _as_tuple(value))
        if subject == "reading":
            self.check_ref(path, prop, self.reading_ids, "reading")
            if not isinstance(value, bool):
                self.bad(path, f"a reading is true or false, not {value!r}")
            return Test("reading", prop, value)
        if prop in ("state", "reason", "service_down"):
            known, what = {
                "state": (self.states, "state"),
                "reason": (self.reasons, "reason"),
                "service_down": (self.services, "service"),
            }[prop]
            for name in _as_tuple(value):
                self.check_ref(path, name, known, what)
            return Test(cast(Any, subject), prop, _as_tuple(value))
        return Test(cast(Any, subject), prop, value)

    def target(self, path: KeyPath, raw: dict[str, Any] | None) -> Target:
        if raw is None:
            return Target()
        state = raw.get("state")
        if state is not None:
            self.check_ref((*path, "state"), state, self.states, "state")
        reason = raw.get("reason")
        if isinstance(reason, dict):
            for key in ("then", "else"):
                self.check_ref((*path, "reason", key), reason[key], self.reasons, "reason")
            reason = ReasonChoice(
                self.guard((*path, "reason", "when"), reason["when"], None),
                reason["then"],
                reason["else"],
            )
        elif reason is not None:
            self.check_ref((*path, "reason"), reason, self.reasons, "reason")
        return Target(state, reason)

    def transition(self, index: int, raw: dict[str, Any]) -> Transition:
        path: KeyPath = ("transitions", index)
        triggers = _as_tuple(raw["on"])
        for i, name in enumerate(triggers):
            where = (*path, "on", i) if isinstance(raw["on"], list) else (*path, "on")
            self.check_ref(where, name, [*self.event_ids, *self.timer_ids], "event or timer")
            if name in self.data["timers"] and self.data["timers"][name]["per"] == "user":
                self.bad(
                    where, f"'{name}' is the per-user timer; users are not moved by transitions"
                )
            event = self.data["events"].get(name)
            if event is not None and "user" in event.get("fields", []):
                self.bad(where, f"'{name}' is a user event; users are not moved by transitions")
        return Transition(
            id=raw["id"],
            summary=raw["summary"],
            on=self.triggers(triggers),
            when=self.guard((*path, "when"), raw["when"], None),
            node=self.target((*path, "node"), raw.get("node")),
            peer=self.target((*path, "peer"), raw.get("peer")),
            effects=tuple(raw.get("effects", [])),
            sources=self.sources(path, raw),
            assumption=self.assumption(path, raw),
            line=self.loc.line(path) or 0,
        )

    def invariant(self, index: int, raw: dict[str, Any]) -> Invariant:
        path: KeyPath = ("invariants", index)
        action = raw.get("action")
        if raw["kind"] == "offered_only":
            if action is None or "requires" not in raw:
                self.bad(path, "an offered_only invariant needs 'action' and 'requires'")
            elif (
                action not in self.data["events"] or self.data["events"][action]["kind"] != "admin"
            ):
                admin = [e for e, v in self.data["events"].items() if v["kind"] == "admin"]
                self.bad(
                    (*path, "action"),
                    f"'{action}' is not an admin event",
                    did_you_mean(action, admin) or f"use one of: {', '.join(admin)}",
                )
        kind = raw["kind"]
        # Which fields each kind reads (hasm/invariants.py gives them meaning); a field another
        # kind reads would be silently ignored here, so it is an error instead.
        uses = {
            "offered_only": {"action", "requires"},
            "fires_after": {"rules", "timer", "requires", "since", "at_least"},
            "bounded_response": {"on", "from", "when", "within", "goal", "sessions"},
            "pairs_documented": {"also"},
        }.get(kind, set())
        optional = {"rules", "timer", "since", "at_least", "on", "from", "when", "within"}
        optional |= {"goal", "sessions", "also", "action", "requires"}
        for key in sorted(optional & set(raw) - uses):
            self.bad((*path, key), f"a {kind} invariant has no '{key}'", f"remove '{key}'")
        need = {"fires_after": ("rules",), "bounded_response": ("within", "sessions")}
        for key in need.get(kind, ()):
            if key not in raw:
                self.bad(path, f"a {kind} invariant needs '{key}'")
        if ("since" in raw) != ("at_least" in raw):
            self.bad(path, "'since' and 'at_least' go together: the condition and how long")
        rules = _as_tuple(raw.get("rules"))
        for i, rule in enumerate(rules):
            known = [t["id"] for t in self.data["transitions"]]
            self.check_ref((*path, "rules", i), rule, known, "transition")
        timers = _as_tuple(raw.get("timer"))
        for i, timer in enumerate(timers):
            where = (*path, "timer", i) if isinstance(raw["timer"], list) else (*path, "timer")
            self.check_ref(where, timer, self.timer_ids, "timer")
        on = _as_tuple(raw.get("on"))
        for name in on:
            known = [*self.event_ids, *self.timer_ids]
            self.check_ref((*path, "on"), name, known, "event or timer")
        also = []
        for i, entry in enumerate(raw.get("also", [])):
            for state in entry["pair"]:
                self.check_ref((*path, "also", i, "pair"), state, self.states, "state")
            reasons = entry.get("reasons")
            for reason in reasons or ():
                self.check_ref((*path, "also", i, "reasons"), reason, self.reasons, "reason")
            ref = entry["assumption"]
            self.check_ref((*path, "also", i, "assumption"), ref, self.assumption_ids, "assumption")
            also.append(
                AllowedPair(
                    (entry["pair"][0], entry["pair"][1]),
                    ref,
                    (reasons[0], reasons[1]) if reasons else None,
                )
            )

        def expr(key: str) -> Expr | None:
            return self.expr((*path, key), raw[key]) if key in raw else None

        def guard(key: str) -> Guard:
            return self.guard((*path, key), raw.get(key, {}), None)

        return Invariant(
            raw["id"],
            raw["statement"],
            kind,
            action,
            guard("requires"),
            self.sources(path, raw),
            rules=rules,
            timers=self.triggers(timers),
            since=guard("since") if "since" in raw else None,
            at_least=expr("at_least"),
            on=self.triggers(on),
            from_=guard("from"),
            when=guard("when"),
            within=expr("within"),
            goal=guard("goal"),
            sessions=raw.get("sessions"),
            also=tuple(also),
            assumption=self.assumption(path, raw),
        )

    def acceptance(self, index: int, raw: dict[str, Any]) -> Acceptance:
        # Whether each offender still names a finding is `hasm lint`'s job (a stale acceptance
        # is a finding there), so that a spec edit never silently keeps an acceptance alive.
        path: KeyPath = ("accepted", index)
        return Acceptance(
            raw["check"],
            _as_tuple(raw["offender"]),
            raw["why"],
            self.assumption(path, raw),
            self.loc.line(path) or 0,
        )

    def vocabulary(self, name: str, raw: dict[str, Any], states: dict[str, State]) -> Vocabulary:
        path: KeyPath = ("vocabularies", name)
        terms: dict[str, VocabularyTerm] = {}
        seen: dict[
            str, str
        ] = {}  # normalised term -> as written: a term is read regardless of case
        for term, entry in raw["terms"].items():
            where: KeyPath = (*path, "terms", term)
            other = seen.setdefault(normalise_label(term), term)
            if other != term:
                self.bad(where, f"term '{term}' is also written '{other}'", "write each term once")
            for i, sid in enumerate(entry["states"]):
                self.check_ref((*where, "states", i), sid, self.states, "state")
            terms[term] = VocabularyTerm(
                term,
                tuple(entry["states"]),
                self.sources(where, entry),
                self.assumption(where, entry),
            )
        # A code names a term of this vocabulary or a page label, read as a trace would read it.
        known = {normalise_label(s.label) for s in states.values()} | set(seen)
        codes = tuple(raw.get("codes", []))
        for i, code in enumerate(codes):
            # A code follows a label renamed by mistake: that mistake is reported once, there.
            if self.labels_unique and normalise_label(code) not in known:
                self.bad(
                    (*path, "codes", i),
                    f"code {i} '{code}' is neither a term of '{name}' nor a page label",
                    did_you_mean(code, [*terms, *(s.label for s in states.values())])
                    or f"add '{code}' to the terms of '{name}'",
                )
        return Vocabulary(name, self.sources(path, raw), terms, codes)

    def pair(self, pid: str, raw: dict[str, Any]) -> StatePair:
        def side(name: str) -> PairSide | None:
            value = raw[name]
            if value == "down":
                return None
            states, reasons = _as_tuple(value["state"]), _as_tuple(value["reason"])
            for s in states:
                self.check_ref(("state_pairs", pid, name, "state"), s, self.states, "state")
            for r in reasons:
                self.check_ref(("state_pairs", pid, name, "reason"), r, self.reasons, "reason")
            return PairSide(states, reasons)

        return StatePair(pid, side("node1"), side("node2"), raw.get("out_of_scope"))
