"""The report stage: a RunResult becomes the JSON contract (schema 1), and the job summary gets the Markdown.

The Markdown itself is rendered from the JSON dict (monitor/markdown.py), never from the RunResult, so
`hub-monitor report reports/latest.json` can re-render an old run without a crawl and both paths give
identical text. Escaping lives in monitor/escape.py; both are re-exported here for the callers of old.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from monitor import __version__
from monitor.escape import (
    DIFF_LIMIT,
    QUOTE_LIMIT,
    URL_LIMIT,
    WORD_JOINER,
    code_span,
    copyable,
    escape_md,
    fenced_block,
    link,
)
from monitor.findings import Finding, Severity
from monitor.markdown import (
    PHRASES,
    SPECIAL_EVIDENCE,
    anchor,
    entry_heading,
    finding_block,
    needing_attention,
    not_checked,
    problem_words,
    proposal_block,
    render_markdown,
    triage_table,
    verdict,
    yaml_line,
)
from monitor.models import EntryResult, Network, RunResult
from monitor.proposals import hub_proposals, proposals_for

__all__ = [
    "DIFF_LIMIT", "PHRASES", "QUOTE_LIMIT", "SCHEMA", "SPECIAL_EVIDENCE", "STEP_SUMMARY_LIMIT", "TOOL", "URL_LIMIT",
    "WORD_JOINER", "actions_links", "anchor", "code_span", "copyable", "entry_heading", "escape_md", "fenced_block",
    "finding_block", "gist", "link", "needing_attention", "not_checked", "problem_words",
    "proposal_block", "render_markdown", "step_summary", "substantive_changes", "to_json", "triage_table", "verdict",
    "yaml_line",
]  # fmt: skip

SCHEMA = 1
TOOL = "hub-monitor"
# GitHub refuses a step summary above 1 MiB per step (and shows an error instead of the summary).
STEP_SUMMARY_LIMIT = 1024 * 1024


# --------------------------------------------------------------------------------------------- JSON


def to_json(
    run: RunResult, previous: Mapping[str, Any] | None = None, links: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The JSON report, schema 1. Key order is part of the contract (a test pins it); keys are only added.

    `previous` is the last run's JSON report, when there is one: the changes then also say which failures
    were confirmed tonight and which findings changed in substance (a status that flipped, a deadline moved).
    `links` are where this run can be seen on GitHub (see `actions_links`), for permalinks in the report.
    """
    entries = [_entry_json(er, run.today) for er in run.entries]
    # An entry whose link was not checked tonight is never counted as fine: only a verdict it carries over
    # (a known failure) counts, and it is counted under not_checked either way.
    counts = Counter(
        e["severity"] for e, er in zip(entries, run.entries, strict=True)
        if er.checked or not er.entry.url or e["severity"] != Severity.OK.value
    )
    order = {er.entry.id: i for i, er in enumerate(run.entries)}
    # An entry whose hub-drift is accepted (kept in the catalog on purpose) is not proposed for removal.
    entry_drift = [(er.entry.id, f) for er in run.entries for f in er.findings
                   if not any(a.code == str(f.code) and a.holds(run.today) for a in er.entry.accept)]
    return {
        "schema": SCHEMA,
        "tool": TOOL,
        "version": __version__,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration_ms": run.duration_ms,
        "today": run.today,
        "network": Network(run.network).value,
        "hub": {"title": run.hub.title, "url": run.hub.url, "maintainer": run.hub.maintainer},
        "catalog": run.catalog_path,
        "confirm_after": run.confirm_after,
        "summary": {
            "entries": len(entries),
            "ok": counts[Severity.OK.value],
            "info": counts[Severity.INFO.value],
            "warning": counts[Severity.WARNING.value],
            "error": counts[Severity.ERROR.value],
            "checked": sum(1 for er in run.entries if er.checked and er.entry.url),
            "not_checked": sum(1 for er in run.entries if not er.checked and er.entry.url),
            "requests": run.requests,
            "hosts": len(run.hosts),
        },
        "settings_changed": dict(sorted(run.settings_changed.items())),
        "changes": {
            "new": _changes_json(run.new_findings, order),
            "resolved": _changes_json(run.resolved_findings, order),
            **substantive_changes(previous, entries, run.confirm_after),
        },
        "not_planned": sorted(set(run.not_planned), key=lambda i: (order.get(i, len(order)), i)),
        "hub_drift": [_finding_json(f) for f in run.hub_findings],
        "entries": entries,
        "hub_proposals": [p.to_json() for p in hub_proposals(run.hub_findings, entry_drift)],
        "issues": {},
        "links": dict(links or {}),
        "accepted": [
            {"id": er.entry.id, "code": a.code, "until": a.until, "reason": a.reason, "source": "catalog",
             "line": a.line, "expired": not a.holds(run.today)}
            for er in run.entries for a in er.entry.accept
        ],
    }


