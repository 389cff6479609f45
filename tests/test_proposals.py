"""Three parties, one proposal: the hub page, the catalog and the linked page reconciled per field."""

from __future__ import annotations

import pytest

from monitor.findings import Code, Finding
from monitor.models import Entry
from monitor.proposals import hub_proposals, proposals_for

ARENA = Entry(id="arena", section="Programs", title="ARENA", url="https://arena.example/", line=146,
              status="Applications open soon.", field_lines=(("id", 146), ("url", 149), ("status", 151)))  # fmt: skip
TODAY = "2026-11-28"


def page_says(text: str) -> Finding:
    return Finding(Code.STATUS_CHANGED, "The page says otherwise.", {"hub": ARENA.status or "", "page": text},
                   fix=f"Change the status line of entry arena (catalog line 146) to: “{text}”")  # fmt: skip


def hub_says(text: str) -> Finding:
    return Finding(Code.HUB_DRIFT, "The hub's status line changed.",
                   {"drift": "hub-status-changed", "hub": text, "catalog": ARENA.status or ""})  # fmt: skip


def moved(to: str) -> Finding:
    return Finding(Code.MOVED_PERMANENTLY, "Moved.", {"chain": f"301 {ARENA.url} → 200 {to}"})


def hub_links(url: str) -> Finding:
    return Finding(Code.HUB_DRIFT, "The hub links elsewhere.", {"drift": "link-changed", "hub": url})


@pytest.mark.parametrize(
    ("findings", "final_url", "expected"),
    [
        # The linked page changed, the hub did not: both the hub's line and the catalog change.
        ([page_says("Applications are now closed.")], None,
         ("status", "Applications are now closed.", "Applications open soon.", "Applications are now closed.", True)),
        # The hub changed, the catalog lags: only the catalog follows.
        ([hub_says("Applications are now open.")], None,
         ("status", "Applications are now open.", "Applications are now open.", None, True)),
        # Both changed and agree (open and open): one proposal, the hub's words, no hub edit.
        ([page_says("Applications for ARENA 8.0 are now open."), hub_says("Apply now: applications are open.")], None,
         ("status", "Apply now: applications are open.", "Apply now: applications are open.", None, True)),
        # Both changed and disagree (hub says open, page says closed): the page's words go on the hub too.
        ([page_says("Applications are now closed."), hub_says("Applications are now open.")], None,
         ("status", "Applications are now closed.", "Applications are now open.", "Applications are now closed.",
          True)),
        # Moved, and the hub already links the new address: the catalog follows.
        ([moved("https://new.example/arena"), hub_links("https://new.example/arena/")], "https://new.example/arena",
         ("url", "https://new.example/arena", "https://new.example/arena/", None, True)),
        # Moved behind a login wall: shown, never applied by a tool.
        ([moved("https://new.example/login"), Finding(Code.ACCESS_RESTRICTED, "Login.")], "https://new.example/login",
         ("url", "https://new.example/login", "https://arena.example/", "https://new.example/login", False)),
    ],
)  # fmt: skip
def test_one_proposal_per_field(findings: list[Finding], final_url: str | None, expected: tuple) -> None:
    [p] = proposals_for(ARENA, findings, final_url, TODAY)
    assert (p.field, p.new, p.hub_current, p.hub_new, p.sure) == expected
    # The line of the field itself, not the entry's first line.
    assert p.catalog_line == {"status": 151, "url": 149}[p.field]
    assert p.current == (ARENA.status if p.field == "status" else ARENA.url)


def test_an_entry_gone_from_the_hub_gets_no_field_edits_but_a_removal() -> None:
    gone = Finding(Code.HUB_DRIFT, "Not on the hub.", {"drift": "gone-from-hub"})
    assert proposals_for(ARENA, [gone, moved("https://new.example/")], "https://new.example/", TODAY) == []
    new = Finding(Code.HUB_DRIFT, "New on the hub.", {"drift": "new-on-hub", "hub": "https://x.example/"},
                  fix="Add it under entries::\n  - id: saelens\n    section: Tools\n    title: SAELens\n"
                      "    url: https://x.example/")  # fmt: skip
    [add, drop] = hub_proposals([new], [("arena", gone)])
    assert add.to_json() == {"action": "add-entry", "id": "saelens", "why": "New on the hub.",
                             "entry": {"id": "saelens", "section": "Tools", "title": "SAELens",
                                       "url": "https://x.example/"}}  # fmt: skip
    assert (drop.action, drop.id, drop.entry) == ("remove-entry", "arena", None)
