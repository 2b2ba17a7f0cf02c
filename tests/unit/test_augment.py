"""Augmentation presets and the batched tensor path: shapes, reproducibility, and equal distributions."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from kaggle_kit.augment import BatchSpec, get_preset, list_presets
from kaggle_kit.batch_augment import BatchAugment, crop_flip, cutmix_box, cutout, mix_batch, supports
from kaggle_kit.errors import ConfigError

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
STEP = 7  # coordinate images: R = 7*row, G = 7*col (0..217), B = 255


def test_registry_lists_required_presets():
    names = set(list_presets())
    assert {"none", "standard", "strong", "blur_jpeg", "cutout"} <= names
    assert {f"seed00{i}" for i in range(5)} <= names


def test_unknown_preset_names_the_valid_ones():
    with pytest.raises(ConfigError, match="unknown augmentation preset 'nope'.*standard"):
        get_preset("nope")


@pytest.mark.parametrize("name", list_presets())
def test_every_preset_keeps_shape_and_dtype_and_reseeds_reproducibly(name):
    preset = get_preset(name, seed=1)
    outs = [preset(im) for im in IMAGES]
    assert all(o.shape == (32, 32, 3) and o.dtype == np.uint8 for o in outs)
    preset.reseed(5)
    first = [preset(im) for im in IMAGES]
    preset.reseed(5)
    again = [preset(im) for im in IMAGES]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    if name != "none":
        assert any(not np.array_equal(o, im) for o, im in zip(first, IMAGES)), f"{name} changed nothing"


def test_supports_only_crop_flip_cutout_presets():
    assert supports("standard") and supports("seed000") and supports("cutout") and supports("none")
    assert not supports("strong") and not supports("seed001") and not supports("seed004")
    assert not supports("blur_jpeg")
    with pytest.raises(ConfigError):
        supports("nope")


@pytest.mark.parametrize("mode, border", [("reflect", cv2.BORDER_REFLECT_101), ("zero", cv2.BORDER_CONSTANT)])
def test_crop_flip_outputs_are_crops_of_the_padded_image(mode, border):
    """Pixel-exact: every output equals one of the 81 crops (or its mirror) of the cv2-padded image."""
    image = IMAGES[0]
    padded = cv2.copyMakeBorder(image, 4, 4, 4, 4, border, value=0)
    crops = {padded[y:y + 32, x:x + 32].tobytes() for y in range(9) for x in range(9)}
    crops |= {padded[y:y + 32, x:x + 32][:, ::-1].tobytes() for y in range(9) for x in range(9)}
    out = crop_flip(torch.from_numpy(image).repeat(300, 1, 1, 1), 4, mode, True,
                    torch.Generator().manual_seed(0)).numpy()
    assert all(o.tobytes() in crops for o in out)
    assert len({o.tobytes() for o in out}) > 100  # offsets and flips actually vary


def _coordinate_image() -> np.ndarray:
    rows, cols = np.meshgrid(np.arange(32), np.arange(32), indexing="ij")
    return np.stack([rows * STEP, cols * STEP, np.full((32, 32), 255)], axis=-1).astype(np.uint8)


def _decode_offsets(out: np.ndarray) -> np.ndarray:
    """(dy, dx, flipped) of each augmented coordinate image, read from the centre pixels."""
    centre = out[:, 16, 16].astype(int)
    right = out[:, 16, 17].astype(int)
    flipped = (right[:, 1] - centre[:, 1]) < 0
    dy = centre[:, 0] // STEP - 16
    dx = centre[:, 1] // STEP - np.where(flipped, 15, 16)
    return np.stack([dy, dx, flipped.astype(int)], axis=1)


def _frequencies(values: np.ndarray, lo: int, hi: int) -> np.ndarray:
    return np.bincount(values - lo, minlength=hi - lo + 1) / len(values)


@pytest.mark.parametrize("name, pad_px, zero_fill", [("none", 0, False), ("flip", 0, False), ("standard", 4, False),
                                                      ("airbench", 2, False), ("seed000", 4, True),
                                                      ("seed002", 4, True), ("seed003", 4, True)])
def test_per_image_presets_shift_and_fill_as_their_batch_spec(name, pad_px, zero_fill):
    """airbench padding 4 instead of 2, or a seed preset reflecting instead of zero-filling, would train the CPU path
    on other images than its BatchSpec (and the batched path) describes."""
    preset = get_preset(name, seed=0)
    assert (preset.batch_spec.pad_px, preset.batch_spec.pad_mode == "zero") == (pad_px, zero_fill)
    shifts = _decode_offsets(np.stack([preset(_coordinate_image()) for _ in range(400)]))[:, :2]
    assert np.abs(shifts).max() == pad_px
    grey = np.stack([preset(np.full((32, 32, 3), 200, np.uint8)) for _ in range(50)])
    assert bool((grey == 0).any()) == zero_fill


@pytest.mark.parametrize("preset_name", ["standard", "seed000", "seed002"])  # reflect, zero, no flip
def test_batched_path_matches_albumentations_distribution(preset_name):
    """Same crop-offset and flip distribution as the per-image preset, over 12,000 draws each (~5 sigma bounds)."""
    n = 12_000
    image = _coordinate_image()
    preset = get_preset(preset_name, seed=0)
    per_image = _decode_offsets(np.stack([preset(image) for _ in range(n)]))
    spec = preset.batch_spec
    aug = BatchAugment(spec, "cpu", seed=0)
    batched = _decode_offsets(aug(torch.from_numpy(image).repeat(n, 1, 1, 1)).numpy())
    p = spec.pad_px
    for col in (0, 1):
        f_img, f_bat = _frequencies(per_image[:, col] + p, 0, 2 * p), _frequencies(batched[:, col] + p, 0, 2 * p)
        assert np.abs(f_img - f_bat).max() < 0.02, (col, f_img, f_bat)
        assert np.abs(f_bat - 1 / (2 * p + 1)).max() < 0.015  # uniform over [-pad, pad]
    assert abs(per_image[:, 2].mean() - batched[:, 2].mean()) < 0.02
    assert abs(batched[:, 2].mean() - (0.5 if spec.flip else 0.0)) < 0.02


def _per_image_batches(name: str, image: np.ndarray, batches: int, size: int = 64) -> np.ndarray:
    """``batches`` batches of one image augmented by preset ``name``, reseeded per batch as WorkerBatches does."""
    preset = get_preset(name)
    out = []
    for b in range(batches):
        preset.reseed(1000 + b)
        out.append(np.stack([preset(image) for _ in range(size)]))
    return np.stack(out)  # (batches, size, 32, 32, 3)


def test_per_image_crop_and_flip_are_independent_within_and_across_images():
    """One seed handed to every transform of a Compose made RandomCrop and HorizontalFlip draw the same numbers:
    image 0's flip followed its vertical offset (corr -0.85), and so did image 2j's flip image j's offset."""
    dy, _, flipped = _decode_offsets(_per_image_batches("standard", _coordinate_image(), 120).reshape(
        -1, 32, 32, 3)).reshape(120, 64, 3).transpose(2, 0, 1)
    assert abs(np.corrcoef(flipped[:, 0], dy[:, 0])[0, 1]) < 0.3  # 120 pairs: noise sd ~0.09
    assert abs(np.corrcoef(flipped[:, ::2].ravel(), dy[:, :32].ravel())[0, 1]) < 0.1  # 3,840 pairs: sd ~0.016


