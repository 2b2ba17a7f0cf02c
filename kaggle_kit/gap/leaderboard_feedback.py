"""Correcting a new prediction by how far the same estimator missed on earlier, scored submissions.

Why: an estimator's error is mostly a property of the shift, not of the model. On the benchmark's shifted
sets, one model's signed error predicts another model's on the same set well (``benchmarks/bench_gap_ledger.py``),
and every submission to a competition meets the same shift. So once the ledger holds a public score for a
submission whose prediction it recorded, the next prediction by that estimator is shifted by the mean miss -
of the earlier submissions of the run's own recipe when there are any, whose misses carry over best
(pre-registered check 9), else of its label-smoothing variants' (the same recipe with another
``train.label_smoothing``: check 12), else of all of them (the rows of the same network, or of the nearest local
accuracy, alone did worse for a new recipe: check 11).
The estimator is unchanged and still needs no labels; the public scores are the only labels used, and a
submission's own score never corrects its own prediction. The estimator corrected need not be the recommended
one: the ledger keeps every estimator's prediction, and the one whose miss carries over best is used
(``correction_order``, pre-registered check 8).
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from enum import Enum
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from kaggle_kit.gap.estimators import measured_error, symmetric_band
from kaggle_kit.ledger import RUN_SEPARATOR, as_fraction, estimates_of
from kaggle_kit.runs import RecipeKeys
from kaggle_kit.text import count_words, noun_for, percent

SCORED_STATUS = "COMPLETE"


class Scope(Enum):
    """Which earlier submissions a correction used: one kind only, in this order of preference."""
    SAME_RECIPE = " of the same recipe"  # all of the predicted run's recipe (``runs.RecipeKeys.exact``; check 9)
    SMOOTHING_VARIANT = " of the same recipe but for label smoothing"  # none of its own, all its variants (check 12)
    EVERY = ""  # every scored row


@dataclass(frozen=True)
class LedgerOffset:
    """Mean (recorded prediction - public score) of ``n`` scored submissions predicted by ``estimator``."""
    estimator: str
    offset: float   # accuracy fraction; positive: the estimator predicted too high
    n: int
    scope: Scope = Scope.EVERY

    @property
    def same_recipe(self) -> bool:
        return self.scope is Scope.SAME_RECIPE

    @property
    def smoothing_variant(self) -> bool:
        return self.scope is Scope.SMOOTHING_VARIANT

    def apply(self, estimate: float) -> float:
        return apply_offset(estimate, self.offset)

    def scope_words(self) -> str:
        """Appended to "N scored submissions"."""
        return self.scope.value

    def scored_words(self) -> str:
        """'1 scored submission of the same recipe', '3 scored submissions': the rows the correction used."""
        return count_words(self.n, "scored submission") + self.scope_words()

    def predictions_were(self) -> str:
        """'prediction was' or 'predictions were', agreeing with ``n``."""
        return noun_for(self.n, "prediction was", "predictions were")

    def miss_words(self) -> str:
        """The mean miss as a reader checks it against the correction: too high is subtracted, too low added (an
        average only over more than one submission)."""
        mean = "" if self.n == 1 else " on average"
        if abs(self.offset) < 5e-4:
            return f"on target{mean}"
        return f"{100 * abs(self.offset):.1f} points too {'high' if self.offset > 0 else 'low'}{mean}"


def mean_offset(predicted: Sequence[float], observed: Sequence[float]) -> float:
    """Mean signed miss; the benchmark and the ledger both use this one definition."""
    return float(np.mean(np.asarray(predicted, float) - np.asarray(observed, float)))


def apply_offset(estimate: float, offset: float) -> float:
    return float(min(1.0, max(0.0, estimate - offset)))


def row_estimates(row: Mapping, legacy_estimator: str | None = None) -> dict[str, float]:
    """Every prediction a ledger row recorded at upload, fractions: its ``estimates`` and the recorded one (rows
    written before the ledger named the estimator count as ``legacy_estimator``'s)."""
    out = estimates_of(str(row.get("estimates") or ""))
    pred, by = float(row["predicted_lb_acc"]), row.get("predicted_by") or legacy_estimator
    if by and not math.isnan(pred):
        out.setdefault(by, as_fraction(pred))
    return out


@dataclass(frozen=True)
class ScoredRow:
    """A scored ledger row as the correction reads it, parsed once: a replay reads every row once per later row."""
    position: int                  # the row's place in the ledger
    estimates: Mapping[str, float]  # ``row_estimates``, fractions
    public: float                  # fraction
    competition: str
    runs: frozenset[str]
    recipe: RecipeKeys | None


def scored_rows(ledger: pd.DataFrame, legacy_estimator: str | None = None) -> list[ScoredRow]:
    """The rows with a public score and Kaggle's scored status, in ledger order."""
    out = []
    for i, r in enumerate(ledger.to_dict("records")):
        public = float(r["public_score"])
        if math.isnan(public) or r["status"] != SCORED_STATUS:
            continue
        out.append(ScoredRow(i, row_estimates(r, legacy_estimator), as_fraction(public), r["competition"],
                             frozenset(str(r["runs"]).split(RUN_SEPARATOR)), RecipeKeys.from_ledger_row(r)))
    return out


def ledger_offset(ledger: pd.DataFrame | Sequence[ScoredRow], estimator: str, competition: str | None,
                  exclude_runs: Iterable[str] = (), legacy_estimator: str | None = None,
                  recipe: RecipeKeys | None = None, by_smoothing_variant: bool = False) -> LedgerOffset | None:
    """The offset from the ledger's scored rows of ``competition`` (None: every row) for which ``estimator``
    made a prediction at upload (``ledger``: the table, or its ``scored_rows``).

    Rows whose runs are exactly ``exclude_runs`` (the run being predicted, if it was submitted before) are left
    out. With ``recipe``, only the rows of that recipe count when there are any (their misses carry over best:
    PREREGISTERED.md check 9); failing those, with ``by_smoothing_variant``, only the rows of the recipe with
    another label smoothing (check 12); else every row (check 11). None when no row qualifies.
    """
    rows = scored_rows(ledger, legacy_estimator) if isinstance(ledger, pd.DataFrame) else ledger
    exclude = frozenset(x for x in exclude_runs if x)  # a row without runs (a bare CSV) excludes nothing
    pairs = [(r.estimates[estimator], r.public, r.recipe) for r in rows
             if estimator in r.estimates and (competition is None or r.competition == competition)
             and not (exclude and r.runs == exclude)]
    same = [p for p in pairs if recipe and p[2] and p[2].exact == recipe.exact]
    variant = [] if same or not (recipe and recipe.except_smoothing and by_smoothing_variant) else [
        p for p in pairs if p[2] and p[2].except_smoothing == recipe.except_smoothing]
    pairs = same or variant or pairs
    if not pairs:
        return None
    predicted, observed = zip(*((p[0], p[1]) for p in pairs))
    scope = Scope.SAME_RECIPE if same else Scope.SMOOTHING_VARIANT if variant else Scope.EVERY
    return LedgerOffset(estimator, mean_offset(predicted, observed), len(pairs), scope)


# ------------------------------------------------------------------------------------------ the evidence
BENCHMARK, HELDOUT, SEEDS, CHECK6, CHECK7, CHECK8 = "benchmark", "heldout", "seeds", "check6", "check7", "check8"
CHECK9 = "check9"  # same-recipe rows first, and their range (bench_gap_public_split.py --check 9)
CHECK10 = "check10"  # same-recipe ranges of Median-4-Spread and COTT (--check 10)
CHECK11 = "check11"  # a new recipe: the same architecture's or nearest accuracy's rows vs all of them (--check 11)
CHECK12 = "check12"  # a new recipe: its label-smoothing variant's rows vs all of them (--check 12)
CHECK13 = "check13"  # the range of a correction by label-smoothing variants (--check 13)
CHECK14 = "check14"  # a new recipe: its learning-rate variant's rows vs all of them (--check 14; failed)
PUBLIC_SPLIT = "public_split"  # the correction replayed under a random public/private split (bench_gap_public_split.py)


def measurements() -> dict:
    """``measured_error_ledger.json`` as shipped (``benchmarks/bench_gap_ledger.py`` writes it)."""
    return measured_error("measured_error_ledger.json")


def measured(estimator: str, errors: dict | None = None) -> dict[str, dict[str, float]] | None:
    """{source: {scenario: MAE}} of ``estimator`` from ``measured_error_ledger.json``; None unless one earlier
    submission of a *different* recipe lowered its benchmark error (the correction is offered only then: it
    made the logits-only ATC-NE-BBSE worse, 3.2 -> 3.9, because its miss depends on the model's calibration)
    and pre-registered check 6, where recorded, held."""
    errors = measurements() if errors is None else errors
    found = {src: {**{k: v["mae"] for k, v in body.get("estimators", {}).get(estimator, {}).items()},
                   "n_models": len(body.get("models", []))}
             for src, body in errors.get("sources", {}).items()}
    check6 = errors.get(CHECK6, {})
    if check6 and not check6.get("rules_hold", False):
        return None  # the pre-registered check failed: as its rule says, the correction is not offered
    for key in (CHECK6, CHECK7, CHECK8):
        check = errors.get(key, {})
        if estimator in check.get("estimators", {}):
            found[key] = {**check["estimators"][estimator], "n_models": len(check.get("others", []))}
    for key in (CHECK9, CHECK10):  # judged by the private score of a public split; check 10 measured two estimators
        check = errors.get(key, {}).get("estimators", {}).get(estimator)
        if check:  # the new recipe's twin is among the earlier submissions, beside the seen models
            found[key] = {k: check[k]["private"] for k in ("plain", "one_same_recipe", "mean_of_others")} | {
                "n_models": len(errors[key].get("others", [])) + 1}
    for key in (CHECK11, CHECK12, CHECK13, CHECK14):  # judged by the private score of a public split, like check 9
        check = errors.get(key, {}).get("estimators", {}).get(estimator)
        if check:
            found[key] = {k: v["private"] for k, v in check.items()} | {"n_models": len(errors[key].get("others", []))}
    bench = found.get(BENCHMARK, {})
    if not ("plain" in bench and "one_different_recipe" in bench) or bench["one_different_recipe"] >= bench["plain"]:
        return None
    return {src: v for src, v in found.items() if "plain" in v}


def correction_p90(estimator: str, errors: dict | None = None) -> float | None:
    """The corrected prediction's 90th-percentile error: the larger of the benchmark's and the held-out families'
    with one earlier submission of another recipe (whether the earlier one shares the recipe is not known)."""
    errors = measurements() if errors is None else errors
    p90s = [body["estimators"][estimator]["one_different_recipe"]["p90"]
            for src, body in errors.get("sources", {}).items() if src in (BENCHMARK, HELDOUT)
            and "p90" in body.get("estimators", {}).get(estimator, {}).get("one_different_recipe", {})]
    return max(p90s) if p90s else None


def same_recipe_first(errors: dict | None = None) -> bool:
    """Whether a correction uses only the earlier submissions of the run's own recipe when the ledger has any:
    pre-registered rule 9a, once recorded as holding (until then every scored row counts, as before)."""
    errors = measurements() if errors is None else errors
    return bool(errors.get(CHECK9, {}).get("rules", {}).get("9a", False))


def smoothing_variant_next(errors: dict | None = None) -> bool:
    """Whether, with no earlier submission of the run's recipe, a correction uses only those of the recipe with
    another label smoothing when the ledger has any: pre-registered rule 12, once recorded as holding."""
    errors = measurements() if errors is None else errors
    return bool(errors.get(CHECK12, {}).get("rules", {}).get("12", False))


def band_source(estimator: str, errors: dict | None = None) -> str | None:
    """The pre-registered check whose held rule gave ``estimator``'s same-recipe corrections their own range
    (check 9's 9b for Shift-Gated, check 10 per estimator for the others); None when none did."""
    errors = measurements() if errors is None else errors
    for key in (CHECK9, CHECK10):
        rec = errors.get(key, {})
        rules = rec.get("rules", {})
        if estimator in rec.get("band", {}) and rules.get("9b" if key == CHECK9 else estimator, False):
            return key
    return None


def same_recipe_band(estimator: str, errors: dict | None = None) -> float | None:
    """The half-width (fraction) of a same-recipe correction's range, written down before the check that tested
    it; None unless that check's rule held (the other-recipe range ``correction_p90`` is used then)."""
    errors = measurements() if errors is None else errors
    key = band_source(estimator, errors)
    return None if key is None else errors[key]["band"][estimator]


def variant_band(estimator: str, errors: dict | None = None) -> float | None:
    """The half-width (fraction) of a correction by label-smoothing variants, written down before check 13 tested
    it; None unless its rule held (such corrections print the other-recipe range ``correction_p90`` then)."""
    errors = measurements() if errors is None else errors
    rec = errors.get(CHECK13, {})
    return rec.get("band", {}).get(estimator) if rec.get("rules", {}).get("13", False) else None


def band_coverage(estimator: str, errors: dict) -> float:
    """How often the same-recipe range held the private score in the check that set it."""
    cov = errors[band_source(estimator, errors)]["coverage_private"]
    return cov[estimator] if isinstance(cov, dict) else cov


CHECK8_MARGIN = 0.002  # rule 8a: another recipe's correction at least 0.2 points lower (fractions)
# What check 8 compared the corrections with: the recommended estimator then. Median-5-Spread (check 15) came later,
# and its correction was never measured, so a candidate is still judged against this one.
CHECK8_RECOMMENDED = "Median-4-Spread"


def check8_baseline(recommended: str, errors: dict) -> str:
    """``recommended`` where check 8 measured its correction, else ``CHECK8_RECOMMENDED``."""
    return recommended if recommended in errors.get(CHECK8, {}).get("estimators", {}) else CHECK8_RECOMMENDED


def beats_in_check8(candidate: str, recommended: str, errors: dict) -> bool:
    """Rule 8a's comparison on check 8's fresh models: ``candidate`` corrected is at least 0.2 points below
    ``recommended`` corrected with another recipe's miss, and not above it with the same recipe's."""
    rec = errors.get(CHECK8, {})
    est = rec.get("estimators", {})
    if not rec.get("rules_hold", False) or candidate not in est or recommended not in est:
        return False
    c, r = est[candidate], est[recommended]
    return (c["one_different_recipe"] <= r["one_different_recipe"] - CHECK8_MARGIN
            and c["one_same_recipe"] <= r["one_same_recipe"])


def correction_order(recommended: str, available: Iterable[str], errors: dict | None = None) -> list[str]:
    """The estimators to correct, first one with a scored submission behind it wins: the one whose correction
    measured best on the benchmark (one earlier submission of another recipe) among ``available`` - but only
    where pre-registered check 8's models, trained after that rule was written, show it beating the recommended
    one as rule 8a asks (so a benchmark rerun cannot move the correction to an estimator check 8 found worse) -
    then the recommended one."""
    errors = measurements() if errors is None else errors
    scored = {e: m[BENCHMARK]["one_different_recipe"] for e in available if (m := measured(e, errors))}
    best = min(scored, key=scored.get) if scored else None
    wins = best is not None and best != recommended and beats_in_check8(best, check8_baseline(recommended, errors),
                                                                         errors)
    order = [best] if wins else []
    return list(dict.fromkeys([*order, recommended]))


def switch_words(name: str, recommended: str, errors: dict | None = None) -> str:
    """Why ``name`` is corrected instead of ``recommended``, with check 8's numbers; '' when they are the same."""
    if name == recommended:
        return ""
    errors = measurements() if errors is None else errors
    base = check8_baseline(recommended, errors)
    c, r = (errors[CHECK8]["estimators"][e] for e in (name, base))
    then = "" if base == recommended else f" (recommended then; {recommended}'s correction was never measured)"
    return (f"{name} is corrected, not {recommended}: its correction measured best on the benchmark, and on the models "
            f"of a check written down before they were trained (benchmarks/PREREGISTERED.md, check 8) it beat "
            f"{base}'s{then}, "
            f"{100 * c['one_different_recipe']:.2f} vs {100 * r['one_different_recipe']:.2f} points with another "
            f"recipe's miss and {100 * c['one_same_recipe']:.2f} vs {100 * r['one_same_recipe']:.2f} with the same "
            f"recipe's")


# What the correction achieved where it was measured: one row per source, one column per kind of correction (the
# report's table; the upload quotes one row).
EVIDENCE_COLUMNS = ("as is", "one earlier, another recipe", "one earlier, same recipe",
                    "earlier, same recipe but label smoothing", "mean of earlier (how many)")
_AS, _OTHER, _SAME, _VARIANT, _MEAN = EVIDENCE_COLUMNS


@dataclass(frozen=True)
class EvidenceRow:
    source: str
    label: str                      # what it was measured on
    judged: str                     # what the corrected prediction was compared with
    columns: Mapping[str, str]      # measured key -> column; keys the source lacks leave "-"
    decimals: int                   # as its rule was decided (two where a pre-registered rule used the number)
    mean_of: int = 0                # the mean's count is the source's n_models plus this
    # a kind of earlier submission the mean included which the toolkit would have used alone instead (the same
    # recipe's other seed, its label-smoothing variant), or a near recipe a ledger need not hold (its learning-rate
    # variant): then the mean is not what a correction of a new recipe by all rows meets, and the upload does not
    # quote it
    mean_includes: str = ""
    note: str | None = None         # a sentence under the table, filled with the source's numbers when it has them


EVIDENCE_ROWS = (
    EvidenceRow(BENCHMARK, "the benchmark's shifted sets", "true accuracy",  # two decimals, as sections 2 and 7
                {"plain": _AS, "one_different_recipe": _OTHER, "mean_of_others": _MEAN}, 2, mean_of=-1,
                mean_includes="a label-smoothing variant for 2 of 5 models"),
    EvidenceRow("standin", "the competition stand-in set", "true accuracy",
                {"plain": _AS, "one_different_recipe": _OTHER, "mean_of_others": _MEAN}, 1, mean_of=-1,
                mean_includes="a label-smoothing variant for 2 of 5 models"),
    EvidenceRow(SEEDS, "the seed study (2-3 seeds per recipe)", "true accuracy",
                {"plain": _AS, "one_different_recipe": _OTHER, "one_same_recipe": _SAME, "mean_of_others": _MEAN}, 1,
                mean_of=-1, mean_includes="the other seed"),
    EvidenceRow(HELDOUT, "shift families outside the benchmark", "true accuracy",
                {"plain": _AS, "one_different_recipe": _OTHER, "one_same_recipe": _SAME, "mean_of_others": _MEAN}, 1,
                mean_of=-1, mean_includes="the other seed"),
    EvidenceRow(CHECK6, "check 6: a new model, trained after its rule", "true accuracy",
                {"plain": _AS, "one_earlier": _OTHER, "mean_of_others": _MEAN}, 1,
                mean_includes="the label-smoothing variant"),
    EvidenceRow(CHECK7, "check 7: that model's second seed", "true accuracy", {"plain": _AS, "one_earlier": _SAME}, 2),
    EvidenceRow(CHECK8, "check 8: a new recipe, two seeds, trained after its rule", "true accuracy",
                {"plain": _AS, "one_different_recipe": _OTHER, "one_same_recipe": _SAME}, 2),
    EvidenceRow(CHECK9, "check 9: another new recipe, two seeds", "private score of a 50% public split",
                {"plain": _AS, "one_same_recipe": _SAME, "mean_of_others": _MEAN}, 2,
                mean_includes="the other seed"),
    EvidenceRow(CHECK10, "check 10: a weak new recipe, two seeds", "private score of a 50% public split",
                {"plain": _AS, "one_same_recipe": _SAME, "mean_of_others": _MEAN}, 2,
                mean_includes="the other seed"),
    EvidenceRow(CHECK11, "check 11: two more new recipes, one seed each", "private score of a 50% public split",
                {"plain": _AS, "all": _MEAN}, 2,
                note="Check 11 also tried correcting a new recipe by only the earlier submissions of the same "
                     "architecture ({architecture} points) or only the 4 nearest in local accuracy ({accuracy}); "
                     "neither beat the mean of all earlier ({all}), so a new recipe is corrected by every scored "
                     "submission."),
    EvidenceRow(CHECK12, "check 12: four recipes with label smoothing added, one seed each",
                "private score of a 50% public split", {"plain": _AS, "smoothing_pair": _VARIANT, "all": _MEAN}, 2,
                mean_includes="the label-smoothing variant",
                note="The 'another recipe' cells of the benchmark, the stand-in and checks 6 and 8 also count pairs "
                     "where the earlier submission was the corrected recipe's label-smoothing variant. Since check 12 "
                     "the toolkit corrects by such a variant alone when the ledger has one, so for a recipe "
                     "without a variant in the ledger these cells are somewhat optimistic."),
    EvidenceRow(CHECK13, "check 13: those four recipes with label smoothing 0.2, one seed each",
                "private score of a 50% public split", {"plain": _AS, "smoothing_variants": _VARIANT, "all": _MEAN}, 2,
                mean_includes="the label-smoothing variants"),
    EvidenceRow(CHECK14, "check 14: four recipes with the learning rate halved, one seed each",
                "private score of a 50% public split", {"plain": _AS, "all": _MEAN}, 2,
                mean_includes="the learning-rate variants",
                note="Check 14 also tried correcting a new recipe by only the earlier submissions of the same recipe "
                     "with another learning rate ({lr_variants} points); that was not 0.2 below the mean of all "
                     "earlier ({all}), so such a recipe is corrected by every scored submission too."),
)


def _points(row: EvidenceRow, c: Mapping[str, float]) -> dict[str, str]:
    return {k: f"{100 * v:.{row.decimals}f}" for k, v in c.items() if k != "n_models"}


def _mean_n(row: EvidenceRow, c: Mapping[str, float]) -> int:
    return int(c.get("n_models", 0)) + row.mean_of


def _mean_count(row: EvidenceRow, c: Mapping[str, float]) -> str:
    n = _mean_n(row, c)
    return f"{n}, incl. {row.mean_includes}" if row.mean_includes else str(n)


def evidence_table(m: dict[str, dict[str, float]]) -> tuple[list[str], list[list[str]], list[str]]:
    """(headers, rows, notes) of the correction's measured MAE in points, one row per source ``m`` holds."""
    rows, notes = [], []
    for row in EVIDENCE_ROWS:
        c = m.get(row.source, {})
        if "plain" not in c:
            continue
        points = _points(row, c)
        cells = {col: points[k] + (f" ({_mean_count(row, c)})" if col == _MEAN else "")
                 for k, col in row.columns.items() if k in points}
        rows.append([row.label, row.judged, *(cells.get(col, "-") for col in EVIDENCE_COLUMNS)])
        if row.note:
            try:
                notes.append(row.note.format_map(points))
            except KeyError:  # a record without the note's numbers: the row stands alone
                pass
    return ["measured on", "judged against", *EVIDENCE_COLUMNS], rows, notes


def evidence_line(c: "Corrected") -> str:
    """The one measurement closest to this correction, for the upload's terminal line: the latest source measured
    with that kind of correction (the same recipe's rows; its label-smoothing variants' rows, quoted without a count
    since checks 12 and 13 used one to three per model; one earlier submission of another recipe; the mean of
    several, never one that included rows the toolkit would have used alone), else the latest with one earlier
    submission."""
    n = c.offset.n
    kind = _SAME if c.offset.same_recipe else _VARIANT if c.offset.smoothing_variant else _OTHER if n == 1 else _MEAN
    more = "every measurement: `kaggle-kit report`, section 2"
    for want in dict.fromkeys((kind, _OTHER)):
        for row in reversed(EVIDENCE_ROWS):
            got = c.evidence.get(row.source, {})
            key = next((k for k, col in row.columns.items() if col == want), None)
            if "plain" not in got or key not in got or (want == _MEAN and row.mean_includes):
                continue
            p = _points(row, got)
            how = {_OTHER: "one earlier submission of another recipe",
                   _SAME: "one earlier submission of the same recipe",
                   _VARIANT: "the earlier submissions of the same recipe with another label smoothing",
                   _MEAN: f"the mean of {_mean_count(row, got)} earlier submissions"}[want]
            measured_n = _mean_n(row, got) if want == _MEAN else n if want == _VARIANT else 1
            with_one = "measured with one; " if measured_n == 1 else ""
            yours = "" if n == measured_n else f" ({with_one}yours averages {n})"
            return (f"measured on {row.label} (judged against the {row.judged}): {p['plain']} points MAE as is, "
                    f"{p[key]} corrected by {how}{yours}; {more}")
    return more


def split_words(estimator: str, errors: dict | None = None, fraction: str = "0.5") -> str | None:
    """What Kaggle's public/private split does to the same-recipe correction, in one sentence; None if unmeasured.

    Why: the benchmark learns each miss on a whole set, the ledger on the public split only, and the user is
    judged first by that split and then by the private rest."""
    errors = measurements() if errors is None else errors
    entry = errors.get(PUBLIC_SPLIT, {})
    res = entry.get("fractions", {}).get(fraction, {})
    r = res.get("estimators", {}).get(estimator, {}).get("one_same_recipe")
    if r is None:
        return None
    choice = res["estimators"][estimator].get("ledger_choice")
    chose = (f"; with every other model in the ledger, the toolkit's choice (the same recipe's rows, else its "
             f"label-smoothing variants', else every row's) left it {100 * choice['public']:.2f} and "
             f"{100 * choice['private']:.2f}"
             if choice else "")
    return (f"On Kaggle the earlier miss is learnt on the public split, and both scores carry sampling noise: "
            f"replayed with random {float(fraction):.0%} public splits on the held-out families "
            f"({len(entry['models'])} models x {entry['n_sets']} sets), one earlier submission of the same recipe "
            f"left {estimator} {100 * r['public']:.2f} points from the next public score and {100 * r['private']:.2f} "
            f"from its private score ({100 * r['full']:.2f} on whole sets){chose}; the public score itself is "
            f"{100 * res['public_vs_private']:.2f} points from the private one on average there")


def choice_words(estimator: str, errors: dict | None = None, fraction: str = "0.5") -> str | None:
    """How close the toolkit's choice of correction came, in one sentence for the reader of the prediction (the
    evidence behind it goes to the report's last section); None if unmeasured."""
    errors = measurements() if errors is None else errors
    entry = errors.get(PUBLIC_SPLIT, {})
    est = entry.get("fractions", {}).get(fraction, {}).get("estimators", {}).get(estimator, {})
    choice, plain = est.get("ledger_choice"), est.get("plain")
    if choice is None or plain is None:
        return None
    return (f"How well this has done: replayed on {len(entry['models'])} models x {entry['n_sets']} shifted sets with "
            f"random {float(fraction):.0%} public splits and every other model in the ledger, the correction chosen "
            f"this way was {100 * choice['public']:.2f} points from the next public score and "
            f"{100 * choice['private']:.2f} from the private score, against {100 * plain['private']:.2f} uncorrected "
            f"(section 7 has the evidence, check by check).")


def coverage_words(estimator: str, errors: dict | None = None, fraction: str = "0.5") -> str | None:
    """How often the corrected prediction's range held on models that did not set it, judged by the private score
    of a random public split (``bench_gap_public_split.py``); None if unmeasured."""
    errors = measurements() if errors is None else errors
    res = errors.get(PUBLIC_SPLIT, {}).get("fractions", {}).get(fraction, {})
    cov = res.get("range_coverage", {}).get(estimator, {})
    if not {"one_different_recipe", "one_same_recipe"} <= set(cov):
        return None
    key = band_source(estimator, errors)
    fresh_same = res.get("fresh_same_recipe_models", {}).get(estimator)
    same = (f"the narrower ±{100 * errors[key]['band'][estimator]:.2f} points of a same-recipe correction held for "
            f"{cov['one_same_recipe']['private']:.0%} on the {count_words(len(fresh_same), 'model')} trained after "
            f"{key.replace('check', 'check ')} wrote it down" if key is not None and fresh_same else
            f"{cov['one_same_recipe']['private']:.0%} by the same recipe's")
    fresh_variant = res.get("fresh_variant_models", {}).get(estimator)
    band = variant_band(estimator, errors)
    variant = (f"the ±{100 * band:.2f} points of a correction by one label-smoothing variant held for "
               f"{cov['one_smoothing_variant']['private']:.0%} on the "
               f"{count_words(len(fresh_variant), 'model')} trained after check "
               f"13 wrote it down" if band is not None and fresh_variant and "one_smoothing_variant" in cov else None)
    other = f"{cov['one_different_recipe']['private']:.0%} of corrections by another recipe's miss"
    held = f"{other}, {same} and {variant}" if variant else f"{other} and {same}"
    return (f"The range held on {count_words(len(res['fresh_models']), 'model')} whose rows did not set it for "
            f"{held}, "
            f"judged by the private score of a {float(fraction):.0%} public split")


def range_basis(c: "Corrected", errors: dict | None = None) -> str:
    """What a corrected prediction's range rests on, in one clause."""
    errors = measurements() if errors is None else errors
    key = band_source(c.offset.estimator, errors) if c.offset.same_recipe else None
    if c.offset.smoothing_variant and variant_band(c.offset.estimator, errors) is not None:
        rec = errors[CHECK13]
        return (f"9 in 10 corrections by label-smoothing variants' earlier submissions fell this close to the private "
                f"score of a random 50% public split on the {len(rec['others'])} models seen before check 13, and "
                f"{rec['coverage_private']:.0%} on its {len(rec['models'])} new recipes, trained after the range was "
                f"written down (benchmarks/PREREGISTERED.md, check 13)")
    if key is not None:
        n = key.removeprefix("check")
        return (f"9 in 10 corrections by the same recipe's earlier submission fell this close to the private score "
                f"of a random 50% public split on the models seen before check {n}, and "
                f"{band_coverage(c.offset.estimator, errors):.0%} on its new recipe, trained after the range was "
                f"written down (benchmarks/PREREGISTERED.md, check {n})")
    return ("9 in 10 corrections of another recipe's model fell this close on the benchmark and on the held-out "
            "families")


# ------------------------------------------------------------------------------------------ applying it
@dataclass(frozen=True)
class Corrected:
    accuracy: float
    estimate: float   # the estimator's own prediction, before the correction
    offset: LedgerOffset
    evidence: dict[str, dict[str, float]]
    low: float | None = None   # ± ``same_recipe_band``, ``variant_band`` or ``correction_p90``, clipped to [0, 1]
    high: float | None = None

    def range_words(self) -> str:
        return "" if self.low is None else f"expect {percent(self.low)} to {percent(self.high)}"

    def describe(self) -> str:
        rng = f" ({self.range_words()})" if self.low is not None else ""
        return (f"{self.offset.estimator} {percent(self.estimate)} corrected by {self.offset.scored_words()} "
                f"whose {self.offset.estimator} {self.offset.predictions_were()} {self.offset.miss_words()}: "
                f"{percent(self.accuracy)}{rng}")


def corrected_prediction(estimates: Mapping[str, float], recommended: str, ledger: pd.DataFrame | Sequence[ScoredRow],
                         competition: str | None, exclude_runs: Iterable[str] = (),
                         legacy_estimator: str | None = None, errors: dict | None = None,
                         recipe: RecipeKeys | None = None) -> Corrected | None:
    """The prediction corrected by the ledger (``estimates``: every estimator's value for the run, fractions;
    ``correction_order`` says which is corrected; ``recipe``: the run's ``runs.RecipeKeys``, whose earlier
    submissions are used alone when there are any and check 9 allows it, else its label-smoothing variants' when
    there are any and check 12 allows it), or None when no scored row qualifies or the benchmark does not show the
    correction helping."""
    errors = measurements() if errors is None else errors
    recipe = recipe if same_recipe_first(errors) else None
    variant = smoothing_variant_next(errors)
    rows = scored_rows(ledger, legacy_estimator) if isinstance(ledger, pd.DataFrame) else ledger
    for name in correction_order(recommended, estimates, errors):
        evidence = measured(name, errors)
        off = None if evidence is None or name not in estimates else ledger_offset(
            rows, name, competition, exclude_runs, legacy_estimator, recipe, variant)
        if off is not None:
            accuracy = off.apply(estimates[name])
            half = (same_recipe_band(name, errors) if off.same_recipe else
                    variant_band(name, errors) if off.smoothing_variant else None)
            half = correction_p90(name, errors) if half is None else half
            band = (None, None) if half is None else symmetric_band(accuracy, half)
            return Corrected(accuracy, float(estimates[name]), off, evidence, *band)
    return None


def own_public_score(ledger: pd.DataFrame, runs: Iterable[str], competition: str | None = None) -> float | None:
    """The latest public score (fraction) of a scored submission of exactly ``runs``: such a run is on the
    leaderboard already, and its own score never corrects its prediction."""
    want = frozenset(x for x in runs if x)
    if ledger.empty or not want:
        return None
    for _, r in ledger.iloc[::-1].iterrows():
        public = float(r["public_score"])
        if (r["status"] == SCORED_STATUS and not math.isnan(public) and frozenset(str(r["runs"]).split(RUN_SEPARATOR))
                == want and (competition is None or r["competition"] == competition)):
            return as_fraction(public)
    return None


def replay(ledger: pd.DataFrame, legacy_estimator: str | None = None, errors: dict | None = None) -> list[float]:
    """Each row's prediction as the correction would have made it from the rows scored before it (NaN where
    none qualified): the user's own ledger as a test of the correction."""
    errors = measurements() if errors is None else errors  # read once, not once per row
    scored = scored_rows(ledger, legacy_estimator)  # parsed once, not once per row
    positions = [s.position for s in scored]
    out = []
    for i, r in enumerate(ledger.to_dict("records")):
        by = r["predicted_by"] or legacy_estimator
        estimates = row_estimates(r, legacy_estimator)
        c = None if not by or by not in estimates else corrected_prediction(
            estimates, by, scored[:bisect.bisect_left(positions, i)], r["competition"],
            str(r["runs"]).split(RUN_SEPARATOR), legacy_estimator, errors, RecipeKeys.from_ledger_row(r))
        out.append(float("nan") if c is None else c.accuracy)
    return out
