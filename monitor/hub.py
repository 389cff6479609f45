"""The hub page itself: read it into sections and entries, write it out as a catalog, and compare the two.

Three pure functions, no network:

- `parse_hub(body, headers, base_url) -> HubPage`: what the hub shows.
- `to_catalog_yaml(page, hub_url) -> str`: that, as a schema-1 catalog (`hub-monitor import`).
- `hub_drift(entries, page) -> list[DriftItem]`: where the catalog no longer matches the hub (`check`).

How the page is read. The hub is a Webflow-style page whose exact markup is unknown, so `parse_hub` relies
on structure that survives redesigns rather than on class names:

1. Decoding is `monitor.extract.decode` (declared charset, BOM, meta, then a sniff). Control characters
   are dropped; arbitrary bytes give an empty or partial page, never an exception.
2. What a reader does not see is dropped first: scripts, styles, templates, `nav`, `footer`, ARIA
   navigation, `hidden` / `aria-hidden` / `display:none`, and Webflow's conditionally invisible
   (`w-condition-invisible`) and empty-list (`w-dyn-empty`) elements. `header` is kept: the hub's h1
   may live in it.
3. Headings are h1-h4 with text, in document order. The first heading, if it is an h1, is the page's
   title (else `<title>` minus a " | Site" suffix). The maintainer is the first "Maintained by X" line.
4. A heading is an entry's title (a card) when it sits inside an `<a href>`, or when it is deeper than
   the shallowest heading outside links; the others are section headings. A second heading inside the
   same link as an earlier card is part of that card's text, not a new entry.
5. A card's extent is its wrapping link if it has one; else the largest ancestor holding no other
   heading; else (a flat layout) the heading's following siblings up to the next one holding a heading.
   A section's intro is read the same way, from its heading up to its first card.
6. A card's link is, in order: the link wrapping its heading, a link inside its heading, the first
   link standing alone in its extent (a "Learn more" button, a bare URL). Links inside prose are
   references, not the target, and are ignored. Targets are resolved against `base_url` and the page's
   `<base href>`; placeholders ("#", javascript:, mailto:) mean no link.
7. Text is split into blocks at block elements and `<br>`. A block is a status line when the status
   reader reads a state from it (`monitor.status.is_status_line`: "Applications open soon.", "Submissions
   are now open", "Nominations close 12 May", "Currently closed.", "Status unknown.") or its element's
   class names a status; the rest is description.
   Short standalone link texts ("Learn more") are buttons, not description.
8. Cards whose title is not a heading (Webflow often styles a div as a title) are found too: inside a
   section and outside every heading card, an `<a href>` with two or more text blocks is a card titled by
   its first block; in a section without heading cards, each `<li>` holding a link is an entry titled
   by the link's text.
9. A title's " - Name" suffix (hyphen, en or em dash) is its author when it reads like a name: one to
   five capitalised words without digits ("Neel Nanda", "Apart Research").
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urljoin, urlsplit

import yaml
from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import PageElement, PreformattedString

from monitor.extract import decode
from monitor.findings import Code, Finding
from monitor.models import Entry, Kind
from monitor.status import is_status_line

__all__ = [
    "DriftItem",
    "DriftKind",
    "HubEntry",
    "HubPage",
    "HubSection",
    "catalog_data",
    "hub_drift",
    "parse_hub",
    "split_author",
    "title_key",
    "to_catalog_yaml",
    "url_key",
]


@dataclass(frozen=True)
class HubSection:
    name: str
    intro: str = ""


@dataclass(frozen=True)
class HubEntry:
    section: str
    title: str
    author: str | None = None
    # The description as the hub shows it (status lines excluded), blocks joined by a space.
    text: str = ""
    url: str | None = None
    # The hub's status line(s) for this entry ("Applications open soon."), None when it shows none.
    status: str | None = None


@dataclass
class HubPage:
    title: str
    maintainer: str | None = None
    sections: list[HubSection] = field(default_factory=list)
    entries: list[HubEntry] = field(default_factory=list)


# Entries before the first section heading (rare) still need a section for the catalog.
NO_SECTION = "Other"

# --- reading the page ---------------------------------------------------------------------------------

_HEADINGS = ("h1", "h2", "h3", "h4")
_DROPPED_TAGS = ("script", "style", "template", "noscript", "svg", "iframe", "object", "nav", "footer")
_CHROME_ROLES = frozenset({"navigation", "contentinfo", "menubar", "search"})
# Webflow renders CMS items hidden by conditional visibility, and "No items found." placeholders, into the
# HTML and hides them with CSS we never load.
_HIDDEN_CLASSES = frozenset({"w-condition-invisible", "w-dyn-empty", "w-nav", "w-nav-overlay"})
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_BLOCK_TAGS = frozenset(
    {"address", "article", "aside", "blockquote", "dd", "details", "div", "dl", "dt", "fieldset", "figcaption",
     "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "ol", "p",
     "pre", "section", "summary", "table", "td", "th", "tr", "ul"}
)
# lxml refuses some C0 controls, and no hub text needs them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_INVISIBLE_CHARS = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_TITLE_ARROWS = " \u2192\u2197\u00bb\u203a>"
_MAINTAINED = re.compile(r"^maintained by\s+(.{1,100}?)\s*\.?$", re.IGNORECASE)
_SITE_SUFFIX = re.compile(r"\s+[|\u2013\u2014-]\s+[^|\u2013\u2014]+$")

# A status line says one thing briefly; a paragraph that happens to mention applications is prose.
_STATUS_MAX = 400
_BUTTON_MAX_WORDS = 5
_NO_LINK = re.compile(r"^(?:#|javascript:|mailto:|tel:|data:|about:)", re.IGNORECASE)


def parse_hub(body: bytes, headers: dict[str, str], base_url: str) -> HubPage:
    """Read the hub page into its title, maintainer, sections and entries (heuristics: module docstring)."""
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    text, _charset = decode(body, content_type)
    soup = BeautifulSoup(_CONTROL.sub("", text), "lxml")
    base = _base_url(soup, base_url)
    root = soup.body or soup
    _drop_invisible(root)
    return _Reader(soup, root, base).read()


def _base_url(soup: BeautifulSoup, base_url: str) -> str:
    tag = soup.find("base", href=True)
    if isinstance(tag, Tag):
        joined = _join(base_url, str(tag.get("href", "")))
        if joined is not None:
            return joined
    return base_url


def _drop_invisible(root: Tag) -> None:
    doomed = [tag for tag in root.find_all(True) if _is_invisible(tag)]
    for tag in doomed:
        if not tag.decomposed:
            tag.decompose()


def _is_invisible(tag: Tag) -> bool:
    if tag.name in _DROPPED_TAGS:
        return True
    attrs = tag.attrs
    if "hidden" in attrs or str(attrs.get("aria-hidden", "")).lower() == "true":
        return True
    if _HIDDEN_STYLE.search(str(attrs.get("style", ""))):
        return True
    if str(attrs.get("role", "")).lower() in _CHROME_ROLES:
        return True
    return not _HIDDEN_CLASSES.isdisjoint(_classes(tag))


def _classes(tag: Tag) -> list[str]:
    value = tag.attrs.get("class", [])
    return [str(v).lower() for v in value] if isinstance(value, list) else str(value).lower().split()


def _clean(text: str) -> str:
    return " ".join(text.translate(_INVISIBLE_CHARS).split())


def _join(base: str, href: str) -> str | None:
    href = href.strip()
    if not href or _NO_LINK.match(href):
        return None
    try:
        url = urljoin(base, href)
        scheme = urlsplit(url).scheme.lower()
    except ValueError:  # malformed IPv6 hosts and the like: not a link anyone can follow
        return None
    return url if scheme in ("http", "https") else None


@dataclass
class _Block:
    text: str
    element: PageElement


@dataclass
class _Card:
    anchor: Tag  # the heading, or the element that stands for a headless card
    title: str
    extent: list[PageElement]
    link: str | None
    skip: set[int]  # ids of elements whose text is not the card's text (its heading, its title link)


class _Reader:
    """One reading of a cleaned page. An object only so that the helpers share the document-order index,
    the heading counts and the section positions instead of passing them around."""

    def __init__(self, soup: BeautifulSoup, root: Tag, base: str) -> None:
        self.soup = soup
        self.root = root
        self.base = base
        self.order: dict[int, int] = {id(el): i for i, el in enumerate(root.descendants)}
        self.headings = [h for h in root.find_all(_HEADINGS) if _clean(h.get_text())]
        self.heading_ids = {id(h) for h in self.headings}
        self.headings_under = self._count_headings()
        # Section headings and their document positions, ascending; set by `read`.
        self.sections: list[Tag] = []
        self.section_pos: list[int] = []

    def read(self) -> HubPage:
        title, rest = self._title()
        sections, cards = self._classify(rest)
        self.sections = sections
        self.section_pos = [self._pos(section) for section in sections]
        cards += self._headless_cards(cards, self._covered(cards))
        cards.sort(key=lambda c: self._pos(c.anchor))
        card_ids = {id(c.anchor) for c in cards}
        page = HubPage(title=title, maintainer=self._maintainer())
        for heading in sections:
            page.sections.append(HubSection(_clean(heading.get_text()), self._intro(heading, card_ids)))
        for card in cards:
            page.entries.append(self._entry(card))
        return page

    # -- structure --

    def _count_headings(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for heading in self.headings:
            for parent in heading.parents:
                counts[id(parent)] = counts.get(id(parent), 0) + 1
        return counts

    def _pos(self, element: PageElement) -> int:
        return self.order.get(id(element), -1)

    def _title(self) -> tuple[str, list[Tag]]:
        if self.headings and self.headings[0].name == "h1":
            return _clean(self.headings[0].get_text()), self.headings[1:]
        tag = self.soup.find("title")
        title = _clean(tag.get_text()) if isinstance(tag, Tag) else ""
        return _SITE_SUFFIX.sub("", title), self.headings

    def _classify(self, headings: list[Tag]) -> tuple[list[Tag], list[_Card]]:
        outside = [int(h.name[1]) for h in headings if self._wrapping_link(h) is None]
        section_level = min(outside, default=0)
        sections: list[Tag] = []
        cards: list[_Card] = []
        for heading in headings:
            wrapper = self._wrapping_link(heading)
            if wrapper is None and int(heading.name[1]) <= section_level:
                sections.append(heading)
            elif wrapper is None or not cards or self._wrapping_link(cards[-1].anchor) is not wrapper:
                cards.append(self._heading_card(heading, wrapper))
        return sections, cards

    def _wrapping_link(self, element: PageElement) -> Tag | None:
        for parent in element.parents:
            if parent is self.root:
                return None
            if parent.name == "a" and parent.get("href") is not None:
                return parent
        return None

    def _extent(self, heading: Tag) -> list[PageElement]:
        node: Tag = heading
        while (
            node.parent is not None
            and node.parent is not self.root
            and self.headings_under.get(id(node.parent), 0) == 1
        ):
            node = node.parent
        if node is not heading:
            return [node]
        nodes: list[PageElement] = [heading]
        for sibling in heading.next_siblings:
            if isinstance(sibling, Tag) and (id(sibling) in self.heading_ids or self.headings_under.get(id(sibling))):
                break
            nodes.append(sibling)
        return nodes

    def _heading_card(self, heading: Tag, wrapper: Tag | None) -> _Card:
        extent: list[PageElement] = [wrapper] if wrapper is not None else self._extent(heading)
        link = _join(self.base, str(wrapper.get("href"))) if wrapper is not None else None
        if link is None:
            inner = heading.find("a", href=True)
            if isinstance(inner, Tag):
                link = _join(self.base, str(inner.get("href")))
        if link is None:
            link = self._standalone_link(extent)
        return _Card(heading, _title_text(heading.get_text()), extent, link, {id(heading)})

    def _covered(self, cards: list[_Card]) -> set[int]:
        covered: set[int] = set()
        for card in cards:
            for node in card.extent:
                covered.add(id(node))
                if isinstance(node, Tag):
                    covered.update(id(d) for d in node.descendants)
        return covered

    def _headless_cards(self, cards: list[_Card], covered: set[int]) -> list[_Card]:
        if not self.sections:
            return []
        first = self.section_pos[0]
        with_cards = {id(self._section_of(card.anchor)) for card in cards}
        found: list[_Card] = []
        taken: set[int] = set()
        for tag in self.root.find_all(("a", "li")):
            if id(tag) in covered or id(tag) in taken or self._pos(tag) < first or id(tag) in self.headings_under:
                continue
            card = self._link_card(tag) if tag.name == "a" else None
            if tag.name == "li" and id(self._section_of(tag)) not in with_cards:
                card = self._list_card(tag)
            if card is not None:
                found.append(card)
                taken.update(id(d) for d in tag.descendants)
        return found

    def _section_of(self, element: PageElement) -> Tag | None:
        index = bisect.bisect_left(self.section_pos, self._pos(element)) - 1
        return self.sections[index] if index >= 0 else None

    def _link_card(self, link: Tag) -> _Card | None:
        href = link.get("href")
        blocks = _blocks([link], set())
        if href is None or len(blocks) < 2:
            return None
        # The title block is left out of the text by `_entry`, which drops blocks equal to the title.
        return _Card(link, _title_text(blocks[0].text), [link], _join(self.base, str(href)), set())

    def _list_card(self, item: Tag) -> _Card | None:
        link = item.find("a", href=True)
        if not isinstance(link, Tag):
            return None
        title = _title_text(link.get_text())
        if not title:
            return None
        return _Card(item, title, [item], _join(self.base, str(link.get("href"))), {id(link)})

    def _standalone_link(self, extent: list[PageElement]) -> str | None:
        for link in _links(extent):
            if _stands_alone(link, extent):
                url = _join(self.base, str(link.get("href")))
                if url is not None:
                    return url
        return None

    # -- text --

    def _maintainer(self) -> str | None:
        for block in _blocks([self.root], set()):
            match = _MAINTAINED.match(block.text)
            if match:
                return match.group(1)
        return None

    def _intro(self, heading: Tag, card_ids: set[int]) -> str:
        skip = {id(heading)} | card_ids
        return " ".join(b.text for b in _blocks(self._extent(heading), skip))

    def _entry(self, card: _Card) -> HubEntry:
        section = self._section_of(card.anchor)
        title, author = split_author(card.title)
        skip = card.skip | {id(a) for a in _links(card.extent) if _is_button(a, card.extent)}
        description: list[str] = []
        status: list[str] = []
        for block in _blocks(card.extent, skip):
            if _title_text(block.text) == card.title:
                continue
            (status if _is_status(block) else description).append(block.text)
        return HubEntry(
            section=_clean(section.get_text()) if section is not None else NO_SECTION,
            title=title,
            author=author,
            text=" ".join(description),
            url=card.link,
            status=" ".join(status) or None,
        )


def _title_text(text: str) -> str:
    return _clean(text).strip(_TITLE_ARROWS).strip()


def _links(extent: list[PageElement]) -> list[Tag]:
    found: list[Tag] = []
    for node in extent:
        if isinstance(node, Tag):
            if node.name == "a" and node.get("href") is not None:
                found.append(node)
            found.extend(a for a in node.find_all("a", href=True) if isinstance(a, Tag))
    return found


def _stands_alone(link: Tag, extent: list[PageElement]) -> bool:
    """The link is a line of its own (a button, a bare URL), not a phrase inside a sentence."""
    text = _clean(link.get_text())
    if not text:
        return True  # an icon or image link
    tops = {id(n) for n in extent}
    # Climb through inline wrappers (<span><a>...</a></span>) to the child of the nearest block.
    child: Tag = link
    while id(child) not in tops and child.parent is not None and child.parent.name not in _BLOCK_TAGS:
        child = child.parent
    if _clean(child.get_text()) != text:
        return False
    if id(child) in tops:
        return True
    for siblings in (child.previous_siblings, child.next_siblings):
        for sibling in siblings:
            if isinstance(sibling, Tag) and (sibling.name in _BLOCK_TAGS or sibling.name == "br"):
                break
            if isinstance(sibling, PreformattedString):
                continue
            if isinstance(sibling, (Tag, NavigableString)) and _clean(sibling.get_text()):
                return False
    return True


def _is_button(link: Tag, extent: list[PageElement]) -> bool:
    text = _clean(link.get_text())
    if any(id(link) == id(n) for n in extent):
        return False  # the card's own wrapper: its text is the card
    looks_like_url = text.startswith(("http://", "https://", "www."))
    return _stands_alone(link, extent) and (looks_like_url or len(text.split()) <= _BUTTON_MAX_WORDS)


def _blocks(extent: Iterable[PageElement], skip: set[int]) -> list[_Block]:
    """The visible text of `extent`, one entry per block element (or `<br>`), skipping `skip` subtrees."""
    blocks: list[_Block] = []
    parts: list[str] = []
    current: PageElement | None = None

    def flush() -> None:
        text = _clean("".join(parts))
        if text and current is not None:
            blocks.append(_Block(text, current))
        parts.clear()

    for top in extent:
        nodes = [top] if isinstance(top, NavigableString) else [top, *top.descendants] if isinstance(top, Tag) else []
        for node in nodes:
            if isinstance(node, Tag):
                if node.name == "br":
                    flush()
                continue
            if not isinstance(node, NavigableString) or isinstance(node, PreformattedString):
                continue
            block, skipped = _block_of(node, top, skip)
            if skipped:
                continue
            if block is not current:
                flush()
                current = block
            parts.append(str(node))
    flush()
    return blocks


def _block_of(node: NavigableString, top: PageElement, skip: set[int]) -> tuple[PageElement, bool]:
    block: PageElement | None = None
    element: PageElement = node
    while True:
        if id(element) in skip:
            return element, True
        if block is None and isinstance(element, Tag) and element.name in _BLOCK_TAGS:
            block = element
        if element is top or element.parent is None:
            break
        element = element.parent
    return (block if block is not None else top), False


def _is_status(block: _Block) -> bool:
    if len(block.text) > _STATUS_MAX:
        return False
    if is_status_line(block.text):
        return True  # the status reader's own notion: "Submissions are now open", "Nominations close 12 May"
    element = block.element
    return isinstance(element, Tag) and any("status" in c for c in _classes(element))


# --- titles, authors, URLs ----------------------------------------------------------------------------

_DASHES = re.compile("[\u2010-\u2015\u2212\ufe58\ufe63\uff0d]")
_QUOTES = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'", "`": "'",
     "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"'}
)
_AUTHOR_SUFFIX = re.compile(r"^(?P<title>.+?)\s+-\s+(?P<author>[^-]+?)$")
_NAME_PARTICLES = frozenset({"de", "van", "von", "der", "den", "la", "le", "du", "da", "di", "al", "bin", "of"})
_MAX_AUTHOR_WORDS = 5


def _plain(text: str) -> str:
    """Typography a maintainer would not call a change: curly quotes, dash variants, spacing, width forms."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    return " ".join(_DASHES.sub("-", text).translate(_INVISIBLE_CHARS).split())


