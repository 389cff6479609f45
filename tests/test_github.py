from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import cmarkgfm
import httpx
import pytest
from cmarkgfm.cmark import Options
from pytest_httpx import HTTPXMock

from monitor import github
from monitor.findings import Code, Finding
from monitor.github import BODY_LIMIT, parse_issue, sync_issues
from monitor.models import Entry, EntryResult, Hub, Network, RunResult
from monitor.report import to_json
from tests.fake_github import REPO, FakeGitHub

TOKEN = "ghs_s3cr3tT0kenValue0123456789"
NOW = 1_800_000_000.0


# ------------------------------------------------------------------------------------- fake GitHub



@pytest.fixture
def fake(httpx_mock: HTTPXMock) -> FakeGitHub:
    gh = FakeGitHub()
    httpx_mock.add_callback(gh, is_reusable=True, is_optional=True)
    return gh


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def sync(report: dict[str, Any], **kw: Any) -> github.SyncResult:
    kw.setdefault("repo", REPO)
    kw.setdefault("token", TOKEN)
    kw.setdefault("sleep", Sleeps())
    kw.setdefault("clock", lambda: NOW)
    return sync_issues(report, **kw)


# ------------------------------------------------------------------------------------------ reports


def entry(entry_id: str, **kw: Any) -> Entry:
    return Entry(id=entry_id, section="Learning resources", title=kw.pop("title", entry_id.upper()),
                 url=kw.pop("url", f"https://{entry_id}.example/"), line=7, **kw)  # fmt: skip


def night(today: str, results: list[EntryResult], network: Network = Network.OK) -> dict[str, Any]:
    run = RunResult(
        hub=Hub("Mechanistic Interpretability Hub"),
        catalog_path="catalog/hub.yaml",
        started_at=f"{today}T03:17:00Z",
        finished_at=f"{today}T03:17:04Z",
        today=today,
        network=network,
        entries=results,
    )
    return to_json(run)


def dead(confirmed: bool = True) -> Finding:
    return Finding(Code.DEAD_LINK, "The page answers 404 Not Found.", fix="Remove or replace this entry.",
                   confirmed=confirmed, first_seen="2026-11-22")  # fmt: skip


STATUS = Finding(
    Code.STATUS_CHANGED,
    "The page no longer says applications open soon.",
    {"hub": "Applications open soon.", "page": "Applications are now closed."},
    fix='Change the status line to "Applications closed."',
)


def fine(entry_id: str) -> EntryResult:
    return EntryResult(entry(entry_id), http_status=200)


# ------------------------------------------------------------------------------------------ the week


