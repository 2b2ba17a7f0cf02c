"""``kaggle-kit ensemble RUN... --name N``: combine predicted runs into ``ensembles/N/``."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from kaggle_kit.config import ENSEMBLE_METHODS
from kaggle_kit.text import percent


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ensemble", help="combine several runs' logits (mean, weighted or vote)")
    p.add_argument("runs", nargs="+", help="run (or ensemble) folders or run ids")
    p.add_argument("--name", required=True, help="ensemble name: the output folder under --out-root")
    p.add_argument("--method", default="mean_probs", choices=ENSEMBLE_METHODS,
                   help="how to combine (default: mean_probs); weighted fits weights on the holdout")
    p.add_argument("--out-root", default="ensembles", help="parent folder of the ensemble (default: ensembles)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kaggle_kit.ensemble import ensemble_runs
    from kaggle_kit.runs import run_dir

    out = ensemble_runs([run_dir(r) for r in args.runs], args.method, args.name, out_root=Path(args.out_root))
    summary = json.loads((out / "ensemble.json").read_text(encoding="utf-8"))
    label = f"ensemble ({summary['method']})"
    width = max(len(label), *(len(m["name"]) for m in summary["members"])) + 2
    print(f"{'member':<{width}} {'weight':>7} {'holdout':>8} {'test':>8}")
    for m in summary["members"]:
        print(f"{m['name']:<{width}} {m['weight']:>7.3f} {percent(m['holdout']['acc'], 2):>8} "
              f"{percent(m['test']['acc'], 2):>8}")
    ens = summary["ensemble"]
    print(f"{label:<{width}} {'':>7} {percent(ens['holdout']['acc'], 2):>8} {percent(ens['test']['acc'], 2):>8}")
    print(f"wrote {out}")
    return 0
