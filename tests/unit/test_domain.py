"""Covariate-shift measures on synthetic images: image statistics, the domain classifier, near-duplicates."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from sklearn.metrics import roc_auc_score

from kaggle_kit.gap import domain, image_stats, shifts


def textured_images(n: int, seed: int) -> np.ndarray:
    """Random photos-ish: a smooth colour field plus fine texture, uint8 (n, 32, 32, 3)."""
    rng = np.random.default_rng(seed)
    coarse = ndimage.zoom(rng.uniform(40, 215, (n, 4, 4, 3)), (1, 8, 8, 1), order=1)
    fine = rng.normal(0, 18, (n, 32, 32, 3))
    return np.clip(coarse + fine, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def images():
    return textured_images(800, 0)


@pytest.fixture(scope="module")
def two_halves(images):
    """The domain classifier on two halves of one set (no shift), fitted once for the tests that judge it."""
    return domain.domain_classifier(images[:400], images[400:], n_boot=100)


def test_statistics_move_the_way_each_corruption_should(images):
    base = image_stats.image_features(images)
    blur = image_stats.image_features(shifts.corrupt(images, "blur", 4))
    jpeg = image_stats.image_features(shifts.corrupt(images, "jpeg", 5))
    low_contrast = image_stats.image_features(shifts.corrupt(images, "contrast", 4))
    assert np.median(blur["sharpness"]) < 0.3 * np.median(base["sharpness"])
    assert np.median(blur["hf_energy"]) < 0.5 * np.median(base["hf_energy"])
    assert np.median(jpeg["blockiness"]) > 1.1 * np.median(base["blockiness"])
    assert abs(np.median(base["blockiness"]) - 1.0) < 0.05
    assert np.median(low_contrast["std_r"]) < 0.5 * np.median(base["std_r"])
    gray = np.repeat(images[..., :1], 3, axis=3)
    assert np.allclose(image_stats.image_features(gray)["saturation"], 0.0)
    assert set(base) == set(image_stats.FEATURES)
    assert all(v.shape == (len(images),) for v in base.values())


def test_statistics_reject_non_uint8_batches(images):
    with pytest.raises(ValueError, match="uint8"):
        image_stats.image_features(images.astype(np.float32))


def test_two_halves_of_one_set_are_indistinguishable(two_halves):
    res = two_halves
    assert abs(res.auc - 0.5) < 0.08
    assert res.ci[0] < 0.5 < res.ci[1] or abs(res.auc - 0.5) < 0.04
    assert res.n_per_side == 400


def test_an_obviously_different_set_is_separated_and_the_reason_named(images):
    blurred = shifts.corrupt(images[400:], "blur", 4)
    res = domain.domain_classifier(images[:400], blurred, n_boot=100)
    assert res.auc > 0.97 and res.ci[0] > 0.9
    assert res.feature_auc["sharpness"] < 0.1  # the target (label 1) is the blurrier side
    top = list(res.importance)[:3]
    assert {"sharpness", "hf_energy", "std_r", "std_g", "std_b"} & set(top)


def test_near_duplicates_found_through_brightness_change_and_counted_by_threshold(images):
    reference = images[:500]
    copies = np.clip(images[100:150].astype(int) * 0.8 + 20, 0, 255).astype(np.uint8)
    fresh = textured_images(50, 99)
    nd = domain.near_duplicates(np.concatenate([copies, fresh]), reference, thresholds=(0.9, 0.99))
    assert np.array_equal(nd.nearest[:50], np.arange(100, 150))
    assert nd.counts[0.99] >= 50
    assert nd.counts[0.9] <= 50 + 2
    assert (nd.max_similarity[50:] < 0.9).mean() > 0.95


def test_a_mirrored_copy_is_a_near_duplicate_and_said_to_be_mirrored(images):
    """Flipping left-right is the commonest augmentation and a common way a test set leaks: 0.2% of flipped
    CIFAR-10 training images were caught at 0.97 before the mirror image was compared too."""
    reference = images[:500]
    mirrored = np.clip(images[100:150, :, ::-1].astype(int) * 0.8 + 20, 0, 255).astype(np.uint8)
    plain = images[200:250]
    fresh = textured_images(50, 99)
    nd = domain.near_duplicates(np.concatenate([mirrored, plain, fresh]), reference, thresholds=(0.9, 0.99))
    assert np.array_equal(nd.nearest[:100], np.r_[np.arange(100, 150), np.arange(200, 250)])
    assert (nd.max_similarity[:100] >= 0.99).all()
    assert nd.mirrored[:50].all() and not nd.mirrored[50:100].any()
    assert (nd.max_similarity[100:] < 0.9).mean() > 0.95
    assert nd.counts[0.9] <= 100 + 2


def _two_class_stats(n: int, priors: tuple[float, float], seed: int, blur: bool = False):
    """Image statistics of a two-class set whose classes look different (bright vs dark), with class priors."""
    rng = np.random.default_rng(seed)
    labels = (rng.uniform(size=n) < priors[1]).astype(int)
    imgs = textured_images(n, seed)
    imgs = np.where(labels[:, None, None, None] == 1, imgs // 2, imgs).astype(np.uint8)
    if blur:
        imgs = shifts.corrupt(imgs, "blur", 4)
    from kaggle_kit.gap.synthetic import stats_matrix

    return stats_matrix(imgs), labels


def test_reweighted_domain_auc_ignores_a_change_of_class_mix_but_not_of_pixels():
    src, ys = _two_class_stats(1500, (0.5, 0.5), 1)
    tgt, _ = _two_class_stats(1500, (0.15, 0.85), 2)  # same pixels per class, different mix
    plain = domain.reweighted_domain_auc(src, tgt, np.ones(len(ys)))
    w = np.array([0.15 / 0.5, 0.85 / 0.5])[ys]
    assert plain > 0.6  # the class mix alone is visible without weights
    assert domain.reweighted_domain_auc(src, tgt, w) == pytest.approx(0.5, abs=0.05)
    blurred, _ = _two_class_stats(1500, (0.15, 0.85), 3, blur=True)
    assert domain.reweighted_domain_auc(src, blurred, w) > 0.95


def test_reweighted_domain_auc_is_none_when_a_side_is_too_small_to_cross_validate():
    """A smoke-test run (data.holdout_size=10, or data.comp_subset=1) crashed the report and the upload's
    prediction inside sklearn: a fold's training part held one side only."""
    src, ys = _two_class_stats(40, (0.5, 0.5), 1)
    tgt, _ = _two_class_stats(40, (0.5, 0.5), 2)
    assert domain.reweighted_domain_auc(src, tgt[:1], np.ones(len(ys))) is None
    w = np.where(ys == 0, 1.0, 1e-9)  # the re-weighting keeps about half of the holdout ...
    assert domain.reweighted_domain_auc(src[:4], tgt, w[:4] * np.array([1, 1e-9, 1e-9, 1e-9])) is None  # ... or one


