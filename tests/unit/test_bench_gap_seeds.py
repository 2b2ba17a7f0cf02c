"""The benchmark's helpers: model names with a training seed, the seed-spread table, estimators combined from rows."""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_gap  # noqa: E402
import bench_models  # noqa: E402


def test_parse_name_reads_an_optional_training_seed():
    assert bench_models.parse_name("weak_cnn") == ("weak_cnn", 0)
    assert bench_models.parse_name("resnet9q_e4@3") == ("resnet9q_e4", 3)


@pytest.mark.parametrize("bad", ["nope", "weak_cnn@x", "weak_cnn@-1", "@1"])
def test_parse_name_refuses_unknown_models_and_bad_seeds(bad):
    with pytest.raises(ValueError, match="unknown benchmark model"):
        bench_models.parse_name(bad)


def _rows(model: str, errors: list[float], kind: str = "covariate") -> list[dict]:
    return [{"model": model, "set": f"s{i}", "kind": kind, "true_acc": 0.5, "Median-4": 0.5 + e}
            for i, e in enumerate(errors)]


def test_seed_spread_reports_each_seed_and_the_range_for_recipes_trained_twice():
    df = pd.DataFrame(_rows("m", [0.01, -0.03]) + _rows("m@1", [0.02, 0.02]) + _rows("k", [0.5, 0.5])
                      + _rows("m", [0.9], kind="standin"))
    table = bench_gap.seed_spread(df, names=("Median-4",))
    row = [line for line in table.splitlines() if line.startswith("| m |")]
    # seed 0: mean |error| 2 points, seed 1: 2 points -> range 0; the stand-in row is not a generated set
    assert row == ["| m | Median-4 | 0: 2.00, 1: 2.00 | 2.00 | 0.00 |"]
    assert "| k |" not in table  # one seed only: no spread to show


def test_seed_spread_is_empty_without_repeated_recipes():
    assert bench_gap.seed_spread(pd.DataFrame(_rows("m", [0.1]) + _rows("k", [0.1])), names=("Median-4",)) == ""


def _two_model_rows(errors_a: list[float], errors_b: list[float]) -> pd.DataFrame:
    rows = []
    for model in ("m", "k"):
        for i, (ea, eb) in enumerate(zip(errors_a, errors_b)):
            rows.append({"model": model, "set": f"s{i}", "kind": "covariate", "true_acc": 0.5,
                         "Median-4": 0.5 + ea, "CC-Synth": 0.5 + eb})
    rows.append({"model": "m", "set": "standin", "kind": "standin", "true_acc": 0.5, "Median-4": 0.9, "CC-Synth": 0.9})
    return pd.DataFrame(rows)


def test_set_bootstrap_gives_the_row_mae_and_a_zero_width_interval_when_every_set_errs_alike():
    b = bench_gap.set_bootstrap(_two_model_rows([0.01] * 5, [-0.03] * 5), n_boot=200)
    assert list(b.index) == ["Median-4", "CC-Synth"]  # sorted by MAE; the stand-in row is not a generated set
    assert b.loc["Median-4", ["mae", "lo", "hi"]].tolist() == pytest.approx([1.0, 1.0, 1.0])
    assert b.loc["CC-Synth", ["diff", "diff_lo", "diff_hi"]].tolist() == pytest.approx([2.0, 2.0, 2.0])


def test_set_bootstrap_interval_covers_the_mae_and_is_reproducible():
    a = [0.00, 0.01, 0.02, 0.10, -0.04, 0.03]
    df = _two_model_rows(a, [x + 0.02 for x in a])
    b = bench_gap.set_bootstrap(df, n_boot=500, seed=3)
    assert b.loc["Median-4", "lo"] < b.loc["Median-4", "mae"] < b.loc["Median-4", "hi"]
    assert b.loc["Median-4", "mae"] == pytest.approx(100 * sum(abs(x) for x in a) / len(a))
    pd.testing.assert_frame_equal(b, bench_gap.set_bootstrap(df, n_boot=500, seed=3))
    assert "| Median-4 | " in bench_gap.bootstrap_table(df)


def test_cc_all_families_refuses_to_overwrite_the_recorded_leave_one_out_tables(capsys):
    with pytest.raises(SystemExit) as exc:
        bench_gap.main(["--cc-all-families"])
    assert exc.value.code == 2
    assert "add --tables FILE or --no-write" in capsys.readouterr().err


def test_with_combined_gives_old_rows_median_4_spread_from_their_members():
    row = {"model": "m", "set": "s", "kind": "covariate", "true_acc": 0.5, "Shift-Gated": 0.7, "CC-Synth": 0.6,
           "ATC-NE-EM": 0.8, "COTT": 0.4}
    out = bench_gap.with_combined(pd.DataFrame([row]))
    assert out["Median-4"].iloc[0] == pytest.approx(0.65)
    assert out["Median-4-Spread"].iloc[0] == pytest.approx(0.65 - 0.2 * 0.2)


