"""Command line: flags, exit codes and file output. Decisions live in the stages; this only wires them.

`main(argv) -> int` returns the exit code; only `entry_point` calls sys.exit.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import textwrap
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from monitor import __version__, cli_loop
from monitor.atomic import (
    FileData,
    LockedError,
    Staging,
    WriteError,
    remove_stale_temps,
    run_locks,
    target_problems,
    write_all_atomic,
    write_atomic,
)
from monitor.catalog import Catalog, CatalogError, Problem, load_catalog
from monitor.findings import Severity
from monitor.inputfile import PAGE_LIMIT, InputFileError, read_capped
from monitor.jsontext import json_pieces
from monitor.models import FetchResult, Network, RunResult
from monitor.settings import Settings, default_shards, load_config, settings_from_flags

if TYPE_CHECKING:
    from monitor.pipeline import CheckOutcome

log = logging.getLogger("monitor")

DEFAULT_CATALOG = "catalog/hub.yaml"


class ExitCode(IntEnum):
    """As lychee users know them: the tool failing (1) is kept apart from links failing (2)."""

    OK = 0
    INTERNAL_ERROR = 1
    FINDINGS = 2
    BAD_INPUT = 3
    NETWORK_UNAVAILABLE = 4
    INTERRUPTED = 130


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    # argparse exits with 2 on a usage error; 2 means "findings" here, so usage errors become 3.
    def error(self, message: str) -> NoReturn:
        # The usage line first, as argparse prints it: what the command takes, then what was wrong.
        raise UsageError(f"{self.format_usage().rstrip()}\n{self.prog}: error: {message}")


class _Help(argparse.RawDescriptionHelpFormatter):
    """Descriptions and examples keep their lines; every option with a default names it once."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            text
            and "default" not in text
            and default not in (None, False, [], argparse.SUPPRESS)
            and action.option_strings
        ):
            text += " (default: %(default)s)"
        return text


_ENVIRONMENT = """\
environment:
  GITHUB_STEP_SUMMARY  when set (GitHub Actions), the report is appended to the job summary
  GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_SHA, GITHUB_RUN_ID
                       when set, the report links catalog lines (permalinks) and the run"""

_EPILOGS = {
    "check": f"""\
examples:
  hub-monitor check                                  the bundled catalog, reports in reports/
  hub-monitor check my-hub.yaml --suggest            also look up archived copies of dead pages
  hub-monitor check --fail-on warning -q             exit 2 on warnings too, print nothing

exit codes: 0 fine, 1 internal error, 2 findings at or above --fail-on, 3 bad catalog or usage,
4 network unavailable, 130 interrupted

{_ENVIRONMENT}""",
    "validate": """\
examples:
  hub-monitor validate                               check catalog/hub.yaml
  hub-monitor validate my-hub.yaml                   every problem as file:line: field: message (exit 3)""",
    "report": """\
examples:
  hub-monitor report                                 reports/latest.json to standard output
  hub-monitor report old.json -o old.md              re-render an old run, no crawl""",
    "issues": """\
examples:
  hub-monitor issues --dry-run                       print the plan, write nothing
  hub-monitor issues --repo octo-org/hub --label stale-entry --label hub --assignee octocat

environment:
  GITHUB_TOKEN         a token with issues: write (required, except for --dry-run)
  GITHUB_REPOSITORY    the default for --repo (set in GitHub Actions)
  GITHUB_API_URL       the default for --api-url (set in GitHub Actions, GitHub Enterprise too)
  GITHUB_STEP_SUMMARY  when set, what the step did is appended to the job summary, with links
  GITHUB_SERVER_URL    the server those links point to (default https://github.com)""",
    "import": """\
examples:
  hub-monitor import https://www.matsprogram.org/mechinterp -o catalog/hub.yaml
  hub-monitor import saved-hub.html --base-url https://www.matsprogram.org/mechinterp""",
}


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date in YYYY-MM-DD form: {text!r}") from None


