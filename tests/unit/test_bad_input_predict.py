"""`kaggle-kit predict RUN` on a malformed or mismatched model.pt: one `error:` line (RunError) naming model.pt,
no traceback, nothing written."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from kaggle_kit.checkpoint import load_checkpoint, load_model, save_model
from kaggle_kit.cli import main
from kaggle_kit.config import PredictConfig
from kaggle_kit.data import Cifar10
from kaggle_kit.errors import RunError
from kaggle_kit.models import create_model
from kaggle_kit.predict import predict_run

CLASSES = [f"c{i}" for i in range(10)]


def save(path: Path, name: str = "tinycnn", **kwargs) -> Path:
    model = create_model(name, num_classes=10, **kwargs)
    return save_model(path, model, model_name=name, model_kwargs=kwargs, class_names=CLASSES, config={})


def make_run(folder: Path, config_model: str = "tinycnn", ckpt_model: str = "tinycnn",
             config_kwargs: str = "", **ckpt_kwargs) -> Path:
    folder.mkdir(parents=True)
    kw = f", kwargs: {{{config_kwargs}}}" if config_kwargs else ""
    (folder / "config.yaml").write_text(f"model: {{name: {config_model}{kw}}}\n")
    np.save(folder / "holdout_indices.npy", np.arange(20))
    save(folder / "model.pt", ckpt_model, **ckpt_kwargs)
    return folder


def tweak(path: Path, **changes) -> Path:
    payload = torch.load(path, weights_only=True)
    for key, value in changes.items():
        if value is ...:
            del payload[key]
        else:
            payload[key] = value
    torch.save(payload, path)
    return path


def tiny_data(n: int = 40) -> Cifar10:
    rng = np.random.default_rng(0)
    return Cifar10(rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), np.arange(n) % 10,
                   rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), np.arange(n) % 10, tuple(CLASSES))


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def resnet_state() -> dict:
    return create_model("resnet8", num_classes=10).state_dict()


MALFORMED = [
    (dict(state_dict=...), r"missing 'state_dict'"),
    (dict(state_dict=[1, 2]), r"'state_dict' is a list"),
    (dict(state_dict={}), r"'state_dict' is a dict, not a non-empty dict"),
    (dict(state_dict={"features.0.weight": 3}), r"'state_dict' entry 'features.0.weight' is not a named tensor"),
    (dict(model_name=...), r"missing 'model_name'"),
    (dict(model_name=7), r"'model_name' is a int"),
    (dict(model_kwargs=...), r"missing 'model_kwargs'"),
    (dict(model_kwargs=[1]), r"'model_kwargs' is a list, not a dict"),
    (dict(model_kwargs="width=8"), r"'model_kwargs' is a str, not a dict"),
    (dict(class_names=...), r"missing 'class_names'"),
    (dict(class_names="abc"), r"'class_names' is not a list"),
    (dict(class_names=["only-one"]), r"'class_names' is not a list"),
]


@pytest.mark.parametrize("changes,message", MALFORMED)
def test_malformed_checkpoint_is_one_runerror_naming_model_pt(tmp_path, changes, message):
    path = tweak(save(tmp_path / "model.pt"), **changes)
    with pytest.raises(RunError, match=rf"model\.pt: malformed kaggle-kit model checkpoint \(.*{message}"):
        load_model(path)
    with pytest.raises(RunError, match="model.pt"):
        load_checkpoint(path)


@pytest.mark.parametrize("changes,message", [
    (dict(model_kwargs={"widthh": 8}), r"cannot rebuild model tinycnn: model tinycnn does not accept widthh"),
    (dict(model_name="no-such-model"), r"cannot rebuild model no-such-model: unknown model"),
    (dict(model_kwargs={"width": "wide"}), r"cannot rebuild model tinycnn"),
])
def test_unbuildable_model_is_one_runerror(tmp_path, changes, message):
    path = tweak(save(tmp_path / "model.pt"), **changes)
    with pytest.raises(RunError, match=rf"model\.pt: malformed .*{message}"):
        load_model(path)


def test_state_dict_keys_and_shapes_must_fit(tmp_path):
    path = tweak(save(tmp_path / "model.pt"), state_dict=resnet_state())
    with pytest.raises(RunError, match=r"model\.pt: weights do not fit model tinycnn: \d+ missing keys?, e\.g\. "
                                       r"features\.0\.weight; \d+ unexpected keys?, e\.g\. stem"):
        load_model(path)
    wide = create_model("tinycnn", num_classes=10, width=8).state_dict()
    tweak(path, state_dict=wide)
    with pytest.raises(RunError, match=r"weights do not fit model tinycnn: features\.0\.weight has shape "
                                       r"\[8, 3, 3, 3\], the model needs \[16, 3, 3, 3\]"):
        load_model(path)
    state = create_model("tinycnn", num_classes=10).state_dict()
    del state["head.3.bias"]
    tweak(path, state_dict=state)
    with pytest.raises(RunError, match=r"1 missing key, e\.g\. head\.3\.bias"):
        load_model(path)


def test_huge_model_kwargs_are_refused_before_the_model_is_allocated(tmp_path):
    """model_kwargs were built into a real model before the weights were compared with it: a 50 kB model.pt
    saying width 1,000,000 asked for ~288 TB (a RuntimeError traceback from the allocator, or swapping where
    memory is overcommitted). The model is built on the meta device first now (and a width over 185,185 is refused
    by the argument check before anything is built)."""
    path = tweak(save(tmp_path / "model.pt", width=8), model_kwargs={"width": 100_000})
    with pytest.raises(RunError, match=r"weights do not fit model tinycnn: features\.0\.weight has shape "
                                       r"\[8, 3, 3, 3\], the model needs \[100000, 3, 3, 3\]"):
        load_model(path)
    tweak(path, model_kwargs={"width": 1_000_000})
    with pytest.raises(RunError, match=r"cannot rebuild model tinycnn: width: must be <= 185,185 "):
        load_model(path)


def test_a_checkpoint_saved_with_a_whole_float_width_still_loads(tmp_path):
    """int() built width 16 from `width: 16.0`, and model.pt kept 16.0 in model_kwargs; the width check added for
    2.7 and true then called such a run's model.pt malformed and asked for it to be retrained."""
    path = tweak(save(tmp_path / "model.pt", width=16), model_kwargs={"width": 16.0})
    model, _ = load_model(path)
    assert model.features[0].weight.shape[0] == 16


