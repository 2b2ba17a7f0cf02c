"""From uint8 NHWC images to the float NCHW tensors models take, on the device that will run them.

Images travel as uint8 (4x smaller than float32) and are normalised only once they are on the device, so
host-to-device copies and CPU worker output stay small. A contiguous NHWC tensor viewed as NCHW *is* the
channels_last layout, so asking for channels_last costs no copy at all.
"""
from __future__ import annotations

import functools

import numpy as np
import torch

from kaggle_kit.data import CIFAR10_MEAN, CIFAR10_STD


def select_device(prefer: str | None = None) -> torch.device:
    """CUDA when there is one (the local rank's GPU under torchrun), else CPU; ``prefer`` overrides."""
    if prefer:
        return torch.device(prefer)
    if torch.cuda.is_available():
        from kaggle_kit.train.distributed import env_int

        return torch.device("cuda", env_int("LOCAL_RANK", 0))
    return torch.device("cpu")


def async_copy(device: torch.device) -> bool:
    """Whether a host-to-``device`` copy may be ``non_blocking``: only to CUDA, which has staged a pageable source
    (or holds a pinned one) by the time the call returns. An MPS copy reads its source later, so a source freed
    meanwhile (the DataLoader batch of the last step, a temporary contiguous copy) silently arrives as other values
    (pytorch/pytorch#189690, open upstream); elsewhere the flag buys nothing."""
    return device.type == "cuda"


@functools.lru_cache(maxsize=None)
def _stats(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Made once per device: building them per batch would copy host->GPU and stall the launch queue."""
    mean = torch.tensor(CIFAR10_MEAN, device=device).mul_(255.0).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR10_STD, device=device).mul_(255.0).view(1, 3, 1, 1)
    return mean, std


def to_model_input(images: np.ndarray | torch.Tensor, device: torch.device | str,
                   channels_last: bool = True) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> normalised float32 (N, 3, H, W) on ``device``.

    The mean/std are those of the CIFAR-10 training batches on the 0-1 scale (``data.CIFAR10_MEAN/STD``);
    prediction code must use this same function so training and inference see identical inputs.
    """
    device = torch.device(device)
    x = torch.as_tensor(images)
    if x.dtype != torch.uint8 or x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"expected uint8 images of shape (N, H, W, 3), found {x.dtype} {tuple(x.shape)}")
    x = x.to(device, non_blocking=async_copy(device)).permute(0, 3, 1, 2).float()  # new: safe to modify in place
    mean, std = _stats(device)
    x = x.sub_(mean).div_(std)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return x.contiguous(memory_format=fmt)
