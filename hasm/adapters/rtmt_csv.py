"""RTMT / PerfMon CSV logs (format `rtmt-csv`) of the counter
`Cisco Server Recovery Manager\\SRMState`, as RTMT and PerfMon save them (PDH-CSV):

    "(PDH-CSV 4.0) (Coordinated Universal Time)(0)","\\\\imp1.example.net\\Cisco Server Recovery Manager\\SRMState",...
    "05/13/2021 02:48:48.244","3.000000",...

Each row with at least one SRMState sample is one reading of the nodes sampled; other
counters' columns are ignored, an empty cell is no sample. A value is the enum of S6 (0 Unknown
... 12 Down State), written as its name (vocabulary `rtmt`, the spec's `vocabularies.rtmt`
maps codes to names and names to states). The counter has no reason: none is observed.

The time zone is the header cell's bias (PDH writes minutes west of UTC, `(240)` for UTC-4);
without one, `--tz` (default UTC). The import says which.
"""

from __future__ import annotations

import csv
import re
from datetime import timedelta, timezone, tzinfo

from hasm.adapters.base import (
    MAX_CSV_LINE,
    Collector,
    Line,
    Options,
    Origin,
    Parsed,
    Reading,
    Seen,
    Words,
    text_lines,
)
from hasm.adapters.times import BadTime, read_time

__all__ = ["VOCABULARY", "parse", "srm_state"]

VOCABULARY = "rtmt"

_PDH_HEADER = re.compile(r"\(PDH-CSV [\d.]+\)\s*\((?P<zone>[^)]*)\)\s*\((?P<bias>-?\d+)\)")
_COUNTER = re.compile(
    r"\\\\(?P<host>[^\\]+)\\Cisco Server Recovery Manager(?:\([^)]*\))?\\SRMState", re.IGNORECASE
)


def srm_state(raw: str, words: Words) -> str:
    """The SRMState term for a sample as PerfMon writes it ("3.000000", "3"); ValueError with
    why when it is not a whole code the spec lists."""
    text = raw.strip()
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not value.is_integer() or not 0 <= value < len(words.codes):
        raise ValueError(f"{text!r} is not an SRMState code 0-{len(words.codes) - 1}")
    return words.codes[int(value)]


def parse(file: str, data: bytes, options: Options, words: Words) -> Parsed:
    out = Collector(file)
    columns: dict[int, str] | None = None  # column -> host, from the header row
    tz: tzinfo = options.tz
    for line in text_lines(file, data, out, MAX_CSV_LINE):  # a row of many counters is long
        if not line.text.strip():
            continue
        cells = _cells(line)
        if cells is None:
            out.bad(line.number, "not a CSV row")
            continue
        if columns is None:
            columns, tz = _header(file, line, cells, options, out)
            continue
        _row(file, line, cells, columns, tz, words, out)
    if columns is None:
        out.bad(1, "no header row: the file is empty")
    return out.parsed()


def _cells(line: Line) -> list[str] | None:
    try:
        rows = list(csv.reader([line.text], strict=True))
    except csv.Error:
        return None
    return rows[0] if rows else None


def _header(
    file: str, line: Line, cells: list[str], options: Options, out: Collector
) -> tuple[dict[int, str], tzinfo]:
    columns: dict[int, str] = {}
    for i, cell in enumerate(cells[1:], start=1):
        match = _COUNTER.fullmatch(cell.strip())
        if match is not None:
            columns[i] = match["host"]
    if not columns:
        out.bad(line.number, "the header names no Cisco Server Recovery Manager\\SRMState column")
    first = cells[0] if cells else ""
    pdh = _PDH_HEADER.search(first)
    if pdh is not None and abs(int(pdh["bias"])) < 24 * 60:
        # PDH's bias is minutes to add to local time to get UTC (as Windows' TIME_ZONE_INFORMATION).
        tz = timezone(-timedelta(minutes=int(pdh["bias"])))
        out.say(
            f"{file}: time zone {pdh['zone'] or 'unnamed'}, bias {pdh['bias']} min, from the header"
        )
        return columns, tz
    if pdh is not None:
        out.bad(line.number, f"the header's bias {pdh['bias']} is not minutes within a day")
    out.say(f"{file}: no time zone in the header: times are read in --tz ({options.tz})")
    return columns, options.tz


def _row(
    file: str,
    line: Line,
    cells: list[str],
    columns: dict[int, str],
    tz: tzinfo,
    words: Words,
    out: Collector,
) -> None:
    try:
        read = read_time(cells[0], tz, True) if cells else None
    except BadTime as exc:
        out.bad(line.number, str(exc))
        return
    if read is None:
        first = cells[0][:40] if cells else ""
        out.bad(line.number, f"the first cell {first!r} is not a time")
        return
    seen: list[tuple[str, Seen]] = []
    for column, host in columns.items():
        cell = cells[column] if column < len(cells) else ""
        if not cell.strip():
            continue  # no sample of this counter in this row
        try:
            seen.append((host, Seen(srm_state(cell, words))))
        except ValueError as exc:
            out.bad(line.number, f"column {column + 1} ({host}): {exc}")
            return
    if seen:
        out.readings.append(Reading(read.at, tuple(seen), Origin(file, line.number)))
