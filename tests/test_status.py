"""Status text: the hub's real wordings, the pages' wordings, and the hard date cases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.status import State, classify, find_status_sentences, parse_deadlines

TODAY = date(2026, 11, 25)
LA = ZoneInfo("America/Los_Angeles")
NY = ZoneInfo("America/New_York")
PDT = timezone(timedelta(hours=-7))
PST = timezone(timedelta(hours=-8))
AOE = timezone(timedelta(hours=-12))
MATS_HUB = (
    "Applications for Neel Nanda’s stream close November 10, 2023 11:59 PM (PST); "
    "other streams close November 17, 2023 11:59 PM (PST)."
)


@pytest.mark.parametrize(
    ("text", "state"),
    [
        ("Applications open soon.", State.OPENING_SOON),
        ("Applications are now open. Apply by June 7th", State.OPEN),
        (MATS_HUB, State.OPEN),
        ("Applications for ARENA 7.0 are now closed", State.CLOSED),
        ("Applications for the Winter 2024-25 program are now closed", State.CLOSED),
        ("Currently closed.", State.CLOSED),
        ("We are no longer accepting applications for this cohort.", State.CLOSED),
        ("We're not currently accepting applications.", State.CLOSED),
        ("Applications are not currently open.", State.CLOSED),
        ("Expressions of interest", State.OPENING_SOON),
        ("Submit an expression of interest for the next cohort.", State.OPENING_SOON),
        ("Applications are not yet open.", State.OPENING_SOON),
        ("Applications are reviewed on a rolling basis.", State.ROLLING),
        ("Status unknown.", State.UNKNOWN),
        ("Applications for the 2024 cohort close soon.", State.OPEN),
        ("Apply now!", State.OPEN),
        # Both at once: the one a reader can act on wins.
        ("ARENA 7.0 applications are closed. Expressions of interest for 8.0 are welcome.", State.OPENING_SOON),
        # Says nothing about applications.
        ("Maintained by MATS.", State.UNKNOWN),
        (
            "The following funders might be receptive to grant requests for mechanistic interpretability research:",
            State.UNKNOWN,
        ),
        ("", State.UNKNOWN),
    ],
)
def test_classify_state(text: str, state: State) -> None:
    assert classify(text, TODAY).state is state


def test_status_unknown_is_a_statement_not_silence() -> None:
    assert classify("Status unknown.", TODAY).says_unknown
    assert not classify("Maintained by MATS.", TODAY).says_unknown


def test_classify_carries_deadlines() -> None:
    reading = classify("Applications are now open. Apply by June 7th", TODAY)
    assert [d.local_date for d in reading.deadlines] == [date(2026, 6, 7)]
    assert reading.signal == "Applications are now open"


def test_mats_hub_status_pst_in_november() -> None:
    first, second = parse_deadlines(MATS_HUB, TODAY)
    assert first.clause == "close November 10, 2023 11:59 PM (PST)"
    assert first.when == datetime(2023, 11, 10, 23, 59, tzinfo=LA)
    assert first.when.utcoffset() == timedelta(hours=-8)
    assert first.zone == "America/Los_Angeles"
    assert second.when == datetime(2023, 11, 17, 23, 59, tzinfo=LA)


def _one(text: str, today: date = TODAY) -> datetime:
    (deadline,) = parse_deadlines(text, today)
    return deadline.when


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A "PST" deadline in June is daylight time: the zone, not the label, decides the offset.
        ("Applications close June 7, 2024 11:59 PM PST", datetime(2024, 6, 7, 23, 59, tzinfo=PDT)),
        ("Applications due June 7, 2024 5pm PDT", datetime(2024, 6, 7, 17, 0, tzinfo=PDT)),
        ("Deadline: 1 December 2024, 9am PT", datetime(2024, 12, 1, 9, 0, tzinfo=PST)),
        ("Apply by 7 June 2024 (AoE)", datetime(2024, 6, 7, 23, 59, 59, tzinfo=AOE)),
        ("Applications close at 11:59pm AoE on 7 June 2024", datetime(2024, 6, 7, 23, 59, tzinfo=AOE)),
        ("Submissions due 2025-03-01", datetime(2025, 3, 1, 23, 59, 59, tzinfo=UTC)),
        ("Applications close 2025-03-01T17:00 UTC", datetime(2025, 3, 1, 17, 0, tzinfo=UTC)),
        ("The deadline is the 10th of June, 2024 at 5 p.m. ET", datetime(2024, 6, 10, 17, 0, tzinfo=NY)),
        ("Open until March 3rd, 2025 (GMT)", datetime(2025, 3, 3, 23, 59, 59, tzinfo=UTC)),
        ("Apply by 3 March 2025 at noon BST", datetime(2025, 3, 3, 12, 0, tzinfo=ZoneInfo("Europe/London"))),
        ("Apply by Monday, 2 June 2025, 18:00 CET", datetime(2025, 6, 2, 18, 0, tzinfo=ZoneInfo("Europe/Berlin"))),
        ("Applications close June 2nd 2025 at midnight UTC+2",
         datetime(2025, 6, 2, 23, 59, 59, tzinfo=timezone(timedelta(hours=2)))),
    ],
)  # fmt: skip
def test_parse_deadline(text: str, expected: datetime) -> None:
    when = _one(text)
    assert when == expected
    assert when.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        # No year: the occurrence nearest today. In late November "June 7th" is the June just gone...
        ("Apply by June 7th", date(2026, 11, 25), date(2026, 6, 7)),
        # ...and "January 5" the coming one.
        ("Applications close January 5", date(2026, 11, 25), date(2027, 1, 5)),
        ("Apply by June 7th", date(2026, 3, 1), date(2026, 6, 7)),
    ],
)
def test_date_without_year_is_nearest_to_today(text: str, today: date, expected: date) -> None:
    assert _one(text, today).date() == expected


def test_date_without_year_takes_the_year_from_its_context() -> None:
    text = "Our stream closes November 10, 2023; others close November 17"
    dates = [d.local_date for d in parse_deadlines(text, TODAY)]
    assert dates == [date(2023, 11, 10), date(2023, 11, 17)]


def test_date_without_time_is_end_of_day_and_without_zone_is_utc() -> None:
    (deadline,) = parse_deadlines("Apply by June 7, 2024", TODAY)
    assert deadline.when == datetime(2024, 6, 7, 23, 59, 59, tzinfo=UTC)
    assert not deadline.zone_stated


@pytest.mark.parametrize(
    "text",
    [
        "Applications for the 2024 cohort close soon.",  # "the 2024" is not a date
        "Apply by the 2024 deadline.",
        "Written by Neel Nanda in 2022.",
        "ARENA 7.0 closed due to high demand.",
        "Applications for ARENA 7.0 are now closed",
        "Applications close in 3 days.",
        "Apply by Friday.",
        "",
    ],
)
def test_no_deadline(text: str) -> None:
    assert parse_deadlines(text, TODAY) == []


def test_dates_outside_a_deadline_clause_are_ignored() -> None:
    text = "The course ran from June 1, 2024 to July 5, 2024. Applications close August 1, 2025."
    assert [d.local_date for d in parse_deadlines(text, TODAY)] == [date(2025, 8, 1)]


def test_find_status_sentences_on_a_page() -> None:
    page = (
        "MATS\nHome About Apply\n"
        "Applications are now open. Apply by June 7th. Our scholars apply their skills to real research.\n"
        "The summer cohort starts in June.\n"
        "Applications for the Winter 2024-25 program are now closed.\n"
        "How do I apply? See the FAQ."
    )
    assert find_status_sentences(page) == [
        "Applications are now open.",
        "Apply by June 7th.",
        "Applications for the Winter 2024-25 program are now closed.",
    ]


def test_find_status_sentences_ignores_pages_about_other_things() -> None:
    page = "TransformerLens\nA library for interpretability.\nInstall with pip. Open an issue to report bugs."
    assert find_status_sentences(page) == []


@settings(max_examples=300, deadline=None, database=None)
@given(
    text=st.one_of(
        st.text(max_size=300),
        st.lists(
            st.sampled_from(["close", "by", "due", "until", "deadline:", "June", "Feb", "29", "31st", "7th", "2024",
                             "11:59", "PM", "(PST)", "AoE", "UTC+99", "GMT-13", "the", "of", "9999-99-99", "2023-02-29",
                             "noon", "midnight", "T25:00", ",", "open", "closed", "soon", " "]),
            max_size=30,
        ).map(" ".join),
    ),
    today=st.dates(min_value=date(1901, 1, 1), max_value=date(2098, 12, 31)),
)  # fmt: skip
def test_never_raises(text: str, today: date) -> None:
    reading = classify(text, today)
    assert reading.state in State
    for deadline in parse_deadlines(text, today):
        assert deadline.when.tzinfo is not None
    find_status_sentences(text)


# The line-by-line scan that _find_status_sentences replaced with one search of the lower-cased page for the
# words' stems; kept here as the reference the new one must agree with.
def _reference_find_status_sentences(page_text: str) -> list[str]:
    from monitor.status import _ABOUT_APPLYING, _MAX_SENTENCE, _SENTENCE_END, _read

    sentences: list[str] = []
    for line in (page_text or "").splitlines():
        if not _ABOUT_APPLYING.search(line):
            continue
        for sentence in _SENTENCE_END.split(line):
            sentence = sentence.strip()
            if len(sentence) > _MAX_SENTENCE or not _ABOUT_APPLYING.search(sentence):
                continue
            if _read(sentence, datetime.now(UTC).date()).state is not State.UNKNOWN and sentence not in sentences:
                sentences.append(sentence)
    return sentences


_PAGE_WORDS = [
    "Applications are now open.", "APPLY NOW", "apply", "Apply", "applicants", "Admissions", "registration",
    "REGISTER", "enrol", "Enrolment", "expressions of interest", "Deadline:", "cohort", "Intake", "sign-up",
    "Sign up", "signups", "accepting", "rolling basis", "Rolling  basis", "Status", "status unknown", "closed",
    "are closed", "now closed", "open soon", "will open", "June 7th", "by", "close", "2026", ".", "!", "?", "\"",
    "’", "“", "(", ")", "Σ", "ΣΑΣ", "design", "assign", "signal", "applepie", "unapply", "registry",
    # Characters that re.IGNORECASE matches to ASCII letters of the words (str.lower() keeps three of them).
    "İ", "ı", "ſ", "\u212a", "applİcations", "ſtatus", "ıntake", "\u212aohort", "APPLıCATIONS are open.",
    "ſign up", "Rolling baſis", "intaKe",
    # One sentence a state is read from for each word, alone on its line, as written and with those characters.
    "Sign up for the waitlist.", "ſign up to our mailing list.", "Intake is closed.", "ıntake is closed.",
    "The cohort is now closed.", "The \u212aohort is now closed.", "Enrolment is open now.", "Status: closed",
    "ſtatus: closed", "Admissions are closed.", "Registration is now closed.", "Expressions of interest",
    "Deadline: June 7", "We are not accepting new members.", "Rolling basis: apply any time.",
    # Every line break str.splitlines knows, and empty lines.
    "\n", "\n\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", " ", "\t",
]  # fmt: skip


@settings(max_examples=500, deadline=None, database=None)
@given(
    text=st.one_of(
        st.lists(st.sampled_from(_PAGE_WORDS), max_size=60).map(" ".join),
        # Short lines, so that a line often holds one of the words alone.
        st.lists(
            st.tuples(
                st.lists(st.sampled_from(_PAGE_WORDS), max_size=3).map(" ".join),
                st.sampled_from(["\n", "\r\n", "\r", "\x85", "\u2028", "\n\n"]),
            ).map("".join),
            max_size=20,
        ).map("".join),
        st.lists(st.sampled_from(_PAGE_WORDS), max_size=60).map("".join),
        st.lists(st.one_of(st.sampled_from(_PAGE_WORDS), st.text(max_size=12)), max_size=40).map("".join),
        # A very long line: a status sentence inside a run of unpunctuated text, and one after it.
        st.tuples(st.integers(0, 3000), st.sampled_from(_PAGE_WORDS), st.sampled_from(_PAGE_WORDS)).map(
            lambda t: "word " * t[0] + t[1] + " Applications are now open. " + t[2]
        ),
        st.text(max_size=300),
    )
)
def test_find_status_sentences_matches_the_line_by_line_scan(text: str) -> None:
    from monitor.status import _find_status_sentences

    assert _find_status_sentences(text) == _reference_find_status_sentences(text)


# Every form _ABOUT_APPLYING knows. A page is searched only on lines holding one of the stems in status.py,
# so a word added to the pattern without a stem would be silently missed: this list is the guard.
STATUS_WORDS = [
    "apply", "applying", "application", "Applications", "applicant", "applicants", "admission", "ADMISSIONS",
    "registration", "registrations", "register", "enrol", "enroll", "enrolment", "enrolling",
    "expression of interest", "expressions of interest", "deadline", "cohort", "intake", "signup", "sign-up",
    "sign up", "signups", "accepting", "rolling basis", "status",
]  # fmt: skip


@pytest.mark.parametrize("word", STATUS_WORDS)
def test_every_status_word_is_found_on_a_page(word: str) -> None:
    page = f"About us\nPeople\nThe {word} for this round is closed.\nContact"
    assert find_status_sentences(page) == [f"The {word} for this round is closed."]


# --- the reader's pieces on real phrasings (sources beside them; the whole corpus is tests/corpus/status/) ------

CORPUS_TODAY = date(2026, 11, 30)


@pytest.mark.parametrize(
    ("text", "state"),
    [
        # negation more than one word away: https://www.mercatus.org/students/applications-faq
        ("No, we do not review applications on a rolling basis.", State.UNKNOWN),
        # a negation inside its own wording: https://www.ecn-berlin.de/education/phd-fellowships/how-to-apply.html
        ("Please do not register anymore!", State.CLOSED),
        # no application word: https://support.scinet.utoronto.ca/ihpcss2015/index14.html
        ("The selection process is now over.", State.CLOSED),
        # a deadline alone says open:
        # https://cpo.noaa.gov/Meet-the-Divisions/Climate-and-Societal-Interactions/The-Adaptation-Sciences-Program/NOFO-FAQ
        ("Full applications must be received by 5:00 p.m. Eastern Time, November 30, 2020.", State.OPEN),
        # an "If ...," part that says closed makes the clause conditional (issue 11's kind)
        ("If the applications are closed, you can sign up to to be alerted for when they open again.", State.UNKNOWN),
        # a date in the future tense of opening: issue 11's "The portal opens September 2022"
        ("The portal opens September 2022", State.OPENING_SOON),
        # a range to apply in reads open: http://www.summer.harvard.edu/registration-arrival
        ("Course registration is March 2 through May 18.", State.OPEN),
    ],
)
def test_reader_pieces_on_real_phrasings(text: str, state: State) -> None:
    assert classify(text, CORPUS_TODAY).state is state


@pytest.mark.parametrize(
    ("text", "deadlines"),
    [
        # decisions are not deadlines to apply; a sentence holding both keeps the one named:
        # https://insights.marvin-42.com/articles/openai-opens-applications-for-a-safety-fellowship-focused-on-alignment-and-misuse-research
        ("OpenAI says the fellowship will run from September 14, 2026 through February 5, 2027, with applications "
         "closing on May 3 and decisions going out by July 25.", [date(2026, 5, 3)]),
        # https://www.wpes2023.conf.kth.se/cfp.html
        ("Notification of acceptance or rejection will be sent to authors by September 12, 2023.", []),
        # a month without a day is the end of the month (issue 11: never "October 20")
        ("Deadline: October 2023", [date(2023, 10, 31)]),
        ("Decisions by May 2027", []),
        # recurring dates never pass: https://cfar.ucsd.edu/en/grants/international-pilot/application/
        ("Applications are due by 4:00 p.m. Pacific Time on April 1 and October 1, unless either date falls on "
         "weekend, in which case, the due date shifts to the following Monday.", []),
        ("Applications are due by 5pm GMT on 15 March each year.", []),
        # a struck-through date and its replacement: https://wpes15.cs.umn.edu/submissions
        ("Papers must be received by the deadline of June 10, 2015 June 17, 2015 to be considered.",
         [date(2015, 6, 17)]),
        # a year named elsewhere, a time with no colon: http://lists.osgeo.org/pipermail/soc/attachments/20220406/ab83cc1b/attachment.html
        ("GSoC 2022 Contributor Apps are now open (and close April 19 at 1800 UTC)", [date(2022, 4, 19)]),
    ],
)  # fmt: skip
def test_only_deadlines_to_apply_are_deadlines(text: str, deadlines: list[date]) -> None:
    assert [d.local_date for d in parse_deadlines(text, CORPUS_TODAY)] == deadlines


def test_yearless_dates_of_one_text_read_as_one_schedule() -> None:
    # issue 11's "Round A: 15 May | Round B: 2 June": round B comes after round A, in the same year.
    days = [d.local_date for d in parse_deadlines("Round A: 15 May | Round B: 2 June", CORPUS_TODAY)]
    assert days == [date(2027, 5, 15), date(2027, 6, 2)]


def test_a_page_sentence_is_not_cut_after_pm() -> None:
    page = "NOFO FAQ\nFull applications must be received by 5:00 p.m. Eastern Time, November 30, 2020. Questions?"
    assert find_status_sentences(page) == [
        "Full applications must be received by 5:00 p.m. Eastern Time, November 30, 2020."
    ]


def test_a_huge_text_is_read_within_its_bounds() -> None:
    # A run of unpunctuated dates and trigger words far past the 2,000-character cap.
    text = "Applications close 1 June 2024 until 2 June - 3 June (AoE) " * 5000
    reading = classify(text, CORPUS_TODAY)
    assert reading.state is State.OPEN
    assert all(d.when.year == 2024 for d in reading.deadlines)


@pytest.mark.parametrize(
    ("text", "state"),
    [
        ("Sign-ups end in two weeks", State.OPEN),
        ("The RFP will be published in spring", State.OPENING_SOON),
        ("registration is possible up to 12 noon, 18 August", State.OPEN),
        ("open from 1 to 30 September", State.OPEN),
        ("Summer school 2024 - Closed", State.CLOSED),
        ("There is no fixed deadline", State.ROLLING),
        ("You will hear from us by 12 October", State.UNKNOWN),
        ("The application form will be ready in early March", State.OPENING_SOON),
        ("Leave your email and we will tell you when we launch", State.OPENING_SOON),
        ("Subscribe for news of the next intake", State.OPENING_SOON),
        ("Applications are due by 5pm GMT on 15 March each year", State.OPEN),  # open, and never passed
        ("Applications are reviewed on the 10th of every month", State.ROLLING),
    ],
)
def test_issue_11_kinds(text: str, state: State) -> None:
    # The wordings issue 11 lists for each kind the old reader missed.
    reading = classify(text, CORPUS_TODAY)
    assert reading.state is state
    assert not any(d.passed(CORPUS_TODAY) for d in reading.deadlines if "each year" in text)
