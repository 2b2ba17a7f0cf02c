"""Prediction-time BatchNorm: the model's BatchNorm statistics re-estimated on the unlabeled competition images.

Why: BatchNorm normalises each channel by the mean and variance it saw in training. When the competition images
differ in contrast, colour, blur or noise, those statistics no longer centre the activations, and accuracy falls
further than the images' content warrants. Re-estimating them on the competition images themselves (Schneider et
al. 2020, "Improving robustness against common corruptions by covariate shift adaptation"; Nado et al. 2020) needs
no labels and no training, only forward passes. Under a pure change of the class mix it costs accuracy instead,
because the statistics then follow the classes rather than the pixels: ``benchmarks/bench_bn_adapt.py`` measures
both, with results in ``benchmarks/RESULTS.md``. Only the competition's logits use the adapted copy: the holdout
and the CIFAR-10 test set come from the training distribution, where the trained statistics are right.

``predict`` uses ``balanced_adapted_copy``, whose statistics are class-balanced: each image counts by the training
share over the competition share of its predicted class, so a competition set with another class mix gets
statistics nearer those its images would have under the training mix. On the benchmark that halves what adapting
loses when only the class mix moved and leaves what it gains on corrupted images (pre-registered checks 18-20,
``benchmarks/PREREGISTERED.md``).
"""
from __future__ import annotations

import copy
from typing import Callable, Iterable, Iterator

import numpy as np
import torch

from kaggle_kit.errors import ConfigError
from kaggle_kit.tensors import to_model_input
from kaggle_kit.text import count_words

MIN_IMAGES = 2  # a batch variance needs two images
BALANCE_WEIGHT_CLIP = 5.0  # a class's weight stays within [1/5, 5]: a class predicted almost never is not one
#                            image repeated thousands of times
BALANCE_SEED = 0
BALANCE_ROUNDS = 3  # weights re-taken from each balanced copy's predictions (pre-registered checks 19 and 20)


def batchnorm_layers(model: torch.nn.Module) -> list[torch.nn.modules.batchnorm._BatchNorm]:
    return [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]


def equal_batches(n: int, batch_size: int) -> list[np.ndarray]:
    """Indices 0..n-1 in batches of at most ``batch_size`` (but at least ``MIN_IMAGES``) whose sizes differ by at
    most one: a tiny last batch would weigh as much as a full one in the average, with a noisy variance."""
    if n < MIN_IMAGES:
        raise ConfigError(f"predict.adapt_bn: {count_words(n, 'competition image')} cannot give BatchNorm "
                          f"statistics (at least {MIN_IMAGES} are needed)")
    return np.array_split(np.arange(n), min(-(-n // batch_size), n // MIN_IMAGES))


def adapted_copy(model: torch.nn.Module, batches: Iterable[torch.Tensor]) -> torch.nn.Module:
    """A copy of ``model`` in eval mode whose BatchNorm running statistics are the mean over ``batches`` (model
    inputs) of each batch's statistics; ``model`` itself is left as it was."""
    if not batchnorm_layers(model):
        raise ConfigError("predict.adapt_bn: the model has no BatchNorm layer to adapt; set predict.adapt_bn: false")
    adapted = copy.deepcopy(model).eval()
    for bn in batchnorm_layers(adapted):
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average: every batch counts the same
        bn.train()          # only BatchNorm: dropout and the rest stay as at prediction
    with torch.no_grad():
        for x in batches:
            adapted(x)
    return adapted.eval()


def image_batches(images: np.ndarray, batch_size: int, device: torch.device | str,
                  channels_last: bool = False) -> Iterator[torch.Tensor]:
    """(N, 32, 32, 3) uint8 images as model inputs (``tensors.to_model_input``), in ``equal_batches``."""
    for idx in equal_batches(len(images), batch_size):
        yield to_model_input(images[idx], torch.device(device), channels_last)


def balanced_indices(predicted: np.ndarray, target_priors: np.ndarray, seed: int = BALANCE_SEED) -> np.ndarray:
    """``len(predicted)`` indices, resampled so each predicted class c weighs w_c = target_c / share_c (clipped to
    ``BALANCE_WEIGHT_CLIP``): its largest-remainder count, drawn from its images by a seeded permutation repeated as
    needed, the whole list shuffled so every batch mixes the classes. A class nobody was predicted gets none."""
    from kaggle_kit.gap.shifts import largest_remainder_counts  # not at import: it loads matplotlib's colours

    predicted = np.asarray(predicted)
    target = np.asarray(target_priors, dtype=np.float64)
    n = len(predicted)
    share = np.bincount(predicted, minlength=len(target))[: len(target)] / n
    weight = np.zeros_like(target)
    seen = share > 0
    weight[seen] = np.clip(target[seen] / share[seen], 1 / BALANCE_WEIGHT_CLIP, BALANCE_WEIGHT_CLIP)
    mass = weight * share
    counts = largest_remainder_counts(mass / mass.sum(), n)
    rng = np.random.default_rng(seed)
    parts = [np.resize(rng.permutation(np.flatnonzero(predicted == c)), k) for c, k in enumerate(counts) if k]
    return rng.permutation(np.concatenate(parts))


def balanced_adapted_copy(model: torch.nn.Module, images: np.ndarray, target_priors: np.ndarray,
                          batches_of: Callable[[np.ndarray], Iterable[torch.Tensor]],
                          predict: Callable[[torch.nn.Module, np.ndarray], np.ndarray],
                          rounds: int = BALANCE_ROUNDS) -> torch.nn.Module:
    """``adapted_copy`` with class-balanced statistics: adapt on ``images`` as they are, predict them with that copy
    (``predict(model, images) -> logits``), then adapt a fresh copy of ``model`` on ``balanced_indices`` of those
    predictions; ``rounds`` times, each round's weights from the previous round's copy, whose predictions are less
    pulled towards the uniform mix. ``batches_of(images)`` yields the model inputs in ``equal_batches``;
    ``target_priors``: the class shares the model was trained towards."""
    adapted = adapted_copy(model, batches_of(images))
    for _ in range(rounds):
        predicted = predict(adapted, images).argmax(1)
        adapted = adapted_copy(model, batches_of(images[balanced_indices(predicted, target_priors)]))
    return adapted
