from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options

from monitor import report
from monitor.findings import Code, Finding
from monitor.models import Change, Entry, EntryResult, Hub, Kind, Network, RunResult
from monitor.report import escape_md, render_markdown, step_summary, to_json
from monitor.reportfile import load_report


def entry(entry_id: str, **kw: Any) -> Entry:
    return Entry(
        id=entry_id,
        section=kw.pop("section", "Learning resources"),
        title=kw.pop("title", entry_id.upper()),
        url=kw.pop("url", f"https://{entry_id}.example/"),
        line=kw.pop("line", 10),
        **kw,
    )


def make_run(entries: list[EntryResult] | None = None, **kw: Any) -> RunResult:
    return RunResult(
        hub=Hub("Mechanistic Interpretability Hub", "https://www.matsprogram.org/mechinterp", "MATS"),
        catalog_path="catalog/hub.yaml",
        started_at="2026-11-25T03:17:00Z",
        finished_at="2026-11-25T03:17:04Z",
        today="2026-11-25",
        network=kw.pop("network", Network.OK),
        entries=entries if entries is not None else sample_entries(),
        duration_ms=4200,
        requests=9,
        hosts=("arena.example", "dead.example"),
        **kw,
    )


def sample_entries() -> list[EntryResult]:
    return [
        EntryResult(
            entry("arena", status="Applications open soon.", kind=Kind.PROGRAM, line=12),
            findings=[
                Finding(Code.DEADLINE_PASSED, "The deadline in the status line passed.", {"deadline": "2025-11-10"}),
                Finding(
                    Code.STATUS_CHANGED,
                    "The page says applications are closed.",
                    {"hub": "Applications open soon.", "page": "Applications for ARENA 7.0 are now closed"},
                    fix='Change the status line to "Applications closed."',
                    first_seen="2026-11-20",
                ),
            ],
            http_status=200,
        ),
        EntryResult(
            entry("dead", line=20),
            findings=[
                Finding(
                    Code.DEAD_LINK,
                    "The page answers 404 Not Found.",
                    {"archive": "https://web.archive.org/web/2024/https://dead.example/"},
                    fix="Remove or replace this entry.",
                    first_seen="2026-11-23",
                )
            ],
            http_status=404,
        ),
        EntryResult(
            entry("moved", line=30),
            findings=[
                Finding(
                    Code.MOVED_PERMANENTLY,
                    "The page moved permanently to https://new.example/x",
                    {"chain": "301 https://moved.example/ -> 200 https://new.example/x"},
                    fix="Change the URL to https://new.example/x",
                )
            ],
            http_status=200,
            final_url="https://new.example/x",
        ),
        EntryResult(
            entry("flaky", line=40),
            findings=[Finding(Code.TIMEOUT, "No answer within 20 s.", confirmed=False, first_seen="2026-11-25")],
        ),
        EntryResult(
            entry("drift", line=50),
            findings=[Finding(Code.CONTENT_CHANGED, "The watched text changed.", {"diff": "-old line\n+new line"})],
            http_status=200,
        ),
        EntryResult(
            entry("nolink", url=None, line=60),
            findings=[Finding(Code.NO_URL, "The catalog has no link for this entry.")],
            checked=False,
        ),
        EntryResult(entry("fine", line=70), http_status=200),
    ]


def html(markdown: str) -> str:
    # GitHub's own cmark fork with its extensions (tables, autolinks, tag filter), unsafe HTML allowed,
    # so anything the Markdown would inject shows up in the output.
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)


# ------------------------------------------------------------------------------------------ JSON


def test_json_keys_and_order_are_pinned() -> None:
    data = to_json(make_run())
    assert list(data) == [
        "schema", "tool", "version", "started_at", "finished_at", "duration_ms", "today", "network", "hub",
        "catalog", "confirm_after", "summary", "settings_changed", "changes", "not_planned", "hub_drift", "entries",
        "hub_proposals", "issues", "links", "accepted",
    ]  # fmt: skip
    assert list(data["hub"]) == ["title", "url", "maintainer"]
    assert list(data["summary"]) == [
        "entries", "ok", "info", "warning", "error", "checked", "not_checked", "requests", "hosts",
    ]  # fmt: skip
    assert list(data["changes"]) == ["new", "resolved", "confirmed", "changed"]
    assert list(data["entries"][0]) == [
        "id", "section", "title", "kind", "url", "line", "status", "final_url", "http_status", "elapsed_ms",
        "checked", "not_checked_reason", "carried_over", "severity", "findings", "proposals", "field_lines",
        "accepted_findings",
    ]  # fmt: skip
    proposals = [p for e in data["entries"] for p in e["proposals"]]
    assert proposals and list(proposals[0]) == [
        "field", "action", "catalog_line", "current", "new", "hub_current", "hub_new", "codes", "sure", "why",
    ]  # fmt: skip
    assert list(data["entries"][0]["findings"][0]) == [
        "code", "severity", "message", "evidence", "fix", "confirmed", "first_seen",
    ]  # fmt: skip
    assert data["schema"] == 1 and data["tool"] == "hub-monitor"
    json.dumps(data)  # plain JSON types only


