"""Two kaggle-kit commands at once in one folder, as users meet it (two terminals, `make -j`, a notebook): the
second never silently does the first one's work again, never loses its records, and a refusal is one line.

Each case starts real commands (tiny model, real CIFAR-10 subset); a test-only pause holds one of them inside the
window where the other must act.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "pipelines" / "demo.yaml"
TINY = ["model.name=tinycnn", "data.train_subset=1000", "data.holdout_size=500", "train.epochs=1",
        "train.batch_size=250", "predict.tta=none", "members=[{name: m0}]", "stages=[data,train]"]


def _env(tmp: Path) -> dict[str, str]:
    tmp.mkdir(exist_ok=True)
    return {**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(ROOT)}


def test_a_run_that_finished_while_another_read_the_data_is_reused_not_trained_again(tmp_path, shared_data,
                                                                                      monkeypatch):
    """Two runs of one pipeline with different TMPDIRs (two Slurm jobs sharing the folder): both pass the lock
    check, the first takes the lock and finishes while the second still reads the data. The second read the state
    file before its data stage, so it trained the same member again into a second folder and saved a state
    without the first run's."""
    import kaggle_kit.data as data_module
    from kaggle_kit.config import load_pipeline
    from kaggle_kit.pipeline import run_pipeline

    work = tmp_path / "w"
    work.mkdir()
    cmd = [sys.executable, "-m", "kaggle_kit", "run", str(DEMO), "--data-dir", str(shared_data), "--no-progress",
           *[a for s in TINY for a in ("--set", s)]]
    real = data_module.load_cifar10

    def first_run_finishes_meanwhile(*args, **kwargs):
        out = real(*args, **kwargs)
        other = subprocess.run(cmd, cwd=work, env=_env(tmp_path / "other-tmp"), capture_output=True, text=True,
                               timeout=120)
        assert other.returncode == 0, other.stderr
        return out

    monkeypatch.setattr(data_module, "load_cifar10", first_run_finishes_meanwhile)
    lines: list[str] = []
    run_pipeline(load_pipeline(DEMO, TINY), data_dir=shared_data, workdir=work, progress=False, echo=lines.append)
    runs = sorted(p.name for p in (work / "runs").iterdir() if p.name != "pipelines")
    assert len(runs) == 1, (runs, lines)
    assert any("train skipped" in line for line in lines), lines
    state = json.loads((work / "runs" / "pipelines" / "demo.json").read_text())
    assert [r["run_dir"] for r in state["runs"].values()] == [f"runs/{runs[0]}"]
