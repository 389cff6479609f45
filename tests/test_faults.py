"""Faults during a run: kills, Ctrl-C, a full or read-only disk, two runs at once, the run's time budget.

The promise under test: `reports/state.json`, `latest.md` and `latest.json` are each, at every moment,
either the previous complete version or the new complete version. Kills and interrupts hit a real
`python -m monitor check` child; the servers add a little latency so that signals land mid-run.
"""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import BinaryIO

import pytest

import monitor.atomic
from monitor.cli import ExitCode, main
from monitor.report import render_markdown
from tests.catalogs import write_catalog
from tests.server import Route, TestServer, hang, html, respond, sequence

ROOT = Path(__file__).resolve().parent.parent
FAST = ["--allow-host", "127.0.0.1", "--retry-wait-time", "10ms", "--host-request-interval", "0",
        "--today", "2026-11-25", "--quiet"]  # fmt: skip
ENTRIES = 24
KILLS = 24
LATENCY = 0.015  # seconds per page: long enough for a kill to land mid-crawl, short enough for many runs


def slow(title: str) -> Route:
    page = html(title, f"<h1>{title}</h1><p>About {title}, updated often.</p>")

    def handler(h: BaseHTTPRequestHandler) -> None:
        time.sleep(LATENCY)
        page(h)

    return handler




@dataclass
class Reports:
    folder: Path

    @property
    def paths(self) -> tuple[Path, Path, Path]:
        return self.folder / "latest.json", self.folder / "latest.md", self.folder / "state.json"

    def args(self) -> list[str]:
        j, m, s = self.paths
        return ["--json", str(j), "--report", str(m), "--state", str(s)]

    def read(self) -> tuple[bytes | None, ...]:
        return tuple(p.read_bytes() if p.exists() else None for p in self.paths)

    def temps(self) -> list[str]:
        return sorted(p.name for p in self.folder.rglob("*.tmp"))


def whole(before: tuple[bytes | None, ...], after: tuple[bytes | None, ...], entries: int) -> str:
    """Assert each file is its previous version or a complete new one; say which: old, new or mixed."""
    _, old_md, old_state = before
    new_json, new_md, new_state = after
    data = json.loads(new_json or b"null")  # a partial file fails here
    assert data["tool"] == "hub-monitor" and len(data["entries"]) == entries
    # The Markdown is the previous one, or exactly the rendering of the JSON written just before it.
    assert new_md == old_md or (new_md or b"").decode() == render_markdown(data)
    if new_state != old_state:
        state = json.loads(new_state or b"null")
        # Written last: a new state always belongs to the JSON beside it.
        assert state["schema"] == 1 and state["updated_at"] == data["finished_at"]
    changed = [a != b for a, b in zip(before, after, strict=True)]
    return "old" if not any(changed) else "new" if all(changed) else "mixed"


