"""CC-Synth with its image statistics read as distances from the clean holdout: tried in session 35, not adopted.

Why tried: CC-Synth's correctness model sees each image's raw statistics, and a corruption family its synthetic
pool lacks lands outside their range, where boosted trees extrapolate flat, often to the clean side (weak_cnn on
unseen noise-4: CC-Synth +16.3 points). A direction-free deviation, ``|s - median| / IQR`` over the clean holdout,
puts "further from clean" on one axis for every family, and a decreasing monotonic constraint makes the trees'
extrapolation go to the low-correctness side. ``logdev`` takes the deviation of ``log(s + e)``, since blur divides
the sharpness statistics that noise multiplies. The rules, written before the results, are in ``RESULTS.md``
(session 35); the library is patched only inside ``patched`` and left as it was.

    .venv/bin/python benchmarks/bench_cc_deviation.py --sets pair 4 --variants raw dev-mono logdev-mono
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingClassifier

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_gap  # noqa: E402
import entry  # noqa: E402
from heldout_families import CHECK_FAMILIES  # noqa: E402

from kaggle_kit.data import load_cifar10, shared_data_dir  # noqa: E402
from kaggle_kit.gap import synthetic  # noqa: E402

CONFIDENCE_COLUMNS = 4  # max probability, margin, entropy, predicted class: then the image statistics
LOG_OFFSET = 0.01  # e = this share of each statistic's clean median, so that a zero (a grey image) has a log


class Variant(NamedTuple):
    scale: str       # "raw": the statistics as shipped; "dev": |s - median| / IQR; "logdev": the same of log(s + e)
    append: bool     # deviations beside the raw statistics instead of replacing them
    monotone: bool   # correctness constrained to decrease in every deviation


VARIANTS = {"raw": Variant("raw", False, False), "dev-mono": Variant("dev", False, True),
            "dev": Variant("dev", False, False), "dev-append": Variant("dev", True, False),
            "logdev-mono": Variant("logdev", False, True)}


class Reference(NamedTuple):
    """Where the clean holdout's statistics sit, per statistic (no labels)."""

    median: np.ndarray
    iqr: np.ndarray
    offset: np.ndarray  # e, added before the log (zeros for "dev")


def reference(holdout_stats: np.ndarray, log: bool) -> Reference:
    offset = LOG_OFFSET * np.abs(np.median(holdout_stats, 0)) if log else np.zeros(holdout_stats.shape[1])
    s = np.log(holdout_stats + offset) if log else holdout_stats
    iqr = np.subtract(*np.percentile(s, [75, 25], 0))
    return Reference(np.median(s, 0), np.where(iqr > 0, iqr, 1.0), offset)


def deviations(stats: np.ndarray, ref: Reference, log: bool) -> np.ndarray:
    s = np.log(np.maximum(stats, 0) + ref.offset) if log else stats
    return np.abs(s - ref.median) / ref.iqr


@contextlib.contextmanager
def patched(variant: Variant, holdout_stats: np.ndarray):
    """``synthetic``'s feature matrix and classifier as ``variant`` has them; its fit memo emptied before and after
    (it is keyed by the training rows, which the variant changes, but a later plain run should not find them)."""
    if variant.scale == "raw":
        yield
        return
    log = variant.scale == "logdev"
    ref = reference(holdout_stats, log)
    plain_features, plain_classifier = synthetic.feature_matrix, synthetic.HistGradientBoostingClassifier
    n_stats = holdout_stats.shape[1]

    def features(probs, stats):
        x = plain_features(probs, stats)
        dev = deviations(x[:, CONFIDENCE_COLUMNS:], ref, log)
        return np.column_stack([x, dev] if variant.append else [x[:, :CONFIDENCE_COLUMNS], dev])

    def classifier(**kw):
        if variant.monotone:
            kw["monotonic_cst"] = [0] * CONFIDENCE_COLUMNS + [-1] * n_stats
        return HistGradientBoostingClassifier(**kw)

    synthetic._FIT_MEMO.clear()
    synthetic.feature_matrix, synthetic.HistGradientBoostingClassifier = features, classifier
    try:
        yield
    finally:
        synthetic.feature_matrix, synthetic.HistGradientBoostingClassifier = plain_features, plain_classifier
        synthetic._FIT_MEMO.clear()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["weak_cnn", "resnet9q_e4"], type=bench_gap._model_name)
    ap.add_argument("--sets", nargs="+", default=["pair"], choices=["pair", *map(str, sorted(CHECK_FAMILIES))])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    data = load_cifar10(shared_data_dir() / "cifar-10-python" / "cifar-10-batches-py")
    holdout_stats = synthetic.stats_matrix(data.train_images[bench_gap.benchmark_split(data.train_labels)[1]])
    print(f"Environment: {bench_gap.environment()}\n")
    print("| sets | variant | " + " | ".join(f"{e} {m}" for e in ("Median-4", "CC-Synth", "Median-4-Spread")
                                            for m in [*args.models, "all"]) + " | s |")
    print("|---" * (3 + 3 * (len(args.models) + 1)) + "|")
    for sets in args.sets:
        for name in args.variants:
            t0 = time.time()
            with patched(VARIANTS[name], holdout_stats):
                df = bench_gap.evaluate_group(args.models, sets)
            cells = [f"{bench_gap.mae_points(df, e)[m]:.2f}" for e in ("Median-4", "CC-Synth", "Median-4-Spread")
                     for m in [*args.models, "all"]]
            print(f"| {sets} | {name} | " + " | ".join(cells) + f" | {time.time() - t0:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    entry.run(main)
