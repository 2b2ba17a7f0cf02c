"""Report section 2: the leaderboard accuracy predicted from the unlabeled competition predictions, with the range
its measured error gives and the correction by earlier scores (``report_correction``); section 7, how good those
predictions were, is ``report_accuracy``.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

from kaggle_kit.mplconfig import ensure_writable_folder

ensure_writable_folder()  # before matplotlib's first import, which reads MPLCONFIGDIR (see mplconfig)
from matplotlib.figure import Figure  # noqa: E402

from kaggle_kit.calibration import T_BOUNDS
from kaggle_kit.gap import estimators, leaderboard_feedback, ref_stack
from kaggle_kit.gap.report_correction import corrections, runs_of
from kaggle_kit.gap.report_render import Details, Fig, Section, Table, figure_png, literal
from kaggle_kit.gap.report_runs import RunView
from kaggle_kit.text import and_list, percent

# Below this many images a run's holdout or competition predictions make its estimates noisier than the benchmark
# measured them (5,000-image holdouts): the holdout accuracy alone is uncertain by about ±4 points at 500, and COT
# and COTT read chance differences of the predicted-class shares as a shift (8-9 points low at 100 images).
SMALL_SET_IMAGES = 500


measured_error = estimators.measured_error


recommended_estimator = estimators.recommended_estimator


def _mae(errors: dict, name: str) -> float | None:
    return errors.get("estimators", {}).get(name, {}).get("mae_all_generated")


def expected_for(errors: dict, name: str, result: dict) -> dict | None:
    """``estimators.expected_error`` for one run's estimate of ``name`` (None if not computed or measured)."""
    est = result["estimates"].get(name)
    return None if est is None else estimators.expected_error(errors, name, result["holdout_acc"], est)


def expectation_sentence(name: str, estimator: str, result: dict, errors: dict,
                         unseen: dict | None = None) -> str | None:
    """One line a user can act on: the estimate, its drop, and the range to expect with the evidence for it.

    With ``estimators.RANGE_MEDIAN`` computed the range is ``estimators.expected_range`` (reaching lower when they
    disagree; how often it held on shift families outside the benchmark is ``estimators.RANGE_HELD_OUT`` for the
    estimator it measured, else ``unseen``'s "range_coverage"), otherwise the estimator's own error at its predicted
    drop, either side; either way reaching further down where ``estimators.reach_below`` says so, and saying why."""
    if estimator in estimators.RANGE_LENDER:
        return borrowed_sentence(name, estimator, result, errors, unseen)
    est = result["estimates"].get(estimator)
    unreached = None if est is None else estimators.range_before_reach(errors, result["estimates"],
                                                                       result["holdout_acc"], estimator)
    if unreached is None:
        return None
    # ``estimators.prediction_range``'s two steps: the range upload and the ledger quote, so the report cannot say
    # another, and the one before the reach, to say whether the reach moved it
    low, high = estimators.reach_below(unreached, est, result["holdout_acc"], estimator)
    head = f"{name}: {estimator} predicts **{percent(est, 1)}**, {versus(est, result['holdout_acc'])} the holdout"
    own = expected_for(errors, estimator, result)  # its own benchmark error at its predicted drop
    rng = estimators.expected_range(errors, result["estimates"], result["holdout_acc"])
    reach = "" if low == unreached[0] else (
        f" The range reaches down to {estimator} minus {estimators.RANGE_REACH_BELOW[estimator]:.2f} of the drop it "
        f"predicts ({100 * (result['holdout_acc'] - est):.1f} points): on held-out shifts with large drops the true "
        f"accuracy fell below ranges built from benchmark errors alone.")
    if rng is None:  # the range is the estimator's own band
        where = ("over all benchmark sets" if own["bin"] == "all" else
                 f"on the {own['n']} benchmark sets where it predicted a drop of {_bin_words(own['bin'])} points")
        return (f"{head}; {where} its error averaged {100 * own['mae']:.1f} points and 9 in 10 were within "
                f"{100 * own['p90']:.1f}, so expect {percent(low, 1)} to {percent(high, 1)}.{reach}")
    # the bin is the median's predicted drop, which can differ from the drop of ``estimator`` said just before it
    # ("5.1 points under the holdout ... a predicted drop of under 5 points" read as a contradiction)
    median = estimators.RANGE_MEDIAN
    where = (f"over all benchmark sets {median}" if rng["bin"] == "all" else
             f"on the {rng['n']} benchmark sets where {median} predicted a drop of {_bin_words(rng['bin'])} "
             f"points, as it does here ({rng['drop']:.1f}), it")
    members = and_list(estimators.SPREAD_MEMBERS)
    spread, p90 = 100 * rng["spread"], 100 * rng["p90"]
    why = (f"{members} disagree by {spread:.1f} points, so the range reaches that far below {median} "
           f"({percent(result['estimates'][median], 1)}): when they disagree, the true accuracy has "
           f"tended to be lower than all of them" if rng["by_spread"] else
           f"{members} agree within {spread:.1f} points")
    cov, held = (unseen or {}).get("range_coverage"), estimators.RANGE_HELD_OUT
    evidence = (f" This range held on {held.words()}." if held.estimator == estimator else
                f" This range held on {cov['spread']:.0%} of {cov['n']} shifted sets of families outside the "
                f"benchmark ({median} ±{p90:.1f} points alone: {cov['symmetric']:.0%})." if cov else "")
    joined = "" if unreached == (rng["low"], rng["high"]) else (  # widened by ``joined_range``
        f" {estimator} lies outside {median}'s range ({percent(rng['low'], 1)} to {percent(rng['high'], 1)}), "
        f"so the range is widened to its own: ±{100 * own['p90']:.1f} "
        f"points, 9 in 10 of its benchmark errors.")
    return (f"{head}. Expect **{percent(low, 1)} to {percent(high, 1)}**: {where} was within "
            f"{p90:.1f} points 9 times in 10; {why}.{evidence}{joined}{reach}")


