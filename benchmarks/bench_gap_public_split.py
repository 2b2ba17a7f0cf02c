"""Does the ledger correction survive Kaggle's public/private split?

``bench_gap_ledger.py`` measures the correction with each earlier model's miss taken on its *whole* shifted set.
On Kaggle the miss the ledger learns is taken on the public split only, the next submission is judged first on
that same public split, and finally on the private rest. Both accuracies then carry sampling noise; the two
submissions' public-split noise is correlated (the same hard images), their private-split noise is not
cancelled by it. This script replays the correction with those splits drawn at random, from the per-image
correctness in the cached logits, on the rows that have them: the held-out families of checks 4-14
(36 sets; each later check's models once it is recorded). It trains and predicts nothing. ``--check
9|10|11|12|13|14 --confirm`` applies that pre-registered check to its new rows.

    .venv/bin/python benchmarks/bench_gap_public_split.py   # prints, writes RESULTS_gap_public_split.md and the
                                                            # "public_split" entry of measured_error_ledger.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_gap  # noqa: E402
import bench_gap_ledger  # noqa: E402
import bench_gap_novel  # noqa: E402
import bench_models  # noqa: E402
import entry  # noqa: E402
from bench_models import read_cached  # noqa: E402

from kaggle_kit.gap import leaderboard_feedback  # noqa: E402
from kaggle_kit.gap.leaderboard_feedback import PUBLIC_SPLIT  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT_MD = HERE / "RESULTS_gap_public_split.md"
# checks 6, 7 and 8's rows, saved by the commands PREREGISTERED.md records (bench_gap_novel.py --save-rows)
CHECK_ROWS = tuple(bench_gap.CACHE / f"check{c}_c{f}.csv" for c in (6, 7, 8) for f in (4, 5))
# replayed too once the check is recorded
LATER_CHECK_ROWS = {c: tuple(bench_gap.CACHE / f"check{c}_c{f}.csv" for f in (5, 4)) for c in (9, 10, 11, 12, 13, 14)}
FRACTIONS = (0.5, 0.3)  # the fake Kaggle's default public share, and a smaller public leaderboard
TARGETS = ("full", "public", "private")  # what the corrected estimate is compared with (see ``errors``)
SCENARIOS = ("plain", "one_different_recipe", "one_same_recipe", "one_smoothing_variant", "mean_of_others",
             "ledger_choice")


def split_accuracies(correct: np.ndarray, fraction: float, draws: int,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(public, private) accuracies, each (models, draws): one random split per draw, shared by every model,
    as a competition's split is shared by every submission."""
    n = correct.shape[1]
    k = int(round(fraction * n))
    public = np.argsort(rng.random((draws, n)), axis=1)[:, :k]
    mask = np.zeros((draws, n), bool)
    np.put_along_axis(mask, public, True, axis=1)
    c = correct.astype(np.float64)
    return c @ mask.T / k, c @ (~mask).T / (n - k)


def errors(estimate: np.ndarray, full: np.ndarray, public: np.ndarray, private: np.ndarray,
           recipes: list[str], band: float = 0.0, same_band: float | None = None,
           variants: list[frozenset[int]] | None = None,
           variant_band: float | None = None) -> dict[str, dict[str, list]]:
    """Absolute errors of one set's models per scenario and target, each a model-set's (or pair's) mean over the
    draws. "full": misses and truth on the whole set (``bench_gap_ledger.py``'s number); "public": misses learnt
    on the public split, judged by the public score; "private": the same misses, judged by the private score.
    ``variants[b]``: the indices of model b's label-smoothing variants; a pair of them is its own scenario, not
    "another recipe". "ledger_choice" is what ``leaderboard_feedback.ledger_offset`` does with every other model in
    the ledger: the mean miss of the same recipe's rows, failing those of the variants', failing those of all.
    "in_<target>": the share within the range the report prints for that correction (``band``; ``same_band`` for
    a same-recipe one once check 9 held, ``variant_band`` for one by variants once check 13 held); "b": the
    corrected model's index; "scope": whose misses corrected it (the scenario whose range it got);
    "draws_<target>": the absolute errors of every draw (for percentiles)."""
    keys = (*TARGETS, *(f"in_{t}" for t in TARGETS), *(f"draws_{t}" for t in TARGETS), "b", "scope")
    out = {s: {k: [] for k in keys} for s in SCENARIOS}
    est = estimate[:, None]
    m = len(estimate)
    variants = variants or [frozenset()] * m
    width = {"one_same_recipe": band if same_band is None else same_band,
             "one_smoothing_variant": band if variant_band is None else variant_band}

    def add(scenario: str, b: int, earlier: list[int], scope: str | None = None) -> None:
        scope = scope or scenario
        off_full = float(np.mean(estimate[earlier] - full[earlier])) if earlier else 0.0
        off_public = np.mean(est[earlier] - public[earlier], axis=0) if earlier else np.zeros(public.shape[1])
        errs = {"full": np.abs(np.clip(estimate[b] - off_full, 0, 1) - full[b])[None]}
        corrected = np.clip(estimate[b] - off_public, 0, 1)
        errs["public"], errs["private"] = np.abs(corrected - public[b]), np.abs(corrected - private[b])
        for t, e in errs.items():
            out[scenario][t].append(float(np.mean(e)))
            out[scenario][f"in_{t}"].append(float(np.mean(e <= width.get(scope, band))))
            out[scenario][f"draws_{t}"].append(e)
        out[scenario]["b"].append(b)
        out[scenario]["scope"].append(scope)

    for b in range(m):
        add("plain", b, [])
        others = [a for a in range(m) if a != b]
        same = [a for a in others if recipes[a] == recipes[b]]
        for a in others:
            add("one_same_recipe" if a in same else "one_smoothing_variant" if a in variants[b]
                else "one_different_recipe", b, [a])
        if others:
            add("mean_of_others", b, others)
            chosen = ("one_same_recipe", same) if same else ("one_smoothing_variant", sorted(variants[b])) \
                if variants[b] else ("mean_of_others", others)
            add("ledger_choice", b, chosen[1], chosen[0])
    return out


def pooled_p90(draws: dict[str, list[np.ndarray]]) -> dict[str, float]:
    """Per target, the 90th percentile of |error| over every pair and draw: the half-width a range needs to hold
    nine times in ten against that score."""
    return {t: float(np.percentile(np.concatenate(v), 90)) for t, v in draws.items() if v}


def public_noise(public: np.ndarray, private: np.ndarray) -> list[float]:
    """Per model, the mean |public - private|: how far the public score itself is from the private one."""
    return list(np.mean(np.abs(public - private), axis=1))


