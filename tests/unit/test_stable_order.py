"""What the oracle tells follows an order of its candidates that no hash seed changes.

The oracle keeps its candidates in a frozenset, which iterates in hash order, and a
candidate's repr lists the frozensets inside it (stopped services, readings answered yes) in
hash order too. Reports, stories and the bounded search of when a record would have been
allowed go through `stable_order`, so the same trace is told the same way in every process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from hasm.core.config import Config, Node
from hasm.core.zones import Zone
from hasm.oracle.candidates import Candidate, stable_order

# Two services down and both readings answered yes: every frozenset in the candidates has two
# members, whose order in a repr depends on the seed.
_SCRIPT = """
import json
from hasm.oracle.candidates import stable_order, _spelled
from hasm.oracle.oracle import Oracle
from hasm.spec.loader import load_spec
oracle = Oracle(load_spec(), ["pub", "sub"], initial="normal", users={"a": "pub", "b": "sub"})
oracle.event(100, "service_stop", node="pub", service="presence_engine")
oracle.event(110, "service_stop", node="pub", service="xcp_router")
oracle.event(120, "service_stop", node="sub", service="xcp_router")
print(json.dumps([_spelled(c) for c in stable_order(oracle.candidates)]))
"""


def _told(seed: str) -> list[str]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, check=True
    )
    told: list[str] = json.loads(out.stdout)
    return told


@pytest.mark.slow  # one of the unit tests the quick loop leaves to `make test`
def test_the_order_is_the_same_under_every_hash_seed() -> None:
    first = _told("1")
    assert len(first) > 1
    assert all(_told(seed) == first for seed in ("2", "3", "4"))


def test_the_order_spells_frozensets_sorted() -> None:
    zone = Zone.zero(1)
    nodes = (Node("normal", "normal", stopped=frozenset({"b", "a"})), Node("normal", "normal"))
    later = Candidate(Config(0, True, True, nodes, (), ()), zone)
    nodes = (Node("normal", "normal", stopped=frozenset({"a", "c"})), Node("normal", "normal"))
    sooner = Candidate(Config(0, True, True, nodes, (), ()), zone)
    assert stable_order([later, sooner]) == stable_order({sooner, later}) == [later, sooner]
