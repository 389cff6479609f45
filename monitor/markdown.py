"""The Markdown report, rendered from the JSON report alone (so `hub-monitor report` re-renders an old run).

Ordered for the morning: the verdict, the triage table (one row per entry to act on: what is wrong, the one
change to make with its catalog line and the value to paste, since when, its issue), what changed in
substance since the last run, then per entry both edits and the evidence in collapsed blocks, and the
counts and run details last.

Evidence keys with their own rendering (any other key is shown as a labelled, escaped line):
  hub / page      status quotes: the catalog's copy of the hub's line and the linked page's words
  hub / catalog   for hub-drift: the hub page's text and the catalog's
  chain           redirect chain, one hop per line
  deadline        a date (YYYY-MM-DD first); the report says how long ago it passed
  diff            a short unified diff, shown in a fenced block
  archive         a Wayback Machine URL ("Archived copy")
  failing_runs    consecutive failing runs of an unconfirmed failure, for "(1 of 2 runs)"
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from monitor.escape import URL_LIMIT, code_span, copyable, escape_md, fenced_block, link
from monitor.findings import Code, Severity
from monitor.models import Network

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

SPECIAL_EVIDENCE = frozenset({"hub", "page", "catalog", "chain", "deadline", "diff", "archive", "failing_runs"})


# ------------------------------------------------------------------------------------------ Markdown


def render_markdown(data: Mapping[str, Any]) -> str:
    """The Markdown report, from the JSON report alone. Same dict in, same text out.

    Ordered for the morning: the verdict, then one triage row per entry to act on, then what changed since
    the last run; the evidence follows in collapsed blocks, and counts and run details come last.
    """
    hub = _escape_plain(data["hub"]["title"] or "Hub")
    lines = [f"# {hub}: link report for {escape_md(data['today'], 40)}", ""]
    if data["network"] == Network.UNAVAILABLE.value:
        lines += _network_unavailable(data)
        return _finish(lines)
    entries: list[Mapping[str, Any]] = data["entries"]
    attention = needing_attention(data)
    pending = [(e, f) for e in entries for f in e["findings"] if not f["confirmed"]]
    lines += [f"**{verdict(data)}**", ""]
    lines += triage_table(data, attention)
    lines += _section("Changed since the last run", _changes(data))
    lines += _section("The hub lists entries the catalog lacks", _hub_drift(data))
    lines += _section("Needs attention", _needs_attention(data, attention))
    lines += _section("Accepted for now", _accepted(data))
    lines += _section("Issues closed as not planned", _not_planned(data))
    lines += _section("Not yet confirmed", _pending(data, pending))
    lines += _section("Not checked", _not_checked(entries))
    lines += _collapsed("Information", _information(data, attention))
    lines += _all_entries(entries)
    lines += ["## Run details", "", *_collapsed("Counts, timing and settings", [*_summary_table(data),
                                                                             *_run_details(data)[2:]])]
    return _finish(lines)


def needing_attention(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Entries with a confirmed error or warning, worst first (catalog order among equals)."""
    entries = data["entries"]
    return _worst_first([e for e in entries if e["severity"] in (Severity.ERROR.value, Severity.WARNING.value)])


def _collapsed(title: str, body: list[str]) -> list[str]:
    if not body:
        return []
    return ["<details>", f"<summary>{title}</summary>", "", *body, "", "</details>", ""]


# ---------------------------------------------------------------------------------------------- triage

