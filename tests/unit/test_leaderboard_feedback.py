"""Correcting a prediction by earlier submissions' misses (``gap.leaderboard_feedback``) and its benchmark."""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_gap_ledger  # noqa: E402

from kaggle_kit import ledger  # noqa: E402
from kaggle_kit.gap import leaderboard_feedback as lf  # noqa: E402
from kaggle_kit.runs import RecipeKeys  # noqa: E402

SLUG = "comp-a"
M4S = "Median-4-Spread"
# a correction that helped on the benchmark (M4S) and one that did not (ATC-NE-BBSE)
ERRORS = {"sources": {
    "benchmark": {"models": ["a", "b", "c"], "estimators": {
        M4S: {"plain": {"mae": 0.02, "n": 9}, "one_different_recipe": {"mae": 0.017, "n": 18},
              "mean_of_others": {"mae": 0.014, "n": 9}},
        "ATC-NE-BBSE": {"plain": {"mae": 0.032, "n": 9}, "one_different_recipe": {"mae": 0.039, "n": 18}}}},
    "seeds": {"models": ["a", "a@1"], "estimators": {
        M4S: {"plain": {"mae": 0.022, "n": 4}, "one_same_recipe": {"mae": 0.007, "n": 4}}}}}}


def _ledger(tmp_path: Path, rows: list[dict]) -> pd.DataFrame:
    path = tmp_path / "ledger.csv"
    for r in rows:
        ledger.append_row(path, **{"competition": SLUG, "status": "COMPLETE", **r})
    return ledger.read_ledger(path)


def test_offset_is_the_mean_miss_and_the_correction_is_clipped():
    assert lf.mean_offset([0.80, 0.70], [0.75, 0.69]) == pytest.approx(0.03)
    assert lf.apply_offset(0.60, 0.03) == pytest.approx(0.57)
    assert lf.apply_offset(0.99, -0.05) == 1.0 and lf.apply_offset(0.01, 0.05) == 0.0


def test_ledger_offset_uses_only_scored_rows_of_the_estimator_and_competition(tmp_path):
    df = _ledger(tmp_path, [
        dict(runs=["r1"], predicted_lb_acc=0.80, predicted_by=M4S, public_score=0.75),          # +5
        dict(runs=["r2"], predicted_lb_acc=0.70, predicted_by=M4S, public_score=70.0),          # percent: +0
        dict(runs=["r3"], predicted_lb_acc=0.70, predicted_by=M4S, status="PENDING"),           # no score yet
        dict(runs=["r4"], predicted_lb_acc=0.70, predicted_by=M4S, status="dry-run"),
        dict(runs=["r5"], predicted_lb_acc=0.90, predicted_by="COTT", public_score=0.60),       # other estimator
        dict(runs=["r6"], predicted_lb_acc=0.90, predicted_by=M4S, public_score=0.10, competition="other"),
        dict(runs=["r7"], predicted_lb_acc=0.66, predicted_by="", public_score=0.60),           # legacy row
        dict(runs=[], predicted_lb_acc=None, predicted_by="", public_score=0.50),               # bare CSV
    ])
    off = lf.ledger_offset(df, M4S, SLUG)
    assert (off.n, off.offset) == (2, pytest.approx(0.025))
    assert off.apply(0.65) == pytest.approx(0.625)
    assert lf.ledger_offset(df, M4S, None).n == 3  # every competition
    legacy = lf.ledger_offset(df, "ATC-NE-BBSE", SLUG, legacy_estimator="ATC-NE-BBSE")
    assert (legacy.n, legacy.offset) == (1, pytest.approx(0.06))
    assert lf.ledger_offset(df, "ATC-NE-BBSE", SLUG) is None  # without naming the legacy estimator
    # the run being predicted never corrects itself (runs compared as sets); no runs excludes nothing
    assert lf.ledger_offset(df, M4S, SLUG, exclude_runs=["r1"]).n == 1
    assert lf.ledger_offset(df, M4S, SLUG, exclude_runs=[""]).n == 2
    assert lf.ledger_offset(df.iloc[:0], M4S, SLUG) is None


def test_ensemble_rows_are_excluded_by_their_member_set(tmp_path):
    df = _ledger(tmp_path, [dict(runs=["a", "b"], predicted_lb_acc=0.8, predicted_by=M4S, public_score=0.7),
                            dict(runs=["a"], predicted_lb_acc=0.8, predicted_by=M4S, public_score=0.78)])
    assert lf.ledger_offset(df, M4S, SLUG, exclude_runs=["b", "a"]).offset == pytest.approx(0.02)


def test_correction_is_offered_only_where_the_benchmark_shows_it_helping():
    assert lf.measured(M4S, ERRORS)["benchmark"]["one_different_recipe"] == 0.017
    assert lf.measured("ATC-NE-BBSE", ERRORS) is None  # made worse there: never applied
    assert lf.measured("COTT", ERRORS) is None  # never measured
    m = lf.measured(M4S, ERRORS)
    line = lf.evidence_line(lf.Corrected(0.7, 0.72, lf.LedgerOffset(M4S, 0.02, 1), m))
    assert line == ("measured on the benchmark's shifted sets (judged against the true accuracy): 2.00 points MAE as "
                    "is, 1.70 corrected by one earlier submission of another recipe; every measurement: `kaggle-kit "
                    "report`, section 2")
    # the line quotes the latest source with a number for the correction's kind
    same = lf.evidence_line(lf.Corrected(0.7, 0.72, lf.LedgerOffset(M4S, 0.02, 2, lf.Scope.SAME_RECIPE), m))
    assert same.startswith("measured on the seed study (2-3 seeds per recipe) (judged against the true accuracy): "
                           "2.2 points MAE as is, 0.7 corrected by one earlier submission of the same recipe "
                           "(measured with one; yours averages 2)")
    # a mean is quoted only where it held no row the toolkit would have used alone: the benchmark's included a
    # label-smoothing variant for 2 of its 5 models, so the one-earlier row stands in
    several = lf.evidence_line(lf.Corrected(0.7, 0.72, lf.LedgerOffset(M4S, 0.02, 3), m))
    assert "2.00 points MAE as is, 1.70 corrected by one earlier submission of another recipe (measured with one; " \
           "yours averages 3)" in several
    clean = {**m, "check11": {"plain": 0.039, "all": 0.0167, "n_models": 12}}
    assert "1.67 corrected by the mean of 12 earlier submissions (yours averages 3);" in lf.evidence_line(
        lf.Corrected(0.7, 0.72, lf.LedgerOffset(M4S, 0.02, 3), clean))
    # with no source measured for the kind, the latest one-earlier measurement stands in
    seeds_only = {"seeds": m["seeds"]}
    assert "0.7 corrected by" not in lf.evidence_line(lf.Corrected(0.7, 0.72, lf.LedgerOffset(M4S, 0.02, 3),
                                                                    seeds_only))
    assert lf.evidence_line(lf.Corrected(0.7, 0.72, lf.LedgerOffset(M4S, 0.02, 1), {})) == (
        "every measurement: `kaggle-kit report`, section 2")


def test_shipped_check_8_moves_the_correction_where_its_models_showed_a_gain():
    from kaggle_kit.gap.estimators import ESTIMATORS, LOGITS_ONLY

    assert lf.correction_order(M4S, ESTIMATORS) == ["Shift-Gated", M4S]
    # logits only: ATC-NE-BBSE is never corrected (its correction hurt), COTT's beat it on check 8's models
    assert lf.correction_order("ATC-NE-BBSE", LOGITS_ONLY) == ["COTT", "ATC-NE-BBSE"]
    assert "check 8) it beat ATC-NE-BBSE's" in lf.switch_words("COTT", "ATC-NE-BBSE")


def test_shipped_measurements_back_the_recommended_estimator_and_refuse_the_logits_only_one():
    shipped = lf.measured(M4S)
    assert shipped is not None and shipped["benchmark"]["one_different_recipe"] < shipped["benchmark"]["plain"]
    assert shipped["check6"]["one_earlier"] <= shipped["check6"]["plain"] - 0.005  # check 6's rule, as recorded
    assert lf.measured("ATC-NE-BBSE") is None


def test_a_failed_check_6_withdraws_the_correction():
    check6 = {"others": ["a", "b"], "estimators": {M4S: {"plain": 0.03, "one_earlier": 0.02, "mean_of_others": 0.02}}}
    held = lf.measured(M4S, {**ERRORS, "check6": {**check6, "rules_hold": True}})
    assert held["check6"] == {"plain": 0.03, "one_earlier": 0.02, "mean_of_others": 0.02, "n_models": 2}
    assert ["check 6: a new model, trained after its rule", "true accuracy", "3.0", "2.0", "-", "-",
            "2.0 (2, incl. the label-smoothing variant)"] in \
        lf.evidence_table(held)[1]
    assert lf.measured(M4S, {**ERRORS, "check6": {**check6, "rules_hold": False}}) is None


