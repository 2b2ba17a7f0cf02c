"""``benchmarks/bench_gap_novel.py``: check 4's support share, check 5's spread columns and band coverage, the
recorded rows and the unseen-family summary, on tiny frames."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_gap  # noqa: E402
import bench_gap_novel as novel  # noqa: E402


def test_outside_support_share_is_small_for_a_pool_sample_and_one_beyond_it():
    rng = np.random.default_rng(0)
    pool = rng.normal(size=(20_000, 3))
    assert novel.outside_support_share(pool, rng.normal(size=(5_000, 3))) == pytest.approx(0.03, abs=0.01)
    assert novel.outside_support_share(pool, rng.normal(size=(100, 3)) + [0, 0, 10]) == 1.0


def test_unseen_summary_scores_toolkit_estimators_on_the_held_out_sets_only():
    import pandas as pd

    rows = [{"model": "m", "set": s, "kind": "covariate", "true_acc": 0.5, "Median-4": 0.5 + e, "Support-Gated": 0.9}
            for s, e in (("clean", 0.3), ("fog-2", 0.02), ("fog-4", -0.04))]
    out = novel.unseen_summary(pd.DataFrame(rows))
    assert out["n_sets"] == 2 and out["models"] == {"m": 0.5} and out["families"] == ["fog"]
    assert out["estimators"]["Median-4"]["mae"] == pytest.approx(0.03)  # the clean reference is not scored
    assert "Support-Gated" not in out["estimators"]  # check 4's candidate is not a toolkit estimator


def _rows(sets=(("clean", 0.0), ("fog-2", 0.02), ("fog-4", 0.12))):
    """Median-4 and Median-5 over-estimate by ``e``; the members spread by 1.5 ``e`` (ATC-NE-EM highest, CC-Synth
    lowest)."""
    import pandas as pd

    return pd.DataFrame([{"model": "m", "set": s, "kind": "covariate", "holdout_acc": 0.8, "true_acc": 0.5,
                          "Median-4": 0.5 + e, "Median-5": 0.5 + e, "Shift-Gated": 0.5 + e, "CC-Synth": 0.5 + e / 2,
                          "ATC-NE-EM": 0.5 + 2 * e, "COTT": 0.1} for s, e in sets])


def test_median_4_spread_lowers_the_median_by_a_fifth_of_three_members_range_and_ignores_cott():
    out = novel.with_spread(_rows())
    np.testing.assert_allclose(out["S3"], [0.0, 0.03, 0.18])  # COTT at 0.1 would have widened every range
    np.testing.assert_allclose(out["Median-4-Spread"], out["Median-4"] - 0.2 * out["S3"])


def test_the_spread_band_widens_downwards_only_and_only_with_disagreement():
    out = novel.with_spread(_rows())
    assert (out["band_center"] == out["Median-5"]).all()  # the report's range is Median-5's
    assert (out["band_low_spread"] <= out["band_center"] - out["band_p90"] + 1e-12).all()
    clean = out[out["set"] == "clean"].iloc[0]
    assert clean["band_low_spread"] == pytest.approx(clean["band_center"] - clean["band_p90"])
    cov = novel.band_coverage(out[out["set"] != "clean"])
    # fog-4 is 12 points too high: outside the symmetric band (p90 about 5), inside the spread band (S3 = 18)
    assert cov.loc["all", "cover_spread"] == 1.0 and cov.loc["all", "cover_symmetric"] == 0.5
    assert cov.loc["all", "halfwidth_spread"] > cov.loc["all", "halfwidth_symmetric"]
    # check 5 measured Median-4's band: asked for, it is centred on Median-4 with Median-4's p90
    four = novel.with_spread(_rows().assign(**{"Median-4": 0.4}), "Median-4")
    assert (four["band_center"] == 0.4).all() and (four["band_p90"] > 0).all()


def test_recorded_rows_rebuild_estimates_from_the_per_set_table(tmp_path):
    md = tmp_path / "r.md"
    md.write_text("## Per set: signed\n\n| model | set | kind | n | true acc | Median-4 | COTT |\n"
                  "|---|---|---|---|---|---|---|\n"
                  "| w | blur-2 | covariate | 10000 | 45.6 | +0.9 | -0.7 |\n"
                  "| w | clean | clean | 10000 | 67.0 | -0.0 | -0.3 |\n")
    df = bench_gap.recorded_rows(md)
    assert df["true_acc"].tolist() == pytest.approx([0.456, 0.67])
    assert df["Median-4"].tolist() == pytest.approx([0.465, 0.67]) and df["COTT"].iloc[0] == pytest.approx(0.449)


def test_the_recorded_benchmark_rows_parse_to_five_models_of_twenty_four_sets():
    df = bench_gap.recorded_rows()
    assert len(df) == 120 and df["model"].nunique() == 5
    assert {"Median-4", "Shift-Gated", "CC-Synth", "ATC-NE-EM"} <= set(df.columns)


def test_check5_renders_both_verdicts_with_the_rule_thresholds():
    out = novel.with_spread(_rows())
    text = novel.check5(out, bench_gap.recorded_rows())
    assert "Check 5a" in text and "Check 5b" in text and "-0.20" in text and "85%" in text
    assert "| fog-4 |" in text and "| clean |" not in text


def test_a_re_render_without_every_checks_saved_rows_leaves_the_shipped_summary_alone(tmp_path, monkeypatch):
    """On a clone without the git-ignored cache, ``--rows`` wrote the tables and then stopped with a traceback ("No
    objects to concatenate"); with one check's rows alone the shipped summary would shrink to that check."""
    rows = tmp_path / "rows.csv"
    _rows().assign(n=1000).to_csv(rows, index=False)
    monkeypatch.setattr(novel, "OUT", {c: tmp_path / f"o{c}.md" for c in (4, 5, 15)})
    monkeypatch.setattr(novel, "ROWS", {c: tmp_path / f"r{c}.csv" for c in (4, 5, 15)})
    monkeypatch.setattr(novel, "MEASURED_JSON", tmp_path / "measured.json")
    novel.ROWS[5].write_bytes(rows.read_bytes())
    assert novel.main(["--check", "5", "--rows", str(rows)]) == 0
    assert (tmp_path / "o5.md").is_file() and not (tmp_path / "measured.json").exists()
    novel.ROWS[4].write_bytes(rows.read_bytes())
    assert novel.main(["--check", "5", "--rows", str(rows)]) == 0
    assert not (tmp_path / "measured.json").exists()  # check 15's rows still missing
    novel.ROWS[15].write_bytes(rows.read_bytes())
    assert novel.main(["--check", "5", "--rows", str(rows)]) == 0
    assert (tmp_path / "measured.json").is_file()


def test_band_coverage_counts_each_models_rows_against_both_ends_of_each_band():
    """Dropping the spread band's upper end, one model scored on every model's rows, or a half-width off by a factor
    of two would change these shares and widths (m: 2 rows, k: 2 rows; band_p90 and the Spread band's low end given)."""
    import pandas as pd

    df = pd.DataFrame({"model": ["m", "m", "k", "k"], "true_acc": [0.56, 0.52, 0.75, 0.69],
                       "band_center": [0.60, 0.60, 0.70, 0.70], "band_p90": [0.05, 0.05, 0.04, 0.04],
                       "band_low_spread": [0.50, 0.50, 0.60, 0.66]})
    cov = novel.band_coverage(df)
    # k's 0.75 lies above 0.70 + 0.04: outside both bands; m's 0.52 lies below 0.55 but above the Spread band's 0.50
    assert cov.loc["m"].tolist() == pytest.approx([0.5, 1.0, 5.0, 7.5])
    assert cov.loc["k"].tolist() == pytest.approx([0.5, 0.5, 4.0, (7.0 + 4.0) / 2])
    assert cov.loc["all"].tolist() == pytest.approx([0.5, 0.75, 4.5, 6.5])


def test_unseen_summary_quotes_the_p90_and_the_range_coverage_of_the_held_out_sets():
    """A p90 at another quantile, the coverages swapped, or the clean reference counted in the coverage would show."""
    out = novel.unseen_summary(_rows())
    assert out["estimators"]["Median-4"]["p90"] == pytest.approx(0.02 + 0.9 * 0.10)  # errors 2 and 12 points
    assert out["range_coverage"] == pytest.approx({"spread": 1.0, "symmetric": 0.5, "n": 2})


def test_check5_scores_each_model_and_signs_the_difference_as_spread_minus_median():
    """Median-4-Spread misses by 1.4 and 8.4 points, Median-4 by 2 and 12, CC-Synth by 1 and 6, COTT by 40: grouping
    by set instead of model, or the difference signed the other way, would show."""
    text = novel.check5(novel.with_spread(_rows()), bench_gap.recorded_rows())
    assert "| m | 4.90 | 7.00 | 40.00 | 7.00 | 3.50 |" in text.splitlines()
    assert "Median-4-Spread minus Median-4 on the held-out sets: -2.10 points" in text


def test_check15_scores_rule_15b_per_model_and_signs_the_difference_as_median_5_minus_median_4():
    """Median-5-Spread misses by 1 and 3 points, Median-4-Spread by 2 and 6: the rule's line and the per-model row."""
    import pandas as pd

    rows = pd.DataFrame([{"model": "m", "set": s, "true_acc": 0.5, "Median-5-Spread": 0.5 + a,
                          "Median-4-Spread": 0.5 + b, "Median-5": 0.5, "Median-4": 0.5, "NucNorm": 0.5,
                          "CC-Synth": 0.5} for s, a, b in (("clean", 0.3, 0.3), ("vignette-2", 0.01, -0.02),
                                                           ("vignette-4", 0.03, 0.06))])
    text = novel.VERDICTS[15](rows)
    assert "Check 15b on the 2 held-out sets x 1 models (2 model-sets)" in text
    assert "| m | 2.00 | 4.00 | 0.00 | 0.00 | 0.00 | 0.00 |" in text.splitlines()
    assert "Median-5-Spread minus Median-4-Spread: -2.00 points" in text
    assert set(novel.VERDICTS) == set(novel.OUT) == set(novel.ROWS)


def test_check16_applies_both_rules_as_written_and_scores_each_family():
    """Median-5-Spread 7 points off against Median-4-Spread's 4.9 (recomputed: Median-4 - 0.2 x S3): 16a undoes it;
    both ranges cover both sets, so A gains nothing and 16b keeps the shipped one. Estimates at the truth hold 16a."""
    rows = _rows().assign(**{"Median-5-Spread": lambda d: d["Median-5"], "NucNorm": 0.5})
    text = novel.VERDICTS[16](rows)
    assert "Rule 16a: Median-5-Spread minus Median-4-Spread +2.10 points (undone above +0.20): **fails" in text
    assert "Rule 16b: A covers 100.0%, +0.0 points against the shipped range (needs 85% and +5): **fails" in text
    assert "| shipped | 100.0% | 0.0% | 0.0% |" in text and "| fog | +7.0 | +4.9 | 100% | 100% |" in text
    assert "**holds, Median-5-Spread stays**" in novel.VERDICTS[16](rows.assign(**{"Median-5-Spread": 0.5}))
