"""Score the link side on the saved-page corpus: each page through extract and every rule, as the pipeline
runs them, with the status and headers it was served with; prints right/wrong by category.

    python tests/corpus/pages/score.py [-v]

The labels in manifest.yaml come from reading each page, not from what the monitor says of it.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from monitor.challenge import challenge_in
from monitor.extract import extract
from monitor.findings import Severity
from monitor.models import Entry, FetchResult
from monitor.rules import RuleInput, analyse

HERE = Path(__file__).parent
TODAY = date(2026, 11, 30)
HEALTHY = "healthy"


@dataclass(frozen=True)
class SavedPage:
    file: str
    category: str
    expect: str  # a finding code, or "healthy"
    url: str
    status: int
    headers: dict[str, str]

    @property
    def name(self) -> str:
        return self.file.removesuffix(".html")


def load() -> list[SavedPage]:
    manifest = yaml.safe_load((HERE / "manifest.yaml").read_text(encoding="utf-8"))
    return [
        SavedPage(p["file"], p["category"], p["expect"], p["url"], int(p["status"]),
                  {k.lower(): str(v) for k, v in p["headers"].items()})
        for p in manifest["pages"]
    ]


def _fetched(page: SavedPage, body: bytes) -> FetchResult:
    fetched = FetchResult(url=page.url, final_url=page.url, status=page.status, headers=dict(page.headers), body=body)
    fetched.challenge = challenge_in(fetched.status, fetched.headers, body)  # as fetch.py does on arrival
    return fetched


def verdict(page: SavedPage) -> set[str]:
    """The warning and error codes the monitor reports for the page (info findings are not alarms)."""
    body = (HERE / page.file).read_bytes()
    fetched = _fetched(page, body)
    text = extract(body, fetched.headers)
    fetched.body = None  # the pipeline drops the body before the rules run
    entry = Entry(id=page.name.replace("/", "-"), section="Corpus", title=page.name, url=page.url)
    findings = analyse(RuleInput(entry, fetched, text, TODAY))
    return {f.code.value for f in findings if f.severity.rank >= Severity.WARNING.rank}


def right(page: SavedPage, got: set[str]) -> bool:
    return got == (set() if page.expect == HEALTHY else {page.expect})


def main(argv: list[str]) -> int:
    verbose = "-v" in argv
    tally: dict[str, Counter[str]] = {}
    wrong: list[str] = []
    for page in load():
        got = verdict(page)
        ok = right(page, got)
        tally.setdefault(page.category, Counter())["right" if ok else "wrong"] += 1
        if not ok:
            wrong.append(f"  {page.file}: expected {page.expect}, got {', '.join(sorted(got)) or HEALTHY}")
    width = max(len(c) for c in tally)
    print(f"{'category':<{width}}  right  wrong")
    for category, counts in sorted(tally.items()):
        print(f"{category:<{width}}  {counts['right']:>5}  {counts['wrong']:>5}")
    total_right = sum(c["right"] for c in tally.values())
    total = sum(sum(c.values()) for c in tally.values())
    print(f"{'all':<{width}}  {total_right:>5}  {total - total_right:>5}   ({total_right}/{total})")
    if wrong and verbose:
        print("wrong:", *wrong, sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
