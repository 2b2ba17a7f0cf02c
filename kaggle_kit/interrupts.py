"""Ctrl-C and ``kill`` take one path: each ends a command where it is, with every cleanup run.

Python's default SIGTERM ends the process at once, without ``finally`` blocks: temporary files beside outputs,
a ``TemporaryDirectory`` and the fake server's children stayed behind, and the exit had no word on stderr. Raised
as ``Terminated`` (a ``KeyboardInterrupt``), a SIGTERM (a ``kill``, a CI timeout, a container stop) unwinds as
Ctrl-C does. ``signals_held`` keeps both out of the few steps that must finish once begun (a ledger row for an
upload Kaggle has accepted). ``stopped_once`` is for a child that its parent stops: only the first signal acts.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process was; the CLI exits 143 (128 + SIGTERM) after the cleanups."""


def _raise_terminated(signum, frame):  # noqa: ARG001 - the signal module's signature
    raise Terminated()


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _put_back(signum: int, old) -> None:
    """``old`` as ``signum``'s handler again. ``signal.signal`` answers None for a handler set outside Python (an
    embedding program's), which cannot be put back: Python's own default takes its place (Ctrl-C raises
    KeyboardInterrupt, SIGTERM ends the process) rather than the block's handler staying, which would keep
    catching, or swallowing, every later signal."""
    if old is None:
        old = signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL
    signal.signal(signum, old)


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises ``Terminated`` while the block runs (the previous handler is put back after it); outside
    the main thread, where no handler can be set, nothing changes."""
    if not _main_thread():
        yield
        return
    old = signal.getsignal(signal.SIGTERM)  # read first: a signal as the handler is swapped still finds it put back
    try:
        signal.signal(signal.SIGTERM, _raise_terminated)
        yield
    finally:
        _put_back(signal.SIGTERM, old)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block is over, then act as usual (raised again, to the handlers that
    were there before): for a step that must not stop half way, however short, since a Ctrl-C could otherwise
    land inside it. The handlers are swapped rather than the signals masked: Python runs its handlers in the main
    thread whichever thread the OS gives a signal to, so a mask would not hold once another thread runs."""
    if not _main_thread():
        yield
        return
    caught: list[int] = []
    old = {s: signal.getsignal(s) for s in SIGNALS}  # read first: a SIGTERM between the two swaps puts SIGINT's back
    try:
        for s in SIGNALS:
            signal.signal(s, lambda signum, frame: caught.append(signum))
        yield
    finally:
        for s, handler in old.items():
            _put_back(s, handler)
    if caught:  # a kill outranks a Ctrl-C held with it: the caller (a CI timeout, a container stop) reads 143
        signal.raise_signal(signal.SIGTERM if signal.SIGTERM in caught else caught[0])


def _already_stopping(signum, frame):  # noqa: ARG001 - the signal module's signature
    """A signal after the first, in ``stopped_once``: the process is stopping already."""


@contextlib.contextmanager
def stopped_once() -> Iterator[None]:
    """``terminate_as_interrupt`` for a process that another stops (an ensemble member's training child): the
    first SIGINT or SIGTERM raises (``Terminated`` for SIGTERM) and later ones are ignored while its cleanups run.
    Ctrl-C in a terminal reaches the whole group, and the parent then sends its children SIGTERM at once: a second
    exception raised inside a ``finally`` would stop the cleanup there (a temporary file beside a checkpoint)."""
    if not _main_thread():
        yield
        return

    def first(signum, frame):  # noqa: ARG001 - the signal module's signature
        for s in SIGNALS:  # a handler that does nothing, not SIG_IGN: a signal already on its way to this one
            signal.signal(s, _already_stopping)  # would find no handler, and Python would print a traceback
        raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()

    old = {s: signal.getsignal(s) for s in SIGNALS}
    try:
        for s in SIGNALS:
            signal.signal(s, first)
        yield
    finally:
        for s, handler in old.items():
            _put_back(s, handler)
