"""Predict stage: a run's model -> ``logits_{holdout,test,comp}.npz`` (+ temperature) and plain-vs-TTA scores.

A BatchNorm model that keeps its trained statistics on the competition images also gets
``logits_comp_reference.npz`` (``runs.REFERENCE_FILE``): a class-balanced adapted copy's logits on those images, the
reference the gap report's Ref-EM, Ref-Avg, COT-Gated, Ref-Avg-Shrunk, Ref-Prior, Ref-Mix, Ref-Split, Ref-Sep,
Ref-Hedge, Ref-Parts, Ref-Doubt, Ref-Stack and Ref-Stack-Gated estimates read the submitted predictions against.

The holdout is rebuilt from the run's ``holdout_indices.npy`` and the training batches, so predictions are
always scored on exactly the images training kept out. Images are normalised by ``tensors.to_model_input``,
the same function training uses, so train and predict can never disagree about the input scale.
Logits are stored per split with the TTA that made them and one temperature fitted on the holdout.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
import torch

from kaggle_kit.bn_adapt import balanced_adapted_copy, batchnorm_layers, image_batches
from kaggle_kit.calibration import calibrated_probs, expected_calibration_error, fit_temperature, nll
from kaggle_kit.checkpoint import check_matches_config, load_checkpoint, model_from_checkpoint
from kaggle_kit.config import PipelineConfig, PredictConfig, from_dict, load_yaml, model_kwargs
from kaggle_kit.data import Cifar10, CompetitionSet, stratified_subset
from kaggle_kit.errors import ConfigError, RunError, SubmissionError, UsageError
from kaggle_kit.fsio import atomic_write_text, check_file_target
from kaggle_kit.gap.label_shift import class_priors
from kaggle_kit.runs import (NUM_CLASSES, REFERENCE_FILE, UNFINISHED_ENSEMBLE, Logits, claim_run, load_logits,
                             read_manifest, run_dir, save_logits, unfinished_ensemble, write_manifest)
from kaggle_kit.submission import nonfinite_rows, write_submission
from kaggle_kit.tensors import to_model_input
from kaggle_kit.tta import PLAIN, TTAPlan, forward_tta, images_per_forward, plan_from_config
from kaggle_kit.text import count_words

METRICS_FILE = "predict_metrics.json"


@dataclass(frozen=True)
class Split:
    ids: np.ndarray            # holdout: indices into the 50,000 training images; test: CIFAR-10 test indices
    images: np.ndarray         # uint8 NHWC
    labels: np.ndarray | None  # None for the competition set


# ------------------------------------------------------------------------------------------ run inputs
def run_config(folder: Path) -> PipelineConfig:
    """The resolved pipeline the run was trained with (``config.yaml``)."""
    path = folder / "config.yaml"
    if not path.is_file():
        raise RunError(f"{folder}: no config.yaml; this is not a complete run folder (train it first)")
    try:
        return from_dict(PipelineConfig, load_yaml(path))
    except ConfigError as err:
        raise RunError(f"{path}: {err}") from None


def stored_predict_config(folder: Path) -> PredictConfig:
    """The settings that made the run's stored logits: its predict manifest's, since `kaggle-kit predict --tta`
    (and a pipeline whose predict section changed after training) leave ``config.yaml``'s section behind; a run
    without a readable manifest falls back to ``config.yaml``."""
    manifest = read_manifest(folder, "predict")
    if manifest is not None and isinstance(manifest.get("config"), dict):
        try:
            return from_dict(PredictConfig, manifest["config"])
        except ConfigError:
            pass
    return run_config(folder).predict


def run_model(folder: Path, pipeline: PipelineConfig,
              device: str | torch.device = "cpu") -> tuple[torch.nn.Module, dict]:
    """The run's ``model.pt`` as a model in eval mode, with its checkpoint dict, after checking that it is the
    architecture ``config.yaml`` names (the same kwargs training built it with) and has NUM_CLASSES classes.
    Reads and writes nothing else, so it can run before the data is loaded."""
    path = folder / "model.pt"
    payload = load_checkpoint(path)
    check_matches_config(payload, path, pipeline.model.name, model_kwargs(pipeline), folder / "config.yaml")
    if len(payload["class_names"]) != NUM_CLASSES:
        raise RunError(f"{path}: has {len(payload['class_names'])} classes, this competition has {NUM_CLASSES}; "
                       f"it was not trained for this competition")
    return model_from_checkpoint(payload, path, device), payload


def holdout_indices(folder: Path, n_train: int) -> np.ndarray:
    path = folder / "holdout_indices.npy"
    if not path.is_file():
        raise RunError(f"{folder}: no holdout_indices.npy; train the run first (`kaggle-kit train`)")
    try:
        idx = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise RunError(f"{path}: not a readable index array ({err.__class__.__name__})") from None
    if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
        raise RunError(f"{path}: expected a 1-D integer array, found {idx.dtype} {idx.shape}")
    idx = idx.astype(np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= n_train):
        raise RunError(f"{path}: indices outside 0..{n_train - 1}; the run was trained on other data")
    if len(np.unique(idx)) != len(idx):
        raise RunError(f"{path}: repeated holdout indices; the file is corrupt, retrain the run")
    return idx


def evaluation_sets(data: Cifar10, comp: CompetitionSet | None, hold_idx: np.ndarray,
                    test_subset: int | None, comp_subset: int | None, seed: int) -> dict[str, Split]:
    """Holdout, test (a stratified subset when ``test_subset``) and competition (its first ``comp_subset``)."""
    sets = {"holdout": Split(hold_idx, data.train_images[hold_idx], data.train_labels[hold_idx])}
    test_idx = (np.arange(len(data.test_labels), dtype=np.int64) if test_subset is None
                else stratified_subset(data.test_labels, test_subset, seed))
    sets["test"] = Split(test_idx, data.test_images[test_idx], data.test_labels[test_idx])
    if comp is not None:
        n = len(comp.ids) if comp_subset is None else min(comp_subset, len(comp.ids))
        sets["comp"] = Split(comp.ids[:n], comp.images[:n], None)
    return sets


# ------------------------------------------------------------------------------------------- inference
def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


DEVICE_TYPES = ("cpu", "cuda", "mps")
DEVICE_CHOICES = "auto, cpu, cuda, cuda:N (N = GPU index) or mps"


def resolve_device(spec: str | torch.device | None) -> torch.device:
    """``--device`` as a torch device this machine has: None or 'auto' picks ``default_device()``; anything
    else must be one of ``DEVICE_CHOICES`` and present (a one-line ``UsageError`` otherwise, before any data is
    loaded or any file written)."""
    if spec is None or (isinstance(spec, str) and spec.strip().lower() == "auto"):
        return default_device()
    try:
        dev = torch.device(spec.strip() if isinstance(spec, str) else spec)
    except (RuntimeError, ValueError, TypeError):
        dev = None
    if dev is None or dev.type not in DEVICE_TYPES or (dev.type != "cuda" and dev.index not in (None, 0)):
        raise UsageError(f"--device '{spec}' is not a device this toolkit runs on; use {DEVICE_CHOICES}")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(f"--device {spec}: CUDA is not available on this machine (no usable NVIDIA GPU or "
                             f"driver); use --device cpu or auto")
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise UsageError(f"--device {spec}: this machine has {count_words(count, 'CUDA device')}, so use cuda:0"
                             f"{f'..cuda:{count - 1}' if count > 1 else ''}, cuda or auto")
    if dev.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise UsageError(f"--device {spec}: MPS (Apple GPU) is not available on this machine; use --device cpu "
                         f"or auto")
    return dev


def logits_for_images(model: torch.nn.Module, images: np.ndarray, plan: TTAPlan, *, num_classes: int,
                      batch_size: int = 1000, device: str | torch.device = "cpu", channels_last: bool = False,
                      amp: bool = False) -> np.ndarray:
    """(N, 32, 32, 3) uint8 -> (N, num_classes) float32 logits under ``plan``, one forward per chunk."""
    from kaggle_kit.train.loop import amp_dtype  # the same autocast precision training evaluated with

    device = torch.device(device)
    chunk = images_per_forward(batch_size, plan)
    dtype = amp_dtype(device, amp)
    outs = []
    with torch.inference_mode(), torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
        for start in range(0, len(images), chunk):
            x = to_model_input(images[start:start + chunk], device, channels_last)
            outs.append(forward_tta(model, x, plan).float().cpu())
    if not outs:
        return np.zeros((0, num_classes), dtype=np.float32)
    return torch.cat(outs).numpy().astype(np.float32, copy=False)


def _accuracy(logits: np.ndarray, labels: np.ndarray) -> float | None:
    return float((logits.argmax(1) == labels).mean()) if len(labels) else None


def _append_metrics(folder: Path, entry: dict) -> Path:
    """Append one entry to the run's ``predict_metrics.json`` (a JSON list; an unreadable file restarts it)."""
    path = folder / METRICS_FILE
    history: list = []
    if path.is_file():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
            history = loaded if isinstance(loaded, list) else []
        except (json.JSONDecodeError, UnicodeDecodeError):
            history = []
    history.append(entry)
    return atomic_write_text(path, json.dumps(history, indent=2))


