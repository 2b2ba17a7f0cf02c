"""Can an unlabeled set tell prediction collapse under a corruption from a real change of class mix?

Exploration behind RESULTS.md's "three more signals" bullet (nothing here is used by the toolkit). Blur or
noise can pile a model's predictions onto a few classes while it stays confident (ATC and CC-Synth then
over-estimate by 10-20 points); a changed class mix moves the predicted shares the same way (COT and COTT then
under-estimate). Three candidate signals, each printed per set next to the true accuracy:

- ``grow_conf_corr``: rank correlation over classes between log(predicted share / holdout share) and the change
  of that class's mean max-probability. Collapse should make grown classes *less* confident.
- ``flip_agree``: share of images whose predicted class survives a horizontal flip (needs the model).
- ``fd_sqrt``: accuracy regressed on sqrt(Fréchet distance of calibrated log-probabilities to the holdout)
  over the synthetic corruption groups, tested family left out, line anchored at the holdout accuracy
  (AutoEval, Deng & Zheng 2021); printed as its error, estimate - true (points).

    .venv/bin/python benchmarks/probe_collapse.py --models weak_cnn resnet9q_e4 [--flip]

Reads (or, like ``bench_gap.py``, trains and caches) the benchmark's models and logits; ``--flip`` runs each
model on every set once more (about 3 s / 7 s per set for the two models above on 2 cores).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import linalg
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_gap  # noqa: E402
import bench_models  # noqa: E402
import entry  # noqa: E402

from kaggle_kit.calibration import calibrated_probs, fit_temperature  # noqa: E402
from kaggle_kit.data import load_cifar10, shared_data_dir  # noqa: E402
from kaggle_kit.gap import synthetic  # noqa: E402


def grow_conf_corr(src_probs: np.ndarray, tgt_probs: np.ndarray) -> float:
    c = src_probs.shape[1]
    share = [np.bincount(p.argmax(1), minlength=c) / len(p) for p in (src_probs, tgt_probs)]
    conf = [np.array([p.max(1)[p.argmax(1) == k].mean() if (p.argmax(1) == k).any() else np.nan for k in range(c)])
            for p in (src_probs, tgt_probs)]
    grow = np.log(np.maximum(share[1], 1e-4) / np.maximum(share[0], 1e-4))
    dconf = conf[1] - conf[0]
    ok = ~np.isnan(dconf)
    if np.ptp(grow[ok]) == 0 or np.ptp(dconf[ok]) == 0:
        return float("nan")  # no class moved (or none changed confidence): nothing to correlate
    return float(spearmanr(grow[ok], dconf[ok]).correlation)


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(ca + cb - 2 * linalg.sqrtm(ca @ cb).real))


def fd_estimate(hold_lp: np.ndarray, hold_acc: float, syn: synthetic.SyntheticLogits, syn_lp: np.ndarray,
                tgt_lp: np.ndarray, exclude: tuple[str, ...]) -> float:
    """Anchored sqrt-FD line fitted on the synthetic corruption groups that avoid ``exclude``."""
    correct = syn.logits.argmax(1) == syn.labels
    xs, ys = [], []
    keys = np.column_stack([syn.family, syn.family2, syn.severity])
    kept = syn.kept(exclude)
    for key in np.unique(keys[kept], axis=0):
        idx = np.flatnonzero((keys == key).all(1))
        xs.append(np.sqrt(frechet(hold_lp, syn_lp[idx])))
        ys.append(correct[idx].mean() - hold_acc)
    slope = float(np.dot(xs, ys) / np.dot(xs, xs))
    return float(np.clip(hold_acc + slope * np.sqrt(frechet(hold_lp, tgt_lp)), 0.0, 1.0))


def probe(model_name: str, flip: bool) -> pd.DataFrame:
    data = load_cifar10(shared_data_dir() / "cifar-10-python" / "cifar-10-batches-py")
    tr, ho = bench_gap.benchmark_split(data.train_labels)
    hold_y = data.train_labels[ho]
    sets = list(bench_gap.shifted_sets(data.test_images, data.test_labels))
    model = bench_models.load_or_train(model_name, data.train_images[tr], data.train_labels[tr])
    hold = bench_gap.cached_logits(model_name, model, "holdout", lambda: (data.train_images[ho], hold_y))[0]
    t = fit_temperature(hold, hold_y)
    ps = calibrated_probs(hold, t)
    hold_acc = float((hold.argmax(1) == hold_y).mean())
    syn = bench_gap.cached_synthetic(model_name, model, data.train_images[ho], hold_y)
    log_probs = lambda lg: np.log(np.clip(calibrated_probs(lg, t), 1e-6, None))  # noqa: E731
    hold_lp, syn_lp = log_probs(hold), log_probs(syn.logits)
    hold_flip = None
    if flip:
        hold_flip = float((bench_models.logits_of(model, data.train_images[ho][:, :, ::-1].copy()).argmax(1)
                           == hold.argmax(1)).mean())
    rows = []
    for name, kind, build in sets:
        lg, y = bench_gap.cached_logits(model_name, model, name, build)
        pt = calibrated_probs(lg, t)
        true = float((lg.argmax(1) == y).mean())
        row = {"model": model_name, "set": name, "kind": kind, "true_acc": 100 * true,
               "grow_conf_corr": grow_conf_corr(ps, pt),
               "fd_sqrt_err": 100 * (fd_estimate(hold_lp, hold_acc, syn, syn_lp, log_probs(lg),
                                                 bench_gap.unseen_families(name)) - true)}
        if flip:
            x = build()[0]
            row["flip_agree"] = 100 * float((bench_models.logits_of(model, x[:, :, ::-1].copy()).argmax(1)
                                             == lg.argmax(1)).mean())
            row["flip_agree_holdout"] = 100 * hold_flip
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["weak_cnn", "resnet9q_e4"], type=bench_gap._model_name)
    ap.add_argument("--flip", action="store_true", help="also measure flip consistency (runs the models)")
    args = ap.parse_args(argv)
    df = pd.concat([probe(m, args.flip) for m in args.models], ignore_index=True)
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(df.round(2).to_string(index=False))
    print("\nMAE of the sqrt-FD line (points) by set kind:")
    print(df.groupby("kind")["fd_sqrt_err"].apply(lambda e: e.abs().mean()).round(2).to_string())
    return 0


if __name__ == "__main__":
    entry.run(main)
