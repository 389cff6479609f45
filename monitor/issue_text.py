"""The text of the tool's GitHub issues: titles, bodies, task lists and update comments. No I/O.

A body carries hidden markers the sync reads back: the entry's id, a fingerprint of the findings it
describes (an issue is edited only when they change), and what each finding said (for "before → after").

    issue_title(entry)            "Dead link: ARENA", "Status line out of date (+1 more): MATS"
    issue_body(entry, report)     markers, a To do task list, the proposed edits, the evidence
    update_comment(...)           what changed since the issue was last written
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from monitor.escape import copyable, escape_md, fenced_block
from monitor.findings import Severity
from monitor.markdown import entry_heading, finding_block, problem_words, proposal_block, yaml_line
from monitor.report import gist

# GitHub rejects an issue or comment body above 65,536 characters; keep a margin for the footer.
BODY_LIMIT = 65_536
# The issue that holds the hub-level drift (entries to add to or drop from the catalog). Catalog ids are
# slugs of a-z, 0-9 and "-", so no entry can take this one.
HUB_ISSUE_ID = "_hub"
_ACTIONABLE = (Severity.ERROR.value, Severity.WARNING.value)
# Evidence that changes from night to night without the problem changing; it must not edit the issue.
_VOLATILE_EVIDENCE = frozenset({"failing_runs"})


def update_comment(
    prints: Iterable[str], gists: Iterable[tuple[str, str]], entry: Mapping[str, Any], today: str,
    report: Mapping[str, Any],
) -> str:
    """What changed since the issue was last written (its `prints` and `gists`): new, resolved, and
    before → after for the rest."""
    prints = tuple(prints)
    old_codes, new_codes = set(_codes(prints)), set(_codes(_prints(entry)))
    before, after = dict(gists), _gists(entry)
    lines = [f"Hub Monitor's findings for this entry changed on {escape_md(today, 40)}:", ""]
    for code in sorted(new_codes - old_codes):
        lines.append(f"- new: `{code}`: “{escape_md(after.get(code), 200)}”")
    for code in sorted(old_codes - new_codes):
        was = f": was “{escape_md(before[code], 200)}”" if code in before else ""
        lines.append(f"- resolved: `{code}`{was}")
    changed = {p.split(":", 1)[0] for p in set(prints) ^ set(_prints(entry))} & old_codes & new_codes
    for code in sorted(changed):
        if code in before and before[code] != after.get(code):
            lines.append(f"- changed: `{code}`: “{escape_md(before[code], 200)}” → “{escape_md(after.get(code), 200)}”")
        else:
            lines.append(f"- changed: `{code}`")
    run = (report.get("links") or {}).get("run")
    lines += ["", "The description above is updated." + (f" Run: {run}" if run else "")]
    return "\n".join(lines)


def _actionable(entry: Mapping[str, Any]) -> bool:
    return any(f["confirmed"] and f["severity"] in _ACTIONABLE for f in entry["findings"])


def _clean(entry: Mapping[str, Any]) -> bool:
    # An unconfirmed failure may be the old problem coming back: keep the issue open until we know.
    # An entry that was not checked says nothing either way.
    return bool(entry["checked"]) and not any(f["severity"] in _ACTIONABLE for f in entry["findings"])


def _prints(entry: Mapping[str, Any]) -> list[str]:
    prints = []
    for f in entry["findings"]:
        if f["confirmed"] and f["severity"] in _ACTIONABLE:
            evidence = {k: v for k, v in (f.get("evidence") or {}).items() if k not in _VOLATILE_EVIDENCE}
            blob = json.dumps([f["code"], f["message"], f.get("fix"), evidence], sort_keys=True)
            prints.append(f"{f['code']}:{hashlib.sha256(blob.encode()).hexdigest()[:12]}")
    return sorted(prints)


def _codes(prints: Iterable[str]) -> list[str]:
    return sorted({p.split(":", 1)[0] for p in prints})


def _gists(entry: Mapping[str, Any]) -> dict[str, str]:
    return {f["code"]: gist(f)[:300] for f in entry["findings"] if f["confirmed"] and f["severity"] in _ACTIONABLE}


def _encode_gists(gists: Mapping[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(gists, sort_keys=True).encode()).decode()


def _decode_gists(text: str) -> tuple[tuple[str, str], ...]:
    try:
        data = json.loads(base64.urlsafe_b64decode(text.encode()))
    except (ValueError, binascii.Error):
        return ()
    if not isinstance(data, dict):
        return ()
    return tuple(sorted((str(k), str(v)) for k, v in data.items()))


def _describe_change(old: Iterable[str], new: Iterable[str]) -> str:
    old_codes, new_codes = set(_codes(old)), set(_codes(new))
    changed = {p.split(":", 1)[0] for p in set(old) ^ set(new)} & old_codes & new_codes
    parts = []
    for label, codes in (("new", new_codes - old_codes), ("resolved", old_codes - new_codes), ("changed", changed)):
        if codes:
            parts.append(f"{label}: " + ", ".join(f"`{c}`" for c in sorted(codes)))
    return "; ".join(parts)


def issue_title(entry: Mapping[str, Any]) -> str:
    """The kind of problem first, then the entry: "Dead link: ARENA", "Status line out of date (+1 more): MATS"."""
    if entry.get("id") == HUB_ISSUE_ID:
        return str(entry["title"])
    # Titles are plain text on GitHub; only newlines and control characters need to go.
    title = re.sub(r"[\x00-\x1f\x7f]+", " ", str(entry["title"])).strip()
    kinds = list(dict.fromkeys(problem_words(f) for f in entry.get("findings") or []
                               if f["confirmed"] and f["severity"] in _ACTIONABLE))
    if not kinds:
        return f"Stale entry: {title[:200]}"
    more = f" (+{len(kinds) - 1} more)" if len(kinds) > 1 else ""
    return f"{kinds[0][:1].upper()}{kinds[0][1:]}{more}: {title[:200]}"


_title = issue_title


def issue_body(entry: Mapping[str, Any], report: Mapping[str, Any]) -> str:
    """The issue text for an entry: a task per finding, the edits to make, then the evidence.

    Nothing relative to the run date is said, so the body only changes when the findings do.
    """
    if entry.get("id") == HUB_ISSUE_ID:
        return _hub_body(entry, report)
    head = [
        f"<!-- hub-monitor:entry={entry['id']} -->",
        f"<!-- hub-monitor:findings={','.join(_prints(entry))} -->",
        f"<!-- hub-monitor:gist={_encode_gists(_gists(entry))} -->",
        *entry_heading(entry, str(report["catalog"]), level=2),
        *_tasks(entry),
        *[line for p in entry.get("proposals") or [] for line in proposal_block(p, report)],
    ]
    run = (report.get("links") or {}).get("run")
    foot = [
        "---",
        *([f"Found by the run {run}.", ""] if run else []),
        "*Kept in step by Hub Monitor's nightly check: it updates this issue when the findings change "
        "and closes it when the entry is fine again. Keep the label. Closing it as \"not planned\" accepts "
        "these findings only: a different one on this entry opens a new issue.*",
    ]
    blocks = [
        "\n".join(finding_block(f, None)) for f in entry["findings"] if f["confirmed"] and f["severity"] in _ACTIONABLE
    ]
    budget = BODY_LIMIT - len("\n".join(head + foot)) - 200
    kept: list[str] = []
    for i, block in enumerate(blocks):
        if len(block) + 1 > budget:
            kept.append(f"*{len(blocks) - i} more finding(s) did not fit here; see the report.*\n")
            break
        kept.append(block)
        budget -= len(block) + 1
    return "\n".join([*head, *kept, *foot]) + "\n"


_body = issue_body


def _tasks(entry: Mapping[str, Any]) -> list[str]:
    """A checkbox per proposal (the change to make, pasteable) and per finding no proposal covers."""
    lines: list[str] = []
    covered: set[str] = set()
    for p in entry.get("proposals") or []:
        covered |= set(p.get("codes") or [])
        value = copyable(yaml_line(p["field"], p["new"])) if p["action"] == "set" else copyable("- " + p["new"])
        hub = " (and on the hub page)" if p.get("hub_new") else ""
        codes = ", ".join(escape_md(c, 40) for c in p.get("codes") or [])
        word = {"status": "Status line", "url": "Link", "aliases": "Aliases"}.get(p["field"], "Field")
        line = p.get("catalog_line") or entry.get("line")
        lines.append(f"- [ ] {word} ({codes}): line {line} becomes {value}{hub}")
    for f in entry["findings"]:
        if f["confirmed"] and f["severity"] in _ACTIONABLE and f["code"] not in covered:
            words = escape_md(problem_words(f).capitalize(), 80)
            todo = f": {escape_md(f['fix'], 300)}" if f.get("fix") else ""
            lines.append(f"- [ ] {words} ({escape_md(f['code'], 40)}){todo}")
    return ["### To do", "", *lines, ""] if lines else []


def _hub_entry(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The hub-level drift as a pseudo-entry, so one issue follows it like any entry's."""
    proposals = [p for p in report.get("hub_proposals") or [] if isinstance(p, Mapping)]
    if not proposals and not _hub_read(report):
        return []
    adds = [p for p in proposals if p.get("action") == "add-entry"]
    drops = [p for p in proposals if p.get("action") == "remove-entry"]
    findings = [
        {"code": "hub-drift", "severity": Severity.WARNING.value, "confirmed": True, "fix": None,
         "message": p.get("why") or "", "evidence": {"drift": str(p.get("action")), "id": str(p.get("id"))}}
        for p in proposals
    ]
    parts = [f"{len(adds)} to add" if adds else "", f"{len(drops)} to remove" if drops else ""]
    first = len(adds or drops)
    title = "Hub page and catalog differ: " + ", ".join(x for x in parts if x).replace(
        " to ", " entry to " if first == 1 else " entries to ", 1)
    return [{"id": HUB_ISSUE_ID, "title": title, "checked": _hub_read(report), "findings": findings,
             "proposals": [], "_hub": proposals}]


