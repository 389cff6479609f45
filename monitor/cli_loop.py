"""Command line of the commands that close the loop and spread it, beside the nightly ones in cli.py.

`fix` (and `fix --pr`) applies the report's proposals, `pr-comment` puts a check's report on a pull request,
`init` starts a new hub, `demo` shows the product offline; `check --only/--changed-since` and
`validate --format github` serve pull requests. Flags and exit codes only: the work is in fix.py,
pullrequest.py, scaffold.py and demo.py. cli.py registers these with `add_commands` and `COMMANDS`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.atomic import write_all_atomic, write_atomic
from monitor.catalog import CatalogError, load_catalog
from monitor.inputfile import CATALOG_LIMIT, InputFileError, read_capped

if TYPE_CHECKING:
    from monitor.cli import ExitCode
    from monitor.fix import FixPlan


def add_commands(sub: argparse._SubParsersAction) -> None:
    """The commands that close the loop (fix, pr-comment) and spread it (init, demo), and their check flags."""
    from monitor.cli import DEFAULT_CATALOG

    chk, val = sub.choices["check"], sub.choices["validate"]
    chk.add_argument("--only", type=_ids, metavar="ID,...", help="check only these entries (no hub page check)")
    chk.add_argument("--changed-since", metavar="REF",
                     help="check only the entries added or changed since this git commit (no hub page check)")
    val.add_argument("--format", choices=["text", "github"], default="text",
                     help="github: each problem as a GitHub Actions annotation on its file and line")

    fix = sub.add_parser("fix", help="apply the report's proposed catalog changes (moved URLs, status lines, ...)")
    fix.add_argument("catalog", nargs="?", help="catalog to edit (default: the one the report names)")
    fix.add_argument("--json", dest="json_path", default="reports/latest.json", help="JSON report to act on")
    fix.add_argument("--dry-run", action="store_true", help="print the change as a unified diff, write nothing")
    fix.add_argument("--only", type=_kinds, metavar="KINDS",
                     help="apply only these kinds: finding codes or url,status,aliases,add-entry,remove-entry")
    fix.add_argument("--pr", action="store_true",
                     help="open or update one pull request (branch hub-monitor/fixes) instead of editing the file")
    fix.add_argument("--repo", metavar="OWNER/NAME", help="repository of the pull request (with --pr)")
    fix.add_argument("--base", help="branch the pull request merges into (default: $GITHUB_REF_NAME, else main)")
    fix.add_argument("--remote", default="origin", help="git remote to push the branch to (default origin)")
    fix.add_argument("--api-url", default="https://api.github.com", help="API base (GitHub Enterprise too)")
    fix.add_argument("--verbose", action="store_true")
    ini = sub.add_parser("init", help="start monitoring a hub: a catalog from its page or list, and a workflow")
    ini.add_argument("source", help="the hub's URL, a saved HTML page, or a Markdown list of links (README.md)")
    ini.add_argument("--dir", default=".", help="the repository to write into (default: the current folder)")
    ini.add_argument("--catalog", default=DEFAULT_CATALOG, help=f"catalog path inside --dir ({DEFAULT_CATALOG})")
    ini.add_argument("--hub-url", help="the hub's public URL, to record in the catalog (default: SOURCE if a URL)")
    ini.add_argument("--base-url", help="URL to resolve the list's relative links against")
    ini.add_argument("--title", help="the hub's title (default: the list's first heading)")
    ini.add_argument("--action", default=None, metavar="OWNER/REPO@REF",
                     help="the action the workflow uses (default: this release of hub-monitor)")
    ini.add_argument("--force", action="store_true", help="overwrite an existing catalog or workflow")
    ini.add_argument("--allow-host", action="append", default=[], metavar="HOST",
                     help="allow this host even if it resolves to a private address")
    ini.add_argument("--verbose", action="store_true")

    dem = sub.add_parser("demo", help="see it work offline: two nights against a small local site, in seconds")
    dem.add_argument("folder", nargs="?", default="hub-monitor-demo", help="where to write (default hub-monitor-demo)")
    dem.add_argument("--verbose", action="store_true")

    com = sub.add_parser("pr-comment", help="post a check's report as one pull request comment, edited not repeated")
    com.add_argument("--repo", required=True, metavar="OWNER/NAME")
    com.add_argument("--number", required=True, type=_pr_number, help="the pull request's number")
    com.add_argument("--json", dest="json_path", default="reports/latest.json",
                     help="JSON report of the check (missing: the comment says the catalog did not validate)")
    com.add_argument("--api-url", default="https://api.github.com", help="API base (GitHub Enterprise too)")
    com.add_argument("--verbose", action="store_true")


def _ids(text: str) -> tuple[str, ...]:
    ids = tuple(dict.fromkeys(i.strip() for i in text.split(",") if i.strip()))
    if not ids:
        raise argparse.ArgumentTypeError(f"expected entry ids separated by commas, got {text!r}")
    return ids


def _pr_number(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a pull request number, got {text!r}")
    return int(text)


def _kinds(text: str) -> frozenset[str]:
    from monitor.findings import Code
    from monitor.fix import KINDS

    known = {c.value for c in Code} | set(KINDS)
    kinds = frozenset(k.strip() for k in text.split(",") if k.strip())
    unknown = sorted(kinds - known)
    if unknown or not kinds:
        raise argparse.ArgumentTypeError(
            f"unknown kind(s) {', '.join(unknown) or repr(text)}; use finding codes or {', '.join(KINDS)}"
        )
    return kinds


def cmd_init(args: argparse.Namespace) -> ExitCode:
    from monitor.cli import ExitCode, UsageError, _read_source
    from monitor.scaffold import DEFAULT_ACTION, is_markdown, next_steps, read_source, workflow_text

    body, headers, final = _read_source(args.source, args.allow_host, "read")
    hub_url = args.hub_url or final
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if not (hub_url or args.base_url) and not is_markdown(args.source, content_type, body):
        raise UsageError(f"{args.source} is a saved hub page: give its address with --hub-url, so that its "
                         "relative links resolve and the nightly check can compare the page with the catalog")
    scaffold = read_source(body, final or args.source, content_type=content_type, hub_url=hub_url,
                           base_url=args.base_url or final, title=args.title)  # fmt: skip
    root = Path(args.dir)
    catalog = root / args.catalog
    workflow = root / ".github" / "workflows" / "hub-monitor.yml"
    existing = [str(p) for p in (catalog, workflow) if p.exists()]
    if existing and not args.force:
        raise UsageError(f"{', '.join(existing)} already exist(s); use --force to overwrite")
    if scaffold.entries == 0:
        raise UsageError(f"{args.source}: no linked entries found (list items or hub page cards with a link)")
    problems = validate_text(scaffold.catalog, catalog)
    if problems:
        raise UsageError("the catalog made from the list would not validate:\n" + "\n".join(problems))
    write_all_atomic([(catalog, scaffold.catalog),
                      (workflow, workflow_text(args.action or DEFAULT_ACTION, args.catalog))])  # fmt: skip
    print(next_steps(str(catalog), str(workflow), scaffold))
    return ExitCode.OK


def cmd_demo(args: argparse.Namespace) -> ExitCode:
    from monitor.cli import ExitCode, UsageError
    from monitor.demo import DemoFolderError, run_demo

    try:
        print(run_demo(Path(args.folder)).render())
    except DemoFolderError as exc:
        raise UsageError(str(exc)) from exc
    return ExitCode.OK


def cmd_fix(args: argparse.Namespace) -> ExitCode:
    from monitor.cli import DEFAULT_CATALOG, ExitCode, UsageError, _read_report

    data = _read_report(Path(args.json_path))
    path = Path(args.catalog or data.get("catalog") or DEFAULT_CATALOG)
    if not any(e.get("proposals") for e in data.get("entries", [])) and not data.get("hub_proposals"):
        print(f"{args.json_path}: the report proposes no catalog change", file=sys.stderr)
    if args.pr:
        return _fix_pr(args, data, path)
    try:
        # Capped and regular files only: a FIFO would block forever and /dev/zero fill the memory.
        text = read_capped(path, CATALOG_LIMIT).decode("utf-8")
    except InputFileError as exc:
        raise UsageError(f"cannot read catalog {exc}") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"cannot read catalog {path}: {exc}") from exc
    plan = _checked_plan(args, data, text, path)
    if plan is None:
        return ExitCode.BAD_INPUT
    if args.dry_run:
        sys.stdout.write(plan.diff(path.as_posix()))
    elif plan.changed:
        write_atomic(path, plan.text)
    print(plan.render() + ("" if args.dry_run or not plan.changed else f"\nwrote {path}"), file=sys.stderr)
    return ExitCode.OK


def _checked_plan(args: argparse.Namespace, data: dict, text: str, path: Path) -> FixPlan | None:
    """The fixes for `text`, or None (with the reasons printed) when the result would not validate."""
    from monitor.cli import UsageError
    from monitor.fix import FixError, check_applied, plan_fixes

    try:
        plan = plan_fixes(text, data, only=args.only)
    except FixError as exc:
        raise UsageError(f"{path}: {exc}") from exc
    problems = check_applied(plan) + validate_text(plan.text, path)
    if not problems:
        return plan
    # Never write a catalog that would stop tonight's run: the maintainer gets the plan and the reasons.
    print(plan.render(), file=sys.stderr)
    print("refusing to write: the edited catalog would not validate:", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    return None


def _fix_pr(args: argparse.Namespace, data: dict, path: Path) -> ExitCode:
    from monitor.cli import ExitCode, UsageError
    from monitor.pullrequest import GitError, open_checkout, sync_fix_pr

    if not args.repo:
        raise UsageError("hub-monitor fix --pr: --repo OWNER/NAME is required")
    token = os.environ.get("GITHUB_TOKEN")
    try:
        git, rel = open_checkout(Path.cwd(), args.remote, path, token)
    except GitError as exc:
        raise UsageError(f"hub-monitor fix --pr needs a git checkout with a remote {args.remote!r}: {exc}") from exc
    text = git.file_at("HEAD", rel)
    if text is None:
        raise UsageError(f"{path} is not committed at HEAD: the pull request starts from the committed catalog")
    plan = _checked_plan(args, data, text, path)
    if plan is None:
        return ExitCode.BAD_INPUT
    base = args.base or os.environ.get("GITHUB_REF_NAME") or "main"
    try:
        result = sync_fix_pr(plan, data, repo=args.repo, token=token, git=git, catalog_path=rel, base_branch=base,
                             dry_run=args.dry_run, api_url=args.api_url)  # fmt: skip
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    print(plan.render(), file=sys.stderr)
    print(result.render())
    return ExitCode.OK if result.stopped is None else ExitCode.INTERNAL_ERROR


def cmd_pr_comment(args: argparse.Namespace) -> ExitCode:
    from monitor.cli import ExitCode, UsageError, _read_report
    from monitor.github import GitHubError
    from monitor.pullrequest import check_comment, upsert_comment

    path = Path(args.json_path)
    data = _read_report(path) if path.exists() else None
    try:
        done = upsert_comment(repo=args.repo, number=args.number, body=check_comment(data),
                              token=os.environ.get("GITHUB_TOKEN"), api_url=args.api_url)  # fmt: skip
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    except GitHubError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.INTERNAL_ERROR
    print(f"pull request #{args.number}: {done}")
    return ExitCode.OK


def validate_text(text: str, path: Path) -> list[str]:
    """The catalog loader's problems with `text` as if it were the file at `path` (empty when it validates)."""
    with tempfile.TemporaryDirectory(prefix="hub-monitor-fix-") as tmp:
        candidate = Path(tmp) / path.name
        candidate.write_text(text, encoding="utf-8")
        try:
            load_catalog(candidate)
        except CatalogError as exc:
            return [str(p).replace(str(candidate), str(path), 1) for p in exc.problems]
    return []


COMMANDS = {
    "fix": cmd_fix,
    "init": cmd_init,
    "demo": cmd_demo,
    "pr-comment": cmd_pr_comment,
}
