"""Wayback Machine suggestions for dead pages (`--suggest`, as lychee names it).

One look-up per dead URL against archive.org's availability API. A failed look-up is silent: a
suggestion is a courtesy, never a reason for the run to fail or to report anything extra.
"""

from __future__ import annotations

import asyncio

import httpx

from monitor import DEFAULT_USER_AGENT
from monitor.findings import Code

AVAILABILITY_API = "https://archive.org/wayback/available"

# Findings whose fix is "replace this link": an archived copy is the first place a maintainer looks.
WORTH_A_SUGGESTION = frozenset({Code.DEAD_LINK, Code.SOFT_404, Code.PARKED_DOMAIN, Code.UNREACHABLE})


async def _lookup(client: httpx.AsyncClient, url: str) -> str | None:
    try:
        response = await client.get(AVAILABILITY_API, params={"url": url})
        if response.status_code != 200:
            return None
        closest = response.json().get("archived_snapshots", {}).get("closest", {})
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    if not isinstance(closest, dict) or not closest.get("available"):
        return None
    snapshot = closest.get("url")
    if not isinstance(snapshot, str) or not snapshot.startswith(("https://web.archive.org/", "http://web.archive.org/")):
        return None
    return snapshot.replace("http://", "https://", 1)


async def find_archived(
    urls: list[str],
    *,
    user_agent: str = DEFAULT_USER_AGENT,
    transport: httpx.AsyncBaseTransport | None = None,
    within: float | None = None,
) -> dict[str, str]:
    """Map each URL that has an archived copy to that copy's address.

    ``within`` (seconds) bounds all the look-ups together: those still running then are dropped, and
    what was found by then is returned (the run's own time budget must hold, suggestions or not).
    """
    if not urls or (within is not None and within <= 0):
        return {}
    async with httpx.AsyncClient(
        timeout=10.0, headers={"User-Agent": user_agent}, trust_env=False, transport=transport
    ) as client:
        # A few at a time: archive.org is a shared public service.
        limit = asyncio.Semaphore(4)

        async def one(url: str) -> tuple[str, str | None]:
            async with limit:
                return url, await _lookup(client, url)

        tasks = [asyncio.create_task(one(u)) for u in dict.fromkeys(urls)]
        done, pending = await asyncio.wait(tasks, timeout=within)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    return {url: snap for url, snap in (task.result() for task in done) if snap}
