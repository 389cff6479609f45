"""`hub-monitor issues`: one GitHub issue per stale entry, kept in step with the JSON report.

The issues themselves are the memory: each body carries a hidden marker naming its entry and a
fingerprint of the findings it describes, and the tool finds its issues by listing its label
(open and closed, every page). It never uses the search API, whose index lags behind writes and is
how other tools end up opening a duplicate every night.

    plan_sync(report, issues)  -> what to create, update and close (pure)
    sync_issues(report, ...)   -> lists the issues, plans, then performs the writes one at a time

Errors: GitHubError (the API refused or could not be reached; the message says what to check),
and RateLimited, a GitHubError raised when the rate-limit budget is gone for longer than we wait.
Both stop a sync cleanly: SyncResult.stopped says why and what was already done.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from monitor import DEFAULT_USER_AGENT, __version__
from monitor.escape import escape_md
from monitor.issue_text import (
    BODY_LIMIT,
    HUB_ISSUE_ID,
    _actionable,
    _clean,
    _codes,
    _decode_gists,
    _describe_change,
    _hub_entry,
    _hub_read,
    _prints,
    issue_body,
    issue_title,
    update_comment,
)
from monitor.models import Network

__all__ = [
    "BODY_LIMIT", "HUB_ISSUE_ID", "Action", "GitHubError", "KnownIssue", "RateLimited", "SyncResult",
    "issue_body", "issue_title", "parse_issue", "plan_sync", "sync_issues",
]  # fmt: skip

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_LABEL = "stale-entry"
API_VERSION = "2022-11-28"
# GitHub asks integrations to leave at least a second between writes to avoid secondary rate limits.
WRITE_INTERVAL = 1.0
MAX_PAGES = 100
# An API answer larger than this is not GitHub's: a page of 100 issues at the 65 KB body cap is 6.6 MB.
MAX_ANSWER_BYTES = 16 * 1024 * 1024

_MARKER = re.compile(r"<!-- hub-monitor:entry=([A-Za-z0-9_.-]+) -->")
_PRINTS = re.compile(r"<!-- hub-monitor:findings=([A-Za-z0-9_.,:-]*) -->")
# What each finding said, so an update comment can say before → after (base64 of JSON: comment-safe).
_GISTS = re.compile(r"<!-- hub-monitor:gist=([A-Za-z0-9_=-]*) -->")
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class GitHubError(Exception):
    """GitHub refused a request or could not be reached. The message never contains the token."""


class RateLimited(GitHubError):
    """The rate-limit budget is gone until later than we are willing to wait."""


ActionKind = Literal["create", "update", "close"]


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    entry_id: str
    title: str
    number: int | None = None  # None for a create, until it is done
    detail: str = ""
    body: str = field(default="", repr=False)
    comment: str = field(default="", repr=False)

    def describe(self) -> str:
        where = f"#{self.number}" if self.number is not None else "new issue"
        return f"{self.kind:<6} {where} for {self.entry_id}: {self.title!r} ({self.detail})"


@dataclass
class SyncResult:
    plan: list[Action] = field(default_factory=list)
    done: list[Action] = field(default_factory=list)
    # Entries with a current problem whose issue a maintainer closed as "not planned": left closed.
    not_planned: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    # Why the sync stopped before finishing its plan; None when it finished (or had nothing to do).
    stopped: str | None = None
    dry_run: bool = False
    # Entry id -> the open issue that describes it after this sync, for the report's triage table.
    numbers: dict[str, int] = field(default_factory=dict)
    # Codes a maintainer accepted by closing an issue as not planned: (entry id, codes, issue number).
    accepted: list[tuple[str, tuple[str, ...], int]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.stopped is None

    def render(self) -> str:
        """The text `hub-monitor issues` prints: the plan (or what was done), then notes."""
        lines: list[str] = []
        if self.dry_run:
            lines.append(f"Dry run: {len(self.plan)} change(s) planned, nothing written.")
            lines += [f"  {a.describe()}" for a in self.plan]
        else:
            lines.append(f"{len(self.done)} of {len(self.plan)} planned change(s) made.")
            lines += [f"  {a.describe()}" for a in self.done]
        if self.not_planned:
            lines.append("Left closed as not planned by a maintainer: " + ", ".join(self.not_planned))
        lines += self.messages
        if self.stopped:
            lines.append(f"Stopped: {self.stopped}")
        return "\n".join(lines)

    def summary(self, issue_url: Callable[[int], str]) -> str:
        """What the issues step did, as Markdown for the job summary, each issue linked."""
        verb = {"create": "Opened", "update": "Updated", "close": "Closed"}
        done = self.plan if self.dry_run else self.done
        lines = ["## Issues" + (" (dry run: nothing written)" if self.dry_run else ""), ""]
        for a in done:
            where = f"[#{a.number}]({issue_url(a.number)})" if a.number is not None else "a new issue"
            lines.append(f"- {verb[a.kind]} {where}: {escape_md(a.title, 200)} ({escape_md(a.detail, 200)})")
        if not done:
            lines.append("- Nothing to change: every issue already matches the report.")
        for entry_id, codes, number in self.accepted:
            lines.append(f"- Left closed as not planned: [#{number}]({issue_url(number)}) for "
                         f"{escape_md(entry_id, 80)} ({escape_md(', '.join(codes), 200)})")
        lines += [f"- {escape_md(m, 500)}" for m in self.messages]
        if self.stopped:
            lines.append(f"- **Stopped:** {escape_md(self.stopped, 500)}")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class KnownIssue:
    """One of our issues as the listing shows it."""

    number: int
    state: str
    state_reason: str | None
    title: str
    entry_id: str
    prints: tuple[str, ...]
    gists: tuple[tuple[str, str], ...] = ()


# ------------------------------------------------------------------------------------------- planning


def plan_sync(
    report: Mapping[str, Any],
    issues: Iterable[KnownIssue],
    *,
    max_new: int = 10,
) -> tuple[list[Action], list[str], list[str]]:
    """Decide the writes for one report: (actions, not_planned entry ids, messages). No I/O."""
    actions, not_planned, messages, _ = _plan(report, issues, max_new=max_new)
    return actions, not_planned, messages


def _plan(
    report: Mapping[str, Any], issues: Iterable[KnownIssue], *, max_new: int
) -> tuple[list[Action], list[str], list[str], list[tuple[str, tuple[str, ...], int]]]:
    by_entry: dict[str, list[KnownIssue]] = {}
    for issue in sorted(issues, key=lambda i: i.number):
        by_entry.setdefault(issue.entry_id, []).append(issue)
    actions: list[Action] = []
    not_planned: list[str] = []
    accepted: list[tuple[str, tuple[str, ...], int]] = []
    messages: list[str] = []
    deferred: list[str] = []
    today = str(report["today"])
    for entry in [*report["entries"], *_hub_entry(report)]:
        known = by_entry.pop(entry["id"], [])
        opened = [i for i in known if i.state == "open"]
        if len(opened) > 1:
            others = ", ".join(f"#{i.number}" for i in opened[1:])
            messages.append(
                f"{entry['id']}: more than one open issue ({others} besides #{opened[0].number}); "
                "only the oldest is kept in step, close the others by hand."
            )
        last = known[-1] if known else None
        if not opened and last is not None and last.state_reason == "not_planned" and _actionable(entry):
            # "Not planned" accepts what that issue was about, nothing more: another finding brings the entry back.
            codes = tuple(_codes(last.prints)) or tuple(_codes(_prints(entry)))
            accepted.append((entry["id"], codes, last.number))
            entry = _without(entry, codes)
            if not _actionable(entry):
                not_planned.append(entry["id"])
                continue
            messages.append(f"{entry['id']}: new finding(s) {', '.join(_codes(_prints(entry)))} since #{last.number} "
                            "was closed as not planned; a new issue describes only those.")
        wanted = issue_body(entry, report) if _actionable(entry) else None
        if opened:
            action = _keep_in_step(entry, opened[0], wanted, today, report)
            if action:
                actions.append(action)
        elif wanted is not None:
            if sum(a.kind == "create" for a in actions) < max_new:
                codes = ", ".join(_codes(_prints(entry)))
                actions.append(Action("create", entry["id"], issue_title(entry), None, codes, wanted))
            else:
                deferred.append(entry["id"])
    for entry_id, known in sorted(by_entry.items()):
        for issue in known:
            if issue.state == "open" and entry_id != HUB_ISSUE_ID:
                comment = (
                    f"The entry {escape_md(entry_id, 80)} is no longer in the catalog "
                    f"(run of {escape_md(today, 40)}), so there is nothing left to fix. Closing."
                )
                actions.append(
                    Action(
                        "close", entry_id, issue.title, issue.number, "entry removed from the catalog", comment=comment
                    )
                )
    if deferred:
        messages.append(
            f"--max-new {max_new} reached: {len(deferred)} new issue(s) left for the next run ({', '.join(deferred)})."
        )
    return actions, not_planned, messages, accepted


def _without(entry: Mapping[str, Any], codes: Iterable[str]) -> dict[str, Any]:
    gone = set(codes)
    return {**entry, "findings": [f for f in entry["findings"] if f["code"] not in gone],
            "proposals": [p for p in entry.get("proposals") or [] if not set(p.get("codes") or []) <= gone]}


def _keep_in_step(
    entry: Mapping[str, Any], issue: KnownIssue, wanted: str | None, today: str, report: Mapping[str, Any]
) -> Action | None:
    title = issue_title(entry)
    if wanted is not None:
        prints = _prints(entry)
        if tuple(prints) == issue.prints and title == issue.title:
            return None
        change = _describe_change(issue.prints, prints)
        comment = update_comment(issue.prints, issue.gists, entry, today, report) if change else ""
        return Action("update", entry["id"], title, issue.number, change or "title", wanted, comment)
    if entry["id"] == HUB_ISSUE_ID and not _hub_read(report):
        return None  # the hub page could not be read tonight: that says nothing about the drift
    if not _clean(entry):
        return None
    hub = entry["id"] == HUB_ISSUE_ID
    what = "found that the catalog and the hub page agree again" if hub else "found no problem with this entry"
    comment = (
        f"Hub Monitor {what} on {escape_md(today, 40)} "
        f"(hub-monitor {__version__}). Closing as completed."
    )
    return Action("close", entry["id"], issue.title, issue.number, "entry is fine again", comment=comment)


def parse_issue(item: Mapping[str, Any]) -> KnownIssue | None:
    """Our issue from a listing item, or None for pull requests and issues without our marker."""
    if not isinstance(item, Mapping) or "pull_request" in item:
        return None
    body = item.get("body") or ""
    if not isinstance(body, str):
        return None
    marker = _MARKER.search(body)
    if not marker:
        return None
    prints = _PRINTS.search(body)
    gists = _GISTS.search(body)
    number = item.get("number")
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise GitHubError(f"the issue listing has one of our issues with number {str(number)[:40]!r}, "
                          "not a positive integer: is --api-url a GitHub API?")
    return KnownIssue(
        number=number,
        state=str(item.get("state")),
        state_reason=item.get("state_reason"),
        title=str(item.get("title") or ""),
        entry_id=marker.group(1),
        prints=tuple(p for p in (prints.group(1).split(",") if prints else []) if p),
        gists=_decode_gists(gists.group(1)) if gists else (),
    )


# ------------------------------------------------------------------------------------------- the API


class _Api:
    """Requests to one GitHub API host. The token is attached here and only for that host."""

    def __init__(
        self,
        client: httpx.Client,
        api_url: str,
        token: str | None,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        max_wait: float,
    ) -> None:
        self.client = client
        self.base = api_url.rstrip("/")
        self.origin = _origin(self.base)
        self._token = token
        self.sleep = sleep
        self.clock = clock
        self.max_wait = max_wait

    def __repr__(self) -> str:
        return f"_Api({self.base!r})"

    def request(self, method: str, url: str, *, payload: Mapping[str, Any] | None = None) -> httpx.Response:
        if _origin(url) != self.origin:
            # A Link header (or anything else) pointing elsewhere must never receive the token.
            raise GitHubError(f"refusing to send a request to {_origin(url)}: not the API host {self.origin}")
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": DEFAULT_USER_AGENT,
        }
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        for attempt in range(3):
            try:
                resp = self._send(method, url, headers, payload)
            except httpx.HTTPError as exc:
                raise GitHubError(f"could not reach {self.origin} ({type(exc).__name__}): {exc}") from None
            wait = _rate_limit_wait(resp, self.clock())
            if wait is not None:
                if wait > self.max_wait or attempt == 2:
                    raise RateLimited(_rate_limit_message(resp, wait))
                self.sleep(wait)
                continue
            # Only reads are retried: a write that failed with a 5xx may still have happened.
            if resp.status_code >= 500 and method == "GET" and attempt < 2:
                self.sleep(2.0 * (attempt + 1))
                continue
            if resp.is_success:
                return resp
            raise GitHubError(_explain(resp, method, url))
        raise GitHubError(f"{method} {_path(url)}: no answer after 3 attempts")

    def _send(
        self, method: str, url: str, headers: dict[str, str], payload: Mapping[str, Any] | None
    ) -> httpx.Response:
        """One request, its answer read up to MAX_ANSWER_BYTES: an endless body stops there, not at memory's end."""
        request = self.client.build_request(method, url, headers=headers, json=payload)
        resp = self.client.send(request, stream=True)
        try:
            chunks: list[bytes] = []
            size = 0
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if size > MAX_ANSWER_BYTES:
                    cap = MAX_ANSWER_BYTES // 2**20
                    raise GitHubError(f"{method} {_path(url)}: the answer is larger than {cap} MiB, which no "
                                      "GitHub API answer is; stopped reading (check --api-url)")
                chunks.append(chunk)
        finally:
            resp.close()
        return httpx.Response(resp.status_code, headers=resp.headers, content=b"".join(chunks), request=request)

    def list_issues(self, repo: str, label: str) -> list[dict[str, Any]]:
        url: str | None = f"{self.base}/repos/{repo}/issues?" + str(
            httpx.QueryParams({"labels": label, "state": "all", "per_page": 100, "sort": "created", "direction": "asc"})
        )
        items: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            if url is None:
                return items
            resp = self.request("GET", url)
            page = answer_json(resp, "GET", url)
            if not isinstance(page, list):
                raise GitHubError(f"GET {_path(url)}: expected a list of issues, got {type(page).__name__}")
            items += page
            url = resp.links.get("next", {}).get("url")
        raise GitHubError(f"more than {MAX_PAGES} pages of issues labelled {label!r}; stopping")


