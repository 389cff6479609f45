"""extract(): real-shaped pages in, what a reader sees out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from lxml import etree

from monitor import extract as ex
from monitor.extract import decode, extract
from monitor.models import PageText

HTML = {"content-type": "text/html; charset=utf-8"}

LESSWRONG_POST = """<!DOCTYPE html>
<html lang="en"><head>
<meta charset="utf-8">
<title>[Old] An Extremely Opinionated Annotated List of My Favourite Mechanistic Interpretability Papers
 — AI Alignment Forum</title>
<meta name="viewport" content="width=device-width">
<script>window.__APOLLO_STATE__ = {"posts": {"SfPrNY45kQaBozwmu": {}}};</script>
<style>.PostsPage-title { font-size: 3rem }</style>
</head><body>
<div id="react-app">
<header class="Header-root"><div class="Header-titleLink"><a href="/">AI ALIGNMENT FORUM</a></div>
<nav role="navigation"><a href="/library">Library</a><a href="/questions">Questions</a></nav></header>
<div class="PostsPage-root">
<div class="PostsPagePostHeader-header"><h1 class="PostsPageTitle-root">[Old] An Extremely Opinionated Annotated
List of My Favourite Mechanistic Interpretability Papers</h1><span class="PostsAuthors">by Neel Nanda</span>
<span class="LWTooltip">18th Oct 2022</span></div>
<div class="PostsPage-postContent"><article id="postBody">
<p><em>This post is out of date, see <a href="/posts/NfFST5Mio7BCAQHPA">v2 here</a></em></p>
<h2 id="Introduction">Introduction</h2>
<p>This is an extremely opinionated list of my favourite mechanistic interpretability papers, annotated
with my key takeaways and what I like about each paper, which bits to deeply engage with vs skim.</p>
<p><a name="footnote-1"></a>Along with fun digressions and various hot takes.</p>
</article></div>
<div class="CommentsSection" aria-hidden="true">Sign up to comment</div>
</div>
<footer class="Footer-root">Privacy policy · Terms</footer>
</div>
</body></html>"""

GITHUB_ARCHIVED = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>GitHub - neelnanda-io/Easy-Transformer: A library for mechanistic interpretability</title>
<script crossorigin="anonymous" src="https://github.githubassets.com/assets/app.js"></script></head>
<body class="logged-out env-production page-responsive">
<div class="position-relative js-header-wrapper"><header class="HeaderMktg header-logged-out" role="banner">
<nav aria-label="Global"><ul><li>Product</li><li>Solutions</li><li>Pricing</li></ul></nav>
<a href="/login">Sign in</a></header></div>
<div class="application-main" data-commit-hovercards-enabled>
<main id="js-repo-pjax-container">
<div id="repository-container-header" class="pt-3 hide-full-screen">
<div class="d-flex"><strong itemprop="name"><a href="/neelnanda-io/Easy-Transformer">Easy-Transformer</a></strong>
<span class="Label Label--secondary">Public archive</span></div>
<div class="flash flash-warn flash-full border-top-0 text-center text-bold py-2">
This repository has been archived by the owner on May 2, 2023. It is now read-only.</div>
</div>
<div id="readme" class="Box-body"><article class="markdown-body entry-content" itemprop="text">
<h1 id="user-content-easy-transformer" dir="auto">Easy Transformer</h1>
<p dir="auto">A library for doing mechanistic interpretability of GPT-2 style language models.</p>
</article></div>
</main></div>
<footer class="footer pt-8 pb-6" role="contentinfo"><p>© 2026 GitHub, Inc.</p></footer>
<template id="site-details-dialog"><details><summary>Menu</summary>Details template</details></template>
</body></html>"""

# windows-1252 bytes for the curly quotes and the en dash; declared only in a <meta> tag.
WINDOWS_1252 = (
    b"<html><head><meta http-equiv='Content-Type' content='text/html; charset=windows-1252'>"
    b"<title>Neel Nanda\x92s MATS Training Program 2023\x962024</title></head>"
    b"<body><main><h1>Neel Nanda\x92s MATS Training Program</h1>"
    b"<p>\x93Applications are now open.\x94 Apply by June 7th.</p></main></body></html>"
)

