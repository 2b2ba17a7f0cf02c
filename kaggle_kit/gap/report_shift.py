"""Report sections 3, 4 and 5: what moved between the training images and the competition images. The class
priors (label shift), the images themselves (covariate shift: a domain classifier, image statistics,
near-duplicates), and the predictions per class.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from kaggle_kit.mplconfig import ensure_writable_folder

ensure_writable_folder()  # before matplotlib's first import, which reads MPLCONFIGDIR (see mplconfig)
from matplotlib.figure import Figure  # noqa: E402

from kaggle_kit.calibration import calibrated_probs
from kaggle_kit.config import ReportConfig
from kaggle_kit.gap import advice as advice_mod
from kaggle_kit.gap import domain, estimators, image_stats, label_shift
from kaggle_kit.gap.report_render import Fig, Section, Table, figure_png, literal
from kaggle_kit.gap.report_runs import RunView
from kaggle_kit.text import percent

NEAR_DUP_THRESHOLDS = (0.95, 0.97, 0.99)


def predicted_shares(logits: np.ndarray, c: int) -> np.ndarray:
    """Share of the images predicted as each class, as sections 3 and 5 both show it: by the logits' argmax (the
    temperature-scaled probabilities' can tie where the logits do not, and section 5 counted by those)."""
    return label_shift.class_priors(logits.argmax(1), c)


def label_shift_section(main: RunView, class_names: Sequence[str]) -> tuple[Section, dict]:
    sec = Section("label-shift", "3. Label shift: class priors of the competition set")
    r = main.result
    c = len(r["source_priors"])
    t = r["temperature"]
    pred_comp, pred_hold = predicted_shares(main.comp.logits, c), predicted_shares(main.holdout.logits, c)
    tv_em = label_shift.total_variation(r["priors_em"], r["source_priors"])
    tv_bbse = label_shift.total_variation(r["priors_bbse"], r["source_priors"])
    sec.blocks.append(
        f"Priors estimated for {literal(main.name)} by BBSE (black-box shift estimation: holdout confusion-matrix "
        f"inversion, bounded least squares) and EM (expectation-maximisation, Saerens et al., on bias-corrected "
        f"temperature-scaled probabilities). Total variation from "
        f"the training priors: EM {tv_em:.3f}, BBSE {tv_bbse:.3f} (0 = same priors). Under image shift both also "
        f"absorb the model's changed confusions, so agreement between them and with the predicted-class shares matters "
        f"more than any single number.")
    rows = [[literal(class_names[k]), percent(r["source_priors"][k]), percent(r["priors_bbse"][k]),
             percent(r["priors_em"][k]), percent(pred_hold[k]), percent(pred_comp[k])] for k in range(c)]
    sec.blocks.append(Table(["class", "training prior", "BBSE", "EM", "predicted share (holdout)",
                             "predicted share (competition)"], rows))
    fig = Figure(figsize=(8, 3.8))
    ax = fig.add_subplot()
    x = np.arange(c)
    for i, (lab, vals) in enumerate([("training prior", r["source_priors"]), ("BBSE", r["priors_bbse"]),
                                     ("EM", r["priors_em"]), ("predicted share (competition)", pred_comp)]):
        ax.bar(x + (i - 1.5) * 0.2, 100 * np.asarray(vals), width=0.2, label=lab)
    ax.set_xticks(x, list(class_names), rotation=30, parse_math=False)
    ax.set_ylabel("% of images")
    ax.legend(fontsize=8)
    sec.blocks.append(Fig("label_shift", figure_png(fig), "Class priors: training, estimated (BBSE, EM) and the "
                          "predicted-class histogram on the competition set."))
    moved = sorted(((literal(class_names[k]), float(r["source_priors"][k]), float(r["priors_em"][k]))
                    for k in range(c)), key=lambda m: -abs(m[2] - m[1]))
    return sec, {"tv_em": tv_em, "tv_bbse": tv_bbse, "moved": moved, "temperature": t}