def test_corrected_prediction_and_the_ledger_replay(tmp_path):
    df = _ledger(tmp_path, [
        dict(runs=["r1"], predicted_lb_acc=0.80, predicted_by=M4S, public_score=0.76),  # first: nothing before it
        dict(runs=["r2"], predicted_lb_acc=0.70, predicted_by=M4S, public_score=0.67),  # corrected by r1: 0.66
        dict(runs=["r1"], predicted_lb_acc=0.80, predicted_by=M4S, public_score=0.76),  # r1 again: r2 only
        dict(runs=["r3"], predicted_lb_acc=0.60, predicted_by="ATC-NE-BBSE", public_score=0.5),  # not offered
    ])
    c = lf.corrected_prediction({M4S: 0.72}, M4S, df, SLUG, ["r9"], errors=ERRORS)
    assert c.offset.n == 3 and c.accuracy == pytest.approx(0.72 - (0.04 + 0.03 + 0.04) / 3)
    assert c.describe() == ("Median-4-Spread 72.0% corrected by 3 scored submissions whose Median-4-Spread "
                            f"predictions were 3.7 points too high on average: {100 * c.accuracy:.1f}%")
    assert lf.corrected_prediction({"ATC-NE-BBSE": 0.72}, "ATC-NE-BBSE", df, SLUG, errors=ERRORS) is None
    replay = lf.replay(df, errors=ERRORS)
    assert math.isnan(replay[0]) and math.isnan(replay[3])
    assert replay[1] == pytest.approx(0.66) and replay[2] == pytest.approx(0.80 - 0.03)


def test_benchmark_scenarios_on_rows_with_a_known_answer():
    """Set s1: every model misses by +5 (a shift-driven error): any correction is exact. Set s2: misses +4 and +2
    for recipe x's two seeds and -2 for recipe y: the pairs give |2| (same recipe) and 6 / 4 (different)."""
    rows = pd.DataFrame({
        "model": ["x", "x@1", "y"] * 2, "set": ["s1"] * 3 + ["s2"] * 3,
        "true_acc": [0.5] * 6, "M": [0.55, 0.55, 0.55, 0.54, 0.52, 0.48]})
    res = bench_gap_ledger.summary(rows, ("M",))["M"]
    assert res["plain"]["mae"] == pytest.approx((0.05 * 3 + 0.04 + 0.02 + 0.02) / 6)
    assert res["one_same_recipe"] == {"mae": pytest.approx((0 + 0 + 0.02 + 0.02) / 4), "p90": pytest.approx(0.02),
                                      "n": 4}
    assert res["one_different_recipe"]["mae"] == pytest.approx((0 * 4 + 0.06 + 0.06 + 0.04 + 0.04) / 8)
    # mean of others on s2: x -> |4 - 0|, x@1 -> |2 - 1|, y -> |-2 - 3|
    assert res["mean_of_others"]["mae"] == pytest.approx((0 * 3 + 0.04 + 0.01 + 0.05) / 6)


def test_shipped_measurements_reproduce_from_the_committed_per_set_tables():
    """The report's evidence is what bench_gap_ledger.py computes from RESULTS_gap.md and RESULTS_gap_seeds.md."""
    shipped = json.loads(bench_gap_ledger.OUT_JSON.read_text())["sources"]
    sources = bench_gap_ledger.row_sources()
    for key in ("benchmark", "standin", "seeds"):
        got = bench_gap_ledger.summary(sources[key])
        want = shipped[key]["estimators"]
        assert set(got) == set(want) == set(bench_gap_ledger.ESTIMATORS)
        for est, scen in want.items():
            for name, v in scen.items():
                assert got[est][name]["n"] == v["n"] and got[est][name]["mae"] == pytest.approx(v["mae"], abs=1e-12)


def test_check_6_confirmation_scores_the_new_model_against_the_others_misses():
    m4s = "Median-4-Spread"
    new = pd.DataFrame({"model": ["n"] * 3, "set": ["clean", "s1", "s2"], "true_acc": [0.9, 0.5, 0.5],
                        m4s: [0.0, 0.55, 0.52]})  # the clean row is not a shifted set: ignored
    others = pd.DataFrame({"model": ["a", "b"] * 2, "set": ["s1", "s1", "s2", "s2"], "true_acc": [0.6] * 4,
                           m4s: [0.65, 0.65, 0.64, 0.60]})  # misses +5 +5 on s1, +4 0 on s2
    text, ok, record = bench_gap_ledger.confirm(new, others, (m4s,))
    assert ok and f"| {m4s} | 3.50 | 1.00 | 0.00 |" in text
    assert record["n_sets"] == 2 and record["estimators"][m4s]["one_earlier"] == pytest.approx(0.01)
    assert "Rule 6a (one earlier submission at least 0.5 below as is): 1.00 vs 3.50 -> holds" in text
    others[m4s] = [0.55, 0.55, 0.70, 0.70]  # misses -5 on s1, +10 on s2: the correction misleads
    text, ok, _ = bench_gap_ledger.confirm(new, others, (m4s,))
    assert not ok and "-> fails" in text


def test_check_7_rule_and_the_results_file_keeps_every_recorded_check():
    assert bench_gap_ledger.verdict(7, 2.5, 0.9, 0.9) == (True, "Rule 7 (corrected by the same recipe's earlier "
                                                                "miss, at most 1.0 point): 0.90 (as is 2.50) -> holds.")
    assert bench_gap_ledger.verdict(7, 2.5, 1.2, 1.2)[0] is False
    assert bench_gap_ledger.verdict(6, 2.5, 1.9, 2.1) == (False, "Rule 6a (one earlier submission at least 0.5 below "
                                                                 "as is): 1.90 vs 2.50 -> holds. Rule 6b (the mean of "
                                                                 "the others' misses, the same): 2.10 vs 2.50 -> fails.")
    text = "## tables\n\n| a |\n\n## Check 7: x\n\nseven\n\n## Check 6: y\n\nsix\n"
    base, checks = bench_gap_ledger.split_checks(text)
    assert base == "## tables\n\n| a |" and checks == {6: "## Check 6: y\n\nsix", 7: "## Check 7: x\n\nseven"}
    joined = bench_gap_ledger.join_checks(base, checks)
    assert joined.index("## Check 6") < joined.index("## Check 7") and bench_gap_ledger.split_checks(joined) == (
        base, checks)


def test_check_7_is_quoted_whatever_its_outcome():
    check7 = {"others": ["a"], "rules_hold": False,
              "estimators": {M4S: {"plain": 0.03, "one_earlier": 0.012, "mean_of_others": 0.012}}}
    m = lf.measured(M4S, {**ERRORS, "check7": check7})
    assert m is not None and m["check7"]["one_earlier"] == 0.012  # quoted, never a reason to withdraw
    assert ["check 7: that model's second seed", "true accuracy", "3.00", "-", "1.20", "-", "-"] in \
        lf.evidence_table(m)[1]


def test_check8_verdict_on_rows_with_a_known_answer():
    """Truth 0.5. Shift-Gated: seeds n, n@1 both +2, other recipe o +5 -> same recipe exact, another recipe 3 off.
    Median-4-Spread: n +6, n@1 +2, o +5 -> same recipe 4 off both ways, another recipe 1 and 3 off."""
    def rows(o_sg):
        return pd.DataFrame({"model": ["n", "n@1", "o"], "set": ["s1"] * 3, "true_acc": [0.5] * 3,
                             "Shift-Gated": [0.52, 0.52, o_sg], "Median-4-Spread": [0.56, 0.52, 0.55]})

    names = ("Median-4-Spread", "Shift-Gated")
    df = rows(0.55)
    text, ok, rec = bench_gap_ledger.confirm_check8(df[df["model"] != "o"], df[df["model"] == "o"], names)
    assert rec["estimators"]["Shift-Gated"] == pytest.approx(
        {"plain": 0.02, "one_different_recipe": 0.03, "one_same_recipe": 0.0})
    assert rec["estimators"]["Median-4-Spread"] == pytest.approx(
        {"plain": 0.04, "one_different_recipe": 0.02, "one_same_recipe": 0.04})
    assert ok is False and rec["goal_holds"] and "-> fails. Rule 8b" in text  # 3.00 is not 0.2 below 2.00
    # far better with another recipe but worse with the same: 8a fails on its second clause; 8b fails too
    df = pd.DataFrame({"model": ["n", "n@1", "o"], "set": ["s1"] * 3, "true_acc": [0.5] * 3,
                       "Shift-Gated": [0.56, 0.52, 0.56], "Median-4-Spread": [0.56, 0.55, 0.50]})
    text, ok, rec = bench_gap_ledger.confirm_check8(df[df["model"] != "o"], df[df["model"] == "o"], names)
    sg, m4s = rec["estimators"]["Shift-Gated"], rec["estimators"]["Median-4-Spread"]
    assert sg["one_different_recipe"] == pytest.approx(0.02) and m4s["one_different_recipe"] == pytest.approx(0.055)
    assert (sg["one_same_recipe"], m4s["one_same_recipe"]) == (pytest.approx(0.04), pytest.approx(0.01))
    assert not ok and not rec["goal_holds"] and text.count("-> fails") == 2
    df = rows(0.52)  # o now misses like the new recipe: Shift-Gated's other-recipe correction is exact too
    _, ok, rec = bench_gap_ledger.confirm_check8(df[df["model"] != "o"], df[df["model"] == "o"], names)
    assert ok is True and rec["rules_hold"]
    assert rec["estimators"]["Shift-Gated"]["one_different_recipe"] == pytest.approx(0)