def borrowed_sentence(name: str, estimator: str, result: dict, errors: dict, unseen: dict | None = None) -> str | None:
    """Ref-Stack-Gated's, Ref-Stack's, Ref-Doubt's, Ref-Parts', Ref-Hedge's, Ref-Sep's, Ref-Split's, Ref-Mix's or
    Ref-Prior's line: which estimate it quotes and why (``choice_words``), the range it borrows from its
    ``estimators.RANGE_LENDER``, reaching past its estimate, with that range's held-out record, then the lender's own
    line, which says how the range was built."""
    lender = estimators.RANGE_LENDER[estimator]
    est, move = result["estimates"].get(estimator), result.get("reference_move")
    if est is None or move is None:
        return expectation_sentence(name, lender, result, errors, unseen)
    held = estimators.RANGE_HELD_OUT
    owner = estimators.range_record_owner(estimator)
    record = (f" This range held on {held.words()}." if owner == estimator else
              f" With {owner}, whose range it is, built the same way, it held on {held.words()}." if owner else "")
    # with the record said, the lender's line leaves out the unseen families' coverage: one record per range
    lent = expectation_sentence(name, lender, result, errors, None if record else unseen)
    if lent is None:
        return None
    low, high = estimators.prediction_range(errors, result["estimates"], result["holdout_acc"], estimator)
    why = choice_words(estimator, result, lender)
    span = estimators.prediction_range(errors, result["estimates"], result["holdout_acc"], lender)
    margin = f"{100 * estimators.RANGE_MARGIN:.0f} points"
    taken = "" if span == (low, high) else f", reaching at least {margin} either side of this estimate"
    lent = lent.removeprefix(f"{name}: ")
    return (f"{name}: {estimator} predicts **{percent(est, 1)}**, {versus(est, result['holdout_acc'])} the holdout: "
            f"{why}. Expect **{percent(low, 1)} to {percent(high, 1)}**, {lender}'s range{taken}.{record} How that "
            f"range is built: {lent}")


def choice_words(estimator: str, result: dict, lender: str) -> str:
    """Which estimate Ref-Prior (``estimators.ref_prior``), Ref-Mix (``estimators.ref_mix``), Ref-Split
    (``estimators.ref_split``), Ref-Sep (``estimators.ref_sep``), Ref-Hedge (``estimators.ref_hedge``; the last four
    then Ref-Prior's choice, Ref-Hedge's hedged: ``estimator`` "hedged"), Ref-Parts (``_parts_words``), Ref-Doubt
    (``_doubt_words``), Ref-Stack (``_stack_words``) or Ref-Stack-Gated (``_gated_words``) quotes for ``result``, and
    why, in the numbers the rule read."""
    if estimator == "Ref-Stack-Gated":
        return _gated_words(result, lender)
    if estimator == "Ref-Stack":
        return _stack_words(result, lender)
    if estimator == "Ref-Doubt":
        return _doubt_words(result, lender)
    if estimator == "Ref-Parts":
        return _parts_words(result, lender, None)
    if estimator in ("Ref-Mix", "Ref-Split", "Ref-Sep", "Ref-Hedge"):
        share = result.get("holdout_like_share")
        hedged = estimator == "Ref-Hedge"
        prior = "the hedged Ref-Prior" if hedged else "Ref-Prior"
        drop = result["holdout_acc"] - (estimators.hedged_prior(result["estimates"], result["reference_move"])
                                        if hedged else result["estimates"]["Ref-Prior"])
        limits = (f"at least {estimators.MIX_SHARE:.0%} and a drop of {100 * estimators.MIX_DROP:.0f} points or "
                  f"more")
        if estimators.looks_mixed(share, drop):
            return _mixture_words(estimator, result, share, drop, limits)
        reason = ("no share of holdout-like images could be measured" if share is None else
                  f"only {share:.0%} of the competition images look like the holdout" if share < estimators.MIX_SHARE
                  else f"{prior} predicts a drop of only {100 * drop:.1f} points")
        return (f"{prior}'s estimate, because {reason} (COTT needs {limits}); {prior} quotes "
                + choice_words("hedged" if hedged else "Ref-Prior", result, lender))
    move, tell = result["reference_move"], 100 * estimators.PRIOR_TELL
    if estimators.class_mix_looks_changed(move) and estimator == "hedged":
        return (f"{estimators.PRIOR_HEDGE:.0%} of Ref-EM and the rest of {lender}, because on the BatchNorm "
                f"reference COT's estimate moves by {100 * move:.1f} points when its class mix is EM's priors (over "
                f"{tell:.0f}: the class mix looks changed, where Ref-EM, prior-corrected, has been the closer, but "
                f"where a share of the images is broken EM reads it as a class mix, and {lender} has been the "
                f"closer there)")
    if estimators.class_mix_looks_changed(move):
        return (f"Ref-EM, because on the BatchNorm reference COT's estimate moves by {100 * move:.1f} points when its "
                f"class mix is EM's priors (over {tell:.0f}: the class mix looks changed, where Ref-EM, "
                f"prior-corrected, has been the closer)")
    return (f"{lender}, because on the BatchNorm reference COT's estimate moves by only {100 * move:.1f} points when "
            f"its class mix is EM's priors ({tell:.0f} or less: the class mix looks unchanged)")


