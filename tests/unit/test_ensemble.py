import json

import numpy as np
import pytest
from scipy.special import softmax

from kaggle_kit.calibration import fit_temperature, nll
from kaggle_kit.ensemble import METHODS, combine, ensemble_runs, fit_weights, member_log_probs
from kaggle_kit.errors import RunError, SubmissionError
from kaggle_kit.predict import submission_from_run
from kaggle_kit.runs import REFERENCE_FILE, Logits, load_logits, save_logits, write_manifest
from kaggle_kit.submission import check_submission

HOLD = np.arange(0, 2000, 5, dtype=np.int64)   # 400 holdout indices
TEST = np.arange(300, dtype=np.int64)
COMP = np.arange(1000, 1250, dtype=np.int64)[::-1].copy()
rng0 = np.random.default_rng(123)
HOLD_Y = rng0.integers(0, 10, len(HOLD))
TEST_Y = rng0.integers(0, 10, len(TEST))


def fake_logits(labels: np.ndarray, signal: float, rng, scale: float) -> np.ndarray:
    z = rng.normal(size=(len(labels), 10)) + signal * np.eye(10)[labels]
    return (z * scale).astype(np.float32)


def make_run(folder, signal=2.0, seed=0, scale=1.0, hold=HOLD, test=TEST, comp=COMP, comp_complete=True):
    """A run folder as predict leaves it, with synthetic logits of a chosen quality and confidence."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    np.save(folder / "holdout_indices.npy", hold)
    hold_lg = fake_logits(HOLD_Y, signal, rng, scale)
    t = fit_temperature(hold_lg, HOLD_Y)   # as predict_run does
    save_logits(folder / "logits_holdout.npz", Logits(hold, hold_lg, HOLD_Y, "flip", t))
    save_logits(folder / "logits_test.npz", Logits(test, fake_logits(TEST_Y, signal, rng, scale), TEST_Y, "flip", t))
    comp_y = np.random.default_rng(99).integers(0, 10, len(comp))
    save_logits(folder / "logits_comp.npz", Logits(comp, fake_logits(comp_y, signal, rng, scale), None, "flip", t))
    write_manifest(folder, "predict", extra={"comp_complete": comp_complete, "comp_subset": None})
    return folder


def calibrated(path) -> np.ndarray:
    lg = load_logits(path)
    return softmax(lg.logits.astype(np.float64) / lg.temperature, axis=1)


@pytest.mark.parametrize("method", METHODS)
def test_ensemble_of_one_run_equals_that_run(tmp_path, method):
    run = make_run(tmp_path / "runs" / "a", signal=1.5, scale=2.0)
    out = ensemble_runs([run], method, "solo", out_root=tmp_path / "ens")
    for split in ("holdout", "test", "comp"):
        mine, theirs = load_logits(out / f"logits_{split}.npz"), load_logits(run / f"logits_{split}.npz")
        assert np.array_equal(mine.ids, theirs.ids)
        assert np.array_equal(mine.logits.argmax(1), theirs.logits.argmax(1))
        if method != "vote":  # vote shares of one member are one-hot by design
            np.testing.assert_allclose(calibrated(out / f"logits_{split}.npz"),
                                       calibrated(run / f"logits_{split}.npz"), atol=2e-3)
    summary = json.loads((out / "ensemble.json").read_text())
    assert summary["ensemble"]["test"]["acc"] == summary["members"][0]["test"]["acc"]
    assert summary["members"][0]["weight"] == 1.0


def test_weighted_weights_are_a_simplex_and_never_worse_than_best_member(tmp_path):
    runs = [make_run(tmp_path / name, signal=s, seed=i, scale=sc)
            for i, (name, s, sc) in enumerate([("good", 2.5, 3.0), ("ok", 1.5, 0.5), ("noise", 0.0, 1.0)])]
    out = ensemble_runs(runs, "weighted", "w", out_root=tmp_path / "ens")
    summary = json.loads((out / "ensemble.json").read_text())
    w = np.array([m["weight"] for m in summary["members"]])
    assert np.all(w >= 0) and abs(w.sum() - 1) < 1e-9
    assert w[2] < 0.05   # the pure-noise member earns (almost) nothing
    best_member = min(m["holdout"]["nll_calibrated"] for m in summary["members"])
    assert summary["ensemble"]["holdout"]["nll_calibrated"] <= best_member + 1e-9


def test_fit_weights_matches_best_single_member_when_others_are_useless():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 500)
    good = Logits(np.arange(500), fake_logits(y, 3.0, rng, 1.0), y, "none")
    lp = np.stack([member_log_probs(good), np.full((500, 10), np.log(0.1)),
                   member_log_probs(Logits(np.arange(500), fake_logits(y, -2.0, rng, 2.0), y, "none"))])
    w = fit_weights(lp, y)
    assert np.all(w >= 0) and abs(w.sum() - 1) < 1e-9
    mix = -np.log(np.exp(lp[:, np.arange(500), y]).T @ w).mean()
    assert mix <= nll(good.logits, y) + 1e-9


def test_vote_majority_wins_and_ties_go_to_mean_probability():
    # members' log-probabilities for one image: two weakly vote class 0, one strongly votes class 1
    lp = np.log(np.array([[[0.40, 0.35, 0.25]], [[0.40, 0.35, 0.25]], [[0.01, 0.98, 0.01]]]))
    assert combine(lp, "vote").argmax(1)[0] == 0
    assert combine(lp, "mean_probs").argmax(1)[0] == 1   # the vote really differs from averaging here
    tie = np.log(np.array([[[0.45, 0.55, 0.0001]], [[0.9, 0.05, 0.05]]]))
    assert combine(tie, "vote").argmax(1)[0] == 0       # 1 vote each; class 0 has the higher mean prob
    assert np.allclose(np.exp(combine(tie, "vote")).sum(1), 1.0)


def test_mismatched_test_ids_are_refused_naming_the_position(tmp_path):
    a = make_run(tmp_path / "A")
    swapped = TEST.copy()
    swapped[[17, 18]] = swapped[[18, 17]]
    b = make_run(tmp_path / "B", test=swapped)
    with pytest.raises(RunError, match="B test ids differ from A at position 17: id 18 vs 17"):
        ensemble_runs([a, b], "mean_probs", "x", out_root=tmp_path / "ens")


def test_different_holdout_split_is_refused(tmp_path):
    a = make_run(tmp_path / "A")
    other = HOLD.copy()
    other[3] += 1
    b = make_run(tmp_path / "B", hold=other)
    with pytest.raises(RunError, match=r"B holdout differs from A at position 3: index 16 vs 15"):
        ensemble_runs([a, b], "vote", "x", out_root=tmp_path / "ens")
    c = make_run(tmp_path / "C", comp=COMP[:100])
    with pytest.raises(RunError, match="C has 100 comp ids, A has 250"):
        ensemble_runs([a, c], "vote", "x", out_root=tmp_path / "ens")


def test_submission_from_ensemble_and_refusal_of_partial_comp(tmp_path):
    runs = [make_run(tmp_path / f"r{i}", seed=i) for i in range(2)]
    out = ensemble_runs(runs, "mean_logits", "pair", out_root=tmp_path / "ens")
    csv = submission_from_run(out, tmp_path / "sub.csv")
    check_submission(csv, COMP)
    with pytest.raises(SubmissionError, match="exists"):
        submission_from_run(out, tmp_path / "sub.csv")
    partial = make_run(tmp_path / "partial", comp_complete=False)
    with pytest.raises(SubmissionError, match="cover 250 images only"):
        submission_from_run(partial, tmp_path / "sub2.csv")


def test_cli_prints_member_and_ensemble_accuracy_and_refuses_mismatch(tmp_path, capsys):
    from kaggle_kit.cli import main

    a, b = make_run(tmp_path / "A"), make_run(tmp_path / "B", seed=1)
    assert main(["ensemble", str(a), str(b), "--name", "ab", "--method", "vote",
                 "--out-root", str(tmp_path / "ens")]) == 0
    out = capsys.readouterr().out
    assert "ensemble (vote)" in out and "A " in out and "B " in out and "%" in out
    other = HOLD.copy()
    other[0] = 1
    c = make_run(tmp_path / "C", hold=other)
    assert main(["ensemble", str(a), str(c), "--name", "ac", "--out-root", str(tmp_path / "ens")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: C holdout differs from A at position 0: index 1 vs 0")


def test_a_member_named_twice_or_the_ensemble_itself_is_refused(tmp_path):
    from kaggle_kit.errors import ConfigError

    a, b = make_run(tmp_path / "A"), make_run(tmp_path / "B", seed=1)
    with pytest.raises(ConfigError, match=r"listed twice .* name each member once"):
        ensemble_runs([a, tmp_path / "B", tmp_path / "A" / "."], "mean_probs", "x", out_root=tmp_path / "ens")
    first = ensemble_runs([a, b], "mean_probs", "x", out_root=tmp_path / "ens")
    with pytest.raises(ConfigError, match=r"an ensemble cannot be its own member"):
        ensemble_runs([a, first], "mean_probs", "x", out_root=tmp_path / "ens")
    assert [m["name"] for m in json.loads((first / "ensemble.json").read_text())["members"]] == ["A", "B"]


def test_an_existing_ensemble_of_other_members_is_not_overwritten_but_a_rerun_is(tmp_path):
    from kaggle_kit.errors import ConfigError

    a, b, c = (make_run(tmp_path / n, seed=i) for i, n in enumerate("ABC"))
    out = ensemble_runs([a, b], "mean_probs", "x", out_root=tmp_path / "ens")
    before = (out / "ensemble.json").read_text()
    with pytest.raises(ConfigError, match=r"ens/x already holds an ensemble of other members; give another --name"):
        ensemble_runs([a, c], "mean_probs", "x", out_root=tmp_path / "ens")
    assert (out / "ensemble.json").read_text() == before
    assert ensemble_runs([b, a], "vote", "x", out_root=tmp_path / "ens") == out  # the same members: a rerun
    # the pipeline names its ensembles by a key of their inputs, so it may replace what is there
    assert ensemble_runs([a, c], "mean_probs", "x", out_root=tmp_path / "ens", replace=True) == out


def test_members_whose_labels_differ_on_the_same_images_are_refused(tmp_path):
    a = make_run(tmp_path / "A")
    b = make_run(tmp_path / "B", seed=1)
    z = np.load(b / "logits_holdout.npz")
    labels = z["labels"].copy()
    labels[5] = (labels[5] + 1) % 10
    save_logits(b / "logits_holdout.npz", Logits(z["ids"], z["logits"], labels, "flip", float(z["temperature"])))
    with pytest.raises(RunError, match=r"B holdout labels differ from A at position 5"):
        ensemble_runs([a, b], "weighted", "x", out_root=tmp_path / "ens")


def test_a_member_with_an_unreadable_manifest_is_refused_naming_it(tmp_path):
    a, b = make_run(tmp_path / "A"), make_run(tmp_path / "B", seed=1)
    (b / "manifest_predict.json").write_text("{bad")
    with pytest.raises(RunError, match=r"B/manifest_predict.json: not readable JSON; re-run `kaggle-kit predict`"):
        ensemble_runs([a, b], "mean_probs", "x", out_root=tmp_path / "ens")
    assert not (tmp_path / "ens").exists()


def test_a_run_already_inside_an_ensemble_member_is_refused(tmp_path):
    """E(A, B) with A again would give A two shares of the mean without a word: the same run twice."""
    from kaggle_kit.errors import ConfigError

    a, b, c = (make_run(tmp_path / "runs" / n, seed=i) for i, n in enumerate("ABC"))
    inner = ensemble_runs([a, b], "mean_probs", "ab", out_root=tmp_path / "ens")
    with pytest.raises(ConfigError, match=r"run A is in both \S*ens/ab and \S*runs/A; name each run once"):
        ensemble_runs([inner, a], "mean_probs", "ab_a", out_root=tmp_path / "ens")
    outer = ensemble_runs([inner, c], "mean_probs", "abc", out_root=tmp_path / "ens")  # disjoint members are fine
    with pytest.raises(ConfigError, match=r"run A is in both \S*ens/abc and \S*ens/ab; name each run once"):
        ensemble_runs([outer, inner], "mean_probs", "nested", out_root=tmp_path / "ens")
    assert not (tmp_path / "ens" / "ab_a").exists() and not (tmp_path / "ens" / "nested").exists()


def test_a_rerun_killed_half_way_leaves_no_ensemble_that_can_be_submitted(tmp_path, monkeypatch):
    """A rerun killed after its first logits file would leave the new holdout logits beside the old comp logits,
    under the old ensemble.json and manifest that call them complete: submit --from would upload the mix."""
    import kaggle_kit.ensemble as ens_mod

    a, b = make_run(tmp_path / "A"), make_run(tmp_path / "B", seed=1)
    out = ensemble_runs([a, b], "mean_probs", "x", out_root=tmp_path / "ens")
    make_run(tmp_path / "B2", seed=7)  # B predicted again: other logits, same images
    for split in ("holdout", "test", "comp"):
        (tmp_path / "B2" / f"logits_{split}.npz").replace(b / f"logits_{split}.npz")
    real_save = ens_mod.save_logits

    def killed_after_first(path, logits):
        real_save(path, logits)
        raise KeyboardInterrupt

    monkeypatch.setattr(ens_mod, "save_logits", killed_after_first)
    with pytest.raises(KeyboardInterrupt):
        ensemble_runs([a, b], "mean_probs", "x", out_root=tmp_path / "ens")
    monkeypatch.undo()
    with pytest.raises(SubmissionError, match=r"ensemble that wrote them did not finish .*re-run the `kaggle-kit ensemble`"):
        submission_from_run(out, tmp_path / "sub.csv")
    assert not (tmp_path / "sub.csv").exists()
    assert ensemble_runs([a, b], "mean_probs", "x", out_root=tmp_path / "ens") == out  # the rerun completes it
    assert check_submission(submission_from_run(out, tmp_path / "sub.csv"), COMP) is None


def test_submission_rows_follow_the_pickle_order_whatever_the_logits_order(tmp_path):
    """Logits predicted from a copy of the pickle in another order hold the same ids: the CSV keeps each id's
    label but lists the rows in the pickle's order, as the submission format says."""
    run = make_run(tmp_path / "A", comp=COMP[::-1].copy())
    lg = load_logits(run / "logits_comp.npz")
    csv = submission_from_run(run, tmp_path / "s.csv", expected_ids=COMP)
    rows = [line.split(",") for line in csv.read_text().splitlines()[1:]]
    assert [int(i) for i, _ in rows] == COMP.tolist()
    label_of = dict(zip(lg.ids.tolist(), lg.logits.argmax(1).tolist()))
    assert all(int(label) == label_of[int(i)] for i, label in rows)


