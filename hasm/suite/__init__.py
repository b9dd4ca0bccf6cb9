"""Conformance suites for other projects: trace files that exercise everything the spec says,
and spec mutation analysis that measures how much of the spec a suite tells apart."""