# The flags below only split their text into its parts; the values are checked by the settings readers
# (`settings_from_flags`), which a --config file and a catalog's settings: go through too.


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected 'Name: Value', got {text!r}")
    return name.strip(), value.strip()


def _host_header(text: str) -> tuple[str, str, str]:
    host, sep, rest = text.partition("=")
    if not sep or not host.strip() or "/" in host:
        raise argparse.ArgumentTypeError(f"expected 'HOST=Name: Value', got {text!r}")
    name, value = _header(rest) if ":" in rest else ("", "")
    if not name:
        raise argparse.ArgumentTypeError(f"expected 'HOST=Name: Value', got {text!r}")
    return host.strip(), name, value


# Setting key -> the flag that sets it, for messages about a flag's value.
FLAGS = {
    "timeout": "--timeout", "max_retries": "--max-retries", "retry_wait_time": "--retry-wait-time",
    "max_concurrency": "--max-concurrency", "host_concurrency": "--host-concurrency",
    "host_request_interval": "--host-request-interval", "max_redirects": "--max-redirects",
    "max_body": "--max-body", "max_runtime": "--max-runtime", "confirm_after": "--confirm-after",
    "user_agent": "--user-agent", "allow_hosts": "--allow-host", "headers": "--header", "hosts": "--host-header",
    "exclude": "--exclude", "include": "--include", "accept": "--accept", "workers": "--workers",
    "analysis_timeout": "--analysis-timeout", "shards": "--shards",
}  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hub-monitor", description="Link and freshness monitor for curated resource hubs.",
                     formatter_class=_Help, epilog="Run 'hub-monitor COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=f"hub-monitor {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=summary, description=textwrap.fill(description, 100),
                              epilog=_EPILOGS[name], formatter_class=_Help)

    chk = command("check", "fetch every entry, analyse, write the reports",
                  "Fetch every entry of the catalog, read what each page says now, and write the Markdown and JSON "
                  "reports and the state remembered between runs.")
    chk.add_argument("catalog", nargs="?", default=DEFAULT_CATALOG, help=f"catalog YAML (default {DEFAULT_CATALOG})")
    chk.add_argument("--report", default="reports/latest.md", help="Markdown report path")
    chk.add_argument("--json", dest="json_path", default="reports/latest.json", help="JSON report path")
    chk.add_argument("--state", default="reports/state.json", help="state file remembered between runs")
    chk.add_argument("--config", help="YAML file of settings (overrides the catalog's settings: block)")
    chk.add_argument("--today", type=_day, help="the date deadlines are judged against (default: today, UTC)")
    chk.add_argument("--timeout", help="total deadline per URL (default 20s)")
    chk.add_argument("--max-retries", help="retries for transient failures (default 3)")
    chk.add_argument("--retry-wait-time", help="first retry wait, doubled each time (default 1s)")
    chk.add_argument("--max-concurrency", help="requests in flight in all (default 32)")
    chk.add_argument("--host-concurrency", help="requests in flight per host (default 4)")
    chk.add_argument("--host-request-interval", help="gap between requests to one host (100ms)")
    chk.add_argument("--max-redirects", help="redirect hops followed (default 10)")
    chk.add_argument("--max-body", help="body read after decompression, e.g. 2MiB (default 2 MiB)")
    chk.add_argument("--max-runtime", help="time budget for the whole run (default 15m)")
    chk.add_argument("--workers", help="processes that read pages, off the network's thread (default: one per CPU)")
    chk.add_argument("--shards", help="processes the crawl is split over, whole hosts each (default: one per CPU "
                     "from 2 CPUs, else 1)")
    chk.add_argument("--analysis-timeout",
                     help="time one page's reading may take; past it the entry is too-complex (default 5s)")
    chk.add_argument("--confirm-after", help="failing runs before a failure alarms (2)")
    chk.add_argument("--allow-host", action="append", default=[], metavar="HOST",
                     help="allow fetching this host even if it resolves to a private address (repeatable)")
    chk.add_argument("--user-agent", help="User-Agent header")
    chk.add_argument("--header", action="append", default=[], type=_header, metavar="'NAME: VALUE'",
                     help="extra request header for every checked site (repeatable)")
    chk.add_argument("--host-header", action="append", default=[], type=_host_header, metavar="'HOST=NAME: VALUE'",
                     help="request header sent to HOST only, never after a redirect elsewhere (repeatable)")
    chk.add_argument("--exclude", action="append", default=[], metavar="REGEX", help="skip URLs matching")
    chk.add_argument("--include", action="append", default=[], metavar="REGEX", help="check only URLs matching")
    chk.add_argument("--accept", help="status codes that count as OK, e.g. 200..299,403")
    chk.add_argument("--suggest", action="store_true",
                     help="look up a Wayback Machine copy of each dead page (archive.org)")
    chk.add_argument("--fail-on", choices=["never", "warning", "error"], default="error",
                     help="exit 2 when a confirmed finding is at or above this severity (default error)")
    chk.add_argument("--quiet", "-q", action="store_true", help="no progress line, no summary")
    chk.add_argument("--verbose", "-v", action="store_true", help="log each request; tracebacks on internal errors")

    val = command("validate", "check a catalog and print every problem",
                  "Check a catalog without fetching anything: every problem at once, each as file:line: field: "
                  "message; exit 3 if there is any.")
    val.add_argument("catalog", nargs="?", default=DEFAULT_CATALOG, help=f"catalog YAML (default {DEFAULT_CATALOG})")
    val.add_argument("--verbose", "-v", action="store_true", help="tracebacks on internal errors")

    rep = command("report", "render the Markdown report again from a JSON report",
                  "Render the Markdown report again from a JSON report, with no crawl.")
    rep.add_argument("json_file", nargs="?", default="reports/latest.json",
                     help="JSON report (default reports/latest.json)")
    rep.add_argument("--output", "-o", help="write to this file instead of standard output")
    rep.add_argument("--verbose", "-v", action="store_true", help="tracebacks on internal errors")

    iss = command("issues", "open, update and close one GitHub issue per stale entry",
                  "Keep one GitHub issue per entry that needs attention in step with the JSON report, and one "
                  "for the hub page's own drift: open, update (with a comment saying what changed) and close.")
    iss.add_argument("--repo", metavar="OWNER/NAME",
                     help="repository that holds the issues (default: $GITHUB_REPOSITORY, set in GitHub Actions)")
    iss.add_argument("--json", dest="json_path", default="reports/latest.json", help="JSON report to act on")
    iss.add_argument("--report", default="reports/latest.md",
                     help="Markdown report updated with issues a maintainer closed as not planned")
    iss.add_argument("--label", action="append", metavar="LABEL",
                     help="label that marks the tool's issues (default stale-entry); repeat to add more labels to "
                          "new issues, the first one is how the tool finds its issues")
    iss.add_argument("--assignee", action="append", default=[], metavar="LOGIN",
                     help="assign new issues to this GitHub user (repeatable)")
    iss.add_argument("--max-new", type=_non_negative_int, default=10, help="issues created at most per run")
    iss.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    iss.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    iss.add_argument("--api-url",
                     help="API base, GitHub Enterprise too (default: $GITHUB_API_URL, else https://api.github.com)")
    iss.add_argument("--verbose", "-v", action="store_true", help="tracebacks on internal errors")

    imp = command("import", "turn the hub page (a URL or a saved HTML file) into catalog YAML",
                  "Read the hub page (a URL, or a saved copy of its HTML) and write a schema-1 catalog of its "
                  "entries, ready to review and save as catalog/hub.yaml.")
    imp.add_argument("source", help="the hub's URL, or a saved copy of its HTML")
    imp.add_argument("--base-url", help="the hub's real URL, to resolve relative links of a saved file")
    imp.add_argument("--output", "-o", help="write the YAML here instead of standard output")
    imp.add_argument("--allow-host", action="append", default=[], metavar="HOST",
                     help="allow this host even if it resolves to a private address")
    imp.add_argument("--verbose", "-v", action="store_true", help="tracebacks on internal errors")
    cli_loop.add_commands(sub)
    return parser


