"""The link side on real saved pages: every page of tests/corpus/pages gets exactly its hand label.

Each page goes through extract and every rule as the pipeline runs them, with the status and headers it
was served with (manifest.yaml, which also gives each page's source, licence and why it is labelled so).
`python tests/corpus/pages/score.py` prints the same comparison as a table by category.
"""

from __future__ import annotations

import pytest

from tests.corpus.pages.score import HEALTHY, load, right, verdict

PAGES = load()


def test_the_corpus_is_wide_enough() -> None:
    by_category: dict[str, int] = {}
    for page in PAGES:
        by_category[page.category] = by_category.get(page.category, 0) + 1
    assert len(PAGES) >= 40
    assert by_category["healthy"] >= 15 and by_category["bot-wall"] >= 10 and by_category["parked"] >= 4


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_saved_page_gets_its_label(page) -> None:  # type: ignore[no-untyped-def]
    got = verdict(page)
    expected = HEALTHY if page.expect == HEALTHY else page.expect
    assert right(page, got), f"{page.file}: expected {expected}, got {sorted(got) or HEALTHY}"
