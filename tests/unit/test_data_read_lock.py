"""Every read of the data folder takes its read lock through one helper (``datapaths.reading_data``), from the moment
the folder is looked in until the files are loaded, in real processes: `train`, `submit`'s competition pickle, an
ensemble member's child, the pipeline's data stage and `data verify`.

Before, `train`, `submit` and the member children loaded without the lock (a download could move new files in
between finding the folder and loading it, or half-way through the load), and every reader chose the folder
without it: one started during a move waited only by accident, in the undo of a killed move, saying so in a line
that blamed a reader and a killed download."""
from __future__ import annotations

import os
import queue
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from test_data_concurrency import _data

ROOT = Path(__file__).resolve().parents[2]

# a download's move into argv[1] from the staging folder argv[2]; with argv[3] == "pause" it stops (holding the
# folder's exclusive lock, its journal written) once every old file is moved aside, before the first new one is in
MOVER = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from kaggle_kit import staged_move

    dest, staging, pause = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "pause"
    real, paused = os.replace, []

    def replace(src, dst, *args, **kwargs):
        if pause and not paused and Path(src).is_relative_to(staging / "files"):
            paused.append(True)
            print("moving", flush=True)
            sys.stdin.readline()
        return real(src, dst, *args, **kwargs)

    os.replace = replace
    staged_move.move_into(staging, dest)
    print("moved", flush=True)
""")

# one kind of reader (argv[1]) reading the data folder argv[2] twice: the first started while a move holds the
# folder (it says "blocked" when it has to wait), the second stopping just before it loads, until a line on stdin
READER = textwrap.dedent("""
    import argparse, json, os, sys
    from pathlib import Path
    from types import SimpleNamespace
    import kaggle_kit.data as data_mod
    from kaggle_kit import staged_move

    which, dest, tmp = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    real_blocked = staged_move._blocked

    def blocked(*args):
        print("blocked", flush=True)
        real_blocked(*args)

    staged_move._blocked = blocked
    state = {"read": 0, "paused": False}

    def loud(name, first):
        real = getattr(data_mod, name)

        def load(*args, **kwargs):
            if state["read"] == 2 and not state["paused"]:  # the second read's first load
                state["paused"] = True
                print("paused", flush=True)
                sys.stdin.readline()
            out = real(*args, **kwargs)
            print(f"loaded {int(first(out))}", flush=True)
            return out

        setattr(data_mod, name, load)

    loud("load_cifar10", lambda d: d.train_labels[0])
    loud("load_competition", lambda c: c.images.flat[0])

    def read():
        state["read"] += 1
        if which == "train":
            from kaggle_kit.cli import main
            import kaggle_kit.train
            from kaggle_kit.train.loop import TrainResult

            kaggle_kit.train.train_run = lambda cfg, data, folder, **k: TrainResult(folder, None, None, 1, 0.0)
            (tmp / "p.yaml").write_text("name: u\\nmodel: {name: tinycnn}\\n")
            assert main(["train", str(tmp / "p.yaml"), "--data-dir", str(dest), "--runs-root", str(tmp / "runs")]) == 0
        elif which == "submit":
            from kaggle_kit.commands.submit import _competition
            _competition(argparse.Namespace(against=None, data_dir=str(dest), competition="c"))
        elif which == "member":
            from kaggle_kit import member_jobs
            import kaggle_kit.train

            kaggle_kit.train.train_run = lambda *a, **k: SimpleNamespace(holdout_acc=None, test_acc=None,
                                                                         epochs_done=1, seconds=0.0, stopped_epoch=None)
            spec = tmp / "spec" / "0.json"
            spec.parent.mkdir(exist_ok=True)
            spec.write_text(json.dumps({"config": {"name": "u", "model": {"name": "tinycnn"}}, "data_dir": str(dest),
                                        # what the child read before
                                        "cifar_dir": str(dest / "cifar-10-python" / "cifar-10-batches-py"),
                                        "run_dir": str(tmp / "run"), "resume": False, "progress": False,
                                        "threads": 1, "result": str(tmp / "spec" / "0.result.json"),
                                        "parent": os.getppid()}))
            assert member_jobs.child_main(str(spec)) == 0, (tmp / "spec" / "0.result.json").read_text()
        elif which == "pipeline":
            from kaggle_kit.pipeline import read_data
            read_data(dest, "c")
        elif which == "verify":
            from kaggle_kit.cli import main
            main(["data", "verify", "--data-dir", str(dest), "--no-md5"])

    read()
    read()
    print("done", flush=True)
