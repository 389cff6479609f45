"""Three simulated nights of the bundled catalog (catalog/hub.yaml), as issue 13 ran them: every entry's page is
a local stand-in, and on night 3 the hub page drifts (tests/fixtures/hub-drifted.html). No network: a fake
crawler answers each URL with what that night's page says.

Night 3 is the worst: confirmed failures, status lines that flipped, moved pages, a parked domain, a soft 404,
hub drift. `run_nights(tmp_path)` returns each night's JSON report and Markdown.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from types import TracebackType

from monitor import pipeline
from monitor.atomic import write_all_atomic
from monitor.catalog import load_catalog
from monitor.models import FetchResult, Hop
from monitor.report import render_markdown, to_json
from monitor.settings import Settings
from monitor.state import load_state, state_files

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "catalog" / "hub.yaml"
FIXTURES = Path(__file__).parent / "fixtures"
NIGHTS = ("2026-11-26", "2026-11-27", "2026-11-28")
HUB_URL = "https://www.matsprogram.org/mechinterp"
QUICKSTART_NEW = "https://www.alignmentforum.org/posts/jP9KDyMkchuv6tHwm/how-to-become-a-mechanistic-interpretability-researcher"
OPEN_PHIL_NEW = "https://www.coefficientgiving.org/"


def _page(title: str, *paragraphs: str) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"<html><head><title>{title}</title></head><body><main><h1>{title}</h1>{body}</main></body></html>".encode()


HTML = {"content-type": "text/html; charset=utf-8"}


def _ok(url: str, body: bytes, final: str | None = None, status: int = 200) -> FetchResult:
    hops = (Hop(url, 301, final),) if final else ()
    return FetchResult(url, final or url, status, hops=hops, headers=dict(HTML), body=body)


def answers(night: int) -> dict[str, FetchResult]:
    """What each URL answers on night 1, 2 or 3."""
    c = {e.id: e.url for e in load_catalog(CATALOG).entries if e.url}
    later = night >= 2
    pages: dict[str, FetchResult] = {}

    def put(entry_id: str, result: FetchResult) -> None:
        pages[c[entry_id]] = result

    quick = _page("Quickstart", "The spirit is how to speedrun your way to maybe doing something useful.")
    put("quickstart-guide", _ok(c["quickstart-guide"], quick, QUICKSTART_NEW if later else None))
    put("favourite-papers", _ok(c["favourite-papers"], _page(
        "[Old] Favourite papers", "This post is out of date, see v2 here.",
        "An extremely opinionated annotated list of my favourite papers.")))
    glossary = "Written to accompany the TransformerLens library." if night < 3 else "A glossary of terms."
    put("glossary", _ok(c["glossary"], _page("Glossary", glossary)))
    problems = _page("200 Concrete Open Problems", "200 Concrete Open Problems in Mechanistic Interpretability.")
    put("concrete-open-problems", _ok(c["concrete-open-problems"], _page("Not Found", "Not Found"), status=404)
        if later else _ok(c["concrete-open-problems"], problems))
    put("transformerlens", _ok(c["transformerlens"], _page("TransformerLens", "A library for interpretability.")))
    mats = "Applications for the Summer 2027 cohort are now open."
    if night == 3:
        mats += " Apply by January 18, 2027."
    put("mats", _ok(c["mats"], _page("MATS", mats)))
    arena = ("Applications for ARENA 8.0 are now open. Apply by February 1st." if night == 3
             else "Applications for ARENA 8.0 open soon.")
    put("arena", _ok(c["arena"], _page("ARENA", arena)))
    put("apart-interpretability-hackathon", _ok(c["apart-interpretability-hackathon"], _page("Error", "Oops"),
                                                status=500) if later
        else _ok(c["apart-interpretability-hackathon"], _page("Hackathon", "An interpretability hackathon.")))
    put("long-term-future-fund", _ok(c["long-term-future-fund"], _page("LTFF", "We fund research.")))
    lightspeed = "Applications are now open." if night == 3 else "Applications are currently closed."
    put("lightspeed-grants", _ok(c["lightspeed-grants"], _page("Lightspeed Grants", lightspeed)))
    put("manifund", _ok(c["manifund"], _page("manifund.org is for sale", "This domain is for sale.")) if later
        else _ok(c["manifund"], _page("Manifund", "Funding for impactful projects.")))
    put("open-philanthropy", _ok(c["open-philanthropy"], _page("Coefficient Giving", "Grants."), OPEN_PHIL_NEW))
    put("survival-and-flourishing-fund", _ok(c["survival-and-flourishing-fund"], _page("Page not found", "Sorry."))
        if later else _ok(c["survival-and-flourishing-fund"], _page("SFF", "The Survival and Flourishing Fund.")))
    hub = (FIXTURES / ("hub-drifted.html" if night == 3 else "hub.html")).read_bytes()
    charset = "windows-1252" if night == 3 else "utf-8"
    pages[HUB_URL] = FetchResult(HUB_URL, HUB_URL, 200, headers={"content-type": f"text/html; charset={charset}"},
                                 body=hub)
    return pages


class FakeCrawler:
    """Answers every URL from `answers(night)`, as the sites would."""

    def __init__(self, settings: Settings, night: int, **_: object) -> None:
        self.pages = answers(night)
        self.requests = 0
        self.hosts: tuple[str, ...] = ("pages.example",)

    async def __aenter__(self) -> FakeCrawler:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        return None

    async def fetch_all(self, urls: list[str], on_result: Callable[[str, FetchResult], None]) -> None:
        for url in urls:
            self.requests += 1
            got = self.pages[url]
            on_result(url, FetchResult(got.url, got.final_url, got.status, hops=got.hops, headers=dict(got.headers),
                                       body=got.body))


def run_night(tmp_path: Path, night: int, previous: dict | None = None, catalog: Path = CATALOG) -> tuple[dict, str]:
    """Check one night and keep its state, as `check` does; the JSON report and its Markdown."""
    state_path = tmp_path / "reports" / "state.json"
    outcome = pipeline.check(load_catalog(catalog), Settings(), load_state(state_path).state,
                             today=date.fromisoformat(NIGHTS[night - 1]),
                             crawler_factory=lambda settings, **kw: FakeCrawler(settings, night))
    assert outcome.state is not None
    write_all_atomic(state_files(state_path, outcome.state))
    data = to_json(outcome.run, previous)
    return data, render_markdown(data)


def run_nights(tmp_path: Path) -> list[tuple[dict, str]]:
    out: list[tuple[dict, str]] = []
    previous = None
    for night in (1, 2, 3):
        data, markdown = run_night(tmp_path, night, previous)
        out.append((data, markdown))
        previous = data
    return out
