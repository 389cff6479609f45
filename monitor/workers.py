"""Calls run off the event loop, each within a wall-time budget: worker processes spoken to over a socket.

``Pool.call(fn, arg, budget)`` runs ``fn(arg)`` in a worker and returns an asyncio future of its result.
The main process's share of a call is one ``pickle.dumps`` and one ``send``, one ``recv`` and one
``pickle.loads``: the event loop watches each worker's socket (``loop.add_reader``), so no thread of the
main process takes part and none competes with the event loop for the GIL. (A one-process
``ProcessPoolExecutor`` per worker cost the main process 0.8 ms of CPU per call in its management and
feeder threads; this costs about a tenth: tests/perf/analysis_ipc.py.)

Each worker holds up to ``DEPTH`` calls: the one it is running, and the next, already in its socket, so
it never waits for the main process between two calls. The calls held run in order, so the main process
knows when each starts without being told: when it was sent to an idle worker, or when the answer to the
call before it arrived. Its budget runs from then; past it the call fails with ``BudgetSpent``, the
worker is killed and replaced, and the calls it held behind that one go to another worker, untouched. A
worker that dies fails the call it was running with ``WorkerDied``, and only that one. An exception
raised by ``fn`` comes back as ``Raised``.

Workers are started with fork and exec (never a bare fork of a process holding locks) in a process group
of their own, so the terminal's Ctrl-C reaches the main process alone, which ends the run and kills them;
they also ignore SIGINT. The kernel kills them with the main process (PR_SET_PDEATHSIG), so a run killed
with SIGKILL leaves none behind. Before a worker's first call of a function, ``warm(fn)`` runs there
without a budget: importing the function's module and its first-use costs are not the first page's.

``threads=True`` runs each worker as a thread of this process instead (one core, or no way to start
processes): a thread past its budget cannot be killed; it is abandoned to finish on its own.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import pickle
import queue
import signal
import socket
import struct
import subprocess
import sys
import threading
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the worker processes import this module: asyncio would add 0.05-0.1 s CPU to each start
    import asyncio

log = logging.getLogger(__name__)

__all__ = ["BudgetSpent", "Pool", "Raised", "WorkerDied", "serve", "tie_to_parent"]

DEPTH = 2  # calls a worker holds: the one it runs and the next, so it never idles between two
_FRAME = struct.Struct("!I")  # the length of the pickle that follows
_CHUNK = 1 << 18
_PR_SET_PDEATHSIG = 1
# Workers that died before answering their first call, in a row, before the pool gives up on processes.
_FAILED_STARTS = 2
_BOOT = (
    "import sys, json; sys.path[:] = json.loads(sys.argv[1]); "
    "from monitor.workers import serve; serve(int(sys.argv[2]), int(sys.argv[3]))"
)


class BudgetSpent(Exception):
    """The call ran past its budget; its worker was killed (or, a thread, abandoned)."""


class WorkerDied(Exception):
    """The worker running the call ended (out of memory, a crash in a C library, a kill)."""


class Raised(Exception):
    """``fn`` raised: its type, message and traceback, as text (the exception itself may not unpickle)."""

    def __init__(self, kind: str, message: str, trace: str) -> None:
        super().__init__(f"{kind}: {message}" if message else kind)
        self.kind, self.message, self.trace = kind, message, trace

    def __reduce__(self) -> tuple[type[Raised], tuple[str, str, str]]:
        return Raised, (self.kind, self.message, self.trace)  # it crosses from the worker: rebuilt from all three


def _raised(exc: BaseException) -> Raised:
    return Raised(type(exc).__name__, str(exc).strip()[:200], traceback.format_exc())


@dataclass(eq=False)
class _Call:
    fn: Callable[[Any], Any]
    arg: Any
    budget: float | None  # None: no limit (a warm-up)
    future: asyncio.Future[Any] | None  # None: nobody waits for it (a warm-up)
    deadline: asyncio.TimerHandle | None = field(default=None, repr=False)


# --- the worker's side ------------------------------------------------------------------------------------


def serve(fd: int, parent: int) -> None:
    """A worker process's life: answer each call that arrives on socket ``fd`` until the main process goes."""
    tie_to_parent(parent)
    sock = socket.socket(fileno=fd)
    while True:
        header = sock.recv(_FRAME.size, socket.MSG_WAITALL)
        if len(header) < _FRAME.size:
            return  # the main process closed its end: the run is over
        (size,) = _FRAME.unpack(header)
        frame = sock.recv(size, socket.MSG_WAITALL)
        if len(frame) < size:
            return
        try:
            fn, arg = pickle.loads(frame)
            reply = pickle.dumps((True, fn(arg)), pickle.HIGHEST_PROTOCOL)
        except BaseException as exc:  # the edge of one call: whatever it raised is the caller's to judge
            reply = pickle.dumps((False, _raised(exc)), pickle.HIGHEST_PROTOCOL)
        del frame, arg
        sock.sendall(_FRAME.pack(len(reply)) + reply)


