"""Named augmentation presets: small callables over one uint8 HWC image, built with albumentations 2.x.

Each preset reproduces a recipe (the seed papers' listed augmentations, the common CIFAR ``standard``, a
``strong`` one, and ``blur_jpeg`` for a competition set that is blurrier than CIFAR-10). A preset also says,
through ``batch_spec``, whether ``kaggle_kit.batch_augment`` can run it as whole-batch tensor operations;
that path must draw from the same distribution, which tests/unit/test_augment.py checks.

Randomness comes from the preset's own seed (albumentations ignores the global RNGs), so the training
engine can make every batch's augmentation a function of (run seed, epoch, batch) and resume exactly.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import numpy as np

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # no network look-up for new versions at import

import albumentations as A  # noqa: E402
import cv2  # noqa: E402

from kaggle_kit.errors import ConfigError  # noqa: E402

IMAGE_SIZE = 32  # CIFAR-10 side in pixels


@dataclass(frozen=True)
class BatchSpec:
    """What the batched tensor path does; every preset with a spec is pad+crop, flip, cutout and nothing else."""

    pad_px: int = 0            # random translation of up to pad_px pixels each way (pad then random crop)
    pad_mode: str = "reflect"  # reflect (reflect-101: cv2 BORDER_REFLECT_101 = torch "reflect") | zero
    flip: bool = False         # horizontal flip with probability 0.5
    cutout_px: int = 0         # one square hole of this side, placed fully inside the image, filled with 0


@dataclass(frozen=True)
class _PresetDef:
    name: str
    description: str
    transforms: Callable[[], list]
    batch_spec: BatchSpec | None


_REGISTRY: dict[str, _PresetDef] = {}


def _register(name: str, description: str, batch_spec: BatchSpec | None = None):
    def deco(fn: Callable[[], list]) -> Callable[[], list]:
        _REGISTRY[name] = _PresetDef(name, description, fn, batch_spec)
        return fn
    return deco


class Preset:
    """``preset(image) -> image``: one uint8 (H, W, 3) image in, one augmented uint8 image out."""

    def __init__(self, definition: _PresetDef, seed: int | None = None):
        self.name = definition.name
        self.description = definition.description
        self.batch_spec = definition.batch_spec
        self._compose = A.Compose(definition.transforms())
        if seed is not None:
            self.reseed(seed)

    @property
    def is_identity(self) -> bool:
        return len(self._compose.transforms) == 0

    def reseed(self, seed: int) -> None:
        _seed_tree(self._compose, np.random.SeedSequence(seed))

    def __call__(self, image: np.ndarray) -> np.ndarray:
        if self.is_identity:
            return image
        return self._compose(image=image)["image"]

    def __repr__(self) -> str:
        return f"Preset({self.name!r})"


def _seed_tree(transform, seeds: np.random.SeedSequence) -> None:
    """Seed ``transform`` and, recursively, each transform inside it from its own child of ``seeds``.

    albumentations' ``set_random_seed`` hands a Compose's seed unchanged to every transform in it, so two
    transforms that draw alike run in lockstep: each ``p=0.5`` check then sees the same number, and e.g.
    blur_jpeg degraded exactly the mirrored images, seed001 rotated mirrored images one way only.
    """
    transform.set_random_seed(int(seeds.generate_state(1)[0]))  # also (re)seeds the children, identically
    children = transform.transforms if isinstance(transform, A.BaseCompose) else []
    for child, child_seeds in zip(children, seeds.spawn(len(children))):
        _seed_tree(child, child_seeds)


def list_presets() -> list[str]:
    return sorted(_REGISTRY)


def batch_spec(name: str) -> BatchSpec | None:
    return _lookup(name).batch_spec


def get_preset(name: str, seed: int | None = None) -> Preset:
    return Preset(_lookup(name), seed=seed)


def _lookup(name: str) -> _PresetDef:
    if name not in _REGISTRY:
        raise ConfigError(f"unknown augmentation preset '{name}' (valid presets: {', '.join(list_presets())})")
    return _REGISTRY[name]


# ---------------------------------------------------------------------------------------- building blocks
def _pad_crop(pad_px: int, border_mode: int) -> list:
    side = IMAGE_SIZE + 2 * pad_px
    return [A.PadIfNeeded(min_height=side, min_width=side, border_mode=border_mode, fill=0),
            A.RandomCrop(height=IMAGE_SIZE, width=IMAGE_SIZE)]


REFLECT = cv2.BORDER_REFLECT_101
ZERO = cv2.BORDER_CONSTANT


def _cutout(side_px: int) -> A.CoarseDropout:
    return A.CoarseDropout(num_holes_range=(1, 1), hole_height_range=(side_px, side_px),
                           hole_width_range=(side_px, side_px), fill=0, p=1.0)


# ----------------------------------------------------------------------------------------------- presets
@_register("none", "no augmentation", BatchSpec())
def _none() -> list:
    return []


@_register("flip", "horizontal flip only", BatchSpec(flip=True))
def _flip() -> list:
    return [A.HorizontalFlip(p=0.5)]


@_register("standard", "reflect-pad 4 + random 32x32 crop + horizontal flip",
           BatchSpec(pad_px=4, pad_mode="reflect", flip=True))
def _standard() -> list:
    return [*_pad_crop(4, REFLECT), A.HorizontalFlip(p=0.5)]


@_register("airbench", "reflect-pad 2 + random crop + flip (airbench94's translate=2, flip=True)",
           BatchSpec(pad_px=2, pad_mode="reflect", flip=True))
def _airbench() -> list:
    return [*_pad_crop(2, REFLECT), A.HorizontalFlip(p=0.5)]


# DeVries & Taylor's hole may overhang the edge (about 189 px on average) and, applied after normalisation, is
# mean-coloured; this one lies inside the image and is black, like albumentations' and the batched path's.
@_register("cutout", "standard + one black 16x16 hole inside the image (Cutout's CIFAR-10 size, DeVries & Taylor "
           "2017)",
           BatchSpec(pad_px=4, pad_mode="reflect", flip=True, cutout_px=16))
def _cutout_preset() -> list:
    return [*_pad_crop(4, REFLECT), A.HorizontalFlip(p=0.5), _cutout(16)]


@_register("strong", "standard + colour jitter + small affine + 16x16 Cutout")
def _strong() -> list:
    return [*_pad_crop(4, REFLECT), A.HorizontalFlip(p=0.5),
            A.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.05, p=0.8),
            A.Affine(rotate=(-10, 10), shear=(-8, 8), scale=(0.9, 1.1), border_mode=REFLECT, p=0.5),
            _cutout(16)]


@_register("blur_jpeg", "standard + one of blur / JPEG / down-and-up sampling on half the images "
           "(for a test set blurrier or more compressed than CIFAR-10)")
def _blur_jpeg() -> list:
    return [*_pad_crop(4, REFLECT), A.HorizontalFlip(p=0.5),
            A.OneOf([A.GaussianBlur(sigma_limit=(0.3, 1.2), p=1.0),
                     A.ImageCompression(quality_range=(30, 90), p=1.0),
                     A.Downscale(scale_range=(0.5, 0.9),
                                 interpolation_pair={"downscale": cv2.INTER_AREA, "upscale": cv2.INTER_LINEAR},
                                 p=1.0)], p=0.5)]


# Seed papers: torchvision's RandomCrop(32, padding=4) pads with zeros, which is what "random crops with padding"
# means in those write-ups; Keras' ImageDataGenerator (seed004) fills with the nearest pixel.
@_register("seed000", "paper 000: random crop with 4-pixel zero padding + horizontal flip",
           BatchSpec(pad_px=4, pad_mode="zero", flip=True))
def _seed000() -> list:
    return [*_pad_crop(4, ZERO), A.HorizontalFlip(p=0.5)]


@_register("seed001", "paper 001: flip, crop (pad 4), rotation up to 15 degrees, colour jitter")
def _seed001() -> list:
    # jitter strengths are not given in the paper; 0.2/0.2/0.2/0.1 is the usual torchvision CIFAR setting
    return [A.HorizontalFlip(p=0.5), *_pad_crop(4, ZERO),
            A.Rotate(limit=15, border_mode=ZERO, fill=0, p=1.0),
            A.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.1, p=1.0)]


@_register("seed002", "paper 002: random crop with 4-pixel padding only (no flip is listed)",
           BatchSpec(pad_px=4, pad_mode="zero", flip=False))
def _seed002() -> list:
    return _pad_crop(4, ZERO)


@_register("seed003", "paper 003: random crop + horizontal flip (padding 4 assumed)",
           BatchSpec(pad_px=4, pad_mode="zero", flip=True))
def _seed003() -> list:
    return [*_pad_crop(4, ZERO), A.HorizontalFlip(p=0.5)]


@_register("seed004", "paper 004: rotation 15 degrees, shifts 10%, horizontal flip, shear, zoom (Keras style)")
def _seed004() -> list:
    # shear and zoom ranges are not given in the paper; +-10 degrees and +-10% are assumptions. Keras'
    # shear_range draws one angle and shears along x only (albumentations' tuple would also shear y); its
    # zoom_range draws the x and y scales independently, as albumentations' keep_ratio=False does.
    return [A.Affine(rotate=(-15, 15), translate_percent=(-0.1, 0.1), shear={"x": (-10, 10), "y": (0, 0)},
                     scale=(0.9, 1.1), keep_ratio=False, border_mode=cv2.BORDER_REPLICATE, p=1.0),
            A.HorizontalFlip(p=0.5)]