def split_author(heading: str) -> tuple[str, str | None]:
    """"Working on Remote Machines - Lucia Quirke" -> ("Working on Remote Machines", "Lucia Quirke")."""
    heading = _clean(heading)
    match = _AUTHOR_SUFFIX.match(_DASHES.sub("-", heading))
    if match is None or not _looks_like_name(match.group("author")):
        return heading, None
    # Slice the original so the title keeps its own typography (an en dash stays an en dash).
    title = heading[: len(match.group("title"))]
    return title, heading[match.start("author") :]


def _looks_like_name(text: str) -> bool:
    words = text.split()
    if not 1 <= len(words) <= _MAX_AUTHOR_WORDS or any(ch.isdigit() for ch in text):
        return False
    return all(w[0].isupper() or w.lower() in _NAME_PARTICLES for w in words) and words[0][0].isupper()


def title_key(title: str, author: str | None = None) -> str:
    """The identity of a title for matching: typography, case and an author suffix do not count."""
    plain, _ = split_author(_plain(title))
    key = plain.casefold()
    if author:
        # A suffix that does not read like a name ("- apart research") still names this entry's author.
        key = key.removesuffix(f" - {_plain(author).casefold()}")
    return re.sub(r"\s*&\s*", " and ", key).strip(" .:")


