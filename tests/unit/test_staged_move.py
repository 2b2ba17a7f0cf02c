"""The all-or-nothing move of a download's files into the data folder, and the undo of one a kill cut short."""
from __future__ import annotations

import errno
import json
import os
import threading
import time
from pathlib import Path

import pytest

from kaggle_kit import staged_move
from kaggle_kit.fsio import lock_folder

OLD = {"a.pkl": "old a", "sub/b.bin": "old b", "z.txt": "old z"}
NEW = {"a.pkl": "new a", "sub/b.bin": "new b", "z.txt": "new z", "more/c.txt": "new c"}  # more/: a new folder
RENAMES = 3 + 4  # the old files moved aside, then the new ones moved in


class Killed(BaseException):
    """Stands for kill -9: no handler is meant to catch it, and the files stay where the last rename left them."""


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def _tree(dest: Path) -> dict[str, str]:
    """What the data folder holds, the hidden staging folder left out; folders too (as '/')."""
    out = {}
    for p in sorted(dest.rglob("*")):
        rel = p.relative_to(dest)
        if not rel.parts[0].startswith(staged_move.PREFIX):
            out[str(rel)] = "/" if p.is_dir() else p.read_text()
    return out


def _download(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """D holding the old files and one of the user's, and a staging folder in it holding the new files."""
    dest = tmp_path / "D"
    _write(dest, {**OLD, "mine.txt": "mine"})
    staging = dest / ".download-abcd1234"
    _write(staging / "files", NEW)
    (staging / "archive").mkdir()
    return dest, staging, _tree(dest)


def _killed(*_args) -> None:
    raise Killed()


def _fail_from(monkeypatch, at: int, failure: BaseException, once: bool = False) -> None:
    """os.replace raises ``failure`` from its ``at``-th call on (only then, when ``once``); the journal's own
    write is not counted, so ``at`` counts the move's renames."""
    real, calls = os.replace, []

    def replace(a, b):
        if Path(b).name != staged_move.JOURNAL:
            calls.append(b)
            if len(calls) - 1 == at or (not once and len(calls) - 1 > at):
                raise failure
        real(a, b)

    monkeypatch.setattr(os, "replace", replace)


def test_a_normal_move_merges_the_new_files_and_leaves_no_journal(tmp_path):
    dest, staging, _ = _download(tmp_path)
    staged_move.move_into(staging, dest)
    assert _tree(dest) == {**NEW, "sub": "/", "more": "/", "mine.txt": "mine"}
    assert not (staging / staged_move.JOURNAL).exists()


def test_the_folder_never_holds_old_and_new_files_side_by_side(tmp_path, monkeypatch):
    """Whatever instant a kill -9 hits, the data folder holds old files or new ones (some perhaps missing, which
    the next command's undo puts back), never both: a mixed competition pickle has no md5 to betray it."""
    dest, staging, _ = _download(tmp_path)
    real, states = os.replace, []

    def recording_replace(a, b):
        real(a, b)
        if Path(b).name != staged_move.JOURNAL:
            states.append(sorted({v.split()[0] for k, v in _tree(dest).items() if v != "/" and k != "mine.txt"}))

    monkeypatch.setattr(os, "replace", recording_replace)
    staged_move.move_into(staging, dest)
    assert len(states) == RENAMES and all(s in (["old"], ["new"], []) for s in states), states


@pytest.mark.parametrize("at", range(RENAMES))
def test_a_cross_device_rename_at_any_step_leaves_the_folder_exactly_as_it_was(tmp_path, monkeypatch, at):
    """os.rename fails with EXDEV where a folder inside D is a mount point (a bind mount shares its st_dev, so no
    check beforehand can be trusted): whichever rename fails, moving aside or in, D holds its old files and
    folders exactly, the new files are back in the staging folder, and no journal is left to undo again."""
    dest, staging, before = _download(tmp_path)
    _fail_from(monkeypatch, at, OSError(errno.EXDEV, "Invalid cross-device link"), once=True)
    with pytest.raises(OSError) as err:
        staged_move.move_into(staging, dest)
    assert err.value.errno == errno.EXDEV
    assert _tree(dest) == before
    assert _tree(staging / "files") == {**NEW, "sub": "/", "more": "/"}
    assert not (staging / staged_move.JOURNAL).exists() and staged_move.recover(dest) == []


@pytest.mark.parametrize("at", range(RENAMES))
def test_a_move_killed_at_any_rename_is_undone_by_the_next_command_even_if_that_is_killed_too(tmp_path, monkeypatch,
                                                                                              at):
    """A kill in the middle of the move left D with old files missing and the only copies in the staging folder,
    which the next download removed as stale: a failed download after that left D with neither old nor new files.
    The next command now undoes the move from its journal; killed at any rename of that undo, the one after
    finishes it, and D ends holding exactly its old files."""
    dest, staging, before = _download(tmp_path)
    with monkeypatch.context() as m:
        _fail_from(m, at, Killed())
        m.setattr(staged_move, "_undo", _killed)  # a kill -9 runs no handler
        with pytest.raises(Killed):
            staged_move.move_into(staging, dest)
    assert (staging / staged_move.JOURNAL).is_file()
    for undo_at in range(2 * RENAMES):
        with monkeypatch.context() as m:
            _fail_from(m, undo_at, Killed())
            try:
                notes = staged_move.recover(dest)
                break
            except Killed:
                assert (staging / staged_move.JOURNAL).is_file()
    assert notes == [f"note: {dest}: a download into it was killed while it moved its files in; undid that move, "
                     f"so {dest} holds the files it held before (rerun `kaggle-kit data download` for the new ones)"]
    assert _tree(dest) == before and not staging.exists()


def _paused_move(monkeypatch, dest: Path, staging: Path, at: int) -> tuple[threading.Thread, threading.Event,
                                                                           threading.Event]:
    """A real ``move_into`` in a thread, holding its staging folder's lock as a download does, paused just before
    its ``at``-th rename until ``go`` is set; returns the thread, ``mid`` (set once it pauses) and ``go``."""
    real, calls, mid, go = os.replace, [], threading.Event(), threading.Event()

    def replace(a, b):
        if Path(b).name != staged_move.JOURNAL and threading.current_thread() is mover:
            calls.append(b)
            if len(calls) - 1 == at:
                mid.set()
                assert go.wait(10)
        real(a, b)

    def move():
        held = lock_folder(staging)
        try:
            staged_move.move_into(staging, dest)
        finally:
            os.close(held)

    monkeypatch.setattr(os, "replace", replace)
    mover = threading.Thread(target=move)
    mover.start()
    assert mid.wait(10)
    return mover, mid, go


def _when_blocked(monkeypatch) -> threading.Event:
    """An event set when a lock on a data folder has to be waited for (the hook that would say so)."""
    blocked, real = threading.Event(), getattr(staged_move, "_blocked", None)

    def hook(dest, exclusive, *then):
        real(dest, exclusive, *then)
        blocked.set()

    monkeypatch.setattr(staged_move, "_blocked", hook, raising=False)
    return blocked


def _blocked_or_done(blocked: threading.Event, thread: threading.Thread) -> None:
    """Until ``thread`` waits for a lock or has finished (it finished without waiting before the fix)."""
    while not blocked.wait(0.01) and thread.is_alive():
        pass


@pytest.mark.parametrize("reader", ["recover", "reading"])
def test_a_reader_waits_for_a_live_move_and_never_sees_it_half_done(tmp_path, monkeypatch, reader):
    """A download half-way through its move holds its staging folder's lock, so ``recover`` skipped its journal and
    the reader went on to read old and new files side by side. The move now holds the data folder's exclusive
    lock: a reader waits the few renames, then sees only the new files, and nothing is undone."""
    dest, staging, _ = _download(tmp_path)
    mover, _, go = _paused_move(monkeypatch, dest, staging, at=4)  # old files aside, one new file in
    blocked, seen = _when_blocked(monkeypatch), {}

    def read():
        if reader == "recover":
            seen["notes"] = staged_move.recover(dest)
            seen["tree"] = _tree(dest)
        else:
            with staged_move.reading(dest):
                seen["tree"] = _tree(dest)

    thread = threading.Thread(target=read)
    thread.start()
    _blocked_or_done(blocked, thread)  # the reader waits for the move's lock
    go.set()
    mover.join(10)
    thread.join(10)
    assert seen["tree"] == {**NEW, "sub": "/", "more": "/", "mine.txt": "mine"}
    assert seen.get("notes", []) == []


def test_a_move_waits_for_a_reader_so_a_read_is_all_old(tmp_path, monkeypatch, capsys):
    """A run reading the data folder (fingerprint, then load) while a download moved its files in could fingerprint
    the old files and load new ones; the move now waits for it, saying so on stderr."""
    dest, staging, before = _download(tmp_path)
    blocked = _when_blocked(monkeypatch)
    with staged_move.reading(dest):
        first = _tree(dest)
        mover = threading.Thread(target=staged_move.move_into, args=(staging, dest))
        mover.start()
        _blocked_or_done(blocked, mover)  # the move waits for this read to finish
        assert _tree(dest) == first == before
    mover.join(10)
    assert _tree(dest) == {**NEW, "sub": "/", "more": "/", "mine.txt": "mine"}
    assert capsys.readouterr().err == (f"waiting for {dest}: another kaggle-kit command is reading the data (the "
                                       f"downloaded files move in once it has read them)\n")


def test_reading_undoes_a_killed_move_first_and_costs_under_a_millisecond(tmp_path, monkeypatch):
    """``reading`` undoes a move a kill cut short before it reads (under the exclusive lock), and a plain read's
    lock costs little: every data read takes it."""
    dest, staging, before = _download(tmp_path)
    _kill_move(monkeypatch, staging, dest)
    with staged_move.reading(dest):
        assert _tree(dest) == before and not staging.exists()
    n, t0 = 200, time.perf_counter()
    for _ in range(n):
        with staged_move.reading(dest):
            pass
    assert (time.perf_counter() - t0) / n < 1e-3


def test_a_users_folder_of_a_staging_name_is_left_alone(tmp_path):
    """A folder of the user's with a staging folder's name holds other files than a download's."""
    dest, _, before = _download(tmp_path)
    (dest / ".download-abcd1234" / staged_move.JOURNAL).write_text(json.dumps({"files": ["a.pkl"], "made": []}))
    mine = dest / ".download-settings"
    _write(mine, {staged_move.JOURNAL: "{}", "notes.txt": "mine"})
    assert len(staged_move.recover(dest)) == 1 and _tree(dest) == before
    assert (mine / "notes.txt").read_text() == "mine"
    with staged_move.reading(dest):
        assert (mine / "notes.txt").read_text() == "mine"


def test_a_users_folder_of_a_staging_name_with_a_journal_does_not_make_readers_wait(tmp_path, monkeypatch, capsys):
    """A folder of the user's with a staging folder's name and a valid journal beside other files: ``recover``
    leaves it alone, but ``_pending`` counted it, so every read took the exclusive lock, waited for every other
    reader and said an undo was due, on every command, for good. Readers never wait for one another."""
    dest, _, before = _download(tmp_path)
    _write(dest / ".download-mine1234", {staged_move.JOURNAL: json.dumps({"files": [], "made": []}),
                                         "notes.txt": "mine"})
    blocked, seen = _when_blocked(monkeypatch), {}

    def read():
        with staged_move.reading(dest):
            seen["tree"] = _tree(dest)

    with staged_move.reading(dest):  # another command reading the data meanwhile
        thread = threading.Thread(target=read)
        thread.start()
        _blocked_or_done(blocked, thread)
        assert not blocked.is_set() and "tree" in seen
    thread.join(10)
    assert capsys.readouterr().err == ""
    assert (dest / ".download-mine1234" / "notes.txt").read_text() == "mine"


def test_only_idle_unheld_staging_folders_of_its_own_name_are_removed(tmp_path):
    """Stale staging folders are removed with everything in them, chosen by name, contents, idleness and lock: a
    folder of the user's in the data folder named '.download-' and 8 letters ('.download-settings'), idle for a
    minute, went with its files. A staging folder holds only what a download puts there."""
    dest = tmp_path / "D"
    mine, killed, empty = dest / ".download-settings", dest / ".download-k1lled00", dest / ".download-x9y8z7w6"
    fresh = dest / ".download-fresh123"  # made just now: perhaps by a download about to lock it
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_text("mine")
    for sub in ("archive", "files", "replaced"):
        (killed / sub).mkdir(parents=True)
    (killed / "archive" / "part.zip").write_bytes(b"partial")
    empty.mkdir()
    fresh.mkdir()
    for folder in (mine, killed, empty):
        os.utime(folder, (1, 1))
    assert sorted(staged_move.remove_stale(dest)) == sorted([killed, empty])
    assert (mine / "notes.txt").read_text() == "mine" and fresh.is_dir()
    assert not killed.exists() and not empty.exists()


def test_an_undo_that_fails_names_where_the_old_files_are_and_the_next_command_finishes_it(tmp_path, monkeypatch):
    """A move that fails and whose undo fails too (the disk gone read-only): one line saying where the old files
    wait, the journal kept, and the next command puts them back."""
    from kaggle_kit.errors import KitError

    dest, staging, before = _download(tmp_path)
    with monkeypatch.context() as m:
        _fail_from(m, 4, OSError(errno.EROFS, "Read-only file system"))
        with pytest.raises(KitError) as err:
            staged_move.move_into(staging, dest)
    assert str(err.value) == (f"could not move the downloaded files into {dest} (Read-only file system), nor put back "
                              f"the files it replaced (Read-only file system); they are in {staging / 'replaced'}, and "
                              f"the next command that reads {dest} tries again")
    with monkeypatch.context() as m:
        _fail_from(m, 0, OSError(errno.EROFS, "Read-only file system"))
        with pytest.raises(KitError) as err:
            staged_move.recover(dest)
    assert str(err.value) == (f"{dest}: a download into it was killed while it moved its files in, and putting the "
                              f"old files back failed (Read-only file system); they are in {staging / 'replaced'}, and "
                              f"the next command tries again")
    assert (staging / staged_move.JOURNAL).is_file()
    assert len(staged_move.recover(dest)) == 1 and _tree(dest) == before and not staging.exists()


@pytest.mark.parametrize("text", ["{}", "[]", "not json", '{"files": [1], "made": []}'])
def test_a_journal_kaggle_kit_did_not_write_is_left_alone_not_a_traceback_on_every_read(tmp_path, text):
    """A folder of a staging folder's name holding only a journal.json of other content (a user's own) was undone
    from it on every data read: KeyError or JSONDecodeError, a traceback for `data verify` and `run` alike."""
    dest = tmp_path / "D"
    _write(dest, {".download-settings/" + staged_move.JOURNAL: text, "a.pkl": "old a"})
    assert staged_move.recover(dest) == [] and staged_move.remove_stale(dest) == []
    assert (dest / ".download-settings" / staged_move.JOURNAL).read_text() == text


def test_staging_folders_older_versions_left_beside_the_data_folder_are_removed_when_unheld_and_idle(
        tmp_path, monkeypatch, capsys):
    """Before session 24 a download staged BESIDE its folder (``.D.download-`` and 8 letters); one killed left that
    folder, its partial zip and unzipped files, for good: no later version looked there. The next download removes
    it when no process holds it and it has been idle a minute; one whose replaced/ holds the user's old files (a
    move killed half-way) is kept with a note; nothing else is touched."""
    monkeypatch.chdir(tmp_path)
    dest = Path("D")
    dest.mkdir()
    killed, fresh, held, mine, moved, inner, other = (
        Path(n) for n in (".D.download-k1lled00", ".D.download-fresh123", ".D.download-held1234",
                          ".D.download-mine0000", ".D.download-moved000", ".download-abcdefgh", ".E.download-abcdefgh"))
    for folder in (killed, fresh, held, mine, moved, inner, other):
        _write(folder, {"archive/part.zip": "partial", "files/cifar_test_nolabel.pkl": "new"})
    _write(mine, {"notes.txt": "mine"})
    _write(moved, {"replaced/cifar_test_nolabel.pkl": "old"})
    for folder in (killed, held, mine, moved, inner, other):
        os.utime(folder, (1, 1))
    lock = lock_folder(held)  # a download of an older version, still running
    try:
        assert staged_move.remove_stale(dest) == [killed.absolute()]
    finally:
        os.close(lock)
    assert not killed.exists() and all(f.is_dir() for f in (fresh, held, mine, moved, inner, other))
    assert capsys.readouterr().err == (f"note: {moved.absolute()}: an older kaggle-kit's download into D was killed "
                                       f"while it moved its files in; the files it took out of D are in "
                                       f"{moved.absolute() / 'replaced'}: move back the ones you want, then remove "
                                       f"that folder\n")


@pytest.mark.parametrize("mine, words", [("more", "is a file, but the archive has a folder there"),
                                         ("z.txt", "is a folder, but the archive has a file there")])
def test_a_file_where_the_archive_has_a_folder_or_the_reverse_is_refused_before_anything_moves(tmp_path, mine, words):
    """Skipping either clash check would fail half way with a bare OSError instead of saying what to move away."""
    from kaggle_kit.errors import UsageError

    dest, staging, _ = _download(tmp_path)
    if mine == "z.txt":  # the user's folder where the archive has the file z.txt
        (dest / mine).unlink()
        (dest / mine).mkdir()
    else:  # the user's file where the archive has the folder more/
        (dest / mine).write_text("mine")
    before = _tree(dest)
    with pytest.raises(UsageError) as err:
        staged_move.move_into(staging, dest)
    assert str(err.value) == f"{dest / mine}: {words}; move it away and rerun"
    assert _tree(dest) == before and not (staging / staged_move.JOURNAL).exists()


def test_an_undone_move_removes_the_nested_folders_it_made(tmp_path, monkeypatch):
    """Removing the folders it made parent first would leave the parent (not yet empty) behind after an undo."""
    dest, staging, before = _download(tmp_path)
    _write(staging / "files", {"x/y/d.txt": "new d"})
    _fail_from(monkeypatch, 0, OSError(errno.EXDEV, "Invalid cross-device link"), once=True)
    with pytest.raises(OSError):
        staged_move.move_into(staging, dest)
    assert _tree(dest) == before


def test_a_failed_undo_is_finished_by_the_next_reader_while_its_process_still_holds_the_staging_folder(tmp_path,
                                                                                                      monkeypatch):
    """Skipping a journal whose folder another process holds would leave the data folder without its old files
    until that process exits; under the data folder's exclusive lock no live move can own that journal."""
    from kaggle_kit.errors import KitError

    dest, staging, before = _download(tmp_path)
    held = lock_folder(staging)  # the download whose move and undo failed, not yet exited
    try:
        with monkeypatch.context() as m:
            _fail_from(m, 4, OSError(errno.EROFS, "Read-only file system"))
            with pytest.raises(KitError):
                staged_move.move_into(staging, dest)
        assert len(staged_move.recover(dest)) == 1 and _tree(dest) == before
    finally:
        os.close(held)


def _kill_move(monkeypatch, staging: Path, dest: Path) -> None:
    """``move_into`` killed (kill -9) at its third rename, its journal left for the next command to undo."""
    with monkeypatch.context() as m:
        _fail_from(m, 2, Killed())
        m.setattr(staged_move, "_undo", _killed)
        with pytest.raises(Killed):
            staged_move.move_into(staging, dest)


def test_a_read_that_still_finds_a_journal_after_the_undo_reads_anyway(tmp_path, monkeypatch):
    """A kill between the undo and the shared lock leaves a journal again; without the second look's limit the read
    ended without running its block ('generator didn't yield')."""
    dest, staging, _ = _download(tmp_path)
    _kill_move(monkeypatch, staging, dest)
    monkeypatch.setattr(staged_move, "recover_and_tell", lambda dest: None)  # each undo killed in its turn
    read = []
    with staged_move.reading(dest):
        read.append(True)
    assert read == [True] and (staging / staged_move.JOURNAL).is_file()


def test_remove_stale_undoes_a_killed_move_first_and_keeps_a_live_downloads_folder(tmp_path, monkeypatch):
    """Without the undo first, the killed move's journal outlived the next download and its undo later put the old
    files back over the new ones; a staging folder made without its lock would go as stale under a slow download."""
    dest, staging, before = _download(tmp_path)
    _kill_move(monkeypatch, staging, dest)
    assert staged_move.remove_stale(dest) == [] and _tree(dest) == before and not staging.exists()
    live, held = staged_move.make(dest)
    try:
        os.utime(live, (1, 1))  # unchanged for a minute: its zip is still downloading
        assert staged_move.remove_stale(dest) == [] and live.is_dir()
    finally:
        os.close(held)
