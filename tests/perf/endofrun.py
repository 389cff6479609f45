"""The main process outside the crawl: start-up before the first request, and the end of a run after the last
analysis (reports, state, snapshot files), each phase's CPU and wall.

    python tests/perf/endofrun.py --mix cross --entries 2000 --rounds 3

The synthetic site (site.py) is crawled once, by ``hub-monitor check`` in this process, to record a real
first night's outcome (the run record and the state, snapshots included); then every round runs
``hub-monitor check`` in a fresh process in which the crawl is replaced by that recorded outcome, into an
empty reports folder (a first night: every snapshot is written). Figures are medians over the rounds:

- start-up: from the process's start to the moment the crawl would begin (interpreter, imports, flags,
  catalog, state); CPU is the process's own (``ru_utime + ru_stime``), wall from the parent's ``fork``.
- each phase after the crawl, as ``_cmd_check`` runs it (wall and CPU of the process: all threads);
- "after the crawl to exit": from the crawl's end to the process's exit as the parent sees it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import pickle
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from any folder: the monitor of this tree

_spec = importlib.util.spec_from_file_location("perf_bench", HERE / "bench.py")
assert _spec is not None and _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
sys.modules["perf_bench"] = bench
_spec.loader.exec_module(bench)

# The phases of _cmd_check after the crawl, by module and function name, in the order they run.
PHASES = (
    ("monitor.reportfile", "load_report"),
    ("monitor.report", "to_json"),
    ("monitor.report", "render_markdown"),
    ("monitor.state", "state_files"),
    ("monitor.atomic", "write_all_atomic"),
    ("monitor.state", "prune_snapshots"),
)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def check_argv(work: Path, catalog: Path, args: argparse.Namespace) -> list[str]:
    reports = work / "reports"
    return [
        "check", str(catalog), "--report", str(reports / "latest.md"), "--json", str(reports / "latest.json"),
        "--state", str(reports / "state.json"), "--today", bench.TODAY, "--confirm-after", "1",
        "--host-concurrency", str(args.host_concurrency), "--max-concurrency", str(args.max_concurrency),
        "--host-request-interval", "0ms", "--fail-on", "never", "--quiet", "--allow-host", "127.0.0.1",
    ]  # fmt: skip


# --- the child processes ---------------------------------------------------------------------------------------


def _record(argv: list[str], out: Path) -> None:
    """Crawl for real and pickle the outcome, each snapshot as its text (a spool cannot be pickled)."""
    from monitor import cli, pipeline
    from monitor.models import TextSnapshot

    real = pipeline.check

    def check(*a: Any, **k: Any) -> Any:
        outcome = real(*a, **k)
        state = outcome.state
        texts = {key: TextSnapshot(snap.text() or "") for key, snap in state.snapshots.items()}
        with out.open("wb") as handle:
            pickle.dump((outcome.run, state.entries, state.updated_at, texts), handle)
        return outcome

    pipeline.check = check
    code = cli.main(argv)
    if code not in (0, 1):
        raise SystemExit(f"the recording check exited {code}")


def _written(snapshots: Any) -> None:
    for snapshot in snapshots:
        staged = getattr(snapshot, "staged", None)
        if staged is not None:
            staged.temp()


def _replay(argv: list[str], recorded: Path, spawned: float) -> None:
    """Run check with the crawl replaced by the recorded outcome; print each phase's figures as JSON."""
    import importlib

    from monitor import cli, pipeline
    from monitor.state import SnapshotSpool, State

    figures: dict[str, Any] = {}

    def check(*a: Any, **k: Any) -> Any:
        figures["startup"] = {"wall": time.time() - spawned, "cpu": _cpu()}
        run, entries, updated_at, texts = pickle.loads(recorded.read_bytes())
        # As a real crawl leaves them: spooled to one temp file, or (with the command's staging) written to
        # temp files beside the state while the crawl went on, which is waited for here and shown apart.
        wall, cpu = time.perf_counter(), _cpu()
        spool = k.get("spool") or SnapshotSpool()
        snapshots: dict[str, Any] = {}
        for key, snap in texts.items():
            snapshots[key] = spool.put(snap.value)
            if len(snapshots) % 100 == 0:  # as pages arrive: never more queued than the staging takes
                _written(snapshots.values())
        _written(snapshots.values())
        figures["snapshots_during_crawl"] = {"wall": time.perf_counter() - wall, "cpu": _cpu() - cpu}
        outcome = pipeline.CheckOutcome(run, State(entries, updated_at, snapshots))
        figures["crawl_end"] = {"wall": time.time(), "cpu": _cpu()}
        return outcome

    def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*a: Any, **k: Any) -> Any:
            wall, cpu = time.perf_counter(), _cpu()
            try:
                return function(*a, **k)
            finally:
                spent = figures.setdefault(name, {"wall": 0.0, "cpu": 0.0})
                spent["wall"] += time.perf_counter() - wall
                spent["cpu"] += _cpu() - cpu

        return wrapper

    pipeline.check = check
    for module_name, name in PHASES:
        module = importlib.import_module(module_name)
        setattr(module, name, timed(name, getattr(module, name)))
    # cli imported write_all_atomic by name at its own import.
    cli.write_all_atomic = sys.modules["monitor.atomic"].write_all_atomic
    real_main = cli.main

    def main(given: list[str] | None = None) -> int:
        code = real_main(given)
        figures["main_returned"] = {"wall": time.time(), "cpu": _cpu()}
        figures["code"] = code
        print(json.dumps(figures), flush=True)
        return code

    # The way the command exits, through its entry point (which calls main by name).
    cli.main = main
    sys.argv = ["hub-monitor", *argv]
    cli.entry_point()


