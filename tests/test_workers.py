"""The worker pool (monitor/workers.py) on its own: calls come back whole, whatever the workers do.

The functions called are module-level, so that the worker processes can import them by name. What a page's
budget and a worker's death mean for its entries is tested in tests/test_analysis.py.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from monitor import workers
from monitor.workers import Pool, Raised


def square(n: int) -> int:
    return n * n


def refuse(n: int) -> int:
    raise ValueError(f"no {n}")


def warm(fn: Callable[[Any], Any]) -> None:
    del fn


def die_in_a_process(fn: Callable[[Any], Any]) -> None:
    """A worker process that cannot start (a broken install, say); harmless in a thread of this process."""
    if sys.argv[0] == "-c":  # how a worker process is started
        os._exit(3)


def _calls(pool: Pool, calls: list[tuple[Callable[[Any], Any], Any]]) -> list[Any]:
    async def go() -> list[Any]:
        pool.attach()
        try:
            return await asyncio.gather(*(pool.call(fn, arg, 30.0) for fn, arg in calls), return_exceptions=True)
        finally:
            pool.detach()

    try:
        return asyncio.run(go())
    finally:
        pool.close()


def test_many_calls_come_back_each_with_its_own_result() -> None:
    assert _calls(Pool(2, threads=False, warm=warm), [(square, n) for n in range(60)]) == [n * n for n in range(60)]


@pytest.mark.parametrize("threads", [False, True])
def test_an_exception_comes_back_with_its_type_message_and_traceback(threads: bool) -> None:
    refused, fine = _calls(Pool(2, threads=threads, warm=warm), [(refuse, 3), (square, 4)])
    assert isinstance(refused, Raised) and str(refused) == "ValueError: no 3"
    assert "in refuse" in refused.trace
    assert fine == 16


def test_processes_that_die_as_they_start_give_way_to_threads(caplog: pytest.LogCaptureFixture) -> None:
    pool = Pool(2, threads=False, warm=die_in_a_process)
    assert _calls(pool, [(square, n) for n in range(4)]) == [0, 1, 4, 9]
    assert pool.threads
    assert "analysis worker processes die as they start: reading pages in threads" in caplog.text


def test_no_processes_at_all_means_threads(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def no_fork(*args: object, **kwargs: object) -> subprocess.Popen[bytes]:
        raise PermissionError(1, "Operation not permitted")  # a sandbox without fork/exec

    monkeypatch.setattr(workers.subprocess, "Popen", no_fork)
    pool = Pool(2, threads=False, warm=warm)
    assert _calls(pool, [(square, 5)]) == [25]
    assert "cannot start analysis worker processes ([Errno 1] Operation not permitted)" in caplog.text
