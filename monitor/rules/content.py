"""Content rules: what the hub says about an entry, and what the entry's page says about itself.

HTTP-level verdicts (dead, moved, walls, soft-404s) belong to `links`. These rules read text:

- from the catalog alone, so they hold even when the page could not be fetched: `no-url`, `status-unknown`,
  `deadline-passed`, `dated-title`;
- from a page that answered 2xx (or 304): `status-changed` (or `status-unverified` when the page cannot tell),
  `deadline-passed` with `evidence.source: "page"` (the page's own deadline to apply, when the hub says open),
  `marked-outdated`, `expected-text-missing`, `content-changed`, `title-changed`.

`fingerprint` is the noise-insensitive hash of watched text; the state stage stores exactly this value so
that the next run's `content-changed` compares like with like.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import sys
from collections.abc import Callable, Iterable
from datetime import date

from monitor.findings import Code, Finding
from monitor.models import Entry, PageText
from monitor.rules import FOLD_TO_ASCII, Rule, RuleInput, may_hold
from monitor.status import Deadline, State, StatusReading, classify, find_status_sentences, parse_deadlines

__all__ = ["DATED_AFTER_MONTHS", "RULES", "dated_mentions", "fingerprint"]

_QUOTE_MAX = 300


def _quote(text: str, limit: int = _QUOTE_MAX) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"



def _readable(inp: RuleInput) -> PageText | None:
    """The page, if it is the resource itself: an error page's text says nothing about the resource."""
    fetch = inp.fetch
    if inp.page is None or (fetch is not None and not (fetch.ok or fetch.not_modified)):
        return None
    return inp.page


def _ago(then: date, today: date) -> str:
    days = (today - then).days
    if days < 14:
        return f"{days} day{'s' if days != 1 else ''} ago"
    if days < 61:
        return f"{days // 7} weeks ago"
    months = (today.year - then.year) * 12 + today.month - then.month - (today.day < then.day)
    if months < 24:
        return f"{months} months ago"
    return f"{months // 12} years ago"


# --- from the catalog alone -------------------------------------------------------------------------------


def no_url(inp: RuleInput) -> list[Finding]:
    """`no-url`: the catalog has no link for this entry, so nothing about it can be checked.

    The hub shows the entry but its link target is unknown; add the URL to the catalog once it is known.
    """
    entry = inp.entry
    if entry.url is not None:
        return []
    evidence = {"notes": _quote(entry.notes)} if entry.notes else {}
    return [
        Finding(
            Code.NO_URL,
            f"No link to check: the catalog has no URL for {entry.where}.",
            evidence=evidence,
            fix=f"Find the link the hub uses for “{_quote(entry.title, 80)}” and set url: in the catalog.",
        )
    ]


def status_unknown(inp: RuleInput) -> list[Finding]:
    """`status-unknown`: the hub's own status text says it does not know ("Status unknown.").

    When the page could be read and has a status sentence, the finding quotes it as a candidate status line.
    """
    entry = inp.entry
    if not entry.status:
        return []
    reading = classify(entry.status, inp.today)
    if not reading.says_unknown:
        return []
    evidence = {"hub": _quote(entry.status)}
    fix = None
    page = _readable(inp)
    sentences = find_status_sentences(page.text) if page and not page.js_rendered else []
    if sentences:
        evidence["page"] = _quote(sentences[0])
        fix = f"The page says “{_quote(sentences[0])}”: consider that as the status line of {entry.where}."
    return [
        Finding(
            Code.STATUS_UNKNOWN,
            f"The hub says it does not know the status of “{entry.title}”.",
            evidence=evidence,
            fix=fix,
        )
    ]


def deadline_passed(inp: RuleInput) -> list[Finding]:
    """`deadline-passed`: a deadline to apply in the hub's status text is before today.

    Only deadlines to apply, register or submit count ("Applications close November 10, 2023 11:59 PM (PST)"),
    never decisions, programme dates or recurring dates ("by 15 March each year"); zones are mapped
    explicitly, a date without a time is the end of that day and a month without a day the end of that
    month. Passed means its calendar day, where it was set, is before `--today`.
    """
    entry = inp.entry
    if not entry.status:
        return []
    passed = [d for d in parse_deadlines(entry.status, inp.today) if d.passed(inp.today)]
    if not passed:
        return []
    latest = max(passed, key=lambda d: d.when)
    day = latest.local_date
    others = f" (and {len(passed) - 1} earlier)" if len(passed) > 1 else ""
    message = (
        f"The hub's status for “{entry.title}” gives a deadline of {day:%B} {day.day}, {day.year}, "
        f"which passed {_ago(day, inp.today)}{others}."
    )
    target = f" at {entry.url}" if entry.url else ""
    return [
        Finding(
            Code.DEADLINE_PASSED,
            message,
            evidence={"hub": _quote(entry.status), "deadlines": "; ".join(_describe(d) for d in passed)},
            fix=f"Check{target} for the next round and update the status line of {entry.where} "
            "(the new deadline, or that applications are closed).",
        )
    ]


