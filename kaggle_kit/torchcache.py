"""No empty ``torchinductor_<user>`` folder left in the temporary folder by a command that compiled nothing.

Importing ``torch._dynamo`` makes torch's compile cache folder (``$TMPDIR/torchinductor_<user>`` unless
``TORCHINDUCTOR_CACHE_DIR`` is set), and torch imports it on first use of much more than ``torch.compile``: an
optimizer step, ``torch.fx`` tracing, ``FlopCounterMode`` (``kaggle-kit models``). So every command that touched a
model left that folder behind, empty. The entry point calls ``remove_at_exit_if_left_empty`` first: a folder this
process saw appear is removed at exit while it is still empty; one that holds a compile cache (``train.compile``)
stays for the next run, and one that was there before, or the user's own ``TORCHINDUCTOR_CACHE_DIR``, is not touched.
"""
from __future__ import annotations

import atexit
import contextlib
import getpass
import os
import re
import tempfile
from pathlib import Path

ENV = "TORCHINDUCTOR_CACHE_DIR"


def default_folder() -> Path:
    """Where torch puts its compile cache without ``TORCHINDUCTOR_CACHE_DIR`` (as
    ``torch._inductor.runtime.cache_dir_utils.default_cache_dir`` finds it), worked out without importing torch."""
    try:
        user = getpass.getuser()
    except (KeyError, ModuleNotFoundError, OSError):
        getuid = getattr(os, "getuid", None)
        user = f"uid_{getuid()}" if callable(getuid) else "unknown_user"
    return Path(os.path.abspath(os.path.join(tempfile.gettempdir(),
                                             "torchinductor_" + re.sub(r'[\\/:*?"<>|]', "_", user))))


def remove_at_exit_if_left_empty() -> Path | None:
    """Register the removal, at exit, of torch's default cache folder if it does not exist yet and is still empty
    then; the folder it will look at, or None where there is nothing of this process's to clean."""
    if os.environ.get(ENV):
        return None
    folder = default_folder()
    if os.path.lexists(folder):
        return None
    atexit.register(_remove_if_empty, folder)
    return folder


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not empty (a compile cache), gone, or not ours to remove: leave it
        os.rmdir(folder)
