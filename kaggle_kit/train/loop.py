"""The training engine: one run folder in, a trained ``model.pt`` and its metrics out.

``train_run`` is the thin I/O step (split, folder files, checkpoints, manifest); ``train_epoch`` and
``evaluate`` are the loop. Everything an epoch draws at random is seeded from (seed, epoch, rank) and
``last.pt`` is written at each epoch end, so a run killed at any point and resumed reaches the same weights
as one never interrupted (tests/unit/test_train.py checks this bit for bit on CPU).
"""
from __future__ import annotations

import contextlib
import csv
import io
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from kaggle_kit.batch_augment import mix_batch, supports
from kaggle_kit.checkpoint import atomic_torch_save, load_checkpoint, save_model
from kaggle_kit.config import AUGMENT_GPU, AugmentConfig, PipelineConfig, TrainConfig, config_hash, to_dict
from kaggle_kit.data import Cifar10, holdout_split, stratified_subset
from kaggle_kit.errors import ConfigError, RunError
from kaggle_kit.fsio import atomic_path, atomic_write_text, leftover_temporaries
from kaggle_kit.runs import claim_run, read_manifest, write_manifest
from kaggle_kit.tensors import select_device, to_model_input
from kaggle_kit.train import distributed
from kaggle_kit.train.batches import DeviceBatches, WorkerBatches, epoch_batches, steps_per_epoch
from kaggle_kit.train.distributed import DistInfo
from kaggle_kit.train.optim import build_optimizer, l2_penalty
from kaggle_kit.train.rng import derive_seed, rng_states, seed_all, set_rng_states
from kaggle_kit.train.schedule import LRSchedule

STATE_FORMAT = "kaggle-kit/train-state/1"
# lr: at the epoch's last step; seconds: the whole epoch with evaluation; images_per_s: training phase only,
# summed over processes. train_acc counts a mixed (Mixup/CutMix) image as its own label.
METRIC_COLUMNS = ("epoch", "lr", "train_loss", "train_acc", "holdout_loss", "holdout_acc", "seconds",
                  "images_per_s")
EVAL_BATCH = 1000  # images per forward when evaluating
TRAIN_OUTPUTS = ("model.pt", "last.pt", "metrics.csv", "holdout_indices.npy", "config.yaml")


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    holdout_acc: float | None   # of the model saved as model.pt (best or last epoch)
    test_acc: float | None      # CIFAR-10 test set (or its test_subset), None when not evaluated
    epochs_done: int
    seconds: float              # training + evaluation time over all sessions of this run
    stopped_epoch: int | None = None  # the epoch early stopping ended the run at; None: it ran all its epochs


# ------------------------------------------------------------------------------------------- pure pieces
def use_batched_path(aug: AugmentConfig) -> bool:
    """The batched tensor path when allowed (gpu auto|on) and the preset is expressible; else per-image."""
    if aug.gpu not in AUGMENT_GPU:
        raise ConfigError(f"train.augment.gpu must be one of {', '.join(AUGMENT_GPU)}, found '{aug.gpu}'")
    expressible = supports(aug.preset)  # raises ConfigError for an unknown preset
    if aug.gpu == "on" and not expressible:
        raise ConfigError(f"augmentation preset '{aug.preset}' has no batched form; set train.augment.gpu=auto")
    return expressible and aug.gpu != "off"


def amp_dtype(device: torch.device, enabled: bool) -> torch.dtype | None:
    """bf16 where the GPU has it natively; fp16 (with a grad scaler) on older GPUs such as Kaggle's T4."""
    if not enabled or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported(including_emulation=False) else torch.float16


# Settings that change neither the batches nor the weights (batches.py draws the same batches for any worker
# count): a run may be resumed, or reused by the pipeline, with another value.
SPEED_ONLY = ("num_workers",)


def training_key(cfg: PipelineConfig, *, legacy: bool = False) -> str:
    """What must not change between a run and its resumption (``legacy``: the key of runs saved before
    ``SPEED_ONLY`` settings were left out, which still resume)."""
    d = cfg.data
    train = to_dict(cfg.train, for_key=True)
    if not legacy:
        train = {k: v for k, v in train.items() if k not in SPEED_ONLY}
    return config_hash({"model": cfg.model, "train": train,
                        "split": [d.holdout_size, d.holdout_seed, d.train_subset]})