def test_an_interrupted_ensemble_is_refused_as_a_member(tmp_path):
    a, b, c = (make_run(tmp_path / n, seed=i) for i, n in enumerate("ABC"))
    inner = ensemble_runs([a, b], "mean_probs", "ab", out_root=tmp_path / "ens")
    for name in ("ensemble.json", "manifest_ensemble.json"):  # as a kill before its summary leaves it
        (inner / name).unlink()
    with pytest.raises(RunError, match=r"ens/ab: has logits but no manifest_ensemble.json, .* re-run the "
                                       r"`kaggle-kit ensemble` that made it"):
        ensemble_runs([inner, c], "mean_probs", "abc", out_root=tmp_path / "ens")
    assert not (tmp_path / "ens" / "abc").exists()


def test_members_predicted_from_two_pickles_with_the_same_ids_are_refused(tmp_path):
    """A re-released test pickle keeps its ids and order but not its images: the predict manifests' sha256 of
    the pickle tell them apart; an ensemble records its own, so an ensemble member is checked too."""
    old, new = tmp_path / "old.pkl", tmp_path / "new.pkl"
    old.write_bytes(b"images of the first release")
    new.write_bytes(b"images of the second release")

    def predicted_from(folder, pickle):
        run = make_run(folder)
        write_manifest(run, "predict", inputs={"comp_pickle": pickle},
                       extra={"comp_complete": True, "comp_subset": None})
        return run

    a, b, c = predicted_from(tmp_path / "A", old), predicted_from(tmp_path / "B", new), predicted_from(
        tmp_path / "C", old)
    with pytest.raises(RunError, match=r"B predicted another competition pickle than A \(sha256 [0-9a-f]{10} vs "
                                       r"[0-9a-f]{10}\), with the same ids but other images"):
        ensemble_runs([a, b], "mean_probs", "x", out_root=tmp_path / "ens")
    ac = ensemble_runs([a, c], "mean_probs", "ac", out_root=tmp_path / "ens")
    with pytest.raises(RunError, match="B predicted another competition pickle than ac"):
        ensemble_runs([ac, b], "mean_probs", "y", out_root=tmp_path / "ens")
    plain = make_run(tmp_path / "D")  # a manifest that names no pickle (older runs): nothing to compare
    ensemble_runs([a, plain], "mean_probs", "ad", out_root=tmp_path / "ens")


