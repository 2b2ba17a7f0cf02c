"""Ref-Stack's training table, and how well it does on rounds it was not fitted on.

Why: Ref-Stack (``kaggle_kit.gap.ref_stack``) learns Ref-Doubt's error from the held-out rounds' own rows, so its
figures on those rows are in-sample. This script re-derives the shipped table from ``heldout_rows.csv`` (through
``heldout_table.trained_rows``, as every record is) and measures the trees with each round left out of the fit in turn
(and, harder, each round and each model: the benchmark has four models, a user has another), beside Ref-Doubt on
the same model-sets. A unit test holds the shipped table to this derivation.

    .venv/bin/python benchmarks/bench_ref_stack.py                 # the tables (about 15 s on 2 cores)
    .venv/bin/python benchmarks/bench_ref_stack.py --grid          # and the tree settings nearby
    .venv/bin/python benchmarks/bench_ref_stack.py --write         # rewrite kaggle_kit/gap/ref_stack_rows.csv
    .venv/bin/python benchmarks/bench_ref_stack.py --add c52_a.csv c52_b1.csv c52_b2.csv --check 52   # a new round
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import entry  # noqa: E402
import heldout_table  # noqa: E402
from kaggle_kit.gap import ref_stack  # noqa: E402

SHIPPED = Path(ref_stack.__file__).resolve().parent / ref_stack.TABLE
FIRST_CHECK = 33  # the first check whose rows give the holdout-like share (``heldout_shares.csv``)
LAST_CHECK = 55   # the last round the shipped table holds (rule 52t: each round joins it after its check)


def kind_of(set_name: str, kind: str) -> str:
    """Which of the four kinds of held-out set: every image changed or a share ("_some"), with or without a changed
    class mix (kind "both")."""
    part = "some" if "_some" in set_name else "every"
    return part + ("+priors" if kind == "both" else "")


def table(t: pd.DataFrame, checks=range(FIRST_CHECK, LAST_CHECK + 1)) -> pd.DataFrame:
    """The training table: one row per trained model-set of ``checks`` where Ref-Doubt and its features are known,
    ``ref_stack.KEYS``, ``FEATURES`` and ``TARGET`` (points), in the rows' order."""
    out = []
    for r in t[t.check.isin(list(checks))].to_dict("records"):
        x = ref_stack.features({k: (None if pd.isna(v) else v) for k, v in r.items() if isinstance(k, str)},
                               r["holdout_acc"], None if pd.isna(r["holdout_like"]) else r["holdout_like"])
        if x is None:
            continue
        out.append({**{k: r[k] for k in ref_stack.KEYS}, **dict(zip(ref_stack.FEATURES, x)),
                    ref_stack.TARGET: 100.0 * (r["true_acc"] - r[ref_stack.BASE]),
                    "true_acc": r["true_acc"], ref_stack.BASE: r[ref_stack.BASE],
                    "kind": kind_of(r["set"], r["kind"])})
    return pd.DataFrame(out)


def write(tab: pd.DataFrame, path: Path = SHIPPED) -> None:
    """The shipped CSV: keys, features and target (points, to 1e-5)."""
    tab[[*ref_stack.KEYS, *ref_stack.FEATURES, ref_stack.TARGET]].to_csv(path, index=False, float_format="%.5f")


def stacked_errors(tab: pd.DataFrame, corrections: np.ndarray) -> np.ndarray:
    """Ref-Stack's signed errors (points) with these ``corrections`` (points), clipped as ``ref_stack.corrected``
    clips."""
    est = [ref_stack.corrected(b, c) for b, c in zip(tab[ref_stack.BASE], corrections)]
    return 100.0 * (np.array(est) - tab.true_acc.to_numpy())


def left_out(tab: pd.DataFrame, by_model: bool = False, params: dict | None = None) -> np.ndarray:
    """Each row's Ref-Stack error (points, signed) from trees fitted without its round (and, ``by_model``, without its
    model too)."""
    x, y = tab[list(ref_stack.FEATURES)].to_numpy(), tab[ref_stack.TARGET].to_numpy()
    pred = np.zeros(len(tab))
    models = tab.model.unique() if by_model else [None]
    for check in tab.check.unique():
        for model in models:
            test = (tab.check == check).to_numpy() & ((tab.model == model).to_numpy() if by_model else True)
            train = (tab.check != check).to_numpy() & ((tab.model != model).to_numpy() if by_model else True)
            if test.any():
                pred[test] = ref_stack.fit(x[train], y[train], params).predict(x[test])
    return stacked_errors(tab, pred)