def split_indices(cfg: PipelineConfig, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(train_idx, holdout_idx) into the 50,000 training images; train_subset is taken after the holdout."""
    train_idx, hold_idx = holdout_split(labels, cfg.data.holdout_size, cfg.data.holdout_seed)
    if cfg.data.train_subset is not None:
        keep = stratified_subset(labels[train_idx], cfg.data.train_subset, cfg.data.holdout_seed)
        train_idx = train_idx[keep]
    return train_idx, hold_idx


def build_model(cfg: PipelineConfig, num_classes: int, *, meta_only: bool = False) -> tuple[torch.nn.Module, dict]:
    """Registry model with the pipeline's kwargs (+ train.dropout); the parameter budget is checked here, on a
    meta-device build first, so a width of 100,000 (a resumed run's edited config.yaml) is refused before
    gigabytes are allocated and initialised. ``meta_only``: return that meta-device build (the pre-flight checks
    need shapes, not weights), so a model is not built twice on the meta device."""
    from kaggle_kit.config import check_model_argument, check_model_kwargs, model_kwargs
    from kaggle_kit.models import check_parameter_budget, create_model

    # as load_pipeline does, for configs that skip it (built in code, a run's config.yaml)
    check_model_kwargs(cfg.model.name, cfg.model.kwargs)
    if cfg.train.dropout is not None:
        check_model_argument("dropout", cfg.train.dropout, "train.dropout")
    kwargs = model_kwargs(cfg)

    def build() -> torch.nn.Module:
        try:
            return create_model(cfg.model.name, num_classes=num_classes, **kwargs)
        except (TypeError, ValueError, RuntimeError) as err:  # torch's words for what the checks above let through
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]  # torch's C++ errors add a stack
            raise ConfigError(f"model '{cfg.model.name}' rejected its arguments {sorted(kwargs)} ({first}); "
                              f"fix model.kwargs or train.dropout") from None

    with torch.device("meta"):  # the real build has the same parameters: checked once, before it allocates
        meta = build()
        check_parameter_budget(meta, cfg.model.name, cfg.model.max_params)
    return (meta if meta_only else build()), kwargs


def improves(select_by: str, hold_loss: float | None, hold_acc: float | None, best: dict) -> bool:
    """Whether an evaluated epoch beats ``best`` on ``select_by``; ties keep the earlier epoch (Keras' strict
    comparison, min_delta 0)."""
    if hold_acc is None or hold_loss is None:
        return False
    if best.get("epoch") is None:
        return True
    if select_by == "holdout_loss":
        return hold_loss < best["holdout_loss"]
    return hold_acc > best["holdout_acc"]


def stops_early(epoch: int, evaluated: bool, best: dict, patience_epochs: int | None) -> bool:
    """Keras EarlyStopping without restore: the run ends at the first evaluated epoch ``patience_epochs`` after
    its best one (patience 200, best epoch 50: it ends after epoch 250). An epoch with no holdout evaluation
    cannot show that nothing improved, so it never stops a run."""
    return (patience_epochs is not None and evaluated and best.get("epoch") is not None
            and epoch - best["epoch"] >= patience_epochs)


def selection_record(tc: TrainConfig, chosen_epoch: int, stopped_epoch: int | None) -> dict:
    """The manifest's account of which epoch model.pt holds, why, and where the run ended."""
    if tc.select_best:
        why = "lowest holdout_loss" if tc.select_by == "holdout_loss" else "highest holdout_accuracy"
    else:
        why = "last epoch"
    return {"model_epoch": chosen_epoch, "chosen_by": why, "select_by": tc.select_by,
            "early_stop_patience_epochs": tc.early_stop_patience_epochs, "stopped_epoch": stopped_epoch}


def metrics_csv(history: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=METRIC_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in METRIC_COLUMNS})
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------- the loop
@torch.no_grad()
def evaluate(model: torch.nn.Module, images: np.ndarray, labels: np.ndarray, device: torch.device,
             tc: TrainConfig, info: DistInfo = DistInfo()) -> tuple[float | None, float | None]:
    """(mean cross-entropy, accuracy) of ``model`` on uint8 images; each rank scores its own share."""
    if len(labels) == 0:
        return None, None
    model.eval()
    share = slice(info.rank, None, info.world_size)
    images, labels = images[share], labels[share]
    dtype = amp_dtype(device, tc.amp)
    sums = torch.zeros(3, dtype=torch.float64, device=device)  # loss, correct, count
    for start in range(0, len(labels), EVAL_BATCH):
        x = to_model_input(images[start:start + EVAL_BATCH], device, tc.channels_last)
        y = torch.from_numpy(labels[start:start + EVAL_BATCH]).to(device)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            logits = model(x)
        sums[0] += F.cross_entropy(logits.float(), y, reduction="sum")
        sums[1] += (logits.argmax(1) == y).sum()
        sums[2] += len(y)
    sums = distributed.all_reduce_sum(sums, info)
    return float(sums[0] / sums[2]), float(sums[1] / sums[2])


@dataclass
class Engine:
    """The live objects of one run, grouped so checkpointing and the loop see the same things."""

    model: torch.nn.Module          # the raw module (what is saved)
    train_model: torch.nn.Module    # what the loop calls: maybe DDP- and/or torch.compile-wrapped
    ema: AveragedModel | None
    optimizer: torch.optim.Optimizer
    schedule: LRSchedule
    scaler: torch.amp.GradScaler
    device: torch.device
    info: DistInfo

    @property
    def eval_model(self) -> torch.nn.Module:
        return self.ema.module if self.ema is not None else self.model

    def sync_buffers(self) -> None:
        """Under DDP each rank updates BatchNorm statistics on its own batches: adopt rank 0's before use."""
        if self.info.enabled:
            modules = [self.model] + ([self.ema.module] if self.ema is not None else [])
            for module in modules:
                for buf in module.buffers():
                    torch.distributed.broadcast(buf, src=0)


def build_engine(cfg: PipelineConfig, num_classes: int, steps_per_epoch: int, device: torch.device,
                 info: DistInfo = DistInfo()) -> tuple[Engine, dict]:
    """Model (budget-checked, on the device), EMA, optimizer, schedule, scaler and the DDP/compile wrappers."""
    tc = cfg.train
    model, model_kwargs = build_model(cfg, num_classes)
    fmt = torch.channels_last if tc.channels_last else torch.contiguous_format
    model = model.to(device, memory_format=fmt)
    ema = None
    if tc.ema_decay is not None:
        ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(tc.ema_decay), use_buffers=True)
    optimizer = build_optimizer(model, tc.optimizer)
    schedule = LRSchedule(optimizer, tc.schedule, tc.optimizer.lr, steps_per_epoch, tc.epochs)
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype(device, tc.amp) == torch.float16)
    train_model = model
    if info.enabled:
        ids = [device.index] if device.type == "cuda" else None
        train_model = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
    if tc.compile:
        train_model = torch.compile(train_model)
    return Engine(model, train_model, ema, optimizer, schedule, scaler, device, info), model_kwargs