def test_an_ensemble_over_the_budget_in_all_says_so_and_names_one_member_to_submit(tmp_path):
    """Each member passes the 5M rule alone; three together hold 3x as many parameters, and a course reading the
    rule as covering the whole submission would refuse it: the user hears the total before uploading."""
    from kaggle_kit.models.counting import combined_parameters_note
    from kaggle_kit.upload import models_within

    def parameters_note(folder):
        from kaggle_kit.upload import parameters_note

        return parameters_note(models_within(folder))

    runs = [make_run(tmp_path / "runs" / n, seed=i) for i, n in enumerate("ABC")]
    for run, params in zip(runs, (4_893_566, 4_893_566, 1_000)):
        write_manifest(run, "train", metrics={"params": params})
    inner = ensemble_runs(runs[:2], "mean_probs", "ab", out_root=tmp_path / "ens")
    outer = ensemble_runs([inner, runs[2]], "mean_probs", "abc", out_root=tmp_path / "ens")
    note = parameters_note(outer)
    assert note.startswith("note: these predictions come from 3 models with 9,788,132 trainable parameters in all "
                           "(each at most 4,893,566, under the 5,000,000 budget); if the competition's limit covers "
                           "everything behind a submission, submit one model, e.g. `kaggle-kit submit --from ")
    assert note.endswith(f"{runs[0]} -m MSG`")  # -m is required: without it the command fails
    assert parameters_note(runs[0]) is None  # one model: the per-model check is the whole rule
    small = ensemble_runs([runs[2], make_run(tmp_path / "runs" / "D", seed=4)], "mean_probs", "cd",
                          out_root=tmp_path / "ens")
    assert parameters_note(small) is None  # D has no train manifest: no count, no guess
    write_manifest(tmp_path / "runs" / "D", "train", metrics={"params": 2_000})
    assert parameters_note(small) is None  # 3,000 in all: within the budget
    assert combined_parameters_note([2_500_000, 2_499_999]) is None
    # "under 5 million": exactly 5,000,000 in all is not under the budget
    assert combined_parameters_note([2_500_000, 2_500_000]).startswith("note: these predictions come from 2 models")