def answer_json(resp: httpx.Response, method: str, url: str) -> Any:
    """The answer's JSON; GitHubError naming the request when it is not JSON (a proxy's page, a wrong --api-url)."""
    try:
        return resp.json()
    except (ValueError, UnicodeDecodeError):
        start = resp.content[:40].decode("utf-8", "replace")
        raise GitHubError(f"{method} {_path(url)}: the answer is not JSON (it starts {start!r}); "
                          "check --api-url") from None


def _created_number(resp: httpx.Response, url: str) -> int | None:
    try:
        data = answer_json(resp, "POST", url)
    except GitHubError:
        return None
    number = data.get("number") if isinstance(data, dict) else None
    return number if isinstance(number, int) and not isinstance(number, bool) and number > 0 else None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _path(url: str) -> str:
    return urlsplit(url).path


def _rate_limit_wait(resp: httpx.Response, now: float) -> float | None:
    """Seconds to wait before retrying, when the answer is GitHub saying "slow down"; else None."""
    if resp.status_code not in (403, 429):
        return None
    retry_after = resp.headers.get("retry-after")
    if retry_after and retry_after.strip().isdigit():
        return min(float(retry_after.strip()[:12]), 1e12)
    reset = _reset_time(resp)
    if resp.headers.get("x-ratelimit-remaining") == "0" and reset is not None:
        return max(0.0, reset - now) + 1.0
    if resp.status_code == 429 or "rate limit" in resp.text.lower():
        # Secondary limits without a header: GitHub's documentation says to wait at least a minute.
        return 60.0
    return None