def url_key(url: str) -> str:
    """The identity of a URL for matching: scheme (http/https), `www.`, host case, trailing slash do not count."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").removeprefix("www.")
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    key = host + parts.path.rstrip("/")
    if scheme not in ("http", "https", ""):
        key = f"{scheme}:{key}"
    if parts.query:
        key += f"?{parts.query}"
    if parts.fragment:
        key += f"#{parts.fragment}"
    return key


# --- catalog YAML ---------------------------------------------------------------------------------------

CATALOG_VERSION = 1
_PROGRAM_SECTION = re.compile(r"training|program", re.IGNORECASE)
_FUNDER_SECTION = re.compile(r"funder|grant|funding", re.IGNORECASE)
_MAX_ID = 48
_NO_LINK_NOTE = "The hub shows no link for this entry: find its target and set url."
_HEADER = (
    "# Catalog imported from the hub page by `hub-monitor import`. Check every url before relying on it:\n"
    "# null means the hub page showed no link for that entry.\n"
)


def _kind(section: str) -> Kind:
    if _FUNDER_SECTION.search(section):
        return Kind.FUNDER
    if _PROGRAM_SECTION.search(section):
        return Kind.PROGRAM
    return Kind.RESOURCE


def _slug(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", _plain(title)).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", ascii_title.lower())
    slug = ""
    for word in words:
        if slug and len(slug) + 1 + len(word) > _MAX_ID:
            break
        slug = f"{slug}-{word}" if slug else word[:_MAX_ID]
    return slug or "entry"


def _unique_id(title: str, taken: set[str]) -> str:
    base = _slug(title)
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    taken.add(candidate)
    return candidate


def _entry_data(entry: HubEntry, entry_id: str) -> dict[str, Any]:
    section = _text(entry.section) or NO_SECTION
    url, problem = _checkable(entry.url)
    item: dict[str, Any] = {
        "id": entry_id,
        "section": section,
        "title": _entry_title(entry),
        "url": url,
        "kind": str(_kind(section)),
    }
    if _text(entry.author):
        item["author"] = _text(entry.author)
    if _text(entry.status):
        item["status"] = _text(entry.status)
    if problem:
        item["notes"] = f"The hub's link cannot be checked ({problem}): find its target and set url."
    elif url is None:
        item["notes"] = _NO_LINK_NOTE
    return item


def catalog_data(page: HubPage, hub_url: str) -> dict[str, Any]:
    """The catalog as plain data: what `to_catalog_yaml` writes and `yaml.safe_load` reads back.

    Whatever the page holds, the result passes `hub-monitor validate`: a missing title falls back to the
    address, a link that cannot be checked (mailto:, a password in it, 3,000 characters) becomes url: null
    with a note saying why, and text that UTF-8 cannot hold is mended.
    """
    url, _ = _checkable(hub_url)
    hub: dict[str, Any] = {"title": _text(page.title) or _title_from_url(url) or "Imported hub"}
    if url:
        hub["url"] = url
    if _text(page.maintainer):
        hub["maintainer"] = _text(page.maintainer)
    taken: set[str] = set()
    entries = [_entry_data(e, _unique_id(_entry_title(e), taken)) for e in page.entries]
    return {"version": CATALOG_VERSION, "hub": hub, "entries": entries}


def _text(value: str | None) -> str | None:
    """`value` as the catalog can hold it (lone surrogates mended), or None when nothing visible is left."""
    if value is None:
        return None
    mended = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return mended if mended.strip() else None


def _checkable(url: str | None) -> tuple[str | None, str | None]:
    """(the URL, None) when `validate` accepts it, else (None, why not)."""
    from monitor.catalog import url_problem

    if url is None:
        return None, None
    problem = url_problem(url)
    return (None, problem) if problem else (url, None)


def _entry_title(entry: HubEntry) -> str:
    return _text(entry.title) or _title_from_url(entry.url) or "Untitled entry"


def _title_from_url(url: str | None) -> str | None:
    """"example.org/guide" for a page without a title of its own."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    shown = (parts.hostname or "") + parts.path.rstrip("/")
    return _text(shown[:120])


