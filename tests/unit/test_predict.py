import contextlib
import json
import re

import numpy as np
import pytest
import torch
import yaml

from kaggle_kit.calibration import fit_temperature
from kaggle_kit.checkpoint import save_model
from kaggle_kit.config import DataConfig, ModelConfig, PipelineConfig, PredictConfig, TrainConfig, to_dict
from kaggle_kit.data import CLASS_NAMES, Cifar10, CompetitionSet
from kaggle_kit.errors import RunError, SubmissionError
from kaggle_kit.gap.synthetic import SyntheticLogits
from kaggle_kit.predict import Split, calibration_metrics, predict_run, submission_from_run
from kaggle_kit.runs import REFERENCE_FILE, load_logits, read_manifest
from kaggle_kit.submission import check_submission

torch.set_num_threads(1)
MODEL = "tinycnn"


def synthetic_data(seed: int = 0) -> tuple[Cifar10, CompetitionSet]:
    rng = np.random.default_rng(seed)
    img = lambda n: rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)  # noqa: E731
    data = Cifar10(img(200), rng.integers(0, 10, 200), img(60), np.repeat(np.arange(10), 6), CLASS_NAMES)
    comp = CompetitionSet(img(30), rng.permutation(np.arange(500, 530)).astype(np.int64))
    return data, comp


def make_run(folder, data_cfg: DataConfig = DataConfig(holdout_size=40), hold=None, model: str = MODEL):
    """A run folder as training leaves it: config.yaml, model.pt (untrained ``model``), holdout_indices.npy."""
    from kaggle_kit.models import create_model

    folder.mkdir(parents=True)
    cfg = PipelineConfig(data=data_cfg, model=ModelConfig(name=model), train=TrainConfig(channels_last=True))
    (folder / "config.yaml").write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))
    torch.manual_seed(0)
    save_model(folder / "model.pt", create_model(model, num_classes=10), model_name=model, model_kwargs={},
               class_names=list(CLASS_NAMES), config=to_dict(cfg))
    hold = np.sort(np.random.default_rng(1).choice(200, 40, replace=False)) if hold is None else hold
    np.save(folder / "holdout_indices.npy", hold)
    return folder


def test_predict_run_writes_all_splits_and_records_plain_vs_tta(tmp_path):
    data, comp = synthetic_data()
    run = make_run(tmp_path / "run")
    out = predict_run(run, data, comp, PredictConfig(tta="flip+translate", batch_size=64), device="cpu")
    hold = np.load(run / "holdout_indices.npy")
    h = load_logits(run / "logits_holdout.npz")
    assert np.array_equal(h.ids, hold) and np.array_equal(h.labels, data.train_labels[hold])
    assert h.logits.dtype == np.float32 and h.logits.shape == (40, 10)
    assert np.array_equal(load_logits(run / "logits_test.npz").ids, np.arange(60))
    c = load_logits(run / "logits_comp.npz")
    assert np.array_equal(c.ids, comp.ids) and c.labels is None
    assert h.temperature == pytest.approx(fit_temperature(h.logits, h.labels), rel=1e-6)
    assert {lg.temperature for lg in out.values()} == {h.temperature}
    assert c.tta.startswith("flip+translate[identity|hflip|shift:1,1")

    metrics = read_manifest(run, "predict")["metrics"]
    for key in ("holdout_acc_plain", "holdout_acc_tta", "test_acc_plain", "test_acc_tta"):
        assert 0.0 <= metrics[key] <= 1.0
    assert metrics["holdout_acc_tta"] == pytest.approx(h.accuracy)

    predict_run(run, data, None, PredictConfig(tta="none"), device="cpu")
    history = json.loads((run / "predict_metrics.json").read_text())
    assert len(history) == 2 and history[1]["tta"] == "none"
    assert history[1]["metrics"]["test_acc_plain"] == history[1]["metrics"]["test_acc_tta"]
    assert not (run / "logits_comp.npz").exists()   # no stale competition logits from the first call
    assert read_manifest(run, "predict")["comp_complete"] is False


