"""Real data: a tiny model trained by ``train_run`` is predicted with TTA and its competition CSV validates
against the stand-in pickle. The stand-in's labels are never read here."""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from kaggle_kit.cli import main
from kaggle_kit.config import PipelineConfig, PredictConfig, from_dict
from kaggle_kit.data import CompetitionSet
from kaggle_kit.predict import predict_run, submission_from_run
from kaggle_kit.runs import load_logits, read_manifest
from kaggle_kit.submission import check_submission
from kaggle_kit.testing.recipes import tiny_recipe
from kaggle_kit.train import train_run

RECIPE = tiny_recipe(epochs=2, data={"holdout_size": 1000, "train_subset": 3000, "test_subset": 2000})


@pytest.fixture(scope="module")
def trained(cifar10, tmp_path_factory):
    torch.set_num_threads(1)
    cfg = from_dict(PipelineConfig, {"name": "predict-real", **RECIPE})
    folder = tmp_path_factory.mktemp("predict-real") / "run"
    return folder, train_run(cfg, cifar10, folder, progress=False)


def test_cli_predict_without_comp(trained, shared_data, capsys):
    folder, result = trained
    assert main(["predict", str(folder), "--tta", "none", "--no-comp", "--data-dir", str(shared_data)]) == 0
    out = capsys.readouterr().out
    assert "holdout" in out and "test" in out and "temperature" in out
    metrics = read_manifest(folder, "predict")["metrics"]
    # the same images, the same normalisation as training's own evaluation: the same accuracy
    assert metrics["test_acc_plain"] == pytest.approx(result.test_acc, abs=1e-3)
    assert not (folder / "logits_comp.npz").exists()


def test_tta_logits_and_competition_csv_validate(trained, cifar10, standin, tmp_path):
    folder, result = trained
    t0 = time.perf_counter()
    out = predict_run(folder, cifar10, standin, PredictConfig(tta="flip"), device="cpu")
    seconds = time.perf_counter() - t0
    m = read_manifest(folder, "predict")["metrics"]
    print(f"\npredict ({seconds:.1f}s): holdout plain {m['holdout_acc_plain']:.4f} tta {m['holdout_acc_tta']:.4f}; "
          f"test plain {m['test_acc_plain']:.4f} tta {m['test_acc_tta']:.4f}; T={m['temperature']:.3f}, "
          f"holdout NLL {m['holdout_nll_raw']:.4f} -> {m['holdout_nll_calibrated']:.4f}")
    assert m["test_acc_plain"] > 0.3                       # it learned something (chance is 0.1)
    assert m["holdout_nll_calibrated"] <= m["holdout_nll_raw"] + 1e-9
    hold = load_logits(folder / "logits_holdout.npz")
    assert np.array_equal(hold.ids, np.load(folder / "holdout_indices.npy"))
    assert np.array_equal(hold.labels, cifar10.train_labels[hold.ids])
    assert len(out["test"].ids) == 2000
    assert np.array_equal(out["comp"].ids, standin.ids)

    csv = submission_from_run(folder, tmp_path / "submission.csv")
    check_submission(csv, standin.ids)
    assert len(csv.read_text().splitlines()) == len(standin.ids) + 1


def test_adapting_batchnorm_recovers_accuracy_lost_to_a_contrast_change(trained, cifar10):
    """The known answer of prediction-time BatchNorm: CIFAR-10 test images at 30% contrast (labels read only here,
    to score), whose channel statistics the trained BatchNorm no longer matches."""
    folder, _ = trained
    images = cifar10.test_images[:2000].astype(np.float32)
    faded = (0.3 * (images - images.mean((0, 1, 2))) + images.mean((0, 1, 2))).round().astype(np.uint8)
    comp = CompetitionSet(faded, np.arange(2000, dtype=np.int64))
    labels = cifar10.test_labels[:2000]
    acc = {}
    for adapt in (False, True):
        out = predict_run(folder, cifar10, comp, PredictConfig(tta="none", adapt_bn=adapt), device="cpu")
        acc[adapt] = float((out["comp"].logits.argmax(1) == labels).mean())
        test_acc = read_manifest(folder, "predict")["metrics"]["test_acc_plain"]
    changed = read_manifest(folder, "predict")["metrics"]["comp_changed_by_adapt_bn"]
    print(f"\n30% contrast: trained statistics {acc[False]:.4f}, adapted {acc[True]:.4f} ({changed:.1%} changed); "
          f"clean test {test_acc:.4f}")
    assert acc[True] >= acc[False] + 0.05 and changed >= 0.05


def test_cli_predict_adapt_bn_on_the_standin_says_how_many_predictions_changed(trained, shared_data, capsys):
    folder, _ = trained
    assert main(["predict", str(folder), "--tta", "none", "--adapt-bn", "--data-dir", str(shared_data)]) == 0
    out = capsys.readouterr().out
    manifest = read_manifest(folder, "predict")
    share = manifest["metrics"]["comp_changed_by_adapt_bn"]
    assert manifest["config"]["adapt_bn"] is True and 0.0 < share < 1.0
    assert f"BatchNorm adapted to the competition images: {100 * share:.1f}% of their predictions changed" in out
