"""Where training batches come from: uint8 NHWC images + labels on the device, one epoch at a time.

Two sources, one contract. ``DeviceBatches`` keeps the whole training split on the device and augments whole
batches with ``batch_augment`` (crop/flip/cutout presets). ``WorkerBatches`` runs a per-image albumentations
preset in DataLoader worker processes, one batch per work item so each worker returns a single uint8 array.
Both seed every batch from (epoch seed, batch number), so output does not depend on the worker count.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from kaggle_kit.augment import batch_spec, get_preset
from kaggle_kit.batch_augment import BatchAugment
from kaggle_kit.tensors import async_copy
from kaggle_kit.train.distributed import DistInfo
from kaggle_kit.train.rng import derive_seed

Batch = tuple[torch.Tensor, torch.Tensor]


def epoch_batches(n_items: int, batch_size: int, seed: int, epoch: int, info: DistInfo) -> np.ndarray:
    """(steps, batch_size) indices of this rank's shuffled share; the incomplete last batch is dropped.

    DistributedSampler pads the order so every rank gets the same number of steps (DDP needs that); a
    dropped tail keeps BatchNorm away from tiny batches. One process is simply the world_size=1 case.
    """
    sampler = DistributedSampler(range(n_items), num_replicas=info.world_size, rank=info.rank,
                                 shuffle=True, seed=seed, drop_last=False)
    sampler.set_epoch(epoch)
    order = np.fromiter(iter(sampler), dtype=np.int64)
    steps = len(order) // batch_size
    return order[: steps * batch_size].reshape(steps, batch_size)


def steps_per_epoch(n_items: int, batch_size: int, world_size: int) -> int:
    return (-(-n_items // world_size)) // batch_size


class DeviceBatches:
    """The whole split lives on the device as uint8 (45,000 CIFAR images = 138 MB); batches are gathers."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, preset: str, device: torch.device):
        spec = batch_spec(preset)
        if spec is None:
            raise ValueError(f"preset {preset!r} has no batched form")
        self.images = torch.from_numpy(np.ascontiguousarray(images)).to(device)
        self.labels = torch.from_numpy(np.asarray(labels, dtype=np.int64)).to(device)
        self.augment = BatchAugment(spec, device)
        self.device = device

    def epoch(self, batches: np.ndarray, epoch_seed: int) -> Iterator[Batch]:
        self.augment.reseed(epoch_seed)
        index = torch.from_numpy(batches).to(self.device)
        for row in index:
            yield self.augment(self.images[row]), self.labels[row]


class _PresetBatches(Dataset):
    """Work item (seed, batch indices) -> augmented uint8 (B, H, W, 3) tensor and int64 labels."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, preset: str):
        self.images, self.labels, self.preset_name = images, labels, preset
        self._preset = None  # built in the worker process that uses it

    def __len__(self) -> int:  # items come from an explicit sampler list
        return 0

    def __getitem__(self, item: tuple[int, np.ndarray]) -> Batch:
        seed, idx = item
        if self._preset is None:
            self._preset = get_preset(self.preset_name)
        self._preset.reseed(seed)
        out = np.stack([self._preset(self.images[i]) for i in idx])
        return torch.from_numpy(out), torch.from_numpy(self.labels[idx])


class _EpochItems:
    """Sampler whose items are replaced each epoch, so one DataLoader (and its workers) lives for the run."""

    def __init__(self) -> None:
        self.items: list[tuple[int, np.ndarray]] = []

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class WorkerBatches:
    """Per-image albumentations presets in ``num_workers`` processes (0: in the training process)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, preset: str, device: torch.device,
                 num_workers: int):
        self.device = device
        self.sampler = _EpochItems()
        # A private generator: every new DataLoader iterator draws its workers' base seed from it, and drawn
        # from the global torch RNG that draw would shift dropout masks by whether (and when) the iterator is
        # re-created: each epoch with 0 workers, once per process with persistent ones, again after a resume.
        self.loader = DataLoader(_PresetBatches(images, np.asarray(labels, dtype=np.int64), preset),
                                 batch_size=None, sampler=self.sampler, num_workers=num_workers,
                                 pin_memory=device.type == "cuda", persistent_workers=num_workers > 0,
                                 prefetch_factor=4 if num_workers > 0 else None, generator=torch.Generator())

    def epoch(self, batches: np.ndarray, epoch_seed: int) -> Iterator[Batch]:
        self.sampler.items = [(derive_seed(epoch_seed, b), row) for b, row in enumerate(batches)]
        copy = async_copy(self.device)
        for x, y in self.loader:
            yield x.to(self.device, non_blocking=copy), y.to(self.device, non_blocking=copy)
