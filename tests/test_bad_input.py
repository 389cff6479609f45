"""Bad input, property-based: random YAML and random mutations of real files at the catalog loader, the
state file and `--config`, and arbitrary bytes at the crawler's own small parsers.

test_catalog.py already throws sequences of YAML fragments at the loader; test_extract.py, test_status.py
and test_hub.py cover extraction, status classification, date parsing and the hub parser. What is here is
what those leave out. Escaping with injection payloads is in test_report.py and test_github.py, and
extended at the end of this file.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cmarkgfm
import pytest
import yaml
from cmarkgfm.cmark import Options
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from monitor import github
from monitor.catalog import Catalog, CatalogError, load_catalog
from monitor.fetch import find_meta_refresh, parse_retry_after
from monitor.findings import Code, Finding
from monitor.models import Entry, EntryResult, FetchResult, PageText
from monitor.report import escape_md, render_markdown
from monitor.settings import Settings, load_config
from monitor.state import EntryState, load_state, page_from_state, remember, remembered, save_state, validators
from tests.test_github import entry, night
from tests.test_report import PAYLOADS

ROOT = Path(__file__).resolve().parent.parent
REAL_CATALOG = (ROOT / "catalog" / "hub.yaml").read_text(encoding="utf-8")
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Words the loaders look for, so random documents often get past the first checks.
KEYS = ["version", "hub", "entries", "settings", "title", "url", "id", "section", "kind", "status", "aliases",
        "expect", "watch", "notes", "author", "maintainer", "hosts", "headers", "timeout", "max_body",
        "accept", "exclude", "include", "allow_hosts", "concurrency", "request_interval", "schema",
        "updated_at", "findings", "etag", "consecutive_failures", "watched_hash", "fragment_found"]  # fmt: skip
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True), st.text(max_size=20),
    st.sampled_from(["https://example.org/", "1", "1.0", "10s", "2MiB", "200..299", "div[", "2026-11-25", "ok",
                     "program", "github.com", "", "~", "null", "-1"]),
)  # fmt: skip
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=6),  # noqa: E501
    max_leaves=30,
)


INSERTS = ["- ", ": x\n", "  - id: x\n", "{\n", "'\n", "\t\n", "*a\n", "&a x\n", "url: ftp://x\n", "!!binary x\n",
           "\ufeff\n"]  # fmt: skip


@st.composite
def mutations(draw: st.DrawFn, text: str) -> str:
    """``text`` after a few line edits of the kinds a hurried pull request makes."""
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        at = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["delete", "duplicate", "swap", "indent", "dedent", "insert", "cut", "byte"]))
        if edit == "delete":
            del lines[at]
        elif edit == "duplicate":
            lines.insert(at, lines[at])
        elif edit == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        elif edit == "indent":
            lines[at] = "  " + lines[at]
        elif edit == "dedent":
            lines[at] = lines[at][2:] if lines[at].startswith("  ") else lines[at].lstrip()
        elif edit == "insert":
            lines.insert(at, draw(st.sampled_from(INSERTS)))
        elif edit == "cut":
            cut = draw(st.integers(0, len(lines[at])))
            lines[at] = lines[at][:cut]
        else:
            column = draw(st.integers(0, max(0, len(lines[at]) - 1)))
            byte = draw(st.sampled_from(":-[]{}#&*!|>'\"%@`,?\x00é"))
            lines[at] = lines[at][:column] + byte + lines[at][column + 1 :]
    return "".join(lines)


def assert_catalog_or_catalog_error(path: Path) -> None:
    try:
        assert isinstance(load_catalog(path), Catalog)
    except CatalogError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.file == str(path) and problem.line >= 0
            assert str(problem).startswith(f"{path}:" if problem.line else str(path))


# --- the catalog ----------------------------------------------------------------------------------------


@FUZZ
@given(document=DOCUMENTS)
def test_any_yaml_document_gives_a_catalog_or_a_catalog_error(tmp_path: Path, document: Any) -> None:
    path = tmp_path / "hub.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "hub": {"title": "T"}, "entries": document}
                                   if isinstance(document, list) else document, allow_unicode=True))  # fmt: skip
    assert_catalog_or_catalog_error(path)


@FUZZ
@given(text=mutations(REAL_CATALOG))
def test_any_mutation_of_the_real_catalog_gives_a_catalog_or_a_catalog_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "hub.yaml"
    path.write_text(text, encoding="utf-8")
    assert_catalog_or_catalog_error(path)


# --- --config -------------------------------------------------------------------------------------------

CONFIG = """\
timeout: 10s
max_retries: 2
max_body: 1MiB
accept: [200..299, 403]
exclude: ['linkedin\\.com']
allow_hosts: [intranet.example]
hosts:
  github.com:
    concurrency: 1
    request_interval: 2s
    headers:
      Authorization: token abc
