"""Training engine on synthetic data: builders, schedules, run-folder files, exact resume, the CLI."""
from __future__ import annotations

import csv
import math
import os
import pickle
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from kaggle_kit.checkpoint import load_model
from kaggle_kit.config import (AugmentConfig, OptimizerConfig, PipelineConfig, ScheduleConfig, from_dict,
                               load_pipeline)
from kaggle_kit.data import CIFAR10_MEAN, CIFAR10_STD, Cifar10, holdout_split
from kaggle_kit.errors import ConfigError, ParameterBudgetError, RunError
from kaggle_kit.tensors import to_model_input
from kaggle_kit.train import METRIC_COLUMNS, evaluate, train_run, use_batched_path
from kaggle_kit.train.batches import DeviceBatches, WorkerBatches, epoch_batches, steps_per_epoch
from kaggle_kit.train.distributed import DistInfo
from kaggle_kit.train.optim import build_optimizer, l2_penalty, param_groups
from kaggle_kit.train.schedule import LRSchedule, PlateauState, lr_factor, plateau_update

MODEL = "tinycnn"
ROOT = Path(__file__).resolve().parents[2]
TIMING = ("seconds", "images_per_s")


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def synthetic_cifar(n_train: int = 400, n_test: int = 100, seed: int = 0) -> Cifar10:
    """Learnable toy data: each class has its own mean colour, plus noise."""
    rng = np.random.default_rng(seed)
    palette = rng.integers(40, 216, (10, 3))

    def make(n):
        labels = np.arange(n) % 10
        noise = rng.normal(0, 25, (n, 32, 32, 3))
        images = np.clip(palette[labels][:, None, None, :] + noise, 0, 255).astype(np.uint8)
        return images, labels.astype(np.int64)

    tx, ty = make(n_train)
    sx, sy = make(n_test)
    return Cifar10(tx, ty, sx, sy, tuple(f"c{i}" for i in range(10)))


def make_cfg(**train) -> PipelineConfig:
    base = {"epochs": 3, "batch_size": 32, "optimizer": {"name": "sgd", "lr": 0.05},
            "schedule": {"name": "cosine", "warmup_epochs": 1}, "channels_last": False}
    base.update(train)
    return from_dict(PipelineConfig, {"name": "unit", "model": {"name": MODEL},
                                      "data": {"holdout_size": 100}, "train": base})


@pytest.fixture(scope="module")
def data() -> Cifar10:
    return synthetic_cifar()


# -------------------------------------------------------------------------------------------- schedules
def factors(cfg: ScheduleConfig, epochs: int = 10, spe: int = 10, lr: float = 1.0) -> np.ndarray:
    return np.array([lr_factor(cfg, s, spe, epochs, lr) for s in range(epochs * spe)])


def test_warmup_linear_rises_then_decays_to_the_floor():
    f = factors(ScheduleConfig(name="warmup_linear", warmup_epochs=2, warmup_start_factor=0.1, min_lr=0.1))
    assert f[0] == pytest.approx(0.1) and f[20] == pytest.approx(1.0)
    assert np.all(np.diff(f[:20]) > 0) and np.all(np.diff(f[20:]) < 0)
    assert f[-1] == pytest.approx(0.1 + 0.9 / 80, rel=1e-6)  # one step before the end of the linear decay


def test_cosine_hits_half_at_mid_training():
    f = factors(ScheduleConfig(name="cosine"))
    assert f[0] == 1.0 and f[50] == pytest.approx(0.5) and f[-1] < 0.01


def test_cosine_restarts_return_to_peak_at_each_cycle():
    f = factors(ScheduleConfig(name="cosine_restarts", restart_epochs=3, restart_mult=2), epochs=9)
    assert f[0] == 1.0 and f[30] == 1.0 and f[29] < 0.05  # restart after 3 epochs, next cycle 6 long
    assert f[60] == pytest.approx(0.5)                  # middle of the 6-epoch second cycle


def test_step_schedule_multiplies_by_gamma_at_milestones():
    f = factors(ScheduleConfig(name="step", milestones=(3, 6), gamma=0.1))
    assert f[29] == 1.0 and f[30] == pytest.approx(0.1) and f[60] == pytest.approx(0.01)


def test_onecycle_peaks_at_pct_start_and_ends_at_the_floor():
    f = factors(ScheduleConfig(name="onecycle", onecycle_pct_start=0.3, warmup_start_factor=0.0))
    assert int(f.argmax()) == 30 and f[0] == 0.0 and f[-1] < 0.02


def test_plateau_reduces_on_the_patience_th_epoch_without_improvement_as_keras_does():
    s = PlateauState()
    for loss in (1.0, 0.9, 0.95, 0.89995):  # 0.89995 beats 0.9 by less than Keras' min_delta: no improvement
        s = plateau_update(s, loss, patience=3, factor=0.5)
    assert s.scale == 1.0 and s.bad_epochs == 2 and s.best == 0.9
    s = plateau_update(s, 0.91, patience=3, factor=0.5)  # the third bad epoch in a row: Keras reduces now
    assert s.scale == 0.5 and s.bad_epochs == 0 and s.best == 0.9
    s = plateau_update(s, 0.85, patience=3, factor=0.5)
    assert s.scale == 0.5 and s.bad_epochs == 0 and s.best == 0.85


@pytest.mark.parametrize("cfg, lr, step, expected", [
    (ScheduleConfig(name="cosine", min_lr=0.01), 0.1, 50, 0.1 + 0.9 * 0.5),  # min_lr is absolute: floor 0.01/0.1
    (ScheduleConfig(name="constant", warmup_epochs=1, warmup_start_factor=0.1), 1.0, 5, 0.55),
    (ScheduleConfig(name="constant", warmup_epochs=1, warmup_start_factor=0.1), 1.0, 10, 1.0),
    (ScheduleConfig(name="cosine_restarts", warmup_epochs=1, restart_epochs=2), 1.0, 20, 0.5),  # mid first cycle
    (ScheduleConfig(name="cosine_restarts", warmup_epochs=1, restart_epochs=2), 1.0, 30, 1.0),  # restart
    (ScheduleConfig(name="onecycle", onecycle_pct_start=0.3, warmup_start_factor=0.0), 1.0, 15, 0.5),
])
def test_lr_factor_at_hand_computed_steps(cfg, lr, step, expected):
    """min_lr taken as a factor, constant ending at its warm-up start, restarts counted from step 0 instead of the end
    of warm-up, or onecycle rising over all epochs instead of pct_start would each give another factor here."""
    assert lr_factor(cfg, step, 10, 10, lr) == pytest.approx(expected)


