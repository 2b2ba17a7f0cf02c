"""A writable folder for matplotlib's config and font cache where the home folder cannot hold one (a read-only HOME
in a container or CI job, HOME a file or unset).

matplotlib then makes a throwaway folder in each process, rebuilds its font cache there, and logs two warnings that
the toolkit's own output does not want. Each toolkit module that imports matplotlib calls ``ensure_writable_folder``
just before (matplotlib reads ``MPLCONFIGDIR`` at its first import), so a command that draws nothing makes no folder;
it changes nothing where the default folders are usable or where ``MPLCONFIGDIR`` is set.
"""
from __future__ import annotations

import atexit
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

ENV = "MPLCONFIGDIR"


def default_folders() -> list[Path]:
    """Where matplotlib keeps its config and its cache without ``MPLCONFIGDIR`` (as its
    ``_get_config_or_cache_dir`` finds them); raises RuntimeError where there is no home folder."""
    home = Path.home()
    if sys.platform.startswith(("linux", "freebsd")):
        return [Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config", "matplotlib"),
                Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache", "matplotlib")]
    if sys.platform == "win32" and not (home / ".matplotlib").is_dir() and os.environ.get("LOCALAPPDATA"):
        return [Path(os.environ["LOCALAPPDATA"], "matplotlib")]
    return [home / ".matplotlib"]


def can_hold(folder: Path) -> bool:
    """Whether matplotlib's ``mkdir -p`` of ``folder`` gives a writable folder, judged without making it (a
    command that draws nothing should leave no folder behind)."""
    for f in (folder, *folder.parents):
        if os.path.lexists(f):
            return f.is_dir() and os.access(f, os.W_OK | os.X_OK)
    return False


def _own_folder() -> str:
    """One folder per user under the temporary folder, kept between runs so the font cache is built once; a fresh
    one (removed at exit) if that name is taken by anything but a private folder of this user's."""
    uid = getattr(os, "getuid", lambda: None)()
    path = Path(tempfile.gettempdir(), f"kaggle-kit-matplotlib-{uid if uid is not None else 'user'}")
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        st = path.lstat()
        if stat.S_ISDIR(st.st_mode) and (uid is None or (st.st_uid == uid and not st.st_mode & 0o077)):
            return str(path)
    except OSError:
        pass
    fresh = tempfile.mkdtemp(prefix="kaggle-kit-matplotlib-")
    atexit.register(shutil.rmtree, fresh, True)
    return fresh


def ensure_writable_folder() -> None:
    if os.environ.get(ENV):
        return
    try:
        if all(can_hold(f) for f in default_folders()):
            return
    except RuntimeError:  # no home folder
        pass
    try:
        os.environ[ENV] = _own_folder()
    except OSError:  # no writable temporary folder either: matplotlib says so itself
        pass