HIDDEN = """<html><head><title>Hidden things</title><noscript><style>.x{}</style></noscript></head><body>
<main>
<p>Visible paragraph.</p>
<div hidden>hidden attribute</div>
<div aria-hidden="true">aria hidden</div>
<div style="color: red; DISPLAY : none">display none</div>
<span style="visibility:hidden">visibility hidden</span>
<script>document.write("script text")</script>
<style>p { color: blue }</style>
<template><p>template text</p></template>
<noscript>noscript text</noscript>
<!-- a comment -->
<p>Second&nbsp;paragraph   with
  spaces.</p>
</main></body></html>"""

NAV_CHROME = """<html><head><title>Site</title></head><body>
<header><a href="/">Logo</a><h1>Site name</h1></header>
<nav><a href="/a">About</a><a href="/b">Blog</a></nav>
<div role="navigation">Breadcrumbs</div>
<div class="content">
<article><header><h1>Post title</h1></header><p>Post body.</p><footer>Posted in Research</footer></article>
</div>
<footer>Copyright 2026 · Contact</footer>
</body></html>"""

STREAMLIT_SHELL = """<!doctype html><html lang="en"><head><meta charset="UTF-8"/>
<title>Streamlit</title><script defer="defer" src="./static/js/main.4b1ad1f1.js"></script>
<link href="./static/css/main.css" rel="stylesheet"></head>
<body><noscript>You need to enable JavaScript to run this app.</noscript><div id="root"></div></body></html>"""

BIG_BUNDLE_SHELL = (
    "<html><head><title>Dynalist</title></head><body><div id='app-container'>Loading…</div>"
    + "".join(f"<script>var chunk{i} = '{'x' * 8000}';</script>" for i in range(4))
    + "</body></html>"
)

NOTION_SHELL = """<html><head><title>Notion – The all-in-one workspace</title></head>
<body><div id="notion-app"></div><script src="https://www.notion.so/app-5f3.js"></script></body></html>"""

META_REFRESH = """<html><head><meta http-equiv="refresh" content="0; URL='https://neelnanda.io/new-page'">
<title>Redirecting</title></head><body><p>Moved.</p></body></html>"""


@dataclass
class Case:
    body: bytes | str
    headers: dict[str, str] = field(default_factory=lambda: dict(HTML))
    watch: str | None = None
    title: str | None = None
    heading: str | None = None
    contains: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    watched_starts: str | None = None
    watched_absent: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    js: bool = False
    refresh: str | None = None
    charset: str | None = None


