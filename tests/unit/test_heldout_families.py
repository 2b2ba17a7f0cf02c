"""The held-out shift families of ``benchmarks/heldout_families.py``, on tiny arrays."""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import rgb_to_hsv
from PIL import Image
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import heldout_families as fam  # noqa: E402

from kaggle_kit.gap import shifts  # noqa: E402


def _images(n: int = 16) -> np.ndarray:
    return np.random.default_rng(0).integers(30, 226, (n, 32, 32, 3)).astype(np.uint8)


def _smooth(n: int = 16) -> np.ndarray:
    r, c = np.mgrid[0:32, 0:32]
    phase = np.random.default_rng(0).uniform(0, 6, (n, 1, 1, 3))
    return (128 + 90 * np.sin(r[None, :, :, None] / 12 + c[None, :, :, None] / 15 + phase)).astype(np.uint8)


# Families that shrink the image, probed on smooth images: noise has no shapes to shrink, only a mean to approach
PROBES = {"tiled": _smooth}


@pytest.mark.parametrize("name", list(fam.FAMILIES))
def test_each_family_is_deterministic_keeps_the_format_and_grows_with_severity(name):
    x = PROBES.get(name, _images)()
    mild, strong = fam.novel(x, name, 2), fam.novel(x, name, 4)
    assert mild.shape == x.shape and mild.dtype == np.uint8
    np.testing.assert_array_equal(mild, fam.novel(x, name, 2))
    change = [np.abs(y.astype(int) - x).mean() for y in (mild, strong)]
    assert 0 < change[0] < change[1]


def test_each_round_is_eight_families_or_six_new_to_the_synthetic_pool_and_to_the_earlier_rounds():
    assert not set(fam.FAMILIES) & set(shifts.CORRUPTIONS)
    rounds = [fam.NOVEL, fam.CHECK5, fam.CHECK15, fam.CHECK16, fam.CHECK28, fam.CHECK29, fam.CHECK30, fam.CHECK31,
              fam.CHECK32, fam.CHECK33, fam.CHECK34, fam.CHECK35, fam.CHECK36, fam.CHECK37, fam.CHECK38,
              fam.CHECK39, fam.CHECK40, fam.CHECK41, fam.CHECK42, fam.CHECK43, fam.CHECK44, fam.CHECK45, fam.CHECK46,
              fam.CHECK47, fam.CHECK48, fam.CHECK49, fam.CHECK50, fam.CHECK51, fam.CHECK52, fam.CHECK53,
              fam.CHECK54, fam.CHECK55]
    assert [len(r) for r in rounds] == [8] * 21 + [6] + [8] * 10 and len(fam.FAMILIES) == 254  # no name in two rounds


def test_earlier_checks_sets_are_drawn_as_before_later_rounds_were_added():
    """Family seeds follow the place in FAMILIES: each round appended keeps the earlier checks' cached sets valid."""
    assert list(fam.FAMILIES) == [*fam.NOVEL, *fam.CHECK5, *fam.CHECK15, *fam.CHECK16, *fam.CHECK28, *fam.CHECK29,
                                  *fam.CHECK30, *fam.CHECK31, *fam.CHECK32, *fam.CHECK33,
                                  *fam.CHECK34, *fam.CHECK35, *fam.CHECK36, *fam.CHECK37, *fam.CHECK38,
                                  *fam.CHECK39, *fam.CHECK40, *fam.CHECK41, *fam.CHECK42, *fam.CHECK43,
                                  *fam.CHECK44, *fam.CHECK45, *fam.CHECK46, *fam.CHECK47, *fam.CHECK48,
                                  *fam.CHECK49, *fam.CHECK50, *fam.CHECK51, *fam.CHECK52, *fam.CHECK53,
                                  *fam.CHECK54, *fam.CHECK55]
    x = _images(4)
    np.testing.assert_array_equal(fam.novel(x, "glass_blur", 2),  # check 5's first family, seeded as in check 5
                                  fam.glass_blur(x, 2, np.random.default_rng(700 + 8 * 10 + 2)))


def test_solarize_inverts_only_the_values_at_or_above_its_threshold():
    x = np.array([[[[0, 127, 128, 255]]]], dtype=np.uint8).reshape(1, 1, 4, 1).repeat(3, axis=3)
    y = fam.novel(x, "solarize", 4)  # threshold 128
    assert y[0, 0, :, 0].tolist() == [0, 127, 127, 0]


def test_channel_swap_reorders_whole_images_channels_and_leaves_the_others_alone():
    x = _images(200)
    y = fam.novel(x, "channel_swap", 4)  # half the images
    swapped = [k for k in range(len(x)) if not np.array_equal(x[k], y[k])]
    assert 60 < len(swapped) < 140
    orders = [[2, 1, 0], [1, 0, 2], [0, 2, 1], [1, 2, 0], [2, 0, 1]]  # every order but the identity
    assert all(any(np.array_equal(y[k], x[k][:, :, o]) for o in orders) for k in swapped)


def test_letterbox_leaves_a_black_frame_around_a_shrunk_image():
    x = np.full((8, 32, 32, 3), 200, dtype=np.uint8)
    y = fam.novel(x, "letterbox", 4)  # 23 pixels
    assert ((y > 0).any(axis=3).sum(axis=(1, 2)) == 23 * 23).all()


def test_vignette_keeps_the_centre_and_darkens_the_corners():
    y = fam.novel(np.full((1, 32, 32, 3), 200, dtype=np.uint8), "vignette", 4)  # a = 0.75
    assert y[0, 15, 15, 0] >= 199 and y[0, 0, 0, 0] == 50


def test_scanlines_darken_every_other_row_only():
    y = fam.novel(np.full((6, 32, 32, 3), 200, dtype=np.uint8), "scanlines", 2)  # d = 0.3
    for im in y:
        rows = im[:, 0, 0]
        assert set(rows[0::2]) | set(rows[1::2]) == {200, 140} and len(set(rows[0::2])) == 1


def test_occlusion_paints_one_flat_square_per_image():
    x = _images(4)
    y = fam.novel(x, "occlusion", 2)
    changed = (y != x).any(axis=3)
    for k in range(4):
        rows, cols = np.nonzero(changed[k])
        assert rows.max() - rows.min() < 9 and cols.max() - cols.min() < 9  # side 9 at severity 2
        assert len(np.unique(y[k][changed[k]], axis=0)) == 1


def test_gamma_darkening_keeps_black_and_white_and_darkens_the_rest():
    x = np.array([[[[0, 128, 255]]]], dtype=np.uint8)
    y = fam.novel(x, "gamma_dark", 4)
    assert y[0, 0, 0, 0] == 0 and y[0, 0, 0, 2] == 255 and y[0, 0, 0, 1] < 128


def test_motion_blur_kernel_is_a_normalised_line():
    k = fam._line_kernel(5, 0.0)
    assert k.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(k[2], 0.2)  # horizontal: the middle row, every pixel
    assert k[[0, 1, 3, 4]].sum() == 0


@pytest.mark.parametrize("check, with_priors", [(4, 2), (5, 2), (15, 2), (28, 2), (29, 2), (30, 2), (34, 2), (35, 4),
                                                (36, 4), (37, 4), (38, 4), (39, 4), (40, 4),
                                                (41, 4), (42, 4), (43, 4), (44, 4), (45, 8), (46, 4),
                                                (47, 4), (48, 4), (49, 4), (50, 4), (51, 4),
                                                (52, 4), (53, 4), (54, 4), (55, 4)])
def test_novel_sets_are_the_preregistered_ones_plus_the_clean_reference(check, with_priors):
    x, y = _images(40), np.arange(40) % 10
    sets = list(fam.novel_sets(x, y, check))
    assert [s[0] for s in sets][0] == "clean" and len(sets) == 1 + 2 * len(fam.CHECK_FAMILIES[check]) + with_priors
    assert {kind for _, kind, _ in sets} == {"clean", "covariate", "both"}
    assert {n.split("-")[0] for n, kind, _ in sets if kind == "covariate"} == set(fam.CHECK_FAMILIES[check])


def test_a_set_with_changed_priors_resamples_images_of_severity_3_with_their_own_labels():
    """Another severity, or the labels left unresampled, would pair the drawn images with the wrong labels."""
    x, y = _images(40), np.arange(40) % 10
    name, kind, build = list(fam.novel_sets(x, y, 4))[-1]
    assert (name, kind) == ("pixelate-3+longtail10", "both")
    bx, by = build()
    assert 0 < len(bx) == len(by) < 40  # drawn without replacement: a subset
    label_of = {img.tobytes(): label for img, label in zip(fam.novel(x, "pixelate", 3), y)}
    assert [label_of.get(img.tobytes()) for img in bx] == by.tolist()


# ------------------------------------------------------------------ check 16's families
def test_vertical_flip_turns_a_share_of_whole_images_upside_down_and_leaves_the_rest():
    x = _images(200)
    y = fam.novel(x, "vertical_flip", 4)  # 60%
    flipped = [k for k in range(len(x)) if not np.array_equal(x[k], y[k])]
    assert 90 < len(flipped) < 150
    assert all(np.array_equal(y[k], x[k][::-1]) for k in flipped)


def test_shear_moves_rows_sideways_only():
    """An image whose every row is one colour is unchanged by a horizontal shear; one whose columns differ is not."""
    rows = np.repeat(np.linspace(20, 230, 32).astype(np.uint8)[None, :, None, None], 32, axis=2).repeat(3, axis=3)
    np.testing.assert_array_equal(fam.novel(rows, "shear", 4), rows)
    cols = rows.transpose(0, 2, 1, 3).copy()
    assert not np.array_equal(fam.novel(cols, "shear", 4), cols)


def test_median_filter_removes_an_isolated_dot_and_keeps_a_flat_image():
    x = np.full((1, 32, 32, 3), 100, dtype=np.uint8)
    np.testing.assert_array_equal(fam.novel(x, "median_filter", 2), x)
    x[0, 10, 10] = 250
    assert (fam.novel(x, "median_filter", 2) == 100).all()


def test_emboss_leaves_a_flat_image_alone_and_marks_an_edge():
    x = np.full((1, 32, 32, 3), 120, dtype=np.uint8)
    np.testing.assert_array_equal(fam.novel(x, "emboss", 4), x)  # its kernel sums to 1
    x[0, :, 16:] = 200
    y = fam.novel(x, "emboss", 4).astype(int)
    assert y[0, :, 15:17].max() > 200 or y[0, :, 15:17].min() < 120  # over- or undershoot at the edge


def test_roll_moves_every_pixel_without_losing_any():
    x = _images(8)
    y = fam.novel(x, "roll", 4)  # 8 pixels
    for a, b in zip(x, y):
        assert sorted(a.reshape(-1, 3).tolist()) == sorted(b.reshape(-1, 3).tolist())
        assert any(np.array_equal(np.roll(a, (dy, dx), axis=(0, 1)), b) for dy in range(-8, 9) for dx in range(-8, 9)
                   if max(abs(dy), abs(dx)) >= 5)


def test_watermark_only_brightens_and_only_on_its_stripes():
    x = _images(8)
    y = fam.novel(x, "watermark", 4).astype(int)
    assert (y >= x).all()
    changed = (y != x).any(axis=3).mean(axis=(1, 2))
    assert ((0.3 < changed) & (changed < 0.7)).all()  # half the pixels are on a stripe


def test_sepia_at_full_strength_is_the_colour_matrix():
    x = np.array([[[[100, 150, 200]]]], dtype=np.uint8)
    y = fam.sepia(x, 5, np.random.default_rng(0))
    assert y[0, 0, 0].tolist() == [min(255, round(0.393 * 100 + 0.769 * 150 + 0.189 * 200)),
                                    round(0.349 * 100 + 0.686 * 150 + 0.168 * 200),
                                    round(0.272 * 100 + 0.534 * 150 + 0.131 * 200)]


def test_patch_paste_copies_a_square_from_another_image_and_nothing_else():
    x = np.stack([np.full((32, 32, 3), 10 * k, dtype=np.uint8) for k in range(1, 9)])  # each image one value
    y = fam.novel(x, "patch_paste", 4)  # 15 x 15
    for k in range(len(x)):
        diff = (y[k] != x[k]).any(axis=2)
        assert diff.sum() == 15 * 15
        donor = set(np.unique(y[k][diff]).tolist())
        assert len(donor) == 1 and donor != {10 * (k + 1)}


def test_check_16s_sets_are_its_families_at_two_severities_and_two_with_changed_priors():
    x = _images(40)
    labels = np.arange(40) % 10
    names = [name for name, _, _ in fam.novel_sets(x, labels, 16)]
    assert names[0] == "clean" and len(names) == 19
    assert names[-2:] == ["shear-3+dirichlet1", "sepia-3+longtail10"]
    assert {n.rsplit("-", 1)[0] for n in names[1:17]} == set(fam.CHECK16)


# ------------------------------------------------------------------ check 28's families
def test_palette_leaves_each_image_at_most_its_severitys_number_of_colours():
    y = fam.novel(_images(6), "palette", 4)  # 8 colours
    assert all(len(np.unique(im.reshape(-1, 3), axis=0)) <= 8 for im in y)


def test_white_balance_keeps_green_and_moves_red_and_blue_opposite_ways():
    x = np.full((40, 32, 32, 3), 100, dtype=np.uint8)
    y = fam.novel(x, "white_balance", 4).astype(int)  # |t| from 0.1 to 0.2
    assert (y[..., 1] == 100).all()
    red, blue = y[:, 0, 0, 0] - 100, y[:, 0, 0, 2] - 100
    assert (np.sign(red) == -np.sign(blue)).all() and ((np.abs(red) >= 9) & (np.abs(red) <= 21)).all()
    assert (red > 0).any() and (red < 0).any()  # warm and cool images both


def test_grayscale_turns_exactly_its_share_of_images_grey_and_leaves_the_others():
    x = _images(20)
    y = fam.novel(x, "grayscale", 4)  # half
    grey = [k for k in range(20) if not np.array_equal(x[k], y[k])]
    assert len(grey) == 10 and all((y[k] == y[k][..., :1]).all() for k in grey)


def test_barrel_keeps_the_corners_and_magnifies_the_centre():
    x = np.zeros((1, 32, 32, 3), dtype=np.uint8)
    x[0, 14:18, 14:18] = 255  # a 4-pixel square at the centre
    y = fam.novel(x, "barrel", 4)  # k = 0.12: magnified 1.24 times
    assert (y[0, 0, 0] == 0).all() and (y[0, 15:17, 15:17] == 255).all()
    assert y[0, ..., 0].astype(int).sum() > 1.3 * x[0, ..., 0].astype(int).sum()  # the area, about 1.24^2 times

    corner = np.zeros((1, 32, 32, 3), dtype=np.uint8)
    corner[0, 0, 0] = 255
    assert (fam.novel(corner, "barrel", 4)[0, 0, 0] > 150).all()  # its centre is read from 0.19 px inwards


def test_moire_adds_a_bounded_pattern_that_differs_between_channels():
    x = np.full((4, 32, 32, 3), 128, dtype=np.uint8)
    d = fam.novel(x, "moire", 2).astype(int) - 128  # amplitude 0.06 x 255 = 15.3
    assert np.abs(d).max() <= 16 and np.abs(d).max() >= 10
    assert all(not np.array_equal(d[k, ..., 0], d[k, ..., 1]) for k in range(4))


def test_rain_only_lightens_towards_its_streak_colour():
    x = np.full((8, 32, 32, 3), 40, dtype=np.uint8)
    y = fam.novel(x, "rain", 4)
    assert (y >= 40).all() and (y <= 230).all() and 0.02 < (y > 40).any(axis=3).mean() < 0.6


def test_perspective_of_a_flat_image_is_the_same_flat_image():
    """The crop reads only inside the input, so nothing of a border or of the outside comes in."""
    x = np.full((5, 32, 32, 3), 77, dtype=np.uint8)
    np.testing.assert_array_equal(fam.novel(x, "perspective", 5), x)


def test_portrait_blur_keeps_the_centre_sharp_and_blurs_the_corners():
    x = _images(4)
    y = fam.novel(x, "portrait_blur", 4).astype(int)
    change = np.abs(y - x)
    assert change[:, 14:18, 14:18].max() == 0 and change[:, :3, :3].mean() > 5


# ------------------------------------------------------------------ check 29's families
def test_interlace_moves_every_other_row_sideways_and_keeps_the_rest():
    x = np.tile(np.arange(0, 256, 8, dtype=np.uint8)[None, None, :, None], (6, 32, 1, 3))  # columns 0, 8, ..., 248
    y = fam.novel(x, "interlace", 4).astype(int)  # d = 3
    np.testing.assert_array_equal(y[:, 0::2], x[:, 0::2])
    moved = y[:, 1::2, 10, 0] - x[:, 1::2, 10, 0]  # the field read 3 columns left or right
    assert set(np.unique(moved)) <= {-24, 24} and all(len(np.unique(m)) == 1 for m in moved)


def test_halftone_keeps_its_levels_and_the_mean_grey():
    x = np.full((2, 32, 32, 3), 100, dtype=np.uint8)
    y = fam.novel(x, "halftone", 4)  # 3 levels: 0, 128, 255 (rounded)
    assert set(np.unique(y)) <= {0, 128, 255} and len(np.unique(y)) == 2  # 100 lies between 0 and 128
    assert abs(y.astype(float).mean() - 100) <= 128 / 16  # the dither keeps the brightness, to 1 of its 16 steps
    assert all(len(np.unique(c)) <= 3 for c in fam.novel(_images(3), "halftone", 4).transpose(3, 0, 1, 2))


def test_chroma_bleed_keeps_grey_images_and_the_brightness():
    grey = np.repeat(_images(3)[..., :1], 3, axis=3)
    assert np.abs(fam.novel(grey, "chroma_bleed", 4).astype(int) - grey).max() <= 2
    x = _images(3)
    luma = np.array([0.299, 0.587, 0.114])
    y = fam.novel(x, "chroma_bleed", 4)
    assert np.abs(y @ luma - x @ luma).mean() < 2.5 and np.abs(y.astype(int) - x).mean() > 10


def test_scratches_mark_thin_lines_in_white_or_black_only():
    x = np.full((20, 32, 32, 3), 128, dtype=np.uint8)
    y = fam.novel(x, "scratches", 4).astype(int)  # 4 lines per image
    marked = (y != 128).any(axis=3)
    assert (marked.sum(axis=(1, 2)) <= 4 * 40).all() and (marked.sum(axis=(1, 2)) >= 20).all()
    assert ((y == y[..., :1]).all())  # grey stays grey: only towards white or black
    assert (y > 128).any() and (y < 128).any()


