"""Learning-rate schedules as a pure function of the step, plus reduce-on-plateau as a tiny state machine.

A closed-form ``lr_factor(step)`` makes resume trivially exact (the schedule has no hidden state besides the
step count), composes warm-up with every decay shape the seed papers use, and is easy to plot and test.
The one stateful rule, reduce-on-plateau (seed004), is a separate multiplier with an explicit state dict.
Steps are optimizer steps; epoch quantities in the config are converted with ``steps_per_epoch``.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import torch

from kaggle_kit.config import SCHEDULES, ScheduleConfig
from kaggle_kit.errors import ConfigError



def validate_schedule(cfg: ScheduleConfig, epochs: int) -> None:
    if cfg.name not in SCHEDULES:
        raise ConfigError(f"unknown schedule '{cfg.name}' (valid: {', '.join(SCHEDULES)})")
    if cfg.warmup_epochs < 0:  # warm-up longer than the run is allowed: a shortened smoke run stays in warm-up
        raise ConfigError(f"schedule.warmup_epochs must be >= 0, found {cfg.warmup_epochs}")
    if cfg.name == "cosine_restarts" and (cfg.restart_epochs <= 0 or cfg.restart_mult < 1):
        raise ConfigError("schedule.restart_epochs must be > 0 and schedule.restart_mult >= 1")
    if cfg.name == "onecycle" and not 0 < cfg.onecycle_pct_start < 1:
        raise ConfigError("schedule.onecycle_pct_start must be between 0 and 1")
    if cfg.plateau_patience < 0 or not 0 < cfg.plateau_factor <= 1:
        raise ConfigError("schedule.plateau_patience must be >= 0 and schedule.plateau_factor in (0, 1]")


def lr_factor(cfg: ScheduleConfig, step: int, steps_per_epoch: int, epochs: int, base_lr: float) -> float:
    """Multiplier of the peak learning rate at optimizer step ``step`` (0-based)."""
    t = step / steps_per_epoch  # epochs elapsed, fractional
    floor = cfg.min_lr / base_lr if base_lr > 0 else 0.0
    start = cfg.warmup_start_factor
    if cfg.name == "onecycle":  # linear rise then linear fall (triangular one-cycle, as airbench uses)
        peak = cfg.onecycle_pct_start * epochs
        if t < peak:
            return start + (1.0 - start) * t / peak
        return 1.0 + (floor - 1.0) * min(1.0, (t - peak) / (epochs - peak))
    warm = cfg.warmup_epochs
    if t < warm:
        return start + (1.0 - start) * t / warm
    if cfg.name == "constant":
        return 1.0
    if cfg.name == "step":
        return cfg.gamma ** sum(t >= m for m in cfg.milestones)
    progress = min(1.0, (t - warm) / max(epochs - warm, 1e-12))
    if cfg.name == "warmup_linear":
        return 1.0 + (floor - 1.0) * progress
    if cfg.name == "cosine":
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
    if cfg.name == "cosine_restarts":  # SGDR: cycles of restart_epochs, each restart_mult times longer
        into, cycle = t - warm, float(cfg.restart_epochs)
        while into >= cycle:
            into -= cycle
            cycle *= cfg.restart_mult
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * into / cycle))
    raise ConfigError(f"unknown schedule '{cfg.name}' (valid: {', '.join(SCHEDULES)})")


# Keras' ReduceLROnPlateau default: a loss counts as better only when it beats the best by this much.
PLATEAU_MIN_DELTA = 1e-4


@dataclass(frozen=True)
class PlateauState:
    """Keras' ReduceLROnPlateau (mode=min, min_delta 1e-4, no cooldown) over holdout loss: the one recipe using it
    (seed004) is a Keras one. PyTorch's waits one epoch longer (it reduces when the bad epochs exceed patience)."""

    scale: float = 1.0
    best: float = math.inf
    bad_epochs: int = 0


def plateau_update(state: PlateauState, loss: float, patience: int, factor: float) -> PlateauState:
    """Reduce by ``factor`` on the ``patience``-th epoch in a row without an improvement, as Keras does."""
    if loss < state.best - PLATEAU_MIN_DELTA:
        return replace(state, best=loss, bad_epochs=0)
    bad = state.bad_epochs + 1
    if bad >= patience:
        return replace(state, scale=state.scale * factor, bad_epochs=0)
    return replace(state, bad_epochs=bad)


class LRSchedule:
    """Sets every param group's lr to ``base_lr * lr_factor(step) * plateau scale`` before each step."""

    def __init__(self, optimizer: torch.optim.Optimizer, cfg: ScheduleConfig, base_lr: float,
                 steps_per_epoch: int, epochs: int):
        validate_schedule(cfg, epochs)
        self.optimizer, self.cfg, self.base_lr = optimizer, cfg, base_lr
        self.steps_per_epoch, self.epochs = steps_per_epoch, epochs
        self.step_count = 0
        self.plateau = PlateauState()

    def current_lr(self) -> float:
        f = lr_factor(self.cfg, self.step_count, self.steps_per_epoch, self.epochs, self.base_lr)
        return self.base_lr * f * self.plateau.scale

    def apply(self) -> float:
        """Set the lr for the coming optimizer step and return it."""
        lr = self.current_lr()
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    def step(self) -> None:
        self.step_count += 1

    def end_epoch(self, holdout_loss: float | None) -> None:
        if self.cfg.plateau_patience > 0 and holdout_loss is not None:
            self.plateau = plateau_update(self.plateau, holdout_loss, self.cfg.plateau_patience,
                                          self.cfg.plateau_factor)

    def state_dict(self) -> dict:
        return {"step_count": self.step_count, "plateau": asdict(self.plateau)}

    def load_state_dict(self, state: dict) -> None:
        self.step_count = int(state["step_count"])
        self.plateau = PlateauState(**state["plateau"])