def test_estimate_all_leaves_out_the_gated_estimators_without_a_shift_auc():
    from kaggle_kit.gap import estimators

    rng = np.random.default_rng(0)
    labels = np.arange(12) % 10
    hold = rng.normal(size=(12, 10)) + 3 * np.eye(10)[labels]
    stats = rng.normal(size=(12, 5))
    out = estimators.estimate_all(hold, labels, rng.normal(size=(1, 10)), target_stats=stats[:1],
                                  holdout_stats=stats)
    assert out["shift_auc"] is None and "Shift-Gated" not in out["estimates"] and "AC" in out["estimates"]


def test_saturation_and_pooling_equal_their_plain_numpy_definitions(images):
    x = images.astype(np.float64) / 255.0
    mx, mn = x.max(3), x.min(3)
    plain = np.where(mx > 0, (mx - mn) / np.maximum(mx, 1e-12), 0.0).reshape(len(x), -1).mean(1)
    assert np.array_equal(image_stats.saturation(x), plain)
    for size in (4, 8):
        k = 32 // size
        mean = images.reshape(len(images), size, k, size, k, 3).mean(axis=(2, 4), dtype=np.float32) / 255.0
        pooled = domain._pool(images, size)
        assert pooled.dtype == mean.dtype and np.array_equal(pooled, mean)