def make_source(tc: TrainConfig, images: np.ndarray, labels: np.ndarray, device: torch.device):
    """Batched tensor path when ``use_batched_path`` allows, else per-image presets in DataLoader workers."""
    if use_batched_path(tc.augment):
        return DeviceBatches(images, labels, tc.augment.preset, device)
    return WorkerBatches(images, labels, tc.augment.preset, device, tc.num_workers)


def train_epoch(eng: Engine, source, batches: np.ndarray, epoch_seed: int, tc: TrainConfig,
                num_classes: int, bar: tqdm) -> dict[str, float]:
    eng.model.train()
    mix_rng = np.random.default_rng(derive_seed(epoch_seed, 1))
    mixing = tc.augment.mixup_alpha > 0 or tc.augment.cutmix_alpha > 0
    dtype = amp_dtype(eng.device, tc.amp)
    sums = torch.zeros(3, dtype=torch.float64, device=eng.device)  # loss, correct, count
    lr = eng.schedule.current_lr()
    for step, (x_u8, y) in enumerate(source.epoch(batches, epoch_seed)):
        x = to_model_input(x_u8, eng.device, tc.channels_last)
        targets = None
        if mixing:
            x, targets = mix_batch(x, y, num_classes, mixup_alpha=tc.augment.mixup_alpha,
                                   cutmix_alpha=tc.augment.cutmix_alpha, mix_prob=tc.augment.mix_prob,
                                   rng=mix_rng)
        lr = eng.schedule.apply()
        with torch.autocast(eng.device.type, dtype=dtype, enabled=dtype is not None):
            logits = eng.train_model(x)
            loss = F.cross_entropy(logits, y if targets is None else targets, label_smoothing=tc.label_smoothing)
        eng.optimizer.zero_grad(set_to_none=True)
        eng.scaler.scale(loss).backward()
        if tc.grad_clip_norm is not None:
            eng.scaler.unscale_(eng.optimizer)
            torch.nn.utils.clip_grad_norm_(eng.model.parameters(), tc.grad_clip_norm)
        eng.scaler.step(eng.optimizer)
        eng.scaler.update()
        eng.schedule.step()
        if eng.ema is not None:
            eng.ema.update_parameters(eng.model)
        sums[0] += loss.detach().float() * len(y)
        sums[1] += (logits.detach().argmax(1) == y).sum()  # against the unmixed label when mixing
        sums[2] += len(y)
        bar.update(1)
        if not bar.disable and step % 20 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}", lr=f"{lr:.2e}")
    sums = distributed.all_reduce_sum(sums, eng.info)
    count = max(float(sums[2]), 1.0)
    return {"train_loss": float(sums[0]) / count, "train_acc": float(sums[1]) / count, "lr": lr,
            "images": float(sums[2])}