def tie_to_parent(parent: int) -> None:
    """Set up a worker or a crawl shard: it must never outlive the run, nor answer the run's Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A run killed with SIGKILL cannot kill its workers: the kernel does (prctl PDEATHSIG). A parent that died
    # while this worker was starting is caught by the check after.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


# --- the main process's side ------------------------------------------------------------------------------


class _Worker:
    """One worker and the calls it holds, in the order it runs them: ``held[0]`` is running."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.held: deque[_Call] = deque()
        self.warmed: set[Callable[[Any], Any]] = set()
        self.answered = False  # at least one call came back: the worker started

    def busy(self) -> bool:
        """Holding a call, or part of one's bytes: it cannot be lent to another run as it is."""
        return bool(self.held)

    def send(self, call: _Call) -> None:
        self.held.append(call)
        if len(self.held) == 1:
            self._started(call)
        self._transmit(call)

    def answered_with(self, ok: bool, value: Any) -> None:
        call = self.held.popleft()
        self.answered = True
        if call.deadline is not None:
            call.deadline.cancel()
        if self.held:
            self._started(self.held[0])  # it was waiting in the worker: it starts now
        if call.future is not None and not call.future.done():
            if ok:
                call.future.set_result(value)
            else:
                call.future.set_exception(value)
        self.pool.dispatch()

    def _started(self, call: _Call) -> None:
        if call.budget is not None:
            call.deadline = self.pool.loop.call_later(call.budget, self._expired, call)

    def _expired(self, call: _Call) -> None:
        if self.held and self.held[0] is call:
            self.pool.lost(self, BudgetSpent(f"past its budget of {call.budget:g} s"))

    def died(self, detail: str) -> None:
        self.pool.lost(self, WorkerDied(detail))

    def _transmit(self, call: _Call) -> None:
        raise NotImplementedError

    def attach(self) -> None:
        """Start watching for answers on the run's event loop."""

    def detach(self) -> None:
        """Stop watching: the run's event loop is ending."""

    def kill(self) -> None:
        raise NotImplementedError

    def reap(self) -> None:
        """Wait for a killed worker's end (at exit): its CPU then counts in the run's own rusage."""

    def alive(self) -> bool:
        return True


