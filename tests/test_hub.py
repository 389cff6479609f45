"""The hub page itself: parsing the (composed) hub fixtures, catalog YAML, and drift from the catalog."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.catalog import load_catalog
from monitor.findings import Code
from monitor.hub import (
    DriftItem,
    DriftKind,
    HubEntry,
    HubPage,
    HubSection,
    catalog_data,
    hub_drift,
    parse_hub,
    split_author,
    title_key,
    to_catalog_yaml,
    url_key,
)
from monitor.models import Entry, Kind

FIXTURES = Path(__file__).parent / "fixtures"
HUB_URL = "https://www.matsprogram.org/mechinterp"
HTML = {"content-type": "text/html; charset=utf-8"}

QUICKSTART_TEXT = (
    "This was written as a guide for Apart Research's Mechanistic Interpretability Hackathon as a compressed version"
    ' of my getting started post. The spirit is "how to speedrun your way to maybe doing something useful in'
    ' mechanistic interpretability in a weekend", but hopefully this is useful even to people who aren\'t aiming for'
    " weekend long projects!"
)
MATS_STATUS = (
    "Applications for Neel Nanda’s stream close November 10, 2023 11:59 PM (PST); other streams close"
    " November 17, 2023 11:59 PM (PST)."
)
AF_200 = "https://www.alignmentforum.org/posts/LbrPTJ4fmABEdEnLf/200-concrete-open-problems-in-mechanistic-interpretability"


def _hub(name: str = "hub.html") -> HubPage:
    return parse_hub((FIXTURES / name).read_bytes(), HTML, HUB_URL)


def _parse(html: str, base: str = HUB_URL) -> HubPage:
    return parse_hub(html.encode("utf-8"), HTML, base)


UNCONFIRMED = "Unconfirmed candidate: the hub's funder list could not be read from archives."


def _catalog() -> list[Entry]:
    """The catalog as issue 2 has it built from ../shared/hub: likely URLs, aliases, candidate funders."""
    resources = "Learning Resources"
    programs = "Training programs"
    funders = "Grant funders for independent research"
    nn = "Neel Nanda"
    rows = [
        Entry("quickstart", resources, "Mechanistic Interpretability Quickstart Guide",
              "https://www.neelnanda.io/mechanistic-interpretability/quickstart", author=nn),
        Entry("favourite-papers", resources,
              "An Extremely Opinionated Annotated List of My Favourite Mechanistic Interpretability Papers",
              "https://www.neelnanda.io/mechanistic-interpretability/favourite-papers", author=nn),
        Entry("glossary", resources, "A Comprehensive Mechanistic Interpretability Explainer & Glossary",
              "https://www.neelnanda.io/mechanistic-interpretability/glossary", author=nn),
        Entry("mats-training-program", resources, "Neel Nanda’s MATS Training Program 2023-2024", None, author=nn),
        Entry("open-problems", resources, "200 Concrete Open Problems in Mechanistic Interpretability", AF_200,
              author=nn),
        Entry("transformerlens", resources, "TransformerLens", "https://github.com/TransformerLensOrg/TransformerLens",
              aliases=("https://github.com/neelnanda-io/TransformerLens",)),
        Entry("remote-machines", resources, "Working on Remote Machines", None, author="Lucia Quirke"),
        Entry("compute-notes", resources, "Notes on Compute Resources for Mechanistic Interpretability", None),
        Entry("mats", programs, "ML Alignment & Theory Scholars Program (MATS)", "https://www.matsprogram.org/",
              kind=Kind.PROGRAM, status=MATS_STATUS.replace("’", "'")),
        Entry("arena", programs, "Alignment Research Engineer Accelerator (ARENA)", "https://www.arena.education/",
              kind=Kind.PROGRAM, status="Applications open soon."),
        Entry("apart-hackathon", programs, "Interpretability Hackathon - Apart Research",
              "https://alignmentjam.com/jam/interpretability", kind=Kind.PROGRAM, author="Apart Research",
              status="Status unknown."),
        Entry("ltff", funders, "Long-Term Future Fund", "https://funds.effectivealtruism.org/funds/far-future",
              kind=Kind.FUNDER, notes=UNCONFIRMED),
        Entry("lightspeed", funders, "Lightspeed Grants", "https://lightspeedgrants.org", kind=Kind.FUNDER,
              status="Currently closed.", notes=UNCONFIRMED),
        Entry("manifund", funders, "Manifund", "https://manifund.org", kind=Kind.FUNDER, notes=UNCONFIRMED),
    ]
    # Lines as a hand-written catalog would have them, so fixes can name the line.
    return [Entry(**{**e.__dict__, "line": 10 + 8 * i}) for i, e in enumerate(rows)]


def _by_id(items: list[DriftItem]) -> dict[tuple[DriftKind, str], DriftItem]:
    return {(i.kind, i.entry_id): i for i in items}


# --- parsing the fixture ----------------------------------------------------------------------------------


def test_page_title_maintainer_and_sections() -> None:
    page = _hub()
    assert page.title == "Mechanistic Interpretability Hub"
    assert page.maintainer == "MATS"
    assert page.sections == [
        HubSection("Learning Resources"),
        HubSection("Training programs"),
        HubSection(
            "Grant funders for independent research",
            "The following funders might be receptive to grant requests for mechanistic interpretability research:",
        ),
    ]


def test_every_entry_with_section_title_author_url_and_status() -> None:
    rows = [(e.section[:8], e.title, e.author, e.url, e.status) for e in _hub().entries]
    nn = "Neel Nanda"
    assert rows == [
        ("Learning", "Mechanistic Interpretability Quickstart Guide", nn,
         "https://www.neelnanda.io/mechanistic-interpretability/quickstart", None),
        ("Learning", "An Extremely Opinionated Annotated List of My Favourite Mechanistic Interpretability Papers", nn,
         "https://www.neelnanda.io/mechanistic-interpretability/favourite-papers", None),
        ("Learning", "A Comprehensive Mechanistic Interpretability Explainer & Glossary", nn,
         "https://www.neelnanda.io/mechanistic-interpretability/glossary", None),
        ("Learning", "Neel Nanda’s MATS Training Program 2023-2024", None, None, None),
        ("Learning", "200 Concrete Open Problems in Mechanistic Interpretability", nn, AF_200, None),
        ("Learning", "TransformerLens", None, "https://github.com/neelnanda-io/TransformerLens", None),
        ("Learning", "Working on Remote Machines", "Lucia Quirke", None, None),
        ("Learning", "Notes on Compute Resources for Mechanistic Interpretability", None, None, None),
        # The MATS card's "Learn more" button is relative: resolved against the hub's URL.
        ("Training", "ML Alignment & Theory Scholars Program (MATS)", None, "https://www.matsprogram.org/",
         MATS_STATUS),
        ("Training", "Alignment Research Engineer Accelerator (ARENA)", None, "https://www.arena.education/",
         "Applications open soon."),
        ("Training", "Interpretability Hackathon", "Apart Research", "https://alignmentjam.com/jam/interpretability",
         "Status unknown."),
        ("Grant fu", "Long-Term Future Fund", None, "https://funds.effectivealtruism.org/funds/far-future", None),
        ("Grant fu", "Lightspeed Grants", None, "https://lightspeedgrants.org", "Currently closed."),
    ]


def test_descriptions_are_the_hub_text_without_buttons_or_status() -> None:
    entries = {e.title: e for e in _hub().entries}
    assert entries["Mechanistic Interpretability Quickstart Guide"].text == QUICKSTART_TEXT
    assert entries["Notes on Compute Resources for Mechanistic Interpretability"].text.startswith(
        "This was written for MATS scholars over the 2023-2024 Winter cohort"
    )
    # "Learn more →" is a button and the status line is not description.
    assert entries["Alignment Research Engineer Accelerator (ARENA)"].text == ""
    assert entries["Lightspeed Grants"].text == ""


def test_chrome_and_hidden_items_are_not_entries() -> None:
    page = _hub()
    titles = {e.title for e in page.entries}
    assert "Draft Resource" not in titles  # Webflow conditional visibility
    assert not titles & {"Program", "Mentors", "Apply", "MATS", "Privacy policy", "No items found."}
    assert all("hub@matsprogram.org" not in e.text for e in page.entries)


def test_flat_layout_in_windows_1252_with_links_in_headings_and_buttons() -> None:
    page = _hub("hub-drifted.html")
    assert page.title == "Mechanistic Interpretability Hub"
    assert [s.name for s in page.sections] == [
        "Learning Resources", "Training programs", "Grant funders for independent research",
    ]
    entries = {e.title: e for e in page.entries}
    assert len(entries) == 13
    quickstart = entries["Mechanistic Interpretability Quickstart Guide"]
    assert quickstart.text.startswith("This was written as a guide for Apart Research’s ")  # cp1252 0x92
    # A link inside a sentence is a reference, not the entry's target.
    glossary = entries["A Comprehensive Mechanistic Interpretability Explainer & Glossary"]
    assert glossary.url == "https://neelnanda.io/mechanistic-interpretability/glossary"
    assert glossary.text.endswith("check out my guide to getting started.")
    # A bare URL on its own line is the link; its text is not description. Relative to <base href>.
    mats = entries["ML Alignment & Theory Scholars Program (MATS)"]
    assert (mats.url, mats.text) == ("https://www.matsprogram.org/", "")
    assert entries["Interpretability Hackathon"].author == "Apart Research"  # em dash
    assert entries["Lightspeed Grants"].status == "Currently closed."
    assert entries["Long-Term Future Fund"].status is None


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param(
            '<h2>Programs</h2><a href="https://a.example/x"><div class="card-title">Cohort One</div>'
            "<div>A course.</div><div>Applications open soon.</div></a>",
            [("Programs", "Cohort One", "A course.", "https://a.example/x", "Applications open soon.")],
            id="webflow div title inside a link card",
        ),
        pytest.param(
            '<h2>Funders</h2><p>Intro.</p>'
            '<ul><li><a href="/fund">The Fund</a> <span>Currently closed.</span></li></ul>',
            [("Funders", "The Fund", "", "https://hub.example/fund", "Currently closed.")],
            id="list of linked names",
        ),
        pytest.param(
            '<h2>S</h2><h3><a href="javascript:void(0)">Title</a></h3><p>Text<br>Rolling basis.</p>',
            [("S", "Title", "Text", None, "Rolling basis.")],
            id="javascript link is no link; br splits blocks",
        ),
        pytest.param(
            '<h2>S</h2><div><h4>Only title</h4></div><a href="#">Top</a>',
            [("S", "Only title", "", None, None)],
            id="placeholder anchor",
        ),
        pytest.param(
            '<h2>S</h2><div class="card"><h3>T</h3><p class="entry-status">Paused for 2025</p>'
            '<p>Open problems in interpretability.</p></div>',
            [("S", "T", "Open problems in interpretability.", None, "Paused for 2025")],
            id="status by class; 'Open problems' is description",
        ),
        pytest.param(
            # Status lines that do not start with "Applications": the status reader's own notion decides (issue 11).
            '<h2>S</h2><div><h3>A</h3><p>A prize for essays.</p><p>Submissions are now open</p></div>'
            '<div><h3>B</h3><p>Launched in 2021, the award honours mentors.</p><p>Nominations close 12 May</p></div>'
            '<div><h3>C</h3><p>Sign-ups end in two weeks.</p></div>'
            '<div><h3>D</h3><p>The selection process has finished.</p></div>'
            '<div><h3>E</h3><p>Launched in 2021.</p><p>Rolling.</p></div>',
            [("S", "A", "A prize for essays.", None, "Submissions are now open"),
             ("S", "B", "Launched in 2021, the award honours mentors.", None, "Nominations close 12 May"),
             ("S", "C", "", None, "Sign-ups end in two weeks."),
             ("S", "D", "", None, "The selection process has finished."),
             ("S", "E", "Launched in 2021.", None, "Rolling.")],
            id="status lines said without 'Applications'; history in a description is not one",
        ),
        pytest.param(
            '<a href="https://x.example/"><h3>Card before any section</h3><p>Words.</p></a>',
            [("Other", "Card before any section", "Words.", "https://x.example/", None)],
            id="no section heading",
        ),
    ],
)
def test_card_patterns(html: str, expected: list[tuple[str, str, str, str | None, str | None]]) -> None:
    page = _parse(f"<html><body>{html}</body></html>", "https://hub.example/page")
    assert [(e.section, e.title, e.text, e.url, e.status) for e in page.entries] == expected


def test_declared_charset_and_title_fallback() -> None:
    body = "<title>Hub | Site</title><h2>Sec</h2><h3>Caf\u00e9 \u2019s</h3>".encode("cp1252")
    page = parse_hub(body, {"Content-Type": "text/html; charset=windows-1252"}, HUB_URL)
    assert page.title == "Hub"
    assert [e.title for e in page.entries] == ["Caf\u00e9 \u2019s"]


def test_maintainer_line_with_a_link_and_title_from_head_only() -> None:
    assert _parse('<h1>Hub</h1><p>Maintained by <a href="/">MATS</a>.</p>').maintainer == "MATS"
    assert _parse("<p>This library is maintained by volunteers.</p>").maintainer is None
    assert _parse("<title>Hub | Site</title>").title == "Hub"


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("Working on Remote Machines - Lucia Quirke", ("Working on Remote Machines", "Lucia Quirke")),
        ("Interpretability Hackathon – Apart Research", ("Interpretability Hackathon", "Apart Research")),
        ("A - B - Neel Nanda", ("A - B", "Neel Nanda")),
        ("Training Program 2023-2024", ("Training Program 2023-2024", None)),
        ("Attention - what it does and why", ("Attention - what it does and why", None)),
        ("Results - 2024 Cohort", ("Results - 2024 Cohort", None)),
        ("TransformerLens", ("TransformerLens", None)),
    ],
)
def test_split_author(heading: str, expected: tuple[str, str | None]) -> None:
    assert split_author(heading) == expected


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_never_raises_on_junk_bytes(body: bytes) -> None:
    page = parse_hub(body, {"content-type": "text/html"}, HUB_URL)
    to_catalog_yaml(page, HUB_URL)


_FRAGMENTS = st.sampled_from(
    ["<h1>", "<h2>", "<h3>", "<h4>", "</h2>", "</h3>", "<a href='/x'>", "<a href='http://[::1'>", "<a href=#>",
     "</a>", "<div>", "</div>", "<li>", "<ul>", "<p>", "<br>", "<nav>", "<footer>", "<base href='::'>",
     "<script>", "</script>", "<!-- c -->", " - Neel Nanda", "Applications open soon.", "Currently closed.",
     "Maintained by X.", "text", "\u2019", "\x00", "\x85", "&amp;", "<meta charset='utf-16'>", "<span hidden>"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_FRAGMENTS | st.text(max_size=8), max_size=60))
def test_never_raises_on_junk_html(parts: list[str]) -> None:
    page = parse_hub("".join(parts).encode("utf-8", "surrogatepass"), {}, HUB_URL)
    assert yaml.safe_load(to_catalog_yaml(page, HUB_URL)) == catalog_data(page, HUB_URL)


# --- catalog YAML -------------------------------------------------------------------------------------------


def test_catalog_yaml_round_trips_and_follows_schema_1() -> None:
    page = _hub()
    text = to_catalog_yaml(page, HUB_URL)
    data = yaml.safe_load(text)
    assert data == catalog_data(page, HUB_URL)
    assert data["version"] == 1
    assert data["hub"] == {"title": "Mechanistic Interpretability Hub", "url": HUB_URL, "maintainer": "MATS"}
    entries = {e["id"]: e for e in data["entries"]}
    assert len(entries) == len(page.entries) == 13
    assert all(e["id"] == e["id"].lower() and " " not in e["id"] for e in data["entries"])
    arena = entries["alignment-research-engineer-accelerator-arena"]
    assert arena == {
        "id": "alignment-research-engineer-accelerator-arena",
        "section": "Training programs",
        "title": "Alignment Research Engineer Accelerator (ARENA)",
        "url": "https://www.arena.education/",
        "kind": "program",
        "status": "Applications open soon.",
    }
    remote = entries["working-on-remote-machines"]
    assert remote["url"] is None and "no link" in remote["notes"]
    assert remote["author"] == "Lucia Quirke" and remote["kind"] == "resource"
    assert entries["lightspeed-grants"]["kind"] == "funder"
    assert entries["lightspeed-grants"]["status"] == "Currently closed."
    assert "\n  - id: transformerlens\n" in text  # entries indented under their key, as written by hand


@pytest.mark.parametrize("fixture", ["hub.html", "hub-drifted.html"])
def test_imported_catalog_validates_and_has_no_drift_from_its_hub(fixture: str, tmp_path: Path) -> None:
    page = _hub(fixture)
    path = tmp_path / "hub.yaml"
    path.write_text(to_catalog_yaml(page, HUB_URL), encoding="utf-8")
    catalog = load_catalog(path)
    assert catalog.warnings == ()
    assert len(catalog.entries) == len(page.entries)
    assert hub_drift(catalog.entries, page) == []


def test_ids_are_unique_slugs() -> None:
    entries = [HubEntry("S", t) for t in ("Same Title", "Same title!", "Café: über", "日本語", "")]
    ids = [e["id"] for e in catalog_data(HubPage("Hub", entries=entries), HUB_URL)["entries"]]
    assert ids == ["same-title", "same-title-2", "cafe-uber", "entry", "untitled-entry"]  # "" has a fallback title


# Arbitrary text, plus the pieces that could break a hand-tuned YAML layout (list markers after line breaks,
# comment and mapping indicators, quotes, NEL and Unicode line separators, long lines that wrap).
_YAML_HAZARDS = st.sampled_from(
    ["\n", "  - ", "- ", ": ", " #", "'", '"', "\x85", "\u2028", "entries:\n", " ", "word " * 30, "null", "~", "01"]
)
_TEXT = st.text(max_size=40) | st.lists(_YAML_HAZARDS | st.text(max_size=3), max_size=10).map("".join)


@settings(max_examples=200, deadline=None)
@given(
    title=_TEXT,
    maintainer=st.none() | _TEXT,
    entries=st.lists(
        st.builds(HubEntry, section=_TEXT, title=_TEXT, author=st.none() | _TEXT, text=_TEXT,
                  url=st.none() | _TEXT, status=st.none() | _TEXT),
        max_size=4,
    ),
    hub_url=_TEXT,
)
def test_catalog_yaml_round_trips_any_text(
    title: str, maintainer: str | None, entries: list[HubEntry], hub_url: str
) -> None:
    page = HubPage(title, maintainer, [], entries)
    assert yaml.safe_load(to_catalog_yaml(page, hub_url)) == catalog_data(page, hub_url)


# --- drift --------------------------------------------------------------------------------------------------


def test_catalog_matching_the_hub_has_no_drift_but_the_absent_candidate() -> None:
    items = hub_drift(_catalog(), _hub())
    assert [(i.kind, i.entry_id) for i in items] == [(DriftKind.CANDIDATE_NOT_ON_HUB, "manifund")]
    candidate = items[0]
    assert candidate.message.startswith("Candidate not on the hub: remove it.")
    assert candidate.fix == "Delete entry manifund (catalog line 114)."


def test_each_kind_of_drift_and_none_for_trivial_differences() -> None:
    items = hub_drift(_catalog(), _hub("hub-drifted.html"))
    # Exactly these: curly/straight apostrophes, dashes, http, www., trailing slash, host case and an
    # alias (TransformerLens) are not drift.
    assert [(i.kind, i.entry_id) for i in items] == [
        (DriftKind.LINK_CHANGED, "quickstart"),
        (DriftKind.GONE_FROM_HUB, "compute-notes"),
        (DriftKind.STATUS_CHANGED, "arena"),
        (DriftKind.CANDIDATE_NOT_ON_HUB, "manifund"),
        (DriftKind.NEW_ON_HUB, "saelens"),
    ]
    by = _by_id(items)

    link = by[DriftKind.LINK_CHANGED, "quickstart"]
    new_url = "https://www.alignmentforum.org/posts/jP9KDyMkchuv6tHwm/how-to-become-a-mechanistic-interpretability-researcher"
    old_url = "https://www.neelnanda.io/mechanistic-interpretability/quickstart"
    assert (link.hub, link.catalog, link.line) == (new_url, old_url, 10)
    assert f"Set “url: {new_url}” in entry quickstart (catalog line 10)" in link.fix
    assert "aliases" in link.fix

    gone = by[DriftKind.GONE_FROM_HUB, "compute-notes"]
    assert "no longer on the hub" in gone.message
    assert gone.fix.startswith("Delete entry compute-notes (catalog line 66)")

    status = by[DriftKind.STATUS_CHANGED, "arena"]
    assert (status.catalog, status.hub) == (
        "Applications open soon.", "Applications for ARENA 8.0 are now open. Apply by February 1st."
    )
    assert status.fix == (
        "Set “status: Applications for ARENA 8.0 are now open. Apply by February 1st.” "
        "in entry arena (catalog line 82)."
    )

    new = by[DriftKind.NEW_ON_HUB, "saelens"]
    assert "“SAELens”" in new.message and "Learning Resources" in new.message
    snippet = new.fix.split("\n", 1)[1]
    assert yaml.safe_load(snippet) == [{
        "id": "saelens", "section": "Learning Resources", "title": "SAELens",
        "url": "https://github.com/jbloomAus/SAELens", "kind": "resource", "author": "Joseph Bloom",
    }]
    assert all(line.startswith("  ") for line in snippet.splitlines())  # pastes under `entries:`


def test_drift_items_become_hub_drift_findings() -> None:
    item = hub_drift(_catalog(), _hub("hub-drifted.html"))[0]
    finding = item.finding()
    assert finding.code is Code.HUB_DRIFT
    assert finding.fix == item.fix and finding.message == item.message
    assert finding.evidence == {"drift": "link-changed", "hub": item.hub, "catalog": item.catalog}


def _one(entry: Entry, hub_entry: HubEntry) -> list[DriftItem]:
    return hub_drift([entry], HubPage("Hub", entries=[hub_entry]))


def test_match_falls_back_to_url_and_reports_the_new_title() -> None:
    entry = Entry("arena", "Training programs", "ARENA", "https://www.arena.education/", line=3)
    items = _one(entry, HubEntry("Training programs", "ARENA Bootcamp", url="http://arena.education"))
    assert [(i.kind, i.hub, i.catalog) for i in items] == [(DriftKind.TITLE_CHANGED, "ARENA Bootcamp", "ARENA")]
    assert items[0].fix == "Set “title: ARENA Bootcamp” in entry arena (catalog line 3)."


def test_status_line_appearing_or_disappearing_is_drift() -> None:
    entry = Entry("x", "S", "X", "https://x.example/", status="Applications open soon.")
    gone = _one(entry, HubEntry("S", "X", text="Now a plain course.", url="https://x.example/"))
    assert [i.kind for i in gone] == [DriftKind.STATUS_CHANGED]
    assert "no longer shows a status line" in gone[0].message and "Now a plain course." in gone[0].message
    appeared = _one(Entry("x", "S", "X", None), HubEntry("S", "X", status="Currently closed."))
    assert [i.fix for i in appeared] == ["Add “status: Currently closed.” to entry x."]


def test_hub_link_for_an_entry_without_url_is_drift_and_no_hub_link_is_not() -> None:
    linked = _one(Entry("x", "S", "X", None), HubEntry("S", "X", url="https://x.example/doc"))
    assert [(i.kind, i.fix) for i in linked] == [
        (DriftKind.LINK_CHANGED, "Set “url: https://x.example/doc” in entry x.")
    ]
    assert _one(Entry("x", "S", "X", "https://x.example/"), HubEntry("S", "X")) == []


def test_status_fix_quotes_yaml_when_needed() -> None:
    items = _one(Entry("x", "S", "X", None, status="Open"), HubEntry("S", "X", status="Status: unknown #2"))
    value = items[0].fix.split("“")[1].split("”")[0]
    assert yaml.safe_load(value) == {"status": "Status: unknown #2"}


def test_duplicate_titles_match_one_to_one() -> None:
    entries = [Entry("a", "S", "Same", "https://a.example/"), Entry("b", "S", "Same", "https://b.example/")]
    page = HubPage("Hub", entries=[HubEntry("S", "Same", url="https://a.example/")])
    assert [(i.kind, i.entry_id) for i in hub_drift(entries, page)] == [(DriftKind.GONE_FROM_HUB, "b")]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("http://www.Example.org/path/", "https://example.org/path"),
        ("https://EXAMPLE.org", "https://example.org/"),
        ("https://example.org:443/a", "http://example.org:80/a/"),
    ],
)
def test_trivial_url_differences_are_the_same_url(a: str, b: str) -> None:
    assert url_key(a) == url_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://example.org/a", "https://example.org/b"),
        ("https://example.org/a?x=1", "https://example.org/a"),
        ("https://example.org/a#intro", "https://example.org/a"),
        ("https://example.org:8443/a", "https://example.org/a"),
        ("https://example.org/A", "https://example.org/a"),  # paths are case-sensitive
        ("https://sub.example.org/", "https://example.org/"),
    ],
)
def test_real_url_differences_are_not(a: str, b: str) -> None:
    assert url_key(a) != url_key(b)


@pytest.mark.parametrize(
    ("title", "author", "other"),
    [
        ("Neel Nanda’s MATS Training Program 2023-2024", None, "Neel Nanda's MATS  Training Program 2023–2024"),
        ("Interpretability Hackathon - Apart Research", "Apart Research", "Interpretability Hackathon"),
        ("Interpretability Hackathon - apart research", "Apart Research", "INTERPRETABILITY HACKATHON"),
        ("Explainer & Glossary", None, "Explainer and Glossary"),
        ("“Quoted” Title", None, '"Quoted" Title'),
    ],
)
def test_title_keys_ignore_typography_case_and_author(title: str, author: str | None, other: str) -> None:
    assert title_key(title, author) == title_key(other)


# --- B34: what `import` writes always validates ------------------------------------------------------------

# Pages written by hand to have what a catalog needs missing or unusable; 9 of 21 such inputs wrote a catalog
# that `validate` refused on b48677a.
ODD_PAGES = {
    "empty file": b"",
    "no title, no heading": b"<ul><li><a href='https://a.example/guide'>A guide</a></li></ul>",
    "blank title and heading": b"<title> </title><h1>\t</h1><h2> </h2><ul><li><a href='https://a.example/'></a></li></ul>",
    "link text only symbols": "<title>T</title><h2>★</h2><ul><li><a href='https://a.example/x'>★★</a></li></ul>".encode(),
    "mailto link": b"<title>T</title><h2>S</h2><ul><li><a href='mailto:someone@example.org'>Write</a></li></ul>",
    "password in a link": b"<title>T</title><h2>S</h2><ul><li><a href='https://u:hunter2@a.example/'>A</a></li></ul>",
    "3,000-character link": (b"<title>T</title><h2>S</h2><ul><li><a href='https://a.example/" + b"a" * 3000
                             + b"'>A</a></li></ul>"),
    "undecodable bytes": b"<title>\xff\xfe</title><h2>\xc3</h2><ul><li><a href='https://a.example/'>\x80</a></li></ul>",
    "control characters": b"<title>\x01\x02</title><h2>\x1b[31m</h2><ul><li><a href='https://a.example/'>\x00</a></li></ul>",
    "only a heading": b"<h1>Hub</h1>",
    "javascript link": b"<title>T</title><h2>S</h2><ul><li><a href='javascript:alert(1)'>Click</a></li></ul>",
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(ODD_PAGES))
@pytest.mark.parametrize("base_url", [None, "https://hub.example/page"])
def test_import_of_an_odd_page_writes_a_catalog_that_validates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, base_url: str | None
) -> None:
    from monitor.cli import main

    page = tmp_path / "hub.html"
    page.write_bytes(ODD_PAGES[name])
    out = tmp_path / "hub.yaml"
    assert main(["import", str(page), "-o", str(out), *(["--base-url", base_url] if base_url else [])]) == 0
    assert main(["validate", str(out)]) == 0, capsys.readouterr().err
    assert "hunter2" not in out.read_text(encoding="utf-8")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(_FRAGMENTS | st.text(max_size=8) | st.sampled_from(
    ["<title>", "</title>", "<a href='mailto:x@y'>", "<a href='https://u:p@h.example/'>", "<a href='https://h.example/a'>",
     "<a href='ftp://h/'>", "<a href=' '>", "\udcff", "\t", "<h2> </h2>"]), max_size=40),
    hub_url=st.sampled_from([HUB_URL, "file:///tmp/hub.html", "", "https://u:p@hub.example/"]))  # fmt: skip
def test_whatever_import_reads_it_writes_a_catalog_that_validates(
    tmp_path: Path, parts: list[str], hub_url: str
) -> None:
    page = parse_hub("".join(parts).encode("utf-8", "surrogatepass"), {}, hub_url or HUB_URL)
    path = tmp_path / "hub.yaml"
    path.write_text(to_catalog_yaml(page, hub_url), encoding="utf-8")
    assert len(load_catalog(path).entries) == len(page.entries)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    title=_TEXT,
    entries=st.lists(st.builds(HubEntry, section=_TEXT, title=_TEXT, author=st.none() | _TEXT,
                               url=st.none() | _TEXT | st.just("https://h.example/x"), status=st.none() | _TEXT),
                     max_size=4),
)  # fmt: skip
def test_any_parsed_hub_becomes_a_catalog_that_validates(tmp_path: Path, title: str, entries: list[HubEntry]) -> None:
    path = tmp_path / "hub.yaml"
    path.write_text(to_catalog_yaml(HubPage(title, None, [], entries), HUB_URL), encoding="utf-8")
    assert len(load_catalog(path).entries) == len(entries)
