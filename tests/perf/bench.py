"""Benchmark: `hub-monitor check` on the synthetic hub of site.py, against its ground truth and its peers.

    python tests/perf/bench.py --entries 10000 --hosts 8 --latency-ms 20
    python tests/perf/bench.py --scaling                # N = 1,000, 5,000, 10,000
    python tests/perf/bench.py --latency-ms 0 --entries 5000   # pure overhead: entries per CPU second
    python tests/perf/bench.py --entries 2000 --peers   # lychee, LinkChecker, linkinator side by side
    python tests/perf/bench.py --mix cross --entries 2000 --peers --rounds 3   # issue 15's mix, medians

``--mix cross`` is issue 15's mix (see site.py): 12% dead, 10% redirect chains of 1-3 hops across hosts,
5% 429 with ``Retry-After: 1``, 3% soft-404, 3% slow pages (+500 ms), 5% HEAD-405; every tool at 32 requests
in flight and no per-host throttle (host concurrency 32, no request interval). ``--rounds R`` runs every
tool R times, interleaved, and adds a table of medians with the spread (min-max) of wall and CPU time.
``--pages lean`` serves 1-4 KB bare pages instead of 20-80 KB rich ones (see site.py): issue 15 does not say
how large its site's pages were, and with rich pages reading them is most of hub-monitor's CPU.

The site runs in its own process (site.py), and so does every checker, so wall time, CPU time
(``ru_utime + ru_stime`` of the checker process) and peak RSS (``ru_maxrss``) are the checker's own.

The physical bound is the least wall time any checker could achieve at the configured concurrency:
the server-side delay every entry needs at a minimum (one latency per request it must send: 1 for a page,
2 for a redirect or a 429 followed by its retry, plus the slow pages' extra delay), divided by the
effective concurrency ``min(max_concurrency, hosts * host_concurrency)`` (or less, when a request
interval caps a host below its concurrency), and never less than the longest single chain (a slow page;
a 429, its Retry-After and the retry). Politeness a checker adds on top (backing off a host that sent a
429, second passes) is the checker's own time and is counted against it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

# Loaded by path: the stdlib's `site` module is already imported under that name.
_spec = importlib.util.spec_from_file_location("perf_site", HERE / "site.py")
assert _spec is not None and _spec.loader is not None
perf_site = importlib.util.module_from_spec(_spec)
sys.modules["perf_site"] = perf_site  # dataclasses look their module up there
_spec.loader.exec_module(perf_site)
EXPECTED_CODE: dict[str, str] = perf_site.EXPECTED_CODE

# A 429 or a slow page is a good link: any error finding on one is a false alarm.
GOOD = frozenset({"ok", "slow", "ratelimited", "head405"})
# What --mix changes unless the flag is given: (slow ms, host concurrency, max concurrency).
MIX_DEFAULTS = {"calm": (250.0, 8, 64), "cross": (500.0, 32, 32)}
TODAY = "2026-11-25"


@dataclass
class Measured:
    wall: float
    cpu: float
    rss_mb: float
    code: int
    stderr: str = ""


@dataclass
class Verdicts:
    dead: int = 0
    moved: int = 0
    soft404: int = 0
    false_alarms: int = 0
    warnings_on_good: int = 0
    wrong: list[str] = field(default_factory=list)


@dataclass
class Row:
    tool: str
    entries: int
    measured: Measured
    requests: int | None
    bound: float
    verdicts: Verdicts
    truth: dict[str, int]
    retry_delays: list[float] = field(default_factory=list)  # the site's: each 429 to its URL's next request


# --- processes -------------------------------------------------------------------------------------------------


def run_measured(argv: list[str], timeout: float, cwd: Path | None = None, stdout: IO[bytes] | None = None,
                 env: dict[str, str] | None = None) -> Measured:
    """Run one process to completion; wall from the parent, CPU and peak RSS from its own rusage."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=stdout or subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL,
                                cwd=cwd, env=env)
        try:
            status, usage = _wait(proc, started + timeout)
        finally:
            # Interrupted or timed out: the checker must not outlive the benchmark.
            if proc.returncode is None and proc.poll() is None:
                proc.kill()
                proc.wait()
        err.seek(0)
        stderr = err.read().decode(errors="replace")[-2000:]
    wall = time.perf_counter() - started
    # ru_maxrss is in KiB on Linux.
    return Measured(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,
                    os.waitstatus_to_exitcode(status), stderr)


