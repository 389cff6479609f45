"""What one run remembers for the next: `reports/state.json` and `reports/snapshots/<id>.txt`.

Reading and writing happen at the edges (`load_state`, `save_state`); `remember` is a pure function
from the previous state and tonight's results to the next state, with the findings marked confirmed
(or not) and dated. A night whose network was unavailable never reaches `remember`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import IO, Any, TypeVar, get_args, get_origin, get_type_hints

from monitor.atomic import FileData, StagedFile, Staging, write_all_atomic
from monitor.findings import NEEDS_CONFIRMATION, Finding
from monitor.inputfile import SNAPSHOT_LIMIT, STATE_LIMIT, InputFileError, read_capped
from monitor.jsontext import json_pieces, may_hold_surrogates, without_lone_surrogates
from monitor.models import Change, EntryResult, FetchResult, PageText, Remembered, Snapshot, TextSnapshot

SCHEMA = 1

log = logging.getLogger(__name__)


@dataclass
class EntryState:
    url: str | None = None
    first_seen: str | None = None
    last_checked: str | None = None
    last_ok: str | None = None
    consecutive_failures: int = 0
    failing_since: str | None = None
    last_status: int | None = None
    final_url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    watched_hash: str | None = None
    title: str | None = None
    heading: str | None = None
    status_sentence: str | None = None
    # Whether the URL's #fragment was on the page, so a 304 night can still judge the anchor.
    fragment_found: bool | None = None
    js_rendered: bool = False
    # Finding code -> the date it was first seen, for every finding open after the last run.
    findings: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FileSnapshot:
    """A snapshot file the last run wrote (reports/snapshots/<id>.txt), read only when asked."""

    path: Path

    def text(self) -> str | None:
        try:
            return read_capped(self.path, SNAPSHOT_LIMIT).decode("utf-8")
        except (InputFileError, UnicodeDecodeError):
            return None


class SnapshotSpool:
    """Tonight's new snapshots, appended to one anonymous temp file as pages arrive, or with a ``Staging``
    written to their own temp files beside the snapshots, ready for ``save``'s rename.

    A run of ten thousand pages then holds offsets, not texts (a snapshot is tens of KB), until the state
    is written. The file has no name, so a killed run leaves nothing behind; it is deleted when closed.
    """

    def __init__(self, staging: Staging | None = None) -> None:
        self._file: IO[bytes] | None = None
        self._end = 0
        self._failed = False
        self._staging = staging

    def put(self, text: str) -> Snapshot:
        """Where ``text`` is kept: in a staged file, in the spool, or in memory if the spool cannot be written
        (a full /tmp)."""
        staged = self._stage(text)
        if staged is not None:
            return StagedSnapshot(staged)
        if self._failed:
            return TextSnapshot(text)
        data = text.encode("utf-8", "surrogatepass")
        try:
            if self._file is None:
                # Not a context manager: the spool lives as long as the snapshots that point into it.
                self._file = tempfile.TemporaryFile()  # noqa: SIM115
            self._file.seek(self._end)
            self._file.write(data)
        except OSError as exc:
            self._failed = True
            log.warning("cannot spool page snapshots to a temp file (%s); keeping them in memory", exc)
            return TextSnapshot(text)
        snapshot = SpooledSnapshot(self, self._end, len(data))
        self._end += len(data)
        return snapshot

    def lend_staging(self) -> Path | None:
        """The folder where crawl shards may stage tonight's snapshot files themselves (see `Staging.lend`);
        None when this spool stages none."""
        return self._staging.lend() if self._staging is not None else None

    def _stage(self, text: str) -> StagedFile | None:
        if self._staging is None:
            return None
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:
            return None  # a lone surrogate: spooled as before, and refused (as before) when the file is written
        return self._staging.stage(data)

    def read(self, offset: int, length: int) -> str:
        assert self._file is not None, "nothing was spooled"
        self._file.seek(offset)
        return self._file.read(length).decode("utf-8", "surrogatepass")


@dataclass(frozen=True)
class SpooledSnapshot:
    spool: SnapshotSpool
    offset: int
    length: int

    def text(self) -> str | None:
        return self.spool.read(self.offset, self.length)


@dataclass(frozen=True)
class StagedSnapshot:
    """A snapshot already in its temp file beside tonight's snapshots (or queued to be)."""

    staged: StagedFile

    def text(self) -> str | None:
        try:
            return self.staged.content().decode("utf-8")
        except OSError:
            return None