def _hub_read(report: Mapping[str, Any]) -> bool:
    # A hub-drift note without a "drift" kind says the hub page could not be read tonight.
    hub = report.get("hub") or {}
    unread = any("drift" not in (f.get("evidence") or {}) for f in report.get("hub_drift") or [])
    return bool(hub.get("url")) and not unread


def _hub_body(entry: Mapping[str, Any], report: Mapping[str, Any]) -> str:
    lines = [
        f"<!-- hub-monitor:entry={HUB_ISSUE_ID} -->",
        f"<!-- hub-monitor:findings={','.join(_prints(entry))} -->",
        f"## {escape_md(entry['title'], 200)}",
        "",
        f"The hub page and {escape_md(report['catalog'], 120)} no longer list the same entries.",
        "",
    ]
    for p in entry.get("_hub") or []:
        if p.get("action") == "add-entry" and isinstance(p.get("entry"), Mapping):
            block = yaml.safe_dump([dict(p["entry"])], allow_unicode=True, sort_keys=False, width=110)
            indented = "".join(f"  {ln}" if ln.strip() else ln for ln in block.splitlines(keepends=True))
            lines += [f"- [ ] Add {escape_md(p['entry'].get('title') or p.get('id'), 200)} under `entries:`", "",
                      fenced_block(indented.rstrip("\n"), "yaml", limit=10**6), ""]
        elif p.get("action") == "remove-entry":
            lines += [f"- [ ] Remove entry {copyable(str(p.get('id')))}: {escape_md(p.get('why'), 300)}", ""]
    lines += ["---", "*Kept in step by Hub Monitor's nightly check; closed when the hub page and the catalog agree.*"]
    return "\n".join(lines) + "\n"
