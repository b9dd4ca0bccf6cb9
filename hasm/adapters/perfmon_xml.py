"""PerfMon SOAP responses (format `perfmon-xml`): `perfmonCollectCounterData` replies, as a
polling script saves them - each response after a time line, or with its HTTP headers (whose
`Date:` dates it), or both:

    2021-05-13T02:48:48Z
    <soapenv:Envelope ...><soapenv:Body><ns1:perfmonCollectCounterDataResponse>
      <ns1:perfmonCollectCounterDataReturn>
        <ns1:Name>\\\\imp1.example.net\\Cisco Server Recovery Manager\\SRMState</ns1:Name>
        <ns1:Value>3</ns1:Value><ns1:CStatus>1</ns1:CStatus>
      </ns1:perfmonCollectCounterDataReturn> ...

A response is one reading of the nodes whose SRMState it carries (any namespace prefix);
other counters are ignored. CStatus 0 or 1 is a valid sample (PerfMon's "valid data" and "new
data"); any other is an invalid sample, reported and not observed. A response without a time
is unreadable: the reply itself carries none.

The XML is untrusted: a response with a DTD or an entity declaration is refused unparsed (no
entity is ever expanded), and ElementTree parses the rest.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

from hasm.adapters.base import (
    MAX_XML_LINE,
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
from hasm.adapters.rtmt_csv import srm_state
from hasm.adapters.times import BadTime, TimeRead, checked, read_time

__all__ = ["VOCABULARY", "parse"]

VOCABULARY = "rtmt"

_COUNTER = re.compile(
    r"\\\\(?P<host>[^\\]+)\\Cisco Server Recovery Manager(?:\([^)]*\))?\\SRMState", re.IGNORECASE
)
_HTTP_STATUS = re.compile(r"HTTP/\d(?:\.\d)?\s+\d{3}\b.*")
_HTTP_HEADER = re.compile(r"(?P<name>[A-Za-z][A-Za-z0-9-]*):\s*(?P<value>.*)")
_DECLARATION = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_ITEM_START = re.compile(r"<(?:[\w.-]+:)?perfmonCollectCounterDataReturn\b")
_VALID = {"0", "1"}


@dataclass
class _Response:
    first: int  # the line its time or headers start at
    time: TimeRead | None = None
    time_line: int = 0
    date: TimeRead | None = None  # from the HTTP Date header
    lines: list[Line] = field(default_factory=list)  # the XML's lines
    in_headers: bool = False


def parse(file: str, data: bytes, options: Options, words: Words) -> Parsed:
    out = Collector(file)
    responses: list[_Response] = []
    current: _Response | None = None
    for line in text_lines(file, data, out, MAX_XML_LINE):  # a response may be one line
        text = line.text.strip()
        in_xml = current is not None and bool(current.lines)
        if not in_xml or not text.startswith("<"):
            try:
                read = read_time(text, options.tz, options.tz_given) if text else None
            except BadTime as exc:
                out.bad(line.number, str(exc))
                continue
            if read is not None:
                current = _Response(line.number, read, line.number)
                responses.append(current)
                continue
            if _HTTP_STATUS.fullmatch(text):
                if current is None or current.lines or current.in_headers:
                    current = _Response(line.number)
                    responses.append(current)
                current.in_headers = True
                continue
        if current is not None and current.in_headers:
            if not text:
                current.in_headers = False  # the blank line that ends HTTP headers
                continue
            header = _HTTP_HEADER.fullmatch(text)
            if header is not None:
                if header["name"].lower() == "date":
                    current.date = _http_date(header["value"], line.number, out)
                continue
            current.in_headers = False
        if not text:
            continue
        if current is None:
            current = _Response(line.number)
            responses.append(current)
        current.lines.append(line)
    for response in responses:
        _response(file, response, words, out)
    return out.parsed()


def _http_date(value: str, number: int, out: Collector) -> TimeRead | None:
    shown = value.strip()[:60]
    try:
        at = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        out.bad(number, f"HTTP Date {shown!r} is not a date")
        return None
    if at.tzinfo is None:
        out.bad(number, f"HTTP Date {shown!r} has no time zone")
        return None
    try:
        return checked(TimeRead(at, ""), shown)
    except BadTime as exc:
        out.bad(number, f"HTTP Date: {exc}")
        return None


def _response(file: str, response: _Response, words: Words, out: Collector) -> None:
    if not response.lines:
        out.bad(response.first, "a time or HTTP headers with no response after them")
        return
    start = response.lines[0].number
    text = "\n".join(line.text for line in response.lines)
    declaration = _DECLARATION.search(text)
    if declaration is not None:
        at = response.lines[text.count("\n", 0, declaration.start())].number
        out.bad(at, "a DTD or entity declaration: refused, the input is untrusted")
        return
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        row = exc.position[0] if exc.position else 1
        at = response.lines[min(max(row, 1), len(response.lines)) - 1].number
        out.bad(at, f"not well-formed XML: {str(exc).split(':')[0]}")
        return
    except ValueError as exc:  # expat refuses some declared encodings of a str
        out.bad(start, f"not usable XML: {exc}")
        return
    when = _when(file, response, out)
    items = [e for e in root.iter() if _local(e.tag) == "perfmonCollectCounterDataReturn"]
    item_lines = _item_lines(response.lines, text)
    seen: list[tuple[str, Seen]] = []
    for i, item in enumerate(items):
        number = item_lines[i] if i < len(item_lines) else start
        fields = {_local(child.tag): (child.text or "").strip() for child in item}
        match = _COUNTER.fullmatch(fields.get("Name", ""))
        if match is None:
            continue  # another counter
        status = fields.get("CStatus")
        if status is not None and status not in _VALID:
            out.bad(number, f"CStatus {status!r}: an invalid sample of {match['host']}")
            continue
        try:
            seen.append((match["host"], Seen(srm_state(fields.get("Value", ""), words))))
        except ValueError as exc:
            out.bad(number, f"{match['host']}: {exc}")
    if not items:
        out.bad(start, "no perfmonCollectCounterDataReturn in the response")
        return
    if when is None or not seen:
        if when is None and seen:
            out.bad(start, "a response with no time line before it and no HTTP Date header")
        return
    origin_line = item_lines[0] if item_lines else start
    out.readings.append(Reading(when.at, tuple(seen), Origin(file, origin_line)))


def _when(file: str, response: _Response, out: Collector) -> TimeRead | None:
    if response.time is not None:
        if response.date is not None and response.date.at != response.time.at:
            out.say(f"{file}: times from the time lines (the HTTP Date headers differ)")
        else:
            out.say(f"{file}: times from the time lines before each response")
        return response.time
    if response.date is not None:
        out.say(f"{file}: times from the HTTP Date headers")
        return response.date
    return None


def _item_lines(lines: list[Line], text: str) -> list[int]:
    """The input line of each item's start tag, in document order."""
    return [lines[text.count("\n", 0, m.start())].number for m in _ITEM_START.finditer(text)]


def _local(tag: object) -> str:
    name = tag if isinstance(tag, str) else ""
    return name.rsplit("}", 1)[-1]
