"""CC-Synth on a fake model whose mistakes depend on image sharpness while its confidence never moves:
exactly the case where confidence-based estimators fail and the synthetic corruptions must help."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from kaggle_kit.gap import estimators, shifts, synthetic
from kaggle_kit.gap.nuclear_norm import nuclear_norm_estimate
from kaggle_kit.gap.ref_stack import ref_stack
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
    # a reference model that sees through the blur (``predict``'s BatchNorm copy, at its best): 90% on the true class
    sees = np.full((len(ty), C), 0.1 / (C - 1))
    sees[np.arange(len(ty)), ty] = 0.9
    res = estimators.estimate_all(hold_logits, hold_y, tl, synthetic=syn, target_stats=synthetic.stats_matrix(blurred),
                                  reference_logits=np.log(sees))
    est = res["estimates"]
    assert res["holdout_acc"] - true > 0.2              # a big drop ...
    assert abs(est["AC"] - res["holdout_acc"]) < 0.05 and abs(est["DoC"] - res["holdout_acc"]) < 0.05  # unseen
    assert est["CC-Synth"] == pytest.approx(true, abs=0.05)
    members = sorted(est[m] for m in estimators.MEDIAN_MEMBERS)
    assert est["Median-4"] == pytest.approx((members[1] + members[2]) / 2)  # computed once every member is
    # the fifth member is read off the same pool at the same temperature, and the recommended pair follows from it
    assert est["NucNorm"] == nuclear_norm_estimate(hold_logits, hold_y, tl, res["temperature"], syn)
    assert est["Median-5"] == pytest.approx(sorted(est[m] for m in estimators.MEDIAN_5_MEMBERS)[2])
    assert est["Median-5-Spread"] == pytest.approx(est["Median-5"] - 0.2 * estimators.member_spread(est))
    assert est["Median-5-Spread"] < est["AC"] - 0.1  # the drop AC cannot see
    # the reference scores the submitted predictions by its own beliefs; Ref-Avg halves the way to Median-5-Spread
    assert est["Ref-EM"] == pytest.approx(true, abs=0.05)
    assert est["Ref-Avg"] == pytest.approx((est["Ref-EM"] + est["Median-5-Spread"]) / 2)
    assert est["COT-Gated"] == estimators.cot_gated(est)
    assert est["Ref-Avg-Shrunk"] == estimators.shrunk(est["Ref-Avg"], res["holdout_acc"]) < est["Ref-Avg"]
    # the candidate reads Ref-Doubt's neighbours from the same result
    assert est["Ref-Stack"] == ref_stack(est, res["holdout_acc"], res["holdout_like_share"])
    # without the target's statistics (no CC-Synth) NucNorm alone is computed, with the tested family left out too
    alone = estimators.estimate_all(hold_logits, hold_y, tl, synthetic=syn, exclude=("blur",))["estimates"]
    assert alone["NucNorm"] == nuclear_norm_estimate(hold_logits, hold_y, tl, res["temperature"], syn, ("blur",))
    assert "Median-5" not in alone and "CC-Synth" not in alone


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


def test_make_synthetic_sets_counts_rows_and_caps_per_set_at_the_holdout():
    """A per_set larger than the holdout must take every image once, and pairs default to per_set // 2 images."""
    x, y = np.full((3, 32, 32, 3), 100, np.uint8), np.array([0, 1, 2])
    sets = synthetic.make_synthetic_sets(x, y, per_set=4, families=("contrast", "noise"))
    single = sets.family2 < 0
    assert single.sum() == 2 * 5 * 3 and (~single).sum() == 2 * 2  # 2 families x 5 severities x 3; 2 pairs x 2
    assert set(sets.severity[~single].tolist()) <= {1, 2, 3}
    again = synthetic.make_synthetic_sets(x, y, per_set=4, families=("contrast", "noise"))
    assert np.array_equal(again.images, sets.images)  # deterministic in seed, noise included


def test_feature_matrix_columns_are_confidence_margin_entropy_class_then_stats():
    """A margin taken against the smallest probability, or a wrong predicted class, would mislead the classifier."""
    probs = np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]])
    f = synthetic.feature_matrix(probs, np.array([[7.0], [8.0]]))
    np.testing.assert_allclose(f[:, :2], [[0.6, 0.3], [0.5, 0.2]])
    np.testing.assert_allclose(f[:, 2], -(probs * np.log(probs)).sum(1))
    np.testing.assert_array_equal(f[:, 3:], [[1, 7.0], [0, 8.0]])


