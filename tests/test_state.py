import json
import os
import tempfile

import pytest

from monitor.atomic import Staging
from monitor.findings import Code, Finding
from monitor.models import Entry, EntryResult, FetchResult, PageText
from monitor.state import EntryState, SnapshotSpool, State, load_state, remember, save_state, validators

ENTRY = Entry(id="guide", section="Learning Resources", title="Guide", url="https://example.org/guide")


def _fp(text: str) -> str:
    return f"h:{text}"


def _night(state: State, findings: list[Finding], today: str, page: PageText | None = None, **fetch):
    fetched = FetchResult(url=ENTRY.url, final_url=ENTRY.url, status=fetch.pop("status", 200), **fetch)
    result = EntryResult(ENTRY, findings, page=page)
    return remember(state, [result], {ENTRY.url: fetched}, today=today, now=today + "T03:00:00Z",
                    confirm_after=2, fingerprint=_fp)


def test_failure_is_confirmed_only_on_the_second_consecutive_night():
    dead = Finding(Code.DEAD_LINK, "404")
    first = _night(State(), [dead], "2026-11-24", status=404)
    [f1] = first.results[0].findings
    assert (f1.confirmed, f1.first_seen, f1.evidence["failing_runs"]) == (False, "2026-11-24", "1")
    second = _night(first.state, [dead], "2026-11-25", status=404)
    [f2] = second.results[0].findings
    assert (f2.confirmed, f2.first_seen) == (True, "2026-11-24")
    assert second.state.entries["guide"].consecutive_failures == 2
    assert second.state.entries["guide"].failing_since == "2026-11-24"


def test_a_good_night_resets_the_failure_streak_and_reports_resolution():
    dead = Finding(Code.DEAD_LINK, "404")
    first = _night(State(), [dead], "2026-11-24", status=404)
    good = _night(first.state, [], "2026-11-25", page=PageText(title="Guide", watched="text"))
    assert good.state.entries["guide"].consecutive_failures == 0
    assert [(c.entry_id, c.code) for c in good.resolved] == [("guide", "dead-link")]
    assert good.state.entries["guide"].last_ok == "2026-11-25"


def test_content_findings_are_confirmed_at_once():
    changed = Finding(Code.STATUS_CHANGED, "now closed")
    night = _night(State(), [changed], "2026-11-25", page=PageText(watched="x"))
    assert night.results[0].findings[0].confirmed
    assert [(c.entry_id, c.code) for c in night.new] == [("guide", "status-changed")]


def test_failure_never_caches_validators():
    ok = _night(State(), [], "2026-11-24", page=PageText(watched="a"), headers={"etag": '"v1"'})
    assert validators(ok.state, {"guide": ENTRY.url}) == {ENTRY.url: ('"v1"', None)}
    failed = _night(ok.state, [Finding(Code.HTTP_ERROR, "500")], "2026-11-25", status=500,
                    headers={"etag": '"broken"'})
    assert failed.state.entries["guide"].etag == '"v1"'
    assert validators(failed.state, {"guide": ENTRY.url}) == {}


def test_state_and_snapshots_round_trip(tmp_path):
    night = _night(State(), [], "2026-11-25", page=PageText(title="Guide", watched="the watched text"))
    path = tmp_path / "state.json"
    save_state(path, night.state)
    assert (tmp_path / "snapshots" / "guide.txt").read_text() == "the watched text"
    loaded = load_state(path)
    assert loaded.warning is None
    assert loaded.state.entries["guide"].watched_hash == "h:the watched text"
    assert loaded.state.snapshots["guide"].text() == "the watched text"


def test_corrupt_state_is_moved_aside_with_a_warning(tmp_path):
    path = tmp_path / "state.json"
    path.write_text('{"schema": 1, "entries": {"guide": ')
    loaded = load_state(path)
    assert loaded.state.entries == {}
    assert "moved aside" in loaded.warning
    assert (tmp_path / "state.json.corrupt").read_text().startswith('{"schema": 1')