def test_ghost_is_each_image_blended_with_another_of_the_set():
    x = _images(8)
    y = fam.novel(x, "ghost", 2).astype(int)  # a = 0.15
    for k in range(8):
        blends = [np.abs(y[k] - (0.85 * x[k] + 0.15 * x[j].astype(float))).max() for j in range(8) if j != k]
        assert min(blends) <= 0.5


def test_aspect_stretches_one_axis_only():
    """An image that changes only down its rows is unchanged by a sideways stretch and changed by a tall one."""
    x = np.tile(np.arange(0, 256, 8, dtype=np.uint8)[None, :, None, None], (20, 1, 32, 3))
    y = fam.novel(x, "aspect", 4)
    same = [np.array_equal(y[k], x[k]) for k in range(20)]
    assert 3 <= sum(same) <= 17
    assert all((y[k] == y[k][:, :1]).all() for k in range(20))  # every row still one value


def test_zoom_out_keeps_the_centre_and_a_flat_image():
    x = np.full((2, 32, 32, 3), 90, dtype=np.uint8)
    np.testing.assert_array_equal(fam.novel(x, "zoom_out", 4), x)
    x[:, 12:20, 12:20] = 250  # an 8-pixel object at the centre shrinks to 0.6 of its size, 0.36 of its area
    y = fam.novel(x, "zoom_out", 4).astype(int)
    area = (y[:, 6:26, 6:26] - 90).sum() / (x[:, 6:26, 6:26].astype(int) - 90).sum()
    assert (y[:, 15:17, 15:17] == 250).all() and 0.3 < area < 0.42


def test_smudge_washes_a_flat_image_to_itself_and_only_moves_pixels_towards_the_wash():
    x = np.full((3, 32, 32, 3), 60, dtype=np.uint8)
    np.testing.assert_array_equal(fam.novel(x, "smudge", 4), x)
    x = _images(6)
    change = np.abs(fam.novel(x, "smudge", 4).astype(int) - x).mean(axis=(0, 3))
    assert change.max() > 15 and (change < 1).mean() > 0.02  # washed patches, some pixels left alone


# ------------------------------------------------------------------ check 30's families
def test_rotate90_turns_exactly_its_share_of_whole_images_a_quarter_and_leaves_the_rest():
    x = _images(50)
    y = fam.novel(x, "rotate90", 4)  # 40%: 20 of 50
    turned = [k for k in range(50) if not np.array_equal(x[k], y[k])]
    assert len(turned) == 20
    assert all(any(np.array_equal(y[k], np.rot90(x[k], r)) for r in (1, 3)) for k in turned)
    lefts = sum(np.array_equal(y[k], np.rot90(x[k], 1)) for k in turned)
    assert 0 < lefts < 20  # both ways


def test_negative_inverts_exactly_its_share_of_whole_images_and_leaves_the_rest():
    x = _images(40)
    y = fam.novel(x, "negative", 4)  # 20%: 8 of 40
    inverted = [k for k in range(40) if not np.array_equal(x[k], y[k])]
    assert len(inverted) == 8 and all(np.array_equal(y[k], 255 - x[k]) for k in inverted)


def test_bloom_only_brightens_and_leaves_an_image_below_its_threshold_alone():
    dark = np.full((2, 32, 32, 3), 150, dtype=np.uint8)  # below sev 4's threshold of 155
    np.testing.assert_array_equal(fam.novel(dark, "bloom", 4), dark)
    x = np.full((2, 32, 32, 3), 60, dtype=np.uint8)
    x[:, 14:18, 14:18] = 250  # a lamp
    y = fam.novel(x, "bloom", 4).astype(int)
    assert (y >= x).all() and y[:, 12, 16].min() > 60 + 20 and (y[:, 0, 0] == 60).all()  # a glow that fades


def test_wobble_shifts_whole_rows_sideways_and_keeps_an_image_of_flat_rows():
    rows = np.tile(np.arange(0, 256, 8, dtype=np.uint8)[None, :, None, None], (4, 1, 32, 3))  # each row one value
    np.testing.assert_array_equal(fam.novel(rows, "wobble", 4), rows)
    x = np.zeros((4, 32, 32, 3), dtype=np.uint8)
    x[:, :, 16:] = 200  # a vertical edge between columns 15 and 16
    y = fam.novel(x, "wobble", 4).astype(int)  # up to 2.5 pixels
    edge = (y[..., 0] >= 100).argmax(axis=2)  # the first bright column of each row
    assert edge.min() >= 13 and edge.max() <= 19 and len(np.unique(edge)) > 2
    assert (y[:, :, :12] == 0).all() and (y[:, :, 20:] == 200).all()


def test_row_noise_offsets_each_row_by_one_amount_for_all_its_pixels_and_channels():
    x = np.full((3, 32, 32, 3), 128, dtype=np.uint8)
    y = fam.novel(x, "row_noise", 4).astype(int)  # sigma 14: no clipping from 128
    assert (y == y[:, :, :1, :1]).all()
    offsets = y[:, :, 0, 0] - 128
    assert 8 < offsets.std() < 20


def test_packet_loss_repeats_the_last_row_received_below_it_and_keeps_the_rows_above():
    x = _images(30)
    y = fam.novel(x, "packet_loss", 4)  # 8 to 14 rows lost
    for k in range(30):
        same = [np.array_equal(y[k, r], x[k, r]) for r in range(32)]
        first_lost = same.index(False) if False in same else 32
        assert 18 <= first_lost <= 24 and all(same[:first_lost])
        assert (y[k, first_lost:] == x[k, first_lost - 1]).all()


def test_low_light_keeps_the_mean_and_its_noise_grows_with_the_brightness():
    x = np.concatenate([np.full((4, 32, 32, 3), 40, np.uint8), np.full((4, 32, 32, 3), 200, np.uint8)])
    y = fam.novel(x, "low_light", 4).astype(float)  # 0.12 photons per level
    assert abs(y[:4].mean() - 40) < 2 and abs(y[4:].mean() - 200) < 3
    assert y[4:].std() > 1.8 * y[:4].std()  # Poisson: sqrt(200 / 40) = 2.2 times


def test_webp_keeps_a_flat_image_and_loses_detail_more_at_lower_quality():
    flat = np.full((2, 32, 32, 3), 120, dtype=np.uint8)
    assert np.abs(fam.novel(flat, "webp", 4).astype(int) - 120).max() <= 3
    x = _images(4)  # noise: all detail
    mild, strong = (np.abs(fam.novel(x, "webp", s).astype(int) - x).mean() for s in (1, 4))
    assert 5 < mild < strong


# ------------------------------------------------------------------ check 31's families
def test_split_tone_tints_dark_and_bright_pixels_differently_and_keeps_each_pixels_brightness():
    x = np.concatenate([np.full((2, 32, 32, 3), 40, np.uint8), np.full((2, 32, 32, 3), 215, np.uint8)], axis=1)
    y = fam.novel(x, "split_tone", 4).astype(float)  # 40 levels: no clipping from 40 or 215
    assert np.abs(y.mean(axis=3) - x.mean(axis=3)).max() < 1  # tints of zero mean over the channels
    dark, bright = y[:, :32].mean(axis=(1, 2)) - 40, y[:, 32:].mean(axis=(1, 2)) - 215
    assert (np.abs(dark).max(axis=1) > 15).all() and (np.abs(bright).max(axis=1) > 15).all()
    assert (np.abs(dark - bright).max(axis=1) > 10).all()  # two tints, not one


def test_ringing_keeps_a_flat_image_and_ripples_beside_an_edge():
    flat = np.full((2, 32, 32, 3), 90, dtype=np.uint8)
    np.testing.assert_array_equal(fam.novel(flat, "ringing", 4), flat)
    x = np.full((1, 32, 32, 3), 60, dtype=np.uint8)
    x[:, 8:24, 8:24] = 190  # a bright square
    y = fam.novel(x, "ringing", 4).astype(int)
    row = y[0, 16, :, 0]  # the edge between columns 7 and 8
    assert row[8] < 190 - 20 and row[7] > 60 + 20  # blurred both sides of the edge
    assert row[8:24].max() > 190 + 10 and row[:8].min() < 60 - 5  # over- and undershoot beside it: Gibbs


def test_film_grain_is_the_same_in_every_channel_and_clumped_in_space():
    x = np.full((4, 32, 32, 3), 128, dtype=np.uint8)
    y = fam.novel(x, "film_grain", 4).astype(float)  # sd 19 levels
    assert (y == y[..., :1]).all() and 15 < (y - 128).std() < 23
    g = y[..., 0] - 128
    assert np.corrcoef(g[:, :, :-1].ravel(), g[:, :, 1:].ravel())[0, 1] > 0.4  # neighbours share a grain


def test_oil_paint_keeps_a_flat_image_and_a_sharp_edge_and_flattens_texture():
    flat = np.full((2, 32, 32, 3), 77, dtype=np.uint8)
    np.testing.assert_array_equal(fam.novel(flat, "oil_paint", 4), flat)
    edge = np.zeros((2, 32, 32, 3), dtype=np.uint8)
    edge[:, :, 16:] = 200
    np.testing.assert_array_equal(fam.novel(edge, "oil_paint", 4), edge)  # edges kept, unlike a blur
    x = _images(4)
    assert fam.novel(x, "oil_paint", 4).astype(float).std() < 0.8 * x.astype(float).std()


def test_swirl_keeps_a_round_image_and_turns_the_middle_more_than_the_edge():
    r, c = np.mgrid[0:32, 0:32] - 15.5
    round_ = np.tile((5 * np.hypot(r, c)).astype(np.uint8)[None, :, :, None], (2, 1, 1, 3))
    assert np.abs(fam.novel(round_, "swirl", 4).astype(int) - round_)[:, 4:28, 4:28].max() <= 3  # bilinear only
    angle = np.tile((128 + 100 * np.cos(np.arctan2(r, c))).astype(np.uint8)[None, :, :, None], (2, 1, 1, 3))
    turned = np.abs(fam.novel(angle, "swirl", 4).astype(int) - angle)[..., 0]
    radius = np.hypot(r, c)
    assert turned[:, (radius > 3) & (radius < 7)].mean() > 3 * turned[:, radius > 17].mean()


def test_demosaic_keeps_a_flat_grey_and_puts_colour_into_a_grey_edge():
    flat = np.full((2, 32, 32, 3), 128, dtype=np.uint8)
    np.testing.assert_array_equal(fam.novel(flat, "demosaic", 4), flat)
    x = np.zeros((2, 32, 32, 3), dtype=np.uint8)
    x[:, :, 15:] = 200  # grey on both sides
    y = fam.novel(x, "demosaic", 4).astype(int)
    colour = y.max(axis=3) - y.min(axis=3)
    assert colour[:, :, 12:18].max() > 20 and colour[:, :, :10].max() == 0 and colour[:, :, 20:].max() == 0


def test_graduated_only_darkens_by_at_most_its_share_and_leaves_one_side_alone():
    x = np.full((6, 32, 32, 3), 200, dtype=np.uint8)
    y = fam.novel(x, "graduated", 4).astype(float)  # up to 60%
    assert (y <= 200).all() and y.min(axis=(1, 2, 3)).min() >= 200 * 0.4 - 1
    assert (y.max(axis=(1, 2, 3)) == 200).all() and (y.min(axis=(1, 2, 3)) < 200 * 0.45).all()


def test_fence_darkens_diagonal_lines_and_leaves_the_rest():
    x = np.full((3, 32, 32, 3), 200, dtype=np.uint8)
    y = fam.novel(x, "fence", 4)  # lines 5 pixels apart, 80% of the way to level 60
    wire = y[..., 0] < 200
    assert set(np.unique(y)) == {200, int(round(0.2 * 200 + 0.8 * 60))}
    assert 0.3 < wire.mean() < 0.4  # two sets of lines 5 apart: 1 - (4/5)^2 of the pixels
    r, c = np.mgrid[0:32, 0:32]
    lines = [((r + c) % 5 == a) | ((r - c) % 5 == b) for a in range(5) for b in range(5)]
    assert all(any(np.array_equal(w, m) for m in lines) for w in wire)  # each image: one phase of each set


def _tiles(x: np.ndarray, t: int) -> list:
    return [x[r:r + t, c:c + t].tobytes() for r in range(0, 32, t) for c in range(0, 32, t)]


def test_jigsaw_moves_whole_tiles_and_keeps_each_one():
    x = _images(6)
    for sev, t in ((2, 16), (4, 8)):
        y = fam.novel(x, "jigsaw", sev)
        for before, after in zip(x, y):
            assert sorted(_tiles(before, t)) == sorted(_tiles(after, t))  # the same tiles, rearranged
            moved = sum(a != b for a, b in zip(_tiles(before, t), _tiles(after, t)))
            assert moved == (3 if sev == 2 else 14)  # 75% of 2 x 2, 85% of 4 x 4


def test_mirror_makes_one_side_the_reflection_of_the_strip_beside_it():
    x = _images(8)
    y = fam.novel(x, "mirror", 4)  # 14 pixels
    for before, after in zip(x, y):
        turns = [np.rot90(after, k) for k in range(4) if np.array_equal(np.rot90(after, k)[:, :18],
                                                                        np.rot90(before, k)[:, :18])]
        assert len(turns) == 1  # one side changed, the rest of the image kept
        np.testing.assert_array_equal(turns[0][:, 18:], turns[0][:, 4:18][:, ::-1])


def test_false_colour_at_full_strength_is_a_colour_map_of_brightness():
    x = np.zeros((40, 32, 32, 3), dtype=np.uint8)
    x[:, :, :16] = 200
    y = fam.novel(x, "false_colour", 5).astype(int)  # b = 1: only the map
    assert (y[:, :, :16] == y[:, :1, :1]).all() and (y[:, :, 16:] == y[:, :1, 16:17]).all()  # a function of brightness
    bright = {tuple(v) for v in y[:, 0, 0]}
    assert len(bright) == 3  # three maps drawn; none of them maps a light grey to a grey
    assert all(max(v) - min(v) > 60 for v in bright)


def test_sketch_whitens_flat_areas_and_draws_a_dark_line_at_an_edge():
    x = np.full((2, 32, 32, 3), 100, dtype=np.uint8)
    y = fam.novel(x, "sketch", 5).astype(int)  # b = 1
    assert (y[:, 4:28, 4:28] >= 254).all()  # a flat grey becomes paper white
    x[:, :, 16:] = 30
    y = fam.novel(x, "sketch", 5).astype(int)[0, 16, :, 0]
    assert y[16] < 200 and y[8] >= 254 and y[26] >= 254  # a line on the dark side of the edge, paper either side


def test_tiled_repeats_one_shrunk_copy_of_the_image():
    x = _images(3)
    y = fam.novel(x, "tiled", 4)  # 3 x 3 copies of 11 pixels
    for k in (0, 11, 22):
        np.testing.assert_array_equal(y[:, k:k + 10, 0:10], y[:, 0:10, 0:10])
        np.testing.assert_array_equal(y[:, 0:10, k:k + 10], y[:, 0:10, 0:10])
    flat = np.full((1, 32, 32, 3), 90, dtype=np.uint8)
    np.testing.assert_array_equal(fam.novel(flat, "tiled", 4), flat)


def test_cast_shadow_darkens_one_side_of_a_line_by_its_share_and_leaves_the_other():
    x = np.full((20, 32, 32, 3), 200, dtype=np.uint8)
    y = fam.novel(x, "cast_shadow", 4).astype(float)  # 70% darker
    assert (y <= 200).all()
    assert (y.max(axis=(1, 2, 3)) >= 199).all() and (y.min(axis=(1, 2, 3)) <= 200 * 0.3 + 2).all()
    half = (y[..., 0] < 100).mean(axis=(1, 2))
    assert ((half > 0.1) & (half < 0.9)).all()  # the line crosses the middle half of the frame


def test_tearing_shifts_bands_of_rows_sideways_and_keeps_the_top_band():
    x = np.tile(np.arange(0, 224, 7, dtype=np.uint8)[None, None, :, None], (10, 32, 1, 3))  # a ramp along columns
    y = fam.novel(x, "tearing", 4)
    np.testing.assert_array_equal(y[:, :4], x[:, :4])  # no cut above row 4
    for img in y:
        rows = {img[r, :, 0].tobytes() for r in range(32)}
        assert 2 <= len(rows) <= 4  # each band one shift: at most three cuts at severity 4
        assert (np.diff(img[..., 0].astype(int), axis=1) >= 0).all()  # shifted, the edge repeated: still a ramp


def test_porthole_blacks_out_the_corners_and_keeps_the_middle():
    x = _images(2)
    y = fam.novel(x, "porthole", 4)  # radius 13
    np.testing.assert_array_equal(y[:, 8:24, 8:24], x[:, 8:24, 8:24])
    assert (y[:, :4, :4] == 0).all() and (y[:, 15:17, 0:2] == 0).all()


# ------------------------------------------------------------------ check 33's families
def test_pixel_sort_sorts_one_span_of_its_share_of_rows_by_brightness_and_keeps_every_pixel():
    x = _images(6)
    y = fam.novel(x, "pixel_sort", 4)  # 70% of the rows: 22 of 32
    lum = lambda v: v.astype(int).sum(axis=-1)  # noqa: E731
    for before, after in zip(x, y):
        changed = [r for r in range(32) if not np.array_equal(before[r], after[r])]
        assert 10 < len(changed) <= 22
        for r in changed:
            assert sorted(map(tuple, before[r])) == sorted(map(tuple, after[r]))  # the row's pixels, reordered
            cols = np.flatnonzero((before[r] != after[r]).any(axis=1))
            span = lum(after[r, cols[0]:cols[-1] + 1])
            assert (np.diff(span) >= 0).all()  # the moved pixels lie in one span, in brightness order


def test_polar_unwraps_exactly_its_share_of_images_and_turns_rings_into_rows():
    r, c = np.mgrid[0:32, 0:32] - 15.5
    rings = np.broadcast_to((np.hypot(r, c) * 10).astype(np.uint8)[None, :, :, None], (20, 32, 32, 3)).copy()
    x = _images(20)
    x[:10] = rings[:10]
    y = fam.novel(x, "polar", 4)  # 45% of 20: 9 images
    changed = [i for i in range(20) if not np.array_equal(x[i], y[i])]
    assert len(changed) == 9
    for i in changed:
        if i < 10:  # a ring image: each row one radius, so one value along the rows whose circle fits the frame
            assert (np.ptp(y[i, :21, :, 0].astype(int), axis=1) <= 3).all()
            assert y[i, 0, 0, 0] < y[i, 16, 0, 0] < y[i, 31, 0, 0]


def test_frost_only_moves_pixels_towards_ice_and_not_everywhere():
    x = _images(10)
    y = fam.novel(x, "frost", 4).astype(float)  # up to 70% of the way
    ice = np.array([220.0, 235.0, 255.0])
    move, most = y - x, 0.7 * (ice - x)
    assert (move >= np.minimum(0, most) - 0.5).all() and (move <= np.maximum(0, most) + 0.5).all()
    untouched = (np.abs(y - x) < 0.5).all(axis=3).mean()
    assert 0.1 < untouched < 0.6  # patches, not a veil