def _settings_for(args: argparse.Namespace, catalog: Catalog) -> Settings:
    settings = catalog.settings
    if args.config:
        settings = load_config(Path(args.config), base=settings)
    hosts: dict[str, dict[str, dict[str, str]]] = {}
    for host, name, value in args.host_header:
        hosts.setdefault(host, {"headers": {}})["headers"][name] = value
    # None or [] = flag not given; an empty text is a value, to be refused like `user_agent: ''` in a file.
    given = {key: getattr(args, key) if getattr(args, key) != [] else None
             for key in FLAGS if key not in ("allow_hosts", "headers", "hosts")}  # fmt: skip
    given |= {"allow_hosts": args.allow_host or None, "headers": dict(args.header) or None, "hosts": hosts or None}
    return settings_from_flags(given, settings, FLAGS)


def _exit_code(run: RunResult, fail_on: str) -> ExitCode:
    if run.network is Network.UNAVAILABLE:
        return ExitCode.NETWORK_UNAVAILABLE
    if fail_on == "never":
        return ExitCode.OK
    threshold = Severity(fail_on)
    for result in run.entries:
        accepted = {a.code for a in result.entry.accept if a.holds(run.today)}
        for finding in result.findings:
            if finding.confirmed and finding.severity.rank >= threshold.rank and finding.code not in accepted:
                return ExitCode.FINDINGS
    return ExitCode.OK


