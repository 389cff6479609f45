"""Status text: what a sentence such as "Applications open soon." claims, and which deadlines it names.

- `classify` reads one status text into a `StatusReading`: a `State` and the deadlines in it.
- `find_status_sentences` picks out a page's own sentences about applications.
- `parse_deadlines` finds the dates after "close", "closes", "deadline", "due", "by" or "until".

Dates are parsed by python-dateutil, but only the date expression cut out of the clause: given a whole
sentence, its fuzzy mode reads stray numbers ("ARENA 7.0", "the 2024 cohort") as days and years. Zone names
are mapped here, explicitly, to IANA zones so that daylight saving comes from the tz database. Nothing in
this module raises on arbitrary text.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from enum import StrEnum
from itertools import accumulate
from zoneinfo import ZoneInfo

from dateutil import parser as dateutil_parser

__all__ = [
    "Deadline",
    "State",
    "StatusReading",
    "classify",
    "find_status_sentences",
    "parse_deadlines",
]


class State(StrEnum):
    OPEN = "open"
    OPENING_SOON = "opening-soon"
    CLOSED = "closed"
    ROLLING = "rolling"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Deadline:
    clause: str  # the words as written, e.g. "close November 10, 2023 11:59 PM (PST)"
    when: datetime  # aware
    zone: str  # the zone used: an IANA name, "UTC-12 (AoE)", or "UTC" when the text names none
    zone_stated: bool = True

    @property
    def local_date(self) -> date:
        """The calendar day of the deadline where it was set: what "before today" is judged on."""
        return self.when.date()


@dataclass(frozen=True)
class StatusReading:
    state: State
    deadlines: tuple[Deadline, ...] = ()
    # The words that decided the state ("now closed", "status unknown"); empty when nothing did.
    signal: str = ""
    text: str = ""

    @property
    def says_unknown(self) -> bool:
        """The text itself says the status is not known (rather than saying nothing we recognise)."""
        return self.state is State.UNKNOWN and bool(self.signal)


# --- states ---------------------------------------------------------------------------------------------

# Tried in this order; within a text, a later state in _PRIORITY wins (see classify).
_SIGNALS: tuple[tuple[State, re.Pattern[str]], ...] = (
    (
        State.UNKNOWN,
        re.compile(r"\bstatus (?:is )?unknown\b|\bunknown status\b|\bstatus(?: is)? unclear\b", re.I),
    ),
    (
        State.CLOSED,
        re.compile(
            r"\b(?:are|is|now|currently|have|has|been|applications?|registrations?|submissions?)\s+closed\b"
            r"|^\s*closed\b"
            r"|\bno longer (?:accepting|taking|open|available)\b"
            r"|\b(?:not|n't) (?:currently |presently )?(?:accepting|taking|open)\b(?! yet)"
            r"|\bclosed for (?:applications|registration|submissions)\b"
            r"|\b(?:deadline|application period) has (?:now )?passed\b",
            re.I,
        ),
    ),
    (
        State.OPENING_SOON,
        re.compile(
            r"\bopen(?:s|ing)? soon\b|\bcoming soon\b|\bwill (?:re)?open\b|\bnot (?:yet|open yet)\b"
            r"|\bopen(?:s|ing)? (?:later|in (?:early|mid|late|the)\b)"
            r"|\bexpress(?:ions?)? (?:of )?interest\b|\bregister (?:your )?interest\b"
            r"|\b(?:join|sign up (?:for|to)) (?:the |our )?(?:wait ?list|mailing list)\b|\bbe notified\b",
            re.I,
        ),
    ),
    (
        State.ROLLING,
        re.compile(
            r"\brolling (?:basis|applications?|admissions?|deadline)\b|\bapplications? (?:are )?rolling\b"
            r"|\bapply (?:at )?any ?time\b|\bopen (?:all )?year[- ]round\b",
            re.I,
        ),
    ),
    (
        State.OPEN,
        re.compile(
            r"\b(?:are|is|now|currently) open\b|\bopen now\b|\bapply (?:now|today|here|by|before)\b"
            r"|\bapplications? (?:are |is )?(?:now )?open\b(?! soon)(?!ing soon)"
            r"|\b(?:now |currently )?accepting applications\b"
            r"|\b(?:close|closes|closing|due)\b(?=[^.;]{0,40}\d)|\bclos(?:e|es|ing) soon\b"
            r"|\bdeadline(?: is|:)?\s+(?=\w+ \d|\d)",
            re.I,
        ),
    ),
)
# When one text says several things ("ARENA 7.0 is closed. Expressions of interest for 8.0 are open"),
# the state a reader can act on wins: somewhere to apply now, then later, then nothing.
_PRIORITY = (State.UNKNOWN, State.CLOSED, State.OPENING_SOON, State.ROLLING, State.OPEN)


def classify(text: str, today: date | None = None) -> StatusReading:
    """Read a status text. `today` resolves dates written without a year (default: today, UTC)."""
    text = _tidy(text or "")
    found = _signals(text)
    # "Applications open soon" also matches the OPEN pattern's "applications open": soon wins.
    if State.OPENING_SOON in found and State.OPEN in found and "soon" in found[State.OPENING_SOON].lower():
        open_match = found[State.OPEN].lower()
        if open_match.startswith("application") or open_match.endswith("open"):
            del found[State.OPEN]
    deadlines = tuple(parse_deadlines(text, today or datetime.now(UTC).date()))
    if not found:
        return StatusReading(State.UNKNOWN, deadlines, "", text)
    state = max(found, key=_PRIORITY.index)
    return StatusReading(state, deadlines, found[state], text)


# "no longer accepting applications", "not currently open": the positive words after a negation.
_NEGATED = re.compile(r"\b(?:no longer|not|n't|never|nor)\s+(?:\w+\s+)?$", re.I)
_NEGATABLE = frozenset({State.OPEN, State.ROLLING, State.OPENING_SOON})


def _signals(text: str) -> dict[State, str]:
    """Each state the text signals, with the first words that signal it."""
    found: dict[State, str] = {}
    for state, pattern in _SIGNALS:
        for match in pattern.finditer(text):
            if state in _NEGATABLE and _NEGATED.search(text, max(0, match.start() - 30), match.start()):
                continue
            found[state] = match.group(0).strip()
            break
    return found


def _tidy(text: str) -> str:
    return " ".join(text.replace("’", "'").replace("‘", "'").split())


# --- sentences on a page ------------------------------------------------------------------------------------

# Each word here must start with one of _STEMS (below), or lines holding it are never searched.
_ABOUT_APPLYING = re.compile(
    r"\b(?:appl(?:y|ying|ications?|icants?)|admissions?|registrations?|register|enrol(?:l|ment|ling)?"
    r"|expressions? of interest|deadline|cohort|intake|sign[- ]?ups?|accepting|rolling basis|status)\b",
    re.I,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”')\]]*\s+(?=[A-Z“\"(])")
# A "sentence" longer than this is a run of unpunctuated text (a menu, a table) rather than a statement.
_MAX_SENTENCE = 400


class _LastPage:
    """The sentences of the last text read: the status rules and the state all ask for them, one page at a
    time. Held by identity (the text kept alive with it), so another text is never taken for this one."""

    def __init__(self) -> None:
        self.text: str | None = None
        self.sentences: tuple[str, ...] = ()

    def of(self, text: str) -> list[str]:
        if self.text is not text:
            self.sentences = tuple(_find_status_sentences(text))
            self.text = text
        return list(self.sentences)


_last_page = _LastPage()


def find_status_sentences(page_text: str) -> list[str]:
    """The page's own sentences about applications that say something we can classify, in page order."""
    return _last_page.of(page_text or "")