class _CatalogDumper(yaml.SafeDumper):
    # Indent list items under their key ("entries:\n  - id: ..."), as the catalog is written by hand.
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # PyYAML writes NEL (U+0085) raw in plain and single-quoted scalars, where its reader folds it into a
    # space; only the double-quoted style escapes it.
    style = '"' if "\x85" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_CatalogDumper.add_representer(str, _represent_str)


def _dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_CatalogDumper, sort_keys=False, allow_unicode=True, width=110)


def to_catalog_yaml(page: HubPage, hub_url: str) -> str:
    """The page as a schema-1 catalog, ready to save as `catalog/hub.yaml` and review."""
    text = _dump(catalog_data(page, hub_url))
    # A blank line between entries. Below the top-level `entries:` key only an entry's own "  - " line starts
    # at this indent: continuation lines of its fields' scalars are indented deeper.
    head, key, entries = text.partition("\nentries:\n")
    return _HEADER + head + key + re.sub(r"\n(?=  - )", "\n\n", entries)


def _yaml_field(name: str, value: Any) -> str:
    return yaml.dump({name: value}, Dumper=_CatalogDumper, allow_unicode=True, width=10**6).rstrip("\n")


# --- drift between the catalog and the hub --------------------------------------------------------------


class DriftKind(StrEnum):
    NEW_ON_HUB = "new-on-hub"
    GONE_FROM_HUB = "gone-from-hub"
    CANDIDATE_NOT_ON_HUB = "candidate-not-on-hub"
    LINK_CHANGED = "link-changed"
    STATUS_CHANGED = "hub-status-changed"
    TITLE_CHANGED = "title-changed"


