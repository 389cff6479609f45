"""The analysis stage: pure functions from what was fetched and read to findings.

Each rule takes a `RuleInput` and returns findings; none does I/O. `links` judges the HTTP answer
(dead, moved, blocked, walls, soft-404s); `content` judges what the page says (status lines, deadlines,
outdated notices, drift). `analyse` runs them all in a fixed order so reports are deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from monitor.findings import Finding
from monitor.models import Entry, FetchResult, PageText, Remembered


@dataclass(frozen=True)
class RuleInput:
    entry: Entry
    fetch: FetchResult | None  # None when the entry has no URL
    page: PageText | None  # None when there was no readable HTML/text body
    today: date
    previous: Remembered | None = None  # None on the first run for this entry


Rule = Callable[[RuleInput], list[Finding]]

# Under re.IGNORECASE these match the ASCII letters "i" and "s", which str.lower() does not make them; every
# other character re.I takes for an ASCII letter or digit lower-cases to it (checked over all of Unicode).
FOLD_TO_ASCII = ("\u0130", "\u0131", "\u017f")


def may_hold(text: str, words: tuple[str, ...]) -> bool:
    """Whether a case-insensitive pattern each of whose branches needs one of `words` (lower-case ASCII,
    taken literally) may match in `text`: ruling a text out with str.find (in C) on the lower-cased text
    saves a regex that tries every branch at every position. A text holding a FOLD_TO_ASCII character may
    always match."""
    if not text.isascii() and any(char in text for char in FOLD_TO_ASCII):
        return True
    lowered = text.lower()
    return any(word in lowered for word in words)


def all_rules() -> list[Rule]:
    # Imported here so that each rule module can import RuleInput from this package without a cycle.
    from monitor.rules import content, links

    return [*links.RULES, *content.RULES]


def analyse(inp: RuleInput) -> list[Finding]:
    findings: list[Finding] = []
    for rule in all_rules():
        findings.extend(rule(inp))
    return findings
