"""Prediction-time BatchNorm (``predict.adapt_bn``): accuracy with the trained statistics against statistics
re-estimated on each shifted set, and the gap estimators' error on the adapted model's logits.

Why: adapting BatchNorm changes the model that is submitted, so two questions decide whether a user should turn it
on: does it gain accuracy on shifts like the competition's (the stand-in is the nearest there is), and can the
report still predict the adapted model's leaderboard accuracy? Each model's logits on every set of
``bench_gap.py`` (and the stand-in) are computed both ways in one run, with ``kaggle_kit.bn_adapt`` on batches of
1,000 images; every estimator is then scored against the accuracy of the logits it was given, the tested family
left out of CC-Synth's and NucNorm's pool as in ``bench_gap.py``. The holdout logits, which calibrate every
estimator, keep the trained statistics, as ``predict`` keeps them.

    .venv/bin/python benchmarks/bench_bn_adapt.py --models weak_cnn resnet9q_e4 resnet9q resnet9q_ls \
        --forms balanced3 --write
    .venv/bin/python benchmarks/bench_bn_adapt.py --models weak_cnn weak_cnn@1 resnet9q_e4 resnet9q_e4@1 --sets 16
    .venv/bin/python benchmarks/bench_bn_adapt.py --from-rows a.csv b.csv \
        --models weak_cnn resnet9q_e4 resnet9q resnet9q_ls --forms balanced3 --write
    .venv/bin/python benchmarks/bench_bn_adapt.py --models weak_cnn resnet9q_e4 --sets 15 --forms balanced3

With the shipped form among ``--forms``, the trained rows also get "Ref-EM" (``estimators.reference_estimate``: the
adapted copy as a reference for the trained model's accuracy), "Ref-Avg", "COT-Gated" (``estimators.cot_gated``) and
"Ref-Avg-Shrunk" (``estimators.shrunk``), printed against Median-5-Spread (checks 21 and 26 on); ``--write`` then also
gives them their entries in ``measured_error.json``, which the report quotes beside the held-out records of
``estimators.HELD_OUT`` (kept there, so that a new check changes one line and measures nothing again). Those rows
also keep the split's COTT wherever a gate read it ("split_cott": ``heldout_table.py`` derives Ref-Split, Ref-Sep and
Ref-Hedge from it once the rows are appended). ``--from-rows`` tables, and with ``--write`` summarises, rows that
runs saved with ``--save-rows`` (``saved_rows``), so that the 90 minutes the benchmark's four models take on one core
(session 63) can be split over processes (a.csv and b.csv above, two models each) and summarised as one run.
They keep Ref-Parts' readings too, where it read them ("reweighted_like" and "parts_atc_em": ``heldout_table.py``
keeps them in ``heldout_parts.csv``).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_gap  # noqa: E402
import bench_models  # noqa: E402
import entry  # noqa: E402
import heldout_table  # noqa: E402
from heldout_families import CHECK_FAMILIES, novel_sets  # noqa: E402

from kaggle_kit.bn_adapt import adapted_copy, balanced_adapted_copy, equal_batches  # noqa: E402
from kaggle_kit.data import load_cifar10, shared_data_dir  # noqa: E402
from kaggle_kit.fsio import atomic_write_text  # noqa: E402
from kaggle_kit.gap import estimators  # noqa: E402
from kaggle_kit.gap.label_shift import class_priors  # noqa: E402
from kaggle_kit.text import and_list  # noqa: E402

ESTIMATORS = ("Median-5-Spread", "Median-5", "Median-4-Spread", "CC-Synth", "Shift-Gated", "ATC-NE-EM", "COTT",
              "NucNorm", "ATC-NE")
DEFAULT_MODELS = ("weak_cnn", "resnet9q_e4")
BATCH = 1000  # images per adaptation batch, as predict.batch_size's default
# the trained statistics; re-estimated; re-estimated class-balanced once (check 18); three times (check 19)
STATISTICS = ("trained", "adapted", "balanced", "balanced3")
SHIPPED = "balanced3"  # the form predict.adapt_bn uses (check 20), which --write summarises
# estimates of the trained model's accuracy read beside SHIPPED's logits (check 21), against the recommended one
REFERENCE = (estimators.REFERENCE_PARTNER, *estimators.REFERENCE_ESTIMATORS)
MEASURED = Path(__file__).resolve().parents[1] / "kaggle_kit" / "gap" / "measured_bn_adapt.json"


def batches_of(images: np.ndarray):
    """The images as model inputs in ``equal_batches`` of ``BATCH``."""
    return (bench_models.to_tensor(images[idx]) for idx in equal_batches(len(images), BATCH))


def adapted_logits_of(model: torch.nn.Module, images: np.ndarray) -> np.ndarray:
    """The images' logits from a copy of ``model`` whose BatchNorm statistics were re-estimated on them, every image
    counting the same (session 39's form)."""
    return bench_models.logits_of(adapted_copy(model, batches_of(images)), images)


def balanced_logits_of(priors: np.ndarray, rounds: int):
    """``adapted_logits_of`` with class-balanced statistics (``bn_adapt.balanced_adapted_copy``) towards ``priors``,
    re-balanced ``rounds`` times."""
    def logits_of(model: torch.nn.Module, images: np.ndarray) -> np.ndarray:
        copy = balanced_adapted_copy(model, images, priors, batches_of, bench_models.logits_of, rounds=rounds)
        return bench_models.logits_of(copy, images)
    return logits_of


def variant_logits(model_name: str, model: torch.nn.Module, set_name: str, build, priors: np.ndarray,
                   forms: tuple[str, ...] = STATISTICS) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each of ``forms``' logits and labels on the set (``STATISTICS`` order), cached beside one another."""
    makers = {"trained": ("", None), "adapted": ("+adapt_bn", adapted_logits_of),
              "balanced": ("+adapt_bn_balanced", balanced_logits_of(priors, 1)),
              "balanced3": ("+adapt_bn_balanced3", balanced_logits_of(priors, 3))}
    return {form: bench_gap.cached_logits(model_name, model, set_name + suffix, build,
                                          **({"logits_of": logits_of} if logits_of else {}))
            for form, (suffix, logits_of) in makers.items() if form in forms}


# the generator's sets with changed class priors under other seeds, named NAME@sSEED so their caches never meet seed
# 0's: group -> (seeds, kinds). A set's priors are seeded seed + 1000 + its key (1-6), so check 19's seeds 1 and 2
# repeat two of seed 0's and each other's; check 20's seeds start at 10, apart from every earlier one.
FRESH_GROUPS = {"fresh": ((1, 2), ("label", "both")), "fresh20": ((10, 20, 30), ("label",))}
KINDS = ("clean", "covariate", "label", "both", "standin")  # of the sets every group's builders yield


def fresh_prior_sets(images: np.ndarray, labels: np.ndarray, group: str = "fresh") -> list:
    """(name, kind, build) of ``bench_gap.shifted_sets``' sets of ``FRESH_GROUPS[group]``'s kinds and seeds."""
    seeds, kinds = FRESH_GROUPS[group]
    return [(f"{name}@s{seed}", kind, build) for seed in seeds
            for name, kind, build in bench_gap.shifted_sets(images, labels, seed=seed) if kind in kinds]


def of_kinds(sets: list, kinds: tuple[str, ...] | None) -> list:
    """The (name, kind, build) of ``sets`` whose kind is among ``kinds``; all of them when ``kinds`` is None."""
    return list(sets) if kinds is None else [s for s in sets if s[1] in kinds]


def cifar10():
    """The shared CIFAR-10 batches, which every group's sets and the holdout are drawn from."""
    return load_cifar10(shared_data_dir() / "cifar-10-python" / "cifar-10-batches-py")


def group_sets(data, group: str) -> tuple[list, Callable]:
    """(``group``'s (name, kind, build) sets, the families each set's name leaves out of the synthetic pools)."""
    if group == "bench":
        sets = [*bench_gap.shifted_sets(data.test_images, data.test_labels),
                ("standin", "standin", bench_gap.load_standin)]
        return sets, bench_gap.unseen_families
    if group in FRESH_GROUPS:
        return fresh_prior_sets(data.test_images, data.test_labels, group), bench_gap.unseen_families
    return [s for s in novel_sets(data.test_images, data.test_labels, int(group)) if s[1] != "clean"], lambda name: ()


def saved_rows(paths: list[str], group: str, models: list[str] | None = None,
               forms: tuple[str, ...] = STATISTICS, kinds: tuple[str, ...] | None = None,
               every_set: list[str] | None = None) -> pd.DataFrame:
    """Rows that runs saved (``--save-rows``), as ``evaluate`` would return them: the time a benchmark takes split
    over processes (a model or two each), then tabled and summarised once. ``models`` picks and orders them (all the
    files', in the order met, when None); each must have the same sets, and with ``every_set`` all of those, each in
    every form kept; else a ``RowsError`` naming what is wrong."""
    df = pd.concat([heldout_table.read_saved(Path(p), ("model", "sets", "set", "kind", "statistics", "true_acc"))
                    for p in paths], ignore_index=True)
    if other := sorted(set(df["sets"].astype(str)) - {str(group)}):
        raise heldout_table.RowsError(f"rows of --sets {', '.join(other)}, not of {group}")
    found = list(dict.fromkeys(df["model"]))
    models = found if models is None else models
    if missing := [m for m in models if m not in found]:
        raise heldout_table.RowsError(f"no rows of {and_list(missing)}")
    df = df[df["model"].isin(models) & df["statistics"].isin(forms)
            & (df["kind"].isin(kinds) if kinds else True)]
    if df.empty:
        raise heldout_table.RowsError(f"no rows of the forms {', '.join(forms)}"
                                      + (f" and kinds {', '.join(kinds)}" if kinds else ""))
    if df.duplicated(["model", "set", "statistics"]).any():
        raise heldout_table.RowsError("a model-set's rows appear twice")
    kept = sorted(set(df["statistics"]), key=STATISTICS.index)
    want = set(every_set) if every_set is not None else set(df["set"])
    for m in models:
        own = df[df["model"] == m]
        if lacking := sorted(want - set(own["set"])):
            raise heldout_table.RowsError(f"the rows of {m} lack the sets {', '.join(lacking)}")
        if (own.groupby("set")["statistics"].nunique() < len(kept)).any():
            raise heldout_table.RowsError(f"the rows of {m} lack a form ({', '.join(kept)}) on some set")
    order = {m: i for i, m in enumerate(models)}
    return df.sort_values("model", key=lambda col: col.map(order), kind="stable").reset_index(drop=True)


def evaluate(models: list[str], group: str = "bench", forms: tuple[str, ...] = STATISTICS,
             kinds: tuple[str, ...] | None = None) -> pd.DataFrame:
    """One row per (model, set, statistics in ``forms``): true accuracy and every estimate; the trained rows also
    ``REFERENCE``'s reference estimates when ``SHIPPED``'s logits are among the forms. ``group``: ``bench``, this
    script's sets with the tested family left out of the pools; ``fresh`` / ``fresh20``, ``fresh_prior_sets``
    likewise; a check number of ``heldout_families.CHECK_FAMILIES``, that check's held-out families (its clean
    header set dropped), every pool family kept, as deployed. ``kinds``: only the group's sets of these kinds
    (``of_kinds``), to read a few without the hour the others take."""
    data = cifar10()
    tr, ho = bench_gap.benchmark_split(data.train_labels)
    hold_x, hold_y = data.train_images[ho], data.train_labels[ho]
    sets, unseen = group_sets(data, group)
    sets = of_kinds(sets, kinds)
    stats = {name: bench_gap.cached_stats(name, build) for name, _, build in sets}
    rows = []
    for m in models:
        model = bench_models.load_or_train(m, data.train_images[tr], data.train_labels[tr])
        holdout = bench_gap.cached_logits(m, model, "holdout", lambda: (hold_x, hold_y))[0]
        synth = bench_gap.cached_synthetic(m, model, hold_x, hold_y)
        priors = class_priors(data.train_labels[tr], len(data.class_names))  # as predict (0.1 each here)
        for name, kind, build in sets:
            logits = variant_logits(m, model, name, build, priors, forms)
            for statistics, (lg, y) in logits.items():
                reference = logits[SHIPPED][0] if statistics == "trained" and SHIPPED in logits else None
                res = estimators.estimate_all(holdout, hold_y, lg, synthetic=synth, target_stats=stats[name],
                                              exclude=unseen(name), reference_logits=reference)
                rows.append({"model": m, "sets": group, "set": name, "kind": kind, "statistics": statistics,
                             "holdout_acc": res["holdout_acc"], "true_acc": float((lg.argmax(1) == y).mean()),
                             "holdout_like": res["holdout_like_share"],
                             "separation": res["holdout_like_separation"],
                             "split_cott": res["holdout_like_split_cott"],
                             "reweighted_like": res["holdout_like_reweighted"],
                             "parts_atc_em": res["parts_atc_em"], **res["estimates"]})
    return pd.DataFrame(rows)


def _variants(df: pd.DataFrame) -> list[str]:
    """The re-estimated forms in ``df``, in ``STATISTICS`` order."""
    return [v for v in STATISTICS[1:] if v in set(df["statistics"])]


def accuracy_table(df: pd.DataFrame) -> str:
    """Per set: each model's accuracy with the trained statistics -> each re-estimated form, and each form's mean
    change in points; then the mean change by kind of set."""
    acc = df.pivot_table(index=["set", "kind"], columns=["model", "statistics"], values="true_acc", sort=False)
    models, variants = list(dict.fromkeys(df["model"])), _variants(df)
    arrow = " -> ".join(["trained", *variants])
    lines = ["| set | " + " | ".join(f"{m} {arrow}" for m in models) + " | "
             + " | ".join(f"{v} change (pts)" for v in variants) + " |",
             "|---" * (len(models) + len(variants) + 1) + "|"]
    change = {v: (acc.xs(v, axis=1, level=1) - acc.xs("trained", axis=1, level=1))[models].mean(axis=1) * 100
              for v in variants}
    for key, r in acc.iterrows():
        cells = [" -> ".join(f"{100 * r[m, s]:.1f}" for s in ["trained", *variants]) for m in models]
        lines.append(f"| {key[0]} | " + " | ".join(cells) + " | "
                     + " | ".join(f"{change[v][key]:+.1f}" for v in variants) + " |")
    lines.append("")
    for v in variants:
        kinds = change[v].groupby(level="kind").mean()
        lines.append(f"Mean change by kind of set, {v} (points): "
                     + ", ".join(f"{k} {x:+.1f}" for k, x in kinds.items()))
    return "\n".join(lines)


def error_table(df: pd.DataFrame) -> str:
    """Each estimator's MAE in points against the accuracy of the logits it read, each form of statistics side by
    side."""
    models, forms = list(dict.fromkeys(df["model"])), ["trained", *_variants(df)]
    lines = ["| estimator | " + " | ".join(f"{m} {' / '.join(forms)}" for m in [*models, "all"]) + " |",
             "|---" * (len(models) + 2) + "|"]
    for est in ESTIMATORS:
        cells = []
        for m in [*models, "all"]:
            sub = df if m == "all" else df[df["model"] == m]
            cells.append(" / ".join(f"{_mae(sub[sub['statistics'] == f], est):.2f}" for f in forms))
        lines.append(f"| {est} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def reference_table(df: pd.DataFrame) -> str:
    """``REFERENCE``'s MAE in points against the trained accuracy, per model and kind of set ("" without them)."""
    rows = df[df["statistics"] == "trained"]
    if "Ref-EM" not in rows or rows["Ref-EM"].isna().all():
        return ""
    groups = [(f"model {m}", rows[rows["model"] == m]) for m in dict.fromkeys(rows["model"])]
    groups += [(f"kind {k}", rows[rows["kind"] == k]) for k in dict.fromkeys(rows["kind"])]
    lines = ["| trained accuracy, rows | " + " | ".join(REFERENCE) + " |", "|---" * (len(REFERENCE) + 1) + "|"]
    for label, sub in [*groups, ("all", rows)]:
        lines.append(f"| {label}, {len(sub)} | " + " | ".join(f"{_mae(sub, e):.2f}" for e in REFERENCE) + " |")
    return "\n".join(lines)


def _mae(rows: pd.DataFrame, est: str) -> float:
    return float((rows[est] - rows["true_acc"]).abs().mean() * 100)


def summary(df: pd.DataFrame, command: str, shipped: str = SHIPPED) -> dict:
    """What the report's advice cites (``kaggle_kit/gap/measured_bn_adapt.json``) for the form ``predict.adapt_bn``
    uses (``shipped``): the mean accuracy change in points by kind of set, and each estimator's MAE in points on the
    trained logits and on that form's ("adapted")."""
    acc = df.pivot_table(index=["model", "set", "kind"], columns="statistics", values="true_acc")
    change = ((acc[shipped] - acc["trained"]) * 100).groupby(level="kind")
    mae = {key: {est: round(_mae(df[df["statistics"] == form], est), 2) for est in ESTIMATORS}
           for key, form in (("trained", "trained"), ("adapted", shipped))}
    return {"command": command, "statistics": shipped, "models": list(dict.fromkeys(df["model"])),
            "sets": int(df["set"].nunique()),
            "change_points": {k: round(float(v), 2) for k, v in change.mean().items()},
            "change_points_min": {k: round(float(v), 2) for k, v in change.min().items()},
            "change_points_max": {k: round(float(v), 2) for k, v in change.max().items()},
            "mae_points": mae}


def add_reference_to_measured_error(df: pd.DataFrame, command: str,
                                    path: Path = bench_gap.MEASURED_ERROR_JSON) -> list[str]:
    """Give ``REFERENCE_ESTIMATORS`` their ``measured_error.json`` entries from the trained rows
    (``bench_gap.error_summary``, binned by predicted drop), each with a note of what they were measured on (and
    which of the file's models they were not); every other entry stays. Returns the names written."""
    rows = df[df["statistics"] == "trained"]
    payload = json.loads(path.read_text())
    models = list(dict.fromkeys(rows["model"]))
    missing = [m for m in payload.get("models", {}) if m not in models]
    generated = rows[rows["kind"] != "standin"]
    summaries = {name: bench_gap.error_summary(rows, name) for name in estimators.REFERENCE_ESTIMATORS}
    partner = bench_gap.error_summary(rows, estimators.REFERENCE_PARTNER)
    # its gain is where the class mix changed too (checks 23-25): the image-shift column says where it is not
    def image_shifts(name: str) -> str:
        return (f"on their image shifts alone {100 * partner['mae_covariate']:.2f} against {name}'s "
                f"{100 * summaries[name]['mae_covariate']:.2f}")

    held = estimators.HELD_OUT["Ref-Avg"]
    notes = {"Ref-EM": (f"measured beside {and_list(estimators.REFERENCE_ESTIMATORS[1:])}, on the same model-sets "
                        f"(the next lines)"),
             "Ref-Avg": (f"measured by `{command}` on {and_list(models)} ({len(generated)} generated model-sets"
                         f"{'; not on ' + and_list(missing) if missing else ''}; {estimators.REFERENCE_PARTNER} "
                         f"{100 * partner['mae_all_generated']:.2f} points MAE on the same, {image_shifts('Ref-Avg')})"
                         f", with the BatchNorm copy `predict` writes as the reference"),
             "COT-Gated": (f"measured on the same model-sets as Ref-Avg (the line above); "
                           f"{estimators.REFERENCE_PARTNER} {image_shifts('COT-Gated')}; recommended after check 26 "
                           f"and behind Ref-Avg on {held.checks} (the line above)"),
             "Ref-Avg-Shrunk": (f"Ref-Avg lowered by {estimators.REFERENCE_SHRINK:g} of the drop it predicts, the "
                                f"share fitted on these model-sets (the Ref-Avg line); "
                                f"{estimators.REFERENCE_PARTNER} {image_shifts('Ref-Avg-Shrunk')}"),
             "Ref-Prior": (f"Ref-EM where COT on the reference moves by more than "
                           f"{100 * estimators.PRIOR_TELL:.0f} points with EM's priors, else Ref-Avg-Shrunk, on the "
                           f"same model-sets; {estimators.REFERENCE_PARTNER} {image_shifts('Ref-Prior')}; it quotes "
                           f"Ref-Avg-Shrunk's range"),
             "Ref-Mix": (f"COTT where at least {estimators.MIX_SHARE:g} of the images look like the holdout and "
                         f"Ref-Prior predicts a drop of {100 * estimators.MIX_DROP:g} points or more, else Ref-Prior, "
                         f"on the same model-sets; {estimators.REFERENCE_PARTNER} {image_shifts('Ref-Mix')}; "
                         f"it quotes Ref-Avg-Shrunk's range"),
             "Ref-Split": (f"Ref-Mix with COTT read apart on the holdout-like images and the rest where Ref-Mix quotes "
                           f"COTT, on the same model-sets; {estimators.REFERENCE_PARTNER} {image_shifts('Ref-Split')}; "
                           f"it quotes Ref-Avg-Shrunk's range"),
             "Ref-Blend": (f"Ref-Mix with the mean of COTT and Ref-Split's reading where Ref-Mix quotes COTT, on the "
                           f"same model-sets; {estimators.REFERENCE_PARTNER} {image_shifts('Ref-Blend')}; "
                           f"a candidate, not recommended"),
             "Ref-Sep": (f"Ref-Split where the split's two parts score at least {estimators.SPLIT_SEPARATION:g} "
                         f"holdout score deviations apart, else Ref-Mix, on the same model-sets; "
                         f"{estimators.REFERENCE_PARTNER} {image_shifts('Ref-Sep')}; it quotes Ref-Avg-Shrunk's "
                         f"range"),
             "Ref-Hedge": (f"Ref-Sep with {estimators.PRIOR_HEDGE:g} of Ref-EM and the rest of Ref-Avg-Shrunk where "
                           f"Ref-Prior quotes Ref-EM, on the same model-sets; {estimators.REFERENCE_PARTNER} "
                           f"{image_shifts('Ref-Hedge')}; it quotes Ref-Avg-Shrunk's range"),
             "Ref-Parts": (f"Ref-Hedge, but where Ref-Prior's tell opens, its gate stays shut and the share read "
                           f"with the holdout re-weighted to EM's priors opens it, ATC-NE-EM read apart on the two "
                           f"parts, on the same model-sets; {estimators.REFERENCE_PARTNER} "
                           f"{image_shifts('Ref-Parts')}; it quotes Ref-Avg-Shrunk's range"),
             "Ref-Doubt": (f"Ref-Parts, but COTT where Ref-Prior's tell opens, the hedged Ref-Prior's drop leaves "
                           f"Ref-Hedge's gate shut and COTT's opens it, on the same model-sets; "
                           f"{estimators.REFERENCE_PARTNER} {image_shifts('Ref-Doubt')}; it quotes Ref-Avg-Shrunk's "
                           f"range")}
    for name, note in notes.items():
        payload["estimators"][name] = summaries[name]
        payload.setdefault("derived", {})[name] = note
    atomic_write_text(path, json.dumps(payload, indent=2) + "\n")
    return list(notes)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", type=bench_gap._model_name,
                    help=f"default: {' '.join(DEFAULT_MODELS)}; with --from-rows, every model of the rows")
    ap.add_argument("--save-rows", help="write every row (estimates and true accuracy) to this CSV")
    ap.add_argument("--sets", default="bench", choices=["bench", *FRESH_GROUPS, *map(str, sorted(CHECK_FAMILIES))],
                    help="bench: the generated sets and the stand-in; fresh / fresh20: checks 19 / 20's sets with "
                         "changed priors (other seeds); a check number: its held-out families")
    ap.add_argument("--forms", nargs="+", default=list(STATISTICS[1:]), choices=STATISTICS[1:],
                    help="the re-estimated forms to compute beside the trained statistics (default: all)")
    ap.add_argument("--write", action="store_true", help=f"write the summary the report cites to {MEASURED.name} "
                                                         f"(--sets bench only)")
    ap.add_argument("--kinds", nargs="+", choices=KINDS,
                    help="only the sets of these kinds (label: the class mix alone changed; both: with a corruption)")
    ap.add_argument("--from-rows", nargs="+", metavar="CSV",
                    help="table (and --write) the rows earlier runs saved with --save-rows instead of computing them, "
                         "e.g. two processes' halves of the run; --models, --forms and --kinds pick among them")
    args = ap.parse_args(argv)
    if args.write and args.sets != "bench":
        ap.error("--write summarises the benchmark's sets: use it with --sets bench")
    if args.write and SHIPPED not in args.forms:
        ap.error(f"--write summarises {SHIPPED}: keep it among --forms")
    if args.write and args.kinds:
        ap.error("--write summarises every set of the benchmark: leave out --kinds")
    print(f"Environment: {bench_gap.environment()}\n")
    t0 = time.time()
    forms, kinds = ("trained", *args.forms), tuple(args.kinds) if args.kinds else None
    if args.from_rows:
        every = [name for name, _, _ in group_sets(cifar10(), args.sets)[0]] if args.write else None
        df = saved_rows(args.from_rows, args.sets, args.models, forms, kinds, every)
    else:
        df = evaluate(args.models or DEFAULT_MODELS, args.sets, forms, kinds)
    if args.save_rows:
        df.to_csv(args.save_rows, index=False)
    print(accuracy_table(df))
    print()
    print(error_table(df))
    if reference := reference_table(df):
        print("\n" + reference)
    print(f"\n{time.time() - t0:.0f} s")
    if args.write:
        command = "benchmarks/bench_bn_adapt.py --models " + " ".join(dict.fromkeys(df["model"]))
        atomic_write_text(MEASURED, json.dumps(summary(df, command), indent=1) + "\n")
        written = add_reference_to_measured_error(df, command)
        print(f"wrote {MEASURED} and {', '.join(written)} in {bench_gap.MEASURED_ERROR_JSON.name}")
    return 0


if __name__ == "__main__":
    entry.run(main)