""")


def _start(tmp_path: Path, script: str, *args: str) -> tuple[subprocess.Popen, "queue.Queue[str]"]:
    """A process running ``script``; its stdout and stderr lines, in order, come through the queue."""
    env = {k: v for k, v in os.environ.items() if k != "KAGGLE_KIT_DATA"}
    proc = subprocess.Popen([sys.executable, "-c", script, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)})
    lines: "queue.Queue[str]" = queue.Queue()

    def pump() -> None:
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put("<exit>")

    threading.Thread(target=pump, daemon=True).start()
    return proc, lines


def _next(lines: "queue.Queue[str]", what: str, skip: tuple[str, ...] = ()) -> str:
    """The next line but those starting with ``skip`` (the reader's own output: a note, verify's report)."""
    while True:
        try:
            line = lines.get(timeout=120)
        except queue.Empty:
            pytest.fail(f"no line from the {what} in 120 s")
        if not line.startswith(skip):
            return line


def _go(proc: subprocess.Popen) -> None:
    proc.stdin.write("\n")
    proc.stdin.flush()


# the lines a reader prints besides the test's own: `train`'s and `verify`'s reports
OWN = ("note:", "run ", "CIFAR-10:", "  ", "competition:", "problem:", "error:", "data OK", "md5:")


@pytest.mark.parametrize("which", ["train", "submit", "member", "pipeline", "verify"])
def test_every_reader_of_the_data_folder_waits_for_a_move_and_a_move_for_it(tmp_path, which):
    dest = tmp_path / "D"
    _data(dest, seed=1)
    for seed in (2, 3):
        _data(tmp_path / "D" / f".download-seed000{seed}" / "files", seed=seed)
        (dest / f".download-seed000{seed}" / "archive").mkdir()
    procs = []
    try:
        # 1. a reader started while a download moves its files in waits for it, silently, then reads the new files
        mover, moved = _start(tmp_path, MOVER, str(dest), str(dest / ".download-seed0002"), "pause")
        procs.append(mover)
        assert _next(moved, "move") == "moving"  # every old file is moved aside; no new one is in yet
        reader, read = _start(tmp_path, READER, which, str(dest), str(tmp_path))
        procs.append(reader)
        assert _next(read, "reader", OWN) == "blocked"  # before (member): loaded, or failed on the missing batches
        _go(mover)
        assert _next(moved, "move") == "moved"
        assert _next(read, "reader", OWN) == "loaded 2"  # before: 'waiting for D: ... a killed download's move ...'
        if which in ("pipeline", "verify"):  # these load the competition pickle too, under the same hold
            assert _next(read, "reader", OWN) == "loaded 2"

        # 2. a download that starts moving while a reader has found the folder but not yet loaded it waits for it
        assert _next(read, "reader", OWN) == "paused"
        mover2, moved2 = _start(tmp_path, MOVER, str(dest), str(dest / ".download-seed0003"), "go")
        procs.append(mover2)
        assert _next(moved2, "second move") == (  # before (train, submit, member): moved, so the reader loaded 3s
            f"waiting for {dest}: another kaggle-kit command is reading the data (the downloaded files move in once "
            f"it has read them)")
        _go(reader)
        assert _next(read, "reader", OWN) == "loaded 2"
        if which in ("pipeline", "verify"):
            assert _next(read, "reader", OWN) == "loaded 2"
        assert _next(read, "reader", OWN) == "done"
        assert _next(moved2, "second move") == "moved"
        for proc in procs:
            assert proc.wait(60) == 0
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
