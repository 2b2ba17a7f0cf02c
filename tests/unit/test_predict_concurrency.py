"""Two predictions into one run folder at once (`kaggle-kit predict RUN --tta` while a pipeline predicts that run):
the second is refused in one line before it loads the model, so the folder never pairs one pass's holdout logits
(and the temperature fitted on them) with the other's competition logits."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# a real prediction into sys.argv[1], paused (test-only) in its first forward pass until stdin gets a line
HOLDER = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[2])  # this file's folder: the run and data of test_predict
    import kaggle_kit.predict as predict
    from kaggle_kit.config import PredictConfig
    from test_predict import synthetic_data

    from kaggle_kit.testing import pause_first_call
    pause_first_call(predict, "logits_for_images", "predicting")
    data, comp = synthetic_data()
    predict.predict_run(sys.argv[1], data, comp, PredictConfig(tta="flip", batch_size=64), device="cpu")
    print("finished", flush=True)
""")


def test_a_second_prediction_into_a_folder_in_use_is_refused(tmp_path):
    from kaggle_kit.config import PredictConfig
    from kaggle_kit.errors import RunError
    from kaggle_kit.fsio import sha256_file
    from kaggle_kit.predict import predict_run
    from kaggle_kit.runs import read_manifest
    from test_predict import make_run, synthetic_data

    run = make_run(tmp_path / "R")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(run), str(Path(__file__).parent)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=tmp_path,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert "predicting\n" in iter(holder.stdout.readline, "")
        data, comp = synthetic_data()
        with pytest.raises(RunError, match=r"R: another kaggle-kit command is predicting or training into this "
                                           r"folder right now; wait for it to finish"):
            predict_run(run, data, comp, PredictConfig(tta="none", batch_size=64), device="cpu")
        holder.stdin.write("\n")
        holder.stdin.close()
        assert "finished\n" in iter(holder.stdout.readline, "")
    finally:
        holder.kill()
        holder.wait()
    manifest = read_manifest(run, "predict")
    assert manifest["tta"].startswith("flip")  # the first pass's files, all of them, as its manifest says
    assert all(out["sha256"] == sha256_file(out["path"]) for out in manifest["outputs"].values())
