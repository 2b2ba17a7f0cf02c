"""Does the report's ledger replay stay fast on a long ledger?

The scoreboard replays the correction for every ledger row from the rows scored before it
(``leaderboard_feedback.replay``). Done naively (``corrected_prediction`` on the ledger's prefix, re-reading it
per row) that is quadratic in pandas row reads: a 400-row ledger took 2.1 s and 800 rows about 8 s. ``replay``
parses the scored rows once; what stays quadratic is a comparison of plain tuples. This script times both on
the same synthetic ledgers (a season of submissions: 7 recipes, 4 estimators kept per row, a few pending rows
and other competitions), checks they give identical numbers, and prints naive / replay and the per-row cost at
n rows relative to 100 rows (target: replay's <= 3, i.e. close to linear up to 800 rows).

    .venv/bin/python benchmarks/bench_ledger.py                    # 100, 200, 400, 800 rows
    .venv/bin/python benchmarks/bench_ledger.py --rows 100 1600
"""
from __future__ import annotations

import argparse
import math
import random
import tempfile
import time
from pathlib import Path

import pandas as pd

import entry

from kaggle_kit import ledger
from kaggle_kit.gap import estimators
from kaggle_kit.gap import leaderboard_feedback as lf
from kaggle_kit.runs import RecipeKeys

COMPETITION = "deep-learning-spring-2025-project-1"
TARGET_PER_ROW_RATIO = 3.0
ESTIMATORS = ("Median-4-Spread", "Shift-Gated", "COTT", "ATC-NE-BBSE")


def synthetic_ledger(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` rows through the ledger's own writer and reader, so the replay sees what a user's ledger holds."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        p = rng.uniform(0.6, 0.9)
        rows.append(ledger.make_row(
            time=f"2026-01-01T00:00:{i % 60:02d}Z", file=f"s{i}.csv", sha256=f"{i:064x}", runs=f"r{i % 50}",
            recipe=f"{i % 7:016x}", recipe_except_smoothing=f"{i % 3:016x}", local_holdout_acc=p + 0.1,
            local_test_acc=p + 0.1, predicted_lb_acc=p, predicted_by=ESTIMATORS[0],
            estimates={e: p + 0.01 * k for k, e in enumerate(ESTIMATORS)}, message="m",
            competition="other" if i % 11 == 0 else COMPETITION, kaggle_ref=str(i),
            status="PENDING" if i % 7 == 0 else "COMPLETE", public_score=p - rng.uniform(0.0, 0.06),
            private_score=p - 0.03))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.csv"
        path.write_text(ledger.render(rows))
        return ledger.read_ledger(path)


def naive_replay(df: pd.DataFrame, legacy: str, errors: dict) -> list[float]:
    """The reference: each row corrected from the ledger's prefix as a table, re-read for every row."""
    out = []
    for i in range(len(df)):
        r = df.iloc[i]
        est = lf.row_estimates(r, legacy)
        by = r["predicted_by"] or legacy
        c = None if by not in est else lf.corrected_prediction(
            est, by, df.iloc[:i], r["competition"], str(r["runs"]).split(ledger.RUN_SEPARATOR), legacy, errors,
            RecipeKeys.from_ledger_row(r))
        out.append(float("nan") if c is None else c.accuracy)
    return out


def timed(fn, *args) -> tuple[float, list[float]]:
    t0 = time.process_time()
    out = fn(*args)
    return time.process_time() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[100, 200, 400, 800])
    args = ap.parse_args()
    legacy, errors = estimators.logits_only_estimator(), lf.measurements()
    print("| rows | naive s | replay s | naive / replay | replay per-row cost vs first size |")
    print("|---|---|---|---|---|")
    base = None
    for n in args.rows:
        df = synthetic_ledger(n)
        t_naive, want = timed(naive_replay, df, legacy, errors)
        t_fast, got = timed(lf.replay, df, legacy, errors)
        if not all((math.isnan(a) and math.isnan(b)) or a == b for a, b in zip(want, got)):
            raise SystemExit(f"replay differs from the naive reference at {n} rows")
        per_row = t_fast / n
        base = per_row if base is None else base
        flag = "" if per_row / base <= TARGET_PER_ROW_RATIO else " (over target)"
        print(f"| {n} | {t_naive:.2f} | {t_fast:.3f} | {t_naive / t_fast:.0f} | {per_row / base:.2f}{flag} |")


if __name__ == "__main__":
    entry.run(main)