def test_add_derived_writes_only_combined_entries_and_leaves_measured_ones(tmp_path):
    import json

    path = tmp_path / "measured_error.json"
    measured = {"mae_all_generated": 0.5, "by_predicted_drop": {"< 5": {"n": 3}}}
    path.write_text(json.dumps({"estimators": {"Median-4": measured}}))
    rows = pd.DataFrame([{"model": "m", "set": f"s{i}", "kind": k, "true_acc": 0.5, "Median-4": 0.52,
                          "Shift-Gated": 0.52, "CC-Synth": 0.47, "ATC-NE-EM": 0.57, "COTT": 0.3}
                         for i, k in enumerate(["covariate", "label", "standin"])])
    assert bench_gap.add_derived_to_measured_error(rows, path) == ["Median-4-Spread"]
    payload = json.loads(path.read_text())
    assert payload["estimators"]["Median-4"] == measured
    entry = payload["estimators"]["Median-4-Spread"]
    assert entry["mae_all_generated"] == pytest.approx(0.0) and entry["n_generated"] == 2  # 0.52 - 0.2 x 0.10
    assert "by_predicted_drop" not in entry and "rounded" in payload["derived"]["Median-4-Spread"]
    assert bench_gap.add_derived_to_measured_error(rows, path) == ["Median-4-Spread"]  # rewritten, not duplicated


def _summary_rows() -> pd.DataFrame:
    """One model, holdout 92%: (set, kind, true accuracy, Median-4's estimate); signed errors +1 +10 -2 -3 +4 +7 and
    +30 on the stand-in; predicted drops (holdout - estimate) 1, 22, 14, 10, 18, 10 and 12 points."""
    sets = [("clean", "clean", 0.90, 0.91), ("a-2", "covariate", 0.60, 0.70), ("b-2", "covariate", 0.80, 0.78),
            ("longtail10", "label", 0.85, 0.82), ("a-3+longtail10", "both", 0.70, 0.74),
            ("c-4", "covariate", 0.75, 0.82), ("standin", "standin", 0.50, 0.80)]
    return pd.DataFrame([{"model": "m", "set": s, "kind": k, "n": 100, "holdout_acc": 0.92, "true_acc": t,
                          "Median-4": e} for s, k, t, e in sets])


def test_error_summary_splits_the_errors_by_kind_and_bins_them_by_the_predicted_drop():
    """A stand-in row counted as generated, a kind left out of its group, a p90 at another quantile, bins by the true
    drop, a signed p90, an absolute bias, a median for the MAE or an empty bin kept would each change these numbers."""
    out = bench_gap.error_summary(_summary_rows(), "Median-4")
    bins = out.pop("by_predicted_drop")
    assert out == pytest.approx({"mae_all_generated": 0.27 / 6, "mae_standin": 0.30, "mae_label_shift": 0.035,
                                 "mae_covariate": 0.20 / 4, "max_error_generated": 0.10,
                                 "p90_generated": 0.07 + 0.5 * 0.03, "n_generated": 6})
    assert list(bins) == ["< 5", "5-15", "15-30"]  # no set predicted a drop over 30 points: no entry
    assert bins["< 5"] == pytest.approx({"n": 1, "mae": 0.01, "bias": 0.01, "p90": 0.01})
    assert bins["5-15"] == pytest.approx({"n": 3, "mae": 0.04, "bias": 0.02 / 3, "p90": 0.03 + 0.8 * 0.04})
    assert bins["15-30"] == pytest.approx({"n": 2, "mae": 0.07, "bias": 0.07, "p90": 0.04 + 0.9 * 0.06})


def test_tables_quote_each_group_and_bin_and_their_per_set_errors_read_back(tmp_path):
    """A group of the wrong kind, a stand-in row in a true-drop bin, the p90 cell showing the MAE, or a per-set error
    signed true - estimate would show here (the per-set table is what ``recorded_rows`` rebuilds the estimates from)."""
    df = _summary_rows()
    text, summary = bench_gap.tables(df)
    lines = text.splitlines()
    # columns: all generated, covariate (with clean), label shift alone, label+covariate, stand-in; then all models
    assert "| Median-4 | 4.5 | 5.0 | 3.0 | 4.0 | 30.0 | **4.5** |" in lines
    assert "| Median-4 | 1.0 | 2.5 | 5.5 | 10.0 |" in lines  # binned by the true drop 2, 32, 12, 7, 22, 17
    assert "| Median-4 | 1.0 / +1.0 / 1.0 (1) | 4.0 / +0.7 / 6.2 (3) | 7.0 / +7.0 / 9.4 (2) | - |" in lines
    assert summary["Median-4"]["n_generated"] == 6
    md = tmp_path / "t.md"
    md.write_text(text + "\n")
    back = bench_gap.recorded_rows(md)
    assert back["Median-4"].tolist() == pytest.approx(df["Median-4"].tolist())


def test_estimator_columns_keep_agreement_and_drop_the_row_descriptions():
    """Agreement is no ``ESTIMATORS`` entry (it needs ensemble members): dropping its exception would leave it out
    of the tables and of ``measured_error.json``."""
    df = _summary_rows().assign(Agreement=0.8, **{"CC-Synth": 0.7})
    assert bench_gap.estimator_columns(df) == ["Median-4", "Agreement", "CC-Synth"]
