"""The catalog stage: read and validate `catalog/hub.yaml` (schema version 1) into a `Catalog`.

`load_catalog` either returns a complete `Catalog` or raises `CatalogError` listing every problem in the file at
once, each as `file:line: field: message`. It raises nothing else for bad input: a missing file, bytes that are
not UTF-8, YAML syntax errors and values of the wrong shape are all problems. Things that are odd but harmless
(the same URL listed twice) are returned as `Catalog.warnings`.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlsplit

from yaml.nodes import MappingNode, Node

from monitor.addresses import host_problem
from monitor.findings import Code
from monitor.inputfile import CATALOG_LIMIT
from monitor.models import Acceptance, Entry, Hub, Kind
from monitor.settings import Settings, read_settings
from monitor.yamlcheck import BAD, CatalogError, Problem, Reader, line_of, suggest

__all__ = ["SCHEMA_VERSION", "Catalog", "CatalogError", "Problem", "load_catalog", "url_problem"]

SCHEMA_VERSION = 1

_TOP_KEYS = ("version", "hub", "entries", "settings")
_HUB_KEYS = ("title", "url", "maintainer")
_ENTRY_KEYS = (
    "id", "section", "title", "url", "kind", "author", "status", "aliases", "expect", "watch", "notes", "accept",
)  # fmt: skip
_ACCEPT_KEYS = ("code", "until", "reason")
# `url` is required but may be null: an entry without a known link says so explicitly instead of forgetting it.
_ENTRY_REQUIRED = ("id", "section", "title", "url")
_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
MAX_URL_LENGTH = 2048
MAX_SELECTOR_LENGTH = 1000
MAX_SELECTOR_PARTS = 64
# What separates compound selectors: descendant spaces, the combinators > + ~ and commas.
_SELECTOR_PARTS = re.compile(r"\s*[>+~,]\s*|\s+")
_USERINFO = re.compile(r"://[^/?#]*@")
# Any character str.isspace() calls a space (re's \s is that same set), or a control character below 32.
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f]")


@dataclass(frozen=True)
class Catalog:
    path: str
    version: int
    hub: Hub
    entries: tuple[Entry, ...]
    settings: Settings
    warnings: tuple[Problem, ...] = ()

    def entry(self, entry_id: str) -> Entry:
        """The entry with this id; KeyError if there is none."""
        for entry in self.entries:
            if entry.id == entry_id:
                return entry
        raise KeyError(entry_id)


def load_catalog(path: Path) -> Catalog:
    """Read and validate a catalog file; raises CatalogError with every problem found."""
    reader = Reader(str(path))
    root = reader.compose_file(Path(path), CATALOG_LIMIT)
    if root is None:
        raise CatalogError(reader.problems)
    if not isinstance(root, MappingNode):
        reader.error(root, "", f"the top level must be a mapping (version, hub, entries), not {reader.describe(root)}")
        raise CatalogError(reader.problems)
    top = reader.fields(root, "", _TOP_KEYS, required=("version", "hub", "entries")) or {}
    version = _read_version(reader, top.get("version"))
    hub = _read_hub(reader, top["hub"]) if "hub" in top else None
    entries = _read_entries(reader, top["entries"]) if "entries" in top else []
    settings = (
        read_settings(reader, top["settings"], "settings", Settings(), in_catalog=True)
        if "settings" in top
        else Settings()
    )
    if reader.problems or hub is None or version is None:
        raise CatalogError(reader.problems)
    return Catalog(
        path=reader.file,
        version=version,
        hub=hub,
        entries=tuple(entries),
        settings=settings,
        warnings=tuple(sorted(reader.warnings, key=lambda p: (p.line, p.field))),
    )


def url_problem(url: str) -> str | None:
    """Why `url` cannot be checked, or None when it is a usable http(s) URL."""
    if len(url) > MAX_URL_LENGTH:
        # Servers and CDNs refuse longer request lines; `check` would blame the server for the catalog's URL.
        return f"{_shown(url)} is {len(url):,} characters long; a URL may have at most {MAX_URL_LENGTH:,}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- only for the ValueError a bad port raises
    except ValueError:
        return f"{url!r} is not a valid URL"
    if parts.scheme.lower() not in ("http", "https"):
        hint = f" (did you mean 'https://{url}'?)" if not parts.scheme and "." in url.split("/")[0] else ""
        return f"{url!r} is not an http(s) URL{hint}"
    if not parts.hostname:
        return f"{url!r} has no host"
    host = host_problem(parts.hostname)
    if host is not None:
        return f"{url!r}: the host {host}"
    if _SPACE_OR_CONTROL.search(url):
        return f"{url!r} contains spaces or control characters; percent-encode them (%20)"
    if "@" in parts.netloc:
        # The catalog and the reports are public: a password here would be published every night.
        return (f"{_USERINFO.sub('://***@', url, count=1)!r} contains a user name or password (user:pass@); "
                "remove it: the catalog and the reports are public. A site that needs a login takes a header "
                "in a --config file: hosts: {HOST: {headers: {Authorization: ...}}}")
    return None


def _shown(url: str) -> str:
    return repr(url) if len(url) <= 80 else f"{url[:80]!r}…"


def _read_version(reader: Reader, node: Node | None) -> int | None:
    if node is None:
        return None
    version = reader.integer(node, "version", minimum=0)
    if version is not None and version != SCHEMA_VERSION:
        reader.error(
            node, "version", f"unsupported schema version {version}; this hub-monitor reads version {SCHEMA_VERSION}"
        )
        return None
    return version


def _read_hub(reader: Reader, node: Node) -> Hub | None:
    found = reader.fields(node, "hub", _HUB_KEYS, required=("title",))
    if found is None or "title" not in found:
        return None
    title = reader.text(found["title"], "hub.title")
    url = _read_url(reader, found["url"], "hub.url") if "url" in found else None
    maintainer = reader.text(found["maintainer"], "hub.maintainer", nullable=True) if "maintainer" in found else None
    return Hub(title=title, url=url, maintainer=maintainer) if title is not None else None


def _read_url(reader: Reader, node: Node, field: str) -> str | None:
    url = reader.text(node, field, nullable=True)
    if url is None:
        return None
    problem = url_problem(url)
    if problem:
        reader.error(node, field, problem)
        return None
    return url


def _read_entries(reader: Reader, node: Node) -> list[Entry]:
    items = reader.sequence(node, "entries")
    if not items and not reader.problems:
        reader.warn(node, "entries", "the catalog has no entries: nothing will be checked")
    entries: list[Entry] = []
    ids: dict[str, int] = {}
    urls: dict[str, str] = {}
    for index, item in enumerate(items):
        entry = _read_entry(reader, item, f"entries[{index}]", ids)
        if entry is None:
            continue
        _note_urls(reader, item, f"entries[{index}]", entry, urls)
        entries.append(entry)
    return entries


def _read_entry(reader: Reader, node: Node, field: str, ids: dict[str, int]) -> Entry | None:
    found = reader.fields(node, field, _ENTRY_KEYS, required=_ENTRY_REQUIRED)
    if found is None:
        return None
    before = len(reader.problems)

    def text(key: str, *, nullable: bool = True) -> str | None:
        return reader.text(found[key], f"{field}.{key}", nullable=nullable) if key in found else None

    entry_id = _read_id(reader, found["id"], f"{field}.id", ids) if "id" in found else None
    section = text("section", nullable=False)
    title = text("title", nullable=False)
    url = _read_url(reader, found["url"], f"{field}.url") if "url" in found else None
    kind = _read_kind(reader, found["kind"], f"{field}.kind") if "kind" in found else Kind.RESOURCE
    aliases = _read_aliases(reader, found["aliases"], f"{field}.aliases") if "aliases" in found else ()
    expect = tuple(p for _, p in reader.texts(found["expect"], f"{field}.expect")) if "expect" in found else ()
    watch = _read_watch(reader, found["watch"], f"{field}.watch") if "watch" in found else None
    notes = text("notes")
    accept = _read_accept(reader, found["accept"], f"{field}.accept") if "accept" in found else ()
    author = text("author")
    status = text("status")
    if len(reader.problems) > before or entry_id is None or section is None or title is None or kind is None:
        return None
    if url is None and not notes:
        reader.warn(node, f"{field}.url", "no URL and no notes: say in notes why the link is unknown")
    return Entry(
        id=entry_id,
        section=section,
        title=title,
        url=url,
        kind=kind,
        author=author,
        status=status,
        aliases=aliases,
        expect=expect,
        watch=watch,
        notes=notes,
        line=line_of(node),
        field_lines=tuple((key, line_of(value)) for key, value in found.items()),
        accept=accept,
    )


def _read_accept(reader: Reader, node: Node, field: str) -> tuple[Acceptance, ...]:
    """`accept:` items: {code, until (a YYYY-MM-DD date, optional), reason (optional)}."""
    items: list[Acceptance] = []
    codes = [c.value for c in Code]
    for index, item in enumerate(reader.sequence(node, field)):
        where = f"{field}[{index}]"
        found = reader.fields(item, where, _ACCEPT_KEYS, required=("code",))
        if not found or "code" not in found:
            continue
        code = reader.text(found["code"], f"{where}.code")
        if code is not None and code not in codes:
            hint = suggest(code, codes) or " (see README's finding codes)"
            reader.error(found["code"], f"{where}.code", f"unknown finding code {code!r}{hint}")
            code = None
        until = _read_date(reader, found["until"], f"{where}.until") if "until" in found else None
        reason = reader.text(found["reason"], f"{where}.reason", nullable=True) if "reason" in found else None
        if code is not None:
            items.append(Acceptance(code, until, reason, line_of(item)))
    return tuple(items)


def _read_date(reader: Reader, node: Node, field: str) -> str | None:
    if reader.is_null(node):
        return None
    value = reader.value(node, field, "a date")
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    if value is not BAD:
        reader.error(node, field, f"expected a date like 2026-12-31, got {getattr(node, 'value', value)!r}")
    return None


def _read_id(reader: Reader, node: Node, field: str, ids: dict[str, int]) -> str | None:
    """The entry's id, checked to be a slug and not taken by an earlier entry (recorded in `ids`)."""
    entry_id = reader.text(node, field)
    if entry_id is None:
        return None
    if not _ID.fullmatch(entry_id):
        reader.error(
            node, field, f"{entry_id!r} is not a lowercase slug (letters a-z, digits and hyphens, e.g. 'arena')"
        )
        return None
    if entry_id in ids:
        reader.error(node, field, f"duplicate id {entry_id!r} (first used on line {ids[entry_id]})")
        return None
    ids[entry_id] = line_of(node)
    return entry_id