@dataclass(frozen=True)
class DriftItem:
    """One way the catalog no longer matches the hub, with the catalog change that fixes it."""

    kind: DriftKind
    entry_id: str  # the catalog id, or for a new entry the id proposed in `fix`
    title: str
    message: str
    fix: str
    line: int = 0  # the catalog entry's first line, 0 for an entry the catalog lacks
    hub: str | None = None
    catalog: str | None = None

    def finding(self) -> Finding:
        evidence = {"drift": str(self.kind)}
        if self.hub is not None:
            evidence["hub"] = self.hub
        if self.catalog is not None:
            evidence["catalog"] = self.catalog
        return Finding(Code.HUB_DRIFT, self.message, evidence=evidence, fix=self.fix)


def hub_drift(entries: Sequence[Entry], page: HubPage) -> list[DriftItem]:
    """Compare the catalog with the hub: entries added or removed on the hub, changed links, status lines, titles.

    Entries are matched by `title_key`, then by `url_key` of the catalog's url and aliases. The hub showing
    no link for an entry is not drift: the catalog's URL is still the best thing to check. Items come in
    catalog order, then new hub entries in page order.
    """
    pairs, unmatched = _match(entries, page.entries)
    items: list[DriftItem] = []
    for entry in entries:
        if id(entry) in pairs:
            hub_entry, by_url = pairs[id(entry)]
            items += _compare(entry, hub_entry, by_url)
        elif entry.notes and "unconfirmed" in entry.notes.casefold():
            items.append(_candidate_absent(entry))
        else:
            items.append(_gone(entry))
    taken = {e.id for e in entries}
    items += [_new(hub_entry, _unique_id(hub_entry.title, taken)) for hub_entry in unmatched]
    return items


