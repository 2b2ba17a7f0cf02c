"""``python -m kaggle_kit.testing.fake_kaggle``'s Ctrl-C: a clean stop (exit 0, server closed) wherever it lands.

A SIGINT that arrived while the banner was still being printed, before the wait loop's ``try``, ended the demo
server with a traceback and exit status -2 (seen once in CI under load, in
``tests/e2e/test_fake_kaggle.py::test_standalone_server_for_demos``)."""
from __future__ import annotations

import urllib.request

import pytest

from kaggle_kit.testing import fake_kaggle


def run_main(argv: list[str]) -> int:
    try:
        return fake_kaggle.main(argv)
    except KeyboardInterrupt:  # escaping, it would stop the whole test session
        pytest.fail("Ctrl-C escaped main() as a traceback")


@pytest.mark.parametrize("at_line", [1, 6])
def test_ctrl_c_while_the_banner_is_printed_stops_cleanly(monkeypatch, at_line):
    lines, urls = [], []
    real_enter = fake_kaggle.FakeKaggle.__enter__

    def enter(self):
        urls.append(real_enter(self).url)
        return self

    def printed(*args, **kwargs):
        lines.append(" ".join(map(str, args)))
        if len(lines) == at_line:
            raise KeyboardInterrupt

    monkeypatch.setattr(fake_kaggle.FakeKaggle, "__enter__", enter)
    monkeypatch.setattr(fake_kaggle, "print", printed, raising=False)
    monkeypatch.setattr(fake_kaggle.time, "sleep", lambda s: pytest.fail("the wait loop was reached"))
    assert run_main(["--daily-limit", "2"]) == 0
    assert lines[-1] == "stopped" and len(lines) == at_line + 1
    with pytest.raises(OSError):  # the server was shut down on the way out
        urllib.request.urlopen(urls[0], timeout=2)


def test_ctrl_c_in_the_wait_loop_stops_cleanly(monkeypatch, capsys):
    def sleep(seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr(fake_kaggle.time, "sleep", sleep)
    assert run_main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("fake Kaggle server on http://127.0.0.1:") and out.endswith("press Ctrl-C to stop\nstopped\n")