def load_rows(paths: tuple[Path, ...]) -> pd.DataFrame:
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise SystemExit(f"error: saved rows missing: {', '.join(missing)} (run bench_gap_novel.py --check 4|5 "
                         f"--save-rows, and checks 6, 7 and 8 as PREREGISTERED.md records)")
    df = bench_gap.saved_rows(paths)
    return df[df["set"] != "clean"]


def correctness(model: str, set_name: str, true_acc: float) -> np.ndarray:
    """Per-image correctness from the cached logits, checked against the row's recorded accuracy."""
    path = bench_gap.CACHE / f"logits_{model}_{set_name}.npz"
    if not path.is_file():
        raise SystemExit(f"error: cached logits missing: {path}")
    logits, labels = read_cached(path, bench_gap.load_logits)
    correct = logits.argmax(1) == labels
    if abs(correct.mean() - true_acc) > 1e-6:
        raise SystemExit(f"error: {path.name}: accuracy {correct.mean():.6f} is not the row's {true_acc:.6f}")
    return correct


def measure(df: pd.DataFrame, names: tuple[str, ...], fraction: float, draws: int, seed: int,
            fresh: frozenset[str] = frozenset(), fresh_same: dict[str, frozenset[str]] | None = None,
            fresh_variant: dict[str, frozenset[str]] | None = None) -> dict:
    """{estimator: {scenario: {target: MAE}}} plus "public_vs_private" and counts, over every set of ``df``; and
    for the ``fresh`` models (none of whose rows set the range), how often the corrected prediction fell inside
    the report's range (+- ``leaderboard_feedback.correction_p90``). A same-recipe correction is judged with
    ``same_recipe_band`` where check 9 adopted it, counted on ``fresh_same[estimator]``, and one by label-smoothing
    variants with ``variant_band`` where check 13 held, counted on ``fresh_variant[estimator]``: the models that did
    not set that range."""
    fresh_same, fresh_variant = fresh_same or {}, fresh_variant or {}
    judged_by = {"one_same_recipe": fresh_same, "one_smoothing_variant": fresh_variant}
    rng = np.random.default_rng(seed)
    acc = {e: {s: {t: [] for t in TARGETS} for s in SCENARIOS} for e in names}
    cover = {e: {s: {t: [] for t in TARGETS} for s in SCENARIOS} for e in names}
    draws_of = {e: {s: {t: [] for t in TARGETS} for s in SCENARIOS} for e in names}
    noise = []
    for set_name, g in df.groupby("set", sort=True):
        models = g["model"].tolist()
        correct = np.stack([correctness(m, set_name, t) for m, t in zip(models, g["true_acc"])])
        public, private = split_accuracies(correct, fraction, draws, rng)
        noise += public_noise(public, private)
        variants = [frozenset(models.index(v) for v in smoothing_variants_among(m, tuple(models))) for m in models]
        for e in names:
            p90 = leaderboard_feedback.correction_p90(e)
            same_band, variant_band = leaderboard_feedback.same_recipe_band(e), leaderboard_feedback.variant_band(e)
            bands = {"one_same_recipe": same_band, "one_smoothing_variant": variant_band}
            for s, out in errors(g[e].to_numpy(float), g["true_acc"].to_numpy(float), public, private,
                                 [bench_gap_ledger.recipe(m) for m in models], p90 or 0.0, same_band, variants,
                                 variant_band).items():
                judged = [judged_by[sc].get(e, frozenset()) if bands.get(sc) is not None else fresh
                          for sc in out["scope"]]
                for t in TARGETS:
                    acc[e][s][t] += out[t]
                    draws_of[e][s][t] += out[f"draws_{t}"]
                    if p90 is not None:
                        cover[e][s][t] += [c for c, b, j in zip(out[f"in_{t}"], out["b"], judged) if models[b] in j]
    return {"estimators": {e: {s: {t: float(np.mean(v)) for t, v in by_t.items()} | {"n": len(by_t["full"])}
                               | {"p90": pooled_p90(draws_of[e][s])}
                               for s, by_t in acc[e].items() if by_t["full"]} for e in names},
            "range_coverage": {e: {s: {t: float(np.mean(v)) for t, v in by_t.items()} | {"n": len(by_t["full"])}
                                   for s, by_t in cover[e].items() if by_t["full"]}
                               for e in names if any(by_t["full"] for by_t in cover[e].values())},
            "fresh_models": sorted(fresh), "fresh_same_recipe_models": {e: sorted(m) for e, m in fresh_same.items()},
            "fresh_variant_models": {e: sorted(m) for e, m in fresh_variant.items()},
            "public_vs_private": float(np.mean(noise)), "model_sets": len(noise)}


# PREREGISTERED.md check 9, fixed before its models were trained: the range half-width of a same-recipe
# Shift-Gated correction (p90 of |corrected - private| on the 8 models seen before), and its two rules.
CHECK9_ESTIMATOR, CHECK9_BAND, CHECK9_MARGIN, CHECK9_COVERAGE = "Shift-Gated", 0.0213, 0.002, 0.85
CHECK9_FOR_THE_RECORD = ("Median-4-Spread", "COTT")
CHECK9_SEEN = ("weak_cnn", "weak_cnn@1", "resnet9q_e4", "resnet9q_e4@1", "resnet9q_ls_e4", "resnet9q_ls_e4@1",
               "weak_cnn_ls", "weak_cnn_ls@1")  # the eight models seen before check 9 was written down
# Check 10, fixed the same way on the ten models seen before it: same-recipe ranges of the other two estimators.
CHECK10_BANDS = {"Median-4-Spread": 0.0265, "COTT": 0.0261}
CHECK10_SEEN = (*CHECK9_SEEN, "resnet9n_e5", "resnet9n_e5@1")
# Check 11, fixed the same way on the twelve models seen before it: architecture or accuracy matching.
CHECK11_SEEN = (*CHECK10_SEEN, "cnn32_e5", "cnn32_e5@1")
CHECK11_FOR_THE_RECORD = CHECK9_FOR_THE_RECORD
# Check 12, fixed the same way on the fourteen models seen before it: the recipe differing only in label smoothing.
CHECK12_SEEN = (*CHECK11_SEEN, "resnet9e_e2", "resnet9q_e1")
# Check 13, fixed the same way on the eighteen models seen before it: the range of a correction by label-smoothing
# variants (p90 of |variant-corrected - private| on those 18, recomputed by ``confirm_check13``).
CHECK13_SEEN = (*CHECK12_SEEN, "resnet9n_e5_ls", "cnn32_e5_ls", "resnet9e_e2_ls", "resnet9q_e1_ls")
CHECK13_BAND = 0.0229
# Check 14, fixed the same way on the twenty-two models seen before it: the recipe differing only in peak learning
# rate, with check 13's range.
CHECK14_SEEN = (*CHECK13_SEEN, "resnet9n_e5_ls2", "cnn32_e5_ls2", "resnet9e_e2_ls2", "resnet9q_e1_ls2")
CHECK_SEEN = {9: CHECK9_SEEN, 10: CHECK10_SEEN, 11: CHECK11_SEEN, 12: CHECK12_SEEN, 13: CHECK13_SEEN,
              14: CHECK14_SEEN}
