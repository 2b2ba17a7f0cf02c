"""Recommendations derived from measured differences, each citing the number that triggered it.

Rules are deliberately simple and explicit: a reader must be able to check each claim against the report's
tables. Image-statistic rules use the univariate AUC of the statistic (training vs competition): scale-free,
0.5 = no difference; |AUC - 0.5| >= 0.1 is flagged (about a third of a standard deviation of separation).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from kaggle_kit.gap import estimators
from kaggle_kit.text import and_list, percent

FEATURE_AUC_FLAG = 0.10    # |AUC - 0.5| of one image statistic
FEATURE_AUC_Z = 3.0        # ... and at least this many null standard errors of the AUC (matters below ~150 images)
DOMAIN_AUC_FLAG = 0.70     # the domain classifier separates the sets clearly
DROP_FLAG = 0.03           # predicted leaderboard accuracy below holdout accuracy by 3 points
PRIOR_TV_FLAG = 0.05       # 5% of the class mass moved (BBSE and EM must both say so)
LABEL_SHIFT_TRUST_AUC = 0.6  # above this domain AUC, estimated prior changes may be image shift in disguise
NEAR_DUP_FLAG = 0.01       # 1% of competition images have a near-copy in the training set
OVERCONFIDENT_T = 1.3      # fitted temperature above this: the network is clearly over-confident
LINE_MIN_SUBMISSIONS = 3   # below this the scoreboard line is a constant gap or passes through every point exactly


IMAGES, DOMAIN = "images", "domain"  # kinds of finding about the competition images: the report's summary cites them


@dataclass(frozen=True)
class Advice:
    finding: str     # what was measured, in words
    action: str      # what to do about it ('' when there is nothing to do)
    evidence: str    # the measured number(s) behind it
    severity: int    # 2 = act on it, 1 = worth knowing
    kind: str = ""   # IMAGES, DOMAIN, or '' for the rest

    @property
    def text(self) -> str:
        return f"{self.finding}: {self.action}" if self.action else f"{self.finding}."


@dataclass(frozen=True)
class FeatureShift:
    name: str
    train_median: float
    comp_median: float
    auc: float       # P(statistic of a competition image > that of a training image)
    n_per_side: int | None = None  # images per side the AUC was measured on (None: many)


def auc_flag_threshold(n_per_side: int | None) -> float:
    """|AUC - 0.5| that flags a statistic: ``FEATURE_AUC_FLAG``, or more when the AUC rests on so few images that
    chance alone reaches it (the Mann-Whitney null standard error is sqrt((2n + 1) / (12 n^2)): 0.092 at 20
    images per side, where a flat 0.10 flags over a quarter of the statistics of two identical sets)."""
    if not n_per_side:
        return FEATURE_AUC_FLAG
    return max(FEATURE_AUC_FLAG, FEATURE_AUC_Z * ((2 * n_per_side + 1) / (12 * n_per_side ** 2)) ** 0.5)


def _fmt_shift(f: FeatureShift) -> str:
    rel = f" ({(f.comp_median - f.train_median) / f.train_median:+.0%})" if f.train_median else ""
    return f"{f.name} median {f.comp_median:.4g} vs {f.train_median:.4g} on training images{rel}, AUC {f.auc:.2f}"


def image_advice(features: Mapping[str, FeatureShift]) -> list[Advice]:
    out: list[Advice] = []

    def flagged(name: str, direction: int) -> FeatureShift | None:
        f = features.get(name)
        if f is None:
            return None
        # rounded: in floats 0.6 - 0.5 is 0.09999999999999998, and an AUC of 0.600 is at the flag
        return f if round(direction * (f.auc - 0.5), 12) >= auc_flag_threshold(f.n_per_side) else None

    blur = [f for f in (flagged("sharpness", -1), flagged("hf_energy", -1)) if f]
    if blur:
        out.append(Advice("Competition images are blurrier / more down-sampled than the training set",
                          "train with the `blur_jpeg` augmentation preset (`--set train.augment.preset=blur_jpeg`).",
                          "; ".join(_fmt_shift(f) for f in blur), 2, IMAGES))
    jpeg = flagged("blockiness", +1)
    if jpeg:
        out.append(Advice("Competition images carry JPEG block artefacts",
                          "train with the `blur_jpeg` preset, which includes JPEG re-compression.", _fmt_shift(jpeg),
                          2, IMAGES))
    sharper = [f for f in (flagged("sharpness", +1), flagged("hf_energy", +1)) if f]
    if sharper:
        out.append(Advice("Competition images have more fine detail or noise than the training set",
                          "the `strong` preset's colour jitter and affine jitter regularise against such texture "
                          "changes.", "; ".join(_fmt_shift(f) for f in sharper), 1, IMAGES))
    colour = [f for n in ("saturation", "mean_r", "mean_g", "mean_b") for f in (flagged(n, 1), flagged(n, -1)) if f]
    contrast = [f for n in ("std_r", "std_g", "std_b") for f in (flagged(n, 1), flagged(n, -1)) if f]
    if colour or contrast:
        out.append(Advice("Colour or contrast statistics differ",
                          "train with the `strong` preset (colour jitter of brightness, contrast, saturation and "
                          "hue).", "; ".join(_fmt_shift(f) for f in colour + contrast), 2, IMAGES))
    return out


def batchnorm_advice(domain_auc: float | None, adapt_bn_changed: float | None, bn_evidence: Mapping | None,
                     preferred: str = "", adapt_change: float | None = None) -> list[Advice]:
    """Re-estimating BatchNorm on the competition images (``predict.adapt_bn``). A run that adapted is told what it
    changed. A run with a BatchNorm reference (``adapt_change``, the predicted gain) is advised by
    ``estimators.adaptation_pays``, which pre-registered checks tested on held-out shifts; any other run when the
    domain classifier separates the images. Each cites ``benchmarks/bench_bn_adapt.py``'s measured accuracy change;
    the first also the estimators' error there."""
    change = (bn_evidence or {}).get("change_points") or {}
    if not {"standin", "covariate", "label"} <= change.keys():
        return []
    bench = (f"on the benchmark ({and_list(bn_evidence.get('models', []))}) the stand-in for the competition "
             f"pickle {change['standin']:+.1f} points, corrupted CIFAR-10 test sets {change['covariate']:+.1f} on "
             f"average, sets where only the class mix changed {change['label']:+.1f}")
    if adapt_bn_changed is not None:
        mae = (bn_evidence.get("mae_points") or {})
        err = ""
        if preferred and preferred in mae.get("adapted", {}) and preferred in mae.get("trained", {}):
            err = (f"; {preferred}'s error there {mae['adapted'][preferred]:.1f} points on adapted logits against "
                   f"{mae['trained'][preferred]:.1f} on trained ones")
        return [Advice("BatchNorm was re-estimated on the competition images (predict.adapt_bn)", "",
                       f"it changed {percent(adapt_bn_changed, 1)} of the competition predictions; {bench}{err}", 1)]
    how = "`--set predict.adapt_bn=true` for the pipeline, or `kaggle-kit predict RUN --adapt-bn`"
    if adapt_change is not None:
        said = (f"{estimators.ADAPT_PREDICTOR} predicts {adapt_change * 100:+.1f} points from the run's BatchNorm "
                f"reference (an adapted copy's predictions) against the submitted ones; "
                f"{estimators.ADAPT_HELD_OUT.words()}; {bench}")
        if estimators.adaptation_pays(adapt_change):
            # worth acting on from a predicted gain as large as the loss the rule tolerates (a point)
            # most of the rule's held-out losses came with a changed class mix (ADAPT_HELD_OUT.rule_losses_priors)
            return [Advice("Re-estimating BatchNorm on the competition images is predicted to pay",
                           f"re-estimate them, with no training and no labels: {how}. Weigh this less if section 3 "
                           "finds the class priors moved: most of the losses this rule missed came with a changed "
                           "class mix.", said,
                           2 if adapt_change >= estimators.ADAPT_MARGIN else 1)]
        return [Advice("Re-estimating BatchNorm on the competition images is predicted to cost accuracy",
                       "keep predict.adapt_bn off (the default).", said, 1)]
    if domain_auc is None or domain_auc < DOMAIN_AUC_FLAG:
        return []
    return [Advice("The competition images differ from the training images, but BatchNorm still normalises them "
                   "by the training images' statistics",
                   f"re-estimate them on the competition images, with no training and no labels: {how}. It "
                   "costs accuracy when only the class mix changed, so leave it off if section 3 finds class priors "
                   "moved while the images look alike.",
                   f"domain classifier AUC {domain_auc:.3f}; {bench}", 2)]