def test_lr_schedule_applies_the_plateau_scale_only_when_patience_is_set():
    """A schedule that ignored the plateau scale, or reduced with plateau_patience 0 (off), would set another lr."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    on = LRSchedule(opt, ScheduleConfig(name="constant", plateau_patience=1, plateau_factor=0.5), 0.2, 5, 4)
    off = LRSchedule(opt, ScheduleConfig(name="constant", plateau_factor=0.5), 0.2, 5, 4)
    for loss in (1.0, 1.0):  # the second epoch does not improve
        on.end_epoch(loss)
        off.end_epoch(loss)
    assert on.apply() == pytest.approx(0.1) and opt.param_groups[0]["lr"] == pytest.approx(0.1)
    assert off.apply() == pytest.approx(0.2)


def test_lr_schedule_state_round_trips():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = LRSchedule(opt, ScheduleConfig(name="cosine", plateau_patience=1), 0.2, 5, 4)
    for _ in range(7):
        sched.apply()
        sched.step()
    sched.end_epoch(1.0)
    other = LRSchedule(opt, ScheduleConfig(name="cosine", plateau_patience=1), 0.2, 5, 4)
    other.load_state_dict(sched.state_dict())
    assert other.apply() == sched.apply() == pytest.approx(0.2 * 0.5 * (1 + math.cos(math.pi * 7 / 20)))


@pytest.mark.parametrize("bad", [dict(name="linear"), dict(warmup_epochs=-1), dict(name="onecycle",
                                 onecycle_pct_start=1.0), dict(plateau_factor=0.0),
                                 dict(name="cosine_restarts", restart_epochs=0), dict(plateau_factor=1.5)])
def test_invalid_schedules_are_config_errors(bad):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    with pytest.raises(ConfigError):
        LRSchedule(opt, ScheduleConfig(**bad), 0.1, 10, 10)


# ------------------------------------------------------------------------------------------- optimizers
def _net() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Flatten(),
                               torch.nn.Linear(4 * 30 * 30, 10))


def test_norms_and_biases_are_exempt_from_weight_decay_unless_asked():
    net = _net()
    decay, no_decay = param_groups(net, 5e-4, decay_norm_and_bias=False)
    assert {p.ndim for p in decay["params"]} == {2, 4} and {p.ndim for p in no_decay["params"]} == {1}
    assert no_decay["weight_decay"] == 0.0 and decay["weight_decay"] == 5e-4
    (only,) = param_groups(net, 5e-4, decay_norm_and_bias=True)
    assert len(only["params"]) == len(list(net.parameters()))


def test_build_optimizer_kinds():
    net = _net()
    sgd = build_optimizer(net, OptimizerConfig(name="sgd", lr=0.1, momentum=0.9, nesterov=True))
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["nesterov"] and sgd.defaults["momentum"] == 0.9
    adam = build_optimizer(net, OptimizerConfig(name="adam", lr=1e-3, betas=(0.8, 0.99), weight_decay=1e-4))
    assert isinstance(adam, torch.optim.Adam) and adam.defaults["betas"] == (0.8, 0.99)
    assert isinstance(build_optimizer(net, OptimizerConfig(name="adamw")), torch.optim.AdamW)
    with pytest.raises(ConfigError, match="unknown optimizer 'lion'"):
        build_optimizer(net, OptimizerConfig(name="lion"))


def test_adamw_gets_the_configured_betas_and_frozen_parameters_no_group():
    """An AdamW built without cfg.betas would run torch's (0.9, 0.999); a frozen tensor in a group would be decayed
    into l2_penalty."""
    net = _net()
    net[0].weight.requires_grad_(False)
    adamw = build_optimizer(net, OptimizerConfig(name="adamw", betas=(0.8, 0.99)))
    assert adamw.defaults["betas"] == (0.8, 0.99)
    grouped = [p for g in param_groups(net, 5e-4, decay_norm_and_bias=True) for p in g["params"]]
    assert len(grouped) == len(list(net.parameters())) - 1 and all(p.requires_grad for p in grouped)


def test_l2_penalty_refuses_adamw():
    """adamw's decay is decoupled: a penalty for it would add a loss term the optimiser never minimises."""
    with pytest.raises(ConfigError, match="decoupled"):
        l2_penalty(_net(), OptimizerConfig(name="adamw"))


# ------------------------------------------------------------------------------------ inputs and batches
def test_to_model_input_normalises_and_uses_channels_last():
    images = np.zeros((2, 32, 32, 3), dtype=np.uint8)
    images[..., 0] = 255
    x = to_model_input(images, "cpu", channels_last=True)
    assert x.shape == (2, 3, 32, 32) and x.dtype == torch.float32
    assert x.is_contiguous(memory_format=torch.channels_last)
    assert x[0, 0, 0, 0].item() == pytest.approx((1 - CIFAR10_MEAN[0]) / CIFAR10_STD[0], rel=1e-5)
    assert x[0, 1, 0, 0].item() == pytest.approx(-CIFAR10_MEAN[1] / CIFAR10_STD[1], rel=1e-5)
    assert to_model_input(images, "cpu", channels_last=False).is_contiguous()
    with pytest.raises(ValueError, match="uint8"):
        to_model_input(images.astype(np.float32), "cpu")


def test_only_copies_to_cuda_are_non_blocking(monkeypatch, data):
    """A non_blocking copy to MPS reads its source after the call returns, and a source freed by then (last step's
    DataLoader batch) arrives as other values, silently; both host-to-device copies take the flag from one rule."""
    flags = []
    to = torch.Tensor.to

    def recording_to(self, *args, **kwargs):
        flags.append(kwargs.get("non_blocking", False))
        return to(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "to", recording_to)
    to_model_input(data.train_images[:4], "cpu")
    source = WorkerBatches(data.train_images[:32], data.train_labels[:32], "seed001", torch.device("cpu"), 0)
    for _ in source.epoch(epoch_batches(32, 16, seed=0, epoch=0, info=DistInfo()), 7):
        pass
    assert len(flags) >= 5 and not any(flags), flags
    from kaggle_kit.tensors import async_copy

    assert [async_copy(torch.device(d)) for d in ("cuda", "cuda:1", "mps", "mps:0", "cpu")] == [True] * 2 + [False] * 3


def test_fast_path_is_chosen_only_when_allowed_and_expressible():
    assert use_batched_path(AugmentConfig(preset="standard", gpu="auto"))
    assert not use_batched_path(AugmentConfig(preset="standard", gpu="off"))
    assert not use_batched_path(AugmentConfig(preset="strong", gpu="auto"))
    with pytest.raises(ConfigError, match="no batched form"):
        use_batched_path(AugmentConfig(preset="strong", gpu="on"))
    with pytest.raises(ConfigError, match="valid presets"):
        use_batched_path(AugmentConfig(preset="nope"))


def test_epoch_batches_shard_without_overlap_and_reshuffle_each_epoch():
    one = epoch_batches(100, 10, seed=0, epoch=0, info=DistInfo())
    r0 = epoch_batches(100, 10, seed=0, epoch=0, info=DistInfo(rank=0, world_size=2))
    r1 = epoch_batches(100, 10, seed=0, epoch=0, info=DistInfo(rank=1, world_size=2))
    assert one.shape == (10, 10) and r0.shape == r1.shape == (5, 10)
    assert sorted(np.concatenate([r0.ravel(), r1.ravel()])) == list(range(100))
    assert not np.array_equal(one, epoch_batches(100, 10, seed=0, epoch=1, info=DistInfo()))


def test_steps_per_epoch_counts_the_padded_share_of_an_uneven_split():
    """21 images over 2 ranks: DistributedSampler pads each rank to 11, one batch of 11; a floor (10) or dropping
    the tail instead of padding would make it 0 steps and disagree with the schedule's step count."""
    for rank in (0, 1):
        assert epoch_batches(21, 11, seed=0, epoch=0, info=DistInfo(rank=rank, world_size=2)).shape == (1, 11)
    assert steps_per_epoch(21, 11, 2) == 1 and steps_per_epoch(21, 11, 1) == 1 and steps_per_epoch(21, 5, 2) == 2


def test_worker_batches_seed_each_batch_of_an_epoch_apart(data):
    """Every batch seeded with the epoch seed itself would augment the same images identically in every batch."""
    source = WorkerBatches(data.train_images[:8], data.train_labels[:8], "seed001", torch.device("cpu"), 0)
    (a, _), (b, _) = source.epoch(np.tile(np.arange(8), (2, 1)), 7)
    assert not torch.equal(a, b)


def test_worker_batches_do_not_depend_on_worker_count(data):
    batches = epoch_batches(64, 16, seed=0, epoch=0, info=DistInfo())
    inline = WorkerBatches(data.train_images[:64], data.train_labels[:64], "seed001", torch.device("cpu"), 0)
    pooled = WorkerBatches(data.train_images[:64], data.train_labels[:64], "seed001", torch.device("cpu"), 2)
    for (a, ya), (b, yb) in zip(inline.epoch(batches, 7), pooled.epoch(batches, 7)):
        assert torch.equal(a, b) and torch.equal(ya, yb)


