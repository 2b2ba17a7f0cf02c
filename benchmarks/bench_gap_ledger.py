"""How much does correcting an estimate by earlier submissions' misses (``gap.leaderboard_feedback``) help?

On a competition every submission meets the same shift, and the ledger learns each one's public score. For a
model B on a shifted set, the corrected estimate is B's estimate minus the mean signed error that the same
estimator made for other models on that set (their "public scores" are their true accuracies here). Nothing is
fitted: the correction has no parameter. Rows come from the benchmarks already run, so this script trains and
predicts nothing:

- the recorded benchmark (``RESULTS_gap.md``: 5 recipes, 23 sets) and the seed study (``RESULTS_gap_seeds.md``:
  3 seeds of weak_cnn, 2 of resnet9q_e4), rebuilt from their per-set tables (0.1-point rounding);
- the held-out families of checks 4 and 5 (``bench_gap_novel.py``'s saved rows in the git-ignored cache; without
  them the script stops and writes nothing, since ``correction_p90`` reads that entry).

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
import entry  # noqa: E402

from kaggle_kit.gap.leaderboard_feedback import PUBLIC_SPLIT, apply_offset, mean_offset  # noqa: E402

HERE = Path(__file__).resolve().parent
# The held-out rows the corrections' ranges were measured on; check 15's families came after checks 6-14 used these.
HELDOUT_ROWS = tuple(bench_gap_novel.ROWS[c] for c in (4, 5))
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
    """{estimator: {scenario: {"mae", "p90", "n"}}} (fractions; p90: the 90th-percentile absolute error, the
    corrected prediction's range; scenarios without a pair are left out)."""
    res = {}
    for est in names:
        if est not in df.columns:
            continue
        errs = corrected_errors(df, est)
        res[est] = {s: {"mae": float(np.mean(v)), "p90": float(np.quantile(v, 0.9)), "n": len(v)}
                    for s, v in errs.items() if v}
    return res


LABELS = {"benchmark": "benchmark sets, 5 recipes (benchmarks/RESULTS_gap.md)",
          "standin": "stand-in, 5 recipes (benchmarks/RESULTS_gap.md)",
          "seeds": "benchmark sets, seed study (benchmarks/RESULTS_gap_seeds.md)",
          "heldout": "held-out families, checks 4+5 (benchmarks/bench_gap_novel.py)"}


def row_sources() -> dict[str, pd.DataFrame]:
    """Every saved set of rows (keys of ``LABELS``), with Median-4 and Median-4-Spread from their members."""
    sources = {}
    recorded = bench_gap.with_combined(bench_gap.recorded_rows())
    sources["benchmark"] = recorded[recorded["kind"] != "standin"]
    sources["standin"] = recorded[recorded["kind"] == "standin"]
    seeds = bench_gap.with_combined(bench_gap.recorded_rows(HERE / "RESULTS_gap_seeds.md"))
    sources["seeds"] = seeds[seeds["kind"] != "standin"]
    if all(p.is_file() for p in HELDOUT_ROWS):  # check 4's rows predate Median-4-Spread
        rows = bench_gap.saved_rows(HELDOUT_ROWS)
        sources["heldout"] = rows[rows["set"] != "clean"]
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


def verdict(check: int, plain: float, one: float, mean: float) -> tuple[bool, str]:
    """The rule of ``PREREGISTERED.md``'s check 6 or 7 applied to Median-4-Spread's MAE (points)."""
    def word(ok: bool) -> str:
        return "holds" if ok else "fails"

    if check == 6:
        a, b = one <= plain - 0.5, mean <= plain - 0.5
        return a and b, (f"Rule 6a (one earlier submission at least 0.5 below as is): {one:.2f} vs {plain:.2f} -> "
                         f"{word(a)}. Rule 6b (the mean of the others' misses, the same): {mean:.2f} vs {plain:.2f} "
                         f"-> {word(b)}.")
    ok = one <= 1.0
    return ok, (f"Rule 7 (corrected by the same recipe's earlier miss, at most 1.0 point): {one:.2f} (as is "
                f"{plain:.2f}) -> {word(ok)}.")


def pair_errors(r: pd.Series, earlier: pd.DataFrame, est: str) -> list[float]:
    """|corrected - truth| of one new model-set ``r``, corrected by each ``earlier`` row's miss in turn."""
    return [abs(apply_offset(r[est], mean_offset([e], [t])) - r["true_acc"])
            for e, t in zip(earlier[est].to_numpy(float), earlier["true_acc"].to_numpy(float))]


def confirm(new: pd.DataFrame, others: pd.DataFrame, names: tuple[str, ...] = ESTIMATORS,
            check: int = 6) -> tuple[str, bool, dict]:
    """A pre-registered check (``PREREGISTERED.md`` 6 or 7): the new model's errors as is, corrected by each other
    model's miss on the same set (mean over the pairs) and by the mean of their misses. Returns (text, whether the
    rule holds, the measurements for ``measured_error_ledger.json``: MAE fractions per estimator)."""
    new, others = new[new["set"] != "clean"], others[others["set"] != "clean"]
    lines = [f"## Check {check}: {', '.join(new['model'].unique())} on {new['set'].nunique()} held-out sets, "
             f"corrected by {others['model'].nunique()} other model(s) ({', '.join(others['model'].unique())}); MAE "
             f"in points", "",
             "| estimator | as is | one earlier (mean over the pairs) | mean of the others' misses |",
             "|---|---|---|---|"]
    result = {}
    for est in names:
        plain, one, mean = [], [], []
        for _, r in new.iterrows():
            o = others[others["set"] == r["set"]]
            estimate, truth = o[est].to_numpy(float), o["true_acc"].to_numpy(float)
            plain.append(abs(r[est] - r["true_acc"]))
            one.append(np.mean(pair_errors(r, o, est)))
            mean.append(abs(apply_offset(r[est], mean_offset(estimate, truth)) - r["true_acc"]))
        result[est] = (100 * np.mean(plain), 100 * np.mean(one), 100 * np.mean(mean))
        lines.append(f"| {est} | " + " | ".join(f"{v:.2f}" for v in result[est]) + " |")
    ok, words = verdict(check, *result["Median-4-Spread"])
    lines += ["", words, ""]
    record = {"models": list(new["model"].unique()), "others": list(others["model"].unique()),
              "n_sets": int(new["set"].nunique()), "rules_hold": bool(ok),
              "estimators": {e: dict(zip(("plain", "one_earlier", "mean_of_others"), (v / 100 for v in r)))
                             for e, r in result.items()}}
    return "\n".join(lines), ok, record


def confirm_check8(new: pd.DataFrame, others: pd.DataFrame,
                   names: tuple[str, ...] = ESTIMATORS) -> tuple[str, bool, dict]:
    """``PREREGISTERED.md``'s check 8: each new model-set corrected by every other recipe's miss on its set (mean
    over those pairs) and by its own recipe's other seed; rule 8a compares Shift-Gated with Median-4-Spread, 8b
    asks Shift-Gated's same-recipe correction for the 1-point goal. Returns (text, 8a holds, record)."""
    new, others = new[new["set"] != "clean"], others[others["set"] != "clean"]
    for _, r in new.iterrows():  # the rule's pairs must all exist: a missing one would change the verdict silently
        o = others[others["set"] == r["set"]]
        if o.empty or (o["model"].map(recipe) == recipe(r["model"])).any():
            raise SystemExit(f"error: check 8 needs other recipes' rows on {r['set']} for {r['model']} (and none of "
                             f"its own recipe among --others)")
        if ((new["set"] == r["set"]) & (new["model"] != r["model"])
                & (new["model"].map(recipe) == recipe(r["model"]))).sum() != 1:
            raise SystemExit(f"error: check 8 needs exactly one other seed of {recipe(r['model'])} on {r['set']}")
    lines = [f"## Check 8: {', '.join(new['model'].unique())} on {new['set'].nunique()} held-out sets, corrected by "
             f"{others['model'].nunique()} other recipes' models ({', '.join(others['model'].unique())}) and by the "
             f"other seed; MAE in points", "",
             "| estimator | as is | one earlier, another recipe (mean over the pairs) | one earlier, same recipe |",
             "|---|---|---|---|"]
    result = {}
    for est in names:
        plain, other, same = [], [], []
        for _, r in new.iterrows():
            o = others[others["set"] == r["set"]]
            twin = new[(new["set"] == r["set"]) & (new["model"] != r["model"])
                       & (new["model"].map(recipe) == recipe(r["model"]))]
            plain.append(abs(r[est] - r["true_acc"]))
            other.append(np.mean(pair_errors(r, o, est)))
            same += pair_errors(r, twin, est)
        result[est] = (100 * np.mean(plain), 100 * np.mean(other), 100 * np.mean(same))
        lines.append(f"| {est} | " + " | ".join(f"{v:.2f}" for v in result[est]) + " |")
    sg, m4s = result["Shift-Gated"], result["Median-4-Spread"]
    a = sg[1] <= m4s[1] - 0.2 and sg[2] <= m4s[2]
    b = sg[2] <= 1.0
    lines += ["", f"Rule 8a (Shift-Gated corrected by another recipe at least 0.2 below Median-4-Spread: {sg[1]:.2f} vs "
                  f"{m4s[1]:.2f}; by the same recipe not above it: {sg[2]:.2f} vs {m4s[2]:.2f}) -> "
                  f"{'holds' if a else 'fails'}. Rule 8b (Shift-Gated corrected by the same recipe at most 1.0 point: "
                  f"{sg[2]:.2f}) -> {'holds' if b else 'fails'}.", ""]
    record = {"models": list(new["model"].unique()), "others": list(others["model"].unique()),
              "n_sets": int(new["set"].nunique()), "rules_hold": bool(a), "goal_holds": bool(b),
              "estimators": {e: dict(zip(("plain", "one_different_recipe", "one_same_recipe"), (v / 100 for v in r)))
                             for e, r in result.items()}}
    return "\n".join(lines), bool(a), record  # numpy's comparison gives np.bool_, which `is True` is not


def split_checks(text: str) -> tuple[str, dict[int, str]]:
    """``RESULTS_gap_ledger.md`` as (the tables, {check number: its section}), so each part is rewritten alone."""
    base, *rest = text.split("\n## Check ")
    return base.rstrip("\n"), {int(part.split(":", 1)[0]): "## Check " + part.rstrip("\n") for part in rest}


def join_checks(base: str, checks: dict[int, str]) -> str:
    return "\n\n".join([base.rstrip("\n"), *(checks[k] for k in sorted(checks))]) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--confirm", nargs="+", metavar="CSV",
                    help="rows of a held-out model (bench_gap_novel.py --save-rows), one CSV per check's sets")
    ap.add_argument("--check", type=int, choices=(6, 7, 8), default=6, help="which pre-registered rule to apply")
    ap.add_argument("--others", nargs="+", metavar="CSV",
                    help="the earlier models' rows (default: bench_gap_novel.py's saved rows of checks 4 and 5)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    if args.confirm:
        new = bench_gap.saved_rows(args.confirm)
        others = bench_gap.saved_rows(args.others or HELDOUT_ROWS)
        if args.check == 8 and not args.others:
            ap.error("--check 8 needs --others: the six models' rows PREREGISTERED.md names")
        others = others[others["set"].isin(new["set"])]
        text, ok, record = (confirm_check8(new, others) if args.check == 8 else
                            confirm(new, others, check=args.check))
        print(text)
        payload = json.loads(OUT_JSON.read_text())
        payload[f"check{args.check}"] = record
        OUT_JSON.write_text(json.dumps(payload, indent=2) + "\n")
        base, checks = split_checks(OUT_MD.read_text())
        OUT_MD.write_text(join_checks(base, {**checks, args.check: text.rstrip("\n")}))
        print(f"recorded in {OUT_MD.relative_to(bench_gap.ROOT)} and {OUT_JSON.relative_to(bench_gap.ROOT)} in "
              f"{time.perf_counter() - t0:.1f} s; the rule {'holds' if ok else 'fails'}")
        return 0
    sources = row_sources()
    if "heldout" not in sources:  # the shipped entry would be dropped, and with it the corrections' wider range
        missing = ", ".join(str(p) for p in HELDOUT_ROWS if not p.is_file())
        raise SystemExit(f"error: bench_gap_novel.py's saved rows are missing ({missing}): run it with --check 4 and "
                         f"--check 5 first; nothing written")
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
    checks = split_checks(OUT_MD.read_text())[1] if OUT_MD.is_file() else {}
    OUT_MD.write_text(join_checks(text, checks))  # recorded verdicts stay with the re-rendered tables
    payload = {"what": "MAE (fractions) of each estimator as is and corrected by other models' signed errors on the "
                       "same set (benchmarks/bench_gap_ledger.py)",
               "sources": {name: {"label": LABELS[name], "n_sets": int(df["set"].nunique()), "models": list(dict.fromkeys(df["model"])),
                                  "estimators": results[name]} for name, df in sources.items()}}
    if OUT_JSON.is_file():  # recorded verdicts and bench_gap_public_split.py's entry stay
        payload.update({k: v for k, v in json.loads(OUT_JSON.read_text()).items()
                        if k.startswith("check") or k == PUBLIC_SPLIT})
    OUT_JSON.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {OUT_MD.relative_to(bench_gap.ROOT)} and {OUT_JSON.relative_to(bench_gap.ROOT)} "
          f"in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    entry.run(main)