class _ProgressLine:
    """One self-overwriting line on a terminal; silent otherwise."""

    def __init__(self) -> None:
        self.shown = False

    def __call__(self, checked: int, total: int, failures: int, host: str) -> None:
        line = f"\rchecked {checked}/{total}  failures {failures}  {host[:40]}"
        sys.stderr.write(line.ljust(78))
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r" + " " * 78 + "\r")


def _ready_the_crawl() -> None:
    from monitor import pipeline, report, state  # noqa: F401 - imported now, while the catalog is read


def _warm_up_the_shards(args: argparse.Namespace) -> Iterator[Callable[[], object]]:
    """The shards' warm-up steps when shards are likely (the catalog's settings are not known yet); a generator,
    so that monitor.shards is imported only when the steps are asked for, beside the catalog's reading."""
    if args.shards == "1" or (args.shards is None and default_shards() <= 1):
        return
    from monitor import shards

    yield from shards.warm_up()


def _cmd_check(args: argparse.Namespace) -> ExitCode:
    from monitor.preload import read_catalog_aside

    _check_targets({"--report": args.report, "--json": args.json_path, "--state": args.state},
                   {"the catalog": args.catalog, "--config": args.config or ""})  # fmt: skip
    snapshots = Path(args.state).parent / "snapshots"
    if snapshots.exists() and not snapshots.is_dir():
        raise UsageError(f"error: --state {args.state}: {snapshots} must be a folder for the snapshots; it is a file")
    catalog = read_catalog_aside(Path(args.catalog), _ready_the_crawl, _warm_up_the_shards(args))
    from monitor import pipeline
    from monitor.report import step_summary
    from monitor.state import SnapshotSpool, load_state, prune_snapshots

    for warning in catalog.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    settings = _settings_for(args, catalog)
    if args.only or args.changed_since:
        catalog, settings = _some_entries(args, catalog, settings)
    today = args.today or datetime.now(UTC).date()
    state_path = Path(args.state)
    json_path, report_path = Path(args.json_path), Path(args.report)
    # Every folder the run writes to is locked, not only the state's: two runs with different --state but one
    # --report folder would otherwise write it at once.
    with run_locks([json_path.parent, report_path.parent, state_path.parent]):
        for folder in {json_path.parent, report_path.parent, state_path.parent, snapshots}:
            remove_stale_temps(folder)
        loaded = load_state(state_path)
        if loaded.warning:
            print(f"warning: {loaded.warning}", file=sys.stderr)
        progress = _ProgressLine() if (sys.stderr.isatty() and not args.quiet) else None
        # Tonight's snapshots are written to temp files beside the state while the crawl goes on; the
        # commit below only syncs and renames them (the staging deletes any it did not commit).
        with Staging(snapshots) as staging:
            try:
                outcome = pipeline.check(catalog, settings, loaded.state, today=today, progress=progress,
                                         suggest=args.suggest, spool=SnapshotSpool(staging))
            finally:
                if progress is not None:
                    progress.close()
            data, markdown = _write_outputs(outcome, json_path, report_path, state_path)
        if outcome.state is not None:
            prune_snapshots(state_path, outcome.state, loaded.state)
    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_path:
        step_summary(markdown, Path(summary_path), _report_url(args.report))
    code = _exit_code(outcome.run, args.fail_on)
    if not args.quiet:
        print(_one_line(data, args.report), file=sys.stderr)
    return code