def child(catalog: Path, reports: Reports, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "check", str(catalog), *reports.args(), *FAST, *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def wait_for_request(server: TestServer, proc: subprocess.Popen[str], seconds: float = 10) -> None:
    """Until the child's first request reaches the server: the run has started, the lock is held."""
    deadline = time.monotonic() + seconds
    while not server.requests:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the child never sent a request"
        time.sleep(0.005)


@pytest.fixture
def site(server: TestServer) -> Iterator[dict[str, str]]:
    urls = {f"page-{n}": server.route(f"/page-{n}", slow(f"Page {n}")) for n in range(ENTRIES - 2)}
    urls["dead"] = server.route("/dead", respond(404, "<title>Not Found</title>"))
    urls["moved"] = server.route("/moved", respond(301, b"", {"Location": "/page-0"}))
    yield urls


# --- kills ----------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_sigkill_at_random_moments_leaves_old_or_new_files(tmp_path: Path, site: dict[str, str]) -> None:
    catalog = write_catalog(tmp_path / "hub.yaml", site)
    reports = Reports(tmp_path / "reports")
    started = time.monotonic()
    first = child(catalog, reports)
    first.communicate(timeout=30)
    duration = time.monotonic() - started
    assert first.returncode == ExitCode.OK
    rng = random.Random(20261125)
    outcomes: dict[str, int] = {}
    # Under a loaded machine a run's length varies a lot; a run that finished before its kill tells the real
    # length now, and the loop goes on (up to 3 x KILLS runs) until KILLS // 2 kills were checked, so load
    # changes how many runs it takes, never how many torn-or-whole verdicts the test asserts.
    for _ in range(3 * KILLS):
        killed = sum(n for kind, n in outcomes.items() if kind != "finished")
        if killed >= KILLS // 2 and sum(outcomes.values()) >= KILLS:
            break
        before = reports.read()
        started = time.monotonic()
        proc = child(catalog, reports)
        # From the end of start-up to just past the usual end: mid-crawl, mid-write or just after.
        try:
            proc.wait(timeout=rng.uniform(0.5, 1.1) * duration)
            outcomes["finished"] = outcomes.get("finished", 0) + 1
            duration = time.monotonic() - started
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            kind = whole(before, reports.read(), ENTRIES)
            outcomes[kind] = outcomes.get(kind, 0) + 1
        proc.communicate()
    print(f"SIGKILL loop: {outcomes}")
    assert outcomes.get("old", 0) + outcomes.get("new", 0) + outcomes.get("mixed", 0) >= KILLS // 2
    # The kernel released every dead run's lock, and the next run clears the temp files they left.
    last = child(catalog, reports)
    last.communicate(timeout=30)
    assert last.returncode == ExitCode.FINDINGS  # the dead link, confirmed over the runs that finished
    assert reports.temps() == []


class Killed(BaseException):
    """Stands for SIGKILL in-process: no handler in the monitor catches it."""


@pytest.mark.parametrize("renames_before_death", [0, 1, 2])
def test_death_between_any_two_renames_leaves_each_file_whole(
    tmp_path: Path, site: dict[str, str], monkeypatch: pytest.MonkeyPatch, renames_before_death: int
) -> None:
    catalog = write_catalog(tmp_path / "hub.yaml", site)
    reports = Reports(tmp_path / "reports")
    assert main(["check", str(catalog), *reports.args(), *FAST]) == ExitCode.OK
    before = reports.read()
    real_replace = os.replace
    done = {"n": 0}

    def dying_replace(src: str, dst: str) -> None:
        if done["n"] == renames_before_death:
            raise Killed
        done["n"] += 1
        real_replace(src, dst)

    monkeypatch.setattr(monitor.atomic.os, "replace", dying_replace)
    with pytest.raises(Killed):
        main(["check", str(catalog), *reports.args(), *FAST])
    after = reports.read()
    # json, md, state renamed in that order: each death point gives its own mix, each file whole.
    expected = ["old", "mixed", "mixed"][renames_before_death]
    assert whole(before, after, ENTRIES) == expected
    assert [a != b for a, b in zip(before, after, strict=True)] == [n < renames_before_death for n in range(3)]


# --- Ctrl-C ---------------------------------------------------------------------------------------------


def test_ctrl_c_mid_run_exits_130_and_keeps_the_previous_files(tmp_path: Path, server: TestServer) -> None:
    urls = {"ok": server.route("/ok", html("OK", "<p>fine</p>"))}
    catalog = write_catalog(tmp_path / "hub.yaml", urls)
    reports = Reports(tmp_path / "reports")
    assert main(["check", str(catalog), *reports.args(), *FAST]) == ExitCode.OK
    before = reports.read()
    server.requests.clear()
    urls["stuck"] = server.route("/stuck", hang(server))
    write_catalog(tmp_path / "hub.yaml", urls)
    proc = child(catalog, reports, "--timeout", "60s")
    wait_for_request(server, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == ExitCode.INTERRUPTED, err
    assert "interrupted" in err and "Traceback" not in err
    assert reports.read() == before
    assert reports.temps() == []


@pytest.mark.slow
def test_ctrl_c_at_random_moments_keeps_files_whole(tmp_path: Path, site: dict[str, str], server: TestServer) -> None:
    catalog = write_catalog(tmp_path / "hub.yaml", site)
    reports = Reports(tmp_path / "reports")
    assert main(["check", str(catalog), *reports.args(), *FAST]) == ExitCode.OK
    rng = random.Random(130)
    codes: list[int] = []
    for _ in range(8):
        before = reports.read()
        server.requests.clear()
        proc = child(catalog, reports)
        wait_for_request(server, proc)
        try:
            proc.wait(timeout=rng.uniform(0.0, 0.3))
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
        codes.append(proc.returncode)
        assert proc.returncode in (ExitCode.INTERRUPTED, ExitCode.OK), err
        assert "Traceback" not in err
        whole(before, reports.read(), ENTRIES)
        assert reports.temps() == []
    assert ExitCode.INTERRUPTED in codes


# --- the disk -------------------------------------------------------------------------------------------


def test_full_disk_exits_1_and_leaves_every_previous_file(
    tmp_path: Path, site: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = write_catalog(tmp_path / "hub.yaml", site)
    reports = Reports(tmp_path / "reports")
    assert main(["check", str(catalog), *reports.args(), *FAST]) == ExitCode.OK
    before = reports.read()
    capsys.readouterr()
    calls = {"n": 0}

    write = monitor.atomic._write

    def full_after_first_file(handle: BinaryIO, content: str | bytes | Iterable[str]) -> None:
        # The JSON report fits, the Markdown does not: the disk fills up half-way through the writes.
        calls["n"] += 1
        if calls["n"] >= 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        write(handle, content)

    monkeypatch.setattr(monitor.atomic, "_write", full_after_first_file)
    assert main(["check", str(catalog), *reports.args(), *FAST]) == ExitCode.INTERNAL_ERROR
    err = capsys.readouterr().err
    assert "latest.md: No space left on device (disk full); the previous files are intact" in err
    assert reports.read() == before
    assert reports.temps() == []


def test_read_only_reports_folder_exits_1_and_leaves_the_files(
    tmp_path: Path, site: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = write_catalog(tmp_path / "hub.yaml", site)
    reports = Reports(tmp_path / "reports")
    assert main(["check", str(catalog), *reports.args(), *FAST]) == ExitCode.OK
    before = reports.read()
    capsys.readouterr()

    def read_only(*args: object, **kwargs: object) -> tuple[int, str]:
        # What a read-only mount answers (simulated: tests run as root, which ignores file modes).
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(monitor.atomic, "_create_temp", read_only)
    assert main(["check", str(catalog), *reports.args(), *FAST]) == ExitCode.INTERNAL_ERROR
    err = capsys.readouterr().err
    assert "latest.json: Read-only file system; the previous files are intact" in err
    assert reports.read() == before


# --- two runs at once -----------------------------------------------------------------------------------


def test_a_second_run_on_the_same_reports_exits_1_naming_the_lock(
    tmp_path: Path, server: TestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = write_catalog(tmp_path / "hub.yaml", {"stuck": server.route("/stuck", hang(server))})
    reports = Reports(tmp_path / "reports")
    first = child(catalog, reports, "--timeout", "60s")
    try:
        wait_for_request(server, first)
        # Exit 1, "the tool failed": nothing was checked, and the nightly job must not go on as if it had.
        assert main(["check", str(catalog), *reports.args(), *FAST]) == ExitCode.INTERNAL_ERROR
        err = capsys.readouterr().err
        assert f"another hub-monitor run is using {reports.folder}" in err
        assert server.hits("/stuck") == 1  # the second run fetched nothing
        assert reports.read() == (None, None, None)
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=10)
    assert first.returncode == ExitCode.INTERRUPTED


# --- the run's time budget ------------------------------------------------------------------------------


def test_max_runtime_ends_the_run_and_lists_what_was_not_checked(
    tmp_path: Path, server: TestServer, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    urls = {
        "fine": server.route("/fine", html("Fine", "<p>fine</p>")),
        "also-fine": server.route("/also-fine", html("Also fine", "<p>fine too</p>")),
        "silent": server.route("/silent", hang(server)),
        "mute": server.route("/mute", hang(server)),
        # Fails fast on the first pass, then hangs on the second: the first answer must not be lost.
        "flaky": server.route("/flaky", sequence(respond(503, "<title>Busy</title>"), hang(server))),
    }
    # Titles differ from ids, so the listing below shows which one the report names.
    catalog = write_catalog(tmp_path / "hub.yaml", [{"id": i, "url": u, "title": i.upper()} for i, u in urls.items()])
    reports = Reports(tmp_path / "reports")
    started = time.monotonic()
    code = main(["check", str(catalog), *reports.args(), *[a for a in FAST if a != "--quiet"],
                 "--max-runtime", "1s", "--timeout", "60s", "--max-retries", "0", "--confirm-after", "1"])  # fmt: skip
    elapsed = time.monotonic() - started
    assert elapsed < 3, elapsed
    data = json.loads(reports.paths[0].read_text())
    entries = {e["id"]: e for e in data["entries"]}
    assert [entries[i]["checked"] for i in urls] == [True, True, False, False, True]
    assert entries["fine"]["findings"] == [] and entries["also-fine"]["findings"] == []
    assert [f["code"] for f in entries["flaky"]["findings"]] == ["http-error"]
    assert code == ExitCode.FINDINGS
    markdown = reports.paths[1].read_text()
    assert "2 entries were not checked." in markdown.splitlines()[2]
    section = markdown.split("## Not checked", 1)[1].split("\n## ", 1)[0]
    listed = [line.split(":", 1)[0] for line in section.splitlines() if line.startswith("- ")]
    assert listed == ["- SILENT (silent)", "- MUTE (mute)"]
    assert section.count("(the run's time budget (max\\_runtime 1s) ran out first)") == 2  # _ escaped for Markdown
    assert "time budget (max_runtime 1s) ran out: 2 of 5 URLs not checked" in caplog.text
    assert ", 2 not checked. Report:" in capsys.readouterr().err
    # What was not checked keeps no memory of tonight: the next run tries it as new.
    state = json.loads(reports.paths[2].read_text())
    assert set(state["entries"]) == {"fine", "also-fine", "flaky"}
