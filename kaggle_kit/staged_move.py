"""Moving a downloaded tree into the data folder all or nothing, and undoing a move that a kill cut short.

A download stages its files in a hidden ``.download-XXXXXXXX`` folder inside the data folder, never beside it:
files can be renamed only within one file system, and a folder's own entries are on its file system whatever is
mounted or linked where (a bind mount has the device number of the disk it shows, so comparing ``st_dev`` could
not tell). The toolkit reads only named files and folders of a data folder, so the hidden folder is never data.

``move_into`` writes a journal of the move, moves each file the download replaces into ``replaced/``, then the new
files in, and deletes the journal once all are in. A process killed in between (kill -9, a power cut) leaves the
journal, and the next command that looks in the folder undoes the move (``recover``): every step is one rename
decided from where the files are, so a kill during the undo is undone by the next command as well.

A reader of the data folder (a run's data stage: find, fingerprint, load) holds a shared flock on the folder itself
(``reading``), and a move or an undo an exclusive one: readers never wait for one another, a move waits for the
readers (seconds: they only load) and they for it (milliseconds: renames), so no reader sees some files old and
some new, nor a half-undone move.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

from kaggle_kit.errors import KitError, UsageError
from kaggle_kit.fsio import atomic_write_text, lock_folder

PREFIX = ".download-"
NAME = re.compile(re.escape(PREFIX) + r"[a-z0-9_]{8}")  # tempfile's names: 8 of a-z, 0-9 and _
JOURNAL = "journal.json"
PARTS = ("archive", "files", "replaced", JOURNAL)  # all a staging folder holds (and the journal's temporary)
STALE_S = 60.0  # an unheld staging folder unchanged this long is a killed download's


def _only_parts(names: list[str]) -> bool:
    """Whether a folder of a staging folder's name holds only what one does (``PARTS``, and the journal's
    temporary file): a user's own folder of such a name is no staging folder, never undone nor removed."""
    return all(n in PARTS or n.startswith(f".{JOURNAL}.") for n in names)


def _pending(dest: Path) -> bool:
    """Whether ``dest`` holds a journal ``move_into`` wrote, in a folder ``recover`` would undo: a move in progress
    or one a kill cut short. (Counting one ``recover`` skips had every read take the exclusive lock, waiting for
    the other readers and saying an undo was due, on every command, for good.)"""
    try:
        return any(NAME.fullmatch(e.name) and os.path.lexists(os.path.join(e.path, JOURNAL))
                   and _only_parts(os.listdir(e.path)) and _journal(Path(e.path)) is not None
                   for e in os.scandir(dest))
    except OSError:
        return False


MOVING = "the downloaded files move in"
UNDOING = "a killed download's move is undone"


def _blocked(dest: Path, exclusive: bool, then: str = MOVING) -> None:
    """Called once when a lock on ``dest`` has to be waited for: a move or an undo says why it waits (a reader's
    wait is a move's few renames, not worth a line)."""
    if exclusive:
        print(f"waiting for {dest}: another kaggle-kit command is reading the data ({then} once it has read them)",
              file=sys.stderr, flush=True)


@contextlib.contextmanager
def _locked(dest: Path, exclusive: bool, then: str = MOVING) -> Iterator[bool]:
    """Hold a shared or exclusive flock on the folder ``dest`` while the block runs, waiting for it (said once on
    stderr when a move has to wait for a reader); yields False, holding nothing, where the folder cannot be opened
    or the file system cannot lock (as before, unguarded)."""
    try:
        fd = os.open(dest, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        yield False
        return
    try:
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        try:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
            except BlockingIOError:
                _blocked(dest, exclusive, then)
                fcntl.flock(fd, mode)
            held = True
        except OSError:
            held = False
        yield held
    finally:
        os.close(fd)


@contextlib.contextmanager
def reading(dest: str | Path) -> Iterator[None]:
    """Hold ``dest`` against a download's move while the block reads it, once any move a kill cut short is undone
    (``recover``): a run that found, fingerprinted and loaded the data while a download moved its files in could
    fingerprint the old files and load some new ones. Costs a fraction of a millisecond (``test_staged_move``)."""
    dest = Path(dest)
    for again in (False, True):
        with _locked(dest, exclusive=False) as held:
            if not held:
                recover_and_tell(dest)
            # under the shared lock no move is under way, so a journal is a killed one's (twice in a row: a kill
            # between the undo and this lock, not worth a third look)
            if not held or again or not _pending(dest):
                yield
                return
        recover_and_tell(dest)  # takes the exclusive lock; then read under the shared one


def make(dest: Path) -> tuple[Path, int | None]:
    """A new staging folder in ``dest`` (made if missing), and the descriptor holding its lock (None where locks do
    not work, which also keeps every other process from cleaning it up)."""
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=PREFIX, dir=dest))
    return staging, lock_folder(staging)