def test_a_week_create_edit_close_without_duplicates(fake: FakeGitHub) -> None:
    fake.add("Unrelated bug", "Something else entirely", labels=("bug",))

    # Night 1: the page fails once: not yet confirmed, so no issue.
    r1 = sync(night("2026-11-22", [EntryResult(entry("arena"), [dead(confirmed=False)]), fine("mats")]))
    assert r1.plan == [] and fake.writes == [] and r1.complete

    # Night 2: it fails again, now confirmed: one issue.
    n2 = night("2026-11-23", [EntryResult(entry("arena"), [dead()]), fine("mats")])
    r2 = sync(n2)
    assert [a.kind for a in r2.done] == ["create"]
    assert [w[0:2] for w in fake.writes] == [("POST", f"/repos/{REPO}/issues")]
    created = fake.writes[0][2]
    assert created["labels"] == ["stale-entry"]
    assert created["title"] == "Dead link: ARENA"  # the kind of problem, then the entry
    assert created["body"].startswith("<!-- hub-monitor:entry=arena -->\n")
    assert "The page answers 404 Not Found." in created["body"]
    assert "**Fix:** Remove or replace this entry." in created["body"]
    assert r2.done[0].number == 2

    # The same night again (a re-run): nothing to do.
    fake.writes.clear()
    assert sync(n2).plan == [] and fake.writes == []

    # Night 3: the status line changes too: the same issue is edited and commented.
    r3 = sync(night("2026-11-24", [EntryResult(entry("arena"), [dead(), STATUS]), fine("mats")]))
    assert [(a.kind, a.number) for a in r3.done] == [("update", 2)]
    assert [w[0:2] for w in fake.writes] == [("PATCH", f"/repos/{REPO}/issues/2"),
                                              ("POST", f"/repos/{REPO}/issues/2/comments")]  # fmt: skip
    assert "Applications are now closed." in fake.issues[1]["body"]
    assert fake.comments[2] == [
        "Hub Monitor's findings for this entry changed on 2026-11-24:\n\n"
        "- new: `status-changed`: “Applications are now closed.”\n\n"
        "The description above is updated."
    ]
    assert fake.issues[1]["title"] == "Dead link (+1 more): ARENA"
    # A checkbox per finding, so the issue can be worked through.
    assert "- [ ] Dead link (dead-link): Remove or replace this entry." in fake.issues[1]["body"]
    assert "- [ ] Status line out of date (status-changed): Change the status line" in fake.issues[1]["body"]

    # Night 4: everything is fine: comment, then close as completed.
    fake.writes.clear()
    r4 = sync(night("2026-11-25", [fine("arena"), fine("mats")]))
    assert [(a.kind, a.number) for a in r4.done] == [("close", 2)]
    assert [w[0:2] for w in fake.writes] == [("POST", f"/repos/{REPO}/issues/2/comments"),
                                              ("PATCH", f"/repos/{REPO}/issues/2")]  # fmt: skip
    assert fake.writes[1][2] == {"state": "closed", "state_reason": "completed"}
    assert "found no problem with this entry on 2026-11-25" in fake.comments[2][-1]

    # Never a duplicate: one issue of ours over the whole week.
    assert len(fake.ours()) == 1
    # A clean night after the close touches nothing.
    fake.writes.clear()
    assert sync(night("2026-11-26", [fine("arena"), fine("mats")])).plan == [] and fake.writes == []


def test_volatile_evidence_does_not_edit_the_issue(fake: FakeGitHub) -> None:
    f1 = Finding(Code.DEAD_LINK, "404", {"failing_runs": "2"}, first_seen="2026-11-22")
    f2 = Finding(Code.DEAD_LINK, "404", {"failing_runs": "3"}, first_seen="2026-11-22")
    sync(night("2026-11-23", [EntryResult(entry("a"), [f1])]))
    fake.writes.clear()
    assert sync(night("2026-11-24", [EntryResult(entry("a"), [f2])])).plan == []


def test_unconfirmed_failure_keeps_an_open_issue_open(fake: FakeGitHub) -> None:
    sync(night("2026-11-23", [EntryResult(entry("a"), [dead()])]))
    fake.writes.clear()
    other = Finding(Code.TIMEOUT, "No answer.", confirmed=False)
    assert sync(night("2026-11-24", [EntryResult(entry("a"), [other])])).plan == []
    not_checked = EntryResult(entry("a"), checked=False)
    assert sync(night("2026-11-24", [not_checked])).plan == []


def test_entry_removed_from_the_catalog_closes_its_issue(fake: FakeGitHub) -> None:
    sync(night("2026-11-23", [EntryResult(entry("gone"), [dead()])]))
    result = sync(night("2026-11-24", [fine("other")]))
    assert [(a.kind, a.entry_id) for a in result.done] == [("close", "gone")]
    assert fake.issues[0]["state"] == "closed"


# ------------------------------------------------------------------------------------------ listing


