"""Prediction-time BatchNorm (``predict.adapt_bn``): accuracy with the trained statistics against statistics
re-estimated on each shifted set, and the gap estimators' error on the adapted model's logits.

Why: adapting BatchNorm changes the model that is submitted, so two questions decide whether a user should turn it
on: does it gain accuracy on shifts like the competition's (the stand-in is the nearest there is), and can the
report still predict the adapted model's leaderboard accuracy? Each model's logits on every set of
``bench_gap.py`` (and the stand-in) are computed both ways in one run, with ``kaggle_kit.bn_adapt`` on batches of
1,000 images; every estimator is then scored against the accuracy of the logits it was given, the tested family
left out of CC-Synth's and NucNorm's pool as in ``bench_gap.py``. The holdout logits, which calibrate every
estimator, keep the trained statistics, as ``predict`` keeps them.

    .venv/bin/python benchmarks/bench_bn_adapt.py --models weak_cnn resnet9q_e4 --write
    .venv/bin/python benchmarks/bench_bn_adapt.py --models weak_cnn weak_cnn@1 resnet9q_e4 resnet9q_e4@1 --sets 16
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_gap  # noqa: E402
import bench_models  # noqa: E402
import entry  # noqa: E402
from heldout_families import CHECK_FAMILIES, novel_sets  # noqa: E402

from kaggle_kit.bn_adapt import adapted_copy, equal_batches  # noqa: E402
from kaggle_kit.data import load_cifar10, shared_data_dir  # noqa: E402
from kaggle_kit.fsio import atomic_write_text  # noqa: E402
from kaggle_kit.gap import estimators  # noqa: E402

ESTIMATORS = ("Median-5-Spread", "Median-5", "Median-4-Spread", "CC-Synth", "Shift-Gated", "ATC-NE-EM", "COTT",
              "NucNorm", "ATC-NE")
BATCH = 1000  # images per adaptation batch, as predict.batch_size's default
MEASURED = Path(__file__).resolve().parents[1] / "kaggle_kit" / "gap" / "measured_bn_adapt.json"


def adapted_logits_of(model: torch.nn.Module, images: np.ndarray) -> np.ndarray:
    """The images' logits from a copy of ``model`` whose BatchNorm statistics were re-estimated on them."""
    batches = (bench_models.to_tensor(images[idx]) for idx in equal_batches(len(images), BATCH))
    return bench_models.logits_of(adapted_copy(model, batches), images)


def adapted_logits(model_name: str, model: torch.nn.Module, set_name: str, build) -> tuple[np.ndarray, np.ndarray]:
    """``adapted_logits_of`` on the set, cached beside its trained logits."""
    return bench_gap.cached_logits(model_name, model, f"{set_name}+adapt_bn", build, logits_of=adapted_logits_of)


def evaluate(models: list[str], group: str = "bench") -> pd.DataFrame:
    """One row per (model, set, statistics): true accuracy and every estimate. ``group``: ``bench``, this script's
    sets with the tested family left out of the pools; ``4`` / ``5`` / ``15`` / ``16``, that check's held-out
    families (``heldout_families.py``; its clean header set dropped), every pool family kept, as deployed."""
    data = load_cifar10(shared_data_dir() / "cifar-10-python" / "cifar-10-batches-py")
    tr, ho = bench_gap.benchmark_split(data.train_labels)
    hold_x, hold_y = data.train_images[ho], data.train_labels[ho]
    if group == "bench":
        sets = list(bench_gap.shifted_sets(data.test_images, data.test_labels))
        sets.append(("standin", "standin", bench_gap.load_standin))
        unseen = bench_gap.unseen_families
    else:
        sets = [s for s in novel_sets(data.test_images, data.test_labels, int(group)) if s[1] != "clean"]
        unseen = lambda name: ()  # noqa: E731
    stats = {name: bench_gap.cached_stats(name, build) for name, _, build in sets}
    rows = []
    for m in models:
        model = bench_models.load_or_train(m, data.train_images[tr], data.train_labels[tr])
        holdout = bench_gap.cached_logits(m, model, "holdout", lambda: (hold_x, hold_y))[0]
        synth = bench_gap.cached_synthetic(m, model, hold_x, hold_y)
        for name, kind, build in sets:
            for statistics, (lg, y) in (("trained", bench_gap.cached_logits(m, model, name, build)),
                                        ("adapted", adapted_logits(m, model, name, build))):
                res = estimators.estimate_all(holdout, hold_y, lg, synthetic=synth, target_stats=stats[name],
                                              exclude=unseen(name))
                rows.append({"model": m, "sets": group, "set": name, "kind": kind, "statistics": statistics,
                             "true_acc": float((lg.argmax(1) == y).mean()), **res["estimates"]})
    return pd.DataFrame(rows)


