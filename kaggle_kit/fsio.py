"""Atomic file writes and fingerprints: nothing the toolkit writes is ever seen half-written.

Every output goes to a temporary file in the destination folder (same file system), is flushed and fsynced,
then renamed into place, so a kill at any moment leaves either the old file or the new one.
"""
from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import io
import os
import pwd
import stat
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np

from kaggle_kit.errors import RunError, UsageError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds. A symlink at
    ``path`` is written through (the file it points to is replaced), not replaced by a regular file."""
    path = Path(path)
    real = through_symlink(path)
    real.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent)
    except OSError as err:
        raise _about(err, real, path) from None
    tmp_path = Path(tmp)
    try:  # from here on an interrupt (Ctrl-C, kill) or a failure removes the temporary file
        try:
            os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the permissions open() would give
        finally:
            os.close(fd)
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, real)
    except OSError as err:
        raise _about(err, real, path) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


def _about(err: OSError, real: Path, path: Path) -> OSError:
    """``err`` naming ``path``, the file the user asked for, when it named the hidden temporary beside ``real``
    or no file at all (a write that hit a full disk): the one-line error then says which output failed."""
    if err.errno is None or err.filename2 is not None:
        return err
    if err.filename is not None and not str(err.filename).startswith(str(real.parent / f".{real.name}.")):
        return err
    return type(err)(err.errno, err.strerror, str(path))


def through_symlink(path: Path) -> Path:
    """The file a symlink at ``path`` points to (``path`` itself otherwise): a ledger or report that the user
    linked to a shared place must be updated there, and locked there, not replaced beside the link."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def leftover_temporaries(path: str | Path) -> list[Path]:
    """The temporary files ``atomic_path`` made for ``path`` and never renamed: a process killed by SIGKILL in
    the middle of a write runs no cleanup, and each such kill leaves one."""
    path = Path(path)
    return sorted(path.parent.glob(f".{glob.escape(path.name)}.*.tmp"))


def new_paths(path: str | Path) -> list[Path]:
    """``path`` and its ancestors that do not exist yet, deepest first: what creating ``path`` (with its
    folders) adds, so that a command that fails can take back exactly that (``remove_created``)."""
    missing, p = [], Path(path)
    while not p.exists() and not p.is_symlink() and p != p.parent:
        missing.append(p)
        p = p.parent
    return missing


def remove_created(paths: list[Path]) -> None:
    """Undo ``new_paths``' list, deepest first: a file is removed, a folder only while empty; the first that
    cannot go (something else has written there since) stops it, leaving it and its ancestors alone."""
    for p in paths:
        try:
            if p.is_dir() and not p.is_symlink():
                p.rmdir()
            else:
                p.unlink(missing_ok=True)
        except OSError:
            break


def escape_problem(name: str, dest: Path) -> str | None:
    """Why a file name from outside (a zip member, a kernel's output) must not be written under ``dest``: empty
    or NUL, absolute (``/``, ``\\`` or a drive), a ``..`` part, or resolving outside ``dest``; None when safe."""
    if not name or "\x00" in name:
        return "has an empty or invalid name"
    norm = name.replace("\\", "/")
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":"):
        return "is an absolute path"
    if ".." in norm.split("/"):
        return "contains '..'"
    root = dest.resolve()
    target = (root / name).resolve()
    if target != root and root not in target.parents:
        return "resolves outside the destination"
    return None


def _nearest_existing(path: Path) -> Path:
    """``path`` or its closest ancestor that exists (``.`` for a relative path whose folders are all new)."""
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _check_parent(path: Path, what: str) -> None:
    """The folder that would hold ``path`` exists or can be made: its nearest existing ancestor is a writable
    folder. Creates nothing."""
    base = _nearest_existing(path.parent)
    if not base.is_dir():
        raise UsageError(f"{path}: cannot write the {what} there, {base} is a file, not a folder")
    if not os.access(base, os.W_OK | os.X_OK):
        raise UsageError(f"{path}: cannot write the {what} there, folder {base} is not writable")


def check_file_target(path: str | Path, what: str = "output file") -> Path:
    """Raise a one-line ``UsageError`` naming ``path`` unless ``atomic_path`` can write it as a file: it is
    not a folder, an existing file is a regular file, and its folder exists or can be created. Writes nothing,
    so it can run before any expensive or irreversible step."""
    path = Path(path)
    try:
        if path.is_dir():
            raise UsageError(f"{path}: is a folder; give a file path for the {what}")
        if path.exists() and not path.is_file():
            raise UsageError(f"{path}: is not a regular file; give a file path for the {what}")
        _check_parent(path, what)
    except OSError as err:
        raise UsageError(f"{path}: cannot use it as the {what} ({err.strerror or err})") from None
    return path


