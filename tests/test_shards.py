"""Crawl shards (monitor/shards.py): a sharded run reports and remembers what a single process does."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from monitor import cli, pipeline
from monitor import settings as settings_module
from monitor.analysis import PageJob, Verdict, analyse_page
from monitor.atomic import Staging, WriteError
from monitor.catalog import load_catalog
from monitor.cli import main
from monitor.findings import Code
from monitor.settings import HostSettings, Settings, override, parse_settings
from monitor.shards import _shard_settings, partition, shard_count
from monitor.state import SnapshotSpool, State, save_state
from tests.server import TestServer, hang, html, redirect, respond, serve

FAST = ["--allow-host", "127.0.0.1", "--retry-wait-time", "10ms", "--host-request-interval", "0", "--max-retries",
        "0", "--today", "2026-11-25", "--quiet", "--confirm-after", "1", "--fail-on", "never"]  # fmt: skip


@pytest.fixture
def three() -> Iterator[tuple[TestServer, TestServer, TestServer]]:
    with serve() as a, serve() as b, serve() as c:
        yield a, b, c


def _etag_page(h: BaseHTTPRequestHandler) -> None:
    if h.headers.get("If-None-Match") == '"v1"':
        respond(304, b"", {"ETag": '"v1"'})(h)
    else:
        html("Stable", "<h1>Stable</h1><p>Applications are open all year.</p>", headers={"ETag": '"v1"'})(h)


NEWS = ["Applications are open until 1 December 2026."]


def _site(a: TestServer, b: TestServer, c: TestServer, tmp_path: Path) -> Path:
    """Three hosts (ports) with most of what a night meets: dead links, a cross-host redirect, a soft 404, a
    page that changes on the second night, a 304, a hub page to compare the catalog with."""
    entries = {
        "fine": a.route("/ok", html("Fine", "<h1>Fine</h1><p>All good here.</p>")),
        "dead": a.route("/gone", html("Not Found", "<h1>Not Found</h1>", status=404)),
        "hop": a.route("/hop", redirect(b.url("/landing"), 301)),
        "stable": a.route("/etag", _etag_page),
        "landing": b.route("/landing", html("Landing", "<h1>Landing</h1><p>The resource lives here now.</p>")),
        "soft": b.route("/soft", html("Page not found", "<h1>Sorry, this page does not exist</h1>")),
        "changing": b.route("/news", lambda h: html("News", f"<h1>News</h1><p>{NEWS[0]}</p>")(h)),
        "removed": c.route("/removed", html("Gone", "<h1>Gone</h1>", status=410)),
        "third": c.route("/third", html("Third", "<h1>Third</h1><p>Another host, another page.</p>")),
    }
    hub = c.route("/hub", html("Hub", "".join(f'<h2>Section</h2><a href="{url}">{name}</a>'
                                              for name, url in list(entries.items())[:6])))
    lines = ["version: 1", "hub:", "  title: Test Hub", f"  url: {json.dumps(hub)}", "entries:"]
    for name, url in entries.items():
        lines += [f"  - id: {name}", "    section: Section", f"    title: {name}", f"    url: {json.dumps(url)}"]
        if name in ("changing", "stable"):
            lines += ["    kind: program", '    status: "Applications are open."']
    lines += ["  - id: twin", "    section: Section", "    title: twin", f"    url: {json.dumps(entries['fine'])}"]
    catalog = tmp_path / "hub.yaml"
    catalog.write_text("\n".join(lines) + "\n")
    return catalog


_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
_TIMINGS = {"started_at", "finished_at", "duration_ms", "elapsed_ms", "settings_changed"}


def _without_timings(value: object) -> object:
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k not in _TIMINGS}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    if isinstance(value, str):
        return _TIME.sub("<time>", value)
    return value


def _night(catalog: Path, out: Path, shards: int, workers: int = 2, *, alone: bool = False) -> tuple[object, ...]:
    argv = ["check", str(catalog), "--report", str(out / "latest.md"), "--json", str(out / "latest.json"),
            "--state", str(out / "state.json"), "--shards", str(shards), "--workers", str(workers), *FAST]
    if alone:  # as a user runs it: a process of one thread, whose shards are forked
        done = subprocess.run([sys.executable, "-m", "monitor", *argv], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    else:  # in this process, which has other threads: spawned shards
        assert main(argv) == 0
    report = json.loads((out / "latest.json").read_text())
    state = json.loads((out / "state.json").read_text())
    snapshots = {p.name: p.read_text() for p in sorted((out / "snapshots").iterdir())}
    return _without_timings(report), _without_timings(state), snapshots


def test_a_sharded_run_reports_and_remembers_what_one_process_does(tmp_path, three):
    catalog = _site(*three, tmp_path)
    NEWS[0] = "Applications are open until 1 December 2026."
    one_first = _night(catalog, tmp_path / "one", shards=1)
    three_first = _night(catalog, tmp_path / "three", shards=3, alone=True)  # pages read in a thread of each
    NEWS[0] = "Applications are now closed."  # the second night, a page changed
    one_second = _night(catalog, tmp_path / "one", shards=1)
    three_second = _night(catalog, tmp_path / "three", shards=2, workers=4)  # each shard with 2 worker processes
    assert three_first == one_first
    assert three_second == one_second
    report = one_second[0]
    assert isinstance(report, dict)
    found = {e["id"]: sorted(f["code"] for f in e["findings"]) for e in report["entries"]}
    # The mix was really met: a dead link, a cross-host move, a soft 404, a change of status, drift.
    assert "dead-link" in found["dead"] and "dead-link" in found["removed"]
    assert "moved-permanently" in found["hop"]
    assert "soft-404" in found["soft"]
    assert "status-changed" in found["changing"]
    assert "hub-drift" in found["changing"]  # the hub page was read, by the shard that owns its host
    assert found["twin"] == found["fine"]  # two entries of one URL


def test_hosts_are_never_split_and_shards_are_balanced_by_urls():
    urls = [f"https://big.example/{i}" for i in range(6)] + [f"https://mid.example/{i}" for i in range(4)]
    urls += [f"https://small.example:8443/{i}" for i in range(3)] + ["https://small.example/x", "not a url"]
    groups = partition(urls, 3)
    assert sorted(u for g in groups for u in g) == sorted(urls)
    hosts = [{u.split("/")[2] if "://" in u else u for u in g} for g in groups]
    for i, own in enumerate(hosts):
        assert all(not (own & other) for other in hosts[i + 1:])
    assert sorted(len(g) for g in groups) == [4, 5, 6]
    assert partition(urls, 3) == groups  # the same catalog splits the same way every night
    assert partition(urls, 10) and len(partition(urls, 10)) == 5  # no more shards than hosts


def test_a_host_reached_only_by_redirects_gets_a_share_of_its_limits_in_a_shard():
    settings = override(Settings(), {"host_concurrency": 4, "host_request_interval": 0.1,
                                     "hosts": {"slow.example": HostSettings(concurrency=1)}})
    shard = _shard_settings(settings, ["https://own.example/a", "https://own.example:8443/b"], 0, 3)
    assert (shard.for_host("own.example").concurrency, shard.for_host("own.example").request_interval) == (4, 0.1)
    foreign = shard.for_host("publisher.example")
    assert foreign.concurrency == 2 and foreign.request_interval == pytest.approx(0.3)
    assert shard.for_host("slow.example").concurrency == 1  # never below one request
    assert shard.max_concurrency == 11 and shard.workers == max(1, settings.workers // 3) and shard.shards == 1


def test_one_host_or_one_shard_starts_nothing():
    two = ["https://a.example/", "https://b.example/"]
    assert shard_count(override(Settings(), {"shards": 4}), ["https://a.example/1", "https://a.example/2"]) == 1
    assert shard_count(override(Settings(), {"shards": 1}), two) == 1
    assert shard_count(override(Settings(), {"shards": 4}), two, lambda: None) == 1  # a fake that cannot cross
    assert shard_count(override(Settings(), {"shards": 4}), two, analyse_page) == 4


def test_the_default_follows_the_cpus_and_one_core_keeps_one_process(monkeypatch):
    monkeypatch.setattr(settings_module, "available_cpus", lambda: 1)
    assert Settings().shards == 1
    monkeypatch.setattr(settings_module, "available_cpus", lambda: 8)
    assert Settings().shards == 8


def test_shards_is_read_like_workers_from_a_flag_or_a_catalog(tmp_path, capsys):
    assert parse_settings({"shards": 3}, "hub.yaml").shards == 3
    catalog = tmp_path / "hub.yaml"
    catalog.write_text("version: 1\nhub:\n  title: T\nsettings:\n  shards: 65\nentries: []\n")
    assert main(["check", str(catalog), "--quiet"]) == 3
    assert "hub.yaml:5: settings.shards: must be between 1 and 64, got 65" in capsys.readouterr().err
    catalog.write_text("version: 1\nhub:\n  title: T\nentries: []\n")
    assert main(["check", str(catalog), "--shards", "many"]) == 3
    assert "command line: --shards: " in capsys.readouterr().err


def _shards_alive() -> list[str]:
    # The main process's own analysis workers live on between runs (by design): only shards must be gone.
    return [p.name for p in multiprocessing.active_children() if "shard" in p.name]


def _dies_on_b(job: PageJob) -> list[Verdict]:
    """Analysis that kills its whole process on the second host's pages, as a crash in a C library would."""
    if "/b-" in job.fetched.url:
        os._exit(3)
    return analyse_page(job)