def build_advice(*, features: Mapping[str, FeatureShift], domain_auc: float | None = None,
                 domain_ci: tuple[float, float] | None = None, holdout_acc: float | None = None,
                 predicted_acc: float | None = None, predictor: str = "", predictor_mae: float | None = None,
                 prior_tv_em: float | None = None, prior_tv_bbse: float | None = None,
                 moved_classes: Sequence[tuple[str, float, float]] = (), near_dup_share: float | None = None,
                 near_dup_threshold: float | None = None, temperature: float | None = None,
                 ledger_slope: float | None = None, ledger_intercept: float | None = None,
                 ledger_points: int = 0, adapt_bn_changed: float | None = None,
                 bn_evidence: Mapping | None = None, preferred: str = "",
                 adapt_change: float | None = None) -> list[Advice]:
    """All rules; returns the recommendations sorted by severity (most important first).

    ``adapt_bn_changed`` and ``adapt_change``: the described run's ``RunView``'s; ``bn_evidence``: the benchmark's
    ``measured_bn_adapt.json`` (empty or None: not measured, and no BatchNorm advice)."""
    out = image_advice(features)
    out += batchnorm_advice(domain_auc, adapt_bn_changed, bn_evidence, preferred, adapt_change)
    if domain_auc is not None and domain_auc >= DOMAIN_AUC_FLAG:
        ci = f" (95% CI {domain_ci[0]:.3f}-{domain_ci[1]:.3f})" if domain_ci else ""
        out.append(Advice("A simple classifier tells competition images from training images apart, so the "
                          "network sees a different distribution",
                          "prefer robustness (augmentation matching the differences above, TTA, ensembles) over "
                          "squeezing the last holdout point.", f"domain classifier AUC {domain_auc:.3f}{ci}", 2,
                          DOMAIN))
    if holdout_acc is not None and predicted_acc is not None and holdout_acc - predicted_acc >= DROP_FLAG:
        err = f" (measured error of {predictor}: {100 * predictor_mae:.1f} points)" if predictor_mae else ""
        out.append(Advice("Expect the leaderboard well below the holdout",
                          "compare candidate models by their predicted leaderboard accuracy, not by holdout accuracy.",
                          f"holdout {percent(holdout_acc)} vs predicted {percent(predicted_acc)} by "
                          f"{predictor}{err}", 2))
    if prior_tv_em is not None and prior_tv_bbse is not None and min(prior_tv_em, prior_tv_bbse) >= PRIOR_TV_FLAG:
        moved = ", ".join(f"{name} {percent(old)} -> {percent(new)}" for name, old, new in moved_classes[:3])
        evidence = f"total variation EM {prior_tv_em:.3f}, BBSE {prior_tv_bbse:.3f}; {moved}"
        if domain_auc is not None and domain_auc >= LABEL_SHIFT_TRUST_AUC:
            out.append(Advice("Predicted class shares moved, but the images differ too, and under image shift BBSE "
                              "and EM read the model's new confusions as prior changes (the benchmark's uniform-prior "
                              "stand-in shows total variation up to 0.23)",
                              "do not re-weight predictions on this evidence alone.",
                              f"{evidence}; domain classifier AUC {domain_auc:.3f}", 1))
        else:
            out.append(Advice("Class priors appear to differ from the training set's while the images look alike",
                              "re-weight the submitted probabilities by the estimated priors (EM) before taking "
                              "the argmax.", evidence, 1))
    if near_dup_share is not None and near_dup_share >= NEAR_DUP_FLAG:
        out.append(Advice("Part of the competition set nearly copies training images",
                          "on those the model is at its holdout accuracy, so the drop on the rest is larger than the "
                          "average suggests.",
                          f"{percent(near_dup_share)} of competition images with cosine similarity >= "
                          f"{near_dup_threshold} to a training image, as is or mirrored", 1))
    if temperature is not None and temperature >= OVERCONFIDENT_T:
        out.append(Advice("The network is over-confident before calibration",
                          "label smoothing (0.1) or Mixup make its confidences, and every estimate built on them, more "
                          "trustworthy.",
                          f"fitted temperature {temperature:.2f}", 1))
    if ledger_slope is not None and ledger_intercept is not None and ledger_points >= LINE_MIN_SUBMISSIONS:
        if ledger_slope == 1.0:  # the scoreboard's constant gap: local accuracies too close together for a slope
            out.append(Advice("Your scored submissions sit a constant gap below (or above) their local accuracy",
                              "expect a new run's leaderboard score at its local accuracy plus this gap; their local "
                              "accuracies are too close together to say whether a local gain carries over in full.",
                              f"leaderboard = local {100 * ledger_intercept:+.1f} points over {ledger_points} "
                              f"scored submissions", 1))
        else:
            out.append(Advice("Your scored submissions fit a line from local to leaderboard accuracy",
                              "use it to translate a local gain into a leaderboard gain before spending a submission.",
                              f"leaderboard = {ledger_slope:.2f} x local {100 * ledger_intercept:+.1f} points over "
                              f"{ledger_points} scored submissions", 1))
    if not out:
        out.append(Advice("No large difference between training and competition images was measured", "",
                          f"domain classifier AUC {domain_auc:.3f}" if domain_auc is not None else "no measurement",
                          0))
    return sorted(out, key=lambda a: -a.severity)
