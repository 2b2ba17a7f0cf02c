"""``benchmarks/bench_bn_adapt.py``: its tables and the summary the report cites, on a tiny frame of rows."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_bn_adapt as bn  # noqa: E402



def _rows(forms=("trained", "adapted", "balanced")) -> pd.DataFrame:
    rows = []
    for model, base in (("a", 0.6), ("b", 0.8)):
        for name, kind, gain, balanced_gain in (("blur", "covariate", 0.2, 0.19), ("prior", "label", -0.04, 0.0),
                                                ("standin", "standin", 0.03, 0.03)):
            accs = {"trained": base, "adapted": base + gain, "balanced": base + balanced_gain,
                    "balanced3": base + balanced_gain + 0.01}
            offsets = {"trained": 0.05, "adapted": 0.01, "balanced": 0.02, "balanced3": 0.03}
            for statistics in forms:
                acc = accs[statistics]
                rows.append({"model": model, "set": name, "kind": kind, "statistics": statistics,
                             "true_acc": acc, **{e: acc + offsets[statistics] for e in bn.ESTIMATORS}})
    return pd.DataFrame(rows)


def test_the_accuracy_table_shows_each_models_change_and_the_mean_by_kind_for_each_form():
    table = bn.accuracy_table(_rows())
    assert "| blur | 60.0 -> 80.0 -> 79.0 | 80.0 -> 100.0 -> 99.0 | +20.0 | +19.0 |" in table
    assert "| prior | 60.0 -> 56.0 -> 60.0 | 80.0 -> 76.0 -> 80.0 | -4.0 | +0.0 |" in table
    assert "Mean change by kind of set, adapted (points): covariate +20.0, label -4.0, standin +3.0" in table
    assert table.endswith("Mean change by kind of set, balanced (points): covariate +19.0, label +0.0, standin +3.0")


def test_rows_saved_before_the_balanced_form_still_make_the_tables():
    rows = _rows(("trained", "adapted"))
    assert "| prior | 60.0 -> 56.0 | 80.0 -> 76.0 | -4.0 |" in bn.accuracy_table(rows)
    line = next(l for l in bn.error_table(rows).splitlines() if l.startswith("| ATC-NE |"))
    assert line == "| ATC-NE | 5.00 / 1.00 | 5.00 / 1.00 | 5.00 / 1.00 |"


def test_the_error_table_scores_each_estimator_against_the_logits_it_read():
    line = next(l for l in bn.error_table(_rows()).splitlines() if l.startswith("| Median-5-Spread |"))
    assert line == "| Median-5-Spread | 5.00 / 1.00 / 2.00 | 5.00 / 1.00 / 2.00 | 5.00 / 1.00 / 2.00 |"


def test_the_summary_has_what_the_advice_cites_for_the_shipped_form():
    s = bn.summary(_rows(bn.STATISTICS), "cmd")
    assert s["command"] == "cmd" and s["models"] == ["a", "b"] and s["sets"] == 3
    assert s["statistics"] == bn.SHIPPED == "balanced3"
    assert s["change_points"] == pytest.approx({"covariate": 20.0, "label": 1.0, "standin": 4.0})
    assert s["mae_points"]["adapted"]["ATC-NE"] == 3.0 and s["mae_points"]["trained"]["ATC-NE"] == 5.0
    unweighted = bn.summary(_rows(), "cmd", shipped="adapted")
    assert unweighted["change_points"] == pytest.approx({"covariate": 20.0, "label": -4.0, "standin": 3.0})
    assert unweighted["mae_points"]["trained"]["ATC-NE"] == 5.0
    assert unweighted["mae_points"]["adapted"]["ATC-NE"] == 1.0
    balanced = bn.summary(_rows(), "cmd", shipped="balanced")
    assert balanced["change_points"] == pytest.approx({"covariate": 19.0, "label": 0.0, "standin": 3.0})
    assert balanced["mae_points"]["adapted"]["ATC-NE"] == 2.0


def test_the_summary_is_written_only_from_the_benchmarks_sets(capsys):
    with pytest.raises(SystemExit) as done:
        bn.main(["--sets", "16", "--write"])
    assert done.value.code == 2 and "use it with --sets bench" in capsys.readouterr().err


def test_fresh_sets_are_the_changed_prior_sets_of_other_seeds_under_their_own_names():
    import bench_gap
    images, labels = np.zeros((2000, 32, 32, 3), np.uint8), np.arange(2000) % 10
    fresh = bn.fresh_prior_sets(images, labels, "fresh")
    assert [(n, k) for n, k, _ in fresh[:6]] == [
        ("longtail10@s1", "label"), ("dirichlet1@s1", "label"), ("dirichlet1-b@s1", "label"),
        ("blur-3+longtail10@s1", "both"), ("jpeg-3+dirichlet1@s1", "both"), ("mixed+longtail10@s1", "both")]
    assert [n for n, _, _ in fresh[6:]] == [n.replace("@s1", "@s2") for n, _, _ in fresh[:6]]
    seed0 = {n: b for n, _, b in bench_gap.shifted_sets(images, labels)}
    shares = [np.bincount(b()[1], minlength=10) for b in (seed0["dirichlet1"], fresh[1][2], fresh[7][2])]
    assert not np.array_equal(shares[0], shares[1]) and not np.array_equal(shares[1], shares[2])


def test_kinds_keep_only_those_sets_and_cannot_write_the_summary(capsys):
    import bench_gap
    images, labels = np.zeros((2000, 32, 32, 3), np.uint8), np.arange(2000) % 10
    sets = [*bench_gap.shifted_sets(images, labels), ("standin", "standin", None)]
    assert [(n, k) for n, k, _ in bn.of_kinds(sets, ("label", "both", "standin"))] == [
        ("longtail10", "label"), ("dirichlet1", "label"), ("dirichlet1-b", "label"), ("blur-3+longtail10", "both"),
        ("jpeg-3+dirichlet1", "both"), ("mixed+longtail10", "both"), ("standin", "standin")]
    assert bn.of_kinds(sets, None) == sets and {k for _, k, _ in sets} == set(bn.KINDS)
    with pytest.raises(SystemExit) as done:
        bn.main(["--kinds", "label", "--write"])
    assert done.value.code == 2 and "leave out --kinds" in capsys.readouterr().err


def test_check_20s_sets_are_label_only_and_share_no_prior_seed_with_earlier_sets():
    import bench_gap
    images, labels = np.zeros((2000, 32, 32, 3), np.uint8), np.arange(2000) % 10
    fresh = bn.fresh_prior_sets(images, labels, "fresh20")
    assert len(fresh) == 9 and {k for _, k, _ in fresh} == {"label"}
    # the images are all zero, so a set is its drawn labels: none of check 20's equals one of seeds 0-2's
    earlier = {tuple(b()[1]) for s in (0, 1, 2) for _, k, b in bench_gap.shifted_sets(images, labels, seed=s)
               if k == "label"}
    assert len(earlier) == 7   # seeds 0-2 give 9 label-only sets but only 7 distinct ones (check 19's flaw)
    assert not {tuple(b()[1]) for _, _, b in fresh} & earlier


def test_the_reference_table_scores_the_trained_rows_per_model_and_kind():
    rows = _rows(("trained", "balanced3"))
    trained = rows["statistics"] == "trained"
    below = np.where(rows.loc[trained, "model"] == "a", 0.02, 0.04)
    rows.loc[trained, "Ref-EM"] = rows.loc[trained, "true_acc"] - below
    rows["Ref-Avg"] = (rows["Ref-EM"] + rows["Median-5-Spread"]) / 2
    rows["COT-Gated"] = rows["Median-5-Spread"]
    rows["Ref-Avg-Shrunk"] = rows["Ref-Avg"]
    rows["Ref-Prior"] = rows["Ref-EM"]
    rows["Ref-Mix"] = rows["Ref-EM"].where(rows["set"] != "blur", rows["COTT"])
    rows["Ref-Split"] = rows["Ref-EM"]
    rows["Ref-Blend"] = rows["Ref-Avg"]
    rows["Ref-Sep"] = rows["Ref-EM"]
    rows["Ref-Hedge"] = rows["Ref-Avg"]
    rows["Ref-Parts"] = rows["Ref-EM"]
    rows["Ref-Doubt"] = rows["Ref-Avg"]
    lines = bn.reference_table(rows).splitlines()
    assert lines[0] == ("| trained accuracy, rows | Median-5-Spread | Ref-EM | Ref-Avg | COT-Gated | Ref-Avg-Shrunk "
                        "| Ref-Prior | Ref-Mix | Ref-Split | Ref-Blend | Ref-Sep | Ref-Hedge | Ref-Parts | Ref-Doubt |")
    assert ("| model a, 3 | 5.00 | 2.00 | 1.50 | 5.00 | 1.50 | 2.00 | 3.00 | 2.00 | 1.50 | 2.00 | 1.50 | 2.00 | 1.50 |"
            in lines)
    assert ("| model b, 3 | 5.00 | 4.00 | 0.50 | 5.00 | 0.50 | 4.00 | 4.33 | 4.00 | 0.50 | 4.00 | 0.50 | 4.00 | 0.50 |"
            in lines)
    assert ("| kind label, 2 | 5.00 | 3.00 | 1.00 | 5.00 | 1.00 | 3.00 | 3.00 | 3.00 | 1.00 | 3.00 | 1.00 | 3.00 "
            "| 1.00 |" in lines)
    assert lines[-1] == ("| all, 6 | 5.00 | 3.00 | 1.00 | 5.00 | 1.00 | 3.00 | 3.67 | 3.00 | 1.00 | 3.00 | 1.00 | 3.00 "
                         "| 1.00 |")
    assert bn.reference_table(_rows()) == ""   # rows without the reference: no table


def test_only_the_asked_forms_are_computed(monkeypatch):
    made = []
    monkeypatch.setattr(bn.bench_gap, "cached_logits",
                        lambda model_name, model, set_name, build, **kw: made.append(set_name) or (None, None))
    out = bn.variant_logits("m", None, "blur-2", None, np.full(10, 0.1), ("trained", "balanced3"))
    assert list(out) == ["trained", "balanced3"] and made == ["blur-2", "blur-2+adapt_bn_balanced3"]


def test_the_summary_needs_the_shipped_form(capsys):
    with pytest.raises(SystemExit) as done:
        bn.main(["--forms", "adapted", "--write"])
    assert done.value.code == 2 and "keep it among --forms" in capsys.readouterr().err


def test_write_gives_the_reference_estimators_their_measured_error_entries_and_keeps_the_others(tmp_path):
    rows = _rows(("trained", "balanced3"))
    rows["holdout_acc"] = rows["true_acc"] + 0.1
    trained = rows["statistics"] == "trained"
    rows.loc[trained, "Ref-EM"] = rows.loc[trained, "true_acc"] + 0.02
    rows.loc[trained, "Ref-Avg"] = rows.loc[trained, "true_acc"] + 0.035
    with_priors = trained & (rows["kind"] == "label")  # closer where the class mix changed, as it measured
    rows.loc[with_priors, "Ref-Avg"] = rows.loc[with_priors, "true_acc"] + 0.015
    rows.loc[trained, "COT-Gated"] = rows.loc[trained, "Median-5-Spread"].where(~with_priors, rows["Ref-Avg"])
    rows.loc[trained, "Ref-Avg-Shrunk"] = rows.loc[trained, "true_acc"] + 0.01
    rows.loc[trained, "Ref-Prior"] = rows.loc[trained, "Ref-Avg-Shrunk"].where(~with_priors, rows["Ref-EM"])
    rows.loc[trained, "Ref-Mix"] = rows.loc[trained, "Ref-Prior"]
    rows.loc[trained, "Ref-Split"] = rows.loc[trained, "Ref-Prior"]
    rows.loc[trained, "Ref-Blend"] = rows.loc[trained, "Ref-Prior"]
    rows.loc[trained, "Ref-Sep"] = rows.loc[trained, "Ref-Prior"]
    rows.loc[trained, "Ref-Hedge"] = rows.loc[trained, "Ref-Prior"]
    rows.loc[trained, "Ref-Parts"] = rows.loc[trained, "Ref-Prior"]
    rows.loc[trained, "Ref-Doubt"] = rows.loc[trained, "Ref-Avg-Shrunk"]
    path = tmp_path / "measured_error.json"
    path.write_text(json.dumps({"estimators": {"AC": {"mae_all_generated": 0.1}}, "n_sets": 23,
                                "models": {"a": 0.6, "b": 0.8, "c": 0.9}}))
    written = bn.add_reference_to_measured_error(rows, "bench_bn_adapt.py --models a b", path)
    assert written == ["Ref-EM", "Ref-Avg", "COT-Gated", "Ref-Avg-Shrunk", "Ref-Prior", "Ref-Mix", "Ref-Split",
                       "Ref-Blend", "Ref-Sep", "Ref-Hedge", "Ref-Parts", "Ref-Doubt"]
    payload = json.loads(path.read_text())
    assert payload["estimators"]["AC"] == {"mae_all_generated": 0.1} and payload["n_sets"] == 23
    assert payload["models"] == {"a": 0.6, "b": 0.8, "c": 0.9}
    ref = payload["estimators"]["Ref-Avg"]
    # the trained rows only: 2 models x 2 generated sets, the stand-in apart
    assert ref["n_generated"] == 4 and ref["mae_all_generated"] == pytest.approx(0.025)
    assert ref["mae_covariate"] == pytest.approx(0.035) and ref["mae_label_shift"] == pytest.approx(0.015)
    assert ref["mae_standin"] == pytest.approx(0.035) and ref["by_predicted_drop"]["5-15"]["n"] == 4
    assert payload["estimators"]["Ref-EM"]["mae_all_generated"] == pytest.approx(0.02)
    assert payload["derived"]["Ref-Avg"].startswith(
        "measured by `bench_bn_adapt.py --models a b` on a and b (4 generated model-sets; not on c; Median-5-Spread "
        "5.00 points MAE on the same, on their image shifts alone 5.00 against Ref-Avg's 3.50)")
    assert payload["derived"]["Ref-Avg"].endswith(", with the BatchNorm copy `predict` writes as the reference")
    assert not any("pre-registered" in note for note in payload["derived"].values())  # HELD_OUT's, not the file's
    gated = payload["estimators"]["COT-Gated"]  # Median-5-Spread's 5 points on image shifts, Ref-Avg's 1.5 elsewhere
    assert gated["mae_covariate"] == pytest.approx(0.05) and gated["mae_label_shift"] == pytest.approx(0.015)
    assert payload["derived"]["COT-Gated"] == (
        "measured on the same model-sets as Ref-Avg (the line above); Median-5-Spread on their image shifts alone "
        "5.00 against COT-Gated's 5.00; recommended after check 26 and behind Ref-Avg on checks 26 to 29 (the line "
        "above)")
    assert payload["estimators"]["Ref-Avg-Shrunk"]["mae_all_generated"] == pytest.approx(0.01)
    assert payload["derived"]["Ref-Avg-Shrunk"] == (
        "Ref-Avg lowered by 0.05 of the drop it predicts, the share fitted on these model-sets (the Ref-Avg line); "
        "Median-5-Spread on their image shifts alone 5.00 against Ref-Avg-Shrunk's 1.00")
    prior = payload["estimators"]["Ref-Prior"]  # Ref-EM's 2 points where the class mix changed, else 1
    assert prior["mae_covariate"] == pytest.approx(0.01) and prior["mae_label_shift"] == pytest.approx(0.02)
    assert payload["derived"]["Ref-Prior"] == (
        "Ref-EM where COT on the reference moves by more than 8 points with EM's priors, else Ref-Avg-Shrunk, on the "
        "same model-sets; Median-5-Spread on their image shifts alone 5.00 against Ref-Prior's 1.00; it quotes "
        "Ref-Avg-Shrunk's range")
    assert payload["estimators"]["Ref-Doubt"]["mae_all_generated"] == pytest.approx(0.01)
    assert payload["derived"]["Ref-Doubt"] == (
        "Ref-Parts, but COTT where Ref-Prior's tell opens, the hedged Ref-Prior's drop leaves Ref-Hedge's gate shut "
        "and COTT's opens it, on the same model-sets; Median-5-Spread on their image shifts alone 5.00 against "
        "Ref-Doubt's 1.00; it quotes Ref-Avg-Shrunk's range")


def _saved(tmp_path, rows: pd.DataFrame, **files) -> list[str]:
    """``rows`` (of --sets bench) saved as the models' ``files`` (name -> models), as two processes would."""
    rows = rows.assign(sets="bench")
    paths = []
    for name, models in files.items():
        path = tmp_path / f"{name}.csv"
        rows[rows["model"].isin(models)].to_csv(path, index=False)
        paths.append(str(path))
    return paths


