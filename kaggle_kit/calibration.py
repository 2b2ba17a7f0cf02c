"""Temperature scaling fitted on the holdout: calibrated probabilities for the gap report and ensembles.

One scalar T per set of logits, chosen to minimise the holdout negative log-likelihood of softmax(z / T)
(Guo et al., 2017). It never changes a prediction, only the confidence. We search over beta = 1/T because the
NLL is convex in beta (log-sum-exp of a linear function minus a linear term), so a bounded scalar search finds
the global minimum; a grid or a search over T itself could stop in a flat region.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, logsumexp, softmax

T_BOUNDS = (0.05, 20.0)  # temperatures outside this range mean a broken model, not a calibration problem


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the true labels under softmax(logits / temperature)."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    return float(-log_softmax(z, axis=1)[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T in ``T_BOUNDS`` minimising ``nll(logits, labels, T)``; 1.0 when there is nothing to fit on."""
    if len(labels) == 0:
        return 1.0
    z = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels)
    true = z[np.arange(len(labels)), labels]

    def objective(beta: float) -> float:
        return float(np.mean(logsumexp(beta * z, axis=1) - beta * true))

    lo, hi = 1.0 / T_BOUNDS[1], 1.0 / T_BOUNDS[0]
    res = minimize_scalar(objective, bounds=(lo, hi), method="bounded", options={"xatol": 1e-7})
    return float(1.0 / res.x)


def calibrated_probs(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    return softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=1)


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, n_bins: int = 15) -> float:
    """ECE with equal-width confidence bins: the accuracy-vs-confidence gap, weighted by bin size."""
    if len(labels) == 0:
        return 0.0
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    bins = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins)
    gap = np.abs(np.bincount(bins, weights=correct, minlength=n_bins)
                 - np.bincount(bins, weights=conf, minlength=n_bins))
    return float(gap.sum() / counts.sum())