def test_json_summary_and_severities() -> None:
    data = to_json(make_run())
    sev = {e["id"]: e["severity"] for e in data["entries"]}
    # An unconfirmed failure alone leaves the entry "ok"; it shows under "Not yet confirmed".
    assert sev == {
        "arena": "warning", "dead": "error", "moved": "warning", "flaky": "ok", "drift": "info",
        "nolink": "info", "fine": "ok",
    }  # fmt: skip
    assert data["summary"] == {
        "entries": 7, "ok": 2, "info": 2, "warning": 2, "error": 1, "checked": 6, "not_checked": 0, "requests": 9,
        "hosts": 2,
    }  # fmt: skip


def test_json_order_is_catalog_order_and_findings_are_sorted() -> None:
    data = to_json(make_run())
    assert [e["id"] for e in data["entries"]] == ["arena", "dead", "moved", "flaky", "drift", "nolink", "fine"]
    assert [f["code"] for f in data["entries"][0]["findings"]] == ["deadline-passed", "status-changed"]
    mixed = EntryResult(
        entry("x"),
        findings=[
            Finding(Code.REDIRECTED, "r"),
            Finding(Code.STATUS_CHANGED, "s"),
            Finding(Code.DEAD_LINK, "d"),
            Finding(Code.DEADLINE_PASSED, "p"),
        ],
    )
    codes = [f["code"] for f in to_json(make_run([mixed]))["entries"][0]["findings"]]
    assert codes == ["dead-link", "deadline-passed", "status-changed", "redirected"]


def test_json_changes_and_not_planned_are_deterministic() -> None:
    run = make_run(
        new_findings=[Change("moved", "moved-permanently"), Change("arena", "status-changed")],
        resolved_findings=[Change("dead", "redirected")],
        not_planned=("moved", "arena", "arena"),
        settings_changed={"timeout": "5", "allow_host": "127.0.0.1"},
    )
    data = to_json(run)
    assert data["changes"]["new"] == [
        {"id": "arena", "code": "status-changed"},
        {"id": "moved", "code": "moved-permanently"},
    ]
    assert data["not_planned"] == ["arena", "moved"]
    assert list(data["settings_changed"]) == ["allow_host", "timeout"]


def test_load_report_reads_a_report_and_refuses_others(tmp_path: Path) -> None:
    good = tmp_path / "latest.json"
    good.write_text(json.dumps(to_json(make_run())), encoding="utf-8")
    assert load_report(good)["schema"] == 1
    bad = tmp_path / "other.json"
    bad.write_text('{"schema": 7, "tool": "hub-monitor"}', encoding="utf-8")
    with pytest.raises(ValueError, match="schema 7"):
        load_report(bad)
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_report(broken)


# ------------------------------------------------------------------------------------------ verdict


def test_verdict_counts_problems_worst_first() -> None:
    data = to_json(make_run())
    assert report.verdict(data) == (
        "3 entries need attention: 1 dead link, 1 passed deadline, 1 moved page, 1 status line out of date."
    )


def test_verdict_matches_the_issue_example() -> None:
    entries = [
        EntryResult(entry("a"), findings=[Finding(Code.DEAD_LINK, "gone")]),
        EntryResult(entry("b"), findings=[Finding(Code.STATUS_CHANGED, "s")]),
        EntryResult(entry("c"), findings=[Finding(Code.STATUS_CHANGED, "s")]),
        EntryResult(entry("d"), findings=[Finding(Code.MOVED_PERMANENTLY, "m")]),
    ]
    assert report.verdict(to_json(make_run(entries))) == (
        "4 entries need attention: 1 dead link, 2 status lines out of date, 1 moved page."
    )
    one = [EntryResult(entry("a"), findings=[Finding(Code.DEAD_LINK, "gone")])]
    assert report.verdict(to_json(make_run(one))) == "1 entry needs attention: 1 dead link."


