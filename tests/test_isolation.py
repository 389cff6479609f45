"""One page never sinks the night (issue 12, principle 1): whatever one URL or one page does stays in its entry.

An exception nobody foresaw, in fetching or in any rule, becomes a `check-failed` finding on that entry; every
other entry is judged as usual, the reports and the state are written, the exit code follows --fail-on, and the
entry keeps last run's verdicts. Entries the run does not reach keep theirs too, and an offline run concludes
nothing, in the JSON as in the Markdown. Runs here read pages with ``--workers 1`` (a thread of this process) so
that a monkeypatched rule is the one that runs; tests/test_analysis.py covers the worker processes.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import idna
import pytest

from monitor import cli, pipeline, rules
from monitor.catalog import load_catalog
from monitor.cli import ExitCode
from monitor.fetch import Crawler, translate_error
from monitor.models import FetchError, FetchResult
from monitor.report import render_markdown, to_json
from monitor.settings import Settings
from monitor.state import EntryState, State, load_state
from tests.catalogs import write_catalog
from tests.server import TestServer, html, respond

TODAY = date(2026, 11, 25)


# --- the edge: no exception type escapes translate_error ----------------------------------------------------


def _raise(exc: BaseException) -> Callable[..., Any]:
    def boom(*_: object, **__: object) -> Any:
        raise exc

    return boom


UNFORESEEN: list[BaseException] = [
    idna.IDNAError("Invalid A-label"),
    UnicodeError("label empty or too long"),
    OverflowError("getsockaddrarg: port must be 0-65535."),
    RecursionError("maximum recursion depth exceeded"),
    MemoryError(),
    ValueError("bad value"),
    KeyError("missing"),
    AttributeError("'NoneType' object has no attribute 'x'"),
    TypeError("unsupported operand"),
    AssertionError(),
    RuntimeError("boom"),
    httpx.StreamClosed(),
    ExceptionGroup("two", [ValueError("a"), KeyError("b")]),
]


@pytest.mark.parametrize("exc", UNFORESEEN, ids=lambda e: type(e).__name__)
def test_no_exception_escapes_the_edge(exc: Exception) -> None:
    error, detail = translate_error(exc)
    assert isinstance(error, FetchError) and detail


@pytest.mark.parametrize("exc", UNFORESEEN, ids=lambda e: type(e).__name__)
def test_an_exception_anywhere_in_a_fetch_is_that_urls_result(exc: Exception, monkeypatch: pytest.MonkeyPatch) -> None:
    """Raised by the address policy (inside an attempt) and by the retry planner (outside it): both are data."""

    async def go(where: str) -> dict[str, FetchResult]:
        async def resolve(host: str, port: int) -> Sequence[str]:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

        async with Crawler(Settings(max_retries=0), resolver=resolve) as crawler:
            with monkeypatch.context() as patch:
                patch.setattr(f"monitor.fetch.{where}", _raise(exc))
                return await crawler.fetch_all(["http://a.example/", "http://b.example/"])

    for where in ("AddressPolicy.check", "Crawler._plan_retry"):
        results = asyncio.run(go(where))
        assert set(results) == {"http://a.example/", "http://b.example/"}
        for result in results.values():
            assert result.error is not None and result.error_detail, where


# --- fault injection, end to end -------------------------------------------------------------------------


def _site(server: TestServer) -> dict[str, str]:
    return {
        "first": server.route("/first", html("First", "<p>A page about alignment.</p>")),
        "boom": server.route("/boom", html("Boom", "<p>The page the fault hits.</p>")),
        "dead": server.route("/dead", respond(404, "<title>Not Found</title>")),
        "last": server.route("/last", html("Last", "<p>A page about governance.</p>")),
    }


def _check(tmp_path: Path, *flags: str) -> tuple[int, dict[str, Any]]:
    reports = tmp_path / "reports"
    code = cli.main([
        "check", str(tmp_path / "hub.yaml"), "--json", str(reports / "latest.json"), "--report",
        str(reports / "latest.md"), "--state", str(reports / "state.json"), "--allow-host", "127.0.0.1",
        "--host-request-interval", "0", "--retry-wait-time", "1ms", "--workers", "1", "--today", "2026-11-25",
        "--quiet", *flags,
    ])  # fmt: skip
    return code, json.loads((reports / "latest.json").read_text())


def _by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in report["entries"]}


def _unaffected(report: dict[str, Any]) -> None:
    entries = _by_id(report)
    for good in ("first", "last"):
        assert (entries[good]["checked"], entries[good]["http_status"], entries[good]["findings"]) == (True, 200, [])
    assert [f["code"] for f in entries["dead"]["findings"]] == ["dead-link"]


def test_an_exception_while_fetching_one_url_is_a_finding_on_its_entry(
    tmp_path: Path, server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_catalog(tmp_path / "hub.yaml", _site(server))
    assert _check(tmp_path, "--fail-on", "never")[0] == ExitCode.OK  # night 1: boom is fine
    remembered = load_state(tmp_path / "reports" / "state.json").state.entries["boom"]

    real = Crawler._exchange

    async def exchange(self: Crawler, target: httpx.URL, *args: Any) -> Any:
        if target.path == "/boom":
            raise RecursionError("maximum recursion depth exceeded")
        return await real(self, target, *args)

    monkeypatch.setattr(Crawler, "_exchange", exchange)
    code, report = _check(tmp_path, "--fail-on", "never")
    assert code == ExitCode.OK  # --fail-on never
    _unaffected(report)
    boom = _by_id(report)["boom"]
    assert [f["code"] for f in boom["findings"]] == ["check-failed"]
    finding = boom["findings"][0]
    assert "RecursionError" in finding["message"] and "report" in finding["fix"]
    assert (boom["checked"], boom["carried_over"], finding["severity"]) == (False, True, "error")
    # The state keeps boom as night 1 left it; the reports were written.
    assert load_state(tmp_path / "reports" / "state.json").state.entries["boom"] == remembered
    assert "check-failed" in (tmp_path / "reports" / "latest.md").read_text()
    # With the default --fail-on error, a check-failed entry fails the run.
    assert _check(tmp_path)[0] == ExitCode.FINDINGS


def _every_rule() -> list[str]:
    return [f"{rule.__module__}.{rule.__name__}" for rule in rules.all_rules()]


class FakeCrawler:
    """The site of _site without a network: every page answers at once, in catalog order."""

    def __init__(self, settings: Settings, **_: object) -> None:
        self.requests = 0
        self.hosts: tuple[str, ...] = ("site.example",)

    async def __aenter__(self) -> FakeCrawler:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None

    async def fetch_all(self, urls: list[str], on_result: Callable[[str, FetchResult], Awaitable[None] | None]) -> None:
        for url in urls:
            self.requests += 1
            dead = url.endswith("/dead")
            body = b"<title>Not Found</title>" if dead else f"<title>{url}</title><p>Some text.</p>".encode()
            got = FetchResult(url, url, 404 if dead else 200, headers={"content-type": "text/html"}, body=body)
            analysis = on_result(url, got)
            if analysis is not None:
                await analysis


@pytest.mark.parametrize("rule", _every_rule())
def test_an_exception_in_any_rule_stays_in_its_entry(
    rule: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    urls = {name: f"https://site.example/{name}" for name in ("first", "boom", "dead", "last")}
    catalog = load_catalog(write_catalog(tmp_path / "hub.yaml", urls))
    real_rules = rules.all_rules()

    def registry() -> list[rules.Rule]:
        def faulty(real: rules.Rule) -> rules.Rule:
            def run(inp: rules.RuleInput) -> list[Any]:
                if inp.entry.id == "boom" and f"{real.__module__}.{real.__name__}" == rule:
                    raise KeyError("the injected fault")
                return real(inp)

            return run

        return [faulty(r) for r in real_rules]

    monkeypatch.setattr(rules, "all_rules", registry)
    prior = State(entries={"boom": EntryState(url=urls["boom"], consecutive_failures=3, last_checked="2026-11-24",
                                              findings={"dead-link": "2026-11-20"})})  # fmt: skip
    outcome = pipeline.check(catalog, Settings(workers=1, check_hub=False), prior, today=TODAY,
                             crawler_factory=FakeCrawler)  # fmt: skip
    report = to_json(outcome.run)
    entries = _by_id(report)
    for good in ("first", "last"):
        assert (entries[good]["checked"], entries[good]["findings"]) == (True, [])
    assert [f["code"] for f in entries["dead"]["findings"]] == ["dead-link"]
    # boom: the fault, named, and last night's confirmed dead-link, carried over; its memory is untouched.
    boom = entries["boom"]
    assert [f["code"] for f in boom["findings"]] == ["check-failed", "dead-link"]
    assert "KeyError" in boom["findings"][0]["message"]
    assert boom["findings"][1]["confirmed"] and boom["carried_over"]
    assert outcome.state is not None and outcome.state.entries["boom"] == prior.entries["boom"]


def test_an_exception_while_reading_a_page_stays_in_its_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor import extract as reading

    urls = {name: f"https://site.example/{name}" for name in ("first", "boom", "dead", "last")}
    catalog = load_catalog(write_catalog(tmp_path / "hub.yaml", urls))
    real = reading.extract

    def extract(body: bytes, *args: Any) -> Any:
        if b"/boom" in body:
            raise MemoryError()
        return real(body, *args)

    monkeypatch.setattr(reading, "extract", extract)  # the analysis imports it when it reads a page
    outcome = pipeline.check(catalog, Settings(workers=1, check_hub=False), State(), today=TODAY,
                             crawler_factory=FakeCrawler)  # fmt: skip
    entries = _by_id(to_json(outcome.run))
    assert [f["code"] for f in entries["boom"]["findings"]] == ["check-failed"]
    assert "MemoryError" in entries["boom"]["findings"][0]["message"]
    assert [f["code"] for f in entries["dead"]["findings"]] == ["dead-link"]
    assert entries["first"]["findings"] == entries["last"]["findings"] == []


# --- entries the run does not reach (B12), and the offline run (B11) -----------------------------------


class StallingCrawler(FakeCrawler):
    """Answers the first URL, then never another: the run's time budget ends the crawl."""

    async def fetch_all(self, urls: list[str], on_result: Callable[[str, FetchResult], Awaitable[None] | None]) -> None:
        await super().fetch_all(urls[:1], on_result)
        await asyncio.Event().wait()


