"""`hub-monitor init` and the Markdown list reader, on real saved lists (tests/fixtures/lists/README.md).

The expectations are what a reader of each list sees: its sections, how many linked items each has, and what a
few of them say. They were counted by hand from the files, not taken from the code's output.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.catalog import load_catalog
from monitor.cli import main
from monitor.listimport import parse_markdown

LISTS = Path(__file__).parent / "fixtures" / "lists"
ROOT = Path(__file__).resolve().parents[1]


def read(name: str, **kw: str) -> tuple[list[tuple[str, str, str, str]], str]:
    page, notes = parse_markdown((LISTS / name).read_text(encoding="utf-8"), **kw)
    return [(e.section, e.title, e.url or "", n) for e, n in zip(page.entries, notes, strict=True)], page.title


def test_awesome_list_with_badges_and_reference_images() -> None:
    entries, title = read("awesome-windows.md", fallback_title="Awesome Windows")
    assert title == "Awesome Windows"  # the excerpt has no level-1 heading
    sections = [s for s, *_ in entries]
    assert [sections.count(s) for s in ("Online Storage", "Backup", "Terminal")] == [8, 3, 15]
    assert len(entries) == 26  # Contribute, Backers and License hold no entries
    by_title = {t: (u, n) for _, t, u, n in entries}
    assert by_title["Duplicati"] == (
        "https://www.duplicati.com/",
        "Free backup software to store encrypted backups online For Windows, macOS and Linux.",
    )  # the open-source badge (a link around a reference-style image) and the freeware image are dropped
    assert by_title["Mozy"] == ("https://mozy.com/product/download", "")
    assert by_title["Dropbox"][1] == "Simple, elegant and versatile (PC, Macs, Android...) cloud storage solution."
    assert not any("creativecommons" in u or "buymeacoffee" in u for _, _, u, _ in entries)


def test_numbered_list_with_a_table_of_contents_and_typos() -> None:
    entries, title = read("awesome-llm-interpretability.md")
    assert title == "Awesome LLM Interpretability"
    sections = [s for s, *_ in entries]
    assert sections.count("LLM Interpretability Tools") == 21
    assert sections.count("LLM Interpretability Papers") == 6
    assert not any(u.startswith("#") or "#llm" in u for _, _, u, _ in entries)  # the contents are in-page anchors
    by_title = {t: (u, n) for _, t, u, n in entries}
    # Two links on one item: the first is the entry, the second is part of its description.
    url, note = by_title["Does Localization Inform Editing? Surprising Differences in Causality-Based Localization "
                         "vs. Knowledge Editing in Language Models"]  # fmt: skip
    assert url == "https://arxiv.org/abs/2301.04213"
    assert note.startswith("Tweet Summary (NeurIPS 2023 Spotlight) - highlights the limits of Causal Tracing")
    # "(url)] - An application ..." : the stray bracket is not part of the description.
    assert by_title["Self-Influence Guided Data Reweighting for Language Model Pre-training"][1].startswith(
        "An application of training data attribution methods")  # fmt: skip
    # No separator at all: "[Floom](url) AI gateway ..."
    assert by_title["Floom"][1].startswith("AI gateway and marketplace for developers")


def test_course_page_with_relative_links_and_authors() -> None:
    entries, title = read("fields-ai-safety-resources.md")
    assert title == "Course-Wide Resources"
    assert [(s, sum(1 for x, *_ in entries if x == s)) for s in dict.fromkeys(s for s, *_ in entries)] == [
        ("Suggested starting points", 5), ("Related course notes", 3), ("Research and community organizations", 5),
    ]  # fmt: skip
    page, _ = parse_markdown((LISTS / "fields-ai-safety-resources.md").read_text(encoding="utf-8"))
    book = next(e for e in page.entries if e.url == "https://www.aisafetybook.com/")
    assert book.author == "Dan Hendrycks"
    assert book.text.startswith("the course's suggested introductory text.")
    # With the list's own address, its relative links (the weekly indexes) become entries too.
    base = "https://github.com/Varifold-Lab/awesome-ai-safety/blob/main/Lectures/Resources.md"
    with_base, _ = read("fields-ai-safety-resources.md", base_url=base)
    weekly = [u for s, _, u, _ in with_base if s == "Topic-specific readings"]
    assert len(weekly) == 5
    assert weekly[0] == ("https://github.com/Varifold-Lab/awesome-ai-safety/blob/main/Lectures/"
                         "Week%2001/01%20-%20AI%20capability%20trajectories/README.md")  # fmt: skip


def test_status_lines_the_list_states_become_the_entry_status() -> None:
    text = (
        "# Programs\n\n## Fellowships\n\n"
        "- [MATS](https://www.matsprogram.org/) - Research fellowship. Applications for the Winter 2027 cohort "
        "close November 10, 2026.\n"
        "- [ARENA](https://www.arena.education/) — Applications open soon.\n"
        "- [Library](https://library.example/) - A reading room.\n\n"
        "| Program | Status |\n|---|---|\n| [SPAR](https://sparai.org/) | Applications are closed. |\n"
    )
    page, _ = parse_markdown(text)
    assert [(e.title, e.status) for e in page.entries] == [
        ("MATS", "Applications for the Winter 2027 cohort close November 10, 2026."),
        ("ARENA", "Applications open soon."),
        ("Library", None),
        ("SPAR", "Applications are closed."),
    ]


@pytest.mark.parametrize("name", ["awesome-windows.md", "awesome-llm-interpretability.md",
                                  "fields-ai-safety-resources.md"])  # fmt: skip
def test_init_writes_a_catalog_that_validates_and_a_workflow_that_uses_the_action(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", str(LISTS / name), "--dir", str(tmp_path), "--hub-url", "https://hub.example/list"]) == 0
    catalog = load_catalog(tmp_path / "catalog" / "hub.yaml")
    assert len(catalog.entries) >= 13
    # A Markdown list's page is not compared as a hub page: its address is only noted in the header.
    assert catalog.hub.url is None
    assert "(https://hub.example/list)" in (tmp_path / "catalog" / "hub.yaml").read_text(encoding="utf-8")
    out = capsys.readouterr().out
    assert f"{len(catalog.entries)} entries" in out and "Next steps:" in out and "hub-monitor check" in out
    workflow = yaml.safe_load((tmp_path / ".github" / "workflows" / "hub-monitor.yml").read_text(encoding="utf-8"))
    (job,) = workflow["jobs"].values()
    step = next(s for s in job["steps"] if s.get("uses", "").startswith("hub-monitor/hub-monitor@"))
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert set(step["with"]) <= set(action["inputs"])
    assert step["with"]["catalog"] == "catalog/hub.yaml"
    assert job["permissions"] == {"contents": "write", "issues": "write", "pull-requests": "write"}
    # A second init does not overwrite the maintainer's files.
    assert main(["init", str(LISTS / name), "--dir", str(tmp_path)]) == 3
    assert "already exist" in capsys.readouterr().err


def test_init_from_saved_html_uses_the_hub_page_reader(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    html = Path(__file__).parent / "fixtures" / "hub.html"
    assert main(["init", str(html), "--dir", str(tmp_path)]) == 3  # relative links need the page's address
    assert "--hub-url" in capsys.readouterr().err and not (tmp_path / "catalog").exists()
    assert main(["init", str(html), "--dir", str(tmp_path), "--hub-url", "https://www.matsprogram.org/mechinterp",
                 "--action", "octo-org/hub-monitor@0123456789abcdef0123456789abcdef01234567"]) == 0  # fmt: skip
    catalog = load_catalog(tmp_path / "catalog" / "hub.yaml")
    assert catalog.hub.title and len(catalog.entries) > 5
    assert catalog.hub.url == "https://www.matsprogram.org/mechinterp"  # a hub page is compared with the catalog
    assert "octo-org/hub-monitor@0123456789abcdef" in (tmp_path / ".github/workflows/hub-monitor.yml").read_text()