class _Process(_Worker):
    def __init__(self, pool: Pool) -> None:
        super().__init__(pool)
        ours, theirs = socket.socketpair()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _BOOT, json.dumps(sys.path), str(theirs.fileno()), str(os.getpid())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, process_group=0,
            )  # fmt: skip
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.setblocking(False)
        self.sock = ours
        self.inbox = bytearray()
        self.buffer = bytearray(_CHUNK)
        self.view = memoryview(self.buffer)
        self.outbox: deque[memoryview] = deque()
        self.watched: asyncio.AbstractEventLoop | None = None

    def attach(self) -> None:
        self.watched = self.pool.loop
        self.watched.add_reader(self.sock.fileno(), self._readable)

    def detach(self) -> None:
        if self.watched is not None:
            self.watched.remove_reader(self.sock.fileno())
            self.watched.remove_writer(self.sock.fileno())
            self.watched = None

    def busy(self) -> bool:
        return bool(self.held or self.inbox or self.outbox)

    def _transmit(self, call: _Call) -> None:
        payload = pickle.dumps((call.fn, call.arg), pickle.HIGHEST_PROTOCOL)
        frame = memoryview(_FRAME.pack(len(payload)) + payload)
        if not self.outbox:
            try:
                frame = frame[self.sock.send(frame):]
            except BlockingIOError:
                pass
            except OSError:
                return  # the worker is gone: its end of the socket reads as closed, and _readable says so
            if not frame:
                return
            self.pool.loop.add_writer(self.sock.fileno(), self._writable)
        self.outbox.append(frame)

    def _writable(self) -> None:
        while self.outbox:
            try:
                sent = self.sock.send(self.outbox[0])
            except BlockingIOError:
                return
            except OSError:
                break
            if sent < len(self.outbox[0]):
                self.outbox[0] = self.outbox[0][sent:]
                return
            self.outbox.popleft()
        self.pool.loop.remove_writer(self.sock.fileno())

    def _readable(self) -> None:
        ended = False
        while True:
            try:
                # Into one buffer kept for the worker's life: recv(n) allocates n bytes each time (and pages of
                # a fresh mapping fault in), which made this line 5% of a whole run's main-process CPU.
                got = self.sock.recv_into(self.buffer)
            except BlockingIOError:
                break
            except OSError:
                got = 0
            if not got:
                ended = True  # answers that arrived before the end are still read below
                break
            self.inbox += self.view[:got]
            if got < _CHUNK:
                break
        while len(self.inbox) >= _FRAME.size:
            (size,) = _FRAME.unpack_from(self.inbox)
            end = _FRAME.size + size
            if len(self.inbox) < end:
                break
            try:
                with memoryview(self.inbox) as view:
                    ok, value = pickle.loads(view[_FRAME.size:end])
            except Exception as exc:  # an answer that cannot be unpickled: that call's failure, no more
                ok, value = False, _raised(exc)
            del self.inbox[:end]
            self.answered_with(ok, value)
        if ended:
            self.died(self._end())

    def _end(self) -> str:
        try:
            # Its socket closed as it ended: its exit status follows within moments (a rare wait, worth the
            # signal's name: SIGKILL is most often the kernel's out-of-memory killer).
            code: int | None = self.proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            code = None
        if code is not None and code < 0:
            with contextlib.suppress(ValueError):
                return f"the analysis worker was killed by {signal.Signals(-code).name}"
        return "the analysis worker ended" + (f" with exit code {code}" if code is not None else "")

    def kill(self) -> None:
        self.detach()
        with contextlib.suppress(OSError):
            self.proc.kill()
        self.sock.close()

    def reap(self) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=2)

    def alive(self) -> bool:
        return self.proc.poll() is None


class _Thread(_Worker):
    def __init__(self, pool: Pool) -> None:
        super().__init__(pool)
        self.inbox: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self.abandoned = False
        threading.Thread(target=self._serve, name="analysis", daemon=True).start()

    def _transmit(self, call: _Call) -> None:
        self.inbox.put(call)

    def _serve(self) -> None:
        while (call := self.inbox.get()) is not None:
            try:
                ok, value = True, call.fn(call.arg)
            except BaseException as exc:  # the edge of one call, as in a process
                ok, value = False, _raised(exc)
            if self.abandoned:
                return
            with contextlib.suppress(RuntimeError):  # the run's loop is closed: nobody waits any more
                self.pool.loop.call_soon_threadsafe(self._answer, ok, value)

    def _answer(self, ok: bool, value: Any) -> None:
        if not self.abandoned:
            self.answered_with(ok, value)

    def kill(self) -> None:
        self.abandoned = True  # every step of a call is bounded: the thread ends when its call does
        self.inbox.put(None)


