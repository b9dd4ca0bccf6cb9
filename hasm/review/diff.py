"""A semantic diff of two specs for review: what was added, removed or changed, element by element.

Elements are matched by id (transitions and invariants by their `id`, the rest by their key), and
compared field by field as the spec language means them, not as text: a guard is compared as its
conditions, a duration as its expression, a list of sources as a list; comments, layout and line
numbers do not count. Two specs are equal when nothing differs. The reachable state pairs of both
are compared too: by default the pairs that `hasm lint`'s static analysis finds reachable, and,
when asked, those of the exhaustive explorer (hasm.explorer.explore), which is exact but slower. The order
is the spec's own, sections first, so the output is deterministic.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

from hasm.review.lint import reachable_pairs
from hasm.spec.guards import describe_guard
from hasm.spec.model import Duration, Expr, Guard, ReasonChoice, Spec, Target

__all__ = ["Change", "SpecDiff", "diff_specs", "render_json", "render_text"]

Pair = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Change:
    """One element added, removed or changed; `fields` holds (field, old, new) for a change."""

    section: str
    kind: str  # "added", "removed" or "changed"
    id: str
    fields: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class SpecDiff:
    old: str
    new: str
    changes: tuple[Change, ...]
    pairs_how: str  # how the reachable pairs were found
    pairs_only_old: tuple[Pair, ...]
    pairs_only_new: tuple[Pair, ...]

    @property
    def equal(self) -> bool:
        return not self.changes and not self.pairs_only_old and not self.pairs_only_new


# -- values as reviewers read them ---------------------------------------------------------------
def _show(value: Any) -> str:
    """A field's value in the spec's own notation, so equal meaning shows as equal text."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return value
    if isinstance(value, Expr | Duration):
        return str(value)
    if isinstance(value, Target):
        parts = []
        if value.state is not None:
            parts.append(f"state: {value.state}")
        if value.reason is not None:
            parts.append(f"reason: {_show(value.reason)}")
        return "{" + ", ".join(parts) + "}"
    if isinstance(value, ReasonChoice):
        return f"{{when: {{{describe_guard(value.when)}}}, then: {value.then}, else: {value.otherwise}}}"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, Guard):
        return "{" + describe_guard(value) + "}"
    return str(value)


def _fields(item: Any, skip: Iterable[str] = ()) -> dict[str, str]:
    """Every field of a spec element but its line (where it is, not what it says)."""
    skipped = {"line", *skip}
    assert is_dataclass(item)
    return {f.name: _show(getattr(item, f.name)) for f in fields(item) if f.name not in skipped}


def _compare(
    section: str,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    as_fields: Callable[[Any], dict[str, str]],
) -> list[Change]:
    out: list[Change] = []
    for key, item in old.items():
        if key not in new:
            out.append(Change(section, "removed", key))
            continue
        a, b = as_fields(item), as_fields(new[key])
        changed = tuple(
            (name, a.get(name, "(none)"), b.get(name, "(none)"))
            for name in dict.fromkeys([*a, *b])
            if a.get(name) != b.get(name)
        )
        if changed:
            out.append(Change(section, "changed", key, changed))
    out += [Change(section, "added", key) for key in new if key not in old]
    return out


def _terms(spec: Spec) -> dict[str, Any]:
    """Every vocabulary's terms, keyed "vocabulary: term"."""
    return {f"{v.name}: {t.term}": t for v in spec.vocabularies.values() for t in v.terms.values()}


def _by_id(items: Iterable[Any]) -> dict[str, Any]:
    return {item.id: item for item in items}


def _accepted(spec: Spec) -> dict[str, Any]:
    # An acceptance is known by what it accepts: its check and its offenders.
    return {f"{a.check}: {', '.join(a.offenders)}": a for a in spec.accepted}