def weights_finite(model: torch.nn.Module) -> bool:
    """Whether every floating parameter and buffer (BatchNorm statistics too) is a finite number."""
    return all(bool(t.isfinite().all()) for t in model.state_dict().values() if t.is_floating_point())


def check_not_diverged(eng: Engine, run_dir: Path, epoch: int, train_loss: float, hold_loss: float | None,
                       tc: TrainConfig) -> None:
    """Stop a run whose weights turned NaN/inf: every later epoch, prediction and submission would be noise
    (NaN logits argmax to class 0). Under AMP the scaler skips steps with non-finite gradients, so a single
    overflowing step never gets here; the weights themselves must have gone."""
    if weights_finite(eng.model) and weights_finite(eng.eval_model) and (hold_loss is None or math.isfinite(hold_loss)):
        return
    raise RunError(f"{run_dir}: training diverged in epoch {epoch}: the model's weights are NaN or infinite "
                   f"(train loss {train_loss:.4g}); lower train.optimizer.lr (it is {tc.optimizer.lr:g}) or set "
                   f"train.grad_clip_norm, and train a new run")


# -------------------------------------------------------------------------------------- checkpointing
def save_state(path: Path, eng: Engine, *, epoch: int, key: str, history: list[dict], best: dict,
               stopped_epoch: int | None = None) -> None:
    state = {
        "format": STATE_FORMAT,
        "epoch": epoch,
        "training_key": key,
        "world_size": eng.info.world_size,
        "model": eng.model.state_dict(),
        "ema": eng.ema.state_dict() if eng.ema is not None else None,
        "optimizer": eng.optimizer.state_dict(),
        "schedule": eng.schedule.state_dict(),
        "scaler": eng.scaler.state_dict(),
        "rng": rng_states(),
        "history": history,
        "best": best,               # with history: what selection and early stopping need to go on after a resume
        "stopped_epoch": stopped_epoch,
    }
    atomic_torch_save(path, state)


def load_state(path: Path) -> dict:
    """``last.pt``, or a one-line ``RunError``: a damaged state cannot be resumed, and starting over silently
    would destroy a file the user may still restore."""
    start_over = "move it away (or delete it) to train the run from its start"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for corrupt files
        raise RunError(f"{path}: unreadable training state ({err.__class__.__name__}); {start_over}") from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        found = f"format {state['format']!r}" if isinstance(state, dict) and "format" in state else "no format tag"
        raise RunError(f"{path}: not a kaggle-kit training state ({found}, expected {STATE_FORMAT!r}); {start_over}")
    return state


def best_model_missing(model_path: Path, best: dict, epochs_done: int) -> bool:
    """Whether a kill came between last.pt naming its own epoch the best and model.pt being written: then the
    restored weights are the best ones, and model.pt must be written from them."""
    if best.get("epoch") is None or best["epoch"] != epochs_done:
        return False
    try:
        return load_checkpoint(model_path).get("metrics", {}).get("epoch") != best["epoch"]
    except RunError:  # missing or unreadable
        return True


def process_count_problem(state: dict, steps_per_epoch: int, world_size: int) -> str | None:
    """Why ``state`` cannot go on with ``world_size`` processes, or None. Each process takes ``batch_size`` images
    a step, so the process count sets the batch and the steps per epoch, and the schedule, which counts steps,
    would silently continue from another point; a state saved before it recorded ``world_size`` is judged by
    its step count."""
    saved = state.get("world_size")
    if saved is not None and saved != world_size:
        how = f"with torchrun --nproc_per_node={saved}" if saved > 1 else "without torchrun"
        return (f"its last.pt was trained by {saved} process{'es' if saved > 1 else ''} and this run has "
                f"{world_size}; resume it {how}")
    done, epochs = int(state["schedule"]["step_count"]), int(state["epoch"])
    if epochs and done != epochs * steps_per_epoch:
        return (f"its last.pt took {done // epochs} optimizer steps per epoch, this run {steps_per_epoch} "
                f"(another torchrun --nproc_per_node?); resume it with the number of processes it was trained with")
    return None


