"""Labeled shifted copies of a test set, to measure how well the gap estimators predict an unseen score.

Corruptions mimic what "a different source" does to 32x32 photos (re-encoding, resizing, blur, colour
grading, sensor noise, framing); severities 1-5 as in CIFAR-10-C. The label-shift resampler changes the class
priors without touching pixels, because confidence-based estimators behave differently under that kind of
shift. Every generator is ``(images uint8 NHWC, severity, rng) -> uint8 NHWC`` and deterministic given rng.
"""
from __future__ import annotations

import io
from typing import Callable

import numpy as np
from PIL import Image
from scipy import ndimage

from kaggle_kit.mplconfig import ensure_writable_folder

ensure_writable_folder()  # before matplotlib's first import, which reads MPLCONFIGDIR (see mplconfig)
from matplotlib.colors import hsv_to_rgb, rgb_to_hsv  # noqa: E402


def _check(severity: int) -> int:
    if severity not in (1, 2, 3, 4, 5):
        raise ValueError(f"severity must be 1-5, got {severity}")
    return severity - 1


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Round and clip float pixel values back to images."""
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def gaussian_blur(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    sigma = (0.5, 0.7, 0.9, 1.1, 1.5)[_check(severity)]
    return to_uint8(ndimage.gaussian_filter(images.astype(np.float32), sigma=(0, sigma, sigma, 0), mode="reflect"))


def jpeg(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    quality = (70, 50, 35, 22, 12)[_check(severity)]
    out = np.empty_like(images)
    for i, img in enumerate(images):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=quality)
        out[i] = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    return out


def gaussian_noise(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    std = (4, 7, 10, 14, 20)[_check(severity)]  # on the 0-255 scale
    return to_uint8(images.astype(np.float32) + rng.normal(0, std, images.shape).astype(np.float32))


def contrast(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    factor = (0.75, 0.6, 0.45, 0.35, 0.25)[_check(severity)]
    x = images.astype(np.float32)
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    return to_uint8((x - mean) * factor + mean)


def downscale(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Down-sample and back up (bilinear): what thumbnails scraped from the web look like."""
    size = (26, 22, 18, 15, 12)[_check(severity)]
    out = np.empty_like(images)
    for i, img in enumerate(images):
        small = Image.fromarray(img).resize((size, size), Image.Resampling.BILINEAR)
        out[i] = np.asarray(small.resize((32, 32), Image.Resampling.BILINEAR))
    return out


def colour(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Per-image hue rotation, saturation and brightness change (colour grading, white balance)."""
    s = _check(severity)
    hue, sat, bright = (0.03, 0.06, 0.09, 0.13, 0.18)[s], (0.2, 0.3, 0.4, 0.5, 0.6)[s], (0.1, 0.15, 0.2, 0.25, 0.3)[s]
    n = len(images)
    hsv = rgb_to_hsv(images.astype(np.float32) / 255)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-hue, hue, (n, 1, 1))) % 1.0
    hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(1 - sat, 1 + sat, (n, 1, 1)), 0, 1)
    hsv[..., 2] = np.clip(hsv[..., 2] * rng.uniform(1 - bright, 1 + bright, (n, 1, 1)), 0, 1)
    return to_uint8(hsv_to_rgb(hsv) * 255)


def rotate_zoom(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Random rotation and zoom-in about the centre (different framing), bilinear, edges reflected."""
    s = _check(severity)
    max_deg, max_zoom = (5, 10, 15, 20, 25)[s], (1.05, 1.1, 1.15, 1.2, 1.3)[s]
    out = np.empty_like(images)
    centre = np.array([15.5, 15.5])
    for i, img in enumerate(images):
        a = np.deg2rad(rng.uniform(-max_deg, max_deg))
        z = rng.uniform(1.0, max_zoom)
        mat = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) / z
        offset = centre - mat @ centre
        for ch in range(3):
            out[i, :, :, ch] = to_uint8(ndimage.affine_transform(img[:, :, ch].astype(np.float32), mat,
                                                                  offset=offset, order=1, mode="reflect"))
    return out


CORRUPTIONS: dict[str, Callable[[np.ndarray, int, np.random.Generator], np.ndarray]] = {
    "blur": gaussian_blur,
    "jpeg": jpeg,
    "noise": gaussian_noise,
    "contrast": contrast,
    "downscale": downscale,
    "colour": colour,
    "rotate_zoom": rotate_zoom,
}


def corrupt(images: np.ndarray, name: str, severity: int, seed: int = 0) -> np.ndarray:
    if name not in CORRUPTIONS:
        raise ValueError(f"unknown corruption '{name}' (known: {', '.join(CORRUPTIONS)})")
    return CORRUPTIONS[name](images, severity, np.random.default_rng(seed))


# ------------------------------------------------------------------------------------------ label shift
def dirichlet_priors(n_classes: int, alpha: float, rng: np.random.Generator) -> np.ndarray:
    """Random class priors; smaller alpha means further from uniform."""
    return rng.dirichlet(np.full(n_classes, float(alpha)))


def long_tail_priors(n_classes: int, imbalance: float, rng: np.random.Generator) -> np.ndarray:
    """Geometrically decaying priors (largest / smallest = ``imbalance``) over a random class order."""
    q = imbalance ** (-np.arange(n_classes) / (n_classes - 1))
    return rng.permutation(q / q.sum())


def largest_remainder_counts(shares: np.ndarray, n: int) -> np.ndarray:
    """Integer counts summing to ``n`` in proportion to ``shares`` (which sum to 1): floors, then one more for the
    largest remainders, so no count is off its exact share by a whole unit."""
    counts = np.floor(shares * n).astype(int)
    counts[np.argsort(-(shares * n - counts))[: n - counts.sum()]] += 1
    return counts


def resample_to_priors(labels: np.ndarray, priors: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of a subset drawn without replacement whose class shares follow ``priors``.

    ``n`` shrinks when a class has too few images for its share, so no image is repeated.
    """
    labels = np.asarray(labels)
    priors = np.asarray(priors, dtype=np.float64) / np.sum(priors)
    avail = np.bincount(labels, minlength=len(priors))
    with np.errstate(divide="ignore"):
        cap = np.where(priors > 0, avail / np.maximum(priors, 1e-300), np.inf)
    n = int(min(n, np.floor(cap.min())))
    counts = np.minimum(largest_remainder_counts(priors, n), avail)
    idx = [rng.choice(np.flatnonzero(labels == c), size=k, replace=False) for c, k in enumerate(counts) if k]
    return rng.permutation(np.concatenate(idx))