def test_blur_jpeg_degrades_mirrored_and_unmirrored_images_alike():
    """Its flip and its one-of-three degradation are each p=0.5; they must be independent (they were identical)."""
    image = IMAGES[1]
    padded = cv2.copyMakeBorder(image, 4, 4, 4, 4, cv2.BORDER_REFLECT_101)
    crops = [padded[y:y + 32, x:x + 32] for y in range(9) for x in range(9)]
    candidates = np.stack(crops + [c[:, ::-1] for c in crops]).reshape(162, -1).astype(np.float64)
    out = _per_image_batches("blur_jpeg", image, 16).reshape(-1, 32 * 32 * 3).astype(np.float64)
    dist = (out ** 2).sum(1, keepdims=True) - 2 * out @ candidates.T + (candidates ** 2).sum(1)
    flipped = dist.argmin(1) >= 81                 # nearest crop-and-flip of the noise image
    degraded = dist.min(1) > 0.5                   # not exactly one of them
    assert 0.4 < flipped.mean() < 0.6 and 0.4 < degraded.mean() < 0.6
    assert abs(degraded[flipped].mean() - degraded[~flipped].mean()) < 0.15  # 1,024 images: sd ~0.03


def test_batched_cutout_matches_coarse_dropout_placement():
    """Hole corner distribution equals albumentations CoarseDropout's (uniform where the hole fits)."""
    n = 6_000
    image = np.full((32, 32, 3), 200, dtype=np.uint8)  # constant: only the hole changes it
    preset = get_preset("cutout", seed=0)
    per_image = np.stack([preset(image) for _ in range(n)])
    batched = BatchAugment(preset.batch_spec, "cpu", seed=0)(torch.from_numpy(image).repeat(n, 1, 1, 1)).numpy()

    def corners(out):
        holes = out[..., 0] == 0
        assert (holes.sum(axis=(1, 2)) == 16 * 16).all()  # exactly one full 16x16 hole per image
        return holes.any(axis=2).argmax(axis=1), holes.any(axis=1).argmax(axis=1)

    for a, b in zip(corners(per_image), corners(batched)):
        assert np.abs(_frequencies(a, 0, 16) - _frequencies(b, 0, 16)).max() < 0.03