def _write_outputs(outcome: CheckOutcome, json_path: Path, report_path: Path,
                   state_path: Path) -> tuple[dict, str]:
    """Write the reports and the state, all or nothing; the JSON report's data and the Markdown."""
    from monitor.pipeline import collector_paused

    with collector_paused():  # rendering and writing the reports: all they build is kept to the end
        return _render_and_write(outcome, json_path, report_path, state_path)


def _render_and_write(outcome: CheckOutcome, json_path: Path, report_path: Path,
                      state_path: Path) -> tuple[dict, str]:
    from monitor.report import actions_links, render_markdown, to_json
    from monitor.reportfile import load_report
    from monitor.state import state_files

    try:
        # Last night's report, to tell what changed in substance (a status that flipped, a confirmation).
        # Read like any report (capped, regular file, shape checked): a torn or hand-edited one would
        # otherwise fail every night after the whole crawl, or a FIFO there block the run.
        previous = load_report(json_path) if json_path.exists() else None
    except ValueError as exc:
        print(f"warning: last night's report is not used to tell what changed: {exc}", file=sys.stderr)
        previous = None
    data = to_json(outcome.run, previous, actions_links(os.environ))
    markdown = render_markdown(data)
    files: list[tuple[Path, FileData]] = [
        (json_path, lambda: json_pieces(data)),
        (report_path, markdown),
    ]
    if outcome.state is not None:
        files += state_files(state_path, outcome.state)
    # All or nothing on a full disk: the reports never describe a run the state does not remember.
    write_all_atomic(files)
    return data, markdown


def _check_targets(outputs: dict[str, str], inputs: dict[str, str]) -> None:
    """Exit 3 before anything is fetched when an output cannot be written or would overwrite another file."""
    problems = target_problems(outputs, {name: path for name, path in inputs.items() if path})
    if problems:
        raise UsageError("\n".join(f"error: {problem}" for problem in problems))


def _some_entries(args: argparse.Namespace, catalog: Catalog, settings: Settings) -> tuple[Catalog, Settings]:
    """The catalog cut to the entries --only names or --changed-since finds; the hub page is not compared."""
    import dataclasses

    from monitor.changes import ChangedSinceError, changed_ids, old_catalog_text

    wanted = list(args.only or [])
    unknown = [i for i in wanted if i not in {e.id for e in catalog.entries}]
    if unknown:
        raise UsageError(f"--only: no entry {', '.join(map(repr, unknown))} in {catalog.path}")
    if args.changed_since:
        try:
            changed = changed_ids(catalog.entries, old_catalog_text(args.changed_since, Path(args.catalog)))
        except ChangedSinceError as exc:
            raise UsageError(str(exc)) from exc
        wanted = [i for i in wanted if i in changed] if args.only else changed
        if not args.quiet:
            print(f"entries added or changed since {args.changed_since}: {', '.join(changed) or 'none'}",
                  file=sys.stderr)
    keep = set(wanted)
    # A part of the catalog against the whole hub page would report every other entry as drift.
    return (dataclasses.replace(catalog, entries=tuple(e for e in catalog.entries if e.id in keep)),
            dataclasses.replace(settings, check_hub=False))