SG = "Shift-Gated"
# Shift-Gated's correction measured better than M4S's on the benchmark; check 8 confirmed the rule (or not)
ERRORS8 = {**ERRORS, "sources": {**ERRORS["sources"], "benchmark": {**ERRORS["sources"]["benchmark"], "estimators": {
    **ERRORS["sources"]["benchmark"]["estimators"],
    SG: {"plain": {"mae": 0.023, "n": 9}, "one_different_recipe": {"mae": 0.013, "n": 18}}}}}}


def _check8(holds: bool, sg_same: float = 0.0065) -> dict:
    return {**ERRORS8, "check8": {"rules_hold": holds, "others": ["a"], "estimators": {
        SG: {"plain": 0.04, "one_different_recipe": 0.015, "one_same_recipe": sg_same},
        M4S: {"plain": 0.039, "one_different_recipe": 0.0186, "one_same_recipe": 0.011}}}}


def test_once_check_8_holds_the_estimator_whose_correction_measured_best_is_corrected(tmp_path):
    assert lf.correction_order(M4S, [M4S, SG, "ATC-NE-BBSE"], _check8(True)) == [SG, M4S]
    assert lf.correction_order(M4S, [M4S, "ATC-NE-BBSE"], _check8(True)) == [M4S]  # Shift-Gated not computed
    assert lf.correction_order(M4S, [M4S, SG], _check8(False)) == [M4S]  # the check failed: the old rule
    assert lf.correction_order(M4S, [M4S, SG], ERRORS8) == [M4S]  # not run
    # Shift-Gated must beat Median-4-Spread on check 8's own models too (rule 8a's comparison)
    assert lf.correction_order(M4S, [M4S, SG], _check8(True, sg_same=0.012)) == [M4S]  # worse with the same recipe
    assert "1.50 vs 1.86 points with another recipe's miss and 0.65 vs 1.10" in lf.switch_words(SG, M4S, _check8(True))
    assert lf.switch_words(M4S, M4S, _check8(True)) == ""
    df = _ledger(tmp_path, [
        dict(runs=["r1"], predicted_lb_acc=0.80, predicted_by=M4S, public_score=0.76, estimates={M4S: 0.80, SG: 0.78}),
        dict(runs=["r2"], predicted_lb_acc=0.70, predicted_by=M4S, public_score=0.67),  # written before "estimates"
    ])
    c = lf.corrected_prediction({M4S: 0.72, SG: 0.71}, M4S, df, SLUG, ["r9"], errors=_check8(True))
    assert (c.offset.estimator, c.offset.n, c.estimate) == (SG, 1, 0.71) and c.accuracy == pytest.approx(0.69)
    assert c.describe().startswith("Shift-Gated 71.0% corrected by 1 scored submission whose Shift-Gated")
    assert ["check 8: a new recipe, two seeds, trained after its rule", "true accuracy", "4.00", "1.50", "0.65",
            "-", "-"] in lf.evidence_table(c.evidence)[1]
    # check 8 failed: Median-4-Spread is corrected by both rows, as before
    c = lf.corrected_prediction({M4S: 0.72, SG: 0.71}, M4S, df, SLUG, ["r9"], errors=_check8(False))
    assert (c.offset.estimator, c.offset.n) == (M4S, 2)
    # no earlier Shift-Gated value in the ledger (only old rows): the recommended estimator's correction instead
    c = lf.corrected_prediction({M4S: 0.72, SG: 0.71}, M4S, df.iloc[1:], SLUG, errors=_check8(True))
    assert (c.offset.estimator, c.offset.n) == (M4S, 1)
    # the replay: a row without Shift-Gated's value falls back to Median-4-Spread (0.70 - 0.04); one with it is
    # corrected by the earlier rows' Shift-Gated misses (row 1's +0.02; row 2 recorded none)
    df = _ledger(tmp_path / "b", [
        dict(runs=["r1"], predicted_lb_acc=0.80, predicted_by=M4S, public_score=0.76, estimates={M4S: 0.80, SG: 0.78}),
        dict(runs=["r2"], predicted_lb_acc=0.70, predicted_by=M4S, public_score=0.67),
        dict(runs=["r3"], predicted_lb_acc=0.66, predicted_by=M4S, public_score=0.62, estimates={M4S: 0.66, SG: 0.65})])
    replayed = lf.replay(df, errors=_check8(True))
    assert math.isnan(replayed[0]) and replayed[1:] == pytest.approx([0.66, 0.63])


def test_a_recommended_estimator_check_8_never_measured_is_judged_by_the_one_it_compared_with(tmp_path):
    """Median-5-Spread (check 15) came after check 8, which compared Shift-Gated's correction with Median-4-Spread's:
    without this, Shift-Gated lost its place to an estimator whose correction was never measured, and no run was
    corrected at all."""
    m5s = "Median-5-Spread"
    assert lf.CHECK8_RECOMMENDED == M4S
    assert lf.check8_baseline(m5s, _check8(True)) == M4S and lf.check8_baseline(M4S, _check8(True)) == M4S
    assert lf.correction_order(m5s, [m5s, M4S, SG], _check8(True)) == [SG, m5s]
    assert lf.correction_order(m5s, [m5s, SG], _check8(False)) == [m5s]  # check 8 failed: no switch
    words = lf.switch_words(SG, m5s, _check8(True))
    assert words.startswith("Shift-Gated is corrected, not Median-5-Spread:")
    assert ("it beat Median-4-Spread's (recommended then; Median-5-Spread's correction was never measured), 1.50 vs "
            "1.86 points") in words
    df = _ledger(tmp_path, [dict(runs=["r1"], predicted_lb_acc=0.80, predicted_by=m5s, public_score=0.76,
                                 estimates={m5s: 0.80, SG: 0.78})])
    c = lf.corrected_prediction({m5s: 0.72, SG: 0.71}, m5s, df, SLUG, ["r9"], errors=_check8(True))
    assert (c.offset.estimator, c.estimate) == (SG, 0.71) and c.accuracy == pytest.approx(0.69)


def test_the_scoreboard_ranks_every_kept_estimate_against_the_public_score(tmp_path):
    from kaggle_kit.gap.report_scoreboard import estimator_errors

    df = _ledger(tmp_path, [
        dict(runs=["r1"], predicted_lb_acc=0.80, predicted_by=M4S, public_score=0.76, estimates={M4S: 0.80, SG: 0.78}),
        dict(runs=["r2"], predicted_lb_acc=0.70, predicted_by=M4S, public_score=0.67),  # kept no estimates
        dict(runs=["r3"], predicted_lb_acc=0.66, predicted_by=M4S, public_score=0.62, estimates={M4S: 0.66, SG: 0.61})])
    got = estimator_errors(df)
    assert list(got) == [SG, M4S]  # lowest error first
    assert got[SG] == (pytest.approx(0.015), 2) and got[M4S] == (pytest.approx(0.04), 2)


def test_the_corrected_prediction_carries_the_larger_measured_p90_as_its_range(tmp_path):
    errors = {"sources": {
        "benchmark": {"estimators": {M4S: {"plain": {"mae": 0.02, "n": 9},
                                           "one_different_recipe": {"mae": 0.017, "p90": 0.03, "n": 18}}}},
        "heldout": {"estimators": {M4S: {"plain": {"mae": 0.03, "n": 9},
                                         "one_different_recipe": {"mae": 0.02, "p90": 0.05, "n": 18}}}},
        "seeds": {"estimators": {M4S: {"one_different_recipe": {"mae": 0.01, "p90": 0.09, "n": 4}}}}}}
    assert lf.correction_p90(M4S, errors) == 0.05  # benchmark and held-out families only
    assert lf.correction_p90("COTT", errors) is None
    df = _ledger(tmp_path, [dict(runs=["r1"], predicted_lb_acc=0.80, predicted_by=M4S, public_score=0.78)])
    c = lf.corrected_prediction({M4S: 0.97}, M4S, df, SLUG, errors=errors)
    assert (c.accuracy, c.low, c.high) == (pytest.approx(0.95), pytest.approx(0.90), 1.0)  # clipped at 100%
    assert c.describe().endswith(": 95.0% (expect 90.0% to 100.0%)")
    assert lf.corrected_prediction({M4S: 0.97}, M4S, df, SLUG, errors=ERRORS).low is None  # no p90 measured


def test_shipped_correction_range_is_shift_gateds_measured_p90():
    p90 = lf.correction_p90("Shift-Gated")
    src = lf.measurements()["sources"]
    assert p90 == max(src[k]["estimators"]["Shift-Gated"]["one_different_recipe"]["p90"] for k in ("benchmark",
                                                                                                  "heldout"))
    assert 0.01 < p90 < 0.1


CHECK9 = {"rules": {"9a": True, "9b": True}, "band": {M4S: 0.02}, "coverage_private": 0.9}
P90_ERRORS = {"sources": {
    "benchmark": {"estimators": {M4S: {"plain": {"mae": 0.02, "n": 9},
                                       "one_different_recipe": {"mae": 0.017, "p90": 0.05, "n": 18}}}}}}