def _match(entries: Sequence[Entry], hub: list[HubEntry]) -> tuple[dict[int, tuple[HubEntry, bool]], list[HubEntry]]:
    free = list(range(len(hub)))
    pairs: dict[int, tuple[HubEntry, bool]] = {}
    keys = [title_key(h.title, h.author) for h in hub]
    for entry in entries:
        key = title_key(entry.title, entry.author)
        index = next((i for i in free if keys[i] == key), None)
        if index is not None:
            free.remove(index)
            pairs[id(entry)] = (hub[index], False)
    for entry in entries:
        if id(entry) in pairs:
            continue
        urls = {url_key(u) for u in (entry.url, *entry.aliases) if u}
        index = next((i for i in free if hub[i].url and url_key(hub[i].url or "") in urls), None)
        if index is not None:
            free.remove(index)
            pairs[id(entry)] = (hub[index], True)
    return pairs, [hub[i] for i in free]



def _compare(entry: Entry, hub_entry: HubEntry, by_url: bool) -> list[DriftItem]:
    items: list[DriftItem] = []
    if by_url and title_key(entry.title, entry.author) != title_key(hub_entry.title, hub_entry.author):
        items.append(DriftItem(
            DriftKind.TITLE_CHANGED, entry.id, entry.title,
            f"The hub now titles “{entry.title}” as “{hub_entry.title}” (same link).",
            f"Set “{_yaml_field('title', hub_entry.title)}” in {entry.where}.",
            entry.line, hub_entry.title, entry.title,
        ))
    known = {url_key(u) for u in (entry.url, *entry.aliases) if u}
    if hub_entry.url is not None and url_key(hub_entry.url) not in known:
        items.append(_link_changed(entry, hub_entry.url))
    if _status_key(hub_entry.status) != _status_key(entry.status):
        items.append(_status_changed(entry, hub_entry))
    return items


