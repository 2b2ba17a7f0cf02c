"""Report section 7: how good the leaderboard predictions were on labeled shifted sets (``measured_error*.json``,
written by the benchmarks), beside the evidence for section 2's correction by the leaderboard.
"""
from __future__ import annotations

from typing import Sequence

from kaggle_kit.gap import estimators
from kaggle_kit.gap.report_render import Section, Table
from kaggle_kit.text import percent


# the pre-registered checks (benchmarks/PREREGISTERED.md) that made each preferred estimator the recommendation
CHOSEN_BY = {**{name: f"{h.checks}, benchmarks/PREREGISTERED.md: {h.versus()} points MAE over {h.model_sets:,} "
                      f"held-out model-sets" for name, h in estimators.HELD_OUT.items()},
             "Median-5-Spread": "checks 5 and 15, benchmarks/PREREGISTERED.md; below"}


def accuracy_section(errors: dict, unseen: dict | None = None, correction_evidence: Sequence = ()) -> Section:
    """The main benchmark's errors; with ``unseen`` (``measured_error_unseen_families``) also the errors on
    shift families no estimator was designed or tuned on, which are larger and belong next to them; then the
    evidence for section 2's correction by the leaderboard, when one was made."""
    sec = Section("accuracy", "7. How good is the prediction?")
    unseen_info = unseen or {}
    unseen = unseen_info.get("estimators", {})
    if not errors:
        sec.blocks.append("Not measured yet: run `benchmarks/bench_gap.py` to measure each estimator's error.")
        sec.blocks += list(correction_evidence)
        return sec
    models = ", ".join(f"{m} ({percent(a)} on CIFAR-10 test)" for m, a in errors.get("models", {}).items())
    sec.blocks.append(f"Measured by `{errors.get('source', 'benchmarks/bench_gap.py')}` on {errors.get('n_sets')} "
                      f"labeled shifted sets per model (corruptions at two severities, mixed corruptions, label-shift "
                      f"resamples and label shift combined with corruptions) with models {models}. CC-Synth is "
                      f"measured with the tested corruption family left out of its training where a set has one "
                      f"family. The stand-in column is the shared stand-in competition set, never used to choose "
                      f"anything. Mean absolute error (MAE) in accuracy points; see benchmarks/RESULTS.md for every "
                      f"set.")
    best = estimators.recommended_estimator(errors)
    ests = errors.get("estimators", {})
    lowest = min(ests, key=lambda n: ests[n]["mae_all_generated"]) if ests else best
    if best in estimators.RANGE_LENDER and best not in ests:  # quoting another's range, no benchmark error of its own
        sec.blocks.append(
            f"Recommended: {best}, which these sets did not measure; it quotes {estimators.RANGE_LENDER[best]}'s "
            f"range, and tests written down before their data existed "
            f"({CHOSEN_BY.get(best, 'benchmarks/PREREGISTERED.md')}) chose it for its error on shift families outside "
            f"the benchmark.")
    elif best != lowest:
        sec.blocks.append(
            f"Recommended: {best}, although {lowest} has the lowest error on these sets "
            f"({100 * ests[lowest]['mae_all_generated']:.2f} against {100 * ests[best]['mae_all_generated']:.2f}): "
            f"tests written down before their data existed ({CHOSEN_BY.get(best, 'benchmarks/PREREGISTERED.md')}) "
            f"chose it for its error on shift families outside the benchmark.")
    held, owner = estimators.RANGE_HELD_OUT, estimators.range_record_owner(best)
    if owner == best:
        sec.blocks.append(f"The range section 2 quotes with {best} held the true accuracy on {held.words()}; "
                          f"`benchmarks/heldout_table.py` recomputes it from their rows.")
    elif owner:
        sec.blocks.append(f"The range section 2 quotes with {best} is {held.estimator}'s, built the same way round "
                          f"its own estimate; with {held.estimator} it held the true accuracy on {held.words()}; "
                          f"`benchmarks/heldout_table.py` recomputes it from their rows.")
    fallback = [n for n in estimators.PREFERRED if n in ests and n not in estimators.NEEDS_REFERENCE]
    if best in estimators.NEEDS_REFERENCE and fallback:
        sec.blocks.append(f"Where a run has no BatchNorm reference (a model without BatchNorm, a run predicted with "
                          f"predict.bn_reference off or with predict.adapt_bn on, an ensemble with such a member) "
                          f"the recommendation "
                          f"is {fallback[0]} ({CHOSEN_BY.get(fallback[0], 'benchmarks/PREREGISTERED.md')}).")
    for name, note in errors.get("derived", {}).items():  # what was measured, then the held-out record as it stands
        held = estimators.HELD_OUT.get(name)
        sec.blocks.append(f"{name}'s row: {note}" + (f"; {held.words()}." if held else "."))
    binned = next((n for n in (best, estimators.RANGE_MEDIAN) if (ests.get(n) or {}).get("by_predicted_drop")), None)
    if binned:
        growth = ", ".join(f"{100 * b['mae']:.1f} at a predicted drop of {label} points ({b['n']} sets)"
                           for label, b in ests[binned]["by_predicted_drop"].items())
        sec.blocks.append(f"Errors grow with the size of the shift. {binned}: {growth}.")
    # the reference estimators were measured on held-out families by the checks from 21 on (their notes above), not by
    # bench_gap_novel.py
    shown = next((n for n in (best, *estimators.PREFERRED) if n in unseen), None)
    if shown:
        cov = unseen_info.get("range_coverage")
        sec.blocks.append(
            f"On shift families that neither the estimators' design nor CC-Synth's synthetic corruptions used "
            f"({', '.join(unseen_info['families'])}; {unseen_info['n_sets']} sets x {len(unseen_info['models'])} "
            f"models, `benchmarks/bench_gap_novel.py`) the errors are larger: {shown} "
            f"{100 * unseen[shown]['mae']:.1f} points MAE (9 in 10 within {100 * unseen[shown]['p90']:.1f}). "
            + (f"{estimators.RANGE_MEDIAN}'s range in section 2, which reaches further below it the more its "
               f"members disagree, held on {cov['spread']:.0%} of these {cov['n']} model-sets; the benchmark's "
               f"90th-percentile error either side alone held on {cov['symmetric']:.0%}." if cov else
               "Read the ranges in section 2 as what to expect on shifts like the benchmark's, not on any shift."))
    rows = []
    for name, e in errors.get("estimators", {}).items():
        rows.append([name, f"{100 * e['mae_all_generated']:.2f}", f"{100 * e['mae_covariate']:.2f}",
                     f"{100 * e['mae_label_shift']:.2f}", f"{100 * e['max_error_generated']:.1f}",
                     f"{100 * e['mae_standin']:.2f}"]
                    + ([f"{100 * unseen[name]['mae']:.2f}" if name in unseen else "-"] if unseen else []))
    sec.blocks.append(Table(["estimator", "MAE all", "MAE image shifts", "MAE with label shift", "worst set",
                             "MAE stand-in"] + (["MAE unseen families"] if unseen else []), rows))
    bins = list(estimators.DROP_BINS_POINTS)
    by_drop = []
    for name, e in errors.get("estimators", {}).items():
        cells = []
        for label in bins:
            b = (e.get("by_predicted_drop") or {}).get(label)
            cells.append("-" if b is None else f"{100 * b['mae']:.1f} ({b['n']})")
        if any(cell != "-" for cell in cells):  # a row combined from recorded rows has no bins: said above
            by_drop.append([name] + cells)
    if by_drop:
        sec.blocks.append("The same errors binned by the drop each estimator *predicted* (holdout accuracy minus its "
                          "estimate, points), which is known before submitting; section 2 quotes the matching bin. "
                          "Cells: MAE in points (number of sets).")
        sec.blocks.append(Table(["estimator"] + [f"predicted drop {b}" for b in bins], by_drop))
    sec.blocks += list(correction_evidence)
    return sec