def restore_state(eng: Engine, state: dict) -> None:
    eng.model.load_state_dict(state["model"])
    if eng.ema is not None:
        eng.ema.load_state_dict(state["ema"])
    eng.optimizer.load_state_dict(state["optimizer"])
    eng.schedule.load_state_dict(state["schedule"])
    if state["scaler"]:  # empty when saved with the scaler off (CPU, bf16): on an fp16 GPU a fresh one starts
        eng.scaler.load_state_dict(state["scaler"])
    set_rng_states(state["rng"])
    # Not the batched augmentation's generator: every epoch reseeds it (batches.py), and it lives on the training
    # device, so a CUDA generator's saved state would not fit a CPU one when a run moves between machines.


# ------------------------------------------------------------------------------------------ the I/O step
def _configure_torch(tc: TrainConfig, device: torch.device) -> None:
    if tc.deterministic:
        import os

        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
    elif device.type == "cuda":
        torch.backends.cudnn.benchmark = True


def _finished_result(run_dir: Path, state: dict) -> TrainResult | None:
    manifest = read_manifest(run_dir, "train")
    if manifest is None or not (run_dir / "model.pt").is_file():
        return None
    m = manifest.get("metrics", {})
    return TrainResult(run_dir, m.get("holdout_acc"), m.get("test_acc"), int(state["epoch"]),
                       float(sum(r["seconds"] for r in state["history"])), state.get("stopped_epoch"))


def train_run(cfg: PipelineConfig, data: Cifar10, run_dir: str | Path, *, resume: bool = False,
              progress: bool = True, inputs: Mapping[str, str | Path] = (),
              on_epoch_end: Callable[[dict], Any] | None = None) -> TrainResult:
    """Train ``cfg`` on ``data`` into ``run_dir`` (see DESIGN.md for the files); ``resume`` continues last.pt.

    ``inputs`` (name -> data file) are fingerprinted into the manifest. ``on_epoch_end(row)`` runs after each
    epoch's files are written (on every rank); an exception it raises stops the run like a kill would.

    One process trains into a folder at a time (the main rank holds an flock on it): two `train --resume RUN` in
    two terminals, or a hand's resume while a pipeline trains that run, both trained it, each writing over the
    other's checkpoints and deleting the other's half-written files as a killed run's leftovers.
    """
    with contextlib.ExitStack() as held:
        return _train_run(cfg, data, Path(run_dir), held, resume=resume, progress=progress, inputs=inputs,
                          on_epoch_end=on_epoch_end)


