"""Does the ledger correction survive Kaggle's public/private split?

``bench_gap_ledger.py`` measures the correction with each earlier model's miss taken on its *whole* shifted set.
On Kaggle the miss the ledger learns is taken on the public split only, the next submission is judged first on
that same public split, and finally on the private rest. Both accuracies then carry sampling noise; the two
submissions' public-split noise is correlated (the same hard images), their private-split noise is not
cancelled by it. This script replays the correction with those splits drawn at random, from the per-image
correctness in the cached logits, on the rows that have them: the held-out families of checks 4-8
(36 sets, 8 models). It trains and predicts nothing.

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

from kaggle_kit.gap import leaderboard_feedback  # noqa: E402
from kaggle_kit.gap.leaderboard_feedback import PUBLIC_SPLIT  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT_MD = HERE / "RESULTS_gap_public_split.md"
# checks 6, 7 and 8's rows, saved by the commands PREREGISTERED.md records (bench_gap_novel.py --save-rows)
CHECK_ROWS = tuple(bench_gap.CACHE / f"check{c}_c{f}.csv" for c in (6, 7, 8) for f in (4, 5))
FRACTIONS = (0.5, 0.3)  # the fake Kaggle's default public share, and a smaller public leaderboard
TARGETS = ("full", "public", "private")  # what the corrected estimate is compared with (see ``errors``)
SCENARIOS = ("plain", "one_different_recipe", "one_same_recipe", "mean_of_others")


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
           recipes: list[str], band: float = 0.0) -> dict[str, dict[str, list]]:
    """Absolute errors of one set's models per scenario and target, each a model-set's (or pair's) mean over the
    draws. "full": misses and truth on the whole set (``bench_gap_ledger.py``'s number); "public": misses learnt
    on the public split, judged by the public score; "private": the same misses, judged by the private score.
    "in_<target>": the share within ``band`` (the report's range half-width); "b": the corrected model's index."""
    out = {s: {k: [] for k in (*TARGETS, *(f"in_{t}" for t in TARGETS), "b")} for s in SCENARIOS}
    est = estimate[:, None]

    def add(scenario: str, b: int, off_full: float, off_public: np.ndarray) -> None:
        errs = {"full": np.abs(np.clip(estimate[b] - off_full, 0, 1) - full[b])[None]}
        corrected = np.clip(estimate[b] - off_public, 0, 1)
        errs["public"], errs["private"] = np.abs(corrected - public[b]), np.abs(corrected - private[b])
        for t, e in errs.items():
            out[scenario][t].append(float(np.mean(e)))
            out[scenario][f"in_{t}"].append(float(np.mean(e <= band)))
        out[scenario]["b"].append(b)

    m = len(estimate)
    for b in range(m):
        add("plain", b, 0.0, np.zeros(public.shape[1]))
        for a in range(m):
            if a != b:
                add("one_same_recipe" if recipes[a] == recipes[b] else "one_different_recipe", b,
                    estimate[a] - full[a], (est[a] - public[a]))
        others = [a for a in range(m) if a != b]
        if others:
            add("mean_of_others", b, float(np.mean(estimate[others] - full[others])),
                np.mean(est[others] - public[others], axis=0))
    return out


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
    with np.load(path) as z:
        correct = z["logits"].argmax(1) == z["labels"]
    if abs(correct.mean() - true_acc) > 1e-6:
        raise SystemExit(f"error: {path.name}: accuracy {correct.mean():.6f} is not the row's {true_acc:.6f}")
    return correct


def measure(df: pd.DataFrame, names: tuple[str, ...], fraction: float, draws: int, seed: int,
            fresh: frozenset[str] = frozenset()) -> dict:
    """{estimator: {scenario: {target: MAE}}} plus "public_vs_private" and counts, over every set of ``df``; and
    for the ``fresh`` models (none of whose rows set the range), how often the corrected prediction fell inside
    the report's range (+- ``leaderboard_feedback.correction_p90``)."""
    rng = np.random.default_rng(seed)
    acc = {e: {s: {t: [] for t in TARGETS} for s in SCENARIOS} for e in names}
    cover = {e: {s: {t: [] for t in TARGETS} for s in SCENARIOS} for e in names}
    noise = []
    for set_name, g in df.groupby("set", sort=True):
        models = g["model"].tolist()
        correct = np.stack([correctness(m, set_name, t) for m, t in zip(models, g["true_acc"])])
        public, private = split_accuracies(correct, fraction, draws, rng)
        noise += public_noise(public, private)
        for e in names:
            p90 = leaderboard_feedback.correction_p90(e)
            for s, out in errors(g[e].to_numpy(float), g["true_acc"].to_numpy(float), public, private,
                                 [bench_gap_ledger.recipe(m) for m in models], p90 or 0.0).items():
                for t in TARGETS:
                    acc[e][s][t] += out[t]
                    if p90 is not None:
                        cover[e][s][t] += [c for c, b in zip(out[f"in_{t}"], out["b"]) if models[b] in fresh]
    return {"estimators": {e: {s: {t: float(np.mean(v)) for t, v in by_t.items()} | {"n": len(by_t["full"])}
                               for s, by_t in acc[e].items() if by_t["full"]} for e in names},
            "range_coverage": {e: {s: {t: float(np.mean(v)) for t, v in by_t.items()} | {"n": len(by_t["full"])}
                                   for s, by_t in cover[e].items() if by_t["full"]}
                               for e in names if any(by_t["full"] for by_t in cover[e].values())},
            "fresh_models": sorted(fresh), "public_vs_private": float(np.mean(noise)), "model_sets": len(noise)}


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
             "one_same_recipe": "one earlier, same recipe (other seed)", "mean_of_others": "mean of the others"}
    head = " | ".join(f"{f:.0%} public: vs public | vs private" for f in results)
    lines = [f"## The ledger correction under a public/private split: {df['set'].nunique()} held-out sets x "
             f"{len(models)} models ({', '.join(models)}); MAE points", "",
             f"Each set's images are split at random, {draws} times, into a public part and a private rest, shared by "
             "every model. Misses are learnt on the public part; the corrected estimate is judged by the public and "
             "by the private score. \"Whole set\" is `bench_gap_ledger.py`'s number (no split). Command: "
             "`.venv/bin/python benchmarks/bench_gap_public_split.py` (arithmetic on checks 4-8's saved rows and "
             "cached logits).", ""]
    for est in next(iter(results.values()))["estimators"]:
        lines += [f"### {est}", "", f"| scenario | whole set | {head} |",
                  "|---|---|" + "---|---|" * len(results)]
        lines += [f"| {words[s]} | {cells}" for s in SCENARIOS
                  if (cells := row_cells(results, "estimators", est, s, lambda v: f"{100 * v:.2f}"))]
        lines.append("")
    first = next(iter(results.values()))
    if first["range_coverage"]:
        lines += [f"### How often the corrected prediction fell inside the report's range (corrected +- p90 of "
                  f"`leaderboard_feedback.correction_p90`), on the models whose rows did not set it "
                  f"({', '.join(first['fresh_models'])})", "",
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
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    df = load_rows((*bench_gap_novel.ROWS.values(), *CHECK_ROWS))
    sources = leaderboard_feedback.measurements()["sources"]
    used = {m for k in (leaderboard_feedback.BENCHMARK, leaderboard_feedback.HELDOUT) for m in sources[k]["models"]}
    fresh = frozenset(df["model"]) - used  # their rows did not set the range's p90
    results = {f: measure(df, bench_gap_ledger.ESTIMATORS, f, args.draws, args.seed + i, fresh)
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
    raise SystemExit(main())
