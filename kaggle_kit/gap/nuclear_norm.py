"""NucNorm: a target's accuracy read off its prediction matrix's nuclear norm, by a line fitted on CC-Synth's pool.

Why: Median-4's members read confidence (ATC-NE-EM, Shift-Gated), a correctness model (CC-Synth) or transport to
the class mix (COTT). The normalised nuclear norm of the N x K matrix of predicted probabilities (Deng et al.,
"Confidence and Dispersity Speak", ICML 2023) reads confidence and how evenly the predictions spread over the
classes at once: 1 for confident predictions spread evenly, 1/K for uniform ones. It is mapped to an accuracy by a
straight line fitted per model, without the target's labels, on the clean holdout and each of CC-Synth's synthetic
groups (family x severity, and each pair of families), the tested family left out as for CC-Synth. Alone it is
poor (3.4-4.9 points MAE), but as a fifth Median member it lowered the error on unseen shift families from 3.51 to
2.90 points, and check 15 (``benchmarks/PREREGISTERED.md``) adopted it on that evidence: ``estimators.estimate_all``
computes it whenever it has CC-Synth's pool. An N x 10 matrix's singular values are cheap: 0.18 s per estimate with
the benchmark's 56,000-image pool of 77 groups.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from kaggle_kit.calibration import calibrated_probs
from kaggle_kit.gap.synthetic import SyntheticLogits


def normalized_nuclear_norm(probs: np.ndarray) -> float:
    """||P||_* / sqrt(N min(N, K)): the sum of the singular values, scaled to [0, 1] whatever the image count."""
    n, k = probs.shape
    return float(np.linalg.svd(probs, compute_uv=False).sum() / np.sqrt(n * min(n, k)))


def pool_groups(synthetic: SyntheticLogits, exclude: Sequence[str]) -> list[np.ndarray]:
    """Index arrays of the pool's groups (family x severity, and each ordered pair of families), ``exclude``d
    families' images left out as CC-Synth leaves them out."""
    kept = synthetic.kept(exclude)
    key = np.stack([synthetic.family, synthetic.severity, synthetic.family2], 1)
    return [np.flatnonzero(kept & (key == k).all(1)) for k in np.unique(key[kept], axis=0)]


def fit_line(scores: np.ndarray, accuracies: np.ndarray) -> tuple[float, float]:
    """Least squares ``accuracy = slope * score + intercept``."""
    slope, intercept = np.polyfit(scores, accuracies, 1)
    return float(slope), float(intercept)


def nuclear_norm_estimate(holdout_logits: np.ndarray, holdout_labels: np.ndarray, target_logits: np.ndarray,
                          temperature: float, synthetic: SyntheticLogits, exclude: Sequence[str] = ()) -> float:
    """The target's accuracy read off the line through the clean holdout's and every kept synthetic group's
    (normalised nuclear norm, accuracy), temperature-scaled as the other estimators; clipped to [0, 1]."""
    sp = calibrated_probs(synthetic.logits, temperature)
    scores = [normalized_nuclear_norm(calibrated_probs(holdout_logits, temperature))]
    accs = [float((holdout_logits.argmax(1) == holdout_labels).mean())]
    for idx in pool_groups(synthetic, exclude):
        scores.append(normalized_nuclear_norm(sp[idx]))
        accs.append(float((sp[idx].argmax(1) == synthetic.labels[idx]).mean()))
    slope, intercept = fit_line(np.array(scores), np.array(accs))
    target = normalized_nuclear_norm(calibrated_probs(target_logits, temperature))
    return float(np.clip(slope * target + intercept, 0.0, 1.0))