def test_rows_of_the_runs_recipe_correct_it_alone_once_check_9_allows_it(tmp_path):
    df = _ledger(tmp_path, [
        dict(runs=["a0"], recipe="aaaa", predicted_lb_acc=0.80, predicted_by=M4S, public_score=0.79),  # +1
        dict(runs=["b0"], recipe="bbbb", predicted_lb_acc=0.80, predicted_by=M4S, public_score=0.74),  # +6
        dict(runs=["c0"], recipe="", predicted_lb_acc=0.80, predicted_by=M4S, public_score=0.72),      # +8, unknown
    ])
    same = lf.ledger_offset(df, M4S, SLUG, recipe=RecipeKeys("aaaa", "ffff"))
    assert (same.n, same.offset, same.same_recipe) == (1, pytest.approx(0.01), True)
    every = lf.ledger_offset(df, M4S, SLUG, recipe=RecipeKeys("dddd", "ffff"))  # no row of this recipe: all rows
    assert (every.n, every.offset, every.same_recipe) == (3, pytest.approx(0.05), False)
    assert lf.ledger_offset(df, M4S, SLUG).same_recipe is False
    # the run itself is never its own evidence, even when it is the only row of its recipe
    assert lf.ledger_offset(df, M4S, SLUG, exclude_runs=["a0"], recipe=RecipeKeys("aaaa", "ffff")).n == 2

    errors = {**P90_ERRORS, "check9": CHECK9}
    c = lf.corrected_prediction({M4S: 0.70}, M4S, df, SLUG, ["a1"], errors=errors, recipe=RecipeKeys("aaaa", "ffff"))
    assert (c.accuracy, c.low, c.high) == (pytest.approx(0.69), pytest.approx(0.67), pytest.approx(0.71))
    assert "by 1 scored submission of the same recipe whose" in c.describe()
    assert "90% on its new recipe" in lf.range_basis(c, errors)
    other = lf.corrected_prediction({M4S: 0.70}, M4S, df, SLUG, ["d0"], errors=errors,
                                    recipe=RecipeKeys("dddd", "ffff"))
    assert (other.offset.n, other.low) == (3, pytest.approx(0.60))  # another recipe's range: +- the p90
    assert lf.range_basis(other, errors).startswith("9 in 10 corrections of another recipe's model")
    # 9b failed: the same-recipe correction keeps the wider range; 9a failed: every row counts
    c = lf.corrected_prediction({M4S: 0.70}, M4S, df, SLUG, errors={**P90_ERRORS, "check9": {
        **CHECK9, "rules": {"9a": True, "9b": False}}}, recipe=RecipeKeys("aaaa", "ffff"))
    assert c.offset.same_recipe and c.low == pytest.approx(0.64)
    assert "another recipe's model" in lf.range_basis(c, {**P90_ERRORS, "check9": {**CHECK9, "rules": {}}})
    for check9 in ({**CHECK9, "rules": {"9a": False, "9b": True}}, None):
        errs = P90_ERRORS if check9 is None else {**P90_ERRORS, "check9": check9}
        c = lf.corrected_prediction({M4S: 0.70}, M4S, df, SLUG, errors=errs, recipe=RecipeKeys("aaaa", "ffff"))
        assert (c.offset.n, c.offset.same_recipe) == (3, False)


def test_the_replay_corrects_each_row_by_the_earlier_rows_of_its_recipe(tmp_path):
    df = _ledger(tmp_path, [
        dict(runs=["a0"], recipe="aaaa", predicted_lb_acc=0.80, predicted_by=M4S, public_score=0.79),
        dict(runs=["b0"], recipe="bbbb", predicted_lb_acc=0.80, predicted_by=M4S, public_score=0.74),
        dict(runs=["a1"], recipe="aaaa", predicted_lb_acc=0.70, predicted_by=M4S, public_score=0.69),
        dict(runs=["b1"], recipe="bbbb", predicted_lb_acc=0.70, predicted_by=M4S, public_score=0.64),
    ])
    errors = {**P90_ERRORS, "check9": CHECK9}
    replay = lf.replay(df, errors=errors)
    assert math.isnan(replay[0])
    assert replay[1] == pytest.approx(0.79)  # no earlier "bbbb" row: a0's miss
    assert replay[2] == pytest.approx(0.69) and replay[3] == pytest.approx(0.64)  # each by its own recipe
    assert lf.replay(df, errors=P90_ERRORS)[3] == pytest.approx(0.70 - (0.01 + 0.06 + 0.01) / 3)


def test_shipped_check_9_record_drives_the_same_recipe_range():
    rec = lf.measurements().get("check9")
    assert rec is not None, "check 9 is recorded by bench_gap_public_split.py --check 9"
    band = lf.same_recipe_band("Shift-Gated")
    assert lf.same_recipe_first() == rec["rules"]["9a"]
    assert band == (0.0213 if rec["rules"]["9b"] else None)


def test_check_9_is_quoted_in_the_evidence_judged_by_the_private_score():
    rec = {**CHECK9, "others": ["a", "b"], "estimators": {M4S: {
        s: {"full": 0.0, "public": 0.0, "private": v} for s, v in
        (("plain", 0.03), ("one_same_recipe", 0.0086), ("mean_of_others", 0.0111))}}}
    m = lf.measured(M4S, {**ERRORS, "check9": rec})
    assert m["check9"] == {"plain": 0.03, "one_same_recipe": 0.0086, "mean_of_others": 0.0111, "n_models": 3}
    assert lf.evidence_table(m)[1][-1] == ["check 9: another new recipe, two seeds",
                                           "private score of a 50% public split", "3.00", "-", "0.86", "-",
                                           "1.11 (3, incl. the other seed)"]


def test_check_11_is_read_from_its_record():
    rec = {"others": ["a", "b", "c"], "adopted": None, "rules": {"11": False}, "estimators": {M4S: {
        s: {"full": 0.0, "public": 0.0, "private": v, "n": 72} for s, v in
        (("plain", 0.039), ("architecture", 0.0189), ("accuracy", 0.0192), ("all", 0.0167))}}}
    m = lf.measured(M4S, {**ERRORS, "check11": rec})
    assert m["check11"] == {"plain": 0.039, "architecture": 0.0189, "accuracy": 0.0192, "all": 0.0167, "n_models": 3}
    assert not any("check 11" in r[0] for r in lf.evidence_table(lf.measured(M4S, ERRORS))[1])


def test_evidence_table_has_a_row_per_source_with_its_own_columns():
    rec = {"others": ["a", "b", "c"], "estimators": {M4S: {
        s: {"private": v} for s, v in (("plain", 0.039), ("architecture", 0.0189), ("accuracy", 0.0192),
                                       ("all", 0.0167))}}}
    headers, rows, notes = lf.evidence_table(lf.measured(M4S, {**ERRORS, "check11": rec}))
    assert headers == ["measured on", "judged against", "as is", "one earlier, another recipe",
                       "one earlier, same recipe", "earlier, same recipe but label smoothing",
                       "mean of earlier (how many)"]
    assert rows == [
        ["the benchmark's shifted sets", "true accuracy", "2.00", "1.70", "-", "-",
         "1.40 (2, incl. a label-smoothing variant for 2 of 5 models)"],
        ["the seed study (2-3 seeds per recipe)", "true accuracy", "2.2", "-", "0.7", "-", "-"],
        ["check 11: two more new recipes, one seed each", "private score of a 50% public split", "3.90", "-", "-", "-",
         "1.67 (3)"]]
    assert notes == ["Check 11 also tried correcting a new recipe by only the earlier submissions of the same "
                     "architecture (1.89 points) or only the 4 nearest in local accuracy (1.92); neither beat the "
                     "mean of all earlier (1.67), so a new recipe is corrected by every scored submission."]
    # a record without the note's numbers keeps its row and drops the note (it used to raise)
    bare = {**rec, "estimators": {M4S: {k: v for k, v in rec["estimators"][M4S].items() if k in ("plain", "all")}}}
    rows, notes = lf.evidence_table(lf.measured(M4S, {**ERRORS, "check11": bare}))[1:]
    assert rows[-1][-1] == "1.67 (3)" and notes == []


def _row(rows: list[list[str]], label: str) -> list[str]:
    return next(r for r in rows if r[0].startswith(label))


def test_shipped_check_11_failed_and_is_in_the_evidence():
    rec = lf.measurements()["check11"]
    assert rec["adopted"] is None and rec["rules"] == {"11": False}
    sg = rec["estimators"]["Shift-Gated"]
    assert sg["all"]["private"] < min(sg["architecture"]["private"], sg["accuracy"]["private"])
    m = lf.measured("Shift-Gated")
    rows, notes = lf.evidence_table(m)[1:]
    assert _row(rows, "check 11:") == ["check 11: two more new recipes, one seed each",
                                       "private score of a 50% public split", "3.90", "-", "-", "-", "1.67 (12)"]
    assert notes == ["Check 11 also tried correcting a new recipe by only the earlier submissions of the same "
                     "architecture (1.89 points) or only the 4 nearest in local accuracy (1.92); neither beat the "
                     "mean of all earlier (1.67), so a new recipe is corrected by every scored submission.",
                     "The 'another recipe' cells of the benchmark, the stand-in and checks 6 and 8 also count pairs "
                     "where the earlier submission was the corrected recipe's label-smoothing variant. Since check 12 "
                     "the toolkit corrects by such a variant alone when the ledger has one, so for a recipe "
                     "without a variant in the ledger these cells are somewhat optimistic.", notes[-1]]
    assert notes[-1].startswith("Check 14 also tried")
    # a new recipe's correction by several earlier submissions quotes check 11, judged by the private score
    line = lf.evidence_line(lf.Corrected(0.7, 0.72, lf.LedgerOffset("Shift-Gated", 0.02, 5), m))
    assert ("(judged against the private score of a 50% public split): 3.90 points MAE as is, 1.67 corrected by "
            "the mean of 12 earlier submissions (yours averages 5);") in line