CASES = {
    "lesswrong post marked out of date": Case(
        LESSWRONG_POST,
        title="[Old] An Extremely Opinionated Annotated List of My Favourite Mechanistic Interpretability "
        "Papers — AI Alignment Forum",
        heading="[Old] An Extremely Opinionated Annotated List of My Favourite Mechanistic Interpretability Papers",
        contains=("This post is out of date, see v2 here", "by Neel Nanda", "various hot takes."),
        absent=("AI ALIGNMENT FORUM", "Library", "Sign up to comment", "Privacy policy", "__APOLLO_STATE__"),
        watched_starts="This post is out of date, see v2 here",
        ids=("react-app", "postBody", "Introduction", "footnote-1"),
    ),
    "github archived repository": Case(
        GITHUB_ARCHIVED,
        heading="Easy Transformer",
        contains=("This repository has been archived by the owner on May 2, 2023. It is now read-only.",),
        absent=("Pricing", "Sign in", "© 2026 GitHub", "Details template"),
        watched_starts="Easy-Transformer",
        ids=("js-repo-pjax-container", "user-content-easy-transformer", "readme", "site-details-dialog"),
    ),
    "windows-1252 declared in meta": Case(
        WINDOWS_1252,
        headers={"content-type": "text/html"},
        title="Neel Nanda’s MATS Training Program 2023–2024",
        heading="Neel Nanda’s MATS Training Program",
        contains=("“Applications are now open.” Apply by June 7th.",),
        charset="windows-1252",
    ),
    "windows-1252 behind a lying utf-8 header": Case(
        WINDOWS_1252,
        headers={"Content-Type": "text/html; charset=UTF-8"},
        title="Neel Nanda’s MATS Training Program 2023–2024",
        charset="windows-1252",
    ),
    "hidden elements dropped": Case(
        HIDDEN,
        contains=("Visible paragraph.\nSecond paragraph with spaces.",),
        absent=(
            "hidden attribute",
            "aria hidden",
            "display none",
            "visibility hidden",
            "script text",
            "color: blue",
            "template text",
            "noscript text",
            "a comment",
        ),
    ),
    "navigation chrome dropped, sectioning header kept": Case(
        NAV_CHROME,
        heading="Post title",
        contains=("Post title\nPost body.\nPosted in Research",),
        absent=("Logo", "Site name", "About", "Breadcrumbs", "Copyright"),
        watched_starts="Post title",
    ),
    "explicit watch selector": Case(
        LESSWRONG_POST,
        watch="#postBody h2 ~ p",
        watched_starts="This is an extremely opinionated list",
        watched_absent=("hot takes",),
    ),
    "watch selector that matches nothing": Case(NAV_CHROME, watch="#status", contains=("Post body.",)),
    "invalid watch selector": Case(NAV_CHROME, watch="div[[", contains=("Post body.",)),
    "streamlit shell": Case(STREAMLIT_SHELL, title="Streamlit", js=True, ids=("root",)),
    "big bundles, little text": Case(BIG_BUNDLE_SHELL, title="Dynalist", js=True),
    "notion shell": Case(NOTION_SHELL, js=True),
    "meta refresh": Case(META_REFRESH, refresh="https://neelnanda.io/new-page", contains=("Moved.",)),
    "plain text body": Case(
        "# TransformerLens\r\n\r\nA library for   mechanistic interpretability.\n",
        headers={"content-type": "text/plain; charset=utf-8"},
        title="",
        heading="TransformerLens",
        contains=("# TransformerLens\nA library for mechanistic interpretability.",),
        watched_starts="# TransformerLens",
    ),
    "html without a content type is sniffed": Case(
        "<!doctype html><title>T</title><p>Body text</p>", headers={}, title="T", contains=("Body text",)
    ),
    "utf-8 BOM beats a windows-1252 header": Case(
        "\ufeff<p>Caf\u00e9 \u201cquoted\u201d</p>".encode(),
        headers={"content-type": "text/html; charset=windows-1252"},
        contains=("Café “quoted”",),
        charset="utf-8",
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_extract(case: Case) -> None:
    body = case.body.encode() if isinstance(case.body, str) else case.body
    page = extract(body, case.headers, case.watch)
    if case.title is not None:
        assert page.title == case.title
    if case.heading is not None:
        assert page.heading == case.heading
    for text in case.contains:
        assert text in page.text
    for text in case.absent:
        assert text not in page.text
    if case.watched_starts is not None:
        assert page.watched.startswith(case.watched_starts), page.watched
    for text in case.watched_absent:
        assert text not in page.watched
    assert set(case.ids) <= page.ids
    assert page.js_rendered is case.js
    assert page.meta_refresh == case.refresh
    if case.charset is not None:
        assert page.charset == case.charset


def test_unmatched_watch_selector_watches_nothing() -> None:
    # An explicit selector that no longer matches is news (the region is gone), not a cue to watch the body.
    assert extract(NAV_CHROME.encode(), HTML, "#status").watched == ""


def test_text_is_one_line_per_block_without_blank_lines() -> None:
    page = extract(b"<body><div>  a <b>b</b>\n c </div><ul><li>one</li><li>two</li></ul>x<br>y</body>", HTML)
    assert page.text == "a b c\none\ntwo\nx\ny"


@pytest.mark.parametrize(
    ("body", "content_type", "expected", "charset"),
    [
        (b"caf\xc3\xa9 \xe2\x80\x9cok\xe2\x80\x9d", "", "café “ok”", "utf-8"),
        (b"caf\xe9 \x93ok\x94", "", "café “ok”", "windows-1252"),
        (b"caf\xe9 \x93ok\x94", "text/html; charset=iso-8859-1", "café “ok”", "windows-1252"),
        # A latin-1 label on valid UTF-8: the server is misconfigured, the bytes are right.
        (b"it\xe2\x80\x99s", "text/html; charset=iso-8859-1", "it’s", "utf-8"),
        (b"caf\xe9", "text/html; charset=no-such-charset", "café", "windows-1252"),
        (b"mostly utf-8 \xe2\x80\x99 with one bad byte \xff", "", "mostly utf-8 ’ with one bad byte \ufffd", "utf-8"),
        ("\ufeffhi".encode("utf-16-le"), "", "hi", "utf-16-le"),
        (b"plain ascii", "", "plain ascii", "utf-8"),
    ],
)
def test_decode(body: bytes, content_type: str, expected: str, charset: str) -> None:
    assert decode(body, content_type) == (expected, charset)


def test_big_page_is_read_once_and_quickly() -> None:
    para = "<div class=c><p id=p{i}>Lorem ipsum <a href=/x{i}>dolor</a> sit amet {i}.</p></div>"
    body = ("<html><body><main>" + "".join(para.format(i=i) for i in range(1500)) + "</main></body></html>").encode()
    page = extract(body, HTML)
    assert len(page.ids) == 1500
    assert page.watched == page.text
    assert page.text.count("\n") == 1499


@settings(max_examples=300, deadline=None, database=None)
@given(
    body=st.one_of(
        st.binary(max_size=2000),
        st.text(max_size=500).map(lambda s: f"<html><body><main>{s}</main></body></html>".encode("utf-8", "replace")),
        st.lists(
            st.sampled_from(
                [
                    "<div>",
                    "</div>",
                    "<p hidden>",
                    "<script>",
                    "</script>",
                    "<nav>",
                    "x",
                    "é",
                    "<meta charset=utf-16>",
                    "<template>",
                    "\x00",
                    "<!--",
                    "<a name=n>",
                    "]]>",
                ]
            ),
            max_size=60,
        ).map(lambda parts: "".join(parts).encode()),
    ),
    content_type=st.sampled_from(["", "text/html", "text/plain", "text/html; charset=utf-16", "text/html; charset=x"]),
    watch=st.sampled_from([None, "main", "#x > p", "::bad", "a[href"]),
)
def test_extract_never_raises(body: bytes, content_type: str, watch: str | None) -> None:
    page = extract(body, {"content-type": content_type}, watch)
    assert isinstance(page.text, str)


# --- the page reader before it read the body once for both texts -----------------------------------------------
# Kept as the reference the faster reader must agree with: the old _scan (an XPath test on every element), the
# old _text_of (a Python loop per line, the block marks put into the tree) and the old _html (the body and the
# watched region read apart).


def _reference_scan(root: etree._Element) -> ex._Scan:
    scan = ex._Scan()
    for element in root.xpath("descendant-or-self::*[@id]"):
        element_id = element.get("id")
        scan.ids.add(element_id)
        if element_id in ex._SPA_ROOT_IDS and not "".join(element.itertext()).strip():
            scan.empty_spa_root = True
        if element_id == "notion-app":
            scan.spa_signature = True
    scan.ids.update(str(name) for name in root.xpath("//a/@name"))
    for script in root.iter("script"):
        scan.scripts += 1
        content = script.text or ""
        scan.script_bytes += len(content)
        if ex._SPA_SIGNATURES.search(script.get("src", "")) or ex._SPA_SIGNATURES.search(content[:2000]):
            scan.spa_signature = True
    scan.noscript = [" ".join(n.itertext()) for n in root.iter("noscript")]
    for meta in root.iter("meta"):
        scan.meta_refresh = ex._refresh_target(meta)
        if scan.meta_refresh is not None:
            break
    dropped = set(root.iter(*ex._INVISIBLE_TAGS, *ex._CHROME_TAGS))
    dropped.update(e for e in root.xpath("//*[@hidden or @aria-hidden or @style or @role]") if ex._is_hidden(e))
    dropped.update(e for e in root.iter("header", "footer") if not ex._in_sectioning(e))
    scan.root_dropped = root in dropped
    scan.dropped = [e for e in root.iter() if e in dropped] if dropped else []
    return scan


def _reference_mark_blocks(root: etree._Element) -> None:
    """Block marks put into the tree, read out by itertext, as before libxslt read the text."""
    for element in root.iter(*ex._BLOCK_TAGS):
        element.text = ex._BLOCK_MARK + (element.text or "")
        element.tail = ex._BLOCK_MARK + (element.tail or "")
    for pre in root.iter("pre"):
        for inner in pre.iter():
            if inner.text:
                inner.text = inner.text.replace("\n", ex._PRE_NEWLINE)
            if inner is not pre and inner.tail:
                inner.tail = inner.tail.replace("\n", ex._PRE_NEWLINE)


def _reference_text_of(root: etree._Element) -> str:
    raw = "".join(root.itertext()).replace("\n", " ").replace(ex._BLOCK_MARK, "\n").replace(ex._PRE_NEWLINE, "\n")
    for char in ex._INVISIBLE:
        if char in raw:
            raw = raw.replace(char, "")
    cleaned = (" ".join(line.split()) for line in raw.split("\n"))
    return "\n".join(line for line in cleaned if line)


def _reference_drop(element: etree._Element) -> None:
    """One element at a time, as extract.py did before it joined the tails in one go (quadratic on 100,000)."""
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail
    if tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(element)


def _reference_html(text: str, charset: str, watch: str | None) -> PageText:
    root = etree.fromstring(ex._without_markers(text), ex._PARSER)
    if root is None:
        return PageText(charset=charset)
    title_el = next(root.iter("title"), None)
    title = ex._squash(title_el) if title_el is not None else ""
    scan = _reference_scan(root)
    watched_root = ex._watched_root(root, watch)
    for element in scan.dropped:
        _reference_drop(element)
    body = next(root.iter("body"), None)
    if body is None or scan.root_dropped:
        body = root
    h1 = next(root.iter("h1"), None) if not scan.root_dropped else None
    heading = ex._squash(h1) if h1 is not None else ""
    _reference_mark_blocks(root)
    page_text = "" if scan.root_dropped else _reference_text_of(body)
    watched_text = (
        page_text if watched_root is body else _reference_text_of(watched_root) if watched_root is not None else ""
    )
    if watched_text == page_text:
        watched_text = page_text
    return PageText(
        title=title,
        heading=heading,
        text=page_text,
        watched=watched_text,
        ids=frozenset(scan.ids),
        meta_refresh=scan.meta_refresh,
        charset=charset,
        js_rendered=ex._looks_js_rendered(scan, page_text),
    )


_MARKUP_PARTS = [
    "<html>", "</html>", "<head>", "</head>", "<body>", "</body>", "<title>", "</title>", "<h1>", "</h1>",
    "<main>", "</main>", "<main id=x>", "<article>", "</article>", "<section>", "</section>", "<aside>",
    "<div>", "</div>", "<p>", "</p>", "<span>", "</span>", "<b>", "</b>", "<pre>", "</pre>", "<br>", "<hr>",
    "<li>", "</li>", "<ul>", "</ul>", "<table><tr><td>", "</td><td>", "</td></tr></table>", "<details>",
    "<header>", "</header>", "<footer>", "</footer>", "<nav>", "</nav>", "<div hidden>", "<p hidden>",
    '<div aria-hidden="TRUE">', '<div aria-hidden="false">', '<p style="display: none">', '<p style="color:red">',
    '<div role="navigation">', '<div role="Banner">', '<div role="main">', '<div id="x">', '<p id=x>',
    '<div id="root">', '<div id="root"></div>', '<div id="notion-app">', "<a name=n>", "<a name=m id=n>", "</a>",
    "<script>var a = 1;</script>", '<script src="streamlit.js"></script>', "<noscript>Enable JavaScript</noscript>",
    "<style>p {}</style>", "<template><p>t</p></template>", '<meta http-equiv="refresh" content="0; url=/x">',
    "<button>b</button>", "<svg><text>s</text></svg>",
    # Text, every sort of whitespace, invisible characters, and the private-use characters the reader uses.
    "word", "Words, more words.", "é", "’", " ", "  ", "\n", "\n\n", "\t", "\r\n", "\u00a0", "\u2028", "\x85",
    "\x0b", "\u200b", "\u00ad", "\ufeff", "\ue000", "\ue001", "\ue002", "&#xe000;", "&#xe001;", "&#xe002;",
    "&nbsp;", "&#x200b;", "<!-- c -->",
    # Characters lxml refuses to set in a text: such a page is read as plain text.
    "\x0c", "&#11;", "&#xfffe;", "<pre>a\x01\nb</pre>",
]  # fmt: skip


@settings(max_examples=600, deadline=None, database=None)
@given(
    parts=st.lists(st.sampled_from(_MARKUP_PARTS), max_size=80),
    long_line=st.integers(0, 2000),
    watch=st.sampled_from([None, "main", "article", "section", "#x", "p", "div", "span", "html", "body", "head",
                           "nav", "header", "pre", "td", "li", "div > p", "title", "a", "::bad"]),
)  # fmt: skip
@example(parts=["<html>", "</html>", '<div id="x">', "<p hidden>", "word"], long_line=0, watch=None)
@example(parts=["<main>", "word", "&#xe002;", "</main>", "&#xe002;", "<p>", "word"], long_line=3, watch="main")
@example(parts=["<head>", "<title>", "word", "</title>", "</head>", "<p>", "word"], long_line=0, watch="title")
def test_html_reading_matches_the_reference(parts: list[str], long_line: int, watch: str | None) -> None:
    text = "".join(parts).replace("word", "word " * long_line + "word", 1)
    assert _outcome(ex._html, text, watch) == _outcome(_reference_html, text, watch)


def _outcome(read: Callable[[str, str, str | None], PageText], text: str, watch: str | None) -> object:
    # lxml refuses some control characters; extract() then reads the markup as plain text.
    try:
        return read(text, "utf-8", watch)
    except ValueError as exc:
        return ("ValueError", str(exc))


# --- issue 12: every text kept is valid Unicode (B5), and huge pages are read in linear time (B6) -------------


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain; charset=utf-7", b"Status: +2AA- open"),  # decodes to a lone surrogate
        ("text/html; charset=utf-7", b"<title>+2AA-</title><p>+2ADYAA-</p>"),
        ("text/plain; charset=rot13", b"Fgnghf: bcra"),  # a codec, not a text encoding
        ("text/plain; charset=base64", b"U3RhdHVz"),
        ("text/plain; charset=utf-32", b"plain ascii"),
        ("text/html; charset=utf-16", b"<title>\xed\xa0\x80</title>"),
    ],
)
def test_a_page_in_a_codec_that_is_no_page_encoding_is_read_as_undeclared(content_type: str, body: bytes) -> None:
    page = extract(body, {"content-type": content_type})
    for text in (page.title, page.heading, page.text, page.watched):
        text.encode("utf-8")  # strict: a lone surrogate raised UnicodeEncodeError when the state was written
    assert page.charset in ("utf-8", "windows-1252")


