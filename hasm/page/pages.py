"""The two explorer pages: the state space to click through, and a checked trace to scrub."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hasm.core.model import Model
from hasm.page.data import MAX_RECORDS, explorer_data, spec_data, trace_data
from hasm.page.graph import Bounds, explore_page
from hasm.page.html import diagram_svg, page_html
from hasm.spec.model import Spec

__all__ = ["explorer_page", "trace_page"]


def explorer_page(model: Model, nodes: Sequence[str], bounds: Bounds, command: str) -> str:
    """The page to click through `model` from `bounds.initial`; `command` is the command line
    that makes it, shown where the embedded state space ends (with a larger bound)."""
    graph = explore_page(model, nodes, bounds)
    data = {
        "spec": spec_data(model.spec),
        "explorer": explorer_data(graph, command),
        "svg": diagram_svg(model.spec),
    }
    return page_html(f"hasm explorer: {model.spec.title}", data)


def trace_page(
    spec: Spec, path: Path, tolerance: float = 0.0, max_records: int = MAX_RECORDS
) -> str:
    """The page to scrub through the trace `path`, checked against `spec` as `hasm check` does
    (its first `max_records` records embedded, and the divergent one)."""
    data = {
        "spec": spec_data(spec),
        "trace": trace_data(spec, path, tolerance, max_records),
        "svg": diagram_svg(spec),
    }
    return page_html(f"hasm explorer: {path.name}", data)