def _parts_words(result: dict, lender: str, via: str | None) -> str:
    """``choice_words`` for Ref-Parts (``estimators.ref_parts``): Ref-Hedge's reading, or where it looked again and
    the re-weighted share opened the gate, the parts read apart, in the numbers the rule read. ``via``: Ref-Parts
    itself where another estimator quotes it (Ref-Doubt), named once with what it equals ("as Ref-Parts and
    Ref-Hedge: ...", "as Ref-Parts: ATC-NE-EM read apart ...")."""
    e, share, again = result["estimates"], result.get("holdout_like_share"), result.get("holdout_like_reweighted")
    drop = result["holdout_acc"] - estimators.hedged_prior(e, result["reference_move"])
    hedge = f"as {and_list([n for n in (via, 'Ref-Hedge') if n])}: {choice_words('Ref-Hedge', result, lender)}"
    if not estimators.looks_again(e, result["holdout_acc"], result["reference_move"], share):
        return hedge
    if not estimators.looks_mixed(again, drop):
        seen = ("no share could be measured" if again is None else f"{again:.0%} look like it, still too few"
                if again < estimators.MIX_SHARE else "the drop is still too small")
        return f"{hedge}; with the holdout re-weighted to EM's priors, {seen}"
    lead = f"as {via}: " if via else ""
    return (f"{lead}ATC-NE-EM read apart on the images that look like the holdout and on the rest, each with its own "
            f"class mix (EM's priors), because the class mix looks changed (on the BatchNorm reference COT's estimate "
            f"moves by {100 * result['reference_move']:.1f} points when its class mix is EM's priors), and although "
            f"only {share:.0%} of the competition images look like the holdout as they are, {again:.0%} do once the "
            f"holdout is re-weighted to EM's priors, while the hedged Ref-Prior predicts a drop of {100 * drop:.1f} "
            f"points (at least {estimators.MIX_SHARE:.0%} and a drop of {100 * estimators.MIX_DROP:.0f} points or "
            f"more: a share of the images looks broken under a changed class mix, where the hedged estimate "
            f"over-estimated and COTT, not prior-corrected, reads low)")


def _stack_words(result: dict, lender: str) -> str:
    """``choice_words`` for Ref-Stack (``ref_stack``): Ref-Doubt's reading and how far the trees moved it."""
    e = result["estimates"]
    moved = round(100 * (e["Ref-Stack"] - e["Ref-Doubt"]), 1) + 0.0  # + 0.0: a move under 0.05 reads "+0.0", not "-0.0"
    return (f"Ref-Doubt's {percent(e['Ref-Doubt'], 1)} moved {moved:+.1f} points by trees fitted to Ref-Doubt's error "
            f"on {ref_stack.table_size():,} labelled held-out model-sets, from how far the other estimators read from "
            f"it and how much of the competition set looks like the holdout; Ref-Doubt's own choice: "
            + _doubt_words(result, lender))


