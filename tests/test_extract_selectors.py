"""`watch` selectors: what extract runs is what the catalog accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.catalog import CatalogError, load_catalog
from monitor.extract import InvalidSelector, compile_selector, extract

PAGE = b"""<html><body><main><div class="a"><p>one</p><p>two</p></div>
<section id="status"><h2>Status</h2><p>Applications are open.</p></section></main></body></html>"""
HTML = {"content-type": "text/html"}


@pytest.mark.parametrize(
    ("selector", "watched"),
    [
        ("#status p", "Applications are open."),
        ("section:has(h2) > p", "Applications are open."),
        (":is(section, aside) h2", "Status"),
        ("div.a p:nth-child(2)", "two"),
        ("main > div.a", "one\ntwo"),
    ],
)
def test_watch_selector_picks_its_first_match(selector: str, watched: str) -> None:
    assert extract(PAGE, HTML, selector).watched == watched


@pytest.mark.parametrize("selector", ["div[", "p > ", "::before", ":not(p, div)", "p:nth-child(2 of .x)"])
def test_unusable_selector_is_invalid(selector: str) -> None:
    with pytest.raises(InvalidSelector):
        compile_selector(selector)


def test_catalog_rejects_a_selector_the_page_reader_cannot_run(tmp_path: Path) -> None:
    # soupsieve accepts a selector list inside :not(); the page reader (cssselect) does not.
    path = tmp_path / "hub.yaml"
    path.write_text(
        "version: 1\nhub:\n  title: T\nentries:\n  - id: a\n    section: S\n    title: A\n"
        "    url: https://example.org/\n    watch: ':not(p, div)'\n",
        encoding="utf-8",
    )
    with pytest.raises(CatalogError, match=r"entries\[0\]\.watch.*not a CSS selector the page reader supports"):
        load_catalog(path)