def test_subsets_are_recorded_and_partial_comp_cannot_be_submitted(tmp_path):
    data, comp = synthetic_data()
    run = make_run(tmp_path / "run", DataConfig(holdout_size=40, test_subset=20, comp_subset=10))
    out = predict_run(run, data, comp, PredictConfig(tta="flip"), device="cpu")
    assert len(out["test"].ids) == 20 and np.bincount(out["test"].labels).tolist() == [2] * 10
    assert np.array_equal(out["comp"].ids, comp.ids[:10])
    manifest = read_manifest(run, "predict")
    assert manifest["comp_subset"] == 10 and manifest["test_subset"] == 20
    with pytest.raises(SubmissionError, match="comp_subset=10") as info:
        submission_from_run(run, tmp_path / "sub.csv")
    assert f"`kaggle-kit predict {run} --all-comp`" in str(info.value)  # a step that can be taken


def test_predict_all_comp_predicts_every_competition_image_of_a_comp_subset_run(tmp_path, monkeypatch, capsys):
    """The submission error's advice: `kaggle-kit predict RUN` alone re-read the run's comp_subset, so it could
    never make complete logits for a run trained with one."""
    from kaggle_kit.cli import main
    from kaggle_kit.datapaths import DataPaths

    data, comp = synthetic_data()
    run = make_run(tmp_path / "run", DataConfig(holdout_size=40, test_subset=20, comp_subset=10))
    monkeypatch.setattr("kaggle_kit.datapaths.reading_data",
                        lambda *a, **k: contextlib.nullcontext(DataPaths(tmp_path, tmp_path, tmp_path / "comp.pkl")))
    monkeypatch.setattr("kaggle_kit.data.load_cifar10", lambda *a, **k: data)
    monkeypatch.setattr("kaggle_kit.data.load_competition", lambda *a, **k: comp)
    assert main(["predict", str(run), "--all-comp", "--device", "cpu"]) == 0
    assert submission_from_run(run, tmp_path / "sub.csv").is_file()
    assert (run / REFERENCE_FILE).exists()  # predict.bn_reference's default, and said
    assert re.search(rf"\nand {re.escape(str(run / REFERENCE_FILE))}, the BatchNorm reference of the report's "
                     rf"Ref-Stack-Gated estimate \(\d+\.\d s; --no-bn-reference skips it\)\n", capsys.readouterr().out)
    assert main(["predict", str(run), "--all-comp", "--device", "cpu", "--no-bn-reference"]) == 0
    assert not (run / REFERENCE_FILE).exists() and read_manifest(run, "predict")["config"]["bn_reference"] is False
    assert "BatchNorm reference" not in capsys.readouterr().out


def test_submission_from_full_run_validates(tmp_path):
    data, comp = synthetic_data()
    run = make_run(tmp_path / "run")
    predict_run(run, data, comp, PredictConfig(tta="flip"), device="cpu")
    csv = submission_from_run(run, tmp_path / "sub.csv")
    check_submission(csv, comp.ids)
    assert csv.read_text().splitlines()[1].startswith(f"{comp.ids[0]},")


def test_holdout_indices_from_other_data_are_refused(tmp_path):
    data, comp = synthetic_data()
    run = make_run(tmp_path / "run", hold=np.array([3, 5, 250]))
    with pytest.raises(RunError, match="outside 0..199"):
        predict_run(run, data, comp, PredictConfig(tta="none"), device="cpu")


def test_cli_refuses_bad_tta_options_before_loading_data(tmp_path, capsys):
    from kaggle_kit.cli import main

    run = make_run(tmp_path / "run")
    missing = str(tmp_path / "no-data")
    assert main(["predict", str(run), "--tta", "flip", "--views", "hflip", "--data-dir", missing]) == 2
    assert "only used with tta: custom" in capsys.readouterr().err
    assert main(["predict", str(run), "--views", "identity", "rotate:90", "--data-dir", missing]) == 2
    assert "unknown step 'rotate:90'" in capsys.readouterr().err
    assert main(["predict", str(run), "--tta", "none", "--data-dir", missing]) == 2   # valid TTA: data missing
    assert "no competition data found" in capsys.readouterr().err