def test_rows_saved_by_two_runs_read_back_as_one_runs_in_the_models_order(tmp_path):
    rows = _rows(("trained", "balanced3")).assign(sets="bench")
    paths = _saved(tmp_path, rows, second=["b"], first=["a"])
    back = bn.saved_rows(paths, "bench", ["a", "b"], ("trained", "balanced3"), every_set=["blur", "prior", "standin"])
    pd.testing.assert_frame_equal(back, rows, check_dtype=False)
    assert list(dict.fromkeys(bn.saved_rows(paths, "bench")["model"])) == ["b", "a"]  # as met, without --models
    only = bn.saved_rows(paths, "bench", ["a"], ("trained",), kinds=("label",))
    assert set(only["model"]) == {"a"} and set(only["set"]) == {"prior"} and set(only["statistics"]) == {"trained"}


@pytest.mark.parametrize("spoil, words", [
    (lambda r: r.assign(sets="44"), "rows of --sets 44, not of bench"),
    (lambda r: r[r["model"] == "a"], "no rows of b"),
    (lambda r: pd.concat([r, r.iloc[:1]]), "a model-set's rows appear twice"),
    (lambda r: r[~((r["model"] == "b") & (r["set"] == "prior"))], "the rows of b lack the sets prior"),
    (lambda r: r[~((r["model"] == "b") & (r["set"] == "prior") & (r["statistics"] == "balanced3"))],
     "the rows of b lack a form (trained, balanced3) on some set"),
    (lambda r: r.drop(columns="true_acc"), "no column true_acc"),
    (lambda r: r.assign(statistics="adapted"), "no rows of the forms trained, balanced3"),
])
def test_saved_rows_that_do_not_make_one_run_are_refused_naming_what_is_wrong(tmp_path, spoil, words):
    path = tmp_path / "rows.csv"
    spoil(_rows(("trained", "balanced3")).assign(sets="bench")).to_csv(path, index=False)
    with pytest.raises(bn.heldout_table.RowsError, match=re.escape(words)):
        bn.saved_rows([str(path)], "bench", ["a", "b"], ("trained", "balanced3"))