def test_domain_result_carries_each_sides_statistics(images):
    src, tgt = images[:300], shifts.corrupt(images[300:600], "blur", 2)
    res = domain.domain_classifier(src, tgt, n_boot=20)
    for side, imgs in ((False, src), (True, tgt)):
        got, want = res.side_stats(side), image_stats.image_features(imgs)
        assert all(np.array_equal(np.sort(got[k]), np.sort(want[k])) for k in image_stats.FEATURES)


def test_domain_classifier_gives_none_below_one_image_per_fold():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8)
    assert domain.domain_classifier(images[:4], images[4:], n_boot=10) is None
    assert domain.domain_classifier(images[:10], images[10:], folds=5, n_boot=10) is not None


def test_cv_auc_ci_widens_the_bootstrap_for_correlated_folds():
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(300, int), np.ones(300, int)]
    s = rng.normal(size=600) + 0.3 * y
    auc = roc_auc_score(y, s)
    lo, hi = domain.bootstrap_auc_ci(y, s, 100, seed=3)
    for folds in (5, 10):  # variance x (1 + (folds - 1) / folds): Nadeau & Bengio's fold correlation 1 / folds
        new_lo, new_hi = domain.cv_auc_ci(y, s, folds, 100, seed=3)
        widen = np.sqrt(1 + (folds - 1) / folds)
        assert auc - new_lo == pytest.approx(widen * (auc - lo))
        assert new_hi - auc == pytest.approx(widen * (hi - auc))
    perfect = domain.cv_auc_ci(y, y + 0.0, 5, 50)  # stays within 0-1
    assert perfect == (1.0, 1.0)


def test_no_shift_interval_is_as_wide_as_the_fold_correlation_implies(two_halves):
    """The pooled out-of-fold AUC varies by more than the Mann-Whitney sd: the 5 fold models share training
    images, so their AUCs correlate (0.13-0.17 measured on CIFAR-10, benchmarks/bench_domain_ci.py). The bootstrap
    alone gave 95% intervals that held 0.5 in 83% of no-shift trials at 200 a side."""
    n, res = 400, two_halves
    mann_whitney_sd = np.sqrt((2 * n + 1) / (12 * n * n))
    # 0.8: the percentile ends of 100 bootstrap AUCs are noisy (here 12% inside the Mann-Whitney sd)
    assert res.ci[1] - res.ci[0] > 0.8 * 2 * 1.96 * mann_whitney_sd * np.sqrt(1 + 0.2 * 4)


def test_channel_statistics_are_named_after_their_channel():
    """Mapping "rgb" onto the wrong channels would report a red shift as a blue one."""
    img = np.zeros((2, 32, 32, 3), dtype=np.uint8)
    img[..., 0], img[..., 2] = 255, 51
    img[1, :16, :, 1] = 255  # green on half of the second image
    f = image_stats.image_features(img)
    assert f["mean_r"] == pytest.approx([1.0, 1.0]) and f["mean_b"] == pytest.approx([0.2, 0.2])
    assert f["mean_g"] == pytest.approx([0.0, 0.5]) and f["std_g"] == pytest.approx([0.0, 0.5])
    assert f["std_r"] == pytest.approx([0.0, 0.0]) and f["std_b"] == pytest.approx([0.0, 0.0])