def test_cutout_is_a_noop_for_size_zero_and_clips_to_the_image():
    x = torch.full((4, 8, 8, 3), 9, dtype=torch.uint8)
    assert torch.equal(cutout(x, 0), x)
    assert (cutout(x, 20, torch.Generator().manual_seed(0)) == 0).all()


def test_crop_flip_rejects_unknown_pad_mode():
    with pytest.raises(ValueError, match="pad_mode"):
        crop_flip(torch.zeros(1, 32, 32, 3, dtype=torch.uint8), 4, "wrap", True)


def test_batch_augment_reseed_is_reproducible():
    aug = BatchAugment(BatchSpec(pad_px=4, flip=True, cutout_px=8), "cpu")
    x = torch.from_numpy(IMAGES)
    aug.reseed(3)
    a = aug(x)
    aug.reseed(3)
    assert torch.equal(a, aug(x))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_batched_path_runs_on_cuda():
    aug = BatchAugment(BatchSpec(pad_px=4, pad_mode="zero", flip=True, cutout_px=8), "cuda")
    out = aug(torch.from_numpy(IMAGES).cuda())
    assert out.device.type == "cuda" and out.dtype == torch.uint8 and out.shape == IMAGES.shape


# ---------------------------------------------------------------------------------------------- mixing
def _constant_batch(n: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Image i is filled with the value i and labelled i (n classes), so pixels reveal what was mixed."""
    x = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 3, 32, 32).contiguous()
    return x, torch.arange(n)


@pytest.mark.parametrize("mixup_alpha, cutmix_alpha", [(0.4, 0.0), (0.0, 1.0), (1.0, 1.0)])
def test_mixed_targets_equal_the_pixel_mass_of_each_source(mixup_alpha, cutmix_alpha):
    """Mean pixel value of image i = sum_k target[i, k] * k: targets weigh sources exactly as the pixels do."""
    x, y = _constant_batch()
    for seed in range(5):
        mixed, targets = mix_batch(x, y, 16, mixup_alpha=mixup_alpha, cutmix_alpha=cutmix_alpha, mix_prob=1.0,
                                   rng=np.random.default_rng(seed))
        assert targets is not None and torch.allclose(targets.sum(1), torch.ones(16))
        expected = targets @ torch.arange(16, dtype=torch.float32)
        assert torch.allclose(mixed.mean((1, 2, 3)), expected, atol=1e-4)
        assert not torch.equal(mixed, x)


def test_mix_prob_zero_leaves_the_batch_alone():
    x, y = _constant_batch()
    out, targets = mix_batch(x, y, 10, mixup_alpha=1.0, cutmix_alpha=1.0, mix_prob=0.0,
                             rng=np.random.default_rng(0))
    assert targets is None and torch.equal(out, x)


class _FixedCentre:
    """Stands in for the numpy generator in cutmix_box: hands out a chosen centre row, then column."""

    def __init__(self, cy, cx):
        self.values = [cy, cx]

    def integers(self, low, high):
        return self.values.pop(0)


@pytest.mark.parametrize("cy, cx, box", [(16, 16, (8, 24, 8, 24)), (30, 2, (22, 32, 0, 10)),
                                             (2, 30, (0, 10, 22, 32))])
def test_cutmix_box_has_the_area_left_by_lambda_and_is_clipped_to_the_image(cy, cx, box):
    """A box sized by lam instead of 1-lam (9/16 of the image, not 1/4) or clipped one pixel short would fail."""
    assert cutmix_box(32, 32, 0.75, _FixedCentre(cy, cx)) == box  # side sqrt(1-0.75)*32 = 16 around the centre


def test_both_alphas_mix_some_batches_by_mixup_and_some_by_cutmix():
    """Always taking CutMix (or always Mixup) when both alphas are set would drop one of the two."""
    x = torch.stack([torch.zeros(3, 32, 32), torch.ones(3, 32, 32)])
    kinds = set()
    for seed in range(40):
        mixed, _ = mix_batch(x, torch.tensor([0, 1]), 2, mixup_alpha=1.0, cutmix_alpha=1.0, mix_prob=1.0,
                             rng=np.random.default_rng(seed))
        blended = bool(((mixed > 0) & (mixed < 1)).any())  # Mixup: a weighted average of 0 and 1
        pasted = bool(((mixed[0] == 0).any() & (mixed[0] == 1).any()))  # CutMix: a box of ones on zeros
        kinds.add("mixup" if blended else "cutmix" if pasted else "unchanged")
    assert {"mixup", "cutmix"} <= kinds


def _close(found, want) -> bool:
    if isinstance(want, dict):
        return found.keys() == want.keys() and all(_close(found[k], want[k]) for k in want)
    return bool(np.allclose(found, want))


@pytest.mark.parametrize("name, index, op, want", [
    ("strong", 0, "PadIfNeeded", {"min_height": 40, "border_mode": cv2.BORDER_REFLECT_101}),
    ("strong", 3, "ColorJitter", {"p": 0.8, "brightness": (0.7, 1.3), "contrast": (0.7, 1.3),
                                  "saturation": (0.7, 1.3), "hue": (-0.05, 0.05)}),
    ("strong", 4, "Affine", {"p": 0.5, "rotate": (-10, 10), "shear": {"x": (-8, 8), "y": (-8, 8)},
                             "scale": {"x": (0.9, 1.1), "y": (0.9, 1.1)}}),
    ("strong", 5, "CoarseDropout", {"p": 1.0, "num_holes_range": (1, 1), "hole_height_range": (16, 16),
                                    "hole_width_range": (16, 16)}),
    ("seed001", 4, "ColorJitter", {"p": 1.0, "brightness": (0.8, 1.2), "contrast": (0.8, 1.2),
                                   "saturation": (0.8, 1.2), "hue": (-0.1, 0.1)}),
    ("seed004", 0, "Affine", {"p": 1.0, "rotate": (-15, 15)}),
    ("blur_jpeg", 0, "PadIfNeeded", {"min_height": 40, "border_mode": cv2.BORDER_REFLECT_101}),
    ("blur_jpeg", 3, "OneOf", {"p": 0.5})])
def test_presets_without_a_batched_form_keep_their_parameters(name, index, op, want):
    """No distribution test covers these presets: a jitter, an affine applied to half the images instead of all
    (seed004), or a smaller hole would change the recipe silently."""
    transform = get_preset(name, seed=0)._compose.transforms[index]
    assert type(transform).__name__ == op
    assert all(_close(getattr(transform, k), v) for k, v in want.items()), vars(transform)
