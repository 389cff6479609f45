"""Reading a page: bytes + headers -> `PageText` (what a reader of the page would see).

One pure function, `extract`. It decodes the body, parses it once with lxml, drops what a reader does not
see (scripts, styles, templates, hidden elements, the site's navigation chrome), and returns the visible
text one block per line, the title, the first heading, the text of the watched region, every anchor target
and a meta-refresh target. It never raises: a page that cannot be read comes back as little or no text.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import PreformattedString
from soupsieve import SelectorSyntaxError

from monitor.models import PageText

__all__ = ["decode", "extract"]

# --- decoding ---------------------------------------------------------------------------------------

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
# The HTML spec prescans the first 1024 bytes for a declaration; real pages put long <head> preambles
# (inline CSS, analytics) first, so we look a little further.
_PRESCAN_BYTES = 4096
_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^<\?xml[^>]+encoding\s*=\s*["']([\w.:-]+)""", re.IGNORECASE)
# WHATWG Encoding: labels that browsers decode as windows-1252 (its curly quotes live in 0x80-0x9F,
# which strict latin-1 would turn into invisible C1 controls).
_AS_WINDOWS_1252 = frozenset({"latin-1", "iso8859-1", "ascii", "cp1252"})
_SINGLE_BYTE = _AS_WINDOWS_1252 | {"iso8859-15", "cp1250"}


def _codec(label: str) -> str | None:
    try:
        name = codecs.lookup(label.strip().lower()).name
    except (LookupError, ValueError):
        return None
    if name in _AS_WINDOWS_1252:
        return "cp1252"
    return name


def _declared(body: bytes, content_type: str) -> list[str]:
    """Charsets the page declares, most authoritative first (BOM, header, meta / XML declaration)."""
    found: list[str] = []
    for bom, name in _BOMS:
        if body.startswith(bom):
            found.append(name)
    labels = [m.group(1) for m in _CHARSET_PARAM.finditer(content_type)]
    head = body[:_PRESCAN_BYTES]
    labels += [m.group(1).decode("ascii", "replace") for m in _XML_ENCODING.finditer(head)]
    labels += [m.group(1).decode("ascii", "replace") for m in _META_CHARSET.finditer(head)]
    for label in labels:
        name = _codec(label)
        # A meta tag read as ASCII cannot truthfully declare UTF-16 (the spec says: treat as UTF-8).
        if name and name.startswith("utf-16") and not found:
            name = "utf-8"
        if name and name not in found:
            found.append(name)
    return found


def decode(body: bytes, content_type: str = "") -> tuple[str, str]:
    """Decode a body as a browser would, forgiving lies. Returns (text, charset name used)."""
    declared = _declared(body, content_type)
    for name in declared:
        if name in _SINGLE_BYTE and _is_utf8_with_non_ascii(body):
            # A page served as latin-1/windows-1252 whose bytes are valid, non-ASCII UTF-8 is almost always
            # a misconfigured server; decoding it as declared would turn "’" into "â€™".
            return body.decode("utf-8-sig"), "utf-8"
        try:
            text = body.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
        return text.removeprefix("\ufeff"), _label(name)
    if _is_utf8_with_non_ascii(body) or body.isascii():
        return body.decode("utf-8-sig"), "utf-8"
    return _decode_broken(body)


def _is_utf8_with_non_ascii(body: bytes) -> bool:
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")


def _decode_broken(body: bytes) -> tuple[str, str]:
    """Undeclared bytes that are not valid UTF-8: mostly UTF-8 with a few bad bytes, or windows-1252."""
    multibyte = len(_UTF8_MULTIBYTE.findall(body))
    high = len(_HIGH_BYTE.findall(body))
    # In real UTF-8 nearly every high byte belongs to a well-formed sequence; in windows-1252 almost none does.
    if multibyte and multibyte * 2 >= high / 2:
        return body.decode("utf-8", "replace").removeprefix("\ufeff"), "utf-8"
    return body.decode("cp1252", "replace"), "windows-1252"


def _label(codec_name: str) -> str:
    return {"cp1252": "windows-1252", "utf-8-sig": "utf-8"}.get(codec_name, codec_name)


# --- what a reader does not see ----------------------------------------------------------------------

_INVISIBLE_TAGS = frozenset({
    "script", "style", "template", "noscript", "head", "svg", "math", "iframe", "object", "embed",
    "canvas", "select", "option", "datalist", "button", "input", "textarea", "dialog",
})  # fmt: skip
# Navigation chrome: the same on every page of a site, so it says nothing about this page and its menus
# would make every site-wide menu edit look like a content change.
_CHROME_TAGS = frozenset({"nav"})
_CHROME_ROLES = frozenset({"navigation", "banner", "contentinfo", "menubar", "search"})
# Per the HTML spec a header/footer is the page's own only when it is not inside sectioning content.
_SECTIONING = frozenset({"article", "aside", "main", "section", "nav"})
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)

