"""Running the spec: seeded single runs on the virtual clock, scenario files, and the spec
compiled into a live `transitions` machine."""