def test_shipped_check_14_failed_and_is_in_the_evidence_without_changing_the_quote():
    """Check 14's learning-rate variants were not adopted: its row shows the mean of all earlier, with a note; the
    upload keeps quoting check 11 for a new recipe, since check 14's mean held each recipe's learning-rate variant."""
    assert not lf.measurements()[lf.CHECK14]["rules"]["14a"]
    m = lf.measured("Shift-Gated")
    rows, notes = lf.evidence_table(m)[1:]
    assert _row(rows, "check 14:") == ["check 14: four recipes with the learning rate halved, one seed each",
                                       "private score of a 50% public split", "3.60", "-", "-", "-",
                                       "1.25 (22, incl. the learning-rate variants)"]
    assert notes[-1] == ("Check 14 also tried correcting a new recipe by only the earlier submissions of the same "
                         "recipe with another learning rate (1.20 points); that was not 0.2 below the mean of all "
                         "earlier (1.25), so such a recipe is corrected by every scored submission too.")
    line = lf.evidence_line(lf.Corrected(0.7, 0.72, lf.LedgerOffset("Shift-Gated", 0.02, 5), m))
    assert line.startswith("measured on check 11: two more new recipes, one seed each")


def test_check_10_gives_its_estimators_their_own_same_recipe_range_where_its_rule_held(tmp_path):
    check10 = {"band": {M4S: 0.0265, "COTT": 0.0261}, "rules": {M4S: True, "COTT": False},
               "coverage_private": {M4S: 0.9, "COTT": 0.7}}
    errors = {**P90_ERRORS, "check9": {**CHECK9, "band": {"Shift-Gated": 0.0213}}, "check10": check10}
    assert lf.band_source(M4S, errors) == "check10" and lf.same_recipe_band(M4S, errors) == 0.0265
    assert lf.band_source("COTT", errors) is None and lf.same_recipe_band("COTT", errors) is None
    assert lf.band_source("Shift-Gated", errors) == "check9"
    assert lf.band_coverage(M4S, errors) == 0.9
    df = _ledger(tmp_path, [
        dict(runs=["a0"], recipe="aaaa", predicted_lb_acc=0.80, predicted_by=M4S, public_score=0.79)])
    c = lf.corrected_prediction({M4S: 0.70}, M4S, df, SLUG, ["a1"], errors=errors, recipe=RecipeKeys("aaaa", "ffff"))
    assert (c.low, c.high) == (pytest.approx(0.69 - 0.0265), pytest.approx(0.69 + 0.0265))
    assert lf.range_basis(c, errors).endswith("90% on its new recipe, trained after the range was written down "
                                              "(benchmarks/PREREGISTERED.md, check 10)")


CHECK12 = {"others": ["a", "b", "c"], "adopted": True, "rules": {"12": True}, "estimators": {M4S: {
    s: {"full": 0.0, "public": 0.0, "private": v, "n": 144} for s, v in
    (("plain", 0.035), ("smoothing_pair", 0.0112), ("all", 0.0142))}}}


def test_without_its_own_rows_a_recipe_is_corrected_by_its_label_smoothing_variants_once_check_12_allows_it(
        tmp_path):
    df = _ledger(tmp_path, [
        dict(runs=["a0"], recipe="aaaa", recipe_except_smoothing="eeee", predicted_lb_acc=0.80, predicted_by=M4S,
             public_score=0.79),  # +1, a smoothing variant of "7777"
        dict(runs=["s0"], recipe="5555", recipe_except_smoothing="eeee", predicted_lb_acc=0.80, predicted_by=M4S,
             public_score=0.77),  # +3, another variant
        dict(runs=["b0"], recipe="bbbb", recipe_except_smoothing="ffff", predicted_lb_acc=0.80, predicted_by=M4S,
             public_score=0.74),  # +6
        dict(runs=["c0"], recipe="cccc", predicted_lb_acc=0.80, predicted_by=M4S, public_score=0.72),  # +8, older row
    ])
    new = RecipeKeys("7777", "eeee")
    variant = lf.ledger_offset(df, M4S, SLUG, recipe=new, by_smoothing_variant=True)
    assert (variant.n, variant.offset, variant.scope) == (2, pytest.approx(0.02), lf.Scope.SMOOTHING_VARIANT)
    assert not variant.same_recipe and variant.smoothing_variant
    assert variant.scope_words() == " of the same recipe but for label smoothing"
    # its own rows come first (check 9); without the rule, or a key, or a variant in the ledger: every row
    own = lf.ledger_offset(df, M4S, SLUG, recipe=RecipeKeys("aaaa", "eeee"), by_smoothing_variant=True)
    assert (own.n, own.same_recipe, own.smoothing_variant) == (1, True, False)
    for keys, flag in ((new, False), (RecipeKeys("7777", ""), True), (RecipeKeys("7777", "9999"), True)):
        every = lf.ledger_offset(df, M4S, SLUG, recipe=keys, by_smoothing_variant=flag)
        assert (every.n, every.offset, every.smoothing_variant) == (4, pytest.approx(0.045), False)
    # the variant's own run is left out like any other: the other variant remains
    assert lf.ledger_offset(df, M4S, SLUG, ["s0"], recipe=new, by_smoothing_variant=True).n == 1

    errors = {**P90_ERRORS, "check9": CHECK9, "check12": CHECK12}
    assert lf.smoothing_variant_next(errors) and not lf.smoothing_variant_next({**errors, "check12": {
        **CHECK12, "rules": {"12": False}}})
    c = lf.corrected_prediction({M4S: 0.70}, M4S, df, SLUG, ["t0"], errors=errors, recipe=new)
    assert c.accuracy == pytest.approx(0.68) and (c.low, c.high) == (pytest.approx(0.63), pytest.approx(0.73))
    assert "by 2 scored submissions of the same recipe but for label smoothing whose" in c.describe()
    assert lf.range_basis(c, errors).startswith("9 in 10 corrections of another recipe's model")  # its range
    assert lf.evidence_line(c) == (
        "measured on check 12: four recipes with label smoothing added, one seed each (judged against the private "
        "score of a 50% public split): 3.50 points MAE as is, 1.12 corrected by the earlier submissions of the same "
        "recipe with another label smoothing; every measurement: `kaggle-kit report`, section 2")
    assert ["check 12: four recipes with label smoothing added, one seed each", "private score of a 50% public split",
            "3.50", "-", "-", "1.12", "1.42 (3, incl. the label-smoothing variant)"] in lf.evidence_table(c.evidence)[1]
    # check 12 failed, or check 9 did (recipes are not used at all then): every row
    for errs in ({**errors, "check12": {**CHECK12, "rules": {"12": False}}},
                 {**errors, "check9": {**CHECK9, "rules": {"9a": False}}}):
        c = lf.corrected_prediction({M4S: 0.70}, M4S, df, SLUG, ["t0"], errors=errs, recipe=new)
        assert (c.offset.n, c.offset.smoothing_variant) == (4, False)


CHECK13 = {"others": list("abcdefghijklmnopqr"), "models": ["w", "x", "y", "z"], "band": {M4S: 0.0229},
           "rules": {"13": True}, "coverage_private": 0.91, "estimators": {M4S: {
               s: {"full": 0.0, "public": 0.0, "private": v, "n": 144} for s, v in
               (("plain", 0.036), ("smoothing_variants", 0.0105), ("all", 0.0131))}}}