def test_worker_batches_leave_the_global_rng_alone(data):
    """Dropout draws from the global torch RNG: a batch source that also drew from it (as a DataLoader iterator
    does for its workers' base seed) would make the masks depend on num_workers and on resuming."""
    batches = epoch_batches(64, 16, seed=0, epoch=0, info=DistInfo())
    source = WorkerBatches(data.train_images[:64], data.train_labels[:64], "seed001", torch.device("cpu"), 0)
    torch.manual_seed(0)
    before = torch.get_rng_state()
    for _ in source.epoch(batches, 7):
        pass
    assert torch.equal(torch.get_rng_state(), before)


def test_dropout_weights_do_not_depend_on_worker_count(tmp_path, data):
    runs = {}
    for workers in (0, 1):
        cfg = make_cfg(epochs=2, dropout=0.5, augment={"preset": "seed001", "gpu": "off"}, num_workers=workers)
        train_run(cfg, data, tmp_path / f"w{workers}", progress=False)
        runs[workers] = torch.load(tmp_path / f"w{workers}" / "last.pt", weights_only=True)["model"]
    for k, v in runs[0].items():
        assert torch.equal(v, runs[1][k]), k


SPAWNED = """
import multiprocessing, sys
if __name__ == "__main__":  # spawned workers import this file again, as __mp_main__
    multiprocessing.set_start_method("spawn", force=True)  # macOS's default (and Windows'); Linux 3.14: forkserver
    sys.path.insert(0, sys.argv[1])
    import torch
    from test_train import make_cfg, synthetic_cifar
    from kaggle_kit.train import train_run
    torch.set_num_threads(1)
    cfg = make_cfg(epochs=1, dropout=0.5, augment={"preset": "seed001", "gpu": "off"}, num_workers=2)
    train_run(cfg, synthetic_cifar(n_train=260, n_test=20), sys.argv[2], progress=False)
"""