def _status_key(status: str | None) -> str:
    return _plain(status).casefold() if status else ""


def _link_changed(entry: Entry, hub_url: str) -> DriftItem:
    if entry.url is None:
        message = f"The hub links “{entry.title}” to {hub_url}; the catalog has no link for it."
        fix = f"Set “{_yaml_field('url', hub_url)}” in {entry.where}."
    else:
        message = f"The hub links “{entry.title}” to {hub_url}, but the catalog checks {entry.url}."
        fix = (
            f"Set “{_yaml_field('url', hub_url)}” in {entry.where}; or, if {hub_url} now leads to "
            f"{entry.url}, add it to that entry's aliases."
        )
    return DriftItem(DriftKind.LINK_CHANGED, entry.id, entry.title, message, fix, entry.line, hub_url, entry.url)


def _status_changed(entry: Entry, hub_entry: HubEntry) -> DriftItem:
    if hub_entry.status is None:
        shown = f" Its text there reads: “{hub_entry.text}”." if hub_entry.text else ""
        message = f"The hub no longer shows a status line for “{entry.title}”.{shown}"
        fix = f"Remove status from {entry.where}, or set it to the hub's new wording."
    elif entry.status is None:
        message = f"The hub shows a status line for “{entry.title}” that the catalog lacks."
        fix = f"Add “{_yaml_field('status', hub_entry.status)}” to {entry.where}."
    else:
        message = f"The hub's status line for “{entry.title}” changed."
        fix = f"Set “{_yaml_field('status', hub_entry.status)}” in {entry.where}."
    return DriftItem(
        DriftKind.STATUS_CHANGED, entry.id, entry.title, message, fix, entry.line, hub_entry.status, entry.status
    )