def _find_status_sentences(page_text: str) -> list[str]:
    sentences: list[str] = []
    for line in _candidate_lines(page_text or ""):
        if not _ABOUT_APPLYING.search(line):
            continue
        for sentence in _SENTENCE_END.split(line):
            sentence = sentence.strip()
            if len(sentence) > _MAX_SENTENCE or not _ABOUT_APPLYING.search(sentence):
                continue
            if _state_only(sentence) is not State.UNKNOWN and sentence not in sentences:
                sentences.append(sentence)
    return sentences


# Every word _ABOUT_APPLYING knows starts with one of these, lower-cased: a line holding none of them cannot
# match it. Searching one lower-cased copy of the page for them with str.find (in C) replaces a regex search
# of every line, which was most of the cost of reading a page: a typical page has one or two such lines.
_STEMS = ("appl", "admission", "regist", "enrol", "expression", "deadline", "cohort", "intake", "sign",
          "accepting", "rolling basis", "status")  # fmt: skip
# Under re.IGNORECASE these also match ASCII letters of the stems, but str.lower() leaves them non-ASCII (and
# makes "İ" two characters, which would shift positions): a page holding one is read line by line as before.
_FOLD_TO_ASCII = ("\u0130", "\u0131", "\u017f")


def _candidate_lines(text: str) -> list[str]:
    """The lines of `text` (as str.splitlines gives them, in order) that may hold an _ABOUT_APPLYING word."""
    if any(char in text for char in _FOLD_TO_ASCII):
        return text.splitlines()
    lowered = text.lower()  # one character for one: positions in `lowered` are positions in `text`
    hits: list[int] = []
    for stem in _STEMS:
        at = lowered.find(stem)
        while at != -1:
            hits.append(at)
            at = lowered.find(stem, at + 1)
    if not hits:
        return []
    lines = text.splitlines(keepends=True)
    ends = list(accumulate(map(len, lines)))
    wanted = sorted({bisect_right(ends, at) for at in hits})
    # A kept line is never empty, and its own splitlines() drops exactly the line break that ended it.
    return [lines[index].splitlines()[0] for index in wanted]