def _image_strip(pairs: Sequence[tuple[np.ndarray, np.ndarray, str]]) -> bytes:
    """Pairs of images, one above the other, each pair titled."""
    fig = Figure(figsize=(1.2 * max(len(pairs), 1), 2.6))
    for i, (a, b, s) in enumerate(pairs):
        for row, img in enumerate((a, b)):
            ax = fig.add_subplot(2, max(len(pairs), 1), row * len(pairs) + i + 1)
            ax.imshow(img, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(s, fontsize=8)
    return figure_png(fig)


@dataclass(frozen=True)
class CovariateEvidence:
    """Section 4's numbers, computed apart from its text and figures so that ``build_report`` can compute them in
    a thread while it estimates the runs' accuracy (matplotlib stays in one thread)."""
    domain: domain.DomainResult | None
    near_dups: domain.NearDuplicates


def covariate_evidence(train_images: np.ndarray, comp_images: np.ndarray, cfg: ReportConfig, seed: int = 0,
                       cancel: threading.Event | None = None) -> CovariateEvidence:
    return CovariateEvidence(
        domain.domain_classifier(train_images, comp_images, max_images=cfg.domain_max_images, seed=seed,
                                 cancel=cancel),
        domain.near_duplicates(comp_images, train_images, NEAR_DUP_THRESHOLDS, cancel=cancel))


def covariate_section(train_images: np.ndarray, comp_images: np.ndarray, cfg: ReportConfig,
                      seed: int = 0, evidence: CovariateEvidence | None = None) -> tuple[Section, dict]:
    """``evidence``: ``covariate_evidence`` of the same images, config and seed, when already computed."""
    sec = Section("covariate-shift", "4. Covariate shift: do competition images look different?")
    evidence = evidence or covariate_evidence(train_images, comp_images, cfg, seed)
    dom = evidence.domain
    if dom is None:
        sec.blocks.append(f"Too few images for the domain classifier and its per-image statistics: its 5-fold "
                          f"cross-validation needs at least 5 on each side, and there are {len(comp_images):,} "
                          f"competition and {len(train_images):,} training images.")
        blocks, nd_info = _near_duplicate_blocks(comp_images, train_images, evidence.near_dups)
        sec.blocks += blocks
        return sec, {"features": {}, "auc": None, "ci": None, **nd_info}
    sec.blocks.append(
        f"Domain classifier (gradient-boosted trees, 5-fold cross-validated) separating {dom.n_per_side:,} "
        f"training images from {dom.n_per_side:,} competition images on {len(image_stats.FEATURES)} image statistics "
        f"and a 4x4 colour thumbnail: **AUC {dom.auc:.3f}** (95% CI {dom.ci[0]:.3f}-{dom.ci[1]:.3f}: a "
        f"bootstrap of the out-of-fold scores, widened for the fold models' shared training images; "
        f"0.5 = indistinguishable, 1 = fully separable).")
    top = list(dom.importance.items())[:10]
    sec.blocks.append(Table(["feature", "permutation importance (AUC drop)"], [[k, f"{v:.4f}"] for k, v in top]))
    if any(k.startswith("thumb_") for k, _ in top):
        sec.blocks.append("thumb_C_R_K: the mean of colour channel C (r, g or b) in row R, column K (0-3 from the top "
                          "left) of the 4x4 thumbnail; the other features are the statistics below.")
    # the classifier's own images and statistics (medians and histograms below do not depend on their order)
    f_tr, f_co = dom.side_stats(False), dom.side_stats(True)
    shifts = {}
    rows = []
    for k in image_stats.FEATURES:
        a, b = float(np.median(f_tr[k])), float(np.median(f_co[k]))
        shifts[k] = advice_mod.FeatureShift(k, a, b, dom.feature_auc[k], dom.n_per_side)
        rel = relative_change(a, b)
        rows.append([k, image_stats.DESCRIPTIONS[k], f"{a:.4g}", f"{b:.4g}", rel,
                     f"{dom.feature_auc[k]:.3f}"])
    sec.blocks.append("Per-image statistics (medians; AUC of the single statistic: > 0.5 means larger on "
                      "competition images):")
    sec.blocks.append(Table(["statistic", "meaning", "training", "competition", "change", "AUC"], rows))
    fig = Figure(figsize=(14, 5.5))
    for i, k in enumerate(image_stats.FEATURES):
        ax = fig.add_subplot(2, 5, i + 1)
        both = np.concatenate([f_tr[k], f_co[k]])
        lo, hi = np.percentile(both, [0.5, 99.5])
        bins = np.linspace(lo, hi if hi > lo else lo + 1e-6, 40)
        ax.hist(f_tr[k], bins=bins, alpha=0.55, density=True, label="training")
        ax.hist(f_co[k], bins=bins, alpha=0.55, density=True, label="competition")
        ax.set_title(f"{k} (AUC {dom.feature_auc[k]:.2f})", fontsize=9)
        ax.tick_params(labelsize=7)
        if i == 0:
            ax.legend(fontsize=7)
    fig.supxlabel("value of the statistic (title) per image", fontsize=9)
    fig.supylabel("density (images, normalised)", fontsize=9)
    sec.blocks.append(Fig("image_stats", figure_png(fig), "Distributions of the per-image statistics, training vs "
                          "competition images."))
    blocks, nd_info = _near_duplicate_blocks(comp_images, train_images, evidence.near_dups)
    sec.blocks += blocks
    return sec, {"features": shifts, "auc": dom.auc, "ci": dom.ci, **nd_info}


def relative_change(before: float, after: float) -> str:
    """'+7.7%'; '0.0%' for a change that rounds to nothing (not '-0.0%', which reads as a fall); '-' from a
    median of 0 (grayscale training images: saturation), which has no ratio."""
    if not before:
        return "-"
    change = (after - before) / before
    return "0.0%" if round(100 * change, 1) == 0 else f"{change:+.1%}"


def _near_duplicate_blocks(comp_images: np.ndarray, train_images: np.ndarray,
                           nd: domain.NearDuplicates) -> tuple[list, dict]:
    """Section 4's near-duplicate paragraph, table and figures, and the share the advice quotes, from the images'
    ``near_duplicates`` at ``NEAR_DUP_THRESHOLDS`` (``covariate_evidence``)."""
    sec = Section("", "")
    sec.blocks.append(f"Near-duplicates: for each of the {len(comp_images):,} competition images, the most similar of "
                      f"the {len(train_images):,} training images (cosine similarity of mean-removed, normalised 8x8 "
                      f"thumbnails, robust to brightness, contrast and mild blur). A mirrored (left-right flipped) "
                      f"copy counts too: each competition image's mirror image is compared as well, and the closer "
                      f"of the two is kept.")
    sec.blocks.append(Table(["similarity at least", "competition images", "share", "of them mirrored"],
                            [[f"{t}", f"{c:,}", percent(c / len(comp_images), 2),
                              f"{nd.mirrored_counts[t]:,}"]
                             for t, c in nd.counts.items()]))
    fig = Figure(figsize=(6, 3.2))
    ax = fig.add_subplot()
    ax.hist(nd.max_similarity, bins=60, color="tab:purple")
    for t in NEAR_DUP_THRESHOLDS:
        ax.axvline(t, color="gray", ls=":")
    ax.set_xlabel("similarity to the nearest training image")
    ax.set_ylabel("competition images")
    sec.blocks.append(Fig("near_duplicates", figure_png(fig), "Similarity of each competition image to its nearest "
                          "training image."))
    order = np.argsort(-nd.max_similarity)[:8]
    pairs = [(comp_images[i], train_images[nd.nearest[i]],
              f"{nd.max_similarity[i]:.3f}" + (" (m)" if nd.mirrored[i] else "")) for i in order]
    sec.blocks.append(Fig("near_duplicate_pairs", _image_strip(pairs), "The most similar pairs: competition image "
                          "(top) and its nearest training image (bottom), with their similarity; (m): the training "
                          "image matches the competition image's mirror image."))
    share_thr = NEAR_DUP_THRESHOLDS[1]
    return sec.blocks, {"near_dup_share": nd.counts[share_thr] / len(comp_images), "near_dup_threshold": share_thr}


def _points_change(before: float, after: float) -> str:
    """The change between two shares as the table shows them (one decimal each), so the columns add up."""
    return f"{round(100 * after, 1) - round(100 * before, 1):+.1f}"


def per_class_section(main: RunView, class_names: Sequence[str]) -> Section:
    sec = Section("per-class", "5. Per-class view: confidence, entropy and predicted shares")
    t = main.result["temperature"]
    sets = [("holdout", main.holdout.logits)]
    if main.test is not None:
        sets.append(("CIFAR-10 test", main.test.logits))
    sets.append(("competition", main.comp.logits))
    probs = {name: calibrated_probs(lg, t) for name, lg in sets}
    fig = Figure(figsize=(11, 3.6))
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for name, p in probs.items():
        ax1.hist(estimators.max_confidence(p), bins=np.linspace(0, 1, 41), density=True, histtype="step", lw=1.5,
                 label=name)
        ax2.hist(estimators.entropy(p), bins=np.linspace(0, np.log(p.shape[1]), 41), density=True,
                 histtype="step", lw=1.5, label=name)
    ax1.set_xlabel("max probability (temperature-scaled)")
    ax2.set_xlabel("entropy (nats)")
    for ax in (ax1, ax2):
        ax.set_ylabel("density (images, normalised)")
    ax1.legend(fontsize=8)
    sec.blocks.append(Fig("confidence_entropy", figure_png(fig), "Confidence and entropy distributions: a shift to "
                          "lower confidence / higher entropy on the competition set is the drop the estimators see."))
    c = len(class_names)
    share_h, share_c = predicted_shares(main.holdout.logits, c), predicted_shares(main.comp.logits, c)

    def conf_by_class(p: np.ndarray, logits: np.ndarray) -> np.ndarray:
        pred = logits.argmax(1)  # the images ``predicted_shares`` counts for each class
        return np.array([p[pred == k].max(1).mean() if (pred == k).any() else np.nan for k in range(c)])

    ch, cc = conf_by_class(probs["holdout"], main.holdout.logits), conf_by_class(probs["competition"], main.comp.logits)
    order = np.argsort(-np.abs(share_c - share_h))
    rows = [[literal(class_names[k]), percent(share_h[k]), percent(share_c[k]), _points_change(share_h[k], share_c[k]),
             percent(ch[k]), percent(cc[k])] for k in order]
    sec.blocks.append("Classes ordered by how far their predicted share moved (holdout to competition):")
    sec.blocks.append(Table(["predicted class", "share (holdout)", "share (competition)", "change (pts)",
                             "mean confidence (holdout)", "mean confidence (competition)"], rows))
    fig = Figure(figsize=(8, 3.5))
    ax = fig.add_subplot()
    x = np.arange(c)
    ax.bar(x - 0.2, 100 * ch, width=0.4, label="holdout")
    ax.bar(x + 0.2, 100 * cc, width=0.4, label="competition")
    ax.set_xticks(x, list(class_names), rotation=30, parse_math=False)
    ax.set_ylabel("mean confidence of predictions (%)")
    ax.set_ylim(max(0, 100 * np.nanmin(np.concatenate([ch, cc])) - 10), 100)
    ax.legend(fontsize=8)
    sec.blocks.append(Fig("per_class_confidence", figure_png(fig), "Mean confidence per predicted class."))
    return sec