def test_a_shard_that_dies_costs_its_entries_check_failed_not_the_run(tmp_path, server, server2):
    urls = {"a-1": server.route("/a-1", html("A", "<h1>A</h1><p>Fine.</p>")),
            "a-2": server.route("/a-2", html("A", "<h1>A</h1><p>Fine too.</p>")),
            "b-1": server2.route("/b-1", html("B", "<h1>B</h1><p>Fine.</p>"))}
    catalog = tmp_path / "hub.yaml"
    catalog.write_text("version: 1\nhub:\n  title: T\nentries:\n" + "".join(
        f"  - id: {k}\n    section: S\n    title: {k}\n    url: {json.dumps(u)}\n" for k, u in urls.items()))
    settings = override(Settings(), {"shards": 2, "workers": 2, "allow_hosts": ["127.0.0.1"],
                                     "host_request_interval": 0.0, "max_retries": 0})
    outcome = pipeline.check(load_catalog(catalog), settings, State(), today=date(2026, 11, 25),
                             analyse_page=_dies_on_b)
    by_id = {r.entry.id: r for r in outcome.run.entries}
    assert by_id["a-1"].checked and by_id["a-1"].findings == [] and by_id["a-2"].checked
    [failure] = by_id["b-1"].findings
    assert failure.code is Code.CHECK_FAILED and "exit code 3" in failure.message
    assert not _shards_alive()