def test_a_model_with_nan_weights_is_refused_before_any_logits_are_written(tmp_path):
    from kaggle_kit.checkpoint import load_checkpoint

    data, comp = synthetic_data()
    run = make_run(tmp_path / "run")
    payload = load_checkpoint(run / "model.pt")
    state = payload["state_dict"]
    first = next(k for k, v in state.items() if v.is_floating_point())
    state[first] = torch.full_like(state[first], float("nan"))
    torch.save(payload, run / "model.pt")
    with pytest.raises(RunError, match=r"holdout logits of 40 of 40 images are NaN or infinite"):
        predict_run(run, data, comp, PredictConfig(tta="none"), device="cpu")
    assert sorted(p.name for p in run.iterdir()) == ["config.yaml", "holdout_indices.npy", "model.pt"]


def test_synthetic_logits_use_the_tta_of_the_stored_logits_not_config_yaml(tmp_path):
    """`kaggle-kit predict RUN --tta none` leaves config.yaml's tta (flip) behind; CC-Synth must compare like
    with like, and a re-prediction with another TTA must not reuse the cached synthetic logits."""
    from kaggle_kit.gap.synthetic import make_synthetic_sets
    from kaggle_kit.gap.synthetic_io import run_synthetic
    from kaggle_kit.models import create_model
    from kaggle_kit.predict import logits_for_images
    from kaggle_kit.tta import PLAIN

    data, comp = synthetic_data()
    run = make_run(tmp_path / "run")
    assert yaml.safe_load((run / "config.yaml").read_text())["predict"]["tta"] == "flip"
    predict_run(run, data, comp, PredictConfig(tta="none"), device="cpu")
    syn = run_synthetic(run, data, per_set=4)
    assert json.loads((run / "gap_synthetic.json").read_text())["tta"] == ["none", [1.0]]
    hold = load_logits(run / "logits_holdout.npz")
    sets = make_synthetic_sets(data.train_images[hold.ids], hold.labels, per_set=4, seed=0)
    torch.manual_seed(0)
    model = create_model(MODEL, num_classes=10).eval()
    plain = logits_for_images(model, sets.images, PLAIN, num_classes=10, batch_size=64, device="cpu")
    np.testing.assert_allclose(syn.logits, plain, atol=1e-5)

    predict_run(run, data, comp, PredictConfig(tta="flip"), device="cpu")
    again = run_synthetic(run, data, per_set=4)
    assert json.loads((run / "gap_synthetic.json").read_text())["tta"][0].startswith("flip[identity|hflip]")
    assert not np.allclose(again.logits, syn.logits)

    manifest = json.loads((run / "manifest_predict.json").read_text())
    manifest["config"]["tta"] = "flip+translate"  # settings that did not make the stored logits
    (run / "manifest_predict.json").write_text(json.dumps(manifest))
    with pytest.raises(RunError, match=r"logits_holdout.npz was made with TTA 'flip\[identity\|hflip\].*'; rerun"):
        run_synthetic(run, data, per_set=4)


def test_an_ensembles_members_share_one_making_of_their_synthetic_images(tmp_path, monkeypatch):
    """The members split the same holdout, so their corrupted images are the same; each member made them again (7 s
    a member at 300 per set, a fifth of the upload's leaderboard prediction). Made once now, with the same logits."""
    from kaggle_kit.ensemble import ensemble_runs
    from kaggle_kit.gap import synthetic_io

    data, comp = synthetic_data()
    runs = [make_run(tmp_path / name) for name in ("m1", "m2")]
    for run in runs:
        predict_run(run, data, comp, PredictConfig(tta="none"), device="cpu")
    ens = ensemble_runs(runs, "mean_probs", "ens", out_root=tmp_path / "ensembles")
    real, made = synthetic_io.make_synthetic_sets, []
    monkeypatch.setattr(synthetic_io, "make_synthetic_sets", lambda *a, **k: made.append(1) or real(*a, **k))
    combined = synthetic_io.run_synthetic(ens, data, per_set=4)
    assert len(made) == 1 and combined is not None
    for run in runs:
        shared = SyntheticLogits.load(run / "gap_synthetic.npz")
        (run / "gap_synthetic.json").unlink()
        alone = synthetic_io.run_synthetic(run, data, per_set=4)
        np.testing.assert_array_equal(shared.logits, alone.logits)
        np.testing.assert_array_equal(shared.stats, alone.stats)
    assert len(made) == 3  # alone, each member makes its own