def test_entry_removed_from_catalog_is_forgotten_with_its_snapshot(tmp_path):
    night = _night(State(), [], "2026-11-25", page=PageText(watched="w"))
    path = tmp_path / "state.json"
    save_state(path, night.state)
    save_state(path, State(entries={}, updated_at="x"))
    assert json.loads(path.read_text())["entries"] == {}
    assert not (tmp_path / "snapshots" / "guide.txt").exists()


def test_new_url_for_an_entry_starts_a_fresh_memory():
    dead = Finding(Code.DEAD_LINK, "404")
    first = _night(State(), [dead], "2026-11-24", status=404)
    moved = Entry(id="guide", section="Learning Resources", title="Guide", url="https://example.org/new")
    result = EntryResult(moved, [dead])
    again = remember(first.state, [result], {moved.url: FetchResult(url=moved.url, final_url=moved.url, status=404)},
                     today="2026-11-25", now="n", confirm_after=2, fingerprint=_fp)
    assert again.results[0].findings[0].confirmed is False


def test_spooled_snapshots_read_back_as_written():
    spool = SnapshotSpool()
    texts = ["Applications open soon.", "Überblick — “quoted”\n\nline", "", "x" * 100_000]
    snapshots = [spool.put(text) for text in texts]
    assert [s.text() for s in reversed(snapshots)] == list(reversed(texts))


def test_a_full_temp_folder_keeps_snapshots_in_memory_instead(monkeypatch, caplog):
    def full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryFile", full)
    spool = SnapshotSpool()
    snapshots = [spool.put(f"text {i}") for i in range(3)]
    assert [s.text() for s in snapshots] == ["text 0", "text 1", "text 2"]
    assert caplog.text.count("keeping them in memory") == 1


def test_a_state_file_nested_too_deeply_is_moved_aside(tmp_path):
    # B21: valid JSON, but 2,000 arrays deep: json.loads raised RecursionError every night.
    path = tmp_path / "state.json"
    path.write_text('{"schema": 1, "entries": {}, "x": ' + "[" * 2000 + "]" * 2000 + "}")
    loaded = load_state(path)
    assert loaded.state.entries == {} and "moved aside" in loaded.warning
    assert (tmp_path / "state.json.corrupt").exists() and not path.exists()


def test_a_lone_surrogate_in_the_state_is_replaced_and_the_state_written_again(tmp_path):
    # B22: "\ud800" is valid JSON but not UTF-8: writing the state back failed at the end of every run.
    path = tmp_path / "state.json"
    path.write_text('{"schema": 1, "entries": {"guide": {"url": "https://example.org/guide", "title": "a\\ud800b",'
                    ' "findings": {"dead-link": "2026-11-2\\udfff"}}}}')
    loaded = load_state(path)
    assert loaded.warning is None
    assert loaded.state.entries["guide"].title == "a\ufffdb"
    save_state(path, loaded.state)
    written = json.loads(path.read_text(encoding="utf-8"))["entries"]["guide"]
    assert written["findings"] == {"dead-link": "2026-11-2\ufffd"}


def test_validators_are_sent_only_with_a_snapshot_to_fall_back_on(tmp_path):
    # B10: a 304 without last night's text would leave the entry unanalysed for good.
    night = _night(State(), [], "2026-11-25", page=PageText(watched="w"), headers={"etag": '"v1"'})
    path = tmp_path / "state.json"
    save_state(path, night.state)
    assert validators(load_state(path).state, {"guide": ENTRY.url}) == {ENTRY.url: ('"v1"', None)}
    (tmp_path / "snapshots" / "guide.txt").unlink()
    assert validators(load_state(path).state, {"guide": ENTRY.url}) == {}