def test_hdr_keeps_a_flat_image_and_brings_a_dark_and_a_bright_half_closer():
    flat = np.full((2, 32, 32, 3), 90, dtype=np.uint8)
    np.testing.assert_array_equal(fam.novel(flat, "hdr", 4), flat)
    x = np.full((1, 32, 32, 3), 30, dtype=np.uint8)
    x[:, :, 16:] = 200
    y = fam.novel(x, "hdr", 4).astype(int)
    assert y[0, :, :4].mean() > 35 and y[0, :, 28:].mean() < 195  # far from the edge: dark up, bright down
    x[:, 8:10, 2:4] = 60  # detail inside the dark half survives
    assert fam.novel(x, "hdr", 4)[0, 8, 2, 0] > fam.novel(x, "hdr", 4)[0, 12, 2, 0]


def test_colour_blind_keeps_greys_and_brings_red_and_green_together():
    grey = np.tile(np.arange(0, 256, 8, dtype=np.uint8)[None, None, :, None], (5, 32, 1, 3))
    np.testing.assert_allclose(fam.novel(grey, "colour_blind", 5), grey, atol=1)
    np.testing.assert_allclose(fam._DICHROMACY.sum(axis=2), 1, atol=1e-5)
    x = np.zeros((30, 32, 32, 3), dtype=np.uint8)
    x[:, :, :16, 0] = 200  # red | green
    x[:, :, 16:, 1] = 200
    y = fam.novel(x, "colour_blind", 5).astype(int)  # b = 1: the simulation alone
    gap = np.abs(y[:, 0, 0] - y[:, 0, 31]).sum(axis=1)
    assert len(set(gap)) == 3 and sorted(set(gap))[1] < 400  # three views drawn; two of them bring red and green
    assert (gap < 250).any()  # together, one much closer (tritanopia confuses blue and yellow instead)


def test_chroma_noise_keeps_each_pixels_brightness_and_colours_a_grey():
    x = np.full((4, 32, 32, 3), 128, dtype=np.uint8)
    y = fam.novel(x, "chroma_noise", 4).astype(float)
    luma = y @ np.array([0.299, 0.587, 0.114])
    assert np.abs(luma - 128).max() < 2  # rounding only
    assert np.ptp(y, axis=3).mean() > 15  # the grey is coloured


def test_tile_turn_turns_whole_tiles_in_place():
    x = _images(6)
    for sev, t, n in ((2, 16, 2), (4, 8, 12)):
        y = fam.novel(x, "tile_turn", sev)
        for before, after in zip(x, y):
            turned = 0
            for r in range(0, 32, t):
                for c in range(0, 32, t):
                    a, b = after[r:r + t, c:c + t], before[r:r + t, c:c + t]
                    ks = [k for k in range(4) if np.array_equal(a, np.rot90(b, k))]
                    assert ks  # each tile is the tile that was there, turned or not
                    turned += ks != [0]
            assert turned == n  # 50% of 2 x 2, 75% of 4 x 4


def test_ripple_keeps_a_flat_image_and_moves_no_pixel_further_than_its_amplitude():
    flat = np.full((3, 32, 32, 3), 77, dtype=np.uint8)
    np.testing.assert_array_equal(fam.novel(flat, "ripple", 4), flat)
    x = np.tile(np.arange(0, 224, 7, dtype=np.uint8)[None, None, :, None], (6, 32, 1, 3))  # 7 levels per column
    y = fam.novel(x, "ripple", 4).astype(int)[..., 0]  # amplitude 2 pixels
    moved = np.abs(y - x[..., 0].astype(int)) / 7
    assert moved.max() <= 2 + 1e-9 and moved.mean() > 0.3


# ------------------------------------------------------------------ check 34's families
def test_dead_pixels_sticks_the_same_positions_at_the_same_cube_corners_in_every_image_and_keeps_the_rest():
    x = _images(20)  # values 30 to 225: a stuck channel (0 or 255) always differs
    y = fam.novel(x, "dead_pixels", 4)  # 6% of positions
    stuck = (y != x).any(axis=3).any(axis=0)
    assert 0.03 < stuck.mean() < 0.09
    assert np.array_equal(y[:, ~stuck], x[:, ~stuck])  # nothing else changed
    assert (y[:, stuck] == y[0, stuck]).all() and set(np.unique(y[:, stuck])) <= {0, 255}


def test_kaleidoscope_makes_exactly_its_share_of_images_symmetric_about_both_centre_lines():
    x = _images(20)
    y = fam.novel(x, "kaleidoscope", 4)  # 45% of 20: 9 images
    changed = [i for i in range(20) if not np.array_equal(x[i], y[i])]
    assert len(changed) == 9
    quadrants = [(slice(r, r + 16), slice(c, c + 16)) for r in (0, 16) for c in (0, 16)]
    for i in changed:
        np.testing.assert_array_equal(y[i], y[i][::-1])
        np.testing.assert_array_equal(y[i], y[i][:, ::-1])
        assert any(np.array_equal(y[i][q], x[i][q]) for q in quadrants)  # one quadrant kept, reflected