@dataclass
class State:
    entries: dict[str, EntryState] = field(default_factory=dict)
    updated_at: str | None = None
    # Each entry's watched text, kept beside the state as reports/snapshots/<id>.txt and read on demand.
    snapshots: dict[str, Snapshot] = field(default_factory=dict)


@dataclass
class LoadedState:
    state: State
    warning: str | None = None


def load_state(path: Path) -> LoadedState:
    """Read the state file; a corrupt one is moved aside (never lost) and the run starts fresh."""
    try:
        data = read_capped(path, STATE_LIMIT)
    except InputFileError as exc:
        if exc.missing:
            return LoadedState(State())
        data, error = None, exc.reason
    try:
        if data is None:
            raise ValueError(error)
        # A valid JSON array 2,000 deep raises RecursionError: the file is as unusable as a torn one.
        text = data.decode("utf-8")
        state = _from_json(json.loads(text), clean=without_lone_surrogates if may_hold_surrogates(text) else _same)
    except (UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        aside = path.with_name(f"{path.name}.corrupt")
        try:
            os.replace(path, aside)
            where = f"moved aside to {aside}"
        except OSError:
            where = "left in place"
        return LoadedState(State(), f"state file {path} is unreadable ({exc}); {where}; starting fresh")
    state.snapshots = _load_snapshots(path.parent / "snapshots", state.entries)
    return LoadedState(state)


def _from_json(raw: Any, clean: Callable[[Any], Any]) -> State:
    if not isinstance(raw, dict) or raw.get("schema") != SCHEMA:
        raise ValueError(f"expected a state object with schema {SCHEMA}")
    entries_raw = raw.get("entries")
    if not isinstance(entries_raw, dict):
        raise ValueError("'entries' is not an object")
    entries: dict[str, EntryState] = {}
    for entry_id, data in entries_raw.items():
        if not isinstance(data, dict):
            raise ValueError(f"entry {entry_id!r} is not an object")
        for key, value in data.items():
            # A value of the wrong type would fail later, in the middle of a run (an ETag that is not text
            # cannot become a request header): the file counts as corrupt here, where that is handled.
            fits = _FITS.get(key)
            if fits is not None and not fits(value):
                raise ValueError(f"entry {entry_id!r}: {key} is {type(value).__name__}, not {_FIELD_TYPES[key]}")
            # A negative count would keep a dead link unconfirmed for nights (-5 + 1 is still below 2).
            if isinstance(value, int) and not isinstance(value, bool) and value < 0:
                raise ValueError(f"entry {entry_id!r}: {key} is negative ({value})")
        known = {k: clean(v) for k, v in data.items() if k in _FIELD_TYPES}
        for key in _VALIDATORS:
            # Sent back as If-None-Match / If-Modified-Since: one that cannot be a header value (a line break,
            # a control character, past a server's 8 KiB) would fail the request and read as the server's
            # fault. Without it the fetch is unconditional, which is always correct.
            if isinstance(known.get(key), str) and not _header_safe(known[key]):
                known[key] = None
        entries[clean(str(entry_id))] = EntryState(**known)
    updated = raw.get("updated_at")
    return State(entries=entries, updated_at=clean(updated) if isinstance(updated, str) else None)


def _same(value: Any) -> Any:
    return value  # no lone surrogate in the file (see may_hold_surrogates)


_FIELD_TYPES: dict[str, Any] = get_type_hints(EntryState)
_VALIDATORS = ("etag", "last_modified")


def _header_safe(value: str) -> bool:
    return len(value) <= 1024 and all(" " <= c <= "~" or c == "\t" for c in value)


def _fits(hint: Any) -> Callable[[object], bool]:
    """Whether a value is of the type ``hint`` (a field's annotation), as a function made once per field:
    a state of 2,000 entries checks 34,000 values, and reading the annotation each time was most of that."""
    if isinstance(hint, types.UnionType):
        kinds = get_args(hint)
        if all(isinstance(kind, type) and kind is not int and get_origin(kind) is None for kind in kinds):
            return lambda value: isinstance(value, kinds)  # "str | None": one isinstance of the tuple
        parts = tuple(_fits(part) for part in kinds)
        return lambda value: any(fits(value) for fits in parts)
    if get_origin(hint) is dict:
        key_fits, value_fits = (_fits(part) for part in get_args(hint))
        return lambda value: isinstance(value, dict) and all(key_fits(k) and value_fits(v) for k, v in value.items())
    if hint is int:
        return lambda value: isinstance(value, int) and not isinstance(value, bool)  # JSON true is not a count
    return lambda value: isinstance(value, hint)


_FITS = {name: _fits(hint) for name, hint in _FIELD_TYPES.items()}


def _load_snapshots(folder: Path, entries: dict[str, EntryState]) -> dict[str, Snapshot]:
    # Only where each file is: a run reads a snapshot when a page changed (for the diff) or answered 304.
    try:
        with os.scandir(folder) as found:
            names = {item.name for item in found}
    except OSError:
        return {}
    return {entry_id: FileSnapshot(folder / f"{entry_id}.txt") for entry_id in entries if f"{entry_id}.txt" in names}


def save_state(path: Path, state: State) -> None:
    previous = load_state(path).state if path.is_file() else State()
    write_all_atomic(state_files(path, state))
    prune_snapshots(path, state, previous)


def state_files(path: Path, state: State) -> list[tuple[Path, FileData]]:
    """The files that hold ``state``: changed snapshots first, the state file last, so that when they are
    written in this order the state never names a snapshot that is not on disk.

    A snapshot's text is read when its file is written, one at a time, so writing ten thousand of them
    never holds them all in memory.
    """
    folder = path.parent / "snapshots"
    files: list[tuple[Path, FileData]] = []
    for entry_id, snapshot in sorted(state.snapshots.items()):
        target = folder / f"{entry_id}.txt"
        if isinstance(snapshot, FileSnapshot) and snapshot.path == target:
            continue  # the last run's file, still what the page says
        staged = snapshot.staged if isinstance(snapshot, StagedSnapshot) else None
        files.append((target, staged if staged is not None and staged.folder == folder else _reader(snapshot)))
    files.append((path, lambda: _state_text(state)))
    return files


def _state_text(state: State) -> Iterable[str]:
    # Built only when the file is written, after the reports: the JSON report's text is gone by then.
    payload = {
        "schema": SCHEMA,
        "updated_at": state.updated_at,
        "entries": {k: _entry_json(v) for k, v in sorted(state.entries.items())},
    }
    return json_pieces(payload)


def _entry_json(entry: EntryState) -> dict[str, Any]:
    # What asdict() gives, without its deep copy of every value (a tenth of the state's writing): the fields
    # are text, numbers and one mapping of text to text, which the encoder only reads.
    return {name: getattr(entry, name) for name in _FIELD_NAMES}


_FIELD_NAMES = tuple(f.name for f in fields(EntryState))


def _reader(snapshot: Snapshot) -> FileData:
    def read() -> str:
        text = snapshot.text()
        # Only a file of an earlier run can become unreadable, and those are never rewritten.
        assert text is not None, f"snapshot {snapshot!r} is unreadable"
        return text

    return read


def prune_snapshots(path: Path, state: State, previous: State) -> None:
    """Delete the snapshots of entries the previous state had and `state` no longer has.

    Only files the tool wrote: a snapshot of an entry the previous state remembered. Any other file in the
    folder (someone's notes.txt) is not the tool's, and stays.
    """
    folder = path.parent / "snapshots"
    for entry_id in previous.snapshots.keys() - state.entries.keys():
        with contextlib.suppress(OSError):
            (folder / f"{entry_id}.txt").unlink(missing_ok=True)


def remembered(state: State, entry_id: str, url: str | None) -> Remembered | None:
    """The last run's view of the page, if it was of the same URL."""
    prev = state.entries.get(entry_id)
    if prev is None or prev.url != url or prev.watched_hash is None:
        return None
    return Remembered(
        title=prev.title,
        watched_hash=prev.watched_hash,
        status_sentence=prev.status_sentence,
        snapshot=state.snapshots.get(entry_id),
    )


def validators(state: State, urls: dict[str, str | None]) -> dict[str, tuple[str | None, str | None]]:
    """ETag / Last-Modified to send for each URL whose last answer was a complete success."""
    out: dict[str, tuple[str | None, str | None]] = {}
    for entry_id, url in urls.items():
        prev = state.entries.get(entry_id)
        if url is None or prev is None or prev.url != url or prev.watched_hash is None:
            continue
        # A 304 means "what you have is still right": without last night's snapshot there is nothing to
        # rebuild the page from, and the entry would never be analysed again. Ask for the page instead.
        if entry_id not in state.snapshots:
            continue
        if prev.consecutive_failures == 0 and (prev.etag or prev.last_modified):
            out[url] = (prev.etag, prev.last_modified)
    return out


def page_from_state(state: State, entry_id: str, fragment: str | None) -> PageText | None:
    """Rebuild what the page said from memory, for a 304 answer."""
    prev = state.entries.get(entry_id)
    snapshot = state.snapshots.get(entry_id)
    text = snapshot.text() if snapshot is not None else None
    if prev is None or text is None:
        return None
    ids = frozenset({fragment}) if fragment and prev.fragment_found else frozenset()
    return PageText(
        title=prev.title or "",
        heading=prev.heading or "",
        text=text,
        watched=text,
        ids=ids,
        js_rendered=prev.js_rendered,
    )


@dataclass(frozen=True)
class PageFacts:
    """What the state derives from a page, computed while the page is at hand so it can be dropped."""

    watched_hash: str
    status_sentence: str | None
    snapshot: Snapshot  # the watched text, to be written as the entry's snapshot


@dataclass
class Remembrance:
    state: State
    results: list[EntryResult]
    new: list[Change]
    resolved: list[Change]


def remember(
    previous: State,
    results: list[EntryResult],
    fetches: dict[str, FetchResult],
    *,
    today: str,
    now: str,
    confirm_after: int,
    fingerprint: Any,
    status_sentence: Any = None,
    facts: dict[str, PageFacts] | None = None,
) -> Remembrance:
    """Next state and tonight's findings, confirmed and dated.

    A failure (dead-link, timeout...) is confirmed only after `confirm_after` consecutive failing runs;
    content findings are confirmed at once. Entries not checked tonight keep their memory untouched.
    `fingerprint(text) -> str` is the noise-insensitive hash the drift rules compare; `facts` (by entry id)
    gives the hash and status sentence already computed, for pages whose full text was not kept.
    """
    entries: dict[str, EntryState] = {}
    snapshots: dict[str, Snapshot] = {}
    out: list[EntryResult] = []
    new: list[Change] = []
    resolved: list[Change] = []
    for result in results:
        entry = result.entry
        prev = previous.entries.get(entry.id)
        if not result.checked:
            if prev is not None:
                entries[entry.id] = prev
                if entry.id in previous.snapshots:
                    snapshots[entry.id] = previous.snapshots[entry.id]
            out.append(result)
            continue
        same_url = prev is not None and prev.url == entry.url
        base = prev if (prev is not None and same_url) else EntryState(url=entry.url, first_seen=today)
        failing = any(f.code in NEEDS_CONFIRMATION for f in result.findings)
        streak = base.consecutive_failures + 1 if failing else 0
        since = (base.failing_since or today) if failing else None
        opened = dict(base.findings)
        dated: list[Finding] = []
        for finding in result.findings:
            first = opened.get(finding.code.value, today)
            confirmed = finding.code not in NEEDS_CONFIRMATION or streak >= confirm_after
            evidence = finding.evidence
            if finding.code in NEEDS_CONFIRMATION:
                first = since or first
                evidence = {**evidence, "failing_runs": str(streak)}
            dated.append(_changed(finding, confirmed=confirmed, first_seen=first, evidence=evidence))
        codes_now = {f.code.value: f.first_seen or today for f in dated}
        for code in sorted(set(codes_now) - set(base.findings)):
            new.append(Change(entry.id, code))
        for code in sorted(set(base.findings) - set(codes_now)):
            resolved.append(Change(entry.id, code))
        fetch = fetches.get(entry.url) if entry.url else None
        next_state = _changed(
            base,
            url=entry.url,
            first_seen=base.first_seen or today,
            last_checked=now,
            consecutive_failures=streak,
            failing_since=since,
            findings=codes_now,
        )
        if fetch is not None:
            page = result.page
            known = (facts or {}).get(entry.id)
            if known is None and page is not None:
                known = _facts_from(page, fingerprint, status_sentence)
            next_state = _with_fetch(next_state, fetch, page, entry.url, failing, today, known)
            if known is not None and page is not None and not failing:
                snapshots[entry.id] = known.snapshot
            elif entry.id in previous.snapshots and same_url:
                snapshots[entry.id] = previous.snapshots[entry.id]
        entries[entry.id] = next_state
        out.append(replace_findings(result, dated))
    return Remembrance(State(entries=entries, updated_at=now, snapshots=snapshots), out, new, resolved)


def _with_fetch(
    st: EntryState,
    fetch: FetchResult,
    page: PageText | None,
    url: str | None,
    failing: bool,
    today: str,
    known: PageFacts | None,
) -> EntryState:
    st = _changed(st, last_status=fetch.status, final_url=fetch.final_url)
    if fetch.not_modified and page is None:
        # A 304 for a page whose snapshot could not be read (damaged since): nothing was analysed. Forget the
        # validators, so that the next run asks for the page itself instead of another 304 forever.
        return _changed(st, etag=None, last_modified=None)
    if failing or page is None or known is None:
        # Never cache a failure: validators and page memory stay those of the last good answer.
        return st
    fragment = url.split("#", 1)[1] if url and "#" in url else None
    return _changed(
        st,
        last_ok=today,
        etag=fetch.headers.get("etag") or (st.etag if fetch.not_modified else None),
        last_modified=fetch.headers.get("last-modified") or (st.last_modified if fetch.not_modified else None),
        watched_hash=known.watched_hash,
        title=page.title,
        heading=page.heading,
        status_sentence=known.status_sentence,
        fragment_found=(fragment in page.ids) if fragment else None,
        js_rendered=page.js_rendered,
    )


def _facts_from(page: PageText, fingerprint: Any, status_sentence: Any) -> PageFacts:
    return PageFacts(fingerprint(page.watched), status_sentence(page.text) if status_sentence else None,
                     TextSnapshot(page.watched))


def replace_findings(result: EntryResult, findings: list[Finding]) -> EntryResult:
    return _changed(result, findings=findings)


_T = TypeVar("_T")


def _changed(value: _T, **changes: Any) -> _T:
    """``dataclasses.replace(value, **changes)`` for the plain dataclasses `remember` copies (an entry's state,
    result and findings: no ``__post_init__``, no init-only fields, no slots), at a third of its cost: it
    rebuilt and checked every field's keyword for each of the 8,000 copies of a 2,000-entry night (60 ms of
    the end of a run). A name that is not a field is an error here too."""
    fields_of = _FIELDS_OF.get(type(value))
    if fields_of is None:
        fields_of = _FIELDS_OF[type(value)] = frozenset(f.name for f in fields(value))  # type: ignore[arg-type]
    if not fields_of.issuperset(changes):
        raise TypeError(f"{type(value).__name__} has no field(s) {sorted(set(changes) - fields_of)}")
    copy = object.__new__(type(value))
    copy.__dict__.update(value.__dict__)
    copy.__dict__.update(changes)
    return copy


_FIELDS_OF: dict[type, frozenset[str]] = {}