def test_worker_processes_started_by_spawn_train_the_same_weights(tmp_path):
    """Under spawn (macOS's default start method) a DataLoader worker shares nothing with the training process:
    the dataset is pickled to it and every module imported afresh. The run must work there, and its weights must be
    those of training in-process (num_workers=0), as README promises for any train.num_workers."""
    spawned, script = tmp_path / "spawn", tmp_path / "train_spawned.py"
    script.write_text(SPAWNED, encoding="utf-8")  # a file, as a user's script is: each worker imports it again
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    proc = subprocess.Popen([sys.executable, str(script), str(Path(__file__).parent), str(spawned)],
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": path}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        cfg = make_cfg(epochs=1, dropout=0.5, augment={"preset": "seed001", "gpu": "off"}, num_workers=0)
        train_run(cfg, synthetic_cifar(n_train=260, n_test=20), tmp_path / "inline", progress=False)  # meanwhile
        out, _ = proc.communicate(timeout=300)
    finally:
        proc.kill()  # a no-op once it has ended
    assert proc.returncode == 0, out
    inline = torch.load(tmp_path / "inline" / "last.pt", weights_only=True)["model"]
    by_spawn = torch.load(spawned / "last.pt", weights_only=True)["model"]
    assert inline.keys() == by_spawn.keys()
    for k, v in inline.items():
        assert torch.equal(v, by_spawn[k]), k


# ---------------------------------------------------------------------------------------- train_run
def read_metrics(folder: Path) -> list[dict]:
    with open(folder / "metrics.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_train_run_writes_the_run_folder(tmp_path, data):
    cfg = make_cfg(epochs=2)
    result = train_run(cfg, data, tmp_path / "run", progress=False)
    folder = result.run_dir
    for name in ("config.yaml", "holdout_indices.npy", "metrics.csv", "last.pt", "model.pt", "manifest_train.json"):
        assert (folder / name).is_file(), name
    rows = read_metrics(folder)
    assert list(rows[0]) == list(METRIC_COLUMNS) and [r["epoch"] for r in rows] == ["1", "2"]
    assert float(rows[1]["train_loss"]) < float(rows[0]["train_loss"])  # it learns the toy task
    assert result.epochs_done == 2 and result.holdout_acc == pytest.approx(float(rows[-1]["holdout_acc"]))
    assert result.test_acc is not None and result.test_acc > 0.3
    _, hold = holdout_split(data.train_labels, 100, 0)
    assert np.array_equal(np.load(folder / "holdout_indices.npy"), hold)
    assert from_dict(PipelineConfig, yaml.safe_load((folder / "config.yaml").read_text())) == cfg
    model, payload = load_model(folder / "model.pt")
    assert payload["metrics"]["holdout_acc"] == pytest.approx(result.holdout_acc)
    _, acc = evaluate(model, data.train_images[hold], data.train_labels[hold], torch.device("cpu"), cfg.train)
    assert acc == pytest.approx(result.holdout_acc)


def _kill_in_epoch(monkeypatch, source_cls, epoch_index: int, after_batches: int):
    """Make the batch source raise mid-way through one epoch, like a kill during training."""
    original = source_cls.epoch
    calls = {"n": 0}

    def epoch(self, batches, seed):
        calls["n"] += 1
        for i, item in enumerate(original(self, batches, seed)):
            if calls["n"] == epoch_index + 1 and i == after_batches:
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(source_cls, "epoch", epoch)


def _assert_same_run(a: Path, b: Path):
    sa = torch.load(a / "last.pt", weights_only=True)
    sb = torch.load(b / "last.pt", weights_only=True)
    for part in ("model", "ema"):
        if sa[part] is not None:
            for k in sa[part]:
                assert torch.equal(sa[part][k], sb[part][k]), (part, k)
    assert sa["optimizer"]["state"].keys() == sb["optimizer"]["state"].keys()
    for k, st in sa["optimizer"]["state"].items():
        for name, v in st.items():
            assert torch.equal(torch.as_tensor(v), torch.as_tensor(sb["optimizer"]["state"][k][name]))
    assert sa["schedule"] == sb["schedule"]
    strip = [{k: v for k, v in r.items() if k not in TIMING} for r in read_metrics(a)]
    assert strip == [{k: v for k, v in r.items() if k not in TIMING} for r in read_metrics(b)]
    ma, _ = load_model(a / "model.pt")
    mb, _ = load_model(b / "model.pt")
    for (k, va), vb in zip(ma.state_dict().items(), mb.state_dict().values()):
        assert torch.equal(va, vb), k


@pytest.mark.parametrize("case", ["batched-mid-epoch", "per-image-between-epochs"])
def test_interrupted_and_resumed_run_ends_with_identical_weights(tmp_path, data, monkeypatch, case):
    if case == "batched-mid-epoch":
        cfg = make_cfg(ema_decay=0.9, label_smoothing=0.1,
                       augment={"preset": "cutout", "mixup_alpha": 0.2, "cutmix_alpha": 1.0, "mix_prob": 0.7},
                       schedule={"name": "step", "milestones": [1], "plateau_patience": 1}, dropout=0.2)
    else:
        cfg = make_cfg(optimizer={"name": "adamw", "lr": 2e-3}, augment={"preset": "seed001", "gpu": "off"},
                       grad_clip_norm=1.0)
    straight = train_run(cfg, data, tmp_path / "straight", progress=False)

    if case == "batched-mid-epoch":
        with monkeypatch.context() as m:
            _kill_in_epoch(m, DeviceBatches, epoch_index=1, after_batches=3)
            with pytest.raises(KeyboardInterrupt):
                train_run(cfg, data, tmp_path / "resumed", progress=False)
    else:
        def stop(row):
            if row["epoch"] == 1:
                raise KeyboardInterrupt
        with pytest.raises(KeyboardInterrupt):
            train_run(cfg, data, tmp_path / "resumed", progress=False, on_epoch_end=stop)
    assert len(read_metrics(tmp_path / "resumed")) == 1
    resumed = train_run(cfg, data, tmp_path / "resumed", resume=True, progress=False)
    assert resumed.epochs_done == straight.epochs_done == 3
    assert resumed.holdout_acc == straight.holdout_acc and resumed.test_acc == straight.test_acc
    _assert_same_run(tmp_path / "straight", tmp_path / "resumed")


def test_finished_run_returns_at_once_and_guards_its_folder(tmp_path, data):
    cfg = make_cfg(epochs=1)
    first = train_run(cfg, data, tmp_path / "run", progress=False)
    stamp = (tmp_path / "run" / "model.pt").stat().st_mtime_ns
    again = train_run(cfg, data, tmp_path / "run", resume=True, progress=False,
                      on_epoch_end=lambda row: pytest.fail("a finished run trained again"))
    assert again.holdout_acc == first.holdout_acc and again.epochs_done == 1
    assert (tmp_path / "run" / "model.pt").stat().st_mtime_ns == stamp
    with pytest.raises(RunError, match="already holds a training state"):
        train_run(cfg, data, tmp_path / "run", progress=False)
    with pytest.raises(RunError, match="different model/train/data config"):
        train_run(make_cfg(epochs=2), data, tmp_path / "run", resume=True, progress=False)


def test_parameter_budget_is_checked_before_anything_is_written(tmp_path, data):
    cfg = make_cfg()
    cfg = replace(cfg, model=replace(cfg.model, max_params=10))
    with pytest.raises(ParameterBudgetError):
        train_run(cfg, data, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_select_best_saves_the_best_holdout_epoch(tmp_path, data):
    # a constant, too-high learning rate makes holdout accuracy wander, so best and last usually differ
    cfg = make_cfg(epochs=4, select_best=True, optimizer={"name": "sgd", "lr": 0.5},
                   schedule={"name": "constant"})
    result = train_run(cfg, data, tmp_path / "run", progress=False)
    rows = read_metrics(tmp_path / "run")
    accs = [float(r["holdout_acc"]) for r in rows]
    best_epoch = int(np.argmax(accs)) + 1  # first maximum, as the engine keeps the earliest best
    _, payload = load_model(tmp_path / "run" / "model.pt")
    assert payload["metrics"]["epoch"] == best_epoch and result.holdout_acc == max(accs)


def test_select_best_without_holdout_is_a_config_error(tmp_path, data):
    cfg = make_cfg(select_best=True)
    cfg = replace(cfg, data=replace(cfg.data, holdout_size=0))
    with pytest.raises(ConfigError, match="holdout"):
        train_run(cfg, data, tmp_path / "run", progress=False)


# With a constant sgd lr of 0.2 the tiny model's holdout loss and accuracy wander apart: the epoch of lowest loss is
# not the epoch of highest accuracy, and the loss goes a few epochs without a new low (checked below, not assumed).
WANDERING = dict(epochs=8, select_best=True, select_by="holdout_loss", optimizer={"name": "sgd", "lr": 0.2},
                 schedule={"name": "constant"})


def _manifest(folder: Path) -> dict:
    from kaggle_kit.runs import read_manifest

    return read_manifest(folder, "train")


def _expected_stop(rows: list[dict], patience: int) -> tuple[int, int | None]:
    """(best epoch, stop epoch) that Keras' EarlyStopping on val_loss gives these rows, computed apart from the
    engine: a new best needs a strictly lower loss, and `patience` epochs after the best the run ends."""
    best_epoch, best_loss = None, math.inf
    for r in rows:
        epoch, loss = int(r["epoch"]), float(r["holdout_loss"])
        if loss < best_loss:
            best_epoch, best_loss = epoch, loss
        if epoch - best_epoch >= patience:
            return best_epoch, epoch
    return best_epoch, None


def _no_timing(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


@pytest.fixture(scope="module")
def wandering_run(tmp_path_factory, data) -> Path:
    """The WANDERING recipe trained for all its epochs, selecting by holdout loss."""
    folder = tmp_path_factory.mktemp("wandering") / "run"
    torch.set_num_threads(1)
    train_run(make_cfg(**WANDERING), data, folder, progress=False)
    return folder


def test_select_by_holdout_loss_keeps_the_lowest_loss_epoch(wandering_run):
    """Paper 004 "Saved the best-performing model based on validation loss": the best epoch by accuracy would be
    another one here."""
    rows = read_metrics(wandering_run)
    losses = [float(r["holdout_loss"]) for r in rows]
    accs = [float(r["holdout_acc"]) for r in rows]
    by_loss, by_acc = int(np.argmin(losses)) + 1, int(np.argmax(accs)) + 1  # first extremes: earliest best
    assert by_loss != by_acc, "the case no longer tells the two criteria apart; pick another lr"
    _, payload = load_model(wandering_run / "model.pt")
    assert payload["metrics"]["epoch"] == by_loss
    assert payload["metrics"]["holdout_loss"] == pytest.approx(min(losses), abs=1e-6)
    selection = _manifest(wandering_run)["selection"]
    assert selection == {"model_epoch": by_loss, "chosen_by": "lowest holdout_loss", "select_by": "holdout_loss",
                         "early_stop_patience_epochs": None, "stopped_epoch": None}
    assert _manifest(wandering_run)["metrics"]["model_epoch"] == by_loss


def test_early_stopping_ends_the_run_patience_epochs_after_the_best_loss(tmp_path, data, wandering_run, capsys):
    full = read_metrics(wandering_run)
    best, stop = _expected_stop(full, patience=3)
    assert stop is not None and stop < len(full), "the case no longer stops early; pick another patience"
    result = train_run(make_cfg(**WANDERING, early_stop_patience_epochs=3), data, tmp_path / "run")
    assert (f"early stop after epoch {stop}/8: holdout_loss has not improved on epoch {best}'s "
            f"{float(full[best - 1]['holdout_loss']):.4f} for {stop - best} epochs") in capsys.readouterr().err
    rows = read_metrics(tmp_path / "run")
    assert _no_timing(rows) == _no_timing(full[:stop])  # the epochs before the stop train as without it
    assert result.epochs_done == stop and result.stopped_epoch == stop
    assert load_model(tmp_path / "run" / "model.pt")[1]["metrics"]["epoch"] == best
    manifest = _manifest(tmp_path / "run")
    assert manifest["selection"] == {"model_epoch": best, "chosen_by": "lowest holdout_loss",
                                     "select_by": "holdout_loss", "early_stop_patience_epochs": 3,
                                     "stopped_epoch": stop}
    assert manifest["metrics"]["epochs"] == stop
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert state["epoch"] == stop and state["stopped_epoch"] == stop
    # a run whose last epoch is the one the patience runs out at trained all its epochs: it did not stop early
    # (constant lr: the same epochs as above)
    last = train_run(make_cfg(**{**WANDERING, "epochs": stop}, early_stop_patience_epochs=3), data,
                     tmp_path / "all", progress=False)
    assert last.epochs_done == stop and last.stopped_epoch is None
    assert _manifest(tmp_path / "all")["selection"]["stopped_epoch"] is None


def test_early_stopping_without_select_best_keeps_the_stopping_epoch(tmp_path, data, wandering_run):
    _, stop = _expected_stop(read_metrics(wandering_run), patience=3)
    cfg = make_cfg(**{**WANDERING, "select_best": False}, early_stop_patience_epochs=3)
    result = train_run(cfg, data, tmp_path / "run", progress=False)
    assert result.stopped_epoch == stop and load_model(tmp_path / "run" / "model.pt")[1]["metrics"]["epoch"] == stop
    assert _manifest(tmp_path / "run")["selection"]["chosen_by"] == "last epoch"


@pytest.mark.parametrize("killed_after_epoch", ["before-the-stop", "the-stop"])
def test_an_interrupted_early_stopping_run_resumes_to_the_same_epochs(tmp_path, data, wandering_run,
                                                                      killed_after_epoch):
    """last.pt carries the best loss so far and the epoch it came from (the early-stop count is the distance to
    it) and whether the run has stopped: a resumed run picks and stops at the epochs of an uninterrupted one, and
    one killed after its stopping epoch trains no further."""
    cfg = make_cfg(**WANDERING, early_stop_patience_epochs=3)
    best, stop = _expected_stop(read_metrics(wandering_run), patience=3)
    straight = train_run(cfg, data, tmp_path / "straight", progress=False)
    kill_at = stop - 1 if killed_after_epoch == "before-the-stop" else stop

    def kill(row):
        if row["epoch"] == kill_at:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_run(cfg, data, tmp_path / "run", progress=False, on_epoch_end=kill)
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert state["epoch"] == kill_at and state["best"]["epoch"] == best < kill_at  # the count is under way
    assert state["stopped_epoch"] == (stop if kill_at == stop else None)
    trained = []
    resumed = train_run(cfg, data, tmp_path / "run", resume=True, progress=False,
                        on_epoch_end=lambda row: trained.append(row["epoch"]))
    assert trained == list(range(kill_at + 1, stop + 1))
    assert (resumed.epochs_done, resumed.stopped_epoch, resumed.holdout_acc) == \
        (straight.epochs_done, straight.stopped_epoch, straight.holdout_acc)
    assert _manifest(tmp_path / "run")["selection"] == _manifest(tmp_path / "straight")["selection"]
    _assert_same_run(tmp_path / "straight", tmp_path / "run")
    again = train_run(cfg, data, tmp_path / "run", resume=True, progress=False,
                      on_epoch_end=lambda row: pytest.fail("a stopped run trained again"))
    assert again.stopped_epoch == stop


def test_improves_and_stops_early_follow_keras():
    from kaggle_kit.train.loop import improves, stops_early

    best = {"epoch": 4, "holdout_loss": 0.5, "holdout_acc": 0.8}
    assert improves("holdout_loss", 0.49, 0.1, best) and not improves("holdout_loss", 0.5, 0.99, best)
    assert improves("holdout_accuracy", 9.0, 0.81, best) and not improves("holdout_accuracy", 0.1, 0.8, best)
    assert improves("holdout_loss", 3.0, 0.1, {"epoch": None}) and not improves("holdout_loss", None, None, best)
    assert not stops_early(6, True, best, 3) and stops_early(7, True, best, 3)
    assert not stops_early(7, False, best, 3)  # an epoch without evaluation shows nothing
    assert not stops_early(100, True, best, None)


# --------------------------------------------------------------------------------------------------- CLI
def _write_cifar_folder(root: Path, data: Cifar10) -> Path:
    """A tiny folder in the official python-batch format (R|G|B planes, bytes keys)."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    chunks = np.array_split(np.arange(len(data.train_labels)), 5)

    def dump(name, images, labels):
        planes = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
        with open(folder / name, "wb") as fh:
            pickle.dump({b"data": planes, b"labels": [int(v) for v in labels]}, fh)

    for i, idx in enumerate(chunks, 1):
        dump(f"data_batch_{i}", data.train_images[idx], data.train_labels[idx])
    dump("test_batch", data.test_images, data.test_labels)
    return root


def test_cli_train_and_resume(tmp_path, data, capsys):
    from kaggle_kit.cli import main

    root = _write_cifar_folder(tmp_path / "data", data)
    pipeline = tmp_path / "tiny.yaml"
    pipeline.write_text(yaml.safe_dump({"model": {"name": MODEL}, "data": {"holdout_size": 100},
                                        "train": {"epochs": 1, "batch_size": 32, "channels_last": False}}))
    folder = tmp_path / "runs" / "r1"
    code = main(["train", str(pipeline), "--set", "train.epochs=2", "--run-dir", str(folder),
                 "--data-dir", str(root), "--no-progress"])
    assert code == 0 and "2 epochs" in capsys.readouterr().out
    assert load_pipeline(folder / "config.yaml").train.epochs == 2
    assert main(["train", "--resume", str(folder), "--data-dir", str(root), "--no-progress"]) == 0
    assert main(["train", "--data-dir", str(root)]) == 2  # no pipeline, no --resume
    assert "give a pipeline YAML" in capsys.readouterr().err


def test_ema_weights_are_what_model_pt_holds(tmp_path, data):
    result = train_run(make_cfg(epochs=1, ema_decay=0.9), data, tmp_path / "run", progress=False)
    state = torch.load(result.run_dir / "last.pt", weights_only=True)
    ema = {k.removeprefix("module."): v for k, v in state["ema"].items() if k.startswith("module.")}
    saved, _ = load_model(result.run_dir / "model.pt")
    differs = False
    for k, v in saved.state_dict().items():
        assert torch.equal(v, ema[k]), k
        differs |= not torch.equal(v, state["model"][k])
    assert differs  # the EMA is not the raw weights


def test_a_run_whose_weights_turn_nan_stops_with_an_error_naming_the_epoch(tmp_path, data):
    cfg = make_cfg(epochs=3, optimizer={"name": "sgd", "lr": 1e6}, schedule={"name": "constant"})
    with pytest.raises(RunError, match=r"training diverged in epoch 1: the model's weights are NaN or infinite "
                                       r"\(train loss .*\); lower train.optimizer.lr \(it is 1e\+06\)"):
        train_run(cfg, data, tmp_path / "run", progress=False)
    assert not (tmp_path / "run" / "model.pt").exists() and not (tmp_path / "run" / "metrics.csv").exists()


def test_a_run_resumes_with_another_worker_count_and_from_a_state_saved_before_that_was_allowed(tmp_path, data):
    from kaggle_kit.train.loop import training_key

    cfg = make_cfg(epochs=2, augment={"preset": "standard", "gpu": "off"}, num_workers=0)

    def stop(row):
        if row["epoch"] == 1:
            raise KeyboardInterrupt

    for name, old_format in (("new", False), ("old", True)):
        with pytest.raises(KeyboardInterrupt):
            train_run(cfg, data, tmp_path / name, progress=False, on_epoch_end=stop)
        if old_format:  # last.pt as saved before num_workers left the key
            state = torch.load(tmp_path / name / "last.pt", weights_only=False)
            state["training_key"] = training_key(cfg, legacy=True)
            torch.save(state, tmp_path / name / "last.pt")
        other = replace(cfg, train=replace(cfg.train, num_workers=1))
        assert training_key(other) == training_key(cfg) != training_key(other, legacy=True)
        resumed = train_run(other if not old_format else cfg, data, tmp_path / name, resume=True, progress=False)
        assert resumed.epochs_done == 2 and len(read_metrics(tmp_path / name)) == 2


def _stop_after_first_epoch(row):
    if row["epoch"] == 1:
        raise KeyboardInterrupt


@pytest.mark.parametrize("saved", ["with-world-size", "before-it-was-saved"])
def test_a_run_is_not_resumed_by_another_number_of_processes(tmp_path, data, saved):
    """Each process takes batch_size images a step, so another torchrun --nproc_per_node changes the batch and the
    steps per epoch: the schedule, which counts steps, would silently continue from the wrong point."""
    cfg = make_cfg(epochs=2)
    with pytest.raises(KeyboardInterrupt):
        train_run(cfg, data, tmp_path / "run", progress=False, on_epoch_end=_stop_after_first_epoch)
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    # as two processes save it: 300 training images, 150 per process, 4 full batches of 32 per epoch
    state["schedule"]["step_count"] = 4
    if saved == "with-world-size":
        state["world_size"] = 2
    else:
        state.pop("world_size", None)
    torch.save(state, tmp_path / "run" / "last.pt")
    want = r"2 processes .* resume it with torchrun --nproc_per_node=2" if saved == "with-world-size" else \
        r"4 optimizer steps per epoch, this run 9 .* the number of processes it was trained with"
    with pytest.raises(RunError, match=want):
        train_run(cfg, data, tmp_path / "run", resume=True, progress=False)
    assert len(read_metrics(tmp_path / "run")) == 1



@pytest.mark.parametrize("killed_after", ["metrics.csv", "last.pt"])
def test_a_kill_between_the_last_epochs_writes_resumes_to_complete_files(tmp_path, data, monkeypatch, killed_after):
    """A kill just after any one of the last epoch's writes resumes to every epoch's metrics.csv row, and to the
    files a run never interrupted ends with."""
    from kaggle_kit.train import loop

    cfg = make_cfg(epochs=2)
    train_run(cfg, data, tmp_path / "straight", progress=False)
    name, writer = ("metrics.csv", "atomic_write_text") if killed_after == "metrics.csv" else ("last.pt", "save_state")
    original, calls = getattr(loop, writer), []

    def write_then_die_in_the_last_epoch(path, *args, **kwargs):
        original(path, *args, **kwargs)
        calls.extend([path] if Path(path).name == name else [])
        if len(calls) == cfg.train.epochs:
            raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(loop, writer, write_then_die_in_the_last_epoch)
        with pytest.raises(KeyboardInterrupt):
            train_run(cfg, data, tmp_path / "resumed", progress=False)
    train_run(cfg, data, tmp_path / "resumed", resume=True, progress=False)
    assert [r["epoch"] for r in read_metrics(tmp_path / "resumed")] == ["1", "2"]
    _assert_same_run(tmp_path / "straight", tmp_path / "resumed")


def test_a_resume_removes_what_a_kill_in_the_middle_of_a_write_left(tmp_path, data):
    """SIGKILL during a write leaves atomic_path's temporary file (no finally runs): one per kill, as large as
    last.pt, and in a Kaggle kernel part of the output that gets downloaded."""
    cfg = make_cfg(epochs=2)
    with pytest.raises(KeyboardInterrupt):
        train_run(cfg, data, tmp_path / "run", progress=False, on_epoch_end=_stop_after_first_epoch)
    left = [tmp_path / "run" / n for n in (".last.pt.x1y2z3ab.tmp", ".model.pt.q9w8e7rt.tmp")]
    for p in left:
        p.write_bytes(b"PK\x03\x04 half a checkpoint")
    mine = tmp_path / "run" / ".notes.txt.tmp"  # not a file train writes: left alone
    mine.write_text("keep")
    train_run(cfg, data, tmp_path / "run", resume=True, progress=False)
    assert not any(p.exists() for p in left) and mine.exists()


def test_a_run_started_without_a_grad_scaler_resumes_where_fp16_needs_one(tmp_path, data, monkeypatch):
    """A run begun on a CPU or a bf16 GPU saves an empty scaler state; resumed on an fp16 GPU (Kaggle's T4) the
    scaler is on and starts at its own initial scale, as it would in a new run."""
    from kaggle_kit.train import loop

    cfg = make_cfg(epochs=2)
    with pytest.raises(KeyboardInterrupt):
        train_run(cfg, data, tmp_path / "run", progress=False, on_epoch_end=_stop_after_first_epoch)
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=True)["scaler"] == {}
    monkeypatch.setattr(loop, "amp_dtype", lambda device, enabled: torch.float16)  # as on a T4
    result = train_run(cfg, data, tmp_path / "run", resume=True, progress=False)
    assert result.epochs_done == 2
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=True)["scaler"]["scale"] > 0


def test_a_run_moved_between_a_gpu_and_a_cpu_resumes(tmp_path, data):
    """The batched augmentation's generator lives on the training device: a CUDA generator's state (16 bytes)
    does not fit a CPU one. It is reseeded at every epoch's start, so nothing of it needs restoring."""
    cfg = make_cfg(epochs=2, augment={"preset": "cutout"})
    with pytest.raises(KeyboardInterrupt):
        train_run(cfg, data, tmp_path / "run", progress=False, on_epoch_end=_stop_after_first_epoch)
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    state["augment_rng"] = torch.zeros(16, dtype=torch.uint8)  # as a CUDA generator's get_state() gives it
    torch.save(state, tmp_path / "run" / "last.pt")
    assert train_run(cfg, data, tmp_path / "run", resume=True, progress=False).epochs_done == 2


def test_cli_resume_may_set_what_changes_no_weights_only(tmp_path, data, capsys):
    """A run begun on a laptop and resumed on a bigger machine may use more augmentation workers; a setting that
    changes what the run learns is refused before any data is read."""
    from kaggle_kit.cli import main

    root = _write_cifar_folder(tmp_path / "data", data)
    pipeline = tmp_path / "tiny.yaml"
    pipeline.write_text(yaml.safe_dump({"model": {"name": MODEL}, "data": {"holdout_size": 100},
                                        "train": {"epochs": 1, "batch_size": 32, "channels_last": False,
                                                  "augment": {"preset": "standard", "gpu": "off"}}}))
    folder = tmp_path / "runs" / "r1"
    assert main(["train", str(pipeline), "--run-dir", str(folder), "--data-dir", str(root), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(folder), "--set", "train.optimizer.lr=0.5", "--data-dir", str(root)]) == 2
    assert "'train.optimizer.lr' would change what the run learns" in capsys.readouterr().err
    assert main(["train", "--resume", str(folder), "--set", "train.num_workers=1", "--data-dir", str(root),
                 "--no-progress"]) == 0


@pytest.mark.parametrize("damage", ["truncated", "empty", "another-format", "another-tool's"])
def test_a_damaged_last_pt_is_one_line_naming_it_and_what_to_do(tmp_path, data, damage):
    """Writes are atomic, so a kill cannot damage last.pt; a disk, a copy or a hand can. Nothing in it can be
    trusted then, and restarting silently would throw away what the user may still recover: say so and stop."""
    cfg = make_cfg(epochs=2)
    with pytest.raises(KeyboardInterrupt):
        train_run(cfg, data, tmp_path / "run", progress=False, on_epoch_end=_stop_after_first_epoch)
    last = tmp_path / "run" / "last.pt"
    if damage == "truncated":
        last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    elif damage == "empty":
        last.write_bytes(b"")
    elif damage == "another-format":
        state = torch.load(last, weights_only=True)
        torch.save({**state, "format": "kaggle-kit/train-state/0"}, last)
    else:
        torch.save({"model": {}}, last)
    with pytest.raises(RunError) as err:
        train_run(cfg, data, tmp_path / "run", resume=True, progress=False)
    assert str(err.value).startswith(f"{last}: ") and "\n" not in str(err.value)
    assert str(err.value).endswith("move it away (or delete it) to train the run from its start")


# ------------------------------------------------------------------------------------- time left, slow CPU
def test_time_left_is_the_mean_pace_of_the_epochs_this_process_trained():
    from kaggle_kit.train.loop import duration_words, seconds_left

    assert seconds_left([{"seconds": 10.0}, {"seconds": 30.0}], 3) == 60.0
    assert seconds_left([{"seconds": 10.0}], 0) == 0.0 and seconds_left([], 5) == 0.0
    assert [duration_words(s) for s in (44.6, 90, 3599, 3600, 11_100, 200_000)] == [
        "45s", "2m", "1h00m", "1h00m", "3h05m", "55h33m"]


def test_epoch_lines_say_the_time_left_and_a_slow_cpu_run_is_pointed_to_gpus(tmp_path, data, capsys, monkeypatch):
    """The last epoch says no time left; a CPU run whose first epoch projects past SLOW_CPU_NOTE_S says so, once."""
    from kaggle_kit.train import loop

    train_run(make_cfg(epochs=3), data, tmp_path / "fast", progress=True)
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("epoch")]
    assert len(lines) == 3 and all(" left" in ln for ln in lines[:2]) and " left" not in lines[2]
    monkeypatch.setattr(loop, "SLOW_CPU_NOTE_S", 0.0)
    train_run(make_cfg(epochs=3), data, tmp_path / "slow", progress=True)
    notes = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("note:")]
    assert len(notes) == 1 and "on the CPU" in notes[0] and "kaggle-kit kernel push" in notes[0]


def test_a_kill_between_last_pt_and_the_best_model_pt_is_repaired_from_last_pt(tmp_path, data, monkeypatch):
    """last.pt is written before the best model.pt, so a kill between them leaves the best weights in last.pt; the
    resume writes model.pt from them instead of trusting a rerun (on a GPU, not bit-identical) to write it again."""
    from kaggle_kit.train import loop

    cfg = make_cfg(epochs=3, select_best=True)
    straight = train_run(cfg, data, tmp_path / "straight", progress=False)
    real_save = loop.save_model

    def killed(*a, **k):
        raise KeyboardInterrupt  # the first best model.pt (epoch 1 always improves on nothing)

    monkeypatch.setattr(loop, "save_model", killed)
    with pytest.raises(KeyboardInterrupt):
        train_run(cfg, data, tmp_path / "run", progress=False)
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert state["epoch"] == 1 and state["best"]["epoch"] == 1 and not (tmp_path / "run" / "model.pt").exists()
    monkeypatch.setattr(loop, "save_model", real_save)
    resumed = train_run(cfg, data, tmp_path / "run", resume=True, progress=False)
    a, b = (load_model(f / "model.pt")[1] for f in (tmp_path / "straight", tmp_path / "run"))
    assert a["metrics"] == b["metrics"] and resumed.holdout_acc == straight.holdout_acc
    assert all(torch.equal(v, b["state_dict"][k]) for k, v in a["state_dict"].items())


def test_holdout_loss_adds_l2_is_keras_val_loss(tmp_path, data):
    """Paper 004 (Keras): "Saved the best-performing model based on validation loss", "Early Stopping ... validation
    loss", "ReduceLROnPlateau". Keras' val_loss adds the L2 regulariser's loss; with holdout_loss_adds_l2 the
    holdout loss every one of them watches is the cross-entropy plus weight_decay/2 * sum(w^2) over the decayed
    (>= 2-D) weights, the loss whose gradient adam's coupled decay is."""
    wd = 0.05
    cfg = make_cfg(epochs=2, optimizer={"name": "adam", "lr": 1e-3, "weight_decay": wd}, holdout_loss_adds_l2=True)
    train_run(cfg, data, tmp_path / "run", progress=False)
    model, _ = load_model(tmp_path / "run" / "model.pt")  # the last epoch's weights (select_best is off)
    hold = np.load(tmp_path / "run" / "holdout_indices.npy")
    ce, _ = evaluate(model, data.train_images[hold], data.train_labels[hold], torch.device("cpu"), cfg.train)
    l2 = wd / 2 * sum(float(p.detach().double().pow(2).sum()) for p in model.parameters() if p.ndim >= 2)
    assert l2 > 0.01  # large enough to tell the two losses apart at metrics.csv's 6 decimals
    assert float(read_metrics(tmp_path / "run")[-1]["holdout_loss"]) == pytest.approx(ce + l2, abs=2e-6)


@pytest.mark.parametrize("setting", [{"label_smoothing": 0.2}, {"grad_clip_norm": 1e-4},
                                     {"augment": {"preset": "none", "mixup_alpha": 1.0, "mix_prob": 1.0}}])
def test_loss_shaping_settings_reach_the_training_step(tmp_path, data, setting):
    """A loop that dropped label smoothing, gradient clipping or Mixup alone would train exactly as without it."""
    base = {"epochs": 1, "augment": {"preset": "none"}, "schedule": {"name": "constant"}}
    rows = [read_metrics(train_run(make_cfg(**{**base, **extra}), data, tmp_path / str(i), progress=False).run_dir)
            for i, extra in enumerate(({}, setting))]
    assert rows[0][0]["train_loss"] != rows[1][0]["train_loss"]


class _FixedLogits(torch.nn.Module):
    """Logits ln 9 for class 0 and 0 elsewhere, whatever the image: p(class 0) = 9/18 = 0.5, others 1/18."""

    def forward(self, x):
        logits = torch.zeros(len(x), 10)
        logits[:, 0] = math.log(9.0)
        return logits


def test_evaluate_gives_the_mean_cross_entropy_and_accuracy_per_image(data):
    """Summing per-batch means (or not dividing by the count) would misstate the holdout loss or accuracy."""
    images, labels = data.train_images[:10], np.arange(10)  # one label 0 (loss ln 2), nine others (ln 18)
    loss, acc = evaluate(_FixedLogits(), images, labels, torch.device("cpu"), make_cfg().train)
    assert loss == pytest.approx((math.log(2) + 9 * math.log(18)) / 10) and acc == pytest.approx(0.1)


def test_the_last_epoch_is_evaluated_whatever_eval_every_epochs_says(tmp_path, data):
    """Skipping the final evaluation would leave the run's last row, and its reported accuracy, empty."""
    rows = read_metrics(train_run(make_cfg(epochs=2, eval_every_epochs=5), data, tmp_path / "run",
                                  progress=False).run_dir)
    assert [r["holdout_acc"] == "" for r in rows] == [True, False]
    assert all(0 <= float(r["train_acc"]) <= 1 for r in rows)  # a fraction of the images, not a count


def test_the_ema_follows_every_step(tmp_path, data):
    """An EMA never updated would stay at the initial weights; with decay 0 it must equal the trained ones."""
    result = train_run(make_cfg(epochs=1, ema_decay=0.0), data, tmp_path / "run", progress=False)
    raw = torch.load(result.run_dir / "last.pt", weights_only=True)["model"]
    saved, _ = load_model(result.run_dir / "model.pt")
    for k, v in saved.state_dict().items():
        if v.is_floating_point():
            torch.testing.assert_close(v, raw[k], rtol=0, atol=1e-6, msg=k)


# ------------------------------------------------------------------- mutation audit, round 4 (pure pieces)
def test_selection_and_early_stop_words_name_the_accuracy_when_selecting_by_it():
    """A record or line that always named the holdout loss would misreport a run selected by holdout accuracy."""
    from kaggle_kit.train.loop import early_stop_line, selection_record

    tc = make_cfg(epochs=8, select_best=True, select_by="holdout_accuracy", early_stop_patience_epochs=3).train
    assert selection_record(tc, 2, 5)["chosen_by"] == "highest holdout_accuracy"
    best = {"epoch": 2, "holdout_acc": 0.8125, "holdout_loss": 0.5}
    assert early_stop_line(tc, best, 5) == ("early stop after epoch 5/8: holdout_accuracy has not improved on epoch "
                                            "2's 0.8125 for 3 epochs (train.early_stop_patience_epochs: 3)")


def test_a_minute_is_said_in_minutes():
    """A `< 60` boundary moved to `<= 60` would say '60s' where a minute is meant."""
    from kaggle_kit.train.loop import duration_words

    assert [duration_words(s) for s in (59.4, 60, 60.4)] == ["59s", "1m", "1m"]


@pytest.mark.parametrize("state, spe, world, expected", [
    ({"world_size": 1, "schedule": {"step_count": 18}, "epoch": 2}, 9, 2,
     "its last.pt was trained by 1 process and this run has 2; resume it without torchrun"),
    ({"schedule": {"step_count": 8}, "epoch": 2}, 9, 1, "its last.pt took 4 optimizer steps per epoch, this run 9 "),
    ({"world_size": 1, "schedule": {"step_count": 18}, "epoch": 2}, 9, 1, None)])
def test_process_count_problem_words(state, spe, world, expected):
    """A total step count said as steps per epoch, or a one-process run told to use torchrun, would mislead."""
    from kaggle_kit.train.loop import process_count_problem

    problem = process_count_problem(state, spe, world)
    assert problem == expected if expected is None else problem.startswith(expected)


def test_split_indices_takes_a_stratified_train_subset_from_outside_the_holdout(data):
    """Drawing the subset over all 50,000 labels, not the training part's, would unbalance the classes."""
    from kaggle_kit.train.loop import split_indices

    cfg = make_cfg()
    cfg = replace(cfg, data=replace(cfg.data, train_subset=100))
    train_idx, hold_idx = split_indices(cfg, data.train_labels)
    assert len(hold_idx) == 100 and not set(train_idx) & set(hold_idx)
    assert np.bincount(data.train_labels[train_idx], minlength=10).tolist() == [10] * 10


@pytest.mark.parametrize("damage", ["bn-statistic", "holdout-loss"])
def test_non_finite_statistics_or_holdout_loss_stop_a_run(damage):
    """Checking only the parameters, or not the holdout loss, would let a run with NaN BatchNorm statistics or an
    infinite holdout loss train on."""
    from types import SimpleNamespace

    from kaggle_kit.train.loop import check_not_diverged

    net = _net()
    eng = SimpleNamespace(model=net, eval_model=net)
    tc = make_cfg().train
    check_not_diverged(eng, Path("run"), 3, 0.5, None, tc)  # finite: goes on
    hold_loss = math.inf if damage == "holdout-loss" else 0.5
    if damage == "bn-statistic":
        net[1].running_var[0] = float("nan")
    with pytest.raises(RunError, match="training diverged in epoch 3"):
        check_not_diverged(eng, Path("run"), 3, 0.5, hold_loss, tc)


def test_best_model_missing_only_for_the_epoch_last_pt_holds(tmp_path):
    """last.pt holds the last epoch's weights: writing model.pt from them for an earlier best epoch would save
    the wrong weights as the best ones."""
    from kaggle_kit.train.loop import best_model_missing

    missing = tmp_path / "model.pt"
    assert best_model_missing(missing, {"epoch": 2}, 2)
    assert not best_model_missing(missing, {"epoch": 1}, 2) and not best_model_missing(missing, {"epoch": None}, 2)


@pytest.mark.parametrize("device, enabled, bf16, expected", [
    ("cuda", True, True, torch.bfloat16), ("cuda", True, False, torch.float16), ("cuda", False, True, None),
    ("cpu", True, True, None), ("mps", True, True, None)])
def test_amp_dtype_is_bf16_only_where_the_gpu_has_it(monkeypatch, device, enabled, bf16, expected):
    """fp16 on a bf16 GPU (or bf16 on a T4) would train in a precision the device lacks or that needs a scaler."""
    from kaggle_kit.train.loop import amp_dtype

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: bf16)
    assert amp_dtype(torch.device(device), enabled) == expected


@pytest.mark.parametrize("decay_norm_and_bias, expected", [(False, 0.05 * 5), (True, 0.05 * 14)])
def test_l2_penalty_covers_the_groups_the_optimizer_decays(decay_norm_and_bias, expected):
    """A penalty that ignored decay_norm_and_bias would leave the biases' term out of Keras' val_loss."""
    net = torch.nn.Linear(2, 1)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[1.0, 2.0]]))
        net.bias.fill_(3.0)
    cfg = OptimizerConfig(name="sgd", weight_decay=0.1, decay_norm_and_bias=decay_norm_and_bias)
    assert l2_penalty(net, cfg) == pytest.approx(expected)


