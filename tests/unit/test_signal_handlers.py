"""interrupts' handler swaps, in this process: what each block leaves installed after it."""
from __future__ import annotations

import signal

import pytest

from kaggle_kit.interrupts import SIGNALS, Terminated, signals_held, stopped_once, terminate_as_interrupt


@pytest.fixture()
def handlers():
    """This process's SIGINT and SIGTERM handlers, put back after the test."""
    saved = {s: signal.getsignal(s) for s in SIGNALS}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


@pytest.fixture()
def set_outside_python(handlers, monkeypatch):
    """SIGINT and SIGTERM handled as by a program embedding Python: ``signal`` reads such a handler as None, and
    cannot put it back."""
    def outside(signum, frame):  # noqa: ARG001
        pytest.fail("the outside handler cannot run again once replaced")

    real_signal, real_get = signal.signal, signal.getsignal
    seen = lambda handler: None if handler is outside else handler  # noqa: E731
    monkeypatch.setattr(signal, "signal", lambda s, handler: seen(real_signal(s, handler)))
    monkeypatch.setattr(signal, "getsignal", lambda s: seen(real_get(s)))
    for s in SIGNALS:
        real_signal(s, outside)
    return real_get


def test_a_handler_set_outside_python_gives_way_to_pythons_default_after_a_held_block(set_outside_python):
    """Was: the block's catching handler stayed, and every later Ctrl-C and kill was swallowed without a word."""
    with signals_held():
        pass
    assert set_outside_python(signal.SIGINT) is signal.default_int_handler
    assert set_outside_python(signal.SIGTERM) is signal.SIG_DFL
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)


def test_a_handler_set_outside_python_gives_way_to_the_default_after_terminate_as_interrupt(set_outside_python):
    """Was: SIGTERM kept raising ``Terminated`` after the block, wherever the process then was."""
    with terminate_as_interrupt():
        assert set_outside_python(signal.SIGTERM) is not signal.SIG_DFL
    assert set_outside_python(signal.SIGTERM) is signal.SIG_DFL


@pytest.mark.parametrize("held", [(signal.SIGTERM, signal.SIGINT), (signal.SIGINT, signal.SIGTERM)])
def test_a_held_kill_acts_after_the_block_whichever_came_first_and_the_handlers_are_put_back(handlers, held):
    """Was: only the first held signal acted, so a Ctrl-C then a ``kill`` in one held step exited 130, not 143."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with terminate_as_interrupt():
        with pytest.raises(Terminated):
            with signals_held():
                for s in held:
                    signal.raise_signal(s)
        with pytest.raises(KeyboardInterrupt):  # SIGINT's own handler is back
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


@pytest.mark.parametrize("first, raised", [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, Terminated)])
def test_stopped_once_raises_the_first_signal_and_ignores_the_next_during_the_cleanup(handlers, first, raised):
    before = {s: signal.getsignal(s) for s in SIGNALS}
    cleaned = []
    with pytest.raises(raised) as info:
        with stopped_once():
            try:
                signal.raise_signal(first)
            finally:
                signal.raise_signal(signal.SIGTERM)  # the parent's, while this cleanup runs
                signal.raise_signal(signal.SIGINT)
                cleaned.append(True)
    assert type(info.value) is raised and cleaned == [True]
    assert {s: signal.getsignal(s) for s in SIGNALS} == before


def test_stopped_once_takes_two_signals_that_arrive_together_without_a_word(handlers, monkeypatch):
    """Ctrl-C reaches a member's child, and its parent's SIGTERM follows at once: both can be pending when the first
    handler runs. Handing the second to SIG_IGN then made Python print 'OSError: Signal 15 ignored due to race
    condition' with a traceback, into the log the parent copies."""
    import sys
    import threading

    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)  # where Python reports it
    with pytest.raises(KeyboardInterrupt):  # SIGINT's, or Terminated (SIGTERM's): the first one handled
        with stopped_once():
            signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
            try:
                signal.pthread_kill(threading.get_ident(), signal.SIGINT)  # to this thread, which holds them back
                signal.pthread_kill(threading.get_ident(), signal.SIGTERM)
            finally:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)  # both delivered now, before Python handles one
            for _ in range(100):
                pass
    for _ in range(100):  # the second, if still pending, is handled here
        pass
    assert [str(u.exc_value) for u in unraisable] == []


@pytest.mark.parametrize("signum, raised", [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, Terminated)])
def test_a_signal_in_a_held_block_acts_only_once_the_block_is_over(handlers, signum, raised):
    """A signal left out of the handler swap would stop the held step half way (an accepted upload unrecorded)."""
    done = []
    with terminate_as_interrupt():
        with pytest.raises(raised):
            with signals_held():
                signal.raise_signal(signum)
                done.append(True)
    assert done == [True]


@pytest.mark.parametrize("block", [signals_held, terminate_as_interrupt, stopped_once])
def test_outside_the_main_thread_a_block_runs_and_changes_no_handler(block):
    """Swapping handlers there too would raise ValueError (only the main thread may set one) instead of running."""
    import threading

    before, seen = signal.getsignal(signal.SIGTERM), []

    def work():
        try:
            with block():
                seen.append(signal.getsignal(signal.SIGTERM))
        except ValueError as err:
            seen.append(err)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(10)
    assert seen == [before]