def test_cv_auc_ci_upper_end_is_clipped_to_one():
    """Widened without a clip, the upper end of a 0.98 AUC whose bootstrap reaches 1.0 would pass 1.0."""
    y = np.r_[np.zeros(50, int), np.ones(50, int)]
    s = y.astype(float)
    s[0] += 1.5  # one source image scored above every target image: AUC 0.98
    lo, hi = domain.cv_auc_ci(y, s, 5, 50)
    assert hi == 1.0 and lo < 0.98


def test_a_left_right_symmetric_image_is_matched_as_it_is_not_as_its_mirror():
    """Ties between an image and its mirror go to the image: >= would call every symmetric copy mirrored."""
    rng = np.random.default_rng(0)
    half = rng.integers(0, 256, (3, 32, 16, 3), dtype=np.uint8)
    sym = np.concatenate([half, half[:, :, ::-1]], axis=2)  # each image equals its own mirror image
    nd = domain.near_duplicates(sym[:1], sym, thresholds=(0.99,))
    assert nd.nearest[0] == 0 and not nd.mirrored[0] and nd.mirrored_counts[0.99] == 0


def test_near_duplicate_counts_include_a_similarity_equal_to_the_threshold():
    """Counts are 'at or above' each threshold: > would leave out an image exactly at it."""
    rng = np.random.default_rng(1)
    ref = rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    target = np.clip(ref[:1].astype(int) + rng.integers(-40, 41, (1, 32, 32, 3)), 0, 255).astype(np.uint8)
    sim = float(domain.near_duplicates(target, ref, thresholds=(0.5,)).max_similarity[0])
    assert 0.5 < sim < 1.0
    assert domain.near_duplicates(target, ref, thresholds=(sim,)).counts[sim] == 1


def test_luma_uses_the_bt601_weights_of_red_green_and_blue():
    """Red's and blue's weights swapped would read a blue-tinted set's sharpness as a red-tinted one's."""
    assert image_stats._gray(np.eye(3)[None, None]) == pytest.approx(np.array([[[0.299, 0.587, 0.114]]]))


def test_laplacian_variance_of_a_point_of_light_is_20_ninths():
    """A point in a dark 5x5 field: the 4-neighbour Laplacian is -4 at it and 1 at its four neighbours over the
    3x3 interior, so variance (16 + 4) / 9; a centre weight of 3 would give 13/9 - 1/81."""
    gray = np.zeros((1, 5, 5))
    gray[0, 2, 2] = 1.0
    assert image_stats.laplacian_variance(gray) == pytest.approx([20 / 9])


def _wave(fy: float, fx: float) -> np.ndarray:
    y, x = np.mgrid[:32, :32]
    return np.cos(2 * np.pi * (fy * y + fx * x))[None]


@pytest.mark.parametrize("gray, share", [
    (_wave(0.5, 0.5) * 0.5 + 0.5, 1.0),  # a 0/1 checkerboard: all its power at Nyquist, none left at DC
    (_wave(0.25, 0.25), 1.0),  # radius 0.354 cycles/pixel: above the 0.25 cutoff
    (_wave(0.0, 0.25), 0.0),  # radius exactly 0.25: not above it
    (_wave(0.125, 0.0), 0.0),
])
def test_high_frequency_share_is_the_power_beyond_a_radius_of_a_quarter_cycle_per_pixel(gray, share):
    """Keeping the mean's (DC) power in the total would halve the checkerboard's share; a square instead of a
    circle, or a lower cutoff, would move the diagonal or the slower waves across it."""
    assert image_stats.high_frequency_energy(gray) == pytest.approx([share], abs=1e-9)


def test_blockiness_is_the_same_for_an_image_and_its_transpose(images):
    """Borders are crossed by columns and by rows alike: counting only the column steps twice would score
    horizontal JPEG block edges as none."""
    gray = image_stats._gray(shifts.corrupt(images[:20], "jpeg", 5).astype(np.float64) / 255.0)
    assert image_stats.blockiness(gray) == pytest.approx(image_stats.blockiness(gray.transpose(0, 2, 1)))
    bands = np.repeat(np.arange(4) % 2, 8)[None, :, None] * np.ones((1, 32, 32)) + _wave(0.5, 0.5) * 0.01
    assert image_stats.blockiness(bands)[0] > 10  # steps only across row borders, between the blocks


