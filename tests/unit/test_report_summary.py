"""The report's opening lines: where the described run stands (its score, else the corrected prediction, else the
prediction from its outputs alone), the measured difference behind it, and what to try first."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from kaggle_kit import ledger
from kaggle_kit.gap import leaderboard_feedback as lf
from kaggle_kit.gap.advice import FeatureShift, build_advice
from kaggle_kit.gap.estimators import measured_error
from kaggle_kit.gap.report import summary_section
from kaggle_kit.gap.report_runs import RunView

SLUG = "comp-a"
NAMES = ("mean_r", "mean_g", "mean_b", "std_r", "std_g", "std_b", "sharpness", "hf_energy", "blockiness", "saturation")


def _features(**auc):
    return {n: FeatureShift(n, 1.0, 1.0 + (auc.get(n, 0.5) - 0.5), auc.get(n, 0.5)) for n in NAMES}


def _ledger(tmp_path: Path, rows: list[dict]) -> pd.DataFrame:
    path = tmp_path / "ledger.csv"
    for r in rows:
        ledger.append_row(path, **{"competition": SLUG, "status": "COMPLETE", **r})
    return ledger.read_ledger(path) if rows else ledger.read_ledger(tmp_path / "none.csv")


def _view(name: str, estimates: dict, members: list[str] | None = None) -> RunView:
    return RunView(Path(name), name, None, None, None, {"estimates": estimates, "holdout_acc": 0.90}, None,
                   members=members or [])


def _lines(view, ledger_df, items, auc=0.8, best="Median-4-Spread"):
    sec = summary_section(view, best, measured_error(), ledger_df, SLUG, {"auc": auc}, items)
    assert sec.anchor == "summary" and len(sec.blocks) == 1
    return sec.blocks[0]


def test_a_submitted_run_is_stated_by_its_own_score_and_the_image_difference_gives_the_first_action(tmp_path):
    df = _ledger(tmp_path, [dict(runs=["m0", "m1"], predicted_lb_acc=0.84, public_score=0.80)])
    items = build_advice(features=_features(sharpness=0.3, blockiness=0.7), domain_auc=0.8)
    lines = _lines(_view("ens", {"Median-4-Spread": 0.84}, ["m1", "m0"]), df, items)
    assert lines[0] == ("**ens** is on the leaderboard: public score **80.00%**, 10.0 points under its holdout "
                        "accuracy (90.00%; section 1).")
    assert lines[1] == ("What differs: competition images are blurrier / more down-sampled than the training set; "
                        "competition images carry JPEG block artefacts (a domain classifier tells them from the "
                        "training images with AUC 0.80, where 0.5 is no better than chance and 1 tells every image apart; "
                        "section 4).")
    assert lines[2].startswith("Try first: train with the `blur_jpeg` augmentation preset")


def test_an_unsubmitted_run_is_stated_by_its_correction_once_another_submission_is_scored(tmp_path):
    df = _ledger(tmp_path, [dict(runs=["other"], predicted_lb_acc=0.80, predicted_by="Median-4-Spread",
                                 estimates={"Median-4-Spread": 0.80, "Shift-Gated": 0.78}, public_score=0.76)])
    c = lf.corrected_prediction({"Median-4-Spread": 0.84, "Shift-Gated": 0.83}, "Median-4-Spread", df, SLUG)
    assert c is not None and c.accuracy == pytest.approx(0.81)  # Shift-Gated's 2-point miss carried over
    lines = _lines(_view("new", {"Median-4-Spread": 0.84, "Shift-Gated": 0.83}), df, [])
    assert lines[0] == (f"**new** is expected on the leaderboard: **81.0%** ({100 * c.low:.1f}% to "
                        f"{100 * c.high:.1f}%), 9.0 points under its holdout accuracy (90.00%), corrected by your "
                        f"scored submissions (section 2).")


def test_without_scores_the_prediction_from_the_outputs_alone_is_stated_with_its_range(tmp_path):
    lines = _lines(_view("r", {"ATC-NE-BBSE": 0.85}), _ledger(tmp_path, []),
                   build_advice(features=_features(), domain_auc=0.52), auc=0.52, best="ATC-NE-BBSE")
    assert lines[0].startswith("**r** is expected on the leaderboard: **85.0%** (")
    assert lines[0].endswith("), 5.0 points under its holdout accuracy (90.00%), from its predictions alone "
                             "(section 2).")
    assert lines[1].startswith("The competition images show no large measured difference from the training images "
                               "(a domain classifier tells them from the training images with AUC 0.52, where 0.5 is no "
                               "better than chance and 1 tells every image apart; section 4).")
    assert len(lines) == 2


def test_a_run_without_any_estimate_says_so(tmp_path):
    lines = _lines(_view("r", {}), _ledger(tmp_path, []), [], auc=None)
    assert lines[0] == ("**r** has a holdout accuracy of 90.00%, but no leaderboard prediction could be computed "
                        "(section 2).")
    assert lines[1] == ("The competition images show no large measured difference from the training images "
                        "(section 4). Section 6 lists what was measured.")


def test_a_leaderboard_score_above_the_holdout_is_said_as_above(tmp_path):
    """The demo's stand-in is CIFAR-10 test images: a run can score above its holdout there."""
    df = _ledger(tmp_path, [dict(runs=["r"], predicted_lb_acc=0.9, public_score=0.93)])
    assert _lines(_view("r", {"Median-4-Spread": 0.9}), df, [])[0].startswith(
        "**r** is on the leaderboard: public score **93.00%**, 3.0 points above its holdout accuracy (90.00%;")
    lines = _lines(_view("r", {"ATC-NE-BBSE": 0.95}), _ledger(tmp_path / "x", []), [], best="ATC-NE-BBSE")
    assert "**95.0%** (" in lines[0] and "), 5.0 points above its holdout accuracy" in lines[0]


