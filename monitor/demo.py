"""`hub-monitor demo`: see the product work on a machine without network, in a few seconds.

A small site shipped with the package (monitor/demo_site/pages.yaml) is served on 127.0.0.1; the demo catalog
(monitor/demo_site/catalog.yaml) lists six entries on it, one per kind of finding: a moved repository, a closed
program whose hub line says "open soon", a passed deadline, a soft-404, an outdated post and a parked domain.
Two nights of the real `check` run against it (failures are confirmed on the second), then the issues that
`hub-monitor issues` would open are planned (dry run, no GitHub) and written as files.

    run_demo(folder) -> DemoResult
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from monitor.atomic import write_all_atomic

NIGHTS = ("2026-11-24", "2026-11-25")
# What the demo promises to show; a test checks that the report holds each.
PROMISED = ("moved-permanently", "status-changed", "deadline-passed", "soft-404", "marked-outdated",
            "parked-domain")  # fmt: skip


@dataclass(frozen=True)
class DemoResult:
    folder: Path
    report: Path
    codes: dict[str, list[str]]  # entry id -> finding codes of the last night
    issues: list[Path]
    exit_codes: tuple[int, ...]
    fixes: Path | None = None  # the catalog diff `hub-monitor fix` would apply, when the report proposes any

    def render(self) -> str:
        lines = [f"Demo hub checked on two nights ({', '.join(NIGHTS)}) against a local site:"]
        lines += [f"  {entry:<18} {', '.join(codes) or 'ok'}" for entry, codes in self.codes.items()]
        lines += [
            "",
            f"Report:  {self.report}  (and latest.json beside it)",
            f"Issues that `hub-monitor issues` would open: {len(self.issues)}, in {self.issues[0].parent}"
            if self.issues else "Issues: none would be opened.",
        ]
        if self.fixes:
            lines.append(f"Catalog changes that `hub-monitor fix` would make: {self.fixes}")
        lines += [
            "",
            "Next: `hub-monitor init URL-or-README.md` writes a catalog for your own hub.",
        ]
        return "\n".join(lines)


def _site_file(name: str) -> str:
    return resources.files("monitor").joinpath(f"demo_site/{name}").read_text(encoding="utf-8")


@contextmanager
def serve_site() -> Iterator[str]:
    """The demo site on a free port of 127.0.0.1; yields its base URL. Stops when the block ends."""
    pages: dict[str, dict[str, Any]] = yaml.safe_load(_site_file("pages.yaml"))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            page = pages.get(self.path.split("?")[0])
            if page is None:
                status, body, headers = 404, "<title>Not Found</title><h1>Not Found</h1>", {}
            elif "location" in page:
                status, body, headers = page["status"], "", {"Location": page["location"]}
            else:
                status, headers = page.get("status", 200), {}
                body = (f"<!doctype html><html><head><title>{page['title']}</title></head>"
                        f"<body><main>{page['body']}</main></body></html>")  # fmt: skip
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the demo's output is the report, not an access log

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="hub-monitor-demo-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class DemoFolderError(Exception):
    """The demo's folder holds something else: the demo never writes over files it did not make."""


# Marks a folder the demo made, so a second run may empty it and start from the first night again.
_MARK = ".hub-monitor-demo"


def _fresh(folder: Path) -> None:
    if folder.exists() and any(folder.iterdir()):
        if not (folder / _MARK).exists():
            raise DemoFolderError(f"{folder} already holds other files; give the demo an empty or new folder")
        for path in sorted(folder.rglob("*"), reverse=True):  # a previous demo's files: its state would carry over
            path.rmdir() if path.is_dir() else path.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / _MARK).write_text("made by `hub-monitor demo`; it empties this folder when run again\n")


def run_demo(folder: Path) -> DemoResult:
    """Serve the site, run two nights of `check`, plan the issues; everything is written under `folder`."""
    from monitor.cli import main
    from monitor.fix import plan_fixes
    from monitor.github import plan_sync

    _fresh(folder)
    reports = folder / "reports"
    catalog = folder / "catalog.yaml"
    exit_codes: list[int] = []
    with serve_site() as site:
        write_all_atomic([(catalog, _site_file("catalog.yaml").replace("SITE", site))])
        for night in NIGHTS:
            exit_codes.append(main([
                "check", str(catalog), "--today", night, "--allow-host", "127.0.0.1", "--quiet",
                "--json", str(reports / "latest.json"), "--report", str(reports / "latest.md"),
                "--state", str(reports / "state.json"), "--fail-on", "never",
                "--retry-wait-time", "0.05", "--host-request-interval", "0",
            ]))  # fmt: skip
    data = json.loads((reports / "latest.json").read_text(encoding="utf-8"))
    actions, _, _ = plan_sync(data, [], max_new=50)
    issues = [folder / "issues" / f"{n:02d}-{a.entry_id}.md" for n, a in enumerate(actions, 1)]
    plan = "\n".join(f"{a.describe()}" for a in actions) + "\n"
    write_all_atomic([(path, f"# {a.title}\n\n{a.body}") for path, a in zip(issues, actions, strict=True)]
                     + [(folder / "issues" / "plan.txt", plan)])  # fmt: skip
    codes = {e["id"]: [f["code"] for f in e["findings"]] for e in data["entries"]}
    # The catalog changes `hub-monitor fix` would make from this report, as `fix --dry-run` prints them.
    diff = plan_fixes(catalog.read_text(encoding="utf-8"), data).diff("catalog.yaml")
    if diff:
        write_all_atomic([(folder / "catalog.diff", diff)])
    return DemoResult(folder, reports / "latest.md", codes, issues, tuple(exit_codes),
                      folder / "catalog.diff" if diff else None)  # fmt: skip