def test_listing_follows_link_pages_and_skips_pull_requests(fake: FakeGitHub, httpx_mock: HTTPXMock) -> None:
    for n in range(150):
        fake.add(f"Other {n}", f"<!-- hub-monitor:entry=other{n} -->", state="closed", state_reason="completed")
    # Our open issue is on page 2; a pull request on page 2 carries the same marker and label.
    arena = night("2026-11-23", [EntryResult(entry("arena"), [dead()])])["entries"][0]
    fake.add(github.issue_title(arena), github.issue_body(arena, {"catalog": "catalog/hub.yaml"}))
    fake.add("Fix arena link", "<!-- hub-monitor:entry=pr -->", pull_request=True)
    result = sync(night("2026-11-24", [EntryResult(entry("arena"), [dead()]), EntryResult(entry("pr"), [dead()])]))
    assert [(a.kind, a.entry_id) for a in result.done] == [("create", "pr")]
    gets = [r for r in httpx_mock.get_requests() if r.method == "GET"]
    assert len(gets) == 2
    assert gets[0].url.params["per_page"] == "100"
    assert gets[1].url.path == "/repositories/42/issues" and gets[1].url.params["page"] == "2"
    assert all(r.url.host == "api.github.com" for r in httpx_mock.get_requests())


def test_parse_issue_reads_marker_and_fingerprint() -> None:
    item = {"number": 7, "state": "closed", "state_reason": "not_planned", "title": "t",
            "body": "<!-- hub-monitor:entry=arena -->\n<!-- hub-monitor:findings=dead-link:abc -->\n"}  # fmt: skip
    issue = parse_issue(item)
    assert issue is not None
    assert (issue.entry_id, issue.prints, issue.state_reason) == ("arena", ("dead-link:abc",), "not_planned")
    assert parse_issue({**item, "pull_request": {}}) is None
    assert parse_issue({**item, "body": None}) is None


def test_not_planned_stays_closed_and_is_reported(fake: FakeGitHub) -> None:
    fake.add("Stale entry: ARENA", "<!-- hub-monitor:entry=arena -->", state="closed", state_reason="not_planned")
    result = sync(night("2026-11-24", [EntryResult(entry("arena"), [dead(), STATUS])]))
    assert result.plan == [] and fake.writes == []
    assert result.not_planned == ["arena"]
    assert "Left closed as not planned by a maintainer: arena" in result.render()


def test_closed_as_completed_then_failing_again_opens_a_new_issue(fake: FakeGitHub) -> None:
    fake.add("Stale entry: ARENA", "<!-- hub-monitor:entry=arena -->", state="closed", state_reason="completed")
    result = sync(night("2026-11-24", [EntryResult(entry("arena"), [dead()])]))
    assert [(a.kind, a.number) for a in result.done] == [("create", 2)]


# ------------------------------------------------------------------------------------------ limits


def test_max_new_caps_creation(fake: FakeGitHub) -> None:
    report = night("2026-11-24", [EntryResult(entry(f"e{n:02d}"), [dead()]) for n in range(15)])
    sleeps = Sleeps()
    result = sync(report, max_new=10, sleep=sleeps)
    assert [a.entry_id for a in result.done] == [f"e{n:02d}" for n in range(10)]
    assert len(fake.ours()) == 10
    assert any("--max-new 10 reached: 5 new issue(s) left for the next run" in m for m in result.messages)
    # One write at a time, a second apart.
    assert sleeps == [github.WRITE_INTERVAL] * 9
    # The next night creates the rest and nothing twice.
    result = sync(report, max_new=10)
    assert [a.entry_id for a in result.done] == [f"e{n:02d}" for n in range(10, 15)]
    assert len(fake.ours()) == 15


def test_rate_limit_with_a_short_reset_waits_and_goes_on(fake: FakeGitHub) -> None:
    fake.interrupts.append(httpx.Response(
        403,
        json={"message": "API rate limit exceeded for installation ID 1.",
              "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"},
        headers={"x-ratelimit-limit": "1000", "x-ratelimit-remaining": "0", "x-ratelimit-used": "1000",
                 "x-ratelimit-reset": str(int(NOW) + 20), "x-ratelimit-resource": "core"},
    ))  # fmt: skip
    sleeps = Sleeps()
    result = sync(night("2026-11-24", [EntryResult(entry("a"), [dead()])]), sleep=sleeps)
    assert result.complete and [a.kind for a in result.done] == ["create"]
    assert sleeps[0] == 21.0


