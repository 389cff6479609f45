"""The maintainer's morning (issue 13): the worst simulated night of the bundled catalog, read as a maintainer
reads it. The triage table comes first and is enough to act; every text meant to be pasted is byte-exact."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monitor.catalog import load_catalog
from monitor.hub import hub_drift, parse_hub
from monitor.report import needing_attention
from tests.worst_night import CATALOG, FIXTURES, HUB_URL, run_nights

# The same night rendered by b48677a (before the triage table), measured with `visible_lines` below:
# 454 lines of Markdown, all but 22 of them visible (only the all-entries table was collapsed); the first
# entry's changes ("Changed since the last run") started on line 382.
BEFORE_LINES = 454


@pytest.fixture(scope="module")
def worst(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    return run_nights(tmp_path_factory.mktemp("nights"))[2]


def visible_lines(markdown: str) -> list[str]:
    """Lines a reader sees with every <details> block collapsed (its <summary> line stays)."""
    out, depth = [], 0
    for line in markdown.splitlines():
        if line.strip() == "<details>":
            depth += 1
        elif line.strip() == "</details>":
            depth -= 1
        elif depth == 0 or (depth == 1 and line.startswith("<summary>")):
            out.append(line)
    return out


def triage_rows(markdown: str) -> list[str]:
    lines = markdown.splitlines()
    start = lines.index("| Entry | What is wrong | Change to make | Since | Issue |")
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("| "):
            break
        rows.append(line)
    return rows


def code_spans(text: str) -> list[str]:
    """The content of each inline code span, as GitHub would show it (one-space padding removed)."""
    spans = []
    for m in re.finditer(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", text):
        body = m.group(2)
        if body.startswith(" ") and body.endswith(" ") and body.strip():
            body = body[1:-1]
        spans.append(body)
    return spans


def test_the_triage_table_comes_first_with_one_actionable_row_per_entry(worst: tuple[dict, str]) -> None:
    data, markdown = worst
    lines = markdown.splitlines()
    # Title, verdict, then the table: nothing in between but blank lines.
    assert lines[0].startswith("# ") and lines[2].startswith("**12 entries need attention")
    assert lines[4] == "| Entry | What is wrong | Change to make | Since | Issue |"
    rows = triage_rows(markdown)
    wanted = [e["id"] for e in needing_attention(data)]
    assert len(wanted) == 12
    assert [re.search(r"\(#entry-([a-z0-9-]+)\)", r).group(1) for r in rows] == wanted
    for row in rows:
        change = row.split(" | ")[2]
        # Where (a field and its line) and what (the value to paste, or what to do with the field).
        assert re.search(r"line \d+", change), row
        assert re.search(r"`(url|status|expect|entry|title)[`:]", change), row
    # Field-precise: ARENA's row names the line of `status:` (151), not the entry's first line (146).
    arena = next(r for r in rows if "#entry-arena" in r)
    assert "line 151: `status: Applications for ARENA 8.0 are now open. Apply by February 1st.`" in arena
    assert CATALOG.read_text().splitlines()[150].strip().startswith("status:")
    # One proposal per field: the hub page already agrees with ARENA's page, so the catalog follows the hub.
    [proposal] = next(e for e in data["entries"] if e["id"] == "arena")["proposals"]
    assert (proposal["field"], proposal["hub_new"]) == ("status", None)
    assert proposal["codes"] == ["status-changed", "hub-drift"]


def test_the_morning_fits_a_screen_and_a_half(worst: tuple[dict, str]) -> None:
    _, markdown = worst
    lines = markdown.splitlines()
    changes_end = next(i for i, ln in enumerate(lines) if ln.startswith("## ") and "Changed" not in ln)
    assert lines.index("## Changed since the last run") < changes_end <= 60
    # A status that flipped from closed to open, and the failures confirmed tonight, are news.
    news = "\n".join(lines[:changes_end])
    assert "[Lightspeed Grants](#entry-lightspeed-grants): new status line out of date" in news
    assert "confirmed page that is gone (soft 404)" in news
    assert len(visible_lines(markdown)) < BEFORE_LINES / 3


def test_copyable_text_round_trips_byte_exact(worst: tuple[dict, str], tmp_path: Path) -> None:
    _, markdown = worst
    details = markdown[markdown.index('<a id="entry-arena"></a>'):]
    details = details[: details.index("<details>")]
    [catalog_line] = [s for s in code_spans(details) if s.startswith("status: ")]
    for span in code_spans(markdown):
        assert "\u2060" not in span and "\\" not in span.replace("\\|", ""), span
    # Paste it over line 151 of the catalog, as a maintainer would: the catalog validates, and the hub-drift
    # for ARENA's status line is gone.
    lines = CATALOG.read_text(encoding="utf-8").splitlines(keepends=True)
    indent = re.match(r"\s*", lines[150]).group(0)
    lines[150] = indent + catalog_line + "\n"
    pasted = tmp_path / "hub.yaml"
    pasted.write_text("".join(lines), encoding="utf-8")
    from monitor.cli import main

    assert main(["validate", str(pasted)]) == 0
    catalog = load_catalog(pasted)
    hub = parse_hub((FIXTURES / "hub-drifted.html").read_bytes(), {"content-type": "text/html; charset=windows-1252"},
                    HUB_URL)
    before = {(i.entry_id, str(i.kind)) for i in hub_drift(load_catalog(CATALOG).entries, hub)}
    after = {(i.entry_id, str(i.kind)) for i in hub_drift(catalog.entries, hub)}
    assert ("arena", "hub-status-changed") in before
    assert before - after == {("arena", "hub-status-changed")}
    # The triage row's value is the same bytes.
    row = next(r for r in triage_rows(markdown) if "#entry-arena" in r)
    assert catalog_line in code_spans(row)


ACCEPTING = """\
version: 1
hub:
  title: Test Hub