def _state_only(text: str) -> State:
    # Skips deadline parsing: a page can have hundreds of candidate lines and only the state filters them.
    states = _signals(_tidy(text))
    return max(states, key=_PRIORITY.index) if states else State.UNKNOWN


# --- deadlines ------------------------------------------------------------------------------------------------

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_WEEKDAY = r"(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?\.?,?\s+)"
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_CLOCK = r"(?:\d{1,2}(?::\d{2}){0,2}\s*[ap]\.?\s?m\b\.?|\d{1,2}:\d{2}(?::\d{2})?|noon|midnight)"
_ZONE = (
    r"(?:aoe|anywhere on earth|utc|gmt|[pmce][sd]?t|bst|cest|cet|z\b"
    r"|(?:pacific|eastern|central|mountain)(?: (?:standard|daylight))?(?: time)?)(?:\s*[+-]\s*\d{1,2}(?::?\d{2})?)?"
)


def _date_pattern(suffix: str) -> str:
    return (
        rf"(?P<date{suffix}>{_WEEKDAY}?(?:{_MONTH}\s+(?:the\s+)?{_DAY}(?:,?\s+(?P<year{suffix}>(?:19|20)\d\d))?"
        rf"|(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+(?P<yearb{suffix}>(?:19|20)\d\d))?"
        rf"|(?P<iso{suffix}>(?:19|20)\d\d-[01]\d-[0-3]\d)))"
    )


def _zone_pattern(suffix: str) -> str:
    return rf"(?:,?\s*\(?\s*(?P<zone{suffix}>{_ZONE})\s*\)?)"


# The clause after a trigger: optional filler, then either "DATE [TIME] [ZONE]" or "TIME [ZONE] on DATE".
_CLAUSE = re.compile(
    r"\b(?P<trigger>close[sd]?|closing|deadline|due|by|before|until|ends?)\b"
    r"(?:\s+(?:is|on|at|date|:|-|–|—|of|the|end of|midnight on|applications))*[\s:]*"
    rf"(?:{_date_pattern('')}(?:T(?P<isotime>\d{{2}}:\d{{2}}(?::\d{{2}})?))?"
    rf"(?:,?\s*(?:at\s+)?(?P<time>{_CLOCK}))?{_zone_pattern('')}?"
    rf"|(?P<time2>{_CLOCK}){_zone_pattern('2')}?\s+(?:on\s+)?{_date_pattern('2')})",
    re.I,
)
_EXPLICIT_YEAR = re.compile(
    rf"\b(?:{_MONTH}\s+{_DAY}|{_DAY}\s+(?:of\s+)?{_MONTH}),?\s+((?:19|20)\d\d)\b|\b((?:19|20)\d\d)-[01]\d-[0-3]\d\b",
    re.I,
)

_AOE = timezone(timedelta(hours=-12), "AoE")
_ZONES: dict[str, tuple[tzinfo, str]] = {}
for _names, _zone in (
    (("pst", "pdt", "pt", "pacific"), "America/Los_Angeles"),
    (("est", "edt", "et", "eastern"), "America/New_York"),
    (("cst", "cdt", "ct", "central"), "America/Chicago"),
    (("mst", "mdt", "mt", "mountain"), "America/Denver"),
    (("bst",), "Europe/London"),
    (("cet", "cest"), "Europe/Berlin"),
):
    for _name in _names:
        _ZONES[_name] = (ZoneInfo(_zone), _zone)