@pytest.mark.parametrize("raw, expected", [(None, 1), ("", 1), ("  ", 1), ("3", 3)])
def test_env_int_reads_a_blank_variable_as_unset(monkeypatch, raw, expected):
    """A blank WORLD_SIZE (an `export WORLD_SIZE=` in a shell) read as a number would stop every run."""
    from kaggle_kit.train.distributed import env_int

    if raw is None:
        monkeypatch.delenv("WORLD_SIZE", raising=False)
    else:
        monkeypatch.setenv("WORLD_SIZE", raw)
    assert env_int("WORLD_SIZE", 1) == expected


def test_a_finished_run_without_its_model_pt_writes_it_again_on_resume(tmp_path, data):
    """A finished run returned from its manifest alone would leave the deleted model.pt missing for predict."""
    cfg = make_cfg(epochs=1)
    train_run(cfg, data, tmp_path / "run", progress=False)
    seconds = sum(float(r["seconds"]) for r in read_metrics(tmp_path / "run"))
    assert train_run(cfg, data, tmp_path / "run", resume=True, progress=False).seconds == pytest.approx(seconds)
    (tmp_path / "run" / "model.pt").unlink()
    again = train_run(cfg, data, tmp_path / "run", resume=True, progress=False,
                      on_epoch_end=lambda row: pytest.fail("a finished run trained again"))
    assert again.epochs_done == 1 and (tmp_path / "run" / "model.pt").is_file()
    raw = torch.load(tmp_path / "run" / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(v, raw[k]) for k, v in load_model(tmp_path / "run" / "model.pt")[0].state_dict().items())


