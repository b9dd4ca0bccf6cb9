"""The spec: its frozen model, the YAML loader with located errors, parameters, labels, guards
and the JSON Schemas. Everything here is about what the spec says, nothing about running it."""