def diff_specs(old: Spec, new: Spec, explore_pairs: bool = False) -> SpecDiff:
    """Every difference between two loaded specs, in the spec's section order."""
    header_old = {"id": old.id, "title": old.title, "scope": " ".join(old.scope.split())}
    header_new = {"id": new.id, "title": new.title, "scope": " ".join(new.scope.split())}
    changes = _compare("header", {"spec": header_old}, {"spec": header_new}, dict)
    plain = _fields
    sections: list[tuple[str, Mapping[str, Any], Mapping[str, Any]]] = [
        ("sources", old.sources, new.sources),
        ("parameters", old.parameters, new.parameters),
        ("services", old.services, new.services),
        ("states", old.states, new.states),
        ("reasons", old.reasons, new.reasons),
        ("display", {"display": old.display}, {"display": new.display}),
        ("initial", old.initial, new.initial),
        ("events", old.events, new.events),
        ("readings", old.readings, new.readings),
        ("timers", old.timers, new.timers),
        ("unserved", old.unserved, new.unserved),
        ("transitions", _by_id(old.transitions), _by_id(new.transitions)),
        ("invariants", _by_id(old.invariants), _by_id(new.invariants)),
        ("state_pairs", old.state_pairs, new.state_pairs),
        ("assumptions", old.assumptions, new.assumptions),
        ("accepted", _accepted(old), _accepted(new)),
        ("vocabulary terms", _terms(old), _terms(new)),
    ]
    for section, a, b in sections:
        changes += _compare(section, a, b, plain)
    # A vocabulary's own fields (its sources and codes); its terms are compared above.
    changes += _compare(
        "vocabularies", old.vocabularies, new.vocabularies, lambda v: _fields(v, ("terms",))
    )
    if explore_pairs:
        # Imported here: the explorer is heavy, and only `--explore` needs it.
        from hasm.explorer.explore import explore  # noqa: PLC0415

        pairs_old: frozenset[Pair] = frozenset(explore(old).pairs)
        pairs_new: frozenset[Pair] = frozenset(explore(new).pairs)
        how = "reachable in the exhaustive exploration (hasm.explorer.explore)"
    else:
        pairs_old, pairs_new = frozenset(reachable_pairs(old)), frozenset(reachable_pairs(new))
        how = "statically reachable (hasm lint's analysis: guards only, an over-approximation)"
    return SpecDiff(
        old.path,
        new.path,
        tuple(changes),
        how,
        tuple(sorted(pairs_old - pairs_new)),
        tuple(sorted(pairs_new - pairs_old)),
    )


# -- reports ---------------------------------------------------------------------------------------
def render_text(d: SpecDiff, old_name: str, new_name: str) -> list[str]:
    """The diff for a terminal or a review comment: one block per section."""
    if d.equal:
        return [f"{old_name} and {new_name} are equal"]
    lines = [f"--- {old_name}", f"+++ {new_name}"]
    section = None
    for c in d.changes:
        if c.section != section:
            section = c.section
            lines.append(f"{section}:")
        sign = {"added": "+", "removed": "-", "changed": "~"}[c.kind]
        lines.append(f"  {sign} {c.kind} {c.id}")
        lines += [f"      {name}: {old} -> {new}" for name, old, new in c.fields]
    if d.pairs_only_old or d.pairs_only_new:
        lines.append(f"state pairs {d.pairs_how}:")
        lines += [f"  - only in {old_name}: {a}/{b}" for a, b in d.pairs_only_old]
        lines += [f"  + only in {new_name}: {a}/{b}" for a, b in d.pairs_only_new]
    counts = {k: sum(1 for c in d.changes if c.kind == k) for k in ("added", "removed", "changed")}
    lines.append(
        f"{counts['added']} added, {counts['removed']} removed, {counts['changed']} changed; "
        f"{len(d.pairs_only_old) + len(d.pairs_only_new)} state pair(s) reachable in only one"
    )
    return lines


def render_json(d: SpecDiff, old_name: str, new_name: str) -> str:
    doc = {
        "old": old_name,
        "new": new_name,
        "equal": d.equal,
        "changes": [
            {
                "section": c.section,
                "kind": c.kind,
                "id": c.id,
                "fields": [{"field": f, "old": o, "new": n} for f, o, n in c.fields],
            }
            for c in d.changes
        ],
        "state_pairs": {
            "how": d.pairs_how,
            "only_old": [list(p) for p in d.pairs_only_old],
            "only_new": [list(p) for p in d.pairs_only_new],
        },
    }
    return json.dumps(doc, indent=2)