# A reset time past this (year 3000) is no clock GitHub keeps: it is treated as "not said".
_LATEST_RESET = 32_503_680_000.0


def _reset_time(resp: httpx.Response) -> float | None:
    text = resp.headers.get("x-ratelimit-reset", "").strip()
    if not text.isdigit() or len(text) > 12 or float(text) > _LATEST_RESET:
        return None
    return float(text)


def _rate_limit_message(resp: httpx.Response, wait: float) -> str:
    reset = _reset_time(resp)
    when = ""
    if reset is not None:
        when = f" (the budget resets at {datetime.fromtimestamp(reset, UTC):%Y-%m-%d %H:%M UTC})"
    seconds = f"about {int(wait)} s" if wait < 10**9 else "an unknown time"
    return (
        f"GitHub's rate limit is exhausted for {seconds}{when}; stopped cleanly, "
        "the remaining changes are made on the next run"
    )


def _explain(resp: httpx.Response, method: str, url: str) -> str:
    try:
        detail = str(resp.json().get("message", ""))[:200]
    except (ValueError, AttributeError, UnicodeDecodeError):
        detail = ""
    what = f"{method} {_path(url)} answered {resp.status_code}" + (f" ({detail})" if detail else "")
    hints = {
        401: "the token was refused: check GITHUB_TOKEN",
        403: "the token lacks permission: the workflow needs `permissions: issues: write`",
        404: "the repository does not exist or the token cannot see it: check --repo",
        410: "issues are disabled for this repository",
        422: "GitHub rejected the request's content",
    }
    hint = hints.get(resp.status_code, "")
    if 300 <= resp.status_code < 400:
        hint = "the API answered with a redirect, which is not followed (check --api-url)"
    return f"{what}: {hint}" if hint else what


