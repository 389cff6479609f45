"""Files a run reads and writes (principle 5 of issue 12): a size cap and a type check on every read, every
output checked for conflicts before anything is fetched, a multi-file write whole or not at all, and nothing
deleted that the tool did not make."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from monitor import atomic
from monitor.atomic import run_lock, write_all_atomic
from monitor.cli import main
from monitor.inputfile import CATALOG_LIMIT, InputFileError, read_capped
from tests.catalogs import write_catalog
from tests.server import BaseHTTPRequestHandler, TestServer, respond

FAST = ["--allow-host", "127.0.0.1", "--retry-wait-time", "10ms", "--host-request-interval", "0",
        "--today", "2026-11-25", "--quiet"]  # fmt: skip


def _check(catalog: Path, reports: Path, *extra: str) -> int:
    return main(["check", str(catalog), "--report", str(reports / "latest.md"), "--json",
                 str(reports / "latest.json"), "--state", str(reports / "state.json"), *FAST, *extra])  # fmt: skip


# --- B9: reads are capped and only of regular files -------------------------------------------------


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("where", ["fifo", "/dev/zero", "folder"])
@pytest.mark.parametrize("command", ["validate", "check --config", "report", "import", "check --state"])
def test_reading_a_pipe_a_device_or_a_folder_is_refused_at_once(
    tmp_path: Path, fifo: Path, capsys: pytest.CaptureFixture[str], where: str, command: str
) -> None:
    path = {"fifo": str(fifo), "/dev/zero": "/dev/zero", "folder": str(tmp_path)}[where]
    catalog = str(write_catalog(tmp_path / "hub.yaml", {}))
    argv = {
        "validate": ["validate", path],
        "check --config": ["check", catalog, "--config", path, "--report", str(tmp_path / "r.md"), "--json",
                           str(tmp_path / "r.json"), "--state", str(tmp_path / "s.json")],
        "report": ["report", path],
        "import": ["import", path],
        "check --state": ["check", catalog, "--state", path, "--report", str(tmp_path / "r.md"), "--json",
                          str(tmp_path / "r.json")],
    }[command]  # fmt: skip
    assert main(argv) == 3
    err = capsys.readouterr().err
    kind = {"fifo": "named pipe (FIFO)", "/dev/zero": "character device", "folder": "folder"}[where]
    assert f"is a {kind}" in err and path in err
    assert not (tmp_path / "r.json").exists()


def test_a_file_past_its_cap_is_refused_without_reading_it(tmp_path: Path) -> None:
    big = tmp_path / "hub.yaml"
    with big.open("wb") as handle:
        handle.truncate(CATALOG_LIMIT + 1)  # sparse: no disk used
    with pytest.raises(InputFileError, match="over 64 MiB"):
        read_capped(big, CATALOG_LIMIT)
    assert main(["validate", str(big)]) == 3


# --- B20, B23: outputs are checked before anything is fetched -----------------------------------------


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--state", ""], "--state: the path is empty"),
        (["--json", ""], "--json: the path is empty"),
        (["--state", "{file}/x"], "is a file, not a folder"),
        (["--report", "{catalog}"], "is also the catalog"),
        (["--json", "{dir}/same", "--report", "{dir}/same"], "is also --report"),
        (["--json", "{dir}/s.json", "--state", "{dir}/s.json"], "is also --json"),
        (["--report", "{dir}/../reports/latest.json"], "latest.json: is also --report"),
        (["--report", "{dir}"], "is a folder"),  # B24
        (["--report", "{hardlink}"], "is also the catalog"),
        (["--state", "{root}/state.json"], "snapshots must be a folder for the snapshots; it is a file"),
    ],
)
def test_outputs_that_cannot_be_written_or_would_overwrite_another_file_are_refused(
    tmp_path: Path, server: TestServer, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    server.route("/ok", respond(200, "<title>ok</title>"))
    catalog = write_catalog(tmp_path / "hub.yaml", {"ok": server.url("/ok")})
    before = catalog.read_text()
    (tmp_path / "file").write_text("not a folder")
    (tmp_path / "snapshots").write_text("not a folder")
    os.link(catalog, tmp_path / "hardlink.yaml")
    reports = tmp_path / "reports"
    reports.mkdir()
    places = {"file": tmp_path / "file", "catalog": catalog, "dir": reports, "root": tmp_path,
              "hardlink": tmp_path / "hardlink.yaml"}  # fmt: skip
    given = [f.format(**places) for f in flags]
    assert _check(catalog, reports, *given) == 3
    assert message in capsys.readouterr().err
    assert server.hits("/ok") == 0, "refused before anything was fetched"
    assert catalog.read_text() == before and not list(reports.glob("*.json"))


def test_a_folder_in_a_multi_file_write_leaves_every_file_as_it_was(tmp_path: Path) -> None:
    first, second = tmp_path / "latest.json", tmp_path / "latest.md"
    first.write_text("old json")
    second.mkdir()
    with pytest.raises(Exception, match="is a folder"):
        write_all_atomic([(first, "new json"), (second, "new md")])
    assert first.read_text() == "old json"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.json", "latest.md"]


# --- B25: only the tool's own files are deleted ----------------------------------------------------


def test_files_that_are_not_the_tools_survive_a_run(tmp_path: Path, server: TestServer) -> None:
    server.route("/a", respond(200, "<title>A</title><p>Alpha</p>"))
    server.route("/b", respond(200, "<title>B</title><p>Beta</p>"))
    reports = tmp_path / "reports"
    catalog = write_catalog(tmp_path / "hub.yaml", {"a": server.url("/a"), "b": server.url("/b")})
    assert _check(catalog, reports) == 0
    snapshots = reports / "snapshots"
    assert sorted(p.name for p in snapshots.iterdir()) == ["a.txt", "b.txt"]
    (snapshots / "notes.txt").write_text("mine")
    (reports / ".x.abcdefgh.tmp").write_text("another program's")
    leftover = reports / ".latest.json.hub-monitor.abcd1234.tmp"
    leftover.write_text("a killed run's")
    write_catalog(catalog, {"a": server.url("/a")})  # b leaves the catalog
    assert _check(catalog, reports) == 0
    assert sorted(p.name for p in snapshots.iterdir()) == ["a.txt", "notes.txt"]
    assert (reports / ".x.abcdefgh.tmp").read_text() == "another program's"
    assert not leftover.exists()


# --- B26: every folder written to is locked ---------------------------------------------------------


def test_a_run_sharing_only_the_report_folder_with_another_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = write_catalog(tmp_path / "hub.yaml", {})
    shared = tmp_path / "shared"
    with run_lock(shared):  # another run, with its own --state, writing its report here
        code = main(["check", str(catalog), "--report", str(shared / "latest.md"), "--json",
                     str(tmp_path / "mine" / "latest.json"), "--state", str(tmp_path / "mine" / "state.json"),
                     "--quiet"])  # fmt: skip
    assert code == 1
    assert f"another hub-monitor run is using {shared}" in capsys.readouterr().err
    assert not (tmp_path / "mine" / "latest.json").exists()


# --- B27: Ctrl-C during the writes leaves no temp file --------------------------------------------------


def test_ctrl_c_as_a_temp_file_is_made_leaves_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = atomic._create_temp

    def interrupted(folder: str, name: str) -> tuple[int, str]:
        made = real(folder, name)
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C lands just after the file exists
        return made

    monkeypatch.setattr(atomic, "_create_temp", interrupted)
    (tmp_path / "latest.json").write_text("old")
    with pytest.raises(KeyboardInterrupt):
        write_all_atomic([(tmp_path / "latest.json", "new"), (tmp_path / "latest.md", "new")])
    assert [p.name for p in tmp_path.iterdir()] == ["latest.json"]
    assert (tmp_path / "latest.json").read_text() == "old"


# --- B10: a conditional request needs the snapshot it relies on -----------------------------------------


@pytest.mark.parametrize("damage", ["missing", "not utf-8"])
def test_a_lost_snapshot_makes_the_next_request_unconditional(
    tmp_path: Path, server: TestServer, damage: str
) -> None:
    page = {"text": "<title>Guide</title><p>Applications are open.</p>"}

    def handler(h: BaseHTTPRequestHandler) -> None:
        if h.headers.get("If-None-Match") == '"v1"':
            respond(304, b"", {"ETag": '"v1"'})(h)  # the server's cache never notices the change
        else:
            respond(200, page["text"], {"ETag": '"v1"'})(h)

    server.route("/guide", handler)
    reports = tmp_path / "reports"
    catalog = write_catalog(tmp_path / "hub.yaml", {"guide": server.url("/guide")})
    assert _check(catalog, reports) == 0
    snapshot = reports / "snapshots" / "guide.txt"
    if damage == "missing":
        snapshot.unlink()
    else:
        snapshot.write_bytes(b"\xff\xfe broken")
    page["text"] = "<title>Guide</title><p>Applications are closed for good.</p>"
    for _night in range(2):
        _check(catalog, reports)
    conditional = [r for r in server.requests if "if-none-match" in {k.lower() for k in r.headers}]
    data = json.loads((reports / "latest.json").read_text())
    # At most one night is answered from a cache whose snapshot is gone; then the page is read again.
    assert len(conditional) <= 1
    assert (reports / "snapshots" / "guide.txt").read_text(encoding="utf-8").strip().endswith("closed for good.")
    assert data["entries"][0]["checked"]


# --- B28: credentials in a redirect's URL are never written -------------------------------------------


def test_a_password_in_a_redirect_target_is_not_written_to_any_file(tmp_path: Path, server: TestServer) -> None:
    server.route("/old", respond(301, b"", {"Location": f"http://robot:hunter2@127.0.0.1:{server.port}/new"}))
    server.route("/new", respond(200, "<title>New</title><p>Here now.</p>"))
    reports = tmp_path / "reports"
    catalog = write_catalog(tmp_path / "hub.yaml", {"moved": server.url("/old")})
    _check(catalog, reports, "--fail-on", "never")
    data = json.loads((reports / "latest.json").read_text())
    assert data["entries"][0]["final_url"] == server.url("/new")
    for written in reports.rglob("*"):
        if written.is_file():
            assert "hunter2" not in written.read_text(encoding="utf-8", errors="replace"), written


# Found by the re-run of the battery: `check` read last night's JSON report (to tell what changed) with
# read_text and no shape check, after the whole crawl: a torn or hand-edited one failed every night, exit 1,
# with nothing written.
@pytest.mark.parametrize(
    "previous",
    [
        '{"tool": "hub-monitor", "schema": 1, "entries": 5}',  # TypeError
        '{"tool": "hub-monitor", "schema": 1, "z": ' + "[" * 3000 + "]" * 3000 + "}",  # RecursionError
        '{"tool": "hub-monitor", "schema": 1, "z": ' + "1" * 5000 + "}",  # ValueError: too many digits
    ],
    ids=["wrong-shape", "deep", "long-number"],
)
def test_a_broken_report_from_last_night_only_costs_the_changes_section(
    tmp_path: Path, server: TestServer, capsys: pytest.CaptureFixture[str], previous: str
) -> None:
    server.route("/a", respond(200, "<title>A</title><p>Alpha</p>"))
    reports = tmp_path / "reports"
    catalog = write_catalog(tmp_path / "hub.yaml", {"a": server.url("/a")})
    reports.mkdir()
    (reports / "latest.json").write_text(previous)
    assert _check(catalog, reports) == 0
    assert json.loads((reports / "latest.json").read_text())["tool"] == "hub-monitor"
    assert (reports / "state.json").exists()
    assert "warning: last night's report is not used to tell what changed" in capsys.readouterr().err