def test_verdict_all_fine_mentions_unconfirmed_failures() -> None:
    fine = [EntryResult(entry(f"e{i}")) for i in range(14)]
    assert report.verdict(to_json(make_run(fine))) == "All 14 entries look fine."
    fine[0].findings.append(Finding(Code.TIMEOUT, "slow", confirmed=False))
    assert report.verdict(to_json(make_run(fine))) == "All 14 entries look fine (1 failure not yet confirmed)."


def test_network_unavailable_is_calm() -> None:
    entries = [EntryResult(entry(i), checked=False) for i in ("a", "b")]
    md = render_markdown(to_json(make_run(entries, network=Network.UNAVAILABLE)))
    assert "Network unavailable: nothing was concluded tonight; previous verdicts are kept." in md
    for alarming in ("Needs attention", "error", "dead", "Not yet confirmed", "need attention"):
        assert alarming not in md.replace("Run details", "")
    assert "## Run details" in md


# ------------------------------------------------------------------------------------------ Markdown


def test_markdown_structure_and_evidence() -> None:
    md = render_markdown(to_json(make_run()))
    headings = re.findall(r"^#{1,2} .*$", md, flags=re.M)
    assert headings == [
        "# Mechanistic Interpretability Hub: link report for 2026-11-25",
        "## Needs attention",
        "## Not yet confirmed",
        "## Run details",
    ]
    # The triage table comes right under the verdict, worst first: the dead link before the two warnings,
    # which keep catalog order. Each row links to its entry's details.
    assert md.index("| [DEAD](#entry-dead) |") < md.index("| [ARENA](#entry-arena) |") < md.index("| [MOVED]")
    assert md.index("| Entry | What is wrong |") < md.index("## Needs attention")
    assert md.index('<a id="entry-dead"></a>DEAD') < md.index('<a id="entry-arena"></a>ARENA')
    # Three parties: the catalog's copy of the hub's line beside the linked page's words.
    assert "| Catalog says | Linked page says |\n| --- | --- |\n| Applications open soon. | Applications for" in md
    assert "Deadline: 2025-11-10 (passed 380 days ago)" in md
    assert "Failing since: 2026-11-23 (2 days ago)" in md
    assert "Archived copy: <https://web.archive.org/web/2024/https://dead.example/>" in md
    assert "**Fix:** Change the URL to `https://new.example/x`" in md
    assert "Redirect chain: `301 https://moved.example/` → `200 https://new.example/x`" in md
    assert "FLAKY: timeout, No answer within 20 s.; failing since 2026-11-25 (1 of 2 runs)" in md
    assert "```diff\n-old line\n+new line\n```" in md
    assert "Entry without a link" in md
    assert "<details>" in md and "| FLAKY | Learning resources | ok (failure not yet confirmed) | — | timeout? |" in md


def test_markdown_changes_and_run_details() -> None:
    run = make_run(
        new_findings=[Change("dead", "dead-link")],
        resolved_findings=[Change("moved", "redirected")],
        settings_changed={"timeout": "5"},
        not_planned=("arena",),
    )
    md = render_markdown(to_json(run))
    # Substance only: the new dead link is listed; the redirect note that lapsed is only counted.
    assert "## Changed since the last run\n\n- [DEAD](#entry-dead): new dead link\n- 1 information note" in md
    assert "## Issues closed as not planned" in md
    assert "  - timeout: 5" in md
    assert "- Requests: 9; hosts: 2" in md


def test_unconfirmed_count_comes_from_evidence() -> None:
    e = EntryResult(
        entry("a"),
        findings=[
            Finding(Code.DEAD_LINK, "gone", {"failing_runs": "2"}, confirmed=False, first_seen="2026-11-24")
        ],
    )
    md = render_markdown(to_json(make_run([e], confirm_after=3)))
    assert "failing since 2026-11-24 (2 of 3 runs)" in md


def test_rerender_from_json_equals_render_from_run(tmp_path: Path) -> None:
    data = to_json(make_run(new_findings=[Change("dead", "dead-link")]))
    path = tmp_path / "latest.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    assert render_markdown(load_report(path)) == render_markdown(data)
    # Deterministic: no clock read while rendering.
    assert render_markdown(to_json(make_run())) == render_markdown(to_json(make_run()))


def test_report_renders_valid_html_with_one_table_per_table() -> None:
    out = html(render_markdown(to_json(make_run())))
    assert out.count("<table>") == 4  # triage, catalog vs page quotes, all entries, counts
    assert "<script" not in out


