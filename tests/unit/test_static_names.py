"""Every name the code uses is defined, and every import is used, by pyflakes over the package, the benchmarks and
the tests.

Why: some paths cannot run here (CUDA's mixed precision and grad scaler, DDP across processes, a real Kaggle
account), so a name left behind when code moves between functions would surface only on a user's GPU. Session 35's
split of ``train.loop._train_run`` left one such name (``last_path``) in a new-run path, which pyflakes names at
once. A line that imports on purpose (a fixture, a registration) says so with ``# noqa``, as flake8 reads it.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from pyflakes import api, messages
from pyflakes.reporter import Reporter

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("kaggle_kit", "benchmarks", "tests")


class _Collect(Reporter):
    def __init__(self):
        self.found: list = []
        self.broken: list[str] = []

    def flake(self, message):
        self.found.append(message)

    def syntaxError(self, filename, msg, lineno, offset, text):  # noqa: N802 (pyflakes' name)
        self.broken.append(f"{filename}:{lineno}: {msg}")

    def unexpectedError(self, filename, msg):  # noqa: N802
        self.broken.append(f"{filename}: {msg}")


def problems(source: str, filename: str = "<code>") -> list[str]:
    """pyflakes' messages for ``source``, less those on a ``# noqa`` line or redefining a name imported on one."""
    lines = source.splitlines()

    def waived(lineno: int) -> bool:
        return 0 < lineno <= len(lines) and "# noqa" in lines[lineno - 1]

    found = _Collect()
    api.check(source, filename, found)
    kept = [m for m in found.found if not waived(m.lineno)
            and not (isinstance(m, messages.RedefinedWhileUnused) and waived(m.message_args[1]))]
    return found.broken + [f"{m.filename}:{m.lineno}: {m.message % m.message_args}" for m in kept]


def test_an_undefined_name_an_unused_import_and_the_waivers():
    code = ("import os\nimport json  # noqa: F401\nfrom x import fake  # noqa: F401\n\n\n"
            "def f(fake):\n    return last_path\n")
    assert problems(code) == ["<code>:1: 'os' imported but unused", "<code>:7: undefined name 'last_path'"]
    assert problems("def f(:\n")[0].startswith("<code>:1: ")


@pytest.mark.parametrize("folder", FOLDERS)
def test_no_undefined_name_and_no_unused_import(folder):
    files = sorted((ROOT / folder).rglob("*.py"))
    assert len(files) > 5
    found = [p for f in files for p in problems(f.read_text(encoding="utf-8"), str(f.relative_to(ROOT)))]
    assert found == [], "\n".join(found)
