"""Content rules: each rule on its own, from catalog entries and extracted pages."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from monitor.extract import extract
from monitor.findings import Code, Finding
from monitor.models import Entry, FetchResult, PageText, Remembered, TextSnapshot
from monitor.rules import RuleInput
from monitor.rules.content import (
    RULES,
    _diff,
    _line_opcodes,
    content_changed,
    dated_mentions,
    dated_title,
    deadline_passed,
    expected_text_missing,
    fingerprint,
    marked_outdated,
    no_url,
    page_deadline_passed,
    status_changed,
    status_unknown,
    title_changed,
)

TODAY = date(2026, 11, 25)
HTML = {"content-type": "text/html; charset=utf-8"}

ARENA = Entry(
    id="arena",
    section="Training programs",
    title="Alignment Research Engineer Accelerator (ARENA)",
    url="https://www.arena.education/",
    status="Applications open soon.",
    line=30,
)
MATS = Entry(
    id="mats",
    section="Training programs",
    title="ML Alignment & Theory Scholars Program (MATS)",
    url="https://www.matsprogram.org/",
    status="Applications for Neel Nanda’s stream close November 10, 2023 11:59 PM (PST); "
    "other streams close November 17, 2023 11:59 PM (PST).",
    line=22,
)
HACKATHON = Entry(
    id="apart-hackathon",
    section="Training programs",
    title="Interpretability Hackathon - Apart Research",
    url="https://alignmentjam.com/jam/interpretability",
    status="Status unknown.",
)
RESOURCE = Entry(id="res", section="Learning Resources", title="A resource", url="https://example.org/post")


def inp(
    entry: Entry,
    page: PageText | None = None,
    *,
    status: int = 200,
    previous: Remembered | None = None,
    truncated: bool = False,
) -> RuleInput:
    fetch = None
    if entry.url:
        fetch = FetchResult(url=entry.url, final_url=entry.url, status=status, truncated=truncated)
    return RuleInput(entry=entry, fetch=fetch, page=page, today=TODAY, previous=previous)


def html_page(body: str, title: str = "Page") -> PageText:
    return extract(f"<html><head><title>{title}</title></head><body>{body}</body></html>".encode(), HTML)


def codes(findings: list[Finding]) -> list[Code]:
    return [f.code for f in findings]


# --- no-url ---------------------------------------------------------------------------------------------------


def test_no_url_quotes_the_catalog_note() -> None:
    entry = Entry(id="tp", section="Learning Resources", title="Working on Remote Machines", url=None,
                  notes="Probably a Google Doc.")  # fmt: skip
    (finding,) = no_url(inp(entry))
    assert finding.code is Code.NO_URL
    assert "no link to check" in finding.message.lower()
    assert finding.evidence == {"notes": "Probably a Google Doc."}
    assert no_url(inp(RESOURCE)) == []


# --- status-unknown -------------------------------------------------------------------------------------------


def test_status_unknown_from_the_catalog_alone() -> None:
    (finding,) = status_unknown(inp(HACKATHON))
    assert finding.code is Code.STATUS_UNKNOWN
    assert finding.evidence == {"hub": "Status unknown."}


def test_status_unknown_offers_the_pages_own_status() -> None:
    page = html_page("<main><p>The hackathon has ended. Registration is closed.</p></main>")
    (finding,) = status_unknown(inp(HACKATHON, page))
    assert finding.evidence["page"] == "Registration is closed."


@pytest.mark.parametrize("status", ["Applications open soon.", "Currently closed.", None])
def test_status_unknown_only_when_the_hub_says_so(status: str | None) -> None:
    assert status_unknown(inp(replace(ARENA, status=status))) == []


# --- status-changed -----------------------------------------------------------------------------------------


def test_status_changed_quotes_both_and_suggests_the_new_line() -> None:
    page = html_page("<main><h1>ARENA</h1><p>Applications for ARENA 7.0 are now closed. Thank you!</p></main>")
    (finding,) = status_changed(inp(ARENA, page))
    assert finding.code is Code.STATUS_CHANGED
    assert finding.evidence == {"hub": "Applications open soon.", "page": "Applications for ARENA 7.0 are now closed."}
    assert "opening-soon" in finding.message and "closed" in finding.message
    assert (
        finding.fix == "Change the status line of entry arena (catalog line 30) to: "
        "“Applications for ARENA 7.0 are now closed.”"
    )


def test_status_changed_when_the_page_gives_a_new_deadline() -> None:
    page = html_page("<main><p>Applications are now open. Apply by June 7th.</p><p>Our scholars apply ML.</p></main>")
    (finding,) = status_changed(inp(MATS, page))
    assert finding.code is Code.STATUS_CHANGED
    assert "June 7, 2026" in finding.message
    assert finding.evidence["page"] == "Apply by June 7th."
    assert finding.fix is not None and finding.fix.endswith("“Applications are now open. Apply by June 7th.”")


def test_no_change_when_the_page_still_says_it() -> None:
    page = html_page("<main><p>Applications for ARENA 8.0 open soon. ARENA 7.0 applications are closed.</p></main>")
    assert status_changed(inp(ARENA, page)) == []


@pytest.mark.parametrize(
    ("page", "why"),
    [
        (html_page("<main><p>We teach ML engineering for alignment.</p></main>"), "no sentence about applications"),
        (PageText(text="Loading…", js_rendered=True), "JavaScript"),
    ],
)
def test_cannot_tell_is_information_not_a_change(page: PageText, why: str) -> None:
    (finding,) = status_changed(inp(ARENA, page))
    assert finding.code is Code.STATUS_UNVERIFIED
    assert finding.severity.value == "info"
    assert why in finding.message


def test_status_rules_need_a_page_that_is_the_resource() -> None:
    page = html_page("<main><p>Applications are closed.</p></main>")
    # A 404 page's text is about the error; links.py reports the failure.
    assert status_changed(inp(ARENA, page, status=404)) == []
    assert status_changed(inp(ARENA, None)) == []


# --- deadline-passed ----------------------------------------------------------------------------------------


def test_deadline_passed_names_the_date_and_how_long_ago() -> None:
    (finding,) = deadline_passed(inp(MATS))  # no page: works from the catalog alone
    assert finding.code is Code.DEADLINE_PASSED
    assert "November 17, 2023" in finding.message
    assert "3 years ago" in finding.message
    assert "America/Los_Angeles" in finding.evidence["deadlines"]
    assert finding.fix is not None and "next round" in finding.fix and "https://www.matsprogram.org/" in finding.fix


@pytest.mark.parametrize(
    ("status", "passed"),
    [
        ("Applications are now open. Apply by June 7th", True),  # the June just gone
        ("Apply by November 24, 2026", True),
        ("Apply by November 25, 2026", False),  # today is not yet past
        ("Applications close January 5", False),
        ("Applications open soon.", False),
    ],
)
def test_deadline_passed_against_today(status: str, passed: bool) -> None:
    assert bool(deadline_passed(inp(replace(ARENA, status=status)))) is passed


# --- deadline-passed on the page ------------------------------------------------------------------------------

OPEN_HUB = replace(ARENA, status="Applications are open.")
# https://cpo.noaa.gov/Meet-the-Divisions/Climate-and-Societal-Interactions/The-Adaptation-Sciences-Program/NOFO-FAQ
NOAA = "Full applications must be received by 5:00 p.m. Eastern Time, November 30, 2020."


def test_the_pages_own_passed_deadline_is_reported_when_the_hub_says_open() -> None:
    page = html_page(f"<main><h1>NOFO FAQ</h1><p>{NOAA}</p><p>Contact the program office.</p></main>")
    (finding,) = page_deadline_passed(inp(OPEN_HUB, page))
    assert finding.code is Code.DEADLINE_PASSED
    assert finding.evidence["source"] == "page"
    assert finding.evidence["page"] == NOAA
    assert finding.evidence["hub"] == "Applications are open."
    assert finding.evidence["deadline"] == "2020-11-30"
    assert "America/New_York" in finding.evidence["deadlines"]
    assert "November 30, 2020" in finding.message and "5 years ago" in finding.message


@pytest.mark.parametrize(
    "body",
    [
        # A past round beside a current one (issue 11's example): the page still takes applications.
        "<p>Round 1 closed March 1, 2026. Round 2 closes December 1, 2026.</p>",
        # The past deadline beside a later round that opens soon.
        f"<p>{NOAA}</p><p>Applications for the next round will open in January.</p>",
        # https://www.nsf.gov/... (corpus: "The next fellowship submission deadline is 24 August 2017.") beside an
        # open call for a later year.
        "<p>The next fellowship submission deadline is 24 August 2017.</p><p>Applications for 2027 are open.</p>",
        # A deadline without a year may be this year's.
        "<p>Application deadline March 11</p>",
        "<p>We teach ML engineering for alignment.</p>",
    ],
)
def test_no_page_deadline_alarm_while_the_page_has_a_current_call(body: str) -> None:
    assert page_deadline_passed(inp(OPEN_HUB, html_page(f"<main>{body}</main>"))) == []


@pytest.mark.parametrize(
    "status",
    [
        "Applications close June 7, 2024.",  # the hub's own deadline: the hub-side rule reports it
        "Applications open soon.",
        "Currently closed.",
    ],
)
def test_page_deadline_only_against_a_hub_that_says_open_without_a_date(status: str) -> None:
    page = html_page(f"<main><p>{NOAA}</p></main>")
    assert page_deadline_passed(inp(replace(ARENA, status=status), page)) == []


def test_page_deadline_needs_the_page_itself() -> None:
    page = html_page(f"<main><p>{NOAA}</p></main>")
    assert page_deadline_passed(inp(OPEN_HUB, page, status=404)) == []
    assert page_deadline_passed(inp(OPEN_HUB, PageText(text=NOAA, js_rendered=True))) == []


# --- marked-outdated ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "quote"),
    [
        ("<main><p><em>This post is out of date, see v2 here</em></p><p>Papers...</p></main>",
         "This post is out of date, see v2 here"),
        ("<main><div class=flash>This repository has been archived by the owner on May 2, 2023. It is now read-only."
         "</div><article>README</article></main>",
         "This repository has been archived by the owner on May 2, 2023."),
        ("<main><p>EDIT 19/7/24: This sequence is now two years old, and fairly out of date. I no longer recommend "
         "it as a reliable source of problems worth working on.</p></main>",
         "EDIT 19/7/24: This sequence is now two years old, and fairly out of date."),
        ("<main><p>I no longer recommend this guide.</p></main>", "I no longer recommend this guide."),
        ("<main><p>DEPRECATED: use the new library instead.</p></main>", "DEPRECATED: use the new library instead."),
        ("<main><p>This project is no longer maintained.</p></main>", "This project is no longer maintained."),
        # abandoned pages say it in other words (#11)
        ("<main><p>This site is archived; my writing now lives elsewhere.</p></main>",
         "This site is archived; my writing now lives elsewhere."),
        ("<main><p>Note: this blog has moved to a new address.</p></main>",
         "Note: this blog has moved to a new address."),
        ("<main><p>WE HAVE MOVED! Please visit us at our new site.</p></main>",
         "WE HAVE MOVED! Please visit us at our new site."),
        ("<main><p>We’ve moved to Substack.</p></main>", "We’ve moved to Substack."),
        ("<main><p>This list is no longer updated.</p></main>", "This list is no longer updated."),
    ],
)  # fmt: skip
def test_marked_outdated_quotes_the_sentence(body: str, quote: str) -> None:
    (finding,) = marked_outdated(inp(RESOURCE, html_page(body)))
    assert finding.code is Code.MARKED_OUTDATED
    assert finding.evidence["quote"] == quote
    assert finding.message.startswith("The page linked for")


def test_marked_outdated_by_title() -> None:
    page = html_page("<main><p>Papers.</p></main>", title="[Old] An Extremely Opinionated Annotated List")
    (finding,) = marked_outdated(inp(RESOURCE, page))
    assert finding.evidence == {"quote": "[Old] An Extremely Opinionated Annotated List"}
    assert finding.message.startswith("The title of the page linked for")


@pytest.mark.parametrize(
    "body",
    [
        # A discussion of deprecation, not a notice about the page.
        "<main><p>How to migrate off deprecated APIs in PyTorch.</p></main>",
        # A notice deep in the page belongs to something else (a quoted repo, a comment).
        "<main><p>Intro.</p>" + "<p>" + "Plenty of current content. " * 120 + "</p>"
        "<p>This repository has been archived by the owner.</p></main>",
    ],
)
def test_marked_outdated_ignores_discussion(body: str) -> None:
    assert marked_outdated(inp(RESOURCE, html_page(body))) == []


# --- expected-text-missing ------------------------------------------------------------------------------


def test_expected_text_missing_each_phrase() -> None:
    entry = replace(RESOURCE, expect=("The core design principle I’ve followed", "exploratory  ANALYSIS", "GPT-2"))
    page = html_page("<main><p>The core design principle I've followed is to enable\nexploratory analysis.</p></main>")
    (finding,) = expected_text_missing(inp(entry, page))
    assert finding.code is Code.EXPECTED_TEXT_MISSING
    assert finding.evidence == {"expected": "GPT-2"}


def test_expected_text_missing_says_when_the_page_was_cut() -> None:
    entry = replace(RESOURCE, expect=("tail phrase",))
    (finding,) = expected_text_missing(inp(entry, html_page("<p>head</p>"), truncated=True))
    assert "only the first part" in finding.message


# --- dated-title --------------------------------------------------------------------------------------------


def test_dated_title_from_the_hub_title() -> None:
    entry = Entry(id="mats-training", section="Learning Resources", url=None,
                  title="Neel Nanda’s MATS Training Program 2023-2024")  # fmt: skip
    (finding,) = dated_title(inp(entry))
    assert finding.code is Code.DATED_TITLE
    assert "2023-2024" in finding.message and "2024-12-31" in finding.message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("collected and written by Neel Nanda at the end of 2022.", ["end of 2022"]),
        ("Neel Nanda’s MATS Training Program 2023-2024", ["2023-2024"]),
        ("over the summer and winter 2023-2024 cohorts", ["winter 2023-2024"]),
        ("Notes from summer 2024 and Q3 2025", ["summer 2024", "Q3 2025"]),
        ("Written in November 2024", ["November 2024"]),
        # Within the year of grace, or not a period at all.
        ("Applications for the Winter 2024-25 program are now closed", []),
        ("ARENA 2026 cohort", []),
        ("200 Concrete Open Problems in Mechanistic Interpretability", []),
        ("GPT-2 small", []),
        # Full dates are deadlines, read by deadline-passed.
        ("Applications close November 10, 2023 11:59 PM (PST)", []),
    ],
)
def test_dated_mentions(text: str, words: list[str]) -> None:
    assert [w for w, _ in dated_mentions(text, TODAY)] == words


# --- content-changed and title-changed -----------------------------------------------------------------------

CLOCK_PAGE = """<html><head><title>Compute notes</title></head><body><main>
<p>Server time: {time} UTC. Page generated in {ms} ms. {views} views.</p>
<p>Last updated {day}.</p>
<p>Request id {rid}</p>
<p>Use a cloud GPU for anything bigger than GPT-2 small. Apply by {deadline}.</p>
</main></body></html>"""


def clock_page(time: str = "13:45:02", ms: str = "34", views: str = "1,234", day: str = "November 24, 2026",
               rid: str = "3f2a9c1e-0b7d-4e55-9a61-2c8f0d4b7e13", deadline: str = "June 7") -> PageText:  # fmt: skip
    body = CLOCK_PAGE.format(time=time, ms=ms, views=views, day=day, rid=rid, deadline=deadline)
    return extract(body.encode(), HTML)


def remembered(page: PageText) -> Remembered:
    return Remembered(title=page.title, watched_hash=fingerprint(page.watched), snapshot=TextSnapshot(page.watched))


def test_noise_is_not_drift() -> None:
    before = clock_page()
    after = clock_page(time="09:01:59", ms="51", views="1,240", day="November 25, 2026",
                       rid="9d0e7b3a-5c21-4f08-8e6b-71a4c2d9f005")  # fmt: skip
    assert before.watched != after.watched
    assert fingerprint(before.watched) == fingerprint(after.watched)
    assert content_changed(inp(RESOURCE, after, previous=remembered(before))) == []
    assert fingerprint("a  b\n\n c") == fingerprint("a b\nc")


def test_noise_never_reaches_across_a_line_break() -> None:
    from monitor.rules.content import _NOISE, _denoise

    def line_by_line(text: str) -> str:
        lines = []
        for line in text.splitlines():
            line = " ".join(line.split())
            for pattern, token in _NOISE:
                line = pattern.sub(token, line)
            if line:
                lines.append(line)
        return "\n".join(lines)

    text = ("Opens at 12:30\nPST rules apply\nviews\n 1,204 people\nLast updated\nJune 3, 2026\n"
            "took 5\nms\n\t\n3 minutes ago\u00a0 here\nEdited JUST NOW\nan hour ago by A\n"
            "1700000000 2026-11-25T09:01:59Z")  # fmt: skip
    assert _denoise(text) == line_by_line(text)


def test_real_drift_comes_with_a_short_diff() -> None:
    before = clock_page()
    after = clock_page(time="09:01:59", deadline="June 14")
    (finding,) = content_changed(inp(RESOURCE, after, previous=remembered(before)))
    assert finding.code is Code.CONTENT_CHANGED
    diff = finding.evidence["diff"].splitlines()
    assert diff[0].startswith("@@")
    assert "-Use a cloud GPU for anything bigger than GPT-2 small. Apply by June 7." in diff
    assert "+Use a cloud GPU for anything bigger than GPT-2 small. Apply by June 14." in diff
    # The clock line changed too, but only as noise: it is not shown as a change.
    assert not any(line.startswith(("-Server", "+Server")) for line in diff)


def test_watched_region_gone() -> None:
    entry = replace(RESOURCE, watch="#status")
    before = PageText(watched="Applications open soon.")
    (finding,) = content_changed(inp(entry, PageText(watched=""), previous=remembered(before)))
    assert "“#status”" in finding.message and "no longer on the page" in finding.message


def test_first_run_has_nothing_to_compare() -> None:
    assert content_changed(inp(RESOURCE, clock_page(), previous=None)) == []
    assert title_changed(inp(RESOURCE, clock_page(), previous=Remembered())) == []


def test_title_changed() -> None:
    previous = Remembered(title="Mechanistic Interpretability Quickstart Guide")
    page = html_page("<p>x</p>", title="How To Become A Mechanistic Interpretability Researcher")
    (finding,) = title_changed(inp(RESOURCE, page, previous=previous))
    assert finding.code is Code.TITLE_CHANGED
    assert finding.evidence == {"before": "Mechanistic Interpretability Quickstart Guide",
                                "after": "How To Become A Mechanistic Interpretability Researcher"}  # fmt: skip
    same = html_page("<p>x</p>", title="Mechanistic  Interpretability Quickstart Guide")
    assert title_changed(inp(RESOURCE, same, previous=previous)) == []


# --- the registry -------------------------------------------------------------------------------------------


def test_catalog_rules_work_without_a_page() -> None:
    findings = [f for rule in RULES for f in rule(inp(MATS, None, status=503))]
    assert codes(findings) == [Code.DEADLINE_PASSED]
    unknown = [f for rule in RULES for f in rule(inp(HACKATHON, None))]
    assert codes(unknown) == [Code.STATUS_UNKNOWN]


def test_every_rule_is_documented_and_pure() -> None:
    page = clock_page()
    for rule in RULES:
        assert rule.__doc__, rule.__name__
        assert rule(inp(ARENA, page, previous=remembered(page))) == rule(inp(ARENA, page, previous=remembered(page)))


# The _denoise that looked for noisy lines one line at a time; kept as the reference for the one that searches
# the joined lines (fingerprints are stored in state files: the two must agree on every text).
def _reference_denoise(text: str) -> str:
    import re

    from monitor.rules.content import _NOISE_IN_LINES

    digit = re.compile(r"\d")

    def may_be_noisy(line: str) -> bool:
        if digit.search(line):
            return True
        folded = line.casefold()
        return "ago" in folded or "just now" in folded

    lines = [line for line in (" ".join(raw.split()) for raw in text.splitlines()) if line]
    noisy = [i for i, line in enumerate(lines) if may_be_noisy(line)]
    if noisy:
        joined = "\n".join(lines[i] for i in noisy)
        for pattern, token in _NOISE_IN_LINES:
            joined = pattern.sub(token, joined)
        for i, line in zip(noisy, joined.split("\n"), strict=True):
            lines[i] = line
    return "\n".join(lines)


_NOISY_WORDS = [
    "word", "Words", "Apply by June 7.", "12:30", "9:01:59 PM", "(PST)", "2026-11-25T09:01:59Z", "2026-11-25",
    "Last updated", "June 3, 2026", "updated: 3 March 2026", "1,240 views", "views: 12", "5 minutes ago",
    "an hour ago", "a few seconds ago", "just now", "JUST NOW", "Just  Now", "AGO", "Ago", "agony", "Chicago",
    "ag", "o", "just", "now", "juſt now", "took 5 ms", "in 0.3s", "9d0e7b3a-5c21-4f08-8e6b-71a4c2d9f005",
    "5f3e2a1b9c8d7e6f5a4b3c2d1e0f", "1700000000", "0", "7", "42", "\n9 views", "8:45", "٣ views", "３:４５",
    # The words and shapes each pattern's gate looks for, and characters re.I takes for their ASCII letters.
    "Retrieved", "built", "buılt", "MODİFİED", "ſerver time", "as of", "Today is", "page loaded", "3 March 2026",
    "2026-01-01", "12/03/2026", "09:01", "٣:٤٥", "T", "-", ":", "1,200", "stars", "3K", "followers", "downloads:",
    "Views (12)", "likes", "online", "ın", "İN", "tooK", "took", "5", "ſ", "S", "MS", "seconds", "0.3", "deadbeef",
    "DEADBEEF", "0123456789abcdef01234567", "9d0e7b3a", "-5c21", "1500000000000",
    # Digits that are not ASCII (\d matches them), characters whose casefold is longer or differs.
    "٣", "３", "߁", "𝟘", "ß", "ẞ", "ﬀ", "İ", "ŉ", "ẚ", "Σ", "ꭰ", "’", "é", "\u00a0", "\u200b",
    # Every line break str.splitlines knows, and empty lines.
    "\n", "\n\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", " ", "\t",
]  # fmt: skip


@settings(max_examples=500, deadline=None, database=None)
@given(
    text=st.one_of(
        st.lists(st.sampled_from(_NOISY_WORDS), max_size=60).map(" ".join),
        st.lists(st.sampled_from(_NOISY_WORDS), max_size=60).map("".join),
        st.lists(st.one_of(st.sampled_from(_NOISY_WORDS), st.text(max_size=10)), max_size=40).map("".join),
        # A very long line with noise at its end, between short lines.
        st.tuples(st.integers(0, 5000), st.sampled_from(_NOISY_WORDS), st.sampled_from(_NOISY_WORDS)).map(
            lambda t: f"{t[1]}\n" + "word " * t[0] + f"{t[2]}\nshort\n{t[1]}"
        ),
        st.text(max_size=300),
        # Noise with one digit, each digit, at the start of a line right after another noisy line.
        st.lists(
            st.tuples(
                st.sampled_from(["\n", "\r\n", " ", "", "é\n"]),
                st.integers(0, 9),
                st.sampled_from([" views", ":45", " stars", " minutes ago", "", "x"]),
            ).map(lambda t: f"{t[0]}{t[1]}{t[2]}"),
            max_size=12,
        ).map("".join),
    )
)
@example("1\n2 views")
@example("é1\n2 views")
@example("a\n٣ views")
def test_denoise_matches_the_line_by_line_search(text: str) -> None:
    import hashlib

    from monitor.rules.content import _denoise

    assert _denoise(text) == _reference_denoise(text)
    assert fingerprint(text) == hashlib.sha256(_reference_denoise(text).encode("utf-8", "replace")).hexdigest()



# One instance of each noise each pattern's gate must let through: every stamp word and counter word, each shape.
_NOISE_INSTANCES = [
    "2026-11-25T09:01:59Z", "2026-11-25 09:01", "٢٠٢٦-١١-٢٥ ٠٩:٠١", "Last updated 3 March 2026", "Modified: 2026-01-02",
    "last edited June 3, 2026", "Last checked 1/2/2026", "Built on 3 March 2026", "Generated 2026-01-02",
    "Rendered 12.03.2026", "Fetched Tuesday, March 3, 2026", "Retrieved 3 March 2026", "As of March 3, 2026",
    "Current time: 3/3/2026", "Server time 2026-03-03", "Today is 3 March 2026", "Page loaded 3/3/26",
    "MODİFİED 3 March 2026", "buılt 2026-01-01", "ſerver time 2026-03-03", "12:30", "٣:٤٥", "9:01 PM (PST)",
    "5 minutes ago", "1 DAY AGO", "an hour ago", "a few seconds ago", "Just now", "JUſT NOW", "1,240 views",
    "12 visits", "3 visitors", "5 reads", "1.2k stars", "9 forks", "4 watchers", "2 comments", "5 karma",
    "10 points", "3 votes", "7 likes", "1M downloads", "5 followers", "8 clicks", "12 online", "3 reactions",
    "Views: 12", "visitors (5)", "Stars 5", "forks: 2", "watchers 3", "comments: 9", "karma 7", "downloads 5k",
    "followers: 12", "in 5 ms", "took 0.3s", "IN 5 S", "TOOK 3 MS", "ın 5 ſeconds", "took 2 ſ", "tooK 1 s",
    "9d0e7b3a-5c21-4f08-8e6b-71a4c2d9f005", "9D0E7B3A5C214F088E6B71A4C2D9F005", "deadbeefdeadbeefdeadbeef1",
    "DEADBEEFDEADBEEFDEADBEEF1", "1700000000", "1500000000000",
]  # fmt: skip


@pytest.mark.parametrize("noise", _NOISE_INSTANCES)
@pytest.mark.parametrize("around", ["{}", "Intro\n{} here\n3 apples", "Intro 2024\nword {} word\nend"])
def test_each_noise_is_taken_as_without_the_gates(noise: str, around: str) -> None:
    from monitor.rules.content import _denoise

    text = around.format(noise)
    assert _denoise(text) == _reference_denoise(text) != " ".join(text.split(" "))

# marked_outdated before the word prefilter: _OUTDATED searched in every region. Kept as the reference.
def _reference_marked_outdated(page: PageText) -> list[Finding]:
    from monitor.rules.content import _OUTDATED, _OUTDATED_TITLE, _TOP_CHARS, _outdated, _sentence_around

    if _OUTDATED_TITLE.search(page.title):
        return [_outdated(RESOURCE, page.title, "The title of the page")]
    for region in (page.watched[:_TOP_CHARS], page.text[:_TOP_CHARS]):
        match = _OUTDATED.search(region)
        if match:
            return [_outdated(RESOURCE, _sentence_around(region, match.start(), match.end()), "The page")]
    return []


_OUTDATED_PARTS = [
    "This post", "this guide", "These docs", "The following list", "is", "are", "has been", "was", "now", "sadly",
    "out of date", "Out-Of-Date", "outdated", "DEPRECATED", "obsolete", "unmaintained", "archived", "superseded",
    "stale", "no longer maintained", "No longer being updated", "no longer", "accurate", "repository", "by the owner",
    "see", "See", "the", "v2", "version 3", "newer version", "new version", "updated version", "please", "I", "don't",
    "do not", "recommend", "endorse", "stand by", "[Deprecated]", "[", "Archived", ",", ".", "!", "?", "\n", " ",
    "\t", "word", "é", "’", "moved", "removed", "recommended", "we've", "my blog", "now lives", "v\u0663",
    # Characters re.IGNORECASE matches to ASCII letters of the words.
    "ſee v2", "obſolete", "archıved", "ARCHİVED", "\u212a", "ſtale", "ſuperſeded", "unmaıntaıned",
]  # fmt: skip


# One notice for each of the words the prefilter looks for, holding no other of them.
_OUTDATED_NOTICES = [
    "This post is stale.", "This guide is out-of-date.", "This library is unmaintained.", "These docs are obsolete.",
    "This page was superseded.", "This repo has been deprecated.", "This project is archived.",
    "This page is outdated.", "This guide is out of date.", "This package is no longer supported.",
    "Repository has been archived by the owner.", "Out of date, please see the wiki.", "See v2.", "See the v3 docs.",
    "See version 2", "See the newer version", "See new version", "see updated version", "See the updated version",
    "Superseded by X.", "I don't recommend it.", "I do not endorse this.", "I don't stand by this.",
    "No longer maintained.", "[Deprecated] x", "Archived", "obsolete", "  Outdated", "Thiſ poſt iſ ſtale.",
    "ſee the v3 docs.", "I don't ſtand by this.", "THIS PAGE IS ARCHİVED", "This blog has moved.",
    "We’ve moved to a new home.", "We have moved.", "Our posts now live elsewhere.", "See v\u0663 for more.",
]  # fmt: skip


@settings(max_examples=500, deadline=None, database=None)
@given(
    watched=st.one_of(
        st.lists(st.sampled_from(_OUTDATED_PARTS), max_size=30).map(" ".join),
        st.tuples(
            st.lists(st.sampled_from(["word", "é", "\n", ".", " "]), max_size=5).map(" ".join),
            st.sampled_from(_OUTDATED_NOTICES),
            st.sampled_from(["", " word", "\nmore"]),
        ).map("".join),
    ),
    before=st.lists(st.sampled_from(_OUTDATED_PARTS), max_size=30).map("".join),
    padding=st.one_of(st.integers(0, 2100), st.just(2100)),
    title=st.sampled_from(["Page", "[Old] Page", "(deprecated) x", "Old"]),
)
def test_marked_outdated_matches_the_search_without_prefilter(
    watched: str, before: str, padding: int, title: str
) -> None:
    # The page's own text has `watched` after some padding, so it may fall inside or outside the top of the page.
    page = PageText(title=title, text=before + "word " * (padding // 5) + watched, watched=watched)
    assert marked_outdated(inp(RESOURCE, page)) == _reference_marked_outdated(page)


@pytest.mark.parametrize("notice", _OUTDATED_NOTICES)
def test_each_outdated_notice_is_found_as_before(notice: str) -> None:
    page = PageText(title="Page", text="word " * 500 + notice, watched=f"Intro.\n{notice}")
    assert marked_outdated(inp(RESOURCE, page)) == _reference_marked_outdated(page) != []


# --- the drift diff is bounded (issue 12, B7) --------------------------------------------------------------


def test_one_change_in_twenty_thousand_lines_is_one_small_diff() -> None:
    # SequenceMatcher(autojunk=False) took 50 s on this; the diff sets the common start and end aside first.
    old = ["the same line"] * 20_000
    new = [*old[:12_345], "the one changed line", *old[12_346:]]
    assert _diff("\n".join(old), "\n".join(new)) == (
        "@@ -12345,3 +12345,3 @@\n the same line\n-the same line\n+the one changed line\n the same line"
    )


def test_a_diff_too_costly_to_align_is_cut_short_and_says_so() -> None:
    # Repeated lines made SequenceMatcher worse than cubic: 2.4 s for 300 lines, 60 s for 1,000.
    old = "\n".join(["x"] * 5_000)
    new = "\n".join("x" if i % 2 else f"y{i}" for i in range(5_000))
    diff = _diff(old, new)
    assert diff.endswith("… diff cut short: the texts differ in too many places to align line by line")
    assert "+y0" in diff and len(diff.splitlines()) <= 42


@given(
    st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=12),
    st.lists(st.sampled_from(["a", "b", "c", "e"]), max_size=12),
)
@settings(max_examples=300, deadline=None)
def test_the_line_diff_is_a_shortest_edit_script(a: list[str], b: list[str]) -> None:
    import difflib

    ops = _line_opcodes(a, b)
    assert ops is not None
    assert [x for eq, i1, i2, _, _ in ops for x in a[i1:i2]] == a
    assert [x for eq, _, _, j1, j2 in ops for x in b[j1:j2]] == b
    assert all(a[i1:i2] == b[j1:j2] for eq, i1, i2, j1, j2 in ops if eq)
    # As short as difflib's: no more lines changed than the longest matching its blocks leave.
    matched = sum(size for _, _, size in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks())
    assert sum(i2 - i1 for eq, i1, i2, _, _ in ops if eq) >= matched


def test_fingerprint_of_a_page_just_read_is_that_of_the_same_text_anywhere_else() -> None:
    # fingerprint() trusts the tidiness of the texts extract() has just returned: the hash must not depend on it.
    body = (b"<main><h1>Grants</h1>\n<p>Updated  12:30 \t today</p><ul><li> One </li><li>Two\xc2\xa0three</li></ul>"
            b"<pre>a\n\n  b</pre><p>Last updated 3 March 2026, 1,204 views.</p></main>")
    page = extract(body, {"content-type": "text/html; charset=utf-8"})
    elsewhere = "".join(list(page.watched))  # equal, but another string object
    assert elsewhere is not page.watched
    assert fingerprint(page.watched) == fingerprint(elsewhere) == fingerprint(page.watched.replace("\n", "\n\n"))