def test_synthetic_logits_refuse_a_model_pt_of_another_architecture(tmp_path):
    """`predict` refuses a model.pt that is not the architecture config.yaml names; the report's CC-Synth loaded it
    anyway (checkpoint.load_model) and measured another model's synthetic accuracy beside the run's own logits."""
    from kaggle_kit.gap.synthetic_io import run_synthetic
    from kaggle_kit.models import create_model

    data, comp = synthetic_data()
    run = make_run(tmp_path / "run")
    predict_run(run, data, comp, PredictConfig(tta="none"), device="cpu")
    save_model(run / "model.pt", create_model("resnet8", num_classes=10), model_name="resnet8", model_kwargs={},
               class_names=list(CLASS_NAMES), config={})
    with pytest.raises(RunError, match=r"model\.pt: saved for model resnet8, but .*config\.yaml says tinycnn"):
        run_synthetic(run, data, per_set=4)
    assert not (run / "gap_synthetic.json").exists()


def test_an_empty_holdout_has_no_accuracy_rather_than_nan(recwarn):
    """With data.holdout_size 0 the pipeline printed 'holdout nan%' and numpy's 'Mean of empty slice' warning."""
    from kaggle_kit.runs import Logits

    empty = Logits(np.zeros(0, np.int64), np.zeros((0, 10), np.float32), np.zeros(0, np.int64), "none")
    assert empty.accuracy is None and not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
    two = Logits(np.arange(2), np.eye(10, dtype=np.float32)[[3, 4]], np.array([3, 5]), "none")
    assert two.accuracy == 0.5


def test_a_predict_stopped_between_its_logits_leaves_no_manifest_vouching_for_them(tmp_path, monkeypatch):
    """Ctrl-C (or kill) after the new holdout logits were written and before the competition ones: the old
    manifest_predict.json still said the folder's logits were complete, with the old sha256s, so `submit --from`
    took the old competition logits while the holdout (the ledger's local score) came from the new prediction.
    Now the manifest goes first: the folder is refused until predict runs again, which ends as if never stopped."""
    import kaggle_kit.predict as predict_mod
    from kaggle_kit.fsio import sha256_file

    data, comp = synthetic_data()
    run = make_run(tmp_path / "run")
    predict_run(run, data, comp, PredictConfig(tta="none", batch_size=64), device="cpu")
    real_save, saved = predict_mod.save_logits, []

    def save_then_stop(path, logits):
        if saved:
            raise KeyboardInterrupt
        saved.append(path)
        return real_save(path, logits)

    monkeypatch.setattr(predict_mod, "save_logits", save_then_stop)
    flip = PredictConfig(tta="flip", batch_size=64)
    with pytest.raises(KeyboardInterrupt):
        predict_run(run, data, comp, flip, device="cpu")
    monkeypatch.setattr(predict_mod, "save_logits", real_save)
    manifest = read_manifest(run, "predict")
    recorded = {} if manifest is None else manifest["outputs"]
    assert all(sha256_file(o["path"]) == o["sha256"] for o in recorded.values()), "a manifest vouches for logits " \
                                                                                   "it did not record"
    with pytest.raises(SubmissionError):
        submission_from_run(run, tmp_path / "sub.csv")
    assert not (tmp_path / "sub.csv").exists()

    predict_run(run, data, comp, flip, device="cpu")
    whole = make_run(tmp_path / "whole")
    predict_run(whole, data, comp, flip, device="cpu")
    for split in ("holdout", "test", "comp"):
        a, b = load_logits(run / f"logits_{split}.npz"), load_logits(whole / f"logits_{split}.npz")
        assert np.array_equal(a.logits, b.logits) and np.array_equal(a.ids, b.ids)
    assert read_manifest(run, "predict")["comp_complete"] is True


@pytest.mark.parametrize("hold, message", [
    (np.array([0, 200]), "outside 0..199"),
    (np.array([3, 5, 3]), "repeated holdout indices"),
])
def test_holdout_indices_one_past_the_end_or_repeated_are_refused(tmp_path, hold, message):
    """Allowing index n_train (> for >=) would crash on it; allowing repeats would score some images twice."""
    from kaggle_kit.predict import holdout_indices

    np.save(tmp_path / "holdout_indices.npy", hold)
    with pytest.raises(RunError, match=message):
        holdout_indices(tmp_path, 200)