@pytest.mark.parametrize("shape", [(2, 32, 32, 4), (32, 32, 3), (2, 32, 32)])
def test_statistics_reject_batches_that_are_not_n_rgb_images(shape):
    """Without the shape check a 4-channel or unbatched array failed deep in numpy with a message naming no input."""
    with pytest.raises(ValueError, match="expected uint8 \\(N, H, W, 3\\) images"):
        image_stats.image_features(np.zeros(shape, dtype=np.uint8))


def test_a_capped_side_is_drawn_without_repeats_and_importance_is_measured_on_a_held_out_fold(images, monkeypatch):
    """Ignoring ``max_images`` would fit every image of a 50,000-image side; drawing with replacement would put
    copies of one image on both sides of a fold (an AUC above 0.5 with no shift); permuting on the training rows
    too would rank what the model memorised, not what separates the sets."""
    seen = []
    real = domain.permutation_importance
    monkeypatch.setattr(domain, "permutation_importance", lambda model, x, y, **kw: seen.append(len(x)) or
                        real(model, x, y, **kw))
    res = domain.domain_classifier(images[:300], images[300:420], max_images=100, n_boot=20)
    assert res.n_per_side == 100 and len(res.oof_scores) == 200
    for side in (False, True):
        rows = np.column_stack(list(res.side_stats(side).values()))
        assert len(np.unique(rows, axis=0)) == 100
    assert seen == [40]  # one of the 5 folds of 200 images


def test_each_thumbnail_column_is_the_pixel_block_and_channel_its_name_says():
    """Columns left in pixel-major order under channel-major names would have the report blame the red of one
    corner for a change in the green of another."""
    img = np.zeros((1, 32, 32, 3), dtype=np.uint8)
    img[0, :8, 8:16, 1] = 255  # green, in the 4x4 thumbnail's row 0, column 1
    x, names = domain.domain_features(img)
    thumbs = dict(zip(names[len(image_stats.FEATURES):], x[0, len(image_stats.FEATURES):]))
    assert thumbs.pop("thumb_g_0_1") == 1.0 and set(thumbs.values()) == {0.0}


def test_the_reweighted_auc_fits_at_most_max_images_a_side(monkeypatch):
    """Ignoring ``max_images`` would fit every holdout and competition image again for each estimate."""
    seen = []
    real = domain.cross_val_predict
    monkeypatch.setattr(domain, "cross_val_predict", lambda clf, x, y, **kw: seen.append(np.bincount(y)) or
                        real(clf, x, y, **kw))
    rng = np.random.default_rng(0)
    auc = domain.reweighted_domain_auc(rng.normal(size=(60, 4)), rng.normal(size=(50, 4)), np.ones(60),
                                       max_images=20)
    assert 0.0 <= auc <= 1.0 and [list(c) for c in seen] == [[20, 20]]


def _logit_rows(rng: np.random.Generator, n: int, shift: float = 0.0) -> np.ndarray:
    """A model's log-softmax rows: ``shift`` moves every row's logits off the holdout's (a broken image's)."""
    z = rng.normal(0.0, 2.0, (n, 10))
    z[:, 0] += shift
    return z - np.log(np.exp(z).sum(1, keepdims=True))


@pytest.mark.parametrize("unchanged", [0.0, 0.3, 0.6])
def test_holdout_like_share_reads_the_share_of_a_mixture_left_unchanged(unchanged):
    """A set of which a share is broken: the rest is drawn like the holdout, and the estimate finds that share."""
    rng = np.random.default_rng(4)
    n_same = int(unchanged * 6000)
    target = np.concatenate([_logit_rows(rng, n_same), _logit_rows(rng, 6000 - n_same, shift=6.0)])
    share = domain.holdout_like_share(_logit_rows(rng, 5000), target)
    assert share == pytest.approx(unchanged, abs=0.08)


