"""Shared fixtures: the canonical spec, loaded once per session (loading parses ~800 lines)."""

from __future__ import annotations

import pytest

from hasm.loader import load_spec
from hasm.model import Spec


@pytest.fixture(scope="session")
def canonical_spec() -> Spec:
    """The packaged canonical spec, specs/imp-ha.yaml, loaded and validated."""
    return load_spec()