def _train_run(cfg: PipelineConfig, data: Cifar10, run_dir: Path, held: contextlib.ExitStack, *, resume: bool,
               progress: bool, inputs: Mapping[str, str | Path],
               on_epoch_end: Callable[[dict], Any] | None) -> TrainResult:
    tc = cfg.train
    info = distributed.setup()
    device = select_device()
    key = training_key(cfg)
    last_path, model_path = run_dir / "last.pt", run_dir / "model.pt"
    then = (f" (then `kaggle-kit train --resume {run_dir}` continues it if it stopped early) or train into another "
            f"folder")
    claimed = info.is_main and run_dir.is_dir()
    if claimed:
        claim_run(run_dir, held, then)

    state = _saved_state(cfg, run_dir, key, resume)
    if state is not None and (state["epoch"] >= tc.epochs or state.get("stopped_epoch") is not None):
        done = _finished_result(run_dir, state)
        if done is not None:
            return done
    train_idx, hold_idx, spe = _checked_split(cfg, data.train_labels, info, state, run_dir)
    num_classes = len(data.class_names)

    _configure_torch(tc, device)
    seed_all(tc.seed)
    eng, model_kwargs = build_engine(cfg, num_classes, spe, device, info)
    train_x, train_y = data.train_images[train_idx], data.train_labels[train_idx]
    hold_x, hold_y = data.train_images[hold_idx], data.train_labels[hold_idx]
    source = make_source(tc, train_x, train_y, device)

    history: list[dict] = []
    best: dict = {"epoch": None, "holdout_acc": None, "holdout_loss": None}
    stopped_epoch: int | None = None
    if state is not None:
        restore_state(eng, state)
        history, best, stopped_epoch = list(state["history"]), dict(state["best"]), state.get("stopped_epoch")
    elif info.is_main:
        _start_run_folder(cfg, run_dir, hold_idx, held, then, claimed)
    if info.is_main:  # what a kill in the middle of writing an output left behind
        _remove_leftovers(run_dir)
    start_epoch = len(history)
    show_bar = progress and info.is_main and sys.stderr.isatty()
    checkpoint_meta = dict(model_name=cfg.model.name, model_kwargs=model_kwargs,
                           class_names=list(data.class_names), config=to_dict(cfg))
    if state is not None and info.is_main and tc.select_best and best_model_missing(model_path, best, start_epoch):
        save_model(model_path, eng.eval_model, metrics=best, **checkpoint_meta)  # last.pt holds its weights

    for epoch in range(start_epoch, tc.epochs if stopped_epoch is None else start_epoch):
        row, hold_loss, hold_acc = _fit_epoch(eng, source, (hold_x, hold_y), tc, info, device, run_dir, epoch,
                                              len(train_idx), num_classes, show_bar)
        history.append(row)
        improved = improves(tc.select_by, hold_loss, hold_acc, best)
        if improved:
            best = {"epoch": epoch + 1, "holdout_acc": hold_acc, "holdout_loss": hold_loss}
        if epoch + 1 < tc.epochs and stops_early(epoch + 1, hold_acc is not None, best, tc.early_stop_patience_epochs):
            stopped_epoch = epoch + 1  # not the last epoch: a run that trained all its epochs did not stop early
        if info.is_main:
            atomic_write_text(run_dir / "metrics.csv", metrics_csv(history))
            # last.pt commits the epoch: a kill before it reruns the epoch and rewrites metrics.csv, while a resume
            # of a finished last.pt writes no rows. The best model.pt comes after it, so a kill in between leaves
            # its weights in last.pt, where a resume finds them (``best_model_missing``); written first, a kill
            # would leave a model.pt of an epoch that a GPU's nondeterministic rerun might not reproduce.
            save_state(last_path, eng, epoch=epoch + 1, key=key, history=history, best=best,
                       stopped_epoch=stopped_epoch)
            if tc.select_best and improved:
                save_model(model_path, eng.eval_model, metrics=best, **checkpoint_meta)
            if progress:
                _write_epoch_lines(row, history[start_epoch:], tc, device, best, stopped_epoch,
                                   first=epoch == start_epoch)
        distributed.barrier(info)
        if on_epoch_end is not None:
            on_epoch_end(row)
        if stopped_epoch is not None:
            break

    chosen = _chosen_weights(tc, eng, info, history[-1], best, model_path, checkpoint_meta)
    test_acc = _test_accuracy(cfg, data, eng, device, info)
    seconds = float(sum(r["seconds"] for r in history))
    if info.is_main:
        write_manifest(
            run_dir, "train", config=cfg, inputs=inputs,
            outputs={n: run_dir / n for n in TRAIN_OUTPUTS},
            metrics={"holdout_acc": chosen["holdout_acc"], "holdout_loss": chosen["holdout_loss"],
                     "model_epoch": chosen["epoch"], "test_acc": test_acc, "epochs": len(history),
                     "params": sum(p.numel() for p in eng.model.parameters() if p.requires_grad),
                     "train_images": len(train_idx), "holdout_images": len(hold_idx),
                     "images_per_s_mean": round(float(np.mean([r["images_per_s"] for r in history])), 1)},
            timings_s={"train_and_eval": seconds},
            extra={"selection": selection_record(tc, chosen["epoch"], stopped_epoch),
                   "device": str(device), "world_size": info.world_size,
                   "effective_batch_size": tc.batch_size * info.world_size,
                   "augment_path": "batched" if isinstance(source, DeviceBatches) else "per-image",
                   "amp_dtype": str(amp_dtype(device, tc.amp))})
    distributed.barrier(info)
    return TrainResult(run_dir, chosen["holdout_acc"], test_acc, len(history), seconds, stopped_epoch)


