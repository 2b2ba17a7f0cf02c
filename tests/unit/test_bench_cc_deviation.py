"""``benchmarks/bench_cc_deviation.py`` (session 35's tried CC-Synth features): the deviations, the patched
features and constraint, and the library left as it was, on tiny arrays."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_cc_deviation as dev  # noqa: E402
import bench_gap  # noqa: E402

from kaggle_kit.gap import synthetic  # noqa: E402


def _stats(n: int = 400, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(1.0, 3.0, size=(n, 2))


def test_a_deviation_is_the_distance_from_the_clean_median_in_iqrs_either_way():
    ref = dev.reference(np.array([[1.0], [2.0], [3.0], [4.0], [5.0]]), log=False)  # median 3, IQR 2
    assert dev.deviations(np.array([[3.0], [7.0], [-1.0]]), ref, log=False)[:, 0] == pytest.approx([0, 2, 2])


def test_on_the_log_scale_halving_and_doubling_are_the_same_distance():
    clean = np.exp(np.random.default_rng(1).normal(size=(10_000, 1)))  # median 1
    ref = dev.reference(clean, log=True)
    half, double = dev.deviations(np.array([[0.5], [2.0]]), ref, log=True)[:, 0]
    assert half == pytest.approx(double, rel=0.05) and half > 0.5
    assert np.isfinite(dev.deviations(np.array([[0.0], [-1e-9]]), ref, log=True)).all()  # a grey image's zero


def test_a_constant_statistic_does_not_divide_by_zero():
    ref = dev.reference(np.ones((10, 1)), log=False)
    assert dev.deviations(np.array([[1.0], [3.0]]), ref, log=False)[:, 0] == pytest.approx([0.0, 2.0])


@pytest.mark.parametrize("name, columns", [("dev-mono", 4 + 2), ("dev", 4 + 2), ("dev-append", 4 + 2 + 2)])
def test_the_patched_features_and_classifier_and_the_library_restored(name, columns):
    probs = np.full((3, 10), 0.1)
    stats = _stats(3)
    plain = synthetic.feature_matrix, synthetic.HistGradientBoostingClassifier
    synthetic._FIT_MEMO[("left", 0)] = object()
    with dev.patched(dev.VARIANTS[name], _stats()):
        assert synthetic._FIT_MEMO == {}  # no model fitted on the plain features is reused
        x = synthetic.feature_matrix(probs, stats)
        clf = synthetic.HistGradientBoostingClassifier(max_iter=5)
    assert x.shape == (3, columns) and (x[:, 4:] >= 0).all()
    assert clf.monotonic_cst == ([0, 0, 0, 0, -1, -1] if name == "dev-mono" else None)
    assert (synthetic.feature_matrix, synthetic.HistGradientBoostingClassifier) == plain and synthetic._FIT_MEMO == {}
    assert synthetic.feature_matrix(probs, stats).shape == (3, 4 + 2)


def test_the_raw_variant_changes_nothing():
    synthetic._FIT_MEMO[("kept", 0)] = kept = object()
    with dev.patched(dev.VARIANTS["raw"], _stats()):
        assert synthetic._FIT_MEMO[("kept", 0)] is kept and synthetic.feature_matrix.__module__ == synthetic.__name__
    synthetic._FIT_MEMO.pop(("kept", 0))


def test_a_monotone_fit_predicts_less_correctness_further_from_clean():
    """The mechanism the variant rests on: beyond the deviations it was trained on, the prediction stays at its
    lowest rather than wherever the trees' last split left it."""
    rng = np.random.default_rng(0)
    n = 4000
    stats = np.column_stack([rng.uniform(0, 2, n), rng.uniform(0, 2, n)])
    correct = rng.random(n) < np.clip(0.9 - 0.3 * np.abs(stats[:, 0] - 1), 0, 1)
    probs = np.full((n, 10), 0.1)
    with dev.patched(dev.VARIANTS["dev-mono"], stats):
        x = synthetic.feature_matrix(probs, stats)
        clf = synthetic.HistGradientBoostingClassifier(max_iter=50, categorical_features=[3]).fit(x, correct)
        far = clf.predict_proba(synthetic.feature_matrix(probs[:3], np.array([[1.0, 1], [2.0, 1], [9.0, 1]])))[:, 1]
    assert far[0] > far[1] >= far[2]


def test_mae_is_in_points_per_model_and_over_all_rows():
    df = pd.DataFrame({"model": ["a", "a", "b"], "true_acc": [0.5, 0.5, 0.8], "X": [0.52, 0.46, 0.8]})
    assert bench_gap.mae_points(df, "X").round(6).to_dict() == {"a": 3.0, "b": 0.0, "all": 2.0}
