"""Reading a page: bytes + headers -> `PageText` (what a reader of the page would see).

One pure function, `extract`. It decodes the body, parses it once with lxml, drops what a reader does not
see (scripts, styles, templates, hidden elements, the site's navigation chrome), and returns the visible
text one block per line, the title, the first heading, the text of the watched region, every anchor target
and a meta-refresh target. It never raises: a page that cannot be read comes back as little or no text.
"""

from __future__ import annotations

import codecs
import contextlib
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

from cssselect import HTMLTranslator, SelectorError
from lxml import etree

from monitor.models import PageText

__all__ = ["InvalidSelector", "compile_selector", "decode", "extract", "read_tidy"]

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


# The text encodings a page may declare: those of the WHATWG Encoding Standard that browsers decode, as
# Python names them. Anything else (utf-7, which decodes "+2AA-" to a lone surrogate that cannot be written
# as UTF-8; rot13, base64 and the other byte codecs; utf-32) is ignored as if undeclared, so every text the
# monitor keeps is valid Unicode.
_TEXT_CODECS = frozenset({
    "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp866", "iso8859-2", "iso8859-3", "iso8859-4",
    "iso8859-5", "iso8859-6", "iso8859-7", "iso8859-8", "iso8859-10", "iso8859-13", "iso8859-14", "iso8859-15",
    "iso8859-16", "koi8-r", "koi8-u", "mac-roman", "cp874", "cp1250", "cp1251", "cp1252", "cp1253", "cp1254",
    "cp1255", "cp1256", "cp1257", "cp1258", "mac-cyrillic", "gbk", "gb2312", "gb18030", "big5", "big5hkscs",
    "euc_jp", "iso2022_jp", "shift_jis", "cp932", "euc_kr", "cp949", "latin-1", "iso8859-1", "ascii",
})  # fmt: skip
_SURROGATE = re.compile("[\ud800-\udfff]")


def _codec(label: str) -> str | None:
    try:
        name = codecs.lookup(label.strip().lower()).name
    except (LookupError, ValueError):
        return None
    if name not in _TEXT_CODECS:
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
    """Decode a body as a browser would, forgiving lies. Returns (text, charset name used).

    The text is always valid Unicode (no lone surrogates), so it can be written as UTF-8 anywhere.
    """
    text, charset, _ = _decoded(body, content_type)
    return text, charset


def _decoded(body: bytes, content_type: str) -> tuple[str, str, bytes | None]:
    """`decode`, and the text's UTF-8 bytes when they are the body itself (so the parser can take them as is)."""
    text, charset, by = _decode_any(body, content_type)
    if by == _STRICT_UTF8:
        return text, charset, None if body.startswith(codecs.BOM_UTF8) else body
    # Python's UTF-8 decoder never yields a lone surrogate (it rejects encoded ones; "replace" gives U+FFFD).
    if by != _UTF8:
        try:
            # A lone surrogate is the one thing UTF-8 cannot encode: this finds one ~20x faster than a regex.
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = _SURROGATE.sub("\ufffd", text)
    return text, charset, None


# How _decode_any made the text: from the whole body by the strict UTF-8 decoder, by the UTF-8 decoder with
# replacements, or by another codec.
_STRICT_UTF8, _UTF8, _OTHER = "strict utf-8", "utf-8", "other"


def _decode_any(body: bytes, content_type: str) -> tuple[str, str, str]:
    declared = _declared(body, content_type)
    for name in declared:
        if name in _SINGLE_BYTE and not body.isascii():
            # A page served as latin-1/windows-1252 whose bytes are valid, non-ASCII UTF-8 is almost always
            # a misconfigured server; decoding it as declared would turn "’" into "â€™".
            with contextlib.suppress(UnicodeDecodeError):
                return body.decode("utf-8-sig"), "utf-8", _STRICT_UTF8
        try:
            text = body.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
        return text.removeprefix("\ufeff"), _label(name), _STRICT_UTF8 if name in ("utf-8", "utf-8-sig") else _OTHER
    with contextlib.suppress(UnicodeDecodeError):
        return body.decode("utf-8-sig"), "utf-8", _STRICT_UTF8
    return _decode_broken(body)


_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")