def test_kept_leaves_out_a_family_as_first_or_as_second_corruption():
    """Checking only the first corruption would leak the left-out family into training through the pairs."""
    syn = synthetic.SyntheticLogits(*(np.zeros(4),) * 2, family=np.array([0, 1, 2, 0]), severity=np.ones(4),
                                    index=np.arange(4), stats=np.zeros((4, 1)), holdout_stats=np.zeros((4, 1)),
                                    families=("blur", "jpeg", "noise"), family2=np.array([-1, -1, -1, 1]))
    np.testing.assert_array_equal(syn.kept(("jpeg",)), [True, False, True, False])
    np.testing.assert_array_equal(syn.kept(("occlusion",)), [True] * 4)  # not a family of these sets


def test_fit_correctness_trains_on_clean_plus_kept_rows_without_sample_weights(monkeypatch):
    """Dropping the ``keep`` mask would fit another model; any sample weights, even all 1, would make scikit-learn
    find each bin edge with a weighted percentile (half of every fit) for the same model."""
    fitted = {}

    class Recorder:
        def __init__(self, **kwargs):
            pass

        def fit(self, x, y, **kwargs):
            fitted.update(x=x, y=y, kwargs=kwargs)

    monkeypatch.setattr(synthetic, "HistGradientBoostingClassifier", Recorder)
    monkeypatch.setattr(synthetic, "_FIT_MEMO", type(synthetic._FIT_MEMO)())
    eye = np.eye(2)
    synthetic.fit_correctness(eye[[0, 1]], np.array([0, 0]), np.zeros((2, 1)), eye[[1, 1, 0]], np.array([1, 0, 0]),
                              np.zeros((3, 1)), keep=np.array([True, False, True]))
    np.testing.assert_array_equal(fitted["y"], [True, False, True, True])
    assert fitted["x"].shape == (4, 5) and fitted["kwargs"] == {}


def test_unit_sample_weights_fit_the_same_model_as_none(setup):
    """Why fit_correctness passes no weights: with every weight 1 scikit-learn's weighted binning gives the same
    edges and model as its unweighted one, bitwise, at twice the cost (if this fails, CC-Synth's numbers moved)."""
    hold_x, hold_y, hold_logits, _ = setup
    x = synthetic.feature_matrix(np.exp(hold_logits), synthetic.stats_matrix(hold_x))
    y = hold_logits.argmax(1) == hold_y
    fits = [synthetic.HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(x, y, sample_weight=w)
            for w in (np.ones(len(y)), None)]
    np.testing.assert_array_equal(fits[0].predict_proba(x), fits[1].predict_proba(x))


def test_cc_synth_cross_fits_trains_on_its_fold_and_weights_the_offset(monkeypatch):
    """Swapped training and offset rows, synthetic rows of the offset's images left in training, an ignored
    ``exclude``, the offset added in full instead of by ``offset_weight`` or a missing clip would each change the
    estimate."""
    n, calls = 6, []

    class Stub:
        def __init__(self, train_ids, keep):
            self.train_ids, self.keep, self.oof_ids, self.k = train_ids, keep, None, len(calls)

        def predict_accuracy(self, probs, stats):
            return 0.6 + 0.01 * self.k  # 0.60 and 0.61: their mean, not the first fold's

        def predict_correct(self, probs, stats):
            self.oof_ids = stats[:, 0].astype(int)
            return np.full(len(probs), 0.5)

    def fake_fit(hp, hl, hs, sp, sl, ss, keep=None, seed=0):
        calls.append(Stub(hs[:, 0].astype(int), keep))
        return calls[-1]

    monkeypatch.setattr(synthetic, "fit_correctness", fake_fit)
    labels = np.array([0, 0, 0, 1, 1, 1])
    probs = np.eye(2)[[0, 0, 1, 1, 1, 0]]  # right on rows 0, 1, 3, 4
    ids = np.arange(n, dtype=float)[:, None]
    syn = synthetic.SyntheticLogits(np.zeros((n, 2)), labels, family=np.array([0, 1, 0, 1, 0, 1]),
                                    severity=np.ones(n), index=np.arange(n), stats=ids, holdout_stats=ids,
                                    families=("blur", "jpeg"), family2=np.full(n, -1))
    est = synthetic.cc_synth_estimate(probs, labels, syn, probs, probs, ids, exclude=("jpeg",), offset_weight=0.5)
    correct = np.array([1, 1, 0, 1, 1, 0.0])
    offsets = []
    for c in calls:
        assert len(c.train_ids) == n // 2 and sorted([*c.train_ids, *c.oof_ids]) == list(range(n))
        np.testing.assert_array_equal(c.keep, np.isin(np.arange(n), c.train_ids) & (syn.family == 0))
        te = c.oof_ids
        offsets.append(correct[te].mean() - 0.5)
    assert len(calls) == 2 and est == pytest.approx(0.605 + 0.5 * np.mean(offsets))
    assert synthetic.cc_synth_estimate(probs, labels, syn, probs, probs, ids, offset_weight=5.0) == 1.0  # clipped


