import asyncio

import httpx
import pytest

from monitor.archive import AVAILABILITY_API, find_archived

DEAD = "https://example.org/gone"


def _api(url: str) -> str:
    return str(httpx.URL(AVAILABILITY_API, params={"url": url}))


def test_archived_copy_is_found(httpx_mock):
    httpx_mock.add_response(
        url=_api(DEAD),
        json={"archived_snapshots": {"closest": {"available": True, "status": "200",
                                                  "url": "http://web.archive.org/web/20231101000000/" + DEAD}}},
    )
    found = asyncio.run(find_archived([DEAD]))
    assert found == {DEAD: "https://web.archive.org/web/20231101000000/" + DEAD}


@pytest.mark.parametrize(
    "answer",
    [
        {"json": {"archived_snapshots": {}}},
        {"status_code": 503},
        {"content": b"not json"},
        {"json": {"archived_snapshots": {"closest": {"available": True, "url": "https://evil.example/x"}}}},
    ],
)
def test_failed_or_empty_lookup_is_silent(httpx_mock, answer):
    httpx_mock.add_response(url=_api(DEAD), **answer)
    assert asyncio.run(find_archived([DEAD])) == {}


def test_network_error_is_silent(httpx_mock):
    httpx_mock.add_exception(httpx.ConnectError("no network"), url=_api(DEAD))
    assert asyncio.run(find_archived([DEAD])) == {}


def test_look_ups_stop_at_the_time_left_and_keep_what_was_found(httpx_mock):
    slow = "https://example.org/slow"
    httpx_mock.add_response(
        url=_api(DEAD),
        json={"archived_snapshots": {"closest": {"available": True, "url": "https://web.archive.org/web/1/" + DEAD}}},
    )

    async def never(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(3600)  # cancelled when the time left runs out, long before this
        raise AssertionError("unreachable")

    httpx_mock.add_callback(never, url=_api(slow))
    found = asyncio.run(find_archived([DEAD, slow], within=0.05))
    assert found == {DEAD: "https://web.archive.org/web/1/" + DEAD}


def test_no_time_left_means_no_look_up(httpx_mock):
    assert asyncio.run(find_archived([DEAD], within=0)) == {}
    assert httpx_mock.get_requests() == []