def page_deadline_passed(inp: RuleInput) -> list[Finding]:
    """`deadline-passed` with `evidence.source: "page"`: the hub says applications are open, but the page's own
    deadline to apply has passed ("Closing date for applications: 30 June 2021").

    Raised only when the hub's line gives no deadline of its own (those are the hub-side rule's) and the page
    names no deadline to apply that is still ahead, no opening-soon or rolling call, and no open call for a
    later round ("Round 1 closed March 1; Round 2 closes December 1" is quiet). Only page deadlines whose year
    is written count: "30 June" alone may be this year's.
    """
    entry, today = inp.entry, inp.today
    page = _readable(inp)
    if not entry.status or page is None or page.js_rendered:
        return []
    hub = classify(entry.status, today)
    if hub.state is not State.OPEN or hub.deadlines:
        return []
    readings = [classify(sentence, today) for sentence in find_status_sentences(page.text)]
    dated = [(reading, d) for reading in readings for d in reading.deadlines]
    passed = [(reading, d) for reading, d in dated if d.passed(today) and d.year_stated]
    if not passed or any(not d.passed(today) for _, d in dated):
        return []
    latest_reading, latest = max(passed, key=lambda pair: pair[1].when)
    if any(_later_call(reading, latest.local_date) for reading in readings):
        return []
    day = latest.local_date
    target = f" at {entry.url}" if entry.url else ""
    return [
        Finding(
            Code.DEADLINE_PASSED,
            f"The hub says applications for “{entry.title}” are open, but the page's own deadline to apply, "
            f"{day:%B} {day.day}, {day.year}, passed {_ago(day, today)}.",
            evidence={
                "source": "page",
                "hub": _quote(entry.status),
                "page": _quote(latest_reading.text),
                "deadline": day.isoformat(),
                "deadlines": "; ".join(_describe(d) for _, d in passed),
            },
            fix=f"Check{target} for the next round and update the status line of {entry.where} "
            "(the new deadline, or that applications are closed).",
        )
    ]


_LATER_ROUND = re.compile(r"\b(?:next|upcoming|new|future|second|third|round \d+|spring|autumn|fall|winter)\b", re.I)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")


def _later_call(reading: StatusReading, passed_day: date) -> bool:
    """Whether a page sentence says a call other than the passed one is open or coming."""
    if reading.state in (State.OPENING_SOON, State.ROLLING):
        return True
    if reading.state is not State.OPEN or reading.deadlines:
        return False
    years = [int(y) for y in _YEAR.findall(reading.text)]
    return any(year > passed_day.year for year in years) or bool(_LATER_ROUND.search(reading.text))


def _describe(deadline: Deadline) -> str:
    zone = deadline.zone if deadline.zone_stated else "no zone given"
    return f"“{deadline.clause}” = {deadline.when.isoformat()} ({zone})"


# Dated titles. A title or status line that names a period which ended more than this many months before
# today gets an info note: a year's grace keeps "2025" material from being flagged all through 2026.
DATED_AFTER_MONTHS = 12
_PART_END: dict[str, tuple[int, int]] = {
    # (month, day) the named part of a year ends; each is the latest plausible reading, to err on quiet.
    "q1": (3, 31), "q2": (6, 30), "q3": (9, 30), "q4": (12, 31), "h1": (6, 30), "h2": (12, 31),
    "early": (6, 30), "start of": (6, 30), "beginning of": (6, 30), "first half of": (6, 30),
    "spring": (6, 30), "summer": (9, 30), "mid": (9, 30), "autumn": (11, 30), "fall": (11, 30),
    "late": (12, 31), "end of": (12, 31), "second half of": (12, 31),
}  # fmt: skip
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december")  # fmt: skip
_PERIOD = re.compile(
    r"(?:\b(?P<part>q[1-4]|h[12]|early|start of|beginning of|first half of|spring|summer|mid|autumn|fall"
    r"|late|end of|second half of|winter)[\s-]+(?:of\s+)?"
    rf"|\b(?P<month>{'|'.join(_MONTHS)})\s+)?"
    r"\b(?P<y1>(?:19|20)\d\d)(?:\s*(?:-|–|—|/|to)\s*(?P<y2>(?:19|20)?\d\d))?\b(?![-/.]\d)",
    re.IGNORECASE,
)
# Full dates are deadlines (deadline-passed reads them), not periods.
_FULL_DATE = re.compile(
    rf"\b(?:{'|'.join(_MONTHS)}|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    r"|\b\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?[a-z]+\.?,?\s+\d{4}|\b\d{4}-\d\d-\d\d\b",
    re.IGNORECASE,
)


def dated_mentions(text: str, today: date) -> list[tuple[str, date]]:
    """Periods named in `text` that ended more than DATED_AFTER_MONTHS months before `today`.

    A period is a year ("2022"), a range ("2023-2024", "2024-25"), a part of a year ("end of 2022",
    "summer 2023", "Q3 2024", "winter 2023") or a month ("November 2023"). Returns (words, day it ended).
    """
    text = text or ""
    if "19" not in text and "20" not in text:
        return []  # every period names a year 19xx or 20xx, and blanking the full dates makes no such digits
    text = _FULL_DATE.sub(" ", text)
    found: list[tuple[str, date]] = []
    for match in _PERIOD.finditer(text):
        end = _period_end(match)
        if end is not None and _months_later(end, DATED_AFTER_MONTHS) < today:
            found.append((match.group(0).strip(), end))
    return found


def _period_end(match: re.Match[str]) -> date | None:
    year = int(match.group("y1"))
    if match.group("y2"):
        raw = match.group("y2")
        end_year = int(raw) if len(raw) == 4 else year // 100 * 100 + int(raw)
        # "2024-2025" is a range; "2025-2024" or "2024-06" is not, so only the first year counts.
        if year < end_year <= year + 5:
            return date(end_year, 12, 31)
    part = (match.group("part") or "").lower()
    if part == "winter":
        return date(year + 1, 3, 31)  # a winter runs into the next year
    if part:
        month, day = _PART_END[" ".join(part.split())]
        return date(year, month, day)
    if match.group("month"):
        month = _MONTHS.index(match.group("month").lower()) + 1
        return date(year, month, calendar.monthrange(year, month)[1])
    return date(year, 12, 31)


