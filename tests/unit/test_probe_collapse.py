"""The collapse probe's three signals on tiny arrays whose answer is known."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import probe_collapse  # noqa: E402

from kaggle_kit.gap.synthetic import SyntheticLogits  # noqa: E402


def test_frechet_is_zero_for_one_set_and_the_squared_mean_gap_for_a_shifted_copy():
    a = np.random.default_rng(0).normal(size=(500, 3))
    assert probe_collapse.frechet(a, a) == pytest.approx(0.0, abs=1e-8)
    assert probe_collapse.frechet(a, a + np.array([3.0, 0.0, 4.0])) == pytest.approx(25.0, rel=1e-6)


def _probs(pred: np.ndarray, conf: np.ndarray, c: int = 3) -> np.ndarray:
    p = np.full((len(pred), c), 0.0)
    p[:] = ((1 - conf) / (c - 1))[:, None]
    p[np.arange(len(pred)), pred] = conf
    return p


def test_grow_conf_corr_is_negative_when_the_grown_class_is_the_unsure_one_and_undefined_without_change():
    src = _probs(np.repeat([0, 1, 2], 100), np.full(300, 0.8))
    # class 0 grows with unsure extra predictions, class 1 keeps its confidence, class 2 shrinks and sharpens
    tgt = _probs(np.repeat([0, 1, 2], [200, 100, 50]), np.concatenate([np.full(200, 0.5), np.full(100, 0.8),
                                                                       np.full(50, 0.95)]))
    assert probe_collapse.grow_conf_corr(src, tgt) == pytest.approx(-1.0)
    assert np.isnan(probe_collapse.grow_conf_corr(src, src))


def test_fd_estimate_recovers_an_exact_sqrt_fd_line_and_skips_the_left_out_family():
    # Two families, each a group whose log-probs are the holdout's shifted by d along one axis: FD = d^2,
    # so sqrt(FD) = d; accuracy falls 0.1 per unit of d for family 0, and family 1 (left out) lies off the line.
    rng = np.random.default_rng(1)
    hold = rng.normal(size=(400, 2))
    groups, labels, fam = [], [], []
    for f, (d, acc) in enumerate([(1.0, 0.8), (2.0, 0.1)]):
        groups.append(hold + [d, 0.0])
        n_ok = int(acc * 400)
        labels.append(np.where(np.arange(400) < n_ok, 0, 1))
        fam.append(np.full(400, f))
    syn_lp = np.concatenate(groups)
    labels = np.concatenate(labels)
    logits = np.zeros((800, 2), np.float32)
    logits[:, 0] = 1.0  # every image predicted as class 0: correct where the label is 0
    syn = SyntheticLogits(logits=logits, labels=labels, family=np.concatenate(fam), severity=np.ones(800, int),
                          index=np.zeros(800, int), stats=np.zeros((800, 1)), holdout_stats=np.zeros((400, 1)),
                          families=("a", "b"), family2=np.full(800, -1))
    est = probe_collapse.fd_estimate(hold, 0.9, syn, syn_lp, hold + [3.0, 0.0], exclude=("b",))
    assert est == pytest.approx(0.9 - 0.1 * 3.0, abs=1e-6)