def test_in_order_puts_rows_and_labels_in_the_order_of_the_ids():
    """Indexing by the sorted positions instead of the rows, or leaving the labels behind, would pair images with
    another image's predictions."""
    from kaggle_kit.predict import in_order
    from kaggle_kit.runs import Logits

    rows = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    got = in_order(Logits(np.array([30, 10, 20]), rows, np.array([3, 1, 2]), "none"), np.array([10, 20, 30]))
    assert got.ids.tolist() == [10, 20, 30] and got.labels.tolist() == [1, 2, 3]
    assert got.logits.tolist() == [[2.0, 3.0], [4.0, 5.0], [0.0, 1.0]]


def test_competition_logits_with_a_repeated_id_are_refused(tmp_path):
    """Comparing only the sets of ids would accept a file with one image twice (and another missing no more)."""
    from kaggle_kit.predict import comp_logits
    from kaggle_kit.runs import Logits, save_logits, write_manifest

    save_logits(tmp_path / "logits_comp.npz", Logits(np.array([500, 501, 501]), np.zeros((3, 10)), None, "none"))
    write_manifest(tmp_path, "predict", extra={"comp_complete": True})
    with pytest.raises(RunError, match=r"its 3 ids are not the competition pickle's 2 \(repeated ids\)"):
        comp_logits(tmp_path, np.array([500, 501]))


def test_a_device_index_is_refused_for_a_device_type_without_indices():
    """Dropping the check would accept 'cpu:1' and 'mps:2', which name no device this toolkit runs on."""
    from kaggle_kit.errors import UsageError
    from kaggle_kit.predict import resolve_device

    for spec in ("cpu:1", "mps:2"):
        with pytest.raises(UsageError, match=f"--device '{spec}' is not a device this toolkit runs on"):
            resolve_device(spec)
    assert resolve_device("cpu:0") == torch.device("cpu", 0)


def test_the_plain_accuracy_recorded_beside_tta_is_that_of_logits_without_tta(tmp_path, monkeypatch):
    """Scoring the TTA logits as 'plain' would report no TTA gain (or loss) whatever the views did."""
    import kaggle_kit.predict as predict
    from kaggle_kit.tta import PLAIN

    def logits(model, images, plan, **kw):  # without TTA: the first pixel's class (the label); with it: class 0
        cls = images[:, 0, 0, 0] % 10 if plan is PLAIN else np.zeros(len(images), dtype=int)
        return np.eye(10, dtype=np.float32)[cls] * 5

    monkeypatch.setattr(predict, "logits_for_images", logits)
    data, _ = synthetic_data()
    data = Cifar10(data.train_images, data.train_images[:, 0, 0, 0] % 10, data.test_images,
                   data.test_images[:, 0, 0, 0] % 10, CLASS_NAMES)
    run = make_run(tmp_path / "run")
    predict_run(run, data, None, PredictConfig(tta="flip"), device="cpu")
    metrics = read_manifest(run, "predict")["metrics"]
    labels = {"holdout": data.train_labels[np.load(run / "holdout_indices.npy")], "test": data.test_labels}
    for split in ("holdout", "test"):
        assert metrics[f"{split}_acc_plain"] == 1.0
        assert metrics[f"{split}_acc_tta"] == pytest.approx(np.mean(labels[split] == 0))


def test_a_run_argument_is_found_as_given_under_runs_or_under_ensembles(tmp_path, monkeypatch):
    """A run_dir that skipped ensembles/ would refuse `kaggle-kit submit <ensemble id>` as no such run."""
    from kaggle_kit.runs import run_dir

    monkeypatch.chdir(tmp_path)
    for folder in ("runs/r1", "ensembles/e1", "mine"):
        (tmp_path / folder).mkdir(parents=True)
    assert [str(run_dir(a)) for a in ("r1", "e1", "mine")] == ["runs/r1", "ensembles/e1", "mine"]
    with pytest.raises(RunError, match=r"^gone: no such run folder \(looked in \., runs/ and ensembles/\)$"):
        run_dir("gone")


def test_a_run_id_is_the_time_then_the_pipeline_name_made_path_safe_then_the_config_hash():
    """A slash or dot let through from the pipeline's name would nest the run folder or hide it (`runs/a/b-...`)."""
    import datetime

    from kaggle_kit.config import config_hash
    from kaggle_kit.runs import new_run_id

    now = datetime.datetime(2025, 3, 4, 5, 6, 7)
    assert new_run_id("my pipe/v1.2_x", {"a": 1}, now) == f"20250304-050607-my-pipe-v1-2_x-{config_hash({'a': 1})}"


