"""The catalog read in a helper process beside the crawl's start-up: the same catalog, the same errors."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from monitor import preload
from monitor.catalog import Catalog, CatalogError, load_catalog
from tests.server import TestServer, respond

ROOT = Path(__file__).resolve().parent.parent

# Every part of the schema that a reader builds an object for: settings, hosts, accept, aliases, watch, and a
# warning (a URL listed twice).
RICH = """\
version: 1
hub:
  title: Test Hub
  url: https://hub.example/
  maintainer: someone
settings:
  timeout: 5s
  exclude: ['\\.pdf$']
  hosts:
    example.org: {concurrency: 2, headers: {X-Token: abc}}
entries:
  - id: one
    section: Things
    title: "One: the first"
    url: https://example.org/one
    aliases: [https://example.org/uno]
    status: Applications are open.
    watch: main #status
    accept:
      - {code: dead-link, until: 2027-01-31, reason: moved soon}
  - id: two
    section: Things
    title: Two
    url: https://example.org/one
    kind: program
  - id: three
    section: Other
    title: Three
    url: null
    notes: no link known
"""


@pytest.fixture
def helper(monkeypatch: pytest.MonkeyPatch) -> None:
    """The helper is forked even in this test process (which may hold worker threads of earlier tests)."""
    monkeypatch.setattr(preload, "_helper_possible", lambda: True)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hub.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_the_helpers_catalog_is_the_one_read_here(tmp_path: Path, helper: None) -> None:
    path = write(tmp_path, RICH)
    ran: list[int] = []
    catalog = preload.read_catalog_aside(path, lambda: ran.append(os.getpid()))
    assert catalog == load_catalog(path)
    assert catalog.warnings and catalog.settings.exclude == ("\\.pdf$",)
    assert ran == [os.getpid()]  # beside the helper, here, once


def test_a_bad_catalog_raises_the_same_problems(tmp_path: Path, helper: None) -> None:
    path = write(tmp_path, RICH.replace("kind: program", "kind: nonsense").replace("id: three", "id: Three"))
    with pytest.raises(CatalogError) as direct:
        load_catalog(path)
    with pytest.raises(CatalogError) as aside:
        preload.read_catalog_aside(path, lambda: None)
    assert aside.value.problems == direct.value.problems and len(aside.value.problems) == 2


def test_a_helper_that_dies_costs_nothing_but_a_second_reading(tmp_path: Path, helper: None,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, RICH)
    here = os.getpid()

    def dies_in_the_helper(p: Path) -> Catalog:
        if os.getpid() != here:
            os._exit(9)
        return load_catalog(p)

    monkeypatch.setattr(preload, "load_catalog", dies_in_the_helper)
    assert preload.read_catalog_aside(path, lambda: None) == load_catalog(path)


def test_a_failure_beside_the_helper_is_raised(tmp_path: Path, helper: None) -> None:
    def fails() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        preload.read_catalog_aside(write(tmp_path, RICH), fails)


def test_the_command_refuses_a_bad_catalog_as_before_and_fetches_nothing(tmp_path: Path, server: TestServer) -> None:
    url = server.route("/page", respond(200, "<title>Page</title>"))
    path = write(tmp_path, f"""\
        version: 1
        hub: {{title: Test Hub}}
        entries:
          - {{id: one, section: S, title: One, url: "{url}"}}
          - {{id: one, section: S, title: Again, url: "{url}?again"}}
        """)
    argv = ["check", str(path), "--report", str(tmp_path / "r.md"), "--json", str(tmp_path / "r.json"), "--state",
            str(tmp_path / "state.json"), "--allow-host", "127.0.0.1", "--shards", "2"]
    done = subprocess.run([sys.executable, "-m", "monitor", *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 3
    assert done.stderr == f"{path}:5: entries[1].id: duplicate id 'one' (first used on line 4)\n"
    assert not server.requests and not (tmp_path / "r.json").exists()


def test_the_waiting_work_stops_once_the_catalog_is_read(tmp_path: Path, helper: None,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []

    def readable(fd: int) -> bool:  # the catalog is read while the first step runs
        asked.append(fd)
        return len(asked) > 1

    monkeypatch.setattr(preload, "_readable", readable)
    done: list[str] = []
    path = write(tmp_path, RICH)
    steps = [lambda: done.append("first"), lambda: done.append("second")]
    assert preload.read_catalog_aside(path, lambda: done.append("needed"), steps) == load_catalog(path)
    assert done == ["needed", "first"]


def test_every_step_of_the_shards_warm_up_runs() -> None:
    from monitor import shards

    steps = shards.warm_up()
    assert len(steps) > 1
    for step in steps:
        step()


def test_collections_are_back_on_after_a_failure_beside_the_helper(tmp_path: Path, helper: None) -> None:
    def fails() -> None:
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        preload.read_catalog_aside(write(tmp_path, RICH), fails)
    assert gc.isenabled()
