"""CC-Synth on a fake model whose mistakes depend on image sharpness while its confidence never moves:
exactly the case where confidence-based estimators fail and the synthetic corruptions must help."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from kaggle_kit.gap import estimators, shifts, synthetic
from kaggle_kit.gap.image_stats import image_features

C = 10


def textured_images(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    coarse = ndimage.zoom(rng.uniform(40, 215, (n, 4, 4, 3)), (1, 8, 8, 1), order=1)
    return np.clip(coarse + rng.normal(0, 18, (n, 32, 32, 3)), 0, 255).astype(np.uint8)


def fake_model(images: np.ndarray, labels: np.ndarray, seed: int) -> np.ndarray:
    """Always 90% confident; right with probability 0.9 on sharp images, falling to 0.2 on blurred ones."""
    rng = np.random.default_rng(seed)
    sharp = np.log(image_features(images)["sharpness"])
    p_right = 0.2 + 0.7 / (1 + np.exp(-4 * (sharp - np.log(0.012))))
    right = rng.random(len(images)) < p_right
    pred = np.where(right, labels, (labels + rng.integers(1, C, len(labels))) % C)
    probs = np.full((len(images), C), 0.1 / (C - 1))
    probs[np.arange(len(images)), pred] = 0.9
    return np.log(probs)


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(0)
    hold_x, hold_y = textured_images(1500, 1), rng.integers(0, C, 1500)
    sets = synthetic.make_synthetic_sets(hold_x, hold_y, per_set=150, seed=0)
    syn = synthetic.synthetic_logits(sets, fake_model(sets.images, sets.labels, 2), hold_x)
    return hold_x, hold_y, fake_model(hold_x, hold_y, 3), syn


def test_synthetic_sets_cover_every_family_and_severity(setup):
    _, _, _, syn = setup
    assert syn.families == tuple(shifts.CORRUPTIONS)
    single = syn.family2 < 0
    assert len(set(zip(syn.family[single].tolist(), syn.severity[single].tolist()))) == len(shifts.CORRUPTIONS) * 5
    pairs = set(zip(syn.family[~single].tolist(), syn.family2[~single].tolist()))
    assert len(pairs) == len(shifts.CORRUPTIONS) * (len(shifts.CORRUPTIONS) - 1)
    assert all(a != b for a, b in pairs)
    assert syn.stats.shape == (len(syn.labels), 10) and syn.holdout_stats.shape == (1500, 10)


def test_cc_synth_sees_a_blur_drop_that_confidence_cannot(setup):
    hold_x, hold_y, hold_logits, syn = setup
    rng = np.random.default_rng(4)
    tx, ty = textured_images(1500, 5), rng.integers(0, C, 1500)
    blurred = shifts.corrupt(tx, "blur", 3, seed=7)
    tl = fake_model(blurred, ty, 6)
    true = float((tl.argmax(1) == ty).mean())
    res = estimators.estimate_all(hold_logits, hold_y, tl, synthetic=syn, target_stats=synthetic.stats_matrix(blurred))
    est = res["estimates"]
    assert res["holdout_acc"] - true > 0.2              # a big drop ...
    assert abs(est["AC"] - res["holdout_acc"]) < 0.05 and abs(est["DoC"] - res["holdout_acc"]) < 0.05  # unseen
    assert est["CC-Synth"] == pytest.approx(true, abs=0.05)
    members = sorted(est[m] for m in estimators.MEDIAN_MEMBERS)
    assert est["Median-4"] == pytest.approx((members[1] + members[2]) / 2)  # computed once every member is


def test_cc_synth_without_shift_stays_at_holdout_accuracy(setup):
    hold_x, hold_y, hold_logits, syn = setup
    rng = np.random.default_rng(8)
    tx, ty = textured_images(1500, 9), rng.integers(0, C, 1500)
    tl = fake_model(tx, ty, 10)
    true = float((tl.argmax(1) == ty).mean())
    est = estimators.estimate_all(hold_logits, hold_y, tl, synthetic=syn,
                                  target_stats=synthetic.stats_matrix(tx))["estimates"]
    assert est["CC-Synth"] == pytest.approx(true, abs=0.04)


def test_synthetic_logits_round_trip(setup, tmp_path):
    *_, syn = setup
    syn.save(tmp_path / "s.npz")
    back = synthetic.SyntheticLogits.load(tmp_path / "s.npz")
    assert back.families == syn.families
    assert np.array_equal(back.logits, syn.logits) and np.array_equal(back.index, syn.index)


def test_a_cache_that_cannot_be_written_costs_the_cache_only(setup, tmp_path, monkeypatch):
    """Runs attached read-only (a Kaggle notebook's input) or a full disk: `report` failed on the cache write
    after minutes of work; now it goes on, and the old key no longer vouches for a half-replaced pair."""
    import errno

    from kaggle_kit import fsio
    from kaggle_kit.gap import synthetic_io

    *_, syn = setup
    old, new = {"sha256": "old"}, {"sha256": "new"}
    synthetic_io._write_cache(tmp_path, old, syn)
    assert synthetic_io._read_cache(tmp_path, old) is not None

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fsio, "atomic_write_bytes", disk_full)
    synthetic_io._write_cache(tmp_path, new, syn)
    assert synthetic_io._read_cache(tmp_path, old) is None and synthetic_io._read_cache(tmp_path, new) is None


def test_clean_offset_is_added_only_to_sets_that_look_like_the_holdout(setup):
    """The cross-fitted offset corrects the classifier's bias on *clean* images; estimate_all scales it by
    1 - the gate weight, so a clearly blurred set gets none of it and a holdout-like set all of it."""
    hold_x, hold_y, hold_logits, syn = setup
    rng = np.random.default_rng(11)
    tx, ty = textured_images(1500, 12), rng.integers(0, C, 1500)
    t = estimators.fit_temperature(hold_logits, hold_y)
    ps, sp = estimators.calibrated_probs(hold_logits, t), estimators.calibrated_probs(syn.logits, t)
    for images, seed, weight in ((shifts.corrupt(tx, "blur", 3, seed=13), 14, 0.0), (tx, 15, 1.0)):
        tl, stats = fake_model(images, ty, seed), synthetic.stats_matrix(images)
        res = estimators.estimate_all(hold_logits, hold_y, tl, synthetic=syn, target_stats=stats)
        assert 1.0 - estimators.gate_weight(res["shift_auc"]) == weight  # blurred: AUC ~1; same source: ~0.5
        pt = estimators.calibrated_probs(tl, t)
        direct = {w: synthetic.cc_synth_estimate(ps, hold_y, syn, sp, pt, stats, offset_weight=w) for w in (0.0, 1.0)}
        assert direct[0.0] != pytest.approx(direct[1.0], abs=1e-6)  # the offset is not zero, so the test can fail
        assert res["estimates"]["CC-Synth"] == pytest.approx(direct[weight], abs=1e-9)


def test_stats_matrix_remembers_by_content_and_hands_out_copies(monkeypatch):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8)
    monkeypatch.setattr(synthetic, "_STATS_MEMO", type(synthetic._STATS_MEMO)())
    calls = []
    real = synthetic.image_features
    monkeypatch.setattr(synthetic, "image_features", lambda x: calls.append(len(x)) or real(x))
    first = synthetic.stats_matrix(images)
    first[:] = -1  # the caller's copy: mutating it must not change what the next caller gets
    again = synthetic.stats_matrix(images.copy())  # same content, another array
    assert calls == [20] and np.array_equal(again, np.column_stack([real(images)[k] for k in synthetic.FEATURES]))
    changed = images.copy()
    changed[3, 0, 0, 0] ^= 1
    synthetic.stats_matrix(changed)
    synthetic.stats_matrix(images[:10])  # another shape
    assert calls == [20, 20, 10]
    for i in range(synthetic._STATS_MEMO_SIZE):  # the oldest entries are forgotten past the size
        synthetic.stats_matrix(images[i:i + 1])
    assert len(synthetic._STATS_MEMO) == synthetic._STATS_MEMO_SIZE
    synthetic.stats_matrix(images)
    assert calls[-1] == 20


def test_fit_correctness_remembers_the_fit_by_its_training_rows(setup, monkeypatch):
    hold_x, hold_y, hold_logits, syn = setup
    monkeypatch.setattr(synthetic, "_FIT_MEMO", type(synthetic._FIT_MEMO)())
    ps, sp = estimators.calibrated_probs(hold_logits, 1.0), estimators.calibrated_probs(syn.logits, 1.0)
    args = (ps, hold_y, syn.holdout_stats, sp, syn.labels, syn.stats)
    first = synthetic.fit_correctness(*args)
    assert synthetic.fit_correctness(*(a.copy() for a in args)) is first  # same content, other arrays
    fresh = synthetic.fit_correctness(*args, seed=1)  # another seed, another model
    assert fresh is not first and len(synthetic._FIT_MEMO) == 2
    keep = syn.kept(("blur",))
    assert synthetic.fit_correctness(*args, keep=keep) is not first
    # what the memo hands back predicts exactly what a new fit would
    monkeypatch.setattr(synthetic, "_FIT_MEMO", type(synthetic._FIT_MEMO)())
    refit = synthetic.fit_correctness(*args)
    assert refit is not first
    assert np.array_equal(refit.predict_correct(ps, syn.holdout_stats), first.predict_correct(ps, syn.holdout_stats))
