from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.server import TestServer, serve


@pytest.fixture
def server() -> Iterator[TestServer]:
    with serve() as s:
        yield s


@pytest.fixture
def server2() -> Iterator[TestServer]:
    """A second host (another port) for per-host behaviour."""
    with serve() as s:
        yield s


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    # A proxy from the developer's environment must never carry test traffic off the machine.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