def actions_links(env: Mapping[str, str]) -> dict[str, str]:
    """In GitHub Actions: the commit's tree (for catalog permalinks) and the run's page; else nothing."""
    server, repo, sha, run_id = (env.get(k, "") for k in
                                 ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_SHA", "GITHUB_RUN_ID"))
    if not (server and re.fullmatch(r"[\w.-]+/[\w.-]+", repo)):
        return {}
    links: dict[str, str] = {}
    if re.fullmatch(r"[0-9a-f]{7,64}", sha):
        links["blob"] = f"{server.rstrip('/')}/{repo}/blob/{sha}"
    if run_id.isdigit():
        links["run"] = f"{server.rstrip('/')}/{repo}/actions/runs/{run_id}"
    return links


def _entry_json(er: EntryResult, today: str) -> dict[str, Any]:
    # Findings the catalog accepts (and not past their end date) are kept apart: they set no severity,
    # open no issue, and the report lists them as accepted.
    accepted = {a.code for a in er.entry.accept if a.holds(today)}
    held = sorted((f for f in er.findings if str(f.code) in accepted), key=_finding_order)
    findings = sorted((f for f in er.findings if str(f.code) not in accepted), key=_finding_order)
    confirmed = [f.severity for f in findings if f.confirmed]
    return {
        "id": er.entry.id,
        "section": er.entry.section,
        "title": er.entry.title,
        "kind": str(er.entry.kind),
        "url": er.entry.url,
        "line": er.entry.line,
        "status": er.entry.status,
        "final_url": er.final_url,
        "http_status": er.http_status,
        "elapsed_ms": er.elapsed_ms,
        "checked": er.checked,
        "not_checked_reason": er.not_checked_reason or None,
        "carried_over": er.carried_over,
        "severity": Severity.worst(confirmed).value,
        "findings": [_finding_json(f) for f in findings],
        "proposals": [p.to_json() for p in proposals_for(er.entry, findings, er.final_url, today)],
        "field_lines": dict(er.entry.field_lines),
        "accepted_findings": [_finding_json(f) for f in held],
    }


def _finding_order(f: Finding) -> tuple[int, str, str]:
    return (-f.severity.rank, str(f.code), f.message)


def _finding_json(f: Finding) -> dict[str, Any]:
    return {
        "code": str(f.code),
        "severity": f.severity.value,
        "message": f.message,
        "evidence": {str(k): str(v) for k, v in f.evidence.items()},
        "fix": f.fix,
        "confirmed": f.confirmed,
        "first_seen": f.first_seen,
    }


def _changes_json(changes: Iterable[Any], order: Mapping[str, int]) -> list[dict[str, str]]:
    pairs = {(c.entry_id, str(c.code)) for c in changes}
    ranked = sorted(pairs, key=lambda p: (order.get(p[0], len(order)), p[0], p[1]))
    return [{"id": i, "code": c} for i, c in ranked]


# Evidence that says what a finding is about; the rest (failing_runs, attempts) moves without news.
_SUBSTANCE_EVIDENCE = ("page", "hub", "deadline", "deadlines", "chain", "status", "expected", "quote", "drift")


def substantive_changes(
    previous: Mapping[str, Any] | None, entries: list[Mapping[str, Any]], confirm_after: int
) -> dict[str, list[dict[str, Any]]]:
    """What changed since the last report beyond new and resolved codes: failures confirmed tonight, and
    findings whose evidence changed (a status that flipped, a deadline that moved, a new redirect target)."""
    before: dict[tuple[str, str], Mapping[str, Any]] = {}
    for e in (previous or {}).get("entries") or []:
        if not isinstance(e, Mapping):
            continue
        for f in e.get("findings") or []:
            if isinstance(f, Mapping):
                before[(str(e.get("id")), str(f.get("code")))] = f
    confirmed: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for e in entries:
        for f in e["findings"]:
            old = before.get((e["id"], f["code"]))
            runs = (f.get("evidence") or {}).get("failing_runs")
            if f["confirmed"] and (
                (old is not None and not old.get("confirmed"))
                or (previous is None and runs is not None and runs == str(confirm_after))
            ):
                confirmed.append({"id": e["id"], "code": f["code"]})
            if old is None or not f["confirmed"]:
                continue
            was, now = gist(old), gist(f)
            if was != now:
                changed.append({"id": e["id"], "code": f["code"], "before": was, "after": now})
    return {"confirmed": confirmed, "changed": changed}


def gist(f: Mapping[str, Any]) -> str:
    ev = f.get("evidence") or {}
    if not isinstance(ev, Mapping):
        return str(f.get("message", ""))
    if "page" in ev:
        return str(ev["page"])
    kept = [str(ev[k]) for k in _SUBSTANCE_EVIDENCE if k in ev]
    return " · ".join(kept) if kept else str(f.get("message", ""))


# ------------------------------------------------------------------------------------- step summary

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def step_summary(
    markdown: str,
    path: str | os.PathLike[str] | None = None,
    full_report_url: str | None = None,
    *,
    limit: int = STEP_SUMMARY_LIMIT,
) -> bool:
    """Append the report to the job summary ($GITHUB_STEP_SUMMARY unless `path` is given).

    The file's existing content counts against GitHub's limit, so only what still fits is
    appended, cut between lines with any open code block or <details> closed and a note pointing
    at the full report. Returns False when there is no summary file to write to.
    """
    target = path if path is not None else os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return False
    target = Path(target)
    used = target.stat().st_size if target.exists() else 0
    text = markdown if markdown.endswith("\n") else markdown + "\n"
    if used + len(text.encode("utf-8")) > limit:
        text = _cut(text, limit - used, full_report_url)
    with target.open("a", encoding="utf-8") as fh:
        fh.write(text)
    return True


def _cut(text: str, budget: int, full_report_url: str | None) -> str:
    where = f"the full report: {link(full_report_url)}" if full_report_url else "the full report file"
    note = f"\n\n*The report was cut here to fit GitHub's 1 MiB job summary limit; see {where}.*\n"
    # Room for the note and for closing a fence and a <details> block.
    room = budget - len(note.encode("utf-8")) - 64
    kept: list[str] = []
    size, fence, details = 0, "", 0
    for line in text.splitlines(keepends=True):
        size += len(line.encode("utf-8"))
        if size > room:
            break
        kept.append(line)
        fence, details = _track(line, fence, details)
    if room <= 0:
        # Not even a line fits: the note alone, if that fits, so the summary still says where to look.
        return note.lstrip("\n") if budget >= len(note.encode("utf-8")) else ""
    tail = f"\n{fence}\n" if fence else ""
    tail += "\n</details>\n" * details
    return "".join(kept) + tail + note


def _track(line: str, fence: str, details: int) -> tuple[str, int]:
    m = _FENCE.match(line)
    if fence:
        closing = m is not None and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence)
        return ("" if closing and line.strip() == m.group(1) else fence), details
    if m:
        return m.group(1), details
    stripped = line.strip()
    if stripped == "<details>":
        details += 1
    elif stripped == "</details>" and details:
        details -= 1
    return fence, details