"""


@FUZZ
@given(source=st.one_of(DOCUMENTS.map(lambda d: yaml.safe_dump(d, allow_unicode=True)), mutations(CONFIG)))
def test_any_config_file_gives_settings_or_a_catalog_error(tmp_path: Path, source: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(source, encoding="utf-8")
    try:
        assert isinstance(load_config(path), Settings)
    except CatalogError as exc:
        assert exc.problems and all(p.file == str(path) for p in exc.problems)


# --- the state file -------------------------------------------------------------------------------------


def good_state(tmp_path: Path) -> str:
    """A state file as a real run writes it (two entries, one failing, one with a snapshot)."""
    folder = tmp_path / "seed"
    ok, bad = Entry("ok", "S", "OK", "https://ok.example/#top"), Entry("bad", "S", "Bad", "https://bad.example/")
    page = PageText(title="OK", heading="OK", text="hello", watched="hello", ids=frozenset({"top"}))
    memo = remember(
        load_state(folder / "state.json").state,
        [EntryResult(ok, [], page=page), EntryResult(bad, [Finding(Code.DEAD_LINK, "gone")])],
        {ok.url or "": FetchResult(ok.url or "", ok.url or "", 200, headers={"etag": '"v1"'}),
         bad.url or "": FetchResult(bad.url or "", bad.url or "", 404)},
        today="2026-11-25", now="2026-11-25T03:17:00Z", confirm_after=2, fingerprint=lambda text: str(len(text)),
    )  # fmt: skip
    save_state(folder / "state.json", memo.state)
    return (folder / "state.json").read_text()


STATE_SEED: list[str] = []
# A remembered entry that the next run would use (same URL, a good last answer), with fields of any type:
# all of them at random, or just the two that become request headers.
_USED = {"url": st.just("https://ok.example/#top"), "watched_hash": st.just("h"), "consecutive_failures": st.just(0)}
ENTRY_STATES = st.one_of(
    st.fixed_dictionaries(_USED, optional={name: DOCUMENTS for name in EntryState.__dataclass_fields__
                                           if name not in _USED}),
    st.fixed_dictionaries({**_USED, "etag": DOCUMENTS, "last_modified": DOCUMENTS}),
)  # fmt: skip


@FUZZ
@given(data=st.data())
def test_any_state_file_loads_and_the_next_run_can_use_it(tmp_path: Path, data: st.DataObject) -> None:
    if not STATE_SEED:
        STATE_SEED.append(good_state(tmp_path))
    source = data.draw(st.one_of(
        mutations(STATE_SEED[0]),
        DOCUMENTS.map(lambda d: json.dumps(d, default=str)),
        st.builds(lambda entries: json.dumps({"schema": 1, "updated_at": "x", "entries": entries}, default=str),
                  st.dictionaries(st.sampled_from(["ok", "bad", "x"]), DOCUMENTS | ENTRY_STATES, max_size=3)),
        st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    ))  # fmt: skip
    path = tmp_path / "reports" / "state.json"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(source.encode("utf-8", "surrogatepass"))
    loaded = load_state(path)  # never raises
    if loaded.warning:
        # Moved aside, never lost: the corrupt bytes are kept for a human to look at.
        aside = path.with_name("state.json.corrupt").read_bytes()
        assert not path.exists() and aside == source.encode("utf-8", "surrogatepass")
        path.with_name("state.json.corrupt").unlink()
    state = loaded.state
    urls = {"ok": "https://ok.example/#top", "bad": "https://bad.example/", "x": None}
    # Whatever loaded without a warning must not crash the next run, nor send a non-text header.
    for url, (etag, modified) in validators(state, urls).items():
        assert isinstance(url, str) and isinstance(etag, str | None) and isinstance(modified, str | None)
    for entry_id, url in urls.items():
        remembered(state, entry_id, url)
        page_from_state(state, entry_id, "top")
    results = [EntryResult(Entry(i, "S", i, u), [Finding(Code.DEAD_LINK, "gone")]) for i, u in urls.items()]
    memo = remember(state, results, {}, today="2026-11-26", now="2026-11-26T03:17:00Z", confirm_after=2,
                    fingerprint=lambda text: str(len(text)))  # fmt: skip
    save_state(path, memo.state)
    assert load_state(path).warning is None


# --- the crawler's small parsers ------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(body=st.one_of(
    st.binary(max_size=300),
    st.lists(st.sampled_from([b"<meta", b" http-equiv=", b"refresh", b'"', b"'", b" content=", b"0;", b"url=",
                              b"&#x", b"<noscript>", b"<!--", b"-->", b">", b"\xff", b" "]), max_size=30).map(b"".join),
))  # fmt: skip
def test_meta_refresh_never_raises(body: bytes) -> None:
    target = find_meta_refresh(body)
    assert target is None or (isinstance(target, str) and target.strip() == target and target)


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(st.text(max_size=60), st.sampled_from(["Wed, 21 Oct 2015 07:28:00 GMT", "99999999999999999999",
                                                                "Fri, 31 Feb 2026 25:61:00 GMT", "-1", "1e9", "0.5"])))
def test_retry_after_never_raises(value: str) -> None:
    seconds = parse_retry_after(value, datetime(2026, 11, 25, tzinfo=UTC))
    assert seconds is None or seconds >= 0


# --- escaping -------------------------------------------------------------------------------------------

MARKUP = st.lists(st.sampled_from(
    [*"<>[]()!#|`*_~&;:/@\\-=+. \n", "<img src=x>", "<a href=x>", "](", "https://evil.example/", "www.evil.example",
     "\n# ", "\n- ", "\n1. ", "\n===\n", "```", "<!--", "<script>", "&lt;", "&#60;", "@octocat", "#12",
     "<https://evil.example>", "![x](y)", "word"]), max_size=30).map("".join)  # fmt: skip
ALLOWED_TAGS = {"p", "/p", "code", "/code"}
STRUCTURE = re.compile(r"<(h[1-6]|table|tr|td|th|li|a|img|hr|blockquote|pre|script|div|details|!--)[\s>]")


@settings(max_examples=300, deadline=None)
@given(text=MARKUP)
@example("_www.evil.example")  # GitHub autolinks "www." after "_"; escape_md once let it through
@example("(www.evil.example)")
def test_escaped_page_text_renders_as_one_plain_paragraph(text: str) -> None:
    markdown = f"Page says: {escape_md(text)}\n"
    rendered = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    tags = set(re.findall(r"<(/?[a-zA-Z0-9]+)", rendered))
    assert tags <= ALLOWED_TAGS, (text, rendered)
    cell = cmarkgfm.github_flavored_markdown_to_html(f"| a | b |\n| - | - |\n| {escape_md(text)} | x |\n")
    assert cell.count("<td>") == 2 and cell.count("<tr>") == 2


def structure(markdown: str) -> list[str]:
    """The HTML elements that give a rendering its shape, in order."""
    return STRUCTURE.findall(cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE))


def issue_body_for(text: str) -> str:
    finding = Finding(Code.STATUS_CHANGED, text, {"hub": text, "page": text, "quote": text, "diff": text + "\n```"},
                      fix=text)  # fmt: skip
    report = night("2026-11-24", [EntryResult(entry("a", title=text, status=text), [finding], final_url=text)])
    return github.issue_body(report["entries"][0], report)


def report_for(text: str) -> str:
    results = [EntryResult(entry(f"e{n}", title=text, status=text),
                           [Finding(Code.TITLE_CHANGED, text, {"page": text, "chain": f"{text} -> {text}"},
                                    first_seen=text)], final_url=text, http_status=200)
               for n in range(2)]  # fmt: skip
    return render_markdown(night("2026-11-24", results))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_page_text_adds_no_structure_to_an_issue_body_or_the_report(payload: str) -> None:
    # The same documents with harmless words in every page-controlled field are the yardstick.
    assert structure(issue_body_for(payload)) == structure(issue_body_for("plain words"))
    assert structure(report_for(payload)) == structure(report_for("plain words"))
    assert "\n" not in github.issue_title({"title": payload})


@settings(max_examples=100, deadline=None)
@given(text=MARKUP)
def test_random_markup_adds_no_structure_to_an_issue_body_or_the_report(text: str) -> None:
    assume(text.strip())  # an empty field leaves its line out: less structure, from the data, not the text
    assert structure(issue_body_for(text)) == structure(issue_body_for("plain words"))
    assert structure(report_for(text)) == structure(report_for("plain words"))


# --- hostile but valid JSON at the state and report readers ---------------------------------------------

_DEEP = st.integers(1, 5000).map(lambda n: "[" * n + "]" * n)
_LONE = st.sampled_from(['"\\ud800"', '"a\\udfffb"', '"\\ud83d"', '"ok"'])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(["title", "etag", "findings", "heading", "url", "updated_at", "x"]),
       value=_DEEP | _LONE | _LONE.map(lambda v: "{" + v + ": " + v + "}"))  # fmt: skip
def test_a_state_file_of_deep_or_surrogate_json_never_breaks_a_night(tmp_path: Path, field: str, value: str) -> None:
    path = tmp_path / "state.json"
    entry = f'"url": "https://ok.example/", "{field}": {value}' if field != "updated_at" else '"url": null'
    top = f', "updated_at": {value}' if field == "updated_at" else ""
    path.write_text('{"schema": 1' + top + ', "entries": {"ok": {' + entry + "}}}", encoding="utf-8")
    loaded = load_state(path)  # never raises
    if loaded.warning is None:
        save_state(path, loaded.state)  # and what loaded can be written back
        assert load_state(path).warning is None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=_DEEP | _LONE)
def test_a_report_of_deep_or_surrogate_json_renders_or_exits_3(tmp_path: Path, value: str) -> None:
    from monitor.cli import main

    path = tmp_path / "latest.json"
    path.write_text('{"tool": "hub-monitor", "schema": 1, "entries": ' + value + "}", encoding="utf-8")
    assert main(["report", str(path), "-o", str(tmp_path / "out.md")]) in (0, 3)
