"""Full training runs of the shipped recipes, one after another inside one wall-clock budget, and a table of them.

Written for a GPU session of a few minutes (``benchmarks/RESULTS.md``: the device is lent by chance, for 15
minutes at most, all tries together): each recipe runs as ``kaggle-kit train`` in its own process, so that a
recipe cut off at the deadline still leaves its finished epochs in ``metrics.csv``; the table then says how far it
got. "to 94%" is the training time (the epochs' own seconds, compile included in the first) until the holdout
accuracy first reached 94%, the papers' and airbench's bar; the test column is CIFAR-10's 10,000 test images,
scored once at the end (blank for a run cut off).

    KAGGLE_KIT_DATA=/tmp/kdata python benchmarks/bench_gpu_recipes.py pipelines/fast.yaml pipelines/seed000.yaml \\
        --budget-s 420 --runs-root /tmp/gpu-runs
"""
from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import entry  # noqa: E402

from kaggle_kit.config import load_pipeline  # noqa: E402

TARGET_ACC = 0.94
MIN_START_S = 20.0  # a recipe with less budget left than this is not started: it would not finish one epoch


@dataclass(frozen=True)
class RecipeRow:
    recipe: str
    status: str                   # "done", "cut at budget" or "failed (exit N)"
    epochs_done: int
    epochs_planned: int
    wall_s: float                 # the whole process: start-up, data loading, compile, epochs, test scoring
    train_s: float                # the epochs' own seconds
    images_per_s: float | None    # mean over the epochs after the first (the first holds the compile)
    best_holdout: float | None
    to_target_s: float | None     # training seconds until holdout >= TARGET_ACC, None if never
    to_target_epoch: int | None
    test_acc: float | None


def summarize(recipe: str, rows: list[dict], manifest: dict | None, epochs_planned: int, wall_s: float,
              status: str) -> RecipeRow:
    """One table row from a run's metrics.csv rows (strings, as csv gives them) and its manifest."""
    seconds = [float(r["seconds"]) for r in rows]
    holdout = [float(r["holdout_acc"]) if r.get("holdout_acc") not in (None, "") else None for r in rows]
    rates = [float(r["images_per_s"]) for r in rows[1:]] or [float(r["images_per_s"]) for r in rows]
    to_s = to_epoch = None
    for i, acc in enumerate(holdout):
        if acc is not None and acc >= TARGET_ACC:
            to_s, to_epoch = sum(seconds[:i + 1]), i + 1
            break
    scored = [a for a in holdout if a is not None]
    test = (manifest or {}).get("metrics", {}).get("test_acc")
    return RecipeRow(recipe, status, len(rows), epochs_planned, wall_s, sum(seconds),
                     sum(rates) / len(rates) if rates else None, max(scored) if scored else None,
                     to_s, to_epoch, test)


def _pct(v: float | None) -> str:
    return "" if v is None else f"{100 * v:.2f}"


def _num(v: float | None, fmt: str = ",.0f") -> str:
    return "" if v is None else format(v, fmt)


def table(rows: list[RecipeRow]) -> str:
    lines = ["| recipe | status | epochs | wall s | train s | img/s | best holdout % | to 94% s (epoch) | test % |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        to = "" if r.to_target_s is None else f"{r.to_target_s:,.1f} ({r.to_target_epoch})"
        lines.append(f"| {r.recipe} | {r.status} | {r.epochs_done}/{r.epochs_planned} | {r.wall_s:,.1f} | "
                     f"{r.train_s:,.1f} | {_num(r.images_per_s)} | {_pct(r.best_holdout)} | {to} | "
                     f"{_pct(r.test_acc)} |")
    return "\n".join(lines)


def planned_epochs(pipeline: Path, overrides: list[str]) -> int:
    return load_pipeline(pipeline, overrides).train.epochs


def run_recipe(pipeline: Path, run_dir: Path, timeout_s: float, extra: list[str]) -> tuple[str, float]:
    cmd = [sys.executable, "-m", "kaggle_kit", "train", str(pipeline), "--run-dir", str(run_dir), "--no-progress",
           *extra]
    t0 = time.perf_counter()
    try:
        rc = subprocess.run(cmd, timeout=timeout_s).returncode
        status = "done" if rc == 0 else f"failed (exit {rc})"
    except subprocess.TimeoutExpired:
        status = "cut at budget"
    return status, time.perf_counter() - t0


def read_run(run_dir: Path) -> tuple[list[dict], dict | None]:
    metrics, manifest = run_dir / "metrics.csv", run_dir / "manifest_train.json"
    rows = list(csv.DictReader(metrics.read_text().splitlines())) if metrics.is_file() else []
    return rows, (json.loads(manifest.read_text()) if manifest.is_file() else None)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pipelines", nargs="+", type=Path)
    ap.add_argument("--budget-s", type=float, required=True, help="wall seconds for all recipes together")
    ap.add_argument("--runs-root", type=Path, required=True)
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="passed to every recipe's train (tests: tiny runs)")
    ap.add_argument("--data-dir", help="passed to train (default: its own search)")
    args = ap.parse_args(argv)
    extra = [a for o in args.overrides for a in ("--set", o)]
    extra += ["--data-dir", args.data_dir] if args.data_dir else []
    # every pipeline read before any runs: a typo is one error line, not a failure after the budget is spent
    planned = {p: planned_epochs(p, args.overrides) for p in args.pipelines}
    start, rows = time.perf_counter(), []
    for pipeline in args.pipelines:
        left = args.budget_s - (time.perf_counter() - start)
        if left < MIN_START_S:
            print(f"{pipeline}: not started, {left:.0f} s of the budget left", file=sys.stderr)
            continue
        run_dir = args.runs_root / pipeline.stem
        status, wall = run_recipe(pipeline, run_dir, left, extra)
        metrics, manifest = read_run(run_dir)
        rows.append(summarize(pipeline.stem, metrics, manifest, planned[pipeline], wall, status))
        print(table(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
    print(table(rows))
    return 0 if rows and all(not r.status.startswith("failed") for r in rows) else 1


if __name__ == "__main__":
    entry.run(main)