def accuracy_table(df: pd.DataFrame) -> str:
    """Per set: each model's accuracy with trained -> adapted statistics, and the mean change in points."""
    acc = df.pivot_table(index=["set", "kind"], columns=["model", "statistics"], values="true_acc", sort=False)
    models = list(dict.fromkeys(df["model"]))
    lines = ["| set | " + " | ".join(f"{m} trained -> adapted" for m in models) + " | mean change (pts) |",
             "|---" * (len(models) + 2) + "|"]
    for (name, _), r in acc.iterrows():
        change = np.mean([r[m, "adapted"] - r[m, "trained"] for m in models]) * 100
        cells = [f"{100 * r[m, 'trained']:.1f} -> {100 * r[m, 'adapted']:.1f}" for m in models]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {change:+.1f} |")
    gain = (acc.xs("adapted", axis=1, level=1) - acc.xs("trained", axis=1, level=1)).mean(axis=1) * 100
    kinds = gain.groupby(level="kind").mean()
    lines.append("")
    lines.append("Mean change by kind of set (points): " + ", ".join(f"{k} {v:+.1f}" for k, v in kinds.items()))
    return "\n".join(lines)


def error_table(df: pd.DataFrame) -> str:
    """Each estimator's MAE in points against the accuracy of the logits it read, trained and adapted side by side."""
    models = list(dict.fromkeys(df["model"]))
    lines = ["| estimator | " + " | ".join(f"{m} trained / adapted" for m in [*models, "all"]) + " |",
             "|---" * (len(models) + 2) + "|"]
    for est in ESTIMATORS:
        cells = []
        for m in [*models, "all"]:
            pair = []
            for statistics in ("trained", "adapted"):
                sub = df[df["statistics"] == statistics]
                sub = sub if m == "all" else sub[sub["model"] == m]
                pair.append(f"{(sub[est] - sub['true_acc']).abs().mean() * 100:.2f}")
            cells.append(" / ".join(pair))
        lines.append(f"| {est} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(df: pd.DataFrame, command: str) -> dict:
    """What the report's advice cites (``kaggle_kit/gap/measured_bn_adapt.json``): the mean accuracy change in
    points by kind of set, and each estimator's MAE in points on the trained and the adapted logits."""
    acc = df.pivot_table(index=["model", "set", "kind"], columns="statistics", values="true_acc")
    change = ((acc["adapted"] - acc["trained"]) * 100).groupby(level="kind")
    mae = {statistics: {est: round(float((sub[est] - sub["true_acc"]).abs().mean() * 100), 2) for est in ESTIMATORS}
           for statistics, sub in df.groupby("statistics")}
    return {"command": command, "models": list(dict.fromkeys(df["model"])), "sets": int(df["set"].nunique()),
            "change_points": {k: round(float(v), 2) for k, v in change.mean().items()},
            "change_points_min": {k: round(float(v), 2) for k, v in change.min().items()},
            "change_points_max": {k: round(float(v), 2) for k, v in change.max().items()},
            "mae_points": mae}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["weak_cnn", "resnet9q_e4"], type=bench_gap._model_name)
    ap.add_argument("--save-rows", help="write every row (estimates and true accuracy) to this CSV")
    ap.add_argument("--sets", default="bench", choices=["bench", *map(str, sorted(CHECK_FAMILIES))],
                    help="bench: the generated sets and the stand-in; a check number: its held-out families")
    ap.add_argument("--write", action="store_true", help=f"write the summary the report cites to {MEASURED.name} "
                                                         f"(--sets bench only)")
    args = ap.parse_args(argv)
    if args.write and args.sets != "bench":
        ap.error("--write summarises the benchmark's sets: use it with --sets bench")
    print(f"Environment: {bench_gap.environment()}\n")
    t0 = time.time()
    df = evaluate(args.models, args.sets)
    if args.save_rows:
        df.to_csv(args.save_rows, index=False)
    print(accuracy_table(df))
    print()
    print(error_table(df))
    print(f"\n{time.time() - t0:.0f} s")
    if args.write:
        command = "benchmarks/bench_bn_adapt.py --models " + " ".join(args.models)
        atomic_write_text(MEASURED, json.dumps(summary(df, command), indent=1) + "\n")
        print(f"wrote {MEASURED}")
    return 0


if __name__ == "__main__":
    entry.run(main)