def check_dir_target(path: str | Path, what: str = "output folder") -> Path:
    """Raise a one-line ``UsageError`` naming ``path`` unless it is a folder, or can be created as one (no file
    in the way, a writable existing ancestor). Creates nothing."""
    path = Path(path)
    try:
        if path.is_symlink() and not path.exists():  # mkdir would fail on it, after the expensive part
            raise UsageError(f"{path}: is a link to {os.readlink(path)}, which does not exist; create that folder "
                             f"or give another {what}")
        if path.exists():
            if not path.is_dir():
                raise UsageError(f"{path}: is a file, not a folder; give a folder path for the {what}")
            if not os.access(path, os.W_OK | os.X_OK):
                raise UsageError(f"{path}: folder is not writable; choose another {what}")
        else:
            _check_parent(path, what)
    except OSError as err:
        raise UsageError(f"{path}: cannot use it as the {what} ({err.strerror or err})") from None
    return path


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """UTF-8; a path in ``text`` that the locale could not decode (``LC_ALL=C``) keeps its own bytes."""
    return atomic_write_bytes(path, text.encode("utf-8", "surrogateescape"))


def atomic_save_npz(path: str | Path, **arrays: np.ndarray) -> Path:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return atomic_write_bytes(path, buf.getvalue())


def file_digest(path: str | Path, algorithm: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, algorithm).hexdigest()


def sha256_file(path: str | Path) -> str:
    return file_digest(path, "sha256")


def md5_file(path: str | Path) -> str:
    """md5 only where the official CIFAR-10 checksums are md5."""
    return file_digest(path, "md5")


def lock_at_once(fh) -> bool:
    """Take an exclusive flock on the open file if nobody holds it; False when another process does."""
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def lock_folder(path: str | Path) -> int | None:
    """An open descriptor of the folder ``path`` holding an exclusive flock on it, or None when another process
    holds one (or the file system cannot lock). Closing it, or the death of its process, releases the lock, so a
    folder nobody holds belongs to no live process; the lock is on the folder itself, seen by every process and
    user, and leaves no file behind."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        return _flock_or_close(fd)
    except OSError:
        return None


def _flock_or_close(fd: int) -> int:
    """``fd`` holding an exclusive flock taken without waiting; closed on failure (``BlockingIOError``: another
    process holds it; another ``OSError``: the file system cannot lock)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise
    return fd


def claim_folder(path: str | Path, busy: str, held: contextlib.ExitStack) -> None:
    """Hold an flock on the folder ``path`` until ``held`` closes, or raise ``RunError(busy)`` if another process
    holds it. A file system without locks (some network mounts) is not a reason to refuse: the folder then goes
    unguarded, as it did before, and so does one that cannot be opened for reading. Leaves no file behind."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        held.callback(os.close, _flock_or_close(fd))
    except BlockingIOError:
        raise RunError(busy) from None
    except OSError:
        return


def _user_name(uid: int) -> str:
    try:
        return f"user {pwd.getpwuid(uid).pw_name}"
    except KeyError:
        return f"user id {uid}"


def private_folder(folder: Path) -> Path:
    """``folder`` made (0700) where missing; one already there must be a folder of this user's that no one else
    can write, or a one-line ``UsageError`` names it, its owner and the cure. In a shared /tmp another user can
    make the folder first: whoever can write into it can hold our locks (every command refused) or plant links."""
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    st = os.lstat(folder)
    if st.st_uid != os.getuid():
        raise UsageError(f"{folder}: belongs to {_user_name(st.st_uid)}, not to you, who could hold or fake "
                         f"kaggle-kit's locks in it; set TMPDIR to a folder only you can write (e.g. `mkdir -m 700 "
                         f"~/tmp; export TMPDIR=~/tmp`), or have it removed")
    if not stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{folder}: is not a folder (owned by you); kaggle-kit keeps its locks there: remove it")
    if st.st_mode & 0o022:
        raise UsageError(f"{folder}: other users can write into it (mode {stat.S_IMODE(st.st_mode):o}, owned by "
                         f"you), so they could hold or fake kaggle-kit's locks in it; `chmod 700 {folder}`")
    return folder


@contextlib.contextmanager
def one_at_a_time(key: str, busy: str) -> Iterator[None]:
    """Hold the lock named ``key`` while the block runs, or raise ``RunError(busy)`` at once if another process
    holds it. The lock file lives in a per-user temporary folder, so it leaves nothing in the user's folders, and
    the OS releases it when its process dies, so it never goes stale."""
    folder = private_folder(Path(tempfile.gettempdir()) / f"kaggle-kit-locks-{os.getuid()}")
    with held_lock(folder / f"{hashlib.sha256(os.fsencode(key)).hexdigest()[:20]}.lock", busy):
        yield


def check_not_held(path: Path, busy: str) -> None:
    """Raise ``RunError(busy)`` if another process holds the flock ``held_lock`` takes on ``path``; creates
    nothing (no file, no lock: nobody can hold a lock whose file does not exist)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except (FileNotFoundError, NotADirectoryError):
        return
    with os.fdopen(fd) as fh:
        if not lock_at_once(fh):
            raise RunError(busy)


@contextlib.contextmanager
def held_lock(path: Path, busy: str) -> Iterator[None]:
    """Hold an flock on the file ``path`` (created, never removed: the OS releases the lock when its process dies)
    while the block runs, or raise ``RunError(busy)`` at once if another process holds it."""
    with open(path, "a") as fh:
        if not lock_at_once(fh):
            raise RunError(busy)
        yield