def test_written_from_saved_rows_the_summary_must_have_every_set_of_the_benchmark(tmp_path, monkeypatch):
    written = {}
    monkeypatch.setattr(bn, "load_cifar10", lambda path: None)
    monkeypatch.setattr(bn, "group_sets", lambda data, group: ([(n, "k", None) for n in ("blur", "prior", "standin",
                                                                                       "jpeg")], None))
    monkeypatch.setattr(bn, "MEASURED", tmp_path / "measured_bn_adapt.json")
    monkeypatch.setattr(bn, "add_reference_to_measured_error",
                        lambda df, command: written.update(command=command) or ["Ref-EM"])
    rows = _rows(("trained", "balanced3"))
    rows["model"] = rows["model"].map({"a": "weak_cnn", "b": "resnet9q"})  # --models takes the benchmark's names
    paths = _saved(tmp_path, rows, first=["weak_cnn"], second=["resnet9q"])
    with pytest.raises(bn.heldout_table.RowsError, match="the rows of weak_cnn lack the sets jpeg"):
        bn.main(["--from-rows", *paths, "--forms", "balanced3", "--write"])
    assert not (tmp_path / "measured_bn_adapt.json").exists() and not written
    monkeypatch.setattr(bn, "group_sets", lambda data, group: ([(n, "k", None) for n in ("blur", "prior", "standin")],
                                                               None))
    assert bn.main(["--from-rows", *paths, "--models", "resnet9q", "weak_cnn", "--forms", "balanced3",
                    "--write"]) == 0
    summary = json.loads((tmp_path / "measured_bn_adapt.json").read_text())
    assert summary["models"] == ["resnet9q", "weak_cnn"] and summary["sets"] == 3
    assert written["command"] == summary["command"] == "benchmarks/bench_bn_adapt.py --models resnet9q weak_cnn"