def test_check_13_gives_corrections_by_label_smoothing_variants_their_own_range_where_its_rule_held(tmp_path):
    df = _ledger(tmp_path, [
        dict(runs=["a0"], recipe="aaaa", recipe_except_smoothing="eeee", predicted_lb_acc=0.80, predicted_by=M4S,
             public_score=0.78),  # +2, a smoothing variant of "7777"
        dict(runs=["b0"], recipe="bbbb", recipe_except_smoothing="ffff", predicted_lb_acc=0.80, predicted_by=M4S,
             public_score=0.74),  # +6, another recipe
    ])
    errors = {**P90_ERRORS, "check9": CHECK9, "check12": CHECK12, "check13": CHECK13}
    assert lf.variant_band(M4S, errors) == 0.0229 and lf.variant_band("COTT", errors) is None
    c = lf.corrected_prediction({M4S: 0.70}, M4S, df, SLUG, ["t0"], errors=errors, recipe=RecipeKeys("7777", "eeee"))
    assert c.offset.smoothing_variant and c.accuracy == pytest.approx(0.68)
    assert (c.low, c.high) == (pytest.approx(0.68 - 0.0229), pytest.approx(0.68 + 0.0229))
    assert lf.range_basis(c, errors) == (
        "9 in 10 corrections by label-smoothing variants' earlier submissions fell this close to the private score of "
        "a random 50% public split on the 18 models seen before check 13, and 91% on its 4 new recipes, trained after "
        "the range was written down (benchmarks/PREREGISTERED.md, check 13)")
    # the variant correction now quotes check 13, the latest that measured it
    assert lf.evidence_line(c).startswith(
        "measured on check 13: those four recipes with label smoothing 0.2, one seed each (judged against the private "
        "score of a 50% public split): 3.60 points MAE as is, 1.05 corrected by the earlier submissions of the same "
        "recipe with another label smoothing;")
    assert ["check 13: those four recipes with label smoothing 0.2, one seed each",
            "private score of a 50% public split", "3.60", "-", "-", "1.05",
            "1.31 (18, incl. the label-smoothing variants)"] in lf.evidence_table(c.evidence)[1]
    # the run's own recipe keeps check 9's range, a new recipe without variants the other-recipe one
    own = lf.corrected_prediction({M4S: 0.70}, M4S, df, SLUG, ["t0"], errors=errors, recipe=RecipeKeys("aaaa", "eeee"))
    assert own.offset.same_recipe and own.high - own.accuracy == pytest.approx(0.02)
    new = lf.corrected_prediction({M4S: 0.70}, M4S, df, SLUG, ["t0"], errors=errors, recipe=RecipeKeys("7777", "9999"))
    assert not new.offset.smoothing_variant and new.high - new.accuracy == pytest.approx(0.05)
    assert lf.range_basis(new, errors).startswith("9 in 10 corrections of another recipe's model")
    # rule 13 failed, or no check 13 recorded: the variant correction keeps the other-recipe range
    for errs in ({**errors, "check13": {**CHECK13, "rules": {"13": False}}},
                 {k: v for k, v in errors.items() if k != "check13"}):
        c = lf.corrected_prediction({M4S: 0.70}, M4S, df, SLUG, ["t0"], errors=errs, recipe=RecipeKeys("7777", "eeee"))
        assert c.offset.smoothing_variant and c.high - c.accuracy == pytest.approx(0.05)
        assert lf.variant_band(M4S, errs) is None
        assert lf.range_basis(c, errs).startswith("9 in 10 corrections of another recipe's model")


def test_the_replay_reads_the_key_except_smoothing_from_each_row(tmp_path):
    df = _ledger(tmp_path, [
        dict(runs=["a0"], recipe="aaaa", recipe_except_smoothing="eeee", predicted_lb_acc=0.80, predicted_by=M4S,
             public_score=0.79),
        dict(runs=["b0"], recipe="bbbb", recipe_except_smoothing="ffff", predicted_lb_acc=0.80, predicted_by=M4S,
             public_score=0.74),
        dict(runs=["s0"], recipe="5555", recipe_except_smoothing="eeee", predicted_lb_acc=0.70, predicted_by=M4S,
             public_score=0.67),
    ])
    errors = {**P90_ERRORS, "check9": CHECK9, "check12": CHECK12}
    assert lf.replay(df, errors=errors)[2] == pytest.approx(0.69)  # by a0 alone, its smoothing variant
    assert lf.replay(df, errors=P90_ERRORS)[2] == pytest.approx(0.70 - 0.035)  # before check 12: both rows


def test_shipped_check_12_held_and_drives_the_variants_correction():
    rec = lf.measurements()["check12"]
    assert rec["adopted"] is True and rec["rules"] == {"12": True} and lf.smoothing_variant_next()
    sg = rec["estimators"]["Shift-Gated"]
    assert sg["smoothing_pair"]["private"] <= sg["all"]["private"] - 0.002
    m = lf.measured("Shift-Gated")
    assert _row(lf.evidence_table(m)[1], "check 12:") == [
        "check 12: four recipes with label smoothing added, one seed each", "private score of a 50% public split",
        "3.49", "-", "-", "1.09", "1.32 (14, incl. the label-smoothing variant)"]
    # before check 13 measured it again, a variant correction quoted check 12
    before13 = lf.measured("Shift-Gated", {k: v for k, v in lf.measurements().items() if k != lf.CHECK13})
    variant = lf.LedgerOffset("Shift-Gated", 0.02, 2, lf.Scope.SMOOTHING_VARIANT)
    line = lf.evidence_line(lf.Corrected(0.7, 0.72, variant, before13))
    assert line.startswith("measured on check 12: four recipes with label smoothing added, one seed each (judged "
                           "against the private score of a 50% public split): 3.49 points MAE as is, 1.09 corrected "
                           "by the earlier submissions of the same recipe with another label smoothing;")
    # a new recipe corrected by all rows had no variant in the ledger, while check 12's mean of 14 included one:
    # the line quotes check 11's mean, which included none
    line = lf.evidence_line(lf.Corrected(0.7, 0.72, lf.LedgerOffset("Shift-Gated", 0.02, 5), m))
    assert line.startswith("measured on check 11: two more new recipes, one seed each")
    assert "3.90 points MAE as is, 1.67 corrected by the mean of 12 earlier submissions (yours averages 5);" in line


def test_shipped_check_13_held_and_gives_variant_corrections_their_range():
    rec = lf.measurements()["check13"]
    assert rec["rules"] == {"13": True} and rec["coverage_private"] >= 0.85
    assert lf.variant_band("Shift-Gated") == 0.0229 and lf.variant_band("Median-4-Spread") is None
    assert round(rec["band_recomputed"], 4) == 0.0229 and len(rec["band_models"]) == 18
    m = lf.measured("Shift-Gated")
    assert _row(lf.evidence_table(m)[1], "check 13:") == [
        "check 13: those four recipes with label smoothing 0.2, one seed each", "private score of a 50% public split",
        "3.71", "-", "-", "1.23", "1.56 (18, incl. the label-smoothing variants)"]
    c = lf.Corrected(0.7, 0.72, lf.LedgerOffset("Shift-Gated", 0.02, 3, lf.Scope.SMOOTHING_VARIANT), m)
    assert lf.evidence_line(c).startswith(
        "measured on check 13: those four recipes with label smoothing 0.2, one seed each (judged against the private "
        "score of a 50% public split): 3.71 points MAE as is, 1.23 corrected by the earlier submissions of the same "
        "recipe with another label smoothing;")
    assert lf.range_basis(c).endswith("on the 18 models seen before check 13, and 87% on its 4 new recipes, trained "
                                      "after the range was written down (benchmarks/PREREGISTERED.md, check "
                                      "13)")


def test_the_reports_correction_uses_the_runs_label_smoothing_variants(tmp_path):
    """Report section 2 passes the run's ``RecipeKeys`` on: with only a variant's row and another recipe's in the
    ledger, the variant's alone corrects it, and the evidence table comes once."""
    from kaggle_kit.gap.report_correction import corrections
    from kaggle_kit.gap.report_render import Details, Table
    from kaggle_kit.gap.report_runs import RunView

    df = _ledger(tmp_path, [
        dict(runs=["v0"], recipe="aaaa", recipe_except_smoothing="eeee", predicted_lb_acc=0.80,
             predicted_by=M4S, estimates={M4S: 0.80, "Shift-Gated": 0.78}, public_score=0.76),  # Shift-Gated +2
        dict(runs=["b0"], recipe="bbbb", recipe_except_smoothing="ffff", predicted_lb_acc=0.80,
             predicted_by=M4S, estimates={M4S: 0.80, "Shift-Gated": 0.80}, public_score=0.70),  # Shift-Gated +10
    ])
    view = RunView(tmp_path / "t0", "t0", None, None, None, {"estimates": {M4S: 0.75, "Shift-Gated": 0.74}}, None,
                   recipe=RecipeKeys("7777", "eeee"))
    out, evidence = corrections([view], M4S, df, SLUG)
    assert out[0].startswith("t0, corrected by the leaderboard: Shift-Gated predicted 74.0%, and on your 1 scored "
                             "submission of the same recipe but for label smoothing its prediction was 2.0 "
                             "points too high, so expect **72.0%**")
    # the answer, then one sentence on how close such corrections came; the evidence (one table) for section 7
    assert len(out) == 2 and out[1] == lf.choice_words("Shift-Gated") and "section 7" in out[1]
    assert evidence[0] == "**How good is the correction by the leaderboard? (Shift-Gated)**"
    assert sum(isinstance(b, Table) for b in evidence) == 1 and not any(isinstance(b, Details) for b in evidence)
    # without its keys (a pulled kernel's folder), every row corrects it
    bare, _ = corrections([RunView(tmp_path / "t0", "t0", None, None, None, view.result, None)], M4S, df, SLUG)
    assert "on your 2 scored submissions its predictions were 6.0 points too high" in bare[0]
    assert corrections([view], M4S, df.iloc[:0], SLUG) == ([], [])