def _decode_broken(body: bytes) -> tuple[str, str, str]:
    """Undeclared bytes that are not valid UTF-8: mostly UTF-8 with a few bad bytes, or windows-1252."""
    multibyte = len(_UTF8_MULTIBYTE.findall(body))
    high = len(_HIGH_BYTE.findall(body))
    # In real UTF-8 nearly every high byte belongs to a well-formed sequence; in windows-1252 almost none does.
    if multibyte and multibyte * 2 >= high / 2:
        return body.decode("utf-8", "replace").removeprefix("\ufeff"), "utf-8", _UTF8
    return body.decode("cp1252", "replace"), "windows-1252", _OTHER


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
    text, charset, utf8 = _decoded(body or b"", content_type)
    if not _is_html(content_type, text):
        return _plain_text(text, charset)
    try:
        return _html(text, charset, watch, utf8)
    except Exception:  # pragma: no cover
        # lxml is robust to garbage, but a library bug on a hostile page must cost one page's text,
        # never the run: fall back to reading the markup as plain text.
        return _plain_text(re.sub(r"<[^>]*>", " ", text), charset)


# The texts of the last HTML page read. Each is tidy by construction (lines of words joined by single spaces,
# none empty: see _lines), so fingerprint() need not test it again (27 scans of the text, 5% of a page's
# reading). Held by reference, so an `is` test cannot mistake another string for one of them; a thread reading
# another page meanwhile only makes the test miss.
_last_read: tuple[str, ...] = ()


def read_tidy(text: str) -> bool:
    """Whether `text` is one of the texts the last `extract` of an HTML page returned (tidy, see _lines)."""
    return any(text is read for read in _last_read)


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


def _html(text: str, charset: str, watch: str | None, utf8: bytes | None = None) -> PageText:
    root = _parse(text, utf8)
    if root is None:  # nothing but whitespace or a lone comment
        return PageText(charset=charset)
    title_el = next(root.iter("title"), None)
    title = _squash(title_el) if title_el is not None else ""
    scan = _scan(root)
    watched_root = _watched_root(root, watch)
    # Detached once, after the watched region was chosen, so each later read sees only readable nodes.
    _drop_all(scan.dropped)
    body = next(root.iter("body"), None)
    if body is None or scan.root_dropped:
        body = root
    h1 = next(root.iter("h1"), None) if not scan.root_dropped else None
    heading = _squash(h1) if h1 is not None else ""
    # A search for "&" (memchr) first: one for "&#" walks the text several times slower.
    references = "&" in text and "&#" in text
    if _may_hold_unsettable(text, references):
        _refuse_unsettable(root)
    marks = _marks_for(text, references)
    if watched_root is not None and not _within(watched_root, root):
        page_text = "" if scan.root_dropped else _text_of(body, marks)
        watched_text = _unmarked_text_of(watched_root, marks)
    else:
        page_text, watched_text = _texts(body, watched_root, scan.root_dropped, marks)
    if watched_text == page_text:
        # Usually <main> is all the page shows: one string, not two, for every entry held until the report.
        watched_text = page_text
    global _last_read
    _last_read = (page_text, watched_text)
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


# recover: real pages are rarely valid; huge_tree off: libxml2's depth and size limits stop hostile nesting.
# collect_ids off: the table of ids libxml2 builds serves XPath's id(), which nothing here calls (ids are read as
# attributes); the same tree, 5% cheaper to parse.
_PARSER = etree.HTMLParser(recover=True, huge_tree=False, remove_comments=True, remove_pis=True, no_network=True,
                           collect_ids=False)
_UTF8_PARSER = etree.HTMLParser(recover=True, huge_tree=False, remove_comments=True, remove_pis=True,
                                no_network=True, encoding="utf-8", collect_ids=False)
_BLOCK_MARK = "\ue000"
_PRE_NEWLINE = "\ue001"
_BLOCK_MARK_UTF8 = _BLOCK_MARK.encode()
_PRE_NEWLINE_UTF8 = _PRE_NEWLINE.encode()
_MARKS_UTF8 = _BLOCK_MARK_UTF8[:1]  # one byte: a search for it is a memchr
assert _PRE_NEWLINE_UTF8.startswith(_MARKS_UTF8)
_INVISIBLE = "".join(map(chr, _INVISIBLE_CHARS))


def _parse(text: str, utf8: bytes | None) -> etree._Element | None:
    """The page's tree; from its UTF-8 bytes when they are at hand (libxml2 then skips converting the text)."""
    # The private-use characters mark block edges in the text read (see _STYLESHEET); a page's own are noise.
    # Both marks start with the same byte (only U+E000-U+EFFF do in UTF-8): one memchr rules both out.
    if utf8 is not None and (
        _MARKS_UTF8 not in utf8 or (_BLOCK_MARK_UTF8 not in utf8 and _PRE_NEWLINE_UTF8 not in utf8)
    ):
        return etree.fromstring(utf8, _UTF8_PARSER)
    return etree.fromstring(_without_markers(text), _PARSER)