# ------------------------------------------------------------------------------------------- sync


def sync_issues(
    report: Mapping[str, Any],
    *,
    repo: str,
    token: str | None,
    label: str = DEFAULT_LABEL,
    extra_labels: Sequence[str] = (),
    assignees: Sequence[str] = (),
    max_new: int = 10,
    dry_run: bool = False,
    api_url: str = DEFAULT_API_URL,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
    max_wait: float = 60.0,
) -> SyncResult:
    """Bring the label's issues in step with `report` (a JSON report dict).

    ValueError for bad arguments (repo not OWNER/NAME, no token for a real run). API failures and an
    exhausted rate limit do not raise: the result's `stopped` says why, and what was done is listed.
    """
    if not _REPO.match(repo):
        raise ValueError(f"--repo {repo!r}: expected OWNER/NAME, e.g. octo-org/hub")
    for name in (label, *extra_labels):
        if not name or "," in name:
            raise ValueError(f"--label {name!r}: expected one label name without commas")
    for login in assignees:
        if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?", login):
            raise ValueError(f"--assignee {login!r}: expected a GitHub login")
    if max_new < 0:
        raise ValueError(f"--max-new {max_new}: expected 0 or more")
    if not token and not dry_run:
        raise ValueError("GITHUB_TOKEN is not set: the issues command needs a token with issues: write")
    result = SyncResult(dry_run=dry_run)
    if report.get("network") == Network.UNAVAILABLE.value:
        result.messages.append(
            f"The network was unavailable in the run of {report.get('today')}: nothing was concluded, "
            "so no issue was touched."
        )
        return result
    own_client = client is None
    http = client or httpx.Client(timeout=httpx.Timeout(30.0), follow_redirects=False)
    api = _Api(http, api_url, token, sleep, clock, max_wait)
    try:
        items = api.list_issues(repo, label)
        known = [issue for issue in map(parse_issue, items) if issue is not None]
        result.plan, result.not_planned, result.messages, result.accepted = _plan(report, known, max_new=max_new)
        result.numbers = _open_numbers(report, known, result.plan)
        if not dry_run:
            _perform(api, repo, [label, *extra_labels], list(assignees), result)
    except GitHubError as exc:
        done = f" ({len(result.done)} of {len(result.plan)} planned change(s) made)" if result.plan else ""
        result.stopped = f"{exc}{done}"
    finally:
        if own_client:
            http.close()
    return result