def _gated_words(result: dict, lender: str) -> str:
    """``choice_words`` for Ref-Stack-Gated (``estimators.ref_stack_gated``): Ref-Stack's reading, or Ref-Doubt's where
    the class mix looks changed and few images look like the holdout, in the numbers the gate read."""
    move, share = result["reference_move"], result.get("holdout_like_share")
    if not estimators.stack_doubted(move, share):
        return "as Ref-Stack: " + _stack_words(result, lender)
    return (f"Ref-Doubt's estimate, not Ref-Stack's, because on the BatchNorm reference COT's estimate moves by "
            f"{100 * move:.1f} points when its class mix is EM's priors (the class mix looks changed) and only "
            f"{share:.0%} of the competition images look like the holdout (under {estimators.STACK_GATE_LIKE:.0%}: "
            f"there the trees have moved Ref-Doubt the wrong way); Ref-Doubt's own choice: "
            + _doubt_words(result, lender))


def _doubt_words(result: dict, lender: str) -> str:
    """``choice_words`` for Ref-Doubt (``estimators.ref_doubt``): Ref-Parts' reading, or COTT where the class mix
    looks changed, the hedged Ref-Prior's drop leaves the gate shut and COTT's opens it, in the numbers the rule
    read."""
    e, share, move = result["estimates"], result.get("holdout_like_share"), result["reference_move"]
    if not estimators.doubts_adapted(e, result["holdout_acc"], move, share):
        return _parts_words(result, lender, "Ref-Parts")
    hedged = result["holdout_acc"] - estimators.hedged_prior(e, move)
    return (f"COTT, because although on the BatchNorm reference COT's estimate moves by {100 * move:.1f} points when "
            f"its class mix is EM's priors (the class mix looks changed) and the hedged Ref-Prior predicts a drop of "
            f"only {100 * hedged:.1f} points, {share:.0%} of the competition images look like the holdout and COTT "
            f"predicts a drop of {100 * (result['holdout_acc'] - e['COTT']):.1f} points (at least "
            f"{estimators.MIX_SHARE:.0%} and a drop of {100 * estimators.MIX_DROP:.0f} points or more: a share of the "
            f"images looks broken, and where the BatchNorm copy reads that share as confidently as the model, its "
            f"move looks like a changed class mix and Ref-EM, hedged or not, predicts too small a drop; COTT, which "
            f"does not read the copy, has been the closer there)")


def _mixture_words(estimator: str, result: dict, share: float, drop: float, limits: str) -> str:
    """``choice_words`` where the gate opens: COTT (Ref-Mix), COTT on the two parts apart (Ref-Split), or either by
    how far apart the parts score (Ref-Sep and Ref-Hedge; a result without the separation reads as Ref-Split)."""
    apart = "COTT read apart on those images and on the rest"
    prior = "the hedged Ref-Prior" if estimator == "Ref-Hedge" else "Ref-Prior"
    seen = (f"{share:.0%} of the competition images look like the holdout to a classifier of their logits while "
            f"{prior} predicts a drop of {100 * drop:.1f} points ({limits}: a share of the images looks broken and "
            f"the rest unchanged, where Ref-Prior has over-estimated")
    separation = result.get("holdout_like_separation")
    if estimator not in ("Ref-Sep", "Ref-Hedge") or separation is None:
        read = "COTT" if estimator == "Ref-Mix" else apart
        return f"{read}, because {seen} and {read} has been the closer)"
    limit = estimators.SPLIT_SEPARATION
    if estimators.parts_separate(separation):
        return (f"{apart}, because {seen}), and the two parts score {separation:.1f} holdout score deviations apart "
                f"({limit:g} or more: the broken share stands apart, where reading the parts apart has been the "
                f"closer)")
    return (f"COTT on the whole set, because although {seen}), the two parts score only {separation:.1f} holdout "
            f"score deviations apart (under {limit:g}: more likely one mild change of every image cut in two, where "
            f"reading the parts apart has read low and COTT on the whole set has been the closer)")


def versus(value: float, holdout: float) -> str:
    """'3.4 points under' / '1.2 points above': a leaderboard accuracy against the holdout's, sign in words."""
    gap = 100 * (holdout - value)
    return f"{abs(gap):.1f} points {'under' if gap >= 0 else 'above'}"


def _bin_words(label: str) -> str:
    return label.replace("< ", "under ").replace("> ", "over ")


def _gate_words(at_most: str, at_least: str) -> str:
    """Shift-Gated's two ends in words, with ``estimators.GATE_AUC``'s numbers (the glossary and section 2 say them)."""
    lo, hi = estimators.GATE_AUC
    return at_most.format(f"{lo:.2f}") + at_least.format(f"{hi:.2f}")


