"""What every benchmark script's ``__main__`` does around its ``main``, as the CLI does around a command.

Torch's empty compile-cache folder (``torchinductor_<user>``) that a run made is removed at exit
(``kaggle_kit.torchcache``), and a toolkit error, such as shared data that is missing or unreadable, ends the
script with one ``error:`` line and exit status 1 instead of a traceback from deep inside a loader.
"""
from __future__ import annotations

from typing import Callable, NoReturn

from kaggle_kit.errors import KitError
from kaggle_kit.torchcache import remove_at_exit_if_left_empty


def run(main: Callable[[], int | None]) -> NoReturn:
    remove_at_exit_if_left_empty()
    try:
        status = main()
    except KitError as e:
        raise SystemExit(f"error: {e}") from None
    raise SystemExit(status)
