"""Reviewing and showing the spec: the review document, lint, semantic diff, diagrams and
timelines of runs. Each reads the spec (and runs of it) and writes something for a person."""
