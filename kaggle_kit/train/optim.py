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


def l2_penalty(model: torch.nn.Module, cfg: OptimizerConfig) -> float:
    """weight_decay/2 * sum(w^2) over the parameters ``param_groups`` decays: the loss term whose gradient
    (weight_decay * w) sgd's and adam's coupled decay adds, i.e. what Keras' val_loss includes for an
    L2(weight_decay/2) kernel regulariser. adamw's decoupled decay is no loss term, so it has none."""
    if cfg.name == "adamw":
        raise ConfigError("adamw's weight decay is decoupled: it adds no L2 term to the loss")
    with torch.no_grad():
        return float(sum(g["weight_decay"] / 2 * sum(float(p.detach().double().pow(2).sum()) for p in g["params"])
                         for g in param_groups(model, cfg.weight_decay, cfg.decay_norm_and_bias)))


def build_optimizer(model: torch.nn.Module, cfg: OptimizerConfig) -> torch.optim.Optimizer:
    groups = param_groups(model, cfg.weight_decay, cfg.decay_norm_and_bias)
    if cfg.name == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov)
    if cfg.name == "adam":
        return torch.optim.Adam(groups, lr=cfg.lr, betas=cfg.betas)
    if cfg.name == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas)
    raise ConfigError(f"unknown optimizer '{cfg.name}' (valid: {', '.join(OPTIMIZERS)})")