def _check_finite(folder: Path, split: str, logits: np.ndarray) -> None:
    """NaN logits would pass as class 0 and poison the temperature fit; refuse before anything is written."""
    bad = nonfinite_rows(logits)
    if bad:
        raise RunError(f"{folder}: the model's {split} logits of {bad:,} of {len(logits):,} images are NaN or infinite "
                       f"(its weights diverged?); retrain the run, e.g. with a lower train.optimizer.lr")


_RUNS_OWN = object()


def predict_run(run_dir: str | Path, data: Cifar10, comp: CompetitionSet | None, cfg: PredictConfig,
                device: str | torch.device | None = None, comp_subset: int | None | object = _RUNS_OWN,
                test_subset: int | None | object = _RUNS_OWN) -> dict[str, Logits]:
    """Write ``logits_*.npz`` for the run and record plain vs TTA accuracy; returns the logits by split.

    ``comp_subset`` and ``test_subset`` default to the run's ``data`` settings; a pipeline passes its own, since
    those settings do not retrain and the run's config.yaml keeps the values of whichever pipeline trained it.

    The temperature is fitted on the holdout TTA logits (the logits that are stored) and written into every
    split's file. Without ``comp`` no competition logits are made and a stale ``logits_comp.npz`` is removed,
    so the folder never mixes logits of two different predictions.

    One prediction into a folder at a time (the flock training takes on it): two at once (`predict --tta` while a
    pipeline predicts that run) wrote their splits' files in turn: one's holdout logits (and the temperature fitted
    on them) could end beside the other's competition logits, under a manifest whose sha256s match only some.
    """
    with contextlib.ExitStack() as held:
        claim_run(run_dir, held)  # before the model is loaded: a refusal costs nothing
        return _predict_run(run_dir, data, comp, cfg, device, comp_subset, test_subset)


