"""The seed's stories as scenario files, shipped as hasm.specs.scenarios."""