def test_rate_limit_with_a_long_reset_stops_cleanly(fake: FakeGitHub) -> None:
    report = night("2026-11-24", [EntryResult(entry(f"e{n}"), [dead()]) for n in range(3)])
    result = sync(report, max_new=10)
    assert len(result.done) == 3
    fake.writes.clear()
    # The next night all three change; the budget runs out after the first edit.
    report = night("2026-11-25", [EntryResult(entry(f"e{n}"), [dead(), STATUS]) for n in range(3)])
    reset = str(int(NOW) + 3000)
    limited = httpx.Response(403, json={"message": "API rate limit exceeded"},
                             headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset})  # fmt: skip
    calls: list[str] = []

    def budget(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if request.method != "GET" and len([c for c in calls if c != "GET"]) > 2:
            return limited
        return fake(request)

    result = sync_issues(report, repo=REPO, token=TOKEN, sleep=Sleeps(), clock=lambda: NOW,
                         client=httpx.Client(transport=httpx.MockTransport(budget)))  # fmt: skip
    assert not result.complete
    assert result.stopped is not None and "rate limit is exhausted for about 3001 s" in result.stopped
    assert "(1 of 3 planned change(s) made)" in result.stopped
    assert "2027-01-15 08:50 UTC" in result.stopped
    assert [a.entry_id for a in result.done] == ["e0"]


def test_429_with_retry_after_is_honoured(fake: FakeGitHub) -> None:
    fake.interrupts.append(httpx.Response(429, headers={"retry-after": "7"}, json={"message": "slow down"}))
    sleeps = Sleeps()
    result = sync(night("2026-11-24", [fine("a")]), sleep=sleeps)
    assert result.complete and sleeps == [7.0]


def test_secondary_rate_limit_without_headers_waits_a_minute_or_stops(fake: FakeGitHub) -> None:
    secondary = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}
    fake.interrupts.append(httpx.Response(403, json=secondary))
    sleeps = Sleeps()
    assert sync(night("2026-11-24", [fine("a")]), sleep=sleeps).complete and sleeps == [60.0]
    fake.interrupts.append(httpx.Response(403, json=secondary))
    result = sync(night("2026-11-24", [fine("a")]), max_wait=10)
    assert result.stopped is not None and "rate limit" in result.stopped


def test_permission_error_says_what_to_check(fake: FakeGitHub) -> None:
    fake.interrupts.append(httpx.Response(403, json={"message": "Resource not accessible by integration"}))
    result = sync(night("2026-11-24", [fine("a")]))
    assert result.stopped is not None
    assert "403 (Resource not accessible by integration)" in result.stopped
    assert "issues: write" in result.stopped


def test_body_stays_under_githubs_cap() -> None:
    huge = [
        Finding(Code.EXPECTED_TEXT_MISSING, "x" * 5000, {f"phrase {i}": "y" * 5000 for i in range(60)}, fix="z" * 5000)
        for _ in range(40)
    ]
    report = night("2026-11-24", [EntryResult(entry("a"), huge)])
    body = github.issue_body(report["entries"][0], report)
    assert len(body) < BODY_LIMIT
    assert body.startswith("<!-- hub-monitor:entry=a -->")
    assert "did not fit here" in body