def test_the_synthetic_cache_key_changes_with_images_per_set_seed_and_weights(tmp_path):
    """A key without per_set would reuse synthetic logits made from another number of images per set."""
    from kaggle_kit.gap import synthetic_io

    (tmp_path / "model.pt").write_bytes(b"weights")
    key = synthetic_io._cache_key(tmp_path, 300, 0)
    assert key["source"] == "model.pt"
    assert key != synthetic_io._cache_key(tmp_path, 100, 0) and key != synthetic_io._cache_key(tmp_path, 300, 1)
    (tmp_path / "model.pt").write_bytes(b"other weights")
    assert key != synthetic_io._cache_key(tmp_path, 300, 0)


@pytest.mark.parametrize("severity", [0, 6])
def test_corrupt_refuses_a_severity_outside_1_to_5(severity):
    """Severity 0 would silently index the last entry: severity 5's parameters."""
    with pytest.raises(ValueError, match="severity must be 1-5"):
        shifts.corrupt(np.zeros((1, 32, 32, 3), np.uint8), "blur", severity)


def test_to_uint8_rounds_and_clips():
    """Truncating instead of rounding biases every corruption dark by half a level; no clip wraps around."""
    np.testing.assert_array_equal(shifts.to_uint8(np.array([0.6, 254.6, -3.0, 300.0, 2.4])), [1, 255, 0, 255, 2])


@pytest.mark.parametrize("name", ["blur", "contrast", "downscale"])
def test_a_flat_image_stays_flat_whatever_else_is_in_the_batch(name):
    """Blurring along the batch axis, or a contrast pulled to the batch's mean, would mix the images together."""
    x = np.stack([np.full((32, 32, 3), v, np.uint8) for v in (20, 200)])
    np.testing.assert_array_equal(shifts.corrupt(x, name, 5), x)


def test_rotate_zoom_zooms_in():
    """Dividing by the zoom's inverse would zoom out: a centred bright square would shrink instead of grow."""
    x = np.zeros((8, 32, 32, 3), np.uint8)
    x[:, 12:20, 12:20] = 255
    area = (shifts.corrupt(x, "rotate_zoom", 5, seed=3)[..., 0] > 127).sum(axis=(1, 2))
    assert area.mean() > 70  # 64 before; zoom 1-1.3 grows it by 1.3 on average


def test_corrupt_is_deterministic_in_its_seed():
    """An unseeded generator would make the synthetic sets, and with them CC-Synth, change from run to run."""
    x = np.full((2, 32, 32, 3), 128, np.uint8)
    first = shifts.corrupt(x, "noise", 3, seed=1)
    assert np.array_equal(first, shifts.corrupt(x, "noise", 3, seed=1))
    assert not np.array_equal(first, shifts.corrupt(x, "noise", 3, seed=2))


