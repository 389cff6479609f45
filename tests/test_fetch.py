"""The crawler's decisions, on pytest-httpx's mock transport: no socket is opened here."""

from __future__ import annotations

import asyncio
import gzip
import inspect
import socket
import ssl
import zlib
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import brotli
import httpx
import pytest
import zstandard
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pytest_httpx import HTTPXMock

from monitor import fetch as fetch_module
from monitor.fetch import (
    Crawler,
    find_meta_refresh,
    network_state,
    parse_retry_after,
    read_capped,
    translate_error,
    worth_second_pass,
)
from monitor.models import FetchError, FetchResult, Network
from monitor.settings import HostSettings, Settings

T = TypeVar("T")

PRIVATE_NAMES = {"intranet.example": "10.0.0.8", "metadata.example": "169.254.169.254"}


async def fake_resolver(host: str, port: int) -> Sequence[str]:
    if host.endswith(".invalid"):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return [PRIVATE_NAMES.get(host, "93.184.216.34")]


class FakeTime:
    """A clock that only moves when the crawler sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds
        await asyncio.sleep(0)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def crawl(urls: str | list[str], settings: Settings | None = None, **kwargs: Any) -> Any:
    """Fetch one URL (-> FetchResult) or several with fetch_all (-> dict), with fake time and DNS."""
    settings = settings or Settings(host_request_interval=0)
    kwargs.setdefault("resolver", fake_resolver)
    kwargs.setdefault("random", lambda: 0.5)

    async def go() -> Any:
        async with Crawler(settings, **kwargs) as crawler:
            if isinstance(urls, str):
                return await crawler.fetch(urls)
            return await crawler.fetch_all(urls)

    return run(go())


def timed(settings: Settings | None = None) -> tuple[FakeTime, dict[str, Any]]:
    fake = FakeTime()
    return fake, {"clock": fake.clock, "sleep": fake.sleep}


# --- retries --------------------------------------------------------------------------------------------


def test_transient_5xx_is_retried_with_doubling_backoff(httpx_mock: HTTPXMock) -> None:
    url = "https://site.example/page"
    httpx_mock.add_response(url=url, status_code=503)
    httpx_mock.add_response(url=url, status_code=502)
    httpx_mock.add_response(url=url, status_code=200, html="<title>ok</title>")
    fake, clock = timed()
    result = crawl(url, **clock)
    assert result.status == 200 and result.ok
    assert result.attempts == 3
    assert fake.sleeps == [1.0, 2.0]  # retry_wait_time 1 s, doubled; jitter factor 0.5 + 0.5


def test_jitter_spreads_the_backoff(httpx_mock: HTTPXMock) -> None:
    url = "https://site.example/page"
    httpx_mock.add_response(url=url, status_code=500)
    httpx_mock.add_response(url=url, status_code=200)
    fake, clock = timed()
    crawl(url, random=lambda: 0.0, **clock)
    assert fake.sleeps == [0.5]


@pytest.mark.parametrize("status", [404, 410, 400, 403])
def test_permanent_client_errors_are_never_retried(httpx_mock: HTTPXMock, status: int) -> None:
    url = "https://site.example/gone"
    httpx_mock.add_response(url=url, status_code=status)
    fake, clock = timed()
    result = crawl(url, **clock)
    assert (result.status, result.attempts, result.error) == (status, 1, None)
    assert fake.sleeps == []
    assert len(httpx_mock.get_requests()) == 1


def test_persistent_5xx_stops_after_max_retries(httpx_mock: HTTPXMock) -> None:
    url = "https://site.example/broken"
    httpx_mock.add_response(url=url, status_code=500, is_reusable=True)
    _, clock = timed()
    result = crawl(url, Settings(max_retries=2, host_request_interval=0), **clock)
    assert (result.status, result.attempts, result.error) == (500, 3, None)


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"Server": "cloudflare"}, "<title>Just a moment...</title><form id=challenge-form><input name=jschl_vc>"),
        ({"Server": "cloudflare", "cf-mitigated": "challenge"}, "<title>Just a moment...</title>"),
        ({"Server": "cloudflare"}, "<title>Please Wait... | Cloudflare</title><script>window._cf_chl_opt={}</script>"),
    ],
)
def test_a_challenge_is_not_retried_nor_given_a_second_pass(
    httpx_mock: HTTPXMock, headers: dict[str, str], body: str
) -> None:
    url = "https://site.example/walled"
    httpx_mock.add_response(url=url, status_code=503, headers=headers, html=body, is_reusable=True)
    fake, clock = timed()

    async def go() -> dict[str, FetchResult]:
        async with Crawler(Settings(host_request_interval=0), resolver=fake_resolver, **clock) as crawler:
            return await crawler.fetch_all([url])

    result = run(go())[url]
    assert (result.status, result.attempts) == (503, 1) and result.challenge
    assert len(httpx_mock.get_requests()) == 1 and fake.sleeps == []


def test_a_plain_503_through_cloudflare_is_still_retried(httpx_mock: HTTPXMock) -> None:
    url = "https://site.example/down"
    httpx_mock.add_response(url=url, status_code=503, headers={"Server": "cloudflare"}, html="<h1>Down</h1>")
    httpx_mock.add_response(url=url, status_code=200, html="<title>ok</title>")
    _, clock = timed()
    result = crawl(url, **clock)
    assert (result.status, result.attempts, result.challenge) == (200, 2, None)


def test_connection_errors_are_retried(httpx_mock: HTTPXMock) -> None:
    url = "https://site.example/flaky"
    httpx_mock.add_exception(httpx.ConnectError("[Errno 111] Connection refused"), url=url)
    httpx_mock.add_exception(httpx.ReadError("Connection reset by peer"), url=url)
    httpx_mock.add_response(url=url, status_code=200)
    _, clock = timed()
    result = crawl(url, **clock)
    assert (result.status, result.attempts) == (200, 3)


def test_dns_failure_is_not_retried_within_a_pass(httpx_mock: HTTPXMock) -> None:
    fake, clock = timed()
    result = crawl("https://lapsed.invalid/", **clock)
    assert result.error is FetchError.DNS
    assert "lapsed.invalid does not resolve" in result.error_detail
    assert result.attempts == 1 and fake.sleeps == []


# --- Retry-After ----------------------------------------------------------------------------------------


def test_retry_after_seconds_is_honoured_then_the_host_is_slowed(httpx_mock: HTTPXMock) -> None:
    url = "https://busy.example/a"
    httpx_mock.add_response(url=url, status_code=429, headers={"Retry-After": "7"})
    httpx_mock.add_response(url=url, status_code=200)
    fake, clock = timed()
    result = crawl(url, **clock)
    assert (result.status, result.attempts) == (200, 2)
    assert fake.sleeps == [7.0]


def test_a_rare_429_with_retry_after_leaves_the_hosts_concurrency_alone(httpx_mock: HTTPXMock) -> None:
    # One 429 among many answers is about its own URL: that URL waits, the host keeps its 8 slots.
    in_flight, peak = [0], [0]
    answers = {"https://busy.example/limited": [429, 200]}

    async def answer(request: httpx.Request) -> httpx.Response:
        in_flight[0] += 1
        peak[0] = max(peak[0], in_flight[0])
        await asyncio.sleep(0.005)  # real time, so that requests overlap
        in_flight[0] -= 1
        queue = answers.get(str(request.url))
        status = queue.pop(0) if queue else 200
        return httpx.Response(status, headers={"Retry-After": "5"} if status == 429 else {})

    httpx_mock.add_callback(answer, is_reusable=True)
    fake, clock = timed()

    async def go() -> int:
        async with Crawler(Settings(host_request_interval=0, host_concurrency=8), resolver=fake_resolver,
                           **clock) as crawler:
            assert (await crawler.fetch("https://busy.example/limited")).status == 200
            peak[0] = 0
            await crawler.fetch_all([f"https://busy.example/p{i}" for i in range(16)])
            return peak[0]

    assert run(go()) == 8
    assert fake.sleeps == [5.0]  # the URL's own wait, nothing for the host


def test_each_429_without_retry_after_halves_the_hosts_concurrency_and_calm_answers_win_it_back(
    httpx_mock: HTTPXMock,
) -> None:
    busy, calm = "https://busy.example", "https://calm.example"
    in_flight: dict[str, int] = {busy: 0, calm: 0}
    peak: dict[str, int] = {busy: 0, calm: 0}
    answers = {f"{busy}/first": [429, 200], f"{busy}/second": [429, 200]}

    async def answer(request: httpx.Request) -> httpx.Response:
        origin = f"{request.url.scheme}://{request.url.host}"
        in_flight[origin] += 1
        peak[origin] = max(peak[origin], in_flight[origin])
        await asyncio.sleep(0.005)  # real time, so that requests overlap
        in_flight[origin] -= 1
        queue = answers.get(str(request.url))
        status = queue.pop(0) if queue else 200
        return httpx.Response(status)  # a 429 without Retry-After speaks for the whole host

    httpx_mock.add_callback(answer, is_reusable=True)
    fake, clock = timed()
    settings = Settings(host_request_interval=0, host_concurrency=8)

    async def burst(crawler: Crawler, origin: str, tag: str, size: int) -> int:
        peak[origin] = 0
        await crawler.fetch_all([f"{origin}/{tag}{i}" for i in range(size)])
        return peak[origin]

    async def go() -> list[int]:
        async with Crawler(settings, resolver=fake_resolver, random=lambda: 0.5, **clock) as crawler:
            seen = [await burst(crawler, busy, "a", 16)]
            await crawler.fetch(f"{busy}/first")  # one 429: 8 -> 4
            # 1 + 6 calm answers: fewer than two rounds of 4, so no step back up yet.
            seen += [await burst(crawler, busy, "b", 6), await burst(crawler, calm, "c", 16)]
            await crawler.fetch(f"{busy}/second")  # another: 4 -> 2
            seen += [await burst(crawler, busy, "d", 3)]
            # Calm answers win one request back per two rounds (2 -> 3 after 4, ... 7 -> 8 after 14).
            seen += [await burst(crawler, busy, "e", 80)]
            return seen

    assert run(go()) == [8, 4, 8, 2, 8]  # halved at each 429; the other host untouched; won back when calm
    assert fake.sleeps == [1.0, 1.0]  # each wait is the first backoff, nothing compounds


def test_a_long_list_waits_in_per_host_queues_not_as_one_task_per_url(httpx_mock: HTTPXMock) -> None:
    # 2,000 URLs on two hosts: the crawl may run only 2 x 4 requests at a time, so it should not hold
    # 2,000 waiting tasks (a few KB each) from its start; and both hosts are served from the start.
    tasks_seen: list[int] = []
    hosts_started: list[str] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        tasks_seen.append(len(asyncio.all_tasks()))
        hosts_started.append(request.url.host)
        await asyncio.sleep(0)
        return httpx.Response(200)

    httpx_mock.add_callback(answer, is_reusable=True)
    urls = [f"https://{host}.example/{i}" for i in range(1000) for host in ("one", "two")]
    results = crawl(urls, Settings(host_concurrency=4, host_request_interval=0))
    assert len(results) == 2000 and all(r.ok for r in results.values())
    assert max(tasks_seen) <= 2 * 4 * 4 + 1  # four workers per slot, and the main task
    assert set(hosts_started[:8]) == {"one.example", "two.example"}


def test_the_shared_slots_go_round_the_hosts_not_host_after_host(httpx_mock: HTTPXMock) -> None:
    # Four hosts that may each take 8 requests, 8 at a time in all: the run's first requests go to every
    # host, rather than all 8 to the first host (and its connections left idle while the others are served).
    order: list[str] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        order.append(request.url.host)
        await asyncio.sleep(0.002)  # real time, so that requests overlap
        return httpx.Response(200)

    httpx_mock.add_callback(answer, is_reusable=True)
    hosts = ["one", "two", "three", "four"]
    urls = [f"https://{host}.example/{i}" for host in hosts for i in range(40)]
    results = crawl(urls, Settings(host_concurrency=8, max_concurrency=8, host_request_interval=0))
    assert all(r.ok for r in results.values())
    assert set(order[:8]) == {f"{host}.example" for host in hosts}
    assert max(order[:16].count(f"{host}.example") for host in hosts) <= 6


def test_chains_that_leave_their_host_do_not_hold_its_slots(httpx_mock: HTTPXMock) -> None:
    # Catalog links through a resolver (doi.org): its slot is needed only for the redirect, so while the
    # publishers answer, the resolver's slots serve the next links.
    in_flight = {"resolver": 0, "publisher": 0}
    peak = dict(in_flight)

    async def answer(request: httpx.Request) -> httpx.Response:
        side = "resolver" if request.url.host == "doi.example" else "publisher"
        in_flight[side] += 1
        peak[side] = max(peak[side], in_flight[side])
        await asyncio.sleep(0 if side == "resolver" else 0.005)  # real time, so that publishers overlap
        in_flight[side] -= 1
        if side == "resolver":
            return httpx.Response(302, headers={"Location": f"https://pub{request.url.path[1:]}.example/paper"})
        return httpx.Response(200)

    httpx_mock.add_callback(answer, is_reusable=True)
    links = [f"https://doi.example/{i}" for i in range(24)]
    results = crawl(links, Settings(host_concurrency=2, host_request_interval=0))
    assert all(r.ok and r.final_url.endswith("/paper") for r in results.values())
    assert peak["resolver"] <= 2  # the resolver's own limit holds
    assert peak["publisher"] >= 4  # but its two slots were not held while the publishers answered


def test_retry_after_beyond_the_cap_gives_rate_limited_without_waiting(httpx_mock: HTTPXMock) -> None:
    url, other = "https://busy.example/a", "https://busy.example/b"
    httpx_mock.add_response(url=url, status_code=429, headers={"Retry-After": "3600"})
    fake, clock = timed()

    async def go() -> tuple[FetchResult, FetchResult]:
        async with Crawler(Settings(host_request_interval=0), resolver=fake_resolver, **clock) as crawler:
            return await crawler.fetch(url), await crawler.fetch(other)

    first, second = run(go())
    assert (first.status, first.error) == (429, FetchError.RATE_LIMITED)
    assert "3600 s" in first.error_detail and "60 s cap" in first.error_detail
    # The host asked for an hour: its other URLs are not requested at all.
    assert second.error is FetchError.RATE_LIMITED and second.status is None
    assert fake.sleeps == []
    assert len(httpx_mock.get_requests()) == 1


def test_still_429_after_retries_is_rate_limited(httpx_mock: HTTPXMock) -> None:
    url = "https://busy.example/a"
    httpx_mock.add_response(url=url, status_code=429, is_reusable=True)
    _, clock = timed()
    result = crawl(url, Settings(max_retries=1, host_request_interval=0), **clock)
    assert (result.status, result.error, result.attempts) == (429, FetchError.RATE_LIMITED, 2)


def test_503_with_retry_after_date(httpx_mock: HTTPXMock) -> None:
    url = "https://busy.example/a"
    httpx_mock.add_response(url=url, status_code=503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    httpx_mock.add_response(url=url, status_code=200)
    fake, clock = timed()
    assert crawl(url, **clock).status == 200
    assert fake.sleeps == []  # a date in the past: no wait


def test_parse_retry_after() -> None:
    now = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after(" 1.5 ", now) == 1.5
    assert parse_retry_after("Wed, 25 Nov 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Wed, 25 Nov 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("-5", now) is None


def test_host_interval_spaces_requests_to_one_host(httpx_mock: HTTPXMock) -> None:
    for path in ("a", "b", "c"):
        httpx_mock.add_response(url=f"https://one.example/{path}")
    fake, clock = timed()
    settings = Settings(host_request_interval=0.5, host_concurrency=1)
    crawl([f"https://one.example/{p}" for p in "abc"], settings, **clock)
    assert fake.sleeps == [0.5, 0.5]  # each request waits for the interval after the one before


def test_per_host_override_sets_the_interval(httpx_mock: HTTPXMock) -> None:
    for path in ("a", "b"):
        httpx_mock.add_response(url=f"https://github.com/{path}")
    fake, clock = timed()
    settings = Settings(host_request_interval=0, hosts={"github.com": HostSettings(request_interval=2.0)})
    crawl(["https://github.com/a", "https://github.com/b"], settings, **clock)
    assert fake.sleeps == [2.0]


# --- second pass ----------------------------------------------------------------------------------------


def test_second_pass_retries_failures_once_and_reports_each_url_once(httpx_mock: HTTPXMock) -> None:
    good, flaky = "https://a.example/", "https://b.example/"
    httpx_mock.add_response(url=good)
    httpx_mock.add_response(url=flaky, status_code=404)
    httpx_mock.add_response(url=flaky, status_code=200)
    seen: list[tuple[str, int | None]] = []
    _, clock = timed()

    async def go() -> dict[str, FetchResult]:
        async with Crawler(Settings(host_request_interval=0), resolver=fake_resolver, **clock) as crawler:
            return await crawler.fetch_all([good, flaky, good], lambda u, r: seen.append((u, r.status)))

    results = run(go())
    assert list(results) == [good, flaky]
    assert results[flaky].status == 200 and results[flaky].attempts == 2
    assert sorted(seen) == [(good, 200), (flaky, 200)]


def test_a_failure_is_tried_again_after_its_hosts_other_urls_and_no_sooner_than_the_gap(
    httpx_mock: HTTPXMock,
) -> None:
    # One request at a time to the host: its first tries go in catalog order, then the failure's second try,
    # which waits out what is left of retry_wait_time since its first try ended (the others took no time).
    order: list[str] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        order.append(request.url.path)
        return httpx.Response(404 if request.url.path == "/gone" else 200)

    httpx_mock.add_callback(answer, is_reusable=True)
    fake, clock = timed()
    urls = [f"https://one.example/{path}" for path in ("gone", "a", "b")]
    settings = Settings(host_request_interval=0, host_concurrency=1, retry_wait_time=3.0)
    results = crawl(urls, settings, **clock)
    assert order == ["/gone", "/a", "/b", "/gone"]  # tried once more, after the host's first pass
    assert fake.sleeps == [3.0]  # the gap between its two tries, waited in full
    assert (results[urls[0]].status, results[urls[0]].attempts) == (404, 2)


@pytest.mark.parametrize(
    ("result", "again"),
    [
        (FetchResult("u", "u", error=FetchError.CONNECT), True),
        (FetchResult("u", "u", error=FetchError.DNS), True),
        (FetchResult("u", "u", status=503), True),
        (FetchResult("u", "u", status=404), True),
        (FetchResult("u", "u", status=200), False),
        (FetchResult("u", "u", status=403), False),
        (FetchResult("u", "u", error=FetchError.BLOCKED_ADDRESS), False),
        (FetchResult("u", "u", status=429, error=FetchError.RATE_LIMITED), False),
        (FetchResult("u", "u", status=503, accepted=True), False),
        (FetchResult("u", "u", status=503, challenge="Cloudflare challenge (_cf_chl_opt)"), False),
    ],
)
def test_which_results_get_a_second_pass(result: FetchResult, again: bool) -> None:
    assert worth_second_pass(result) is again


# --- conditional requests -------------------------------------------------------------------------------


def test_conditional_request_and_304(httpx_mock: HTTPXMock) -> None:
    url = "https://docs.example/guide"
    httpx_mock.add_response(url=url, status_code=304, headers={"ETag": '"v2"'})
    validators = {url: ('"v1"', "Tue, 01 Sep 2026 10:00:00 GMT")}
    result = crawl(url, validators=validators)
    request = httpx_mock.get_requests()[0]
    assert request.headers["if-none-match"] == '"v1"'
    assert request.headers["if-modified-since"] == "Tue, 01 Sep 2026 10:00:00 GMT"
    assert (result.status, result.not_modified, result.body) == (304, True, None)
    assert result.headers["etag"] == '"v2"'


def test_no_validators_no_conditional_headers(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="https://docs.example/", headers={"ETag": '"v1"', "Set-Cookie": "a=b"})
    result = crawl("https://docs.example/")
    request = httpx_mock.get_requests()[0]
    assert "if-none-match" not in request.headers and "if-modified-since" not in request.headers
    assert result.headers["etag"] == '"v1"'
    assert "set-cookie" not in result.headers  # only the headers the rules read are kept


# --- redirects ------------------------------------------------------------------------------------------


def test_redirect_chain_is_recorded_hop_by_hop(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="http://old.example/doc", status_code=301, headers={"Location": "https://old.example/doc"})
    httpx_mock.add_response(url="https://old.example/doc", status_code=302, headers={"Location": "/v2/doc"})
    httpx_mock.add_response(url="https://old.example/v2/doc", status_code=200, html="<p>hi</p>")
    result = crawl("http://old.example/doc")
    assert [(h.url, h.status, h.location) for h in result.hops] == [
        ("http://old.example/doc", 301, "https://old.example/doc"),
        ("https://old.example/doc", 302, "https://old.example/v2/doc"),
    ]
    assert (result.final_url, result.status) == ("https://old.example/v2/doc", 200)


def test_fragment_is_inherited_across_a_redirect(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="https://a.example/x", status_code=308, headers={"Location": "https://b.example/y"})
    httpx_mock.add_response(url="https://b.example/y")
    result = crawl("https://a.example/x#install")
    assert result.final_url == "https://b.example/y#install"


def test_redirect_loop(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="https://a.example/1", status_code=302, headers={"Location": "/2"})
    httpx_mock.add_response(url="https://a.example/2", status_code=302, headers={"Location": "/1"})
    result = crawl("https://a.example/1")
    assert result.error is FetchError.REDIRECT_LOOP
    assert "returns to https://a.example/1" in result.error_detail
    assert len(httpx_mock.get_requests()) == 2


def test_a_cookie_set_along_the_way_is_not_a_loop_and_is_not_kept(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="https://a.example/", status_code=302, headers={"Location": "/consent"})
    httpx_mock.add_response(
        url="https://a.example/consent", status_code=302, headers={"Location": "/", "Set-Cookie": "ok=1; Path=/"}
    )
    httpx_mock.add_response(url="https://a.example/", status_code=200)
    httpx_mock.add_response(url="https://b.example/", status_code=200)

    async def go() -> FetchResult:
        async with Crawler(Settings(host_request_interval=0), resolver=fake_resolver) as crawler:
            result = await crawler.fetch("https://a.example/")
            await crawler.fetch("https://b.example/")
            return result

    result = run(go())
    assert result.status == 200 and len(result.hops) == 2
    requests = httpx_mock.get_requests()
    assert requests[2].headers["cookie"] == "ok=1"
    assert "cookie" not in requests[3].headers


def test_too_many_redirects(httpx_mock: HTTPXMock) -> None:
    for n in range(5):
        httpx_mock.add_response(
            url=f"https://a.example/{n}", status_code=301, headers={"Location": f"/{n + 1}"}, is_optional=n == 4
        )
    result = crawl("https://a.example/0", Settings(max_redirects=3, host_request_interval=0))
    assert result.error is FetchError.TOO_MANY_REDIRECTS
    assert len(result.hops) == 4 and len(httpx_mock.get_requests()) == 4


@pytest.mark.parametrize(
    "location", ["ftp://files.example/paper.pdf", "file:///etc/passwd", "javascript:alert(1)", "data:text/html,hi"]
)
def test_only_http_and_https_are_followed(httpx_mock: HTTPXMock, location: str) -> None:
    httpx_mock.add_response(url="https://a.example/", status_code=302, headers={"Location": location})
    result = crawl("https://a.example/")
    assert result.error is FetchError.UNSUPPORTED_SCHEME
    assert "only http and https are followed" in result.error_detail
    assert len(httpx_mock.get_requests()) == 1


@pytest.mark.parametrize(
    "location",
    ["http://169.254.169.254/latest/meta-data/", "http://[::1]:8080/", "http://127.0.0.1/", "https://intranet.example/",
     "http://metadata.example/"],
)
def test_redirect_to_a_private_address_is_blocked_before_any_request(httpx_mock: HTTPXMock, location: str) -> None:
    httpx_mock.add_response(url="https://a.example/", status_code=302, headers={"Location": location})
    result = crawl("https://a.example/")
    assert result.error is FetchError.BLOCKED_ADDRESS
    assert [str(r.url) for r in httpx_mock.get_requests()] == ["https://a.example/"]
    assert result.hops[0].location is not None


def test_meta_refresh_is_a_hop(httpx_mock: HTTPXMock) -> None:
    page = '<html><head><meta http-equiv="Refresh" content="0; URL=\'/new\'"></head></html>'
    httpx_mock.add_response(url="https://a.example/old", html=page)
    httpx_mock.add_response(url="https://a.example/new", html="<title>new</title>")
    result = crawl("https://a.example/old")
    assert [(h.status, h.via, h.location) for h in result.hops] == [(200, "meta-refresh", "https://a.example/new")]
    assert result.final_url == "https://a.example/new"


@pytest.mark.parametrize(
    ("html", "target"),
    [
        ('<meta http-equiv="refresh" content="0;url=https://x.example/">', "https://x.example/"),
        ("<META HTTP-EQUIV=refresh CONTENT='5; URL=/later'>", "/later"),
        ('<meta content="0; url=/a?b=1&amp;c=2" http-equiv="refresh">', "/a?b=1&c=2"),
        ('<meta http-equiv="refresh" content="3, /comma">', "/comma"),
        ('<meta http-equiv="refresh" content="600">', None),
        ('<noscript><meta http-equiv="refresh" content="0; url=/nojs"></noscript>', None),
        ('<!-- <meta http-equiv="refresh" content="0; url=/old"> -->', None),
        ('<meta name="description" content="0; url=/nope">', None),
    ],
)
def test_find_meta_refresh(html: str, target: str | None) -> None:
    assert find_meta_refresh(f"<html><head>{html}</head><body>x</body></html>".encode()) == target


# --- headers, hosts, exclusions -------------------------------------------------------------------------


def test_per_host_headers_never_cross_a_redirect_and_secrets_never_leave(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="https://a.example/", status_code=301, headers={"Location": "https://b.example/"})
    httpx_mock.add_response(url="https://b.example/")
    settings = Settings(
        host_request_interval=0,
        user_agent="hub-monitor/test (+https://example.org)",
        headers={"Accept-Language": "en", "Authorization": "Bearer global-secret"},
        secret_headers=frozenset({"authorization"}),
        hosts={"a.example": HostSettings(headers={"X-Api-Key": "only-for-a", "user-agent": "per-host agent"})},
    )
    crawl("https://a.example/", settings)
    to_a, to_b = httpx_mock.get_requests()
    assert to_a.headers.get_list("user-agent") == ["per-host agent"]
    assert to_b.headers["user-agent"] == "hub-monitor/test (+https://example.org)"
    assert to_a.headers["x-api-key"] == "only-for-a" and to_a.headers["accept-language"] == "en"
    assert "x-api-key" not in to_b.headers and to_b.headers["accept-language"] == "en"
    assert "authorization" not in to_a.headers and "authorization" not in to_b.headers


def test_excluded_urls_are_not_fetched(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="https://keep.example/")
    settings = Settings(host_request_interval=0, exclude=(r"linkedin\.com",))
    results = crawl(["https://www.linkedin.com/in/someone", "https://keep.example/"], settings)
    skipped = results["https://www.linkedin.com/in/someone"]
    assert (skipped.error, skipped.attempts) == (FetchError.NOT_CHECKED, 0)
    assert "linkedin" in skipped.error_detail
    assert results["https://keep.example/"].ok


def test_include_wins_over_exclude(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="https://docs.example/keep")
    both = Settings(host_request_interval=0, exclude=(r"docs\.example",), include=(r"/keep$",))
    assert crawl("https://docs.example/keep", both).ok
    assert crawl("https://docs.example/other", both).error is FetchError.NOT_CHECKED


def test_accepted_status_is_success_and_not_retried(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="https://a.example/", status_code=503)
    result = crawl("https://a.example/", Settings(host_request_interval=0, accept=frozenset({503})))
    assert result.accepted and result.ok and result.attempts == 1


def test_non_text_bodies_are_not_read(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="https://a.example/paper.pdf", content=b"%PDF-1.7" * 1000,
                            headers={"Content-Type": "application/pdf"})
    result = crawl("https://a.example/paper.pdf")
    assert result.ok and result.body is None and result.headers["content-type"] == "application/pdf"


def test_counters(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="https://a.example/", status_code=301, headers={"Location": "https://B.example/"})
    httpx_mock.add_response(url="https://b.example/")

    async def go() -> tuple[int, tuple[str, ...]]:
        async with Crawler(Settings(host_request_interval=0), resolver=fake_resolver) as crawler:
            await crawler.fetch("https://a.example/")
            return crawler.requests, crawler.hosts

    assert run(go()) == (2, ("a.example", "b.example"))


# --- bodies ---------------------------------------------------------------------------------------------


def _chunks(data: bytes, size: int = 1000) -> Any:
    async def gen() -> Any:
        for i in range(0, len(data), size):
            yield data[i : i + size]

    return gen()


PAGE = b"<html><title>t</title>" + b"x" * 100_000 + b"</html>"


@pytest.mark.parametrize(
    ("encoding", "encoded"),
    [
        ("gzip", gzip.compress(PAGE)),
        ("deflate", zlib.compress(PAGE)),
        ("deflate", zlib.compress(PAGE, wbits=-zlib.MAX_WBITS)),
        ("br", brotli.compress(PAGE)),
        ("zstd", zstandard.ZstdCompressor().compress(PAGE)),
        ("gzip, br", brotli.compress(gzip.compress(PAGE))),
        ("identity", PAGE),
    ],
)
def test_bodies_are_decompressed(encoding: str, encoded: bytes) -> None:
    assert run(read_capped(_chunks(encoded), encoding, 1_000_000)) == (PAGE, False)


@pytest.mark.parametrize("encoding", ["gzip", "br", "zstd"])
def test_a_bomb_stops_at_the_cap(encoding: str) -> None:
    huge = b"\0" * 50_000_000
    encoded = {
        "gzip": lambda: gzip.compress(huge),
        "br": lambda: brotli.compress(huge),
        "zstd": lambda: zstandard.ZstdCompressor().compress(huge),
    }[encoding]()
    body, truncated = run(read_capped(_chunks(encoded, 65536), encoding, 100_000))
    assert len(body) == 100_000 and truncated


def test_body_cap_applies_to_the_fetch(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="https://a.example/", content=gzip.compress(b"a" * 10_000),
                            headers={"Content-Encoding": "gzip", "Content-Type": "text/html"})
    result = crawl("https://a.example/", Settings(max_body=4096, host_request_interval=0))
    assert len(result.body) == 4096 and result.truncated


# --- exception translation ------------------------------------------------------------------------------


def _httpx_exception_classes() -> list[type[BaseException]]:
    return [
        obj for name in httpx.__all__
        if inspect.isclass(obj := getattr(httpx, name)) and issubclass(obj, BaseException)
    ]


def test_every_httpx_exception_class_has_a_decision() -> None:
    missing = [cls.__name__ for cls in _httpx_exception_classes() if cls not in fetch_module._HTTPX_ERRORS]
    assert missing == []


@pytest.mark.parametrize("cls", _httpx_exception_classes(), ids=lambda c: c.__name__)
def test_every_httpx_exception_translates(cls: type[Exception]) -> None:
    exc = cls.__new__(cls)
    Exception.__init__(exc, "boom")
    decision = fetch_module._HTTPX_ERRORS[cls]
    if decision is FetchError.CHECK_FAILED:
        # A bug in the monitor, never a link verdict: it names the exception for the user to report.
        assert translate_error(exc) == (decision, f"{cls.__name__}: boom")
    else:
        assert translate_error(exc) == (decision, "boom")


def _with_cause(exc: Exception, cause: BaseException) -> Exception:
    exc.__cause__ = cause
    return exc


def _cert_error(code: int, message: str) -> ssl.SSLCertVerificationError:
    err = ssl.SSLCertVerificationError(1, f"[SSL: CERTIFICATE_VERIFY_FAILED] {message}")
    err.verify_code = code
    err.verify_message = message
    return err


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (_with_cause(httpx.ConnectError("x"), _cert_error(10, "certificate has expired")),
         (FetchError.TLS, "TLS certificate rejected: certificate has expired")),
        (_with_cause(httpx.ConnectError("x"), _cert_error(18, "self-signed certificate")),
         (FetchError.TLS, "TLS certificate rejected: self-signed certificate")),
        (_with_cause(httpx.ConnectError("x"), _cert_error(62, "Hostname mismatch")),
         (FetchError.TLS, "TLS certificate rejected: certificate is for another host name (hostname mismatch)")),
        (_with_cause(httpx.ConnectError("x"), socket.gaierror(-2, "Name or service not known")),
         (FetchError.DNS, "Name or service not known")),
        (_with_cause(httpx.ConnectError("x"), ConnectionRefusedError(111, "Connection refused")),
         (FetchError.CONNECT, "connection refused")),
        (_with_cause(httpx.ReadError("x"), ConnectionResetError(104, "reset")),
         (FetchError.CONNECT, "connection reset by the server")),
        (httpx.ConnectTimeout("timed out"), (FetchError.CONNECT, "timed out")),
        (fetch_module.DeadlineExceeded(2.5), (FetchError.TIMEOUT, "no complete answer within 2.5 s")),
        (zlib.error("invalid block type"),
         (FetchError.PROTOCOL, "the body could not be decompressed: invalid block type")),
        (OSError(101, "Network is unreachable"), (FetchError.CONNECT, "Network is unreachable")),
    ],
)
def test_translate_error_names_the_cause(exc: Exception, expected: tuple[FetchError, str]) -> None:
    assert translate_error(exc) == expected


def test_unknown_exceptions_are_not_link_failures() -> None:
    assert translate_error(KeyError("bug")) == (FetchError.CHECK_FAILED, "KeyError: 'bug'")


# --- network state --------------------------------------------------------------------------------------


def _failed(host: str, error: FetchError = FetchError.DNS) -> FetchResult:
    return FetchResult(f"https://{host}/", f"https://{host}/", error=error)


def _answered(host: str, status: int = 200) -> FetchResult:
    return FetchResult(f"https://{host}/", f"https://{host}/", status=status)


@pytest.mark.parametrize(
    ("results", "state"),
    [
        ([_failed(f"h{i}.example") for i in range(5)], Network.UNAVAILABLE),
        ([_failed(f"h{i}.example", FetchError.CONNECT) for i in range(3)], Network.UNAVAILABLE),
        ([*(_failed(f"h{i}.example") for i in range(19)), _answered("up.example")], Network.UNAVAILABLE),
        ([*(_failed(f"h{i}.example") for i in range(4)), _answered("up.example", 404)], Network.OK),
        ([_failed("only.example"), _failed("only.example")], Network.OK),  # one host: that site's problem
        ([_failed("a.example"), _failed("b.example")], Network.OK),
        ([*(_failed(f"h{i}.example") for i in range(4)), _failed("tls.example", FetchError.TLS)], Network.OK),
        ([_failed(f"h{i}.example", FetchError.NOT_CHECKED) for i in range(5)], Network.OK),
        ([], Network.OK),
    ],
)
def test_network_state(results: list[FetchResult], state: Network) -> None:
    assert network_state(results) is state
    assert network_state({str(i): r for i, r in enumerate(results)}) is state


# --- a URL's host, read without parsing the URL ------------------------------------------------------------

_URL_PARTS = st.sampled_from(
    ["http", "https", "HTTPS", "ftp", "://", "//", ":", "@", "a", "B", "xn--", "xn--bcher-kva", ".", "-", "_", "0",
     "80", "443", "65536", "080", "/", "?", "#", "[::1]", "1.2.3.4", " ", "\x00", "é", "%41", "\\", "example.com"]
)  # fmt: skip


@hypothesis_settings(max_examples=500)
@given(st.lists(_URL_PARTS, max_size=10).map("".join))
def test_the_queue_of_a_url_is_its_host_as_httpx_reads_it(url: str) -> None:
    try:
        expected = fetch_module._host_port(httpx.URL(url))
    except (httpx.InvalidURL, ValueError):
        expected = ("", 0)
    assert fetch_module.host_key(url) == expected
