"""``benchmarks/bench_bn_adapt.py``: its tables and the summary the report cites, on a tiny frame of rows."""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_bn_adapt as bn  # noqa: E402


def _rows() -> pd.DataFrame:
    rows = []
    for model, base in (("a", 0.6), ("b", 0.8)):
        for name, kind, gain in (("blur", "covariate", 0.2), ("prior", "label", -0.04), ("standin", "standin", 0.03)):
            for statistics, acc in (("trained", base), ("adapted", base + gain)):
                est = {e: acc + (0.01 if statistics == "adapted" else 0.05) for e in bn.ESTIMATORS}
                rows.append({"model": model, "set": name, "kind": kind, "statistics": statistics,
                             "true_acc": acc, **est})
    return pd.DataFrame(rows)


def test_the_accuracy_table_shows_each_models_change_and_the_mean_by_kind():
    table = bn.accuracy_table(_rows())
    assert "| blur | 60.0 -> 80.0 | 80.0 -> 100.0 | +20.0 |" in table
    assert "| prior | 60.0 -> 56.0 | 80.0 -> 76.0 | -4.0 |" in table
    assert table.endswith("Mean change by kind of set (points): covariate +20.0, label -4.0, standin +3.0")


def test_the_error_table_scores_each_estimator_against_the_logits_it_read():
    line = next(l for l in bn.error_table(_rows()).splitlines() if l.startswith("| Median-5-Spread |"))
    assert line == "| Median-5-Spread | 5.00 / 1.00 | 5.00 / 1.00 | 5.00 / 1.00 |"


def test_the_summary_has_what_the_advice_cites():
    s = bn.summary(_rows(), "cmd")
    assert s["command"] == "cmd" and s["models"] == ["a", "b"] and s["sets"] == 3
    assert s["change_points"] == pytest.approx({"covariate": 20.0, "label": -4.0, "standin": 3.0})
    assert s["mae_points"]["trained"]["ATC-NE"] == 5.0 and s["mae_points"]["adapted"]["ATC-NE"] == 1.0


def test_the_summary_is_written_only_from_the_benchmarks_sets(capsys):
    with pytest.raises(SystemExit) as done:
        bn.main(["--sets", "16", "--write"])
    assert done.value.code == 2 and "use it with --sets bench" in capsys.readouterr().err