def estimator_glossary() -> tuple[tuple[str, str], ...]:
    """Section 2's folded glossary, one row per estimator: every abbreviation in a name is spelled out once here.
    The members, the gate and the penalty are ``estimators``' own, so the words follow them."""
    penalty = "a fifth" if estimators.SPREAD_PENALTY == 0.2 else f"{estimators.SPREAD_PENALTY:g} times"
    return (
        ("AC", "average confidence"),
        ("DoC (difference of confidences)", "holdout accuracy minus the drop in confidence"),
        ("ATC-MC / ATC-NE (average thresholded confidence)",
         "share of competition images above the confidence (MC) or negative-entropy (NE) threshold that matches the "
         "holdout accuracy"),
        ("AC-EM, ATC-NE-EM, ATC-NE-BBSE",
         "the same corrected for the class priors estimated in section 3 by EM (expectation-maximisation) or BBSE "
         "(black-box shift estimation), with the holdout re-weighted to those priors"),
        ("CC-Synth (correctness classifier, synthetic shifts)",
         "mean probability of being correct from a classifier trained on the holdout corrupted by blur, JPEG, noise, "
         "contrast, down-sampling, colour and rotation/zoom (confidence + image statistics; its correction measured on "
         "clean holdout images is applied in full only when the competition images look like the holdout, as in "
         "Shift-Gated)"),
        ("COT (confidence optimal transport)",
         "1 - the optimal-transport cost from the predicted probabilities to the holdout's class mix (it notices "
         "predictions piling onto a few classes)"),
        ("COT-EM", "the same to the EM priors"),
        ("COTT", "COT with thresholding"),
        ("Shift-Gated", _gate_words("ATC-NE-EM when the competition images look like the holdout (re-weighted domain "
                                    "AUC <= {}: only the class mix moved), ",
                                    "COT when they do not (AUC >= {}), blended in between")),
        ("Median-4", f"the median of {and_list(estimators.MEDIAN_MEMBERS)}, which fail on different shifts"),
        ("Median-4-Spread",
         f"Median-4 lowered by {penalty} of the range of {and_list(estimators.SPREAD_MEMBERS)} (they disagree when "
         f"the shift is one they were not built for, and then all of them over-estimate)"),
        ("NucNorm (nuclear norm)",
         "the normalised nuclear norm of the competition's predicted-probability matrix (high when the predictions "
         "are confident and spread over the classes), read as an accuracy off a line fitted on the holdout and "
         "CC-Synth's corrupted copies of it"),
        ("Median-5", "the median of Median-4's four members and NucNorm"),
        ("Median-5-Spread",
         "Median-5 lowered as Median-4-Spread is (chosen by two tests on shift families outside the benchmark, "
         "section 7)"),
        ("Ref-EM (reference)",
         "the mean probability a copy of the model, its BatchNorm statistics re-estimated class-balanced on the "
         "competition images (logits_comp_reference.npz), gives each submitted prediction, temperature-scaled and "
         "prior-corrected by EM: where the pixels moved, the copy is the more accurate model and a less shifted "
         "judge"),
        ("Ref-Avg", "the mean of Ref-EM and Median-5-Spread (recommended after tests on shift families outside the "
                    "benchmark until a later one chose Ref-Avg-Shrunk, section 7; worse than Median-5-Spread on the "
                    "stand-in)"),
        ("Ref-Avg-Shrunk", f"Ref-Avg lowered by {100 * estimators.REFERENCE_SHRINK:.0f}% of the drop it predicts "
                           "from the holdout, because Ref-Avg has over-estimated large drops and not small ones "
                           "(chosen by a test on shift families outside the benchmark, section 7)"),
        ("Ref-Prior", f"Ref-EM where, on the BatchNorm reference, COT's estimate moves by more than "
                      f"{100 * estimators.PRIOR_TELL:.0f} points when its class mix is EM's priors (the class mix "
                      f"looks changed), else Ref-Avg-Shrunk; it quotes Ref-Avg-Shrunk's range (chosen by a test on "
                      f"shift families outside the benchmark, section 7)"),
        ("Ref-Mix", f"COTT where at least {estimators.MIX_SHARE:.0%} of the competition images look like the "
                    f"holdout to a classifier of their logits (so a share of them may be broken and the rest "
                    f"unchanged) and Ref-Prior predicts a drop of {100 * estimators.MIX_DROP:.0f} points or more, "
                    f"else Ref-Prior; it quotes Ref-Avg-Shrunk's range (chosen by a test on shift families outside "
                    f"the benchmark, section 7)"),
        ("Ref-Split", "Ref-Mix, but where it quotes COTT, COTT read apart on the images that look like the holdout "
                      "and on the rest, each part weighted by its share; it quotes Ref-Avg-Shrunk's range (chosen by "
                      "a test on shift families outside the benchmark, section 7, after an earlier one found it "
                      "further where a mild change of every image opens the gate; a later test put Ref-Sep ahead)"),
        ("Ref-Blend", "Ref-Mix, but where it quotes COTT, the mean of COTT and Ref-Split's part-by-part reading: a "
                      "hedge between the two (a candidate: pre-registered check 40 in benchmarks/PREREGISTERED.md "
                      "found it closer than Ref-Mix by less than it asked, and further than Ref-Split)"),
        ("Ref-Sep", "Ref-Split, but where its two parts score close together to the classifier that split them "
                    f"(medians under {estimators.SPLIT_SEPARATION:g} holdout score deviations apart: more likely a "
                    "mild change of every image than a share of broken ones), COTT on the whole set; it quotes "
                    "Ref-Avg-Shrunk's range (chosen by a test on shift families outside the benchmark, section 7; a "
                    "later test put Ref-Hedge ahead)"),
        ("Ref-Hedge", f"Ref-Sep, but where Ref-Prior would quote Ref-EM (the class mix looks changed), "
                      f"{estimators.PRIOR_HEDGE:.0%} of Ref-EM and the rest of Ref-Avg-Shrunk, also in the drop its "
                      "gate reads: EM takes a broken share of the images for a changed class mix; it quotes "
                      "Ref-Avg-Shrunk's range (chosen by a test on shift families outside the benchmark, section 7; "
                      "a later test put Ref-Parts ahead)"),
        ("Ref-Parts", "Ref-Hedge, but where the class mix looks changed and too few images look like the holdout to "
                      "open its gate, the share read again with the holdout re-weighted to EM's priors (a changed "
                      "class mix alone makes images look unlike the holdout); where that opens the gate, ATC-NE-EM "
                      "read apart on the images that look like the holdout and on the rest, each with its own class "
                      "mix; it quotes Ref-Avg-Shrunk's range (chosen by a test on shift families outside the "
                      "benchmark, section 7; a later test put Ref-Doubt ahead)"),
        ("Ref-Doubt", "Ref-Parts, but COTT where the class mix looks changed, the hedged Ref-Prior predicts too small "
                      "a drop to open Ref-Hedge's gate and COTT's predicted drop opens it: a share of the images "
                      "broken without a changed class mix can move the BatchNorm copy's COT as a changed class mix "
                      "does, and then Ref-EM predicts too small a drop; it quotes Ref-Avg-Shrunk's range (chosen by a "
                      "test on shift families outside the benchmark, section 7)"),
        ("Ref-Stack", "Ref-Doubt moved by what small boosted trees predict its error to be, from how far the other "
                      "estimators read from it and how much of the competition set looks like the holdout, learned "
                      "on the labelled held-out sets of section 7's tests; it quotes Ref-Doubt's range (chosen by a "
                      "test on shift families outside the benchmark, written after the trees were fitted, section "
                      "7; a later test put Ref-Stack-Gated ahead)"),
        ("Ref-Stack-Gated", "Ref-Stack, but Ref-Doubt where the class mix looks changed and few of the competition "
                            "images look like the holdout, where the trees have moved Ref-Doubt the wrong way; it "
                            "quotes Ref-Doubt's range (chosen by a test on shift families outside the benchmark, "
                            "written after the gate was found, section 7)"),
        ("COT-Gated", f"Ref-Avg where COT's estimate moves by more than {100 * estimators.COT_GATE:.0f} points "
                      "when its class mix is EM's priors (the class mix looks changed), else Median-5-Spread "
                      "(chosen by one test on shift families outside the benchmark, then behind Ref-Avg over it "
                      "and three more, section 7)"),
        ("Agreement", "ensemble members' agreement carried over to accuracy"),
    )