# ------------------------------------------------------------------------------------------ escaping

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click me](https://evil.example/phish)",
    "![pixel](https://evil.example/p.png)",
    "# Injected heading",
    "line one\n# heading on its own line\n\n<div>block</div>",
    "cell | injected | columns",
    "`code` and ``` fence",
    "see https://evil.example/x and www.evil.example and admin@evil.example",
    "<https://evil.example/autolink>",
    "[ref]: https://evil.example/ref",
    "ping @octocat about #123",
    "-\n- list item\n1. ordered\n===",
    "&lt;b&gt;entity&lt;/b&gt; &#60;i&#62;",
    "<!-- hidden comment -->",
    "*bold* _em_ ~~strike~~",
    "\u202eevil bidi",
]


def _assert_inert(rendered: str) -> None:
    for tag in ("<a ", "<img", "<h1", "<h2", "<h4", "<h5", "<h6", "<script", "<div", "<b>", "<i>", "<em>",
                "<strong>", "<del>", "<!--", "<li>", "<ol", "<ul", "<table"):  # fmt: skip
        assert tag not in rendered, (tag, rendered)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_escape_md_is_inert(payload: str) -> None:
    escaped = escape_md(payload)
    assert "\n" not in escaped
    out = html(escaped)
    _assert_inert(out)
    # GitHub links @mentions and #123 after rendering; the word joiner keeps them plain.
    assert "@octocat" not in out and "#123" not in out


@pytest.mark.parametrize("payload", PAYLOADS)
def test_escape_md_is_inert_in_a_table_cell(payload: str) -> None:
    out = html(f"| a | b |\n| --- | --- |\n| {escape_md(payload)} | x |\n")
    assert out.count("<td>") == 2
    assert out.count("<table>") == 1


def test_math_and_emoji_stay_plain() -> None:
    escaped = escape_md("Costs $5 or $x^2$ :white_check_mark: :+1: at 10:30:00")
    out = html(escaped)
    # GitHub renders $…$ as math and :name: as an emoji, both after parsing: the text must hold neither.
    assert not re.search(r"(?<!\\)\$", escaped)
    assert ":white_check_mark:" not in out and ":+1:" not in out
    assert out.replace(report.WORD_JOINER, "").count("white_check_mark") == 1
    assert "10:30:00" in out.replace(report.WORD_JOINER, "")


def test_plain_text_shortcut_escapes_exactly_as_every_step_does() -> None:
    # Plain text skips the escaping steps; any text the steps would change must not take that shortcut.
    from monitor import escape

    rng = random.Random(15)
    pieces = [*"abcXYZ019 .-+=)(:/@#&$!|~<>[]_*`\\\t\n\x00\x1f\u200e\u2066\xa0\u3000wW", "www.", "WWW.", "http://",
              "://", "1.", "2)", "- ", "+", "==", ":ok:", "a@b.co", "  "]
    plain = [*"abcdefghijklmnopqrstuvwxyz0123456789 .-+=()'\"?,;/é"]
    shortcuts = 0
    for _ in range(40_000):
        alphabet = pieces if rng.random() < 0.5 else plain + pieces[:8]
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        limit = rng.choice([None, 300, 6, 1])
        assert escape._escape_md(text, limit) == escape._escape_each_step(text, limit), (text, limit)
        shortcuts += escape._escape_md(text, limit) is text
    assert shortcuts > 5_000  # the shortcut is taken, so the comparison covers it


def test_escape_md_keeps_the_words_and_cuts_long_quotes() -> None:
    assert escape_md("Applications open soon.") == "Applications open soon."
    cut = escape_md("word " * 200, 50)
    assert cut.endswith("…") and len(cut) <= 50
    assert escape_md(None) == ""
    # A URL stays copyable: a code span, percent-encoded pipe, trailing full stop left outside.
    assert escape_md("Moved to https://x.example/a|b.") == "Moved to `https://x.example/a%7Cb`."


