"""The date grammar (monitor/dates.py) on real phrasings.

Each phrase is quoted from a public page (the address is beside it, as in tests/corpus/status/) or, where
marked, from issue 11's list of kinds; the expected values are what a careful reader takes from the words.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.dates import MAX_TEXT, find_dates

TODAY = date(2026, 11, 30)
AOE = timezone(timedelta(hours=-12))
NY = ZoneInfo("America/New_York")
LA = ZoneInfo("America/Los_Angeles")
BERLIN = ZoneInfo("Europe/Berlin")
LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("text", "when"),
    [
        # https://www.wpes2023.conf.kth.se/cfp.html
        ("Papers must be received by the deadline of July 31, 2023 (11:59 PM AoE, UTC-12) to be considered.",
         datetime(2023, 7, 31, 23, 59, tzinfo=AOE)),
        # https://agu.org/Ocean-Sciences-Meeting/Present/Overview: the first of two zones is kept
        ("The deadline to submit a session or town hall proposal is 28 May 2025, 23:59 EDT/03:59 UTC.",
         datetime(2025, 5, 28, 23, 59, tzinfo=NY)),
        ("The deadline for session and town hall proposals is 23:59 EDT/03:59 UTC on 28 May 2025.",
         datetime(2025, 5, 28, 23, 59, tzinfo=NY)),
        # the time before the date, with its zone in words
        ("Full applications must be received by 5:00 p.m. Eastern Time, November 30, 2020.",
         datetime(2020, 11, 30, 17, 0, tzinfo=NY)),
        # "midnight" before a named day is the end of that day; "(GMT)" is its zone
        ("Please note that your full application and all reference letters (emailed to us by the referee "
         "directly) must be emailed by midnight (GMT) Friday 15 September 2017.",
         datetime(2017, 9, 15, 23, 59, 59, tzinfo=UTC)),
        ("Our first application deadline is on 9 March 2026 (23:59 UK time).",
         datetime(2026, 3, 9, 23, 59, tzinfo=LONDON)),
        ("Submission deadline is Sunday, 1 March 2026, 12:00 (noon) CET.", datetime(2026, 3, 1, 12, 0, tzinfo=BERLIN)),
        ("All submissions must be made by 17:00 Brussels local time, September 28th 2023.",
         datetime(2023, 9, 28, 17, 0, tzinfo=ZoneInfo("Europe/Brussels"))),
        # a year named elsewhere in the sentence is the year of its dates; "1800 UTC" is a time
        ("GSoC 2020 Student applications are now open (until March 31 at 1800 UTC)",
         datetime(2020, 3, 31, 18, 0, tzinfo=UTC)),
        ("In 2026, applications are due November 2nd, by 5 pm ET.", datetime(2026, 11, 2, 17, 0, tzinfo=NY)),
        ("Applications close 2025-03-01T17:00Z", datetime(2025, 3, 1, 17, 0, tzinfo=UTC)),
        # d.m.yyyy with a weekday and EET
        ("The deadline for submitting recommendations and separately requested additional details is "
         "Friday 26.4.2019 at 16:00 EET.", datetime(2019, 4, 26, 16, 0, tzinfo=ZoneInfo("Europe/Athens"))),
    ],
)  # fmt: skip
def test_time_and_zone_wherever_written(text: str, when: datetime) -> None:
    found = find_dates(text, TODAY)
    assert found, text
    got = found[-1].when
    assert got == when
    assert got.utcoffset() == when.utcoffset()
    assert found[-1].zone_stated


@pytest.mark.parametrize(
    ("text", "when"),
    [
        # https://lcsd.gov.hk/me/cgame-2010/en/enrolment.php
        ("enrolment through the LCSD website before 12:00 midnight on 15 March 2010 (Monday)",
         datetime(2010, 3, 15, 23, 59, 59, tzinfo=UTC)),
        # http://www.frst.govt.nz/timeline/1216
        ("For the second application round, applications are due by midday (12pm), 4 September 2008.",
         datetime(2008, 9, 4, 12, 0, tzinfo=UTC)),
    ],
)  # fmt: skip
def test_noon_and_midnight_said_with_their_hour(text: str, when: datetime) -> None:
    (mention,) = find_dates(text, TODAY)
    assert mention.when == when


@pytest.mark.parametrize(
    ("text", "last", "first"),
    [
        ("Registration for Summer School 2015 courses is March 2 through May 18.", date(2015, 5, 18), date(2015, 3, 2)),
        ("Applications for the program are accepted from June 1–Aug. 1.", date(2026, 8, 1), date(2026, 6, 1)),
        ("Our open submissions call is open to everyone from 1st January to 1st March – we are looking for full "
         "collections (at least 50 pages of poetry).", date(2027, 3, 1), date(2027, 1, 1)),
        # http://www.summer.harvard.edu/registration-arrival ... and issue 11's "between Nov 1 and Dec 1"
        ("between Nov 1 and Dec 1", date(2026, 12, 1), date(2026, 11, 1)),
        ("Submission Period: 12:30 PDT March 24th, 2023 - 23:45 PDT March 26th, 2023", date(2023, 3, 26),
         date(2023, 3, 24)),
        # a table row: opening and closing columns
        ("| Submissions | January 30 at 12:00pm GMT | January 31 at 12:00pm GMT |",
         date(2027, 1, 31), date(2027, 1, 30)),
        # https://wpes15.cs.umn.edu/submissions: June 10 struck through, June 17 its replacement
        ("Papers must be received by the deadline of June 10, 2015 June 17, 2015 to be considered.",
         date(2015, 6, 17), date(2015, 6, 10)),
    ],
)  # fmt: skip
def test_a_range_ends_on_its_last_day(text: str, last: date, first: date) -> None:
    (mention,) = find_dates(text, TODAY)
    assert (mention.day, mention.first_day) == (last, first)


def test_the_end_of_a_table_range_keeps_its_own_time() -> None:
    (mention,) = find_dates("Submission Period: 12:30 PDT March 24th, 2023 - 23:45 PDT March 26th, 2023", TODAY)
    assert mention.when == datetime(2023, 3, 26, 23, 45, tzinfo=LA)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        # issue 11: "October 2023" is the end of October, never October 20
        ("Deadline: October 2023", date(2023, 10, 31)),
        ("Decisions by May 2027", date(2027, 5, 31)),
        ("The portal opens September 2022", date(2022, 9, 30)),
        ("If the application is supported by EU the application portal for the programme will open October 1st 2023 "
         "and end mid January 2024 – with start in September 2024.", date(2024, 1, 15)),
    ],
)  # fmt: skip
def test_a_month_without_a_day(text: str, day: date) -> None:
    mentions = find_dates(text, TODAY)
    assert day in [m.day for m in mentions]
    assert all(m.day.day not in (20, 23) for m in mentions if m.month_only)


@pytest.mark.parametrize(
    "text",
    [
        "Applications are due by 5pm GMT on 15 March each year.",  # issue 11's kind
        "Our annual call opens on 1 February annually.",
    ],
)
def test_recurring_dates_are_flagged(text: str) -> None:
    assert [m.recurring for m in find_dates(text, TODAY)] == [True]


@pytest.mark.parametrize(
    "text",
    [
        "ARENA 7.0 applications are closed.",  # a version is not a date
        "Written in 2022 by the 2023 cohort.",  # a year alone is context, not a date
        "We have 11/29 of the places filled.",  # a fraction, not a date (no weekday before it)
        "We may open again.",  # "may" is a verb here
    ],
)
def test_no_date(text: str) -> None:
    assert find_dates(text, TODAY) == []


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.lists(
        st.sampled_from(["by", "until", "March", "May", "31st", "2024", "-", "–", "to", "12:00", "pm", "(noon)",
                         "AoE", "UTC+14", "GMT-99", "EDT/03:59", "UTC", "|", "Monday", "11/29", "26.4.2019", "mid",
                         "each year", "0", "29", "February", "2023-02-29", "T25:61Z", " "]),
        max_size=40,
    ).map(" ".join)
)  # fmt: skip
def test_never_raises_and_stays_in_the_text(text: str) -> None:
    for mention in find_dates(text, TODAY):
        assert 0 <= mention.start < mention.end <= min(len(text), MAX_TEXT)
        assert mention.when.tzinfo is not None
