"""The report stage: a RunResult becomes the JSON contract, and the JSON becomes the Markdown report.

The Markdown is rendered from the JSON dict, never from the RunResult, so `hub-monitor report
reports/latest.json` can re-render an old run without a crawl and both paths give identical text.

Everything that came from a page (titles, status quotes, URLs, messages, diffs) goes through
`escape_md` or a fenced block whose fence is longer than any backtick run inside it: page text can
never add HTML, a link, an image, a heading, a mention or a table cell to the report or to an issue.

Evidence keys with their own rendering (any other key is shown as a labelled, escaped line):
  hub / page      status quotes, shown side by side
  chain           redirect chain, one hop per line
  deadline        a date (YYYY-MM-DD first); the report says how long ago it passed
  diff            a short unified diff, shown in a fenced block
  archive         a Wayback Machine URL ("Archived copy")
  failing_runs    consecutive failing runs of an unconfirmed failure, for "(1 of 2 runs)"
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from monitor import __version__
from monitor.findings import Code, Finding, Severity
from monitor.models import EntryResult, Network, RunResult

SCHEMA = 1
TOOL = "hub-monitor"
# GitHub refuses a step summary above 1 MiB per step (and shows an error instead of the summary).
STEP_SUMMARY_LIMIT = 1024 * 1024
QUOTE_LIMIT = 300
URL_LIMIT = 300
DIFF_LIMIT = 4000

# How the one-line verdict and the headings name a finding: (singular, plural).
PHRASES: dict[str, tuple[str, str]] = {
    Code.DEAD_LINK: ("dead link", "dead links"),
    Code.UNREACHABLE: ("unreachable site", "unreachable sites"),
    Code.TIMEOUT: ("link that timed out", "links that timed out"),
    Code.HTTP_ERROR: ("server error", "server errors"),
    Code.REDIRECT_LOOP: ("redirect loop", "redirect loops"),
    Code.BLOCKED_ADDRESS: ("link to a private address", "links to private addresses"),
    Code.SOFT_404: ("page that is gone (soft 404)", "pages that are gone (soft 404)"),
    Code.PARKED_DOMAIN: ("parked domain", "parked domains"),
    Code.MOVED_PERMANENTLY: ("moved page", "moved pages"),
    Code.ACCESS_RESTRICTED: ("page behind a login", "pages behind a login"),
    Code.BOT_PROTECTION: ("page behind a bot check", "pages behind a bot check"),
    Code.RATE_LIMITED: ("rate-limited site", "rate-limited sites"),
    Code.MISSING_ANCHOR: ("missing anchor", "missing anchors"),
    Code.STATUS_CHANGED: ("status line out of date", "status lines out of date"),
    Code.DEADLINE_PASSED: ("passed deadline", "passed deadlines"),
    Code.MARKED_OUTDATED: ("page marked outdated", "pages marked outdated"),
    Code.EXPECTED_TEXT_MISSING: ("missing expected phrase", "missing expected phrases"),
    Code.TOO_LARGE: ("oversized page", "oversized pages"),
    Code.HUB_DRIFT: ("difference from the hub page", "differences from the hub page"),
    Code.STATUS_UNKNOWN: ("status unknown on the hub", "statuses unknown on the hub"),
    Code.REDIRECTED: ("redirect", "redirects"),
    Code.CONTENT_CHANGED: ("content change", "content changes"),
    Code.TITLE_CHANGED: ("title change", "title changes"),
    Code.NO_URL: ("entry without a link", "entries without a link"),
    Code.STATUS_UNVERIFIED: ("status that cannot be verified", "statuses that cannot be verified"),
    Code.DATED_TITLE: ("dated title", "dated titles"),
    Code.ANCHOR_UNVERIFIED: ("anchor that cannot be verified", "anchors that cannot be verified"),
    Code.CHECK_FAILED: ("entry the monitor failed to check", "entries the monitor failed to check"),
    Code.TOO_COMPLEX: ("page too costly to read", "pages too costly to read"),
}

SPECIAL_EVIDENCE = frozenset({"hub", "page", "chain", "deadline", "diff", "archive", "failing_runs"})


# --------------------------------------------------------------------------------------------- JSON


def to_json(run: RunResult) -> dict[str, Any]:
    """The JSON report, schema 1. Key order is part of the contract (a test pins it)."""
    entries = [_entry_json(er) for er in run.entries]
    # An entry whose link was not checked tonight is never counted as fine: only a verdict it carries over
    # (a known failure) counts, and it is counted under not_checked either way.
    counts = Counter(
        e["severity"] for e, er in zip(entries, run.entries, strict=True)
        if er.checked or not er.entry.url or e["severity"] != Severity.OK.value
    )
    order = {er.entry.id: i for i, er in enumerate(run.entries)}
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
        },
        "not_planned": sorted(set(run.not_planned), key=lambda i: (order.get(i, len(order)), i)),
        "hub_drift": [_finding_json(f) for f in run.hub_findings],
        "entries": entries,
    }


def _entry_json(er: EntryResult) -> dict[str, Any]:
    findings = sorted(er.findings, key=_finding_order)
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


def load_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a JSON report for re-rendering; ValueError (with the path) when it is not one we can read."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(data, dict) or data.get("tool") != TOOL:
        raise ValueError(f"{path}: not a hub-monitor JSON report")
    if data.get("schema") != SCHEMA:
        raise ValueError(f"{path}: report schema {data.get('schema')!r}; this version reads schema {SCHEMA}")
    return data


# ------------------------------------------------------------------------------------------ escaping

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SPACE = re.compile(r"\s+")
# Characters that start Markdown or HTML constructs anywhere in a line.
_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~!])")
# URLs and e-mail addresses in page text become code spans: GitHub links neither inside code, and a
# maintainer can still copy the new URL from a fix exactly as it is.
# No \b before "www.": GitHub autolinks "www." after "_", "*", "~" or "(" too, and "_www" has no word boundary.
_URLISH = re.compile(r"(?i)(?:(?<![a-z0-9])[a-z][a-z0-9+.-]*://|(?<![a-z0-9])www\.)[^\s<>]*|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_TRAILING = ".,;:!?)]}'\""
# A word joiner (invisible) after "@" or before digits after "#" stops @mentions and #123 references,
# which GitHub recognises after Markdown parsing, so a backslash alone would not stop them.
WORD_JOINER = "\u2060"
_REFERENCE = re.compile(r"(@|#(?=\d)|://)")
# Markers that start a block only at the start of a line: a list item, an ordered item, a setext underline.
_LEADING = re.compile(r"^([-+](?=\s|$)|\d+[.)](?=\s|$)|=+$)")


def escape_md(text: str | None, limit: int | None = QUOTE_LIMIT) -> str:
    """Page text as inert Markdown on one line: it renders as the same words and nothing more.

    Newlines become spaces, so the text cannot start a block or end a table row; long text is cut
    with "…" (before escaping, so no escape is cut in half). URLs come out as code spans.
    """
    flat = _flatten(text, limit)
    parts: list[str] = []
    pos = 0
    for m in _URLISH.finditer(flat):
        token = _trim_url(m.group(0))
        if not token:
            continue
        parts += [_escape_text(flat[pos : m.start()]), _inert_url(token)]
        pos = m.start() + len(token)
    parts.append(_escape_text(flat[pos:]))
    return _LEADING.sub(lambda m: m.group(1)[:-1] + "\\" + m.group(1)[-1], "".join(parts))


def _trim_url(token: str) -> str:
    # Sentence punctuation after a URL is not part of it, but a closing parenthesis that balances an
    # opening one is (Wikipedia's "Foo_(bar)"), as in GitHub's own autolinking.
    while token and token[-1] in _TRAILING:
        if token[-1] == ")" and token.count("(") >= token.count(")"):
            break
        token = token[:-1]
    return token


def _flatten(text: str | None, limit: int | None) -> str:
    flat = _SPACE.sub(" ", _CONTROL.sub("", "" if text is None else str(text))).strip()
    if limit is not None and len(flat) > limit:
        flat = flat[: max(limit - 1, 1)].rstrip() + "…"
    return flat


def _escape_text(text: str) -> str:
    text = _SPECIAL.sub(r"\\\1", text.replace("&", "&amp;"))
    return _REFERENCE.sub(lambda m: m.group(1) + WORD_JOINER if m.group(1) != "://" else ":" + WORD_JOINER + "//", text)


def _inert_url(url: str) -> str:
    # Percent-encoding "|" and "`" keeps the URL equivalent and lets one-backtick code work anywhere,
    # table cells included (GitHub splits cells on "|" even inside code).
    return "`" + url.replace("|", "%7C").replace("`", "%60") + "`"


def code_span(text: str | None, limit: int | None = URL_LIMIT, *, in_table: bool = False) -> str:
    """Text shown verbatim (URLs): a code span is never linked, and its fence outgrows any backticks inside."""
    flat = _flatten(text, limit)
    if not flat:
        return ""
    if in_table:
        # GitHub splits table cells on "|" even inside code spans; "\|" is the one escape it honours there.
        flat = flat.replace("|", "\\|")
    fence = "`" * (_longest_run(flat, "`") + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def fenced_block(text: str, info: str = "", limit: int = DIFF_LIMIT) -> str:
    """A fenced code block that its content cannot close: the fence is longer than any backtick run."""
    body = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).rstrip("\n")
    if len(body) > limit:
        body = body[:limit].rsplit("\n", 1)[0] + "\n…"
    fence = "`" * max(3, _longest_run(body, "`") + 1)
    return f"{fence}{info}\n{body}\n{fence}"


def _longest_run(text: str, char: str) -> int:
    runs = re.findall(re.escape(char) + "+", text)
    return max((len(r) for r in runs), default=0)


_SAFE_URL = re.compile(r"^https?://[^\s<>\\`\"']+$")


def link(url: str | None, limit: int | None = URL_LIMIT) -> str:
    """A catalog URL as a clickable autolink when it is a plain http(s) URL; anything else stays inert."""
    if url and _SAFE_URL.match(url) and (limit is None or len(url) <= limit):
        return f"<{url}>"
    return code_span(url, limit)


# ------------------------------------------------------------------------------------------ Markdown


def render_markdown(data: Mapping[str, Any]) -> str:
    """The Markdown report, from the JSON report alone. Same dict in, same text out."""
    hub = _escape_plain(data["hub"]["title"] or "Hub")
    lines = [f"# {hub}: link report for {escape_md(data['today'], 40)}", ""]
    if data["network"] == Network.UNAVAILABLE.value:
        lines += _network_unavailable(data)
        return _finish(lines)
    entries: list[Mapping[str, Any]] = data["entries"]
    attention = [e for e in entries if e["severity"] in (Severity.ERROR.value, Severity.WARNING.value)]
    pending = [(e, f) for e in entries for f in e["findings"] if not f["confirmed"]]
    lines += [f"**{verdict(data)}**", ""]
    lines += _summary_table(data)
    lines += _section("Needs attention", _needs_attention(data, attention))
    lines += _section("The hub lists entries the catalog lacks", _hub_drift(data))
    lines += _section("Issues closed as not planned", _not_planned(data))
    lines += _section("Changed since the last run", _changes(data))
    lines += _section("Not yet confirmed", _pending(data, pending))
    lines += _section("Not checked", _not_checked(entries))
    lines += _section("Information", _information(data, attention))
    lines += _all_entries(entries)
    lines += _run_details(data)
    return _finish(lines)


def verdict(data: Mapping[str, Any]) -> str:
    """The one line a maintainer reads first."""
    if data["network"] == Network.UNAVAILABLE.value:
        return "Network unavailable: nothing was concluded tonight; previous verdicts are kept."
    entries = data["entries"]
    attention = [e for e in entries if e["severity"] in (Severity.ERROR.value, Severity.WARNING.value)]
    unchecked = len(not_checked(entries))
    # An entry that was never fetched must not read as fine: say how many there are, in the first line.
    skipped = f" {_count(unchecked, 'entry was', 'entries were')} not checked." if unchecked else ""
    if not attention:
        pending = sum(1 for e in entries for f in e["findings"] if not f["confirmed"])
        if not entries:
            return "The catalog has no entries."
        if unchecked:
            looked = len(entries) - unchecked
            text = f"{_count(looked, 'checked entry looks', 'checked entries look')} fine"
        else:
            text = f"All {len(entries)} entries look fine" if len(entries) != 1 else "The one entry looks fine"
        if pending:
            text += f" ({_count(pending, 'failure', 'failures')} not yet confirmed)"
        return text + "." + skipped
    per_code: Counter[str] = Counter()
    rank: dict[str, int] = {}
    for e in attention:
        for f in e["findings"]:
            if f["confirmed"] and f["severity"] in (Severity.ERROR.value, Severity.WARNING.value):
                per_code[f["code"]] += 1
                rank[f["code"]] = Severity(f["severity"]).rank
    parts = sorted(per_code.items(), key=lambda kv: (-rank[kv[0]], -kv[1], kv[0]))
    what = ", ".join(_count(n, *PHRASES.get(code, (code, code))) for code, n in parts)
    verb = "needs" if len(attention) == 1 else "need"
    return f"{_count(len(attention), 'entry', 'entries')} {verb} attention: {what}.{skipped}"


def not_checked(entries: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Entries with a link that was not fetched tonight (excluded, or the run's time budget ran out)."""
    return [e for e in entries if e.get("url") and not e["checked"]]


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