def test_entries_not_reached_keep_their_verdicts_and_are_never_counted_ok(tmp_path: Path) -> None:
    urls = {name: f"https://site.example/{name}" for name in ("first", "dead", "fine")}
    catalog = load_catalog(write_catalog(tmp_path / "hub.yaml", urls))
    prior = State(entries={
        "dead": EntryState(url=urls["dead"], consecutive_failures=4, last_checked="2026-11-24T02:00:00Z",
                           findings={"dead-link": "2026-11-20"}),
        "fine": EntryState(url=urls["fine"], last_checked="2026-11-24T02:00:00Z"),
    })  # fmt: skip
    settings = Settings(workers=1, check_hub=False, max_runtime=0.2)
    outcome = pipeline.check(catalog, settings, prior, today=TODAY, crawler_factory=StallingCrawler)
    report = to_json(outcome.run)
    entries = _by_id(report)
    assert entries["first"]["checked"] and not entries["first"]["carried_over"]
    dead = entries["dead"]
    assert (dead["checked"], dead["carried_over"], dead["severity"]) == (False, True, "error")
    assert [(f["code"], f["confirmed"], f["first_seen"]) for f in dead["findings"]] == [
        ("dead-link", True, "2026-11-20")
    ]
    assert "time budget" in dead["not_checked_reason"]
    assert (entries["fine"]["checked"], entries["fine"]["findings"]) == (False, [])
    # Only the entry that was checked counts as ok; the unreached failure counts as an error and fails the run.
    summary = report["summary"]
    assert (summary["ok"], summary["error"], summary["checked"], summary["not_checked"]) == (1, 1, 1, 2)
    assert cli._exit_code(outcome.run, "error") == ExitCode.FINDINGS
    assert outcome.state is not None
    assert outcome.state.entries["dead"] == prior.entries["dead"]
    assert outcome.state.entries["fine"] == prior.entries["fine"]
    assert "dead-link" in render_markdown(report).split("## Needs attention", 1)[1]