class Pool:
    """``count`` workers, kept for the life of the program and lent to one run (event loop) at a time."""

    def __init__(self, count: int, *, threads: bool, warm: Callable[[Callable[[Any], Any]], Any]) -> None:
        self.count = count
        self.threads = threads
        self.warm = warm
        self.workers: list[_Worker] = []
        self.waiting: deque[_Call] = deque()
        self.loop: asyncio.AbstractEventLoop  # the run's, set by attach
        self._failed_starts = 0

    def attach(self) -> None:
        """Lend the workers to the run whose event loop is running (started here, the first time)."""
        import asyncio  # the main process has it already; see the top of the module for why it is here

        self.loop = asyncio.get_running_loop()
        for worker in [w for w in self.workers if not w.alive()]:
            # Ended since the last run (the out-of-memory killer, say): replaced before it is sent a page that
            # would then be charged with its death.
            worker.kill()
            self.workers.remove(worker)
        while len(self.workers) < self.count:
            self.workers.append(self._new())
        for worker in self.workers:
            worker.attach()

    def detach(self) -> None:
        """The run is over: workers still holding a call are killed, so the next run starts clean."""
        for call in self.waiting:
            if call.future is not None:
                call.future.cancel()
        self.waiting.clear()
        for worker in list(self.workers):
            for call in worker.held:
                if call.deadline is not None:
                    call.deadline.cancel()
            if worker.busy():
                worker.kill()
                self.workers.remove(worker)
            else:
                worker.detach()

    def forsake(self) -> None:
        """In a process forked from the pool's (a crawl shard): the workers are the parent's, neither to be
        used (their answers go to whoever reads first) nor killed; only this process's ends are closed."""
        workers, self.workers = self.workers, []
        for worker in workers:
            if isinstance(worker, _Process):
                worker.sock.close()

    def close(self) -> None:
        workers, self.workers = self.workers, []
        for worker in workers:
            worker.kill()
        for worker in workers:
            worker.reap()

    def call(self, fn: Callable[[Any], Any], arg: Any, budget: float) -> asyncio.Future[Any]:
        future = self.loop.create_future()
        self.waiting.append(_Call(fn, arg, budget, future))
        self.dispatch()
        return future

    def dispatch(self) -> None:
        while self.waiting:
            call = self.waiting[0]
            if call.future is not None and call.future.done():  # cancelled while it waited
                self.waiting.popleft()
                continue
            worker = min(self.workers, key=lambda w: len(w.held))
            room = DEPTH - len(worker.held) - (call.fn not in worker.warmed)
            if room <= 0:
                return
            self.waiting.popleft()
            if call.fn not in worker.warmed:
                worker.warmed.add(call.fn)
                worker.send(_Call(self.warm, call.fn, None, None))
            worker.send(call)

    def lost(self, worker: _Worker, why: Exception) -> None:
        """``worker`` is gone (or past a budget): its running call fails with ``why``, the others go again."""
        if worker not in self.workers:
            return  # already replaced
        worker.kill()
        held, worker.held = list(worker.held), deque()
        for call in held:
            if call.deadline is not None:
                call.deadline.cancel()
        started = worker.answered or isinstance(why, BudgetSpent)
        self._failed_starts = 0 if started else self._failed_starts + 1
        if held and held[0].future is not None:
            # The call it was running is the one that failed (a worker that died idle, between two runs, had none).
            running = held.pop(0)
            if not running.future.done():
                running.future.set_exception(why)
        # The calls behind it never started: another worker reads them, on a budget of their own.
        self.waiting.extendleft(reversed([call for call in held if call.future is not None]))
        self.workers[self.workers.index(worker)] = fresh = self._new()
        fresh.attach()
        self.dispatch()

    def _new(self) -> _Worker:
        if not self.threads and self._failed_starts >= _FAILED_STARTS:
            log.warning("analysis worker processes die as they start: reading pages in threads")
            self.threads = True
        if not self.threads:
            try:
                return _Process(self)
            except OSError as exc:  # a sandbox without fork/exec, no more processes allowed
                log.warning("cannot start analysis worker processes (%s): reading pages in threads", exc)
                self.threads = True
        return _Thread(self)
