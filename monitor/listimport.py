"""Read a Markdown list of links (an "awesome" list, a reading list, a course page) as a hub page.

The form most curated lists on GitHub take: headings name the sections, and each list item (or table row) with a
link is an entry: the link's text is its title, its target the URL, and the text after the link the description
(badges and images dropped). A status the list states ("Applications open until March 1") becomes the entry's
status line. The result is the same `HubPage` that `hub-monitor import` reads from HTML, so one writer
(monitor/hub.py) turns either into a catalog.

    parse_markdown(text, title=..., base_url=...) -> HubPage
    to_catalog_yaml(page, hub_url, notes) -> str

Bounded: the text is read line by line with regular expressions that do not backtrack across lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from monitor.hub import HubEntry, HubPage, HubSection, catalog_data
from monitor.hub import _dump as dump_catalog  # the HTML import's writer: one YAML style for every catalog
from monitor.status import find_status_sentences

# Sections that are about the list, not in it.
_SKIP_SECTIONS = re.compile(
    r"^(table of contents|contents|toc|contribut\w*|licen[cs]e|backers|sponsors?|credits|footnotes|"
    r"how to (contribute|cite)|citation|acknowledge?ments?)$",
    re.I,
)
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])\s+(.*\S)\s*$")
_ROW = re.compile(r"^\s*\|(.*)\|\s*$")
_RULE_ROW = re.compile(r"^[\s|:-]+$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_REF_DEF = re.compile(r"^\s{0,3}\[([^\]]{1,200})\]:\s*<?(\S+?)>?(?:\s+[\"'(].*)?$")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
# A link: [text](url "title") or [text][ref]; the text may hold one level of brackets (a badge image).
_TEXT = r"((?:[^\[\]\n]|\[[^\[\]\n]*\]){0,500})"
_INLINE = re.compile(r"(!?)\[" + _TEXT + r"\]\(\s*<?([^)\s>]{1,2000})>?(?:\s+\"[^\"\n]*\")?\s*\)")
_REFLINK = re.compile(r"(!?)\[" + _TEXT + r"\]\[([^\]\n]{0,200})\]")
_HTML_TAG = re.compile(r"<[^>\n]{0,500}>")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
_LEAD = re.compile(r"^[\s\]\-–—:,;|·]+")
_BY = re.compile(r"^by\s+([^—–\-,;]{2,80}?)\s*(?:[—–-]\s+|$)")


@dataclass(frozen=True)
class _Link:
    text: str
    url: str
    start: int
    end: int
    image: bool  # an image, or a link whose text is an image (a badge)


def parse_markdown(
    text: str, *, title: str | None = None, base_url: str | None = None, fallback_title: str = "Links"
) -> tuple[HubPage, list[str]]:
    """The list as a HubPage, and each entry's description (same order) for the catalog's `notes`.

    The hub's title is `title`, else the first level-1 heading, else `fallback_title`."""
    text = _COMMENT.sub("", text)
    refs = _reference_definitions(text)
    page = HubPage(title=title or "")
    notes: list[str] = []
    section: str | None = None
    skipping = False
    in_fence = False
    seen_sections: set[str] = set()
    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence or _REF_DEF.match(line):
            continue
        heading = _HEADING.match(line)
        if heading:
            name = _plain(heading.group(2))
            if len(heading.group(1)) == 1 and not page.title and name:
                page.title = name
            skipping = bool(_SKIP_SECTIONS.match(name))
            section = name or section
            continue
        body = _item_body(line)
        if body is None or skipping:
            continue
        found = _entry(body, refs, base_url)
        if found is None:
            continue
        link, description = found
        name = section or page.title or fallback_title
        if name not in seen_sections:
            seen_sections.add(name)
            page.sections.append(HubSection(name))
        author, description = _author(description)
        statuses = find_status_sentences(description) if description else []
        page.entries.append(HubEntry(section=name, title=_plain(link.text) or link.url, author=author,
                                     text=description, url=link.url,
                                     status=statuses[0] if statuses else None))  # fmt: skip
        notes.append(description)
    page.title = page.title or fallback_title
    return page, notes


