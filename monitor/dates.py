"""Dates, times, zones and ranges as programs write them, found in one short text.

`find_dates(text, today)` returns each date the text names as a `DateMention`: its span, the day (the end of
a range, the last day of a month named without a day), the time and zone when stated, and what a reader
needs to judge it (was the year written, is it a whole month, does it recur every year).

The grammar, in pieces, each a small bounded pattern (no nested repetition, so no catastrophic backtracking):

- a *date core*: "7 June 2024", "June 7th, 2024", "the 10th of June", "Tuesday, June 4, 2019", "2025-03-01",
  "30/06/2021", a day range "1 to 30 September" / "March 1–15", a month with a year "October 2023" (never
  October 20: a day is never taken from inside a year), or a month alone after a preposition ("by April");
- two cores joined by "-", "to", "through", "until" or "between … and …" are one range, ending at the second;
- a *time* and a *zone* next to a core, after it ("June 7, 2024 11:59 PM (PST)", "(23:59, AoE)", "at noon BST")
  or before it ("11:59pm AoE on 7 June", "until 3pm Eastern, April 9, 2025", "12 noon, 18 August");
- a recurring date ("15 March each year", "annually on 1 May") is flagged: it never passes.

Zones are mapped explicitly to IANA zones, so daylight saving comes from the tz database; AoE is UTC−12.
A date without a year takes the year written elsewhere in the text, else its occurrence nearest `today`.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

__all__ = ["MAX_TEXT", "DateMention", "find_dates", "with_clock_nearby", "year_of"]

# Longer text is cut: a status text is a sentence or two, and every pattern below stays linear anyway.
MAX_TEXT = 2000
END_OF_DAY = time(23, 59, 59)


@dataclass(frozen=True)
class DateMention:
    start: int
    end: int  # span in the text given (tidied by the caller), time and zone included
    day: date  # the last day it names: a range's end, a month's last day
    clock: time | None  # None: no time stated (the end of the day is meant)
    zone: tzinfo
    zone_name: str  # an IANA name, "UTC-12 (AoE)", "UTC+2", or "UTC" when none is stated
    zone_stated: bool
    year_stated: bool
    month_only: bool = False
    first_day: date | None = None  # a range's first day
    recurring: bool = False

    @property
    def when(self) -> datetime:
        return datetime.combine(self.day, self.clock or END_OF_DAY).replace(tzinfo=self.zone)


_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4, "may": 5,
    "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9,
    "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}  # fmt: skip
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
          r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?")  # fmt: skip
_WEEKDAY = r"(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|rsday|urday)?\b\.?"
# A day of the month is never the start of a longer number ("2023" holds no day 20) nor of a time ("20:00").
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?(?!\d|:\d\d?(?!\d?\s*(?:noon|midday|midnight|[ap]\.?m\b)))"
# The end of a day range is never followed by a time: "from January 1 to 5:00 p.m. ... on January 31".
_DAY_END = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?(?![\d:.])"
_YEAR = r"(?:19|20)\d\d(?!\d)"
_RANGE_TO = r"\s*(?:-|–|—|to|until|till|through|thru)\s*"


def _core(sfx: str) -> str:
    """One date core; group names carry `sfx` so that two cores can sit in one pattern."""
    return (
        rf"(?:(?P<wd{sfx}>{_WEEKDAY},?\s+)?"
        rf"(?:(?P<iso{sfx}>{_YEAR}-[01]?\d-[0-3]?\d)(?![\d])"
        rf"|(?P<num{sfx}>(?<![\d.])\d{{1,2}}[/.]\d{{1,2}}[/.]{_YEAR})"
        rf"|(?P<md{sfx}>(?<![\d/.])(?:0?[1-9]|1[0-2])/(?:[12]\d|3[01]|0?[1-9]))(?![/\d])"
        rf"|(?:the\s+)?(?P<d1{sfx}>{_DAY})(?:{_RANGE_TO}(?:the\s+)?(?P<d2{sfx}>{_DAY_END}))?\.?\s+(?:of\s+)?"
        rf"(?P<m1{sfx}>{_MONTH})(?:,?\s+(?P<y1{sfx}>{_YEAR}))?"
        # "March, 29th": a comma after the month only before an ordinal day ("in March, 12 students" is no date).
        rf"|(?P<m2{sfx}>{_MONTH})(?:,\s*(?=\d{{1,2}}(?:st|nd|rd|th)\b)|\s+)(?:the\s+)?(?P<d3{sfx}>{_DAY})(?:{_RANGE_TO}(?P<d4{sfx}>{_DAY_END}))?"
        rf"(?:,?\s+(?P<y2{sfx}>{_YEAR}))?"
        rf"|(?P<m3{sfx}>{_MONTH}),?\s+(?P<y3{sfx}>{_YEAR})))"
    )


# A month alone is a date only after a word that introduces one ("by April", "end of May", "June–August").
_MONTH_ALONE = (
    r"(?:\b(?:by|in|until|till|before|through|end of|early|mid|late|from|to|and|during)\s+|(?<=[-–—:])\s*)"
    rf"(?P<m4>{_MONTH})(?![\s,.-]*\d)"
)
_CORE = re.compile(rf"\b{_core('')}|{_MONTH_ALONE}", re.I)
# "between Nov 1 and Dec 1", "from 1 September to 30 September", "Nov 1 - Dec 1, 2024", "June–August".
_JOIN = re.compile(r"\s*(?:-|–|—|to|until|till|through|thru|(?P<and>and))\s*$", re.I)
_BETWEEN = re.compile(r"\bbetween\s+$", re.I)

# "12:00 midnight" and "12 noon" are read by their word, so they come first.
_CLOCK = (
    r"(?:(?:12(?::00)?\s*)?(?P<noon>noon|midday)|(?:12(?::00)?\s*)?(?P<midnight>midnight)"
    r"|(?P<h>[01]?\d)(?:[:.](?P<m>[0-5]\d))?(?::[0-5]\d)?\s*(?P<ap>[ap])\.?\s?m\b\.?"
    r"|(?P<h24>[01]?\d|2[0-4])(?::|h|\.(?=[0-5]\d\s*(?:h|hrs|uhr|[a-z]{2,4}\b|\()))(?P<m24>[0-5]\d)(?::[0-5]\d)?"
    r"(?:\s*(?:hrs?|uhr|h)\b)?"
    r"|(?P<mil_h>[01]\d|2[0-3])(?P<mil_m>[0-5]\d)(?=\s*(?:hrs?|h|utc|gmt|aoe|[pmce][sd]?t|cet|cest|bst)\b)"
    r"|(?P<eod>eod|end of (?:the )?day)|(?P<cob>close of business|cob\b))"
)
_CITY_ZONES = {
    "berlin": "Europe/Berlin", "paris": "Europe/Paris", "amsterdam": "Europe/Amsterdam",
    "brussels": "Europe/Brussels", "zurich": "Europe/Zurich", "geneva": "Europe/Zurich", "vienna": "Europe/Vienna",
    "rome": "Europe/Rome", "madrid": "Europe/Madrid", "stockholm": "Europe/Stockholm", "oslo": "Europe/Oslo",
    "copenhagen": "Europe/Copenhagen", "prague": "Europe/Prague", "warsaw": "Europe/Warsaw",
    "london": "Europe/London", "uk": "Europe/London", "british": "Europe/London", "dublin": "Europe/Dublin",
    "irish": "Europe/Dublin", "lisbon": "Europe/Lisbon", "helsinki": "Europe/Helsinki", "athens": "Europe/Athens",
    "german": "Europe/Berlin", "french": "Europe/Paris", "dutch": "Europe/Amsterdam", "swiss": "Europe/Zurich",
    "new york": "America/New_York", "boston": "America/New_York", "washington": "America/New_York",
    "toronto": "America/Toronto", "chicago": "America/Chicago", "denver": "America/Denver",
    "san francisco": "America/Los_Angeles", "los angeles": "America/Los_Angeles", "seattle": "America/Los_Angeles",
    "vancouver": "America/Vancouver", "tokyo": "Asia/Tokyo", "japan": "Asia/Tokyo", "seoul": "Asia/Seoul",
    "korea": "Asia/Seoul", "singapore": "Asia/Singapore", "hong kong": "Asia/Hong_Kong", "beijing": "Asia/Shanghai",
    "china": "Asia/Shanghai", "sydney": "Australia/Sydney", "canberra": "Australia/Sydney",
    "melbourne": "Australia/Melbourne", "auckland": "Pacific/Auckland", "new zealand": "Pacific/Auckland",
    "india": "Asia/Kolkata", "indian": "Asia/Kolkata", "delhi": "Asia/Kolkata", "israel": "Asia/Jerusalem",
    "cape town": "Africa/Johannesburg", "nairobi": "Africa/Nairobi", "lagos": "Africa/Lagos",
    "sao paulo": "America/Sao_Paulo", "mexico city": "America/Mexico_City",
}  # fmt: skip
_ABBREVIATIONS = {
    ("pst", "pdt", "pt", "pacific"): "America/Los_Angeles",
    ("est", "edt", "et", "eastern", "us eastern"): "America/New_York",
    ("cst", "cdt", "ct", "central", "us central"): "America/Chicago",
    ("mst", "mdt", "mt", "mountain"): "America/Denver",
    ("akst", "akdt", "alaska"): "America/Anchorage",
    ("hst", "hawaii"): "Pacific/Honolulu",
    ("bst", "british summer", "uk"): "Europe/London",
    ("cet", "cest", "central european", "central european summer"): "Europe/Berlin",
    ("eet", "eest", "eastern european"): "Europe/Athens",
    ("wet", "west", "western european"): "Europe/Lisbon",
    ("ist", "india standard", "indian standard"): "Asia/Kolkata",
    ("jst", "japan standard"): "Asia/Tokyo",
    ("kst",): "Asia/Seoul",
    ("sgt",): "Asia/Singapore",
    ("hkt",): "Asia/Hong_Kong",
    ("aest", "aedt", "australian eastern"): "Australia/Sydney",
    ("nzst", "nzdt"): "Pacific/Auckland",
    ("msk",): "Europe/Moscow",
    ("sast",): "Africa/Johannesburg",
    ("eat",): "Africa/Nairobi",
    ("wat",): "Africa/Lagos",
    ("brt",): "America/Sao_Paulo",
}
_AOE = timezone(timedelta(hours=-12), "AoE")
_ZONES: dict[str, tuple[tzinfo, str]] = {
    "utc": (UTC, "UTC"), "gmt": (UTC, "UTC"), "z": (UTC, "UTC"), "coordinated universal": (UTC, "UTC"),
    "greenwich mean": (UTC, "UTC"), "aoe": (_AOE, "UTC-12 (AoE)"), "anywhere on earth": (_AOE, "UTC-12 (AoE)"),
    "anywhere in the world": (_AOE, "UTC-12 (AoE)"),
}  # fmt: skip
for _names, _iana in _ABBREVIATIONS.items():
    for _name in _names:
        _ZONES[_name] = (ZoneInfo(_iana), _iana)
for _name, _iana in _CITY_ZONES.items():
    _ZONES.setdefault(_name, (ZoneInfo(_iana), _iana))

_ABBREV_WORDS = sorted((n for names in _ABBREVIATIONS for n in names if " " not in n and len(n) <= 5), key=len)
_NAMED = sorted({n for names in _ABBREVIATIONS for n in names if len(n) > 5 or " " in n} | set(_CITY_ZONES), key=len)
_ZONE = (
    r"(?P<zone>(?:utc|gmt)\s*(?:[+\-−]\s*\d{1,2}(?::?[0-5]\d)?)?"
    r"|a\.?o\.?e\.?|anywhere on earth|anywhere in the world"
    r"|(?:coordinated universal|greenwich mean)(?: time)?"
    rf"|(?:{'|'.join(re.escape(n) for n in reversed(_NAMED))})(?:\s+(?:standard|daylight|summer|local))?\s+time"
    r"|(?:pacific|eastern|central|mountain)(?:\s+(?:standard|daylight))?(?:\s+time)?"
    rf"|(?:{'|'.join(reversed(_ABBREV_WORDS))}))\b"
)
# "12:00 (noon) CET", "12:00 noon (CET)", "11:59 pm (23:59) Eastern": the same time said again.
_AGAIN = (
    r"(?:\s*\((?:noon|midday|midnight|\d{1,2}(?:[:.]\d\d(?:\s*[ap]\.?m\.?)?|\s*[ap]\.?m\.?))\)"
    r"|\s+(?:noon|midday|midnight)\b|\s+(?:hours|hrs)\b)?"  # "24:00 hours (CET)"
)
# The same moment in a second zone, "23:59 EDT/03:59 UTC": the first one written is kept.
_ALSO = r"(?:\s*/\s*\d{1,2}(?:[:.]\d\d)?\s*(?:[ap]\.?m\.?)?\s*[a-z]{2,5}\b)?"
# A zone's name spelled out after its abbreviation: "CST (Central Standard Time)".
_SPELLED = r"(?:\s*\((?:[a-z]+\s+){0,3}time\))?"
# What may follow a date core: ", at 11:59 PM (PST)", " (23:59, AoE)", " by 6pm ET", " AoE".
_AFTER = re.compile(
    r"(?P<z>T(?P<th>[012]\d):(?P<tm>[0-5]\d)(?::[0-5]\d)?(?P<tz>Z|[+-]\d\d:?\d\d)?(?:\s*(?P<tzw>utc|gmt)\b)?)"
    rf"|(?:\s*[,:;]?\s*(?:\(\s*)?(?:at\s+|by\s+|before\s+|until\s+|@\s*)?(?P<clock>{_CLOCK}){_AGAIN})?"
    rf"(?:\s*,?\s*\(?\s*{_ZONE}\)?)?{_ALSO}",
    re.I,
)
# What may come right before a date core: "11:59pm AoE on ", "3pm Eastern, ", "12 noon, ".
_BEFORE = re.compile(
    rf"(?P<clock>{_CLOCK}){_AGAIN}(?:\s*,?\s*\(?{_ZONE}\)?{_SPELLED})?{_ALSO}\s*,?\s*(?:on\s+|of\s+)?$", re.I
)
# A time anywhere else in the clause: "July 15, 2024 Deadline for receipt of applications, 5PM PT".
_LOOSE = re.compile(rf"(?P<clock>{_CLOCK}){_AGAIN}(?:\s*,?\s*\(?{_ZONE}\)?{_SPELLED})?", re.I)
_BEFORE_WINDOW = 45
_RECURRING = re.compile(
    r"^[\s,]*(?:of\s+)?(?:each|every)\s+(?:year|month)\b|^[\s,]*annually\b|^[\s,]*yearly\b"
    r"|\b(?:each|every)\s+year\b[^.;]{0,12}$|\bannually\b[^.;]{0,16}$|\byearly\b[^.;]{0,16}$"
    rf"|\bevery\s+(?:{_MONTH}\s*,?\s*(?:and\s+|or\s+)?){{1,4}}$",
    re.I,
)
_MID = re.compile(r"\bmid[- ]?$", re.I)
_ANY_YEAR = re.compile(rf"\b{_YEAR}", re.I)
_YEAR_ALONE = re.compile(r"(?<![\d.,/-])\b(?:199\d|20\d\d)\b(?![.,/-]?\d)")
# Two dates with nothing but a dash, "to" or a table rule between them (their times included) are a range.
_GAP = re.compile(r"\s*(?:-|–|—|\||to|until|till|through|thru)?\s*$", re.I)


def year_of(text: str) -> int | None:
    """The first year written in `text` as part of a date (the context a yearless date takes its year from)."""
    for match in _CORE.finditer(text):
        year = _stated_year(match, "")
        if year is not None:
            return year
    return None


def find_dates(text: str, today: date) -> list[DateMention]:
    """Every date `text` names, in order; ranges joined, times and zones attached. Never raises."""
    text = text[:MAX_TEXT]
    matches = list(_CORE.finditer(text))
    context = next((y for y in (_stated_year(m, "") for m in matches) if y is not None), None)
    if context is None:
        # "GSoC 2020 ... until March 31": a year named elsewhere in the text is the year of its dates.
        alone = _YEAR_ALONE.search(text)
        context = int(alone.group(0)) if alone else None
    found: list[DateMention] = []
    index = 0
    while index < len(matches):
        match = matches[index]
        nxt = matches[index + 1] if index + 1 < len(matches) else None
        join = _JOIN.match(text, match.end(), nxt.start()) if nxt is not None else None
        floor = found[-1].end if found else 0
        if join and (not join.group("and") or _BETWEEN.search(text, max(0, match.start() - 12), match.start())):
            mention = _range(text, match, matches[index + 1], context, today, floor)
            index += 2
        else:
            mention = _single(text, match, context, today, floor)
            index += 1
        if mention is not None and mention.start >= floor:
            found.append(mention)
    return _in_order(_joined(text, found))


def _in_order(mentions: list[DateMention]) -> list[DateMention]:
    """Yearless dates read as one schedule: "Round A: 15 May | Round B: 2 June" puts 2 June after 15 May, in
    the same year, rather than each on its own occurrence nearest today."""
    out: list[DateMention] = []
    previous: date | None = None
    for mention in mentions:
        if not mention.year_stated and previous is not None and mention.day < previous:
            later = _day(mention.day.year + 1, mention.day.month, mention.day.day)
            if later is not None and later >= previous:
                first = mention.first_day
                mention = replace(mention, day=later, first_day=first.replace(year=first.year + 1) if first else None)
        if not mention.year_stated:
            previous = mention.day
        out.append(mention)
    return out


def _joined(text: str, mentions: list[DateMention]) -> list[DateMention]:
    """Dates with their times joined into ranges: "12:30 PDT March 24th, 2023 - 23:45 PDT March 26th, 2023",
    "| January 30 at 12:00pm GMT | January 31 at 12:00pm GMT |", and a struck-through date directly followed
    by its replacement ("June 10, 2015 June 17, 2015"). The range ends on the second."""
    out: list[DateMention] = []
    for mention in mentions:
        last = out[-1] if out else None
        if last is not None and last.first_day is None and _GAP.match(text, last.end, mention.start):
            mention = replace(mention, start=last.start, first_day=last.day)
            out[-1] = mention
        else:
            out.append(mention)
    return out


def _stated_year(match: re.Match[str], sfx: str) -> int | None:
    for name in ("y1", "y2", "y3"):
        if match.group(name + sfx):
            return int(match.group(name + sfx))
    for name in ("iso", "num"):
        raw = match.group(name + sfx)
        if raw:
            years = _ANY_YEAR.findall(raw)
            return int(years[-1]) if years else None
    return None


@dataclass(frozen=True)
class _Parts:
    year: int | None
    month: int
    day: int | None  # None: the whole month
    first: int | None = None  # a day range's first day


def _parts(match: re.Match[str]) -> _Parts | None:
    g = match.groupdict()
    if g["iso"]:
        y, m, d = (int(x) for x in g["iso"].split("-"))
        return _Parts(y, m, d)
    if g["num"]:
        a, b, y = (int(x) for x in re.split(r"[/.]", g["num"]))
        # 30/06/2021 and 06/30/2021 say which is which; 03/04/2021 is day first with dots, month first with slashes.
        if a > 12 or ("." in g["num"] and b <= 12):
            return _Parts(y, b, a)
        return _Parts(y, a, b)
    if g["md"]:
        if not g["wd"]:
            return None  # "11/29" is a date only after a weekday ("Wednesday 11/29"), else maybe a fraction
        m, d = (int(x) for x in g["md"].split("/"))
        return _Parts(None, m, d)
    year = _stated_year(match, "")
    if g["m1"]:
        first, last = _num(g["d1"]), _num(g["d2"]) if g["d2"] else None
        return _Parts(year, _month(g["m1"]), last or first, first if last else None)
    if g["m2"]:
        first, last = _num(g["d3"]), _num(g["d4"]) if g["d4"] else None
        return _Parts(year, _month(g["m2"]), last or first, first if last else None)
    month = g["m3"] or g["m4"]
    return _Parts(year, _month(month), None) if month else None


def _num(day: str) -> int:
    return int(re.sub(r"\D", "", day))


def _month(word: str) -> int:
    return _MONTHS[word.lower().rstrip(".")]


def _resolve(parts: _Parts, context: int | None, today: date) -> tuple[date, bool] | None:
    """The day `parts` name; for a yearless date the context year, else the occurrence nearest `today`."""
    if parts.year is not None or context is not None:
        day = _day(parts.year or context or today.year, parts.month, parts.day)
        return (day, True) if day is not None else None
    years = [context] if context else [today.year - 1, today.year, today.year + 1]
    days = [d for d in (_day(y, parts.month, parts.day) for y in years) if d is not None]
    if not days:
        return None
    return min(days, key=lambda d: abs((d - today).days)), False


def _day(year: int, month: int, day: int | None) -> date | None:
    if not 1 <= month <= 12:
        return None
    last = calendar.monthrange(year, month)[1]
    if day is None:
        return date(year, month, last)
    return date(year, month, day) if 1 <= day <= last else None


def _single(text: str, match: re.Match[str], context: int | None, today: date, floor: int) -> DateMention | None:
    parts = _parts(match)
    if parts is None:
        return None
    resolved = _resolve(parts, context, today)
    if resolved is None:
        return None
    day, stated = resolved
    first = _day(day.year, day.month, parts.first) if parts.first else None
    start = match.start("m4") if match.group("m4") else match.start()
    if parts.day is None and _MID.search(text, max(0, start - 5), start):
        day = day.replace(day=15)  # "mid January 2024" is taken as the 15th
    return _finish(text, start, match.end(), day, stated, parts.day is None, first, floor)


def _range(text: str, a: re.Match[str], b: re.Match[str], context: int | None, today: date,
           floor: int) -> DateMention | None:  # fmt: skip
    pa, pb = _parts(a), _parts(b)
    if pb is None:
        return _single(text, a, context, today, floor)
    end = _resolve(pb, context, today)
    if end is None or pa is None:
        return _single(text, b, context, today, floor)
    last, stated = end
    year = pa.year if pa.year is not None else (last.year if pa.month <= last.month else last.year - 1)
    first = _day(year, pa.month, pa.day if pa.day is not None else 1)
    start = a.start("m4") if a.group("m4") else a.start()
    between = _BETWEEN.search(text, max(0, start - 12), start)
    return _finish(text, between.start() if between else start, b.end(), last, stated, pb.day is None, first, floor)


def _finish(text: str, start: int, end: int, day: date, year_stated: bool, month_only: bool,
            first: date | None, floor: int) -> DateMention:  # fmt: skip
    clock: time | None = None
    zone_text: str | None = None
    after = _AFTER.match(text, end)
    if after and after.group("z"):
        clock = time(int(after.group("th")) % 24, int(after.group("tm")))
        zone_text = after.group("tz") or after.group("tzw")
        end = after.end()
    elif after and after.end() > end:
        clock = _clock(after) if after.group("clock") else None
        zone_text = after.group("zone")
        end = after.end()
    if clock is None:
        window = max(floor, start - _BEFORE_WINDOW)
        before = _BEFORE.search(text, window, start)
        if before:
            clock = _clock(before)
            zone_text = zone_text or before.group("zone")
            start = before.start()
    zone, zone_name, zone_stated = _zone(zone_text)
    recurring = bool(_RECURRING.search(text[end : end + 30]) or _RECURRING.search(text[max(0, start - 30) : start]))
    return DateMention(start, end, day, clock, zone, zone_name, zone_stated, year_stated, month_only, first,
                       recurring)  # fmt: skip


def _clock(match: re.Match[str]) -> time | None:
    g = match.groupdict()
    if g["ap"]:
        hour = int(g["h"]) % 12 + (12 if g["ap"].lower() == "p" else 0)
        return time(hour, int(g["m"] or 0))
    if g["h24"]:
        return time(int(g["h24"]) % 24, int(g["m24"])) if g["h24"] != "24" else END_OF_DAY
    if g["mil_h"]:
        return time(int(g["mil_h"]), int(g["mil_m"]))
    if g["noon"]:
        return time(12, 0)
    if g["cob"]:
        return time(17, 0)  # "close of business" is the end of office hours
    if g["midnight"] or g["eod"]:
        return END_OF_DAY  # "midnight on June 7" and "EOD June 7" mean the end of June 7
    return None


_OFFSET = re.compile(r"(?:utc|gmt)\s*([+\-−])\s*(\d{1,2})(?::?(\d{2}))?$")
_ZONE_SUFFIX = re.compile(r"\s+(?:(?:standard|daylight|summer|local)\s+)?time$|\s+(?:standard|daylight|summer)$")


def _zone(zone_text: str | None) -> tuple[tzinfo, str, bool]:
    if not zone_text:
        return UTC, "UTC", False
    key = " ".join(zone_text.lower().replace(".", "").split())
    if key in ("z",) or key.startswith(("+", "-")):
        if key == "z":
            return UTC, "UTC", True
        sign = -1 if key[0] == "-" else 1
        digits = key[1:].replace(":", "")
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        return timezone(sign * delta), f"UTC{key[0]}{int(digits[:2])}", True
    offset = _OFFSET.match(key)
    if offset:
        sign = "-" if offset.group(1) in "-−" else "+"
        delta = timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3) or 0))
        if delta <= timedelta(hours=14):
            label = f"UTC{sign}{int(offset.group(2))}" + (f":{offset.group(3)}" if offset.group(3) else "")
            return timezone(-delta if sign == "-" else delta, label), label, True
        return UTC, "UTC", False
    for candidate in (key, _ZONE_SUFFIX.sub("", key)):
        if candidate in _ZONES:
            zone, name = _ZONES[candidate]
            return zone, name, True
    return UTC, "UTC", False


def with_clock_nearby(text: str, mention: DateMention, start: int, end: int) -> DateMention:
    """`mention` with the time (and zone) written elsewhere in text[start:end], when it states none itself."""
    if mention.clock is not None or mention.zone_stated:
        return mention
    for match in _LOOSE.finditer(text, start, end):
        if mention.start <= match.start() < mention.end:
            continue
        clock = _clock(match)
        zone, zone_name, stated = _zone(match.group("zone"))
        return replace(mention, clock=clock, zone=zone, zone_name=zone_name, zone_stated=stated)
    return mention
