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

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from monitor import DEFAULT_USER_AGENT, __version__
from monitor.findings import Severity
from monitor.models import Network
from monitor.report import entry_heading, escape_md, finding_block

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_LABEL = "stale-entry"
# GitHub rejects an issue or comment body above 65,536 characters; keep a margin for the footer.
BODY_LIMIT = 65_536
API_VERSION = "2022-11-28"
# GitHub asks integrations to leave at least a second between writes to avoid secondary rate limits.
WRITE_INTERVAL = 1.0
MAX_PAGES = 100

_MARKER = re.compile(r"<!-- hub-monitor:entry=([A-Za-z0-9_.-]+) -->")
_PRINTS = re.compile(r"<!-- hub-monitor:findings=([A-Za-z0-9_.,:-]*) -->")
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_ACTIONABLE = (Severity.ERROR.value, Severity.WARNING.value)
# Evidence that changes from night to night without the problem changing; it must not edit the issue.
_VOLATILE_EVIDENCE = frozenset({"failing_runs"})


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


@dataclass(frozen=True)
class KnownIssue:
    """One of our issues as the listing shows it."""

    number: int
    state: str
    state_reason: str | None
    title: str
    entry_id: str
    prints: tuple[str, ...]


# ------------------------------------------------------------------------------------------- planning


def plan_sync(
    report: Mapping[str, Any],
    issues: Iterable[KnownIssue],
    *,
    max_new: int = 10,
) -> tuple[list[Action], list[str], list[str]]:
    """Decide the writes for one report: (actions, not_planned entry ids, messages). No I/O."""
    by_entry: dict[str, list[KnownIssue]] = {}
    for issue in sorted(issues, key=lambda i: i.number):
        by_entry.setdefault(issue.entry_id, []).append(issue)
    actions: list[Action] = []
    not_planned: list[str] = []
    messages: list[str] = []
    deferred: list[str] = []
    today = str(report["today"])
    for entry in report["entries"]:
        known = by_entry.pop(entry["id"], [])
        opened = [i for i in known if i.state == "open"]
        if len(opened) > 1:
            others = ", ".join(f"#{i.number}" for i in opened[1:])
            messages.append(
                f"{entry['id']}: more than one open issue ({others} besides #{opened[0].number}); "
                "only the oldest is kept in step, close the others by hand."
            )
        wanted = issue_body(entry, report) if _actionable(entry) else None
        if opened:
            action = _keep_in_step(entry, opened[0], wanted, today)
            if action:
                actions.append(action)
        elif wanted is not None:
            last = known[-1] if known else None
            if last is not None and last.state_reason == "not_planned":
                not_planned.append(entry["id"])
            elif sum(a.kind == "create" for a in actions) < max_new:
                codes = ", ".join(_codes(_prints(entry)))
                actions.append(Action("create", entry["id"], issue_title(entry), None, codes, wanted))
            else:
                deferred.append(entry["id"])
    for entry_id, known in sorted(by_entry.items()):
        for issue in known:
            if issue.state == "open":
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
    return actions, not_planned, messages


def _keep_in_step(entry: Mapping[str, Any], issue: KnownIssue, wanted: str | None, today: str) -> Action | None:
    title = issue_title(entry)
    if wanted is not None:
        prints = _prints(entry)
        if tuple(prints) == issue.prints and title == issue.title:
            return None
        change = _describe_change(issue.prints, prints)
        comment = (
            f"Hub Monitor's findings for this entry changed on {escape_md(today, 40)}: {change}. "
            "The description above is updated."
            if change
            else ""
        )
        return Action("update", entry["id"], title, issue.number, change or "title", wanted, comment)
    if not _clean(entry):
        return None
    comment = (
        f"Hub Monitor found no problem with this entry on {escape_md(today, 40)} "
        f"(hub-monitor {__version__}). Closing as completed."
    )
    return Action("close", entry["id"], issue.title, issue.number, "entry is fine again", comment=comment)


def _actionable(entry: Mapping[str, Any]) -> bool:
    return any(f["confirmed"] and f["severity"] in _ACTIONABLE for f in entry["findings"])


def _clean(entry: Mapping[str, Any]) -> bool:
    # An unconfirmed failure may be the old problem coming back: keep the issue open until we know.
    # An entry that was not checked says nothing either way.
    return bool(entry["checked"]) and not any(f["severity"] in _ACTIONABLE for f in entry["findings"])


def _prints(entry: Mapping[str, Any]) -> list[str]:
    prints = []
    for f in entry["findings"]:
        if f["confirmed"] and f["severity"] in _ACTIONABLE:
            evidence = {k: v for k, v in (f.get("evidence") or {}).items() if k not in _VOLATILE_EVIDENCE}
            blob = json.dumps([f["code"], f["message"], f.get("fix"), evidence], sort_keys=True)
            prints.append(f"{f['code']}:{hashlib.sha256(blob.encode()).hexdigest()[:12]}")
    return sorted(prints)


def _codes(prints: Iterable[str]) -> list[str]:
    return sorted({p.split(":", 1)[0] for p in prints})