def _without_markers(text: str) -> str:
    # str.replace, not str.translate: translate with a mapping runs per character in Python (~1 ms per page).
    for marker in (_BLOCK_MARK, _PRE_NEWLINE):
        if marker in text:
            text = text.replace(marker, "")
    return text


def _squash(element: etree._Element) -> str:
    return " ".join(_without_markers("".join(element.itertext())).split())


class _Scan:
    __slots__ = (
        "dropped",
        "empty_spa_root",
        "ids",
        "meta_refresh",
        "noscript",
        "root_dropped",
        "script_bytes",
        "scripts",
        "spa_signature",
    )

    def __init__(self) -> None:
        self.dropped: list[etree._Element] = []
        self.ids: set[str] = set()
        self.meta_refresh: str | None = None
        self.noscript: list[str] = []
        self.script_bytes = 0
        self.scripts = 0
        self.spa_signature = False
        self.empty_spa_root = False
        self.root_dropped = False


def _scan(root: etree._Element) -> _Scan:
    """Anchors, refresh, script weight, and what to drop before reading; lxml's C iterators do the walking."""
    scan = _Scan()
    dropped: set[etree._Element] = set()
    # One walk for every tag the scan looks at (each root.iter walks the whole tree); document order is kept.
    for element in root.iter(*_SCANNED_TAGS):
        tag = element.tag
        if tag in _INVISIBLE_TAGS or tag in _CHROME_TAGS:
            dropped.add(element)
        if tag == "script":
            scan.scripts += 1
            content = element.text or ""
            scan.script_bytes += len(content)
            if _SPA_SIGNATURES.search(element.get("src", "")) or _SPA_SIGNATURES.search(content[:2000]):
                scan.spa_signature = True
        elif tag == "noscript":
            scan.noscript.append(" ".join(element.itertext()))
        elif tag == "meta":
            if scan.meta_refresh is None:
                scan.meta_refresh = _refresh_target(element)
        elif tag in ("header", "footer") and not _in_sectioning(element):
            dropped.add(element)
    _scan_attributes(root, scan, dropped, own=True)
    # libxml2 can leave elements after </html> outside the root element: their anchors count, as before (an
    # XPath from the document found them), and so does their being hidden (dropping them changes nothing read).
    for outside in (*root.itersiblings(etree.Element, preceding=True), *root.itersiblings(etree.Element)):
        _scan_attributes(outside, scan, dropped, own=False)
    scan.root_dropped = root in dropped
    # In no particular order: _drop_all gives the same tree for any order.
    scan.dropped = list(dropped)
    return scan


_SCANNED_TAGS = (*_INVISIBLE_TAGS, *_CHROME_TAGS, "meta", "header", "footer")
# The attributes the scan reads: ids, anchor names, and those that may hide an element (see _is_hidden).
_SCANNED_ATTRIBUTES = frozenset({"id", "name", "hidden", "aria-hidden", "style", "role"})


def _scan_attributes(top: etree._Element, scan: _Scan, dropped: set[etree._Element], own: bool) -> None:
    """Ids (of the root's own elements only), anchor names and hidden elements under `top`, in one walk.

    One pass over the elements, each asked for its attribute names, instead of an XPath query per attribute:
    an XPath call costs ~15,000 instructions before it walks anything (five per page were 40% of a 3 KB page's
    scan), "//@a" materialises every node of the tree before it looks at one attribute, and libxml2 merges
    node-sets quadratically (2 MiB of <br role=a style=b> took 41 s through a union); this is linear.
    """
    ids = scan.ids
    for element in top.iter(etree.Element):
        names = element.keys()
        if not names or _SCANNED_ATTRIBUTES.isdisjoint(names):
            continue
        if own and "id" in names:
            element_id = element.get("id")
            ids.add(element_id)
            if element_id in _SPA_ROOT_IDS and not "".join(element.itertext()).strip():
                scan.empty_spa_root = True
            if element_id == "notion-app":
                scan.spa_signature = True
        if "name" in names and element.tag == "a":
            ids.add(element.get("name"))
        if ("hidden" in names or "aria-hidden" in names or "style" in names or "role" in names) and _is_hidden(
            element
        ):
            dropped.add(element)