def test_calibration_metrics_of_an_over_confident_model_improve_at_its_temperature():
    """Logits three times too sharp for their accuracy: the fitted temperature lowers NLL and ECE on the holdout
    and on the test images it was not fitted on; a test set without labels (test_subset 0) is left out."""
    rng = np.random.default_rng(0)

    def split(n):
        labels = rng.integers(0, 10, n)
        logits = rng.normal(size=(n, 10))
        logits[np.arange(n), labels] += 1.5  # right about 60% of the time
        return Split(np.arange(n), np.zeros((n, 32, 32, 3), np.uint8), labels), 3 * logits

    (hold, hold_logits), (test, test_logits) = split(4000), split(4000)
    raw = {"holdout": hold_logits, "test": test_logits}
    t = fit_temperature(hold_logits, hold.labels)
    out = calibration_metrics(raw, {"holdout": hold, "test": test}, t)
    assert t > 1.5 and len(out) == 8  # over-confident: softened
    for name in ("holdout", "test"):
        assert out[f"{name}_nll_calibrated"] < out[f"{name}_nll_raw"]
        assert out[f"{name}_ece_calibrated"] < 0.03 < out[f"{name}_ece_raw"]
    empty = Split(np.arange(0), np.zeros((0, 32, 32, 3), np.uint8), np.arange(0))
    assert set(calibration_metrics(raw, {"holdout": hold, "test": empty}, t)) == {
        "holdout_nll_raw", "holdout_nll_calibrated", "holdout_ece_raw", "holdout_ece_calibrated"}