def test_a_huge_page_reads_as_its_parts_do() -> None:
    """Thousands of ids and hiding attributes (the case an XPath union made quadratic) read as one copy does."""
    parts = [
        '<nav id="n"><a href="/">Home</a></nav><header>Banner</header>',
        '<div id="a1" style="display:none">hidden</div>tail one ',
        '<p role="navigation">menu</p><span hidden>x</span>tail two <span aria-hidden="true">y</span>',
        '<section><header id="own">Own header</header><p style="color:red">Shown <a name="anchor">a</a></p></section>',
        '<br role=a style=b><div id="root"></div><p>Text</p>',
    ]

    def page(copies: int) -> PageText:
        body = "<html><head><title>T</title></head><body>" + "".join(parts) * copies + "</body></html>"
        return extract(body.encode(), {"content-type": "text/html"})

    one, huge = page(1), page(600)
    assert one.text == "tail one tail two\nOwn header\nShown a\nText"
    assert huge.text == "\n".join([one.text] * 600)
    assert huge.ids == one.ids == {"n", "a1", "own", "anchor", "root"}


def test_elements_left_after_the_root_element_give_their_anchors_but_not_their_ids() -> None:
    """libxml2 keeps what follows </html> outside the root element: its anchor names count, its ids never did."""
    body = b"<html><body><p id=in>x</p></body></html><p id=out>after</p><a name=anchor>n</a><div hidden>gone</div>"
    page = extract(body, {"content-type": "text/html"})
    assert page.ids == {"in", "anchor"}
    assert page.text == "x"


@pytest.mark.parametrize(
    ("body", "text", "watched"),
    [
        # The C1 controls the reader may mark block edges with, in the page itself and by reference (libxml2
        # keeps &#x81; as U+0081 but reads &#128; and &#130; as windows-1252's € and ‚).
        ("<main><p>a\x80b</p><p>c</p></main><p>d\x82</p>", "a\x80b\nc\nd\x82", "a\x80b\nc"),
        ("<main><p>a</p><p>c&#x81;</p></main><p>d</p>", "a\nc\x81\nd", "a\nc\x81"),
        ("<article><pre>x\x81\ny</pre></article><p>&#128;&#130;</p>", "x\x81\ny\n€‚", "x\x81\ny"),
        # The private-use characters: the page's own are dropped, one by reference marks a block edge.
        ("<main><p>a\ue000b</p><p>c&#xE000;d</p></main>", "ab\nc\nd", "ab\nc\nd"),
    ],
)
def test_the_characters_block_edges_are_marked_with_read_as_before(body: str, text: str, watched: str) -> None:
    page = extract(body.encode(), {"content-type": "text/html; charset=utf-8"})
    assert (page.text, page.watched) == (text, watched)
