"""`hub-monitor init`: a new hub's first catalog and nightly workflow, from its page or its Markdown list.

    read_source(body, name, content_type, ...) -> Scaffold   (pure: which reader, the catalog text, counts)
    workflow_text(action, catalog) -> str                    (the nightly workflow that uses the action)
    next_steps(...) -> str                                   (what the maintainer does next)

HTML goes through the hub page reader of `hub-monitor import` (monitor/hub.py); Markdown through
monitor/listimport.py. The caller validates the catalog before writing anything (cli.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from monitor import __version__
from monitor.hub import parse_hub
from monitor.hub import to_catalog_yaml as html_catalog_yaml
from monitor.listimport import parse_markdown
from monitor.listimport import to_catalog_yaml as list_catalog_yaml

DEFAULT_ACTION = f"hub-monitor/hub-monitor@v{__version__}"
_MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown", ".txt")


@dataclass(frozen=True)
class Scaffold:
    catalog: str
    form: str  # "markdown" or "html"
    title: str
    entries: int
    sections: int


def is_markdown(name: str, content_type: str, body: bytes) -> bool:
    """Markdown by its name or type; HTML by its type or a leading `<`; otherwise Markdown."""
    media = content_type.split(";")[0].strip().lower()
    if media in ("text/markdown", "text/x-markdown", "text/plain"):
        return True
    if media in ("text/html", "application/xhtml+xml"):
        return False
    if PurePosixPath(urlsplit(name).path).suffix.lower() in _MARKDOWN_SUFFIXES:
        return True
    return body.lstrip()[:1] != b"<"


def read_source(body: bytes, name: str, *, content_type: str = "", hub_url: str | None = None,
                base_url: str | None = None, title: str | None = None) -> Scaffold:  # fmt: skip
    """The catalog YAML for a hub given as HTML or as a Markdown list; `name` is the file name or URL."""
    if is_markdown(name, content_type, body):
        stem = PurePosixPath(urlsplit(name).path).stem
        fallback = " ".join(w.capitalize() for w in re.split(r"[-_\s]+", stem) if w) or "Links"
        page, notes = parse_markdown(body.decode("utf-8", errors="replace"), title=title, base_url=base_url,
                                     fallback_title=fallback)  # fmt: skip
        text = list_catalog_yaml(page, hub_url, notes, name)
        return Scaffold(text, "markdown", page.title, len(page.entries), len(page.sections))
    page = parse_hub(body, {"content-type": content_type} if content_type else {}, base_url or hub_url or name)
    if title:
        page.title = title
    text = html_catalog_yaml(page, hub_url or base_url or "")
    return Scaffold(text, "html", page.title, len(page.entries), len(page.sections))


def workflow_text(action: str, catalog: str) -> str:
    template = resources.files("monitor").joinpath("templates/hub-monitor.yml").read_text(encoding="utf-8")
    return template.replace("__ACTION__", action).replace("__CATALOG__", catalog)


def next_steps(catalog: str, workflow: str, scaffold: Scaffold) -> str:
    return "\n".join([
        f"Wrote {catalog}: {scaffold.entries} entries in {scaffold.sections} sections of "
        f"“{scaffold.title}” (from {scaffold.form}).",
        f"Wrote {workflow}: a nightly check that uses the Hub Monitor action.",
        "",
        "Next steps:",
        f"  1. Read {catalog}: fix titles and sections, set `kind: program` or `funder` where it applies, and",
        "     copy each status line exactly as the hub shows it (`status:`).",
        f"  2. hub-monitor validate {catalog}",
        f"  3. hub-monitor check {catalog}     # the first report: reports/latest.md",
        "  4. Commit both files and push; the workflow runs every night at 03:17 UTC (or run it by hand:",
        "     Actions → Hub Monitor → Run workflow).",
    ])  # fmt: skip
