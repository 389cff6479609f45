"""Several nights in a row, as the nightly workflow runs them: `check` against a real local server whose
pages change between runs, then (for the week) `issues` against a fake GitHub."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from monitor.cli import main
from monitor.github import sync_issues
from tests.fake_github import REPO, FakeGitHub
from tests.server import TestServer, html

FAST = ["--allow-host", "127.0.0.1", "--retry-wait-time", "10ms", "--max-retries", "0",
        "--host-request-interval", "0", "--quiet"]


def catalog(tmp_path: Path, server: TestServer) -> Path:
    path = tmp_path / "hub.yaml"
    path.write_text(f"""\
version: 1
hub:
  title: Test Hub
entries:
  - id: arena
    section: Training programs
    title: ARENA
    url: {server.url('/arena')}
    kind: program
    status: Applications open soon.
  - id: article
    section: Learning Resources
    title: Article
    url: {server.url('/article')}
  - id: flaky
    section: Learning Resources
    title: Flaky
    url: {server.url('/flaky')}
""")
    return path


def night(tmp_path: Path, hub: Path, today: str) -> tuple[int, dict, str]:
    reports = tmp_path / "reports"
    code = main(["check", str(hub), "--report", str(reports / "latest.md"), "--json", str(reports / "latest.json"),
                 "--state", str(reports / "state.json"), "--today", today, *FAST])
    return code, json.loads((reports / "latest.json").read_text()), (reports / "latest.md").read_text()


def findings(data: dict, entry_id: str) -> dict[str, dict]:
    [entry] = [e for e in data["entries"] if e["id"] == entry_id]
    return {f["code"]: f for f in entry["findings"]}


ARTICLE_V1 = "<h1>Article</h1><p>Attention heads move information between positions.</p><p>Updated 03:17:05</p>"
ARTICLE_V2 = "<h1>Article</h1><p>Attention heads copy information between positions.</p><p>Updated 04:01:44</p>"


def test_pages_that_change_between_runs(tmp_path, server):
    hub = catalog(tmp_path, server)
    server.route("/arena", html("ARENA", "<h1>ARENA</h1><p>Applications for ARENA 8.0 open soon.</p>"))
    server.route("/article", html("Article", ARTICLE_V1))
    server.route("/flaky", html("Flaky", "<h1>Flaky</h1><p>Fine tonight.</p>"))
    code, data, _ = night(tmp_path, hub, "2026-11-23")
    assert code == 0
    assert [e["severity"] for e in data["entries"]] == ["ok", "ok", "ok"]

    # Night 2: the status flips, the article drifts, the flaky page starts failing.
    server.route("/arena", html("ARENA", "<h1>ARENA</h1><p>Applications for ARENA 8.0 are now closed.</p>"))
    server.route("/article", html("Article", ARTICLE_V2))
    server.route("/flaky", html("Server error", "<h1>Oops</h1>", status=500))
    code, data, markdown = night(tmp_path, hub, "2026-11-24")
    changed = findings(data, "arena")["status-changed"]
    assert changed["confirmed"] is True  # a fact about text: no waiting
    assert "open soon" in changed["evidence"]["hub"].lower()
    assert "now closed" in changed["evidence"]["page"].lower()
    drift = findings(data, "article")["content-changed"]
    assert "-Attention heads move information" in drift["evidence"]["diff"]
    assert "+Attention heads copy information" in drift["evidence"]["diff"]
    changed_lines = [ln for ln in drift["evidence"]["diff"].splitlines() if ln[:1] in "+-" and ln[:3] not in "+++---"]
    assert not [ln for ln in changed_lines if "Updated" in ln]  # the clock line is noise, not drift
    failing = findings(data, "flaky")["http-error"]
    assert (failing["confirmed"], failing["first_seen"]) == (False, "2026-11-24")
    assert "failing since 2026-11-24 (1 of 2 runs)" in markdown
    assert code == 0  # warnings, and an unconfirmed failure: nothing at --fail-on error yet

    # Night 3: the flaky page fails again and is now confirmed; the article's drift was reported once.
    code, data, markdown = night(tmp_path, hub, "2026-11-25")
    failing = findings(data, "flaky")["http-error"]
    assert (failing["confirmed"], failing["first_seen"]) == (True, "2026-11-24")
    assert "content-changed" not in findings(data, "article")
    assert "status-changed" in findings(data, "arena")
    assert code == 2
    snapshot_path = tmp_path / "reports" / "snapshots" / "article.txt"
    assert "copy information" in snapshot_path.read_text()

    # Night 4: only the article's clock moved. That is noise: no finding, and its snapshot file is left
    # exactly as it was, so the nightly commit of reports/ does not churn.
    written = snapshot_path.stat().st_mtime_ns, snapshot_path.read_text()
    server.route("/article", html("Article", ARTICLE_V2.replace("04:01:44", "05:12:09")))
    code, data, _ = night(tmp_path, hub, "2026-11-26")
    assert "content-changed" not in findings(data, "article")
    assert (snapshot_path.stat().st_mtime_ns, snapshot_path.read_text()) == written


def _sync(tmp_path: Path, gh: FakeGitHub):
    data = json.loads((tmp_path / "reports" / "latest.json").read_text())
    client = httpx.Client(transport=httpx.MockTransport(gh))
    return sync_issues(data, repo=REPO, token="ghs_test_token_value", client=client, sleep=lambda _s: None)


def test_a_simulated_week_with_issues(tmp_path, server):
    hub = catalog(tmp_path, server)
    gh = FakeGitHub()
    server.route("/article", html("Article", ARTICLE_V1))
    server.route("/flaky", html("Flaky", "<h1>Flaky</h1>"))
    server.route("/arena", html("Not Found", "<h1>Not Found</h1>", status=404))

    # Night 1: the ARENA page fails: reported as not yet confirmed, no issue.
    _, _, markdown = night(tmp_path, hub, "2026-11-21")
    assert "Not yet confirmed" in markdown
    _sync(tmp_path, gh)
    assert gh.ours() == []

    # Night 2: it fails again: one issue.
    night(tmp_path, hub, "2026-11-22")
    _sync(tmp_path, gh)
    [issue] = gh.ours()
    assert "hub-monitor:entry=arena" in issue["body"]
    assert "dead-link" in issue["body"]

    # Night 3: the page is back, and its status line no longer matches the hub: the same issue is edited.
    server.route("/arena", html("ARENA", "<h1>ARENA</h1><p>Applications for ARENA 8.0 are now closed.</p>"))
    night(tmp_path, hub, "2026-11-23")
    _sync(tmp_path, gh)
    [issue] = gh.ours()
    assert "status-changed" in issue["body"]
    assert issue["state"] == "open"
    assert len(gh.comments.get(issue["number"], [])) == 1

    # Night 4: all fine: the issue is closed as completed, and nothing new is opened.
    server.route("/arena", html("ARENA", "<h1>ARENA</h1><p>Applications for ARENA 8.0 open soon.</p>"))
    night(tmp_path, hub, "2026-11-24")
    _sync(tmp_path, gh)
    [issue] = gh.ours()
    assert (issue["state"], issue["state_reason"]) == ("closed", "completed")
    creates = [w for w in gh.writes if w[0] == "POST" and w[1] == f"/repos/{REPO}/issues"]
    assert len(creates) == 1


def test_entries_sharing_a_url_each_watch_their_own_region(tmp_path, server):
    url = server.url("/team")
    hub = tmp_path / "hub.yaml"
    hub.write_text(f"""\
version: 1
hub:
  title: Test Hub
entries:
  - id: news
    section: Programs
    title: News
    url: {url}
    watch: "#news"
  - id: people
    section: Programs
    title: People
    url: {url}
    watch: "#people"
""")
    page = '<h1>Team</h1><section id="news"><p>{news}</p></section><section id="people"><p>{people}</p></section>'
    server.route("/team", html("Team", page.format(news="Cohort 8 announced.", people="Ada and Grace.")))
    code, data, _ = night(tmp_path, hub, "2026-11-24")
    assert code == 0
    server.route("/team", html("Team", page.format(news="Cohort 8 announced.", people="Ada, Grace and Alan.")))
    code, data, _ = night(tmp_path, hub, "2026-11-25")
    assert "content-changed" not in findings(data, "news")
    assert "+Ada, Grace and Alan." in findings(data, "people")["content-changed"]["evidence"]["diff"]
    snapshots = tmp_path / "reports" / "snapshots"
    assert (snapshots / "news.txt").read_text() == "Cohort 8 announced."
    assert (snapshots / "people.txt").read_text() == "Ada, Grace and Alan."
