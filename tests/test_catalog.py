"""The catalog stage: the real hub catalog, and every way a maintainer can get a catalog wrong."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.catalog import Catalog, CatalogError, Problem, load_catalog
from monitor.cli import main
from monitor.models import Kind

REPO = Path(__file__).resolve().parent.parent
HUB_CATALOG = REPO / "catalog" / "hub.yaml"

HEADER = """\
version: 1
hub:
  title: Test Hub
  url: https://hub.example/
entries:
"""


def write(tmp_path: Path, text: str, name: str = "hub.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def entry(entry_id: str = "one", url: str = "https://example.org/one", **fields: str) -> str:
    """One entry as YAML list item lines; `fields` values are written verbatim after `key: `."""
    values = {"section": "Things", "title": f"Title of {entry_id}", "url": url, **fields}
    return f"  - id: {entry_id}\n" + "".join(f"    {key}: {value}\n" for key, value in values.items())


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    return caught.value.problems


def where(problems: list[Problem]) -> list[tuple[int, str]]:
    return [(p.line, p.field) for p in problems]


# -- the real catalog -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hub() -> Catalog:
    return load_catalog(HUB_CATALOG)


def test_real_catalog_loads_cleanly(hub: Catalog) -> None:
    assert hub.version == 1
    assert hub.warnings == ()
    assert hub.hub.title == "Mechanistic Interpretability Hub"
    assert hub.hub.url == "https://www.matsprogram.org/mechinterp"
    assert hub.hub.maintainer == "MATS"


def test_real_catalog_has_every_section_of_the_hub(hub: Catalog) -> None:
    sections = [e.section for e in hub.entries]
    assert sections.count("Learning Resources") == 8
    assert sections.count("Training programs") == 3
    assert sections.count("Grant funders for independent research") >= 1
    assert {e.kind for e in hub.entries if e.section == "Training programs"} == {Kind.PROGRAM}
    assert {e.kind for e in hub.entries if e.section.startswith("Grant funders")} == {Kind.FUNDER}


@pytest.mark.parametrize(
    ("entry_id", "status"),
    [
        (
            "mats",
            "Applications for Neel Nanda\u2019s stream close November 10, 2023 11:59 PM (PST); "
            "other streams close November 17, 2023 11:59 PM (PST).",
        ),
        ("arena", "Applications open soon."),
        ("apart-interpretability-hackathon", "Status unknown."),
        ("lightspeed-grants", "Currently closed."),
    ],
)
def test_real_catalog_keeps_the_hubs_status_text_exactly(hub: Catalog, entry_id: str, status: str) -> None:
    assert hub.entry(entry_id).status == status


def test_real_catalog_marks_every_funder_unconfirmed_and_one_closed(hub: Catalog) -> None:
    funders = [e for e in hub.entries if e.kind is Kind.FUNDER]
    assert funders and all(e.notes and "UNCONFIRMED" in e.notes for e in funders)
    assert [e.id for e in funders if e.status == "Currently closed."] == ["lightspeed-grants"]


def test_real_catalog_explains_every_missing_link(hub: Catalog) -> None:
    missing = [e for e in hub.entries if e.url is None]
    assert {e.id for e in missing} >= {"mats-training-program-2023-24", "working-on-remote-machines"}
    assert all(e.notes for e in missing)


def test_real_catalog_accepts_the_old_transformerlens_address(hub: Catalog) -> None:
    lens = hub.entry("transformerlens")
    assert lens.url == "https://github.com/TransformerLensOrg/TransformerLens"
    assert "https://github.com/neelnanda-io/TransformerLens" in lens.aliases


def test_real_catalog_keeps_curly_apostrophes_in_titles(hub: Catalog) -> None:
    assert hub.entry("mats-training-program-2023-24").title == "Neel Nanda\u2019s MATS Training Program 2023-2024"


def test_real_catalog_entry_lines_point_at_the_entry(hub: Catalog) -> None:
    lines = HUB_CATALOG.read_text(encoding="utf-8").splitlines()
    for e in hub.entries:
        assert lines[e.line - 1].strip() == f"- id: {e.id}"


def test_real_catalog_slows_down_for_github(hub: Catalog) -> None:
    github = hub.settings.for_host("github.com")
    assert github.concurrency == 2
    assert github.request_interval == 1.0


# -- a broken catalog: every problem at once, each with file, line and field -------------------------------


BROKEN = """\
version: 1
hub:
  title: Test Hub
  url: ftp://example.org/hub