def test_report_with_injection_payloads_everywhere() -> None:
    entries = []
    for n, p in enumerate(PAYLOADS):
        e = Entry(
            id=f"e{n}",
            section=p,
            title=p,
            url="https://ok.example/" if n % 2 else f"javascript:alert({n})",
            status=p,
            line=n + 1,
        )
        findings = [
            Finding(Code.STATUS_CHANGED, p, {"hub": p, "page": p, "quote": p, p[:20]: p}, fix=p, first_seen=p),
            Finding(Code.MOVED_PERMANENTLY, p, {"chain": p + " -> " + p, "archive": p, "deadline": p}),
            Finding(Code.CONTENT_CHANGED, p, {"diff": p + "\n````\n# heading\n<script>x</script>"}),
            Finding(Code.TIMEOUT, p, {"failing_runs": p}, confirmed=False, first_seen=p),
        ]
        entries.append(EntryResult(e, findings=findings, final_url=p, http_status=200))
    run = make_run(
        entries,
        new_findings=[Change("e1", "status-changed")],
        settings_changed={"user_agent": PAYLOADS[0]},
        not_planned=("e2",),
    )
    run.hub = Hub(PAYLOADS[3])
    out = html(render_markdown(to_json(run)))
    # Our own structure only: the headings, lists and tables the renderer writes itself.
    assert "<script" not in out and "<img" not in out and "<div" not in out and "<!--" not in out
    # The only links are the catalog's own URLs.
    outside = [u for u in re.findall(r'<a href="([^"]*)"', out) if not u.startswith("#entry-e")]
    assert outside == ["https://ok.example/"] * (len(PAYLOADS) // 2)
    assert len(re.findall(r"<h1>", out)) == 1
    assert len(re.findall(r"<h2>", out)) == 5  # changes, attention, not planned, unconfirmed, run details
    # Each entry heading (h3) is ours: one per entry in "Details".
    assert len(re.findall(r"<h3>", out)) == len(PAYLOADS)
    # Tables keep their column counts: 2 (summary), 2 (quotes), 5 (all entries).
    for table in re.findall(r"<table>.*?</table>", out, flags=re.S):
        widths = {len(re.findall(r"<t[dh][ >]", row)) for row in re.findall(r"<tr>.*?</tr>", table, flags=re.S)}
        assert len(widths) == 1, table
    # The diff stays inside its code block.
    assert out.count("<pre") == len(PAYLOADS)


def test_fenced_block_cannot_be_closed_from_inside() -> None:
    block = report.fenced_block("a\n``````\n# not a heading\n```", "diff")
    assert block.startswith("```````diff\n") and block.endswith("\n```````")
    out = html(block)
    assert "<h1>" not in out and out.count("<pre") == 1


def test_link_only_for_plain_http_urls() -> None:
    assert report.link("https://ok.example/a") == "<https://ok.example/a>"
    assert report.link("javascript:alert(1)") == "`javascript:alert(1)`"
    assert report.link("https://x.example/a>b") == "`https://x.example/a>b`"


# ------------------------------------------------------------------------------------------ step summary


def test_step_summary_appends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert step_summary("# Report\n\nbody")
    assert summary.read_text(encoding="utf-8") == "earlier step\n# Report\n\nbody\n"


def test_step_summary_without_a_target_does_nothing() -> None:
    assert step_summary("# Report") is False


def test_step_summary_is_cut_to_the_limit(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("x" * 1000 + "\n", encoding="utf-8")
    markdown = "# Report\n\n<details>\n\n```diff\n" + "".join(f"+line {i} é\n" for i in range(400_000)) + "```\n"
    assert len(markdown.encode()) > report.STEP_SUMMARY_LIMIT
    step_summary(markdown, summary, "https://github.com/o/r/blob/main/reports/latest.md")
    written = summary.read_bytes()
    assert len(written) <= report.STEP_SUMMARY_LIMIT
    text = written.decode("utf-8")
    assert text.rstrip().endswith(
        "see the full report: <https://github.com/o/r/blob/main/reports/latest.md>.*"
    )
    # The open code block and <details> were closed before the note, so the note renders as text.
    out = html(text)
    assert "cut here to fit" in out.split("</pre>")[-1]
    assert text.count("</details>") == 1


def test_step_summary_cut_without_url_names_the_file(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    step_summary("line\n" * 1000, summary, None, limit=600)
    text = summary.read_text(encoding="utf-8")
    assert len(text.encode()) <= 600
    assert text.endswith("see the full report file.*\n")


def test_unconfirmed_count_without_evidence_is_never_guessed() -> None:
    old = Finding(Code.DEAD_LINK, "gone", confirmed=False, first_seen="2026-11-23")
    md = render_markdown(to_json(make_run([EntryResult(entry("a"), findings=[old])], confirm_after=3)))
    assert "failing since 2026-11-23 (fewer than 3 runs so far)" in md
    md = render_markdown(to_json(make_run([EntryResult(entry("a"), findings=[old])], confirm_after=2)))
    assert "failing since 2026-11-23 (1 of 2 runs)" in md


def test_every_code_has_a_phrase_for_the_verdict() -> None:
    from monitor.findings import Code
    from monitor.report import PHRASES

    assert set(PHRASES) == set(Code)