def _checked_split(cfg: PipelineConfig, labels: np.ndarray, info: DistInfo, state: dict | None,
                   run_dir: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """The training and holdout indices and the steps per epoch, after the settings that would make a run
    meaningless (or, resumed, continue another schedule) are refused."""
    tc = cfg.train
    if min(tc.epochs, tc.batch_size, tc.eval_every_epochs) < 1:
        raise ConfigError("train.epochs, train.batch_size and train.eval_every_epochs must be >= 1")
    if tc.select_best and cfg.data.holdout_size == 0:
        raise ConfigError("train.select_best needs a holdout; set data.holdout_size > 0 or select_best: false")
    train_idx, hold_idx = split_indices(cfg, labels)
    spe = steps_per_epoch(len(train_idx), tc.batch_size, info.world_size)
    if spe < 1:
        raise ConfigError(f"{len(train_idx):,} training images make no full batch of {tc.batch_size} per process")
    if state is not None and (problem := process_count_problem(state, spe, info.world_size)):
        raise RunError(f"{run_dir}: {problem}")
    return train_idx, hold_idx, spe


def _fit_epoch(eng: Engine, source, holdout: tuple[np.ndarray, np.ndarray], tc: TrainConfig, info: DistInfo,
               device: torch.device, run_dir: Path, epoch: int, n_train: int, num_classes: int,
               show_bar: bool) -> tuple[dict, float | None, float | None]:
    """Train one epoch and evaluate it when due: its metrics.csv row and the unrounded holdout loss and accuracy
    (None when not evaluated), which select the best epoch. Seeded from (seed, epoch, rank), so a resumed run
    draws what an uninterrupted one would."""
    t0 = time.perf_counter()
    epoch_seed = derive_seed(tc.seed, epoch, info.rank)
    seed_all(epoch_seed)
    batches = epoch_batches(n_train, tc.batch_size, tc.seed, epoch, info)
    with tqdm(total=len(batches), desc=f"epoch {epoch + 1}/{tc.epochs}", unit="batch", leave=False,
              disable=not show_bar, file=sys.stderr) as bar:
        stats = train_epoch(eng, source, batches, epoch_seed, tc, num_classes, bar)
    train_s = time.perf_counter() - t0
    eng.sync_buffers()
    hold_loss = hold_acc = None
    if (epoch + 1) % tc.eval_every_epochs == 0 or epoch + 1 == tc.epochs:
        hold_loss, hold_acc = evaluate(eng.eval_model, *holdout, device, tc, info)
        if tc.holdout_loss_adds_l2 and hold_loss is not None:  # Keras' val_loss (seed004)
            hold_loss += l2_penalty(eng.eval_model, tc.optimizer)
    check_not_diverged(eng, run_dir, epoch + 1, stats["train_loss"], hold_loss, tc)
    eng.schedule.end_epoch(hold_loss)
    return _epoch_row(epoch, stats, hold_loss, hold_acc, time.perf_counter() - t0, train_s), hold_loss, hold_acc


def _saved_state(cfg: PipelineConfig, run_dir: Path, key: str, resume: bool) -> dict | None:
    """The run's last.pt to continue, None for a new run; refused without ``resume`` or for another config."""
    last_path = run_dir / "last.pt"
    if not last_path.is_file():
        return None
    if not resume:
        raise RunError(f"{run_dir}: already holds a training state (last.pt); resume it with --resume "
                       f"or train into a new folder")
    state = load_state(last_path)
    if state["training_key"] not in (key, training_key(cfg, legacy=True)):
        raise RunError(f"{run_dir}: its last.pt was trained with a different model/train/data config; "
                       f"resume with the run's own config.yaml or start a new run")
    return state


def _start_run_folder(cfg: PipelineConfig, run_dir: Path, hold_idx: np.ndarray, held: contextlib.ExitStack,
                      then: str, claimed: bool) -> None:
    """A new run's folder, claimed for this process, with the config and the holdout it trains against."""
    run_dir.mkdir(parents=True, exist_ok=True)
    if not claimed:  # another process may have made it too since the start: one of the two trains
        claim_run(run_dir, held, then)
        if (run_dir / "last.pt").is_file():  # and one that already finished there is not trained over
            raise RunError(f"{run_dir}: already holds a training state (last.pt), written by another command "
                           f"meanwhile; resume it with --resume or train into a new folder")
    atomic_write_text(run_dir / "config.yaml", yaml.safe_dump(to_dict(cfg), sort_keys=False))
    with atomic_path(run_dir / "holdout_indices.npy") as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, hold_idx)


def _remove_leftovers(run_dir: Path) -> None:
    for name in (*TRAIN_OUTPUTS, "manifest_train.json"):
        for leftover in leftover_temporaries(run_dir / name):
            leftover.unlink(missing_ok=True)


def _epoch_row(epoch: int, stats: dict, hold_loss: float | None, hold_acc: float | None, seconds: float,
              train_s: float) -> dict:
    """One epoch's metrics.csv row (``epoch`` counted from 0, written from 1)."""
    return {"epoch": epoch + 1, "lr": stats["lr"], "train_loss": round(stats["train_loss"], 6),
            "train_acc": round(stats["train_acc"], 6),
            "holdout_loss": None if hold_loss is None else round(hold_loss, 6),
            "holdout_acc": None if hold_acc is None else round(hold_acc, 6),
            "seconds": round(seconds, 3),
            "images_per_s": round(stats["images"] / max(train_s, 1e-9), 1)}


