"""A run's memory does not grow with the size of the pages it reads: each page is analysed as it arrives
and its text goes to disk (the snapshot spool), so a hub of thousands of links fits a small CI runner.

The crawler is faked (no network): it hands the pipeline large pages as fast as it can. tracemalloc
measures the Python heap, where a kept page text would show up.
"""

from __future__ import annotations

import functools
import random
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from types import TracebackType

from monitor import pipeline
from monitor.atomic import write_all_atomic
from monitor.catalog import load_catalog
from monitor.models import FetchResult
from monitor.settings import Settings
from monitor.state import load_state, state_files
from tests.catalogs import write_catalog

PAGES = 150
WORDS = ["attention", "head", "circuit", "residual", "stream", "feature", "probe", "layer", "token", "logit"]


@functools.cache
def _paragraphs(i: int) -> tuple[str, ...]:
    rng = random.Random(i)
    return tuple(f"<p>{' '.join(rng.choices(WORDS, k=300))}.</p>" for _ in range(30))  # ~70 KB of text


def page(i: int, night: int) -> bytes:
    paragraphs = list(_paragraphs(i))
    paragraphs[i % 30] = f"<p>News of night {night}.</p>"  # one line changes between nights
    body = "".join(paragraphs)
    head = f"<html><head><title>Page {i}</title></head>"
    return f"{head}<body><main><h1>Page {i}</h1>{body}</main></body></html>".encode()


class FakeCrawler:
    """Answers every URL with a large HTML page, as a fast site would."""

    def __init__(self, settings: Settings, night: int, **_: object) -> None:
        self.night = night
        self.requests = 0
        self.hosts: tuple[str, ...] = ("pages.example",)

    async def __aenter__(self) -> FakeCrawler:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        return None

    async def fetch_all(self, urls: list[str], on_result: Callable[[str, FetchResult], Awaitable[None] | None]) -> None:
        for url in urls:
            self.requests += 1
            i = int(url.rsplit("/", 1)[1])
            analysis = on_result(url, FetchResult(url, url, 200, headers={"content-type": "text/html; charset=utf-8"},
                                                  body=page(i, self.night)))
            if analysis is not None:  # as the Crawler does: the page is read before the next one is fetched
                await analysis


def run_night(tmp_path: Path, night: int) -> tuple[float, float]:
    """Check and save one night; the peak Python heap (MB) of the check and of the save."""
    catalog = load_catalog(tmp_path / "hub.yaml")
    state_path = tmp_path / "reports" / "state.json"
    prior = load_state(state_path).state
    tracemalloc.start()
    try:
        outcome = pipeline.check(catalog, Settings(), prior, today=date(2026, 11, 25),
                                 crawler_factory=lambda settings, **kw: FakeCrawler(settings, night))
        check_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        assert outcome.state is not None
        write_all_atomic(state_files(state_path, outcome.state))
        save_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return check_peak / 2**20, save_peak / 2**20


def test_memory_does_not_hold_the_pages_read(tmp_path: Path) -> None:
    for i in range(PAGES):
        _paragraphs(i)  # made before measuring
    write_catalog(tmp_path / "hub.yaml", {f"p{i}": f"https://pages.example/{i}" for i in range(PAGES)})
    texts_mb = PAGES * 70 * 1024 / 2**20  # what the run would hold if it kept each page's text: ~10 MB
    for night in (1, 2):  # the first night writes every snapshot; the second diffs against each one
        check_mb, save_mb = run_night(tmp_path, night)
        assert check_mb < texts_mb / 3, f"night {night}: the check held {check_mb:.1f} MB"
        assert save_mb < texts_mb / 3, f"night {night}: saving the state held {save_mb:.1f} MB"
    # Nothing was lost on the way: each snapshot on disk is the second night's text of its page.
    snapshot = (tmp_path / "reports" / "snapshots" / "p7.txt").read_text()
    assert snapshot.startswith("Page 7") and len(snapshot) > 60_000
    assert "News of night 2." in snapshot and "News of night 1." not in snapshot