entries:
  - id: arena
    section: Programs
    title: ARENA
    url: https://arena.example/
    accept:
      - code: access-restricted
        until: 2026-12-31
        reason: The page is behind a login; members can read it.
"""


def _night(catalog_path: Path, today: str, *codes: str) -> dict:
    from monitor.findings import Code, Finding
    from monitor.models import EntryResult, Hub, RunResult
    from monitor.report import to_json

    catalog = load_catalog(catalog_path)
    findings = [Finding(Code(c), f"{c} found") for c in codes]
    run = RunResult(hub=Hub("Test Hub"), catalog_path=str(catalog_path), started_at="", finished_at="", today=today,
                    network="ok", entries=[EntryResult(catalog.entries[0], findings, http_status=200)])
    return to_json(run)


def test_an_acceptance_is_scoped_to_its_code_and_ends_on_its_date(tmp_path: Path) -> None:
    from monitor.report import render_markdown

    path = tmp_path / "hub.yaml"
    path.write_text(ACCEPTING, encoding="utf-8")
    [acceptance] = load_catalog(path).entries[0].accept
    assert (acceptance.code, acceptance.until, acceptance.line) == ("access-restricted", "2026-12-31", 10)
    # Accepted: the entry is fine, and the report says what is accepted and until when.
    data = _night(path, "2026-11-28", "access-restricted")
    [entry] = data["entries"]
    assert entry["severity"] == "ok" and entry["findings"] == []
    assert [f["code"] for f in entry["accepted_findings"]] == ["access-restricted"]
    md = render_markdown(data)
    assert "- ARENA: access-restricted accepted until 2026-12-31 (found tonight); catalog line 10: The page" in md
    assert "| Entry | What is wrong |" not in md
    # A different finding brings the entry back.
    data = _night(path, "2026-11-28", "access-restricted", "dead-link")
    assert data["entries"][0]["severity"] == "error"
    assert [f["code"] for f in data["entries"][0]["findings"]] == ["dead-link"]
    # So does the end date passing.
    data = _night(path, "2027-01-01", "access-restricted")
    assert data["entries"][0]["severity"] == "warning"
    assert "that date has passed, so it is reported again" in render_markdown(data)


@pytest.mark.parametrize(
    ("item", "problem"),
    [
        ("      - code: dead-lnk\n",
         "entries[0].accept[0].code: unknown finding code 'dead-lnk' (did you mean 'dead-link'?)"),
        ("      - code: dead-link\n        until: next week\n",
         "entries[0].accept[0].until: expected a date like 2026-12-31"),
        ("      - until: 2026-12-31\n", "entries[0].accept[0].code: missing (required)"),
        ("      - code: dead-link\n        when: 2026-12-31\n", "entries[0].accept[0].when: unknown key 'when'"),
    ],
)
def test_a_bad_acceptance_is_a_clear_error_with_its_line(tmp_path: Path, item: str, problem: str) -> None:
    from monitor.catalog import CatalogError

    path = tmp_path / "hub.yaml"
    path.write_text(ACCEPTING.split("      - code:")[0] + item, encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    assert any(str(p).startswith(f"{path}:1") and problem in str(p) for p in caught.value.problems), caught.value


@pytest.mark.parametrize("how", ["written", "staged"])  # a report, or a snapshot a Staging wrote ahead
@pytest.mark.parametrize(("umask", "mode"), [("022", 0o644), ("077", 0o600), ("002", 0o664)])
def test_written_files_honour_the_umask(tmp_path: Path, umask: str, mode: int, how: str) -> None:
    import subprocess
    import sys

    target = tmp_path / "latest.md"
    code = ("from pathlib import Path; from monitor.atomic import Staging, write_atomic; "
            f"target = Path({str(target)!r})\n"
            "with Staging(target.parent) as staging:\n"
            f"    write_atomic(target, {'staging.stage(bytes(1))' if how == 'staged' else repr('x')})")
    subprocess.run(["sh", "-c", f'umask {umask} && exec "$0" -c "$1"', sys.executable, code], check=True,
                   cwd=Path(__file__).resolve().parents[1])  # fmt: skip
    assert target.stat().st_mode & 0o777 == mode


@pytest.mark.parametrize("command", ["check", "validate", "report", "issues", "import"])
def test_help_pages_say_what_a_command_does_with_examples(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    from monitor.cli import main

    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    description = text.split("\n\n")[1]
    assert len(description.split()) > 8, text  # a sentence, not just the usage
    assert "examples:\n  hub-monitor " + command in text
    assert "--verbose, -v" in text
    if command == "issues":
        for name in ("GITHUB_TOKEN", "GITHUB_REPOSITORY", "GITHUB_API_URL", "--quiet, -q"):
            assert name in text
        assert "(default: 10)" in text  # defaults are shown
    if command == "check":
        assert "(default: reports/latest.json)" in text and "--quiet, -q" in text


def test_a_usage_error_shows_the_usage_line_and_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    from monitor.cli import main

    assert main(["check", "--fail-on", "sometimes"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("usage: hub-monitor check [-h]")
    assert "hub-monitor check: error: argument --fail-on: invalid choice: 'sometimes'" in err


def test_in_actions_a_fix_links_the_catalog_line_and_the_run(worst: tuple[dict, str]) -> None:
    from monitor.markdown import proposal_block
    from monitor.report import actions_links

    env = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "octo-org/hub",
           "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567", "GITHUB_RUN_ID": "987654"}  # fmt: skip
    links = actions_links(env)
    assert links == {"blob": "https://github.com/octo-org/hub/blob/0123456789abcdef0123456789abcdef01234567",
                     "run": "https://github.com/octo-org/hub/actions/runs/987654"}  # fmt: skip
    assert actions_links({}) == {} and actions_links({**env, "GITHUB_REPOSITORY": "no repo"}) == {}
    data, _ = worst
    [proposal] = next(e for e in data["entries"] if e["id"] == "arena")["proposals"]
    block = "\n".join(proposal_block(proposal, {**data, "catalog": "./catalog/hub.yaml", "links": links}))
    assert f"[line 151]({links['blob']}/catalog/hub.yaml#L151) becomes `status: Applications" in block
    # A catalog outside the repository gets no permalink, only the line.
    block = "\n".join(proposal_block(proposal, {**data, "catalog": "/tmp/hub.yaml", "links": links}))
    assert "/tmp/hub.yaml, line 151 becomes" in block


def test_an_entry_id_from_an_edited_report_cannot_break_out_of_its_anchor(worst: tuple[dict, str]) -> None:
    import copy

    import cmarkgfm
    from cmarkgfm.cmark import Options

    from monitor.report import render_markdown

    data = copy.deepcopy(worst[0])
    hostile = 'x"><img src=x onerror=alert(1)>) [a](https://evil.example'
    entry = next(e for e in data["entries"] if e["id"] == "arena")
    entry["id"] = hostile
    data["changes"]["new"].append({"id": hostile, "code": "status-changed"})
    html = cmarkgfm.github_flavored_markdown_to_html(render_markdown(data), options=Options.CMARK_OPT_UNSAFE)
    assert "<img" not in html and 'href="https://evil' not in html
    [link] = {m for m in re.findall(r'href="(#entry-x[0-9a-f]+)"', html)}
    assert f'id="{link[1:]}"' in html  # the row still leads to its details


def test_both_edits_of_a_proposal_make_its_findings_go(worst: tuple[dict, str], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    import shutil

    import tests.worst_night as nights

    data, _ = worst
    [p] = next(e for e in data["entries"] if e["id"] == "lightspeed-grants")["proposals"]
    assert (p["hub_current"], p["hub_new"]) == ("Currently closed.", "Applications are now open.")
    # The hub page's edit: its text replaced with the new text, byte for byte (the page is windows-1252).
    fixtures = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, fixtures)
    hub = fixtures / "hub-drifted.html"
    hub.write_bytes(hub.read_bytes().replace(p["hub_current"].encode("cp1252"), p["hub_new"].encode("cp1252")))
    monkeypatch.setattr(nights, "FIXTURES", fixtures)
    # The catalog's edit: the line the proposal names becomes the pasted text.
    lines = CATALOG.read_text(encoding="utf-8").splitlines(keepends=True)
    index = p["catalog_line"] - 1
    lines[index] = re.match(r"\s*", lines[index]).group(0) + f"{p['field']}: {p['new']}\n"
    catalog = tmp_path / "hub.yaml"
    catalog.write_text("".join(lines), encoding="utf-8")
    after, _ = nights.run_night(tmp_path / "after", 3, catalog=catalog)
    codes = {f["code"] for e in after["entries"] if e["id"] == "lightspeed-grants" for f in e["findings"]}
    assert not codes & {"status-changed", "hub-drift"}, codes