def test_an_offline_run_concludes_nothing_in_the_json_either(tmp_path: Path) -> None:
    urls = {f"e{n}": f"https://host{n}.example/" for n in range(4)}
    catalog = load_catalog(write_catalog(tmp_path / "hub.yaml", urls))
    prior = State(
        entries={"e0": EntryState(url=urls["e0"], consecutive_failures=5, findings={"dead-link": "2026-11-01"})}
    )

    async def offline(host: str, port: int) -> Sequence[str]:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    def crawler(settings: Settings, **kwargs: Any) -> Crawler:
        return Crawler(settings, resolver=offline, **kwargs)

    settings = Settings(workers=1, check_hub=False, max_retries=0)
    outcome = pipeline.check(catalog, settings, prior, today=TODAY, crawler_factory=crawler)
    report = to_json(outcome.run)
    assert report["network"] == "unavailable" and outcome.state is None
    assert all(not e["checked"] and e["findings"] == [] for e in report["entries"])
    summary = report["summary"]
    assert (summary["ok"], summary["info"], summary["warning"], summary["error"]) == (0, 0, 0, 0)
    assert summary["not_checked"] == 4
    assert '"confirmed": true' not in json.dumps(report)
    assert cli._exit_code(outcome.run, "error") == ExitCode.NETWORK_UNAVAILABLE