# The field a finding's fix is about, when no proposal names a new value: (field, what to do).
_FIELD_OF: dict[str, tuple[str, str]] = {
    Code.DEAD_LINK: ("url", "find the new address, or delete the entry"),
    Code.UNREACHABLE: ("url", "find the new address, or delete the entry"),
    Code.TIMEOUT: ("url", "check the site by hand"),
    Code.HTTP_ERROR: ("url", "check the site; update if it moved"),
    Code.REDIRECT_LOOP: ("url", "find a URL that answers"),
    Code.BLOCKED_ADDRESS: ("url", "link a public address"),
    Code.SOFT_404: ("url", "find the new address, or delete the entry"),
    Code.PARKED_DOMAIN: ("url", "find the new address, or delete the entry"),
    Code.MOVED_PERMANENTLY: ("url", "link the new address"),
    Code.ACCESS_RESTRICTED: ("url", "link a public copy, or accept"),
    Code.BOT_PROTECTION: ("url", "check by hand, or accept"),
    Code.RATE_LIMITED: ("url", "check by hand, or accept"),
    Code.MISSING_ANCHOR: ("url", "fix or drop the #fragment"),
    Code.STATUS_CHANGED: ("status", "rewrite from the page"),
    Code.DEADLINE_PASSED: ("status", "check the next round and rewrite"),
    Code.MARKED_OUTDATED: ("url", "link the newer version"),
    Code.EXPECTED_TEXT_MISSING: ("expect", "check the page; update the link or the phrase"),
    Code.TOO_LARGE: ("url", "check by hand"),
}
_DRIFT_WORDS = {
    "new-on-hub": "new on the hub",
    "gone-from-hub": "gone from the hub",
    "candidate-not-on-hub": "candidate not on the hub",
    "link-changed": "hub links another address",
    "hub-status-changed": "hub changed its status line",
    "title-changed": "hub renamed it",
}


_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")


