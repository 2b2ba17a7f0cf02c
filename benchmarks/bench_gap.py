"""How well does each gap estimator predict accuracy on a labeled shifted set it never saw labels of?

Models: five CPU-trained CIFAR-10 networks of different quality (``bench_models.py``; cached; ``NAME@SEED``
re-trains a recipe with another seed, to measure how much a trained instance moves the numbers). Sets: the
CIFAR-10 test set clean, each corruption of ``kaggle_kit.gap.shifts`` at a mild and a strong severity, a mix
of random corruptions per image, label-shifted resamples (long-tail and Dirichlet priors), label shift
combined with corruptions, and the stand-in competition set (its labels are used only to score here).
Nothing is fitted on any set's labels: estimators see the holdout (labeled, from the training batches) and
the set's logits only.

    .venv/bin/python benchmarks/bench_gap.py            # prints the tables, writes benchmarks/RESULTS_gap.md
                                                        # and kaggle_kit/gap/measured_error.json
    .venv/bin/python benchmarks/bench_gap.py --models weak_cnn --tables t.md   # t.md, its rows in t.rows.csv
    .venv/bin/python benchmarks/bench_gap.py --rows t.rows.csv --tables t2.md  # the same tables, no evaluation
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_models  # noqa: E402
from bench_models import read_cached  # noqa: E402
import entry  # noqa: E402

from kaggle_kit.data import holdout_split, load_cifar10, load_competition, shared_data_dir  # noqa: E402
from kaggle_kit.fsio import atomic_path, atomic_save_npz  # noqa: E402
from kaggle_kit.gap import estimators, shifts, synthetic  # noqa: E402
from kaggle_kit.text import spelled_out  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CACHE = bench_models.CACHE
SEVERITIES = (2, 4)
MEASURED_ERROR_JSON = ROOT / "kaggle_kit" / "gap" / "measured_error.json"
# The benchmark models train on the rest of the CIFAR-10 training images; the cached "holdout" logits, CC-Synth's
# synthetic pools and the scripts that read them are all of this split.
HOLDOUT_IMAGES, HOLDOUT_SEED = 5000, 0


def benchmark_split(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(training, holdout) indices of the benchmark models."""
    return holdout_split(labels, HOLDOUT_IMAGES, HOLDOUT_SEED)


def shifted_sets(images: np.ndarray, labels: np.ndarray, seed: int = 0):
    """Yield (name, kind, build) with build() -> (images, labels); kind: clean | covariate | label | both."""
    rng_seed = seed
    yield "clean", "clean", lambda: (images, labels)
    for name in shifts.CORRUPTIONS:
        for sev in SEVERITIES:
            yield f"{name}-{sev}", "covariate", (lambda n=name, s=sev: (shifts.corrupt(images, n, s, rng_seed), labels))

    def mixed(k: int = 0):
        """Every image gets one random corruption at a random severity 1-5 (like a scraped test set)."""
        rng = np.random.default_rng(seed + 100 + k)
        out = images.copy()
        names = list(shifts.CORRUPTIONS)
        which = rng.integers(0, len(names), len(images))
        sev = rng.integers(1, 6, len(images))
        for i, name in enumerate(names):
            for s in range(1, 6):
                m = (which == i) & (sev == s)
                if m.any():
                    out[m] = shifts.corrupt(images[m], name, s, seed + 10 * i + s)
        return out, labels

    yield "mixed", "covariate", mixed

    def mixed2():
        """Every image gets two different random corruptions, severities 1-4 each, one after the other."""
        rng = np.random.default_rng(seed + 200)
        out = images.copy()
        names = list(shifts.CORRUPTIONS)
        first = rng.integers(0, len(names), len(images))
        second = (first + rng.integers(1, len(names), len(images))) % len(names)
        sev1, sev2 = rng.integers(1, 5, len(images)), rng.integers(1, 5, len(images))
        for which, sev, offset in ((first, sev1, 0), (second, sev2, 50)):
            for i, name in enumerate(names):
                for s in range(1, 5):
                    m = (which == i) & (sev == s)
                    if m.any():
                        out[m] = shifts.corrupt(out[m], name, s, seed + offset + 10 * i + s)
        return out, labels

    yield "mixed2", "covariate", mixed2

    def label_shifted(priors_fn, base_fn, key: int):
        def build():
            x, y = base_fn()
            rng = np.random.default_rng(seed + 1000 + key)
            idx = shifts.resample_to_priors(y, priors_fn(rng), 10_000, rng)
            return x[idx], y[idx]
        return build

    def long_tail(r):
        return shifts.long_tail_priors(10, 10.0, r)

    def dirichlet(r):
        return shifts.dirichlet_priors(10, 1.0, r)

    def clean():
        return images, labels

    yield "longtail10", "label", label_shifted(long_tail, clean, 1)
    yield "dirichlet1", "label", label_shifted(dirichlet, clean, 2)
    yield "dirichlet1-b", "label", label_shifted(dirichlet, clean, 3)
    yield "blur-3+longtail10", "both", label_shifted(
        long_tail, lambda: (shifts.corrupt(images, "blur", 3, rng_seed), labels), 4)
    yield "jpeg-3+dirichlet1", "both", label_shifted(
        dirichlet, lambda: (shifts.corrupt(images, "jpeg", 3, rng_seed), labels), 5)
    yield "mixed+longtail10", "both", label_shifted(long_tail, mixed, 6)


