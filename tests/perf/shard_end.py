"""The end of a sharded run: from the moment the main process starts reading the last shard's result to its exit.

    python tests/perf/site.py --entries 2000 --mix cross --pages lean --out /tmp/end/site &   # a synthetic site
    python tests/perf/shard_end.py --site /tmp/end/site --rounds 3 [--baseline /path/to/other/checkout]

Each round runs ``hub-monitor check`` (the benchmark's flags, default shards) into an empty reports folder (a
first night: every snapshot is written), in a child process whose main process marks, with CLOCK_MONOTONIC
(system-wide), when it starts reading each shard's result (a message over 100 KB) and when each phase after the
crawl starts and ends. Printed, medians over the rounds: the wall from the last result's first byte to the exit
(as this process sees it), the main process's CPU over the same stretch (to its exit handlers), and each phase's
wall and CPU. With ``--baseline`` the same rounds run another checkout's ``monitor`` package, interleaved.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# Phases after the crawl, by module and function, as _cmd_check runs them.
PHASES = (
    ("monitor.shards", "_merge"), ("monitor.pipeline", "network_state"), ("monitor.pipeline", "remember"),
    ("monitor.cli", "_write_outputs"), ("monitor.cli", "write_all_atomic"), ("monitor.state", "prune_snapshots"),
)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _child(marks_path: str, argv: list[str]) -> None:
    import importlib
    import pickle
    from multiprocessing.connection import Connection

    from monitor import cli

    out = open(marks_path, "w")  # noqa: SIM115 - written to the process's end

    def mark(name: str) -> None:
        out.write(json.dumps([name, time.monotonic(), _cpu()]) + "\n")
        out.flush()

    def recv(self: Connection) -> Any:
        started, cpu = time.monotonic(), _cpu()
        data = self._recv_bytes().getbuffer()  # type: ignore[attr-defined]
        if len(data) > 100_000:  # a shard's result, not a progress or log message
            out.write(json.dumps(["result", started, cpu]) + "\n")
        return pickle.loads(data)

    Connection.recv = recv  # type: ignore[method-assign]
    for module_name, name in PHASES:
        module = importlib.import_module(module_name)
        function = getattr(module, name)

        def timed(*a: Any, __f: Any = function, __n: str = name, **k: Any) -> Any:
            mark(__n + ">")
            try:
                return __f(*a, **k)
            finally:
                mark(__n + "<")

        setattr(module, name, functools.wraps(function)(timed))
    import atexit

    atexit.register(mark, "exit handlers")
    sys.argv = ["hub-monitor", *argv]
    cli.entry_point()


def _round(site: Path, source: Path, work: Path) -> dict[str, Any]:
    reports = work / "reports"
    shutil.rmtree(reports, ignore_errors=True)
    reports.mkdir(parents=True)
    marks = work / "marks.jsonl"
    argv = ["check", str(site / "hub.yaml"), "--report", str(reports / "latest.md"), "--json",
            str(reports / "latest.json"), "--state", str(reports / "state.json"), "--today", "2026-11-25",
            "--confirm-after", "1", "--host-concurrency", "32", "--max-concurrency", "32", "--host-request-interval",
            "0ms", "--fail-on", "never", "--quiet", "--allow-host", "127.0.0.1"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(source)}
    proc = subprocess.Popen([sys.executable, __file__, "--child", str(marks), "--", *argv], env=env, cwd=work)
    _, status, _ = os.wait4(proc.pid, 0)
    exited = time.monotonic()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"the check exited {os.waitstatus_to_exitcode(status)}")
    rows = [json.loads(line) for line in marks.read_text().splitlines()]
    last = [row for row in rows if row[0] == "result"][-1]
    figures: dict[str, Any] = {"last result to exit": (exited - last[1], rows[-1][2] - last[2])}
    opened: dict[str, tuple[float, float]] = {}
    for name, at, cpu in rows:
        if name.endswith(">"):
            opened[name[:-1]] = (at, cpu)
        elif name.endswith("<"):
            at0, cpu0 = opened.pop(name[:-1])
            figures[name[:-1]] = (at - at0, cpu - cpu0)
    return figures


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[4:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, required=True, help="a folder site.py wrote (hub.yaml)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="another checkout, run in the same rounds")
    args = parser.parse_args()
    sources = {"this tree": ROOT, **({f"baseline {args.baseline}": args.baseline} if args.baseline else {})}
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in sources}
    with tempfile.TemporaryDirectory(prefix="shard-end-") as tmp:
        for _ in range(args.rounds):
            for name, source in sources.items():
                results[name].append(_round(args.site, source, Path(tmp)))
    for name, rounds in results.items():
        print(f"\n{name}: medians of {len(rounds)} (load average {os.getloadavg()[0]:.1f} at the end)")
        print("| phase | wall s | CPU s, main process |\n|---|---|---|")
        for phase in rounds[0]:
            walls = [r[phase][0] for r in rounds if phase in r]
            cpus = [r[phase][1] for r in rounds if phase in r]
            print(f"| {phase} | {statistics.median(walls):.3f} ({min(walls):.3f}-{max(walls):.3f}) | "
                  f"{statistics.median(cpus):.3f} ({min(cpus):.3f}-{max(cpus):.3f}) |")


if __name__ == "__main__":
    main()