def test_own_public_score_is_the_latest_scored_submission_of_exactly_those_runs(tmp_path):
    df = _ledger(tmp_path, [
        dict(runs=["a", "b"], public_score=0.70),
        dict(runs=["b", "a"], public_score=0.72),                       # the same runs, later: this one
        dict(runs=["a", "b"], public_score=0.90, competition="comp-b"),  # another competition
        dict(runs=["a", "b"], status="PENDING"),                         # not scored yet
        dict(runs=["a"], public_score=0.60),                             # a subset is another submission
    ])
    assert lf.own_public_score(df, ["a", "b"], SLUG) == pytest.approx(0.72)
    assert lf.own_public_score(df, ["a", "b"]) == pytest.approx(0.90)
    assert lf.own_public_score(df, ["c"], SLUG) is None and lf.own_public_score(df, [], SLUG) is None


@pytest.mark.parametrize("offset, words", [(0.02, "2.0 points too high on average"),
                                           (-0.013, "1.3 points too low on average"),
                                           (0.0001, "on target on average"),
                                           (0.003, "0.3 points too high on average")])
def test_a_mean_miss_is_said_as_too_high_or_too_low(offset, words):
    assert lf.LedgerOffset("Shift-Gated", offset, 2).miss_words() == words


def test_one_submission_is_said_in_the_singular_and_not_as_an_average():
    """It read "corrected by 1 scored submission(s) whose predictions were 2.0 points too high on average"."""
    one, two = lf.LedgerOffset("Shift-Gated", 0.02, 1, lf.Scope.SAME_RECIPE), lf.LedgerOffset("Shift-Gated", 0.02, 2)
    assert (one.scored_words(), one.predictions_were(), one.miss_words()) == (
        "1 scored submission of the same recipe", "prediction was", "2.0 points too high")
    assert (two.scored_words(), two.predictions_were(), two.miss_words()) == (
        "2 scored submissions", "predictions were", "2.0 points too high on average")
    assert lf.LedgerOffset("Shift-Gated", 0.0, 1).miss_words() == "on target"


def test_choice_words_quote_the_replay_of_the_toolkits_choice():
    words = lf.choice_words("Shift-Gated")
    res = lf.measurements()[lf.PUBLIC_SPLIT]
    sg = res["fractions"]["0.5"]["estimators"]["Shift-Gated"]
    assert f"{100 * sg['ledger_choice']['private']:.2f} from the private score" in words
    assert f"against {100 * sg['plain']['private']:.2f} uncorrected" in words
    assert f"{len(res['models'])} models x {res['n_sets']} shifted sets" in words
    assert lf.choice_words("Shift-Gated", {}) is None


def test_a_competition_with_no_ledger_rows_is_said_not_silently_skipped(tmp_path):
    from kaggle_kit.gap.report_correction import corrections
    from kaggle_kit.gap.report_runs import RunView

    df = _ledger(tmp_path, [dict(runs=["b0"], predicted_lb_acc=0.80, predicted_by=M4S,
                                 estimates={M4S: 0.80, "Shift-Gated": 0.80}, public_score=0.70)])
    view = RunView(tmp_path / "t0", "t0", None, None, None, {"estimates": {M4S: 0.75, "Shift-Gated": 0.74}}, None)
    assert corrections([view], M4S, df, "no-such-comp") == (
        ["No ledger row is for competition 'no-such-comp' (the ledger's: comp-a), so nothing corrects the "
         "prediction."], [])


def test_bench_gap_ledger_stops_and_writes_nothing_without_the_held_out_rows(tmp_path, monkeypatch):
    """Its recorded command on a clone without the git-ignored cache dropped the shipped held-out entry, and with it
    the larger p90 that ``correction_p90`` prints as every correction's range (Shift-Gated 4.19 -> 2.91 points)."""
    md, js = tmp_path / "RESULTS_gap_ledger.md", tmp_path / "measured_error_ledger.json"
    md.write_text(bench_gap_ledger.OUT_MD.read_text())
    js.write_text(bench_gap_ledger.OUT_JSON.read_text())
    monkeypatch.setattr(bench_gap_ledger, "OUT_MD", md)
    monkeypatch.setattr(bench_gap_ledger, "OUT_JSON", js)
    # the corrections' ranges were measured on checks 4 and 5's rows; check 15's families came later
    assert bench_gap_ledger.HELDOUT_ROWS == (bench_gap_ledger.bench_gap_novel.ROWS[4],
                                             bench_gap_ledger.bench_gap_novel.ROWS[5])
    monkeypatch.setattr(bench_gap_ledger, "HELDOUT_ROWS", (tmp_path / "c4.csv", tmp_path / "c5.csv"))
    before = md.read_text(), js.read_text()
    with pytest.raises(SystemExit, match="saved rows are missing"):
        bench_gap_ledger.main([])
    assert (md.read_text(), js.read_text()) == before
    assert "heldout" in json.loads(js.read_text())["sources"]


def test_the_uploads_terminal_lines_stay_ascii_and_the_reports_ranges_are_written_with_one_sign(tmp_path):
    """Section 7 wrote "+-2.13" where section 2 wrote "±5.0": the report (UTF-8 files) says ± throughout, while the
    lines `submit --from` prints stay ASCII, so an ASCII-only terminal shows them as written (the CLI would print a
    non-ASCII character there as a backslash escape)."""
    df = _ledger(tmp_path, [
        dict(runs=["a0"], recipe="aaaa", predicted_lb_acc=0.80, predicted_by=M4S, public_score=0.79,
             estimates={M4S: 0.80, "Shift-Gated": 0.78}),
        dict(runs=["b0"], recipe="bbbb", predicted_lb_acc=0.80, predicted_by=M4S, public_score=0.74,
             estimates={M4S: 0.80, "Shift-Gated": 0.76})])
    c = lf.corrected_prediction({M4S: 0.70, "Shift-Gated": 0.69}, M4S, df, SLUG, ["a1"],
                                recipe=RecipeKeys("aaaa", "ffff"))  # the shipped measurements
    assert c is not None and c.offset.same_recipe
    lines = [c.describe(), lf.evidence_line(c), lf.range_basis(c), lf.switch_words(c.offset.estimator, M4S) or ""]
    assert all(line.isascii() for line in lines), lines
    words = lf.coverage_words("Shift-Gated")
    assert "+-" not in words and "±2.13 points of a same-recipe correction" in words


def test_the_reports_wider_range_sentence_is_said_once_for_all_runs(tmp_path, monkeypatch):
    """Said for every corrected run, the same three-line explanation would repeat under each of them."""
    from kaggle_kit.gap import report_correction
    from kaggle_kit.gap.report_runs import RunView

    monkeypatch.setattr(report_correction, "_wider_words", lambda *a: " WIDER.")
    df = _ledger(tmp_path, [dict(runs=["b0"], predicted_lb_acc=0.80, predicted_by=M4S,
                                 estimates={M4S: 0.80, "Shift-Gated": 0.80}, public_score=0.70)])
    views = [RunView(tmp_path / n, n, None, None, None, {"estimates": {M4S: 0.75, "Shift-Gated": 0.74}}, None)
             for n in ("t0", "t1")]
    out, _ = report_correction.corrections(views, M4S, df, SLUG, errors={})
    assert [line.startswith(f"{n}, corrected by the leaderboard") for line, n in zip(out, ("t0", "t1"))] == [True] * 2
    assert [line.count(" WIDER.") for line in out[:2]] == [1, 0]


def test_a_row_with_a_score_but_not_kaggles_scored_status_corrects_nothing(tmp_path):
    """Dropping the status check would let an errored or pending row's score correct the next prediction."""
    df = _ledger(tmp_path, [dict(runs=["r1"], predicted_lb_acc=0.80, predicted_by=M4S, public_score=0.75),
                            dict(runs=["r2"], predicted_lb_acc=0.80, predicted_by=M4S, public_score=0.50,
                                 status="ERROR")])
    off = lf.ledger_offset(df, M4S, SLUG)
    assert (off.n, off.offset) == (1, pytest.approx(0.05))


def test_the_replay_of_bare_csv_rows_uses_only_the_rows_scored_before_each(tmp_path):
    """A replay slicing past its own row (bisect_right) would correct a bare CSV's prediction by its own score, and
    an empty run id kept in the exclusion would drop every other bare CSV row."""
    df = _ledger(tmp_path, [dict(runs=[], predicted_lb_acc=0.80, predicted_by=M4S, public_score=0.76),
                            dict(runs=[], predicted_lb_acc=0.70, predicted_by=M4S, public_score=0.69)])
    replayed = lf.replay(df, errors=ERRORS)
    assert math.isnan(replayed[0]) and replayed[1] == pytest.approx(0.70 - 0.04)


@pytest.mark.parametrize("change", [
    {"one_different_recipe": {"mae": 0.02, "n": 18}},  # one earlier submission did not lower the error: a tie
    None,  # a check 6 record that does not say its rule held
])
def test_the_correction_is_withheld_unless_the_benchmark_and_check_6_show_it_helping(change):
    """A tie counted as helping (>= turned >), or a check 6 without its verdict read as held, would offer it."""
    bench = ERRORS["sources"]["benchmark"]
    errors = ({**ERRORS, "check6": {"others": ["a"], "estimators": {M4S: {"plain": 0.03, "one_earlier": 0.02}}}}
              if change is None else
              {"sources": {**ERRORS["sources"], "benchmark": {**bench, "estimators": {
                  M4S: {**bench["estimators"][M4S], **change}}}}})
    assert lf.measured(M4S, ERRORS) is not None and lf.measured(M4S, errors) is None


