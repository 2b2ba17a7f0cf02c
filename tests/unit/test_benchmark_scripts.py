"""Every script under ``benchmarks/`` still imports and parses its arguments.

No CI job runs the benchmarks (they take minutes to hours), so an import of a moved or renamed function would rot
unseen until someone reruns the command ``RESULTS.md`` records. ``--help`` runs each script's ``__main__`` block as
that command does, in this process (its imports are shared with the other tests, so this costs little).
"""
from __future__ import annotations

import importlib
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
SCRIPTS = sorted(p for p in BENCH.glob("*.py") if 'if __name__ == "__main__":' in p.read_text(encoding="utf-8"))
LIBRARIES = sorted(p for p in BENCH.glob("*.py") if p not in SCRIPTS)


def test_the_benchmarks_folder_is_found():
    assert len(SCRIPTS) >= 10 and {p.name for p in LIBRARIES} >= {"bench_models.py", "heldout_families.py"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_prints_its_usage(script, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(BENCH))  # as `python benchmarks/x.py` puts the script's folder first
    monkeypatch.setattr(sys, "argv", [str(script), "--help"])
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(script), run_name="__main__")
    assert done.value.code in (0, None)
    assert capsys.readouterr().out.startswith(f"usage: {script.name}")


@pytest.mark.parametrize("library", LIBRARIES, ids=lambda p: p.name)
def test_library_imports(library, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    importlib.import_module(library.stem)


@pytest.mark.parametrize("script, args", [("bench_data.py", ["--repeats", "1"]), ("bench_memory.py", []),
                                          ("bench_report.py", ["--repeats", "1"]),
                                          ("bench_report.py", ["--upload", "--repeats", "1"]),
                                          ("bench_gap.py", ["--no-write"]), ("bench_gap_novel.py", ["--no-write"]),
                                          ("bench_cc_deviation.py", []), ("probe_collapse.py", []),
                                          ("bench_domain_ci.py", []), ("bench_bn_adapt.py", [])])
def test_missing_data_stops_a_benchmark_with_one_error_line(script, args, tmp_path, monkeypatch):
    """Not a traceback from deep inside a loader or a child process, and nothing measured."""
    import torch

    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)  # the gap scripts' one thread: not this worker's
    monkeypatch.syspath_prepend(str(BENCH))
    monkeypatch.setenv("KAGGLE_KIT_SHARED_DATA", str(tmp_path))
    monkeypatch.setattr(sys, "argv", [str(BENCH / script), *args])
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(BENCH / script), run_name="__main__")
    message = str(done.value.code)
    assert message.startswith("error: ") and "\n" not in message and str(tmp_path) in message


ROWS_SCRIPTS = sorted(p.name for p in SCRIPTS if p.name.startswith("bench_gap") and "--rows" in p.read_text())


def test_the_scripts_that_take_saved_rows_are_found():
    assert ROWS_SCRIPTS == ["bench_gap.py", "bench_gap_novel.py"]


def _unreadable(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / "rows.csv"
    if kind == "folder":
        path.mkdir()
    elif kind == "empty":
        path.write_text("")
    return path


@pytest.mark.parametrize("script, kind", [("bench_gap.py", "missing"), ("bench_gap_novel.py", "empty")])
def test_a_rows_csv_that_cannot_be_read_stops_with_one_error_line(script, kind, tmp_path):
    """``--rows FILE`` of a mistyped or empty file printed pandas' traceback; in a subprocess, as the command runs
    (a torch import each: the other kinds of file are read in this process below)."""
    path = _unreadable(tmp_path, kind)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(BENCH.parent), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, str(BENCH / script), "--rows", str(path), "--no-write"], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith(f"error: cannot read the rows CSV {path}: ") and proc.stderr.count("\n") == 1, \
        proc.stderr
    assert list(tmp_path.iterdir()) == ([] if kind == "missing" else [path])  # nothing written


@pytest.mark.parametrize("kind, why", [("missing", "No such file or directory"), ("folder", "Is a directory"),
                                       ("empty", "No columns to parse from file")])
