"""The canonical specs, shipped inside the package as hasm.specs."""