entries:
  - id: Good-Id
    section: A
    tittle: Typo
    url: https://example.org/a
  - id: arena
    section: B
    title: Arena
    url: 'javascript:alert(1)'
    kind: grant
  - id: arena
    section: B
    title: [not, text]
    url: https:///nohost
    watch: "div["
    aliases: [https://example.org/alias, "mailto:x@example.org"]
  - section: D
    title: T
    url: https://example.org/d
    status: 2023-13-45
settings:
  timeout: -1
  hosts:
    github.com: {concurrency: two}
  exclude: ["(unclosed"]
"""


def test_broken_catalog_reports_every_problem_with_file_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, BROKEN)
    expected = [
        (4, "hub.url", "'ftp://example.org/hub' is not an http(s) URL"),
        (6, "entries[0].id", "'Good-Id' is not a lowercase slug"),
        (6, "entries[0].title", "missing (required)"),
        (8, "entries[0].tittle", "unknown key 'tittle' (did you mean 'title'?)"),
        (13, "entries[1].url", "'javascript:alert(1)' is not an http(s) URL"),
        (14, "entries[1].kind", "unknown kind 'grant'"),
        (15, "entries[2].id", "duplicate id 'arena' (first used on line 10)"),
        (17, "entries[2].title", "expected text, got a list"),
        (18, "entries[2].url", "'https:///nohost' has no host"),
        (19, "entries[2].watch", "'div[' is not a valid CSS selector"),
        (20, "entries[2].aliases[1]", "'mailto:x@example.org' is not an http(s) URL"),
        (21, "entries[3].id", "missing (required)"),
        (24, "entries[3].status", "cannot read '2023-13-45'"),
        (26, "settings.timeout", "must not be negative"),
        (28, "settings.hosts[github.com].concurrency", "expected a whole number"),
        (29, "settings.exclude[0]", "'(unclosed' is not a valid regular expression"),
    ]
    problems = problems_of(path)
    assert where(problems) == [(line, field) for line, field, _ in expected]
    for problem, (_, _, message) in zip(problems, expected, strict=True):
        assert problem.file == str(path)
        assert message in problem.message


def test_problem_reads_as_file_line_field_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    entries = "".join(entry(f"e{i}") for i in range(7)) + entry("e7", url="'javascript:alert(1)'")
    (tmp_path / "catalog").mkdir()
    path = Path("catalog/hub.yaml")
    path.write_text(HEADER + entries, encoding="utf-8")
    line = path.read_text().splitlines().index("    url: 'javascript:alert(1)'") + 1
    [problem] = problems_of(path)
    assert str(problem) == f"catalog/hub.yaml:{line}: entries[7].url: 'javascript:alert(1)' is not an http(s) URL"


def test_catalog_error_message_lists_every_problem(tmp_path: Path) -> None:
    path = write(tmp_path, BROKEN)
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    assert str(caught.value).splitlines() == [str(p) for p in caught.value.problems]


# -- each kind of entry error ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        (entry(titel="X"), "entries[0].titel", "unknown key 'titel' (did you mean 'title'?)"),
        (entry(colour="red"), "entries[0].colour", "unknown key 'colour' (expected one of: id, section"),
        ("  - id: one\n    section: S\n    url: https://example.org/\n", "entries[0].title", "missing (required)"),
        ("  - id: one\n    section: S\n    title: T\n", "entries[0].url", "missing (required)"),
        (entry(entry_id="One_1"), "entries[0].id", "'One_1' is not a lowercase slug"),
        (entry(entry_id="-lead"), "entries[0].id", "'-lead' is not a lowercase slug"),
        (entry(entry_id="42"), "entries[0].id", "expected text, got the number 42"),
        (entry(url="example.org/page"), "entries[0].url", "(did you mean 'https://example.org/page'?)"),
        (entry(url="'https://exa mple.org/'"), "entries[0].url", "contains spaces"),
        (entry(url="'http://example.org:99999/'"), "entries[0].url", "is not a valid URL"),
        (entry(url="'file:///etc/passwd'"), "entries[0].url", "is not an http(s) URL"),
        (entry(aliases="['//example.org/x']"), "entries[0].aliases[0]", "is not an http(s) URL"),
        (entry(aliases="https://example.org/x"), "entries[0].aliases", "expected a list"),
        (entry(kind="programme"), "entries[0].kind", "unknown kind 'programme' (did you mean 'program'?)"),
        (entry(watch="'p > '"), "entries[0].watch", "is not a valid CSS selector"),
        (entry(watch="'::before'"), "entries[0].watch", "is not a valid CSS selector"),
        (entry(expect="['']"), "entries[0].expect[0]", "must not be empty"),
        (entry(section="''"), "entries[0].section", "must not be empty"),
        (entry(title="yes"), "entries[0].title", "expected text, got true/false (yes)"),
        (entry(status="{a: b}"), "entries[0].status", "expected text, got a mapping"),
        (entry(notes="!!python/object/apply:os.system ['echo hacked']"), "entries[0].notes", "expected text"),
        (entry(notes="!!python/name:os.system ''"), "entries[0].notes", "cannot read"),
        (entry(notes="!custom x"), "entries[0].notes", "cannot read"),
        (entry() + entry(), "entries[1].id", "duplicate id 'one' (first used on line 6)"),
        (entry() + "    id: again\n", "entries[0].id", "repeated key (first given on line 6)"),
        ("  - just text\n", "entries[0]", "expected a mapping"),
    ],
)
def test_entry_errors(tmp_path: Path, text: str, field: str, message: str) -> None:
    [problem] = problems_of(write(tmp_path, HEADER + text))
    assert problem.field == field
    assert message in problem.message


def test_entry_error_points_at_the_offending_line(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + entry() + entry("two", kind="grant"))
    [problem] = problems_of(path)
    assert path.read_text().splitlines()[problem.line - 1] == "    kind: grant"


# -- errors in the file as a whole ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "line", "field", "message"),
    [
        (b"", 1, "", "the file is empty"),
        (b"\n# only a comment\n", 1, "", "the file is empty"),
        (b"version: 1\nhub:\n  title: caf\xe9\n", 3, "", "not valid UTF-8"),
        (b"- a\n- b\n", 1, "", "the top level must be a mapping"),
        (b"just words\n", 1, "", "the top level must be a mapping"),
        (b"version: 1\nhub: {title: x\nentries: []\n", 3, "", "YAML syntax error"),
        (b"version: 1\nhub:\n  title: a: b\n", 3, "", "YAML syntax error"),
        (b"version: 1\n---\nversion: 1\n", 2, "", "YAML syntax error"),
        (b"version: 1\nhub: {title: \x07}\n", 2, "", "YAML syntax error"),
        (b"[" * 5000, 0, "", "nested too deeply"),
        (b"version: 2\nhub: {title: x}\nentries: []\n", 1, "version", "unsupported schema version 2"),
        (b"version: one\nhub: {title: x}\nentries: []\n", 1, "version", "expected a whole number"),
        (b"hub: {title: x}\nentries: []\n", 1, "version", "missing (required)"),
        (b"version: 1\nentries: []\n", 1, "hub", "missing (required)"),
        (b"version: 1\nhub: {title: x}\n", 1, "entries", "missing (required)"),
        (b"version: 1\nhub: {title: x}\nentries: {}\n", 3, "entries", "expected a list"),
        (b"version: 1\nhub: {title: x}\nentires: []\n", 3, "entires", "did you mean 'entries'?"),
        (b"version: 1\nhub: {name: x}\nentries: []\n", 2, "hub.name", "unknown key 'name'"),
    ],
)
def test_file_errors(tmp_path: Path, data: bytes, line: int, field: str, message: str) -> None:
    path = tmp_path / "hub.yaml"
    path.write_bytes(data)
    problems = problems_of(path)
    assert any((p.line, p.field) == (line, field) and message in p.message for p in problems), "\n".join(
        map(str, problems)
    )


def test_missing_file_is_a_catalog_error(tmp_path: Path) -> None:
    [problem] = problems_of(tmp_path / "nowhere.yaml")
    assert "cannot read the file" in problem.message
    assert str(problem).startswith(f"{tmp_path / 'nowhere.yaml'}: ")


def test_directory_is_a_catalog_error(tmp_path: Path) -> None:
    [problem] = problems_of(tmp_path)
    assert "cannot read the file" in problem.message


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "hub.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + entry()).encode())
    assert load_catalog(path).entries[0].id == "one"


# -- what a valid catalog gives ----------------------------------------------------------------------------


def test_entry_fields_and_defaults(tmp_path: Path) -> None:
    text = (
        HEADER
        + entry()
        + entry(
            "two",
            kind="funder",
            author="Someone",
            status="Currently closed.",
            aliases="[https://example.org/old]",
            expect="[Apply now]",
            watch="'main h1'",
            notes="A note.",
        )
    )
    catalog = load_catalog(write(tmp_path, text))
    one, two = catalog.entries
    assert (one.kind, one.aliases, one.expect, one.watch, one.status, one.line) == (
        Kind.RESOURCE,
        (),
        (),
        None,
        None,
        6,
    )
    assert two.kind is Kind.FUNDER
    assert two.aliases == ("https://example.org/old",)
    assert two.expect == ("Apply now",)
    assert two.watch == "main h1"
    assert (two.author, two.status, two.notes, two.line) == ("Someone", "Currently closed.", "A note.", 10)


def test_null_url_with_a_note_is_fine(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, HEADER + entry(url="null", notes="Link unknown.")))
    assert catalog.entries[0].url is None
    assert catalog.warnings == ()


def test_null_url_without_notes_is_a_warning(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, HEADER + entry(url="null")))
    [warning] = catalog.warnings
    assert warning.field == "entries[0].url"
    assert "no URL and no notes" in warning.message


def test_hub_url_and_maintainer_are_optional(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, "version: 1\nhub: {title: Bare}\nentries: []\n"))
    assert (catalog.hub.title, catalog.hub.url, catalog.hub.maintainer) == ("Bare", None, None)


def test_catalog_without_settings_uses_defaults(tmp_path: Path) -> None:
    from monitor.settings import Settings

    assert load_catalog(write(tmp_path, HEADER + entry())).settings == Settings()


# -- warnings: the catalog still loads ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("second_url", "aliases"),
    [
        ("https://example.org/one", "[]"),
        ("https://EXAMPLE.org/one/", "[]"),  # host case and a trailing slash do not make a new URL
        ("https://example.org/two", "[https://example.org/one]"),
    ],
)
def test_url_listed_twice_is_a_warning_naming_both(tmp_path: Path, second_url: str, aliases: str) -> None:
    path = write(tmp_path, HEADER + entry() + entry("two", url=second_url, aliases=aliases))
    catalog = load_catalog(path)
    assert len(catalog.entries) == 2
    [warning] = catalog.warnings
    assert warning.line == 10
    assert warning.field.startswith("entries[1].")
    assert "listed twice" in warning.message
    assert "entries[0].url, line 6" in warning.message


def test_different_fragments_are_different_links(tmp_path: Path) -> None:
    text = HEADER + entry(url="https://example.org/doc#a") + entry("two", url="https://example.org/doc#b")
    assert load_catalog(write(tmp_path, text)).warnings == ()


def test_deprecated_selector_is_a_warning(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, HEADER + entry(watch="'p:contains(x)'")))
    [warning] = catalog.warnings
    assert warning.field == "entries[0].watch"


# -- nothing but CatalogError, whatever the file holds -------------------------------------------------------

_FRAGMENTS = [
    "version: 1\n",
    "hub:\n",
    "  title: T\n",
    "entries:\n",
    "  - id: a\n",
    "    url: ",
    "https://x.org/",
    "null",
    "[",
    "]",
    "{",
    "}",
    ": ",
    "- ",
    "&a ",
    "*a ",
    "!!python/object ",
    "'",
    '"',
    "\t",
    "\n",
    "    ",
    "2023-13-45",
    "settings:\n",
    "  hosts:\n",
    "    h: {concurrency: ",
    "watch: ",
    "div[",
    "\x00",
    "é",
    "\ufeff",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.sampled_from(_FRAGMENTS), max_size=40), noise=st.binary(max_size=8))
def test_any_input_gives_a_catalog_or_a_catalog_error(tmp_path: Path, parts: list[str], noise: bytes) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_bytes("".join(parts).encode() + noise)
    try:
        load_catalog(path)
    except CatalogError as exc:
        assert exc.problems
        assert all(p.file == str(path) for p in exc.problems)


# --- libyaml and PyYAML compose the same nodes where libyaml is used ------------------------------------------

_YAML_WORDS = [
    "a", "id", "url", "title", "x y", "https://x.org/a?b=1&c=2#f", "a:b", "a #b", "a#b", "-a", "1", "0x1F", "1.5",
    "1e3", ".inf", "null", "~", "yes", "No", "2026-11-25", "2023-13-45", "12:30", "<<", "é", "😀", "’", "a,b",
    "[a]", "{a}", "a]", "Explainer & Glossary", "a: b", "a - b", "'q'", '"q"', "'it''s'", '"\\u00e9\\x41\\/"',
    '"a\\', "'a", '"a\\nb"', "&a", "*a", "!!str", "?", "|", ">-", "%", "@", "`", "x" * 1030, "", " ",
]  # fmt: skip
_YAML_LINE = st.tuples(
    st.sampled_from(["", " ", "  ", "    ", "      "]),
    st.sampled_from(["", "", "- ", "- - ", "-"]),
    st.sampled_from(_YAML_WORDS),
    st.sampled_from([": ", ":", " : ", "", ":  "]),
    st.sampled_from([*_YAML_WORDS, "|", ">-", "|2-", "| #c", "|#c", ">+  # c", "[a, b]", "{a: 1}", "{a: }"]),
    st.sampled_from(["", "", " #c", "#c", "  "]),
).map("".join)
_YAML_DOCS = st.one_of(
    st.lists(_YAML_LINE, max_size=25).map("\n".join),
    st.lists(st.sampled_from([*HUB_CATALOG.read_text(encoding="utf-8").splitlines()[:120], "---", "..."]),
             max_size=60).map("\n".join),
)  # fmt: skip


def _nodes(node: object) -> object:
    """What yamlcheck reads of a node: its kind, tag, value and line (and its children's)."""
    from yaml.nodes import MappingNode, ScalarNode, SequenceNode

    if node is None:
        return None
    assert isinstance(node, ScalarNode | SequenceNode | MappingNode)
    if isinstance(node, ScalarNode):
        return ("scalar", node.tag, node.value, node.start_mark.line)
    if isinstance(node, SequenceNode):
        return ("seq", node.tag, node.start_mark.line, [_nodes(item) for item in node.value])
    return ("map", node.tag, node.start_mark.line, [(_nodes(k), _nodes(v)) for k, v in node.value])


@settings(max_examples=1500, deadline=None, database=None)
@given(text=_YAML_DOCS)
def test_libyaml_is_used_only_where_it_composes_what_pyyaml_does(text: str) -> None:
    import yaml

    from monitor import yamlcheck

    fast = yamlcheck._compose_with_libyaml(text)
    if fast is yamlcheck._SLOW:
        return
    # libyaml read it without an error: PyYAML must too, to the same nodes on the same lines.
    assert _nodes(fast) == _nodes(yaml.compose(text, Loader=yaml.SafeLoader))


def test_libyaml_leaves_what_it_reads_differently_to_pyyaml() -> None:
    from monitor import yamlcheck

    for text in ["key: value\t", "a: |#c\n  x", "[a?]", "{a: }", "---", "?", "a: !x", "\ufeffa: 1", "a: &x 1",
                 "a:\r\n  b", "- " * 150 + "x"]:  # fmt: skip
        assert yamlcheck._compose_with_libyaml(text) is yamlcheck._SLOW, text
    assert yamlcheck._compose_with_libyaml(HUB_CATALOG.read_text(encoding="utf-8")) is not yamlcheck._SLOW


def test_the_catalog_reads_the_same_without_libyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor import yamlcheck

    with_libyaml = load_catalog(HUB_CATALOG)
    monkeypatch.setattr(yamlcheck, "_LibyamlLoader", None)
    assert load_catalog(HUB_CATALOG) == with_libyaml


@pytest.mark.parametrize(
    ("url", "watch", "field", "message"),
    [
        # B15: a 1 MB URL passed; check then blamed the server ("URL too long").
        ("https://example.org/" + "a" * 1_000_000, None, "entries[0].url", "is 1,000,020 characters long"),
        ("https://example.org/?q=" + "a" * 2100, None, "entries[0].url", "a URL may have at most 2,048"),
        # B28: credentials in a public catalog, published in every report; the message does not repeat them.
        ("http://user:hunter2@example.org/", None, "entries[0].url", "contains a user name or password"),
        ("https://token@example.org/x", None, "entries[0].url", "contains a user name or password"),
        # B19: 600 compound selectors were a RecursionError in validate and check.
        ("https://example.org/", " ".join(["div"] * 600), "entries[0].watch", "the selector is too complex"),
        ("https://example.org/", " > ".join(["div"] * 70), "entries[0].watch", "70 parts"),
    ],
)
def test_urls_and_selectors_past_the_caps_are_refused_with_file_and_line(
    tmp_path: Path, url: str, watch: str | None, field: str, message: str
) -> None:
    path = tmp_path / "hub.yaml"
    extra = {"watch": json.dumps(watch)} if watch else {}
    path.write_text(HEADER + entry(url=json.dumps(url), **extra), encoding="utf-8")
    [problem] = problems_of(path)
    assert (problem.line, problem.field) == ({"entries[0].url": 9, "entries[0].watch": 10}[field], field)
    assert message in problem.message
    assert "hunter2" not in problem.message and "token@" not in problem.message
    assert len(str(problem)) < 500


def test_the_cli_refuses_a_catalog_url_with_credentials_with_exit_3(tmp_path: Path, capsys) -> None:
    path = tmp_path / "hub.yaml"
    path.write_text(HEADER + entry(url="http://user:secret@example.org/"), encoding="utf-8")
    assert main(["validate", str(path)]) == 3
    assert main(["check", str(path), "--report", str(tmp_path / "r.md"), "--json", str(tmp_path / "r.json"),
                 "--state", str(tmp_path / "s.json")]) == 3  # fmt: skip
    err = capsys.readouterr().err
    assert "contains a user name or password" in err and "secret" not in err
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://xn--zz.example/", "the host is not a valid internationalised domain name (IDNA: Invalid A-label)"),
        ("http://xn--ls8h.la/", "the host is not a valid internationalised domain name (IDNA: Codepoint U+1F4A9"),
        ("http://a..b/", "the host has an empty label (two dots in a row)"),
        (f"http://{'a' * 64}.example/", "the host has a label of 64 characters, over the 63 DNS allows"),
    ],
)
def test_validate_refuses_hosts_no_connection_can_be_made_to(url: str, message: str, tmp_path: Path) -> None:
    # Issue 12, B1/B2: such a URL passed validate, then crashed the whole check.
    from tests.catalogs import write_catalog

    with pytest.raises(CatalogError) as caught:
        load_catalog(write_catalog(tmp_path / "hub.yaml", {"bad": url}))
    assert message in str(caught.value)
