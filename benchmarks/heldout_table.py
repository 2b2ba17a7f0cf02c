"""The held-out model-sets of the pre-registered checks, re-read: each estimator's mean absolute error by check,
model, round or set kind, and how often the range quoted with the recommendation held the true accuracy.

Why: the recommendation (``estimators.PREFERRED``) and the records the report quotes for it and for adapting
BatchNorm (``estimators.HELD_OUT``, ``RANGE_HELD_OUT``, ``ADAPT_HELD_OUT``) rest on these rows, which took hours of
CPU to measure (``bench_bn_adapt.py --sets N --forms balanced3 --save-rows``, one round of shift families per check,
``heldout_families.py``). Kept in ``heldout_rows.csv`` they are re-read in a second, and a unit test holds the
records to them. Ref-Avg-Shrunk, Ref-Prior and, for rows saved before it existed, COT-Gated are computed here by the
toolkit's own functions from the saved columns, and so are Ref-Mix from ``heldout_shares.csv`` (checks 33 on) and
Ref-Split, Ref-Blend, Ref-Sep and Ref-Hedge (adopted by check 43) from it with ``heldout_splits.csv``, and Ref-Parts
(adopted by check 45) from those and ``heldout_parts.csv``, and Ref-Doubt (adopted by check 47) from Ref-Parts and the
rows. Ref-Stack (adopted by check 52) is read as each check's run saved it (``heldout_stack.csv``, check 52 on).

    .venv/bin/python benchmarks/heldout_table.py
    .venv/bin/python benchmarks/heldout_table.py --by model --checks 30 31 32
    .venv/bin/python benchmarks/heldout_table.py --by model --add c32_a.csv c32_b.csv --check 32 --checks 32

``heldout_rows.csv``: one row per model and shifted set, for the trained statistics ("trained": every estimator) and
the balanced x3 adapted copy ("balanced3": accuracy, no reference rows); "check" is the check that measured it,
"round" the ``heldout_families.CHECK_FAMILIES`` key. Checks 21 and 22 saved no holdout_acc column; theirs is each
model's holdout accuracy as every later check saved it (the same cached models). Checks 31 to 33's Ref-Avg-Shrunk
columns are left out, as it is recomputed, so that each check's rows were appended without changing the earlier lines.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import entry  # noqa: E402

from kaggle_kit.errors import KitError  # noqa: E402
from kaggle_kit.gap import estimators  # noqa: E402

ROWS = Path(__file__).resolve().parent / "heldout_rows.csv"
# Ref-Mix's input per trained model-set (``estimators.estimate_all``'s "holdout_like_share"), kept beside the rows so
# that their lines stay as each check appended them: checks 33-37's computed in session 55 from the logits those checks
# cached (the same model instances), later checks' as their benchmark saved it.
SHARES = Path(__file__).resolve().parent / "heldout_shares.csv"
# Ref-Split's other input, ``estimators.split_cott`` (COTT read on the two parts apart), kept only for the model-sets
# where Ref-Mix's gate opens, the only ones where Ref-Split reads it: checks 33-38's computed in session 57 from their
# cached logits, later checks' as their benchmark saved Ref-Split there. Its "separation" (Ref-Sep's tell,
# ``domain.HoldoutLike.separation``) was computed in session 59 from the same cached logits for checks 33-40.
SPLITS = Path(__file__).resolve().parent / "heldout_splits.csv"
# Ref-Parts' inputs (adopted by check 45), the holdout-like share re-weighted to EM's priors and the parts' ATC-NE-EM,
# kept for the model-sets where it read them (``estimators.looks_again``) as their benchmark saved them, check 45 on,
# and as session 64 read them for checks 43 and 44 from the logits those checks cached (the same model instances).
PARTS = Path(__file__).resolve().parent / "heldout_parts.csv"
# Ref-Stack (adopted by check 52) as each check's run saved it, from the trees fitted on the rounds before that
# check: its table takes in each round after the check (rule 52t), so recomputing it here would read a round in-sample
STACK = Path(__file__).resolve().parent / "heldout_stack.csv"
SHOWN = ("Ref-Prior", "Ref-Avg-Shrunk", "Ref-Avg", "Ref-EM", "COT-Gated", "Median-5-Spread")
KEY = ["check", "model", "set"]  # one model-set: its trained row and its balanced x3 row
REQUIRED = ("check", "model", "round", "set", "kind", "statistics", "holdout_acc", "true_acc", "COT", "COT-EM",
            "Ref-Avg", "Median-5-Spread")


class RowsError(KitError):
    """A rows file that cannot be read as held-out rows (the message names the file and what is wrong)."""


def read_saved(path: Path, required: tuple[str, ...], prepare=lambda df: df) -> pd.DataFrame:
    """``path`` read, ``prepare``d, and checked to have every ``required`` column, or a ``RowsError`` naming it."""
    try:
        df = prepare(pd.read_csv(path))
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise RowsError(f"{path}: not a readable CSV ({exc})") from None
    if missing := [c for c in required if c not in df]:
        raise RowsError(f"{path}: no column {', '.join(missing)}")
    return df


def read_rows(path: Path, check: int | None = None) -> pd.DataFrame:
    """A ``--save-rows`` CSV (``check`` given: one check's fresh rows, without the column) or ``heldout_rows.csv``."""
    if check is None:
        return read_saved(path, REQUIRED)
    return read_saved(path, REQUIRED, lambda rows: rows.rename(columns={"sets": "round"}).assign(check=check))


def trained_rows(rows: pd.DataFrame, shares: Path = SHARES, splits: Path = SPLITS,
                 parts: Path = PARTS, stack: Path = STACK) -> pd.DataFrame:
    """The rows of the trained statistics, with the estimators the toolkit derives from saved columns: COT-Gated where
    a check saved none, Ref-Avg-Shrunk and Ref-Prior always (so a record follows ``REFERENCE_SHRINK`` or
    ``PRIOR_TELL`` if it is changed), Ref-Mix where ``shares`` or the rows give the model-set's holdout-like share,
    and Ref-Split and Ref-Blend where Ref-Mix is known and, if its gate opens, ``splits`` or the rows' Ref-Split
    give ``split_cott`` (NaN elsewhere), and Ref-Sep and Ref-Hedge where they also give the split's separation, and
    Ref-Parts where, if it looks again, ``parts`` or the rows give what it read. Ref-Prior reads the balanced x3 row,
    whose COT and COT-EM are the reference's. Ref-Stack is read, not derived: a fresh check's own column, else
    ``stack``'s (NaN before check 52); Ref-Stack-Gated is derived from it."""
    t = rows[rows.statistics == "trained"].copy()
    if t[["holdout_acc", "true_acc", "Ref-Avg"]].isna().any().any():
        raise RowsError("a trained row without holdout_acc, true_acc or Ref-Avg")
    b = rows[rows.statistics == "balanced3"].set_index(KEY)
    move = (b["COT-EM"] - b["COT"]).abs().reindex(pd.MultiIndex.from_frame(t[KEY]))
    if move.isna().any():
        raise RowsError("a trained row without its balanced3 row's COT and COT-EM")
    t["Ref-Avg-Shrunk"] = [estimators.shrunk(e, h) for e, h in zip(t["Ref-Avg"], t.holdout_acc)]
    t["Ref-Prior"] = [estimators.ref_prior(r, m) for r, m in zip(t.to_dict("records"), move.to_numpy())]
    like = t["holdout_like"] = _kept_beside(t, shares, "holdout_like", "holdout_like")
    records = t.to_dict("records")
    t["Ref-Mix"] = [estimators.ref_mix(r, r["holdout_acc"], h) if np.isfinite(h) else np.nan
                    for r, h in zip(records, like)]
    # a fresh check's own split_cott, read wherever a gate opened (Ref-Hedge's, which its hedged drop can open where
    # Ref-Split's stays shut, as well as Ref-Split's); a fresh file without it gives its saved Ref-Split, the split
    # where Ref-Split read it (elsewhere Ref-Prior, which no gate that stayed shut reads)
    split = _kept_beside(t, splits, "split_cott", "split_cott" if "split_cott" in t else "Ref-Split")
    for name, rule in (("Ref-Split", estimators.ref_split), ("Ref-Blend", estimators.ref_blend)):
        t[name] = [rule(r, r["holdout_acc"], h, lambda c=c: c) if np.isfinite(h) else np.nan
                   for r, h, c in zip(records, like, split)]
    # kept only where the gate opens, as the split: elsewhere Ref-Sep is Ref-Prior whatever it is
    separation = _kept_beside(t, splits, "separation", "separation")
    known = _separation_known(records, like, separation, [r["Ref-Prior"] for r in records])
    t["Ref-Sep"] = [estimators.ref_sep(r, r["holdout_acc"], h, s, lambda c=c: c) if k else np.nan
                    for r, h, s, c, k in zip(records, like, separation, split, known)]
    # Ref-Hedge (adopted by check 43): Ref-Sep read with the hedged Ref-Prior, in its gate as where it quotes it. Its
    # gate can open where Ref-Sep's does not, and there the split was kept only from check 43 on (before it, NaN on
    # the one such model-set, check 40's nibble_swap_some-4 for resnet9q_e4)
    known = np.array(_separation_known(records, like, separation,
                                       [estimators.hedged_prior(r, m) for r, m in zip(records, move.to_numpy())]))
    t["Ref-Hedge"] = [estimators.ref_hedge(r, r["holdout_acc"], m, h, s, lambda c=c: c) if k else np.nan
                      for r, m, h, s, c, k in zip(records, move.to_numpy(), like, separation, split, known)]
    # Ref-Parts (adopted by check 45): Ref-Hedge, but where it looks again (the tell open, Ref-Hedge's gate shut) and
    # the re-weighted share opens the gate, the parts' ATC-NE-EM. Both were kept from check 43 on (``parts`` or a
    # fresh check's rows); before it, NaN where it looks again
    rw, read = (_kept_beside(t, parts, c, c).astype(float) for c in ("reweighted_like", "parts_atc_em"))
    known &= np.array([np.isfinite(w) or not estimators.looks_again(r, r["holdout_acc"], m, h)
                       for r, m, h, w in zip(records, move.to_numpy(), like, rw)], dtype=bool)
    t["Ref-Parts"] = [estimators.ref_parts(r, r["holdout_acc"], m, h, s, lambda c=c: c, lambda w=w: w,
                                           lambda p=p: p) if k else np.nan
                      for r, m, h, s, c, w, p, k in zip(records, move.to_numpy(), like, separation, split, rw, read,
                                                        known)]
    # Ref-Doubt (adopted by check 47): COTT where the tell opens and COTT's drop, not the hedged one, opens the gate
    t["Ref-Doubt"] = [estimators.ref_doubt({**r, "Ref-Parts": p}, r["holdout_acc"], m, h) if np.isfinite(p) else np.nan
                      for r, m, h, p in zip(records, move.to_numpy(), like, t["Ref-Parts"])]
    t["Ref-Stack"] = _kept_beside(t, stack, "Ref-Stack", "Ref-Stack").astype(float)
    # Ref-Stack-Gated (adopted by check 55): derived from Ref-Stack as saved, so NaN where it is
    t["Ref-Stack-Gated"] = [estimators.ref_stack_gated({"Ref-Doubt": d, "Ref-Stack": st}, m, h) if np.isfinite(st)
                            else np.nan for m, h, d, st in zip(move.to_numpy(), like, t["Ref-Doubt"], t["Ref-Stack"])]
    saved = t["COT-Gated"] if "COT-Gated" in t else pd.Series(np.nan, index=t.index)
    t["COT-Gated"] = saved.fillna(pd.Series([estimators.cot_gated(r) for r in records], index=t.index))
    return t


def _separation_known(records: list, like: np.ndarray, separation: np.ndarray, prior: list) -> list[bool]:
    """Per row: whether Ref-Sep's rule can be read with ``prior`` as Ref-Prior (Ref-Sep's own, or Ref-Hedge's hedged):
    a holdout-like share is known, and where the gate that ``prior``'s predicted drop opens, so is the separation."""
    return [np.isfinite(h) and (np.isfinite(s) or not estimators.looks_mixed(h, r["holdout_acc"] - p))
            for r, h, s, p in zip(records, like, separation, prior)]


def _kept_beside(t: pd.DataFrame, path: Path, column: str, saved: str) -> np.ndarray:
    """Per row of ``t``: its own ``saved`` column where a fresh --save-rows file has one, else ``column`` of ``path``
    (a file kept beside the rows, keyed by ``KEY``: ``SHARES``, ``SPLITS``); NaN where neither has it."""
    kept = read_saved(path, (*KEY, column)).set_index(KEY)[column].reindex(pd.MultiIndex.from_frame(t[KEY]))
    kept = pd.Series(kept.to_numpy(), index=t.index)
    return (t[saved].fillna(kept) if saved in t else kept).to_numpy()


def mae_points(rows: pd.DataFrame, names=SHOWN) -> dict[str, float]:
    """Mean absolute error (accuracy points) of each estimator in ``names`` over ``rows``."""
    return {n: float(100 * np.mean(np.abs(rows[n] - rows.true_acc))) for n in names}


def in_checks(rows: pd.DataFrame, checks) -> pd.DataFrame:
    return rows[rows.check.isin(list(checks))]


def table(rows: pd.DataFrame, by: str, names=SHOWN) -> pd.DataFrame:
    """MAE per estimator for each value of ``by`` and for all rows, with the count of model-sets."""
    parts = [(str(k), g) for k, g in rows.groupby(by, sort=False)] + [("all", rows)]
    return pd.DataFrame([{by: k, "model-sets": len(g), **mae_points(g, names)} for k, g in parts])


def quoted_range(row: dict, name: str, errors: dict) -> tuple[float, float] | None:
    """``estimators.prediction_range`` for ``name`` on one row: the range upload, the ledger and the report would
    quote, from the row's computed estimates (its other columns are not estimates)."""
    names = set(errors.get("estimators", {})) | set(estimators.ESTIMATORS)
    est = estimators.finite_estimates({k: v for k, v in row.items() if k in names})
    return estimators.prediction_range(errors, est, row["holdout_acc"], name)


def range_coverage(rows: pd.DataFrame, name: str, errors: dict) -> dict:
    """How often ``quoted_range`` for ``name`` held the true accuracy: shares covered, below and above, and the mean
    half-width in points."""
    spans = [quoted_range(r, name, errors) or (np.nan, np.nan) for r in rows.to_dict("records")]
    low, high = np.array(spans).T
    truth = rows.true_acc.to_numpy()
    return {"n": len(rows), "covered": float(np.mean((truth >= low) & (truth <= high))),
            "below": float(np.mean(truth < low)), "above": float(np.mean(truth > high)),
            "half_width_points": float(50 * np.nanmean(high - low))}


def checks_of(evidence) -> list[int]:
    """The check numbers a ``HeldOutEvidence`` or ``RangeEvidence`` names: "check 30", "checks 26 to 29",
    "checks 30 and 31"."""
    nums = [int(w) for w in evidence.checks.replace(",", " ").split() if w.isdigit()]
    return list(range(nums[0], nums[-1] + 1)) if " to " in evidence.checks else nums


def held_out_mismatches(rows: pd.DataFrame) -> list[str]:
    """Where ``estimators.HELD_OUT`` or ``RANGE_HELD_OUT`` says other than these rows (a count, or an MAE off by
    more than rounding)."""
    out = []
    for name, ev in estimators.HELD_OUT.items():
        sub = in_checks(rows, checks_of(ev))
        if len(sub) != ev.model_sets:
            out.append(f"{name}: {ev.checks} has {len(sub)} model-sets here, HELD_OUT says {ev.model_sets}")
            continue
        got = mae_points(sub, [name, *ev.against])
        for n, said in [(name, ev.mae_points), *ev.against.items()]:
            if abs(got[n] - said) > 0.005 + 1e-9:
                out.append(f"{name}: {n}'s MAE over {ev.checks} is {got[n]:.3f} here, HELD_OUT says {said:.2f}")
    rng = estimators.RANGE_HELD_OUT
    sub = in_checks(rows, checks_of(rng))
    sub = sub[sub[rng.estimator].notna()]  # Ref-Hedge: not where its split was never read (one model-set of check 40)
    cov = range_coverage(sub, rng.estimator, estimators.measured_error())
    got = (len(sub), round(cov["covered"] * len(sub)), round(cov["below"] * len(sub)))
    if got != (rng.model_sets, rng.covered, rng.below):
        out.append(f"RANGE_HELD_OUT: (model-sets, covered, below) over {rng.checks} are {got} here, it says "
                   f"{(rng.model_sets, rng.covered, rng.below)}")
    return out


def adaptation(rows: pd.DataFrame) -> dict:
    """What ``estimators.adaptation_pays`` did on rows of both statistics: per model-set the true change from the
    trained statistics to the balanced x3 adapted copy (what ``predict.adapt_bn`` ships) and the change
    ``estimators.predicted_adaptation_change`` predicted from the two rows; the rule's and always adapting's mean
    change (points) and how many lost more than a point (the rule's also among the model-sets whose class priors
    changed too), and the predicted change's mean absolute error."""
    key = ["check", "model", "round", "set"]
    trained = rows[rows.statistics == "trained"].set_index(key)
    adapted = rows[rows.statistics == "balanced3"].set_index(key).reindex(trained.index)
    name = estimators.ADAPT_PREDICTOR
    if adapted.true_acc.isna().any() or adapted[name].isna().any() or trained[name].isna().any():
        raise RowsError(f"a trained row without its balanced3 row, or without {name}")
    change = 100 * (adapted.true_acc - trained.true_acc)
    predicted = estimators.predicted_adaptation_change(trained, adapted)  # a fraction, column by column
    rule = change.where(estimators.adaptation_pays(predicted), 0.0)
    priors = trained.kind == "both"
    return {"n": len(change), "rule_points": float(rule.mean()), "always_points": float(change.mean()),
            "rule_losses": int((rule < -1).sum()), "always_losses": int((change < -1).sum()),
            "priors_sets": int(priors.sum()), "rule_losses_priors": int(((rule < -1) & priors).sum()),
            "predicted_mae_points": float((100 * predicted - change).abs().mean())}


def adapt_mismatches(rows: pd.DataFrame) -> list[str]:
    """Where ``estimators.ADAPT_HELD_OUT`` says other than ``adaptation`` on its checks' rows (both statistics)."""
    ev = estimators.ADAPT_HELD_OUT
    got = adaptation(in_checks(rows, checks_of(ev)))
    said = (ev.model_sets, ev.rule_points, ev.always_points, ev.rule_losses, ev.always_losses, ev.priors_sets,
            ev.rule_losses_priors)
    here = (got["n"], round(got["rule_points"], 2), round(got["always_points"], 2), got["rule_losses"],
            got["always_losses"], got["priors_sets"], got["rule_losses_priors"])
    return [] if here == said else [f"ADAPT_HELD_OUT: over {ev.checks} the rows give {here}, it says {said}"]


def markdown(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|---|" + "---:|" * (len(cols) - 1)]
    for r in df.itertuples(index=False):
        lines.append("| " + " | ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in r) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=Path, default=ROWS, help="the held-out rows (default: heldout_rows.csv)")
    ap.add_argument("--add", type=Path, nargs="+", help="a fresh check's --save-rows CSVs, read beside them "
                                                         "(needs --check)")
    ap.add_argument("--check", type=int, help="the check that measured --add's rows")
    ap.add_argument("--checks", type=int, nargs="+", help="only these checks' rows (default: all)")
    ap.add_argument("--by", default="check", choices=["check", "round", "model", "kind"])
    ap.add_argument("--estimators", nargs="+", default=list(SHOWN), help="columns to score (default: %(default)s)")
    args = ap.parse_args(argv)
    if (args.add is None) != (args.check is None):
        ap.error("--add and --check go together")
    rows = read_rows(args.rows)
    if args.add is not None:
        rows = pd.concat([rows, *(read_rows(p, args.check) for p in args.add)], ignore_index=True)
    both, rows = rows, trained_rows(rows)
    unknown = [n for n in args.estimators if n not in rows]
    if unknown:
        raise RowsError(f"no estimator column {', '.join(unknown)}")
    if args.checks:
        rows, both = in_checks(rows, args.checks), in_checks(both, args.checks)
    print(markdown(table(rows, args.by, args.estimators)))
    rec = estimators.recommended_estimator(available=[c for c in rows.columns if rows[c].notna().any()])
    cov = range_coverage(rows[rows[rec].notna()], rec, estimators.measured_error())  # Ref-Mix: where shares are known
    print(f"\nThe range quoted with {rec} (estimators.prediction_range) held the true accuracy on "
          f"{cov['covered']:.1%} of {cov['n']} model-sets ({cov['below']:.1%} below it, {cov['above']:.1%} above; "
          f"mean half-width {cov['half_width_points']:.2f} points).")
    ad = adaptation(both)
    print(f"Re-estimating BatchNorm only where {estimators.ADAPT_PREDICTOR} predicted no loss over "
          f"{estimators.ADAPT_MARGIN * 100:.0f} point (estimators.adaptation_pays): {ad['rule_points']:+.2f} points "
          f"on average, {ad['rule_losses']} of {ad['n']} lost more than a point ({ad['rule_losses_priors']} of the "
          f"{ad['priors_sets']} whose priors changed too); on all: {ad['always_points']:+.2f}, "
          f"{ad['always_losses']}; the predicted change's MAE {ad['predicted_mae_points']:.2f} points.")
    if not args.checks:
        wrong = held_out_mismatches(rows) + adapt_mismatches(both)
        print("estimators.HELD_OUT, RANGE_HELD_OUT and ADAPT_HELD_OUT: " + ("; ".join(wrong) if wrong else
                                                                              "every record matches these rows."))
    return 0


if __name__ == "__main__":
    entry.run(main)