def test_a_negative_count_in_the_state_is_corrupt_not_a_dead_link_hidden_for_nights(tmp_path):
    # Found by the re-run of the hostile battery: consecutive_failures -5 kept a 404 unconfirmed, exit 0.
    path = tmp_path / "state.json"
    path.write_text('{"schema": 1, "entries": {"guide": {"url": "https://example.org/guide", '
                    '"consecutive_failures": -5}}}')
    loaded = load_state(path)
    assert loaded.state.entries == {} and "consecutive_failures is negative" in loaded.warning


def test_a_validator_that_cannot_be_a_header_is_dropped_and_the_fetch_is_unconditional(tmp_path):
    # Found by the re-run of the hostile battery: a hand-edited ETag with a line break, or one of 100,000
    # bytes, was sent back as If-None-Match and the entry read "unreachable" (or a 431 "dead link").
    night = _night(State(), [], "2026-11-25", page=PageText(watched="w"), headers={"etag": '"v1"'})
    path = tmp_path / "state.json"
    save_state(path, night.state)
    good = json.loads(path.read_text())
    for etag, modified in [("a\r\nX-Evil: 1", None), ("x" * 100_000, None), ('"v1"', "a\nb"), ("\x00", "\x7f")]:
        good["entries"]["guide"].update(etag=etag, last_modified=modified)
        path.write_text(json.dumps(good))
        loaded = load_state(path)
        assert loaded.warning is None  # the rest of the entry's memory is kept
        assert validators(loaded.state, {"guide": ENTRY.url}).get(ENTRY.url, (None, None))[1] is None
        kept = validators(loaded.state, {"guide": ENTRY.url}).get(ENTRY.url)
        assert kept in (None, ('"v1"', None))


def _staged_state(tmp_path, texts, staging):
    spool = SnapshotSpool(staging)
    snapshots = {f"e{i}": spool.put(text) for i, text in enumerate(texts)}
    entries = {key: EntryState(url=f"https://example.org/{key}") for key in snapshots}
    return State(entries=entries, updated_at="now", snapshots=snapshots)


def test_snapshots_staged_during_the_run_are_the_same_files_as_spooled_ones(tmp_path):
    texts = ["Applications open soon.", "Überblick — “quoted”\n\nline", "", "x" * 100_000, "a\ud800b"]
    spooled, staged = tmp_path / "spooled", tmp_path / "staged"
    plain = _staged_state(tmp_path, texts[:-1], None)
    save_state(spooled / "state.json", plain)
    with Staging(staged / "snapshots", backlog=2) as staging:  # a small backlog: some go to the spool instead
        state = _staged_state(tmp_path, texts[:-1], staging)
        assert [s.text() for s in state.snapshots.values()] == texts[:-1]
        save_state(staged / "state.json", state)
        assert [s.text() for s in state.snapshots.values()] == texts[:-1]  # read from the committed files
    assert _files(staged) == _files(spooled)


def test_a_snapshot_that_utf8_cannot_hold_is_refused_when_written_as_before(tmp_path):
    with Staging(tmp_path / "snapshots") as staging:
        state = _staged_state(tmp_path, ["fine", "a\ud800b"], staging)
        with pytest.raises(UnicodeEncodeError):
            save_state(tmp_path / "state.json", state)
    assert _files(tmp_path) == {}


def test_staged_snapshots_not_committed_leave_no_file(tmp_path):
    # The run ended before its state was written (Ctrl-C, network unavailable): the staging cleans up.
    with Staging(tmp_path / "snapshots") as staging:
        state = _staged_state(tmp_path, ["one", "two"], staging)
        temps = [s.staged.temp() for s in state.snapshots.values()]
        assert [s.text() for s in state.snapshots.values()] == ["one", "two"]
        assert sorted(p.name for p in (tmp_path / "snapshots").iterdir()) == sorted(os.path.basename(t) for t in temps)
    assert list((tmp_path / "snapshots").iterdir()) == []


def _files(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
