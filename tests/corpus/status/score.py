"""Score monitor/status.py on the hand-labelled sentence corpus in this folder.

    python tests/corpus/status/score.py            # the table by category
    python tests/corpus/status/score.py --misses   # and every sentence read wrongly, with what was wrong
    python tests/corpus/status/score.py --file heldout.yaml   # another file of the same shape, alone

What is scored (labels and their meaning: README.md here):
- state right: `classify(text).state` is the labelled state (or one of `also_ok`).
- deadline found: each labelled deadline has a deadline from the reader on the same day (month and day
  only where the sentence names no year).
- deadline-passed at TODAY: the reader "raises" when any deadline it finds is before TODAY, as the
  `deadline-passed` rule does. A sentence "should raise" when a labelled deadline with a stated year is before
  TODAY; it counts as caught only when a deadline raised on is that labelled day (a raise on "July 20" read
  out of "July 2025" is a miss, not a catch). Sentences whose only deadlines have no year are left out of
  precision and recall: whether "March 15" has passed depends on the year a hub line was written, which the
  sentence does not say.
- time and zone honoured: for each labelled deadline that has a time or a zone and was found, the reader's
  clock time and UTC offset are those the text states.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))  # the repository root, so `monitor` imports from a checkout

from monitor.status import Deadline, classify  # noqa: E402

TODAY = date(2026, 11, 30)
CATEGORIES = (
    "no-application-word", "deadline-only", "range", "time-zone", "month-year", "recurring", "negation-tense",
    "not-a-deadline", "opening-soon", "plain-open", "plain-closed", "plain-other",
)  # fmt: skip
STATES = ("open", "opening-soon", "closed", "rolling", "unknown")

# Zones as the corpus writes them -> the UTC offsets (hours) or IANA zones that honour them. A written
# "PST" in summer is taken either way: writers often mean "Pacific time" by it.
_ZONES: dict[str, tuple[str | float, ...]] = {
    "aoe": (-12,), "anywhere on earth": (-12,), "utc-12": (-12,),
    "utc": (0,), "gmt": (0,), "z": (0,),
    "pst": (-8, "America/Los_Angeles"), "pdt": (-7, "America/Los_Angeles"),
    "pt": ("America/Los_Angeles",), "pacific": ("America/Los_Angeles",), "pacific time": ("America/Los_Angeles",),
    "est": (-5, "America/New_York"), "edt": (-4, "America/New_York"), "et": ("America/New_York",),
    "eastern standard time": (-5, "America/New_York"),
    "eastern": ("America/New_York",), "eastern time": ("America/New_York",),
    "cst": (-6, "America/Chicago"), "cdt": (-5, "America/Chicago"), "ct": ("America/Chicago",),
    "central": ("America/Chicago",), "central time": ("America/Chicago",),
    "mst": (-7, "America/Denver"), "mdt": (-6, "America/Denver"), "mt": ("America/Denver",),
    "cet": (1, "Europe/Berlin"), "cest": (2, "Europe/Berlin"), "berlin time": ("Europe/Berlin",),
    "central european time": (1, "Europe/Berlin"), "eet": (2, "Europe/Helsinki"), "eest": (3, "Europe/Helsinki"),
    "bst": (1, "Europe/London"), "uk time": ("Europe/London",), "brussels local time": ("Europe/Brussels",),
    "aest": (10, "Australia/Sydney"), "aedt": (11, "Australia/Sydney"),
    "ist": (5.5,), "jst": (9,), "kst": (9,), "sgt": (8,), "nzst": (12,), "nzdt": (13,),
}  # fmt: skip


@dataclass(frozen=True)
class Label:
    """One labelled deadline: `day` is a date when the year is known, else (month, day)."""

    day: date | tuple[int, int]
    time: str | None
    zone: str | None
    year_stated: bool

    def matches(self, found: Deadline) -> bool:
        got = found.local_date
        if isinstance(self.day, date):
            return got == self.day
        return (got.month, got.day) == self.day


@dataclass(frozen=True)
class Item:
    text: str
    source: str
    category: str
    state: str
    also_ok: tuple[str, ...]
    deadlines: tuple[Label, ...]
    not_deadlines: tuple[str, ...]
    where: str  # file:index, for messages

    @property
    def should_raise(self) -> bool | None:
        """Whether `deadline-passed` should fire at TODAY; None where the sentence cannot say."""
        dated = [d for d in self.deadlines if isinstance(d.day, date)]
        if any(d.day < TODAY for d in dated):  # type: ignore[operator]
            return True
        if len(dated) < len(self.deadlines):
            return None
        return False


CORPUS = HERE / "sentences.yaml"


def load(*paths: Path) -> list[Item]:
    """The labelled items of `paths` (the corpus, sentences.yaml, when none is given)."""
    items: list[Item] = []
    for path in paths or (CORPUS,):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        for index, entry in enumerate(raw):
            items.append(_item(entry, f"{path.name}:{index}"))
    return items


def _item(entry: dict[str, Any], where: str) -> Item:
    state, category = entry["state"], entry["category"]
    if state not in STATES or category not in CATEGORIES:
        raise ValueError(f"{where}: unknown state {state!r} or category {category!r}")
    labels = tuple(_label(d, where) for d in entry.get("deadlines") or ())
    return Item(
        text=entry["text"],
        source=entry["source"],
        category=category,
        state=state,
        also_ok=tuple(entry.get("also_ok") or ()),
        deadlines=labels,
        not_deadlines=tuple(str(d) for d in entry.get("not_deadlines") or ()),
        where=where,
    )


def _label(raw: dict[str, Any], where: str) -> Label:
    value = raw["date"]
    day: date | tuple[int, int]
    if isinstance(value, date):
        day = value
    else:  # "MM-DD": the sentence names no year
        month, day_of_month = (int(part) for part in str(value).split("-"))
        day = (month, day_of_month)
    zone = raw.get("zone")
    if zone is not None and str(zone).lower() not in _ZONES:
        raise ValueError(f"{where}: zone {zone!r} is not in score.py's table")
    return Label(day, raw.get("time"), zone, bool(raw.get("year_stated")))


@dataclass
class Result:
    item: Item
    state: str
    found: tuple[Deadline, ...]
    problems: list[str] = field(default_factory=list)
    state_right: bool = False
    deadlines_found: int = 0
    raised: bool = False  # the reader finds some deadline before today
    raised_right: bool = False  # ... and one of them is a labelled deadline that has passed
    clock_checks: int = 0
    clock_right: int = 0


def read(item: Item, today: date = TODAY) -> Result:
    reading = classify(item.text, today)
    result = Result(item, reading.state.value, reading.deadlines)
    result.state_right = result.state == item.state or result.state in item.also_ok
    if not result.state_right:
        result.problems.append(f"state {result.state}, labelled {item.state}")
    for label in item.deadlines:
        match = next((d for d in reading.deadlines if label.matches(d)), None)
        if match is None:
            result.problems.append(f"deadline {_show(label.day)} not found")
            continue
        result.deadlines_found += 1
        if label.time is None and label.zone is None:
            continue
        result.clock_checks += 1
        wrong = _clock_wrong(label, match)
        if wrong:
            result.problems.append(wrong)
        else:
            result.clock_right += 1
    passed = [d for d in reading.deadlines if d.local_date < today]
    result.raised = bool(passed)
    result.raised_right = any(
        label.matches(d) for d in passed for label in item.deadlines if isinstance(label.day, date)
    )
    should = item.should_raise
    if should is False and result.raised:
        result.problems.append("false deadline-passed")
    if should is True and not result.raised_right:
        result.problems.append("missed deadline-passed" + (" (raised on another date)" if result.raised else ""))
    return result


def _clock_wrong(label: Label, found: Deadline) -> str:
    got = found.when
    if label.time is not None and got.strftime("%H:%M") != label.time:
        return f"time {got:%H:%M} for {_show(label.day)}, labelled {label.time}"
    if label.zone is None:
        return ""
    offset = got.utcoffset() or timedelta(0)
    wanted = [_offset(option, got) for option in _ZONES[label.zone.lower()]]
    if offset not in wanted:
        hours = offset.total_seconds() / 3600
        return f"offset {hours:+g} h for {_show(label.day)}, labelled {label.zone}"
    return ""


def _offset(option: str | float, moment: datetime) -> timedelta:
    if isinstance(option, str):
        local = moment.replace(tzinfo=ZoneInfo(option))
        return local.utcoffset() or timedelta(0)
    return timedelta(hours=option)


def _show(day: date | tuple[int, int]) -> str:
    return day.isoformat() if isinstance(day, date) else f"--{day[0]:02d}-{day[1]:02d}"


@dataclass
class Tally:
    sentences: int = 0
    state_right: int = 0
    deadlines: int = 0
    deadlines_found: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    clock_checks: int = 0
    clock_right: int = 0

    def add(self, result: Result) -> None:
        self.sentences += 1
        self.state_right += result.state_right
        self.deadlines += len(result.item.deadlines)
        self.deadlines_found += result.deadlines_found
        should = result.item.should_raise
        if should is not None:
            self.tp += should and result.raised_right
            self.fp += (not should) and result.raised
            self.fn += should and not result.raised_right
        self.clock_checks += result.clock_checks
        self.clock_right += result.clock_right

    @property
    def state_rate(self) -> float:
        return self.state_right / self.sentences if self.sentences else 1.0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def tally(results: Iterable[Result]) -> tuple[Tally, dict[str, Tally]]:
    total, by_category = Tally(), defaultdict(Tally)
    for result in results:
        total.add(result)
        by_category[result.item.category].add(result)
    return total, dict(by_category)


def table(total: Tally, by_category: dict[str, Tally]) -> Iterator[str]:
    yield (
        f"{'category':<20} {'n':>4}  {'state right':>13}  {'deadlines found':>15}  "
        f"{'passed P':>8} {'passed R':>8} {'FP':>3} {'FN':>3}  {'time/zone':>9}"
    )
    rows = [(name, by_category[name]) for name in CATEGORIES if name in by_category]
    for name, t in [*rows, ("all", total)]:
        yield (
            f"{name:<20} {t.sentences:>4}  {t.state_right:>4} {t.state_rate:>7.0%}  "
            f"{t.deadlines_found:>6}/{t.deadlines:<4} {_rate(t.deadlines_found, t.deadlines):>4}  "
            f"{t.precision:>8.0%} {t.recall:>8.0%} {t.fp:>3} {t.fn:>3}  "
            f"{t.clock_right:>4}/{t.clock_checks:<4}"
        )


def markdown(total: Tally, by_category: dict[str, Tally]) -> Iterator[str]:
    """The same table in Markdown, for README files."""
    yield (
        "| kind | sentences | state right | deadlines found | deadline-passed precision / recall (FP, FN) "
        "| times and zones honoured |"
    )
    yield "| --- | ---: | ---: | ---: | ---: | ---: |"
    rows = [(name, by_category[name]) for name in CATEGORIES if name in by_category]
    for name, t in [*rows, ("**all**", total)]:
        yield (
            f"| {name} | {t.sentences} | {t.state_right} ({t.state_rate:.0%}) | "
            f"{t.deadlines_found}/{t.deadlines} | {t.precision:.0%} / {t.recall:.0%} ({t.fp}, {t.fn}) | "
            f"{t.clock_right}/{t.clock_checks} |"
        )


def _rate(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--misses", action="store_true", help="list every sentence read wrongly")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument(
        "--file", action="append", type=Path, default=[],
        help="score this YAML file (relative to this folder or the working directory) instead of sentences.yaml",
    )  # fmt: skip
    args = parser.parse_args(argv)
    paths = [path if path.exists() else HERE / path for path in args.file]
    results = [read(item) for item in load(*paths)]
    total, by_category = tally(results)
    print(f"{total.sentences} sentences, today = {TODAY}")
    for line in (markdown if args.markdown else table)(total, by_category):
        print(line)
    if args.misses:
        for result in results:
            if result.problems:
                print(f"\n{result.item.where} [{result.item.category}] {result.item.text}")
                found = "; ".join(f"{d.clause} = {d.when.isoformat()}" for d in result.found) or "none"
                print(f"  read: {result.state}; deadlines: {found}")
                for problem in result.problems:
                    print(f"  - {problem}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
