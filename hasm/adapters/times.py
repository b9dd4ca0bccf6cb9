"""Wall-clock times as the tools print them, read strictly: the output of `date`, ISO 8601
(with `T` or a space, `.` or `,` before the fraction), and PDH's `MM/DD/YYYY hh:mm:ss.fff`.

A time with a zone keeps it; a time without one takes the zone the caller gives (`--tz`,
default UTC). A zone name other than UTC/GMT/Z is ambiguous (EST is three zones): it is read as
`--tz` only when `--tz` was given, and is otherwise a reason the line is unreadable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "BadTime",
    "TimeRead",
    "checked",
    "format_start",
    "parse_tz",
    "read_time",
    "split_prefix",
]

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}
_UTC_NAMES = {"Z", "UTC", "GMT", "UT"}
_ZONE = r"(?P<zone>Z|[+-]\d\d:?\d\d|[A-Za-z]{1,5})"
_ISO = re.compile(
    r"(?P<y>\d{4})-(?P<mo>\d\d)-(?P<d>\d\d)[T ](?P<h>\d\d):(?P<mi>\d\d):(?P<s>\d\d)"
    rf"(?:[.,](?P<f>\d{{1,6}}))?(?:\s*{_ZONE})?"
)
_DATE = re.compile(  # `date`: Thu May 13 02:48:48 UTC 2021 (the zone may be missing)
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s+(?P<mon>[A-Z][a-z]{2})\s+(?P<d>\d{1,2})\s+"
    rf"(?P<h>\d\d):(?P<mi>\d\d):(?P<s>\d\d)(?:\s+{_ZONE})?\s+(?P<y>\d{{4}})"
)
_PDH = re.compile(
    r"(?P<mo>\d\d)/(?P<d>\d\d)/(?P<y>\d{4}) (?P<h>\d\d):(?P<mi>\d\d):(?P<s>\d\d)(?:\.(?P<f>\d{1,6}))?"
)
_SHAPES = (_ISO, _DATE, _PDH)
_PREFIX = re.compile(r"\[(?P<time>[^\]]{10,40})\]\s?")


class BadTime(ValueError):
    """Text that has the shape of a time but is not one (a 13th month, an ambiguous zone)."""


@dataclass(frozen=True, slots=True)
class TimeRead:
    """A time read, and how its zone was settled (for the import's report)."""

    at: datetime
    zone: str  # "" when the text gave it, else how --tz was used


def parse_tz(text: str) -> tzinfo:
    """`--tz`: UTC, an offset like +05:30 or -0400, or an IANA zone name like Europe/Paris."""
    if text.upper() in _UTC_NAMES:
        return UTC
    offset = _offset(text)
    if offset is not None:
        return offset
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadTime(
            f"unknown time zone {text!r}: give UTC, an offset like +05:30, or a zone like "
            "Europe/Paris"
        ) from exc


def read_time(text: str, tz: tzinfo, tz_given: bool) -> TimeRead | None:
    """The time that is all of `text` (white space around it aside), None when `text` is not
    a time; BadTime when it has a time's shape but is not one."""
    stripped = text.strip()
    for shape in _SHAPES:
        match = shape.fullmatch(stripped)
        if match is not None:
            return _build(match, tz, tz_given)
    return None


def split_prefix(text: str, tz: tzinfo, tz_given: bool) -> tuple[TimeRead, str] | None:
    """A `[2021-05-13 02:48:48]` prefix's time and the rest of the line, or None."""
    match = _PREFIX.match(text)
    if match is None:
        return None
    read = read_time(match["time"], tz, tz_given)
    return None if read is None else (read, text[match.end() :])


def format_start(at: datetime) -> str:
    """ISO 8601 with the offset, `Z` for UTC; milliseconds unless finer digits are there."""
    spec = "milliseconds" if at.microsecond % 1000 == 0 else "microseconds"
    text = at.isoformat(timespec=spec)
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _build(match: re.Match[str], tz: tzinfo, tz_given: bool) -> TimeRead:
    # Times are compared and subtracted in UTC: one the calendar cannot hold there is bad.
    return checked(_zoned(match, tz, tz_given), match.group(0))


def checked(read: TimeRead, text: str) -> TimeRead:
    """`read` (of `text`, for the message) if it is a time the calendar holds in UTC."""
    try:
        read.at.astimezone(UTC)
    except (OverflowError, ValueError):
        raise BadTime(f"{text!r} is outside the calendar in UTC") from None
    return read


def _zoned(match: re.Match[str], tz: tzinfo, tz_given: bool) -> TimeRead:
    parts = match.groupdict()
    month = _MONTHS.get(parts["mon"], 0) if parts.get("mon") else int(parts["mo"])
    fraction = (parts.get("f") or "").ljust(6, "0")
    try:
        naive = datetime(
            int(parts["y"]),
            month,
            int(parts["d"]),
            int(parts["h"]),
            int(parts["mi"]),
            int(parts["s"]),
            int(fraction or 0),
        )
    except ValueError as exc:
        raise BadTime(f"{match.group(0)!r} is not a valid time: {exc}") from None
    zone = parts.get("zone")
    if zone is None:
        return TimeRead(_localise(naive, tz), "times without a zone are read in --tz")
    if zone.upper() in _UTC_NAMES:
        return TimeRead(naive.replace(tzinfo=UTC), "")
    offset = _offset(zone)
    if offset is not None:
        return TimeRead(naive.replace(tzinfo=offset), "")
    if tz_given:
        return TimeRead(_localise(naive, tz), f"zone {zone} is read as --tz")
    raise BadTime(f"time zone {zone!r} is ambiguous: give --tz (an offset or a zone name)")


def _localise(naive: datetime, tz: tzinfo) -> datetime:
    # fold=0: a time that a clock shows twice (the hour that daylight saving repeats) is read
    # as the first; the rarity is acceptable, and it is the documented choice of zoneinfo.
    return naive.replace(tzinfo=tz)


def _offset(text: str) -> timezone | None:
    match = re.fullmatch(r"([+-])(\d\d):?(\d\d)", text)
    if match is None:
        return None
    hours, minutes = int(match[2]), int(match[3])
    if hours > 23 or minutes > 59:
        return None
    sign = 1 if match[1] == "+" else -1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))
