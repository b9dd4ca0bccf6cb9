"""The explorer page as one self-contained HTML file: the packaged script and style inlined,
the data as JSON, and the overview diagram's SVG; nothing loaded from anywhere else."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

from hasm.errors import DiagramError
from hasm.review.diagram import overview, render, to_dot
from hasm.spec.model import Spec

__all__ = ["diagram_svg", "page_html"]


def diagram_svg(spec: Spec) -> str | None:
    """The one-screen overview as inline SVG (each state's graphviz node titled by its id), or
    None when Debian's graphviz is not there to draw it."""
    try:
        svg = render(to_dot(overview(spec)), "svg").decode("utf-8")
    except DiagramError:
        return None
    # Inline SVG takes no XML prolog, doctype or comments (graphviz's version line among them).
    start = svg.index("<svg")
    return re.sub(r"<!--.*?-->", "", svg[start:], flags=re.DOTALL).strip()


def page_html(title: str, data: dict[str, Any]) -> str:
    """The page: `data` (JSON-ready, see hasm.page.data) read by the packaged script."""
    script = _asset("explorer.js")
    style = _asset("explorer.css")
    # sort_keys and fixed separators: the same data is the same bytes. `</` and `<!--` inside
    # a script element would end or confuse it, so they are escaped as JSON allows.
    payload = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    payload = payload.replace("</", "<\\/").replace("<!--", "<\\u0021--")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_escape(title)}</title>\n"
        f"<style>\n{style}</style>\n</head>\n<body>\n"
        '<div id="app"><p>This page needs JavaScript.</p></div>\n'
        f'<script id="hasm-data" type="application/json">{payload}</script>\n'
        f"<script>\n{script}</script>\n</body>\n</html>\n"
    )


def _asset(name: str) -> str:
    return resources.files("hasm.page").joinpath(name).read_text(encoding="utf-8")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
