"""interrupts' handler swaps, in this process: what each block leaves installed after it."""
from __future__ import annotations

import signal

import pytest

from kaggle_kit.interrupts import SIGNALS, Terminated, signals_held, terminate_as_interrupt


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


def test_a_held_signal_acts_after_the_block_and_the_handlers_are_put_back(handlers):
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with terminate_as_interrupt():
        with pytest.raises(Terminated):
            with signals_held():
                signal.raise_signal(signal.SIGTERM)
                signal.raise_signal(signal.SIGINT)
        with pytest.raises(KeyboardInterrupt):  # SIGINT's own handler is back
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