def prediction_section(runs: Sequence[RunView], errors: dict, unseen: dict | None = None,
                       ledger: pd.DataFrame | None = None, competition: str | None = None) -> tuple[Section, list]:
    """The section and the correction's evidence (``corrections``), which section 7 shows."""
    sec = Section("prediction", "2. Predicted leaderboard accuracy (before submitting)")
    best = recommended_estimator(errors, available=runs[-1].result["estimates"])
    quoted = [(v, run_estimator(v, best, errors)) for v in runs]
    named = list(dict.fromkeys(n for _, n in quoted))
    which = f"**{best}**" if len(named) == 1 else " and ".join(
        f"**{n}** for {and_list([literal(v.name) for v, m in quoted if m == n])}" for n in named)
    sec.blocks.append(
        f"Before any score comes back, from the unlabeled competition predictions alone (after temperature scaling "
        f"on the holdout: the logits divided by one number fitted to the holdout's labels, so that confidence "
        f"tracks accuracy). The recommended estimator is {which}: section 7 measures every estimator's error on "
        f"labeled shifted sets, and \"What each estimator computes\", under the table, explains them. Once the "
        f"ledger has public scores, the prediction is also corrected by how far the earlier ones missed.")
    for v, name in quoted:
        line = expectation_sentence(literal(v.name), name, v.result, errors, unseen)
        sec.blocks.append(line or _no_range_sentence(v, name))
        sec.blocks += [n for n in (small_sample_note(v), temperature_note(v)) if n]
    corrected, evidence = corrections(runs, best, ledger, competition, errors)
    sec.blocks += corrected
    gates = [f"{literal(v.name)} {v.result['shift_auc']:.3f}" for v in runs if v.result.get("shift_auc") is not None]
    if gates:
        sec.blocks.append(f"Shift-Gated's gate, the re-weighted domain AUC: {', '.join(gates)}. It separates the "
                          f"holdout's image statistics, re-weighted to the EM priors, from the competition's ("
                          + _gate_words("at most {}: the images look alike and it uses ATC-NE-EM; ",
                                        "at least {}: COT; blended between). ")
                          + "Section 4's domain AUC compares the training images themselves, with a thumbnail too.")
    names = list(runs[0].result["estimates"])
    for v in runs[1:]:
        names += [n for n in v.result["estimates"] if n not in names]
    main = runs[-1]
    headers = (["estimator"] + [literal(v.name) for v in runs]
               + ["measured error, all sets (pts)", f"measured error at {literal(main.name)}'s predicted drop (pts)"])
    rows = [["holdout accuracy (labeled)"] + [percent(v.result["holdout_acc"], 2) for v in runs] + ["", ""],
            ["CIFAR-10 test accuracy (labeled)"] + [percent(v.test.accuracy if v.test else None, 2) for v in runs]
            + ["", ""]]
    for n in names:
        mae = _mae(errors, n)
        exp = expected_for(errors, n, main.result)
        label = f"**{n}**" if n in named else n
        rows.append([label] + [percent(v.result["estimates"].get(n), 2) for v in runs]
                    + ["-" if mae is None else f"{100 * mae:.2f}",
                       "-" if exp is None else
                       f"{100 * exp['mae']:.2f} ({'all sets' if exp['bin'] == 'all' else 'drop ' + exp['bin']})"])
    glossary = [Table(["estimator", "what it computes"], [list(r) for r in estimator_glossary()]),
                "Measured error: mean absolute error (MAE) on labeled shifted sets (section 7)."]
    sec.blocks += [Table(headers, rows), Details("What each estimator computes", glossary)]
    checks = []
    for v, name in quoted:
        if v.test_result is not None and v.test is not None:
            # the reference is of the competition images only: a run quoted with a reference estimator is checked with
            # their partner
            name = estimators.REFERENCE_PARTNER if name in estimators.NEEDS_REFERENCE else name
            e = v.test_result["estimates"].get(name)
            checks.append(f"{literal(v.name)}: {name} predicts {percent(e, 2)} on the CIFAR-10 test set, actual "
                          f"{percent(v.test.accuracy, 2)}")
    if checks:
        sec.blocks.append("Sanity check on the labeled CIFAR-10 test set (no shift): " + "; ".join(checks) + ".")
    for v in runs:
        if v.member_agreement is not None:
            sec.blocks.append(f"{literal(v.name)}: ensemble of {len(v.members)} members "
                              f"({', '.join(literal(m) for m in v.members)}); mean "
                              f"pairwise agreement {percent(v.member_agreement[0], 2)} on the holdout, "
                              f"{percent(v.member_agreement[1], 2)} on the competition set."
                              + ("" if "Agreement" in v.result["estimates"] else _no_agreement_words(v)))
    own = None if ledger is None else leaderboard_feedback.own_public_score(ledger, runs_of(main), competition)
    sec.blocks.append(_predicted_lb_figure(main, errors, best, own))
    return sec, evidence


