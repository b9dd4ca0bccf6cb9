"""Adapters: what real IM and Presence clusters print, turned into hasm traces.

`import_files(format, paths, ...)` reads files of one format - `ha-status` (`utils ha status`
transcripts), `rtmt-csv` (RTMT / PerfMon CSV of SRMState), `perfmon-xml` (PerfMon SOAP
responses), `syslog` (UC_SRM alarms), `srm-log` (SRM log lines through a pattern table) - and
returns an `ImportResult`: the trace's header and records, every line it could not read
(located, with why), and what it read but did not use. Each record carries its origin,
`"source": "FILE:LINE"`. Nothing read is executed; the same input gives the same bytes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from hasm.adapters import ha_status, perfmon_xml, rtmt_csv, srm_log, syslog
from hasm.adapters.base import AdapterError, Note, Options, Parsed, Unreadable, Words
from hasm.adapters.building import ImportResult, build
from hasm.errors import Problem
from hasm.spec.loader import load_spec
from hasm.spec.model import ParamValue, Spec
from hasm.spec.params import resolve_params

__all__ = [
    "FORMATS",
    "AdapterError",
    "ImportResult",
    "Note",
    "Options",
    "Unreadable",
    "import_files",
]

_Parser = Callable[[str, bytes, Options, Words], Parsed]

# format -> (the vocabulary its state words are in, its parser)
FORMATS: Mapping[str, tuple[str, _Parser]] = {
    "ha-status": (ha_status.VOCABULARY, ha_status.parse),
    "rtmt-csv": (rtmt_csv.VOCABULARY, rtmt_csv.parse),
    "perfmon-xml": (perfmon_xml.VOCABULARY, perfmon_xml.parse),
    "syslog": (syslog.VOCABULARY, syslog.parse),
    "srm-log": (srm_log.VOCABULARY, srm_log.parse),
}
_MAX_FILE = 256 << 20  # bytes: a transcript or log of more is read in parts, not at once


def import_files(
    format: str,
    paths: Sequence[str | Path],
    *,
    nodes: Sequence[str] | None = None,
    group: str | None = None,
    params: Mapping[str, ParamValue] | None = None,
    hidden_faults: int = 1,
    strict: bool = False,
    options: Options | None = None,
    spec: Spec | None = None,
) -> ImportResult:
    """The trace of `paths`, files of `format`. AdapterError (an InputError, exit 2) when
    nothing sensible can be made of them; with `strict`, also when any line is unreadable."""
    if format not in FORMATS:
        raise AdapterError(
            Problem(
                "(import)",
                None,
                "FORMAT",
                f"unknown format {format!r}; use one of {', '.join(FORMATS)}",
            )
        )
    if not paths:
        raise AdapterError(Problem("(import)", None, "FILE", "no file to import"))
    spec = spec or load_spec()
    options = options or Options()
    if group is not None:
        options = dataclasses.replace(options, group=group)
    if nodes is not None:
        options = dataclasses.replace(options, nodes=tuple(nodes))
    if nodes is not None and (len(nodes) != 2 or nodes[0] == nodes[1] or not all(nodes)):
        raise AdapterError(
            Problem("(import)", None, "--nodes", f"two distinct node names, not {list(nodes)}")
        )
    if hidden_faults < 0:
        raise AdapterError(Problem("(import)", None, "--hidden-faults", "a count >= 0"))
    overrides = dict(params or {})
    resolve_params(spec, overrides, file="(import)", path="--param")  # checked early
    vocabulary, parser = FORMATS[format]
    words = Words(spec, vocabulary)
    files = [str(p) for p in paths]
    parsed = []
    for file in files:
        data = _read(file)
        parsed.append(parser(file, data, options, words))
    unreadable = [u for p in parsed for u in p.unreadable]
    if strict and unreadable:
        raise AdapterError([u.problem() for u in unreadable])
    return build(
        parsed,
        files,
        vocabulary,
        nodes=nodes,
        group=options.group,
        params=overrides,
        hidden_faults=hidden_faults,
    )


def _read(file: str) -> bytes:
    try:
        with open(file, "rb") as handle:
            data = handle.read(_MAX_FILE + 1)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        why = getattr(exc, "strerror", None) or exc
        raise AdapterError(Problem(file, None, "", f"cannot read the file: {why}")) from exc
    if len(data) > _MAX_FILE:
        raise AdapterError(Problem(file, None, "", f"the file is larger than {_MAX_FILE} bytes"))
    return data
