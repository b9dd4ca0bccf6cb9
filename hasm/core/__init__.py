"""The one semantics: configurations and inputs as small immutable values, and the pure step and
time-advance functions over them that every other part of hasm runs on."""