def anchor(entry_id: str) -> str:
    """The id of an entry's detail block. Catalog ids are slugs, safe in HTML and in a link as they are; any
    other id (a report file edited by hand) is replaced by a digest of it, so it can neither break out of the
    attribute nor the link."""
    if _SLUG.fullmatch(entry_id):
        return f"entry-{entry_id}"
    return "entry-x" + hashlib.sha256(entry_id.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def triage_table(data: Mapping[str, Any], attention: list[Mapping[str, Any]] | None = None) -> list[str]:
    """One row per entry to act on: what is wrong, the one change to make (field, line, value), since when."""
    attention = needing_attention(data) if attention is None else attention
    if not attention:
        return []
    issues: Mapping[str, Any] = data.get("issues") or {}
    lines = ["| Entry | What is wrong | Change to make | Since | Issue |", "| --- | --- | --- | --- | --- |"]
    for e in attention:
        acting = _acting(e)
        # Short cells keep a row to a line or two: the title is cut, the problems beyond the one the change
        # is about are counted (the details list them).
        name = f"[{escape_md(e['title'], 48)}](#{anchor(e['id'])})"
        about, change = _one_change(e, acting)
        others = len({problem_words(f) for f in acting} - {about})
        wrong = escape_md(about, 60) + (f" (+{others})" if others else "")
        since = min((f.get("first_seen") or "" for f in acting), default="") or "—"
        number = issues.get(e["id"]) if isinstance(issues, Mapping) else None
        issue = f"#{int(number)}" if isinstance(number, int) else ""
        lines.append(f"| {name} | {wrong} | {change} | {escape_md(since, 12)} | {issue} |")
    return [*lines, ""]


def _acting(e: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    acting = (Severity.ERROR.value, Severity.WARNING.value)
    return [f for f in e["findings"] if f["confirmed"] and f["severity"] in acting]


def problem_words(f: Mapping[str, Any]) -> str:
    if f["code"] == Code.HUB_DRIFT:
        drift = (f.get("evidence") or {}).get("drift", "")
        return _DRIFT_WORDS.get(drift, "differs from the hub")
    return PHRASES.get(f["code"], (f["code"], f["code"]))[0]


def _one_change(e: Mapping[str, Any], acting: list[Mapping[str, Any]]) -> tuple[str, str]:
    """The triage cells: what the one change is about (a few words), and the change: `field` line N and the new
    value as it is pasted, or what to do with the field."""
    proposals = e.get("proposals") or []
    if proposals:
        p = proposals[0]
        line = p.get("catalog_line") or e.get("line")
        value = yaml_line(p["field"], p["new"]) if p["action"] == "set" else f"- {p['new']}"
        hub = " (and on the hub)" if p.get("hub_new") else ""
        unsure = " (check first)" if not p.get("sure", True) else ""
        about = next((f for f in acting if f["code"] in (p.get("codes") or [])), acting[0] if acting else None)
        words = problem_words(about) if about else str(p.get("field"))
        return words, f"line {line}: {copyable(value, in_table=True)}{hub}{unsure}"
    gone = [f for f in acting if f["code"] == Code.HUB_DRIFT
            and (f.get("evidence") or {}).get("drift") in ("gone-from-hub", "candidate-not-on-hub")]
    if gone:
        # The hub no longer lists it: whatever else is wrong, the one change is to drop it.
        return problem_words(gone[0]), f"`entry` line {e.get('line')}: delete the entry"
    for f in acting:
        if f["code"] == Code.HUB_DRIFT:
            ev = f.get("evidence") or {}
            if ev.get("drift") == "title-changed" and ev.get("hub"):
                value = copyable(yaml_line("title", ev["hub"]), in_table=True)
                return problem_words(f), f"line {_field_line(e, 'title')}: {value}"
            continue
        if f["code"] in _FIELD_OF:
            name, todo = _FIELD_OF[f["code"]]
            return problem_words(f), f"`{name}` line {_field_line(e, name)}: {todo}"
    return (problem_words(acting[0]) if acting else "see the details"), f"`entry` line {e.get('line')}: see the details"


def _field_line(e: Mapping[str, Any], name: str) -> Any:
    # The JSON has the entry's first line; proposals carry field lines. Without one, the entry's line.
    for p in e.get("proposals") or []:
        if p.get("field") == name and p.get("catalog_line"):
            return p["catalog_line"]
    lines = e.get("field_lines") or {}
    line = lines.get(name) if isinstance(lines, Mapping) else None
    # A report read back from a file is input like any other: only a whole number is written as a line.
    return line if isinstance(line, int) and not isinstance(line, bool) else e.get("line")


def yaml_line(name: str, value: str) -> str:
    """`name: value` as one line of catalog YAML, quoted only where YAML needs it: pasted, it reads back as `value`."""
    if type(name) is str and type(value) is str and len(value) <= 512:
        return _yaml_line(name, value)  # each proposal is shown twice (triage and detail), in pure-Python YAML
    return _yaml_line.__wrapped__(name, value)


@functools.lru_cache(maxsize=1024)
def _yaml_line(name: str, value: str) -> str:
    return yaml.safe_dump({name: value}, allow_unicode=True, width=10**6, default_flow_style=False).rstrip("\n")


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
    for e in attention:
        lines += _detail_heading(e, data)
        for p in e.get("proposals") or []:
            lines += proposal_block(p, data)
        acting = _acting(e)
        # Information notes of the same entry come after its problems, inside the same collapsed block.
        notes = [f for f in e["findings"] if f["confirmed"] and f not in acting]
        blocks = [line for f in (*acting, *notes) for line in finding_block(f, data["today"])]
        title = _count(len(acting), "finding", "findings")
        if notes:
            title += ", " + _count(len(notes), "note", "notes")
        lines += _collapsed(f"Evidence ({title})", blocks)
    return lines


def _detail_heading(e: Mapping[str, Any], data: Mapping[str, Any]) -> list[str]:
    """The entry's title (the triage table links here) and its facts on one line."""
    # Where it ends up (a redirect) is in the evidence's chain and in the proposal that follows.
    facts = [f"**{e['severity']}**", escape_md(e["section"], 80)]
    if e.get("line"):
        facts.append(f"line {e['line']}")
    facts.append(link(e["url"]) if e.get("url") else "no URL in the catalog")
    return [f'### <a id="{anchor(e["id"])}"></a>{escape_md(e["title"], 200)}', " · ".join(facts), ""]


_FIELD_WORDS = {"status": "status line", "url": "link", "aliases": "aliases"}


def proposal_block(p: Mapping[str, Any], data: Mapping[str, Any]) -> list[str]:
    """Both edits of one proposal: the hub page's text, and the catalog line that follows it.

    Every text meant to be pasted is a code span holding exactly the bytes to paste."""
    codes = ", ".join(escape_md(c, 40) for c in p.get("codes") or [])
    word = _FIELD_WORDS.get(p["field"], escape_md(p["field"], 20))
    unsure = " Check it by hand first: the new target may not be the resource." if not p.get("sure", True) else ""
    lines = [f"**Change the {word}** ({codes}): {escape_md(p.get('why'), 300)}{unsure}"]
    if p.get("hub_new") is not None:
        now = copyable(p["hub_current"]) if p.get("hub_current") else "nothing"
        lines.append(f"- On the hub page, replace {now} with {copyable(p['hub_new'])}")
    elif p.get("hub_current") is not None:
        lines.append(f"- The hub page already says {copyable(p['hub_current'])}: no edit there.")
    line = p.get("catalog_line")
    where = f"line {line}" if line else "the entry"
    blob = (data.get("links") or {}).get("blob")
    path = _repo_path(str(data["catalog"]))
    if blob and line and path and re.fullmatch(r"https://[^\s()<>]+", blob):
        where = f"[line {int(line)}]({blob}/{path}#L{int(line)})"
    catalog = escape_md(data["catalog"], 120)
    if p["action"] == "set":
        lines.append(f"- In {catalog}, {where} becomes {copyable(yaml_line(p['field'], p['new']))}")
    else:
        lines.append(f"- In {catalog}, under {escape_md(p['field'], 20)} ({where}), add {copyable('- ' + p['new'])}")
    return [*lines, ""]


def _repo_path(path: str) -> str | None:
    """The catalog's path inside the repository, URL-quoted; None for a path outside it (absolute, or "..")."""
    from urllib.parse import quote

    parts = [p for p in Path(path).as_posix().split("/") if p not in ("", ".")]
    if Path(path).is_absolute() or ".." in parts or not parts:
        return None
    return quote("/".join(parts), safe="/")


def entry_heading(e: Mapping[str, Any], catalog: str, *, level: int, anchor_id: str | None = None) -> list[str]:
    """An entry's title line and where to find it: shared by the report and the issue bodies."""
    where = f"{escape_md(catalog, 120)} line {e['line']}" if e.get("line") else escape_md(catalog, 120)
    facts = [f"**{e['severity']}**", escape_md(e["section"], 120), f"entry {escape_md(e['id'], 80)}", where]
    mark = f'<a id="{anchor_id}"></a>' if anchor_id and re.fullmatch(r"[a-z0-9-]+", anchor_id) else ""
    lines = ["#" * level + " " + mark + escape_md(e["title"], 200), "", " · ".join(facts)]
    url = f"URL: {link(e['url'])}" if e.get("url") else "URL: none in the catalog"
    if e.get("final_url") and e["final_url"] != e.get("url"):
        url += f" · ends at {code_span(e['final_url'])}"
    lines += ["", url]
    if e.get("status"):
        lines += ["", f"Catalog status line: {escape_md(e['status'])}"]
    return [*lines, ""]


def finding_block(f: Mapping[str, Any], today: str | None) -> list[str]:
    """One finding: what is wrong, the evidence, the fix. With today=None nothing relative is said
    ("3 days ago"), so an issue body stays the same from one night to the next."""
    label = PHRASES.get(f["code"], (f["code"], f["code"]))[0]
    head = f"**{escape_md(label.capitalize(), 80)}** ({escape_md(f['code'], 40)}, {f['severity']})"
    lines = [f"{head}: {escape_md(f['message'])}", ""]
    ev: Mapping[str, str] = f.get("evidence") or {}
    facts: list[str] = []
    # Three parties: for hub-drift "hub" is the hub page and "catalog" our copy of it; for the page rules
    # "hub" is the catalog's copy of the hub's line and "page" the linked page.
    if f["code"] == Code.HUB_DRIFT:
        pair = (("hub", "Hub page says"), ("catalog", "Catalog says"))
    else:
        pair = (("hub", "Catalog says"), ("page", "Linked page says"))
    shown = [(label, ev[key]) for key, label in pair if ev.get(key)]
    if len(shown) == 2:
        lines += [f"| {shown[0][0]} | {shown[1][0]} |", "| --- | --- |"]
        lines += [f"| {escape_md(shown[0][1])} | {escape_md(shown[1][1])} |", ""]
    else:
        facts += [f"{label}: {code_span(v) if _looks_like_url(v) else escape_md(v)}" for label, v in shown]
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
    for p in data.get("hub_proposals") or []:
        if p.get("action") != "add-entry" or not isinstance(p.get("entry"), Mapping):
            continue
        entry = p["entry"]
        block = yaml.safe_dump([dict(entry)], allow_unicode=True, sort_keys=False, width=110)
        indented = "".join(f"  {ln}" if ln.strip() else ln for ln in block.splitlines(keepends=True))
        lines += [f"- {escape_md(entry.get('title') or p.get('id'), 200)} ({escape_md(entry.get('section'), 80)}): "
                  "add under `entries:`", "", fenced_block(indented.rstrip("\n"), "yaml", limit=10**6), ""]
    for f in data.get("hub_drift", []):
        if (f.get("evidence") or {}).get("drift") != "new-on-hub":
            lines += finding_block(f, data["today"])
    return lines


def _not_planned(data: Mapping[str, Any]) -> list[str]:
    titles = {e["id"]: e["title"] for e in data["entries"]}
    return [
        f"- {escape_md(titles.get(i, i), 200)} ({escape_md(i, 80)}): a maintainer closed its issue as not "
        "planned, which accepts the findings it was about; a different finding opens a new issue."
        for i in data.get("not_planned", [])
    ]


def _changes(data: Mapping[str, Any]) -> list[str]:
    """What changed in substance, one line per entry: new and resolved problems, failures confirmed tonight,
    findings whose evidence changed. Information notes that came or went are only counted."""
    titles = {e["id"]: e["title"] for e in data["entries"]}
    changes = data["changes"]

    def name(entry_id: str) -> str:
        title = escape_md(titles.get(entry_id, entry_id), 120)
        return f"[{title}](#{anchor(entry_id)})" if entry_id in titles else title

    def words(code: str) -> str:
        return escape_md(PHRASES.get(code, (code, code))[0], 80)

    per_entry: dict[str, list[str]] = {}
    notes = 0
    for kind in ("new", "confirmed", "resolved"):
        grouped: dict[str, list[str]] = {}
        for c in changes.get(kind) or []:
            if kind != "confirmed" and _is_info(c["code"]):
                notes += 1
                continue
            grouped.setdefault(c["id"], []).append(words(c["code"]))
        for entry_id, codes in grouped.items():
            per_entry.setdefault(entry_id, []).append(f"{kind} {', '.join(dict.fromkeys(codes))}")
    for c in changes.get("changed") or []:
        per_entry.setdefault(c["id"], []).append(
            f"{words(c['code'])} changed from “{escape_md(c.get('before'), 160)}” to “{escape_md(c.get('after'), 160)}”"
        )
    lines = [f"- {name(entry_id)}: {'; '.join(parts)}" for entry_id, parts in per_entry.items()]
    if notes:
        lines.append(f"- {_count(notes, 'information note', 'information notes')} came or went (see the details).")
    return lines


def _is_info(code: str) -> bool:
    try:
        return Code(code).severity.rank < Severity.WARNING.rank
    except ValueError:
        return False


def _accepted(data: Mapping[str, Any]) -> list[str]:
    """What a maintainer accepted, until when, and whether the finding is there tonight."""
    titles = {e["id"]: e["title"] for e in data["entries"]}
    present = {(e["id"], f["code"]) for e in data["entries"] for f in e.get("accepted_findings") or []}
    lines = []
    for a in data.get("accepted") or []:
        if not isinstance(a, Mapping) or "id" not in a or "code" not in a:
            continue
        if a.get("expired"):
            when = f"accepted until {escape_md(a.get('until'), 20)}: that date has passed, so it is reported again"
        else:
            until = f"until {escape_md(a.get('until'), 20)}" if a.get("until") else "with no end date"
            seen = "found tonight" if (a["id"], a["code"]) in present else "not found tonight"
            when = f"accepted {until} ({seen})"
        source = escape_md(a.get("source") or "catalog", 40)
        if a.get("line"):
            source += f" line {int(a['line'])}"
        why = f": {escape_md(a.get('reason'), 200)}" if a.get("reason") else ""
        lines.append(f"- {escape_md(titles.get(a['id'], a['id']), 120)}: {escape_md(a['code'], 40)} {when}; "
                     f"{source}{why}")
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