CHECK_ROWS_ARGS = {c: tuple(str(p.relative_to(bench_gap.ROOT)) for p in rows) for c, rows in LATER_CHECK_ROWS.items()}
SCENARIO_WORDS = {"plain": "as is", "one_same_recipe": "other seed alone", "mean_of_others": "mean of all earlier"}


def check_frames(check: int, seen: pd.DataFrame, new: pd.DataFrame,
                 seen_models: tuple[str, ...]) -> tuple[pd.DataFrame, list[str]]:
    """A check's seen rows narrowed to ``seen_models``, and its new models in order; refuses a model with a set
    twice (a file given twice would pair each model with its own copy)."""
    seen = seen[seen["model"].isin(seen_models)]
    for rows in (new, seen):
        if rows.duplicated(["model", "set"]).any():
            model, set_name = rows.loc[rows.duplicated(["model", "set"]), ["model", "set"]].iloc[0]
            raise SystemExit(f"error: check {check} needs one row per model and set; {model} has {set_name} twice")
    return seen, list(dict.fromkeys(new["model"]))


def on_new_sets(seen: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """The seen and new rows of the sets the new models were run on."""
    df = pd.concat([seen, new], ignore_index=True)
    return df[df["set"].isin(new["set"])]


def require_every_model(check: int, seen: pd.DataFrame, new: pd.DataFrame, seen_models: tuple[str, ...],
                        new_models: list[str]) -> None:
    """Refuses a set that lacks any seen or new model: a gap would change the check's verdict silently."""
    for set_name in sorted(new["set"].unique()):
        here = set(seen.loc[seen["set"] == set_name, "model"]) | set(new.loc[new["set"] == set_name, "model"])
        if here != {*seen_models, *new_models}:
            raise SystemExit(f"error: check {check} needs all {len(new_models)} new models and all "
                             f"{len(seen_models)} seen models on every set; {set_name} has {sorted(here)}")


def new_recipe_errors(check: int, seen: pd.DataFrame, new: pd.DataFrame, seen_models: tuple[str, ...],
                      bands: dict[str, float], fraction: float, draws: int, seed: int) -> dict:
    """The new recipe's two seeds, each corrected by its twin's public miss alone and by the mean public miss of
    every other model (the twin and all ``seen_models``), one random split per draw shared by all: per estimator
    of ``bands`` and scenario, MAE against the whole set, the public and the private score, and the share of
    model-sets x draws whose private score fell within that estimator's band."""
    seen, new_models = check_frames(check, seen, new, seen_models)
    recipes = {m: bench_gap_ledger.recipe(m) for m in (*seen_models, *new_models)}
    for set_name in sorted(new["set"].unique()):  # the rule's pairs must all exist: a gap would change the verdict
        here = set(seen.loc[seen["set"] == set_name, "model"]) | set(new.loc[new["set"] == set_name, "model"])
        if here != set(recipes) or len(set(recipes[m] for m in new_models)) != 1 or len(new_models) != 2 \
                or any(recipes[m] == recipes[new_models[0]] for m in seen_models):
            raise SystemExit(f"error: check {check} needs both seeds of one new recipe and all {len(seen_models)} "
                             f"seen models (none of that recipe) on every set; {set_name} has {sorted(here)}")
    df = on_new_sets(seen, new)
    rng = np.random.default_rng(seed)
    keys = ("full", "public", "private", "in_private")
    got = {e: {s: {k: [] for k in keys} for s in SCENARIO_WORDS} for e in bands}
    for set_name, g in df.groupby("set", sort=True):
        models = g["model"].tolist()
        correct = np.stack([correctness(m, set_name, t) for m, t in zip(models, g["true_acc"])])
        public, private = split_accuracies(correct, fraction, draws, rng)
        for e, band in bands.items():
            out = errors(g[e].to_numpy(float), g["true_acc"].to_numpy(float), public, private,
                         [recipes[m] for m in models], band)
            for s, by in got[e].items():
                for k in keys:
                    by[k] += [v for v, b in zip(out[s][k], out[s]["b"]) if models[b] in new_models]
    return {"models": new_models, "n_sets": int(new["set"].nunique()),
            "estimators": {e: {s: {k: float(np.mean(v)) for k, v in by.items()} | {"n": len(by["full"])}
                               for s, by in sg.items()} for e, sg in got.items()}}


# Check 11: when no earlier submission shares the recipe, whose misses carry over best?
MATCH_WORDS = {"plain": "as is", "architecture": "same architecture", "accuracy": "nearest local accuracy",
               "smoothing_pair": "differs only in label smoothing",
               "smoothing_variants": "its label-smoothing variants", "lr_variants": "its learning-rate variants",
               "all": "all earlier"}
NEAREST_K = 4  # "nearest local accuracy": the k earlier submissions whose holdout accuracy is closest


def matched_groups(target: str, earlier: list[str], holdout_acc: dict[str, float]) -> dict:
    """The earlier submissions (none of ``target``'s recipe) whose misses correct ``target``, chosen three ways:
    the same network (``bench_models.ARCHITECTURE``), the ``NEAREST_K`` nearest in holdout accuracy (ties by
    name), all."""
    arch = bench_models.ARCHITECTURE
    near = sorted(earlier, key=lambda m: (abs(holdout_acc[m] - holdout_acc[target]), m))[:NEAREST_K]
    return {"architecture": [m for m in earlier
                             if arch[bench_gap_ledger.recipe(m)] == arch[bench_gap_ledger.recipe(target)]],
            "accuracy": near, "all": list(earlier)}


def range_of(estimator: str, bands: dict[str, float] | None = None) -> float:
    """``estimator``'s range half-width: from ``bands`` where given, else its other-recipe range
    (``leaderboard_feedback.correction_p90``; 0 when unmeasured)."""
    return bands[estimator] if bands and estimator in bands else leaderboard_feedback.correction_p90(estimator) or 0.0


def matched_errors(df: pd.DataFrame, groups: dict[str, dict[str, list[str]]], estimators: tuple[str, ...],
                   fraction: float, draws: int, seed: int, bands: dict[str, float] | None = None,
                   p90: bool = False) -> dict:
    """Each model of ``groups`` as is ("plain") and corrected by the mean public miss of each of its groups of
    earlier submissions ({match: models}, e.g. ``matched_groups``), one random split per draw shared by every model
    of the set: per estimator and match, MAE against the whole set,
    the public and the private score, and the share of model-sets x draws whose private score fell within the
    estimator's range (``bands``, by default its other-recipe range ``leaderboard_feedback.correction_p90``);
    with ``p90``, also the 90th percentile of |corrected - private| pooled over the model-sets x draws."""
    matches = tuple(dict.fromkeys(["plain", *(s for g in groups.values() for s in g)]))
    empty = [(m, s) for m, g in groups.items() for s in matches[1:] if not g.get(s)]
    if empty:  # scoring it uncorrected would blend "as is" into that matching's error
        raise SystemExit(f"error: {empty[0][0]} has no earlier submissions for the matching {empty[0][1]!r}")
    rng = np.random.default_rng(seed)
    keys = ("full", "public", "private", "in_private")
    got = {e: {s: {k: [] for k in keys} for s in matches} for e in estimators}
    raw = {e: {s: [] for s in matches} for e in estimators}
    for set_name, g in df.groupby("set", sort=True):
        models = g["model"].tolist()
        at = {m: i for i, m in enumerate(models)}
        correct = np.stack([correctness(m, set_name, t) for m, t in zip(models, g["true_acc"])])
        public, private = split_accuracies(correct, fraction, draws, rng)
        full = g["true_acc"].to_numpy(float)
        for e in estimators:
            est, band = g[e].to_numpy(float), range_of(e, bands)
            for target, by_match in groups.items():
                b = at[target]
                for s in matches:
                    idx = [at[m] for m in by_match.get(s, ())]  # none for "plain" only
                    off_public = np.mean(est[idx, None] - public[idx], axis=0) if idx else np.zeros(draws)
                    off_full = float(np.mean(est[idx] - full[idx])) if idx else 0.0
                    corrected = np.clip(est[b] - off_public, 0, 1)
                    err_private = np.abs(corrected - private[b])
                    row = got[e][s]
                    row["full"].append(abs(float(np.clip(est[b] - off_full, 0, 1)) - full[b]))
                    row["public"].append(float(np.mean(np.abs(corrected - public[b]))))
                    row["private"].append(float(np.mean(err_private)))
                    row["in_private"].append(float(np.mean(err_private <= band)))
                    if p90:
                        raw[e][s].append(err_private)
    return {"models": list(groups), "groups": groups, "n_sets": int(df["set"].nunique()),
            "estimators": {e: {s: {k: float(np.mean(v)) for k, v in by.items()} | {"n": len(by["full"])}
                               | ({"p90_private": float(np.quantile(np.concatenate(raw[e][s]), 0.9))} if p90 else {})
                               for s, by in sg.items()} for e, sg in got.items()}}


def matched_table(res: dict, what: str, bands: dict[str, float] | None = None) -> list[str]:
    """``matched_errors``' result as a markdown table, one row per estimator and group (``what`` heads the
    group's column; ``bands``: the ranges it was run with, where not the other-recipe ones)."""
    lines = [f"| estimator | {what} | whole set | vs public | vs private | its range held the private score |",
             "|---|---|---|---|---|---|"]
    for e, by in res["estimators"].items():
        lines += [f"| {e} (+- {100 * range_of(e, bands):.2f}) | {MATCH_WORDS[s]} | {100 * r['full']:.2f} | {100 * r['public']:.2f} | "
                  f"{100 * r['private']:.2f} | {r['in_private']:.0%} |" for s, r in by.items()]
    return lines


def check_table(check: int, res: dict, seen_models: tuple[str, ...], bands: dict[str, float], fraction: float,
                draws: int) -> list[str]:
    lines = [f"## Check {check}: {', '.join(res['models'])} on {res['n_sets']} held-out sets, corrected by the other "
             f"seed alone and by the mean of all {len(seen_models) + 1} earlier submissions (the other seed and "
             f"{', '.join(seen_models)}); {draws} random {fraction:.0%} public splits per set; MAE in points", "",
             "| estimator | scenario | whole set | vs public | vs private | its range held the private score |",
             "|---|---|---|---|---|---|"]
    for e, by in res["estimators"].items():
        for s, r in by.items():
            lines.append(f"| {e} (+- {100 * bands[e]:.2f}) | {SCENARIO_WORDS[s]} | {100 * r['full']:.2f} | "
                         f"{100 * r['public']:.2f} | {100 * r['private']:.2f} | {r['in_private']:.0%} |")
    return lines


def command_words(check: int, sources: tuple[str, ...], seed: int) -> str:
    return (f"Command: `.venv/bin/python benchmarks/bench_gap_public_split.py --check {check} --confirm "
            f"{' '.join(sources)}" + ("" if seed == 0 else f" --seed {seed}") + "`.")


def confirm_check9(seen: pd.DataFrame, new: pd.DataFrame, seen_models: tuple[str, ...] = CHECK9_SEEN,
                   fraction: float = 0.5, draws: int = 400, seed: int = 0,
                   sources: tuple[str, ...] = CHECK_ROWS_ARGS[9]) -> tuple[str, dict]:
    """``PREREGISTERED.md``'s check 9 (``new_recipe_errors`` with every estimator at ``CHECK9_BAND``): rule 9a,
    Shift-Gated by the twin alone at least 0.2 points below the mean of all earlier against the private score;
    9b, +- ``CHECK9_BAND`` held the private score at least 85% of the time. Returns (markdown, "check9" record)."""
    bands = {e: CHECK9_BAND for e in (CHECK9_ESTIMATOR, *CHECK9_FOR_THE_RECORD)}
    res = new_recipe_errors(9, seen, new, seen_models, bands, fraction, draws, seed)
    sg = res["estimators"][CHECK9_ESTIMATOR]
    same, every = sg["one_same_recipe"]["private"], sg["mean_of_others"]["private"]
    coverage = sg["one_same_recipe"]["in_private"]
    rule_a, rule_b = same <= every - CHECK9_MARGIN, coverage >= CHECK9_COVERAGE
    lines = check_table(9, res, seen_models, bands, fraction, draws)
    lines += ["", f"Rule 9a (Shift-Gated by the other seed alone at least {100 * CHECK9_MARGIN:.1f} below the mean of all "
                  f"earlier, vs private: {100 * same:.2f} vs {100 * every:.2f}) -> {'holds' if rule_a else 'fails'}. "
                  f"Rule 9b (+- {100 * CHECK9_BAND:.2f} around it held the private score at least "
                  f"{CHECK9_COVERAGE:.0%} of the time: {coverage:.1%}) -> {'holds' if rule_b else 'fails'}. "
                  + command_words(9, sources, seed), ""]
    record = {"models": res["models"], "others": list(seen_models), "n_sets": res["n_sets"], "draws": draws,
              "fraction": fraction, "seed": seed, "band": {CHECK9_ESTIMATOR: CHECK9_BAND},
              "rules": {"9a": bool(rule_a), "9b": bool(rule_b)}, "coverage_private": float(coverage),
              "estimators": res["estimators"]}
    return "\n".join(lines), record


def confirm_check10(seen: pd.DataFrame, new: pd.DataFrame, seen_models: tuple[str, ...] = CHECK10_SEEN,
                    fraction: float = 0.5, draws: int = 400, seed: int = 0,
                    sources: tuple[str, ...] = CHECK_ROWS_ARGS[10]) -> tuple[str, dict]:
    """``PREREGISTERED.md``'s check 10: per estimator of ``CHECK10_BANDS``, its same-recipe range must hold the
    private score at least 85% of the time on the new recipe. Returns (markdown, "check10" record)."""
    res = new_recipe_errors(10, seen, new, seen_models, CHECK10_BANDS, fraction, draws, seed)
    coverage = {e: by["one_same_recipe"]["in_private"] for e, by in res["estimators"].items()}
    rules = {e: bool(c >= CHECK9_COVERAGE) for e, c in coverage.items()}
    lines = check_table(10, res, seen_models, CHECK10_BANDS, fraction, draws)
    lines += ["", "Rule 10 (the same-recipe range held the private score at least "
                  f"{CHECK9_COVERAGE:.0%} of the time): " + "; ".join(
                      f"{e} +- {100 * CHECK10_BANDS[e]:.2f}: {coverage[e]:.1%} -> {'holds' if rules[e] else 'fails'}"
                      for e in CHECK10_BANDS) + ". " + command_words(10, sources, seed), ""]
    record = {"models": res["models"], "others": list(seen_models), "n_sets": res["n_sets"], "draws": draws,
              "fraction": fraction, "seed": seed, "band": dict(CHECK10_BANDS), "rules": rules,
              "coverage_private": coverage, "estimators": res["estimators"]}
    return "\n".join(lines), record


def confirm_check11(seen: pd.DataFrame, new: pd.DataFrame, seen_models: tuple[str, ...] = CHECK11_SEEN,
                    fraction: float = 0.5, draws: int = 400, seed: int = 0,
                    sources: tuple[str, ...] = CHECK_ROWS_ARGS[11]) -> tuple[str, dict]:
    """``PREREGISTERED.md``'s check 11: each new model (a recipe in no seen row) corrected by ``matched_errors``'
    three matchings over the seen models alone; the better of "architecture" and "accuracy" for Shift-Gated is
    adopted if it is at least 0.2 points below "all" against the private score. Returns (markdown, record)."""
    seen, new_models = check_frames(11, seen, new, seen_models)
    seen_recipes = {bench_gap_ledger.recipe(m) for m in seen_models}
    if len(new_models) != 2 or any(bench_gap_ledger.recipe(m) in seen_recipes for m in new_models) \
            or len({bench_gap_ledger.recipe(m) for m in new_models}) != 2:
        raise SystemExit(f"error: check 11 needs two models of two recipes in no seen row; got {new_models}")
    require_every_model(11, seen, new, seen_models, new_models)
    df = on_new_sets(seen, new)
    estimators = (CHECK9_ESTIMATOR, *CHECK11_FOR_THE_RECORD)
    holdout_acc = df.groupby("model")["holdout_acc"].first().to_dict()
    groups = {m: matched_groups(m, list(seen_models), holdout_acc) for m in new_models}
    res = matched_errors(df, groups, estimators, fraction, draws, seed)
    sg = {s: r["private"] for s, r in res["estimators"][CHECK9_ESTIMATOR].items()}
    winner = min(("architecture", "accuracy"), key=lambda s: sg[s])
    adopted = winner if sg[winner] <= sg["all"] - CHECK9_MARGIN else None
    lines = [f"## Check 11: {', '.join(new_models)} (recipes in no earlier row) on {res['n_sets']} held-out sets, "
             f"corrected by the mean miss of earlier submissions chosen three ways among {', '.join(seen_models)}; "
             f"{draws} random {fraction:.0%} public splits per set; MAE in points", "",
             "Which earlier submissions each matching chose:", ""]
    lines += [f"- {m}: " + "; ".join(f"{MATCH_WORDS[s]}: {', '.join(g)}" for s, g in res["groups"][m].items())
              for m in new_models]
    lines += ["", *matched_table(res, "matching")]
    lines += ["", f"Rule 11 (for Shift-Gated, the better of same architecture ({100 * sg['architecture']:.2f}) and "
                  f"nearest local accuracy ({100 * sg['accuracy']:.2f}) at least {100 * CHECK9_MARGIN:.1f} below all "
                  f"earlier ({100 * sg['all']:.2f}), vs private) -> "
                  + (f"holds: {MATCH_WORDS[adopted]} is adopted. " if adopted else "fails: neither is adopted. ")
                  + command_words(11, sources, seed), ""]
    record = {"models": new_models, "others": list(seen_models), "n_sets": res["n_sets"], "draws": draws,
              "fraction": fraction, "seed": seed, "groups": res["groups"], "winner": winner, "adopted": adopted,
              "rules": {"11": adopted is not None}, "estimators": res["estimators"]}
    return "\n".join(lines), record


def variants_among(variants: dict[str, tuple[str, ...]], model: str, models: tuple[str, ...]) -> list[str]:
    """The ``models`` (seeds included) whose recipe is one of ``model``'s ``variants`` (``bench_models``)."""
    recipe = bench_gap_ledger.recipe
    return [m for m in models if recipe(m) in variants.get(recipe(model), ())]


def smoothing_variants_among(model: str, models: tuple[str, ...]) -> list[str]:
    """The ``models`` whose recipe differs from ``model``'s only in label smoothing."""
    return variants_among(bench_models.SMOOTHING_VARIANTS, model, models)


def lr_variants_among(model: str, models: tuple[str, ...]) -> list[str]:
    """The ``models`` whose recipe differs from ``model``'s only in peak learning rate."""
    return variants_among(bench_models.LR_VARIANTS, model, models)


def new_variant_recipes(check: int, seen: pd.DataFrame, new: pd.DataFrame, seen_models: tuple[str, ...],
                        what: str, variants_among=smoothing_variants_among) -> tuple[pd.DataFrame, list[str]]:
    """``check_frames``, refusing new models of a seen recipe, of one recipe twice, or with no variant
    (``variants_among``; ``what`` names it in the error) among ``seen_models``, and any set that lacks a model."""
    seen, new_models = check_frames(check, seen, new, seen_models)
    recipe = bench_gap_ledger.recipe
    seen_recipes = {recipe(m) for m in seen_models}
    if not new_models or any(recipe(m) in seen_recipes or not variants_among(m, seen_models)
                             for m in new_models) or len({recipe(m) for m in new_models}) != len(new_models):
        raise SystemExit(f"error: check {check} needs models of distinct recipes in no seen row, each with {what} "
                         f"among the seen models; got {new_models}")
    require_every_model(check, seen, new, seen_models, new_models)
    return seen, new_models


def confirm_check12(seen: pd.DataFrame, new: pd.DataFrame, seen_models: tuple[str, ...] = CHECK12_SEEN,
                    fraction: float = 0.5, draws: int = 400, seed: int = 0,
                    sources: tuple[str, ...] = CHECK_ROWS_ARGS[12]) -> tuple[str, dict]:
    """``PREREGISTERED.md``'s check 12: each new model (a recipe in no seen row whose label-smoothing pair,
    ``bench_models.SMOOTHING_VARIANTS``, is seen) corrected by ``matched_errors`` with the seen models of its pair and
    with every seen model; the pair is adopted if it is at least 0.2 points below "all" for Shift-Gated against the
    private score. Returns (markdown, record)."""
    seen, new_models = new_variant_recipes(12, seen, new, seen_models, "its label-smoothing pair")
    pair = {m: smoothing_variants_among(m, seen_models) for m in new_models}
    df = on_new_sets(seen, new)
    estimators = (CHECK9_ESTIMATOR, *CHECK11_FOR_THE_RECORD)
    groups = {m: {"smoothing_pair": pair[m], "all": list(seen_models)} for m in new_models}
    res = matched_errors(df, groups, estimators, fraction, draws, seed)
    sg = {s: r["private"] for s, r in res["estimators"][CHECK9_ESTIMATOR].items()}
    adopted = sg["smoothing_pair"] <= sg["all"] - CHECK9_MARGIN
    lines = [f"## Check 12: {', '.join(new_models)} (recipes in no earlier row, each a saved recipe with label "
             f"smoothing added) on {res['n_sets']} held-out sets, corrected by the mean miss of their label-smoothing "
             f"pair and of all earlier submissions ({', '.join(seen_models)}); {draws} random {fraction:.0%} public "
             "splits per set; MAE in points", "", "The pair each new model was corrected by:", ""]
    lines += [f"- {m}: {', '.join(pair[m])}" for m in new_models]
    lines += ["", *matched_table(res, "correction")]
    lines += ["", f"Rule 12 (for Shift-Gated, the label-smoothing pair ({100 * sg['smoothing_pair']:.2f}) at least "
                  f"{100 * CHECK9_MARGIN:.1f} below all earlier ({100 * sg['all']:.2f}), vs private) -> "
                  + ("holds: the pair is adopted. " if adopted else "fails: the pair is not adopted. ")
                  + command_words(12, sources, seed), ""]
    record = {"models": new_models, "others": list(seen_models), "n_sets": res["n_sets"], "draws": draws,
              "fraction": fraction, "seed": seed, "groups": res["groups"], "adopted": bool(adopted),
              "rules": {"12": bool(adopted)}, "estimators": res["estimators"]}
    return "\n".join(lines), record


def confirm_check13(seen: pd.DataFrame, new: pd.DataFrame, seen_models: tuple[str, ...] = CHECK13_SEEN,
                    fraction: float = 0.5, draws: int = 400, seed: int = 0,
                    sources: tuple[str, ...] = CHECK_ROWS_ARGS[13]) -> tuple[str, dict]:
    """``PREREGISTERED.md``'s check 13: each new model (a recipe in no seen row with label-smoothing variants,
    ``bench_models.SMOOTHING_VARIANTS``, among the seen models) corrected by ``matched_errors`` with those variants
    and with every seen model; +- ``CHECK13_BAND`` around the variant-corrected Shift-Gated must hold the private
    score on at least 85% of the new model-sets x draws. The band is also recomputed from the seen models alone
    (each by its seen variants, their own splits), as the entry set it. Returns (markdown, record)."""
    seen, new_models = new_variant_recipes(13, seen, new, seen_models, "label-smoothing variants")
    variants = {m: smoothing_variants_among(m, seen_models) for m in (*seen_models, *new_models)}
    df = on_new_sets(seen, new)
    sg_only = (CHECK9_ESTIMATOR,)
    seen_groups = {m: {"smoothing_variants": variants[m]} for m in seen_models if variants[m]}
    origin = matched_errors(df[df["model"].isin(seen_models)], seen_groups, sg_only, fraction, draws, seed, p90=True)
    origin_p90 = origin["estimators"][CHECK9_ESTIMATOR]["smoothing_variants"]["p90_private"]
    estimators = (CHECK9_ESTIMATOR, *CHECK11_FOR_THE_RECORD)
    groups = {m: {"smoothing_variants": variants[m], "all": list(seen_models)} for m in new_models}
    bands = {CHECK9_ESTIMATOR: CHECK13_BAND}
    res = matched_errors(df, groups, estimators, fraction, draws, seed, bands)
    wide = matched_errors(df, groups, sg_only, fraction, draws, seed)  # the same splits: only the range differs
    sg = res["estimators"][CHECK9_ESTIMATOR]
    coverage = sg["smoothing_variants"]["in_private"]
    wide_coverage = wide["estimators"][CHECK9_ESTIMATOR]["smoothing_variants"]["in_private"]
    holds = coverage >= CHECK9_COVERAGE
    lines = [f"## Check 13: {', '.join(new_models)} (recipes in no earlier row, each a saved recipe with label "
             f"smoothing 0.2) on {res['n_sets']} held-out sets, corrected by the mean miss of their label-smoothing "
             f"variants and of all earlier submissions ({', '.join(seen_models)}); {draws} random {fraction:.0%} "
             "public splits per set; MAE in points", "", "The variants each new model was corrected by:", ""]
    lines += [f"- {m}: {', '.join(groups[m]['smoothing_variants'])}" for m in new_models]
    lines += ["", f"The range, recomputed as entry 13 set it: the {len(seen_groups)} earlier models, each corrected by "
                  f"its earlier variants (their own splits), put 9 in 10 variant-corrected Shift-Gated predictions "
                  f"within {100 * origin_p90:.2f} points of the private score (MAE "
                  f"{100 * origin['estimators'][CHECK9_ESTIMATOR]['smoothing_variants']['private']:.2f}); entry 13 "
                  f"wrote down +- {100 * CHECK13_BAND:.2f}.", "", *matched_table(res, "correction", bands)]
    lines += ["", f"Rule 13 (+- {100 * CHECK13_BAND:.2f} around the variant-corrected Shift-Gated held the private "
                  f"score at least {CHECK9_COVERAGE:.0%} of the time: {coverage:.1%}) -> "
                  + ("holds: variant corrections print it. " if holds else
                     "fails: variant corrections keep the other-recipe range. ")
                  + f"For the record, the other-recipe range held {wide_coverage:.1%}. "
                  + command_words(13, sources, seed), ""]
    record = {"models": new_models, "others": list(seen_models), "n_sets": res["n_sets"], "draws": draws,
              "fraction": fraction, "seed": seed, "groups": res["groups"], "band": dict(bands),
              "band_recomputed": origin_p90, "band_models": list(seen_groups), "rules": {"13": bool(holds)},
              "coverage_private": float(coverage), "coverage_private_other_recipe_range": float(wide_coverage),
              "estimators": res["estimators"]}
    return "\n".join(lines), record


def confirm_check14(seen: pd.DataFrame, new: pd.DataFrame, seen_models: tuple[str, ...] = CHECK14_SEEN,
                    fraction: float = 0.5, draws: int = 400, seed: int = 0,
                    sources: tuple[str, ...] = CHECK_ROWS_ARGS[14]) -> tuple[str, dict]:
    """``PREREGISTERED.md``'s check 14: each new model (a recipe in no seen row, with no label-smoothing variant but
    a learning-rate variant, ``bench_models.LR_VARIANTS``, among the seen models) corrected by ``matched_errors`` with
    its learning-rate variants and with every seen model. 14a: the variants adopted if at least 0.2 points below
    "all" for Shift-Gated against the private score; 14b (only with 14a): +- ``CHECK13_BAND`` around the
    variant-corrected Shift-Gated holds the private score on at least 85% of the new model-sets x draws.
    Returns (markdown, record)."""
    seen, new_models = new_variant_recipes(14, seen, new, seen_models, "a learning-rate variant", lr_variants_among)
    smoothed = [m for m in new_models if smoothing_variants_among(m, seen_models)]
    if smoothed:  # the toolkit would correct those by their label-smoothing variants (check 12) first
        raise SystemExit(f"error: check 14 needs new models with no label-smoothing variant among the seen models; "
                         f"{smoothed[0]} has {smoothing_variants_among(smoothed[0], seen_models)}")
    variants = {m: lr_variants_among(m, seen_models) for m in new_models}
    df = on_new_sets(seen, new)
    estimators = (CHECK9_ESTIMATOR, *CHECK11_FOR_THE_RECORD)
    groups = {m: {"lr_variants": variants[m], "all": list(seen_models)} for m in new_models}
    bands = {CHECK9_ESTIMATOR: CHECK13_BAND}
    res = matched_errors(df, groups, estimators, fraction, draws, seed, bands)
    wide = matched_errors(df, groups, (CHECK9_ESTIMATOR,), fraction, draws, seed)  # the same splits, the wide range
    sg = {s: r["private"] for s, r in res["estimators"][CHECK9_ESTIMATOR].items()}
    adopted = sg["lr_variants"] <= sg["all"] - CHECK9_MARGIN
    coverage = res["estimators"][CHECK9_ESTIMATOR]["lr_variants"]["in_private"]
    narrow = bool(adopted and coverage >= CHECK9_COVERAGE)
    wide_sg = wide["estimators"][CHECK9_ESTIMATOR]
    lines = [f"## Check 14: {', '.join(new_models)} (recipes in no earlier row, each a saved recipe with its peak "
             f"learning rate halved) on {res['n_sets']} held-out sets, corrected by the mean miss of their "
             f"learning-rate variants and of all earlier submissions ({', '.join(seen_models)}); {draws} random "
             f"{fraction:.0%} public splits per set; MAE in points", "",
             "The variants each new model was corrected by:", ""]
    lines += [f"- {m}: {', '.join(variants[m])}" for m in new_models]
    lines += ["", *matched_table(res, "correction", bands)]
    lines += ["", f"Rule 14a (for Shift-Gated, the learning-rate variants ({100 * sg['lr_variants']:.2f}) at least "
                  f"{100 * CHECK9_MARGIN:.1f} below all earlier ({100 * sg['all']:.2f}), vs private) -> "
                  + ("holds: the variants are adopted. " if adopted else "fails: the variants are not adopted. ")
                  + f"Rule 14b (+- {100 * CHECK13_BAND:.2f} around the variant-corrected Shift-Gated held the private "
                  f"score at least {CHECK9_COVERAGE:.0%} of the time: {coverage:.1%}) -> "
                  + ("holds: learning-rate corrections print it. " if narrow else
                     "fails: learning-rate corrections keep the other-recipe range. " if adopted else
                     "not applied (14a failed). ")
                  + f"For the record, the other-recipe range held {wide_sg['lr_variants']['in_private']:.1%} under the "
                  f"variants and {wide_sg['all']['in_private']:.1%} under all earlier. "
                  + command_words(14, sources, seed), ""]
    record = {"models": new_models, "others": list(seen_models), "n_sets": res["n_sets"], "draws": draws,
              "fraction": fraction, "seed": seed, "groups": res["groups"], "adopted": bool(adopted),
              "band": dict(bands), "rules": {"14a": bool(adopted), "14b": narrow},
              "coverage_private": float(coverage),
              "coverage_private_other_recipe_range": {s: float(r["in_private"]) for s, r in wide_sg.items()},
              "estimators": res["estimators"]}
    return "\n".join(lines), record


def judged_models(df: pd.DataFrame, fresh: frozenset[str], names: tuple[str, ...]
                  ) -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    """Per estimator with a narrower range, the models its coverage is counted on: the ``fresh`` ones (their rows
    did not set the wide range) that were not yet seen when the check setting the narrow range was written down,
    and that can meet it in ``df``. Same-recipe ranges (checks 9 and 10): models with a twin (checks 11-14's recipes
    have one seed each). The label-smoothing variants' range (check 13): models with a variant."""
    recipes = df["model"].map(bench_gap_ledger.recipe)
    twinned = frozenset(df.loc[recipes.map(recipes.groupby(recipes).size() > df["set"].nunique()), "model"])
    fresh_same = {e: (fresh & twinned) - set(CHECK_SEEN[int(key.removeprefix("check"))])
                  for e in names if (key := leaderboard_feedback.band_source(e))}
    models = tuple(df["model"].unique())
    with_variants = frozenset(m for m in models if smoothing_variants_among(m, models))
    fresh_variant = {e: (fresh & with_variants) - set(CHECK13_SEEN) for e in names
                     if leaderboard_feedback.variant_band(e) is not None}
    return fresh_same, fresh_variant


def row_cells(results: dict[float, dict], key: str, est: str, scenario: str, fmt) -> str:
    """One table row's cells after its labels: whole set (with its count), then public and private per fraction;
    '' when the scenario was not measured."""
    r0 = next(iter(results.values()))[key][est].get(scenario)
    if r0 is None:
        return ""
    cells = [f"{fmt(r0['full'])} ({r0['n']})"]
    for res in results.values():
        r = res[key][est][scenario]
        cells += [fmt(r["public"]), fmt(r["private"])]
    return " | ".join(cells) + " |"


def render(results: dict[float, dict], df: pd.DataFrame, draws: int) -> str:
    models = list(dict.fromkeys(df["model"]))
    words = {"plain": "as is", "one_different_recipe": "one earlier, different recipe",
             "one_same_recipe": "one earlier, same recipe (other seed)",
             "one_smoothing_variant": "one earlier, label-smoothing variant", "mean_of_others": "mean of the others",
             "ledger_choice": "the toolkit's choice (same recipe, else variants, else all)"}
    head = " | ".join(f"{f:.0%} public: vs public | vs private" for f in results)
    lines = [f"## The ledger correction under a public/private split: {df['set'].nunique()} held-out sets x "
             f"{len(models)} models ({', '.join(models)}); MAE points", "",
             f"Each set's images are split at random, {draws} times, into a public part and a private rest, shared by "
             "every model. Misses are learnt on the public part; the corrected estimate is judged by the public and "
             "by the private score. \"Whole set\" is `bench_gap_ledger.py`'s number (no split). Command: "
             "`.venv/bin/python benchmarks/bench_gap_public_split.py` (arithmetic on the saved rows of checks 4 and 5 and "
             "of the later checks recorded, and their "
             "cached logits).", ""]
    for est in next(iter(results.values()))["estimators"]:
        lines += [f"### {est}", "", f"| scenario | whole set | {head} |",
                  "|---|---|" + "---|---|" * len(results)]
        lines += [f"| {words[s]} | {cells}" for s in SCENARIOS
                  if (cells := row_cells(results, "estimators", est, s, lambda v: f"{100 * v:.2f}"))]
        lines.append("")
    first = next(iter(results.values()))
    if first["range_coverage"]:
        same = ("; same-recipe corrections with their own range (+- `leaderboard_feedback.same_recipe_band`) on "
                "the models trained after the check that set it was written down: " + "; ".join(
                    f"{e} +- {100 * leaderboard_feedback.same_recipe_band(e):.2f} ({', '.join(m)})"
                    for e, m in first["fresh_same_recipe_models"].items())
                if first["fresh_same_recipe_models"] else "")
        same += ("; corrections by label-smoothing variants with theirs (+- `leaderboard_feedback.variant_band`) on "
                 "the models trained after check 13 wrote it down: " + "; ".join(
                     f"{e} +- {100 * leaderboard_feedback.variant_band(e):.2f} ({', '.join(m)})"
                     for e, m in first["fresh_variant_models"].items())
                 if first.get("fresh_variant_models") else "")
        lines += [f"### How often the corrected prediction fell inside the report's range (corrected +- p90 of "
                  f"`leaderboard_feedback.correction_p90`), on the models whose rows did not set it "
                  f"({', '.join(first['fresh_models'])}){same}", "",
                  f"| estimator | scenario | whole set | {head} |", "|---|---|---|" + "---|---|" * len(results)]
        lines += [f"| {est} | {words[s]} | {cells}" for est in first["range_coverage"] for s in SCENARIOS[1:]
                  if (cells := row_cells(results, "range_coverage", est, s, lambda v: f"{v:.0%}"))]
        lines.append("")
    lines.append("The public score itself, as a guess of the private score: mean |public - private| " + ", ".join(
        f"{100 * r['public_vs_private']:.2f} points at {f:.0%} public" for f, r in results.items())
        + f" ({next(iter(results.values()))['model_sets']} model-sets).")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=400, help="random splits per set")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-write", action="store_true", help="print only")
    ap.add_argument("--check", type=int, choices=sorted(LATER_CHECK_ROWS),
                    help="apply a pre-registered check to --confirm's rows")
    ap.add_argument("--confirm", nargs="+", metavar="CSV", help="the check's new rows (bench_gap_novel.py --save-rows)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    if bool(args.check) != bool(args.confirm):
        ap.error("--check and --confirm go together")
    if args.check:
        seen = load_rows((*bench_gap_novel.ROWS.values(), *CHECK_ROWS,
                          *(r for c, rows in LATER_CHECK_ROWS.items() if c < args.check for r in rows)))
        confirm = {9: confirm_check9, 10: confirm_check10, 11: confirm_check11, 12: confirm_check12,
                   13: confirm_check13, 14: confirm_check14}[args.check]
        text, record = confirm(seen, load_rows(tuple(Path(c) for c in args.confirm)), seed=args.seed,
                               draws=args.draws, sources=tuple(args.confirm))
        print(text)
        if not args.no_write:
            payload = json.loads(bench_gap_ledger.OUT_JSON.read_text())
            payload[f"check{args.check}"] = record
            bench_gap_ledger.OUT_JSON.write_text(json.dumps(payload, indent=2) + "\n")
            base, checks = bench_gap_ledger.split_checks(bench_gap_ledger.OUT_MD.read_text())
            bench_gap_ledger.OUT_MD.write_text(bench_gap_ledger.join_checks(base, {**checks,
                                                                                  args.check: text.rstrip("\n")}))
            print(f"recorded in {bench_gap_ledger.OUT_MD.relative_to(bench_gap.ROOT)} and "
                  f"{bench_gap_ledger.OUT_JSON.relative_to(bench_gap.ROOT)}")
        print(f"{time.perf_counter() - t0:.1f} s")
        return 0
    recorded = leaderboard_feedback.measurements()
    checks = [*CHECK_ROWS, *(r for c, rows in LATER_CHECK_ROWS.items() if f"check{c}" in recorded for r in rows)]
    df = load_rows((*bench_gap_novel.ROWS.values(), *checks))
    sources = recorded["sources"]
    used = {m for k in (leaderboard_feedback.BENCHMARK, leaderboard_feedback.HELDOUT) for m in sources[k]["models"]}
    fresh = frozenset(df["model"]) - used  # their rows did not set the range's p90
    fresh_same, fresh_variant = judged_models(df, fresh, bench_gap_ledger.ESTIMATORS)
    results = {f: measure(df, bench_gap_ledger.ESTIMATORS, f, args.draws, args.seed + i, fresh, fresh_same,
                          fresh_variant)
               for i, f in enumerate(FRACTIONS)}
    text = render(results, df, args.draws)
    print(text)
    if not args.no_write:
        OUT_MD.write_text(text)
        payload = json.loads(bench_gap_ledger.OUT_JSON.read_text())
        payload[PUBLIC_SPLIT] = {"what": "MAE (fractions) of the correction with misses learnt on a random public "
                                         "split, judged by the public and the private score "
                                         "(benchmarks/bench_gap_public_split.py)",
                                 "n_sets": int(df["set"].nunique()), "models": list(dict.fromkeys(df["model"])),
                                 "draws": args.draws, "fractions": {str(f): r for f, r in results.items()}}
        bench_gap_ledger.OUT_JSON.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {OUT_MD.relative_to(bench_gap.ROOT)} and the \"{PUBLIC_SPLIT}\" entry of "
              f"{bench_gap_ledger.OUT_JSON.relative_to(bench_gap.ROOT)}")
    print(f"{time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    entry.run(main)