def test_last_pt_records_the_process_count_and_the_rng_states_it_restores(tmp_path):
    """A state without its world_size would be judged by step counts alone (another message, and a resume by
    another process count wherever the steps agree); a numpy/python/torch state not put back would draw anew."""
    import random
    from types import SimpleNamespace

    from kaggle_kit.train.loop import load_state, process_count_problem, save_state
    from kaggle_kit.train.rng import seed_all, set_rng_states

    net = _net()
    opt = build_optimizer(net, OptimizerConfig())
    eng = SimpleNamespace(info=DistInfo(world_size=2), model=net, ema=None, optimizer=opt,
                          schedule=LRSchedule(opt, ScheduleConfig(), 0.1, 10, 10),
                          scaler=torch.amp.GradScaler("cpu", enabled=False))
    seed_all(1)
    save_state(tmp_path / "last.pt", eng, epoch=1, key="k", history=[], best={"epoch": None})
    draws = (np.random.rand(), random.random(), torch.rand(1).item())
    state = load_state(tmp_path / "last.pt")
    assert process_count_problem(state, 10, 1).startswith("its last.pt was trained by 2 processes and this run has 1")
    set_rng_states(state["rng"])
    assert (np.random.rand(), random.random(), torch.rand(1).item()) == draws


def test_a_resumed_run_says_the_time_left_at_its_own_pace(tmp_path, data, capsys):
    """Averaging in the epochs of an earlier session (maybe on a slower machine) would say days left and point a
    fast machine to GPUs."""
    cfg = make_cfg(epochs=3)
    with pytest.raises(KeyboardInterrupt):
        train_run(cfg, data, tmp_path / "run", progress=False, on_epoch_end=_stop_after_first_epoch)
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    state["history"][0]["seconds"] = 1e6  # as a first epoch on a laptop CPU would have taken
    torch.save(state, tmp_path / "run" / "last.pt")
    train_run(cfg, data, tmp_path / "run", resume=True, progress=True)
    err = capsys.readouterr().err.splitlines()
    (second,) = [ln for ln in err if ln.startswith("epoch   2/3")]
    assert second.endswith("s left") and not any(ln.startswith("note:") for ln in err), err