def _no_agreement_words(v: RunView) -> str:
    """Why an ensemble has no Agreement estimate: the reason ``estimators.agreement_line`` gave, in words ("" when
    the result names none)."""
    reason = v.result.get("agreement_reason")
    if reason in (estimators.HOLDOUT_ALL_RIGHT, estimators.HOLDOUT_NONE_RIGHT):
        acc = 1.0 if reason == estimators.HOLDOUT_ALL_RIGHT else 0.0
        return (f" Agreement is not computed: the ensemble gets {'all' if acc == 1.0 else 'none'} of its holdout "
                f"images right, and agreement on the line carries the members' move over from the holdout's accuracy "
                f"on the probit scale, where {acc:.0%} is infinitely far out: the estimate would be set by where it "
                f"is clipped, not by the images.")
    if reason == estimators.NO_PAIR_LEFT:
        return (" Agreement is not computed: every pair of members agrees on all (or on none) of the holdout or the "
                "competition images, and agreement on the line needs a share between 0% and 100% on both (the probit "
                "of 0% or 100% is infinite).")
    return ""


def _predicted_lb_figure(main: RunView, errors: dict, best: str, own: float | None) -> Fig:
    """The last run's estimates as bars with their measured error at its predicted drop, the expected range and,
    once it has one, its public score (``own``)."""
    fig = Figure(figsize=(7, 0.45 * len(main.result["estimates"]) + 1.2))
    ax = fig.add_subplot()
    est = main.result["estimates"]
    ys = np.arange(len(est))
    vals = np.array([100 * est[n] for n in est])
    errs = np.array([100 * ((expected_for(errors, n, main.result) or {}).get("mae") or 0.0) for n in est])
    colors = ["tab:green" if n == best else "tab:blue" for n in est]
    ax.barh(ys, vals, xerr=errs, color=colors, alpha=0.8, capsize=3)
    ax.set_yticks(ys, list(est))
    ax.axvline(100 * main.result["holdout_acc"], color="gray", ls="--", label="holdout accuracy")
    span = estimators.prediction_range(errors, est, main.result["holdout_acc"], best)
    if span is not None:  # the range section 2 quotes for this run: Median-5's, widened to take in ``best``
        ax.axvspan(100 * span[0], 100 * span[1], color="tab:green", alpha=0.12, label="expected range")
    if own is not None:  # already on the leaderboard: the answer the estimates are judged by
        ax.axvline(100 * own, color="black", lw=1.5, label="its public score")
    top = max((vals + errs).max(), 100 * main.result["holdout_acc"], 100 * (own or 0.0))
    ax.set_xlim(max(0, vals.min() - 15), min(100, top + 8))  # room for the legend, not up to 100% for a weak model
    ax.set_xlabel(f"predicted leaderboard accuracy (%) of {main.name}; error bars: measured MAE at that drop",
                  parse_math=False)  # a '$' in a run name is no mathtext
    ax.legend(fontsize=8)
    return Fig("predicted_lb", figure_png(fig), "Predicted leaderboard accuracy by estimator, with each estimator's "
               "mean absolute error measured on benchmark sets where it predicted a similar drop; shaded: the range "
               "to expect (above); a black line: the run's public score, once it has one.")


