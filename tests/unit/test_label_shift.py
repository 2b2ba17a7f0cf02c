"""Prior estimation under a pure change of class priors: EM and BBSE must recover the priors."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax

from kaggle_kit.gap import label_shift as ls
from kaggle_kit.gap.calibration import bcts_probs, fit_bcts

C = 10
MARGINS = np.linspace(1.0, 3.0, C)


def task(n, priors, rng):
    """Gaussian classes; logits are the exact log-posterior for uniform priors (a calibrated model)."""
    y = rng.choice(C, size=n, p=priors)
    x = rng.normal(0, 1, (n, C))
    x[np.arange(n), y] += MARGINS[y]
    return MARGINS * x - MARGINS ** 2 / 2, y


@pytest.fixture(scope="module")
def shifted():
    rng = np.random.default_rng(0)
    src_logits, src_y = task(20_000, np.full(C, 1 / C), rng)
    q = rng.dirichlet(np.ones(C))
    tgt_logits, _ = task(20_000, q, rng)
    return src_logits, src_y, tgt_logits, q


def test_em_recovers_priors_with_calibrated_probabilities(shifted):
    src_logits, src_y, tgt_logits, q = shifted
    est = ls.em_priors(softmax(tgt_logits, axis=1), ls.class_priors(src_y, C))
    assert est.sum() == pytest.approx(1.0)
    assert np.abs(est - q).sum() < 0.05
    assert ls.total_variation(est, q) < 0.025


@pytest.mark.parametrize("soft", [False, True])
def test_bbse_recovers_priors(shifted, soft):
    src_logits, src_y, tgt_logits, q = shifted
    est = ls.bbse_priors(softmax(src_logits, axis=1), src_y, softmax(tgt_logits, axis=1), soft=soft)
    assert est.min() >= 0 and est.sum() == pytest.approx(1.0)
    assert np.abs(est - q).sum() < 0.06


def test_no_shift_gives_source_priors(shifted):
    src_logits, src_y, _, _ = shifted
    rng = np.random.default_rng(1)
    same, _ = task(20_000, np.full(C, 1 / C), rng)
    p = softmax(same, axis=1)
    assert np.abs(ls.em_priors(p, ls.class_priors(src_y, C)) - 0.1).max() < 0.01
    assert np.abs(ls.bbse_priors(softmax(src_logits, axis=1), src_y, p) - 0.1).max() < 0.015


def test_bbse_never_returns_negative_priors_for_a_class_that_vanished():
    rng = np.random.default_rng(2)
    src_logits, src_y = task(5000, np.full(C, 1 / C), rng)
    q = np.full(C, 1 / (C - 2))
    q[:2] = 0.0
    tgt_logits, _ = task(5000, q, rng)
    est = ls.bbse_priors(softmax(src_logits, axis=1), src_y, softmax(tgt_logits, axis=1))
    assert est.min() >= 0
    assert est[:2].sum() < 0.03


def test_bcts_undoes_a_temperature_and_class_bias_so_em_works_again(shifted):
    src_logits, src_y, tgt_logits, q = shifted
    bias = np.linspace(-1.0, 1.0, C)
    distort = lambda z: 2.5 * z + bias  # over-confident and biased toward the last classes  # noqa: E731
    p_src = ls.class_priors(src_y, C)
    naive = ls.em_priors(softmax(distort(tgt_logits), axis=1), p_src)
    t, b = fit_bcts(distort(src_logits), src_y)
    fixed = ls.em_priors(bcts_probs(distort(tgt_logits), t, b), p_src)
    assert t == pytest.approx(2.5, rel=0.05)
    assert np.abs(fixed - q).sum() < 0.05
    assert np.abs(naive - q).sum() > 2 * np.abs(fixed - q).sum()


def test_adjust_probs_with_unchanged_priors_is_identity():
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(C), size=50)
    assert np.allclose(ls.adjust_probs(p, np.full(C, 0.1), np.full(C, 0.1)), p)
    q = np.zeros(C)
    q[3] = 1.0
    assert np.allclose(ls.adjust_probs(p, np.full(C, 0.1), q)[:, 3], 1.0)


def test_bbse_gives_priors_for_a_model_never_right_on_the_holdout():
    """A model always wrong on the holdout has an all-zero diagonal, so the ridge was zero too; a target predicted
    into a class the holdout never saw predicted then gave w = 0 and NaN priors (ATC-NE-BBSE read them as 0%)."""
    y = np.tile(np.arange(5), 4)                  # holdout labels 0-4 ...
    src = np.full((20, C), 0.01)
    src[:, 5] = 0.91                              # ... always predicted as class 5
    tgt = np.full((30, C), 0.01)
    tgt[:, 6] = 0.91                              # the target always predicted as class 6
    q = ls.bbse_priors(src, y, tgt)
    assert np.isfinite(q).all() and (q >= 0).all() and q.sum() == pytest.approx(1.0)


def test_bbse_priors_multiply_the_weights_by_the_holdout_priors():
    """Normalising w alone (forgetting q = w p) would give [0.25, 0.75] here: the holdout's 3:1 mix inverted."""
    probs = np.eye(2)[[0, 0, 0, 1]]  # a perfect classifier on a 3:1 holdout
    target = np.eye(2)[[0, 1]]  # the target is predicted 50/50, so its priors are 50/50
    assert ls.bbse_priors(probs, np.array([0, 0, 0, 1]), target) == pytest.approx([0.5, 0.5], abs=1e-3)


def test_bbse_reads_the_confusion_matrix_as_predicted_class_by_true_class():
    """C[i, j] = P(pred = i, y = j): transposed, it would read a target that is all class 0 as 50/50."""
    y = np.array([0, 0, 1, 1])
    probs = np.eye(2)[[0, 1, 1, 1]]  # class 0 is right half the time, class 1 always
    assert ls.confusion_joint(probs, y) == pytest.approx(np.array([[0.25, 0.0], [0.25, 0.5]]))
    target = np.eye(2)[[0, 1]]  # what an all-class-0 target gets predicted: half 0, half 1
    assert ls.bbse_priors(probs, y, target) == pytest.approx([1.0, 0.0], abs=0.01)


def test_em_runs_to_the_maximum_likelihood_priors():
    """Stopped after 10 rounds, EM would be 2e-4 short of the likelihood's maximum q0 = 29/48 here."""
    probs = np.array([[0.9, 0.1], [0.2, 0.8]] * 50)  # d/dq0 log L = 0: 0.8 / (0.1 + 0.8 q0) = 0.6 / (0.8 - 0.6 q0)
    assert ls.em_priors(probs, np.array([0.5, 0.5])) == pytest.approx([29 / 48, 19 / 48], abs=1e-6)
