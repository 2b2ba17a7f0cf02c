"""The CLI where users run it, not only on the happy path: ASCII-only or C locales, non-ASCII and spaced paths,
stdout piped into a command that stops reading. Each runs ``python -m kaggle_kit`` in a subprocess with the
environment changed, as the user's shell would start it."""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kaggle_kit import ledger
from kaggle_kit.fsio import atomic_write_text, one_at_a_time

ROOT = Path(__file__).resolve().parents[2]
C_LOCALE = {"LANG": "C", "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""}  # no UTF-8 mode, ASCII
SURROGATES = "d\udcc3\udca4"  # how Python under LC_ALL=C names a folder 'dä' (its UTF-8 bytes, undecodable)


def _kit(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            **env}
    return subprocess.run([sys.executable, "-m", "kaggle_kit", *args], cwd=cwd, env=full, capture_output=True,
                          timeout=120)


@pytest.fixture()
def comp(tmp_path):
    """A three-image competition pickle and a valid CSV for it, in a folder whose name is not ASCII."""
    folder = tmp_path / "prój ect"
    folder.mkdir()
    pkl = folder / "comp.pkl"
    pkl.write_bytes(pickle.dumps({b"data": np.zeros((3, 32, 32, 3), np.uint8), b"ids": np.array([0, 1, 2])}))
    csv = folder / "sübmission.csv"
    csv.write_text("ID,Labels\n0,1\n1,2\n2,3\n")
    return folder, pkl, csv


def test_an_ascii_only_stdout_gets_escapes_not_a_traceback(comp):
    """PYTHONIOENCODING=ascii (or a terminal in a legacy code page): printing a path with 'ó' raised
    UnicodeEncodeError, exit 1 with a traceback, after the work was done."""
    folder, pkl, csv = comp
    proc = _kit(["validate", str(csv), "--against", str(pkl)], folder, PYTHONIOENCODING="ascii")
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"Traceback" not in proc.stderr
    assert proc.stdout.decode("ascii").endswith(": valid (3 rows, header ID,Labels, labels 0-9)\n")
    assert "s\\xfcbmission.csv" in proc.stdout.decode("ascii")


def test_a_dry_run_submit_under_the_c_locale_records_the_non_ascii_path_in_the_ledger(comp):
    """LC_ALL=C without UTF-8 mode: the CSV's path reaches Python as undecodable bytes (surrogates), and writing
    it into the ledger raised UnicodeEncodeError; after a real upload that lost the submission's ledger row."""
    folder, pkl, csv = comp
    proc = _kit(["submit", csv.name, "-m", "c locale", "--upload", "never", "--against", pkl.name], folder,
                **C_LOCALE)
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"Traceback" not in proc.stderr
    rows = ledger._read_rows(folder / "submissions" / "ledger.csv")
    assert [(r["file"], r["status"]) for r in rows] == [("sübmission.csv", ledger.DRY_RUN)]


def test_ledger_and_text_outputs_keep_a_c_locale_paths_bytes(tmp_path):
    path = tmp_path / "ledger.csv"
    ledger.append_row(path, file=f"{SURROGATES}/s.csv", sha256="0" * 64, message="m", status=ledger.DRY_RUN)
    assert ledger._read_rows(path)[0]["file"] == "dä/s.csv"
    assert atomic_write_text(tmp_path / "gap.md", f"runs in {SURROGATES}\n").read_bytes() == "runs in dä\n".encode()


def test_the_run_lock_takes_a_c_locale_path(tmp_path):
    """`kaggle-kit run` locks on its workdir's path: under LC_ALL=C a folder named 'dä' stopped it with
    UnicodeEncodeError before any stage ran."""
    with one_at_a_time(f"pipeline:{tmp_path}/{SURROGATES}:demo", "busy"):
        pass
