"""`hasm version` (and `hasm --version`): which hasm, which spec, which Python."""

from __future__ import annotations

import argparse
import json
import platform
from importlib.metadata import PackageNotFoundError, version

from hasm.cli.common import EXIT_OK, add_spec, spec_of

__all__ = ["hasm_version", "register"]


def hasm_version() -> str:
    """The installed package's version (pyproject's), the one home of hasm's version."""
    try:
        return version("hasm")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def cmd_version(args: argparse.Namespace) -> int:
    spec = spec_of(args)
    about = {
        "hasm": hasm_version(),
        "python": platform.python_version(),
        "spec": {"id": spec.id, "file": str(spec.path), "title": spec.title},
    }
    print(json.dumps(about, indent=2))
    return EXIT_OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    about = sub.add_parser(
        "version", help="print hasm's version, the spec's id and file, and Python's, as JSON"
    )
    add_spec(about)
    about.set_defaults(run=cmd_version)