def test_page_text_cannot_inject_into_the_issue_body() -> None:
    payload = "<img src=x onerror=alert(1)> [phish](https://evil.example) @octocat #1 \n# Heading | cell"
    f = Finding(Code.STATUS_CHANGED, payload, {"hub": payload, "page": payload, "diff": payload + "\n```"}, fix=payload)
    report = night("2026-11-24", [EntryResult(entry("a", title=payload), [f], final_url=payload)])
    html = cmarkgfm.github_flavored_markdown_to_html(github.issue_body(report["entries"][0], report),
                                                     options=Options.CMARK_OPT_UNSAFE)  # fmt: skip
    # GitHub links neither mentions nor references inside code, so only text outside code counts.
    prose = re.sub(r"<code>.*?</code>", "", html, flags=re.S)
    for bad in ("<img", "<h1", 'evil.example"', "@octocat", "#1 ", "<script"):
        assert bad not in prose
    assert html.count("<a ") == 1  # the catalog's own URL


# ------------------------------------------------------------------------------------------ dry run, safety


def test_dry_run_plans_and_writes_nothing(fake: FakeGitHub, httpx_mock: HTTPXMock) -> None:
    sync(night("2026-11-23", [EntryResult(entry("a"), [dead()]), EntryResult(entry("b"), [dead()])]))
    fake.writes.clear()
    report = night("2026-11-24", [EntryResult(entry("a"), [dead(), STATUS]), fine("b"),
                                  EntryResult(entry("c"), [dead()])])  # fmt: skip
    before = len(httpx_mock.get_requests())
    result = sync(report, dry_run=True)
    assert [(a.kind, a.entry_id) for a in result.plan] == [("update", "a"), ("close", "b"), ("create", "c")]
    assert result.done == [] and fake.writes == []
    assert {r.method for r in httpx_mock.get_requests()[before:]} == {"GET"}
    text = result.render()
    assert "Dry run: 3 change(s) planned, nothing written." in text
    assert "create new issue for c: 'Dead link: C'" in text
    assert "update #1 for a" in text and "close  #2 for b" in text


def test_network_unavailable_touches_nothing(httpx_mock: HTTPXMock) -> None:
    report = night("2026-11-24", [EntryResult(entry("a"), checked=False)], network=Network.UNAVAILABLE)
    result = sync(report)
    assert httpx_mock.get_requests() == []
    assert result.plan == [] and "no issue was touched" in result.messages[0]


def test_token_goes_only_to_the_api_host_and_never_into_output(httpx_mock: HTTPXMock) -> None:
    ghe = "https://ghe.example.com/api/v3"
    fake = FakeGitHub(api=ghe, per_page_cap=1)
    fake.add("x", "<!-- hub-monitor:entry=x -->")
    fake.add("y", "<!-- hub-monitor:entry=y -->")

    def handler(request: httpx.Request) -> httpx.Response:
        resp = fake(request)
        if "link" in resp.headers:
            # A hostile or misconfigured Link header pointing at another host.
            resp.headers["link"] = '<https://evil.example/steal?page=2>; rel="next"'
        return resp

    httpx_mock.add_callback(handler, is_reusable=True)
    result = sync(night("2026-11-24", [fine("x")]), api_url=ghe)
    assert result.stopped is not None and "refusing to send a request to https://evil.example" in result.stopped
    requests = httpx_mock.get_requests()
    assert {r.url.host for r in requests} == {"ghe.example.com"}
    assert all(r.url.path.startswith("/api/v3/repos/") for r in requests)
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in requests)
    assert TOKEN not in result.render() and TOKEN not in repr(result)


def test_token_absent_from_errors(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=401, json={"message": "Bad credentials"})
    result = sync(night("2026-11-24", [fine("a")]))
    assert result.stopped == (
        f"GET /repos/{REPO}/issues answered 401 (Bad credentials): the token was refused: check GITHUB_TOKEN"
    )
    assert TOKEN not in result.render()


def test_bad_arguments() -> None:
    report = night("2026-11-24", [fine("a")])
    with pytest.raises(ValueError, match="OWNER/NAME"):
        sync_issues(report, repo="not a repo", token=TOKEN)
    with pytest.raises(ValueError, match="GITHUB_TOKEN is not set"):
        sync_issues(report, repo=REPO, token=None)
    with pytest.raises(ValueError, match="without commas"):
        sync_issues(report, repo=REPO, token=TOKEN, label="a,b")


