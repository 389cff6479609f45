"""`hub-monitor fix --pr`: one pull request of catalog fixes, on branch `hub-monitor/fixes`, kept in step nightly.

Each night the fixes the report proposes are applied (monitor/fix.py) to the catalog as committed at HEAD, made
into one commit on top of HEAD, and pushed to the branch; the one open pull request from that branch gets a body
listing each change, its evidence and the matching edit to make on the hub page. When nothing remains to fix, the
pull request is closed. The branch is the bot's only while every commit on it is the bot's: if a maintainer pushed
to it, the bot never force-pushes over their work and comments on the pull request instead.

    sync_fix_pr(plan, report, ...) -> PrResult

The git side runs `git` in the checkout (plumbing only: the working tree and the index are never touched); the
GitHub side uses the issues command's API client (monitor/github.py). Errors: GitHubError from the API, and
GitError when a git command fails; both stop the sync and are reported in `PrResult.stopped`.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from monitor.fix import Change, FixPlan
from monitor.github import BODY_LIMIT, DEFAULT_API_URL, DEFAULT_LABEL, GitHubError, parse_issue
from monitor.github import _Api as Api  # the issues command's client: one place that holds the token
from monitor.report import escape_md

BRANCH = "hub-monitor/fixes"
MARKER = "<!-- hub-monitor:fix-pr -->"
BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
TITLE = "Hub Monitor: catalog fixes"
_PRINT = re.compile(r"<!-- hub-monitor:fixes=([0-9a-f]+) -->")


class GitError(Exception):
    """A git command failed; the message has the command and git's own words."""


@dataclass
class PrResult:
    actions: list[str] = field(default_factory=list)
    number: int | None = None
    stopped: str | None = None
    dry_run: bool = False

    def render(self) -> str:
        head = "Dry run, nothing written:" if self.dry_run else "Fix-it pull request:"
        lines = [head] + [f"  {a}" for a in self.actions or ["nothing to do"]]
        if self.stopped:
            lines.append(f"Stopped: {self.stopped}")
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------- git