def _predict_run(run_dir: str | Path, data: Cifar10, comp: CompetitionSet | None, cfg: PredictConfig,
                 device: str | torch.device | None, comp_subset: int | None | object,
                 test_subset: int | None | object) -> dict[str, Logits]:
    device = resolve_device(device)
    folder = Path(run_dir)
    pipeline = run_config(folder)
    plan = plan_from_config(cfg)
    model, payload = run_model(folder, pipeline, device)
    channels_last = bool(pipeline.train.channels_last)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    num_classes = len(payload["class_names"])
    run_kw = dict(num_classes=num_classes, batch_size=cfg.batch_size, device=device,
                  channels_last=channels_last, amp=bool(pipeline.train.amp))

    hold_idx = holdout_indices(folder, len(data.train_labels))
    dcfg = pipeline.data
    if comp_subset is not _RUNS_OWN:
        dcfg = dataclasses.replace(dcfg, comp_subset=comp_subset)
    if test_subset is not _RUNS_OWN:
        dcfg = dataclasses.replace(dcfg, test_subset=test_subset)
    sets = evaluation_sets(data, comp, hold_idx, dcfg.test_subset, dcfg.comp_subset, dcfg.holdout_seed)

    # the class shares the model was trained towards: the training images' (a holdout may be empty)
    priors = class_priors(data.train_labels, num_classes)
    own_models = {}
    if cfg.adapt_bn and "comp" in sets:
        t0 = time.perf_counter()
        own_models["comp"] = balanced_copy(model, sets["comp"].images, priors, plan, run_kw)
        adapt_s = round(time.perf_counter() - t0, 3)
    raw, metrics, timings = _forward_sets(folder, model, sets, plan, run_kw, own_models)
    reference = None
    if cfg.bn_reference and not cfg.adapt_bn and "comp" in sets and batchnorm_layers(model):
        t0 = time.perf_counter()
        # plain views, as the benchmark measured Ref-EM (its argmax is what is scored, not these logits' views)
        ref_model = balanced_copy(model, sets["comp"].images, priors, PLAIN, run_kw)
        reference = logits_for_images(ref_model, sets["comp"].images, PLAIN, **run_kw)
        _check_finite(folder, "comp_reference", reference)
        timings["comp_reference_s"] = round(time.perf_counter() - t0, 3)
    if own_models:
        timings["comp_adapt_bn_s"] = adapt_s
        # how much the adaptation changed what is submitted: the trained statistics' predictions, same views
        trained = logits_for_images(model, sets["comp"].images, plan, **run_kw)
        metrics["comp_changed_by_adapt_bn"] = float((trained.argmax(1) != raw["comp"].argmax(1)).mean())
    temperature = fit_temperature(raw["holdout"], sets["holdout"].labels)
    metrics["temperature"] = temperature
    metrics.update(calibration_metrics(raw, sets, temperature))

    out: dict[str, Logits] = {}
    paths: dict[str, Path] = {}
    # the old manifest goes before any of its logits is replaced: a predict stopped from here on (Ctrl-C, kill)
    # leaves logits no manifest vouches for, which `submit --from` refuses, never new logits under the old sha256s
    (folder / "manifest_predict.json").unlink(missing_ok=True)
    for name, split in sets.items():
        out[name] = Logits(ids=split.ids, logits=raw[name], labels=split.labels, tta=plan.describe(),
                           temperature=temperature)
        paths[name] = save_logits(folder / f"logits_{name}.npz", out[name])
    if reference is not None:
        paths["comp_reference"] = save_logits(folder / REFERENCE_FILE, Logits(
            ids=sets["comp"].ids, logits=reference, labels=None, tta=PLAIN.describe(), temperature=temperature))
    else:
        (folder / REFERENCE_FILE).unlink(missing_ok=True)
    stale = folder / "logits_comp.npz"
    if "comp" not in sets and stale.exists():
        stale.unlink()

    comp_total = None if comp is None else len(comp.ids)
    extra = {
        "tta": plan.describe(),
        "views": list(plan.views),
        "view_weights": list(plan.weights),
        "device": str(device),
        "test_subset": dcfg.test_subset,
        "comp_subset": dcfg.comp_subset,
        "comp_total": comp_total,
        "comp_complete": comp is not None and len(sets["comp"].ids) == comp_total,
    }
    inputs = {"model": folder / "model.pt", "holdout_indices": folder / "holdout_indices.npy"}
    if comp is not None and comp.source and Path(comp.source).is_file():
        inputs["comp_pickle"] = Path(comp.source)
    write_manifest(folder, "predict", config=cfg, inputs=inputs, outputs=paths, metrics=metrics,
                   timings_s=timings, extra=extra)
    _append_metrics(folder, {"created": _dt.datetime.now().isoformat(timespec="seconds"),
                             **extra, "metrics": metrics})
    return out


