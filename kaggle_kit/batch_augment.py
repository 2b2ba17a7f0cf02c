"""Whole-batch augmentation on tensors, on the training device: the fast path for simple presets.

Per-image albumentations costs tens of microseconds per image on one CPU core; a GPU eats thousands of
CIFAR images per millisecond. Pad + random crop + flip is one gather with per-image index arithmetic
(reflect-101 or zero padding computed in the index, never materialised), Cutout is one mask, so a batch
costs a few tensor ops on CPU or CUDA. Sampling matches the albumentations presets exactly in distribution:
offsets uniform in [-pad, pad], flip with p=0.5, a Cutout hole's top-left corner uniform over positions
where the hole fits (albumentations' CoarseDropout rule).

Mixup (Zhang et al. 2018) and CutMix (Yun et al. 2019) act on normalised float batches and return soft
targets; ``torch.nn.functional.cross_entropy`` takes those directly, label smoothing included.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from kaggle_kit.augment import BatchSpec, Preset, batch_spec


def supports(preset: str | Preset) -> bool:
    """True when ``preset`` is only pad/crop, flip and cutout, which the batched path reproduces."""
    spec = preset.batch_spec if isinstance(preset, Preset) else batch_spec(preset)
    return spec is not None


def _reflect101(idx: torch.Tensor, size: int) -> torch.Tensor:
    """Map indices in [-size+1, 2*size-2] to [0, size) as reflect-101 padding does (edge not repeated)."""
    idx = idx.abs()
    return torch.where(idx > size - 1, 2 * (size - 1) - idx, idx)


def crop_flip(images: torch.Tensor, pad_px: int, pad_mode: str, flip: bool,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """Random translation by up to ``pad_px`` (as pad + random crop) and optional horizontal flip.

    ``images``: uint8 or float (N, H, W, C). Returns a tensor of the same shape and dtype (``images`` itself
    when there is nothing to do).
    """
    if pad_mode not in ("reflect", "zero"):
        raise ValueError(f"pad_mode must be 'reflect' or 'zero', found {pad_mode!r}")
    n, h, w, _ = images.shape
    if pad_px == 0 and not flip:
        return images
    dev = images.device
    dy = torch.randint(-pad_px, pad_px + 1, (n, 1), device=dev, generator=generator)
    dx = torch.randint(-pad_px, pad_px + 1, (n, 1), device=dev, generator=generator)
    rows = torch.arange(h, device=dev).unsqueeze(0) + dy  # (n, h) source row of each output row
    cols = torch.arange(w, device=dev).unsqueeze(0) + dx  # (n, w)
    if flip:
        flipped = torch.rand((n, 1), device=dev, generator=generator) < 0.5
        cols = torch.where(flipped, cols.flip(1), cols)
    if pad_mode == "reflect":
        rows, cols = _reflect101(rows, h), _reflect101(cols, w)
        valid = None
    else:
        valid = ((rows >= 0) & (rows < h)).unsqueeze(2) & ((cols >= 0) & (cols < w)).unsqueeze(1)
        rows, cols = rows.clamp(0, h - 1), cols.clamp(0, w - 1)
    batch = torch.arange(n, device=dev).view(n, 1, 1)
    out = images[batch, rows.unsqueeze(2), cols.unsqueeze(1)]  # (n, h, w, c)
    if valid is not None:
        out = out * valid.unsqueeze(3).to(out.dtype)
    return out


def cutout(images: torch.Tensor, side_px: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero one ``side_px`` square per image, placed fully inside it; (N, H, W, C) in and out."""
    n, h, w, _ = images.shape
    if side_px <= 0:
        return images
    side_y, side_x = min(side_px, h), min(side_px, w)
    dev = images.device
    y0 = torch.randint(0, h - side_y + 1, (n, 1), device=dev, generator=generator)
    x0 = torch.randint(0, w - side_x + 1, (n, 1), device=dev, generator=generator)
    ys = torch.arange(h, device=dev).unsqueeze(0)
    xs = torch.arange(w, device=dev).unsqueeze(0)
    in_y = (ys >= y0) & (ys < y0 + side_y)
    in_x = (xs >= x0) & (xs < x0 + side_x)
    keep = ~(in_y.unsqueeze(2) & in_x.unsqueeze(1))
    return images * keep.unsqueeze(3).to(images.dtype)


class BatchAugment:
    """A preset's batch spec bound to a device generator: ``aug(uint8 NHWC batch) -> uint8 NHWC batch``."""

    def __init__(self, spec: BatchSpec, device: torch.device | str, seed: int = 0):
        self.spec = spec
        self.device = torch.device(device)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(seed)

    def reseed(self, seed: int) -> None:
        self.generator.manual_seed(seed)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        s = self.spec
        out = crop_flip(images, s.pad_px, s.pad_mode, s.flip, self.generator)
        return cutout(out, s.cutout_px, self.generator)


# ----------------------------------------------------------------------------------------- Mixup / CutMix
def cutmix_box(h: int, w: int, lam: float, rng: np.random.Generator) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) of a box with area about (1-lam)*h*w, centre uniform, clipped to the image."""
    ratio = math.sqrt(1.0 - lam)
    ch, cw = int(h * ratio), int(w * ratio)
    cy, cx = int(rng.integers(0, h)), int(rng.integers(0, w))
    y0, y1 = max(cy - ch // 2, 0), min(cy + ch // 2, h)
    x0, x1 = max(cx - cw // 2, 0), min(cx + cw // 2, w)
    return y0, y1, x0, x1


def mix_batch(x: torch.Tensor, labels: torch.Tensor, num_classes: int, *, mixup_alpha: float,
              cutmix_alpha: float, mix_prob: float, rng: np.random.Generator
              ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Mixup or CutMix a float NCHW batch; returns (x, soft targets) or (x, None) when left unmixed.

    With both alphas > 0, each mixed batch picks one of the two with probability 1/2 (timm's rule).
    CutMix's lambda is recomputed from the clipped box so targets match the pixels actually pasted.
    """
    use_mixup, use_cutmix = mixup_alpha > 0, cutmix_alpha > 0
    if not (use_mixup or use_cutmix) or rng.random() >= mix_prob:
        return x, None
    if use_mixup and use_cutmix:
        use_cutmix = bool(rng.random() < 0.5)
        use_mixup = not use_cutmix
    perm = torch.from_numpy(rng.permutation(x.shape[0])).to(x.device)
    if use_mixup:
        lam = float(rng.beta(mixup_alpha, mixup_alpha))
        x = x * lam + x[perm] * (1.0 - lam)
    else:
        lam = float(rng.beta(cutmix_alpha, cutmix_alpha))
        h, w = x.shape[2], x.shape[3]
        y0, y1, x0, x1 = cutmix_box(h, w, lam, rng)
        x = x.clone()
        x[:, :, y0:y1, x0:x1] = x[perm][:, :, y0:y1, x0:x1]
        lam = 1.0 - (y1 - y0) * (x1 - x0) / (h * w)
    one_hot = torch.nn.functional.one_hot(labels, num_classes).to(x.dtype)
    return x, one_hot * lam + one_hot[perm] * (1.0 - lam)