def _describe_change(old: Iterable[str], new: Iterable[str]) -> str:
    old_codes, new_codes = set(_codes(old)), set(_codes(new))
    changed = {p.split(":", 1)[0] for p in set(old) ^ set(new)} & old_codes & new_codes
    parts = []
    for label, codes in (("new", new_codes - old_codes), ("resolved", old_codes - new_codes), ("changed", changed)):
        if codes:
            parts.append(f"{label}: " + ", ".join(f"`{c}`" for c in sorted(codes)))
    return "; ".join(parts)


# ------------------------------------------------------------------------------------------- bodies


def issue_title(entry: Mapping[str, Any]) -> str:
    # Titles are plain text on GitHub; only newlines and control characters need to go.
    title = re.sub(r"[\x00-\x1f\x7f]+", " ", str(entry["title"])).strip()
    return f"Stale entry: {title[:200]}"


def issue_body(entry: Mapping[str, Any], report: Mapping[str, Any]) -> str:
    """The issue text for an entry: every confirmed error and warning, its evidence and its fix.

    Nothing relative to the run date is said, so the body only changes when the findings do.
    """
    head = [
        f"<!-- hub-monitor:entry={entry['id']} -->",
        f"<!-- hub-monitor:findings={','.join(_prints(entry))} -->",
        *entry_heading(entry, str(report["catalog"]), level=2),
    ]
    foot = [
        "---",
        "*Kept in step by Hub Monitor's nightly check: it updates this issue when the findings change "
        "and closes it when the entry is fine again. Keep the label. To make it leave this entry alone, "
        'close the issue as "not planned".*',
    ]
    blocks = [
        "\n".join(finding_block(f, None)) for f in entry["findings"] if f["confirmed"] and f["severity"] in _ACTIONABLE
    ]
    budget = BODY_LIMIT - len("\n".join(head + foot)) - 200
    kept: list[str] = []
    for i, block in enumerate(blocks):
        if len(block) + 1 > budget:
            kept.append(f"*{len(blocks) - i} more finding(s) did not fit here; see the report.*\n")
            break
        kept.append(block)
        budget -= len(block) + 1
    return "\n".join([*head, *kept, *foot]) + "\n"


def parse_issue(item: Mapping[str, Any]) -> KnownIssue | None:
    """Our issue from a listing item, or None for pull requests and issues without our marker."""
    if "pull_request" in item:
        return None
    body = item.get("body") or ""
    marker = _MARKER.search(body)
    if not marker:
        return None
    prints = _PRINTS.search(body)
    return KnownIssue(
        number=int(item["number"]),
        state=str(item["state"]),
        state_reason=item.get("state_reason"),
        title=str(item.get("title") or ""),
        entry_id=marker.group(1),
        prints=tuple(p for p in (prints.group(1).split(",") if prints else []) if p),
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
                resp = self.client.request(method, url, headers=headers, json=payload)
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

    def list_issues(self, repo: str, label: str) -> list[dict[str, Any]]:
        url: str | None = f"{self.base}/repos/{repo}/issues?" + str(
            httpx.QueryParams({"labels": label, "state": "all", "per_page": 100, "sort": "created", "direction": "asc"})
        )
        items: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            if url is None:
                return items
            resp = self.request("GET", url)
            page = resp.json()
            if not isinstance(page, list):
                raise GitHubError(f"GET {_path(url)}: expected a list of issues, got {type(page).__name__}")
            items += page
            url = resp.links.get("next", {}).get("url")
        raise GitHubError(f"more than {MAX_PAGES} pages of issues labelled {label!r}; stopping")


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
        return float(retry_after)
    if resp.headers.get("x-ratelimit-remaining") == "0" and resp.headers.get("x-ratelimit-reset", "").isdigit():
        return max(0.0, float(resp.headers["x-ratelimit-reset"]) - now) + 1.0
    if resp.status_code == 429 or "rate limit" in resp.text.lower():
        # Secondary limits without a header: GitHub's documentation says to wait at least a minute.
        return 60.0
    return None


def _rate_limit_message(resp: httpx.Response, wait: float) -> str:
    reset = resp.headers.get("x-ratelimit-reset", "")
    when = ""
    if reset.isdigit():
        when = f" (the budget resets at {datetime.fromtimestamp(int(reset), UTC):%Y-%m-%d %H:%M UTC})"
    return (
        f"GitHub's rate limit is exhausted for about {int(wait)} s{when}; stopped cleanly, "
        "the remaining changes are made on the next run"
    )


def _explain(resp: httpx.Response, method: str, url: str) -> str:
    try:
        detail = str(resp.json().get("message", ""))[:200]
    except (ValueError, AttributeError):
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
    if not label or "," in label:
        raise ValueError(f"--label {label!r}: expected one label name without commas")
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
        result.plan, result.not_planned, result.messages = plan_sync(report, known, max_new=max_new)
        if not dry_run:
            _perform(api, repo, label, result)
    except GitHubError as exc:
        done = f" ({len(result.done)} of {len(result.plan)} planned change(s) made)" if result.plan else ""
        result.stopped = f"{exc}{done}"
    finally:
        if own_client:
            http.close()
    return result


def _perform(api: _Api, repo: str, label: str, result: SyncResult) -> None:
    issues = f"{api.base}/repos/{repo}/issues"
    for n, action in enumerate(result.plan):
        if n:
            api.sleep(WRITE_INTERVAL)
        if action.kind == "create":
            resp = api.request("POST", issues, payload={"title": action.title, "body": action.body, "labels": [label]})
            number = int(resp.json()["number"])
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