def _read_kind(reader: Reader, node: Node, field: str) -> Kind | None:
    value = reader.text(node, field, nullable=True)
    if value is None:
        return Kind.RESOURCE if reader.is_null(node) else None
    try:
        return Kind(value)
    except ValueError:
        choices = [k.value for k in Kind]
        hint = suggest(value, choices) or f" (expected one of: {', '.join(choices)})"
        reader.error(node, field, f"unknown kind {value!r}{hint}")
        return None


def _read_aliases(reader: Reader, node: Node, field: str) -> tuple[str, ...]:
    aliases: list[str] = []
    for index, item in enumerate(reader.sequence(node, field)):
        alias = _read_url(reader, item, f"{field}[{index}]")
        if alias is not None:
            aliases.append(alias)
    return tuple(aliases)


def _read_watch(reader: Reader, node: Node, field: str) -> str | None:
    selector = reader.text(node, field, nullable=True)
    if selector is None:
        return None
    # The selector libraries recurse once per compound selector: 600 of them overflowed the stack.
    parts = len(_SELECTOR_PARTS.split(selector.strip()))
    if len(selector) > MAX_SELECTOR_LENGTH or parts > MAX_SELECTOR_PARTS:
        reader.error(node, field, f"the selector is too complex ({len(selector)} characters, {parts} parts); "
                     f"at most {MAX_SELECTOR_LENGTH} characters and {MAX_SELECTOR_PARTS} parts: name the region "
                     "by an id or a class, e.g. 'main #status'")
        return None
    # Imported here: the selector libraries cost a third of a second of start-up, and most catalogs watch nothing.
    import soupsieve

    from monitor.extract import InvalidSelector, compile_selector

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            soupsieve.compile(selector)
        except (soupsieve.SelectorSyntaxError, NotImplementedError, ValueError, RecursionError) as exc:
            # soupsieve's message continues with a drawing of the selector; the first line is the reason.
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            reader.error(node, field, f"{selector!r} is not a valid CSS selector: {reason}")
            return None
    try:
        # The page reader runs selectors through cssselect: one it cannot translate would watch nothing.
        compile_selector(selector)
    except (InvalidSelector, RecursionError) as exc:
        reader.error(node, field, f"{selector!r} is not a CSS selector the page reader supports: {exc}")
        return None
    for warning in caught:
        reader.warn(node, field, str(warning.message))
    return selector


def _url_key(url: str) -> str:
    # Two spellings of one address (host case, a trailing slash) are still one URL listed twice.
    parts = urlsplit(url)
    path = parts.path.rstrip("/") or "/"
    query = f"?{parts.query}" if parts.query else ""
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{path}{query}{fragment}"


def _note_urls(reader: Reader, node: Node, field: str, entry: Entry, urls: dict[str, str]) -> None:
    """Warn about a URL (or alias) that another entry, or this one, already lists."""
    own: list[tuple[str, str]] = [(f"{field}.url", entry.url)] if entry.url else []
    own += [(f"{field}.aliases[{i}]", alias) for i, alias in enumerate(entry.aliases)]
    for where, url in own:
        key = _url_key(url)
        if key in urls:
            reader.warn(node, where, f"{url!r} is listed twice (also {urls[key]})")
        else:
            urls[key] = f"{where}, line {entry.line}"
