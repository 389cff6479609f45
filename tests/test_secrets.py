"""Secrets and trust, end to end: a `check` child with a write token in its environment and a per-host
credential, against servers on 127.0.0.1 and 127.0.0.2 that record every request.

Every byte the child writes (stdout, stderr with --verbose, every file under reports/) and every request
the servers receive is searched for the secrets.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.cli import ExitCode
from tests.catalogs import write_catalog
from tests.server import TestServer, html, redirect, serve

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "ghp_WRITE_TOKEN_f00dfeedc0ffee"
CREDENTIAL = "Bearer HOST_ONLY_5ecret_d00d"
CREDENTIAL_HOST = "127.0.0.2"


@pytest.fixture
def vault() -> Iterator[TestServer]:
    """The host the credential is for."""
    with serve(CREDENTIAL_HOST) as s:
        yield s


@pytest.fixture
def vault_other_port() -> Iterator[TestServer]:
    """The same host on another port: another service, not the one the credential was given for."""
    with serve(CREDENTIAL_HOST) as s:
        yield s




def test_secrets_go_only_to_their_host_and_never_into_output(
    tmp_path: Path, server: TestServer, vault: TestServer, vault_other_port: TestServer
) -> None:
    page = html("Page", "<p>A page.</p>")
    urls = {
        "site": server.route("/page", page),
        "site-to-vault": server.route("/to-vault", redirect(vault.url("/from-site"), 302)),
        "vault": vault.route("/page", page),
        "vault-to-site": vault.route("/to-site", redirect(server.url("/from-vault"), 302)),
        "vault-to-other-port": vault.route("/to-port", redirect(vault_other_port.url("/from-vault"), 302)),
        "vault-via-site-and-back": vault.route("/away", redirect(server.url("/bounce"), 302)),
    }
    server.route("/bounce", redirect(vault.url("/back"), 302))
    for s, path in ((vault, "/from-site"), (server, "/from-vault"), (vault_other_port, "/from-vault"),
                    (vault, "/back")):  # fmt: skip
        s.route(path, page)
    catalog = write_catalog(tmp_path / "hub.yaml", urls)
    reports = tmp_path / "reports"
    env = {**os.environ, "GITHUB_TOKEN": TOKEN}
    child = subprocess.run(
        [sys.executable, "-m", "monitor", "check", str(catalog), "--json", str(reports / "latest.json"),
         "--report", str(reports / "latest.md"), "--state", str(reports / "state.json"),
         "--allow-host", "127.0.0.1", "--allow-host", CREDENTIAL_HOST, "--host-request-interval", "0",
         "--host-header", f"{CREDENTIAL_HOST}=Authorization: {CREDENTIAL}", "--verbose", "--today", "2026-11-25"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert child.returncode == ExitCode.OK, child.stderr
    assert "GET http://127.0.0.2" in child.stderr  # --verbose did log the requests

    def authorization(s: TestServer, path: str) -> list[str | None]:
        return [r.headers.get("authorization") for r in s.requests if r.path == path]

    # The credential reaches its own host on the catalog's own URL: the mechanism works...
    assert authorization(vault, "/page") == [CREDENTIAL]
    assert authorization(vault, "/to-site") == [CREDENTIAL]
    # ...and nowhere a redirect leads: not another host, not another port of the same host, and not back
    # to its host on a path that another site chose.
    assert authorization(server, "/from-vault") == [None]
    assert authorization(vault_other_port, "/from-vault") == [None]
    assert authorization(vault, "/from-site") == [None]
    assert authorization(vault, "/back") == [None]
    everything_sent = [
        f"{r.method} {r.path} {r.headers}" for s in (server, vault, vault_other_port) for r in s.requests
    ]
    assert not [line for line in everything_sent if TOKEN in line]
    assert not [line for line in everything_sent if CREDENTIAL in line and "127.0.0.2" not in line]
    # Nothing the child wrote holds either secret.
    written = [child.stdout, child.stderr] + [p.read_text(errors="replace") for p in reports.rglob("*") if p.is_file()]
    for secret in (TOKEN, CREDENTIAL, "HOST_ONLY_5ecret"):
        assert not [text for text in written if secret in text], secret