def _escape_plain(text: str) -> str:
    return escape_md(text, 120)


def _finish(lines: list[str]) -> str:
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"


def _section(title: str, body: list[str]) -> list[str]:
    return [f"## {title}", "", *body, ""] if body else []


def _network_unavailable(data: Mapping[str, Any]) -> list[str]:
    n = data["summary"]["entries"]
    return [
        f"**{verdict(data)}**",
        "",
        f"None of the {n} entries was judged: no finding was raised or resolved, and open issues are left "
        "as they are. The next run with network access checks everything again.",
        "",
        *_run_details(data),
    ]


def _summary_table(data: Mapping[str, Any]) -> list[str]:
    s = data["summary"]
    return [
        "| Entries | Count |",
        "| --- | ---: |",
        f"| Error | {s['error']} |",
        f"| Warning | {s['warning']} |",
        f"| Information only | {s['info']} |",
        f"| OK | {s['ok']} |",
        f"| **Total** | **{s['entries']}** |",
        "",
        f"Links checked: {s['checked']} · requests: {s['requests']} · hosts: {s['hosts']} · "
        f"run time: {_duration(data['duration_ms'])}",
        "",
    ]


def _duration(ms: int | None) -> str:
    seconds = (ms or 0) / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"


def _worst_first(entries: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    # Stable sort: equal severities keep catalog order.
    return sorted(entries, key=lambda e: -Severity(e["severity"]).rank)


def _needs_attention(data: Mapping[str, Any], attention: list[Mapping[str, Any]]) -> list[str]:
    lines: list[str] = []
    for e in _worst_first(attention):
        lines += entry_heading(e, data["catalog"], level=3)
        for f in e["findings"]:
            if f["confirmed"]:
                lines += finding_block(f, data["today"])
    return lines


def entry_heading(e: Mapping[str, Any], catalog: str, *, level: int) -> list[str]:
    """An entry's title line and where to find it: shared by the report and the issue bodies."""
    where = f"{escape_md(catalog, 120)} line {e['line']}" if e.get("line") else escape_md(catalog, 120)
    facts = [f"**{e['severity']}**", escape_md(e["section"], 120), f"entry {escape_md(e['id'], 80)}", where]
    lines = ["#" * level + " " + escape_md(e["title"], 200), "", " · ".join(facts)]
    lines += ["", f"URL: {link(e['url'])}" if e.get("url") else "URL: none in the catalog"]
    if e.get("final_url") and e["final_url"] != e.get("url"):
        lines += ["", f"Ends at: {code_span(e['final_url'])}"]
    if e.get("status"):
        lines += ["", f"Hub status line: {escape_md(e['status'])}"]
    return [*lines, ""]


def finding_block(f: Mapping[str, Any], today: str | None) -> list[str]:
    """One finding: what is wrong, the evidence, the fix. With today=None nothing relative is said
    ("3 days ago"), so an issue body stays the same from one night to the next."""
    label = PHRASES.get(f["code"], (f["code"], f["code"]))[0]
    head = f"**{escape_md(label.capitalize(), 80)}** ({escape_md(f['code'], 40)}, {f['severity']})"
    lines = [f"{head}: {escape_md(f['message'])}", ""]
    ev: Mapping[str, str] = f.get("evidence") or {}
    if "hub" in ev or "page" in ev:
        lines += ["| Hub says | Page says |", "| --- | --- |"]
        lines += [f"| {escape_md(ev.get('hub', '')) or '—'} | {escape_md(ev.get('page', '')) or '—'} |", ""]
    facts: list[str] = []
    if "chain" in ev:
        hops = [h.strip() for h in re.split(r"\n|\s+(?:->|→)\s+", ev["chain"]) if h.strip()]
        facts.append("Redirect chain: " + " → ".join(code_span(h) for h in hops[:12]))
    if "deadline" in ev:
        facts.append(f"Deadline: {escape_md(ev['deadline'], 80)}{_ago(ev['deadline'], today, 'passed ')}")
    if f.get("first_seen"):
        since = "Failing since" if f["severity"] == Severity.ERROR.value else "Seen since"
        facts.append(f"{since}: {escape_md(f['first_seen'], 40)}{_ago(f['first_seen'], today)}")
    for key, value in ev.items():
        if key not in SPECIAL_EVIDENCE:
            shown = code_span(value) if _looks_like_url(value) else escape_md(value)
            facts.append(f"{escape_md(key.replace('_', ' ').capitalize(), 60)}: {shown}")
    if "archive" in ev:
        facts.append(f"Archived copy: {_archive_link(ev['archive'])}")
    lines += [f"- {fact}" for fact in facts]
    if facts:
        lines.append("")
    if "diff" in ev:
        lines += [fenced_block(ev["diff"], "diff"), ""]
    if f.get("fix"):
        lines += [f"**Fix:** {escape_md(f['fix'], 500)}", ""]
    return lines


def _looks_like_url(value: str) -> bool:
    return bool(re.match(r"(?i)^[a-z][a-z0-9+.-]*://\S+$", value.strip()))


_ARCHIVE_URL = re.compile(r"^https://web\.archive\.org/[^\s<>\\`\"']+$")


def _archive_link(url: str) -> str:
    # The availability API only ever answers with web.archive.org URLs; anything else is shown inert.
    return f"<{url}>" if _ARCHIVE_URL.match(url) and len(url) <= URL_LIMIT else code_span(url)


def _ago(when: str, today: str | None, prefix: str = "") -> str:
    if today is None:
        return ""
    try:
        then, now = date.fromisoformat(when[:10]), date.fromisoformat(today[:10])
    except ValueError:
        return ""
    days = (now - then).days
    if days <= 0:
        return " (today)" if days == 0 and not prefix else ""
    return f" ({prefix}{_count(days, 'day', 'days')} ago)"


def _hub_drift(data: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    for f in data.get("hub_drift", []):
        lines += finding_block(f, data["today"])
    return lines


def _not_planned(data: Mapping[str, Any]) -> list[str]:
    titles = {e["id"]: e["title"] for e in data["entries"]}
    return [
        f"- {escape_md(titles.get(i, i), 200)} ({escape_md(i, 80)}): a maintainer closed its issue as not "
        "planned, so no new issue is opened."
        for i in data.get("not_planned", [])
    ]


def _changes(data: Mapping[str, Any]) -> list[str]:
    titles = {e["id"]: e["title"] for e in data["entries"]}
    lines: list[str] = []
    for kind, label in (("new", "New"), ("resolved", "Resolved")):
        for c in data["changes"][kind]:
            name = escape_md(titles.get(c["id"], c["id"]), 200)
            lines.append(f"- {label}: {escape_md(c['code'], 40)} on {name} ({escape_md(c['id'], 80)})")
    return lines


def _pending(data: Mapping[str, Any], pending: list[tuple[Mapping[str, Any], Mapping[str, Any]]]) -> list[str]:
    lines: list[str] = []
    needed = data["confirm_after"]
    for e, f in pending:
        seen = f.get("first_seen") or data["today"]
        runs = (f.get("evidence") or {}).get("failing_runs")
        if runs is None and (needed <= 2 or seen == data["today"]):
            # Unconfirmed with confirm_after 2, or first seen tonight: this is its first failing run.
            runs = "1"
        count = f"{escape_md(runs, 10)} of {needed} runs" if runs else f"fewer than {needed} runs so far"
        lines.append(
            f"- {escape_md(e['title'], 200)}: {escape_md(f['code'], 40)}, {escape_md(f['message'])}; "
            f"failing since {escape_md(seen, 40)} ({count})"
        )
    return lines


def _not_checked(entries: list[Mapping[str, Any]]) -> list[str]:
    skipped = not_checked(entries)
    if not skipped:
        return []
    lines = ["Not fetched in this run; their previous verdicts are kept.", ""]
    for e in skipped:
        why = e.get("not_checked_reason")
        lines.append(f"- {escape_md(e['title'], 200)} ({escape_md(e['id'], 80)}): {link(e['url'])}"
                     + (f" ({escape_md(why, 200)})" if why else ""))
    return lines


def _information(data: Mapping[str, Any], attention: list[Mapping[str, Any]]) -> list[str]:
    shown = {e["id"] for e in attention}
    lines: list[str] = []
    for e in data["entries"]:
        if e["id"] in shown:
            continue
        notes = [f for f in e["findings"] if f["confirmed"] and f["severity"] == Severity.INFO.value]
        if not notes:
            continue
        lines += [f"### {escape_md(e['title'], 200)}", ""]
        for f in notes:
            lines += finding_block(f, data["today"])
    return lines


def _all_entries(entries: list[Mapping[str, Any]]) -> list[str]:
    lines = [
        "<details>",
        f"<summary>All entries ({len(entries)})</summary>",
        "",
        "| Entry | Section | State | HTTP | Findings |",
        "| --- | --- | --- | ---: | --- |",
    ]
    for e in entries:
        state = e["severity"] if e["checked"] else "not checked"
        if any(not f["confirmed"] for f in e["findings"]):
            state += " (failure not yet confirmed)"
        codes = ", ".join(f["code"] + ("" if f["confirmed"] else "?") for f in e["findings"]) or "—"
        status = escape_md(str(e["http_status"]), 10) if e["http_status"] is not None else "—"
        title = escape_md(e["title"], 120)
        lines.append(f"| {title} | {escape_md(e['section'], 80)} | {state} | {status} | {escape_md(codes)} |")
    return [*lines, "", "</details>", ""]


def _run_details(data: Mapping[str, Any]) -> list[str]:
    s = data["summary"]
    lines = [
        "## Run details",
        "",
        f"- Version: {escape_md(data['tool'], 40)} {escape_md(data['version'], 40)}",
        f"- Started: {escape_md(data['started_at'], 60)}; finished: {escape_md(data['finished_at'], 60)}",
        f"- Duration: {_duration(data['duration_ms'])}",
        f"- Requests: {s['requests']}; hosts: {s['hosts']}",
        f"- Catalog: {escape_md(data['catalog'], 200)}; failures confirmed after {data['confirm_after']} runs",
    ]
    changed = data.get("settings_changed") or {}
    if changed:
        lines.append("- Settings that differ from the defaults:")
        lines += [f"  - {escape_md(k, 60)}: {escape_md(v, 200)}" for k, v in changed.items()]
    else:
        lines.append("- Settings: all defaults")
    return [*lines, ""]


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
