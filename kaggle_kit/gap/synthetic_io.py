"""A run folder's logits on synthetically corrupted holdout images (for CC-Synth), computed once and cached.

A run with ``model.pt``: the model is rebuilt, its holdout images (ids of ``logits_holdout.npz``) are
corrupted by ``synthetic.make_synthetic_sets`` and predicted with the TTA plan of its stored logits (the predict
manifest's, not necessarily ``config.yaml``'s), so the synthetic logits are comparable to the stored ones. An
ensemble folder: its members' synthetic logits are combined with the ensemble's own method and weights
(``ensemble.json``). The cache (``gap_synthetic.npz`` + ``.json``) is reused while the weights, the TTA plan,
the number of images per set and the seed are unchanged.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np

from kaggle_kit.data import Cifar10
from kaggle_kit.errors import RunError
from kaggle_kit.fsio import atomic_write_text, sha256_file
from kaggle_kit.gap.synthetic import SyntheticLogits, SyntheticSets, make_synthetic_sets, synthetic_logits
from kaggle_kit.runs import Logits, load_logits

CACHE_NAME = "gap_synthetic.npz"


def _stored_plan(folder: Path, holdout: Logits):
    """(predict settings, TTA plan) of the run's stored logits, which the synthetic logits must share (checked
    against the holdout file's own record, so a mismatch is an error rather than a skewed CC-Synth)."""
    from kaggle_kit.predict import stored_predict_config
    from kaggle_kit.tta import plan_from_config

    cfg = stored_predict_config(folder)
    plan = plan_from_config(cfg)
    if plan.describe() != holdout.tta:
        raise RunError(f"{folder}: logits_holdout.npz was made with TTA '{holdout.tta}', but the run's predict "
                       f"settings say '{plan.describe()}'; rerun `kaggle-kit predict {folder}`")
    return cfg, plan


def _cache_key(folder: Path, per_set: int, seed: int, plan=None) -> dict:
    """``plan``: a model run's TTA plan (an ensemble's holdout logits already change with its members' TTA)."""
    weights = folder / "model.pt"
    source = weights if weights.is_file() else folder / "logits_holdout.npz"
    key = {"source": source.name, "sha256": sha256_file(source), "per_set": per_set, "seed": seed, "format": 3}
    if plan is not None:
        key["tta"] = [plan.describe(), list(plan.weights)]
    return key


def _read_cache(folder: Path, key: dict) -> SyntheticLogits | None:
    meta, data = folder / "gap_synthetic.json", folder / CACHE_NAME
    if not (meta.is_file() and data.is_file()):
        return None
    try:
        if json.loads(meta.read_text(encoding="utf-8")) != key:
            return None
        return SyntheticLogits.load(data)
    except (OSError, ValueError, KeyError, json.JSONDecodeError):
        return None


def _write_cache(folder: Path, key: dict, syn: SyntheticLogits) -> None:
    """Best effort: a run folder that cannot be written (runs attached read-only in a Kaggle notebook, a full
    disk) only costs the next report the recomputation; the report itself must not fail for a cache."""
    meta = folder / "gap_synthetic.json"
    try:
        meta.unlink(missing_ok=True)  # first: an old key must never vouch for a new, half-replaced pair
        syn.save(folder / CACHE_NAME)
        atomic_write_text(meta, json.dumps(key))
    except OSError:
        pass


SetsMaker = Callable[[np.ndarray, np.ndarray], SyntheticSets]  # (holdout ids, labels) -> the corrupted sets


def sets_maker(data: Cifar10, per_set: int, seed: int) -> SetsMaker:
    """``make_synthetic_sets`` of the holdout images with these ids, each holdout's made once per maker.

    Why: an ensemble's members split the same holdout, so their corrupted images are the same; making them once
    instead of once per member saves about 7 s a member at 300 images per set (2 cores).
    """
    made: dict[bytes, SyntheticSets] = {}

    def make(ids: np.ndarray, labels: np.ndarray) -> SyntheticSets:
        key = np.ascontiguousarray(ids, np.int64).tobytes() + np.ascontiguousarray(labels, np.int64).tobytes()
        if key not in made:
            made[key] = make_synthetic_sets(data.train_images[ids], labels, per_set=per_set, seed=seed)
        return made[key]

    return make


def _from_model(folder: Path, data: Cifar10, holdout: Logits, cfg, plan, make_sets: SetsMaker) -> SyntheticLogits:
    from kaggle_kit.predict import default_device, logits_for_images, run_config, run_model

    images = data.train_images[holdout.ids]
    sets = make_sets(holdout.ids, holdout.labels)
    device = default_device()
    model, _ = run_model(folder, run_config(folder), device)  # the architecture config.yaml names, 10 classes
    logits = logits_for_images(model, sets.images, plan, num_classes=holdout.logits.shape[1],
                               batch_size=cfg.batch_size, device=device)
    return synthetic_logits(sets, logits, images)


def _from_members(folder: Path, data: Cifar10, per_set: int, seed: int,
                  make_sets: SetsMaker) -> SyntheticLogits | None:
    from kaggle_kit.ensemble import combine, member_log_probs
    from kaggle_kit.gap.report_runs import member_folders
    from kaggle_kit.runs import ensemble_summary

    members = member_folders(folder)
    summary = ensemble_summary(folder)
    if not members or summary is None or len(members) != len(summary["members"]):
        return None
    syns = [_run_synthetic(m, data, per_set, seed, make_sets) for m in members]  # one holdout: its images made once
    if any(s is None for s in syns):
        return None
    log_probs = []
    for m, s in zip(members, syns):
        t = load_logits(m / "logits_holdout.npz").temperature
        log_probs.append(member_log_probs(Logits(ids=s.index, logits=s.logits, labels=s.labels, tta="",
                                                 temperature=t)))
    weights = np.array([float(m.get("weight", 1.0)) for m in summary["members"]])
    combined = combine(np.stack(log_probs), summary.get("method", "mean_probs"), weights).astype(np.float32)
    first = syns[0]
    return SyntheticLogits(logits=combined, labels=first.labels, family=first.family, severity=first.severity,
                           index=first.index, stats=first.stats, holdout_stats=first.holdout_stats,
                           families=first.families, family2=first.family2)


def run_synthetic(folder: str | Path, data: Cifar10, per_set: int = 300, seed: int = 0) -> SyntheticLogits | None:
    """Cached synthetic logits of a run or ensemble folder; None when neither weights nor members are found."""
    return _run_synthetic(Path(folder), data, per_set, seed, sets_maker(data, per_set, seed))


def _run_synthetic(folder: Path, data: Cifar10, per_set: int, seed: int,
                   make_sets: SetsMaker) -> SyntheticLogits | None:
    has_model = (folder / "model.pt").is_file()
    if not has_model and not (folder / "ensemble.json").is_file():
        return None
    if has_model:
        holdout = load_logits(folder / "logits_holdout.npz")
        cfg, plan = _stored_plan(folder, holdout)
    else:
        holdout = cfg = plan = None
    key = _cache_key(folder, per_set, seed, plan)
    cached = _read_cache(folder, key)
    if cached is not None:
        return cached
    syn = _from_model(folder, data, holdout, cfg, plan, make_sets) if has_model else \
        _from_members(folder, data, per_set, seed, make_sets)
    if syn is not None:
        _write_cache(folder, key, syn)
    return syn
