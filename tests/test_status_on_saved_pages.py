"""The status rules on the real saved pages of tests/corpus/pages/ (provenance in its manifest).

None of the pages that answer 200 is about applying to anything (docs, blogs, papers, news, error and parked
pages served as 200), so whatever the hub says of an entry, neither `status-changed` nor the page-side
`deadline-passed` may fire on them: at most `status-unverified` ("cannot tell").
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.extract import extract
from monitor.findings import Code
from monitor.models import Entry, FetchResult
from monitor.rules import RuleInput
from monitor.rules.content import page_deadline_passed, status_changed

PAGES = Path(__file__).parent / "corpus" / "pages"
TODAY = date(2026, 11, 30)
HUB_LINES = ["Applications are open.", "Applications open soon.", "Currently closed.", "Rolling applications."]


def _answered_200() -> list[dict[str, Any]]:
    manifest = yaml.safe_load((PAGES / "manifest.yaml").read_text(encoding="utf-8"))
    return [page for page in manifest["pages"] if page.get("status", 200) == 200]


@pytest.mark.parametrize("saved", _answered_200(), ids=lambda saved: saved["file"])
def test_no_status_finding_on_a_page_about_something_else(saved: dict[str, Any]) -> None:
    page = extract((PAGES / saved["file"]).read_bytes(), saved.get("headers") or {"content-type": "text/html"})
    fetched = FetchResult(url=saved["url"], final_url=saved["url"], status=200)
    for hub in HUB_LINES:
        entry = Entry(id="x", section="Programs", title="A program", url=saved["url"], status=hub)
        inp = RuleInput(entry=entry, fetch=fetched, page=page, today=TODAY, previous=None)
        codes = {f.code for f in page_deadline_passed(inp) + status_changed(inp)}
        assert codes <= {Code.STATUS_UNVERIFIED}, (saved["file"], hub, codes)
