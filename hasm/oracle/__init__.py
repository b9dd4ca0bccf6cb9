"""The conformance oracle: the set of configurations consistent with every record of a trace,
the first divergence explained, and trace files checked in parallel."""