def move_into(staging: Path, dest: Path) -> None:
    """Move the tree ``staging/files`` into ``dest`` (merging with what is there), all or nothing.

    Every clash is checked before anything moves. Every file of ``dest`` the download replaces is moved aside
    before any new file moves in, so ``dest`` never holds old and new versions side by side, which `data verify`
    could not tell for the competition pickle (it has no official md5). On any failure, Ctrl-C included, the move
    is undone before the error propagates; after a kill, by the next command (``recover``). Holds the folder's
    exclusive lock throughout: no reader (``reading``) sees the move half-done."""
    with _locked(dest, exclusive=True):
        _move_into(staging, dest)


def _move_into(staging: Path, dest: Path) -> None:
    src = staging / "files"
    entries = [(p.relative_to(src), p.is_dir()) for p in sorted(src.rglob("*"))]
    files = [rel for rel, is_dir in entries if not is_dir]
    dirs = [rel for rel, is_dir in entries if is_dir]
    for rel in dirs:
        if (dest / rel).exists() and not (dest / rel).is_dir():
            raise UsageError(f"{dest / rel}: is a file, but the archive has a folder there; move it away and rerun")
    for rel in files:
        if (dest / rel).is_dir():
            raise UsageError(f"{dest / rel}: is a folder, but the archive has a file there; move it away and rerun")
    made = [rel for rel in dirs if not (dest / rel).exists()]
    journal = {"files": [str(p) for p in files], "made": [str(p) for p in made]}
    atomic_write_text(staging / JOURNAL, json.dumps(journal))
    try:
        for rel in made:
            (dest / rel).mkdir(exist_ok=True)
        for rel in files:
            if os.path.lexists(dest / rel):
                (staging / "replaced" / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(dest / rel, staging / "replaced" / rel)
        for rel in files:
            os.replace(src / rel, dest / rel)
    except BaseException as err:
        try:
            _undo(staging, dest, journal)
        except OSError as undo_err:
            why = err.strerror if isinstance(err, OSError) and err.strerror else type(err).__name__
            raise KitError(f"could not move the downloaded files into {dest} ({why}), nor put back the files it "
                           f"replaced ({undo_err.strerror or undo_err}); they are in {staging / 'replaced'}, and the "
                           f"next command that reads {dest} tries again") from None
        raise
    os.unlink(staging / JOURNAL)  # the move is done: from here on the staging folder is only litter


def _undo(staging: Path, dest: Path, journal: dict) -> None:
    """Put ``dest`` back as it was before the move the journal in ``staging`` describes, then delete the journal.

    Per file, a new file missing from ``files/`` is in ``dest`` and goes back to ``files/``, then an old one in
    ``replaced/`` goes back to ``dest``: one rename each, judged from where the files are, so running it again
    after a kill half-way through is safe (an old file already put back is never taken for a new one)."""
    src, aside = staging / "files", staging / "replaced"
    for rel in journal["files"]:
        if not os.path.lexists(src / rel) and os.path.lexists(dest / rel):
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(dest / rel, src / rel)
        if os.path.lexists(aside / rel):
            os.replace(aside / rel, dest / rel)
    for rel in reversed(journal["made"]):
        with contextlib.suppress(OSError):
            (dest / rel).rmdir()
    os.unlink(staging / JOURNAL)


def _journal(staging: Path) -> dict | None:
    """The journal in ``staging``, or None when it is not one ``move_into`` wrote (a user's ``journal.json`` in a
    folder of a staging folder's name): undoing from it would fail on every data read with a traceback."""
    try:
        journal = json.loads((staging / JOURNAL).read_text(encoding="utf-8"))
        if all(isinstance(journal.get(k), list) and all(isinstance(p, str) for p in journal[k])
               for k in ("files", "made")):
            return journal
    except (OSError, ValueError, AttributeError):
        pass
    return None


def _unheld(dest: Path, idle_too: bool, held_too: bool = False) -> Iterator[Path]:
    """The staging folders in ``dest`` that no process holds, each locked by this one while the caller has it: a
    folder of our name holding only ``PARTS`` (a user's own folder of such a name is no staging folder) and a
    journal, or (``idle_too``) unchanged for ``STALE_S``. Nothing else is locked, even for an instant: a download
    that found its new folder locked would run without the lock that keeps others from removing it. ``held_too``:
    a journal's folder another process holds as well (under ``dest``'s exclusive lock, a journal is never a live
    move's: it is one whose undo failed, and the next undo is due now, not after its process has exited)."""
    try:
        entries = [e for e in os.scandir(dest) if NAME.fullmatch(e.name) and e.is_dir(follow_symlinks=False)]
    except OSError:
        return
    for entry in entries:
        try:
            names = os.listdir(entry.path)
            if not _only_parts(names):
                continue
            idle = time.time() - entry.stat(follow_symlinks=False).st_mtime >= STALE_S
            if JOURNAL not in names and not (idle_too and idle):
                continue
            held = lock_folder(entry.path)
        except OSError:
            continue
        if held is None and not (held_too and JOURNAL in names):
            continue
        try:
            yield Path(entry.path)
        finally:
            if held is not None:
                os.close(held)


def recover(dest: str | Path) -> list[str]:
    """Undo the moves into ``dest`` that killed downloads left half-done, and remove their staging folders; one
    note per undone move. A journal is written only while its download holds the folder's lock, so an unheld one
    is a dead process's, however recent; and only under ``dest``'s exclusive lock, which this holds too, so a
    journal found then is never a live move's (``reading`` relies on that). Raises a one-line ``KitError`` when
    the undo fails (a folder made read-only since): the old files then stay where the error says, for the next
    command to put back."""
    dest, notes = Path(dest), []
    if not _pending(dest):
        return notes
    with _locked(dest, exclusive=True, then=UNDOING) as exclusive, \
            contextlib.closing(_unheld(dest, idle_too=False, held_too=exclusive)) as found:
        for staging in found:
            journal = _journal(staging)
            if journal is None:
                continue
            try:
                _undo(staging, dest, journal)
            except OSError as err:
                raise KitError(f"{dest}: a download into it was killed while it moved its files in, and putting the "
                               f"old files back failed ({err.strerror or err}); they are in {staging / 'replaced'}, "
                               f"and the next command tries again") from None
            shutil.rmtree(staging, ignore_errors=True)
            notes.append(f"note: {dest}: a download into it was killed while it moved its files in; undid that "
                         f"move, so {dest} holds the files it held before (rerun `kaggle-kit data download` for the "
                         f"new ones)")
    return notes


def recover_and_tell(dest: str | Path) -> None:
    """``recover``, each note printed on stderr (a data read's output on stdout stays as it was)."""
    for note in recover(dest):
        print(note, file=sys.stderr)


def remove_stale(dest: Path) -> list[Path]:
    """Remove the staging folders that downloads into ``dest`` killed outright (kill -9, a crash, a power cut)
    left behind, with the partial zip in them, once any half-done move is undone (``recover``). A folder goes
    only if no process holds its lock (a download holds its own until it has removed it) and it has not changed
    for ``STALE_S`` (which covers the instant between a download making its folder and locking it), so a
    concurrent download into ``dest`` keeps its folder."""
    recover_and_tell(dest)
    removed = []
    with contextlib.closing(_unheld(dest, idle_too=True)) as found:
        for staging in found:
            if not (staging / JOURNAL).exists():  # a journal appeared since: a download killed a moment ago
                shutil.rmtree(staging, ignore_errors=True)
                removed.append(staging)
    return removed + _remove_old_beside(dest)


OLD_PARTS = ("archive", "files", "replaced")  # all a staging folder of before session 24 held (no journal)


def _old_beside(dest: Path) -> Iterator[tuple[Path, bool]]:
    """The staging folders that downloads of before session 24 made BESIDE ``dest`` (``.<name>.download-`` and 8
    of tempfile's letters, ``<name>`` the folder's name as given or absolute, ``data`` for none) and a kill left:
    holding only ``OLD_PARTS``, unchanged for ``STALE_S`` and held by no process (the versions of before 8702353
    held none, which the minute covers as it did then); each locked by this one while the caller has it, with
    whether its ``replaced/`` holds files (the only copies of old files a move cut short took out of ``dest``)."""
    beside = dest.absolute().parent
    prefixes = {f".{dest.name or 'data'}.download-", f".{dest.absolute().name or 'data'}.download-"}
    ours = re.compile("|".join(re.escape(p) for p in sorted(prefixes)) + r"[a-z0-9_]{8}")
    try:
        entries = [e for e in os.scandir(beside) if ours.fullmatch(e.name) and e.is_dir(follow_symlinks=False)]
    except OSError:
        return
    for entry in entries:
        try:
            if not set(os.listdir(entry.path)) <= set(OLD_PARTS):
                continue
            if time.time() - entry.stat(follow_symlinks=False).st_mtime < STALE_S:
                continue
            moved_out = any(p.is_file() or p.is_symlink() for p in Path(entry.path, "replaced").rglob("*"))
            held = lock_folder(entry.path)
        except OSError:
            continue
        if held is None:
            continue
        try:
            yield Path(entry.path), moved_out
        finally:
            os.close(held)


def _remove_old_beside(dest: Path) -> list[Path]:
    """Remove the staging folders killed downloads of before session 24 left beside ``dest`` (``_old_beside``),
    which no later version looked at; one whose ``replaced/`` holds the user's old files is kept, with a note
    saying where they are."""
    removed = []
    with contextlib.closing(_old_beside(dest)) as found:
        for staging, moved_out in found:
            if moved_out:
                print(f"note: {staging}: an older kaggle-kit's download into {dest} was killed while it moved its "
                      f"files in; the files it took out of {dest} are in {staging / 'replaced'}: move back the ones "
                      f"you want, then remove that folder", file=sys.stderr)
                continue
            shutil.rmtree(staging, ignore_errors=True)
            removed.append(staging)
    return removed