def load_logits(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return z["logits"], z["labels"]


def load_stats(path: Path) -> np.ndarray:
    return np.load(path, allow_pickle=False)


def cached_logits(model_name: str, model, set_name: str, build,
                  logits_of=bench_models.logits_of) -> tuple[np.ndarray, np.ndarray]:
    """``logits_of(model, images)`` on the set ``build()`` makes, with its labels; cached under the names."""
    path = CACHE / f"logits_{model_name}_{set_name}.npz"
    if path.is_file():
        return read_cached(path, load_logits)
    x, y = build()
    lg = logits_of(model, x)
    atomic_save_npz(path, logits=lg, labels=y)
    return lg, y


def cached_stats(set_name: str, build) -> np.ndarray:
    """Image statistics of a set's images (model independent) for CC-Synth."""
    path = CACHE / f"stats_{set_name}.npy"
    if path.is_file():
        return read_cached(path, load_stats)
    stats = synthetic.stats_matrix(build()[0])
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:  # a file object: np.save appends ".npy" to a name
        np.save(fh, stats)
    return stats


def cached_synthetic(model_name: str, model, holdout_images: np.ndarray, holdout_labels: np.ndarray):
    """The model's logits on corrupted holdout copies (every family x severity 1-5, 1000 images each)."""
    path = CACHE / f"synthetic_{model_name}.npz"
    if path.is_file():
        return read_cached(path, synthetic.SyntheticLogits.load)
    sets = synthetic.make_synthetic_sets(holdout_images, holdout_labels, per_set=1000, seed=0)
    syn = synthetic.synthetic_logits(sets, bench_models.logits_of(model, sets.images), holdout_images)
    syn.save(path)
    return syn


def unseen_families(set_name: str) -> tuple[str, ...]:
    """The corruption family a set was made with: CC-Synth is trained without it (an unseen shift).

    Sets mixing every family ("mixed") cannot leave one out; they are marked in the tables."""
    family = set_name.split("+")[0].rsplit("-", 1)[0]
    return (family,) if family in shifts.CORRUPTIONS else ()


def load_standin() -> tuple[np.ndarray, np.ndarray]:
    comp = load_competition(shared_data_dir() / "standin" / "cifar_test_nolabel.pkl")
    lab = pd.read_csv(shared_data_dir() / "standin" / "labels.csv").set_index("ID")["Labels"]
    return comp.images, lab.loc[comp.ids].to_numpy(np.int64)


def evaluate(models: list[str], leave_family_out: bool = True, sets_fn=None) -> pd.DataFrame:
    """Every estimator on every set for every model. ``leave_family_out=False`` trains CC-Synth on every
    corruption family, as the toolkit deploys it: the error on shifts of a family it has seen. ``sets_fn``
    (test images, test labels) -> [(name, kind, build)] replaces the benchmark's sets and the stand-in."""
    CACHE.mkdir(parents=True, exist_ok=True)
    data = load_cifar10(shared_data_dir() / "cifar-10-python" / "cifar-10-batches-py")
    tr, ho = benchmark_split(data.train_labels)
    if sets_fn is None:
        sets = list(shifted_sets(data.test_images, data.test_labels))
        sets.append(("standin", "standin", load_standin))
    else:
        sets = list(sets_fn(data.test_images, data.test_labels))
    logits: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    holdout: dict[str, np.ndarray] = {}
    synth: dict[str, synthetic.SyntheticLogits] = {}
    stats = {name: cached_stats(name, build) for name, _, build in sets}
    for m in models:
        model = bench_models.load_or_train(m, data.train_images[tr], data.train_labels[tr])
        holdout[m] = cached_logits(m, model, "holdout", lambda: (data.train_images[ho], data.train_labels[ho]))[0]
        synth[m] = cached_synthetic(m, model, data.train_images[ho], data.train_labels[ho])
        for name, _, build in sets:
            t0 = time.time()
            logits[m, name] = cached_logits(m, model, name, build)
            if time.time() - t0 > 1:
                print(f"  logits {m} {name}: {time.time() - t0:.0f} s", flush=True)
    hold_y = data.train_labels[ho]
    unseen = unseen_families if leave_family_out else (lambda name: ())
    rows = []
    for m in models:
        others = [o for o in models if o != m]
        for name, kind, _ in sets:
            lg, y = logits[m, name]
            members = None
            if others:  # agreement with the other model(s) on the same images
                members = ([holdout[m]] + [holdout[o] for o in others], [lg] + [logits[o, name][0] for o in others])
            res = estimators.estimate_all(holdout[m], hold_y, lg, members=members, synthetic=synth[m],
                                          target_stats=stats[name], exclude=unseen(name))
            true = float((lg.argmax(1) == y).mean())
            row = {"model": m, "set": name, "kind": kind, "n": len(y), "holdout_acc": res["holdout_acc"],
                   "true_acc": true, "cc_unseen": bool(unseen(name))}
            for est, val in res["estimates"].items():
                row[est] = val
            rows.append(row)
    return pd.DataFrame(rows)


def evaluate_group(models: list[str], group: str) -> pd.DataFrame:
    """One group of sets for the experiment scripts: ``pair``, this script's generated sets with the tested family
    left out of CC-Synth's pool (the stand-in dropped, as in the "all generated" column); ``4`` / ``5``, that
    check's held-out families (``heldout_families.py``), every pool family kept."""
    if group == "pair":
        df = evaluate(models)
        return df[df["kind"] != "standin"]
    from heldout_families import novel_sets

    return evaluate(models, leave_family_out=False, sets_fn=lambda x, y: novel_sets(x, y, int(group)))


def mae_points(df: pd.DataFrame, estimator: str) -> pd.Series:
    """Mean absolute error in points per model, and over every row (``all``)."""
    err = (df[estimator] - df["true_acc"]).abs() * 100
    return pd.concat([err.groupby(df["model"]).mean(), pd.Series({"all": err.mean()})])


# Estimators the toolkit combines from other estimators' values: computable from saved rows' columns.
COMBINED = (("Median-4", estimators.median_of), ("Median-4-Spread", estimators.median_spread_of))


def with_combined(df: pd.DataFrame) -> pd.DataFrame:
    """Rows saved before a member-combining estimator existed get it from their members' columns (the same pure
    functions the toolkit uses)."""
    out = df.copy()
    for name, combine in COMBINED:
        if name not in out.columns:
            out[name] = [combine(r) for r in out.to_dict("records")]
    return out


def read_rows(path) -> pd.DataFrame:
    """A saved rows CSV (``--rows``, ``--confirm``, ``--others``); a missing or unreadable one stops the script with
    one line naming it and exit 2 (bad input), before anything is evaluated or written."""
    try:
        return pd.read_csv(path)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        why = e.strerror if isinstance(e, OSError) and e.strerror else str(e).splitlines()[0]
        print(f"error: cannot read the rows CSV {spelled_out(str(path))}: {spelled_out(why)}", file=sys.stderr)
        raise SystemExit(2) from None


def saved_rows(paths) -> pd.DataFrame:
    """Saved rows CSVs as one frame, each file combined on its own (files saved before an estimator existed get
    it from their own members' columns)."""
    return pd.concat([with_combined(read_rows(p)) for p in paths], ignore_index=True)


def recorded_rows(path: Path | None = None) -> pd.DataFrame:
    """The recorded benchmark's model-sets rebuilt from ``RESULTS_gap.md``'s per-set table (signed errors rounded to
    0.1 points; the table has no holdout accuracies): estimates = true accuracy + signed error, as fractions."""
    text = (path or ROOT / "benchmarks" / "RESULTS_gap.md").read_text().split("## Per set", 1)[1].split("\n## ")[0]
    table = [line for line in text.splitlines() if line.startswith("|")]
    header = [h.strip() for h in table[0].strip("|").split("|")]
    df = pd.DataFrame([[c.strip() for c in line.strip("|").split("|")] for line in table[2:]], columns=header)
    df["true_acc"] = pd.to_numeric(df["true acc"]) / 100
    for c in header[header.index("true acc") + 1:]:
        df[c] = df["true_acc"] + pd.to_numeric(df[c].str.replace("+", "", regex=False)) / 100
    return df


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _by_predicted_drop(df: pd.DataFrame, est: str) -> dict:
    """{bin: {n, mae, bias, p90}} over the rows whose predicted drop falls in each ``DROP_BINS_POINTS`` bin."""
    signed = df[est] - df["true_acc"]
    labels = (100 * (df["holdout_acc"] - df[est])).map(estimators.drop_bin)
    out = {}
    for label in estimators.DROP_BINS_POINTS:
        s = signed[labels == label]
        if len(s):
            out[label] = {"n": int(len(s)), "mae": float(s.abs().mean()), "bias": float(s.mean()),
                          "p90": float(s.abs().quantile(0.9))}
    return out


def estimator_columns(df: pd.DataFrame) -> list[str]:
    """The rows' columns that hold a toolkit estimator's estimate (every other column describes the row)."""
    return [c for c in df.columns if c in estimators.ESTIMATORS or c == "Agreement"]


def error_summary(df: pd.DataFrame, est: str) -> dict:
    """``measured_error.json``'s entry for one estimator (fractions); "by_predicted_drop" needs "holdout_acc"."""
    err = (df[est] - df["true_acc"]).abs()
    gen = df["kind"] != "standin"
    out = {"mae_all_generated": float(err[gen].mean()),
           "mae_standin": float(err[~gen].mean()),
           "mae_label_shift": float(err[df["kind"].isin(["label", "both"])].mean()),
           "mae_covariate": float(err[df["kind"].isin(["covariate", "clean"])].mean()),
           "max_error_generated": float(err[gen].max()),
           "p90_generated": float(err[gen].quantile(0.9)),
           "n_generated": int(gen.sum())}
    if "holdout_acc" in df.columns:
        out["by_predicted_drop"] = _by_predicted_drop(df[gen], est)
    return out


def add_derived_to_measured_error(rows: pd.DataFrame, path: Path = MEASURED_ERROR_JSON) -> list[str]:
    """Give each member-combining estimator that ``measured_error.json`` lacks (or got this way before) its entry
    from ``rows`` (the recorded per-set table); every measured entry stays as it is. Returns the names written."""
    payload = json.loads(path.read_text())
    rows = with_combined(rows)
    derived = payload.setdefault("derived", {})
    added = [n for n, _ in COMBINED if n not in payload["estimators"] or n in derived]
    for name in added:
        payload["estimators"][name] = error_summary(rows, name)
        derived[name] = ("combined from its members' per-set estimates in benchmarks/RESULTS_gap.md (rounded to 0.1 "
                         "points); "
                         "not binned by predicted drop, as that table has no holdout accuracies")
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return added


def tables(df: pd.DataFrame) -> tuple[str, dict]:
    est_cols = estimator_columns(df)
    err = df[est_cols].sub(df["true_acc"], axis=0).abs()
    gen = df["kind"] != "standin"
    lines = ["## Mean absolute error (points) on the generated shifted sets", "",
             "Rows: estimator; columns: model (holdout accuracy) and set group. Lower is better.", ""]
    groups = [("all generated", gen), ("covariate", df["kind"].isin(["covariate", "clean"])),
              ("label shift", df["kind"] == "label"), ("label+covariate", df["kind"] == "both"),
              ("stand-in", df["kind"] == "standin")]
    header = ["estimator"]
    cols = []
    for m in df["model"].unique():
        acc = df.loc[(df["model"] == m) & (df["set"] == "clean"), "true_acc"].iloc[0]
        for gname, gmask in groups:
            header.append(f"{m} ({_pct(acc)}%) {gname}")
            cols.append((m, gmask))
    header.append("all models, all generated")
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    summary = {}
    for est in est_cols:
        vals = [_pct(err.loc[(df["model"] == m) & g, est].mean()) for m, g in cols]
        summary[est] = error_summary(df, est)
        lines.append(f"| {est} | " + " | ".join(vals) + f" | **{_pct(summary[est]['mae_all_generated'])}** |")
    lines += ["", "## MAE (points) by how far accuracy fell (holdout - true, all models, generated sets)", "",
              "The competition's teams fell 8-12 points; the bins say how each estimator does in that regime.", ""]
    drop = 100 * (df["holdout_acc"] - df["true_acc"])
    bins = estimators.DROP_BINS_POINTS
    masks = [gen & (drop > lo) & (drop <= hi) for lo, hi in bins.values()]
    heads = [f"{label} ({int(m.sum())} sets)" for label, m in zip(bins, masks)]
    lines.append("| estimator | " + " | ".join(heads) + " |")
    lines.append("|" + "---|" * (len(bins) + 1))
    for est in est_cols:
        lines.append(f"| {est} | " + " | ".join(_pct(err.loc[m, est].mean()) for m in masks) + " |")
    lines += ["", "## Error by the drop each estimator *predicted* (holdout - estimate): what the report quotes", "",
              "Before submitting only the predicted drop is known, so the report quotes the bin its estimate falls "
              "in. Cells: MAE / mean signed error (estimate - true) / 90th percentile of |error|, points (sets).", ""]
    lines.append("| estimator | " + " | ".join(bins) + " |")
    lines.append("|" + "---|" * (len(bins) + 1))
    for est in est_cols:
        cells = []
        for label in bins:
            b = summary[est]["by_predicted_drop"].get(label)
            cells.append("-" if b is None else
                         f"{_pct(b['mae'])} / {100 * b['bias']:+.1f} / {_pct(b['p90'])} ({b['n']})")
        lines.append(f"| {est} | " + " | ".join(cells) + " |")
    lines += ["", "## Per set: true accuracy and each estimator's signed error (estimate - true, points)", ""]
    head = ["model", "set", "kind", "n", "true acc"] + est_cols
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    for _, r in df.iterrows():
        cells = [r["model"], r["set"], r["kind"], str(r["n"]), _pct(r["true_acc"])]
        cells += [f"{100 * (r[e] - r['true_acc']):+.1f}" for e in est_cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines), summary


def set_bootstrap(df: pd.DataFrame, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """MAE per estimator over the generated sets with a 95% interval, and its paired difference to the best.

    Resamples *sets* (with every model's row of each drawn set), not rows: one set's errors are correlated
    across models (noise-4 is hard for all of them), and the question the interval answers is how the MAE would
    move on other shifted sets like these. Points; columns mae, lo, hi, diff, diff_lo, diff_hi (diff: this
    estimator minus the lowest-MAE one, 0 for that one).
    """
    gen = df[df["kind"] != "standin"]
    est_cols = [c for c in estimator_columns(gen) if gen[c].notna().all()]
    sets = gen["set"].unique()
    # (sets, estimators): each set's mean |error| over the models, so a drawn set weighs as all its rows do
    per_set = (gen[est_cols].sub(gen["true_acc"], axis=0).abs().groupby(gen["set"]).mean().loc[sets])
    counts = gen.groupby("set").size().loc[sets].to_numpy(float)
    e = 100 * per_set.to_numpy()
    draws = np.random.default_rng(seed).integers(0, len(sets), (n_boot, len(sets)))
    w = counts[draws]                                                    # rows carried by each drawn set
    boot = np.einsum("bs,bse->be", w, e[draws]) / w.sum(1, keepdims=True)  # (n_boot, estimators)
    mae = (counts @ e) / counts.sum()
    best = int(np.argmin(mae))
    diff = boot - boot[:, [best]]
    return pd.DataFrame({"mae": mae, "lo": np.percentile(boot, 2.5, 0), "hi": np.percentile(boot, 97.5, 0),
                         "diff": mae - mae[best], "diff_lo": np.percentile(diff, 2.5, 0),
                         "diff_hi": np.percentile(diff, 97.5, 0)}, index=est_cols).sort_values("mae")


def bootstrap_table(df: pd.DataFrame) -> str:
    b = set_bootstrap(df)
    n_sets = int(df.loc[df["kind"] != "standin", "set"].nunique())
    lines = [f"## MAE with 95% intervals (bootstrap over the {n_sets} generated sets, all models' rows of a drawn set)",
             "", "Difference: this estimator's MAE minus the best one's on the same draws (paired), points.", "",
             "| estimator | MAE | 95% interval | difference to the best | 95% interval |", "|---|---|---|---|---|"]
    for name, r in b.iterrows():
        lines.append(f"| {name} | {r['mae']:.2f} | {r['lo']:.2f}-{r['hi']:.2f} | {r['diff']:+.2f} | "
                     f"{r['diff_lo']:+.2f} to {r['diff_hi']:+.2f} |")
    return "\n".join(lines)


def environment() -> str:
    """What the numbers depend on besides the code: trained weights move with the CPU's kernels and the
    corruptions with PIL/scipy, so a retrain elsewhere gives slightly different rows (RESULTS.md)."""
    import platform

    import PIL
    import scipy
    import sklearn

    return (f"Python {platform.python_version()}, torch {torch.__version__} "
            f"(CPU kernels {torch.backends.cpu.get_cpu_capability()}, {torch.get_num_threads()} thread), "
            f"numpy {np.__version__}, scipy {scipy.__version__}, Pillow {PIL.__version__}, "
            f"scikit-learn {sklearn.__version__}, {platform.processor() or platform.machine()}")


def seed_spread(df: pd.DataFrame, names: tuple[str, ...] = ("Median-4", "CC-Synth", "Shift-Gated", "ATC-NE-EM")) -> str:
    """MAE over the generated sets per training seed of each recipe trained more than once, and its range.

    Shows how far the benchmark's per-model numbers move when only the training run changes."""
    gen = df[df["kind"] != "standin"]
    base = gen["model"].str.partition("@")[0]
    lines = []
    for b in base.unique():
        if gen.loc[base == b, "model"].nunique() < 2:
            continue
        if not lines:
            lines = ["## Spread over training seeds (MAE points, generated sets)", "",
                     "Same recipe, same sets, only the training seed differs (`--models NAME@SEED`).", "",
                     "| recipe | estimator | per seed | mean | max - min |",
                     "|---|---|---|---|---|"]
        sub = gen[base == b]
        for est in names:
            if est not in sub:
                continue
            per = 100 * (sub[est] - sub["true_acc"]).abs().groupby(sub["model"], sort=False).mean()
            cells = ", ".join(f"{m.partition('@')[2] or '0'}: {v:.2f}" for m, v in per.items())
            lines.append(f"| {b} | {est} | {cells} | {np.mean(per):.2f} | {np.ptp(per):.2f} |")
    return "\n".join(lines)


def _model_name(name: str) -> str:
    """argparse type: a benchmark model, optionally ``NAME@SEED``; a bad one is a usage error naming it."""
    try:
        bench_models.parse_name(name)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(bench_models.BENCHMARK_MODELS), type=_model_name,
                        help="benchmark models; NAME@SEED trains NAME's recipe with another seed")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--tables", help="write the tables to this markdown file instead of RESULTS_gap.md, "
                                         "and leave measured_error.json alone (seed studies, subsets)")
    parser.add_argument("--rows", help="re-render the tables from a saved rows CSV instead of evaluating")
    parser.add_argument("--cc-all-families", action="store_true",
                        help="train CC-Synth on every corruption family, tested one included (as deployed; "
                             "needs --tables: the recorded numbers leave the tested family out)")
    parser.add_argument("--add-derived", action="store_true",
                        help="add (or refresh) the member-combining estimators measured_error.json has not measured, "
                             "computed from RESULTS_gap.md's per-set table (no evaluation; measured entries stay)")
    args = parser.parse_args(argv)
    if args.add_derived:
        added = add_derived_to_measured_error(recorded_rows())
        print(f"written to {MEASURED_ERROR_JSON.name}: {', '.join(added) or 'nothing (all measured)'}")
        return 0
    if args.cc_all_families and not (args.tables or args.no_write):
        parser.error("--cc-all-families writes elsewhere than the recorded tables: add --tables FILE or --no-write")
    torch.set_num_threads(1)
    t0 = time.time()
    df = with_combined(read_rows(args.rows)) if args.rows else evaluate(args.models, not args.cc_all_families)
    text, summary = tables(df)
    spread = seed_spread(df)
    # Saved rows were computed wherever they were computed: this machine's environment would mislabel them.
    source = f"Rows re-rendered from {args.rows}" if args.rows else f"Environment: {environment()}"
    if args.cc_all_families:
        source += ("\n\nCC-Synth (and Median-4) here: trained on every corruption family, the tested one included "
                   "(as the toolkit deploys it), not leaving it out as the recorded tables do.")
    text = f"{source}\n\n{text}\n\n{bootstrap_table(df)}" + (f"\n\n{spread}" if spread else "")
    print(text)
    if args.tables and not args.no_write:
        Path(args.tables).write_text(text + "\n")
        if not args.rows:  # the evaluation's rows beside its tables: `--rows` re-renders or explores them later
            rows_csv = Path(args.tables).with_suffix(".rows.csv")
            df.to_csv(rows_csv, index=False)
            print(f"\nrows: {rows_csv} (re-render with --rows {rows_csv} --tables FILE)")
    elif not args.no_write:
        CACHE.mkdir(parents=True, exist_ok=True)
        if not args.rows:
            df.to_csv(CACHE / "bench_gap_rows.csv", index=False)
        best = min(summary, key=lambda k: summary[k]["mae_all_generated"])
        payload = {"source": "benchmarks/bench_gap.py",
                   "n_sets": int(df.loc[df["kind"] != "standin", "set"].nunique()),
                   "models": {m: float(df.loc[(df["model"] == m) & (df["set"] == "clean"), "true_acc"].iloc[0])
                              for m in df["model"].unique()},
                   "best": best, "estimators": summary}
        MEASURED_ERROR_JSON.write_text(json.dumps(payload, indent=2) + "\n")
        (ROOT / "benchmarks" / "RESULTS_gap.md").write_text(text + "\n")
    print(f"\n({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    entry.run(main)
