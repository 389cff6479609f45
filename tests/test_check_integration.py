"""`hub-monitor check` end to end, as a user runs it, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.cli import main
from tests.catalogs import write_catalog
from tests.server import TestServer, hang, html, redirect, respond

FAST = ["--allow-host", "127.0.0.1", "--retry-wait-time", "10ms", "--host-request-interval", "0",
        "--today", "2026-11-25", "--quiet"]


def run_check(tmp_path: Path, catalog: Path, *extra: str) -> tuple[int, dict, str]:
    reports = tmp_path / "reports"
    code = main(["check", str(catalog), "--report", str(reports / "latest.md"), "--json",
                 str(reports / "latest.json"), "--state", str(reports / "state.json"), *FAST, *extra])
    data = json.loads((reports / "latest.json").read_text())
    return code, data, (reports / "latest.md").read_text()


def codes(data: dict, entry_id: str) -> list[str]:
    [entry] = [e for e in data["entries"] if e["id"] == entry_id]
    return [f["code"] for f in entry["findings"]]


@pytest.fixture
def site(server: TestServer) -> TestServer:
    server.route("/ok", html("Fine page", "<h1>Fine</h1><p>All good here.</p>"))
    server.route("/gone", html("Not Found", "<h1>Not Found</h1>", status=404))
    server.route("/removed", html("Gone", "<h1>Gone</h1>", status=410))
    server.route("/old", redirect("/new", 301))
    server.route("/new", html("New home", "<h1>New home</h1><p>The resource lives here now.</p>"))
    server.route("/loop-a", redirect("/loop-b", 302))
    server.route("/loop-b", redirect("/loop-a", 302))
    server.route("/metadata", redirect("http://169.254.169.254/latest/meta-data/", 302))
    server.route("/closed", html("ARENA", "<h1>ARENA</h1><p>Applications are now closed.</p>"))
    server.route("/mats", html("MATS", "<h1>MATS</h1><p>Our scholars do research.</p>"))
    return server


def test_each_problem_page_gives_its_finding(tmp_path, site):
    catalog = write_catalog(tmp_path / "hub.yaml", [
        {"id": "fine", "url": site.url("/ok")},
        {"id": "dead", "url": site.url("/gone")},
        {"id": "removed", "url": site.url("/removed")},
        {"id": "moved", "url": site.url("/old")},
        {"id": "loop", "url": site.url("/loop-a")},
        {"id": "metadata", "url": site.url("/metadata")},
        {"id": "arena", "url": site.url("/closed"), "kind": "program", "status": "Applications open soon."},
        {"id": "mats", "url": site.url("/mats"), "kind": "program",
         "status": "Applications close November 10, 2023 11:59 PM (PST)."},
        {"id": "nolink", "url": None},
    ])
    code, data, markdown = run_check(tmp_path, catalog, "--confirm-after", "1")
    assert code == 2
    assert data["network"] == "ok"
    assert codes(data, "fine") == []
    assert codes(data, "dead") == ["dead-link"]
    assert codes(data, "removed") == ["dead-link"]
    assert codes(data, "moved") == ["moved-permanently"]
    moved = next(e for e in data["entries"] if e["id"] == "moved")
    assert site.url("/new") in moved["findings"][0]["message"]
    assert codes(data, "loop") == ["redirect-loop"]
    assert codes(data, "metadata") == ["blocked-address"]
    assert "status-changed" in codes(data, "arena")
    assert "deadline-passed" in codes(data, "mats")
    assert codes(data, "nolink") == ["no-url"]
    assert "Needs attention" in markdown


def test_timeout_is_reported_as_timeout(tmp_path, server):
    server.route("/slow", hang(server))
    catalog = write_catalog(tmp_path / "hub.yaml", [{"id": "slow", "url": server.url("/slow")}])
    code, data, _ = run_check(tmp_path, catalog, "--timeout", "0.3", "--max-retries", "0", "--confirm-after", "1")
    assert codes(data, "slow") == ["timeout"]
    assert code == 2


def test_first_failure_waits_for_confirmation_then_alarms(tmp_path, site):
    catalog = write_catalog(tmp_path / "hub.yaml", [{"id": "dead", "url": site.url("/gone")}])
    code, data, markdown = run_check(tmp_path, catalog)
    assert code == 0  # one failing night is not yet an alarm
    [finding] = data["entries"][0]["findings"]
    assert (finding["code"], finding["confirmed"]) == ("dead-link", False)
    assert "Not yet confirmed" in markdown
    code, data, _ = run_check(tmp_path, catalog)
    [finding] = data["entries"][0]["findings"]
    assert (finding["confirmed"], finding["first_seen"]) == (True, "2026-11-25")
    assert code == 2


def test_fail_on_warning_and_never(tmp_path, site):
    catalog = write_catalog(tmp_path / "hub.yaml", [{"id": "moved", "url": site.url("/old")}])
    assert run_check(tmp_path, catalog)[0] == 0
    assert run_check(tmp_path, catalog, "--fail-on", "warning")[0] == 2
    assert run_check(tmp_path, catalog, "--fail-on", "never")[0] == 0


def test_private_addresses_are_blocked_unless_allowed(tmp_path, site):
    catalog = write_catalog(tmp_path / "hub.yaml", [{"id": "fine", "url": site.url("/ok")}])
    reports = tmp_path / "reports"
    code = main(["check", str(catalog), "--report", str(reports / "r.md"), "--json", str(reports / "r.json"),
                 "--state", str(reports / "s.json"), "--quiet", "--confirm-after", "1"])
    data = json.loads((reports / "r.json").read_text())
    assert codes(data, "fine") == ["blocked-address"]
    assert code == 2
    assert site.hits("/ok") == 0


def test_bad_catalog_exits_3_without_traceback(tmp_path, capsys):
    bad = tmp_path / "hub.yaml"
    bad.write_text("version: 1\nhub:\n  title: T\nentries:\n  - id: x\n    tittle: X\n    section: S\n    url: ftp://x\n")
    assert main(["validate", str(bad)]) == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"{bad}:6" in err or f"{bad}:5" in err


def test_usage_error_exits_3(capsys):
    assert main(["check", "--fail-on", "sometimes"]) == 3
    assert "invalid choice" in capsys.readouterr().err


def test_report_command_renders_the_same_markdown_from_json(tmp_path, site, capsys):
    catalog = write_catalog(tmp_path / "hub.yaml", [{"id": "fine", "url": site.url("/ok")}])
    _, _, markdown = run_check(tmp_path, catalog)
    out = tmp_path / "again.md"
    assert main(["report", str(tmp_path / "reports" / "latest.json"), "--output", str(out)]) == 0
    assert out.read_text() == markdown


def test_job_summary_gets_the_report_when_running_in_actions(tmp_path, site, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    catalog = write_catalog(tmp_path / "hub.yaml", [{"id": "fine", "url": site.url("/ok")}])
    _, _, markdown = run_check(tmp_path, catalog)
    assert summary.read_text() == markdown


def test_exactly_one_finding_per_problem_page_and_no_false_dead_links(tmp_path, server, server2):
    def head_not_allowed(h):
        if h.command == "HEAD":
            respond(405, b"")(h)
        else:
            html("Works with GET", "<h1>GET only</h1><p>This server refuses HEAD.</p>")(h)

    server.route("/head-less", head_not_allowed)
    server.route("/soft", html("Page not found", "<h1>Sorry, this page doesn't exist</h1>"))
    server.route("/", html("Home", "<h1>Welcome home</h1>"))
    server.route("/deep/old-article", redirect("/", 301))
    server.route("/parked", html("example-hub.org is for sale", "<p>This domain is for sale! Buy it now.</p>"))
    server.route("/challenge", html("Just a moment...", "<p>Checking your browser</p>", status=403,
                                    headers={"cf-mitigated": "challenge", "server": "cloudflare"}))
    server.route("/linkedin", respond(999, b""))
    server.route("/login", html("Sign in", "<h1>Sign in</h1>", status=401))
    # On its own host: a Retry-After of an hour holds back every request to that host, not just this one.
    server2.route("/limited", respond(429, b"slow down", {"Retry-After": "3600"}))
    server.route("/doc", html("Doc", '<h1 id="setup">Setup</h1><a name="usage"></a><p>How to use it.</p>'))
    server.route("/temp", redirect("/doc", 302))
    server.route("/slash", redirect("/slash/", 301))
    server.route("/slash/", html("Slash", "<h1>Slash</h1><p>Fine.</p>"))
    server.route("/old-home", redirect("/doc", 301))
    catalog = write_catalog(tmp_path / "hub.yaml", [
        {"id": "head-less", "url": server.url("/head-less")},
        {"id": "soft", "url": server.url("/soft")},
        {"id": "deep", "url": server.url("/deep/old-article")},
        {"id": "parked", "url": server.url("/parked")},
        {"id": "challenge", "url": server.url("/challenge")},
        {"id": "linkedin", "url": server.url("/linkedin")},
        {"id": "login", "url": server.url("/login")},
        {"id": "limited", "url": server2.url("/limited")},
        {"id": "anchor-ok", "url": server.url("/doc#setup")},
        {"id": "anchor-name", "url": server.url("/doc#usage")},
        {"id": "anchor-missing", "url": server.url("/doc#install")},
        {"id": "temporary", "url": server.url("/temp")},
        {"id": "slash", "url": server.url("/slash")},
        {"id": "aliased", "url": server.url("/old-home"), "aliases": [server.url("/doc")]},
    ])
    _, data, _ = run_check(tmp_path, catalog, "--max-retries", "0", "--confirm-after", "1")
    got = {e["id"]: codes(data, e["id"]) for e in data["entries"]}
    assert got == {
        "head-less": [],
        "soft": ["soft-404"],
        "deep": ["soft-404"],
        "parked": ["parked-domain"],
        "challenge": ["bot-protection"],
        "linkedin": ["bot-protection"],
        "login": ["access-restricted"],
        "limited": ["rate-limited"],
        "anchor-ok": [],
        "anchor-name": [],
        "anchor-missing": ["missing-anchor"],
        "temporary": ["redirected"],
        "slash": ["redirected"],
        "aliased": [],
    }
    assert server2.hits("/limited") == 1  # a Retry-After beyond the cap is not waited for, nor retried


def test_not_checked_entries_say_why(tmp_path, server):
    urls = {"kept": server.route("/kept", html("Kept", "<p>fine</p>")),
            "private": server.route("/private/page", html("Private", "<p>members only</p>"))}  # fmt: skip
    catalog = write_catalog(tmp_path / "hub.yaml", urls)
    code, data, markdown = run_check(tmp_path, catalog, "--exclude", "/private/")
    entries = {e["id"]: e for e in data["entries"]}
    assert (entries["kept"]["checked"], entries["kept"]["not_checked_reason"]) == (True, None)
    assert entries["private"]["checked"] is False
    assert entries["private"]["not_checked_reason"] == "excluded by the pattern '/private/'"
    section = markdown.split("## Not checked", 1)[1].split("\n## ", 1)[0]
    [listed] = [line for line in section.splitlines() if line.startswith("- ")]
    assert listed.startswith("- private (private): <http") and listed.endswith("(excluded by the pattern '/private/')")
    assert code == 0


def test_an_old_cloudflare_challenge_on_503_is_bot_protection_after_one_request(tmp_path, server):
    # A saved page of Cloudflare's 2016 challenge ("Checking your browser before accessing"), as Cloudflare
    # served it: 503 from Server: cloudflare. Default retries: a challenge must still cost one request.
    page = (Path(__file__).parent / "corpus/pages/bot-wall/cloudflare-iuam-2016.html").read_bytes()
    server.route("/walled", respond(503, page, {"Server": "cloudflare"}))
    catalog = write_catalog(tmp_path / "hub.yaml", [{"id": "walled", "url": server.url("/walled")}])
    _, data, _ = run_check(tmp_path, catalog, "--confirm-after", "1")
    assert codes(data, "walled") == ["bot-protection"]
    assert server.hits("/walled") == 1