def _report_url(report_path: str) -> str | None:
    """Where the committed report will be on GitHub, for the job summary's "cut here" note."""
    server, repo, ref = (os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_REF_NAME"))
    path = Path(report_path)
    if not (server and repo and ref) or path.is_absolute():
        return None
    return f"{server}/{repo}/blob/{ref}/{path.as_posix()}"


def _one_line(data: dict, report_path: str) -> str:
    if data["network"] == Network.UNAVAILABLE.value:
        return f"network unavailable: nothing concluded; previous verdicts kept. Report: {report_path}"
    from monitor.report import not_checked

    s = data["summary"]
    skipped = len(not_checked(data["entries"]))
    return (f"{s['entries']} entries: {s['error']} error, {s['warning']} warning, {s['info']} info, "
            f"{s['ok']} ok{f', {skipped} not checked' if skipped else ''}. Report: {report_path}")


def _cmd_validate(args: argparse.Namespace) -> ExitCode:
    if args.format == "github":
        return _validate_github(args.catalog)
    catalog = load_catalog(Path(args.catalog))
    for warning in catalog.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{args.catalog}: OK, {len(catalog.entries)} entries")
    return ExitCode.OK


def _validate_github(path: str) -> ExitCode:
    """Problems as GitHub Actions workflow commands, so a pull request shows each on its line of the diff."""
    try:
        catalog = load_catalog(Path(path))
    except CatalogError as exc:
        for problem in exc.problems:
            print(_annotation("error", problem))
        print(f"{path}: {len(exc.problems)} problem(s)", file=sys.stderr)
        return ExitCode.BAD_INPUT
    for warning in catalog.warnings:
        print(_annotation("warning", warning))
    print(f"{path}: OK, {len(catalog.entries)} entries")
    return ExitCode.OK


def _annotation(level: str, problem: Problem) -> str:
    # GitHub's escaping for workflow commands: properties also escape ':' and ','.
    def data(text: str) -> str:
        return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    def prop(text: str) -> str:
        return data(text).replace(":", "%3A").replace(",", "%2C")

    where = f"file={prop(problem.file)}" + (f",line={problem.line}" if problem.line > 0 else "")
    title = f",title={prop(problem.field)}" if problem.field else ""
    return f"::{level} {where}{title}::{data(problem.message)}"


def _read_report(path: Path) -> dict:
    from monitor.reportfile import ReportFileError, load_report

    try:
        return load_report(path)
    except ReportFileError as exc:
        raise UsageError(str(exc)) from exc


def _cmd_report(args: argparse.Namespace) -> ExitCode:
    from monitor.report import render_markdown

    if args.output:
        _check_targets({"--output": args.output}, {"the JSON report": args.json_file})
    markdown = render_markdown(_read_report(Path(args.json_file)))
    if args.output:
        write_atomic(Path(args.output), markdown)
    else:
        sys.stdout.write(markdown)
    return ExitCode.OK


def _cmd_issues(args: argparse.Namespace) -> ExitCode:
    from monitor.github import sync_issues
    from monitor.report import render_markdown, step_summary

    json_path = Path(args.json_path)
    if not args.dry_run:
        _check_targets({"--json": args.json_path, "--report": args.report}, {})
    data = _read_report(json_path)
    token = os.environ.get("GITHUB_TOKEN")
    repo = args.repo or os.environ.get("GITHUB_REPOSITORY")
    if not repo:
        raise UsageError("hub-monitor issues: error: --repo OWNER/NAME is needed outside GitHub Actions "
                         "(there $GITHUB_REPOSITORY says it)")
    api_url = args.api_url or os.environ.get("GITHUB_API_URL") or "https://api.github.com"
    labels = args.label or ["stale-entry"]
    try:
        result = sync_issues(data, repo=repo, token=token, label=labels[0], extra_labels=labels[1:],
                             assignees=args.assignee, max_new=args.max_new, dry_run=args.dry_run, api_url=api_url)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if not args.quiet or not result.complete:
        print(result.render())
    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_path:
        server = os.environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        step_summary(result.summary(lambda n: f"{server}/{repo}/issues/{n}"), Path(summary_path))
    if not args.dry_run:
        # The maintainer's "not planned" decisions and the issue numbers belong in the morning's report too.
        updated = dict(data)
        updated["not_planned"] = sorted(result.not_planned)
        updated["issues"] = dict(result.numbers)
        kept = [a for a in data.get("accepted") or [] if isinstance(a, dict) and a.get("source") == "catalog"]
        updated["accepted"] = kept + [
            {"id": i, "code": c, "until": None, "reason": f"issue #{n} closed as not planned", "source": f"issue #{n}"}
            for i, codes, n in result.accepted for c in codes
        ]
        if updated != data:
            with run_locks([json_path.parent, Path(args.report).parent]):
                write_atomic(json_path, lambda: json_pieces(updated))
                write_atomic(Path(args.report), render_markdown(updated))
    return ExitCode.OK if result.complete else ExitCode.INTERNAL_ERROR


def _cmd_import(args: argparse.Namespace) -> ExitCode:
    from monitor.hub import parse_hub, to_catalog_yaml

    source: str = args.source
    if args.output:
        _check_targets({"--output": args.output}, {"the source": source})
    body, headers, final = _read_source(source, args.allow_host, "import")
    base = final or args.base_url or Path(source).resolve().as_uri()
    page = parse_hub(body, headers, base)
    text = to_catalog_yaml(page, args.base_url or base)
    if args.output:
        write_atomic(Path(args.output), text)
        print(f"wrote {args.output}: {len(page.entries)} entries in {len(page.sections)} sections", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return ExitCode.OK


def _read_source(source: str, allow_hosts: list[str], verb: str) -> tuple[bytes, dict[str, str], str | None]:
    """The body and headers of a URL or a file (`import`, `init`), and the final URL (None for a file)."""
    import asyncio

    from monitor.fetch import Crawler

    if source.startswith(("http://", "https://")):
        settings = settings_from_flags({"allow_hosts": allow_hosts or None}, Settings(), FLAGS)

        async def fetch() -> FetchResult:
            async with Crawler(settings) as crawler:
                return await crawler.fetch(source)

        got = asyncio.run(fetch())
        if not got.ok or got.body is None:
            reason = got.error_detail or (f"HTTP {got.status}" if got.status else "no answer")
            raise UsageError(f"cannot {verb} {source}: {reason}")
        return got.body, got.headers, got.final_url
    try:
        return read_capped(Path(source), PAGE_LIMIT), {}, None
    except InputFileError as exc:
        raise UsageError(f"cannot {verb} {exc}") from exc


COMMANDS = {
    "check": _cmd_check,
    "validate": _cmd_validate,
    "report": _cmd_report,
    "issues": _cmd_issues,
    "import": _cmd_import,
    **cli_loop.COMMANDS,
}


def main(argv: list[str] | None = None) -> int:
    given = argv if argv is not None else sys.argv[1:]
    verbose = "--verbose" in given or "-v" in given
    # Only our own logger gets chatty: httpx/httpcore debug output would add noise (and request details).
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    log.setLevel(logging.DEBUG if verbose else logging.WARNING)
    try:
        args = build_parser().parse_args(argv)
        return int(COMMANDS[args.command](args))
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return ExitCode.BAD_INPUT
    except CatalogError as exc:
        print(exc, file=sys.stderr)
        return ExitCode.BAD_INPUT
    except (LockedError, WriteError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.INTERNAL_ERROR
    except KeyboardInterrupt:
        print("interrupted: files on disk are the previous complete versions", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except Exception as exc:
        print(f"internal error: {type(exc).__name__}: {exc} (run with --verbose for the traceback)",
              file=sys.stderr)
        if verbose:
            traceback.print_exc()
        return ExitCode.INTERNAL_ERROR


def entry_point() -> NoReturn:
    code = main()
    # The collection Python runs as it exits would walk every object of the run (0.2 s of CPU after a
    # 2,000-entry check) only to free memory the system takes back anyway: they are left out of it.
    # Nothing is lost: every file is written and closed by now, and the exit handlers still run.
    gc.freeze()
    sys.exit(code)
