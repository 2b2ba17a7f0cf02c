"""Advice rules: each fires on the measured difference it is about and cites the number."""
from __future__ import annotations

import pytest

from kaggle_kit.augment import list_presets
from kaggle_kit.gap.advice import FeatureShift, build_advice


def features(**auc):
    names = ("mean_r", "mean_g", "mean_b", "std_r", "std_g", "std_b", "sharpness", "hf_energy", "blockiness",
             "saturation")
    return {n: FeatureShift(n, 1.0, 1.0 + (auc.get(n, 0.5) - 0.5), auc.get(n, 0.5)) for n in names}


def test_blur_and_jpeg_point_to_the_blur_jpeg_preset_with_their_numbers():
    items = build_advice(features=features(sharpness=0.3, blockiness=0.7))
    text = " ".join(a.text + " " + a.evidence for a in items)
    assert "blur_jpeg" in text and "AUC 0.30" in text and "AUC 0.70" in text
    assert "blur_jpeg" in list_presets() and "strong" in list_presets()


def test_colour_shift_points_to_strong_and_nothing_fires_without_differences():
    assert any("`strong`" in a.text and "saturation" in a.evidence
               for a in build_advice(features=features(saturation=0.35)))
    quiet = build_advice(features=features(), domain_auc=0.52)
    assert len(quiet) == 1 and "No large difference" in quiet[0].text and "0.520" in quiet[0].evidence


def test_drop_label_shift_and_scoreboard_rules_cite_numbers():
    items = build_advice(features=features(), domain_auc=0.8, domain_ci=(0.78, 0.82), holdout_acc=0.94,
                         predicted_acc=0.85, predictor="ATC-MC", predictor_mae=0.02, prior_tv_em=0.12,
                         prior_tv_bbse=0.09, moved_classes=[("cat", 0.1, 0.2)], ledger_slope=0.9,
                         ledger_intercept=0.01, ledger_points=3)
    evidence = " | ".join(a.evidence for a in items)
    for needle in ("AUC 0.800", "holdout 94.0% vs predicted 85.0%", "EM 0.120", "cat 10.0% -> 20.0%", "0.90 x local"):
        assert needle in evidence
    assert items[0].severity >= items[-1].severity
    assert not any("re-weight the submitted" in a.text for a in items)  # images differ: priors not trusted
    alike = build_advice(features=features(), domain_auc=0.55, prior_tv_em=0.12, prior_tv_bbse=0.09)
    assert any("re-weight the submitted" in a.text for a in alike)
    # priors flagged by only one estimator are not advice
    assert not any("priors" in a.text for a in build_advice(features=features(), prior_tv_em=0.12, prior_tv_bbse=0.01))


def test_the_scoreboard_line_is_advice_only_once_it_rests_on_three_submissions():
    """One scored submission gives a constant gap through it and two a line through both: neither has been tested."""
    line = dict(features=features(), ledger_slope=0.9, ledger_intercept=-0.04)
    for points in (1, 2):
        assert not any("scoreboard" in a.text or "line" in a.finding for a in build_advice(**line, ledger_points=points))
    assert any("0 x local" in a.evidence and "3 scored" in a.evidence for a in build_advice(**line, ledger_points=3))


def test_findings_and_actions_are_separate_and_image_findings_are_marked():
    items = build_advice(features=features(sharpness=0.3), domain_auc=0.8)
    blur = next(a for a in items if "blurrier" in a.finding)
    assert blur.kind == "images" and blur.action.startswith("train with the `blur_jpeg`")
    assert blur.text == f"{blur.finding}: {blur.action}"
    assert next(a for a in items if "domain classifier" in a.evidence).kind == "domain"
    quiet = build_advice(features=features(), domain_auc=0.52)[0]
    assert quiet.action == "" and quiet.text.endswith("measured.")


def test_a_constant_gap_is_not_advertised_as_a_fitted_line():
    """The scoreboard falls back to slope 1 when local accuracies barely differ: no line was fitted then."""
    gap = [a for a in build_advice(features=features(), ledger_slope=1.0, ledger_intercept=-0.085, ledger_points=4)
           if "submissions" in a.finding]
    assert len(gap) == 1 and "constant gap" in gap[0].finding and "leaderboard = local -8.5 points over 4" in gap[0].evidence
    fit = [a for a in build_advice(features=features(), ledger_slope=0.8, ledger_intercept=0.05, ledger_points=4)
           if "submissions" in a.finding]
    assert "fit a line" in fit[0].finding and "0.80 x local +5.0 points" in fit[0].evidence