def balanced_copy(model: torch.nn.Module, images: np.ndarray, priors: np.ndarray, plan: TTAPlan,
                  run_kw: dict) -> torch.nn.Module:
    """``bn_adapt.balanced_adapted_copy`` on ``images`` with predict's batches, its re-balancing predictions under
    ``plan``."""
    return balanced_adapted_copy(
        model, images, priors,
        lambda batch: image_batches(batch, run_kw["batch_size"], run_kw["device"], run_kw["channels_last"]),
        lambda adapted, batch: logits_for_images(adapted, batch, plan, **run_kw))


def _forward_sets(folder: Path, model: torch.nn.Module, sets: Mapping[str, Split], plan: TTAPlan,
                  run_kw: dict, own_models: Mapping[str, torch.nn.Module] | None = None
                  ) -> tuple[dict[str, np.ndarray], dict[str, float | int | None], dict[str, float]]:
    """Every set's logits under ``plan`` (by its ``own_models`` entry if it has one, else ``model``), refused if
    any is not finite, with their sizes, timings and, for a labeled set, the accuracy with and without the TTA
    (one more plain pass unless the plan is plain)."""
    raw: dict[str, np.ndarray] = {}
    metrics: dict[str, float | int | None] = {}
    timings: dict[str, float] = {}
    for name, split in sets.items():
        t0 = time.perf_counter()
        set_model = (own_models or {}).get(name, model)
        raw[name] = logits_for_images(set_model, split.images, plan, **run_kw)
        _check_finite(folder, name, raw[name])
        timings[f"{name}_tta_s"] = round(time.perf_counter() - t0, 3)
        metrics[f"{name}_n"] = len(split.ids)
        if split.labels is None:
            continue
        if plan.level == "none":
            plain = raw[name]
        else:
            t0 = time.perf_counter()
            plain = logits_for_images(set_model, split.images, PLAIN, **run_kw)
            timings[f"{name}_plain_s"] = round(time.perf_counter() - t0, 3)
        metrics[f"{name}_acc_plain"] = _accuracy(plain, split.labels)
        metrics[f"{name}_acc_tta"] = _accuracy(raw[name], split.labels)
    return raw, metrics, timings