def test_adapt_bn_changes_only_the_competition_logits_and_records_how_many_predictions_moved(tmp_path):
    data, comp = synthetic_data()
    comp = CompetitionSet(comp.images // 3, comp.ids)   # darker, lower-contrast images: other statistics
    run = make_run(tmp_path / "run")
    plain = {k: v.logits for k, v in predict_run(run, data, comp, PredictConfig(tta="flip"), device="cpu").items()}
    out = predict_run(run, data, comp, PredictConfig(tta="flip", adapt_bn=True, batch_size=8), device="cpu")
    assert np.array_equal(out["holdout"].logits, plain["holdout"]) and np.array_equal(out["test"].logits, plain["test"])
    assert not np.allclose(out["comp"].logits, plain["comp"], atol=1e-3)
    manifest = read_manifest(run, "predict")
    changed = float((out["comp"].logits.argmax(1) != plain["comp"].argmax(1)).mean())
    assert manifest["metrics"]["comp_changed_by_adapt_bn"] == pytest.approx(changed)
    assert manifest["timings_s"]["comp_adapt_bn_s"] >= 0 and manifest["config"]["adapt_bn"] is True
    assert np.array_equal(load_logits(run / "logits_comp.npz").logits, out["comp"].logits)
    # the model file is not changed by the adaptation: a plain predict afterwards gives the first logits again
    again = predict_run(run, data, comp, PredictConfig(tta="flip"), device="cpu")
    assert np.array_equal(again["comp"].logits, plain["comp"])
    assert "comp_changed_by_adapt_bn" not in read_manifest(run, "predict")["metrics"]


def balanced_logits_by_hand(run, data, comp, plan) -> np.ndarray:
    """The competition logits of the run's class-balanced BatchNorm copy in batches of 8, pseudo-labelled and
    predicted under ``plan``, the targets the training labels' shares."""
    from kaggle_kit.bn_adapt import balanced_adapted_copy, image_batches
    from kaggle_kit.predict import logits_for_images, run_config, run_model

    model = run_model(run, run_config(run), torch.device("cpu"))[0].to(memory_format=torch.channels_last)
    kw = dict(num_classes=10, batch_size=8, device="cpu", channels_last=True, amp=False)
    adapted = balanced_adapted_copy(model, comp.images, np.bincount(data.train_labels, minlength=10) / 200,
                                    lambda x: image_batches(x, 8, "cpu", True),
                                    lambda m, x: logits_for_images(m, x, plan, **kw))
    return logits_for_images(adapted, comp.images, plan, **kw)


def test_adapt_bn_predicts_with_class_balanced_statistics_towards_the_training_class_shares(tmp_path):
    from kaggle_kit.tta import plan_from_config

    data, comp = synthetic_data()
    comp = CompetitionSet(comp.images // 3, comp.ids)
    run = make_run(tmp_path / "run")
    cfg = PredictConfig(tta="flip", adapt_bn=True, batch_size=8)
    out = predict_run(run, data, comp, cfg, device="cpu")
    assert np.allclose(out["comp"].logits, balanced_logits_by_hand(run, data, comp, plan_from_config(cfg)), atol=1e-5)
    assert not (run / REFERENCE_FILE).exists()  # the submitted logits are the copy's: no reference beside them


def test_a_batchnorm_run_gets_its_balanced_copys_plain_competition_logits_as_the_reference(tmp_path):
    from kaggle_kit.tta import PLAIN

    data, comp = synthetic_data()
    comp = CompetitionSet(comp.images // 3, comp.ids)
    run = make_run(tmp_path / "run")
    out = predict_run(run, data, comp, PredictConfig(tta="flip", batch_size=8), device="cpu")
    ref = load_logits(run / REFERENCE_FILE)
    assert np.array_equal(ref.ids, out["comp"].ids) and ref.labels is None and ref.tta == PLAIN.describe()
    assert np.allclose(ref.logits, balanced_logits_by_hand(run, data, comp, PLAIN), atol=1e-5)
    assert ref.temperature == out["comp"].temperature
    manifest = read_manifest(run, "predict")
    assert "comp_reference" in manifest["outputs"] and manifest["timings_s"]["comp_reference_s"] >= 0
    # the submitted logits keep the trained statistics; predicted again without the setting, the reference goes
    without = predict_run(run, data, comp, PredictConfig(tta="flip", batch_size=8, bn_reference=False), device="cpu")
    assert np.array_equal(without["comp"].logits, out["comp"].logits)
    assert not (run / REFERENCE_FILE).exists() and "comp_reference" not in read_manifest(run, "predict")["outputs"]


def test_a_model_without_batchnorm_gets_no_reference(tmp_path):
    data, comp = synthetic_data()
    run = make_run(tmp_path / "run", model="timm/convnext_atto")
    out = predict_run(run, data, comp, PredictConfig(tta="none", batch_size=8), device="cpu")
    assert len(out["comp"].ids) == 30 and not (run / REFERENCE_FILE).exists()


def test_no_reference_is_written_without_competition_images_and_a_stale_one_goes(tmp_path):
    data, comp = synthetic_data()
    run = make_run(tmp_path / "run")
    predict_run(run, data, comp, PredictConfig(tta="none", batch_size=8), device="cpu")
    assert (run / REFERENCE_FILE).exists()
    predict_run(run, data, None, PredictConfig(tta="none", batch_size=8), device="cpu")
    assert not (run / REFERENCE_FILE).exists() and not (run / "logits_comp.npz").exists()


def test_adapt_bn_works_for_a_run_without_a_holdout(tmp_path):
    data, comp = synthetic_data()
    run = make_run(tmp_path / "run", DataConfig(holdout_size=0), hold=np.array([], dtype=np.int64))
    out = predict_run(run, data, comp, PredictConfig(tta="flip", adapt_bn=True, batch_size=8), device="cpu")
    assert np.isfinite(out["comp"].logits).all() and len(out["holdout"].labels) == 0


def test_cli_refuses_adapt_bn_for_a_model_without_batchnorm_before_loading_data(tmp_path, capsys):
    from kaggle_kit.cli import main
    from kaggle_kit.models import create_model

    folder = tmp_path / "run"
    folder.mkdir()
    name = "timm/convnext_atto"
    cfg = PipelineConfig(data=DataConfig(holdout_size=40), model=ModelConfig(name=name, kwargs={}))
    (folder / "config.yaml").write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))
    save_model(folder / "model.pt", create_model(name, num_classes=10), model_name=name, model_kwargs={},
               class_names=list(CLASS_NAMES), config=to_dict(cfg))
    assert main(["predict", str(folder), "--adapt-bn", "--data-dir", str(tmp_path / "no-data")]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == ["error: --adapt-bn: the run's model (timm/convnext_atto) has no BatchNorm layer to "
                                "adapt"]
    assert not (folder / "logits_comp.npz").exists()