def test_row_shuffle_moves_whole_bands_and_keeps_every_band_once():
    x = _images(6)
    for sev, h, n in ((2, 8, 2), (4, 4, 6)):  # 50% of 4 bands, 75% of 8
        y = fam.novel(x, "row_shuffle", sev)
        for before, after in zip(x, y):
            bands = [before[r:r + h] for r in range(0, 32, h)]
            src = [[k for k, b in enumerate(bands) if np.array_equal(after[r:r + h], b)] for r in range(0, 32, h)]
            assert all(len(s) == 1 for s in src)  # each band one of the image's bands
            src = [s[0] for s in src]
            assert sorted(src) == list(range(32 // h))  # every band kept, once: every pixel kept
            assert sum(s != k for k, s in enumerate(src)) == n


def test_ordered_dither_gives_k_grey_levels_keeps_black_and_white_and_the_colour_differences():
    grey = np.tile(np.arange(0, 256, 8, dtype=np.uint8)[None, None, :, None], (2, 32, 1, 3))
    for sev, k in ((2, 6), (4, 3)):
        y = fam.novel(grey, "ordered_dither", sev)
        assert set(np.unique(y)) == set(np.rint(np.arange(k) * 255 / (k - 1)))
    for v in (0, 255):
        flat = np.full((2, 32, 32, 3), v, dtype=np.uint8)
        np.testing.assert_array_equal(fam.novel(flat, "ordered_dither", 5), flat)
    x = _images(4)
    y = fam.novel(x, "ordered_dither", 4).astype(int)
    inside = ((y > 0) & (y < 255)).all(axis=3)  # not clipped
    assert inside.mean() > 0.5 and (np.ptp(y - x, axis=3)[inside] <= 1).all()  # all channels moved alike


def test_night_vision_turns_exactly_its_share_of_images_green():
    x = _images(20)
    y = fam.novel(x, "night_vision", 4).astype(int)  # 45% of 20: 9 images
    changed = [i for i in range(20) if not np.array_equal(x[i], y[i])]
    assert len(changed) == 9
    for i in changed:
        r, g, b = y[i, ..., 0], y[i, ..., 1], y[i, ..., 2]
        assert (g >= r).all() and (g >= b).all() and g.mean() > 40
        assert (np.abs(r - g / 4) <= 1).all()
        assert g[12:20, 12:20].mean() > g[[0, 0, -1, -1], [0, -1, 0, -1]].mean()  # darker corners


def test_anaglyph_keeps_a_flat_image_and_green_and_blue_and_shifts_red_sideways():
    flat = np.broadcast_to(np.array([200, 50, 90], dtype=np.uint8), (2, 32, 32, 3)).copy()
    np.testing.assert_array_equal(fam.novel(flat, "anaglyph", 4), flat)
    x = _images(4)
    y = fam.novel(x, "anaglyph", 5)  # 3 pixels, all the way
    np.testing.assert_array_equal(y[..., 1:], x[..., 1:])
    np.testing.assert_array_equal(y[:, :, 3:, 0], x[:, :, :-3, 0])
    np.testing.assert_array_equal(y[:, :, :3, 0], np.repeat(x[:, :, :1, 0], 3, axis=2))  # the edge repeated


def test_lens_dirt_darkens_a_flat_image_in_soft_blobs_to_at_most_its_opacity():
    flat = np.full((10, 32, 32, 3), 200, dtype=np.uint8)
    y = fam.novel(flat, "lens_dirt", 4).astype(int)  # up to 75% of the way to 40%: 110 at the darkest
    assert (y <= 200).all() and (y == y[..., :1]).all()
    darkest = y.min(axis=(1, 2, 3))
    assert (darkest >= 110).all() and (darkest <= 116).all()  # a centre in the frame: its pixel near full opacity
    dark = (y[..., 0] < 180).mean(axis=(1, 2))
    assert (dark > 0.01).all() and (dark < 0.7).all()  # blobs, not a veil
    x = _images(10)
    assert (fam.novel(x, "lens_dirt", 4).mean(axis=(1, 2, 3)) < x.mean(axis=(1, 2, 3))).all()


def test_underwater_takes_red_more_than_green_and_blue_and_more_at_the_bottom():
    white = np.full((1, 32, 32, 3), 255, dtype=np.uint8)
    y = fam.novel(white, "underwater", 4).astype(int)[0]
    assert (y == y[:, :1]).all() and (np.diff(y[:, 0], axis=0) <= 0).all()  # by row only, darker downwards
    loss = y[0, 0] - y[-1, 0]  # top minus bottom, per channel
    assert loss[0] > loss[1] > loss[2] > 0 and y[-1, 0, 0] < y[-1, 0, 1] < y[-1, 0, 2]
    black = np.zeros((1, 32, 32, 3), dtype=np.uint8)
    np.testing.assert_array_equal(fam.novel(black, "underwater", 4)[0, 5, 5], [8, 36, 44])  # the haze at b = 0.4


# ------------------------------------------------------------------ check 35's families
def test_faded_print_lifts_black_raises_red_over_blue_and_keeps_white():
    x = np.array([[[[0, 0, 0], [128, 128, 128], [255, 255, 255]]]], dtype=np.uint8)
    y = fam.novel(x, "faded_print", 4).astype(int)[0, 0]  # f = 0.4: blacks at 0.12 of white
    assert (y[0] == round(0.12 * 255)).all() and (y[2] == 255).all()
    assert y[1, 0] > y[1, 1] > y[1, 2]


def test_cross_process_steepens_red_and_green_about_the_middle_and_squeezes_blue():
    ramp = np.tile(np.arange(0, 256, 5, dtype=np.uint8)[None, None, :, None], (1, 1, 1, 3))
    y = fam.novel(ramp, "cross_process", 4).astype(int)[0, 0]  # k = 0.4
    v = ramp[0, 0, :, 0].astype(int)
    np.testing.assert_array_equal(y[:, 0], y[:, 1])
    assert y[0, 0] == 0 and y[-1, 0] == 255 and (np.diff(y[:, 0]) >= 0).all()
    low, high = (v > 0) & (v < 100), (v > 155) & (v < 255)
    assert (y[low, 0] < v[low]).all() and (y[high, 0] > v[high]).all()  # an S: darker low, brighter high
    assert y[0, 2] == 51 and y[-1, 2] == 204  # blue from 0.2 to 0.8 of white


def test_flicker_bands_scale_whole_rows_by_a_smooth_factor_within_the_amplitude():
    y = fam.novel(np.full((6, 32, 32, 3), 100, dtype=np.uint8), "flicker_bands", 4).astype(int)  # a = 0.3
    assert (y == y[:, :, :1, :1]).all()  # one value per row
    rows = y[:, :, 0, 0]
    assert rows.min() >= 70 and rows.max() <= 130 and (np.ptp(rows, axis=1) > 30).all()
    assert (np.abs(np.diff(rows, axis=1)) <= 100 * 0.3 * 2 * np.pi / 8 + 1).all()  # no faster than the shortest period


def test_light_leak_adds_orange_falling_away_from_one_edge():
    y = fam.novel(np.full((8, 32, 32, 3), 60, dtype=np.uint8), "light_leak", 4).astype(int) - 60  # a = 0.65
    assert (y >= 0).all() and (y[..., 0] >= y[..., 1]).all() and (y[..., 1] >= y[..., 2]).all()
    for im in y[..., 0]:
        edges = [im[0].mean(), im[:, 0].mean(), im[-1].mean(), im[:, -1].mean()]
        assert max(edges) >= round(0.65 * 255) - 60 - 1 and im[16, 16] < max(edges) / 4


def _changed_share(x, name, sev, count):
    """The family at ``sev`` on ``x`` and the images it changed, exactly ``count`` of them: a share family marks a
    drawn share of the images and leaves the others alone."""
    y = fam.novel(x, name, sev)
    changed = [i for i in range(len(x)) if not np.array_equal(x[i], y[i])]
    assert len(changed) == count
    return y, changed


def test_mixed_phones_changes_exactly_twice_its_share_half_vivid_half_soft():
    x = _images(40)
    y, changed = _changed_share(x, "mixed_phones", 4, 18)  # 22% twice: 18 of 40
    spread = [np.ptp(y[i].astype(int), axis=2).mean() - np.ptp(x[i].astype(int), axis=2).mean() for i in changed]
    assert sum(s > 0 for s in spread) == 9  # the vivid half: more colourful


def test_auto_crop_changes_exactly_its_share_each_to_a_window_scaled_back_up():
    x = _images(20)
    y, changed = _changed_share(x, "auto_crop", 4, 9)  # 45% of 20, windows of 20 pixels
    for i in changed:
        windows = [np.asarray(Image.fromarray(x[i, r:r + 20, c:c + 20]).resize((32, 32), Image.Resampling.BICUBIC))
                   for r in range(13) for c in range(13)]
        assert any(np.array_equal(y[i], w) for w in windows)


def test_status_bar_darkens_the_top_and_bottom_rows_of_exactly_its_share_and_keeps_the_middle():
    x = _images(20)
    y, changed = _changed_share(x, "status_bar", 4, 9)  # 45% of 20
    for i in changed:
        np.testing.assert_array_equal(y[i, 4:-3], x[i, 4:-3])
        assert (y[i, -3:] == 20).all() and set(np.unique(y[i, :4])) == {20, 235}
        assert 12 + 3 * 4 <= (y[i, :4, :, 0] == 235).sum() <= 12 + 5 * 4  # the clock and 3 to 5 icons


def test_thumbnails_blur_exactly_their_share_and_keep_the_mean():
    x = _images(20)
    y, changed = _changed_share(x, "thumbnails", 4, 9)  # 45% of 20, through 10 pixels
    for i in changed:
        assert np.abs(np.diff(y[i].astype(int), axis=0)).mean() < np.abs(np.diff(x[i].astype(int), axis=0)).mean() / 2
        assert abs(y[i].mean() - x[i].mean()) < 2


# ------------------------------------------------------------------ check 36's families
def test_purple_fringe_tints_edges_violet_and_leaves_flat_areas():
    x = np.zeros((1, 32, 32, 3), dtype=np.uint8)
    x[0, :, 16:] = 255  # one vertical edge
    y = fam.novel(x, "purple_fringe", 4).astype(int)[0]  # a = 0.6
    np.testing.assert_array_equal(y[:, :12], 0)
    np.testing.assert_array_equal(y[:, 20:], 255)
    edge = y[:, 15]
    assert (edge[:, 2] > edge[:, 1] + 50).all() and (edge[:, 0] > edge[:, 1]).all()  # violet: blue, red over green


def test_censor_block_replaces_one_square_by_its_cell_means():
    x = _images(6)
    y = fam.censor_block(x, 2, np.random.default_rng(5))  # 12 pixels, cells of 4
    for k, (r, c) in enumerate(np.random.default_rng(5).integers(0, 21, (6, 2))):
        outside = np.ones((32, 32), dtype=bool)
        outside[r:r + 12, c:c + 12] = False
        np.testing.assert_array_equal(y[k][outside], x[k][outside])
        for i in range(r, r + 12, 4):
            for j in range(c, c + 12, 4):
                mean = x[k, i:i + 4, j:j + 4].reshape(-1, 3).mean(axis=0)
                assert (np.abs(y[k, i:i + 4, j:j + 4].astype(int) - mean) <= 0.5).all()


def test_bit_flips_change_single_bits_of_about_their_share_of_bytes():
    x = _images(40)
    y = fam.novel(x, "bit_flips", 4)  # 7% of the bytes
    diff = x ^ y
    changed = diff != 0
    assert 0.06 < changed.mean() < 0.08
    assert all(bin(v).count("1") == 1 for v in np.unique(diff[changed]))


def test_subpixels_keep_one_channel_per_column_in_a_repeating_cycle():
    y = fam.novel(np.full((4, 32, 32, 3), 200, dtype=np.uint8), "subpixels", 4).astype(int)  # d = 0.6
    for im in y:
        assert (im == im[:1]).all()  # the same in every row
        kept = (im[0] == 200).argmax(axis=1)
        assert ((im[0] == 200).sum(axis=1) == 1).all() and (im[0][im[0] != 200] == 80).all()
        assert len(set((kept - np.arange(32)) % 3)) == 1  # red, green, blue, red, ...


def test_overexposure_brightens_every_value_and_clips_white():
    x = np.tile(np.arange(0, 256, 15, dtype=np.uint8)[None, None, :, None], (5, 1, 1, 3))
    y = fam.novel(x, "overexposure", 4).astype(int)  # 1 to 2 stops
    v = x.astype(int)
    assert (y[v == 0] == 0).all() and (y[v == 255] == 255).all()
    assert (y[(v > 0) & (v < 255)] > v[(v > 0) & (v < 255)]).all()
    assert (y[:, 0, -4:] == 255).all()  # the top values clipped to white, even at 1 stop


def test_tilt_shift_keeps_a_sharp_band_and_blurs_far_rows():
    x = _images(6)
    y = fam.tilt_shift(x, 4, np.random.default_rng(5)).astype(int)
    f = x.astype(float)
    grey = fam.luma(f)[..., None]
    vivid = fam.to_uint8(grey + 1.3 * (f - grey)).astype(int)  # saturation only
    for k, centre in enumerate(np.random.default_rng(5).integers(10, 23, 6)):
        band = slice(centre - 4, centre + 5)
        np.testing.assert_array_equal(y[k, band], vivid[k, band])
        far = np.abs(np.arange(32) - centre) >= 16
        rough = [np.abs(np.diff(im[far], axis=1)).mean() for im in (y[k], vivid[k])]
        assert rough[0] < rough[1] / 1.5


def test_hot_columns_raise_whole_columns_and_nothing_else():
    x = np.full((5, 32, 32, 3), 50, dtype=np.uint8)
    y = fam.novel(x, "hot_columns", 4).astype(int)  # 4 columns
    for im in y:
        hot = im[0, :, 0] == 200
        assert hot.sum() == 4 and (im[:, hot] == 200).all() and (im[:, ~hot] == 50).all()


def test_sticker_covers_exactly_its_share_with_a_yellow_disc():
    x = _images(20)
    y, changed = _changed_share(x, "sticker", 4, 9)  # 45% of 20, radius 6
    for i in changed:
        yellow = (y[i] == (255, 210, 40)).all(axis=2)
        assert 90 <= yellow.sum() <= 113 and ((y[i] == 30).all(axis=2)).sum() == 2  # pi 6^2 less two eyes
        rest = ~yellow & ~(y[i] == 30).all(axis=2)
        np.testing.assert_array_equal(y[i][rest], x[i][rest])


def test_neon_darkens_flat_areas_and_lights_edges():
    x = np.full((2, 32, 32, 3), 200, dtype=np.uint8)
    np.testing.assert_array_equal(fam.novel(x, "neon", 2), 130)  # a = 0.35 of black where nothing changes
    x[:, :, 16:] = 40
    y = fam.novel(x, "neon", 2).astype(int)
    assert (y[:, :, :4] == 130).all() and (y[:, :, 26:] == 26).all()  # each flat side
    assert (y[:, :, 15] > 130 + 50).all() and (y[:, :, 16] > 26 + 50).all()  # the edge glows on both


def test_water_drops_show_the_scene_upside_down_inside_each_drop():
    x = np.broadcast_to((40 + 4 * np.arange(32))[None, :, None, None], (6, 32, 32, 3)).astype(np.uint8)  # row ramp
    y = fam.water_drops(x, 2, np.random.default_rng(3)).astype(int)  # 3 drops
    rng = np.random.default_rng(3)
    centres, radii = rng.uniform(3, 29, (3, 6, 2)), rng.uniform(3, 6, (3, 6))
    rows, cols = np.mgrid[0:32, 0:32]
    for k in range(6):
        dist = [np.hypot(rows - c[0], cols - c[1]) for c in centres[:, k]]
        dry = np.all([d >= r for d, r in zip(dist, radii[:, k])], axis=0)
        np.testing.assert_array_equal(y[k][dry], x[k][dry])
        lens = dist[-1] < radii[-1, k] - 1  # the last drop lies on top
        src = np.clip(np.rint(centres[-1, k, 0] - 0.6 * (rows - centres[-1, k, 0])), 0, 31)
        np.testing.assert_array_equal(y[k, lens, 0], 40 + 4 * src[lens])
        rim = (dist[-1] >= radii[-1, k] - 1) & (dist[-1] < radii[-1, k])
        assert (y[k, rim, 0] < 0.61 * (40 + 4 * 31)).all()


def test_stained_glass_fills_cells_with_one_colour_between_dark_lead():
    flat = fam.stained_glass(np.full((3, 32, 32, 3), 200, dtype=np.uint8), 5, np.random.default_rng(4))
    lead = flat[..., 0] == 100
    assert set(np.unique(flat)) == {100, 200} and 0.15 < lead.mean() < 0.6
    y = fam.stained_glass(_images(3), 5, np.random.default_rng(4))  # 18 cells, the same seeds
    for k in range(3):
        assert len(np.unique(y[k][~lead[k]], axis=0)) <= 18


def test_wavelet_codec_keeps_four_pixel_blocks_and_drops_fine_detail():
    blocks = np.kron(_images(2)[:, ::4, ::4], np.ones((1, 4, 4, 1), dtype=np.uint8))
    np.testing.assert_array_equal(fam.novel(blocks, "wavelet_codec", 4), blocks)
    chequer = np.where((np.add.outer(np.arange(32), np.arange(32)) % 2)[None, ..., None], 131, 125).repeat(3, 3)
    np.testing.assert_array_equal(fam.novel(chequer.astype(np.uint8), "wavelet_codec", 2), 128)  # q = 16


def test_ink_bleed_spreads_dark_pixels_and_never_lightens():
    x = np.full((1, 32, 32, 3), 255, dtype=np.uint8)
    x[0, 10, 10] = 0
    y = fam.novel(x, "ink_bleed", 4).astype(int)  # 5 x 5, a = 0.6
    ring = np.ones((5, 5), dtype=bool)
    ring[2, 2] = False  # the black pixel itself stays black
    assert (y[0, 8:13, 8:13][ring] == 102).all() and (y.sum(axis=3) < 765).sum() == 25
    z = _images(4)
    assert (fam.novel(z, "ink_bleed", 2) <= z).all()


def test_flare_ghosts_only_add_light_with_discs_on_the_line_through_the_centre():
    x = np.zeros((5, 32, 32, 3), dtype=np.uint8)
    y = fam.flare_ghosts(x, 4, np.random.default_rng(2)).astype(int)  # a = 0.45
    angle = np.random.default_rng(2).uniform(0, 2 * np.pi, 5)
    for k in range(5):
        src = 15.5 + 16 * np.array([np.sin(angle[k]), np.cos(angle[k])])
        far = np.clip(np.rint(15.5 - 0.9 * (src - 15.5)), 0, 31).astype(int)  # the last ghost, radius 6
        assert (y[k, far[0], far[1]] >= np.rint(0.45 * np.array([90, 210, 255])) - 1).all()
    z = _images(4)
    assert (fam.novel(z, "flare_ghosts", 2) >= z).all()


def test_date_stamp_marks_exactly_its_share_in_the_lower_right_corner_in_orange():
    x = _images(20)
    y, changed = _changed_share(x, "date_stamp", 4, 9)  # 45% of 20
    for i in changed:
        diff = (y[i] != x[i]).any(axis=2)
        rows, cols = np.nonzero(diff)
        assert rows.min() >= 25 and rows.max() <= 29 and cols.min() >= 16 and cols.max() <= 30
        assert (y[i][diff] == (255, 140, 0)).all() and diff.sum() >= 4 * 7  # "1" is the thinnest digit


def test_viewfinder_draws_thirds_and_corner_brackets_on_exactly_its_share():
    x = np.full((20, 32, 32, 3), 200, dtype=np.uint8)
    y, changed = _changed_share(x, "viewfinder", 2, 4)  # 20% of 20
    y = y.astype(int)
    for i in changed:
        assert (y[i, 10, 6:9] == 210).all() and (y[i, 15:18, 21] == 210).all() and y[i, 10, 10, 0] == 215
        assert (y[i, 2, 2:5] == 255).all() and (y[i, 27:30, 29] == 255).all()
        assert (y[i, 5:9, 5:9] == 200).all()


# ------------------------------------------------------------------ check 38's families: each change on every image
# and in full on a share
@pytest.mark.parametrize("name", ["low_rank", "lost_plane", "contours", "dc_drift",  # check 38's
                                  "double_exposure", "yuv_mixup", "truncated", "overflow",  # check 39's
                                  "fourier_style", "phase_noise", "colour_transfer", "nibble_swap",  # check 40's
                                  "spin_blur", "colour_splash", "chroma_swap", "ccd_smear",  # check 41's
                                  "pixel_scramble", "block_exposure", "mirror_ghost", "no_black_plate",  # 42's
                                  "checkerboard", "texture_codec", "diptych", "pink_highlights"])  # 43's
def test_each_paired_change_comes_on_every_image_and_in_full_on_a_share(name):
    x = _images(20)
    every = fam.novel(x, name, 4)
    assert all(not np.array_equal(x[i], every[i]) for i in range(20))
    _changed_share(x, f"{name}_some", 4, 9)  # 45% of 20
    _changed_share(x, f"{name}_some", 2, 4)  # 20% of 20


def test_low_rank_keeps_a_rank_one_image_and_approximates_others_by_two_components():
    r = np.linspace(40, 200, 32)
    flat = np.broadcast_to((np.outer(r, r) / 200)[None, :, :, None], (2, 32, 32, 3)).round().astype(np.uint8)
    np.testing.assert_array_equal(fam.novel(flat, "low_rank", 4), flat)  # rank 1 per channel: nothing to drop
    x = _images(3)
    y, changed = _changed_share(x, "low_rank_some", 5, 2)  # 60% of 3
    for i in changed:
        for c in range(3):
            assert np.linalg.matrix_rank(y[i, :, :, c].astype(float), tol=32 * 0.6) <= 2  # rank 2 up to rounding


def test_lost_plane_weakens_exactly_one_channel_per_image_and_its_share_loses_one_whole():
    x = _images(10)
    y = fam.novel(x, "lost_plane", 2).astype(int)  # a = 0.4
    for i in range(10):
        kept = [c for c in range(3) if np.array_equal(y[i, :, :, c], x[i, :, :, c])]
        assert len(kept) == 2
        lost = ({0, 1, 2} - set(kept)).pop()
        assert np.abs(y[i, :, :, lost] - 0.6 * x[i, :, :, lost]).max() <= 0.5
    z, changed = _changed_share(x, "lost_plane_some", 4, 4)  # 45% of 10 rounds to 4
    for i in changed:
        assert sorted((z[i] == 0).all(axis=(0, 1))) == [False, False, True]


def test_contours_darken_only_where_the_brightness_crosses_a_step_of_24():
    x = np.zeros((1, 32, 32, 3), dtype=np.uint8)
    x[0] += np.arange(4, 256, 8, dtype=np.uint8)[None, :, None]  # a left-to-right ramp: luma = value
    y = fam.novel(x, "contours", 4).astype(int)  # a = 0.7
    dark = (y[0] != x[0]).any(axis=2)
    np.testing.assert_array_equal(np.nonzero(dark[0])[0], [2, 5, 8, 11, 14, 17, 20, 23, 26, 29])  # 20 -> 28 ...
    assert (dark == dark[0]).all() and (y[0][dark] == np.rint(0.3 * x[0][dark])).all()
    flat = np.full((1, 32, 32, 3), 100, dtype=np.uint8)
    np.testing.assert_array_equal(fam.novel(flat, "contours_some", 5), flat)  # no crossing: nothing drawn
    z, changed = _changed_share(x.repeat(5, 0), "contours_some", 5, 3)  # 60% of 5
    assert (z[changed][:, dark] == 0).all()


def test_dc_drift_shifts_each_8_by_8_block_by_one_colour():
    x = np.full((3, 32, 32, 3), 128, dtype=np.uint8)
    x[:, ::2] += 4  # a fine pattern the shift must carry unchanged
    y = fam.novel(x, "dc_drift", 2).astype(int) - x  # sigma 24: rarely clipped from 128
    blocks = y.reshape(3, 4, 8, 4, 8, 3)
    unclipped = (np.abs(blocks).max(axis=(2, 4)) < 120)
    assert unclipped.mean() > 0.95
    spread = np.ptp(blocks, axis=(2, 4))  # within a block: one offset
    assert (spread[unclipped] == 0).all()
    assert np.unique(blocks[:, :, 0, :, 0].reshape(-1, 3), axis=0).shape[0] > 40  # offsets differ between blocks


# ------------------------------------------------------------------ check 39's families (each pair tested above)
def test_double_exposure_lays_another_image_of_the_set_over_each():
    x = np.repeat(np.arange(0, 200, 20, dtype=np.uint8), 32 * 32 * 3).reshape(10, 32, 32, 3)  # flat, all different
    y = fam.novel(x, "double_exposure", 4).astype(float)  # a = 0.35
    other = (y[:, 0, 0, 0] - 0.65 * x[:, 0, 0, 0]) / 0.35
    assert (np.abs(other[:, None] - x[None, :, 0, 0, 0]).min(1) <= 1.5).all()  # another image of the set...
    assert (np.abs(other - x[:, 0, 0, 0]) > 10).all()  # ...never itself
    assert (y == y[:, :1, :1]).all()  # each image one flat blend
    z, changed = _changed_share(x, "double_exposure_some", 5, 6)  # 60% of 10: halves of one another
    others = 2 * z[changed, 0, 0, 0].astype(int) - x[changed, 0, 0, 0]
    assert sorted(others) == sorted(x[changed, 0, 0, 0]) and (others != x[changed, 0, 0, 0]).all()


def test_yuv_mixup_decodes_rgb_as_ycbcr():
    x = np.array([100, 128, 128, 100, 128, 228], dtype=np.uint8).reshape(2, 1, 1, 3).repeat(32, 1).repeat(32, 2)
    y, changed = _changed_share(np.concatenate([x] * 5), "yuv_mixup_some", 5, 6)  # 60% of 10, grey and purple
    assert {tuple(int(v) for v in y[i, 0, 0]) for i in changed} == {(100, 100, 100), (240, 29, 100)}
    assert {tuple(int(v) for v in y[i, 0, 0]) for i in changed if i % 2 == 0} <= {(100, 100, 100)}  # grey stays
    mixed = fam.novel(x, "yuv_mixup", 2)[1, 0, 0].astype(int)  # a = 0.4 of the way from (100, 128, 228)
    np.testing.assert_allclose(mixed, np.rint(0.6 * np.array([100, 128, 228]) + 0.4 * np.array([240.2, 28.6, 100])),
                               atol=1)


def test_truncated_greys_every_row_from_one_drawn_row_down():
    x = np.zeros((40, 32, 32, 3), dtype=np.uint8)
    y, changed = _changed_share(x, "truncated_some", 5, 24)  # 60% of 40
    for i in changed:
        grey = (y[i] == 128).all(axis=(1, 2))
        first = int(np.argmax(grey))
        assert 12 <= first <= 24 and grey[first:].all() and not grey[:first].any()
    z = fam.novel(x, "truncated", 2)  # a = 0.4: 0.4 of the way to 128
    assert set(np.unique(z)) == {0, 51} and ((z == 51).all(axis=(2, 3)).sum(1) >= 8).all()


def test_overflow_wraps_bright_values_dark():
    x = np.array([0, 100, 127, 128, 200, 255], dtype=np.uint8).reshape(1, 1, 6, 1).repeat(3, 3).repeat(10, 0)
    y, changed = _changed_share(x, "overflow_some", 5, 6)  # 60% of 10, doubled
    assert y[changed[0], 0, :, 0].tolist() == [0, 200, 254, 0, 144, 254]
    assert fam.novel(x, "overflow", 4)[0, 0, :, 0].tolist() == [0, 135, 171, 173, 14, 88]  # x 1.35, wrapped


# ------------------------------------------------------------------ check 40's families (each pair tested above)
def test_fourier_style_takes_the_other_images_low_frequency_amplitude_and_keeps_the_high_ones():
    x = _images(6)
    y = fam.novel(x, "fourier_style_some", 5, seed=1)  # 60% of 6 in full
    changed = [i for i in range(6) if not np.array_equal(x[i], y[i])]
    assert len(changed) == 4
    f = np.fft.fft2(x.astype(float), axes=(1, 2))
    for i in changed:
        g = np.abs(np.fft.fft2(y[i].astype(float), axes=(0, 1)))
        high = ~fam._LOW
        np.testing.assert_allclose(g[high], np.abs(f[i])[high], atol=32 * 32 * 3)  # up to rounding and clipping
        low = np.abs(g[fam._LOW] - np.abs(f[:, fam._LOW]))  # the low band: another image's, not its own
        others = low.mean(axis=(1, 2))
        assert others.argmin() != i and others.min() < others[i] / 3
    flat = np.full((3, 32, 32, 3), 90, dtype=np.uint8)
    np.testing.assert_array_equal(fam.novel(flat, "fourier_style", 4), flat)  # alike images: nothing to swap


def test_phase_noise_keeps_the_mean_colour_and_smears_edges():
    x = np.full((4, 32, 32, 3), 60, dtype=np.uint8)
    x[:, :, 16:] = 180  # one sharp edge, far enough from 0 and 255 that the ripples are not clipped
    y = fam.novel(x, "phase_noise", 4).astype(float)  # sigma 0.35 rad
    np.testing.assert_allclose(y.mean(axis=(1, 2)), x.mean(axis=(1, 2)), atol=2)  # the zero frequency is real
    assert (np.abs(y - x).mean(axis=(1, 2, 3)) > 3).all()
    assert (np.ptp(y, axis=3) <= 1).all()  # grey stays grey: one jitter for the three channels


def test_colour_transfer_gives_each_image_another_images_channel_means():
    x = np.stack([np.full((32, 32, 3), v, dtype=np.uint8) + (np.arange(32) % 2)[None, :, None].astype(np.uint8) * 40
                  for v in (20, 60, 100, 140, 180)])
    z, changed = _changed_share(x, "colour_transfer_some", 5, 3)  # 60% of 5, in full
    means = x.mean(axis=(1, 2, 3))
    for i in changed:
        m = z[i].mean()
        assert np.abs(means - m).min() < 1.5 and np.abs(means[i] - m) > 30  # another image's mean, not its own
    y = fam.novel(x, "colour_transfer", 2).astype(float)  # a = 0.4 towards the other image
    assert (np.abs(y.mean(axis=(1, 2, 3)) - means) > 10).all()


def test_nibble_swap_swaps_the_four_bit_halves_of_each_byte():
    x = np.array([0x12, 0xF0, 0x0F, 0xAB], dtype=np.uint8)[:, None, None, None].repeat(32, 1).repeat(32, 2).repeat(3, 3)
    z, changed = _changed_share(np.concatenate([x] * 5), "nibble_swap_some", 4, 9)  # 45% of 20
    swapped = {0x12: 0x21, 0xF0: 0x0F, 0x0F: 0xF0, 0xAB: 0xBA}
    for i in changed:
        assert (z[i] == swapped[int(np.concatenate([x] * 5)[i, 0, 0, 0])]).all()
    y = fam.novel(x, "nibble_swap", 2).astype(float)  # a = 0.2
    np.testing.assert_allclose(y[:, 0, 0, 0], [0.8 * v + 0.2 * swapped[v] for v in (0x12, 0xF0, 0x0F, 0xAB)], atol=0.5)


# ------------------------------------------------------------------ check 41's families (each pair tested above)
def test_spin_blur_keeps_the_centre_and_smears_along_circles_towards_the_edges():
    x = np.zeros((2, 32, 32, 3), dtype=np.uint8)
    x[:, 15:17, :] = 255  # a horizontal bar through the centre
    y = fam.novel(x, "spin_blur", 4).astype(float)  # up to +-14 degrees
    assert (y[:, 15:17, 14:18] > 200).all()  # the centre barely moves
    assert (y[:, 15:17, :3] < 100).all() and (y[:, 12:14, :3] > 30).all()  # the ends smear up and down
    flat = np.full((3, 32, 32, 3), 77, dtype=np.uint8)
    np.testing.assert_array_equal(fam.novel(flat, "spin_blur_some", 5), flat)


def test_colour_splash_greys_all_but_one_hue_band_and_keeps_brightness_order():
    hues = np.linspace(0, 1, 32, endpoint=False)
    from matplotlib.colors import hsv_to_rgb
    row = hsv_to_rgb(np.stack([hues, np.full(32, 0.8), np.full(32, 0.9)], axis=-1))
    x = np.rint(255 * np.broadcast_to(row, (6, 32, 32, 3))).astype(np.uint8)
    z, changed = _changed_share(x, "colour_splash_some", 5, 4)  # 60% of 6, grey outside the band
    for i in changed:
        grey = np.ptp(z[i, 0].astype(int), axis=1) <= 1
        assert 24 <= grey.sum() <= 28  # a sixth of the hue circle keeps its colour: 5 or 6 of 32 hues
    y = fam.novel(x, "colour_splash", 2).astype(int)  # a = 0.4: colour outside the band lowered, not gone
    spread = np.ptp(y[:, 0], axis=2)
    assert (spread > 0.4 * np.ptp(x[:, 0].astype(int), axis=2) - 2).all() and (spread < np.ptp(x[:, 0], axis=2)).any()


def test_chroma_swap_keeps_each_images_luma_and_takes_another_images_colour():
    x = np.stack([np.full((32, 32, 3), c, dtype=np.uint8) for c in ([200, 60, 60], [60, 200, 60], [60, 60, 200],
                                                                    [120, 120, 120], [200, 200, 60])])
    luma = fam.luma  # BT.601, as the families read it
    z, changed = _changed_share(x, "chroma_swap_some", 5, 3)  # 60% of 5, in full
    for i in changed:
        np.testing.assert_allclose(luma(z[i]), luma(x[i]), atol=25)  # own brightness (up to clipping)
        assert np.abs(z[i].astype(int) - x[i]).max() > 30
    y = fam.novel(x, "chroma_swap", 2)  # a = 0.4
    np.testing.assert_allclose(luma(y[3]), luma(x[3]), atol=2)  # a grey image: all in luma, unclipped


def test_ccd_smear_brightens_each_column_by_its_own_mean():
    x = np.zeros((10, 32, 32, 3), dtype=np.uint8)
    x[:, 20:24, 5] = 200  # a bright spot in column 5 alone
    z, changed = _changed_share(x, "ccd_smear_some", 4, 4)  # 45% of 10, gain 1
    for i in changed:
        assert (z[i, :20, 5] == 25).all() and (z[i, :, 6] == 0).all() and (z[i, 20:24, 5] == 225).all()
    y = fam.novel(x, "ccd_smear", 2)  # gain 0.4
    assert (y[:, 0, 5] == 10).all()


# ------------------------------------------------------------------ check 42's families (each pair tested above)
def test_pixel_scramble_reorders_pixels_within_each_two_by_two_block_only():
    x = _images(10)
    z, changed = _changed_share(x, "pixel_scramble_some", 4, 4)  # 45% of 10, in full
    def blocks(v):  # each 2 x 2 block's four pixels, sorted
        return np.sort(v.reshape(16, 2, 16, 2, 3).transpose(0, 2, 1, 3, 4).reshape(16, 16, 4, 3), axis=2)
    for i in changed:
        np.testing.assert_array_equal(blocks(z[i]), blocks(x[i]))  # each block keeps its own four pixels
        assert (z[i] != x[i]).any(axis=2).mean() > 0.5  # but most pixels moved
    y = fam.novel(x, "pixel_scramble", 2).astype(float)  # a = 0.4: the block means stay
    mean = lambda v: v.astype(float).reshape(10, 16, 2, 16, 2, 3).mean(axis=(2, 4))  # noqa: E731
    np.testing.assert_allclose(mean(y), mean(x), atol=0.5)


def test_block_exposure_scales_each_eight_by_eight_tile_by_its_own_gain_within_the_stops():
    x = np.full((6, 32, 32, 3), 100, dtype=np.uint8)
    z, changed = _changed_share(x, "block_exposure_some", 3, 2)  # 30% of 6, +-1 stop
    for i in changed:
        tiles = z[i].astype(float).reshape(4, 8, 4, 8, 3)
        assert (np.ptp(tiles, axis=(1, 3, 4)) == 0).all()  # one gain per tile
        assert 50 <= tiles.min() and tiles.max() <= 200 and len(np.unique(tiles)) > 8
    y = fam.novel(x, "block_exposure", 2).astype(float)  # a = 0.4 stops at most
    assert 100 * 2 ** -0.4 - 1 <= y.min() and y.max() <= 100 * 2 ** 0.4 + 1 and np.ptp(y) > 10


def test_mirror_ghost_blends_each_image_with_its_own_left_right_mirror():
    x = np.zeros((5, 32, 32, 3), dtype=np.uint8)
    x[:, :, :8] = 200  # a bright left edge
    z, changed = _changed_share(x, "mirror_ghost_some", 5, 3)  # 60% of 5, half and half
    for i in changed:
        np.testing.assert_array_equal(z[i], z[i][:, ::-1])  # now symmetric
        assert (z[i][:, :8] == 100).all() and (z[i][:, 24:] == 100).all() and (z[i][:, 8:24] == 0).all()
    y = fam.novel(x, "mirror_ghost", 2)  # a = 0.4: the mirror laid over at 0.2
    assert (y[:, :, :8] == 160).all() and (y[:, :, 24:] == 40).all()


def test_no_black_plate_brightens_each_pixel_to_a_full_channel_and_prints_black_as_white():
    x = np.zeros((5, 32, 32, 3), dtype=np.uint8)
    x[:, :16] = (40, 20, 10)  # a dark brown top half; the bottom half black
    z, changed = _changed_share(x, "no_black_plate_some", 4, 2)  # 45% of 5, in full
    for i in changed:
        assert (z[i, :16] == (255, 128, 64)).all() and (z[i, 16:] == 255).all()
    y = fam.novel(x, "no_black_plate", 2)  # a = 0.4
    assert (y[:, :16, :, 0] == 126).all() and (y[:, 16:] == 102).all()


# ------------------------------------------------------------------ check 43's families (each pair tested above)
def test_checkerboard_shows_a_grid_of_four_pixel_white_and_grey_squares_through_the_image():
    x = np.zeros((5, 32, 32, 3), dtype=np.uint8)
    z, changed = _changed_share(x, "checkerboard_some", 4, 2)  # 45% of 5, at opacity 0.5
    for i in changed:
        row = z[i, 0, :, 0].astype(int)
        assert set(row) == {102, 128} and (z[i] == z[i, :, :, :1]).all()  # half of 204 and of 255, grey
        flips = np.flatnonzero(np.diff(row)) + 1
        assert (np.diff(flips) == 4).all() and len(flips) >= 7  # squares four pixels wide
        assert (z[i, :, :, 0] != np.roll(z[i, :, :, 0], 4, axis=0)).all()  # and four high, alternating
    y = fam.novel(x, "checkerboard", 2)  # a = 0.4: the grid at 0.2
    assert set(np.unique(y)) == {41, 51}


def test_texture_codec_keeps_four_colours_per_block_on_one_line_and_two_colour_blocks_as_they_are():
    x = _images(10)
    z, changed = _changed_share(x, "texture_codec_some", 4, 4)  # 45% of 10, in full
    for i in changed:
        blocks = z[i].astype(float).reshape(8, 4, 8, 4, 3).transpose(0, 2, 1, 3, 4).reshape(64, 16, 3)
        for b in blocks:
            assert len(np.unique(b, axis=0)) <= 4
            assert np.linalg.svd(b - b.mean(axis=0), compute_uv=False)[1] < 2.5  # on a line, but for rounding
    two = np.zeros((3, 32, 32, 3), dtype=np.uint8)
    two[:, ::2] = 255  # each block black and white: both ends exact in RGB565
    np.testing.assert_array_equal(fam.novel(two, "texture_codec", 4), two)
    y = fam.novel(x, "texture_codec", 2).astype(int)  # a = 0.4 of the coded copy
    assert 0 < np.abs(y - x).mean() < 0.4 * np.abs(z[changed].astype(int) - x[changed]).mean() + 1


def test_diptych_squeezes_each_image_beside_another_of_the_set():
    x = (np.arange(10, dtype=np.uint8) * 20 + 10)[:, None, None, None].repeat(32, 1).repeat(32, 2).repeat(3, 3)
    z, changed = _changed_share(x, "diptych_some", 4, 4)  # 45% of 10, half and half
    for i in changed:
        values = z[i, 0, :, 0]
        halves = [set(values[:16]), set(values[16:])]
        assert {x[i, 0, 0, 0]} in halves and all(len(h) == 1 for h in halves)
        other = (halves[0] | halves[1]) - {x[i, 0, 0, 0]}
        assert len(other) == 1 and other.pop() in {x[j, 0, 0, 0] for j in changed if j != i}  # from the share
    y = fam.novel(x, "diptych", 2)  # a = 0.4: its own image 26 of the 32 columns wide
    for i in range(10):
        own = (y[i, 0, :, 0] == x[i, 0, 0, 0]).sum()
        assert own == 26 and (y[i, 0, :26, 0] == x[i, 0, 0, 0]).all() != (y[i, 0, 6:, 0] == x[i, 0, 0, 0]).all()


def test_pink_highlights_brightens_and_clips_green_low_so_white_turns_magenta():
    x = np.zeros((5, 32, 32, 3), dtype=np.uint8)
    x[:, :16] = 255  # white top half, mid grey bottom half
    x[:, 16:] = 100
    z, changed = _changed_share(x, "pink_highlights_some", 4, 2)  # 45% of 5, in full
    for i in changed:
        assert (z[i, :16] == (255, 204, 255)).all() and (z[i, 16:] == 150).all()
    y = fam.novel(x, "pink_highlights", 2)  # a = 0.4
    assert (y[:, :16] == (255, 235, 255)).all() and (y[:, 16:] == 120).all()


def test_seam_carving_cuts_the_flat_background_and_keeps_the_object_whole():
    x = np.full((10, 32, 32, 3), 100, dtype=np.uint8)
    x[:, :, 14:18] = (150 + 3 * np.arange(32))[None, :, None, None]  # a shaded bar: seams of least energy go round it
    carved = fam._seams_removed(x, 16)  # half the width gone
    assert carved.shape == (10, 32, 16, 3) and ((carved > 100).sum(axis=2) == 4).all()
    np.testing.assert_array_equal(np.sort(carved, axis=2)[:, :, 12:], x[:, :, 14:18])  # the bar whole, 12 flat left
    z, changed = _changed_share(x, "seam_carving_some", 4, 4)  # 45% of 10, carved to half and stretched back
    for i in changed:
        assert ((z[i, :, :, 0] > 100).sum(axis=1) == 10).all() and (z[i, 0, :, 0] == 150).sum() == 6  # twice as wide
    y = fam.novel(x, "seam_carving", 2)  # a = 0.4: 6 of 32 columns carved, stretched by 32 / 26
    assert ((y[:, 0, :, 0] > 100).sum(axis=1) == 6).all() and ((y[:, 0, :, 0] == 150).sum(axis=1) == 4).all()


def test_colour_shading_loses_red_most_and_green_least_towards_the_corners():
    x = np.full((6, 32, 32, 3), 200, dtype=np.uint8)
    z, changed = _changed_share(x, "colour_shading_some", 4, 3)  # 45% of 6, in full
    for i in changed:
        r, g, b = z[i].astype(int).transpose(2, 0, 1)
        assert (r <= b).all() and (b <= g).all() and (z[i, 15:17, 15:17] > 180).all()  # the centre keeps its colour
        assert r[[0, 0, 31, 31], [0, 31, 0, 31]].min() < 80 < g[[0, 0, 31, 31], [0, 31, 0, 31]].min()  # cyan corners
    assert len({z[i].tobytes() for i in changed}) == 3  # an optical centre drawn per image
    loss = 200 - fam.novel(x, "colour_shading", 2).astype(float)  # a = 0.4
    deep = loss[..., 0] > 40
    assert deep.any() and (loss[..., 0].max() <= 0.4 * 0.95 * 1.5 * 200 + 0.5)
    np.testing.assert_allclose(loss[deep][:, 0] / loss[deep][:, 1], 0.95 / 0.3, rtol=0.1)  # red's loss to green's


def test_star_filter_sends_eight_fading_white_rays_from_highlights_and_leaves_dark_images_alone():
    x = np.zeros((5, 32, 32, 3), dtype=np.uint8)
    x[:, 16, 16] = 255  # one white point: 95 above the threshold
    z, changed = _changed_share(x, "star_filter_some", 4, 2)  # 45% of 5, in full
    for i in changed:
        img = z[i, :, :, 0].astype(int)
        assert (z[i] == z[i, :, :, :1]).all()  # white light
        rays = [[img[16 + dy * d, 16 + dx * d] for d in range(1, 9)] for dy, dx in
                ((0, 1), (1, 0), (1, 1), (1, -1), (0, -1), (-1, 0), (-1, -1), (-1, 1))]
        assert all(r == rays[0] for r in rays) and rays[0][0] == 21 and rays[0][-1] == 3  # 0.25 x 8/9 x 95, fading
        assert all(np.diff(rays[0]) <= 0) and (img > 0).sum() == 1 + 8 * 8  # nothing off the rays
    dark = np.full((3, 32, 32, 3), 150, dtype=np.uint8)
    np.testing.assert_array_equal(fam.novel(dark, "star_filter", 4), dark)


def test_photocopy_is_grey_black_below_a_third_white_above_two_thirds_with_toner_dust():
    x = np.zeros((5, 32, 32, 3), dtype=np.uint8)
    x[:, :, :10], x[:, :, 10:20], x[:, :, 20:] = (40, 60, 50), 128, (230, 220, 240)
    z, changed = _changed_share(x, "photocopy_some", 4, 2)  # 45% of 5, in full
    for i in changed:
        dust = (z[i, :, :, 0] == 40)
        assert (z[i] == z[i, :, :, :1]).all() and 0 < dust.sum() < 40  # grey, about 1% dust
        assert (z[i, :, :10, 0][~dust[:, :10]] == 0).all() and (z[i, :, 20:, 0][~dust[:, 20:]] == 255).all()
        assert set(np.unique(z[i, :, 10:20, 0])) <= {129, 40}  # linear between: (128 - 89.25) / 76.5
    y = fam.novel(x, "photocopy", 2).astype(int)  # a = 0.4
    assert set(np.unique(y[:, :, 20:, 1])) <= {234, 148}  # 0.6 x 220 + 0.4 x 255, or dust


# ------------------------------------------------------------------ check 45's families
def test_reeded_glass_mirrors_a_sliver_into_each_reed_four_pixels_wide():
    x = np.zeros((5, 32, 32, 3), dtype=np.uint8)
    x[:, :, :, :] = (np.arange(32) * 8)[None, None, :, None]  # a ramp: each column's value is 8 x its index
    z, changed = _changed_share(x, "reeded_glass_some", 4, 2)  # 45% of 5, in full
    for i in changed:
        # the reed of columns 8-11 reads columns 12.5, 10.5, 8.5 and 6.5: falling where the ramp rises
        assert z[i, 0, 8:12, 0].tolist() == [100, 84, 68, 52]
        assert (np.diff(z[i, 0, 4:8, 0].astype(int)) < 0).all() and (z[i] == z[i, :1]).all()
    y = fam.novel(x, "reeded_glass", 2).astype(int)  # 0.4 x 0.4 of the reeded view
    assert y[0, 0, 8:12, 0].tolist() == [round(0.84 * 8 * c + 0.16 * v) for c, v in zip(range(8, 12),
                                                                                          (100, 84, 68, 52))]


def test_cross_stitch_sews_each_cells_mean_on_its_diagonals_over_linen():
    x = np.random.default_rng(1).integers(0, 256, (5, 32, 32, 3)).astype(np.uint8)
    z, changed = _changed_share(x, "cross_stitch_some", 4, 2)  # 45% of 5, in full
    i, k = np.mgrid[0:32, 0:32] % 4
    on_x = (i == k) | (i + k == 3)
    for n in changed:
        assert (z[n][~on_x] == (232, 224, 204)).all()  # the linen between the stitches
        cell = x[n, 4:8, 8:12].reshape(-1, 3).mean(axis=0)
        np.testing.assert_allclose(z[n, 4:8, 8:12][on_x[:4, :4]], np.broadcast_to(cell, (8, 3)), atol=0.5)
    y = fam.novel(x, "cross_stitch", 4).astype(float)  # 0.15 x 0.7 of the pattern
    np.testing.assert_allclose(y[:, ~on_x], 0.895 * x[:, ~on_x] + 0.105 * np.array([232, 224, 204]), atol=0.51)


def test_dark_reader_turns_light_dark_and_keeps_hues_unlike_a_negative():
    x = np.zeros((5, 32, 32, 3), dtype=np.uint8)
    x[:, :, :8], x[:, :, 8:16], x[:, :, 16:24], x[:, :, 24:] = 255, 0, (200, 40, 40), 100
    z, changed = _changed_share(x, "dark_reader_some", 4, 2)  # 45% of 5, in full
    for n in changed:
        assert (z[n, :, :8] == 0).all() and (z[n, :, 8:16] == 255).all() and (z[n, :, 24:] == 155).all()
        red = z[n, 0, 20].astype(int)  # (55, 215, 215) inverted, rotated back to a (light) red
        assert red[0] > red[1] == red[2]
    y = fam.novel(x, "dark_reader", 2).astype(int)  # 0.45 x 0.4 of the dark-mode view
    assert (y[:, :, :8] == 209).all() and (y[:, :, 8:16] == 46).all()


# ------------------------------------------------------------------ check 46's families
def test_photomosaic_tiles_each_cell_with_a_thumbnail_of_the_batch_shifted_to_the_cells_mean():
    x = np.random.default_rng(2).integers(30, 226, (5, 32, 32, 3)).astype(np.uint8)
    z, changed = _changed_share(x, "photomosaic_some", 4, 2)  # 45% of 5, in full
    f = x.astype(float)
    thumbs = f.reshape(5, 8, 4, 8, 4, 3).mean(axis=(2, 4))  # each image shrunk four times
    for n in changed:
        for r, c in ((0, 0), (2, 3)):
            tile = z[n, 8 * r:8 * r + 8, 8 * c:8 * c + 8].astype(float)
            np.testing.assert_allclose(tile.mean(axis=(0, 1)), f[n, 8 * r:8 * r + 8, 8 * c:8 * c + 8].mean(axis=(0, 1)),
                                       atol=0.6)  # the cell's mean colour kept
            shapes = [t - t.mean(axis=(0, 1)) for t in thumbs[changed]]  # the tile: one of the share's thumbnails
            assert min(np.abs(tile - tile.mean(axis=(0, 1)) - s).max() for s in shapes) <= 0.6
    y = fam.novel(x, "photomosaic", 2).astype(float)  # 0.45 x 0.4 of the mosaic on every image
    assert 0 < np.abs(y - f).mean() < np.abs(z[changed].astype(float) - f[changed]).mean()


def test_toon_flattens_each_channel_to_four_values_and_inks_outlines_at_edges():
    x = np.zeros((5, 32, 32, 3), dtype=np.uint8)
    x[:, :, :16], x[:, :, 16:] = (30, 100, 200), (240, 240, 240)
    z, changed = _changed_share(x, "toon_some", 4, 2)  # 45% of 5, in full
    for n in changed:
        assert (z[n, :, :14] == (0, 85, 170)).all() and (z[n, :, 18:] == 255).all()  # 4 levels: 0, 85, 170, 255
        assert (z[n, :, 15:17] == 0).all()  # the outline where luma steps by 136
    flat = np.full((3, 32, 32, 3), 100, dtype=np.uint8)
    assert (fam.novel(flat, "toon", 4) == 92).all()  # 0.75 x 0.7 of 85 over 100: no outline without an edge


def test_crosshatch_adds_a_layer_of_lines_per_darker_tone_and_loses_colour():
    x = np.zeros((5, 32, 32, 3), dtype=np.uint8)
    for band, v in enumerate((250, 180, 130, 80, 20)):  # luma above 0.8, then under 0.8, 0.6, 0.4 and 0.2
        x[:, 6 * band:6 * band + 6] = v
    x[:, 30:] = (250, 0, 0)  # a saturated red: luma 75, under 0.4
    z, changed = _changed_share(x, "crosshatch_some", 4, 2)  # 45% of 5, in full
    inked = [(z[changed[0], 6 * b:6 * b + 4] == 25).mean() for b in range(5)]
    assert inked[0] == 0 and all(np.diff(inked) > 0) and set(np.unique(z[changed])) == {25, 245}
    np.testing.assert_array_equal(z[changed[0], 30:], z[changed[0], 30:, :, :1].repeat(3, axis=2))  # grey


def test_ascii_art_draws_denser_glyphs_for_brighter_cells_in_their_colour_on_black():
    x = np.zeros((5, 32, 32, 3), dtype=np.uint8)
    x[:, :, :8], x[:, :, 8:16], x[:, :, 16:24], x[:, :, 24:] = 10, 90, (200, 150, 30), 250  # luma 10, 90, 151, 250
    z, changed = _changed_share(x, "ascii_art_some", 4, 2)  # 45% of 5, in full
    for n in changed:
        ink = (z[n] > 0).any(axis=2)
        assert not ink[:, :8].any()  # " " for the darkest cells
        assert [ink[:4, c:c + 4].sum() for c in (8, 16, 24)] == [1, 2, 12]  # ".", ":" and "#"
        np.testing.assert_array_equal(z[n, [1, 3], 17], [(200, 150, 30)] * 2)  # ":" in the cell's own colour
        assert (z[n][~ink] == 0).all()
    y = fam.novel(x, "ascii_art", 2).astype(int)  # 0.25 x 0.4 of the rendering on every image
    assert (y[:, :, :8] == 9).all()  # 0.9 x 10 + 0.1 x black


# ------------------------------------------------------------------ check 47's families
def test_pointillism_paints_a_plus_of_each_centres_colour_every_third_pixel_on_white_paper():
    x = np.random.default_rng(3).integers(30, 226, (5, 32, 32, 3)).astype(np.uint8)
    z, changed = _changed_share(x, "pointillism_some", 4, 2)  # 45% of 5, in full
    for n in changed:
        paper = (z[n] == 240).all(axis=2)
        [(r, c)] = [(r, c) for r in range(3) for c in range(3)  # the grid's phase: its centres keep their colour
                    if (z[n, r + 1:30:3, c + 1:30:3] == x[n, r + 1:30:3, c + 1:30:3]).all()]
        centre = z[n, r + 4, c + 4]
        for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            assert (z[n, r + 4 + dr, c + 4 + dc] == centre).all()  # the plus's arms in the centre's colour
        for dr, dc in ((-1, -1), (-1, 1), (1, -1), (1, 1)):
            assert paper[r + 4 + dr, c + 4 + dc]  # its corners left white
        assert 0.35 < paper.mean() <= 4 / 9  # 4 of every 9 pixels, fewer at the borders
    y = fam.novel(x, "pointillism", 2).astype(float)  # a share of the painting on every image
    assert 0 < np.abs(y - x).mean() < np.abs(z[changed].astype(float) - x[changed]).mean()


def test_risograph_prints_red_as_fluorescent_pink_misregistered_by_a_pixel_and_leaves_white_paper_white():
    x = np.full((5, 32, 32, 3), 255, dtype=np.uint8)
    x[:, 8:16, 8:16] = (255, 0, 0)  # no green: the pink drum's full separation, none of the blue's
    z, changed = _changed_share(x, "risograph_some", 4, 2)  # 45% of 5, in full
    for n in changed:
        pink = z[n, :, :, 1] < 200
        rows, cols = np.nonzero(pink)
        assert pink.sum() == 64 and (rows.min(), cols.min()) in [(7, 7), (7, 9), (9, 7), (9, 9)]  # one pixel off
        assert (z[n][pink][:, 0] == 255).all() and (72 <= z[n][pink][:, 1]).all() and (z[n][pink][:, 1] <= 119).all()
        assert (176 <= z[n][pink][:, 2]).all() and (z[n][pink][:, 2] <= 196).all()  # 0.75 to 1 of the ink's cover
        assert (z[n][~pink] == 255).all()  # white paper, and the red square's own place, unprinted by the blue
    y = fam.novel(np.full((3, 32, 32, 3), 255, dtype=np.uint8), "risograph", 4)
    assert (y == 255).all()


def test_lenticular_interleaves_two_pixel_strips_of_another_image_of_the_share():
    x = np.random.default_rng(4).integers(0, 256, (5, 32, 32, 3)).astype(np.uint8)
    z, changed = _changed_share(x, "lenticular_some", 4, 2)  # 45% of 5, in full
    odd = (np.arange(32) // 2) % 2 == 1
    for n in changed:
        np.testing.assert_array_equal(z[n][:, ~odd], x[n][:, ~odd])  # its own picture in every other strip
        [other] = [m for m in changed if m != n]  # the other view: another image of the share
        np.testing.assert_array_equal(z[n][:, odd], x[other][:, odd])
    y = fam.novel(x, "lenticular", 2)  # every image: only the other view's strips change
    np.testing.assert_array_equal(y[:, :, ~odd], x[:, :, ~odd])
    assert (y[:, :, odd] != x[:, :, odd]).any()


def test_chalkboard_draws_chalk_at_edges_only_on_a_green_board_and_loses_colour():
    x = np.zeros((5, 32, 32, 3), dtype=np.uint8)
    x[:, :, :16], x[:, :, 16:] = (200, 30, 30), (30, 30, 200)  # luma 80.8 and 49.4
    z, changed = _changed_share(x, "chalkboard_some", 4, 2)  # 45% of 5, in full
    for n in changed:
        assert (z[n, :, :14] == (34, 52, 44)).all() and (z[n, :, 18:] == (34, 52, 44)).all()  # flat: the board
        # Sobel 4 x 31.4 at the step: that of full pressure, times the grain, one pressure for all three channels
        pressure = (z[n, :, 15:17] - np.array([34, 52, 44])) / (235 - np.array([34, 52, 44]))
        assert (pressure.min() >= 0.6 * 125.6 / 255 - 0.01) and (pressure.max() <= 125.6 / 255 + 0.01)
        assert np.ptp(pressure, axis=2).max() < 0.01
    flat = np.full((3, 32, 32, 3), 100, dtype=np.uint8)
    y = fam.novel(flat, "chalkboard", 2)  # 0.6 x 0.4 of the board, no chalk without an edge
    assert (y == np.round(0.76 * 100 + 0.24 * np.array([34, 52, 44])).astype(np.uint8)).all()


# ------------------------------------------------------------------ check 48's families
def test_thermal_reads_two_pixel_sensor_cells_cold_black_to_hot_white_on_the_ironbow_palette():
    x = np.repeat(np.linspace(0, 255, 32), 3).reshape(1, 1, 32, 3).repeat(32, axis=1).repeat(5, axis=0)
    z, changed = _changed_share(x.astype(np.uint8), "thermal_some", 4, 2)  # 45% of 5, in full
    for n in changed:
        cells = z[n].reshape(16, 2, 16, 2, 3)
        assert (cells == cells[:, :1, :, :1]).all()  # one reading per 2 x 2 sensor cell
        cold, hot = z[n, :, :2].mean(axis=(0, 1)), z[n, :, -2:].mean(axis=(0, 1))
        assert (cold < 40).all() and hot[0] == 255 and hot[1] > 230 and 150 < hot[2] <= 200  # auto-gained ends
        assert (z[n][..., 1] <= z[n][..., 0]).all()  # the palette's green never exceeds its red
    y = fam.novel(x.astype(np.uint8), "thermal", 2).astype(float)  # a share of the view on every image
    assert 0 < np.abs(y - x).mean() < np.abs(z[changed].astype(float) - x[changed]).mean()


def test_cyanotype_leaves_white_as_cream_paper_and_prints_black_in_one_brushed_depth_of_prussian_blue():
    x = np.zeros((5, 32, 32, 3), dtype=np.uint8)
    x[:, :, 16:] = 255
    z, changed = _changed_share(x, "cyanotype_some", 4, 2)  # 45% of 5, in full
    paper, prussian = np.array([245, 242, 230]), np.array([16, 46, 107])
    for n in changed:
        assert (z[n, :, 16:] == paper).all()  # white: unprinted paper
        depth = (z[n, :, :16] - paper) / (prussian - paper)  # black: the blue as deep as the brush and the grain left
        assert 0.75 <= depth.min() and depth.max() <= 1.005 and depth.min() >= 0.95 * depth.max() - 0.01
    y = fam.novel(np.full((3, 32, 32, 3), 255, dtype=np.uint8), "cyanotype", 2)  # 1.0 x 0.4 of the paper
    assert (y == np.round(0.6 * 255 + 0.4 * paper).astype(np.uint8)).all()


def test_woodcut_inks_below_the_median_and_gouges_every_other_row_just_below_it_in_two_tones():
    x = np.zeros((5, 32, 32, 3), dtype=np.uint8)
    x[:, :, :8], x[:, :, 8:16], x[:, :, 16:] = 50, 145, 200  # median luma 172.5: 145 is within the gouge band
    z, changed = _changed_share(x, "woodcut_some", 4, 2)  # 45% of 5, in full
    ink, paper = np.array([20, 18, 16]), np.array([235, 225, 205])
    for n in changed:
        assert (z[n, :, :8] == ink).all() and (z[n, :, 16:] == paper).all()  # dark: solid ink; light: paper
        inked = (z[n, :, 8:16] == ink).all(axis=(1, 2))
        assert ((z[n, :, 8:16] == paper).all(axis=(1, 2)) == ~inked).all()  # each row all ink or all paper
        assert (inked[::2] != inked[1::2]).all() and len(set(inked[::2])) == 1  # every other row carved away
    y = fam.novel(x, "woodcut", 2)  # every image: 0.4 x 0.4 of its print
    assert (y[:, :, :8] == np.round(0.84 * 50 + 0.16 * ink).astype(np.uint8)).all()


def test_knitted_takes_each_stitch_to_a_yarn_colour_shaded_as_a_v_every_four_rows_and_two_columns():
    x = np.zeros((5, 32, 32, 3), dtype=np.uint8) + np.array([100, 150, 200], dtype=np.uint8)
    z, changed = _changed_share(x, "knitted_some", 4, 2)  # 45% of 5, in full
    yarn = np.array([102.0, 153.0, 204.0])  # 2, 3 and 4 fifths of 255: the nearest of six yarn colours
    for n in changed:
        shade = z[n] / yarn
        assert np.ptp(shade, axis=2).max() < 0.01  # one shade for all three channels
        assert set(np.round(shade[..., 0], 2).ravel()) <= {0.75, 0.85, 0.95, 1.0}
        np.testing.assert_array_equal(z[n, 4:], z[n, :-4])  # a stitch every 4 rows
        np.testing.assert_array_equal(z[n, :, 2:], z[n, :, :-2])  # ... and every 2 columns
    y = fam.novel(x, "knitted", 2)  # every image: a share of the knitting
    assert 0 < np.abs(y.astype(int) - x).mean() < np.abs(z[changed].astype(int) - x[changed]).mean()


# ------------------------------------------------------------------ check 49's families
def test_watercolour_lays_a_thinned_wash_on_grainy_paper_darker_where_it_pools_at_edges():
    x = np.zeros((5, 32, 32, 3), dtype=np.uint8) + np.array([150, 100, 50], dtype=np.uint8)
    x[:, :, 16:] = 255
    z, changed = _changed_share(x, "watercolour_some", 4, 2)  # 45% of 5, in full
    paper = np.array([250.0, 248.0, 240.0])
    wash = paper - 0.7 * (paper - np.array([150, 100, 50]))  # 0.7 of the depth, far from the edge
    for n in changed:
        grain = z[n, :, :8] / wash  # away from the edge: the wash times the paper's grain, one per pixel
        assert 0.915 <= grain.min() and grain.max() <= 1.005 and np.ptp(grain, axis=2).max() < 0.02
        assert (z[n, :, 24:] <= paper + 0.5).all() and (z[n, :, 24:] >= 0.92 * paper - 0.5).all()  # white: paper
        # the wash pools darker at its edge, though the blur mixes a third of the white into its last column
        assert z[n, :, 14:16].mean() < 0.95 * z[n, :, 4:12].mean()
    y = fam.novel(x, "watercolour", 2)  # every image: a share of the painting
    assert 0 < np.abs(y.astype(int) - x).mean() < np.abs(z[changed].astype(int) - x[changed]).mean()


def test_infrared_shows_near_infrared_as_red_so_leaves_glow_and_a_blue_sky_goes_dark():
    x = np.zeros((5, 32, 32, 3), dtype=np.uint8)
    x[:, :, :10], x[:, :, 10:20], x[:, :, 20:] = (40, 160, 40), (60, 90, 200), (200, 60, 40)  # leaf, sky, brick
    z, changed = _changed_share(x, "infrared_some", 4, 2)  # 45% of 5, in full
    for n in changed:
        assert (z[n, :, :10] == (255, 40, 160)).all()  # luma 110.5 + 2 x 120 of green: full near-infrared
        assert (z[n, :, 10:20] == (94, 60, 90)).all()  # no green above red and blue: the luma; the blue is gone
        assert (z[n, :, 20:] == (100, 200, 60)).all()
    y = fam.novel(x, "infrared", 2)  # every image: 1.15 x 0.4 of the film's colours
    assert (y[:, :, :10] == np.round(0.54 * np.array([40, 160, 40]) + 0.46 * np.array([255, 40, 160]))).all()


def test_shattered_glass_shows_each_shard_slipped_and_lit_its_own_way_with_glinting_cracks_between():
    x = np.full((5, 32, 32, 3), 100, dtype=np.uint8)
    z, changed = _changed_share(x, "shattered_some", 4, 2)  # 45% of 5, in full
    for n in changed:
        crack = (z[n] == (235, 240, 245)).all(axis=2)
        assert 0.05 < crack.mean() < 0.5
        lit = z[n][~crack]
        assert (np.ptp(lit, axis=1) == 0).all() and 85 <= lit.min() and lit.max() <= 115  # each shard: 0.85-1.15
        assert 4 <= len(np.unique(lit[:, 0])) <= 12  # one light per shard, 6 to 12 of them
        v = np.where(crack, -1, z[n, ..., 0].astype(int))  # cracks part every shard from its neighbours
        for a, b in ((v[1:], v[:-1]), (v[:, 1:], v[:, :-1])):
            assert ((a == b) | (a < 0) | (b < 0)).all()
    y = fam.novel(x, "shattered", 2)  # every image: a share of the shattered view
    assert 0 < np.abs(y.astype(int) - x).mean() < np.abs(z[changed].astype(int) - x[changed]).mean()
    column = np.arange(32) * 8
    ramp = np.broadcast_to(column[None, None, :, None], (5, 32, 32, 3)).astype(np.uint8)
    z, changed = _changed_share(ramp, "shattered_some", 4, 2)
    near = np.clip(np.arange(32)[:, None] + np.arange(-2, 3), 0, 31) * 8  # what lies within 2 pixels of a column
    for n in changed:  # off the cracks, each pixel shows the picture within 2 pixels of itself, lit 0.85 to 1.15
        crack = (z[n] == (235, 240, 245)).all(axis=2)
        shown = z[n, ..., 0].astype(float)
        low, high = 0.85 * near.min(axis=1) - 0.5, np.minimum(1.15 * near.max(axis=1), 255) + 0.5
        assert ((shown >= low) & (shown <= high))[~crack].all()


def test_crayon_waxes_more_of_the_papers_tooth_the_darker_the_picture_in_a_saturated_colour():
    x = np.zeros((5, 32, 32, 3), dtype=np.uint8) + np.array([200, 50, 50], dtype=np.uint8)  # luma 94.85
    z, changed = _changed_share(x, "crayon_some", 4, 2)  # 45% of 5, in full
    for n in changed:
        waxed = (z[n] == (253, 28, 28)).all(axis=2)  # the grey of its luma, 1.5 times as far from it
        assert ((z[n] == (248, 246, 238)).all(axis=2) == ~waxed).all()  # the rest: paper
        assert waxed.mean() == pytest.approx(0.3 + 0.7 * (1 - 94.85 / 255), abs=0.002)
    dark = fam.novel(np.full((5, 32, 32, 3), 20, dtype=np.uint8), "crayon_some", 4)
    light = fam.novel(np.full((5, 32, 32, 3), 230, dtype=np.uint8), "crayon_some", 4)
    paper_share = [(im == (248, 246, 238)).all(axis=3).mean() * 5 / 2 for im in (dark, light)]  # of the 2 changed
    assert paper_share[0] < 0.1 < 0.5 < paper_share[1]
    y = fam.novel(x, "crayon", 2)  # every image: a share of the drawing
    assert 0 < np.abs(y.astype(int) - x).mean() < np.abs(z[changed].astype(int) - x[changed]).mean()


# ------------------------------------------------------------------ check 50's families
def test_bricks_take_each_four_pixel_squares_mean_to_the_nearest_brick_lit_as_a_stud():
    x = np.zeros((5, 32, 32, 3), dtype=np.uint8) + np.array([200, 45, 30], dtype=np.uint8)  # nearest: red
    x[:, :, 16:] = 255
    x[:, :, 17:32:2] = 95  # columns of 255 and 95: each square's mean 175 is light grey, though no pixel is
    z, changed = _changed_share(x, "bricks_some", 4, 2)  # 45% of 5, in full
    shade = np.tile(np.array([[1, 1, 1, 0.75], [1, 1.2, 1.05, 0.75], [1, 1.05, 0.85, 0.75], [0.75] * 4]), (8, 8))
    red = shade[:, :16, None] * np.array([196, 40, 27])
    for n in changed:
        np.testing.assert_array_equal(z[n, :, :16], shifts.to_uint8(red))
        np.testing.assert_array_equal(z[n, :, 16:], shifts.to_uint8(shade[:, 16:, None] * np.array([163, 162, 164])))
    y = fam.novel(x, "bricks", 2)  # every image: 0.55 x 0.4 of its brick model
    assert (y[:, :, :16] == shifts.to_uint8(0.78 * x[:, :, :16] + 0.22 * red)).all()


def test_e_ink_shows_the_luma_at_sixteen_greys_of_low_contrast_with_a_ghost_of_the_page_before():
    ink, paper = np.array([42, 42, 40]), np.array([208, 206, 198])
    grey = [ink + k / 15 * (paper - ink) for k in range(16)]
    x = np.zeros((5, 32, 32, 3), dtype=np.uint8) + np.array([100, 150, 200], dtype=np.uint8)  # luma 140.75
    z, changed = _changed_share(x, "e_ink_some", 4, 2)  # 45% of 5, in full
    for n in changed:  # 140.75 / 255 x 15 = 8.28: the ninth of 16 greys, whatever page came before
        assert (z[n] == shifts.to_uint8(grey[8])).all()
    pages = np.zeros((10, 32, 32, 3), dtype=np.uint8)
    pages[5:] = 255
    shown = [[k for k in range(16) if (im == grey[k]).all()] for im in fam._e_ink(pages, np.random.default_rng(0))]
    # 0.12 and 0.88 of 255: greys 2 and 13, where a page before was the other colour; as many black as white
    assert sorted(shown[:5]) != [[0]] * 5 and sorted(shown[:5]) == sorted([[15 - k] for [k] in shown[5:]])
    assert {k for [k] in shown} <= {0, 2, 13, 15}
    ramp = np.broadcast_to(np.arange(0, 256, 8, dtype=np.uint8)[None, :, None, None], (3, 32, 32, 3))
    shades = np.unique(fam._e_ink(ramp, np.random.default_rng(0)).reshape(-1, 3), axis=0)
    assert len(shades) == 16 and all(any(np.allclose(s, g) for g in grey) for s in shades)
    y = fam.novel(x, "e_ink", 2)  # every image: 1.15 x 0.4 of the screen's grey
    assert (y == shifts.to_uint8(0.54 * x + 0.46 * grey[8])).all()


def test_sandstorm_hides_the_picture_in_red_passing_dust_with_grains_streaking_along_the_rows():
    x = np.zeros((5, 32, 32, 3), dtype=np.uint8) + np.array([40, 60, 200], dtype=np.uint8)
    z, changed = _changed_share(x, "sandstorm_some", 4, 2)  # 45% of 5, in full
    for n in changed:
        grain = (z[n] == (236, 214, 170)).all(axis=2)
        assert 0.05 < grain.mean() < 0.2  # 3% of pixels start a grain, each streaking 4
        for row in grain:  # each streak at least 4 long, unless it runs off the right edge
            start, stop = np.flatnonzero(np.diff(np.r_[0, row.astype(int), 0])).reshape(-1, 2).T
            assert ((stop - start >= 4) | (stop == 32)).all()
        haze = np.unique(z[n][~grain], axis=0)
        assert len(haze) == 1  # one thickness of dust over the whole image
        thick = (haze[0, 0] - 40) / (196 - 40)  # red: the picture's own, as red passes in full
        assert 0.35 - 0.01 <= thick <= 0.6 + 0.01
        expected = (1 - thick) * np.array([40, 60 * 0.88, 200 * 0.7]) + thick * np.array([196, 158, 108])
        assert np.abs(haze[0] - expected).max() <= 1.5
    y = fam.novel(x, "sandstorm", 2)  # every image: a share of the storm
    assert 0 < np.abs(y.astype(int) - x).mean() < np.abs(z[changed].astype(int) - x[changed]).mean()


def test_zebra_stripes_what_is_bright_and_peaking_paints_the_sharpest_edges_red_never_a_flat_pixel():
    x = np.full((5, 32, 32, 3), 100, dtype=np.uint8)
    x[:, :, :16] = 255  # bright on the left; the only edge is the step's two columns, 6% of the pixels
    z, changed = _changed_share(x, "zebra_some", 4, 2)  # 45% of 5, in full
    i, j = np.mgrid[0:32, 0:16]
    stripe = ((i + j) // 2) % 2 == 0
    for n in changed:
        assert (z[n, :, 15:17] == (255, 0, 0)).all()  # the edge: peaking red
        assert (z[n, :, 17:] == 100).all()  # below the zebra's luma and flat: untouched
        left = z[n, :, :15]
        assert (left[stripe[:, :15]] == 20).all() and (left[~stripe[:, :15]] == 255).all()
    flat = np.full((3, 32, 32, 3), 100, dtype=np.uint8)
    np.testing.assert_array_equal(fam.novel(flat, "zebra_some", 5), flat)  # nothing bright, no edge: no mark
    noise = np.repeat(np.random.default_rng(0).integers(0, 160, (3, 32, 32, 1), dtype=np.uint8), 3, axis=3)
    red = (fam._zebra(noise) == (255, 0, 0)).all(axis=3).mean(axis=(1, 2))  # grey noise, nothing bright: edges
    assert (0.12 <= red).all() and (red < 0.13).all()  # the sharpest 12% of each image
    y = fam.novel(x, "zebra", 2)  # every image: 0.25 x 0.4 of the monitor's marks
    for col in (15, 16):  # the step's bright and dark sides, each a tenth red
        assert (y[:, :, col] == shifts.to_uint8(0.9 * x[0, 0, col] + 0.1 * np.array([255, 0, 0]))).all()
    assert (y[:, :, :15][:, stripe[:, :15]] == shifts.to_uint8(0.9 * 255 + 0.1 * 20)).all()


# ------------------------------------------------------------------ check 51's families
def test_loupe_magnifies_twice_what_lies_inside_a_dark_rimmed_circle_and_leaves_the_rest_alone():
    i, j = np.mgrid[0:32, 0:32]
    x = np.zeros((5, 32, 32, 3), dtype=np.uint8) + 100
    x[..., 0] = 4 * i + 4 * j + 1  # red: a ramp both ways; green and blue 100, so no pixel of it is the rim
    z, changed = _changed_share(x, "loupe_some", 4, 2)  # 45% of 5, in full
    for n in changed:
        rows, cols = np.nonzero((z[n] == 30).all(axis=2))
        cy, cx, radius = (rows.min() + rows.max()) / 2, (cols.min() + cols.max()) / 2, (np.ptp(rows) + 1) / 2
        assert 6.5 <= radius <= 11.5 and abs(np.ptp(cols) - np.ptp(rows)) <= 1  # a circle, 7 to 11 pixels
        dist = np.hypot(i - cy, j - cx)
        assert (z[n][dist > radius + 1.5] == x[n][dist > radius + 1.5]).all()  # outside: the picture as it was
        red, inside = z[n, ..., 0].astype(int), dist < radius - 2.5
        for step, both in ((np.diff(red, axis=0), inside[1:] & inside[:-1]),
                           (np.diff(red, axis=1), inside[:, 1:] & inside[:, :-1])):
            assert abs(step[both].mean() - 2) < 0.2 and np.abs(step[both] - 2).max() <= 1  # 4 a pixel, halved
    y = fam.novel(x, "loupe", 2)  # every image: a share of the loupe's view
    assert 0 < np.abs(y.astype(int) - x).mean() < np.abs(z[changed].astype(int) - x[changed]).mean()


def test_a_folded_print_lights_one_side_shades_the_other_most_at_the_fold_and_whitens_the_crease():
    x = np.full((5, 32, 32, 3), 100, dtype=np.uint8)
    z, changed = _changed_share(x, "folded_print_some", 4, 2)  # 45% of 5, in full
    for n in changed:
        v = z[n, ..., 0].astype(float)
        assert (np.ptp(z[n], axis=2) == 0).all()  # grey stays grey
        lit, crease = v == 110, v >= 150  # 1.1 of the light; the crease half-way to white from either side
        shade = ~lit & ~crease
        assert 0.05 < lit.mean() < 0.95 and 0.05 < shade.mean() < 0.95 and 20 <= crease.sum() <= 60
        assert v[shade].min() >= 60 and v[shade].max() <= 85
        away = ndimage.distance_transform_edt(~crease)  # from the nearest crease pixel: the fold's distance + < 1
        expected = 100 * (0.85 - 0.25 * np.exp(-away[shade] / 6))
        assert np.abs(v[shade] - expected).max() <= 4.5 and v[shade][away[shade] <= 1.5].max() < 68
    y = fam.novel(x, "folded_print", 2)  # every image: a share of the folded print
    assert 0 < np.abs(y.astype(int) - x).mean() < np.abs(z[changed].astype(int) - x[changed]).mean()


def test_blinds_cast_near_level_slat_shadows_over_nearly_half_the_picture_and_warm_sun_between():
    x = np.full((20, 32, 32, 3), 100, dtype=np.uint8)
    z, changed = _changed_share(x, "blinds_some", 4, 9)  # 45% of 20, in full
    sun, dark = np.array([115, 105, 88]), 30
    for n in changed:
        light = (z[n, ..., 0].astype(float) - dark) / (sun[0] - dark)  # how much sun each pixel gets, 0 to 1
        between = shifts.to_uint8(dark + light[..., None] * (sun - dark)).astype(int)  # on the way from shade to sun
        assert np.abs(z[n] - between).max() <= 1
        shaded, sunny = light == 0, light == 1
        assert 0.39 < shaded.mean() < 0.51 and 0.1 < sunny.mean() < 0.35  # 45% shade, 1-pixel soft edges
        across = [np.abs(np.diff(shaded.astype(int), axis=a)).sum() for a in (0, 1)]
        assert across[0] > across[1]  # tilted under 20 degrees: down a column crosses more slats than along a row
    y = fam.novel(x, "blinds", 2)  # every image: 0.7 x 0.4 of the blinds' light
    assert {80} < set(np.unique(y[..., 0])) <= set(range(80, 105))  # 0.72 x 100 + 0.28 x 30 in the shade


def test_holographic_foil_gives_each_pixel_a_rainbow_band_at_its_own_luma_half_way():
    x = np.full((5, 32, 32, 3), 100, dtype=np.uint8)  # luma 100
    z, changed = _changed_share(x, "holo_foil_some", 4, 2)  # 45% of 5, in full
    turn = lambda d: np.minimum(np.abs(d), 1 - np.abs(d))  # noqa: E731  (hue differences, the short way round)
    for n in changed:
        lit = 2 * (z[n].astype(float) - 50)  # half the grey, half the rainbow at the grey's luma
        whole = (lit < 250).all(axis=2)  # none clipped at white
        assert whole.mean() > 0.5
        assert np.abs(fam.luma(lit)[whole] - 100).max() <= 2
        hsv = rgb_to_hsv(lit[whole] / lit[whole].max())
        assert np.abs(hsv[:, 1] - 0.8).max() < 0.03  # the rainbow's saturation, 0.8
        hue = rgb_to_hsv(np.clip(lit, 0, 255) / 255)[..., 0]
        grad = np.hypot(turn(np.diff(hue, axis=0))[:, :-1], turn(np.diff(hue, axis=1))[:-1])
        assert 1 / 16 - 0.01 < np.median(grad) < 1 / 8 + 0.01  # round the wheel once every 8 to 16 pixels
        assert len(np.unique((hue * 6).astype(int))) == 6  # every part of the wheel
    y = fam.novel(x, "holo_foil", 2)  # every image: a share of the foil
    assert 0 < np.abs(y.astype(int) - x).mean() < np.abs(z[changed].astype(int) - x[changed]).mean()


# ------------------------------------------------------------------ check 52's families
def test_a_crumpled_print_lights_each_flat_facet_its_own_way_with_dark_creases_between():
    x = np.full((5, 32, 32, 3), 100, dtype=np.uint8)
    z, changed = _changed_share(x, "crumpled_some", 4, 2)  # 45% of 5, in full
    lights = []
    for n in changed:
        v = z[n, ..., 0]
        assert (np.ptp(z[n], axis=2) == 0).all()  # grey stays grey
        crease = v == 45  # 0.45 of the light
        assert 0.05 < crease.mean() < 0.4
        assert 55 <= v[~crease].min() and v[~crease].max() <= 120  # each facet 0.55 to 1.2 lit
        lights.extend(v[~crease])
        pieces, count = ndimage.label(~crease)  # the creases part the print into its facets, 12 to 20 of them
        assert 8 <= count <= 20
        assert all(np.ptp(v[pieces == k]) == 0 for k in range(1, count + 1))  # each flat, lit one way
        ring = ndimage.binary_dilation(crease) & ~crease  # a crease runs between two facets, not inside one
        assert len(np.unique(v[ring])) >= 2
    assert min(lights) < 66 and max(lights) > 110  # drawn over all of 0.55 to 1.2 (24 to 40 facets)
    y = fam.novel(x, "crumpled", 2)  # every image: 0.85 x 0.4 of the crumpled print
    assert set(np.unique(y[..., 0])) <= set(range(81, 108)) and len(np.unique(y[..., 0])) > 5


def test_bubble_wrap_magnifies_what_lies_under_each_bubble_of_a_grid_and_lights_each_with_a_glint():
    i, j = np.mgrid[0:32, 0:32]
    x = np.zeros((5, 32, 32, 3), dtype=np.uint8)
    x[..., 0], x[..., 2] = 3 * j + 10, 3 * i + 10  # red a ramp along the rows, blue down the columns, green black
    z, changed = _changed_share(x, "bubble_wrap_some", 4, 2)  # 45% of 5, in full
    for n in changed:
        f = z[n].astype(int)
        assert (f[..., 0] < 255).all() and (f[..., 2] < 255).all()  # no glint clipped: each channel keeps it whole
        moved = (f[..., 0] - f[..., 1] != x[n, ..., 0]) | (f[..., 2] - f[..., 1] != x[n, ..., 2])  # glints taken off
        assert 0.3 < moved.mean() < 0.55  # bubbles 0.8 of the pitch across: half the picture
        red, still = f[..., 0] - f[..., 1], ~moved[:, 1:] & ~moved[:, :-1]
        steps = np.diff(red, axis=1)
        assert (np.abs(steps[still] - 3) <= 1).all()  # between bubbles: the ramp as it was
        inner = ndimage.binary_erosion(moved, np.ones((1, 3)), border_value=1)
        both = inner[:, 1:] & inner[:, :-1]
        assert both.sum() > 20 and 1.1 < steps[both].mean() < 1.7  # under a bubble: 3 a pixel, magnified 2.2 times
        glints = ndimage.label(f[..., 1] > 20)[1]  # one per bubble of a grid 6 to 9 pixels apart
        assert 9 <= glints <= 36 and f[..., 1].max() > 60
        assert not ((f[..., 1] > 20) & ~ndimage.binary_dilation(moved, iterations=2)).any()  # each on a bubble
    y = fam.novel(x, "bubble_wrap", 2)  # every image: a share of the view through bubble wrap
    assert 0 < np.abs(y.astype(int) - x).mean() < np.abs(z[changed].astype(int) - x[changed]).mean()


def test_backlit_keeps_a_tenth_of_the_dark_half_lifts_the_bright_and_adds_a_warm_glow_from_a_high_sun():
    x = np.full((5, 32, 32, 3), 40, dtype=np.uint8)
    x[:, :, 16:] = 200  # a dark half and a bright one: the median luma, 120, lies between
    z, changed = _changed_share(x, "backlit_some", 4, 2)  # 45% of 5, in full
    base = np.where(np.arange(32) < 16, 4.0, 230.0)  # 0.1 x 40 and 1.15 x 200
    for n in changed:
        f = z[n].astype(float)
        glow = (f[..., 2] - base) / 30  # the glow's share, read off blue (30 at its centre)
        assert glow.min() > -0.02 and glow.max() > 0.9
        assert np.unravel_index(glow.argmax(), glow.shape)[0] <= 8  # the sun in the top quarter
        expected = np.minimum(base[None, :, None] + glow[..., None] * np.array([140, 90, 30]), 255)
        assert np.abs(f - expected)[..., :2].max() <= 3.5  # red and green the same warm glow
        assert glow[-1].max() < 0.1  # 23 pixels and more below the sun: little of it left
    y = fam.novel(x, "backlit", 2)  # every image: 1.15 x 0.4 of the backlit shot
    assert (y[:, -1, :16] < 30).all() and (y[:, -1, 16:] >= 213).all()


def test_vhs_smears_and_delays_the_colour_slips_every_row_and_runs_a_noisy_tracking_band():
    x = np.full((5, 32, 32, 3), 100, dtype=np.uint8)
    x[:, :, 10:12] = (255, 30, 30)  # a red stripe two columns wide, of about the grey's luma
    z, changed = _changed_share(x, "vhs_some", 4, 2)  # 45% of 5, in full
    for n in changed:
        f = z[n].astype(float)
        noisy = np.nonzero((z[n, :, 24:] != 100).any(axis=(1, 2)))[0]  # grey far from the stripe: only the band moves
        assert 3 <= len(noisy) <= 5 and np.ptp(noisy) == len(noisy) - 1
        assert (z[n, :, :3][np.setdiff1d(np.arange(32), noisy)] == 100).all()
        centres = []
        for r in np.setdiff1d(np.arange(32), noisy):
            red = f[r, :, 0] - f[r, :, 1]  # the colour, 225 on two columns before
            assert 0.75 * 450 < red.sum() < 0.85 * 450  # 0.8 of it kept
            assert 7 <= (red > 10).sum() <= 9  # averaged over 7 columns, slipped by part of a pixel
            centres.append((red * np.arange(32)).sum() / red.sum())
        # lagging 2 to the right of 10.5, each row slipped its own way (a spread of 0.6 pixels)
        assert abs(np.mean(centres) - 12.5) < 0.45 and np.abs(np.array(centres) - 12.5).max() < 2.4
        assert 0.3 < np.std(centres) < 1.0
        for r in noisy:  # the band slipped 4 further to the left
            red = f[r, :, 0] - f[r, :, 1]
            assert 6.1 < (red * np.arange(32)).sum() / red.sum() < 10.9
    y = fam.novel(x, "vhs", 2)  # every image: 0.85 x 0.4 of the tape
    assert 0 < np.abs(y.astype(int) - x).mean() < np.abs(z[changed].astype(int) - x[changed]).mean()


# ------------------------------------------------------------------ check 53's families
def test_dappled_light_leaves_a_share_in_soft_edged_sun_flecks_and_the_rest_in_green_shade():
    x = np.full((5, 32, 32, 3), 100, dtype=np.uint8)
    z, changed = _changed_share(x, "dappled_some", 4, 2)  # 45% of 5, in full
    for n in changed:
        v = z[n].astype(int)
        assert v[..., 0].min() == 30 and v[..., 1].min() == 40 and v[..., 2].min() == 30  # 0.3, 0.4, 0.3 in shade
        assert v.max() == 130 and (v[..., 0] == v[..., 2]).all()  # 1.3 in the sun, white light
        assert 0.33 < (v[..., 0] > 80).mean() < 0.47  # 40% in sun
        soft = (v[..., 0] > 31) & (v[..., 0] < 129)  # neither deep shade nor full sun: a fleck's softened edge
        assert 0.2 < soft.mean() < 0.5  # flecks from a field 2.5 pixels wide, softened 0.7: sharper or finer is off
    y = fam.novel(x, "dappled", 2)  # every image: 1.15 x 0.4 of the dappled light
    assert y[..., 0].min() in (67, 68) and y[..., 0].max() in (113, 114)


def test_tie_dye_turns_hue_in_a_spiral_once_round_its_centre_and_gives_grey_the_dye_saturation():
    x = np.full((20, 32, 32, 3), 128, dtype=np.uint8)
    z, changed = _changed_share(x, "tie_dye_some", 4, 9)  # 45% of 20, in full
    for n in changed:
        hsv = rgb_to_hsv(z[n] / 255.0)
        assert np.abs(hsv[..., 1] - 0.6).max() < 0.02 and (z[n].max(axis=2) == 128).all()  # grey dyed, its value kept
        hue = hsv[..., 0]
        ring = np.concatenate([hue[0], hue[1:, -1], hue[-1, ::-1][1:], hue[::-1, 0][1:]])  # round the frame once
        steps = (np.diff(ring) + 0.5) % 1.0 - 0.5
        assert abs(abs(steps.sum()) - 1) < 0.01  # one whole turn of hue round a centre in the middle half
        dy, dx = ((np.diff(hue, axis=k)[:31, :31] + 0.5) % 1.0 - 0.5 for k in (0, 1))
        assert 0.12 < np.median(np.hypot(dy, dx)) < 0.3  # a ring every 4 to 8 pixels: a turn of hue a ring
    red = np.zeros((20, 32, 32, 3), dtype=np.uint8)
    red[...] = (200, 40, 40)  # saturation 0.8: already past the dye's least
    s = rgb_to_hsv(fam.novel(red, "tie_dye_some", 4) / 255.0)[..., 1]
    assert np.abs(s - 0.8).max() < 0.02
    y = fam.novel(x, "tie_dye", 2)  # every image: 0.8 x 0.4 of the dyed cloth
    assert 0 < np.ptp(y.astype(int), axis=3).mean() < np.ptp(z[changed].astype(int), axis=3).mean()


def test_paint_drips_run_a_third_of_the_columns_down_from_the_upper_rows_in_the_colour_they_start_with():
    x = np.repeat((5 * np.arange(32) + 10).astype(np.uint8)[None, :, None, None], 32, axis=2).repeat(3, axis=3)
    x = np.repeat(x, 20, axis=0)  # every row its own grey
    z, changed = _changed_share(x, "paint_drips_some", 4, 9)  # 45% of 20, in full
    drips, lengths, starts = 0, [], []
    for n in changed:
        v = z[n, ..., 0].astype(int)
        assert (z[n] == z[n, ..., :1]).all()  # grey stays grey
        for col in v.T:
            run = np.nonzero(col != x[0, :, 0, 0])[0]  # the rows the drip covered, below its start
            if not len(run):
                continue
            drips += 1
            start = run[0] - 1
            assert np.ptp(run) == len(run) - 1 and (col[run] == col[start]).all() and col[start] == 5 * start + 10
            starts.append(start)
            if run[-1] < 31:
                lengths.append(len(run) + 1)
    assert 0.25 < drips / (32 * len(changed)) < 0.45  # 35% of the columns
    assert min(starts) <= 3 and 15 <= max(starts) <= 18  # starting anywhere in the top 60% of the rows
    assert min(lengths) >= 6 and max(lengths) <= 23 and min(lengths) <= 9 and max(lengths) >= 18  # 6 to 23 pixels
    y = fam.novel(x, "paint_drips", 2)  # every image: 0.6 x 0.4 of the running paint
    moved = y[..., 0].astype(int) - x[..., 0]
    assert (moved <= 0).all() and 0.1 < (moved < 0).mean() < 0.4  # the paint runs down: darker grey over lighter


def test_green_screen_keys_out_what_is_near_the_borders_colour_fading_over_twenty_further():
    x = np.full((20, 32, 32, 3), 100, dtype=np.uint8)
    x[:, 8:24, :, 0] = 100 + 5 * np.arange(32)  # an object whose column j lies 5j from the background's colour
    z, changed = _changed_share(x, "green_screen_some", 4, 9)  # 45% of 20, in full
    green, reaches = np.array([0, 177, 64]), []
    for n in changed:
        f = z[n].astype(float)
        assert (f[:8] == green).all() and (f[24:] == green).all()  # the background itself
        key = (f[12, :, 1] - 100) / 77  # the key's share, read off green
        full, kept = np.nonzero(key > 0.995)[0], np.nonzero(key < 0.005)[0]
        assert (np.diff(key) <= 0.01).all() and full.max() < kept.min()  # farther from the background, less keyed
        reaches.append(5 * full.max())
        assert 40 <= 5 * full.max() <= 80  # keyed within 40 to 80
        assert 3 <= kept.min() - full.max() - 1 <= 4  # fading out over 20 further: 5 apart, 3 or 4 columns between
        part = key[full.max() + 1:kept.min()]
        assert np.abs(np.diff(part) + 0.25).max() < 0.02  # linear: a quarter for each 5
        expected = (1 - key[:, None]) * x[n, 12] + key[:, None] * green
        assert np.abs(f[12] - expected).max() <= 1.5  # the key read off a rounded green
    assert np.ptp(reaches) >= 15  # the reach drawn per image
    y = fam.novel(x, "green_screen", 2)  # every image: 0.9 x 0.4 of the keyed image
    assert (y[:, :8] == (64, 128, 87)).all() and (y[:, 8:24, -1] == x[:, 8:24, -1]).all()


# ------------------------------------------------------------------ check 54's families
def test_bokeh_screens_pale_discs_of_two_to_five_pixels_over_about_half_of_a_black_frame():
    x = np.zeros((20, 32, 32, 3), dtype=np.uint8)
    z, changed = _changed_share(x, "bokeh_some", 4, 9)  # 45% of 20, in full
    lit, colours, widest = [], [], []
    for n in changed:
        v = z[n].astype(int)
        top = v.max(axis=2)
        lit.append((top > 0).mean())
        assert Counter(top[top > 0].tolist()).most_common(1)[0][0] == 217  # in one light alone: 0.85 of white
        core = top == 217
        assert abs(np.median(v[core].min(axis=1) / 217) - 0.5) < 0.01  # its colour half saturated
        count = Counter(map(tuple, v[core].tolist()))
        colours.append(len(count))
        widest.append(max(count.values()))
    assert 0.4 < np.mean(lit) < 0.62 and max(colours) <= 24  # 10 to 24 lights a frame
    assert 30 < max(widest) < 80  # a lone light's core 5 pixels across at most: within 4.5 of its centre, 64 pixels
    y = fam.novel(x, "bokeh", 2)  # every image: 0.9 x 0.4 of the lights
    top = y.max(axis=3)
    assert Counter(top[top > 0].tolist()).most_common(1)[0][0] == 78


def test_dilated_gives_each_channel_its_brightest_in_a_four_pixel_square():
    x = np.zeros((20, 32, 32, 3), dtype=np.uint8)
    x[:, 10, 10, 0] = 255  # a red point
    x[:, 12, 12, 1] = 200  # a green one, near it
    z, changed = _changed_share(x, "dilated_some", 4, 9)  # 45% of 20, in full
    red, green = np.zeros((32, 32), dtype=int), np.zeros((32, 32), dtype=int)
    red[8:12, 8:12], green[10:14, 10:14] = 255, 200  # two up and left of each point to one down and right
    for n in changed:
        np.testing.assert_array_equal(z[n, ..., 0], red)
        np.testing.assert_array_equal(z[n, ..., 1], green)  # the channels swell apart, overlapping as yellow
        assert not z[n, ..., 2].any()
    y = fam.novel(x, "dilated", 2)  # every image: 1.0 x 0.4 of the dilated one
    mixed = np.round(0.4 * red + 0.6 * x[0, ..., 0])
    assert (y[..., 0] == mixed).all()


def test_flooded_reflects_the_picture_below_a_waterline_in_rippled_blue_water():
    i, j = np.mgrid[0:32, 0:32]
    x = np.stack([5 * i + 10, 5 * j + 40, np.full((32, 32), 200)], axis=-1).astype(np.uint8)
    x = np.repeat(x[None], 20, axis=0)  # red tells the row, green the column
    z, changed = _changed_share(x, "flooded_some", 4, 9)  # 45% of 20, in full
    lines, phases = [], np.linspace(0, 2 * np.pi, 721)
    for n in changed:
        f = z[n].astype(float)
        line = np.nonzero((z[n] != x[n]).any(axis=(1, 2)))[0][0]
        lines.append(line)
        assert (f[line:, :, 2] == 150).all()  # the water gives back 0.75 of blue
        below = np.arange(line, 32)
        source = np.maximum(2 * line - 1 - below, 0)  # mirrored about the line, the top row repeated past it
        assert np.abs(f[line:, :, 0] - 0.5 * (5 * source + 10)[:, None]).max() <= 0.5  # and 0.5 of red
        swing = (np.arange(3, 29) - (f[line:, 3:29, 1] / 0.65 - 40) / 5).mean(axis=1)  # each row's, read off green
        assert min(np.abs(swing - 1.5 * np.sin(1.3 * below + p)).max() for p in phases) < 0.12  # 1.5 px, 1.3 a row
    assert 13 <= min(lines) <= 15 and 19 <= max(lines) <= 21  # from 40% to 65% of the height down
    y = fam.novel(x, "flooded", 2)  # every image: 1.0 x 0.4 of the flood
    assert (y[:, :13, :, 2] == 200).all() and (y[:, 21:, :, 2] == 180).all()


def test_spotlight_lights_a_warm_disc_of_six_to_ten_pixels_fading_over_three_to_a_tenth():
    x = np.full((20, 64, 64, 3), 100, dtype=np.uint8)  # wide enough that no light reaches the edge
    z, changed = _changed_share(x, "spotlight_some", 4, 9)  # 45% of 20, in full
    radii = []
    for n in changed:
        v = z[n].astype(int)
        assert (v.min(axis=(0, 1)) == 10).all() and v.max(axis=(0, 1)).tolist() == [115, 105, 85]  # 0.1; warm
        full = v[..., 0] == 115
        radius = np.sqrt(full.sum() / np.pi)
        radii.append(radius)
        rows, cols = np.nonzero(full)
        assert 15 < rows.mean() < 49 and 15 < cols.mean() < 49  # a centre in the middle half
        fading = ((v[..., 0] > 10) & ~full).sum() / (2 * np.pi * (radius + 1.5))  # the ring's width
        assert 2.3 < fading < 3.7
    assert 5.5 < min(radii) and max(radii) < 10.5 and np.ptp(radii) > 1.5  # drawn from 6 to 10
    y = fam.novel(x, "spotlight", 2)  # every image: 1.05 x 0.4 of the spotlit one
    assert (y.min(axis=(1, 2)) == 62).all() and (y.max(axis=(1, 2)) == (106, 102, 94)).all()


# ------------------------------------------------------------------ check 55's families
def test_confetti_lays_twenty_five_to_fifty_bright_rectangles_about_twice_as_long_as_wide():
    x = np.zeros((40, 160, 160, 3), dtype=np.uint8)  # wide enough that pieces seldom touch
    z, changed = _changed_share(x, "confetti_some", 4, 18)  # 45% of 40, in full
    counts, areas, elongation, pale = [], [], [], []
    for n in changed:
        v = z[n].astype(float)
        top = v.max(axis=2)
        assert top.max() == 255  # opaque where a piece covers a whole pixel, its value full
        pale.append(np.median(v[top == 255].min(axis=1)) / 255)
        pieces, count = ndimage.label(top > 0, structure=np.ones((3, 3)))
        counts.append(count)
        for p in range(1, count + 1):
            on = pieces == p
            solid = top[on] > 60
            if np.ptp(v[on][solid] / top[on][solid][:, None], axis=0).max() > 0.08:
                continue  # two pieces of different colours touching
            weight, (i, j) = top[on] / 255, np.nonzero(on)
            areas.append(weight.sum())  # a piece's covered pixels, its anti-aliased edge counted in part
            spread = np.linalg.eigvalsh(np.cov(np.stack([i, j]), aweights=weight))
            elongation.append(np.sqrt(spread[1] / spread[0]))
    assert 22 <= min(counts) <= 26 and 45 <= max(counts) <= 49  # 25 to 49 drawn, a few touching
    assert np.allclose(pale, 0.15, atol=0.01)  # saturation 0.85: the palest channel at 0.15 of the brightest
    assert len(areas) > 400 and 4.8 < np.median(areas) < 6.3  # 2 x 1.0-2.5 by 2 x 0.5-1.2 pixels: 6 on average
    assert 1.6 < np.median(elongation) < 2.2
    y = fam.novel(x, "confetti", 2)  # every image: 0.9 x 0.4 of the confetti
    assert y.max() == 92 and (y.max(axis=(1, 2, 3)) == 92).all()


def test_shredded_cuts_three_to_five_equal_strips_slipped_up_to_four_pixels_on_a_pale_table():
    i, j = np.mgrid[0:32, 0:32]
    x = np.stack([5 * i + 10, 5 * j + 40, np.full((32, 32), 200)], axis=-1).astype(np.uint8)
    x = np.repeat(x[None], 40, axis=0)  # red tells the row, green the column
    z, changed = _changed_share(x, "shredded_some", 4, 18)  # 45% of 40, in full
    strips, slips = set(), []
    for n in changed:
        f = z[n].astype(int)
        cuts = np.nonzero((f == 235).all(axis=(0, 2)))[0].tolist()  # a whole column of table
        k = len(cuts) + 1
        strips.add(k)
        assert cuts == [-(-m * 32 // k) for m in range(1, k)]  # equal strips, each cut at a strip's left edge
        for left, right in zip([0, *cuts], [*cuts, 32]):
            cols = slice(left + (left > 0), right)
            assert (f[:, cols, 1] == np.where(f[:, cols, 0] == 235, 235, 5 * j[:, cols] + 40)).all()  # columns stay
            picture = f[:, cols, 0] != 235
            slip = set((i[:, cols][picture] - (f[:, cols, 0][picture] - 10) // 5).tolist())
            assert len(slip) == 1  # the strip slips as one
            s = slip.pop()
            slips.append(s)
            assert (~picture).sum(axis=0).tolist() == [abs(s)] * (right - left - (left > 0))  # the rows it left
    assert strips == {3, 4, 5} and set(slips) == set(range(-4, 5))
    y = fam.novel(x, "shredded", 2)  # every image: 0.25 x 0.4 of the shredded one
    cut = (y.astype(int) == np.rint(0.9 * x + 0.1 * 235)).all(axis=(1, 3))  # (image, column)
    assert set(cut.sum(axis=1).tolist()) == {2, 3, 4}


def test_taped_hazes_and_yellows_strips_of_five_to_nine_pixels_between_dark_edges():
    x = np.full((40, 64, 64, 3), 100, dtype=np.uint8)
    z, changed = _changed_share(x, "taped_some", 4, 18)  # 45% of 40, in full
    widths, darkest, crossing, strips = [], [], 0, []
    for n in changed:
        f = z[n].astype(int)
        touched = (f != 100).any(axis=2)
        rim = np.concatenate([touched[0, :], touched[1:, -1], touched[-1, -2::-1], touched[-2:0:-1, 0]])
        strips.append((rim & ~np.roll(rim, 1)).sum() / 2)  # each strip runs off the frame twice
        under = (f == (154, 143, 108)).all(axis=2)  # (0.65 x 100 + 0.35 x 255) x (1, 0.93, 0.7)
        assert under.sum() > 150
        if (f[..., 0] > 170).any():  # two strips cross: the tape taped twice
            crossing += 1
            assert ((f == (190, 170, 112)).all(axis=2)).any()
            continue
        i, j = np.nonzero(under)
        spread, axes = np.linalg.eigh(np.cov(np.stack([i, j])))
        if spread[0] < 16:  # one strip, a band: clear of the edges' darkening, 2 pixels narrower than the tape
            length = np.ptp(np.stack([i, j], axis=1) @ axes[:, 1]) + 1
            widths.append(under.sum() / length + 2)
            darkest.append(f[..., 0].min())
    assert crossing >= 4 and len(widths) >= 6 and max(strips) == 3 and min(strips) == 1
    assert 5 < min(widths) and max(widths) < 9 and np.ptp(widths) > 1.5
    assert set(darkest) == {85}  # 0.3 of the light taken half a pixel outside the strip
    y = fam.novel(x, "taped", 2)  # every image: 1.1 x 0.4 of the taped one
    assert Counter(map(tuple, y.reshape(-1, 3).tolist())).most_common(2)[1][0] == (124, 119, 104)


def test_high_pass_keeps_a_point_less_its_blur_four_times_over_round_mid_grey():
    x = np.zeros((20, 32, 32, 3), dtype=np.uint8)
    x[:, 16, 16] = 20
    z, changed = _changed_share(x, "high_pass_some", 4, 9)  # 45% of 20, in full
    centre = 127.5 + 4 * 20 * (1 - 0.199 ** 2)  # a Gaussian of 2 pixels keeps 0.199 of a point in each direction
    for n in changed:
        f = z[n, ..., 0]
        assert (z[n] == f[..., None]).all() and f[16, 16] == round(centre) == 204
        assert f[16, 14:19].tolist() == f[14:19, 16].tolist() == [126, 125, 204, 125, 126]  # its blur taken away
        assert (f[:4] == 128).all() and (f[:, :4] == 128).all()  # flat black goes to mid-grey
    y = fam.novel(x, "high_pass", 2)  # every image: 1.1 x 0.4 of the high-passed one
    assert (y[:, 16, 16] == 101).all() and (y[:, :4] == 56).all()
