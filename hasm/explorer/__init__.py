"""Exhaustive verification: the spec's finite abstraction explored breadth first, every
invariant checked, shortest counterexamples written as traces."""
