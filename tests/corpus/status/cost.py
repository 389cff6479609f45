"""What reading status costs: microseconds per corpus sentence, and the worst of a few hostile texts.

    python tests/corpus/status/cost.py

Each corpus sentence is read with the reader's cache cleared (best of five passes); the hostile texts are
2,000-character runs of the shapes that make careless patterns backtrack. A script that prints figures, not a
test: the figures depend on the machine.
"""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))  # the repository root, so `monitor` imports from a checkout

from monitor import status  # noqa: E402

sys.path.insert(0, str(HERE))
from score import TODAY, load  # noqa: E402

HOSTILE = (
    "applications " * 160, "by " * 700, "1 " * 1000, "January 1 - " * 170, "(" * 1990 + "deadline",
    "Applications open " + "a, " * 660, "deadline 12:00 " * 135, "no not never " * 155 + "open",
)  # fmt: skip


def per_text(texts: list[str], today: date, passes: int) -> float:
    """The best of `passes` passes over `texts`, in microseconds per text."""
    best = float("inf")
    for _ in range(passes):
        status._read.cache_clear()
        started = time.perf_counter()
        for text in texts:
            status.classify(text, today)
        best = min(best, time.perf_counter() - started)
    return best / len(texts) * 1e6


def main() -> int:
    texts = [item.text for item in load()]
    print(f"{len(texts)} corpus sentences: {per_text(texts, TODAY, 5):.0f} µs a sentence (best of 5)")
    worst, shape = max((per_text([text], TODAY, 3), text[:16]) for text in HOSTILE)
    print(f"worst of {len(HOSTILE)} hostile 2,000-character texts: {worst / 1000:.1f} ms ({shape!r}...)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
