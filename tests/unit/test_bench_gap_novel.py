"""The held-out shift families of ``benchmarks/bench_gap_novel.py`` and check 4's support share, on tiny arrays."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_gap_novel as novel  # noqa: E402

from kaggle_kit.gap import shifts  # noqa: E402


def _images(n: int = 16) -> np.ndarray:
    return np.random.default_rng(0).integers(30, 226, (n, 32, 32, 3)).astype(np.uint8)


@pytest.mark.parametrize("name", list(novel.NOVEL))
def test_each_family_is_deterministic_keeps_the_format_and_grows_with_severity(name):
    x = _images()
    mild, strong = novel.novel(x, name, 2), novel.novel(x, name, 4)
    assert mild.shape == x.shape and mild.dtype == np.uint8
    np.testing.assert_array_equal(mild, novel.novel(x, name, 2))
    change = [np.abs(y.astype(int) - x).mean() for y in (mild, strong)]
    assert 0 < change[0] < change[1]


def test_the_families_are_new_to_the_synthetic_pool():
    assert not set(novel.NOVEL) & set(shifts.CORRUPTIONS)


def test_motion_blur_kernel_is_a_normalised_line():
    k = novel._line_kernel(5, 0.0)
    assert k.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(k[2], 0.2)  # horizontal: the middle row, every pixel
    assert k[[0, 1, 3, 4]].sum() == 0


def test_outside_support_share_is_small_for_a_pool_sample_and_one_beyond_it():
    rng = np.random.default_rng(0)
    pool = rng.normal(size=(20_000, 3))
    assert novel.outside_support_share(pool, rng.normal(size=(5_000, 3))) == pytest.approx(0.03, abs=0.01)
    assert novel.outside_support_share(pool, rng.normal(size=(100, 3)) + [0, 0, 10]) == 1.0


def test_novel_sets_are_the_eighteen_preregistered_plus_the_clean_reference():
    x, y = _images(40), np.arange(40) % 10
    sets = list(novel.novel_sets(x, y))
    assert [s[0] for s in sets][0] == "clean" and len(sets) == 19
    assert {kind for _, kind, _ in sets} == {"clean", "covariate", "both"}


def test_unseen_summary_scores_toolkit_estimators_on_the_held_out_sets_only():
    import pandas as pd

    rows = [{"model": "m", "set": s, "kind": "covariate", "true_acc": 0.5, "Median-4": 0.5 + e, "Support-Gated": 0.9}
            for s, e in (("clean", 0.3), ("fog-2", 0.02), ("fog-4", -0.04))]
    out = novel.unseen_summary(pd.DataFrame(rows))
    assert out["n_sets"] == 2 and out["models"] == {"m": 0.5} and out["families"] == list(novel.NOVEL)
    assert out["estimators"]["Median-4"]["mae"] == pytest.approx(0.03)  # the clean reference is not scored
    assert "Support-Gated" not in out["estimators"]  # check 4's candidate is not a toolkit estimator