@pytest.mark.parametrize("counts, priors, n, expected", [
    ([100, 100, 100], [1, 1, 1], 10, [3, 3, 4]),    # largest remainders make up n exactly; priors normalised
    ([2, 100, 100], [0.5, 0.25, 0.25], 10, [2, 1, 1]),  # class 0 has only 2 images: n shrinks to 4
])
def test_resample_to_priors_draws_exactly_n_without_repeats(counts, priors, n, expected):
    """Without the largest-remainder step n would be short; without the cap, n would exceed the request."""
    labels = np.repeat(np.arange(3), counts)
    idx = shifts.resample_to_priors(labels, np.array(priors, float), n, np.random.default_rng(0))
    assert len(np.unique(idx)) == len(idx)
    assert sorted(np.bincount(labels[idx], minlength=3).tolist()) == sorted(expected)


def test_stats_matrix_hands_out_a_copy_on_a_hit_as_well(monkeypatch):
    """Returning the remembered array itself would let one caller's edit change every later caller's statistics."""
    monkeypatch.setattr(synthetic, "_STATS_MEMO", type(synthetic._STATS_MEMO)())
    images = np.random.default_rng(1).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    first = synthetic.stats_matrix(images)
    hit = synthetic.stats_matrix(images)
    hit[:] = -1
    np.testing.assert_array_equal(synthetic.stats_matrix(images), first)


def test_contrast_weakens_with_a_higher_severity():
    """Reversed severities would make severity 1 the strongest contrast loss."""
    x = np.zeros((1, 32, 32, 3), np.uint8)
    x[:, :16] = 200  # mean 100
    assert set(np.unique(shifts.corrupt(x, "contrast", 1)).tolist()) == {25, 175}  # 100 -+ 0.75 * 100
    assert set(np.unique(shifts.corrupt(x, "contrast", 5)).tolist()) == {75, 125}  # 100 -+ 0.25 * 100


@pytest.mark.parametrize("severity, quality, noise_std", [(1, 70, 4), (3, 35, 10), (5, 12, 20)])
def test_jpeg_quality_and_noise_strength_follow_the_severity(severity, quality, noise_std):
    """A JPEG quality or a noise std fixed at one value would make all five severities one shift."""
    import io

    from PIL import Image

    img = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=quality)
    np.testing.assert_array_equal(shifts.corrupt(img[None], "jpeg", severity)[0], np.asarray(Image.open(buf)))
    grey = np.full((4, 32, 32, 3), 128, np.uint8)  # far from 0 and 255: no clipping at these strengths
    assert shifts.corrupt(grey, "noise", severity).astype(float).std() == pytest.approx(noise_std, abs=0.5)


def test_contrast_pulls_to_the_image_mean_not_each_channels_mean():
    """A per-channel mean would leave a flat coloured image untouched instead of greying it."""
    x = np.zeros((1, 32, 32, 3), np.uint8)
    x[..., 0] = 200  # mean over all channels 200/3; factor 0.25 at severity 5
    np.testing.assert_array_equal(shifts.corrupt(x, "contrast", 5)[0, 0, 0], [100, 50, 50])