def _months_later(day: date, months: int) -> date:
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


def dated_title(inp: RuleInput) -> list[Finding]:
    """`dated-title` (info): the hub's title or status names a period that has been over for a year.

    "Neel Nanda’s MATS Training Program 2023-2024" still linked in 2026 is probably history: check whether
    a newer edition exists, or say in the hub that it is an archive. The rule: a year, range, part of a
    year or month, ending more than DATED_AFTER_MONTHS (12) months before today; full dates are left to
    `deadline-passed`.
    """
    entry = inp.entry
    findings: list[Finding] = []
    for field_name, text in (("title", entry.title), ("status", entry.status)):
        mentions = dated_mentions(text or "", inp.today)
        if not mentions:
            continue
        words, end = mentions[0]
        findings.append(
            Finding(
                Code.DATED_TITLE,
                f"The hub's {field_name} for {entry.where} names “{words}”, a period that ended "
                f"{_ago(end, inp.today)} ({end.isoformat()}).",
                evidence={field_name: _quote(text or "")},
                # Only fields the catalog has: url and title, or an accept: item for a resource kept on purpose.
                fix="Check whether a newer edition exists; if so set url: and title: to it, otherwise accept "
                "the finding with an accept: item (code dated-title) saying why the old edition stays.",
            )
        )
    return findings


# --- from the page ----------------------------------------------------------------------------------------


def status_changed(inp: RuleInput) -> list[Finding]:
    """`status-changed`: the page no longer says what the hub's status line claims.

    The page's own sentences about applications are classified (open, opening soon, closed, rolling) and
    compared with the hub's line; a page that still says the hub's state anywhere is not a change, unless
    it names only other deadlines. Where the page has no such sentence, or is drawn by JavaScript, the
    answer is `status-unverified` ("cannot tell"), never a guessed change.
    """
    entry = inp.entry
    page = _readable(inp)
    if not entry.status or page is None:
        return []
    hub = classify(entry.status, inp.today)
    if hub.state is State.UNKNOWN:
        return []
    if page.js_rendered:
        return [_cannot_tell(entry, "the page is drawn by JavaScript, so a plain fetch cannot read its status")]
    readings = [classify(s, inp.today) for s in find_status_sentences(page.text)]
    if not readings:
        return [_cannot_tell(entry, "the page has no sentence about applications")]
    same = [r for r in readings if r.state is hub.state]
    if same:
        return _deadline_moved(entry, hub, same)
    chosen = max(readings, key=lambda r: _PAGE_PRIORITY.index(r.state))
    suggestion = _suggestion(chosen, readings)
    return [
        Finding(
            Code.STATUS_CHANGED,
            f"The hub says “{entry.title}” is {hub.state.value}; the page now says {chosen.state.value}.",
            evidence={"hub": _quote(entry.status), "page": _quote(chosen.text)},
            fix=f"Change the status line of {entry.where} to: “{suggestion}”",
        )
    ]


# Which page sentence to quote when several disagree with the hub: the one a reader can act on.
_PAGE_PRIORITY = (State.UNKNOWN, State.CLOSED, State.OPENING_SOON, State.ROLLING, State.OPEN)


def _suggestion(chosen: StatusReading, readings: list[StatusReading]) -> str:
    """The page's words for the new status line: its statement of the state, with its deadline if apart.

    "Applications are now open." and "Apply by June 7th." are two sentences on the page but one status line.
    """
    same = [r for r in readings if r.state is chosen.state]
    plain = next((r for r in same if not r.deadlines), None)
    dated = chosen if chosen.deadlines else next((r for r in same if r.deadlines), None)
    parts = [r for r in readings if r is plain or r is dated] or [chosen]
    return _quote(" ".join(r.text for r in parts))


def _deadline_moved(entry: Entry, hub: StatusReading, same: list[StatusReading]) -> list[Finding]:
    hub_days = {d.local_date for d in hub.deadlines}
    page_days = {d.local_date for r in same for d in r.deadlines}
    if not hub_days or not page_days or hub_days & page_days:
        return []
    dated = next(r for r in same if r.deadlines)
    new = min(page_days)
    return [
        Finding(
            Code.STATUS_CHANGED,
            f"The page for “{entry.title}” gives a new deadline, {new:%B} {new.day}, {new.year}, "
            "not the one(s) in the hub's status.",
            evidence={"hub": _quote(entry.status), "page": _quote(dated.text)},
            fix=f"Change the status line of {entry.where} to: “{_suggestion(dated, same)}”",
        )
    ]


def _cannot_tell(entry: Entry, why: str) -> Finding:
    return Finding(
        Code.STATUS_UNVERIFIED,
        f"Cannot tell whether the hub's status for “{entry.title}” still holds: {why}.",
        evidence={"hub": _quote(entry.status or "")},
        fix=None,
    )