# ------------------------------------------------------------------------------------------ issue 13, issue 12


def test_not_planned_accepts_only_the_codes_that_issue_was_about(fake: FakeGitHub) -> None:
    # A maintainer closed the "marked outdated" issue as not planned; later the page dies.
    outdated = Finding(Code.MARKED_OUTDATED, "The page says it is out of date.", {"quote": "out of date"})
    first = sync(night("2026-11-20", [EntryResult(entry("arena"), [outdated])]))
    [created] = first.done
    fake.issues[created.number - 1].update(state="closed", state_reason="not_planned")
    same = sync(night("2026-11-21", [EntryResult(entry("arena"), [outdated])]))
    assert same.plan == [] and same.not_planned == ["arena"]
    assert same.accepted == [("arena", ("marked-outdated",), created.number)]
    later = sync(night("2026-11-24", [EntryResult(entry("arena"), [outdated, dead()])]))
    [new] = later.done
    assert new.kind == "create" and new.title == "Dead link: ARENA"
    body = fake.issues[new.number - 1]["body"]
    assert "dead-link" in body and "marked-outdated" not in body  # only what was not accepted
    assert later.numbers == {"arena": new.number}


def test_labels_and_assignees_go_on_new_issues(fake: FakeGitHub) -> None:
    sync(night("2026-11-24", [EntryResult(entry("a"), [dead()])]), extra_labels=["hub"], assignees=["octocat"])
    [(_, _, payload)] = fake.writes
    assert payload["labels"] == ["stale-entry", "hub"] and payload["assignees"] == ["octocat"]
    with pytest.raises(ValueError, match="--assignee"):
        sync(night("2026-11-24", [fine("a")]), assignees=["not a login"])


def test_the_job_summary_links_each_issue(fake: FakeGitHub) -> None:
    result = sync(night("2026-11-24", [EntryResult(entry("a"), [dead()])]))
    summary = result.summary(lambda n: f"https://github.com/{REPO}/issues/{n}")
    assert f"- Opened [#1](https://github.com/{REPO}/issues/1): Dead link: A (dead-link)" in summary


def test_hub_level_drift_gets_one_issue_of_its_own(fake: FakeGitHub) -> None:
    report = night("2026-11-24", [fine("a")])
    report["hub"]["url"] = "https://hub.example/"
    report["hub_proposals"] = [
        {"action": "add-entry", "id": "saelens", "why": "The hub lists SAELens; the catalog lacks it.",
         "entry": {"id": "saelens", "section": "Tools", "title": "SAELens", "url": "https://github.com/x/SAELens"}},
    ]  # fmt: skip
    [created] = sync(report).done
    issue = fake.issues[created.number - 1]
    assert issue["title"] == "Hub page and catalog differ: 1 entry to add"
    assert "```yaml\n  - id: saelens\n    section: Tools\n" in issue["body"]
    assert sync(report).plan == []  # the same drift again: nothing to do
    report["hub_proposals"] = []
    [closed] = sync(report).done
    assert (closed.kind, closed.number) == ("close", created.number)


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (httpx.Response(200, content=b"{not json"), "the answer is not JSON (it starts '{not json')"),
        (httpx.Response(200, json=[{"number": "abc", "state": "open", "body": "<!-- hub-monitor:entry=a -->"}]),
         "with number 'abc', not a positive integer"),
    ],
)
def test_an_answer_that_is_not_githubs_is_a_clear_error(httpx_mock: HTTPXMock, answer: httpx.Response,
                                                        words: str) -> None:  # fmt: skip
    # B29: neither a raw decoder message nor a crash.
    httpx_mock.add_response(status_code=answer.status_code, content=answer.content)
    result = sync(night("2026-11-24", [EntryResult(entry("a"), [dead()])]))
    assert result.stopped is not None and words in result.stopped


