"""Two processes training into one run folder at once (`kaggle-kit train --run-dir D` or `--resume D` in two
terminals, a hand's resume while a pipeline trains that run): the second is refused in one line, the first's
files are left alone."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# a real training run into sys.argv[1], paused (test-only) just before it writes its first checkpoint
HOLDER = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[2])  # this file's folder: the data and config of the test itself
    import kaggle_kit.train.loop as loop
    from test_train_concurrency import _data_and_cfg

    from kaggle_kit.testing import pause_first_call
    pause_first_call(loop, "atomic_torch_save", "training")
    data, cfg = _data_and_cfg()
    loop.train_run(cfg, data, sys.argv[1], progress=False)
    print("finished", flush=True)
""")


def _data_and_cfg():
    import numpy as np

    from kaggle_kit.config import PipelineConfig, from_dict
    from kaggle_kit.data import Cifar10

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (200, 32, 32, 3), dtype=np.uint8)
    y = np.arange(200) % 10
    data = Cifar10(x, y, x[:50], y[:50], tuple(f"c{i}" for i in range(10)))
    cfg = from_dict(PipelineConfig, {"name": "unit", "model": {"name": "tinycnn"}, "data": {"holdout_size": 50},
                                     "train": {"epochs": 1, "batch_size": 50, "channels_last": False}})
    return data, cfg


@pytest.mark.parametrize("resume", [False, True])
def test_a_second_process_training_into_a_folder_in_use_is_refused(tmp_path, resume):
    from kaggle_kit.errors import RunError
    from kaggle_kit.train.loop import train_run

    run = tmp_path / "D"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(run), str(Path(__file__).parent)],
                              stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=tmp_path,
                              env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    try:
        assert holder.stdout.readline().strip() == "training"
        before = sorted(p.name for p in run.iterdir())
        data, cfg = _data_and_cfg()
        with pytest.raises(RunError, match=r"D: another kaggle-kit command is predicting or training into this folder "
                                           r"right now; wait for it to finish"):
            train_run(cfg, data, run, resume=resume, progress=False)
        assert sorted(p.name for p in run.iterdir()) == before  # nothing of the first's removed or written
        holder.stdin.write("\n")
        holder.stdin.close()
        assert holder.stdout.readline().strip() == "finished"
    finally:
        holder.kill()
        holder.wait()
    assert train_run(cfg, data, run, resume=True, progress=False).epochs_done == 1  # free again once it is done