@pytest.mark.parametrize("severity, size", [(1, 26), (3, 18), (5, 12)])
def test_downscale_size_follows_the_severity(severity, size):
    """One thumbnail size for every severity would make the five downscale sets one shift."""
    from PIL import Image

    img = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    small = Image.fromarray(img).resize((size, size), Image.Resampling.BILINEAR)
    expected = np.asarray(small.resize((32, 32), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(shifts.corrupt(img[None], "downscale", severity)[0], expected)


def test_colour_wraps_the_hue_and_clips_saturation_and_value_like_colorsys():
    """No hue rotation, no hue wrap below 0, or no clip of saturation/value above 1 would give other colours."""
    import colorsys

    red = np.zeros((8, 1, 1, 3), np.uint8)
    red[..., 0] = 255  # hue 0, saturation 1, value 1: every change lands on an edge of the HSV cube
    rng = np.random.default_rng(0)  # the draws corrupt makes at severity 5: hue, then saturation, then value
    dh, ds, dv = (rng.uniform(-a, a, 8) for a in (0.18, 0.6, 0.3))
    expected = [np.array(colorsys.hsv_to_rgb(h % 1.0, min(1 + s, 1.0), min(1 + v, 1.0))) * 255
                for h, s, v in zip(dh, ds, dv)]
    assert (dh < 0).any() and (dh > 0).any() and (ds > 0).any() and (dv > 0).any()
    np.testing.assert_allclose(shifts.corrupt(red, "colour", 5, seed=0)[:, 0, 0], expected, atol=1)


def test_rotate_zoom_turns_about_the_image_centre():
    """A centre at pixel 16 instead of 15.5 would move a centred square off centre: no longer point-symmetric."""
    x = np.zeros((4, 32, 32, 3), np.uint8)
    x[:, 12:20, 12:20] = 255
    out = shifts.corrupt(x, "rotate_zoom", 5, seed=0).astype(int)
    assert np.abs(out - out[:, ::-1, ::-1]).max() <= 1


def test_long_tail_priors_favour_a_random_class_and_dirichlet_alpha_sets_the_spread():
    """Priors left in order would always favour class 0; an inverted alpha would make a big alpha peaked."""
    rng = np.random.default_rng(0)
    assert len({int(np.argmax(shifts.long_tail_priors(10, 10.0, rng))) for _ in range(10)}) > 1
    np.testing.assert_allclose(shifts.dirichlet_priors(10, 1e4, rng), 0.1, atol=0.01)


def test_rotate_zoom_maps_pixels_by_a_rotation_and_a_zoom_in_not_a_shear(monkeypatch):
    """A sign lost in the matrix ([[cos, sin], [sin, cos]]) would shear and squash the images instead of turning
    them: another shift than the family's name says."""
    seen = []
    real = ndimage.affine_transform
    monkeypatch.setattr(shifts.ndimage, "affine_transform", lambda img, mat, **kw: seen.append(mat) or
                        real(img, mat, **kw))
    shifts.corrupt(np.zeros((4, 32, 32, 3), np.uint8), "rotate_zoom", 5, seed=0)
    for mat in seen[::3]:  # one matrix an image, used for its three channels
        scale = mat @ mat.T  # output -> input: a rotation over the zoom, so (1 / zoom^2) times the identity
        np.testing.assert_allclose(scale, scale[0, 0] * np.eye(2), atol=1e-12)
        assert 1.0 <= 1 / np.sqrt(scale[0, 0]) <= 1.3 and np.linalg.det(mat) > 0


def test_an_ensembles_synthetic_logits_combine_its_members_with_its_own_method_weights_and_temperatures(
        tmp_path, monkeypatch):
    """Members' logits combined without their temperatures, or with mean_probs whatever ensemble.json says, would
    give CC-Synth another model than the ensemble submitted."""
    import json

    from scipy.special import softmax

    from kaggle_kit.gap import report_runs, synthetic_io
    from kaggle_kit.runs import Logits, save_logits

    rng = np.random.default_rng(0)
    raw = {}
    for name, t in (("m1", 2.0), ("m2", 0.5)):
        (tmp_path / name).mkdir()
        save_logits(tmp_path / name / "logits_holdout.npz",
                    Logits(np.arange(3), np.zeros((3, C), np.float32), np.arange(3), "none", t))
        raw[tmp_path / name] = (rng.normal(size=(4, C)).astype(np.float32), t)
    (tmp_path / "ens").mkdir()
    (tmp_path / "ens" / "ensemble.json").write_text(json.dumps({"method": "weighted", "members": [
        {"path": str(tmp_path / "m1"), "weight": 0.25}, {"path": str(tmp_path / "m2"), "weight": 0.75}]}))
    zeros = np.zeros(4, np.int64)
    monkeypatch.setattr(report_runs, "member_folders", lambda folder: list(raw))
    monkeypatch.setattr(synthetic_io, "_run_synthetic", lambda m, *a: synthetic.SyntheticLogits(
        logits=raw[m][0], labels=zeros, family=zeros, severity=zeros + 1, index=np.arange(4), stats=np.zeros((4, 2)),
        holdout_stats=np.zeros((3, 2)), families=("blur",), family2=zeros - 1))
    combined = synthetic_io._from_members(tmp_path / "ens", None, 4, 0, synthetic_io.sets_maker(None, 4, 0)).logits
    (z1, t1), (z2, t2) = raw.values()
    expected = np.log(0.25 * softmax(z1 / t1, axis=1) + 0.75 * softmax(z2 / t2, axis=1))
    np.testing.assert_allclose(combined, expected, rtol=1e-5)