_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "body", "br", "caption", "dd", "details", "div", "dl",
    "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "li", "main", "ol", "p", "pre", "section", "summary", "table", "td", "th", "tr",
    "ul", "title",
})  # fmt: skip
_SPACES = re.compile(r"[^\S\n]+")
_INVISIBLE_CHARS = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)

# --- app shells ------------------------------------------------------------------------------------------

# A page whose reader-visible text is shorter than this, while it ships this much script, is an app shell.
_SHELL_MAX_TEXT = 300
_SHELL_MIN_SCRIPT = 20_000
_SHELL_MIN_SCRIPT_TAGS = 3
# Up to this much visible text, a "please enable JavaScript" notice or a known SPA root means the real
# content is drawn by the browser (a loading banner and a cookie notice fit comfortably under it).
_NOSCRIPT_MAX_TEXT = 1500
_ENABLE_JS = re.compile(
    r"enable javascript|javascript (?:is )?(?:required|disabled)|requires javascript|turn on javascript"
    r"|need(?:s)? javascript|javascript to (?:run|use|view)",
    re.IGNORECASE,
)
_SPA_ROOT_IDS = frozenset({"root", "app", "app-root", "__nuxt", "notion-app", "svelte", "ember-app"})
_SPA_SIGNATURES = re.compile(r"streamlit|dynalist|notion\.so|notion-app", re.IGNORECASE)

_REFRESH_URL = re.compile(r"""^\s*\d*(?:\.\d*)?\s*[;,]?\s*(?:url\s*=\s*)?["']?([^"'\s][^"']*)""", re.IGNORECASE)


def extract(body: bytes, headers: dict[str, str], watch: str | None = None) -> PageText:
    """What the page says: visible text, title, first heading, watched region, ids, meta refresh."""
    content_type = _header(headers, "content-type")
    text, charset = decode(body or b"", content_type)
    if not _is_html(content_type, text):
        return _plain_text(text, charset)
    try:
        return _html(text, charset, watch)
    except Exception:  # pragma: no cover
        # bs4/lxml are robust to garbage, but a library bug on a hostile page must cost one page's text,
        # never the run: fall back to reading the markup as plain text.
        return _plain_text(re.sub(r"<[^>]*>", " ", text), charset)