def test_holdout_like_split_puts_the_broken_rows_in_its_unlike_part():
    """Ref-Split reads each part apart: the rows it calls unlike are mostly the broken ones, the two parts are the
    rows scored (at most 5,000 of the target's), in the share's proportion, and the share is the one
    holdout_like_share gives."""
    rng = np.random.default_rng(4)
    target = np.concatenate([_logit_rows(rng, 3600), _logit_rows(rng, 2400, shift=6.0)])  # rows 3,600 on broken
    hold = _logit_rows(rng, 5000)
    split = domain.holdout_like_split(hold, target)
    assert split.share == domain.holdout_like_share(hold, target) == pytest.approx(0.6, abs=0.08)
    assert len(split.like) + len(split.unlike) == 5000 and not set(split.like) & set(split.unlike)
    assert len(split.like) == round(split.share * 5000) and set(split.like) | set(split.unlike) <= set(range(6000))
    assert np.mean(split.unlike >= 3600) > 0.8 and np.mean(split.like < 3600) > 0.8  # 0.4 and 0.6 by chance
    assert domain.holdout_like_split(hold[:2], target) is None


def test_a_mixtures_parts_score_far_apart_and_a_mild_change_of_every_row_cut_in_two_does_not():
    """Ref-Sep's tell: broken rows stand apart from the unchanged ones (several source deviations between the two
    parts' median scores); a mild shift of every row, which the share may read as a mixture, cuts one population
    in two parts that lie close."""
    rng = np.random.default_rng(4)
    hold = _logit_rows(rng, 5000)
    mixture = np.concatenate([_logit_rows(rng, 3600), _logit_rows(rng, 2400, shift=6.0)])
    mild = _logit_rows(rng, 6000, shift=0.8)
    far, near = domain.holdout_like_split(hold, mixture), domain.holdout_like_split(hold, mild)
    assert far.separation > 3 and 0.4 < near.share < 0.8 and 0 < near.separation < 1.5
    assert domain._separation(np.arange(10.0), 10, 1.0) == domain._separation(np.arange(10.0), 0, 1.0) == 0.0
    assert domain._separation(np.r_[0.0, 0.0, 2.0, 2.0], 2, 0.5) == 4.0


def test_holdout_like_share_is_high_but_biased_low_where_nothing_changed():
    """The least of 33 ratios of noisy shares: two draws of one distribution read 0.8 to 1, not 1."""
    rng = np.random.default_rng(7)
    assert 0.8 < domain.holdout_like_share(_logit_rows(rng, 5000), _logit_rows(rng, 6000)) <= 1.0


def test_holdout_like_share_is_low_where_every_row_moved_a_little():
    """What Ref-Mix tells a mixture from: a milder change of every row leaves few rows holdout-like, although a
    classifier separates the sets no better than it separates a 60% mixture."""
    rng = np.random.default_rng(5)
    hold = _logit_rows(rng, 5000)
    mild = domain.holdout_like_share(hold, _logit_rows(rng, 6000, shift=2.0))
    mixed = np.concatenate([_logit_rows(rng, 3600), _logit_rows(rng, 2400, shift=6.0)])
    assert mild < 0.2 < 0.5 < domain.holdout_like_share(hold, mixed)
    assert domain.reweighted_domain_auc(hold, _logit_rows(rng, 6000, shift=2.0), np.ones(5000)) < \
        domain.reweighted_domain_auc(hold, mixed, np.ones(5000)) + 0.1


def test_holdout_like_share_is_none_when_a_side_is_too_small_to_cross_validate():
    rng = np.random.default_rng(6)
    assert domain.holdout_like_share(_logit_rows(rng, 50), _logit_rows(rng, 2)) is None