def test_a_statistic_is_flagged_only_beyond_what_chance_gives_its_sample_size():
    """With a small --domain-max-images, a flat |AUC - 0.5| >= 0.1 fired on identical sets, and the summary then
    said 'what differs' beside a domain AUC of 0.49."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from kaggle_kit.gap.advice import FEATURE_AUC_FLAG, auc_flag_threshold

    assert auc_flag_threshold(None) == auc_flag_threshold(5000) == FEATURE_AUC_FLAG
    assert 0.27 < auc_flag_threshold(20) < 0.28 and auc_flag_threshold(200) == FEATURE_AUC_FLAG
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 20)
    gaps = np.array([abs(roc_auc_score(y, rng.normal(size=40)) - 0.5) for _ in range(2000)])
    assert (gaps >= FEATURE_AUC_FLAG).mean() > 0.2  # the flat flag: over a quarter of identical statistics
    assert (gaps >= auc_flag_threshold(20)).mean() < 0.01
    blurry = {"sharpness": FeatureShift("sharpness", 1.0, 0.8, 0.30, 20)}
    assert not any("blurrier" in a.finding for a in build_advice(features=blurry))
    clear = {"sharpness": FeatureShift("sharpness", 1.0, 0.8, 0.30, 2000)}
    assert any("blurrier" in a.finding for a in build_advice(features=clear))


MOVED = [("cat", 0.1, 0.2), ("dog", 0.1, 0.05), ("ship", 0.1, 0.08), ("frog", 0.1, 0.09)]


@pytest.mark.parametrize("kwargs, finding, evidence, severity, kind", [
    (dict(features=features(sharpness=0.7, hf_energy=0.8)), "Competition images have more fine detail",
     "sharpness median 1.2 vs 1 on training images (+20%), AUC 0.70; "
     "hf_energy median 1.3 vs 1 on training images (+30%), AUC 0.80", 1, "images"),
    (dict(features=features(std_g=0.3)), "Colour or contrast statistics differ",
     "std_g median 0.8 vs 1 on training images (-20%), AUC 0.30", 2, "images"),
    (dict(features=features(), domain_auc=0.70, domain_ci=(0.65, 0.75)), "A simple classifier",
     "domain classifier AUC 0.700 (95% CI 0.650-0.750)", 2, "domain"),
    (dict(features=features(), holdout_acc=0.94, predicted_acc=0.85, predictor="Median-4", predictor_mae=0.021),
     "Expect the leaderboard well below", "holdout 94.0% vs predicted 85.0% by Median-4 (measured error of Median-4: "
     "2.1 points)", 2, ""),
    (dict(features=features(), domain_auc=0.8, prior_tv_em=0.12, prior_tv_bbse=0.09, moved_classes=MOVED),
     "Predicted class shares moved", "total variation EM 0.120, BBSE 0.090; cat 10.0% -> 20.0%, dog 10.0% -> 5.0%, "
     "ship 10.0% -> 8.0%; domain classifier AUC 0.800", 1, ""),
    (dict(features=features(), near_dup_share=0.01, near_dup_threshold=0.97), "Part of the competition set",
     "1.0% of competition images with cosine similarity >= 0.97 to a training image, as is or mirrored", 1, ""),
    (dict(features=features(), temperature=1.3), "The network is over-confident", "fitted temperature 1.30", 1, ""),
    (dict(features=features(), temperature=1.29), "The network is over-confident", None, None, None),
])
def test_each_rule_fires_at_its_flag_with_its_numbers_severity_and_kind(kwargs, finding, evidence, severity, kind):
    """A flipped direction, a dropped statistic, a missing x100, a wrong ratio, a flag moved off its documented value or
    a wrong severity (which decides what the report's summary cites) would each change one of these rules' advice."""
    hits = [a for a in build_advice(**kwargs) if a.finding.startswith(finding)]
    if evidence is None:
        assert hits == []
    else:
        assert len(hits) == 1 and (hits[0].evidence, hits[0].severity, hits[0].kind) == (evidence, severity, kind)


def test_a_statistic_exactly_at_the_flag_is_flagged_as_the_rule_says():
    """|AUC - 0.5| >= 0.1 flags a statistic, but in floats 0.6 - 0.5 and 0.5 - 0.4 are 0.09999999999999998: an AUC
    shown as 0.600 (or 0.400) was not flagged."""
    items = build_advice(features={"sharpness": FeatureShift("sharpness", 1.0, 0.9, 0.4),
                                   "blockiness": FeatureShift("blockiness", 1.0, 1.1, 0.6)})
    assert [a.finding for a in items] == ["Competition images are blurrier / more down-sampled than the training set",
                                          "Competition images carry JPEG block artefacts"]


BN_EVIDENCE = {"models": ["weak_cnn", "resnet9q_e4", "resnet9h"], "change_points": {"standin": 2.71, "covariate": 9.46,
                                                                      "label": -2.62, "both": 5.0, "clean": 0.1},
               "mae_points": {"trained": {"Median-5-Spread": 2.1}, "adapted": {"Median-5-Spread": 3.4}}}


def _bn_items(**kwargs):
    return [a for a in build_advice(features={}, **kwargs) if "BatchNorm" in a.finding]


def test_batchnorm_adaptation_is_advised_only_when_the_images_differ_and_the_run_did_not_adapt():
    (item,) = _bn_items(domain_auc=0.70, bn_evidence=BN_EVIDENCE)
    assert item.severity == 2 and "`--set predict.adapt_bn=true`" in item.action and "--adapt-bn" in item.action
    assert item.evidence == ("domain classifier AUC 0.700; on the benchmark (weak_cnn, resnet9q_e4 and resnet9h) the "
                             "stand-in for the competition pickle +2.7 points, corrupted CIFAR-10 test sets +9.5 on "
                             "average, sets where only the class mix changed -2.6")
    assert _bn_items(domain_auc=0.699, bn_evidence=BN_EVIDENCE) == []
    assert _bn_items(domain_auc=None, bn_evidence=BN_EVIDENCE) == []
    assert _bn_items(domain_auc=0.9, bn_evidence={}) == [] and _bn_items(domain_auc=0.9) == []  # not measured


def test_a_run_that_adapted_is_told_what_it_changed_and_the_estimators_error_on_adapted_logits():
    (item,) = _bn_items(domain_auc=0.9, adapt_bn_changed=0.0834, bn_evidence=BN_EVIDENCE, preferred="Median-5-Spread")
    assert item.severity == 1 and item.action == ""
    assert item.evidence.startswith("it changed 8.3% of the competition predictions; on the benchmark (")
    assert item.evidence.endswith("; Median-5-Spread's error there 3.4 points on adapted logits against 2.1 on "
                                  "trained ones")
    # said whatever the domain AUC, and without the estimator's numbers when they were not measured for it
    (low,) = _bn_items(domain_auc=0.5, adapt_bn_changed=0.0, bn_evidence=BN_EVIDENCE, preferred="COTT")
    assert "error there" not in low.evidence and low.evidence.startswith("it changed 0.0% of")


def test_a_run_with_a_reference_is_advised_by_the_predicted_gain_whatever_the_domain_auc():
    """Check 34's rule: adapt unless Shift-Gated predicts a loss of more than 1 point; a gain of a point or more is
    worth acting on, a smaller one worth knowing, and the held-out record and the benchmark are cited either way."""
    (gain,) = _bn_items(domain_auc=0.5, bn_evidence=BN_EVIDENCE, adapt_change=0.034)
    assert gain.finding == "Re-estimating BatchNorm on the competition images is predicted to pay"
    assert gain.severity == 2 and "`--set predict.adapt_bn=true`" in gain.action and "--adapt-bn" in gain.action
    assert gain.action.endswith("Weigh this less if section 3 finds the class priors moved: most of the losses this "
                                "rule missed came with a changed class mix.")
    assert gain.evidence.startswith("Shift-Gated predicts +3.4 points from the run's BatchNorm reference (an adapted "
                                    "copy's predictions) against the submitted ones; on the 2,472 held-out model-sets "
                                    "of pre-registered checks 21 to 55 (the rule chosen on checks 21 to 33), adapting "
                                    "only where it predicted no loss over 1 point changed accuracy by +4.59 points on "
                                    "average and lost more than a point on 87 of them (51 of those among the 440 "
                                    "whose class mix changed too), against +4.49 and 151 for adapting on all; on the "
                                    "benchmark (")
    (small,) = _bn_items(domain_auc=0.9, bn_evidence=BN_EVIDENCE, adapt_change=-0.0099)
    assert small.finding.endswith("predicted to pay") and small.severity == 1 and "-1.0 points" in small.evidence
    (loss,) = _bn_items(domain_auc=0.9, bn_evidence=BN_EVIDENCE, adapt_change=-0.0101)
    assert loss.finding == "Re-estimating BatchNorm on the competition images is predicted to cost accuracy"
    assert (loss.action, loss.severity) == ("keep predict.adapt_bn off (the default).", 1)
    # a run that adapted is told what it changed, and nothing without the benchmark's measurement
    (done,) = _bn_items(domain_auc=0.9, adapt_bn_changed=0.05, bn_evidence=BN_EVIDENCE, adapt_change=0.03)
    assert done.evidence.startswith("it changed 5.0% of")
    assert _bn_items(domain_auc=0.9, bn_evidence={}, adapt_change=0.03) == []