def _wait(proc: subprocess.Popen[bytes], deadline: float) -> tuple[int, resource.struct_rusage]:
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return status, usage
        if time.perf_counter() > deadline:
            proc.kill()
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            return status, usage
        time.sleep(0.01)


class SiteProcess:
    """site.py in its own process; it stops by itself when this pipe closes or its lifetime ends."""

    def __init__(self, out: Path, entries: int, args: argparse.Namespace) -> None:
        argv = [
            sys.executable, str(HERE / "site.py"), "--entries", str(entries), "--hosts", str(args.hosts),
            "--latency-ms", str(args.latency_ms), "--slow-ms", str(args.slow_ms), "--seed", str(args.seed),
            "--out", str(out), "--lifetime", "1200", "--mix", args.mix, "--pages", args.pages,
        ]  # fmt: skip
        if args.ratelimited_share is not None:
            argv += ["--ratelimited-share", str(args.ratelimited_share)]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the synthetic site did not start")
        self.ports: list[int] = json.loads(line)["ports"]
        self.out = out
        self.truth: dict[str, dict[str, str]] = json.loads((out / "truth.json").read_text())

    def close(self) -> list[float]:
        """Stop the site; the seconds from each 429 it sent to the same URL's next request."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        try:
            tail = self.proc.stdout.read()
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return []
        last = tail.strip().splitlines()[-1:] if tail else []
        return json.loads(last[0]).get("retry_delays", []) if last else []


# --- the physical bound ---------------------------------------------------------------------------------------


def effective_concurrency(hosts: int, host_concurrency: int, max_concurrency: int, latency: float,
                          interval: float) -> float:
    per_host = float(host_concurrency)
    if interval > 0 and latency > 0:
        # Little's law: a host started at most every `interval` holds latency/interval requests in flight.
        per_host = min(per_host, latency / interval)
    return min(float(max_concurrency), hosts * per_host)


def physical_bound(truth: dict[str, dict[str, str]], latency: float, slow: float, retry_after: float,
                   concurrency: float) -> float:
    work = 0.0
    longest = latency
    for item in truth.values():
        outcome = item["outcome"]
        if outcome == "moved":
            work += (1 + int(item.get("hops", "1"))) * latency
        elif outcome == "ratelimited":
            work += 2 * latency
        elif outcome == "slow":
            work += latency + slow
            longest = max(longest, latency + slow)
        else:
            work += latency
        if outcome == "ratelimited":
            longest = max(longest, 2 * latency + retry_after)
    return max(work / concurrency, longest)


# --- hub-monitor ----------------------------------------------------------------------------------------------


def run_hub_monitor(site: SiteProcess, work: Path, args: argparse.Namespace,
                    checkout: Path = ROOT) -> tuple[Measured, dict]:
    # A folder of each run's own, deleted with the benchmark's folder at its end, not just before the next run:
    # on a file system without a journal (this machine's ext4) a new file skips every inode freed in the last
    # seconds to minutes, testing each again, so deleting the last run's 2,000 snapshots made each file this
    # run creates cost 200-800 us of CPU instead of about 30 (perf: recently_deleted in __ext4_new_inode), a
    # cost a nightly run, which deletes nothing before it writes, never meets. Kept until the end: about 6 MB
    # a run of lean pages, 100 MB of rich ones at N = 2,000.
    reports = Path(tempfile.mkdtemp(prefix="reports-", dir=work))
    argv = [
        sys.executable, "-m", "monitor", "check", str(site.out / "hub.yaml"),
        "--report", str(reports / "latest.md"), "--json", str(reports / "latest.json"),
        "--state", str(reports / "state.json"), "--today", TODAY, "--confirm-after", "1",
        "--host-concurrency", str(args.host_concurrency), "--max-concurrency", str(args.max_concurrency),
        "--host-request-interval", f"{args.host_request_interval_ms}ms", "--fail-on", "never", "--quiet",
        # Only the command line (or --config) may allow a private address; a catalog may not.
        "--allow-host", "127.0.0.1",
    ]  # fmt: skip
    if args.workers is not None:
        argv += ["--workers", str(args.workers)]
    if args.shards is not None:
        argv += ["--shards", str(args.shards)]
    # Another checkout (--baseline) runs on this interpreter and its packages: its own `monitor` comes first.
    env = None if checkout == ROOT else {**os.environ, "PYTHONPATH": str(checkout)}
    measured = run_measured(argv, timeout=args.timeout, cwd=checkout, env=env)
    if measured.wall >= args.timeout:
        raise SystemExit(f"hub-monitor check did not finish within --timeout {args.timeout:g} s (stopped); with "
                         "429s in the mix, its per-host back-off is the usual reason: try --ratelimited-share 0")
    if measured.code != 0:
        raise SystemExit(f"hub-monitor check exited {measured.code}:\n{measured.stderr}")
    return measured, json.loads((reports / "latest.json").read_text())


def judge_report(report: dict, truth: dict[str, dict[str, str]]) -> Verdicts:
    verdicts = Verdicts()
    for entry in report["entries"]:
        outcome = truth[entry["id"]]["outcome"]
        codes = {f["code"] for f in entry["findings"]}
        severities = {f["severity"] for f in entry["findings"]}
        expected = EXPECTED_CODE.get(outcome)
        if outcome in GOOD:
            if "error" in severities:
                verdicts.false_alarms += 1
                verdicts.wrong.append(f"{entry['id']} ({outcome}): {sorted(codes)}")
            elif "warning" in severities:
                verdicts.warnings_on_good += 1
                verdicts.wrong.append(f"{entry['id']} ({outcome}): {sorted(codes)}")
        elif expected in codes:
            setattr(verdicts, outcome, getattr(verdicts, outcome) + 1)
        else:
            verdicts.wrong.append(f"{entry['id']} ({outcome}): {sorted(codes)}")
    return verdicts


def outcome_counts(truth: dict[str, dict[str, str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in truth.values():
        counts[item["outcome"]] = counts.get(item["outcome"], 0) + 1
    return counts


def bench_hub_monitor(entries: int, args: argparse.Namespace, work: Path, checkout: Path = ROOT) -> Row:
    site = SiteProcess(work / f"site-{entries}", entries, args)
    delays: list[float] = []
    try:
        measured, report = run_hub_monitor(site, work, args, checkout)
    finally:
        delays = site.close()
    concurrency = effective_concurrency(args.hosts, args.host_concurrency, args.max_concurrency,
                                        args.latency_ms / 1000, args.host_request_interval_ms / 1000)
    bound = physical_bound(site.truth, args.latency_ms / 1000, args.slow_ms / 1000, 1.0, concurrency)
    return Row(_label(checkout), entries, measured, report["summary"].get("requests"), bound,
               judge_report(report, site.truth), outcome_counts(site.truth), delays)


def _label(checkout: Path) -> str:
    if checkout == ROOT:
        return "hub-monitor"
    rev = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return f"hub-monitor @ {rev.stdout.strip() or checkout.name}"


# --- peers ------------------------------------------------------------------------------------------------------


def find_peer(name: str, peers_dir: Path | None) -> str | None:
    candidates = []
    if peers_dir is not None:
        candidates += [peers_dir / "venv" / "bin" / name, peers_dir / "node_modules" / ".bin" / name,
                       peers_dir / "bin" / name]
    found = next((str(c) for c in candidates if c.exists()), None)
    return found or shutil.which(name)


def _failed_urls_lychee(out: Path) -> dict[str, str]:
    data = json.loads(out.read_text() or "{}")
    failed: dict[str, str] = {}
    for items in (data.get("error_map") or data.get("fail_map") or {}).values():
        for item in items:
            status = item.get("status", {})
            failed[item["url"]] = str(status.get("code") or status.get("text") or status)
    return failed


def _failed_urls_linkinator(out: Path) -> dict[str, str]:
    text = out.read_text()
    data = json.loads(text[text.index("{"):]) if "{" in text else {}
    return {link["url"]: str(link.get("status")) for link in data.get("links", []) if link.get("state") == "BROKEN"}


def _failed_urls_linkchecker(out: Path) -> dict[str, str]:
    failed: dict[str, str] = {}
    lines = [line for line in out.read_text(errors="replace").splitlines() if line and not line.startswith("#")]
    if not lines:
        return failed
    header = lines[0].split(";")
    url_col, valid_col, result_col = header.index("urlname"), header.index("valid"), header.index("result")
    for line in lines[1:]:
        cols = line.split(";")
        if len(cols) > max(url_col, valid_col, result_col) and cols[valid_col] in ("False", "0"):
            failed[cols[url_col]] = cols[result_col]
    return failed


@dataclass(frozen=True)
class Peer:
    name: str
    binary: str
    label: str
    argv: Callable[[str, SiteProcess, Path, argparse.Namespace], list[str]]
    failed: Callable[[Path], dict[str, str]]
    mixes: tuple[str, ...] = ("calm", "cross")  # the polite lychee would take minutes on the cross mix's 429s


def _lychee(polite: bool) -> Callable[[str, SiteProcess, Path, argparse.Namespace], list[str]]:
    def argv(binary: str, site: SiteProcess, out: Path, args: argparse.Namespace) -> list[str]:
        cmd = [binary, "--no-progress", "--format", "json", "--output", str(out), "--cache-exclude-status", "100..=599",
               "--max-concurrency", str(args.max_concurrency), "--timeout", "20", "--max-retries", "3"]
        if not polite:
            cmd += ["--host-concurrency", str(args.host_concurrency), "--host-request-interval", "0ms"]
        return [*cmd, "--", str(site.out / "links.md")]

    return argv


def _linkinator(binary: str, site: SiteProcess, out: Path, args: argparse.Namespace) -> list[str]:
    index = f"http://127.0.0.1:{site.ports[0]}/index.html"
    return [binary, index, "--concurrency", str(args.max_concurrency), "--format", "json", "--timeout", "20000",
            "--retry", "--skip", "^(?!http://127\\.0\\.0\\.1)"]


def _linkchecker(binary: str, site: SiteProcess, out: Path, args: argparse.Namespace) -> list[str]:
    index = f"http://127.0.0.1:{site.ports[0]}/index.html"
    return [binary, "--recursion-level", "1", "--check-extern", "--threads", str(args.max_concurrency),
            "--no-status", "--no-warnings", "--output", "csv", index]


PEERS = (
    Peer("lychee", "lychee", "lychee (polite defaults)", _lychee(polite=True), _failed_urls_lychee, mixes=("calm",)),
    Peer("lychee", "lychee", "lychee (throttling off)", _lychee(polite=False), _failed_urls_lychee),
    Peer("linkinator", "linkinator", "linkinator", _linkinator, _failed_urls_linkinator),
    Peer("linkchecker", "linkchecker", "LinkChecker", _linkchecker, _failed_urls_linkchecker),
)


def judge_failed(failed: dict[str, str], truth: dict[str, dict[str, str]]) -> Verdicts:
    by_url = {item["url"]: item["outcome"] for item in truth.values()}
    verdicts = Verdicts()
    for url, status in failed.items():
        outcome = by_url.get(url.rstrip("/")) or by_url.get(url)
        if outcome is None:
            continue  # a link on the index page that is not an entry
        if outcome in GOOD:
            verdicts.false_alarms += 1
            verdicts.wrong.append(f"{url} ({outcome}): {status}")
        elif outcome in ("dead", "soft404", "moved"):
            setattr(verdicts, outcome, getattr(verdicts, outcome) + 1)
    return verdicts


def bench_peer(peer: Peer, binary: str, entries: int, args: argparse.Namespace, work: Path) -> Row:
    # A fresh site per peer: the 429s answer once per URL, so every tool meets them.
    site = SiteProcess(work / f"site-{peer.label}", entries, args)
    out = work / f"{peer.name}.out"
    out.unlink(missing_ok=True)
    delays: list[float] = []
    try:
        if peer.name in ("linkinator", "linkchecker"):
            # Both write their results to standard output (LinkChecker, run as root, drops to `nobody` and
            # could not write a file here).
            with out.open("wb") as sink:
                measured = run_measured(peer.argv(binary, site, out, args), args.timeout, work, stdout=sink)
        else:
            measured = run_measured(peer.argv(binary, site, out, args), timeout=args.timeout, cwd=work)
    finally:
        delays = site.close()
    concurrency = effective_concurrency(args.hosts, args.host_concurrency, args.max_concurrency,
                                        args.latency_ms / 1000, 0.0)
    bound = physical_bound(site.truth, args.latency_ms / 1000, args.slow_ms / 1000, 1.0, concurrency)
    failed = peer.failed(out) if out.exists() and out.stat().st_size else {}
    return Row(peer.label, entries, measured, None, bound, judge_failed(failed, site.truth), outcome_counts(site.truth),
               delays)


# --- output -------------------------------------------------------------------------------------------------------


def _verdict_cells(row: Row) -> list[str]:
    t, v = row.truth, row.verdicts
    soft = f"{v.soft404}/{t.get('soft404', 0)}"
    moved = f"{v.moved}/{t.get('moved', 0)}"
    return [f"{v.dead}/{t.get('dead', 0)}", soft, moved, str(v.false_alarms), str(v.warnings_on_good)]


HEADER = ["tool", "N", "wall s", "CPU s", "URLs/s", "entries/CPU s", "requests", "peak RSS MB", "bound s",
          "wall/bound", "429 to retry s median (max)",
          "dead found", "soft-404 found", "moved found", "false alarms", "warnings on good"]


def table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for r in rows:
        m = r.measured
        cells = [r.tool, f"{r.entries:,}", f"{m.wall:.1f}", f"{m.cpu:.1f}", f"{r.entries / m.wall:.0f}",
                 f"{r.entries / m.cpu:.0f}" if m.cpu else "-", f"{r.requests:,}" if r.requests is not None else "-",
                 f"{m.rss_mb:.0f}", f"{r.bound:.1f}", f"{m.wall / r.bound:.2f}", _delays(r.retry_delays),
                 *_verdict_cells(r)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _delays(delays: list[float]) -> str:
    return f"{_median(delays):.2f} ({max(delays):.2f})" if delays else "-"


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


MEDIAN_HEADER = ["tool", "N", "rounds", "wall s median (min-max)", "CPU s median (min-max)", "CPU ms/entry",
                 "peak RSS MB median", "bound s", "429 to retry s median (max)",
                 "dead found", "soft-404 found", "moved found", "false alarms",
                 "warnings on good"]


def median_table(rows: list[Row]) -> str:
    """One line per (tool, N): medians over the rounds; verdicts from the worst round."""
    groups: dict[tuple[str, int], list[Row]] = {}
    for r in rows:
        groups.setdefault((r.tool, r.entries), []).append(r)
    lines = ["| " + " | ".join(MEDIAN_HEADER) + " |", "|" + "---|" * len(MEDIAN_HEADER)]
    for (tool, n), group in groups.items():
        walls = [r.measured.wall for r in group]
        cpus = [r.measured.cpu for r in group]
        worst = max(group, key=lambda r: (r.verdicts.false_alarms + r.verdicts.warnings_on_good, len(r.verdicts.wrong)))
        cells = [tool, f"{n:,}", str(len(group)), f"{_median(walls):.1f} ({min(walls):.1f}-{max(walls):.1f})",
                 f"{_median(cpus):.2f} ({min(cpus):.2f}-{max(cpus):.2f})", f"{1000 * _median(cpus) / n:.2f}",
                 f"{_median([r.measured.rss_mb for r in group]):.0f}", f"{group[0].bound:.1f}",
                 _delays([d for r in group for d in r.retry_delays]), *_verdict_cells(worst)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def show_wrong(rows: list[Row], limit: int = 8) -> None:
    for r in rows:
        if r.verdicts.wrong:
            print(f"\n{r.tool} at N={r.entries}: {len(r.verdicts.wrong)} verdict(s) off the ground truth, e.g.:")
            for line in r.verdicts.wrong[:limit]:
                print("   ", line)


def parse_args(argv: list[str] | None = None, parser: argparse.ArgumentParser | None = None) -> argparse.Namespace:
    parser = parser or argparse.ArgumentParser(description="Benchmark hub-monitor on a synthetic local hub.")
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--hosts", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--mix", choices=sorted(MIX_DEFAULTS), default="calm",
                        help="calm: the README's scaling mix; cross: issue 15's (see above)")
    parser.add_argument("--pages", choices=("rich", "lean"), default="rich",
                        help="rich: 20-80 KB pages with navigation, style and script; lean: 1-4 KB bare pages")
    parser.add_argument("--slow-ms", type=float, default=None,
                        help="extra delay of the slow pages (calm: 250, cross: 500)")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--ratelimited-share", type=float, default=None,
                        help="share of entries that answer 429 first (calm: 0.02, cross: 0.05; "
                             "0 leaves the crawler's 429 back-off out)")
    parser.add_argument("--host-concurrency", type=int, default=None, help="calm: 8, cross: 32")
    parser.add_argument("--max-concurrency", type=int, default=None, help="calm: 64, cross: 32")
    if not any(action.dest == "rounds" for action in parser._actions):
        parser.add_argument("--rounds", type=int, default=1, help="run every tool this many times, interleaved")
    parser.add_argument("--only-peers", action="store_true", help="with --peers: leave hub-monitor out")
    parser.add_argument("--host-request-interval-ms", type=float, default=0.0,
                        help="hub-monitor's --host-request-interval (0: throttling off, to measure the tool)")
    parser.add_argument("--workers", type=int, default=None,
                        help="hub-monitor's --workers (default: its own, one per CPU)")
    parser.add_argument("--shards", type=int, default=None,
                        help="hub-monitor's --shards (default: its own, from the CPUs)")
    parser.add_argument("--scaling", action="store_true", help="run N = 1,000, 5,000 and 10,000")
    parser.add_argument("--peers", action="store_true", help="also run lychee, linkinator and LinkChecker")
    parser.add_argument("--peers-dir", type=Path, default=None, help="where peers are installed (venv/, node_modules/)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds before a checker is stopped")
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="where the runs' reports, state and snapshot files go (default: the system's temp "
                             "folder); a nightly run writes them in its checkout, and on some machines creating "
                             "a file in /tmp costs several times what it costs there (see the README)")
    parser.add_argument("--baseline", type=Path, action="append", default=[], metavar="CHECKOUT",
                        help="also run hub-monitor from this checkout (e.g. a `git worktree` of an older commit) "
                             "in every round, on this interpreter; repeatable")
    args = parser.parse_args(argv)
    args.baseline = [b.resolve() for b in args.baseline]
    slow, host, most = MIX_DEFAULTS[args.mix]
    args.slow_ms = slow if args.slow_ms is None else args.slow_ms
    args.host_concurrency = host if args.host_concurrency is None else args.host_concurrency
    args.max_concurrency = most if args.max_concurrency is None else args.max_concurrency
    return args


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    # SIGTERM unwinds like Ctrl-C, so the running checker and the site are stopped on the way out.
    signal.signal(signal.SIGTERM, _stop)
    args = parse_args(argv)
    sizes = [1_000, 5_000, 10_000] if args.scaling else [args.entries]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="hub-bench-", dir=args.work_dir) as tmp:
        work = Path(tmp)
        for _ in range(args.rounds):
            if not args.only_peers:
                for n in sizes:
                    for checkout in [ROOT, *args.baseline]:
                        rows.append(bench_hub_monitor(n, args, work, checkout))
                        print(table(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
            if args.peers:
                for peer in PEERS:
                    binary = find_peer(peer.binary, args.peers_dir)
                    if args.mix not in peer.mixes:
                        continue
                    if binary is None:
                        print(f"{peer.label}: not installed, skipped", file=sys.stderr)
                        continue
                    rows.append(bench_peer(peer, binary, sizes[-1], args, work))
                    print(table(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
    share = "the mix's" if args.ratelimited_share is None else f"{args.ratelimited_share:g}"
    print(f"\nmix {args.mix}, {args.pages} pages, {args.hosts} hosts, {args.latency_ms:g} ms latency, "
          f"slow pages +{args.slow_ms:g} ms, "
          f"429 share {share}, "
          f"host concurrency {args.host_concurrency}, max concurrency {args.max_concurrency}, "
          f"hub-monitor host interval {args.host_request_interval_ms:g} ms\n")
    print(table(rows))
    if args.rounds > 1:
        print()
        print(median_table(rows))
    show_wrong(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
