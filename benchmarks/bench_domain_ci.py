"""Coverage of the gap report's domain-classifier AUC interval (section 4) when there is no shift, old and new.

Each trial draws two disjoint random sets of CIFAR-10 images (training and test batches pooled), so the true AUC
is 0.5, runs ``domain.domain_classifier`` with a fresh seed, and checks whether the 95% interval holds 0.5: the
old one (``bootstrap_auc_ci`` of the out-of-fold scores, recomputed from the result) and the new one (the
result's ``ci``, ``cv_auc_ci``). It also prints the spread of the AUC across trials, the correlation of the five
folds' AUCs, and the CPU seconds of one call. A last table checks that real shifts still give intervals far
above 0.5. One thread (the machine is shared); CPU seconds are the honest clock.

    KAGGLE_KIT_SHARED_DATA=../shared/data OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_domain_ci.py \\
        --sizes 200:200 5000:60 --cpu-budget-s 480
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import ndimage
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

import entry

from kaggle_kit import data
from kaggle_kit.gap import domain

FOLDS, N_BOOT = 5, 200  # domain_classifier's defaults, as the report calls it


def fold_aucs(res: domain.DomainResult, seed: int) -> np.ndarray:
    """Each fold's AUC, from the same split domain_classifier made (it depends only on the labels and seed)."""
    y, s = res.is_target, res.oof_scores
    cv = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    return np.array([roc_auc_score(y[te], s[te]) for _, te in cv.split(s.reshape(-1, 1), y)])


def null_trials(pool: np.ndarray, n: int, trials: int, cpu_budget_s: float) -> dict:
    rows, secs, boot_secs, folds = [], [], [], []
    start = time.process_time()
    for t in range(trials):
        if time.process_time() - start > cpu_budget_s:
            break
        rng = np.random.default_rng(10_000 + t)
        idx = rng.permutation(len(pool))[:2 * n]
        t0 = time.process_time()
        res = domain.domain_classifier(pool[idx[:n]], pool[idx[n:]], max_images=n, folds=FOLDS, n_boot=N_BOOT,
                                       seed=t, n_threads=1)
        secs.append(time.process_time() - t0)
        t0 = time.process_time()
        old = domain.bootstrap_auc_ci(res.is_target, res.oof_scores, N_BOOT, seed=t)
        boot_secs.append(time.process_time() - t0)
        rows.append((res.auc, *old, *res.ci))
        folds.append(fold_aucs(res, t))
    r, f = np.array(rows), np.array(folds)
    corr = np.corrcoef(f.T)[np.triu_indices(FOLDS, 1)].mean() if len(f) > 2 else float("nan")
    return {"n": n, "trials": len(r), "auc": r[:, 0], "old": r[:, 1:3], "new": r[:, 3:5], "corr": corr,
            "sec": float(np.median(secs)), "boot_sec": float(np.median(boot_secs))}


def coverage(ci: np.ndarray) -> tuple[float, float]:
    p = float(((ci[:, 0] < 0.5) & (0.5 < ci[:, 1])).mean())
    return p, float(np.sqrt(p * (1 - p) / len(ci)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["200:200", "5000:60"], help="images per side:trials")
    ap.add_argument("--cpu-budget-s", type=float, default=480, help="stop a size's trials after this CPU time")
    ap.add_argument("--save", help="write every trial's numbers to this .npz")
    ap.add_argument("--skip-shifts", action="store_true", help="leave out the real-shift table")
    args = ap.parse_args()
    cifar = data.load_cifar10(data.shared_data_dir() / "cifar-10-python" / "cifar-10-batches-py")
    pool = np.concatenate([cifar.train_images, cifar.test_images])
    out = []
    for spec in args.sizes:
        n, trials = (int(v) for v in spec.split(":"))
        out.append(null_trials(pool, n, trials, args.cpu_budget_s))
        print(f"done {n} per side: {out[-1]['trials']} trials", flush=True)
    print("\nNo shift (true AUC 0.5), 95% intervals; coverage +- its standard error")
    print("| per side | trials | AUC sd across trials | fold-AUC corr | old coverage | old width | "
          "new coverage | new width | CPU s per call | bootstrap s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for o in out:
        (pc_o, se_o), (pc_n, se_n) = coverage(o["old"]), coverage(o["new"])
        print(f"| {o['n']:,} | {o['trials']} | {o['auc'].std(ddof=1):.4f} | {o['corr']:.3f} | "
              f"{pc_o:.1%} +- {se_o:.1%} | {np.mean(np.diff(o['old'])):.4f} | {pc_n:.1%} +- {se_n:.1%} | "
              f"{np.mean(np.diff(o['new'])):.4f} | {o['sec']:.1f} | {o['boot_sec']:.2f} |")
    if args.save:
        np.savez(args.save, **{f"{k}_{o['n']}": v for o in out for k, v in o.items() if isinstance(v, np.ndarray)})
    if args.skip_shifts:
        return
    comp = data.load_competition(data.shared_data_dir() / "standin" / "cifar_test_nolabel.pkl").images
    blurred = ndimage.uniform_filter(cifar.test_images[5000:], size=(1, 2, 2, 1))
    print("\nReal shifts (one call each, seed 0, default 5000 per side)")
    print("| source vs target | AUC | old interval | new interval |")
    print("|---|---|---|---|")
    for name, src, tgt in (("CIFAR train vs stand-in competition pickle", cifar.train_images, comp),
                           ("CIFAR test half vs 2x2-box-blurred other half", cifar.test_images[:5000], blurred)):
        res = domain.domain_classifier(src, tgt, n_threads=1)
        old = domain.bootstrap_auc_ci(res.is_target, res.oof_scores, N_BOOT, seed=0)
        print(f"| {name} | {res.auc:.3f} | {old[0]:.3f}-{old[1]:.3f} | {res.ci[0]:.3f}-{res.ci[1]:.3f} |")


if __name__ == "__main__":
    entry.run(main)
