"""``benchmarks/bench_nuclear_norm.py`` (check 15's fifth Median member) on tiny arrays: the Median-5 pair and the
patch (NucNorm itself: ``test_nuclear_norm.py``)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_nuclear_norm as nuc  # noqa: E402

from kaggle_kit.gap import estimators  # noqa: E402


def test_median_5_adds_the_norm_as_a_fifth_member_and_keeps_the_shipped_spread_penalty():
    est = {"Shift-Gated": 0.80, "CC-Synth": 0.70, "ATC-NE-EM": 0.76, "COTT": 0.74, "NucNorm": 0.60}
    out = nuc.with_median_5(est)
    assert out["Median-5"] == pytest.approx(0.74)
    assert out["Median-5-Spread"] == pytest.approx(0.74 - estimators.SPREAD_PENALTY * 0.10)
    assert "Median-5" not in nuc.with_median_5({k: v for k, v in est.items() if k != "NucNorm"})


def test_patched_adds_the_columns_only_inside_and_restores_the_library():
    plain = estimators.estimate_all
    with nuc.patched():
        assert estimators.estimate_all is not plain
    assert estimators.estimate_all is plain