def test_saved_rows_read_through_one_helper_that_names_the_file(kind, why, tmp_path, monkeypatch, capsys):
    """``--confirm`` and ``--others`` (bench_gap_ledger.py, bench_gap_public_split.py) read through it too."""
    monkeypatch.syspath_prepend(str(BENCH))
    bench_gap = importlib.import_module("bench_gap")
    path = _unreadable(tmp_path, kind)
    with pytest.raises(SystemExit) as done:
        bench_gap.saved_rows([path])
    assert done.value.code == 2 and capsys.readouterr().err == f"error: cannot read the rows CSV {path}: {why}\n"


def test_tables_written_elsewhere_keep_their_rows_and_re_render_from_them(tmp_path, monkeypatch, capsys):
    """``--tables`` (seed studies, subsets) saved no rows: the next session re-parsed the markdown to explore them.
    The evaluation (monkeypatched: the recorded rows) now leaves ``t.rows.csv`` beside ``t.md``, and ``--rows``
    renders the same tables from it; the recorded files are left alone."""
    monkeypatch.syspath_prepend(str(BENCH))
    bench_gap = importlib.import_module("bench_gap")
    rows = bench_gap.with_combined(bench_gap.recorded_rows())
    clean = rows[rows["set"] == "clean"].set_index("model")["true_acc"]
    rows["holdout_acc"] = rows["model"].map(clean)  # the per-set table has no holdout accuracies
    monkeypatch.setattr(bench_gap, "evaluate", lambda models, leave_out: rows)
    monkeypatch.setattr(bench_gap.torch, "set_num_threads", lambda n: None)  # the later tests' threads stay theirs
    recorded = {p: p.read_bytes() for p in (BENCH / "RESULTS_gap.md", bench_gap.MEASURED_ERROR_JSON)}
    assert bench_gap.main(["--tables", str(tmp_path / "t.md")]) == 0
    saved = tmp_path / "t.rows.csv"
    assert f"rows: {saved} (re-render with --rows {saved}" in capsys.readouterr().out
    assert bench_gap.main(["--rows", str(saved), "--tables", str(tmp_path / "t2.md")]) == 0
    first, again = ((tmp_path / n).read_text().split("\n", 1) for n in ("t.md", "t2.md"))
    assert again[0] == f"Rows re-rendered from {saved}" and first[1] == again[1] and "| Median-4 |" in first[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.md", "t.rows.csv", "t2.md"]
    assert all(p.read_bytes() == b for p, b in recorded.items())


def test_every_script_runs_its_main_through_the_entry_helper():
    """``entry.run``: no empty ``torchinductor_<user>`` folder left in the temporary folder, as the CLI leaves none
    (the scripts left one after every training or optimizer step), and a toolkit error as one line.
    ``bench_report.py`` does both in its parent process only: its children import the baseline's code."""
    def goes_through(p: Path) -> bool:
        text = p.read_text(encoding="utf-8")
        return 'if __name__ == "__main__":\n    entry.run(main)\n' in text or (
            p.name == "bench_report.py" and "remove_at_exit_if_left_empty()" in text and "except KitError" in text)

    assert [p.name for p in SCRIPTS if not goes_through(p)] == []


def test_the_entry_helper_turns_a_toolkit_error_into_one_line_and_passes_the_status(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    entry = importlib.import_module("entry")
    from kaggle_kit.errors import DataFormatError

    monkeypatch.setattr(entry, "remove_at_exit_if_left_empty", lambda: None)  # not this pytest process's exit

    def broken():
        raise DataFormatError("/x/cifar-10-batches-py: missing CIFAR-10 file test_batch")

    with pytest.raises(SystemExit) as done:
        entry.run(broken)
    assert done.value.code == "error: /x/cifar-10-batches-py: missing CIFAR-10 file test_batch"
    for status in (0, 2, None):
        with pytest.raises(SystemExit) as done:
            entry.run(lambda: status)
        assert done.value.code == status


def test_a_training_benchmark_leaves_its_temporary_folder_as_it_found_it(tmp_path):
    """The smallest real case: one optimizer step at a time on random images, in a child with its own TMPDIR."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    env.pop("TORCHINDUCTOR_CACHE_DIR", None)
    proc = subprocess.run([sys.executable, str(BENCH / "bench_train.py"), "--model", "resnet8", "--images", "64",
                           "--batch-size", "32", "--epochs", "1", "--repeats", "1", "--threads", "1", "--workers", "0"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "| batched cutout on cpu |" in proc.stdout and list(tmp_path.iterdir()) == []