def summary(tab: pd.DataFrame, errors: dict[str, np.ndarray], by: str) -> pd.DataFrame:
    """MAE (points) of each of ``errors`` grouped ``by`` a column of ``tab``, with an "all" row and the count."""
    df = pd.DataFrame({name: np.abs(e) for name, e in errors.items()}).assign(**{by: tab[by].to_numpy()})
    out = df.groupby(by).mean()
    out.loc["all"] = df.drop(columns=by).mean()
    out["n"] = [*df.groupby(by).size(), len(df)]
    return out.round(2)


def tables(tab: pd.DataFrame, grid: bool) -> None:
    start = time.time()
    errors = {"Ref-Doubt": -tab[ref_stack.TARGET].to_numpy(), "Ref-Stack (round out)": left_out(tab),
              "Ref-Stack (round and model out)": left_out(tab, by_model=True)}
    for by in ("check", "kind", "model"):
        print(f"\nMAE in points by {by}, {len(tab)} model-sets of checks {tab.check.min()} to {tab.check.max()}:\n")
        print(heldout_table.markdown(summary(tab, errors, by).reset_index()))
    per = pd.DataFrame({k: np.abs(v) for k, v in errors.items()}).groupby(tab.check.to_numpy()).mean()
    for name in list(errors)[1:]:
        gain = per["Ref-Doubt"] - per[name]
        print(f"\n{name}: lower than Ref-Doubt on {int((gain > 0).sum())} of {len(gain)} rounds; "
              f"at worst {-gain.min():+.2f} points (check {gain.idxmin()}); "
              f"within 1 point on {np.mean(np.abs(errors[name]) <= 1):.0%} of model-sets "
              f"(Ref-Doubt {np.mean(np.abs(errors['Ref-Doubt']) <= 1):.0%})")
    if grid:
        print("\nTree settings nearby, round out (MAE points):\n\n| depth | rate | trees | MAE |\n|---|---|---|---|")
        for depth in (2, 3, 4):
            for rate in (0.03, 0.05, 0.1):
                for trees in (100, 200, 400):
                    params = {**ref_stack.TREE_PARAMS, "max_depth": depth, "learning_rate": rate, "max_iter": trees}
                    print(f"| {depth} | {rate} | {trees} | {np.mean(np.abs(left_out(tab, params=params))):.3f} |")
    print(f"\n({time.time() - start:.0f} s)")


def fresh(add: list[str], check: int) -> None:
    """Ref-Stack as shipped (fitted on the shipped table alone) on a fresh check's rows, beside Ref-Doubt."""
    rows = pd.concat([heldout_table.read_rows(Path(p), check) for p in add], ignore_index=True)
    tab = table(heldout_table.trained_rows(rows), checks=[check])
    corrections = ref_stack.shipped_model().predict(tab[list(ref_stack.FEATURES)].to_numpy())
    errors = {"Ref-Doubt": -tab[ref_stack.TARGET].to_numpy(), "Ref-Stack": stacked_errors(tab, corrections)}
    for by in ("kind", "model"):
        print(f"\nCheck {check}, MAE in points by {by}:\n")
        print(heldout_table.markdown(summary(tab, errors, by).reset_index()))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="rewrite the shipped table from heldout_rows.csv")
    ap.add_argument("--grid", action="store_true", help="also measure the tree settings nearby")
    ap.add_argument("--add", nargs="+", help="a fresh check's --save-rows files, scored with the shipped model")
    ap.add_argument("--check", type=int, help="the check those files measured")
    args = ap.parse_args(argv)
    if args.add:
        fresh(args.add, args.check)
        return 0
    tab = table(heldout_table.trained_rows(heldout_table.read_rows(heldout_table.ROWS)))
    if args.write:
        write(tab)
        print(f"wrote {SHIPPED} ({len(tab)} rows)")
    tables(tab, args.grid)
    return 0


if __name__ == "__main__":
    entry.run(main)