def run_estimator(v: RunView, best: str, errors: dict) -> str:
    """The estimator section 2 quotes for run ``v``: its own preferred one where it has one (Ref-Prior needs the
    run's BatchNorm reference, so the runs of one report can differ), else the report's ``best``."""
    own = recommended_estimator(errors, available=v.result["estimates"])
    return own if own in estimators.PREFERRED else best


def _no_range_sentence(v: RunView, best: str) -> str:
    """What section 2 says of a run whose ``best`` estimate has no measured range: it was not computed for this run
    (another run chose it), or never measured; such a run was left out of the text without a word."""
    est = v.result["estimates"].get(best)
    if est is None:
        return (f"{literal(v.name)}: {best} could not be computed for this run (the image-based estimators need the "
                f"competition images, and CC-Synth the run's weights or its ensemble members' logits); the "
                f"estimates that could be are in the table below.")
    return (f"{literal(v.name)}: {best} predicts **{percent(est, 1)}**, "
            f"{versus(est, v.result['holdout_acc'])} the holdout; "
            f"its error was never measured, so no range can be given.")


def temperature_note(v: RunView) -> str | None:
    """A warning when temperature scaling had nothing to fit: every holdout image right (sharper is then always
    better, and the search stops wherever the likelihood turns flat), or T at the top of ``T_BOUNDS``."""
    t = v.result.get("temperature")
    if t is None:
        return None
    if v.result.get("holdout_acc") == 1.0 or t <= T_BOUNDS[0] * 1.001:
        why = ("every holdout image is right, so the holdout shows no error to calibrate against and the confidences "
               "were sharpened as far as the search went")
    elif t >= T_BOUNDS[1] * 0.999:
        why = "its logits are far too large, or carry almost no information, for one temperature to calibrate them"
    else:
        return None
    return (f"**{literal(v.name)}: temperature scaling had nothing to fit (T = {t:.3g}).** {why[0].upper()}{why[1:]}; "
            f"the confidence-based estimates (AC, DoC, ATC, AC-EM and those built on them) rest on uncalibrated "
            f"confidences.")


def small_sample_note(v: RunView) -> str | None:
    """A warning when ``v``'s holdout or competition predictions have under ``SMALL_SET_IMAGES`` images (a smoke
    test's ``data.holdout_size`` or ``data.comp_subset``): the measured errors quoted above do not hold for them."""
    n_hold = None if v.holdout is None else len(v.holdout.ids)
    n_comp = None if v.comp is None else len(v.comp.ids)
    parts = []
    if n_hold is not None and n_hold < SMALL_SET_IMAGES:
        acc = v.result["holdout_acc"]
        parts.append(f"its holdout has {n_hold:,} images, so its accuracy alone is uncertain by about "
                     f"±{100 * 1.96 * math.sqrt(max(acc * (1 - acc), 0.25 / n_hold) / n_hold):.1f} points")
    if n_comp is not None and n_comp < SMALL_SET_IMAGES:
        parts.append(f"its competition predictions cover {n_comp:,} images, too few for the predicted-class shares to "
                     f"follow the class priors, which COT, COTT and the estimators built on them read as a shift "
                     f"(8-9 points low at 100 images)")
    if not parts:
        return None
    return (f"**{literal(v.name)}: estimates from few images.** " + "; ".join(parts)[0].upper() + "; ".join(parts)[1:]
            + ". The errors and ranges quoted here were measured with 5,000-image holdouts on sets of thousands of "
              "images, so they understate this run's.")
