"""The small real recipe the `real` tests train: tinycnn with the seed papers' SGD + one-cycle + standard
augmentation, so each test states only what it changes (data sizes, epochs) rather than a copy of the rest."""
from __future__ import annotations

from typing import Any


def tiny_recipe(*, epochs: int, data: dict[str, int], **train: Any) -> dict[str, Any]:
    """A pipeline dict without its name; ``train`` keys override the base (``schedule`` is merged)."""
    schedule = {"name": "onecycle", **train.pop("schedule", {})}
    return {
        "model": {"name": "tinycnn"},
        "data": dict(data),
        "train": {"epochs": epochs, "batch_size": 64,
                  "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4},
                  "schedule": schedule, "augment": {"preset": "standard"}, **train},
    }