def to_catalog_yaml(page: HubPage, hub_url: str | None, notes: list[str], source: str) -> str:
    """The catalog YAML for a list read by `parse_markdown`, each description kept as the entry's notes.

    `hub.url` is left out: the nightly check reads a hub page as HTML to compare it with the catalog, and a
    Markdown list's page (GitHub's rendering of a README) is not the list's own text. The list's address is
    kept in the header instead."""
    data: dict[str, Any] = catalog_data(page, "")  # no hub url: catalog_data leaves the key out
    for item, note in zip(data["entries"], notes, strict=True):
        if note:
            item["notes"] = note
    where = f" ({hub_url})" if hub_url and hub_url != source else ""
    header = (f"# Catalog made by `hub-monitor init` from {source}{where}: one entry per linked list item.\n"
              "# Check each title, section and url; `hub-monitor validate` checks the file.\n")
    text = dump_catalog(data)
    head, key, entries = text.partition("\nentries:\n")
    return header + head + key + re.sub(r"\n(?=  - )", "\n\n", entries)


def _reference_definitions(text: str) -> dict[str, str]:
    refs: dict[str, str] = {}
    for line in text.splitlines():
        m = _REF_DEF.match(line)
        if m:
            refs.setdefault(m.group(1).strip().lower(), m.group(2))
    return refs


def _item_body(line: str) -> str | None:
    item = _ITEM.match(line)
    if item:
        return item.group(1)
    row = _ROW.match(line)
    if row and not _RULE_ROW.match(row.group(1)):
        # A table row: the cells, in order, read like an item's text.
        return " | ".join(cell.strip() for cell in row.group(1).split("|"))
    return None


def _links(body: str, refs: dict[str, str]) -> list[_Link]:
    found: list[_Link] = []
    for m in _INLINE.finditer(body):
        found.append(_Link(m.group(2), m.group(3), m.start(), m.end(), bool(m.group(1)) or "![" in m.group(2)))
    for m in _REFLINK.finditer(body):
        if any(link.start <= m.start() < link.end for link in found):
            continue
        url = refs.get((m.group(3) or m.group(2)).strip().lower())
        if url:
            found.append(_Link(m.group(2), url, m.start(), m.end(), bool(m.group(1)) or "![" in m.group(2)))
    return sorted(found, key=lambda link: link.start)


def _entry(body: str, refs: dict[str, str], base_url: str | None) -> tuple[_Link, str] | None:
    """The item's link (the first that is not a badge and resolves to http(s)) and its description."""
    for link in _links(body, refs):
        if link.image:
            continue
        url = _absolute(link.url, base_url)
        if url is None:
            continue
        before = _describe(body[: link.start], refs)
        after = _describe(body[link.end :], refs)
        description = f"{before} {after}".strip() if before else after
        return _Link(link.text, url, link.start, link.end, False), description
    return None


def _absolute(url: str, base_url: str | None) -> str | None:
    if url.startswith("#"):
        return None  # a place on the list's own page
    if base_url:
        url = urljoin(base_url, url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None  # a relative link to the list's own files, or mailto: and the like
    return url


def _describe(text: str, refs: dict[str, str]) -> str:
    """Plain text of the part of an item around its link: badges and images dropped, links as their text."""
    out, last = [], 0
    for link in _links(text, refs):
        out.append(text[last : link.start])
        if not link.image:
            out.append(link.text)
        last = link.end
    out.append(text[last:])
    plain = _plain("".join(out))
    if "[" not in plain:
        plain = plain.replace("]", "")  # stray brackets left by a list's typos ("(url)] - desc")
    return _LEAD.sub("", " ".join(plain.split())).strip()


def _author(description: str) -> tuple[str | None, str]:
    m = _BY.match(description)
    if not m:
        return None, description
    return m.group(1).strip(), description[m.end() :].strip()


def _plain(text: str) -> str:
    text = _HTML_TAG.sub("", text)
    text = _INLINE.sub(lambda m: "" if m.group(1) else m.group(2), text)
    for _ in range(3):  # nested emphasis, bounded
        text = _EMPHASIS.sub(r"\2", text)
    text = text.replace("\\", "")
    text = " ".join(text.split())
    if len(text) > 1 and text[0] == text[-1] and text[0] in "\"'“":
        text = text[1:-1]
    return text.strip()