def _is_hidden(element: etree._Element) -> bool:
    attrs = element.attrib
    if "hidden" in attrs or attrs.get("aria-hidden", "").lower() == "true":
        return True
    if "style" in attrs and _HIDDEN_STYLE.search(attrs["style"]):
        return True
    return attrs.get("role", "").lower() in _CHROME_ROLES


def _in_sectioning(element: etree._Element) -> bool:
    # Per the HTML spec a header/footer is the page's own only when it is not inside sectioning content.
    return any(parent.tag in _SECTIONING for parent in element.iterancestors())


def _drop_all(elements: list[etree._Element]) -> None:
    """Detach the elements but keep their tails: the text after a hidden element is still on the page.

    Each tail joins the text before it (the nearest kept previous sibling's tail, or the parent's text), all of
    a receiver's tails at once: appending them one by one copied the growing text each time, and 100,000
    hidden spans in a row took minutes.
    """
    dropping = set(elements)
    joins: dict[tuple[etree._Element, bool], list[str]] = {}  # (receiver, its tail?) -> texts to append
    parents = dict.fromkeys(p for p in (e.getparent() for e in elements) if p is not None)
    for parent in parents:
        receiver = (parent, False)
        for child in parent:
            if child not in dropping:
                receiver = (child, True)
            elif child.tail:
                joins.setdefault(receiver, []).append(child.tail)
    for (node, is_tail), texts in joins.items():
        if is_tail:
            node.tail = (node.tail or "") + "".join(texts)
        else:
            node.text = (node.text or "") + "".join(texts)
    for element in elements:
        parent = element.getparent()
        if parent is not None:
            element.tail = None
            parent.remove(element)


def _refresh_target(meta: etree._Element) -> str | None:
    if meta.get("http-equiv", "").lower() != "refresh":
        return None
    content = meta.get("content", "")
    if "url" not in content.lower() and ";" not in content and "," not in content:
        return None  # "5" alone reloads the same page: not a redirect
    match = _REFRESH_URL.match(content)
    return match.group(1).strip() if match else None


class InvalidSelector(ValueError):
    """A `watch` selector the page reader cannot use; the message says why."""