# The page's own notice that it is out of date. Looked for only near the top of the page (and its watched
# region): notices sit there, while a discussion of "deprecated APIs" further down is not about the page.
_TOP_CHARS = 2000
_SELF = (
    r"(?:post|page|article|document|doc|guide|list|sequence|repo(?:sitory)?|project|library|package|tool"
    r"|site|website|resource|tutorial|course|version|write-?up|essay|book|content|information|material|notebook"
    r"|wiki|documentation|docs|code|agenda|curriculum|syllabus|overview|report)"
)
_STALE = (
    r"(?:out of date|out-of-date|outdated|deprecated|obsolete|unmaintained|archived|superseded|stale"
    r"|no longer (?:maintained|updated|supported|accurate|current|relevant|recommended|being (?:maintained|updated)))"
)
# Each branch here must need one of _OUTDATED_WORDS (below), or a region holding only it is never searched.
_OUTDATED = re.compile(
    rf"\b(?:this|these|the following) {_SELF}\b[^.!?\n]{{0,80}}?\b(?:is|are|has been|have been|was|were)\b"
    rf"[^.!?\n]{{0,60}}?\b{_STALE}"
    r"|\brepository has been archived by the owner\b"
    r"|\bout of date,? (?:please )?see\b|\bsee (?:the )?(?:v\d+|version \d+|new(?:er)? version|updated version)\b"
    r"|\b(?:has been |is )?superseded by\b"
    r"|\bI (?:no longer|don't|do not) (?:recommend|endorse|stand by)\b"
    r"|\bno longer (?:maintained|being maintained|updated|recommended)\b"
    # A page or site that says it moved, or that its writing lives elsewhere now, is outdated where it is.
    r"|\b(?:this|our|my|the) (?:blog|site|website|page|project|newsletter|documentation|docs|writing)"
    r" (?:has|have|is|was) (?:now )?moved\b"
    r"|\bwe(?:['’]ve| have) moved\b"
    r"|\b(?:my|our) (?:writing|blog|work|posts?) now lives?\b"
    r"|^\s*\[?(?:deprecated|archived|obsolete|outdated)\b",
    re.IGNORECASE | re.MULTILINE,
)
# A region holding none of these words, lower-cased, cannot match _OUTDATED: each of its branches needs one.
# Ruling the region out with str.find (in C) saves the regex, which tries every branch at every position.
# Each is as narrow as its branch allows ("i don't", not "recommend"; " moved", not "removed"): most pages hold
# a "see v..." or a "recommended" somewhere near the top, and the regex costs a tenth of a millisecond a region.
_OUTDATED_WORDS = (
    "out of date", "out-of-date", "outdated", "deprecated", "obsolete", "unmaintained", "archived", "superseded",
    "stale", "no longer", "i don't", "i do not", " moved", "now live",
)  # fmt: skip
# The "see v2" / "see version 3" / "see the new..." / "see updated..." branch, in one search: a digit as \d reads
# one (any decimal digit), or "version", or the words "new" and "updated" (each a search of its own before).
_SEE_VERSION = re.compile(r"see (?:the )?(?:v(?:\d|ersion)|new|updated)")


def _may_say_outdated(region: str) -> bool:
    if not region.isascii() and any(char in region for char in FOLD_TO_ASCII):
        return True
    lowered = region.lower()
    return any(word in lowered for word in _OUTDATED_WORDS) or _SEE_VERSION.search(lowered) is not None


_OUTDATED_TITLE = re.compile(r"^\s*[\[(]\s*(?:old|outdated|deprecated|archived|obsolete)\s*[\])]", re.IGNORECASE)
_SENTENCE = re.compile(r"[^.!?\n]*(?:[.!?](?=\s|$)|$)")


def marked_outdated(inp: RuleInput) -> list[Finding]:
    """`marked-outdated`: the page says of itself that it is out of date, superseded, archived or deprecated.

    Examples: "This post is out of date, see v2 here", "This repository has been archived by the owner",
    "I no longer recommend it". Only the top of the page and of its watched region is read, and the
    sentence is quoted so a maintainer can judge it.
    """
    page = _readable(inp)
    if page is None:
        return []
    if _OUTDATED_TITLE.search(page.title):
        return [_outdated(inp.entry, page.title, "The title of the page")]
    watched_top, top = page.watched[:_TOP_CHARS], page.text[:_TOP_CHARS]
    # Where the watched region is the whole page (no main, no article), its top is the page's: read it once.
    for region in (watched_top,) if top == watched_top else (watched_top, top):
        match = _OUTDATED.search(region) if _may_say_outdated(region) else None
        if match:
            return [_outdated(inp.entry, _sentence_around(region, match.start(), match.end()), "The page")]
    return []


def _sentence_around(text: str, start: int, end: int) -> str:
    left = max(text.rfind(".", 0, start), text.rfind("\n", 0, start), text.rfind("!", 0, start),
               text.rfind("?", 0, start))  # fmt: skip
    stops = [i for i in (text.find(c, end) for c in ".!?\n") if i != -1]
    right = min(stops) + 1 if stops else len(text)
    sentence = text[left + 1 : right].strip()
    # "This post is out of date, see v2 here." is one sentence; a bare "See v2" reads better with what follows.
    if len(sentence) < 25 and right < len(text):
        sentence = text[left + 1 : min(len(text), right + 120)].split("\n")[0].strip()
    return sentence


def _outdated(entry: Entry, quote: str, source: str) -> Finding:
    return Finding(
        Code.MARKED_OUTDATED,
        f"{source} linked for “{entry.title}” says it is out of date: “{_quote(quote, 160)}”",
        evidence={"quote": _quote(quote)},
        fix=f"Link the newer version if the page names one, or drop or annotate {entry.where}.",
    )


_FOLD = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "\u00a0": " "})


def _fold(text: str) -> str:
    return " ".join(text.translate(_FOLD).casefold().split())