def test_an_ensemble_of_ensembles_is_recorded_by_its_members_and_checked_by_its_runs(tmp_path):
    """The two readers of an ensemble's members differ on purpose. The ledger records a submission by the direct
    members (``upload.run_ids``, the identity the gap report matches rows by: an inner ensemble by its name); the
    parameter budget reads every run however deep, so a run over it inside an inner ensemble is still refused."""
    from kaggle_kit.ensemble import runs_within
    from kaggle_kit.errors import ParameterBudgetError
    from kaggle_kit.runs import member_names
    from kaggle_kit.upload import check_models_within_budget, models_within, run_ids

    runs = [make_run(tmp_path / "runs" / n, seed=i) for i, n in enumerate("ABC")]
    inner = ensemble_runs(runs[:2], "mean_probs", "ab", out_root=tmp_path / "ens")
    outer = ensemble_runs([inner, runs[2]], "vote", "abc", out_root=tmp_path / "ens")
    flat = ensemble_runs(runs, "vote", "flat", out_root=tmp_path / "ens")
    assert run_ids(outer) == member_names(outer) == ["ab", "C"]
    assert run_ids(flat) == runs_within(flat) == runs_within(outer) == ["A", "B", "C"]  # other predictions
    assert run_ids(runs[0]) == ["A"]
    assert list(models_within(outer)) == runs
    check_models_within_budget(models_within(outer))  # no train manifests: no counts, nothing to refuse
    write_manifest(runs[1], "train", metrics={"params": 5_000_001})
    with pytest.raises(ParameterBudgetError, match=r"runs/B: its model has 5,000,001 trainable parameters"):
        check_models_within_budget(models_within(outer))