@dataclass
class Git:
    """git in one checkout. Commits are made with plumbing, so the working tree and index stay as they are."""

    cwd: Path
    remote: str = "origin"
    # `http.<origin>.extraheader` for the push and fetch, so the token is never written to .git/config.
    auth_header: tuple[str, str] | None = None

    def run(self, *args: str, env: Mapping[str, str] | None = None, input_text: str | None = None) -> str:
        config: list[str] = []
        if self.auth_header is not None:
            # The empty value first drops a header actions/checkout persisted for the same server: git would
            # send both, and GitHub refuses a request with two Authorization headers.
            key = f"http.{self.auth_header[0]}/.extraheader"
            config = ["-c", f"{key}=", "-c", f"{key}={self.auth_header[1]}"]
        cmd = ["git", *config, *args]
        proc = subprocess.run(cmd, cwd=self.cwd, capture_output=True, text=True, input=input_text,
                              env={**os.environ, **(env or {})}, check=False)  # fmt: skip
        if proc.returncode != 0:
            raise GitError(f"git {' '.join(args)}: {proc.stderr.strip() or proc.stdout.strip()}")
        return proc.stdout

    def remote_branch(self, branch: str) -> str | None:
        """The commit of `branch` on the remote (fetched into a private ref), or None when it does not exist."""
        out = self.run("ls-remote", "--heads", self.remote, f"refs/heads/{branch}")
        if not out.strip():
            return None
        ref = f"refs/hub-monitor/{branch}"
        self.run("fetch", "--quiet", "--no-tags", self.remote, f"+refs/heads/{branch}:{ref}")
        return self.run("rev-parse", ref).strip()

    def foreign_commits(self, base: str, tip: str) -> list[str]:
        """Commits on tip but not on base whose author or committer is not the bot: "abc1234 Name <mail>"."""
        out = self.run("log", "--format=%h%x00%an <%ae>%x00%ce", f"{base}..{tip}")
        foreign = []
        for line in out.splitlines():
            short, author, committer_email = line.split("\x00")
            if not author.endswith(f"<{BOT_EMAIL}>") or committer_email != BOT_EMAIL:
                foreign.append(f"{short} {author}")
        return foreign

    def commit_file(self, base: str, path: str, text: str, message: str) -> str:
        """A new commit on top of `base` whose only change is `path` set to `text`."""
        blob = self.run("hash-object", "-w", "--stdin", input_text=text).strip()
        with tempfile.TemporaryDirectory(prefix="hub-monitor-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            self.run("read-tree", base, env=env)
            self.run("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
            tree = self.run("write-tree", env=env).strip()
        ident = {"GIT_AUTHOR_NAME": BOT_NAME, "GIT_AUTHOR_EMAIL": BOT_EMAIL,
                 "GIT_COMMITTER_NAME": BOT_NAME, "GIT_COMMITTER_EMAIL": BOT_EMAIL}  # fmt: skip
        return self.run("commit-tree", tree, "-p", base, "-F", "-", env=ident, input_text=message).strip()

    def file_at(self, commit: str, path: str) -> str | None:
        try:
            return self.run("show", f"{commit}:{path}")
        except GitError:
            return None


def open_checkout(cwd: Path, remote: str, catalog: Path, token: str | None) -> tuple[Git, str]:
    """git in the checkout around `cwd`, and the catalog's path inside it. With a token and an https remote,
    pushes and fetches carry it in a header given per command (as actions/checkout does), never in .git/config."""
    import base64

    git = Git(cwd, remote=remote)
    top = Path(git.run("rev-parse", "--show-toplevel").strip())
    remote_url = git.run("remote", "get-url", remote).strip()
    if token and remote_url.startswith("https://"):
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        git.auth_header = ("/".join(remote_url.split("/")[:3]), f"AUTHORIZATION: basic {basic}")
    try:
        return git, catalog.resolve().relative_to(top.resolve()).as_posix()
    except ValueError:
        raise GitError(f"{catalog} is not inside the git checkout {top}") from None


# ------------------------------------------------------------------------------------------- body


def pr_body(plan: FixPlan, report: Mapping[str, Any], catalog_path: str,
            issues: Mapping[str, int] | None = None) -> str:  # fmt: skip
    """The pull request's description: each change with its evidence and the hub page's matching edit.

    `issues` maps entry ids to their open stale-entry issue: each change names it, so GitHub shows the pull
    request on the issue. Not "Closes #N": the issue closes when the next night finds the entry clean."""
    issues = issues or {}
    lines = [
        MARKER,
        f"<!-- hub-monitor:fixes={fingerprint(plan, issues)} -->",
        f"Hub Monitor proposes these changes to `{catalog_path}` from the report of {report.get('today')}.",
        "The catalog mirrors the hub page: **make the matching edit on the hub page, then merge**; merging is the",
        "confirmation that the hub was updated. Push to this branch to adjust a change: the bot will not overwrite",
        "your commits.",
        "",
        f"## Changes ({len(plan.applied)})",
        "",
    ]
    for n, change in enumerate(plan.applied, 1):
        lines += _change_lines(n, change)
        if change.entry_id in issues:
            lines.append(f"   - Issue: #{issues[change.entry_id]}")
    if plan.skipped:
        lines += ["", f"## Not applied: a person should look ({len(plan.skipped)})", ""]
        lines += [f"- {_md(c.entry_id)}: {_md(c.describe())}: {_md(reason)}" for c, reason in plan.skipped]
    body = "\n".join(lines) + "\n"
    if len(body) > BODY_LIMIT - 200:
        body = body[: BODY_LIMIT - 400] + "\n\n… (cut: see the report for the rest)\n"
    return body


def fingerprint(plan: FixPlan, issues: Mapping[str, int]) -> str:
    """What the pull request proposes (the catalog text, the skipped changes, the linked issues), in 12 hex
    digits: the description changes only when this does, not with each night's date."""
    parts = [plan.text, *sorted(f"{c.entry_id} {c.kind} {why}" for c, why in plan.skipped),
             *sorted(f"{k}#{v}" for k, v in issues.items())]  # fmt: skip
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:12]


def _printed(pr: Mapping[str, Any] | None) -> str | None:
    found = _PRINT.search(str((pr or {}).get("body") or ""))
    return found.group(1) if found else None


def _change_lines(n: int, change: Change) -> list[str]:
    codes = ", ".join(f"`{c}`" for c in change.codes)
    out = [f"{n}. **{_md(change.entry_id)}**: {_summary(change)}" + (f" ({codes})" if codes else "")]
    if change.why:
        out.append(f"   - Evidence: {_md(change.why)}")
    if change.kind == "url":
        out.append("   - Catalog: the old URL is kept under `aliases`.")
    if change.hub_new:
        where = f"“{_md(change.hub_current)}”" if change.hub_current else "the entry's line"
        out.append(f"   - On the hub page: change {where} to “{_md(change.hub_new)}”.")
    elif change.kind == "add-entry":
        out.append("   - On the hub page: nothing; the entry is already there.")
    elif change.kind == "remove-entry":
        out.append("   - On the hub page: nothing; delete the entry from the catalog once you agree it is gone.")
    return out


def _summary(change: Change) -> str:
    if change.kind == "url":
        return f"link changed to {_md(change.new)} (was {_md(change.current)})"
    if change.kind == "status":
        return f"status line changed to “{_md(change.new)}” (was “{_md(change.current)}”)"
    if change.kind == "aliases":
        return f"alias {_md(change.new)} added"
    if change.kind == "add-entry":
        return f"entry added ({_md(change.new)})"
    return "flagged: no longer on the hub page"


def _md(text: object) -> str:
    return escape_md(str(text))


# ------------------------------------------------------------------------------------------- sync


def sync_fix_pr(
    plan: FixPlan,
    report: Mapping[str, Any],
    *,
    repo: str,
    token: str | None,
    git: Git,
    catalog_path: str,
    base_branch: str,
    base_commit: str = "HEAD",
    label: str = DEFAULT_LABEL,
    dry_run: bool = False,
    api_url: str = DEFAULT_API_URL,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> PrResult:
    """Open, update or close the fix-it pull request so that it holds exactly `plan`'s catalog change."""
    result = PrResult(dry_run=dry_run)
    if not token and not dry_run:
        raise ValueError(
            "GITHUB_TOKEN is not set: the fix-it pull request needs contents: write and pull-requests: write"
        )
    own_client = client is None
    http = client or httpx.Client(timeout=httpx.Timeout(30.0), follow_redirects=False)
    api = Api(http, api_url, token, sleep, clock, 60.0)
    try:
        _sync(api, git, plan, report, repo, catalog_path, base_branch, base_commit, label, result)
    except (GitHubError, GitError) as exc:
        result.stopped = str(exc)
    finally:
        if own_client:
            http.close()
    return result


def _sync(api: Api, git: Git, plan: FixPlan, report: Mapping[str, Any], repo: str, catalog_path: str,
          base_branch: str, base_commit: str, label: str, result: PrResult) -> None:  # fmt: skip
    if git.run("rev-parse", "--is-shallow-repository").strip() == "true":
        # In a shallow checkout the branch's old base looks like someone else's commits; with the history
        # the bot can tell its own commits from a maintainer's.
        git.run("fetch", "--quiet", "--unshallow", git.remote)
    base = git.run("rev-parse", base_commit).strip()
    tip = git.remote_branch(BRANCH)
    owner = repo.split("/")[0]
    pulls = f"{api.base}/repos/{repo}/pulls"
    found = api.request("GET", f"{pulls}?" + str(httpx.QueryParams(
        {"head": f"{owner}:{BRANCH}", "state": "open", "per_page": 100}))).json()  # fmt: skip
    pr = found[0] if isinstance(found, list) and found else None
    result.number = pr["number"] if pr else None
    foreign = git.foreign_commits(base, tip) if tip else []

    if not plan.changed:
        if pr is None:
            result.actions.append("nothing to fix and no open pull request")
            return
        result.actions.append(f"close #{pr['number']}: nothing remains to fix")
        if not result.dry_run:
            api.request("POST", f"{api.base}/repos/{repo}/issues/{pr['number']}/comments",
                        payload={"body": f"{MARKER}\nThe report of {report.get('today')} proposes no catalog "
                                         "change any more: closing."})  # fmt: skip
            api.request("PATCH", f"{pulls}/{pr['number']}", payload={"state": "closed"})
        return

    open_issues = {i.entry_id: i.number for i in map(parse_issue, api.list_issues(repo, label))
                   if i is not None and i.state == "open"}  # fmt: skip
    body = pr_body(plan, report, catalog_path, open_issues)
    wanted = _printed({"body": body})
    if pr is None:
        closed = api.request("GET", f"{pulls}?" + str(httpx.QueryParams(
            {"head": f"{owner}:{BRANCH}", "state": "closed", "per_page": 100}))).json()  # fmt: skip
        last = max(closed, key=lambda p: p["number"]) if isinstance(closed, list) and closed else None
        if last is not None and not last.get("merged_at") and _printed(last) == wanted:
            # A maintainer closed exactly these changes without merging: that is an answer, not an oversight.
            result.actions.append(f"not reopening: #{last['number']} was closed without merging these same changes")
            return
    if foreign:
        # A maintainer has worked on the branch: their commits are theirs. Say what the bot would change instead.
        result.actions.append(f"not pushing: {BRANCH} has commits by others ({'; '.join(foreign)})")
        if pr is not None and not result.dry_run:
            api.request("POST", f"{api.base}/repos/{repo}/issues/{pr['number']}/comments", payload={"body": (
                f"{MARKER}\nThe branch has commits that are not the bot's ({_md('; '.join(foreign))}), so it was "
                f"not updated. Tonight's proposals:\n\n```diff\n{plan.diff(catalog_path)[:50_000]}```\n"
            )})  # fmt: skip
        return

    if tip is None or git.file_at(tip, catalog_path) != plan.text:
        message = f"catalog: {len(plan.applied)} fix(es) proposed by Hub Monitor ({report.get('today')})\n"
        if not result.dry_run:
            commit = git.commit_file(base, catalog_path, plan.text, message)
            # Every commit on the branch is the bot's (checked above), so replacing them loses nobody's work.
            git.run("push", "--force", git.remote, f"{commit}:refs/heads/{BRANCH}")
        result.actions.append(f"push {BRANCH}: {len(plan.applied)} change(s) on top of {base[:7]}")
    if pr is None:
        result.actions.append(f"open a pull request from {BRANCH} into {base_branch}")
        if not result.dry_run:
            made = api.request("POST", pulls, payload={"title": TITLE, "head": BRANCH, "base": base_branch,
                                                       "body": body})  # fmt: skip
            result.number = int(made.json()["number"])
    elif _printed(pr) != wanted:
        result.actions.append(f"update #{pr['number']}'s description")
        if not result.dry_run:
            api.request("PATCH", f"{pulls}/{pr['number']}", payload={"title": TITLE, "body": body})


# ------------------------------------------------------------------------------------------- PR comment

CHECK_MARKER = "<!-- hub-monitor:pr-check -->"


def upsert_comment(
    *,
    repo: str,
    number: int,
    body: str,
    token: str | None,
    marker: str = CHECK_MARKER,
    api_url: str = DEFAULT_API_URL,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> str:
    """Create the one comment carrying `marker` on issue or pull request `number`, or edit it: never a second."""
    if not token:
        raise ValueError("GITHUB_TOKEN is not set: the comment needs pull-requests: write")
    text = f"{marker}\n{body}"
    if len(text) > BODY_LIMIT - 100:
        text = text[: BODY_LIMIT - 300] + "\n\n… (cut: the full report is in the job's artifacts)\n"
    own_client = client is None
    http = client or httpx.Client(timeout=httpx.Timeout(30.0), follow_redirects=False)
    api = Api(http, api_url, token, sleep, clock, 60.0)
    try:
        url: str | None = f"{api.base}/repos/{repo}/issues/{number}/comments?per_page=100"
        for _ in range(100):
            if url is None:
                break
            resp = api.request("GET", url)
            for comment in resp.json():
                if marker in (comment.get("body") or ""):
                    if comment.get("body") == text:
                        return f"comment {comment['id']} already says this"
                    api.request("PATCH", f"{api.base}/repos/{repo}/issues/comments/{comment['id']}",
                                payload={"body": text})  # fmt: skip
                    return f"updated comment {comment['id']}"
            url = resp.links.get("next", {}).get("url")
        made = api.request("POST", f"{api.base}/repos/{repo}/issues/{number}/comments", payload={"body": text})
        return f"created comment {made.json()['id']}"
    finally:
        if own_client:
            http.close()


def check_comment(report: Mapping[str, Any] | None) -> str:
    """The pull request check's comment: the report of the entries the pull request adds or changes."""
    from monitor.report import render_markdown

    if report is None:
        return ("### Hub Monitor: catalog check\n\nThe catalog does not validate, so no entry was checked. "
                "Each problem is annotated on its line in the *Files changed* tab.\n")
    if not report.get("entries"):
        return "### Hub Monitor: catalog check\n\nThis pull request adds or changes no catalog entry.\n"
    return "### Hub Monitor: catalog check of the entries this pull request adds or changes\n\n" + \
        render_markdown(report).split("\n", 1)[1]