def expected_text_missing(inp: RuleInput) -> list[Finding]:
    """`expected-text-missing`: a phrase from the entry's `expect` list is no longer on the page.

    Case, whitespace, curly quotes and dashes are ignored. Pages drawn by JavaScript are skipped: their
    text is not what a reader sees.
    """
    page = _readable(inp)
    if page is None or not inp.entry.expect or page.js_rendered:
        return []
    haystack = _fold(page.text)
    partial = " (only the first part of the page was read)" if inp.fetch and inp.fetch.truncated else ""
    return [
        Finding(
            Code.EXPECTED_TEXT_MISSING,
            f"The page of “{inp.entry.title}” no longer contains “{_quote(phrase, 120)}”{partial}.",
            evidence={"expected": _quote(phrase)},
            fix=f"Check the page: if it moved or changed, update the link or the expect list of {inp.entry.where}.",
        )
        for phrase in inp.entry.expect
        if _fold(phrase) and _fold(phrase) not in haystack
    ]


# --- drift between runs -------------------------------------------------------------------------------------

# What changes on every request without the page saying anything new. Bare dates stay: "Apply by June 7"
# becoming "June 14" is real news; dates introduced by stamp words ("Last updated ...") are noise.
_MONTH_NAME = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_ANY_DATE = (
    rf"(?:(?:[a-z]+day,?\s+)?(?:{_MONTH_NAME}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH_NAME},?\s+\d{{4}}|\d{{4}}-\d\d-\d\d|\d{{1,2}}[/.]\d{{1,2}}[/.]\d{{2,4}}))"
)
_NOISE: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?"), "<time>"),
    (
        re.compile(
            r"\b(?:last (?:updated|modified|edited|checked|built)|updated|generated|modified|rendered|fetched"
            rf"|retrieved|built|as of|current time|server time|today is|page loaded)\b[:\s]*(?:on\s+)?{_ANY_DATE}",
            re.IGNORECASE,
        ),
        "<stamp>",
    ),
    (
        re.compile(r"\b\d{1,2}:\d\d(?::\d\d(?:\.\d+)?)?(?:\s*[ap]\.?m\b\.?)?(?:\s*\(?(?-i:[A-Z]{2,4})\)?)?", re.I),
        "<time>",
    ),
    (re.compile(r"\b\d+\s+(?:second|minute|hour|day|week|month|year)s?\s+ago\b", re.I), "<ago>"),
    (re.compile(r"\b(?:just now|an? (?:few )?(?:seconds?|minutes?|hours?|day|week|month|year) ago)\b", re.I), "<ago>"),
    (
        re.compile(
            r"\b\d[\d,.]*\s*[kKmM]?\s+(?:views?|visits?|visitors?|reads?|stars?|forks?|watchers?|comments?"
            r"|karma|points?|votes?|likes?|downloads?|followers?|clicks?|online|reactions?)\b"
            r"|\b(?:views?|visits?|visitors?|stars?|forks?|watchers?|comments?|karma|downloads?|followers?)"
            r"\s*[:(]?\s*\d[\d,.]*[kKmM]?\)?",
            re.IGNORECASE,
        ),
        "<count>",
    ),
    (re.compile(r"\b(?:in|took)\s+\d+(?:\.\d+)?\s*(?:ms|s|seconds)\b", re.I), "<duration>"),
    (
        re.compile(r"\b(?=[0-9a-f-]*\d)(?=[0-9a-f-]*[a-f])[0-9a-f]{8}(?:-?[0-9a-f]{4}){3}-?[0-9a-f]{12}\b", re.I),
        "<id>",
    ),
    (re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{24,}\b", re.I), "<id>"),
    (re.compile(r"\b1[5-9]\d{8}(?:\d{3})?\b"), "<epoch>"),
)


# The noise patterns run once over the lines that may hold noise, not ten times over every line (that was
# a quarter of a run's CPU). After the whitespace is collapsed a line holds single spaces only, so `\s`
# becomes a plain space: no match can then reach across a line break, and the result is what the
# patterns give line by line.
_UUID = _NOISE[7][0]


class _LinearUuid:
    """``_UUID.sub`` with the same result, in time linear in the text.

    Each of the pattern's look-aheads reads the whole run of hex digits and dashes ahead of a word boundary,
    and a run like "deadbeef1-deadbeef1-..." has a boundary every few characters: 16 KB of it took 1.2 s,
    64 KB 15 s, read on the crawl's event loop. Here the places where the rest of the pattern matches are
    found by a look-ahead that reads at most one id, and what the look-aheads ask (a digit, and a letter a-f,
    further on in the run) is answered once per run: its last digit and last letter.
    """

    _AT = re.compile(r"\b(?=[0-9a-f]{8}(?:-?[0-9a-f]{4}){3}-?[0-9a-f]{12}\b)", re.I)
    _BODY = re.compile(r"[0-9a-f]{8}(?:-?[0-9a-f]{4}){3}-?[0-9a-f]{12}\b", re.I)
    _RUN = re.compile(r"[0-9a-f-]*", re.I)

    def sub(self, token: str, text: str) -> str:
        out: list[str] = []
        done = 0  # the end of the last match: the text before it is settled
        run_end = last_digit = last_letter = -1
        digit_after = False
        for at in self._AT.finditer(text):
            start = at.start()
            if start < done:
                continue
            if start >= run_end:  # a new run (a later start in the same run ends where it ends)
                run_end = self._RUN.match(text, start).end()  # type: ignore[union-attr]
                last_digit = max(text.rfind(c, start, run_end) for c in "0123456789")
                last_letter = max(text.rfind(c, start, run_end) for c in "abcdefABCDEF")
                # \d is any decimal digit: the character after the run may be one the run cannot hold.
                digit_after = run_end < len(text) and text[run_end].isdecimal()
            if (last_digit >= start or digit_after) and last_letter >= start:
                out += (text[done:start], token)
                done = self._BODY.match(text, start).end()  # type: ignore[union-attr]
        return "".join(out) + text[done:] if out else text