def _write_epoch_lines(row: dict, rows_this_run: list[dict], tc: TrainConfig, device: torch.device, best: dict,
                       stopped_epoch: int | None, first: bool) -> None:
    """The epoch's line on stderr, the note that a long CPU run would be faster on a GPU after the first epoch,
    and why it stopped early."""
    left = seconds_left(rows_this_run, tc.epochs - row["epoch"])
    tqdm.write(_epoch_line(row, tc.epochs, left), file=sys.stderr)
    if first and device.type == "cpu" and left > SLOW_CPU_NOTE_S:
        tqdm.write(slow_cpu_note(left), file=sys.stderr)
    if stopped_epoch is not None:
        tqdm.write(early_stop_line(tc, best, stopped_epoch), file=sys.stderr)


def _chosen_weights(tc: TrainConfig, eng: Engine, info: DistInfo, final: dict, best: dict, model_path: Path,
                    checkpoint_meta: dict) -> dict:
    """The epoch whose weights the run keeps, loaded into ``eng.eval_model`` and saved as model.pt: the best one
    with ``select_best`` (already saved as it came), else the last."""
    if tc.select_best:
        chosen = best
        if not model_path.is_file():
            raise RunError(f"{model_path}: missing; with train.select_best it held the best epoch's weights "
                           f"(epoch {best['epoch']}), which last.pt, the last epoch's state, cannot restore; "
                           f"train the run again in a new folder")
        eng.eval_model.load_state_dict(load_checkpoint(model_path)["state_dict"])
    else:
        chosen = {"epoch": final["epoch"], "holdout_acc": final["holdout_acc"],
                  "holdout_loss": final["holdout_loss"]}
        if info.is_main:
            save_model(model_path, eng.eval_model, metrics=chosen, **checkpoint_meta)
    return chosen


def _test_accuracy(cfg: PipelineConfig, data: Cifar10, eng: Engine, device: torch.device,
                   info: DistInfo) -> float | None:
    """The kept weights' accuracy on the CIFAR-10 test batch (``data.test_subset`` of it), None without one."""
    tc = cfg.train
    test_acc = None
    if len(data.test_labels):
        n_test = cfg.data.test_subset
        test_idx = (np.arange(len(data.test_labels)) if n_test is None
                    else stratified_subset(data.test_labels, n_test, cfg.data.holdout_seed))
        _, test_acc = evaluate(eng.eval_model, data.test_images[test_idx], data.test_labels[test_idx],
                               device, tc, info)
    return test_acc


SLOW_CPU_NOTE_S = 2 * 3600  # a CPU run with more left than this after its first epoch is told about GPUs


def seconds_left(rows: list[dict], epochs_left: int) -> float:
    """The rest of the run at the mean pace of the epochs this process trained (``rows``): a resumed run's earlier
    epochs may have run on another machine."""
    return 0.0 if not rows or epochs_left <= 0 else epochs_left * sum(r["seconds"] for r in rows) / len(rows)


def duration_words(seconds: float) -> str:
    """'45s', '12m', '3h05m': an estimate, so no finer than a minute past one."""
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes = round(seconds / 60)
    return f"{minutes}m" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def slow_cpu_note(left_s: float) -> str:
    """Said once, after a CPU run's first epoch: `make submit` on a laptop would otherwise train for days in
    silence; the recipes were made for GPUs."""
    return (f"note: about {duration_words(left_s)} left at this pace on the CPU; the seed recipes are GPU recipes: "
            f"`kaggle-kit kernel push PIPELINE` trains on Kaggle's GPUs (README: On Kaggle's GPUs), or Ctrl-C now "
            f"and rerun later: training resumes from the last finished epoch")


def early_stop_line(tc: TrainConfig, best: dict, stopped_epoch: int) -> str:
    metric = best["holdout_loss"] if tc.select_by == "holdout_loss" else best["holdout_acc"]
    return (f"early stop after epoch {stopped_epoch}/{tc.epochs}: {tc.select_by} has not improved on epoch "
            f"{best['epoch']}'s {metric:.4f} for {stopped_epoch - best['epoch']} epochs "
            f"(train.early_stop_patience_epochs: {tc.early_stop_patience_epochs})")


def _epoch_line(row: dict, epochs: int, left_s: float = 0.0) -> str:
    hold = "" if row["holdout_acc"] is None else \
        f"  holdout loss {row['holdout_loss']:.4f} acc {row['holdout_acc']:.4f}"
    left = f"  ~{duration_words(left_s)} left" if row["epoch"] < epochs else ""
    return (f"epoch {row['epoch']:>3}/{epochs}  lr {row['lr']:.3e}  train loss {row['train_loss']:.4f} "
            f"acc {row['train_acc']:.4f}{hold}  {row['seconds']:.1f}s  {row['images_per_s']:.0f} img/s{left}")