def test_check_8_switches_the_correction_only_for_a_gain_of_at_least_its_margin():
    """Without rule 8a's 0.2-point margin a 0.11-point gain on check 8's models would switch the estimator."""
    errors = _check8(True)
    errors["check8"]["estimators"][SG]["one_different_recipe"] = 0.0175  # 0.11 below M4S's 0.0186
    assert lf.correction_order(M4S, [M4S, SG], errors) == [M4S]
    errors["check8"]["estimators"][SG]["one_different_recipe"] = 0.0165  # 0.21 below
    assert lf.correction_order(M4S, [M4S, SG], errors) == [SG, M4S]


@pytest.mark.parametrize("second, n, offset", [
    (dict(predicted_lb_acc=0.80, status="COMPLETE"), 1, 0.05),  # scored status but no public score yet
    (dict(predicted_lb_acc=80.0, public_score=0.70), 2, (0.05 + 0.10) / 2),  # a prediction kept in percent
])
def test_the_offset_reads_rows_without_a_score_and_predictions_in_percent(tmp_path, second, n, offset):
    """A row without a public score counted would make the offset NaN; a percent prediction read as a fraction, 80."""
    df = _ledger(tmp_path, [dict(runs=["r1"], predicted_lb_acc=0.80, predicted_by=M4S, public_score=0.75),
                            dict(runs=["r2"], predicted_by=M4S, **second)])
    off = lf.ledger_offset(df, M4S, SLUG)
    assert (off.n, off.offset) == (n, pytest.approx(offset))


def test_without_a_check_12_record_label_smoothing_variants_do_not_correct_alone(tmp_path):
    """Reading a missing check 12 as held would correct a new recipe by its variants' rows alone."""
    df = _ledger(tmp_path, [
        dict(runs=["v0"], recipe="aaaa", recipe_except_smoothing="eeee", predicted_lb_acc=0.80, predicted_by=M4S,
             public_score=0.77),  # +3, the variant
        dict(runs=["o0"], recipe="bbbb", recipe_except_smoothing="ffff", predicted_lb_acc=0.80, predicted_by=M4S,
             public_score=0.73)])  # +7, another recipe
    errors = {**P90_ERRORS, "check9": CHECK9}
    assert not lf.smoothing_variant_next(errors)
    c = lf.corrected_prediction({M4S: 0.70}, M4S, df, SLUG, ["t0"], errors=errors, recipe=RecipeKeys("7777", "eeee"))
    assert (c.offset.n, c.offset.smoothing_variant, c.accuracy) == (2, False, pytest.approx(0.65))


def test_check_8_switches_on_a_tie_with_the_same_recipes_miss():
    """Rule 8a asks 'not above' with the same recipe's miss: a strict comparison would refuse a tie."""
    assert lf.correction_order(M4S, [M4S, SG], _check8(True, sg_same=0.011)) == [SG, M4S]


def test_two_earlier_submissions_quote_the_mean_of_several():
    """Treating two rows as 'one earlier submission' would quote the one-earlier measurement for a mean of two."""
    clean = {**lf.measured(M4S, ERRORS), "check11": {"plain": 0.039, "all": 0.0167, "n_models": 12}}
    assert "1.67 corrected by the mean of 12 earlier submissions (yours averages 2);" in lf.evidence_line(
        lf.Corrected(0.7, 0.72, lf.LedgerOffset(M4S, 0.02, 2), clean))


def test_own_public_score_reads_a_percent_score_and_skips_a_later_errored_row(tmp_path):
    """Without as_fraction it returned 72.0; without the status check the errored row's 0.50."""
    df = _ledger(tmp_path, [dict(runs=["a"], public_score=72.0),
                            dict(runs=["a"], public_score=0.50, status="ERROR")])
    assert lf.own_public_score(df, ["a"], SLUG) == pytest.approx(0.72)


def test_the_replay_keeps_to_each_rows_competition_and_reads_legacy_rows(tmp_path):
    """A replay ignoring the row's competition would mix in another competition's miss (+10); one ignoring
    ``legacy_estimator`` would leave a row without ``predicted_by`` uncorrected."""
    df = _ledger(tmp_path, [
        dict(runs=["r1"], predicted_lb_acc=0.80, predicted_by=M4S, public_score=0.76),                       # +4
        dict(runs=["r2"], predicted_lb_acc=0.80, predicted_by=M4S, public_score=0.70, competition="other"),  # +10
        dict(runs=["r3"], predicted_lb_acc=0.70, predicted_by="", public_score=0.69)])                     # legacy
    replayed = lf.replay(df, legacy_estimator=M4S, errors=ERRORS)
    assert math.isnan(replayed[0]) and math.isnan(replayed[1]) and replayed[2] == pytest.approx(0.66)


def test_choice_words_quote_the_public_and_the_private_distance():
    """Quoting the private distance as the public one would hide what the public leaderboard will show."""
    entry = {"models": ["a", "b"], "n_sets": 3, "fractions": {"0.5": {"estimators": {"M": {
        "plain": {"public": 0.03, "private": 0.031}, "ledger_choice": {"public": 0.011, "private": 0.0125}}}}}}
    assert lf.choice_words("M", {lf.PUBLIC_SPLIT: entry}) == (
        "How well this has done: replayed on 2 models x 3 shifted sets with random 50% public splits and every other "
        "model in the ledger, the correction chosen this way was 1.10 points from the next public score and 1.25 from "
        "the private score, against 3.10 uncorrected (section 7 has the evidence, check by check).")


def test_the_replay_places_scored_rows_by_their_ledger_row_after_an_unscored_one(tmp_path):
    """Numbering scored rows among themselves would let a bare CSV's replay after a pending row use its own score."""
    df = _ledger(tmp_path, [dict(runs=[], predicted_lb_acc=0.90, predicted_by=M4S, status="PENDING"),
                            dict(runs=[], predicted_lb_acc=0.80, predicted_by=M4S, public_score=0.77),  # +3
                            dict(runs=[], predicted_lb_acc=0.70, predicted_by=M4S, public_score=0.60)])
    replayed = lf.replay(df, errors=ERRORS)
    assert math.isnan(replayed[0]) and math.isnan(replayed[1]) and replayed[2] == pytest.approx(0.67)


def test_ledger_summary_p90_and_table_cells_are_the_ones_named():
    """Plain misses 1, 2 and 6 points: a p90 at another quantile, or the table quoting the p90 as the MAE, would
    show."""
    rows = pd.DataFrame({"model": ["x", "y", "z"], "set": ["s1"] * 3, "true_acc": [0.5] * 3, "M": [0.51, 0.52, 0.56]})
    plain = bench_gap_ledger.summary(rows, ("M",))["M"]["plain"]
    assert plain["p90"] == pytest.approx(0.02 + 0.8 * 0.04)
    res = {"M": {"plain": {"mae": 0.01, "p90": 0.05, "n": 3}}}
    assert bench_gap_ledger.table("benchmark", rows, res)[4] == "| M | 1.00 (3) | - | - | - |"


@pytest.mark.parametrize("check, one, holds", [(6, 2.0, True), (6, 2.01, False), (7, 1.0, True), (7, 1.01, False)])
def test_ledger_rules_6_and_7_hold_on_their_threshold(check, one, holds):
    """As is 2.5 points: rule 6 needs both at most 2.0 and rule 7 at most 1.0; a strict comparison fails the edge."""
    assert bench_gap_ledger.verdict(check, 2.5, one, one)[0] is holds


@pytest.mark.parametrize("sg_other, holds", [(0.0275, True), (0.0285, False)])
def test_check8_rule_a_needs_shift_gated_point_two_below_and_not_above_on_the_same_recipe(sg_other, holds):
    """Both estimators' same-recipe corrections are exact (a tie: not above); Median-4-Spread's other-recipe one is 3
    points off: 2.75 is 0.2 below it, 2.85 is not. A margin of 0.1, or a strict tie, would change the verdict."""
    df = pd.DataFrame({"model": ["n", "n@1", "o"], "set": ["s1"] * 3, "true_acc": [0.5] * 3,
                       "Shift-Gated": [0.52, 0.52, 0.52 + sg_other], "Median-4-Spread": [0.56, 0.56, 0.59]})
    _, ok, rec = bench_gap_ledger.confirm_check8(df[df["model"] != "o"], df[df["model"] == "o"],
                                                 ("Median-4-Spread", "Shift-Gated"))
    assert bool(ok) is holds and rec["rules_hold"] is holds


def test_check6_record_says_the_rule_failed_when_it_did():
    """n misses +5; a, the only earlier model, misses -5: corrected, n is 10 off. A record always saying the rule
    held would show."""
    new = pd.DataFrame({"model": ["n"], "set": ["s1"], "true_acc": [0.5], M4S: [0.55]})
    others = pd.DataFrame({"model": ["a"], "set": ["s1"], "true_acc": [0.6], M4S: [0.55]})
    _, ok, record = bench_gap_ledger.confirm(new, others, (M4S,))
    assert not ok and record["rules_hold"] is False
    assert record["estimators"][M4S] == pytest.approx({"plain": 0.05, "one_earlier": 0.10, "mean_of_others": 0.10})
