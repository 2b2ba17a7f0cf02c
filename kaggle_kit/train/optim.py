"""Optimizer construction: parameter groups with weight-decay exclusions, then SGD / Adam / AdamW.

Decaying BatchNorm scales and biases pulls them toward zero for no regularisation benefit (they do not set
the function's capacity the way conv weights do), so by default only tensors with >= 2 dimensions decay.
The seed papers used plain ``torch.optim`` calls that decay everything: their pipelines set
``decay_norm_and_bias: true`` to reproduce them.
"""
from __future__ import annotations

import torch

from kaggle_kit.config import OPTIMIZERS, OptimizerConfig
from kaggle_kit.errors import ConfigError



def param_groups(model: torch.nn.Module, weight_decay: float, decay_norm_and_bias: bool) -> list[dict]:
    """[{params with decay}, {params without}]: 1-D tensors (norm scales, biases) are exempt unless asked."""
    decay, no_decay = [], []
    for _, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (decay if decay_norm_and_bias or p.ndim >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups


def build_optimizer(model: torch.nn.Module, cfg: OptimizerConfig) -> torch.optim.Optimizer:
    groups = param_groups(model, cfg.weight_decay, cfg.decay_norm_and_bias)
    if cfg.name == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov)
    if cfg.name == "adam":
        return torch.optim.Adam(groups, lr=cfg.lr, betas=cfg.betas)
    if cfg.name == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas)
    raise ConfigError(f"unknown optimizer '{cfg.name}' (valid: {', '.join(OPTIMIZERS)})")