def test_the_scoreboard_names_the_submitted_ensemble_before_its_members(tmp_path):
    from kaggle_kit.gap.report_scoreboard import _runs_cell
    from kaggle_kit.runs import RecipeKeys

    df = _ledger(tmp_path, [dict(runs=["m0", "m1"], recipe="abcdef012345", public_score=0.8),
                            dict(runs=["m0"], recipe="0123456789ab", public_score=0.7)])
    ens = RunView(Path("ens"), "ens", None, None, None, {}, None, members=["m1", "m0"],
                  recipe=RecipeKeys("abcdef012345", ""))
    other = RunView(Path("vote"), "vote", None, None, None, {}, None, members=["m0", "m1"],
                    recipe=RecipeKeys("fedcba012345", ""))  # the same members, another method: not this row's
    assert _runs_cell(df.iloc[0], [other, ens]) == "ens (ensemble of m0;m1; recipe abcdef)"
    assert _runs_cell(df.iloc[0], [other]) == "m0;m1 (recipe abcdef)"
    assert _runs_cell(df.iloc[1], [ens]) == "m0 (recipe 012345)"


def test_a_submitted_run_is_stated_by_its_own_score_even_when_other_scores_could_correct_it(tmp_path):
    """Preferring the correction by the other submissions would state a prediction where the score is known."""
    df = _ledger(tmp_path, [dict(runs=["other"], predicted_lb_acc=0.80, predicted_by="Median-4-Spread",
                                 estimates={"Median-4-Spread": 0.80, "Shift-Gated": 0.78}, public_score=0.76),
                            dict(runs=["r"], predicted_lb_acc=0.84, predicted_by="Median-4-Spread",
                                 estimates={"Median-4-Spread": 0.84, "Shift-Gated": 0.83}, public_score=0.85)])
    assert lf.corrected_prediction({"Median-4-Spread": 0.84, "Shift-Gated": 0.83}, "Median-4-Spread", df, SLUG,
                                   ["r"]) is not None
    lines = _lines(_view("r", {"Median-4-Spread": 0.84, "Shift-Gated": 0.83}), df, [])
    assert lines[0] == ("**r** is on the leaderboard: public score **85.00%**, 5.0 points under its holdout accuracy "
                        "(90.00%; section 1).")


def test_what_differs_names_the_image_findings_and_the_domain_finding_only_without_them(tmp_path):
    """Listing the domain classifier's finding beside an image finding would repeat the AUC the sentence gives."""
    seen = ("(a domain classifier tells them from the training images with AUC 0.80, where 0.5 is no better than "
            "chance and 1 tells every image apart; section 4).")
    both = build_advice(features=_features(sharpness=0.3), domain_auc=0.8)
    lines = _lines(_view("r", {}), _ledger(tmp_path, []), both)
    assert lines[1] == "What differs: competition images are blurrier / more down-sampled than the training set " + seen
    lines = _lines(_view("r", {}), _ledger(tmp_path, []), build_advice(features=_features(), domain_auc=0.8))
    assert lines[1] == ("What differs: a simple classifier tells competition images from training images apart, so "
                        "the network sees a different distribution " + seen)
    assert lines[2] == ("Try first: prefer robustness (augmentation matching the differences above, TTA, ensembles) "
                        "over squeezing the last holdout point. Everything else measured is in section 6.")
    finer = build_advice(features=_features(sharpness=0.7), domain_auc=0.6)  # more detail: worth knowing, severity 1
    assert _lines(_view("r", {}), _ledger(tmp_path, []), finer, auc=0.6)[1].startswith(
        "The competition images show no large measured difference")
