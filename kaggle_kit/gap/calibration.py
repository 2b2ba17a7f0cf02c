"""Bias-corrected temperature scaling (BCTS) for EM prior estimation.

The project's ``kaggle_kit.calibration`` fits one temperature, which is enough for confidence-based
accuracy estimates. EM prior estimation also needs each class's average probability to be right, or it reads
a per-class bias of the network as a change of priors; BCTS adds one bias per class to the temperature
(Alexandari et al. 2020, "Maximum likelihood with bias-corrected calibration is hard-to-beat").
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax

from kaggle_kit.calibration import fit_temperature


def bcts_probs(logits: np.ndarray, temperature: float, bias: np.ndarray) -> np.ndarray:
    return softmax(np.asarray(logits, dtype=np.float64) / temperature + bias, axis=1)


def fit_bcts(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Temperature and per-class bias minimising holdout NLL (class 0's bias is 0: softmax ignores shifts)."""
    lg = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels)
    n, c = lg.shape
    onehot = np.eye(c)[labels]

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        t = np.exp(theta[0])
        logp = log_softmax(lg / t + np.concatenate([[0.0], theta[1:]]), axis=1)
        resid = (np.exp(logp) - onehot) / n                     # d NLL / d z
        grad_log_t = -float((resid * lg).sum() / t)             # z = lg / t + b, dz / dlog t = -lg / t
        return float(-logp[np.arange(n), labels].mean()), np.concatenate([[grad_log_t], resid.sum(0)[1:]])

    theta0 = np.concatenate([[np.log(fit_temperature(lg, labels))], np.zeros(c - 1)])
    res = minimize(objective, theta0, jac=True, method="L-BFGS-B")
    return float(np.exp(res.x[0])), np.concatenate([[0.0], res.x[1:]])
