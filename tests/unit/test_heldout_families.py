"""The held-out shift families of ``benchmarks/heldout_families.py``, on tiny arrays."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import heldout_families as fam  # noqa: E402

from kaggle_kit.gap import shifts  # noqa: E402


def _images(n: int = 16) -> np.ndarray:
    return np.random.default_rng(0).integers(30, 226, (n, 32, 32, 3)).astype(np.uint8)


@pytest.mark.parametrize("name", list(fam.FAMILIES))
def test_each_family_is_deterministic_keeps_the_format_and_grows_with_severity(name):
    x = _images()
    mild, strong = fam.novel(x, name, 2), fam.novel(x, name, 4)
    assert mild.shape == x.shape and mild.dtype == np.uint8
    np.testing.assert_array_equal(mild, fam.novel(x, name, 2))
    change = [np.abs(y.astype(int) - x).mean() for y in (mild, strong)]
    assert 0 < change[0] < change[1]


def test_the_families_are_new_to_the_synthetic_pool_and_check_5s_to_check_4():
    assert not set(fam.FAMILIES) & set(shifts.CORRUPTIONS)
    assert not set(fam.NOVEL) & set(fam.CHECK5) and len(fam.CHECK5) == 8


def test_check_4s_sets_are_drawn_as_before_check_5_was_added():
    """Family seeds follow the place in FAMILIES: NOVEL first keeps check 4's cached sets valid."""
    assert list(fam.FAMILIES)[:8] == list(fam.NOVEL)


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


@pytest.mark.parametrize("check", [4, 5])
def test_novel_sets_are_the_eighteen_preregistered_plus_the_clean_reference(check):
    x, y = _images(40), np.arange(40) % 10
    sets = list(fam.novel_sets(x, y, check))
    assert [s[0] for s in sets][0] == "clean" and len(sets) == 19
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
