"""The everyday commands start without torch and the other heavy libraries.

Importing torch costs 2 s or more, and building the parser once paid it (a command module imported
``kaggle_kit.models``), so ``kaggle-kit --help`` took 2-4 s. A fresh interpreter is needed to see what a command
imports (this process has torch already), so one subprocess builds the parser, prints every command's and action's
``--help`` and validates a small CSV, then lists what it imported; ``benchmarks/bench_cli.py`` times it.
"""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "torchvision", "timm", "albumentations", "matplotlib", "sklearn", "scipy")
EVERYDAY = r"""
import contextlib, io, json, sys
from kaggle_kit.cli import build_parser, main, subcommand_names

def run(argv):
    with contextlib.redirect_stdout(io.StringIO()) as out:
        try:
            code = main(argv)
        except SystemExit as done:
            code = done.code
    return code, out.getvalue()

parser = build_parser()
ran = {"--help": run(["--help"])}
for name, sub in next(a for a in parser._actions if a.dest == "command").choices.items():
    ran[f"{name} --help"] = run([name, "--help"])
    for action in subcommand_names(sub):
        ran[f"{name} {action} --help"] = run([name, action, "--help"])
ran["validate"] = run(["validate", sys.argv[1], "--against", sys.argv[2]])
print(json.dumps({"ran": ran, "modules": sorted(sys.modules)}))
"""


def test_help_and_validate_import_no_heavy_library(tmp_path):
    pkl = tmp_path / "comp.pkl"
    pkl.write_bytes(pickle.dumps({b"data": np.zeros((3, 32, 32, 3), np.uint8), b"ids": np.array([0, 1, 2])}))
    csv = tmp_path / "s.csv"
    csv.write_text("ID,Labels\n0,1\n1,2\n2,3\n")
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, "-c", EVERYDAY, str(csv), str(pkl)], cwd=tmp_path, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": path}, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    ran = result["ran"]
    assert {"--help", "validate --help", "data verify --help", "kernel status --help"} <= set(ran)
    assert all(code == 0 and out.startswith("usage: kaggle-kit") for what, (code, out) in ran.items()
               if what != "validate"), ran
    assert ran["validate"] == [0, f"{csv}: valid (3 rows, header ID,Labels, labels 0-9)\n"]
    loaded = {m.partition(".")[0] for m in result["modules"]}
    assert not loaded & set(HEAVY), f"imported {sorted(loaded & set(HEAVY))}"


WINDOWS = """
import sys
sys.modules["fcntl"] = None  # as on Windows: `import fcntl` raises ModuleNotFoundError
from kaggle_kit.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_platform_without_fcntl_gets_one_line_not_a_traceback(tmp_path):
    """On Windows every command died importing its module (fsio and ledger import fcntl) with a traceback."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    for argv in (["models"], ["--help"]):
        done = subprocess.run([sys.executable, "-c", WINDOWS, *argv], cwd=tmp_path, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": path}, timeout=120)
        assert (done.returncode, done.stdout) == (1, ""), done.stderr
        assert done.stderr.splitlines() == ["error: kaggle-kit runs on Linux and macOS; on Windows use WSL2 "
                                            "(`wsl --install`, then install kaggle-kit inside it)"]
