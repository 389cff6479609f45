"""Three parties, one proposal: the hub page, the catalog and the linked page reconciled per field.

The catalog mirrors the hub page, and the linked page is the truth the hub describes. Two rules can each
suggest a new value for one field on one night: hub-drift (the hub page now differs from the catalog) and a
page rule (status-changed, moved-permanently). They are reconciled here into one change per field, saying
both edits: what to write on the hub page (if anything) and which catalog field follows.

    proposals_for(entry, findings, final_url, today) -> [Proposal]    one per field, pure
    hub_proposals(hub_findings)                      -> [HubProposal] entries to add to or drop from the catalog

Only the fields `url`, `status` and `aliases` are proposed (the shape the `fix` command applies); anything else
stays a written fix in the report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import yaml

from monitor.findings import Code, Finding
from monitor.models import Entry

if TYPE_CHECKING:
    from monitor.status import State

# Codes that say the URL's target is not the resource itself (a wall, a "not found" page): a new URL found
# through them is shown, never applied by a tool.
_UNSURE_TARGET = frozenset({Code.ACCESS_RESTRICTED, Code.SOFT_404, Code.PARKED_DOMAIN, Code.BOT_PROTECTION})
_SUGGESTED = re.compile(r"to: “(?P<text>.*)”\s*\Z", re.S)


@dataclass(frozen=True)
class Proposal:
    """One change to one catalog field, and the hub-page edit it mirrors (the JSON `proposals` item)."""

    field: str  # "url" | "status" | "aliases"
    action: str  # "set" | "add"
    catalog_line: int | None
    current: str | None
    new: str
    hub_current: str | None
    hub_new: str | None
    codes: tuple[str, ...]
    sure: bool
    why: str

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "action": self.action,
            "catalog_line": self.catalog_line,
            "current": self.current,
            "new": self.new,
            "hub_current": self.hub_current,
            "hub_new": self.hub_new,
            "codes": list(self.codes),
            "sure": self.sure,
            "why": self.why,
        }


@dataclass(frozen=True)
class HubProposal:
    """An entry the hub lists and the catalog lacks (add-entry), or the reverse (remove-entry)."""

    action: str  # "add-entry" | "remove-entry"
    id: str
    entry: dict[str, Any] | None
    why: str
    codes: tuple[str, ...] = field(default=(Code.HUB_DRIFT.value,))

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "id": self.id, "entry": self.entry, "why": self.why}


def proposals_for(entry: Entry, findings: Sequence[Finding], final_url: str | None, today: str) -> list[Proposal]:
    """The entry's proposed changes, at most one per field, from tonight's findings."""
    by_code: dict[str, list[Finding]] = {}
    for f in findings:
        by_code.setdefault(str(f.code), []).append(f)
    drift = {f.evidence.get("drift"): f for f in by_code.get(Code.HUB_DRIFT.value, [])}
    if "gone-from-hub" in drift or "candidate-not-on-hub" in drift:
        # The hub does not list the entry: the change is to drop it (a hub proposal), not to edit its fields.
        return []
    out = [p for p in (_status(entry, by_code, drift, today), _url(entry, by_code, drift, final_url)) if p]
    return out


def _status(entry: Entry, by_code: dict[str, list[Finding]], drift: dict[Any, Finding], today: str) -> Proposal | None:
    page = next(iter(by_code.get(Code.STATUS_CHANGED.value, [])), None)
    hub = drift.get("hub-status-changed")
    suggestion = _suggested(page.fix) if page is not None else None
    hub_text = hub.evidence.get("hub") if hub is not None else None
    line = entry.line_of("status")
    if page is not None and suggestion and hub is not None:
        codes = (Code.STATUS_CHANGED.value, Code.HUB_DRIFT.value)
        if hub_text and _state(hub_text, today) is _state(suggestion, today):
            return Proposal("status", "set", line, entry.status, hub_text, hub_text, None, codes, True,
                            "The hub page was already updated and agrees with the linked page: "
                            "the catalog follows the hub.")
        return Proposal("status", "set", line, entry.status, suggestion, hub_text, suggestion, codes, True,
                        "The hub page changed, but the linked page says something else: write the page's words on "
                        "the hub, and the catalog follows.")
    if page is not None and suggestion:
        return Proposal("status", "set", line, entry.status, suggestion, entry.status, suggestion,
                        (Code.STATUS_CHANGED.value,), True,
                        "The linked page no longer says what the hub says: update the hub's line, "
                        "and the catalog follows.")
    if hub is not None and hub_text:
        return Proposal("status", "set", line, entry.status, hub_text, hub_text, None, (Code.HUB_DRIFT.value,), True,
                        "The hub page's status line changed: the catalog follows the hub.")
    return None


def _url(entry: Entry, by_code: dict[str, list[Finding]], drift: dict[Any, Finding],
         final_url: str | None) -> Proposal | None:
    moved = next(iter(by_code.get(Code.MOVED_PERMANENTLY.value, [])), None)
    hub = drift.get("link-changed")
    hub_url = hub.evidence.get("hub") if hub is not None else None
    line = entry.line_of("url")
    unsure = any(code in by_code for code in _UNSURE_TARGET)
    if moved is not None and final_url and final_url != entry.url:
        codes = (Code.MOVED_PERMANENTLY.value, *((Code.HUB_DRIFT.value,) if hub else ()))
        if hub_url and _same(hub_url, final_url):
            return Proposal("url", "set", line, entry.url, final_url, hub_url, None, codes, not unsure,
                            "The hub already links the new address the old one redirects to: the catalog follows "
                            "(keep the old URL as an alias).")
        return Proposal("url", "set", line, entry.url, final_url, hub_url or entry.url, final_url, codes, not unsure,
                        "The link redirects permanently to a new address: link it on the hub, and the catalog follows "
                        "(keep the old URL as an alias).")
    if hub_url:
        return Proposal("url", "set", line, entry.url, hub_url, hub_url, None, (Code.HUB_DRIFT.value,), not unsure,
                        "The hub page now links another address: the catalog follows the hub (keep the old URL as "
                        "an alias if it still leads there).")
    archived = next((f.evidence["archive"] for fs in by_code.values() for f in fs if "archive" in f.evidence), None)
    if archived and entry.url:
        codes = tuple(sorted(c for c, fs in by_code.items() if any("archive" in f.evidence for f in fs)))
        return Proposal("url", "set", line, entry.url, archived, entry.url, archived, codes, False,
                        "The page is gone; an archived copy exists. Link it only if no live copy can be found.")
    return None


def _suggested(fix: str | None) -> str | None:
    m = _SUGGESTED.search(fix or "")
    return m.group("text") if m else None


def _state(text: str, today: str) -> State:
    from monitor.status import classify  # rarely needed, and its regexes take a tenth of a second to compile

    try:
        day = date.fromisoformat(today[:10])
    except ValueError:
        day = None
    return classify(text, day).state


def _same(a: str, b: str) -> bool:
    def key(u: str) -> str:
        return re.sub(r"^https?://(www\.)?", "", u.strip().lower()).rstrip("/")

    return key(a) == key(b)


def hub_proposals(hub_findings: Iterable[Finding], entry_findings: Iterable[tuple[str, Finding]]) -> list[HubProposal]:
    """Entries to add (new on the hub) and to remove (gone from the hub), from the hub-drift findings."""
    out: list[HubProposal] = []
    for f in hub_findings:
        if f.evidence.get("drift") != "new-on-hub":
            continue
        entry = _entry_from_fix(f.fix)
        if entry is not None:
            out.append(HubProposal("add-entry", str(entry.get("id", "")), entry, f.message))
    for entry_id, f in entry_findings:
        if f.code == Code.HUB_DRIFT and f.evidence.get("drift") in ("gone-from-hub", "candidate-not-on-hub"):
            out.append(HubProposal("remove-entry", entry_id, None, f.message))
    return out


def _entry_from_fix(fix: str | None) -> dict[str, Any] | None:
    """The catalog entry a new-on-hub fix carries as a YAML block ("Add it under entries::\\n  - id: …")."""
    if not fix or "\n" not in fix:
        return None
    block = fix.split("\n", 1)[1]
    try:
        items = yaml.safe_load(block)
    except yaml.YAMLError:
        return None
    if isinstance(items, list) and items and isinstance(items[0], dict):
        return items[0]
    return None
