"""Class priors of an unlabeled set, estimated from a classifier's outputs (label shift: p(y) moves, p(x|y) stays).

Two classic estimators, so the report can show whether they agree:
- BBSE (Lipton et al. 2018): the holdout confusion matrix C[i, j] = P(pred=i, y=j) maps the importance weights
  w = q/p to the target's predicted-class distribution, mu = C w. Solved as a bounded least-squares problem
  (w >= 0) with a small ridge toward w = 1, because C is near-singular for weak models and a plain inverse
  gives negative priors.
- EM (Saerens et al. 2002): alternately re-weight calibrated posteriors by q/p and re-estimate q as their mean.
  Needs calibrated probabilities: fit BCTS on the holdout first (``calibration.fit_bcts``).
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import lsq_linear


def class_priors(labels: np.ndarray, n_classes: int) -> np.ndarray:
    return np.bincount(np.asarray(labels), minlength=n_classes).astype(np.float64) / len(labels)


def confusion_joint(source_probs: np.ndarray, source_labels: np.ndarray, soft: bool = False) -> np.ndarray:
    """C[i, j] = P(pred = i, y = j) on the holdout; ``soft`` uses probabilities instead of argmax votes."""
    n, c = source_probs.shape
    pred = source_probs if soft else np.eye(c)[source_probs.argmax(1)]
    return pred.T @ np.eye(c)[np.asarray(source_labels)] / n


def bbse_weights(source_probs: np.ndarray, source_labels: np.ndarray, target_probs: np.ndarray,
                 soft: bool = False, ridge: float = 1e-3) -> np.ndarray:
    """Importance weights w_j = q_j / p_j (>= 0) from C w = mu; ``ridge`` is relative to C's scale.

    C's scale is its mean diagonal, or a perfect classifier's (1 / c^2) for a model never right on the holdout:
    with no ridge at all, a target predicted only into classes the holdout never saw predicted gave w = 0 and
    priors 0 / 0 = NaN."""
    c = source_probs.shape[1]
    conf = confusion_joint(source_probs, source_labels, soft)
    mu = target_probs.mean(0) if soft else np.bincount(target_probs.argmax(1), minlength=c) / len(target_probs)
    lam = np.sqrt(ridge * (np.mean(np.diag(conf)) or 1.0 / c ** 2) ** 2)
    a = np.vstack([conf, lam * np.eye(c)])
    b = np.concatenate([mu, lam * np.ones(c)])
    return lsq_linear(a, b, bounds=(0.0, np.inf)).x


def bbse_priors(source_probs: np.ndarray, source_labels: np.ndarray, target_probs: np.ndarray,
                soft: bool = False, ridge: float = 1e-3) -> np.ndarray:
    """Target class priors q = w * p, renormalised to sum to one."""
    p = class_priors(source_labels, source_probs.shape[1])
    q = bbse_weights(source_probs, source_labels, target_probs, soft, ridge) * p
    return q / q.sum()


def adjust_probs(probs: np.ndarray, source_priors: np.ndarray, target_priors: np.ndarray) -> np.ndarray:
    """Bayes-correct posteriors for new priors: p_t(y|x) is proportional to p_s(y|x) q_y / p_y."""
    w = np.asarray(target_priors) / np.maximum(np.asarray(source_priors), 1e-12)
    adj = probs * w
    return adj / np.maximum(adj.sum(1, keepdims=True), 1e-300)


def em_priors(target_probs: np.ndarray, source_priors: np.ndarray, max_iter: int = 1000,
              tol: float = 1e-8) -> np.ndarray:
    """Saerens' EM: maximum-likelihood target priors given calibrated source posteriors."""
    p = np.asarray(source_priors, dtype=np.float64)
    q = p.copy()
    for _ in range(max_iter):
        new = adjust_probs(target_probs, p, q).mean(0)
        if np.abs(new - q).max() < tol:
            q = new
            break
        q = new
    return q


def total_variation(p: np.ndarray, q: np.ndarray) -> float:
    """Half the L1 distance: the share of probability mass that moved."""
    return float(0.5 * np.abs(np.asarray(p) - np.asarray(q)).sum())