def test_fit_weights_finds_the_interior_optimum_by_hand():
    """A wrong-signed gradient (or a corner-only answer) would miss the 7/9, 2/9 mix that beats both members."""
    # true-class probabilities: A = (0.8, 0.2, 0.8), B = (0.2, 0.8, 0.2); loss -(2 log(0.2+0.6w) + log(0.8-0.6w))/3
    # has its minimum where 2(0.8-0.6w) = 0.2+0.6w, i.e. w = 7/9 (log-loss 0.6365 against 0.685 for A alone)
    a, b = np.array([0.8, 0.2, 0.8]), np.array([0.2, 0.8, 0.2])
    lp = np.log(np.stack([np.stack([a, 1 - a], 1), np.stack([b, 1 - b], 1)]))
    w = fit_weights(lp, np.zeros(3, dtype=np.int64))
    np.testing.assert_allclose(w, [7 / 9, 2 / 9], atol=1e-4)


def test_mean_probs_and_vote_scores_by_hand():
    """A mean_probs without -log(M), a summed mean_logits or a vote tie-break times M would store other scores."""
    lp = np.log(np.array([[[0.8, 0.2]], [[0.6, 0.4]]]))
    np.testing.assert_allclose(combine(lp, "mean_probs"), np.log([[0.7, 0.3]]), atol=1e-12)
    np.testing.assert_allclose(combine(lp, "mean_logits"), np.log([[0.48, 0.08]]) / 2, atol=1e-12)
    # both vote class 0: shares (1, 0) + 0.01/2 x mean probability (0.7, 0.3) = (1.0035, 0.0015), renormalised
    np.testing.assert_allclose(np.exp(combine(lp, "vote")), [[1.0035 / 1.005, 0.0015 / 1.005]], atol=1e-12)
    np.testing.assert_allclose(combine(lp, "weighted", np.array([0.25, 0.75])), np.log([[0.65, 0.35]]), atol=1e-12)


