"""The overview diagram as graphviz lays it out: no label on another label or on a state's box,
and one screen wide at 100% - measured on `dot -Tjson`'s own coordinates, not on the picture."""

from __future__ import annotations

import itertools
import json
import subprocess
from typing import Any

from hasm.review.diagram import overview, to_dot
from hasm.spec.model import Spec
from tests.conftest import needs_dot

Box = tuple[str, float, float, float, float]  # what, left, bottom, right, top (points)

# 1 pt = 4/3 px at 100% (96 px an inch, 72 pt).
PX = 4 / 3
MAX_WIDTH_PX = 1600


def layout(dot_source: str) -> dict[str, Any]:
    done = subprocess.run(
        ["dot", "-Tjson"], input=dot_source.encode(), capture_output=True, check=True
    )
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def text_boxes(what: str, thing: dict[str, Any]) -> list[Box]:
    """Each label drawn for `thing` (a label, an xlabel, a head or tail label), as the box of
    its lines: each line its em box, from a fifth of the font size below the baseline to four
    fifths above it, as wide as graphviz measured the text."""
    boxes = []
    for key, ops in sorted(thing.items()):
        if not key.endswith("ldraw_"):
            continue
        size, xs, ys = 14.0, [], []
        for op in ops:
            if op["op"] == "F":
                size = float(op["size"])
            elif op["op"] == "T":
                x, y = op["pt"]
                width = float(op["width"])
                left = {"c": x - width / 2, "l": x, "r": x - width}[op["align"]]
                xs += [left, left + width]
                ys += [y - 0.2 * size, y + 0.8 * size]
        if xs:
            boxes.append((f"label of {what}", min(xs), min(ys), max(xs), max(ys)))
    return boxes


def boxes(graph: dict[str, Any]) -> list[Box]:
    """Every node's box, and every label's: the graph's title, the clusters', the edges'."""
    out = text_boxes("the graph", graph)
    names = {}
    for obj in graph.get("objects", []):
        if "nodes" in obj or str(obj["name"]).startswith("cluster"):
            out += text_boxes(obj["name"], obj)  # a cluster: its label; its box holds nodes
            continue
        names[obj["_gvid"]] = obj["name"]
        x, y = (float(v) for v in obj["pos"].split(","))
        half_w, half_h = float(obj["width"]) * 36, float(obj["height"]) * 36  # inches
        out.append((f"node {obj['name']}", x - half_w, y - half_h, x + half_w, y + half_h))
    for edge in graph.get("edges", []):
        out += text_boxes(f"{names[edge['tail']]} -> {names[edge['head']]}", edge)
    return out


def overlapping(found: list[Box]) -> list[tuple[str, str]]:
    return [
        (a[0], b[0])
        for a, b in itertools.combinations(found, 2)
        if min(a[3], b[3]) > max(a[1], b[1]) and min(a[4], b[4]) > max(a[2], b[2])
    ]


def test_overlapping_boxes_are_found() -> None:
    # The check itself: two boxes that share an area overlap, two that only touch do not.
    a, b = ("a", 0.0, 0.0, 10.0, 10.0), ("b", 9.0, 9.0, 20.0, 20.0)
    c = ("c", 10.0, 0.0, 20.0, 8.0)
    assert overlapping([a, b, c]) == [("a", "b")]


@needs_dot
def test_the_measure_finds_the_overlaps_of_plain_edge_labels(spec: Spec) -> None:
    # The overview as it was drawn before: edge labels as plain `label`s, ranked like nodes,
    # closer together. Some of them land on each other or on a state, and the measure says so.
    source = to_dot(overview(spec)).replace("xlabel=", "label=")
    source = source.replace("forcelabels=true ", "").replace("nodesep=0.54", "nodesep=0.25")
    source = source.replace("ranksep=1.2", "ranksep=0.45")
    found = overlapping(boxes(layout(source)))
    assert found
    assert any(a.startswith("node ") or b.startswith("node ") for a, b in found)


@needs_dot
def test_the_overview_has_no_overlapping_labels_and_fits_one_screen(spec: Spec) -> None:
    graph = layout(to_dot(overview(spec)))
    found = boxes(graph)
    labels = [b for b in found if b[0].startswith("label of") and "->" in b[0]]
    assert len(labels) == len(overview(spec).edges), "every edge's label is drawn"
    assert overlapping(found) == []
    left, _, right, _ = (float(v) for v in graph["bb"].split(","))
    width_px = (right - left) * PX
    # The layout's own width: the SVG is this wide at 100%, not scaled down by `size`.
    assert width_px <= MAX_WIDTH_PX, width_px