def test_ctrl_c_stops_every_shard(tmp_path, server, server2):
    catalog = tmp_path / "hub.yaml"
    urls = [server.route("/one", html("One", "<p>1</p>")), server2.route("/two", html("Two", "<p>2</p>"))]
    catalog.write_text("version: 1\nhub:\n  title: T\nentries:\n" + "".join(
        f"  - id: e{i}\n    section: S\n    title: e{i}\n    url: {json.dumps(u)}\n" for i, u in enumerate(urls)))
    settings = override(Settings(), {"shards": 2, "workers": 2, "allow_hosts": ["127.0.0.1"]})

    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pipeline.check(load_catalog(catalog), settings, State(), today=date(2026, 11, 25), progress=interrupted)
    assert not _shards_alive()


def test_the_run_budget_holds_across_shards(tmp_path, server, server2):
    fine = server.route("/fine", html("Fine", "<h1>Fine</h1><p>All good.</p>"))
    silent = server2.route("/silent", hang(server2))
    catalog = tmp_path / "hub.yaml"
    catalog.write_text("version: 1\nhub:\n  title: T\nentries:\n" + "".join(
        f"  - id: {k}\n    section: S\n    title: {k}\n    url: {json.dumps(u)}\n"
        for k, u in {"fine": fine, "silent": silent}.items()))
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "monitor", "check", str(catalog), "--report", str(out / "latest.md"), "--json",
            str(out / "latest.json"), "--state", str(out / "state.json"), "--shards", "2", "--workers", "2",
            "--max-runtime", "2s", "--timeout", "60s", *FAST]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    entries = {e["id"]: e for e in json.loads((out / "latest.json").read_text())["entries"]}
    assert entries["fine"]["checked"] and entries["fine"]["findings"] == []
    assert not entries["silent"]["checked"]
    assert entries["silent"]["not_checked_reason"] == "the run's time budget (max_runtime 2s) ran out first"
    assert "1 of 1 URLs not checked" in done.stderr  # the shard's own log line reached the run's stderr


# --- snapshot files a shard stages itself ---------------------------------------------------------------