_NOISE_IN_LINES: tuple[tuple[re.Pattern[str] | _LinearUuid, str], ...] = tuple(
    (_LinearUuid() if pattern is _UUID else re.compile(pattern.pattern.replace(r"\s", " "), pattern.flags), token)
    for pattern, token in _NOISE
)
# Every noise pattern needs a digit but the "just now" / "a minute ago" one; casefold matches re.I.
_DIGIT = re.compile(r"\d")


def _holding(words: tuple[str, ...]) -> Callable[[str], bool]:
    """`may_hold` of `words`, as a gate."""
    return lambda text: may_hold(text, words)


def _searching(pattern: str, flags: int = 0, needs: str = "") -> Callable[[str], bool]:
    """A test that `pattern` (which begins with a digit or a literal, so the search skips to those in C) matches
    a text holding each character of `needs` (a str.find each, in C). In ASCII text \\d is [0-9], a range the
    search tests inline rather than by a call per character."""
    any_digit = re.compile(pattern, flags)
    ascii_digit = re.compile(pattern.replace(r"\d", "[0-9]"), flags)

    def may_match(text: str) -> bool:
        if not all(char in text for char in needs):
            return False
        return (ascii_digit if text.isascii() else any_digit).search(text) is not None

    return may_match


# For each of _NOISE_IN_LINES, a cheap test that the pattern may match the noisy lines (a condition each of its
# matches meets), tried before it: most noisy lines hold digits that no pattern takes (a date, a price), and the
# patterns, which begin with \b or a look-ahead, are tried at every position of the text. Each test is the
# pattern's own opening without the \b (its characters looked for first), or the words its branches need.
# A gate of None: the pattern runs only if the one before it did (both ids need a run of 8 hex digits, and the
# "<id>" the first writes makes none), and then only where a run of 24 is.
_NOISE_GATES: tuple[Callable[[str], bool] | None, ...] = (
    _searching(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d", needs="-:"),
    _holding(("updated", "modified", "edited", "checked", "built", "generated", "rendered", "fetched", "retrieved",
              "as of", "current time", "server time", "today is", "page loaded")),
    _searching(r"\d:\d\d", needs=":"),
    _holding(("ago",)),
    _holding(("just now", "ago")),
    _holding(("view", "visit", "read", "star", "fork", "watcher", "comment", "karma", "point", "vote", "like",
              "download", "follower", "click", "online", "reaction")),
    _searching(r"\d *(?:ms|s|seconds)\b", re.I),
    # [a-f] under re.I is [a-fA-F] and no more (re.I adds other characters to i, s and k alone).
    _searching(r"[0-9a-fA-F]{8}"),
    None,
    _searching(r"1[5-9]\d{8}"),
)
_HEX_RUN = re.compile(r"[0-9a-fA-F]{24}")


def _noisy_lines(joined: str) -> list[int]:
    """The indexes of the lines of `joined` that may hold noise: a digit, or "ago" or "just now" once casefolded.

    Searched in the joined lines, not line by line, with str.find (in C) where it can: str.casefold maps each
    character on its own and never makes or removes a line break, so the casefolded text has the same lines,
    each casefolded. In ASCII text the digits are 0-9; other text is searched with `\\d`.
    """
    found = _lines_holding(joined, "0123456789") if joined.isascii() else _lines_matching(joined, _DIGIT)
    found.update(_lines_holding(joined.casefold(), ("ago", "just now")))
    return sorted(found)


def _lines_holding(text: str, needles: Iterable[str]) -> set[int]:
    """The index of each "\\n"-separated line of `text` holding one of `needles` (none holds a line break)."""
    starts: list[int] = []
    for needle in needles:
        at = text.find(needle)
        while at != -1:
            starts.append(at)  # one a line is enough: go on from the next line
            end = text.find("\n", at)
            at = -1 if end == -1 else text.find(needle, end + 1)
    found: set[int] = set()
    line, seen = 0, 0
    for at in sorted(starts):
        line += text.count("\n", seen, at)
        seen = at
        found.add(line)
    return found


def _lines_matching(text: str, pattern: re.Pattern[str]) -> set[int]:
    """The index of each "\\n"-separated line of `text` in which `pattern` (which never spans one) matches."""
    found: set[int] = set()
    line, at = 0, 0
    while (match := pattern.search(text, at)) is not None:
        start = match.start()
        line += text.count("\n", at, start)
        found.add(line)
        end = text.find("\n", start)
        if end == -1:
            break
        line, at = line + 1, end + 1
    return found


# The whitespace str.split() splits on, but for the space and the line break.
_OTHER_SPACES = tuple(char for char in map(chr, range(0x3001)) if char.isspace() and char not in " \n")


def _is_tidy(text: str) -> bool:
    """Whether `text` is already as _denoise tidies it: lines of words joined by single spaces, none empty.

    The texts extract() gives are: testing that with str.find (in C) costs a tenth of tidying them again, and
    for the texts of the page just read (the fingerprint a worker takes) extract() already knows.
    """
    reader = sys.modules.get("monitor.extract")  # not imported for this: the main process never loads lxml
    if reader is not None and reader.read_tidy(text):
        return True
    if text.startswith((" ", "\n")) or text.endswith((" ", "\n")):
        return False
    if "  " in text or " \n" in text or "\n " in text or "\n\n" in text:
        return False
    # Every line break str.splitlines knows but "\n" is whitespace too.
    return not any(char in text for char in _OTHER_SPACES)


def _denoise(text: str) -> str:
    if _is_tidy(text):
        joined = text
        noisy = _noisy_lines(joined)
        if not noisy:
            return joined
        lines = joined.split("\n")
    else:
        # map and filter keep the per-line work in C: most lines of a page hold no noise.
        lines = list(filter(None, map(" ".join, map(str.split, text.splitlines()))))
        joined = "\n".join(lines)
        noisy = _noisy_lines(joined)
        if not noisy:
            return joined
    joined = "\n".join(lines[i] for i in noisy)
    ran = False
    for (pattern, token), may_match in zip(_NOISE_IN_LINES, _NOISE_GATES, strict=True):
        ran = may_match(joined) if may_match is not None else ran and _HEX_RUN.search(joined) is not None
        if ran:
            joined = pattern.sub(token, joined)
    for i, line in zip(noisy, joined.split("\n"), strict=True):
        lines[i] = line
    return "\n".join(lines)


class _LastFingerprint:
    """The fingerprint of the last text hashed: content-changed and the page's verdict (the state's
    watched_hash) both ask for it, one page at a time. Held by identity (the text kept alive with it), so
    another text is never taken for this one; text and value are one tuple, swapped whole, so a page read on
    the event loop while the worker thread reads another never gets the other's value."""

    def __init__(self) -> None:
        self.last: tuple[str | None, str] = (None, "")

    def of(self, text: str) -> str:
        last = self.last
        if last[0] is not text:
            last = (text, hashlib.sha256(_denoise(text).encode("utf-8", "replace")).hexdigest())
            self.last = last
        return last[1]


_last_fingerprint = _LastFingerprint()


def fingerprint(text: str) -> str:
    """Hash of `text` that ignores whitespace, clock times, "updated ..." stamps, "5 minutes ago", view
    counters and request ids: the value the state file stores as `watched_hash`."""
    return _last_fingerprint.of(text or "")


_DIFF_LINES = 40
# Steps the line diff may take (each costs about a microsecond in CPython): past it, the change is shown
# without aligning the texts. difflib.SequenceMatcher took 50 s on 20,000 lines and worse than cubic time
# on repeated lines; Myers' O((N+M)·D) diff below, after the common start and end are set aside, is bounded.
_DIFF_WORK = 300_000
_Op = tuple[bool, int, int, int, int]  # (equal?, i1, i2, j1, j2), as difflib's opcodes


def _diff(old: str, new: str) -> str:
    """A short unified diff of the lines that changed beyond noise (compared denoised, shown as written).

    A change too large to align within the work budget is shown as the lines only in the old text and the
    lines only in the new one, and says that the diff was cut short.
    """
    a, b = old.splitlines(), new.splitlines()
    # Lines equal as written are equal denoised: only the lines between the common start and end are
    # denoised (a regex pass each), so one change in a page of 20,000 lines costs 2 lines, not 40,000.
    same = _common_ends(a, b)
    keys_a = [line if i < same[0] or i >= len(a) - same[1] else _denoise(line) for i, line in enumerate(a)]
    keys_b = [line if i < same[0] or i >= len(b) - same[1] else _denoise(line) for i, line in enumerate(b)]
    ops = _line_opcodes(keys_a, keys_b)
    out = _unaligned(a, b, keys_a, keys_b) if ops is None else _unified(a, b, ops)
    if len(out) > _DIFF_LINES:
        hidden = len(out) - _DIFF_LINES
        out = [*out[:_DIFF_LINES], f"… {hidden} more diff line{'s' if hidden != 1 else ''}"]
    if ops is None:
        out.append("… diff cut short: the texts differ in too many places to align line by line")
    return "\n".join(line if len(line) <= 200 else line[:199] + "…" for line in out)


def _unified(a: list[str], b: list[str], ops: list[_Op]) -> list[str]:
    out: list[str] = []
    for group in _groups(ops):
        first, last = group[0], group[-1]
        out.append(f"@@ -{first[1] + 1},{last[2] - first[1]} +{first[3] + 1},{last[4] - first[3]} @@")
        for equal, i1, i2, j1, j2 in group:
            if equal:
                out.extend(f" {line}" for line in b[j1:j2])
                continue
            out.extend(f"-{line}" for line in a[i1:i2])
            out.extend(f"+{line}" for line in b[j1:j2])
    return out


def _unaligned(a: list[str], b: list[str], keys_a: list[str], keys_b: list[str]) -> list[str]:
    only_a, only_b = set(keys_a) - set(keys_b), set(keys_b) - set(keys_a)
    return [f"-{line}" for line, key in zip(a, keys_a, strict=True) if key in only_a] + [
        f"+{line}" for line, key in zip(b, keys_b, strict=True) if key in only_b
    ]


def _groups(ops: list[_Op], n: int = 1) -> list[list[_Op]]:
    """The changes with ``n`` equal lines around each: difflib's get_grouped_opcodes, on our opcodes."""
    codes = list(ops)
    if not codes:
        return []
    if codes[0][0]:
        _, i1, i2, j1, j2 = codes[0]
        codes[0] = (True, max(i1, i2 - n), i2, max(j1, j2 - n), j2)
    if codes[-1][0]:
        _, i1, i2, j1, j2 = codes[-1]
        codes[-1] = (True, i1, min(i2, i1 + n), j1, min(j2, j1 + n))
    groups: list[list[_Op]] = []
    group: list[_Op] = []
    for equal, i1, i2, j1, j2 in codes:
        if equal and i2 - i1 > 2 * n:
            group.append((True, i1, min(i2, i1 + n), j1, min(j2, j1 + n)))
            groups.append(group)
            group = []
            i1, j1 = max(i1, i2 - n), max(j1, j2 - n)
        group.append((equal, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0]):
        groups.append(group)
    return [g for g in groups if any(not op[0] for op in g)]


def _line_opcodes(a: list[str], b: list[str]) -> list[_Op] | None:
    """Equal and changed runs from ``a`` to ``b``, or None when aligning them would exceed the work budget."""
    n, m = len(a), len(b)
    start, end = _common_ends(a, b)
    middle = _myers(a[start : n - end], b[start : m - end], _DIFF_WORK)
    if middle is None:
        return None
    ops: list[_Op] = [(True, 0, start, 0, start)] if start else []
    ops += [(eq, i1 + start, i2 + start, j1 + start, j2 + start) for eq, i1, i2, j1, j2 in middle]
    if end:
        ops.append((True, n - end, n, m - end, m))
    return ops


def _common_ends(a: list[str], b: list[str]) -> tuple[int, int]:
    """How many lines ``a`` and ``b`` share at their start, and then at their end."""
    n, m = len(a), len(b)
    start = 0
    while start < n and start < m and a[start] == b[start]:
        start += 1
    end = 0
    while end < n - start and end < m - start and a[n - 1 - end] == b[m - 1 - end]:
        end += 1
    return start, end


def _myers(a: list[str], b: list[str], work: int) -> list[_Op] | None:
    """Myers' shortest edit script as runs, giving up (None) when the edit distance needs more than ``work``."""
    n, m = len(a), len(b)
    if not n or not m:
        return [(False, 0, n, 0, m)] if n or m else []
    max_d = min(n + m, work // (n + m))
    off = max_d + 1
    v = [0] * (2 * max_d + 3)
    trace: list[list[int]] = []
    for d in range(max_d + 1):
        trace.append(v[:])
        for k in range(-d, d + 1, 2):
            x = v[off + k + 1] if k == -d or (k != d and v[off + k - 1] < v[off + k + 1]) else v[off + k - 1] + 1
            y = x - k
            while x < n and y < m and a[x] == b[y]:
                x += 1
                y += 1
            v[off + k] = x
            if x >= n and y >= m:
                return _runs(_path(trace, n, m, off))
    return None


def _path(trace: list[list[int]], n: int, m: int, off: int) -> list[tuple[bool, int, int, int, int]]:
    """The moves from (0, 0) to (n, m): (diagonal?, x0, y0, x1, y1) each, walked back through ``trace``."""
    x, y = n, m
    steps: list[tuple[bool, int, int, int, int]] = []
    for d in range(len(trace) - 1, -1, -1):
        v = trace[d]
        k = x - y
        prev_k = k + 1 if k == -d or (k != d and v[off + k - 1] < v[off + k + 1]) else k - 1
        prev_x = v[off + prev_k]
        prev_y = prev_x - prev_k
        while x > prev_x and y > prev_y:
            steps.append((True, x - 1, y - 1, x, y))
            x, y = x - 1, y - 1
        if d > 0:
            steps.append((False, prev_x, prev_y, x, y))
        x, y = prev_x, prev_y
    steps.reverse()
    return steps


def _runs(steps: list[tuple[bool, int, int, int, int]]) -> list[_Op]:
    ops: list[_Op] = []
    for diagonal, x0, y0, x1, y1 in steps:
        if ops and ops[-1][0] == diagonal:
            _, i1, _, j1, _ = ops[-1]
            ops[-1] = (diagonal, i1, x1, j1, y1)
        else:
            ops.append((diagonal, x0, x1, y0, y1))
    return ops


def content_changed(inp: RuleInput) -> list[Finding]:
    """`content-changed` (info): the watched text differs from the last run's, beyond noise.

    The watched region is the entry's `watch` selector, else `main`, else `article`, else the body.
    Whitespace, clock times, "last updated" stamps, relative times, counters and request ids are ignored;
    the evidence is a short unified diff against the last snapshot.
    """
    page, previous = _readable(inp), inp.previous
    if page is None or previous is None or previous.watched_hash is None:
        return []
    if fingerprint(page.watched) == previous.watched_hash:
        return []
    entry = inp.entry
    if not page.watched and entry.watch:
        message = f"The watched region “{entry.watch}” of “{entry.title}” is no longer on the page."
    else:
        message = f"The watched text of “{entry.title}” changed since the last run."
    evidence = {"diff": _diff(previous.watched_text, page.watched)} if previous.watched_text is not None else {}
    return [
        Finding(
            Code.CONTENT_CHANGED,
            message,
            evidence=evidence,
            fix=f"Read the change; if the hub page's description of {entry.where} no longer fits, update it "
            "there (the catalog keeps no description).",
        )
    ]


def title_changed(inp: RuleInput) -> list[Finding]:
    """`title-changed` (info): the page's title differs from the last run's (whitespace and noise aside)."""
    page, previous = _readable(inp), inp.previous
    if page is None or previous is None or previous.title is None:
        return []
    if _denoise(previous.title) == _denoise(page.title):
        return []
    return [
        Finding(
            Code.TITLE_CHANGED,
            f"The page title of “{inp.entry.title}” changed from “{_quote(previous.title, 120)}” "
            f"to “{_quote(page.title, 120)}”.",
            evidence={"before": _quote(previous.title), "after": _quote(page.title)},
            fix=f"If the resource was renamed or replaced, update the title or link of {inp.entry.where}.",
        )
    ]


RULES: list[Rule] = [
    no_url,
    status_unknown,
    status_changed,
    deadline_passed,
    page_deadline_passed,
    marked_outdated,
    expected_text_missing,
    dated_title,
    content_changed,
    title_changed,
]