for _name in ("utc", "gmt", "z"):
    _ZONES[_name] = (UTC, "UTC")
for _name in ("aoe", "anywhere on earth"):
    _ZONES[_name] = (_AOE, "UTC-12 (AoE)")


def parse_deadlines(text: str, today: date) -> list[Deadline]:
    """Every deadline named after close/closes/deadline/due/by/until, as an aware datetime.

    A date without a time is the end of that day. A date without a year takes the year of another date in
    the same text ("close November 10, 2023 ...; other streams close November 17"), else its occurrence
    nearest to `today`. A text naming no zone is read as UTC (the day, which decides "passed", is the same).
    """
    text = _tidy(text or "")
    context_years = [int(m.group(1) or m.group(2)) for m in _EXPLICIT_YEAR.finditer(text)]
    deadlines: list[Deadline] = []
    for match in _CLAUSE.finditer(text):
        deadline = _deadline(match, context_years, today)
        if deadline is not None and deadline not in deadlines:
            deadlines.append(deadline)
    return deadlines


def _deadline(match: re.Match[str], context_years: list[int], today: date) -> Deadline | None:
    groups = match.groupdict()
    date_text = groups["date"] or groups["date2"] or ""
    clock = groups["time"] or groups["time2"] or groups["isotime"]
    zone_text = groups["zone"] or groups["zone2"]
    has_year = any(groups[name] for name in ("year", "yearb", "iso", "year2", "yearb2", "iso2"))
    day = _parse_day(date_text, has_year, context_years, today)
    if day is None:
        return None
    moment = _parse_clock(clock) if clock else time(23, 59, 59)
    if moment is None:
        return None
    zone, zone_name, stated = _zone(zone_text)
    when = datetime.combine(day, moment).replace(tzinfo=zone)
    return Deadline(match.group(0).strip(" ,;"), when, zone_name, stated)


def _parse_day(date_text: str, has_year: bool, context_years: list[int], today: date) -> date | None:
    cleaned = re.sub(r"\b(?:the|of)\b", " ", date_text, flags=re.I)
    if has_year:
        return _dateutil_day(cleaned, today.year)
    years = [context_years[0]] if context_years else [today.year - 1, today.year, today.year + 1]
    candidates = [d for d in (_dateutil_day(cleaned, y) for y in years) if d is not None]
    if not candidates:
        return None
    return min(candidates, key=lambda d: abs((d - today).days))


def _dateutil_day(date_text: str, year: int) -> date | None:
    try:
        # Day 1 keeps a default from leaking a day-of-month into "June 2026"-like text; fuzzy stays off
        # because the clause was already cut down to the date.
        return dateutil_parser.parse(date_text, default=datetime(year, 1, 1)).date()
    except (ValueError, OverflowError, TypeError, dateutil_parser.ParserError):
        return None


def _parse_clock(clock: str) -> time | None:
    words = clock.lower().replace(".", "").replace(" ", "")
    if words == "midnight":
        return time(23, 59, 59)  # "midnight on June 7" is meant as the end of June 7
    if words == "noon":
        return time(12, 0)
    try:
        parsed = dateutil_parser.parse(clock.replace(".", ""), default=datetime(2000, 1, 1))
    except (ValueError, OverflowError, TypeError, dateutil_parser.ParserError):
        return None
    return parsed.time().replace(tzinfo=None)


_OFFSET = re.compile(r"(utc|gmt)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?$")


def _zone(zone_text: str | None) -> tuple[tzinfo, str, bool]:
    if not zone_text:
        return UTC, "UTC", False
    key = " ".join(zone_text.lower().split())
    offset = _OFFSET.match(key)
    if offset:
        sign = -1 if offset.group(2) == "-" else 1
        delta = timedelta(hours=int(offset.group(3)), minutes=int(offset.group(4) or 0))
        if delta < timedelta(hours=15):
            label = f"UTC{offset.group(2)}{offset.group(3)}"
            return timezone(sign * delta, label), label, True
    key = key.removesuffix(" time").removesuffix(" standard").removesuffix(" daylight")
    if key in _ZONES:
        zone, name = _ZONES[key]
        return zone, name, True
    return UTC, "UTC", False