def _open_numbers(report: Mapping[str, Any], known: Iterable[KnownIssue], plan: list[Action]) -> dict[str, int]:
    """Entry id -> its open issue once the plan is done (creates are added as they happen)."""
    closing = {a.number for a in plan if a.kind == "close"}
    wanted = {e["id"] for e in report["entries"] if _actionable(e)}
    numbers: dict[str, int] = {}
    for issue in sorted(known, key=lambda i: i.number, reverse=True):
        if issue.state == "open" and issue.number not in closing and issue.entry_id in wanted:
            numbers[issue.entry_id] = issue.number
    return dict(sorted(numbers.items()))


def _perform(api: _Api, repo: str, labels: list[str], assignees: list[str], result: SyncResult) -> None:
    issues = f"{api.base}/repos/{repo}/issues"
    for n, action in enumerate(result.plan):
        if n:
            api.sleep(WRITE_INTERVAL)
        if action.kind == "create":
            payload: dict[str, Any] = {"title": action.title, "body": action.body, "labels": labels}
            if assignees:
                payload["assignees"] = assignees
            resp = api.request("POST", issues, payload=payload)
            number = _created_number(resp, issues)
            if number is None:
                # Created, but the answer does not say as what: the next run finds it by its marker.
                result.messages.append(
                    f"{action.entry_id}: the issue was created, but GitHub's answer gave no issue number; "
                    "the next run finds it by its marker and does not open it again."
                )
            elif action.entry_id != HUB_ISSUE_ID:
                result.numbers[action.entry_id] = number
            result.done.append(Action("create", action.entry_id, action.title, number, action.detail))
            continue
        url = f"{issues}/{action.number}"
        if action.kind == "update":
            api.request("PATCH", url, payload={"title": action.title, "body": action.body})
            if action.comment:
                api.sleep(WRITE_INTERVAL)
                api.request("POST", f"{url}/comments", payload={"body": action.comment})
        else:
            api.request("POST", f"{url}/comments", payload={"body": action.comment})
            api.sleep(WRITE_INTERVAL)
            api.request("PATCH", url, payload={"state": "closed", "state_reason": "completed"})
        result.done.append(action)
