"""Enough of GitHub's issues API for tests, answering with its real response shapes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

API = "https://api.github.com"
REPO = "octo-org/hub"


def _label(name: str) -> dict[str, Any]:
    return {"id": 208045946, "node_id": "MDU6TGFiZWwyMDgwNDU5NDY=", "url": f"{API}/repos/{REPO}/labels/{name}",
            "name": name, "description": None, "color": "ededed", "default": False}  # fmt: skip


def _user() -> dict[str, Any]:
    return {"login": "github-actions[bot]", "id": 41898282, "type": "Bot", "site_admin": False}


@dataclass
class FakeGitHub:
    """Enough of GitHub's issues API, answering with its real shapes: listing filtered by label with
    Link-header pages, create, edit, comment. Records every write."""

    api: str = API
    per_page_cap: int = 100
    issues: list[dict[str, Any]] = field(default_factory=list)
    comments: dict[int, list[str]] = field(default_factory=dict)
    writes: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    # Answers to give instead of the normal one, first in first out (for rate limits).
    interrupts: list[httpx.Response] = field(default_factory=list)
    # Pull requests by number; each is also in `issues` (a pull request is an issue on GitHub, sharing numbers).
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    # Comment id -> (issue number, index in `comments`), for listing and editing comments.
    comment_ids: dict[int, tuple[int, int]] = field(default_factory=dict)

    def add(self, title: str, body: str, *, state: str = "open", state_reason: str | None = None,
            labels: tuple[str, ...] = ("stale-entry",), pull_request: bool = False) -> int:  # fmt: skip
        number = len(self.issues) + 1
        issue: dict[str, Any] = {
            "url": f"{self.api}/repos/{REPO}/issues/{number}",
            "repository_url": f"{self.api}/repos/{REPO}",
            "html_url": f"https://github.com/{REPO}/issues/{number}",
            "id": 1_000_000 + number,
            "node_id": f"I_kwDO{number:08d}",
            "number": number,
            "title": title,
            "user": _user(),
            "labels": [_label(n) for n in labels],
            "state": state,
            "locked": False,
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "comments": 0,
            "created_at": "2026-11-20T03:17:05Z",
            "updated_at": "2026-11-20T03:17:05Z",
            "closed_at": None if state == "open" else "2026-11-21T09:00:00Z",
            "author_association": "NONE",
            "active_lock_reason": None,
            "body": body,
            "state_reason": state_reason,
        }
        if pull_request:
            issue["pull_request"] = {
                "url": f"{self.api}/repos/{REPO}/pulls/{number}",
                "html_url": f"https://github.com/{REPO}/pull/{number}",
                "diff_url": f"https://github.com/{REPO}/pull/{number}.diff",
                "patch_url": f"https://github.com/{REPO}/pull/{number}.patch",
                "merged_at": None,
            }
        self.issues.append(issue)
        return number

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.interrupts:
            return self.interrupts.pop(0)
        path = request.url.path.removeprefix(httpx.URL(self.api).path.rstrip("/"))
        body = json.loads(request.content) if request.content else {}
        issues_path = f"/repos/{REPO}/issues"
        if path.startswith(f"/repos/{REPO}/pulls"):
            return self._pulls(request, path, body)
        if path.startswith(f"/repos/{REPO}/issues/comments/") or (
                request.method == "GET" and path.endswith("/comments")):  # fmt: skip
            return self._comments(request, path, body)
        if request.method == "GET" and path in (issues_path, "/repositories/42/issues"):
            return self._list(request)
        if request.method != "GET":
            self.writes.append((request.method, path, body))
        if request.method == "POST" and path == issues_path:
            number = self.add(body["title"], body["body"], labels=tuple(body.get("labels", ())))
            return httpx.Response(201, json=self.issues[number - 1])
        number = int(path.split("/")[5])
        issue = self.issues[number - 1]
        if request.method == "PATCH" and path == f"{issues_path}/{number}":
            issue.update(body)
            if body.get("state") == "closed":
                issue["closed_at"] = "2026-11-25T03:17:09Z"
            return httpx.Response(200, json=issue)
        if request.method == "POST" and path == f"{issues_path}/{number}/comments":
            self.comments.setdefault(number, []).append(body["body"])
            issue["comments"] += 1
            comment_id = 9000 + sum(len(c) for c in self.comments.values())
            self.comment_ids[comment_id] = (number, len(self.comments[number]) - 1)
            return httpx.Response(201, json={"id": comment_id, "body": body["body"], "user": _user()})
        return httpx.Response(404, json={"message": "Not Found", "documentation_url": "https://docs.github.com"})

    def _list(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        assert params["state"] == "all"
        label = params["labels"]
        per_page = min(int(params.get("per_page", 30)), self.per_page_cap)
        page = int(params.get("page", 1))
        matching = [i for i in self.issues if any(lb["name"] == label for lb in i["labels"])]
        chunk = matching[(page - 1) * per_page : page * per_page]
        headers = {}
        last = max(1, -(-len(matching) // per_page))
        if page < last:
            # GitHub's Link URLs use the repository id, not its name.
            base = f"{self.api}/repositories/42/issues?labels={label}&state=all&per_page={per_page}"
            headers["link"] = f'<{base}&page={page + 1}>; rel="next", <{base}&page={last}>; rel="last"'
        return httpx.Response(200, json=chunk, headers=headers)

    def ours(self) -> list[dict[str, Any]]:
        return [i for i in self.issues if "hub-monitor:entry=" in (i["body"] or "")]

    # ------------------------------------------------------------------------------- pull requests

    def _pulls(self, request: httpx.Request, path: str, body: dict[str, Any]) -> httpx.Response:
        """GET /pulls (head and state filters), POST /pulls, PATCH /pulls/N, with GitHub's 422 for a duplicate."""
        owner = REPO.split("/")[0]
        if request.method == "GET" and path == f"/repos/{REPO}/pulls":
            params = request.url.params
            state, head = params.get("state", "open"), params.get("head")
            found = [p for p in self.pulls.values()
                     if (state == "all" or p["state"] == state) and (head is None or p["head"]["label"] == head)]
            return httpx.Response(200, json=found)
        self.writes.append((request.method, path, body))
        if request.method == "POST" and path == f"/repos/{REPO}/pulls":
            label = f"{owner}:{body['head']}"
            if any(p["head"]["label"] == label and p["state"] == "open" for p in self.pulls.values()):
                return httpx.Response(422, json={
                    "message": "Validation Failed", "documentation_url": "https://docs.github.com",
                    "errors": [{"resource": "PullRequest", "code": "custom",
                                "message": f"A pull request already exists for {label}."}]})  # fmt: skip
            number = self.add(body["title"], body.get("body") or "", labels=(), pull_request=True)
            issue = self.issues[number - 1]
            self.pulls[number] = {
                "url": f"{self.api}/repos/{REPO}/pulls/{number}", "number": number, "state": "open",
                "html_url": f"https://github.com/{REPO}/pull/{number}", "title": body["title"],
                "body": body.get("body"), "user": _user(), "merged_at": None, "draft": False,
                "head": {"label": label, "ref": body["head"]}, "base": {"label": f"{owner}:{body['base']}",
                                                                        "ref": body["base"]},
                "comments_url": issue["url"] + "/comments",
            }  # fmt: skip
            return httpx.Response(201, json=self.pulls[number])
        number = int(path.split("/")[5])
        if request.method == "PATCH" and number in self.pulls:
            pull = self.pulls[number]
            pull.update({k: v for k, v in body.items() if k in ("title", "body", "state", "base")})
            self.issues[number - 1].update({k: v for k, v in body.items() if k in ("title", "body", "state")})
            return httpx.Response(200, json=pull)
        return httpx.Response(404, json={"message": "Not Found", "documentation_url": "https://docs.github.com"})

    def _comments(self, request: httpx.Request, path: str, body: dict[str, Any]) -> httpx.Response:
        """GET /issues/N/comments and PATCH /issues/comments/ID."""
        if request.method == "GET":
            number = int(path.split("/")[5])
            listed = [{"id": cid, "body": self.comments[n][i], "user": _user()}
                      for cid, (n, i) in sorted(self.comment_ids.items()) if n == number]  # fmt: skip
            return httpx.Response(200, json=listed)
        self.writes.append((request.method, path, body))
        comment_id = int(path.rsplit("/", 1)[1])
        number, index = self.comment_ids[comment_id]
        self.comments[number][index] = body["body"]
        return httpx.Response(200, json={"id": comment_id, "body": body["body"], "user": _user()})


@contextmanager
def served(fake: FakeGitHub) -> Iterator[str]:
    """The stand-in API on a real 127.0.0.1 port, for a `hub-monitor` run in another process; yields the API URL."""

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = httpx.Request(self.command, f"{fake.api}{self.path}", headers=dict(self.headers.items()),
                                    content=self.rfile.read(length) if length else b"")  # fmt: skip
            response = fake(request)
            body = response.read()
            self.send_response(response.status_code)
            for name, value in response.headers.items():
                if name.lower() not in ("content-length", "transfer-encoding", "content-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PATCH = _any

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.api = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake.api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