def test_checkpoint_round_trip_gives_identical_outputs(tmp_path):
    torch.manual_seed(0)
    x = torch.randn(3, 3, 32, 32)
    for name in ("tinycnn", "resnet8"):
        model = create_model(name, num_classes=10).eval()
        save_model(tmp_path / f"{name}.pt", model, model_name=name, model_kwargs={}, class_names=CLASSES, config={})
        loaded, _ = load_model(tmp_path / f"{name}.pt")
        assert not loaded.training and torch.equal(loaded(x), model(x))


def test_cli_missing_state_dict_is_one_line(tmp_path, capsys):
    run = make_run(tmp_path / "run")
    tweak(run / "model.pt", state_dict=...)
    before = snapshot(run)
    assert main(["predict", str(run), "--no-comp", "--device", "cpu"]) == 2
    line = one_error_line(capsys)
    assert line.startswith(f"error: {run / 'model.pt'}: malformed") and "missing 'state_dict'" in line
    assert snapshot(run) == before


@pytest.mark.parametrize("config_model,ckpt_model", [("resnet8", "tinycnn"), ("tinycnn", "resnet8")])
def test_cli_refuses_a_checkpoint_of_another_architecture(tmp_path, capsys, config_model, ckpt_model):
    run = make_run(tmp_path / "run", config_model=config_model, ckpt_model=ckpt_model)
    before = snapshot(run)
    assert main(["predict", str(run), "--no-comp", "--device", "cpu"]) == 2
    line = one_error_line(capsys)
    assert line == (f"error: {run / 'model.pt'}: saved for model {ckpt_model}, but {run / 'config.yaml'} says "
                    f"{config_model}; retrain the run or restore the matching files")
    assert snapshot(run) == before


