"""The prediction matrix's nuclear norm as a fifth Median member: tried in session 36.

Why tried: Median-4's members read confidence (ATC-NE-EM, Shift-Gated), a correctness model (CC-Synth) or
transport to the class mix (COTT). The normalised nuclear norm of the N x K matrix of predicted probabilities
(Deng et al., "Confidence and Dispersity Speak", ICML 2023) reads confidence and the spread of the predictions over
the classes at once, in one number: 1 for confident predictions spread evenly over the classes, 1/K for uniform
ones. Here it is mapped to an accuracy by a straight line fitted, per model and without labels of the target, on
CC-Synth's synthetic groups (each corruption family x severity, and each pair of families, on holdout images) and
the clean holdout: the same pool CC-Synth trains on, the tested family left out as for CC-Synth
(``kaggle_kit.gap.nuclear_norm``). The rule, written before any result, is in ``PREREGISTERED.md`` (check 15).
Both rules held, and ``estimators.estimate_all`` now computes NucNorm and the Median-5 pair itself (until then this
script patched them in), so this script only prints their columns beside Median-4's.

    .venv/bin/python benchmarks/bench_nuclear_norm.py --sets pair 4 5
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_gap  # noqa: E402
import entry  # noqa: E402
from heldout_families import CHECK_FAMILIES  # noqa: E402


COLUMNS = ("Median-4", "Median-4-Spread", "Median-5", "Median-5-Spread", "NucNorm")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["weak_cnn", "resnet9q_e4"], type=bench_gap._model_name)
    ap.add_argument("--sets", nargs="+", default=["pair"], choices=["pair", *map(str, sorted(CHECK_FAMILIES))])
    ap.add_argument("--save-rows", help="write every row (estimates and true accuracy) to this CSV")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    print(f"Environment: {bench_gap.environment()}\n")
    print("| sets | " + " | ".join(f"{e} {m}" for e in COLUMNS for m in [*args.models, "all"]) + " | s |")
    print("|---" * (2 + len(COLUMNS) * (len(args.models) + 1)) + "|")
    frames = []
    for sets in args.sets:
        t0 = time.time()
        df = bench_gap.evaluate_group(args.models, sets)
        frames.append(df.assign(sets=sets))
        cells = [f"{bench_gap.mae_points(df, e)[m]:.2f}" for e in COLUMNS for m in [*args.models, "all"]]
        print(f"| {sets} | " + " | ".join(cells) + f" | {time.time() - t0:.0f} |", flush=True)
    if args.save_rows:
        pd.concat(frames).to_csv(args.save_rows, index=False)
    return 0


if __name__ == "__main__":
    entry.run(main)