def test_first_mismatch_finds_a_difference_in_the_last_position():
    """A comparison that skipped the last element would let members whose final id differs be averaged."""
    from kaggle_kit.ensemble import first_mismatch
    assert first_mismatch(np.array([5, 6, 7]), np.array([5, 6, 9])) == (2, 7, 9)
    assert first_mismatch(np.array([4]), np.array([3])) == (0, 4, 3)
    assert first_mismatch(np.array([1, 2]), np.array([1, 2])) is None


def test_one_member_with_partial_comp_logits_makes_the_ensemble_partial(tmp_path):
    """comp_complete taken from any member instead of all would let a partial ensemble be submitted."""
    runs = [make_run(tmp_path / "a", seed=0), make_run(tmp_path / "b", seed=1, comp_complete=False)]
    out = ensemble_runs(runs, "mean_probs", "e", out_root=tmp_path / "ens")
    assert json.loads((out / "ensemble.json").read_text())["comp_complete"] is False


def test_the_ensemble_temperature_is_fitted_on_its_own_holdout_scores(tmp_path):
    """A temperature left at 1 (or copied from a member) would mis-calibrate the overconfident vote scores."""
    runs = [make_run(tmp_path / "a", seed=0), make_run(tmp_path / "b", seed=1)]
    out = ensemble_runs(runs, "vote", "e", out_root=tmp_path / "ens")
    hold = load_logits(out / "logits_holdout.npz")
    t = json.loads((out / "ensemble.json").read_text())["ensemble"]["temperature"]
    assert hold.temperature == t
    assert nll(hold.logits, hold.labels, t) < min(nll(hold.logits, hold.labels, t * 1.2),
                                                  nll(hold.logits, hold.labels, t / 1.2))


