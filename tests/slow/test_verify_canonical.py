"""`hasm verify`'s explorations of the canonical spec: it verifies in every variant, and a variant
within another is covered by it, not explored again (about 15 s each)."""

from __future__ import annotations

from hasm.explorer.explore import explore, variants
from hasm.spec.model import Spec


def test_the_canonical_spec_verifies_in_every_variant(spec: Spec) -> None:
    found = explore(spec, jobs=2)
    assert found.ok, "\n".join(str(c.violation) for c in found.violations)
    assert len(found.variants) == len(variants(spec))
    assert {"P1", "P2", "P3", "P4", "P12", "P15", "P16", "P17"} <= found.documented


def test_a_variant_within_another_is_not_explored_again(spec: Spec) -> None:
    """Without `database` monitored, the explorer stops only services the default set watches
    alike, so every run is a run of the default variant: it is covered, not explored - and
    exploring it alone finds nothing the default variant does not."""
    fixed = {"enable_automatic_fallback": False}
    both = explore(spec, fixed)
    wide, narrow = both.variants
    assert "database" in wide.variant.monitored and "database" not in narrow.variant.monitored
    assert (wide.within, narrow.within) == (None, 0)
    assert narrow.states == 0 and both.states == wide.states
    alone = explore(spec, fixed, monitored=narrow.variant.monitored)
    (explored,) = alone.variants
    assert alone.ok and explored.states > 0
    assert explored.pairs <= wide.pairs
    assert alone.pair_edges <= both.pair_edges
    assert alone.shown_pairs <= both.shown_pairs