def _candidate_absent(entry: Entry) -> DriftItem:
    return DriftItem(
        DriftKind.CANDIDATE_NOT_ON_HUB, entry.id, entry.title,
        f"Candidate not on the hub: remove it. “{entry.title}” was added as an unconfirmed candidate, "
        "and the hub does not list it.",
        f"Delete {entry.where}.",
        entry.line, None, entry.url,
    )


def _gone(entry: Entry) -> DriftItem:
    return DriftItem(
        DriftKind.GONE_FROM_HUB, entry.id, entry.title,
        f"“{entry.title}” is in the catalog but no longer on the hub.",
        f"Delete {entry.where}; if the hub renamed it, set its title (and url) to the hub's instead.",
        entry.line, None, entry.url,
    )


def _new(hub_entry: HubEntry, entry_id: str) -> DriftItem:
    snippet = _dump([_entry_data(hub_entry, entry_id)])
    indented = "".join(f"  {line}" if line.strip() else line for line in snippet.splitlines(keepends=True))
    return DriftItem(
        DriftKind.NEW_ON_HUB, entry_id, hub_entry.title,
        f"The hub lists “{hub_entry.title}” under “{hub_entry.section}”, but the catalog has no such entry.",
        f"Add it under entries::\n{indented.rstrip()}",
        0, hub_entry.url, None,
    )
