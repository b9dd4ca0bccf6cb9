"""UC_SRM alarms from remote syslog (format `syslog`), as CUCM and IM&P send them:

    May 13 02:49:50 imp2 local7 2 : 123: imp2.example.net: May 13 2021 02:49:50.123 UTC :
      %UC_SRM-2-SRMFailover: %[FromNode=imp1.example.net][ToNode=imp2.example.net]
      [Reason=Critical Service Down][AppID=...][ClusterID=...][NodeID=imp2]: Cisco SRM is ...

(one line). Two alarms (S7) become observations:

- `SRMFailover` ("Cisco SRM is performing an automatic failover", FromNode, ToNode, Reason):
  FromNode `Failing Over` and ToNode `Taking Over`, with the alarm's Reason when the spec knows
  it. Assumption (domain.md section 7(a) steps 2-3, INFERRED there): SRM raises the alarm as
  it initiates the automatic failover, and the first thing the failover shows is the
  transition pair Failing Over / Taking Over, so at the alarm's time the page shows that
  pair. The spec's bounds on how long a transition lasts then judge the rest.
- `SRMFailed` ("Cisco Server Recovery Manager is in the failed state"): the raising node
  `Running in Failed Mode` (S7; the page's state of a failed SRM, S1).

Other UC_SRM and UC_PE alarms (UC_PE-2-PEPeerNodeFailure, ...) are read and listed as "read,
not used": they say something happened but not what the page shows. Any other line is
unreadable. The time is the embedded CUCM timestamp (with its year, milliseconds and zone);
a line with only the year-less syslog prefix takes the year from `--year`.
"""

from __future__ import annotations

import re
from datetime import datetime

from hasm.adapters.base import (
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
from hasm.adapters.times import BadTime, TimeRead, read_time

__all__ = ["VOCABULARY", "parse"]

VOCABULARY = "page"

_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_PREFIX = re.compile(
    r"(?:<\d{1,3}>)?(?P<mon>[A-Z][a-z]{2})\s+(?P<day>\d{1,2})\s+(?P<time>\d\d:\d\d:\d\d)\s+"
    r"(?P<host>\S+)\s+(?P<rest>.*)"
)
_EMBEDDED = re.compile(
    r"(?:(?P<fqdn>[A-Za-z0-9][\w.-]*):\s*)?(?P<mon>[A-Z][a-z]{2})\s+(?P<day>\d{1,2})\s+"
    r"(?P<year>\d{4})\s+(?P<time>\d\d:\d\d:\d\d(?:\.\d{1,6})?)\s*"
    r"(?P<zone>[A-Za-z]{1,5}|[+-]\d\d:?\d\d)?\s*:"
)
_ALARM = re.compile(
    r"%(?P<facility>[A-Z][A-Z0-9_]*)-(?P<severity>\d)-(?P<name>\w+)\s*:\s*"
    r"(?P<fields>%?(?:\[[^\]]*\])*)\s*:?\s*(?P<text>.*)"
)
_FIELD = re.compile(r"\[(?P<key>[^=\]]+)=(?P<value>[^\]]*)\]")
_READ_NOT_USED = ("UC_SRM", "UC_PE")


def parse(file: str, data: bytes, options: Options, words: Words) -> Parsed:
    out = Collector(file)
    for line in text_lines(file, data, out):
        if line.text.strip():
            _line(file, line, options, words, out)
    return out.parsed()


def _line(file: str, line: Line, options: Options, words: Words, out: Collector) -> None:
    prefix = _PREFIX.fullmatch(line.text.strip())
    if prefix is None:
        out.bad(line.number, "not a syslog line (no 'Mon DD hh:mm:ss host' prefix)")
        return
    alarm = _ALARM.search(prefix["rest"])
    if alarm is None:
        out.bad(line.number, "no %FACILITY-SEVERITY-NAME alarm in the line")
        return
    facility, name = alarm["facility"], alarm["name"]
    if facility not in _READ_NOT_USED:
        out.bad(
            line.number, f"alarm {facility}-{name} is not an alarm of SRM or the Presence Engine"
        )
        return
    embedded = _EMBEDDED.search(prefix["rest"][: alarm.start()])
    try:
        read = _time(prefix, embedded, options)
    except BadTime as exc:
        out.bad(line.number, str(exc))
        return
    if read is None:
        out.bad(
            line.number, "the syslog prefix has no year and there is no CUCM timestamp: give --year"
        )
        return
    if read.zone:
        out.say(f"{file}: {read.zone} ({options.tz})")
    fields = {m["key"].strip(): m["value"].strip() for m in _FIELD.finditer(alarm["fields"])}
    where = Origin(file, line.number)
    if facility == "UC_SRM" and name == "SRMFailover":
        _failover(where, read.at, fields, words, out)
    elif facility == "UC_SRM" and name == "SRMFailed":
        node = (embedded["fqdn"] if embedded is not None else None) or fields.get("NodeID")
        node = node or prefix["host"]
        out.readings.append(Reading(read.at, ((node, Seen("Running in Failed Mode")),), where))
    else:
        out.note(line.number, f"alarm {facility}-{alarm['severity']}-{name}", read.at)


def _failover(
    where: Origin, at: datetime, fields: dict[str, str], words: Words, out: Collector
) -> None:
    source, target = fields.get("FromNode"), fields.get("ToNode")
    if not source or not target or source == target:
        out.bad(where.line, "SRMFailover needs two distinct nodes, [FromNode=...] and [ToNode=...]")
        return
    reason = fields.get("Reason") or None
    if reason is not None and not words.knows_reason(reason):
        out.note(
            where.line,
            f"SRMFailover's reason {reason!r} is not a reason the spec knows: "
            "the states are observed without it",
            at,
        )
        reason = None
    seen = ((source, Seen("Failing Over", reason)), (target, Seen("Taking Over", reason)))
    out.readings.append(Reading(at, seen, where))


def _time(
    prefix: re.Match[str], embedded: re.Match[str] | None, options: Options
) -> TimeRead | None:
    if embedded is not None:
        month = _MONTHS.index(embedded["mon"]) + 1 if embedded["mon"] in _MONTHS else 0
        zone = f" {embedded['zone']}" if embedded["zone"] else ""
        text = f"{embedded['year']}-{month:02d}-{int(embedded['day']):02d} {embedded['time']}{zone}"
        return read_time(text, options.tz, options.tz_given)
    if options.year is None:
        return None
    month = _MONTHS.index(prefix["mon"]) + 1 if prefix["mon"] in _MONTHS else 0
    text = f"{options.year}-{month:02d}-{int(prefix['day']):02d} {prefix['time']}"
    return read_time(text, options.tz, options.tz_given)