def test_a_rate_limit_reset_beyond_any_clock_does_not_crash(fake: FakeGitHub) -> None:
    # B30: x-ratelimit-reset: 99999999999999999999 made datetime overflow.
    fake.interrupts.append(httpx.Response(403, json={"message": "API rate limit exceeded"}, headers={
        "x-ratelimit-remaining": "0", "x-ratelimit-reset": "99999999999999999999"}))  # fmt: skip
    sleeps = Sleeps()
    result = sync(night("2026-11-24", [EntryResult(entry("a"), [dead()])]), sleep=sleeps)
    # A reset time no clock can hold is treated as not given: GitHub's advice for that is to wait a minute.
    assert result.complete and sleeps[0] == 60.0
    assert "resets at" not in github._rate_limit_message(fake.interrupts[0] if fake.interrupts else httpx.Response(
        403, headers={"x-ratelimit-reset": "99999999999999999999"}), 1e30)


def test_a_create_answer_without_a_number_is_not_created_twice(fake: FakeGitHub, httpx_mock: HTTPXMock) -> None:
    # B31: the issue exists after the POST even though the answer did not say its number.
    def handler(request: httpx.Request) -> httpx.Response:
        resp = fake(request)
        return httpx.Response(201, json={"title": "x"}) if request.method == "POST" else resp

    httpx_mock.add_callback(handler, is_reusable=True)
    report = night("2026-11-24", [EntryResult(entry("a"), [dead()])])
    first = sync(report)
    assert first.complete and [(a.kind, a.number) for a in first.done] == [("create", None)]
    assert "gave no issue number" in first.render()
    assert sync(report).plan == [] and len(fake.ours()) == 1


def test_an_endless_answer_is_cut_off(httpx_mock: HTTPXMock) -> None:
    # B32: an endless listing body is read up to the cap, not into memory until the read timeout.
    def endless() -> Iterator[bytes]:
        chunk = b"[" + b" " * (1 << 20)
        for _ in range(github.MAX_ANSWER_BYTES // len(chunk) + 2):
            yield chunk
        raise AssertionError("read past the cap")  # pragma: no cover

    httpx_mock.add_callback(lambda request: httpx.Response(200, stream=_Stream(endless())))
    result = sync(night("2026-11-24", [fine("a")]))
    assert result.stopped is not None and "larger than 16 MiB" in result.stopped


class _Stream(httpx.SyncByteStream):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks


def test_the_issues_command_reads_its_repository_and_api_from_actions(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, httpx_mock: HTTPXMock
) -> None:
    from monitor.cli import main

    ghe = "https://ghe.example.com/api/v3"
    gh = FakeGitHub(api=ghe)
    httpx_mock.add_callback(gh, is_reusable=True)
    report = tmp_path / "latest.json"
    report.write_text(json.dumps(night("2026-11-24", [EntryResult(entry("a"), [dead()])])), encoding="utf-8")
    summary = tmp_path / "summary.md"
    for name in ("GITHUB_REPOSITORY", "GITHUB_API_URL", "GITHUB_STEP_SUMMARY", "GITHUB_SERVER_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    argv = ["issues", "--json", str(report), "--report", str(tmp_path / "latest.md")]
    assert main(argv) == 3  # no --repo and not in Actions: a usage error
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    monkeypatch.setenv("GITHUB_API_URL", ghe)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setattr(github, "WRITE_INTERVAL", 0.0)
    assert main(argv) == 0
    assert {r.url.host for r in httpx_mock.get_requests()} == {"ghe.example.com"}
    assert f"- Opened [#1](https://github.com/{REPO}/issues/1): Dead link: A" in summary.read_text()
    # The issue's number is in the report now, for the triage table.
    data = json.loads(report.read_text())
    assert data["issues"] == {"a": 1}
    assert "| #1 |" in (tmp_path / "latest.md").read_text()