def test_cli_refuses_other_model_kwargs(tmp_path, capsys):
    run = make_run(tmp_path / "run", config_kwargs="width: 8", width=16)
    assert main(["predict", str(run), "--no-comp", "--device", "cpu"]) == 2
    line = one_error_line(capsys)
    assert "saved for model tinycnn {'width': 16}" in line and "says tinycnn {'width': 8}" in line


@pytest.mark.parametrize("config_model,ckpt_model", [("resnet8", "tinycnn"), ("tinycnn", "resnet8")])
def test_predict_run_refuses_a_mismatch_before_writing(tmp_path, config_model, ckpt_model):
    run = make_run(tmp_path / "run", config_model=config_model, ckpt_model=ckpt_model)
    before = snapshot(run)
    with pytest.raises(RunError, match=rf"saved for model {ckpt_model}, but .*config\.yaml says {config_model}"):
        predict_run(run, tiny_data(), None, PredictConfig(tta="none"), device="cpu")
    assert snapshot(run) == before


def test_predict_run_refuses_a_checkpoint_for_other_classes(tmp_path):
    run = make_run(tmp_path / "run")
    tweak(run / "model.pt", class_names=["a", "b", "c"],
          state_dict=create_model("tinycnn", num_classes=3).state_dict())
    with pytest.raises(RunError, match=r"model\.pt: has 3 classes, this competition has 10"):
        predict_run(run, tiny_data(), None, PredictConfig(tta="none"), device="cpu")


def test_matching_checkpoint_still_predicts(tmp_path):
    run = make_run(tmp_path / "run", config_kwargs="width: 8", width=8)
    out = predict_run(run, tiny_data(), None, PredictConfig(tta="none"), device="cpu")
    assert out["holdout"].logits.shape == (20, 10) and (run / "logits_holdout.npz").is_file()


class _MakesFolder:
    """Unpickling it makes a folder: the least a hostile checkpoint could do instead."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        import os

        return os.mkdir, (self.path,)


def test_a_checkpoint_that_would_run_code_when_unpickled_is_refused_without_running_it(tmp_path):
    """torch.load without weights_only would run the file's code (here: make a folder) and then load it."""
    path = save(tmp_path / "model.pt")
    payload = torch.load(path, weights_only=True)
    payload["config"] = {"x": _MakesFolder(str(tmp_path / "ran"))}
    torch.save(payload, path)
    with pytest.raises(RunError, match=r"model\.pt: not a loadable kaggle-kit checkpoint \(UnpicklingError\)"):
        load_checkpoint(path)
    assert not (tmp_path / "ran").exists()


def test_a_checkpoint_without_the_format_tag_is_refused(tmp_path):
    """Dropping the tag check would load any dict of the right fields as a kaggle-kit model."""
    path = tweak(save(tmp_path / "model.pt"), format=...)
    with pytest.raises(RunError, match=r"model\.pt: not a kaggle-kit model checkpoint \(missing format tag\)"):
        load_checkpoint(path)


@pytest.mark.parametrize("options, line", [
    (["--batch-size", "0"], "error: --batch-size must be at least 1"),
    (["--all-comp", "--no-comp"], "error: --all-comp and --no-comp contradict each other; give one"),
])
def test_cli_refuses_a_zero_batch_or_contradictory_comp_options_before_the_data(tmp_path, capsys, options, line):
    """A dropped check would predict with batches of no image, or silently drop the competition logits that
    --all-comp asked for in full."""
    run = make_run(tmp_path / "run")
    before = snapshot(run)
    assert main(["predict", str(run), "--device", "cpu", "--data-dir", str(tmp_path / "no-data"), *options]) == 2
    assert one_error_line(capsys) == line and snapshot(run) == before