def _two_hosts(tmp_path: Path, a: TestServer, b: TestServer, b_page: object = None) -> Path:
    urls = {"a-1": a.route("/a-1", html("A", "<h1>A</h1><p>Fine.</p>")),
            "a-2": a.route("/a-2", html("A", "<h1>A</h1><p>Fine too.</p>")),
            "b-1": b.route("/b-1", b_page or html("B", "<h1>B</h1><p>Fine.</p>"))}  # type: ignore[arg-type]
    catalog = tmp_path / "hub.yaml"
    catalog.write_text("version: 1\nhub:\n  title: T\nentries:\n" + "".join(
        f"  - id: {k}\n    section: S\n    title: {k}\n    url: {json.dumps(u)}\n" for k, u in urls.items()))
    return catalog


def _temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*.tmp"))


@pytest.mark.parametrize(("failure", "code"), [(WriteError("disk full"), 1), (KeyboardInterrupt(), 130)])
def test_snapshot_files_the_shards_staged_are_deleted_when_the_run_commits_nothing(
    tmp_path, server, server2, monkeypatch, failure, code
):
    catalog = _two_hosts(tmp_path, server, server2)
    out = tmp_path / "out"
    staged: list[str] = []

    def fails(*args: object) -> None:
        staged.extend(_temps(out / "snapshots"))
        raise failure

    monkeypatch.setattr(cli, "_write_outputs", fails)
    argv = ["check", str(catalog), "--report", str(out / "latest.md"), "--json", str(out / "latest.json"),
            "--state", str(out / "state.json"), "--shards", "2", "--workers", "2", *FAST]
    assert main(argv) == code
    assert len(staged) == 3  # each shard staged its pages' files before the commit
    assert _temps(out) == []
    assert not (out / "state.json").exists() and list((out / "snapshots").iterdir()) == []


def _stages_then_dies_on_b(job: PageJob) -> list[Verdict]:
    """As a shard killed after it staged a file: one staged in the run's folder, then the process ends."""
    if "/b-" in job.fetched.url:
        Staging(Path(os.environ["HUB_MONITOR_TEST_SNAPSHOTS"])).stage(b"half a night").temp()  # type: ignore[union-attr]
        os._exit(3)
    return analyse_page(job)


def test_a_dead_shards_staged_files_are_deleted_and_the_others_committed(tmp_path, server, server2, monkeypatch):
    catalog = _two_hosts(tmp_path, server, server2)
    folder = tmp_path / "out" / "snapshots"
    monkeypatch.setenv("HUB_MONITOR_TEST_SNAPSHOTS", str(folder))
    settings = override(Settings(), {"shards": 2, "workers": 2, "allow_hosts": ["127.0.0.1"],
                                     "host_request_interval": 0.0, "max_retries": 0})
    with Staging(folder) as staging:
        outcome = pipeline.check(load_catalog(catalog), settings, State(), today=date(2026, 11, 25),
                                 analyse_page=_stages_then_dies_on_b, spool=SnapshotSpool(staging))
        assert outcome.state is not None
        assert len(_temps(folder)) == 3  # the two pages of host a, and the dead shard's file
        save_state(tmp_path / "out" / "state.json", outcome.state)
    assert sorted(p.name for p in folder.iterdir()) == ["a-1.txt", "a-2.txt"]
    assert (folder / "a-1.txt").read_text() == "A\nFine."


def test_a_run_killed_while_its_shards_staged_files_leaves_them_marked_for_the_next_run(tmp_path, server, server2):
    catalog = _two_hosts(tmp_path, server, server2, b_page=hang(server2))  # host b never answers
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "monitor", "check", str(catalog), "--report", str(out / "latest.md"), "--json",
            str(out / "latest.json"), "--state", str(out / "state.json"), "--shards", "2", "--workers", "2",
            "--timeout", "60s", *FAST]  # fmt: skip
    run = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while len(_temps(out / "snapshots")) < 2:  # host a's pages staged by its shard; host b's shard waits
        assert run.poll() is None, run.communicate()
        assert time.monotonic() < deadline, "the shard never staged its files"
        time.sleep(0.005)
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=10)
    left = _temps(out / "snapshots")
    assert len(left) == 2 and all(".hub-monitor." in name for name in left)
    assert not (out / "state.json").exists()
    done = subprocess.run([*argv, "--max-runtime", "1s"], capture_output=True, text=True, timeout=60)  # the next night
    assert done.returncode == 0, done.stderr
    assert _temps(out) == []
    assert sorted(p.name for p in (out / "snapshots").iterdir()) == ["a-1.txt", "a-2.txt"]