def calibration_metrics(raw: Mapping[str, np.ndarray], sets: Mapping[str, Split],
                        temperature: float) -> dict[str, float]:
    """NLL and ECE of the holdout's and the test set's logits, raw and at the holdout's temperature: whether the
    temperature the gap estimators rely on also calibrates images it was not fitted on."""
    out: dict[str, float] = {}
    for name in ("holdout", "test"):
        labels = sets[name].labels
        if len(labels):
            out[f"{name}_nll_raw"] = nll(raw[name], labels)
            out[f"{name}_nll_calibrated"] = nll(raw[name], labels, temperature)
            out[f"{name}_ece_raw"] = expected_calibration_error(calibrated_probs(raw[name]), labels)
            out[f"{name}_ece_calibrated"] = expected_calibration_error(
                calibrated_probs(raw[name], temperature), labels)
    return out


# ---------------------------------------------------------------------------------------------- submit
def comp_complete(folder: Path) -> tuple[bool, str]:
    """Whether the folder's competition logits cover the whole pickle, from its predict/ensemble manifest."""
    for stage in ("predict", "ensemble"):
        manifest = read_manifest(folder, stage)
        if manifest is not None and "comp_complete" in manifest:
            if manifest["comp_complete"]:
                return True, ""
            subset = manifest.get("comp_subset")
            why = f"data.comp_subset={subset}" if subset is not None else "a subset of the competition images"
            return False, why
    return False, "no manifest_predict.json or manifest_ensemble.json says the logits are complete"


def comp_logits(folder: str | Path, expected_ids: np.ndarray | None = None) -> Logits:
    """A run's or an ensemble's ``logits_comp.npz``, checked before anything is written from it: (N, NUM_CLASSES)
    logits, complete (not a ``comp_subset``) and, with ``expected_ids``, for exactly the competition's ids."""
    folder = run_dir(folder)
    path = folder / "logits_comp.npz"
    if not path.is_file() and unfinished_ensemble(folder) and any(folder.glob("logits_*.npz")):
        raise SubmissionError(f"{folder}: {UNFINISHED_ENSEMBLE}")  # stopped before its competition logits
    logits = load_logits(path, NUM_CLASSES)
    ok, why = comp_complete(folder)
    if not ok and unfinished_ensemble(folder):
        raise SubmissionError(f"{folder}: {UNFINISHED_ENSEMBLE}")
    if not ok:
        step = ("predict its runs again with `kaggle-kit predict RUN --all-comp` and ensemble them again"
                if read_manifest(folder, "predict") is None and read_manifest(folder, "ensemble") is not None
                else f"`kaggle-kit predict {folder} --all-comp`")
        raise SubmissionError(f"{folder}: competition logits cover {len(logits.ids):,} images only ({why}); a "
                              f"submission needs all of them: {step} (in a pipeline: drop data.comp_subset, "
                              f"training is reused)")
    if expected_ids is not None:
        have, want = set(logits.ids.tolist()), {int(i) for i in np.asarray(expected_ids).tolist()}
        if len(have) != len(logits.ids) or have != want:
            missing, extra = sorted(want - have)[:3], sorted(have - want)[:3]
            parts = ([f"missing e.g. {', '.join(map(str, missing))}"] if missing else []) + (
                [f"not in the pickle e.g. {', '.join(map(str, extra))}"] if extra else [])
            detail = "; ".join(parts) or "repeated ids"
            raise RunError(f"{path}: its {len(logits.ids):,} ids are not the competition pickle's {len(want):,} "
                           f"({detail}); re-run `kaggle-kit predict` on that run with this competition's data")
    return logits


def in_order(logits: Logits, ids: np.ndarray) -> Logits:
    """``logits`` with its rows in the order of ``ids``, which must hold exactly its ids (``comp_logits`` checks)."""
    ids = np.asarray(ids, dtype=np.int64)
    if np.array_equal(logits.ids, ids):
        return logits
    by_id = np.argsort(logits.ids)
    rows = by_id[np.searchsorted(logits.ids, ids, sorter=by_id)]
    return dataclasses.replace(logits, ids=ids, logits=logits.logits[rows],
                               labels=None if logits.labels is None else logits.labels[rows])


def submission_from_run(run_or_ensemble_dir: str | Path, out_csv: str | Path, force: bool = False,
                        expected_ids: np.ndarray | None = None) -> Path:
    """The competition CSV from a run's or an ensemble's ``logits_comp.npz``, through the validated writer."""
    check_file_target(out_csv, "submission CSV")
    logits = comp_logits(run_or_ensemble_dir, expected_ids)
    if expected_ids is not None:
        logits = in_order(logits, expected_ids)
    return write_submission(out_csv, logits.ids, logits.logits, force=force)