def test_weights_are_fitted_on_the_holdout_never_on_the_test_split(tmp_path):
    """Weights fitted on the test split would leak its labels into the test accuracy the ensemble reports."""
    a, b = make_run(tmp_path / "a", signal=3.0, seed=0), make_run(tmp_path / "b", signal=3.0, seed=1)
    for run in (a, b):  # a is only good on the holdout, b only on the test split
        split = "test" if run == a else "holdout"
        lg = load_logits(run / f"logits_{split}.npz")
        noise = np.random.default_rng(7).normal(size=lg.logits.shape).astype(np.float32)
        save_logits(run / f"logits_{split}.npz", Logits(lg.ids, noise, lg.labels, lg.tta, lg.temperature))
    out = ensemble_runs([a, b], "weighted", "w", out_root=tmp_path / "ens")
    w = [m["weight"] for m in json.loads((out / "ensemble.json").read_text())["members"]]
    assert w[0] > 0.9 and w[1] < 0.1


def test_cli_table_gives_each_members_weight_then_holdout_then_test_accuracy(tmp_path, capsys):
    """Swapped holdout and test columns, or a weight not the member's, would misstate every row of the table."""
    from kaggle_kit.cli import main

    a, b = make_run(tmp_path / "A", signal=1.0), make_run(tmp_path / "B", signal=3.0, seed=1)
    assert main(["ensemble", str(a), str(b), "--name", "ab", "--out-root", str(tmp_path / "ens")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["member", "weight", "holdout", "test"]
    for line, run in zip(lines[1:3], (a, b)):
        accs = [np.mean(load_logits(run / f"logits_{s}.npz").logits.argmax(1) == y)
                for s, y in (("holdout", HOLD_Y), ("test", TEST_Y))]
        assert line.split() == [run.name, "0.500", *(f"{100 * acc:.2f}%" for acc in accs)]
    ens = tmp_path / "ens" / "ab"
    accs = [np.mean(calibrated(ens / f"logits_{s}.npz").argmax(1) == y) for s, y in (("holdout", HOLD_Y),
                                                                                     ("test", TEST_Y))]
    assert lines[3].split() == ["ensemble", "(mean_probs)", *(f"{100 * acc:.2f}%" for acc in accs)]


def _with_reference(run, seed: int):
    """The BatchNorm reference predict writes beside a run's competition logits (here: other made-up logits)."""
    comp = load_logits(run / "logits_comp.npz")
    ref = fake_logits(np.random.default_rng(99).integers(0, 10, len(COMP)), 3.0, np.random.default_rng(seed), 1.0)
    save_logits(run / REFERENCE_FILE, Logits(comp.ids, ref, None, "none", comp.temperature))
    return ref


def test_the_members_references_are_combined_as_their_competition_logits_only_when_every_member_has_one(tmp_path):
    a, b = make_run(tmp_path / "runs" / "a", seed=1), make_run(tmp_path / "runs" / "b", seed=2, scale=2.0)
    _with_reference(a, 10)
    out = ensemble_runs([a, b], "weighted", "ens", out_root=tmp_path / "ens")
    assert not (out / REFERENCE_FILE).exists()  # b has none: no reference, no Ref-EM for the ensemble
    _with_reference(b, 11)
    out = ensemble_runs([a, b], "weighted", "ens", out_root=tmp_path / "ens", replace=True)
    ref, comp = load_logits(out / REFERENCE_FILE), load_logits(out / "logits_comp.npz")
    weights = [m["weight"] for m in json.loads((out / "ensemble.json").read_text())["members"]]
    # by hand: each member's reference at its own temperature, mixed with the members' fitted weights
    lp = np.stack([member_log_probs(load_logits(r / REFERENCE_FILE)) for r in (a, b)])
    np.testing.assert_allclose(ref.logits, combine(lp, "weighted", np.array(weights)), atol=1e-5)
    assert np.array_equal(ref.ids, comp.ids) and ref.labels is None and ref.temperature == comp.temperature
    manifest = json.loads((out / "manifest_ensemble.json").read_text())
    assert "comp_reference" in manifest["outputs"] and f"member1/{REFERENCE_FILE}" in manifest["inputs"]
    # a member's reference of other images is refused, as the report refuses it
    save_logits(b / REFERENCE_FILE, Logits(COMP[:-1], np.zeros((len(COMP) - 1, 10), np.float32), None, "none", 1.0))
    with pytest.raises(RunError, match="logits_comp_reference.npz: its images are not those of logits_comp.npz"):
        ensemble_runs([a, b], "weighted", "ens", out_root=tmp_path / "ens", replace=True)