@lru_cache(maxsize=256)
def compile_selector(selector: str) -> etree.XPath:
    """The XPath that `extract` runs for a CSS `watch` selector; the catalog validates with this too."""
    try:
        return etree.XPath(_CSS.css_to_xpath(selector))
    except (SelectorError, etree.XPathError, ValueError, NotImplementedError) as exc:
        raise InvalidSelector(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None


_CSS = HTMLTranslator()


def _watched_root(root: etree._Element, watch: str | None) -> etree._Element | None:
    if watch:
        try:
            found = compile_selector(watch)(root)
        except InvalidSelector:
            # The catalog validator rejects bad selectors; one that slips through watches nothing.
            return None
        return next((e for e in found if isinstance(e, etree._Element)), None)
    for tag in ("main", "article", "body"):
        found = next(root.iter(tag), None)
        if found is not None:
            return found
    return root


# Reads the text under an element with a block mark at both edges of every block element, so the lines of the
# text are the runs between marks; line breaks inside <pre> become _PRE_NEWLINE (elsewhere they are spaces to a
# reader). libxslt walks the tree in C: 0.3 ms for a 46 KB page, against 1 ms for a Python loop putting the marks
# into the tree and lxml's itertext reading them out. Its template depth limit (3,000) is far past the nesting
# that libxml2's parser keeps without huge_tree (256).
_BLOCKS = " | ".join(sorted(_BLOCK_TAGS))
_STYLESHEET = f"""<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
<xsl:output method="text" encoding="UTF-8"/>
{{start}}
<xsl:template match="{_BLOCKS}">{{block}}<xsl:apply-templates/>{{block}}</xsl:template>
<xsl:template match="pre">{{block}}<xsl:apply-templates mode="pre"/>{{block}}</xsl:template>
<xsl:template match="{_BLOCKS}" mode="pre">{{block}}<xsl:apply-templates mode="pre"/>{{block}}</xsl:template>
<xsl:template match="text()" mode="pre"><xsl:value-of select="translate(., '&#10;', '{{pre}}')"/></xsl:template>
</xsl:stylesheet>"""
# An element is read as a tree of its own (lxml hands libxslt the element alone, without its tail), so one inside
# a <pre> starts in the pre mode. Given the page's root element, lxml hands libxslt the whole document, which can
# hold elements after </html> outside the root: the first element is the one to read.
_START = '<xsl:template match="/"><xsl:apply-templates select="*[1]" {mode}/></xsl:template>'


class _Marks(NamedTuple):
    """The characters a reading marks block edges, line breaks in <pre> and the watched region with."""

    block: str
    pre: str
    region: str
    read: etree.XSLT
    read_in_pre: etree.XSLT


def _marks(block: str, pre: str, region: str) -> _Marks:
    def reader(mode: str) -> etree.XSLT:
        sheet = _STYLESHEET.replace("{start}", _START.format(mode=mode))
        return etree.XSLT(etree.XML(sheet.replace("{block}", f"&#{ord(block)};").replace("{pre}", f"&#{ord(pre)};")))

    return _Marks(block, pre, region, reader(""), reader('mode="pre"'))


# Private-use characters (a page's own are dropped before parsing, see _parse) can mark any page. But they make
# the text read a string of two bytes a character, which every later pass over it (a dozen replaces and
# searches) walks at half speed or worse: a page whose text cannot hold the C1 controls U+0080-U+0082 is marked
# with those (valid in XML 1.0; seen neither in text nor in windows-1252, whose references libxml2 maps to
# other characters), and its text read stays one byte a character (its reading 10% cheaper).
_PRIVATE_MARKS = _marks(_BLOCK_MARK, _PRE_NEWLINE, "\ue002")
_LATIN_MARKS = _marks("\x80", "\x81", "\x82")
_MARK_CHARS = (*_PRIVATE_MARKS[:3], *_LATIN_MARKS[:3])


def _marks_for(text: str, references: bool) -> _Marks:
    """_LATIN_MARKS when no character of either set of marks can be in the page's tree, else _PRIVATE_MARKS.

    A tree's text holds the characters of the page's text and those its character references name (no HTML
    entity names a C1 control or a private-use character): both are looked for, a reference by its digits.
    """
    if any(char in text for char in _MARK_CHARS):
        return _PRIVATE_MARKS
    if references and _MARK_REFERENCE.search(text):
        return _PRIVATE_MARKS
    return _LATIN_MARKS


# A _CHAR_REFERENCE (which takes every digit that follows) naming one of _MARK_CHARS: one regex search in C, not
# a Python step per reference (a page can hold tens of thousands).
_MARK_REFERENCE = re.compile(r"&#(?:[xX]0*(?:8[012]|[eE]00[012])(?![0-9a-fA-F])|0*(?:12[89]|130|5734[456])(?![0-9]))")


def _text_of(root: etree._Element, marks: _Marks) -> str:
    """Visible text, one line per block element, no blank lines."""
    return _lines(_raw_text(root, marks), marks.block)


def _unmarked_text_of(root: etree._Element, marks: _Marks) -> str:
    """The text of a watched region inside a dropped element: no block edges, as the reader always gave it."""
    # (The blocks were marked in the page's tree after the dropped elements had left it.)
    return _lines(_as_lines("".join(root.itertext()), marks), marks.block)


def _raw_text(root: etree._Element, marks: _Marks) -> str:
    """The text under `root` with its block edges as line breaks (marks.block) and its invisible characters gone."""
    read = marks.read_in_pre if any(True for _ in root.iterancestors("pre")) else marks.read
    return _as_lines(str(read(root)), marks)


def _as_lines(read: str, marks: _Marks) -> str:
    """Source line breaks become spaces, the marks line breaks (marks.block), invisible characters nothing.

    The block marks stay, and _lines splits the text at them: a pass over the text fewer than making them "\n".
    """
    raw = read.replace("\n", " ")
    if marks.pre in raw:
        raw = raw.replace(marks.pre, marks.block)
    for char in _INVISIBLE:
        if char in raw:
            raw = raw.replace(char, "")
    return raw


# The whitespace str.split() splits on, but for the space and the line break.
_OTHER_SPACES = tuple(char for char in map(chr, range(0x3001)) if char.isspace() and char not in " \n")


def _lines(raw: str, end: str = "\n") -> str:
    """The lines of `raw` (separated by `end`, which is no whitespace but "\n"), "\n"-separated, each with its
    whitespace runs made one space and stripped, none empty.

    What "\n".join(filter(None, (" ".join(line.split()) for line in raw.split("\n")))) gives, without splitting
    out every word: the other whitespace becomes spaces and runs of spaces one space by str.replace (in C; each
    halving pass is linear, and a run of n spaces takes log2(n) of them); then, as the only whitespace left is
    the space and the line break, str.strip of each line leaves it as " ".join(line.split()) would. A third of
    the cost of splitting words, and a third of that of collapsing the line breaks by halving passes too.
    """
    for char in _OTHER_SPACES:
        if char in raw:
            raw = raw.replace(char, " ")
    while "  " in raw:
        raw = raw.replace("  ", " ")
    return "\n".join(filter(None, map(str.strip, raw.split(end))))


# lxml refuses to set a text holding a C0 control character (other than tab, newline, carriage return) or
# U+FFFE/U+FFFF. The reader used to write its block marks into the tree, so a page with one in the text or
# tail of a block element, or in any text inside a <pre>, raised ValueError and was read as plain text (see
# extract). It still is, so no page reads differently; such characters come as themselves or as references.
_UNSETTABLE_CODES = frozenset((*range(1, 9), 0xB, 0xC, *range(0xE, 0x20), 0xFFFE, 0xFFFF))
_UNSETTABLE_CHARS = tuple(map(chr, _UNSETTABLE_CODES))
_UNSETTABLE = re.compile(f"[{''.join(_UNSETTABLE_CHARS)}]")
_CHAR_REFERENCE = re.compile("&#(?:[xX]([0-9a-fA-F]+)|([0-9]+))")


def _may_hold_unsettable(text: str, references: bool) -> bool:
    # 30 searches for one character each: 25 us on a 46 KB page, a regex of them all 300 us.
    if any(char in text for char in _UNSETTABLE_CHARS):
        return True
    return references and any(
        (int(match[1], 16) if match[1] else int(match[2])) in _UNSETTABLE_CODES
        for match in _CHAR_REFERENCE.finditer(text)
    )


def _refuse_unsettable(root: etree._Element) -> None:
    """Raise lxml's ValueError where writing the block marks into the tree raised it."""
    for element in root.iter(*_BLOCK_TAGS):
        for text in (element.text, element.tail):
            if text and _UNSETTABLE.search(text):
                element.text = text
    for pre in root.iter("pre"):
        for inner in pre.iter():
            for text in (inner.text, inner.tail if inner is not pre else None):
                if text and _UNSETTABLE.search(text):
                    inner.text = text


def _within(element: etree._Element, root: etree._Element) -> bool:
    """Whether the element is still in the page's tree (or was dropped with an ancestor)."""
    top = element
    for top in element.iterancestors():  # noqa: B007  (the last ancestor is the one wanted)
        pass
    return top is root


def _texts(body: etree._Element, watched: etree._Element | None, body_dropped: bool,
           marks: _Marks) -> tuple[str, str]:
    """The page's text and the watched region's, each as _text_of gives it, reading the body once if possible.

    A watched block element inside the body starts and ends on a block edge, so its lines are a run of the
    body's lines: the body's text is read once with marks.region around the region, and the lines before, inside
    and after are cleaned apart (a line never spans a block edge, so this is what reading each gives).
    """
    if body_dropped:
        return "", _text_of(watched, marks) if watched is not None else ""
    if watched is body:
        text = _text_of(body, marks)
        return text, text
    if watched is None:
        return _text_of(body, marks), ""
    if watched.tag in _BLOCK_TAGS and any(ancestor is body for ancestor in watched.iterancestors()):
        # The reader puts a block mark right before the region's text and right before its tail.
        text, tail = watched.text, watched.tail
        watched.text = marks.region + (text or "")
        watched.tail = marks.region + (tail or "")
        parts = _raw_text(body, marks).split(marks.region)
        watched.text, watched.tail = text, tail
        # More than two marks: the page itself holds the character.
        if len(parts) == 3 and parts[0].endswith(marks.block) and parts[1].endswith(marks.block):
            before, inside, after = (_lines(part, marks.block) for part in parts)
            return "\n".join(filter(None, (before, inside, after))), inside
    return _text_of(body, marks), _text_of(watched, marks)


def _looks_js_rendered(scan: _Scan, text: str) -> bool:
    size = len(text)
    if size < _SHELL_MAX_TEXT and (scan.script_bytes >= _SHELL_MIN_SCRIPT or scan.scripts >= _SHELL_MIN_SCRIPT_TAGS):
        return True
    if size >= _NOSCRIPT_MAX_TEXT:
        return False
    if any(_ENABLE_JS.search(note) for note in scan.noscript):
        return True
    return scan.spa_signature or (scan.empty_spa_root and size < _SHELL_MAX_TEXT)