def _header(headers: dict[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value or ""
    return ""


_HTML_SNIFF = re.compile(r"<(?:!doctype\s+html|html|head|body|div|p|title|meta|a\s)[\s>/]", re.IGNORECASE)


def _is_html(content_type: str, text: str) -> bool:
    mime = content_type.split(";", 1)[0].strip().lower()
    if "html" in mime or mime.endswith("+xml"):
        return True
    if mime:
        return False
    return _HTML_SNIFF.search(text[:1024]) is not None


def _plain_text(text: str, charset: str) -> PageText:
    lines = _clean_lines(text.splitlines())
    heading = next((line.lstrip("#= ").strip() for line in lines), "")
    joined = "\n".join(lines)
    return PageText(title="", heading=heading, text=joined, watched=joined, charset=charset)


def _clean_lines(lines: Iterable[str]) -> list[str]:
    cleaned = (_SPACES.sub(" ", line.translate(_INVISIBLE_CHARS)).strip() for line in lines)
    return [line for line in cleaned if line]


def _html(text: str, charset: str, watch: str | None) -> PageText:
    soup = BeautifulSoup(text, "lxml")
    title_tag = soup.find("title")
    title = " ".join(title_tag.get_text(" ").split()) if title_tag else ""
    scan = _scan(soup)
    watched_root = _watched_root(soup, watch)
    # Detached once, after the watched region was chosen, so each later walk sees only readable nodes.
    for tag in scan.dropped:
        tag.extract()
    body = soup.body or soup
    page_text = _text_of(body)
    watched_text = page_text if watched_root is body else _text_of(watched_root) if watched_root else ""
    h1 = soup.find("h1")
    heading = " ".join(h1.get_text(" ").split()) if h1 else ""
    return PageText(
        title=title,
        heading=heading,
        text=page_text,
        watched=watched_text,
        ids=frozenset(scan.ids),
        meta_refresh=scan.meta_refresh,
        charset=charset,
        js_rendered=_looks_js_rendered(scan, page_text),
    )


class _Scan:
    __slots__ = (
        "dropped",
        "empty_spa_root",
        "ids",
        "meta_refresh",
        "noscript",
        "script_bytes",
        "scripts",
        "spa_signature",
    )

    def __init__(self) -> None:
        self.dropped: list[Tag] = []
        self.ids: set[str] = set()
        self.meta_refresh: str | None = None
        self.noscript: list[str] = []
        self.script_bytes = 0
        self.scripts = 0
        self.spa_signature = False
        self.empty_spa_root = False


def _scan(soup: BeautifulSoup) -> _Scan:
    """One pass over every element: anchors, refresh, script weight, and what to drop before reading."""
    scan = _Scan()
    for tag in soup.find_all(True):
        name = tag.name
        attrs = tag.attrs
        if "id" in attrs:
            scan.ids.add(str(attrs["id"]))
            if attrs["id"] in _SPA_ROOT_IDS and not tag.get_text(strip=True):
                scan.empty_spa_root = True
            if attrs["id"] == "notion-app":
                scan.spa_signature = True
        if name == "a" and "name" in attrs:
            scan.ids.add(str(attrs["name"]))
        if name == "script":
            scan.scripts += 1
            content = tag.string or ""
            scan.script_bytes += len(content)
            if _SPA_SIGNATURES.search(str(attrs.get("src", ""))) or _SPA_SIGNATURES.search(content[:2000]):
                scan.spa_signature = True
        elif name == "noscript":
            scan.noscript.append(tag.get_text(" "))
        elif name == "meta" and scan.meta_refresh is None:
            scan.meta_refresh = _refresh_target(attrs)
        if _is_dropped(tag, name, attrs):
            scan.dropped.append(tag)
    return scan


def _is_dropped(tag: Tag, name: str, attrs: dict[str, object]) -> bool:
    if name in _INVISIBLE_TAGS or name in _CHROME_TAGS:
        return True
    if "hidden" in attrs or str(attrs.get("aria-hidden", "")).lower() == "true":
        return True
    if "style" in attrs and _HIDDEN_STYLE.search(str(attrs["style"])):
        return True
    if str(attrs.get("role", "")).lower() in _CHROME_ROLES:
        return True
    if name in ("header", "footer"):
        return not any(parent.name in _SECTIONING for parent in tag.parents)
    return False


def _refresh_target(attrs: dict[str, object]) -> str | None:
    if str(attrs.get("http-equiv", "")).lower() != "refresh":
        return None
    content = str(attrs.get("content", ""))
    if "url" not in content.lower() and ";" not in content and "," not in content:
        return None  # "5" alone reloads the same page: not a redirect
    match = _REFRESH_URL.match(content)
    return match.group(1).strip() if match else None


def _watched_root(soup: BeautifulSoup, watch: str | None) -> Tag | None:
    if watch:
        try:
            return soup.select_one(watch)
        except (SelectorSyntaxError, ValueError, NotImplementedError):
            # The catalog validator rejects bad selectors; one that slips through watches nothing.
            return None
    return soup.find("main") or soup.find("article") or soup.body or soup


_BLOCK_END = object()
_PRE_END = object()


def _text_of(root: Tag) -> str:
    """Visible text, one line per block element. Iterative: hostile pages nest deeper than the stack."""
    parts: list[str] = []
    stack: list[object] = [root]
    in_pre = 0
    while stack:
        node = stack.pop()
        if node is _BLOCK_END:
            parts.append("\n")
        elif node is _PRE_END:
            in_pre -= 1
            parts.append("\n")
        elif isinstance(node, Tag):
            if node.name == "pre":
                in_pre += 1
                parts.append("\n")
                stack.append(_PRE_END)
            elif node.name in _BLOCK_TAGS:
                parts.append("\n")
                stack.append(_BLOCK_END)
            stack.extend(reversed(node.contents))
        elif isinstance(node, NavigableString) and not isinstance(node, PreformattedString):
            # Line breaks in the source are spaces to a reader, except inside <pre>.
            parts.append(node if in_pre else node.replace("\n", " "))
    return "\n".join(_clean_lines("".join(parts).split("\n")))


def _looks_js_rendered(scan: _Scan, text: str) -> bool:
    size = len(text)
    if size < _SHELL_MAX_TEXT and (scan.script_bytes >= _SHELL_MIN_SCRIPT or scan.scripts >= _SHELL_MIN_SCRIPT_TAGS):
        return True
    if size >= _NOSCRIPT_MAX_TEXT:
        return False
    if any(_ENABLE_JS.search(note) for note in scan.noscript):
        return True
    return scan.spa_signature or (scan.empty_spa_root and size < _SHELL_MAX_TEXT)