# --- the parent ------------------------------------------------------------------------------------------------


def _replay_once(work: Path, catalog: Path, recorded: Path, args: argparse.Namespace) -> dict[str, Any]:
    shutil.rmtree(work / "reports", ignore_errors=True)
    (work / "reports").mkdir(parents=True)
    argv = check_argv(work, catalog, args)
    spawned = time.time()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", "replay", "--recorded", str(recorded), "--spawned", repr(spawned),
         "--", *argv],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    exited = time.time()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"the replaying check failed ({proc.returncode})")
    figures = json.loads(out.strip().splitlines()[-1])
    total_cpu = usage.ru_utime + usage.ru_stime
    end = figures["crawl_end"]
    figures["after_crawl_to_exit"] = {"wall": exited - end["wall"], "cpu": total_cpu - end["cpu"]}
    figures["after_crawl_to_return"] = {
        "wall": figures["main_returned"]["wall"] - end["wall"], "cpu": figures["main_returned"]["cpu"] - end["cpu"],
    }  # fmt: skip
    return figures


def _row(name: str, rounds: list[dict[str, Any]]) -> str:
    walls = [r[name]["wall"] for r in rounds if name in r]
    cpus = [r[name]["cpu"] for r in rounds if name in r]
    if not walls:
        return f"| {name} | - | - |"
    return (f"| {name} | {statistics.median(walls):.3f} ({min(walls):.3f}-{max(walls):.3f}) | "
            f"{statistics.median(cpus):.3f} ({min(cpus):.3f}-{max(cpus):.3f}) |")


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    if given[:1] == ["--child"]:
        child = argparse.ArgumentParser()
        child.add_argument("--child")
        child.add_argument("--recorded", type=Path)
        child.add_argument("--spawned", type=float, default=0.0)
        child.add_argument("rest", nargs=argparse.REMAINDER)
        opts = child.parse_args(given)
        rest = opts.rest[1:] if opts.rest[:1] == ["--"] else opts.rest
        if opts.child == "record":
            _record(rest, opts.recorded)
        else:
            _replay(rest, opts.recorded, opts.spawned)
        return 0
    parser = argparse.ArgumentParser(description="Start-up and end-of-run phases of hub-monitor check.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None,
                        help="a folder to keep the site's catalog and the recorded outcome in, reused if present")
    args = bench.parse_args(given, parser)
    with tempfile.TemporaryDirectory(prefix="hub-endofrun-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        recorded = work / f"outcome-{args.mix}-{args.entries}-{args.seed}.pickle"
        catalog = work / "site" / "hub.yaml"
        if not recorded.exists():
            site = bench.SiteProcess(work / "site", args.entries, args)
            try:
                subprocess.run(
                    [sys.executable, __file__, "--child", "record", "--recorded", str(recorded), "--",
                     *check_argv(work, catalog, args)],
                    check=True, cwd=ROOT,
                )  # fmt: skip
            finally:
                site.close()
        rounds = [_replay_once(work, catalog, recorded, args) for _ in range(args.rounds)]
        # Every round wrote the same files: the last round's are kept for a byte comparison (--keep).
    print(f"N = {args.entries:,}, mix {args.mix}, {args.rounds} rounds; seconds, median (min-max)\n")
    print("| phase | wall s | CPU s |")
    print("|---|---|---|")
    after = ("after_crawl_to_return", "after_crawl_to_exit")
    for name in ("startup", "snapshots_during_crawl", *(name for _, name in PHASES), *after):
        print(_row(name, rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
