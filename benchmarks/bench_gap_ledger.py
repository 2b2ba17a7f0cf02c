"""How much does correcting an estimate by earlier submissions' misses (``gap.leaderboard_feedback``) help?

On a competition every submission meets the same shift, and the ledger learns each one's public score. For a
model B on a shifted set, the corrected estimate is B's estimate minus the mean signed error that the same
estimator made for other models on that set (their "public scores" are their true accuracies here). Nothing is
fitted: the correction has no parameter. Rows come from the benchmarks already run, so this script trains and
predicts nothing:

- the recorded benchmark (``RESULTS_gap.md``: 5 recipes, 23 sets) and the seed study (``RESULTS_gap_seeds.md``:
  3 seeds of weak_cnn, 2 of resnet9q_e4), rebuilt from their per-set tables (0.1-point rounding);
- the held-out families of checks 4 and 5 (``bench_gap_novel.py``'s saved rows, when present in the cache).

Scenarios for each model-set: one earlier submission of a *different* recipe (every such pair), one of the
*same* recipe with another seed, and the mean over every other model.

    .venv/bin/python benchmarks/bench_gap_ledger.py   # prints, writes RESULTS_gap_ledger.md and
                                                      # kaggle_kit/gap/measured_error_ledger.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from itertools import permutations
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_gap  # noqa: E402
import bench_gap_novel  # noqa: E402

from kaggle_kit.gap.leaderboard_feedback import apply_offset, mean_offset  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT_MD = HERE / "RESULTS_gap_ledger.md"
OUT_JSON = bench_gap.ROOT / "kaggle_kit" / "gap" / "measured_error_ledger.json"
ESTIMATORS = ("Median-4-Spread", "Median-4", "Shift-Gated", "CC-Synth", "COTT", "ATC-NE-BBSE")
SCENARIOS = ("plain", "one_different_recipe", "one_same_recipe", "mean_of_others")


def recipe(model: str) -> str:
    return model.split("@")[0]


def corrected_errors(df: pd.DataFrame, est: str) -> dict[str, list[float]]:
    """Absolute errors (fractions) of ``est`` per scenario over ``df``'s model-sets (one row per model and set)."""
    out: dict[str, list[float]] = {s: [] for s in SCENARIOS}
    for _, g in df.groupby("set", sort=False):
        estimate, truth, models = g[est].to_numpy(float), g["true_acc"].to_numpy(float), g["model"].tolist()
        out["plain"] += list(np.abs(estimate - truth))
        for a, b in permutations(range(len(g)), 2):
            err = abs(apply_offset(estimate[b], mean_offset([estimate[a]], [truth[a]])) - truth[b])
            out["one_same_recipe" if recipe(models[a]) == recipe(models[b]) else "one_different_recipe"].append(err)
        for b in range(len(g)):
            others = [a for a in range(len(g)) if a != b]
            if others:
                off = mean_offset(estimate[others], truth[others])
                out["mean_of_others"].append(abs(apply_offset(estimate[b], off) - truth[b]))
    return out


def summary(df: pd.DataFrame, names: tuple[str, ...] = ESTIMATORS) -> dict:
    """{estimator: {scenario: {"mae", "n"}}} (MAE in fractions; scenarios without a pair are left out)."""
    res = {}
    for est in names:
        if est not in df.columns:
            continue
        errs = corrected_errors(df, est)
        res[est] = {s: {"mae": float(np.mean(v)), "n": len(v)} for s, v in errs.items() if v}
    return res


LABELS = {"benchmark": "benchmark sets, 5 recipes (RESULTS_gap.md)", "standin": "stand-in, 5 recipes (RESULTS_gap.md)",
          "seeds": "benchmark sets, seed study (RESULTS_gap_seeds.md)",
          "heldout": "held-out families, checks 4+5 (bench_gap_novel.py)"}


def row_sources() -> dict[str, pd.DataFrame]:
    """Every saved set of rows (keys of ``LABELS``), with Median-4 and Median-4-Spread from their members."""
    sources = {}
    recorded = bench_gap.with_combined(bench_gap.recorded_rows())
    sources["benchmark"] = recorded[recorded["kind"] != "standin"]
    sources["standin"] = recorded[recorded["kind"] == "standin"]
    seeds = bench_gap.with_combined(bench_gap.recorded_rows(HERE / "RESULTS_gap_seeds.md"))
    sources["seeds"] = seeds[seeds["kind"] != "standin"]
    held = [bench_gap.with_combined(pd.read_csv(p)) for p in bench_gap_novel.ROWS.values() if p.is_file()]
    if len(held) == len(bench_gap_novel.ROWS):  # check 4's rows predate Median-4-Spread: combined per file
        rows = pd.concat(held, ignore_index=True)
        sources["heldout"] = rows[rows["set"] != "clean"]
    else:
        print("note: bench_gap_novel.py's saved rows are missing; run it (--check 4, --check 5) to add the "
              "held-out families")
    return sources


def table(name: str, df: pd.DataFrame, res: dict) -> list[str]:
    n_sets, models = df["set"].nunique(), list(dict.fromkeys(df["model"]))
    lines = [f"### {LABELS[name]}: {n_sets} sets x {len(models)} models ({', '.join(models)})", "",
             "| estimator | plain | one earlier, different recipe | one earlier, same recipe (other seed) | "
             "mean of every other model |", "|---|---|---|---|---|"]
    for est, r in res.items():
        cells = [f"{100 * r[s]['mae']:.2f} ({r[s]['n']})" if s in r else "-" for s in SCENARIOS]
        lines.append(f"| {est} | " + " | ".join(cells) + " |")
    return lines + [""]


