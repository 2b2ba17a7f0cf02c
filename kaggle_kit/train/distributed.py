"""DistributedDataParallel plumbing for ``torchrun``: one process per device, rank 0 writes files.

Detected from the environment torchrun sets (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``): gloo on CPU, nccl on
CUDA. The per-process batch is ``train.batch_size``, so the effective batch is batch_size x world size.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from kaggle_kit.errors import UsageError


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def env_int(name: str, default: int) -> int:
    """A whole number torchrun puts in the environment; anything else set by hand is a one-line usage error,
    not a ValueError traceback."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise UsageError(f"environment variable {name}={raw!r} must be a whole number (torchrun sets it; unset it "
                         f"to train in one process)") from None


def setup() -> DistInfo:
    """Join the process group when launched by torchrun (idempotent); a single process gets DistInfo()."""
    world = env_int("WORLD_SIZE", 1)
    local_rank = env_int("LOCAL_RANK", 0)
    if world <= 1:
        return DistInfo()
    if not dist.is_initialized():
        if torch.cuda.is_available():
            torch.cuda.set_device(local_rank)
            dist.init_process_group("nccl")
        else:
            dist.init_process_group("gloo")
    return DistInfo(rank=dist.get_rank(), world_size=dist.get_world_size(),
                    local_rank=local_rank)


def teardown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(values: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Sum a tensor over ranks (no-op for one process)."""
    if info.enabled:
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def broadcast_object(obj, info: DistInfo):
    """Rank 0's value of ``obj`` on every rank (e.g. the run folder name, whose timestamp differs per rank)."""
    if not info.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()