def confirm(new: pd.DataFrame, others: pd.DataFrame, names: tuple[str, ...] = ESTIMATORS) -> tuple[str, bool, dict]:
    """Check 6 (``PREREGISTERED.md``): the new model's errors as is, corrected by each other model's miss on the
    same set (mean over the pairs) and by the mean of their misses. Returns (text, whether both rules hold, the
    measurements for ``measured_error_ledger.json``: MAE fractions per estimator)."""
    new, others = new[new["set"] != "clean"], others[others["set"] != "clean"]
    lines = [f"## Check 6: {', '.join(new['model'].unique())} on {new['set'].nunique()} held-out sets, corrected by "
             f"{others['model'].nunique()} other models ({', '.join(others['model'].unique())}); MAE in points", "",
             "| estimator | as is | one earlier (mean over the pairs) | mean of the others' misses |",
             "|---|---|---|---|"]
    result = {}
    for est in names:
        plain, one, mean = [], [], []
        for _, r in new.iterrows():
            o = others[others["set"] == r["set"]]
            misses = (o[est] - o["true_acc"]).to_numpy(float)
            plain.append(abs(r[est] - r["true_acc"]))
            one.append(np.mean([abs(apply_offset(r[est], m) - r["true_acc"]) for m in misses]))
            mean.append(abs(apply_offset(r[est], float(np.mean(misses))) - r["true_acc"]))
        result[est] = (100 * np.mean(plain), 100 * np.mean(one), 100 * np.mean(mean))
        lines.append(f"| {est} | " + " | ".join(f"{v:.2f}" for v in result[est]) + " |")
    plain, one, mean = result["Median-4-Spread"]
    ok = one <= plain - 0.5 and mean <= plain - 0.5
    lines += ["", f"Rule 6a (one earlier submission at least 0.5 below as is): {one:.2f} vs {plain:.2f} -> "
              f"{'holds' if one <= plain - 0.5 else 'fails'}. Rule 6b (the mean of the others' misses, the same): "
              f"{mean:.2f} vs {plain:.2f} -> {'holds' if mean <= plain - 0.5 else 'fails'}.", ""]
    record = {"models": list(new["model"].unique()), "others": list(others["model"].unique()),
              "n_sets": int(new["set"].nunique()), "rules_hold": bool(ok),
              "estimators": {e: dict(zip(("plain", "one_earlier", "mean_of_others"), (v / 100 for v in r)))
                             for e, r in result.items()}}
    return "\n".join(lines), ok, record


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--confirm", nargs="+", metavar="CSV",
                    help="check 6: rows of a held-out model (bench_gap_novel.py --save-rows), one CSV per check")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    if args.confirm:
        # combined per file: rows saved before Median-4-Spread existed get it from their own members
        new = pd.concat([bench_gap.with_combined(pd.read_csv(p)) for p in args.confirm], ignore_index=True)
        others = pd.concat([bench_gap.with_combined(pd.read_csv(p)) for p in bench_gap_novel.ROWS.values()],
                           ignore_index=True)
        text, ok, record = confirm(new, others[others["set"].isin(new["set"])])
        print(text)
        payload = json.loads(OUT_JSON.read_text())
        payload["check6"] = record
        OUT_JSON.write_text(json.dumps(payload, indent=2) + "\n")
        previous = OUT_MD.read_text().split("\n## Check 6")[0].rstrip("\n")
        OUT_MD.write_text(previous + "\n\n" + text)
        print(f"appended to {OUT_MD.relative_to(bench_gap.ROOT)}, recorded in {OUT_JSON.relative_to(bench_gap.ROOT)} in {time.perf_counter() - t0:.1f} s; "
              f"{'both rules hold' if ok else 'a rule fails'}")
        return 0
    sources = row_sources()
    results = {name: summary(df) for name, df in sources.items()}
    lines = ["## Correcting by earlier submissions' misses (MAE points; in brackets: model-sets or pairs)", "",
             "Corrected estimate of model B on a set = B's estimate - mean(estimate - true accuracy) of the other "
             "model(s) on that set, clipped to [0, 1] (`leaderboard_feedback.apply_offset`). No parameter is "
             "fitted. Command: `.venv/bin/python benchmarks/bench_gap_ledger.py` (arithmetic on the saved rows of the "
             "benchmarks named below, which say how their rows were made).", ""]
    for name, df in sources.items():
        lines += table(name, df, results[name])
    text = "\n".join(lines)
    print(text)
    old = OUT_MD.read_text() if OUT_MD.is_file() else ""
    check6 = "\n## Check 6" + old.split("\n## Check 6", 1)[1] if "\n## Check 6" in old else ""
    OUT_MD.write_text(text + check6)  # a recorded check-6 verdict stays with the re-rendered tables
    payload = {"what": "MAE (fractions) of each estimator as is and corrected by other models' signed errors on the "
                       "same set (benchmarks/bench_gap_ledger.py)",
               "sources": {name: {"label": LABELS[name], "n_sets": int(df["set"].nunique()), "models": list(dict.fromkeys(df["model"])),
                                  "estimators": results[name]} for name, df in sources.items()}}
    if OUT_JSON.is_file() and "check6" in json.loads(OUT_JSON.read_text()):  # a recorded verdict stays
        payload["check6"] = json.loads(OUT_JSON.read_text())["check6"]
    OUT_JSON.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {OUT_MD.relative_to(bench_gap.ROOT)} and {OUT_JSON.relative_to(bench_gap.ROOT)} "
          f"in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
